/* speechset.h - the labelled talker sets (tests/data/talker) as audio to measure: levels, SNR */
#ifndef CE_SPEECHSET_H
#define CE_SPEECHSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CE_SPEECH_MAX_LABELS 64

/* One set: its audio at the rate asked and where the speech is. */
struct ce_speech_set {
	int16_t *pcm;
	size_t n;      /* samples */
	unsigned rate; /* Hz */
	unsigned nlab;
	double lab[CE_SPEECH_MAX_LABELS][2]; /* speech from, to (s) */
};

/* What a 20 ms frame of a set is, by its labels. */
enum ce_speech_kind {
	CE_SPEECH_EDGE = 0, /* near a label's ends or in the first second: left out */
	CE_SPEECH_SPEECH,   /* all inside a label */
	CE_SPEECH_NOISE,    /* noise alone, away from every label */
};

/* The levels of one version of a set (dB re full scale, mean square). */
struct ce_speech_levels {
	double speech_db; /* the speech frames' mean level */
	double noise_db;  /* the noise frames' */
	double snr_db;    /* their difference: speech-to-noise ratio */
};

int ce_speech_set_load(struct ce_speech_set *s, const char *wav, unsigned rate, bool ulaw);
void ce_speech_set_clear(struct ce_speech_set *s);
enum ce_speech_kind ce_speech_frame_kind(const struct ce_speech_set *s, size_t k, unsigned frame);
double ce_speech_db(const int16_t *pcm, size_t n);
void ce_speech_levels(const struct ce_speech_set *s, const int16_t *pcm, double from_s,
        struct ce_speech_levels *lv);
unsigned ce_speech_eaten(
        const struct ce_speech_set *s, const int16_t *out, double drop_db, unsigned *strong);
int16_t *ce_speech_noise_only(const struct ce_speech_set *s, size_t *n);
size_t ce_speech_new_full_scale(const int16_t *in, const int16_t *out, size_t n);

#endif
