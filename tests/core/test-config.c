/* test-config.c - unit tests for conf-engine/config.c (syntax, errors, includes, getters, review)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "conf-engine/config.h"
#include "conf-engine/engine.h"
#include "tests/testutil.h"

static struct ce_config *parse_ok(const char *text)
{
	struct ce_config *cfg = NULL;
	GError *err = NULL;

	g_assert_cmpint(ce_config_parse(&cfg, text, -1, "t.conf", &err), ==, 0);
	g_assert_no_error(err);
	return cfg;
}

/* Parse @text expecting a syntax error with exactly @msg. */
static void parse_bad(const char *text, gssize len, const char *msg)
{
	struct ce_config *cfg = NULL;
	GError *err = NULL;

	g_assert_cmpint(ce_config_parse(&cfg, text, len, "t.conf", &err), <, 0);
	g_assert_null(cfg);
	g_assert_error(err, CE_CONFIG_ERROR, CE_CONFIG_ERROR_SYNTAX);
	g_assert_cmpstr(err->message, ==, msg);
	g_error_free(err);
}

static void test_basic(void)
{
	struct ce_config *cfg = parse_ok("; comment\n"
	                                 "# also a comment\n"
	                                 "\n"
	                                 "  [general]  ; trailing comment\n"
	                                 "node = pbx1  \n"
	                                 "\tspaced\t=\t a b \t\n"
	                                 "empty=\n"
	                                 "semi=a;b=c ; kept\n"
	                                 "eq=x=y\n"
	                                 "[ other ]\n"
	                                 "k=v\n");
	const struct ce_config_entry *e;

	g_assert_cmpuint(ce_config_n_sections(cfg), ==, 2);
	g_assert_cmpstr(ce_config_section_name(cfg, 0), ==, "general");
	g_assert_cmpstr(ce_config_section_name(cfg, 1), ==, "other");
	g_assert_null(ce_config_section_name(cfg, 2));
	g_assert_cmpstr(ce_config_get(cfg, "general", "node", NULL), ==, "pbx1");
	g_assert_cmpstr(ce_config_get(cfg, "general", "spaced", NULL), ==, "a b");
	g_assert_cmpstr(ce_config_get(cfg, "general", "empty", "d"), ==, "");
	g_assert_cmpstr(ce_config_get(cfg, "general", "semi", NULL), ==, "a;b=c ; kept");
	g_assert_cmpstr(ce_config_get(cfg, "general", "eq", NULL), ==, "x=y");
	g_assert_cmpstr(ce_config_get(cfg, "general", "missing", "d"), ==, "d");
	g_assert_cmpstr(ce_config_get(cfg, "nosuch", "k", "d"), ==, "d");
	g_assert_cmpstr(ce_config_get(NULL, "other", "k", "d"), ==, "d");
	g_assert_true(ce_config_has_section(cfg, "other"));
	g_assert_false(ce_config_has_section(cfg, "Other"));
	e = ce_config_entry(cfg, "general", 1);
	g_assert_cmpstr(e->key, ==, "spaced");
	g_assert_cmpstr(e->file, ==, "t.conf");
	g_assert_cmpuint(e->line, ==, 6);
	g_assert_null(ce_config_entry(cfg, "general", 5));
	g_assert_cmpstr(ce_config_path(cfg), ==, "t.conf");
	ce_config_free(cfg);
}

static void test_section_line(void)
{
	struct ce_config *cfg = parse_ok("; c\n[a]\nk=1\n\n[b]\n[a]\n");
	const char *file = NULL;

	g_assert_cmpuint(ce_config_section_line(cfg, "a", &file), ==, 2);
	g_assert_cmpstr(file, ==, "t.conf");
	g_assert_cmpuint(ce_config_section_line(cfg, "b", NULL), ==, 5);
	g_assert_cmpuint(ce_config_section_line(cfg, "c", &file), ==, 0);
	g_assert_null(file);
	ce_config_free(cfg);
}

/* The documented sample must load, with every section it documents. */
static void test_sample(void)
{
	const char *srcdir = g_getenv("CE_SRCDIR");
	struct ce_config *cfg = NULL;
	GError *err = NULL;
	char *path =
	        g_build_filename(srcdir ? srcdir : CE_SRCDIR, "conf", "conf-engine.conf", NULL);

	g_assert_cmpint(ce_config_load(&cfg, path, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_true(ce_config_has_section(cfg, "general"));
	g_assert_true(ce_config_has_section(cfg, "log"));
	g_assert_true(ce_config_has_section(cfg, "console"));
	g_assert_true(ce_config_has_section(cfg, "dialplan"));
	ce_config_free(cfg);
	g_free(path);
}

static void test_repeats(void)
{
	struct ce_config *cfg = parse_ok("[a]\nk=1\nx=0\nk=2\n[b]\nz=9\n[a]\nk=3\n");
	const struct ce_config_entry *e;

	/* Yate's getValue returns the first of repeated keys */
	g_assert_cmpstr(ce_config_get(cfg, "a", "k", NULL), ==, "1");
	g_assert_cmpuint(ce_config_n_sections(cfg), ==, 2);
	g_assert_cmpuint(ce_config_n_entries(cfg, "a"), ==, 4);
	e = ce_config_entry(cfg, "a", 3);
	g_assert_cmpstr(e->value, ==, "3");
	g_assert_cmpuint(e->line, ==, 8);
	e = ce_config_lookup(cfg, "a", "k");
	g_assert_cmpuint(e->line, ==, 2);
	ce_config_free(cfg);
}

static void test_continuation(void)
{
	struct ce_config *cfg = parse_ok("[s]\n"
	                                 "long = one \\\n"
	                                 "    two\\\n"
	                                 "; not a comment here\\\n"
	                                 "three  \n"
	                                 "after=1\n"
	                                 "notcont=a\\ \n"
	                                 "eof=x\\");
	const struct ce_config_entry *e = ce_config_lookup(cfg, "s", "long");

	g_assert_cmpstr(e->value, ==, "one two; not a comment herethree");
	g_assert_cmpuint(e->line, ==, 2);
	g_assert_cmpuint(ce_config_lookup(cfg, "s", "after")->line, ==, 6);
	g_assert_cmpstr(ce_config_get(cfg, "s", "notcont", NULL), ==, "a\\");
	g_assert_cmpstr(ce_config_get(cfg, "s", "eof", NULL), ==, "x");
	ce_config_free(cfg);
}

static void test_line_endings(void)
{
	struct ce_config *cfg = parse_ok("\xef\xbb\xbf[s]\r\na=1\r\nb=2\rc=3\n\nd=4");

	g_assert_cmpstr(ce_config_get(cfg, "s", "a", NULL), ==, "1");
	g_assert_cmpstr(ce_config_get(cfg, "s", "b", NULL), ==, "2");
	g_assert_cmpstr(ce_config_get(cfg, "s", "c", NULL), ==, "3");
	g_assert_cmpuint(ce_config_lookup(cfg, "s", "d")->line, ==, 6);
	ce_config_free(cfg);
}

static void test_syntax_errors(void)
{
	parse_bad(
	        "[s]\n[unterminated\n", -1, "t.conf:2: unterminated section header (missing ']')");
	parse_bad("[s]\n=novalue\n", -1, "t.conf:2: empty key before '='");
	parse_bad("[s]\nk=1\ngarbage\n", -1, "t.conf:3: expected 'key=value' or '[section]'");
	parse_bad("k=1\n", -1, "t.conf:1: key 'k' outside any [section]");
	parse_bad("\n[ ]\n", -1, "t.conf:2: empty section name");
	parse_bad("[a] b\n", -1, "t.conf:1: unexpected text after section header");
	parse_bad("[s]\nk=a\0b\n", 9, "t.conf:2: NUL byte in line");
	parse_bad("[s]\n[$enabled yes]\n", -1, "t.conf:2: unsupported directive [$enabled]");
	parse_bad("[s]\n[$includesection x]\n", -1,
	        "t.conf:2: unsupported directive [$includesection]");
	parse_bad("[s]\n[$include ]\n", -1, "t.conf:2: [$include] needs a file or directory name");
}

static void test_dollar_sections(void)
{
	struct ce_config *cfg = parse_ok("[$once]\na=1\n[$includex]\nb=2\n");

	g_assert_true(ce_config_has_section(cfg, "$once"));
	g_assert_true(ce_config_has_section(cfg, "$includex"));
	ce_config_free(cfg);
}

static void test_io_error(void)
{
	struct ce_config *cfg = NULL;
	GError *err = NULL;

	g_assert_cmpint(ce_config_load(&cfg, "/nonexistent/x.conf", &err), ==, -ENOENT);
	g_assert_error(err, CE_CONFIG_ERROR, CE_CONFIG_ERROR_IO);
	g_assert_cmpstr(
	        err->message, ==, "cannot read '/nonexistent/x.conf': No such file or directory");
	g_clear_error(&err);
	g_assert_cmpint(ce_config_load(&cfg, "/", &err), ==, -EISDIR);
	g_assert_error(err, CE_CONFIG_ERROR, CE_CONFIG_ERROR_IO);
	g_clear_error(&err);
	g_assert_null(cfg);
}

static char *write_tmp(const char *dir, const char *name, const char *text)
{
	char *path = g_build_filename(dir, name, NULL);

	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	return path;
}

static void test_includes(void)
{
	char *dir = g_dir_make_tmp("cfgtest-XXXXXX", NULL);
	char *sub = g_build_filename(dir, "parts", NULL);
	char *main_path, *p;
	struct ce_config *cfg = NULL;
	GError *err = NULL;

	g_assert_nonnull(dir);
	g_mkdir(sub, 0700);
	g_free(write_tmp(sub, "b.conf", "[b]\nk=b\n"));
	g_free(write_tmp(sub, "a.conf", "k2=into-includer\n[a]\nk=a\n"));
	g_free(write_tmp(sub, "z.conf~", "garbage\n"));
	g_free(write_tmp(sub, ".hidden", "garbage\n"));
	g_free(write_tmp(dir, "inc.conf", "[i]\nx=1\n"));
	main_path = write_tmp(dir, "main.conf",
	        "[m]\n[$include inc.conf]\nafter=m\n[$include parts]\n"
	        "[$includesilent nothere.conf]\n[$include missing.conf]\nlast=1\n");
	g_test_expect_message("ce-config", G_LOG_LEVEL_WARNING,
	        "*/main.conf:6: not including: cannot read '*/missing.conf': No such file or "
	        "directory");
	g_assert_cmpint(ce_config_load(&cfg, main_path, &err), ==, 0);
	g_test_assert_expected_messages();
	g_assert_no_error(err);
	/* the includer's section is unchanged after an include */
	g_assert_cmpstr(ce_config_get(cfg, "m", "after", NULL), ==, "m");
	g_assert_cmpstr(ce_config_get(cfg, "m", "k2", NULL), ==, "into-includer");
	g_assert_cmpstr(ce_config_get(cfg, "i", "x", NULL), ==, "1");
	g_assert_cmpstr(ce_config_get(cfg, "a", "k", NULL), ==, "a");
	g_assert_cmpstr(ce_config_get(cfg, "b", "k", NULL), ==, "b");
	g_assert_cmpstr(ce_config_get(cfg, "m", "last", NULL), ==, "1");
	/* directory files in name order: a before b */
	g_assert_cmpstr(ce_config_section_name(cfg, 2), ==, "a");
	p = g_build_filename(sub, "a.conf", NULL);
	g_assert_cmpstr(ce_config_lookup(cfg, "a", "k")->file, ==, p);
	g_assert_cmpuint(ce_config_lookup(cfg, "a", "k")->line, ==, 3);
	g_free(p);
	ce_config_free(cfg);
	g_free(main_path);

	main_path = write_tmp(dir, "req.conf", "[m]\n[$require missing.conf]\n");
	g_assert_cmpint(ce_config_load(&cfg, main_path, &err), <, 0);
	g_assert_error(err, CE_CONFIG_ERROR, CE_CONFIG_ERROR_IO);
	g_assert_nonnull(strstr(err->message, "req.conf:2: required cannot read '"));
	g_assert_nonnull(strstr(err->message, "missing.conf': No such file or directory"));
	g_clear_error(&err);
	g_free(main_path);

	/* a cycle, and an error inside an included file names that file */
	g_free(write_tmp(dir, "c1.conf", "[c]\n[$include c2.conf]\n"));
	g_free(write_tmp(dir, "c2.conf", "[d]\n\n[$include c1.conf]\n"));
	main_path = g_build_filename(dir, "c1.conf", NULL);
	g_assert_cmpint(ce_config_load(&cfg, main_path, &err), <, 0);
	g_assert_error(err, CE_CONFIG_ERROR, CE_CONFIG_ERROR_SYNTAX);
	g_assert_nonnull(strstr(err->message, "c2.conf:3: recursive include of '"));
	g_clear_error(&err);
	g_free(main_path);
	g_free(write_tmp(dir, "self.conf", "[c]\n[$include self.conf]\n"));
	main_path = g_build_filename(dir, "self.conf", NULL);
	g_assert_cmpint(ce_config_load(&cfg, main_path, &err), <, 0);
	g_assert_nonnull(strstr(err->message, "self.conf:2: recursive include"));
	g_clear_error(&err);
	g_free(main_path);

	g_free(write_tmp(dir, "bad.conf", "[x]\nnot a pair\n"));
	main_path = write_tmp(dir, "top.conf", "[t]\n[$include bad.conf]\n");
	g_assert_cmpint(ce_config_load(&cfg, main_path, &err), <, 0);
	p = g_strdup_printf("%s/bad.conf:2: expected 'key=value' or '[section]'", dir);
	g_assert_cmpstr(err->message, ==, p);
	g_free(p);
	g_clear_error(&err);
	g_free(main_path);

	ce_test_rm_tree(dir);
	g_free(sub);
	g_free(dir);
}

static void test_depth(void)
{
	char *dir = g_dir_make_tmp("cfgdepth-XXXXXX", NULL);
	struct ce_config *cfg = NULL;
	GError *err = NULL;
	char *p;
	int i;

	for (i = 0; i < 20; i++) {
		char name[32], text[64];
		g_snprintf(name, sizeof(name), "d%d.conf", i);
		g_snprintf(text, sizeof(text), "[d%d]\n[$include d%d.conf]\n", i, i + 1);
		g_free(write_tmp(dir, name, text));
	}
	p = g_build_filename(dir, "d0.conf", NULL);
	g_assert_cmpint(ce_config_load(&cfg, p, &err), <, 0);
	g_assert_nonnull(strstr(err->message, "d10.conf:2: includes nested deeper than 10"));
	g_clear_error(&err);
	g_free(p);
	ce_test_rm_tree(dir);
	g_free(dir);
}

static void test_getters(void)
{
	struct ce_config *cfg = parse_ok("[s]\nyes=yes\nOn=ON\nno=disable\nbad=maybe\nempty=\n"
	                                 "n=42\nneg=-7\nhex=0x10\njunk=12abc\nbig=99999\n"
	                                 "huge=999999999999999999999999\n");

	g_assert_true(ce_config_get_bool(cfg, "s", "yes", false));
	/* Yate's rule: "ON" is not a boolean, so the default, with the word meant */
	g_test_expect_message("ce-config", G_LOG_LEVEL_WARNING,
	        "t.conf:3: key 'On' is not a Yate boolean (Yate reads it as the default; write "
	        "true), using default false");
	g_assert_false(ce_config_get_bool(cfg, "s", "On", false));
	g_test_assert_expected_messages();
	g_assert_false(ce_config_get_bool(cfg, "s", "no", true));
	g_assert_true(ce_config_get_bool(cfg, "s", "empty", true));
	g_assert_false(ce_config_get_bool(cfg, "s", "absent", false));
	g_test_expect_message("ce-config", G_LOG_LEVEL_WARNING,
	        "t.conf:5: key 'bad' expects a boolean (true or false), using default true");
	g_assert_true(ce_config_get_bool(cfg, "s", "bad", true));
	g_test_assert_expected_messages();
	/* warned once only */
	g_assert_false(ce_config_get_bool(cfg, "s", "bad", false));

	g_assert_cmpint(ce_config_get_int(cfg, "s", "n", 0, 0, 100), ==, 42);
	g_assert_cmpint(ce_config_get_int(cfg, "s", "neg", 0, -10, 10), ==, -7);
	g_assert_cmpint(ce_config_get_int(cfg, "s", "hex", 0, 0, 100), ==, 16);
	g_assert_cmpint(ce_config_get_int(cfg, "s", "empty", 5, 0, 100), ==, 5);
	g_assert_cmpint(ce_config_get_int(cfg, "s", "absent", 5, 0, 100), ==, 5);
	g_test_expect_message("ce-config", G_LOG_LEVEL_WARNING,
	        "t.conf:10: key 'junk' expects an integer, using default 5");
	g_assert_cmpint(ce_config_get_int(cfg, "s", "junk", 5, 0, 100), ==, 5);
	g_test_assert_expected_messages();
	g_test_expect_message("ce-config", G_LOG_LEVEL_WARNING,
	        "t.conf:11: key 'big' value 99999 is outside 0..1000, using 1000");
	g_assert_cmpint(ce_config_get_int(cfg, "s", "big", 5, 0, 1000), ==, 1000);
	g_test_assert_expected_messages();
	g_test_expect_message("ce-config", G_LOG_LEVEL_WARNING,
	        "t.conf:12: key 'huge' expects an integer, using default 3");
	g_assert_cmpint(ce_config_get_int(cfg, "s", "huge", 3, 0, 10), ==, 3);
	g_test_assert_expected_messages();
	ce_config_free(cfg);
}

static void test_set(void)
{
	struct ce_config *cfg = NULL;

	ce_config_new_empty(&cfg);
	g_assert_cmpint(ce_config_set(cfg, "s", "k", "1"), ==, 0);
	g_assert_cmpint(ce_config_set(cfg, "s", "k", "2"), ==, 0);
	g_assert_cmpint(ce_config_set(cfg, "", "k", "2"), ==, -EINVAL);
	g_assert_cmpstr(ce_config_get(cfg, "s", "k", NULL), ==, "2");
	g_assert_cmpuint(ce_config_n_entries(cfg, "s"), ==, 1);
	g_assert_null(ce_config_path(cfg));
	g_test_expect_message(
	        "ce-config", G_LOG_LEVEL_WARNING, "[s] key 'k' value 2 is outside 5..6, using 5");
	g_assert_cmpint(ce_config_get_int(cfg, "s", "k", 0, 5, 6), ==, 5);
	g_test_assert_expected_messages();
	ce_config_free(cfg);
}

static void test_hostile(void)
{
	GString *s = g_string_new("[s]\nlong=");
	struct ce_config *cfg;
	GError *err = NULL;
	char bin[4096];
	unsigned i;

	/* a 4 MiB line */
	for (i = 0; i < (4u << 20); i++)
		g_string_append_c(s, 'a' + i % 26);
	g_string_append(s, "\n");
	cfg = parse_ok(s->str);
	g_assert_cmpuint(strlen(ce_config_get(cfg, "s", "long", "")), ==, 4u << 20);
	ce_config_free(cfg);

	/* 100k sections */
	g_string_assign(s, "");
	for (i = 0; i < 100000; i++)
		g_string_append_printf(s, "[s%u]\nk=%u\n", i, i);
	cfg = parse_ok(s->str);
	g_assert_cmpuint(ce_config_n_sections(cfg), ==, 100000);
	g_assert_cmpstr(ce_config_get(cfg, "s99999", "k", NULL), ==, "99999");
	ce_config_free(cfg);

	/* binary: fails cleanly, never crashes */
	for (i = 0; i < 64; i++) {
		unsigned j;
		for (j = 0; j < sizeof(bin); j++)
			bin[j] = (char)g_test_rand_int_range(0, 256);
		cfg = NULL;
		if (ce_config_parse(&cfg, bin, sizeof(bin), "bin", &err) < 0) {
			g_assert_nonnull(err);
			g_assert_true(g_str_has_prefix(err->message, "bin:"));
			g_clear_error(&err);
		}
		ce_config_free(cfg);
	}
	/* lots of continuation lines, backslashes only */
	g_string_assign(s, "[s]\nk=");
	for (i = 0; i < 100000; i++)
		g_string_append(s, "\\\n");
	cfg = parse_ok(s->str);
	g_assert_cmpstr(ce_config_get(cfg, "s", "k", NULL), ==, "");
	ce_config_free(cfg);
	g_string_free(s, TRUE);
}

static const char *check_even(const char *v)
{
	return atoi(v) % 2 ? "expects an even number" : NULL;
}

static const struct ce_config_key store_keys[] = {
        CE_KEY_STRING("name"),
        CE_KEY_BOOL("on"),
        CE_KEY_INT("rate", 8000, 48000),
        CE_KEY_CHOICE("codec", "mulaw|alaw"),
        CE_KEY_CHECK("even", check_even),
        CE_KEY_STRING("domain."),
        CE_KEY_END,
};

static const struct ce_config_key general_keys[] = {
        CE_KEY_STRING("state_dir"),
        CE_KEY_END,
};

static const struct ce_config_section_keys known[] = {
        {"store", store_keys},
        {"general", general_keys},
};

static void assert_messages(GPtrArray *got, const char *const *want)
{
	unsigned i;

	for (i = 0; want[i]; i++) {
		g_assert_cmpuint(i, <, got->len);
		g_assert_cmpstr(got->pdata[i], ==, want[i]);
	}
	g_assert_cmpuint(got->len, ==, i);
}

/* Unknown sections and keys are warnings, values their keys cannot take errors, with FILE:LINE. */
static void test_review(void)
{
	struct ce_config *cfg = parse_ok("[store]\n"
	                                 "name=x\n"
	                                 "on=maybe\n"
	                                 "on=1\n"
	                                 "on=False\n"
	                                 "rate=96000\n"
	                                 "rate=lots\n"
	                                 "codec=gsm\n"
	                                 "even=3\n"
	                                 "domain.x=1\n"
	                                 "domain.=1\n"
	                                 "rat=8000\n"
	                                 "state_dir=/x\n"
	                                 "zzz=1\n"
	                                 "on=\nrate=\ncodec=\n"
	                                 "[stor]\n"
	                                 "k=v\n"
	                                 "[general]\nstate_dir=ok\n"
	                                 "[whatever]\n"
	                                 "[STORE]\n");
	static const char *const errors[] = {
	        "t.conf:3: [store] on=maybe: expects a boolean (true or false)",
	        "t.conf:4: [store] on=1: is not a Yate boolean (Yate reads it as the default; "
	        "write true)",
	        "t.conf:5: [store] on=False: is not a Yate boolean (Yate reads it as the default; "
	        "write false)",
	        "t.conf:6: [store] rate=96000: outside 8000..48000",
	        "t.conf:7: [store] rate=lots: expects an integer (8000..48000)",
	        "t.conf:8: [store] codec=gsm: expects one of mulaw, alaw",
	        "t.conf:9: [store] even=3: expects an even number",
	        NULL,
	};
	static const char *const warnings[] = {
	        "t.conf:11: [store] unknown key 'domain.' is ignored (did you mean 'domain.NAME'?)",
	        "t.conf:12: [store] unknown key 'rat' is ignored (did you mean 'rate'?)",
	        "t.conf:13: [store] unknown key 'state_dir' is ignored (it belongs in [general])",
	        "t.conf:14: [store] unknown key 'zzz' is ignored",
	        "t.conf:18: unknown section [stor] is ignored (did you mean [store]?)",
	        "t.conf:22: unknown section [whatever] is ignored",
	        "t.conf:23: unknown section [STORE] is ignored (did you mean [store]?)",
	        NULL,
	};
	struct ce_config_report rep;

	ce_config_report_init(&rep);
	g_assert_cmpint(ce_config_review(cfg, known, G_N_ELEMENTS(known), &rep), ==, -EINVAL);
	assert_messages(rep.errors, errors);
	assert_messages(rep.warnings, warnings);
	/* what the review reported, the getters do not report again (warnings are fatal here) */
	g_assert_cmpint(ce_config_get_int(cfg, "store", "rate", 8000, 8000, 48000), ==, 48000);
	g_assert_false(ce_config_get_bool(cfg, "store", "on", false));
	ce_config_report_clear(&rep);
	ce_config_free(cfg);

	/* only warnings: 0; set keys have no FILE:LINE */
	cfg = parse_ok("[store]\nrate=0x1f40\non=yes\ncodec=alaw\neven=4\n");
	ce_config_set(cfg, "store", "nmae", "x");
	ce_config_report_init(&rep);
	g_assert_cmpint(ce_config_review(cfg, known, G_N_ELEMENTS(known), &rep), ==, 0);
	g_assert_cmpuint(rep.errors->len, ==, 0);
	g_assert_cmpuint(rep.warnings->len, ==, 1);
	g_assert_cmpstr(rep.warnings->pdata[0], ==,
	        "[store] unknown key 'nmae' is ignored (did you mean 'name'?)");
	ce_config_report_clear(&rep);
	ce_config_free(cfg);
}

/* The sample with every commented-out key switched on: all known, every shown value valid. */
static void test_known_sample(void)
{
	const char *srcdir = g_getenv("CE_SRCDIR");
	char *path =
	        g_build_filename(srcdir ? srcdir : CE_SRCDIR, "conf", "conf-engine.conf", NULL);
	struct ce_config_section_keys sections[CE_ENGINE_MAX_SECTIONS];
	GRegex *re = g_regex_new("^;([A-Za-z_][A-Za-z0-9_.]*=)", G_REGEX_MULTILINE, 0, NULL);
	struct ce_config_report rep;
	struct ce_config *cfg = NULL;
	char *text = NULL, *on;
	unsigned i, keys = 0;

	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	on = g_regex_replace(re, text, -1, 0, "\\1", 0, NULL);
	cfg = parse_ok(on);
	for (i = 0; i < ce_config_n_sections(cfg); i++)
		keys += ce_config_n_entries(cfg, ce_config_section_name(cfg, i));
	g_assert_cmpuint(keys, >=, 60);
	ce_config_report_init(&rep);
	g_assert_cmpint(
	        ce_config_review(cfg, sections, ce_engine_known_sections(sections), &rep), ==, 0);
	for (i = 0; i < rep.warnings->len; i++)
		g_test_message("%s", (char *)rep.warnings->pdata[i]);
	g_assert_cmpuint(rep.warnings->len, ==, 0);
	ce_config_report_clear(&rep);
	ce_config_free(cfg);
	g_regex_unref(re);
	g_free(on);
	g_free(text);
	g_free(path);
}

/* "| `key` | type |" rows under "## [section]" headings, as "section key" -> type cell. */
static GHashTable *documented_keys(const char *text)
{
	GHashTable *doc = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	char **lines = g_strsplit(text, "\n", -1), *section = NULL;

	for (char **l = lines; *l; l++) {
		char **cells;

		if (g_str_has_prefix(*l, "## ")) {
			g_free(section);
			section = g_str_has_prefix(*l, "## [")
			                  ? g_strndup(*l + 4, strcspn(*l + 4, "]"))
			                  : NULL;
			continue;
		}
		if (!section || !g_str_has_prefix(*l, "| `"))
			continue;
		cells = g_strsplit(*l, "|", -1);
		g_assert_cmpuint(g_strv_length(cells), >=, 3);
		{
			char *key = g_strndup(cells[1] + 2, strcspn(cells[1] + 2, "`"));
			char *dot = strstr(key, ".NAME");

			if (dot)
				dot[1] = '\0'; /* domain.NAME: the family "domain." */
			g_hash_table_insert(
			        doc, g_strdup_printf("%s %s", section, key), g_strdup(cells[2]));
			g_free(key);
		}
		g_strfreev(cells);
	}
	g_free(section);
	g_strfreev(lines);
	return doc;
}

/* docs/configuration.md documents every key the engine knows, no other, with its range. */
static void test_known_docs(void)
{
	const char *srcdir = g_getenv("CE_SRCDIR");
	char *path =
	        g_build_filename(srcdir ? srcdir : CE_SRCDIR, "docs", "configuration.md", NULL);
	struct ce_config_section_keys sections[CE_ENGINE_MAX_SECTIONS];
	unsigned i, n = ce_engine_known_sections(sections), known_keys = 0;
	char *text = NULL;
	GHashTable *doc;

	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	doc = documented_keys(text);
	for (i = 0; i < n; i++) {
		for (const struct ce_config_key *k = sections[i].keys; k->name; k++) {
			char *id = g_strdup_printf("%s %s", sections[i].section, k->name);
			const char *type = g_hash_table_lookup(doc, id);
			char *range;

			if (!type)
				g_error("%s: [%s] %s is not documented", path, sections[i].section,
				        k->name);
			if (k->type == CE_CONFIG_INT) {
				range = g_strdup_printf("%ld..%ld", k->min, k->max);
				if (!strstr(type, range))
					g_error("%s: [%s] %s: the type '%s' does not say %s", path,
					        sections[i].section, k->name, type, range);
				g_free(range);
			}
			g_free(id);
			known_keys++;
		}
	}
	if (g_hash_table_size(doc) != known_keys) {
		GHashTableIter it;
		gpointer id;

		g_hash_table_iter_init(&it, doc);
		while (g_hash_table_iter_next(&it, &id, NULL)) {
			char **sk = g_strsplit(id, " ", 2);
			bool found = false;

			for (i = 0; i < n && !found; i++)
				for (const struct ce_config_key *k = sections[i].keys; k->name; k++)
					found = found || (!strcmp(sections[i].section, sk[0]) &&
					                         !strcmp(k->name, sk[1]));
			if (!found)
				g_error("%s documents [%s] %s, which nothing reads", path, sk[0],
				        sk[1]);
			g_strfreev(sk);
		}
	}
	g_hash_table_unref(doc);
	g_free(text);
	g_free(path);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/config/basic", test_basic);
	g_test_add_func("/config/repeats", test_repeats);
	g_test_add_func("/config/section-line", test_section_line);
	g_test_add_func("/config/sample", test_sample);
	g_test_add_func("/config/continuation", test_continuation);
	g_test_add_func("/config/line-endings", test_line_endings);
	g_test_add_func("/config/syntax-errors", test_syntax_errors);
	g_test_add_func("/config/dollar-sections", test_dollar_sections);
	g_test_add_func("/config/io-error", test_io_error);
	g_test_add_func("/config/includes", test_includes);
	g_test_add_func("/config/depth", test_depth);
	g_test_add_func("/config/getters", test_getters);
	g_test_add_func("/config/set", test_set);
	g_test_add_func("/config/hostile", test_hostile);
	g_test_add_func("/config/review", test_review);
	g_test_add_func("/config/known/sample", test_known_sample);
	g_test_add_func("/config/known/docs", test_known_docs);
	return g_test_run();
}
