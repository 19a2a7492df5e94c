/* talker.c - per-leg talker detection: adaptive noise floor, hysteresis, hangover
 *
 * Frames are judged in blocks of 10 ms.  A block's level is the mean
 * square, in dB, of the signal through a short band-pass FIR,
 * (1 + z^-1)^4 (1 - z^-1) / 8: it has zeros at 0 Hz and at 4 kHz and its
 * peak near 1.2 kHz, so it drops rumble, hum and hiss, which carry much
 * energy and no speech, and it vectorises.  The noise floor is the quietest frame of
 * the last window_ms (minimum statistics over ten parts of the window), so
 * it follows the noise up and down; during a talk it is held at its value
 * from the talk's start (it may still fall) unless the talk has gone on for
 * a whole window, which is then taken as a new, louder noise.  A talk
 * starts when start_frames blocks in a row are start_db above the floor,
 * or one block burst_db above it; it goes on while blocks stay stay_db
 * above and ends hangover_ms after the last one.  Nothing is decided in
 * the first settle_ms of a call, while the floor is learnt.
 *
 * The energy reported in Yate's "speaking" notification is computed the
 * way Yate's conference module does it: log2 of an envelope (fast attack,
 * slow decay) of the plain signal's mean square, so a tone gives the same
 * 20-something numbers.
 */
#define G_LOG_DOMAIN "media"
#include <math.h>
#include <string.h>

#include "talker.h"

#define NO_LEVEL 1000.0f

/** Fill conf with the defaults. */
void ce_talker_conf_default(struct ce_talker_conf *conf)
{
	conf->start_db = 6.0f;
	conf->start_frames = 2;
	conf->burst_db = 12.0f;
	conf->stay_db = 6.0f;
	conf->hangover_ms = 400;
	conf->min_dbfs = -58.0f;
	conf->window_ms = 2000;
	conf->settle_ms = 100;
}

/** Initialise t with conf (NULL: defaults). */
void ce_talker_init(struct ce_talker *t, const struct ce_talker_conf *conf)
{
	memset(t, 0, sizeof(*t));
	if (conf)
		t->conf = *conf;
	else
		ce_talker_conf_default(&t->conf);
	if (t->conf.window_ms < CE_TALKER_WINDOW_PARTS * 20)
		t->conf.window_ms = CE_TALKER_WINDOW_PARTS * 20;
	t->env2 = 256.0f;
	t->cur_min = NO_LEVEL;
	for (int i = 0; i < CE_TALKER_WINDOW_PARTS; i++)
		t->sub_min[i] = NO_LEVEL;
}

/* Mean squares of the band-passed (*bp) and of the plain signal (return). */
static float measure(struct ce_talker *t, const int16_t *pcm, unsigned n, float *bp)
{
	int64_t sum = 0, sum_bp = 0;
	int32_t h[5];

	for (unsigned k = 0; k < 5; k++)
		h[k] = t->hist[k];
	for (unsigned i = 0; i < n; i++) {
		int32_t x = pcm[i];
		int32_t y = x + 3 * h[0] + 2 * h[1] - 2 * h[2] - 3 * h[3] - h[4];

		sum += x * x;
		sum_bp += (int64_t)y * y;
		h[4] = h[3];
		h[3] = h[2];
		h[2] = h[1];
		h[1] = h[0];
		h[0] = x;
	}
	for (unsigned k = 0; k < 5; k++)
		t->hist[k] = (int16_t)h[k];
	*bp = (float)sum_bp / (float)n / 64.0f;
	return (float)sum / (float)n;
}

static float window_min(const struct ce_talker *t)
{
	float m = t->cur_min;

	for (int i = 0; i < CE_TALKER_WINDOW_PARTS; i++)
		m = fminf(m, t->sub_min[i]);
	return m;
}

static void track_min(struct ce_talker *t, float db)
{
	t->cur_min = fminf(t->cur_min, db);
	t->sub_ms += t->frame_ms;
	if (t->sub_ms < t->conf.window_ms / CE_TALKER_WINDOW_PARTS)
		return;
	t->sub_min[t->sub_idx] = t->cur_min;
	t->sub_idx = (t->sub_idx + 1) % CE_TALKER_WINDOW_PARTS;
	t->cur_min = NO_LEVEL;
	t->sub_ms = 0;
}

static void update_floor(struct ce_talker *t)
{
	float m = window_min(t);

	if (!t->active || t->talk_ms >= t->conf.window_ms)
		t->floor_db = m;
	else
		t->floor_db = fminf(t->start_floor, m);
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
			t->talk_ms = 0;
			t->start_floor = t->floor_db;
			return CE_TALKER_START;
		}
		return CE_TALKER_NONE;
	}
	t->talk_ms += t->frame_ms;
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

static void envelope(struct ce_talker *t, float ms)
{
	if (ms > t->env2)
		t->env2 += (ms - t->env2) / 8.0f;
	else
		t->env2 += (ms - t->env2) / 16.0f;
}

/* Judge one block of n samples lasting block_ms; *ms gets its plain mean square. */
static enum ce_talker_ev block(struct ce_talker *t, const int16_t *pcm, unsigned n,
	unsigned block_ms, float *ms)
{
	enum ce_talker_ev ev = CE_TALKER_NONE;
	float bp;

	t->frame_ms = block_ms;
	*ms = measure(t, pcm, n, &bp);
	t->level_db = to_db(bp);
	if (t->seen_ms >= t->conf.settle_ms) {
		update_floor(t);
		ev = decide(t, t->level_db);
	} else {
		t->seen_ms += block_ms;
	}
	track_min(t, t->level_db);
	return ev;
}

/**
 * Feed one frame of n samples at rate Hz, judged in 10 ms blocks.  Returns
 * CE_TALKER_START or CE_TALKER_STOP when the talk state changes with this
 * frame (a stop and a new start within one frame cancel out).
 */
enum ce_talker_ev ce_talker_frame(struct ce_talker *t, const int16_t *pcm, unsigned n,
	unsigned rate)
{
	enum ce_talker_ev ev = CE_TALKER_NONE;
	unsigned blk = rate / 100;
	float sum = 0.0f;

	if (n == 0 || rate == 0)
		return CE_TALKER_NONE;
	if (blk == 0 || n % blk != 0)
		blk = n;
	for (unsigned off = 0; off < n; off += blk) {
		float ms;
		enum ce_talker_ev e = block(t, pcm + off, blk, blk * 1000 / rate, &ms);

		sum += ms * (float)blk;
		if (e != CE_TALKER_NONE)
			ev = ev == CE_TALKER_NONE ? e : CE_TALKER_NONE;
	}
	envelope(t, sum / (float)n);
	return ev;
}

/** A frame of n samples with nothing received: counts as silence. */
enum ce_talker_ev ce_talker_silence(struct ce_talker *t, unsigned n, unsigned rate)
{
	if (n == 0 || rate == 0)
		return CE_TALKER_NONE;
	t->frame_ms = n * 1000 / rate;
	t->above = 0;
	envelope(t, 0.0f);
	if (!t->active)
		return CE_TALKER_NONE;
	t->talk_ms += t->frame_ms;
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
