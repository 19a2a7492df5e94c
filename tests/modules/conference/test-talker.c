/* test-talker.c - unit tests for modules/conference/talker.c */
#include <math.h>
#include <glib.h>

#include "modules/conference/talker.h"

/* Feeds one 20 ms frame: noise of amplitude noise plus a 440 Hz tone of tone. */
static enum ce_talker_ev feed(struct ce_talker *t, GRand *r, int noise, int tone, unsigned k)
{
	int16_t pcm[160];

	for (unsigned i = 0; i < 160; i++)
		pcm[i] = (int16_t)(g_rand_int_range(r, -noise, noise + 1) +
		                   tone * sin(2 * G_PI * 440 * (k * 160 + i) / 8000.0));
	return ce_talker_frame(t, pcm, 160, 8000);
}

/* Feeds one 20 ms frame: noise plus the sum of two tones f1, f2 of amplitude tone each. */
static enum ce_talker_ev feed2(
        struct ce_talker *t, GRand *r, int noise, double tone, double f1, double f2, unsigned k)
{
	int16_t pcm[160];

	for (unsigned i = 0; i < 160; i++) {
		double s = (k * 160 + i) / 8000.0;

		pcm[i] = (int16_t)(g_rand_int_range(r, -noise, noise + 1) +
		                   tone * (sin(2 * G_PI * f1 * s) + sin(2 * G_PI * f2 * s)));
	}
	return ce_talker_frame(t, pcm, 160, 8000);
}

/*
 * A steady tone is heard at first and then becomes the noise floor: a
 * whistle, a test tone, a stuck dial tone or a fax tone stops being mixed
 * after the 2 s window plus the hangover, and speech over it is heard
 * again.  (docs/media.md: why this is right for a conference.)
 */
static void test_steady_tone(void)
{
	struct ce_talker t;
	GRand *r = g_rand_new_with_seed(4);
	unsigned k = 0, start = 0, stop = 0, starts = 0;

	ce_talker_init(&t, NULL);
	for (; k < 50; k++)
		feed2(&t, r, 30, 0, 0, 0, k);
	for (; k < 550; k++) { /* 10 s of a 1 kHz tone at -20 dBFS */
		enum ce_talker_ev ev = feed2(&t, r, 30, 1640, 1000, 1000, k);

		if (ev == CE_TALKER_START && !starts++)
			start = k;
		if (ev == CE_TALKER_STOP && !stop)
			stop = k;
	}
	g_assert_cmpuint(starts, ==, 1);
	g_assert_cmpuint(start, <=, 51);
	g_assert_cmpuint(stop, >=, start + 100); /* heard for at least the 2 s window */
	g_assert_cmpuint(stop, <=, start + 100 + 25);
	g_assert_false(t.active);
	/* The same tone 12 dB louder, as a voice over it would be: heard at once. */
	g_assert_cmpint(feed2(&t, r, 30, 6500, 1000, 1000, k), ==, CE_TALKER_START);
	g_rand_free(r);
}

/* A tone that comes and goes like music or speech is heard all along. */
static void test_modulated_tone(void)
{
	struct ce_talker t;
	GRand *r = g_rand_new_with_seed(5);
	unsigned k = 0, starts = 0, stops = 0;

	ce_talker_init(&t, NULL);
	for (; k < 50; k++)
		feed2(&t, r, 30, 0, 0, 0, k);
	for (; k < 550; k++) { /* 10 s, 20 dB dips 4 times a second */
		double a = (k / 6) % 2 ? 200 : 2000;
		enum ce_talker_ev ev = feed2(&t, r, 30, a, 440, 660, k);

		starts += ev == CE_TALKER_START;
		stops += ev == CE_TALKER_STOP;
	}
	g_assert_cmpuint(starts, ==, 1);
	g_assert_cmpuint(stops, ==, 0);
	g_rand_free(r);
}

/* An in-band DTMF digit (100 ms, 697 + 1209 Hz) is a short talk. */
static void test_dtmf_digit(void)
{
	struct ce_talker t;
	GRand *r = g_rand_new_with_seed(6);
	unsigned k = 0, start = 0, stop = 0;

	ce_talker_init(&t, NULL);
	for (; k < 50; k++)
		feed2(&t, r, 30, 0, 0, 0, k);
	for (; k < 55; k++)
		if (feed2(&t, r, 30, 1500, 697, 1209, k) == CE_TALKER_START)
			start = k;
	for (; k < 100; k++)
		if (feed2(&t, r, 30, 0, 0, 0, k) == CE_TALKER_STOP)
			stop = k;
	g_assert_cmpuint(start, >=, 50);
	g_assert_cmpuint(start, <=, 51);
	g_assert_cmpuint(stop, >=, 55 + 19);
	g_assert_cmpuint(stop, <=, 55 + 21);
	g_rand_free(r);
}

/* A fricative onset ("s") in white noise: high-band hiss, nothing near 1 kHz. */
static void test_fricative_onset(void)
{
	struct ce_talker t;
	GRand *r = g_rand_new_with_seed(7);
	unsigned k = 0, start = 0;

	ce_talker_init(&t, NULL);
	for (; k < 100; k++)
		g_assert_cmpint(feed2(&t, r, 300, 0, 0, 0, k), ==, CE_TALKER_NONE);
	/* 3.4 kHz and 3.7 kHz at the noise's own level: the voice band hardly moves. */
	for (; k < 110 && !start; k++)
		if (feed2(&t, r, 300, 250, 3400, 3700, k) == CE_TALKER_START)
			start = k;
	g_assert_cmpuint(start, >=, 100);
	g_assert_cmpuint(start, <=, 102);
	g_rand_free(r);
}

/* A talk right after the first part of the window (200 ms of silence). */
static void test_early_talk(void)
{
	struct ce_talker t;
	GRand *r = g_rand_new_with_seed(8);
	unsigned k = 0, start = 0;

	ce_talker_init(&t, NULL);
	for (; k < 10; k++)
		feed(&t, r, 0, 0, k);
	for (; k < 20 && !start; k++)
		if (feed(&t, r, 0, 8000, k) == CE_TALKER_START)
			start = k;
	g_assert_cmpuint(start, ==, 10);
	g_rand_free(r);
}

static void test_start_stop_hangover(void)
{
	struct ce_talker t;
	GRand *r = g_rand_new_with_seed(1);
	unsigned k = 0, start = 0, stop = 0;

	ce_talker_init(&t, NULL);
	for (; k < 100; k++) /* 2 s of noise: never a talk */
		g_assert_cmpint(feed(&t, r, 300, 0, k), ==, CE_TALKER_NONE);
	for (; k < 150; k++)
		if (feed(&t, r, 300, 5000, k) == CE_TALKER_START)
			start = k;
	for (; k < 200; k++)
		if (feed(&t, r, 300, 0, k) == CE_TALKER_STOP)
			stop = k;
	/* Starts within two frames; stops after the 400 ms hangover. */
	g_assert_cmpuint(start, >=, 100);
	g_assert_cmpuint(start, <=, 102);
	g_assert_cmpuint(stop, >=, 150 + 19);
	g_assert_cmpuint(stop, <=, 150 + 22);
	g_rand_free(r);
}

static void test_noise_change(void)
{
	struct ce_talker t;
	GRand *r = g_rand_new_with_seed(2);
	unsigned k, talks = 0;

	/* The noise gets 20 dB louder: at most one false talk, which ends. */
	ce_talker_init(&t, NULL);
	for (k = 0; k < 100; k++)
		feed(&t, r, 100, 0, k);
	for (; k < 400; k++)
		talks += feed(&t, r, 1000, 0, k) == CE_TALKER_START;
	g_assert_cmpuint(talks, <=, 1);
	g_assert_false(t.active);
	g_rand_free(r);
}

static void test_yate_energy(void)
{
	struct ce_talker t;
	GRand *r = g_rand_new_with_seed(3);

	/* Yate reports 22..25 for its tones: amplitude 2900 is 2^22 in mean square. */
	ce_talker_init(&t, NULL);
	for (unsigned k = 0; k < 50; k++)
		feed(&t, r, 0, 2900, k);
	g_assert_cmpuint(ce_talker_energy(&t), ==, 22);
	for (unsigned k = 0; k < 50; k++)
		feed(&t, r, 0, 16000, k);
	g_assert_cmpuint(ce_talker_energy(&t), ==, 26);
	g_rand_free(r);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/talker/start-stop-hangover", test_start_stop_hangover);
	g_test_add_func("/talker/noise-change", test_noise_change);
	g_test_add_func("/talker/yate-energy", test_yate_energy);
	g_test_add_func("/talker/steady-tone", test_steady_tone);
	g_test_add_func("/talker/modulated-tone", test_modulated_tone);
	g_test_add_func("/talker/dtmf-digit", test_dtmf_digit);
	g_test_add_func("/talker/fricative-onset", test_fricative_onset);
	g_test_add_func("/talker/early-talk", test_early_talk);
	return g_test_run();
}
