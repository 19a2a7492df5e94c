/* timers.c - schedule timers: conferences near or running, start, end alert, end on time */
#define G_LOG_DOMAIN "schedule"

#include <string.h>

#include "bus.h"
#include "engine.h"
#include "message.h"
#include "modules/conference/conference.h"
#include "modules/schedule/schedule-priv.h"
#include "modules/store/store.h"

/*
 * The module keeps the conferences it knows to be near or running: those
 * a caller was admitted to, and those a poll of the store (every
 * poll_interval seconds: rows overlapping [now - 1 day, now + 2 polls])
 * returned.  Each tick, with the engine's clock:
 *
 *   starts_at reached      dial the participants marked dial_out
 *   ends_at - end_alert_s  "end-alert" event, chan.notify event=endalert to
 *                          the room's notify target, and the nearest of the
 *                          end-1min / end-5min / end-10min prompts played
 *                          to the room
 *   end - ENDED_LEAD       "ended.wav" played to the room, so that it is
 *                          heard before the legs go
 *   ends_at + end_grace_s  "end" event, call.drop id=conf/ROOM
 *                          reason=schedule-ended (every leg dropped, the
 *                          room closes), pending dial-outs hung up
 *
 * A conference cancelled while running ends at the next tick.  Ended
 * conferences are forgotten a day after their end.
 */

#define KEEP_AFTER_END ((gint64)24 * 3600 * G_USEC_PER_SEC)
/* How long before the drop the "conference has ended" prompt starts. */
#define ENDED_LEAD ((gint64)3 * G_USEC_PER_SEC)

/* Play a shipped prompt to the whole room; a room without the conference
 * module (or without audio yet) only loses the announcement. */
static void announce(struct sched *s, const struct sconf *sc, const char *prompt)
{
	int e = ce_conference_play(ce_conference_service(s->ce), sc->c->room, prompt, NULL, false);

	if (e)
		g_info("room %s: prompt %s not played: %s", sc->c->room, prompt, g_strerror(-e));
	else
		g_message("room %s: announcing %s", sc->c->room, prompt);
}

/** ce_sched_sconf_free() - GDestroyNotify of a tracked conference */
void ce_sched_sconf_free(gpointer data)
{
	struct sconf *sc = data;

	ce_conference_unref(sc->c);
	g_hash_table_destroy(sc->callers);
	g_free(sc);
}

/** ce_sched_find() - the tracked conference with row id @id, or NULL */
struct sconf *ce_sched_find(struct sched *s, gint64 id)
{
	return g_hash_table_lookup(s->confs, &id);
}

static struct sconf *find_key(struct sched *s, const char *key, bool access_too)
{
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, s->confs);
	while (key && g_hash_table_iter_next(&it, NULL, &v)) {
		struct sconf *sc = v;
		if (!sc->ended && (!strcmp(sc->c->room, key) ||
		                          (access_too && !g_strcmp0(sc->c->access_number, key))))
			return sc;
	}
	return NULL;
}

/** ce_sched_find_room() - a tracked, not yet ended conference of room @room, or NULL */
struct sconf *ce_sched_find_room(struct sched *s, const char *room)
{
	return find_key(s, room, false);
}

/** ce_sched_find_key() - like ce_sched_find_room(), by room or access number */
struct sconf *ce_sched_find_key(struct sched *s, const char *key)
{
	return find_key(s, key, true);
}

/**
 * ce_sched_track() - start tracking conference @c or refresh the row of a
 * tracked one (times may have moved, it may be cancelled).  Returns it.
 */
struct sconf *ce_sched_track(struct sched *s, struct ce_conference *c)
{
	struct sconf *sc = ce_sched_find(s, c->id);

	if (sc) {
		struct ce_conference *old = sc->c;
		sc->c = ce_conference_ref(c);
		/* a later end (extended, or moved in the database): warned and ended anew */
		if (old->ends_at != c->ends_at)
			sc->alerted = sc->announced = false;
		ce_conference_unref(old);
		return sc;
	}
	sc = g_new0(struct sconf, 1);
	sc->id = c->id;
	sc->c = ce_conference_ref(c);
	sc->callers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_hash_table_insert(s->confs, &sc->id, sc);
	return sc;
}

static void add_event(
        struct sched *s, struct sconf *sc, enum ce_event_kind kind, gint64 now, const char *detail)
{
	struct ce_store *st = ce_store_of(s->ce);
	struct ce_event ev = {
	        .kind = kind,
	        .at = now,
	        .room = sc->c->room,
	        .conference_id = sc->c->id,
	        .detail = (char *)detail,
	};

	if (st)
		ce_store_add_event(st, &ev);
}

static void end_alert(struct sched *s, struct sconf *sc, gint64 now)
{
	gint64 left = (sc->c->ends_at - now) / G_USEC_PER_SEC;
	char *detail = g_strdup_printf("ends in %" G_GINT64_FORMAT " s", left);
	struct ce_msg *m;

	sc->alerted = true;
	g_message("conference %" G_GINT64_FORMAT " room %s: end alert, %s", sc->c->id, sc->c->room,
	        detail);
	add_event(s, sc, CE_EVENT_END_ALERT, now, detail);
	ce_msg_new(&m, "chan.notify");
	ce_msg_setf(m, "targetid", "%s%s", s->set.notify_prefix, sc->c->room);
	ce_msg_set(m, "event", "endalert");
	ce_msg_set(m, "room", sc->c->room);
	ce_msg_setf(m, "conference_id", "%" G_GINT64_FORMAT, sc->c->id);
	ce_msg_setf(m, "remaining", "%" G_GINT64_FORMAT, left);
	ce_sched_send(s, m);
	announce(s, sc,
	        left <= 90    ? "end-1min.wav"
	        : left <= 400 ? "end-5min.wav"
	                      : "end-10min.wav");
	g_free(detail);
}

static void end_conf(struct sched *s, struct sconf *sc, gint64 now, const char *why)
{
	struct ce_msg *m;
	GHashTableIter it;
	gpointer k;

	sc->ended = true;
	s->ended++;
	ce_sched_dial_end(s, sc->c->id);
	g_hash_table_iter_init(&it, sc->callers);
	while (g_hash_table_iter_next(&it, &k, NULL))
		g_hash_table_remove(s->callers, k);
	g_hash_table_remove_all(sc->callers);
	if (!sc->live)
		return;
	g_message(
	        "conference %" G_GINT64_FORMAT " room %s: ended (%s)", sc->c->id, sc->c->room, why);
	add_event(s, sc, CE_EVENT_END, now, why);
	/*
	 * On the bus, not through the conference service that plays the
	 * prompts: this one call.drop reaches whoever runs conf/ROOM (the
	 * conference module's handler, else Yate's own conference module when
	 * ours is not loaded), and the monitor's local handler learns the
	 * reason from it before the legs go.
	 */
	ce_msg_new(&m, "call.drop");
	ce_msg_setf(m, "id", "conf/%s", sc->c->room);
	ce_msg_set(m, "reason", why);
	ce_sched_send(s, m);
}

static void run_one(struct sched *s, struct sconf *sc, gint64 now)
{
	const struct ce_conference *c = sc->c;
	gint64 end = c->ends_at + (gint64)MAX(c->end_grace_s, 0) * G_USEC_PER_SEC;

	if (sc->ended)
		return;
	if (c->cancelled &&
	        now >= c->starts_at - (gint64)MAX(c->early_join_s, 0) * G_USEC_PER_SEC) {
		end_conf(s, sc, now, "schedule-cancelled");
		return;
	}
	if (now >= end) {
		end_conf(s, sc, now, s->set.end_reason);
		return;
	}
	if (!sc->announced && sc->live && now >= end - ENDED_LEAD) {
		sc->announced = true;
		announce(s, sc, "ended.wav");
	}
	if (!sc->started && now >= c->starts_at && now < c->ends_at) {
		sc->started = true;
		if (s->set.dialout)
			ce_sched_dial_start(s, sc);
	}
	if (!sc->alerted && sc->live && c->end_alert_s > 0 &&
	        now >= c->ends_at - (gint64)c->end_alert_s * G_USEC_PER_SEC && now < c->ends_at)
		end_alert(s, sc, now);
}

/** ce_sched_run() - one evaluation of every timer at time @now */
void ce_sched_run(struct sched *s, gint64 now)
{
	GHashTableIter it;
	gpointer v;

	now = CLAMP(now, CE_STORE_TIME_MIN, CE_STORE_TIME_MAX);
	if (now >= s->next_poll)
		ce_sched_poll(s);
	g_hash_table_iter_init(&it, s->confs);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct sconf *sc = v;
		run_one(s, sc, now);
		if (sc->ended && now > sc->c->ends_at + KEEP_AFTER_END)
			g_hash_table_iter_remove(&it);
	}
	ce_sched_dial_run(s, now);
}

/* @arg: a struct sched_ref. */
static void on_list(int err, GPtrArray *rows, void *arg)
{
	struct sched *s = ((struct sched_ref *)arg)->s;

	if (!s)
		return;
	s->polling = false;
	if (err < 0)
		g_info("reading the schedule failed: %s", g_strerror(-err));
	for (guint i = 0; err == 0 && rows && i < rows->len; i++) {
		struct ce_conference *c = g_ptr_array_index(rows, i);
		struct sconf *sc = ce_sched_find(s, c->id);
		if (!sc || !sc->ended)
			ce_sched_track(s, c);
	}
	ce_sched_run(s, ce_engine_now(s->ce));
	if (s->repoll) {
		s->repoll = false;
		ce_sched_poll(s);
	}
}

/** ce_sched_poll() - read the conferences around now from the store (asynchronous) */
void ce_sched_poll(struct sched *s)
{
	struct ce_store *st = ce_store_of(s->ce);
	gint64 now = CLAMP(ce_engine_now(s->ce), CE_STORE_TIME_MIN, CE_STORE_TIME_MAX);
	gint64 ahead = 2 * (gint64)s->set.poll_s * G_USEC_PER_SEC;
	struct sched_ref *ref;

	s->next_poll = now + (gint64)s->set.poll_s * G_USEC_PER_SEC;
	if (s->polling)
		s->repoll = true; /* rows written meanwhile must be seen */
	if (!st || s->polling)
		return;
	ref = ce_sched_ref(s);
	if (ce_store_list_conferences(
	            st, now - KEEP_AFTER_END, now + ahead, on_list, ref, ce_sched_ref_drop) == 0)
		s->polling = true;
	else
		ce_sched_ref_drop(ref);
}
