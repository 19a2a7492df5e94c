/* tone.h - Yate's tone/ names (dial, busy, ring, DTMF, ...) as cadences, and their synthesis */
#ifndef CE_TONE_H
#define CE_TONE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * A tone is a cadence: segments of one or two sine waves (or silence),
 * repeated until the tone's duration is over.  Names follow Yate's tonegen
 * (its default "itu" set), without the "tone/" prefix:
 *
 *   dial (dt)        425 Hz continuous
 *   busy (bs)        425 Hz, 500 ms on, 500 ms off
 *   ring (rt)        425 Hz, 1 s on, 4 s off
 *   specdial (sd)    425 Hz, 950 ms on, 50 ms off
 *   congestion (cg)  425 Hz, 250 ms on, 250 ms off
 *   outoforder (oo)  425 Hz, 3 x (100 ms on, 100 ms off), 200 ms on, 200 ms off
 *   info (in)        950, 1400, 1800 Hz, 330 ms each with 30 ms gaps, 1 s off
 *   milliwatt (mw)   1000 Hz continuous at 0 dBm0
 *   silence          nothing
 *   dtmf/D, D        one DTMF digit (0-9 * # a-d): 40 ms off, 120 ms on, 40 ms off
 *   dtmfstr/DIGITS   those digits one after the other, each as above
 *
 * The natural length of a DTMF tone is its cadence, played once; the other
 * tones have none (they repeat until stopped or their duration is over).
 */

#define CE_TONE_MAX_DIGITS 32
#define CE_TONE_MAX_SEGS   (3 * CE_TONE_MAX_DIGITS) /* gap, pair, gap per digit */

struct ce_tone_seg {
	uint16_t f1, f2; /* Hz, 0 for none (both 0: silence) */
	uint16_t ms;
	uint16_t amp; /* peak of each component */
};

struct ce_tone {
	char name[48];     /* canonical name, "busy", "dtmfstr/123" */
	bool dtmf;         /* natural length: one pass of the cadence */
	unsigned cycle_ms; /* one pass of the cadence */
	unsigned n;
	struct ce_tone_seg seg[CE_TONE_MAX_SEGS];
};

/* A generator of a tone at a rate, for a number of samples. */
struct ce_tone_gen {
	const struct ce_tone *t;
	unsigned rate;
	unsigned seg;     /* current segment */
	uint64_t seg_pos; /* samples into it */
	uint64_t left;    /* samples still to produce */
	double ph1, ph2;  /* phases of the segment's components, in cycles */
};

int ce_tone_parse(struct ce_tone *t, const char *name);
void ce_tone_gen_init(
        struct ce_tone_gen *g, const struct ce_tone *t, unsigned rate, unsigned duration_ms);
unsigned ce_tone_gen_run(struct ce_tone_gen *g, int16_t *pcm, unsigned n);

#endif
