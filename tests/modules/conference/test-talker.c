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
	return g_test_run();
}
