/* plc.c - packet loss concealment: pitch-period repetition with fade-out and cross-fade */
#define G_LOG_DOMAIN "media"
#include <string.h>
#include <glib.h>

#include "jbuf.h"

#define PLC_MIN_PERIOD 20  /* 400 Hz at 8 kHz */
#define PLC_MAX_PERIOD 140 /* 57 Hz */
#define PLC_WINDOW     80
#define PLC_HOLD       80  /* samples at full level before fading (10 ms) */
#define PLC_FADE       400 /* samples of linear fade to silence (50 ms) */
#define PLC_XFADE      40  /* cross-fade into real audio after a loss (5 ms) */

/* The figures above are samples at 8 kHz; a 16 kHz stream (shift 1) doubles them. */
#define AT(plc, v) ((unsigned)(v) << (plc)->shift)
/* The history's length: 40 ms. */
#define HLEN(plc) AT(plc, CE_JBUF_HIST / 2)

/** Forget the history: the next loss conceals with silence. */
void ce_plc_reset(struct ce_plc *plc)
{
	uint8_t shift = plc->shift;

	memset(plc, 0, sizeof(*plc));
	plc->shift = shift;
}

/** Conceal a stream at 8000 << @shift Hz (0 or 1) from now on; the history is forgotten. */
void ce_plc_set_rate(struct ce_plc *plc, unsigned shift)
{
	plc->shift = (uint8_t)(shift ? 1 : 0);
	ce_plc_reset(plc);
}

/* The history is a ring (next write at hpos), so a good frame costs a copy
 * and no shifting; a loss, which is rare, unrolls it first. */
static void hist_push(struct ce_plc *plc, const int16_t *s, unsigned n)
{
	unsigned first;
	unsigned len = HLEN(plc);

	if (n >= len) {
		memcpy(plc->hist, s + n - len, len * sizeof(int16_t));
		plc->hpos = 0;
		return;
	}
	first = MIN(n, len - plc->hpos);
	memcpy(plc->hist + plc->hpos, s, first * sizeof(int16_t));
	memcpy(plc->hist, s + first, (n - first) * sizeof(int16_t));
	plc->hpos = (plc->hpos + n) % len;
}

/* Put the history in time order, oldest first. */
static void hist_unroll(struct ce_plc *plc)
{
	int16_t tmp[CE_JBUF_HIST];
	unsigned k = plc->hpos, len = HLEN(plc);

	if (k == 0)
		return;
	memcpy(tmp, plc->hist + k, (len - k) * sizeof(int16_t));
	memcpy(tmp + len - k, plc->hist, k * sizeof(int16_t));
	memcpy(plc->hist, tmp, len * sizeof(int16_t));
	plc->hpos = 0;
}

/* The lag that best predicts the end of the history from itself. */
static unsigned find_period(const struct ce_plc *plc)
{
	const int16_t *w = plc->hist + HLEN(plc) - AT(plc, PLC_WINDOW);
	float best = 0.0f;
	unsigned lag, best_lag = AT(plc, PLC_MAX_PERIOD);

	for (lag = AT(plc, PLC_MIN_PERIOD); lag <= AT(plc, PLC_MAX_PERIOD); lag++) {
		float c = 0.0f, e = 1.0f;

		for (unsigned i = 0; i < AT(plc, PLC_WINDOW); i++) {
			c += (float)w[i] * (float)w[(int)i - (int)lag];
			e += (float)w[(int)i - (int)lag] * (float)w[(int)i - (int)lag];
		}
		/* Compare c / sqrt(e) without the root: sign-preserving square. */
		if (c > 0.0f && c * c / e > best) {
			best = c * c / e;
			best_lag = lag;
		}
	}
	return best_lag;
}

static int16_t synth(struct ce_plc *plc)
{
	unsigned t = plc->run;
	int v = plc->hist[HLEN(plc) - plc->period + plc->phase];
	int gain; /* Q10 */

	if (++plc->phase >= plc->period)
		plc->phase = 0;
	plc->run++;
	if (t < AT(plc, PLC_HOLD))
		return (int16_t)v;
	if (t >= AT(plc, PLC_HOLD + PLC_FADE))
		return 0;
	gain = (int)(1024 - (t - AT(plc, PLC_HOLD)) * 1024 / AT(plc, PLC_FADE));
	return (int16_t)(v * gain / 1024);
}

/** Make up n lost samples at out, continuing the last pitch period. */
void ce_plc_conceal(struct ce_plc *plc, int16_t *out, unsigned n)
{
	if (plc->run == 0) {
		hist_unroll(plc);
		plc->period = find_period(plc);
		plc->phase = 0;
	}
	for (unsigned i = 0; i < n; i++)
		out[i] = synth(plc);
	plc->fade_in = AT(plc, PLC_XFADE);
}

/**
 * Note n received samples at frame, to be played.  After a loss the start
 * of frame is cross-faded from the concealment so the joint has no click.
 */
void ce_plc_good(struct ce_plc *plc, int16_t *frame, unsigned n)
{
	unsigned i;

	for (i = 0; i < n && plc->fade_in > 0 && plc->run > 0; i++, plc->fade_in--) {
		int w = (int)plc->fade_in; /* weight of the concealment, of xfade */
		int xfade = (int)AT(plc, PLC_XFADE);
		int s = synth(plc);

		frame[i] = (int16_t)((s * w + frame[i] * (xfade - w)) / xfade);
	}
	plc->run = 0;
	plc->fade_in = 0;
	hist_push(plc, frame, n);
}
