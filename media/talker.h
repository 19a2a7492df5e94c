/* talker.h - per-leg talker detection: adaptive noise floor, hysteresis, hangover */
#ifndef CE_TALKER_H
#define CE_TALKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Tuning; ce_talker_conf_default() gives the measured defaults (docs/media.md). */
#define CE_TALKER_WINDOW_PARTS 10
/* Longest block judged at once (20 ms at 16 kHz, for frames that do not split
 * into 10 ms blocks must not be longer). */
#define CE_TALKER_MAX_BLOCK 320
/* Input samples kept for the filters' taps into the next frame (they
 * reach five back; eight keep the copy whole 32-bit words). */
#define CE_TALKER_HIST 8

struct ce_talker_conf {
	float start_db;        /* 10 ms blocks this far above the floor start a talk... */
	unsigned start_frames; /* ...when that many come in a row */
	float burst_db;        /* one block this far above the floor starts at once */
	float stay_db;         /* a talk goes on while blocks stay this far above */
	unsigned hangover_ms;  /* and ends after this long below */
	float min_dbfs;        /* nothing quieter than this is speech */
	unsigned window_ms;    /* the floor is the quietest frame of this long... */
	unsigned settle_ms;    /* ...after this long at the start of a call */
};

enum ce_talker_ev {
	CE_TALKER_NONE = 0,
	CE_TALKER_START,
	CE_TALKER_STOP,
};

/* Bands judged separately: voiced speech (band-pass near 1.2 kHz),
 * fricatives (high-pass, mostly 2.5..4 kHz) and the low band (near 350
 * Hz: voicing and first formants); each has its own noise floor. */
enum ce_talker_band {
	CE_TALKER_VOICE = 0,
	CE_TALKER_HISS,
	CE_TALKER_LOW,
	CE_TALKER_BANDS,
};

/* One band's minimum statistics (dB); its floor derives from them. */
struct ce_talker_floor {
	float cur_min;  /* quietest block of the current part of the window */
	float past_min; /* quietest block of the finished parts */
};

/*
 * A leg's detector.  It runs for every leg every tick, and with many legs
 * its state is what the mixer waits for: everything a block reads comes
 * first, in CE_TALKER_HOT bytes (88: with the mixer's part of a leg, two
 * cache lines); what a talk reads, and the per-part minima touched every
 * window_ms / CE_TALKER_WINDOW_PARTS, last.
 */
struct ce_talker {
	const struct ce_talker_conf *conf; /* shared, outlives the detector */
	bool active;
	uint8_t sub_idx;   /* the current part of the window */
	uint16_t above;    /* blocks in a row above start_db */
	uint16_t sub_ms;   /* time in the current part of the window */
	uint16_t part_ms;  /* window_ms / CE_TALKER_WINDOW_PARTS */
	uint16_t below_ms; /* these three stop counting at UINT16_MAX */
	uint16_t talk_ms;
	uint16_t seen_ms;
	float env2;                   /* smoothed mean square of the plain signal (Yate's energy) */
	float level_db;               /* the last block's voice-band level: loudness */
	int16_t hist[CE_TALKER_HIST]; /* last input samples, for the filters */
	int32_t low_q[4];             /* the low band's eight-sample sums at the last 4 pairs */
	struct ce_talker_floor band[CE_TALKER_BANDS];
	/* cold: */
	float start_floor[CE_TALKER_BANDS]; /* the floors when the talk started */
	float sub_min[CE_TALKER_BANDS][CE_TALKER_WINDOW_PARTS]; /* each part's quietest block */
};

#define CE_TALKER_HOT offsetof(struct ce_talker, start_floor)

void ce_talker_conf_default(struct ce_talker_conf *conf);
void ce_talker_init(struct ce_talker *t, const struct ce_talker_conf *conf);
enum ce_talker_ev ce_talker_frame(
        struct ce_talker *t, const int16_t *pcm, unsigned n, unsigned rate);
enum ce_talker_ev ce_talker_silence(struct ce_talker *t, unsigned n, unsigned rate);
unsigned ce_talker_energy(const struct ce_talker *t);

/* The last block's voice-band level (dB re full scale): who is louder. */
static inline float ce_talker_level(const struct ce_talker *t)
{
	return t->level_db;
}

#endif
