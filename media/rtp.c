/* rtp.c - RTP (RFC 3550) packet header parsing and building, safe on hostile input
 *
 * The fixed header, then CSRCs, an optional extension and optional padding:
 *
 *   0                   1                   2                   3
 *   |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 *   |                           timestamp                           |
 *   |                             SSRC                              |
 *   |            CSRC list (CC x 32 bits), extension, payload...   |
 *
 * e.g. 80 00 12 34  00 00 0a 00  de ad be ef  <160 bytes of PCMU>
 * is version 2, PT 0, seq 0x1234, timestamp 2560, SSRC 0xdeadbeef.
 * Every length is checked before it is used; a bad packet gives -EBADMSG.
 */
#define G_LOG_DOMAIN "media"
#include <errno.h>

#include "rtp.h"

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/**
 * Parse an RTP packet of len bytes at buf into pkt.  Returns 0, or -EBADMSG
 * when the packet is not well-formed RTP version 2 (truncated header, CSRC
 * list or extension beyond the end, bad padding, RTCP payload types) or
 * -EMSGSIZE when it is longer than CE_RTP_MAX_PACKET.
 */
int ce_rtp_parse(struct ce_rtp_pkt *pkt, const uint8_t *buf, size_t len)
{
	size_t off, pad = 0;

	if (len > CE_RTP_MAX_PACKET)
		return -EMSGSIZE;
	if (len < CE_RTP_HDR_LEN || (buf[0] >> 6) != 2)
		return -EBADMSG;
	pkt->pt = buf[1] & 0x7f;
	/* RTCP multiplexed on the same port would show as PT 72..76. */
	if (pkt->pt >= 72 && pkt->pt <= 76)
		return -EBADMSG;
	pkt->marker = buf[1] >> 7;
	pkt->seq = get16(buf + 2);
	pkt->ts = get32(buf + 4);
	pkt->ssrc = get32(buf + 8);
	off = CE_RTP_HDR_LEN + 4 * (size_t)(buf[0] & 0x0f);
	if (off > len)
		return -EBADMSG;
	if (buf[0] & 0x10) {
		if (off + 4 > len)
			return -EBADMSG;
		off += 4 + 4 * (size_t)get16(buf + off + 2);
		if (off > len)
			return -EBADMSG;
	}
	if (buf[0] & 0x20) {
		pad = buf[len - 1];
		if (pad == 0 || pad > len - off)
			return -EBADMSG;
	}
	pkt->payload = buf + off;
	pkt->len = len - off - pad;
	return 0;
}

/** Write a 12-byte RTP version 2 header with no CSRC, extension or padding. */
void ce_rtp_build_hdr(uint8_t hdr[CE_RTP_HDR_LEN], uint8_t pt, bool marker, uint16_t seq,
        uint32_t ts, uint32_t ssrc)
{
	hdr[0] = 0x80;
	hdr[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
	put16(hdr + 2, seq);
	put32(hdr + 4, ts);
	put32(hdr + 8, ssrc);
}
