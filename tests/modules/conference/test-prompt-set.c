/* test-prompt-set.c - modules/conference/prompt-set.c: language folders, fallback, confinement,
 * numbers and times as prompt names */
#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>

#include "media/recfile.h"
#include "modules/conference/prompt-set.h"

/* A prompts_dir of the test's: en/ complete, fr/ partial, a flat file, a non-language folder. */
static char *make_dir(void)
{
	static const char *const files[] = {"en/lonely.wav", "en/enter.wav", "en/7.wav",
	        "fr/lonely.wav", "de-CH/enter.wav", "flat.wav", "2024/news.wav",
	        ".hidden/lonely.wav"};
	char *dir = g_dir_make_tmp("ce-ps-XXXXXX", NULL);

	g_assert_nonnull(dir);
	for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
		char *p = g_build_filename(dir, files[i], NULL);
		char *d = g_path_get_dirname(p);

		g_assert_cmpint(g_mkdir_with_parents(d, 0700), ==, 0);
		g_assert_true(g_file_set_contents(p, "RIFF", 4, NULL));
		g_free(d);
		g_free(p);
	}
	return dir;
}

static void rm_dir(const char *path)
{
	GDir *d = g_dir_open(path, 0, NULL);
	const char *name;

	while (d && (name = g_dir_read_name(d))) {
		char *p = g_build_filename(path, name, NULL);

		if (g_file_test(p, G_FILE_TEST_IS_DIR))
			rm_dir(p);
		else
			g_remove(p);
		g_free(p);
	}
	if (d)
		g_dir_close(d);
	g_rmdir(path);
}

/* ce_prompt_set_path(@name, @lang) is @dir/@expect. */
static void expect_path(struct ce_prompt_set *ps, const char *dir, const char *name,
        const char *lang, const char *expect)
{
	char *got = ce_prompt_set_path(ps, name, lang);
	char *want = g_build_filename(dir, expect, NULL);

	g_assert_cmpstr(got, ==, want);
	g_free(want);
	g_free(got);
}

static void test_lang_valid(void)
{
	static const char *const good[] = {"en", "pt-BR", "de_CH", "x", "abcdefghijklmnop"};
	static const char *const bad[] = {"", "..", ".", "../etc", "en/", "a/b", "-en", "1en",
	        "en us", "abcdefghijklmnopq", "é"};

	for (size_t i = 0; i < G_N_ELEMENTS(good); i++)
		g_assert_true(ce_prompt_lang_valid(good[i]));
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
		g_assert_false(ce_prompt_lang_valid(bad[i]));
	g_assert_false(ce_prompt_lang_valid(NULL));
}

/* A name in the caller's language, else the default, else English, else flat in prompts_dir. */
static void test_fallback(void)
{
	char *dir = make_dir();
	struct ce_prompt_set *ps;

	g_assert_cmpint(ce_prompt_set_new(&ps, dir, "fr"), ==, 0);
	g_assert_cmpstr(ce_prompt_set_lang(ps), ==, "fr");
	g_assert_true(ce_prompt_set_has_lang(ps, "fr"));
	g_assert_true(ce_prompt_set_has_lang(ps, "de-CH"));
	g_assert_false(ce_prompt_set_has_lang(ps, "it"));
	g_assert_false(ce_prompt_set_has_lang(ps, ".hidden"));
	g_assert_false(ce_prompt_set_has_lang(ps, NULL));
	expect_path(ps, dir, "lonely.wav", "fr", "fr/lonely.wav");
	expect_path(ps, dir, "lonely.wav", NULL, "fr/lonely.wav"); /* the default */
	expect_path(ps, dir, "lonely.wav", "en", "en/lonely.wav");
	expect_path(ps, dir, "enter.wav", "fr", "en/enter.wav"); /* fr lacks it: English */
	expect_path(ps, dir, "enter.wav", "de-CH", "de-CH/enter.wav");
	expect_path(ps, dir, "lonely.wav", "de-CH", "fr/lonely.wav"); /* de-CH lacks it: default */
	expect_path(ps, dir, "lonely.wav", "it", "fr/lonely.wav");    /* no such folder */
	expect_path(ps, dir, "7.wav", "it", "en/7.wav");
	/* in no language folder: prompts_dir itself, as before there were languages */
	expect_path(ps, dir, "flat.wav", "fr", "flat.wav");
	expect_path(ps, dir, "missing.wav", "fr", "missing.wav");
	/* a relative path is prompts_dir's, never a language's */
	expect_path(ps, dir, "2024/news.wav", "fr", "2024/news.wav");
	expect_path(ps, dir, "en/enter.wav", "fr", "en/enter.wav");
	/* a folder that is no language name is not one ("." names are not valid) */
	expect_path(ps, dir, "lonely.wav", ".hidden", "fr/lonely.wav");
	ce_prompt_set_free(ps);

	g_assert_cmpint(ce_prompt_set_new(&ps, dir, "en"), ==, 0);
	expect_path(ps, dir, "lonely.wav", NULL, "en/lonely.wav");
	expect_path(ps, dir, "lonely.wav", "fr", "fr/lonely.wav");
	ce_prompt_set_free(ps);
	rm_dir(dir);
	g_free(dir);
}

/* A file added after the set was made is not seen: the set is read once, at start. */
static void test_read_once(void)
{
	char *dir = make_dir();
	char *added = g_build_filename(dir, "fr", "enter.wav", NULL);
	struct ce_prompt_set *ps;

	g_assert_cmpint(ce_prompt_set_new(&ps, dir, "en"), ==, 0);
	g_assert_true(g_file_set_contents(added, "RIFF", 4, NULL));
	expect_path(ps, dir, "enter.wav", "fr", "en/enter.wav");
	ce_prompt_set_free(ps);
	g_assert_cmpint(ce_prompt_set_new(&ps, dir, "en"), ==, 0);
	expect_path(ps, dir, "enter.wav", "fr", "fr/enter.wav");
	ce_prompt_set_free(ps);
	g_free(added);
	rm_dir(dir);
	g_free(dir);
}

/* Bad languages and folders: refused or ignored, never a way out of prompts_dir. */
static void test_confined(void)
{
	char *dir = make_dir();
	const char *roots[] = {dir, NULL};
	const char *why = NULL;
	struct ce_prompt_set *ps;
	char *p;

	g_assert_cmpint(ce_prompt_set_new(&ps, dir, "../etc"), ==, -EINVAL);
	g_assert_null(ps);
	g_assert_cmpint(ce_prompt_set_new(&ps, dir, ""), ==, -EINVAL);
	g_assert_cmpint(ce_prompt_set_new(&ps, NULL, "en"), ==, -EINVAL);
	/* a missing prompts_dir: no languages, names are looked up flat */
	g_assert_cmpint(ce_prompt_set_new(&ps, "/nonexistent/prompts", "en"), ==, 0);
	p = ce_prompt_set_path(ps, "lonely.wav", "en");
	g_assert_cmpstr(p, ==, "/nonexistent/prompts/lonely.wav");
	g_free(p);
	ce_prompt_set_free(ps);

	g_assert_cmpint(ce_prompt_set_new(&ps, dir, "en"), ==, 0);
	/* a language that is a path is ignored: the default applies */
	expect_path(ps, dir, "lonely.wav", "../../etc", "en/lonely.wav");
	expect_path(ps, dir, "lonely.wav", "/tmp", "en/lonely.wav");
	/* every result lies under prompts_dir by name, or is refused for its ".." */
	p = ce_prompt_set_path(ps, "lonely.wav", "fr");
	g_assert_true(ce_path_confined(p, roots, &why) == dir);
	g_free(p);
	p = ce_prompt_set_path(ps, "..", "fr");
	g_assert_null(ce_path_confined(p, roots, &why));
	g_assert_cmpstr(why, ==, "'..' is not allowed in a prompt path");
	g_free(p);
	p = ce_prompt_set_path(ps, "../../etc/passwd", "fr");
	g_assert_null(ce_path_confined(p, roots, &why));
	g_free(p);
	ce_prompt_set_free(ps);
	ce_prompt_set_free(NULL);
	rm_dir(dir);
	g_free(dir);
}

/* The names appended to a list, joined by spaces, without ".wav"; the list is emptied. */
static char *said(GPtrArray *names)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < names->len; i++) {
		const char *n = names->pdata[i];

		g_assert_true(g_str_has_suffix(n, ".wav"));
		g_string_append_printf(s, "%s%.*s", i ? " " : "", (int)strlen(n) - 4, n);
	}
	g_ptr_array_set_size(names, 0);
	return g_string_free(s, FALSE);
}

#define EXPECT(call, text)                                                                         \
	do {                                                                                       \
		char *got_;                                                                        \
		g_assert_cmpint(call, ==, 0);                                                      \
		got_ = said(names);                                                                \
		g_assert_cmpstr(got_, ==, text);                                                   \
		g_free(got_);                                                                      \
	} while (0)

static void test_numbers(void)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);

	EXPECT(ce_say_number(names, 0), "0");
	EXPECT(ce_say_number(names, 7), "7");
	EXPECT(ce_say_number(names, 13), "13");
	EXPECT(ce_say_number(names, 19), "19");
	EXPECT(ce_say_number(names, 20), "20");
	EXPECT(ce_say_number(names, 21), "20 1");
	EXPECT(ce_say_number(names, 99), "90 9");
	EXPECT(ce_say_number(names, 100), "1 hundred");
	EXPECT(ce_say_number(names, 105), "1 hundred 5");
	EXPECT(ce_say_number(names, 110), "1 hundred 10");
	EXPECT(ce_say_number(names, 340), "3 hundred 40");
	EXPECT(ce_say_number(names, 723), "7 hundred 20 3");
	EXPECT(ce_say_number(names, 999), "9 hundred 90 9");
	g_assert_cmpint(ce_say_number(names, -1), ==, -ERANGE);
	g_assert_cmpint(ce_say_number(names, 1000), ==, -ERANGE);
	g_assert_cmpuint(names->len, ==, 0);
	EXPECT(ce_say_participants(names, 0), "there-are 0 participants");
	EXPECT(ce_say_participants(names, 1), "there-is 1 participant");
	EXPECT(ce_say_participants(names, 7), "there-are 7 participants");
	EXPECT(ce_say_participants(names, 250), "there-are 2 hundred 50 participants");
	g_assert_cmpint(ce_say_participants(names, 1000), ==, -ERANGE);
	EXPECT(ce_say_minutes(names, 1), "1 minute");
	EXPECT(ce_say_minutes(names, 15), "15 minutes");
	g_assert_cmpint(ce_say_minutes(names, -5), ==, -ERANGE);
	EXPECT(ce_say_key(names, '0'), "0");
	EXPECT(ce_say_key(names, '9'), "9");
	EXPECT(ce_say_key(names, '*'), "star");
	EXPECT(ce_say_key(names, '#'), "hash");
	g_assert_cmpint(ce_say_key(names, 'A'), ==, -EINVAL);
	g_assert_cmpint(ce_say_key(names, '\0'), ==, -EINVAL);
	g_assert_cmpuint(names->len, ==, 0);
	g_ptr_array_free(names, TRUE);
}

static void test_times(void)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);

	EXPECT(ce_say_time(names, 0, 0), "midnight");
	EXPECT(ce_say_time(names, 12, 0), "noon");
	EXPECT(ce_say_time(names, 10, 0), "10 oclock am");
	EXPECT(ce_say_time(names, 10, 30), "10 30 am");
	EXPECT(ce_say_time(names, 14, 5), "2 oh 5 pm");
	EXPECT(ce_say_time(names, 0, 15), "12 15 am");
	EXPECT(ce_say_time(names, 12, 45), "12 40 5 pm");
	EXPECT(ce_say_time(names, 23, 59), "11 50 9 pm");
	EXPECT(ce_say_time(names, 9, 10), "9 10 am");
	g_assert_cmpint(ce_say_time(names, 24, 0), ==, -ERANGE);
	g_assert_cmpint(ce_say_time(names, -1, 0), ==, -ERANGE);
	g_assert_cmpint(ce_say_time(names, 10, 60), ==, -ERANGE);
	g_assert_cmpuint(names->len, ==, 0);
	g_ptr_array_free(names, TRUE);
}

/* Every name the composition can produce is a prompt of the shipped list. */
static void test_names_shipped(void)
{
	const char *src = g_getenv("CE_SRCDIR");
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	char *dir = g_build_filename(src ? src : CE_SRCDIR, "conf", "prompts", "en", NULL);

	for (int n = 0; n <= 999; n++) {
		ce_say_participants(names, n);
		ce_say_minutes(names, n);
	}
	for (int h = 0; h < 24; h++)
		for (int m = 0; m < 60; m++)
			ce_say_time(names, h, m);
	for (const char *k = "0123456789*#"; *k; k++)
		ce_say_key(names, *k);
	for (guint i = 0; i < names->len; i++) {
		char *p = g_build_filename(dir, names->pdata[i], NULL);

		if (!g_file_test(p, G_FILE_TEST_IS_REGULAR))
			g_error("%s is not shipped", p);
		g_free(p);
	}
	g_free(dir);
	g_ptr_array_free(names, TRUE);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/prompt-set/lang-valid", test_lang_valid);
	g_test_add_func("/prompt-set/fallback", test_fallback);
	g_test_add_func("/prompt-set/read-once", test_read_once);
	g_test_add_func("/prompt-set/confined", test_confined);
	g_test_add_func("/prompt-set/numbers", test_numbers);
	g_test_add_func("/prompt-set/times", test_times);
	g_test_add_func("/prompt-set/names-shipped", test_names_shipped);
	return g_test_run();
}
