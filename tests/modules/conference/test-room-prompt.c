/* test-room-prompt.c - prompts and recording on the signalling side: enter/leave/lonely prompts,
 * chan.control play/record/stoprecord, the conference.h API, prompt names */
#include <errno.h>

#include "conf-fixture.h"
#include "engine.h"
#include "modules/conference/conference.h"
#include "modules/conference/prompt-set.h"

#define CONF "[conference]\nprompts_dir=/p\nprompt_dirs=/abs, /snd\n"

static void expect_plays(struct fx *fx, const char *expect)
{
	g_assert_cmpstr(fx->plays->str, ==, expect);
	g_string_truncate(fx->plays, 0);
}

static void test_join_leave(void)
{
	struct fx *fx = fx_new(CONF);

	fx_join(fx, "r", "sip/1", 1, "lonely=true");
	expect_plays(fx, "leg dumb/1:/p/lonely.wav\n");
	fx_join(fx, "r", "sip/2", 2, NULL);
	expect_plays(fx, "room:/p/enter.wav\n");
	/* a utility leg (a player, a recorder) is not announced */
	fx_join(fx, "r", "sip/3", 3, "utility=true:counted=false");
	expect_plays(fx, "");
	fx_watch(fx, "chan.hangup", "id=dumb/2:module=dumb:status=answered", false);
	fx_flush(fx);
	expect_plays(fx, "room:/p/leave.wav\n");
	ce_room_drop_all(ce_room_find(fx->conf, "r"), NULL);
	fx_flush(fx);
	expect_plays(fx, ""); /* nobody is told about a room that is being dropped */
	fx_free(fx);
}

/* A prompts_dir with en/ (complete here) and fr/ (lonely only). */
static char *lang_dir(void)
{
	static const char *const files[] = {"en/lonely.wav", "en/enter.wav", "en/leave.wav",
	        "en/end-5min.wav", "fr/lonely.wav", "fr/end-5min.wav"};
	char *dir = g_dir_make_tmp("ce-lang-XXXXXX", NULL);

	for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
		char *p = g_build_filename(dir, files[i], NULL);
		char *d = g_path_get_dirname(p);

		g_assert_cmpint(g_mkdir_with_parents(d, 0700), ==, 0);
		g_assert_true(g_file_set_contents(p, "", 0, NULL));
		g_free(d);
		g_free(p);
	}
	return dir;
}

/*
 * lang=: a leg's own prompts in its language, the room's in the language
 * of the request that made it, each falling back to [conference] lang and
 * then English; the schedule's end warnings (ce_conference_play) too.
 */
static void test_lang(void)
{
	char *dir = lang_dir();
	char *conf = g_strdup_printf("[conference]\nprompts_dir=%s\n", dir);
	struct fx *fx = fx_new(conf);
	char *expect;

	fx_join(fx, "r", "sip/1", 1, "lonely=true:lang=fr");
	fx_join(fx, "r", "sip/2", 2, "lang=en");
	fx_join(fx, "q", "sip/3", 3, "lonely=true:lang=de");
	fx_join(fx, "p", "sip/4", 4, "lonely=true:lang=../fr");
	g_assert_cmpint(ce_conference_play(fx->conf, "r", "end-5min.wav", NULL, false), ==, 0);
	g_assert_cmpint(ce_conference_play(fx->conf, "q", "end-5min.wav", NULL, false), ==, 0);
	expect = g_strdup_printf("leg dumb/1:%s/fr/lonely.wav\n"
	                         "room:%s/en/enter.wav\n"        /* fr has none: English */
	                         "leg dumb/3:%s/en/lonely.wav\n" /* no de/ folder */
	                         "leg dumb/4:%s/en/lonely.wav\n" /* not a language: ignored */
	                         "room:%s/fr/end-5min.wav\n"     /* room r was made with lang=fr */
	                         "room:%s/en/end-5min.wav\n",
	        dir, dir, dir, dir, dir, dir);
	expect_plays(fx, expect);
	g_free(expect);
	fx_free(fx);
	g_free(conf);

	/* [conference] lang: the language of those that give none */
	conf = g_strdup_printf("[conference]\nprompts_dir=%s\nlang=fr\n", dir);
	fx = fx_new(conf);
	fx_join(fx, "r", "sip/1", 1, "lonely=true");
	fx_join(fx, "s", "sip/2", 2, "lonely=true:lang=en");
	expect = g_strdup_printf(
	        "leg dumb/1:%s/fr/lonely.wav\nleg dumb/2:%s/en/lonely.wav\n", dir, dir);
	expect_plays(fx, expect);
	g_free(expect);
	fx_free(fx);
	g_free(conf);

	/* a default language without a folder: said at start, and English plays */
	conf = g_strdup_printf("[conference]\nprompts_dir=%s\nlang=it\n", dir);
	g_test_expect_message("conference", G_LOG_LEVEL_WARNING,
	        "[conference] lang=it: * has no folder 'it', its prompts come from 'en'");
	fx = fx_new(conf);
	g_test_assert_expected_messages();
	fx_join(fx, "r", "sip/1", 1, "lonely=true");
	expect = g_strdup_printf("leg dumb/1:%s/en/lonely.wav\n", dir);
	expect_plays(fx, expect);
	g_free(expect);
	fx_free(fx);
	g_free(conf);
	fx_rm(dir);
	g_free(dir);
}

static void test_disabled(void)
{
	struct fx *fx = fx_new(CONF "enter_prompt=\nleave_prompt=\nlonely_prompt=\n");

	fx_join(fx, "r", "sip/1", 1, "lonely=true");
	fx_join(fx, "r", "sip/2", 2, NULL);
	fx_watch(fx, "chan.hangup", "id=dumb/2:module=dumb:status=answered", false);
	fx_flush(fx);
	expect_plays(fx, "");
	fx_free(fx);
}

/* A phrase: its pieces queued back to back to one target; the first refusal stops it. */
static void test_say(void)
{
	struct fx *fx = fx_new(CONF);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	struct ce_room *r;

	fx_join(fx, "r", "sip/1", 1, "lonely=true");
	fx_join(fx, "r", "sip/2", 2, NULL);
	r = ce_room_find(fx->conf, "r");
	g_string_truncate(fx->plays, 0);
	g_assert_cmpint(ce_say_participants(names, 7), ==, 0);
	g_assert_cmpint(ce_room_say(r, names, ce_leg_find(fx->conf, "dumb/2"), false), ==, 0);
	expect_plays(fx, "leg dumb/2:/p/there-are.wav\nleg dumb/2:/p/7.wav\n"
	                 "leg dumb/2:/p/participants.wav\n");
	g_assert_cmpint(ce_room_say(r, names, NULL, false), ==, 0);
	expect_plays(fx, "room:/p/there-are.wav\nroom:/p/7.wav\nroom:/p/participants.wav\n");
	fx->play_err = -ENOBUFS;
	g_assert_cmpint(ce_room_say(r, names, NULL, false), ==, -ENOBUFS);
	fx->play_err = 0;
	g_ptr_array_unref(names);
	fx_free(fx);
}

static void test_control(void)
{
	struct fx *fx = fx_new(CONF);
	bool handled = false;
	char *line;

	fx_join(fx, "r", "sip/1", 1, "lonely=true:notify=mon/r");
	fx_join(fx, "r", "sip/2", 2, NULL);
	g_string_truncate(fx->plays, 0);
	fx_clear(fx);
	g_free(fx_dispatch(
	        fx, "chan.control", "targetid=conf/r:operation=play:file=x.wav", &handled));
	g_assert_true(handled);
	expect_plays(fx, "room:/p/x.wav\n");
	/* aimed at a leg, or masqueraded (Yate puts the caller in targetid, the leg in id) */
	g_free(fx_dispatch(fx, "chan.control",
	        "targetid=dumb/1:operation=play:file=wave/play//snd/a.au:others=true", &handled));
	g_assert_true(handled);
	g_free(fx_dispatch(fx, "chan.control", "id=dumb/2:targetid=sip/2:operation=play:file=b.wav",
	        &handled));
	g_assert_true(handled);
	expect_plays(fx, "others dumb/1:/snd/a.au\nleg dumb/2:/p/b.wav\n");
	/* nothing to play: not handled, nothing happens */
	g_free(fx_dispatch(fx, "chan.control", "targetid=conf/r:operation=play", &handled));
	g_assert_false(handled);
	expect_plays(fx, "");
	/* recording: the warning, the file, Yate's notification */
	fx_clear(fx);
	g_free(fx_dispatch(
	        fx, "chan.control", "targetid=conf/r:operation=record:file=r.flac", &handled));
	g_assert_true(handled);
	g_assert_cmpstr(fx->record, ==, fx_path(fx, "r.flac"));
	expect_plays(fx, "room:/p/recording.wav\n");
	line = g_strdup_printf("chan.notify:id=conf/r:targetid=mon/r:counted=false:utility=true:"
	                       "room=r:event=recording:maxusers=10:users=2:record=r.flac:file=%s\n",
	        fx_path(fx, "r.flac"));
	fx_expect_sent(fx, "chan.notify", line);
	g_free(line);
	/* an absolute path inside record_dir */
	line = g_strdup_printf(
	        "targetid=dumb/2:operation=record:file=wave/record/%s:recordwarn=w.wav",
	        fx_path(fx, "s.wav"));
	g_free(fx_dispatch(fx, "chan.control", line, &handled));
	g_free(line);
	g_assert_true(handled);
	g_assert_cmpstr(fx->record, ==, fx_path(fx, "s.wav"));
	expect_plays(fx, "room:/p/w.wav\n");
	g_free(fx_dispatch(fx, "chan.control", "targetid=conf/r:operation=stoprecord", &handled));
	g_assert_true(handled);
	g_assert_null(fx->record);
	g_assert_null(ce_room_find(fx->conf, "r")->record);
	fx_free(fx);
}

/* chan.control to @target: whether it was handled, and the parameters it changed in *@ans. */
static bool control(struct fx *fx, const char *params, char **ans)
{
	bool handled = false;
	char *a = fx_dispatch(fx, "chan.control", params, &handled);

	if (ans)
		*ans = a;
	else
		g_free(a);
	return handled;
}

static void expect_refusal(struct fx *fx, const char *params, const char *answer)
{
	char *ans = NULL;

	g_assert_false(control(fx, params, &ans));
	g_assert_cmpstr(ans, ==, answer);
	g_free(ans);
	expect_plays(fx, "");
}

static void test_tones(void)
{
	struct fx *fx = fx_new(CONF "tone_duration=3000\n");
	char *ans = NULL;

	fx_join(fx, "r", "sip/1", 1, "lonely=true");
	fx_join(fx, "r", "sip/2", 2, NULL);
	g_string_truncate(fx->plays, 0);
	/* the configured default, duration=, Yate's aliases, DTMF's own length */
	g_assert_true(control(fx, "targetid=conf/r:operation=play:file=tone/busy", NULL));
	g_assert_true(
	        control(fx, "targetid=conf/r:operation=play:file=tone/ring:duration=1500", NULL));
	g_assert_true(control(fx, "targetid=dumb/1:operation=play:file=tone/cg:others=true", NULL));
	g_assert_true(control(fx, "targetid=dumb/2:operation=play:file=tone/dtmf/5", NULL));
	g_assert_true(control(
	        fx, "targetid=dumb/2:operation=play:file=tone/dtmfstr/123:duration=2000", NULL));
	expect_plays(fx,
	        "room:tone/busy@3000\nroom:tone/ring@1500\nothers dumb/1:tone/congestion@3000\n"
	        "leg dumb/2:tone/dtmf/5@0\nleg dumb/2:tone/dtmfstr/123@2000\n");
	/* bad input: a false answer that says why, and nothing played */
	expect_refusal(fx, "targetid=conf/r:operation=play:file=tone/nosuch",
	        "error=failure:reason=unknown tone");
	expect_refusal(fx, "targetid=conf/r:operation=play:file=tone/dtmf/x",
	        "error=failure:reason=unknown tone");
	expect_refusal(fx,
	        "targetid=conf/r:operation=play:file=tone/dtmfstr/"
	        "123456789012345678901234567890123",
	        "error=failure:reason=too many DTMF digits");
	expect_refusal(fx, "targetid=conf/r:operation=play:file=tone/busy:duration=0",
	        "error=failure:reason=bad duration");
	expect_refusal(fx, "targetid=conf/r:operation=play:file=tone/busy:duration=3600001",
	        "error=failure:reason=bad duration");
	expect_refusal(fx,
	        "targetid=conf/r:operation=play:file=tone/busy:duration=99999999999999999999",
	        "error=failure:reason=bad duration");
	expect_refusal(fx, "targetid=conf/r:operation=play:file=tone/busy:duration=5s",
	        "error=failure:reason=bad duration");
	expect_refusal(fx, "targetid=conf/r:operation=play:file=-",
	        "error=failure:reason=nothing to play");
	/* and the room goes on */
	g_assert_true(
	        control(fx, "targetid=conf/r:operation=play:file=tone/mw:duration=3600000", &ans));
	g_assert_cmpstr(ans, ==, "");
	g_free(ans);
	expect_plays(fx, "room:tone/milliwatt@3600000\n");
	/* recordwarn may be a tone too */
	g_assert_true(control(
	        fx, "targetid=conf/r:operation=record:file=r.wav:recordwarn=tone/info", NULL));
	expect_plays(fx, "room:tone/info@3000\n");
	fx_free(fx);
}

static void test_queue_control(void)
{
	struct fx *fx = fx_new(CONF);
	char *ans = NULL;

	fx_join(fx, "r", "sip/1", 1, "lonely=true");
	fx_join(fx, "r", "sip/2", 2, NULL);
	g_string_truncate(fx->plays, 0);
	/* a full queue (the media side says so): false, error=busy, the log says which queue */
	fx->play_err = -ENOBUFS;
	expect_refusal(fx, "targetid=conf/r:operation=play:file=x.wav",
	        "error=busy:reason=the room's prompt queue is full");
	expect_refusal(fx, "targetid=dumb/1:operation=play:file=x.wav",
	        "error=busy:reason=the leg's prompt queue is full");
	expect_refusal(fx, "targetid=dumb/1:operation=play:file=x.wav:others=true",
	        "error=busy:reason=the room's prompt queue is full");
	g_assert_cmpint(
	        ce_room_play(ce_room_find(fx->conf, "r"), "x.wav", NULL, false), ==, -ENOBUFS);
	fx->play_err = 0;
	/* queue=false: that queue is stopped first, then the prompt plays */
	g_assert_true(control(fx, "targetid=conf/r:operation=play:file=x.wav:queue=false", NULL));
	g_assert_true(control(fx, "targetid=dumb/2:operation=play:file=y.wav:queue=false", NULL));
	g_assert_true(control(
	        fx, "targetid=dumb/2:operation=play:file=z.wav:queue=false:others=true", NULL));
	g_assert_true(control(fx, "targetid=dumb/2:operation=play:file=w.wav:queue=true", NULL));
	expect_plays(fx, "stop room\nroom:/p/x.wav\nstop leg dumb/2\nleg dumb/2:/p/y.wav\n"
	                 "stop room\nothers dumb/2:/p/z.wav\nleg dumb/2:/p/w.wav\n");
	/* a bad request stops nothing */
	expect_refusal(fx, "targetid=conf/r:operation=play:file=tone/nosuch:queue=false",
	        "error=failure:reason=unknown tone");
	/* stopplay: the room's queue, a leg's, all but a leg's (the room's) */
	g_assert_true(control(fx, "targetid=conf/r:operation=stopplay", &ans));
	g_assert_cmpstr(ans, ==, "stopped=2");
	g_free(ans);
	g_assert_true(control(fx, "targetid=dumb/1:operation=stopplay", NULL));
	g_assert_true(control(fx, "id=dumb/2:targetid=sip/2:operation=stopplay:others=true", NULL));
	expect_plays(fx, "stop room\nstop leg dumb/1\nstop room\n");
	g_assert_cmpint(ce_room_stop_play(ce_room_find(fx->conf, "r"), NULL, false), ==, 2);
	fx_free(fx);
}

static void test_api(void)
{
	struct fx *fx = fx_new(CONF);

	g_assert_cmpint(ce_conference_play(NULL, "r", "ended.wav", NULL, false), ==, -ENODEV);
	fx_join(fx, "r", "sip/1", 1, "lonely=true");
	g_string_truncate(fx->plays, 0);
	g_assert_cmpint(ce_conference_play(fx->conf, "r", "end-5min.wav", NULL, false), ==, 0);
	g_assert_cmpint(ce_conference_play(fx->conf, "r", "/abs/x.wav", "dumb/1", false), ==, 0);
	g_assert_cmpint(ce_conference_play(fx->conf, "r", "x.wav", "sip/1", true), ==, 0);
	g_assert_cmpint(ce_conference_play(fx->conf, "r", "x.wav", "dumb/9", false), ==, -ENOENT);
	g_assert_cmpint(ce_conference_play(fx->conf, "nosuch", "x.wav", NULL, false), ==, -ENOENT);
	g_assert_cmpint(ce_conference_play(fx->conf, "r", "-", NULL, false), ==, -EINVAL);
	g_assert_cmpint(ce_conference_play(fx->conf, "r", "tone/nosuch", NULL, false), ==, -EINVAL);
	g_assert_cmpint(ce_conference_play(fx->conf, "r", "tone/ring", NULL, false), ==, 0);
	expect_plays(fx, "room:/p/end-5min.wav\nleg dumb/1:/abs/x.wav\nothers dumb/1:/p/x.wav\n"
	                 "room:tone/ring@5000\n");
	g_assert_cmpint(ce_conference_record(fx->conf, "r", "a.wav"), ==, 0);
	g_assert_cmpstr(fx->record, ==, fx_path(fx, "a.wav"));
	g_assert_cmpint(ce_conference_record(fx->conf, "r", NULL), ==, 0);
	g_assert_null(fx->record);
	g_assert_cmpint(ce_conference_record(fx->conf, "nosuch", "/tmp/a.wav"), ==, -ENOENT);
	g_assert_cmpint(ce_conference_record(NULL, "r", "/tmp/a.wav"), ==, -ENODEV);
	fx_free(fx);
}

/* The running module provides its rooms as the service "conference", and withdraws them. */
static void test_service(void)
{
	const char *const only[] = {"conference", NULL};
	struct ce_engine *ce;

	g_assert_cmpint(ce_engine_new(&ce, NULL), ==, 0);
	g_assert_null(ce_conference_service(ce));
	g_assert_cmpint(ce_engine_start(ce, only), ==, 0);
	g_assert_nonnull(ce_conference_service(ce));
	g_assert_cmpint(ce_conference_play(ce_conference_service(ce), "r", "x.wav", NULL, false),
	        ==, -ENOENT);
	ce_engine_stop(ce);
	g_assert_null(ce_conference_service(ce));
	ce_engine_free(ce);
}

static void test_names(void)
{
	struct fx *fx = fx_new(CONF);
	static const char *const cases[][2] = {
	        {"enter.wav", "/p/enter.wav"},
	        {"wave/play/enter.wav", "/p/enter.wav"},
	        {"wave/play//abs/b.au", "/abs/b.au"},
	        {"sub/dir.wav", "/p/sub/dir.wav"},
	        {"", NULL},
	        {"-", NULL},
	        {"false", NULL},
	        {"tone/ring", NULL},
	};

	for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *p = ce_conf_prompt_path(fx->conf, cases[i][0], NULL);

		g_assert_cmpstr(p, ==, cases[i][1]);
		g_free(p);
	}
	fx_free(fx);
}

#define REC_CALL                                                                                   \
	"call.execute:callto=dumb/:direct=external/nodata/rec.php:target=802:caller=tone/busy:"    \
	"billid=B1:notify=mon/r:room=r:targetid=mon/r:cdrtrack=false:"                             \
	"copyparams=room,notify,billid,username,maxlen,cdrtrack,targetid:ce_recorder=r\n"

static unsigned leg_flags(struct ce_leg *leg)
{
	return ((struct fx_leg *)leg->media)->flags;
}

/*
 * record= naming a Yate target, as in Yate's conference-server recipe
 * (record=external/nodata/conference.php recordwarn=-): a utility leg calls
 * it through Yate's dumb driver, is not counted nor notified, and with
 * recordwarn= may speak into the room; record=- or the room's end drops it.
 */
static void test_record_target(void)
{
	struct fx *fx = fx_new(CONF);
	struct ce_room *room;
	struct ce_leg *rec;
	bool handled = false;

	fx->next_dumb = 100;
	fx_join(fx, "r", "sip/1", 1,
	        "record=external/nodata/rec.php:recordwarn=-:notify=mon/r:billid=B1");
	fx_expect_sent(fx, "call.execute", REC_CALL);
	room = ce_room_find(fx->conf, "r");
	rec = ce_leg_find(fx->conf, "dumb/101");
	g_assert_nonnull(rec);
	g_assert_true(room->recorder == rec);
	g_assert_cmpint(rec->state, ==, CE_LEG_JOINED);
	g_assert_true(rec->utility && !rec->counted && rec->voice && !rec->smart && rec->echo);
	g_assert_cmpuint(leg_flags(rec), ==, CE_LEG_ECHO);
	g_assert_cmpint(room->users, ==, 1);
	g_assert_cmpstr(room->record, ==, "external/nodata/rec.php");
	g_assert_null(fx->record);                      /* not a file of ours */
	expect_plays(fx, "leg dumb/1:/p/lonely.wav\n"); /* recordwarn=-: no warning */
	/* RTP, but nobody answers a utility call; no joined event for it */
	fx_expect_sent(fx, "chan.masquerade:id=dumb/101",
	        "chan.masquerade:id=dumb/101:message=chan.rtp:media=audio:direction=bidir:"
	        "remoteip=127.0.0.1:remoteport=40000:format=mulaw:rtcp=false:"
	        "complete_minimal=true\n");
	fx_expect_sent(fx, "chan.notify",
	        "chan.notify:targetid=mon/r:event=created:room=r:rate=8000:maxusers=10:"
	        "caller=tone/busy:called=802:billid=B1:username=\n"
	        "chan.notify:id=conf/r:targetid=mon/r:counted=false:utility=true:room=r:"
	        "event=recording:maxusers=10:users=0:record=external/nodata/rec.php\n"
	        "chan.notify:id=dumb/1:targetid=mon/r:counted=true:utility=false:room=r:"
	        "event=joined:maxusers=10:users=1:caller=tone/busy:called=802:billid=B1\n");
	fx_join(fx, "r", "sip/2", 2, NULL);
	g_assert_cmpint(room->users, ==, 2);
	expect_plays(fx, "room:/p/enter.wav\n");
	/* record=-: the recorder is dropped, and nobody else */
	fx_clear(fx);
	g_free(fx_dispatch(fx, "call.conference", "room=conf/r:record=-", &handled));
	g_assert_true(handled);
	fx_expect_sent(fx, "call.drop", "call.drop:id=dumb/101:reason=hangup\n");
	g_assert_null(room->recorder);
	g_assert_null(room->record);
	g_assert_null(ce_leg_find(fx->conf, "dumb/101"));
	g_assert_cmpint(room->users, ==, 2);
	/* without recordwarn= it only listens */
	g_free(fx_dispatch(
	        fx, "call.conference", "room=conf/r:record=sip/rec@example.org", &handled));
	fx_flush(fx);
	rec = ce_leg_find(fx->conf, "dumb/102");
	g_assert_nonnull(rec);
	g_assert_false(rec->voice);
	g_assert_cmpuint(leg_flags(rec), ==, CE_LEG_ECHO | CE_LEG_NOVOICE);
	expect_plays(fx, "");
	/* the last but one user leaves: the room goes, its recorder with it */
	fx_clear(fx);
	fx_watch(fx, "chan.hangup", "id=dumb/2:module=dumb:status=hangup", false);
	fx_flush(fx);
	fx_expect_sent(fx, "call.drop",
	        "call.drop:id=dumb/1:reason=hangup\ncall.drop:id=dumb/102:reason=hangup\n");
	g_assert_null(ce_room_find(fx->conf, "r"));
	fx_free(fx);
}

/* A recorder call that fails, or that Yate places only after its room let it go. */
static void test_record_target_fails(void)
{
	struct fx *fx = fx_new(CONF);
	struct ce_room *room;
	char *ans;

	fx->next_dumb = 100;
	fx->exec_fail = true;
	fx_join(fx, "f", "sip/1", 1, "record=external/nodata/nosuch.php:lonely=true");
	room = ce_room_find(fx->conf, "f");
	g_assert_nonnull(room);
	g_assert_null(room->recorder);
	g_assert_null(room->record);
	g_assert_cmpint(room->users, ==, 1);
	/* stopped while Yate still places the call: the late dumb/N is dropped */
	fx->exec_fail = false;
	fx_clear(fx);
	g_assert_cmpint(ce_room_record(room, "external/nodata/rec.php", "-"), ==, 0);
	g_assert_nonnull(room->recorder);
	g_assert_cmpint(ce_room_record(room, NULL, NULL), ==, 0);
	g_assert_null(room->recorder);
	fx_flush(fx);
	fx_expect_sent(fx, "call.drop", "call.drop:id=dumb/101:reason=hangup\n");
	g_assert_cmpint(fx->legs, ==, 1);
	/* a caller that never gets in leaves no room behind with only a recorder */
	fx_clear(fx);
	ans = fx_dispatch(fx, "call.execute",
	        "id=sip/7:caller=7:called=900:callto=conf/q:record=external/nodata/rec.php", NULL);
	g_assert_true(g_str_has_prefix(ans, "callto=dumb/"));
	g_free(ans);
	g_assert_nonnull(ce_room_find(fx->conf, "q"));
	fx_watch(fx, "call.execute", "id=sip/7:callto=dumb/:ce_room=q:error=noconn", false);
	g_assert_null(ce_room_find(fx->conf, "q"));
	fx_flush(fx);
	fx_expect_sent(fx, "call.drop", "call.drop:id=dumb/102:reason=hangup\n");
	g_assert_cmpint(fx->legs, ==, 1);
	/* no Yate to answer: the call fails at once, and the room stays, even a new one */
	ce_bus_set_uplink(fx->bus, NULL, NULL);
	g_assert_cmpint(ce_room_record(room, "external/nodata/rec.php", NULL), ==, -EIO);
	g_assert_null(room->recorder);
	g_assert_true(ce_room_find(fx->conf, "f") == room);
	ans = fx_dispatch(fx, "call.execute",
	        "id=sip/8:caller=8:called=900:callto=conf/n:record=external/nodata/rec.php", NULL);
	g_assert_true(g_str_has_prefix(ans, "callto=dumb/"));
	g_free(ans);
	g_assert_nonnull(ce_room_find(fx->conf, "n"));
	g_assert_null(ce_room_find(fx->conf, "n")->recorder);
	ce_bus_set_uplink(fx->bus, &fx_uplink, fx);
	fx_free(fx);
}

/* A recording refused: no file, why in the log, the notify and the room; the room carries on. */
static void expect_refused(struct fx *fx, const char *record, const char *why)
{
	struct ce_room *room = ce_room_find(fx->conf, "r");
	char *line = g_strdup_printf("targetid=conf/r:operation=record:file=%s", record);
	bool handled = false;

	fx_clear(fx);
	g_test_expect_message("conference", G_LOG_LEVEL_WARNING, "*refused*");
	g_free(fx_dispatch(fx, "chan.control", line, &handled));
	g_test_assert_expected_messages();
	g_assert_false(handled);
	g_assert_null(fx->record);
	g_assert_null(room->record);
	g_assert_nonnull(strstr(room->record_error, why));
	g_assert_cmpuint(fx->sent->len, ==, 1);
	g_assert_nonnull(strstr(g_ptr_array_index(fx->sent, 0), ":error="));
	g_assert_nonnull(ce_room_find(fx->conf, "r"));
	g_free(line);
}

/*
 * record= files are confined to record_dir: "..", absolute paths outside
 * it, symbolic links (file or directory) are refused; an existing file is
 * never truncated, the next free NAME-N.EXT is used instead.
 */
static void test_record_confined(void)
{
	struct fx *fx = fx_new(CONF "record_prompt=-\n");
	char *outside = g_dir_make_tmp("ce-outside-XXXXXX", NULL);
	char *target = g_build_filename(outside, "victim.wav", NULL);
	char *abs = g_build_filename(outside, "abs.wav", NULL);
	char *sub = g_build_filename(outside, "sub.wav", NULL);
	gchar *data = NULL;

	fx_join(fx, "r", "sip/1", 1, "lonely=true:notify=mon/r");
	g_assert_true(g_file_set_contents(target, "precious", -1, NULL));
	g_assert_cmpint(symlink(target, fx_path(fx, "link.wav")), ==, 0);
	g_assert_cmpint(symlink(outside, fx_path(fx, "out")), ==, 0);
	expect_refused(fx, "../x.wav", "'..'");
	expect_refused(fx, "a/../../x.wav", "'..'");
	expect_refused(fx, abs, "outside");
	expect_refused(fx, "wave/record//etc/x.wav", "outside");
	expect_refused(fx, "link.wav", "symbolic link");
	expect_refused(fx, "out/sub.wav", "symbolic link");
	g_assert_false(g_file_test(abs, G_FILE_TEST_EXISTS));
	g_assert_false(g_file_test(sub, G_FILE_TEST_EXISTS));
	g_assert_true(g_file_get_contents(target, &data, NULL, NULL));
	g_assert_cmpstr(data, ==, "precious");
	g_free(data);
	/* an existing file is kept; NAME-1.EXT, NAME-2.EXT are created */
	g_assert_true(g_file_set_contents(fx_path(fx, "keep.wav"), "earlier", -1, NULL));
	g_assert_true(control(fx, "targetid=conf/r:operation=record:file=keep.wav", NULL));
	g_assert_cmpstr(fx->record, ==, fx_path(fx, "keep-1.wav"));
	g_assert_true(control(fx, "targetid=conf/r:operation=record:file=keep.wav", NULL));
	g_assert_cmpstr(fx->record, ==, fx_path(fx, "keep-2.wav"));
	g_assert_true(g_file_get_contents(fx_path(fx, "keep.wav"), &data, NULL, NULL));
	g_assert_cmpstr(data, ==, "earlier");
	g_free(data);
	/* directories below record_dir are created */
	g_assert_true(control(fx, "targetid=conf/r:operation=record:file=2024/r.wav", NULL));
	g_assert_cmpstr(fx->record, ==, fx_path(fx, "2024/r.wav"));
	g_assert_true(g_file_test(fx->record, G_FILE_TEST_IS_REGULAR));
	fx_free(fx);
	fx_rm(outside);
	g_free(outside);
	g_free(target);
	g_free(abs);
	g_free(sub);
}

/* A play of @file to the room is refused with a reason containing @why; nothing plays. */
static void expect_play_refused(struct fx *fx, const char *file, const char *why)
{
	char *params = g_strdup_printf("targetid=conf/r:operation=play:file=%s", file);
	char *ans = NULL;

	g_assert_false(control(fx, params, &ans));
	g_assert_nonnull(strstr(ans, "error=failure"));
	g_assert_nonnull(strstr(ans, why));
	expect_plays(fx, "");
	g_free(ans);
	g_free(params);
}

/*
 * Prompt files come from callers and scripts too, so they are confined to
 * the play roots: prompts_dir, record_dir, prompt_dirs and the folders of
 * configured prompts given by absolute paths.
 */
static void test_play_confined(void)
{
	struct fx *fx = fx_new(CONF "leave_prompt=/op/sounds/bye.wav\n");

	fx_join(fx, "r", "sip/1", 1, "lonely=true");
	g_string_truncate(fx->plays, 0);
	expect_play_refused(fx, "/etc/passwd", "outside");
	expect_play_refused(fx, "wave/play//etc/shadow", "outside");
	expect_play_refused(fx, "../../etc/passwd", "'..'");
	expect_play_refused(fx, "/p/../etc/passwd", "'..'");
	expect_play_refused(fx, "/pp/x.wav", "outside"); /* a sibling with the same prefix */
	g_assert_cmpint(ce_conference_play(fx->conf, "r", "/etc/passwd", NULL, false), ==, -EACCES);
	/* inside: prompts_dir, prompt_dirs, record_dir, a configured prompt's folder */
	g_assert_true(control(fx, "targetid=conf/r:operation=play:file=sub/x.wav", NULL));
	g_assert_true(control(fx, "targetid=conf/r:operation=play:file=/abs/y.wav", NULL));
	g_assert_true(control(fx, "targetid=conf/r:operation=play:file=/op/sounds/z.wav", NULL));
	expect_plays(fx, "room:/p/sub/x.wav\nroom:/abs/y.wav\nroom:/op/sounds/z.wav\n");
	fx_free(fx);
}

/* Which record= values are files of ours, and which are Yate targets. */
static void test_record_is_file(void)
{
	static const char *const files[] = {"wave/record//tmp/r.wav", "wave/record/r.slin",
	        "/var/rec/room", "./r", "../rec/r", "room.wav", "recordings/room.WAV",
	        "recordings/room.flac", "state/r-1.ogg", "a/b.au"};
	static const char *const targets[] = {"external/nodata/conference.php",
	        "external/record/rec.sh", "sip/sip:rec@example.org", "moh/default", "conf/other",
	        "wave/play/x.wav.d/x", "iax/rec@host/1"};

	for (unsigned i = 0; i < G_N_ELEMENTS(files); i++)
		g_assert_true(ce_record_is_file(files[i]));
	for (unsigned i = 0; i < G_N_ELEMENTS(targets); i++)
		g_assert_false(ce_record_is_file(targets[i]));
}

/*
 * The media side stops a recording on a failed write (disk full): counted,
 * warned about once, and announced as a "recording" with an empty record=,
 * the file and the reason; the room carries on and may record again.
 */
static void test_record_failed(void)
{
	struct fx *fx = fx_new(CONF "record_prompt=-\n");
	struct ce_room *room;
	struct ce_room_event ev = {.kind = CE_EVENT_RECORD_FAILED, .err = ENOSPC};
	char *line, *file;

	fx_join(fx, "r", "sip/1", 1, "lonely=true:notify=mon/r");
	room = ce_room_find(fx->conf, "r");
	g_assert_true(control(fx, "targetid=conf/r:operation=record:file=r.wav", NULL));
	file = g_strdup(fx_path(fx, "r.wav"));
	g_assert_cmpstr(room->record, ==, file);
	fx_clear(fx);
	ev.room_data = room;
	ev.file = file;
	ev.error = "cannot write: No space left on device";
	g_test_expect_message("conference", G_LOG_LEVEL_WARNING,
	        "*recording*stopped: disk full: No space left on device");
	ce_conf_media_event(&ev, NULL);
	g_test_assert_expected_messages();
	g_assert_null(room->record);
	g_assert_cmpuint(fx->conf->record_failures, ==, 1);
	line = g_strdup_printf("chan.notify:id=conf/r:targetid=mon/r:counted=false:utility=true:"
	                       "room=r:event=recording:maxusers=10:users=1:record=:file=%s:"
	                       "reason=disk full: No space left on device\n",
	        file);
	fx_expect_sent(fx, "chan.notify", line);
	g_free(line);
	/* the room carries on, and records again to a new file */
	g_assert_true(control(fx, "targetid=conf/r:operation=record:file=r.wav", NULL));
	g_assert_cmpstr(room->record, ==, fx_path(fx, "r-1.wav"));
	g_free(file);
	fx_free(fx);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/conference/prompt/join-leave", test_join_leave);
	g_test_add_func("/conference/prompt/lang", test_lang);
	g_test_add_func("/conference/prompt/disabled", test_disabled);
	g_test_add_func("/conference/prompt/say", test_say);
	g_test_add_func("/conference/prompt/control", test_control);
	g_test_add_func("/conference/prompt/tones", test_tones);
	g_test_add_func("/conference/prompt/queue-control", test_queue_control);
	g_test_add_func("/conference/prompt/api", test_api);
	g_test_add_func("/conference/prompt/service", test_service);
	g_test_add_func("/conference/prompt/names", test_names);
	g_test_add_func("/conference/prompt/play-confined", test_play_confined);
	g_test_add_func("/conference/prompt/record-target", test_record_target);
	g_test_add_func("/conference/prompt/record-target-fails", test_record_target_fails);
	g_test_add_func("/conference/prompt/record-is-file", test_record_is_file);
	g_test_add_func("/conference/prompt/record-confined", test_record_confined);
	g_test_add_func("/conference/prompt/record-failed", test_record_failed);
	return g_test_run();
}
