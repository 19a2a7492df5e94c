/* gain.h - a leg's volume: gains in dB as Q12 factors, applied with saturation */
#ifndef CE_GAIN_H
#define CE_GAIN_H

#include <stddef.h>
#include <stdint.h>

/* The factor of 0 dB; a gain is at most CE_GAIN_MAX_DB each way. */
#define CE_GAIN_UNITY  4096
#define CE_GAIN_MAX_DB 24

int32_t ce_gain_q12(int db);
void ce_gain_apply(int16_t *pcm, size_t n, int32_t q12);

#endif
