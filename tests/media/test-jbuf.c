/* test-jbuf.c - unit tests for media/jbuf.c and plc.c */
#include <math.h>
#include <string.h>
#include <glib.h>

#include "media/jbuf.h"

#define F 160

/* A 400 Hz tone as mu-law, sample t onwards. */
static void frame_at(uint8_t *p, uint32_t t, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = ce_g711_ulaw_encode(
		        (int16_t)(8000 * sin(2 * G_PI * 400 * (t + i) / 8000.0)));
}

static int16_t expect_at(uint32_t t)
{
	return ce_g711_ulaw_decode(
	        ce_g711_ulaw_encode((int16_t)(8000 * sin(2 * G_PI * 400 * t / 8000.0))));
}

static void put(struct ce_jbuf *jb, uint32_t ts, uint32_t arrival, unsigned n)
{
	uint8_t p[CE_JBUF_MAX_FRAME];

	frame_at(p, ts, n);
	ce_jbuf_put(jb, 1, ts, p, n, arrival);
}

/* Pulls n samples; checks they are the tone at the expected offset. */
static uint32_t pull_check(struct ce_jbuf *jb, int16_t *out)
{
	g_assert_cmpint(ce_jbuf_pull(jb, out, F), ==, CE_JBUF_AUDIO);
	return jb->play_ts - F;
}

static void check_tone(const int16_t *out, uint32_t ts)
{
	for (unsigned i = 0; i < F; i++)
		g_assert_cmpint(out[i], ==, expect_at(ts + i));
}

static void test_in_order(void)
{
	struct ce_jbuf jb;
	int16_t out[F];
	uint32_t t;

	ce_jbuf_init(&jb, CE_CODEC_PCMU, 160, 1600);
	g_assert_cmpint(ce_jbuf_pull(&jb, out, F), ==, CE_JBUF_SILENCE);
	for (unsigned k = 0; k < 50; k++) {
		put(&jb, 1000 + k * F, k * F, F);
		if (k == 0) {
			ce_jbuf_pull(&jb, out, F); /* one frame of pre-roll */
			continue;
		}
		t = pull_check(&jb, out);
		check_tone(out, t);
	}
	g_assert_cmpuint(jb.st.late, ==, 0);
	g_assert_cmpuint(jb.st.packets, ==, 50);
}

static void test_reorder_dup(void)
{
	struct ce_jbuf jb;
	int16_t out[F];

	ce_jbuf_init(&jb, CE_CODEC_PCMU, 320, 1600);
	put(&jb, 0, 0, F);
	put(&jb, 2 * F, 2 * F, F); /* 2 before 1 */
	put(&jb, F, 2 * F, F);
	put(&jb, F, 2 * F, F); /* duplicate */
	g_assert_cmpuint(jb.st.dups, ==, 1);
	for (int k = 0; k < 2; k++)
		ce_jbuf_pull(&jb, out, F); /* pre-roll */
	for (uint32_t ts = 0; ts < 3 * F; ts += F) {
		g_assert_cmpuint(pull_check(&jb, out), ==, ts);
		check_tone(out, ts);
	}
	g_assert_cmpuint(jb.st.late, ==, 0);
}

static void test_loss_conceal_continuity(void)
{
	struct ce_jbuf jb;
	int16_t out[F];
	int prev = 0, maxjump = 0;
	unsigned concealed = 0;

	ce_jbuf_init(&jb, CE_CODEC_PCMU, 160, 1600);
	for (unsigned k = 0; k < 60; k++) {
		enum ce_jbuf_out r;

		/* Lose frames 20, 21 and 40. */
		if (k != 20 && k != 21 && k != 40)
			put(&jb, k * F, k * F, F);
		r = ce_jbuf_pull(&jb, out, F);
		if (k == 0)
			continue;
		concealed += r == CE_JBUF_CONCEALED;
		if (g_test_verbose())
			g_printerr("k=%u r=%d play=%u max=%u st=%lu\n", k, r, jb.play_ts, jb.max_ts,
			        (unsigned long)jb.st.stalls);
		for (unsigned i = 0; i < F; i++) {
			if (k > 2)
				maxjump = MAX(maxjump, ABS(out[i] - prev));
			prev = out[i];
		}
	}
	/* A 400 Hz tone of amplitude 8000 moves at most 2513 per sample; the
	 * concealment and the joints back to audio must not click. */
	g_assert_cmpint(maxjump, <, 3200);
	/* Losing the newest frame stalls the play point once (one more frame
	 * made up, one frame more delay, cut again later). */
	g_assert_cmpuint(concealed, >=, 3);
	g_assert_cmpuint(jb.st.concealed, >=, 3 * F);
	g_assert_cmpuint(jb.st.concealed, <=, 4 * F);
	g_assert_cmpuint(jb.st.stalls, ==, 1);
}

static void test_late_grows_target(void)
{
	struct ce_jbuf jb;
	int16_t out[F];
	unsigned t0;

	ce_jbuf_init(&jb, CE_CODEC_PCMU, 160, 1600);
	put(&jb, 0, 0, F);
	t0 = jb.target;
	for (unsigned k = 1; k < 6; k++) {
		ce_jbuf_pull(&jb, out, F);
		if (k != 3)
			put(&jb, k * F, k * F, F);
	}
	/* Frame 3 comes 60 ms late, after its play time. */
	put(&jb, 3 * F, 8 * F, F);
	g_assert_cmpuint(jb.st.late, ==, 1);
	ce_jbuf_pull(&jb, out, F);
	g_assert_cmpuint(jb.target, >, t0);
	g_assert_cmpuint(jb.target, <=, 1600);
}

static void test_ssrc_and_jump(void)
{
	struct ce_jbuf jb;
	uint8_t p[F];
	int16_t out[F];

	ce_jbuf_init(&jb, CE_CODEC_PCMU, 160, 1600);
	frame_at(p, 0, F);
	ce_jbuf_put(&jb, 1, 0, p, F, 0);
	ce_jbuf_put(&jb, 2, 5000000, p, F, F); /* new SSRC */
	g_assert_cmpuint(jb.st.resyncs, ==, 1);
	ce_jbuf_put(&jb, 2, 5000000 + 100000, p, F, 2 * F); /* timestamp jump */
	g_assert_cmpuint(jb.st.resyncs, ==, 2);
	ce_jbuf_pull(&jb, out, F);
	g_assert_cmpint(ce_jbuf_pull(&jb, out, F), ==, CE_JBUF_AUDIO);
	/* Empty and oversized payloads are refused. */
	g_assert_cmpint(ce_jbuf_put(&jb, 2, 0, p, 0, 0), <, 0);
	g_assert_cmpint(ce_jbuf_put(&jb, 2, 0, p, CE_JBUF_RING, 0), <, 0);
}

/* The sender's clock runs 1% fast, then 1% slow: the delay stays bounded. */
static void skew(double ratio)
{
	struct ce_jbuf jb;
	int16_t out[F];
	double sent = 0;
	unsigned maxlevel = 0;

	ce_jbuf_init(&jb, CE_CODEC_PCMU, 160, 1600);
	for (unsigned tick = 0; tick < 3000; tick++) {
		/* Packets due by now at the sender's rate. */
		while (sent * ratio <= (double)tick * F) {
			put(&jb, (uint32_t)sent, tick * F, F);
			sent += F;
		}
		ce_jbuf_pull(&jb, out, F);
		if (tick > 100)
			maxlevel = MAX(maxlevel, ce_jbuf_level(&jb));
	}
	g_assert_cmpuint(jb.st.late, ==, 0);
	g_assert_cmpuint(maxlevel, <=, jb.target + 4 * F);
	/* About 1% of 60 s is made up or dropped; no more than twice that. */
	g_assert_cmpuint(jb.st.concealed + jb.st.dropped, <=, 2 * 3000 * F / 100);
}

static void test_clock_skew(void)
{
	skew(1.0 / 1.01);
	skew(1.01);
}

static void test_ptime_mix(void)
{
	struct ce_jbuf jb;
	int16_t out[F];
	uint32_t ts = 0;

	/* 10 ms and 30 ms packets against a 20 ms pull. */
	ce_jbuf_init(&jb, CE_CODEC_PCMU, 320, 1600);
	for (unsigned k = 0; k < 40; k++) {
		unsigned n = k % 2 ? 80 : 240;

		put(&jb, ts, ts, n);
		ts += n;
		if (k == 0) {
			g_assert_cmpint(ce_jbuf_pull(&jb, out, F), ==, CE_JBUF_SILENCE);
			g_assert_cmpint(ce_jbuf_pull(&jb, out, F), ==, CE_JBUF_SILENCE);
		}
		while ((int32_t)(jb.max_ts - jb.play_ts) >= F + 200) {
			uint32_t at = pull_check(&jb, out);

			check_tone(out, at);
		}
	}
	g_assert_cmpuint(jb.st.late, ==, 0);
}

/*
 * Packets that arrive now just before a pull, now just after it (the far
 * end's clock at the edge of the room's mixing wake): with no floor some
 * pulls find nothing and conceal; with a floor of one frame every pull
 * plays received audio, one frame later.
 */
static unsigned straddle_concealed(unsigned floor)
{
	struct ce_jbuf jb;
	int16_t out[F];
	uint64_t start = 0;

	ce_jbuf_init(&jb, CE_CODEC_PCMU, 0, 1600);
	ce_jbuf_set_floor(&jb, floor);
	for (unsigned k = 0; k < 200; k++) {
		bool after = k % 7 == 3 || k % 11 == 5; /* this one comes after the pull */

		if (!after)
			put(&jb, 1000 + k * F, k * F, F);
		if (k == 100)
			start = jb.st.concealed;
		ce_jbuf_pull(&jb, out, F);
		if (after)
			put(&jb, 1000 + k * F, k * F + 40, F);
	}
	/* The second half: a raised target takes effect through one stall. */
	return (unsigned)(jb.st.concealed - start);
}

static void test_floor(void)
{
	g_assert_cmpuint(straddle_concealed(0), >, 0);
	g_assert_cmpuint(straddle_concealed(F), ==, 0);
}

/*
 * A leg whose packets come first just before its room's pull, then just
 * after it (the far end's sending drifted past the room's wake, as when
 * many legs join), with a target of half a frame: the first pull that
 * finds its frame's end missing waits once, and from then on every pull
 * plays received audio.  Before, each pull made up its last 80 samples and
 * the next packet's first 80 were dropped, for as long as the call lasted.
 */
static void test_pull_before_arrival(void)
{
	struct ce_jbuf jb;
	int16_t out[F];
	uint64_t concealed = 0, stalls = 0;

	ce_jbuf_init(&jb, CE_CODEC_PCMU, F / 2, 1600);
	for (unsigned k = 0; k < 300; k++) {
		bool after = k >= 50;
		enum ce_jbuf_out r;

		if (!after)
			put(&jb, 1000 + k * F, k * F, F);
		if (k == 40 || k == 60) {
			concealed = jb.st.concealed;
			stalls = jb.st.stalls;
		}
		r = ce_jbuf_pull(&jb, out, F);
		if (k > 2 && (k < 50 || k > 60)) {
			g_assert_cmpint(r, ==, CE_JBUF_AUDIO);
			check_tone(out, jb.play_ts - F);
		}
		if (k == 50)
			g_assert_cmpuint(jb.st.stalls, ==, stalls + 1);
		if (after)
			put(&jb, 1000 + k * F, k * F + 40, F);
	}
	g_assert_cmpuint(jb.st.concealed, ==, concealed);
	g_assert_cmpuint(jb.st.stalls, ==, stalls);
	g_assert_cmpuint(jb.st.late, ==, 0);
}

/*
 * The sender stops for four frames, then sends them all at once: the
 * delay that leaves is cut again, and the cut ends on a whole frame, so
 * the pulls after it play received audio only and the delay is back
 * within an eighth of a frame of the target.
 */
static void test_cut_excess_on_grid(void)
{
	struct ce_jbuf jb;
	int16_t out[F];
	uint64_t concealed = 0, stalls = 0;

	ce_jbuf_init(&jb, CE_CODEC_PCMU, 0, 1600);
	for (unsigned k = 0; k < 400; k++) {
		if (k < 50 || k > 54)
			put(&jb, 1000 + k * F, k * F, F);
		else if (k == 54)
			for (unsigned j = 50; j <= 54; j++)
				put(&jb, 1000 + j * F, k * F, F);
		if (k == 55)
			stalls = jb.st.stalls;
		if (k == 300) {
			concealed = jb.st.concealed;
			/* This pull's frame, and no more than an eighth of one
			 * above the target. */
			g_assert_cmpuint(ce_jbuf_level(&jb), <=, jb.target + F + F / 8);
		}
		if (ce_jbuf_pull(&jb, out, F) == CE_JBUF_AUDIO && k > 300)
			check_tone(out, jb.play_ts - F);
	}
	g_assert_cmpuint(jb.st.dropped, >, 0);
	g_assert_cmpuint(stalls, ==, 4);
	g_assert_cmpuint(jb.st.stalls, ==, stalls);
	g_assert_cmpuint(jb.st.concealed, ==, concealed);
	g_assert_cmpuint(jb.st.late, ==, 0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/jbuf/in-order", test_in_order);
	g_test_add_func("/jbuf/reorder-dup", test_reorder_dup);
	g_test_add_func("/jbuf/loss-conceal-continuity", test_loss_conceal_continuity);
	g_test_add_func("/jbuf/late-grows-target", test_late_grows_target);
	g_test_add_func("/jbuf/ssrc-and-jump", test_ssrc_and_jump);
	g_test_add_func("/jbuf/clock-skew", test_clock_skew);
	g_test_add_func("/jbuf/ptime-mix", test_ptime_mix);
	g_test_add_func("/jbuf/floor", test_floor);
	g_test_add_func("/jbuf/pull-before-arrival", test_pull_before_arrival);
	g_test_add_func("/jbuf/cut-excess-on-grid", test_cut_excess_on_grid);
	return g_test_run();
}
