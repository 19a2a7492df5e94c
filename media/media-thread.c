/* media-thread.c - one media thread's tick: commands, RTP in, mixing, RTP out, events
 *
 * The clock wakes every 5 ms (CE_MEDIA_PHASE_NS); four wakes make the
 * 20 ms tick.  Every wake applies commands and reads the socket, noting for
 * each leg at which wake (phase) its packets come in.  A room mixes at one
 * phase of each tick: after mixing it looks at where its seated talkers'
 * packets arrived over the last 2 s and, when for some ticks another phase
 * would have had them all in sooner, moves one phase towards it (a tick of
 * 25 or 15 ms once, which RTP timestamps carry on through): after 100 ms
 * for its first talkers or for a lossless step from half a tick away,
 * after 5 s once it has been aligned.  So a talker's frame is
 * mixed within 5 ms of its arrival without the jitter buffer having to keep
 * half a frame in reserve, rooms spread over the phases spread the work,
 * and idle rooms still cost one silent frame per leg and tick.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define G_LOG_DOMAIN "media"
#include <errno.h>
#include <string.h>
#include <time.h>

#include "dsp.h"
#include "gain.h"
#include "media-priv.h"

#define TICK_NS 20000000L
/*
 * Ticks in a row that a room's talkers must want another phase before it
 * moves: few for its first alignment, many (5 s) once it has been where
 * its talkers wanted, because a move later stretches one tick to 25 ms
 * (the legs get a frame less over the move) and packets that wobble
 * between phases must not walk a room round the clock.
 */
#define PHASE_VOTES_FIRST 5
#define PHASE_VOTES       250
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

/*
 * A leg is found by the address its packets come from (leg->at) only
 * while it holds that key of by_addr: a latching leg takes it when nobody
 * has it (two phones behind one NAT may give one address: the second is
 * found once it latches), a leg that does not latch takes it from a
 * latching one (which then latches again when its phone sends).
 */
static void addr_claim(struct ce_shard *s, struct ce_media_leg *leg)
{
	if (!leg->latch)
		g_hash_table_replace(s->by_addr, &leg->at, leg);
	else if (!g_hash_table_contains(s->by_addr, &leg->at))
		g_hash_table_insert(s->by_addr, &leg->at, leg);
}

static void addr_release(struct ce_shard *s, struct ce_media_leg *leg)
{
	if (g_hash_table_lookup(s->by_addr, &leg->at) == leg)
		g_hash_table_remove(s->by_addr, &leg->at);
}

/* The shard's latching legs, in creation order (the order of their adds). */
static void latching_add(struct ce_shard *s, struct ce_media_leg *leg)
{
	leg->latch_next = NULL;
	leg->latch_prev = s->latching_tail;
	if (s->latching_tail)
		s->latching_tail->latch_next = leg;
	else
		s->latching = leg;
	s->latching_tail = leg;
}

static void latching_del(struct ce_shard *s, struct ce_media_leg *leg)
{
	if (leg->latch_prev)
		leg->latch_prev->latch_next = leg->latch_next;
	else
		s->latching = leg->latch_next;
	if (leg->latch_next)
		leg->latch_next->latch_prev = leg->latch_prev;
	else
		s->latching_tail = leg->latch_prev;
	leg->latch_next = leg->latch_prev = NULL;
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
	addr_release(s, leg);
	if (leg->latch)
		latching_del(s, leg);
	leg->linked = false;
	s->n_legs--;
}

/* Swap in what @r holds (ce_media_rerate) and hand the old ones back in it to be freed. */
static void leg_rerate(
        struct ce_media_leg *leg, struct ce_media_room *room, struct ce_media_rerate *r)
{
	struct ce_opus_dec *dec = leg->opus ? leg->opus->dec : NULL;
	struct ce_mix_wide *wide = leg->mix.wide;

	if (leg->opus) {
		leg->opus->dec = r->dec;
		r->dec = dec;
	}
	leg->mix.wide = r->wide;
	r->wide = wide;
	if (r->swap_dsp) {
		struct ce_dsp *dsp = leg->dsp;

		leg->dsp = r->dsp;
		r->dsp = dsp;
	}
	ce_media_post_obj(room->m, room, CE_MEDIA_GONE_RERATE, r, false);
}

/* A leg changes rooms on its thread: out of the old mix, into the new, its stream untouched
 * (an Opus leg's decoder and encoder at the new room's rate when @r brings them). */
static void leg_move(struct ce_shard *s, struct ce_media_leg *leg, struct ce_media_room *room,
        struct ce_media_rerate *r)
{
	struct ce_media_room *old = leg->room;

	if (!leg->linked || old == room) {
		if (r)
			ce_media_post_obj(room->m, room, CE_MEDIA_GONE_RERATE, r, false);
		return;
	}
	ce_media_files_leg_del(leg);
	if (ce_mix_leg_detach(&leg->mix))
		post_leg(leg, CE_MEDIA_EV_TALK_STOP);
	for (unsigned i = 0; i < CE_MEDIA_MAX_SPEAKERS; i++)
		if (old->last[i] == leg)
			old->last[i] = NULL;
	leg->room = room;
	if (r)
		leg_rerate(leg, room, r);
	ce_mix_leg_attach(room->mix, &leg->mix);
	(void)s;
}

static void room_link(struct ce_shard *s, struct ce_media_room *room, unsigned phase)
{
	room->phase = phase;
	room->prev = NULL;
	room->next = s->rooms[phase];
	if (room->next)
		room->next->prev = room;
	s->rooms[phase] = room;
}

static void room_unlink(struct ce_shard *s, struct ce_media_room *room)
{
	if (room->prev)
		room->prev->next = room->next;
	else if (s->rooms[room->phase] == room)
		s->rooms[room->phase] = room->next;
	if (room->next)
		room->next->prev = room->prev;
	room->next = room->prev = NULL;
}

/* Take a room out of the deferred list (a few rooms at most), if it is in it. */
static void undefer(struct ce_shard *s, struct ce_media_room *room)
{
	for (struct ce_media_room **pp = &s->deferred; *pp; pp = &(*pp)->defer_next)
		if (*pp == room) {
			*pp = room->defer_next;
			return;
		}
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
	room_unlink(s, room);
	undefer(s, room);
	ce_media_post(room->m, &ev, CE_MEDIA_GONE_ROOM);
}

/* The Q12 factor of @db, 0 for none (0 dB: the frames pass untouched). */
static int32_t gain_of(int db)
{
	return db ? ce_gain_q12(db) : 0;
}

static void apply(struct ce_shard *s, const struct ce_media_cmd *c)
{
	switch (c->type) {
	case CE_MEDIA_CMD_ROOM_ADD:
		/* Round robin until its talkers say where it belongs. */
		room_link(s, c->room, s->next_phase++ % CE_MEDIA_PHASES);
		break;
	case CE_MEDIA_CMD_ROOM_DEL:
		room_del(s, c->room);
		break;
	case CE_MEDIA_CMD_LEG_ADD:
		ce_mix_leg_attach(c->room->mix, &c->leg->mix);
		addr_claim(s, c->leg);
		if (c->leg->latch)
			latching_add(s, c->leg);
		c->leg->linked = true;
		c->leg->last_rx = s->tick;
		s->n_legs++;
		break;
	case CE_MEDIA_CMD_LEG_DEL:
		ce_media_files_leg_del(c->leg);
		leg_unlink(s, c->leg);
		gone_leg(c->leg);
		break;
	case CE_MEDIA_CMD_LEG_MOVE:
		leg_move(s, c->leg, c->room, c->obj);
		break;
	case CE_MEDIA_CMD_LEG_GAIN:
		c->leg->talk_gain = gain_of((int)(c->flags & 0xff) - 128);
		ce_mix_leg_set_gain(&c->leg->mix, gain_of((int)(c->flags >> 8 & 0xff) - 128));
		break;
	case CE_MEDIA_CMD_LEG_CODEC:
		ce_mix_leg_set_codec(&c->leg->mix, (enum ce_codec)c->flags);
		ce_jbuf_set_codec(&c->leg->jb, (enum ce_codec)c->flags);
		c->leg->pt = (uint8_t)ce_codec_rtp_pt((enum ce_codec)c->flags);
		c->leg->alt_pt = ce_media_alt_pt(c->leg->both_laws, (enum ce_codec)c->flags);
		break;
	case CE_MEDIA_CMD_LEG_DSP:
		/* the old one is freed by the main thread, which made the new one */
		if (c->leg->dsp)
			ce_media_post_obj(c->leg->room->m, c->leg->room, CE_MEDIA_GONE_DSP,
			        c->leg->dsp, false);
		c->leg->dsp = c->obj;
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

/* One packet more from @leg this tick: false, or true (counted) past LEG_RX_MAX. */
static bool flooded(struct ce_shard *s, struct ce_media_leg *leg)
{
	if (++leg->rx_tick <= LEG_RX_MAX)
		return false;
	CE_COUNTER_ADD(&leg->st.rx_flood, 1);
	CE_COUNTER_ADD(&s->st.rx_flood, 1);
	return true;
}

/*
 * An RFC 4733 telephone-event: after the RTP header, 4 bytes
 *
 *   | event (8) |E|R| volume (6) |      duration (16)      |
 *
 * e.g. 0b 8a 03 20 is event 11 ('#'), ended, -10 dBm0, 800 samples long.
 * Every packet of one event (the first, the repeats while the key is held,
 * the three end packets) carries the timestamp of its start: a newer
 * timestamp, or another SSRC, is a new event, reported once.  Events
 * other than the keys and flash are ignored.
 */
static void leg_dtmf(struct ce_shard *s, struct ce_media_leg *leg, const struct ce_rtp_pkt *pkt)
{
	static const char keys[] = "0123456789*#ABCDF";
	struct ce_media_event ev = {.type = CE_MEDIA_EV_DTMF, .room = leg->room, .leg = leg};

	if (flooded(s, leg))
		return;
	if (pkt->len < 4) {
		CE_COUNTER_ADD(&leg->st.rx_bad, 1);
		CE_COUNTER_ADD(&s->st.rx_bad, 1);
		return;
	}
	CE_COUNTER_ADD(&leg->st.rx_dtmf, 1);
	leg->last_rx = s->tick; /* a phone that only sends keys is alive */
	if (leg->dtmf_seen && pkt->ssrc == leg->dtmf_ssrc && (int32_t)(pkt->ts - leg->dtmf_ts) <= 0)
		return;
	leg->dtmf_seen = true;
	leg->dtmf_ssrc = pkt->ssrc;
	leg->dtmf_ts = pkt->ts;
	if (pkt->payload[0] >= sizeof(keys) - 1)
		return;
	ev.digit = keys[pkt->payload[0]];
	CE_COUNTER_ADD(&s->st.dtmf, 1);
	ce_media_post(leg->room->m, &ev, CE_MEDIA_PUBLIC);
}

/* A parsed packet from @leg's address: its audio into the jitter buffer, its keys reported. */
static void leg_rx(struct ce_shard *s, struct ce_media_leg *leg, const struct ce_rtp_pkt *pkt)
{
	uint64_t frame = leg_units(leg);
	uint8_t conv[CE_RTP_MAX_PACKET];
	const uint8_t *payload = pkt->payload;

	if (pkt->pt != leg->pt) {
		if (pkt->pt == leg->dtmf_pt) {
			leg_dtmf(s, leg, pkt);
			return;
		}
		if (pkt->pt == leg->alt_pt && pkt->len <= sizeof(conv)) {
			/* the other law, which its SDP answer allowed: into the leg's */
			const uint8_t *table = ce_g711_law_table((enum ce_codec)leg->mix.codec);

			for (size_t i = 0; i < pkt->len; i++)
				conv[i] = table[pkt->payload[i]];
			payload = conv;
			goto take;
		}
		CE_COUNTER_ADD(&leg->st.rx_wrong_pt, 1);
		CE_COUNTER_ADD(&s->st.rx_wrong_pt, 1);
		return;
	}
take:
	if (flooded(s, leg))
		return;
	CE_COUNTER_ADD(&leg->st.rx_packets, 1);
	leg->last_rx = s->tick;
	ce_media_arrival(&leg->ph, s->phase);
	if (leg->opus) {
		uint64_t late = leg->opus->jb.st.late;

		ce_pjbuf_put(&leg->opus->jb, pkt->ssrc, pkt->ts, payload, pkt->len);
		CE_COUNTER_ADD(&s->st.rx_late, leg->opus->jb.st.late - late);
		return;
	}
	/* Arrival on the receiver's clock in timestamp units (a frame a tick), to the wake. */
	if (ce_jbuf_put(&leg->jb, pkt->ssrc, pkt->ts, payload, pkt->len,
	            (uint32_t)(s->tick * frame + s->phase * (frame / CE_MEDIA_PHASES))) == -ETIME)
		CE_COUNTER_ADD(&s->st.rx_late, 1);
}

/* Whether @pkt from @key may be @leg's phone: its payload types, from its remote's or SIP peer's
 * IP. */
static bool latch_may(
        const struct ce_media_leg *leg, const struct ce_rtp_pkt *pkt, const struct ce_addr_key *key)
{
	return (pkt->pt == leg->pt || pkt->pt == leg->dtmf_pt || pkt->pt == leg->alt_pt) &&
	       (memcmp(key->addr, leg->ip, sizeof(leg->ip)) == 0 ||
	               (leg->has_sig && memcmp(key->addr, leg->sig_ip, sizeof(leg->sig_ip)) == 0));
}

/*
 * The latching leg @pkt from the unknown address @key belongs to, if any:
 * the leg whose phone's SSRC it carries (the phone's NAT moved it), else
 * the first, in creation order, that has had no packet yet.
 */
static struct ce_media_leg *latch_find(
        struct ce_shard *s, const struct ce_rtp_pkt *pkt, const struct ce_addr_key *key)
{
	struct ce_media_leg *leg, *first = NULL;

	for (leg = s->latching; leg; leg = leg->latch_next) {
		uint32_t ssrc;
		bool started;

		if (!latch_may(leg, pkt, key))
			continue;
		started = leg_rx_started(leg, &ssrc);
		if (started ? pkt->ssrc == ssrc : leg->dtmf_seen && pkt->ssrc == leg->dtmf_ssrc)
			return leg;
		if (!first && !started && !leg->dtmf_seen)
			first = leg;
	}
	return first;
}

/* @leg's phone now sends from @from: find it and send to it there. */
static void latch_move(struct ce_shard *s, struct ce_media_leg *leg, const struct ce_addr_key *key,
        const struct sockaddr_storage *from, socklen_t flen)
{
	struct ce_media_event ev = {.type = CE_MEDIA_EV_LATCHED,
	        .room = leg->room,
	        .leg = leg,
	        .from = *from,
	        .from_len = flen};

	addr_release(s, leg);
	leg->at = *key;
	g_hash_table_insert(s->by_addr, &leg->at, leg);
	leg->remote = *from;
	leg->remote_len = flen;
	CE_COUNTER_ADD(&leg->st.latched, 1);
	CE_COUNTER_ADD(&s->st.latched, 1);
	ce_media_post(leg->room->m, &ev, CE_MEDIA_PUBLIC);
}

/* A packet from an address no leg has: a latching leg's phone, or nobody's. */
static void from_unknown(struct ce_shard *s, const uint8_t *buf, size_t len,
        const struct sockaddr_storage *from, socklen_t flen, const struct ce_addr_key *key)
{
	struct ce_media_leg *leg = NULL;
	struct ce_rtp_pkt pkt;

	if (s->latching && s->latch_tries < CE_MEDIA_LATCH_TRIES) {
		s->latch_tries++;
		if (ce_rtp_parse(&pkt, buf, len) == 0)
			leg = latch_find(s, &pkt, key);
	}
	if (!leg) {
		CE_COUNTER_ADD(&s->st.rx_unknown, 1);
		return;
	}
	latch_move(s, leg, key, from, flen);
	leg_rx(s, leg, &pkt);
}

static void take_packet(struct ce_shard *s, const uint8_t *buf, size_t len,
        const struct sockaddr_storage *from, socklen_t flen)
{
	struct ce_addr_key key;
	struct ce_media_leg *leg;
	struct ce_rtp_pkt pkt;

	if (ce_media_addr_key(&key, (const struct sockaddr *)from, flen) < 0) {
		CE_COUNTER_ADD(&s->st.rx_unknown, 1);
		return;
	}
	if (!(leg = g_hash_table_lookup(s->by_addr, &key))) {
		from_unknown(s, buf, len, from, flen, &key);
		return;
	}
	/* counted per leg (conf show) and per thread, whose totals outlive the legs (status) */
	if (ce_rtp_parse(&pkt, buf, len) < 0) {
		CE_COUNTER_ADD(&leg->st.rx_bad, 1);
		CE_COUNTER_ADD(&s->st.rx_bad, 1);
		return;
	}
	leg_rx(s, leg, &pkt);
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
				CE_COUNTER_ADD(&s->st.rx_bad, 1);
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
			CE_COUNTER_ADD(&s->st.tx_errors, 1);
			n = 1;
		}
		done += (unsigned)n;
	}
	s->n_send = 0;
	s->flushes++;
}

/* The next mix output, its frames no longer queued for sending. */
static struct ce_mix_out *next_out(struct ce_shard *s)
{
	unsigned i = s->next_out;

	s->next_out = (i + 1) % CE_MEDIA_OUTS;
	if (s->out_flush[i] == s->flushes + 1)
		flush(s);
	s->out_flush[i] = s->flushes + 1;
	return &s->outs[i];
}

static void queue_send(struct ce_shard *s, struct ce_media_leg *leg)
{
	struct msghdr *h = &s->smsg[s->n_send].msg_hdr;
	size_t len;
	/* A leg that hears the room louder or softer cannot take the frame
	 * shared by every leg of its codec: it gets its own, encoded in the
	 * send slot's buffer (kept until the batch is sent). */
	const uint8_t *p = leg->mix.gain
	                           ? ce_mix_leg_output_gain(&leg->mix, s->sgain[s->n_send], &len)
	                           : ce_mix_leg_output(&leg->mix, &len);

	if (!p)
		return;
	ce_rtp_build_hdr(s->shdr[s->n_send], leg->pt, leg->st.tx_packets == 0, leg->seq++, leg->ts,
	        leg->ssrc);
	leg->ts += (uint32_t)leg_units(leg);
	CE_COUNTER_ADD(&leg->st.tx_packets, 1);
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

/* The level a leg's meter shows (media.h, level_db): what its detector measured of its last
 * frame, while the room hears it. */
static int32_t level_of(const struct ce_mix_leg *mix)
{
	float db = ce_talker_level(&mix->talker);

	if (!ce_mix_leg_heard(mix) || (mix->flags & CE_MIX_DUMB) || !(db > CE_MEDIA_NO_LEVEL))
		return CE_MEDIA_NO_LEVEL;
	return db >= 0 ? 0 : (int32_t)(db - 0.5f);
}

/*
 * An Opus leg's frame of this tick into @pcm (@n samples at 16 kHz): its
 * packet decoded; a lost one rebuilt from the next packet's in-band FEC
 * when it is there, else concealed by the decoder.  Returns whether there
 * is a frame (nothing: the phone sends nothing, or the stream has not
 * started).  A packet the decoder refuses is concealed.
 */
static enum ce_jbuf_out opus_pull(
        struct ce_shard *s, struct ce_media_leg *leg, int16_t *pcm, unsigned n)
{
	struct ce_media_opus *o = leg->opus;
	const uint8_t *pkt, *next;
	size_t len, next_len;
	enum ce_opus_recovery how;

	switch (ce_pjbuf_pull(&o->jb, &pkt, &len, &next, &next_len)) {
	case CE_PJBUF_PACKET:
		if (ce_opus_decode(o->dec, pkt, len, pcm, n) == (int)n)
			return CE_JBUF_AUDIO;
		CE_COUNTER_ADD(&leg->st.rx_bad, 1);
		next = NULL;
		next_len = 0;
		break;
	case CE_PJBUF_LOST:
		break;
	default:
		return CE_JBUF_SILENCE;
	}
	CE_COUNTER_ADD(&s->st.concealed, CE_MEDIA_OPUS_UNITS);
	if (ce_opus_decode_lost(o->dec, next, next_len, pcm, n, &how) != (int)n)
		return CE_JBUF_SILENCE;
	if (how == CE_OPUS_FEC)
		CE_COUNTER_ADD(&leg->st.rx_fec, 1);
	return CE_JBUF_CONCEALED;
}

static void leg_input(struct ce_shard *s, struct ce_media_leg *leg)
{
	int16_t pcm[CE_MIX_MAX_FRAME], clean[CE_MIX_MAX_FRAME];
	const int16_t *mixed = pcm;
	/* its frame is at its codec's rate; the mixer converts it if it is heard */
	unsigned n = ce_mix_codec_frame(leg->room->mix, (enum ce_codec)leg->mix.codec);
	enum ce_talker_ev ev;
	enum ce_jbuf_out out;
	uint64_t concealed, waits;
	uint64_t timeout = leg->room->m->conf.rtp_timeout_ms / 20;

	unsigned seen = ce_media_arrivals_now(&leg->ph), p = leg->room->phase;

	leg->rx_tick = 0;
	if (leg->opus) {
		out = opus_pull(s, leg, pcm, n);
		goto take;
	}
	/* Packets read at the room's phase are mixed at once, those read at the
	 * next one a tick later: a leg whose packets come on both sides of that
	 * line would stall every time one comes late, so it keeps a frame.  A
	 * seated talker needs none: its room waits for it (talker_late()). */
	ce_jbuf_set_floor(&leg->jb,
	        leg->mix.slot < 0 && (seen >> p & 1) && (seen >> ((p + 1) % CE_MEDIA_PHASES) & 1)
	                ? leg_units(leg)
	                : 0);
	concealed = leg->jb.st.concealed;
	waits = leg->jb.st.stalls;
	out = ce_jbuf_pull(&leg->jb, pcm, leg_units(leg));
	CE_COUNTER_ADD(&s->st.concealed, leg->jb.st.concealed - concealed);
	CE_COUNTER_ADD(&s->st.waits, leg->jb.st.stalls - waits);
take:
	if (leg->dsp && out != CE_JBUF_SILENCE) {
		/* the room hears it cleaned up, its talker detector as it came
		 * (leftover noise between words would start talks) */
		memcpy(clean, pcm, n * sizeof(*pcm));
		ce_dsp_process(leg->dsp, clean);
		mixed = clean;
	}
	if (leg->talk_gain && out != CE_JBUF_SILENCE) {
		/* after the AGC, which would undo a caller's volume step */
		ce_gain_apply(pcm, n, leg->talk_gain);
		if (mixed == clean)
			ce_gain_apply(clean, n, leg->talk_gain);
	}
	ev = ce_mix_leg_input_as(&leg->mix, out == CE_JBUF_SILENCE ? NULL : pcm,
	        out == CE_JBUF_SILENCE ? NULL : mixed);
	CE_ATOMIC_SET(&leg->st.level_db, level_of(&leg->mix));
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

/** A packet of the leg whose arrivals @a records was read at wake @phase. */
void ce_media_arrival(struct ce_media_arrivals *a, unsigned phase)
{
	a->seen |= (uint8_t)(1u << phase);
	if (++a->count < 8)
		return;
	for (unsigned p = 0; p < CE_MEDIA_PHASES; p++)
		if (a->seen >> p & 1)
			a->fresh[p] = CE_MEDIA_ARRIVALS_RUNS;
		else if (a->fresh[p] > 0)
			a->fresh[p]--;
	a->seen = 0;
	a->count = 0;
}

/* This run's phases and those seen in the last @runs runs. */
static unsigned arrivals_within(const struct ce_media_arrivals *a, unsigned runs)
{
	unsigned mask = a->seen;

	for (unsigned p = 0; p < CE_MEDIA_PHASES; p++)
		if (a->fresh[p] > CE_MEDIA_ARRIVALS_RUNS - runs)
			mask |= 1u << p;
	return mask;
}

/** The phases of the last 8 to 16 packets. */
unsigned ce_media_arrivals_now(const struct ce_media_arrivals *a)
{
	return arrivals_within(a, 1);
}

/** The phases of the last CE_MEDIA_ARRIVALS_RUNS runs and of this one. */
unsigned ce_media_arrivals_long(const struct ce_media_arrivals *a)
{
	return arrivals_within(a, CE_MEDIA_ARRIVALS_RUNS);
}

/* Phases from @from forward round the tick to @to (0 to CE_MEDIA_PHASES - 1). */
static unsigned phases_from(unsigned from, unsigned to)
{
	return (to + CE_MEDIA_PHASES - from) % CE_MEDIA_PHASES;
}

/**
 * The phase at which packets seen at the phases of @mask (bit i: phase i)
 * are all in: the end of the shortest circular run of phases covering
 * them; -1 when none is better than another (no packets, or arrivals
 * spread over the whole tick, as 30 ms packets are).
 */
int ce_media_ready_phase(unsigned mask)
{
	unsigned best_arc = CE_MEDIA_PHASES - 1;
	int best = -1;
	bool tie = false;

	for (unsigned e = 0; e < CE_MEDIA_PHASES && mask; e++) {
		unsigned arc = 0;

		for (unsigned b = 0; b < CE_MEDIA_PHASES; b++)
			if (mask >> b & 1)
				arc = MAX(arc, phases_from(b, e));
		if (arc < best_arc) {
			best_arc = arc;
			best = (int)e;
			tie = false;
		} else if (arc == best_arc && best >= 0) {
			tie = true;
		}
	}
	return tie ? -1 : best;
}

/**
 * The phase a room whose talkers' packets are in by @ready (n of them, -1
 * for no preference) should mix at: the one with the shortest wait for the
 * last of them, @cur when it is as good as any.
 */
unsigned ce_media_best_phase(const int *ready, unsigned n, unsigned cur)
{
	unsigned worst[CE_MEDIA_PHASES] = {0}, best = cur;

	for (unsigned i = 0; i < n; i++)
		for (unsigned p = 0; p < CE_MEDIA_PHASES && ready[i] >= 0; p++)
			worst[p] = MAX(worst[p], phases_from((unsigned)ready[i], p));
	for (unsigned p = 0; p < CE_MEDIA_PHASES; p++)
		if (worst[p] < worst[best])
			best = p;
	return best;
}

/**
 * Which way a room at @cur, whose talkers are in by @ready (n of them),
 * steps towards @best: +1 (one phase later), -1 (earlier), 0 (it is there).
 * A step later stretches one tick to 25 ms, so the legs get a frame less
 * over it; a step earlier is lossless when no talker is in only by @cur (each
 * wait shrinks by 5 ms and nobody's frame misses the earlier wake), and
 * *@lossless says so.  Half a tick away, either way takes two steps: earlier
 * when lossless.
 */
int ce_media_phase_step(const int *ready, unsigned n, unsigned cur, unsigned best, bool *lossless)
{
	unsigned d = phases_from(cur, best);
	bool earlier_free = true;
	int step;

	for (unsigned i = 0; i < n; i++)
		if (ready[i] == (int)cur)
			earlier_free = false;
	if (d == 0)
		step = 0;
	else if (d > CE_MEDIA_PHASES / 2 || (d == CE_MEDIA_PHASES / 2 && earlier_free))
		step = -1;
	else
		step = 1;
	*lossless = step < 0 && earlier_free;
	return step;
}

/* After a room mixed: move it one phase towards where its talkers' packets are in. */
static void follow_talkers(struct ce_shard *s, struct ce_media_room *room)
{
	int ready[CE_MIX_MAX_TALKERS] = {0}, step;
	unsigned n = 0, best, votes;
	bool lossless;

	/* The seats (set[], up to max_talkers) may have holes. */
	for (unsigned i = 0; i < room->mix->max_talkers; i++) {
		const struct ce_media_leg *leg = (const struct ce_media_leg *)room->mix->set[i];

		if (leg)
			ready[n++] = ce_media_ready_phase(ce_media_arrivals_long(&leg->ph));
	}
	best = ce_media_best_phase(ready, n, room->phase);
	step = ce_media_phase_step(ready, n, room->phase, best, &lossless);
	if (step == 0) {
		room->phase_votes = 0;
		room->aligned |= n > 0;
		return;
	}
	/* A step earlier that loses nothing (none of the talkers' packets of
	 * the last 2 s needed this phase): as fast as a first alignment. */
	votes = room->aligned && !lossless ? PHASE_VOTES : PHASE_VOTES_FIRST;
	if (++room->phase_votes < votes)
		return;
	room->phase_votes = 0;
	room_unlink(s, room);
	room_link(s, room, (room->phase + (step > 0 ? 1 : CE_MEDIA_PHASES - 1)) % CE_MEDIA_PHASES);
	CE_COUNTER_ADD(&s->st.phase_moves, 1);
}

static void mix_room(struct ce_shard *s, struct ce_media_room *room)
{
	struct ce_mix_leg *l, *next;

	ce_mix_room_begin(room->mix, next_out(s));
	for (l = room->mix->legs; l; l = l->next)
		leg_input(s, (struct ce_media_leg *)l);
	if (room->mix->srcs || room->waiting)
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

/*
 * Whether a seated talker's frame for this tick has not come yet, though
 * its packets still come: its room then mixes at the next wake instead (up
 * to CE_MEDIA_DEFER_MAX wakes), so a talker whose packet is a few
 * milliseconds late waits 5 or 10 ms rather than a whole tick (its room
 * moves to a later phase only after its packets came late for seconds,
 * follow_talkers()).  The listeners get that tick's frame as late.
 */
static bool talker_late(const struct ce_shard *s, const struct ce_media_room *room)
{
	const struct ce_mix_room *mix = room->mix;

	for (unsigned i = 0; i < mix->max_talkers; i++) {
		const struct ce_media_leg *leg = (const struct ce_media_leg *)mix->set[i];

		/* an Opus leg plays a fixed delay behind what came (pjbuf.h): never waited for */
		if (leg && !leg->opus && s->tick - leg->last_rx <= 1 &&
		        ce_jbuf_level(&leg->jb) < leg_units(leg))
			return true;
	}
	return false;
}

static void defer(struct ce_shard *s, struct ce_media_room *r)
{
	CE_COUNTER_ADD(&s->st.deferred, 1);
	r->defers++;
	r->defer_next = s->deferred;
	s->deferred = r;
}

static void mix_now(struct ce_shard *s, struct ce_media_room *r)
{
	r->last_wake = s->wake;
	mix_room(s, r);
	follow_talkers(s, r);
}

/* One wake: commands, the socket, the rooms put off from the last wake and
 * the rooms of this phase. */
static void wake(struct ce_shard *s)
{
	struct ce_media_cmd c;
	struct ce_media_room *r, *next;

	s->wake++;
	s->phase = (unsigned)(s->wake % CE_MEDIA_PHASES);
	if (s->phase == 0) {
		s->tick++;
		CE_COUNTER_ADD(&s->st.ticks, 1);
	}
	while (ce_media_next_cmd(s, &c))
		apply(s, &c);
	s->latch_tries = 0;
	receive(s);
	for (r = s->deferred, s->deferred = NULL; r; r = next) {
		next = r->defer_next;
		if (r->defers < CE_MEDIA_DEFER_MAX && talker_late(s, r))
			defer(s, r);
		else
			mix_now(s, r);
	}
	for (r = s->rooms[s->phase]; r; r = next) {
		next = r->next;
		if (next && next->next)
			ce_mix_room_prefetch_state(next->next->mix);
		if (next)
			ce_mix_room_prefetch(next->mix);
		/* Mixed at the last wake (put off to it, or it just moved one
		 * phase later): not twice within 5 ms. */
		if (r->last_wake && s->wake - r->last_wake < 2)
			continue;
		r->defers = 0;
		if (talker_late(s, r))
			defer(s, r);
		else
			mix_now(s, r);
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

static void real_now(void *arg, struct timespec *t)
{
	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, t);
}

static void real_sleep_until(void *arg, const struct timespec *t)
{
	(void)arg;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, t, NULL) == EINTR)
		;
}

/** CLOCK_MONOTONIC and an absolute clock_nanosleep: the engine's clock. */
const struct ce_media_clock ce_media_clock_real = {real_now, real_sleep_until, NULL};

/* @s's wake, its working time counted (on the real clock: a test's clock may stand still). */
static void timed_wake(struct ce_shard *s)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	wake(s);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ce_hist_observe(&s->st.wake_us, &ce_media_wake_bounds,
	        (uint64_t)((b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000));
}

/* The thread: one absolute clock for all its rooms, waking every 5 ms. */
gpointer ce_media_shard_run(gpointer data)
{
	struct ce_shard *s = data;
	const struct ce_media_clock *clk =
	        s->m->conf.clock ? s->m->conf.clock : &ce_media_clock_real;
	struct timespec next, now;

	clk->now(clk->arg, &next);
	while (!g_atomic_int_get(&s->quit)) {
		int64_t late;

		add_ns(&next, CE_MEDIA_PHASE_NS);
		clk->sleep_until(clk->arg, &next);
		clk->now(clk->arg, &now);
		late = (int64_t)(now.tv_sec - next.tv_sec) * 1000000000L + now.tv_nsec -
		       next.tv_nsec;
		if (late > 5 * TICK_NS) {
			/* Far behind (suspended, overloaded): skip, do not burst. */
			CE_COUNTER_ADD(&s->st.overruns, 1);
			next = now;
		}
		timed_wake(s);
	}
	return NULL;
}
