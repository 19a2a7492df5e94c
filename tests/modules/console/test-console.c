/* test-console.c - the console module answers transcript 3's rmanager messages byte for byte */
#include <errno.h>
#include <string.h>

#include "bus.h"
#include "conf-engine/config.h"
#include "console.h"
#include "engine.h"
#include "engine-private.h"
#include "message.h"
#include "protocol.h"

/*
 * Yate's lines from /work/shared/yate/transcript-3-console.txt, with the
 * module "demo" renamed to ours ("conf-engine", commands under "conf").
 */
#define CONN ":cmd_address=127.0.0.1%z41426:cmd_machine=false:cmd_admin=true"
#define YATE_HELP                                                                                  \
	"Available commands%z%M%J  quit%M%J  echo [on|off]%M%J  help [command]%M%J  auth "         \
	"password%M%J  status [overview] [modulename]%M%J  uptime%M%J  date%M%J  machine "         \
	"[on|off]%M%J  output [on|off]%M%J  color [on|off]%M%J  debug [module] "                   \
	"[level|objects|on|off]%M%J  meminfo%M%J  drop {chan|*|all} [reason]%M%J  call chan "      \
	"target%M%J  control chan [operation] [param=val] [param=...]%M%J  cfgmerge "              \
	"configfile%M%J  reload [plugin]%M%J  restart [now]%M%J  stop [exitcode]%M%J  alias "      \
	"[name [command...]]%M%J  module {{load|reload} modulefile|unload modulename|list}%M%J "   \
	" events [clear] [type]%M%J  logview%M%J  runparam name=value%M%J  dispatcher "            \
	"{handlers|trace_msg_time|trace_msg_handler_time}%M%J  status dispatcher ...%M%J  "        \
	"version%M%J  external [info] [stop scriptname] [[start|restart] scriptname "              \
	"[parameter]] [execute progname [parameter]]%M%J"
#define YATE_STATUS                                                                                \
	"name=rmanager,type=misc;listeners=1,conn=1%M%Jname=engine,type=system,version=6.4.1,"     \
	"revision=,githash=,nodename=vm;plugins=9,inuse=1,handlers=87,hooks=1,messages=0,"         \
	"maxqueue=1,messageage=0,messagerate=0,maxmsgrate=2,enqueued=19,dequeued=19,dispatched="   \
	"27,supervised=false,runattempt=0,lastsignal=0,threads=4,workers=1,mutexes=47,"            \
	"semaphores=1,acceptcalls=accept,congestion=0;sharedpath=/tmp/yate-inst/share/yate,"       \
	"configpath=/tmp/yexp/conf,usercfgpath=/root/.yate,modulepath=/tmp/yate-inst/lib/yate,"    \
	"workpath=/tmp/yexp%M%Jname=rex_debug,type=misc;%M%J"

#define E_STATUS_OURS                                                                              \
	"%%>message:0x7f77eea0b760.342580402:1795327912:engine.status::module=conf-engine" CONN    \
	":handlers=engine%z90,rex_debug%z100"
#define E_HELP_ALL                                                                                 \
	"%%>message:0x7f77eea0b760.930387835:1795327915:engine.help:" YATE_HELP CONN ":handlers="  \
	"engine%z100,extmodule%z100"
#define E_HELP_CONF                                                                                \
	"%%>message:0x7f77eea0b760.1195008359:1795327917:engine.help::line=conf" CONN ":handlers=" \
	"engine%z100,extmodule%z100"
#define E_COMMAND_PREFIX "%%>message:0x7f77eea0b610.1235060489:1795327920:engine.command:"
#define E_COMMAND(line)  E_COMMAND_PREFIX ":line=" line CONN
#define E_COMPLETE_DE                                                                              \
	"%%>message:0x7f77eea0b9b0.704399150:1795327922:engine.command:debug:partial=de:complete=" \
	"command:partword=de" CONN ":handlers=engine%z100,rex_debug%z100,extmodule%z100"
#define E_STATUS_ALL                                                                               \
	"%%>message:0x7f77eea0b760.269556710:1795327927:engine.status:" YATE_STATUS CONN           \
	":handlers=engine%z90,rex_debug%z100"

/* What our status line says in a fresh engine at its first message. */
#define OUR_STATUS                                                                                 \
	"name=conf-engine,type=misc;uptime=0,modules=1,handlers=3,watchers=0,dispatched=1,"        \
	"handled=0,deferred=0,sent=0,timeouts=0,rooms=1,legs=2\r\n"

struct fixture {
	struct ce_engine *ce;
	GString *relays;
	gint64 now;
};

static void fake_relay(void *arg, const char *name, int prio, const char *fname, const char *fvalue)
{
	g_string_append_printf(arg, "%s:%d%s ", name, prio, fname ? ":filtered" : "");
}

static void fake_watch(void *arg, const char *name, bool on)
{
}

static void fake_send(
        void *arg, struct ce_msg *msg, unsigned timeout_ms, ce_msg_done_h *done, void *done_arg)
{
	done(msg, false, done_arg);
}

static const struct ce_uplink_ops fake_ops = {fake_relay, fake_watch, fake_send};

static gint64 fixed_clock(void *arg)
{
	return *(gint64 *)arg;
}

static void rooms_status(struct ce_engine *ce, GString *out, void *arg)
{
	g_string_append(out, "rooms=1,legs=2");
}

static void empty_status(struct ce_engine *ce, GString *out, void *arg)
{
}

static void setup(struct fixture *f, gconstpointer data)
{
	const char *const only[] = {"console", NULL};
	struct ce_config *cfg;

	ce_config_new_empty(&cfg);
	ce_config_set(cfg, "general", "node", "test-node");
	ce_config_set(cfg, "console", "priority", "100");
	g_assert_cmpint(ce_engine_new(&f->ce, cfg), ==, 0);
	f->now = (gint64)1795327912 * G_USEC_PER_SEC;
	ce_engine_set_clock(f->ce, fixed_clock, &f->now);
	f->relays = g_string_new(NULL);
	ce_bus_set_uplink(ce_engine_bus(f->ce), &fake_ops, f->relays);
	ce_console_add_status(f->ce, "empty", empty_status, NULL);
	ce_console_add_status(f->ce, "rooms", rooms_status, NULL);
	g_assert_cmpint(ce_engine_start(f->ce, only), ==, 0);
}

static void teardown(struct fixture *f, gconstpointer data)
{
	ce_console_remove_status(f->ce, "rooms");
	ce_console_remove_status(f->ce, "empty");
	ce_engine_free(f->ce);
	g_string_free(f->relays, TRUE);
}

struct answer {
	int calls;
	bool handled;
};

static void on_done(struct ce_msg *msg, bool handled, void *arg)
{
	struct answer *a = arg;

	a->calls++;
	a->handled = handled;
}

/* Parse one of Yate's lines, dispatch it as Yate would, return the message. */
static struct ce_msg *ask(struct fixture *f, const char *line, bool *handled)
{
	struct answer a = {0, false};
	struct ce_line l;
	struct ce_msg *m;

	memset(&l, 0, sizeof(l));
	g_assert_cmpint(
	        ce_line_parse(&l, line, strlen(line), ce_proto_default_limits(), NULL), ==, 0);
	g_assert_cmpint(l.kind, ==, CE_LINE_MESSAGE);
	m = ce_msg_ref(l.msg);
	ce_line_clear(&l);
	ce_bus_dispatch_uplink(ce_engine_bus(f->ce), m, on_done, &a);
	g_assert_cmpint(a.calls, ==, 1);
	*handled = a.handled;
	return m;
}

/* Ask, and check the outcome and the return value byte for byte. */
static void check(struct fixture *f, const char *line, bool want_handled, const char *want_retval)
{
	bool handled;
	struct ce_msg *m = ask(f, line, &handled);

	g_assert_cmpstr(m->retval, ==, want_retval);
	g_assert_cmpint(handled, ==, want_handled);
	ce_msg_unref(m);
}

static char *unescape(const char *esc)
{
	GString *s = g_string_new(NULL);

	g_assert_cmpint(ce_proto_unescape(s, esc, strlen(esc), ':'), ==, 0);
	return g_string_free(s, FALSE);
}

static void test_installs(struct fixture *f, gconstpointer data)
{
	/* as "%%>install:100:engine.status" ... in the transcript */
	g_assert_cmpstr(
	        f->relays->str, ==, "engine.status:100 engine.command:100 engine.help:100 ");
	g_string_truncate(f->relays, 0);
	ce_engine_stop(f->ce);
	g_assert_cmpstr(f->relays->str, ==, "engine.status:-1 engine.command:-1 engine.help:-1 ");
	g_assert_cmpint(ce_console_help(f->ce, "status", f->relays), ==, -ENOENT);
}

static void test_status_ours(struct fixture *f, gconstpointer data)
{
	check(f, E_STATUS_OURS, true, OUR_STATUS);
}

static void test_status_all(struct fixture *f, gconstpointer data)
{
	char *yate = unescape(YATE_STATUS);
	char *want = g_strconcat(yate, OUR_STATUS, NULL);

	check(f, E_STATUS_ALL, false, want);
	g_free(want);
	g_free(yate);
}

static void test_status_other(struct fixture *f, gconstpointer data)
{
	check(f, "%%>message:id.1:1795327912:engine.status::module=rex_debug" CONN, false, "");
	check(f, "%%>message:id.2:1795327912:engine.status:x:module=conf-engine2", false, "x");
}

static void test_help_all(struct fixture *f, gconstpointer data)
{
	char *yate = unescape(YATE_HELP);
	char *want = g_strconcat(yate,
	        "  conf debug [DOMAIN] LEVEL\r\n  conf help [COMMAND]\r\n  conf modules\r\n"
	        "  conf status\r\n",
	        NULL);

	check(f, E_HELP_ALL, false, want);
	g_free(want);
	g_free(yate);
}

static void test_help_conf(struct fixture *f, gconstpointer data)
{
	check(f, E_HELP_CONF, true,
	        "  conf debug [DOMAIN] LEVEL\r\n"
	        "    Show or set the log level (error, warn, note, info, debug), for all or one "
	        "domain\r\n"
	        "  conf help [COMMAND]\r\n    Show the conf commands, or the help of one\r\n"
	        "  conf modules\r\n    List the built-in modules and whether they run\r\n"
	        "  conf status\r\n"
	        "    Show the engine's state: uptime, modules, bus counters, status line\r\n");
	check(f, "%%>message:i:1:engine.help::line=conf modules", true,
	        "  conf modules\r\nList the built-in modules and whether they run\r\n");
	check(f, "%%>message:i:1:engine.help::line=conf nosuch", false, "");
	check(f, "%%>message:i:1:engine.help::line=confx", false, "");
	check(f, "%%>message:i:1:engine.help::line=status", false, "");
}

static void test_commands(struct fixture *f, gconstpointer data)
{
	check(f, E_COMMAND("conf help status"), true,
	        "  conf status\r\n"
	        "Show the engine's state: uptime, modules, bus counters, status line\r\n");
	check(f, E_COMMAND("conf nope"), true, "conf: unknown command 'nope'; try: conf help\r\n");
	check(f, E_COMMAND("conf debug loud"), true,
	        "unknown level 'loud'\r\nusage: conf debug [DOMAIN] LEVEL\r\n");
	check(f, E_COMMAND("conf debug console info"), true, "debug level of console: INFO\r\n");
	check(f, E_COMMAND("conf debug console warn"), true, "debug level of console: WARN\r\n");
	check(f, E_COMMAND("conf  status  extra"), true, "usage: conf status\r\n");
	check(f, E_COMMAND("conf"), true,
	        "  conf debug [DOMAIN] LEVEL\r\n"
	        "    Show or set the log level (error, warn, note, info, debug), for all or one "
	        "domain\r\n"
	        "  conf help [COMMAND]\r\n    Show the conf commands, or the help of one\r\n"
	        "  conf modules\r\n    List the built-in modules and whether they run\r\n"
	        "  conf status\r\n"
	        "    Show the engine's state: uptime, modules, bus counters, status line\r\n");
	check(f, E_COMMAND("status"), false, "");
	check(f, E_COMMAND("conference list"), false, "");
}

static void test_conf_status(struct fixture *f, gconstpointer data)
{
	f->now += (gint64)(2 * 86400 + 3 * 3600 + 4 * 60 + 5) * G_USEC_PER_SEC;
	check(f, E_COMMAND("conf status"), true,
	        "conf-engine on node test-node, up 2d 03:04:05\r\n"
	        "modules: 1 running: console\r\n"
	        "bus: handlers=3 watchers=0 dispatched=1 handled=0 deferred=0 sent=0 timeouts=0\r\n"
	        "status: uptime=183845,modules=1,handlers=3,watchers=0,dispatched=1,handled=0,"
	        "deferred=0,sent=0,timeouts=0,rooms=1,legs=2\r\n");
}

static void test_conf_modules(struct fixture *f, gconstpointer data)
{
	bool handled;
	struct ce_msg *m = ask(f, E_COMMAND("conf modules"), &handled);

	g_assert_true(handled);
	g_assert_nonnull(strstr(m->retval, "  console          running\r\n"));
	g_assert_nonnull(
	        strstr(m->retval, "  schedule         stopped  requires store conference?\r\n"));
	/* in start order: the store before the schedule, the monitor after what it records */
	g_assert_nonnull(strstr(m->retval, "  store "));
	g_assert_nonnull(strstr(m->retval, "  monitor "));
	g_assert_true(strstr(m->retval, "  store ") < strstr(m->retval, "  schedule "));
	g_assert_true(strstr(m->retval, "  conference ") < strstr(m->retval, "  monitor "));
	g_assert_true(strstr(m->retval, "  schedule ") < strstr(m->retval, "  monitor "));
	g_assert_true(g_str_has_suffix(m->retval, "\r\n"));
	ce_msg_unref(m);
}

static void test_completion(struct fixture *f, gconstpointer data)
{
	/* transcript: "de" + TAB; Yate's own "debug" is already in the return value */
	check(f, E_COMPLETE_DE, false, "debug");
	check(f, E_COMMAND_PREFIX "debug:partial=co:complete=command:partword=co", false,
	        "debug\tconf");
	check(f, E_COMMAND_PREFIX ":partial=conf :partline=conf", false,
	        "debug\thelp\tmodules\tstatus");
	check(f, E_COMMAND_PREFIX ":partial=conf m:partline=conf:partword=m", false, "modules");
	check(f, E_COMMAND_PREFIX ":partline=status:partword=c", false, "conf-engine");
	check(f, E_COMMAND_PREFIX "all:partline=debug:complete=channels", false,
	        "all\tconf-engine");
	check(f, E_COMMAND_PREFIX ":partline=help:partword=c:complete=command", false, "conf");
	check(f, E_COMMAND_PREFIX ":partline=help conf:partword=s", false, "status");
	check(f, E_COMMAND_PREFIX ":partline=conf help:partword=d", false, "debug");
	check(f, E_COMMAND_PREFIX ":partline=conf debug:partword=i", false, "info");
	check(f, E_COMMAND_PREFIX ":partline=conf debug bus:partword=", false,
	        "error\twarn\tnote\tinfo\tdebug");
	check(f, E_COMMAND_PREFIX ":partline=conf status:partword=", false, "");
	check(f, E_COMMAND_PREFIX ":partline=drop:partword=c", false, "");
}

static int nop_cmd(struct ce_engine *ce, int argc, char **argv, GString *out, void *arg)
{
	return 0;
}

static void test_registry(struct fixture *f, gconstpointer data)
{
	GString *out = g_string_new(NULL);

	g_assert_cmpint(ce_console_add(f->ce, "x", NULL, NULL, NULL, NULL, NULL), ==, -EINVAL);
	g_assert_cmpint(ce_console_add(f->ce, "a b", NULL, "x", nop_cmd, NULL, NULL), ==, -EINVAL);
	g_assert_cmpint(ce_console_add(f->ce, "help", NULL, "x", nop_cmd, NULL, NULL), ==, -EEXIST);
	g_assert_cmpint(ce_console_add(f->ce, "x", NULL, NULL, nop_cmd, NULL, NULL), ==, 0);
	ce_console_remove(f->ce, "x");
	ce_console_remove(f->ce, "x");
	g_assert_cmpint(ce_console_add_status(f->ce, "rooms", rooms_status, NULL), ==, -EEXIST);
	ce_console_complete_add(out, NULL, "one");
	ce_console_complete_add(out, "t", "two");
	ce_console_complete_add(out, "t", "one");
	g_assert_cmpstr(out->str, ==, "one\ttwo");
	g_string_free(out, TRUE);
}

#define ADD(path, fn) g_test_add("/console/" path, struct fixture, NULL, setup, fn, teardown)

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	ADD("installs", test_installs);
	ADD("status-ours", test_status_ours);
	ADD("status-all", test_status_all);
	ADD("status-other", test_status_other);
	ADD("help-all", test_help_all);
	ADD("help-conf", test_help_conf);
	ADD("commands", test_commands);
	ADD("conf-status", test_conf_status);
	ADD("conf-modules", test_conf_modules);
	ADD("completion", test_completion);
	ADD("registry", test_registry);
	return g_test_run();
}
