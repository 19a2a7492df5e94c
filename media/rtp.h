/* rtp.h - RTP (RFC 3550) packet header parsing and building, safe on hostile input */
#ifndef CE_RTP_H
#define CE_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CE_RTP_HDR_LEN 12
/* Largest datagram the media code reads; anything longer is dropped. */
#define CE_RTP_MAX_PACKET 1500

/* A parsed packet; payload points into the buffer given to ce_rtp_parse. */
struct ce_rtp_pkt {
	uint8_t pt;
	bool marker;
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	const uint8_t *payload;
	size_t len;
};

int ce_rtp_parse(struct ce_rtp_pkt *pkt, const uint8_t *buf, size_t len);
void ce_rtp_build_hdr(uint8_t hdr[CE_RTP_HDR_LEN], uint8_t pt, bool marker, uint16_t seq,
        uint32_t ts, uint32_t ssrc);

#endif
