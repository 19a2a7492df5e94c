/* schedule.h - the scheduled-conference service: what tests and other modules may call */
#ifndef CE_SCHEDULE_H
#define CE_SCHEDULE_H

#include <stdbool.h>
#include <glib.h>

struct ce_engine;
struct ce_msg;

/*
 * The schedule module (docs/schedule.md) admits callers of schedule/KEY and
 * of conf/ rooms bound to a scheduled conference, warns and ends
 * conferences on time and dials participants out.  Its timers read
 * ce_engine_now(), so a test that drives a fake clock calls
 * ce_schedule_tick() instead of waiting for the 1 s GLib timer.
 */

void ce_schedule_tick(struct ce_engine *ce);
void ce_schedule_poll(struct ce_engine *ce);
unsigned ce_schedule_n_active(struct ce_engine *ce);

/*
 * Asking whether a caller gets into a scheduled conference, for callers
 * who are not dialling schedule/KEY with everything on the call: the
 * lobby (modules/conference/lobby.c) asks with the number and PIN the
 * caller keyed in, or with only the caller's number to recognise them.
 * The same rules as schedule/KEY (window, PIN, capacity, the PIN guard)
 * decide; the answer comes later, on the main loop, never from inside
 * ce_schedule_ask().
 */
enum ce_sched_verdict {
	CE_SCHED_IN,          /* admitted: join holds the join's parameters */
	CE_SCHED_NEED_PIN,    /* a PIN is needed (key says which conference) */
	CE_SCHED_BAD_PIN,     /* wrong PIN (the guard counted it) */
	CE_SCHED_LOCKED,      /* too many wrong PINs: refused for locked_s seconds */
	CE_SCHED_NOT_STARTED, /* starts_at, time_zone say when */
	CE_SCHED_ENDED,
	CE_SCHED_CANCELLED,
	CE_SCHED_NONE, /* nothing scheduled under that number (or for that caller) now */
	CE_SCHED_FULL,
	CE_SCHED_UNAVAILABLE, /* no schedule module, database down or too slow */
};

struct ce_sched_ask {
	const char *key;    /* the conference number; NULL or "": recognise the caller */
	const char *pin;    /* NULL: none entered yet */
	const char *caller; /* the caller's number (recognition, the guard); may be NULL */
	const char *chan;   /* the caller's channel id: counted in the conference once in */
};

struct ce_sched_answer {
	enum ce_sched_verdict verdict;
	const char *error;  /* what a refused call.execute would carry: Yate error, */
	const char *reason; /* and reason= text (for logs and the hangup) */
	/* IN: the parameters the admitted call.execute would carry (callto=conf/ROOM,
	 * maxusers, notify, lang, conference_id, participant_*, ...); borrowed */
	const struct ce_msg *join;
	const char *key;       /* the conference's access number (NEED_PIN, IN), or NULL */
	gint64 starts_at;      /* NOT_STARTED: when (unix us) */
	const char *time_zone; /* NOT_STARTED: IANA name, or NULL for UTC */
	const char *lang;      /* the conference's language, or NULL */
	unsigned locked_s;     /* LOCKED: seconds until the caller may try again */
};

typedef void(ce_sched_answer_h)(const struct ce_sched_answer *a, void *arg);
struct ce_sched_query;

/*
 * ce_schedule_ask() returns NULL without a schedule module (@cb never
 * runs); else @cb runs exactly once, later, unless ce_schedule_cancel()
 * comes first.  The query is valid until @cb returns: forget it there.
 * Cancelling NULL, or from inside @cb, is a no-op.  A query pending when
 * the module stops is answered CE_SCHED_UNAVAILABLE (later, on the main
 * loop).  An empty key answers CE_SCHED_NONE until the store can
 * recognise callers by number.  docs/schedule.md has the verdicts.
 */

const char *ce_sched_verdict_name(enum ce_sched_verdict v);
struct ce_sched_query *ce_schedule_ask(
        struct ce_engine *ce, const struct ce_sched_ask *q, ce_sched_answer_h *cb, void *arg);
void ce_schedule_cancel(struct ce_sched_query *q);

/*
 * A moderator's "extend the conference by @minutes" (the keypad): the
 * scheduled conference of @room gets a later ends_at if the schedule
 * allows it.  @cb runs later on the main loop with 0 and the new ends_at
 * (unix us), or -ENOENT (not a scheduled conference's room), -EBUSY (it
 * would overlap the next booking of the same number), -ERANGE (past the
 * longest extension allowed), -EAGAIN (the database cannot answer now);
 * @destroy(@arg) after it, also when the module stops first.  Returns 0
 * or -errno (then @cb never runs and @destroy is not called).
 */
typedef void(ce_sched_extended_h)(int err, gint64 ends_at, void *arg);
int ce_schedule_extend(struct ce_engine *ce, const char *room, unsigned minutes,
        ce_sched_extended_h *cb, void *arg, GDestroyNotify destroy);

#endif
