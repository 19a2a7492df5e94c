/* media.h - the media threads: RTP legs on UDP, one 20 ms clock, rooms, events */
#ifndef CE_MEDIA_H
#define CE_MEDIA_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <glib.h>

#include "base/histogram.h"
#include "g711.h"
#include "jbuf.h"
#include "mixer.h"

struct ce_media;
struct ce_media_room;
struct ce_media_leg;
struct ce_media_play;

struct ce_media_clock;

struct ce_media_conf {
	const char *bind_ip;     /* local address of the RTP sockets ("0.0.0.0") */
	unsigned port;           /* first port (thread i binds port + i); 0: any */
	unsigned threads;        /* media threads, rooms are spread over them (1) */
	unsigned rtp_timeout_ms; /* no RTP for this long: CE_MEDIA_EV_RTP_TIMEOUT (5000) */
	unsigned jbuf_min_ms;    /* jitter buffer delay bounds (20, 200) */
	unsigned jbuf_max_ms;
	/* The folders prompt files may be played from (NULL: anywhere; recfile.c). */
	const char *const *play_roots;
	/* The media threads' clock (NULL: CLOCK_MONOTONIC); tests drive it. */
	const struct ce_media_clock *clock;
	/* With port 0: thread i binds reuse_ports[i] if it can (the ports the legs
	 * of a crashed engine used), else any.  Read by ce_media_new() only. */
	const unsigned *reuse_ports;
	unsigned n_reuse_ports;
};

enum ce_media_ev_type {
	CE_MEDIA_EV_TALK_START,  /* leg starts talking (energy set) */
	CE_MEDIA_EV_TALK_STOP,   /* leg stops talking, also when muted or removed */
	CE_MEDIA_EV_RTP_TIMEOUT, /* leg's RTP stopped: the glue should end the leg */
	CE_MEDIA_EV_SPEAKING,    /* room's top speakers, as Yate's "speaking" notify */
	CE_MEDIA_EV_PLAY_DONE,   /* a player ended (error set if it failed; leg: a leg's own) */
	CE_MEDIA_EV_REC_FAILED,  /* the room's recorder failed and stopped; error set */
	CE_MEDIA_EV_REC_DROPS,   /* the recorder's disk is too slow: frames dropped */
	CE_MEDIA_EV_DTMF,        /* a phone's RFC 4733 telephone-event began: digit set */
	CE_MEDIA_EV_LATCHED,     /* a latching leg follows its phone to a new address: from set */
};

#define CE_MEDIA_MAX_SPEAKERS 8

/* An event, delivered on the main loop.  Handles stay valid until freed. */
struct ce_media_event {
	enum ce_media_ev_type type;
	struct ce_media_room *room;
	struct ce_media_leg *leg;
	unsigned energy;
	bool changed; /* SPEAKING: the set of speakers changed (order aside) */
	unsigned n_speakers;
	struct ce_media_leg *speakers[CE_MEDIA_MAX_SPEAKERS];
	unsigned energies[CE_MEDIA_MAX_SPEAKERS];
	struct ce_media_play *play; /* PLAY_DONE */
	void *play_user;            /* PLAY_DONE: the player's user data */
	const char *error;          /* PLAY_DONE, REC_FAILED: why (valid in the handler) */
	int err;                    /* REC_FAILED: the errno of a failed write (ENOSPC...), or 0 */
	const char *path;           /* PLAY_DONE, REC_*: the file */
	uint64_t count;             /* PLAY_DONE: underruns, REC_DROPS: frames dropped */
	char digit;                 /* DTMF: '0'-'9', '*', '#', 'A'-'D' or 'F' (flash) */
	struct sockaddr_storage from; /* LATCHED: where the leg's packets now come from */
	socklen_t from_len;
};

enum ce_media_play_mode {
	CE_MEDIA_PLAY_ROOM,   /* everyone in the room, and the recording */
	CE_MEDIA_PLAY_LEG,    /* one leg only */
	CE_MEDIA_PLAY_EXCEPT, /* everyone but one leg */
};

typedef void(ce_media_event_h)(const struct ce_media_event *ev, void *arg);

/*
 * rx_bad: not RTP; rx_wrong_pt: not the leg's payload type; rx_flood: over 8 in a tick;
 * rx_dtmf: RFC 4733 packets taken; latched: moves to a new source address.
 */
#define CE_MEDIA_NO_LEVEL (-127)
struct ce_media_leg_stats {
	uint64_t rx_packets, rx_bad, rx_wrong_pt, rx_flood, tx_packets, rx_dtmf, latched;
	uint64_t rx_fec; /* Opus: lost frames rebuilt from the next packet's in-band FEC */
	/* What the room hears of it now: its last frame's voice-band level, dB re full scale
	 * (the talker detector's), or CE_MEDIA_NO_LEVEL while it is not heard (muted) or quiet. */
	int32_t level_db;
	struct ce_jbuf_stats jbuf; /* an Opus leg's in 8 kHz units too (160 a frame) */
};

struct ce_media_stats {
	uint64_t ticks, overruns, rx_unknown, rx_bad, tx_errors, events_lost;
	uint64_t rx_wrong_pt, rx_flood; /* the legs' drops, also those of legs gone */
	uint64_t
	        phase_moves; /* rooms moved to another phase of the tick, following their talkers */
	uint64_t rx_late;    /* packets that came after their play time (dropped) */
	uint64_t concealed;  /* samples the legs' loss concealment made up */
	uint64_t waits;      /* pulls whose frame had not (all) come: a leg's play point waited */
	uint64_t deferred;   /* room mixes put off a wake for a seated talker's late packet */
	uint64_t latched;    /* latching legs moved to a new source address */
	uint64_t dtmf;       /* RFC 4733 events reported */
	struct ce_hist wake_us; /* how long each 5 ms wake worked (ce_media_wake_bounds, us) */
};

extern const struct ce_hist_bounds ce_media_wake_bounds;

/* The rate a room runs at when the one asked for is not ce_media_rate_ok(). */
#define CE_MEDIA_RATE_DEFAULT 8000

bool ce_media_rate_ok(unsigned rate);
void ce_media_conf_default(struct ce_media_conf *conf);
int ce_media_new(struct ce_media **mp, const struct ce_media_conf *conf, ce_media_event_h *h,
        void *arg, GError **error);
void ce_media_free(struct ce_media *m);
void ce_media_stats(struct ce_media *m, struct ce_media_stats *st);

int ce_media_room_new(struct ce_media_room **rp, struct ce_media *m, unsigned rate,
        unsigned max_talkers, unsigned speakers, unsigned interval_ms);
int ce_media_room_new_on(struct ce_media_room **rp, struct ce_media *m, unsigned rate,
        unsigned max_talkers, unsigned speakers, unsigned interval_ms, unsigned port);
void ce_media_room_free(struct ce_media_room *room);
int ce_media_room_local(
        const struct ce_media_room *room, struct sockaddr_storage *ss, socklen_t *len);

int ce_media_leg_new(struct ce_media_leg **lp, struct ce_media_room *room,
        const struct sockaddr *remote, socklen_t len, enum ce_codec codec, unsigned flags,
        void *user, GDestroyNotify destroy);

/*
 * A leg whose RTP comes straight from a phone (media bypass, DESIGN.md
 * §2) instead of from Yate.  Such a phone may send from another address
 * than its SDP said (NAT), may move (a NAT rebinding), and sends its keys
 * in the RTP stream (RFC 4733), which Yate no longer decodes for us.
 *
 * Latching, on the media thread's one shared socket: a packet from an
 * address no leg has is offered to the thread's latching legs, at most
 * CE_MEDIA_LATCH_TRIES packets a wake (a stranger's flood costs nothing
 * else).  A leg takes it when the packet is RTP of the leg's audio or
 * DTMF payload type from the leg's remote IP or its @sig IP (the address
 * the call's SIP came from: a phone behind NAT sends from the NAT's
 * address, which Yate names rtp_addr, but from another port), and either
 *   - the leg has had no packet yet (the first such leg, in creation order,
 *     when several wait on one IP), or
 *   - the packet's SSRC is the leg's current one (the phone's NAT moved it
 *     to another port mid-call).
 * The leg then sends to and is found by the new address (its SSRC,
 * sequence and timestamps go on), and CE_MEDIA_EV_LATCHED says so.  A
 * stranger from another IP never takes a leg over.  Two latching legs may
 * start on one remote address (two phones behind one NAT with one local
 * port): the second one is found by nobody until it latches.
 */
struct ce_media_leg_opts {
	int dtmf_pt; /* RFC 4733 telephone-event payload type (96..127), or -1: none */
	bool latch;  /* follow the phone to another source address, as above */
	/* A G.711 leg whose phone may send either law (our SDP answer listed
	 * both): the other law's packets are converted to the leg's on arrival. */
	bool both_laws;
	/* Any leg: noise suppression and automatic gain control of what the
	 * room hears of it (media/dsp.h); its talker detector hears it raw. */
	bool ns, agc;
	struct sockaddr_storage sig; /* the SIP peer's address (port ignored); sig_len 0: none */
	/* The payload type sent and taken for the leg's codec when it has no
	 * static one (Opus: 96..127, from the phone's offer); 0: the static one. */
	int pt;
	socklen_t sig_len;
};

#define CE_MEDIA_LATCH_TRIES 16

void ce_media_addr_text(const struct sockaddr_storage *ss, socklen_t len, char *buf, size_t size);

int ce_media_leg_new_opts(struct ce_media_leg **lp, struct ce_media_room *room,
        const struct sockaddr *remote, socklen_t len, enum ce_codec codec, unsigned flags,
        const struct ce_media_leg_opts *opts, void *user, GDestroyNotify destroy);
int ce_media_leg_set_flags(struct ce_media_leg *leg, unsigned flags);
int ce_media_leg_set_codec(struct ce_media_leg *leg, enum ce_codec codec);
int ce_media_leg_move(struct ce_media_leg *leg, struct ce_media_room *room);
int ce_media_leg_set_gain(struct ce_media_leg *leg, int talk_db, int listen_db);
int ce_media_leg_set_dsp(struct ce_media_leg *leg, bool ns, bool agc);
void ce_media_leg_free(struct ce_media_leg *leg);
void *ce_media_leg_user(const struct ce_media_leg *leg);
void ce_media_leg_stats(const struct ce_media_leg *leg, struct ce_media_leg_stats *st);
size_t ce_media_leg_size(void);

/* Players per queue (one playing, the rest waiting their turn); more are refused. */
#define CE_MEDIA_PLAY_QUEUE 16

struct ce_tone;

int ce_media_play_new(struct ce_media_play **pp, struct ce_media_room *room, const char *path,
        enum ce_media_play_mode mode, struct ce_media_leg *leg, void *user, GDestroyNotify destroy);
int ce_media_play_loop(struct ce_media_play **pp, struct ce_media_room *room, const char *path,
        enum ce_media_play_mode mode, struct ce_media_leg *leg, void *user, GDestroyNotify destroy);
int ce_media_play_tone(struct ce_media_play **pp, struct ce_media_room *room,
        const struct ce_tone *tone, unsigned duration_ms, enum ce_media_play_mode mode,
        struct ce_media_leg *leg, void *user, GDestroyNotify destroy);
int ce_media_play_stop(
        struct ce_media_room *room, enum ce_media_play_mode mode, struct ce_media_leg *leg);
void ce_media_play_free(struct ce_media_play *p);
int ce_media_room_record(struct ce_media_room *room, const char *path, int fd);

#endif
