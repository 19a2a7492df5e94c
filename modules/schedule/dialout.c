/* dialout.c - dialling participants out when their conference starts, with retries */
#define G_LOG_DOMAIN "schedule"

#include <string.h>

#include "dial.h"
#include "engine.h"
#include "message.h"
#include "modules/schedule/schedule-priv.h"
#include "modules/store/store.h"

/*
 * At starts_at every participant with dial_out=true is called through the
 * engine's dialer (conf-engine/dial.c: how a dial-out is placed, and when
 * it counts as connected or failed):
 *
 *   call.execute callto=dumb/ target=ADDRESS caller=<access number>
 *                callername=<title> maxcall=dial_ring_timeout ce_dialout=ROOM
 *                <room parameters> participant_id=ID participant_name=NAME
 *                participant_role=ROLE participant_number=ADDRESS
 *                participant_direction=out
 *
 * (the participant_* parameters say who is dialled, since caller= and
 * callername= are what the far end sees).  The conference module joins the
 * new dumb/N to ROOM once the call is connected.
 *
 * A failure - busy, noanswer, offline, noroute, ... - is stored as one
 * "leave" event with detail "dial-out failed: ERROR" and the participant's
 * identity (no CDR: the participant never was in the room), and retried
 * dial_retries times, dial_retry_delay seconds apart, unless the error says
 * retrying is pointless (noroute, forbidden, rejected, ...).  A connected
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

/** ce_sched_dialout_free() - GDestroyNotify of a dial-out */
void ce_sched_dialout_free(gpointer data)
{
	struct dialout *d = data;

	if (d->call && d->s->dialer)
		ce_dial_cancel(d->s->dialer, d->call, NULL);
	g_free(d->room);
	g_free(d->address);
	g_free(d->name);
	g_free(d->id);
	g_free(d);
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
	d->call = 0;
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

/* What became of the current attempt of the dial-out @arg. */
static void on_dial(const struct ce_dial_report *r, void *arg)
{
	struct dialout *d = arg;
	struct sched *s = d->s;

	switch (r->state) {
	case CE_DIAL_RINGING:
		g_free(d->id);
		d->id = g_strdup(r->id);
		s->dialled++;
		g_info("dialling %s for room %s on %s", d->address, d->room, r->id);
		break;
	case CE_DIAL_CONNECTED:
		if (!d->id) { /* a local channel, connected at once */
			d->id = g_strdup(r->id);
			s->dialled++;
		}
		d->answered = true;
		g_message("dial-out %s connected to %s (%s) for room %s", r->id,
		        ce_msg_get_def(r->msg, "peerid", "?"), d->address, d->room);
		break;
	case CE_DIAL_FAILED:
		failed(s, d, r->why);
		break;
	case CE_DIAL_ENDED:
		d->call = 0;
		d->gone = true; /* a normal end: the monitor has its leave and CDR */
		break;
	}
}

static void dial(struct sched *s, struct dialout *d, const struct ce_conference *c)
{
	const struct ce_dial_to to = {
	        .address = d->address,
	        .room = c->room,
	        .caller = c->access_number ? c->access_number : c->room,
	        .caller_name = c->title && *c->title ? c->title : c->room,
	        .ring_ms = s->set.dial_ring_ms,
	};
	struct ce_msg *m;

	d->retry_at = 0;
	d->answered = false;
	if (ce_dial_msg_new(&m, &to) < 0)
		return;
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
	d->call = ce_dial_place(s->dialer, m, s->set.dial_timeout_ms, on_dial, d);
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
		d->s = s;
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
		if (d->call && !d->answered && !d->gone) {
			ce_dial_cancel(s->dialer, d->call, s->set.end_reason);
			store_failure(s, d, s->set.end_reason, ce_engine_now(s->ce));
			g_message(
			        "dial-out %s to %s for room %s hung up unanswered: the conference "
			        "ended",
			        d->id ? d->id : "(not placed yet)", d->address, d->room);
		} else if (d->call) {
			ce_dial_cancel(s->dialer, d->call, NULL);
		}
		d->call = 0;
		d->gone = true;
		d->retry_at = 0;
	}
}
