/* g722.h - G.722 (ITU-T, 64 kbit/s SB-ADPCM) wideband encoder and decoder, one state per stream */
#ifndef CE_G722_H
#define CE_G722_H

#include <stddef.h>
#include <stdint.h>

/*
 * G.722 carries 16 kHz speech (50..7,000 Hz) in 64 kbit/s: a quadrature
 * mirror filter splits every two input samples into one lower sub-band
 * sample (0..4 kHz) and one higher (4..8 kHz), each coded by its own
 * adaptive differential quantiser.  One octet comes out per two samples:
 *
 *     bit  7 6 | 5 4 3 2 1 0
 *          IH  | IL
 *
 * IH is the 2-bit higher sub-band code, IL the 6-bit lower one.  A 20 ms
 * frame is 320 samples in and 160 octets out: the RTP payload of static
 * payload type 9, whose RTP clock (and SDP rate) is 8000 for historical
 * reasons (RFC 3551, 4.5.2) while the audio is 16 kHz; Yate calls the
 * format "g722/16000".  For example silence encodes as
 * 0xfa 0xfa ...: IH 3, the smaller positive step, and IL 0x3a, the
 * positive interval whose decision levels are still 0 at the smallest
 * scale (the idle noise decodes to at most +-4).
 *
 * The decoder also takes the 56 and 48 kbit/s modes of G.722, where the
 * last one or two bits of IL carry auxiliary data and are ignored: the
 * octets are the same size, only fewer of their bits are audio.
 *
 * The states are plain structures (no allocation: the media thread owns
 * them); initialise them with ce_g722_enc_init() / ce_g722_dec_init().
 */

#define CE_G722_RTP_PT 9
/* Yate's format name. */
#define CE_G722_FORMAT "g722/16000"
#define CE_G722_RATE   16000

/* The adaptive quantiser and predictor of one sub-band (ITU-T G.722 blocks 3 and 4). */
struct ce_g722_band {
	int16_t s;    /* the predicted signal */
	int16_t sz;   /* the zero section's share of it */
	int16_t r;    /* the reconstructed signal of the last sample */
	int16_t p[2]; /* the partially reconstructed signal of the last two */
	int16_t a[2]; /* pole section coefficients */
	int16_t b[6]; /* zero section coefficients */
	int16_t d[6]; /* the last six quantised differences, newest first */
	int16_t nb;   /* log of the quantiser scale factor */
	int16_t det;  /* the quantiser scale factor */
};

/* The transmit (or receive) QMF's history: 12 pairs of samples, each kept twice
 * so that the 12 newest are always contiguous. */
struct ce_g722_qmf {
	int16_t first[24];  /* the first sample of each pair (or sum of the bands) */
	int16_t second[24]; /* the second sample of each pair (or their difference) */
	unsigned pos;       /* where the next pair goes, 0..11 */
};

struct ce_g722_enc {
	struct ce_g722_qmf qmf;
	struct ce_g722_band low, high;
	int16_t held; /* the first sample of a pair whose second has not come */
	int has_held;
};

struct ce_g722_dec {
	struct ce_g722_qmf qmf;
	struct ce_g722_band low, high;
	unsigned drop; /* auxiliary data bits at the end of IL: 0 (64k), 1 (56k), 2 (48k) */
};

void ce_g722_enc_init(struct ce_g722_enc *st);
int ce_g722_dec_init(struct ce_g722_dec *st, unsigned bitrate);
size_t ce_g722_encode(struct ce_g722_enc *st, const int16_t *pcm, size_t n, uint8_t *out);
size_t ce_g722_decode(struct ce_g722_dec *st, const uint8_t *in, size_t len, int16_t *pcm);

#endif
