/* rtp.c - yrtp's part: real UDP RTP endpoints, one 20 ms clock for all of them */
/*
 * Every chan.rtp opens a UDP socket on the simulator's local address.  One
 * timerfd ticks every 20 ms (absolute, so it does not drift); on each tick
 * every leg drains what arrived (recvmmsg, non-blocking) and sends one
 * G.711 frame of its phone's audio:
 *
 *   RTP header: V=2, PT 0 (mulaw) or 8 (alaw), marker on the first packet,
 *   sequence +1 and timestamp +160 per 20 ms frame, one SSRC per leg;
 *   payload: 160 bytes.
 *
 * Network trouble is simulated per phone: loss= drops packets (the
 * sequence still advances), jitter= delays each packet by 0..N ms,
 * reorder= holds a packet back and sends it after the next one.  An attack
 * from the phone's own address is simulated too: with each frame go
 * garbage= datagrams that are not RTP, badpt= RTP packets of payload type
 * 18, and flood= extra copies of the frame.  Whatever
 * the leg receives is decoded and handed to its phone (recording,
 * analysis); packets of any frame size are accepted.
 *
 * A phone's own endpoint (media bypass, forward.c) is a leg too, but not
 * one of Yate's: it is counted apart from the yrtp sessions, and while it
 * exists Yate's RTP for the same call carries none of the phone's audio.
 * It sends its keys in the stream as RFC 4733 telephone-events, in place
 * of the audio frames while a key lasts:
 *
 *   RTP header: PT = the answer's rtp_rfc2833 (e.g. 101), marker on the
 *   first packet of a key, the sequence goes on, the timestamp is the
 *   key's start for all its packets; payload (4 bytes): event (0-9, *=10,
 *   #=11, A-D=12-15, F=16), E bit | volume 10, duration in samples.
 *   A key: 4 packets of duration 160..640, then 3 end packets (E set,
 *   duration 800, each with its own sequence number), one per 20 ms.
 *
 * Behind a NAT (nat=yes) the endpoint sends from, and only hears on,
 * another socket than the one it announced, which a rebinding replaces.
 *
 * Load mode (--rtp-shared): instead of a socket per leg, one socket bound
 * to the wildcard address serves every leg; leg N gets its own loopback
 * address 127.1.x.y (the same port for all), packets are told apart by
 * their destination address (IP_PKTINFO) and sent with the leg's address
 * as source, so a whole tick is one recvmmsg loop and a few sendmmsg calls
 * however many legs there are.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* recvmmsg */
#endif
#define G_LOG_DOMAIN "sim"

#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <glib-unix.h>

#include "media/opus.h"
#include "probe.h"
#include "sim.h"

#define FRAME       160
#define PKT         (12 + FRAME)
#define BATCH       32
#define MAX_PAYLOAD 1500
#define EV_PKT      (12 + 4)
#define KEY_TICKS   5 /* a key lasts 100 ms; its end packet goes 3 times */
#define KEY_VOLUME  10

struct sim_leg {
	struct sim *s;
	struct sim_chan *c;
	int fd;     /* own socket, or -1 in shared mode */
	int nat_fd; /* behind a NAT: the socket it sends from and hears on, or -1 */
	unsigned nat_port;
	bool yrtp;          /* Yate's RTP (chan.rtp), not a phone's own endpoint */
	struct in_addr lip; /* shared mode: the leg's own loopback address */
	char lipstr[INET_ADDRSTRLEN];
	unsigned lport;
	struct sockaddr_in remote;
	bool has_remote;
	bool alaw;
	uint16_t seq;
	uint32_t ts, ssrc;
	bool sent_first;
	uint8_t held[PKT];
	size_t held_len; /* 0: nothing held */
	GRand *rand;
	GList *delayed; /* struct delayed *, sent by their own timers */
	char *who;      /* the phone's label, kept for the final stats */
	/* RFC 4733 keys (a phone's own endpoint) */
	int dtmf_pt; /* telephone-event PT the far end answered, or -1 */
	/* Opus (a phone the far end answered Opus through its raw SDP), at 8 kHz */
	int opus_pt; /* its payload type, or -1 */
	struct ce_opus_enc *enc;
	struct ce_opus_dec *dec;
	GString *keys;    /* waiting to be sent, the first one now */
	unsigned ev_tick; /* packets of the first key sent so far */
	uint32_t ev_ts;
	uint64_t tx_events;
	/* receive side */
	bool rx_started;
	uint16_t rx_seq;
	int rx_pt;
	uint64_t tx, tx_dropped, rx, rx_bad, rx_lost, rx_dup, rx_ooo;
	uint64_t rx_unreachable; /* sent to the announced port of a phone behind a NAT: lost */
	struct sim_probe *probe; /* probe.c, SIM_PROBE only */
};

struct delayed {
	struct sim_leg *leg;
	guint src;
	size_t len;
	uint8_t pkt[PKT];
};

/* ---- shared socket (load mode) --------------------------------------------- */

#define TXQ 256

struct shared {
	int fd;
	unsigned port;
	unsigned next;    /* last leg number handed out */
	GHashTable *legs; /* in_addr_t (network order) -> struct sim_leg * */
	/* the send batch */
	struct mmsghdr msgs[TXQ];
	struct iovec iov[TXQ];
	uint8_t pkts[TXQ][PKT];
	union {
		char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} ctl[TXQ];
	unsigned n;
};

static struct shared *shared_get(struct sim *s, GError **err)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
	socklen_t sl = sizeof(sa);
	struct shared *sh = s->rtp_shared_state;
	int one = 1, big = 16 << 20, e;

	if (sh)
		return sh;
	sh = g_new0(struct shared, 1);
	sh->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (sh->fd < 0 || setsockopt(sh->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0 ||
	        bind(sh->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	        getsockname(sh->fd, (struct sockaddr *)&sa, &sl) < 0) {
		e = errno;
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(e), "shared RTP socket: %s",
		        g_strerror(e));
		if (sh->fd >= 0)
			close(sh->fd);
		g_free(sh);
		return NULL;
	}
	setsockopt(sh->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	setsockopt(sh->fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	if (ce_sim_probe_enabled())
		setsockopt(sh->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	sh->port = ntohs(sa.sin_port);
	sh->legs = g_hash_table_new(g_direct_hash, g_direct_equal);
	s->rtp_shared_state = sh;
	return sh;
}

static void shared_flush(struct sim *s)
{
	struct shared *sh = s->rtp_shared_state;
	unsigned done = 0;

	while (sh && done < sh->n) {
		int k = sendmmsg(sh->fd, sh->msgs + done, sh->n - done, MSG_DONTWAIT);
		if (k <= 0) {
			s->rtp_send_errors += sh->n - done;
			break;
		}
		done += (unsigned)k;
	}
	if (sh)
		sh->n = 0;
	ce_sim_probe_sent();
}

/* Queue one packet from leg @l; the batch goes out when full or at the end of the tick. */
static void shared_queue(struct sim_leg *l, const uint8_t *pkt, size_t len)
{
	struct shared *sh = l->s->rtp_shared_state;
	struct mmsghdr *m = &sh->msgs[sh->n];
	struct cmsghdr *cm;
	struct in_pktinfo pi = {.ipi_spec_dst = l->lip};

	memcpy(sh->pkts[sh->n], pkt, len);
	sh->iov[sh->n].iov_base = sh->pkts[sh->n];
	sh->iov[sh->n].iov_len = len;
	memset(m, 0, sizeof(*m));
	m->msg_hdr.msg_name = &l->remote;
	m->msg_hdr.msg_namelen = sizeof(l->remote);
	m->msg_hdr.msg_iov = &sh->iov[sh->n];
	m->msg_hdr.msg_iovlen = 1;
	m->msg_hdr.msg_control = sh->ctl[sh->n].buf;
	m->msg_hdr.msg_controllen = sizeof(sh->ctl[sh->n].buf);
	cm = CMSG_FIRSTHDR(&m->msg_hdr);
	cm->cmsg_level = IPPROTO_IP;
	cm->cmsg_type = IP_PKTINFO;
	cm->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	l->tx++;
	if (++sh->n == TXQ)
		shared_flush(l->s);
}

static void rx_packet(struct sim_leg *l, const uint8_t *p, size_t len);

static void shared_drain(struct sim *s)
{
	static uint8_t bufs[BATCH][MAX_PAYLOAD];
	static union {
		char buf[CMSG_SPACE(sizeof(struct in_pktinfo)) +
		         CMSG_SPACE(sizeof(struct timespec))];
		struct cmsghdr align;
	} ctl[BATCH];
	struct shared *sh = s->rtp_shared_state;
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	int i, n;

	for (;;) {
		memset(msgs, 0, sizeof(msgs));
		for (i = 0; i < BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = sizeof(bufs[i]);
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_control = ctl[i].buf;
			msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i].buf);
		}
		n = recvmmsg(sh->fd, msgs, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (i = 0; i < n; i++) {
			struct cmsghdr *cm;
			for (cm = CMSG_FIRSTHDR(&msgs[i].msg_hdr); cm;
			        cm = CMSG_NXTHDR(&msgs[i].msg_hdr, cm)) {
				struct in_pktinfo pi;
				struct sim_leg *l;
				if (cm->cmsg_level == SOL_SOCKET &&
				        cm->cmsg_type == SCM_TIMESTAMPNS) {
					struct timespec ts;
					memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
					ce_sim_probe_stamp(&ts);
				}
				if (cm->cmsg_level != IPPROTO_IP || cm->cmsg_type != IP_PKTINFO)
					continue;
				memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
				l = g_hash_table_lookup(
				        sh->legs, GUINT_TO_POINTER(pi.ipi_addr.s_addr));
				if (l)
					rx_packet(l, bufs[i], msgs[i].msg_len);
			}
		}
		if (n < BATCH)
			return;
	}
}

/** Close the shared socket (at exit). */
void ce_sim_rtp_shared_free(struct sim *s)
{
	struct shared *sh = s->rtp_shared_state;

	if (!sh)
		return;
	close(sh->fd);
	g_hash_table_destroy(sh->legs);
	g_free(sh);
	s->rtp_shared_state = NULL;
}

static int shared_leg(struct sim *s, struct sim_leg *l, GError **err)
{
	struct shared *sh = shared_get(s, err);
	unsigned n;

	if (!sh)
		return -EIO;
	/* 127.1.0.1 .. 127.254.255.254: one address per leg */
	do {
		n = ++sh->next;
		l->lip.s_addr = htonl((127u << 24) | ((1u << 16) + n));
	} while ((n & 0xff) == 0 || (n & 0xff) == 0xff ||
	         g_hash_table_contains(sh->legs, GUINT_TO_POINTER(l->lip.s_addr)));
	g_hash_table_insert(sh->legs, GUINT_TO_POINTER(l->lip.s_addr), l);
	l->fd = -1;
	l->lport = sh->port;
	inet_ntop(AF_INET, &l->lip, l->lipstr, sizeof(l->lipstr));
	return 0;
}

/** The address the leg's RTP comes from (localip= of chan.rtp). */
const char *ce_sim_leg_local_ip(const struct sim_leg *l)
{
	return l->lipstr;
}

/* A non-blocking UDP socket on @ip, any port (in @port); -errno and @err on failure. */
static int udp_socket(const char *ip, unsigned *port, const char *what, GError **err)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	int fd, e;

	inet_pton(AF_INET, ip, &sa.sin_addr);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	        getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		e = errno;
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(e), "%s socket: %s", what,
		        g_strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

/*
 * The phone whose audio the leg carries: its channel's or the peer's; none
 * for Yate's RTP of a call whose phone has an endpoint of its own (media
 * bypass: Yate's channel then has no audio of the phone).
 */
static struct sim_phone *leg_phone(const struct sim_leg *l)
{
	struct sim_phone *ph = ce_sim_chan_phone(l->c);

	return l->yrtp && ph && ph->rtp ? NULL : ph;
}

/**
 * Open a leg for channel @c towards @remoteip:@remoteport (may be unknown
 * yet): one of Yate's RTP sessions (@yrtp, counted in s->yrtp_*), or the
 * own endpoint of the phone behind @c.
 */
int ce_sim_leg_new(struct sim *s, struct sim_leg **lp, const char *remoteip, unsigned remoteport,
        const char *format, struct sim_chan *c, bool yrtp, GError **err)
{
	struct sim_leg *l = g_new0(struct sim_leg, 1);
	int fd;

	if (s->rtp_shared) {
		if (shared_leg(s, l, err) < 0) {
			g_free(l);
			return -EIO;
		}
	} else {
		fd = udp_socket(s->localip, &l->lport, "RTP", err);
		if (fd < 0) {
			g_free(l);
			return fd;
		}
		l->fd = fd;
		g_strlcpy(l->lipstr, s->localip, sizeof(l->lipstr));
	}
	l->s = s;
	l->c = c;
	l->yrtp = yrtp;
	l->nat_fd = -1;
	l->dtmf_pt = -1;
	l->opus_pt = -1;
	l->alaw = !g_strcmp0(format, "alaw");
	l->rand = g_rand_new_with_seed(g_str_hash(c->id) ^ 0x5eed); /* runs repeat */
	l->seq = (uint16_t)g_rand_int(l->rand);
	l->ts = g_rand_int(l->rand);
	l->ssrc = g_rand_int(l->rand);
	l->rx_pt = -1;
	if (ce_sim_chan_phone(c))
		l->who = g_strdup(ce_sim_chan_phone(c)->label);
	ce_sim_leg_set_remote(l, remoteip, remoteport);
	if (yrtp) {
		s->yrtp_created++;
		s->yrtp_live++;
		s->yrtp_max = MAX(s->yrtp_max, s->yrtp_live);
	}
	s->legs = g_list_prepend(s->legs, l);
	ce_sim_rtp_start_clock(s);
	*lp = l;
	return 0;
}

/** Where the leg sends, "IP:PORT" in @buf ("" when nowhere). */
const char *ce_sim_leg_remote(const struct sim_leg *l, char *buf, size_t size)
{
	char ip[INET_ADDRSTRLEN] = "";

	if (!l->has_remote || !inet_ntop(AF_INET, &l->remote.sin_addr, ip, sizeof(ip)))
		*buf = 0;
	else
		g_snprintf(buf, size, "%s:%u", ip, ntohs(l->remote.sin_port));
	return buf;
}

/** The telephone-event payload type the far end answered, or -1. */
int ce_sim_leg_dtmf_pt(const struct sim_leg *l)
{
	return l->dtmf_pt;
}

/** Where the leg sends; an unusable address stops sending. */
void ce_sim_leg_set_remote(struct sim_leg *l, const char *ip, unsigned port)
{
	l->has_remote = ip && port && inet_pton(AF_INET, ip, &l->remote.sin_addr) == 1;
	l->remote.sin_family = AF_INET;
	l->remote.sin_port = htons((uint16_t)port);
}

unsigned ce_sim_leg_local_port(const struct sim_leg *l)
{
	return l->lport;
}

/** Close the leg, logging its counters as an "rtp-stats" event. */
void ce_sim_leg_free(struct sim_leg *l)
{
	struct sim *s = l->s;

	ce_sim_event(s, "rtp-stats",
	        "\"chan\":%s,\"who\":%s,\"kind\":\"%s\",\"tx\":%" G_GUINT64_FORMAT
	        ",\"tx_dropped\":%" G_GUINT64_FORMAT ",\"rx\":%" G_GUINT64_FORMAT
	        ",\"rx_lost\":%" G_GUINT64_FORMAT ",\"rx_dup\":%" G_GUINT64_FORMAT
	        ",\"rx_ooo\":%" G_GUINT64_FORMAT ",\"rx_bad\":%" G_GUINT64_FORMAT ",\"rx_pt\":%d"
	        ",\"tx_events\":%" G_GUINT64_FORMAT ",\"rx_unreachable\":%" G_GUINT64_FORMAT,
	        ce_sim_json(l->c->id), ce_sim_json(l->who), l->yrtp ? "yrtp" : "phone", l->tx,
	        l->tx_dropped, l->rx, l->rx_lost, l->rx_dup, l->rx_ooo, l->rx_bad, l->rx_pt,
	        l->tx_events, l->rx_unreachable);
	if (l->yrtp)
		s->yrtp_live--;
	while (l->delayed) {
		struct delayed *dl = l->delayed->data;
		g_source_remove(dl->src);
		g_free(dl);
		l->delayed = g_list_delete_link(l->delayed, l->delayed);
	}
	s->legs = g_list_remove(s->legs, l);
	if (l->nat_fd >= 0)
		close(l->nat_fd);
	if (l->fd >= 0)
		close(l->fd);
	else if (s->rtp_shared_state)
		g_hash_table_remove(((struct shared *)s->rtp_shared_state)->legs,
		        GUINT_TO_POINTER(l->lip.s_addr));
	ce_sim_probe_leg_free(&l->probe, l->who);
	ce_opus_enc_free(l->enc);
	ce_opus_dec_free(l->dec);
	g_free(l->who);
	if (l->keys)
		g_string_free(l->keys, TRUE);
	g_rand_free(l->rand);
	g_free(l);
	if (!s->legs)
		ce_sim_rtp_stop_clock(s);
}

/* ---- receive ------------------------------------------------------------ */

static void rx_packet(struct sim_leg *l, const uint8_t *p, size_t len)
{
	size_t hdr = 12, n;
	int16_t pcm[MAX_PAYLOAD];
	struct sim_phone *ph;
	int pt, diff;
	uint16_t seq;

	if (len < 12 || (p[0] >> 6) != 2) {
		l->rx_bad++;
		return;
	}
	hdr += 4u * (p[0] & 0x0f);
	if ((p[0] & 0x10) && len >= hdr + 4)
		hdr += 4 + 4u * ((p[hdr + 2] << 8) | p[hdr + 3]);
	if ((p[0] & 0x20) && len > hdr)
		len -= MIN(p[len - 1], len - hdr);
	pt = p[1] & 0x7f;
	if (len <= hdr || (pt != 0 && pt != 8 && pt != l->opus_pt)) {
		l->rx_bad++;
		return;
	}
	seq = (uint16_t)((p[2] << 8) | p[3]);
	diff = (int16_t)(seq - l->rx_seq);
	if (!l->rx_started || diff == 1 || diff > 100 || diff < -100) {
		/* in order (or a new stream) */
	} else if (diff > 1) {
		l->rx_lost += diff - 1;
	} else if (diff == 0) {
		l->rx_dup++;
		return;
	} else {
		l->rx_ooo++;
	}
	if (!l->rx_started || diff > 0 || diff < -100)
		l->rx_seq = seq;
	l->rx_started = true;
	l->rx++;
	l->rx_pt = pt;
	n = len - hdr;
	if (pt == l->opus_pt) {
		int got = l->dec ? ce_opus_decode(l->dec, p + hdr, n, pcm, FRAME) : -EINVAL;

		if (got < 0) {
			l->rx_bad++;
			return;
		}
		n = (size_t)got;
	} else {
		ce_sim_g711_decode(pt != 0, p + hdr, pcm, (unsigned)n);
	}
	ph = leg_phone(l);
	if (ph)
		ce_sim_phone_heard(ph, pcm, (unsigned)n);
	ce_sim_probe_rx(&l->probe, l->who, pcm, n);
}

/* Take what came to @fd; @lost: the port no packet can reach (the NAT's inside). */
static void rx_drain(struct sim_leg *l, int fd, bool lost)
{
	static uint8_t bufs[BATCH][MAX_PAYLOAD];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	int i, n;

	for (;;) {
		memset(msgs, 0, sizeof(msgs));
		for (i = 0; i < BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = sizeof(bufs[i]);
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		if (lost)
			l->rx_unreachable += (unsigned)n;
		for (i = 0; i < n && !lost; i++)
			rx_packet(l, bufs[i], msgs[i].msg_len);
		if (n < BATCH)
			return;
	}
}

/* ---- send --------------------------------------------------------------- */

static void tx_raw(struct sim_leg *l, const uint8_t *pkt, size_t len)
{
	if (l->fd < 0) {
		shared_queue(l, pkt, len);
		return;
	}
	if (sendto(l->nat_fd >= 0 ? l->nat_fd : l->fd, pkt, len, 0, (struct sockaddr *)&l->remote,
	            sizeof(l->remote)) < 0)
		l->tx_dropped++;
	else
		l->tx++;
}

static gboolean delayed_cb(gpointer data)
{
	struct delayed *dl = data;
	struct sim_leg *l = dl->leg;

	tx_raw(l, dl->pkt, dl->len);
	shared_flush(l->s);
	l->delayed = g_list_remove(l->delayed, dl);
	g_free(dl);
	return G_SOURCE_REMOVE;
}

/* Hand one packet to the network, through the phone's simulated impairments. */
static void tx_packet(struct sim_leg *l, struct sim_phone *ph, const uint8_t *pkt, size_t len)
{
	unsigned delay;

	if (ph && ph->loss > 0 && g_rand_double_range(l->rand, 0, 100) < ph->loss)
		return;
	if (ph && ph->reorder > 0 && !l->held_len &&
	        g_rand_double_range(l->rand, 0, 100) < ph->reorder) {
		memcpy(l->held, pkt, len);
		l->held_len = len;
		return;
	}
	delay = ph && ph->jitter_ms ? (unsigned)g_rand_int_range(l->rand, 0, (int)ph->jitter_ms + 1)
	                            : 0;
	if (delay) {
		struct delayed *dl = g_new0(struct delayed, 1);
		dl->leg = l;
		dl->len = len;
		memcpy(dl->pkt, pkt, len);
		dl->src = g_timeout_add(delay, delayed_cb, dl);
		l->delayed = g_list_prepend(l->delayed, dl);
	} else {
		tx_raw(l, pkt, len);
	}
	if (l->held_len) {
		tx_raw(l, l->held, l->held_len);
		l->held_len = 0;
	}
}

/* What garbage=, badpt= and flood= add to a frame, past the network trouble. */
static void tx_hostile(struct sim_leg *l, const struct sim_phone *ph, const uint8_t *pkt)
{
	static const uint8_t junk[7] = {0x13, 0x37, 0xde, 0xad, 0xbe, 0xef, 0x00}; /* version 0 */
	uint8_t bad[PKT];
	unsigned i;

	memcpy(bad, pkt, PKT);
	bad[1] = (uint8_t)((bad[1] & 0x80) | 18); /* G.729: not what the leg asked for */
	for (i = 0; i < ph->garbage; i++)
		tx_raw(l, junk, sizeof(junk));
	for (i = 0; i < ph->badpt; i++)
		tx_raw(l, bad, PKT);
	for (i = 0; i < ph->flood; i++)
		tx_raw(l, pkt, PKT);
}

/* The RTP header of the leg's next packet; the sequence advances. */
static void rtp_header(struct sim_leg *l, uint8_t *pkt, int pt, bool marker, uint32_t ts)
{
	unsigned i;

	pkt[0] = 0x80;
	pkt[1] = (uint8_t)(pt | (marker ? 0x80 : 0));
	pkt[2] = (uint8_t)(l->seq >> 8);
	pkt[3] = (uint8_t)l->seq;
	for (i = 0; i < 4; i++) {
		pkt[4 + i] = (uint8_t)(ts >> (24 - 8 * i));
		pkt[8 + i] = (uint8_t)(l->ssrc >> (24 - 8 * i));
	}
	l->seq++;
}

/* RFC 4733's event code of a key (as Yate's RTPSender::rtpSendKey), or -1. */
static int key_event(char key)
{
	static const char keys[] = "0123456789*#ABCD";
	char k = g_ascii_toupper(key);
	const char *p = k ? strchr(keys, k) : NULL;

	if (p)
		return (int)(p - keys);
	return k == 'F' ? 16 : -1;
}

/* The next packet of the first waiting key, in place of this tick's audio frame. */
static void tx_event(struct sim_leg *l, struct sim_phone *ph)
{
	uint8_t pkt[EV_PKT];
	unsigned n = ++l->ev_tick, dur = MIN(n, KEY_TICKS) * FRAME;

	if (n == 1)
		l->ev_ts = l->ts;
	rtp_header(l, pkt, l->dtmf_pt, n == 1, l->ev_ts);
	pkt[12] = (uint8_t)key_event(l->keys->str[0]);
	pkt[13] = (uint8_t)((n >= KEY_TICKS ? 0x80 : 0) | KEY_VOLUME);
	pkt[14] = (uint8_t)(dur >> 8);
	pkt[15] = (uint8_t)dur;
	l->tx_events++;
	tx_packet(l, ph, pkt, EV_PKT);
	if (n == KEY_TICKS + 2) {
		g_string_erase(l->keys, 0, 1);
		l->ev_tick = 0;
	}
}

/* One 20 ms Opus packet of the phone's source (RTP clock 48000: 960 a frame). */
static void tx_opus(struct sim_leg *l, struct sim_phone *ph)
{
	uint8_t pkt[12 + CE_OPUS_MAX_PACKET];
	int16_t pcm[FRAME];
	int n;

	ce_sim_src_read(ph ? ph->src : NULL, pcm, FRAME);
	n = ce_opus_encode(l->enc, pcm, FRAME, pkt + 12, CE_OPUS_MAX_PACKET);
	if (n > 0) {
		rtp_header(l, pkt, l->opus_pt, !l->sent_first, l->ts);
		l->sent_first = true;
		tx_packet(l, ph, pkt, 12 + (size_t)n);
	}
	l->ts += CE_OPUS_RTP_CLOCK / 50;
}

static void tx_frame(struct sim_leg *l)
{
	struct sim_phone *ph = leg_phone(l);
	uint8_t pkt[PKT];

	if (ph && !l->who)
		l->who = g_strdup(ph->label);
	if (l->enc && !(l->keys && l->keys->len)) {
		tx_opus(l, ph);
		return;
	}
	/* the source plays on while a key takes the place of its frames */
	ce_sim_src_read_g711(ph ? ph->src : NULL, l->alaw, pkt + 12, FRAME);
	if (l->keys && l->keys->len) {
		tx_event(l, ph);
	} else {
		rtp_header(l, pkt, l->alaw ? 8 : 0, !l->sent_first, l->ts);
		l->sent_first = true;
		ce_sim_probe_tx(&l->probe, l->who, pkt + 12, FRAME, l->alaw);
		tx_packet(l, ph, pkt, PKT);
		if (ph)
			tx_hostile(l, ph, pkt);
	}
	l->ts += l->enc ? CE_OPUS_RTP_CLOCK / 50 : FRAME;
}

/**
 * The far end's answer to a phone's own endpoint: send to @ip:@port in
 * G.711 A-law (@alaw) or mu-law, keys as telephone-events of payload
 * type @dtmf_pt (-1: none).
 */
void ce_sim_leg_answer(struct sim_leg *l, const char *ip, unsigned port, bool alaw, int dtmf_pt)
{
	ce_sim_leg_set_remote(l, ip, port);
	l->alaw = alaw;
	l->dtmf_pt = dtmf_pt;
}

/**
 * The far end answered Opus (through the phone's raw SDP): send to
 * @ip:@port Opus of payload type @pt at 8 kHz, keys as in
 * ce_sim_leg_answer().  0, or -errno when libopus will not.
 */
int ce_sim_leg_answer_opus(struct sim_leg *l, const char *ip, unsigned port, int pt, int dtmf_pt)
{
	struct ce_opus_enc_conf conf = {.rate = 8000, .fec = true, .complexity = -1};
	int err = ce_opus_enc_new(&l->enc, &conf);

	if (!err)
		err = ce_opus_dec_new(&l->dec, 8000);
	if (err)
		return err;
	ce_sim_leg_set_remote(l, ip, port);
	l->opus_pt = pt;
	l->dtmf_pt = dtmf_pt;
	return 0;
}

/**
 * Send @key in the stream (RFC 4733) after the keys already waiting:
 * 0, or -EINVAL for a key with no event code, -ENOTSUP when the far end
 * answered no telephone-event.
 */
int ce_sim_leg_send_key(struct sim_leg *l, char key)
{
	if (key_event(key) < 0)
		return -EINVAL;
	if (l->dtmf_pt < 0 || !l->has_remote)
		return -ENOTSUP;
	if (!l->keys)
		l->keys = g_string_new(NULL);
	g_string_append_c(l->keys, key);
	return 0;
}

/**
 * Put the leg behind a NAT, or give it a new NAT binding: from now on it
 * sends from, and only hears on, a new socket (its port in @port); what
 * reaches the port it announced is lost.  Not in load mode.
 */
int ce_sim_leg_nat(struct sim_leg *l, unsigned *port, GError **err)
{
	int fd;

	if (l->fd < 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
		        "a phone behind a NAT needs a socket of its own (not --rtp-shared)");
		return -ENOTSUP;
	}
	fd = udp_socket(l->lipstr, &l->nat_port, "NAT", err);
	if (fd < 0)
		return fd;
	if (l->nat_fd >= 0)
		close(l->nat_fd);
	l->nat_fd = fd;
	*port = l->nat_port;
	return 0;
}

/** The port the leg's packets come from: its own, or its NAT binding's. */
unsigned ce_sim_leg_source_port(const struct sim_leg *l)
{
	return l->nat_fd >= 0 ? l->nat_port : l->lport;
}

/* ---- the clock ------------------------------------------------------------ */

static gboolean clock_cb(int fd, GIOCondition cond, gpointer data)
{
	struct sim *s = data;
	uint64_t exp = 0, k;
	GList *l;

	if (read(fd, &exp, sizeof(exp)) != sizeof(exp))
		return G_SOURCE_CONTINUE;
	/* after a stall, catch up a little but never flood */
	if (exp > 1)
		s->late_ticks += exp - 1;
	if (exp > 2 && g_getenv("SIM_DEBUG_TICKS"))
		ce_sim_event(s, "late-tick", "\"missed\":%" G_GUINT64_FORMAT, exp - 1);
	if (exp > 5)
		s->lost_ticks += exp - 5;
	exp = MIN(exp, 5);
	for (k = 0; k < exp; k++) {
		s->ticks++;
		if (s->rtp_shared_state)
			shared_drain(s);
		for (l = s->legs; l; l = l->next) {
			struct sim_leg *leg = l->data;
			if (leg->fd >= 0)
				rx_drain(leg, leg->fd, leg->nat_fd >= 0);
			if (leg->nat_fd >= 0)
				rx_drain(leg, leg->nat_fd, false);
			if (leg->has_remote)
				tx_frame(leg);
		}
		shared_flush(s);
	}
	return G_SOURCE_CONTINUE;
}

/** Start the 20 ms clock (idempotent). */
void ce_sim_rtp_start_clock(struct sim *s)
{
	struct itimerspec its = {.it_interval = {0, 20000000}};

	if (s->clock_src)
		return;
	s->clock_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->clock_fd < 0) {
		ce_sim_problem(s, "rtp", "timerfd: %s", g_strerror(errno));
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &its.it_value);
	its.it_value.tv_nsec += 20000000;
	if (its.it_value.tv_nsec >= 1000000000) {
		its.it_value.tv_sec++;
		its.it_value.tv_nsec -= 1000000000;
	}
	timerfd_settime(s->clock_fd, TFD_TIMER_ABSTIME, &its, NULL);
	s->clock_src = g_unix_fd_add(s->clock_fd, G_IO_IN, clock_cb, s);
}

/** Stop the clock when no leg is left. */
void ce_sim_rtp_stop_clock(struct sim *s)
{
	if (!s->clock_src)
		return;
	g_source_remove(s->clock_src);
	close(s->clock_fd);
	s->clock_src = 0;
	s->clock_fd = -1;
}
