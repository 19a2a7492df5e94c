/* resample.c - 8 <-> 16 <-> 48 kHz conversion at a room's edge: low-pass filters, one state per
 * stream
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

/* ---- 16 <-> 48 kHz ---- */

#define R3_C       (CE_RS3_HIST / 2)       /* 60: the centre tap */
#define R3_PH      ((CE_RS3_TAPS + 2) / 3) /* 41 taps a phase (zero-padded) */
#define R3_UP_HIST (R3_PH - 1)             /* 40 input samples at 16 kHz */
#define R3_CUT     (7600.0 / 48000.0)      /* -6 dB point, of the rate */
#define R3_BETA    7.0

/* Per up phase p the taps meeting inputs i - R3_UP_HIST .. i, oldest first:
 * ph[p][j] = 3 h[p + 3 (40 - j)]; down, the taps split by their index mod 3: dn[q][j] = h[3 j + q]
 * (zero past the last tap). */
static float r3_ph[3][R3_PH];
static float r3_dn[3][R3_PH];

static gpointer design3(gpointer unused)
{
	double h[CE_RS3_TAPS], sum = 0.0;

	(void)unused;
	for (int k = 0; k < CE_RS3_TAPS; k++) {
		double d = k - R3_C, r = d / R3_C;
		double w = bessel_i0(R3_BETA * sqrt(1.0 - r * r)) / bessel_i0(R3_BETA);
		double x = 2.0 * R3_CUT * d;

		h[k] = 2.0 * R3_CUT * (d == 0 ? 1.0 : sin(G_PI * x) / (G_PI * x)) * w;
		sum += h[k];
	}
	for (int q = 0; q < 3; q++)
		for (int j = 0; j < R3_PH; j++) {
			int k = 3 * j + q;

			r3_dn[q][j] =
			        k < CE_RS3_TAPS ? (float)(h[k] / sum) : 0.0f; /* unity at DC */
		}
	/* up: each phase sums to 1/3 of the whole, so tripled it has unity gain too */
	for (int p = 0; p < 3; p++)
		for (int j = 0; j < R3_PH; j++) {
			int k = p + 3 * (R3_PH - 1 - j);

			r3_ph[p][j] = k < CE_RS3_TAPS ? (float)(3.0 * h[k] / sum) : 0.0f;
		}
	return NULL;
}

static void taps3(void)
{
	static GOnce once = G_ONCE_INIT;

	g_once(&once, design3, NULL);
}

/*
 * out[i] (+)= sum over k < R3_PH of g[k] * x[i + k], sixteen outputs at a
 * time in four sums (two rows of eight, even and odd taps): one sum would
 * wait on its own last add at each tap.
 */
WIDE_CLONES static void dot_rows(const float *x, const float *g, float *out, size_t n, bool add)
{
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		v8sf a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0}, v;
		size_t k = 0;

		if (add) {
			LOAD8(a0, out + i);
			LOAD8(b0, out + i + 8);
		}
		for (; k + 2 <= R3_PH; k += 2) {
			LOAD8(v, x + i + k);
			a0 += g[k] * v;
			LOAD8(v, x + i + k + 1);
			a1 += g[k + 1] * v;
			LOAD8(v, x + i + 8 + k);
			b0 += g[k] * v;
			LOAD8(v, x + i + 8 + k + 1);
			b1 += g[k + 1] * v;
		}
		for (; k < R3_PH; k++) {
			LOAD8(v, x + i + k);
			a0 += g[k] * v;
			LOAD8(v, x + i + 8 + k);
			b0 += g[k] * v;
		}
		a0 += a1;
		b0 += b1;
		memcpy(out + i, &a0, sizeof(a0));
		memcpy(out + i + 8, &b0, sizeof(b0));
	}
	for (; i < n; i++) {
		float acc = add ? out[i] : 0.0f;

		for (size_t k = 0; k < R3_PH; k++)
			acc += g[k] * x[i + k];
		out[i] = acc;
	}
}

/* The last @len of (@h, then @n of @in) into @h. */
static void hist_push(int16_t *h, size_t len, const int16_t *in, size_t n)
{
	if (n >= len) {
		memcpy(h, in + n - len, len * sizeof(int16_t));
		return;
	}
	memmove(h, h + n, (len - n) * sizeof(int16_t));
	memcpy(h + len - n, in, n * sizeof(int16_t));
}

/** Start @st from silence. */
void ce_rs3_init(struct ce_rs3 *st)
{
	memset(st, 0, sizeof(*st));
}

/** Convert @n 16 kHz samples (at most 320) at @in to 3 @n at 48 kHz at @out. */
void ce_rs3_up(struct ce_rs3 *st, const int16_t *in, size_t n, int16_t *out)
{
	float b[R3_UP_HIST + 320], y[3][320];
	int16_t *h = st->hist + CE_RS3_HIST - R3_UP_HIST;

	g_return_if_fail(n <= 320);
	taps3();
	for (size_t i = 0; i < R3_UP_HIST; i++)
		b[i] = h[i];
	for (size_t i = 0; i < n; i++)
		b[R3_UP_HIST + i] = in[i];
	/* output 3i + p: phase p over inputs i - 40 .. i, which start at b[i] */
	for (int p = 0; p < 3; p++)
		dot_rows(b, r3_ph[p], y[p], n, false);
	for (size_t i = 0; i < n; i++)
		for (int p = 0; p < 3; p++)
			out[3 * i + (size_t)p] = to16(y[p][i]);
	hist_push(h, R3_UP_HIST, in, n);
}

/** Convert @n 48 kHz samples (a multiple of 3, at most 960) at @in to @n / 3 at 16 kHz. */
void ce_rs3_down(struct ce_rs3 *st, const int16_t *in, size_t n, int16_t *out)
{
	/* the input's three phases, history first: ph[q][m] = input 3 m + q (of hist, then in) */
	float ph[3][(CE_RS3_HIST + 960) / 3 + 1], y[320];
	size_t m = n / 3;

	g_return_if_fail(n <= 960 && n % 3 == 0);
	taps3();
	for (size_t i = 0; i < CE_RS3_HIST; i++)
		ph[i % 3][i / 3] = st->hist[i];
	for (size_t i = 0; i < n; i++)
		ph[(CE_RS3_HIST + i) % 3][(CE_RS3_HIST + i) / 3] = in[i];
	/* output i ends at input 3i + 2 (of the history's 120 and the frame): the taps over
	 * b[3i + 2 .. 3i + 122], symmetric, so tap k meets b[3i + 2 + k]; k = 3j + q meets
	 * b[3 (i + j) + 2 + q], phase (2 + q) mod 3 at i + j + (2 + q) / 3 */
	for (int q = 0; q < 3; q++)
		dot_rows(ph[(2 + q) % 3] + (2 + q) / 3, r3_dn[q], y, m, q > 0);
	for (size_t i = 0; i < n / 3; i++)
		out[i] = to16(y[i]);
	hist_push(st->hist, CE_RS3_HIST, in, n);
}

/** ce_rs2_keep() of a 16 <-> 48 kHz state. */
void ce_rs3_keep(struct ce_rs3 *st, const int16_t *in, size_t n, int up)
{
	size_t len = up ? R3_UP_HIST : CE_RS3_HIST;

	hist_push(st->hist + CE_RS3_HIST - len, len, in, n);
}

/* ---- any of 8, 16, 48 kHz ---- */

/** Start @st from silence. */
void ce_rs_init(struct ce_rs *st)
{
	ce_rs2_init(&st->r2);
	ce_rs3_init(&st->r3);
}

/**
 * Convert @n samples at @from Hz at @in to @to Hz at @out (8000, 16000,
 * 48000; 20 ms at most either side).  Returns the samples written (@n
 * copied when the rates are the same).
 */
size_t ce_rs_convert(
        struct ce_rs *st, unsigned from, unsigned to, const int16_t *in, size_t n, int16_t *out)
{
	int16_t mid[320];

	if (from == to) {
		memmove(out, in, n * sizeof(int16_t));
		return n;
	}
	if (from == 8000 && to == 16000) {
		ce_rs2_up(&st->r2, in, n, out);
		return 2 * n;
	}
	if (from == 16000 && to == 8000) {
		ce_rs2_down(&st->r2, in, n, out);
		return n / 2;
	}
	if (from == 16000 && to == 48000) {
		ce_rs3_up(&st->r3, in, n, out);
		return 3 * n;
	}
	if (from == 48000 && to == 16000) {
		ce_rs3_down(&st->r3, in, n, out);
		return n / 3;
	}
	if (from == 8000 && to == 48000 && n <= 160) {
		ce_rs2_up(&st->r2, in, n, mid);
		ce_rs3_up(&st->r3, mid, 2 * n, out);
		return 6 * n;
	}
	if (from == 48000 && to == 8000 && n % 6 == 0) {
		ce_rs3_down(&st->r3, in, n, mid);
		ce_rs2_down(&st->r2, mid, n / 3, out);
		return n / 6;
	}
	g_return_val_if_reached(0);
}

/**
 * Take @n samples at @from into @st as ce_rs_convert() to @to would,
 * without their output.  Through two stages (8 <-> 48) the first one
 * converts (its output is the second one's history): up, the cheap 2x
 * stage, so a quiet G.711 listener of a 48 kHz room costs a fraction of
 * converting it.
 */
void ce_rs_keep(struct ce_rs *st, unsigned from, unsigned to, const int16_t *in, size_t n)
{
	int16_t mid[320];

	if ((from == 8000 && to == 16000) || (from == 16000 && to == 8000)) {
		ce_rs2_keep(&st->r2, in, n, from < to);
	} else if ((from == 16000 && to == 48000) || (from == 48000 && to == 16000)) {
		ce_rs3_keep(&st->r3, in, n, from < to);
	} else if (from == 8000 && to == 48000 && n <= 160) {
		ce_rs2_up(&st->r2, in, n, mid);
		ce_rs3_keep(&st->r3, mid, 2 * n, 1);
	} else if (from == 48000 && to == 8000 && n % 6 == 0) {
		ce_rs3_down(&st->r3, in, n, mid);
		ce_rs2_keep(&st->r2, mid, n / 3, 0);
	}
}
