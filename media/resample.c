/* resample.c - 8 <-> 16 kHz conversion at a room's edge: a half-band filter, one state per stream
 *
 * The filter h[k], k = 0..CE_RS2_TAPS-1, centred on C = (CE_RS2_TAPS-1)/2,
 * is the ideal half-band low-pass 0.5 * sinc((k - C) / 2) under a Kaiser
 * window (beta 8, about 80 dB of stopband).  Its taps at even distances
 * from the centre are zero and the centre is 1/2, so only the odd
 * distances d = 1, 3, .., C are stored, once each (the filter is
 * symmetric): g[d / 2].
 *
 * Down (16 -> 8 kHz): each output is the filter over the input ending at
 * the second sample of its pair; the history is the last CE_RS2_HIST
 * input samples.
 * Up (8 -> 16 kHz): the input with a zero after every sample, filtered and
 * doubled; a zero-stuffed signal meets only the even taps (the centre) at
 * one phase and only the odd ones at the other.  The history is the last
 * C input samples at 8 kHz (kept at the end of hist[]).
 */
#include <math.h>
#include <string.h>
#include <glib.h>

#include "resample.h"
#include "vec.h"

#define CENTRE  (CE_RS2_HIST / 2)  /* 29 */
#define NG      ((CENTRE + 1) / 2) /* 15 odd distances: 1, 3, .., 29 */
#define UP_HIST CENTRE             /* 29 input samples at 8 kHz */
#define BETA    8.0

static float g_taps[NG];

/* The zeroth-order modified Bessel function of the first kind, by its series. */
static double bessel_i0(double x)
{
	double sum = 1.0, term = 1.0;

	for (int k = 1; k < 50 && term > 1e-12 * sum; k++) {
		term *= (x / (2.0 * k)) * (x / (2.0 * k));
		sum += term;
	}
	return sum;
}

static gpointer design(gpointer unused)
{
	double sum = 0.0;

	(void)unused;
	for (int j = 0; j < NG; j++) {
		int d = 2 * j + 1;
		double r = (double)d / CENTRE;
		double w = bessel_i0(BETA * sqrt(1.0 - r * r)) / bessel_i0(BETA);
		double h = sin(G_PI * d / 2.0) / (G_PI * d) * w;

		g_taps[j] = (float)h;
		sum += 2.0 * h;
	}
	/* Unity gain at DC: the odd taps sum to 1/2 with the centre's 1/2. */
	for (int j = 0; j < NG; j++)
		g_taps[j] = (float)(g_taps[j] * 0.5 / sum);
	return NULL;
}

static const float *taps(void)
{
	static GOnce once = G_ONCE_INIT;

	g_once(&once, design, NULL);
	return g_taps;
}

static inline int16_t to16(float v)
{
	v += v >= 0.0f ? 0.5f : -0.5f;
	return (int16_t)(v > 32767.0f ? 32767 : v < -32767.0f ? -32767 : (int)v);
}

/** Start @st from silence. */
void ce_rs2_init(struct ce_rs2 *st)
{
	memset(st, 0, sizeof(*st));
}

/*
 * Both directions come down to one loop over outputs: out[j] = c * a[j] +
 * sum over k of g[k] * (b[j + k] + b[j - 1 - k]), with a and b float
 * copies of the input's even and odd phases (down) or of the input itself
 * (up), laid out so that the outputs' inputs are contiguous: eight outputs
 * at a time are then plain vector loads.
 */
WIDE_CLONES static void fir(
        const float *a, float c, const float *b, const float *g, float *out, size_t n)
{
	size_t j = 0;

	for (; j + 8 <= n; j += 8) {
		v8sf acc, x, y;

		LOAD8(acc, a + j);
		acc *= c;
		for (int k = 0; k < NG; k++) {
			LOAD8(x, b + j + k);
			LOAD8(y, b + j - 1 - k);
			acc += g[k] * (x + y);
		}
		memcpy(out + j, &acc, sizeof(acc));
	}
	for (; j < n; j++) {
		float acc = c * a[j];

		for (int k = 0; k < NG; k++)
			acc += g[k] * (b[j + k] + b[j - 1 - (ptrdiff_t)k]);
		out[j] = acc;
	}
}

/** Convert @n 16 kHz samples (@n even, at most 960) at @in to @n / 2 at 8 kHz at @out. */
void ce_rs2_down(struct ce_rs2 *st, const int16_t *in, size_t n, int16_t *out)
{
	const float *g = taps();
	/* the input's even and odd samples, history first */
	float even[(CE_RS2_HIST + 960) / 2], odd[(CE_RS2_HIST + 960) / 2], y[480];

	g_return_if_fail(n <= 960 && n % 2 == 0);
	for (size_t m = 0; m < CE_RS2_HIST / 2; m++) {
		even[m] = st->hist[2 * m];
		odd[m] = st->hist[2 * m + 1];
	}
	for (size_t m = 0; m < n / 2; m++) {
		even[CE_RS2_HIST / 2 + m] = in[2 * m];
		odd[CE_RS2_HIST / 2 + m] = in[2 * m + 1];
	}
	/* output j centres on input HIST + 2j + 1 - CENTRE = 2 (j + 15): even[j + 15],
	 * its odd taps at odd[j + 15 + k] and odd[j + 14 - k] */
	fir(even + (CE_RS2_HIST - CENTRE + 1) / 2, 0.5f, odd + (CE_RS2_HIST - CENTRE + 1) / 2, g, y,
	        n / 2);
	for (size_t j = 0; j < n / 2; j++)
		out[j] = to16(y[j]);
	/* the last HIST input samples */
	if (n >= CE_RS2_HIST) {
		memcpy(st->hist, in + n - CE_RS2_HIST, sizeof(st->hist));
	} else {
		memmove(st->hist, st->hist + n, (CE_RS2_HIST - n) * sizeof(int16_t));
		memcpy(st->hist + CE_RS2_HIST - n, in, n * sizeof(int16_t));
	}
}

/**
 * Take @n samples at @in into @st as ce_rs2_up (@up) or ce_rs2_down would,
 * without computing their output: the history only.
 */
void ce_rs2_keep(struct ce_rs2 *st, const int16_t *in, size_t n, int up)
{
	size_t len = up ? UP_HIST : CE_RS2_HIST;
	int16_t *h = st->hist + CE_RS2_HIST - len;

	if (n >= len) {
		memcpy(h, in + n - len, len * sizeof(int16_t));
		return;
	}
	memmove(h, h + n, (len - n) * sizeof(int16_t));
	memcpy(h + len - n, in, n * sizeof(int16_t));
}

/** Convert @n 8 kHz samples (at most 480) at @in to 2 @n at 16 kHz at @out. */
void ce_rs2_up(struct ce_rs2 *st, const int16_t *in, size_t n, int16_t *out)
{
	static const float zero[480];
	const float *g = taps();
	float b[UP_HIST + 480], y[480];
	int16_t *h = st->hist + CE_RS2_HIST - UP_HIST;

	g_return_if_fail(n <= 480);
	for (size_t i = 0; i < UP_HIST; i++)
		b[i] = h[i];
	for (size_t i = 0; i < n; i++)
		b[UP_HIST + i] = in[i];
	/* even output 2i: the odd taps meet inputs i - 14 + k and i - 15 - k (doubled, as the
	 * zeros between the inputs halve the level); odd output 2i + 1: the centre, input i - 14 */
	fir(zero, 0.0f, b + UP_HIST - CENTRE / 2, g, y, n);
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = to16(2.0f * y[i]);
		out[2 * i + 1] = (int16_t)b[UP_HIST + i - (CENTRE - 1) / 2];
	}
	if (n >= UP_HIST) {
		memcpy(h, in + n - UP_HIST, UP_HIST * sizeof(int16_t));
	} else {
		memmove(h, h + n, (UP_HIST - n) * sizeof(int16_t));
		memcpy(h + UP_HIST - n, in, n * sizeof(int16_t));
	}
}
