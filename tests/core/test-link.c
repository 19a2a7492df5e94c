/* test-link.c - the transport alone: framing, output backlog bound, EOF, socket reconnection */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "link.h"
#include "log.h"
#include "protocol.h"

#define WAIT_US (10 * G_USEC_PER_SEC) /* bound of every wait */

struct rec {
	int ups, downs, finals, overflows, nlines;
	GPtrArray *lines;
};

static void r_up(void *arg)
{
	((struct rec *)arg)->ups++;
}

static void r_line(void *arg, const char *line, size_t len)
{
	struct rec *r = arg;

	g_ptr_array_add(r->lines, g_strndup(line, len));
	r->nlines++;
}

static void r_overflow(void *arg, const struct ce_overflow *o)
{
	if (!o->ended)
		((struct rec *)arg)->overflows++;
}

static void r_down(void *arg, bool final)
{
	struct rec *r = arg;

	r->downs++;
	r->finals += final;
}

static const struct ce_link_ops ops = {r_up, r_line, r_overflow, r_down};

static void rec_init(struct rec *r)
{
	memset(r, 0, sizeof(*r));
	r->lines = g_ptr_array_new_with_free_func(g_free);
}

/* Run the loop until *@counter reaches @want (bounded). */
static void wait_for(const int *counter, int want)
{
	gint64 end = g_get_monotonic_time() + WAIT_US;

	while (*counter < want && g_get_monotonic_time() < end)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpint(*counter, >=, want);
}

static void pump(void)
{
	while (g_main_context_iteration(NULL, FALSE))
		;
}

static void test_framing_and_eof(void)
{
	struct ce_link *l;
	struct rec r;
	int sv[2];
	static const char part1[] = "first li", part2[] = "ne\nsecond\r\nthird";

	rec_init(&r);
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
	ce_link_new_fds(&l, sv[0], sv[0], &(struct ce_link_opts){.max_line = 16}, &ops, &r);
	ce_link_start(l);
	g_assert_cmpint(r.ups, ==, 1);
	g_assert_true(ce_link_is_up(l));
	g_assert_cmpstr(ce_link_mode(l), ==, "stdio");
	g_assert_cmpint(write(sv[1], part1, strlen(part1)), ==, (ssize_t)strlen(part1));
	pump();
	g_assert_cmpuint(r.lines->len, ==, 0);
	g_assert_cmpint(write(sv[1], part2, strlen(part2)), ==, (ssize_t)strlen(part2));
	g_assert_cmpint(write(sv[1], "\nthis one is far too long\nok\n", 29), ==, 29);
	pump();
	g_assert_cmpuint(r.lines->len, ==, 4);
	g_assert_cmpstr(g_ptr_array_index(r.lines, 0), ==, "first line");
	g_assert_cmpstr(g_ptr_array_index(r.lines, 1), ==, "second\r");
	g_assert_cmpstr(g_ptr_array_index(r.lines, 2), ==, "third");
	g_assert_cmpstr(g_ptr_array_index(r.lines, 3), ==, "ok");
	g_assert_cmpint(r.overflows, ==, 1);
	shutdown(sv[1], SHUT_WR);
	wait_for(&r.downs, 1);
	g_assert_cmpint(r.finals, ==, 1);
	g_assert_false(ce_link_is_up(l));
	g_assert_cmpint(ce_link_write(l, "x\n", 2), ==, -ENOTCONN);
	ce_link_free(l);
	close(sv[0]);
	close(sv[1]);
	g_ptr_array_free(r.lines, TRUE);
}

/* Yate stops reading: the backlog grows to its bound, then the link is dropped. */
static void test_backlog_bound(void)
{
	struct ce_link *l;
	struct rec r;
	int sv[2], i, rc = 0;
	char line[1024];

	rec_init(&r);
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
	ce_link_new_fds(&l, sv[0], sv[0], &(struct ce_link_opts){.max_out = 256 * 1024}, &ops, &r);
	ce_link_start(l);
	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\n';
	for (i = 0; i < 10000 && rc == 0; i++)
		rc = ce_link_write(l, line, sizeof(line));
	g_assert_cmpint(rc, ==, -ENOBUFS);
	g_assert_cmpuint(ce_link_backlog(l), <=, 256 * 1024);
	g_assert_cmpint(r.downs, ==, 0); /* never from inside a write */
	wait_for(&r.downs, 1);
	g_assert_cmpint(r.finals, ==, 1);
	ce_link_free(l);
	close(sv[0]);
	close(sv[1]);
	g_ptr_array_free(r.lines, TRUE);
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	g_assert_cmpint(fd, >=, 0);
	g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	g_assert_cmpint(listen(fd, 4), ==, 0);
	return fd;
}

static int accept_bounded(int lfd)
{
	gint64 end = g_get_monotonic_time() + WAIT_US;
	int fd;

	while ((fd = accept(lfd, NULL, NULL)) < 0 && g_get_monotonic_time() < end)
		g_main_context_iteration(NULL, FALSE);
	g_assert_cmpint(fd, >=, 0);
	return fd;
}

static char *read_line_bounded(int fd)
{
	gint64 end = g_get_monotonic_time() + WAIT_US;
	GString *s = g_string_new(NULL);
	char c;

	(void)fcntl(fd, F_SETFL, O_NONBLOCK);
	while (g_get_monotonic_time() < end) {
		ssize_t n = read(fd, &c, 1);

		if (n == 1 && c == '\n')
			break;
		if (n == 1)
			g_string_append_c(s, c);
		else
			g_main_context_iteration(NULL, FALSE);
	}
	return g_string_free(s, FALSE);
}

static void test_unix_reconnect(void)
{
	char *dir = g_dir_make_tmp("ce-link-XXXXXX", NULL);
	char *path = g_build_filename(dir, "yate.sock", NULL);
	char *spec = g_strdup_printf("unix:%s", path);
	struct ce_link_opts o = {.reconnect_min = 10, .reconnect_max = 40};
	struct ce_link *l;
	struct rec r;
	GError *err = NULL;
	int lfd, c1, c2;
	char *line;

	rec_init(&r);
	g_assert_cmpint(ce_link_new_connect(&l, "udp:nowhere", &o, &ops, &r, &err), ==, -EINVAL);
	g_assert_nonnull(err);
	g_clear_error(&err);
	/* the listener appears after the first attempts failed */
	g_assert_cmpint(ce_link_new_connect(&l, spec, &o, &ops, &r, &err), ==, 0);
	g_assert_cmpstr(ce_link_mode(l), ==, "unix");
	ce_link_start(l);
	g_usleep(50000);
	pump();
	g_assert_cmpint(r.ups, ==, 0);
	lfd = listen_unix(path);
	c1 = accept_bounded(lfd);
	wait_for(&r.ups, 1);
	line = read_line_bounded(c1);
	g_assert_cmpstr(line, ==, "%%>connect:global");
	g_free(line);
	g_assert_cmpint(write(c1, "hello\n", 6), ==, 6);
	wait_for(&r.nlines, 1);
	close(c1);
	wait_for(&r.downs, 1);
	g_assert_cmpint(r.finals, ==, 0);
	c2 = accept_bounded(lfd);
	wait_for(&r.ups, 2);
	line = read_line_bounded(c2);
	g_assert_cmpstr(line, ==, "%%>connect:global");
	g_free(line);
	ce_link_free(l); /* no callback any more */
	g_assert_cmpint(r.downs, ==, 1);
	close(c2);
	close(lfd);
	unlink(path);
	rmdir(dir);
	g_free(spec);
	g_free(path);
	g_free(dir);
	g_ptr_array_free(r.lines, TRUE);
	pump();
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	ce_log_init();
	ce_log_set_level(NULL, CE_LOG_ERROR);
	/* the link logs its events as warnings: part of what is tested */
	g_log_set_always_fatal(G_LOG_FATAL_MASK);
	g_test_add_func("/link/framing-and-eof", test_framing_and_eof);
	g_test_add_func("/link/backlog-bound", test_backlog_bound);
	g_test_add_func("/link/unix-reconnect", test_unix_reconnect);
	return g_test_run();
}
