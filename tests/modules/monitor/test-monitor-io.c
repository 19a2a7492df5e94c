/* test-monitor-io.c - the monitor's outputs alone: JSON encoding, event log rotation, socket
 * fan-out */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <glib/gstdio.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>

#include "modules/monitor/monitor.h"

static void test_json(void)
{
	GString *s = g_string_new(NULL);
	struct ce_mon_cdr c = {
	        .room = "r\"1\\",
	        .leg = "conf/1",
	        .caller = "bad\xc3(\n\x1f",
	        .joined_at = 1000000,
	        .left_at = 3500000,
	        .talk_ms = 7,
	        .reason = "hangup",
	};

	ce_mon_json_string(s, "a\"b\\c\td\x7f");
	g_assert_cmpstr(s->str, ==, "\"a\\\"b\\\\c\\td\\u007f\"");
	g_string_truncate(s, 0);
	ce_mon_json_time(s, -1);
	g_assert_cmpstr(s->str, ==, "\"1969-12-31T23:59:59.999999Z\"");
	g_string_truncate(s, 0);
	ce_mon_json_cdr(s, &c, "n1", 4);
	g_assert_cmpstr(s->str, ==,
	        "{\"type\":\"cdr\",\"seq\":4,\"node\":\"n1\",\"source\":\"yate\",\"room\":"
	        "\"r\\\"1\\\\\","
	        "\"leg\":\"conf/1\",\"caller\":\"bad\xef\xbf\xbd(\\n\\u001f\","
	        "\"joined\":\"1970-01-01T00:00:01.000000Z\",\"joined_us\":1000000,"
	        "\"left\":\"1970-01-01T00:00:03.500000Z\",\"left_us\":3500000,"
	        "\"duration_ms\":2500,\"talk_ms\":7,\"reason\":\"hangup\"}\n");
	g_string_free(s, TRUE);
}

static char *read_file(const char *path)
{
	char *text = NULL;

	g_file_get_contents(path, &text, NULL, NULL);
	return text;
}

/* Past max_bytes the log moves to .1, .2; the oldest beyond keep is gone. */
static void test_evlog_rotate(void)
{
	char *dir = g_dir_make_tmp("evlog-XXXXXX", NULL);
	char *path = g_build_filename(dir, "sub", "ev.jsonl", NULL);
	char *p1 = g_strconcat(path, ".1", NULL), *p2 = g_strconcat(path, ".2", NULL);
	char *p3 = g_strconcat(path, ".3", NULL), *text;
	struct ce_mon_evlog *l;

	g_assert_cmpint(ce_mon_evlog_new(&l, path, 25, 2, 100), ==, 0);
	for (unsigned i = 0; i < 8; i++) {
		char line[16];

		g_snprintf(line, sizeof(line), "{\"n\":%u}\n", i); /* 8 bytes */
		ce_mon_evlog_push(l, line, strlen(line));
	}
	ce_mon_evlog_sync(l);
	g_assert_cmpuint(ce_mon_evlog_written(l), ==, 8);
	g_assert_cmpuint(ce_mon_evlog_dropped(l), ==, 0);
	ce_mon_evlog_free(l);
	text = read_file(path);
	g_assert_cmpstr(text, ==, "{\"n\":6}\n{\"n\":7}\n");
	g_free(text);
	text = read_file(p1);
	g_assert_cmpstr(text, ==, "{\"n\":3}\n{\"n\":4}\n{\"n\":5}\n");
	g_free(text);
	text = read_file(p2);
	g_assert_cmpstr(text, ==, "{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n");
	g_free(text);
	g_assert_false(g_file_test(p3, G_FILE_TEST_EXISTS));
	g_unlink(path);
	g_unlink(p1);
	g_unlink(p2);
	g_free(path);
	path = g_build_filename(dir, "sub", NULL);
	g_rmdir(path);
	g_rmdir(dir);
	g_free(path);
	g_free(p1);
	g_free(p2);
	g_free(p3);
	g_free(dir);
}

/* An unwritable path drops lines (counted, logged once), never blocks or fails the caller. */
static void test_evlog_unwritable(void)
{
	struct ce_mon_evlog *l;

	g_test_expect_message(
	        "monitor", G_LOG_LEVEL_WARNING, "event log: cannot open /dev/null/x*");
	g_assert_cmpint(ce_mon_evlog_new(&l, "/dev/null/x/ev.jsonl", 1000, 1, 4), ==, 0);
	for (unsigned i = 0; i < 10; i++)
		ce_mon_evlog_push(l, "{}\n", 3);
	ce_mon_evlog_sync(l);
	g_test_assert_expected_messages();
	g_assert_cmpuint(ce_mon_evlog_written(l), ==, 0);
	g_assert_cmpuint(ce_mon_evlog_dropped(l), ==, 10);
	ce_mon_evlog_free(l);
	g_assert_cmpint(ce_mon_evlog_new(&l, "", 1000, 1, 4), ==, -EINVAL);
	g_assert_null(l);
}

/*
 * A full disk (a file size limit here: writes past it fail with EFBIG, part
 * of a line may get out): every line is written whole or not at all,
 * written + dropped counts every line, the failure is logged once, and the
 * log writes again once there is room, saying how many lines it lost.
 */
static void test_evlog_full(void)
{
	char *dir = g_dir_make_tmp("evlog-XXXXXX", NULL);
	char *path = g_build_filename(dir, "ev.jsonl", NULL);
	struct rlimit old, lim;
	struct ce_mon_evlog *l;
	char *text = NULL, **lines;
	unsigned i, whole = 0;

	g_assert_cmpint(getrlimit(RLIMIT_FSIZE, &old), ==, 0);
	signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = 1000; /* room for 33 lines of 30 bytes and a part of the 34th */
	g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &lim), ==, 0);
	g_test_expect_message("monitor", G_LOG_LEVEL_WARNING, "event log: cannot write *");
	g_assert_cmpint(ce_mon_evlog_new(&l, path, 1 << 20, 1, 1000), ==, 0);
	for (i = 0; i < 100; i++) {
		char line[32];

		g_snprintf(line, sizeof(line), "{\"n\":%3u,\"pad\":\"xxxxxxxxxxx\"}\n", i);
		g_assert_cmpuint(strlen(line), ==, 30);
		ce_mon_evlog_push(l, line, strlen(line));
	}
	ce_mon_evlog_sync(l);
	g_test_assert_expected_messages();
	g_assert_cmpuint(ce_mon_evlog_written(l) + ce_mon_evlog_dropped(l), ==, 100);
	g_assert_cmpuint(ce_mon_evlog_written(l), ==, 33);
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	g_assert_cmpuint(strlen(text), ==, 33 * 30); /* no part of the 34th line */
	lines = g_strsplit(text, "\n", -1);
	for (i = 0; lines[i] && *lines[i]; i++)
		whole += g_str_has_prefix(lines[i], "{\"n\":") && g_str_has_suffix(lines[i], "\"}");
	g_assert_cmpuint(whole, ==, 33);
	g_strfreev(lines);
	g_free(text);
	/* room again: after the retry delay the next lines are written, after the whole ones */
	g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &old), ==, 0);
	g_test_expect_message("monitor", G_LOG_LEVEL_MESSAGE, "*writable again (67 lines*");
	g_usleep(CE_MON_EVLOG_RETRY_US + G_USEC_PER_SEC / 5);
	ce_mon_evlog_push(l, "{\"after\":1}\n", 12);
	ce_mon_evlog_sync(l);
	g_test_assert_expected_messages();
	g_assert_cmpuint(ce_mon_evlog_written(l), ==, 34);
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	g_assert_true(g_str_has_suffix(text, "\"}\n{\"after\":1}\n"));
	g_free(text);
	ce_mon_evlog_free(l);
	g_unlink(path);
	g_rmdir(dir);
	g_free(path);
	g_free(dir);
}

static void hello(GString *out, void *arg)
{
	g_string_append(out, "{\"type\":\"hello\"}\n");
}

static GSocket *subscribe(const char *path, int rcvbuf)
{
	GSocketAddress *a = g_unix_socket_address_new(path);
	GSocket *c = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, 0, NULL);

	if (rcvbuf)
		g_socket_set_option(c, SOL_SOCKET, SO_RCVBUF, rcvbuf, NULL);
	g_assert_true(g_socket_connect(c, a, NULL, NULL));
	g_socket_set_blocking(c, FALSE);
	g_object_unref(a);
	return c;
}

/* Run the main loop until @f has @n subscribers (bounded). */
static void wait_clients(struct ce_mon_fanout *f, unsigned n)
{
	gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	struct ce_mon_fanout_stats st;

	do {
		g_main_context_iteration(NULL, FALSE);
		ce_mon_fanout_stats(f, &st);
		if (st.clients != n)
			g_usleep(1000);
	} while (st.clients != n && g_get_monotonic_time() < deadline);
	g_assert_cmpuint(st.clients, ==, n);
}

static gsize drain(GSocket *c, GString *into)
{
	char buf[65536];
	gssize r;
	gsize n = 0;

	while ((r = g_socket_receive(c, buf, sizeof(buf), NULL, NULL)) > 0) {
		g_string_append_len(into, buf, r);
		n += r;
	}
	return n;
}

/*
 * A subscriber that never reads is dropped once its queue passes the bound,
 * while one that reads gets every line; the sender never waits.
 */
static void test_fanout_slow(void)
{
	char *dir = g_dir_make_tmp("fanout-XXXXXX", NULL);
	char *path = g_build_filename(dir, "m.sock", NULL);
	char line[128];
	struct ce_mon_fanout *f;
	struct ce_mon_fanout_stats st;
	GSocket *slow, *fast;
	GString *got = g_string_new(NULL);
	GError *err = NULL;
	gint64 deadline;
	unsigned lines = 0;

	g_assert_cmpint(ce_mon_fanout_new(&f, path, 0600, 16384, 8, hello, NULL, &err), ==, 0);
	g_assert_no_error(err);
	slow = subscribe(path, 4096);
	fast = subscribe(path, 0);
	wait_clients(f, 2);
	memset(line, 'x', sizeof(line));
	line[sizeof(line) - 1] = '\n';
	g_test_expect_message(
	        "monitor", G_LOG_LEVEL_MESSAGE, "monitor subscriber 1 dropped: too slow*");
	for (unsigned i = 0; i < 20000; i++) {
		ce_mon_fanout_send(f, line, sizeof(line));
		drain(fast, got);
		g_main_context_iteration(NULL, FALSE);
	}
	g_test_assert_expected_messages();
	ce_mon_fanout_stats(f, &st);
	g_assert_cmpuint(st.dropped, ==, 1);
	g_assert_cmpuint(st.clients, ==, 1);
	deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	while (got->len < 16 + 20000 * sizeof(line) && g_get_monotonic_time() < deadline) {
		g_main_context_iteration(NULL, FALSE);
		if (!drain(fast, got))
			g_usleep(1000);
	}
	for (gsize i = 0; i < got->len; i++)
		lines += got->str[i] == '\n';
	g_assert_cmpuint(lines, ==, 1 + 20000);
	g_assert_true(g_str_has_prefix(got->str, "{\"type\":\"hello\"}\n"));
	g_object_unref(slow);
	g_object_unref(fast);
	ce_mon_fanout_free(f);
	g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
	g_string_free(got, TRUE);
	g_rmdir(dir);
	g_free(path);
	g_free(dir);
}

/* A subscriber that goes away is forgotten; the client limit refuses extra ones. */
static void test_fanout_limits(void)
{
	char *dir = g_dir_make_tmp("fanout-XXXXXX", NULL);
	char *path = g_build_filename(dir, "m.sock", NULL);
	char *file = g_build_filename(dir, "plain", NULL);
	struct ce_mon_fanout *f;
	struct ce_mon_fanout_stats st;
	GSocket *a, *b;
	GError *err = NULL;
	gint64 deadline;

	g_assert_true(g_file_set_contents(file, "x", 1, NULL));
	g_assert_cmpint(ce_mon_fanout_new(&f, file, 0600, 4096, 1, NULL, NULL, &err), ==, -EEXIST);
	g_assert_error(err, G_IO_ERROR, G_IO_ERROR_EXISTS);
	g_clear_error(&err);
	g_assert_true(g_file_test(file, G_FILE_TEST_EXISTS)); /* never removed */
	g_assert_cmpint(ce_mon_fanout_new(&f, path, 0600, 4096, 1, NULL, NULL, &err), ==, 0);
	a = subscribe(path, 0);
	wait_clients(f, 1);
	g_test_expect_message(
	        "monitor", G_LOG_LEVEL_WARNING, "monitor socket: 1 subscribers already*");
	b = subscribe(path, 0);
	deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	do {
		g_main_context_iteration(NULL, FALSE);
		ce_mon_fanout_stats(f, &st);
	} while (!st.refused && g_get_monotonic_time() < deadline);
	g_test_assert_expected_messages();
	g_assert_cmpuint(st.refused, ==, 1);
	g_socket_close(a, NULL);
	wait_clients(f, 0);
	ce_mon_fanout_send(f, "{}\n", 3);
	g_object_unref(a);
	g_object_unref(b);
	ce_mon_fanout_free(f);
	g_unlink(file);
	g_rmdir(dir);
	g_free(path);
	g_free(file);
	g_free(dir);
}

static void keep_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
	(void)domain;
	(void)level;
	g_ptr_array_add(data, g_strdup(msg));
}

/* The connections the warnings say were refused, added up. */
static guint64 refused_in_log(GPtrArray *warnings)
{
	guint64 sum = 0;

	for (guint i = 0; i < warnings->len; i++) {
		const char *n = strstr(g_ptr_array_index(warnings, i), "refused ");

		g_assert_nonnull(n);
		sum += g_ascii_strtoull(n + 8, NULL, 10);
	}
	return sum;
}

/* Refuse one connection beyond the limit; bounded wait for it. */
static void refuse_one(struct ce_mon_fanout *f, const char *path, guint64 n)
{
	gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	struct ce_mon_fanout_stats st;
	GSocket *c = subscribe(path, 0);

	do {
		g_main_context_iteration(NULL, FALSE);
		ce_mon_fanout_stats(f, &st);
	} while (st.refused < n && g_get_monotonic_time() < deadline);
	g_assert_cmpuint(st.refused, ==, n);
	g_object_unref(c);
}

/*
 * A flood of connections beyond the limit gives a handful of warnings (one
 * at once, then at most one per 10 s) that add up to every refusal.
 */
static void test_fanout_refused(void)
{
	char *dir = g_dir_make_tmp("fanout-XXXXXX", NULL);
	char *path = g_build_filename(dir, "m.sock", NULL);
	GPtrArray *warnings = g_ptr_array_new_with_free_func(g_free);
	GLogLevelFlags fatal = g_log_set_always_fatal(G_LOG_FATAL_MASK);
	guint h = g_log_set_handler("monitor", G_LOG_LEVEL_WARNING, keep_log, warnings);
	gint64 t0 = g_get_monotonic_time(), deadline;
	struct ce_mon_fanout *f;
	GSocket *a;

	g_assert_cmpint(ce_mon_fanout_new(&f, path, 0600, 4096, 1, NULL, NULL, NULL), ==, 0);
	a = subscribe(path, 0);
	wait_clients(f, 1);
	for (guint64 i = 1; i <= 200; i++)
		refuse_one(f, path, i);
	g_assert_cmpuint(warnings->len, >=, 1);
	g_assert_cmpuint(refused_in_log(warnings), <=, 200);
	/* the rest comes with the next warning, within 10 s */
	deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
	while (refused_in_log(warnings) < 200 && g_get_monotonic_time() < deadline) {
		g_main_context_iteration(NULL, FALSE);
		g_usleep(10000);
	}
	g_assert_cmpuint(refused_in_log(warnings), ==, 200);
	g_assert_cmpuint(
	        warnings->len, <=, 2 + (g_get_monotonic_time() - t0) / (10 * G_USEC_PER_SEC));
	g_assert_nonnull(strstr(g_ptr_array_index(warnings, 0), "1 subscribers already"));
	/* refusals still uncounted when the socket closes are logged then */
	for (guint64 i = 201; i <= 205; i++)
		refuse_one(f, path, i);
	ce_mon_fanout_free(f);
	g_assert_cmpuint(refused_in_log(warnings), ==, 205);
	g_assert_cmpuint(
	        warnings->len, <=, 3 + (g_get_monotonic_time() - t0) / (10 * G_USEC_PER_SEC));
	g_object_unref(a);
	g_log_remove_handler("monitor", h);
	g_log_set_always_fatal(fatal);
	g_ptr_array_unref(warnings);
	g_rmdir(dir);
	g_free(path);
	g_free(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/monitor-io/json", test_json);
	g_test_add_func("/monitor-io/evlog-rotate", test_evlog_rotate);
	g_test_add_func("/monitor-io/evlog-unwritable", test_evlog_unwritable);
	g_test_add_func("/monitor-io/evlog-full", test_evlog_full);
	g_test_add_func("/monitor-io/fanout-slow", test_fanout_slow);
	g_test_add_func("/monitor-io/fanout-limits", test_fanout_limits);
	g_test_add_func("/monitor-io/fanout-refused", test_fanout_refused);
	return g_test_run();
}
