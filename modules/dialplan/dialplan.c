/* dialplan.c - the dialplan module: answers call.route from a regexroute-style dialplan file */
#define G_LOG_DOMAIN "dialplan"

#include <errno.h>
#include <string.h>

#include <gio/gio.h>

#include "bus.h"
#include "conf-engine/config.h"
#include "console.h"
#include "engine.h"
#include "message.h"
#include "module.h"
#include "plan.h"

#ifndef CE_SYSCONFDIR
#define CE_SYSCONFDIR "/etc/conf-engine"
#endif

/*
 * conf-engine.conf:
 *   [dialplan]
 *   file=dialplan.conf   ; relative to conf-engine.conf's directory
 *   priority=90          ; below Yate's regexroute (100): we answer first
 *
 * A routed call.route is answered "true" with the target as return value
 * (transcript 1: called=800 -> conf/room1); an unrouted one goes on to the
 * next handler, in the end to Yate's own regexroute.  The file is read at
 * start (an error stops the engine) and again on "conf reload dialplan",
 * in a worker thread; a bad file then keeps the old dialplan running.
 */

#define DEFAULT_PRIORITY 90

/* The module's state, which the engine keeps. */
struct dialplan {
	struct ce_engine *ce;
	struct ce_plan *plan;
	char *file;
	unsigned prio;
	int handler; /* bus handler id, 0: none */
	bool console, status;
	GCancellable *reload; /* a reload in progress */
	guint64 routed, unrouted;
	bool rtp_forward; /* [dialplan] rtp_forward: let the engine's targets take SIP RTP */
};

/*
 * Is @target one the engine answers itself: its rooms, the lobby, the
 * schedule's numbers?  Those take a SIP phone's RTP directly when the
 * route allows it (docs/bypass.md).
 */
static bool engine_target(const char *target)
{
	static const char *const prefixes[] = {"conf/", "lobby/", "schedule/"};

	if (!target)
		return false;
	if (!strcmp(target, "lobby"))
		return true;
	for (unsigned i = 0; i < G_N_ELEMENTS(prefixes); i++)
		if (g_str_has_prefix(target, prefixes[i]))
			return true;
	return false;
}

static enum ce_msg_result on_route(struct ce_dispatch *d, struct ce_msg *msg, void *arg)
{
	struct dialplan *dp = arg;

	(void)d;
	if (!dp->plan)
		return CE_MSG_CONTINUE;
	if (ce_plan_route(dp->plan, msg)) {
		dp->routed++;
		/*
		 * ysipchan forwards RTP only when the route says yes
		 * (callRouted); a rule's own rtp_forward= is left alone.
		 */
		if (dp->rtp_forward && engine_target(msg->retval) &&
		        !g_strcmp0(ce_msg_get(msg, "rtp_forward"), "possible"))
			ce_msg_set(msg, "rtp_forward", "yes");
		return CE_MSG_HANDLED;
	}
	dp->unrouted++;
	return CE_MSG_CONTINUE;
}

/* Read and compile @file; blocking (start-up or a worker thread). */
static int load_plan(const char *file, struct ce_plan **pp, GError **err)
{
	struct ce_config *cfg = NULL;
	int r;

	r = ce_config_load(&cfg, file, err);
	if (r == 0)
		r = ce_plan_new(pp, cfg, err);
	ce_config_free(cfg);
	return r;
}

/* [dialplan] file, relative to the main configuration's directory. */
static char *plan_file(const struct ce_config *cfg, bool *explicit)
{
	const char *f = ce_config_get(cfg, "dialplan", "file", "");
	const char *main_path = ce_config_path(cfg);
	char *dir, *path;

	*explicit = *f != '\0';
	if (!*explicit)
		f = "dialplan.conf";
	if (g_path_is_absolute(f))
		return g_strdup(f);
	dir = main_path ? g_path_get_dirname(main_path) : g_strdup(CE_SYSCONFDIR);
	path = g_build_filename(dir, f, NULL);
	g_free(dir);
	return path;
}

static void set_plan(struct dialplan *dp, struct ce_plan *plan)
{
	ce_plan_free(dp->plan);
	dp->plan = plan;
	if (plan && !dp->handler) {
		dp->handler = ce_bus_install(ce_engine_bus(dp->ce), "call.route", dp->prio, NULL,
		        NULL, 0, on_route, dp, NULL);
		if (dp->handler < 0) {
			g_critical("cannot install call.route: %s", g_strerror(-dp->handler));
			dp->handler = 0;
		}
	}
	if (plan)
		g_message("dialplan %s: %u contexts, %u rules, call.route at priority %u", dp->file,
		        ce_plan_n_contexts(plan), ce_plan_n_rules(plan), dp->prio);
}

static void reload_thread(GTask *task, gpointer src, gpointer data, GCancellable *cancel)
{
	struct ce_plan *plan = NULL;
	GError *err = NULL;

	(void)src;
	(void)cancel;
	if (load_plan(data, &plan, &err) < 0)
		g_task_return_error(task, err);
	else
		g_task_return_pointer(task, plan, (GDestroyNotify)ce_plan_free);
}

/* @data: the module's state, not to be touched once the reload is cancelled. */
static void reload_done(GObject *src, GAsyncResult *res, gpointer data)
{
	GCancellable *cancel = g_task_get_cancellable(G_TASK(res));
	struct dialplan *dp = data;
	GError *err = NULL;
	struct ce_plan *plan;

	(void)src;
	plan = g_task_propagate_pointer(G_TASK(res), &err);
	if (g_cancellable_is_cancelled(cancel)) { /* the module stopped meanwhile */
		ce_plan_free(plan);
		g_clear_error(&err);
		return;
	}
	g_clear_object(&dp->reload);
	if (!plan) {
		g_warning("dialplan reload failed, the previous dialplan stays: %s", err->message);
		g_error_free(err);
		return;
	}
	set_plan(dp, plan);
}

static int cmd_reload(struct ce_engine *ce, int argc, char **argv, GString *out, void *arg)
{
	struct dialplan *dp = arg;
	GTask *task;

	(void)ce;
	if (argc != 1 || strcmp(argv[0], "dialplan"))
		return -EINVAL;
	if (dp->reload) {
		g_string_append(out, "dialplan reload already in progress\r\n");
		return 0;
	}
	dp->reload = g_cancellable_new();
	task = g_task_new(NULL, dp->reload, reload_done, dp);
	g_task_set_task_data(task, g_strdup(dp->file), g_free);
	g_task_run_in_thread(task, reload_thread);
	g_object_unref(task);
	g_string_append_printf(
	        out, "reloading dialplan %s (the result goes to the log)\r\n", dp->file);
	return 0;
}

static void complete_reload(
        struct ce_engine *ce, const char *partline, const char *partword, GString *out, void *arg)
{
	(void)ce;
	(void)arg;
	if (partline && !strcmp(partline, "reload"))
		ce_console_complete_add(out, partword, "dialplan");
}

static void status(struct ce_engine *ce, GString *out, void *arg)
{
	const struct dialplan *dp = arg;

	(void)ce;
	g_string_append_printf(out,
	        "dialplan_rules=%u,routed=%" G_GUINT64_FORMAT ",unrouted=%" G_GUINT64_FORMAT,
	        ce_plan_n_rules(dp->plan), dp->routed, dp->unrouted);
	if (dp->reload)
		g_string_append(out, ",reloading=yes");
}

static void dialplan_exit(struct ce_engine *ce, void *state);

static int dialplan_init(struct ce_engine *ce, void **state)
{
	const struct ce_config *cfg = ce_engine_config(ce);
	struct dialplan *dp = g_new0(struct dialplan, 1);
	struct ce_plan *plan = NULL;
	GError *err = NULL;
	bool explicit;
	int r = 0;

	dp->ce = ce;
	dp->prio = (unsigned)ce_config_get_int(
	        cfg, "dialplan", "priority", DEFAULT_PRIORITY, 0, G_MAXINT);
	dp->file = plan_file(cfg, &explicit);
	dp->rtp_forward = ce_config_get_bool(cfg, "dialplan", "rtp_forward", true);
	if (!dp->prio) {
		g_message("dialplan disabled ([dialplan] priority=0)");
		goto out;
	}
	if (!explicit && !g_file_test(dp->file, G_FILE_TEST_EXISTS)) {
		g_message("no %s: dialplan idle until \"conf reload dialplan\"", dp->file);
	} else if ((r = load_plan(dp->file, &plan, &err)) < 0) {
		g_critical("cannot load the dialplan: %s", err->message);
		g_error_free(err);
		goto out;
	}
	set_plan(dp, plan);
	r = ce_console_add(ce, "reload", "dialplan", "Re-read the dialplan file", cmd_reload,
	        complete_reload, dp);
	dp->console = r == 0;
	if (r == 0)
		r = ce_console_add_status(ce, "dialplan", status, dp);
	dp->status = r == 0;
	if (r < 0)
		g_critical("cannot add the console command or status: %s", g_strerror(-r));
out:
	if (r < 0)
		dialplan_exit(ce, g_steal_pointer(&dp));
	*state = dp;
	return r;
}

static void dialplan_exit(struct ce_engine *ce, void *state)
{
	struct dialplan *dp = state;

	if (dp->handler > 0)
		ce_bus_uninstall(ce_engine_bus(ce), (unsigned)dp->handler);
	if (dp->console)
		ce_console_remove(ce, "reload");
	if (dp->status)
		ce_console_remove_status(ce, "dialplan");
	if (dp->reload) {
		g_cancellable_cancel(dp->reload);
		g_object_unref(dp->reload);
	}
	ce_plan_free(dp->plan);
	g_free(dp->file);
	g_free(dp);
}

/* --check-config: the dialplan file parses, as dialplan_init() would load it. */
static int dialplan_check(const struct ce_config *cfg, GError **err)
{
	struct ce_plan *plan = NULL;
	bool explicit;
	char *file;
	int r = 0;

	if (!ce_config_get_int(cfg, "dialplan", "priority", DEFAULT_PRIORITY, 0, G_MAXINT))
		return 0;
	file = plan_file(cfg, &explicit);
	if (explicit || g_file_test(file, G_FILE_TEST_EXISTS))
		r = load_plan(file, &plan, err);
	ce_plan_free(plan);
	g_free(file);
	return r;
}

/* The keys of [dialplan]; the dialplan file's own sections are its contexts. */
static const struct ce_config_key dialplan_keys[] = {
        CE_KEY_STRING("file"),
        CE_KEY_INT("priority", 0, G_MAXINT),
        CE_KEY_BOOL("rtp_forward"),
        CE_KEY_END,
};

CE_MODULE_DEFINE(dialplan, .init = dialplan_init, .exit = dialplan_exit, .keys = dialplan_keys,
        .check = dialplan_check);
