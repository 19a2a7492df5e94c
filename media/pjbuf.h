/* pjbuf.h - jitter buffer for a stream of whole packets (Opus): by timestamp, a lost one's next for
 * FEC */
#ifndef CE_PJBUF_H
#define CE_PJBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtp.h"

/*
 * The G.711/G.722 jitter buffer (jbuf.h) keeps a byte per RTP timestamp
 * unit; an Opus packet is a whole that only its decoder can cut, of any
 * size for its 20 ms (960 units at Opus's RTP clock of 48000).  This one
 * keeps whole packets in slots by frame (timestamp / frame), plays them a
 * fixed number of frames behind the newest one received, and for a frame
 * that never came hands out the packet after it, whose in-band FEC may
 * rebuild it (ce_opus_decode_lost).  Plain structure, no allocation per
 * packet: the owner allocates it once (40 KB), off the media thread.
 */
#define CE_PJBUF_SLOTS   32 /* 640 ms of 20 ms frames */
#define CE_PJBUF_MAX_PKT (CE_RTP_MAX_PACKET - CE_RTP_HDR_LEN)

struct ce_pjbuf_stats {
	uint64_t packets; /* taken */
	uint64_t late;    /* came after their frame was played, dropped */
	uint64_t dups;    /* a frame already held */
	uint64_t resyncs; /* new SSRC or a timestamp jump: started again */
	uint64_t lost;    /* frames played without their packet */
	uint64_t too_big; /* longer than CE_PJBUF_MAX_PKT, dropped */
};

/* What ce_pjbuf_pull found for the next frame. */
enum ce_pjbuf_out {
	CE_PJBUF_PACKET = 0, /* its packet: decode it */
	CE_PJBUF_LOST,       /* none: conceal, or rebuild from *next (if any) */
	CE_PJBUF_EMPTY,      /* nothing to play: no stream, or not started yet */
};

struct ce_pjbuf_slot {
	bool present;
	uint32_t ts;
	uint16_t len;
	uint8_t data[CE_PJBUF_MAX_PKT];
};

struct ce_pjbuf {
	unsigned frame; /* timestamp units per frame (960 for 20 ms of Opus) */
	unsigned delay; /* frames held behind the newest before playing */
	bool started;
	uint32_t ssrc;
	unsigned head;     /* the slot of play_ts */
	uint32_t play_ts;  /* the next frame's timestamp */
	uint32_t first_ts; /* the stream's first packet: nothing before it is a loss */
	bool preroll;      /* play_ts has not reached first_ts yet */
	uint32_t max_ts;   /* the newest frame's timestamp + frame */
	struct ce_pjbuf_stats st;
	struct ce_pjbuf_slot slot[CE_PJBUF_SLOTS];
};

void ce_pjbuf_init(struct ce_pjbuf *jb, unsigned frame, unsigned delay);
int ce_pjbuf_put(struct ce_pjbuf *jb, uint32_t ssrc, uint32_t ts, const uint8_t *pkt, size_t len);
enum ce_pjbuf_out ce_pjbuf_pull(struct ce_pjbuf *jb, const uint8_t **pkt, size_t *len,
        const uint8_t **next, size_t *next_len);

#endif
