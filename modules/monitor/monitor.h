/* monitor.h - the conf-monitor notifier: room events, CDRs, JSON event log and subscriber socket */
#ifndef CE_MONITOR_H
#define CE_MONITOR_H

#include <stdbool.h>
#include <glib.h>

#include "room-event.h"

struct ce_msg;

/*
 * The monitor turns the room events of the engine's own rooms (typed, from
 * the bus's room hook: track-room.c) and the chan.notify messages that
 * Yate's conference module sends to conf-monitor/... (track-notify.c)
 * into events and per-participant CDRs (track.c), writes them as JSON lines (json.c) to an
 * event log behind a writer thread (evlog.c) and to the subscribers of a
 * unix socket (fanout.c), and hands them to the store and, optionally, on
 * to Yate (monitor.c).  docs/monitor.md describes what comes out.
 *
 * The tracker's record of an event is a struct ce_room_event, filled in
 * with what it knows of the room and the participant (room-event.h says
 * which fields it sets); its strings are borrowed from the tracker.
 */

/* The call detail record of one participant's stay; strings borrowed. */
struct ce_mon_cdr {
	enum ce_room_source source;
	const char *room;
	const char *target;
	const char *leg;
	const char *peer;
	const char *caller;
	const char *caller_name;
	const char *called;
	const char *billid;
	const char *role;
	const char *direction;
	const char *reason;
	gint64 conference_id, participant_id;
	gint64 joined_at, left_at; /* microseconds since the epoch */
	gint64 talk_ms;
};

const char *ce_mon_kind_name(enum ce_event_kind kind);
const char *ce_mon_source_name(enum ce_room_source src);
const char *ce_mon_detail(const struct ce_room_event *ev);

/* ---- track*.c: rooms and participants, room events -> events and CDRs ---- */

struct ce_mon_track;

struct ce_mon_track_ops {
	void (*event)(const struct ce_room_event *ev, void *arg);
	void (*cdr)(const struct ce_mon_cdr *cdr, void *arg);
};

struct ce_mon_limits {
	unsigned max_rooms;    /* rooms tracked at once */
	unsigned max_legs;     /* participants tracked at once, all rooms */
	unsigned max_speakers; /* entries read from one speaking list */
	unsigned max_calls;    /* call.execute entries remembered for CDRs */
	gint64 cdr_delay_us;   /* wait this long after "left" for chan.hangup */
	gint64 call_ttl_us;    /* forget a call.execute not followed by a join */
};

#define CE_MON_MAX_FIELD 256 /* longer strings are cut (at a UTF-8 boundary) */

void ce_mon_limits_default(struct ce_mon_limits *lim);
int ce_mon_track_new(struct ce_mon_track **tp, const struct ce_mon_limits *lim,
        const struct ce_mon_track_ops *ops, void *arg);
void ce_mon_track_free(struct ce_mon_track *t);
void ce_mon_track_room(struct ce_mon_track *t, const struct ce_room_event *ev,
        enum ce_room_source src, gint64 now);
void ce_mon_track_notify(struct ce_mon_track *t, const struct ce_msg *msg, const char *room,
        enum ce_room_source src, gint64 now);
void ce_mon_track_execute(struct ce_mon_track *t, const struct ce_msg *msg, gint64 now);
void ce_mon_track_hangup(struct ce_mon_track *t, const struct ce_msg *msg, gint64 now);
void ce_mon_track_drop(struct ce_mon_track *t, const struct ce_msg *msg, gint64 now);
gint64 ce_mon_track_expire(struct ce_mon_track *t, gint64 now);
void ce_mon_track_end_all(struct ce_mon_track *t, gint64 now, const char *reason);
unsigned ce_mon_track_end_source(
        struct ce_mon_track *t, enum ce_room_source src, gint64 now, const char *reason);

struct ce_mon_track_stats {
	unsigned rooms, legs, talking, pending_cdrs, calls;
	guint64 notifies, ignored, events, cdrs;
};
void ce_mon_track_stats(const struct ce_mon_track *t, struct ce_mon_track_stats *st);

/* ---- json.c: one JSON object per line ---- */

void ce_mon_json_event(GString *out, const struct ce_room_event *ev, const char *node, guint64 seq);
void ce_mon_json_cdr(GString *out, const struct ce_mon_cdr *cdr, const char *node, guint64 seq);
void ce_mon_json_hello(GString *out, const char *node, gint64 now);
void ce_mon_json_other(GString *out, const char *type, const char *node, guint64 seq, gint64 now,
        const char *members);
void ce_mon_json_string(GString *out, const char *s);
void ce_mon_json_time(GString *out, gint64 us);
char *ce_mon_time_text(gint64 us);

/* How long an event log that failed (cannot open, disk full) waits before it tries again. */
#define CE_MON_EVLOG_RETRY_US (5 * G_USEC_PER_SEC)

/* ---- evlog.c: JSON lines appended to a file by a writer thread ---- */

struct ce_mon_evlog;

int ce_mon_evlog_new(struct ce_mon_evlog **lp, const char *path, gint64 max_bytes, unsigned keep,
        unsigned max_queue);
void ce_mon_evlog_free(struct ce_mon_evlog *l);
void ce_mon_evlog_push(struct ce_mon_evlog *l, const char *line, gsize len);
void ce_mon_evlog_sync(struct ce_mon_evlog *l);
guint64 ce_mon_evlog_dropped(const struct ce_mon_evlog *l);
guint64 ce_mon_evlog_written(const struct ce_mon_evlog *l);

/* ---- fanout.c: JSON lines streamed to unix socket subscribers ---- */

struct ce_mon_fanout;

/* The first line a new subscriber gets. */
typedef void(ce_mon_hello_h)(GString *out, void *arg);

int ce_mon_fanout_new(struct ce_mon_fanout **fp, const char *path, unsigned mode, gsize max_queue,
        unsigned max_clients, ce_mon_hello_h *hello, void *arg, GError **err);
void ce_mon_fanout_free(struct ce_mon_fanout *f);
void ce_mon_fanout_send(struct ce_mon_fanout *f, const char *line, gsize len);

struct ce_mon_fanout_stats {
	unsigned clients;
	guint64 accepted, dropped, refused, bytes;
};
void ce_mon_fanout_stats(const struct ce_mon_fanout *f, struct ce_mon_fanout_stats *st);

#endif
