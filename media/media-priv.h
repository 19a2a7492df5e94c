/* media-priv.h - media internals shared by media.c (main side) and media-thread.c */
#ifndef CE_MEDIA_PRIV_H
#define CE_MEDIA_PRIV_H

#include <time.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "base/atomic.h"
#include "base/mailbox.h"
#include "jbuf.h"
#include "media.h"
#include "mediafile.h"
#include "opus.h"
#include "pjbuf.h"
#include "rtp.h"

#define CE_MEDIA_BATCH 64
/* Mix outputs a media thread cycles over its rooms: as many as the rooms
 * of two legs one send batch holds, so that the batch is seldom cut short
 * to free one. */
#define CE_MEDIA_OUTS (CE_MEDIA_BATCH / 2)

struct ce_addr_key {
	uint8_t addr[16];
	uint16_t port;
};

enum ce_media_cmd_type {
	CE_MEDIA_CMD_ROOM_ADD,
	CE_MEDIA_CMD_ROOM_DEL,
	CE_MEDIA_CMD_LEG_ADD,
	CE_MEDIA_CMD_LEG_DEL,
	CE_MEDIA_CMD_LEG_FLAGS,
	CE_MEDIA_CMD_LEG_MOVE,  /* obj: a struct ce_media_rerate, or NULL */
	CE_MEDIA_CMD_LEG_GAIN,  /* flags: talk dB + 128, listen dB + 128 << 8 */
	CE_MEDIA_CMD_LEG_CODEC, /* flags: the enum ce_codec it speaks from now on */
	CE_MEDIA_CMD_LEG_DSP,   /* obj: its struct ce_dsp from now on (NULL: none) */
	CE_MEDIA_CMD_PLAY_ADD,
	CE_MEDIA_CMD_PLAY_DEL,
	CE_MEDIA_CMD_REC_ADD,
	CE_MEDIA_CMD_REC_DEL,
};

/* Ring sizes: commands per media thread (the thread drains them all every
 * tick), events for the main loop (a slow main loop loses talker events
 * past this, never a hand-back). */
#define CE_MEDIA_CMD_RING 16384
#define CE_MEDIA_EV_RING  8192

struct ce_media_cmd {
	enum ce_media_cmd_type type;
	struct ce_media_room *room;
	struct ce_media_leg *leg;
	unsigned flags;
	void *obj; /* PLAY_*: struct ce_media_play, REC_*: struct ce_media_rec */
};

enum {
	CE_MEDIA_PUBLIC = 0,
	CE_MEDIA_GONE_LEG,
	CE_MEDIA_GONE_ROOM,
	CE_MEDIA_GONE_PLAY,   /* ev.play: the media thread let go of a player */
	CE_MEDIA_GONE_REC,    /* ev.rec: ... of a recorder */
	CE_MEDIA_REC_DROPS,   /* ev.rec: a recorder's ring was full, frames dropped */
	CE_MEDIA_GONE_DSP,    /* obj: a leg's struct ce_dsp it no longer uses, to free */
	CE_MEDIA_GONE_RERATE, /* obj: a struct ce_media_rerate holding what a move replaced */
};

/*
 * An Opus leg moving between a 48 kHz room and another changes the rate
 * its decoder, its own encoder and its DSP run at (ce_mix_codec_rate):
 * the main thread makes the new ones, the move command hands them over,
 * the media thread swaps them in and hands this back holding the old ones.
 */
struct ce_media_rerate {
	struct ce_opus_dec *dec;
	struct ce_mix_wide *wide;
	struct ce_dsp *dsp;
	bool swap_dsp; /* the leg has a DSP (NS/AGC): dsp replaces it */
};

struct ce_media_qev {
	struct ce_media_event ev;
	int internal;
	void *obj; /* GONE_PLAY, GONE_REC, REC_DROPS: the player or recorder */
};

/*
 * The media clock wakes every CE_MEDIA_PHASE_NS: CE_MEDIA_PHASES wakes make
 * one 20 ms tick.  Every wake reads the sockets; a room mixes at one of the
 * wakes of each tick, its phase, which follows its talkers' packets so that
 * a frame is mixed within one wake of its arrival (media-thread.c).
 */
#define CE_MEDIA_PHASES   4
#define CE_MEDIA_PHASE_NS 5000000L
/*
 * A media thread's time: now() reads it and sleep_until() returns once it
 * has reached t, on CLOCK_MONOTONIC's scale.  Each is called once per
 * wake, never per packet.  The engine runs on ce_media_clock_real; a test
 * passes its own in ce_media_conf.clock to step the thread wake by wake
 * (test-media's late-talker), which makes timing a test can count on.
 */
struct ce_media_clock {
	void (*now)(void *arg, struct timespec *t);
	void (*sleep_until)(void *arg, const struct timespec *t);
	void *arg;
};

extern const struct ce_media_clock ce_media_clock_real;

/* Wakes a room waits at most for a seated talker's late packet. */
#define CE_MEDIA_DEFER_MAX 2

struct ce_shard {
	struct ce_media *m;
	GThread *thread;
	gint quit;
	int fd;
	struct sockaddr_storage local;
	socklen_t local_len;
	unsigned n_rooms;     /* main thread's count, to spread rooms */
	struct ce_mbox *cmds; /* struct ce_media_cmd, from the main thread */
	/* Media thread only from here on. */
	GHashTable *by_addr;
	struct ce_media_room *rooms[CE_MEDIA_PHASES]; /* the rooms mixing at each phase */
	struct ce_media_room *deferred; /* rooms put off to the next wake (a talker was late) */
	unsigned n_legs;
	/* Legs that follow their phone (ce_media_leg_opts.latch), in creation
	 * order, and the packets from unknown addresses offered to them at
	 * this wake (at most CE_MEDIA_LATCH_TRIES). */
	struct ce_media_leg *latching, *latching_tail;
	unsigned latch_tries;
	uint64_t tick;       /* 20 ms ticks */
	uint64_t wake;       /* wakes, CE_MEDIA_PHASES a tick */
	unsigned phase;      /* the current wake within the tick */
	unsigned next_phase; /* where the next new room starts, round robin */
	struct ce_media_stats st;
	struct mmsghdr rmsg[CE_MEDIA_BATCH];
	struct iovec riov[CE_MEDIA_BATCH];
	struct sockaddr_storage raddr[CE_MEDIA_BATCH];
	uint8_t rbuf[CE_MEDIA_BATCH][CE_RTP_MAX_PACKET + 1];
	struct mmsghdr smsg[CE_MEDIA_BATCH];
	struct iovec siov[CE_MEDIA_BATCH][2];
	uint8_t shdr[CE_MEDIA_BATCH][12];
	uint8_t sgain[CE_MEDIA_BATCH][CE_MIX_MAX_BYTES]; /* frames of legs with a listen gain */
	unsigned n_send;
	uint64_t flushes; /* sendmmsg batches sent */
	/* Where rooms are mixed, in turn: an out still referenced by queued
	 * sends (out_flush[i] == flushes + 1) is flushed before it is reused. */
	struct ce_mix_out outs[CE_MEDIA_OUTS];
	uint64_t out_flush[CE_MEDIA_OUTS];
	unsigned next_out;
};

struct ce_media {
	struct ce_media_conf conf;
	ce_media_event_h *handler;
	void *arg;
	struct ce_shard *shards;
	unsigned n_shards;
	struct ce_mbox *events; /* struct ce_media_qev, to the main loop */
	uint64_t events_lost;
	GHashTable *legs, *rooms, *remotes; /* main thread's */
	GHashTable *files, *recs;           /* main thread's players and recorders */
	struct ce_mfile_io *io;             /* their I/O thread, started on first use */
};

/*
 * A prompt player: a mixer source fed from a file's ring.  Players queue
 * per target: a room's queue holds its ROOM and EXCEPT players, each leg
 * has one for its LEG players.  The media thread keeps a player in its
 * room's waiting list (arrival order) until no player of the same queue
 * is attached, then attaches it; the main thread bounds each queue to
 * CE_MEDIA_PLAY_QUEUE players.
 */
struct ce_media_play {
	struct ce_mix_src src; /* first */
	struct ce_media_room *room;
	struct ce_media_leg *leg; /* media thread (after the add): NULL once the leg left */
	enum ce_mix_src_mode mode;
	struct ce_mfile *f;
	bool started;       /* media thread: a frame came */
	uint64_t underruns; /* media thread: ticks with an empty ring after the start */
	bool done;          /* media thread: detached */
	bool waiting;       /* media thread: in room->waiting, not attached yet */
	struct ce_media_play *wnext, *wprev; /* media thread: in room->waiting */
	bool removing;                       /* main thread */
	const void *queue;                   /* main thread: its queue (room, leg, or itself) */
	struct ce_media_play *mnext, *mprev; /* main thread: in room->plays */
	void *user;
	GDestroyNotify destroy;
};

/* A room recorder: the room's full mix into a file's ring. */
struct ce_media_rec {
	struct ce_media_room *room;
	struct ce_mfile *f;
	uint64_t frames, drops; /* media thread */
	bool dropping;          /* media thread: posted REC_DROPS, no frame taken since */
	bool removing;          /* main thread */
};

struct ce_media_room {
	struct ce_media *m;
	struct ce_shard *shard;
	struct ce_mix_room *mix;
	bool removing;                     /* main thread */
	struct ce_media_room *next, *prev; /* in the shard's list of its phase, media thread */
	unsigned phase;                    /* media thread: the wake it mixes at */
	unsigned phase_votes;              /* media thread: ticks its talkers wanted another */
	uint64_t last_wake;                /* media thread: the wake it last mixed at */
	bool aligned;                      /* media thread: it was where its talkers wanted */
	unsigned defers;                   /* media thread: wakes put off this tick */
	struct ce_media_room *defer_next;  /* media thread: in the shard's deferred list */
	unsigned speakers, interval_ticks;
	uint64_t next_notify, next_repeat;
	struct ce_media_leg *last[CE_MEDIA_MAX_SPEAKERS];
	struct ce_media_rec *rec;                     /* media thread's */
	struct ce_media_rec *rec_main;                /* main thread's */
	struct ce_media_play *waiting, *waiting_tail; /* media thread: queued players */
	struct ce_media_play *plays;                  /* main thread: every live player */
};

/*
 * Where in the tick a leg's packets arrive, in runs of 8 packets (160 ms at
 * 20 ms): the phases of this run and the last one decide whether the leg's
 * jitter buffer keeps a frame now; the phases of the last ~2 s
 * (CE_MEDIA_ARRIVALS_RUNS) decide where its room mixes, so that a leg that
 * crosses a wake only now and then still moves its room past that wake.
 */
#define CE_MEDIA_ARRIVALS_RUNS 12
struct ce_media_arrivals {
	uint8_t seen;  /* this run's phases (bit i: phase i) */
	uint8_t count; /* packets in this run */
	/* runs for which a phase still counts as seen: CE_MEDIA_ARRIVALS_RUNS
	 * for the phases of the last run */
	uint8_t fresh[CE_MEDIA_PHASES];
};

/* What an Opus leg receives through instead of its struct ce_jbuf (40 KB: apart, for Opus legs
 * only, made off the media thread): whole packets, and the decoder that rebuilds a lost one. */
/* An Opus frame in the 8 kHz units the jitter figures are given in (media.h). */
#define CE_MEDIA_OPUS_UNITS 160
struct ce_media_opus {
	struct ce_opus_dec *dec; /* at the codec's rate in its room (ce_mix_codec_rate) */
	struct ce_pjbuf jb;
};

struct ce_media_leg {
	struct ce_mix_leg mix;       /* first: the mixer's legs lead back here */
	struct ce_jbuf jb;           /* not used by an Opus leg: opus->jb */
	struct ce_media_opus *opus;  /* an Opus leg's, else NULL */
	struct ce_media_room *room;  /* media thread's (set by the main thread before the add) */
	struct ce_media_room *mroom; /* main thread's: where its commands and players go */
	/* The remote given at creation: the main thread's key in m->remotes
	 * (non-latching legs only), never changed. */
	struct ce_addr_key key;
	/* Media thread's (set by the main thread before the add): where its
	 * packets come from and where it sends, moved when it latches; its key
	 * in by_addr, if by_addr[at] is this leg (another may hold it). */
	struct ce_addr_key at;
	struct sockaddr_storage remote;
	socklen_t remote_len;
	uint8_t pt;
	uint16_t seq;
	uint32_t ts, ssrc;
	uint64_t last_rx;
	unsigned rx_tick;            /* packets taken this tick */
	struct ce_media_arrivals ph; /* the phases its packets arrive at */
	bool timed_out;
	bool linked;
	int32_t talk_gain; /* Q12 (gain.h) of what it says; 0: none (what it hears: mix.gain) */
	struct ce_media_leg_stats st;
	/* Media bypass (ce_media_leg_opts), fixed before the add. */
	int16_t dtmf_pt;    /* -1: none */
	int16_t alt_pt;     /* the other G.711 law's payload type, taken and converted; -1: none */
	bool both_laws;     /* alt_pt follows the leg's law (set at creation, and by LEG_CODEC) */
	struct ce_dsp *dsp; /* noise suppression / AGC of what it says, or NULL */
	unsigned dsp_rate;  /* main thread: its codec's rate, what a DSP for it runs at */
	bool dsp_ns, dsp_agc; /* main thread: what its DSP does (both false: none) */
	bool latch;
	bool has_sig;
	uint8_t ip[16], sig_ip[16]; /* as in ce_addr_key: the remote's and the SIP peer's */
	struct ce_media_leg *latch_next, *latch_prev; /* media thread: in s->latching */
	/* Media thread: the last RFC 4733 event (its packets share a timestamp). */
	bool dtmf_seen;
	uint32_t dtmf_ssrc, dtmf_ts;
	bool removing; /* main thread */
	void *user;
	GDestroyNotify destroy;
};

/* The other G.711 law's payload type for a both_laws leg speaking @codec, or -1. */
static inline int16_t ce_media_alt_pt(bool both_laws, enum ce_codec codec)
{
	if (!both_laws || (codec != CE_CODEC_PCMU && codec != CE_CODEC_PCMA))
		return -1;
	return (int16_t)ce_codec_rtp_pt(codec == CE_CODEC_PCMU ? CE_CODEC_PCMA : CE_CODEC_PCMU);
}

/* RTP timestamp units of a 20 ms frame of @leg: its codec's clock (8000 but for L16, Opus) / 50. */
static inline unsigned leg_units(const struct ce_media_leg *leg)
{
	enum ce_codec c = (enum ce_codec)leg->mix.codec;

	return ce_codec_frame_units(c, ce_mix_codec_frame(leg->room->mix, c));
}

/* Whether @leg's jitter buffer follows a stream, and its SSRC. */
static inline bool leg_rx_started(const struct ce_media_leg *leg, uint32_t *ssrc)
{
	*ssrc = leg->opus ? leg->opus->jb.ssrc : leg->jb.ssrc;
	return leg->opus ? leg->opus->jb.started : leg->jb.started;
}

void ce_media_post(struct ce_media *m, const struct ce_media_event *ev, int internal);
void ce_media_post_obj(
        struct ce_media *m, struct ce_media_room *room, int internal, void *obj, bool ack);
int ce_media_addr_key(struct ce_addr_key *k, const struct sockaddr *sa, socklen_t len);
gpointer ce_media_shard_run(gpointer data);
void ce_media_arrival(struct ce_media_arrivals *a, unsigned phase);
unsigned ce_media_arrivals_now(const struct ce_media_arrivals *a);
unsigned ce_media_arrivals_long(const struct ce_media_arrivals *a);
int ce_media_ready_phase(unsigned mask);
unsigned ce_media_best_phase(const int *ready, unsigned n, unsigned cur);
int ce_media_phase_step(const int *ready, unsigned n, unsigned cur, unsigned best, bool *lossless);
bool ce_media_next_cmd(struct ce_shard *s, struct ce_media_cmd *c);
int ce_media_send(struct ce_shard *s, const struct ce_media_cmd *c);

/* media-play.c: players and recorders on the media thread, and their end on the main side. */
void ce_media_files_apply(struct ce_shard *s, const struct ce_media_cmd *c);
void ce_media_files_feed(struct ce_media_room *room);
void ce_media_files_record(struct ce_media_room *room);
void ce_media_files_room_del(struct ce_media_room *room);
void ce_media_files_leg_del(struct ce_media_leg *leg);
void ce_media_files_leg_free(struct ce_media_leg *leg);
void ce_media_files_gone(struct ce_media *m, const struct ce_media_qev *q);
void ce_media_files_free(struct ce_media *m);

#endif
