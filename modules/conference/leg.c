/* leg.c - a participant's dumb/N leg: attach RTP, answer, join, and clean up on every way out */
#define G_LOG_DOMAIN "conference"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "message.h"
#include "room.h"
#include "leg.h"
#include "lobby.h"
#include "media-glue.h"
#include "params.h"

/*
 * After Yate's dumb driver connected the caller to dumb/N (DESIGN.md §2,
 * transcript 1), a leg asks Yate for RTP on that channel and answers it:
 *
 *   A: chan.masquerade id=dumb/3 message=chan.rtp media=audio direction=bidir
 *        remoteip=127.0.0.1 remoteport=40000 format=mulaw rtcp=false
 *        complete_minimal=true
 *   E: (answer) true ... localip=127.0.0.1 localport=23614 status=created
 *   A: chan.masquerade id=dumb/3 message=call.answered
 *
 * Yate answers the call.answered masquerade with false (no handler takes
 * call.answered), so that answer only means "done".  Without
 * complete_minimal=true the masquerade overwrites direction= and no RTP
 * session is made.
 */

/** Take a reference to @leg. */
struct ce_leg *ce_leg_ref(struct ce_leg *leg)
{
	g_atomic_int_inc(&leg->refs);
	return leg;
}

/** Drop a reference; the last one frees the leg. */
void ce_leg_unref(struct ce_leg *leg)
{
	if (!leg || !g_atomic_int_dec_and_test(&leg->refs))
		return;
	ce_msg_unref(leg->params);
	ce_msg_unref(leg->who);
	g_free(leg->id);
	g_free(leg->peer);
	g_free(leg->lang);
	g_free(leg->runid);
	g_free(leg->name_prompt);
	ce_leg_phone_free(leg->phone);
	g_free(leg);
}

/** Printable name of a leg state. */
const char *ce_leg_state_name(enum ce_leg_state st)
{
	static const char *const names[] = {"offered", "peer", "rtp", "joined", "gone"};

	return st <= CE_LEG_GONE ? names[st] : "?";
}

/*
 * What a join request says about who the participant is: Yate's call
 * parameters, and what the schedule module adds to the calls it admits or
 * dials (docs/schedule.md).  The room repeats them in "joined", so that the
 * monitor's events and CDRs know the participant (docs/monitor.md).
 */
static const char *const who_params[] = {"caller", "callername", "called", "billid",
        "conference_id", "participant_id", "participant_name", "participant_role",
        "participant_number", "participant_direction"};

static struct ce_msg *who_new(const struct ce_msg *params)
{
	struct ce_msg *who = NULL;

	for (unsigned i = 0; i < G_N_ELEMENTS(who_params); i++) {
		const char *v = ce_msg_get(params, who_params[i]);

		if (!v || !*v)
			continue;
		if (!who && ce_msg_new(&who, NULL))
			return NULL;
		ce_msg_add(who, who_params[i], v);
	}
	return who;
}

/** Copy to @to what @from (a join request, a journal line) says about who the participant is. */
void ce_leg_copy_who(struct ce_msg *to, const struct ce_msg *from)
{
	for (unsigned i = 0; i < G_N_ELEMENTS(who_params); i++) {
		const char *v = ce_msg_get(from, who_params[i]);

		if (v && *v)
			ce_msg_set(to, who_params[i], v);
	}
}

/** Add to @m what the leg's join request said about who the participant is. */
void ce_leg_add_who(const struct ce_leg *leg, struct ce_msg *m)
{
	for (unsigned i = 0; leg->who && i < ce_msg_count(leg->who); i++) {
		const struct ce_param *p = ce_msg_param(leg->who, i);

		ce_msg_set(m, p->name, p->value);
	}
}

/** The participant's role on @leg ("participant" when its request named none). */
const char *ce_leg_role(const struct ce_leg *leg)
{
	const char *role = leg->who ? ce_msg_get(leg->who, "participant_role") : NULL;

	return role && *role ? role : "participant";
}

/** Whether @leg is a moderator's (participant_role=moderator on its request). */
bool ce_leg_is_moderator(const struct ce_leg *leg)
{
	return !strcmp(ce_leg_role(leg), "moderator");
}

/**
 * What a join request says of the leg (utility, counted, voice, smart,
 * echo, billing, player, lang, who the participant is): at its start, and
 * again when it moves from the lobby into its conference's room.
 */
void ce_leg_take_params(struct ce_leg *leg, const struct ce_join_params *p)
{
	g_free(leg->lang);
	leg->lang = g_strdup(p->lang);
	leg->utility = p->utility;
	leg->counted = p->counted;
	leg->voice = p->voice;
	leg->smart = p->smart;
	leg->echo = p->echo;
	leg->ns = p->ns;
	leg->agc = p->agc;
	leg->billing = p->billing;
	leg->player = p->player;
	leg->muted_on_entry = p->muted_on_entry;
	g_free(leg->name_prompt);
	leg->name_prompt = g_strdup(p->name_prompt);
	if (leg->who)
		ce_msg_unref(leg->who);
	leg->who = who_new(p->passed);
}

/**
 * A new leg for caller channel @peer on its way into @room, with the
 * per-leg parameters of @p (utility, counted, voice, smart, echo, billing,
 * player) and who the participant is (p->passed).  The module's list of
 * legs holds the reference returned in *lp until the leg ends.
 */
int ce_leg_new(struct ce_leg **lp, struct ce_conf *conf, struct ce_room *room,
        const struct ce_join_params *p, const char *peer)
{
	struct ce_leg *leg = g_new0(struct ce_leg, 1);
	int err;

	leg->refs = 1;
	leg->conf = conf;
	leg->state = CE_LEG_OFFERED;
	leg->seq = ++conf->leg_seq;
	leg->link_gen = conf->link_gen;
	leg->peer = g_strdup(peer);
	ce_leg_take_params(leg, p);
	leg->deadline = ce_conf_now(conf) + (gint64)conf->set.offer_timeout_ms * 1000;
	/* only billing needs what was passed later: keep legs small otherwise */
	err = leg->billing ? ce_msg_copy(&leg->params, p->passed) : 0;
	if (err)
		goto out;
	leg->room = room;
	ce_room_reserve(room, leg);
	g_ptr_array_add(conf->all, leg);
	*lp = leg;
out:
	if (err)
		ce_leg_unref(leg);
	return err;
}

/** The live leg whose channel is @id (dumb/N), or NULL. */
struct ce_leg *ce_leg_find(struct ce_conf *conf, const char *id)
{
	return id ? g_hash_table_lookup(conf->legs, id) : NULL;
}

/**
 * A leg of room @room named the way an operator would: its dumb/N id, the
 * caller's channel id, or its short number.  NULL when none matches.
 */
struct ce_leg *ce_leg_find_seq(struct ce_conf *conf, const char *room, const char *which)
{
	char *end;
	unsigned long seq = strtoul(which, &end, 10);

	for (unsigned i = 0; i < conf->all->len; i++) {
		struct ce_leg *l = g_ptr_array_index(conf->all, i);

		if (!l->room || strcmp(l->room->name, room))
			continue;
		if ((l->id && !strcmp(l->id, which)) || (l->peer && !strcmp(l->peer, which)))
			return l;
		if (!*end && end != which && l->seq == seq)
			return l;
	}
	return NULL;
}

/** The media flags that follow from the leg's parameters and controls. */
unsigned ce_leg_media_flags(const struct ce_leg *leg)
{
	bool out = leg->held || (leg->phone && leg->phone->on_hold);

	return (leg->ns ? CE_LEG_NS : 0) | (leg->agc ? CE_LEG_AGC : 0) |
	       (leg->muted || out ? CE_LEG_MUTE : 0) | (leg->deaf || out ? CE_LEG_DEAF : 0) |
	       (leg->voice ? 0 : CE_LEG_NOVOICE) | (leg->echo ? CE_LEG_ECHO : 0) |
	       (leg->smart ? CE_LEG_SMART : 0);
}

/** Ask Yate to drop channel @id with @reason (may be NULL). */
void ce_leg_send_drop(struct ce_conf *conf, const char *id, const char *reason)
{
	struct ce_msg *m = NULL;

	ce_msg_new(&m, "call.drop");
	ce_msg_add(m, "id", id);
	if (reason)
		ce_msg_add(m, "reason", reason);
	ce_conf_send(conf, m);
	ce_msg_unref(m);
}

/* Billing legs report themselves as Yate's conference channels do. */
static void billing_msg(struct ce_leg *leg, const char *name, const char *status)
{
	static const char *const copy[] = {"caller", "callername", "called", "billid", "username"};
	struct ce_msg *m = NULL;

	ce_msg_new(&m, name);
	ce_msg_add(m, "id", leg->id);
	ce_msg_add(m, "module", "conference");
	ce_msg_add(m, "status", status);
	for (unsigned i = 0; i < G_N_ELEMENTS(copy); i++) {
		const char *v = ce_msg_get(leg->params, copy[i]);

		if (v)
			ce_msg_add(m, copy[i], v);
	}
	ce_msg_setf(m, "callto", "conf/%s", leg->room ? leg->room->name : "");
	ce_conf_send(leg->conf, m);
	ce_msg_unref(m);
}

static void join(struct ce_leg *leg)
{
	leg->state = CE_LEG_JOINED;
	leg->deadline = 0;
	ce_room_add(leg->room, leg);
	g_info("%s (%s) joined room '%s'", leg->id, leg->peer ? leg->peer : "", leg->room->name);
	if (leg->billing)
		billing_msg(leg, "chan.startup", "answered");
	ce_lobby_joined(leg);
}

static void answered_done(struct ce_msg *msg, bool handled, void *arg)
{
	struct ce_leg *leg = arg;

	(void)msg;
	(void)handled; /* Yate answers false: nothing handles call.answered */
	ce_leg_answered(leg);
	ce_leg_unref(leg);
}

static void send_answered(struct ce_leg *leg)
{
	struct ce_msg *m = NULL;

	ce_msg_new(&m, "chan.masquerade");
	ce_msg_add(m, "id", leg->id);
	ce_msg_add(m, "message", "call.answered");
	if (leg->phone)
		ce_leg_phone_sdp(leg, m);
	ce_bus_send(
	        leg->conf->bus, m, leg->conf->set.step_timeout_ms, answered_done, ce_leg_ref(leg));
	ce_msg_unref(m);
}

static int start_media_of(struct ce_leg *leg, struct ce_leg_media *media, const struct ce_msg *ans)
{
	struct ce_conf *conf = leg->conf;
	struct ce_leg_remote rem = {
	        .ip = ce_msg_get(ans, "localip"),
	        .port = ce_msg_get_int(ans, "localport", 0, 0, 65535),
	        .codec = conf->set.codec,
	        .rtp_timeout_ms = conf->set.rtp_timeout_ms,
	};
	const char *fmt = ce_msg_get(ans, "format");

	if (!rem.ip || !*rem.ip || !rem.port)
		return -EPROTO;
	if (fmt && ce_codec_from_name(fmt, &rem.codec))
		return -EPROTO;
	return conf->media->leg_start(conf->media_arg, media, &rem);
}

static int start_media(struct ce_leg *leg, const struct ce_msg *ans)
{
	return start_media_of(leg, leg->media, ans);
}

static void rtp_done(struct ce_msg *msg, bool handled, void *arg)
{
	struct ce_leg *leg = arg;

	if (leg->state == CE_LEG_PEER) {
		if (!handled || start_media(leg, msg)) {
			g_message("%s: Yate gave no RTP (%s)", leg->id,
			        ce_msg_get_def(msg, "error", handled ? "bad answer" : "no answer"));
			ce_leg_end(leg, "nomedia", true);
		} else {
			leg->state = CE_LEG_RTP;
			/* on disk before the caller is answered or anyone is told */
			ce_conf_journal_enter(leg, msg);
			ce_lobby_rtp(leg, msg);
			if (leg->up)
				join(leg);
			else
				send_answered(leg);
		}
	}
	ce_leg_unref(leg);
}

/* chan.rtp for the leg's channel, Yate's RTP to our @port: the first, or a re-point. */
static void ask_rtp(struct ce_leg *leg, unsigned port, ce_msg_done_h *done, void *arg)
{
	struct ce_conf *conf = leg->conf;
	struct ce_msg *m = NULL;

	ce_msg_new(&m, "chan.masquerade");
	ce_msg_add(m, "id", leg->id);
	ce_msg_add(m, "message", "chan.rtp");
	ce_msg_add(m, "media", "audio");
	ce_msg_add(m, "direction", "bidir");
	ce_msg_add(m, "remoteip", conf->set.rtp_address);
	ce_msg_setf(m, "remoteport", "%u", port);
	ce_msg_add(m, "format", ce_codec_name(leg->wide_relay ? CE_CODEC_G722 : conf->set.codec));
	ce_msg_add(m, "rtcp", "false");
	ce_msg_add(m, "complete_minimal", "true");
	ce_bus_send(conf->bus, m, conf->set.step_timeout_ms, done, arg);
	ce_msg_unref(m);
}

static void send_rtp(struct ce_leg *leg)
{
	ask_rtp(leg, leg->port, rtp_done, ce_leg_ref(leg));
}

/* A re-point on its way: the new media end, and whom to tell. */
struct rehome {
	struct ce_leg *leg;
	struct ce_leg_media *media;
	unsigned port;
	ce_leg_rehomed_h *cb;
	void *arg;
};

static void rehome_done(struct ce_msg *msg, bool handled, void *arg)
{
	struct rehome *r = arg;
	struct ce_leg *leg = r->leg;
	struct ce_conf *conf = leg->conf;
	bool ok = leg->state == CE_LEG_JOINED && leg->rehoming && handled &&
	          !start_media_of(leg, r->media, msg);

	if (leg->rehoming) {
		leg->rehoming = false;
		if (ok) {
			conf->media->leg_free(conf->media_arg, leg->media);
			leg->media = r->media;
			leg->port = r->port;
			ce_lobby_rtp(leg, msg);
		} else {
			conf->media->leg_free(conf->media_arg, r->media);
		}
		r->cb(leg, ok, r->arg);
	} else {
		conf->media->leg_free(conf->media_arg, r->media);
	}
	ce_leg_unref(leg);
	g_free(r);
}

/**
 * Move @leg's RTP to room media @to of another media thread: a new media
 * end there, and Yate asked (chan.rtp again, which its RTP restarts
 * towards the new port) to send to it; on Yate's answer the old end goes.
 * The caller hears the old room until then, and a packet or two may be
 * lost in the switch.  @cb(leg, ok, arg) runs once, unless the leg ends
 * first (ce_leg_end cancels it: rehoming).  0 or -errno (@cb never runs).
 */
int ce_leg_rehome(struct ce_leg *leg, struct ce_room_media *to, ce_leg_rehomed_h *cb, void *arg)
{
	struct ce_conf *conf = leg->conf;
	struct rehome *r;
	int err;

	if (leg->state != CE_LEG_JOINED || leg->rehoming || !leg->id)
		return -EBUSY;
	if (leg->phone)
		return -EXDEV; /* the phone sends to our port: only a re-INVITE could move it */
	r = g_new0(struct rehome, 1);
	err = conf->media->leg_new(
	        conf->media_arg, &r->media, to, ce_leg_media_flags(leg), leg, &r->port);
	if (err) {
		g_free(r);
		return err;
	}
	r->leg = ce_leg_ref(leg);
	r->cb = cb;
	r->arg = arg;
	leg->rehoming = true;
	ask_rtp(leg, r->port, rehome_done, r);
	return 0;
}

/*
 * A bypassed leg's media: from us straight to the phone.  What chan.rtp's
 * answer would have said goes to the journal and the lobby as if Yate had
 * said it: the far end is the phone.
 */
static void start_direct(struct ce_leg *leg)
{
	struct ce_conf *conf = leg->conf;
	struct ce_leg_phone *ph = leg->phone;
	struct ce_leg_remote rem = {.rtp_timeout_ms = conf->set.rtp_timeout_ms};
	struct ce_msg *far = NULL;
	int err;

	ce_leg_phone_remote(leg, &rem);
	err = conf->media->leg_start(conf->media_arg, leg->media, &rem);

	if (err) {
		g_message("%s: cannot take the phone's RTP from %s:%u: %s", leg->id, ph->addr,
		        ph->port, g_strerror(-err));
		ce_leg_end(leg, "nomedia", true);
		return;
	}
	conf->direct_legs++;
	g_info("%s: the phone's RTP comes straight to port %u (%s:%u, %s)", leg->id, leg->port,
	        ph->addr, ph->port, ce_codec_name(ph->codec));
	leg->state = CE_LEG_RTP;
	far = ce_leg_phone_far(leg);
	ce_conf_journal_enter(leg, far);
	ce_lobby_rtp(leg, far);
	ce_msg_unref(far);
	send_answered(leg);
}

/**
 * Yate connected the caller to @dumb_id: open our RTP endpoint and ask Yate
 * for RTP on that channel (or, bypassed, take the phone's).  Only
 * meaningful in the OFFERED state.
 */
void ce_leg_peer_known(struct ce_leg *leg, const char *dumb_id)
{
	struct ce_conf *conf = leg->conf;
	struct ce_leg *old;
	int err;

	if (leg->state != CE_LEG_OFFERED)
		return;
	if (leg->peer && g_hash_table_lookup(conf->offers, leg->peer) == leg)
		g_hash_table_remove(conf->offers, leg->peer);
	old = ce_leg_find(conf, dumb_id);
	if (old)
		ce_leg_end(old, "replaced", false);
	leg->id = g_strdup(dumb_id);
	g_hash_table_insert(conf->legs, leg->id, leg);
	leg->state = CE_LEG_PEER;
	leg->deadline = ce_conf_now(conf) + (gint64)conf->set.join_timeout_ms * 1000;
	err = conf->media->leg_new(conf->media_arg, &leg->media, leg->room->media,
	        ce_leg_media_flags(leg), leg, &leg->port);
	if (err) {
		g_message("%s: no RTP endpoint: %s", leg->id, g_strerror(-err));
		ce_leg_end(leg, "congestion", true);
		return;
	}
	if (leg->phone)
		start_direct(leg);
	else
		send_rtp(leg);
}

/**
 * Take over leg @id of a crashed engine (recover.c): its call is up and
 * Yate's RTP flows to our port @port from @rem, so the leg goes straight
 * into its room, as joined at @joined_at (wall clock), its journal entry
 * (Yate run @runid) kept.  0, or -errno: the media could not be had on
 * that port (the caller ends the leg).
 */
int ce_leg_resume(struct ce_leg *leg, const char *id, const char *runid, gint64 joined_at,
        unsigned port, const struct ce_leg_remote *rem)
{
	struct ce_conf *conf = leg->conf;
	int err;

	if (leg->peer && g_hash_table_lookup(conf->offers, leg->peer) == leg)
		g_hash_table_remove(conf->offers, leg->peer);
	leg->id = g_strdup(id);
	g_hash_table_insert(conf->legs, leg->id, leg);
	leg->state = CE_LEG_PEER;
	leg->up = true;
	err = conf->media->leg_new(conf->media_arg, &leg->media, leg->room->media,
	        ce_leg_media_flags(leg), leg, &leg->port);
	if (!err && leg->port != port)
		err = -EADDRNOTAVAIL;
	if (!err)
		err = conf->media->leg_start(conf->media_arg, leg->media, rem);
	if (err)
		return err;
	leg->runid = g_strdup(runid);
	leg->resumed_at = joined_at;
	leg->state = CE_LEG_JOINED;
	leg->deadline = 0;
	ce_room_add(leg->room, leg);
	g_info("%s (%s) resumed in room '%s'", leg->id, leg->peer ? leg->peer : "",
	        leg->room->name);
	return 0;
}

/** The call on the leg is answered (our masquerade came back, or Yate said so). */
void ce_leg_answered(struct ce_leg *leg)
{
	if (leg->state == CE_LEG_RTP)
		join(leg);
}

/* A call.conference waiting for this leg learns it failed. */
static void fail_defer(struct ce_leg *leg, const char *reason)
{
	struct ce_msg *m;

	if (!leg->defer)
		return;
	m = ce_dispatch_msg(leg->defer);
	ce_msg_set(m, "error", "failure");
	ce_msg_set(m, "reason", reason);
	ce_msg_set(m, "room", "-"); /* keep Yate's own conference away */
	ce_dispatch_complete(g_steal_pointer(&leg->defer), false);
}

/**
 * End the leg for @reason: leave the room (final talkstop, "left"), free
 * the media, and when @drop tell Yate to drop dumb/N.  Idempotent.
 */
void ce_leg_end(struct ce_leg *leg, const char *reason, bool drop)
{
	struct ce_conf *conf = leg->conf;
	enum ce_leg_state prev = leg->state;
	struct ce_room_event ev;

	if (prev == CE_LEG_GONE)
		return;
	if (leg->orphaned) {
		/* also when the room drops it after its orphaned neighbours left */
		reason = leg->orphaned;
		drop = false;
	}
	ce_leg_ref(leg);
	leg->state = CE_LEG_GONE;
	leg->rehoming = false; /* a re-point's answer finds nobody to tell */
	ce_lobby_free(leg->lobby);
	if (leg->name_owned && leg->name_prompt)
		ce_lobby_forget_name(leg->conf, leg->name_prompt);
	leg->name_owned = false;
	g_info("%s (%s) ends in state %s: %s", leg->id ? leg->id : "-", leg->peer ? leg->peer : "",
	        ce_leg_state_name(prev), reason ? reason : "");
	if (leg->peer && g_hash_table_lookup(conf->offers, leg->peer) == leg)
		g_hash_table_remove(conf->offers, leg->peer);
	if (leg->id && g_hash_table_lookup(conf->legs, leg->id) == leg)
		g_hash_table_remove(conf->legs, leg->id);
	if (drop && leg->id)
		ce_leg_send_drop(conf, leg->id, reason);
	fail_defer(leg, reason);
	ce_conf_moved(conf, leg, false);
	if (leg->talking && leg->room) {
		leg->talking = false;
		ce_room_event_init(&ev, CE_EVENT_TALK_STOP);
		ce_room_leg_event(leg->room, leg, &ev);
	}
	if (leg->media)
		conf->media->leg_free(conf->media_arg, g_steal_pointer(&leg->media));
	/* the Yate that saw this call start is gone: no chan.hangup for another one */
	if (prev == CE_LEG_JOINED && leg->billing && !leg->orphaned)
		billing_msg(leg, "chan.hangup", reason ? reason : "hangup");
	if (leg->room)
		ce_room_remove(leg->room, leg);
	ce_conf_journal_leave(leg);
	g_ptr_array_remove(conf->all, leg);
	ce_leg_unref(leg);
}

/** Deadlines: a leg that did not get into its room in time is dropped. */
void ce_leg_tick(struct ce_leg *leg, gint64 now)
{
	if (leg->state >= CE_LEG_JOINED || !leg->deadline || now < leg->deadline)
		return;
	if (leg->state == CE_LEG_OFFERED && leg->peer && !leg->up) {
		/* we never learnt dumb/N: drop the caller rather than leave it hanging
		 * (a call that was up before call.conference keeps its call) */
		ce_leg_send_drop(leg->conf, leg->peer, "timeout");
	}
	ce_leg_end(leg, "timeout", true);
}

/** Mute (the room no longer hears the leg) or unmute; notifies mute/unmute. */
void ce_leg_set_muted(struct ce_leg *leg, bool on)
{
	struct ce_conf *conf = leg->conf;
	struct ce_room_event ev;

	if (leg->muted == on || leg->state == CE_LEG_GONE)
		return;
	leg->muted = on;
	if (leg->media)
		conf->media->leg_set_flags(conf->media_arg, leg->media, ce_leg_media_flags(leg));
	if (on)
		ce_leg_talking(leg, false, 0);
	if (leg->room && leg->state == CE_LEG_JOINED) {
		ce_room_event_init(&ev, on ? CE_EVENT_MUTE : CE_EVENT_UNMUTE);
		ce_room_leg_event(leg->room, leg, &ev);
	}
}

/**
 * The leg's volume steps of CE_LEG_GAIN_STEP_DB each: how loud the room
 * hears it (@talk_step) and how loud it hears the room (@listen_step);
 * 0 leaves its audio as it is.  Kept for a leg whose media is not up yet.
 */
void ce_leg_set_gain(struct ce_leg *leg, int talk_step, int listen_step)
{
	struct ce_conf *conf = leg->conf;

	leg->talk_step = talk_step;
	leg->listen_step = listen_step;
	if (leg->media && conf->media->leg_set_gain)
		conf->media->leg_set_gain(conf->media_arg, leg->media,
		        talk_step * CE_LEG_GAIN_STEP_DB, listen_step * CE_LEG_GAIN_STEP_DB);
}

/**
 * Noise suppression and AGC of what the leg says, from now on (its join's
 * noise_suppression= and agc= until then): a new processor, which learns
 * the noise afresh (media/dsp.h).  Kept for a leg whose media is not up yet.
 */
void ce_leg_set_dsp(struct ce_leg *leg, bool ns, bool agc)
{
	struct ce_conf *conf = leg->conf;

	if ((leg->ns == ns && leg->agc == agc) || leg->state == CE_LEG_GONE)
		return;
	leg->ns = ns;
	leg->agc = agc;
	if (leg->media)
		conf->media->leg_set_flags(conf->media_arg, leg->media, ce_leg_media_flags(leg));
}

/** Deaf (the leg hears nothing) or not; notifies deaf/undeaf. */
void ce_leg_set_deaf(struct ce_leg *leg, bool on)
{
	struct ce_conf *conf = leg->conf;

	if (leg->deaf == on || leg->state == CE_LEG_GONE)
		return;
	leg->deaf = on;
	if (leg->media)
		conf->media->leg_set_flags(conf->media_arg, leg->media, ce_leg_media_flags(leg));
	if (leg->room && leg->state == CE_LEG_JOINED)
		ce_room_notify_leg(leg->room, leg, on ? "deaf" : "undeaf", NULL, NULL);
}

/** The media side saw the leg start or stop talking; the room event TALK_START or TALK_STOP. */
void ce_leg_talking(struct ce_leg *leg, bool on, unsigned energy)
{
	struct ce_room_event ev;

	if (leg->state != CE_LEG_JOINED || leg->talking == on || (on && (leg->muted || leg->held)))
		return;
	leg->talking = on;
	leg->energy = on ? energy : 0;
	ce_room_event_init(&ev, on ? CE_EVENT_TALK_START : CE_EVENT_TALK_STOP);
	if (on)
		ev.energy = (int)MIN(energy, (unsigned)G_MAXINT);
	ce_room_leg_event(leg->room, leg, &ev);
}
