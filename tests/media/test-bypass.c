/* test-bypass.c - legs fed straight by phones: latching and RFC 4733 keys, on loopback UDP
 *
 * A phone's RTP comes to the media thread's one socket from wherever its
 * NAT puts it (media.h, struct ce_media_leg_opts).  Each case makes legs
 * with the bypass options, sends real RTP from real sockets on 127/8
 * (127.0.0.2 and 127.0.0.3 are other hosts), steps the media thread on the
 * test's clock and looks at what the legs' far ends get, the events and
 * the counters.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <glib.h>

#include "media/media.h"
#include "media/media-priv.h"
#include "media/rtp.h"
#include "tests/media/testclock.h"
#include "tests/testutil.h"

#define DTMF_PT  101
#define MAX_EVS  64
#define MAX_LEGS 8

struct ev {
	enum ce_media_ev_type type;
	struct ce_media_leg *leg;
	char digit;
	unsigned port; /* LATCHED: the port it latched to */
};

struct bp {
	struct ce_test_clock clock;
	struct ce_media *m;
	struct ce_media_room *room;
	struct sockaddr_in media; /* where the phones send */
	struct ev ev[MAX_EVS];
	unsigned n_ev;
	struct ce_media_leg *legs[MAX_LEGS]; /* NULL once freed */
	unsigned n_legs;
};

/* A phone: a socket on some IP of 127/8, and its RTP stream. */
struct phone {
	int fd;
	struct sockaddr_in addr;
	uint32_t ssrc, ts;
	uint16_t seq;
};

static void on_event(const struct ce_media_event *mev, void *arg)
{
	struct bp *t = arg;
	struct ev *e = &t->ev[t->n_ev];

	if (mev->type != CE_MEDIA_EV_DTMF && mev->type != CE_MEDIA_EV_LATCHED &&
	        mev->type != CE_MEDIA_EV_RTP_TIMEOUT)
		return;
	g_assert_cmpuint(t->n_ev, <, MAX_EVS);
	t->n_ev++;
	e->type = mev->type;
	e->leg = mev->leg;
	e->digit = mev->digit;
	if (mev->type == CE_MEDIA_EV_LATCHED) {
		g_assert_cmpint(mev->from.ss_family, ==, AF_INET);
		e->port = ntohs(((const struct sockaddr_in *)&mev->from)->sin_port);
	}
}

static void leg_gone(gpointer data)
{
	struct ce_media_leg **slot = data;

	*slot = NULL;
}

static void setup(struct bp *t, unsigned rtp_timeout_ms)
{
	struct ce_media_conf conf;
	struct sockaddr_storage ss;
	socklen_t len;
	GError *error = NULL;

	memset(t, 0, sizeof(*t));
	ce_test_clock_init(&t->clock);
	ce_media_conf_default(&conf);
	conf.bind_ip = "127.0.0.1";
	conf.rtp_timeout_ms = rtp_timeout_ms;
	conf.clock = &t->clock.clock;
	g_assert_cmpint(ce_media_new(&t->m, &conf, on_event, t, &error), ==, 0);
	g_assert_no_error(error);
	g_assert_cmpint(ce_media_room_new(&t->room, t->m, 8000, 4, 0, 1000), ==, 0);
	ce_media_room_local(t->room, &ss, &len);
	memcpy(&t->media, &ss, sizeof(t->media));
}

/* Free every leg left and the room, wait until they are handed back, stop. */
static void finish(struct bp *t)
{
	gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	bool left = true;

	ce_media_room_free(t->room);
	while (left && g_get_monotonic_time() < deadline) {
		ce_test_step_wake(&t->clock);
		left = false;
		for (unsigned i = 0; i < t->n_legs; i++)
			left |= t->legs[i] != NULL;
	}
	g_assert_false(left);
	ce_test_clock_release(&t->clock);
	ce_media_free(t->m);
	ce_test_clock_clear(&t->clock);
}

static struct sockaddr_in addr_of(const char *ip, unsigned port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};

	g_assert_cmpint(inet_pton(AF_INET, ip, &a.sin_addr), ==, 1);
	return a;
}

static void phone_open(struct phone *p, const char *ip, uint32_t ssrc)
{
	struct sockaddr_in a = addr_of(ip, 0);
	socklen_t len = sizeof(p->addr);

	memset(p, 0, sizeof(*p));
	p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	g_assert_cmpint(p->fd, >=, 0);
	g_assert_cmpint(bind(p->fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
	getsockname(p->fd, (struct sockaddr *)&p->addr, &len);
	p->ssrc = ssrc;
	p->seq = 1000;
	p->ts = 8000;
}

static unsigned port_of(const struct phone *p)
{
	return ntohs(p->addr.sin_port);
}

/*
 * A leg of the room on @remote (a phone's address, or 127.0.0.1:@port),
 * latching if @latch, with the SIP peer @sig (NULL: none) and @dtmf_pt;
 * returns ce_media_leg_new_opts()'s result, the leg in t->legs[*slot].
 */
static int leg_add(struct bp *t, const struct sockaddr_in *remote, bool latch, const char *sig,
        int dtmf_pt, unsigned *slot)
{
	/* a latching leg is a phone's: it may send either law (docs/bypass.md) */
	struct ce_media_leg_opts opts = {.dtmf_pt = dtmf_pt, .latch = latch, .both_laws = latch};
	unsigned i = t->n_legs;
	int err;

	if (sig) {
		struct sockaddr_in a = addr_of(sig, 5060);

		memcpy(&opts.sig, &a, sizeof(a));
		opts.sig_len = sizeof(a);
	}
	g_assert_cmpuint(i, <, MAX_LEGS);
	err = ce_media_leg_new_opts(&t->legs[i], t->room, (const struct sockaddr *)remote,
	        sizeof(*remote), CE_CODEC_PCMU, 0, &opts, &t->legs[i], leg_gone);
	if (err == 0)
		t->n_legs++;
	if (slot)
		*slot = i;
	return err;
}

/* One 20 ms frame of a 1 kHz tone (amplitude 6000), or of silence, from @p in @codec. */
static void send_audio_in(struct bp *t, struct phone *p, bool tone, enum ce_codec codec)
{
	uint8_t buf[CE_RTP_HDR_LEN + 160];
	int16_t pcm[160];

	for (unsigned i = 0; i < 160; i++)
		pcm[i] = tone ? (int16_t)(6000 * sin(2 * G_PI * 1000 * (p->ts + i) / 8000)) : 0;
	ce_rtp_build_hdr(buf, (uint8_t)ce_codec_rtp_pt(codec), false, p->seq++, p->ts, p->ssrc);
	ce_codec_encode(codec, pcm, buf + CE_RTP_HDR_LEN, 160);
	p->ts += 160;
	g_assert_cmpint(
	        sendto(p->fd, buf, sizeof(buf), 0, (struct sockaddr *)&t->media, sizeof(t->media)),
	        ==, sizeof(buf));
}

static void send_audio(struct bp *t, struct phone *p, bool tone)
{
	send_audio_in(t, p, tone, CE_CODEC_PCMU);
}

/* An RFC 4733 packet from @p: @event at timestamp @ts, ended if @end, @len payload bytes. */
static void send_event(struct bp *t, struct phone *p, uint32_t ts, unsigned event, bool end,
        unsigned dur, size_t len)
{
	uint8_t buf[CE_RTP_HDR_LEN + 4] = {0};
	uint8_t *e = buf + CE_RTP_HDR_LEN;

	ce_rtp_build_hdr(buf, DTMF_PT, false, p->seq++, ts, p->ssrc);
	e[0] = (uint8_t)event;
	e[1] = (uint8_t)((end ? 0x80 : 0) | 10);
	e[2] = (uint8_t)(dur >> 8);
	e[3] = (uint8_t)dur;
	g_assert_cmpint(sendto(p->fd, buf, CE_RTP_HDR_LEN + len, 0, (struct sockaddr *)&t->media,
	                        sizeof(t->media)),
	        ==, CE_RTP_HDR_LEN + len);
}

/* One whole key press from @p: a start, two repeats, three end packets, all at @ts. */
static void send_key(struct bp *t, struct phone *p, uint32_t ts, unsigned event)
{
	send_event(t, p, ts, event, false, 160, 4);
	send_event(t, p, ts, event, false, 320, 4);
	send_event(t, p, ts, event, false, 480, 4);
	for (unsigned i = 0; i < 3; i++)
		send_event(t, p, ts, event, true, 640, 4);
}

/* A socket's waiting RTP: how many packets, and the loudest @codec sample in them. */
static unsigned drain_in(int fd, int *loudest, enum ce_codec codec)
{
	uint8_t buf[2000];
	struct ce_rtp_pkt pkt;
	unsigned n = 0;
	ssize_t len;

	*loudest = 0;
	while ((len = recv(fd, buf, sizeof(buf), 0)) > 0) {
		int16_t pcm[CE_RTP_MAX_PACKET];

		g_assert_cmpint(ce_rtp_parse(&pkt, buf, (size_t)len), ==, 0);
		g_assert_cmpuint(pkt.pt, ==, (unsigned)ce_codec_rtp_pt(codec));
		ce_codec_decode(codec, pkt.payload, pcm, pkt.len);
		for (size_t i = 0; i < pkt.len; i++)
			*loudest = MAX(*loudest, abs(pcm[i]));
		n++;
	}
	return n;
}

static unsigned drain(int fd, int *loudest)
{
	return drain_in(fd, loudest, CE_CODEC_PCMU);
}

/* One 20 ms tick of the media thread (its wakes), events delivered. */
static void tick(struct bp *t)
{
	for (unsigned w = 0; w < CE_MEDIA_PHASES; w++)
		ce_test_step_wake(&t->clock);
}

static unsigned count_ev(const struct bp *t, enum ce_media_ev_type type, struct ce_media_leg *leg)
{
	unsigned n = 0;

	for (unsigned i = 0; i < t->n_ev; i++)
		n += t->ev[i].type == type && (!leg || t->ev[i].leg == leg);
	return n;
}

/* The last event of @type (there must be one). */
static const struct ev *last_ev(const struct bp *t, enum ce_media_ev_type type)
{
	unsigned i = t->n_ev;

	while (i-- > 0 && t->ev[i].type != type)
		;
	g_assert_cmpint((int)i, >=, 0);
	return &t->ev[i];
}

static struct ce_media_leg_stats leg_stats(const struct bp *t, unsigned i)
{
	struct ce_media_leg_stats st;

	ce_media_leg_stats(t->legs[i], &st);
	return st;
}

static struct ce_media_stats media_stats(const struct bp *t)
{
	struct ce_media_stats st;

	ce_media_stats(t->m, &st);
	return st;
}

/*
 * The phone's SDP said 127.0.0.1:P, nobody sends from there; the phone
 * sends from another port.  With latch the leg takes it: an event, the
 * counters, the listener hears it and the phone gets the room's RTP at its
 * real port (nothing more at P).  Without latch the same packets are
 * strangers: counted rx_unknown, nothing heard, nothing sent to the phone.
 */
static void latch_run(bool latch)
{
	struct bp t;
	struct phone sdp, phone, listener;
	unsigned a, l, got_phone = 0, got_sdp = 0;
	int loud_listener = 0, loud;

	setup(&t, 0);
	phone_open(&sdp, "127.0.0.1", 0);
	phone_open(&phone, "127.0.0.1", 0x11111111);
	phone_open(&listener, "127.0.0.1", 0x22222222);
	g_assert_cmpint(leg_add(&t, &sdp.addr, latch, NULL, -1, &a), ==, 0);
	g_assert_cmpint(leg_add(&t, &listener.addr, false, NULL, -1, &l), ==, 0);
	for (unsigned k = 0; k < 30; k++) {
		send_audio(&t, &phone, true);
		tick(&t);
		got_sdp += drain(sdp.fd, &loud) && k > 0;
		got_phone += drain(phone.fd, &loud);
		drain(listener.fd, &loud);
		if (k >= 10)
			loud_listener = MAX(loud_listener, loud);
	}
	if (!latch) {
		g_assert_cmpuint(count_ev(&t, CE_MEDIA_EV_LATCHED, NULL), ==, 0);
		g_assert_cmpuint(leg_stats(&t, a).latched, ==, 0);
		g_assert_cmpuint(leg_stats(&t, a).rx_packets, ==, 0);
		g_assert_cmpuint(media_stats(&t).rx_unknown, ==, 30);
		g_assert_cmpuint(media_stats(&t).latched, ==, 0);
		g_assert_cmpint(loud_listener, <, 100);
		g_assert_cmpuint(got_phone, ==, 0);
		g_assert_cmpuint(got_sdp, >=, 20); /* it still sends where the SDP said */
	} else {
		const struct ev *e = last_ev(&t, CE_MEDIA_EV_LATCHED);

		g_assert_cmpuint(count_ev(&t, CE_MEDIA_EV_LATCHED, NULL), ==, 1);
		g_assert_nonnull(e);
		g_assert_true(e->leg == t.legs[a]);
		g_assert_cmpuint(e->port, ==, port_of(&phone));
		g_assert_cmpuint(leg_stats(&t, a).latched, ==, 1);
		g_assert_cmpuint(leg_stats(&t, a).rx_packets, ==, 30);
		g_assert_cmpuint(media_stats(&t).latched, ==, 1);
		g_assert_cmpuint(media_stats(&t).rx_unknown, ==, 0);
		g_assert_cmpint(loud_listener, >, 2000);
		g_assert_cmpuint(got_phone, >=, 25);
		g_assert_cmpuint(got_sdp, ==, 0);
	}
	finish(&t);
	close(sdp.fd);
	close(phone.fd);
	close(listener.fd);
}

static void test_latch(void)
{
	latch_run(true);
}

static void test_no_latch(void)
{
	latch_run(false);
}

/*
 * Mid-call the phone's NAT moves it to another port, SSRC unchanged: its
 * leg follows, although a latching leg made before it still waits for its
 * first packet on that IP.  A new stream (another SSRC) from a new port on
 * the IP is not taken by the leg that has had packets: it is the waiting
 * leg's phone.  A third stream then is nobody's.
 */
static void test_relatch(void)
{
	struct bp t;
	struct phone wait, sdp, p2, p3, p4;
	unsigned w, a;
	int loud;

	setup(&t, 0);
	phone_open(&wait, "127.0.0.1", 0);
	phone_open(&sdp, "127.0.0.1", 0xabcdef01);
	phone_open(&p2, "127.0.0.1", 0);
	phone_open(&p3, "127.0.0.1", 0x5eed5eed);
	phone_open(&p4, "127.0.0.1", 0x0badcafe);
	g_assert_cmpint(leg_add(&t, &wait.addr, true, NULL, -1, &w), ==, 0);
	g_assert_cmpint(leg_add(&t, &sdp.addr, true, NULL, -1, &a), ==, 0);
	/* the phone sends from where its SDP said: found there */
	for (unsigned k = 0; k < 5; k++) {
		send_audio(&t, &sdp, true);
		tick(&t);
	}
	g_assert_cmpuint(leg_stats(&t, a).rx_packets, ==, 5);
	g_assert_cmpuint(count_ev(&t, CE_MEDIA_EV_LATCHED, NULL), ==, 0);
	/* the NAT rebinds: the same stream from p2's port */
	p2.ssrc = sdp.ssrc;
	p2.seq = sdp.seq;
	p2.ts = sdp.ts;
	drain(sdp.fd, &loud);
	for (unsigned k = 0; k < 5; k++) {
		send_audio(&t, &p2, true);
		tick(&t);
	}
	g_assert_cmpuint(count_ev(&t, CE_MEDIA_EV_LATCHED, NULL), ==, 1);
	g_assert_cmpuint(count_ev(&t, CE_MEDIA_EV_LATCHED, t.legs[a]), ==, 1);
	g_assert_cmpuint(last_ev(&t, CE_MEDIA_EV_LATCHED)->port, ==, port_of(&p2));
	g_assert_cmpuint(leg_stats(&t, a).latched, ==, 1);
	g_assert_cmpuint(leg_stats(&t, a).rx_packets, ==, 10);
	g_assert_cmpuint(drain(p2.fd, &loud), >=, 4);
	g_assert_cmpuint(drain(sdp.fd, &loud), <=, 1); /* at most the frame of the move's tick */
	/* another stream on the phone's IP: not the moved leg's, the waiting one's */
	for (unsigned k = 0; k < 5; k++) {
		send_audio(&t, &p3, true);
		tick(&t);
	}
	g_assert_cmpuint(leg_stats(&t, a).latched, ==, 1);
	g_assert_cmpuint(leg_stats(&t, a).rx_packets, ==, 10);
	g_assert_cmpuint(count_ev(&t, CE_MEDIA_EV_LATCHED, t.legs[w]), ==, 1);
	g_assert_cmpuint(last_ev(&t, CE_MEDIA_EV_LATCHED)->port, ==, port_of(&p3));
	g_assert_cmpuint(leg_stats(&t, w).rx_packets, ==, 5);
	/* a third stream: both legs have their phones */
	for (unsigned k = 0; k < 5; k++) {
		send_audio(&t, &p4, true);
		tick(&t);
	}
	g_assert_cmpuint(count_ev(&t, CE_MEDIA_EV_LATCHED, NULL), ==, 2);
	g_assert_cmpuint(media_stats(&t).rx_unknown, ==, 5);
	g_assert_cmpuint(media_stats(&t).latched, ==, 2);
	g_assert_cmpuint(drain(p4.fd, &loud), ==, 0);
	g_assert_cmpuint(drain(p2.fd, &loud), >=, 9);
	finish(&t);
	close(wait.fd);
	close(sdp.fd);
	close(p2.fd);
	close(p3.fd);
	close(p4.fd);
}

/*
 * A stranger (127.0.0.2) never takes a leg, not even while it waits for
 * its first packet; the phone on the leg's IP then does.
 */
static void test_stranger(void)
{
	struct bp t;
	struct phone sdp, stranger, phone;
	unsigned a;
	int loud;

	setup(&t, 0);
	phone_open(&sdp, "127.0.0.1", 0);
	phone_open(&stranger, "127.0.0.2", 0x11111111);
	phone_open(&phone, "127.0.0.1", 0x22222222);
	g_assert_cmpint(leg_add(&t, &sdp.addr, true, NULL, DTMF_PT, &a), ==, 0);
	for (unsigned k = 0; k < 10; k++) {
		send_audio(&t, &stranger, true);
		send_event(&t, &stranger, 4000, 1, false, 160, 4);
		tick(&t);
	}
	g_assert_cmpuint(count_ev(&t, CE_MEDIA_EV_LATCHED, NULL), ==, 0);
	g_assert_cmpuint(count_ev(&t, CE_MEDIA_EV_DTMF, NULL), ==, 0);
	g_assert_cmpuint(media_stats(&t).rx_unknown, ==, 20);
	g_assert_cmpuint(drain(stranger.fd, &loud), ==, 0);
	send_audio(&t, &phone, true);
	tick(&t);
	g_assert_cmpuint(count_ev(&t, CE_MEDIA_EV_LATCHED, t.legs[a]), ==, 1);
	g_assert_cmpuint(last_ev(&t, CE_MEDIA_EV_LATCHED)->port, ==, port_of(&phone));
	/* and the stranger still is one */
	send_audio(&t, &stranger, true);
	tick(&t);
	g_assert_cmpuint(media_stats(&t).rx_unknown, ==, 21);
	g_assert_cmpuint(leg_stats(&t, a).rx_packets, ==, 1);
	finish(&t);
	close(sdp.fd);
	close(stranger.fd);
	close(phone.fd);
}

/*
 * The SDP names 127.0.0.3 (a private address behind the NAT), the SIP came
 * from 127.0.0.1 (the NAT): the phone's RTP from the SIP peer's IP is
 * taken, here a key first; from a third IP it is not.
 */
static void test_sig_ip(void)
{
	struct bp t;
	struct phone other, phone;
	struct sockaddr_in sdp = addr_of("127.0.0.3", 4000);
	unsigned a;
	int loud;

	setup(&t, 0);
	phone_open(&other, "127.0.0.2", 0x11111111);
	phone_open(&phone, "127.0.0.1", 0x22222222);
	g_assert_cmpint(leg_add(&t, &sdp, true, "127.0.0.1", DTMF_PT, &a), ==, 0);
	send_audio(&t, &other, true);
	tick(&t);
	g_assert_cmpuint(count_ev(&t, CE_MEDIA_EV_LATCHED, NULL), ==, 0);
	send_key(&t, &phone, 777, 3);
	tick(&t);
	g_assert_cmpuint(count_ev(&t, CE_MEDIA_EV_LATCHED, t.legs[a]), ==, 1);
	g_assert_cmpuint(last_ev(&t, CE_MEDIA_EV_LATCHED)->port, ==, port_of(&phone));
	g_assert_cmpuint(count_ev(&t, CE_MEDIA_EV_DTMF, t.legs[a]), ==, 1);
	g_assert_cmpint(last_ev(&t, CE_MEDIA_EV_DTMF)->digit, ==, '3');
	for (unsigned k = 0; k < 3; k++) {
		send_audio(&t, &phone, true);
		tick(&t);
	}
	g_assert_cmpuint(leg_stats(&t, a).rx_packets, ==, 3);
	g_assert_cmpuint(drain(phone.fd, &loud), >=, 3);
	g_assert_cmpuint(media_stats(&t).rx_unknown, ==, 1);
	finish(&t);
	close(other.fd);
	close(phone.fd);
}

/*
 * Two phones behind one NAT whose SDPs give one address: both legs are
 * made; the first phone to send takes the first leg, the second the
 * second; each hears the other.  Two legs that do not latch still cannot
 * share an address.
 */
static void test_two_on_one(void)
{
	struct bp t;
	struct phone sdp, p1, p2;
	struct ce_media_leg *dup = NULL, *dup2 = NULL;
	struct ce_media_leg_stats st;
	unsigned a, b;
	int loud1 = 0, loud2 = 0, loud;

	setup(&t, 0);
	phone_open(&sdp, "127.0.0.1", 0);
	phone_open(&p1, "127.0.0.1", 0x11111111);
	phone_open(&p2, "127.0.0.1", 0x22222222);
	g_assert_cmpint(leg_add(&t, &sdp.addr, true, NULL, -1, &a), ==, 0);
	g_assert_cmpint(leg_add(&t, &sdp.addr, true, NULL, -1, &b), ==, 0);
	send_audio(&t, &p1, true);
	tick(&t);
	send_audio(&t, &p2, true);
	tick(&t);
	g_assert_cmpuint(count_ev(&t, CE_MEDIA_EV_LATCHED, NULL), ==, 2);
	g_assert_true(t.ev[0].leg == t.legs[a]);
	g_assert_cmpuint(t.ev[0].port, ==, port_of(&p1));
	g_assert_true(t.ev[1].leg == t.legs[b]);
	g_assert_cmpuint(t.ev[1].port, ==, port_of(&p2));
	for (unsigned k = 0; k < 30; k++) {
		send_audio(&t, &p1, true);
		send_audio(&t, &p2, true);
		tick(&t);
		drain(p1.fd, &loud);
		loud1 = k >= 10 ? MAX(loud1, loud) : 0;
		drain(p2.fd, &loud);
		loud2 = k >= 10 ? MAX(loud2, loud) : 0;
	}
	/* mix-minus: what each phone hears is the other one */
	g_assert_cmpint(loud1, >, 2000);
	g_assert_cmpint(loud2, >, 2000);
	g_assert_cmpuint(leg_stats(&t, a).rx_packets, ==, 31);
	g_assert_cmpuint(leg_stats(&t, b).rx_packets, ==, 31);
	g_assert_cmpuint(media_stats(&t).rx_unknown, ==, 0);
	g_assert_cmpint(ce_media_leg_new(&dup, t.room, (struct sockaddr *)&p1.addr, sizeof(p1.addr),
	                        CE_CODEC_PCMU, 0, NULL, NULL),
	        ==, 0);
	g_assert_cmpint(ce_media_leg_new(&dup2, t.room, (struct sockaddr *)&p1.addr,
	                        sizeof(p1.addr), CE_CODEC_PCMU, 0, NULL, NULL),
	        ==, -EADDRINUSE);
	g_assert_null(dup2);
	/* the first leg's address now names a leg that does not latch: it is that one's */
	send_audio(&t, &p1, true);
	tick(&t);
	g_assert_cmpuint(leg_stats(&t, a).rx_packets, ==, 31);
	ce_media_leg_stats(dup, &st);
	g_assert_cmpuint(st.rx_packets, ==, 1);
	finish(&t);
	close(sdp.fd);
	close(p1.fd);
	close(p2.fd);
}

/*
 * Legs freed while waiting or after latching leave nothing behind: two
 * latching legs on one address, the first found there; freeing the second
 * (found by nobody) leaves the first found; freeing the first after it
 * latched makes its phone a stranger; a leg that never latched, freed,
 * latches nothing.  (The sanitizer build sees a pointer left behind.)
 */
static void test_free(void)
{
	struct bp t;
	struct phone sdp, p1, p2;
	unsigned a, b, c;

	setup(&t, 0);
	phone_open(&sdp, "127.0.0.1", 0x33333333);
	phone_open(&p1, "127.0.0.1", 0x11111111);
	phone_open(&p2, "127.0.0.1", 0x22222222);
	g_assert_cmpint(leg_add(&t, &sdp.addr, true, NULL, -1, &a), ==, 0);
	g_assert_cmpint(leg_add(&t, &sdp.addr, true, NULL, -1, &b), ==, 0);
	tick(&t);
	ce_media_leg_free(t.legs[b]);
	tick(&t);
	g_assert_null(t.legs[b]);
	/* the phone sends from its SDP's address after all: the first leg is found there */
	send_audio(&t, &sdp, true);
	tick(&t);
	g_assert_cmpuint(leg_stats(&t, a).rx_packets, ==, 1);
	g_assert_cmpuint(leg_stats(&t, a).latched, ==, 0);
	/* then its NAT moves it: latched, then freed */
	send_audio(&t, &p1, true); /* p1 is another phone: another SSRC, not taken */
	tick(&t);
	g_assert_cmpuint(media_stats(&t).rx_unknown, ==, 1);
	p1.ssrc = sdp.ssrc;
	send_audio(&t, &p1, true);
	tick(&t);
	g_assert_cmpuint(leg_stats(&t, a).latched, ==, 1);
	ce_media_leg_free(t.legs[a]);
	tick(&t);
	g_assert_null(t.legs[a]);
	send_audio(&t, &p1, true);
	send_audio(&t, &sdp, true);
	tick(&t);
	g_assert_cmpuint(media_stats(&t).rx_unknown, ==, 3);
	/* a leg made and freed before its phone sent */
	g_assert_cmpint(leg_add(&t, &sdp.addr, true, NULL, -1, &c), ==, 0);
	tick(&t);
	ce_media_leg_free(t.legs[c]);
	tick(&t);
	send_audio(&t, &p2, true);
	tick(&t);
	g_assert_cmpuint(media_stats(&t).rx_unknown, ==, 4);
	g_assert_cmpuint(media_stats(&t).latched, ==, 1);
	finish(&t);
	close(sdp.fd);
	close(p1.fd);
	close(p2.fd);
}

/*
 * Strangers flooding the socket: past CE_MEDIA_LATCH_TRIES a wake their
 * packets are not even looked at (a phone behind them waits a wake), and
 * the room mixes every tick all the same.
 */
#define FLOOD 40

static void test_flood(void)
{
	struct bp t;
	struct phone sdp, stranger, phone, talker, listener;
	unsigned a, frames = 0;
	int loud = 0, l;

	setup(&t, 0);
	phone_open(&sdp, "127.0.0.1", 0);
	phone_open(&stranger, "127.0.0.1", 0x11111111);
	phone_open(&phone, "127.0.0.1", 0x22222222);
	phone_open(&talker, "127.0.0.1", 0x33333333);
	phone_open(&listener, "127.0.0.1", 0x44444444);
	g_assert_cmpint(leg_add(&t, &sdp.addr, true, NULL, -1, &a), ==, 0);
	g_assert_cmpint(leg_add(&t, &talker.addr, false, NULL, -1, NULL), ==, 0);
	g_assert_cmpint(leg_add(&t, &listener.addr, false, NULL, -1, NULL), ==, 0);
	/* non-RTP from the phone's own IP: tries, never a latch */
	for (unsigned k = 0; k < 30; k++) {
		uint8_t junk[8] = {0};

		for (unsigned i = 0; i < FLOOD; i++)
			sendto(stranger.fd, junk, sizeof(junk), 0, (struct sockaddr *)&t.media,
			        sizeof(t.media));
		send_audio(&t, &talker, true);
		/* behind the flood in the same wake: not looked at until the next */
		if (k == 20)
			send_audio(&t, &phone, true);
		ce_test_step_wake(&t.clock);
		if (k == 20)
			g_assert_cmpuint(count_ev(&t, CE_MEDIA_EV_LATCHED, NULL), ==, 0);
		for (unsigned w = 1; w < CE_MEDIA_PHASES; w++)
			ce_test_step_wake(&t.clock);
		frames += drain(listener.fd, &l);
		if (k >= 10)
			loud = MAX(loud, l);
		if (k == 20) {
			send_audio(&t, &phone, true);
			tick(&t);
			drain(listener.fd, &l);
		}
	}
	g_assert_cmpuint(frames, >=, 29);
	g_assert_cmpint(loud, >, 2000);
	g_assert_cmpuint(count_ev(&t, CE_MEDIA_EV_LATCHED, t.legs[a]), ==, 1);
	g_assert_cmpuint(last_ev(&t, CE_MEDIA_EV_LATCHED)->port, ==, port_of(&phone));
	g_assert_cmpuint(media_stats(&t).rx_unknown, ==, 30 * FLOOD + 1);
	finish(&t);
	close(sdp.fd);
	close(stranger.fd);
	close(phone.fd);
	close(talker.fd);
	close(listener.fd);
}

/*
 * RFC 4733 keys on a leg with a telephone-event payload type: a press
 * (start, repeats, three end packets) is one event; presses in a row, each
 * at its own timestamp, are events in order ('#', '*', flash; another
 * event is none); a late packet of an old press is not a new one; a
 * payload too short is bad.  None of it is a wrong payload type or audio.
 */
static void test_dtmf(void)
{
	static const unsigned presses[] = {5, 11, 10, 16, 40, 0};
	struct bp t;
	struct phone phone, listener;
	unsigned d, packets = 0;
	int loud = 0, l;
	struct ce_media_leg_stats st;

	setup(&t, 0);
	phone_open(&phone, "127.0.0.1", 0x12345678);
	phone_open(&listener, "127.0.0.1", 0x44444444);
	g_assert_cmpint(leg_add(&t, &phone.addr, false, NULL, DTMF_PT, &d), ==, 0);
	g_assert_cmpint(leg_add(&t, &listener.addr, false, NULL, -1, NULL), ==, 0);
	for (unsigned i = 0; i < G_N_ELEMENTS(presses); i++) {
		/* one packet a tick, as a phone sends them */
		for (unsigned k = 0; k < 6; k++) {
			send_event(
			        &t, &phone, 1000 + 2000 * i, presses[i], k >= 3, 160 * (k + 1), 4);
			packets++;
			tick(&t);
			drain(listener.fd, &l);
			loud = MAX(loud, l);
		}
		if (i == 1) {
			send_event(&t, &phone, 1000, presses[0], true, 640, 4); /* late */
			packets++;
		}
	}
	send_event(&t, &phone, 90000, 7, false, 160, 3);
	tick(&t);
	drain(listener.fd, &l);
	loud = MAX(loud, l);
	g_assert_cmpuint(count_ev(&t, CE_MEDIA_EV_DTMF, NULL), ==, 5);
	g_assert_cmpint(t.ev[0].digit, ==, '5');
	g_assert_cmpint(t.ev[1].digit, ==, '#');
	g_assert_cmpint(t.ev[2].digit, ==, '*');
	g_assert_cmpint(t.ev[3].digit, ==, 'F');
	g_assert_cmpint(t.ev[4].digit, ==, '0');
	g_assert_true(t.ev[0].leg == t.legs[d]);
	st = leg_stats(&t, d);
	g_assert_cmpuint(st.rx_dtmf, ==, packets);
	g_assert_cmpuint(st.rx_bad, ==, 1);
	g_assert_cmpuint(st.rx_wrong_pt, ==, 0);
	g_assert_cmpuint(st.rx_packets, ==, 0);
	g_assert_cmpuint(st.jbuf.packets, ==, 0);
	g_assert_cmpuint(media_stats(&t).dtmf, ==, 5);
	g_assert_cmpuint(media_stats(&t).rx_wrong_pt, ==, 0);
	g_assert_cmpint(loud, <, 100); /* keys are not audio */
	finish(&t);
	close(phone.fd);
	close(listener.fd);
}

/* A telephone-event payload type out of 96..127 is refused. */
static void test_dtmf_pt(void)
{
	struct bp t;
	struct sockaddr_in a = addr_of("127.0.0.1", 4000);

	setup(&t, 0);
	g_assert_cmpint(leg_add(&t, &a, true, NULL, 95, NULL), ==, -EINVAL);
	g_assert_cmpint(leg_add(&t, &a, false, NULL, 128, NULL), ==, -EINVAL);
	g_assert_cmpint(leg_add(&t, &a, false, NULL, -2, NULL), ==, -EINVAL);
	g_assert_cmpint(leg_add(&t, &a, false, NULL, 96, NULL), ==, 0);
	finish(&t);
}

/*
 * A phone that only sends keys is alive (no RTP timeout) while a silent
 * one times out; a flood of key packets is cut like audio; a leg without
 * a telephone-event type counts PT 101 as a wrong payload type.
 */
static void test_dtmf_alive(void)
{
	struct bp t;
	struct phone keys, silent, plain;
	unsigned k_leg, s_leg, p_leg;
	struct ce_media_leg_stats st;

	setup(&t, 300); /* 15 ticks */
	phone_open(&keys, "127.0.0.1", 0x12345678);
	phone_open(&silent, "127.0.0.1", 0x23456789);
	phone_open(&plain, "127.0.0.1", 0x3456789a);
	g_assert_cmpint(leg_add(&t, &keys.addr, false, NULL, DTMF_PT, &k_leg), ==, 0);
	g_assert_cmpint(leg_add(&t, &silent.addr, false, NULL, DTMF_PT, &s_leg), ==, 0);
	g_assert_cmpint(leg_add(&t, &plain.addr, false, NULL, -1, &p_leg), ==, 0);
	for (unsigned k = 0; k < 60; k++) {
		if (k % 10 == 0)
			send_event(&t, &keys, 100 * k, 1, false, 160, 4);
		send_event(&t, &plain, 100 * k, 1, false, 160, 4);
		tick(&t);
	}
	g_assert_cmpuint(count_ev(&t, CE_MEDIA_EV_RTP_TIMEOUT, t.legs[k_leg]), ==, 0);
	g_assert_cmpuint(count_ev(&t, CE_MEDIA_EV_RTP_TIMEOUT, t.legs[s_leg]), ==, 1);
	g_assert_cmpuint(count_ev(&t, CE_MEDIA_EV_DTMF, t.legs[k_leg]), ==, 6);
	g_assert_cmpuint(leg_stats(&t, p_leg).rx_wrong_pt, ==, 60);
	g_assert_cmpuint(count_ev(&t, CE_MEDIA_EV_DTMF, t.legs[p_leg]), ==, 0);
	/* a flood of keys: 8 a tick are taken, the rest cut */
	for (unsigned i = 0; i < 20; i++)
		send_event(&t, &keys, 99999, 2, false, 160, 4);
	tick(&t);
	st = leg_stats(&t, k_leg);
	g_assert_cmpuint(st.rx_dtmf, ==, 6 + 8);
	g_assert_cmpuint(st.rx_flood, ==, 12);
	g_assert_cmpuint(count_ev(&t, CE_MEDIA_EV_DTMF, t.legs[k_leg]), ==, 7);
	finish(&t);
	close(keys.fd);
	close(silent.fd);
	close(plain.fd);
}

/*
 * A phone allowed both laws sends A-law on its mu-law leg: taken and
 * converted (heard at the tone's level), and nothing is wrong_pt.  Then a
 * re-INVITE switches the leg to A-law: what it gets is A-law (payload
 * type 8), and its mu-law packets are still taken (the other law now).
 */
static void test_codec(void)
{
	struct bp t;
	struct phone phone, listener;
	unsigned a, l, got = 0;
	int loud = 0, heard = 0;

	setup(&t, 0);
	phone_open(&phone, "127.0.0.1", 0x33333333);
	phone_open(&listener, "127.0.0.1", 0x44444444);
	g_assert_cmpint(leg_add(&t, &phone.addr, true, NULL, DTMF_PT, &a), ==, 0);
	g_assert_cmpint(leg_add(&t, &listener.addr, false, NULL, -1, &l), ==, 0);
	for (unsigned k = 0; k < 30; k++) {
		send_audio_in(&t, &phone, true, CE_CODEC_PCMA);
		tick(&t);
		got += drain(phone.fd, &loud);
		drain(listener.fd, &loud);
		if (k >= 10)
			heard = MAX(heard, loud);
	}
	g_assert_cmpuint(got, >=, 25);
	g_assert_cmpint(heard, >, 4000);
	g_assert_cmpint(heard, <, 8000);
	g_assert_cmpuint(leg_stats(&t, a).rx_wrong_pt, ==, 0);
	got = 0;
	heard = 0;
	g_assert_cmpint(ce_media_leg_set_codec(t.legs[a], CE_CODEC_L16), ==, -ENOTSUP);
	g_assert_cmpint(ce_media_leg_set_codec(t.legs[a], CE_CODEC_PCMA), ==, 0);
	for (unsigned k = 0; k < 30; k++) {
		send_audio_in(&t, &phone, true, CE_CODEC_PCMA);
		send_audio_in(&t, &listener, true, CE_CODEC_PCMU);
		tick(&t);
		got += drain_in(phone.fd, &loud, CE_CODEC_PCMA);
		drain(listener.fd, &loud);
		if (k >= 10)
			heard = MAX(heard, loud);
	}
	g_assert_cmpuint(got, >=, 25);
	g_assert_cmpint(heard, >, 4000); /* A-law decoded as A-law: the tone's amplitude */
	g_assert_cmpint(heard, <, 8000);
	g_assert_cmpuint(leg_stats(&t, a).rx_packets, ==, 60);
	send_audio_in(&t, &phone, true, CE_CODEC_PCMU);
	tick(&t);
	g_assert_cmpuint(leg_stats(&t, a).rx_packets, ==, 61);
	g_assert_cmpuint(leg_stats(&t, a).rx_wrong_pt, ==, 0);
	drain_in(phone.fd, &loud, CE_CODEC_PCMA);
	drain(listener.fd, &loud);
	finish(&t);
	close(phone.fd);
	close(listener.fd);
}

/*
 * Noise suppression on a leg (any leg, not only a phone's): steady noise
 * at -30 dBFS from it for 4 s; what its listener hears of it over the last
 * second, with and without the leg's suppressor, in dB re full scale.
 */
/*
 * The level a listener hears of a phone that says steady noise (about
 * -30 dBFS), over ticks [from, to) of @ticks, with noise suppression from
 * the start (@ns), or switched on at tick @on and off at @off mid-call
 * (0: never).
 */
static double noise_heard_at(
        bool ns, unsigned ticks, unsigned from, unsigned to, unsigned on, unsigned off)
{
	struct ce_media_leg_opts opts = {.dtmf_pt = -1, .ns = ns};
	struct bp t;
	struct phone phone, listener;
	double sum = 0;
	unsigned count = 0;
	GRand *r = g_rand_new_with_seed(7);

	setup(&t, 0);
	phone_open(&phone, "127.0.0.1", 0x55555555);
	phone_open(&listener, "127.0.0.1", 0x66666666);
	g_assert_cmpint(ce_media_leg_new_opts(&t.legs[0], t.room, (struct sockaddr *)&phone.addr,
	                        sizeof(phone.addr), CE_CODEC_PCMU, 0, &opts, &t.legs[0], leg_gone),
	        ==, 0);
	t.n_legs = 1; /* legs[0] is the noisy one, legs[1] the listener */
	g_assert_cmpint(leg_add(&t, &listener.addr, false, NULL, -1, NULL), ==, 0);
	for (unsigned k = 0; k < ticks; k++) {
		uint8_t buf[CE_RTP_HDR_LEN + 160], got[2000];
		int16_t pcm[160];
		ssize_t len;

		if (on && k == on)
			g_assert_cmpint(ce_media_leg_set_dsp(t.legs[0], true, false), ==, 0);
		if (off && k == off)
			g_assert_cmpint(ce_media_leg_set_dsp(t.legs[0], false, false), ==, 0);
		for (unsigned i = 0; i < 160; i++)
			pcm[i] = (int16_t)g_rand_int_range(r, -1600, 1600); /* about -30 dBFS */
		ce_rtp_build_hdr(buf, 0, false, phone.seq++, phone.ts, phone.ssrc);
		ce_codec_encode(CE_CODEC_PCMU, pcm, buf + CE_RTP_HDR_LEN, 160);
		phone.ts += 160;
		g_assert_cmpint(sendto(phone.fd, buf, sizeof(buf), 0, (struct sockaddr *)&t.media,
		                        sizeof(t.media)),
		        ==, sizeof(buf));
		tick(&t);
		while (g_main_context_iteration(NULL, FALSE))
			; /* the old processors come back to be freed */
		while ((len = recv(listener.fd, got, sizeof(got), 0)) > 0) {
			struct ce_rtp_pkt pkt;
			int16_t heard[CE_RTP_MAX_PACKET];

			g_assert_cmpint(ce_rtp_parse(&pkt, got, (size_t)len), ==, 0);
			ce_codec_decode(CE_CODEC_PCMU, pkt.payload, heard, pkt.len);
			for (size_t i = 0; k >= from && k < to && i < pkt.len; i++) {
				sum += (double)heard[i] * heard[i];
				count++;
			}
		}
		drain(phone.fd, &(int){0});
	}
	g_rand_free(r);
	finish(&t);
	close(phone.fd);
	close(listener.fd);
	g_assert_cmpuint(count, >, 4000);
	return 10 * log10(sum / count / (32768.0 * 32768.0) + 1e-12);
}

static double noise_heard(bool ns)
{
	return noise_heard_at(ns, 200, 150, 200, 0, 0);
}

/*
 * Noise suppression switched on mid-call (ce_media_leg_set_dsp): the
 * steady noise is taken out a few seconds later, as when the leg had it
 * from the start; switched off, the noise is heard as it is again.  The
 * processors replaced are handed back to the main thread and freed there
 * (ASan checks none is lost or freed twice).
 */
static void test_dsp_switch(void)
{
	double before = noise_heard_at(false, 100, 60, 100, 0, 0);
	double on = noise_heard_at(false, 300, 250, 300, 100, 0);
	double off = noise_heard_at(false, 400, 340, 400, 100, 300);

	g_test_message("noise heard: %.1f dBFS before, %.1f switched on, %.1f switched off", before,
	        on, off);
	g_assert_cmpfloat(on, <, before - 6.0);
	g_assert_cmpfloat(fabs(off - before), <, 1.0);
}

static void test_noise_suppression(void)
{
	double plain = noise_heard(false), ns = noise_heard(true);

	/* a steady noise is what the suppressor learns and takes out (-20 dB at most) */
	g_test_message("noise heard: %.1f dBFS plain, %.1f dBFS suppressed", plain, ns);
	g_assert_cmpfloat(plain, >, -35.0);
	g_assert_cmpfloat(ns, <, plain - 6.0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/bypass/latch", test_latch);
	g_test_add_func("/bypass/no-latch", test_no_latch);
	g_test_add_func("/bypass/relatch", test_relatch);
	g_test_add_func("/bypass/stranger", test_stranger);
	g_test_add_func("/bypass/sig-ip", test_sig_ip);
	g_test_add_func("/bypass/two-on-one", test_two_on_one);
	g_test_add_func("/bypass/free", test_free);
	g_test_add_func("/bypass/flood", test_flood);
	g_test_add_func("/bypass/dtmf", test_dtmf);
	g_test_add_func("/bypass/dtmf-pt", test_dtmf_pt);
	g_test_add_func("/bypass/dtmf-alive", test_dtmf_alive);
	g_test_add_func("/bypass/codec", test_codec);
	g_test_add_func("/leg/noise-suppression", test_noise_suppression);
	g_test_add_func("/leg/dsp-switch", test_dsp_switch);
	return g_test_run();
}
