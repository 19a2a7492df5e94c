/* test-relink.c - conference legs when the link to Yate drops and comes back (relink.c) */
#include "conf-engine/log.h"
#include "conf-engine/yate.h"
#include "conf-fixture.h"

static GString *warned; /* the module's warnings: what an operator reads */

static void rtp_timeout(struct fx *fx, const char *id)
{
	struct ce_leg *leg = ce_leg_find(fx->conf, id);
	struct ce_room_event ev = {.kind = CE_EVENT_RTP_TIMEOUT};

	g_assert_nonnull(leg);
	ev.room_data = leg->room;
	ev.leg_data = leg;
	ce_conf_media_event(&ev, fx->conf);
	fx_flush(fx);
}

/*
 * Yate comes back restarted: every leg made before the loss leaves with
 * reason yate-restart, dated back to the loss (gone_ms), without a
 * call.drop (the new Yate's dumb/1 is someone else) nor a billing hangup;
 * a call that came in after the return is not touched.
 */
static void test_yate_restart(void)
{
	struct fx *fx = fx_new(NULL);

	fx_join(fx, "r", "sip/1", 1, "notify=conf-monitor/r");
	fx_join(fx, "r", "sip/2", 2, "notify=conf-monitor/r");
	fx_join(fx, "s", "sip/3", 3, "notify=conf-monitor/s:billing=true:lonely=true");
	g_assert_cmpint(fx->legs, ==, 3);
	g_string_truncate(warned, 0);
	fx_link_event(fx, "state=down:final=false");
	g_assert_nonnull(strstr(warned->str, "link to Yate lost with 3 legs in 2 rooms"));
	fx->now += 3 * G_USEC_PER_SEC;
	fx_join(fx, "t", "sip/9", 5, NULL);
	fx_clear(fx);
	fx_link_event(
	        fx, "state=up:yate=6.4.1:runid=1795330000:restarted=true:lastrunid=1795326700");
	g_assert_nonnull(strstr(
	        warned->str, "Yate was restarted: closed 3 legs in 2 rooms (reason yate-restart)"));
	fx_expect_sent(fx, "call.drop", "");
	fx_expect_sent(fx, "chan.hangup", "");
	fx_expect_sent(fx, "chan.notify",
	        "chan.notify:id=dumb/1:targetid=conf-monitor/r:counted=true:utility=false:"
	        "room=r:event=left:maxusers=10:users=1:lastpeerid=sip/1:reason=yate-restart:"
	        "gone_ms=3000\n"
	        "chan.notify:id=dumb/2:targetid=conf-monitor/r:counted=true:utility=false:"
	        "room=r:event=left:maxusers=10:users=0:lastpeerid=sip/2:reason=yate-restart:"
	        "gone_ms=3000\n"
	        "chan.notify:targetid=conf-monitor/r:event=destroyed:room=r:maxusers=10\n"
	        "chan.notify:id=dumb/3:targetid=conf-monitor/s:counted=true:utility=false:"
	        "room=s:event=left:maxusers=10:users=0:lonely=false:lastpeerid=sip/3:"
	        "reason=yate-restart:gone_ms=3000\n"
	        "chan.notify:targetid=conf-monitor/s:event=destroyed:room=s:maxusers=10\n");
	g_assert_cmpint(fx->legs, ==, 1);
	g_assert_nonnull(ce_leg_find(fx->conf, "dumb/5"));
	fx_free(fx);
}

/*
 * The same Yate comes back: the legs go on.  While the link is down a leg
 * whose audio stops leaves as link-lost, dated back to the loss or to
 * rtp_timeout before, and a room that lost its owners keeps the others
 * until the link is back: then they are dropped as usual.
 */
static void test_same_yate(void)
{
	struct fx *fx = fx_new(NULL);

	fx_join(fx, "r", "sip/1", 1, "notify=conf-monitor/r");
	fx_join(fx, "r", "sip/2", 2, "notify=conf-monitor/r");
	fx_join(fx, "r", "sip/3", 3, "notify=conf-monitor/r");
	fx_link_event(fx, "state=down:final=false");
	fx->now += 4 * G_USEC_PER_SEC;
	fx_clear(fx);
	g_string_truncate(warned, 0);
	rtp_timeout(fx, "dumb/1");
	fx->now += 11 * G_USEC_PER_SEC;
	rtp_timeout(fx, "dumb/2");
	ce_conf_tick(fx->conf); /* one line for the legs of a dead Yate */
	g_assert_nonnull(strstr(warned->str, "no link to Yate and no audio for 10000 ms: closed 2 "
	                                     "legs in 1 room (reason link-lost); legs left: 1\n"));
	fx_expect_sent(fx, "call.drop", "");
	fx_expect_sent(fx, "chan.notify",
	        "chan.notify:id=dumb/1:targetid=conf-monitor/r:counted=true:utility=false:"
	        "room=r:event=left:maxusers=10:users=2:lastpeerid=sip/1:reason=link-lost:"
	        "gone_ms=4000\n"
	        "chan.notify:id=dumb/2:targetid=conf-monitor/r:counted=true:utility=false:"
	        "room=r:event=left:maxusers=10:users=1:lastpeerid=sip/2:reason=link-lost:"
	        "gone_ms=10000\n");
	g_assert_cmpint(fx->legs, ==, 1);
	fx_clear(fx);
	fx_link_event(
	        fx, "state=up:yate=6.4.1:runid=1795326700:restarted=false:lastrunid=1795326700");
	fx_expect_sent(fx, "call.drop", "call.drop:id=dumb/3:reason=hangup\n");
	g_assert_cmpint(fx->legs, ==, 0);
	g_assert_cmpint(fx->rooms, ==, 0);
	/* with the link up, a silent leg is "nomedia" again */
	fx_join(fx, "q", "sip/4", 4, "lonely=true");
	fx_clear(fx);
	rtp_timeout(fx, "dumb/4");
	fx_expect_sent(fx, "call.drop", "call.drop:id=dumb/4:reason=nomedia\n");
	fx_free(fx);
}

/* stdin closed (final): the engine is leaving; the legs are left to the module's exit. */
static void test_final_down(void)
{
	struct fx *fx = fx_new(NULL);

	fx_join(fx, "r", "sip/1", 1, "lonely=true");
	fx_clear(fx);
	fx_link_event(fx, "state=down:final=true");
	fx->now += 20 * G_USEC_PER_SEC;
	rtp_timeout(fx, "dumb/1");
	fx_expect_sent(fx, "call.drop", "call.drop:id=dumb/1:reason=nomedia\n");
	fx_free(fx);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	warned = fx_collect_warnings(); /* the warnings are what is tested */
	g_test_add_func("/conference/relink/yate-restart", test_yate_restart);
	g_test_add_func("/conference/relink/same-yate", test_same_yate);
	g_test_add_func("/conference/relink/final-down", test_final_down);
	return g_test_run();
}
