/* dsp.c - a leg's noise suppression and automatic gain control (speexdsp's preprocessor) */
#include <stdlib.h>
#include <speex/speex_preprocess.h>

#include "dsp.h"

struct ce_dsp {
	SpeexPreprocessState *pp;
	unsigned frame;
	bool agc;
};

/**
 * A preprocessor for frames of @frame samples at @rate Hz (8000..48000; a
 * frame 10..40 ms long), with noise suppression (@ns) and automatic gain
 * control (@agc).  Returns NULL when the parameters are out of range or
 * neither is asked.  Allocates: create it off the media thread.
 */
struct ce_dsp *ce_dsp_new(unsigned rate, unsigned frame, bool ns, bool agc)
{
	struct ce_dsp *d;
	int on = 1, off = 0, v;
	float level = CE_DSP_AGC_LEVEL;

	if (rate < 8000 || rate > 48000 || frame < rate / 100 || frame > rate / 25 || !(ns || agc))
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->pp = speex_preprocess_state_init((int)frame, (int)rate);
	if (!d->pp) {
		free(d);
		return NULL;
	}
	d->frame = frame;
	d->agc = agc;
	speex_preprocess_ctl(d->pp, SPEEX_PREPROCESS_SET_DENOISE, ns ? &on : &off);
	v = CE_DSP_NS_DB;
	speex_preprocess_ctl(d->pp, SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, &v);
	speex_preprocess_ctl(d->pp, SPEEX_PREPROCESS_SET_AGC, agc ? &on : &off);
	speex_preprocess_ctl(d->pp, SPEEX_PREPROCESS_SET_AGC_LEVEL, &level);
	v = CE_DSP_AGC_MAX_GAIN_DB;
	speex_preprocess_ctl(d->pp, SPEEX_PREPROCESS_SET_AGC_MAX_GAIN, &v);
	speex_preprocess_ctl(d->pp, SPEEX_PREPROCESS_SET_DEREVERB, &off);
	return d;
}

/** Processes one frame of @pcm in place (the frame size given to ce_dsp_new()). */
void ce_dsp_process(struct ce_dsp *d, int16_t *pcm)
{
	speex_preprocess_run(d->pp, pcm);
}

/** The frame size @d was made for, in samples. */
unsigned ce_dsp_frame(const struct ce_dsp *d)
{
	return d->frame;
}

/** Frees @d (NULL is fine). */
void ce_dsp_free(struct ce_dsp *d)
{
	if (!d)
		return;
	speex_preprocess_state_destroy(d->pp);
	free(d);
}
