/* dial.c - placing calls into rooms through Yate's dumb/ channel and following them (dial.h) */
#define G_LOG_DOMAIN "dial"

#include <errno.h>
#include <string.h>

#include "bus.h"
#include "dial.h"
#include "message.h"

/*
 * A dial-out (DESIGN §2, transcript 2):
 *
 *   call.execute callto=dumb/ target=ADDRESS [direct=ADDRESS] caller=C
 *                callername=N maxcall=RING_MS ce_dialout=ROOM ...
 *
 * Yate's dumb driver routes target= (or takes direct=, a target such as
 * sip/...; it refuses a call with no target= even then) and calls it.
 * Yate hands maxcall to the channels of the call, and the first whose timer
 * runs out drops it with "noanswer" (Channel::checkTimers), so a phone
 * nobody answers stops ringing.
 *
 * Connected means either of (Yate 6.4.1, dumbchan.cpp and Channel.cpp):
 * - the answer names the far channel (peerid) but no targetid: the far
 *   channel is a local one (tone/, wave/, moh/) that connected at once and
 *   never sends call.answered, and Yate's dumb driver answered dumb/N
 *   itself (Channel::callAccept answers a call that has no targetid);
 *   transcript 2 shows exactly this for tone/milliwatt;
 * - a phone (targetid=sip/9) rings and then sends call.answered naming
 *   dumb/N (as peerid, targetid or id).
 * A chan.disconnected or chan.hangup of dumb/N that says answered=true is
 * Yate's own word that the call was connected, whatever we saw before.
 *
 * Failed means Yate answered call.execute false (see refusal()), or dumb/N
 * went (chan.disconnected, chan.hangup) before it was connected: its
 * error= (busy, noanswer, offline, ...), else its reason=, else noanswer.
 */

struct ce_dialer {
	struct ce_bus *bus;
	GHashTable *calls; /* serial -> struct call: placed, not over */
	GHashTable *ids;   /* dumb/N -> struct call (borrowed from calls) */
	int watches[3];
	unsigned serial;
};

struct call {
	struct ce_dialer *dl; /* NULL: the dialer is gone, Yate's answer is still due */
	unsigned serial;
	char *id; /* dumb/N once Yate answered */
	ce_dial_h *cb;
	void *arg;
	bool connected;
	bool cancelled;    /* before Yate answered: drop the call when it does */
	char *drop_reason; /* for that call.drop */
};

static const char *const watched[] = {"call.answered", "chan.disconnected", "chan.hangup"};

static void call_free(struct call *c)
{
	g_free(c->id);
	g_free(c->drop_reason);
	g_free(c);
}

static void sent(struct ce_msg *msg, bool handled, void *arg)
{
	(void)arg;
	g_debug("%s %s: %s", msg->name, ce_msg_get_def(msg, "id", ""),
	        handled ? "done" : "not handled");
}

static void drop(struct ce_dialer *dl, const char *id, const char *reason)
{
	struct ce_msg *m;

	ce_msg_new(&m, "call.drop");
	ce_msg_set(m, "id", id);
	if (reason)
		ce_msg_set(m, "reason", reason);
	ce_bus_send(dl->bus, m, 0, sent, NULL);
	ce_msg_unref(m);
}

/* Forget @c (it reported its last state or was cancelled). */
static void forget(struct ce_dialer *dl, struct call *c)
{
	if (c->id)
		g_hash_table_remove(dl->ids, c->id);
	g_hash_table_remove(dl->calls, GUINT_TO_POINTER(c->serial));
}

static void report(struct call *c, enum ce_dial_state st, const char *why, const char *detail,
        const struct ce_msg *msg)
{
	struct ce_dial_report r = {c->serial, st, c->id, why, detail, msg};

	c->cb(&r, c->arg);
}

/* The last report of @c, which is then forgotten (the callback may place new calls). */
static void finish(struct ce_dialer *dl, struct call *c, enum ce_dial_state st, const char *why,
        const char *detail, const struct ce_msg *msg)
{
	g_hash_table_steal(dl->calls, GUINT_TO_POINTER(c->serial));
	if (c->id)
		g_hash_table_remove(dl->ids, c->id);
	report(c, st, why, detail, msg);
	call_free(c);
}

/*
 * Why Yate refused a dial-out (its call.execute answered false): its error,
 * else noroute when the answer is Yate's own, else failure.  Yate 6.4.1's
 * dumb driver sets no error when call.route finds no route for the target
 * (dumbchan.cpp: "Outgoing call but no route!"); a send that Yate never
 * answered (the timeout, the link lost) also comes back false with nothing
 * added.  Yate's answer is told by its dispatch trace: every answer carries
 * "handlers=" unless an operator turned Yate's trackparam off, and then
 * both cases read as failure.
 */
static const char *refusal(const struct ce_msg *msg)
{
	const char *error = ce_msg_get(msg, "error");

	if (error && *error)
		return error;
	return ce_msg_get(msg, "handlers") ? "noroute" : "failure";
}

static void on_answer(struct ce_msg *msg, bool handled, void *arg)
{
	struct call *c = arg;
	struct ce_dialer *dl = c->dl;
	const char *id = ce_msg_get(msg, "id");
	bool placed = handled && id && g_str_has_prefix(id, "dumb/");

	if (!dl) {
		call_free(c);
		return;
	}
	if (c->cancelled) {
		if (placed)
			drop(dl, id, c->drop_reason);
		forget(dl, c);
		call_free(c);
		return;
	}
	if (!placed) {
		const char *why = refusal(msg);
		const char *reason = ce_msg_get(msg, "reason");

		finish(dl, c, CE_DIAL_FAILED, why, reason && *reason ? reason : NULL, msg);
		return;
	}
	c->id = g_strdup(id);
	g_hash_table_replace(dl->ids, c->id, c);
	if (ce_msg_get(msg, "targetid")) {
		report(c, CE_DIAL_RINGING, NULL, NULL, msg);
		return;
	}
	/* a local channel: Yate answered dumb/N itself (see above) */
	c->connected = true;
	report(c, CE_DIAL_CONNECTED, NULL, NULL, msg);
}

static struct call *by_id(struct ce_dialer *dl, const char *id)
{
	return id ? g_hash_table_lookup(dl->ids, id) : NULL;
}

static void on_answered(struct ce_dialer *dl, struct ce_msg *msg)
{
	static const char *const keys[] = {"peerid", "targetid", "id"};
	struct call *c = NULL;

	for (unsigned i = 0; !c && i < G_N_ELEMENTS(keys); i++)
		c = by_id(dl, ce_msg_get(msg, keys[i]));
	if (c && !c->connected) {
		c->connected = true;
		report(c, CE_DIAL_CONNECTED, NULL, NULL, msg);
	}
}

static void on_watch(struct ce_msg *msg, bool handled, void *arg)
{
	struct ce_dialer *dl = arg;
	struct call *c;
	const char *reason;

	(void)handled;
	if (!strcmp(msg->name, "call.answered")) {
		on_answered(dl, msg);
		return;
	}
	c = by_id(dl, ce_msg_get(msg, "id"));
	if (!c)
		return;
	reason = ce_msg_get(msg, "reason");
	if (!c->connected && ce_msg_get_bool(msg, "answered", false)) {
		c->connected = true;
		report(c, CE_DIAL_CONNECTED, NULL, NULL, msg);
	}
	if (c->connected) {
		finish(dl, c, CE_DIAL_ENDED, reason, NULL, msg);
		return;
	}
	finish(dl, c, CE_DIAL_FAILED, ce_msg_get_def(msg, "error", reason ? reason : "noanswer"),
	        reason, msg);
}

/** ce_dialer_new() - a dialer that watches Yate's messages on @bus; 0 or -errno */
int ce_dialer_new(struct ce_dialer **dp, struct ce_bus *bus)
{
	struct ce_dialer *dl = g_new0(struct ce_dialer, 1);
	int err = 0;

	dl->bus = bus;
	dl->calls = g_hash_table_new(g_direct_hash, g_direct_equal);
	dl->ids = g_hash_table_new(g_str_hash, g_str_equal);
	for (unsigned i = 0; i < G_N_ELEMENTS(watched); i++) {
		dl->watches[i] = ce_bus_watch(bus, watched[i], 0, on_watch, dl, NULL);
		if (dl->watches[i] < 0) {
			err = dl->watches[i];
			goto out;
		}
	}
out:
	if (err < 0)
		g_clear_pointer(&dl, ce_dialer_free);
	*dp = dl;
	return err;
}

/**
 * ce_dialer_free() - stop following the calls of @dl (NULL: nothing): no
 * callback runs after this; calls already placed go on in Yate
 */
void ce_dialer_free(struct ce_dialer *dl)
{
	GHashTableIter it;
	gpointer v;

	if (!dl)
		return;
	for (unsigned i = 0; i < G_N_ELEMENTS(watched); i++) {
		if (dl->watches[i] > 0)
			ce_bus_unwatch(dl->bus, dl->watches[i]);
	}
	g_hash_table_iter_init(&it, dl->calls);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct call *c = v;
		if (c->id)
			call_free(c);
		else
			c->dl = NULL; /* freed by on_answer */
	}
	g_hash_table_destroy(dl->ids);
	g_hash_table_destroy(dl->calls);
	g_free(dl);
}

/**
 * ce_dial_msg_new() - the call.execute of a dial-out to @to (see the top of
 * this file); the caller adds what the room should know (participant_*,
 * room parameters) and places it with ce_dial_place().  Returns 0 or -errno.
 */
int ce_dial_msg_new(struct ce_msg **mp, const struct ce_dial_to *to)
{
	struct ce_msg *m;
	int err = ce_msg_new(&m, "call.execute");

	if (err < 0)
		return err;
	ce_msg_set(m, "callto", "dumb/");
	/* Yate's dumb driver refuses a call with no target=, even with direct= */
	ce_msg_set(m, "target", to->address);
	if (strchr(to->address, '/'))
		ce_msg_set(m, "direct", to->address);
	ce_msg_set(m, "caller", to->caller);
	if (to->caller_name && *to->caller_name)
		ce_msg_set(m, "callername", to->caller_name);
	ce_msg_setf(m, "maxcall", "%u", to->ring_ms);
	ce_msg_set(m, "ce_dialout", to->room);
	*mp = m;
	return 0;
}

/**
 * ce_dial_place() - send the dial-out @msg (ce_dial_msg_new(); a reference
 * is taken) to Yate, which has @timeout_ms to answer; @cb(@arg) reports
 * what becomes of it until its last report (FAILED or ENDED) or
 * ce_dial_cancel().  The answer may come before this returns (no link to
 * Yate: FAILED at once).  Returns the call's number, or 0 when its last
 * report came already.
 */
unsigned ce_dial_place(
        struct ce_dialer *dl, struct ce_msg *msg, unsigned timeout_ms, ce_dial_h *cb, void *arg)
{
	struct call *c = g_new0(struct call, 1);
	unsigned serial = ++dl->serial ? dl->serial : ++dl->serial;

	c->dl = dl;
	c->serial = serial;
	c->cb = cb;
	c->arg = arg;
	g_hash_table_replace(dl->calls, GUINT_TO_POINTER(serial), c);
	ce_bus_send(dl->bus, msg, timeout_ms, on_answer, c);
	/* c may be gone: the answer came at once */
	return g_hash_table_contains(dl->calls, GUINT_TO_POINTER(serial)) ? serial : 0;
}

/**
 * ce_dial_cancel() - no more reports of @call; a call not connected yet is
 * hung up with @reason (now, or when Yate's answer names it), a connected
 * one stays in its room.  An unknown @call is ignored.
 */
void ce_dial_cancel(struct ce_dialer *dl, unsigned call, const char *reason)
{
	struct call *c = g_hash_table_lookup(dl->calls, GUINT_TO_POINTER(call));

	if (!c || c->cancelled)
		return;
	if (!c->id) {
		c->cancelled = true;
		c->drop_reason = g_strdup(reason);
		return;
	}
	if (!c->connected)
		drop(dl, c->id, reason);
	forget(dl, c);
	call_free(c);
}
