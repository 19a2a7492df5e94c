/* jbuf.h - adaptive jitter buffer for one G.711 or G.722 RTP stream, with loss concealment */
#ifndef CE_JBUF_H
#define CE_JBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "g711.h"
#include "g722.h"

/*
 * The ring holds 512 ms at the RTP clock of 8 kHz, a byte per timestamp
 * unit, indexed by RTP timestamp: a G.711 sample, or a G.722 octet (two
 * samples at 16 kHz).  Every count below (delays, frames, statistics) is
 * in timestamp units; a pull of n units gives n << ce_codec_ts_shift()
 * samples.
 */
#define CE_JBUF_RING 4096
#define CE_JBUF_HIST 640 /* 40 ms at 16 kHz */
/* Longest frame pulled at once (40 ms at 8 kHz). */
#define CE_JBUF_MAX_FRAME 320

struct ce_jbuf_stats {
	uint64_t packets;   /* accepted into the buffer */
	uint64_t late;      /* arrived after their play time, dropped */
	uint64_t dups;      /* every sample already present */
	uint64_t resyncs;   /* stream restarts: new SSRC or timestamp jump */
	uint64_t concealed; /* samples made up by loss concealment */
	uint64_t dropped;   /* samples skipped to cut excess delay (clock skew) */
	uint64_t stalls;    /* pulls whose frame had not (all) come: the play point waited */
	unsigned jitter;    /* RFC 3550 interarrival jitter, samples */
	unsigned target;    /* current target delay, samples */
};

/* What a pull produced. */
enum ce_jbuf_out {
	CE_JBUF_AUDIO = 0, /* received audio (maybe partly concealed) */
	CE_JBUF_CONCEALED, /* made up entirely by loss concealment */
	CE_JBUF_SILENCE,   /* nothing to play: no stream yet or concealment ran out */
};

/* Loss concealment: repeat the last pitch period, fading out over 60 ms. */
struct ce_plc {
	int16_t hist[CE_JBUF_HIST]; /* the last samples played, a ring */
	unsigned hpos;              /* where the next sample goes */
	unsigned period;            /* pitch period in samples while concealing */
	unsigned phase;
	unsigned run;     /* samples concealed in a row */
	unsigned fade_in; /* samples left to cross-fade after a loss */
	uint8_t shift;    /* 0: 8 kHz, 1: 16 kHz */
};

/* Everything is inline so that a leg carries its buffer without allocation. */
struct ce_jbuf {
	enum ce_codec codec;
	bool started;
	bool preroll; /* before the first packet's time: play silence */
	bool waited;  /* the last pull waited for the rest of a frame */
	uint32_t first_ts;
	uint32_t ssrc;
	uint32_t play_ts; /* timestamp of the next sample to play */
	uint32_t max_ts;  /* one past the newest sample received */
	unsigned min_delay, max_delay;
	unsigned target;   /* target delay in samples */
	unsigned peak;     /* delay that late packets asked for, decaying */
	unsigned pkt_max;  /* longest packet of the stream, samples */
	unsigned floor;    /* least target the caller asks for now (ce_jbuf_set_floor) */
	int32_t excess_q4; /* smoothed delay above target, samples * 16 */
	uint32_t jitter_q4;
	int64_t last_transit;
	struct ce_jbuf_stats st;
	unsigned shift;          /* ce_codec_ts_shift(codec) */
	struct ce_g722_dec g722; /* G.722's decoder, whose state runs on from packet to packet */
	struct ce_plc plc;
	uint64_t present[CE_JBUF_RING / 64];
	uint8_t data[CE_JBUF_RING];
};

void ce_jbuf_init(struct ce_jbuf *jb, enum ce_codec codec, unsigned min_delay, unsigned max_delay);
void ce_jbuf_reset(struct ce_jbuf *jb);
void ce_jbuf_set_codec(struct ce_jbuf *jb, enum ce_codec codec);
int ce_jbuf_put(struct ce_jbuf *jb, uint32_t ssrc, uint32_t ts, const uint8_t *payload, size_t len,
        uint32_t arrival);
enum ce_jbuf_out ce_jbuf_pull(struct ce_jbuf *jb, int16_t *out, unsigned n);
unsigned ce_jbuf_level(const struct ce_jbuf *jb);
void ce_jbuf_set_floor(struct ce_jbuf *jb, unsigned samples);

void ce_plc_reset(struct ce_plc *plc);
void ce_plc_set_rate(struct ce_plc *plc, unsigned shift);
void ce_plc_conceal(struct ce_plc *plc, int16_t *out, unsigned n);
void ce_plc_good(struct ce_plc *plc, int16_t *frame, unsigned n);

#endif
