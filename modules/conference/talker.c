/* talker.c - per-leg talker detection: adaptive noise floor, hysteresis, hangover
 *
 * Each frame's level is the mean square of the pre-emphasised signal
 * (y = x[n] - 0.9 x[n-1]: it flattens rumble and hum, which carry much
 * energy and no speech), in dB.  The noise floor follows the level down at
 * once and climbs slowly, more slowly still during a talk.  A talk starts
 * when start_frames frames in a row are start_db above the floor, or one
 * frame burst_db above it; it goes on while frames stay stay_db above and
 * ends hangover_ms after the last one.  The energy reported in Yate's
 * "speaking" notification is computed like Yate's conference module does:
 * log2 of an envelope of the plain signal's mean square (fast attack, slow
 * decay), so a tone gives the same 20-something numbers.
 */
#define G_LOG_DOMAIN "media"
#include <math.h>
#include <string.h>

#include "talker.h"

/** Fill conf with the defaults. */
void ce_talker_conf_default(struct ce_talker_conf *conf)
{
	conf->start_db = 9.0f;
	conf->start_frames = 2;
	conf->burst_db = 15.0f;
	conf->stay_db = 6.0f;
	conf->hangover_ms = 400;
	conf->min_dbfs = -58.0f;
	conf->rise_db_s = 2.0f;
	conf->rise_talk_db_s = 0.25f;
}

/** Initialise t with conf (NULL: defaults). */
void ce_talker_init(struct ce_talker *t, const struct ce_talker_conf *conf)
{
	memset(t, 0, sizeof(*t));
	if (conf)
		t->conf = *conf;
	else
		ce_talker_conf_default(&t->conf);
	t->env2 = 256.0f;
}

/* Mean squares of the pre-emphasised (*pe) and of the plain signal (return). */
static float measure(struct ce_talker *t, const int16_t *pcm, unsigned n, float *pe)
{
	int64_t sum = 0, sum_pe = 0;
	int32_t prev = t->last;

	for (unsigned i = 0; i < n; i++) {
		int32_t x = pcm[i];
		int32_t y = x - ((prev * 29) >> 5);

		sum += x * x;
		sum_pe += (int64_t)y * y;
		prev = x;
	}
	t->last = (int16_t)prev;
	*pe = (float)sum_pe / (float)n;
	return (float)sum / (float)n;
}

static void update_floor(struct ce_talker *t, float db)
{
	float rise = t->active ? t->conf.rise_talk_db_s : t->conf.rise_db_s;

	if (!t->primed) {
		t->floor_db = db;
		t->primed = true;
	} else if (db < t->floor_db) {
		t->floor_db += (db - t->floor_db) * 0.5f;
	} else {
		t->floor_db += rise * (float)t->frame_ms / 1000.0f;
		if (t->floor_db > db)
			t->floor_db = db;
	}
}

static enum ce_talker_ev decide(struct ce_talker *t, float db)
{
	float above = db - t->floor_db;
	bool loud = db >= t->conf.min_dbfs;

	t->above = (loud && above >= t->conf.start_db) ? t->above + 1 : 0;
	if (!t->active) {
		if (t->above >= t->conf.start_frames || (loud && above >= t->conf.burst_db)) {
			t->active = true;
			t->below_ms = 0;
			return CE_TALKER_START;
		}
		return CE_TALKER_NONE;
	}
	if (loud && above >= t->conf.stay_db) {
		t->below_ms = 0;
		return CE_TALKER_NONE;
	}
	t->below_ms += t->frame_ms;
	if (t->below_ms < t->conf.hangover_ms)
		return CE_TALKER_NONE;
	t->active = false;
	return CE_TALKER_STOP;
}

/* dB relative to a full-scale square wave's mean square. */
static float to_db(float ms)
{
	return 10.0f * log10f(ms + 1.0f) - 90.3f;
}

/**
 * Feed one frame of n samples at rate Hz.  Returns CE_TALKER_START or
 * CE_TALKER_STOP when the talk state changes with this frame.
 */
enum ce_talker_ev ce_talker_frame(struct ce_talker *t, const int16_t *pcm, unsigned n,
	unsigned rate)
{
	float pe, ms;
	enum ce_talker_ev ev;

	if (n == 0 || rate == 0)
		return CE_TALKER_NONE;
	t->frame_ms = n * 1000 / rate;
	ms = measure(t, pcm, n, &pe);
	t->level_db = to_db(pe);
	/* Decide against the floor before this frame can raise it. */
	ev = decide(t, t->level_db);
	update_floor(t, t->level_db);
	if (ms > t->env2)
		t->env2 += (ms - t->env2) / 8.0f;
	else
		t->env2 += (ms - t->env2) / 16.0f;
	return ev;
}

/** A frame of n samples with nothing received: counts as silence. */
enum ce_talker_ev ce_talker_silence(struct ce_talker *t, unsigned n, unsigned rate)
{
	if (n == 0 || rate == 0)
		return CE_TALKER_NONE;
	t->frame_ms = n * 1000 / rate;
	t->above = 0;
	t->env2 -= t->env2 / 16.0f;
	if (!t->active)
		return CE_TALKER_NONE;
	t->below_ms += t->frame_ms;
	if (t->below_ms < t->conf.hangover_ms)
		return CE_TALKER_NONE;
	t->active = false;
	return CE_TALKER_STOP;
}

/** Yate-comparable energy: log2 of the mean-square envelope (22..25 for a tone). */
unsigned ce_talker_energy(const struct ce_talker *t)
{
	unsigned v = t->env2 < 1.0f ? 1u : (unsigned)t->env2;

	return 31u - (unsigned)__builtin_clz(v);
}
