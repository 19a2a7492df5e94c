/* track-notify.c - the tracker's reading of each chan.notify event: joined, left, speaking, ... */
#define G_LOG_DOMAIN "monitor"

#include <stdlib.h>
#include <string.h>

#include "message.h"
#include "monitor.h"
#include "track-priv.h"

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
 * billid complete the CDR).  call.execute reports say who a leg is
 * (struct ce_mon_who), which Yate's rooms do not put in "joined"; the
 * engine's rooms do.
 *
 * A "joined" with resumed=REASON joined_ms=N is a leg that an engine which
 * died had in its room: its enter was reported then, N ms ago, so no
 * second enter is made; its "left" and CDR follow with their real times.
 */

static void on_created(struct ce_mon_track *t, struct ce_mon_room *r, const struct ce_msg *msg,
        bool created, gint64 now)
{
	ce_mon_who_read(&r->who, msg);
	if (created)
		ce_mon_emit(t, r, NULL, CE_MON_CREATED, now, NULL);
}

static void on_joined(
        struct ce_mon_track *t, struct ce_mon_room *r, const struct ce_msg *msg, gint64 now)
{
	const char *leg = ce_msg_get(msg, "id");
	struct ce_mon_part *p;

	if (!leg || !*leg) {
		WARN(t, now, "chan.notify event=joined in room '%s' without id, ignored", r->name);
		return;
	}
	if (g_hash_table_lookup(r->parts, leg)) {
		WARN(t, now, "chan.notify: '%s' joined room '%s' twice, ignored", leg, r->name);
		return;
	}
	p = ce_mon_part_find(t, r, leg, now);
	if (!p)
		return;
	ce_mon_fill(&p->peer, ce_msg_get(msg, "peerid"));
	ce_mon_who_read(&p->who, msg);
	if (g_hash_table_size(r->parts) == 1 && !p->who.caller) {
		/* Yate's "created" names the call that made the room: this one. */
		ce_mon_who_add(&p->who, &r->who);
	}
	if (r->who.conference_id <= 0)
		r->who.conference_id = p->who.conference_id; /* a Yate room of a scheduled call */
	if (ce_msg_get(msg, "resumed")) {
		/* a leg of an engine that died (recover.c): its enter was told then, when
		 * it joined joined_ms ago; only its leave and CDR are still to come */
		p->joined_at =
		        now - (gint64)ce_msg_get_int(msg, "joined_ms", 0, 0, G_MAXINT32) * 1000;
		return;
	}
	ce_mon_emit(t, r, p, CE_MON_ENTER, now, NULL);
}

static void on_left(
        struct ce_mon_track *t, struct ce_mon_room *r, const struct ce_msg *msg, gint64 now)
{
	const char *leg = ce_msg_get(msg, "id");
	struct ce_mon_part *p = leg ? g_hash_table_lookup(r->parts, leg) : NULL;
	gint64 gone;

	if (!p) {
		WARN(t, now, "chan.notify event=left for unknown leg '%s' in room '%s', ignored",
		        str_or(leg, ""), r->name);
		return;
	}
	ce_mon_fill(&p->peer, ce_msg_get(msg, "lastpeerid"));
	/* a leg whose Yate went away left before anyone could tell (gone_ms) */
	gone = (gint64)ce_msg_get_int(msg, "gone_ms", 0, 0, G_MAXINT32) * 1000;
	ce_mon_leave(t, p, MAX(now - gone, MIN(p->joined_at, now)), ce_msg_get(msg, "reason"));
}

static void on_talk(struct ce_mon_track *t, struct ce_mon_room *r, const struct ce_msg *msg,
        bool start, gint64 now)
{
	const char *leg = ce_msg_get(msg, "id");
	struct ce_mon_part *p;

	if (!leg || !*leg) {
		WARN(t, now, "chan.notify talker event in room '%s' without id, ignored", r->name);
		return;
	}
	r->explicit_talk = true;
	p = ce_mon_part_find(t, r, leg, now);
	if (!p)
		return;
	ce_mon_fill(&p->peer, ce_msg_get(msg, "peerid"));
	if (start)
		ce_mon_talk_start(t, p, (int)ce_msg_get_int(msg, "energy", -1, -1, G_MAXINT), now);
	else
		ce_mon_talk_stop(t, p, now);
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
        struct ce_mon_track *t, struct ce_mon_room *r, const struct ce_msg *msg, gint64 now)
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
		struct ce_mon_part *p = g_ptr_array_index(r->talkers, i);

		if (!in_list(ids, n, p->leg))
			ce_mon_talk_stop(t, p, now);
	}
	for (unsigned i = 0; i < n; i++) {
		struct ce_mon_part *p = ids[i] ? ce_mon_part_find(t, r, ids[i], now) : NULL;

		if (p)
			ce_mon_talk_start(t, p, energy[i], now);
	}
	g_free(ids);
	g_free(energy);
}

static void on_recording(
        struct ce_mon_track *t, struct ce_mon_room *r, const struct ce_msg *msg, gint64 now)
{
	const char *file = ce_msg_get(msg, "record");

	if (ce_msg_get(msg, "error"))
		return; /* conf-engine refused the file: nothing started */
	if (file && *file)
		ce_mon_emit(t, r, NULL, CE_MON_RECORD_START, now, file);
	else /* conf-engine says why a recording stopped by itself (disk full...) */
		ce_mon_emit(t, r, NULL, CE_MON_RECORD_STOP, now, ce_msg_get(msg, "reason"));
}

static void on_mute(struct ce_mon_track *t, struct ce_mon_room *r, const struct ce_msg *msg,
        bool mute, gint64 now)
{
	const char *leg = ce_msg_get(msg, "id");
	struct ce_mon_part *p = leg ? ce_mon_part_find(t, r, leg, now) : NULL;

	if (p)
		ce_mon_emit(t, r, p, mute ? CE_MON_MUTE : CE_MON_UNMUTE, now, NULL);
	else
		WARN(t, now, "chan.notify mute event in room '%s' without a known id", r->name);
}

static void room_update(struct ce_mon_room *r, const struct ce_msg *msg)
{
	const char *cid = ce_msg_get(msg, "conference_id");

	r->users = (int)ce_msg_get_int(msg, "users", r->users, 0, G_MAXINT);
	r->maxusers = (int)ce_msg_get_int(msg, "maxusers", r->maxusers, 0, G_MAXINT);
	if (cid)
		r->who.conference_id = ce_msg_get_int(msg, "conference_id", 0, 0, G_MAXINT64);
}

static void dispatch(struct ce_mon_track *t, struct ce_mon_room *r, const char *event,
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
		ce_mon_room_end(t, r, now, "destroyed", true);
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
	struct ce_mon_room *r;
	bool created;

	t->st.notifies++;
	if (!event || !*event || !*room) {
		WARN(t, now, "chan.notify targetid=%s without %s, ignored",
		        str_or(ce_msg_get(msg, "targetid"), ""), *room ? "event" : "room");
		t->st.ignored++;
		return;
	}
	r = ce_mon_room_get(t, room, ce_msg_get(msg, "targetid"), src, now,
	        strcmp(event, "destroyed") != 0, &created);
	if (!r) {
		t->st.ignored++;
		return;
	}
	room_update(r, msg);
	dispatch(t, r, event, msg, created, now);
}
