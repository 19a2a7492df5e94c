/* fuzz-rtp.c - libFuzzer target: hostile datagrams through RTP parsing into a jitter buffer */
/*
 * The input is a stream of datagrams, each a 2-byte big-endian length and
 * that many bytes (a short tail is one more datagram).  Each is parsed;
 * a parsed payload must lie inside its datagram.  Packets with a PCMU or
 * PCMA payload type go into that codec's jitter buffer at an arrival time
 * the input moves on, and a 20 ms frame is pulled every few packets, as
 * the media thread does.  Sanitizers report any bad access; a broken
 * invariant aborts.  test-rtp replays the corpus and random streams.
 */
#define G_LOG_DOMAIN "fuzz-rtp"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "media/jbuf.h"
#include "media/rtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ce_jbuf jb[2];
	int16_t out[CE_JBUF_MAX_FRAME];
	uint32_t arrival = 0;
	unsigned count = 0;

	ce_jbuf_init(&jb[0], CE_CODEC_PCMU, 160, 1600);
	ce_jbuf_init(&jb[1], CE_CODEC_PCMA, 160, 1600);
	while (size > 0) {
		size_t len = size >= 2 ? (size_t)(data[0] << 8 | data[1]) : size;
		const uint8_t *p = size >= 2 ? data + 2 : data;
		size_t avail = size >= 2 ? size - 2 : size;
		uint8_t *copy;
		struct ce_rtp_pkt pkt;

		len = MIN(len, avail);
		/* An exact-size copy, so that ASan sees any read past the datagram. */
		copy = g_malloc(len ? len : 1);
		memcpy(copy, p, len);
		if (ce_rtp_parse(&pkt, copy, len) == 0) {
			check(pkt.payload >= copy && pkt.payload + pkt.len <= copy + len);
			if (pkt.pt == 0 || pkt.pt == 8)
				ce_jbuf_put(&jb[pkt.pt == 8], pkt.ssrc, pkt.ts, pkt.payload,
				        pkt.len, arrival);
		}
		g_free(copy);
		arrival += len % 7 * 40;
		if (++count % 3 == 0) {
			for (int k = 0; k < 2; k++) {
				enum ce_jbuf_out r = ce_jbuf_pull(&jb[k], out, 160);

				check(r == CE_JBUF_AUDIO || r == CE_JBUF_CONCEALED ||
				        r == CE_JBUF_SILENCE);
				check(ce_jbuf_level(&jb[k]) <= CE_JBUF_RING);
			}
		}
		data = p + len;
		size = avail - len;
	}
	return 0;
}
