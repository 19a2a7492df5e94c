/* expect.c - the scenario's assertions: what phones hear, their state, events and messages seen */
/*
 *   expect heard LABEL HZ [window=MS] [min=RATIO]   tone HZ dominates the last MS of audio
 *   expect silent LABEL [window=MS] [max=DBFS]      the last MS are quieter than DBFS (-45)
 *   expect audio LABEL [window=MS] [min=DBFS]       something louder than DBFS (-45) was heard
 *   expect state LABEL calling|ringing|connected|answered|hungup|rejected|incall
 *   expect event NAME [key=value...]                some event so far has these fields
 *   expect message NAME [key=value...]              some dispatched message had these parameters
 *   expect not event|message ...                    none did
 *
 * Each result is an "expect" event; a failed one makes the run fail.
 */
#define G_LOG_DOMAIN "sim"

#include <math.h>
#include <string.h>

#include "sim.h"

/** Remember the last state of phone @label for "expect state". */
void ce_sim_set_state(struct sim *s, const char *label, const char *state)
{
	if (!label)
		return;
	g_hash_table_replace(s->states, g_strdup(label), g_strdup(state));
	ce_sim_scenario_state(s, label, state);
}

static double opt(char **a, const char *key, double def)
{
	size_t kl = strlen(key);

	for (; *a; a++) {
		if (!strncmp(*a, key, kl) && (*a)[kl] == '=')
			return g_ascii_strtod(*a + kl + 1, NULL);
	}
	return def;
}

/* The last @ms of what @label heard, or NULL (with *n = 0). */
static int16_t *heard(struct sim *s, const char *label, unsigned ms, unsigned *n)
{
	struct sim_chan *c = ce_sim_chan_by_label(s, label);
	struct sim_phone *ph = c ? c->phone : NULL;
	int16_t *out;
	unsigned i, want = ms * 8;

	*n = 0;
	if (!ph || !ph->heard_len)
		return NULL;
	want = MIN(MIN(want, ph->heard_len), SIM_HEARD_SAMPLES);
	out = g_new(int16_t, want);
	for (i = 0; i < want; i++)
		out[i] = ph->heard[(ph->heard_pos + SIM_HEARD_SAMPLES - want + i) %
		                   SIM_HEARD_SAMPLES];
	*n = want;
	return out;
}

static void result(struct sim *s, int lineno, const char *text, bool ok, const char *detail)
{
	ce_sim_event(s, "expect", "\"line\":%d,\"ok\":%s,\"what\":%s,\"detail\":%s", lineno,
	        ok ? "true" : "false", ce_sim_json(text), ce_sim_json(detail));
	if (!ok)
		ce_sim_fail(s, "expect", "line %d: expect %s: %s", lineno, text, detail);
}

static bool audio_check(struct sim *s, char **a, char **detail)
{
	unsigned n, window = (unsigned)opt(a, "window", 1000);
	int16_t *pcm = heard(s, a[1], window, &n);
	double level = pcm ? ce_sim_rms_dbfs(pcm, n) : -120;
	bool ok = false;

	if (!pcm) {
		*detail = g_strdup_printf("%s heard nothing (not in a call, or no RTP)", a[1]);
		return false;
	}
	if (!strcmp(a[0], "heard") && a[2]) {
		double hz = g_ascii_strtod(a[2], NULL), min = opt(a + 3, "min", 0.5);
		double r = ce_sim_goertzel_ratio(pcm, n, hz, 8000);
		ok = r >= min;
		*detail = g_strdup_printf("%.0f Hz holds %.2f of the energy (want >= %.2f), level "
		                          "%.1f dBFS over %u ms",
		        hz, r, min, level, n / 8);
	} else if (!strcmp(a[0], "silent")) {
		double max = opt(a + 2, "max", -45);
		ok = level <= max;
		*detail = g_strdup_printf(
		        "level %.1f dBFS (want <= %.1f) over %u ms", level, max, n / 8);
	} else {
		double min = opt(a + 2, "min", -45);
		ok = level >= min;
		*detail = g_strdup_printf(
		        "level %.1f dBFS (want >= %.1f) over %u ms", level, min, n / 8);
	}
	g_free(pcm);
	return ok;
}

static bool state_check(struct sim *s, char **a, char **detail)
{
	const char *st = a[1] ? g_hash_table_lookup(s->states, a[1]) : NULL;
	const char *want = a[1] ? a[2] : NULL;
	bool ok;

	if (!want) {
		*detail = g_strdup("usage: expect state LABEL STATE");
		return false;
	}
	if (!strcmp(want, "incall"))
		ok = st && (!strcmp(st, "connected") || !strcmp(st, "answered") ||
		                   !strcmp(st, "ringing"));
	else
		ok = !g_strcmp0(st, want);
	*detail = g_strdup_printf("%s is %s", a[1], st ? st : "unknown");
	return ok;
}

/* Whether one logged JSON line has "ev"/"name" @name and every key=value. */
static bool line_matches(const char *line, bool message, const char *name, char **kv)
{
	char *pat = g_strdup_printf(
	        message ? "\"ev\":\"message\",\"name\":%s" : "\"ev\":%s", ce_sim_json(name));
	bool ok = strstr(line, pat) != NULL;

	g_free(pat);
	for (; ok && *kv; kv++) {
		char *eq = strchr(*kv, '='), *k;
		if (!eq)
			return false;
		k = g_strndup(*kv, eq - *kv);
		pat = g_strdup_printf("%s:%s", ce_sim_json(k), ce_sim_json(eq + 1));
		ok = strstr(line, pat) != NULL;
		g_free(pat);
		g_free(k);
	}
	return ok;
}

static bool history_check(struct sim *s, char **a, bool negate, char **detail)
{
	bool message = !strcmp(a[0], "message");
	unsigned i, hits = 0;

	if (!a[1] || (!message && strcmp(a[0], "event"))) {
		*detail = g_strdup("usage: expect [not] event|message NAME [key=value...]");
		return false;
	}
	for (i = 0; s->history && i < s->history->len; i++) {
		if (line_matches(s->history->pdata[i], message, a[1], a + 2))
			hits++;
	}
	*detail = g_strdup_printf("%u matching %s%s so far", hits, message ? "message" : "event",
	        hits == 1 ? "" : "s");
	return negate ? hits == 0 : hits > 0;
}

/** Evaluate one "expect ..." step now (@argv without the word expect). */
void ce_sim_expect(struct sim *s, char **argv, int lineno)
{
	char *text = g_strjoinv(" ", argv), *detail = NULL;
	bool ok;

	if (!strcmp(argv[0], "heard") || !strcmp(argv[0], "silent") || !strcmp(argv[0], "audio"))
		ok = argv[1] && audio_check(s, argv, &detail);
	else if (!strcmp(argv[0], "state"))
		ok = state_check(s, argv, &detail);
	else if (!strcmp(argv[0], "not") && argv[1])
		ok = history_check(s, argv + 1, true, &detail);
	else
		ok = history_check(s, argv, false, &detail);
	result(s, lineno, text, ok, detail ? detail : "bad arguments");
	g_free(detail);
	g_free(text);
}
