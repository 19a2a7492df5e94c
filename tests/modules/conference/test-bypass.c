/* test-bypass.c - media bypass on the signalling side: a SIP phone's RTP straight to the engine */
#include "conf-fixture.h"
#include "modules/conference/keypad.h"

/*
 * Transcript 4 (real Yate 6.4.1): the route said rtp_forward=yes, so the
 * SIP call's call.execute carries it with the phone's RTP end and formats.
 */
#define EXEC4                                                                                      \
	"id=sip/1:module=sip:status=incoming:address=127.0.0.1%z18003:billid=1796529612-1:"        \
	"answered=false:direction=incoming:caller=:called=800:ip_host=127.0.0.1:ip_port=18003:"    \
	"rtp_addr=127.0.0.1:media=yes:formats=mulaw,alaw,slin:transport=RTP/AVP:"                  \
	"rtp_rfc2833=101:rtp_port=45066"

/* call.execute @params for conf/bp1, then Yate's dumb/1; returns the answer's changes. */
static char *offer(struct fx *fx, const char *params)
{
	char *full = g_strdup_printf("%s:callto=conf/bp1", params);
	char *ans = fx_dispatch(fx, "call.execute", full, NULL);
	char *seen = g_strdup_printf("%s:%s:peerid=dumb/1:targetid=dumb/1", full, ans);

	fx_watch(fx, "call.execute", seen, true);
	g_free(seen);
	g_free(full);
	return ans;
}

static struct fx_leg *media_of(struct fx *fx)
{
	struct ce_leg *leg = ce_leg_find(fx->conf, "dumb/1");

	g_assert_nonnull(leg);
	return (struct fx_leg *)leg->media;
}

static void test_transcript4(void)
{
	struct fx *fx = fx_new(NULL);
	char *ans = offer(fx, EXEC4 ":rtp_forward=yes");
	struct fx_leg *l = media_of(fx);
	struct ce_leg *leg = ce_leg_find(fx->conf, "dumb/1");

	/* accepted: ysipchan leaves the RTP to us, and no chan.rtp is asked of Yate */
	g_assert_cmpstr(ans, ==,
	        "rtp_forward=accepted:callto=dumb/:ce_room=bp1:room=conf/bp1:newroom=true:users=1");
	g_assert_true(l->started && l->direct);
	g_assert_cmpstr(l->ip, ==, "127.0.0.1");
	g_assert_cmpuint(l->port, ==, 45066);
	g_assert_cmpint(l->codec, ==, CE_CODEC_PCMU);
	g_assert_cmpint(l->dtmf_pt, ==, 101);
	g_assert_cmpstr(l->sig, ==, "127.0.0.1");
	/* the SDP answer is made from the masqueraded call.answered: our end */
	fx_expect_sent(fx, "",
	        "chan.masquerade:id=dumb/1:message=call.answered:rtp_forward=yes:"
	        "rtp_addr=127.0.0.1:rtp_port=40000:media=yes:formats=mulaw,alaw:"
	        "transport=RTP/AVP:rtp_rfc2833=101\n");
	fx_flush(fx);
	g_assert_cmpint(leg->state, ==, CE_LEG_JOINED);
	g_assert_cmpuint(fx->conf->direct_legs, ==, 1);
	/* a phone cannot be re-pointed at another media thread the way Yate's RTP can */
	g_assert_cmpint(ce_leg_rehome(leg, leg->room->media, NULL, NULL), ==, -EXDEV);
	g_free(ans);
	fx_free(fx);
}

/* Whatever does not allow it: Yate's relay as before (chan.rtp), nothing accepted. */
static void relays(const char *conf, const char *params, enum ce_codec codec)
{
	struct fx *fx = fx_new(conf);
	char *ans = offer(fx, params);
	char *rtp = g_strdup_printf(
	        "chan.masquerade:id=dumb/1:message=chan.rtp:media=audio:direction=bidir:"
	        "remoteip=127.0.0.1:remoteport=40000:format=%s:rtcp=false:complete_minimal=true\n",
	        ce_codec_name(codec));
	struct fx_leg *l;

	g_assert_null(strstr(ans, "rtp_forward"));
	fx_expect_sent(fx, "", rtp);
	g_free(rtp);
	fx_flush(fx);
	l = media_of(fx);
	g_assert_false(l->direct);
	g_assert_cmpint(l->codec, ==, codec);
	g_assert_cmpstr(l->ip, ==, "127.0.0.1");
	g_assert_cmpuint(l->port, ==, 23614); /* Yate's yrtp */
	g_assert_cmpuint(fx->conf->direct_legs, ==, 0);
	g_free(ans);
	fx_free(fx);
}

/* Every way to the relayed path (and relayed G.722, in wideband rooms only). */
static void test_fallback(void)
{
	/* no forwarding offered (not SIP, or no SDP) */
	relays(NULL, EXEC4, CE_CODEC_PCMU);
	/* switched off: globally, and by the call */
	relays("[conference]\nbypass=false\n", EXEC4 ":rtp_forward=yes", CE_CODEC_PCMU);
	relays(NULL, EXEC4 ":rtp_forward=yes:bypass=false", CE_CODEC_PCMU);
	/* no G.711 on the phone, or SRTP, or no RTP end */
	relays(NULL, "id=sip/1:rtp_addr=127.0.0.1:rtp_port=4000:formats=gsm,slin:rtp_forward=yes",
	        CE_CODEC_PCMU);
	relays(NULL,
	        "id=sip/1:rtp_addr=127.0.0.1:rtp_port=4000:formats=mulaw:transport=RTP/SAVP:"
	        "rtp_forward=yes",
	        CE_CODEC_PCMU);
	relays(NULL, "id=sip/1:rtp_addr=127.0.0.1:formats=mulaw:rtp_forward=yes", CE_CODEC_PCMU);
	relays("[conference]\nformat=alaw\n", EXEC4 ":rtp_forward=no", CE_CODEC_PCMA);
	/* relayed G.722: asked of Yate in a wideband room, when the phone has it and codecs= too */
	relays(NULL, "id=sip/1:formats=mulaw,g722/16000:rate=16000", CE_CODEC_G722);
	relays(NULL, "id=sip/1:formats=mulaw,g722/16000", CE_CODEC_PCMU);
	relays(NULL, "id=sip/1:formats=mulaw:rate=16000", CE_CODEC_PCMU);
	relays("[conference]\ncodecs=mulaw,alaw\n", "id=sip/1:formats=g722/16000:rate=16000",
	        CE_CODEC_PCMU);
}

/* The route left rtp_forward=possible: ysipchan relays, and the operator is told once. */
static void test_refused_warns_once(void)
{
	GString *warned = fx_collect_warnings();
	struct fx *fx = fx_new(NULL);

	g_free(offer(fx, EXEC4 ":rtp_forward=possible"));
	fx_flush(fx);
	g_assert_nonnull(strstr(warned->str, "without rtp_forward=yes"));
	g_string_truncate(warned, 0);
	g_assert_false(media_of(fx)->direct);
	fx_free(fx);
	fx = fx_new(NULL);
	fx->conf->warned_fwd_refused = true; /* as after the first call */
	g_free(offer(fx, EXEC4 ":rtp_forward=possible"));
	g_assert_cmpstr(warned->str, ==, "");
	fx_free(fx);
	ce_log_set_sink(NULL, NULL);
	g_string_free(warned, TRUE);
}

/* The phone offers A-law first and the room's configured law is mu-law: mu-law. */
static void test_codec_choice(void)
{
	struct fx *fx = fx_new(NULL);

	g_free(offer(fx,
	        "id=sip/1:rtp_addr=10.0.0.5:rtp_port=4000:formats=alaw,mulaw:rtp_forward=yes:"
	        "ip_host=203.0.113.9"));
	g_assert_cmpint(media_of(fx)->codec, ==, CE_CODEC_PCMU);
	g_assert_cmpint(media_of(fx)->dtmf_pt, ==, -1); /* none offered */
	g_assert_cmpstr(media_of(fx)->sig, ==, "203.0.113.9");
	fx_expect_sent(fx, "",
	        "chan.masquerade:id=dumb/1:message=call.answered:rtp_forward=yes:"
	        "rtp_addr=127.0.0.1:rtp_port=40000:media=yes:formats=mulaw,alaw:"
	        "transport=RTP/AVP\n");
	fx_free(fx);
	/* only A-law: A-law; and the address phones reach us at */
	fx = fx_new("[conference]\nbypass_address=192.0.2.10\n");
	g_free(offer(fx, "id=sip/1:rtp_addr=10.0.0.5:rtp_port=4000:formats=alaw:rtp_forward=yes"));
	g_assert_cmpint(media_of(fx)->codec, ==, CE_CODEC_PCMA);
	fx_expect_sent(fx, "",
	        "chan.masquerade:id=dumb/1:message=call.answered:rtp_forward=yes:"
	        "rtp_addr=192.0.2.10:rtp_port=40000:media=yes:formats=alaw:transport=RTP/AVP\n");
	fx_free(fx);
}

/* Keys in the phone's RTP reach the room as Yate's chan.dtmf would, and the keypad. */
static void test_rtp_dtmf(void)
{
	struct fx *fx = fx_new(NULL);
	struct ce_room_event ev = {.kind = CE_EVENT_DTMF, .text = "1"};
	struct ce_keypad *kp = NULL;
	struct ce_leg *leg;

	g_assert_cmpint(ce_keypad_new(&kp, fx->conf, fx->cfg), ==, 0);
	fx->conf->keypad = kp;
	g_free(offer(fx, EXEC4 ":rtp_forward=yes:notify=mon/bp1"));
	fx_flush(fx);
	leg = ce_leg_find(fx->conf, "dumb/1");
	g_assert_cmpint(leg->state, ==, CE_LEG_JOINED);
	g_assert_false(leg->muted);
	fx_clear(fx);
	ev.room_data = leg->room;
	ev.leg_data = leg;
	ce_conf_media_event(&ev, fx->conf);
	fx_expect_sent(fx, "chan.notify",
	        "chan.notify:id=dumb/1:targetid=mon/bp1:text=1:detected=rfc2833:counted=true:"
	        "utility=false:room=bp1:peerid=sip/1:event=dtmf:users=1:full=false:"
	        "lastpeerid=sip/1\n"
	        "chan.notify:id=dumb/1:targetid=mon/bp1:peerid=sip/1:counted=true:utility=false:"
	        "room=bp1:event=mute:maxusers=10:users=1\n");
	g_assert_true(leg->muted); /* the keypad's 1 */
	fx->conf->keypad = NULL;
	ce_keypad_free(kp);
	fx_free(fx);
}

/* What ysipchan dispatches for the phone's re-INVITE (reInviteForward), with @extra. */
#define REINVITE                                                                                   \
	"id=sip/1:module=sip:peerid=dumb/1:operation=request:rtp_forward=yes:rtp_addr=127.0.0.1:"  \
	"media=yes:transport=RTP/AVP:rtp_rfc2833=101:rtp_port=45070"

#define NOTIFY(laws)                                                                               \
	"call.update:id=dumb/1:targetid=sip/"                                                      \
	"1:operation=notify:rtp_forward=yes:rtp_addr=127.0.0.1:"                                   \
	"rtp_port=40000:media=yes:formats=" laws ":transport=RTP/AVP:rtp_rfc2833=101\n"

static void test_reinvite_hold(void)
{
	struct fx *fx = fx_new(NULL);
	struct ce_room_event ev = {.kind = CE_EVENT_RTP_TIMEOUT};
	bool handled = false;
	struct ce_leg *leg;
	struct fx_leg *l;

	g_free(offer(fx, EXEC4 ":rtp_forward=yes"));
	fx_flush(fx);
	leg = ce_leg_find(fx->conf, "dumb/1");
	l = (struct fx_leg *)leg->media;
	g_assert_cmpint(l->flags & (CE_LEG_MUTE | CE_LEG_DEAF), ==, 0);
	fx_clear(fx);
	/* hold: a=sendonly; the leg leaves the mix both ways */
	g_free(fx_dispatch(
	        fx, "call.update", REINVITE ":formats=mulaw,alaw:sdp_sendonly=", &handled));
	g_assert_true(handled);
	g_assert_cmpint(l->flags & (CE_LEG_MUTE | CE_LEG_DEAF), ==, CE_LEG_MUTE | CE_LEG_DEAF);
	g_assert_false(leg->muted); /* not the participant's mute: nobody is told */
	fx_expect_sent(fx, "call.update", NOTIFY("mulaw,alaw"));
	/* its silence on hold is no reason to drop it */
	ev.room_data = leg->room;
	ev.leg_data = leg;
	ce_conf_media_event(&ev, fx->conf);
	g_assert_cmpint(leg->state, ==, CE_LEG_JOINED);
	/* resume */
	fx_clear(fx);
	g_free(fx_dispatch(fx, "call.update", REINVITE ":formats=mulaw", &handled));
	g_assert_true(handled);
	g_assert_cmpint(l->flags & (CE_LEG_MUTE | CE_LEG_DEAF), ==, 0);
	fx_expect_sent(fx, "call.update", NOTIFY("mulaw"));
	/* hold by the address 0.0.0.0 (RFC 2543), and a=inactive */
	fx_clear(fx);
	g_free(fx_dispatch(fx, "call.update",
	        "id=sip/1:peerid=dumb/1:operation=request:rtp_forward=yes:rtp_addr=0.0.0.0:"
	        "formats=mulaw:rtp_port=45070:sdp_inactive=",
	        &handled));
	g_assert_true(handled);
	fx_expect_sent(fx, "call.update", NOTIFY("mulaw"));
	g_assert_cmpint(l->flags & CE_LEG_MUTE, ==, CE_LEG_MUTE);
	/* now the RTP timeout counts again */
	fx_clear(fx);
	g_free(fx_dispatch(fx, "call.update", REINVITE ":formats=mulaw", &handled));
	ce_conf_media_event(&ev, fx->conf);
	g_assert_null(ce_leg_find(fx->conf, "dumb/1"));
	fx_free(fx);
}

/*
 * Our first answer listed both laws, as the phone offered: a new offer
 * with the other law only switches the leg to it, and ysipchan's session
 * narrows to it for good (it never widens again: later offers of both
 * keep A-law); one with no G.711 is refused (488), and nothing changes.
 */
static void test_reinvite_codec(void)
{
	struct fx *fx = fx_new(NULL);
	bool handled = false;
	struct fx_leg *l;
	char *ans;

	g_free(offer(fx, EXEC4 ":rtp_forward=yes"));
	fx_flush(fx);
	fx_clear(fx);
	l = media_of(fx);
	g_free(fx_dispatch(fx, "call.update", REINVITE ":formats=alaw,gsm", &handled));
	g_assert_true(handled);
	g_assert_cmpint(l->codec, ==, CE_CODEC_PCMA);
	fx_expect_sent(fx, "call.update", NOTIFY("alaw"));
	/* both laws again: it keeps the one it has, the only one Yate still allows */
	fx_clear(fx);
	g_free(fx_dispatch(fx, "call.update", REINVITE ":formats=mulaw,alaw", &handled));
	g_assert_true(handled);
	g_assert_cmpint(l->codec, ==, CE_CODEC_PCMA);
	fx_expect_sent(fx, "call.update", NOTIFY("alaw"));
	/* mu-law alone now: ysipchan would keep saying A-law, so it is refused */
	fx_clear(fx);
	g_free(fx_dispatch(fx, "call.update", REINVITE ":formats=mulaw", &handled));
	g_assert_false(handled);
	g_assert_cmpint(l->codec, ==, CE_CODEC_PCMA);
	fx_clear(fx);
	ans = fx_dispatch(fx, "call.update", REINVITE ":formats=gsm,slin", &handled);
	g_assert_false(handled);
	g_assert_cmpint(l->codec, ==, CE_CODEC_PCMA);
	g_assert_cmpstr(ans, ==, "error=488:reason=Not Acceptable Here");
	g_assert_cmpuint(fx->sent->len, ==, 0);
	g_free(ans);
	/* not a bypassed leg's, or not a request: none of ours */
	ans = fx_dispatch(fx, "call.update",
	        "id=sip/9:peerid=dumb/9:operation=request:rtp_forward=yes:formats=mulaw", &handled);
	g_assert_false(handled);
	g_assert_cmpstr(ans, ==, "");
	g_free(ans);
	fx_free(fx);
}

/*
 * G.722 (Yate's g722/16000, or g722) is answered alone, and only where the
 * room mixes wideband (rate=16000); codecs= orders and limits what is
 * answered.  A G.722 leg's re-INVITE without G.722 is refused: ysipchan
 * keeps our first answer's formats.
 */
static void test_wideband_choice(void)
{
	struct fx *fx = fx_new(NULL);
	bool handled = false;
	char *ans;

	g_free(offer(fx, "id=sip/1:rtp_addr=10.0.0.5:rtp_port=4000:formats=mulaw,g722/16000,alaw:"
	                 "rtp_forward=yes:rate=16000:rtp_rfc2833=101"));
	g_assert_cmpint(media_of(fx)->codec, ==, CE_CODEC_G722);
	fx_expect_sent(fx, "",
	        "chan.masquerade:id=dumb/1:message=call.answered:rtp_forward=yes:"
	        "rtp_addr=127.0.0.1:rtp_port=40000:media=yes:formats=g722/16000:"
	        "transport=RTP/AVP:rtp_rfc2833=101\n");
	fx_flush(fx);
	fx_clear(fx);
	g_free(fx_dispatch(fx, "call.update", REINVITE ":formats=g722/16000,mulaw", &handled));
	g_assert_true(handled);
	g_assert_cmpint(media_of(fx)->codec, ==, CE_CODEC_G722);
	fx_expect_sent(fx, "call.update", NOTIFY("g722/16000"));
	fx_clear(fx);
	ans = fx_dispatch(fx, "call.update", REINVITE ":formats=mulaw,alaw", &handled);
	g_assert_false(handled);
	g_assert_cmpstr(ans, ==, "error=488:reason=Not Acceptable Here");
	g_assert_cmpint(media_of(fx)->codec, ==, CE_CODEC_G722);
	g_free(ans);
	fx_free(fx);
	/* a narrowband room: the laws, though the phone put G.722 first */
	fx = fx_new(NULL);
	g_free(offer(fx, "id=sip/1:rtp_addr=10.0.0.5:rtp_port=4000:formats=g722,mulaw,alaw:"
	                 "rtp_forward=yes"));
	g_assert_cmpint(media_of(fx)->codec, ==, CE_CODEC_PCMU);
	fx_expect_sent(fx, "",
	        "chan.masquerade:id=dumb/1:message=call.answered:rtp_forward=yes:"
	        "rtp_addr=127.0.0.1:rtp_port=40000:media=yes:formats=mulaw,alaw:"
	        "transport=RTP/AVP\n");
	fx_free(fx);
	/* codecs= puts A-law before G.722 and leaves mu-law out; rooms are wideband by default */
	fx = fx_new("[conference]\nrate=16000\ncodecs=alaw, g722\n");
	g_free(offer(fx, "id=sip/1:rtp_addr=10.0.0.5:rtp_port=4000:formats=g722/16000,mulaw,alaw:"
	                 "rtp_forward=yes"));
	g_assert_cmpint(media_of(fx)->codec, ==, CE_CODEC_PCMA);
	fx_expect_sent(fx, "",
	        "chan.masquerade:id=dumb/1:message=call.answered:rtp_forward=yes:"
	        "rtp_addr=127.0.0.1:rtp_port=40000:media=yes:formats=alaw:transport=RTP/AVP\n");
	fx_free(fx);
}

/* ---- Opus through ysipchan's raw SDP (forward_sdp=yes) ---- */

/*
 * What baresip 1.0.0 with its opus module offers (its SIP trace in
 * test-yate-opus.py), and what Yate makes of it: formats= without Opus,
 * the whole offer in sdp_raw with its CRLF line ends.
 */
#define BARESIP_OPUS(pts, addr)                                                                    \
	"v=0\r\n"                                                                                  \
	"o=- 3520196310 2207139180 IN IP4 127.0.0.1\r\n"                                           \
	"s=-\r\n"                                                                                  \
	"c=IN IP4 " addr "\r\n"                                                                    \
	"t=0 0\r\n"                                                                                \
	"a=tool:baresip 1.0.0\r\n"                                                                 \
	"m=audio 17996 RTP/AVP " pts "\r\n"                                                        \
	"a=rtpmap:111 opus/48000/2\r\n"                                                            \
	"a=fmtp:111 stereo=1;sprop-stereo=1;useinbandfec=1\r\n"                                    \
	"a=rtpmap:9 G722/8000\r\n"                                                                 \
	"a=rtpmap:0 PCMU/8000\r\n"                                                                 \
	"a=rtpmap:101 telephone-event/8000\r\n"                                                    \
	"a=fmtp:101 0-15\r\n"                                                                      \
	"a=sendrecv\r\n"
#define OPUS_FIRST BARESIP_OPUS("111 9 0 101", "127.0.0.1")
#define EXEC_OPUS                                                                                  \
	"id=sip/1:rtp_addr=127.0.0.1:rtp_port=17996:media=yes:formats=g722/16000,mulaw:"           \
	"transport=RTP/AVP:rtp_rfc2833=101:rtp_forward=yes"

/* call.execute @params plus the phone's raw offer @sdp (NULL: none), then Yate's dumb/1. */
static char *offer_sdp(struct fx *fx, const char *params, const char *sdp)
{
	char *full = g_strdup_printf("%s:callto=conf/bp1", params);
	struct ce_msg *m = fx_msg("call.execute", full);
	char *ans, *seen;

	if (sdp)
		ce_msg_add(m, "sdp_raw", sdp);
	ans = fx_dispatch_msg(fx, m, NULL);
	ce_msg_unref(m);
	seen = g_strdup_printf("%s:%s:peerid=dumb/1:targetid=dumb/1", full, ans);
	fx_watch(fx, "call.execute", seen, true);
	g_free(seen);
	g_free(full);
	return ans;
}

/* The last message still unanswered that is @name (with message=@what if given). */
static const struct ce_msg *pending(struct fx *fx, const char *name, const char *what)
{
	for (GList *i = fx->pending.tail; i; i = i->prev) {
		const struct fx_pending *p = i->data;

		if (!strcmp(p->msg->name, name) &&
		        (!what || !g_strcmp0(ce_msg_get(p->msg, "message"), what)))
			return p->msg;
	}
	g_assert_not_reached();
	return NULL;
}

/* Our SDP answer's o= line holds the engine's session id: @sdp with it as "o=ID VER". */
static char *without_sess(const char *sdp)
{
	GRegex *re = g_regex_new("o=conf-engine [0-9]+ ", 0, 0, NULL);
	char *out = g_regex_replace_literal(re, sdp, -1, 0, "o=ID ", 0, NULL);

	g_regex_unref(re);
	return out;
}

/* Our answer to the phone, as the masqueraded call.answered carries it for ysipchan. */
static char *answered_sdp(struct fx *fx)
{
	const struct ce_msg *m = pending(fx, "chan.masquerade", "call.answered");

	g_assert_cmpstr(ce_msg_get(m, "rtp_forward"), ==, "yes");
	g_assert_null(ce_msg_get(m, "formats")); /* Yate has no name for it */
	return without_sess(ce_msg_get_def(m, "sdp_raw", ""));
}

#define OPUS_ANSWER(rate, dir, ver)                                                                \
	"v=0\r\n"                                                                                  \
	"o=ID " ver " IN IP4 127.0.0.1\r\n"                                                        \
	"s=conf-engine\r\n"                                                                        \
	"c=IN IP4 127.0.0.1\r\n"                                                                   \
	"t=0 0\r\n"                                                                                \
	"m=audio 40000 RTP/AVP 111 101\r\n"                                                        \
	"a=rtpmap:111 opus/48000/2\r\n"                                                            \
	"a=fmtp:111 maxplaybackrate=" rate ";sprop-maxcapturerate=" rate ";useinbandfec=1\r\n"     \
	"a=rtpmap:101 telephone-event/8000\r\n"                                                    \
	"a=fmtp:101 0-15\r\n"                                                                      \
	"a=ptime:20\r\n"                                                                           \
	"a=" dir "\r\n"

static void assert_opus_answer(struct fx *fx, const char *want)
{
	char *got = answered_sdp(fx);

	g_assert_cmpstr(got, ==, want);
	g_free(got);
}

/*
 * A wideband room, the phone offers Opus first: Opus on its payload type,
 * with its FEC wish and its telephone-event, answered in sdp_raw; no
 * chan.rtp.  Its address is Yate's rtp_addr (which accounts for a NAT).
 */
static void test_opus_first(void)
{
	struct fx *fx = fx_new(NULL);
	char *ans = offer_sdp(fx,
	        "id=sip/1:rtp_addr=203.0.113.9:rtp_port=17996:media=yes:formats=g722/16000,mulaw:"
	        "transport=RTP/AVP:rtp_rfc2833=101:rtp_forward=yes:rate=16000",
	        OPUS_FIRST);
	struct fx_leg *l = media_of(fx);
	GString *show = g_string_new(NULL);

	g_assert_cmpstr(ans, ==,
	        "rtp_forward=accepted:callto=dumb/:ce_room=bp1:room=conf/bp1:newroom=true:users=1");
	g_assert_true(l->started && l->direct);
	g_assert_cmpint(l->codec, ==, CE_CODEC_OPUS);
	g_assert_cmpint(l->pt, ==, 111);
	g_assert_true(l->fec);
	g_assert_cmpint(l->dtmf_pt, ==, 101);
	g_assert_cmpstr(l->ip, ==, "203.0.113.9");
	g_assert_cmpuint(l->port, ==, 17996);
	assert_opus_answer(fx, OPUS_ANSWER("16000", "sendrecv", "1"));
	g_assert_cmpuint(fx->sent->len, ==, 1); /* the answer alone: no chan.rtp */
	fx_flush(fx);
	g_assert_cmpint(ce_leg_find(fx->conf, "dumb/1")->state, ==, CE_LEG_JOINED);
	/* the console says what it was answered */
	g_assert_cmpint(ce_conf_show(fx->conf, "bp1", show), ==, 0);
	g_assert_nonnull(strstr(show->str, " talking=false direct=true codec=opus\r\n"));
	g_string_free(show, TRUE);
	g_free(ans);
	fx_free(fx);
	/* a narrowband room: Opus too, heard and sent no wider than 8 kHz */
	fx = fx_new(NULL);
	g_free(offer_sdp(fx, EXEC_OPUS, OPUS_FIRST));
	g_assert_cmpint(media_of(fx)->codec, ==, CE_CODEC_OPUS);
	assert_opus_answer(fx, OPUS_ANSWER("8000", "sendrecv", "1"));
	fx_free(fx);
	/* a fullband room (rate=48000, honoured as asked): the phone may send its full band */
	fx = fx_new(NULL);
	g_free(offer_sdp(fx, EXEC_OPUS ":rate=48000", OPUS_FIRST));
	g_assert_cmpint(media_of(fx)->codec, ==, CE_CODEC_OPUS);
	assert_opus_answer(fx, OPUS_ANSWER("48000", "sendrecv", "1"));
	fx_free(fx);
	/* 44100 is not a rate the media mixes at: wideband, as before */
	fx = fx_new(NULL);
	g_free(offer_sdp(fx, EXEC_OPUS ":rate=44100", OPUS_FIRST));
	assert_opus_answer(fx, OPUS_ANSWER("16000", "sendrecv", "1"));
	fx_free(fx);
}

/* codecs= decides, not the phone's order; what it leaves out is not answered. */
static void test_opus_codecs_order(void)
{
	const char *second = BARESIP_OPUS("9 0 111 101", "127.0.0.1");
	struct fx *fx = fx_new(NULL);
	char *ans;

	/* Opus second in the offer: still Opus, first of the default codecs= */
	g_free(offer_sdp(fx, EXEC_OPUS ":rate=16000", second));
	g_assert_cmpint(media_of(fx)->codec, ==, CE_CODEC_OPUS);
	fx_free(fx);
	/* G.722 before Opus: G.722 in a wideband room, from formats=, no sdp_raw */
	fx = fx_new("[conference]\ncodecs=g722,opus,mulaw\n");
	g_free(offer_sdp(fx, EXEC_OPUS ":rate=16000", OPUS_FIRST));
	g_assert_cmpint(media_of(fx)->codec, ==, CE_CODEC_G722);
	fx_expect_sent(fx, "",
	        "chan.masquerade:id=dumb/1:message=call.answered:rtp_forward=yes:"
	        "rtp_addr=127.0.0.1:rtp_port=40000:media=yes:formats=g722/16000:"
	        "transport=RTP/AVP:rtp_rfc2833=101\n");
	fx_free(fx);
	/* ... but G.722 is for wideband rooms only: Opus in a narrowband one */
	fx = fx_new("[conference]\ncodecs=g722,opus,mulaw\n");
	g_free(offer_sdp(fx, EXEC_OPUS, OPUS_FIRST));
	g_assert_cmpint(media_of(fx)->codec, ==, CE_CODEC_OPUS);
	fx_free(fx);
	/* no opus in codecs=: the laws, as without forward_sdp */
	fx = fx_new("[conference]\ncodecs=mulaw,alaw\n");
	ans = offer_sdp(fx, EXEC_OPUS ":rate=16000", OPUS_FIRST);
	g_assert_cmpstr(ans, ==,
	        "rtp_forward=accepted:callto=dumb/:ce_room=bp1:room=conf/bp1:newroom=true:users=1");
	g_assert_cmpint(media_of(fx)->codec, ==, CE_CODEC_PCMU);
	g_assert_cmpint(media_of(fx)->pt, ==, 0);
	fx_expect_sent(fx, "",
	        "chan.masquerade:id=dumb/1:message=call.answered:rtp_forward=yes:"
	        "rtp_addr=127.0.0.1:rtp_port=40000:media=yes:formats=mulaw:"
	        "transport=RTP/AVP:rtp_rfc2833=101\n");
	g_free(ans);
	fx_free(fx);
	/* a route's forward_sdp=no: ysipchan would not read our sdp_raw, so formats= it is */
	fx = fx_new(NULL);
	g_free(offer_sdp(fx, EXEC_OPUS ":rate=16000:forward_sdp=no", OPUS_FIRST));
	g_assert_cmpint(media_of(fx)->codec, ==, CE_CODEC_G722);
	fx_free(fx);
	/* a phone without Opus, forward_sdp on: exactly as without it */
	fx = fx_new(NULL);
	g_free(offer_sdp(fx, EXEC4 ":rtp_forward=yes",
	        "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 45066 RTP/AVP 0 8 101\r\n"
	        "a=rtpmap:101 telephone-event/8000\r\n"));
	g_assert_cmpint(media_of(fx)->codec, ==, CE_CODEC_PCMU);
	fx_expect_sent(fx, "",
	        "chan.masquerade:id=dumb/1:message=call.answered:rtp_forward=yes:"
	        "rtp_addr=127.0.0.1:rtp_port=40000:media=yes:formats=mulaw,alaw:"
	        "transport=RTP/AVP:rtp_rfc2833=101\n");
	fx_free(fx);
}

/* Notes (NOTE and above) logged meanwhile. */
static void note_sink(enum ce_log_level level, const char *domain, const char *text, void *arg)
{
	(void)domain;
	if (level <= CE_LOG_NOTE)
		g_string_append_printf(arg, "%s\n", text);
}

/*
 * An offer Opus cannot be answered from falls back to formats= and says
 * why: unreadable, SRTP.  An offer with only Opus comes with no rtp_addr
 * and no formats= (Yate's parser kept no codec): its own address serves.
 */
static void test_opus_fallback(void)
{
	GString *notes = g_string_new(NULL);
	struct fx *fx;

	ce_log_init();
	ce_log_set_sink(note_sink, notes);
	fx = fx_new(NULL);
	g_free(offer_sdp(fx, EXEC_OPUS ":rate=16000", "m=audio 17996 RTP/AVP 111\r\n"));
	g_assert_cmpint(media_of(fx)->codec, ==, CE_CODEC_G722);
	g_assert_nonnull(strstr(notes->str,
	        "sip/1: the phone's raw SDP (sdp_raw) is unreadable (not SDP (no v=0 first)): "
	        "answered from formats="));
	fx_free(fx);
	g_string_truncate(notes, 0);
	fx = fx_new(NULL);
	g_free(offer_sdp(fx, EXEC_OPUS, BARESIP_OPUS("111 0", "0.0.0.0")));
	g_assert_cmpint(media_of(fx)->codec, ==, CE_CODEC_PCMU);
	g_assert_nonnull(strstr(notes->str, "sip/1: the phone's Opus is not plain RTP"));
	fx_free(fx);
	/* Opus alone: Yate says nothing but sdp_raw */
	fx = fx_new(NULL);
	g_free(offer_sdp(fx, "id=sip/1:rtp_forward=yes", BARESIP_OPUS("111", "192.0.2.7")));
	g_assert_cmpint(media_of(fx)->codec, ==, CE_CODEC_OPUS);
	g_assert_cmpstr(media_of(fx)->ip, ==, "192.0.2.7");
	g_assert_cmpuint(media_of(fx)->port, ==, 17996);
	g_assert_cmpint(media_of(fx)->dtmf_pt, ==, -1);
	fx_free(fx);
	/* no sdp_raw and nothing to answer: relayed, nothing said */
	g_string_truncate(notes, 0);
	fx = fx_new(NULL);
	g_free(offer(fx, "id=sip/1:rtp_addr=10.0.0.5:rtp_port=4000:formats=gsm:rtp_forward=yes"));
	g_assert_false(media_of(fx)->direct);
	g_assert_cmpstr(notes->str, ==, "");
	fx_free(fx);
	/* no sdp_raw though codecs= lists opus: said once, answered as before */
	fx = fx_new(NULL);
	g_free(offer(fx, EXEC4 ":rtp_forward=yes"));
	g_assert_nonnull(strstr(notes->str,
	        "bypassed calls come without the phone's raw SDP (sip/1): Opus phones are "
	        "answered mulaw; forward_sdp=yes in ysipchan.conf [general]"));
	g_assert_true(fx->conf->noted_no_raw);
	fx_free(fx);
	g_string_truncate(notes, 0);
	fx = fx_new("[conference]\ncodecs=mulaw\n");
	g_free(offer(fx, EXEC4 ":rtp_forward=yes"));
	g_assert_cmpstr(notes->str, ==, "");
	fx_free(fx);
	ce_log_set_sink(NULL, NULL);
	g_string_free(notes, TRUE);
}

/* A re-INVITE of an Opus phone (call.update with sdp_raw) for @fx's leg. */
static char *opus_reinvite(struct fx *fx, const char *sdp, bool *handled)
{
	struct ce_msg *m = fx_msg("call.update", "id=sip/1:peerid=dumb/1:operation=request:"
	                                         "rtp_forward=yes:rtp_addr=127.0.0.1:"
	                                         "rtp_port=17996:formats=g722/16000,mulaw");
	char *ans;

	ce_msg_add(m, "sdp_raw", sdp);
	ans = fx_dispatch_msg(fx, m, handled);
	ce_msg_unref(m);
	return ans;
}

/* Our answer to a re-INVITE, as the call.update notify carries it. */
static char *notified_sdp(struct fx *fx)
{
	const struct ce_msg *m = pending(fx, "call.update", NULL);

	g_assert_cmpstr(ce_msg_get(m, "operation"), ==, "notify");
	g_assert_cmpstr(ce_msg_get(m, "targetid"), ==, "sip/1");
	return without_sess(ce_msg_get_def(m, "sdp_raw", ""));
}

/* Yate answers our pending call.update notify false (ysipchan's error=nocall); then the engine's
 * retry comes (bounded wait on the main context). */
static void refuse_notify(struct fx *fx)
{
	struct fx_pending *p = g_queue_pop_tail(&fx->pending);
	gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

	g_assert_nonnull(p);
	g_assert_cmpstr(p->msg->name, ==, "call.update");
	ce_msg_set(p->msg, "error", "nocall");
	p->done(p->msg, false, p->arg);
	ce_msg_unref(p->msg);
	g_free(p);
	while (g_queue_is_empty(&fx->pending) && g_get_monotonic_time() < end)
		g_main_context_iteration(NULL, TRUE);
}

/*
 * Hold and resume of an Opus phone: its direction turned round in our
 * raw answer, the version one more each time; an offer without Opus, or
 * with it on another payload type, is refused (488) and nothing changes.
 */
static void test_opus_reinvite(void)
{
	struct fx *fx = fx_new(NULL);
	char *hold = g_strdup(OPUS_FIRST), *got;
	bool handled = false;
	struct fx_leg *l;

	memcpy(strstr(hold, "a=sendrecv"), "a=sendonly", 10);
	g_free(offer_sdp(fx, EXEC_OPUS ":rate=16000", OPUS_FIRST));
	fx_flush(fx);
	fx_clear(fx);
	l = media_of(fx);
	g_free(opus_reinvite(fx, hold, &handled));
	g_assert_true(handled);
	g_assert_cmpint(l->flags & (CE_LEG_MUTE | CE_LEG_DEAF), ==, CE_LEG_MUTE | CE_LEG_DEAF);
	got = notified_sdp(fx);
	g_assert_cmpstr(got, ==, OPUS_ANSWER("16000", "recvonly", "2"));
	g_free(got);
	/* ysipchan has not kept the re-INVITE yet (error=nocall): the same answer is offered
	 * again a little later, with the same version (a loaded Yate showed 1, 3, 4) */
	refuse_notify(fx);
	got = notified_sdp(fx);
	g_assert_cmpstr(got, ==, OPUS_ANSWER("16000", "recvonly", "2"));
	g_free(got);
	fx_flush(fx);
	fx_clear(fx);
	g_free(opus_reinvite(fx, OPUS_FIRST, &handled));
	g_assert_true(handled);
	g_assert_cmpint(l->flags & (CE_LEG_MUTE | CE_LEG_DEAF), ==, 0);
	got = notified_sdp(fx);
	g_assert_cmpstr(got, ==, OPUS_ANSWER("16000", "sendrecv", "3"));
	g_free(got);
	fx_flush(fx);
	fx_clear(fx);
	/* G.711 alone, Opus on another type, no raw SDP: refused, the leg as it was */
	got = opus_reinvite(
	        fx, "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 17996 RTP/AVP 0\r\n", &handled);
	g_assert_false(handled);
	g_assert_cmpstr(got, ==, "error=488:reason=Not Acceptable Here");
	g_free(got);
	g_free(opus_reinvite(fx,
	        "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 17996 RTP/AVP 96\r\n"
	        "a=rtpmap:96 opus/48000/2\r\n",
	        &handled));
	g_assert_false(handled);
	g_free(fx_dispatch(fx, "call.update", REINVITE ":formats=mulaw", &handled));
	g_assert_false(handled);
	g_assert_cmpint(l->codec, ==, CE_CODEC_OPUS);
	g_assert_cmpuint(fx->sent->len, ==, 0);
	g_free(hold);
	fx_free(fx);
}

/*
 * A crash: the journal keeps an Opus leg's payload type and FEC wish
 * (no format name says them), and the next engine resumes it with them.
 */
static void test_opus_journal(void)
{
	char *dir = g_dir_make_tmp("ce-bypass-XXXXXX", NULL);
	char *conf = g_strdup_printf("[conference]\njournal=%s/legs.journal\n", dir);
	char *path = g_build_filename(dir, "legs.journal", NULL);
	struct fx *fx = fx_new(conf);
	char *text = NULL, *end;
	struct fx_leg *l;

	fx_link_event(fx, "state=up:yate=6.4.1:runid=300:restarted=false");
	g_free(offer_sdp(fx, EXEC_OPUS, OPUS_FIRST));
	fx_flush(fx);
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	g_assert_nonnull(strstr(text, "\tformat=opus\t"));
	g_assert_nonnull(strstr(text, "\tdirect=true\tdtmf_pt=101\tpt=111\tfec=true\t"));
	/* the engine dies here: its enter line is all the next one finds (not the leave) */
	end = strchr(text, '\n');
	g_assert_nonnull(end);
	end[1] = 0;
	fx_free(fx);
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	fx = fx_new(conf);
	fx->yate_has = " dumb/1 ";
	fx_link_event(fx, "state=up:yate=6.4.1:runid=300:restarted=false");
	l = media_of(fx);
	g_assert_true(l->started && l->direct);
	g_assert_cmpint(l->codec, ==, CE_CODEC_OPUS);
	g_assert_cmpint(l->pt, ==, 111);
	g_assert_true(l->fec);
	fx_free(fx);
	g_free(text);
	g_free(path);
	g_free(conf);
	fx_rm(dir);
	g_free(dir);
}

/* noise_suppression= and agc= of a call, over [conference]'s defaults, reach its media leg. */
static void test_dsp_params(void)
{
	struct fx *fx = fx_new("[conference]\nagc=true\n");
	struct ce_leg *a = fx_join(fx, "r", "sip/1", 1, "noise_suppression=yes:lonely=true");
	struct ce_leg *b = fx_join(fx, "r", "sip/2", 2, "agc=false");
	unsigned fa = ((struct fx_leg *)a->media)->flags, fb = ((struct fx_leg *)b->media)->flags;

	g_assert_cmpuint(fa & (CE_LEG_NS | CE_LEG_AGC), ==, CE_LEG_NS | CE_LEG_AGC);
	g_assert_cmpuint(fb & (CE_LEG_NS | CE_LEG_AGC), ==, 0);
	fx_free(fx);
}

/* Switched mid-call (conf dsp): the leg's media flags follow, once per change. */
static void test_dsp_switch(void)
{
	struct fx *fx = fx_new(NULL);
	struct ce_leg *a = fx_join(fx, "r", "sip/1", 1, "lonely=true");
	struct fx_leg *l = (struct fx_leg *)a->media;

	g_assert_cmpuint(l->flags & (CE_LEG_NS | CE_LEG_AGC), ==, 0);
	ce_leg_set_dsp(a, true, false);
	g_assert_cmpuint(l->flags & (CE_LEG_NS | CE_LEG_AGC), ==, CE_LEG_NS);
	ce_leg_set_dsp(a, true, true);
	g_assert_cmpuint(l->flags & (CE_LEG_NS | CE_LEG_AGC), ==, CE_LEG_NS | CE_LEG_AGC);
	ce_leg_set_dsp(a, false, false);
	g_assert_cmpuint(l->flags & (CE_LEG_NS | CE_LEG_AGC), ==, 0);
	g_assert_false(a->ns || a->agc);
	fx_free(fx);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/conference/bypass/transcript4", test_transcript4);
	g_test_add_func("/conference/bypass/fallback", test_fallback);
	g_test_add_func("/conference/bypass/refused-warns-once", test_refused_warns_once);
	g_test_add_func("/conference/bypass/codec-choice", test_codec_choice);
	g_test_add_func("/conference/bypass/wideband-choice", test_wideband_choice);
	g_test_add_func("/conference/bypass/rtp-dtmf", test_rtp_dtmf);
	g_test_add_func("/conference/bypass/reinvite-hold", test_reinvite_hold);
	g_test_add_func("/conference/bypass/reinvite-codec", test_reinvite_codec);
	g_test_add_func("/conference/bypass/opus-first", test_opus_first);
	g_test_add_func("/conference/bypass/opus-codecs-order", test_opus_codecs_order);
	g_test_add_func("/conference/bypass/opus-fallback", test_opus_fallback);
	g_test_add_func("/conference/bypass/opus-reinvite", test_opus_reinvite);
	g_test_add_func("/conference/bypass/opus-journal", test_opus_journal);
	g_test_add_func("/conference/leg/dsp-params", test_dsp_params);
	g_test_add_func("/conference/leg/dsp-switch", test_dsp_switch);
	return g_test_run();
}
