/* mediafile.h - prompt players and room recorders: files read ahead and written behind on an I/O
 * thread */
#ifndef CE_MEDIAFILE_H
#define CE_MEDIAFILE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * A file is a stream of 20 ms mono frames at a room rate.  Frames cross
 * between the media thread and the I/O thread in a single-producer,
 * single-consumer ring, so neither ever waits: the media thread reads a
 * player's ring (empty: silence, counted) and writes a recorder's (full:
 * the frame is dropped, counted).  Opening, decoding, resampling, encoding
 * and closing all happen on the I/O thread.
 *
 * Threads: ce_mfile_*_new, ce_mfile_close and ce_mfile_error on the main
 * thread; ce_mfile_read, ce_mfile_write, ce_mfile_ended and ce_mfile_failed
 * on the one media thread that owns the file meanwhile.
 */
struct ce_mfile_io;
struct ce_mfile;
struct ce_tone;

/* Read-ahead of a player and write-behind of a recorder, in 20 ms frames. */
#define CE_MFILE_RING_FRAMES 64

int ce_mfile_io_new(struct ce_mfile_io **iop);
void ce_mfile_io_free(struct ce_mfile_io *io);

void ce_mfile_io_confine(struct ce_mfile_io *io, const char *const *roots);
int ce_mfile_player_new(
        struct ce_mfile **fp, struct ce_mfile_io *io, const char *path, unsigned rate, bool loop);
int ce_mfile_tone_new(struct ce_mfile **fp, struct ce_mfile_io *io, const struct ce_tone *tone,
        unsigned rate, unsigned duration_ms);
int ce_mfile_recorder_new(
        struct ce_mfile **fp, struct ce_mfile_io *io, const char *path, int fd, unsigned rate);
void ce_mfile_close(struct ce_mfile *f);
const char *ce_mfile_error(const struct ce_mfile *f);
int ce_mfile_errno(const struct ce_mfile *f);
const char *ce_mfile_path(const struct ce_mfile *f);

bool ce_mfile_read(struct ce_mfile *f, int16_t *pcm);
bool ce_mfile_write(struct ce_mfile *f, const int16_t *pcm);
bool ce_mfile_ended(struct ce_mfile *f);
bool ce_mfile_failed(struct ce_mfile *f);

#endif
