/* test-room-prompt.c - prompts and recording on the signalling side: enter/leave/lonely prompts,
 * chan.control play/record/stoprecord, the conference.h API, prompt names */
#include <errno.h>

#include "conf-fixture.h"
#include "modules/conference/conference.h"

#define CONF "[conference]\nprompts_dir=/p\n"

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

static void test_control(void)
{
	struct fx *fx = fx_new(CONF);
	bool handled = false;

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
	        "targetid=dumb/1:operation=play:file=wave/play//tmp/a.au:others=true", &handled));
	g_assert_true(handled);
	g_free(fx_dispatch(fx, "chan.control", "id=dumb/2:targetid=sip/2:operation=play:file=b.wav",
	        &handled));
	g_assert_true(handled);
	expect_plays(fx, "others dumb/1:/tmp/a.au\nleg dumb/2:/p/b.wav\n");
	/* nothing to play: not handled, nothing happens */
	g_free(fx_dispatch(fx, "chan.control", "targetid=conf/r:operation=play", &handled));
	g_assert_false(handled);
	expect_plays(fx, "");
	/* recording: the warning, the file, Yate's notification */
	fx_clear(fx);
	g_free(fx_dispatch(
	        fx, "chan.control", "targetid=conf/r:operation=record:file=/tmp/r.flac", &handled));
	g_assert_true(handled);
	g_assert_cmpstr(fx->record, ==, "/tmp/r.flac");
	expect_plays(fx, "room:/p/recording.wav\n");
	fx_expect_sent(fx, "chan.notify",
	        "chan.notify:id=conf/r:targetid=mon/r:counted=false:utility=true:room=r:"
	        "event=recording:maxusers=10:users=2:record=/tmp/r.flac\n");
	g_free(fx_dispatch(fx, "chan.control",
	        "targetid=dumb/2:operation=record:file=wave/record//tmp/s.wav:recordwarn=w.wav",
	        &handled));
	g_assert_true(handled);
	g_assert_cmpstr(fx->record, ==, "/tmp/s.wav");
	expect_plays(fx, "room:/p/w.wav\n");
	g_free(fx_dispatch(fx, "chan.control", "targetid=conf/r:operation=stoprecord", &handled));
	g_assert_true(handled);
	g_assert_null(fx->record);
	g_assert_null(ce_room_find(fx->conf, "r")->record);
	fx_free(fx);
}

static void test_api(void)
{
	struct fx *fx = fx_new(CONF);

	g_assert_cmpint(ce_conference_play("r", "ended.wav", NULL, false), ==, -ENODEV);
	ce_conference_api_set(fx->conf);
	fx_join(fx, "r", "sip/1", 1, "lonely=true");
	g_string_truncate(fx->plays, 0);
	g_assert_cmpint(ce_conference_play("r", "end-5min.wav", NULL, false), ==, 0);
	g_assert_cmpint(ce_conference_play("r", "/abs/x.wav", "dumb/1", false), ==, 0);
	g_assert_cmpint(ce_conference_play("r", "x.wav", "sip/1", true), ==, 0);
	g_assert_cmpint(ce_conference_play("r", "x.wav", "dumb/9", false), ==, -ENOENT);
	g_assert_cmpint(ce_conference_play("nosuch", "x.wav", NULL, false), ==, -ENOENT);
	g_assert_cmpint(ce_conference_play("r", "-", NULL, false), ==, -EINVAL);
	expect_plays(fx, "room:/p/end-5min.wav\nleg dumb/1:/abs/x.wav\nothers dumb/1:/p/x.wav\n");
	g_assert_cmpint(ce_conference_record("r", "/tmp/a.wav"), ==, 0);
	g_assert_cmpstr(fx->record, ==, "/tmp/a.wav");
	g_assert_cmpint(ce_conference_record("r", NULL), ==, 0);
	g_assert_null(fx->record);
	g_assert_cmpint(ce_conference_record("nosuch", "/tmp/a.wav"), ==, -ENOENT);
	ce_conference_api_set(NULL);
	fx_free(fx);
}

static void test_names(void)
{
	struct fx *fx = fx_new(CONF);
	static const char *const cases[][2] = {
	        {"enter.wav", "/p/enter.wav"},
	        {"wave/play/enter.wav", "/p/enter.wav"},
	        {"wave/play//abs/b.au", "/abs/b.au"},
	        {"sub/dir.wav", "sub/dir.wav"},
	        {"", NULL},
	        {"-", NULL},
	        {"false", NULL},
	        {"tone/ring", NULL},
	};

	for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *p = ce_conf_prompt_path(fx->conf, cases[i][0]);

		g_assert_cmpstr(p, ==, cases[i][1]);
		g_free(p);
	}
	fx_free(fx);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/conference/prompt/join-leave", test_join_leave);
	g_test_add_func("/conference/prompt/disabled", test_disabled);
	g_test_add_func("/conference/prompt/control", test_control);
	g_test_add_func("/conference/prompt/api", test_api);
	g_test_add_func("/conference/prompt/names", test_names);
	return g_test_run();
}
