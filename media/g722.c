/* g722.c - G.722 sub-band ADPCM at 64 kbit/s (ITU-T G.722), written from the Recommendation */
#define G_LOG_DOMAIN "media"
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <glib.h>

#include "g722.h"

/*
 * The blocks named below (QUANTL, LOGSCL, UPPOL2, ...) are those of the
 * Recommendation; the constants are its tables.  The arithmetic is its
 * 16-bit fixed point, saturating where it says so, so that two codecs
 * that follow it produce the same octets and the same samples.
 *
 * Level: 16-bit samples go into the QMF, whose sub-band outputs are kept
 * at 15 bits (the Recommendation's sub-band range) by one more bit of
 * shift than the filter's gain; the receive side gives that bit back.
 */

/* The 24 taps of the QMF, symmetric: h[n] == h[23 - n]. */
static const int16_t qmf_h[24] = {3, -11, -11, 53, 12, -156, 32, 362, -210, -805, 951, 3876, 3876,
        951, -805, -210, 362, 32, -156, 12, 53, -11, -11, 3};

/* Lower sub-band: decision levels of the 6-bit quantiser (Q6, index m = 1..29
 * bounds interval m from above; interval 30 is unbounded). */
static const int16_t q6[30] = {0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587,
        650, 714, 786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919};

/* Lower sub-band: output levels of the 6-bit inverse quantiser (QQ6), for intervals 1..30. */
static const int16_t qq6[31] = {0, 17, 54, 91, 130, 170, 211, 254, 300, 347, 396, 447, 501, 558,
        618, 682, 750, 822, 899, 982, 1072, 1170, 1279, 1399, 1535, 1689, 1873, 2088, 2376, 2738,
        3101};

/* Log scale factor steps by the magnitude class of the 4-bit code (WL), and by
 * the higher band's code being small or large (WH). */
static const int16_t wl[8] = {-60, -30, 58, 172, 334, 538, 1198, 3042};
static const int16_t wh_small = -214, wh_large = 798;

/* Higher sub-band: the decision level and the two output levels (QQ2). */
#define QH_DECISION 564
static const int16_t qq2[2] = {202, 926};

/* The inverse of the log scale: 2^(i/32), scaled (ILB). */
static const int16_t ilb[32] = {2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543,
        2599, 2656, 2714, 2774, 2834, 2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520,
        3597, 3676, 3756, 3838, 3922, 4008};

#define NB_MAX_LOW  18432
#define NB_MAX_HIGH 22528

/*
 * The lower band's inverse quantisers, built from the tables above.  A
 * 6-bit code names one of 30 intervals on either side (codes 0..3 never
 * come from an encoder and read as the smallest negative one).  The 5-bit
 * code of the 56 kbit/s mode and the 4-bit one (48 kbit/s, and always for
 * the adaptation) merge 2 or 4 neighbouring intervals and reconstruct to
 * the decision level in their middle; the 4-bit code also gives the
 * magnitude class that steps the scale factor.  Values are 8 x the table's.
 */
static int16_t level6[64], level5[32], level4[16];
static uint8_t class4[16];

/* The interval (1..30) of 6-bit code c and whether it is below zero. */
static int code_interval(unsigned c, bool *negative)
{
	if (c < 4)
		c = 63;
	*negative = c < 32 || c >= 62;
	if (c >= 62)
		return 64 - (int)c;
	return c < 32 ? 34 - (int)c : 62 - (int)c;
}

static void tables_init(void)
{
	static gsize done;

	if (!g_once_init_enter(&done))
		return;
	for (unsigned c = 0; c < 64; c++) {
		bool below;
		int m = code_interval(c, &below);

		level6[c] = (int16_t)((below ? -8 : 8) * qq6[m]);
	}
	for (unsigned c = 0; c < 32; c++) {
		/* 0 and 1 hold only invalid 6-bit codes: read as 31, like them. */
		unsigned pair = c < 2 ? 31 : c;
		bool below, below2;
		int m0 = code_interval(2 * pair, &below), m1 = code_interval(2 * pair + 1, &below2);
		int m = MAX(m0, m1);

		level5[c] = (int16_t)((below ? -8 : 8) * q6[m - 1]);
	}
	for (unsigned c = 1; c < 15; c++) {
		/* 0 holds only invalid codes and 15 straddles zero (60..63): no step. */
		bool below, below2;
		int m0 = code_interval(4 * c, &below), m3 = code_interval(4 * c + 3, &below2);
		int m = MAX(m0, m3);

		level4[c] = (int16_t)((below ? -8 : 8) * q6[m - 2]);
		class4[c] = (uint8_t)((m - 2) / 4);
	}
	g_once_init_leave(&done, 1);
}

static inline int16_t sat16(int32_t v)
{
	return (int16_t)CLAMP(v, -32768, 32767);
}

/* Whether a and b have different signs (zero counts as positive). */
static inline bool signs_differ(int a, int b)
{
	return (a < 0) != (b < 0);
}

/* LOGSCL/LOGSCH and SCALEL/SCALEH: the new log scale factor from the leaky
 * old one and the step w, and the scale factor from it; base is 8 for the
 * lower band, 10 for the higher. */
static void scale_adapt(struct ce_g722_band *b, int w, int nb_max, int base)
{
	int nb = ((b->nb * 127) >> 7) + w;
	int shift, det;

	nb = CLAMP(nb, 0, nb_max);
	b->nb = (int16_t)nb;
	shift = (nb >> 11) - base;
	det = ilb[(nb >> 6) & 31];
	det = shift >= 0 ? det << shift : det >> -shift;
	b->det = (int16_t)(det * 4);
}

/* Block 4: reconstruct, adapt the two-pole, six-zero predictor to the
 * quantised difference d, and predict the next sample (s, sz). */
static void predict(struct ce_g722_band *b, int16_t d)
{
	int16_t r = sat16(b->s + d);  /* RECONS */
	int16_t p = sat16(b->sz + d); /* PARREC */
	int a1 = b->a[0], a2 = b->a[1];
	int f, a2n, a1n, lim, sp, sz = 0, g;

	/* UPPOL2 */
	f = sat16(a1 * 4);
	f = signs_differ(p, b->p[0]) ? f : -f;
	f = MIN(f, 32767);
	a2n = (signs_differ(p, b->p[1]) ? -128 : 128) + (f >> 7) + ((a2 * 32512) >> 15);
	a2n = CLAMP(a2n, -12288, 12288);
	/* UPPOL1 */
	a1n = sat16((signs_differ(p, b->p[0]) ? -192 : 192) + ((a1 * 32640) >> 15));
	lim = sat16(15360 - a2n);
	a1n = CLAMP(a1n, -lim, lim);
	/* FILTEP */
	sp = sat16(((a1n * sat16(2 * r)) >> 15) + ((a2n * sat16(2 * b->r)) >> 15));
	b->r = r;
	b->a[0] = (int16_t)a1n;
	b->a[1] = (int16_t)a2n;
	b->p[1] = b->p[0];
	b->p[0] = p;

	/* UPZERO (the leak keeps |b| <= 32640, so +-128 cannot overflow),
	 * DELAYA and FILTEZ on the history with d in it */
	g = d == 0 ? 0 : 128;
	for (int i = 5; i >= 0; i--) {
		int16_t older = i ? b->d[i - 1] : d;

		b->b[i] =
		        (int16_t)((signs_differ(b->d[i], d) ? -g : g) + ((b->b[i] * 32640) >> 15));
		b->d[i] = older;
		sz += (b->b[i] * sat16(2 * older)) >> 15;
	}
	b->sz = sat16(sz);
	/* PREDIC */
	b->s = sat16(sp + b->sz);
}

/* INVQAL, LOGSCL, SCALEL and block 4 for the lower band's 4-bit code. */
static void low_adapt(struct ce_g722_band *b, unsigned code4)
{
	int16_t d = (int16_t)((b->det * level4[code4]) >> 15);

	scale_adapt(b, wl[class4[code4]], NB_MAX_LOW, 8);
	predict(b, d);
}

/* INVQAH, LOGSCH, SCALEH and block 4 for the higher band's code:
 * 0 and 1 are below zero, 0 and 2 the large steps. */
static int16_t high_adapt(struct ce_g722_band *b, unsigned code)
{
	int level = (code & 1) ? qq2[0] * 8 : qq2[1] * 8;
	int16_t d = (int16_t)((b->det * (code < 2 ? -level : level)) >> 15);

	scale_adapt(b, (code & 1) ? wh_small : wh_large, NB_MAX_HIGH, 10);
	predict(b, d);
	return d;
}

/* QUANTL: the 6-bit code of the lower band's sample x. */
static unsigned quantise_low(const struct ce_g722_band *b, int x)
{
	int e = sat16(x - b->s);
	int mag = e >= 0 ? e : -e - 1;
	int lo = 1, hi = 30;

	/* The first interval m whose upper decision level is above mag (30: none). */
	while (lo < hi) {
		int m = (lo + hi) / 2;

		if (mag < ((q6[m] * b->det) >> 12))
			hi = m;
		else
			lo = m + 1;
	}
	if (e >= 0)
		return (unsigned)(62 - lo);
	return lo <= 2 ? (unsigned)(64 - lo) : (unsigned)(34 - lo);
}

/* QUANTH: the 2-bit code of the higher band's sample x. */
static unsigned quantise_high(const struct ce_g722_band *b, int x)
{
	int e = sat16(x - b->s);
	int mag = e >= 0 ? e : -e - 1;
	bool large = mag >= ((QH_DECISION * b->det) >> 12);

	return e < 0 ? (large ? 0 : 1) : (large ? 2 : 3);
}

static void band_init(struct ce_g722_band *b, int16_t det)
{
	memset(b, 0, sizeof(*b));
	b->det = det;
}

/* Put one pair into the QMF history; the 12 newest pairs are then
 * first[pos .. pos + 11], oldest first (pos after the step). */
static void qmf_push(struct ce_g722_qmf *q, int16_t first, int16_t second)
{
	q->first[q->pos] = q->first[q->pos + 12] = first;
	q->second[q->pos] = q->second[q->pos + 12] = second;
	q->pos = q->pos == 11 ? 0 : q->pos + 1;
}

/*
 * The two filter outputs on the history: the odd taps on the second samples
 * (sum_odd) and the even taps on the first ones (sum_even), oldest first.
 * The Recommendation sums newest first, h(0) on the newest sample; h being
 * symmetric, tap 2t from the newest second sample is tap 2t + 1 from the
 * oldest, so these are its two sums.  Encoding, the lower band is their sum
 * and the higher their difference; decoding, the history holds rL + rH as
 * first and rL - rH as second samples, and the sums are the two outputs.
 */
static void qmf_sums(const struct ce_g722_qmf *q, int32_t *sum_odd, int32_t *sum_even)
{
	const int16_t *first = q->first + q->pos, *second = q->second + q->pos;
	int32_t o = 0, e = 0;

	for (int t = 0; t < 12; t++) {
		o += second[t] * qmf_h[2 * t + 1];
		e += first[t] * qmf_h[2 * t];
	}
	*sum_odd = o;
	*sum_even = e;
}

/** Initialise an encoder state (64 kbit/s). */
void ce_g722_enc_init(struct ce_g722_enc *st)
{
	tables_init();
	memset(st, 0, sizeof(*st));
	band_init(&st->low, 32);
	band_init(&st->high, 8);
}

/**
 * Initialise a decoder state for bitrate 64000, 56000 or 48000 (the octets
 * are always 8 bits; the lower 0, 1 or 2 bits of the low band code are
 * auxiliary data).  Returns 0, or -EINVAL for another bitrate.
 */
int ce_g722_dec_init(struct ce_g722_dec *st, unsigned bitrate)
{
	tables_init();
	memset(st, 0, sizeof(*st));
	band_init(&st->low, 32);
	band_init(&st->high, 8);
	switch (bitrate) {
	case 64000:
		return 0;
	case 56000:
		st->drop = 1;
		return 0;
	case 48000:
		st->drop = 2;
		return 0;
	default:
		return -EINVAL;
	}
}

static uint8_t encode_pair(struct ce_g722_enc *st, int16_t first, int16_t second)
{
	int32_t sum_odd, sum_even;
	unsigned il, ih;

	qmf_push(&st->qmf, first, second);
	qmf_sums(&st->qmf, &sum_odd, &sum_even);
	il = quantise_low(&st->low, (sum_odd + sum_even) >> 14);
	low_adapt(&st->low, il >> 2);
	ih = quantise_high(&st->high, (sum_odd - sum_even) >> 14);
	high_adapt(&st->high, ih);
	return (uint8_t)(ih << 6 | il);
}

/**
 * Encode n samples of 16 kHz audio to out, one octet per two samples, and
 * return the number of octets written (at most (n + 1) / 2).  A sample
 * left over from an odd n waits in the state for the next call.
 */
size_t ce_g722_encode(struct ce_g722_enc *st, const int16_t *pcm, size_t n, uint8_t *out)
{
	size_t i = 0, k = 0;

	if (st->has_held && n > 0) {
		out[k++] = encode_pair(st, st->held, pcm[0]);
		st->has_held = 0;
		i = 1;
	}
	for (; i + 2 <= n; i += 2)
		out[k++] = encode_pair(st, pcm[i], pcm[i + 1]);
	if (i < n) {
		st->held = pcm[i];
		st->has_held = 1;
	}
	return k;
}

/**
 * Decode len octets to pcm, two 16 kHz samples per octet; returns the
 * number of samples written (2 * len).  Any octets are valid input.
 */
size_t ce_g722_decode(struct ce_g722_dec *st, const uint8_t *in, size_t len, int16_t *pcm)
{
	const int16_t *levels = st->drop == 0 ? level6 : st->drop == 1 ? level5 : level4;

	for (size_t k = 0; k < len; k++) {
		unsigned il = in[k] & 0x3f, ih = in[k] >> 6;
		int rl, rh;
		int32_t sum_odd, sum_even;

		rl = st->low.s + ((st->low.det * levels[il >> st->drop]) >> 15);
		rl = CLAMP(rl, -16384, 16383);
		low_adapt(&st->low, il >> 2);
		rh = st->high.s;
		rh += high_adapt(&st->high, ih);
		rh = CLAMP(rh, -16384, 16383);
		qmf_push(&st->qmf, (int16_t)(rl + rh), (int16_t)(rl - rh));
		qmf_sums(&st->qmf, &sum_odd, &sum_even);
		pcm[2 * k] = sat16(sum_odd >> 11);
		pcm[2 * k + 1] = sat16(sum_even >> 11);
	}
	return 2 * len;
}
