/* mixer.h - conference rooms: mix-minus of the active legs, encoded once per codec */
#ifndef CE_MIXER_H
#define CE_MIXER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "g711.h"
#include "g722.h"
#include "resample.h"
#include "talker.h"

#define CE_MIX_MAX_TALKERS 8
#define CE_MIX_DEF_TALKERS 4
/* Longest frame: 20 ms at 48 kHz (a fullband room, ce_mix_room_new). */
#define CE_MIX_MAX_FRAME 960
#define CE_MIX_MAX_BYTES (CE_MIX_MAX_FRAME * 2)

/*
 * Who is mixed besides the talkers: a leg is clearly audible once its
 * detector's voice-band level (dB re full scale, as min_dbfs) is at least
 * CE_MIX_AUDIBLE_DB for CE_MIX_AUDIBLE_ON frames in a row, and stays so
 * until CE_MIX_QUIET_OFF frames in a row are under CE_MIX_QUIET_DB (or
 * bring nothing).  A steady tone or music that the detector's floor has
 * taken in is heard; comfort noise and quiet background noise (-50 dBFS
 * and under) are not.  docs/media.md says why these values.
 */
#define CE_MIX_AUDIBLE_DB (-40.0f)
#define CE_MIX_QUIET_DB   (-45.0f)
#define CE_MIX_AUDIBLE_ON 3  /* 60 ms */
#define CE_MIX_QUIET_OFF  20 /* 400 ms, the detector's hangover */

/*
 * The mix's limiter: when two or more sources are summed and the sum's
 * peak would pass CE_MIX_LIMIT (-1 dBFS), the whole room's tick (its sum,
 * and with it every mix-minus) is scaled under it at once, and the gain
 * comes back by CE_MIX_RELEASE_Q15 (0.5 dB) a tick, 25 dB a second.  So
 * eight people talking at once are heard softer, not clipped; one source
 * alone is never touched.  docs/media.md, "Limiter".
 */
#define CE_MIX_LIMIT       29205 /* -1 dBFS */
#define CE_MIX_UNITY_Q15   32768
#define CE_MIX_RELEASE_Q15 34716 /* +0.5 dB, Q15 */

enum ce_mix_flag {
	CE_MIX_MUTED = 1 << 0,       /* not heard (mute) */
	CE_MIX_LISTEN_ONLY = 1 << 1, /* not heard and never a talker (voice=false) */
	CE_MIX_DEAF = 1 << 2,        /* hears nothing */
	CE_MIX_ECHO = 1 << 3,        /* a talker hears the full mix, itself included (echo=true) */
	CE_MIX_DUMB = 1 << 4,        /* no detector: always active while heard (smart=false) */
};

struct ce_mix_room;
struct ce_opus_enc;

/*
 * What a stream of frames to listeners carries from tick to tick when its
 * codec is not a stateless one at the room's rate: the converter between
 * the room's rate and the codec's, and the codec's own state (G.722).  A
 * listener's decoder follows the one stream it is sent; when it moves to
 * a stream of its own (a seat's mix-minus, a private frame, a listen
 * gain) that stream starts as a copy of the one it left, so the decoder
 * hears no seam.  Back on the shared stream it hears one: an ADPCM
 * decoder re-converges within a few tens of milliseconds (docs/media.md).
 */
struct ce_mix_enc {
	struct ce_rs rs;
	struct ce_g722_enc g722;
	/* Opus: its encoder, bound to the stream for good (ce_mix_room_want_opus,
	 * ce_mix_wide_new); copying a stream copies the encoder's state into it. */
	struct ce_opus_enc *opus;
};

/*
 * A room's Opus encoders (an encoder is some 20 KB, against G.722's 100
 * bytes): made by ce_mix_room_want_opus() off the media thread before the
 * first Opus leg joins, one per stream a listener can follow: the full mix,
 * each seat's mix-minus, and the fresh start copied into a stream after
 * silence.  Mixed at 16 kHz, 24 kbit/s, in-band FEC (docs/media.md, "Opus");
 * in a 48 kHz room at 48 kHz (fullband, no conversion), 32 kbit/s.
 */
#define CE_MIX_OPUS_BITRATE    24000
#define CE_MIX_OPUS_BITRATE_FB 32000
#define CE_MIX_OPUS_LOSS_PCT   5
#define CE_MIX_OPUS_COMPLEXITY 1
#define CE_MIX_OPUS_SILENCE    48
struct ce_mix_room_opus {
	struct ce_opus_enc *enc, *seat[CE_MIX_MAX_TALKERS], *fresh;
	uint8_t silence[CE_MIX_OPUS_SILENCE]; /* 20 ms of silence, from a fresh encoder */
	uint16_t silence_len;
};

/*
 * What a leg needs only when its codec keeps state or runs at another rate
 * than its room's: allocated apart (ce_mix_wide_new(), by whoever owns the
 * leg, off the media thread), so that the legs of a narrowband G.711 room
 * stay as small, and as dense in memory, as they were.
 */
struct ce_mix_wide {
	struct ce_rs rs_in;    /* what it says, to the room's rate */
	struct ce_mix_enc own; /* its own stream (private frames, listen gain) */
	uint64_t own_tick;     /* the tick own was last encoded for */
};

/* Which stream a leg was sent at its last output (ce_mix_leg.heard). */
enum ce_mix_heard {
	CE_MIX_HEARD_SILENCE = 0, /* a constant silent frame */
	CE_MIX_HEARD_SHARED,      /* the full mix of its codec */
	CE_MIX_HEARD_SEAT,        /* its seat's mix-minus */
	CE_MIX_HEARD_OWN,         /* a frame encoded for it alone (own) */
};

/*
 * A participant.  The caller owns the storage (the media code embeds it in
 * its leg) so that joining a room allocates nothing on the media thread.
 * It starts on a cache line, so that what every tick reads is two lines
 * (CE_MIX_LEG_HOT); the rest is read by active legs and on changes.
 */
struct ce_mix_leg {
	/* Read every tick (with the detector's first CE_TALKER_HOT bytes,
	 * which follow: ce_mix_leg_input fetches them ahead): */
	struct ce_mix_leg *next;     /* in the room */
	struct ce_mix_leg *ahead;    /* next->next: the leg whose state is fetched now */
	struct ce_mix_leg *act_next; /* in the room's active list */
	struct ce_mix_room *room;
	uint8_t codec; /* enum ce_codec */
	uint8_t flags; /* CE_MIX_* */
	int8_t slot;   /* index in the room's talker set, or -1 */
	bool active;   /* on the active list: talking (talker.active), audible, or smart=false */
	uint8_t in_at; /* where this tick's input is: room->out->in[in_at], or CE_MIX_OWN_IN */
	bool audible;  /* clearly audible (CE_MIX_AUDIBLE_DB), whatever the detector says */
	uint8_t audible_run; /* frames in a row that point to the other state */
	uint8_t heard;       /* enum ce_mix_heard: what its last output was */
	struct ce_talker talker;
	/* Read on joins, leaves, talk changes and prompts: */
	struct ce_mix_leg *prev, *act_prev;
	const uint8_t *priv; /* a private frame (a prompt to this leg), if priv_tick is now */
	uint64_t priv_tick;
	uint16_t priv_len;
	int32_t gain;             /* Q12 (gain.h) of what it hears; 0: as the room */
	struct ce_mix_wide *wide; /* the owner's, where ce_mix_leg_needs_wide(); else NULL */
	/* this tick's input when the out has no room for it (in_at == CE_MIX_OWN_IN) */
	int16_t in[CE_MIX_MAX_FRAME] __attribute__((aligned(64)));
} __attribute__((aligned(64)));

/* Bytes of a leg the mixer reads for every leg every tick. */
#define CE_MIX_LEG_HOT (offsetof(struct ce_mix_leg, talker) + CE_TALKER_HOT)
_Static_assert(CE_MIX_LEG_HOT <= 128, "a leg's per-tick state is two cache lines");
_Static_assert(
        CE_MIX_DUMB <= UINT8_MAX && CE_CODEC_COUNT <= UINT8_MAX && CE_MIX_MAX_TALKERS <= INT8_MAX,
        "flags, codec and seat fit a leg's bytes");

/*
 * An audio source without RTP (a prompt player): ROOM is heard by every
 * leg (and the recording) like a talker that hears nothing back; LEG only
 * by one leg, overlaid on its output; EXCEPT by everyone but one leg.
 * Only the legs with an overlay (LEG's target, EXCEPT's excluded leg) get a
 * private frame; the others keep sharing the mix encoded once per codec.
 */
enum ce_mix_src_mode {
	CE_MIX_SRC_ROOM,
	CE_MIX_SRC_LEG,
	CE_MIX_SRC_EXCEPT,
};

struct ce_mix_src {
	struct ce_mix_src *next, *prev;
	struct ce_mix_room *room;
	enum ce_mix_src_mode mode;
	struct ce_mix_leg *leg; /* LEG: who hears it; EXCEPT: who does not */
	bool active;            /* pcm holds this tick's frame */
	int16_t pcm[CE_MIX_MAX_FRAME];
	uint8_t enc[CE_MIX_MAX_BYTES]; /* private frame of leg */
	uint16_t enc_len;
};

struct ce_mix_stats {
	uint64_t ticks;
	uint64_t encodes;      /* frames encoded: the test of encode-once */
	uint64_t talker_mixes; /* talker frames summed */
	uint64_t limited;      /* ticks the limiter scaled (docs/media.md, "Limiter") */
};

/*
 * A room's tick in memory of its own: the active legs' input and the
 * frames the mix encodes.  They are needed only from the legs' input until
 * the legs have been sent their frames, so the caller owns them and hands
 * one in at the start of each room's tick: a media thread cycles a few over
 * all its rooms, and they stay in cache (kept in every room and leg, they
 * were fetched from memory every tick).  Active legs beyond CE_MIX_OUT_IN
 * keep their input in their own leg.
 */
#define CE_MIX_OUT_IN (2 * CE_MIX_MAX_TALKERS)
#define CE_MIX_OWN_IN UINT8_MAX
struct ce_mix_out {
	int16_t in[CE_MIX_OUT_IN][CE_MIX_MAX_FRAME] __attribute__((aligned(64)));
	int32_t sum[CE_MIX_MAX_FRAME];                           /* the full mix, if n_heard > 0 */
	uint8_t mix_enc[CE_CODEC_COUNT][CE_MIX_MAX_BYTES];       /* the full mix, per codec */
	uint8_t minus_enc[CE_MIX_MAX_TALKERS][CE_MIX_MAX_BYTES]; /* each seat's mix-minus */
	uint16_t mix_len[CE_CODEC_COUNT], minus_len[CE_MIX_MAX_TALKERS]; /* their bytes */
};

/* A room's stream states, for the codecs that keep state or run at another rate (4 KB: apart
 * from the room, and only where such a leg is). */
struct ce_mix_room_wide {
	struct ce_mix_enc enc[CE_CODEC_COUNT];          /* the full mix's stream, per codec */
	struct ce_mix_enc seat_enc[CE_MIX_MAX_TALKERS]; /* each seat's mix-minus */
	uint64_t seat_tick[CE_MIX_MAX_TALKERS];         /* the tick each was last encoded for */
	struct ce_mix_enc fresh;                        /* a stream's start, after silence */
};

struct ce_mix_room {
	unsigned rate;
	unsigned frame; /* samples per 20 ms at rate */
	unsigned max_talkers;
	unsigned n_legs;
	unsigned n_active; /* heard legs that talk or are audible: candidates for a seat */
	uint64_t tick;
	struct ce_mix_leg *legs;
	struct ce_mix_leg *legs_ahead; /* legs->next, fetched with the first */
	struct ce_mix_leg *active;
	struct ce_mix_leg *set[CE_MIX_MAX_TALKERS];
	unsigned n_set;
	struct ce_mix_stats st;
	struct ce_mix_src *srcs;
	uint64_t priv_tick;                /* the last tick a leg got a private frame */
	unsigned n_heard;                  /* talkers and room-wide sources mixed this tick */
	int32_t limit_q15;                 /* the limiter's gain (CE_MIX_UNITY_Q15: none) */
	bool want_pcm;                     /* keep the full mix in pcm (a recorder listens) */
	unsigned n_codec[CE_CODEC_COUNT];  /* legs per codec */
	uint64_t enc_tick[CE_CODEC_COUNT]; /* the tick out->mix_enc[codec] was made for */
	struct ce_mix_out *out;            /* this tick's (ce_mix_room_begin) */
	unsigned n_in;                     /* inputs kept in out->in this tick */
	/* Read only in a recorded room: */
	int16_t pcm[CE_MIX_MAX_FRAME]; /* this tick's full mix, if want_pcm */
	/* Read only for codecs that need them: */
	unsigned convert; /* bit c: codec c's streams go through w's states here */
	struct ce_mix_room_wide
	        *w; /* a wideband room's from the start, else ce_mix_room_want_wide */
	struct ce_mix_room_opus *opus; /* ce_mix_room_want_opus */
};

int ce_mix_room_new(struct ce_mix_room **rp, unsigned rate, unsigned max_talkers);
void ce_mix_room_want_wide(struct ce_mix_room *room);
int ce_mix_room_want_opus(struct ce_mix_room *room);
void ce_mix_room_free(struct ce_mix_room *room);

void ce_mix_leg_init(struct ce_mix_leg *leg, enum ce_codec codec, unsigned flags,
        const struct ce_talker_conf *tconf);
bool ce_mix_leg_needs_wide(enum ce_codec codec, unsigned room_rate);
struct ce_mix_wide *ce_mix_wide_new(enum ce_codec codec);
struct ce_mix_wide *ce_mix_wide_new_at(enum ce_codec codec, unsigned room_rate);
void ce_mix_wide_free(struct ce_mix_wide *w);
int ce_mix_leg_attach(struct ce_mix_room *room, struct ce_mix_leg *leg);
bool ce_mix_leg_detach(struct ce_mix_leg *leg);
void ce_mix_leg_set_codec(struct ce_mix_leg *leg, enum ce_codec codec);
void ce_mix_leg_set_gain(struct ce_mix_leg *leg, int32_t q12);
enum ce_talker_ev ce_mix_leg_set_flags(struct ce_mix_leg *leg, unsigned flags);
enum ce_talker_ev ce_mix_leg_input(struct ce_mix_leg *leg, const int16_t *pcm);
enum ce_talker_ev ce_mix_leg_input_as(
        struct ce_mix_leg *leg, const int16_t *pcm, const int16_t *mixed);
bool ce_mix_leg_heard(const struct ce_mix_leg *leg);

/* Fetch the part of leg that its next ce_mix_leg_input reads. */
static inline void ce_mix_leg_prefetch(const struct ce_mix_leg *leg)
{
	for (size_t off = 0; off < CE_MIX_LEG_HOT; off += 64)
		__builtin_prefetch((const char *)leg + off);
}

void ce_mix_src_attach(struct ce_mix_room *room, struct ce_mix_src *src, enum ce_mix_src_mode mode,
        struct ce_mix_leg *leg);
void ce_mix_src_detach(struct ce_mix_src *src);

void ce_mix_room_begin(struct ce_mix_room *room, struct ce_mix_out *out);
void ce_mix_room_mix(struct ce_mix_room *room);
void ce_mix_room_prefetch(const struct ce_mix_room *room);

/* Fetch the room state a mix reads, without reading any of it: a walk
 * over many rooms calls this two rooms ahead, so that ce_mix_room_prefetch
 * one room ahead, which reads where the room's legs are, does not wait. */
static inline void ce_mix_room_prefetch_state(const struct ce_mix_room *room)
{
	for (size_t off = 0; off < offsetof(struct ce_mix_room, pcm); off += 64)
		__builtin_prefetch((const char *)room + off);
}
const uint8_t *ce_mix_leg_output(struct ce_mix_leg *leg, size_t *len);
const uint8_t *ce_mix_leg_output_gain(struct ce_mix_leg *leg, uint8_t *buf, size_t *len);
/*
 * The rate @codec runs at in a room at @room_rate: the codec's own
 * (ce_codec_rate), but L16 at the room's, and Opus at 48 kHz in a 48 kHz
 * room (fullband, no conversion; 16 kHz elsewhere).
 */
static inline unsigned ce_mix_codec_rate(unsigned room_rate, enum ce_codec codec)
{
	if (codec == CE_CODEC_OPUS && room_rate == 48000)
		return 48000;
	return ce_codec_rate(codec) ? ce_codec_rate(codec) : room_rate;
}

/* Samples of a 20 ms frame of @codec in @room: at ce_mix_codec_rate(). */
static inline unsigned ce_mix_codec_frame(const struct ce_mix_room *room, enum ce_codec codec)
{
	return ce_mix_codec_rate(room->rate, codec) / 50;
}

unsigned ce_mix_room_speakers(
        const struct ce_mix_room *room, struct ce_mix_leg **legs, unsigned *energy, unsigned max);

static inline int16_t ce_mix_sat(int32_t v)
{
	return (int16_t)(v > 32767 ? 32767 : v < -32767 ? -32767 : v);
}

#endif
