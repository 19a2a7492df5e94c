/* dsp.h - a leg's noise suppression and automatic gain control (speexdsp's preprocessor) */
#ifndef CE_DSP_H
#define CE_DSP_H

#include <stdbool.h>
#include <stdint.h>

/*
 * One leg's speech clean-up, run on its decoded frames before they reach
 * the mixer: a noise suppressor and an automatic gain control that brings
 * quiet and loud talkers towards one speech level without ever clipping.
 * ce_dsp_new() allocates (call it off the media thread); ce_dsp_process()
 * never allocates, locks or blocks.  A state belongs to one leg and one
 * thread; give it every frame that carries the leg's audio (concealed
 * ones too) and none for a tick with nothing from the far end, so that
 * its noise estimate is not pulled down by made-up silence.  Run the
 * talker detector on the frame before it (docs/media.md).  Why speexdsp and how it was tuned:
 * docs/media.md ("Noise suppression and gain control"), bench/bench-dsp.c.
 */
struct ce_dsp;

/* speexdsp's AGC level (its own loudness scale): 6000 brings speech to
 * about -28 dBFS on the talker sets, and raises loud noise alone by at
 * most 5 dB (8000, its default, gives -26 dBFS and 7 dB); bench-dsp. */
#define CE_DSP_AGC_LEVEL 6000
/* The most AGC adds (dB): enough for a talker 20 dB down. */
#define CE_DSP_AGC_MAX_GAIN_DB 20
/* How far the noise suppressor lowers the noise (dB; speexdsp's default
 * is -15, which gains 2 dB less SNR and eats no less speech). */
#define CE_DSP_NS_DB (-20)

struct ce_dsp *ce_dsp_new(unsigned rate, unsigned frame, bool ns, bool agc);
void ce_dsp_process(struct ce_dsp *d, int16_t *pcm);
unsigned ce_dsp_frame(const struct ce_dsp *d);
void ce_dsp_free(struct ce_dsp *d);

#endif
