/* schedule.c - the schedule module: [schedule] settings, timers, watchers, console status */
#define G_LOG_DOMAIN "schedule"

#include <errno.h>
#include <string.h>

#include "bus.h"
#include "conf-engine/config.h"
#include "console.h"
#include "dial.h"
#include "engine.h"
#include "message.h"
#include "module.h"
#include "modules/schedule/schedule-priv.h"
#include "modules/schedule/schedule.h"
#include "modules/store/store.h"

#define SECTION "schedule"

/** ce_sched_ref() - a reference to what finds @s while the module runs (see struct sched_ref) */
struct sched_ref *ce_sched_ref(struct sched *s)
{
	g_atomic_int_inc(&s->self->refs);
	return s->self;
}

/** ce_sched_ref_drop() - drop a reference from ce_sched_ref() (a GDestroyNotify) */
void ce_sched_ref_drop(gpointer ref)
{
	struct sched_ref *r = ref;

	if (g_atomic_int_dec_and_test(&r->refs))
		g_free(r);
}

static void sent(struct ce_msg *msg, bool handled, void *arg)
{
	(void)arg;
	g_debug("%s %s: %s", msg->name,
	        ce_msg_get_def(msg, "id", ce_msg_get_def(msg, "targetid", "")),
	        handled ? "done" : "not handled");
}

/** ce_sched_send() - send @msg (reference taken) locally first, then to Yate; answer ignored */
void ce_sched_send(struct sched *s, struct ce_msg *msg)
{
	ce_bus_send(s->bus, msg, 0, sent, NULL);
	ce_msg_unref(msg);
}

/* The keys of [schedule], with the ranges load_settings() clamps to. */
static const struct ce_config_key schedule_keys[] = {
        CE_KEY_INT("priority", 0, 1000),
        CE_KEY_INT("tick", 10, 60000),
        CE_KEY_INT("poll_interval", 1, 86400),
        CE_KEY_INT("admit_timeout", 100, 60000),
        CE_KEY_INT("maxusers", 1, 100000),
        CE_KEY_BOOL("guard_rooms"),
        CE_KEY_BOOL("dialout"),
        CE_KEY_INT("dial_retries", 0, 100),
        CE_KEY_INT("dial_retry_delay", 1, 86400),
        CE_KEY_INT("dial_timeout", 100, 600000),
        CE_KEY_INT("dial_ring_timeout", 1000, 3600000),
        CE_KEY_STRING("notify_prefix"),
        CE_KEY_STRING("end_reason"),
        CE_KEY_STRING("pin_param"),
        CE_KEY_BOOL("lobby"),
        CE_KEY_INT("pin_fail_caller", 1, 1000),
        CE_KEY_INT("pin_window_caller", 1, 86400),
        CE_KEY_INT("pin_fail_conference", 1, 10000),
        CE_KEY_INT("pin_window_conference", 1, 86400),
        CE_KEY_INT("pin_fail_total", 1, 100000),
        CE_KEY_INT("pin_window_total", 1, 86400),
        CE_KEY_INT("pin_lockout", 1, 86400),
        CE_KEY_INT("pin_guard_callers", 1, 1000000),
        CE_KEY_INT("extend_max", 0, 1440),
        CE_KEY_END,
};

static unsigned get_uint(const struct ce_config *cfg, const char *key, unsigned def, unsigned max)
{
	return (unsigned)ce_config_get_int(cfg, SECTION, key, def, 1, max);
}

/* The PIN guard's limits (docs/schedule.md says why these defaults). */
static void load_guard(struct guard_limits *g, const struct ce_config *cfg)
{
	g->caller.limit = get_uint(cfg, "pin_fail_caller", 5, 1000);
	g->caller.window_s = get_uint(cfg, "pin_window_caller", 600, 86400);
	g->conference.limit = get_uint(cfg, "pin_fail_conference", 20, 10000);
	g->conference.window_s = get_uint(cfg, "pin_window_conference", 600, 86400);
	g->total.limit = get_uint(cfg, "pin_fail_total", 100, 100000);
	g->total.window_s = get_uint(cfg, "pin_window_total", 60, 86400);
	g->lockout_s = get_uint(cfg, "pin_lockout", 900, 86400);
	g->max_callers = get_uint(cfg, "pin_guard_callers", 10000, 1000000);
}

static void load_settings(struct sched_settings *set, const struct ce_config *cfg)
{
	set->priority = (unsigned)ce_config_get_int(cfg, SECTION, "priority", 45, 0, 1000);
	set->tick_ms = (unsigned)ce_config_get_int(cfg, SECTION, "tick", 1000, 10, 60000);
	set->poll_s = (unsigned)ce_config_get_int(cfg, SECTION, "poll_interval", 30, 1, 86400);
	set->admit_timeout_ms =
	        (unsigned)ce_config_get_int(cfg, SECTION, "admit_timeout", 5000, 100, 60000);
	set->maxusers = (int)ce_config_get_int(cfg, SECTION, "maxusers", 1000, 1, 100000);
	set->guard_rooms = ce_config_get_bool(cfg, SECTION, "guard_rooms", true);
	set->dialout = ce_config_get_bool(cfg, SECTION, "dialout", true);
	set->dial_retries = (unsigned)ce_config_get_int(cfg, SECTION, "dial_retries", 2, 0, 100);
	set->dial_retry_s =
	        (unsigned)ce_config_get_int(cfg, SECTION, "dial_retry_delay", 60, 1, 86400);
	set->dial_timeout_ms =
	        (unsigned)ce_config_get_int(cfg, SECTION, "dial_timeout", 10000, 100, 600000);
	set->dial_ring_ms = (unsigned)ce_config_get_int(
	        cfg, SECTION, "dial_ring_timeout", 45000, 1000, 3600000);
	set->notify_prefix =
	        g_strdup(ce_config_get(cfg, SECTION, "notify_prefix", "conf-monitor/"));
	set->end_reason = g_strdup(ce_config_get(cfg, SECTION, "end_reason", "schedule-ended"));
	set->pin_param = g_strdup(ce_config_get(cfg, SECTION, "pin_param", "pin"));
	set->lobby = ce_config_get_bool(cfg, SECTION, "lobby", true);
	load_guard(&set->guard, cfg);
	set->extend_max_min = (unsigned)ce_config_get_int(cfg, SECTION, "extend_max", 60, 0, 1440);
}

static gboolean on_tick(gpointer data)
{
	struct sched *s = data;

	ce_sched_run(s, ce_engine_now(s->ce));
	return G_SOURCE_CONTINUE;
}

static void on_watch(struct ce_msg *msg, bool handled, void *arg)
{
	struct sched *s = arg;
	const char *id = ce_msg_get(msg, "id");
	gint64 *cid;

	(void)handled;
	if (!id)
		return;
	cid = g_hash_table_lookup(s->callers, id);
	if (cid) {
		struct sconf *sc = ce_sched_find(s, *cid);
		if (sc)
			g_hash_table_remove(sc->callers, id);
		g_hash_table_remove(s->callers, id);
	}
}

static void status(struct ce_engine *ce, GString *out, void *arg)
{
	struct sched *s = arg;
	struct guard_stats g = {0};

	(void)ce;
	if (s->guard)
		ce_guard_stats(s->guard, &g);
	g_string_append_printf(out,
	        "schedule_active=%u,schedule_admitted=%" G_GUINT64_FORMAT
	        ",schedule_refused=%" G_GUINT64_FORMAT ",schedule_dialled=%" G_GUINT64_FORMAT
	        ",schedule_dial_failed=%" G_GUINT64_FORMAT ",schedule_ended=%" G_GUINT64_FORMAT
	        ",schedule_lobby=%" G_GUINT64_FORMAT ",schedule_pin_failures=%" G_GUINT64_FORMAT
	        ",schedule_pin_lockouts=%" G_GUINT64_FORMAT
	        ",schedule_pin_locked=%" G_GUINT64_FORMAT ",schedule_pin_callers=%u",
	        g_hash_table_size(s->confs), s->admitted, s->refused, s->dialled, s->dial_failed,
	        s->ended, s->lobbied, g.failures, g.lockouts, g.refusals, g.callers);
}

static void show_one(GString *out, const struct sconf *sc, gint64 now)
{
	const struct ce_conference *c = sc->c;
	GDateTime *a = g_date_time_new_from_unix_utc(c->starts_at / G_USEC_PER_SEC);
	GDateTime *b = g_date_time_new_from_unix_utc(c->ends_at / G_USEC_PER_SEC);
	char *sa = a ? g_date_time_format(a, "%F %T") : g_strdup("?");
	char *sb = b ? g_date_time_format(b, "%T") : g_strdup("?");

	g_string_append_printf(out,
	        "%" G_GINT64_FORMAT " %s %s room=%s %s-%s UTC callers=%u%s%s\r\n", c->id,
	        c->access_number ? c->access_number : "-",
	        sc->ended            ? "ended"
	        : now < c->starts_at ? "waiting"
	                             : "running",
	        c->room, sa, sb, g_hash_table_size(sc->callers), sc->alerted ? " alerted" : "",
	        c->cancelled ? " cancelled" : "");
	g_free(sa);
	g_free(sb);
	if (a)
		g_date_time_unref(a);
	if (b)
		g_date_time_unref(b);
}

/* "conf schedule": the conferences being tracked. */
static int cmd_schedule(struct ce_engine *ce, int argc, char **argv, GString *out, void *arg)
{
	struct sched *s = arg;
	GHashTableIter it;
	gpointer v;

	(void)ce;
	(void)argc;
	(void)argv;
	g_string_append_printf(
	        out, "%u scheduled conferences tracked\r\n", g_hash_table_size(s->confs));
	g_hash_table_iter_init(&it, s->confs);
	while (g_hash_table_iter_next(&it, NULL, &v))
		show_one(out, v, ce_engine_now(s->ce));
	return 0;
}

static int add_watch(struct sched *s, const char *name)
{
	int id = ce_bus_watch(s->bus, name, 0, on_watch, s, NULL);

	if (id > 0) {
		unsigned u = (unsigned)id;
		g_array_append_val(s->watches, u);
	}
	return id < 0 ? id : 0;
}

static void sched_free(struct sched *s)
{
	ce_sched_extend_exit(s);
	for (guint i = 0; s->watches && i < s->watches->len; i++)
		ce_bus_unwatch(s->bus, g_array_index(s->watches, unsigned, i));
	if (s->tick_id)
		g_source_remove(s->tick_id);
	ce_sched_admit_exit(s);
	if (s->confs)
		g_hash_table_destroy(s->confs);
	if (s->callers)
		g_hash_table_destroy(s->callers);
	g_clear_pointer(&s->dialer, ce_dialer_free); /* first: no dial-out report after this */
	if (s->dials)
		g_ptr_array_unref(s->dials);
	if (s->hooks)
		g_array_free(s->hooks, TRUE);
	if (s->watches)
		g_array_free(s->watches, TRUE);
	g_free(s->set.notify_prefix);
	g_free(s->set.end_reason);
	g_free(s->set.pin_param);
	s->self->s = NULL;
	ce_sched_ref_drop(s->self);
	g_free(s);
}

static int sched_new(struct sched **sp, struct ce_engine *ce)
{
	static const char *const watched[] = {"chan.hangup"};
	struct sched *s = g_new0(struct sched, 1);
	int r = 0;

	s->ce = ce;
	s->self = g_new0(struct sched_ref, 1);
	s->self->refs = 1;
	s->self->s = s;
	s->bus = ce_engine_bus(ce);
	load_settings(&s->set, ce_engine_config(ce));
	s->confs = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, ce_sched_sconf_free);
	s->callers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	s->dials = g_ptr_array_new_with_free_func(ce_sched_dialout_free);
	s->hooks = g_array_new(FALSE, FALSE, sizeof(unsigned));
	s->watches = g_array_new(FALSE, FALSE, sizeof(unsigned));
	s->extends = g_ptr_array_new();
	r = ce_dialer_new(&s->dialer, s->bus);
	for (unsigned i = 0; r == 0 && i < G_N_ELEMENTS(watched); i++)
		r = add_watch(s, watched[i]);
	if (r == 0)
		r = ce_sched_admit_init(s);
	if (r < 0)
		goto out;
	s->tick_id = g_timeout_add(s->set.tick_ms, on_tick, s);
	*sp = s;
out:
	if (r < 0)
		sched_free(s);
	return r;
}

static void schedule_exit(struct ce_engine *ce, void *state);

/* Provides itself as the service "schedule" (schedule.h). */
static int schedule_init(struct ce_engine *ce, void **state)
{
	struct sched *s = NULL;
	int r;

	if (!ce_store_of(ce)) {
		g_message("no store: schedule/ targets are refused, no timers, no dial-out");
	}
	r = sched_new(&s, ce);
	if (r < 0) {
		g_critical("cannot start the schedule module: %s", g_strerror(-r));
		return r;
	}
	r = ce_console_add_status(ce, SECTION, status, s);
	if (r == 0) {
		r = ce_console_add(ce, SECTION, SECTION,
		        "List the scheduled conferences being tracked (waiting, running, ended)",
		        cmd_schedule, NULL, s);
		if (r < 0)
			ce_console_remove_status(ce, SECTION);
	}
	if (r < 0) {
		sched_free(s);
		return r;
	}
	if ((r = ce_engine_provide(ce, SECTION, s)) < 0) {
		schedule_exit(ce, s);
		return r;
	}
	ce_sched_poll(s);
	*state = s;
	return 0;
}

static void schedule_exit(struct ce_engine *ce, void *state)
{
	ce_console_remove(ce, SECTION);
	ce_console_remove_status(ce, SECTION);
	sched_free(state);
}

/** ce_schedule_tick() - evaluate timers, dial-outs and the store poll now (tests' fake clock) */
void ce_schedule_tick(struct ce_engine *ce)
{
	struct sched *s = ce_engine_service(ce, SECTION);

	if (s)
		ce_sched_run(s, ce_engine_now(ce));
}

/** ce_schedule_poll() - read the conferences around now from the store at once */
void ce_schedule_poll(struct ce_engine *ce)
{
	struct sched *s = ce_engine_service(ce, SECTION);

	if (s)
		ce_sched_poll(s);
}

/** ce_schedule_n_active() - conferences being tracked (near, running or just ended) */
unsigned ce_schedule_n_active(struct ce_engine *ce)
{
	struct sched *s = ce_engine_service(ce, SECTION);

	return s ? g_hash_table_size(s->confs) : 0;
}

/*
 * The store holds the conferences; the conference module, when it runs,
 * plays the schedule's prompts (a room Yate runs only loses them).
 */
CE_MODULE_DEFINE(schedule, .init = schedule_init, .exit = schedule_exit, .keys = schedule_keys,
        .requires = CE_REQUIRES(CE_NEEDS("store"), CE_WANTS("conference")));
