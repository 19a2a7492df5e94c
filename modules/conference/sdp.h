/* sdp.h - the phone's SDP as ysipchan forwards it raw (sdp_raw), and our answer to it
 *
 * Yate 6.4.1's own SDP layer knows no Opus: it drops a codec it cannot name
 * from formats= (libs/ysdp/parser.cpp).  With forward_sdp=yes in
 * ysipchan.conf [general], call.execute carries the phone's offer whole as
 * sdp_raw, and a call.answered (or call.update) with sdp_raw becomes the
 * 200 OK's body as it is (SDPSession::createPasstroughSDP).  This reads the
 * first audio stream of such an offer and writes the answer to it: what a
 * bypassed leg needs for codecs Yate cannot name (docs/bypass.md).
 */
#ifndef CE_CONF_SDP_H
#define CE_CONF_SDP_H

#include <stdbool.h>

#define CE_SDP_MAX_FMTS 16

/* One payload type of the offer's audio stream. */
struct ce_sdp_fmt {
	int pt;            /* 0..127 */
	char name[24];     /* encoding name as offered (PCMU, G722, opus, telephone-event) */
	unsigned rate;     /* RTP clock (8000 for G722, 48000 for opus) */
	unsigned channels; /* 1 unless said */
	char fmtp[160];    /* its a=fmtp parameters, "" if none */
};

enum ce_sdp_dir {
	CE_SDP_SENDRECV = 0,
	CE_SDP_SENDONLY,
	CE_SDP_RECVONLY,
	CE_SDP_INACTIVE,
};

/* The first audio stream of an offer. */
struct ce_sdp_offer {
	char addr[64];  /* c= address (the stream's, else the session's); "" on hold (0.0.0.0) */
	unsigned port;  /* 0: the stream is refused */
	char proto[16]; /* RTP/AVP, RTP/SAVP, ... */
	struct ce_sdp_fmt fmts[CE_SDP_MAX_FMTS];
	unsigned n_fmts; /* in the offer's order of preference */
	enum ce_sdp_dir dir;
	unsigned ptime; /* a=ptime, 0 if none */
};

int ce_sdp_parse(const char *sdp, struct ce_sdp_offer *o, const char **why);
const struct ce_sdp_fmt *ce_sdp_find(const struct ce_sdp_offer *o, const char *name, unsigned rate);
char *ce_sdp_answer(const char *addr, unsigned port, const struct ce_sdp_fmt *fmt,
        const struct ce_sdp_fmt *dtmf, const char *fmtp, enum ce_sdp_dir dir, unsigned long sess,
        unsigned ver);

#endif
