/* audio.c - the phones' audio: G.711, sources (file, tone, noise, silence), WAV recording, Goertzel
 */
/*
 * A source spec says what a phone plays, always as 8 kHz mono:
 *
 *   silence                 nothing (digital silence)
 *   tone:440                a sine at 440 Hz, amplitude 0.3 of full scale
 *   tone:440+1000@0.1       two sines summed, each at amplitude 0.1
 *   noise@0.05              white noise
 *   speech.wav              a sound file (any libsndfile format, resampled to 8 kHz),
 *                           relative to the scenario's folder
 */
#define G_LOG_DOMAIN "sim"

#include <math.h>
#include <string.h>
#include <samplerate.h>
#include <sndfile.h>

#include "sim.h"

#define RATE      8000
#define MAX_TONES 4

/* ---- G.711 -------------------------------------------------------------- */

/*
 * mu-law: add a bias of 132, find the segment (the highest set bit above
 * bit 7), keep four mantissa bits, invert everything.
 */
uint8_t ce_sim_ulaw_encode(int16_t pcm)
{
	int v = pcm, sign = 0, seg, mant;

	if (v < 0) {
		v = -v;
		sign = 0x80;
	}
	v = MIN(v, 32635) + 132;
	for (seg = 7; seg > 0 && !(v & (0x80 << seg)); seg--)
		;
	mant = (v >> (seg + 3)) & 0x0f;
	return (uint8_t) ~(sign | (seg << 4) | mant);
}

/** Decode @n G.711 bytes (A-law if @alaw), through tables made once from the functions above. */
void ce_sim_g711_decode(bool alaw, const uint8_t *in, int16_t *out, unsigned n)
{
	static int16_t ulaw[256], alaw_t[256];
	static gsize done;
	const int16_t *t;

	if (g_once_init_enter(&done)) {
		for (unsigned c = 0; c < 256; c++) {
			ulaw[c] = ce_sim_ulaw_decode((uint8_t)c);
			alaw_t[c] = ce_sim_alaw_decode((uint8_t)c);
		}
		g_once_init_leave(&done, 1);
	}
	t = alaw ? alaw_t : ulaw;
	for (unsigned i = 0; i < n; i++)
		out[i] = t[in[i]];
}

int16_t ce_sim_ulaw_decode(uint8_t u)
{
	int v, seg, mant;

	u = (uint8_t)~u;
	seg = (u >> 4) & 7;
	mant = u & 0x0f;
	v = (((mant << 3) + 132) << seg) - 132;
	return (int16_t)((u & 0x80) ? -v : v);
}

/*
 * A-law: 13-bit magnitude, segment from the highest set bit above bit 4,
 * four mantissa bits, even bits inverted (xor 0x55), sign bit set for
 * positive values.
 */
uint8_t ce_sim_alaw_encode(int16_t pcm)
{
	int v = pcm >> 3, mask = 0xd5, seg, out;

	if (v < 0) {
		mask = 0x55;
		v = -v - 1;
	}
	for (seg = 0; seg < 8 && v > (0x20 << seg) - 1; seg++)
		;
	if (seg >= 8)
		return (uint8_t)(0x7f ^ mask);
	out = seg << 4;
	out |= (seg < 2 ? v >> 1 : v >> seg) & 0x0f;
	return (uint8_t)(out ^ mask);
}

int16_t ce_sim_alaw_decode(uint8_t a)
{
	int v, seg;

	a ^= 0x55;
	v = (a & 0x0f) << 4;
	seg = (a & 0x70) >> 4;
	if (seg == 0)
		v += 8;
	else
		v = (v + 0x108) << (seg - 1);
	return (int16_t)((a & 0x80) ? v : -v);
}

/* ---- sources ------------------------------------------------------------ */

enum src_kind { SRC_SILENCE, SRC_NOISE, SRC_PCM };

/*
 * Tones and files become one shared buffer of 8 kHz samples, with its
 * G.711 encodings, so that thousands of phones playing the same thing cost
 * a copy per frame, not a synthesis and an encoding.  A tone buffer holds
 * one second: whole periods for integer frequencies.
 */
struct pcm_buf {
	int refs;
	char *key;
	int16_t *pcm;
	uint8_t *ulaw, *alaw;
	size_t len;
};

static GHashTable *buf_cache; /* key -> struct pcm_buf (a reference held by the cache) */

struct sim_audio_src {
	enum src_kind kind;
	double amp;
	struct pcm_buf *buf;
	size_t pos;
	bool loop;
	GRand *rand;
};

static struct pcm_buf *buf_new(const char *key, int16_t *pcm, size_t len)
{
	struct pcm_buf *b = g_new0(struct pcm_buf, 1);
	size_t i;

	b->refs = 1;
	b->key = g_strdup(key);
	b->pcm = pcm;
	b->len = len;
	b->ulaw = g_new(uint8_t, len + 1);
	b->alaw = g_new(uint8_t, len + 1);
	for (i = 0; i < len; i++) {
		b->ulaw[i] = ce_sim_ulaw_encode(pcm[i]);
		b->alaw[i] = ce_sim_alaw_encode(pcm[i]);
	}
	return b;
}

static void buf_unref(struct pcm_buf *b)
{
	if (!b || --b->refs)
		return;
	g_free(b->key);
	g_free(b->pcm);
	g_free(b->ulaw);
	g_free(b->alaw);
	g_free(b);
}

static struct pcm_buf *cache_get(const char *key)
{
	struct pcm_buf *b = buf_cache ? g_hash_table_lookup(buf_cache, key) : NULL;

	if (b)
		b->refs++;
	return b;
}

static struct pcm_buf *cache_put(struct pcm_buf *b)
{
	if (!buf_cache)
		buf_cache = g_hash_table_new_full(
		        g_str_hash, g_str_equal, NULL, (GDestroyNotify)buf_unref);
	g_hash_table_replace(buf_cache, b->key, b);
	b->refs++;
	return b;
}

/** Drop the shared audio buffers (at exit; sources still open keep theirs). */
void ce_sim_audio_cache_clear(void)
{
	g_clear_pointer(&buf_cache, g_hash_table_destroy);
}

static int load_file(struct sim_audio_src *src, const char *path, GError **err)
{
	int16_t *pcm16;
	size_t len;
	SF_INFO info = {0};
	SNDFILE *sf = sf_open(path, SFM_READ, &info);
	float *in = NULL, *mono = NULL, *out = NULL;
	sf_count_t frames, i;
	int c, ret = -EINVAL;

	if (!sf) {
		g_set_error(
		        err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: %s", path, sf_strerror(NULL));
		return -ENOENT;
	}
	frames = info.frames;
	in = g_new(float, (size_t)frames *info.channels + 1);
	frames = sf_readf_float(sf, in, frames);
	mono = g_new0(float, (size_t)frames + 1);
	for (i = 0; i < frames; i++) {
		for (c = 0; c < info.channels; c++)
			mono[i] += in[i * info.channels + c] / (float)info.channels;
	}
	len = (size_t)frames;
	if (info.samplerate != RATE && frames > 0) {
		SRC_DATA d = {0};
		double ratio = (double)RATE / info.samplerate;
		d.data_in = mono;
		d.input_frames = frames;
		d.src_ratio = ratio;
		d.output_frames = (long)(frames * ratio) + 16;
		out = g_new0(float, d.output_frames);
		d.data_out = out;
		if (src_simple(&d, SRC_SINC_FASTEST, 1)) {
			g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: resampling failed",
			        path);
			goto out;
		}
		g_free(mono);
		mono = g_steal_pointer(&out);
		len = (size_t)d.output_frames_gen;
	}
	pcm16 = g_new(int16_t, len + 1);
	for (i = 0; i < (sf_count_t)len; i++)
		pcm16[i] = (int16_t)lrintf(CLAMP(mono[i], -1.0f, 32767.0f / 32768) * 32768);
	src->buf = cache_put(buf_new(path, pcm16, len));
	ret = 0;
out:
	sf_close(sf);
	g_free(in);
	g_free(mono);
	g_free(out);
	return ret;
}

static int make_tone(struct sim_audio_src *src, const char *key, const char *spec, GError **err)
{
	char **f = g_strsplit(spec, "+", MAX_TONES + 1);
	double freq[MAX_TONES];
	unsigned i, n, t;
	int16_t *pcm;
	int ret = 0;

	for (n = 0; f[n]; n++) {
		char *end;
		double hz = g_ascii_strtod(f[n], &end);
		if (n >= MAX_TONES || *end || hz <= 0 || hz >= RATE / 2) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			        "bad tone '%s' (want tone:HZ[+HZ...][@AMP], up to %d tones)", spec,
			        MAX_TONES);
			ret = -EINVAL;
			break;
		}
		freq[n] = hz;
	}
	g_strfreev(f);
	if (ret < 0)
		return ret;
	pcm = g_new(int16_t, RATE);
	for (i = 0; i < RATE; i++) {
		double v = 0;
		for (t = 0; t < n; t++)
			v += sin(2 * G_PI * freq[t] * i / RATE);
		pcm[i] = (int16_t)lrint(CLAMP(v * src->amp, -1.0, 1.0) * 32767);
	}
	src->buf = cache_put(buf_new(key, pcm, RATE));
	return 0;
}

/**
 * Open the source @spec (see the top of this file); a file path is taken
 * relative to @basedir.  With @loop a file starts over at its end,
 * otherwise silence follows.
 */
int ce_sim_src_new(
        struct sim_audio_src **sp, const char *spec, bool loop, const char *basedir, GError **err)
{
	struct sim_audio_src *src = g_new0(struct sim_audio_src, 1);
	char *body = g_strdup(spec ? spec : "silence"), *at = strrchr(body, '@'), *key = NULL;
	int ret = 0;

	src->loop = loop;
	src->amp = 0.3;
	src->rand = g_rand_new_with_seed(g_str_hash(body));
	if (at && !strchr(at, '/')) {
		*at = 0;
		src->amp = CLAMP(g_ascii_strtod(at + 1, NULL), 0.0, 1.0);
	}
	if (!strcmp(body, "silence")) {
		src->kind = SRC_SILENCE;
	} else if (!strcmp(body, "noise")) {
		src->kind = SRC_NOISE;
	} else if (g_str_has_prefix(body, "tone:")) {
		src->kind = SRC_PCM;
		src->loop = true;
		key = g_strdup_printf("%s@%g", body, src->amp);
		if (!(src->buf = cache_get(key)))
			ret = make_tone(src, key, body + 5, err);
	} else {
		key = g_path_is_absolute(body) || !basedir ? g_strdup(body)
		                                           : g_build_filename(basedir, body, NULL);
		src->kind = SRC_PCM;
		if (!(src->buf = cache_get(key)))
			ret = load_file(src, key, err);
	}
	g_free(key);
	g_free(body);
	if (ret < 0) {
		ce_sim_src_free(src);
		return ret;
	}
	*sp = src;
	return 0;
}

void ce_sim_src_free(struct sim_audio_src *src)
{
	if (!src)
		return;
	g_rand_free(src->rand);
	buf_unref(src->buf);
	g_free(src);
}

/* Copy @n items of @size bytes from the buffer, looping or padding with @pad. */
static void copy_out(
        struct sim_audio_src *src, const void *data, size_t size, void *out, unsigned n, int pad)
{
	uint8_t *o = out;
	size_t len = src->buf->len;

	while (n) {
		size_t k;
		if (src->pos >= len && src->loop && len)
			src->pos = 0;
		if (src->pos >= len) {
			memset(o, pad, (size_t)n * size);
			return;
		}
		k = MIN((size_t)n, len - src->pos);
		memcpy(o, (const uint8_t *)data + src->pos * size, k * size);
		src->pos += k;
		o += k * size;
		n -= (unsigned)k;
	}
}

/** Whether @src is a file played once (no loop) that has been played to its end. */
bool ce_sim_src_ended(const struct sim_audio_src *src)
{
	return src && src->kind == SRC_PCM && !src->loop && src->pos >= src->buf->len;
}

/** The next @n samples of @src (8 kHz); NULL gives silence. */
void ce_sim_src_read(struct sim_audio_src *src, int16_t *pcm, unsigned n)
{
	unsigned i;

	if (!src || src->kind == SRC_SILENCE) {
		memset(pcm, 0, n * sizeof(*pcm));
		return;
	}
	if (src->kind == SRC_NOISE) {
		for (i = 0; i < n; i++)
			pcm[i] =
			        (int16_t)(g_rand_double_range(src->rand, -1, 1) * src->amp * 32767);
		return;
	}
	copy_out(src, src->buf->pcm, sizeof(int16_t), pcm, n, 0);
}

/**
 * The next @n samples of @src already G.711-encoded (@alaw or mu-law), for
 * the RTP sender; buffered sources cost a copy.
 */
void ce_sim_src_read_g711(struct sim_audio_src *src, bool alaw, uint8_t *out, unsigned n)
{
	int16_t pcm[1024];
	unsigned i;

	if (src && src->kind == SRC_PCM) {
		copy_out(
		        src, alaw ? src->buf->alaw : src->buf->ulaw, 1, out, n, alaw ? 0xd5 : 0xff);
		return;
	}
	if (!src || src->kind == SRC_SILENCE) { /* most phones of a load run */
		memset(out, alaw ? 0xd5 : 0xff, n);
		return;
	}
	n = MIN(n, G_N_ELEMENTS(pcm));
	ce_sim_src_read(src, pcm, n);
	for (i = 0; i < n; i++)
		out[i] = alaw ? ce_sim_alaw_encode(pcm[i]) : ce_sim_ulaw_encode(pcm[i]);
}

/* ---- recording ----------------------------------------------------------- */

struct sim_wav {
	SNDFILE *sf;
};

/** Create @path as a 16-bit 8 kHz mono WAV file. */
int ce_sim_wav_open(struct sim_wav **wp, const char *path, GError **err)
{
	SF_INFO info = {
	        .samplerate = RATE, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
	SNDFILE *sf = sf_open(path, SFM_WRITE, &info);

	if (!sf) {
		g_set_error(
		        err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: %s", path, sf_strerror(NULL));
		return -EIO;
	}
	*wp = g_new0(struct sim_wav, 1);
	(*wp)->sf = sf;
	return 0;
}

void ce_sim_wav_write(struct sim_wav *w, const int16_t *pcm, unsigned n)
{
	sf_write_short(w->sf, pcm, n);
}

void ce_sim_wav_close(struct sim_wav *w)
{
	if (!w)
		return;
	sf_close(w->sf);
	g_free(w);
}

/* ---- analysis -------------------------------------------------------------- */

/**
 * How much of the energy of @pcm is at @freq: about 1 for a pure tone at
 * that frequency, about 0 when it is absent.  A Goertzel filter runs over
 * each 20 ms frame and the frames' tone energies are added: concealment
 * or a jitter buffer's skip shifts a tone's phase, which would cancel a
 * filter run over the whole window.
 */
double ce_sim_goertzel_ratio(const int16_t *pcm, unsigned n, double freq, double rate)
{
	double coeff = 2 * cos(2 * G_PI * freq / rate), energy = 0, tone = 0;
	unsigned frame = (unsigned)(rate / 50);

	if (frame == 0)
		frame = n;
	for (unsigned off = 0; off < n; off += frame) {
		unsigned len = MIN(frame, n - off);
		double s1 = 0, s2 = 0;

		for (unsigned i = off; i < off + len; i++) {
			double x = pcm[i], s0 = x + coeff * s1 - s2;

			s2 = s1;
			s1 = s0;
			energy += x * x;
		}
		tone += 2 * (s1 * s1 + s2 * s2 - coeff * s1 * s2) / len;
	}
	if (energy <= 0 || !n)
		return 0;
	return tone / energy;
}

/** RMS level of @pcm in dBFS (-120 for digital silence). */
double ce_sim_rms_dbfs(const int16_t *pcm, unsigned n)
{
	double sum = 0;
	unsigned i;

	for (i = 0; i < n; i++)
		sum += (double)pcm[i] * pcm[i];
	if (!n || sum <= 0)
		return -120;
	return 20 * log10(sqrt(sum / n) / 32768);
}
