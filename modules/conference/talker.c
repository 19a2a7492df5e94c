/* talker.c - per-leg talker detection: adaptive noise floor, hysteresis, hangover
 *
 * Frames are judged in blocks of 10 ms, in two bands, each with its own
 * noise floor.  The voice band is the mean square, in dB, of the signal
 * through a short band-pass FIR, (1 + z^-1)^4 (1 - z^-1) / 8: it has zeros
 * at 0 Hz and at 4 kHz and its peak near 1.2 kHz, so it drops rumble, hum
 * and hiss, which carry much energy and no speech.  The hiss band,
 * (1 - z^-1)^2 / 4, rises to 4 kHz: it catches the fricatives that begin
 * many words ("s", "sh", "f", "th"), which stay under the noise in the
 * voice band for their first 50..100 ms.  Both filters vectorise.
 *
 * A band's noise floor is its quietest block of the last window_ms
 * (minimum statistics over ten parts of the window), so it follows the
 * noise up and down; during a talk it is held at its value from the
 * talk's start (it may still fall) unless the talk has gone on for a whole
 * window, which is then taken as a new, louder noise: a steady tone stops
 * being a talk after window_ms + hangover_ms (docs/media.md says why).
 * A block is as far above the floor as its higher band.  A talk starts
 * when start_frames blocks in a row are start_db above the floor, or one
 * block burst_db above it; it goes on while blocks stay stay_db above and
 * ends hangover_ms after the last one.  Nothing is decided in the first
 * settle_ms of a call, while the floors are learnt.
 *
 * The energy reported in Yate's "speaking" notification is computed the
 * way Yate's conference module does it: log2 of an envelope (fast attack,
 * slow decay) of the plain signal's mean square, so a tone gives the same
 * 20-something numbers.
 */
#define G_LOG_DOMAIN "media"
#include <math.h>
#include <string.h>

#include "talker.h"
#include "vec.h"

#define NO_LEVEL 1000.0f

/** Fill conf with the defaults. */
void ce_talker_conf_default(struct ce_talker_conf *conf)
{
	conf->start_db = 6.0f;
	conf->start_frames = 2;
	conf->burst_db = 12.0f;
	conf->stay_db = 6.0f;
	conf->hangover_ms = 400;
	conf->min_dbfs = -58.0f;
	conf->window_ms = 2000;
	conf->settle_ms = 100;
}

/** Initialise t with conf (NULL: defaults). */
void ce_talker_init(struct ce_talker *t, const struct ce_talker_conf *conf)
{
	memset(t, 0, sizeof(*t));
	if (conf)
		t->conf = *conf;
	else
		ce_talker_conf_default(&t->conf);
	if (t->conf.window_ms < CE_TALKER_WINDOW_PARTS * 20)
		t->conf.window_ms = CE_TALKER_WINDOW_PARTS * 20;
	t->env2 = 256.0f;
	for (int b = 0; b < CE_TALKER_BANDS; b++) {
		struct ce_talker_floor *f = &t->band[b];

		f->cur_min = NO_LEVEL;
		f->past_min = NO_LEVEL;
		for (int i = 0; i < CE_TALKER_WINDOW_PARTS; i++)
			f->sub_min[i] = NO_LEVEL;
	}
}

/* The fricative band: (1 - z^-1)^2, zero at 0 Hz, peak (gain 4) at 4 kHz. */
#define HISS(a0, a1, a2) (-2 * (a1) + (a0) + (a2))
#define HISS_GAIN        16.0f
/* The hiss band is wider, so its noise spreads less around its floor: it
 * may start a talk this much closer to the floor (measured: 0.5..1.5 dB
 * start no talk on the noise of either set, 2 dB do). */
#define HISS_BONUS_DB 1.0f

static float min2(float a, float b)
{
	return a < b ? a : b;
}

/*
 * Mean squares of the band-passed (*bp) and of the plain signal (return).
 * Eight samples at a time with GCC vector extensions: this runs for every
 * leg every tick, so it is the mixer's largest per-listener cost.  The
 * samples are widened by doubling each into a 32-bit lane and shifting it
 * down arithmetically (sign extension with SSE2-level operations).
 */
WIDE_CLONES static float measure(
        struct ce_talker *t, const int16_t *pcm, unsigned n, float *bp, float *hp)
{
	int32_t x[5 + CE_TALKER_MAX_BLOCK];
	v8sf acc = {0}, acc_bp = {0}, acc_hp = {0};
	float sum = 0.0f, sum_bp = 0.0f, sum_hp = 0.0f;
	unsigned i;

	for (i = 0; i < 5; i++)
		x[i] = t->hist[i];
	for (i = 0; i + 8 <= n; i += 8) {
		v8hi h;
		v8si w;

		memcpy(&h, pcm + i, sizeof(h));
		w = (v8si)__builtin_shufflevector(
		            h, h, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7) >>
		    16;
		memcpy(x + 5 + i, &w, sizeof(w));
	}
	for (; i < n; i++)
		x[5 + i] = pcm[i];
	for (i = 0; i + 8 <= n; i += 8) {
		v8si a0, a1, a2, a3, a4, a5, d1, d2;
		v8sf y, f, h;

		LOAD8(a0, x + 5 + i);
		LOAD8(a1, x + 4 + i);
		LOAD8(a2, x + 3 + i);
		LOAD8(a3, x + 2 + i);
		LOAD8(a4, x + 1 + i);
		LOAD8(a5, x + i);
		d1 = a1 - a4;
		d2 = a2 - a3;
		y = __builtin_convertvector(a0 - a5 + d1 + (d1 << 1) + (d2 << 1), v8sf);
		f = __builtin_convertvector(a0, v8sf);
		h = __builtin_convertvector(HISS(a0, a1, a2), v8sf);

		acc += f * f;
		acc_bp += y * y;
		acc_hp += h * h;
	}
	for (; i < n; i++) {
		const int32_t *p = x + 5 + i;
		float y = (float)(p[0] - p[-5] + 3 * (p[-1] - p[-4]) + 2 * (p[-2] - p[-3]));
		float h = (float)HISS(p[0], p[-1], p[-2]);

		sum += (float)p[0] * (float)p[0];
		sum_bp += y * y;
		sum_hp += h * h;
	}
	for (i = 0; i < 5; i++)
		t->hist[i] = (int16_t)x[n + i];
	for (i = 0; i < 8; i++) {
		sum += acc[i];
		sum_bp += acc_bp[i];
		sum_hp += acc_hp[i];
	}
	*bp = sum_bp / (float)n / 64.0f;
	*hp = sum_hp / (float)n / HISS_GAIN;
	return sum / (float)n;
}

static float window_min(const struct ce_talker_floor *f)
{
	return min2(f->cur_min, f->past_min);
}

/*
 * The floor of the finished parts: the second quietest of their minima
 * (the quietest while only one part is finished).
 * The quietest alone is an outlier, several dB under the noise for a
 * narrow band; the start threshold over it then depended on luck and the
 * noise's spread, and started talks on pink noise.
 */
static float low_min(const float *m)
{
	float lo = NO_LEVEL, next = NO_LEVEL;

	for (int i = 0; i < CE_TALKER_WINDOW_PARTS; i++) {
		if (m[i] < lo) {
			next = lo;
			lo = m[i];
		} else if (m[i] < next) {
			next = m[i];
		}
	}
	return next < NO_LEVEL ? next : lo; /* the start of a call: one part */
}

static void track_min(struct ce_talker *t)
{
	bool next;

	t->sub_ms += t->frame_ms;
	next = t->sub_ms >= t->conf.window_ms / CE_TALKER_WINDOW_PARTS;
	for (int b = 0; b < CE_TALKER_BANDS; b++) {
		struct ce_talker_floor *f = &t->band[b];

		f->cur_min = min2(f->cur_min, f->level_db);
		if (!next)
			continue;
		f->sub_min[t->sub_idx] = f->cur_min;
		f->cur_min = NO_LEVEL;
		f->past_min = low_min(f->sub_min);
	}
	if (!next)
		return;
	t->sub_idx = (t->sub_idx + 1) % CE_TALKER_WINDOW_PARTS;
	t->sub_ms = 0;
}

static void update_floor(struct ce_talker *t)
{
	for (int b = 0; b < CE_TALKER_BANDS; b++) {
		struct ce_talker_floor *f = &t->band[b];
		float m = window_min(f);

		if (!t->active || t->talk_ms >= t->conf.window_ms)
			f->floor_db = m;
		else
			f->floor_db = min2(f->start_floor, m);
	}
}

/* How far the block is above the noise floor: the larger of the bands. */
static float above_floor(const struct ce_talker *t)
{
	float a = t->band[0].level_db - t->band[0].floor_db;

	for (int b = 1; b < CE_TALKER_BANDS; b++) {
		float x = t->band[b].level_db - t->band[b].floor_db + HISS_BONUS_DB;

		a = x > a ? x : a;
	}
	return a;
}

static enum ce_talker_ev decide(struct ce_talker *t)
{
	float above = above_floor(t);
	bool loud = t->band[CE_TALKER_VOICE].level_db >= t->conf.min_dbfs ||
	            t->band[CE_TALKER_HISS].level_db >= t->conf.min_dbfs;

	t->above = (loud && above >= t->conf.start_db) ? t->above + 1 : 0;
	if (!t->active) {
		if (t->above >= t->conf.start_frames || (loud && above >= t->conf.burst_db)) {
			t->active = true;
			t->below_ms = 0;
			t->talk_ms = 0;
			for (int b = 0; b < CE_TALKER_BANDS; b++)
				t->band[b].start_floor = t->band[b].floor_db;
			return CE_TALKER_START;
		}
		return CE_TALKER_NONE;
	}
	t->talk_ms += t->frame_ms;
	if (loud && above >= t->conf.stay_db) {
		t->below_ms = 0;
		return CE_TALKER_NONE;
	}
	t->below_ms += t->frame_ms;
	if (t->below_ms < t->conf.hangover_ms)
		return CE_TALKER_NONE;
	t->active = false;
	return CE_TALKER_STOP;
}

/* log2(x) for x >= 1 to within 0.005: exponent bits plus a parabola. */
static float fast_log2(float x)
{
	uint32_t bits;
	float e, m;

	memcpy(&bits, &x, sizeof(bits));
	e = (float)((int)(bits >> 23) - 127);
	bits = (bits & 0x7fffff) | 0x3f800000;
	memcpy(&m, &bits, sizeof(m));
	return e + (-0.34484843f * m + 2.02466578f) * m - 0.67487759f;
}

/* dB relative to a full-scale square wave's mean square. */
static float to_db(float ms)
{
	return 3.0103f * fast_log2(ms + 1.0f) - 90.3f;
}

static void envelope(struct ce_talker *t, float ms)
{
	if (ms > t->env2)
		t->env2 += (ms - t->env2) / 8.0f;
	else
		t->env2 += (ms - t->env2) / 16.0f;
}

/* Judge one block of n samples lasting block_ms; *ms gets its plain mean square. */
static enum ce_talker_ev block(
        struct ce_talker *t, const int16_t *pcm, unsigned n, unsigned block_ms, float *ms)
{
	enum ce_talker_ev ev = CE_TALKER_NONE;
	float bp, hp;

	t->frame_ms = block_ms;
	*ms = measure(t, pcm, n, &bp, &hp);
	t->band[CE_TALKER_VOICE].level_db = to_db(bp);
	t->band[CE_TALKER_HISS].level_db = to_db(hp);
	t->level_db = t->band[CE_TALKER_VOICE].level_db;
	if (t->seen_ms >= t->conf.settle_ms) {
		update_floor(t);
		ev = decide(t);
	} else {
		t->seen_ms += block_ms;
	}
	track_min(t);
	return ev;
}

/**
 * Feed one frame of n samples at rate Hz, judged in 10 ms blocks.  Returns
 * CE_TALKER_START or CE_TALKER_STOP when the talk state changes with this
 * frame (a stop and a new start within one frame cancel out).
 */
enum ce_talker_ev ce_talker_frame(
        struct ce_talker *t, const int16_t *pcm, unsigned n, unsigned rate)
{
	enum ce_talker_ev ev = CE_TALKER_NONE;
	unsigned blk = rate / 100;
	float sum = 0.0f;

	if (n == 0 || rate == 0)
		return CE_TALKER_NONE;
	if (blk == 0 || n % blk != 0 || blk > CE_TALKER_MAX_BLOCK)
		blk = n;
	if (blk > CE_TALKER_MAX_BLOCK)
		return CE_TALKER_NONE;
	for (unsigned off = 0; off < n; off += blk) {
		float ms;
		enum ce_talker_ev e = block(t, pcm + off, blk, blk * 1000 / rate, &ms);

		sum += ms * (float)blk;
		if (e != CE_TALKER_NONE)
			ev = ev == CE_TALKER_NONE ? e : CE_TALKER_NONE;
	}
	envelope(t, sum / (float)n);
	return ev;
}

/** A frame of n samples with nothing received: counts as silence. */
enum ce_talker_ev ce_talker_silence(struct ce_talker *t, unsigned n, unsigned rate)
{
	if (n == 0 || rate == 0)
		return CE_TALKER_NONE;
	t->frame_ms = n * 1000 / rate;
	t->above = 0;
	envelope(t, 0.0f);
	if (!t->active)
		return CE_TALKER_NONE;
	t->talk_ms += t->frame_ms;
	t->below_ms += t->frame_ms;
	if (t->below_ms < t->conf.hangover_ms)
		return CE_TALKER_NONE;
	t->active = false;
	return CE_TALKER_STOP;
}

/** Yate-comparable energy: log2 of the mean-square envelope (22..25 for a tone). */
unsigned ce_talker_energy(const struct ce_talker *t)
{
	unsigned v = t->env2 < 1.0f ? 1u : (unsigned)t->env2;

	return 31u - (unsigned)__builtin_clz(v);
}
