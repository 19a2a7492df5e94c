/* media-thread.c - one media thread's tick: commands, RTP in, mixing, RTP out, events */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define G_LOG_DOMAIN "media"
#include <errno.h>
#include <string.h>
#include <time.h>

#include "media-priv.h"

#define TICK_NS 20000000L
/* Packets taken from one leg per tick; more is a flood and is dropped. */
#define LEG_RX_MAX 8

static void post_leg(struct ce_media_leg *leg, enum ce_media_ev_type type)
{
	struct ce_media_event ev = {.type = type, .room = leg->room, .leg = leg};

	ev.energy = ce_talker_energy(&leg->mix.talker);
	ce_media_post(leg->room->m, &ev, CE_MEDIA_PUBLIC);
}

static void gone_leg(struct ce_media_leg *leg)
{
	struct ce_media_event ev = {.room = leg->room, .leg = leg};

	ce_media_post(leg->room->m, &ev, CE_MEDIA_GONE_LEG);
}

static void leg_unlink(struct ce_shard *s, struct ce_media_leg *leg)
{
	struct ce_media_room *room = leg->room;

	if (!leg->linked)
		return;
	if (ce_mix_leg_detach(&leg->mix))
		post_leg(leg, CE_MEDIA_EV_TALK_STOP);
	for (unsigned i = 0; i < CE_MEDIA_MAX_SPEAKERS; i++)
		if (room->last[i] == leg)
			room->last[i] = NULL;
	g_hash_table_remove(s->by_addr, &leg->key);
	leg->linked = false;
	s->n_legs--;
}

static void room_del(struct ce_shard *s, struct ce_media_room *room)
{
	struct ce_media_event ev = {.room = room};

	ce_media_files_room_del(room);
	while (room->mix->legs) {
		struct ce_media_leg *leg = (struct ce_media_leg *)room->mix->legs;

		leg_unlink(s, leg);
		gone_leg(leg);
	}
	if (room->prev)
		room->prev->next = room->next;
	else if (s->rooms == room)
		s->rooms = room->next;
	if (room->next)
		room->next->prev = room->prev;
	ce_media_post(room->m, &ev, CE_MEDIA_GONE_ROOM);
}

static void apply(struct ce_shard *s, const struct ce_media_cmd *c)
{
	switch (c->type) {
	case CE_MEDIA_CMD_ROOM_ADD:
		c->room->next = s->rooms;
		if (s->rooms)
			s->rooms->prev = c->room;
		s->rooms = c->room;
		break;
	case CE_MEDIA_CMD_ROOM_DEL:
		room_del(s, c->room);
		break;
	case CE_MEDIA_CMD_LEG_ADD:
		ce_mix_leg_attach(c->room->mix, &c->leg->mix);
		g_hash_table_insert(s->by_addr, &c->leg->key, c->leg);
		c->leg->linked = true;
		c->leg->last_rx = s->tick;
		s->n_legs++;
		break;
	case CE_MEDIA_CMD_LEG_DEL:
		leg_unlink(s, c->leg);
		gone_leg(c->leg);
		break;
	case CE_MEDIA_CMD_LEG_FLAGS:
		if (c->leg->linked &&
		        ce_mix_leg_set_flags(&c->leg->mix, c->flags) == CE_TALKER_STOP)
			post_leg(c->leg, CE_MEDIA_EV_TALK_STOP);
		break;
	default:
		ce_media_files_apply(s, c);
		break;
	}
}

static void take_packet(struct ce_shard *s, const uint8_t *buf, size_t len,
        const struct sockaddr_storage *from, socklen_t flen)
{
	struct ce_addr_key key;
	struct ce_media_leg *leg;
	struct ce_rtp_pkt pkt;

	if (ce_media_addr_key(&key, (const struct sockaddr *)from, flen) < 0 ||
	        !(leg = g_hash_table_lookup(s->by_addr, &key))) {
		s->st.rx_unknown++;
		return;
	}
	if (ce_rtp_parse(&pkt, buf, len) < 0) {
		leg->st.rx_bad++;
		return;
	}
	if (pkt.pt != leg->pt) {
		leg->st.rx_wrong_pt++;
		return;
	}
	if (++leg->rx_tick > LEG_RX_MAX) {
		leg->st.rx_flood++;
		return;
	}
	leg->st.rx_packets++;
	leg->last_rx = s->tick;
	ce_jbuf_put(&leg->jb, pkt.ssrc, pkt.ts, pkt.payload, pkt.len, (uint32_t)(s->tick * 160));
}

static void receive(struct ce_shard *s)
{
	/* Bounded: a flood cannot keep the thread from mixing. */
	unsigned budget = LEG_RX_MAX * s->n_legs + 4 * CE_MEDIA_BATCH;

	while (budget > 0) {
		int n;

		for (unsigned i = 0; i < CE_MEDIA_BATCH; i++) {
			s->riov[i].iov_base = s->rbuf[i];
			s->riov[i].iov_len = sizeof(s->rbuf[i]);
			memset(&s->rmsg[i].msg_hdr, 0, sizeof(s->rmsg[i].msg_hdr));
			s->rmsg[i].msg_hdr.msg_iov = &s->riov[i];
			s->rmsg[i].msg_hdr.msg_iovlen = 1;
			s->rmsg[i].msg_hdr.msg_name = &s->raddr[i];
			s->rmsg[i].msg_hdr.msg_namelen = sizeof(s->raddr[i]);
		}
		n = recvmmsg(s->fd, s->rmsg, CE_MEDIA_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			if (s->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC)
				s->st.rx_bad++;
			else
				take_packet(s, s->rbuf[i], s->rmsg[i].msg_len, &s->raddr[i],
				        s->rmsg[i].msg_hdr.msg_namelen);
		}
		budget = budget > (unsigned)n ? budget - (unsigned)n : 0;
		if (n < CE_MEDIA_BATCH)
			break;
	}
}

static void flush(struct ce_shard *s)
{
	unsigned done = 0;

	while (done < s->n_send) {
		int n = sendmmsg(s->fd, s->smsg + done, s->n_send - done, MSG_DONTWAIT);

		if (n <= 0) {
			/* A full socket buffer or an unreachable peer: drop the frame. */
			s->st.tx_errors++;
			n = 1;
		}
		done += (unsigned)n;
	}
	s->n_send = 0;
}

static void queue_send(struct ce_shard *s, struct ce_media_leg *leg)
{
	struct msghdr *h = &s->smsg[s->n_send].msg_hdr;
	size_t len;
	const uint8_t *p = ce_mix_leg_output(&leg->mix, &len);

	if (!p)
		return;
	ce_rtp_build_hdr(s->shdr[s->n_send], leg->pt, leg->st.tx_packets == 0, leg->seq++, leg->ts,
	        leg->ssrc);
	leg->ts += (uint32_t)leg->room->mix->frame;
	leg->st.tx_packets++;
	s->siov[s->n_send][0] = (struct iovec){s->shdr[s->n_send], CE_RTP_HDR_LEN};
	s->siov[s->n_send][1] = (struct iovec){(void *)p, len};
	memset(h, 0, sizeof(*h));
	h->msg_name = &leg->remote;
	h->msg_namelen = leg->remote_len;
	h->msg_iov = s->siov[s->n_send];
	h->msg_iovlen = 2;
	if (++s->n_send == CE_MEDIA_BATCH)
		flush(s);
}

static void leg_input(struct ce_shard *s, struct ce_media_leg *leg)
{
	int16_t pcm[CE_MIX_MAX_FRAME];
	unsigned n = leg->room->mix->frame;
	enum ce_talker_ev ev;
	uint64_t timeout = leg->room->m->conf.rtp_timeout_ms / 20;

	leg->rx_tick = 0;
	if (ce_jbuf_pull(&leg->jb, pcm, n) == CE_JBUF_SILENCE)
		ev = ce_mix_leg_input(&leg->mix, NULL);
	else
		ev = ce_mix_leg_input(&leg->mix, pcm);
	if (ev == CE_TALKER_START)
		post_leg(leg, CE_MEDIA_EV_TALK_START);
	else if (ev == CE_TALKER_STOP)
		post_leg(leg, CE_MEDIA_EV_TALK_STOP);
	if (!leg->timed_out && timeout && s->tick - leg->last_rx > timeout) {
		leg->timed_out = true;
		post_leg(leg, CE_MEDIA_EV_RTP_TIMEOUT);
	} else if (leg->timed_out && leg->last_rx == s->tick) {
		leg->timed_out = false;
	}
}

/* Whether two speaker lists hold the same legs, in any order. */
static bool same_set(struct ce_media_leg *const *a, struct ce_media_leg *const *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		bool found = false;

		for (unsigned j = 0; j < n && !found; j++)
			found = a[i] == b[j];
		if (!found)
			return false;
	}
	return true;
}

/* Yate's rule: notify when the ordered list changed, or every 5 s while
 * anyone speaks; never more often than the interval. */
static void speaking(struct ce_shard *s, struct ce_media_room *room)
{
	struct ce_media_event ev = {.type = CE_MEDIA_EV_SPEAKING, .room = room};
	struct ce_mix_leg *legs[CE_MEDIA_MAX_SPEAKERS] = {NULL};
	struct ce_media_leg *now[CE_MEDIA_MAX_SPEAKERS] = {NULL};
	bool notify;

	if (!room->speakers || s->tick < room->next_notify)
		return;
	ev.n_speakers = ce_mix_room_speakers(room->mix, legs, ev.energies, room->speakers);
	for (unsigned i = 0; i < ev.n_speakers; i++)
		now[i] = (struct ce_media_leg *)legs[i];
	notify = memcmp(now, room->last, sizeof(now)) != 0 ||
	         (now[0] && s->tick >= room->next_repeat);
	if (!notify)
		return;
	ev.changed = !same_set(now, room->last, room->speakers) ||
	             !same_set(room->last, now, room->speakers);
	memcpy(ev.speakers, now, sizeof(now));
	memcpy(room->last, now, sizeof(now));
	room->next_repeat = s->tick + 250;
	room->next_notify = s->tick + room->interval_ticks;
	ce_media_post(room->m, &ev, CE_MEDIA_PUBLIC);
}

static void mix_room(struct ce_shard *s, struct ce_media_room *room)
{
	struct ce_mix_leg *l, *next;

	for (l = room->mix->legs; l; l = l->next)
		leg_input(s, (struct ce_media_leg *)l);
	if (room->mix->srcs)
		ce_media_files_feed(room);
	ce_mix_room_mix(room->mix);
	if (room->rec)
		ce_media_files_record(room);
	speaking(s, room);
	for (l = room->mix->legs; l; l = next) {
		next = l->next;
		queue_send(s, (struct ce_media_leg *)l);
	}
}

static void tick(struct ce_shard *s)
{
	struct ce_media_cmd c;

	s->tick++;
	s->st.ticks++;
	while (ce_media_ring_pop_cmd(&s->cmds, &c))
		apply(s, &c);
	receive(s);
	for (struct ce_media_room *r = s->rooms; r; r = r->next) {
		if (r->next)
			ce_mix_room_prefetch(r->next->mix);
		mix_room(s, r);
	}
	flush(s);
}

static void add_ns(struct timespec *t, long ns)
{
	t->tv_nsec += ns;
	while (t->tv_nsec >= 1000000000L) {
		t->tv_nsec -= 1000000000L;
		t->tv_sec++;
	}
}

/* The thread: one absolute 20 ms clock for all its rooms. */
gpointer ce_media_shard_run(gpointer data)
{
	struct ce_shard *s = data;
	struct timespec next, now;

	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!g_atomic_int_get(&s->quit)) {
		int64_t late;

		add_ns(&next, TICK_NS);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
		clock_gettime(CLOCK_MONOTONIC, &now);
		late = (int64_t)(now.tv_sec - next.tv_sec) * 1000000000L + now.tv_nsec -
		       next.tv_nsec;
		if (late > 5 * TICK_NS) {
			/* Far behind (suspended, overloaded): skip, do not burst. */
			s->st.overruns++;
			next = now;
		}
		tick(s);
	}
	return NULL;
}
