/* mediafile.c - prompt players and room recorders: libsndfile and libsamplerate on one I/O thread
 *
 * A player decodes any format libsndfile reads (WAV, FLAC, OGG, AU, ...),
 * mixes its channels down to mono, resamples to the room rate and keeps
 * its ring of 20 ms frames full.  A recorder drains its ring into a
 * 16-bit mono WAV, FLAC, AU or OGG file chosen by the name's extension.
 * The I/O thread wakes every 10 ms while it has files, or when told.
 * Only it frees files: the main thread marks one closed, and the I/O
 * thread drains (recorder), closes and frees it.
 *
 * A recording must stay readable when the engine is killed: a WAV or AU
 * header says how much audio follows, so the recorder rewrites it about
 * once a second of audio (not on every write, which would seek twice per
 * 20 ms frame).  A crash loses at most that second and what the ring held.
 */
#define G_LOG_DOMAIN "media"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <samplerate.h>
#include <sndfile.h>

#include "mediafile.h"
#include "recfile.h"
#include "tone.h"

#define FRAME_MAX 960 /* 20 ms at 48 kHz */
#define CHUNK     1024
#define OUT_MAX   (CHUNK * 8)

struct ce_mfile_io {
	GThread *thread;
	GMutex lock;
	GCond cond;
	GPtrArray *files; /* under lock */
	char **roots;     /* players' files must lie under one of these (NULL: anywhere) */
	bool quit, kick;
};

struct ce_mfile {
	struct ce_mfile_io *io;
	bool recorder;
	char *path;
	unsigned rate, frame;
	/* The ring: the producer moves tail, the consumer head (atomics). */
	int16_t *ring;
	gint head, tail;
	gint ended;  /* player: no frame will come any more */
	gint failed; /* error is set */
	gint closed; /* the main thread let go */
	char *error;
	int err; /* the errno of a failed write, or 0 (set before failed) */
	/* I/O thread only. */
	bool opened;
	int fd; /* recorder: the file created for it (-1: create path) until sf owns it */
	SNDFILE *sf;
	sf_count_t unsynced; /* recorder: samples written since the header was rewritten */
	sf_count_t written;  /* recorder: samples written */
	bool header;         /* recorder: the format has a length in its header to keep current */
	unsigned channels;
	SRC_STATE *src;
	double ratio;
	bool in_eof;
	bool loop;        /* player: start again at the end of the file, until closed */
	sf_count_t since; /* player: frames read since the start (or the last rewind) */
	float in[CHUNK], out[OUT_MAX];
	long inn, outn;
	struct ce_tone *tone; /* a tone player: synthesised, no file */
	struct ce_tone_gen gen;
};

static unsigned ring_count(struct ce_mfile *f)
{
	return (unsigned)(g_atomic_int_get(&f->tail) - g_atomic_int_get(&f->head));
}

static int16_t *slot(struct ce_mfile *f, gint pos)
{
	return f->ring + ((unsigned)pos % CE_MFILE_RING_FRAMES) * f->frame;
}

static bool ring_put(struct ce_mfile *f, const int16_t *pcm)
{
	gint tail = g_atomic_int_get(&f->tail);

	if (ring_count(f) >= CE_MFILE_RING_FRAMES)
		return false;
	memcpy(slot(f, tail), pcm, f->frame * sizeof(int16_t));
	g_atomic_int_set(&f->tail, tail + 1);
	return true;
}

static bool ring_get(struct ce_mfile *f, int16_t *pcm)
{
	gint head = g_atomic_int_get(&f->head);

	if (ring_count(f) == 0)
		return false;
	memcpy(pcm, slot(f, head), f->frame * sizeof(int16_t));
	g_atomic_int_set(&f->head, head + 1);
	return true;
}

/* I/O thread: record why the file stopped, once. */
static void fail(struct ce_mfile *f, const char *what, const char *why)
{
	if (g_atomic_int_get(&f->failed))
		return;
	f->error = g_strdup_printf("%s '%s': %s", what, f->path, why);
	g_atomic_int_set(&f->failed, 1);
	g_atomic_int_set(&f->ended, 1);
}

static int format_for(const char *path)
{
	const char *dot = strrchr(path, '.');

	if (dot && !g_ascii_strcasecmp(dot, ".flac"))
		return SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
	if (dot && !g_ascii_strcasecmp(dot, ".au"))
		return SF_FORMAT_AU | SF_FORMAT_PCM_16;
	if (dot && (!g_ascii_strcasecmp(dot, ".ogg") || !g_ascii_strcasecmp(dot, ".oga")))
		return SF_FORMAT_OGG | SF_FORMAT_VORBIS;
	return SF_FORMAT_WAV | SF_FORMAT_PCM_16;
}

static void open_file(struct ce_mfile *f)
{
	SF_INFO info = {0};
	GError *error = NULL;
	int err;

	f->opened = true;
	if (f->tone)
		return;
	if (f->recorder) {
		info.samplerate = (int)f->rate;
		info.channels = 1;
		info.format = format_for(f->path);
		/* never truncate an existing file, nor follow a link to one */
		if (f->fd < 0)
			f->fd = open(f->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			        0640);
		if (f->fd < 0) {
			fail(f, "cannot record to", g_strerror(errno));
			return;
		}
		f->sf = sf_open_fd(f->fd, SFM_WRITE, &info, SF_TRUE);
		f->fd = -1; /* sf_open_fd closes it, even when it fails */
		if (!f->sf)
			fail(f, "cannot record to", sf_strerror(NULL));
		f->header = (info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_WAV ||
		            (info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_AU;
		/*
		 * libsndfile's first WAV header has a RIFF size of 8, which ends
		 * the file before its fmt and data chunks for readers that
		 * honour it: one that says "no audio yet" keeps a file killed in
		 * its first second readable.
		 */
		if (f->sf && f->header)
			sf_command(f->sf, SFC_UPDATE_HEADER_NOW, NULL, 0);
		return;
	}
	f->fd = ce_prompt_open(f->path, f->io ? (const char *const *)f->io->roots : NULL, &error);
	if (f->fd < 0) {
		fail(f, "cannot play", error->message);
		g_error_free(error);
		return;
	}
	f->sf = sf_open_fd(f->fd, SFM_READ, &info, SF_TRUE);
	f->fd = -1; /* sf_open_fd closes it, even when it fails */
	if (!f->sf) {
		fail(f, "cannot play", sf_strerror(NULL));
		return;
	}
	f->channels = (unsigned)info.channels;
	if (info.samplerate <= 0 || info.channels <= 0 || info.channels > 8) {
		fail(f, "cannot play", "unsupported sample rate or channels");
		return;
	}
	if ((unsigned)info.samplerate != f->rate) {
		f->ratio = (double)f->rate / info.samplerate;
		f->src = src_new(SRC_SINC_FASTEST, 1, &err);
		if (!f->src)
			fail(f, "cannot resample", src_strerror(err));
	}
}

/* Decode up to a chunk more input, mixed down to mono. */
static void read_input(struct ce_mfile *f)
{
	float buf[CHUNK * 2];
	unsigned ch = f->channels;
	sf_count_t want = (sf_count_t)((CHUNK - f->inn) * 2 / ch), got;

	if (want > CHUNK - f->inn)
		want = CHUNK - f->inn;
	got = want > 0 ? sf_readf_float(f->sf, buf, want) : 0;
	/* a looped player starts again, unless the file has no audio at all */
	if (got <= 0 && want > 0 && f->loop && f->since > 0 && sf_seek(f->sf, 0, SEEK_SET) == 0) {
		f->since = 0;
		got = sf_readf_float(f->sf, buf, want);
	}
	if (got <= 0 && want > 0)
		f->in_eof = true;
	f->since += MAX(got, 0);
	for (sf_count_t i = 0; i < got; i++) {
		float s = 0;

		for (unsigned c = 0; c < ch; c++)
			s += buf[i * ch + c];
		f->in[f->inn++] = s / (float)ch;
	}
}

/* Turn buffered input into output at the room rate; false when all is out. */
static bool convert(struct ce_mfile *f)
{
	SRC_DATA d = {0};
	int err;

	if (!f->src) {
		long n = MIN(f->inn, OUT_MAX - f->outn);

		memcpy(f->out + f->outn, f->in, n * sizeof(float));
		memmove(f->in, f->in + n, (f->inn - n) * sizeof(float));
		f->outn += n;
		f->inn -= n;
		return !(f->in_eof && f->inn == 0 && n == 0);
	}
	d.data_in = f->in;
	d.input_frames = f->inn;
	d.data_out = f->out + f->outn;
	d.output_frames = OUT_MAX - f->outn;
	d.end_of_input = f->in_eof;
	d.src_ratio = f->ratio;
	err = src_process(f->src, &d);
	if (err) {
		fail(f, "cannot resample", src_strerror(err));
		return false;
	}
	memmove(f->in, f->in + d.input_frames_used, (f->inn - d.input_frames_used) * sizeof(float));
	f->inn -= d.input_frames_used;
	f->outn += d.output_frames_gen;
	return !(f->in_eof && f->inn == 0 && d.output_frames_gen == 0);
}

static void push_frame(struct ce_mfile *f)
{
	int16_t pcm[FRAME_MAX];
	unsigned n = MIN((unsigned)f->outn, f->frame);

	memset(pcm, 0, sizeof(pcm));
	for (unsigned i = 0; i < n; i++) {
		float v = f->out[i] * 32767.0f;

		pcm[i] = (int16_t)(v > 32767.0f ? 32767 : v < -32767.0f ? -32767 : v);
	}
	ring_put(f, pcm);
	memmove(f->out, f->out + n, (f->outn - n) * sizeof(float));
	f->outn -= n;
}

/* Keep a player's ring full, as long as there is file left. */
static void fill(struct ce_mfile *f)
{
	while (!g_atomic_int_get(&f->ended) && ring_count(f) < CE_MFILE_RING_FRAMES) {
		long inn = f->inn, outn = f->outn;
		bool eof = f->in_eof;

		if ((unsigned)f->outn >= f->frame) {
			push_frame(f);
			continue;
		}
		if (!f->in_eof && f->inn < CHUNK / 2)
			read_input(f);
		if (convert(f)) {
			if (inn == f->inn && outn == f->outn && eof == f->in_eof)
				return; /* no progress: try again on the next round */
			continue;
		}
		if (g_atomic_int_get(&f->failed))
			return;
		if (f->outn > 0)
			push_frame(f); /* the last, padded with silence */
		g_atomic_int_set(&f->ended, 1);
	}
}

/* Keep a tone player's ring full until its duration is over. */
static void fill_tone(struct ce_mfile *f)
{
	int16_t pcm[FRAME_MAX];

	while (!g_atomic_int_get(&f->ended) && ring_count(f) < CE_MFILE_RING_FRAMES) {
		unsigned n = ce_tone_gen_run(&f->gen, pcm, f->frame);

		if (n)
			ring_put(f, pcm);
		if (n < f->frame)
			g_atomic_int_set(&f->ended, 1);
	}
}

/*
 * A write failed (disk full, file too large, I/O error) after @done
 * whole samples: end the file there, dropping any part of a sample the
 * failed write left, with a header that says so, and close it now.
 */
static void write_failed(struct ce_mfile *f, sf_count_t done, int err)
{
	f->err = err;
	fail(f, "cannot write", g_strerror(err));
	if (f->header) {
		sf_command(f->sf, SFC_FILE_TRUNCATE, &done, sizeof(done));
		sf_command(f->sf, SFC_UPDATE_HEADER_NOW, NULL, 0);
	}
	sf_close(f->sf); /* its own header rewrite does not grow the file */
	f->sf = NULL;
}

/* Write what a recorder's ring holds. */
static void drain(struct ce_mfile *f)
{
	int16_t pcm[FRAME_MAX];

	while (ring_get(f, pcm)) {
		sf_count_t n;

		if (!f->sf || g_atomic_int_get(&f->failed))
			continue;
		errno = 0;
		n = sf_write_short(f->sf, pcm, f->frame);
		if (n != (sf_count_t)f->frame) {
			int err = errno;

			write_failed(f, f->written + MAX(n, 0),
			        sf_error(f->sf) == SF_ERR_SYSTEM && err ? err : EIO);
			return;
		}
		f->written += n;
		f->unsynced += n;
	}
	if (f->header && f->sf && f->unsynced >= (sf_count_t)f->rate) {
		sf_command(f->sf, SFC_UPDATE_HEADER_NOW, NULL, 0);
		f->unsynced = 0;
	}
}

static void finish(struct ce_mfile *f)
{
	if (f->recorder)
		drain(f);
	if (f->fd >= 0)
		close(f->fd);
	if (f->sf && sf_close(f->sf) && f->recorder)
		g_warning("recording '%s': error closing the file", f->path);
	if (f->src)
		src_delete(f->src);
	g_free(f->error);
	g_free(f->tone);
	g_free(f->ring);
	g_free(f->path);
	g_free(f);
}

static void serve(struct ce_mfile_io *io, struct ce_mfile *f)
{
	if (g_atomic_int_get(&f->closed)) {
		g_mutex_lock(&io->lock);
		g_ptr_array_remove_fast(io->files, f);
		g_mutex_unlock(&io->lock);
		finish(f);
		return;
	}
	if (!f->opened)
		open_file(f);
	if (f->recorder)
		drain(f);
	else if (f->tone)
		fill_tone(f);
	else if (f->sf && !g_atomic_int_get(&f->failed))
		fill(f);
}

static gpointer io_run(gpointer data)
{
	struct ce_mfile_io *io = data;
	GPtrArray *now = g_ptr_array_new();

	g_mutex_lock(&io->lock);
	while (!io->quit || io->files->len) {
		if (!io->kick && !io->quit)
			g_cond_wait_until(&io->cond, &io->lock,
			        g_get_monotonic_time() +
			                (io->files->len ? 10000 : G_TIME_SPAN_SECOND));
		io->kick = false;
		g_ptr_array_set_size(now, 0);
		for (unsigned i = 0; i < io->files->len; i++)
			g_ptr_array_add(now, io->files->pdata[i]);
		g_mutex_unlock(&io->lock);
		for (unsigned i = 0; i < now->len; i++)
			serve(io, now->pdata[i]);
		g_mutex_lock(&io->lock);
	}
	g_mutex_unlock(&io->lock);
	g_ptr_array_free(now, TRUE);
	return NULL;
}

static void kick(struct ce_mfile_io *io)
{
	g_mutex_lock(&io->lock);
	io->kick = true;
	g_cond_signal(&io->cond);
	g_mutex_unlock(&io->lock);
}

/** Start the I/O thread of players and recorders. */
int ce_mfile_io_new(struct ce_mfile_io **iop)
{
	struct ce_mfile_io *io = g_new0(struct ce_mfile_io, 1);

	g_mutex_init(&io->lock);
	g_cond_init(&io->cond);
	io->files = g_ptr_array_new();
	io->thread = g_thread_new("ce-media-io", io_run, io);
	*iop = io;
	return 0;
}

/**
 * Confine the players of @io to files under @roots (copied; NULL: anywhere),
 * see ce_prompt_open().  Players made before keep the old rule.
 */
void ce_mfile_io_confine(struct ce_mfile_io *io, const char *const *roots)
{
	g_mutex_lock(&io->lock);
	g_strfreev(io->roots);
	io->roots = g_strdupv((char **)roots);
	g_mutex_unlock(&io->lock);
}

/** Stop the I/O thread once every file was closed (files still open are closed now). */
void ce_mfile_io_free(struct ce_mfile_io *io)
{
	if (!io)
		return;
	g_mutex_lock(&io->lock);
	for (unsigned i = 0; i < io->files->len; i++)
		g_atomic_int_set(&((struct ce_mfile *)io->files->pdata[i])->closed, 1);
	io->quit = true;
	g_cond_signal(&io->cond);
	g_mutex_unlock(&io->lock);
	g_thread_join(io->thread);
	g_ptr_array_free(io->files, TRUE);
	g_mutex_clear(&io->lock);
	g_cond_clear(&io->cond);
	g_strfreev(io->roots);
	g_free(io);
}

static int file_new(struct ce_mfile **fp, struct ce_mfile_io *io, const char *path, int fd,
        unsigned rate, bool recorder, const struct ce_tone *tone, unsigned duration_ms, bool loop)
{
	struct ce_mfile *f;

	if (!path || !*path || (rate != 8000 && rate != 16000 && rate != 48000))
		return -EINVAL;
	f = g_new0(struct ce_mfile, 1);
	f->io = io;
	f->fd = fd;
	f->recorder = recorder;
	f->path = g_strdup(path);
	f->rate = rate;
	f->frame = rate / 50;
	f->loop = loop;
	if (tone) {
		f->tone = g_new(struct ce_tone, 1);
		*f->tone = *tone;
		ce_tone_gen_init(&f->gen, f->tone, rate, duration_ms);
	}
	f->ring = g_new0(int16_t, (gsize)CE_MFILE_RING_FRAMES * f->frame);
	g_mutex_lock(&io->lock);
	g_ptr_array_add(io->files, f);
	io->kick = true;
	g_cond_signal(&io->cond);
	g_mutex_unlock(&io->lock);
	*fp = f;
	return 0;
}

/**
 * A player of @path resampled to @rate (8000, 16000 or 48000); with @loop it
 * starts the file again at its end, with no gap, until it is closed (a
 * file with no audio at all still ends).  The file is opened on the I/O
 * thread: a missing or unreadable one ends the player at once with
 * ce_mfile_failed() and ce_mfile_error() set.  -EINVAL.
 */
int ce_mfile_player_new(
        struct ce_mfile **fp, struct ce_mfile_io *io, const char *path, unsigned rate, bool loop)
{
	return file_new(fp, io, path, -1, rate, false, NULL, 0, loop);
}

/**
 * A player of @tone (copied) at @rate for @duration_ms (0: its natural
 * length, see ce_tone_gen_init), synthesised on the I/O thread into the
 * same ring as a file's frames; ce_mfile_path() is "tone/NAME".  -EINVAL.
 */
int ce_mfile_tone_new(struct ce_mfile **fp, struct ce_mfile_io *io, const struct ce_tone *tone,
        unsigned rate, unsigned duration_ms)
{
	char *path;
	int err;

	if (!tone || !tone->n)
		return -EINVAL;
	path = g_strconcat("tone/", tone->name, NULL);
	err = file_new(fp, io, path, -1, rate, false, tone, duration_ms, false);
	g_free(path);
	return err;
}

/**
 * A recorder to @path (format by extension, WAV by default) at @rate.
 * With @fd >= 0 it writes into that empty file, which it owns (closed
 * even on -EINVAL), and @path only names it in messages; with -1 it
 * creates @path on the I/O thread, failing (ce_mfile_failed) rather than
 * overwriting a file or following a symbolic link.  0 or -EINVAL.
 */
int ce_mfile_recorder_new(
        struct ce_mfile **fp, struct ce_mfile_io *io, const char *path, int fd, unsigned rate)
{
	int err = file_new(fp, io, path, fd, rate, true, NULL, 0, false);

	if (err && fd >= 0)
		close(fd);
	return err;
}

/** Let go of f (its media thread no longer uses it): the I/O thread finishes and frees it. */
void ce_mfile_close(struct ce_mfile *f)
{
	if (!f)
		return;
	g_atomic_int_set(&f->closed, 1);
	kick(f->io);
}

/** Why the file failed (valid while f is open), or NULL. */
const char *ce_mfile_error(const struct ce_mfile *f)
{
	return g_atomic_int_get(&f->failed) ? f->error : NULL;
}

/** The errno of a recorder's failed write (ENOSPC, EFBIG, EIO...), 0 if none failed. */
int ce_mfile_errno(const struct ce_mfile *f)
{
	return g_atomic_int_get(&f->failed) ? f->err : 0;
}

/** The file's path. */
const char *ce_mfile_path(const struct ce_mfile *f)
{
	return f->path;
}

/** Media thread: the next frame of a player; false if none is ready. */
bool ce_mfile_read(struct ce_mfile *f, int16_t *pcm)
{
	return ring_get(f, pcm);
}

/** Media thread: hand a recorder a frame; false if its ring is full (dropped). */
bool ce_mfile_write(struct ce_mfile *f, const int16_t *pcm)
{
	return ring_put(f, pcm);
}

/** Media thread: a player has played its last frame (or failed). */
bool ce_mfile_ended(struct ce_mfile *f)
{
	return g_atomic_int_get(&f->ended) && ring_count(f) == 0;
}

/** Whether the file failed (see ce_mfile_error). */
bool ce_mfile_failed(struct ce_mfile *f)
{
	return g_atomic_int_get(&f->failed) != 0;
}
