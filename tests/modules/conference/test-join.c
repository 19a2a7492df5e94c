/* test-join.c - joining Yate calls to conf/ rooms through the bus, exactly as in transcripts 1 and
 * 2
 *
 * Over 700 lines: one case per transcript and per way a call reaches a
 * room, on one fixture; they read best side by side.
 */
#include <errno.h>

#include "conf-fixture.h"

#define YROOM "notify=conf-monitor/yroom:speakers=true:lonely=true:maxusers=5"

/* Transcript 1: callto=conf/room1 from tone/3, dumb/3, RTP, answered, caller hangs up. */
static void test_transcript1(void)
{
	struct fx *fx = fx_new(NULL);
	bool handled = true;
	char *ans = fx_dispatch(fx, "call.execute",
	        "module=tone:cdrtrack=false:called=800:caller=tone/dial:"
	        "handlers=regexroute%z100,yrtp%z50:callto=conf/room1:id=tone/3",
	        &handled);
	struct ce_leg *leg;

	g_assert_false(handled);
	g_assert_cmpstr(ans, ==, "callto=dumb/:ce_room=room1:room=conf/room1:newroom=true:users=1");
	g_free(ans);
	g_assert_cmpuint(fx->sent->len, ==, 0);
	fx_watch(fx, "call.execute",
	        "module=tone:cdrtrack=false:called=800:caller=tone/dial:"
	        "handlers=regexroute%z100,yrtp%z50,tone%z90,dumb%z90:callto=dumb/:id=tone/3:"
	        "ce_room=room1:peerid=dumb/3:targetid=dumb/3:autoring=true",
	        true);
	fx_expect_sent(fx, "",
	        "chan.masquerade:id=dumb/3:message=chan.rtp:media=audio:direction=bidir:"
	        "remoteip=127.0.0.1:remoteport=40000:format=mulaw:rtcp=false:complete_minimal="
	        "true\n");
	fx_flush_one(fx);
	fx_expect_sent(fx, "",
	        "chan.masquerade:id=dumb/3:message=chan.rtp:media=audio:direction=bidir:"
	        "remoteip=127.0.0.1:remoteport=40000:format=mulaw:rtcp=false:complete_minimal="
	        "true\n"
	        "chan.masquerade:id=dumb/3:message=call.answered\n");
	leg = ce_leg_find(fx->conf, "dumb/3");
	g_assert_nonnull(leg);
	g_assert_cmpint(leg->state, ==, CE_LEG_RTP);
	g_assert_true(((struct fx_leg *)leg->media)->started);
	g_assert_cmpstr(((struct fx_leg *)leg->media)->ip, ==, "127.0.0.1");
	g_assert_cmpuint(((struct fx_leg *)leg->media)->port, ==, 23614);
	g_assert_cmpint(((struct fx_leg *)leg->media)->codec, ==, CE_CODEC_PCMU);
	fx_flush(fx);
	g_assert_cmpint(leg->state, ==, CE_LEG_JOINED);
	g_assert_cmpint(ce_room_find(fx->conf, "room1")->users, ==, 1);
	fx_clear(fx);
	fx_watch(fx, "chan.disconnected",
	        "id=dumb/3:module=dumb:status=answered:targetid=tone/3:billid=1795326661-3:"
	        "lastpeerid=tone/3:answered=false:direction=outgoing",
	        false);
	g_assert_null(ce_leg_find(fx->conf, "dumb/3"));
	fx_watch(fx, "chan.hangup",
	        "id=dumb/3:module=dumb:status=answered:billid=1795326661-3:lastpeerid=tone/3",
	        false);
	g_assert_null(ce_room_find(fx->conf, "room1"));
	g_assert_cmpint(fx->legs, ==, 0);
	g_assert_cmpint(fx->rooms, ==, 0);
	g_assert_cmpuint(fx->sent->len, ==, 0); /* no notify target, and Yate hangs up dumb/3 */
	fx_free(fx);
}

/* Transcript 1, yroom part: created, joined x2, left x2 (lonely), destroyed. */
static void test_yroom_notifications(void)
{
	struct fx *fx = fx_new(NULL);
	struct ce_leg *a = fx_join(fx, "yroom", "tone/4", 1, YROOM);
	struct ce_leg *b = fx_join(fx, "yroom", "tone/5", 2, YROOM);

	g_assert_nonnull(a);
	g_assert_nonnull(b);
	fx_watch(fx, "chan.hangup", "id=dumb/1:module=dumb:status=answered", false);
	fx_flush(fx);
	fx_watch(fx, "chan.hangup", "id=dumb/2:module=dumb:status=answered", false);
	fx_flush(fx);
	fx_expect_sent(fx, "chan.notify",
	        "chan.notify:targetid=conf-monitor/"
	        "yroom:event=created:room=yroom:rate=8000:maxusers=5:"
	        "caller=tone/busy:called=802:billid=:username=\n"
	        "chan.notify:id=dumb/1:targetid=conf-monitor/yroom:counted=true:utility=false:"
	        "room=yroom:event=joined:maxusers=5:users=1:caller=tone/busy:called=802\n"
	        "chan.notify:id=dumb/2:targetid=conf-monitor/yroom:counted=true:utility=false:"
	        "room=yroom:event=joined:maxusers=5:users=2:caller=tone/busy:called=802\n"
	        "chan.notify:id=dumb/1:targetid=conf-monitor/yroom:counted=true:utility=false:"
	        "room=yroom:event=left:maxusers=5:users=1:lonely=true:lastpeerid=tone/4\n"
	        "chan.notify:id=dumb/2:targetid=conf-monitor/yroom:counted=true:utility=false:"
	        "room=yroom:event=left:maxusers=5:users=0:lonely=false:lastpeerid=tone/5\n"
	        "chan.notify:targetid=conf-monitor/yroom:event=destroyed:room=yroom:maxusers=5\n");
	fx_expect_sent(fx, "call.drop", "");
	fx_free(fx);
}

static void expect_refusal(struct fx *fx, const char *params, const char *answer)
{
	bool handled = true;
	char *ans = fx_dispatch(fx, "call.execute", params, &handled);

	g_assert_false(handled);
	g_assert_cmpstr(ans, ==, answer);
	g_free(ans);
}

static void test_maxusers(void)
{
	struct fx *fx = fx_new(NULL);

	g_assert_nonnull(fx_join(fx, "small", "sip/1", 1, "maxusers=2"));
	/* a leg still on its way in counts too */
	g_free(fx_dispatch(fx, "call.execute", "callto=conf/small:id=sip/2", NULL));
	expect_refusal(fx, "callto=conf/small:id=sip/3",
	        "callto=-:error=busy:reason=Conference room is full");
	/* utility legs are not counted */
	g_free(fx_dispatch(fx, "call.execute", "callto=conf/small:id=sip/4:utility=true", NULL));
	g_assert_cmpuint(ce_room_find(fx->conf, "small")->pending->len, ==, 2);
	fx_free(fx);
}

static void test_maxusers_default(void)
{
	struct fx *fx = fx_new(NULL);
	char id[16];

	for (unsigned i = 1; i <= CE_ROOM_DEF_MAXUSERS; i++) {
		g_snprintf(id, sizeof(id), "sip/%u", i);
		g_assert_nonnull(fx_join(fx, "big", id, i, NULL));
	}
	expect_refusal(fx, "callto=conf/big:id=sip/99",
	        "callto=-:error=busy:reason=Conference room is full");
	g_assert_cmpint(ce_room_find(fx->conf, "big")->maxusers, ==, 10);
	fx_free(fx);
}

/*
 * rate=: Yate's range (8000..48000) is what the room reports, in "created"
 * and in conf show; the media runs what it can (ce_media_rate_ok: 8000,
 * 16000 and 48000; 16000 between 16000 and 48000, 8000 under 16000), decided when the room is made,
 * not by the media glue; the call joins (docs/conference.md, "Sample rate").
 */
static void test_rate(void)
{
	struct fx *fx = fx_new(NULL);
	struct ce_leg *leg = fx_join(fx, "wide", "sip/1", 1, "rate=16000:notify=mon");

	g_assert_nonnull(leg);
	g_assert_cmpint(leg->state, ==, CE_LEG_JOINED);
	g_assert_cmpuint(ce_room_find(fx->conf, "wide")->rate, ==, 16000);
	g_assert_cmpuint(fx->rate, ==, 16000);
	g_assert_true(ce_room_wideband(ce_room_find(fx->conf, "wide")));
	fx_expect_sent(fx, "chan.notify:targetid=mon:event=created",
	        "chan.notify:targetid=mon:event=created:room=wide:rate=16000:maxusers=10:"
	        "caller=tone/busy:called=802:billid=:username=\n");
	g_assert_nonnull(fx_join(fx, "narrow", "sip/2", 2, "rate=8000"));
	g_assert_cmpuint(fx->rate, ==, 8000);
	g_assert_false(ce_room_wideband(ce_room_find(fx->conf, "narrow")));
	/* over Yate's range: 48000, which the media mixes at (fullband) */
	g_assert_nonnull(fx_join(fx, "huge", "sip/3", 3, "rate=96000"));
	g_assert_cmpuint(ce_room_find(fx->conf, "huge")->rate, ==, 48000);
	g_assert_cmpuint(fx->rate, ==, 48000);
	g_assert_true(ce_room_wideband(ce_room_find(fx->conf, "huge")));
	g_assert_cmpuint(ce_room_mix_rate(ce_room_find(fx->conf, "huge")), ==, 48000);
	/* 32000 and 44100: wideband, fullband is had by asking 48000 */
	g_assert_nonnull(fx_join(fx, "cd", "sip/5", 5, "rate=44100"));
	g_assert_cmpuint(ce_room_find(fx->conf, "cd")->rate, ==, 44100);
	g_assert_cmpuint(fx->rate, ==, 16000);
	g_assert_cmpuint(ce_room_mix_rate(ce_room_find(fx->conf, "cd")), ==, 16000);
	g_assert_nonnull(fx_join(fx, "odd", "sip/4", 4, "rate=11025"));
	g_assert_cmpuint(fx->rate, ==, 8000);
	fx_free(fx);
}

static void test_existing(void)
{
	struct fx *fx = fx_new(NULL);

	expect_refusal(fx, "callto=conf/none:id=sip/1:existing=true",
	        "callto=-:error=noroute:reason=No such conference room");
	g_assert_null(ce_room_find(fx->conf, "none"));
	g_assert_nonnull(fx_join(fx, "some", "sip/2", 1, NULL));
	g_assert_nonnull(fx_join(fx, "some", "sip/3", 2, "existing=true"));
	fx_free(fx);
}

static void test_empty_name(void)
{
	struct fx *fx = fx_new(NULL);
	char *ans = fx_dispatch(fx, "call.execute", "callto=conf/:id=sip/1", NULL);

	g_assert_cmpstr(ans, ==, "callto=dumb/:ce_room=x-1:room=conf/x-1:newroom=true:users=1");
	g_free(ans);
	ans = fx_dispatch(fx, "call.execute", "callto=conf/:id=sip/2", NULL);
	g_assert_cmpstr(ans, ==, "callto=dumb/:ce_room=x-2:room=conf/x-2:newroom=true:users=1");
	g_free(ans);
	fx_free(fx);
}

static void test_no_endpoint(void)
{
	struct fx *fx = fx_new(NULL);

	expect_refusal(fx, "callto=conf/r", "callto=-:error=failure:reason=No call endpoint");
	g_assert_null(ce_room_find(fx->conf, "r"));
	fx_free(fx);
}

static void test_lonely_false(void)
{
	struct fx *fx = fx_new(NULL);

	fx_join(fx, "r", "sip/1", 1, NULL);
	fx_join(fx, "r", "sip/2", 2, NULL);
	fx_clear(fx);
	fx_watch(fx, "chan.hangup", "id=dumb/1", false);
	/* the one left alone is dropped, and the room goes */
	fx_expect_sent(fx, "call.drop", "call.drop:id=dumb/2:reason=hangup\n");
	g_assert_null(ce_room_find(fx->conf, "r"));
	fx_free(fx);
}

static void test_lonely_true(void)
{
	struct fx *fx = fx_new(NULL);

	fx_join(fx, "r", "sip/1", 1, "lonely=true");
	fx_join(fx, "r", "sip/2", 2, NULL);
	fx_clear(fx);
	fx_watch(fx, "chan.hangup", "id=dumb/1", false);
	fx->now += (gint64)3600 * G_USEC_PER_SEC;
	ce_conf_tick(fx->conf);
	fx_expect_sent(fx, "call.drop", "");
	g_assert_cmpint(ce_room_find(fx->conf, "r")->users, ==, 1);
	fx_free(fx);
}

static void test_lonely_timeout(void)
{
	struct fx *fx = fx_new(NULL);

	fx_join(fx, "r", "sip/1", 1, "lonely=2000");
	fx_join(fx, "r", "sip/2", 2, NULL);
	fx_clear(fx);
	fx_watch(fx, "chan.hangup", "id=dumb/1", false);
	fx->now += 1900 * 1000;
	ce_conf_tick(fx->conf);
	fx_expect_sent(fx, "call.drop", "");
	fx->now += 200 * 1000;
	ce_conf_tick(fx->conf);
	fx_expect_sent(fx, "call.drop", "call.drop:id=dumb/2:reason=timeout\n");
	g_assert_null(ce_room_find(fx->conf, "r"));
	fx_free(fx);
}

static void test_lonely_timeout_min(void)
{
	struct fx *fx = fx_new(NULL);

	/* under a second is raised to one second, as in Yate */
	fx_join(fx, "r", "sip/1", 1, "lonely=10");
	fx->now += 900 * 1000;
	ce_conf_tick(fx->conf);
	g_assert_nonnull(ce_room_find(fx->conf, "r"));
	fx->now += 200 * 1000;
	ce_conf_tick(fx->conf);
	g_assert_null(ce_room_find(fx->conf, "r"));
	fx_free(fx);
}

static void test_hangup_and_rtp_timeout(void)
{
	struct fx *fx = fx_new(NULL);
	struct ce_room_event ev = {.kind = CE_EVENT_RTP_TIMEOUT};
	struct ce_leg *b;

	fx_join(fx, "r", "sip/1", 1, "lonely=true");
	b = fx_join(fx, "r", "sip/2", 2, NULL);
	g_assert_cmpint(fx->legs, ==, 2);
	fx_watch(fx, "chan.hangup", "id=dumb/1:reason=bye", false);
	g_assert_cmpint(fx->legs, ==, 1);
	fx_clear(fx);
	ev.room_data = b->room;
	ev.leg_data = b;
	ce_conf_media_event(&ev, fx->conf);
	fx_expect_sent(fx, "call.drop", "call.drop:id=dumb/2:reason=nomedia\n");
	g_assert_cmpint(fx->legs, ==, 0);
	g_assert_cmpint(fx->rooms, ==, 0);
	fx_free(fx);
}

static void test_call_drop(void)
{
	struct fx *fx = fx_new(NULL);
	bool handled = true;
	char *ans;

	fx_join(fx, "r", "sip/1", 1, "lonely=true");
	fx_join(fx, "r", "sip/2", 2, NULL);
	fx_join(fx, "r", "sip/3", 3, NULL);
	/* a controller drops one leg: Yate's dumb driver does it, we see the hangup */
	ans = fx_dispatch(fx, "call.drop", "id=dumb/1:reason=kicked", &handled);
	g_assert_false(handled);
	g_free(ans);
	fx_watch(fx, "chan.hangup", "id=dumb/1:status=kicked", false);
	g_assert_cmpint(ce_room_find(fx->conf, "r")->users, ==, 2);
	/* the whole room */
	fx_clear(fx);
	ans = fx_dispatch(fx, "call.drop", "id=conf/r:reason=over", &handled);
	g_assert_true(handled);
	g_free(ans);
	fx_expect_sent(fx, "call.drop",
	        "call.drop:id=dumb/2:reason=over\ncall.drop:id=dumb/3:reason=over\n");
	g_assert_null(ce_room_find(fx->conf, "r"));
	fx_free(fx);
}

/* The classic scripts: chan.masquerade id=CHAN message=call.execute callto=conf/... */
static void test_masquerade_execute(void)
{
	struct fx *fx = fx_new(NULL);
	const char *p =
	        "id=sip/5:module=sip:status=answered:address=10.0.0.2%z5060:"
	        "billid=1795326661-9:peerid=ivr/2:lastpeerid=ivr/2:answered=true:"
	        "direction=incoming:callto=conf/cs-42:notify=conf-monitor/cs-42:billing=false:"
	        "lonely=true:maxusers=20:smart=true";
	char *ans = fx_dispatch(fx, "call.execute", p, NULL);
	struct ce_msg *w = fx_msg("call.execute", p);
	struct ce_leg *leg;

	g_assert_cmpstr(ans, ==, "callto=dumb/:ce_room=cs-42:room=conf/cs-42:newroom=true:users=1");
	g_free(ans);
	ce_msg_set(w, "callto", "dumb/");
	ce_msg_set(w, "ce_room", "cs-42");
	ce_msg_set(w, "peerid", "dumb/7");
	ce_bus_notify_uplink(fx->bus, w, true);
	ce_msg_unref(w);
	fx_flush(fx);
	leg = ce_leg_find(fx->conf, "dumb/7");
	g_assert_nonnull(leg);
	g_assert_cmpint(leg->state, ==, CE_LEG_JOINED);
	g_assert_cmpstr(leg->peer, ==, "sip/5");
	g_assert_null(ce_leg_find(fx->conf, "ivr/2"));
	g_assert_cmpint(ce_room_find(fx->conf, "cs-42")->maxusers, ==, 20);
	fx_free(fx);
}

/* Yate's dumb driver did not take the call: no leg, no room, nothing hangs. */
static void test_execute_failed(void)
{
	struct fx *fx = fx_new(NULL);

	g_free(fx_dispatch(fx, "call.execute", "callto=conf/r:id=sip/1", NULL));
	fx_watch(fx, "call.execute", "callto=dumb/:id=sip/1:ce_room=r:error=busy", false);
	g_assert_null(ce_room_find(fx->conf, "r"));
	g_assert_cmpuint(fx->conf->all->len, ==, 0);
	fx_free(fx);
}

/* dumb/N shows up for an offer that is gone: Yate must not keep it. */
static void test_orphan_dumb(void)
{
	struct fx *fx = fx_new(NULL);

	fx_watch(fx, "call.execute", "callto=dumb/:id=sip/1:ce_room=r:peerid=dumb/9", true);
	fx_expect_sent(fx, "", "call.drop:id=dumb/9:reason=failure\n");
	fx_free(fx);
}

static void test_offer_timeout(void)
{
	struct fx *fx = fx_new(NULL);

	g_free(fx_dispatch(fx, "call.execute", "callto=conf/r:id=sip/1", NULL));
	fx->now += 4 * G_USEC_PER_SEC;
	ce_conf_tick(fx->conf);
	g_assert_nonnull(ce_room_find(fx->conf, "r"));
	fx->now += 2 * G_USEC_PER_SEC;
	ce_conf_tick(fx->conf);
	fx_expect_sent(fx, "call.drop", "call.drop:id=sip/1:reason=timeout\n");
	g_assert_null(ce_room_find(fx->conf, "r"));
	fx_free(fx);
}

static void test_rtp_refused(void)
{
	struct fx *fx = fx_new(NULL);

	fx->rtp_fail = true;
	g_assert_null(fx_join(fx, "r", "sip/1", 1, NULL));
	fx_expect_sent(fx, "call.drop", "call.drop:id=dumb/1:reason=nomedia\n");
	g_assert_null(ce_room_find(fx->conf, "r"));
	fx_free(fx);
}

static void test_no_media_port(void)
{
	struct fx *fx = fx_new(NULL);

	fx->media_fail = true;
	g_assert_null(fx_join(fx, "r", "sip/1", 1, NULL));
	fx_expect_sent(fx, "call.drop", "call.drop:id=dumb/1:reason=congestion\n");
	fx_expect_sent(fx, "chan.masquerade", "");
	fx_free(fx);
}

static void test_join_timeout(void)
{
	struct fx *fx = fx_new(NULL);
	char *ans = fx_dispatch(fx, "call.execute", "callto=conf/r:id=sip/1", NULL);

	g_free(ans);
	fx_watch(fx, "call.execute", "callto=dumb/:id=sip/1:ce_room=r:peerid=dumb/1", true);
	/* Yate never answers chan.rtp: the leg gives up after join_timeout */
	fx->now += 16 * G_USEC_PER_SEC;
	ce_conf_tick(fx->conf);
	fx_expect_sent(fx, "call.drop", "call.drop:id=dumb/1:reason=timeout\n");
	g_assert_null(ce_room_find(fx->conf, "r"));
	fx_flush(fx); /* the late answer finds the leg gone */
	g_assert_cmpint(fx->legs, ==, 0);
	fx_free(fx);
}

static void test_locked(void)
{
	struct fx *fx = fx_new(NULL);
	bool handled = false;

	fx_join(fx, "r", "sip/1", 1, "notify=mon/r");
	g_free(fx_dispatch(fx, "chan.control", "targetid=conf/r:operation=lock", &handled));
	g_assert_true(handled);
	expect_refusal(fx, "callto=conf/r:id=sip/2",
	        "callto=-:error=forbidden:reason=Conference room is locked");
	g_free(fx_dispatch(fx, "chan.control", "targetid=dumb/1:operation=unlock", &handled));
	g_assert_true(handled);
	g_assert_nonnull(fx_join(fx, "r", "sip/3", 2, NULL));
	fx_expect_sent(fx, "chan.notify:targetid=mon/r:event=lock",
	        "chan.notify:targetid=mon/r:event=locked:room=r:maxusers=10:users=1\n");
	fx_free(fx);
}

static void test_conference_up(void)
{
	struct fx *fx = fx_new(NULL);
	bool handled = false;
	char *ans =
	        fx_dispatch(fx, "call.conference", "id=sip/9:room=conf/r:notify=mon/r", &handled);
	struct ce_leg *leg;

	g_assert_true(handled);
	g_assert_cmpstr(ans, ==, "peerid=dumb/1:newroom=true:users=1");
	g_free(ans);
	fx_expect_sent(fx, "chan.masquerade:id=sip/9",
	        "chan.masquerade:id=sip/9:message=call.execute:callto=dumb/:ce_room=r:"
	        "reason=conference\n");
	fx_flush(fx);
	leg = ce_leg_find(fx->conf, "dumb/1");
	g_assert_nonnull(leg);
	g_assert_cmpint(leg->state, ==, CE_LEG_JOINED);
	fx_expect_sent(fx, "chan.masquerade:id=dumb/1:message=call.answered", "");
	/* the same again is a do-nothing request */
	g_free(fx_dispatch(fx, "call.conference", "id=sip/9:room=conf/r", &handled));
	g_assert_true(handled);
	g_assert_cmpint(ce_room_find(fx->conf, "r")->users, ==, 1);
	/* a request from one of our own legs is not ours */
	g_free(fx_dispatch(fx, "call.conference", "id=dumb/1:room=conf/r", &handled));
	g_assert_false(handled);
	fx_free(fx);
}

/* call.conference masqueraded on a 2-party call: both parties move, B survives A's move. */
static void test_conference_both(void)
{
	struct fx *fx = fx_new(NULL);
	struct ce_msg *cc = fx_msg("call.conference",
	        "id=sip/1:room=conf/r:lonely=true:module=sip:status=answered:peerid=sip/2");
	struct ce_msg *dc = fx_msg("chan.disconnected", "id=sip/2:module=sip:reason=conference");
	struct fx_result rc = {0}, rd = {0};

	ce_bus_dispatch_uplink(fx->bus, cc, fx_done, &rc);
	g_assert_false(rc.done);
	fx_expect_sent(fx, "chan.masquerade",
	        "chan.masquerade:id=sip/1:message=call.execute:callto=dumb/:ce_room=r:"
	        "reason=conference\n"
	        "chan.masquerade:id=sip/2:message=call.execute:callto=dumb/:ce_room=r:"
	        "reason=conference\n");
	/* A's move reaches Yate first: B loses its peer; we hold B's chan.disconnected */
	g_assert_true(fx_flush_one(fx));
	g_assert_true(rc.done && rc.handled);
	g_assert_cmpstr(ce_msg_get(rc.msg, "peerid"), ==, "dumb/1");
	ce_bus_dispatch_uplink(fx->bus, dc, fx_done, &rd);
	g_assert_false(rd.done);
	fx_flush(fx);
	g_assert_true(rd.done && rd.handled);
	g_assert_cmpint(ce_leg_find(fx->conf, "dumb/1")->state, ==, CE_LEG_JOINED);
	g_assert_cmpint(ce_leg_find(fx->conf, "dumb/2")->state, ==, CE_LEG_JOINED);
	g_assert_cmpstr(ce_leg_find(fx->conf, "dumb/2")->peer, ==, "sip/2");
	g_assert_cmpint(ce_room_find(fx->conf, "r")->users, ==, 2);
	g_assert_cmpuint(fx->conf->disc_hook, ==, 0);
	/* a later chan.disconnected is not ours to hold */
	ce_msg_unref(rd.msg);
	rd = (struct fx_result){0};
	ce_bus_dispatch_uplink(fx->bus, dc, fx_done, &rd);
	g_assert_true(rd.done && !rd.handled);
	ce_msg_unref(rd.msg);
	ce_msg_unref(rc.msg);
	ce_msg_unref(cc);
	ce_msg_unref(dc);
	fx_free(fx);
}

/* Transcript 2: the engine's dial-out names a room with ce_dialout. */
static void test_dialout(void)
{
	struct fx *fx = fx_new(NULL);
	struct ce_leg *leg;

	fx_watch(fx, "call.execute",
	        "callto=dumb/:target=801:caller=800:callername=Conference:ce_dialout=room1:"
	        "handlers=yrtp%z50,tone%z90,dumb%z90:id=dumb/4:peerid=tone/6",
	        true);
	fx_expect_sent(fx, "",
	        "chan.masquerade:id=dumb/4:message=chan.rtp:media=audio:direction=bidir:"
	        "remoteip=127.0.0.1:remoteport=40000:format=mulaw:rtcp=false:complete_minimal="
	        "true\n");
	fx_flush(fx);
	leg = ce_leg_find(fx->conf, "dumb/4");
	g_assert_nonnull(leg);
	g_assert_cmpint(leg->state, ==, CE_LEG_JOINED);
	g_assert_cmpstr(leg->peer, ==, "tone/6");
	fx_expect_sent(fx, "chan.masquerade:id=dumb/4:message=call.answered", "");
	/* a failed dial-out is nothing to us; a room that refuses drops the call */
	fx_watch(fx, "call.execute", "callto=dumb/:target=802:ce_dialout=room1:error=busy", false);
	fx_watch(fx, "call.execute", "callto=dumb/:target=803:ce_dialout=x:existing=true:id=dumb/5",
	        true);
	fx_expect_sent(fx, "call.drop", "call.drop:id=dumb/5:reason=noroute\n");
	g_assert_cmpuint(fx->conf->all->len, ==, 1);
	fx_free(fx);
}

/*
 * A dial-out to a phone (the far channel left targetid=, as ysipchan does)
 * rings outside the room: no RTP, no leg, no "joined" until the phone's
 * call.answered names dumb/N; one that fails while ringing never enters.
 * The room's "joined" tells who the dialled participant is.
 */
static void test_dialout_ringing(void)
{
	struct fx *fx = fx_new(NULL);
	struct ce_leg *leg;

	fx_watch(fx, "call.execute",
	        "callto=dumb/:target=9001:caller=800:callername=Board:ce_dialout=board:"
	        "notify=mon:lonely=true:conference_id=7:participant_id=12:participant_name=Ann:"
	        "participant_role=moderator:participant_number=9001:participant_direction=out:"
	        "id=dumb/6:peerid=sip/9:targetid=sip/9",
	        true);
	fx_watch(fx, "call.execute",
	        "callto=dumb/:target=9002:ce_dialout=board:notify=mon:id=dumb/7:peerid=sip/10:"
	        "targetid=sip/10",
	        true);
	fx_flush(fx);
	g_assert_null(ce_leg_find(fx->conf, "dumb/6"));
	g_assert_null(ce_room_find(fx->conf, "board"));
	fx_expect_sent(fx, "", "");
	/* 9002 is busy: gone before it was answered */
	fx_watch(fx, "chan.disconnected", "id=dumb/7:reason=busy:error=busy", false);
	fx_watch(fx, "chan.hangup", "id=dumb/7:reason=busy", false);
	/* 9001 answers: call.answered from the phone's channel, aimed at dumb/6 */
	fx_watch(fx, "call.answered", "id=sip/9:targetid=dumb/6:peerid=dumb/6", false);
	fx_watch(fx, "call.answered", "id=sip/10:targetid=dumb/7:peerid=dumb/7", false);
	fx_flush(fx);
	leg = ce_leg_find(fx->conf, "dumb/6");
	g_assert_nonnull(leg);
	g_assert_cmpint(leg->state, ==, CE_LEG_JOINED);
	g_assert_cmpstr(leg->peer, ==, "sip/9");
	g_assert_null(ce_leg_find(fx->conf, "dumb/7"));
	fx_expect_sent(fx, "chan.masquerade:id=dumb/7", "");
	fx_expect_sent(fx, "chan.notify:id",
	        "chan.notify:id=dumb/6:targetid=mon:counted=true:utility=false:room=board:"
	        "event=joined:maxusers=10:users=1:caller=800:callername=Board:conference_id=7:"
	        "participant_id=12:participant_name=Ann:participant_role=moderator:"
	        "participant_number=9001:participant_direction=out\n");
	fx_expect_sent(fx, "chan.notify:targetid=mon:event=created",
	        "chan.notify:targetid=mon:event=created:room=board:rate=8000:maxusers=10:"
	        "caller=800:called=:billid=:username=:conference_id=7\n");
	g_assert_cmpuint(fx->conf->all->len, ==, 1);
	fx_free(fx);
}

static void test_billing(void)
{
	struct fx *fx = fx_new(NULL);

	fx_join(fx, "r", "sip/1", 1, "billing=true:billid=123-4:username=bob:lonely=true");
	fx_watch(fx, "chan.hangup", "id=dumb/1:reason=bye", false);
	fx_expect_sent(fx, "chan.startup",
	        "chan.startup:id=dumb/1:module=conference:status=answered:caller=tone/busy:"
	        "called=802:billid=123-4:username=bob:callto=conf/r\n");
	fx_expect_sent(fx, "chan.hangup",
	        "chan.hangup:id=dumb/1:module=conference:status=bye:caller=tone/busy:called=802:"
	        "billid=123-4:username=bob:callto=conf/r\n");
	fx_free(fx);
}

/* call.conference whose masquerade never comes back: the request fails, the call stays. */
static void test_conference_timeout(void)
{
	struct fx *fx = fx_new(NULL);
	struct ce_msg *cc = fx_msg("call.conference", "id=sip/1:room=conf/r");
	struct fx_result rc = {0};

	ce_bus_dispatch_uplink(fx->bus, cc, fx_done, &rc);
	g_assert_false(rc.done);
	fx->now += 6 * G_USEC_PER_SEC;
	ce_conf_tick(fx->conf);
	g_assert_true(rc.done && !rc.handled);
	g_assert_cmpstr(ce_msg_get(rc.msg, "room"), ==, "-");
	fx_expect_sent(fx, "call.drop", "");
	g_assert_null(ce_room_find(fx->conf, "r"));
	fx_flush(fx); /* the late answer finds nothing to do */
	ce_msg_unref(rc.msg);
	ce_msg_unref(cc);
	fx_free(fx);
}

static void test_player(void)
{
	struct fx *fx = fx_new(NULL);

	fx_join(fx, "r", "sip/1", 1, "notify=mon:lonely=true");
	fx_join(fx, "r", "sip/2", 2, "player=true:utility=true");
	fx_join(fx, "r", "sip/3", 3, NULL);
	fx_expect_sent(fx, "chan.notify:id=dumb/3",
	        "chan.notify:id=dumb/3:targetid=mon:counted=true:utility=false:room=r:event=joined:"
	        "maxusers=10:users=2:player=dumb/2:caller=tone/busy:called=802\n");
	fx_free(fx);
}

static void test_conference_refused(void)
{
	struct fx *fx = fx_new(NULL);
	bool handled = true;
	char *ans =
	        fx_dispatch(fx, "call.conference", "id=sip/9:room=conf/r:existing=true", &handled);

	g_assert_false(handled);
	g_assert_cmpstr(ans, ==, "room=-:error=noroute:reason=No such conference room");
	g_free(ans);
	/* not a conf/ room: not ours */
	ans = fx_dispatch(fx, "call.conference", "id=sip/9:room=other/r", &handled);
	g_assert_false(handled);
	g_assert_cmpstr(ans, ==, "");
	g_free(ans);
	fx_free(fx);
}

static void test_conference_no_channel(void)
{
	struct fx *fx = fx_new(NULL);
	bool handled = false;
	char *line;

	fx_join(fx, "r", "sip/1", 1, "notify=mon/r:lonely=true");
	fx_clear(fx);
	g_free(fx_dispatch(fx, "call.conference",
	        "room=conf/r:record=wave/record/r.wav:recordwarn=/tmp/beep.wav", &handled));
	g_assert_true(handled);
	g_assert_cmpstr(fx->record, ==, fx_path(fx, "r.wav"));
	line = g_strdup_printf("chan.notify:id=conf/r:targetid=mon/r:counted=false:utility=true:"
	                       "room=r:event=recording:maxusers=10:users=1:"
	                       "record=wave/record/r.wav:file=%s\n",
	        fx_path(fx, "r.wav"));
	fx_expect_sent(fx, "chan.notify", line);
	g_free(line);
	g_free(fx_dispatch(fx, "call.conference", "room=conf/r:record=false", &handled));
	g_assert_true(handled);
	g_assert_null(fx->record);
	/* owners: an operator channel keeps a lonely=false room up */
	g_free(fx_dispatch(fx, "call.conference", "room=conf/r:confowner=sip/op", &handled));
	g_assert_true(handled);
	g_assert_cmpuint(ce_room_find(fx->conf, "r")->owners->len, ==, 1);
	g_free(fx_dispatch(fx, "call.conference", "room=conf/nosuch:record=x", &handled));
	g_assert_false(handled);
	fx_free(fx);
}

static void test_owner(void)
{
	struct fx *fx = fx_new(NULL);

	fx_join(fx, "r", "sip/1", 1, "confowner=sip/op");
	fx_join(fx, "r", "sip/2", 2, NULL);
	fx_watch(fx, "chan.hangup", "id=dumb/1", false);
	/* one user left but the operator owns the room */
	g_assert_cmpint(ce_room_find(fx->conf, "r")->users, ==, 1);
	fx_clear(fx);
	fx_watch(fx, "chan.hangup", "id=sip/op", false);
	fx_expect_sent(fx, "call.drop", "call.drop:id=dumb/2:reason=hangup\n");
	g_assert_null(ce_room_find(fx->conf, "r"));
	fx_free(fx);
}

static void test_controls(void)
{
	struct fx *fx = fx_new(NULL);
	struct ce_leg *leg = fx_join(fx, "r", "sip/1", 1, "notify=mon/r:lonely=true");
	bool handled = false;

	fx_clear(fx);
	g_free(fx_dispatch(fx, "chan.control", "targetid=dumb/1:operation=mute", &handled));
	g_assert_true(handled);
	g_assert_true(((struct fx_leg *)leg->media)->flags & CE_LEG_MUTE);
	g_free(fx_dispatch(fx, "chan.control", "targetid=dumb/1:mute=false", &handled));
	g_assert_true(handled);
	g_assert_false(((struct fx_leg *)leg->media)->flags & CE_LEG_MUTE);
	/* masqueraded: Yate's completion puts the caller in targetid, the leg in id */
	g_free(fx_dispatch(fx, "chan.control",
	        "id=dumb/1:operation=deaf:module=dumb:targetid=sip/1:peerid=sip/1", &handled));
	g_assert_true(handled);
	g_assert_true(((struct fx_leg *)leg->media)->flags & CE_LEG_DEAF);
	g_free(fx_dispatch(fx, "chan.control", "targetid=dumb/1:operation=fly", &handled));
	g_assert_false(handled);
	g_free(fx_dispatch(fx, "chan.control", "targetid=sip/77:operation=mute", &handled));
	g_assert_false(handled);
	fx_expect_sent(fx, "chan.notify",
	        "chan.notify:id=dumb/1:targetid=mon/r:peerid=sip/1:counted=true:utility=false:"
	        "room=r:event=mute:maxusers=10:users=1\n"
	        "chan.notify:id=dumb/1:targetid=mon/r:peerid=sip/1:counted=true:utility=false:"
	        "room=r:event=unmute:maxusers=10:users=1\n"
	        "chan.notify:id=dumb/1:targetid=mon/r:peerid=sip/1:counted=true:utility=false:"
	        "room=r:event=deaf:maxusers=10:users=1\n");
	fx_clear(fx);
	g_free(fx_dispatch(
	        fx, "chan.control", "targetid=dumb/1:operation=kick:reason=bye", &handled));
	g_assert_true(handled);
	fx_expect_sent(fx, "call.drop", "call.drop:id=dumb/1:reason=bye\n");
	fx_free(fx);
}

static void test_flags(void)
{
	struct fx *fx = fx_new(NULL);
	struct ce_leg *a = fx_join(fx, "r", "sip/1", 1, "voice=false");
	struct ce_leg *u = fx_join(fx, "r", "sip/2", 2, "utility=true");
	struct ce_leg *e = fx_join(fx, "r", "sip/3", 3, "echo=true:smart=false");

	g_assert_cmpuint(((struct fx_leg *)a->media)->flags, ==, CE_LEG_NOVOICE | CE_LEG_SMART);
	g_assert_cmpuint(((struct fx_leg *)u->media)->flags, ==, CE_LEG_ECHO);
	g_assert_false(u->counted);
	g_assert_cmpuint(((struct fx_leg *)e->media)->flags, ==, CE_LEG_ECHO);
	g_assert_cmpint(ce_room_find(fx->conf, "r")->users, ==, 2);
	fx_free(fx);
}

static void test_utility_left_alone(void)
{
	struct fx *fx = fx_new(NULL);

	fx_join(fx, "r", "sip/1", 1, "notify=mon/r:lonely=true");
	fx_join(fx, "r", "sip/2", 2, "utility=true");
	fx_clear(fx);
	fx_watch(fx, "chan.hangup", "id=dumb/1", false);
	/* only a utility leg remains: dropped, and it is never notified */
	fx_expect_sent(fx, "call.drop", "call.drop:id=dumb/2:reason=hangup\n");
	fx_expect_sent(fx, "chan.notify:id=dumb/2", "");
	g_assert_null(ce_room_find(fx->conf, "r"));
	fx_free(fx);
}

static void test_dtmf(void)
{
	struct fx *fx = fx_new(NULL);
	bool handled = true;

	fx_join(fx, "r", "tone/7", 5, "notify=mon/r");
	fx_clear(fx);
	g_free(fx_dispatch(fx, "chan.dtmf",
	        "id=tone/7:text=5:sequence=1:duplicate=false:module=tone:status=incoming:"
	        "peerid=dumb/5:lastpeerid=dumb/5",
	        &handled));
	g_assert_false(handled);
	fx_expect_sent(fx, "chan.notify",
	        "chan.notify:id=dumb/5:text=5:sequence=1:duplicate=false:module=tone:"
	        "status=incoming:peerid=tone/7:lastpeerid=tone/7:counted=true:utility=false:"
	        "room=r:event=dtmf:users=1:full=false:targetid=mon/r\n");
	fx_free(fx);
}

static void test_text(void)
{
	struct fx *fx = fx_new(NULL);
	bool handled = true;

	fx_join(fx, "r", "sip/1", 1, "notify=mon/r");
	fx_clear(fx);
	g_free(fx_dispatch(fx, "chan.text", "id=sip/1:text=hello:peerid=dumb/1", &handled));
	g_assert_false(handled);
	fx_expect_sent(fx, "chan.notify",
	        "chan.notify:id=dumb/1:text=hello:peerid=sip/1:counted=true:utility=false:room=r:"
	        "event=text:users=1:full=false:targetid=mon/r:lastpeerid=sip/1\n");
	fx_free(fx);
}

static void test_talkers(void)
{
	struct fx *fx = fx_new(NULL);
	struct ce_leg *a = fx_join(fx, "r", "sip/1", 1, "notify=mon/r:speakers=2:lonely=true");
	struct ce_leg *b = fx_join(fx, "r", "sip/2", 2, NULL);
	struct ce_room_event ev = {.kind = CE_EVENT_TALK_START, .energy = 22};

	fx_clear(fx);
	ev.room_data = a->room;
	ev.leg_data = a;
	ce_conf_media_event(&ev, fx->conf);
	ev = (struct ce_room_event){
	        .kind = CE_EVENT_SPEAKERS, .room_data = a->room, .changed = true, .n_speakers = 2};
	ev.speakers[0].leg_data = b;
	ev.speakers[0].energy = 25;
	ev.speakers[1].leg_data = a;
	ev.speakers[1].energy = 24;
	ce_conf_media_event(&ev, fx->conf);
	fx_watch(fx, "chan.hangup", "id=dumb/1", false);
	fx_expect_sent(fx, "chan.notify",
	        "chan.notify:id=dumb/1:targetid=mon/r:peerid=sip/1:counted=true:utility=false:"
	        "room=r:event=talkstart:maxusers=10:users=2:energy=22\n"
	        "chan.notify:targetid=mon/r:event=speaking:room=r:maxusers=10:speaker.1=dumb/2:"
	        "speaker.1.peer=sip/2:speaker.1.energy=25:speaker.2=dumb/1:speaker.2.peer=sip/1:"
	        "speaker.2.energy=24:speakers=2:changed=true\n"
	        "chan.notify:id=dumb/1:targetid=mon/r:peerid=sip/1:counted=true:utility=false:"
	        "room=r:event=talkstop:maxusers=10:users=2\n"
	        "chan.notify:id=dumb/1:targetid=mon/r:counted=true:utility=false:room=r:"
	        "event=left:maxusers=10:users=1:lonely=true:lastpeerid=sip/1\n");
	fx_free(fx);
}

static void test_console(void)
{
	struct fx *fx = fx_new(NULL);
	GString *out = g_string_new("");

	ce_conf_list(fx->conf, out);
	g_assert_cmpstr(out->str, ==, "no conference rooms\r\n");
	fx_join(fx, "r", "sip/1", 1, "maxusers=4");
	g_string_truncate(out, 0);
	g_assert_cmpint(ce_conf_show(fx->conf, "r", out), ==, 0);
	g_assert_cmpstr(out->str, ==,
	        "name=conf/r,type=conference;module=conference,room=r,maxusers=4,lonely=false,"
	        "expire=0,rate=8000,users=1,chans=1,owners=0,locked=false\r\n"
	        "  1 dumb/1 peer=sip/1 state=joined counted=true utility=false voice=true "
	        "muted=false deaf=false talking=false\r\n");
	g_assert_cmpint(ce_conf_show(fx->conf, "nosuch", out), ==, -ENOENT);
	g_assert_true(ce_leg_find_seq(fx->conf, "r", "1") == ce_leg_find(fx->conf, "dumb/1"));
	g_assert_true(ce_leg_find_seq(fx->conf, "r", "sip/1") == ce_leg_find(fx->conf, "dumb/1"));
	g_assert_null(ce_leg_find_seq(fx->conf, "q", "1"));
	g_string_free(out, TRUE);
	fx_free(fx);
}

static void test_config(void)
{
	struct fx *fx = fx_new("[conference]\nmaxusers=3\nformat=alaw\nrtp_address=10.1.2.3\n"
	                       "joined_peerid=true\n");
	struct ce_leg *leg = fx_join(fx, "r", "sip/1", 1, "notify=mon/r");

	g_assert_cmpint(leg->room->maxusers, ==, 3);
	g_assert_cmpint(((struct fx_leg *)leg->media)->codec, ==, CE_CODEC_PCMA);
	fx_expect_sent(fx, "chan.masquerade:id=dumb/1:message=chan.rtp",
	        "chan.masquerade:id=dumb/1:message=chan.rtp:media=audio:direction=bidir:"
	        "remoteip=10.1.2.3:remoteport=40000:format=alaw:rtcp=false:complete_minimal="
	        "true\n");
	fx_expect_sent(fx, "chan.notify:id",
	        "chan.notify:id=dumb/1:targetid=mon/r:peerid=sip/1:counted=true:utility=false:"
	        "room=r:event=joined:maxusers=3:users=1:caller=tone/busy:called=802\n");
	fx_free(fx);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/conference/join/transcript1", test_transcript1);
	g_test_add_func("/conference/join/yroom-notifications", test_yroom_notifications);
	g_test_add_func("/conference/join/maxusers", test_maxusers);
	g_test_add_func("/conference/join/maxusers-default", test_maxusers_default);
	g_test_add_func("/conference/join/rate", test_rate);
	g_test_add_func("/conference/join/existing", test_existing);
	g_test_add_func("/conference/join/empty-name", test_empty_name);
	g_test_add_func("/conference/join/no-endpoint", test_no_endpoint);
	g_test_add_func("/conference/join/lonely-false", test_lonely_false);
	g_test_add_func("/conference/join/lonely-true", test_lonely_true);
	g_test_add_func("/conference/join/lonely-timeout", test_lonely_timeout);
	g_test_add_func("/conference/join/lonely-timeout-min", test_lonely_timeout_min);
	g_test_add_func("/conference/join/hangup-rtp-timeout", test_hangup_and_rtp_timeout);
	g_test_add_func("/conference/join/call-drop", test_call_drop);
	g_test_add_func("/conference/join/masquerade", test_masquerade_execute);
	g_test_add_func("/conference/join/execute-failed", test_execute_failed);
	g_test_add_func("/conference/join/offer-timeout", test_offer_timeout);
	g_test_add_func("/conference/join/orphan-dumb", test_orphan_dumb);
	g_test_add_func("/conference/join/rtp-refused", test_rtp_refused);
	g_test_add_func("/conference/join/no-media-port", test_no_media_port);
	g_test_add_func("/conference/join/join-timeout", test_join_timeout);
	g_test_add_func("/conference/join/locked", test_locked);
	g_test_add_func("/conference/join/conference-up", test_conference_up);
	g_test_add_func("/conference/join/conference-both", test_conference_both);
	g_test_add_func("/conference/join/conference-refused", test_conference_refused);
	g_test_add_func("/conference/join/conference-timeout", test_conference_timeout);
	g_test_add_func("/conference/join/player", test_player);
	g_test_add_func("/conference/join/dialout", test_dialout);
	g_test_add_func("/conference/join/dialout-ringing", test_dialout_ringing);
	g_test_add_func("/conference/join/billing", test_billing);
	g_test_add_func("/conference/join/conference-no-channel", test_conference_no_channel);
	g_test_add_func("/conference/join/owner", test_owner);
	g_test_add_func("/conference/join/controls", test_controls);
	g_test_add_func("/conference/join/flags", test_flags);
	g_test_add_func("/conference/join/utility-left-alone", test_utility_left_alone);
	g_test_add_func("/conference/join/dtmf", test_dtmf);
	g_test_add_func("/conference/join/text", test_text);
	g_test_add_func("/conference/join/talkers", test_talkers);
	g_test_add_func("/conference/join/console", test_console);
	g_test_add_func("/conference/join/config", test_config);
	return g_test_run();
}
