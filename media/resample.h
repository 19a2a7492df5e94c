/* resample.h - 8 <-> 16 <-> 48 kHz conversion at a room's edge: low-pass filters, one state per
 * stream
 */
#ifndef CE_RESAMPLE_H
#define CE_RESAMPLE_H

#include <stddef.h>
#include <stdint.h>

/*
 * A wideband room (16 kHz) hears a narrowband leg (G.711, 8 kHz) through
 * ce_rs2_up(), and a narrowband listener hears the room through
 * ce_rs2_down(); a narrowband room does the reverse for a wideband leg.
 * Both use one linear-phase half-band low-pass of CE_RS2_TAPS taps cut
 * at 4 kHz (test-resample measures its response), and every other tap is
 * zero, so a sample costs 15 multiply-adds.  The delay is
 * (CE_RS2_TAPS - 1) / 2 samples at 16 kHz (1.8 ms) either way.
 *
 * A state is a plain structure: it carries the history across frames, so
 * that consecutive frames convert exactly as one long signal would, and
 * it can be copied (a talker's own stream starts as a copy of the shared
 * one).  Zeroed, or after ce_rs2_init(), it starts from silence.
 */
#define CE_RS2_TAPS 59
#define CE_RS2_HIST (CE_RS2_TAPS - 1) /* input samples a state keeps */

struct ce_rs2 {
	int16_t hist[CE_RS2_HIST]; /* the last input samples, oldest first */
};

void ce_rs2_init(struct ce_rs2 *st);
/* n samples at 8 kHz in (at most 480), 2n at 16 kHz out. */
void ce_rs2_up(struct ce_rs2 *st, const int16_t *in, size_t n, int16_t *out);
/* n samples at 16 kHz in (n even, at most 960), n / 2 at 8 kHz out. */
void ce_rs2_down(struct ce_rs2 *st, const int16_t *in, size_t n, int16_t *out);
/* Take n samples into st without converting them (@up: a state of ce_rs2_up), so that the
 * next frame converts as if these had been: a few copies, for a stream heard only now and then. */
void ce_rs2_keep(struct ce_rs2 *st, const int16_t *in, size_t n, int up);

/*
 * 16 <-> 48 kHz (a 48 kHz room and its G.722 legs, or an 8 or 16 kHz
 * listener of it): one linear-phase low-pass of CE_RS3_TAPS taps at
 * 48 kHz, a Kaiser-windowed sinc cut at 7.6 kHz (-6 dB), flat within
 * 0.1 dB to 6 kHz and over 60 dB down from 9 kHz (test-wideband measures
 * it).  Up, the input with two zeros after each sample is filtered and
 * tripled: each output phase meets a third of the taps (41), so an output
 * costs 41 multiply-adds; down, one output in three is computed (121).
 * The delay is (CE_RS3_TAPS - 1) / 2 samples at 48 kHz (1.25 ms).
 */
#define CE_RS3_TAPS 121
#define CE_RS3_HIST (CE_RS3_TAPS - 1) /* input samples a state keeps (down; up keeps 40) */

struct ce_rs3 {
	int16_t hist[CE_RS3_HIST]; /* the last input samples, oldest first */
};

void ce_rs3_init(struct ce_rs3 *st);
/* n samples at 16 kHz in (at most 320), 3n at 48 kHz out. */
void ce_rs3_up(struct ce_rs3 *st, const int16_t *in, size_t n, int16_t *out);
/* n samples at 48 kHz in (n a multiple of 3, at most 960), n / 3 at 16 kHz out. */
void ce_rs3_down(struct ce_rs3 *st, const int16_t *in, size_t n, int16_t *out);
/* ce_rs2_keep() of a ce_rs3 state. */
void ce_rs3_keep(struct ce_rs3 *st, const int16_t *in, size_t n, int up);

/*
 * Any of 8000, 16000 and 48000 Hz to any other, 20 ms frames (at most 960
 * samples either side): 8 <-> 16 through a ce_rs2, 16 <-> 48 through a
 * ce_rs3, 8 <-> 48 through both in a row (8 -> 16 -> 48 up, 48 -> 16 -> 8
 * down: each stage's low-pass is the anti-alias filter of its own rate).
 * One state per stream and direction, as above; it can be copied.
 */
struct ce_rs {
	struct ce_rs2 r2;
	struct ce_rs3 r3;
};

void ce_rs_init(struct ce_rs *st);
/* @n samples at @from Hz to @to Hz; returns the samples written to @out (n * to / from). */
size_t ce_rs_convert(
        struct ce_rs *st, unsigned from, unsigned to, const int16_t *in, size_t n, int16_t *out);
/* Take @n samples at @from into @st as ce_rs_convert to @to would, converting as little as
 * it can (a stream heard only now and then): the next frame converts the same. */
void ce_rs_keep(struct ce_rs *st, unsigned from, unsigned to, const int16_t *in, size_t n);

#endif
