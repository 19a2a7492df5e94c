/* track.c - the monitor's view of rooms and participants: chan.notify in, events and CDRs out */
#define G_LOG_DOMAIN "monitor"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"
#include "monitor.h"

/*
 * What comes in (transcript 1, Yate's conference module, room "yroom"):
 *
 *   chan.notify targetid=conf-monitor/yroom event=created room=yroom maxusers=5
 *     caller=tone/busy called=802 billid=
 *   chan.notify id=conf/1 targetid=... event=joined room=yroom users=1 maxusers=5
 *   chan.notify targetid=... event=speaking room=yroom speaker.1=conf/1
 *     speaker.1.peer=tone/4 speaker.1.energy=22 speakers=1 changed=true
 *   chan.notify id=conf/1 targetid=... event=left users=1 lastpeerid=tone/4
 *   chan.notify targetid=... event=destroyed room=yroom
 *
 * Our own rooms send the same, plus event=talkstart/talkstop (energy=) and
 * mute/unmute for one leg.  For Yate's rooms the talker events come from the
 * speaking lists: a leg that appears is a start, one that disappears (or
 * leaves while in the list) a stop.  A room that sends explicit talker
 * events stops being read that way.
 *
 * A participant lives in t->legs from "joined" until its CDR is written:
 * after "left", it waits up to cdr_delay for chan.hangup (whose reason and
 * billid complete the CDR).  call.execute reports give caller, called and
 * billid, which Yate's rooms do not put in "joined".
 */

struct room {
	char *key; /* source prefix + name */
	char *name;
	char *target;
	enum ce_mon_source source;
	bool explicit_talk;
	int users, maxusers;
	gint64 conference_id;
	char *caller, *called, *billid; /* from "created": the first caller's */
	GHashTable *parts;              /* leg id -> struct part (owned by t->legs) */
	GPtrArray *talkers;             /* parts talking now */
};

struct part {
	struct room *room; /* NULL once left */
	enum ce_mon_source source;
	char *room_name, *target;
	char *leg, *peer, *caller, *called, *billid, *reason;
	gint64 conference_id;
	gint64 joined_at, left_at, talk_since, talk_ms;
	bool talking;
	GList *pending; /* link in t->pending while waiting for its CDR */
};

struct call {
	char *peerid, *id, *caller, *called, *billid;
	gint64 at;
};

struct ce_mon_track {
	struct ce_mon_limits lim;
	const struct ce_mon_track_ops *ops;
	void *arg;
	GHashTable *rooms; /* key -> struct room */
	GHashTable *legs;  /* leg id -> struct part */
	GQueue pending;    /* parts that left, oldest first */
	GHashTable *calls; /* peerid -> struct call */
	GQueue call_order; /* struct call, oldest first */
	gint64 warn_window;
	unsigned warn_count, warn_suppressed;
	struct ce_mon_track_stats st;
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

/* Hostile input must not flood the log: at most 20 warnings per 10 s. */
static bool may_warn(struct ce_mon_track *t, gint64 now)
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

#define WARN(t, now, ...)                                                                          \
	do {                                                                                       \
		if (may_warn((t), (now)))                                                          \
			g_warning(__VA_ARGS__);                                                    \
	} while (0)

/* A copy of @s cut to CE_MON_MAX_FIELD bytes; NULL or "" gives NULL. */
static char *field(const char *s)
{
	return (s && *s) ? g_strndup(s, CE_MON_MAX_FIELD) : NULL;
}

static void fill(char **dst, const char *s)
{
	if (!*dst)
		*dst = field(s);
}

static const char *str_or(const char *s, const char *def)
{
	return s ? s : def;
}

/* ---- records ---- */

static void part_free(struct part *p)
{
	g_free(p->room_name);
	g_free(p->target);
	g_free(p->leg);
	g_free(p->peer);
	g_free(p->caller);
	g_free(p->called);
	g_free(p->billid);
	g_free(p->reason);
	g_free(p);
}

static void room_free(struct room *r)
{
	g_hash_table_destroy(r->parts);
	g_ptr_array_free(r->talkers, TRUE);
	g_free(r->key);
	g_free(r->name);
	g_free(r->target);
	g_free(r->caller);
	g_free(r->called);
	g_free(r->billid);
	g_free(r);
}

static void call_free(struct call *c)
{
	g_free(c->peerid);
	g_free(c->id);
	g_free(c->caller);
	g_free(c->called);
	g_free(c->billid);
	g_free(c);
}

/* ---- events out ---- */

static void ev_room(
        struct ce_mon_event *ev, const struct room *r, enum ce_mon_kind kind, gint64 now)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->source = r->source;
	ev->at = now;
	ev->room = r->name;
	ev->target = r->target;
	ev->conference_id = r->conference_id;
	ev->users = r->users;
	ev->maxusers = r->maxusers;
	ev->energy = -1;
	ev->duration_ms = -1;
}

static void ev_part(struct ce_mon_event *ev, const struct part *p)
{
	ev->leg = p->leg;
	ev->peer = p->peer;
	ev->caller = p->caller;
	ev->called = p->called;
	ev->billid = p->billid;
	if (p->conference_id > 0)
		ev->conference_id = p->conference_id;
}

static void emit(struct ce_mon_track *t, const struct ce_mon_event *ev)
{
	t->st.events++;
	t->ops->event(ev, t->arg);
}

static void emit_simple(struct ce_mon_track *t, struct room *r, struct part *p,
        enum ce_mon_kind kind, gint64 now, const char *detail)
{
	struct ce_mon_event ev;

	ev_room(&ev, r, kind, now);
	if (p)
		ev_part(&ev, p);
	ev.detail = detail;
	emit(t, &ev);
}

static void talk_start(struct ce_mon_track *t, struct part *p, int energy, gint64 now)
{
	struct ce_mon_event ev;

	if (p->talking || !p->room)
		return;
	p->talking = true;
	p->talk_since = now;
	g_ptr_array_add(p->room->talkers, p);
	ev_room(&ev, p->room, CE_MON_TALK_START, now);
	ev_part(&ev, p);
	ev.energy = energy;
	emit(t, &ev);
}

static void talk_stop(struct ce_mon_track *t, struct part *p, gint64 now)
{
	struct ce_mon_event ev;
	gint64 ms = MAX(now - p->talk_since, 0) / 1000;

	if (!p->talking || !p->room)
		return;
	p->talking = false;
	p->talk_ms += ms;
	g_ptr_array_remove(p->room->talkers, p);
	ev_room(&ev, p->room, CE_MON_TALK_STOP, now);
	ev_part(&ev, p);
	ev.duration_ms = ms;
	emit(t, &ev);
}

/* ---- CDRs ---- */

static void write_cdr(struct ce_mon_track *t, struct part *p)
{
	struct ce_mon_cdr c = {
	        .source = p->source,
	        .room = p->room_name,
	        .target = p->target,
	        .leg = p->leg,
	        .peer = p->peer,
	        .caller = p->caller,
	        .called = p->called,
	        .billid = p->billid,
	        .reason = str_or(p->reason, "left"),
	        .conference_id = p->conference_id,
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

/* @p leaves its room now: final talk stop, "leave", then its CDR (now or later). */
static void leave(struct ce_mon_track *t, struct part *p, gint64 now, const char *reason)
{
	struct room *r = p->room;
	struct ce_mon_event ev;

	talk_stop(t, p, now);
	fill(&p->reason, reason);
	p->left_at = now;
	ev_room(&ev, r, CE_MON_LEAVE, now);
	ev_part(&ev, p);
	ev.duration_ms = MAX(now - p->joined_at, 0) / 1000;
	ev.detail = p->reason;
	emit(t, &ev);
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

static struct room *room_get(struct ce_mon_track *t, const char *name, const char *target,
        enum ce_mon_source src, gint64 now, bool create, bool *created)
{
	char *key = g_strdup_printf("%c:%s", src == CE_MON_SRC_ENGINE ? 'e' : 'y', name);
	struct room *r = g_hash_table_lookup(t->rooms, key);

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
	r = g_new0(struct room, 1);
	r->key = key;
	r->name = field(name);
	r->target = field(target);
	r->source = src;
	r->users = r->maxusers = -1;
	r->parts = g_hash_table_new(g_str_hash, g_str_equal);
	r->talkers = g_ptr_array_new();
	g_hash_table_insert(t->rooms, r->key, r);
	*created = true;
	return r;
}

static void call_apply(struct part *p, const struct call *c)
{
	fill(&p->peer, c->id);
	fill(&p->caller, c->caller);
	fill(&p->called, c->called);
	fill(&p->billid, c->billid);
}

/* A participant for @leg in @r: joined now (or first seen now, @late). */
static struct part *part_new(struct ce_mon_track *t, struct room *r, const char *leg, gint64 now)
{
	struct part *p;
	struct call *c;

	if (g_hash_table_size(t->legs) >= t->lim.max_legs) {
		WARN(t, now, "chan.notify: already %u participants, ignoring '%s' in room '%s'",
		        t->lim.max_legs, leg, r->name);
		return NULL;
	}
	p = g_new0(struct part, 1);
	p->room = r;
	p->source = r->source;
	p->room_name = g_strdup(r->name);
	p->target = g_strdup(r->target);
	p->leg = field(leg);
	p->joined_at = now;
	p->conference_id = r->conference_id;
	g_hash_table_insert(t->legs, p->leg, p);
	g_hash_table_insert(r->parts, p->leg, p);
	c = g_hash_table_lookup(t->calls, p->leg);
	if (c)
		call_apply(p, c);
	return p;
}

/* The participant @leg of @r, created if unknown (joined before we started). */
static struct part *part_find(struct ce_mon_track *t, struct room *r, const char *leg, gint64 now)
{
	struct part *p = g_hash_table_lookup(r->parts, leg);

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

static void on_created(
        struct ce_mon_track *t, struct room *r, const struct ce_msg *msg, bool created, gint64 now)
{
	fill(&r->caller, ce_msg_get(msg, "caller"));
	fill(&r->called, ce_msg_get(msg, "called"));
	fill(&r->billid, ce_msg_get(msg, "billid"));
	if (created)
		emit_simple(t, r, NULL, CE_MON_CREATED, now, NULL);
}

static void on_joined(struct ce_mon_track *t, struct room *r, const struct ce_msg *msg, gint64 now)
{
	const char *leg = ce_msg_get(msg, "id");
	struct part *p;

	if (!leg || !*leg) {
		WARN(t, now, "chan.notify event=joined in room '%s' without id, ignored", r->name);
		return;
	}
	if (g_hash_table_lookup(r->parts, leg)) {
		WARN(t, now, "chan.notify: '%s' joined room '%s' twice, ignored", leg, r->name);
		return;
	}
	p = part_find(t, r, leg, now);
	if (!p)
		return;
	fill(&p->peer, ce_msg_get(msg, "peerid"));
	fill(&p->caller, ce_msg_get(msg, "caller"));
	fill(&p->called, ce_msg_get(msg, "called"));
	fill(&p->billid, ce_msg_get(msg, "billid"));
	if (g_hash_table_size(r->parts) == 1 && !p->caller) {
		/* Yate's "created" names the call that made the room: this one. */
		fill(&p->caller, r->caller);
		fill(&p->called, r->called);
		fill(&p->billid, r->billid);
	}
	emit_simple(t, r, p, CE_MON_ENTER, now, NULL);
}

static void on_left(struct ce_mon_track *t, struct room *r, const struct ce_msg *msg, gint64 now)
{
	const char *leg = ce_msg_get(msg, "id");
	struct part *p = leg ? g_hash_table_lookup(r->parts, leg) : NULL;

	if (!p) {
		WARN(t, now, "chan.notify event=left for unknown leg '%s' in room '%s', ignored",
		        str_or(leg, ""), r->name);
		return;
	}
	fill(&p->peer, ce_msg_get(msg, "lastpeerid"));
	leave(t, p, now, ce_msg_get(msg, "reason"));
}

static void on_talk(
        struct ce_mon_track *t, struct room *r, const struct ce_msg *msg, bool start, gint64 now)
{
	const char *leg = ce_msg_get(msg, "id");
	struct part *p;

	if (!leg || !*leg) {
		WARN(t, now, "chan.notify talker event in room '%s' without id, ignored", r->name);
		return;
	}
	r->explicit_talk = true;
	p = part_find(t, r, leg, now);
	if (!p)
		return;
	fill(&p->peer, ce_msg_get(msg, "peerid"));
	if (start)
		talk_start(t, p, (int)ce_msg_get_int(msg, "energy", -1, -1, G_MAXINT), now);
	else
		talk_stop(t, p, now);
}

/* Index of "speaker.N" (N - 1) or, with @energy, of "speaker.N.energy"; -1 otherwise. */
static long speaker_slot(const char *name, bool *energy)
{
	char *end;
	long n;

	if (strncmp(name, "speaker.", 8) || name[8] < '1' || name[8] > '9')
		return -1;
	n = strtol(name + 8, &end, 10);
	*energy = !strcmp(end, ".energy");
	if (*end && !*energy)
		return -1;
	return n - 1;
}

static bool in_list(const char *const *ids, unsigned n, const char *leg)
{
	for (unsigned i = 0; i < n; i++) {
		if (ids[i] && !strcmp(ids[i], leg))
			return true;
	}
	return false;
}

/* Yate's top-N list of talkers: appearing = start, disappearing = stop. */
static void on_speaking(
        struct ce_mon_track *t, struct room *r, const struct ce_msg *msg, gint64 now)
{
	unsigned cap = t->lim.max_speakers, n = cap;
	const char **ids = g_new0(const char *, cap);
	int *energy = g_new(int, cap);
	long count = ce_msg_get_int(msg, "speakers", -1, -1, G_MAXLONG);

	for (unsigned i = 0; i < cap; i++)
		energy[i] = -1;
	if (count > (long)cap)
		WARN(t, now, "chan.notify: room '%s' lists %ld speakers, reading the first %u",
		        r->name, count, cap);
	if (count >= 0 && count < (long)cap)
		n = (unsigned)count;
	for (unsigned i = 0; i < ce_msg_count(msg); i++) {
		const struct ce_param *pm = ce_msg_param(msg, i);
		bool is_energy;
		long k = speaker_slot(pm->name, &is_energy);

		if (k < 0 || k >= (long)n || !pm->value || !*pm->value)
			continue;
		if (is_energy)
			energy[k] = (int)CLAMP(strtol(pm->value, NULL, 10), 0, G_MAXINT);
		else if (!ids[k] && !in_list(ids, n, pm->value))
			ids[k] = pm->value;
	}
	for (guint i = r->talkers->len; i-- > 0;) {
		struct part *p = g_ptr_array_index(r->talkers, i);

		if (!in_list(ids, n, p->leg))
			talk_stop(t, p, now);
	}
	for (unsigned i = 0; i < n; i++) {
		struct part *p = ids[i] ? part_find(t, r, ids[i], now) : NULL;

		if (p)
			talk_start(t, p, energy[i], now);
	}
	g_free(ids);
	g_free(energy);
}

/* The room is gone: everyone still in it leaves, then "destroyed". */
static void room_end(
        struct ce_mon_track *t, struct room *r, gint64 now, const char *reason, bool destroyed)
{
	GList *parts = g_hash_table_get_values(r->parts);

	for (GList *l = parts; l; l = l->next)
		leave(t, l->data, now, reason);
	g_list_free(parts);
	if (destroyed)
		emit_simple(t, r, NULL, CE_MON_DESTROYED, now, NULL);
	g_hash_table_remove(t->rooms, r->key);
}

static void on_recording(
        struct ce_mon_track *t, struct room *r, const struct ce_msg *msg, gint64 now)
{
	const char *file = ce_msg_get(msg, "record");

	emit_simple(t, r, NULL, file && *file ? CE_MON_RECORD_START : CE_MON_RECORD_STOP, now,
	        file && *file ? file : NULL);
}

static void on_mute(
        struct ce_mon_track *t, struct room *r, const struct ce_msg *msg, bool mute, gint64 now)
{
	const char *leg = ce_msg_get(msg, "id");
	struct part *p = leg ? part_find(t, r, leg, now) : NULL;

	if (p)
		emit_simple(t, r, p, mute ? CE_MON_MUTE : CE_MON_UNMUTE, now, NULL);
	else
		WARN(t, now, "chan.notify mute event in room '%s' without a known id", r->name);
}

static void room_update(struct room *r, const struct ce_msg *msg)
{
	const char *cid = ce_msg_get(msg, "conference_id");

	r->users = (int)ce_msg_get_int(msg, "users", r->users, 0, G_MAXINT);
	r->maxusers = (int)ce_msg_get_int(msg, "maxusers", r->maxusers, 0, G_MAXINT);
	if (cid)
		r->conference_id = ce_msg_get_int(msg, "conference_id", 0, 0, G_MAXINT64);
}

static void dispatch(struct ce_mon_track *t, struct room *r, const char *event,
        const struct ce_msg *msg, bool created, gint64 now)
{
	if (!strcmp(event, "created"))
		on_created(t, r, msg, created, now);
	else if (!strcmp(event, "joined"))
		on_joined(t, r, msg, now);
	else if (!strcmp(event, "left"))
		on_left(t, r, msg, now);
	else if (!strcmp(event, "speaking")) {
		if (r->source == CE_MON_SRC_YATE && !r->explicit_talk)
			on_speaking(t, r, msg, now);
	} else if (!strcmp(event, "talkstart") || !strcmp(event, "talkstop"))
		on_talk(t, r, msg, !strcmp(event, "talkstart"), now);
	else if (!strcmp(event, "talker"))
		on_talk(t, r, msg, ce_msg_get_bool(msg, "talking", false), now);
	else if (!strcmp(event, "mute") || !strcmp(event, "unmute"))
		on_mute(t, r, msg, event[0] == 'm', now);
	else if (!strcmp(event, "recording"))
		on_recording(t, r, msg, now);
	else if (!strcmp(event, "destroyed"))
		room_end(t, r, now, "destroyed", true);
	else
		t->st.ignored++;
}

/**
 * Feed one chan.notify meant for the monitor (@room: its room name, never
 * NULL) from @src at time @now; events and CDRs come out through the ops.
 */
void ce_mon_track_notify(struct ce_mon_track *t, const struct ce_msg *msg, const char *room,
        enum ce_mon_source src, gint64 now)
{
	const char *event = ce_msg_get(msg, "event");
	struct room *r;
	bool created;

	t->st.notifies++;
	if (!event || !*event || !*room) {
		WARN(t, now, "chan.notify targetid=%s without %s, ignored",
		        str_or(ce_msg_get(msg, "targetid"), ""), *room ? "event" : "room");
		t->st.ignored++;
		return;
	}
	r = room_get(t, room, ce_msg_get(msg, "targetid"), src, now,
	        strcmp(event, "destroyed") != 0, &created);
	if (!r) {
		t->st.ignored++;
		return;
	}
	room_update(r, msg);
	dispatch(t, r, event, msg, created, now);
}

static void calls_expire(struct ce_mon_track *t, gint64 now)
{
	struct call *c;

	while ((c = g_queue_peek_head(&t->call_order)) &&
	        (now - c->at > t->lim.call_ttl_us ||
	                g_queue_get_length(&t->call_order) >= t->lim.max_calls)) {
		g_queue_pop_head(&t->call_order);
		g_hash_table_remove(t->calls, c->peerid);
	}
}

/**
 * A call.execute report: a handled one whose peerid joins a conference
 * (callto=conf/..., or our own ce_room marker) gives that leg's caller,
 * called and billid, now or when it joins.
 */
void ce_mon_track_execute(struct ce_mon_track *t, const struct ce_msg *msg, gint64 now)
{
	const char *peerid = ce_msg_get(msg, "peerid");
	const char *callto = ce_msg_get_def(msg, "callto", "");
	struct part *p;
	struct call *c;

	if (!peerid || !*peerid)
		return;
	p = g_hash_table_lookup(t->legs, peerid);
	if (!p && !g_str_has_prefix(callto, "conf/") && !ce_msg_get(msg, "ce_room"))
		return;
	c = g_new0(struct call, 1);
	c->peerid = field(peerid);
	c->id = field(ce_msg_get(msg, "id"));
	c->caller = field(ce_msg_get(msg, "caller"));
	c->called = field(ce_msg_get(msg, "called"));
	c->billid = field(ce_msg_get(msg, "billid"));
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
}

/**
 * chan.disconnected / chan.hangup of a participant's leg: keeps its reason
 * and billid; chan.hangup after "left" writes the CDR at once.
 */
void ce_mon_track_hangup(struct ce_mon_track *t, const struct ce_msg *msg, gint64 now)
{
	const char *id = ce_msg_get(msg, "id");
	struct part *p = id ? g_hash_table_lookup(t->legs, id) : NULL;

	if (!p)
		return;
	fill(&p->billid, ce_msg_get(msg, "billid"));
	fill(&p->reason, ce_msg_get(msg, "reason"));
	if (!p->room && !strcmp(msg->name, "chan.hangup"))
		write_cdr(t, p);
}

/**
 * Write the CDRs whose wait for chan.hangup is over at @now.  Returns when
 * the next one is due (microseconds since the epoch), or 0 if none waits.
 */
gint64 ce_mon_track_expire(struct ce_mon_track *t, gint64 now)
{
	struct part *p;

	while ((p = g_queue_peek_head(&t->pending)) && p->left_at + t->lim.cdr_delay_us <= now)
		write_cdr(t, p);
	calls_expire(t, now);
	return p ? p->left_at + t->lim.cdr_delay_us : 0;
}

/** Everyone leaves (@reason), every waiting CDR is written; for shutdown. */
void ce_mon_track_end_all(struct ce_mon_track *t, gint64 now, const char *reason)
{
	GList *rooms = g_hash_table_get_values(t->rooms);
	struct part *p;

	for (GList *l = rooms; l; l = l->next)
		room_end(t, l->data, now, reason, false);
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
		st->talking += ((struct room *)v)->talkers->len;
}
