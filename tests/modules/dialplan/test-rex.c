/* test-rex.c - the dialplan's regular expressions match and capture as Yate's Regexp does */
#include <errno.h>
#include <string.h>

#include "conf-engine/config.h"
#include "modules/dialplan/rex.h"

#define BRE   0
#define ERE   CE_REX_EXTENDED
#define ICASE CE_REX_ICASE

/* "\0|\1|...|\9" as Yate's replaceMatches() expands them, or "no" / "long". */
static char *caps_of(const char *pat, unsigned flags, const char *subj)
{
	struct ce_rex *r = NULL;
	struct ce_rex_caps c;
	GError *err = NULL;
	GString *s = g_string_new(NULL);
	int i, m;

	g_assert_cmpint(ce_rex_new(&r, pat, flags, &err), ==, 0);
	g_assert_no_error(err);
	m = ce_rex_match(r, subj, &c);
	if (m == 0)
		g_string_assign(s, "no");
	else if (m == -E2BIG)
		g_string_assign(s, "long");
	for (i = 0; m == 1 && i < CE_REX_NCAPS; i++) {
		if (i)
			g_string_append_c(s, '|');
		if (c.so[i] >= 0)
			g_string_append_len(s, subj + c.so[i], c.eo[i] - c.so[i]);
	}
	/* without captures: the same answer */
	g_assert_cmpint(ce_rex_match(r, subj, NULL), ==, m);
	ce_rex_free(r);
	return g_string_free(s, FALSE);
}

static void check(const char *pat, unsigned flags, const char *subj, const char *want)
{
	char *got = caps_of(pat, flags, subj);

	if (strcmp(got, want))
		g_error("'%s' (flags %u) on '%s': got '%s', want '%s'", pat, flags, subj, got,
		        want);
	g_free(got);
}

/*
 * What Yate 6.4.1 answers (engine/String.cpp: regcomp() with REG_EXTENDED
 * and REG_ICASE only, regexec() with 9 slots, then fixup()); the same
 * cases run through Yate's own regexroute in tests/yate/test-yate-dialplan.py.
 */
static void test_yate_captures(void)
{
	check("^800$", BRE, "800", "800|800||||||||");
	check("^800$", BRE, "8001", "no");
	check("^8\\(..\\)$", BRE, "812", "812|12||||||||");
	check("^9\\(.\\)\\(.\\)$", BRE, "912", "912|1|2|||||||");
	/* no group took part: Yate's \1 is the whole match */
	check("^7\\(x\\)\\?$", BRE, "7", "7|7||||||||");
	check("^7\\(x\\)\\?$", BRE, "7x", "7x|x||||||||");
	/* a group that took no part before one that did is empty */
	check("^\\(a\\)\\?\\(b\\)$", BRE, "b", "b||b|||||||");
	/* Yate gives regexec() 9 slots: \9 is always empty */
	check("^\\(.\\)\\(.\\)\\(.\\)\\(.\\)\\(.\\)\\(.\\)\\(.\\)\\(.\\)\\(.\\)$", BRE, "123456789",
	        "123456789|1|2|3|4|5|6|7|8|");
	/* unanchored: the leftmost match, \0 is that part only */
	check("2\\(3*\\)", BRE, "1233345", "2333|333||||||||");
	/* the match is leftmost-longest; the groups are what glibc picks (not POSIX's) */
	check("\\(a\\|ab\\)\\(c\\|bcd\\)", BRE, "abcd", "abcd|a|bcd|||||||");
	check("^\\(0\\|00\\)\\(.*\\)$", BRE, "0044", "0044|0|044|||||||");
}

static void test_basic_vs_extended(void)
{
	/* basic: + ? { } ( ) | are literals, their escaped forms operators (GNU) */
	check("^a+$", BRE, "a+", "a+|a+||||||||");
	check("^a+$", BRE, "aa", "no");
	check("^a\\+$", BRE, "aaa", "aaa|aaa||||||||");
	check("^(1)$", BRE, "(1)", "(1)|(1)||||||||");
	check("^\\(1\\|2\\)$", BRE, "2", "2|2||||||||");
	check("^1|2$", BRE, "1|2", "1|2|1|2||||||||");
	check("^[0-9]\\{3\\}$", BRE, "123", "123|123||||||||");
	check("^[0-9]{3}$", BRE, "5{3}", "5{3}|5{3}||||||||");
	/* extended: the other way round */
	check("^a+$", ERE, "aa", "aa|aa||||||||");
	check("^a\\+$", ERE, "a+", "a+|a+||||||||");
	check("^(1|2)$", ERE, "2", "2|2||||||||");
	check("^\\(1\\)$", ERE, "(1)", "(1)|(1)||||||||");
	check("^[0-9]{3}$", ERE, "123", "123|123||||||||");
	check("^(ab|cd)+$", ERE, "abcd", "abcd|cd||||||||");
	/* \. is a literal dot in both; . any byte */
	check("^10\\.0\\.1\\.2:", BRE, "10.0.1.2:5060", "10.0.1.2:|10.0.1.2:||||||||");
	check("^10\\.0", BRE, "1000", "no");
	check("^10\\.0", ERE, "10.0", "10.0|10.0||||||||");
	check("^1.3$", BRE, "1x3", "1x3|1x3||||||||");
	/* * at the start of a basic expression is a literal */
	check("*1", BRE, "a*1", "*1|*1||||||||");
}

static void test_anchors_case_brackets(void)
{
	check("^sip/", BRE, "sip/123", "sip/|sip/||||||||");
	check("^sip/", BRE, "xsip/1", "no");
	check("123$", BRE, "0123", "123|123||||||||");
	check("^$", BRE, "", "|||||||||");
	/* '$' in the middle of a basic expression is a literal */
	check("^a$b$", BRE, "a$b", "a$b|a$b||||||||");
	/* no REG_NEWLINE: '.' matches a newline, '$' only at the very end */
	check("^a.b$", BRE, "a\nb", "a\nb|a\nb||||||||");
	check("^a$", BRE, "a\nb", "no");
	check("^conf/", BRE, "CONF/1", "no");
	check("^conf/", ICASE, "CONF/1", "CONF/|CONF/||||||||");
	check("^(ab)$", ERE | ICASE, "aB", "aB|aB||||||||");
	check("^[[:digit:]]*$", BRE, "0123", "0123|0123||||||||");
	check("^[^0]", BRE, "0123", "no");
	check("^[]a]*$", BRE, "]a]", "]a]|]a]||||||||");
	check("^[a\\]*$", BRE, "a\\", "a\\|a\\||||||||");
	check("^[.]$", BRE, "x", "no");
	check("^[[:alpha:]_-]*$", BRE, "a_b-c", "a_b-c|a_b-c||||||||");
	/* bytes, not UTF-8 (the C locale of Yate and of the engine) */
	check("^.x$", BRE,
	        "\xff"
	        "x",
	        "\xff"
	        "x|"
	        "\xff"
	        "x||||||||");
}

static void check_error(const char *pat, unsigned flags, const char *what)
{
	struct ce_rex *r = NULL;
	GError *err = NULL;
	char *msg;

	g_assert_cmpint(ce_rex_new(&r, pat, flags, &err), ==, -EINVAL);
	g_assert_null(r);
	g_assert_error(err, CE_CONFIG_ERROR, CE_CONFIG_ERROR_VALUE);
	msg = g_strdup_printf("bad regular expression '%s': %s", pat, what);
	g_assert_cmpstr(err->message, ==, msg);
	g_free(msg);
	g_error_free(err);
}

static void test_errors(void)
{
	/* glibc's own words, as Yate's regcomp() fails on them */
	check_error("\\(1", BRE, "Unmatched ( or \\(");
	check_error("(1", ERE, "Unmatched ( or \\(");
	check_error("[12", BRE, "Unmatched [, [^, [:, [., or [=");
	check_error("a\\{2", BRE, "Unmatched \\{");
	check_error("[[:nope:]]", BRE, "Invalid character class name");
	check_error("[9-0]", BRE, "Invalid range end");
	check_error("a\\", BRE, "Trailing backslash");
	/* refused by us: matching time would grow with a power of the length */
	check_error("^\\(.\\)\\1$", BRE,
	        "back-references (\\1) are not supported: their matching time grows with a high "
	        "power of the length");
	check_error("^(a*)(b)\\2$", ERE,
	        "back-references (\\2) are not supported: their matching time grows with a high "
	        "power of the length");
	/* ... but a backslash and a digit inside brackets, or an escaped backslash, are not */
	check("^[\\1]*$", BRE, "1\\", "1\\|1\\||||||||");
	check("^\\\\1$", BRE, "\\1", "\\1|\\1||||||||");
	check("^[[:digit:]\\2]$", BRE, "2", "2|2||||||||");
}

/* The bound on the value's length: at it matched, past it refused. */
static void test_length_bound(void)
{
	char *subj = g_malloc(CE_REX_MAX_SUBJECT + 2), *want;

	memset(subj, '5', CE_REX_MAX_SUBJECT + 1);
	subj[CE_REX_MAX_SUBJECT] = '\0';
	want = g_strdup_printf("%s|%s||||||||", subj, subj);
	check("^5*$", BRE, subj, want);
	subj[CE_REX_MAX_SUBJECT] = '5';
	subj[CE_REX_MAX_SUBJECT + 1] = '\0';
	check("^5*$", BRE, subj, "long");
	check("^6", BRE, subj, "long");
	g_free(want);
	g_free(subj);
}

static void test_source(void)
{
	struct ce_rex *r = NULL;

	g_assert_cmpint(ce_rex_new(&r, "^8\\(..\\)$", BRE, NULL), ==, 0);
	g_assert_cmpstr(ce_rex_source(r), ==, "^8\\(..\\)$");
	ce_rex_free(r);
	ce_rex_free(NULL);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/rex/yate-captures", test_yate_captures);
	g_test_add_func("/rex/basic-vs-extended", test_basic_vs_extended);
	g_test_add_func("/rex/anchors-case-brackets", test_anchors_case_brackets);
	g_test_add_func("/rex/errors", test_errors);
	g_test_add_func("/rex/length-bound", test_length_bound);
	g_test_add_func("/rex/source", test_source);
	return g_test_run();
}
