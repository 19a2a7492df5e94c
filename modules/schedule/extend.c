/* extend.c - a running scheduled conference made to end later (a moderator's keypad asks)
 *
 * ce_schedule_extend(room, minutes) finds the conference tracked for the
 * room and asks the store to move its ends_at, in one transaction, only
 * if the next booking of the same number or room does not open before the
 * new end (ce_store_extend_conference).  The extensions this engine made
 * to a conference add up to at most [schedule] extend_max minutes (kept
 * in memory: an engine restart starts counting again).  Once the store
 * agrees, the tracked row is replaced by the new one, so the end alert,
 * the "ended" prompt and the end itself move with it (timers.c).
 *
 * Every answer comes on the main loop, later: a verdict known at once
 * (not a scheduled room, too long) through an idle source, the others from
 * the store.  A module that stops first answers nobody: the caller's
 * @destroy still runs.
 */
#define G_LOG_DOMAIN "schedule"

#include <errno.h>

#include "engine.h"
#include "modules/schedule/schedule-priv.h"
#include "modules/schedule/schedule.h"
#include "modules/store/store.h"

struct extend {
	struct sched_ref *ref;
	gint64 conference_id;
	gint64 by_us;
	int err;     /* a verdict known at once, answered from an idle source */
	guint idle;  /* that source, removed if the module stops first */
	bool booked; /* by_us counts in the conference's extend_pending_us */
	ce_sched_extended_h *cb;
	void *arg;
	GDestroyNotify destroy;
};

static void extend_free(gpointer data)
{
	struct extend *x = data;
	struct sched *s = x->ref->s;
	struct sconf *sc = s && x->booked ? ce_sched_find(s, x->conference_id) : NULL;

	if (sc)
		sc->extend_pending_us -= x->by_us;
	if (s && x->idle)
		g_ptr_array_remove_fast(s->extends, x);
	if (x->destroy)
		x->destroy(x->arg);
	ce_sched_ref_drop(x->ref);
	g_free(x);
}

/* The store's errors the caller can only wait out. */
static int verdict(int err)
{
	return err == -ENOENT || err == -EBUSY || err == -ERANGE || err == 0 ? err : -EAGAIN;
}

/* The store answered, on the main loop. */
static void on_extended(int err, const struct ce_conference *c, void *arg)
{
	struct extend *x = arg;
	struct sched *s = x->ref->s;
	struct sconf *sc = s ? ce_sched_find(s, x->conference_id) : NULL;

	if (!s)
		return;
	if (!err && c) {
		if (sc)
			sc->extended_us += x->by_us;
		ce_sched_track(s, (struct ce_conference *)c);
		g_message("conference %" G_GINT64_FORMAT " room %s: extended by %" G_GINT64_FORMAT
		          " min, now ends at %" G_GINT64_FORMAT,
		        c->id, c->room, x->by_us / (60 * G_USEC_PER_SEC),
		        c->ends_at / G_USEC_PER_SEC);
	} else {
		g_message("conference %" G_GINT64_FORMAT ": extension by %" G_GINT64_FORMAT
		          " min refused: %s",
		        x->conference_id, x->by_us / (60 * G_USEC_PER_SEC), g_strerror(-err));
	}
	x->cb(verdict(err), !err && c ? c->ends_at : 0, x->arg);
}

static gboolean answer_now(gpointer data)
{
	struct extend *x = data;

	x->idle = 0;
	g_ptr_array_remove_fast(x->ref->s->extends, x);
	if (x->err == -ERANGE)
		g_message("conference %" G_GINT64_FORMAT ": extension by %" G_GINT64_FORMAT
		          " min refused: past [schedule] extend_max",
		        x->conference_id, x->by_us / (60 * G_USEC_PER_SEC));
	x->cb(x->err, 0, x->arg);
	return G_SOURCE_REMOVE;
}

/* Answer @x with @err from an idle source (the module keeps it until then). */
static void answer_later(struct sched *s, struct extend *x, int err)
{
	x->err = err;
	x->idle = g_idle_add_full(G_PRIORITY_DEFAULT, answer_now, x, extend_free);
	g_ptr_array_add(s->extends, x);
}

/* Whether @sc may still be extended by @by_us: the total this engine granted, asked included. */
static bool within_max(const struct sched *s, const struct sconf *sc, gint64 by_us)
{
	return sc->extended_us + sc->extend_pending_us + by_us <=
	       (gint64)s->set.extend_max_min * 60 * G_USEC_PER_SEC;
}

static void ask_store(struct sched *s, struct sconf *sc, struct extend *x)
{
	struct ce_store *st = ce_store_of(s->ce);

	x->booked = true;
	sc->extend_pending_us += x->by_us;
	if (!st || ce_store_extend_conference(st, sc->id, x->by_us, on_extended, x, extend_free)) {
		sc->extend_pending_us -= x->by_us;
		x->booked = false;
		answer_later(s, x, -EAGAIN);
	}
}

/** See schedule.h. */
int ce_schedule_extend(struct ce_engine *ce, const char *room, unsigned minutes,
        ce_sched_extended_h *cb, void *arg, GDestroyNotify destroy)
{
	struct sched *s = ce ? ce_engine_service(ce, "schedule") : NULL;
	struct sconf *sc;
	struct extend *x;

	if (!room || !*room || !cb || !minutes || minutes > 24 * 60)
		return -EINVAL;
	if (!s)
		return -ENODEV;
	sc = ce_sched_find_room(s, room);
	x = g_new0(struct extend, 1);
	x->ref = ce_sched_ref(s);
	x->conference_id = sc ? sc->id : 0;
	x->by_us = (gint64)minutes * 60 * G_USEC_PER_SEC;
	x->cb = cb;
	x->arg = arg;
	x->destroy = destroy;
	if (!sc || sc->c->cancelled)
		answer_later(s, x, -ENOENT);
	else if (!within_max(s, sc, x->by_us))
		answer_later(s, x, -ERANGE);
	else
		ask_store(s, sc, x);
	return 0;
}

/** ce_sched_extend_exit() - the module stops: answers not yet given never will be */
void ce_sched_extend_exit(struct sched *s)
{
	while (s->extends && s->extends->len) {
		struct extend *x = g_ptr_array_index(s->extends, s->extends->len - 1);

		g_source_remove(x->idle); /* extend_free takes it off the list */
	}
	g_clear_pointer(&s->extends, g_ptr_array_unref);
}
