/* track-notify.c - Yate's chan.notify read as room events (track-room.c) and speaking lists */
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
 * Each becomes a struct ce_room_event (parse) read as the engine's own
 * rooms' are (track-room.c).  The engine's rooms send the same to Yate,
 * plus event=talkstart/talkstop (energy=) and mute/unmute for one leg, but
 * the monitor takes theirs from the bus's room hook, never from here: a
 * chan.notify only ever comes from Yate (or, from a script, in the
 * engine's shape, which is read the same way).  For Yate's rooms the
 * talker events come from the speaking lists: a leg that appears is a
 * start, one that disappears (or leaves while in the list) a stop.  A room
 * that sends explicit talker events stops being read that way.
 */

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

/* The kind of room event @event is, with what it says in @ev; false if not one we follow. */
static bool parse(struct ce_room_event *ev, const char *event, const struct ce_msg *msg)
{
	static const struct {
		const char *name;
		enum ce_event_kind kind;
	} kinds[] = {
	        {"created", CE_EVENT_CREATED},
	        {"joined", CE_EVENT_ENTER},
	        {"left", CE_EVENT_LEAVE},
	        {"talkstart", CE_EVENT_TALK_START},
	        {"talkstop", CE_EVENT_TALK_STOP},
	        {"mute", CE_EVENT_MUTE},
	        {"unmute", CE_EVENT_UNMUTE},
	        {"recording", CE_EVENT_RECORD_START},
	        {"destroyed", CE_EVENT_END},
	};
	unsigned i = 0;

	if (!strcmp(event, "talker")) {
		ev->kind = ce_msg_get_bool(msg, "talking", false) ? CE_EVENT_TALK_START
		                                                  : CE_EVENT_TALK_STOP;
	} else {
		while (i < G_N_ELEMENTS(kinds) && strcmp(event, kinds[i].name))
			i++;
		if (i == G_N_ELEMENTS(kinds))
			return false;
		ev->kind = kinds[i].kind;
	}
	ev->leg = ce_msg_get(msg, "id");
	ev->peer = ce_msg_get(msg, ev->kind == CE_EVENT_LEAVE ? "lastpeerid" : "peerid");
	ev->energy = (int)ce_msg_get_int(msg, "energy", -1, -1, G_MAXINT);
	ev->resumed = ce_msg_get(msg, "resumed");
	ev->joined_ms = ce_msg_get_int(msg, "joined_ms", 0, 0, G_MAXINT32);
	ev->gone_ms = ce_msg_get_int(msg, "gone_ms", 0, 0, G_MAXINT32);
	ev->reason = ce_msg_get(msg, "reason");
	ev->record = ce_msg_get(msg, "record");
	if (ev->kind != CE_EVENT_RECORD_START)
		return true;
	if (ce_msg_get(msg, "error"))
		return false; /* conf-engine refused the file: nothing started */
	if (!ev->record || !*ev->record)
		ev->kind = CE_EVENT_RECORD_STOP; /* conf-engine: stopped by itself (disk full...) */
	return true;
}

/**
 * Feed one chan.notify meant for the monitor (@room: its room name, never
 * NULL) from @src at time @now; events and CDRs come out through the ops.
 */
void ce_mon_track_notify(struct ce_mon_track *t, const struct ce_msg *msg, const char *room,
        enum ce_room_source src, gint64 now)
{
	const char *event = ce_msg_get(msg, "event");
	struct ce_room_event ev;
	struct ce_mon_room *r;
	bool created, known;

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
	ce_room_event_init(&ev, CE_EVENT_N_KINDS);
	ev.users = (int)ce_msg_get_int(msg, "users", -1, 0, G_MAXINT);
	ev.maxusers = (int)ce_msg_get_int(msg, "maxusers", -1, 0, G_MAXINT);
	ce_room_who_read(&ev.who, msg);
	ce_mon_room_update(r, &ev);
	if (!strcmp(event, "speaking")) {
		if (r->source == CE_ROOM_SRC_YATE && !r->explicit_talk)
			on_speaking(t, r, msg, now);
		return;
	}
	known = parse(&ev, event, msg);
	if (!known || !ce_mon_room_event(t, r, &ev, created, now))
		t->st.ignored++;
}
