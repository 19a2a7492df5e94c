/* lobby.c - the lobby: a caller answered on an RTP leg keys in the conference number and PIN, hears
 * why not when refused, and moves into the room on the same leg
 *
 * A call to the dialplan target `lobby` (or `lobby/KEY`, or `lobby` with
 * lobby_key=KEY: the number is known, only the PIN is asked) is joined
 * like any conf/ call, but into a room of its own, "lobby/N", where it is
 * the only leg: the same RTP leg the rooms use, answered by Yate.  There
 * the caller hears the greeting and keys in the conference number and the
 * PIN, each ended by '#' or by a pause.  The schedule module decides
 * (ce_schedule_ask: window, PIN, capacity, the PIN guard); the lobby
 * speaks its answer.  Admitted, the leg moves into the conference's room
 * without a new leg: the media side moves the RTP stream from one mix to
 * the other (ce_media_leg_move), and the rooms say "left" (the lobby) and
 * "joined" (the conference) as for any leg.  Refused, the caller hears
 * why (not started yet, with the time; ended; no such conference; too
 * many tries; locked out), then goodbye, and the call is dropped with a
 * reason the CDR keeps.
 *
 *   welcome -> [recognised by number?] -> enter-number -> enter-pin -> the room
 *
 * Timing is on the module clock (ce_conf_now), ticked by ce_conf_tick, so
 * tests drive it.  A prompt's end comes back from the media side
 * (CE_EVENT_PROMPT_DONE): the wait for the first key starts there, and the
 * goodbye is heard to its end before the hangup.  A key pressed while a
 * prompt plays stops the prompts to the caller (barge-in).  Digits are
 * never logged nor sent in chan.notify: they may be a PIN.
 */
#define G_LOG_DOMAIN "conference"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include "config.h"
#include "engine.h"
#include "message.h"
#include "leg.h"
#include "lobby.h"
#include "media-glue.h"
#include "params.h"
#include "prompt-set.h"
#include "room.h"

#define LOBBY_PREFIX "lobby"
/* A goodbye that never reports its end (media trouble) still ends the call. */
#define BYE_MAX_US (30 * G_USEC_PER_SEC)
/* Prompts that never report their end still let the entry time out. */
#define PROMPT_MAX_US (60 * G_USEC_PER_SEC)

enum step {
	STEP_WAIT,   /* joined the lobby room not yet */
	STEP_ASK,    /* the schedule is deciding */
	STEP_NUMBER, /* keying in the conference number */
	STEP_PIN,    /* keying in the PIN of key */
	STEP_NAME,   /* admitted: saying one's name for the room's announcements */
	STEP_MOVE,   /* admitted: going into the room (re-pointed: waiting for Yate) */
	STEP_BYE,    /* the last words play, then the hangup */
};

struct ce_lobby_call {
	struct ce_leg *leg; /* the leg owns this */
	enum step step;
	struct ce_msg *call;     /* the call.execute's parameters: who, lang, billing */
	struct ce_msg *join;     /* admitted: those with the schedule's join over them */
	struct ce_room *target;  /* admitted: the room, a place reserved in it */
	struct ce_msg *rtp;      /* Yate's RTP end (chan.rtp's answer), for the journal */
	struct ce_msg *admitted; /* STEP_NAME: the schedule's join, until the name is said */
	char *name_file;         /* the caller's recorded name (a file under record_dir) */
	gint64 name_at;          /* STEP_NAME, recording: it ends by then */
	bool moved;              /* in its room: the leg has the name now */
	bool closing;            /* STEP_NAME: the recorder stopped, its file being closed */
	char *caller;
	char *key;   /* the conference number, once known */
	bool preset; /* key came with the call: a wrong one ends it */
	GString *digits;
	bool overflow; /* more keys than max_digits: the entry is wrong */
	unsigned tries;
	unsigned playing;  /* prompts queued to the leg, not yet ended */
	gint64 entry_at;   /* no key by then: the entry is missing */
	gint64 digit_at;   /* no further key by then: the entry ends */
	gint64 bye_at;     /* STEP_BYE: hang up by then whatever the prompts do */
	const char *bye;   /* STEP_BYE: the hangup's reason */
	bool asked_number; /* the pending question is about a keyed-in number */
	struct ce_sched_query *query;
};

/** Read the lobby_* keys of [conference] (@cfg may be NULL: the defaults). */
void ce_lobby_settings_load(struct ce_lobby_settings *set, const struct ce_config *cfg)
{
	const char *S = "conference";

	set->notify = g_strdup(cfg ? ce_config_get(cfg, S, "lobby_notify", "conf-monitor/lobby")
	                           : "conf-monitor/lobby");
	set->tries = cfg ? ce_config_get_int(cfg, S, "lobby_tries", 3, 1, 20) : 3;
	set->digit_timeout_ms =
	        cfg ? ce_config_get_int(cfg, S, "lobby_digit_timeout", 5000, 500, 60000) : 5000;
	set->entry_timeout_ms =
	        cfg ? ce_config_get_int(cfg, S, "lobby_entry_timeout", 10000, 1000, 120000) : 10000;
	set->max_digits = cfg ? ce_config_get_int(cfg, S, "lobby_max_digits", 32, 4, 256) : 32;
	set->recognise = cfg ? ce_config_get_bool(cfg, S, "lobby_recognise", true) : true;
	set->name_ms = cfg ? ce_config_get_int(cfg, S, "lobby_name", 4000, 0, 30000) : 4000;
}

void ce_lobby_settings_free(struct ce_lobby_settings *set)
{
	g_clear_pointer(&set->notify, g_free);
}

/** Whether a call.execute's callto is the lobby's: "lobby" or "lobby/KEY". */
bool ce_lobby_target(const char *callto)
{
	return callto && g_str_has_prefix(callto, LOBBY_PREFIX) &&
	       (!callto[strlen(LOBBY_PREFIX)] || callto[strlen(LOBBY_PREFIX)] == '/');
}

static const struct ce_lobby_settings *settings(const struct ce_lobby_call *lc)
{
	return &lc->leg->conf->set.lobby;
}

static gint64 now_of(const struct ce_lobby_call *lc)
{
	return ce_conf_now(lc->leg->conf);
}

/* Queue prompt @name to the caller; counted until its end comes back. */
static void say(struct ce_lobby_call *lc, const char *name)
{
	if (!ce_room_play(lc->leg->room, name, lc->leg, false))
		lc->playing++;
}

static void say_list(struct ce_lobby_call *lc, const GPtrArray *names)
{
	for (guint i = 0; i < names->len; i++)
		say(lc, g_ptr_array_index(names, i));
}

/* Nothing more to say: hang up once what plays has been heard. */
static void bye(struct ce_lobby_call *lc, const char *reason)
{
	say(lc, "goodbye.wav");
	lc->step = STEP_BYE;
	lc->bye = reason;
	lc->bye_at = now_of(lc) + BYE_MAX_US;
	lc->entry_at = lc->digit_at = 0;
	g_message("lobby %s (%s): goodbye: %s", lc->leg->id, lc->caller ? lc->caller : "", reason);
}

/* Ask for an entry (@prompt: enter-number or enter-pin). */
static void prompt_entry(struct ce_lobby_call *lc, enum step step, const char *prompt)
{
	lc->step = step;
	g_string_truncate(lc->digits, 0);
	lc->overflow = false;
	lc->digit_at = 0;
	say(lc, prompt);
	lc->entry_at = now_of(lc) + (gint64)settings(lc)->entry_timeout_ms * 1000 +
	               (lc->playing ? PROMPT_MAX_US : 0);
}

/* A wrong or missing entry: try again while tries remain. */
static void again(struct ce_lobby_call *lc, const char *wrong)
{
	if (wrong)
		say(lc, wrong);
	if (++lc->tries >= settings(lc)->tries) {
		say(lc, "too-many-tries.wav");
		bye(lc, "toomanytries");
		return;
	}
	say(lc, "try-again.wav");
	prompt_entry(lc, lc->step, lc->step == STEP_PIN ? "enter-pin.wav" : "enter-number.wav");
}

static void answered(const struct ce_sched_answer *a, void *arg);
static void name_done(struct ce_lobby_call *lc);

static void ask(struct ce_lobby_call *lc, const char *key, const char *pin)
{
	struct ce_conf *conf = lc->leg->conf;
	struct ce_sched_ask q = {
	        .key = key,
	        .pin = pin,
	        .caller = lc->caller,
	        .chan = lc->leg->peer,
	};

	lc->step = STEP_ASK;
	lc->entry_at = lc->digit_at = 0;
	lc->asked_number = key && !pin && !lc->preset;
	lc->query = conf->admit.ask ? conf->admit.ask(conf->admit.arg, &q, answered, lc) : NULL;
	if (!lc->query)
		bye(lc, "unavailable");
}

/* The room's refusal of an admitted caller (locked, full): said, then goodbye. */
static void refused_by_room(struct ce_lobby_call *lc, const struct ce_room_refusal *why)
{
	g_message("lobby %s: room refused: %s", lc->leg->id, why->reason);
	if (!strcmp(why->error, "forbidden"))
		say(lc, "is-locked.wav");
	bye(lc, why->error);
}

/* Copy every parameter of @from onto @to. */
/*
 * Admitted: into the room named by the join's callto, on the same leg.
 * The join's parameters (the room's, who the participant is) lie over the
 * call's own, so the room sees what a schedule/KEY call would have had.
 * The media side moves the stream between two rooms of one media thread;
 * a room on another thread gets the leg re-pointed (ce_leg_rehome), and
 * the move ends when Yate has answered.
 */
static void finish_move(struct ce_lobby_call *lc)
{
	struct ce_leg *leg = lc->leg;
	struct ce_conf *conf = leg->conf;
	struct ce_room *lobby = leg->room, *target = lc->target;
	struct ce_join_params p;

	ce_join_params_read(&p, lc->join, &conf->set);
	g_info("lobby %s (%s) goes into room '%s'", leg->id, lc->caller ? lc->caller : "",
	        target->name);
	/* the lobby room says "left" and goes; the leg is no longer the lobby's */
	leg->lobby = NULL;
	lc->moved = true;
	leg->name_owned = lc->name_file != NULL;
	lc->target = NULL;
	ce_room_remove(lobby, leg);
	leg->room = target;
	ce_room_add(target, leg); /* takes it from the places reserved */
	ce_room_set_params(target, &p, lc->join);
	/* its journal line names the room now: an engine that crashes resumes it there */
	if (lc->rtp)
		ce_conf_journal_enter(leg, lc->rtp);
	conf->media->leg_set_flags(conf->media_arg, leg->media, ce_leg_media_flags(leg));
	ce_join_params_clear(&p);
	ce_lobby_free(lc);
}

static void rehomed(struct ce_leg *leg, bool ok, void *arg)
{
	struct ce_lobby_call *lc = arg;

	(void)leg;
	if (ok) {
		finish_move(lc);
		return;
	}
	ce_room_unreserve(g_steal_pointer(&lc->target), lc->leg);
	bye(lc, "failure");
}

static void move_in(struct ce_lobby_call *lc, const struct ce_msg *join)
{
	struct ce_leg *leg = lc->leg;
	struct ce_conf *conf = leg->conf;
	struct ce_room_refusal why = {"failure", "Cannot join the conference room"};
	struct ce_join_params p;
	struct ce_room *target;
	const char *callto;
	GString *name = NULL;
	int err;

	if (ce_msg_copy(&lc->join, lc->call)) {
		bye(lc, "failure");
		return;
	}
	ce_msg_set_all(lc->join, join);
	callto = ce_msg_get_def(lc->join, "callto", "");
	if (!g_str_has_prefix(callto, "conf/")) {
		g_warning("lobby %s: the schedule's join has callto=%s", leg->id, callto);
		bye(lc, "failure");
		return;
	}
	ce_join_params_read(&p, lc->join, &conf->set);
	name = g_string_new(callto + strlen("conf/"));
	target = ce_conf_open_room(conf, name, &p, &why);
	g_string_free(name, TRUE);
	if (!target) {
		ce_join_params_clear(&p);
		refused_by_room(lc, &why);
		return;
	}
	/* who the participant is now, and a place in the room, kept while the move is on */
	ce_leg_take_params(leg, &p);
	ce_join_params_clear(&p);
	lc->target = target;
	ce_room_reserve(target, leg);
	ce_room_stop_play(leg->room, leg, false);
	lc->playing = 0;
	lc->step = STEP_MOVE;
	err = conf->media->leg_move
	              ? conf->media->leg_move(conf->media_arg, leg->media, target->media)
	              : -ENOTSUP;
	if (!err) {
		finish_move(lc);
		return;
	}
	if (err == -EXDEV)
		err = ce_leg_rehome(leg, target->media, rehomed, lc);
	if (!err)
		return;
	g_warning("lobby %s: cannot move into room '%s': %s", leg->id, target->name,
	        g_strerror(-err));
	ce_room_unreserve(g_steal_pointer(&lc->target), leg);
	bye(lc, "failure");
}

/*
 * A room that announces who comes and goes (announce_join) hears the
 * caller's own name: "say your name after the tone", a beep, then the
 * room's recorder on the lobby room (whose only voice is the caller's)
 * until '#' or lobby_name ms; the file goes with the join as
 * name_prompt=.  A recording that cannot start leaves the name out.
 */
static void ask_name(struct ce_lobby_call *lc, const struct ce_msg *join)
{
	struct ce_play_opts beep = {.duration_ms = 300};

	if (ce_msg_copy(&lc->admitted, join)) {
		move_in(lc, join);
		return;
	}
	lc->step = STEP_NAME;
	say(lc, "say-name.wav");
	if (!ce_room_play_opts(lc->leg->room, "tone/milliwatt", lc->leg, false, &beep, NULL))
		lc->playing++;
	if (!lc->playing)
		ce_lobby_prompt_done(lc->leg); /* nothing to hear first */
}

static void record_name(struct ce_lobby_call *lc)
{
	struct ce_room *room = lc->leg->room;
	char *file = g_strdup_printf(
	        "name-%u-%" G_GINT64_FORMAT ".wav", lc->leg->seq, g_get_real_time() / 1000);

	if (!ce_room_record(room, file, "-") && room->record) {
		lc->name_file = g_strdup(room->record);
		lc->name_at = now_of(lc) + (gint64)settings(lc)->name_ms * 1000;
	} else {
		g_message("lobby %s: the name cannot be recorded: the room goes without it",
		        lc->leg->id);
		name_done(lc);
	}
	g_free(file);
}

/* The name is said (or not): into the room with it. */
static void name_done(struct ce_lobby_call *lc)
{
	struct ce_msg *join;
	struct ce_play_opts pause = {.duration_ms = 1000};

	if (lc->name_at) {
		ce_room_record(lc->leg->room, NULL, NULL);
		lc->name_at = 0;
		if (!ce_room_play_opts(
		            lc->leg->room, "tone/silence", lc->leg, false, &pause, NULL)) {
			lc->playing++;
			lc->closing = true;
			return;
		}
	}
	lc->closing = false;
	join = g_steal_pointer(&lc->admitted);
	if (lc->name_file)
		ce_msg_set(join, "name_prompt", lc->name_file);
	move_in(lc, join);
	ce_msg_unref(join);
}

/* "This conference starts at 10 30 am", in the conference's time zone. */
static void say_start(struct ce_lobby_call *lc, gint64 starts_at, const char *tz_name)
{
	GDateTime *local = ce_time_in_zone(starts_at, tz_name, NULL);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);

	say(lc, "starts-at.wav");
	if (local &&
	        !ce_say_time(names, g_date_time_get_hour(local), g_date_time_get_minute(local)))
		say_list(lc, names);
	g_ptr_array_unref(names);
	if (local)
		g_date_time_unref(local);
}

static void answered(const struct ce_sched_answer *a, void *arg)
{
	struct ce_lobby_call *lc = arg;

	lc->query = NULL;
	if (lc->step != STEP_ASK)
		return;
	g_info("lobby %s (%s): %s%s%s", lc->leg->id, lc->caller ? lc->caller : "",
	        ce_sched_verdict_name(a->verdict), a->reason ? ": " : "",
	        a->reason ? a->reason : "");
	switch (a->verdict) {
	case CE_SCHED_IN:
		if (settings(lc)->name_ms && ce_msg_get_bool(a->join, "announce_join", false))
			ask_name(lc, a->join);
		else
			move_in(lc, a->join);
		return;
	case CE_SCHED_NEED_PIN:
		if (a->key && (!lc->key || strcmp(lc->key, a->key))) {
			g_free(lc->key);
			lc->key = g_strdup(a->key);
			lc->tries = 0;
		}
		if (lc->asked_number)
			lc->tries = 0; /* the number was right: the PIN's tries start */
		prompt_entry(lc, STEP_PIN, "enter-pin.wav");
		return;
	case CE_SCHED_BAD_PIN:
		lc->step = STEP_PIN;
		again(lc, "wrong-pin.wav");
		return;
	case CE_SCHED_NONE:
		if (lc->preset) {
			say(lc, "no-conference.wav");
			bye(lc, "noconference");
		} else if (!lc->key) {
			/* not recognised by number: ask for one */
			prompt_entry(lc, STEP_NUMBER, "enter-number.wav");
		} else {
			g_clear_pointer(&lc->key, g_free);
			lc->step = STEP_NUMBER;
			again(lc, "wrong-number.wav");
		}
		return;
	case CE_SCHED_NOT_STARTED:
		say_start(lc, a->starts_at, a->time_zone);
		bye(lc, "notstarted");
		return;
	case CE_SCHED_ENDED:
		say(lc, "ended.wav");
		bye(lc, "ended");
		return;
	case CE_SCHED_CANCELLED:
		say(lc, "no-conference.wav");
		bye(lc, "cancelled");
		return;
	case CE_SCHED_LOCKED:
		say(lc, "locked-out.wav");
		bye(lc, "locked");
		return;
	case CE_SCHED_FULL:
		bye(lc, "busy");
		return;
	case CE_SCHED_UNAVAILABLE:
	default:
		bye(lc, "unavailable");
		return;
	}
}

/*
 * A leg for the lobby: its room "lobby/N" (one leg, lonely, the lobby's
 * notify target) is made here; ce_lobby_attach gives the leg its lobby
 * call once it exists.  Returns the room or NULL.
 */
struct ce_room *ce_lobby_room(struct ce_conf *conf, struct ce_join_params *p)
{
	struct ce_room *room = NULL;
	char *name = g_strdup_printf(LOBBY_PREFIX "/%u", ++conf->room_alloc);

	p->notify = *conf->set.lobby.notify ? conf->set.lobby.notify : NULL;
	p->lonely = true;
	p->has_lonely = true;
	p->lonely_ms = 0;
	p->maxusers = 1;
	p->record = NULL;
	p->speakers = 0;
	if (ce_room_new(&room, conf, name, p))
		room = NULL;
	if (room)
		room->lobby = true;
	g_free(name);
	return room;
}

/** Make @leg (just offered into a lobby room) a lobby caller of call.execute @msg. */
int ce_lobby_attach(struct ce_leg *leg, const struct ce_msg *msg)
{
	struct ce_lobby_call *lc = g_new0(struct ce_lobby_call, 1);
	const char *callto = ce_msg_get_def(msg, "callto", "");
	const char *key = callto[strlen(LOBBY_PREFIX)] == '/' ? callto + strlen(LOBBY_PREFIX) + 1
	                                                      : ce_msg_get(msg, "lobby_key");

	lc->leg = leg;
	lc->digits = g_string_new(NULL);
	if (ce_msg_copy(&lc->call, msg)) {
		ce_lobby_free(lc);
		return -ENOMEM;
	}
	/* the join overlays its own; these must not reach the room */
	ce_msg_remove(lc->call, "lobby_key");
	ce_msg_remove(lc->call, "callto");
	lc->caller = g_strdup(ce_msg_get(msg, "caller"));
	if (key && *key) {
		lc->key = g_strdup(key);
		lc->preset = true;
	}
	leg->lobby = lc;
	return 0;
}

/** The lobby caller's leg joined its lobby room: the greeting, then the first question. */
void ce_lobby_joined(struct ce_leg *leg)
{
	struct ce_lobby_call *lc = leg->lobby;

	if (!lc || lc->step != STEP_WAIT)
		return;
	g_info("lobby %s (%s): in the lobby%s%s", leg->id, lc->caller ? lc->caller : "",
	        lc->key ? " for " : "", lc->key ? lc->key : "");
	say(lc, "welcome.wav");
	if (lc->key)
		ask(lc, lc->key, NULL);
	else if (settings(lc)->recognise && lc->caller && *lc->caller)
		ask(lc, NULL, NULL);
	else
		prompt_entry(lc, STEP_NUMBER, "enter-number.wav");
}

/* The entry is over ('#', a pause, too many keys): ask about it. */
static void entry_done(struct ce_lobby_call *lc)
{
	char *entry;

	lc->digit_at = lc->entry_at = 0;
	if (!lc->digits->len && !lc->overflow) {
		again(lc, NULL);
		return;
	}
	if (lc->overflow) {
		again(lc, lc->step == STEP_PIN ? "wrong-pin.wav" : "wrong-number.wav");
		return;
	}
	entry = g_strdup(lc->digits->str);
	g_string_truncate(lc->digits, 0);
	if (lc->step == STEP_NUMBER) {
		g_free(lc->key);
		lc->key = g_strdup(entry);
		ask(lc, lc->key, NULL);
	} else {
		ask(lc, lc->key, entry);
	}
	memset(entry, 0, strlen(entry));
	g_free(entry);
}

/**
 * Keys from the caller (chan.dtmf text=): collected while a number or PIN
 * is asked, '#' ends the entry, '*' starts it again; ignored otherwise.
 */
void ce_lobby_input(struct ce_leg *leg, const char *text)
{
	struct ce_lobby_call *lc = leg->lobby;
	const struct ce_lobby_settings *set;

	if (!lc || !text)
		return;
	set = settings(lc);
	for (const char *p = text; *p && leg->lobby == lc; p++) {
		if (lc->step == STEP_NAME && *p == '#') {
			/* said (recording), or not wanted (before the beep) */
			if (lc->playing)
				ce_room_stop_play(leg->room, leg, false);
			lc->playing = 0;
			name_done(lc);
			return;
		}
		if (lc->step != STEP_NUMBER && lc->step != STEP_PIN)
			return;
		if (lc->playing) {
			/* barge-in: the caller knows what to do */
			ce_room_stop_play(leg->room, leg, false);
			lc->playing = 0;
		}
		if (*p == '#') {
			entry_done(lc);
			continue;
		}
		if (*p == '*') {
			g_string_truncate(lc->digits, 0);
			lc->overflow = false;
		} else if (g_ascii_isdigit(*p)) {
			if (lc->digits->len < set->max_digits)
				g_string_append_c(lc->digits, *p);
			else
				lc->overflow = true;
		} else {
			continue; /* A-D and anything else: not part of a number */
		}
		lc->entry_at = 0;
		lc->digit_at = now_of(lc) + (gint64)set->digit_timeout_ms * 1000;
	}
}

/** A prompt to the lobby caller ended (played, failed or stopped with the leg). */
void ce_lobby_prompt_done(struct ce_leg *leg)
{
	struct ce_lobby_call *lc = leg->lobby;

	if (!lc || !lc->playing || --lc->playing)
		return;
	if (lc->step == STEP_BYE)
		ce_leg_end(leg, lc->bye, true); /* frees lc */
	else if (lc->step == STEP_NAME && lc->closing)
		name_done(lc);
	else if (lc->step == STEP_NAME && !lc->name_at)
		record_name(lc);
	else if ((lc->step == STEP_NUMBER || lc->step == STEP_PIN) && !lc->digits->len &&
	         !lc->digit_at)
		lc->entry_at = now_of(lc) + (gint64)settings(lc)->entry_timeout_ms * 1000;
}

/** The lobby's deadlines on the module clock. */
void ce_lobby_tick(struct ce_leg *leg, gint64 now)
{
	struct ce_lobby_call *lc = leg->lobby;

	if (!lc)
		return;
	if (lc->step == STEP_BYE) {
		if (now >= lc->bye_at)
			ce_leg_end(leg, lc->bye, true);
		return;
	}
	if (lc->step == STEP_NAME) {
		if (lc->name_at && now >= lc->name_at)
			name_done(lc);
		return;
	}
	if (lc->digit_at && now >= lc->digit_at)
		entry_done(lc);
	else if (lc->entry_at && now >= lc->entry_at)
		again(lc, NULL);
}

/** Free a lobby call (its leg ends, or moved into a room); a question pending is withdrawn. */
void ce_lobby_free(struct ce_lobby_call *lc)
{
	if (!lc)
		return;
	if (lc->query && lc->leg->conf->admit.cancel)
		lc->leg->conf->admit.cancel(lc->query);
	if (lc->target)
		ce_room_unreserve(g_steal_pointer(&lc->target), lc->leg);
	if (lc->join)
		ce_msg_unref(lc->join);
	if (lc->rtp)
		ce_msg_unref(lc->rtp);
	if (lc->admitted)
		ce_msg_unref(lc->admitted);
	/* a name that never reached a room (the caller left first) goes now */
	if (lc->name_file && !lc->moved)
		ce_lobby_forget_name(lc->leg->conf, lc->name_file);
	g_free(lc->name_file);
	if (lc->leg->lobby == lc)
		lc->leg->lobby = NULL;
	if (lc->call)
		ce_msg_unref(lc->call);
	if (lc->digits) {
		memset(lc->digits->str, 0, lc->digits->len);
		g_string_free(lc->digits, TRUE);
	}
	g_free(lc->caller);
	g_free(lc->key);
	g_free(lc);
}

static gpointer unlink_name(gpointer data)
{
	if (g_unlink(data) && errno != ENOENT)
		g_message(
		        "cannot remove the recorded name %s: %s", (char *)data, g_strerror(errno));
	g_free(data);
	return NULL;
}

struct forget {
	struct ce_conf *conf;
	char *file;
};

static gboolean forget_later(gpointer data)
{
	struct forget *f = data;
	char *file = g_strdup(f->file);
	GThread *t;

	g_hash_table_remove(f->conf->names, f->file); /* frees f */
	t = g_thread_try_new("ce-unlink", unlink_name, file, NULL);
	if (t)
		g_thread_unref(t);
	else
		unlink_name(file);
	return G_SOURCE_REMOVE;
}

static void forget_free(gpointer data)
{
	struct forget *f = data;

	g_free(f->file);
	g_free(f);
}

/**
 * A recorded name is no longer needed: removed (on a worker thread: the
 * main loop never waits for the disk) a minute later, once the room's
 * "has left" that plays it has surely opened it.
 */
void ce_lobby_forget_name(struct ce_conf *conf, const char *file)
{
	struct forget *f;

	if (!conf->names)
		conf->names = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, forget_free);
	if (g_hash_table_contains(conf->names, file))
		return;
	f = g_new0(struct forget, 1);
	f->conf = conf;
	f->file = g_strdup(file);
	g_hash_table_insert(conf->names, f->file, f);
	g_timeout_add_seconds_full(G_PRIORITY_DEFAULT, 60, forget_later, f, NULL);
}

/** The module stops: the names still waiting are removed now (nobody plays them any more). */
void ce_lobby_forget_all(struct ce_conf *conf)
{
	GHashTableIter it;
	gpointer key;

	if (!conf->names)
		return;
	g_hash_table_iter_init(&it, conf->names);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		g_source_remove_by_user_data(g_hash_table_lookup(conf->names, key));
		if (g_unlink(key) && errno != ENOENT)
			g_message("cannot remove the recorded name %s: %s", (char *)key,
			        g_strerror(errno));
	}
	g_clear_pointer(&conf->names, g_hash_table_destroy);
}

/** Yate's answer to the lobby leg's chan.rtp: kept for the journal line of the move. */
void ce_lobby_rtp(struct ce_leg *leg, const struct ce_msg *ans)
{
	struct ce_lobby_call *lc = leg->lobby;
	static const char *const keep[] = {"localip", "localport", "format"};

	if (!lc)
		return;
	if (lc->rtp)
		ce_msg_unref(lc->rtp);
	lc->rtp = NULL;
	if (ce_msg_new(&lc->rtp, "rtp"))
		return;
	for (unsigned i = 0; i < G_N_ELEMENTS(keep); i++) {
		const char *v = ce_msg_get(ans, keep[i]);

		if (v)
			ce_msg_add(lc->rtp, keep[i], v);
	}
}
