/* g711.h - G.711 mu-law and A-law conversion and the codecs the media core knows */
#ifndef CE_G711_H
#define CE_G711_H

#include <stddef.h>
#include <stdint.h>

/*
 * The codecs a leg can use.  PCMU and PCMA are G.711 at 8 kHz (RTP payload
 * types 0 and 8); L16 is host-order 16-bit linear at the room rate, used for
 * prompts, recorders and the tests (it is exact, so mixes can be compared);
 * G722 is wideband, 16 kHz (payload type 9, RTP clock 8000: g722.h).
 * G.722 keeps state from frame to frame, so the stateless functions below
 * do not take it: its streams go through g722.h with a state each (the
 * mixer's struct ce_mix_enc, the jitter buffer's decoder).
 * OPUS runs at 16 kHz like G.722 (RTP clock 48000, a dynamic payload type,
 * packets of any size): its streams go through opus.h with a state each,
 * its packets through a jitter buffer of whole packets (pjbuf.h).
 */
enum ce_codec {
	CE_CODEC_PCMU = 0,
	CE_CODEC_PCMA,
	CE_CODEC_L16,
	CE_CODEC_G722,
	CE_CODEC_OPUS,
	CE_CODEC_COUNT,
};

uint8_t ce_g711_ulaw_encode(int16_t s);
int16_t ce_g711_ulaw_decode(uint8_t u);
uint8_t ce_g711_alaw_encode(int16_t s);
int16_t ce_g711_alaw_decode(uint8_t a);
/* From the other G.711 law to @to's (PCMU or PCMA), byte for byte; ce_g711_laws_init() first. */
void ce_g711_laws_init(void);
const uint8_t *ce_g711_law_table(enum ce_codec to);

/* The codec's sample rate: 8000 or 16000; 0 for L16, which runs at its room's rate. */
static inline unsigned ce_codec_rate(enum ce_codec codec)
{
	if (codec == CE_CODEC_L16)
		return 0;
	return codec == CE_CODEC_G722 || codec == CE_CODEC_OPUS ? 16000 : 8000;
}
/* Whether a codec keeps state between frames (G.722, Opus): one stream, one state. */
static inline int ce_codec_stateful(enum ce_codec codec)
{
	return codec == CE_CODEC_G722 || codec == CE_CODEC_OPUS;
}
/* RTP timestamp units of a 20 ms frame of @codec holding @samples samples. */
static inline unsigned ce_codec_frame_units(enum ce_codec codec, unsigned samples)
{
	return codec == CE_CODEC_OPUS ? 960 : codec == CE_CODEC_G722 ? samples >> 1 : samples;
}
/* RTP timestamp units per sample: 1, but 1/2 for G.722 (clock 8000, audio 16 kHz): the shift. */
static inline unsigned ce_codec_ts_shift(enum ce_codec codec)
{
	return codec == CE_CODEC_G722 ? 1 : 0;
}
/* Encoded size in bytes of n samples (at the codec's rate); Opus: 0 (each packet its own). */
size_t ce_codec_bytes(enum ce_codec codec, size_t n);
/* Encode n samples to out (ce_codec_bytes(codec, n) bytes); stateless codecs only. */
void ce_codec_encode(enum ce_codec codec, const int16_t *in, uint8_t *out, size_t n);
/* Encode sum[i] - minus[i] (minus may be NULL), clipped to [-32767, 32767]. */
void ce_codec_encode_mix(
        enum ce_codec codec, const int32_t *sum, const int16_t *minus, uint8_t *out, size_t n);
/* Decode n samples (from ce_codec_bytes(codec, n) bytes) to out; stateless codecs only. */
void ce_codec_decode(enum ce_codec codec, const uint8_t *in, int16_t *out, size_t n);
/* The encoding of a silent sample (a G.711 byte), used to fill silence. */
uint8_t ce_codec_silence_byte(enum ce_codec codec);
/* Static RTP payload type of a codec, or -1 when it has none. */
int ce_codec_rtp_pt(enum ce_codec codec);
/* Codec from a Yate "format" name (mulaw, alaw, slin, g722/16000 or g722, opus); -EINVAL if
 * unknown.  Yate 6.4.1 has no Opus: "opus" is the engine's name, met only in raw SDP. */
int ce_codec_from_name(const char *name, enum ce_codec *codec);
/* Yate's format name of a codec. */
const char *ce_codec_name(enum ce_codec codec);

#endif
