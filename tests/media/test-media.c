/* test-media.c - the media thread end to end on loopback UDP: who hears whom
 *
 * Over 700 lines: each case drives the media threads on real loopback
 * sockets through one fixture; they read best side by side.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sndfile.h>

#include "media/g722.h"
#include "media/gain.h"
#include "media/media.h"
#include "media/media-priv.h"
#include "media/opus.h"
#include "media/rtp.h"
#include "tests/media/testclock.h"
#include "tests/testutil.h"

#define PEERS     3
#define TICKS     110 /* 2.2 s of RTP */
#define A_STOPS   70  /* peer 0 goes quiet at 1.4 s: its RTP times out */
#define HEAR_FROM 30  /* analyse what arrives from 0.6 s to 1.4 s */

static const double freq[PEERS] = {500, 1100, 1700};
static const double intruder_freq = 2300, wrong_pt_freq = 2900;

struct peer {
	int fd;
	struct sockaddr_in addr;
	enum ce_codec codec;
	struct ce_media_leg *leg;
	int16_t heard[TICKS * 160];
	unsigned n_heard;
	unsigned frame_tick[TICKS]; /* the far end's tick when each frame came */
	unsigned starts, stops, timeouts;
	/* the stream it receives: one SSRC, sequence and timestamps without a break */
	struct stream {
		unsigned packets, breaks;
		uint16_t seq;
		uint32_t ts, ssrc;
	} in;
};

struct test {
	struct ce_media *m;
	struct ce_media_room *room;
	struct sockaddr_in media_addr;
	struct peer peer[PEERS];
	int intruder;
	unsigned speaking, max_speakers, destroyed;
	bool flags_test; /* peer 1 listen-only, peer 2 deaf, peer 0 muted at MUTE_AT */
	bool offset;     /* peer 1 sends 10 ms after the others: another phase of the tick */
	struct ce_media_room *room2; /* move test: peer 2 is moved there at MOVE_AT */
	gint moved;                  /* set by the main loop once the move is asked */
	unsigned moved_tick;
	struct ce_test_clock
	        *clock;      /* the media thread's, stepped by the test; NULL: the real one */
	gint muted;          /* set by the main loop once the mute is applied */
	unsigned muted_tick; /* the far end's tick when it saw that */
	GMainLoop *loop;
};

#define MUTE_AT   70
#define LATE_FROM 40

static gboolean mute_peer0(gpointer data)
{
	struct test *t = data;

	g_assert_cmpint(ce_media_leg_set_flags(t->peer[0].leg, CE_MIX_MUTED), ==, 0);
	g_atomic_int_set(&t->muted, 1);
	return G_SOURCE_REMOVE;
}

static void send_rtp(const struct sockaddr_in *to, int fd, uint8_t pt, unsigned tick, double f,
        enum ce_codec c, size_t len)
{
	uint8_t buf[2000];
	int16_t pcm[160];

	memset(buf, 0, sizeof(buf));
	ce_rtp_build_hdr(buf, pt, false, (uint16_t)tick, tick * 160, 0x1000 + (uint32_t)fd);
	for (unsigned i = 0; i < 160; i++)
		pcm[i] = tick < 8 ? 0
		                  : (int16_t)(6000 * sin(2 * G_PI * f * (tick * 160 + i) / 8000));
	ce_codec_encode(c, pcm, buf + 12, 160);
	sendto(fd, buf, len, 0, (const struct sockaddr *)to, sizeof(*to));
}

/* Read every frame waiting on fd; decode into heard (room for cap samples,
 * *n_heard used) if keep. */
static void stream_check(struct stream *in, const struct ce_rtp_pkt *pkt)
{
	if (in->packets++ && (pkt->ssrc != in->ssrc || pkt->seq != (uint16_t)(in->seq + 1) ||
	                             pkt->ts != in->ts + 160))
		in->breaks++;
	in->ssrc = pkt->ssrc;
	in->seq = pkt->seq;
	in->ts = pkt->ts;
}

static void receive_frames(int fd, enum ce_codec codec, int16_t *heard, unsigned cap,
        unsigned *n_heard, bool keep, struct stream *in)
{
	uint8_t buf[2000];
	struct ce_rtp_pkt pkt;
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		g_assert_cmpint(ce_rtp_parse(&pkt, buf, (size_t)n), ==, 0);
		g_assert_cmpuint(pkt.pt, ==, ce_codec_rtp_pt(codec));
		g_assert_cmpuint(pkt.len, ==, 160);
		if (in)
			stream_check(in, &pkt);
		if (keep && *n_heard + 160 <= cap) {
			ce_codec_decode(codec, pkt.payload, heard + *n_heard, 160);
			*n_heard += 160;
		}
	}
}

static void receive_all(struct peer *p, unsigned tick)
{
	unsigned from = p->n_heard / 160;

	receive_frames(
	        p->fd, p->codec, p->heard, G_N_ELEMENTS(p->heard), &p->n_heard, true, &p->in);
	for (unsigned f = from; f < p->n_heard / 160; f++)
		p->frame_tick[f] = tick;
}

static void sleep_until(struct timespec *next)
{
	next->tv_nsec += 20000000L;
	if (next->tv_nsec >= 1000000000L) {
		next->tv_nsec -= 1000000000L;
		next->tv_sec++;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL) == EINTR)
		;
}

static gboolean quit_idle(gpointer data)
{
	g_main_loop_quit(data);
	return G_SOURCE_REMOVE;
}

/* The far ends' thread: a tick function every 20 ms, then the main loop ends. */
struct clocked {
	void (*tick)(void *arg, unsigned tick);
	void *arg;
	unsigned ticks;
	GMainLoop *loop;
};

static gpointer clocked_run(gpointer data)
{
	struct clocked *c = data;
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	for (unsigned tick = 0; tick < c->ticks; tick++) {
		c->tick(c->arg, tick);
		sleep_until(&next);
	}
	g_idle_add(quit_idle, c->loop);
	return NULL;
}

/* Run the main loop while the far ends play their ticks. */
static void run_far_ends(void (*tick)(void *, unsigned), void *arg, unsigned ticks, GMainLoop *loop)
{
	struct clocked c = {tick, arg, ticks, loop};
	GThread *th = g_thread_new("far-ends", clocked_run, &c);

	g_main_loop_run(loop);
	g_thread_join(th);
}

/* The far ends' tick: send a tone each, plus hostile packets; record the mix. */
static void far_ends(void *data, unsigned tick)
{
	struct test *t = data;

	for (unsigned i = 0; i < PEERS; i++) {
		struct peer *p = &t->peer[i];

		if (t->offset && i == 1)
			g_usleep(10000);
		if (i != 0 || tick < A_STOPS || t->flags_test)
			send_rtp(&t->media_addr, p->fd, (uint8_t)ce_codec_rtp_pt(p->codec), tick,
			        freq[i], p->codec, 12 + 160);
		receive_all(p, tick);
	}
	if (g_atomic_int_get(&t->muted) && !t->muted_tick)
		t->muted_tick = tick;
	/* Hostile: a stranger, a wrong payload type, truncated, huge. */
	send_rtp(&t->media_addr, t->intruder, 0, tick, intruder_freq, CE_CODEC_PCMU, 172);
	send_rtp(&t->media_addr, t->peer[1].fd, 8, tick, wrong_pt_freq, CE_CODEC_PCMA, 172);
	send_rtp(&t->media_addr, t->peer[2].fd, 0, tick, wrong_pt_freq, CE_CODEC_PCMU, 7);
	send_rtp(&t->media_addr, t->peer[2].fd, 0, tick, wrong_pt_freq, CE_CODEC_PCMU, 1600);
	if (t->flags_test && tick == MUTE_AT)
		g_idle_add(mute_peer0, t);
}

#define MOVE_AT 60

static gboolean move_peer2(gpointer data)
{
	struct test *t = data;

	g_assert_cmpint(ce_media_leg_move(t->peer[2].leg, t->room2), ==, 0);
	g_atomic_int_set(&t->moved, 1);
	return G_SOURCE_REMOVE;
}

/* The move test's far ends: everyone talks all along; peer 2 changes rooms at MOVE_AT. */
static void far_ends_move(void *data, unsigned tick)
{
	struct test *t = data;

	for (unsigned i = 0; i < PEERS; i++) {
		send_rtp(&t->media_addr, t->peer[i].fd, (uint8_t)ce_codec_rtp_pt(t->peer[i].codec),
		        tick, freq[i], t->peer[i].codec, 12 + 160);
		receive_all(&t->peer[i], tick);
	}
	if (g_atomic_int_get(&t->moved) && !t->moved_tick)
		t->moved_tick = tick;
	if (tick == MOVE_AT)
		g_idle_add(move_peer2, t);
}

static void on_event(const struct ce_media_event *ev, void *arg)
{
	struct test *t = arg;
	struct peer *p = ev->leg ? ce_media_leg_user(ev->leg) : NULL;

	switch (ev->type) {
	case CE_MEDIA_EV_TALK_START:
		p->starts++;
		/* The tones' envelope is 21; a talk may start on the frame the
		 * tone begins in, which it fills only partly (the jitter buffer
		 * cutting a leg's extra delay moves a frame's edge into it). */
		g_assert_cmpuint(ev->energy, >=, 16);
		break;
	case CE_MEDIA_EV_TALK_STOP:
		p->stops++;
		break;
	case CE_MEDIA_EV_RTP_TIMEOUT:
		p->timeouts++;
		break;
	case CE_MEDIA_EV_SPEAKING:
		t->speaking++;
		t->max_speakers = MAX(t->max_speakers, ev->n_speakers);
		for (unsigned i = 0; i < ev->n_speakers; i++)
			g_assert_nonnull(ce_media_leg_user(ev->speakers[i]));
		break;
	default:
		break;
	}
}

static void on_event_none(const struct ce_media_event *ev, void *arg)
{
	(void)ev;
	(void)arg;
}

static void many_leg_gone(gpointer data)
{
	struct ce_media_leg **leg = data;

	*leg = NULL;
}

static void destroyed(gpointer data)
{
	struct peer *p = data;

	p->leg = NULL;
}

/*
 * Power of f in n samples, frame by frame: a Hann-windowed Goertzel filter
 * on each 20 ms frame, averaged.  Frame by frame because concealment and
 * the jitter buffer's skips shift a tone's phase, which would cancel a
 * filter run over the whole window; windowed so that a loud tone 600 Hz
 * away does not leak into the bin.  A tone of amplitude A gives (A/2)^2.
 */
static double power_at(const int16_t *x, unsigned n, double f, unsigned rate)
{
	unsigned fn = rate / 50, frames = n / fn;
	double c = 2 * cos(2 * G_PI * f / rate), w[960], wsum = 0, sum = 0;

	for (unsigned i = 0; i < fn; i++) {
		w[i] = 0.5 - 0.5 * cos(2 * G_PI * i / (fn - 1));
		wsum += w[i];
	}
	for (unsigned k = 0; k < frames; k++) {
		double s1 = 0, s2 = 0;

		for (unsigned i = 0; i < fn; i++) {
			double s0 = w[i] * x[k * fn + i] + c * s1 - s2;

			s2 = s1;
			s1 = s0;
		}
		sum += (s1 * s1 + s2 * s2 - c * s1 * s2) / wsum / wsum;
	}
	return frames ? sum / frames : 0;
}

static double power(const int16_t *x, unsigned n, double f)
{
	return power_at(x, n, f, 8000);
}

/* Power of f heard by peer pe while the far end was at ticks a..b-1. */
static double peer_heard(const struct peer *pe, double f, unsigned a, unsigned b)
{
	unsigned first = 0, end;

	/* By the far end's clock, not by frame count: on a loaded machine the
	 * far end's thread may start sending well after the legs' first frames. */
	while (first < pe->n_heard / 160 && pe->frame_tick[first] < a)
		first++;
	for (end = first; end < pe->n_heard / 160 && pe->frame_tick[end] < b; end++)
		;
	g_assert_cmpuint(end - first, >=, (b - a) / 2);
	return power(pe->heard + first * 160, (end - first) * 160, f);
}

/* Power of f heard by peer p of the test's room while the far end was at ticks a..b-1. */
static double heard(struct test *t, unsigned p, double f, unsigned a, unsigned b)
{
	return peer_heard(&t->peer[p], f, a, b);
}

static void check_hearing(struct test *t)
{
	for (unsigned i = 0; i < PEERS; i++) {
		double others = 1e30, self = heard(t, i, freq[i], HEAR_FROM, A_STOPS);
		double intruder = heard(t, i, intruder_freq, HEAR_FROM, A_STOPS);
		double wrong_pt = heard(t, i, wrong_pt_freq, HEAR_FROM, A_STOPS);

		for (unsigned k = 0; k < PEERS; k++)
			if (k != i)
				others = MIN(others, heard(t, i, freq[k], HEAR_FROM, A_STOPS));
		if (g_test_verbose())
			g_printerr("peer %u: others %.0f self %.0f intruder %.0f wrong-pt %.0f\n",
			        i, others, self, intruder, wrong_pt);
		/* A tone of amplitude 6000 has Goertzel power 9e6 here. */
		g_assert_cmpfloat(others, >, 1e6);
		g_assert_cmpfloat(self, <, others / 1000);
		g_assert_cmpfloat(intruder, <, others / 1000);
		g_assert_cmpfloat(wrong_pt, <, others / 1000);
	}
}

/* The media engine, its room and the far ends' legs; t->clock drives it if set. */
static void setup(struct test *t, const unsigned *flags)
{
	struct ce_media_conf conf;
	struct sockaddr_storage ss;
	socklen_t len;
	GError *error = NULL;

	ce_media_conf_default(&conf);
	conf.bind_ip = "127.0.0.1";
	conf.rtp_timeout_ms = 300;
	conf.clock = t->clock ? &t->clock->clock : NULL;
	g_assert_cmpint(ce_media_new(&t->m, &conf, on_event, t, &error), ==, 0);
	g_assert_no_error(error);
	g_assert_cmpint(ce_media_room_new(&t->room, t->m, 8000, 4, 3, 1000), ==, 0);
	ce_media_room_local(t->room, &ss, &len);
	memcpy(&t->media_addr, &ss, sizeof(t->media_addr));
	for (unsigned i = 0; i < PEERS; i++) {
		struct peer *p = &t->peer[i];

		p->fd = ce_test_udp_loopback(&p->addr);
		p->codec = i == 2 ? CE_CODEC_PCMA : CE_CODEC_PCMU;
		g_assert_cmpint(ce_media_leg_new(&p->leg, t->room, (struct sockaddr *)&p->addr,
		                        sizeof(p->addr), p->codec, flags[i], p, destroyed),
		        ==, 0);
	}
	t->intruder = ce_test_udp_loopback(&(struct sockaddr_in){0});
	t->loop = g_main_loop_new(NULL, FALSE);
}

/* Set up and play the far ends' TICKS ticks on the real clock. */
static void start(struct test *t, const unsigned *flags)
{
	setup(t, flags);
	run_far_ends(far_ends, t, TICKS, t->loop);
}

static void finish(struct test *t)
{
	gint64 deadline;

	/* Removing the room hands every leg back, on the main loop. */
	ce_media_room_free(t->room);
	deadline = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;
	while ((t->peer[0].leg || t->peer[1].leg || t->peer[2].leg) &&
	        g_get_monotonic_time() < deadline)
		if (t->clock)
			ce_test_step_wake(t->clock);
		else if (!g_main_context_iteration(NULL, FALSE))
			g_usleep(1000);
	for (unsigned i = 0; i < PEERS; i++)
		g_assert_null(t->peer[i].leg);
	if (t->clock)
		ce_test_clock_release(t->clock);
	ce_media_free(t->m);
	for (unsigned i = 0; i < PEERS; i++)
		close(t->peer[i].fd);
	close(t->intruder);
	g_main_loop_unref(t->loop);
}

static void test_end_to_end(void)
{
	static const unsigned flags[PEERS] = {0, 0, 0};
	struct test t = {0};
	struct ce_media_stats st;
	struct ce_media_leg *dup;

	start(&t, flags);
	check_hearing(&t);
	for (unsigned i = 0; i < PEERS; i++)
		g_assert_cmpuint(t.peer[i].starts, >=, 1);
	g_assert_cmpuint(t.peer[0].timeouts, ==, 1);
	g_assert_cmpuint(t.peer[1].timeouts, ==, 0);
	g_assert_cmpuint(t.max_speakers, ==, 3);
	g_assert_cmpuint(t.speaking, >=, 1);
	ce_media_stats(t.m, &st);
	g_assert_cmpuint(st.rx_unknown, >=, TICKS / 2);
	/* One leg per remote address. */
	g_assert_cmpint(ce_media_leg_new(&dup, t.room, (struct sockaddr *)&t.peer[1].addr,
	                        sizeof(t.peer[1].addr), CE_CODEC_PCMU, 0, NULL, NULL),
	        ==, -EADDRINUSE);
	g_assert_null(dup);
	finish(&t);
}

static void test_flags(void)
{
	static const unsigned flags[PEERS] = {0, CE_MIX_LISTEN_ONLY, CE_MIX_DEAF};
	struct test t = {.flags_test = true};
	const double loud = 1e6, quiet = 1e4;
	unsigned after;

	start(&t, flags);
	/* Before the mute: the listen-only peer 1 is heard by nobody, the deaf
	 * peer 2 hears nothing but is heard. */
	g_assert_cmpfloat(heard(&t, 0, freq[2], 30, 65), >, loud);
	g_assert_cmpfloat(heard(&t, 0, freq[1], 30, 65), <, quiet);
	g_assert_cmpfloat(heard(&t, 1, freq[0], 30, 65), >, loud);
	g_assert_cmpfloat(heard(&t, 1, freq[2], 30, 65), >, loud);
	for (unsigned k = 0; k < PEERS; k++)
		g_assert_cmpfloat(heard(&t, 2, freq[k], 30, 65), <, quiet);
	/* After peer 0 is muted (asked at 1.4 s; on a loaded machine the main
	 * loop may apply it later, so the window starts from the far end's tick
	 * when the mute took effect, plus 10 for the media thread to see it),
	 * peer 1 hears peer 2 only, and peer 0's talk ended with a stop. */
	after = t.muted_tick + 10;
	g_assert_cmpuint(t.muted_tick, >=, MUTE_AT);
	g_assert_cmpuint(after + 10, <=, TICKS);
	g_assert_cmpfloat(heard(&t, 1, freq[0], after, TICKS), <, quiet);
	g_assert_cmpfloat(heard(&t, 1, freq[2], after, TICKS), >, loud);
	g_assert_cmpuint(t.peer[0].starts, ==, 1);
	g_assert_cmpuint(t.peer[0].stops, ==, 1);
	g_assert_cmpuint(t.peer[1].starts, ==, 0);
	/* the meter (level_db): what the room hears of each, so nothing of the muted peer 0 and
	 * the listen-only peer 1, the deaf peer 2's tone at its level */
	for (unsigned i = 0; i < PEERS; i++) {
		struct ce_media_leg_stats st;

		ce_media_leg_stats(t.peer[i].leg, &st);
		g_test_message("peer %u level %d dBFS", i, st.level_db);
		if (i < 2)
			g_assert_cmpint(st.level_db, ==, CE_MEDIA_NO_LEVEL);
		else
			g_assert_cmpint(st.level_db, >, -40);
	}
	finish(&t);
}

/*
 * A leg moved to another room of its thread (the lobby's caller going into
 * a conference): before, the three hear each other; after, peer 2 hears
 * neither of the others (its new room is empty) and they no longer hear
 * it, while its stream goes on with one SSRC, no sequence or timestamp
 * break, and no frame missing.
 */
static void test_move(void)
{
	static const unsigned flags[PEERS] = {0, 0, 0};
	struct test t = {0};
	const double loud = 1e6, quiet = 1e4;
	unsigned after;

	setup(&t, flags);
	g_assert_cmpint(ce_media_room_new(&t.room2, t.m, 8000, 4, 0, 1000), ==, 0);
	run_far_ends(far_ends_move, &t, TICKS, t.loop);
	g_assert_cmpuint(t.moved_tick, >=, MOVE_AT);
	after = t.moved_tick + 10;
	g_assert_cmpuint(after + 10, <=, TICKS);
	g_assert_cmpfloat(heard(&t, 2, freq[0], 30, MOVE_AT), >, loud);
	g_assert_cmpfloat(heard(&t, 0, freq[2], 30, MOVE_AT), >, loud);
	g_assert_cmpfloat(heard(&t, 2, freq[0], after, TICKS), <, quiet);
	g_assert_cmpfloat(heard(&t, 2, freq[1], after, TICKS), <, quiet);
	g_assert_cmpfloat(heard(&t, 0, freq[2], after, TICKS), <, quiet);
	g_assert_cmpfloat(heard(&t, 1, freq[2], after, TICKS), <, quiet);
	g_assert_cmpfloat(heard(&t, 0, freq[1], after, TICKS), >, loud);
	g_assert_cmpuint(t.peer[2].in.packets, >=, TICKS - 20);
	g_assert_cmpuint(t.peer[2].in.breaks, ==, 0);
	/* moving to where it is is nothing; a gone room is refused */
	g_assert_cmpint(ce_media_leg_move(t.peer[2].leg, t.room2), ==, 0);
	ce_media_room_free(t.room2);
	g_assert_cmpint(ce_media_leg_move(t.peer[0].leg, t.room2), ==, -ENOENT);
	finish(&t);
}

/* The dB between two Goertzel powers. */
static double db_of(double p, double ref)
{
	return 10 * log10(p / ref);
}

/*
 * A leg's volume on real RTP: peer 0 talks 6 dB louder (peer 2 hears its
 * tone 6 dB above peer 1's, sent as loud), peer 1 hears the room 6 dB
 * softer (peer 2's tone 6 dB below what peer 0 hears of it).
 */
static void test_gain(void)
{
	static const unsigned flags[PEERS] = {0, 0, 0};
	struct test t = {0};
	double up, down;

	setup(&t, flags);
	g_assert_cmpint(ce_media_leg_set_gain(t.peer[0].leg, 6, 0), ==, 0);
	g_assert_cmpint(ce_media_leg_set_gain(t.peer[1].leg, 0, -6), ==, 0);
	run_far_ends(far_ends, &t, TICKS, t.loop);
	up = db_of(heard(&t, 2, freq[0], HEAR_FROM, A_STOPS),
	        heard(&t, 2, freq[1], HEAR_FROM, A_STOPS));
	down = db_of(heard(&t, 1, freq[2], HEAR_FROM, A_STOPS),
	        heard(&t, 0, freq[2], HEAR_FROM, A_STOPS));
	if (g_test_verbose())
		g_printerr("talk +6 dB: %.2f dB, listen -6 dB: %.2f dB\n", up, down);
	g_assert_cmpfloat(fabs(up - 6), <, 1);
	g_assert_cmpfloat(fabs(down + 6), <, 1);
	/* without gains they hear the tones as loud (the same far ends, the same room) */
	g_assert_cmpfloat(fabs(db_of(heard(&t, 0, freq[1], HEAR_FROM, A_STOPS),
	                          heard(&t, 0, freq[2], HEAR_FROM, A_STOPS))),
	        <, 1);
	finish(&t);
}

/* Gains saturate symmetrically instead of wrapping; 0 dB is exact. */
static void test_gain_saturates(void)
{
	int16_t pcm[] = {20000, -20000, 32767, -32768, 100, -100, 0};
	int16_t same[] = {1234, -1234, 32767, -32767};

	g_assert_cmpint(ce_gain_q12(0), ==, CE_GAIN_UNITY);
	g_assert_cmpint(ce_gain_q12(6), ==, 8173);
	g_assert_cmpint(ce_gain_q12(99), ==, ce_gain_q12(CE_GAIN_MAX_DB));
	g_assert_cmpint(ce_gain_q12(-99), ==, ce_gain_q12(-CE_GAIN_MAX_DB));
	ce_gain_apply(pcm, G_N_ELEMENTS(pcm), ce_gain_q12(12));
	g_assert_cmpint(pcm[0], ==, 32767);
	g_assert_cmpint(pcm[1], ==, -32767);
	g_assert_cmpint(pcm[2], ==, 32767);
	g_assert_cmpint(pcm[3], ==, -32767);
	g_assert_cmpint(pcm[4], ==, 398);
	g_assert_cmpint(pcm[5], ==, -398);
	g_assert_cmpint(pcm[6], ==, 0);
	ce_gain_apply(same, G_N_ELEMENTS(same), CE_GAIN_UNITY);
	g_assert_cmpint(same[0], ==, 1234);
	g_assert_cmpint(same[1], ==, -1234);
	g_assert_cmpint(same[3], ==, -32767);
}

/* Which phase a leg's packets are all in by, and which phase a room takes. */
static void test_phase_choice(void)
{
	static const int ready2[] = {1, 2}, ready13[] = {1, 3}, ready_none[] = {-1, -1},
	                 ready3[] = {0, 1, -1};

	g_assert_cmpint(ce_media_ready_phase(0), ==, -1);
	g_assert_cmpint(ce_media_ready_phase(1 << 2), ==, 2);
	/* wobbling across a wake: the later one */
	g_assert_cmpint(ce_media_ready_phase(1 << 1 | 1 << 2), ==, 2);
	g_assert_cmpint(ce_media_ready_phase(1 << 3 | 1 << 0), ==, 0);
	g_assert_cmpint(ce_media_ready_phase(1 << 3 | 1 << 0 | 1 << 1), ==, 1);
	/* opposite or everywhere (30 ms packets): no preference */
	g_assert_cmpint(ce_media_ready_phase(1 << 0 | 1 << 2), ==, -1);
	g_assert_cmpint(ce_media_ready_phase(0xf), ==, -1);
	/* two talkers in by 1 and 2: at 2 the first waits 5 ms; at 1 the
	 * second would wait 15 */
	g_assert_cmpuint(ce_media_best_phase(ready2, 2, 0), ==, 2);
	g_assert_cmpuint(ce_media_best_phase(ready2, 2, 1), ==, 2);
	/* in by 1 and 3: 1 and 3 both make one of them wait 10 ms; stay at either */
	g_assert_cmpuint(ce_media_best_phase(ready13, 2, 3), ==, 3);
	g_assert_cmpuint(ce_media_best_phase(ready13, 2, 1), ==, 1);
	/* no preference anywhere: stay */
	g_assert_cmpuint(ce_media_best_phase(ready_none, 2, 2), ==, 2);
	g_assert_cmpuint(ce_media_best_phase(NULL, 0, 1), ==, 1);
	g_assert_cmpuint(ce_media_best_phase(ready3, 3, 3), ==, 1);
}

/* Which way a room steps, and when a step costs no frame. */
static void test_phase_step(void)
{
	static const int one[] = {0}, two[] = {0, 1}, none[] = {-1};
	bool lossless = true;

	/* there already */
	g_assert_cmpint(ce_media_phase_step(one, 1, 0, 0, &lossless), ==, 0);
	g_assert_false(lossless);
	/* in by 0, the room at 3: one step later to 0 stretches a tick */
	g_assert_cmpint(ce_media_phase_step(one, 1, 3, 0, &lossless), ==, 1);
	g_assert_false(lossless);
	/* the room at 1: one step earlier, nobody misses the wake at 0 */
	g_assert_cmpint(ce_media_phase_step(one, 1, 1, 0, &lossless), ==, -1);
	g_assert_true(lossless);
	/* half a tick away (room at 2): earlier, lossless, not round by 3 */
	g_assert_cmpint(ce_media_phase_step(one, 1, 2, 0, &lossless), ==, -1);
	g_assert_true(lossless);
	/* half a tick away but a talker is in only by the room's phase (1):
	 * earlier would make it miss the wake at 0, so later */
	g_assert_cmpint(ce_media_phase_step(two, 2, 1, 3, &lossless), ==, 1);
	g_assert_false(lossless);
	/* no preference does not block a lossless step */
	g_assert_cmpint(ce_media_phase_step(none, 1, 2, 0, &lossless), ==, -1);
	g_assert_true(lossless);
}

/*
 * A leg whose packets arrive at phase 1 and, one in 40, just past the wake
 * at phase 2: the jitter buffer's view forgets the late one after two runs
 * of 8 packets, the room's view keeps it for 12 runs, so the room is asked
 * to move to 2 all the time the straddles go on, and back once they stop.
 */
static void test_phase_arrivals(void)
{
	struct ce_media_arrivals a = {0};
	unsigned now_both = 0, long_both = 0;

	g_assert_cmpuint(ce_media_arrivals_long(&a), ==, 0);
	for (unsigned i = 1; i <= 400; i++) {
		ce_media_arrival(&a, i % 40 == 20 ? 2 : 1);
		now_both += ce_media_arrivals_now(&a) == (1u << 1 | 1u << 2);
		long_both += ce_media_arrivals_long(&a) == (1u << 1 | 1u << 2);
		if (i >= 20)
			g_assert_cmpint(ce_media_ready_phase(ce_media_arrivals_long(&a)), ==, 2);
	}
	/* the short view saw both for 8-16 packets after each of the 10 */
	g_assert_cmpuint(now_both, >=, 80);
	g_assert_cmpuint(now_both, <=, 170);
	g_assert_cmpuint(long_both, >=, 400 - 40);
	/* no straddle for 12 runs and a bit: only phase 1 again */
	for (unsigned i = 0; i < 8 * (CE_MEDIA_ARRIVALS_RUNS + 1); i++)
		ce_media_arrival(&a, 1);
	g_assert_cmpuint(ce_media_arrivals_long(&a), ==, 1u << 1);
	g_assert_cmpint(ce_media_ready_phase(ce_media_arrivals_long(&a)), ==, 1);
	g_assert_cmpuint(ce_media_arrivals_now(&a), ==, 1u << 1);
}

/* The wake of the tick the parked media thread does next. */
static unsigned next_phase(const struct test *t)
{
	return (unsigned)((t->m->shards[0].wake + 1) % CE_MEDIA_PHASES);
}

/* One wake on the test's clock, then what the peers got (at far-end tick). */
static void clocked_wake(struct test *t, unsigned tick)
{
	ce_test_step_wake(t->clock);
	for (unsigned i = 0; i < PEERS; i++)
		receive_all(&t->peer[i], tick);
}

static void send_tone(struct test *t, unsigned i, unsigned tick)
{
	struct peer *p = &t->peer[i];

	send_rtp(&t->media_addr, p->fd, (uint8_t)ce_codec_rtp_pt(p->codec), tick, freq[i], p->codec,
	        12 + 160);
}

/* The late test's far ends send just before this wake of the media tick. */
#define SEND_PHASE 2

/*
 * A talker whose packet comes just after its room's wake, now and then,
 * once the room is where its talkers' packets come: the room waits a wake
 * for it that tick, so its jitter buffer never waits a frame (which would
 * conceal one and add a frame of delay).  On the test's clock: every tick
 * the far ends' packets are in before the wake at SEND_PHASE, where the
 * room settles; from LATE_FROM, every 5th packet of peer 1 comes between
 * that wake and the next.
 */
static void test_late_talker(void)
{
	static const unsigned flags[PEERS] = {0, 0, 0};
	struct ce_test_clock clock;
	struct test t = {.clock = &clock};
	struct ce_media_stats ms;
	uint64_t deferred = 0;
	unsigned late = 0, put_off = 0, mixed_next = 0, on_time = 0;

	ce_test_clock_init(&clock);
	setup(&t, flags);
	for (unsigned tick = 0; tick < TICKS; tick++) {
		bool is_late = tick >= LATE_FROM && tick % 5 == 0;
		unsigned before = t.peer[2].n_heard;

		while (next_phase(&t) != SEND_PHASE)
			clocked_wake(&t, tick);
		if (tick == LATE_FROM) {
			/* It followed its talkers there (from phase 0, two steps). */
			g_assert_cmpuint(t.room->phase, ==, SEND_PHASE);
			ce_media_stats(t.m, &ms);
			deferred = ms.deferred;
		}
		for (unsigned i = 0; i < PEERS; i++)
			if (i != 1 || !is_late)
				send_tone(&t, i, tick);
		before = t.peer[2].n_heard;
		clocked_wake(&t, tick);
		if (!is_late) {
			on_time += tick >= LATE_FROM && t.peer[2].n_heard == before + 160;
			continue;
		}
		late++;
		put_off += t.peer[2].n_heard == before;
		send_tone(&t, 1, tick);
		clocked_wake(&t, tick);
		mixed_next += t.peer[2].n_heard == before + 160;
	}
	check_hearing(&t);
	g_assert_cmpuint(late, ==, (TICKS - LATE_FROM) / 5);
	/* Each late packet put its room off by one wake (the listeners got
	 * nothing at the room's wake, the frame at the next); the others were
	 * mixed at the room's wake. */
	g_assert_cmpuint(put_off, ==, late);
	g_assert_cmpuint(mixed_next, ==, late);
	g_assert_cmpuint(on_time, ==, TICKS - LATE_FROM - late);
	ce_media_stats(t.m, &ms);
	g_assert_cmpuint(ms.deferred - deferred, ==, late);
	/* So no jitter buffer waited for a frame or made one up. */
	for (unsigned i = 0; i < PEERS; i++) {
		struct ce_media_leg_stats st;

		ce_media_leg_stats(t.peer[i].leg, &st);
		if (g_test_verbose())
			g_printerr("peer %u: packets %" G_GUINT64_FORMAT
			           " stalls %" G_GUINT64_FORMAT " concealed %" G_GUINT64_FORMAT
			           "\n",
			        i, (guint64)st.jbuf.packets, (guint64)st.jbuf.stalls,
			        (guint64)st.jbuf.concealed);
		g_assert_cmpuint(st.jbuf.packets, ==, TICKS);
		g_assert_cmpuint(st.jbuf.stalls, ==, 0);
		g_assert_cmpuint(st.jbuf.concealed, ==, 0);
		g_assert_cmpuint(st.jbuf.late, ==, 0);
	}
	g_assert_cmpuint(ms.rx_late, ==, 0);
	g_assert_cmpuint(ms.waits, ==, 0);
	g_assert_cmpuint(ms.overruns, ==, 0);
	finish(&t);
	ce_test_clock_clear(&clock);
}

/* Talkers whose packets come 10 ms apart (two phases of the tick): the
 * room settles at one phase and everyone still hears everyone, no packet
 * arriving after its play time. */
static void test_phase_offset(void)
{
	static const unsigned flags[PEERS] = {0, 0, 0};
	struct test t = {.offset = true};

	start(&t, flags);
	check_hearing(&t);
	for (unsigned i = 0; i < PEERS; i++) {
		struct ce_media_leg_stats st;

		if (!t.peer[i].leg)
			continue;
		ce_media_leg_stats(t.peer[i].leg, &st);
		g_assert_cmpuint(st.jbuf.late, ==, 0);
	}
	finish(&t);
}

/* Tick @tick of 1 kHz and 6 kHz at 16 kHz, each of amplitude 3000 (power 2.25e6), into pcm[320]. */
static void wide_tones(int16_t *pcm, unsigned tick)
{
	for (unsigned i = 0; i < 320; i++) {
		double t = (tick * 320 + i) / 16000.0;

		pcm[i] = (int16_t)(3000 * (sin(2 * G_PI * 1000 * t) + sin(2 * G_PI * 6000 * t)));
	}
}

/*
 * Room rates are the library's one rule, ce_media_rate_ok: 8000, 16000
 * and 48000; any other rate is refused when the room is made.  In a 16 kHz
 * room a G.722 phone (peer 0) says 1 kHz and 6 kHz: the other G.722 phone
 * (peer 1) hears both, the A-law one (peer 2) the 1 kHz alone, nothing
 * folded down to 2 kHz.  Every packet carries 20 ms, 160 octets for each
 * codec, and its timestamp steps by 160: G.722's RTP clock is 8000.
 */
static void test_rate(void)
{
	static const unsigned refused[] = {0, 11025, 32000, 44100, 96000};
	static const enum ce_codec codec[PEERS] = {CE_CODEC_G722, CE_CODEC_G722, CE_CODEC_PCMA};
	static int16_t got[PEERS][TICKS * 320];
	unsigned n_got[PEERS] = {0}, packets[PEERS] = {0};
	struct ce_test_clock clock;
	struct ce_media *m;
	struct ce_media_room *room = NULL, *bad = NULL;
	struct ce_media_conf conf;
	struct ce_g722_enc enc;
	struct ce_g722_dec dec[PEERS];
	struct sockaddr_storage ss;
	struct sockaddr_in media_addr;
	socklen_t len;
	GError *error = NULL;
	struct peer p[PEERS];
	uint32_t last[PEERS] = {0};

	g_assert_true(ce_media_rate_ok(8000));
	g_assert_true(ce_media_rate_ok(16000));
	g_assert_true(ce_media_rate_ok(48000));
	for (unsigned i = 0; i < G_N_ELEMENTS(refused); i++)
		g_assert_false(ce_media_rate_ok(refused[i]));
	ce_test_clock_init(&clock);
	ce_media_conf_default(&conf);
	conf.bind_ip = "127.0.0.1";
	conf.clock = &clock.clock;
	g_assert_cmpint(ce_media_new(&m, &conf, NULL, NULL, &error), ==, 0);
	g_assert_cmpint(ce_media_room_new(&bad, m, 96000, 4, 0, 1000), ==, -ENOTSUP);
	g_assert_null(bad);
	g_assert_cmpint(ce_media_room_new(&room, m, 16000, 4, 0, 1000), ==, 0);
	ce_media_room_local(room, &ss, &len);
	memcpy(&media_addr, &ss, sizeof(media_addr));
	ce_g722_enc_init(&enc);
	for (unsigned i = 0; i < PEERS; i++) {
		p[i].fd = ce_test_udp_loopback(&p[i].addr);
		g_assert_cmpint(ce_g722_dec_init(&dec[i], 64000), ==, 0);
		g_assert_cmpint(
		        ce_media_leg_new(&p[i].leg, room, (struct sockaddr *)&p[i].addr,
		                sizeof(p[i].addr), codec[i], i == 0 ? CE_MIX_DUMB : 0, NULL, NULL),
		        ==, 0);
	}
	for (unsigned tick = 0; tick < TICKS; tick++) {
		uint8_t buf[2000];
		int16_t pcm[320];
		struct ce_rtp_pkt pkt;
		ssize_t n;

		wide_tones(pcm, tick);
		ce_rtp_build_hdr(buf, 9, tick == 0, (uint16_t)tick, tick * 160, 0x7722);
		g_assert_cmpuint(ce_g722_encode(&enc, pcm, 320, buf + 12), ==, 160);
		sendto(p[0].fd, buf, 12 + 160, 0, (struct sockaddr *)&media_addr,
		        sizeof(media_addr));
		for (unsigned w = 0; w < CE_MEDIA_PHASES; w++)
			ce_test_step_wake(&clock);
		for (unsigned i = 1; i < PEERS; i++) {
			while ((n = recv(p[i].fd, buf, sizeof(buf), 0)) > 0) {
				g_assert_cmpint(ce_rtp_parse(&pkt, buf, (size_t)n), ==, 0);
				g_assert_cmpint(pkt.pt, ==, ce_codec_rtp_pt(codec[i]));
				g_assert_cmpuint(pkt.len, ==, 160);
				if (packets[i]++)
					g_assert_cmpuint(pkt.ts - last[i], ==, 160);
				last[i] = pkt.ts;
				if (tick < 30)
					continue; /* the talker's start, and the buffer's */
				if (codec[i] == CE_CODEC_G722)
					n_got[i] += (unsigned)ce_g722_decode(
					        &dec[i], pkt.payload, pkt.len, got[i] + n_got[i]);
				else {
					ce_codec_decode(
					        codec[i], pkt.payload, got[i] + n_got[i], 160);
					n_got[i] += 160;
				}
			}
		}
	}
	g_assert_cmpuint(packets[1], >=, TICKS / 2);
	g_assert_cmpuint(packets[2], >=, TICKS / 2);
	/* a tone of amplitude 3000 has power 2.25e6: each is within 1.5 dB of that, or 40 dB under
	 */
	g_assert_cmpfloat(power_at(got[1], n_got[1], 1000, 16000), >, 1.6e6);
	g_assert_cmpfloat(power_at(got[1], n_got[1], 6000, 16000), >, 1.6e6);
	g_assert_cmpfloat(power_at(got[2], n_got[2], 1000, 8000), >, 1.6e6);
	g_assert_cmpfloat(power_at(got[2], n_got[2], 2000, 8000), <, 225.0);
	ce_media_room_free(room);
	for (unsigned i = 0; i < 50; i++)
		ce_test_step_wake(&clock);
	ce_test_clock_release(&clock);
	ce_media_free(m);
	for (unsigned i = 0; i < PEERS; i++)
		close(p[i].fd);
}

/*
 * Opus legs over real RTP (payload type 111, RTP clock 48000: 960 a
 * packet), in a room of @rate: an Opus phone (peer 0) says 1 kHz and
 * 6 kHz, and one packet in ten of it is lost on the way; the other Opus
 * phone (peer 1) hears both in a 16 kHz room, the A-law phone (peer 2)
 * the 1 kHz alone and nothing folded to 2 kHz.  Packets to the Opus phone
 * are of their own length, well under a G.711 frame's at 24 kbit/s.
 */
static void opus_call(unsigned rate)
{
	static const enum ce_codec codec[PEERS] = {CE_CODEC_OPUS, CE_CODEC_OPUS, CE_CODEC_PCMA};
	static int16_t got[PEERS][TICKS * 320];
	/* a phone's encoder: at 10 % loss libopus's own bitrate would narrow the band to pay
	 * for the FEC, and 6 kHz would not be sent at all */
	const struct ce_opus_enc_conf econf = {
	        .rate = 16000, .bitrate = 32000, .fec = true, .loss_pct = 10, .complexity = -1};
	const struct ce_media_leg_opts opus_opts = {.dtmf_pt = 101, .pt = 111};
	unsigned n_got[PEERS] = {0}, packets[PEERS] = {0}, bytes = 0, fec_next = 0;
	struct ce_test_clock clock;
	struct ce_media *m;
	struct ce_media_room *room = NULL;
	struct ce_media_conf conf;
	struct ce_opus_enc *enc;
	struct ce_opus_dec *dec;
	struct ce_media_leg_stats st;
	struct sockaddr_storage ss;
	struct sockaddr_in media_addr;
	socklen_t len;
	GError *error = NULL;
	struct peer p[PEERS];
	uint32_t last[PEERS] = {0};
	struct ce_media_leg_opts bad = opus_opts;
	struct ce_media_leg *refused = NULL;

	ce_test_clock_init(&clock);
	ce_media_conf_default(&conf);
	conf.bind_ip = "127.0.0.1";
	conf.clock = &clock.clock;
	g_assert_cmpint(ce_media_new(&m, &conf, NULL, NULL, &error), ==, 0);
	g_assert_cmpint(ce_media_room_new(&room, m, rate, 4, 0, 1000), ==, 0);
	ce_media_room_local(room, &ss, &len);
	memcpy(&media_addr, &ss, sizeof(media_addr));
	g_assert_cmpint(ce_opus_enc_new(&enc, &econf), ==, 0);
	g_assert_cmpint(ce_opus_dec_new(&dec, 16000), ==, 0);
	for (unsigned i = 0; i < PEERS; i++) {
		p[i].fd = ce_test_udp_loopback(&p[i].addr);
		g_assert_cmpint(
		        ce_media_leg_new_opts(&p[i].leg, room, (struct sockaddr *)&p[i].addr,
		                sizeof(p[i].addr), codec[i], i == 0 ? CE_MIX_DUMB : 0,
		                codec[i] == CE_CODEC_OPUS ? &opus_opts : NULL, NULL, NULL),
		        ==, 0);
	}
	/* Opus has no static payload type: without the phone's, or with one out of 96..127 */
	g_assert_cmpint(ce_media_leg_new(&refused, room, (struct sockaddr *)&p[0].addr,
	                        sizeof(p[0].addr), CE_CODEC_OPUS, 0, NULL, NULL),
	        ==, -ENOTSUP);
	bad.pt = 8;
	g_assert_cmpint(ce_media_leg_new_opts(&refused, room, (struct sockaddr *)&p[0].addr,
	                        sizeof(p[0].addr), CE_CODEC_OPUS, 0, &bad, NULL, NULL),
	        ==, -EINVAL);
	g_assert_cmpint(ce_media_leg_set_codec(p[0].leg, CE_CODEC_PCMU), ==, -ENOTSUP);
	for (unsigned tick = 0; tick < TICKS; tick++) {
		uint8_t buf[2000];
		int16_t pcm[320];
		struct ce_rtp_pkt pkt;
		ssize_t n;
		int enc_len;

		wide_tones(pcm, tick);
		ce_rtp_build_hdr(buf, 111, tick == 0, (uint16_t)tick, tick * 960, 0x0905);
		enc_len = ce_opus_encode(enc, pcm, 320, buf + 12, sizeof(buf) - 12);
		g_assert_cmpint(enc_len, >, 0);
		if (tick % 10 == 6) /* the packet after a lost one: can it rebuild it? */
			fec_next += ce_opus_packet_has_fec(buf + 12, (size_t)enc_len);
		if (tick % 10 != 5) /* lost on the way */
			sendto(p[0].fd, buf, 12 + (size_t)enc_len, 0,
			        (struct sockaddr *)&media_addr, sizeof(media_addr));
		for (unsigned w = 0; w < CE_MEDIA_PHASES; w++)
			ce_test_step_wake(&clock);
		for (unsigned i = 1; i < PEERS; i++) {
			while ((n = recv(p[i].fd, buf, sizeof(buf), 0)) > 0) {
				g_assert_cmpint(ce_rtp_parse(&pkt, buf, (size_t)n), ==, 0);
				if (codec[i] == CE_CODEC_OPUS) {
					g_assert_cmpint(pkt.pt, ==, 111);
					g_assert_cmpuint(pkt.len, >, 0);
					g_assert_cmpuint(pkt.len, <, 160);
					bytes += (unsigned)pkt.len;
				} else {
					g_assert_cmpint(pkt.pt, ==, 8);
					g_assert_cmpuint(pkt.len, ==, 160);
				}
				if (packets[i]++)
					g_assert_cmpuint(pkt.ts - last[i], ==,
					        codec[i] == CE_CODEC_OPUS ? 960 : 160);
				last[i] = pkt.ts;
				if (codec[i] == CE_CODEC_OPUS) {
					int16_t out[320];

					/* the decoder follows the whole stream; judged from tick 30
					 */
					g_assert_cmpint(
					        ce_opus_decode(dec, pkt.payload, pkt.len, out, 320),
					        ==, 320);
					if (tick >= 30) {
						memcpy(got[i] + n_got[i], out, sizeof(out));
						n_got[i] += 320;
					}
				} else if (tick >= 30) {
					ce_codec_decode(
					        codec[i], pkt.payload, got[i] + n_got[i], 160);
					n_got[i] += 160;
				}
			}
		}
	}
	g_assert_cmpuint(packets[1], >=, TICKS / 2);
	g_assert_cmpuint(packets[2], >=, TICKS / 2);
	g_test_message("%u Hz room: %.0f bytes a packet to the Opus phone; 1 kHz %.1f dB, 6 kHz "
	               "%.1f dB (Opus), 1 kHz %.1f dB, 2 kHz %.1f dB (A-law), re 3000",
	        rate, (double)bytes / packets[1],
	        10 * log10(power_at(got[1], n_got[1], 1000, 16000) / 2.25e6),
	        10 * log10(power_at(got[1], n_got[1], 6000, 16000) / 2.25e6),
	        10 * log10(power_at(got[2], n_got[2], 1000, 8000) / 2.25e6),
	        10 * log10(power_at(got[2], n_got[2], 2000, 8000) / 2.25e6));
	/* each tone of amplitude 3000 (power 2.25e6) within 3 dB through two Opus encodings with
	 * a lost packet in ten (the mixer's 24 kbit/s); 6 kHz only where the room mixes it */
	g_assert_cmpfloat(power_at(got[1], n_got[1], 1000, 16000), >, 1.1e6);
	if (rate == 16000)
		g_assert_cmpfloat(power_at(got[1], n_got[1], 6000, 16000), >, 1.1e6);
	else
		g_assert_cmpfloat(power_at(got[1], n_got[1], 6000, 16000), <, 2250.0);
	g_assert_cmpfloat(power_at(got[2], n_got[2], 1000, 8000), >, 1.1e6);
	g_assert_cmpfloat(power_at(got[2], n_got[2], 2000, 8000), <, 2250.0);
	ce_media_leg_stats(p[0].leg, &st);
	g_assert_cmpuint(st.jbuf.packets, >=, TICKS * 9 / 10 - 1);
	g_assert_cmpuint(st.jbuf.concealed, >=, (TICKS / 10 - 1) * 160);
	g_assert_cmpuint(st.rx_bad, ==, 0);
	/* every lost frame whose next packet carried FEC was rebuilt from it (libopus's encoder
	 * stops sending FEC once it codes the steady tones in CELT mode, which has none) */
	g_test_message("%" G_GUINT64_FORMAT " of %u lost frames rebuilt from FEC, %u could be",
	        st.rx_fec, TICKS / 10, fec_next);
	g_assert_cmpuint(fec_next, >, 0);
	g_assert_cmpuint(st.rx_fec, ==, fec_next);
	ce_media_room_free(room);
	for (unsigned i = 0; i < 50; i++)
		ce_test_step_wake(&clock);
	ce_test_clock_release(&clock);
	ce_media_free(m);
	ce_opus_enc_free(enc);
	ce_opus_dec_free(dec);
	for (unsigned i = 0; i < PEERS; i++)
		close(p[i].fd);
}

static void test_opus_wide(void)
{
	opus_call(16000);
}

static void test_opus_narrow(void)
{
	opus_call(8000);
}

/*
 * A fullband room over real RTP: in a room of @rate, two Opus phones
 * (peers 0 and 1, encoding and decoding at 48 kHz as phones do) say 1 kHz
 * + 12 kHz and 600 Hz + 14 kHz; an A-law phone (2) and a G.722 phone (3)
 * listen.  At 48000 each Opus phone hears the other's two tones, the
 * A-law and G.722 phones the low ones alone, nothing folded (12 and 14 kHz
 * would come back at 4 and 2 kHz), and the recording, at 48 kHz, holds all
 * four.  At 16000 nobody hears 12 or 14 kHz: the room decodes at 16 kHz.
 * Opus phone 1 starts in a 16 kHz lobby room and is moved into the room
 * at its fifth tick, as the lobby does: at 48000 its decoder and encoder
 * change rate with the move, and it hears and is heard fullband.
 * The high tones are judged by the power of their band (band_power).
 */
#define FB_PEERS 4
#define FB_TICKS 80
#define FB_FROM  30
static const double fb_low[2] = {1000, 600}, fb_high[2] = {12000, 14000};

/*
 * The power within 1 kHz of @f: the frames' bins 50 Hz apart summed, over
 * the Hann window's 1.5 (a tone alone gives what power_at gives).  Opus at
 * the mixer's 32 kbit/s codes the band above 12 kHz by its energy, not
 * its exact tone: what matters is that the band is there, or not.
 */
static double band_power(const int16_t *x, unsigned n, double f, unsigned rate)
{
	double sum = 0;

	for (double b = f - 1000; b <= f + 1000; b += 50)
		sum += power_at(x, n, b, rate);
	return sum / 1.5;
}

/* Peer @i's (0, 1) tones for @tick at 48 kHz, amplitude 3000 each. */
static void fb_tones(int16_t *pcm, unsigned i, unsigned tick)
{
	for (unsigned k = 0; k < 960; k++) {
		double t = (tick * 960 + k) / 48000.0;

		pcm[k] = (int16_t)(3000 * (sin(2 * G_PI * fb_low[i] * t) +
		                                  sin(2 * G_PI * fb_high[i] * t)));
	}
}

/* The recording at @path: its rate and the power of @f in its second half (@band: of its band). */
static double fb_recorded(const char *path, double f, bool band, unsigned *rate)
{
	SF_INFO info = {0};
	SNDFILE *sf = sf_open(path, SFM_READ, &info);
	int16_t *x, *x2;
	sf_count_t n;
	double p;

	g_assert_nonnull(sf);
	g_assert_cmpint(info.channels, ==, 1);
	*rate = (unsigned)info.samplerate;
	x = g_new(int16_t, info.frames);
	n = sf_readf_short(sf, x, info.frames);
	sf_close(sf);
	g_assert_cmpint(n, >, *rate);
	x2 = x + n / 2 / (*rate / 50) * (*rate / 50);
	p = band ? band_power(x2, (unsigned)(n - (x2 - x)), f, *rate)
	         : power_at(x2, (unsigned)(n - (x2 - x)), f, *rate);
	g_free(x);
	return p;
}

static void opus_fullband_call(unsigned rate)
{
	static const enum ce_codec codec[FB_PEERS] = {
	        CE_CODEC_OPUS, CE_CODEC_OPUS, CE_CODEC_PCMA, CE_CODEC_G722};
	static const unsigned got_rate[FB_PEERS] = {48000, 48000, 8000, 16000};
	static int16_t got[FB_PEERS][(FB_TICKS - FB_FROM + 10) * 960];
	const struct ce_opus_enc_conf econf = {.rate = 48000, .bitrate = 64000, .complexity = -1};
	const struct ce_media_leg_opts opus_opts = {.dtmf_pt = 101, .pt = 111};
	unsigned n_got[FB_PEERS] = {0}, rec_rate = 0;
	struct ce_test_clock clock;
	struct ce_media *m;
	struct ce_media_room *room = NULL, *lobby = NULL;
	struct ce_media_conf conf;
	struct ce_opus_enc *enc[2];
	struct ce_opus_dec *dec[2];
	struct ce_g722_dec g722;
	struct sockaddr_storage ss;
	struct sockaddr_in media_addr;
	socklen_t len;
	GError *error = NULL;
	struct peer *p = g_new0(struct peer, FB_PEERS);
	g_autofree char *dir = g_dir_make_tmp("ce-fullband-XXXXXX", NULL);
	g_autofree char *wav = g_build_filename(dir, "room.wav", NULL);
	double high, low;

	ce_test_clock_init(&clock);
	ce_media_conf_default(&conf);
	conf.bind_ip = "127.0.0.1";
	conf.clock = &clock.clock;
	g_assert_cmpint(ce_media_new(&m, &conf, NULL, NULL, &error), ==, 0);
	g_assert_cmpint(ce_media_room_new(&room, m, rate, 4, 0, 1000), ==, 0);
	g_assert_cmpint(ce_media_room_new(&lobby, m, 16000, 4, 0, 1000), ==, 0);
	ce_media_room_local(room, &ss, &len);
	memcpy(&media_addr, &ss, sizeof(media_addr));
	g_assert_cmpint(ce_g722_dec_init(&g722, 64000), ==, 0);
	for (unsigned i = 0; i < 2; i++) {
		g_assert_cmpint(ce_opus_enc_new(&enc[i], &econf), ==, 0);
		g_assert_cmpint(ce_opus_dec_new(&dec[i], 48000), ==, 0);
	}
	for (unsigned i = 0; i < FB_PEERS; i++) {
		p[i].fd = ce_test_udp_loopback(&p[i].addr);
		g_assert_cmpint(ce_media_leg_new_opts(&p[i].leg, i == 1 ? lobby : room,
		                        (struct sockaddr *)&p[i].addr, sizeof(p[i].addr), codec[i],
		                        i < 2 ? CE_MIX_DUMB : 0,
		                        codec[i] == CE_CODEC_OPUS ? &opus_opts : NULL, NULL, NULL),
		        ==, 0);
	}
	g_assert_cmpint(ce_media_room_record(room, wav, -1), ==, 0);
	for (unsigned tick = 0; tick < FB_TICKS; tick++) {
		uint8_t buf[2000];
		int16_t pcm[960];
		struct ce_rtp_pkt pkt;
		ssize_t n;

		for (unsigned i = 0; i < 2; i++) {
			int enc_len;

			fb_tones(pcm, i, tick);
			ce_rtp_build_hdr(
			        buf, 111, tick == 0, (uint16_t)tick, tick * 960, 0x0a00 + i);
			enc_len = ce_opus_encode(enc[i], pcm, 960, buf + 12, sizeof(buf) - 12);
			g_assert_cmpint(enc_len, >, 0);
			sendto(p[i].fd, buf, 12 + (size_t)enc_len, 0,
			        (struct sockaddr *)&media_addr, sizeof(media_addr));
		}
		if (tick == 5)
			g_assert_cmpint(ce_media_leg_move(p[1].leg, room), ==, 0);
		for (unsigned w = 0; w < CE_MEDIA_PHASES; w++)
			ce_test_step_wake(&clock);
		for (unsigned i = 0; i < FB_PEERS; i++) {
			while ((n = recv(p[i].fd, buf, sizeof(buf), 0)) > 0) {
				int16_t out[960];
				int k = (int)got_rate[i] / 50;

				g_assert_cmpint(ce_rtp_parse(&pkt, buf, (size_t)n), ==, 0);
				if (codec[i] == CE_CODEC_OPUS)
					g_assert_cmpint(ce_opus_decode(dec[i], pkt.payload, pkt.len,
					                        out, 960),
					        ==, 960);
				else if (codec[i] == CE_CODEC_G722)
					g_assert_cmpint(
					        ce_g722_decode(&g722, pkt.payload, pkt.len, out),
					        ==, 320);
				else
					ce_codec_decode(codec[i], pkt.payload, out, 160);
				if (tick >= FB_FROM &&
				        n_got[i] + (unsigned)k <= G_N_ELEMENTS(got[i])) {
					memcpy(got[i] + n_got[i], out, (size_t)k * sizeof(int16_t));
					n_got[i] += (unsigned)k;
				}
			}
		}
	}
	g_assert_cmpint(ce_media_room_record(room, NULL, -1), ==, 0);
	for (unsigned i = 0; i < FB_PEERS; i++)
		g_assert_cmpuint(n_got[i], >=, (FB_TICKS - FB_FROM - 5) * got_rate[i] / 50);
	/* each Opus phone hears the other one (a tone of amplitude 3000 has power 2.25e6) */
	for (unsigned i = 0; i < 2; i++) {
		low = power_at(got[i], n_got[i], fb_low[1 - i], 48000);
		high = band_power(got[i], n_got[i], fb_high[1 - i], 48000);
		g_test_message(
		        "%u Hz room: Opus phone %u hears %.0f Hz %.1f dB, %.0f Hz +-1 kHz %.1f dB",
		        rate, i, fb_low[1 - i], 10 * log10(low / 2.25e6 + 1e-12), fb_high[1 - i],
		        10 * log10(high / 2.25e6 + 1e-12));
		g_assert_cmpfloat(low, >, 1.1e6);
		if (rate == 48000)
			g_assert_cmpfloat(high, >, 0.56e6); /* within 6 dB */
		else
			g_assert_cmpfloat(high, <, 2250.0); /* 30 dB under */
	}
	/* the A-law and G.722 phones: the low tones, nothing folded from the high ones */
	for (unsigned i = 2; i < FB_PEERS; i++) {
		for (unsigned k = 0; k < 2; k++)
			g_assert_cmpfloat(
			        power_at(got[i], n_got[i], fb_low[k], got_rate[i]), >, 1.1e6);
		g_assert_cmpfloat(power_at(got[i], n_got[i], 2000, got_rate[i]), <, 2250.0);
		g_assert_cmpfloat(power_at(got[i], n_got[i], 3000, got_rate[i]), <, 2250.0);
	}
	g_assert_cmpfloat(power_at(got[3], n_got[3], 4000, 16000), <, 2250.0);
	ce_media_room_free(room);
	ce_media_room_free(lobby);
	for (unsigned i = 0; i < 50; i++)
		ce_test_step_wake(&clock);
	ce_test_clock_release(&clock);
	ce_media_free(m); /* and its I/O thread, which closes the recording */
	/* the recording is at the room's rate and holds what the room mixed */
	low = fb_recorded(wav, 1000, false, &rec_rate);
	g_assert_cmpuint(rec_rate, ==, rate);
	g_assert_cmpfloat(low, >, 1.1e6);
	g_assert_cmpfloat(fb_recorded(wav, 600, false, &rec_rate), >, 1.1e6);
	if (rate == 48000) {
		high = fb_recorded(wav, 12000, true, &rec_rate);
		g_test_message("recording: 1 kHz %.1f dB, 12 kHz +-1 kHz %.1f dB",
		        10 * log10(low / 2.25e6), 10 * log10(high / 2.25e6 + 1e-12));
		g_assert_cmpfloat(high, >, 0.56e6);
		g_assert_cmpfloat(fb_recorded(wav, 14000, true, &rec_rate), >, 0.56e6);
	}
	for (unsigned i = 0; i < 2; i++) {
		ce_opus_enc_free(enc[i]);
		ce_opus_dec_free(dec[i]);
	}
	for (unsigned i = 0; i < FB_PEERS; i++)
		close(p[i].fd);
	g_free(p);
	g_unlink(wav);
	g_rmdir(dir);
}

/*
 * An Opus leg with noise suppression and AGC moves between a 16 kHz and a
 * 48 kHz room and back: each move hands it a decoder, an encoder and a DSP
 * at the new rate and the old ones come back to be freed (ASan sees a leak
 * or a double free); a move that is refused (an L16 leg between rates)
 * leaves it where it was.
 */
static void test_opus_move_rates(void)
{
	const struct ce_media_leg_opts opts = {.dtmf_pt = -1, .pt = 111, .ns = true, .agc = true};
	const struct ce_media_leg_opts l16_opts = {.dtmf_pt = -1, .pt = 100};
	struct ce_test_clock clock;
	struct ce_media *m;
	struct ce_media_room *wide = NULL, *full = NULL;
	struct ce_media_conf conf;
	struct ce_media_leg *leg = NULL, *l16 = NULL;
	struct sockaddr_in a, b;
	GError *error = NULL;
	int fd = ce_test_udp_loopback(&a), fd2 = ce_test_udp_loopback(&b);

	ce_test_clock_init(&clock);
	ce_media_conf_default(&conf);
	conf.bind_ip = "127.0.0.1";
	conf.clock = &clock.clock;
	g_assert_cmpint(ce_media_new(&m, &conf, NULL, NULL, &error), ==, 0);
	g_assert_cmpint(ce_media_room_new(&wide, m, 16000, 4, 0, 1000), ==, 0);
	g_assert_cmpint(ce_media_room_new(&full, m, 48000, 4, 0, 1000), ==, 0);
	g_assert_cmpint(ce_media_leg_new_opts(&leg, wide, (struct sockaddr *)&a, sizeof(a),
	                        CE_CODEC_OPUS, 0, &opts, NULL, NULL),
	        ==, 0);
	g_assert_cmpint(ce_media_leg_new_opts(&l16, wide, (struct sockaddr *)&b, sizeof(b),
	                        CE_CODEC_L16, 0, &l16_opts, NULL, NULL),
	        ==, 0);
	for (unsigned round = 0; round < 2; round++) {
		g_assert_cmpint(ce_media_leg_move(leg, full), ==, 0);
		for (unsigned i = 0; i < 8; i++)
			ce_test_step_wake(&clock);
		g_assert_cmpint(ce_media_leg_move(leg, wide), ==, 0);
		for (unsigned i = 0; i < 8; i++)
			ce_test_step_wake(&clock);
	}
	g_assert_cmpint(ce_media_leg_move(l16, full), ==, -ENOTSUP);
	/* moved and freed before the media thread has done either */
	g_assert_cmpint(ce_media_leg_move(leg, full), ==, 0);
	ce_media_leg_free(leg);
	ce_media_leg_free(l16);
	ce_media_room_free(wide);
	ce_media_room_free(full);
	for (unsigned i = 0; i < 50; i++)
		ce_test_step_wake(&clock);
	ce_test_clock_release(&clock);
	ce_media_free(m);
	close(fd);
	close(fd2);
}

static void test_opus_fullband(void)
{
	opus_fullband_call(48000);
}

static void test_opus_fullband_16k(void)
{
	opus_fullband_call(16000);
}

/* echo=true (peer 0) hears its own tone back, a normal leg (peer 1) does
 * not; smart=false (peer 2) is mixed without talker events. */
static void test_echo_dumb(void)
{
	static const unsigned flags[PEERS] = {CE_MIX_ECHO, 0, CE_MIX_DUMB};
	struct test t = {0};
	const double loud = 1e6, quiet = 1e4;

	start(&t, flags);
	for (unsigned k = 0; k < PEERS; k++)
		g_assert_cmpfloat(heard(&t, 0, freq[k], 30, 65), >, loud);
	g_assert_cmpfloat(heard(&t, 1, freq[0], 30, 65), >, loud);
	g_assert_cmpfloat(heard(&t, 1, freq[1], 30, 65), <, quiet);
	g_assert_cmpfloat(heard(&t, 1, freq[2], 30, 65), >, loud);
	g_assert_cmpfloat(heard(&t, 2, freq[2], 30, 65), <, quiet);
	g_assert_cmpuint(t.peer[0].starts, >=, 1);
	g_assert_cmpuint(t.peer[2].starts, ==, 0);
	g_assert_cmpuint(t.peer[2].stops, ==, 0);
	finish(&t);
}

/*
 * More rooms at one phase of the tick than the media thread has mix
 * outputs (CE_MEDIA_OUTS): each output is reused within one wake, before
 * the send batch holding its frames is full.  Each room is one leg with
 * echo, which hears itself: every far end must hear its own tone, never
 * that of the room mixed into the same output after it.
 */
#define MANY_ROOMS (CE_MEDIA_PHASES * (CE_MEDIA_OUTS + 8))
#define MANY_TICKS 60
#define MANY_FROM  30

struct many {
	struct ce_media *m;
	struct sockaddr_in media_addr;
	int fd[MANY_ROOMS];
	struct ce_media_room *room[MANY_ROOMS];
	struct ce_media_leg *leg[MANY_ROOMS];
	int16_t (*heard)[(MANY_TICKS - MANY_FROM) * 160];
	unsigned n_heard[MANY_ROOMS];
	GMainLoop *loop;
};

static double many_freq(unsigned i)
{
	return 300 + 20 * i;
}

static void many_far_ends(void *data, unsigned tick)
{
	struct many *t = data;

	for (unsigned i = 0; i < MANY_ROOMS; i++) {
		send_rtp(&t->media_addr, t->fd[i], 0, tick, many_freq(i), CE_CODEC_PCMU, 12 + 160);
		receive_frames(t->fd[i], CE_CODEC_PCMU, t->heard[i], G_N_ELEMENTS(t->heard[i]),
		        &t->n_heard[i], tick >= MANY_FROM, NULL);
	}
}

static void test_many_rooms(void)
{
	struct ce_media_conf conf;
	struct sockaddr_storage ss;
	socklen_t len;
	GError *error = NULL;
	struct many *t = g_new0(struct many, 1);
	gint64 deadline;
	bool left;

	t->heard = g_malloc0(sizeof(*t->heard) * MANY_ROOMS);
	ce_media_conf_default(&conf);
	conf.bind_ip = "127.0.0.1";
	g_assert_cmpint(ce_media_new(&t->m, &conf, on_event_none, t, &error), ==, 0);
	g_assert_no_error(error);
	for (unsigned i = 0; i < MANY_ROOMS; i++) {
		struct sockaddr_in a;

		g_assert_cmpint(ce_media_room_new(&t->room[i], t->m, 8000, 4, 0, 1000), ==, 0);
		t->fd[i] = ce_test_udp_loopback(&a);
		g_assert_cmpint(
		        ce_media_leg_new(&t->leg[i], t->room[i], (struct sockaddr *)&a, sizeof(a),
		                CE_CODEC_PCMU, CE_MIX_ECHO, &t->leg[i], many_leg_gone),
		        ==, 0);
	}
	ce_media_room_local(t->room[0], &ss, &len);
	memcpy(&t->media_addr, &ss, sizeof(t->media_addr));
	t->loop = g_main_loop_new(NULL, FALSE);
	run_far_ends(many_far_ends, t, MANY_TICKS, t->loop);
	for (unsigned i = 0; i < MANY_ROOMS; i++) {
		double self, other = 0;

		g_assert_cmpuint(t->n_heard[i], >=, (MANY_TICKS - MANY_FROM) * 160 / 2);
		self = power(t->heard[i], t->n_heard[i], many_freq(i));
		for (unsigned k = 0; k < MANY_ROOMS; k++)
			if (fabs(many_freq(k) - many_freq(i)) >= 400)
				other = MAX(other, power(t->heard[i], t->n_heard[i], many_freq(k)));
		if (g_test_verbose())
			g_printerr("room %u: self %.0f loudest other %.0f\n", i, self, other);
		g_assert_cmpfloat(self, >, 1e6);
		g_assert_cmpfloat(other, <, self / 1000);
	}
	for (unsigned i = 0; i < MANY_ROOMS; i++)
		ce_media_room_free(t->room[i]);
	deadline = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;
	do {
		left = false;
		for (unsigned i = 0; i < MANY_ROOMS; i++)
			left |= t->leg[i] != NULL;
		if (left && !g_main_context_iteration(NULL, FALSE))
			g_usleep(1000);
	} while (left && g_get_monotonic_time() < deadline);
	g_assert_false(left);
	ce_media_free(t->m);
	for (unsigned i = 0; i < MANY_ROOMS; i++)
		close(t->fd[i]);
	g_main_loop_unref(t->loop);
	g_free(t->heard);
	g_free(t);
}

/*
 * Several media threads: rooms are spread over them, and who hears whom is
 * the same as with one thread.  Two rooms of three legs each, every leg a
 * tone of its own, on the test's clock; each listener must hear the other
 * two of its room, not itself and nobody of the other room.
 */
#define SPREAD_ROOMS 2
#define SPREAD_PEERS (SPREAD_ROOMS * PEERS)
#define SPREAD_TICKS 80

struct spread {
	struct ce_test_clock clock;
	struct ce_media *m;
	struct ce_media_room *room[SPREAD_ROOMS];
	struct sockaddr_in room_addr[SPREAD_ROOMS];
	struct peer peer[SPREAD_PEERS]; /* room = index / PEERS */
};

static double spread_freq(unsigned i)
{
	return 500 + 400 * i; /* room 0: 500 1300 2100, room 1: 900 1700 2500 */
}

/* Room r's peer k is peer r * PEERS + k; its tone is spread_freq(k * 2 + r). */
static unsigned spread_tone(unsigned p)
{
	return p % PEERS * SPREAD_ROOMS + p / PEERS;
}

static void spread_run(struct spread *t, unsigned threads, bool hears[SPREAD_PEERS][SPREAD_PEERS])
{
	struct ce_media_conf conf;
	struct sockaddr_storage ss;
	socklen_t len;
	GError *error = NULL;
	gint64 deadline;
	bool left;

	memset(t, 0, sizeof(*t));
	ce_test_clock_init(&t->clock);
	t->clock.threads = threads;
	ce_media_conf_default(&conf);
	conf.bind_ip = "127.0.0.1";
	conf.threads = threads;
	conf.clock = &t->clock.clock;
	g_assert_cmpint(ce_media_new(&t->m, &conf, on_event_none, t, &error), ==, 0);
	g_assert_no_error(error);
	g_assert_cmpuint(t->m->n_shards, ==, threads);
	for (unsigned r = 0; r < SPREAD_ROOMS; r++) {
		g_assert_cmpint(ce_media_room_new(&t->room[r], t->m, 8000, 4, 3, 1000), ==, 0);
		ce_media_room_local(t->room[r], &ss, &len);
		memcpy(&t->room_addr[r], &ss, sizeof(t->room_addr[r]));
	}
	/* One room per thread when there are two. */
	if (threads > 1)
		g_assert_true(t->room[0]->shard != t->room[1]->shard);
	for (unsigned i = 0; i < SPREAD_PEERS; i++) {
		struct peer *p = &t->peer[i];

		p->fd = ce_test_udp_loopback(&p->addr);
		p->codec = CE_CODEC_PCMU;
		g_assert_cmpint(
		        ce_media_leg_new(&p->leg, t->room[i / PEERS], (struct sockaddr *)&p->addr,
		                sizeof(p->addr), p->codec, 0, p, destroyed),
		        ==, 0);
	}
	for (unsigned tick = 0; tick < SPREAD_TICKS; tick++) {
		for (unsigned i = 0; i < SPREAD_PEERS; i++)
			send_rtp(&t->room_addr[i / PEERS], t->peer[i].fd,
			        (uint8_t)ce_codec_rtp_pt(CE_CODEC_PCMU), tick,
			        spread_freq(spread_tone(i)), CE_CODEC_PCMU, 12 + 160);
		for (unsigned w = 0; w < CE_MEDIA_PHASES; w++) {
			ce_test_step_wake(&t->clock);
			for (unsigned i = 0; i < SPREAD_PEERS; i++)
				receive_all(&t->peer[i], tick);
		}
	}
	for (unsigned i = 0; i < SPREAD_PEERS; i++) {
		double loudest = 0;

		for (unsigned k = 0; k < SPREAD_PEERS; k++)
			loudest = MAX(loudest, peer_heard(&t->peer[i], spread_freq(spread_tone(k)),
			                               HEAR_FROM, SPREAD_TICKS));
		/* A tone of amplitude 6000 has Goertzel power 9e6; a mix of two, less. */
		g_assert_cmpfloat(loudest, >, 1e6);
		for (unsigned k = 0; k < SPREAD_PEERS; k++) {
			double pw = peer_heard(
			        &t->peer[i], spread_freq(spread_tone(k)), HEAR_FROM, SPREAD_TICKS);

			if (g_test_verbose())
				g_printerr("%u threads: peer %u hears peer %u at %.0f\n", threads,
				        i, k, pw);
			/* Heard, or nothing of it: no level in between. */
			g_assert_true(pw > loudest / 10 || pw < loudest / 1000);
			hears[i][k] = pw > loudest / 10;
		}
	}
	for (unsigned r = 0; r < SPREAD_ROOMS; r++)
		ce_media_room_free(t->room[r]);
	deadline = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;
	do {
		left = false;
		for (unsigned i = 0; i < SPREAD_PEERS; i++)
			left |= t->peer[i].leg != NULL;
		if (left)
			ce_test_step_wake(&t->clock);
	} while (left && g_get_monotonic_time() < deadline);
	g_assert_false(left);
	ce_test_clock_release(&t->clock);
	ce_media_free(t->m);
	for (unsigned i = 0; i < SPREAD_PEERS; i++)
		close(t->peer[i].fd);
	ce_test_clock_clear(&t->clock);
}

static void test_threads(void)
{
	struct spread *t = g_new(struct spread, 1);
	bool one[SPREAD_PEERS][SPREAD_PEERS], two[SPREAD_PEERS][SPREAD_PEERS];

	spread_run(t, 1, one);
	spread_run(t, 2, two);
	for (unsigned i = 0; i < SPREAD_PEERS; i++)
		for (unsigned k = 0; k < SPREAD_PEERS; k++) {
			bool mix_minus = i / PEERS == k / PEERS && i != k;

			g_assert_cmpint(one[i][k], ==, mix_minus);
			g_assert_cmpint(two[i][k], ==, one[i][k]);
		}
	g_free(t);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/media/end-to-end", test_end_to_end);
	g_test_add_func("/media/flags", test_flags);
	g_test_add_func("/media/move", test_move);
	g_test_add_func("/media/gain", test_gain);
	g_test_add_func("/media/gain-saturates", test_gain_saturates);
	g_test_add_func("/media/phase-choice", test_phase_choice);
	g_test_add_func("/media/phase-step", test_phase_step);
	g_test_add_func("/media/phase-arrivals", test_phase_arrivals);
	g_test_add_func("/media/phase-offset", test_phase_offset);
	g_test_add_func("/media/late-talker", test_late_talker);
	g_test_add_func("/media/echo-smart", test_echo_dumb);
	g_test_add_func("/media/rate", test_rate);
	g_test_add_func("/media/opus-wide", test_opus_wide);
	g_test_add_func("/media/opus-fullband", test_opus_fullband);
	g_test_add_func("/media/opus-fullband-16k", test_opus_fullband_16k);
	g_test_add_func("/media/opus-move-rates", test_opus_move_rates);
	g_test_add_func("/media/opus-narrow", test_opus_narrow);
	g_test_add_func("/media/many-rooms", test_many_rooms);
	g_test_add_func("/media/threads", test_threads);
	return g_test_run();
}
