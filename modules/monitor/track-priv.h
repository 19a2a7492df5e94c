/* track-priv.h - the tracker's rooms and participants, shared by the track*.c files */
#ifndef CE_MONITOR_TRACK_PRIV_H
#define CE_MONITOR_TRACK_PRIV_H

#include <stdbool.h>
#include <glib.h>

#include "monitor.h"

/*
 * A participant lives in t->legs from "joined" until its CDR is written;
 * while in a room it is also in room->parts (and in room->talkers while
 * talking).  After "left" it waits in t->pending for chan.hangup.
 */

/*
 * Who a participant is.  Yate's calls carry caller, called, callername and
 * billid; the schedule module adds conference_id and the participant_*
 * parameters to the calls it admits or dials, and the engine's rooms repeat
 * them in "joined" (docs/monitor.md).  A dial-out's caller= and callername=
 * are what the far end sees (the conference's number and title), so there
 * the participant is participant_number and participant_name.  Each field
 * keeps the first value it gets.
 */
struct ce_mon_who {
	char *caller;    /* the participant's number */
	char *called;    /* the number called (direction in) or dialled (out) */
	char *billid;    /* Yate's billing id of the call */
	char *name;      /* participant_name, else the caller's callername */
	char *role;      /* participant_role: participant, moderator, listener */
	char *direction; /* participant_direction: "in" or "out" */
	gint64 conference_id, participant_id;
};

void ce_mon_who_read(struct ce_mon_who *w, const struct ce_msg *msg);
void ce_mon_who_take(struct ce_mon_who *w, const struct ce_room_who *from);
void ce_mon_who_add(struct ce_mon_who *w, const struct ce_mon_who *from);
void ce_mon_who_clear(struct ce_mon_who *w);

struct ce_mon_room {
	char *key; /* source prefix + name */
	char *name;
	char *target;
	enum ce_room_source source;
	bool explicit_talk;
	int users, maxusers;
	struct ce_mon_who who; /* from "created": the first caller's, and the conference */
	GHashTable *parts;     /* leg id -> struct ce_mon_part (owned by t->legs) */
	GPtrArray *talkers;    /* parts talking now */
};

struct ce_mon_part {
	struct ce_mon_room *room; /* NULL once left */
	enum ce_room_source source;
	char *room_name, *target;
	char *leg, *peer, *reason;
	struct ce_mon_who who;
	gint64 joined_at, left_at, talk_since, talk_ms;
	bool talking;
	GList *pending; /* link in t->pending while waiting for its CDR */
};

struct ce_mon_track {
	struct ce_mon_limits lim;
	const struct ce_mon_track_ops *ops;
	void *arg;
	GHashTable *rooms; /* key -> struct ce_mon_room */
	GHashTable *legs;  /* leg id -> struct ce_mon_part */
	GQueue pending;    /* parts that left, oldest first */
	GHashTable *calls; /* peerid -> struct call */
	GQueue call_order; /* struct call, oldest first */
	gint64 warn_window;
	unsigned warn_count, warn_suppressed;
	struct ce_mon_track_stats st;
};

bool ce_mon_may_warn(struct ce_mon_track *t, gint64 now);

/* A warning about bad input, rate limited (at most 20 per 10 s). */
#define WARN(t, now, ...)                                                                          \
	do {                                                                                       \
		if (ce_mon_may_warn((t), (now)))                                                   \
			g_warning(__VA_ARGS__);                                                    \
	} while (0)

static inline const char *str_or(const char *s, const char *def)
{
	return s ? s : def;
}

char *ce_mon_field(const char *s);
void ce_mon_fill(char **dst, const char *s);
void ce_mon_record(struct ce_room_event *ev, const struct ce_mon_room *r,
        const struct ce_mon_part *p, enum ce_event_kind kind, gint64 now);
void ce_mon_emit(struct ce_mon_track *t, const struct ce_room_event *ev);
void ce_mon_talk_start(struct ce_mon_track *t, struct ce_mon_part *p, int energy, gint64 now);
void ce_mon_talk_stop(struct ce_mon_track *t, struct ce_mon_part *p, gint64 now);
void ce_mon_leave(struct ce_mon_track *t, struct ce_mon_part *p, gint64 now, const char *reason);
struct ce_mon_room *ce_mon_room_get(struct ce_mon_track *t, const char *name, const char *target,
        enum ce_room_source src, gint64 now, bool create, bool *created);
struct ce_mon_part *ce_mon_part_find(
        struct ce_mon_track *t, struct ce_mon_room *r, const char *leg, gint64 now);
void ce_mon_room_end(struct ce_mon_track *t, struct ce_mon_room *r, gint64 now, const char *reason,
        bool destroyed);
void ce_mon_room_update(struct ce_mon_room *r, const struct ce_room_event *ev);
bool ce_mon_room_event(struct ce_mon_track *t, struct ce_mon_room *r,
        const struct ce_room_event *ev, bool created, gint64 now);

#endif
