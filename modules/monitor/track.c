/* track.c - the monitor's view of rooms and participants: room events in, events and CDRs out */
#define G_LOG_DOMAIN "monitor"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"
#include "monitor.h"
#include "track-priv.h"

/*
 * A call.execute report kept until its leg joins (it says who the leg is),
 * at most call_ttl_us and max_calls of them: t->calls and t->call_order.
 */
struct call {
	char *peerid, *id;
	struct ce_mon_who who;
	gint64 at;
	GList *order; /* its link in t->call_order */
};

/** The defaults for every limit. */
void ce_mon_limits_default(struct ce_mon_limits *lim)
{
	lim->max_rooms = 10000;
	lim->max_legs = 100000;
	lim->max_speakers = 32;
	lim->max_calls = 10000;
	lim->cdr_delay_us = 2 * G_USEC_PER_SEC;
	lim->call_ttl_us = 60 * G_USEC_PER_SEC;
}

/** Whether a warning about bad input may be printed now (at most 20 per 10 s). */
bool ce_mon_may_warn(struct ce_mon_track *t, gint64 now)
{
	if (now - t->warn_window >= 10 * G_USEC_PER_SEC || now < t->warn_window) {
		if (t->warn_suppressed)
			g_warning("%u more warnings about chan.notify suppressed",
			        t->warn_suppressed);
		t->warn_window = now;
		t->warn_count = t->warn_suppressed = 0;
	}
	if (t->warn_count < 20) {
		t->warn_count++;
		return true;
	}
	t->warn_suppressed++;
	return false;
}

/** A copy of @s cut to CE_MON_MAX_FIELD bytes; NULL or "" gives NULL. */
char *ce_mon_field(const char *s)
{
	/* g_strndup() allocates its bound whatever the length: size the copy to the string */
	return (s && *s) ? g_strndup(s, strnlen(s, CE_MON_MAX_FIELD)) : NULL;
}

/** Set *@dst to a copy of @s unless it is set already. */
void ce_mon_fill(char **dst, const char *s)
{
	if (!*dst)
		*dst = ce_mon_field(s);
}

/* ---- who a participant is ---- */

static void fill_id(gint64 *dst, gint64 id)
{
	if (*dst <= 0)
		*dst = id;
}

/** Fill what @w lacks from what a join request, a call or a "joined" says (@from). */
void ce_mon_who_take(struct ce_mon_who *w, const struct ce_room_who *from)
{
	const char *dir = from->direction;
	const char *number = from->number;
	bool out;

	if (!g_strcmp0(dir, "in") || !g_strcmp0(dir, "out"))
		ce_mon_fill(&w->direction, dir);
	out = !g_strcmp0(w->direction, "out");
	ce_mon_fill(&w->caller, number ? number : out ? NULL : from->caller);
	ce_mon_fill(&w->called, out ? number : from->called);
	ce_mon_fill(&w->name, from->name ? from->name : out ? NULL : from->callername);
	ce_mon_fill(&w->billid, from->billid);
	ce_mon_fill(&w->role, from->role);
	fill_id(&w->conference_id, from->conference_id);
	fill_id(&w->participant_id, from->participant_id);
}

/** Fill what @w lacks from the parameters of a call or a "joined" (@msg). */
void ce_mon_who_read(struct ce_mon_who *w, const struct ce_msg *msg)
{
	struct ce_room_who from;

	ce_room_who_read(&from, msg);
	ce_mon_who_take(w, &from);
}

/** Fill what @w lacks from @from. */
void ce_mon_who_add(struct ce_mon_who *w, const struct ce_mon_who *from)
{
	ce_mon_fill(&w->caller, from->caller);
	ce_mon_fill(&w->called, from->called);
	ce_mon_fill(&w->billid, from->billid);
	ce_mon_fill(&w->name, from->name);
	ce_mon_fill(&w->role, from->role);
	ce_mon_fill(&w->direction, from->direction);
	if (w->conference_id <= 0)
		w->conference_id = from->conference_id;
	if (w->participant_id <= 0)
		w->participant_id = from->participant_id;
}

/** Free the strings of @w. */
void ce_mon_who_clear(struct ce_mon_who *w)
{
	g_free(w->caller);
	g_free(w->called);
	g_free(w->billid);
	g_free(w->name);
	g_free(w->role);
	g_free(w->direction);
	memset(w, 0, sizeof(*w));
}

/* ---- records ---- */

static void part_free(struct ce_mon_part *p)
{
	g_free(p->room_name);
	g_free(p->target);
	g_free(p->leg);
	g_free(p->peer);
	ce_mon_who_clear(&p->who);
	g_free(p->reason);
	g_free(p);
}

static void room_free(struct ce_mon_room *r)
{
	g_hash_table_destroy(r->parts);
	g_ptr_array_free(r->talkers, TRUE);
	g_free(r->key);
	g_free(r->name);
	g_free(r->target);
	ce_mon_who_clear(&r->who);
	g_free(r);
}

static void call_free(struct call *c)
{
	g_free(c->peerid);
	g_free(c->id);
	ce_mon_who_clear(&c->who);
	g_free(c);
}

/* ---- events out ---- */

/**
 * Fill @ev, the monitor's record of a @kind event of room @r at @now, about
 * participant @p (NULL: the room's own); strings borrowed from @r and @p.
 */
void ce_mon_record(struct ce_room_event *ev, const struct ce_mon_room *r,
        const struct ce_mon_part *p, enum ce_event_kind kind, gint64 now)
{
	ce_room_event_init(ev, kind);
	ev->source = r->source;
	ev->at = now;
	ev->room = r->name;
	ev->target = r->target;
	ev->who.conference_id = r->who.conference_id;
	ev->users = r->users;
	ev->maxusers = r->maxusers;
	if (!p)
		return;
	ev->leg = p->leg;
	ev->peer = p->peer;
	ev->who.caller = p->who.caller;
	ev->who.callername = p->who.name;
	ev->who.called = p->who.called;
	ev->who.billid = p->who.billid;
	ev->who.role = p->who.role;
	ev->who.direction = p->who.direction;
	ev->who.participant_id = p->who.participant_id;
	if (p->who.conference_id > 0)
		ev->who.conference_id = p->who.conference_id;
}

/** Hand the record @ev out (the ops' event). */
void ce_mon_emit(struct ce_mon_track *t, const struct ce_room_event *ev)
{
	t->st.events++;
	t->ops->event(ev, t->arg);
}

/** @p starts talking (nothing if it already talks). */
void ce_mon_talk_start(struct ce_mon_track *t, struct ce_mon_part *p, int energy, gint64 now)
{
	struct ce_room_event ev;

	if (p->talking || !p->room)
		return;
	p->talking = true;
	p->talk_since = now;
	g_ptr_array_add(p->room->talkers, p);
	ce_mon_record(&ev, p->room, p, CE_EVENT_TALK_START, now);
	ev.energy = energy;
	ce_mon_emit(t, &ev);
}

/** @p stops talking (nothing if it does not); its talk time grows. */
void ce_mon_talk_stop(struct ce_mon_track *t, struct ce_mon_part *p, gint64 now)
{
	struct ce_room_event ev;
	gint64 ms = MAX(now - p->talk_since, 0) / 1000;

	if (!p->talking || !p->room)
		return;
	p->talking = false;
	p->talk_ms += ms;
	g_ptr_array_remove(p->room->talkers, p);
	ce_mon_record(&ev, p->room, p, CE_EVENT_TALK_STOP, now);
	ev.duration_ms = ms;
	ce_mon_emit(t, &ev);
}

/* ---- CDRs ---- */

static void write_cdr(struct ce_mon_track *t, struct ce_mon_part *p)
{
	struct ce_mon_cdr c = {
	        .source = p->source,
	        .room = p->room_name,
	        .target = p->target,
	        .leg = p->leg,
	        .peer = p->peer,
	        .caller = p->who.caller,
	        .caller_name = p->who.name,
	        .called = p->who.called,
	        .billid = p->who.billid,
	        .role = p->who.role,
	        .direction = p->who.direction,
	        .reason = str_or(p->reason, "left"),
	        .conference_id = p->who.conference_id,
	        .participant_id = p->who.participant_id,
	        .joined_at = p->joined_at,
	        .left_at = p->left_at,
	        .talk_ms = p->talk_ms,
	};

	if (p->pending)
		g_queue_delete_link(&t->pending, p->pending);
	p->pending = NULL;
	t->st.cdrs++;
	t->ops->cdr(&c, t->arg);
	g_hash_table_remove(t->legs, p->leg); /* frees p */
}

/** @p leaves its room now: final talk stop, "leave", then its CDR (now or later). */
void ce_mon_leave(struct ce_mon_track *t, struct ce_mon_part *p, gint64 now, const char *reason)
{
	struct ce_mon_room *r = p->room;
	struct ce_room_event ev;

	ce_mon_talk_stop(t, p, now);
	ce_mon_fill(&p->reason, reason);
	p->left_at = now;
	ce_mon_record(&ev, r, p, CE_EVENT_LEAVE, now);
	ev.duration_ms = MAX(now - p->joined_at, 0) / 1000;
	ev.reason = str_or(p->reason, "left"); /* as its CDR says when no reason came */
	ce_mon_emit(t, &ev);
	g_hash_table_remove(r->parts, p->leg);
	p->room = NULL;
	if (t->lim.cdr_delay_us <= 0) {
		write_cdr(t, p);
		return;
	}
	g_queue_push_tail(&t->pending, p);
	p->pending = t->pending.tail;
}

/* ---- rooms and participants ---- */

/** The room @name of @src; created when @create (then *@created); NULL past max_rooms. */
struct ce_mon_room *ce_mon_room_get(struct ce_mon_track *t, const char *name, const char *target,
        enum ce_room_source src, gint64 now, bool create, bool *created)
{
	char *key = g_strdup_printf("%c:%s", src == CE_ROOM_SRC_ENGINE ? 'e' : 'y', name);
	struct ce_mon_room *r = g_hash_table_lookup(t->rooms, key);

	*created = false;
	if (r || !create) {
		g_free(key);
		return r;
	}
	if (g_hash_table_size(t->rooms) >= t->lim.max_rooms) {
		WARN(t, now, "chan.notify: already %u rooms, ignoring room '%s'", t->lim.max_rooms,
		        name);
		g_free(key);
		return NULL;
	}
	r = g_new0(struct ce_mon_room, 1);
	r->key = key;
	r->name = ce_mon_field(name);
	r->target = ce_mon_field(target);
	r->source = src;
	r->users = r->maxusers = -1;
	r->parts = g_hash_table_new(g_str_hash, g_str_equal);
	r->talkers = g_ptr_array_new();
	g_hash_table_insert(t->rooms, r->key, r);
	*created = true;
	return r;
}

static void call_apply(struct ce_mon_part *p, const struct call *c)
{
	ce_mon_fill(&p->peer, c->id);
	ce_mon_who_add(&p->who, &c->who);
}

/* Forget @c (frees it). */
static void call_forget(struct ce_mon_track *t, struct call *c)
{
	g_queue_delete_link(&t->call_order, c->order);
	g_hash_table_remove(t->calls, c->peerid);
}

/* A participant for @leg in @r, joined (or first seen) now; NULL past max_participants. */
static struct ce_mon_part *part_new(
        struct ce_mon_track *t, struct ce_mon_room *r, const char *leg, gint64 now)
{
	struct ce_mon_part *p;
	struct call *c;

	if (g_hash_table_size(t->legs) >= t->lim.max_legs) {
		WARN(t, now, "chan.notify: already %u participants, ignoring '%s' in room '%s'",
		        t->lim.max_legs, leg, r->name);
		return NULL;
	}
	p = g_new0(struct ce_mon_part, 1);
	p->room = r;
	p->source = r->source;
	p->room_name = g_strdup(r->name);
	p->target = g_strdup(r->target);
	p->leg = ce_mon_field(leg);
	p->joined_at = now;
	p->who.conference_id = r->who.conference_id;
	g_hash_table_insert(t->legs, p->leg, p);
	g_hash_table_insert(r->parts, p->leg, p);
	/* the participant keeps what the call said: its report has done its work */
	c = g_hash_table_lookup(t->calls, p->leg);
	if (c) {
		call_apply(p, c);
		call_forget(t, c);
	}
	return p;
}

/**
 * The participant @leg of @r, created if unknown (joined before we started);
 * NULL if it is in another room.
 */
struct ce_mon_part *ce_mon_part_find(
        struct ce_mon_track *t, struct ce_mon_room *r, const char *leg, gint64 now)
{
	struct ce_mon_part *p = g_hash_table_lookup(r->parts, leg);

	if (p)
		return p;
	p = g_hash_table_lookup(t->legs, leg);
	if (p && p->room) {
		WARN(t, now, "chan.notify: leg '%s' of room '%s' reported in room '%s'", leg,
		        p->room_name, r->name);
		return NULL;
	}
	if (p)
		write_cdr(t, p);
	return part_new(t, r, leg, now);
}

/** Everyone still in @r leaves (@reason), then "destroyed" if @destroyed; frees @r. */
void ce_mon_room_end(struct ce_mon_track *t, struct ce_mon_room *r, gint64 now, const char *reason,
        bool destroyed)
{
	GList *parts = g_hash_table_get_values(r->parts);

	for (GList *l = parts; l; l = l->next)
		ce_mon_leave(t, l->data, now, reason);
	g_list_free(parts);
	if (destroyed) {
		struct ce_room_event ev;

		ce_mon_record(&ev, r, NULL, CE_EVENT_END, now);
		ce_mon_emit(t, &ev);
	}
	g_hash_table_remove(t->rooms, r->key);
}

static void calls_expire(struct ce_mon_track *t, gint64 now)
{
	struct call *c;

	while ((c = g_queue_peek_head(&t->call_order)) &&
	        (now - c->at > t->lim.call_ttl_us ||
	                g_queue_get_length(&t->call_order) >= t->lim.max_calls))
		call_forget(t, c);
}

/**
 * A call.execute report: a handled one whose peerid joins a conference
 * (callto=conf/..., or our own ce_room marker) says who that leg is
 * (struct ce_mon_who: caller, called, billid, name, and what the schedule
 * module added), now or when it joins.
 */
void ce_mon_track_execute(struct ce_mon_track *t, const struct ce_msg *msg, gint64 now)
{
	const char *peerid = ce_msg_get(msg, "peerid");
	const char *callto = ce_msg_get_def(msg, "callto", "");
	struct ce_mon_part *p;
	struct call *c;

	if (!peerid || !*peerid)
		return;
	p = g_hash_table_lookup(t->legs, peerid);
	if (!p && !g_str_has_prefix(callto, "conf/") && !ce_msg_get(msg, "ce_room"))
		return;
	c = g_new0(struct call, 1);
	c->peerid = ce_mon_field(peerid);
	c->id = ce_mon_field(ce_msg_get(msg, "id"));
	ce_mon_who_read(&c->who, msg);
	c->at = now;
	if (p || g_hash_table_contains(t->calls, c->peerid)) {
		if (p)
			call_apply(p, c);
		call_free(c);
		return;
	}
	calls_expire(t, now);
	g_hash_table_insert(t->calls, c->peerid, c);
	g_queue_push_tail(&t->call_order, c);
	c->order = t->call_order.tail;
}

/**
 * chan.disconnected / chan.hangup of a participant's leg: keeps its reason
 * and billid; chan.hangup after "left" writes the CDR at once.
 */
void ce_mon_track_hangup(struct ce_mon_track *t, const struct ce_msg *msg, gint64 now)
{
	const char *id = ce_msg_get(msg, "id");
	struct ce_mon_part *p = id ? g_hash_table_lookup(t->legs, id) : NULL;

	if (!p)
		return;
	ce_mon_fill(&p->who.billid, ce_msg_get(msg, "billid"));
	ce_mon_fill(&p->reason, ce_msg_get(msg, "reason"));
	if (!p->room && !strcmp(msg->name, "chan.hangup"))
		write_cdr(t, p);
}

/**
 * The engine's call.drop of a participant's leg (dumb/N) or of one of its
 * rooms (conf/NAME): its reason becomes theirs, unless one is known already.
 */
void ce_mon_track_drop(struct ce_mon_track *t, const struct ce_msg *msg, gint64 now)
{
	const char *id = ce_msg_get(msg, "id"), *reason = ce_msg_get(msg, "reason");
	struct ce_mon_part *p;
	struct ce_mon_room *r;
	GHashTableIter it;
	bool created;

	if (!id || !reason || !*reason)
		return;
	p = g_hash_table_lookup(t->legs, id);
	if (p) {
		ce_mon_fill(&p->reason, reason);
		return;
	}
	if (strncmp(id, "conf/", 5) != 0)
		return;
	r = ce_mon_room_get(t, id + 5, NULL, CE_ROOM_SRC_ENGINE, now, false, &created);
	if (!r)
		return;
	g_hash_table_iter_init(&it, r->parts);
	while (g_hash_table_iter_next(&it, NULL, (gpointer *)&p))
		ce_mon_fill(&p->reason, reason);
}

/**
 * Write the CDRs whose wait for chan.hangup is over at @now.  Returns when
 * the next one is due (microseconds since the epoch), or 0 if none waits.
 */
gint64 ce_mon_track_expire(struct ce_mon_track *t, gint64 now)
{
	struct ce_mon_part *p;

	while ((p = g_queue_peek_head(&t->pending)) && p->left_at + t->lim.cdr_delay_us <= now)
		write_cdr(t, p);
	calls_expire(t, now);
	return p ? p->left_at + t->lim.cdr_delay_us : 0;
}

/**
 * Every room of @src ends now: its participants leave (@reason) and it is
 * destroyed.  For Yate's own rooms after a restart of Yate, whose "left"
 * and "destroyed" died with the old Yate.  Returns how many rooms ended.
 */
unsigned ce_mon_track_end_source(
        struct ce_mon_track *t, enum ce_room_source src, gint64 now, const char *reason)
{
	GList *rooms = g_hash_table_get_values(t->rooms);
	unsigned n = 0;

	for (GList *l = rooms; l; l = l->next) {
		struct ce_mon_room *r = l->data;

		if (r->source != src)
			continue;
		ce_mon_room_end(t, r, now, reason, true);
		n++;
	}
	g_list_free(rooms);
	return n;
}

/** Everyone leaves (@reason), every waiting CDR is written; for shutdown. */
void ce_mon_track_end_all(struct ce_mon_track *t, gint64 now, const char *reason)
{
	GList *rooms = g_hash_table_get_values(t->rooms);
	struct ce_mon_part *p;

	for (GList *l = rooms; l; l = l->next)
		ce_mon_room_end(t, l->data, now, reason, false);
	g_list_free(rooms);
	while ((p = g_queue_peek_head(&t->pending)))
		write_cdr(t, p);
}

/**
 * A tracker that reports to @ops (@arg is theirs); @lim NULL for the
 * defaults.  Free with ce_mon_track_free().
 */
int ce_mon_track_new(struct ce_mon_track **tp, const struct ce_mon_limits *lim,
        const struct ce_mon_track_ops *ops, void *arg)
{
	struct ce_mon_track *t = NULL;
	int err = 0;

	if (!ops || !ops->event || !ops->cdr || (lim && !lim->max_speakers)) {
		err = -EINVAL;
		goto out;
	}
	t = g_new0(struct ce_mon_track, 1);
	if (lim)
		t->lim = *lim;
	else
		ce_mon_limits_default(&t->lim);
	t->ops = ops;
	t->arg = arg;
	t->rooms = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)room_free);
	t->legs = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)part_free);
	t->calls = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)call_free);
	g_queue_init(&t->pending);
	g_queue_init(&t->call_order);
out:
	*tp = t;
	return err;
}

/** Free the tracker without writing anything (see ce_mon_track_end_all). */
void ce_mon_track_free(struct ce_mon_track *t)
{
	if (!t)
		return;
	g_hash_table_destroy(t->rooms);
	g_queue_clear(&t->pending);
	g_hash_table_destroy(t->legs);
	g_queue_clear(&t->call_order);
	g_hash_table_destroy(t->calls);
	g_free(t);
}

/** Counters and sizes for the status line and tests. */
void ce_mon_track_stats(const struct ce_mon_track *t, struct ce_mon_track_stats *st)
{
	GHashTableIter it;
	gpointer v;

	*st = t->st;
	st->rooms = g_hash_table_size(t->rooms);
	st->legs = g_hash_table_size(t->legs);
	st->pending_cdrs = t->pending.length;
	st->calls = g_hash_table_size(t->calls);
	st->talking = 0;
	g_hash_table_iter_init(&it, t->rooms);
	while (g_hash_table_iter_next(&it, NULL, &v))
		st->talking += ((struct ce_mon_room *)v)->talkers->len;
}
