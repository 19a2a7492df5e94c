/* opus.c - Opus encoder and decoder states on libopus, FEC recovery of lost packets, fmtp lines */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <opus.h>

#include "media/opus.h"

/* Samples of one SILK frame at 48 kHz (20 ms): a 40 or 60 ms Opus frame holds two or three. */
#define SILK_FRAME_48K 960

/* The libopus state follows the wrapper in the same block, so that one
 * memcpy() copies an encoder whole (libopus keeps offsets, not pointers,
 * between its parts). */
struct ce_opus_enc {
	unsigned rate;
	size_t size; /* of the whole block */
	_Alignas(max_align_t) unsigned char st[];
};

struct ce_opus_dec {
	unsigned rate;
	bool last_celt; /* the last packet decoded was CELT-only: libopus then conceals, never FEC
	                 */
	_Alignas(max_align_t) unsigned char st[];
};

/* libopus's error codes as negative errnos. */
static int errno_of(int err)
{
	switch (err) {
	case OPUS_BAD_ARG:
		return -EINVAL;
	case OPUS_BUFFER_TOO_SMALL:
		return -ENOBUFS;
	case OPUS_INVALID_PACKET:
		return -EBADMSG;
	case OPUS_UNIMPLEMENTED:
		return -ENOTSUP;
	case OPUS_ALLOC_FAIL:
		return -ENOMEM;
	default: /* OPUS_INTERNAL_ERROR, OPUS_INVALID_STATE */
		return -EIO;
	}
}

static bool rate_ok(unsigned rate)
{
	return rate == 8000 || rate == 16000 || rate == 48000;
}

static OpusEncoder *enc_st(struct ce_opus_enc *e)
{
	return (OpusEncoder *)e->st;
}

static OpusDecoder *dec_st(struct ce_opus_dec *d)
{
	return (OpusDecoder *)d->st;
}

static bool enc_conf_ok(const struct ce_opus_enc_conf *c)
{
	return rate_ok(c->rate) &&
	       (c->bitrate == 0 || (c->bitrate >= 6000 && c->bitrate <= 510000)) &&
	       c->loss_pct <= 100 && c->complexity >= -1 && c->complexity <= 10;
}

/* The settings of conf on a fresh libopus encoder. */
static int enc_apply(OpusEncoder *st, const struct ce_opus_enc_conf *c)
{
	int err = opus_encoder_ctl(st, OPUS_SET_BITRATE(c->bitrate ? c->bitrate : OPUS_AUTO));

	if (err == OPUS_OK)
		err = opus_encoder_ctl(st, OPUS_SET_INBAND_FEC(c->fec ? 1 : 0));
	if (err == OPUS_OK)
		err = opus_encoder_ctl(st, OPUS_SET_PACKET_LOSS_PERC((int)c->loss_pct));
	if (err == OPUS_OK && c->complexity >= 0)
		err = opus_encoder_ctl(st, OPUS_SET_COMPLEXITY(c->complexity));
	if (err == OPUS_OK && c->fullband && c->rate == 48000)
		err = opus_encoder_ctl(st, OPUS_SET_BANDWIDTH(OPUS_BANDWIDTH_FULLBAND));
	return err;
}

/**
 * Creates a mono VoIP encoder (OPUS_APPLICATION_VOIP) as @conf says, in
 * *@ep (the caller frees it with ce_opus_enc_free()).  Returns 0, -EINVAL
 * for settings out of their ranges (struct ce_opus_enc_conf), or another
 * negative errno from libopus.
 */
int ce_opus_enc_new(struct ce_opus_enc **ep, const struct ce_opus_enc_conf *conf)
{
	size_t size = sizeof(struct ce_opus_enc) + (size_t)opus_encoder_get_size(1);
	struct ce_opus_enc *e = NULL;
	int err = -EINVAL;

	*ep = NULL;
	if (!enc_conf_ok(conf))
		goto out;
	e = g_malloc0(size);
	e->rate = conf->rate;
	e->size = size;
	err = opus_encoder_init(enc_st(e), (opus_int32)conf->rate, 1, OPUS_APPLICATION_VOIP);
	if (err == OPUS_OK)
		err = enc_apply(enc_st(e), conf);
	err = err == OPUS_OK ? 0 : errno_of(err);
out:
	if (err)
		g_free(e);
	else
		*ep = e;
	return err;
}

/** Frees an encoder of ce_opus_enc_new(); NULL is fine. */
void ce_opus_enc_free(struct ce_opus_enc *e)
{
	g_free(e);
}

/**
 * Makes @dst a copy of @src, settings and history: what @dst encodes next
 * is bit for bit what @src would have (a talker's own encoder taking over
 * from the listeners' shared one, so that its listener's decoder hears one
 * continuous stream).  No allocation.  Returns 0, or -EINVAL when the two
 * were not made the same size (never for two encoders of this file).
 */
int ce_opus_enc_copy(struct ce_opus_enc *dst, const struct ce_opus_enc *src)
{
	if (dst->size != src->size)
		return -EINVAL;
	if (dst != src)
		memcpy(dst, src, src->size);
	return 0;
}

/** The audio rate of an encoder, Hz. */
unsigned ce_opus_enc_rate(const struct ce_opus_enc *e)
{
	return e->rate;
}

/**
 * Encodes @n samples of @pcm (a duration Opus has: 2.5, 5, 10, 20, 40 or
 * 60 ms at the encoder's rate; the engine uses 20 ms) into @out, of @max
 * bytes (CE_OPUS_MAX_PACKET is always enough; libopus squeezes the packet
 * into less, down to a 1-byte one that says the frame was not coded).
 * Returns the packet's length, -EINVAL for a bad @n or no room, or another
 * negative errno.
 */
int ce_opus_encode(struct ce_opus_enc *e, const int16_t *pcm, unsigned n, uint8_t *out, size_t max)
{
	int r;

	if (n == 0 || n > e->rate / 1000 * 60 || max == 0)
		return -EINVAL;
	r = opus_encode(enc_st(e), pcm, (int)n, out, (opus_int32)MIN(max, (size_t)INT32_MAX));
	return r < 0 ? errno_of(r) : r;
}

/**
 * Creates a mono decoder producing @rate Hz (8000, 16000 or 48000) in
 * *@dp (freed with ce_opus_dec_free()).  Returns 0, -EINVAL for another
 * rate, or another negative errno from libopus.
 */
int ce_opus_dec_new(struct ce_opus_dec **dp, unsigned rate)
{
	struct ce_opus_dec *d = NULL;
	int err = -EINVAL;

	*dp = NULL;
	if (!rate_ok(rate))
		goto out;
	d = g_malloc0(sizeof(*d) + (size_t)opus_decoder_get_size(1));
	d->rate = rate;
	err = opus_decoder_init(dec_st(d), (opus_int32)rate, 1);
	err = err == OPUS_OK ? 0 : errno_of(err);
out:
	if (err)
		g_free(d);
	else
		*dp = d;
	return err;
}

/** Frees a decoder of ce_opus_dec_new(); NULL is fine. */
void ce_opus_dec_free(struct ce_opus_dec *d)
{
	g_free(d);
}

/* RFC 6716 3.1: configurations 16..31 of the TOC byte are CELT-only. */
static bool toc_celt(uint8_t toc)
{
	return (toc >> 3) >= 16;
}

/* Checks a packet's size and framing (RFC 6716 3.4) before libopus decodes it. */
static int packet_check(const uint8_t *pkt, size_t len)
{
	if (!pkt || len == 0)
		return -EINVAL;
	if (len > CE_OPUS_MAX_PACKET)
		return -EMSGSIZE;
	if (opus_packet_parse(pkt, (opus_int32)len, NULL, NULL, (opus_int16[48]){0}, NULL) < 0)
		return -EBADMSG;
	return 0;
}

/**
 * Decodes the packet @pkt of @len bytes into @pcm, room for @n samples.
 * Returns the samples decoded (the packet's duration: 20 ms is rate / 50),
 * or without touching the decoder: -EINVAL (no packet: a lost one goes to
 * ce_opus_decode_lost()), -EMSGSIZE (longer than an RTP datagram, or more
 * audio than @n), -EBADMSG (not a valid Opus packet).
 */
int ce_opus_decode(struct ce_opus_dec *d, const uint8_t *pkt, size_t len, int16_t *pcm, unsigned n)
{
	int r = packet_check(pkt, len);

	if (r < 0)
		return r;
	r = opus_decoder_get_nb_samples(dec_st(d), pkt, (opus_int32)len);
	if (r < 0)
		return errno_of(r);
	if ((unsigned)r > n)
		return -EMSGSIZE;
	r = opus_decode(dec_st(d), pkt, (opus_int32)len, pcm, (int)n, 0);
	if (r < 0)
		return errno_of(r);
	d->last_celt = toc_celt(pkt[0]);
	return r;
}

/**
 * Whether the Opus packet @pkt carries in-band FEC for the frame before it:
 * the LBRR flag of its first frame's SILK layer (RFC 6716 4.2.3: the first
 * bits of a SILK or hybrid frame are one VAD flag per 20 ms SILK frame,
 * then the LBRR flag, for the mid channel, and again for the side channel
 * of a stereo one; being the range coder's first symbols of probability
 * one half, they are the first byte's high bits).
 */
bool ce_opus_packet_has_fec(const uint8_t *pkt, size_t len)
{
	const unsigned char *frames[48];
	opus_int16 sizes[48];
	unsigned silk, mid, side;
	int spf;

	if (!pkt || len < 2 || len > CE_OPUS_MAX_PACKET || toc_celt(pkt[0]))
		return false;
	if (opus_packet_parse(pkt, (opus_int32)len, NULL, frames, sizes, NULL) < 1 || sizes[0] < 1)
		return false;
	spf = opus_packet_get_samples_per_frame(pkt, 48000);
	silk = spf > SILK_FRAME_48K ? (unsigned)spf / SILK_FRAME_48K : 1;
	mid = (frames[0][0] >> (7 - silk)) & 1;
	side = opus_packet_get_nb_channels(pkt) == 2 ? (frames[0][0] >> (6 - 2 * silk)) & 1 : 0;
	return mid || side;
}

/**
 * Makes @n samples (the lost packet's duration, 20 ms) for a packet that
 * never came, into @pcm.  When @next (the packet after it, @next_len
 * bytes) is given and carries in-band FEC the decoder can use, the frame is
 * rebuilt from it and *@how says CE_OPUS_FEC; otherwise libopus conceals it
 * from the past (CE_OPUS_CONCEALED).  @next itself still has to be decoded
 * with ce_opus_decode() afterwards.  @how may be NULL.  Returns @n, or a
 * negative errno (-EINVAL for an @n that is not a whole number of 2.5 ms);
 * an unusable @next is not an error: the frame is concealed.
 */
int ce_opus_decode_lost(struct ce_opus_dec *d, const uint8_t *next, size_t next_len, int16_t *pcm,
        unsigned n, enum ce_opus_recovery *how)
{
	unsigned spf;
	bool fec = false;
	int r;

	if (n == 0 || n % (d->rate / 400) != 0 || n > d->rate / 1000 * 120)
		return -EINVAL;
	/* libopus itself falls back to concealment in these cases; checking
	 * them here is what tells the caller which one it got. */
	if (!d->last_celt && ce_opus_packet_has_fec(next, next_len)) {
		spf = (unsigned)opus_packet_get_samples_per_frame(next, (opus_int32)d->rate);
		fec = spf <= n;
	}
	if (fec)
		r = opus_decode(dec_st(d), next, (opus_int32)next_len, pcm, (int)n, 1);
	else
		r = opus_decode(dec_st(d), NULL, 0, pcm, (int)n, 0);
	if (r < 0)
		return errno_of(r);
	if (fec)
		d->last_celt = false;
	if (how)
		*how = fec ? CE_OPUS_FEC : CE_OPUS_CONCEALED;
	return r;
}

/* One key=value of an fmtp line into f. */
static int fmtp_key(struct ce_opus_fmtp *f, const char *key, const char *val, GError **error)
{
	static const struct {
		const char *key;
		size_t off;
		unsigned min, max;
	} keys[] = {
	        {CE_OPUS_FMTP_FEC, offsetof(struct ce_opus_fmtp, useinbandfec), 0, 1},
	        {CE_OPUS_FMTP_STEREO, offsetof(struct ce_opus_fmtp, stereo), 0, 1},
	        {CE_OPUS_FMTP_PLAYBACK, offsetof(struct ce_opus_fmtp, maxplaybackrate), 8000,
	                48000},
	        {CE_OPUS_FMTP_CAPTURE, offsetof(struct ce_opus_fmtp, sprop_maxcapturerate), 8000,
	                48000},
	        {CE_OPUS_FMTP_MAX_BITRATE, offsetof(struct ce_opus_fmtp, maxaveragebitrate), 6000,
	                510000},
	        {CE_OPUS_FMTP_PTIME, offsetof(struct ce_opus_fmtp, ptime), 3, 120},
	};
	guint64 v;

	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
		if (g_ascii_strcasecmp(key, keys[i].key) != 0)
			continue;
		if (!g_ascii_string_to_unsigned(val, 10, keys[i].min, keys[i].max, &v, NULL)) {
			g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			        "opus fmtp: %s=%s: not a number in %u..%u", key, val, keys[i].min,
			        keys[i].max);
			return -EINVAL;
		}
		if (keys[i].max == 1)
			*(bool *)((char *)f + keys[i].off) = v == 1;
		else
			*(unsigned *)((char *)f + keys[i].off) = (unsigned)v;
		return 0;
	}
	return 0; /* RFC 7587 6.1: unknown parameters are ignored */
}

/* "a=fmtp:PT " before the parameters, if there: the payload type, or -1. */
static int fmtp_prefix(const char **line, GError **error)
{
	const char *p = *line;
	guint64 pt;
	char *end;

	bool attr = g_ascii_strncasecmp(p, "a=", 2) == 0;

	if (attr)
		p += 2;
	if (g_ascii_strncasecmp(p, "fmtp:", 5) != 0) {
		if (!attr)
			return -1;
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
		        "opus fmtp: \"%s\" is another SDP attribute", *line);
		return -2;
	}
	p += 5;
	pt = g_ascii_strtoull(p, &end, 10);
	if (end == p || pt > 127 || (*end != ' ' && *end != '\t' && *end)) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
		        "opus fmtp: no payload type 0..127 after \"fmtp:\" in \"%s\"", *line);
		return -2;
	}
	*line = end;
	return (int)pt;
}

/**
 * Reads an Opus fmtp line, "a=fmtp:111 minptime=10;useinbandfec=1" (with
 * or without "a=" and the "fmtp:PT", trailing CR/LF allowed), into @f:
 * the keys of struct ce_opus_fmtp, others ignored (RFC 7587 6.1).
 * Returns 0, or -EINVAL with @error set for a known key whose value is
 * not a number in its range, or a bad payload type.
 */
int ce_opus_fmtp_parse(const char *line, struct ce_opus_fmtp *f, GError **error)
{
	g_auto(GStrv) params = NULL;
	int err = 0;

	*f = (struct ce_opus_fmtp){
	        .pt = -1, .maxplaybackrate = 48000, .sprop_maxcapturerate = 48000};
	f->pt = fmtp_prefix(&line, error);
	if (f->pt == -2) {
		f->pt = -1;
		return -EINVAL;
	}
	params = g_strsplit(line, ";", -1);
	for (char **p = params; *p && !err; p++) {
		char *eq, *key = g_strstrip(*p);

		if (!*key)
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			        "opus fmtp: \"%s\" is not key=value", key);
			return -EINVAL;
		}
		*eq = '\0';
		err = fmtp_key(f, g_strchomp(key), g_strchug(eq + 1), error);
	}
	return err;
}
