/* test-yate.c - the Yate session over a real link on a socketpair, Yate's side played here
 *
 * Over 700 lines because it is one table of cases: each keyword of the
 * protocol, each answer rule and each failure of the link, played from
 * Yate's side byte for byte; they share one fixture and read best together.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bus.h"
#include "link.h"
#include "log.h"
#include "message.h"
#include "yate.h"

#define WAIT_US (5 * G_USEC_PER_SEC) /* bound of every wait; never reached when all is well */

struct fx {
	struct ce_bus *bus;
	struct ce_yate *y;
	struct ce_link *link;
	int peer; /* Yate's end */
	int fd;   /* the engine's end (the link does not close it) */
	GString *rx;
	int quits;
	GPtrArray *deferred; /* struct ce_dispatch * */
	int done_calls;
	bool done_handled;
	int watched;
	bool watched_handled;
	char *watched_id;
};

static void on_quit(void *arg, int code)
{
	struct fx *f = arg;

	f->quits++;
}

static void fx_setup(struct fx *f)
{
	int sv[2];

	memset(f, 0, sizeof(*f));
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
	f->fd = sv[0];
	f->peer = sv[1];
	g_assert_cmpint(fcntl(f->peer, F_SETFL, O_NONBLOCK), ==, 0);
	g_assert_cmpint(ce_bus_new(&f->bus), ==, 0);
	ce_yate_new(&f->y, f->bus, NULL);
	ce_yate_set_quit_handler(f->y, on_quit, f);
	ce_link_new_fds(&f->link, sv[0], sv[0], NULL, ce_yate_link_ops(), f->y);
	ce_yate_attach(f->y, f->link);
	f->rx = g_string_new(NULL);
	f->deferred = g_ptr_array_new();
}

static void fx_teardown(struct fx *f)
{
	ce_yate_free(f->y);
	if (f->link)
		ce_link_free(f->link);
	ce_bus_free(f->bus);
	close(f->fd);
	close(f->peer);
	g_string_free(f->rx, TRUE);
	g_ptr_array_free(f->deferred, TRUE);
	g_free(f->watched_id);
	while (g_main_context_iteration(NULL, FALSE))
		;
}

static void pump(void)
{
	while (g_main_context_iteration(NULL, FALSE))
		;
}

static void yate_says(struct fx *f, const char *line)
{
	GString *s = g_string_new(line);

	g_string_append_c(s, '\n');
	g_assert_cmpint(write(f->peer, s->str, s->len), ==, (ssize_t)s->len);
	g_string_free(s, TRUE);
	pump();
}

/* Next line the engine wrote, or NULL if none came within the bound. */
static char *next_line(struct fx *f)
{
	gint64 end = g_get_monotonic_time() + WAIT_US;
	char buf[4096];

	for (;;) {
		char *nl = memchr(f->rx->str, '\n', f->rx->len);
		ssize_t n;

		if (nl) {
			char *line = g_strndup(f->rx->str, nl - f->rx->str);

			g_string_erase(f->rx, 0, nl - f->rx->str + 1);
			return line;
		}
		n = read(f->peer, buf, sizeof(buf));
		if (n > 0) {
			g_string_append_len(f->rx, buf, n);
			continue;
		}
		if (g_get_monotonic_time() > end)
			return NULL;
		g_main_context_iteration(NULL, n < 0);
	}
}

static void expect(struct fx *f, const char *want)
{
	char *got = next_line(f);

	g_assert_cmpstr(got, ==, want);
	g_free(got);
}

static void expect_prefix(struct fx *f, const char *want, const char *suffix)
{
	char *got = next_line(f);

	g_assert_nonnull(got);
	if (!g_str_has_prefix(got, want) || !g_str_has_suffix(got, suffix))
		g_error("got \"%s\", want \"%s...%s\"", got, want, suffix);
	g_free(got);
}

/* Nothing more was written (after letting the loop run). */
static void expect_silence(struct fx *f)
{
	char buf[256];
	ssize_t n;

	pump();
	n = read(f->peer, buf, sizeof(buf));
	g_assert_cmpint(n, <, 0);
	g_assert_cmpuint(f->rx->len, ==, 0);
}

static void start(struct fx *f)
{
	ce_link_start(f->link);
	expect(f, "%%>setlocal:restart:true");
	expect(f, "%%>setlocal:engine.version:");
	expect(f, "%%>setlocal:engine.runid:");
	expect(f, "%%>setlocal:bufsize:65536");
}

/* ---- handlers ---------------------------------------------------------- */

static enum ce_msg_result h_route(struct ce_dispatch *d, struct ce_msg *m, void *arg)
{
	const char *callto = ce_msg_get(m, "callto");
	char *room;

	if (!callto || !g_str_has_prefix(callto, "conf/"))
		return CE_MSG_CONTINUE;
	room = g_strdup(callto + 5);
	ce_msg_set(m, "callto", "dumb/");
	ce_msg_set(m, "ce_room", room);
	g_free(room);
	return CE_MSG_CONTINUE;
}

static enum ce_msg_result h_rename(struct ce_dispatch *d, struct ce_msg *m, void *arg)
{
	ce_msg_set_name(m, "x.renamed");
	ce_msg_remove(m, "gone");
	ce_msg_set(m, "keep", "new:value");
	ce_msg_set_retval(m, "rv");
	return CE_MSG_HANDLED;
}

static enum ce_msg_result h_huge(struct ce_dispatch *d, struct ce_msg *m, void *arg)
{
	char *v = g_strnfill(70000, 'x');

	ce_msg_set(m, "huge", v);
	g_free(v);
	return CE_MSG_HANDLED;
}

static enum ce_msg_result h_defer(struct ce_dispatch *d, struct ce_msg *m, void *arg)
{
	struct fx *f = arg;

	g_ptr_array_add(f->deferred, d);
	return CE_MSG_DEFERRED;
}

static void w_record(struct ce_msg *m, bool handled, void *arg)
{
	struct fx *f = arg;

	f->watched++;
	f->watched_handled = handled;
	g_free(f->watched_id);
	f->watched_id = g_strdup(ce_msg_get(m, "id"));
}

static void on_done(struct ce_msg *m, bool handled, void *arg)
{
	struct fx *f = arg;

	f->done_calls++;
	f->done_handled = handled;
}

/* ---- tests ------------------------------------------------------------- */

static void test_startup_and_answers(void)
{
	struct fx f;

	fx_setup(&f);
	ce_bus_install(f.bus, "call.execute", 50, NULL, NULL, 0, h_route, &f, NULL);
	ce_bus_watch(f.bus, "chan.hangup", 0, w_record, &f, NULL);
	start(&f);
	expect(&f, "%%>install:50:call.execute");
	expect(&f, "%%>watch:chan.hangup");
	yate_says(&f, "%%<setlocal:engine.version:6.4.1:true");
	yate_says(&f, "%%<install:50:call.execute:true");
	yate_says(&f, "%%<watch:chan.hangup:true");
	g_assert_cmpstr(ce_yate_version(f.y), ==, "6.4.1");
	g_assert_cmpint(ce_yate_install_state(f.y, "call.execute"), ==, CE_YATE_INSTALL_OK);
	/* transcript 1, verbatim */
	yate_says(&f,
	        "%%>message:0x7fa1afb7c760.478349984:1795326762:call.execute::callto=tone/dial:"
	        "target=800:cmd_address=127.0.0.1%z35146:cmd_machine=false:cmd_admin=true:"
	        "handlers=yrtp%z50");
	expect(&f, "%%<message:0x7fa1afb7c760.478349984:false::");
	yate_says(&f,
	        "%%>message:0x7fa1afb7c420.1963570465:1795326762:call.execute::module=tone:"
	        "cdrtrack=false:called=800:caller=tone/dial:handlers=regexroute%z100,yrtp%z50:"
	        "callto=conf/room1:id=tone/3");
	expect(&f, "%%<message:0x7fa1afb7c420.1963570465:false:::callto=dumb/:ce_room=room1");
	expect_silence(&f);
	fx_teardown(&f);
}

static void test_rename_remove_retval(void)
{
	struct fx f;

	fx_setup(&f);
	ce_bus_install(f.bus, "x.test", 10, NULL, NULL, 0, h_rename, &f, NULL);
	start(&f);
	expect(&f, "%%>install:10:x.test");
	yate_says(&f, "%%>message:id%z1:1:x.test::keep=old:gone=1:other=2");
	expect(&f, "%%<message:id%z1:true:x.renamed:rv:keep=new%zvalue:gone");
	fx_teardown(&f);
}

static void test_deferred_out_of_order(void)
{
	struct fx f;
	struct ce_dispatch *d1, *d2;

	fx_setup(&f);
	ce_bus_install(f.bus, "slow", 50, NULL, NULL, 0, h_defer, &f, NULL);
	start(&f);
	expect(&f, "%%>install:50:slow");
	yate_says(&f, "%%>message:a:1:slow::n=1");
	yate_says(&f, "%%>message:b:1:slow::n=2");
	g_assert_cmpuint(f.deferred->len, ==, 2);
	expect_silence(&f);
	d1 = g_ptr_array_index(f.deferred, 0);
	d2 = g_ptr_array_index(f.deferred, 1);
	ce_msg_set(ce_dispatch_msg(d2), "result", "two");
	ce_dispatch_complete(d2, true);
	expect(&f, "%%<message:b:true:::result=two");
	ce_dispatch_complete(d1, false);
	expect(&f, "%%<message:a:false::");
	expect_silence(&f);
	fx_teardown(&f);
}

static void test_many_params_diff(void)
{
	struct fx f;
	GString *line = g_string_new("%%>message:big:1:call.execute::");
	int i;

	fx_setup(&f);
	ce_bus_install(f.bus, "call.execute", 50, NULL, NULL, 0, h_route, &f, NULL);
	start(&f);
	expect(&f, "%%>install:50:call.execute");
	for (i = 0; i < 1000; i++)
		g_string_append_printf(line, "p%d=%d:", i, i);
	g_string_append(line, "callto=conf/big");
	yate_says(&f, line->str);
	expect(&f, "%%<message:big:false:::callto=dumb/:ce_room=big");
	g_string_free(line, TRUE);
	fx_teardown(&f);
}

/* Yate drops a module whose line overflows its buffer: never write one. */
static void test_line_too_long_for_yate(void)
{
	struct fx f;
	struct ce_msg *m;
	char *v;

	fx_setup(&f);
	ce_bus_install(f.bus, "x.huge", 50, NULL, NULL, 0, h_huge, &f, NULL);
	start(&f);
	expect(&f, "%%>install:50:x.huge");
	yate_says(&f, "%%<setlocal:bufsize:65536:true");
	yate_says(&f, "%%>message:h1:1:x.huge::");
	expect(&f, "%%<message:h1:true::");
	ce_msg_new(&m, "x.out");
	v = g_strnfill(70000, 'y');
	ce_msg_set(m, "huge", v);
	g_free(v);
	ce_bus_send(f.bus, m, 0, on_done, &f);
	pump();
	g_assert_cmpint(f.done_calls, ==, 1);
	g_assert_false(f.done_handled);
	expect_silence(&f);
	ce_msg_unref(m);
	fx_teardown(&f);
}

static void test_watcher_report(void)
{
	struct fx f;

	fx_setup(&f);
	ce_bus_watch(f.bus, "chan.hangup", 0, w_record, &f, NULL);
	start(&f);
	expect(&f, "%%>watch:chan.hangup");
	yate_says(&f, "%%<message::false:chan.hangup::id=dumb/3:module=dumb:handlers=yrtp%z50");
	g_assert_cmpint(f.watched, ==, 1);
	g_assert_false(f.watched_handled);
	g_assert_cmpstr(f.watched_id, ==, "dumb/3");
	expect_silence(&f);
	fx_teardown(&f);
}

static void test_send_answered(void)
{
	struct fx f;
	struct ce_msg *m;
	struct ce_yate_stats st;

	fx_setup(&f);
	start(&f);
	ce_msg_new(&m, "chan.masquerade");
	ce_msg_set(m, "id", "dumb/3");
	ce_msg_set(m, "message", "chan.rtp");
	ce_bus_send(f.bus, m, 0, on_done, &f);
	expect_prefix(&f, "%%>message:ce1:", ":chan.masquerade::id=dumb/3:message=chan.rtp");
	g_assert_cmpint(f.done_calls, ==, 0);
	yate_says(&f, "%%<message:ce1:true:chan.rtp::localport=23614:message");
	g_assert_cmpint(f.done_calls, ==, 1);
	g_assert_true(f.done_handled);
	g_assert_cmpstr(m->name, ==, "chan.rtp");
	g_assert_cmpstr(ce_msg_get(m, "localport"), ==, "23614");
	g_assert_null(ce_msg_get(m, "message"));
	ce_yate_get_stats(f.y, &st);
	g_assert_cmpuint(st.pending, ==, 0);
	ce_msg_unref(m);
	fx_teardown(&f);
}

static void test_send_timeout_and_late_answer(void)
{
	struct fx f;
	struct ce_msg *m;
	struct ce_yate_stats st;
	guint64 warns;
	gint64 end;

	fx_setup(&f);
	start(&f);
	ce_msg_new(&m, "chan.masquerade");
	ce_bus_send(f.bus, m, 20, on_done, &f);
	expect_prefix(&f, "%%>message:ce1:", ":chan.masquerade:");
	end = g_get_monotonic_time() + WAIT_US;
	while (!f.done_calls && g_get_monotonic_time() < end)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpint(f.done_calls, ==, 1);
	g_assert_false(f.done_handled);
	ce_yate_get_stats(f.y, &st);
	g_assert_cmpuint(st.timeouts, ==, 1);
	warns = ce_log_count(CE_LOG_WARN);
	yate_says(&f, "%%<message:ce1:true:chan.masquerade::");
	g_assert_cmpint(f.done_calls, ==, 1);
	g_assert_cmpuint(ce_log_count(CE_LOG_WARN), ==, warns + 1);
	ce_msg_unref(m);
	fx_teardown(&f);
}

static void test_link_lost(void)
{
	struct fx f;
	struct ce_msg *m;
	struct ce_yate_stats st;
	gint64 end;

	fx_setup(&f);
	ce_bus_install(f.bus, "slow", 50, NULL, NULL, 0, h_defer, &f, NULL);
	start(&f);
	expect(&f, "%%>install:50:slow");
	yate_says(&f, "%%>message:a:1:slow::");
	ce_msg_new(&m, "chan.masquerade");
	ce_bus_send(f.bus, m, 0, on_done, &f);
	expect_prefix(&f, "%%>message:ce1:", ":chan.masquerade:");
	shutdown(f.peer, SHUT_WR); /* Yate goes away */
	end = g_get_monotonic_time() + WAIT_US;
	while (!f.quits && g_get_monotonic_time() < end)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpint(f.quits, ==, 1);
	g_assert_cmpint(f.done_calls, ==, 1);
	g_assert_false(f.done_handled);
	g_assert_false(ce_yate_is_up(f.y));
	ce_dispatch_complete(g_ptr_array_index(f.deferred, 0), true);
	ce_yate_get_stats(f.y, &st);
	g_assert_cmpuint(st.answers_drop, ==, 1);
	g_assert_cmpuint(st.answers_out, ==, 0);
	/* a send without a link fails, but not from inside ce_bus_send */
	ce_bus_send(f.bus, m, 0, on_done, &f);
	g_assert_cmpint(f.done_calls, ==, 1);
	pump();
	g_assert_cmpint(f.done_calls, ==, 2);
	g_assert_false(f.done_handled);
	ce_msg_unref(m);
	fx_teardown(&f);
}

static void test_install_refused(void)
{
	struct fx f;
	struct ce_yate_stats st;
	guint64 warns = ce_log_count(CE_LOG_WARN);
	GString *status = g_string_new(NULL);

	fx_setup(&f);
	ce_bus_install(f.bus, "chan.dtmf", 50, NULL, NULL, 0, h_route, &f, NULL);
	start(&f);
	expect(&f, "%%>install:50:chan.dtmf");
	yate_says(&f, "%%<install:50:chan.dtmf:false");
	g_assert_cmpint(ce_yate_install_state(f.y, "chan.dtmf"), ==, CE_YATE_INSTALL_REFUSED);
	g_assert_cmpuint(ce_log_count(CE_LOG_WARN), ==, warns + 1);
	ce_yate_get_stats(f.y, &st);
	g_assert_cmpuint(st.installs_refused, ==, 1);
	ce_yate_status(f.y, status);
	g_assert_nonnull(strstr(status->str, "refused=1"));
	g_assert_nonnull(strstr(status->str, "refused_names=chan.dtmf"));
	/* locally generated messages are still served */
	g_string_free(status, TRUE);
	fx_teardown(&f);
}

static void test_error_in_and_bad_lines(void)
{
	struct fx f;
	struct ce_yate_stats st;

	fx_setup(&f);
	start(&f);
	yate_says(&f, "Error in: %%>bogus:line");
	yate_says(&f, "%%>message:x:1:name::bad=%");
	expect(&f, "%%<message:x:false::"); /* still answered: Yate waits for it */
	yate_says(&f, "%%>nonsense");
	yate_says(&f, "\x01\x02\xff garbage");
	expect_silence(&f);
	ce_yate_get_stats(f.y, &st);
	g_assert_cmpuint(st.errors_in, ==, 1);
	g_assert_cmpuint(st.bad_lines, ==, 3);
	yate_says(&f, "%%>message:ok:1:any.thing::");
	expect(&f, "%%<message:ok:false::");
	fx_teardown(&f);
}

/* Random lines behind real keywords: warnings, never a crash or a hang. */
static void test_random_lines(void)
{
	static const char *const heads[] = {"%%>message:", "%%<message:", "%%<message::",
	        "%%<install:", "%%<watch:", "%%<setlocal:", "%%<uninstall:", "%%<quit",
	        "Error in:", "%%>install:", "", "%"};
	GRand *rnd = g_rand_new_with_seed(20261122);
	GString *line = g_string_new(NULL);
	struct fx f;
	unsigned i, j;

	fx_setup(&f);
	ce_bus_install(f.bus, "call.execute", 50, NULL, NULL, 0, h_route, &f, NULL);
	start(&f);
	expect(&f, "%%>install:50:call.execute");
	for (i = 0; i < 3000; i++) {
		unsigned len = (unsigned)g_rand_int_range(rnd, 0, 120);

		g_string_assign(line, heads[g_rand_int_range(rnd, 0, G_N_ELEMENTS(heads))]);
		if (g_str_has_prefix(line->str, "%%<quit"))
			g_string_append_c(line, 'x'); /* a real %%<quit ends the session */
		for (j = 0; j < len; j++) {
			char c = (char)g_rand_int_range(rnd, 1, 256);

			g_string_append_c(line, c == '\n' ? ':' : c);
		}
		yate_says(&f, line->str);
	}
	g_assert_cmpint(f.quits, ==, 0);
	/* answers to whatever parsed as a message are skipped */
	yate_says(&f, "%%>message:after:1:call.execute::callto=conf/r");
	for (;;) {
		char *got = next_line(&f);

		g_assert_nonnull(got);
		if (g_str_has_prefix(got, "%%<message:after:")) {
			g_assert_cmpstr(got, ==, "%%<message:after:false:::callto=dumb/:ce_room=r");
			g_free(got);
			break;
		}
		g_free(got);
	}
	g_string_free(line, TRUE);
	g_rand_free(rnd);
	fx_teardown(&f);
}

static void test_relay_change(void)
{
	struct fx f;
	int id;

	fx_setup(&f);
	id = ce_bus_install(f.bus, "call.route", 80, NULL, NULL, 0, h_route, &f, NULL);
	start(&f);
	expect(&f, "%%>install:80:call.route");
	ce_bus_install(f.bus, "call.route", 40, NULL, NULL, 0, h_rename, &f, NULL);
	expect(&f, "%%>uninstall:call.route");
	expect(&f, "%%>install:40:call.route");
	/* Yate answers in order: the old install, its uninstall, the new one (refused here) */
	yate_says(&f, "%%<install:80:call.route:true");
	g_assert_cmpint(ce_yate_install_state(f.y, "call.route"), ==, CE_YATE_INSTALL_WAITING);
	yate_says(&f, "%%<uninstall:80:call.route:true");
	yate_says(&f, "%%<install:40:call.route:false");
	g_assert_cmpint(ce_yate_install_state(f.y, "call.route"), ==, CE_YATE_INSTALL_REFUSED);
	ce_bus_uninstall(f.bus, (unsigned)id);
	expect_silence(&f);
	fx_teardown(&f);
}

static void test_shutdown(void)
{
	struct fx f;

	fx_setup(&f);
	start(&f);
	ce_yate_shutdown(f.y, 5000);
	expect(&f, "%%>setlocal:restart:false");
	expect(&f, "%%>quit");
	g_assert_cmpint(f.quits, ==, 0);
	yate_says(&f, "%%<quit");
	g_assert_cmpint(f.quits, ==, 1);
	fx_teardown(&f);
}

/* ---- the link's ups and downs, over a socket link that reconnects ---- */

static void w_link(struct ce_msg *m, bool handled, void *arg)
{
	g_ptr_array_add(arg, ce_msg_ref(m));
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

/* Accept the engine's next connection and read up to its bufsize setlocal. */
static int yate_accepts(struct fx *f, int lfd)
{
	gint64 end = g_get_monotonic_time() + WAIT_US;
	int fd;

	while ((fd = accept(lfd, NULL, NULL)) < 0 && g_get_monotonic_time() < end)
		g_main_context_iteration(NULL, FALSE);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(fcntl(fd, F_SETFL, O_NONBLOCK), ==, 0);
	f->peer = fd;
	g_string_truncate(f->rx, 0);
	expect(f, "%%>connect:global");
	expect(f, "%%>setlocal:restart:true");
	expect(f, "%%>setlocal:engine.version:");
	expect(f, "%%>setlocal:engine.runid:");
	expect(f, "%%>setlocal:bufsize:65536");
	return fd;
}

/* Yate goes away (stops or crashes): the engine's end sees EOF. */
static void yate_goes(struct fx *f)
{
	close(f->peer);
	f->peer = -1;
}

static struct ce_msg *wait_event(GPtrArray *ev, guint n)
{
	gint64 end = g_get_monotonic_time() + WAIT_US;

	while (ev->len < n && g_get_monotonic_time() < end)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpuint(ev->len, ==, n);
	return g_ptr_array_index(ev, n - 1);
}

static void assert_event(const struct ce_msg *m, const char *state, const char *runid,
        const char *restarted, const char *lastrunid)
{
	g_assert_cmpstr(ce_msg_get(m, "state"), ==, state);
	g_assert_cmpstr(ce_msg_get(m, "runid"), ==, runid);
	g_assert_cmpstr(ce_msg_get(m, "restarted"), ==, restarted);
	g_assert_cmpstr(ce_msg_get(m, "lastrunid"), ==, lastrunid);
}

/*
 * Modules learn of every loss (ce.link state=down final=false) and of every
 * return once Yate told its run id: the same Yate, a restarted one, or one
 * that would not say.  The event is the engine's own: nothing of it goes
 * to Yate (no install, no watch).
 */
static void test_link_events(void)
{
	char *dir = g_dir_make_tmp("ce-yate-XXXXXX", NULL);
	char *path = g_build_filename(dir, "yate.sock", NULL);
	char *spec = g_strdup_printf("unix:%s", path);
	struct ce_link_opts o = {.reconnect_min = 10, .reconnect_max = 40};
	GPtrArray *ev = g_ptr_array_new_with_free_func((GDestroyNotify)ce_msg_unref);
	GString *status = g_string_new(NULL);
	int lfd = listen_unix(path);
	struct fx f;

	memset(&f, 0, sizeof(f));
	f.fd = f.peer = -1;
	f.rx = g_string_new(NULL);
	f.deferred = g_ptr_array_new();
	g_assert_cmpint(ce_bus_new(&f.bus), ==, 0);
	ce_yate_new(&f.y, f.bus, NULL);
	ce_bus_watch(f.bus, CE_LINK_MSG, CE_BUS_LOCAL, w_link, ev, NULL);
	g_assert_cmpint(
	        ce_link_new_connect(&f.link, spec, &o, ce_yate_link_ops(), f.y, NULL), ==, 0);
	ce_yate_attach(f.y, f.link);
	ce_link_start(f.link);

	yate_accepts(&f, lfd);
	expect_silence(&f); /* no install or watch for ce.link */
	yate_says(&f, "%%<setlocal:engine.runid:1795326700:true");
	assert_event(wait_event(ev, 1), "up", "1795326700", "false", NULL);

	yate_goes(&f);
	assert_event(wait_event(ev, 2), "down", NULL, NULL, NULL);
	g_assert_cmpstr(ce_msg_get(g_ptr_array_index(ev, 1), "final"), ==, "false");
	yate_accepts(&f, lfd);
	yate_says(&f, "%%<setlocal:engine.runid:1795326700:true");
	assert_event(wait_event(ev, 3), "up", "1795326700", "false", "1795326700");

	yate_goes(&f);
	wait_event(ev, 4);
	yate_accepts(&f, lfd);
	yate_says(&f, "%%<setlocal:engine.runid:1795330000:true");
	assert_event(wait_event(ev, 5), "up", "1795330000", "true", "1795326700");
	ce_yate_status(f.y, status);
	g_assert_nonnull(strstr(status->str, ",yate_runid=1795330000,links_up=3,"));

	/* a Yate that does not tell: no restart can be claimed, the last run id stays */
	yate_goes(&f);
	wait_event(ev, 6);
	yate_accepts(&f, lfd);
	yate_says(&f, "%%<setlocal:engine.runid::false");
	assert_event(wait_event(ev, 7), "up", NULL, "false", NULL);
	g_assert_cmpstr(ce_yate_runid(f.y), ==, "1795330000");

	ce_yate_free(f.y);
	ce_link_free(f.link);
	ce_bus_free(f.bus);
	close(f.peer);
	close(lfd);
	unlink(path);
	rmdir(dir);
	g_ptr_array_free(ev, TRUE);
	g_string_free(status, TRUE);
	g_string_free(f.rx, TRUE);
	g_ptr_array_free(f.deferred, TRUE);
	g_free(spec);
	g_free(path);
	g_free(dir);
	pump();
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	ce_log_init();
	ce_log_set_level(NULL, CE_LOG_ERROR);
	/* warnings are part of what is tested: count them, do not abort */
	g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
	g_test_add_func("/yate/startup-and-answers", test_startup_and_answers);
	g_test_add_func("/yate/rename-remove-retval", test_rename_remove_retval);
	g_test_add_func("/yate/deferred-out-of-order", test_deferred_out_of_order);
	g_test_add_func("/yate/many-params-diff", test_many_params_diff);
	g_test_add_func("/yate/line-too-long-for-yate", test_line_too_long_for_yate);
	g_test_add_func("/yate/watcher-report", test_watcher_report);
	g_test_add_func("/yate/send-answered", test_send_answered);
	g_test_add_func("/yate/send-timeout-late-answer", test_send_timeout_and_late_answer);
	g_test_add_func("/yate/link-lost", test_link_lost);
	g_test_add_func("/yate/install-refused", test_install_refused);
	g_test_add_func("/yate/error-in-and-bad-lines", test_error_in_and_bad_lines);
	g_test_add_func("/yate/random-lines", test_random_lines);
	g_test_add_func("/yate/relay-change", test_relay_change);
	g_test_add_func("/yate/shutdown", test_shutdown);
	g_test_add_func("/yate/link-events", test_link_events);
	return g_test_run();
}
