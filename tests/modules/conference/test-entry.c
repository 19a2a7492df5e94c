/* test-entry.c - what a room does as people come and go (entry.c): announce_count,
 * announce_join, moh, wait_moderator, end_with_moderator, muted_on_entry */
#include "conf-fixture.h"
#include "modules/conference/params.h"

#define CONF "[conference]\nprompts_dir=/p\nprompt_dirs=/snd\n"
#define MOD  "participant_role=moderator"
#define PART "participant_role=participant"

static void expect_plays(struct fx *fx, const char *expect)
{
	g_assert_cmpstr(fx->plays->str, ==, expect);
	g_string_truncate(fx->plays, 0);
}

static void hangup(struct fx *fx, const char *dumb)
{
	char *p = g_strdup_printf("id=%s:module=dumb:status=answered", dumb);

	fx_watch(fx, "chan.hangup", p, false);
	fx_flush(fx);
	g_free(p);
}

static unsigned flags_of(struct fx *fx, const char *dumb)
{
	struct ce_leg *leg = ce_leg_find(fx->conf, dumb);

	g_assert_nonnull(leg);
	return ((struct fx_leg *)leg->media)->flags;
}

/* Whether a sent line contains @what. */
static bool sent_has(struct fx *fx, const char *what)
{
	for (unsigned i = 0; i < fx->sent->len; i++)
		if (strstr(g_ptr_array_index(fx->sent, i), what))
			return true;
	return false;
}

/* The new parameters are read with the others; [conference] moh is the default music. */
static void test_params(void)
{
	struct fx *fx = fx_new(CONF "moh=/snd/default.wav\n");
	struct ce_join_params p;
	struct ce_msg *m = fx_msg("call.execute",
	        "announce_count=true:announce_join=yes:wait_moderator=on:end_with_moderator=enable:"
	        "muted_on_entry=true:name_prompt=/snd/ann.wav");
	GString *notes = g_string_new(NULL);

	ce_join_params_parse(&p, m, &fx->conf->set, notes);
	g_assert_true(p.announce_count && p.announce_join && p.wait_moderator);
	g_assert_true(p.end_with_moderator && p.muted_on_entry);
	g_assert_cmpstr(p.name_prompt, ==, "/snd/ann.wav");
	g_assert_cmpstr(p.moh, ==, "/snd/default.wav");
	g_assert_cmpstr(notes->str, ==, "");
	ce_join_params_clear(&p);
	ce_msg_unref(m);
	/* moh= (empty) is silence even with a default; a bad boolean is told */
	m = fx_msg("call.execute", "moh=:announce_count=maybe");
	ce_join_params_parse(&p, m, &fx->conf->set, notes);
	g_assert_null(p.moh);
	g_assert_false(p.announce_count || p.wait_moderator || p.muted_on_entry);
	g_assert_null(p.name_prompt);
	g_assert_cmpstr(notes->str, ==,
	        "announce_count=maybe is not a boolean (true or false), false applies");
	ce_join_params_clear(&p);
	ce_msg_unref(m);
	g_string_free(notes, TRUE);
	fx_free(fx);
}

/* announce_count: the first hears "first", the next ones how many the others are. */
static void test_count(void)
{
	struct fx *fx = fx_new(CONF);

	fx_join(fx, "r", "sip/1", 1, "lonely=true:announce_count=true");
	expect_plays(fx, "leg dumb/1:/p/first.wav\n");
	fx_join(fx, "r", "sip/2", 2, NULL);
	expect_plays(fx, "leg dumb/2:/p/there-is.wav\nleg dumb/2:/p/1.wav\n"
	                 "leg dumb/2:/p/participant.wav\nroom:/p/enter.wav\n");
	/* a utility leg is neither counted nor greeted */
	fx_join(fx, "r", "sip/u", 3, "utility=true:counted=false");
	expect_plays(fx, "");
	fx_join(fx, "r", "sip/4", 4, NULL);
	expect_plays(fx, "leg dumb/4:/p/there-are.wav\nleg dumb/4:/p/2.wav\n"
	                 "leg dumb/4:/p/participants.wav\nroom:/p/enter.wav\n");
	fx_free(fx);
}

/* announce_join: the others hear the recorded name and has-joined; all hear has-left. */
static void test_join_names(void)
{
	struct fx *fx = fx_new(CONF);

	fx_join(fx, "r", "sip/1", 1, "lonely=true:announce_join=true");
	expect_plays(fx, "leg dumb/1:/p/lonely.wav\n");
	fx_join(fx, "r", "sip/2", 2, "name_prompt=/snd/bob.wav");
	expect_plays(fx, "others dumb/2:/snd/bob.wav\nothers dumb/2:/p/has-joined.wav\n");
	fx_join(fx, "r", "sip/3", 3, NULL);
	expect_plays(fx, "others dumb/3:/p/has-joined.wav\n");
	hangup(fx, "dumb/2");
	expect_plays(fx, "room:/snd/bob.wav\nroom:/p/has-left.wav\n");
	fx_free(fx);
}

/* moh: looped to whoever is alone, stopped as soon as someone joins, again when alone. */
static void test_moh(void)
{
	struct fx *fx = fx_new(CONF "moh=/snd/default.wav\n");

	fx_join(fx, "r", "sip/1", 1, "lonely=true:moh=/snd/m.wav");
	expect_plays(fx, "leg dumb/1:/p/lonely.wav\nleg dumb/1:/snd/m.wav (loop)\n");
	fx_join(fx, "r", "sip/2", 2, NULL);
	expect_plays(fx, "room:/p/enter.wav\nstop leg dumb/1\n");
	fx_join(fx, "r", "sip/3", 3, NULL);
	expect_plays(fx, "room:/p/enter.wav\n");
	hangup(fx, "dumb/3");
	expect_plays(fx, "room:/p/leave.wav\n");
	hangup(fx, "dumb/1");
	expect_plays(fx, "room:/p/leave.wav\nleg dumb/2:/snd/m.wav (loop)\n");
	/* the [conference] default, and moh= for none */
	fx_join(fx, "s", "sip/4", 4, "lonely=true");
	expect_plays(fx, "leg dumb/4:/p/lonely.wav\nleg dumb/4:/snd/default.wav (loop)\n");
	fx_join(fx, "q", "sip/5", 5, "lonely=true:moh=");
	expect_plays(fx, "leg dumb/5:/p/lonely.wav\n");
	fx_free(fx);
}

/*
 * wait_moderator: participants are held (mute and deaf in the media, no
 * mute event), told to wait, then music; the moderator releases them all
 * at once, with nothing special to hear.
 */
static void test_wait_moderator(void)
{
	struct fx *fx = fx_new(CONF);
	const char *opts = "lonely=true:notify=mon/r:wait_moderator=true:moh=/snd/m.wav:" PART;

	fx_join(fx, "r", "sip/1", 1, opts);
	fx_join(fx, "r", "sip/2", 2, PART);
	expect_plays(fx, "leg dumb/1:/p/wait-moderator.wav\nleg dumb/1:/snd/m.wav (loop)\n"
	                 "leg dumb/2:/p/wait-moderator.wav\nleg dumb/2:/snd/m.wav (loop)\n");
	g_assert_cmpuint(flags_of(fx, "dumb/1"), ==, CE_LEG_MUTE | CE_LEG_DEAF | CE_LEG_SMART);
	g_assert_cmpuint(flags_of(fx, "dumb/2"), ==, CE_LEG_MUTE | CE_LEG_DEAF | CE_LEG_SMART);
	g_assert_false(ce_leg_find(fx->conf, "dumb/1")->muted);
	g_assert_false(sent_has(fx, "event=mute"));
	/* one held leaves: the other stays held, with its music */
	fx_join(fx, "r", "sip/3", 3, PART);
	g_string_truncate(fx->plays, 0);
	hangup(fx, "dumb/3");
	expect_plays(fx, "room:/p/leave.wav\n");
	g_assert_cmpuint(flags_of(fx, "dumb/1"), ==, CE_LEG_MUTE | CE_LEG_DEAF | CE_LEG_SMART);
	fx_join(fx, "r", "sip/4", 4, MOD);
	expect_plays(fx, "stop leg dumb/1\nstop leg dumb/2\nroom:/p/enter.wav\n");
	g_assert_cmpuint(flags_of(fx, "dumb/1"), ==, CE_LEG_SMART);
	g_assert_cmpuint(flags_of(fx, "dumb/2"), ==, CE_LEG_SMART);
	g_assert_cmpuint(flags_of(fx, "dumb/4"), ==, CE_LEG_SMART);
	g_assert_false(sent_has(fx, "event=mute"));
	g_assert_false(sent_has(fx, "event=unmute"));
	/* later participants come straight in */
	fx_join(fx, "r", "sip/5", 5, PART);
	expect_plays(fx, "room:/p/enter.wav\n");
	g_assert_cmpuint(flags_of(fx, "dumb/5"), ==, CE_LEG_SMART);
	fx_free(fx);
}

/* end_with_moderator: the last moderator's leaving drops everyone, reason moderator-left. */
static void test_end_with_moderator(void)
{
	struct fx *fx = fx_new(CONF);
	char *sent;

	fx_join(fx, "r", "sip/1", 1, "lonely=true:notify=mon/r:end_with_moderator=true:" MOD);
	fx_join(fx, "r", "sip/2", 2, MOD);
	fx_join(fx, "r", "sip/3", 3, PART);
	fx_join(fx, "r", "sip/4", 4, PART);
	fx_clear(fx);
	/* another moderator stays: the room goes on */
	hangup(fx, "dumb/1");
	fx_expect_sent(fx, "call.drop", "");
	g_assert_nonnull(ce_room_find(fx->conf, "r"));
	/* a participant leaving changes nothing either */
	hangup(fx, "dumb/3");
	fx_expect_sent(fx, "call.drop", "");
	fx_clear(fx);
	hangup(fx, "dumb/2");
	fx_expect_sent(fx, "call.drop", "call.drop:id=dumb/4:reason=moderator-left\n");
	fx_expect_sent(fx, "chan.notify:id=dumb/4",
	        "chan.notify:id=dumb/4:targetid=mon/r:counted=true:utility=false:room=r:"
	        "event=left:maxusers=10:users=0:lonely=false:lastpeerid=sip/"
	        "4:reason=moderator-left\n");
	/* the moderator's own leave carries no such reason */
	sent = fx_sent(fx, "chan.notify:id=dumb/2");
	g_assert_nonnull(strstr(sent, "event=left"));
	g_assert_null(strstr(sent, "reason="));
	g_free(sent);
	g_assert_null(ce_room_find(fx->conf, "r"));
	/* without the option, the moderator's leaving ends nothing */
	fx_join(fx, "s", "sip/5", 5, "lonely=true:" MOD);
	fx_join(fx, "s", "sip/6", 6, PART);
	fx_clear(fx);
	hangup(fx, "dumb/5");
	fx_expect_sent(fx, "call.drop", "");
	g_assert_nonnull(ce_room_find(fx->conf, "s"));
	fx_free(fx);
}

/* muted_on_entry: participants start muted (with the usual mute event), moderators do not. */
static void test_muted_on_entry(void)
{
	struct fx *fx = fx_new(CONF);
	char *sent;

	fx_join(fx, "r", "sip/1", 1, "lonely=true:notify=mon/r:muted_on_entry=true:" MOD);
	g_assert_false(ce_leg_find(fx->conf, "dumb/1")->muted);
	fx_clear(fx);
	fx_join(fx, "r", "sip/2", 2, "notify=mon/r:muted_on_entry=true:" PART);
	g_assert_true(ce_leg_find(fx->conf, "dumb/2")->muted);
	g_assert_cmpuint(flags_of(fx, "dumb/2"), ==, CE_LEG_MUTE | CE_LEG_SMART);
	sent = fx_sent(fx, "chan.notify");
	/* joined first, then muted */
	g_assert_nonnull(strstr(sent, "event=joined"));
	g_assert_nonnull(strstr(strstr(sent, "event=joined"), "event=mute"));
	g_free(sent);
	/* the request of each leg decides: one without it is not muted */
	fx_join(fx, "r", "sip/3", 3, PART);
	g_assert_false(ce_leg_find(fx->conf, "dumb/3")->muted);
	fx_free(fx);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/conference/entry/params", test_params);
	g_test_add_func("/conference/entry/count", test_count);
	g_test_add_func("/conference/entry/join-names", test_join_names);
	g_test_add_func("/conference/entry/moh", test_moh);
	g_test_add_func("/conference/entry/wait-moderator", test_wait_moderator);
	g_test_add_func("/conference/entry/end-with-moderator", test_end_with_moderator);
	g_test_add_func("/conference/entry/muted-on-entry", test_muted_on_entry);
	return g_test_run();
}
