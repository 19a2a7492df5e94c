/* test-rex.c - Yate's POSIX patterns on GRegex: translation, glibc parity, errors, hostile input */
#include <errno.h>
#include <regex.h>
#include <string.h>

#include "conf-engine/config.h"
#include "modules/dialplan/rex.h"

static void check_translation(const char *posix, unsigned flags, const char *pcre)
{
	GString *out = g_string_new(NULL);
	GError *err = NULL;

	g_assert_cmpint(ce_rex_translate(posix, flags, out, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpstr(out->str, ==, pcre);
	g_string_free(out, TRUE);
}

static void test_translate(void)
{
	check_translation("^800$", 0, "^800$");
	check_translation("^8\\(..\\)$", 0, "^8(..)$");
	check_translation("a+b?c|d(e){1}", 0, "a\\+b\\?c\\|d\\(e\\)\\{1\\}");
	check_translation("a\\+b\\?\\(c\\|d\\)\\{2,3\\}", 0, "a+b?(c|d){2,3}");
	check_translation("*a^b$c", 0, "\\*a\\^b\\$c");
	check_translation("\\(^a$\\)", 0, "(^a$)");
	check_translation("[]a\\-]", 0, "[\\x5d\\x61\\x5c\\x2d]");
	check_translation("[a-c-]", 0, "[\\x61-\\x63\\x2d]");
	check_translation("[^[:digit:]x]", 0, "[^[:digit:]\\x78]");
	check_translation("\\(.\\)\\1", 0, "(.)(?:\\1)");
	check_translation("\\n\\.", 0, "n\\.");
	check_translation("a{2}(b|c)+", CE_REX_EXTENDED, "a{2}(b|c)+");
	check_translation("\\(x\\)", CE_REX_EXTENDED, "\\(x\\)");
	check_translation("a)", CE_REX_EXTENDED, "a\\)");
	check_translation("a\\{,2\\}", 0, "a{0,2}");
}

static void check_error(const char *posix, unsigned flags, const char *what)
{
	struct ce_rex *r = NULL;
	GError *err = NULL;
	char *msg;

	g_assert_cmpint(ce_rex_new(&r, posix, flags, &err), ==, -EINVAL);
	g_assert_null(r);
	g_assert_error(err, CE_CONFIG_ERROR, CE_CONFIG_ERROR_VALUE);
	msg = g_strdup_printf("bad regular expression '%s': %s", posix, what);
	g_assert_cmpstr(err->message, ==, msg);
	g_free(msg);
	g_error_free(err);
}

static void test_errors(void)
{
	check_error("a\\", 0, "trailing backslash");
	check_error("a\\", CE_REX_EXTENDED, "trailing backslash");
	check_error("\\(a", 0, "unmatched \\(");
	check_error("(a", CE_REX_EXTENDED, "unmatched (");
	check_error("a\\)", 0, "unmatched \\)");
	check_error("[abc", 0, "unmatched [");
	check_error("[z-a]", 0, "invalid range end");
	check_error("[[:nope:]]", 0, "unknown character class");
	check_error("[[.ab.]]", 0, "only single-character [. .] elements are supported");
	check_error("a**", 0, "a quantifier on a quantifier ('*') is not supported");
	check_error("a+?", CE_REX_EXTENDED, "a quantifier on a quantifier ('?') is not supported");
	check_error("*a", CE_REX_EXTENDED, "'*' has nothing to repeat");
	check_error("a\\{3,2\\}", 0, "interval {3,2} has its bounds reversed");
	check_error("a\\{1000\\}", 0, "repetition count above 255");
	check_error("a\\{1", 0, "unterminated or malformed interval");
	check_error("a{", CE_REX_EXTENDED, "unterminated or malformed interval");
	check_error("\\1\\(a\\)", 0, "back-reference \\1 to a group not closed before it");
}

/* Match with glibc's regexec (what Yate uses) and with ce_rex; compare. */
static unsigned n_compared;

static void compare(const char *pat, unsigned flags, const char *subj, bool caps)
{
	struct ce_rex *r = NULL;
	struct ce_rex_caps c;
	regmatch_t m[CE_REX_NCAPS];
	regex_t px;
	int pr, i;

	if (regcomp(&px, pat,
	            (flags & CE_REX_EXTENDED ? REG_EXTENDED : 0) |
	                    (flags & CE_REX_ICASE ? REG_ICASE : 0)))
		return;
	if (ce_rex_new(&r, pat, flags, NULL) < 0) {
		regfree(&px);
		return;
	}
	pr = regexec(&px, subj, CE_REX_NCAPS, m, 0) == 0;
	n_compared++;
	if (ce_rex_match(r, subj, &c) != pr)
		g_error("'%s' (flags %u) on '%s': glibc %d, ours differs", pat, flags, subj, pr);
	for (i = 0; pr && caps && i < CE_REX_NCAPS; i++) {
		if (m[i].rm_so != c.so[i] || m[i].rm_eo != c.eo[i])
			g_error("'%s' on '%s': \\%d glibc %d-%d ours %d-%d", pat, subj, i,
			        (int)m[i].rm_so, (int)m[i].rm_eo, c.so[i], c.eo[i]);
	}
	regfree(&px);
	ce_rex_free(r);
}

static void test_yate_patterns(void)
{
	static const char *const pats[] = {"^800$", "^8\\(..\\)$", "^99991001$", "^00\\(.*\\)$",
	        "^08\\(..\\)\\(.*\\)$", "^\\(.\\)\\(.\\)\\(.\\)$", ".....*", ".*", "^sip/", "^$",
	        "^123.*$", "^10\\.0\\.1\\.2:", "^\\(false\\|no\\|off\\|disable\\|f\\|0*\\)$",
	        "^[0-9]\\{3,4\\}$", "^\\+\\?[1-9][0-9]*$", "^[^0]", "a\\{,2\\}",
	        "^\\(conf\\|room\\)/\\([[:alnum:]_-]*\\)$"};
	static const char *const subjs[] = {"800", "8001", "812", "81", "99991001", "0044123",
	        "08123456", "123", "sip/123", "", "1234", "10.0.1.2:5060", "false", "0000", "no",
	        "+4412", "room/a_b-1", "conf/x y", "aaa", "a\nb"};
	unsigned i, j;

	for (i = 0; i < G_N_ELEMENTS(pats); i++)
		for (j = 0; j < G_N_ELEMENTS(subjs); j++) {
			compare(pats[i], 0, subjs[j], !strstr(pats[i], "\\|"));
			compare(pats[i], CE_REX_ICASE, subjs[j], false);
		}
}

/* Random patterns over a small alphabet: glibc and ours agree on matching. */
static void test_random_parity(void)
{
	static const char *const bre[] = {"a", "b", ".", "*", "^", "$", "\\(", "\\)", "\\|", "\\+",
	        "\\?", "\\{1,2\\}", "[ab]", "[^a]", "\\1", "x", "[[:digit:]]", "1"};
	static const char *const ere[] = {"a", "b", ".", "*", "^", "$", "(", ")", "|", "+", "?",
	        "{1,2}", "[ab]", "[^a]", "\\1", "x", "[[:digit:]]", "1"};
	GRand *rnd = g_rand_new_with_seed(20261122);
	char pat[128], subj[16];
	unsigned n, k, len, ext;

	for (n = 0; n < 20000; n++) {
		ext = n & 1;
		pat[0] = '\0';
		len = (unsigned)g_rand_int_range(rnd, 1, 8);
		for (k = 0; k < len; k++) {
			const char *tok = ext ? ere[g_rand_int_range(rnd, 0, G_N_ELEMENTS(ere))]
			                      : bre[g_rand_int_range(rnd, 0, G_N_ELEMENTS(bre))];
			g_strlcat(pat, tok, sizeof(pat));
		}
		len = (unsigned)g_rand_int_range(rnd, 0, 7);
		for (k = 0; k < len; k++)
			subj[k] = "ab1x*"[g_rand_int_range(rnd, 0, 5)];
		subj[len] = '\0';
		/* back-references: POSIX and PCRE may pick different group contents */
		if (!strstr(pat, "\\1"))
			compare(pat, ext ? CE_REX_EXTENDED : 0, subj, false);
	}
	g_test_message("%u patterns compiled by both and compared", n_compared);
	g_assert_cmpuint(n_compared, >, 5000);
	g_rand_free(rnd);
}

static void test_captures(void)
{
	struct ce_rex *r = NULL;
	struct ce_rex_caps c;

	g_assert_cmpint(ce_rex_new(&r, "^8\\(..\\)\\(x\\)\\?$", 0, NULL), ==, 0);
	g_assert_cmpint(ce_rex_match(r, "812", &c), ==, 1);
	g_assert_cmpint(c.so[0], ==, 0);
	g_assert_cmpint(c.eo[0], ==, 3);
	g_assert_cmpint(c.so[1], ==, 1);
	g_assert_cmpint(c.eo[1], ==, 3);
	g_assert_cmpint(c.so[2], ==, -1);
	g_assert_cmpint(c.so[9], ==, -1);
	g_assert_cmpint(ce_rex_match(r, "8123", NULL), ==, 0);
	g_assert_cmpstr(ce_rex_source(r), ==, "^8\\(..\\)\\(x\\)\\?$");
	ce_rex_free(r);
	/* bytes, not UTF-8 */
	g_assert_cmpint(ce_rex_new(&r, "^.\\x$", 0, NULL), ==, 0);
	g_assert_cmpint(ce_rex_match(r,
	                        "\xff"
	                        "x",
	                        NULL),
	        ==, 1);
	ce_rex_free(r);
}

static void test_hostile(void)
{
	static const char *const pats[] = {"^\\(a*\\)*b$", "^\\(a\\|aa\\)*$", "^\\(\\(a*\\)*\\)*c$",
	        "\\(.*\\)\\{1,255\\}\\(.*\\)\\{1,255\\}x"};
	GString *subj = g_string_new(NULL);
	struct ce_rex *r;
	unsigned i;
	int m;

	for (i = 0; i < 4000; i++)
		g_string_append_c(subj, 'a');
	for (i = 0; i < G_N_ELEMENTS(pats); i++) {
		r = NULL;
		g_assert_cmpint(ce_rex_new(&r, pats[i], 0, NULL), ==, 0);
		m = ce_rex_match(r, subj->str, NULL);
		g_assert_true(m == 0 || m == -E2BIG);
		ce_rex_free(r);
	}
	/* exponential for a backtracking matcher: stopped by the budget */
	g_string_assign(subj, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!");
	g_assert_cmpint(ce_rex_new(&r, "^\\(a\\|aa\\)*$", 0, NULL), ==, 0);
	g_assert_cmpint(ce_rex_match(r, subj->str, NULL), ==, -E2BIG);
	ce_rex_free(r);
	g_string_free(subj, TRUE);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/rex/translate", test_translate);
	g_test_add_func("/rex/errors", test_errors);
	g_test_add_func("/rex/yate-patterns", test_yate_patterns);
	g_test_add_func("/rex/random-parity", test_random_parity);
	g_test_add_func("/rex/captures", test_captures);
	g_test_add_func("/rex/hostile", test_hostile);
	return g_test_run();
}
