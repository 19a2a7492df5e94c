/* test-plan.c - the dialplan rules: matching, targets, parameters, contexts, refused syntax */
#include <stdint.h>
#include <string.h>

#include "conf-engine/config.h"
#include "message.h"
#include "modules/dialplan/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ce_plan *plan_from(const char *text)
{
	struct ce_config *cfg = NULL;
	struct ce_plan *p = NULL;
	GError *err = NULL;

	g_assert_cmpint(ce_config_parse(&cfg, text, -1, "dp.conf", &err), ==, 0);
	g_assert_cmpint(ce_plan_new(&p, cfg, &err), ==, 0);
	g_assert_no_error(err);
	ce_config_free(cfg);
	return p;
}

static void plan_bad(const char *text, const char *msg)
{
	struct ce_config *cfg = NULL;
	struct ce_plan *p = NULL;
	GError *err = NULL;

	g_assert_cmpint(ce_config_parse(&cfg, text, -1, "dp.conf", &err), ==, 0);
	g_assert_cmpint(ce_plan_new(&p, cfg, &err), <, 0);
	g_assert_null(p);
	g_assert_error(err, CE_CONFIG_ERROR, CE_CONFIG_ERROR_VALUE);
	g_assert_cmpstr(err->message, ==, msg);
	g_error_free(err);
	ce_config_free(cfg);
}

/* A call.route with "name=value:name=value" parameters. */
static struct ce_msg *route_msg(const char *params)
{
	char **kv = g_strsplit(params, ":", -1);
	struct ce_msg *m;
	unsigned i;

	ce_msg_new(&m, "call.route");
	for (i = 0; kv[i]; i++) {
		char *eq = strchr(kv[i], '=');
		*eq = '\0';
		ce_msg_add(m, kv[i], eq + 1);
	}
	g_strfreev(kv);
	return m;
}

/* Route @params; returns the retval when routed, "(none)" when not. */
static char *route(const struct ce_plan *p, const char *params, struct ce_msg **keep)
{
	struct ce_msg *m = route_msg(params);
	char *r = g_strdup(ce_plan_route(p, m) ? m->retval : "(none)");

	if (keep)
		*keep = m;
	else
		ce_msg_unref(m);
	return r;
}

static void check_route(const struct ce_plan *p, const char *params, const char *want)
{
	char *got = route(p, params, NULL);

	if (strcmp(got, want))
		g_error("routing '%s': got '%s', want '%s'", params, got, want);
	g_free(got);
}

static void test_basic_table(void)
{
	struct ce_plan *p = plan_from("[default]\n"
	                              "^800$=conf/room1\n"
	                              "^8\\(..\\)$=conf/room\\1\n"
	                              "^9\\(.\\)\\(.\\)$=schedule/\\2\\1/\\0\n"
	                              "^7\\(x\\)\\?$=conf/[\\1]\n"
	                              "^55$=conf/${caller}/${nothere$dflt}/${nothere}\n"
	                              "^66$=a\\\\b\\qc$()d$($)e$f\n"
	                              "^6\\(x\\)\\?\\(y\\)\\?$=\\2\n"
	                              "^6$=conf/six\n"
	                              "^77$=   \n"
	                              "^77$=conf/after-empty\n"
	                              "^refuse=-;error=noroute\n"
	                              ".*=-;error=noroute;reason=No route\n");

	g_assert_cmpuint(ce_plan_n_contexts(p), ==, 1);
	g_assert_cmpuint(ce_plan_n_rules(p), ==, 12);
	check_route(p, "called=6", "conf/six");
	check_route(p, "called=6y", "y");
	check_route(p, "called=800:caller=tone/dial", "conf/room1");
	check_route(p, "called=812:caller=tone/dial", "conf/room12");
	check_route(p, "called=912", "schedule/21/912");
	check_route(p, "called=7", "conf/[7]"); /* Yate: \1 is \0 when no group took part */
	check_route(p, "called=7x", "conf/[x]");
	check_route(p, "called=55:caller=tone/dial", "conf/tone/dial/dflt/");
	check_route(p, "called=66", "a\\b\\qc;d$e$f");
	check_route(p, "called=77", "conf/after-empty");
	check_route(p, "called=  800  ", "conf/room1");
	check_route(p, "called=", "(none)");
	check_route(p, "caller=x", "(none)");
	check_route(p, "called=123", "-");
	ce_plan_free(p);
}

static void test_params_set(void)
{
	struct ce_plan *p =
	        plan_from("[default]\n"
	                  "^1$=;tagged=yes\n"
	                  "^1$=conf/a ; maxusers = 10 ;caller=\\0-${caller};drop;=x; ;\n"
	                  "^2$=-;error=noroute\n");
	struct ce_msg *m;
	char *r;

	r = route(p, "called=1:caller=bob:drop=1:drop=2", &m);
	g_assert_cmpstr(r, ==, "conf/a");
	g_assert_cmpstr(ce_msg_get(m, "tagged"), ==, "yes");
	g_assert_cmpstr(ce_msg_get(m, "maxusers"), ==, "10");
	g_assert_cmpstr(ce_msg_get(m, "caller"), ==, "1-bob");
	g_assert_null(ce_msg_get(m, "drop"));
	g_free(r);
	ce_msg_unref(m);
	r = route(p, "called=2", &m);
	g_assert_cmpstr(r, ==, "-");
	g_assert_cmpstr(ce_msg_get(m, "error"), ==, "noroute");
	g_free(r);
	ce_msg_unref(m);
	/* not routed: parameters set by earlier rules stay, as in Yate */
	ce_plan_free(p);
	p = plan_from("[default]\n^3=;seen=1\n");
	r = route(p, "called=3", &m);
	g_assert_cmpstr(r, ==, "(none)");
	g_assert_cmpstr(ce_msg_get(m, "seen"), ==, "1");
	g_free(r);
	ce_msg_unref(m);
	ce_plan_free(p);
}

static void test_param_rules(void)
{
	struct ce_plan *p = plan_from("[default]\n"
	                              "${caller}^tone/busy$=conf/busy\n"
	                              "${ caller }^tone/\\(.*\\)$=conf/tone-\\1\n"
	                              "${billid$none}^none$=conf/nobill\n"
	                              "${flag}=conf/flag-set\n"
	                              "${username}^=conf/anonymous\n"
	                              "^800$^=conf/not800\n"
	                              "^800$=conf/800\n");

	check_route(p, "called=800:caller=tone/busy:billid=1", "conf/busy");
	check_route(p, "called=800:caller=tone/dial:billid=1", "conf/tone-dial");
	check_route(p, "called=800:caller=sip/x", "conf/nobill");
	check_route(p, "called=800:caller=sip/x:billid=1:flag=yes", "conf/flag-set");
	check_route(p, "called=800:caller=sip/x:billid=1:flag=false", "conf/anonymous");
	check_route(p, "called=800:caller=sip/x:billid=1:flag=0:username=u", "conf/800");
	check_route(p, "called=801:caller=sip/x:billid=1:username=u", "conf/not800");
	ce_plan_free(p);
}

static void test_contexts(void)
{
	struct ce_plan *p = plan_from("[contexts]\n"
	                              "^sip/=fromsip\n"
	                              "^bad=-\n"
	                              "[default]\n"
	                              "^1$=include common\n"
	                              "^1$=conf/default-1\n"
	                              "^2$=goto common\n"
	                              "^2$=conf/never\n"
	                              "^3$=match 800\n"
	                              "^800$=conf/matched-800\n"
	                              "^4$=return\n"
	                              "^4$=conf/never\n"
	                              "^5$=@goto nowhere\n"
	                              "^6$=goto ${target}\n"
	                              "^7$=retval keep\n"
	                              "[common]\n"
	                              "^2$=conf/common-2\n"
	                              "^9$=return true\n"
	                              "[fromsip]\n"
	                              "^1$=conf/sip-1\n"
	                              "[loop]\n"
	                              ".*=goto loop\n");

	check_route(p, "called=1", "conf/default-1");
	check_route(p, "called=2", "conf/common-2");
	check_route(p, "called=3", "conf/matched-800");
	check_route(p, "called=4", "(none)");
	check_route(p, "called=5", "(none)");
	check_route(p, "called=6:target=fromsip", "(none)");
	check_route(p, "called=1:target=fromsip:caller=sip/a", "conf/sip-1");
	check_route(p, "called=2:caller=sip/a", "(none)");
	check_route(p, "called=2:caller=sip/a:context=default", "conf/common-2");
	check_route(p, "called=1:context=common", "(none)");
	check_route(p, "called=9:context=common", "");
	check_route(p, "called=1:context=nosuch", "(none)");
	check_route(p, "called=1:caller=bad", "-");
	g_test_expect_message("dialplan", G_LOG_LEVEL_WARNING,
	        "goto/include deeper than maxdepth=5 at context [loop]: a loop?");
	check_route(p, "called=1:context=loop", "(none)");
	g_test_assert_expected_messages();
	ce_plan_free(p);
}

static void test_retval_kept(void)
{
	struct ce_plan *p = plan_from("[default]\n^7$=retval keep\n");
	struct ce_msg *m;
	char *r = route(p, "called=7", &m);

	g_assert_cmpstr(r, ==, "(none)");
	g_assert_cmpstr(m->retval, ==, "keep");
	g_free(r);
	ce_msg_unref(m);
	ce_plan_free(p);
}

static void test_options(void)
{
	struct ce_plan *p = plan_from("[priorities]\nextended=yes\ninsensitive=true\n"
	                              "[default]\n^(ab|cd)+$=conf/\\1\n${x}=conf/x\n");

	check_route(p, "called=ABcd", "conf/cd");
	check_route(p, "called=zz:x=on", "conf/x");
	check_route(p, "called=zz:x=no", "(none)");
	ce_plan_free(p);
}

static void test_refused(void)
{
	plan_bad("[default]\n\n^1$=echo hi\n", "dp.conf:3: 'echo' is not supported");
	plan_bad("[default]\n^1$=dispatch x\n", "dp.conf:2: 'dispatch' is not supported");
	plan_bad("[default]\n^1$=rename x\n", "dp.conf:2: 'rename' is not supported");
	plan_bad("[default]\n^1$={\n", "dp.conf:2: blocks { ... } are not supported");
	plan_bad("[default]\n^1$=msleep 10\n", "dp.conf:2: 'msleep' is not supported");
}

static void test_refused_all(void)
{
	static const struct {
		const char *text, *msg;
	} t[] = {
	        {"[default]\n^1$=if ^2$=conf/x\n",
	                "dp.conf:2: 'if', 'and', 'or' conditions are not supported"},
	        {"[default]\n^1$=or ^2$=conf/x\n",
	                "dp.conf:2: 'if', 'and', 'or' conditions are not supported"},
	        {"[default]\n^1$ = {\n", "dp.conf:2: blocks { ... } are not supported"},
	        {"[default]\n}=\n", "dp.conf:2: blocks { ... } are not supported"},
	        {"[default]\n$(upper,x)^X=conf/x\n",
	                "dp.conf:2: function matches $(...) are not supported"},
	        {"[default]\n${}x=conf/x\n", "dp.conf:2: invalid parameter match '${}x'"},
	        {"[default]\n${a=conf/x\n", "dp.conf:2: invalid parameter match '${a'"},
	        {"[default]\n^1$=conf/$(upper,x)\n",
	                "dp.conf:2: function '$(upper,x)' is not supported (only $() and $($))"},
	        {"[default]\n^1$=conf/${x\n", "dp.conf:2: unterminated '${' in 'conf/${x'"},
	        {"[default]\n^1$=conf/x;$var=1\n",
	                "dp.conf:2: global variables ('$var=1') are not supported"},
	        {"[default]\n^1$=goto nowhere\n", "dp.conf:2: no context [nowhere] to go to"},
	        {"[default]\n^1$=include\n", "dp.conf:2: 'include' needs a context name"},
	        {"[priorities]\nroute=100\n",
	                "dp.conf:2: [priorities] route= is not supported (set [dialplan] priority= "
	                "in conf-engine.conf)"},
	        {"[priorities]\nprerouteall=yes\n",
	                "dp.conf:2: [priorities] prerouteall= is not supported"},
	        {"[default]\n^1$=x\n\n[extra]\ncall.execute=90\n",
	                "dp.conf:4: section [extra] is not supported"},
	        {"[$once]\n", "dp.conf:1: section [$once] is not supported"},
	};
	unsigned i;

	for (i = 0; i < G_N_ELEMENTS(t); i++)
		plan_bad(t[i].text, t[i].msg);
}

/* Yate never matches a rule whose regex fails to compile: skipped, warned, the rest loads */
static void test_bad_regex_skipped(void)
{
	struct ce_plan *p;

	g_test_expect_message("dialplan", G_LOG_LEVEL_WARNING,
	        "dp.conf:2: bad regular expression '\\(1': Unmatched ( or \\(, rule skipped");
	g_test_expect_message("dialplan", G_LOG_LEVEL_WARNING,
	        "dp.conf:3: bad regular expression 'x[2': Unmatched [, [^, [:, [., or [=, rule "
	        "skipped");
	g_test_expect_message("dialplan", G_LOG_LEVEL_WARNING,
	        "dp.conf:4: bad regular expression '^\\(.\\)\\1$': back-references (\\1) are not "
	        "supported: *, rule skipped");
	g_test_expect_message("dialplan", G_LOG_LEVEL_WARNING,
	        "dp.conf:5: bad regular expression '\\(x': Unmatched ( or \\(, rule skipped");
	p = plan_from("[default]\n"
	              "\\(1=goto nowhere\n"
	              "x[2=conf/bad\n"
	              "^\\(.\\)\\1$=conf/backref\n"
	              "${caller}\\(x^=conf/inverted\n"
	              "^1=conf/one\n"
	              ".*=conf/any\n");
	g_test_assert_expected_messages();
	g_assert_cmpuint(ce_plan_n_rules(p), ==, 2);
	check_route(p, "called=1", "conf/one");
	check_route(p, "called=(1", "conf/any");
	check_route(p, "called=x[2", "conf/any");
	check_route(p, "called=22:caller=(x", "conf/any");
	ce_plan_free(p);
}

static void test_hostile(void)
{
	struct ce_plan *p = plan_from("[default]\n^\\(0*\\)*1$=conf/never\n.*=conf/fallback\n");
	GString *big = g_string_new("called=");
	unsigned i;

	check_route(p, "called=00000000000000000000000000000000000000000000000!", "conf/fallback");
	/* a value over the bound is matched by no rule, with one warning per rule */
	for (i = 0; i < 100000; i++)
		g_string_append_c(big, "0123456789"[i % 10]);
	g_test_expect_message("dialplan", G_LOG_LEVEL_WARNING,
	        "dp.conf:2: a value of 100000 bytes is longer than 1024, not matched against "
	        "'^\\(0*\\)*1$' (rule treated as not matching; reported once): "
	        "'0123456789012345678901234567890123456789...'");
	g_test_expect_message("dialplan", G_LOG_LEVEL_WARNING,
	        "dp.conf:3: a value of 100000 bytes is longer than 1024, not matched against '.*' "
	        "*");
	check_route(p, big->str, "(none)");
	g_test_assert_expected_messages();
	check_route(p, big->str, "(none)");
	/* at the bound it is matched */
	g_string_truncate(big, strlen("called=") + 1024);
	check_route(p, big->str, "conf/fallback");
	g_string_free(big, TRUE);
	ce_plan_free(p);
	/* substituted text is not read again: no ${...} smuggled through a number */
	p = plan_from("[default]\n^\\(.*\\)$=conf/\\1;x=\\1\n");
	check_route(p, "called=${secret}$(upper,a):secret=leak", "conf/${secret}$(upper,a)");
	ce_plan_free(p);
}

/* goto/include fan-out is exponential in maxdepth: one routing has a budget */
static void test_fanout(void)
{
	struct ce_plan *p = plan_from("[priorities]\nmaxdepth=100\n"
	                              "[default]\n.*=include b\n.*=include b\n.*=conf/fallback\n"
	                              "[b]\n.*=include b\n.*=include b\n.*=include b\n");

	g_test_expect_message("dialplan", G_LOG_LEVEL_WARNING,
	        "goto/include deeper than maxdepth=100 at context [b]: a loop?");
	g_test_expect_message("dialplan", G_LOG_LEVEL_WARNING,
	        "routing of '800' stopped after 10001 rules: goto/include fan-out? (reported "
	        "once)");
	check_route(p, "called=800", "(none)");
	g_test_assert_expected_messages();
	check_route(p, "called=800", "(none)");
	ce_plan_free(p);
}

static void count_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
	(void)domain;
	(void)level;
	(void)msg;
	(*(unsigned *)data)++;
}

/* Every file of the fuzz corpus (and the crash inputs kept there) runs clean. */
static void test_fuzz_corpus(void)
{
	/* hostile inputs warn, by design: count the warnings, do not abort on them */
	GLogLevelFlags fatal = g_log_set_always_fatal(G_LOG_FATAL_MASK);
	GLogLevelFlags levels = G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_DEBUG;
	unsigned warnings = 0;
	guint h1 = g_log_set_handler("dialplan", levels, count_log, &warnings);
	guint h2 = g_log_set_handler("ce-config", levels, count_log, &warnings);
	const char *srcdir = g_getenv("CE_SRCDIR");
	char *dir = g_build_filename(
	        srcdir ? srcdir : CE_SRCDIR, "tests", "modules", "dialplan", "corpus", NULL);
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;
	unsigned n = 0;

	g_assert_nonnull(d);
	while ((name = g_dir_read_name(d))) {
		char *path = g_build_filename(dir, name, NULL), *buf = NULL;
		gsize len = 0;
		g_assert_true(g_file_get_contents(path, &buf, &len, NULL));
		g_test_message("corpus %s", name);
		LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
		g_free(buf);
		g_free(path);
		n++;
	}
	g_dir_close(d);
	g_free(dir);
	g_log_remove_handler("dialplan", h1);
	g_log_remove_handler("ce-config", h2);
	g_log_set_always_fatal(fatal);
	g_test_message("%u inputs, %u log lines", n, warnings);
	g_assert_cmpuint(n, >, 0);
}

static void test_sample_file(void)
{
	const char *srcdir = g_getenv("CE_SRCDIR");
	struct ce_config *cfg = NULL;
	struct ce_plan *p = NULL;
	struct ce_msg *m = NULL;
	GError *err = NULL;
	char *path;

	path = g_build_filename(srcdir ? srcdir : CE_SRCDIR, "conf", "dialplan.conf", NULL);
	g_assert_cmpint(ce_config_load(&cfg, path, &err), ==, 0);
	g_assert_cmpint(ce_plan_new(&p, cfg, &err), ==, 0);
	g_assert_no_error(err);
	/* as README.md says: 800 is the scheduled conference, with the PIN after it */
	check_route(p, "called=800:caller=sip/1", "schedule/800");
	g_free(route(p, "called=8001234:caller=sip/1", &m));
	g_assert_cmpstr(m->retval, ==, "schedule/800");
	g_assert_cmpstr(ce_msg_get(m, "pin"), ==, "1234");
	ce_msg_unref(m);
	/* ... and 801 an open room */
	check_route(p, "called=801:caller=sip/1", "conf/open");
	check_route(p, "called=805:caller=sip/1", "conf/room5");
	ce_plan_free(p);
	ce_config_free(cfg);
	g_free(path);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/plan/basic", test_basic_table);
	g_test_add_func("/plan/params-set", test_params_set);
	g_test_add_func("/plan/param-rules", test_param_rules);
	g_test_add_func("/plan/contexts", test_contexts);
	g_test_add_func("/plan/retval", test_retval_kept);
	g_test_add_func("/plan/options", test_options);
	g_test_add_func("/plan/refused-actions", test_refused);
	g_test_add_func("/plan/refused", test_refused_all);
	g_test_add_func("/plan/bad-regex-skipped", test_bad_regex_skipped);
	g_test_add_func("/plan/hostile", test_hostile);
	g_test_add_func("/plan/fanout", test_fanout);
	g_test_add_func("/plan/fuzz-corpus", test_fuzz_corpus);
	g_test_add_func("/plan/sample-file", test_sample_file);
	return g_test_run();
}
