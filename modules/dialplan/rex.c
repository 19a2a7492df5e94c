/* rex.c - Yate's regular expressions: libc regcomp()/regexec() with Yate's flags and captures */
#define G_LOG_DOMAIN "dialplan"

#include <errno.h>
#include <regex.h>
#include <string.h>

#include "conf-engine/config.h"
#include "rex.h"

/*
 * Yate's Regexp (engine/String.cpp) calls regcomp() with REG_EXTENDED for
 * [priorities] extended=yes and REG_ICASE for insensitive=yes, nothing
 * else, and regexec() with no flags and 9 slots.  So do we, once per rule
 * at load, in the C locale that neither Yate nor conf-engine changes
 * (bytes, not UTF-8).  Two things are ours:
 *
 * Back-references (\1-\9 in a pattern) are refused: glibc matches them by
 * backtracking, in time that grows with a high power of the value's length
 * (^\(\(a*\)\2\)*b$ takes 0.08 s on 256 bytes and 19 s on 1024, where a
 * pattern without them takes microseconds), and a caller chooses the value.
 *
 * A value longer than CE_REX_MAX_SUBJECT bytes is not matched: without
 * back-references glibc does not backtrack and its time grows polynomially
 * with the length (and the pattern's size), so the bound on the length
 * bounds the time of one match (bench/bench-rex: ^\(.*\)$ 0.26 ms on 1024
 * bytes).  1024 holds any number, URI or display name Yate passes; see
 * docs/dialplan.md.
 */

struct ce_rex {
	regex_t re;
	char *source;
};

static int bad(GError **err, const char *pattern, const char *what)
{
	g_set_error(err, CE_CONFIG_ERROR, CE_CONFIG_ERROR_VALUE, "bad regular expression '%s': %s",
	        pattern, what);
	return -EINVAL;
}

/* After '[' at @p: past the bracket expression ("[]a]", "[^]a]", "[[:digit:]x]"). */
static const char *skip_bracket(const char *p)
{
	const char *e;

	p += *p == '^';
	p += *p == ']';
	while (*p && *p != ']') {
		if (p[0] == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
			char close[3] = {p[1], ']', '\0'};
			e = strstr(p + 2, close);
			p = e ? e + 2 : p + 1;
		} else {
			p++;
		}
	}
	return *p ? p + 1 : p;
}

/* The first back-reference \1-\9 of @pattern (compiled already), or 0. */
static char first_backref(const char *pattern)
{
	const char *p = pattern;

	while (*p) {
		if (*p == '[') {
			p = skip_bracket(p + 1);
		} else if (*p == '\\' && p[1]) {
			if (p[1] >= '1' && p[1] <= '9')
				return p[1];
			p += 2;
		} else {
			p++;
		}
	}
	return 0;
}

/**
 * Compile @pattern as Yate does (@flags: CE_REX_EXTENDED, CE_REX_ICASE).
 * Returns 0, or -EINVAL with @err "bad regular expression '...': why"
 * (glibc's reason, or back-references, which we refuse).
 */
int ce_rex_new(struct ce_rex **rp, const char *pattern, unsigned flags, GError **err)
{
	struct ce_rex *r = g_new0(struct ce_rex, 1);
	char why[128], *what;
	int ret = 0, e;

	e = regcomp(&r->re, pattern,
	        (flags & CE_REX_EXTENDED ? REG_EXTENDED : 0) |
	                (flags & CE_REX_ICASE ? REG_ICASE : 0));
	if (e) {
		regerror(e, &r->re, why, sizeof(why));
		ret = bad(err, pattern, why);
		g_clear_pointer(&r, g_free);
		goto out;
	}
	r->source = g_strdup(pattern);
	if (first_backref(pattern)) {
		what = g_strdup_printf(
		        "back-references (\\%c) are not supported: their matching time "
		        "grows with a high power of the length",
		        first_backref(pattern));
		ret = bad(err, pattern, what);
		g_free(what);
		g_clear_pointer(&r, ce_rex_free);
		goto out;
	}
	*rp = r;
out:
	return ret;
}

/** Free @r; NULL is allowed. */
void ce_rex_free(struct ce_rex *r)
{
	if (!r)
		return;
	regfree(&r->re);
	g_free(r->source);
	g_free(r);
}

/** The pattern @r was made from. */
const char *ce_rex_source(const struct ce_rex *r)
{
	return r->source;
}

/*
 * Yate's StringMatchPrivate::fixup(): \0 is the match and \1-\8 the
 * groups, up to the last group that took part (\9 is always empty: Yate
 * gives regexec() 9 slots, the match and 8 groups).  When no group took
 * part, \1 is the whole match too.
 */
static void yate_caps(const regmatch_t *m, struct ce_rex_caps *caps)
{
	int i, last = 0;

	for (i = 0; i < CE_REX_NCAPS; i++)
		caps->so[i] = caps->eo[i] = -1;
	for (i = 1; i < CE_REX_NCAPS - 1; i++)
		if (m[i].rm_so >= 0)
			last = i;
	for (i = 0; i <= last; i++) {
		caps->so[i] = (int)m[i].rm_so;
		caps->eo[i] = (int)m[i].rm_eo;
	}
	if (!last) {
		caps->so[1] = caps->so[0];
		caps->eo[1] = caps->eo[0];
	}
}

/**
 * Search @subject for @r.  Returns 1 on a match (with @caps filled as
 * Yate fills \0-\9, when not NULL), 0 when there is none, -E2BIG when
 * @subject is longer than CE_REX_MAX_SUBJECT bytes (not searched; treat
 * as no match).
 */
int ce_rex_match(const struct ce_rex *r, const char *subject, struct ce_rex_caps *caps)
{
	regmatch_t m[CE_REX_NCAPS - 1];

	if (strnlen(subject, CE_REX_MAX_SUBJECT + 1) > CE_REX_MAX_SUBJECT)
		return -E2BIG;
	if (regexec(&r->re, subject, caps ? G_N_ELEMENTS(m) : 0, caps ? m : NULL, 0))
		return 0;
	if (caps)
		yate_caps(m, caps);
	return 1;
}
