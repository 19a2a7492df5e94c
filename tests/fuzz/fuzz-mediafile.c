/* fuzz-mediafile.c - libFuzzer target: any bytes as a prompt file, decoded as the player does */
/*
 * A prompt is a file an operator (or a provisioning system) drops in place,
 * in any format libsndfile reads.  The input is put in a memory file and
 * played at 8 and 16 kHz through the player's own steps (open, mix down,
 * resample, cut into 20 ms frames), run here on the calling thread instead
 * of the I/O thread so that one input is one deterministic run.  For that
 * this file includes mediafile.c: those steps are static there.  Every
 * frame is pulled; a player must end (bounded) and, when it fails, say why.
 * (G_LOG_DOMAIN is mediafile.c's.)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create */
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "media/mediafile.c"
#include "tests/fuzz/fuzz.h"

/* A minute of audio at most: long enough for every decoder path, short per run. */
#define MAX_FRAMES 3000

static int mem_fd = -1;
static char *mem_path;

static void play(unsigned rate)
{
	struct ce_mfile *f = g_new0(struct ce_mfile, 1);
	int16_t pcm[FRAME_MAX];
	unsigned frames = 0, idle = 0;

	f->fd = -1;
	f->path = g_strdup(mem_path);
	f->rate = rate;
	f->frame = rate / 50;
	f->ring = g_new0(int16_t, (gsize)CE_MFILE_RING_FRAMES * f->frame);
	open_file(f);
	while (!ce_mfile_ended(f) && frames < MAX_FRAMES && idle < 100) {
		unsigned got = 0;

		if (f->sf && !ce_mfile_failed(f))
			fill(f);
		while (ce_mfile_read(f, pcm))
			got++;
		frames += got;
		idle = got ? 0 : idle + 1;
	}
	CHECK(!ce_mfile_failed(f) || (ce_mfile_error(f) && *ce_mfile_error(f)));
	/* a player that is neither ended nor failed nor long made no progress: a hang */
	CHECK(ce_mfile_ended(f) || frames >= MAX_FRAMES);
	finish(f);
}

/** libFuzzer entry point; also called by test-fuzz-mediafile on the corpus. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (mem_fd < 0) {
		mem_fd = memfd_create("ce-fuzz-mediafile", MFD_CLOEXEC);
		CHECK(mem_fd >= 0);
		mem_path = g_strdup_printf("/proc/self/fd/%d", mem_fd);
	}
	CHECK(ftruncate(mem_fd, 0) == 0);
	CHECK(pwrite(mem_fd, data, size, 0) == (ssize_t)size);
	play(8000);
	play(16000);
	return 0;
}
