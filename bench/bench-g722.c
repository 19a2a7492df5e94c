/* bench-g722.c - G.722 encode and decode CPU time per 20 ms frame (320 samples, 160 octets)
 *
 * Usage: bench-g722 [--frames=N] [--rounds=R]
 * Encodes ten seconds of a speech-like signal (a syllable-modulated mix of
 * a voice's harmonics up to 7 kHz, with low noise) 20 ms at a time, and
 * decodes the octets back, R rounds of N frames each, timing each round on
 * the thread's CPU clock.  It prints the best and median round in ns per
 * frame for encode and decode, and how many streams one core could carry
 * in each direction at 50 frames per second.  Built where configure found
 * spandsp (the test's reference), it times spandsp's codec on the same
 * frames too, interleaved with ours.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <glib.h>

#include "ce-autoconf.h"
#include "media/g722.h"
#include "tests/testutil.h"
#ifdef HAVE_SPANDSP
#include <spandsp.h>
#endif

#define FRAME         320
#define SIGNAL_FRAMES 500 /* ten seconds */

static int16_t pcm[SIGNAL_FRAMES][FRAME];
static uint8_t bits[SIGNAL_FRAMES][FRAME / 2];

static void make_signal(void)
{
	GRand *r = g_rand_new_with_seed(722);

	for (int k = 0; k < SIGNAL_FRAMES; k++)
		for (int i = 0; i < FRAME; i++) {
			double t = (k * FRAME + i) / 16000.0, v = 0;
			double env = fabs(sin(2 * G_PI * 2.5 * t)); /* syllables */

			for (int h = 1; h * 140 < 7000; h++) /* a 140 Hz voice's harmonics */
				v += sin(2 * G_PI * 140 * h * t + h) / h;
			pcm[k][i] = (int16_t)(5000 * env * v + g_rand_int_range(r, -60, 61));
		}
	g_rand_free(r);
}

/* ns per frame of one round of n frames of encoding (decode false) or decoding. */
static double round_ns(bool decode, int n)
{
	static int16_t out[FRAME];
	struct ce_g722_enc enc;
	struct ce_g722_dec dec;
	unsigned sink = 0;
	double t0;

	ce_g722_enc_init(&enc);
	ce_g722_dec_init(&dec, 64000);
	t0 = ce_test_cpu_now();
	for (int k = 0; k < n; k++) {
		int f = k % SIGNAL_FRAMES;

		if (decode) {
			ce_g722_decode(&dec, bits[f], FRAME / 2, out);
			sink += (unsigned)out[k % FRAME];
		} else {
			sink += ce_g722_encode(&enc, pcm[f], FRAME, bits[f]);
		}
	}
	t0 = ce_test_cpu_now() - t0;
	if (sink == 1) /* keeps the work observable */
		fputc(' ', stderr);
	return t0 * 1e9 / n;
}

#ifdef HAVE_SPANDSP
/* The same round through spandsp's codec (64 kbit/s, no options). */
static double ref_round_ns(bool decode, int n)
{
	static int16_t out[FRAME];
	static uint8_t ref_bits[FRAME / 2];
	g722_encode_state_t *enc = g722_encode_init(NULL, 64000, 0);
	g722_decode_state_t *dec = g722_decode_init(NULL, 64000, 0);
	unsigned sink = 0;
	double t0 = ce_test_cpu_now();

	for (int k = 0; k < n; k++) {
		int f = k % SIGNAL_FRAMES;

		if (decode) {
			sink += (unsigned)g722_decode(dec, out, bits[f], FRAME / 2);
		} else {
			sink += (unsigned)g722_encode(enc, ref_bits, pcm[f], FRAME);
		}
	}
	t0 = ce_test_cpu_now() - t0;
	if (sink == 1)
		fputc(' ', stderr);
	g722_encode_free(enc);
	g722_decode_free(dec);
	return t0 * 1e9 / n;
}
#endif

static void report(const char *what, double *ns, int rounds)
{
	ce_test_sort_doubles(ns, (size_t)rounds);
	printf("%s: %.0f ns per 20 ms frame (best of %d rounds), median %.0f; "
	       "%.0f streams per core\n",
	        what, ns[0], rounds, ns[rounds / 2], 20e6 / ns[rounds / 2]);
}

int main(int argc, char **argv)
{
	int frames = 20000, rounds = 7;
	GOptionEntry opts[] = {
	        {"frames", 'n', 0, G_OPTION_ARG_INT, &frames, "frames per round (20000)", "N"},
	        {"rounds", 'r', 0, G_OPTION_ARG_INT, &rounds, "rounds (7)", "R"},
	        {NULL},
	};
	GOptionContext *ctx = g_option_context_new("- G.722 encode and decode per 20 ms frame");
	double *enc, *dec, *ref_enc, *ref_dec;

	g_option_context_add_main_entries(ctx, opts, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, NULL) || frames < 1 || rounds < 1) {
		fprintf(stderr, "usage: bench-g722 [--frames=N] [--rounds=R]\n");
		return 2;
	}
	g_option_context_free(ctx);
	make_signal();
	enc = g_new(double, rounds);
	dec = g_new(double, rounds);
	ref_enc = g_new0(double, rounds);
	ref_dec = g_new0(double, rounds);
	/* Interleaved, so that a busy moment of a shared machine hits all. */
	for (int i = 0; i < rounds; i++) {
		enc[i] = round_ns(false, frames);
		dec[i] = round_ns(true, frames);
#ifdef HAVE_SPANDSP
		ref_enc[i] = ref_round_ns(false, frames);
		ref_dec[i] = ref_round_ns(true, frames);
#endif
	}
	report("encode", enc, rounds);
	report("decode", dec, rounds);
#ifdef HAVE_SPANDSP
	report("spandsp encode", ref_enc, rounds);
	report("spandsp decode", ref_dec, rounds);
#endif
	g_free(enc);
	g_free(dec);
	g_free(ref_enc);
	g_free(ref_dec);
	return 0;
}
