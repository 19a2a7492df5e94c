/* dialout.c - dialling participants out when their conference starts, with retries */
#define G_LOG_DOMAIN "schedule"

#include <string.h>

#include "bus.h"
#include "engine.h"
#include "message.h"
#include "modules/schedule/schedule-priv.h"
#include "modules/store/store.h"

/*
 * At starts_at every participant with dial_out=true is called (DESIGN §2,
 * transcript 2):
 *
 *   call.execute callto=dumb/ target=ADDRESS caller=<access number>
 *                callername=<title> ce_dialout=ROOM <room parameters>
 *                participant_id=ID participant_name=NAME participant_role=ROLE
 *                participant_number=ADDRESS participant_direction=out
 *
 * (direct=ADDRESS when the address is a Yate target such as sip/...; the
 * participant_* parameters say who is dialled, since caller= and
 * callername= are what the far end sees), and maxcall=dial_ring_timeout:
 * Yate's dumb driver hands maxcall to the channels of the call, and the
 * first whose timer runs out drops it with "noanswer" (Channel::checkTimers),
 * so a phone nobody answers stops ringing and the attempt counts as failed.
 * The conference module joins the new dumb/N to ROOM once the call is
 * connected.
 *
 * Connected means either of (Yate 6.4.1, dumbchan.cpp and Channel.cpp):
 * - the answer names the far channel (peerid) but no targetid: the far
 *   channel is a local one (tone/, wave/, moh/) that connected at once and
 *   never sends call.answered, and Yate's dumb driver answered dumb/N itself
 *   (Channel::callAccept answers a call that has no targetid); transcript 2
 *   shows exactly this for tone/milliwatt, with answered=true in dumb/4's
 *   chan.hangup;
 * - a phone (targetid=sip/9) rings and then sends call.answered naming
 *   dumb/N.
 * A chan.disconnected or chan.hangup of dumb/N that says answered=true is
 * Yate's own word that the call was connected, whatever we saw before.
 *
 * A failure - Yate's answer false with error=offline (or with no error:
 * see refusal()), or the dumb/N gone before it was connected with error
 * busy, noanswer, ... - is stored as one "leave" event with detail
 * "dial-out failed: ERROR" and the participant's identity (no CDR: the
 * participant never was in the room), and retried dial_retries times,
 * dial_retry_delay seconds apart, unless the error says retrying is
 * pointless (noroute, forbidden, rejected, ...).  A connected
 * dial-out that ends is the monitor's business (its leave and CDR carry the
 * real reason).  The conference's end hangs up dial-outs still ringing.
 */

static const char *const retryable[] = {"busy", "noanswer", "offline", "congestion", "timeout",
        "failure", "noconn", "service-unavailable"};

/* The store's answer with the participants of a conference about to start. */
struct participants_of {
	struct sched_ref *ref;
	gint64 conference_id;
};

/* What Yate's answer to a dial-out finds its attempt by. */
struct attempt {
	struct sched_ref *ref;
	guint attempt;
};

/** ce_sched_dialout_free() - GDestroyNotify of a dial-out */
void ce_sched_dialout_free(gpointer data)
{
	struct dialout *d = data;

	g_free(d->room);
	g_free(d->address);
	g_free(d->name);
	g_free(d->id);
	g_free(d);
}

static struct dialout *by_serial(struct sched *s, guint n)
{
	for (guint i = 0; i < s->dials->len; i++) {
		struct dialout *d = g_ptr_array_index(s->dials, i);
		if (d->attempt == n)
			return d;
	}
	return NULL;
}

static struct dialout *by_id(struct sched *s, const char *id)
{
	for (guint i = 0; id && i < s->dials->len; i++) {
		struct dialout *d = g_ptr_array_index(s->dials, i);
		if (d->id && !d->gone && !strcmp(d->id, id))
			return d;
	}
	return NULL;
}

static bool can_retry(const char *error)
{
	for (unsigned i = 0; i < G_N_ELEMENTS(retryable); i++) {
		if (!strcmp(error, retryable[i]))
			return true;
	}
	return false;
}

/* Store that the dial-out @d reached nobody ("dial-out failed: ERROR"), dated @now. */
static void store_failure(struct sched *s, struct dialout *d, const char *error, gint64 now)
{
	struct ce_store *st = ce_store_of(s->ce);
	char *detail = g_strdup_printf("dial-out failed: %s", error);
	struct ce_event ev = {
	        .kind = CE_EVENT_LEAVE,
	        .at = now,
	        .room = d->room,
	        .conference_id = d->conference_id,
	        .leg = d->id,
	        .participant_id = d->participant_id,
	        .role = (char *)ce_role_name(d->role),
	        .caller = d->address,
	        .caller_name = d->name,
	        .called = d->address,
	        .direction = "out",
	        .detail = detail,
	};

	if (st)
		ce_store_add_event(st, &ev);
	g_free(detail);
}

static void failed(struct sched *s, struct dialout *d, const char *error)
{
	gint64 now = ce_engine_now(s->ce);

	s->dial_failed++;
	store_failure(s, d, error, now);
	g_clear_pointer(&d->id, g_free);
	d->tries++;
	if (d->tries <= s->set.dial_retries && can_retry(error)) {
		d->retry_at = now + (gint64)s->set.dial_retry_s * G_USEC_PER_SEC;
		g_message("dial-out to %s for room %s failed (%s): retry %u of %u in %u s",
		        d->address, d->room, error, d->tries, s->set.dial_retries,
		        s->set.dial_retry_s);
	} else {
		d->gone = true;
		g_message("dial-out to %s for room %s failed (%s): giving up", d->address, d->room,
		        error);
	}
}

/*
 * Why Yate refused a dial-out (its call.execute answered false): its error,
 * else noroute when the answer is Yate's own, else failure.  Yate 6.4.1's
 * dumb driver sets no error when call.route finds no route for the target
 * (dumbchan.cpp: "Outgoing call but no route!"); a send that Yate never
 * answered (dial_timeout, the link lost) also comes back false with nothing
 * added.  Yate's answer is told by its dispatch trace: every answer carries
 * "handlers=" unless an operator turned Yate's trackparam off, and then
 * both cases read as failure, which is retried.
 */
static const char *refusal(const struct ce_msg *msg)
{
	const char *error = ce_msg_get(msg, "error");

	if (error && *error)
		return error;
	return ce_msg_get(msg, "handlers") ? "noroute" : "failure";
}

/* @arg: a struct attempt, freed here. */
static void on_answer(struct ce_msg *msg, bool handled, void *arg)
{
	struct attempt *a = arg;
	struct sched *s = a->ref->s;
	struct dialout *d = s ? by_serial(s, a->attempt) : NULL;
	const char *id = ce_msg_get(msg, "id");

	ce_sched_ref_drop(a->ref);
	g_free(a);
	if (!d || d->gone)
		return;
	if (handled && id && g_str_has_prefix(id, "dumb/")) {
		g_free(d->id);
		d->id = g_strdup(id);
		s->dialled++;
		if (!ce_msg_get(msg, "targetid")) {
			/* a local channel: Yate answered dumb/N itself (see above) */
			d->answered = true;
			g_message("dial-out %s connected to %s (%s) for room %s", id,
			        ce_msg_get_def(msg, "peerid", "?"), d->address, d->room);
			return;
		}
		g_info("dialling %s for room %s on %s", d->address, d->room, id);
		return;
	}
	failed(s, d, refusal(msg));
}

static void dial(struct sched *s, struct dialout *d, const struct ce_conference *c)
{
	struct attempt *a = g_new(struct attempt, 1);
	struct ce_msg *m;

	d->retry_at = 0;
	d->answered = false;
	d->attempt = ++s->attempts;
	a->ref = ce_sched_ref(s);
	a->attempt = d->attempt;
	ce_msg_new(&m, "call.execute");
	ce_msg_set(m, "callto", "dumb/");
	/* Yate's dumb driver refuses a call with no target=, even with direct= */
	ce_msg_set(m, "target", d->address);
	if (strchr(d->address, '/'))
		ce_msg_set(m, "direct", d->address);
	ce_msg_set(m, "caller", c->access_number ? c->access_number : c->room);
	ce_msg_set(m, "callername", c->title && *c->title ? c->title : c->room);
	ce_msg_setf(m, "maxcall", "%u", s->set.dial_ring_ms);
	ce_msg_set(m, "ce_dialout", c->room);
	ce_sched_room_params(s, m, c);
	ce_msg_setf(m, "participant_id", "%" G_GINT64_FORMAT, d->participant_id);
	if (d->name && *d->name)
		ce_msg_set(m, "participant_name", d->name);
	ce_msg_set(m, "participant_role", ce_role_name(d->role));
	if (d->role == CE_ROLE_LISTENER)
		ce_msg_set(m, "voice", "false"); /* as an admitted listener */
	ce_msg_set(m, "participant_number", d->address);
	ce_msg_set(m, "participant_direction", "out");
	g_info("dialling %s (%s) into room %s", d->address, d->name ? d->name : "", c->room);
	ce_bus_send(s->bus, m, s->set.dial_timeout_ms, on_answer, a);
	ce_msg_unref(m);
}

/* @arg: a struct participants_of. */
static void on_parts(int err, GPtrArray *parts, void *arg)
{
	struct participants_of *q = arg;
	struct sched *s = q->ref->s;
	struct sconf *sc = s ? ce_sched_find(s, q->conference_id) : NULL;

	if (!sc || sc->ended)
		return;
	if (err < 0) {
		g_warning("cannot read the participants of conference %" G_GINT64_FORMAT ": %s",
		        sc->c->id, g_strerror(-err));
		return;
	}
	for (guint i = 0; parts && i < parts->len; i++) {
		struct ce_participant *p = g_ptr_array_index(parts, i);
		struct dialout *d;
		if (!p->dial_out || !p->address || !*p->address)
			continue;
		d = g_new0(struct dialout, 1);
		d->conference_id = sc->c->id;
		d->participant_id = p->id;
		d->room = g_strdup(sc->c->room);
		d->address = g_strdup(p->address);
		d->name = g_strdup(p->name);
		d->role = p->role;
		g_ptr_array_add(s->dials, d);
		sc->live = true;
		dial(s, d, sc->c);
	}
}

static void participants_of_free(gpointer data)
{
	struct participants_of *q = data;

	ce_sched_ref_drop(q->ref);
	g_free(q);
}

/** ce_sched_dial_start() - read the participants of @sc and dial those marked dial_out */
void ce_sched_dial_start(struct sched *s, struct sconf *sc)
{
	struct ce_store *st = ce_store_of(s->ce);
	struct participants_of *q = g_new(struct participants_of, 1);

	q->ref = ce_sched_ref(s);
	q->conference_id = sc->c->id;
	if (!st || ce_store_list_participants(
	                   st, q->conference_id, on_parts, q, participants_of_free) < 0)
		participants_of_free(q);
}

/** ce_sched_dial_run() - redial what is due at @now, forget what is over */
void ce_sched_dial_run(struct sched *s, gint64 now)
{
	for (guint i = 0; i < s->dials->len;) {
		struct dialout *d = g_ptr_array_index(s->dials, i);
		struct sconf *sc = ce_sched_find(s, d->conference_id);
		if (d->retry_at && now >= d->retry_at && sc && !sc->ended)
			dial(s, d, sc->c);
		if (d->gone || !sc || sc->ended)
			g_ptr_array_remove_index_fast(s->dials, i);
		else
			i++;
	}
}

/**
 * ce_sched_dial_end() - the conference ended: hang up its dial-outs not
 * answered yet, each stored as "dial-out failed: END_REASON" (their own
 * hangup that follows is no longer watched)
 */
void ce_sched_dial_end(struct sched *s, gint64 conference_id)
{
	for (guint i = 0; i < s->dials->len; i++) {
		struct dialout *d = g_ptr_array_index(s->dials, i);
		if (d->conference_id != conference_id)
			continue;
		if (d->id && !d->answered && !d->gone) {
			struct ce_msg *m;
			ce_msg_new(&m, "call.drop");
			ce_msg_set(m, "id", d->id);
			ce_msg_set(m, "reason", s->set.end_reason);
			ce_sched_send(s, m);
			store_failure(s, d, s->set.end_reason, ce_engine_now(s->ce));
			g_message(
			        "dial-out %s to %s for room %s hung up unanswered: the conference "
			        "ended",
			        d->id, d->address, d->room);
		}
		d->gone = true;
		d->retry_at = 0;
	}
}

/**
 * ce_sched_dial_watch() - Yate's call.answered, chan.disconnected, chan.hangup
 * for dial-outs: connected, or failed (see the top of this file)
 */
void ce_sched_dial_watch(struct sched *s, const char *name, struct ce_msg *msg)
{
	struct dialout *d;

	if (!strcmp(name, "call.answered")) {
		d = by_id(s, ce_msg_get(msg, "peerid"));
		if (!d)
			d = by_id(s, ce_msg_get(msg, "targetid"));
		if (!d)
			d = by_id(s, ce_msg_get(msg, "id"));
		if (d && !d->answered) {
			d->answered = true;
			g_message("dial-out %s answered by %s", d->id, d->address);
		}
		return;
	}
	d = by_id(s, ce_msg_get(msg, "id"));
	if (!d)
		return;
	if (d->answered || ce_msg_get_bool(msg, "answered", false)) {
		d->gone = true; /* a normal end: the monitor has its leave and CDR */
		return;
	}
	failed(s, d, ce_msg_get_def(msg, "error", ce_msg_get_def(msg, "reason", "noanswer")));
}
