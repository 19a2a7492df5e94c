/* monitor.c - the conf-monitor module: room events from any room to events, CDRs, log, socket,
 * store */
#define G_LOG_DOMAIN "monitor"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "conf-engine/config.h"
#include "console.h"
#include "engine.h"
#include "events.h"
#include "message.h"
#include "module.h"
#include "modules/store/store.h"
#include "monitor.h"
#include "yate.h"

/*
 * How room events reach us (docs/monitor.md explains the choice):
 *
 * - From the engine's own rooms: as the typed struct ce_room_event, through
 *   the bus's room hook (ce_bus_room_subscribe), at the moment the room
 *   tells it, before the conference module sends Yate its chan.notify.
 * - From Yate's rooms (its conference module, scripts): through a Yate
 *   *watch* of chan.notify, flagged CE_BUS_YATE_ONLY so that the engine's
 *   own chan.notify never reaches it.  We only observe, so we neither slow
 *   down nor answer any of Yate's chan.notify dispatches, and we see each
 *   one once, after all of Yate's handlers, whatever they did with it.  A
 *   filter cannot help: Yate filters on one exact value and the targetid
 *   differs per room.
 *
 * Every event and CDR becomes one JSON line (json.c) for the event log
 * (evlog.c) and the socket (fanout.c), a row for the store when one runs,
 * and, with [monitor] forward=, a chan.notify for Yate.
 */

#define SECTION      "monitor"
#define FORWARD_MARK "ce_monitor"

struct monitor {
	struct ce_engine *ce;
	struct ce_bus *bus;
	char **targets;
	char *forward;
	bool use_store;
	struct ce_mon_track *track;
	struct ce_mon_evlog *log;
	struct ce_mon_fanout *fan;
	struct ce_monitor *ring; /* the recent lines, for the HTTP event stream */
	GArray *watches;
	bool subscribed; /* to the bus's room events */
	int drop_handler;
	guint timer;
	gint64 timer_due;
	guint64 seq, forwarded;
	GString *line;
};

static struct ce_store *store(struct monitor *m)
{
	return m->use_store ? ce_store_of(m->ce) : NULL;
}

/* The monitor's record @ev as the store's row: the one conversion to the database's shape. */
static void store_event(struct monitor *m, const struct ce_room_event *ev)
{
	struct ce_store *st = store(m);
	const struct ce_room_who *w = &ev->who;
	char *detail = NULL;
	struct ce_event se = {
	        .kind = ev->kind,
	        .at = ev->at,
	        .room = (char *)ev->room,
	        .conference_id = w->conference_id,
	        .leg = (char *)ev->leg,
	        .participant_id = w->participant_id,
	        .role = (char *)w->role,
	        .caller = (char *)(w->caller ? w->caller : ev->peer),
	        .caller_name = (char *)w->callername,
	        .called = (char *)w->called,
	        .direction = (char *)w->direction,
	        .seq = (gint64)m->seq, /* the stream id of its line */
	};

	if (!st)
		return;
	if (ev->energy >= 0)
		detail = g_strdup_printf("energy=%d", ev->energy);
	else if (ev->kind == CE_EVENT_TALK_STOP)
		detail = g_strdup_printf("talk_ms=%" G_GINT64_FORMAT, ev->duration_ms);
	se.detail = detail ? detail : (char *)ce_mon_detail(ev);
	ce_store_add_event(st, &se);
	g_free(detail);
}

static void store_cdr(struct monitor *m, const struct ce_mon_cdr *c)
{
	struct ce_store *st = store(m);
	struct ce_cdr sc = {
	        .room = (char *)c->room,
	        .conference_id = c->conference_id,
	        .leg = (char *)c->leg,
	        .participant_id = c->participant_id,
	        .role = (char *)c->role,
	        .caller = (char *)(c->caller ? c->caller : c->peer),
	        .caller_name = (char *)c->caller_name,
	        .called = (char *)c->called,
	        .direction = (char *)c->direction,
	        .joined_at = c->joined_at,
	        .left_at = c->left_at,
	        .talk_ms = c->talk_ms,
	        .reason = (char *)c->reason,
	        .billid = (char *)c->billid,
	        .seq = (gint64)m->seq, /* the stream id of its line */
	};

	if (st)
		ce_store_add_cdr(st, &sc);
}

static void add(struct ce_msg *f, const char *name, const char *v)
{
	if (v)
		ce_msg_add(f, name, v);
}

static void add_int(struct ce_msg *f, const char *name, gint64 v)
{
	if (v >= 0)
		ce_msg_setf(f, name, "%" G_GINT64_FORMAT, v);
}

/* Who the participant is, with the parameter names the schedule module gives calls. */
static void add_who(struct ce_msg *f, gint64 conference_id, gint64 participant_id, const char *name,
        const char *role, const char *direction)
{
	if (conference_id > 0)
		add_int(f, "conference_id", conference_id);
	if (participant_id > 0)
		add_int(f, "participant_id", participant_id);
	add(f, "participant_name", name);
	add(f, "participant_role", role);
	add(f, "participant_direction", direction);
}

static struct ce_msg *forward_new(struct monitor *m, const char *room, const char *event, gint64 at)
{
	struct ce_msg *f = NULL;

	if (ce_msg_new(&f, "chan.notify"))
		return NULL;
	ce_msg_setf(f, "targetid", "%s%s", m->forward, room ? room : "");
	ce_msg_add(f, "event", event);
	add(f, "room", room);
	ce_msg_setf(f, "time", "%" G_GINT64_FORMAT ".%06d", at / G_USEC_PER_SEC,
	        (int)(at % G_USEC_PER_SEC));
	ce_msg_add(f, "node", ce_engine_node(m->ce));
	ce_msg_add(f, FORWARD_MARK, "true");
	return f;
}

static void forward_send(struct monitor *m, struct ce_msg *f)
{
	m->forwarded++;
	ce_bus_send(m->bus, f, 0, NULL, NULL);
	ce_msg_unref(f);
}

static void forward_event(struct monitor *m, const struct ce_room_event *ev)
{
	struct ce_msg *f = forward_new(m, ev->room, ce_mon_kind_name(ev->kind), ev->at);
	const struct ce_room_who *w = &ev->who;

	if (!f)
		return;
	ce_msg_add(f, "source", ce_mon_source_name(ev->source));
	add(f, "id", ev->leg);
	add(f, "peerid", ev->peer);
	add(f, "caller", w->caller);
	add(f, "called", w->called);
	add(f, "billid", w->billid);
	add_who(f, w->conference_id, w->participant_id, w->callername, w->role, w->direction);
	add_int(f, "users", ev->users);
	add_int(f, "maxusers", ev->maxusers);
	add_int(f, "energy", ev->energy);
	add_int(f, "duration_ms", ev->duration_ms);
	add(f, ev->kind == CE_EVENT_LEAVE ? "reason" : "detail", ce_mon_detail(ev));
	forward_send(m, f);
}

static void forward_cdr(struct monitor *m, const struct ce_mon_cdr *c)
{
	struct ce_msg *f = forward_new(m, c->room, "cdr", c->left_at);

	if (!f)
		return;
	ce_msg_add(f, "source", ce_mon_source_name(c->source));
	add(f, "id", c->leg);
	add(f, "peerid", c->peer);
	add(f, "caller", c->caller);
	add(f, "called", c->called);
	add(f, "billid", c->billid);
	add_who(f, c->conference_id, c->participant_id, c->caller_name, c->role, c->direction);
	add_int(f, "joined_us", c->joined_at);
	add_int(f, "left_us", c->left_at);
	add_int(f, "duration_ms", (c->left_at - c->joined_at) / 1000);
	add_int(f, "talk_ms", c->talk_ms);
	add(f, "reason", c->reason);
	forward_send(m, f);
}

/* One JSON line to the log, the subscribers, the ring and the store (without its newline). */
static void publish(struct monitor *m, const char *room, gint64 conference_id)
{
	const struct ce_monitor_line line = {
	        m->seq, room, conference_id, m->line->str, m->line->len - 1};
	struct ce_store *st = store(m);

	if (m->log)
		ce_mon_evlog_push(m->log, m->line->str, m->line->len);
	if (m->fan)
		ce_mon_fanout_send(m->fan, m->line->str, m->line->len);
	ce_monitor_ring_push(m->ring, &line);
	if (st) {
		g_string_truncate(m->line, m->line->len - 1);
		ce_store_add_line(st, &(struct ce_stream_line){.seq = (gint64)m->seq,
		                              .run = (gint64)ce_monitor_run(m->ring),
		                              .at = ce_engine_now(m->ce),
		                              .room = (char *)room,
		                              .conference_id = conference_id,
		                              .line = m->line->str});
	}
}

static void on_event(const struct ce_room_event *ev, void *arg)
{
	struct monitor *m = arg;

	g_debug("%s %s room=%s leg=%s", ce_mon_source_name(ev->source), ce_mon_kind_name(ev->kind),
	        ev->room, ev->leg ? ev->leg : "-");
	g_string_truncate(m->line, 0);
	ce_mon_json_event(m->line, ev, ce_engine_node(m->ce), ++m->seq);
	publish(m, ev->room, ev->who.conference_id);
	store_event(m, ev);
	if (m->forward)
		forward_event(m, ev);
}

static void on_cdr(const struct ce_mon_cdr *c, void *arg)
{
	struct monitor *m = arg;

	g_string_truncate(m->line, 0);
	ce_mon_json_cdr(m->line, c, ce_engine_node(m->ce), ++m->seq);
	publish(m, c->room, c->conference_id);
	store_cdr(m, c);
	if (m->forward)
		forward_cdr(m, c);
}

/* Another module's line (ce_monitor_post), numbered with the events. */
static void on_post(const char *type, const char *room, const char *members, void *arg)
{
	struct monitor *m = arg;

	g_string_truncate(m->line, 0);
	ce_mon_json_other(m->line, type, ce_engine_node(m->ce), ++m->seq, ce_engine_now(m->ce),
	        members ? members : "");
	publish(m, room, 0);
}

static const struct ce_mon_track_ops track_ops = {on_event, on_cdr};

static void arm_timer(struct monitor *m);

static gboolean on_timer(gpointer arg)
{
	struct monitor *m = arg;

	m->timer = 0;
	arm_timer(m);
	return G_SOURCE_REMOVE;
}

/* Write the CDRs that are due and wake up when the next one is. */
static void arm_timer(struct monitor *m)
{
	gint64 now = ce_engine_now(m->ce);
	gint64 due = ce_mon_track_expire(m->track, now);

	if (!due || (m->timer && due >= m->timer_due))
		return;
	if (m->timer)
		g_source_remove(m->timer);
	m->timer_due = due;
	m->timer = g_timeout_add((guint)MIN((due - now) / 1000 + 1, 60000), on_timer, m);
}

/* The prefix of [monitor] targets that @target starts with, or NULL when it is not for us. */
static const char *our_target(const struct monitor *m, const char *target)
{
	if (!target)
		return NULL;
	for (char **p = m->targets; *p; p++) {
		if (g_str_has_prefix(target, *p))
			return *p;
	}
	return NULL;
}

/* One room event of the engine's own rooms, if its notify target is one of ours. */
static void on_room_event(const struct ce_room_event *ev, void *arg)
{
	struct monitor *m = arg;
	const char *prefix = our_target(m, ev->target);
	struct ce_room_event named;

	if (!prefix)
		return;
	if (!ev->room || !*ev->room) {
		/* as a chan.notify without room=: the room is in the target */
		named = *ev;
		named.room = ev->target + strlen(prefix);
		ev = &named;
	}
	ce_mon_track_room(m->track, ev, CE_ROOM_SRC_ENGINE, ev->at ? ev->at : ce_engine_now(m->ce));
	arm_timer(m);
}

/*
 * The engine's own call.drop (a room's, from the schedule or the console,
 * then each leg's): seen before the rooms act on it, so the drop's reason
 * is known when "left" comes and goes into the leave event and the CDR.
 */
static enum ce_msg_result on_local_drop(struct ce_dispatch *d, struct ce_msg *msg, void *arg)
{
	struct monitor *m = arg;

	if (!msg->id || !*msg->id)
		ce_mon_track_drop(m->track, msg, ce_engine_now(m->ce));
	return CE_MSG_CONTINUE;
}

/* A chan.notify of Yate's (never the engine's own: CE_BUS_YATE_ONLY). */
static void watch_notify(struct ce_msg *msg, bool handled, void *arg)
{
	struct monitor *m = arg;
	const char *target = ce_msg_get(msg, "targetid");
	const char *prefix = ce_msg_get(msg, FORWARD_MARK) ? NULL : our_target(m, target);
	const char *room;

	if (!prefix)
		return;
	room = ce_msg_get(msg, "room");
	if (!room || !*room)
		room = target + strlen(prefix);
	ce_mon_track_notify(m->track, msg, room, CE_ROOM_SRC_YATE, ce_engine_now(m->ce));
	arm_timer(m);
}

static void watch_execute(struct ce_msg *msg, bool handled, void *arg)
{
	struct monitor *m = arg;

	if (handled)
		ce_mon_track_execute(m->track, msg, ce_engine_now(m->ce));
}

static void watch_hangup(struct ce_msg *msg, bool handled, void *arg)
{
	struct monitor *m = arg;

	ce_mon_track_hangup(m->track, msg, ce_engine_now(m->ce));
	arm_timer(m);
}

/*
 * Yate came back restarted (CE_LINK_MSG): the rooms of its own conference
 * module died with the old Yate without a word.  The engine's rooms are
 * not touched here: the conference module closes their legs, and their
 * "left" notifications reach us as usual.
 */
static void watch_link(struct ce_msg *msg, bool handled, void *arg)
{
	struct monitor *m = arg;
	unsigned n;

	(void)handled;
	if (strcmp(ce_msg_get_def(msg, "state", ""), "up") ||
	        !ce_msg_get_bool(msg, "restarted", false))
		return;
	n = ce_mon_track_end_source(
	        m->track, CE_ROOM_SRC_YATE, ce_engine_now(m->ce), "yate-restart");
	if (n)
		g_warning("Yate was restarted: %u room%s of Yate's own conference module ended "
		          "(reason yate-restart)",
		        n, n == 1 ? "" : "s");
	arm_timer(m);
}

static void hello(GString *out, void *arg)
{
	struct monitor *m = arg;

	ce_mon_json_hello(out, ce_engine_node(m->ce), ce_engine_now(m->ce));
}

static void status(struct ce_engine *ce, GString *out, void *arg)
{
	struct monitor *m = arg;
	struct ce_mon_track_stats ts;
	struct ce_mon_fanout_stats fs = {0};

	ce_mon_track_stats(m->track, &ts);
	if (m->fan)
		ce_mon_fanout_stats(m->fan, &fs);
	g_string_append_printf(out,
	        "monitor_rooms=%u,monitor_participants=%u,monitor_talking=%u,"
	        "monitor_events=%" G_GUINT64_FORMAT ",monitor_cdrs=%" G_GUINT64_FORMAT
	        ",monitor_pending_cdrs=%u,monitor_subscribers=%u,"
	        "monitor_subscribers_dropped=%" G_GUINT64_FORMAT
	        ",monitor_subscribers_refused=%" G_GUINT64_FORMAT
	        ",monitor_log_dropped=%" G_GUINT64_FORMAT ",monitor_forwarded=%" G_GUINT64_FORMAT
	        ",monitor_calls=%u,monitor_seq=%" G_GUINT64_FORMAT,
	        ts.rooms, ts.legs, ts.talking, ts.events, ts.cdrs, ts.pending_cdrs, fs.clients,
	        fs.dropped, fs.refused, m->log ? ce_mon_evlog_dropped(m->log) : 0, m->forwarded,
	        ts.calls, m->seq);
}

/* ---- configuration ---- */

/* An octal permission mode, as chmod takes it. */
static const char *check_mode(const char *v)
{
	char *end;
	unsigned long perm = strtoul(v, &end, 8);

	return *end || perm > 0777 || *v == '-' ? "expects an octal mode (0000..0777)" : NULL;
}

/* The keys of [monitor], with the ranges the readers below clamp to. */
static const struct ce_config_key monitor_keys[] = {
        CE_KEY_STRING("targets"),
        CE_KEY_STRING("event_log"),
        CE_KEY_INT("event_log_size", 4096, G_MAXINT),
        CE_KEY_INT("event_log_keep", 0, 1000),
        CE_KEY_INT("event_log_queue", 16, 1 << 24),
        CE_KEY_STRING("socket"),
        CE_KEY_CHECK("socket_mode", check_mode),
        CE_KEY_INT("socket_queue", 4096, 1 << 30),
        CE_KEY_INT("socket_clients", 1, 4096),
        CE_KEY_STRING("forward"),
        CE_KEY_BOOL("store"),
        CE_KEY_INT("cdr_delay", 0, 600000),
        CE_KEY_INT("max_rooms", 1, 1000000),
        CE_KEY_INT("max_participants", 1, 10000000),
        CE_KEY_INT("max_speakers", 1, 1024),
        CE_KEY_INT("resume_events", 0, 1000000),
        CE_KEY_END,
};

/* @key as a path (ce_config_get_path), NULL if off. */
static char *path_opt(const struct ce_config *cfg, const char *key, const char *def)
{
	return ce_config_get_path(cfg, SECTION, key, def);
}

static int open_log(struct monitor *m, const struct ce_config *cfg)
{
	const char *state = ce_config_get(cfg, "general", "state_dir", NULL);
	char *def = state && *state ? g_build_filename(state, "conf-monitor.jsonl", NULL) : NULL;
	char *path = path_opt(cfg, "event_log", def);
	int err = 0;

	if (path) {
		err = ce_mon_evlog_new(&m->log, path,
		        ce_config_get_int(cfg, SECTION, "event_log_size", 16 << 20, 4096, G_MAXINT),
		        (unsigned)ce_config_get_int(cfg, SECTION, "event_log_keep", 5, 0, 1000),
		        (unsigned)ce_config_get_int(
		                cfg, SECTION, "event_log_queue", 65536, 16, 1 << 24));
		g_info("event log: %s", path);
	} else {
		g_info("no event log ([monitor] event_log, or [general] state_dir)");
	}
	g_free(path);
	g_free(def);
	return err;
}

static int open_socket(struct monitor *m, const struct ce_config *cfg)
{
	char *path = path_opt(cfg, "socket", NULL);
	const char *mode = ce_config_get(cfg, SECTION, "socket_mode", "");
	unsigned long perm = 0660;
	GError *error = NULL;
	int err = 0;

	if (*mode && check_mode(mode))
		g_warning("[monitor] socket_mode=%s is not an octal mode, using 0660", mode);
	else if (*mode)
		perm = strtoul(mode, NULL, 8);
	if (path)
		err = ce_mon_fanout_new(&m->fan, path, (unsigned)perm,
		        ce_config_get_int(cfg, SECTION, "socket_queue", 256 << 10, 4096, 1 << 30),
		        (unsigned)ce_config_get_int(cfg, SECTION, "socket_clients", 32, 1, 4096),
		        hello, m, &error);
	if (err) {
		g_critical(
		        "[monitor] socket=%s: %s", path, error ? error->message : g_strerror(-err));
		g_clear_error(&error);
	}
	g_free(path);
	return err;
}

/* [monitor] targets, without the empty items of ", " (they would match every targetid). */
static char **read_targets(const struct ce_config *cfg)
{
	char **targets =
	        g_strsplit_set(ce_config_get(cfg, SECTION, "targets", "conf-monitor/"), ", ", -1);

	for (char **p = targets; *p; p++) {
		if (!**p) {
			g_free(*p);
			memmove(p, p + 1, g_strv_length(p + 1) * sizeof(*p) + sizeof(*p));
			p--;
		}
	}
	return targets;
}

/* A forward target that the monitor itself listens to would send every event round. */
static int check_forward(const struct ce_config *cfg, char **targets, GError **err)
{
	const struct ce_config_entry *e = ce_config_lookup(cfg, SECTION, "forward");

	for (char **p = targets; e && *e->value && *p; p++) {
		if (g_str_has_prefix(e->value, *p)) {
			g_set_error(err, CE_CONFIG_ERROR, CE_CONFIG_ERROR_VALUE,
			        "%s:%u: [monitor] forward=%s would loop: it starts with the target "
			        "%s the monitor listens to",
			        e->file, e->line, e->value, *p);
			return -EINVAL;
		}
	}
	return 0;
}

/* --check-config: what read_config() refuses. */
static int monitor_check(const struct ce_config *cfg, GError **err)
{
	char **targets = read_targets(cfg);
	int r = check_forward(cfg, targets, err);

	g_strfreev(targets);
	return r;
}

static int read_config(struct monitor *m, const struct ce_config *cfg, struct ce_mon_limits *lim)
{
	const char *forward = ce_config_get(cfg, SECTION, "forward", NULL);
	GError *err = NULL;

	m->targets = read_targets(cfg);
	m->use_store = ce_config_get_bool(cfg, SECTION, "store", true);
	m->forward = forward && *forward ? g_strdup(forward) : NULL;
	if (check_forward(cfg, m->targets, &err) < 0) {
		g_critical("%s", err->message);
		g_error_free(err);
		return -EINVAL;
	}
	ce_mon_limits_default(lim);
	lim->cdr_delay_us =
	        ce_config_get_int(cfg, SECTION, "cdr_delay", 2000, 0, 600000) * (gint64)1000;
	lim->max_rooms = (unsigned)ce_config_get_int(cfg, SECTION, "max_rooms", 10000, 1, 1000000);
	lim->max_legs =
	        (unsigned)ce_config_get_int(cfg, SECTION, "max_participants", 100000, 1, 10000000);
	lim->max_speakers = (unsigned)ce_config_get_int(cfg, SECTION, "max_speakers", 32, 1, 1024);
	return 0;
}

/* ---- the module ---- */

static void watch(struct monitor *m, const char *name, unsigned flags, ce_watch_h *h)
{
	int id = ce_bus_watch(m->bus, name, flags, h, m, NULL);

	if (id > 0)
		g_array_append_val(m->watches, id);
	else
		g_warning("cannot watch %s: %s", name, g_strerror(-id));
}

static void monitor_free(struct monitor *m)
{
	if (!m)
		return;
	ce_console_remove_status(m->ce, SECTION);
	if (m->ring && ce_monitor_service(m->ce) == m->ring)
		ce_engine_withdraw(m->ce, CE_MONITOR_SERVICE);
	if (m->subscribed)
		ce_bus_room_unsubscribe(m->bus, on_room_event, m);
	if (m->drop_handler > 0)
		ce_bus_uninstall(m->bus, m->drop_handler);
	for (guint i = 0; m->watches && i < m->watches->len; i++)
		ce_bus_unwatch(m->bus, g_array_index(m->watches, int, i));
	if (m->track)
		ce_mon_track_end_all(m->track, ce_engine_now(m->ce), "shutdown");
	if (m->timer)
		g_source_remove(m->timer);
	ce_mon_track_free(m->track);
	ce_mon_fanout_free(m->fan);
	ce_mon_evlog_free(m->log); /* writes what is queued */
	ce_monitor_ring_free(m->ring);
	if (m->watches)
		g_array_free(m->watches, TRUE);
	if (m->line)
		g_string_free(m->line, TRUE);
	g_strfreev(m->targets);
	g_free(m->forward);
	g_free(m);
}

/*
 * This run's lines are numbered from here + 1 (events.h): the start time in
 * microseconds, so above every earlier run's ids, and above the last id
 * the store knows of this node should the clock have been set back.
 */
static guint64 run_id(struct monitor *m)
{
	struct ce_store *st = store(m);
	gint64 now = g_get_real_time(), last = st ? ce_store_stream_last(st) : 0;

	if (last >= now)
		g_warning("the clock is behind this node's last event id in the store: the event "
		          "stream goes on from %" G_GINT64_FORMAT,
		        last + 1);
	return (guint64)MAX(MAX(now, last), 1);
}

static int monitor_init(struct ce_engine *ce, void **state)
{
	const struct ce_config *cfg = ce_engine_config(ce);
	struct monitor *m = g_new0(struct monitor, 1);
	struct ce_mon_limits lim;
	int err;

	m->ce = ce;
	m->bus = ce_engine_bus(ce);
	m->line = g_string_sized_new(512);
	m->watches = g_array_new(FALSE, FALSE, sizeof(int));
	if ((err = read_config(m, cfg, &lim)))
		goto out;
	m->seq = run_id(m);
	if ((err = ce_mon_track_new(&m->track, &lim, &track_ops, m)) || (err = open_log(m, cfg)) ||
	        (err = open_socket(m, cfg)) ||
	        (err = ce_monitor_ring_new(&m->ring,
	                 (unsigned)ce_config_get_int(
	                         cfg, SECTION, "resume_events", 10000, 0, 1000000),
	                 m->seq)) ||
	        (err = ce_engine_provide(ce, CE_MONITOR_SERVICE, m->ring)))
		goto out;
	ce_monitor_ring_set_post(m->ring, on_post, m);
	ce_monitor_ring_set_store(m->ring, store(m));
	if ((err = ce_bus_room_subscribe(m->bus, on_room_event, m)))
		goto out;
	m->subscribed = true;
	m->drop_handler = ce_bus_install(
	        m->bus, "call.drop", 0, NULL, NULL, CE_BUS_LOCAL, on_local_drop, m, NULL);
	if (m->drop_handler < 0) {
		err = m->drop_handler;
		goto out;
	}
	watch(m, "chan.notify", CE_BUS_YATE_ONLY, watch_notify);
	watch(m, "call.execute", 0, watch_execute);
	watch(m, "chan.hangup", 0, watch_hangup);
	watch(m, "chan.disconnected", 0, watch_hangup);
	watch(m, CE_LINK_MSG, CE_BUS_LOCAL, watch_link);
	err = ce_console_add_status(ce, SECTION, status, m);
out:
	if (err) {
		monitor_free(m);
		m = NULL;
	}
	*state = m;
	return err;
}

static void monitor_exit(struct ce_engine *ce, void *state)
{
	monitor_free(state);
}

/*
 * The store keeps the events when it runs.  The monitor starts after the
 * modules whose messages it records, so that its watchers see a message
 * after theirs and it stops first.
 */
CE_MODULE_DEFINE(monitor, .init = monitor_init, .exit = monitor_exit, .keys = monitor_keys,
        .check = monitor_check,
        .requires = CE_REQUIRES(CE_WANTS("store"), CE_WANTS("conference"), CE_WANTS("schedule")));
