/* keypad.c - keypad controls of callers in a room ([keypad]): the key map, digit collection,
 * the actions and their confirmations */
#define G_LOG_DOMAIN "keypad"

#include <errno.h>
#include <string.h>

#include "config.h"
#include "engine.h"
#include "module.h"
#include "conference.h"
#include "keypad.h"
#include "leg.h"
#include "media-glue.h"
#include "prompt-set.h"
#include "room.h"

/*
 * A caller in a room (a leg JOINED) presses keys; Yate sends them as
 * chan.dtmf text=DIGITS, which conference.c hands here after the room's
 * "dtmf" notification.  Each key is appended to the leg's sequence:
 *
 *   the sequence is a key of the map, and no longer key starts with it:
 *       its action runs now ("1": mute);
 *   it starts a longer key ("*" of "*2"): wait up to [keypad] timeout ms
 *       on the module clock for the next key; at the timeout, a sequence
 *       that is itself a key runs ("*": help), any other is dropped;
 *   neither: dropped (logged at debug), and collection starts afresh.
 *
 * A participant's key of a moderator action gets "not-allowed"; a
 * listener (voice=false, or participant_role=listener) may only use
 * count, help and the listen volume.  Confirmations replace what still
 * plays to their target (a toggle pressed 1000 times queues one prompt,
 * not 1000), and at most KEYS_PER_MESSAGE keys of one chan.dtmf are read.
 */

#define KEYS_PER_MESSAGE 32
#define KEYS_VALID       "0123456789*#"
#define GAIN_STEP_MAX    (CE_LEG_GAIN_MAX_DB / CE_LEG_GAIN_STEP_DB)
#define TICK_MS          100

enum action {
	A_MUTE,
	A_TALK_UP,
	A_TALK_DOWN,
	A_LISTEN_UP,
	A_LISTEN_DOWN,
	A_COUNT,
	A_HELP,
	A_LOCK,
	A_MUTE_ALL,
	A_UNMUTE_ALL,
	A_KICK_LAST,
	A_RECORD,
	A_EXTEND,
	A_END,
	N_ACTIONS
};

/* Who may: everyone, those who talk (not listeners), moderators. */
enum who { WHO_ANY, WHO_TALKER, WHO_MODERATOR };

/* Defaults close to ConfBridge's sample menus: single digits for everyone, '*' and a digit
 * for moderators, '*' alone (after the timeout) for the help. */
static const struct {
	const char *key;  /* the [keypad] key, and the action's name in events */
	const char *def;  /* the default keys */
	const char *help; /* the help's prompt for it */
	enum who who;
} s_actions[N_ACTIONS] = {
        [A_MUTE] = {"mute", "1", "to-mute.wav", WHO_TALKER},
        [A_TALK_UP] = {"talk_up", "9", "to-talk-up.wav", WHO_TALKER},
        [A_TALK_DOWN] = {"talk_down", "7", "to-talk-down.wav", WHO_TALKER},
        [A_LISTEN_UP] = {"listen_up", "6", "to-listen-up.wav", WHO_ANY},
        [A_LISTEN_DOWN] = {"listen_down", "4", "to-listen-down.wav", WHO_ANY},
        [A_COUNT] = {"count", "0", "to-count.wav", WHO_ANY},
        [A_HELP] = {"help", "*", "to-help.wav", WHO_ANY},
        [A_LOCK] = {"lock", "*2", "to-lock.wav", WHO_MODERATOR},
        [A_MUTE_ALL] = {"mute_all", "*4", "to-mute-all.wav", WHO_MODERATOR},
        [A_UNMUTE_ALL] = {"unmute_all", "*5", "to-unmute-all.wav", WHO_MODERATOR},
        [A_KICK_LAST] = {"kick_last", "*3", "to-kick-last.wav", WHO_MODERATOR},
        [A_RECORD] = {"record", "*7", "to-record.wav", WHO_MODERATOR},
        [A_EXTEND] = {"extend", "*8", "to-extend.wav", WHO_MODERATOR},
        [A_END] = {"end", "*9", "to-end.wav", WHO_MODERATOR},
};

/* Outlives the keypad while the schedule may still answer an extension. */
struct kp_life {
	gint refs;
	struct ce_keypad *kp; /* NULL once the keypad is gone */
};

struct ce_keypad {
	struct ce_conf *conf;
	bool enabled;
	char keys[N_ACTIONS][CE_KEYPAD_SEQ_MAX + 1]; /* "" : the action has no key */
	unsigned timeout_ms;
	unsigned extend_minutes;
	ce_keypad_extend_h *extend;
	void *extend_arg;
	struct kp_life *life;
	guint timer;
};

/* A key sequence as [keypad] takes it: 1 to CE_KEYPAD_SEQ_MAX of 0-9 * #, or "" (none). */
static const char *check_seq(const char *v)
{
	size_t n = strlen(v);

	return n <= CE_KEYPAD_SEQ_MAX && strspn(v, KEYS_VALID) == n
	               ? NULL
	               : "expects up to 4 keys of 0-9, * and # (empty: no key)";
}

static const struct ce_config_key keypad_keys[] = {
        CE_KEY_BOOL("enabled"),
        CE_KEY_INT("timeout", 500, 10000),
        CE_KEY_INT("extend_minutes", 1, 240),
        CE_KEY_CHECK("mute", check_seq),
        CE_KEY_CHECK("talk_up", check_seq),
        CE_KEY_CHECK("talk_down", check_seq),
        CE_KEY_CHECK("listen_up", check_seq),
        CE_KEY_CHECK("listen_down", check_seq),
        CE_KEY_CHECK("count", check_seq),
        CE_KEY_CHECK("help", check_seq),
        CE_KEY_CHECK("lock", check_seq),
        CE_KEY_CHECK("mute_all", check_seq),
        CE_KEY_CHECK("unmute_all", check_seq),
        CE_KEY_CHECK("kick_last", check_seq),
        CE_KEY_CHECK("record", check_seq),
        CE_KEY_CHECK("extend", check_seq),
        CE_KEY_CHECK("end", check_seq),
        CE_KEY_END,
};

/* The keys of each action from @cfg (NULL: the defaults); -EINVAL when two share keys. */
static int load_map(
        char keys[N_ACTIONS][CE_KEYPAD_SEQ_MAX + 1], const struct ce_config *cfg, GError **err)
{
	for (unsigned i = 0; i < N_ACTIONS; i++) {
		const char *v =
		        cfg ? ce_config_get(cfg, "keypad", s_actions[i].key, s_actions[i].def)
		            : s_actions[i].def;

		g_strlcpy(keys[i], check_seq(v) ? s_actions[i].def : v, sizeof(keys[i]));
		for (unsigned j = 0; j < i && *keys[i]; j++) {
			if (strcmp(keys[i], keys[j]))
				continue;
			g_set_error(err, CE_CONFIG_ERROR, CE_CONFIG_ERROR_VALUE,
			        "[keypad] %s and %s have the same keys '%s'", s_actions[j].key,
			        s_actions[i].key, keys[i]);
			return -EINVAL;
		}
	}
	return 0;
}

/** The module's check: no two actions of [keypad] on the same keys.  0 or -EINVAL. */
int ce_keypad_check(const struct ce_config *cfg, GError **err)
{
	char keys[N_ACTIONS][CE_KEYPAD_SEQ_MAX + 1];

	return load_map(keys, cfg, err);
}

/**
 * The keypad of @conf's rooms with the [keypad] settings of @cfg (NULL:
 * the defaults); it reaches no schedule until ce_keypad_set_extend().
 * Returns 0 or -EINVAL (two actions on the same keys: logged).
 */
int ce_keypad_new(struct ce_keypad **kpp, struct ce_conf *conf, const struct ce_config *cfg)
{
	struct ce_keypad *kp = g_new0(struct ce_keypad, 1);
	GError *error = NULL;
	int err = load_map(kp->keys, cfg, &error);

	if (err) {
		g_warning("%s", error->message);
		g_error_free(error);
		g_clear_pointer(&kp, g_free);
		goto out;
	}
	kp->conf = conf;
	kp->enabled = !cfg || ce_config_get_bool(cfg, "keypad", "enabled", true);
	kp->timeout_ms = cfg ? ce_config_get_int(cfg, "keypad", "timeout", 3000, 500, 10000) : 3000;
	kp->extend_minutes =
	        cfg ? ce_config_get_int(cfg, "keypad", "extend_minutes", 10, 1, 240) : 10;
	kp->life = g_new0(struct kp_life, 1);
	kp->life->refs = 1;
	kp->life->kp = kp;
out:
	*kpp = kp;
	return err;
}

static void life_unref(gpointer p)
{
	struct kp_life *life = p;

	if (g_atomic_int_dec_and_test(&life->refs))
		g_free(life);
}

/** Free @kp; an extension the schedule answers later finds it gone. */
void ce_keypad_free(struct ce_keypad *kp)
{
	if (!kp)
		return;
	if (kp->timer)
		g_source_remove(kp->timer);
	kp->life->kp = NULL;
	life_unref(kp->life);
	g_free(kp);
}

/** Ask @h (with @arg) for extensions; NULL: refuse them. */
void ce_keypad_set_extend(struct ce_keypad *kp, ce_keypad_extend_h *h, void *arg)
{
	kp->extend = h;
	kp->extend_arg = arg;
}

/* ---- confirmations and events ---- */

/* @name to @leg alone, replacing what still plays to it. */
static void confirm(struct ce_leg *leg, const char *name)
{
	const struct ce_play_opts o = {.replace = true};

	ce_room_play_opts(leg->room, name, leg, false, &o, NULL);
}

/* A phrase to @leg (NULL: the room), replacing what still plays to that target. */
static void confirm_phrase(struct ce_room *room, struct ce_leg *leg, const GPtrArray *names)
{
	const struct ce_play_opts o = {.replace = true};

	for (guint i = 0; i < names->len; i++) {
		const char *name = g_ptr_array_index(names, i);

		if (i == 0 ? ce_room_play_opts(room, name, leg, false, &o, NULL)
		           : ce_room_play(room, name, leg, false))
			return;
	}
}

/* The event of a keypad action: "ACTION" or "ACTION VALUE" as its detail. */
static void event(struct ce_leg *leg, enum action a, const char *value)
{
	char *detail = value ? g_strdup_printf("%s %s", s_actions[a].key, value)
	                     : g_strdup(s_actions[a].key);

	g_info("room '%s': %s pressed %s", leg->room->name, leg->id, detail);
	ce_room_keypad_event(leg->room, leg, detail);
	g_free(detail);
}

/* ---- the actions ---- */

static bool is_listener(const struct ce_leg *leg)
{
	return !leg->voice || !strcmp(ce_leg_role(leg), "listener");
}

static void act_mute(struct ce_leg *leg)
{
	/* the same path as chan.control operation=mute: Yate's notification, the MUTE event */
	ce_leg_set_muted(leg, !leg->muted);
	confirm(leg, leg->muted ? "muted.wav" : "unmuted.wav");
}

/* Volume @a one step up or down, saturating at GAIN_STEP_MAX. */
static void act_volume(struct ce_leg *leg, enum action a)
{
	bool talk = a == A_TALK_UP || a == A_TALK_DOWN;
	int d = a == A_TALK_UP || a == A_LISTEN_UP ? 1 : -1;
	int talk_step = leg->talk_step + (talk ? d : 0);
	int listen_step = leg->listen_step + (talk ? 0 : d);
	char value[16];

	ce_leg_set_gain(leg, CLAMP(talk_step, -GAIN_STEP_MAX, GAIN_STEP_MAX),
	        CLAMP(listen_step, -GAIN_STEP_MAX, GAIN_STEP_MAX));
	g_snprintf(value, sizeof(value), "%+d", talk ? leg->talk_step : leg->listen_step);
	event(leg, a, value);
	confirm(leg, a == A_TALK_UP     ? "talk-up.wav"
	             : a == A_TALK_DOWN ? "talk-down.wav"
	             : a == A_LISTEN_UP ? "listen-up.wav"
	                                : "listen-down.wav");
}

static void act_count(struct ce_leg *leg)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	char value[16];

	g_snprintf(value, sizeof(value), "%d", leg->room->users);
	event(leg, A_COUNT, value);
	if (!ce_say_participants(names, leg->room->users))
		confirm_phrase(leg->room, leg, names);
	g_ptr_array_unref(names);
}

/* Whether @leg may use action @a. */
static bool allowed(const struct ce_leg *leg, enum action a)
{
	switch (s_actions[a].who) {
	case WHO_MODERATOR:
		return ce_leg_is_moderator(leg);
	case WHO_TALKER:
		return !is_listener(leg);
	default:
		return true;
	}
}

/*
 * The help: "press KEY to ..." for each key @leg may use, in map order.
 * The leg's queue holds CE_PROMPT_QUEUE prompts, so one press says the
 * entries that fit, and the next press goes on from there (then starts
 * over): the caller pages through a long help.
 */
static void act_help(struct ce_keypad *kp, struct ce_leg *leg)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	unsigned i, start = leg->help_next < N_ACTIONS ? leg->help_next : 0;

	event(leg, A_HELP, NULL);
	for (i = start; i < N_ACTIONS; i++) {
		GPtrArray *entry = g_ptr_array_new_with_free_func(g_free);

		if (*kp->keys[i] && allowed(leg, i)) {
			g_ptr_array_add(entry, g_strdup("press.wav"));
			for (const char *k = kp->keys[i]; *k; k++)
				ce_say_key(entry, *k);
			g_ptr_array_add(entry, g_strdup(s_actions[i].help));
		}
		if (names->len + entry->len > CE_PROMPT_QUEUE) {
			g_ptr_array_unref(entry);
			break;
		}
		g_ptr_array_extend_and_steal(names, entry);
	}
	leg->help_next = i < N_ACTIONS ? i : 0;
	confirm_phrase(leg->room, leg, names);
	g_ptr_array_unref(names);
}

static void act_lock(struct ce_leg *leg)
{
	const struct ce_play_opts o = {.replace = true};
	struct ce_room *room = leg->room;

	/* the same path as chan.control operation=lock: event=locked|unlocked, the LOCK event */
	ce_room_set_locked(room, !room->locked);
	event(leg, A_LOCK, room->locked ? "on" : "off");
	/* to everyone: who is in the room should know that nobody else gets in */
	ce_room_play_opts(
	        room, room->locked ? "locked.wav" : "unlocked.wav", NULL, false, &o, NULL);
}

/* Mute (@on) every other talker who is not a moderator, or unmute everyone. */
static void act_mute_all(struct ce_leg *leg, bool on)
{
	struct ce_room *room = leg->room;
	GPtrArray *legs = g_ptr_array_new_with_free_func((GDestroyNotify)ce_leg_unref);
	unsigned changed = 0;
	char value[16];

	for (unsigned i = 0; i < room->legs->len; i++)
		g_ptr_array_add(legs, ce_leg_ref(g_ptr_array_index(room->legs, i)));
	for (unsigned i = 0; i < legs->len; i++) {
		struct ce_leg *l = g_ptr_array_index(legs, i);

		if (l->utility || l->muted == on || (on && (l == leg || ce_leg_is_moderator(l))))
			continue;
		ce_leg_set_muted(l, on);
		if (l != leg)
			confirm(l, on ? "muted.wav" : "unmuted.wav");
		changed++;
	}
	g_ptr_array_unref(legs);
	g_snprintf(value, sizeof(value), "%u", changed);
	event(leg, on ? A_MUTE_ALL : A_UNMUTE_ALL, value);
	confirm(leg, on ? "all-muted.wav" : "all-unmuted.wav");
}

/* The last one to join who is not @leg, not a moderator and not a utility leg. */
static void act_kick_last(struct ce_leg *leg)
{
	struct ce_room *room = leg->room;

	for (guint i = room->legs->len; i-- > 0;) {
		struct ce_leg *l = g_ptr_array_index(room->legs, i);

		if (l == leg || l->utility || ce_leg_is_moderator(l))
			continue;
		event(leg, A_KICK_LAST, l->id);
		/* the same path as chan.control operation=kick; the room hears its leave prompt */
		ce_leg_end(l, "kicked", true);
		return;
	}
	event(leg, A_KICK_LAST, NULL);
}

/** A new file name "@who-ROOM-STAMP.wav" for a recording of @room, under record_dir (g_free). */
char *ce_room_record_name(const struct ce_room *room, const char *who)
{
	GDateTime *now = g_date_time_new_now_utc();
	char *stamp = g_date_time_format(now, "%Y%m%d-%H%M%S");
	char *safe = g_strdup(room->name);
	char *name;

	g_strcanon(safe, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", '_');
	name = g_strdup_printf(
	        "%s-%s-%s-%03d.wav", who, safe, stamp, g_date_time_get_microsecond(now) / 1000);
	g_free(safe);
	g_free(stamp);
	g_date_time_unref(now);
	return name;
}

static void act_record(struct ce_leg *leg)
{
	const struct ce_play_opts o = {.replace = true};
	struct ce_room *room = leg->room;
	bool on = !room->record && !room->recorder;
	char *file = on ? ce_room_record_name(room, "keypad") : NULL;
	/* "-": no record_prompt, the confirmation below is the warning */
	int err = ce_room_record(room, file, "-");

	event(leg, A_RECORD, on ? (err ? "failed" : room->record) : "off");
	if (err)
		confirm(leg, "not-allowed.wav");
	else /* to everyone: a recording concerns them all */
		ce_room_play_opts(room, on ? "record-started.wav" : "record-stopped.wav", NULL,
		        false, &o, NULL);
	g_free(file);
}

/* An extension on its way: who asked, found again when the answer comes. */
struct extend_req {
	struct kp_life *life;
	char *room, *leg;
	unsigned minutes;
};

static void extend_free(gpointer p)
{
	struct extend_req *r = p;

	life_unref(r->life);
	g_free(r->room);
	g_free(r->leg);
	g_free(r);
}

static void extend_done(int err, gint64 ends_at, void *arg)
{
	struct extend_req *r = arg;
	struct ce_keypad *kp = r->life->kp;
	struct ce_room *room = kp ? ce_room_find(kp->conf, r->room) : NULL;
	struct ce_leg *leg = room ? ce_leg_find(kp->conf, r->leg) : NULL;
	GPtrArray *names;
	char value[48];

	(void)ends_at;
	if (!leg || leg->room != room || leg->state != CE_LEG_JOINED) {
		g_info("room '%s': extension by %u min: %s (its moderator left)", r->room,
		        r->minutes, err ? g_strerror(-err) : "done");
		return;
	}
	if (err) {
		g_snprintf(value, sizeof(value), "refused %s", g_strerror(-err));
		event(leg, A_EXTEND, value);
		confirm(leg, "extend-refused.wav");
		return;
	}
	g_snprintf(value, sizeof(value), "%u", r->minutes);
	event(leg, A_EXTEND, value);
	names = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(names, g_strdup("extended.wav"));
	ce_say_minutes(names, (int)r->minutes);
	confirm_phrase(room, NULL, names); /* everyone: the end moved for all */
	g_ptr_array_unref(names);
}

static void act_extend(struct ce_keypad *kp, struct ce_leg *leg)
{
	struct extend_req *r = g_new0(struct extend_req, 1);
	int err = -ENOENT;

	r->life = kp->life;
	g_atomic_int_inc(&r->life->refs);
	r->room = g_strdup(leg->room->name);
	r->leg = g_strdup(leg->id);
	r->minutes = kp->extend_minutes;
	if (kp->extend)
		err = kp->extend(kp->extend_arg, r->room, r->minutes, extend_done, r, extend_free);
	if (err) {
		/* the callback never runs: answer now */
		extend_done(err, 0, r);
		extend_free(r);
	}
}

static void act_end(struct ce_leg *leg)
{
	event(leg, A_END, NULL);
	/* the same path as call.drop id=conf/NAME */
	ce_room_drop_all(leg->room, "ended");
}

static void run(struct ce_keypad *kp, struct ce_leg *leg, enum action a)
{
	if (!allowed(leg, a)) {
		event(leg, a, "not-allowed");
		confirm(leg, "not-allowed.wav");
		return;
	}
	switch (a) {
	case A_MUTE:
		act_mute(leg);
		break;
	case A_TALK_UP:
	case A_TALK_DOWN:
	case A_LISTEN_UP:
	case A_LISTEN_DOWN:
		act_volume(leg, a);
		break;
	case A_COUNT:
		act_count(leg);
		break;
	case A_HELP:
		act_help(kp, leg);
		break;
	case A_LOCK:
		act_lock(leg);
		break;
	case A_MUTE_ALL:
	case A_UNMUTE_ALL:
		act_mute_all(leg, a == A_MUTE_ALL);
		break;
	case A_KICK_LAST:
		act_kick_last(leg);
		break;
	case A_RECORD:
		act_record(leg);
		break;
	case A_EXTEND:
		act_extend(kp, leg);
		break;
	default:
		act_end(leg);
		break;
	}
}

/* ---- collecting keys ---- */

/* The action whose keys are exactly @seq, or N_ACTIONS. */
static enum action find_exact(const struct ce_keypad *kp, const char *seq)
{
	unsigned i;

	for (i = 0; i < N_ACTIONS; i++)
		if (*kp->keys[i] && !strcmp(kp->keys[i], seq))
			break;
	return i;
}

/* Whether a key of the map is longer than @seq and starts with it. */
static bool find_longer(const struct ce_keypad *kp, const char *seq)
{
	size_t n = strlen(seq);

	for (unsigned i = 0; i < N_ACTIONS; i++)
		if (strlen(kp->keys[i]) > n && !strncmp(kp->keys[i], seq, n))
			return true;
	return false;
}

static gboolean on_timer(gpointer arg)
{
	struct ce_keypad *kp = arg;

	ce_keypad_tick(kp);
	return kp->timer ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* One key of @leg. */
static void key_in(struct ce_keypad *kp, struct ce_leg *leg, char c)
{
	size_t n = strlen(leg->keys);
	enum action a;

	if (!c || !strchr(KEYS_VALID, c)) {
		g_debug("room '%s': %s: key '%c' ignored", leg->room->name, leg->id,
		        g_ascii_isprint(c) ? c : '?');
		return;
	}
	if (n >= CE_KEYPAD_SEQ_MAX)
		n = 0;
	leg->keys[n] = c;
	leg->keys[n + 1] = 0;
	a = find_exact(kp, leg->keys);
	if (find_longer(kp, leg->keys)) {
		leg->keys_at = ce_conf_now(kp->conf) + (gint64)kp->timeout_ms * 1000;
		if (!kp->timer)
			kp->timer = g_timeout_add(TICK_MS, on_timer, kp);
		return;
	}
	if (a == N_ACTIONS)
		g_debug("room '%s': %s: no key '%s'", leg->room->name, leg->id, leg->keys);
	leg->keys[0] = 0;
	leg->keys_at = 0;
	if (a != N_ACTIONS)
		run(kp, leg, a);
}

/**
 * Keys @text pressed by the caller on @leg (chan.dtmf text=): ignored
 * unless the keypad is on and @leg is in a room; at most 32 keys of one
 * message are read, anything but 0-9 * # is skipped.
 */
void ce_keypad_input(struct ce_keypad *kp, struct ce_leg *leg, const char *text)
{
	if (!kp || !kp->enabled || !leg || !text)
		return;
	ce_leg_ref(leg);
	for (unsigned i = 0; text[i] && i < KEYS_PER_MESSAGE; i++) {
		if (leg->state != CE_LEG_JOINED || !leg->room)
			break;
		key_in(kp, leg, text[i]);
	}
	if (strnlen(text, KEYS_PER_MESSAGE + 1) > KEYS_PER_MESSAGE)
		g_debug("%s: keys past the first %d of one message ignored", leg->id,
		        KEYS_PER_MESSAGE);
	ce_leg_unref(leg);
}

/**
 * Give up waiting for the next key where the timeout passed (module
 * clock): a sequence that is a key runs, any other is dropped.  The
 * keypad's timer calls it while a sequence waits; tests call it.
 */
void ce_keypad_tick(struct ce_keypad *kp)
{
	gint64 now = ce_conf_now(kp->conf);
	GPtrArray *due = g_ptr_array_new_with_free_func((GDestroyNotify)ce_leg_unref);
	bool waiting = false;

	for (unsigned i = 0; i < kp->conf->all->len; i++) {
		struct ce_leg *leg = g_ptr_array_index(kp->conf->all, i);

		if (!leg->keys_at)
			continue;
		if (leg->keys_at <= now)
			g_ptr_array_add(due, ce_leg_ref(leg));
		else
			waiting = true;
	}
	for (unsigned i = 0; i < due->len; i++) {
		struct ce_leg *leg = g_ptr_array_index(due, i);
		enum action a = find_exact(kp, leg->keys);

		leg->keys[0] = 0;
		leg->keys_at = 0;
		if (a != N_ACTIONS && leg->state == CE_LEG_JOINED && leg->room)
			run(kp, leg, a);
	}
	g_ptr_array_unref(due);
	if (!waiting && kp->timer) {
		g_source_remove(kp->timer);
		kp->timer = 0;
	}
}

/* ---- the module ---- */

static int extend_by_schedule(void *arg, const char *room, unsigned minutes,
        ce_sched_extended_h *cb, void *cbarg, GDestroyNotify destroy)
{
	return ce_schedule_extend(arg, room, minutes, cb, cbarg, destroy);
}

static int keypad_init(struct ce_engine *ce, void **state)
{
	struct ce_conf *conf = ce_conference_service(ce);
	struct ce_keypad *kp = NULL;
	int err;

	if (!conf)
		return -ENODEV;
	err = ce_keypad_new(&kp, conf, ce_engine_config(ce));
	if (err)
		return err;
	ce_keypad_set_extend(kp, extend_by_schedule, ce);
	conf->keypad = kp;
	*state = kp;
	return 0;
}

static void keypad_exit(struct ce_engine *ce, void *state)
{
	struct ce_keypad *kp = state;

	(void)ce;
	if (kp->conf->keypad == kp)
		kp->conf->keypad = NULL;
	ce_keypad_free(kp);
}

CE_MODULE_DEFINE(keypad, .init = keypad_init, .exit = keypad_exit, .keys = keypad_keys,
        .check = ce_keypad_check,
        .requires = CE_REQUIRES(CE_NEEDS("conference"), CE_WANTS("schedule")));
