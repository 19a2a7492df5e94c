/* test-sdp.c - the phone's raw SDP (sdp.h): real offers, hostile ones, our answers */
#include <string.h>
#include <glib.h>

#include "modules/conference/sdp.h"

/* What baresip 1.0.0 offered Yate in test-yate-wideband.py (its SIP trace), bytes as sent. */
static const char baresip_g722[] = "v=0\r\n"
                                   "o=- 1464928229 650127370 IN IP4 127.0.0.1\r\n"
                                   "s=-\r\n"
                                   "c=IN IP4 127.0.0.1\r\n"
                                   "t=0 0\r\n"
                                   "a=tool:baresip 1.0.0\r\n"
                                   "m=audio 17996 RTP/AVP 9 0 101\r\n"
                                   "a=rtpmap:9 G722/8000\r\n"
                                   "a=rtpmap:0 PCMU/8000\r\n"
                                   "a=rtpmap:101 telephone-event/8000\r\n"
                                   "a=fmtp:101 0-15\r\n"
                                   "a=sendrecv\r\n"
                                   "a=label:1\r\n"
                                   "a=rtcp-rsize\r\n"
                                   "a=ssrc:435243180 cname:sip:phone1@127.0.0.1:42279\r\n";

/* An Opus phone with video first and its audio on an address of its own. */
static const char opus_video[] = "v=0\n"
                                 "o=- 4611731400430051336 2 IN IP4 192.0.2.1\n"
                                 "s=-\n"
                                 "c=IN IP4 192.0.2.1\n"
                                 "t=0 0\n"
                                 "a=sendonly\n"
                                 "m=video 9000 RTP/AVP 96\n"
                                 "a=rtpmap:96 VP8/90000\n"
                                 "a=recvonly\n"
                                 "m=audio 50000 RTP/AVP 111 0 8 126\n"
                                 "c=IN IP4 198.51.100.7\n"
                                 "a=rtpmap:111 opus/48000/2\n"
                                 "a=fmtp:111 minptime=10;useinbandfec=1\n"
                                 "a=rtpmap:126 telephone-event/8000\n"
                                 "a=ptime:20\n"
                                 "m=audio 50002 RTP/AVP 0\n";

static void test_baresip(void)
{
	struct ce_sdp_offer o;
	const char *why = "x";

	g_assert_cmpint(ce_sdp_parse(baresip_g722, &o, &why), ==, 0);
	g_assert_null(why);
	g_assert_cmpstr(o.addr, ==, "127.0.0.1");
	g_assert_cmpuint(o.port, ==, 17996);
	g_assert_cmpstr(o.proto, ==, "RTP/AVP");
	g_assert_cmpuint(o.n_fmts, ==, 3);
	g_assert_cmpint(o.fmts[0].pt, ==, 9);
	g_assert_cmpstr(o.fmts[0].name, ==, "G722");
	g_assert_cmpuint(o.fmts[0].rate, ==, 8000);
	g_assert_cmpstr(ce_sdp_find(&o, "telephone-event", 8000)->fmtp, ==, "0-15");
	g_assert_cmpint(ce_sdp_find(&o, "pcmu", 0)->pt, ==, 0);
	g_assert_null(ce_sdp_find(&o, "opus", 0));
	g_assert_cmpint(o.dir, ==, CE_SDP_SENDRECV);
}

/* The first audio stream only; its own c= over the session's; the session's direction. */
static void test_opus(void)
{
	struct ce_sdp_offer o;
	const struct ce_sdp_fmt *f;
	const char *why;

	g_assert_cmpint(ce_sdp_parse(opus_video, &o, &why), ==, 0);
	g_assert_cmpstr(o.addr, ==, "198.51.100.7");
	g_assert_cmpuint(o.port, ==, 50000);
	g_assert_cmpuint(o.n_fmts, ==, 4);
	f = ce_sdp_find(&o, "opus", 48000);
	g_assert_nonnull(f);
	g_assert_cmpint(f->pt, ==, 111);
	g_assert_cmpuint(f->channels, ==, 2);
	g_assert_cmpstr(f->fmtp, ==, "minptime=10;useinbandfec=1");
	/* a static type with no rtpmap has its RFC 3551 name */
	g_assert_cmpint(ce_sdp_find(&o, "PCMA", 8000)->pt, ==, 8);
	g_assert_cmpuint(o.ptime, ==, 20);
	g_assert_cmpint(o.dir, ==, CE_SDP_SENDONLY); /* the session's; the video's is not ours */
}

/* A hold: 0.0.0.0 reads as no address; a=inactive in the stream. */
static void test_hold(void)
{
	struct ce_sdp_offer o;
	const char *why;

	g_assert_cmpint(ce_sdp_parse("v=0\r\nc=IN IP4 0.0.0.0\r\nm=audio 4000 RTP/AVP 0\r\n"
	                             "a=inactive\r\n",
	                        &o, &why),
	        ==, 0);
	g_assert_cmpstr(o.addr, ==, "");
	g_assert_cmpint(o.dir, ==, CE_SDP_INACTIVE);
}

/* Whatever is not an offer of an audio stream is refused with a reason, and reads as nothing. */
static void test_hostile(void)
{
	static const char *const bad[] = {
	        "",
	        "m=audio 4000 RTP/AVP 0\r\n",                    /* no v=0 */
	        "v=0\r\nm=video 4000 RTP/AVP 96\r\n",            /* no audio */
	        "v=0\r\nm=audio 70000 RTP/AVP 0\r\n",            /* port */
	        "v=0\r\nm=audio 4000 RTP/AVP 0 128\r\n",         /* payload type */
	        "v=0\r\nm=audio 4000 RTP/AVP\r\n",               /* no format */
	        "v=0\r\nm=audio -1 RTP/AVP 0\r\n",               /* port */
	        "v=0\r\nm=audio 4000 RTP/AVP 0x\r\n",            /* payload type */
	        "v=0\r\nc=IN IP4\r\nm=audio 4000 RTP/AVP 0\r\n", /* c= */
	        "v=0\r\nc=IN XX 1.2.3.4\r\nm=audio 4000 RTP/AVP 0\r\n",
	        "v=0\r\nhello\r\nm=audio 4000 RTP/AVP 0\r\n", /* no '=' */
	        "v=0\r\nm=audio 99999999999999999999 RTP/AVP 0\r\n",
	};
	struct ce_sdp_offer o;
	const char *why;

	for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
		why = NULL;
		g_assert_cmpint(ce_sdp_parse(bad[i], &o, &why), ==, -EINVAL);
		g_assert_nonnull(why);
		g_assert_cmpuint(o.n_fmts, ==, 0);
	}
	g_assert_cmpint(ce_sdp_parse(NULL, &o, &why), ==, -EINVAL);
	/* 100 KB: refused before it is read */
	{
		char *big = g_strnfill(100000, 'a');

		memcpy(big, "v=0\r\n", 5);
		g_assert_cmpint(ce_sdp_parse(big, &o, &why), ==, -EINVAL);
		g_free(big);
	}
	/* long names and fmtp lines are cut or left, never overrun; extra payload types ignored */
	{
		GString *s = g_string_new("v=0\r\nm=audio 4000 RTP/AVP");

		for (int pt = 0; pt < 40; pt++)
			g_string_append_printf(s, " %d", 96 + pt % 32);
		g_string_append(s, "\r\na=rtpmap:96 ");
		for (int i = 0; i < 100; i++)
			g_string_append_c(s, 'x');
		g_string_append(s, "/48000\r\na=fmtp:97 ");
		for (int i = 0; i < 1000; i++)
			g_string_append_c(s, 'y');
		g_string_append(s, "\r\n");
		g_assert_cmpint(ce_sdp_parse(s->str, &o, &why), ==, 0);
		g_assert_cmpuint(o.n_fmts, ==, CE_SDP_MAX_FMTS);
		g_assert_cmpstr(o.fmts[0].name, ==, ""); /* too long a name: no rtpmap taken */
		g_assert_cmpuint(strlen(o.fmts[1].fmtp), ==, sizeof(o.fmts[1].fmtp) - 1);
		g_string_free(s, TRUE);
	}
}

/* Our answer reads back as what we meant; a sendonly offer is answered recvonly. */
static void test_answer(void)
{
	struct ce_sdp_offer o, a;
	const struct ce_sdp_fmt *opus, *te;
	const char *why;
	char *ans;

	g_assert_cmpint(ce_sdp_parse(opus_video, &o, &why), ==, 0);
	opus = ce_sdp_find(&o, "opus", 48000);
	te = ce_sdp_find(&o, "telephone-event", 8000);
	ans = ce_sdp_answer("203.0.113.5", 40000, opus, te, "useinbandfec=1;maxplaybackrate=16000",
	        o.dir, 1234, 2);
	g_assert_nonnull(strstr(ans, "o=conf-engine 1234 2 IN IP4 203.0.113.5\r\n"));
	g_assert_nonnull(strstr(ans, "a=rtpmap:111 opus/48000/2\r\n"));
	g_assert_nonnull(strstr(ans, "a=recvonly\r\n"));
	g_assert_cmpint(ce_sdp_parse(ans, &a, &why), ==, 0);
	g_assert_cmpstr(a.addr, ==, "203.0.113.5");
	g_assert_cmpuint(a.port, ==, 40000);
	g_assert_cmpuint(a.n_fmts, ==, 2);
	g_assert_cmpint(a.fmts[0].pt, ==, 111);
	g_assert_cmpstr(a.fmts[0].fmtp, ==, "useinbandfec=1;maxplaybackrate=16000");
	g_assert_cmpint(a.fmts[1].pt, ==, 126);
	g_assert_cmpint(a.dir, ==, CE_SDP_RECVONLY);
	g_free(ans);
	ans = ce_sdp_answer("2001:db8::1", 40000, opus, NULL, NULL, CE_SDP_SENDRECV, 1, 1);
	g_assert_nonnull(strstr(ans, "c=IN IP6 2001:db8::1\r\n"));
	g_assert_null(strstr(ans, "telephone-event"));
	g_free(ans);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sdp/baresip", test_baresip);
	g_test_add_func("/sdp/opus", test_opus);
	g_test_add_func("/sdp/hold", test_hold);
	g_test_add_func("/sdp/hostile", test_hostile);
	g_test_add_func("/sdp/answer", test_answer);
	return g_test_run();
}
