/* conference.c - the conference module: conf/ rooms for Yate calls, bus handlers, controls and
 * console
 *
 * Over 700 lines: the module's handlers of Yate's messages (call.execute,
 * call.conference and its moves, chan.masquerade'd joins, dial-out
 * watches) share the module's state and its refusal rules; split, each
 * would reach back into the others.
 */
#define G_LOG_DOMAIN "conference"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "bus.h"
#include "conference.h"
#include "config.h"
#include "engine.h"
#include "message.h"
#include "module.h"
#include "room.h"
#include "leg.h"
#include "lobby.h"
#include "keypad.h"
#include "media-glue.h"
#include "params.h"
#include "prompt-set.h"
#include "media/mixer.h"
#include "yate.h"
#include "modules/schedule/schedule.h"
#include "modules/store/store.h"

/*
 * Joining (DESIGN.md §2, transcript 1).  Yate offers
 *
 *   call.execute id=tone/3 callto=conf/room1 [notify=... lonely=... ...]
 *
 * and we answer false with the call handed to Yate's dumb driver and our
 * marker, plus the room as Yate's conference returns it:
 *
 *   callto=dumb/ ce_room=room1 room=conf/room1 newroom=true users=1
 *
 * The call.execute watcher then shows peerid=dumb/3 and the leg (leg.c)
 * attaches RTP and answers.  A refusal answers false with error=, reason=
 * and callto=- so that neither Yate's conference module (priority 90) nor
 * any other driver takes the call, and Yate rejects the caller with our
 * error.  call.conference for a call that is up masquerades the same
 * call.execute on the caller's channel and answers when dumb/N is known.
 */

#define PREFIX "conf/"

static gint64 mono_clock(void *arg)
{
	(void)arg;
	return g_get_monotonic_time();
}

static const char *check_ip(const char *v)
{
	struct in6_addr a;

	return inet_pton(AF_INET, v, &a) == 1 || inet_pton(AF_INET6, v, &a) == 1
	               ? NULL
	               : "expects an IPv4 or IPv6 address";
}

/* Read a codecs= list (opus, g722, mulaw, alaw, comma separated) into @out; NULL or why not. */
static const char *parse_codecs(const char *v, enum ce_codec *out, unsigned *n)
{
	gchar **names = g_strsplit(v, ",", 0);
	const char *why = NULL;

	*n = 0;
	for (gchar **f = names; *f && !why; f++) {
		enum ce_codec c;
		bool dup = false;

		g_strstrip(*f);
		if (ce_codec_from_name(*f, &c) || c == CE_CODEC_L16) {
			why = "expects codecs of opus, g722, mulaw and alaw, comma separated, best "
			      "first";
			break;
		}
		for (unsigned i = 0; i < *n; i++)
			dup |= out[i] == c;
		if (!dup)
			out[(*n)++] = c;
	}
	g_strfreev(names);
	if (!why && !*n)
		why = "expects at least one codec";
	return why;
}

static const char *check_codecs(const char *v)
{
	enum ce_codec c[CE_CODEC_COUNT];
	unsigned n;

	return parse_codecs(v, c, &n);
}

static const char *check_lang(const char *v)
{
	return ce_prompt_lang_valid(v) ? NULL
	                               : "expects a language folder's name: letters, digits, '-' "
	                                 "and '_', starting with a letter, at most 16 (en, pt-BR)";
}

/*
 * The keys of [conference], with the ranges the readers below, prompt.c
 * (prompts, tone_duration) and media-glue.c (RTP, jitter buffer, talkers)
 * clamp to: a value outside them stops the start (docs/configuration.md).
 */
static const struct ce_config_key conference_keys[] = {
        CE_KEY_INT("priority", 0, 1000),
        CE_KEY_INT("maxusers", 0, 100000),
        CE_KEY_INT("rate", 8000, 48000),
        CE_KEY_CHOICE("format", "mulaw|alaw"),
        CE_KEY_CHECK("codecs", check_codecs),
        CE_KEY_STRING("rtp_address"),
        CE_KEY_BOOL("bypass"),
        CE_KEY_BOOL("noise_suppression"),
        CE_KEY_BOOL("agc"),
        CE_KEY_CHECK("bypass_address", check_ip),
        CE_KEY_CHECK("rtp_bind", check_ip),
        CE_KEY_INT("rtp_port", 0, 65535),
        CE_KEY_INT("media_threads", 1, 64),
        CE_KEY_INT("rtp_timeout", 0, 3600000),
        CE_KEY_INT("jbuf_min", 0, 500),
        CE_KEY_INT("jbuf_max", 20, 500),
        CE_KEY_INT("max_talkers", 1, CE_MIX_MAX_TALKERS),
        CE_KEY_INT("offer_timeout", 100, 600000),
        CE_KEY_INT("step_timeout", 100, 600000),
        CE_KEY_INT("join_timeout", 100, 600000),
        CE_KEY_INT("tick", 10, 10000),
        CE_KEY_BOOL("joined_peerid"),
        CE_KEY_STRING("prompts_dir"),
        CE_KEY_CHECK("lang", check_lang),
        CE_KEY_STRING("enter_prompt"),
        CE_KEY_STRING("leave_prompt"),
        CE_KEY_STRING("lonely_prompt"),
        CE_KEY_STRING("record_prompt"),
        CE_KEY_STRING("moh"),
        CE_KEY_STRING("record_dir"),
        CE_KEY_STRING("prompt_dirs"),
        CE_KEY_INT("tone_duration", 20, CE_TONE_MAX_DURATION),
        CE_KEY_STRING("journal"),
        CE_KEY_STRING("lobby_notify"),
        CE_KEY_INT("lobby_tries", 1, 20),
        CE_KEY_INT("lobby_digit_timeout", 500, 60000),
        CE_KEY_INT("lobby_entry_timeout", 1000, 120000),
        CE_KEY_INT("lobby_max_digits", 4, 256),
        CE_KEY_BOOL("lobby_recognise"),
        CE_KEY_INT("lobby_name", 0, 30000),
        CE_KEY_END,
};

/*
 * [conference] journal, else legs.journal in the engine's state directory
 * when that is in use ([general] state_dir set, or the store keeping its
 * files in the built-in one), else none.
 */
static char *journal_path(const struct ce_config *cfg)
{
	const char *state = cfg ? ce_config_get(cfg, "general", "state_dir", "") : "";
	char *def = *state ? g_build_filename(state, "legs.journal", NULL)
	            : cfg && ce_store_state_dir_in_use(cfg) ? g_strdup(CE_STATEDIR "/legs.journal")
	                                                    : NULL;
	char *path = cfg ? ce_config_get_path(cfg, "conference", "journal", def) : NULL;

	g_free(def);
	return path;
}

/** Read the [conference] section (defaults for anything missing; @cfg may be NULL). */
void ce_conf_settings_load(struct ce_conf_settings *set, const struct ce_config *cfg)
{
	const char *fmt = cfg ? ce_config_get(cfg, "conference", "format", "") : "";
	const char *S = "conference";

	set->priority = cfg ? ce_config_get_int(cfg, S, "priority", 50, 0, 1000) : 50;
	set->maxusers = cfg ? ce_config_get_int(cfg, S, "maxusers", CE_ROOM_DEF_MAXUSERS, 0, 100000)
	                    : CE_ROOM_DEF_MAXUSERS;
	set->rate = cfg ? ce_config_get_int(cfg, S, "rate", 8000, 8000, 48000) : 8000;
	set->rtp_address =
	        g_strdup(cfg ? ce_config_get(cfg, S, "rtp_address", "127.0.0.1") : "127.0.0.1");
	set->bypass = cfg ? ce_config_get_bool(cfg, S, "bypass", true) : true;
	set->noise_suppression =
	        cfg ? ce_config_get_bool(cfg, S, "noise_suppression", false) : false;
	set->agc = cfg ? ce_config_get_bool(cfg, S, "agc", false) : false;
	set->bypass_address = g_strdup(
	        cfg ? ce_config_get(cfg, S, "bypass_address", set->rtp_address) : set->rtp_address);
	set->media_threads = cfg ? ce_config_get_int(cfg, S, "media_threads", 1, 1, 64) : 1;
	if (!*fmt) {
		set->codec = CE_CODEC_PCMU;
	} else if (ce_codec_from_name(fmt, &set->codec) ||
	           (set->codec != CE_CODEC_PCMU && set->codec != CE_CODEC_PCMA)) {
		g_warning("[conference] format=%s is not mulaw or alaw, using mulaw", fmt);
		set->codec = CE_CODEC_PCMU;
	}
	/*
	 * codecs=: by default Opus (answered only where ysipchan forwards the
	 * phone's raw SDP), G.722, then the laws, format='s first
	 */
	if (!cfg ||
	        parse_codecs(ce_config_get(cfg, S, "codecs", ""), set->codecs, &set->n_codecs)) {
		set->codecs[0] = CE_CODEC_OPUS;
		set->codecs[1] = CE_CODEC_G722;
		set->codecs[2] = set->codec;
		set->codecs[3] = set->codec == CE_CODEC_PCMU ? CE_CODEC_PCMA : CE_CODEC_PCMU;
		set->n_codecs = 4;
	}
	set->offer_timeout_ms =
	        cfg ? ce_config_get_int(cfg, S, "offer_timeout", 5000, 100, 600000) : 5000;
	set->step_timeout_ms =
	        cfg ? ce_config_get_int(cfg, S, "step_timeout", 5000, 100, 600000) : 5000;
	set->join_timeout_ms =
	        cfg ? ce_config_get_int(cfg, S, "join_timeout", 15000, 100, 600000) : 15000;
	set->rtp_timeout_ms =
	        cfg ? ce_config_get_int(cfg, S, "rtp_timeout", 10000, 0, 3600000) : 10000;
	set->tick_ms = cfg ? ce_config_get_int(cfg, S, "tick", 250, 10, 10000) : 250;
	set->joined_peerid = cfg ? ce_config_get_bool(cfg, S, "joined_peerid", false) : false;
	set->journal = journal_path(cfg);
	ce_conf_prompt_settings(set, cfg);
	ce_lobby_settings_load(&set->lobby, cfg);
}

/* Answer false with Yate's error and keep every other driver away. */
static enum ce_msg_result refuse(
        struct ce_msg *msg, const char *param, const struct ce_room_refusal *why)
{
	g_info("refusing %s for %s: %s", ce_msg_get_def(msg, param, ""),
	        ce_msg_get_def(msg, "id", "?"), why->reason);
	ce_msg_set(msg, "error", why->error);
	ce_msg_set(msg, "reason", why->reason);
	ce_msg_set(msg, param, "-");
	return CE_MSG_CONTINUE;
}

/** Find or make the room a request asks for; NULL (and @why) on refusal. */
struct ce_room *ce_conf_open_room(struct ce_conf *conf, GString *name,
        const struct ce_join_params *p, struct ce_room_refusal *why)
{
	struct ce_room *room;

	if (!ce_room_check(conf, name, p->existing, p->counted, p->utility, why))
		return NULL;
	room = ce_room_find(conf, name->str);
	if (room) {
		ce_room_update(room, p);
		return room;
	}
	if (ce_room_new(&room, conf, name->str, p)) {
		why->error = "congestion";
		why->reason = "Cannot create conference room";
		return NULL;
	}
	return room;
}

/* A new leg for channel @peer; an older offer for the same channel gives way. */
static struct ce_leg *offer(struct ce_conf *conf, struct ce_room *room,
        const struct ce_join_params *p, const char *peer)
{
	struct ce_leg *old = g_hash_table_lookup(conf->offers, peer);
	struct ce_leg *leg = NULL;

	if (old)
		ce_leg_end(old, "replaced", false);
	if (ce_leg_new(&leg, conf, room, p, peer))
		return NULL;
	g_hash_table_insert(conf->offers, leg->peer, leg);
	return leg;
}

/** A room made for a request that then failed goes again, unless someone else is in it. */
void ce_conf_forget_room(struct ce_room *room)
{
	/* a room made for a request that then failed must not linger (nor its recorder) */
	if (ce_room_idle(room))
		ce_room_drop_all(room, "hangup");
}

/* A room's new leg for call.execute @msg: the answer that hands the call to Yate's dumb driver. */
static void execute_offered(struct ce_room *room, struct ce_leg *leg, const char *name,
        const struct ce_join_params *p, struct ce_msg *msg)
{
	ce_msg_set(msg, "callto", "dumb/");
	ce_msg_set(msg, "ce_room", name);
	ce_msg_setf(msg, "room", PREFIX "%s", name);
	ce_leg_ref(leg);
	ce_room_set_params(room, p, msg);
	if (leg->state == CE_LEG_GONE) {
		/* confowner=false closed the room under us */
		refuse(msg, "callto",
		        &(struct ce_room_refusal){"failure", "Conference room closed"});
	} else if (ce_leg_offer_direct(leg, msg)) {
		/* ysipchan then leaves the RTP to us (SDPSession::updateRtpForward) */
		ce_msg_set(msg, "rtp_forward", "accepted");
	} else {
		ce_leg_offer_relayed(leg, msg);
	}
	ce_leg_unref(leg);
}

/* call.execute callto=lobby[/KEY]: a leg into a lobby room of its own (lobby.c). */
static enum ce_msg_result lobby_execute(
        struct ce_conf *conf, struct ce_dispatch *d, struct ce_msg *msg)
{
	const char *peer = ce_msg_get(msg, "id");
	struct ce_room_refusal why = {"failure", "No call endpoint"};
	struct ce_join_params p;
	struct ce_room *room;
	struct ce_leg *leg = NULL;

	ce_conference_admission_done(conf, d);
	if (!peer || !*peer)
		return refuse(msg, "callto", &why);
	ce_join_params_read(&p, msg, &conf->set);
	room = ce_lobby_room(conf, &p);
	if (room) {
		leg = offer(conf, room, &p, peer);
		if (leg && ce_lobby_attach(leg, msg)) {
			ce_leg_end(leg, "failure", false);
			leg = NULL;
		}
		if (!leg)
			ce_conf_forget_room(room);
	}
	if (leg) {
		execute_offered(room, leg, room->name, &p, msg);
	} else {
		why = (struct ce_room_refusal){"congestion", "Cannot open the lobby"};
		refuse(msg, "callto", &why);
	}
	ce_join_params_clear(&p);
	return CE_MSG_CONTINUE;
}

static enum ce_msg_result on_execute(struct ce_dispatch *d, struct ce_msg *msg, void *arg)
{
	struct ce_conf *conf = arg;
	const char *callto = ce_msg_get(msg, "callto");
	const char *peer = ce_msg_get(msg, "id");
	struct ce_room_refusal why = {"failure", "No call endpoint"};
	struct ce_join_params p;
	struct ce_room *room;
	struct ce_leg *leg;
	GString *name;

	if (ce_lobby_target(callto))
		return lobby_execute(conf, d, msg);
	if (!callto || !g_str_has_prefix(callto, PREFIX))
		return CE_MSG_CONTINUE;
	/* decided below, now: admitted (offered a leg) or refused */
	ce_conference_admission_done(conf, d);
	if (!peer || !*peer)
		return refuse(msg, "callto", &why);
	ce_join_params_read(&p, msg, &conf->set);
	name = g_string_new(callto + strlen(PREFIX));
	room = ce_conf_open_room(conf, name, &p, &why);
	leg = room ? offer(conf, room, &p, peer) : NULL;
	if (room && !leg)
		ce_conf_forget_room(room);
	if (leg)
		execute_offered(room, leg, name->str, &p, msg);
	else
		refuse(msg, "callto", &why);
	g_string_free(name, TRUE);
	ce_join_params_clear(&p);
	return CE_MSG_CONTINUE;
}

/*
 * Moving calls that are up (call.conference).  Connecting caller A to a new
 * dumb/N disconnects A's old peer B, and Yate hangs up a channel whose
 * chan.disconnected nobody handles.  While A and B are being moved, the
 * engine handles chan.disconnected for them and answers it only when that
 * channel has its own dumb/M (true: it stays) or failed (false: Yate hangs
 * it up).  The handler is installed only while a move is in progress.
 */
static enum ce_msg_result on_disconnected(struct ce_dispatch *d, struct ce_msg *msg, void *arg)
{
	struct ce_conf *conf = arg;
	struct ce_leg *leg = g_hash_table_lookup(conf->moving, ce_msg_get_def(msg, "id", ""));

	if (!leg || leg->disc)
		return CE_MSG_CONTINUE;
	leg->disc = d;
	return CE_MSG_DEFERRED;
}

static void start_moving(struct ce_conf *conf, struct ce_leg *leg)
{
	if (!conf->disc_hook) {
		int id = ce_bus_install(conf->bus, "chan.disconnected", conf->set.priority, NULL,
		        NULL, 0, on_disconnected, conf, NULL);

		conf->disc_hook = id > 0 ? id : 0;
	}
	g_hash_table_replace(conf->moving, leg->peer, leg);
	leg->moving = true;
}

/**
 * The move of @leg's channel to its dumb/N is over (@ok: it has one): a
 * chan.disconnected held for that channel is answered.
 */
void ce_conf_moved(struct ce_conf *conf, struct ce_leg *leg, bool ok)
{
	if (!leg->moving)
		return;
	leg->moving = false;
	if (g_hash_table_lookup(conf->moving, leg->peer) == leg)
		g_hash_table_remove(conf->moving, leg->peer);
	if (leg->disc)
		ce_dispatch_complete(g_steal_pointer(&leg->disc), ok);
	if (!g_hash_table_size(conf->moving) && conf->disc_hook) {
		ce_bus_uninstall(conf->bus, conf->disc_hook);
		conf->disc_hook = 0;
	}
}

/* Answer the call.conference that moved @leg, now that dumb/N is known. */
static void answer_conference(struct ce_dispatch *d, struct ce_leg *leg, const char *peerid)
{
	struct ce_msg *m = ce_dispatch_msg(d);
	struct ce_join_params p;

	if (leg->state == CE_LEG_GONE) {
		ce_msg_set(m, "error", "congestion");
		ce_msg_set(m, "room", "-");
		ce_dispatch_complete(d, false);
		return;
	}
	ce_msg_set(m, "peerid", peerid);
	ce_msg_setf(m, "room", PREFIX "%s", leg->room->name);
	/* the request was read when it came in (on_conference); its notes are logged */
	ce_join_params_parse(&p, m, &leg->conf->set, NULL);
	ce_room_set_params(leg->room, &p, m);
	ce_join_params_clear(&p);
	ce_dispatch_complete(d, true);
}

static void masq_done(struct ce_msg *msg, bool handled, void *arg)
{
	struct ce_leg *leg = arg;
	const char *peerid = ce_msg_get(msg, "peerid");
	struct ce_dispatch *d;

	if (leg->state != CE_LEG_OFFERED)
		goto out;
	if (!handled || !peerid || !g_str_has_prefix(peerid, "dumb/")) {
		ce_leg_end(leg, ce_msg_get_def(msg, "error", "failure"), false);
		goto out;
	}
	d = g_steal_pointer(&leg->defer);
	ce_leg_peer_known(leg, peerid);
	ce_conf_moved(leg->conf, leg, leg->state != CE_LEG_GONE);
	if (d)
		answer_conference(d, leg, peerid);
out:
	ce_leg_unref(leg);
}

/* call.conference with no channel: recording and owners of an existing room. */
static enum ce_msg_result conference_room(
        struct ce_conf *conf, const char *name, const struct ce_join_params *p, struct ce_msg *msg)
{
	struct ce_room *room = ce_room_find(conf, name);
	bool ok;

	if (!room)
		return CE_MSG_CONTINUE;
	ok = ce_room_set_recording(room, p);
	ok = ce_room_set_params(room, p, msg) || ok;
	return ok ? CE_MSG_HANDLED : CE_MSG_CONTINUE;
}

static bool same_room_leg(struct ce_conf *conf, const char *peer, const char *name)
{
	for (unsigned i = 0; i < conf->all->len; i++) {
		struct ce_leg *l = g_ptr_array_index(conf->all, i);

		if (l->peer && !strcmp(l->peer, peer) && l->room && !strcmp(l->room->name, name))
			return true;
	}
	return false;
}

static void masquerade_execute(
        struct ce_conf *conf, struct ce_leg *leg, const char *name, const struct ce_join_params *p)
{
	struct ce_msg *m = NULL;

	ce_msg_new(&m, "chan.masquerade");
	ce_msg_add(m, "id", leg->peer);
	ce_msg_add(m, "message", "call.execute");
	ce_msg_add(m, "callto", "dumb/");
	ce_msg_add(m, "ce_room", name);
	ce_msg_add(m, "reason", p->reason ? p->reason : "conference");
	ce_bus_send(conf->bus, m, conf->set.step_timeout_ms, masq_done, ce_leg_ref(leg));
	ce_msg_unref(m);
}

/* Move channel @leg->peer, and its old peer @other too (as Yate does), into @room. */
static void move_call(struct ce_conf *conf, struct ce_room *room, struct ce_leg *leg,
        const char *other, const char *name, const struct ce_join_params *p)
{
	struct ce_leg *leg2 = NULL;

	if (other && *other && strcmp(other, leg->peer) && !ce_leg_find(conf, other) &&
	        !g_hash_table_contains(conf->moving, other))
		leg2 = offer(conf, room, p, other);
	g_hash_table_remove(conf->offers, leg->peer); /* answered by the masquerade */
	leg->up = true;
	start_moving(conf, leg);
	if (leg2) {
		g_hash_table_remove(conf->offers, leg2->peer);
		leg2->up = true;
		start_moving(conf, leg2);
	}
	masquerade_execute(conf, leg, name, p);
	if (leg2)
		masquerade_execute(conf, leg2, name, p);
}

/* call.conference for channel @peer: move it (and its peer) into room @r. */
static enum ce_msg_result conference_call(struct ce_dispatch *d, struct ce_conf *conf,
        const char *r, const struct ce_join_params *p, struct ce_msg *msg)
{
	const char *peer = p->id;
	struct ce_room_refusal why;
	struct ce_room *room;
	struct ce_leg *leg;
	GString *name;

	if (ce_leg_find(conf, peer)) {
		g_message("conference request from conference leg %s", peer);
		return CE_MSG_CONTINUE;
	}
	if (*r && same_room_leg(conf, peer, r))
		return CE_MSG_HANDLED;
	name = g_string_new(r);
	room = ce_conf_open_room(conf, name, p, &why);
	leg = room ? offer(conf, room, p, peer) : NULL;
	if (room && !leg)
		ce_conf_forget_room(room);
	if (leg) {
		leg->defer = d;
		move_call(conf, room, leg, ce_msg_get(msg, "peerid"), name->str, p);
	}
	g_string_free(name, TRUE);
	if (!leg) {
		if (!room)
			return refuse(msg, "room", &why);
		why = (struct ce_room_refusal){"failure", "Cannot create leg"};
		return refuse(msg, "room", &why);
	}
	return CE_MSG_DEFERRED;
}

static enum ce_msg_result on_conference(struct ce_dispatch *d, struct ce_msg *msg, void *arg)
{
	struct ce_conf *conf = arg;
	const char *r = ce_msg_get_def(msg, "room", "");
	const char *peer = ce_msg_get(msg, "id");
	struct ce_join_params p;
	enum ce_msg_result res;

	if (*r && (!g_str_has_prefix(r, PREFIX) || !r[strlen(PREFIX)]))
		return CE_MSG_CONTINUE;
	r += *r ? strlen(PREFIX) : 0;
	ce_join_params_read(&p, msg, &conf->set);
	if (!peer || !*peer)
		res = conference_room(conf, r, &p, msg);
	else
		res = conference_call(d, conf, r, &p, msg);
	ce_join_params_clear(&p);
	return res;
}

/*
 * chan.dtmf and chan.text of a caller: events dtmf and text of the room
 * (never taken); then a DTMF's keys go to the keypad (keypad.c).
 */
static void leg_input(struct ce_conf *conf, struct ce_leg *leg, const struct ce_msg *msg)
{
	bool dtmf = strcmp(msg->name, "chan.text");

	/* a lobby caller's keys may be a PIN: for the lobby alone, never notified */
	if (leg->lobby) {
		ce_lobby_input(leg, ce_msg_get(msg, "text"));
		return;
	}
	if (leg->state != CE_LEG_JOINED)
		return;
	ce_room_notify_input(leg->room, leg, msg, dtmf ? "dtmf" : "text");
	if (dtmf)
		ce_keypad_input(conf->keypad, leg, ce_msg_get(msg, "text"));
}

static enum ce_msg_result on_input(struct ce_dispatch *d, struct ce_msg *msg, void *arg)
{
	struct ce_conf *conf = arg;
	struct ce_leg *leg = ce_leg_find(conf, ce_msg_get(msg, "targetid"));

	(void)d;
	if (!leg)
		leg = ce_leg_find(conf, ce_msg_get(msg, "peerid"));
	if (leg)
		leg_input(conf, leg, msg);
	return CE_MSG_CONTINUE;
}

/*
 * Keys in a bypassed phone's RTP (RFC 4733), which Yate never sees: the
 * chan.dtmf its yrtpchan would have sent, taken as Yate's.
 */
static void rtp_dtmf(struct ce_leg *leg, const char *text)
{
	struct ce_msg *m = NULL;

	if (!leg->id || ce_msg_new(&m, "chan.dtmf"))
		return;
	ce_msg_add(m, "id", leg->peer ? leg->peer : "");
	ce_msg_add(m, "targetid", leg->id);
	ce_msg_add(m, "text", text);
	ce_msg_add(m, "detected", "rfc2833");
	leg_input(leg->conf, leg, m);
	ce_msg_unref(m);
}

/*
 * A dial-out of the engine (transcript 2) that names a room:
 *   call.execute callto=dumb/ target=801 ce_dialout=room1  ->  true, id=dumb/4, peerid=tone/6
 * dumb/4 joins room1 like a caller would (RTP, no answer of ours: the far
 * end answers) once the call is connected.  Yate's dumb driver answers
 * dumb/4 itself when the far channel left no targetid (Channel::callAccept:
 * a local channel such as tone/ or wave/, which never sends call.answered),
 * so such an answer is connected now.  With targetid=sip/9 the far end
 * rings, and its call.answered (targetid or peerid dumb/4) connects it;
 * meanwhile the call waits in conf->dialing, outside any room, so a busy or
 * unanswered number never enters one.  A room that refuses it gets the call
 * dropped.
 */
static void dialout_join(struct ce_conf *conf, struct ce_msg *msg, const char *name)
{
	const char *id = ce_msg_get(msg, "id");
	struct ce_room_refusal why;
	struct ce_join_params p;
	struct ce_room *room;
	struct ce_leg *leg = NULL;
	GString *gname;

	ce_join_params_read(&p, msg, &conf->set);
	gname = g_string_new(name);
	room = ce_conf_open_room(conf, gname, &p, &why);
	g_string_free(gname, TRUE);
	if (room && !ce_leg_new(&leg, conf, room, &p, ce_msg_get_def(msg, "peerid", id))) {
		leg->up = true;
		ce_leg_peer_known(leg, id);
	} else if (room) {
		ce_conf_forget_room(room);
		ce_leg_send_drop(conf, id, "failure");
	} else {
		g_info("dial-out %s refused by room '%s': %s", id, name, why.reason);
		ce_leg_send_drop(conf, id, why.error);
	}
	ce_join_params_clear(&p);
}

static void dialout_answer(struct ce_conf *conf, struct ce_msg *msg, const char *name)
{
	const char *id = ce_msg_get(msg, "id");
	struct ce_msg *copy = NULL;

	if (!id || !g_str_has_prefix(id, "dumb/") || ce_leg_find(conf, id))
		return;
	if (!ce_msg_get(msg, "targetid")) {
		dialout_join(conf, msg, name);
		return;
	}
	if (ce_msg_copy(&copy, msg) == 0)
		g_hash_table_replace(conf->dialing, g_strdup(id), copy);
}

/* call.answered of a ringing dial-out (Yate names dumb/N as its targetid or peerid). */
static void dialout_connected(struct ce_conf *conf, const struct ce_msg *msg)
{
	static const char *const keys[] = {"targetid", "peerid", "id"};
	gpointer id, req;

	for (unsigned i = 0; i < G_N_ELEMENTS(keys); i++) {
		const char *v = ce_msg_get(msg, keys[i]);

		if (v && g_hash_table_steal_extended(conf->dialing, v, &id, &req)) {
			dialout_join(conf, req, ce_msg_get_def(req, "ce_dialout", ""));
			g_free(id);
			ce_msg_unref(req);
			return;
		}
	}
}

static void watch_execute(struct ce_msg *msg, bool handled, void *arg)
{
	struct ce_conf *conf = arg;
	const char *name = ce_msg_get(msg, "ce_room");
	const char *peer = ce_msg_get(msg, "id");
	const char *peerid = ce_msg_get(msg, "peerid");
	const char *dialout = ce_msg_get(msg, "ce_dialout");
	struct ce_leg *leg;

	if (!name && dialout && handled)
		dialout_answer(conf, msg, dialout);
	if (ce_msg_get(msg, "ce_recorder") && handled && peer && g_str_has_prefix(peer, "dumb/") &&
	        !ce_leg_find(conf, peer)) {
		/* a recorder call that Yate placed after its leg had ended (recording stopped) */
		ce_leg_send_drop(conf, peer, "hangup");
		return;
	}
	if (!name || !peer)
		return;
	leg = g_hash_table_lookup(conf->offers, peer);
	if (!leg || !leg->room || strcmp(leg->room->name, name)) {
		/* a dumb/N of ours that lost its leg (timed out, room closed) */
		if (handled && peerid && g_str_has_prefix(peerid, "dumb/") &&
		        !ce_leg_find(conf, peerid))
			ce_leg_send_drop(conf, peerid, "failure");
		return;
	}
	if (handled && peerid && g_str_has_prefix(peerid, "dumb/"))
		ce_leg_peer_known(leg, peerid);
	else
		ce_leg_end(leg, ce_msg_get_def(msg, "error", "failure"), false);
}

static void watch_hangup(struct ce_msg *msg, bool handled, void *arg)
{
	struct ce_conf *conf = arg;
	const char *id = ce_msg_get(msg, "id");
	struct ce_leg *leg = ce_leg_find(conf, id);
	GList *rooms;

	(void)handled;
	if (!id)
		return;
	g_hash_table_remove(conf->dialing, id);
	if (leg)
		ce_leg_end(leg, ce_msg_get_def(msg, "reason", "hangup"), false);
	/* Yate's HangupHandler: a channel that goes is no longer an owner */
	rooms = g_hash_table_get_values(conf->rooms);
	for (GList *l = rooms; l; l = l->next)
		ce_room_del_owner(l->data, id);
	g_list_free(rooms);
}

static void watch_disconnected(struct ce_msg *msg, bool handled, void *arg)
{
	struct ce_conf *conf = arg;
	const char *id = ce_msg_get(msg, "id");
	struct ce_leg *leg = ce_leg_find(conf, id);

	(void)handled;
	if (id)
		g_hash_table_remove(conf->dialing, id); /* a dial-out that failed while ringing */
	if (!leg) {
		/* the caller lost its dumb/N peer */
		leg = ce_leg_find(conf, ce_msg_get(msg, "lastpeerid"));
		if (leg && (!leg->peer || g_strcmp0(leg->peer, id)))
			leg = NULL;
	}
	/* Yate hangs up a dumb channel that lost its peer: no call.drop needed */
	if (leg)
		ce_leg_end(leg, ce_msg_get_def(msg, "reason", "hangup"), false);
}

static void watch_answered(struct ce_msg *msg, bool handled, void *arg)
{
	struct ce_leg *leg = ce_leg_find(arg, ce_msg_get(msg, "id"));

	(void)handled;
	if (leg)
		ce_leg_answered(leg);
	else
		dialout_connected(arg, msg);
}

/**
 * An event from the media side (on the main loop).  The media side never
 * reports a cookie after the leg or room was freed.
 */
void ce_conf_media_event(const struct ce_room_event *ev, void *arg)
{
	struct ce_leg *legs[CE_ROOM_EVENT_MAX_SPEAKERS];
	unsigned energy[CE_ROOM_EVENT_MAX_SPEAKERS];
	unsigned n = MIN(ev->n_speakers, CE_ROOM_EVENT_MAX_SPEAKERS);

	(void)arg;
	switch (ev->kind) {
	case CE_EVENT_TALK_START:
	case CE_EVENT_TALK_STOP:
		ce_leg_talking(ev->leg_data, ev->kind == CE_EVENT_TALK_START, MAX(ev->energy, 0));
		break;
	case CE_EVENT_RTP_TIMEOUT:
		ce_conf_rtp_timeout(ev->leg_data);
		break;
	case CE_EVENT_SPEAKERS:
		for (unsigned i = 0; i < n; i++) {
			legs[i] = ev->speakers[i].leg_data;
			energy[i] = ev->speakers[i].energy;
		}
		ce_room_speakers(ev->room_data, legs, energy, n, ev->changed);
		break;
	case CE_EVENT_PROMPT_FAILED:
		g_message("room '%s': %s", ((struct ce_room *)ev->room_data)->name, ev->error);
		if (ev->leg_data)
			ce_lobby_prompt_done(ev->leg_data);
		break;
	case CE_EVENT_PROMPT_DONE:
		ce_lobby_prompt_done(ev->leg_data);
		break;
	case CE_EVENT_RECORD_FAILED:
		ce_room_record_failed(ev->room_data, ev->error, ev->err);
		break;
	case CE_EVENT_DTMF:
		rtp_dtmf(ev->leg_data, ev->text);
		break;
	default:
		break;
	}
}

/** Check every deadline (leg steps, lonely rooms) against the module clock. */
void ce_conf_tick(struct ce_conf *conf)
{
	gint64 now = ce_conf_now(conf);
	GPtrArray *legs = g_ptr_array_new_with_free_func((GDestroyNotify)ce_leg_unref);
	GList *rooms;

	ce_conf_relink_tick(conf);
	ce_conf_journal_tick(conf);
	for (unsigned i = 0; i < conf->all->len; i++)
		g_ptr_array_add(legs, ce_leg_ref(g_ptr_array_index(conf->all, i)));
	for (unsigned i = 0; i < legs->len; i++) {
		ce_leg_tick(g_ptr_array_index(legs, i), now);
		ce_lobby_tick(g_ptr_array_index(legs, i), now);
	}
	g_ptr_array_free(legs, TRUE);
	rooms = g_hash_table_get_keys(conf->rooms);
	for (GList *l = rooms; l; l = l->next) {
		struct ce_room *room = ce_room_find(conf, l->data);

		if (room)
			ce_room_tick(room, now);
	}
	g_list_free(rooms);
}

static gboolean on_tick(gpointer arg)
{
	ce_conf_tick(arg);
	return G_SOURCE_CONTINUE;
}

/* Install @h for @name (those whose @fname is @fvalue, unless NULL) at our priority. */
static void hook_if(
        struct ce_conf *conf, const char *name, const char *fname, const char *fvalue, ce_msg_h *h)
{
	int id = ce_bus_install(
	        conf->bus, name, conf->set.priority, fname, fvalue, 0, h, conf, NULL);

	if (id > 0)
		g_array_append_val(conf->hooks, id);
	else
		g_warning("cannot install %s: %s", name, g_strerror(-id));
}

static void hook(struct ce_conf *conf, const char *name, ce_msg_h *h)
{
	hook_if(conf, name, NULL, NULL, h);
}

static void watch(struct ce_conf *conf, const char *name, unsigned flags, ce_watch_h *h)
{
	int id = ce_bus_watch(conf->bus, name, flags, h, conf, NULL);

	if (id > 0)
		g_array_append_val(conf->watches, id);
	else
		g_warning("cannot watch %s: %s", name, g_strerror(-id));
}

/**
 * Start the conference signalling on @bus with the [conference] settings
 * of @cfg (may be NULL) and the media side @media.  Installs the handlers
 * and watchers and the deadline timer.  Free with ce_conf_free().
 */
int ce_conf_new(struct ce_conf **confp, struct ce_bus *bus, const struct ce_config *cfg,
        const struct ce_media_glue_ops *media, void *media_arg)
{
	struct ce_conf *conf = g_new0(struct ce_conf, 1);
	int err;

	conf->bus = bus;
	conf->media = media;
	conf->media_arg = media_arg;
	conf->clock = mono_clock;
	ce_conf_settings_load(&conf->set, cfg);
	conf->rooms = g_hash_table_new(g_str_hash, g_str_equal);
	conf->legs = g_hash_table_new(g_str_hash, g_str_equal);
	conf->offers = g_hash_table_new(g_str_hash, g_str_equal);
	conf->moving = g_hash_table_new(g_str_hash, g_str_equal);
	conf->dialing = g_hash_table_new_full(
	        g_str_hash, g_str_equal, g_free, (GDestroyNotify)ce_msg_unref);
	conf->all = g_ptr_array_new_with_free_func((GDestroyNotify)ce_leg_unref);
	conf->hooks = g_array_new(FALSE, FALSE, sizeof(int));
	conf->watches = g_array_new(FALSE, FALSE, sizeof(int));
	err = ce_conf_journal_open(conf);
	if (err)
		goto out;
	ce_conf_journal_ports(conf);
	err = media->open(media_arg, ce_conf_media_event, conf);
	if (err)
		goto out;
	conf->media_open = true;
	hook(conf, "call.execute", on_execute);
	hook(conf, "call.conference", on_conference);
	hook(conf, "chan.dtmf", on_input);
	hook(conf, "chan.text", on_input);
	hook(conf, "chan.control", ce_conf_on_control);
	/* a phone's re-INVITE (bypass.c); Yate's other call.update never come here */
	hook_if(conf, "call.update", "operation", "request", ce_conf_on_update);
	hook(conf, "call.drop", ce_conf_on_drop);
	watch(conf, "call.execute", 0, watch_execute);
	watch(conf, "chan.hangup", 0, watch_hangup);
	watch(conf, "chan.disconnected", 0, watch_disconnected);
	watch(conf, "call.answered", 0, watch_answered);
	watch(conf, CE_LINK_MSG, CE_BUS_LOCAL, ce_conf_watch_link);
	conf->tick_id = g_timeout_add(conf->set.tick_ms, on_tick, conf);
	*confp = conf;
out:
	if (err)
		ce_conf_free(conf);
	return err;
}

/** Drop every leg (call.drop to Yate), remove handlers and free the module state. */
void ce_conf_free(struct ce_conf *conf)
{
	GList *rooms;

	if (!conf)
		return;
	if (conf->tick_id)
		g_source_remove(conf->tick_id);
	for (unsigned i = 0; i < conf->hooks->len; i++)
		ce_bus_uninstall(conf->bus, g_array_index(conf->hooks, int, i));
	for (unsigned i = 0; i < conf->watches->len; i++)
		ce_bus_unwatch(conf->bus, g_array_index(conf->watches, int, i));
	while ((rooms = g_hash_table_get_values(conf->rooms))) {
		ce_room_drop_all(rooms->data, "shutdown");
		g_list_free(rooms);
	}
	while (conf->all->len)
		ce_leg_end(g_ptr_array_index(conf->all, 0), "shutdown", true);
	ce_conf_journal_close(conf);
	ce_lobby_forget_all(conf);
	if (conf->media_open)
		conf->media->close(conf->media_arg);
	g_array_free(conf->hooks, TRUE);
	g_array_free(conf->watches, TRUE);
	g_ptr_array_free(conf->all, TRUE);
	g_hash_table_destroy(conf->offers);
	g_hash_table_destroy(conf->moving);
	g_hash_table_destroy(conf->dialing);
	g_hash_table_destroy(conf->legs);
	g_hash_table_destroy(conf->rooms);
	g_clear_pointer(&conf->lost_rooms, g_hash_table_destroy);
	ce_conf_settings_free(&conf->set);
	g_free(conf);
}

/* ---- the module: glue to the engine ---- */

/* The module's state, which the engine keeps: the rooms and the media they run on. */
struct conference_mod {
	struct ce_conf *conf;
	void *media;
};

static void conference_exit(struct ce_engine *ce, void *state);

/* The lobby's questions go to the schedule module. */
static struct ce_sched_query *schedule_ask(
        void *arg, const struct ce_sched_ask *q, ce_sched_answer_h *cb, void *cbarg)
{
	return ce_schedule_ask(arg, q, cb, cbarg);
}

/* Provides the rooms as the service "conference" (conference.h). */
static int conference_init(struct ce_engine *ce, void **state)
{
	struct conference_mod *mod = g_new0(struct conference_mod, 1);
	int err = ce_media_glue_new(&mod->media, ce_engine_config(ce));

	if (!err)
		err = ce_conf_new(&mod->conf, ce_engine_bus(ce), ce_engine_config(ce),
		        ce_media_glue_default_ops(), mod->media);
	if (!err) {
		mod->conf->admit = (struct ce_lobby_admit){
		        .ask = schedule_ask, .cancel = ce_schedule_cancel, .arg = ce};
		ce_conf_console_add(ce, mod->conf);
		err = ce_engine_provide(ce, CE_CONFERENCE_SERVICE, mod->conf);
	}
	if (err) {
		conference_exit(ce, mod);
		return err;
	}
	*state = mod;
	return 0;
}

static void conference_exit(struct ce_engine *ce, void *state)
{
	struct conference_mod *mod = state;

	if (mod->conf)
		ce_conf_console_remove(ce);
	g_clear_pointer(&mod->conf, ce_conf_free);
	g_clear_pointer(&mod->media, ce_media_glue_free);
	g_free(mod);
}

CE_MODULE_DEFINE(
        conference, .init = conference_init, .exit = conference_exit, .keys = conference_keys);
