/* talker.c - per-leg talker detection: adaptive noise floor, hysteresis, hangover
 *
 * Frames are judged in blocks of 10 ms, in three bands, each with its own
 * noise floor.  The voice band is the mean square, in dB, of the signal
 * through a short band-pass FIR, (1 + z^-1)^4 (1 - z^-1) / 8: it has zeros
 * at 0 Hz and at 4 kHz and its peak near 1.2 kHz, so it drops rumble, hum
 * and hiss, which carry much energy and no speech.  The hiss band,
 * (1 - z^-1)^2 / 4, rises to 4 kHz: it catches the fricatives that begin
 * many words ("s", "sh", "f", "th"), which stay under the noise in the
 * voice band for their first 50..100 ms.  The low band is the difference
 * of two successive sums of eight samples, taken at every pair of samples:
 * pair sums x[2k] + x[2k+1] (4 kHz) through (1 + z^-1 + z^-2 + z^-3)
 * (1 - z^-4), which passes about 170..560 Hz.  It hears voicing and the
 * first formants ("z", "y", "th" in "this") that the voice band misses in
 * white noise, where little of the noise is that low.  All three filters
 * vectorise and share the taps of one pass.
 *
 * A band's noise floor is its quietest block of the last window_ms
 * (minimum statistics over ten parts of the window), so it follows the
 * noise up and down; during a talk it is held at its value from the
 * talk's start (it may still fall) unless the talk has gone on for a whole
 * window, which is then taken as a new, louder noise: a steady tone stops
 * being a talk after window_ms + hangover_ms (docs/media.md says why; the
 * mixer still hears it while it is audible, mixer.c).
 * A block is as far above the floor as its highest band, each with its
 * credit (the narrower a band, the more its noise spreads, the less).  A
 * talk starts when start_frames blocks in a row are start_db above the
 * floor, or one block burst_db above it; it goes on while blocks stay
 * stay_db above and ends hangover_ms after the last one.  Nothing is decided in the first
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
#include <glib.h>

#include "talker.h"
#include "vec.h"

#define NO_LEVEL 1000.0f

static const struct ce_talker_conf defaults = {
        .start_db = 6.0f,
        .start_frames = 2,
        .burst_db = 12.0f,
        .stay_db = 6.0f,
        .hangover_ms = 400,
        .min_dbfs = -58.0f,
        .window_ms = 2000,
        .settle_ms = 100,
};

/** Fill conf with the defaults. */
void ce_talker_conf_default(struct ce_talker_conf *conf)
{
	*conf = defaults;
}

/**
 * Initialise t with conf (NULL: defaults), which must outlive t: many legs
 * share one.  A window shorter than CE_TALKER_WINDOW_PARTS * 20 ms, or
 * longer than a minute, is taken as that long.
 */
void ce_talker_init(struct ce_talker *t, const struct ce_talker_conf *conf)
{
	memset(t, 0, sizeof(*t));
	t->conf = conf ? conf : &defaults;
	/* At most a minute's window, which talk_ms (16 bits) can still reach. */
	t->part_ms = (uint16_t)CLAMP(t->conf->window_ms / CE_TALKER_WINDOW_PARTS, 20u, 6000u);
	t->env2 = 256.0f;
	t->level_db = -NO_LEVEL;
	for (int b = 0; b < CE_TALKER_BANDS; b++) {
		t->band[b].cur_min = NO_LEVEL;
		t->band[b].past_min = NO_LEVEL;
		for (int i = 0; i < CE_TALKER_WINDOW_PARTS; i++)
			t->sub_min[b][i] = NO_LEVEL;
	}
}

/* Add ms to a counter that stops at UINT16_MAX. */
static uint16_t add_ms(uint16_t c, unsigned ms)
{
	return (uint16_t)MIN((unsigned)c + ms, UINT16_MAX);
}

/* The fricative band: (1 - z^-1)^2, zero at 0 Hz, peak (gain 4) at 4 kHz. */
#define HISS(a0, a1, a2) (-2 * (a1) + (a0) + (a2))
#define HISS_GAIN        16.0f
/* The hiss band is wider, so its noise spreads less around its floor: it
 * may start a talk this much closer to the floor (measured: 0.5..1.5 dB
 * start no talk on the noise of either set, 2 dB do). */
#define HISS_BONUS_DB 1.0f
/* The low band is narrower, so its noise spreads more: it must be this
 * much further above its floor.  On the committed set any credit from -8
 * to -3 dB hears the voiced onsets earlier and -2 starts talks on the
 * noise; -5 is the middle (docs/media.md). */
#define LOW_BONUS_DB -5.0f
/* Its filter's gain: a difference of two sums of eight samples. */
#define LOW_GAIN 64.0f

static float min2(float a, float b)
{
	return a < b ? a : b;
}

/* The sum of a vector's lanes, halving the vector each step. */
static inline float hsum8(v8sf v)
{
	v4sf q = __builtin_shufflevector(v, v, 0, 1, 2, 3) +
	         __builtin_shufflevector(v, v, 4, 5, 6, 7);

	q += __builtin_shufflevector(q, q, 2, 3, 0, 1);
	q += __builtin_shufflevector(q, q, 1, 0, 3, 2);
	return q[0];
}

/* Sixteen samples held as little-endian 32-bit words, w, as two vectors of
 * sign-extended 32-bit lanes: *e the even ones, *o the odd ones. */
#define SPLIT16(e, o, w)                                                                           \
	do {                                                                                       \
		(e) = (v8si)((v8su)(w) << 16) >> 16;                                               \
		(o) = (w) >> 16;                                                                   \
	} while (0)

struct sums {
	v8sf plain, voice, hiss, low;
};

/* One filter output per lane from its six taps p0 = x[n] .. p5 = x[n-5]. */
#define VOICE(p0, p1, p2, p3, p4, p5) ((p0) - (p5) + 3 * ((p1) - (p4)) + 2 * ((p2) - (p3)))

/*
 * Add the squares of the plain, voice-band, hiss-band and low-band signal
 * at sixteen samples x[0..15], given as 32-bit words: w0 holds x[0..15], w2
 * x[-2..13], w4 x[-4..11], w6 x[-6..9] (the filters reach six back).  Read
 * as little-endian words, 16-bit samples come apart into the even and the
 * odd ones with two shifts, which gives every tap: no widening shuffles.
 * *q holds, in lanes 4..7, the low band's sums of x[n-6..n+1] of the four
 * pairs before these and gets those of the last four of these.
 */
static inline void step16(struct sums *acc, v8si w0, v8si w2, v8si w4, v8si w6, v8si *q)
{
	v8si e0, o0, e1, o1, e2, o2, e3, o3, sum8;
	v8sf f;

	SPLIT16(e0, o0, w0); /* x[n], x[n+1] for n = 0, 2, ... 14 */
	SPLIT16(e1, o1, w2); /* x[n-2], x[n-1] */
	SPLIT16(e2, o2, w4); /* x[n-4], x[n-3] */
	SPLIT16(e3, o3, w6); /* x[n-6], x[n-5] */
	/* Low band: x[n-6..n+1] less the same four pairs earlier. */
	sum8 = (e0 + o0) + (e1 + o1) + (e2 + o2) + (e3 + o3);
	f = __builtin_convertvector(
	        sum8 - __builtin_shufflevector(*q, sum8, 4, 5, 6, 7, 8, 9, 10, 11), v8sf);
	acc->low += f * f;
	*q = sum8;
	/* even n: taps e0 o1 e1 o2 e2 o3; odd n + 1: o0 e0 o1 e1 o2 e2 */
	f = __builtin_convertvector(e0, v8sf);
	acc->plain += f * f;
	f = __builtin_convertvector(o0, v8sf);
	acc->plain += f * f;
	f = __builtin_convertvector(VOICE(e0, o1, e1, o2, e2, o3), v8sf);
	acc->voice += f * f;
	f = __builtin_convertvector(VOICE(o0, e0, o1, e1, o2, e2), v8sf);
	acc->voice += f * f;
	f = __builtin_convertvector(HISS(e0, o1, e1), v8sf);
	acc->hiss += f * f;
	f = __builtin_convertvector(HISS(o0, e0, o1), v8sf);
	acc->hiss += f * f;
}

/* step16 on p[0..15], reading p[-6..-1] for the taps. */
static inline void step16_at(struct sums *acc, const int16_t *p, v8si *q)
{
	v8si w0, w2, w4, w6;

	LOAD8(w0, p);
	LOAD8(w2, p - 2);
	LOAD8(w4, p - 4);
	LOAD8(w6, p - 6);
	step16(acc, w0, w2, w4, w6, q);
}

/* The low band's output at a pair, from x8 = x[n-6..n+1], in what a
 * block leaves after its multiples of sixteen: q[0..3], the sums of the
 * last four pairs, oldest first, move on by one. */
static float low_pair(int32_t *q, const int32_t *x8)
{
	int32_t sum8 = 0;
	float y;

	for (int k = 0; k < 8; k++)
		sum8 += x8[k];
	y = (float)(sum8 - q[0]);
	memmove(q, q + 1, 3 * sizeof(*q));
	q[3] = sum8;
	return y;
}

/*
 * Mean squares of the band-passed (*bp), the hiss-band (*hp), the low-band
 * (*lp) and of the plain signal (return).  This runs for every leg every
 * tick, so it is the mixer's largest per-listener cost.  Sixteen samples at a time with GCC
 * vector extensions; the first sixteen, whose taps reach back into the
 * previous block, from a copy behind the kept history, and what does not
 * fill sixteen at the end one by one.  (Widening the block into a 32-bit
 * scratch array and reading the taps back at odd offsets stalled on every
 * read: a load that straddles two recent stores cannot be forwarded.)
 */
static inline __attribute__((always_inline)) float measure(struct ce_talker *t, const int16_t *pcm,
        unsigned n, bool back, float *bp, float *hp, float *lp)
{
	struct sums acc = {{0}, {0}, {0}, {0}};
	float sum = 0.0f, sum_bp = 0.0f, sum_hp = 0.0f, sum_lp = 0.0f;
	unsigned i = 0;
	v8si lq = {0};

	memcpy((int32_t *)&lq + 4, t->low_q, sizeof(t->low_q));
	if (n >= 16) {
		if (back) {
			step16_at(&acc, pcm, &lq);
		} else {
			/* The taps before pcm[0] from the kept history, shifted
			 * in by whole words: nothing goes through memory. */
			v4si q;
			v8si h, w;

			memcpy(&q, t->hist, sizeof(q));
			h = __builtin_shufflevector(q, q, 0, 1, 2, 3, 0, 1, 2, 3);
			LOAD8(w, pcm);
			step16(&acc, w, __builtin_shufflevector(h, w, 7, 8, 9, 10, 11, 12, 13, 14),
			        __builtin_shufflevector(h, w, 6, 7, 8, 9, 10, 11, 12, 13),
			        __builtin_shufflevector(h, w, 5, 6, 7, 8, 9, 10, 11, 12), &lq);
		}
		for (i = 16; i + 16 <= n; i += 16)
			step16_at(&acc, pcm + i, &lq);
		sum = hsum8(acc.plain);
		sum_bp = hsum8(acc.voice);
		sum_hp = hsum8(acc.hiss);
		sum_lp = hsum8(acc.low);
	}
	memcpy(t->low_q, (int32_t *)&lq + 4, sizeof(t->low_q));
	for (; i < n; i++) {
		int32_t p[7], x8[8];

		for (int k = 0; k < 7; k++) /* p[k] = x[i - k] */
			p[k] = (int)i >= k ? pcm[(int)i - k] : t->hist[CE_TALKER_HIST + (int)i - k];
		float y = (float)VOICE(p[0], p[1], p[2], p[3], p[4], p[5]);
		float h = (float)HISS(p[0], p[1], p[2]);

		sum += (float)p[0] * (float)p[0];
		sum_bp += y * y;
		sum_hp += h * h;
		if (i % 2 == 0 && i + 1 < n) {
			for (int k = 0; k < 7; k++)
				x8[6 - k] = p[k];
			x8[7] = pcm[i + 1];
			y = low_pair(t->low_q, x8);
			sum_lp += y * y;
		}
	}
	if (n >= CE_TALKER_HIST) {
		memcpy(t->hist, pcm + n - CE_TALKER_HIST, sizeof(t->hist));
	} else {
		memmove(t->hist, t->hist + n, (CE_TALKER_HIST - n) * sizeof(*pcm));
		memcpy(t->hist + CE_TALKER_HIST - n, pcm, n * sizeof(*pcm));
	}
	*bp = sum_bp / (float)n / 64.0f;
	*hp = sum_hp / (float)n / HISS_GAIN;
	*lp = sum_lp / (float)MAX(n / 2, 1u) / LOW_GAIN;
	return sum / (float)n;
}

/* Blocks measured in one go: a 20 ms frame's two. */
#define BLOCKS_AT_ONCE 2

/* A block's mean squares: the plain signal, the voice, hiss and low band. */
struct levels {
	float plain, voice, hiss, low;
};

/* measure() on each block of blk samples of a frame of n, all before any
 * is judged: one call for the frame, and the blocks' sums independent. */
WIDE_CLONES static void measure_frame(
        struct ce_talker *t, const int16_t *pcm, unsigned n, unsigned blk, struct levels *lv)
{
	for (unsigned off = 0, b = 0; off < n; off += blk, b++)
		lv[b].plain =
		        measure(t, pcm + off, blk, off > 0, &lv[b].voice, &lv[b].hiss, &lv[b].low);
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

static void track_min(struct ce_talker *t, unsigned ms, const float *level)
{
	bool next;

	t->sub_ms = (uint16_t)(t->sub_ms + ms);
	next = t->sub_ms >= t->part_ms;
	for (int b = 0; b < CE_TALKER_BANDS; b++) {
		struct ce_talker_floor *f = &t->band[b];

		f->cur_min = min2(f->cur_min, level[b]);
		if (!next)
			continue;
		t->sub_min[b][t->sub_idx] = f->cur_min;
		f->cur_min = NO_LEVEL;
		f->past_min = low_min(t->sub_min[b]);
	}
	if (!next)
		return;
	t->sub_idx = (uint8_t)((t->sub_idx + 1) % CE_TALKER_WINDOW_PARTS);
	t->sub_ms = 0;
}

/* A band's noise floor: the window's minimum, but during a talk (until it
 * has lasted a whole window) no higher than at the talk's start. */
static float floor_of(const struct ce_talker *t, int b)
{
	float m = window_min(&t->band[b]);

	if (!t->active || t->talk_ms >= t->part_ms * CE_TALKER_WINDOW_PARTS)
		return m;
	return min2(t->start_floor[b], m);
}

/* How far the block of levels level[] is above the noise floor: the
 * largest of the bands, each with its credit. */
static float above_floor(const struct ce_talker *t, const float *level)
{
	static const float credit[CE_TALKER_BANDS] = {
	        [CE_TALKER_VOICE] = 0.0f,
	        [CE_TALKER_HISS] = HISS_BONUS_DB,
	        [CE_TALKER_LOW] = LOW_BONUS_DB,
	};
	float a = level[0] - floor_of(t, 0);

	for (int b = 1; b < CE_TALKER_BANDS; b++) {
		float x = level[b] - floor_of(t, b) + credit[b];

		a = x > a ? x : a;
	}
	return a;
}

/* Judge a block of ms after its levels and the floors. */
static enum ce_talker_ev decide(struct ce_talker *t, unsigned ms, const float *level)
{
	float above = above_floor(t, level);
	bool loud = false;

	for (int b = 0; b < CE_TALKER_BANDS; b++)
		loud |= level[b] >= t->conf->min_dbfs;
	t->above = (loud && above >= t->conf->start_db) ? (uint16_t)MIN(t->above + 1, 1000) : 0;
	if (!t->active) {
		if (t->above >= t->conf->start_frames || (loud && above >= t->conf->burst_db)) {
			for (int b = 0; b < CE_TALKER_BANDS; b++)
				t->start_floor[b] = floor_of(t, b);
			t->active = true;
			t->below_ms = 0;
			t->talk_ms = 0;
			return CE_TALKER_START;
		}
		return CE_TALKER_NONE;
	}
	t->talk_ms = add_ms(t->talk_ms, ms);
	if (loud && above >= t->conf->stay_db) {
		t->below_ms = 0;
		return CE_TALKER_NONE;
	}
	t->below_ms = add_ms(t->below_ms, ms);
	if (t->below_ms < t->conf->hangover_ms)
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

/* Judge one block, of levels lv, lasting block_ms. */
static enum ce_talker_ev block(struct ce_talker *t, const struct levels *lv, unsigned block_ms)
{
	enum ce_talker_ev ev = CE_TALKER_NONE;
	float level[CE_TALKER_BANDS];

	level[CE_TALKER_VOICE] = to_db(lv->voice);
	level[CE_TALKER_HISS] = to_db(lv->hiss);
	level[CE_TALKER_LOW] = to_db(lv->low);
	t->level_db = level[CE_TALKER_VOICE];
	if (t->seen_ms >= t->conf->settle_ms)
		ev = decide(t, block_ms, level);
	else
		t->seen_ms = add_ms(t->seen_ms, block_ms);
	track_min(t, block_ms, level);
	return ev;
}

/* Whether the len samples at pcm, and the taps kept from before them, are
 * all zero: digital silence after digital silence (a muted phone, G.711's
 * silence byte), whose levels are all exactly zero without measuring. */
static inline __attribute__((always_inline)) bool all_zero(
        const struct ce_talker *t, const int16_t *pcm, unsigned len)
{
	int16_t any = 0;
	int32_t q = 0;

	for (unsigned i = 0; i < len; i++)
		any |= pcm[i];
	for (unsigned i = 0; i < CE_TALKER_HIST; i++)
		any |= t->hist[i];
	for (unsigned i = 0; i < G_N_ELEMENTS(t->low_q); i++)
		q |= t->low_q[i];
	return any == 0 && q == 0;
}

/* The frame of n samples in blocks of blk lasting blk_ms: with constants
 * for the usual frames, the divisions and loop bounds fold away. */
static inline __attribute__((always_inline)) enum ce_talker_ev frame_blocks(
        struct ce_talker *t, const int16_t *pcm, unsigned n, unsigned blk, unsigned blk_ms)
{
	enum ce_talker_ev ev = CE_TALKER_NONE;
	struct levels lv[BLOCKS_AT_ONCE];
	float sum = 0.0f;

	for (unsigned off = 0; off < n; off += BLOCKS_AT_ONCE * blk) {
		unsigned len = MIN(n - off, BLOCKS_AT_ONCE * blk);

		/* Two thirds of a conference's legs are often silent: a frame of
		 * zeros after zeros measures zero in every band and leaves the
		 * filters' history as it was (zeros), so measuring it is skipped. */
		if (all_zero(t, pcm + off, len))
			memset(lv, 0, sizeof(lv));
		else
			measure_frame(t, pcm + off, len, blk, lv);
		for (unsigned b = 0; b < len / blk; b++) {
			enum ce_talker_ev e = block(t, &lv[b], blk_ms);

			sum += lv[b].plain * (float)blk;
			if (e != CE_TALKER_NONE)
				ev = ev == CE_TALKER_NONE ? e : CE_TALKER_NONE;
		}
	}
	envelope(t, sum / (float)n);
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
	unsigned blk = rate / 100;

	if (n == 0 || rate == 0)
		return CE_TALKER_NONE;
	if (rate == 8000 && n == 160)
		return frame_blocks(t, pcm, 160, 80, 10);
	if (blk == 0 || n % blk != 0 || blk > CE_TALKER_MAX_BLOCK)
		blk = n;
	if (blk > CE_TALKER_MAX_BLOCK)
		return CE_TALKER_NONE;
	return frame_blocks(t, pcm, n, blk, blk * 1000 / rate);
}

/** A frame of n samples with nothing received: counts as silence. */
enum ce_talker_ev ce_talker_silence(struct ce_talker *t, unsigned n, unsigned rate)
{
	unsigned ms;

	if (n == 0 || rate == 0)
		return CE_TALKER_NONE;
	ms = n * 1000 / rate;
	t->above = 0;
	envelope(t, 0.0f);
	if (!t->active)
		return CE_TALKER_NONE;
	t->talk_ms = add_ms(t->talk_ms, ms);
	t->below_ms = add_ms(t->below_ms, ms);
	if (t->below_ms < t->conf->hangover_ms)
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
