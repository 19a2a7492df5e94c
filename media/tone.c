/* tone.c - Yate's tone/ names as cadences, synthesised sample by sample (see tone.h)
 *
 * The frequencies and cadences are the standard ones Yate's tonegen plays
 * by default (its tables approximate 425 Hz by 421 Hz, 1400 Hz by 1455 Hz;
 * here every frequency is exact).  Levels: single tones peak at 10000
 * (about -10 dBm0), each component of a DTMF pair at 7000, the milliwatt
 * at 22600 (0 dBm0).
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <glib.h>

#include "tone.h"

#define AMP      10000
#define AMP_DTMF 7000
#define AMP_MW   22600

struct cadence {
	const char *name, *alias;
	struct ce_tone_seg seg[8];
};

/* Segments end at the first one with ms == 0. */
static const struct cadence s_cadences[] = {
        {"dial", "dt", {{425, 0, 1000, AMP}}},
        {"busy", "bs", {{425, 0, 500, AMP}, {0, 0, 500, 0}}},
        {"ring", "rt", {{425, 0, 1000, AMP}, {0, 0, 4000, 0}}},
        {"specdial", "sd", {{425, 0, 950, AMP}, {0, 0, 50, 0}}},
        {"congestion", "cg", {{425, 0, 250, AMP}, {0, 0, 250, 0}}},
        {"outoforder", "oo",
                {{425, 0, 100, AMP}, {0, 0, 100, 0}, {425, 0, 100, AMP}, {0, 0, 100, 0},
                        {425, 0, 100, AMP}, {0, 0, 100, 0}, {425, 0, 200, AMP}, {0, 0, 200, 0}}},
        {"info", "in",
                {{950, 0, 330, AMP}, {0, 0, 30, 0}, {1400, 0, 330, AMP}, {0, 0, 30, 0},
                        {1800, 0, 330, AMP}, {0, 0, 1000, 0}}},
        {"milliwatt", "mw", {{1000, 0, 1000, AMP_MW}}},
        {"silence", NULL, {{0, 0, 1000, 0}}},
};

static const char s_digits[] = "123a456b789c*0#d"; /* the keypad, row by row */
static const uint16_t s_rows[] = {697, 770, 852, 941};
static const uint16_t s_cols[] = {1209, 1336, 1477, 1633};

static void add(struct ce_tone *t, uint16_t f1, uint16_t f2, uint16_t ms, uint16_t amp)
{
	g_return_if_fail(t->n < CE_TONE_MAX_SEGS);
	t->seg[t->n++] = (struct ce_tone_seg){f1, f2, ms, amp};
	t->cycle_ms += ms;
}

/* Yate's DTMF: 40 ms gap, 120 ms of the pair, 40 ms gap per digit. */
static int add_digits(struct ce_tone *t, const char *digits)
{
	size_t n = strlen(digits);

	if (!n)
		return -EINVAL;
	if (n > CE_TONE_MAX_DIGITS)
		return -E2BIG;
	for (size_t i = 0; i < n; i++) {
		const char *d = strchr(s_digits, g_ascii_tolower(digits[i]));
		unsigned k;

		if (!d || !*d)
			return -EINVAL;
		k = (unsigned)(d - s_digits);
		add(t, 0, 0, 40, 0);
		add(t, s_rows[k / 4], s_cols[k % 4], 120, AMP_DTMF);
		add(t, 0, 0, 40, 0);
	}
	t->dtmf = true;
	return 0;
}

/**
 * Fill @t with the cadence of Yate's tone @name (without "tone/"): a name
 * or alias of tone.h, dtmf/D, a lone digit D, or dtmfstr/DIGITS.  Returns
 * 0, -EINVAL for an unknown name or digit, -E2BIG for more than
 * CE_TONE_MAX_DIGITS digits.
 */
int ce_tone_parse(struct ce_tone *t, const char *name)
{
	int err = -EINVAL;

	memset(t, 0, sizeof(*t));
	if (!name || strlen(name) >= sizeof(t->name))
		return name && g_str_has_prefix(name, "dtmfstr/") ? -E2BIG : -EINVAL;
	for (unsigned i = 0; i < G_N_ELEMENTS(s_cadences); i++) {
		const struct cadence *c = &s_cadences[i];

		if (strcmp(name, c->name) && (!c->alias || strcmp(name, c->alias)))
			continue;
		for (unsigned k = 0; k < G_N_ELEMENTS(c->seg) && c->seg[k].ms; k++)
			add(t, c->seg[k].f1, c->seg[k].f2, c->seg[k].ms, c->seg[k].amp);
		g_strlcpy(t->name, c->name, sizeof(t->name));
		return 0;
	}
	if (g_str_has_prefix(name, "dtmfstr/"))
		err = add_digits(t, name + strlen("dtmfstr/"));
	else if (g_str_has_prefix(name, "dtmf/") && strlen(name) == strlen("dtmf/") + 1)
		err = add_digits(t, name + strlen("dtmf/"));
	else if (strlen(name) == 1)
		err = add_digits(t, name);
	if (err)
		memset(t, 0, sizeof(*t));
	else
		g_strlcpy(t->name, name, sizeof(t->name));
	return err;
}

/**
 * Start generating @t at @rate for @duration_ms (0: the tone's natural
 * length, one pass of its cadence).  @t must outlive the generator.
 */
void ce_tone_gen_init(
        struct ce_tone_gen *g, const struct ce_tone *t, unsigned rate, unsigned duration_ms)
{
	memset(g, 0, sizeof(*g));
	g->t = t;
	g->rate = rate;
	g->left = (uint64_t)(duration_ms ? duration_ms : t->cycle_ms) * rate / 1000;
}

static int16_t sample(struct ce_tone_gen *g, const struct ce_tone_seg *s)
{
	double v = 0;

	if (s->f1)
		v += sin(2 * G_PI * g->ph1);
	if (s->f2)
		v += sin(2 * G_PI * g->ph2);
	g->ph1 += (double)s->f1 / g->rate;
	g->ph2 += (double)s->f2 / g->rate;
	g->ph1 -= floor(g->ph1);
	g->ph2 -= floor(g->ph2);
	return (int16_t)lrint(v * s->amp);
}

/**
 * Up to @n next samples of the tone into @pcm; the rest of @pcm, after the
 * tone's end, is zeroed.  Returns how many samples were the tone's (less
 * than @n once it ends, 0 after).
 */
unsigned ce_tone_gen_run(struct ce_tone_gen *g, int16_t *pcm, unsigned n)
{
	unsigned i = 0;

	for (; i < n && g->left && g->t->n; i++, g->left--) {
		const struct ce_tone_seg *s = &g->t->seg[g->seg];

		pcm[i] = sample(g, s);
		if (++g->seg_pos >= (uint64_t)s->ms * g->rate / 1000) {
			g->seg_pos = 0;
			g->seg = (g->seg + 1) % g->t->n;
			g->ph1 = g->ph2 = 0;
		}
	}
	memset(pcm + i, 0, (n - i) * sizeof(int16_t));
	return i;
}
