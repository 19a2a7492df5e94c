/* bench-rex.c - time of one dialplan match against the value's length, and why back-references
 * are refused */
/*
 * For each pattern: the time of one ce_rex_match() (captures on, as the
 * dialplan matches) on values of 64 to 1024 bytes (CE_REX_MAX_SUBJECT)
 * that do not match, the costly case.  Then the same growth for patterns
 * with back-references, which ce_rex_new() refuses, timed on glibc
 * directly, stopping at the first length that takes over a second.
 *
 *   bench/bench-rex
 */
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>

#include "modules/dialplan/rex.h"

static const unsigned lens[] = {64, 256, 1024};

static char *subject(unsigned len)
{
	char *s = g_malloc(len + 1);
	unsigned i;

	for (i = 0; i < len; i++)
		s[i] = "a0b1"[i % 4];
	s[len] = '\0';
	return s;
}

/* Seconds per regexec() of @re on @s, over at least 0.2 s (or one try). */
static double time_match(const regex_t *re, const struct ce_rex *rex, const char *s)
{
	struct ce_rex_caps caps;
	regmatch_t m[9];
	gint64 t0 = g_get_monotonic_time(), t;
	unsigned n = 0;

	do {
		if (rex)
			ce_rex_match(rex, s, &caps);
		else
			regexec(re, s, G_N_ELEMENTS(m), m, 0);
		n++;
		t = g_get_monotonic_time() - t0;
	} while (t < 200000);
	return (double)t / 1e6 / n;
}

static void dialplan_patterns(void)
{
	static const char *const pats[] = {"^800$", "^8\\(..\\)$", "^\\(.*\\)$", ".*x$",
	        "^\\(\\(a\\|0\\|b\\|1\\)*\\)*x$", "\\(.*\\)\\{1,255\\}\\(.*\\)\\{1,255\\}x",
	        "\\(\\(.\\{1,20\\}\\)\\{1,20\\}\\)\\{1,20\\}x"};
	unsigned i, j;

	printf("%-48s", "pattern (dialplan, no match)");
	for (j = 0; j < G_N_ELEMENTS(lens); j++)
		printf(" %8u B", lens[j]);
	printf("\n");
	for (i = 0; i < G_N_ELEMENTS(pats); i++) {
		struct ce_rex *r = NULL;
		if (ce_rex_new(&r, pats[i], 0, NULL) < 0)
			g_error("'%s' does not compile", pats[i]);
		printf("%-48s", pats[i]);
		for (j = 0; j < G_N_ELEMENTS(lens); j++) {
			char *s = subject(lens[j]);
			printf(" %8.1f us", time_match(NULL, r, s) * 1e6);
			fflush(stdout);
			g_free(s);
		}
		printf("\n");
		ce_rex_free(r);
	}
}

static void backref_patterns(void)
{
	static const char *const pats[] = {"\\(a*\\)*\\1$", "^\\(\\(a*\\)\\2\\)*b$"};
	unsigned i, len;
	double t;

	printf("\nback-references (refused by the dialplan; glibc alone, value of 'a's)\n");
	for (i = 0; i < G_N_ELEMENTS(pats); i++) {
		struct ce_rex *refused = NULL;
		regex_t re;
		if (ce_rex_new(&refused, pats[i], 0, NULL) == 0)
			g_error("'%s' was not refused", pats[i]);
		if (regcomp(&re, pats[i], 0))
			g_error("'%s' does not compile", pats[i]);
		printf("%-48s", pats[i]);
		for (len = 32, t = 0; len <= 1024 && t < 1.0; len *= 2) {
			char *s = g_strnfill(len, 'a');
			t = time_match(&re, NULL, s);
			printf(" %u B %.3f s;", len, t);
			fflush(stdout);
			g_free(s);
		}
		printf("\n");
		regfree(&re);
	}
}

int main(void)
{
	dialplan_patterns();
	backref_patterns();
	return 0;
}
