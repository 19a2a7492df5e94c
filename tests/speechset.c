/* speechset.c - the labelled talker sets (tests/data/talker) as audio to measure: levels, SNR */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include <samplerate.h>
#include <sndfile.h>

#include "media/g711.h"
#include "speechset.h"

/* Frames this close to a label's ends hold its onset or a detector's
 * hangover: neither speech nor noise for the figures. */
#define EDGE_S 0.2
/* The first second is noise alone, while the processors learn it. */
#define SETTLE_S 1.0
/* Speech frames this far above the noise are speech for sure (eaten). */
#define STRONG_DB 6.0

static unsigned read_labels(struct ce_speech_set *s, const char *wav)
{
	g_autofree char *path = g_strdup(wav);
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;

	strcpy(path + strlen(path) - 3, "lab");
	if (!g_file_get_contents(path, &text, NULL, NULL))
		return 0;
	lines = g_strsplit(text, "\n", -1);
	s->nlab = 0;
	for (char **l = lines; *l && s->nlab < CE_SPEECH_MAX_LABELS; l++)
		if (**l != '#' &&
		        sscanf(*l, "%lf %lf", &s->lab[s->nlab][0], &s->lab[s->nlab][1]) == 2)
			s->nlab++;
	return s->nlab;
}

/* The file's 8 kHz samples through G.711 mu-law, as a leg hears them. */
static void through_ulaw(int16_t *pcm, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pcm[i] = ce_g711_ulaw_decode(ce_g711_ulaw_encode(pcm[i]));
}

static int resample(struct ce_speech_set *s, const float *in, size_t n, unsigned from)
{
	SRC_DATA d = {0};
	float *out;
	int err;

	d.src_ratio = (double)s->rate / from;
	d.input_frames = (long)n;
	d.output_frames = (long)(n * d.src_ratio) + 16;
	out = g_new(float, d.output_frames);
	d.data_in = in;
	d.data_out = out;
	err = src_simple(&d, SRC_SINC_MEDIUM_QUALITY, 1);
	if (!err) {
		s->n = (size_t)d.output_frames_gen;
		s->pcm = g_new(int16_t, s->n);
		src_float_to_short_array(out, (short *)s->pcm, (int)s->n);
	}
	g_free(out);
	return err ? -EINVAL : 0;
}

/**
 * Loads the mono WAV @wav and its labels (the .lab beside it) into @s at
 * @rate Hz (resampled when the file has another rate), through G.711
 * mu-law when @ulaw (8 kHz legs).  Returns 0 or a negative errno; clear
 * @s with ce_speech_set_clear() either way.
 */
int ce_speech_set_load(struct ce_speech_set *s, const char *wav, unsigned rate, bool ulaw)
{
	SF_INFO info = {0};
	SNDFILE *sf = sf_open(wav, SFM_READ, &info);
	float *in = NULL;
	int err = 0;

	memset(s, 0, sizeof(*s));
	s->rate = rate;
	if (!sf || info.channels != 1 || info.frames <= 0 || !read_labels(s, wav)) {
		err = -EINVAL;
		goto out;
	}
	in = g_new(float, info.frames);
	if (sf_readf_float(sf, in, info.frames) != info.frames) {
		err = -EIO;
		goto out;
	}
	if ((unsigned)info.samplerate == rate) {
		s->n = (size_t)info.frames;
		s->pcm = g_new(int16_t, s->n);
		src_float_to_short_array(in, (short *)s->pcm, (int)s->n);
	} else {
		err = resample(s, in, (size_t)info.frames, (unsigned)info.samplerate);
	}
	if (!err && ulaw)
		through_ulaw(s->pcm, s->n);
out:
	if (sf)
		sf_close(sf);
	g_free(in);
	return err;
}

/** Frees @s's audio. */
void ce_speech_set_clear(struct ce_speech_set *s)
{
	g_clear_pointer(&s->pcm, g_free);
	s->n = 0;
}

/** What frame @k (of @frame samples) of @s is: speech, noise, or neither. */
enum ce_speech_kind ce_speech_frame_kind(const struct ce_speech_set *s, size_t k, unsigned frame)
{
	double a = (double)(k * frame) / s->rate, b = (double)((k + 1) * frame) / s->rate;
	bool near = a < SETTLE_S;

	for (unsigned j = 0; j < s->nlab; j++) {
		if (a >= s->lab[j][0] && b <= s->lab[j][1])
			return a < s->lab[j][0] + EDGE_S ? CE_SPEECH_EDGE : CE_SPEECH_SPEECH;
		if (b > s->lab[j][0] - EDGE_S && a < s->lab[j][1] + EDGE_S)
			near = true;
	}
	return near ? CE_SPEECH_EDGE : CE_SPEECH_NOISE;
}

/** The level of @n samples, dB re full scale (mean square; -120 for silence). */
double ce_speech_db(const int16_t *pcm, size_t n)
{
	double e = 0;

	for (size_t i = 0; i < n; i++)
		e += (double)pcm[i] * pcm[i];
	e /= n ? (double)n * 32768.0 * 32768.0 : 1;
	return e > 1e-12 ? 10 * log10(e) : -120;
}

/**
 * The speech and noise levels of @pcm, a version of @s's audio (the same
 * length), over its 20 ms frames from @from_s seconds on: the mean energy
 * of its speech frames and of its noise frames, and their ratio.
 */
void ce_speech_levels(const struct ce_speech_set *s, const int16_t *pcm, double from_s,
        struct ce_speech_levels *lv)
{
	unsigned frame = s->rate / 50, ns = 0, nn = 0;
	double es = 0, en = 0;

	for (size_t k = (size_t)(from_s * 50); (k + 1) * frame <= s->n; k++) {
		enum ce_speech_kind kind = ce_speech_frame_kind(s, k, frame);
		double e = pow(10, ce_speech_db(pcm + k * frame, frame) / 10);

		if (kind == CE_SPEECH_SPEECH) {
			es += e;
			ns++;
		} else if (kind == CE_SPEECH_NOISE) {
			en += e;
			nn++;
		}
	}
	lv->speech_db = ns ? 10 * log10(es / ns + 1e-12) : -120;
	lv->noise_db = nn ? 10 * log10(en / nn + 1e-12) : -120;
	lv->snr_db = lv->speech_db - lv->noise_db;
}

/**
 * Speech eaten: of @s's speech frames that stand STRONG_DB above its noise
 * (@strong counts them), those whose level in @out is more than @drop_db
 * below the input's.  Only those frames: elsewhere in a label a suppressor
 * rightly lowers the noise between words.
 */
unsigned ce_speech_eaten(
        const struct ce_speech_set *s, const int16_t *out, double drop_db, unsigned *strong)
{
	struct ce_speech_levels in;
	unsigned frame = s->rate / 50, eaten = 0;

	ce_speech_levels(s, s->pcm, 0, &in);
	*strong = 0;
	for (size_t k = 0; (k + 1) * frame <= s->n; k++) {
		double db = ce_speech_db(s->pcm + k * frame, frame);

		if (ce_speech_frame_kind(s, k, frame) != CE_SPEECH_SPEECH ||
		        db < in.noise_db + STRONG_DB)
			continue;
		(*strong)++;
		eaten += ce_speech_db(out + k * frame, frame) < db - drop_db;
	}
	return eaten;
}

/** @s's noise frames end to end (a call where nobody speaks), @n samples; g_free() it. */
int16_t *ce_speech_noise_only(const struct ce_speech_set *s, size_t *n)
{
	unsigned frame = s->rate / 50;
	int16_t *pcm = g_new(int16_t, s->n);

	*n = 0;
	for (size_t k = 0; (k + 1) * frame <= s->n; k++)
		if (ce_speech_frame_kind(s, k, frame) == CE_SPEECH_NOISE) {
			memcpy(pcm + *n, s->pcm + k * frame, frame * sizeof(*pcm));
			*n += frame;
		}
	return pcm;
}

/** Samples at full scale (|x| >= 32767) in @out where @in had none. */
size_t ce_speech_new_full_scale(const int16_t *in, const int16_t *out, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += (out[i] >= 32767 || out[i] <= -32767) && in[i] < 32767 && in[i] > -32767;
	return c;
}
