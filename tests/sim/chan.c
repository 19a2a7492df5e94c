/* chan.c - channels as Yate's Channel class keeps them: ids, status, peers, hangup messages */
/*
 * A channel's messages carry what Yate's Channel::complete() adds, in its
 * order: id, module, then (unless minimal) status, address, targetid,
 * billid, peerid, lastpeerid, answered, direction.  Dropping a channel
 * gives its peer a chan.disconnected (the peer's parameters, plus reason)
 * and the channel a chan.hangup; a peer left alone after its
 * chan.disconnected went unhandled hangs up as well.  A phone's own hangup
 * (a SIP BYE) sends the chan.hangup first, while still connected, as real
 * Yate's SIP channel does (tests/yate/test-yate-vs-sim.py compares).  Yate's
 * local channels are quieter (local.c): tone/ and wave/ send no chan.hangup,
 * moh/ sends nothing at all.  An external script's channel (Yate's
 * ExtModChan, not a Channel) sends neither: it just ends.
 */
#define G_LOG_DOMAIN "sim"

#include <string.h>

#include "sim.h"

static const char *const drv_name[SIM_DRV_COUNT] = {
        "sip", "dumb", "conf", "tone", "wave", "moh", "external"};

/** The phone whose audio a channel carries: its own, or its peer's. */
struct sim_phone *ce_sim_chan_phone(struct sim_chan *c)
{
	if (c->phone)
		return c->phone;
	return c->peer ? c->peer->phone : NULL;
}

/** A new channel "DRIVER/N"; incoming channels get a new billid. */
struct sim_chan *ce_sim_chan_new(struct sim *s, int driver, bool outgoing)
{
	struct sim_chan *c = g_new0(struct sim_chan, 1);

	c->driver = driver;
	c->outgoing = outgoing;
	c->id = g_strdup_printf("%s/%u", drv_name[driver], ++s->next_chan[driver]);
	c->status = g_strdup(outgoing ? "outgoing" : "incoming");
	if (!outgoing)
		c->billid = g_strdup_printf("%u-%u", s->runid, ++s->billseq);
	else
		++s->billseq;
	g_hash_table_insert(s->chans, c->id, c);
	return c;
}

struct sim_chan *ce_sim_chan_find(struct sim *s, const char *id)
{
	struct sim_chan *c = id ? g_hash_table_lookup(s->chans, id) : NULL;

	return c && !c->gone ? c : NULL;
}

struct sim_chan *ce_sim_chan_by_label(struct sim *s, const char *label)
{
	struct sim_chan *c = g_hash_table_lookup(s->labels, label);

	return c && !c->gone ? c : NULL;
}

void ce_sim_chan_set_status(struct sim_chan *c, const char *status)
{
	g_free(c->status);
	c->status = g_strdup(status);
	if (!strcmp(status, "answered"))
		c->answered = true;
}

/** Yate's Channel::complete(): add the channel's parameters to @m. */
void ce_sim_chan_complete(const struct sim_chan *c, struct ce_msg *m, bool minimal)
{
	ce_msg_set(m, "id", c->id);
	ce_msg_set(m, "module", drv_name[c->driver]);
	if (minimal)
		return;
	ce_msg_set(m, "status", c->status);
	if (c->address)
		ce_msg_set(m, "address", c->address);
	if (c->targetid)
		ce_msg_set(m, "targetid", c->targetid);
	if (c->billid)
		ce_msg_set(m, "billid", c->billid);
	if (c->peer)
		ce_msg_set(m, "peerid", c->peer->id);
	if (c->lastpeerid)
		ce_msg_set(m, "lastpeerid", c->lastpeerid);
	ce_msg_set(m, "answered", c->answered ? "true" : "false");
	ce_msg_set(m, "direction", c->outgoing ? "outgoing" : "incoming");
}

/** A new message @name completed with @c's parameters (caller owns it). */
struct ce_msg *ce_sim_chan_message(const struct sim_chan *c, const char *name, bool minimal)
{
	struct ce_msg *m;

	ce_msg_new(&m, name);
	ce_sim_chan_complete(c, m, minimal);
	return m;
}

/** Connect two channels as peers; an outgoing channel takes its peer's billid. */
void ce_sim_chan_connect(struct sim *s, struct sim_chan *a, struct sim_chan *b)
{
	a->peer = b;
	b->peer = a;
	g_free(a->lastpeerid);
	a->lastpeerid = g_strdup(b->id);
	g_free(b->lastpeerid);
	b->lastpeerid = g_strdup(a->id);
	if (!a->billid && b->billid)
		a->billid = g_strdup(b->billid);
	if (!b->billid && a->billid)
		b->billid = g_strdup(a->billid);
}

static void phone_end(struct sim *s, struct sim_chan *c, const char *reason)
{
	struct sim_phone *ph = c->phone;

	if (!ph || ph->ended)
		return;
	ph->ended = true;
	ce_sim_set_state(s, ph->label, "hungup");
	ce_sim_event(s, "hungup", "\"who\":%s,\"chan\":%s,\"reason\":%s,\"answered\":%s",
	        ce_sim_json(ph->label), ce_sim_json(c->id), ce_sim_json(reason),
	        c->answered ? "true" : "false");
}

static void chan_free(gpointer p)
{
	struct sim_chan *c = p;

	if (c->timer)
		g_source_remove(c->timer);
	if (c->leg)
		ce_sim_leg_free(c->leg);
	if (c->phone)
		ce_sim_phone_free(c->phone);
	ce_msg_unref(c->discparams);
	g_free(c->status);
	g_free(c->address);
	g_free(c->billid);
	g_free(c->targetid);
	g_free(c->lastpeerid);
	g_free(c->fwd_formats);
	g_free(c->caller);
	g_free(c->called);
	g_free(c->callto);
	g_free(c->id);
	g_free(c);
}

static gboolean free_gone_cb(gpointer data)
{
	struct sim *s = data;

	s->gone_src = 0;
	g_list_free_full(s->gone_chans, chan_free);
	s->gone_chans = NULL;
	return G_SOURCE_REMOVE;
}

/* @c's chan.hangup as it is now (its parameters, then those of its last disconnect). */
static struct ce_msg *hangup_message(const struct sim_chan *c)
{
	struct ce_msg *m = ce_sim_chan_message(c, "chan.hangup", false);
	unsigned i;

	for (i = 0; c->discparams && i < ce_msg_count(c->discparams); i++) {
		const struct ce_param *p = ce_msg_param(c->discparams, i);
		ce_msg_set(m, p->name, p->value);
	}
	return m;
}

/*
 * The channel is gone: chan.hangup (unless @sent: the caller sent it
 * already), then forget it.
 */
static void chan_gone(struct sim *s, struct sim_chan *c, const char *reason, bool sent)
{
	struct ce_msg *m = NULL;

	if (c->gone)
		return;
	c->gone = true;
	if (c->peer && c->peer->peer == c)
		c->peer->peer = NULL;
	c->peer = NULL;
	if (c->room)
		ce_sim_conf_leave(s, c);
	phone_end(s, c, reason ? reason : c->status);
	/* only dumb/, sip/ and conf/ send chan.hangup from their destructors; tonegen,
	 * wavefile, moh and external scripts send none */
	if (!sent && c->driver < SIM_DRV_TONE)
		m = hangup_message(c);
	if (c->leg) {
		ce_sim_leg_free(c->leg);
		c->leg = NULL;
	}
	if (c->phone && c->phone->rtp)
		g_clear_pointer(&c->phone->rtp, ce_sim_leg_free);
	if (m)
		ce_sim_enqueue(s, m);
	if (c->phone && g_hash_table_lookup(s->labels, c->phone->label) == c)
		g_hash_table_remove(s->labels, c->phone->label);
	g_hash_table_remove(s->chans, c->id);
	if (c->timer)
		g_source_remove(c->timer);
	c->timer = 0;
	/* handlers up the stack may still look at it: free it when idle */
	s->gone_chans = g_list_prepend(s->gone_chans, c);
	if (!s->gone_src)
		s->gone_src = g_idle_add(free_gone_cb, s);
}

static void chan_hangup(struct sim *s, struct sim_chan *c, const char *reason)
{
	chan_gone(s, c, reason, false);
}

static void disconnected_done(struct sim *s, struct ce_msg *m, bool handled, void *arg)
{
	char *id = arg;
	struct sim_chan *c = ce_sim_chan_find(s, id);

	/* nobody took the lonely channel: it hangs up, as a phone would */
	if (c && !c->peer)
		chan_hangup(s, c, ce_msg_get(m, "reason"));
	g_free(id);
}

/* @c lost its peer: chan.disconnected with its parameters and the reason. */
static void chan_disconnected(
        struct sim *s, struct sim_chan *c, const char *reason, const struct ce_msg *params)
{
	struct ce_msg *m;
	unsigned i;

	if (c->driver == SIM_DRV_EXT) {
		/* the script's channel only reports chan.disconnected when the script asks */
		chan_hangup(s, c, reason);
		return;
	}
	ce_msg_unref(c->discparams);
	c->discparams = NULL;
	if (c->driver == SIM_DRV_MOH) {
		/* moh/N is a bare CallEndpoint, no Channel: it says nothing and goes */
		chan_hangup(s, c, reason);
		return;
	}
	ce_msg_new(&m, "chan.disconnected");
	for (i = 0; params && i < ce_msg_count(params); i++) {
		const struct ce_param *p = ce_msg_param(params, i);
		if (strcmp(p->name, "handlers"))
			ce_msg_set(m, p->name, p->value);
	}
	/* as Yate: the disconnect parameters go into chan.disconnected and are then cleared */
	ce_sim_chan_complete(c, m, false);
	if (reason)
		ce_msg_set(m, "reason", reason);
	g_clear_pointer(&c->targetid, g_free);
	ce_sim_enqueue_cb(s, m, disconnected_done, g_strdup(c->id));
}

/**
 * Drop @c (Yate's msgDrop / a phone hanging up): its status becomes
 * @reason, its peer gets chan.disconnected (with @params copied), and @c
 * hangs up.
 */
void ce_sim_chan_drop(
        struct sim *s, struct sim_chan *c, const char *reason, const struct ce_msg *params)
{
	struct sim_chan *peer = c->peer;

	if (c->gone)
		return;
	ce_sim_chan_set_status(c, reason ? reason : "dropped");
	if (peer) {
		c->peer = NULL;
		peer->peer = NULL;
		chan_disconnected(s, peer, reason, params);
	}
	chan_hangup(s, c, reason);
}

/**
 * The phone behind @c hung up (a SIP BYE): as Yate's SIP channel does
 * (YateSIPConnection::hangup), @c first sends its chan.hangup while still
 * connected (status as it was, targetid, peerid, and reason=@reason when
 * given), then disconnects: its peer gets chan.disconnected with @reason.
 * A call.drop (ce_sim_chan_drop) goes the other way round.
 */
void ce_sim_chan_bye(struct sim *s, struct sim_chan *c, const char *reason)
{
	struct sim_chan *peer = c->peer;
	struct ce_msg *m;

	if (c->gone)
		return;
	m = hangup_message(c);
	if (reason)
		ce_msg_set(m, "reason", reason);
	ce_sim_enqueue(s, m);
	if (peer) {
		c->peer = NULL;
		peer->peer = NULL;
		chan_disconnected(s, peer, reason, NULL);
	}
	chan_gone(s, c, reason ? reason : "hangup", true);
}

/**
 * @c is about to be connected elsewhere (Yate's CallEndpoint::connect): its
 * old peer is disconnected, not dropped.  It gets chan.disconnected (with
 * @reason, may be NULL) and hangs up only if nobody connects it meanwhile,
 * e.g. a module's masquerade moving it into a conference too.
 */
void ce_sim_chan_unpeer(struct sim *s, struct sim_chan *c, const char *reason)
{
	struct sim_chan *old = c->peer;

	if (!old)
		return;
	c->peer = NULL;
	old->peer = NULL;
	chan_disconnected(s, old, reason, NULL);
}

void ce_sim_chans_init(struct sim *s)
{
	s->chans = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, NULL);
	s->labels = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	s->gone_chans = NULL;
}

/** Free every channel (at exit; no messages are sent). */
void ce_sim_chans_fini(struct sim *s)
{
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, s->chans);
	while (g_hash_table_iter_next(&it, NULL, &v))
		chan_free(v);
	g_hash_table_destroy(s->chans);
	g_hash_table_destroy(s->labels);
	g_list_free_full(s->gone_chans, chan_free);
	s->gone_chans = NULL;
	if (s->gone_src)
		g_source_remove(s->gone_src);
	s->gone_src = 0;
}
