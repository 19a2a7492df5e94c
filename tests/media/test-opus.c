/* test-opus.c - media/opus.c: levels, bands, FEC on loss, malformed packets, encoder copies, fmtp
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <glib.h>
#include <opus.h>
#include <samplerate.h>

#include "media/opus.h"
#include "tests/speechset.h"
#include "tests/testutil.h"

/* -10 dBFS */
#define AMP_10DB (32767.0 * 0.31622776601683794)
#define MAX_PKT  1500

/* A stream of packets, each up to MAX_PKT bytes. */
struct stream {
	uint8_t (*pkt)[MAX_PKT];
	int *len;
	size_t count;
};

static void stream_clear(struct stream *s)
{
	g_free(s->pkt);
	g_free(s->len);
}

static unsigned frame_of(unsigned rate)
{
	return rate / 1000 * CE_OPUS_FRAME_MS;
}

static struct ce_opus_enc *enc_new(unsigned rate, int bitrate, bool fec, unsigned loss)
{
	struct ce_opus_enc_conf c = {
	        .rate = rate, .bitrate = bitrate, .fec = fec, .loss_pct = loss, .complexity = -1};
	struct ce_opus_enc *e;

	g_assert_cmpint(ce_opus_enc_new(&e, &c), ==, 0);
	return e;
}

static struct ce_opus_dec *dec_new(unsigned rate)
{
	struct ce_opus_dec *d;

	g_assert_cmpint(ce_opus_dec_new(&d, rate), ==, 0);
	return d;
}

/* Encodes the whole frames of pcm (n samples at the encoder's rate). */
static struct stream encode_all(struct ce_opus_enc *e, const int16_t *pcm, size_t n)
{
	unsigned frame = frame_of(ce_opus_enc_rate(e));
	struct stream s = {.count = n / frame};

	s.pkt = g_malloc(s.count * MAX_PKT);
	s.len = g_new(int, s.count);
	for (size_t k = 0; k < s.count; k++) {
		s.len[k] = ce_opus_encode(e, pcm + k * frame, frame, s.pkt[k], MAX_PKT);
		g_assert_cmpint(s.len[k], >, 0);
	}
	return s;
}

/* Decodes every packet of s at rate; returns count frames of samples. */
static int16_t *decode_all(const struct stream *s, unsigned rate)
{
	unsigned frame = frame_of(rate);
	struct ce_opus_dec *d = dec_new(rate);
	int16_t *out = g_new(int16_t, s->count * frame);

	for (size_t k = 0; k < s->count; k++)
		g_assert_cmpint(
		        ce_opus_decode(d, s->pkt[k], (size_t)s->len[k], out + k * frame, frame), ==,
		        frame);
	ce_opus_dec_free(d);
	return out;
}

static int16_t *tones(unsigned rate, double seconds, const double *f, unsigned nf)
{
	size_t n = (size_t)(seconds * rate);
	int16_t *pcm = g_new(int16_t, n);

	for (size_t i = 0; i < n; i++) {
		double v = 0;

		for (unsigned k = 0; k < nf; k++)
			v += AMP_10DB * sin(2 * G_PI * f[k] * (double)i / rate);
		pcm[i] = (int16_t)lrint(v);
	}
	return pcm;
}

/* The level (dB re -10 dBFS) and SNR of tone f through an encoder at rate (bitrate 0:
 * libopus's default) and a decoder at dec_rate; the first 200 ms (the encoder settling) left
 * out.  *bandwidth gets the bandwidth of the TOC of the last packet (OPUS_BANDWIDTH_...). */
static double tone_through(
        unsigned rate, unsigned dec_rate, const int16_t *in, double secs, double f, int *bandwidth)
{
	struct ce_opus_enc *e = enc_new(rate, 0, false, 0);
	struct stream s = encode_all(e, in, (size_t)(secs * rate));
	int16_t *out = decode_all(&s, dec_rate);
	size_t skip = dec_rate / 5, n = s.count * frame_of(dec_rate);
	double amp, snr = ce_test_sine_fit(out + skip, n - skip, f, dec_rate, &amp);
	double db = 20 * log10(MAX(amp, 1e-3) / AMP_10DB);

	*bandwidth = opus_packet_get_bandwidth(s.pkt[s.count - 1]);
	g_test_message("%5.0f Hz, encoder at %u Hz, decoder at %u Hz: %+.2f dB, SNR %.1f dB, "
	               "bandwidth %d",
	        f, rate, dec_rate, db, snr, *bandwidth);
	g_free(out);
	stream_clear(&s);
	ce_opus_enc_free(e);
	return db;
}

/*
 * A 1 kHz tone at -10 dBFS keeps its level at every rate.  Measured on
 * libopus 1.3.1 (--verbose prints it): within 0.15 dB at 8, 16 and
 * 48 kHz.  Opus is a perceptual codec, not a waveform one, so the bound
 * is 1 dB: a quarter of what a listener notices on a level change, and far
 * inside what a wrong scale (6 dB per bit) or a missing band would do.
 */
static void test_level(void)
{
	static const unsigned rates[] = {8000, 16000, 48000};
	double f = 1000;

	for (unsigned k = 0; k < G_N_ELEMENTS(rates); k++) {
		int16_t *in = tones(rates[k], 2.0, &f, 1);
		int bw;

		g_assert_cmpfloat(fabs(tone_through(rates[k], rates[k], in, 2.0, f, &bw)), <, 1.0);
		g_free(in);
	}
}

/*
 * Wideband: at 16 kHz a 6 kHz tone (above everything G.711 carries) comes
 * through at its level (measured within 0.5 dB), in wideband packets.  An
 * 8 kHz leg cannot carry it: the same 1 + 6 kHz signal brought to 8 kHz
 * as the edge of a room would (libsamplerate), encoded at 8 kHz and
 * decoded at 16 kHz keeps its 1 kHz and has no 6 kHz left (measured
 * below -80 dB), in narrowband packets.
 */
static void test_wideband(void)
{
	static const double f[] = {6000, 1000};
	int16_t *wide = tones(16000, 2.0, f, 2), *narrow = g_new(int16_t, 16000);
	float *fw = g_new(float, 32000), *fn = g_new(float, 16000 + 16);
	SRC_DATA d = {.data_in = fw,
	        .data_out = fn,
	        .input_frames = 32000,
	        .output_frames = 16000 + 16,
	        .src_ratio = 0.5};
	int bw;

	g_assert_cmpfloat(fabs(tone_through(16000, 16000, wide, 2.0, 6000, &bw)), <, 1.0);
	g_assert_cmpint(bw, >=, OPUS_BANDWIDTH_WIDEBAND);
	g_assert_cmpfloat(fabs(tone_through(16000, 16000, wide, 2.0, 1000, &bw)), <, 1.0);

	src_short_to_float_array(wide, fw, 32000);
	g_assert_cmpint(src_simple(&d, SRC_SINC_MEDIUM_QUALITY, 1), ==, 0);
	g_assert_cmpint(d.output_frames_gen, >=, 15900);
	src_float_to_short_array(fn, narrow, 16000);
	g_assert_cmpfloat(tone_through(8000, 16000, narrow, 2.0, 6000, &bw), <, -40.0);
	g_assert_cmpint(bw, ==, OPUS_BANDWIDTH_NARROWBAND);
	g_assert_cmpfloat(fabs(tone_through(8000, 16000, narrow, 2.0, 1000, &bw)), <, 1.0);
	g_free(fn);
	g_free(fw);
	g_free(narrow);
	g_free(wide);
}

/* SNR (dB) of x against ref over the frames k where pick[k]. */
static double snr_over(
        const int16_t *ref, const int16_t *x, const bool *pick, size_t frames, unsigned frame)
{
	double sig = 0, err = 0;

	for (size_t k = 0; k < frames; k++)
		for (size_t i = k * frame; pick[k] && i < (k + 1) * frame; i++) {
			sig += (double)ref[i] * ref[i];
			err += ((double)x[i] - ref[i]) * ((double)x[i] - ref[i]);
		}
	return 10 * log10(sig / MAX(err, 1.0));
}

/* Decodes s losing every 5th packet; each lost one made by ce_opus_decode_lost() from the
 * next packet (use_next) or from nothing.  fec[k] says whether frame k was rebuilt from FEC. */
static int16_t *decode_lossy(const struct stream *s, unsigned rate, bool use_next, bool *fec)
{
	unsigned frame = frame_of(rate);
	struct ce_opus_dec *d = dec_new(rate);
	int16_t *out = g_new(int16_t, s->count * frame);

	for (size_t k = 0; k < s->count; k++) {
		int16_t *pcm = out + k * frame;
		enum ce_opus_recovery how = CE_OPUS_FEC;

		fec[k] = false;
		if (k % 5 != 4) {
			g_assert_cmpint(ce_opus_decode(d, s->pkt[k], (size_t)s->len[k], pcm, frame),
			        ==, frame);
			continue;
		}
		if (use_next && k + 1 < s->count)
			g_assert_cmpint(ce_opus_decode_lost(d, s->pkt[k + 1], (size_t)s->len[k + 1],
			                        pcm, frame, &how),
			        ==, frame);
		else
			g_assert_cmpint(
			        ce_opus_decode_lost(d, NULL, 0, pcm, frame, &how), ==, frame);
		fec[k] = how == CE_OPUS_FEC;
	}
	ce_opus_dec_free(d);
	return out;
}

static unsigned count_true(const bool *b, size_t n)
{
	unsigned c = 0;

	for (size_t i = 0; i < n; i++)
		c += b[i];
	return c;
}

/* One talker file at rate: the SNR of the frames rebuilt from FEC and of the same frames
 * concealed, against the lossless decode; returns the difference. */
static double fec_file(const char *file, unsigned rate)
{
	g_autofree char *path = g_build_filename(CE_SRCDIR, "tests", "data", "talker", file, NULL);
	struct ce_speech_set set;
	struct ce_opus_enc *e = enc_new(rate, 0, true, 20), *plain = enc_new(rate, 0, false, 20);
	struct stream s, p;
	unsigned frame = frame_of(rate), with_fec = 0, usable = 0;
	int16_t *clean, *rec, *conc, *plain_rec;
	bool *fec, *none;
	double snr_fec, snr_conc;

	g_assert_cmpint(ce_speech_set_load(&set, path, rate, false), ==, 0);
	s = encode_all(e, set.pcm, set.n);
	p = encode_all(plain, set.pcm, set.n);
	fec = g_new(bool, s.count);
	none = g_new(bool, s.count);
	for (size_t k = 0; k < s.count; k++) {
		bool has = ce_opus_packet_has_fec(s.pkt[k], (size_t)s.len[k]);

		with_fec += has;
		usable += has && k % 5 == 0 && k > 0;
		/* Without FEC at the encoder no packet claims any. */
		g_assert_false(ce_opus_packet_has_fec(p.pkt[k], (size_t)p.len[k]));
	}
	/* The lossless decode is the reference: what the lost frames would have been. */
	clean = decode_all(&s, rate);
	rec = decode_lossy(&s, rate, true, fec);
	conc = decode_lossy(&s, rate, false, none);
	g_assert_cmpuint(count_true(none, s.count), ==, 0);
	snr_fec = snr_over(clean, rec, fec, s.count, frame);
	snr_conc = snr_over(clean, conc, fec, s.count, frame);
	g_test_message("%s at %u Hz: %u of %zu packets carry FEC; %u of %zu lost frames rebuilt "
	               "from it: SNR %.1f dB, the same frames concealed %.1f dB",
	        file, rate, with_fec, s.count, count_true(fec, s.count), s.count / 5, snr_fec,
	        snr_conc);
	/* Every loss followed by a packet with FEC was rebuilt from it, the others concealed;
	 * libopus sends FEC with speech (here 24..38 % of the lost frames' successors). */
	g_assert_cmpuint(count_true(fec, s.count), ==, usable);
	g_assert_cmpuint(usable, >=, s.count / 5 / 6);
	/* An encoder without FEC sends nothing to rebuild from: every loss is concealed. */
	plain_rec = decode_lossy(&p, rate, true, none);
	g_assert_cmpuint(count_true(none, s.count), ==, 0);
	g_free(plain_rec);
	g_free(none);
	g_free(fec);
	g_free(conc);
	g_free(rec);
	g_free(clean);
	stream_clear(&p);
	stream_clear(&s);
	ce_opus_enc_free(plain);
	ce_opus_enc_free(e);
	ce_speech_set_clear(&set);
	return snr_fec - snr_conc;
}

/*
 * Every 5th packet lost, on the four talker files at 16 and 48 kHz, the
 * encoder told to expect 20 % loss.  The reference is the same packets
 * decoded without loss (what the lost frames would have sounded like; the
 * input itself differs from any decode by Opus's coding and delay).  The
 * lost frames rebuilt from the next packet's FEC match it with measured
 * SNRs of 3.4..7.3 dB at 16 kHz and 9.6..16.7 dB at 48 kHz, the same
 * frames concealed -0.8..1.9 dB: 4.2 dB better at the least.  The bound,
 * 3 dB better (the error's power halved), is far from the 0 dB of a
 * decoder that ignored the next packet.  (The talker files are 8 kHz recordings: at
 * 48 kHz the bands above are empty, which the codec spends nothing on.)
 */
static void test_fec(void)
{
	static const char *const files[] = {
	        "office1.wav", "office2.wav", "street1.wav", "street2.wav"};
	static const unsigned rates[] = {16000, 48000};

	for (unsigned r = 0; r < G_N_ELEMENTS(rates); r++)
		for (unsigned i = 0; i < G_N_ELEMENTS(files); i++) {
			g_assert_cmpfloat(fec_file(files[i], rates[r]), >, 3.0);
		}
}

/* Settings out of range are refused, with the errno the header gives. */
static void test_args(void)
{
	struct ce_opus_enc_conf ok = {.rate = 16000, .complexity = -1}, c;
	struct ce_opus_enc *e;
	struct ce_opus_dec *d;
	int16_t pcm[960] = {0};
	uint8_t out[MAX_PKT];

	c = ok, c.rate = 44100;
	g_assert_cmpint(ce_opus_enc_new(&e, &c), ==, -EINVAL);
	g_assert_null(e);
	c = ok, c.bitrate = 5999;
	g_assert_cmpint(ce_opus_enc_new(&e, &c), ==, -EINVAL);
	c = ok, c.bitrate = 510001;
	g_assert_cmpint(ce_opus_enc_new(&e, &c), ==, -EINVAL);
	c = ok, c.loss_pct = 101;
	g_assert_cmpint(ce_opus_enc_new(&e, &c), ==, -EINVAL);
	c = ok, c.complexity = 11;
	g_assert_cmpint(ce_opus_enc_new(&e, &c), ==, -EINVAL);
	g_assert_cmpint(ce_opus_dec_new(&d, 12000), ==, -EINVAL);
	g_assert_null(d);

	g_assert_cmpint(ce_opus_enc_new(&e, &ok), ==, 0);
	g_assert_cmpint(ce_opus_encode(e, pcm, 100, out, sizeof(out)), ==, -EINVAL);
	g_assert_cmpint(ce_opus_encode(e, pcm, 0, out, sizeof(out)), ==, -EINVAL);
	g_assert_cmpint(ce_opus_encode(e, pcm, 320, out, 0), ==, -EINVAL);
	/* libopus fits any room: one byte is a packet saying the frame was not coded */
	g_assert_cmpint(ce_opus_encode(e, pcm, 320, out, 1), ==, 1);
	g_assert_cmpint(ce_opus_encode(e, pcm, 320, out, sizeof(out)), >, 0);
	/* 60 ms is an Opus frame too (the test of oversized packets uses one) */
	g_assert_cmpint(ce_opus_encode(e, pcm, 960, out, sizeof(out)), >, 0);
	ce_opus_enc_free(e);

	d = dec_new(16000);
	g_assert_cmpint(ce_opus_decode_lost(d, NULL, 0, pcm, 7, NULL), ==, -EINVAL);
	g_assert_cmpint(ce_opus_decode_lost(d, NULL, 0, pcm, 0, NULL), ==, -EINVAL);
	g_assert_cmpint(ce_opus_decode_lost(d, NULL, 0, pcm, 320, NULL), ==, 320);
	ce_opus_dec_free(d);
}

/* Two decoders: one sees only the good packets, the other also the bad ones. */
struct pair {
	struct ce_opus_dec *ref, *dut;
	int16_t a[320], b[320];
};

/* Feeds a good packet to both: the outputs must be identical. */
static void pair_good(struct pair *p, const uint8_t *pkt, size_t len)
{
	g_assert_cmpint(ce_opus_decode(p->ref, pkt, len, p->a, 320), ==, 320);
	g_assert_cmpint(ce_opus_decode(p->dut, pkt, len, p->b, 320), ==, 320);
	g_assert_cmpmem(p->a, sizeof(p->a), p->b, sizeof(p->b));
}

static void pair_bad(struct pair *p, const uint8_t *pkt, size_t len, int want, const char *what)
{
	int r = ce_opus_decode(p->dut, pkt, len, p->b, 320);

	if (r != want)
		g_error("%s: %zu bytes from TOC 0x%02x decode to %d, not %d", what, len,
		        pkt ? pkt[0] : 0, r, want);
}

/*
 * Malformed, truncated and oversized packets (RFC 6716 3.4's rules) are
 * refused with a clear errno and leave the decoder as it was: a second
 * decoder that never saw them decodes the stream that follows identically,
 * sample for sample.
 */
static void test_malformed(void)
{
	double f = 1000;
	int16_t *in = tones(16000, 1.0, &f, 1);
	struct ce_opus_enc *e = enc_new(16000, 0, true, 10);
	struct stream s = encode_all(e, in, 16000);
	struct pair p = {.ref = dec_new(16000), .dut = dec_new(16000)};
	uint8_t bad[MAX_PKT + 100], long60[MAX_PKT];
	int n60;

	/* a real 60 ms packet: three times what a 20 ms buffer holds */
	n60 = ce_opus_encode(e, in, 960, long60, sizeof(long60));
	g_assert_cmpint(n60, >, 0);
	for (size_t k = 0; k < s.count; k++) {
		const uint8_t *pkt = s.pkt[k];
		size_t len = (size_t)s.len[k];

		pair_good(&p, pkt, len);
		switch (k % 10) {
		case 0:
			pair_bad(&p, pkt, 0, -EINVAL, "empty");
			pair_bad(&p, NULL, 0, -EINVAL, "no packet");
			break;
		case 1:
			memset(bad, 0x55, sizeof(bad));
			memcpy(bad, pkt, len);
			pair_bad(&p, bad, CE_OPUS_MAX_PACKET + 1, -EMSGSIZE,
			        "longer than an RTP datagram");
			break;
		case 2:
			pair_bad(&p, long60, (size_t)n60, -EMSGSIZE, "60 ms for 20 ms of room");
			break;
		case 3: /* code 1: two frames of equal size, so an even count of bytes after the TOC
		         */
			memcpy(bad, pkt, len);
			bad[0] = (uint8_t)((bad[0] & ~3u) | 1);
			pair_bad(&p, bad, len % 2 ? len + 1 : len, -EBADMSG, "code 1, odd length");
			break;
		case 4: /* code 2: the first frame's length points past the end */
			memcpy(bad, pkt, len);
			bad[0] = (uint8_t)((bad[0] & ~3u) | 2);
			bad[1] = 250;
			pair_bad(&p, bad, MIN(len, 100), -EBADMSG, "code 2, first frame too long");
			break;
		case 5: /* code 3: no frame count byte */
			bad[0] = (uint8_t)((pkt[0] & ~3u) | 3);
			pair_bad(&p, bad, 1, -EBADMSG, "code 3, truncated");
			break;
		case 6: /* code 3 with zero frames */
			memcpy(bad, pkt, len);
			bad[0] = (uint8_t)((bad[0] & ~3u) | 3);
			bad[1] = 0;
			pair_bad(&p, bad, len, -EBADMSG, "code 3, no frames");
			break;
		case 7: /* code 3, 49 frames: more than 120 ms */
			memcpy(bad, pkt, len);
			bad[0] = (uint8_t)((bad[0] & ~3u) | 3);
			bad[1] = 49;
			pair_bad(&p, bad, len, -EBADMSG, "code 3, 49 frames");
			break;
		default:
			break;
		}
	}
	ce_opus_dec_free(p.ref);
	ce_opus_dec_free(p.dut);
	stream_clear(&s);
	ce_opus_enc_free(e);
	g_free(in);
}

/*
 * Garbage: 20,000 packets of random bytes and lengths, each decoded and
 * each offered as the "next" packet of a loss (under ASan and UBSan in the
 * sanitizer build).  Whatever libopus makes of them, the answer is a
 * frame or a negative errno, never a crash, and a decoder that went
 * through all of them still decodes a real stream: its 1 kHz tone comes
 * back at its level once the garbage's echo has gone (from 200 ms on).
 */
static void test_garbage(void)
{
	GRand *r = g_rand_new_with_seed(6716);
	struct ce_opus_dec *d = dec_new(16000);
	uint8_t junk[CE_OPUS_MAX_PACKET];
	int16_t pcm[320], *out;
	double f = 1000, amp;
	int16_t *in = tones(16000, 1.0, &f, 1);
	struct ce_opus_enc *e = enc_new(16000, 0, false, 0);
	struct stream s = encode_all(e, in, 16000);
	unsigned ok = 0;

	for (unsigned k = 0; k < 20000; k++) {
		size_t len = (size_t)g_rand_int_range(r, 1, k % 2 ? 40 : CE_OPUS_MAX_PACKET + 1);
		enum ce_opus_recovery how;
		int got;

		for (size_t i = 0; i < len; i++)
			junk[i] = (uint8_t)g_rand_int(r);
		got = k % 3 ? ce_opus_decode(d, junk, len, pcm, 320)
		            : ce_opus_decode_lost(d, junk, len, pcm, 320, &how);
		/* a whole number of 2.5 ms up to the 20 ms of room, or refused */
		if (!(got == -EBADMSG || got == -EMSGSIZE ||
		            (got > 0 && got <= 320 && got % 40 == 0)))
			g_error("%zu random bytes from 0x%02x decode to %d", len, junk[0], got);
		ok += got > 0;
	}
	g_test_message("%u of 20000 random packets decoded as audio", ok);
	out = g_new(int16_t, s.count * 320);
	for (size_t k = 0; k < s.count; k++)
		g_assert_cmpint(
		        ce_opus_decode(d, s.pkt[k], (size_t)s.len[k], out + k * 320, 320), ==, 320);
	ce_test_sine_fit(out + 3200, s.count * 320 - 3200, f, 16000, &amp);
	g_assert_cmpfloat(fabs(20 * log10(amp / AMP_10DB)), <, 1.0);
	g_free(out);
	stream_clear(&s);
	ce_opus_enc_free(e);
	g_free(in);
	ce_opus_dec_free(d);
	g_rand_free(r);
}

/*
 * An encoder copied in the middle of a stream continues it bit for bit:
 * the copy (made from an encoder of other settings, so nothing of its own
 * may survive) and the original encode the next 5 s of speech to the same
 * packets.  A fresh encoder of the original's settings does not (its
 * history differs), which is what makes the copy necessary.
 */
static void test_copy(void)
{
	g_autofree char *path =
	        g_build_filename(CE_SRCDIR, "tests", "data", "talker", "office1.wav", NULL);
	struct ce_speech_set set;
	struct ce_opus_enc *a = enc_new(16000, 24000, true, 10), *b = enc_new(48000, 0, false, 0);
	struct ce_opus_enc *fresh = enc_new(16000, 24000, true, 10);
	uint8_t pa[MAX_PKT], pb[MAX_PKT], pf[MAX_PKT];
	unsigned same_fresh = 0, frames = 250;

	g_assert_cmpint(ce_speech_set_load(&set, path, 16000, false), ==, 0);
	g_assert_cmpuint(set.n, >=, 2 * frames * 320);
	for (unsigned k = 0; k < frames; k++)
		g_assert_cmpint(ce_opus_encode(a, set.pcm + k * 320, 320, pa, MAX_PKT), >, 0);
	g_assert_cmpint(ce_opus_enc_copy(b, a), ==, 0);
	g_assert_cmpuint(ce_opus_enc_rate(b), ==, 16000);
	for (unsigned k = frames; k < 2 * frames; k++) {
		const int16_t *pcm = set.pcm + k * 320;
		int la = ce_opus_encode(a, pcm, 320, pa, MAX_PKT);
		int lb = ce_opus_encode(b, pcm, 320, pb, MAX_PKT);
		int lf = ce_opus_encode(fresh, pcm, 320, pf, MAX_PKT);

		g_assert_cmpint(la, >, 0);
		g_assert_cmpmem(pa, la, pb, lb);
		same_fresh += la == lf && memcmp(pa, pf, (size_t)la) == 0;
	}
	g_test_message("a fresh encoder made %u of %u packets the same", same_fresh, frames);
	g_assert_cmpuint(same_fresh, <, frames / 2);
	ce_opus_enc_free(fresh);
	ce_opus_enc_free(b);
	ce_opus_enc_free(a);
	ce_speech_set_clear(&set);
}

/*
 * fmtp lines as phones send them.  baresip's were captured from the INVITE
 * of baresip 1.0.0 (Debian 12's baresip-core) with its opus module: with
 * no opus_* setting, with "opus_inbandfec yes", and with
 * "opus_bitrate 32000, opus_stereo no, opus_sprop_stereo no,
 * opus_inbandfec yes, opus_dtx yes".  The browsers' are Chrome's
 * ("minptime", a key RFC 7587 does not define, is ignored) and Firefox's,
 * as they offer them in every WebRTC SDP.
 */
static void test_fmtp(void)
{
	struct ce_opus_fmtp f;
	GError *error = NULL;

	g_assert_cmpint(ce_opus_fmtp_parse("a=fmtp:96 stereo=1;sprop-stereo=1", &f, NULL), ==, 0);
	g_assert_cmpint(f.pt, ==, 96);
	g_assert_true(f.stereo);
	g_assert_false(f.useinbandfec);
	g_assert_cmpuint(f.maxplaybackrate, ==, 48000);
	g_assert_cmpuint(f.ptime, ==, 0);

	g_assert_cmpint(ce_opus_fmtp_parse(
	                        "a=fmtp:96 stereo=1;sprop-stereo=1;useinbandfec=1\r\n", &f, NULL),
	        ==, 0);
	g_assert_true(f.useinbandfec);

	g_assert_cmpint(ce_opus_fmtp_parse("a=fmtp:96 stereo=0;sprop-stereo=0;"
	                                   "maxaveragebitrate=32000;useinbandfec=1;usedtx=1",
	                        &f, NULL),
	        ==, 0);
	g_assert_false(f.stereo);
	g_assert_true(f.useinbandfec);
	g_assert_cmpuint(f.maxaveragebitrate, ==, 32000);

	/* Chrome */
	g_assert_cmpint(
	        ce_opus_fmtp_parse("a=fmtp:111 minptime=10;useinbandfec=1", &f, NULL), ==, 0);
	g_assert_cmpint(f.pt, ==, 111);
	g_assert_true(f.useinbandfec);
	g_assert_false(f.stereo);
	g_assert_cmpuint(f.ptime, ==, 0);
	/* Firefox */
	g_assert_cmpint(
	        ce_opus_fmtp_parse(
	                "a=fmtp:109 maxplaybackrate=48000;stereo=1;useinbandfec=1", &f, NULL),
	        ==, 0);
	g_assert_cmpint(f.pt, ==, 109);
	g_assert_true(f.stereo && f.useinbandfec);
	/* What the engine would offer: the parameters alone, spaces after ";" */
	g_assert_cmpint(ce_opus_fmtp_parse("maxplaybackrate=16000; sprop-maxcapturerate=16000; "
	                                   "stereo=0; useinbandfec=1; ptime=20",
	                        &f, NULL),
	        ==, 0);
	g_assert_cmpint(f.pt, ==, -1);
	g_assert_cmpuint(f.maxplaybackrate, ==, 16000);
	g_assert_cmpuint(f.sprop_maxcapturerate, ==, 16000);
	g_assert_cmpuint(f.ptime, ==, 20);
	g_assert_true(f.useinbandfec);

	/* Bad values of known keys are errors that say which */
	g_assert_cmpint(ce_opus_fmtp_parse("a=fmtp:96 useinbandfec=2", &f, &error), ==, -EINVAL);
	g_assert_nonnull(strstr(error->message, "useinbandfec=2"));
	g_clear_error(&error);
	g_assert_cmpint(ce_opus_fmtp_parse("maxplaybackrate=96000", &f, &error), ==, -EINVAL);
	g_clear_error(&error);
	g_assert_cmpint(ce_opus_fmtp_parse("ptime=abc", &f, &error), ==, -EINVAL);
	g_clear_error(&error);
	g_assert_cmpint(ce_opus_fmtp_parse("useinbandfec", &f, &error), ==, -EINVAL);
	g_clear_error(&error);
	g_assert_cmpint(ce_opus_fmtp_parse("a=fmtp:200 useinbandfec=1", &f, &error), ==, -EINVAL);
	g_assert_nonnull(strstr(error->message, "payload type"));
	g_clear_error(&error);
	g_assert_cmpint(ce_opus_fmtp_parse("a=fmtp:x useinbandfec=1", &f, &error), ==, -EINVAL);
	g_clear_error(&error);
	g_assert_cmpint(ce_opus_fmtp_parse("a=rtpmap:111 opus/48000/2", &f, &error), ==, -EINVAL);
	g_assert_nonnull(strstr(error->message, "another SDP attribute"));
	g_clear_error(&error);
	/* Unknown keys and empty parameters are not */
	g_assert_cmpint(ce_opus_fmtp_parse("a=fmtp:96 ;;foo=bar;cbr=1;", &f, NULL), ==, 0);
	g_assert_cmpint(ce_opus_fmtp_parse("", &f, NULL), ==, 0);
}

/* Packets of libopus's own encoder of channels at 16 kHz, 20 % loss expected, FEC on or off,
 * on the talker file (the right channel 0.3 s behind the left); *count gets how many. */
static uint8_t (*raw_stream(int channels, bool fec, const struct ce_speech_set *set, size_t *count,
        int **lens))[MAX_PKT]
{
	OpusEncoder *e;
	uint8_t(*pkt)[MAX_PKT];
	int16_t in[2 * 320];
	size_t lag = 16000 * 3 / 10;
	int err;

	e = opus_encoder_create(16000, channels, OPUS_APPLICATION_VOIP, &err);
	g_assert_cmpint(err, ==, OPUS_OK);
	opus_encoder_ctl(e, OPUS_SET_INBAND_FEC(fec ? 1 : 0));
	opus_encoder_ctl(e, OPUS_SET_PACKET_LOSS_PERC(20));
	*count = (set->n - lag) / 320;
	pkt = g_malloc(*count * MAX_PKT);
	*lens = g_new(int, *count);
	for (size_t k = 0; k < *count; k++) {
		for (size_t i = 0; i < 320; i++) {
			size_t t = k * 320 + i;

			in[channels * i] = set->pcm[t + lag];
			if (channels == 2)
				in[2 * i + 1] = set->pcm[t];
		}
		(*lens)[k] = opus_encode(e, in, 320, pkt[k], MAX_PKT);
		g_assert_cmpint((*lens)[k], >, 1);
		/* one 20 ms SILK or hybrid frame (code 0): its first byte follows the TOC */
		g_assert_cmpint(pkt[k][0] & 3, ==, 0);
		g_assert_cmpint(pkt[k][0] >> 3, <, 16);
	}
	opus_encoder_destroy(e);
	return pkt;
}

/*
 * ce_opus_packet_has_fec() reads the LBRR flags where RFC 6716 4.2.3 puts
 * them, in mono and stereo packets.  For a 20 ms frame the first byte after
 * the TOC begins VAD, LBRR (mid channel), then VAD, LBRR (side channel of
 * a stereo packet): 0x40 and 0x10.  Where the function says yes, clearing
 * those bits must change what libopus rebuilds from the packet's FEC (so
 * the bits it read are the ones libopus uses); without FEC at the encoder
 * it must never say yes (so it did not read a VAD flag, set in speech).
 */
static void test_fec_flag(void)
{
	g_autofree char *path =
	        g_build_filename(CE_SRCDIR, "tests", "data", "talker", "office1.wav", NULL);
	struct ce_speech_set set;

	g_assert_cmpint(ce_speech_set_load(&set, path, 16000, false), ==, 0);
	for (int channels = 1; channels <= 2; channels++) {
		size_t count;
		int *len, err;
		uint8_t(*pkt)[MAX_PKT] = raw_stream(channels, true, &set, &count, &len);
		OpusDecoder *a = opus_decoder_create(16000, 1, &err), *b;
		uint8_t mask = channels == 2 ? 0x50 : 0x40, cleared[MAX_PKT];
		unsigned flagged = 0;
		int16_t fa[320], fb[320];

		b = opus_decoder_create(16000, 1, &err);
		for (size_t k = 0; k < count; k++) {
			bool flag = ce_opus_packet_has_fec(pkt[k], (size_t)len[k]);

			memcpy(cleared, pkt[k], (size_t)len[k]);
			cleared[1] &= (uint8_t)~mask;
			g_assert_false(ce_opus_packet_has_fec(cleared, (size_t)len[k]));
			g_assert_cmpint(opus_decode(a, pkt[k], len[k], fa, 320, 1), ==, 320);
			g_assert_cmpint(opus_decode(b, cleared, len[k], fb, 320, 1), ==, 320);
			if (flag && memcmp(fa, fb, sizeof(fa)) == 0)
				g_error("%d channels, packet %zu: flagged, but libopus rebuilds "
				        "the "
				        "same without the flag",
				        channels, k);
			flagged += flag;
			g_assert_cmpint(opus_decode(a, pkt[k], len[k], fa, 320, 0), ==, 320);
			g_assert_cmpint(opus_decode(b, pkt[k], len[k], fb, 320, 0), ==, 320);
		}
		g_test_message(
		        "%d channel(s): %u of %zu packets carry FEC", channels, flagged, count);
		g_assert_cmpuint(flagged, >, count / 5);
		g_free(len);
		g_free(pkt);
		pkt = raw_stream(channels, false, &set, &count, &len);
		for (size_t k = 0; k < count; k++)
			g_assert_false(ce_opus_packet_has_fec(pkt[k], (size_t)len[k]));
		opus_decoder_destroy(a);
		opus_decoder_destroy(b);
		g_free(len);
		g_free(pkt);
	}
	ce_speech_set_clear(&set);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/opus/args", test_args);
	g_test_add_func("/opus/level", test_level);
	g_test_add_func("/opus/wideband", test_wideband);
	g_test_add_func("/opus/fec", test_fec);
	g_test_add_func("/opus/fec-flag", test_fec_flag);
	g_test_add_func("/opus/malformed", test_malformed);
	g_test_add_func("/opus/garbage", test_garbage);
	g_test_add_func("/opus/copy", test_copy);
	g_test_add_func("/opus/fmtp", test_fmtp);
	return g_test_run();
}
