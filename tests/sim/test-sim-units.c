/* test-sim-units.c - unit tests of the simulator's audio pieces: G.711, sources, Goertzel */
#define G_LOG_DOMAIN "test-sim"

#include <math.h>
#include <stdlib.h>
#include <glib/gstdio.h>

#include "sim.h"

static void test_ulaw_codes(void)
{
	unsigned c;

	g_assert_cmpuint(ce_sim_ulaw_encode(0), ==, 0xff);
	g_assert_cmpint(ce_sim_ulaw_decode(0xff), ==, 0);
	g_assert_cmpint(ce_sim_ulaw_decode(0x80), ==, 32124);
	g_assert_cmpint(ce_sim_ulaw_decode(0x00), ==, -32124);
	/* every code but the negative zero survives decode + encode */
	for (c = 0; c < 256; c++) {
		if (c == 0x7f)
			continue;
		g_assert_cmpuint(ce_sim_ulaw_encode(ce_sim_ulaw_decode((uint8_t)c)), ==, c);
	}
}

static void test_alaw_codes(void)
{
	unsigned c;

	g_assert_cmpuint(ce_sim_alaw_encode(0), ==, 0xd5);
	g_assert_cmpint(ce_sim_alaw_decode(0xd5), ==, 8);
	g_assert_cmpint(ce_sim_alaw_decode(0xaa), ==, 32256);
	g_assert_cmpint(ce_sim_alaw_decode(0x2a), ==, -32256);
	for (c = 0; c < 256; c++)
		g_assert_cmpuint(ce_sim_alaw_encode(ce_sim_alaw_decode((uint8_t)c)), ==, c);
}

/* Quantisation error stays within G.711's step size over the whole range. */
static void test_roundtrip_error(void)
{
	int x;

	for (x = -32768; x <= 32767; x += 7) {
		int u = ce_sim_ulaw_decode(ce_sim_ulaw_encode((int16_t)x));
		int a = ce_sim_alaw_decode(ce_sim_alaw_encode((int16_t)x));
		int tol = MAX(16, abs(x) / 15);
		g_assert_cmpint(abs(u - x), <=, tol);
		g_assert_cmpint(abs(a - x), <=, tol);
	}
}

/* The table decoder the RTP receiver uses gives what the functions give, every code. */
static void test_table_decode(void)
{
	uint8_t codes[256];
	int16_t u[256], a[256];

	for (unsigned c = 0; c < 256; c++)
		codes[c] = (uint8_t)c;
	ce_sim_g711_decode(false, codes, u, 256);
	ce_sim_g711_decode(true, codes, a, 256);
	for (unsigned c = 0; c < 256; c++) {
		g_assert_cmpint(u[c], ==, ce_sim_ulaw_decode((uint8_t)c));
		g_assert_cmpint(a[c], ==, ce_sim_alaw_decode((uint8_t)c));
	}
}

static void test_tone_and_goertzel(void)
{
	struct sim_audio_src *src = NULL;
	int16_t pcm[8000];
	GError *err = NULL;

	g_assert_cmpint(ce_sim_src_new(&src, "tone:440@0.5", true, NULL, &err), ==, 0);
	g_assert_no_error(err);
	ce_sim_src_read(src, pcm, G_N_ELEMENTS(pcm));
	g_assert_cmpfloat(ce_sim_goertzel_ratio(pcm, 8000, 440, 8000), >, 0.95);
	g_assert_cmpfloat(ce_sim_goertzel_ratio(pcm, 8000, 1000, 8000), <, 0.01);
	g_assert_cmpfloat(fabs(ce_sim_rms_dbfs(pcm, 8000) - 20 * log10(0.5 / sqrt(2))), <, 0.2);
	ce_sim_src_free(src);
}

static void test_silence_and_bad_specs(void)
{
	struct sim_audio_src *src = NULL;
	int16_t pcm[160];
	GError *err = NULL;

	g_assert_cmpint(ce_sim_src_new(&src, "silence", false, NULL, &err), ==, 0);
	ce_sim_src_read(src, pcm, 160);
	g_assert_cmpfloat(ce_sim_rms_dbfs(pcm, 160), ==, -120);
	ce_sim_src_free(src);
	src = NULL;
	g_assert_cmpint(ce_sim_src_new(&src, "tone:abc", false, NULL, &err), <, 0);
	g_assert_nonnull(err);
	g_clear_error(&err);
	g_assert_cmpint(ce_sim_src_new(&src, "/nonexistent/x.wav", false, NULL, &err), <, 0);
	g_assert_nonnull(err);
	g_clear_error(&err);
	g_assert_null(src);
}

/* A WAV written by the recorder reads back through the file source. */
static void test_wav_roundtrip(void)
{
	char *dir = g_dir_make_tmp("sim-units-XXXXXX", NULL);
	char *path = g_build_filename(dir, "t.wav", NULL);
	struct sim_audio_src *tone = NULL, *file = NULL;
	struct sim_wav *w = NULL;
	int16_t pcm[4000], back[4000];
	GError *err = NULL;

	g_assert_cmpint(ce_sim_src_new(&tone, "tone:1000", false, NULL, &err), ==, 0);
	ce_sim_src_read(tone, pcm, 4000);
	g_assert_cmpint(ce_sim_wav_open(&w, path, &err), ==, 0);
	ce_sim_wav_write(w, pcm, 4000);
	ce_sim_wav_close(w);
	g_assert_cmpint(ce_sim_src_new(&file, "t.wav", false, dir, &err), ==, 0);
	g_assert_no_error(err);
	ce_sim_src_read(file, back, 4000);
	g_assert_cmpmem(pcm, sizeof(pcm), back, sizeof(back));
	ce_sim_src_read(file, back, 10); /* past the end without loop: silence */
	g_assert_cmpint(back[0], ==, 0);
	ce_sim_src_free(tone);
	ce_sim_src_free(file);
	g_unlink(path);
	g_rmdir(dir);
	g_free(path);
	g_free(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sim/g711/ulaw-codes", test_ulaw_codes);
	g_test_add_func("/sim/g711/alaw-codes", test_alaw_codes);
	g_test_add_func("/sim/g711/roundtrip-error", test_roundtrip_error);
	g_test_add_func("/sim/g711/table-decode", test_table_decode);
	g_test_add_func("/sim/audio/tone-goertzel", test_tone_and_goertzel);
	g_test_add_func("/sim/audio/silence-bad-specs", test_silence_and_bad_specs);
	g_test_add_func("/sim/audio/wav-roundtrip", test_wav_roundtrip);
	int ret = g_test_run();

	ce_sim_audio_cache_clear();
	return ret;
}
