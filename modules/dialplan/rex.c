/* rex.c - Yate's POSIX regular expressions, translated to GRegex, with bounded matching */
#define G_LOG_DOMAIN "dialplan"

#include <errno.h>
#include <string.h>

#include "conf-engine/config.h"
#include "rex.h"

/*
 * Yate compiles dialplan patterns with the C library's regcomp(): GNU basic
 * syntax (BRE) by default, extended (ERE) with extended=yes.  GRegex is
 * PCRE, so each pattern is translated token by token:
 *
 *   BRE  ^8\(..\)\{2,\}$   ->  PCRE  ^8(..){2,}$
 *   BRE  a+b\|[]\.]c*       ->  PCRE  a\+b|[\x5d\x5c\x2e]c*
 *
 * BRE: \( \) \| \{ \} \+ \? are operators, ( ) | { } + ? literals; '*' at
 * the start of an expression, '^' not at its start and '$' not at its end
 * are literals.  Both: bracket expressions with [:class:], backslash literal
 * inside brackets, \1-\9 back-references, GNU \w \W \s \S \b \B \< \> \` \'
 * and any other escaped character as itself.  Patterns match bytes (no
 * UTF-8), '.' matches any byte, '$' only at the very end.
 *
 * Refused with an error (glibc refuses most of them too): a quantifier on a
 * quantifier (a**, a*\{2\}; glibc accepts a*\+ and ERE a+?, which PCRE would
 * read as lazy), repetition counts above 255, multi-character collating
 * elements, unknown classes, unbalanced groups.
 *
 * One difference remains: POSIX picks the leftmost-LONGEST match, PCRE the
 * leftmost-first.  Whether a pattern matches is the same; what \0-\9
 * capture can differ with alternatives such as \(a\|ab\)\(c\|bcd\).
 */

#define MAX_REPEAT 255

struct ce_rex {
	GRegex *re;
	char *source;
};

struct tr {
	const char *s;
	size_t i;
	bool ere;
	GString *out;
	gssize atom;      /* output offset of the last repeatable item, -1: none */
	bool quantified;  /* that item already carries a quantifier */
	bool expr_start;  /* at the start of an expression: pattern, group, branch */
	int opened;       /* groups opened so far (numbering) */
	gssize stack[64]; /* output offsets of the open groups */
	int groupno[64];
	int depth;
	guint64 closed; /* bit n: group n closed, may be back-referenced */
	GError **err;
};

static int fail(struct tr *t, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static int fail(struct tr *t, const char *fmt, ...)
{
	va_list ap;
	char *what;

	va_start(ap, fmt);
	what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(t->err, CE_CONFIG_ERROR, CE_CONFIG_ERROR_VALUE,
	        "bad regular expression '%s': %s", t->s, what);
	g_free(what);
	return -EINVAL;
}

static void begin_atom(struct tr *t)
{
	t->atom = (gssize)t->out->len;
	t->quantified = false;
	t->expr_start = false;
}

static void no_atom(struct tr *t)
{
	t->atom = -1;
	t->quantified = false;
}

static void put_literal(GString *out, unsigned char c)
{
	if (g_ascii_isalnum(c))
		g_string_append_c(out, (char)c);
	else if (c < 0x20 || c >= 0x7f)
		g_string_append_printf(out, "\\x%02x", c);
	else
		g_string_append_printf(out, "\\%c", c);
}

static void literal(struct tr *t, unsigned char c)
{
	begin_atom(t);
	put_literal(t->out, c);
}

static int quantifier(struct tr *t, const char *q)
{
	if (t->atom < 0)
		return fail(t, "'%s' has nothing to repeat", q);
	if (t->quantified)
		return fail(t, "a quantifier on a quantifier ('%s') is not supported", q);
	g_string_append(t->out, q);
	t->quantified = true;
	return 0;
}

/* After "\{" (BRE) or "{" (ERE): m, m, ,n or m,n then "\}" or "}". */
static int interval(struct tr *t)
{
	const char *p = t->s + t->i, *close = t->ere ? "}" : "\\}";
	unsigned long lo = 0, hi = 0;
	bool comma = false, has_lo = false, has_hi = false;
	char *end, q[32];

	if (g_ascii_isdigit(*p)) {
		lo = strtoul(p, &end, 10);
		p = end;
		has_lo = true;
	}
	if (*p == ',') {
		comma = true;
		p++;
		if (g_ascii_isdigit(*p)) {
			hi = strtoul(p, &end, 10);
			p = end;
			has_hi = true;
		}
	}
	if (strncmp(p, close, strlen(close)) || (!has_lo && !comma))
		return fail(t, "unterminated or malformed interval");
	if (lo > MAX_REPEAT || hi > MAX_REPEAT)
		return fail(t, "repetition count above %d", MAX_REPEAT);
	if (has_hi && hi < lo)
		return fail(t, "interval {%lu,%lu} has its bounds reversed", lo, hi);
	t->i = (size_t)(p - t->s) + strlen(close);
	if (!comma)
		g_snprintf(q, sizeof(q), "{%lu}", lo);
	else if (has_hi)
		g_snprintf(q, sizeof(q), "{%lu,%lu}", lo, hi);
	else
		g_snprintf(q, sizeof(q), "{%lu,}", lo);
	return quantifier(t, q);
}

static int open_group(struct tr *t)
{
	if (t->depth >= (int)G_N_ELEMENTS(t->stack))
		return fail(t, "groups nested too deeply");
	t->stack[t->depth] = (gssize)t->out->len;
	t->groupno[t->depth++] = ++t->opened;
	g_string_append_c(t->out, '(');
	no_atom(t);
	t->expr_start = true;
	return 0;
}

static int close_group(struct tr *t)
{
	if (!t->depth) {
		if (t->ere) { /* glibc: a lone ')' is a literal in ERE */
			literal(t, ')');
			return 0;
		}
		return fail(t, "unmatched \\)");
	}
	t->depth--;
	if (t->groupno[t->depth] < 64)
		t->closed |= G_GUINT64_CONSTANT(1) << t->groupno[t->depth];
	g_string_append_c(t->out, ')');
	t->atom = t->stack[t->depth];
	t->quantified = false;
	t->expr_start = false;
	return 0;
}

static void branch(struct tr *t)
{
	g_string_append_c(t->out, '|');
	no_atom(t);
	t->expr_start = true;
}

static bool class_name_ok(const char *name, size_t len)
{
	static const char *const names[] = {"alpha", "digit", "alnum", "upper", "lower", "space",
	        "blank", "punct", "print", "graph", "cntrl", "xdigit"};
	unsigned i;

	for (i = 0; i < G_N_ELEMENTS(names); i++)
		if (strlen(names[i]) == len && !strncmp(names[i], name, len))
			return true;
	return false;
}

/* One bracket item at @p: a character, [.c.] or [=c=]; -1 at [: (a class). */
static int bracket_char(struct tr *t, const char **pp, int *c)
{
	const char *p = *pp;

	if (p[0] == '[' && (p[1] == '.' || p[1] == '=')) {
		char kind = p[1];
		if (!p[2] || p[3] != kind || p[4] != ']')
			return fail(t, "only single-character [%c %c] elements are supported", kind,
			        kind);
		*c = (unsigned char)p[2];
		*pp = p + 5;
		return 0;
	}
	if (p[0] == '[' && p[1] == ':')
		return 1;
	*c = (unsigned char)p[0];
	*pp = p + 1;
	return 0;
}

static int bracket(struct tr *t)
{
	const char *p = t->s + t->i + 1, *e;
	GString *out = t->out;
	int c, hi, r;

	begin_atom(t);
	g_string_append_c(out, '[');
	if (*p == '^') {
		g_string_append_c(out, '^');
		p++;
	}
	for (bool first = true; *p && (first || *p != ']'); first = false) {
		r = bracket_char(t, &p, &c);
		if (r < 0)
			return r;
		if (r > 0) {
			e = strstr(p + 2, ":]");
			if (!e || !class_name_ok(p + 2, (size_t)(e - p - 2)))
				return fail(t, "unknown character class");
			g_string_append_len(out, p, e + 2 - p);
			p = e + 2;
			continue;
		}
		g_string_append_printf(out, "\\x%02x", c);
		if (p[0] != '-' || !p[1] || p[1] == ']')
			continue;
		p++;
		r = bracket_char(t, &p, &hi);
		if (r != 0)
			return r < 0 ? r : fail(t, "a class cannot end a range");
		if (hi < c)
			return fail(t, "invalid range end");
		g_string_append_printf(out, "-\\x%02x", hi);
	}
	if (*p != ']')
		return fail(t, "unmatched [");
	g_string_append_c(out, ']');
	t->i = (size_t)(p + 1 - t->s);
	return 0;
}

static int backref(struct tr *t, int n)
{
	if (!(t->closed & (G_GUINT64_CONSTANT(1) << n)))
		return fail(t, "back-reference \\%d to a group not closed before it", n);
	begin_atom(t);
	g_string_append_printf(t->out, "(?:\\%d)", n);
	return 0;
}

/* \c escapes shared by BRE and ERE; the operators are handled by the caller. */
static int escape(struct tr *t, char c)
{
	static const struct {
		char c;
		const char *pcre;
		bool atom;
	} gnu[] = {
	        {'w', "\\w", true},
	        {'W', "\\W", true},
	        {'s', "\\s", true},
	        {'S', "\\S", true},
	        {'b', "\\b", false},
	        {'B', "\\B", false},
	        {'<', "\\b(?=\\w)", false},
	        {'>', "\\b(?<=\\w)", false},
	        {'`', "\\A", false},
	        {'\'', "\\z", false},
	};
	unsigned i;

	if (!c)
		return fail(t, "trailing backslash");
	if (c >= '1' && c <= '9')
		return backref(t, c - '0');
	for (i = 0; i < G_N_ELEMENTS(gnu); i++) {
		if (gnu[i].c != c)
			continue;
		if (gnu[i].atom)
			begin_atom(t);
		else
			no_atom(t);
		g_string_append(t->out, gnu[i].pcre);
		return 0;
	}
	literal(t, (unsigned char)c);
	return 0;
}

/* Whether a BRE '$' at @i is an anchor: at the end, before \) or \|. */
static bool bre_dollar_anchors(const struct tr *t)
{
	const char *n = t->s + t->i + 1;

	return !*n || !strncmp(n, "\\)", 2) || !strncmp(n, "\\|", 2);
}

static int bre_escape(struct tr *t)
{
	char n = t->s[t->i + 1];

	t->i += n ? 2 : 1;
	switch (n) {
	case '(':
		return open_group(t);
	case ')':
		return close_group(t);
	case '|':
		branch(t);
		return 0;
	case '{':
		return interval(t);
	case '+':
	case '?':
		if (t->atom < 0) {
			literal(t, (unsigned char)n);
			return 0;
		}
		return quantifier(t, n == '+' ? "+" : "?");
	default:
		return escape(t, n);
	}
}

static int bre_token(struct tr *t)
{
	char c = t->s[t->i];

	if (c == '\\')
		return bre_escape(t);
	if (c == '[')
		return bracket(t);
	if (c == '$' && bre_dollar_anchors(t)) {
		t->i++;
		g_string_append_c(t->out, '$');
		no_atom(t);
		t->expr_start = false;
		return 0;
	}
	t->i++;
	if (c == '*' && !t->expr_start && t->atom >= 0)
		return quantifier(t, "*");
	if (c == '^' && t->expr_start) {
		g_string_append_c(t->out, '^');
		no_atom(t);
		t->expr_start = false; /* "^^": the second is a literal, "^*" too */
		return 0;
	}
	if (c == '.') {
		begin_atom(t);
		g_string_append_c(t->out, '.');
		return 0;
	}
	literal(t, (unsigned char)c);
	return 0;
}

static int ere_token(struct tr *t)
{
	char c = t->s[t->i];

	if (c == '[')
		return bracket(t);
	t->i++;
	switch (c) {
	case '\\':
		c = t->s[t->i];
		if (c)
			t->i++;
		return escape(t, c);
	case '(':
		return open_group(t);
	case ')':
		return close_group(t);
	case '|':
		branch(t);
		return 0;
	case '{':
		return interval(t);
	case '*':
		return quantifier(t, "*");
	case '+':
		return quantifier(t, "+");
	case '?':
		return quantifier(t, "?");
	case '^':
	case '$':
		g_string_append_c(t->out, c);
		no_atom(t);
		t->expr_start = c == '^';
		return 0;
	case '.':
		begin_atom(t);
		g_string_append_c(t->out, '.');
		return 0;
	default:
		literal(t, (unsigned char)c);
		return 0;
	}
}

/**
 * Translate the POSIX pattern @posix (BRE, or ERE with CE_REX_EXTENDED)
 * into PCRE syntax appended to @out.  Returns 0, or -EINVAL with @err
 * (CE_CONFIG_ERROR_VALUE) saying what is wrong.
 */
int ce_rex_translate(const char *posix, unsigned flags, GString *out, GError **err)
{
	struct tr t = {.s = posix, .ere = flags & CE_REX_EXTENDED, .out = out, .err = err};
	int r = 0;

	no_atom(&t);
	t.expr_start = true;
	while (!r && posix[t.i])
		r = t.ere ? ere_token(&t) : bre_token(&t);
	if (!r && t.depth)
		r = fail(&t, t.ere ? "unmatched (" : "unmatched \\(");
	return r;
}

/**
 * Compile @posix (see ce_rex_translate) for matching with a bounded
 * backtracking budget.  Returns 0 or -EINVAL with @err set.
 */
int ce_rex_new(struct ce_rex **rp, const char *posix, unsigned flags, GError **err)
{
	GRegexCompileFlags cf =
	        G_REGEX_RAW | G_REGEX_DOTALL | G_REGEX_DOLLAR_ENDONLY | G_REGEX_OPTIMIZE;
	GString *pcre = g_string_new(NULL);
	struct ce_rex *r = NULL;
	GError *e = NULL;
	GRegex *re;
	int ret;

	g_string_append_printf(pcre, "(*LIMIT_MATCH=%d)", CE_REX_MATCH_LIMIT);
	ret = ce_rex_translate(posix, flags, pcre, err);
	if (ret < 0)
		goto out;
	if (flags & CE_REX_ICASE)
		cf |= G_REGEX_CASELESS;
	re = g_regex_new(pcre->str, cf, 0, &e);
	if (!re) {
		g_set_error(err, CE_CONFIG_ERROR, CE_CONFIG_ERROR_VALUE,
		        "bad regular expression '%s': %s", posix, e->message);
		g_error_free(e);
		ret = -EINVAL;
		goto out;
	}
	r = g_new0(struct ce_rex, 1);
	r->re = re;
	r->source = g_strdup(posix);
	*rp = r;
out:
	g_string_free(pcre, TRUE);
	return ret;
}

/** Free @r; NULL is allowed. */
void ce_rex_free(struct ce_rex *r)
{
	if (!r)
		return;
	g_regex_unref(r->re);
	g_free(r->source);
	g_free(r);
}

/** The POSIX pattern @r was made from. */
const char *ce_rex_source(const struct ce_rex *r)
{
	return r->source;
}

/**
 * Search @subject for @r.  Returns 1 on a match (with @caps filled when
 * not NULL), 0 when there is none, -E2BIG when the backtracking budget ran
 * out (treat as no match).
 */
int ce_rex_match(const struct ce_rex *r, const char *subject, struct ce_rex_caps *caps)
{
	GMatchInfo *mi = NULL;
	GError *e = NULL;
	int i, ret;

	ret = g_regex_match_full(r->re, subject, -1, 0, 0, caps ? &mi : NULL, &e) ? 1 : 0;
	if (e) {
		g_error_free(e);
		ret = -E2BIG;
	}
	for (i = 0; caps && i < CE_REX_NCAPS; i++) {
		caps->so[i] = caps->eo[i] = -1;
		if (ret == 1 && !g_match_info_fetch_pos(mi, i, &caps->so[i], &caps->eo[i]))
			caps->so[i] = caps->eo[i] = -1;
	}
	g_match_info_free(mi);
	return ret;
}
