/* media.c - the media threads: RTP legs on UDP, one 20 ms clock, rooms, events
 *
 * Each media thread owns one UDP socket and the rooms given to it.  Legs of
 * its rooms share the socket: a packet belongs to the leg whose remote
 * address (the one Yate reported) it comes from, anything else is dropped,
 * so a leg is latched to its address from its creation; a leg fed straight
 * by a phone may latch to another one (media.h, media-thread.c).  The thread wakes
 * on an absolute 20 ms clock (clock_nanosleep TIMER_ABSTIME), and per tick:
 * applies the main thread's commands, reads every waiting datagram in
 * recvmmsg batches into the legs' jitter buffers, mixes every room and
 * sends every leg its frame in sendmmsg batches.  Idle rooms cost a silent
 * frame per leg and nothing else.  Commands come from the main thread in a
 * mailbox (base/mailbox.h) the thread empties at its wakes; events go back
 * in another one, watched by the main loop.  Neither side ever waits for
 * the other: a full mailbox refuses the command (-EAGAIN) or drops the
 * event (counted).  Legs and
 * rooms are allocated and freed on the main thread only; the media thread
 * links and unlinks them, then hands them back with an internal event.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define G_LOG_DOMAIN "media"
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "dsp.h"
#include "jbuf.h"
#include "media.h"
#include "gain.h"
#include "media-priv.h"
#include "rtp.h"

#define MAX_THREADS 64

/** Fill conf with the defaults. */
void ce_media_conf_default(struct ce_media_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->bind_ip = "0.0.0.0";
	conf->threads = 1;
	conf->rtp_timeout_ms = 5000;
	conf->jbuf_min_ms = 0;
	conf->jbuf_max_ms = 200;
}

/* Called on a media thread: the next command, if any. */
bool ce_media_next_cmd(struct ce_shard *s, struct ce_media_cmd *c)
{
	return ce_mbox_get(s->cmds, c);
}

/* Called on a media thread: queue an event for the main loop. */
void ce_media_post(struct ce_media *m, const struct ce_media_event *ev, int internal)
{
	struct ce_media_qev q = {.ev = *ev, .internal = internal};

	if (ce_mbox_put(m->events, &q) < 0)
		CE_ATOMIC_INC(&m->events_lost); /* every media thread posts */
}

/* Called on a media thread: hand a player or recorder back to the main loop. */
void ce_media_post_obj(
        struct ce_media *m, struct ce_media_room *room, int internal, void *obj, bool ack)
{
	struct ce_media_qev q = {
	        .ev = {.room = room, .changed = ack}, .internal = internal, .obj = obj};

	while (ce_mbox_put(m->events, &q) < 0)
		g_usleep(100); /* never lose one: only with CE_MEDIA_EV_RING events queued */
}

/* Out of m->remotes if it is there: a latching leg never is, and may share
 * its key with a leg that is. */
static void remotes_drop(struct ce_media *m, struct ce_media_leg *leg)
{
	if (g_hash_table_lookup(m->remotes, &leg->key) == &leg->key)
		g_hash_table_remove(m->remotes, &leg->key);
}

/* A leg's memory: its DSP, its wideband and Opus states, itself. */
static void leg_free(struct ce_media_leg *leg)
{
	g_clear_pointer(&leg->dsp, ce_dsp_free);
	g_clear_pointer(&leg->mix.wide, ce_mix_wide_free);
	if (leg->opus)
		ce_opus_dec_free(leg->opus->dec);
	g_clear_pointer(&leg->opus, g_free);
	g_aligned_free(leg);
}

/*
 * What @leg needs to be mixed in @room at its codec's rate: its wideband
 * state and the room's stream states (Opus: the room's encoders), made
 * here, off the media thread, and read by it only after the command that
 * brings the leg there.  Returns 0 or -ENOMEM.
 */
static int leg_room_states(struct ce_media_leg *leg, struct ce_media_room *room)
{
	enum ce_codec c = (enum ce_codec)leg->mix.codec;

	if (!ce_mix_leg_needs_wide(c, room->mix->rate))
		return 0;
	if (!leg->mix.wide)
		leg->mix.wide = ce_mix_wide_new_at(c, room->mix->rate);
	if (c == CE_CODEC_OPUS)
		return ce_mix_room_want_opus(room->mix);
	ce_mix_room_want_wide(room->mix);
	return 0;
}

static void leg_destroy(struct ce_media *m, struct ce_media_leg *leg)
{
	remotes_drop(m, leg);
	g_hash_table_remove(m->legs, leg);
	if (leg->destroy)
		leg->destroy(leg->user);
	leg_free(leg);
}

static void room_destroy(struct ce_media *m, struct ce_media_room *room)
{
	room->shard->n_rooms--;
	g_hash_table_remove(m->rooms, room);
	ce_mix_room_free(room->mix);
	g_free(room);
}

static void rerate_free(struct ce_media_rerate *r)
{
	if (!r)
		return;
	ce_opus_dec_free(r->dec);
	ce_mix_wide_free(r->wide);
	if (r->dsp)
		ce_dsp_free(r->dsp);
	g_free(r);
}

/*
 * What an Opus leg needs in @room when its codec runs at another rate
 * there than where it is (ce_media_rerate); NULL when it needs nothing
 * new, or in *err why it cannot have it.
 */
static struct ce_media_rerate *rerate_new(
        struct ce_media_leg *leg, struct ce_media_room *room, int *err)
{
	enum ce_codec c = (enum ce_codec)leg->mix.codec;
	unsigned rate = ce_mix_codec_rate(room->mix->rate, c);
	struct ce_media_rerate *r;

	*err = 0;
	if (c != CE_CODEC_OPUS || rate == ce_mix_codec_rate(leg->mroom->mix->rate, c))
		return NULL;
	r = g_new0(struct ce_media_rerate, 1);
	r->wide = ce_mix_wide_new_at(c, room->mix->rate);
	r->swap_dsp = leg->dsp_ns || leg->dsp_agc;
	if (ce_opus_dec_new(&r->dec, rate) < 0 || !r->wide->own.opus ||
	        (r->swap_dsp &&
	                !(r->dsp = ce_dsp_new(rate, rate / 50, leg->dsp_ns, leg->dsp_agc)))) {
		rerate_free(r);
		*err = -ENOMEM;
		return NULL;
	}
	return r;
}

/* On the main loop: one event from a media thread. */
static void on_event(void *item, void *data)
{
	struct ce_media *m = data;
	struct ce_media_qev *q = item;

	if (q->internal == CE_MEDIA_GONE_LEG)
		leg_destroy(m, q->ev.leg);
	else if (q->internal == CE_MEDIA_GONE_DSP)
		ce_dsp_free(q->obj);
	else if (q->internal == CE_MEDIA_GONE_RERATE)
		rerate_free(q->obj);
	else if (q->internal == CE_MEDIA_GONE_ROOM)
		room_destroy(m, q->ev.room);
	else if (q->internal != CE_MEDIA_PUBLIC)
		ce_media_files_gone(m, q);
	else if (!(q->ev.leg && q->ev.leg->removing) && !q->ev.room->removing && m->handler)
		m->handler(&q->ev, m->arg);
}

static int shard_bind(
        struct ce_shard *s, const struct ce_media_conf *conf, uint16_t port, GError **error)
{
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
	struct sockaddr_in a4 = {.sin_family = AF_INET};
	struct sockaddr *sa = (struct sockaddr *)&a4;
	socklen_t len = sizeof(a4);
	int family = AF_INET, buf = 4 << 20;

	if (inet_pton(AF_INET, conf->bind_ip, &a4.sin_addr) == 1) {
		a4.sin_port = htons(port);
	} else if (inet_pton(AF_INET6, conf->bind_ip, &a6.sin6_addr) == 1) {
		a6.sin6_port = htons(port);
		sa = (struct sockaddr *)&a6;
		len = sizeof(a6);
		family = AF_INET6;
	} else {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "media: bad bind address '%s'",
		        conf->bind_ip);
		return -EINVAL;
	}
	s->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || bind(s->fd, sa, len) < 0) {
		int err = -errno;

		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(-err),
		        "media: cannot bind %s port %u: %s", conf->bind_ip, port, g_strerror(-err));
		if (s->fd >= 0)
			close(s->fd);
		s->fd = -1;
		return err;
	}
	setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	s->local_len = sizeof(s->local);
	getsockname(s->fd, (struct sockaddr *)&s->local, &s->local_len);
	return 0;
}

/* Thread @i's socket: rtp_port + i, or a port to reuse, or any. */
static int shard_socket(
        struct ce_shard *s, const struct ce_media_conf *conf, unsigned i, GError **error)
{
	unsigned reuse = i < conf->n_reuse_ports ? conf->reuse_ports[i] : 0;
	GError *err = NULL;

	if (conf->port)
		return shard_bind(s, conf, (uint16_t)(conf->port + i), error);
	if (reuse && reuse <= 65535 && shard_bind(s, conf, (uint16_t)reuse, &err) == 0)
		return 0;
	if (err) {
		g_warning("%s: the legs that used it cannot be resumed", err->message);
		g_error_free(err);
	}
	return shard_bind(s, conf, 0, error);
}

static guint key_hash(gconstpointer p)
{
	const struct ce_addr_key *k = p;
	guint h = k->port * 2654435761u;

	for (unsigned i = 0; i < sizeof(k->addr); i++)
		h = h * 31 + k->addr[i];
	return h;
}

static gboolean key_equal(gconstpointer a, gconstpointer b)
{
	return memcmp(a, b, sizeof(struct ce_addr_key)) == 0;
}

/* Key of an address; -EAFNOSUPPORT for anything but IPv4 and IPv6. */
int ce_media_addr_key(struct ce_addr_key *k, const struct sockaddr *sa, socklen_t len)
{
	memset(k, 0, sizeof(*k));
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)sa;

		/* As an IPv4-mapped IPv6 address, so both families compare. */
		k->addr[10] = k->addr[11] = 0xff;
		memcpy(k->addr + 12, &a->sin_addr, 4);
		k->port = a->sin_port;
		return 0;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;

		memcpy(k->addr, &a->sin6_addr, 16);
		k->port = a->sin6_port;
		return 0;
	}
	return -EAFNOSUPPORT;
}

static void shards_stop(struct ce_media *m)
{
	for (unsigned i = 0; i < m->n_shards; i++) {
		struct ce_shard *s = &m->shards[i];

		g_atomic_int_set(&s->quit, 1);
		if (s->thread)
			g_thread_join(s->thread);
		s->thread = NULL;
	}
}

/**
 * Start the media threads with conf (NULL: defaults).  Events are handed
 * to h on the thread-default main context of the caller.  Returns 0 or a
 * negative errno with error set.
 */
int ce_media_new(struct ce_media **mp, const struct ce_media_conf *conf, ce_media_event_h *h,
        void *arg, GError **error)
{
	struct ce_media *m = g_new0(struct ce_media, 1);
	int err = 0;

	ce_g711_laws_init(); /* for legs that take both laws (bypass) */
	if (conf)
		m->conf = *conf;
	else
		ce_media_conf_default(&m->conf);
	m->conf.threads = CLAMP(m->conf.threads, 1, MAX_THREADS);
	m->conf.bind_ip = g_strdup(m->conf.bind_ip ? m->conf.bind_ip : "0.0.0.0");
	m->handler = h;
	m->arg = arg;
	m->legs = g_hash_table_new(NULL, NULL);
	m->rooms = g_hash_table_new(NULL, NULL);
	m->remotes = g_hash_table_new(key_hash, key_equal);
	m->files = g_hash_table_new(NULL, NULL);
	m->recs = g_hash_table_new(NULL, NULL);
	m->events = ce_mbox_new(sizeof(struct ce_media_qev), CE_MEDIA_EV_RING, CE_MEDIA_EV_RING);
	err = ce_mbox_watch(m->events, NULL, on_event, m);
	if (err < 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(-err),
		        "media: no event wake-up: %s", g_strerror(-err));
		goto out;
	}
	/* Aligned as its mix outputs ask (mixer.h). */
	m->shards = g_aligned_alloc0(
	        m->conf.threads, sizeof(struct ce_shard), _Alignof(struct ce_shard));
	for (unsigned i = 0; i < m->conf.threads; i++) {
		struct ce_shard *s = &m->shards[i];

		s->m = m;
		s->fd = -1;
		m->n_shards++;
		s->cmds = ce_mbox_new(
		        sizeof(struct ce_media_cmd), CE_MEDIA_CMD_RING, CE_MEDIA_CMD_RING);
		err = shard_socket(s, &m->conf, i, error);
		if (err < 0)
			goto out;
		s->by_addr = g_hash_table_new(key_hash, key_equal);
		s->thread = g_thread_new("ce-media", ce_media_shard_run, s);
	}
out:
	if (err < 0)
		g_clear_pointer(&m, ce_media_free);
	*mp = m;
	return err;
}

/** Stop the media threads and free every room and leg left. */
void ce_media_free(struct ce_media *m)
{
	GHashTableIter it;
	gpointer p;

	if (!m)
		return;
	shards_stop(m);
	if (m->events)
		ce_mbox_dispatch(m->events); /* legs and rooms handed back */
	m->handler = NULL;
	ce_media_files_free(m);
	g_hash_table_iter_init(&it, m->legs);
	while (g_hash_table_iter_next(&it, &p, NULL)) {
		struct ce_media_leg *leg = p;

		g_hash_table_iter_remove(&it);
		remotes_drop(m, leg);
		if (leg->destroy)
			leg->destroy(leg->user);
		leg_free(leg);
	}
	g_hash_table_iter_init(&it, m->rooms);
	while (g_hash_table_iter_next(&it, &p, NULL)) {
		struct ce_media_room *room = p;

		g_hash_table_iter_remove(&it);
		ce_mix_room_free(room->mix);
		g_free(room);
	}
	for (unsigned i = 0; i < m->n_shards; i++) {
		struct ce_shard *s = &m->shards[i];

		if (s->fd >= 0)
			close(s->fd);
		ce_mbox_free(s->cmds);
		if (s->by_addr)
			g_hash_table_unref(s->by_addr);
	}
	ce_mbox_free(m->events);
	g_hash_table_unref(m->legs);
	g_hash_table_unref(m->rooms);
	g_hash_table_unref(m->remotes);
	g_hash_table_unref(m->files);
	g_hash_table_unref(m->recs);
	g_free((char *)m->conf.bind_ip);
	g_aligned_free(m->shards);
	g_free(m);
}

/* A wake should work well under its 5 ms; the last buckets show one that does not. */
const struct ce_hist_bounds ce_media_wake_bounds = {
        11, {10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 20000}};

/** Totals over the media threads (read while they count: approximate). */
void ce_media_stats(struct ce_media *m, struct ce_media_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned i = 0; i < m->n_shards; i++) {
		const struct ce_media_stats *c = &m->shards[i].st;

		st->ticks += CE_ATOMIC_GET(&c->ticks);
		st->overruns += CE_ATOMIC_GET(&c->overruns);
		st->phase_moves += CE_ATOMIC_GET(&c->phase_moves);
		st->rx_late += CE_ATOMIC_GET(&c->rx_late);
		st->concealed += CE_ATOMIC_GET(&c->concealed);
		st->waits += CE_ATOMIC_GET(&c->waits);
		st->deferred += CE_ATOMIC_GET(&c->deferred);
		st->rx_unknown += CE_ATOMIC_GET(&c->rx_unknown);
		st->rx_bad += CE_ATOMIC_GET(&c->rx_bad);
		st->rx_wrong_pt += CE_ATOMIC_GET(&c->rx_wrong_pt);
		st->rx_flood += CE_ATOMIC_GET(&c->rx_flood);
		st->tx_errors += CE_ATOMIC_GET(&c->tx_errors);
		st->latched += CE_ATOMIC_GET(&c->latched);
		st->dtmf += CE_ATOMIC_GET(&c->dtmf);
		ce_hist_merge(&st->wake_us, &c->wake_us);
	}
	st->events_lost = CE_ATOMIC_GET(&m->events_lost);
}

/* Queue a command for a media thread; -EAGAIN if its mailbox is full. */
int ce_media_send(struct ce_shard *s, const struct ce_media_cmd *c)
{
	return ce_mbox_put(s->cmds, c);
}

static int send_cmd(struct ce_shard *s, enum ce_media_cmd_type type, struct ce_media_room *room,
        struct ce_media_leg *leg, unsigned flags)
{
	struct ce_media_cmd c = {.type = type, .room = room, .leg = leg, .flags = flags};

	return ce_mbox_put(s->cmds, &c);
}

/**
 * Whether rooms can run at @rate Hz: the one rule of the room rates.
 * 8000 (narrowband), 16000 (wideband: G.722 legs hear each other up to
 * 7 kHz; G.711 legs are converted at the edge, media/resample.h) and 48000
 * (fullband: Opus legs run at 48 kHz and hear each other up to 20 kHz;
 * G.722 legs are converted 3x, G.711 legs 6x).  A frame is always 20 ms,
 * @rate / 50 samples.
 */
bool ce_media_rate_ok(unsigned rate)
{
	return rate == 8000 || rate == 16000 || rate == 48000;
}

/**
 * Create a room mixing at rate Hz (ce_media_rate_ok(), else -ENOTSUP) with
 * at most max_talkers talkers summed;
 * when speakers > 0 it reports its top speakers (CE_MEDIA_EV_SPEAKING) at
 * most every interval_ms (Yate's speakers= and interval=, at least 1000).
 */
int ce_media_room_new(struct ce_media_room **rp, struct ce_media *m, unsigned rate,
        unsigned max_talkers, unsigned speakers, unsigned interval_ms)
{
	return ce_media_room_new_on(rp, m, rate, max_talkers, speakers, interval_ms, 0);
}

static unsigned shard_port(const struct ce_shard *s)
{
	return ntohs(s->local.ss_family == AF_INET6
	                     ? ((const struct sockaddr_in6 *)&s->local)->sin6_port
	                     : ((const struct sockaddr_in *)&s->local)->sin_port);
}

/**
 * ce_media_room_new() on the thread whose local port is @port (0: the least
 * busy one), so that Yate's RTP that goes to that port reaches it: a room
 * rebuilt after a crash.  -EADDRNOTAVAIL when no thread has that port.
 */
int ce_media_room_new_on(struct ce_media_room **rp, struct ce_media *m, unsigned rate,
        unsigned max_talkers, unsigned speakers, unsigned interval_ms, unsigned port)
{
	struct ce_media_room *room = g_new0(struct ce_media_room, 1);
	struct ce_shard *s = port ? NULL : &m->shards[0];
	int err = -EADDRNOTAVAIL;

	for (unsigned i = port ? 0 : 1; i < m->n_shards; i++) {
		if (port ? shard_port(&m->shards[i]) == port : m->shards[i].n_rooms < s->n_rooms)
			s = &m->shards[i];
	}
	if (!s)
		goto out;
	err = ce_media_rate_ok(rate) ? ce_mix_room_new(&room->mix, rate, max_talkers) : -ENOTSUP;
	if (err < 0)
		goto out;
	room->m = m;
	room->shard = s;
	room->speakers = MIN(speakers, CE_MEDIA_MAX_SPEAKERS);
	room->interval_ticks = MAX(interval_ms, 1000) / 20;
	err = send_cmd(s, CE_MEDIA_CMD_ROOM_ADD, room, NULL, 0);
	if (err < 0)
		goto out;
	s->n_rooms++;
	g_hash_table_add(m->rooms, room);
out:
	if (err < 0) {
		if (room->mix)
			ce_mix_room_free(room->mix);
		g_clear_pointer(&room, g_free);
	}
	*rp = room;
	return err;
}

/** Remove a room and all its legs; they are freed once the media thread lets go. */
void ce_media_room_free(struct ce_media_room *room)
{
	GHashTableIter it;
	gpointer p;

	if (!room || room->removing)
		return;
	room->removing = true;
	g_hash_table_iter_init(&it, room->m->legs);
	while (g_hash_table_iter_next(&it, &p, NULL))
		if (((struct ce_media_leg *)p)->mroom == room)
			((struct ce_media_leg *)p)->removing = true;
	while (send_cmd(room->shard, CE_MEDIA_CMD_ROOM_DEL, room, NULL, 0) < 0)
		g_usleep(1000); /* only when CE_MEDIA_CMD_RING commands are queued */
}

/** The local RTP address of room's legs: what Yate must send to. */
int ce_media_room_local(
        const struct ce_media_room *room, struct sockaddr_storage *ss, socklen_t *len)
{
	*ss = room->shard->local;
	*len = room->shard->local_len;
	return 0;
}

/** Change a leg's CE_MIX_* flags (mute, deaf, listen-only). */
int ce_media_leg_set_flags(struct ce_media_leg *leg, unsigned flags)
{
	if (leg->removing)
		return -ENOENT;
	return send_cmd(leg->mroom->shard, CE_MEDIA_CMD_LEG_FLAGS, leg->mroom, leg, flags);
}

/**
 * Change the G.711 law a leg speaks (a phone's re-INVITE, docs/bypass.md):
 * its payload type both ways and its decoding, from the next tick.  What
 * its jitter buffer held of the old law is dropped; its stream (SSRC,
 * sequence, timestamps) goes on.  Returns 0, -ENOTSUP (not mu-law or
 * A-law), -ENOENT (being removed) or -EAGAIN (queue full).
 */
int ce_media_leg_set_codec(struct ce_media_leg *leg, enum ce_codec codec)
{
	if (leg->removing)
		return -ENOENT;
	if ((codec != CE_CODEC_PCMU && codec != CE_CODEC_PCMA) || leg->opus)
		return -ENOTSUP;
	return send_cmd(leg->mroom->shard, CE_MEDIA_CMD_LEG_CODEC, leg->mroom, leg, codec);
}

/**
 * Move a leg into another room of the same media thread, keeping its
 * socket, its remote, its RTP sequence and timestamps and its jitter
 * buffer: the far end sees one stream and no gap (a caller moving from
 * the lobby into a conference).  The prompts to the leg alone that play
 * or wait in the old room end (without PLAY_DONE); those to all but it
 * now play to everyone there.  Returns 0, -ENOENT (the leg or the room is
 * going), -EXDEV (the room is on another media thread), -ENOTSUP (another
 * rate, for an L16 leg, which runs at its room's), -ENOMEM or -ENOBUFS
 * (the command ring is full).  A G.711 or G.722 leg changes rate freely:
 * it runs at its codec's, and is converted at the room's edge.  An Opus
 * leg moving between a 48 kHz room and another gets a decoder, an encoder
 * of its own and a DSP at its codec's new rate (48 or 16 kHz), made here
 * and swapped in by the move: its phone's stream goes on.
 */
int ce_media_leg_move(struct ce_media_leg *leg, struct ce_media_room *room)
{
	struct ce_media_cmd c = {.type = CE_MEDIA_CMD_LEG_MOVE, .room = room, .leg = leg};
	int err;

	if (leg->removing || room->removing)
		return -ENOENT;
	if (room == leg->mroom)
		return 0;
	if (room->shard != leg->mroom->shard)
		return -EXDEV;
	if (room->mix->rate != leg->mroom->mix->rate && !ce_codec_rate(leg->mix.codec))
		return -ENOTSUP;
	c.obj = rerate_new(leg, room, &err);
	if (err < 0)
		return err;
	/* an Opus leg's old wide state stays with the media thread until the swap */
	if ((err = c.obj ? ce_mix_room_want_opus(room->mix) : leg_room_states(leg, room)) < 0)
		goto out;
	ce_media_files_leg_free(leg);
	err = ce_media_send(room->shard, &c);
	if (!err) {
		leg->mroom = room;
		leg->dsp_rate = ce_mix_codec_frame(room->mix, (enum ce_codec)leg->mix.codec) * 50;
	}
out:
	if (err < 0)
		rerate_free(c.obj);
	return err;
}

/**
 * A leg's volume: @talk_db on what the room hears of it, @listen_db on
 * what it hears (each clamped to +-CE_GAIN_MAX_DB; 0: as it is), applied
 * on its media thread with saturation.  Returns 0, -ENOENT (being
 * removed) or -EAGAIN (queue full).
 */
int ce_media_leg_set_gain(struct ce_media_leg *leg, int talk_db, int listen_db)
{
	unsigned t = (unsigned)(CLAMP(talk_db, -CE_GAIN_MAX_DB, CE_GAIN_MAX_DB) + 128);
	unsigned l = (unsigned)(CLAMP(listen_db, -CE_GAIN_MAX_DB, CE_GAIN_MAX_DB) + 128);

	if (leg->removing)
		return -ENOENT;
	return send_cmd(leg->room->shard, CE_MEDIA_CMD_LEG_GAIN, leg->room, leg, t | l << 8);
}

/**
 * Switch a leg's noise suppression and AGC mid-call (media/dsp.h; both
 * off: none).  A new processor is made here, off the media thread; the
 * media thread takes it at its next tick and hands the old one back to be
 * freed here.  A new processor starts learning the noise afresh (about a
 * second).  Returns 0, -ENOENT (being removed), -ENOTSUP (the processor
 * could not be made) or -EAGAIN (queue full).
 */
int ce_media_leg_set_dsp(struct ce_media_leg *leg, bool ns, bool agc)
{
	struct ce_media_cmd c = {.type = CE_MEDIA_CMD_LEG_DSP, .room = leg->mroom, .leg = leg};
	int err;

	if (leg->removing)
		return -ENOENT;
	if ((ns || agc) && !(c.obj = ce_dsp_new(leg->dsp_rate, leg->dsp_rate / 50, ns, agc)))
		return -ENOTSUP;
	err = ce_media_send(leg->mroom->shard, &c);
	if (err < 0 && c.obj)
		ce_dsp_free(c.obj);
	if (!err) {
		leg->dsp_ns = ns;
		leg->dsp_agc = agc;
	}
	return err;
}

/** Remove a leg; user's destroy runs once the media thread has let go. */
void ce_media_leg_free(struct ce_media_leg *leg)
{
	if (!leg || leg->removing)
		return;
	leg->removing = true;
	ce_media_files_leg_free(leg);
	while (send_cmd(leg->mroom->shard, CE_MEDIA_CMD_LEG_DEL, leg->mroom, leg, 0) < 0)
		g_usleep(1000); /* only when CE_MEDIA_CMD_RING commands are queued */
}

/** The user data given at creation. */
void *ce_media_leg_user(const struct ce_media_leg *leg)
{
	return leg->user;
}

/** A leg's counters (read while its media thread counts: approximate). */
void ce_media_leg_stats(const struct ce_media_leg *leg, struct ce_media_leg_stats *st)
{
	const struct ce_jbuf_stats *jb = &leg->jb.st;
	const struct ce_pjbuf_stats *pj = leg->opus ? &leg->opus->jb.st : NULL;

	st->rx_packets = CE_ATOMIC_GET(&leg->st.rx_packets);
	st->rx_bad = CE_ATOMIC_GET(&leg->st.rx_bad);
	st->rx_wrong_pt = CE_ATOMIC_GET(&leg->st.rx_wrong_pt);
	st->rx_flood = CE_ATOMIC_GET(&leg->st.rx_flood);
	st->tx_packets = CE_ATOMIC_GET(&leg->st.tx_packets);
	st->rx_dtmf = CE_ATOMIC_GET(&leg->st.rx_dtmf);
	st->latched = CE_ATOMIC_GET(&leg->st.latched);
	st->level_db = CE_ATOMIC_GET(&leg->st.level_db);
	st->rx_fec = CE_ATOMIC_GET(&leg->st.rx_fec);
	st->jbuf = (struct ce_jbuf_stats){
	        .packets = CE_ATOMIC_GET(&jb->packets),
	        .late = CE_ATOMIC_GET(&jb->late),
	        .dups = CE_ATOMIC_GET(&jb->dups),
	        .resyncs = CE_ATOMIC_GET(&jb->resyncs),
	        .concealed = CE_ATOMIC_GET(&jb->concealed),
	        .dropped = CE_ATOMIC_GET(&jb->dropped),
	        .stalls = CE_ATOMIC_GET(&jb->stalls),
	        .jitter = CE_ATOMIC_GET(&jb->jitter),
	        .target = CE_ATOMIC_GET(&jb->target),
	};
	if (pj) /* an Opus leg's: whole packets, a fixed delay */
		st->jbuf = (struct ce_jbuf_stats){
		        .packets = CE_ATOMIC_GET(&pj->packets),
		        .late = CE_ATOMIC_GET(&pj->late),
		        .dups = CE_ATOMIC_GET(&pj->dups),
		        .resyncs = CE_ATOMIC_GET(&pj->resyncs),
		        .concealed = CE_ATOMIC_GET(&pj->lost) * CE_MEDIA_OPUS_UNITS,
		        .dropped = CE_ATOMIC_GET(&pj->too_big),
		        .target = leg->opus->jb.delay * CE_MEDIA_OPUS_UNITS,
		};
}

/** Bytes one leg takes, buffers included (the memory per participant). */
size_t ce_media_leg_size(void)
{
	return sizeof(struct ce_media_leg);
}

/**
 * Add a leg to room sending to and latched to remote, in codec (PCMU or
 * PCMA, which every rate of ce_media_rate_ok() takes), with CE_MIX_* flags.  user is handed to
 * destroy when the leg is freed.  Returns 0, -EADDRINUSE if another leg
 * that does not latch has that remote, -ENOTSUP, -EAFNOSUPPORT or -EAGAIN
 * (queue full).
 */
int ce_media_leg_new(struct ce_media_leg **lp, struct ce_media_room *room,
        const struct sockaddr *remote, socklen_t len, enum ce_codec codec, unsigned flags,
        void *user, GDestroyNotify destroy)
{
	return ce_media_leg_new_opts(lp, room, remote, len, codec, flags, NULL, user, destroy);
}

/* The bypass options onto a new leg: -EINVAL for a DTMF payload type out of
 * 96..127, -EAFNOSUPPORT for a SIP peer address that is neither family. */
static int leg_opts(struct ce_media_leg *leg, const struct ce_media_leg_opts *opts)
{
	struct ce_addr_key sig;
	int err = 0;

	leg->dtmf_pt = -1;
	leg->alt_pt = -1;
	memcpy(leg->ip, leg->key.addr, sizeof(leg->ip));
	if (!opts)
		return 0;
	if (opts->dtmf_pt != -1 && (opts->dtmf_pt < 96 || opts->dtmf_pt > 127))
		return -EINVAL;
	if (opts->sig_len) {
		err = ce_media_addr_key(&sig, (const struct sockaddr *)&opts->sig, opts->sig_len);
		memcpy(leg->sig_ip, sig.addr, sizeof(leg->sig_ip));
		leg->has_sig = err == 0;
	}
	leg->dtmf_pt = (int16_t)opts->dtmf_pt;
	leg->latch = opts->latch;
	leg->both_laws = opts->both_laws;
	if (opts->pt && (opts->pt < 96 || opts->pt > 127 || opts->pt == opts->dtmf_pt))
		return -EINVAL;
	return err;
}

/* An Opus leg's receiving side, at the codec's rate in a room at @room_rate (16 kHz, 48 kHz in
 * a 48 kHz room), playing @delay_ms behind what came. */
static struct ce_media_opus *opus_rx_new(unsigned room_rate, unsigned delay_ms)
{
	struct ce_media_opus *o = g_new0(struct ce_media_opus, 1);

	if (ce_opus_dec_new(&o->dec, ce_mix_codec_rate(room_rate, CE_CODEC_OPUS)) < 0) {
		g_free(o);
		return NULL;
	}
	ce_pjbuf_init(&o->jb, 960, MAX(1u, (delay_ms + 19) / 20));
	return o;
}

/**
 * ce_media_leg_new() for a leg whose RTP comes straight from a phone
 * (media.h, struct ce_media_leg_opts); @opts NULL is ce_media_leg_new().
 * A latching leg may share its remote with any other leg (it is found by
 * its address only while no other leg is, media-thread.c); a leg that
 * does not latch is refused (-EADDRINUSE) on the remote of another such
 * leg.  Also -EINVAL for a DTMF payload type out of 96..127.
 */
int ce_media_leg_new_opts(struct ce_media_leg **lp, struct ce_media_room *room,
        const struct sockaddr *remote, socklen_t len, enum ce_codec codec, unsigned flags,
        const struct ce_media_leg_opts *opts, void *user, GDestroyNotify destroy)
{
	struct ce_media *m = room->m;
	unsigned units_ms;
	/* Aligned as its mixer part asks (mixer.h: two lines a tick). */
	struct ce_media_leg *leg = g_aligned_alloc0(1, sizeof(*leg), _Alignof(struct ce_media_leg));
	int err = ce_media_addr_key(&leg->key, remote, len);

	if (!err)
		err = leg_opts(leg, opts);
	if (err < 0)
		goto out;
	/* a codec without a static payload type needs the phone's (Opus) */
	if ((ce_codec_rtp_pt(codec) < 0 && !(opts && opts->pt)) || room->removing) {
		err = -ENOTSUP;
		goto out;
	}
	if (!leg->latch && g_hash_table_contains(m->remotes, &leg->key)) {
		err = -EADDRINUSE;
		goto out;
	}
	leg->dsp_rate = ce_mix_codec_frame(room->mix, codec) * 50;
	if (opts) {
		leg->dsp_ns = opts->ns;
		leg->dsp_agc = opts->agc;
	}
	if (opts && (opts->ns || opts->agc) &&
	        !(leg->dsp = ce_dsp_new(leg->dsp_rate, leg->dsp_rate / 50, opts->ns, opts->agc))) {
		err = -ENOTSUP;
		goto out;
	}
	leg->at = leg->key;
	leg->room = room;
	leg->mroom = room;
	memcpy(&leg->remote, remote, MIN(len, sizeof(leg->remote)));
	leg->remote_len = len;
	leg->pt = (uint8_t)(opts && opts->pt ? opts->pt : ce_codec_rtp_pt(codec));
	leg->alt_pt = ce_media_alt_pt(leg->both_laws, codec);
	leg->st.level_db = CE_MEDIA_NO_LEVEL; /* until its media thread has heard it */
	leg->ssrc = g_random_int();
	leg->seq = (uint16_t)g_random_int();
	leg->ts = g_random_int();
	ce_mix_leg_init(&leg->mix, codec, flags, NULL);
	if ((err = leg_room_states(leg, room)) < 0)
		goto out;
	if (codec == CE_CODEC_OPUS &&
	        !(leg->opus = opus_rx_new(room->mix->rate, m->conf.jbuf_min_ms))) {
		err = -ENOMEM;
		goto out;
	}
	/* the jitter buffer counts RTP timestamp units: 8 a ms but for L16 */
	units_ms = (ce_mix_codec_frame(room->mix, codec) >> ce_codec_ts_shift(codec)) / 20;
	ce_jbuf_init(
	        &leg->jb, codec, m->conf.jbuf_min_ms * units_ms, m->conf.jbuf_max_ms * units_ms);
	err = send_cmd(room->shard, CE_MEDIA_CMD_LEG_ADD, room, leg, 0);
	if (err < 0)
		goto out;
	leg->user = user;
	leg->destroy = destroy;
	if (!leg->latch)
		g_hash_table_add(m->remotes, &leg->key);
	g_hash_table_add(m->legs, leg);
out:
	if (err < 0)
		g_clear_pointer(&leg, leg_free);
	*lp = leg;
	return err;
}

/** "ip:port" (IPv6: "[ip]:port") of @ss into @buf, for the log; "?" if it is neither. */
void ce_media_addr_text(const struct sockaddr_storage *ss, socklen_t len, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "";

	if (ss->ss_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		g_snprintf(buf, size, "%s:%u", ip, ntohs(in->sin_port));
	} else if (ss->ss_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		g_snprintf(buf, size, "[%s]:%u", ip, ntohs(in6->sin6_port));
	} else {
		g_strlcpy(buf, "?", size);
	}
}
