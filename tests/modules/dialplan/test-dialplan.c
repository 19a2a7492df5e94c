/* test-dialplan.c - the dialplan module on the bus: transcript 1's call.route, reload, start-up
 * errors */
#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>

#include "bus.h"
#include "conf-engine/config.h"
#include "console.h"
#include "engine.h"
#include "engine-private.h"
#include "message.h"
#include "protocol.h"

/* Transcript 1: tone/dial calls 800; Yate's regexroute answered conf/room1. */
#define ROUTE_800                                                                                  \
	"%%>message:0x7f3b0c001b50.1583413213:1795327100:call.route::module=tone:cdrtrack=false:"  \
	"called=800:caller=tone/dial"
#define ROUTE_802                                                                                  \
	"%%>message:0x7f3b0c001b50.1583413214:1795327101:call.route::module=tone:cdrtrack=false:"  \
	"called=802:caller=tone/busy"

struct fixture {
	char *dir, *file;
	struct ce_engine *ce;
	GString *relays;
};

static void fake_relay(void *arg, const char *name, int prio, const char *fname, const char *fvalue)
{
	(void)fname;
	(void)fvalue;
	g_string_append_printf(arg, "%s:%d ", name, prio);
}

static void fake_watch(void *arg, const char *name, bool on)
{
	(void)arg;
	(void)name;
	(void)on;
}

static void fake_send(
        void *arg, struct ce_msg *msg, unsigned timeout_ms, ce_msg_done_h *done, void *done_arg)
{
	(void)arg;
	(void)timeout_ms;
	done(msg, false, done_arg);
}

static const struct ce_uplink_ops fake_ops = {fake_relay, fake_watch, fake_send};

static void write_plan(struct fixture *f, const char *text)
{
	g_assert_true(g_file_set_contents(f->file, text, -1, NULL));
}

/* An engine with only the dialplan module; @prio NULL: the default; @fwd: its rtp_forward. */
static int start_fwd(struct fixture *f, const char *file, const char *prio, const char *fwd)
{
	const char *const only[] = {"dialplan", NULL};
	struct ce_config *cfg;

	ce_config_new_empty(&cfg);
	if (fwd)
		ce_config_set(cfg, "dialplan", "rtp_forward", fwd);
	if (file)
		ce_config_set(cfg, "dialplan", "file", file);
	if (prio)
		ce_config_set(cfg, "dialplan", "priority", prio);
	g_assert_cmpint(ce_engine_new(&f->ce, cfg), ==, 0);
	ce_bus_set_uplink(ce_engine_bus(f->ce), &fake_ops, f->relays);
	return ce_engine_start(f->ce, only);
}

static int start(struct fixture *f, const char *file, const char *prio)
{
	return start_fwd(f, file, prio, NULL);
}

static void setup(struct fixture *f, gconstpointer data)
{
	(void)data;
	f->dir = g_dir_make_tmp("dialplan-XXXXXX", NULL);
	g_assert_nonnull(f->dir);
	f->file = g_build_filename(f->dir, "dialplan.conf", NULL);
	f->relays = g_string_new(NULL);
	write_plan(f, "[default]\n^800$=conf/room1\n^9\\(.*\\)$=-;error=noroute;reason=\\1\n");
}

static void teardown(struct fixture *f, gconstpointer data)
{
	(void)data;
	ce_engine_free(f->ce);
	g_unlink(f->file);
	g_rmdir(f->dir);
	g_free(f->file);
	g_free(f->dir);
	g_string_free(f->relays, TRUE);
}

static void on_done(struct ce_msg *msg, bool handled, void *arg)
{
	(void)msg;
	*(int *)arg = handled ? 1 : 0;
}

/* Deliver one of Yate's lines through the relay; return our answer line. */
static char *ask(struct fixture *f, const char *line)
{
	struct ce_line l;
	struct ce_msg *m;
	GString *out = g_string_new(NULL);
	int handled = -1;

	memset(&l, 0, sizeof(l));
	g_assert_cmpint(
	        ce_line_parse(&l, line, strlen(line), ce_proto_default_limits(), NULL), ==, 0);
	m = ce_msg_ref(l.msg);
	ce_line_clear(&l);
	ce_bus_dispatch_uplink(ce_engine_bus(f->ce), m, on_done, &handled);
	g_assert_cmpint(handled, >=, 0);
	ce_proto_format_answer(out, m, handled);
	ce_msg_unref(m);
	return g_string_free(out, FALSE);
}

static void check_answer(struct fixture *f, const char *line, const char *want)
{
	char *got = ask(f, line);

	g_assert_cmpstr(got, ==, want);
	g_free(got);
}

static void test_route_transcript(struct fixture *f, gconstpointer data)
{
	(void)data;
	g_assert_cmpint(start(f, f->file, NULL), ==, 0);
	g_assert_cmpstr(f->relays->str, ==, "call.route:90 ");
	check_answer(f, ROUTE_800,
	        "%%<message:0x7f3b0c001b50.1583413213:true:call.route:conf/room1:module=tone:"
	        "cdrtrack=false:called=800:caller=tone/dial");
	check_answer(f, ROUTE_802,
	        "%%<message:0x7f3b0c001b50.1583413214:false:call.route::module=tone:"
	        "cdrtrack=false:called=802:caller=tone/busy");
	check_answer(f, "%%>message:id.3:1795327102:call.route::called=9lost:caller=sip/a",
	        "%%<message:id.3:true:call.route:-:called=9lost:caller=sip/a:error=noroute:"
	        "reason=lost");
}

/*
 * A SIP call whose SDP allows forwarding comes with rtp_forward=possible;
 * ysipchan forwards only if the route says yes (callRouted), which the
 * dialplan does for the engine's own targets unless the rule said otherwise.
 */
#define FWD_ROUTE(called)                                                                          \
	"%%>message:id.1:1795327100:call.route::called=" called ":rtp_forward=possible"

static void test_rtp_forward(struct fixture *f, gconstpointer data)
{
	(void)data;
	write_plan(f, "[default]\n^800$=conf/room1\n^801$=sip/sip:801@192.0.2.1\n"
	              "^802$=conf/r2;rtp_forward=no\n^803$=lobby\n^804$=schedule/k\n"
	              "^805$=lobby/4\n");
	g_assert_cmpint(start(f, f->file, NULL), ==, 0);
	check_answer(f, FWD_ROUTE("800"),
	        "%%<message:id.1:true:call.route:conf/room1:called=800:rtp_forward=yes");
	check_answer(f, FWD_ROUTE("801"),
	        "%%<message:id.1:true:call.route:sip/sip%z801@192.0.2.1:called=801:"
	        "rtp_forward=possible");
	check_answer(f, FWD_ROUTE("802"),
	        "%%<message:id.1:true:call.route:conf/r2:called=802:rtp_forward=no");
	check_answer(f, FWD_ROUTE("803"),
	        "%%<message:id.1:true:call.route:lobby:called=803:rtp_forward=yes");
	check_answer(f, FWD_ROUTE("804"),
	        "%%<message:id.1:true:call.route:schedule/k:called=804:rtp_forward=yes");
	check_answer(f, FWD_ROUTE("805"),
	        "%%<message:id.1:true:call.route:lobby/4:called=805:rtp_forward=yes");
	/* no SDP, no forwarding offered: nothing added */
	check_answer(f, "%%>message:id.1:1795327100:call.route::called=800",
	        "%%<message:id.1:true:call.route:conf/room1:called=800");
}

static void test_rtp_forward_off(struct fixture *f, gconstpointer data)
{
	(void)data;
	g_assert_cmpint(start_fwd(f, f->file, NULL, "false"), ==, 0);
	check_answer(f, FWD_ROUTE("800"),
	        "%%<message:id.1:true:call.route:conf/room1:called=800:rtp_forward=possible");
}

static bool reloading(struct fixture *f)
{
	GString *st = g_string_new(NULL);
	bool r;

	ce_console_status(f->ce, st);
	r = strstr(st->str, "reloading=yes") != NULL;
	g_string_free(st, TRUE);
	return r;
}

/* Run "conf reload dialplan" and the main loop until it is done (bounded). */
static void reload(struct fixture *f)
{
	char *argv[] = {"reload", "dialplan", NULL};
	GString *out = g_string_new(NULL);
	gint64 end = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;

	ce_console_execute(f->ce, 2, argv, out);
	g_assert_true(g_str_has_prefix(out->str, "reloading dialplan "));
	while (reloading(f) && g_get_monotonic_time() < end)
		g_main_context_iteration(NULL, FALSE);
	g_assert_false(reloading(f));
	g_string_free(out, TRUE);
}

static void test_reload(struct fixture *f, gconstpointer data)
{
	char *argv[] = {"reload", "nonsense", NULL};
	GString *out = g_string_new(NULL);
	char *want;

	(void)data;
	g_assert_cmpint(start(f, f->file, "80"), ==, 0);
	g_assert_cmpstr(f->relays->str, ==, "call.route:80 ");
	write_plan(f, "[default]\n^802$=conf/room2\n");
	reload(f);
	check_answer(f, ROUTE_802,
	        "%%<message:0x7f3b0c001b50.1583413214:true:call.route:conf/room2:module=tone:"
	        "cdrtrack=false:called=802:caller=tone/busy");
	/* a broken file keeps the running dialplan */
	write_plan(f, "[default]\n^802$=echo x\n");
	want = g_strdup_printf("dialplan reload failed, the previous dialplan stays: %s:2: 'echo' "
	                       "is not supported",
	        f->file);
	g_test_expect_message("dialplan", G_LOG_LEVEL_WARNING, want);
	reload(f);
	g_test_assert_expected_messages();
	g_free(want);
	check_answer(f, ROUTE_802,
	        "%%<message:0x7f3b0c001b50.1583413214:true:call.route:conf/room2:module=tone:"
	        "cdrtrack=false:called=802:caller=tone/busy");
	/* a regex that does not compile skips its rule (Yate never matches it), the rest loads */
	write_plan(f, "[default]\n^8\\(=conf/x\n^802$=conf/room3\n");
	want = g_strdup_printf(
	        "%s:2: bad regular expression '^8\\(': Unmatched ( or \\(, rule skipped", f->file);
	g_test_expect_message("dialplan", G_LOG_LEVEL_WARNING, want);
	reload(f);
	g_test_assert_expected_messages();
	g_free(want);
	check_answer(f, ROUTE_802,
	        "%%<message:0x7f3b0c001b50.1583413214:true:call.route:conf/room3:module=tone:"
	        "cdrtrack=false:called=802:caller=tone/busy");
	ce_console_execute(f->ce, 2, argv, out);
	g_assert_true(g_str_has_prefix(out->str, "usage: "));
	g_string_free(out, TRUE);
}

static void test_start_errors(struct fixture *f, gconstpointer data)
{
	char *want;

	(void)data;
	write_plan(f, "[default]\n^800$=conf/room1\n\n^1$=echo hello\n");
	want = g_strdup_printf("cannot load the dialplan: %s:4: 'echo' is not supported", f->file);
	g_test_expect_message("dialplan", G_LOG_LEVEL_CRITICAL, want);
	g_test_expect_message(
	        "ce-engine", G_LOG_LEVEL_CRITICAL, "module dialplan failed to start*");
	g_assert_cmpint(start(f, f->file, NULL), ==, -EINVAL);
	g_test_assert_expected_messages();
	g_free(want);
	g_assert_cmpstr(f->relays->str, ==, "");
}

static void test_missing_file(struct fixture *f, gconstpointer data)
{
	(void)data;
	g_test_expect_message("dialplan", G_LOG_LEVEL_CRITICAL,
	        "cannot load the dialplan: cannot read '/nonexistent/dp.conf': No such file or "
	        "directory");
	g_test_expect_message(
	        "ce-engine", G_LOG_LEVEL_CRITICAL, "module dialplan failed to start*");
	g_assert_cmpint(start(f, "/nonexistent/dp.conf", NULL), ==, -ENOENT);
	g_test_assert_expected_messages();
}

static void test_idle_and_disabled(struct fixture *f, gconstpointer data)
{
	(void)data;
	/* no [dialplan] file= and no dialplan.conf: idle, the engine starts */
	g_assert_cmpint(start(f, NULL, NULL), ==, 0);
	g_assert_cmpstr(f->relays->str, ==, "");
	check_answer(f, ROUTE_800,
	        "%%<message:0x7f3b0c001b50.1583413213:false:call.route::module=tone:"
	        "cdrtrack=false:called=800:caller=tone/dial");
	ce_engine_free(f->ce);
	f->ce = NULL;
	g_assert_cmpint(start(f, f->file, "0"), ==, 0);
	g_assert_cmpstr(f->relays->str, ==, "");
}

/* Idle (no dialplan.conf beside conf-engine.conf) until a reload finds one. */
static void test_idle_then_reload(struct fixture *f, gconstpointer data)
{
	const char *const only[] = {"dialplan", NULL};
	char *main_path = g_build_filename(f->dir, "conf-engine.conf", NULL);
	struct ce_config *cfg = NULL;

	(void)data;
	g_unlink(f->file);
	g_assert_true(g_file_set_contents(main_path, "[dialplan]\npriority=95\n", -1, NULL));
	g_assert_cmpint(ce_config_load(&cfg, main_path, NULL), ==, 0);
	g_assert_cmpint(ce_engine_new(&f->ce, cfg), ==, 0);
	ce_bus_set_uplink(ce_engine_bus(f->ce), &fake_ops, f->relays);
	g_assert_cmpint(ce_engine_start(f->ce, only), ==, 0);
	g_assert_cmpstr(f->relays->str, ==, "");
	write_plan(f, "[default]\n^800$=conf/late\n");
	reload(f);
	g_assert_cmpstr(f->relays->str, ==, "call.route:95 ");
	check_answer(f, ROUTE_800,
	        "%%<message:0x7f3b0c001b50.1583413213:true:call.route:conf/late:module=tone:"
	        "cdrtrack=false:called=800:caller=tone/dial");
	ce_engine_free(f->ce);
	f->ce = NULL;
	g_assert_cmpstr(f->relays->str, ==, "call.route:95 call.route:-1 ");
	g_unlink(main_path);
	g_free(main_path);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, struct fixture, NULL, setup, fn, teardown)
	ADD("/dialplan/route-transcript", test_route_transcript);
	ADD("/dialplan/reload", test_reload);
	ADD("/dialplan/rtp-forward", test_rtp_forward);
	ADD("/dialplan/rtp-forward-off", test_rtp_forward_off);
	ADD("/dialplan/start-errors", test_start_errors);
	ADD("/dialplan/missing-file", test_missing_file);
	ADD("/dialplan/idle-and-disabled", test_idle_and_disabled);
	ADD("/dialplan/idle-then-reload", test_idle_then_reload);
	return g_test_run();
}
