/* media-glue.h - what the conference signalling needs from the media core, as a table of calls */
#ifndef CE_MEDIA_GLUE_H
#define CE_MEDIA_GLUE_H

#include <stdbool.h>
#include <glib.h>

#include "base/histogram.h"
#include "media/g711.h"
#include "room-event.h"

/*
 * The signalling side (room.c, leg.c) never touches sockets or audio: it
 * asks the media core through this table.  ce_media_glue_default_ops() is the
 * table built on the media engine (media-glue.c); tests hand in their own
 * table to drive rooms and legs deterministically.
 *
 * Handles are opaque to the signalling side.  @cookie is what the media
 * side passes back with events (the signalling leg or room) as struct
 * ce_room_event's room_data and leg_data; events arrive
 * on the main loop through the callback given to ops->open(), and never
 * name a leg or room cookie after its leg_free()/room_free() returned.
 * The media side emits SPEAKERS as Yate does: when the list changed, and
 * repeated while someone talks, never more often than interval_ms.
 */
struct ce_room_media;
struct ce_leg_media;

/* Leg flags (a leg starts with SMART unless told otherwise). */
enum {
	CE_LEG_MUTE = 1 << 0,    /* the room does not hear this leg */
	CE_LEG_DEAF = 1 << 1,    /* this leg hears nothing from the room */
	CE_LEG_NOVOICE = 1 << 2, /* listen only (voice=false): never mixed */
	CE_LEG_ECHO = 1 << 3,    /* hear one's own voice in the mix */
	CE_LEG_SMART = 1 << 4,   /* talker detection on this leg */
	CE_LEG_NS = 1 << 5,      /* noise suppression of what the room hears of it (at start) */
	CE_LEG_AGC = 1 << 6,     /* automatic gain control of the same (at start) */
};

/* A leg's volume: steps of 3 dB, at most 4 each way (the keypad's). */
#define CE_LEG_GAIN_STEP_DB 3
#define CE_LEG_GAIN_MAX_DB  12

/*
 * A prompt: a file, or a tone (tone.h) for a duration.  Prompts queue per
 * target: the room's queue holds those to the whole room and those to all
 * but one leg, each leg has its own for those to it alone.  A prompt
 * starts when the one before it in its queue has ended; a queue holds at
 * most CE_PROMPT_QUEUE (the playing one included).
 */
struct ce_tone;
struct ce_media_prompt {
	const char *path;           /* a file, or NULL for a tone */
	const struct ce_tone *tone; /* the tone when path is NULL */
	unsigned duration_ms;       /* the tone's length; 0: its natural length (DTMF) */
	bool loop;                  /* a file played over and over until stopped (music on hold) */
};

#define CE_PROMPT_QUEUE 16

/*
 * Events from the media side come to the ce_room_event_h given to open():
 * already the room event every consumer reads (room-event.h): TALK_START (energy), TALK_STOP,
 * RTP_TIMEOUT, SPEAKERS, PROMPT_FAILED and RECORD_FAILED (error, file, err), with the cookies in
 * room_data, leg_data and speakers[].leg_data.
 */

/* Where and how a leg's RTP flows, from Yate's chan.rtp answer. */
struct ce_leg_remote {
	const char *ip;
	unsigned port;
	enum ce_codec codec;
	unsigned rtp_timeout_ms; /* 0: never time out */
	/* A phone's own RTP (media bypass): its telephone-event payload type or
	 * -1, and the address its SIP came from (latching, media.h), or NULL. */
	bool direct;
	int dtmf_pt;
	const char *sig_ip;
	/* Opus: the phone's payload type, and whether it takes in-band FEC */
	int pt;
	bool fec;
};

struct ce_media_glue_ops {
	/* Optional, before open: the local RTP ports the legs of a crashed engine
	 * used, to be bound again if the configuration leaves the port free. */
	void (*reuse_ports)(void *arg, const unsigned *ports, unsigned n);
	/* Start the media side; events go to @evh.  Returns 0 or -errno. */
	int (*open)(void *arg, ce_room_event_h *evh, void *evarg);
	void (*close)(void *arg);
	/* A room; with speakers > 0 it reports SPEAKERS at most every interval_ms.
	 * @port: 0, or the local RTP port its legs must have (a room rebuilt after
	 * a crash): -EADDRNOTAVAIL when the media side has no such port. */
	int (*room_new)(void *arg, struct ce_room_media **rp, const char *name, unsigned rate,
	        unsigned speakers, unsigned interval_ms, unsigned port, void *cookie);
	void (*room_free)(void *arg, struct ce_room_media *r);
	/* Record the room mix into @fd, the empty file created as @path (NULL
	 * stops); @fd is handed over (closed on failure too).  0 or -errno. */
	int (*room_record)(void *arg, struct ce_room_media *r, const char *path, int fd);
	/* Play a prompt once to the whole room, after the room's queue; 0 or -errno
	 * (-ENOBUFS: CE_PROMPT_QUEUE prompts in that queue already). */
	int (*room_play)(void *arg, struct ce_room_media *r, const struct ce_media_prompt *p);
	/* The same to one started leg (the leg's queue), or (others) to everyone
	 * else in its room (the room's queue). */
	int (*leg_play)(
	        void *arg, struct ce_leg_media *l, const struct ce_media_prompt *p, bool others);
	/* Optional: stop the prompts playing and waiting in the room's queue (@l
	 * NULL, or @others) or in @l's; returns how many, or -errno. */
	int (*stop_play)(void *arg, struct ce_room_media *r, struct ce_leg_media *l, bool others);
	/* A UDP endpoint for a new leg; *port gets its local port. */
	int (*leg_new)(void *arg, struct ce_leg_media **lp, struct ce_room_media *r, unsigned flags,
	        void *cookie, unsigned *port);
	/* Latch to Yate's end of the RTP and add the leg to the mixer. */
	int (*leg_start)(void *arg, struct ce_leg_media *l, const struct ce_leg_remote *rem);
	void (*leg_set_flags)(void *arg, struct ce_leg_media *l, unsigned flags);
	/* Optional: the leg speaks @codec (mu-law or A-law) from now on: 0 or -errno. */
	int (*leg_set_codec)(void *arg, struct ce_leg_media *l, enum ce_codec codec);
	/* Optional: move a leg into room @r, keeping its RTP stream (same port,
	 * sequence, timestamps): 0, or -EXDEV (@r is on another media thread),
	 * -ENOENT, -ENOTSUP, -ENOBUFS; the leg stays where it was on error. */
	int (*leg_move)(void *arg, struct ce_leg_media *l, struct ce_room_media *r);
	/* Optional: gains in dB (CE_LEG_GAIN_MIN_DB..MAX_DB) of what the room hears of
	 * the leg (@talk_db) and of what the leg hears (@listen_db); 0: unchanged. */
	void (*leg_set_gain)(void *arg, struct ce_leg_media *l, int talk_db, int listen_db);
	/* Remove from the mixer and close the endpoint. */
	void (*leg_free)(void *arg, struct ce_leg_media *l);
	/* Optional: append ",key=value" counters of the media side to @out. */
	void (*stats)(void *arg, GString *out);
	/* Optional: add the media threads' wake times (us) to @out; their bounds. */
	const struct ce_hist_bounds *(*wake_hist)(void *arg, struct ce_hist *out);
	/* Optional: append " key=value" figures of a started leg's RTP to @out. */
	void (*leg_stats)(void *arg, struct ce_leg_media *l, GString *out);
};

struct ce_config;

/*
 * The table on the real media engine (media.h).  Its @arg comes from
 * ce_media_glue_new, which reads the media keys of [conference] in @cfg
 * (rtp_bind, rtp_port, media_threads, rtp_timeout, jbuf_min, jbuf_max,
 * max_talkers).
 */
const struct ce_media_glue_ops *ce_media_glue_default_ops(void);
int ce_media_glue_new(void **argp, const struct ce_config *cfg);
void ce_media_glue_free(void *arg);

#endif
