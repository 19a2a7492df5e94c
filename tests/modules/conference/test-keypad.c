/* test-keypad.c - keypad controls of callers in a room: every action by a participant and a
 * moderator, not-allowed, listeners, sequences and their timeout, floods, hostile input */
#include <errno.h>

#include "conf-fixture.h"
#include "modules/conference/keypad.h"

#define CONF "[conference]\nprompts_dir=/p\nenter_prompt=\nleave_prompt=\nlonely_prompt=\n"
#define MOD  "notify=mon/r:participant_role=moderator"

/* The fixture, a keypad on its rooms, and the room events it saw. */
struct kfx {
	struct fx *fx;
	struct ce_keypad *kp;
	GString *events; /* "KIND LEG DETAIL\n" */
	/* the schedule's answer to an extension: run from kfx_extend_answer() */
	ce_sched_extended_h *ext_cb;
	void *ext_arg;
	GDestroyNotify ext_destroy;
	char *ext_room;
	unsigned ext_minutes;
	int ext_refuse; /* what ce_schedule_extend itself returns */
};

static const char *kind_name(enum ce_event_kind k)
{
	switch (k) {
	case CE_EVENT_MUTE:
		return "mute";
	case CE_EVENT_UNMUTE:
		return "unmute";
	case CE_EVENT_LOCK:
		return "lock";
	case CE_EVENT_UNLOCK:
		return "unlock";
	case CE_EVENT_KEYPAD:
		return "keypad";
	case CE_EVENT_RECORD_START:
		return "record-start";
	case CE_EVENT_RECORD_STOP:
		return "record-stop";
	case CE_EVENT_LEAVE:
		return "leave";
	default:
		return NULL;
	}
}

static void on_event(const struct ce_room_event *ev, void *arg)
{
	struct kfx *k = arg;
	const char *name = kind_name(ev->kind);

	if (name)
		g_string_append_printf(k->events, "%s %s %s\n", name, ev->leg ? ev->leg : "-",
		        ev->action ? ev->action : "-");
}

static int fake_extend(void *arg, const char *room, unsigned minutes, ce_sched_extended_h *cb,
        void *cbarg, GDestroyNotify destroy)
{
	struct kfx *k = arg;

	if (k->ext_refuse)
		return k->ext_refuse;
	g_assert_null(k->ext_cb);
	k->ext_cb = cb;
	k->ext_arg = cbarg;
	k->ext_destroy = destroy;
	k->ext_room = g_strdup(room);
	k->ext_minutes = minutes;
	return 0;
}

/* The schedule answers the extension asked (later, on the main loop). */
static void kfx_extend_answer(struct kfx *k, int err)
{
	g_assert_nonnull(k->ext_cb);
	k->ext_cb(err, err ? 0 : 1800000000000000, k->ext_arg);
	k->ext_destroy(k->ext_arg);
	k->ext_cb = NULL;
	g_clear_pointer(&k->ext_room, g_free);
}

static struct kfx *kfx_new(const char *extra_conf)
{
	struct kfx *k = g_new0(struct kfx, 1);
	char *text = g_strconcat(CONF, extra_conf ? extra_conf : "", NULL);

	k->fx = fx_new(text);
	g_free(text);
	g_assert_cmpint(ce_keypad_new(&k->kp, k->fx->conf, k->fx->cfg), ==, 0);
	ce_keypad_set_extend(k->kp, fake_extend, k);
	k->fx->conf->keypad = k->kp;
	k->events = g_string_new(NULL);
	g_assert_cmpint(ce_bus_room_subscribe(k->fx->bus, on_event, k), ==, 0);
	return k;
}

static void kfx_free(struct kfx *k)
{
	if (k->ext_cb)
		kfx_extend_answer(k, -ENOENT);
	ce_bus_room_unsubscribe(k->fx->bus, on_event, k);
	k->fx->conf->keypad = NULL;
	ce_keypad_free(k->kp);
	fx_free(k->fx);
	g_string_free(k->events, TRUE);
	g_free(k);
}

/* Caller @peer (whose leg is @dumb) presses @keys, as Yate sends them. */
static void press(struct kfx *k, const char *dumb, const char *keys)
{
	char *params = g_strdup_printf("id=sip/x:targetid=%s:text=%s", dumb, keys);

	g_free(fx_dispatch(k->fx, "chan.dtmf", params, NULL));
	g_free(params);
	fx_flush(k->fx);
}

static void expect_plays(struct kfx *k, const char *expect)
{
	g_assert_cmpstr(k->fx->plays->str, ==, expect);
	g_string_truncate(k->fx->plays, 0);
}

static void expect_events(struct kfx *k, const char *expect)
{
	g_assert_cmpstr(k->events->str, ==, expect);
	g_string_truncate(k->events, 0);
}

static struct ce_leg *leg_of(struct kfx *k, const char *id)
{
	return ce_leg_find(k->fx->conf, id);
}

/* A room "r" with a moderator (dumb/1), two participants (dumb/2, dumb/3). */
static struct kfx *room3(const char *extra_conf)
{
	struct kfx *k = kfx_new(extra_conf);

	fx_join(k->fx, "r", "sip/1", 1, MOD);
	fx_join(k->fx, "r", "sip/2", 2, NULL);
	fx_join(k->fx, "r", "sip/3", 3, NULL);
	g_string_truncate(k->fx->plays, 0);
	g_string_truncate(k->events, 0);
	fx_clear(k->fx);
	return k;
}

/* 1: mute toggles, through the same path as chan.control (Yate's mute/unmute notification). */
static void test_mute(void)
{
	struct kfx *k = room3(NULL);

	press(k, "dumb/2", "1");
	g_assert_true(leg_of(k, "dumb/2")->muted);
	expect_plays(k, "stop leg dumb/2\nleg dumb/2:/p/muted.wav\n");
	expect_events(k, "mute dumb/2 -\n");
	/* the room's dtmf notification stays; the mute one is chan.control's */
	fx_expect_sent(k->fx, "chan.notify:id=dumb/2:targetid=mon/r:text=1",
	        "chan.notify:id=dumb/2:targetid=mon/r:text=1:counted=true:utility=false:room=r:"
	        "peerid=sip/x:event=dtmf:users=3:full=false:lastpeerid=sip/2\n");
	fx_expect_sent(k->fx, "chan.notify:id=dumb/2:targetid=mon/r:peerid",
	        "chan.notify:id=dumb/2:targetid=mon/r:peerid=sip/2:counted=true:utility=false:"
	        "room=r:event=mute:maxusers=10:users=3\n");
	press(k, "dumb/2", "1");
	g_assert_false(leg_of(k, "dumb/2")->muted);
	expect_plays(k, "stop leg dumb/2\nleg dumb/2:/p/unmuted.wav\n");
	expect_events(k, "unmute dumb/2 -\n");
	/* the moderator too */
	press(k, "dumb/1", "1");
	g_assert_true(leg_of(k, "dumb/1")->muted);
	expect_plays(k, "stop leg dumb/1\nleg dumb/1:/p/muted.wav\n");
	kfx_free(k);
}

/* 9/7 talk, 6/4 listen: steps saturate at +-4; the event says the level. */
static void test_volume(void)
{
	struct kfx *k = room3(NULL);

	press(k, "dumb/2", "9");
	g_assert_cmpint(leg_of(k, "dumb/2")->talk_step, ==, 1);
	expect_plays(k, "stop leg dumb/2\nleg dumb/2:/p/talk-up.wav\n");
	expect_events(k, "keypad dumb/2 talk_up +1\n");
	g_assert_cmpint(((struct fx_leg *)leg_of(k, "dumb/2")->media)->talk_db, ==, 3);
	press(k, "dumb/2", "99999");
	g_assert_cmpint(leg_of(k, "dumb/2")->talk_step, ==, 4);
	g_assert_cmpint(((struct fx_leg *)leg_of(k, "dumb/2")->media)->talk_db, ==, 12);
	g_string_truncate(k->fx->plays, 0);
	g_string_truncate(k->events, 0);
	press(k, "dumb/2", "4");
	g_assert_cmpint(leg_of(k, "dumb/2")->listen_step, ==, -1);
	g_assert_cmpint(leg_of(k, "dumb/2")->talk_step, ==, 4);
	expect_plays(k, "stop leg dumb/2\nleg dumb/2:/p/listen-down.wav\n");
	expect_events(k, "keypad dumb/2 listen_down -1\n");
	press(k, "dumb/2", "44444446");
	g_assert_cmpint(leg_of(k, "dumb/2")->listen_step, ==, -3);
	g_assert_cmpint(((struct fx_leg *)leg_of(k, "dumb/2")->media)->listen_db, ==, -9);
	g_assert_cmpint(((struct fx_leg *)leg_of(k, "dumb/2")->media)->talk_db, ==, 12);
	g_string_truncate(k->events, 0);
	press(k, "dumb/2", "7");
	g_assert_cmpint(leg_of(k, "dumb/2")->talk_step, ==, 3);
	expect_events(k, "keypad dumb/2 talk_down +3\n");
	g_string_truncate(k->fx->plays, 0);
	kfx_free(k);
}

/* 0: "there are 3 participants" to the presser alone. */
static void test_count(void)
{
	struct kfx *k = room3(NULL);

	press(k, "dumb/3", "0");
	expect_plays(k, "stop leg dumb/3\nleg dumb/3:/p/there-are.wav\nleg dumb/3:/p/3.wav\n"
	                "leg dumb/3:/p/participants.wav\n");
	expect_events(k, "keypad dumb/3 count 3\n");
	kfx_free(k);
}

/* '*' waits for a next key; alone, at the timeout, it is the help. */
static void test_help(void)
{
	struct kfx *k = room3(NULL);

	press(k, "dumb/2", "*");
	expect_plays(k, "");
	k->fx->now += 2999000;
	ce_keypad_tick(k->kp);
	expect_plays(k, "");
	k->fx->now += 1000;
	ce_keypad_tick(k->kp);
	/* a participant's map: no moderator key; each entry is press, KEY, what it does */
	expect_plays(k, "stop leg dumb/2\n"
	                "leg dumb/2:/p/press.wav\nleg dumb/2:/p/1.wav\nleg dumb/2:/p/to-mute.wav\n"
	                "leg dumb/2:/p/press.wav\nleg dumb/2:/p/9.wav\n"
	                "leg dumb/2:/p/to-talk-up.wav\n"
	                "leg dumb/2:/p/press.wav\nleg dumb/2:/p/7.wav\n"
	                "leg dumb/2:/p/to-talk-down.wav\n"
	                "leg dumb/2:/p/press.wav\nleg dumb/2:/p/6.wav\n"
	                "leg dumb/2:/p/to-listen-up.wav\n"
	                "leg dumb/2:/p/press.wav\nleg dumb/2:/p/4.wav\n"
	                "leg dumb/2:/p/to-listen-down.wav\n");
	expect_events(k, "keypad dumb/2 help\n");
	/* the next press goes on where the queue of 16 cut it */
	press(k, "dumb/2", "*");
	k->fx->now += 3000000;
	ce_keypad_tick(k->kp);
	expect_plays(k, "stop leg dumb/2\n"
	                "leg dumb/2:/p/press.wav\nleg dumb/2:/p/0.wav\nleg dumb/2:/p/to-count.wav\n"
	                "leg dumb/2:/p/press.wav\nleg dumb/2:/p/star.wav\n"
	                "leg dumb/2:/p/to-help.wav\n");
	/* a moderator's help names its keys too, "star 2" */
	leg_of(k, "dumb/1")->help_next = 7;
	press(k, "dumb/1", "*");
	k->fx->now += 3000000;
	ce_keypad_tick(k->kp);
	g_assert_true(strstr(k->fx->plays->str,
	        "leg dumb/1:/p/press.wav\nleg dumb/1:/p/star.wav\nleg dumb/1:/p/2.wav\n"
	        "leg dumb/1:/p/to-lock.wav\n"));
	g_string_truncate(k->fx->plays, 0);
	kfx_free(k);
}

/* A participant pressing a moderator's key: not-allowed, and nothing changes. */
static void test_not_allowed(void)
{
	struct kfx *k = room3(NULL);
	static const char *const keys[] = {"*2", "*3", "*4", "*5", "*7", "*8", "*9"};

	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
		press(k, "dumb/2", keys[i]);
		expect_plays(k, "stop leg dumb/2\nleg dumb/2:/p/not-allowed.wav\n");
	}
	expect_events(k, "keypad dumb/2 lock not-allowed\n"
	                 "keypad dumb/2 kick_last not-allowed\n"
	                 "keypad dumb/2 mute_all not-allowed\n"
	                 "keypad dumb/2 unmute_all not-allowed\n"
	                 "keypad dumb/2 record not-allowed\n"
	                 "keypad dumb/2 extend not-allowed\n"
	                 "keypad dumb/2 end not-allowed\n");
	g_assert_false(ce_room_find(k->fx->conf, "r")->locked);
	g_assert_null(ce_room_find(k->fx->conf, "r")->record);
	g_assert_cmpint(ce_room_find(k->fx->conf, "r")->users, ==, 3);
	g_assert_false(leg_of(k, "dumb/3")->muted);
	g_assert_null(k->ext_cb);
	kfx_free(k);
}

/* A listener (voice=false) has count, help and the listen volume only. */
static void test_listener(void)
{
	struct kfx *k = kfx_new(NULL);

	fx_join(k->fx, "r", "sip/1", 1, "voice=false");
	g_string_truncate(k->fx->plays, 0);
	press(k, "dumb/1", "1");
	expect_plays(k, "stop leg dumb/1\nleg dumb/1:/p/not-allowed.wav\n");
	g_assert_false(leg_of(k, "dumb/1")->muted);
	press(k, "dumb/1", "9");
	expect_plays(k, "stop leg dumb/1\nleg dumb/1:/p/not-allowed.wav\n");
	press(k, "dumb/1", "6");
	expect_plays(k, "stop leg dumb/1\nleg dumb/1:/p/listen-up.wav\n");
	g_assert_cmpint(leg_of(k, "dumb/1")->listen_step, ==, 1);
	press(k, "dumb/1", "0");
	expect_plays(k, "stop leg dumb/1\nleg dumb/1:/p/there-is.wav\nleg dumb/1:/p/1.wav\n"
	                "leg dumb/1:/p/participant.wav\n");
	/* its help leaves out mute and talk volume */
	press(k, "dumb/1", "*");
	k->fx->now += 3000000;
	ce_keypad_tick(k->kp);
	g_assert_null(strstr(k->fx->plays->str, "to-mute"));
	g_assert_null(strstr(k->fx->plays->str, "to-talk"));
	g_assert_nonnull(strstr(k->fx->plays->str, "to-listen-up"));
	g_string_truncate(k->fx->plays, 0);
	kfx_free(k);
}

/* *2: lock and unlock, told to everyone; a caller coming later is refused. */
static void test_lock(void)
{
	struct kfx *k = room3(NULL);
	char *ans;

	press(k, "dumb/1", "*2");
	g_assert_true(ce_room_find(k->fx->conf, "r")->locked);
	expect_plays(k, "stop room\nroom:/p/locked.wav\n");
	expect_events(k, "lock - -\nkeypad dumb/1 lock on\n");
	fx_expect_sent(k->fx, "chan.notify:targetid",
	        "chan.notify:targetid=mon/r:event=locked:room=r:maxusers=10:users=3\n");
	ans = fx_dispatch(k->fx, "call.execute", "id=sip/9:callto=conf/r", NULL);
	g_assert_nonnull(strstr(ans, "error="));
	g_free(ans);
	press(k, "dumb/1", "*2");
	g_assert_false(ce_room_find(k->fx->conf, "r")->locked);
	expect_plays(k, "stop room\nroom:/p/unlocked.wav\n");
	expect_events(k, "unlock - -\nkeypad dumb/1 lock off\n");
	kfx_free(k);
}

/* *4 mutes every other talker but moderators; *5 unmutes everyone. */
static void test_mute_all(void)
{
	struct kfx *k = kfx_new(NULL);

	fx_join(k->fx, "r", "sip/1", 1, MOD);
	fx_join(k->fx, "r", "sip/2", 2, NULL);
	fx_join(k->fx, "r", "sip/3", 3, "participant_role=moderator");
	fx_join(k->fx, "r", "sip/4", 4, "utility=true:counted=false");
	g_string_truncate(k->fx->plays, 0);
	g_string_truncate(k->events, 0);
	press(k, "dumb/1", "*4");
	g_assert_false(leg_of(k, "dumb/1")->muted);
	g_assert_true(leg_of(k, "dumb/2")->muted);
	g_assert_false(leg_of(k, "dumb/3")->muted);
	g_assert_false(leg_of(k, "dumb/4")->muted);
	expect_plays(k, "stop leg dumb/2\nleg dumb/2:/p/muted.wav\n"
	                "stop leg dumb/1\nleg dumb/1:/p/all-muted.wav\n");
	expect_events(k, "mute dumb/2 -\nkeypad dumb/1 mute_all 1\n");
	press(k, "dumb/1", "1");
	g_string_truncate(k->fx->plays, 0);
	g_string_truncate(k->events, 0);
	press(k, "dumb/1", "*5");
	g_assert_false(leg_of(k, "dumb/1")->muted);
	g_assert_false(leg_of(k, "dumb/2")->muted);
	expect_plays(k, "stop leg dumb/2\nleg dumb/2:/p/unmuted.wav\n"
	                "stop leg dumb/1\nleg dumb/1:/p/all-unmuted.wav\n");
	expect_events(k, "unmute dumb/1 -\nunmute dumb/2 -\nkeypad dumb/1 unmute_all 2\n");
	kfx_free(k);
}

/* *3 drops the last to join who is neither the presser nor a moderator. */
static void test_kick_last(void)
{
	struct kfx *k = room3(NULL);

	fx_join(k->fx, "r", "sip/4", 4, "participant_role=moderator");
	fx_clear(k->fx);
	g_string_truncate(k->events, 0);
	press(k, "dumb/1", "*3");
	fx_expect_sent(k->fx, "call.drop", "call.drop:id=dumb/3:reason=kicked\n");
	g_assert_null(leg_of(k, "dumb/3"));
	expect_events(k, "keypad dumb/1 kick_last dumb/3\nleave dumb/3 -\n");
	press(k, "dumb/1", "*3");
	g_assert_null(leg_of(k, "dumb/2"));
	/* only moderators and the presser are left: nobody to remove */
	g_string_truncate(k->events, 0);
	press(k, "dumb/1", "*3");
	expect_events(k, "keypad dumb/1 kick_last\n");
	g_assert_nonnull(leg_of(k, "dumb/4"));
	kfx_free(k);
}

/* *7 starts recording a file under record_dir, told to everyone; again stops it. */
static void test_record(void)
{
	struct kfx *k = room3(NULL);
	struct ce_room *r = ce_room_find(k->fx->conf, "r");
	char *base;

	press(k, "dumb/1", "*7");
	g_assert_nonnull(r->record);
	g_assert_cmpstr(k->fx->record, ==, r->record);
	g_assert_true(g_str_has_prefix(r->record, k->fx->dir));
	base = g_path_get_basename(r->record);
	g_assert_true(g_str_has_prefix(base, "keypad-r-"));
	g_assert_true(g_str_has_suffix(base, ".wav"));
	g_free(base);
	/* no record_prompt before it: the confirmation is the warning */
	expect_plays(k, "stop room\nroom:/p/record-started.wav\n");
	g_assert_true(g_str_has_prefix(k->events->str, "record-start - -\nkeypad dumb/1 record /"));
	g_string_truncate(k->events, 0);
	press(k, "dumb/1", "*7");
	g_assert_null(r->record);
	g_assert_null(k->fx->record);
	expect_plays(k, "stop room\nroom:/p/record-stopped.wav\n");
	/* stopped on request: like chan.control stoprecord, no record-stop of its own */
	expect_events(k, "keypad dumb/1 record off\n");
	/* a record_dir that cannot be made (a file stands in its way): not-allowed */
	g_assert_true(g_file_set_contents(fx_path(k->fx, "file"), "", 0, NULL));
	g_free(k->fx->conf->set.record_dir);
	k->fx->conf->set.record_dir = g_build_filename(k->fx->dir, "file", "dir", NULL);
	g_test_expect_message("conference", G_LOG_LEVEL_WARNING, "*refused*");
	press(k, "dumb/1", "*7");
	g_test_assert_expected_messages();
	g_assert_null(r->record);
	expect_plays(k, "stop leg dumb/1\nleg dumb/1:/p/not-allowed.wav\n");
	expect_events(k, "keypad dumb/1 record failed\n");
	kfx_free(k);
}

/* *8 asks the schedule for [keypad] extend_minutes; its answer is told. */
static void test_extend(void)
{
	struct kfx *k = room3("[keypad]\nextend_minutes=15\n");

	press(k, "dumb/1", "*8");
	g_assert_cmpstr(k->ext_room, ==, "r");
	g_assert_cmpuint(k->ext_minutes, ==, 15);
	expect_plays(k, "");
	kfx_extend_answer(k, 0);
	expect_plays(k, "stop room\nroom:/p/extended.wav\nroom:/p/15.wav\nroom:/p/minutes.wav\n");
	expect_events(k, "keypad dumb/1 extend 15\n");
	/* refused later (overlap), or at once (no schedule, not a scheduled room) */
	press(k, "dumb/1", "*8");
	kfx_extend_answer(k, -EBUSY);
	expect_plays(k, "stop leg dumb/1\nleg dumb/1:/p/extend-refused.wav\n");
	g_assert_true(g_str_has_prefix(k->events->str, "keypad dumb/1 extend refused "));
	g_string_truncate(k->events, 0);
	k->ext_refuse = -ENOENT;
	press(k, "dumb/1", "*8");
	expect_plays(k, "stop leg dumb/1\nleg dumb/1:/p/extend-refused.wav\n");
	/* the moderator left before the answer: nothing to tell, nothing breaks */
	k->ext_refuse = 0;
	press(k, "dumb/1", "*8");
	fx_watch(k->fx, "chan.hangup", "id=dumb/1:module=dumb:status=answered", false);
	fx_flush(k->fx);
	g_string_truncate(k->fx->plays, 0);
	kfx_extend_answer(k, 0);
	expect_plays(k, "");
	/* the keypad stopped before the answer: the answer finds it gone */
	press(k, "dumb/2", "1");
	fx_join(k->fx, "r", "sip/5", 5, MOD);
	press(k, "dumb/5", "*8");
	g_assert_nonnull(k->ext_cb);
	k->fx->conf->keypad = NULL;
	g_clear_pointer(&k->kp, ce_keypad_free);
	g_string_truncate(k->fx->plays, 0);
	kfx_extend_answer(k, 0);
	expect_plays(k, "");
	kfx_free(k);
}

/* *9 ends the conference: everyone is dropped. */
static void test_end(void)
{
	struct kfx *k = room3(NULL);

	press(k, "dumb/1", "*9");
	g_assert_null(ce_room_find(k->fx->conf, "r"));
	fx_expect_sent(k->fx, "call.drop",
	        "call.drop:id=dumb/1:reason=ended\ncall.drop:id=dumb/2:reason=ended\n"
	        "call.drop:id=dumb/3:reason=ended\n");
	g_assert_true(g_str_has_prefix(k->events->str, "keypad dumb/1 end\n"));
	kfx_free(k);
}

/* Keys one message at a time or many in one; unknown sequences; the timeout. */
static void test_sequences(void)
{
	struct kfx *k = room3(NULL);

	/* "*" then "2" in two messages */
	press(k, "dumb/1", "*");
	press(k, "dumb/1", "2");
	g_assert_true(ce_room_find(k->fx->conf, "r")->locked);
	g_string_truncate(k->fx->plays, 0);
	/* "*#" is no key: dropped, nothing plays; "#" alone neither */
	press(k, "dumb/1", "*#");
	press(k, "dumb/1", "#");
	expect_plays(k, "");
	/* after the timeout "*" is the help, and a "2" after it starts afresh (no key) */
	press(k, "dumb/1", "*");
	k->fx->now += 3000000;
	ce_keypad_tick(k->kp);
	g_assert_true(g_str_has_prefix(k->fx->plays->str, "stop leg dumb/1\n"));
	g_string_truncate(k->fx->plays, 0);
	press(k, "dumb/1", "2");
	expect_plays(k, "");
	g_assert_true(ce_room_find(k->fx->conf, "r")->locked);
	/* a configured map: longer keys, a disabled action */
	kfx_free(k);
	k = kfx_new("[keypad]\nmute=#1\ncount=\nlock=*12\ntimeout=500\n");
	fx_join(k->fx, "r", "sip/1", 1, MOD);
	g_string_truncate(k->fx->plays, 0);
	press(k, "dumb/1", "0");
	expect_plays(k, "");
	press(k, "dumb/1", "#1");
	g_assert_true(leg_of(k, "dumb/1")->muted);
	press(k, "dumb/1", "*1");
	k->fx->now += 499000;
	ce_keypad_tick(k->kp);
	press(k, "dumb/1", "2");
	g_assert_true(ce_room_find(k->fx->conf, "r")->locked);
	press(k, "dumb/1", "*1");
	k->fx->now += 500000;
	ce_keypad_tick(k->kp); /* "*1" is no key: dropped */
	press(k, "dumb/1", "2");
	g_assert_true(ce_room_find(k->fx->conf, "r")->locked);
	kfx_free(k);
}

/* Two actions on the same keys: refused at start and by --check-config. */
static void test_config(void)
{
	struct ce_config *cfg = NULL;
	struct ce_keypad *kp = NULL;
	GError *err = NULL;

	g_assert_cmpint(ce_config_parse(&cfg, "[keypad]\ncount=1\n", -1, "t.conf", NULL), ==, 0);
	g_assert_cmpint(ce_keypad_check(cfg, &err), ==, -EINVAL);
	g_assert_cmpstr(err->message, ==, "[keypad] mute and count have the same keys '1'");
	g_clear_error(&err);
	g_test_expect_message("keypad", G_LOG_LEVEL_WARNING, "*same keys*");
	g_assert_cmpint(ce_keypad_new(&kp, NULL, cfg), ==, -EINVAL);
	g_test_assert_expected_messages();
	ce_config_free(cfg);
	/* disabled: keys are only the room's dtmf notification */
	{
		struct kfx *k = kfx_new("[keypad]\nenabled=false\n");

		fx_join(k->fx, "r", "sip/1", 1, MOD);
		press(k, "dumb/1", "1");
		g_assert_false(leg_of(k, "dumb/1")->muted);
		kfx_free(k);
	}
}

/*
 * Floods: a toggle pressed 1000 times queues no more than one confirmation
 * at a time (each replaces the last); a message of 10,000 keys is read up to
 * 32 keys; garbage and keys of unknown or gone legs do nothing.
 */
static void test_flood(void)
{
	struct kfx *k = room3(NULL);
	GString *many = g_string_new(NULL);
	const char *p;
	unsigned plays = 0, stops = 0;

	for (int i = 0; i < 1000; i++)
		press(k, "dumb/2", "1");
	g_assert_false(leg_of(k, "dumb/2")->muted); /* an even number of toggles */
	for (p = k->fx->plays->str; (p = strstr(p, "leg dumb/2:")); p++)
		plays++;
	for (p = k->fx->plays->str; (p = strstr(p, "stop leg dumb/2")); p++)
		stops++;
	g_assert_cmpuint(plays, ==, 1000);
	g_assert_cmpuint(stops, ==, 1000); /* each play replaced the one before */
	g_string_truncate(k->fx->plays, 0);
	g_string_truncate(k->events, 0);
	for (int i = 0; i < 10000; i++)
		g_string_append_c(many, '9');
	press(k, "dumb/3", many->str);
	g_assert_cmpint(leg_of(k, "dumb/3")->talk_step, ==, 4);
	for (plays = 0, p = k->events->str; (p = strchr(p, '\n')); p++)
		plays++;
	g_assert_cmpuint(plays, ==, 32);
	g_string_free(many, TRUE);
	g_string_truncate(k->fx->plays, 0);
	/* garbage: nothing but the keys of the map does anything */
	press(k, "dumb/3", "abcABC%%%z\x01 ");
	press(k, "dumb/3", "");
	g_free(fx_dispatch(k->fx, "chan.dtmf", "targetid=dumb/3", NULL));
	expect_plays(k, "");
	/* keys of a channel that is no leg of ours, of a leg that left */
	press(k, "dumb/77", "1");
	fx_watch(k->fx, "chan.hangup", "id=dumb/3:module=dumb:status=answered", false);
	fx_flush(k->fx);
	press(k, "dumb/3", "1");
	g_string_truncate(k->fx->plays, 0);
	expect_plays(k, "");
	/* a sequence waiting when its leg leaves: the tick drops it */
	press(k, "dumb/2", "*");
	fx_watch(k->fx, "chan.hangup", "id=dumb/2:module=dumb:status=answered", false);
	fx_flush(k->fx);
	k->fx->now += 3000000;
	ce_keypad_tick(k->kp);
	expect_plays(k, "");
	kfx_free(k);
}

/* A leg on its way in (not JOINED) has no keypad. */
static void test_not_joined(void)
{
	struct kfx *k = kfx_new(NULL);
	char *ans = fx_dispatch(k->fx, "call.execute", "id=sip/1:callto=conf/r:" MOD, NULL);
	struct ce_leg *leg = ce_leg_find(k->fx->conf, "sip/1");

	g_free(ans);
	ce_keypad_input(k->kp, leg, "1");
	ce_keypad_input(k->kp, NULL, "1");
	ce_keypad_input(NULL, leg, "1");
	expect_plays(k, "");
	kfx_free(k);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/conference/keypad/mute", test_mute);
	g_test_add_func("/conference/keypad/volume", test_volume);
	g_test_add_func("/conference/keypad/count", test_count);
	g_test_add_func("/conference/keypad/help", test_help);
	g_test_add_func("/conference/keypad/not-allowed", test_not_allowed);
	g_test_add_func("/conference/keypad/listener", test_listener);
	g_test_add_func("/conference/keypad/lock", test_lock);
	g_test_add_func("/conference/keypad/mute-all", test_mute_all);
	g_test_add_func("/conference/keypad/kick-last", test_kick_last);
	g_test_add_func("/conference/keypad/record", test_record);
	g_test_add_func("/conference/keypad/extend", test_extend);
	g_test_add_func("/conference/keypad/end", test_end);
	g_test_add_func("/conference/keypad/sequences", test_sequences);
	g_test_add_func("/conference/keypad/config", test_config);
	g_test_add_func("/conference/keypad/flood", test_flood);
	g_test_add_func("/conference/keypad/not-joined", test_not_joined);
	return g_test_run();
}
