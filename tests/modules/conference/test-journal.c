/* test-journal.c - the open-leg journal: lines, a torn last line, compaction, a full disk */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "conf-engine/message.h"
#include "modules/conference/journal.h"
#include "tests/testutil.h"

static char *tmpdir(void)
{
	char *d = g_dir_make_tmp("ce-journal-XXXXXX", NULL);

	g_assert_nonnull(d);
	return d;
}

static struct ce_msg *leg(const char *runid, const char *id, const char *room)
{
	struct ce_msg *m = NULL;

	ce_msg_new(&m, "enter");
	ce_msg_add(m, "runid", runid);
	ce_msg_add(m, "id", id);
	ce_msg_add(m, "at", "1796532639123456");
	ce_msg_add(m, "room", room);
	ce_msg_add(m, "callername", "Ann\tB\\C\nD"); /* a tab, a backslash, a newline */
	return m;
}

static struct ce_journal *reopen(const char *path, GPtrArray **legs, gint64 *alive)
{
	struct ce_journal *j = NULL;
	GError *err = NULL;

	g_assert_cmpint(ce_journal_open(&j, path, legs, alive, &err), ==, 0);
	g_assert_no_error(err);
	return j;
}

static char *contents(const char *path)
{
	char *text = NULL;

	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	return text;
}

static unsigned count_lines(const char *text)
{
	unsigned n = 0;

	for (const char *p = text; *p; p++)
		n += *p == '\n';
	return n;
}

/* Enter three, leave one: a new engine finds the other two, fields intact. */
static void test_open_legs(void)
{
	char *dir = tmpdir(), *path = g_build_filename(dir, "legs.journal", NULL);
	struct ce_journal_stats st;
	struct ce_journal *j;
	GPtrArray *legs;
	gint64 alive;

	j = reopen(path, &legs, &alive);
	g_assert_cmpuint(legs->len, ==, 0);
	g_assert_cmpint(alive, ==, 0); /* no file before */
	g_ptr_array_unref(legs);
	for (unsigned i = 1; i <= 3; i++) {
		char id[16];
		struct ce_msg *m;

		g_snprintf(id, sizeof(id), "dumb/%u", i);
		m = leg("100", id, "r1");
		g_assert_cmpint(ce_journal_enter(j, m), ==, 0);
		ce_msg_unref(m);
	}
	g_assert_cmpint(ce_journal_leave(j, "100", "dumb/2"), ==, 0);
	g_assert_cmpint(ce_journal_leave(j, "100", "dumb/9"), ==, 0); /* never entered */
	g_assert_cmpint(ce_journal_leave(j, "101", "dumb/1"), ==, 0); /* another Yate's */
	ce_journal_stats(j, &st);
	g_assert_cmpuint(st.enters, ==, 3);
	g_assert_cmpuint(st.leaves, ==, 1);
	g_assert_cmpuint(st.open, ==, 2);
	g_assert_cmpuint(st.failures, ==, 0);
	ce_journal_free(j); /* as a crash would leave it */

	j = reopen(path, &legs, &alive);
	g_assert_cmpint(alive, >, 0);
	g_assert_cmpuint(legs->len, ==, 2);
	g_assert_cmpstr(ce_msg_get(g_ptr_array_index(legs, 0), "id"), ==, "dumb/1");
	g_assert_cmpstr(ce_msg_get(g_ptr_array_index(legs, 1), "id"), ==, "dumb/3");
	g_assert_cmpstr(ce_msg_get(g_ptr_array_index(legs, 1), "runid"), ==, "100");
	g_assert_cmpstr(ce_msg_get(g_ptr_array_index(legs, 1), "room"), ==, "r1");
	g_assert_cmpstr(ce_msg_get(g_ptr_array_index(legs, 1), "at"), ==, "1796532639123456");
	g_assert_cmpstr(ce_msg_get(g_ptr_array_index(legs, 1), "callername"), ==, "Ann\tB\\C\nD");
	g_ptr_array_unref(legs);
	/* the reopened journal knows them: their leave is written */
	g_assert_cmpint(ce_journal_leave(j, "100", "dumb/1"), ==, 0);
	ce_journal_stats(j, &st);
	g_assert_cmpuint(st.leaves, ==, 1);
	g_assert_cmpuint(st.open, ==, 1);
	ce_journal_free(j);

	j = reopen(path, &legs, &alive);
	g_assert_cmpuint(legs->len, ==, 1);
	g_ptr_array_unref(legs);
	ce_journal_free(j);
	ce_test_rm_tree(dir);
	g_free(path);
	g_free(dir);
}

/* Compaction keeps only the open legs' enter lines. */
static void test_compaction(void)
{
	char *dir = tmpdir(), *path = g_build_filename(dir, "legs.journal", NULL);
	struct ce_journal *j;
	GPtrArray *legs;
	gint64 alive;
	char *text;

	j = reopen(path, &legs, &alive);
	g_ptr_array_unref(legs);
	for (unsigned i = 0; i < 50; i++) {
		char id[16];
		struct ce_msg *m;

		g_snprintf(id, sizeof(id), "dumb/%u", i);
		m = leg("7", id, "big");
		ce_journal_enter(j, m);
		ce_msg_unref(m);
		if (i != 10 && i != 20)
			ce_journal_leave(j, "7", id);
	}
	ce_journal_free(j);
	text = contents(path);
	g_assert_cmpuint(count_lines(text), ==, 98);
	g_free(text);

	j = reopen(path, &legs, &alive);
	g_assert_cmpuint(legs->len, ==, 2);
	g_ptr_array_unref(legs);
	ce_journal_free(j);
	text = contents(path);
	g_assert_cmpuint(count_lines(text), ==, 2);
	g_assert_true(g_str_has_prefix(text, "enter\t"));
	g_assert_nonnull(strstr(text, "id=dumb/10\t"));
	g_assert_nonnull(strstr(text, "id=dumb/20\t"));
	g_free(text);
	g_assert_false(g_file_test(path, G_FILE_TEST_IS_SYMLINK));
	ce_test_rm_tree(dir);
	g_free(path);
	g_free(dir);
}

/* A crash in the middle of a line: the torn line and garbage are ignored, the rest kept. */
static void test_torn_line(void)
{
	char *dir = tmpdir(), *path = g_build_filename(dir, "legs.journal", NULL);
	static const char text[] = "enter\truntid_typo\n"                      /* no key=value */
	                           "enter\trunid=5\tid=dumb/1\troom=a\tat=1\n" /* open */
	                           "bogus\trunid=5\tid=dumb/2\n"               /* unknown kind */
	                           "enter\tid=dumb/3\troom=a\n"                /* no runid */
	                           "enter\trunid=5\tid=dumb/4\troom=a\tat=2\n" /* open */
	                           "leave\trunid=5\tid=dumb/4\tat=3\n"         /* closed */
	                           "enter\trunid=5\tid=dumb/5\troom=a\tat=4\tcall"; /* torn */
	struct ce_journal *j;
	GPtrArray *legs;
	gint64 alive;
	char *after;

	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	g_test_expect_message("conference", G_LOG_LEVEL_WARNING, "*line 1 cannot be read*");
	g_test_expect_message("conference", G_LOG_LEVEL_WARNING, "*line 3 cannot be read*");
	g_test_expect_message("conference", G_LOG_LEVEL_WARNING, "*line 4 cannot be read*");
	g_test_expect_message("conference", G_LOG_LEVEL_WARNING, "*line 7 is cut short*");
	j = reopen(path, &legs, &alive);
	g_test_assert_expected_messages();
	g_assert_cmpuint(legs->len, ==, 1);
	g_assert_cmpstr(ce_msg_get(g_ptr_array_index(legs, 0), "id"), ==, "dumb/1");
	g_ptr_array_unref(legs);
	/* what is written next starts on a line of its own */
	g_assert_cmpint(ce_journal_leave(j, "5", "dumb/1"), ==, 0);
	ce_journal_free(j);
	after = contents(path);
	g_assert_cmpuint(count_lines(after), ==, 2);
	g_assert_true(g_str_has_prefix(after, "enter\trunid=5\tid=dumb/1\t"));
	g_assert_nonnull(strstr(after, "\nleave\trunid=5\tid=dumb/1\tat="));
	g_free(after);
	ce_test_rm_tree(dir);
	g_free(path);
	g_free(dir);
}

/* A full disk (the file size limit): counted, the file keeps whole lines only. */
static void test_full_disk(void)
{
	char *dir = tmpdir(), *path = g_build_filename(dir, "legs.journal", NULL);
	struct ce_journal_stats st;
	struct rlimit old, lim;
	struct ce_journal *j;
	GPtrArray *legs;
	gint64 alive;
	char *text;
	unsigned written = 0;

	g_assert_cmpint(getrlimit(RLIMIT_FSIZE, &old), ==, 0);
	if (old.rlim_max != RLIM_INFINITY && old.rlim_max < 4096) {
		g_test_skip("the file size limit is too low");
		goto out;
	}
	signal(SIGXFSZ, SIG_IGN);
	j = reopen(path, &legs, &alive);
	g_ptr_array_unref(legs);
	lim = old;
	lim.rlim_cur = 1000;
	g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &lim), ==, 0);
	g_test_expect_message("conference", G_LOG_LEVEL_WARNING, "*cannot write*");
	for (unsigned i = 0; i < 40; i++) {
		char id[16];
		struct ce_msg *m;

		g_snprintf(id, sizeof(id), "dumb/%u", i);
		m = leg("9", id, "r");
		written += ce_journal_enter(j, m) == 0;
		ce_msg_unref(m);
	}
	g_test_assert_expected_messages();
	g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &old), ==, 0);
	ce_journal_stats(j, &st);
	g_assert_cmpuint(st.enters, ==, written);
	g_assert_cmpuint(st.failures, ==, 40 - written);
	g_assert_cmpuint(written, >, 0);
	g_assert_cmpuint(written, <, 40);
	/* space again: writing resumes, and says so */
	g_test_expect_message("conference", G_LOG_LEVEL_MESSAGE, "*writable again*");
	g_assert_cmpint(ce_journal_leave(j, "9", "dumb/0"), ==, 0);
	g_test_assert_expected_messages();
	ce_journal_free(j);
	text = contents(path);
	g_assert_cmpuint(count_lines(text), ==, written + 1);
	g_assert_true(g_str_has_suffix(text, "\n"));
	g_free(text);
	j = reopen(path, &legs, &alive);
	g_assert_cmpuint(legs->len, ==, written - 1);
	g_ptr_array_unref(legs);
	ce_journal_free(j);
out:
	ce_test_rm_tree(dir);
	g_free(path);
	g_free(dir);
}

/* An unreadable journal is an error at open, with the path in it. */
static void test_unusable(void)
{
	struct ce_journal *j = NULL;
	GPtrArray *legs = NULL;
	GError *err = NULL;
	gint64 alive;

	g_assert_cmpint(
	        ce_journal_open(&j, "/nonexistent/dir/legs.journal", &legs, &alive, &err), <, 0);
	g_assert_null(j);
	g_assert_null(legs);
	g_assert_nonnull(err);
	g_assert_nonnull(strstr(err->message, "/nonexistent/dir/legs.journal"));
	g_error_free(err);
}

/* Two engines on one journal: the second is refused while the first has it open. */
static void test_busy(void)
{
	char *dir = tmpdir(), *path = g_build_filename(dir, "legs.journal", NULL);
	struct ce_journal *j1, *j2 = NULL;
	GPtrArray *legs = NULL;
	GError *err = NULL;
	struct ce_msg *m;
	gint64 alive;

	j1 = reopen(path, &legs, &alive);
	g_ptr_array_unref(legs);
	m = leg("3", "dumb/1", "r");
	ce_journal_enter(j1, m);
	ce_msg_unref(m);
	g_assert_cmpint(ce_journal_open(&j2, path, &legs, &alive, &err), ==, -EBUSY);
	g_assert_null(j2);
	g_assert_nonnull(strstr(err->message, "another engine has it open"));
	g_clear_error(&err);
	ce_journal_free(j1); /* as its death would */
	j2 = reopen(path, &legs, &alive);
	g_assert_cmpuint(legs->len, ==, 1);
	g_ptr_array_unref(legs);
	ce_journal_free(j2);
	ce_test_rm_tree(dir);
	g_free(path);
	g_free(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/journal/open-legs", test_open_legs);
	g_test_add_func("/journal/compaction", test_compaction);
	g_test_add_func("/journal/torn-line", test_torn_line);
	g_test_add_func("/journal/full-disk", test_full_disk);
	g_test_add_func("/journal/unusable", test_unusable);
	g_test_add_func("/journal/busy", test_busy);
	return g_test_run();
}
