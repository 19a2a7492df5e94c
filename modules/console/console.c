/* console.c - the console module: answers Yate's remote console (engine.status/help/command) */
#define G_LOG_DOMAIN "console"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bus.h"
#include "conf-engine/config.h"
#include "console.h"
#include "engine.h"
#include "log.h"
#include "message.h"
#include "module.h"

/*
 * Yate's rmanager asks every module through three messages; the engine
 * answers them as the module "conf-engine" with commands under "conf"
 * (see docs/console.md).  Escaped on the wire, with transcript 3's shapes:
 *
 *   E: %%>message:ID:T:engine.status::module=conf-engine:...
 *   A: %%<message:ID:true::name=conf-engine,type=misc;uptime=3,...,rooms=1%M%J
 *   E: %%>message:ID:T:engine.help:Available commands%z%M%J...:...
 *   A: %%<message:ID:false::Available commands%z%M%J...  conf help [COMMAND]%M%J...
 *   E: %%>message:ID:T:engine.command::line=conf modules:...
 *   A: %%<message:ID:true::  console ... running%M%J
 *   E: %%>message:ID:T:engine.command:debug:partial=co:complete=command:partword=co:...
 *   A: %%<message:ID:false::debug%Iconf
 */

#define DEFAULT_PRIORITY 100

/* What init added, for exit. */
struct con {
	int ids[3];
	unsigned n_cmds; /* commands[] added so far */
};

static void status_line(struct ce_engine *ce, GString *out)
{
	g_string_append(out, "name=" CE_CONSOLE_MODULE_NAME ",type=misc;");
	ce_console_status(ce, out);
	g_string_append(out, "\r\n");
}

/* module=conf-engine: our line alone; no module: ours appended; another: not ours. */
static enum ce_msg_result on_status(struct ce_dispatch *d, struct ce_msg *msg, void *arg)
{
	const char *mod = ce_msg_get(msg, "module");
	GString *out;

	if (mod && strcmp(mod, CE_CONSOLE_MODULE_NAME))
		return CE_MSG_CONTINUE;
	out = g_string_new(mod ? "" : msg->retval);
	status_line(arg, out);
	ce_msg_set_retval(msg, out->str);
	g_string_free(out, TRUE);
	return mod ? CE_MSG_HANDLED : CE_MSG_CONTINUE;
}

/* No line: our usage lines appended; "conf [NAME]": the help text. */
static enum ce_msg_result on_help(struct ce_dispatch *d, struct ce_msg *msg, void *arg)
{
	const char *line = ce_msg_get(msg, "line");
	enum ce_msg_result r = CE_MSG_CONTINUE;
	GString *out;
	char **argv;
	int argc;

	if (!line) {
		out = g_string_new(msg->retval);
		ce_console_usage_lines(arg, out);
		ce_msg_set_retval(msg, out->str);
		g_string_free(out, TRUE);
		return CE_MSG_CONTINUE;
	}
	argv = ce_console_split(line, &argc);
	if (argc >= 1 && argc <= 2 && !strcmp(argv[0], CE_CONSOLE_PREFIX)) {
		out = g_string_new(NULL);
		if (ce_console_help(arg, argc == 2 ? argv[1] : NULL, out) == 0) {
			ce_msg_set_retval(msg, out->str);
			r = CE_MSG_HANDLED;
		}
		g_string_free(out, TRUE);
	}
	g_strfreev(argv);
	return r;
}

static enum ce_msg_result complete(struct ce_engine *ce, struct ce_msg *msg)
{
	const char *partline = ce_msg_get_def(msg, "partline", "");
	const char *partword = ce_msg_get_def(msg, "partword", "");
	GString *out = g_string_new(msg->retval);

	ce_console_complete(ce, partline, partword, out);
	if (!strcmp(partline, "status") || !strcmp(partline, "debug"))
		ce_console_complete_add(out, partword, CE_CONSOLE_MODULE_NAME);
	ce_msg_set_retval(msg, out->str);
	g_string_free(out, TRUE);
	return CE_MSG_CONTINUE;
}

/* line="conf ...": run it; partline/partword: completion. */
static enum ce_msg_result on_command(struct ce_dispatch *d, struct ce_msg *msg, void *arg)
{
	const char *line = ce_msg_get(msg, "line");
	enum ce_msg_result r = CE_MSG_CONTINUE;
	GString *out;
	char **argv;
	int argc;

	if (!line) {
		if (ce_msg_get(msg, "partline") || ce_msg_get(msg, "partword"))
			return complete(arg, msg);
		return CE_MSG_CONTINUE;
	}
	argv = ce_console_split(line, &argc);
	if (argc >= 1 && !strcmp(argv[0], CE_CONSOLE_PREFIX)) {
		out = g_string_new(NULL);
		ce_console_execute(arg, argc - 1, argv + 1, out);
		ce_msg_set_retval(msg, out->str);
		g_string_free(out, TRUE);
		r = CE_MSG_HANDLED;
	}
	g_strfreev(argv);
	return r;
}

static int cmd_help(struct ce_engine *ce, int argc, char **argv, GString *out, void *arg)
{
	if (argc > 1)
		return -EINVAL;
	if (ce_console_help(ce, argc ? argv[0] : NULL, out) < 0)
		g_string_append_printf(out, "no help for '%s'\r\n", argv[0]);
	return 0;
}

static void complete_help(
        struct ce_engine *ce, const char *partline, const char *partword, GString *out, void *arg)
{
	int argc;
	char **argv = ce_console_split(partline, &argc);

	if (argc == 2)
		ce_console_complete(ce, CE_CONSOLE_PREFIX, partword, out);
	g_strfreev(argv);
}

static void append_uptime(GString *out, gint64 us)
{
	gint64 s = us / G_USEC_PER_SEC;

	if (s >= 86400)
		g_string_append_printf(out, "%" G_GINT64_FORMAT "d ", s / 86400);
	g_string_append_printf(out, "%02d:%02d:%02d", (int)(s % 86400 / 3600), (int)(s % 3600 / 60),
	        (int)(s % 60));
}

static int cmd_status(struct ce_engine *ce, int argc, char **argv, GString *out, void *arg)
{
	struct ce_bus_stats st;
	unsigned i;

	if (argc)
		return -EINVAL;
	ce_bus_get_stats(ce_engine_bus(ce), &st);
	g_string_append_printf(out, CE_CONSOLE_MODULE_NAME " on node %s, up ", ce_engine_node(ce));
	append_uptime(out, ce_engine_uptime(ce));
	g_string_append_printf(out, "\r\nmodules: %u running:", ce_engine_n_running(ce));
	for (i = 0; i < ce_engine_n_running(ce); i++)
		g_string_append_printf(out, " %s", ce_engine_running(ce, i)->name);
	g_string_append_printf(out,
	        "\r\nbus: handlers=%u watchers=%u dispatched=%" G_GUINT64_FORMAT
	        " handled=%" G_GUINT64_FORMAT " deferred=%" G_GUINT64_FORMAT
	        " sent=%" G_GUINT64_FORMAT " timeouts=%" G_GUINT64_FORMAT "\r\nstatus: ",
	        st.handlers, st.watchers, st.dispatched, st.handled, st.deferred, st.sent,
	        st.sent_timeout);
	ce_console_status(ce, out);
	g_string_append(out, "\r\n");
	return 0;
}

/* "  schedule   running  requires store conference?" ('?': optional). */
static void module_line(struct ce_engine *ce, const struct ce_module_desc *m, GString *out)
{
	g_string_append_printf(out, "  %-16s %s", m->name,
	        ce_engine_module_running(ce, m->name) ? "running" : "stopped");
	for (const struct ce_module_req *r = m->requires; r && r->name; r++)
		g_string_append_printf(out, "%s%s%s", r == m->requires ? "  requires " : " ",
		        r->name, r->optional ? "?" : "");
	g_string_append(out, "\r\n");
}

static int cmd_modules(struct ce_engine *ce, int argc, char **argv, GString *out, void *arg)
{
	unsigned i, j;

	if (argc)
		return -EINVAL;
	for (i = 0; i < ce_engine_n_modules(); i++)
		module_line(ce, ce_engine_module(i), out);
	/* modules started from outside the built-in list (tests) */
	for (i = 0; i < ce_engine_n_running(ce); i++) {
		const struct ce_module_desc *m = ce_engine_running(ce, i);

		for (j = 0; j < ce_engine_n_modules() && ce_engine_module(j) != m; j++)
			;
		if (j == ce_engine_n_modules())
			module_line(ce, m, out);
	}
	return 0;
}

/* conf debug: show the default level; [DOMAIN] LEVEL: set it. */
static int cmd_debug(struct ce_engine *ce, int argc, char **argv, GString *out, void *arg)
{
	const char *domain = argc == 2 ? argv[0] : NULL;
	enum ce_log_level level;

	if (argc > 2)
		return -EINVAL;
	if (!argc) {
		g_string_append_printf(out, "default debug level: %s\r\n",
		        ce_log_level_name(ce_log_get_level(NULL)));
		return 0;
	}
	if (ce_log_parse_level(argv[argc - 1], &level) < 0) {
		g_string_append_printf(out, "unknown level '%s'\r\n", argv[argc - 1]);
		return -EINVAL;
	}
	ce_log_set_level(domain, level);
	if (domain)
		g_string_append_printf(
		        out, "debug level of %s: %s\r\n", domain, ce_log_level_name(level));
	else
		g_string_append_printf(
		        out, "default debug level: %s\r\n", ce_log_level_name(level));
	return 0;
}

static void complete_debug(
        struct ce_engine *ce, const char *partline, const char *partword, GString *out, void *arg)
{
	static const char *const levels[] = {"error", "warn", "note", "info", "debug"};
	int argc;
	char **argv = ce_console_split(partline, &argc);
	unsigned i;

	if (argc == 2 || argc == 3) {
		for (i = 0; i < G_N_ELEMENTS(levels); i++)
			ce_console_complete_add(out, partword, levels[i]);
	}
	g_strfreev(argv);
}

static const struct {
	const char *name, *usage, *help;
	ce_console_cmd_h *cmd;
	ce_console_complete_h *complete;
} commands[] = {
        {"help", "[COMMAND]", "Show the conf commands, or the help of one", cmd_help,
                complete_help},
        {"status", NULL, "Show the engine's state: uptime, modules, bus counters, status line",
                cmd_status, NULL},
        {"modules", NULL, "List the built-in modules and whether they run", cmd_modules, NULL},
        {"debug", "[DOMAIN] LEVEL",
                "Show or set the log level (error, warn, note, info, debug), for all or one domain",
                cmd_debug, complete_debug},
};

/* The keys of [console]. */
static const struct ce_config_key console_keys[] = {
        CE_KEY_INT("priority", 0, G_MAXINT),
        CE_KEY_END,
};

static void console_exit(struct ce_engine *ce, void *state);

static int console_init(struct ce_engine *ce, void **state)
{
	static const char *const names[] = {"engine.status", "engine.command", "engine.help"};
	static ce_msg_h *const handlers[] = {on_status, on_command, on_help};
	unsigned prio = (unsigned)ce_config_get_int(
	        ce_engine_config(ce), "console", "priority", DEFAULT_PRIORITY, 0, G_MAXINT);
	struct con *con = g_new0(struct con, 1);
	int err = 0;
	unsigned i;

	for (con->n_cmds = 0; con->n_cmds < G_N_ELEMENTS(commands) && !err; con->n_cmds += !err) {
		i = con->n_cmds;
		err = ce_console_add(ce, commands[i].name, commands[i].usage, commands[i].help,
		        commands[i].cmd, commands[i].complete, NULL);
	}
	for (i = 0; i < G_N_ELEMENTS(names) && err >= 0; i++)
		err = con->ids[i] = ce_bus_install(
		        ce_engine_bus(ce), names[i], prio, NULL, NULL, 0, handlers[i], ce, NULL);
	if (err < 0)
		console_exit(ce, g_steal_pointer(&con));
	*state = con;
	return err < 0 ? err : 0;
}

static void console_exit(struct ce_engine *ce, void *state)
{
	struct con *con = state;
	unsigned i;

	for (i = 0; i < G_N_ELEMENTS(con->ids); i++) {
		if (con->ids[i] > 0)
			ce_bus_uninstall(ce_engine_bus(ce), (unsigned)con->ids[i]);
		con->ids[i] = 0;
	}
	for (i = 0; i < con->n_cmds; i++)
		ce_console_remove(ce, commands[i].name);
	g_free(con);
}

CE_MODULE_DEFINE(console, .init = console_init, .exit = console_exit, .keys = console_keys);
