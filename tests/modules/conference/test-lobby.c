/* test-lobby.c - the lobby: greeting, number and PIN by DTMF, timeouts, spoken refusals, the move
 * into the room on the same leg, hostile keys */
#include <errno.h>

#include "conf-fixture.h"
#include "modules/conference/lobby.h"

#define CONF "[conference]\nprompts_dir=/p\n"

/*
 * The schedule's side, scripted: each question is logged and waits for the
 * test's answer (fa_answer), as the real one waits for the database.
 */
struct fake_admit {
	GString *log; /* "ask key=K pin=P caller=C chan=I\n", "cancel\n" */
	ce_sched_answer_h *cb;
	void *cbarg;
	bool down; /* no schedule module: ask returns NULL */
};

static struct fake_admit s_fa;

static struct ce_sched_query *fa_ask(
        void *arg, const struct ce_sched_ask *q, ce_sched_answer_h *cb, void *cbarg)
{
	(void)arg;
	if (s_fa.down)
		return NULL;
	g_assert_null(s_fa.cb); /* one question at a time */
	g_string_append_printf(s_fa.log, "ask key=%s pin=%s caller=%s chan=%s\n",
	        q->key ? q->key : "-", q->pin ? q->pin : "-", q->caller ? q->caller : "-",
	        q->chan ? q->chan : "-");
	s_fa.cb = cb;
	s_fa.cbarg = cbarg;
	return (struct ce_sched_query *)&s_fa;
}

static void fa_cancel(struct ce_sched_query *q)
{
	g_assert_true(q == (struct ce_sched_query *)&s_fa);
	g_string_append(s_fa.log, "cancel\n");
	s_fa.cb = NULL;
}

static void fa_answer(const struct ce_sched_answer *a)
{
	ce_sched_answer_h *cb = s_fa.cb;

	g_assert_nonnull(cb);
	s_fa.cb = NULL;
	cb(a, s_fa.cbarg);
}

static void fa_verdict(enum ce_sched_verdict v, const char *key)
{
	fa_answer(&(struct ce_sched_answer){.verdict = v, .key = key});
}

static void fa_in(const char *join_params)
{
	struct ce_msg *join = fx_msg("join", join_params);

	fa_answer(&(struct ce_sched_answer){.verdict = CE_SCHED_IN, .join = join});
	ce_msg_unref(join);
}

static void expect_log(const char *expect)
{
	g_assert_cmpstr(s_fa.log->str, ==, expect);
	g_string_truncate(s_fa.log, 0);
}

static void expect_plays(struct fx *fx, const char *expect)
{
	g_assert_cmpstr(fx->plays->str, ==, expect);
	g_string_truncate(fx->plays, 0);
}

static struct fx *lobby_fx(const char *conf)
{
	struct fx *fx = fx_new(conf ? conf : CONF);

	memset(&s_fa, 0, sizeof(s_fa));
	s_fa.log = g_string_new(NULL);
	fx->conf->admit = (struct ce_lobby_admit){.ask = fa_ask, .cancel = fa_cancel};
	return fx;
}

static void lobby_fx_free(struct fx *fx)
{
	fx_free(fx);
	g_assert_null(s_fa.cb); /* nothing left waiting for an answer */
	g_string_free(s_fa.log, TRUE);
}

static void keys(struct fx *fx, const char *leg, const char *digits)
{
	char *params = g_strdup_printf("id=sip/1:targetid=%s:text=%s", leg, digits);

	g_free(fx_dispatch(fx, "chan.dtmf", params, NULL));
	g_free(params);
}

/* Every prompt queued so far has played to its end. */
static void prompts_end(struct fx *fx, struct ce_leg *leg, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		fx_prompt_done(fx, leg);
}

static void advance(struct fx *fx, unsigned ms)
{
	fx->now += (gint64)ms * 1000;
	ce_conf_tick(fx->conf);
	fx_flush(fx);
}

/* The whole path: not recognised, the number, a wrong PIN, the right one, into the room. */
static void test_number_pin(void)
{
	struct fx *fx = lobby_fx(NULL);
	struct ce_leg *leg = fx_join_to(fx, "lobby", "sip/1", 1, NULL);
	struct ce_room *room;

	g_assert_nonnull(leg);
	g_assert_true(g_str_has_prefix(leg->room->name, "lobby/"));
	g_assert_true(leg->room->lobby);
	/* the greeting, and the question about the caller's number */
	expect_plays(fx, "leg dumb/1:/p/welcome.wav\n");
	expect_log("ask key=- pin=- caller=tone/busy chan=sip/1\n");
	fa_verdict(CE_SCHED_NONE, NULL);
	expect_plays(fx, "leg dumb/1:/p/enter-number.wav\n");
	keys(fx, "dumb/1", "8");
	/* barge-in: a key stops the prompts to the caller */
	expect_plays(fx, "stop leg dumb/1\n");
	keys(fx, "dumb/1", "00#");
	expect_log("ask key=800 pin=- caller=tone/busy chan=sip/1\n");
	fa_verdict(CE_SCHED_NEED_PIN, "800");
	expect_plays(fx, "leg dumb/1:/p/enter-pin.wav\n");
	keys(fx, "dumb/1", "1234#");
	expect_log("ask key=800 pin=1234 caller=tone/busy chan=sip/1\n");
	fa_verdict(CE_SCHED_BAD_PIN, NULL);
	expect_plays(fx,
	        "stop leg dumb/1\nleg dumb/1:/p/wrong-pin.wav\nleg dumb/1:/p/try-again.wav\n"
	        "leg dumb/1:/p/enter-pin.wav\n");
	keys(fx, "dumb/1", "4321#");
	expect_log("ask key=800 pin=4321 caller=tone/busy chan=sip/1\n");
	fx_clear(fx);
	fa_in("callto=conf/board:maxusers=20:notify=mon/board:conference_id=7:"
	      "participant_role=moderator:participant_name=Ann:participant_direction=in");
	fx_flush(fx);
	/* the same leg, moved: no new chan.rtp, no new leg */
	g_assert_cmpstr(fx->moves->str, ==, "dumb/1:board\n");
	g_assert_true(ce_leg_find(fx->conf, "dumb/1") == leg);
	room = ce_room_find(fx->conf, "board");
	g_assert_nonnull(room);
	g_assert_true(leg->room == room);
	g_assert_null(leg->lobby);
	g_assert_true(ce_leg_is_moderator(leg));
	g_assert_cmpint(room->users, ==, 1);
	g_assert_cmpint(room->maxusers, ==, 20);
	g_assert_cmpint(fx->rooms, ==, 1); /* the lobby room went */
	g_assert_cmpint(fx->legs, ==, 1);
	fx_expect_sent(fx, "chan.rtp", "");
	fx_expect_sent(fx, "chan.masquerade", "");
	fx_expect_sent(fx, "chan.notify:id=dumb/1:targetid=mon/board",
	        "chan.notify:id=dumb/1:targetid=mon/board:counted=true:utility=false:room=board:"
	        "event=joined:maxusers=20:users=1:caller=tone/busy:called=802:conference_id=7:"
	        "participant_name=Ann:participant_role=moderator:"
	        "participant_direction=in\n");
	/* keys now belong to the room: notified, not collected */
	keys(fx, "dumb/1", "5");
	g_assert_cmpstr(s_fa.log->str, ==, "");
	lobby_fx_free(fx);
}

/* No key at all: asked again after the entry timeout, then too many tries and goodbye. */
static void test_timeouts(void)
{
	struct fx *fx = lobby_fx(CONF "lobby_tries=2\nlobby_entry_timeout=4000\n"
	                              "lobby_digit_timeout=2000\nlobby_recognise=false\n");
	struct ce_leg *leg = fx_join_to(fx, "lobby", "sip/1", 1, NULL);

	expect_plays(fx, "leg dumb/1:/p/welcome.wav\nleg dumb/1:/p/enter-number.wav\n");
	g_assert_cmpstr(s_fa.log->str, ==, "");
	/* the wait starts when the prompts have ended */
	advance(fx, 30000);
	expect_plays(fx, "");
	prompts_end(fx, leg, 2);
	advance(fx, 3900);
	expect_plays(fx, "");
	advance(fx, 200);
	expect_plays(fx, "leg dumb/1:/p/try-again.wav\nleg dumb/1:/p/enter-number.wav\n");
	prompts_end(fx, leg, 2);
	/* a pause after some keys ends the entry */
	keys(fx, "dumb/1", "80");
	advance(fx, 1900);
	g_assert_cmpstr(s_fa.log->str, ==, "");
	advance(fx, 200);
	expect_log("ask key=80 pin=- caller=tone/busy chan=sip/1\n");
	fx_clear(fx);
	fa_verdict(CE_SCHED_NONE, NULL);
	/* the second wrong entry: too many tries, goodbye heard to its end, then the hangup */
	expect_plays(fx, "leg dumb/1:/p/wrong-number.wav\nleg dumb/1:/p/too-many-tries.wav\n"
	                 "leg dumb/1:/p/goodbye.wav\n");
	keys(fx, "dumb/1", "1#");
	g_assert_cmpstr(s_fa.log->str, ==, "");
	prompts_end(fx, leg, 2);
	fx_flush(fx);
	fx_expect_sent(fx, "call.drop", "");
	prompts_end(fx, leg, 1);
	fx_flush(fx);
	fx_expect_sent(fx, "call.drop", "call.drop:id=dumb/1:reason=toomanytries\n");
	g_assert_cmpint(fx->legs, ==, 0);
	g_assert_cmpint(fx->rooms, ==, 0);
	lobby_fx_free(fx);
}

/* Each refusal is said, then goodbye, then the hangup with its reason. */
static void test_refusals(void)
{
	static const struct {
		enum ce_sched_verdict v;
		const char *said, *reason;
	} cases[] = {
	        {CE_SCHED_ENDED, "leg dumb/1:/p/ended.wav\n", "ended"},
	        {CE_SCHED_CANCELLED, "leg dumb/1:/p/no-conference.wav\n", "cancelled"},
	        {CE_SCHED_LOCKED, "leg dumb/1:/p/locked-out.wav\n", "locked"},
	        {CE_SCHED_FULL, "", "busy"},
	        {CE_SCHED_UNAVAILABLE, "", "unavailable"},
	        {CE_SCHED_NONE, "leg dumb/1:/p/no-conference.wav\n", "noconference"},
	};

	for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct fx *fx = lobby_fx(NULL);
		struct ce_leg *leg = fx_join_to(fx, "lobby/800", "sip/1", 1, NULL);
		char *plays = g_strdup_printf(
		        "leg dumb/1:/p/welcome.wav\n%sleg dumb/1:/p/goodbye.wav\n", cases[i].said);
		char *drop = g_strdup_printf("call.drop:id=dumb/1:reason=%s\n", cases[i].reason);

		/* the number came with the call: no recognition, straight to it */
		expect_log("ask key=800 pin=- caller=tone/busy chan=sip/1\n");
		fa_verdict(cases[i].v, NULL);
		expect_plays(fx, plays);
		fx_clear(fx);
		/* the hangup comes with the end of the last of them, not before */
		for (const char *p = strchr(plays, '\n'); p && p[1]; p = strchr(p + 1, '\n'))
			prompts_end(fx, leg, 1);
		fx_flush(fx);
		fx_expect_sent(fx, "call.drop", "");
		prompts_end(fx, leg, 1);
		fx_flush(fx);
		fx_expect_sent(fx, "call.drop", drop);
		g_free(plays);
		g_free(drop);
		lobby_fx_free(fx);
	}
}

/* Too early: "this conference starts at 10 30 am", in the conference's time zone. */
static void test_not_started(void)
{
	struct fx *fx = lobby_fx(NULL);
	GDateTime *t = g_date_time_new_utc(2026, 12, 6, 9, 30, 0);

	fx_join_to(fx, "lobby", "sip/1", 1, "lobby_key=800");
	expect_log("ask key=800 pin=- caller=tone/busy chan=sip/1\n");
	fa_answer(&(struct ce_sched_answer){.verdict = CE_SCHED_NOT_STARTED,
	        .starts_at = g_date_time_to_unix(t) * G_USEC_PER_SEC,
	        .time_zone = "Europe/Berlin"});
	expect_plays(fx, "leg dumb/1:/p/welcome.wav\nleg dumb/1:/p/starts-at.wav\n"
	                 "leg dumb/1:/p/10.wav\nleg dumb/1:/p/30.wav\nleg dumb/1:/p/am.wav\n"
	                 "leg dumb/1:/p/goodbye.wav\n");
	g_date_time_unref(t);
	/* a goodbye that never reports its end still ends the call */
	fx_clear(fx);
	advance(fx, 31000);
	fx_expect_sent(fx, "call.drop", "call.drop:id=dumb/1:reason=notstarted\n");
	lobby_fx_free(fx);
}

/* Recognised by number: straight in, no key pressed. */
static void test_recognised(void)
{
	struct fx *fx = lobby_fx(NULL);
	struct ce_leg *leg = fx_join_to(fx, "lobby", "sip/1", 1, NULL);

	expect_log("ask key=- pin=- caller=tone/busy chan=sip/1\n");
	fa_in("callto=conf/board:participant_role=listener:voice=false");
	fx_flush(fx);
	g_assert_cmpstr(leg->room->name, ==, "board");
	g_assert_false(leg->voice);
	g_assert_cmpuint(fx->conf->media->leg_set_flags ? 1 : 0, ==, 1);
	g_assert_cmpint(fx->rooms, ==, 1);
	lobby_fx_free(fx);
}

/* Hostile keys: a flood, an endless entry, A-D, and a hangup while the schedule thinks. */
static void test_hostile(void)
{
	struct fx *fx = lobby_fx(CONF "lobby_recognise=false\n");
	struct ce_leg *leg = fx_join_to(fx, "lobby", "sip/1", 1, NULL);
	GString *flood = g_string_new(NULL);

	for (unsigned i = 0; i < 10000; i++)
		g_string_append_c(flood, '0' + i % 10);
	keys(fx, "dumb/1", flood->str);
	/* the entry is too long: wrong, without asking */
	keys(fx, "dumb/1", "#");
	g_assert_cmpstr(s_fa.log->str, ==, "");
	g_assert_true(strstr(fx->plays->str, "wrong-number.wav") != NULL);
	g_string_truncate(fx->plays, 0);
	/* '*' starts again, A-D are not digits */
	keys(fx, "dumb/1", "99*8A0B0#");
	expect_log("ask key=800 pin=- caller=tone/busy chan=sip/1\n");
	/* keys while the schedule thinks are ignored */
	keys(fx, "dumb/1", "123#");
	g_assert_cmpstr(s_fa.log->str, ==, "");
	/* the caller hangs up: the question is withdrawn, nothing is left */
	fx_watch(fx, "chan.hangup", "id=dumb/1:module=dumb:status=answered", false);
	fx_flush(fx);
	expect_log("cancel\n");
	g_assert_null(ce_leg_find(fx->conf, "dumb/1"));
	g_assert_cmpint(fx->legs, ==, 0);
	g_assert_cmpint(fx->rooms, ==, 0);
	g_string_free(flood, TRUE);
	(void)leg;
	lobby_fx_free(fx);
}

/* No schedule module, or a room that will not take the caller: said, goodbye. */
static void test_cannot_join(void)
{
	struct fx *fx = lobby_fx(NULL);
	struct ce_leg *leg, *other;

	s_fa.down = true;
	fx_join_to(fx, "lobby", "sip/1", 1, NULL);
	expect_plays(fx, "leg dumb/1:/p/welcome.wav\nleg dumb/1:/p/goodbye.wav\n");
	lobby_fx_free(fx);

	fx = lobby_fx(NULL);
	other = fx_join(fx, "board", "sip/9", 1, "lonely=true");
	ce_room_set_locked(other->room, true);
	leg = fx_join_to(fx, "lobby", "sip/1", 2, NULL);
	g_string_truncate(fx->plays, 0);
	fa_in("callto=conf/board");
	expect_plays(fx, "leg dumb/2:/p/is-locked.wav\nleg dumb/2:/p/goodbye.wav\n");
	g_assert_true(leg->room->lobby);
	g_assert_cmpstr(fx->moves->str, ==, "");
	lobby_fx_free(fx);

	/* Yate will not re-point the RTP: the caller stays, hears goodbye, the room goes */
	fx = lobby_fx(NULL);
	leg = fx_join_to(fx, "lobby", "sip/1", 1, NULL);
	g_string_truncate(fx->plays, 0);
	fx->move_err = -EXDEV;
	fx->rtp_fail = true;
	fa_in("callto=conf/board");
	fx_flush(fx);
	expect_plays(fx, "stop leg dumb/1\nleg dumb/1:/p/goodbye.wav\n");
	g_assert_true(leg->room->lobby);
	g_assert_null(ce_room_find(fx->conf, "board")); /* made for it, gone again */
	g_assert_cmpint(fx->legs, ==, 1);
	lobby_fx_free(fx);
}

/* The room runs on another media thread: the leg is re-pointed (a second chan.rtp). */
static void test_rehome(void)
{
	struct fx *fx = lobby_fx(NULL);
	struct ce_leg *leg = fx_join_to(fx, "lobby", "sip/1", 1, NULL);

	fx->move_err = -EXDEV;
	fx_clear(fx);
	fa_in("callto=conf/board");
	/* until Yate answers, the caller is still in the lobby */
	g_assert_true(leg->room->lobby);
	g_assert_cmpint(fx->legs, ==, 2);
	fx_expect_sent(fx, "chan.masquerade",
	        "chan.masquerade:id=dumb/1:message=chan.rtp:media=audio:direction=bidir:"
	        "remoteip=127.0.0.1:remoteport=40000:format=mulaw:rtcp=false:"
	        "complete_minimal=true\n");
	fx_flush(fx);
	g_assert_cmpstr(leg->room->name, ==, "board");
	g_assert_cmpint(fx->legs, ==, 1);
	g_assert_cmpint(fx->rooms, ==, 1);
	g_assert_true(((struct fx_leg *)leg->media)->started);
	lobby_fx_free(fx);

	/* the caller hangs up while Yate is asked: nothing is left */
	fx = lobby_fx(NULL);
	leg = fx_join_to(fx, "lobby", "sip/1", 1, NULL);
	fx->move_err = -EXDEV;
	fa_in("callto=conf/board");
	g_assert_nonnull(ce_room_find(fx->conf, "board"));
	fx_watch(fx, "chan.hangup", "id=dumb/1:module=dumb:status=answered", false);
	g_assert_null(ce_room_find(fx->conf, "board"));
	fx_flush(fx);
	g_assert_cmpint(fx->legs, ==, 0);
	g_assert_cmpint(fx->rooms, ==, 0);
	lobby_fx_free(fx);
}

/* The journal knows the leg in the lobby, and in its room once moved (an enter that replaces). */
static void test_journal(void)
{
	char *dir = g_dir_make_tmp("ce-lobby-XXXXXX", NULL);
	char *path = g_build_filename(dir, "legs.journal", NULL);
	char *conf = g_strdup_printf(CONF "journal=%s\n", path);
	struct fx *fx = lobby_fx(conf);
	char *text = NULL;

	fx_join_to(fx, "lobby", "sip/1", 1, NULL);
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	g_assert_nonnull(strstr(text, "room=lobby/1"));
	g_assert_null(strstr(text, "room=board"));
	g_free(text);
	fa_in("callto=conf/board");
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	g_assert_nonnull(strstr(strstr(text, "room=lobby/1"), "room=board"));
	g_assert_nonnull(strstr(strstr(text, "room=board"), "rtp_port=23614"));
	g_free(text);
	lobby_fx_free(fx);
	fx_rm(dir);
	g_free(conf);
	g_free(path);
	g_free(dir);
}

/* A room that announces names: the caller says theirs after the tone, '#' or the time ends it. */
static void test_name(void)
{
	struct fx *fx = lobby_fx(CONF "lobby_name=3000\n");
	struct ce_leg *leg = fx_join_to(fx, "lobby/800", "sip/1", 1, NULL);
	char *file;

	fa_in("callto=conf/board:announce_join=true");
	expect_plays(fx, "leg dumb/1:/p/welcome.wav\nleg dumb/1:/p/say-name.wav\n"
	                 "leg dumb/1:tone/milliwatt@300\n");
	g_assert_null(fx->record);
	prompts_end(fx, leg, 3);
	/* after the beep: the lobby room's recorder, whose only voice is the caller's */
	g_assert_nonnull(fx->record);
	g_assert_true(g_str_has_prefix(fx->record, fx->dir));
	g_assert_nonnull(strstr(fx->record, "/name-"));
	file = g_strdup(fx->record);
	g_assert_true(leg->room->lobby);
	keys(fx, "dumb/1", "#");
	/* said: a second of silence while the media closes the file, then into the room */
	expect_plays(fx, "leg dumb/1:tone/silence@1000\n");
	g_assert_true(leg->room->lobby);
	prompts_end(fx, leg, 1);
	g_assert_cmpstr(leg->room->name, ==, "board");
	g_assert_cmpstr(leg->name_prompt, ==, file);
	g_assert_true(leg->name_owned);
	g_free(file);
	lobby_fx_free(fx);

	/* no '#': the name ends after lobby_name ms */
	fx = lobby_fx(CONF "lobby_name=3000\n");
	leg = fx_join_to(fx, "lobby/800", "sip/1", 1, NULL);
	fa_in("callto=conf/board:announce_join=true");
	prompts_end(fx, leg, 3);
	advance(fx, 2900);
	g_assert_true(leg->room->lobby);
	advance(fx, 200);
	prompts_end(fx, leg, 1);
	g_assert_cmpstr(leg->room->name, ==, "board");
	g_assert_nonnull(leg->name_prompt);
	lobby_fx_free(fx);

	/* the caller hangs up while saying it: nothing is left, the file is to go */
	fx = lobby_fx(CONF "lobby_name=3000\n");
	leg = fx_join_to(fx, "lobby/800", "sip/1", 1, NULL);
	fa_in("callto=conf/board:announce_join=true");
	prompts_end(fx, leg, 3);
	file = g_strdup(fx->record);
	g_assert_nonnull(file);
	fx_watch(fx, "chan.hangup", "id=dumb/1:module=dumb:status=answered", false);
	fx_flush(fx);
	g_assert_cmpint(fx->legs, ==, 0);
	g_assert_cmpint(fx->rooms, ==, 0);
	g_assert_nonnull(fx->conf->names);
	g_assert_true(g_hash_table_contains(fx->conf->names, file));
	g_assert_true(g_file_test(file, G_FILE_TEST_EXISTS));
	ce_conf_free(g_steal_pointer(&fx->conf)); /* the module stops: the name goes now */
	g_assert_false(g_file_test(file, G_FILE_TEST_EXISTS));
	g_free(file);
	lobby_fx_free(fx);

	/* '#' before the beep: no name; lobby_name=0 or no announce_join: never asked */
	fx = lobby_fx(CONF "lobby_name=3000\n");
	leg = fx_join_to(fx, "lobby/800", "sip/1", 1, NULL);
	fa_in("callto=conf/board:announce_join=true");
	keys(fx, "dumb/1", "#");
	g_assert_cmpstr(leg->room->name, ==, "board");
	g_assert_null(leg->name_prompt);
	g_assert_null(fx->record);
	lobby_fx_free(fx);
	fx = lobby_fx(CONF "lobby_name=0\n");
	leg = fx_join_to(fx, "lobby/800", "sip/1", 1, NULL);
	fa_in("callto=conf/board:announce_join=true");
	g_assert_cmpstr(leg->room->name, ==, "board");
	lobby_fx_free(fx);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/lobby/number-pin", test_number_pin);
	g_test_add_func("/lobby/timeouts", test_timeouts);
	g_test_add_func("/lobby/refusals", test_refusals);
	g_test_add_func("/lobby/not-started", test_not_started);
	g_test_add_func("/lobby/recognised", test_recognised);
	g_test_add_func("/lobby/hostile", test_hostile);
	g_test_add_func("/lobby/cannot-join", test_cannot_join);
	g_test_add_func("/lobby/rehome", test_rehome);
	g_test_add_func("/lobby/journal", test_journal);
	g_test_add_func("/lobby/name", test_name);
	return g_test_run();
}
