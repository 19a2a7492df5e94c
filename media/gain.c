/* gain.c - a leg's volume: gains in dB as Q12 factors, applied with saturation */
#include <math.h>

#include "gain.h"

/** The Q12 factor of @db (clamped to +-CE_GAIN_MAX_DB): 4096 for 0 dB, 8172 for +6. */
int32_t ce_gain_q12(int db)
{
	if (db > CE_GAIN_MAX_DB)
		db = CE_GAIN_MAX_DB;
	if (db < -CE_GAIN_MAX_DB)
		db = -CE_GAIN_MAX_DB;
	return (int32_t)lround(CE_GAIN_UNITY * pow(10.0, db / 20.0));
}

/** Scale @n samples by @q12 / 4096, rounded, saturating to the int16 range (symmetric). */
void ce_gain_apply(int16_t *pcm, size_t n, int32_t q12)
{
	for (size_t i = 0; i < n; i++) {
		int32_t v = (pcm[i] * q12 + CE_GAIN_UNITY / 2) >> 12;

		pcm[i] = (int16_t)(v > 32767 ? 32767 : v < -32767 ? -32767 : v);
	}
}
