/* opus.h - Opus (RFC 6716) encoder and decoder on libopus, with in-band FEC for lost packets */
#ifndef CE_OPUS_H
#define CE_OPUS_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/rtp.h"

/*
 * Opus in RTP (RFC 7587).  Whatever rate the audio has, the RTP clock is
 * 48000 (a 20 ms packet advances the timestamp by 960), and the SDP names
 * the codec with two channels even for mono, on a dynamic payload type:
 *
 *     m=audio 4000 RTP/AVP 111
 *     a=rtpmap:111 opus/48000/2
 *     a=fmtp:111 maxplaybackrate=16000;sprop-maxcapturerate=16000;stereo=0;useinbandfec=1
 *
 * The fmtp parameters are what each side would like to RECEIVE (a decoder's
 * wishes) or says of what it SENDS (the sprop- ones):
 *   useinbandfec=1       the receiver can use in-band FEC: send it
 *   maxplaybackrate=N    the receiver plays no more than N Hz: encoding a wider band is waste
 *   sprop-maxcapturerate the sender captures no more than N Hz
 *   stereo=0             the receiver wants mono (the default)
 *   ptime, maxptime      packet duration wished, and the longest it takes (ms)
 *   maxaveragebitrate    the most the receiver wants to take, bit/s
 *
 * Yate 6.4.1's SDP layer has no Opus in its payload table, so calls can
 * only carry it through ysipchan's raw SDP forwarding (docs/media.md, "Opus").
 *
 * In-band FEC: with it on, each packet of SILK or hybrid mode carries, after
 * the frame itself, a coarser copy of the PREVIOUS frame (LBRR, RFC 6716
 * 4.2.4).  When a packet is lost and the next one is there, the decoder
 * rebuilds the lost frame from that copy instead of guessing it
 * (ce_opus_decode_lost()).  The encoder spends those bits only when told
 * to expect loss (loss_pct > 0), and never in CELT-only mode.
 *
 * The states come from libopus in one block each, allocated once by
 * ce_opus_enc_new() / ce_opus_dec_new() (on the main thread, at a leg's
 * creation); encoding and decoding a frame never allocate.
 */

/* The RTP timestamp rate of Opus, whatever the audio's rate (RFC 7587, 4.1). */
#define CE_OPUS_RTP_CLOCK 48000
/* The SDP encoding name, clock and channels of a=rtpmap (RFC 7587, 7): always "/2". */
#define CE_OPUS_RTPMAP "opus/48000/2"
/* The fmtp keys we read and offer. */
#define CE_OPUS_FMTP_FEC         "useinbandfec"
#define CE_OPUS_FMTP_PLAYBACK    "maxplaybackrate"
#define CE_OPUS_FMTP_CAPTURE     "sprop-maxcapturerate"
#define CE_OPUS_FMTP_STEREO      "stereo"
#define CE_OPUS_FMTP_PTIME       "ptime"
#define CE_OPUS_FMTP_MAX_BITRATE "maxaveragebitrate"
/* The longest packet taken: what one RTP datagram the media code reads can carry. */
#define CE_OPUS_MAX_PACKET (CE_RTP_MAX_PACKET - CE_RTP_HDR_LEN)
/* The frame the engine encodes and decodes: 20 ms. */
#define CE_OPUS_FRAME_MS 20

struct ce_opus_enc;
struct ce_opus_dec;

/* An encoder's settings. */
struct ce_opus_enc_conf {
	unsigned rate;     /* audio rate: 8000, 16000 or 48000 Hz */
	int bitrate;       /* bit/s, 6000..510000; 0: libopus's own choice for VoIP at that rate */
	bool fec;          /* in-band FEC (spent only when loss_pct > 0) */
	unsigned loss_pct; /* the loss expected, 0..100 %: how much FEC to send */
	int complexity;    /* 0..10; -1: libopus's default (9 on this machine's 1.3.1) */
	/* At 48 kHz: always code the full band (20 kHz).  Left to itself, libopus's VoIP
	 * encoder narrows to 12 kHz now and then at 32 kbit/s, and what is above comes and goes. */
	bool fullband;
};

/* How ce_opus_decode_lost() made a lost frame. */
enum ce_opus_recovery {
	CE_OPUS_CONCEALED = 0, /* guessed from the past (libopus's concealment) */
	CE_OPUS_FEC,           /* rebuilt from the next packet's in-band FEC */
};

/* An fmtp line of Opus, read by ce_opus_fmtp_parse(); absent keys keep RFC 7587's defaults. */
struct ce_opus_fmtp {
	int pt;                        /* the payload type of "a=fmtp:PT", or -1 when not given */
	bool useinbandfec;             /* default false */
	bool stereo;                   /* default false */
	unsigned maxplaybackrate;      /* Hz, 8000..48000; default 48000 */
	unsigned sprop_maxcapturerate; /* Hz, 8000..48000; default 48000 */
	unsigned maxaveragebitrate;    /* bit/s, 6000..510000; 0: not given */
	unsigned ptime;                /* ms, 3..120; 0: not given */
};

int ce_opus_enc_new(struct ce_opus_enc **ep, const struct ce_opus_enc_conf *conf);
void ce_opus_enc_free(struct ce_opus_enc *e);
int ce_opus_enc_copy(struct ce_opus_enc *dst, const struct ce_opus_enc *src);
unsigned ce_opus_enc_rate(const struct ce_opus_enc *e);
int ce_opus_encode(struct ce_opus_enc *e, const int16_t *pcm, unsigned n, uint8_t *out, size_t max);

int ce_opus_dec_new(struct ce_opus_dec **dp, unsigned rate);
void ce_opus_dec_free(struct ce_opus_dec *d);
int ce_opus_decode(struct ce_opus_dec *d, const uint8_t *pkt, size_t len, int16_t *pcm, unsigned n);
int ce_opus_decode_lost(struct ce_opus_dec *d, const uint8_t *next, size_t next_len, int16_t *pcm,
        unsigned n, enum ce_opus_recovery *how);

bool ce_opus_packet_has_fec(const uint8_t *pkt, size_t len);
int ce_opus_fmtp_parse(const char *line, struct ce_opus_fmtp *f, GError **error);

#endif
