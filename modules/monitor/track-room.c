/* track-room.c - the tracker's reading of one room event: created, enter, leave, talk, mute, ... */
#define G_LOG_DOMAIN "monitor"

#include "monitor.h"
#include "track-priv.h"

/*
 * One reading for both sources: the engine's own rooms hand their struct
 * ce_room_event in directly (ce_mon_track_room, from the bus's room hook);
 * Yate's chan.notify is parsed into the same struct first (track-notify.c).
 *
 * A participant lives in t->legs from "enter" until its CDR is written:
 * after "leave", it waits up to cdr_delay for chan.hangup (whose reason
 * and billid complete the CDR).  call.execute reports say who a leg is
 * (struct ce_mon_who), which Yate's rooms do not put in "joined"; the
 * engine's rooms do.
 *
 * An ENTER with resumed= and joined_ms= is a leg that an engine which died
 * had in its room: its enter was reported then, joined_ms ago, so no
 * second enter is made; its leave and CDR follow with their real times.
 */

/* Hand out the monitor's record of @ev in @r, about @p (NULL: the room's own). */
static void tell(struct ce_mon_track *t, struct ce_mon_room *r, struct ce_mon_part *p,
        const struct ce_room_event *ev, gint64 now)
{
	struct ce_room_event rec;

	ce_mon_record(&rec, r, p, ev->kind, now);
	if (ev->kind == CE_EVENT_RECORD_START)
		rec.record = ev->record;
	else if (ev->kind == CE_EVENT_RECORD_STOP)
		rec.reason = ev->reason; /* stopped by itself (disk full...): why */
	else if (ev->kind == CE_EVENT_KEYPAD)
		rec.action = ev->action;
	ce_mon_emit(t, &rec);
}

static void on_created(struct ce_mon_track *t, struct ce_mon_room *r,
        const struct ce_room_event *ev, bool created, gint64 now)
{
	ce_mon_who_take(&r->who, &ev->who);
	if (created)
		tell(t, r, NULL, ev, now);
}

static void on_enter(
        struct ce_mon_track *t, struct ce_mon_room *r, const struct ce_room_event *ev, gint64 now)
{
	const char *leg = ev->leg;
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
	ce_mon_fill(&p->peer, ev->peer);
	ce_mon_who_take(&p->who, &ev->who);
	if (g_hash_table_size(r->parts) == 1 && !p->who.caller) {
		/* Yate's "created" names the call that made the room: this one. */
		ce_mon_who_add(&p->who, &r->who);
	}
	if (r->who.conference_id <= 0)
		r->who.conference_id = p->who.conference_id; /* a Yate room of a scheduled call */
	if (ev->resumed) {
		/* a leg of an engine that died (recover.c): its enter was told then, when
		 * it joined joined_ms ago; only its leave and CDR are still to come */
		p->joined_at = now - CLAMP(ev->joined_ms, 0, G_MAXINT32) * 1000;
		return;
	}
	tell(t, r, p, ev, now);
}

static void on_leave(
        struct ce_mon_track *t, struct ce_mon_room *r, const struct ce_room_event *ev, gint64 now)
{
	const char *leg = ev->leg;
	struct ce_mon_part *p = leg ? g_hash_table_lookup(r->parts, leg) : NULL;
	gint64 gone;

	if (!p) {
		WARN(t, now, "chan.notify event=left for unknown leg '%s' in room '%s', ignored",
		        str_or(leg, ""), r->name);
		return;
	}
	ce_mon_fill(&p->peer, ev->peer);
	/* a leg whose Yate went away left before anyone could tell (gone_ms) */
	gone = CLAMP(ev->gone_ms, 0, G_MAXINT32) * 1000;
	ce_mon_leave(t, p, MAX(now - gone, MIN(p->joined_at, now)), ev->reason);
}

static void on_talk(
        struct ce_mon_track *t, struct ce_mon_room *r, const struct ce_room_event *ev, gint64 now)
{
	const char *leg = ev->leg;
	struct ce_mon_part *p;

	if (!leg || !*leg) {
		WARN(t, now, "chan.notify talker event in room '%s' without id, ignored", r->name);
		return;
	}
	r->explicit_talk = true;
	p = ce_mon_part_find(t, r, leg, now);
	if (!p)
		return;
	ce_mon_fill(&p->peer, ev->peer);
	if (ev->kind == CE_EVENT_TALK_START)
		ce_mon_talk_start(t, p, ev->energy, now);
	else
		ce_mon_talk_stop(t, p, now);
}

static void on_mute(
        struct ce_mon_track *t, struct ce_mon_room *r, const struct ce_room_event *ev, gint64 now)
{
	struct ce_mon_part *p = ev->leg ? ce_mon_part_find(t, r, ev->leg, now) : NULL;

	if (p)
		tell(t, r, p, ev, now);
	else
		WARN(t, now, "%s event in room '%s' without a known id", ce_mon_kind_name(ev->kind),
		        r->name);
}

/** What @ev says about room @r itself: its users and maxusers, its conference. */
void ce_mon_room_update(struct ce_mon_room *r, const struct ce_room_event *ev)
{
	if (ev->users >= 0)
		r->users = ev->users;
	if (ev->maxusers >= 0)
		r->maxusers = ev->maxusers;
	if (ev->who.conference_id > 0)
		r->who.conference_id = ev->who.conference_id;
}

/**
 * Room event @ev in room @r (*@created: @r is new); false if its kind is
 * not one the tracker follows.
 */
bool ce_mon_room_event(struct ce_mon_track *t, struct ce_mon_room *r,
        const struct ce_room_event *ev, bool created, gint64 now)
{
	switch (ev->kind) {
	case CE_EVENT_CREATED:
		on_created(t, r, ev, created, now);
		break;
	case CE_EVENT_ENTER:
		on_enter(t, r, ev, now);
		break;
	case CE_EVENT_LEAVE:
		on_leave(t, r, ev, now);
		break;
	case CE_EVENT_TALK_START:
	case CE_EVENT_TALK_STOP:
		on_talk(t, r, ev, now);
		break;
	case CE_EVENT_MUTE:
	case CE_EVENT_UNMUTE:
	case CE_EVENT_KEYPAD:
		on_mute(t, r, ev, now);
		break;
	case CE_EVENT_RECORD_START:
	case CE_EVENT_RECORD_STOP:
	case CE_EVENT_LOCK:
	case CE_EVENT_UNLOCK:
		tell(t, r, NULL, ev, now);
		break;
	case CE_EVENT_END:
		ce_mon_room_end(t, r, now, "destroyed", true);
		break;
	default:
		return false;
	}
	return true;
}

/**
 * One room event of the engine's own rooms (the bus's room hook), from
 * @src at time @now; events and CDRs come out through the ops.
 */
void ce_mon_track_room(
        struct ce_mon_track *t, const struct ce_room_event *ev, enum ce_room_source src, gint64 now)
{
	struct ce_mon_room *r;
	bool created;

	t->st.notifies++;
	if (!ev->room || !*ev->room) {
		WARN(t, now, "room event without a room, ignored");
		t->st.ignored++;
		return;
	}
	r = ce_mon_room_get(t, ev->room, ev->target, src, now, ev->kind != CE_EVENT_END, &created);
	if (!r) {
		t->st.ignored++;
		return;
	}
	ce_mon_room_update(r, ev);
	if (!ce_mon_room_event(t, r, ev, created, now))
		t->st.ignored++;
}
