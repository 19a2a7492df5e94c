/* resample.h - 8 <-> 16 kHz conversion at a room's edge: a half-band filter, one state per stream
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

#endif
