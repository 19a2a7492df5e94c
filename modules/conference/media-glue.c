/* media-glue.c - the conference signalling's media calls, implemented on the media engine (media.h)
 */
#define G_LOG_DOMAIN "conference"

#include <errno.h>
#include <netdb.h>
#include <string.h>

#include "config.h"
#include "media-glue.h"
#include "media/media.h"
#include "media/mixer.h"
#include "leg.h"
#include "room.h"

/*
 * The media engine gives every room's legs one local UDP port per media
 * thread and tells legs apart by Yate's address, so a leg's port is known
 * as soon as its room exists, and the media leg is made when Yate has told
 * us its end (the chan.rtp answer).  Prompts and recordings are the media
 * engine's players and recorders (media-play.c); their files are opened on
 * its I/O thread, so a bad file is reported later, as a *_FAILED event.
 */

struct glue {
	struct ce_media_conf mc;
	char **play_roots; /* mc.play_roots */
	unsigned max_talkers;
	struct ce_media *m;
	GHashTable *rooms; /* struct ce_media_room * -> struct ce_room_media */
	ce_room_event_h *evh;
	void *evarg;
	unsigned *reuse; /* mc.reuse_ports */
};

struct ce_room_media {
	struct ce_media_room *mr;
	void *cookie;
	unsigned port;
};

/* Lives until the media engine lets go of the leg (its destroy frees it). */
struct ce_leg_media {
	struct ce_room_media *room;
	struct ce_media_leg *ml;
	unsigned flags;
	int talk_db, listen_db; /* its volume, kept until it starts */
	void *cookie;           /* NULL once the signalling side freed the leg */
};

static unsigned mix_flags(unsigned f)
{
	return (f & CE_LEG_MUTE ? CE_MIX_MUTED : 0) | (f & CE_LEG_DEAF ? CE_MIX_DEAF : 0) |
	       (f & CE_LEG_NOVOICE ? CE_MIX_LISTEN_ONLY : 0) | (f & CE_LEG_ECHO ? CE_MIX_ECHO : 0) |
	       (f & CE_LEG_SMART ? 0 : CE_MIX_DUMB);
}

static void *leg_cookie(struct ce_media_leg *ml)
{
	struct ce_leg_media *l = ml ? ce_media_leg_user(ml) : NULL;

	return l ? l->cookie : NULL;
}

/* The media core's event becomes the room event (the first of the talker's two conversions). */
static void on_event(const struct ce_media_event *mev, void *arg)
{
	struct glue *g = arg;
	struct ce_room_media *r = g_hash_table_lookup(g->rooms, mev->room);
	struct ce_room_event ev;

	if (!r)
		return;
	ce_room_event_init(&ev, CE_EVENT_N_KINDS);
	ev.room_data = r->cookie;
	ev.leg_data = leg_cookie(mev->leg);
	switch (mev->type) {
	case CE_MEDIA_EV_TALK_START:
		ev.kind = CE_EVENT_TALK_START;
		ev.energy = (int)MIN(mev->energy, (unsigned)G_MAXINT);
		break;
	case CE_MEDIA_EV_TALK_STOP:
		ev.kind = CE_EVENT_TALK_STOP;
		break;
	case CE_MEDIA_EV_RTP_TIMEOUT:
		ev.kind = CE_EVENT_RTP_TIMEOUT;
		break;
	case CE_MEDIA_EV_SPEAKING:
		ev.kind = CE_EVENT_SPEAKERS;
		ev.changed = mev->changed;
		for (unsigned i = 0; i < mev->n_speakers && i < CE_ROOM_EVENT_MAX_SPEAKERS; i++) {
			ev.speakers[ev.n_speakers].leg_data = leg_cookie(mev->speakers[i]);
			ev.speakers[ev.n_speakers].energy = mev->energies[i];
			ev.n_speakers += ev.speakers[ev.n_speakers].leg_data != NULL;
		}
		g->evh(&ev, g->evarg);
		return;
	case CE_MEDIA_EV_PLAY_DONE:
		if (!mev->error) {
			/* the end of a prompt to one leg: the lobby waits for it */
			ev.kind = CE_EVENT_PROMPT_DONE;
			ev.file = mev->path;
			if (ev.leg_data)
				g->evh(&ev, g->evarg);
			return;
		}
		/* fall through */
	case CE_MEDIA_EV_REC_FAILED:
		if (!mev->error)
			return;
		ev.kind = mev->type == CE_MEDIA_EV_PLAY_DONE ? CE_EVENT_PROMPT_FAILED
		                                             : CE_EVENT_RECORD_FAILED;
		ev.error = mev->error;
		ev.err = mev->err;
		ev.file = mev->path;
		g->evh(&ev, g->evarg);
		return;
	case CE_MEDIA_EV_REC_DROPS:
		return; /* the media engine warned */
	case CE_MEDIA_EV_DTMF: {
		char text[2] = {mev->digit, 0};

		ev.kind = CE_EVENT_DTMF;
		ev.text = text;
		if (ev.leg_data)
			g->evh(&ev, g->evarg);
		return;
	}
	case CE_MEDIA_EV_LATCHED: {
		char addr[INET6_ADDRSTRLEN + 8] = "?";

		ce_media_addr_text(&mev->from, mev->from_len, addr, sizeof(addr));
		if (ev.leg_data)
			g_info("%s: the phone's RTP now comes from %s (latched)",
			        ((struct ce_leg *)ev.leg_data)->id, addr);
		return;
	}
	}
	if (ev.leg_data)
		g->evh(&ev, g->evarg);
}

static void g_reuse_ports(void *arg, const unsigned *ports, unsigned n)
{
	struct glue *g = arg;

	g_free(g->reuse);
	g->reuse = g_memdup2(ports, n * sizeof(*ports));
	g->mc.reuse_ports = g->reuse;
	g->mc.n_reuse_ports = n;
}

static int g_open(void *arg, ce_room_event_h *evh, void *evarg)
{
	struct glue *g = arg;
	GError *err = NULL;
	int ret;

	g->evh = evh;
	g->evarg = evarg;
	ret = ce_media_new(&g->m, &g->mc, on_event, g, &err);
	if (ret < 0) {
		g_warning("media: %s", err ? err->message : g_strerror(-ret));
		g_clear_error(&err);
		return ret;
	}
	return 0;
}

static void g_close(void *arg)
{
	struct glue *g = arg;

	g_clear_pointer(&g->m, ce_media_free);
}

static int g_room_new(void *arg, struct ce_room_media **rp, const char *name, unsigned rate,
        unsigned speakers, unsigned interval_ms, unsigned port, void *cookie)
{
	struct glue *g = arg;
	struct ce_room_media *r = g_new0(struct ce_room_media, 1);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int err;

	(void)name;
	r->cookie = cookie;
	err = ce_media_room_new_on(&r->mr, g->m, rate, g->max_talkers, speakers, interval_ms, port);
	if (err < 0)
		goto out;
	ce_media_room_local(r->mr, &ss, &len);
	r->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                         : ((struct sockaddr_in *)&ss)->sin_port);
	g_hash_table_insert(g->rooms, r->mr, r);
	*rp = r;
out:
	if (err < 0)
		g_free(r);
	return err < 0 ? err : 0;
}

static void g_room_free(void *arg, struct ce_room_media *r)
{
	struct glue *g = arg;

	g_hash_table_remove(g->rooms, r->mr);
	ce_media_room_free(r->mr);
	g_free(r);
}

static int g_room_record(void *arg, struct ce_room_media *r, const char *path, int fd)
{
	(void)arg;
	return ce_media_room_record(r->mr, path, fd);
}

static int play(struct ce_room_media *r, const struct ce_media_prompt *p,
        enum ce_media_play_mode mode, struct ce_media_leg *ml)
{
	if (p->path && p->loop)
		return ce_media_play_loop(NULL, r->mr, p->path, mode, ml, NULL, NULL);
	if (p->path)
		return ce_media_play_new(NULL, r->mr, p->path, mode, ml, NULL, NULL);
	return ce_media_play_tone(NULL, r->mr, p->tone, p->duration_ms, mode, ml, NULL, NULL);
}

static int g_room_play(void *arg, struct ce_room_media *r, const struct ce_media_prompt *p)
{
	(void)arg;
	return play(r, p, CE_MEDIA_PLAY_ROOM, NULL);
}

static int g_leg_play(
        void *arg, struct ce_leg_media *l, const struct ce_media_prompt *p, bool others)
{
	(void)arg;
	if (!l->ml)
		return -ENOTCONN;
	return play(l->room, p, others ? CE_MEDIA_PLAY_EXCEPT : CE_MEDIA_PLAY_LEG, l->ml);
}

static int g_stop_play(void *arg, struct ce_room_media *r, struct ce_leg_media *l, bool others)
{
	(void)arg;
	if (!l || others)
		return ce_media_play_stop(r->mr, CE_MEDIA_PLAY_ROOM, NULL);
	if (!l->ml)
		return 0;
	return ce_media_play_stop(r->mr, CE_MEDIA_PLAY_LEG, l->ml);
}

static int g_leg_new(void *arg, struct ce_leg_media **lp, struct ce_room_media *r, unsigned flags,
        void *cookie, unsigned *port)
{
	struct ce_leg_media *l = g_new0(struct ce_leg_media, 1);

	(void)arg;
	l->room = r;
	l->flags = flags;
	l->cookie = cookie;
	*port = r->port;
	*lp = l;
	return 0;
}

static int resolve(const char *ip, unsigned port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = {
	        .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_DGRAM};
	struct addrinfo *ai = NULL;
	char sport[8];

	g_snprintf(sport, sizeof(sport), "%u", port);
	if (getaddrinfo(ip, sport, &hints, &ai) || !ai)
		return -EINVAL;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static int g_leg_start(void *arg, struct ce_leg_media *l, const struct ce_leg_remote *rem)
{
	/* a phone may send either law our SDP answer listed (bypass.c) */
	struct ce_media_leg_opts opts = {
	        .dtmf_pt = rem->direct ? rem->dtmf_pt : -1,
	        .latch = rem->direct,
	        .both_laws = rem->direct,
	        .ns = l->flags & CE_LEG_NS,
	        .agc = l->flags & CE_LEG_AGC,
	        .pt = rem->direct ? rem->pt : 0,
	};
	struct sockaddr_storage ss;
	socklen_t len;
	int err;

	(void)arg;
	if (l->ml)
		return -EALREADY;
	err = resolve(rem->ip, rem->port, &ss, &len);
	if (err)
		return err;
	/* the SIP peer's address, for latching: a name or nothing is no address */
	if (rem->direct && rem->sig_ip && resolve(rem->sig_ip, 0, &opts.sig, &opts.sig_len))
		opts.sig_len = 0;
	err = ce_media_leg_new_opts(&l->ml, l->room->mr, (struct sockaddr *)&ss, len, rem->codec,
	        mix_flags(l->flags), &opts, l, g_free);
	if (!err && (l->talk_db || l->listen_db))
		err = ce_media_leg_set_gain(l->ml, l->talk_db, l->listen_db);
	return err < 0 ? err : 0;
}

static void g_leg_set_flags(void *arg, struct ce_leg_media *l, unsigned flags)
{
	bool dsp = (l->flags ^ flags) & (CE_LEG_NS | CE_LEG_AGC);
	int err;

	(void)arg;
	l->flags = flags;
	if (!l->ml)
		return;
	ce_media_leg_set_flags(l->ml, mix_flags(flags));
	/* noise suppression or AGC switched: a new processor (or none) */
	if (dsp && (err = ce_media_leg_set_dsp(l->ml, flags & CE_LEG_NS, flags & CE_LEG_AGC)))
		g_warning("noise suppression/AGC of a leg not switched: %s", g_strerror(-err));
}

static int g_leg_set_codec(void *arg, struct ce_leg_media *l, enum ce_codec codec)
{
	(void)arg;
	return l->ml ? ce_media_leg_set_codec(l->ml, codec) : -ENOENT;
}

static int g_leg_move(void *arg, struct ce_leg_media *l, struct ce_room_media *r)
{
	int err;

	(void)arg;
	if (l->room == r)
		return 0;
	err = l->ml ? ce_media_leg_move(l->ml, r->mr) : 0;
	if (!err)
		l->room = r;
	return err;
}

static void g_leg_set_gain(void *arg, struct ce_leg_media *l, int talk_db, int listen_db)
{
	(void)arg;
	l->talk_db = talk_db;
	l->listen_db = listen_db;
	if (l->ml)
		ce_media_leg_set_gain(l->ml, talk_db, listen_db);
}

static void g_leg_free(void *arg, struct ce_leg_media *l)
{
	(void)arg;
	l->cookie = NULL;
	if (l->ml)
		ce_media_leg_free(l->ml); /* its destroy frees l */
	else
		g_free(l);
}

static void g_stats(void *arg, GString *out)
{
	struct glue *g = arg;
	struct ce_media_stats st;

	if (!g->m)
		return;
	ce_media_stats(g->m, &st);
	g_string_append_printf(out,
	        ",media_ticks=%" G_GUINT64_FORMAT ",media_overruns=%" G_GUINT64_FORMAT
	        ",rtp_unknown=%" G_GUINT64_FORMAT ",rtp_bad=%" G_GUINT64_FORMAT
	        ",rtp_send_errors=%" G_GUINT64_FORMAT ",media_events_lost=%" G_GUINT64_FORMAT
	        ",phase_moves=%" G_GUINT64_FORMAT ",rtp_late=%" G_GUINT64_FORMAT
	        ",rtp_concealed_ms=%" G_GUINT64_FORMAT ",jbuf_waits=%" G_GUINT64_FORMAT
	        ",mix_deferred=%" G_GUINT64_FORMAT ",rtp_wrong_pt=%" G_GUINT64_FORMAT
	        ",rtp_flood=%" G_GUINT64_FORMAT ",rtp_latched=%" G_GUINT64_FORMAT
	        ",rtp_dtmf=%" G_GUINT64_FORMAT,
	        st.ticks, st.overruns, st.rx_unknown, st.rx_bad, st.tx_errors, st.events_lost,
	        st.phase_moves, st.rx_late, st.concealed / 8, st.waits, st.deferred, st.rx_wrong_pt,
	        st.rx_flood, st.latched, st.dtmf);
}

static const struct ce_hist_bounds *g_wake_hist(void *arg, struct ce_hist *out)
{
	struct glue *g = arg;
	struct ce_media_stats st;

	if (!g->m)
		return NULL;
	ce_media_stats(g->m, &st);
	ce_hist_merge(out, &st.wake_us);
	return &ce_media_wake_bounds;
}

/* What a leg's RTP has been like: packets in, late, audio made up, the
 * jitter and the jitter buffer's delay now (8 samples a millisecond), and
 * what came from its address but was dropped: not RTP, a wrong payload
 * type, a flood (an attack or a broken peer shows here). */
static void g_leg_stats(void *arg, struct ce_leg_media *l, GString *out)
{
	struct ce_media_leg_stats st;

	(void)arg;
	if (!l->ml)
		return;
	ce_media_leg_stats(l->ml, &st);
	g_string_append_printf(out,
	        " rtp_in=%" G_GUINT64_FORMAT " rtp_late=%" G_GUINT64_FORMAT
	        " concealed_ms=%" G_GUINT64_FORMAT
	        " jitter_ms=%u delay_ms=%u rtp_bad=%" G_GUINT64_FORMAT
	        " rtp_wrong_pt=%" G_GUINT64_FORMAT " rtp_flood=%" G_GUINT64_FORMAT
	        " rtp_dtmf=%" G_GUINT64_FORMAT " latched=%" G_GUINT64_FORMAT " level_db=%d"
	        " rtp_fec=%" G_GUINT64_FORMAT,
	        st.rx_packets, st.jbuf.late, st.jbuf.concealed / 8, st.jbuf.jitter / 8,
	        st.jbuf.target / 8, st.rx_bad, st.rx_wrong_pt, st.rx_flood, st.rx_dtmf, st.latched,
	        (int)st.level_db, st.rx_fec);
}

G_STATIC_ASSERT(CE_PROMPT_QUEUE == CE_MEDIA_PLAY_QUEUE);

static const struct ce_media_glue_ops s_ops = {
        .reuse_ports = g_reuse_ports,
        .open = g_open,
        .close = g_close,
        .room_new = g_room_new,
        .room_free = g_room_free,
        .room_record = g_room_record,
        .room_play = g_room_play,
        .leg_play = g_leg_play,
        .stop_play = g_stop_play,
        .leg_new = g_leg_new,
        .leg_start = g_leg_start,
        .leg_set_codec = g_leg_set_codec,
        .leg_set_flags = g_leg_set_flags,
        .leg_move = g_leg_move,
        .leg_set_gain = g_leg_set_gain,
        .leg_free = g_leg_free,
        .stats = g_stats,
        .wake_hist = g_wake_hist,
        .leg_stats = g_leg_stats,
};

/** The media calls on the real media engine; their arg comes from ce_media_glue_new. */
const struct ce_media_glue_ops *ce_media_glue_default_ops(void)
{
	return &s_ops;
}

/** State for ce_media_glue_default_ops(), configured from [conference] of @cfg (may be NULL). */
int ce_media_glue_new(void **argp, const struct ce_config *cfg)
{
	struct glue *g = g_new0(struct glue, 1);
	const char *S = "conference";

	ce_media_conf_default(&g->mc);
	g->max_talkers = CE_MIX_DEF_TALKERS;
	if (cfg) {
		g->mc.bind_ip = ce_config_get(cfg, S, "rtp_bind", g->mc.bind_ip);
		g->mc.port = ce_config_get_int(cfg, S, "rtp_port", g->mc.port, 0, 65535);
		g->mc.threads = ce_config_get_int(cfg, S, "media_threads", g->mc.threads, 1, 64);
		g->mc.rtp_timeout_ms = ce_config_get_int(cfg, S, "rtp_timeout", 10000, 0, 3600000);
		g->mc.jbuf_min_ms =
		        ce_config_get_int(cfg, S, "jbuf_min", g->mc.jbuf_min_ms, 0, 500);
		g->mc.jbuf_max_ms =
		        ce_config_get_int(cfg, S, "jbuf_max", g->mc.jbuf_max_ms, 20, 500);
		g->max_talkers = ce_config_get_int(
		        cfg, S, "max_talkers", g->max_talkers, 1, CE_MIX_MAX_TALKERS);
	} else {
		g->mc.rtp_timeout_ms = 10000;
	}
	g->play_roots = ce_conf_play_roots(cfg);
	g->mc.play_roots = (const char *const *)g->play_roots;
	g->rooms = g_hash_table_new(g_direct_hash, g_direct_equal);
	*argp = g;
	return 0;
}

/** Free the state of ce_media_glue_new (after the media side was closed). */
void ce_media_glue_free(void *arg)
{
	struct glue *g = arg;

	if (!g)
		return;
	g_close(g);
	g_hash_table_destroy(g->rooms);
	g_strfreev(g->play_roots);
	g_free(g->reuse);
	g_free(g);
}
