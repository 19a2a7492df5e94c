/* mixer.c - conference rooms: mix-minus of the active legs, encoded once per codec
 *
 * Each tick every leg hands in its frame, which feeds its talker detector.
 * Only a bounded set of active legs is summed.  A heard leg is active while
 * it talks or while it is clearly audible (CE_MIX_AUDIBLE_DB): a steady
 * tone or music that starts with the call, which the detector's adaptive
 * floor takes for noise, is still heard, as in Yate's, Asterisk's and
 * FreeSWITCH's mixers; talk events keep ignoring it.  Seats are kept by
 * those already in the set; free seats go to talkers first, then to the
 * loudest, and a talker left without one takes the seat of a leg that is
 * merely audible, so steady sound never keeps a voice out.
 * A seated leg hears the sum minus itself, encoded for it alone, unless it has
 * echo: then it shares the listeners' frame.  Everyone else
 * hears the same full sum, encoded once per codec that has listeners; deaf
 * legs and rooms with no active leg get a constant silent frame.  So the cost
 * grows with the number of talkers and codecs, not with the listeners.
 * Every sum is clipped symmetrically to [-32767, 32767].
 * Sources without RTP (prompt players) join the sum like talkers when the
 * whole room hears them; a source for one leg, or for all but one, gives
 * that one leg a private frame and leaves the shared encodings alone.
 */
#define G_LOG_DOMAIN "media"
#include <errno.h>
#include <string.h>
#include <glib.h>

#include "gain.h"
#include "mixer.h"
#include "opus.h"
#include "vec.h"

/* What a leg hears from a room with nothing to hear, per codec (the
 * codecs' silence bytes: test-mixer checks them against g711.c). */
static const uint8_t silence[CE_CODEC_COUNT][CE_MIX_MAX_BYTES] = {
        [CE_CODEC_PCMU] = {[0 ... CE_MIX_MAX_BYTES - 1] = 0xff},
        [CE_CODEC_PCMA] = {[0 ... CE_MIX_MAX_BYTES - 1] = 0xd5},
        [CE_CODEC_G722] = {[0 ... CE_MIX_MAX_BYTES - 1] = 0xfa},
};

static void enc_init(struct ce_mix_enc *st)
{
	ce_rs_init(&st->rs);
	ce_g722_enc_init(&st->g722);
}

/* Make @dst go on from @src: their converter and G.722 states, and the Opus encoder's state
 * when both have one (an encoder stays with its stream: never the pointer). */
static void enc_copy(struct ce_mix_enc *dst, const struct ce_mix_enc *src)
{
	struct ce_opus_enc *opus = dst->opus;

	if (dst == src)
		return;
	dst->rs = src->rs;
	dst->g722 = src->g722;
	dst->opus = opus;
	if (opus && src->opus)
		ce_opus_enc_copy(opus, src->opus);
}

/* A stream's Opus encoder in a room at @room_rate, as the mixer runs them (mixer.h). */
static struct ce_opus_enc *opus_enc_new(unsigned room_rate)
{
	unsigned rate = ce_mix_codec_rate(room_rate, CE_CODEC_OPUS);
	const struct ce_opus_enc_conf conf = {.rate = rate,
	        .bitrate = rate == 48000 ? CE_MIX_OPUS_BITRATE_FB : CE_MIX_OPUS_BITRATE,
	        .fullband = true,
	        .fec = true,
	        .loss_pct = CE_MIX_OPUS_LOSS_PCT,
	        .complexity = CE_MIX_OPUS_COMPLEXITY};
	struct ce_opus_enc *e = NULL;

	ce_opus_enc_new(&e, &conf); /* fails only on settings out of range: not these */
	return e;
}

/* Whether codec's streams in room need a struct ce_mix_enc: the rule of
 * ce_mix_leg_needs_wide(), for the room's listeners of that codec. */
static bool needs_enc(const struct ce_mix_room *room, enum ce_codec codec)
{
	return ce_mix_leg_needs_wide(codec, room->rate);
}

static void room_opus_free(struct ce_mix_room_opus *o)
{
	if (!o)
		return;
	ce_opus_enc_free(o->enc);
	ce_opus_enc_free(o->fresh);
	for (unsigned s = 0; s < CE_MIX_MAX_TALKERS; s++)
		ce_opus_enc_free(o->seat[s]);
	g_free(o);
}

/**
 * Create a room mixing at rate Hz (8000, 16000 or 48000) with at most
 * max_talkers (0: default, capped to CE_MIX_MAX_TALKERS) summed per tick.
 * Its legs may speak any codec: those at the other rate are converted at
 * the edge (the media thread converts what they say, the mixer what they
 * hear).
 */
int ce_mix_room_new(struct ce_mix_room **rp, unsigned rate, unsigned max_talkers)
{
	struct ce_mix_room *room;
	int err = 0;

	if (rate != 8000 && rate != 16000 && rate != 48000)
		return -EINVAL;
	room = g_new0(struct ce_mix_room, 1);
	room->rate = rate;
	room->frame = rate / 50;
	room->max_talkers = max_talkers ? MIN(max_talkers, CE_MIX_MAX_TALKERS) : CE_MIX_DEF_TALKERS;
	room->limit_q15 = CE_MIX_UNITY_Q15;
	if (rate != 8000)
		ce_mix_room_want_wide(room);
	*rp = room;
	return err;
}

/**
 * Give @room the stream states that legs needing them (ce_mix_leg_needs_wide)
 * use, if it has none: before such a leg joins a narrowband room (a wideband
 * one has them from its start).  Allocates: off the media thread, before
 * the command that adds the leg.  Without them such a leg hears silence.
 */
void ce_mix_room_want_wide(struct ce_mix_room *room)
{
	if (room->w)
		return;
	room->w = g_new0(struct ce_mix_room_wide, 1);
	enc_init(&room->w->fresh);
}

/**
 * Give @room the Opus encoders of its streams (mixer.h, struct
 * ce_mix_room_opus), and the stream states of ce_mix_room_want_wide(), if
 * it has none: before the first Opus leg joins it.  Allocates (some
 * 200 KB): off the media thread, which binds them to the streams when that
 * leg joins.  Without them an Opus leg hears silence.  Returns 0 or
 * -ENOMEM.
 */
int ce_mix_room_want_opus(struct ce_mix_room *room)
{
	struct ce_mix_room_opus *o;
	int16_t zero[CE_MIX_MAX_FRAME] = {0};
	uint8_t pkt[CE_MIX_MAX_BYTES];
	int n;

	ce_mix_room_want_wide(room);
	if (room->opus)
		return 0;
	o = g_new0(struct ce_mix_room_opus, 1);
	o->enc = opus_enc_new(room->rate);
	o->fresh = opus_enc_new(room->rate);
	for (unsigned s = 0; s < room->max_talkers; s++)
		o->seat[s] = opus_enc_new(room->rate);
	/* silence as a fresh encoder says it, on a copy: fresh stays fresh */
	ce_opus_enc_copy(o->enc, o->fresh);
	n = o->enc ? ce_opus_encode(o->enc, zero, ce_mix_codec_frame(room, CE_CODEC_OPUS), pkt,
	                     sizeof(pkt))
	           : -ENOMEM;
	if (n <= 0 || n > CE_MIX_OPUS_SILENCE || !o->fresh) {
		room_opus_free(o);
		return n < 0 ? n : -ENOMEM;
	}
	memcpy(o->silence, pkt, (size_t)n);
	o->silence_len = (uint16_t)n;
	ce_opus_enc_copy(o->enc, o->fresh);
	room->opus = o;
	return 0;
}

/** Free a room; its legs must have been detached. */
void ce_mix_room_free(struct ce_mix_room *room)
{
	room_opus_free(room->opus);
	g_free(room->w);
	g_free(room);
}

/** Prepare leg (storage owned by the caller); tconf NULL: default detector. */
void ce_mix_leg_init(struct ce_mix_leg *leg, enum ce_codec codec, unsigned flags,
        const struct ce_talker_conf *tconf)
{
	memset(leg, 0, offsetof(struct ce_mix_leg, in));
	leg->codec = (uint8_t)codec;
	leg->flags = (uint8_t)flags;
	leg->slot = -1;
	leg->in_at = CE_MIX_OWN_IN;
	ce_talker_init(&leg->talker, tconf);
}

/**
 * Whether a leg speaking @codec in a room at @room_rate needs a struct
 * ce_mix_wide (leg->wide): a codec with state, or at another rate.  Its
 * owner gives it one before it joins such a room; without, it is heard as
 * silence there and its own frames (prompts to it, a listen gain) start
 * from a fresh stream each time.
 */
bool ce_mix_leg_needs_wide(enum ce_codec codec, unsigned room_rate)
{
	return ce_codec_stateful(codec) || ce_mix_codec_rate(room_rate, codec) != room_rate;
}

/** A leg's wideband state for @codec in a room at 8 or 16 kHz (ce_mix_wide_new_at). */
struct ce_mix_wide *ce_mix_wide_new(enum ce_codec codec)
{
	return ce_mix_wide_new_at(codec, 16000);
}

/**
 * A leg's wideband state for @codec in a room at @room_rate, at its start
 * (allocates: off the media thread).  An Opus leg's own encoder runs at
 * the codec's rate there (ce_mix_codec_rate): the state serves rooms
 * whose Opus runs at that rate only.
 */
struct ce_mix_wide *ce_mix_wide_new_at(enum ce_codec codec, unsigned room_rate)
{
	struct ce_mix_wide *w = g_new0(struct ce_mix_wide, 1);

	enc_init(&w->own);
	if (codec == CE_CODEC_OPUS)
		w->own.opus = opus_enc_new(room_rate);
	return w;
}

void ce_mix_wide_free(struct ce_mix_wide *w)
{
	if (w)
		ce_opus_enc_free(w->own.opus);
	g_free(w);
}

/* Start leg's wideband state afresh (a new room, a new codec). */
static void wide_reset(struct ce_mix_leg *leg)
{
	if (!leg->wide)
		return;
	ce_rs_init(&leg->wide->rs_in);
	leg->wide->own_tick = 0;
}

/** Whether what leg says reaches the others. */
bool ce_mix_leg_heard(const struct ce_mix_leg *leg)
{
	return !(leg->flags & (CE_MIX_MUTED | CE_MIX_LISTEN_ONLY));
}

/* The room's Opus encoders onto its streams, where they stay (on the media thread: the main
 * thread made them, and reads none of the streams). */
static void opus_bind(struct ce_mix_room *room)
{
	struct ce_mix_room_wide *w = room->w;

	w->enc[CE_CODEC_OPUS].opus = room->opus->enc;
	w->fresh.opus = room->opus->fresh;
	for (unsigned s = 0; s < room->max_talkers; s++)
		w->seat_enc[s].opus = room->opus->seat[s];
}

/* Count leg's codec in its room; the first leg of a codec that needs a
 * stream state of its own makes the room keep them. */
static void codec_add(struct ce_mix_room *room, enum ce_codec codec)
{
	if (room->n_codec[codec]++ == 0 && needs_enc(room, codec) && room->w &&
	        !(room->convert >> codec & 1) && (codec != CE_CODEC_OPUS || room->opus)) {
		if (codec == CE_CODEC_OPUS)
			opus_bind(room);
		room->convert |= 1u << codec;
		enc_copy(&room->w->enc[codec], &room->w->fresh);
		room->enc_tick[codec] = 0;
	}
}

/**
 * Join leg to room, whatever its codec and the room's rate.  Returns 0, or
 * -EBUSY if the leg is in a room already.
 */
int ce_mix_leg_attach(struct ce_mix_room *room, struct ce_mix_leg *leg)
{
	if (leg->room)
		return -EBUSY;
	leg->room = room;
	leg->prev = NULL;
	leg->next = room->legs;
	leg->ahead = room->legs ? room->legs->next : NULL;
	room->legs_ahead = room->legs;
	if (room->legs)
		room->legs->prev = leg;
	room->legs = leg;
	room->n_legs++;
	codec_add(room, (enum ce_codec)leg->codec);
	leg->heard = CE_MIX_HEARD_SILENCE;
	wide_reset(leg);
	return 0;
}

static void active_add(struct ce_mix_room *room, struct ce_mix_leg *leg)
{
	if (leg->active)
		return;
	leg->active = true;
	leg->act_prev = NULL;
	leg->act_next = room->active;
	if (room->active)
		room->active->act_prev = leg;
	room->active = leg;
	room->n_active++;
}

static void active_remove(struct ce_mix_room *room, struct ce_mix_leg *leg)
{
	if (!leg->active)
		return;
	if (leg->act_prev)
		leg->act_prev->act_next = leg->act_next;
	else
		room->active = leg->act_next;
	if (leg->act_next)
		leg->act_next->act_prev = leg->act_prev;
	leg->active = false;
	room->n_active--;
}

static void set_remove(struct ce_mix_room *room, struct ce_mix_leg *leg)
{
	if (leg->slot < 0)
		return;
	room->set[leg->slot] = NULL;
	leg->slot = -1;
}

/** Leave the room.  Returns whether the leg was talking (owes a talker stop). */
bool ce_mix_leg_detach(struct ce_mix_leg *leg)
{
	struct ce_mix_room *room = leg->room;
	bool was = leg->talker.active && !(leg->flags & CE_MIX_DUMB);

	if (!room)
		return false;
	active_remove(room, leg);
	set_remove(room, leg);
	/* The two legs before this one fetched it and the one after it. */
	if (leg->prev) {
		leg->prev->ahead = leg->next ? leg->next->next : NULL;
		if (leg->prev->prev)
			leg->prev->prev->ahead = leg->next;
		else
			room->legs_ahead = leg->next;
	} else {
		room->legs_ahead = leg->next ? leg->next->next : NULL;
	}
	if (leg->prev)
		leg->prev->next = leg->next;
	else
		room->legs = leg->next;
	if (leg->next)
		leg->next->prev = leg->prev;
	room->n_legs--;
	room->n_codec[leg->codec]--;
	for (struct ce_mix_src *src = room->srcs; src; src = src->next)
		if (src->leg == leg)
			src->leg = NULL; /* LEG: heard by nobody; EXCEPT: by all */
	leg->room = NULL;
	return was;
}

/**
 * Change a leg's CE_MIX_* flags.  Returns CE_TALKER_STOP when the leg's
 * detected talk ends now (it is no longer heard, or loses its detector
 * with smart=false), else CE_TALKER_NONE.  An active leg that is no longer
 * heard, or changes between detected and always-active, leaves the talker
 * set, forgets that it was audible, and comes back through its next input.
 */
/** The leg speaks @codec from the next tick (its room's count per codec follows). */
void ce_mix_leg_set_codec(struct ce_mix_leg *leg, enum ce_codec codec)
{
	if (leg->room) {
		leg->room->n_codec[leg->codec]--;
		codec_add(leg->room, codec);
	}
	leg->codec = (uint8_t)codec;
	leg->heard = CE_MIX_HEARD_SILENCE; /* its decoder starts afresh */
	wide_reset(leg);
}

/** The leg hears the room @q12 / 4096 as loud (0: as it is): see ce_mix_leg_output_gain(). */
void ce_mix_leg_set_gain(struct ce_mix_leg *leg, int32_t q12)
{
	leg->gain = q12 == CE_GAIN_UNITY ? 0 : q12;
}

enum ce_talker_ev ce_mix_leg_set_flags(struct ce_mix_leg *leg, unsigned flags)
{
	bool was = leg->active;
	bool talked = leg->talker.active && !(leg->flags & CE_MIX_DUMB);
	bool was_dumb = leg->flags & CE_MIX_DUMB;
	bool same;

	leg->flags = (uint8_t)flags;
	same = ce_mix_leg_heard(leg) && was_dumb == !!(flags & CE_MIX_DUMB);
	if (!same) {
		/* Heard again later, it is judged afresh. */
		leg->audible = false;
		leg->audible_run = 0;
	}
	if (!was || same)
		return CE_TALKER_NONE;
	leg->talker.active = false;
	if (leg->room) {
		active_remove(leg->room, leg);
		set_remove(leg->room, leg);
	} else {
		leg->active = false;
	}
	return talked ? CE_TALKER_STOP : CE_TALKER_NONE;
}

/*
 * Follow whether leg is clearly audible, from the level of the frame its
 * detector has just measured (got: a frame came).  The level alone, with
 * no floor under it: a sound the detector has learnt as its noise is
 * still heard.  A few frames in a row are needed to change state either
 * way, and it ends under a lower level: a loud click does not take a seat,
 * and music or speech near the threshold does not come and go.
 */
static void follow_audible(struct ce_mix_leg *leg, bool got)
{
	float db = ce_talker_level(&leg->talker);
	bool other;

	if (leg->audible)
		other = !got || db < CE_MIX_QUIET_DB;
	else
		other = got && db >= CE_MIX_AUDIBLE_DB;
	if (!other) {
		leg->audible_run = 0;
		return;
	}
	leg->audible_run++;
	if (leg->audible_run < (leg->audible ? CE_MIX_QUIET_OFF : CE_MIX_AUDIBLE_ON))
		return;
	leg->audible = !leg->audible;
	leg->audible_run = 0;
}

/*
 * The talker detector's filters and thresholds are those of speech at 8
 * and 16 kHz: a 48 kHz frame (an Opus leg of a fullband room) is judged
 * as 16 kHz, each three samples averaged.  That box filter is a cheap
 * anti-alias (nulls at 16 and 32 kHz, -1.1 dB at 5 kHz): what folds back
 * from 8..24 kHz is little of a voice's energy, and the detector judges
 * levels, not waveforms.  So thresholds read the same in every room.
 */
static enum ce_talker_ev talker_frame(
        struct ce_mix_leg *leg, const int16_t *pcm, unsigned n, unsigned rate)
{
	int16_t third[CE_MIX_MAX_FRAME / 3];

	if (rate != 48000)
		return pcm ? ce_talker_frame(&leg->talker, pcm, n, rate)
		           : ce_talker_silence(&leg->talker, n, rate);
	if (!pcm)
		return ce_talker_silence(&leg->talker, n / 3, 16000);
	for (unsigned i = 0; i < n / 3; i++)
		third[i] = (int16_t)((pcm[3 * i] + pcm[3 * i + 1] + pcm[3 * i + 2]) / 3);
	return ce_talker_frame(&leg->talker, third, n / 3, 16000);
}

/**
 * Hand in this tick's frame (20 ms at the leg's codec's rate,
 * ce_mix_codec_frame(); NULL when nothing was received).  Runs the talker
 * detector on it; returns its event.  A frame at another rate than the
 * room's is converted only when the leg is active (the converter keeps its
 * history otherwise): a silent G.711 listener of a wideband room costs
 * what it costs in a narrowband one.
 * The leg is active (a candidate for a seat) while it talks or is clearly
 * audible; legs that are not heard are never active and never start talking.
 */
enum ce_talker_ev ce_mix_leg_input(struct ce_mix_leg *leg, const int16_t *pcm)
{
	return ce_mix_leg_input_as(leg, pcm, pcm);
}

/**
 * ce_mix_leg_input() of a leg whose room hears @mixed (the same frame
 * cleaned up: noise suppression, AGC) while its talker detector judges
 * @pcm as it came; both NULL for a tick with nothing from the leg.
 */
enum ce_talker_ev ce_mix_leg_input_as(
        struct ce_mix_leg *leg, const int16_t *pcm, const int16_t *mixed)
{
	struct ce_mix_room *room = leg->room;
	enum ce_talker_ev ev;
	unsigned rate, n;

	if (!room)
		return CE_TALKER_NONE;
	n = ce_mix_codec_frame(room, (enum ce_codec)leg->codec);
	rate = n * 50;
	/* Legs are visited in list order; their state is the one
	 * per-listener memory touched each tick: fetch it two legs ahead
	 * (the next one, fetched by the leg before, is then in or on its way;
	 * the room's prefetch asked for the first two). */
	if (leg->ahead)
		ce_mix_leg_prefetch(leg->ahead);
	if (!ce_mix_leg_heard(leg))
		return CE_TALKER_NONE;
	if (leg->flags & CE_MIX_DUMB) {
		/* smart=false: no detector, always a candidate for a seat. */
		ev = CE_TALKER_NONE;
		active_add(room, leg);
	} else {
		ev = talker_frame(leg, pcm, n, rate);
		follow_audible(leg, pcm != NULL);
		if (leg->talker.active || leg->audible) {
			active_add(room, leg);
		} else if (leg->active) {
			active_remove(room, leg);
			set_remove(room, leg);
		}
	}
	/* Only active legs can be mixed: silent ones need no copy. */
	if (leg->active) {
		int16_t *in = leg->in;

		leg->in_at = CE_MIX_OWN_IN;
		if (room->out && room->n_in < CE_MIX_OUT_IN) {
			leg->in_at = (uint8_t)room->n_in++;
			in = room->out->in[leg->in_at];
		}
		if (!mixed || (rate != room->rate && !leg->wide))
			memset(in, 0, room->frame * sizeof(int16_t));
		else if (rate == room->rate)
			memcpy(in, mixed, room->frame * sizeof(int16_t));
		else
			ce_rs_convert(&leg->wide->rs_in, rate, room->rate, mixed, n, in);
	} else if (rate != room->rate && leg->wide) {
		static const int16_t zero[CE_MIX_MAX_FRAME];

		ce_rs_keep(&leg->wide->rs_in, rate, room->rate, mixed ? mixed : zero, n);
	}
	return ev;
}

/* An active leg's input of this tick (the limiter scales it in place). */
static int16_t *leg_in(struct ce_mix_leg *leg)
{
	return leg->in_at == CE_MIX_OWN_IN ? leg->in : leg->room->out->in[leg->in_at];
}

/* An active leg's claim to a seat: 2 without a detector (smart=false),
 * 1 talking, 0 merely audible. */
static int claim(const struct ce_mix_leg *l)
{
	return (l->flags & CE_MIX_DUMB) ? 2 : l->talker.active;
}

/* Whether a has a better claim to a seat than b: legs without a detector
 * (smart=false) first, then talkers, then the loudest. */
static bool louder(const struct ce_mix_leg *a, const struct ce_mix_leg *b)
{
	int ca = claim(a), cb = claim(b);

	if (ca != cb)
		return ca > cb;
	return ca < 2 && ce_talker_level(&a->talker) > ce_talker_level(&b->talker);
}

/*
 * The stream leg's decoder has followed (what it was sent at its last
 * output), as a state to go on from; after silence, a fresh one.
 */
static const struct ce_mix_enc *stream_of(
        const struct ce_mix_room *room, const struct ce_mix_leg *l)
{
	uint64_t last = room->tick - 1;

	switch (l->heard) {
	case CE_MIX_HEARD_SHARED:
		if (room->enc_tick[l->codec] >= last)
			return &room->w->enc[l->codec];
		break;
	case CE_MIX_HEARD_SEAT:
		if (l->slot >= 0 && room->w->seat_tick[l->slot] >= last)
			return &room->w->seat_enc[l->slot];
		break;
	case CE_MIX_HEARD_OWN:
		if (l->wide && l->wide->own_tick >= last)
			return &l->wide->own;
		break;
	default:
		break;
	}
	return &room->w->fresh;
}

/* Give l seat s; its mix-minus goes on from the stream it heard. */
static void seat_at(struct ce_mix_room *room, struct ce_mix_leg *l, unsigned s)
{
	l->slot = (int8_t)s;
	room->set[s] = l;
	if (room->convert >> l->codec & 1) {
		enc_copy(&room->w->seat_enc[s], stream_of(room, l));
		room->w->seat_tick[s] = room->tick - 1;
	}
}

/* Seat l in the seat of the quietest leg that is merely audible, if any
 * holds one; returns whether it did. */
static bool take_seat(struct ce_mix_room *room, struct ce_mix_leg *l)
{
	struct ce_mix_leg *quiet = NULL;

	for (unsigned s = 0; s < room->max_talkers; s++) {
		struct ce_mix_leg *o = room->set[s];

		if (o && claim(o) == 0 && (!quiet || louder(quiet, o)))
			quiet = o;
	}
	if (!quiet)
		return false;
	seat_at(room, l, (unsigned)quiet->slot);
	quiet->slot = -1;
	return true;
}

/* Give free seats to the active legs without one, best claim first; when
 * none is left, talkers take the seats of legs that are merely audible
 * (hold music on a few legs must not keep every voice out). */
static void fill_seats(struct ce_mix_room *room)
{
	for (unsigned s = 0; s < room->max_talkers; s++) {
		struct ce_mix_leg *best = NULL;

		if (room->set[s])
			continue;
		for (struct ce_mix_leg *l = room->active; l; l = l->act_next)
			if (l->slot < 0 && (!best || louder(l, best)))
				best = l;
		if (!best)
			return;
		seat_at(room, best, s);
	}
	if (room->n_active <= room->max_talkers)
		return;
	for (struct ce_mix_leg *l = room->active; l; l = l->act_next)
		if (l->slot < 0 && claim(l) > 0 && !take_seat(room, l))
			return;
}

/*
 * sum[i] (+)= in[i], eight at a time: whole-vector stores, so the encoder's
 * whole-vector loads right after are forwarded from them instead of
 * stalling.  Each sample is doubled into a 32-bit lane and shifted down
 * arithmetically (sign extension with SSE2-level operations).
 */
WIDE_CLONES static void accumulate(int32_t *sum, const int16_t *in, unsigned n, bool first)
{
	unsigned i;

	for (i = 0; i + 8 <= n; i += 8) {
		v8hi h;
		v8si w, acc;

		memcpy(&h, in + i, sizeof(h));
		w = (v8si)__builtin_shufflevector(
		            h, h, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7) >>
		    16;
		if (!first) {
			memcpy(&acc, sum + i, sizeof(acc));
			w += acc;
		}
		memcpy(sum + i, &w, sizeof(w));
	}
	for (; i < n; i++)
		sum[i] = (first ? 0 : sum[i]) + in[i];
}

/* Scale n samples of x by q15 (<= unity). */
static void scale16(int16_t *x, unsigned n, int32_t q15)
{
	for (unsigned i = 0; i < n; i++)
		x[i] = (int16_t)((x[i] * q15 + (1 << 14)) >> 15);
}

/* The largest |sum[i]| of n, eight at a time. */
WIDE_CLONES static int32_t peak_of(const int32_t *sum, unsigned n)
{
	v8si hi = {0}, lo = {0};
	int32_t peak = 0;
	unsigned i;

	for (i = 0; i + 8 <= n; i += 8) {
		v8si v;

		LOAD8(v, sum + i);
		hi = VSEL(v > hi, v, hi);
		lo = VSEL(v < lo, v, lo);
	}
	for (unsigned k = 0; k < 8; k++)
		peak = MAX(peak, MAX(hi[k], -lo[k]));
	for (; i < n; i++)
		peak = MAX(peak, sum[i] < 0 ? -sum[i] : sum[i]);
	return peak;
}

/*
 * The limiter (mixer.h): the gain this tick is the least of the last
 * tick's raised by the release step and what keeps the sum's peak under
 * CE_MIX_LIMIT.  Under unity it scales the sum and what was summed into
 * it (the seats' inputs, the room-wide sources), so that every mix-minus
 * (sum - own) is the same scaled mix without its own voice.
 */
static void limit(struct ce_mix_room *room, int32_t *sum)
{
	int32_t peak = peak_of(sum, room->frame), g;

	g = (int32_t)MIN((int64_t)room->limit_q15 * CE_MIX_RELEASE_Q15 >> 15, CE_MIX_UNITY_Q15);
	if (room->n_heard >= 2 && peak > CE_MIX_LIMIT)
		g = (int32_t)MIN((int64_t)g, (int64_t)CE_MIX_LIMIT * CE_MIX_UNITY_Q15 / peak);
	room->limit_q15 = g;
	if (g >= CE_MIX_UNITY_Q15)
		return;
	room->st.limited++;
	for (unsigned i = 0; i < room->frame; i++)
		sum[i] = (int32_t)(((int64_t)sum[i] * g + (1 << 14)) >> 15);
	for (unsigned s = 0; s < room->max_talkers; s++)
		if (room->set[s])
			scale16(leg_in(room->set[s]), room->frame, g);
	for (struct ce_mix_src *src = room->srcs; src; src = src->next)
		if (src->active && src->mode != CE_MIX_SRC_LEG)
			scale16(src->pcm, room->frame, g);
}

/* Sum the talker set into sum (on the caller's stack: hot, and no room
 * memory to fetch); returns how many were summed. */
static unsigned sum_talkers(struct ce_mix_room *room, int32_t *sum)
{
	unsigned count = 0;

	for (unsigned s = 0; s < room->max_talkers; s++) {
		if (!room->set[s])
			continue;
		room->st.talker_mixes++;
		accumulate(sum, leg_in(room->set[s]), room->frame, count++ == 0);
	}
	return count;
}

/**
 * Add a source (storage owned by the caller) to room; leg is the one leg
 * of CE_MIX_SRC_LEG and CE_MIX_SRC_EXCEPT.  It plays while src->active.
 */
void ce_mix_src_attach(struct ce_mix_room *room, struct ce_mix_src *src, enum ce_mix_src_mode mode,
        struct ce_mix_leg *leg)
{
	src->room = room;
	src->mode = mode;
	src->leg = mode == CE_MIX_SRC_ROOM ? NULL : leg;
	src->active = false;
	src->prev = NULL;
	src->next = room->srcs;
	if (room->srcs)
		room->srcs->prev = src;
	room->srcs = src;
}

/** Remove a source from its room (no-op if it has none). */
void ce_mix_src_detach(struct ce_mix_src *src)
{
	struct ce_mix_room *room = src->room;

	if (!room)
		return;
	if (src->prev)
		src->prev->next = src->next;
	else
		room->srcs = src->next;
	if (src->next)
		src->next->prev = src->prev;
	src->room = NULL;
	src->active = false;
}

/* Add the sources the whole room hears (all but LEG); returns how many. */
static unsigned sum_sources(struct ce_mix_room *room, int32_t *sum, unsigned count)
{
	unsigned n = 0;

	for (struct ce_mix_src *src = room->srcs; src; src = src->next) {
		if (!src->active || src->mode == CE_MIX_SRC_LEG)
			continue;
		accumulate(sum, src->pcm, room->frame, count + n == 0);
		n++;
	}
	return n;
}

/* A silent frame of codec c in room: *len bytes. */
static const uint8_t *silence_of(const struct ce_mix_room *room, enum ce_codec c, size_t *len)
{
	if (c == CE_CODEC_OPUS) {
		*len = room->opus ? room->opus->silence_len : 0;
		return room->opus ? room->opus->silence : silence[c];
	}
	*len = ce_codec_bytes(c, ce_mix_codec_frame(room, c));
	return silence[c];
}

/* A silent frame of codec c into out; its bytes. */
static size_t put_silence(const struct ce_mix_room *room, enum ce_codec c, uint8_t *out)
{
	size_t len;
	const uint8_t *p = silence_of(room, c, &len);

	memcpy(out, p, len);
	return len;
}

/*
 * Encode sum[i] - minus[i] (minus NULL: sum alone) for a stream of codec
 * into out: at the room's rate with no state, in one pass; else through
 * the stream's state st: clipped, converted to the codec's rate, encoded.
 * Returns the bytes written.
 */
static size_t encode_stream(struct ce_mix_room *room, struct ce_mix_enc *st, enum ce_codec c,
        const int32_t *sum, const int16_t *minus, uint8_t *out)
{
	int16_t pcm[CE_MIX_MAX_FRAME], conv[CE_MIX_MAX_FRAME];
	const int16_t *p = pcm;
	unsigned n = room->frame, rate = ce_mix_codec_rate(room->rate, c);
	int len;

	if (!(room->convert >> c & 1) || (c == CE_CODEC_OPUS && !st->opus)) {
		if (needs_enc(room, c)) /* no state for it here (ce_mix_room_want_wide, _opus) */
			return put_silence(room, c, out);
		ce_codec_encode_mix(c, sum, minus, out, n);
		return ce_codec_bytes(c, n);
	}
	for (unsigned i = 0; i < n; i++)
		pcm[i] = ce_mix_sat(sum[i] - (minus ? minus[i] : 0));
	if (rate != room->rate) {
		n = (unsigned)ce_rs_convert(&st->rs, room->rate, rate, pcm, n, conv);
		p = conv;
	}
	if (c == CE_CODEC_OPUS) {
		len = ce_opus_encode(st->opus, p, n, out, CE_MIX_MAX_BYTES);
		return len > 0 ? (size_t)len : put_silence(room, c, out);
	}
	if (c == CE_CODEC_G722)
		ce_g722_encode(&st->g722, p, n, out);
	else
		ce_codec_encode(c, p, out, n);
	return ce_codec_bytes(c, n);
}

/* A frame for leg alone (private frames, listen gain) from p, on its own
 * stream, which goes on from what it heard when it was not its own.
 * Returns its bytes. */
static size_t encode_own(
        struct ce_mix_room *room, struct ce_mix_leg *leg, const int32_t *p, uint8_t *out)
{
	struct ce_mix_wide *w = leg->wide;
	struct ce_mix_enc scratch = {.opus = NULL};

	if (!(room->convert >> leg->codec & 1))
		return encode_stream(room, NULL, (enum ce_codec)leg->codec, p, NULL, out);
	if (!w) {
		/* no state of its own: a seam each frame (and silence for Opus) */
		enc_copy(&scratch, stream_of(room, leg));
		return encode_stream(room, &scratch, (enum ce_codec)leg->codec, p, NULL, out);
	}
	if (w->own_tick + 1 != room->tick && w->own_tick != room->tick)
		enc_copy(&w->own, stream_of(room, leg));
	w->own_tick = room->tick;
	return encode_stream(room, &w->own, (enum ce_codec)leg->codec, p, NULL, out);
}

/* Whether leg has a private frame this tick (a prompt to it alone). */
static inline bool has_priv(const struct ce_mix_room *room, const struct ce_mix_leg *leg)
{
	return room->priv_tick == room->tick && leg->priv && leg->priv_tick == room->tick;
}

/* Whether leg hears a mix-minus of its own (a talker without echo). */
static inline bool minus_of(const struct ce_mix_leg *leg)
{
	return leg->slot >= 0 && !(leg->flags & CE_MIX_ECHO);
}

/* What leg hears this tick with every source aimed at it, in p. */
static void private_pcm(
        struct ce_mix_room *room, struct ce_mix_leg *leg, const int32_t *sum, int32_t *p)
{
	unsigned n = room->frame;
	bool base = room->n_heard > 0 && !(leg->flags & CE_MIX_DEAF);
	const int16_t *in = minus_of(leg) ? leg_in(leg) : NULL;

	for (unsigned i = 0; i < n; i++)
		p[i] = base ? sum[i] - (in ? in[i] : 0) : 0;
	for (struct ce_mix_src *s = room->srcs; s; s = s->next) {
		if (!s->active || s->leg != leg)
			continue;
		for (unsigned i = 0; i < n; i++)
			p[i] += s->mode == CE_MIX_SRC_LEG ? s->pcm[i] : -s->pcm[i];
	}
	if (leg->gain)
		for (unsigned i = 0; i < n; i++)
			p[i] = (ce_mix_sat(p[i]) * leg->gain + CE_GAIN_UNITY / 2) >> 12;
}

/* A private frame for each leg a source is aimed at (once per leg). */
static void private_frames(struct ce_mix_room *room, const int32_t *sum)
{
	int32_t p[CE_MIX_MAX_FRAME];

	for (struct ce_mix_src *src = room->srcs; src; src = src->next) {
		struct ce_mix_leg *leg = src->leg;

		if (!src->active || !leg || leg->priv_tick == room->tick)
			continue;
		if (src->mode == CE_MIX_SRC_EXCEPT && (leg->flags & CE_MIX_DEAF))
			continue; /* hears nothing anyway */
		private_pcm(room, leg, sum, p);
		src->enc_len = (uint16_t)encode_own(room, leg, p, src->enc);
		room->st.encodes++;
		leg->priv = src->enc;
		leg->priv_len = src->enc_len;
		leg->priv_tick = room->tick;
		room->priv_tick = room->tick;
	}
}

/* The full mix as 16-bit samples, for a recorder. */
static void keep_pcm(struct ce_mix_room *room, const int32_t *sum)
{
	if (room->n_heard == 0) {
		memset(room->pcm, 0, room->frame * sizeof(int16_t));
		return;
	}
	for (unsigned i = 0; i < room->frame; i++)
		room->pcm[i] = ce_mix_sat(sum[i]);
}

/* Encode the full mix once for every codec that has a listener. */
static void encode_listeners(struct ce_mix_room *room, const int32_t *sum)
{
	unsigned talkers[CE_CODEC_COUNT] = {0};

	for (unsigned s = 0; s < room->max_talkers; s++)
		if (room->set[s] && minus_of(room->set[s]))
			talkers[room->set[s]->codec]++;
	for (int c = 0; c < CE_CODEC_COUNT; c++) {
		if (room->n_codec[c] <= talkers[c])
			continue;
		if ((room->convert >> c & 1) && room->enc_tick[c] + 1 != room->tick)
			enc_copy(&room->w->enc[c],
			        &room->w->fresh); /* its listeners heard silence */
		/* room->w only where a codec goes through it: the main thread may be giving
		 * a narrowband room its states now (ce_mix_room_want_wide) */
		room->out->mix_len[c] = (uint16_t)encode_stream(room,
		        (room->convert >> c & 1) ? &room->w->enc[c] : NULL, (enum ce_codec)c, sum,
		        NULL, room->out->mix_enc[c]);
		room->enc_tick[c] = room->tick;
		room->st.encodes++;
	}
}

/**
 * Start the room's tick in out (the caller's, handed to no other room
 * until this room's legs have been sent what ce_mix_leg_output gives them):
 * then every leg's ce_mix_leg_input, then ce_mix_room_mix.
 */
void ce_mix_room_begin(struct ce_mix_room *room, struct ce_mix_out *out)
{
	room->out = out;
	room->n_in = 0;
}

/**
 * Mix this tick (after ce_mix_room_begin and the legs' input): choose the
 * talker set, sum it, encode each talker's mix-minus and the full mix once
 * per codec of the listeners.
 */
void ce_mix_room_mix(struct ce_mix_room *room)
{
	struct ce_mix_out *out = room->out;
	int32_t *sum;

	g_return_if_fail(out != NULL);
	sum = out->sum;
	/* Input after this, without a new begin, stays in the legs. */
	room->n_in = CE_MIX_OUT_IN;
	room->tick++;
	room->st.ticks++;
	fill_seats(room);
	room->n_set = sum_talkers(room, sum);
	room->n_heard = room->n_set;
	if (room->srcs)
		room->n_heard += sum_sources(room, sum, room->n_set);
	if (room->n_heard >= 2 || room->limit_q15 < CE_MIX_UNITY_Q15)
		limit(room, sum);
	if (room->srcs)
		private_frames(room, sum);
	if (room->want_pcm)
		keep_pcm(room, sum);
	if (room->n_heard == 0)
		return;
	encode_listeners(room, sum);
	if (room->n_heard < 2)
		return;
	for (unsigned s = 0; s < room->max_talkers; s++) {
		struct ce_mix_leg *leg = room->set[s];
		struct ce_mix_enc *st = NULL;

		if (!leg || !minus_of(leg))
			continue;
		if (room->convert >> leg->codec & 1) {
			if (room->w->seat_tick[s] + 1 != room->tick)
				enc_copy(&room->w->seat_enc[s],
				        &room->w->fresh); /* it heard silence */
			room->w->seat_tick[s] = room->tick;
			st = &room->w->seat_enc[s];
		}
		out->minus_len[s] = (uint16_t)encode_stream(
		        room, st, (enum ce_codec)leg->codec, sum, leg_in(leg), out->minus_enc[s]);
		room->st.encodes++;
	}
}

/**
 * Hint that room is mixed next: fetch its state and its first legs, so
 * that many small rooms do not each wait for memory.  Callers walking
 * their rooms call it for the next one (and ce_mix_room_prefetch_state for
 * the one after).
 */
void ce_mix_room_prefetch(const struct ce_mix_room *room)
{
	ce_mix_room_prefetch_state(room);
	/* Each leg fetches the detector two legs on; the room's first two
	 * have no leg before them, so they are fetched here. */
	if (room->legs) {
		ce_mix_leg_prefetch(room->legs);
		if (room->legs_ahead)
			ce_mix_leg_prefetch(room->legs_ahead);
	}
}

/**
 * What leg hears this tick, encoded in its codec: *len bytes in the out of
 * the room's last mix (or a constant silent frame), valid until that out
 * is handed to another mix.  NULL if leg has no room.
 * A leg that joined after this tick's mix hears silence until the next.
 */
const uint8_t *ce_mix_leg_output(struct ce_mix_leg *leg, size_t *len)
{
	struct ce_mix_room *room = leg->room;
	enum ce_codec c = leg->codec;

	if (!room)
		return NULL;
	/* A leg's own frame is on a line of its own: looked at only in a
	 * room where some leg has one. */
	if (has_priv(room, leg)) {
		leg->heard = CE_MIX_HEARD_OWN;
		*len = leg->priv_len;
		return leg->priv;
	}
	leg->heard = CE_MIX_HEARD_SILENCE;
	if ((leg->flags & CE_MIX_DEAF) || room->n_heard == 0)
		return silence_of(room, c, len);
	if (minus_of(leg)) {
		if (room->n_heard < 2)
			return silence_of(room, c, len);
		leg->heard = CE_MIX_HEARD_SEAT;
		*len = room->out->minus_len[leg->slot];
		return room->out->minus_enc[leg->slot];
	}
	/* Not made this tick: the leg's codec had no listener at mix time. */
	if (room->enc_tick[c] != room->tick)
		return silence_of(room, c, len);
	leg->heard = CE_MIX_HEARD_SHARED;
	*len = room->out->mix_len[c];
	return room->out->mix_enc[c];
}

/**
 * ce_mix_leg_output() of a leg with a listen gain (ce_mix_leg_set_gain):
 * its frame encoded for it alone into @buf (CE_MIX_MAX_BYTES), on its own
 * stream.  NULL if leg has no room.
 */
const uint8_t *ce_mix_leg_output_gain(struct ce_mix_leg *leg, uint8_t *buf, size_t *len)
{
	struct ce_mix_room *room = leg->room;
	int32_t p[CE_MIX_MAX_FRAME];

	if (!room || !room->out)
		return NULL;
	if (has_priv(room, leg))
		return ce_mix_leg_output(leg, len); /* made with its gain */
	if (minus_of(leg) && room->n_heard < 2)
		memset(p, 0, room->frame * sizeof(*p));
	else
		private_pcm(room, leg, room->out->sum, p);
	*len = encode_own(room, leg, p, buf); /* a listener's volume: not counted as a mix */
	leg->heard = CE_MIX_HEARD_OWN;
	return buf;
}
/**
 * The up to max loudest talking legs, loudest first, with their
 * Yate-style energies, as in Yate's "speaking" notification.  Returns the
 * count.  Cost grows with the active legs only.
 */
unsigned ce_mix_room_speakers(
        const struct ce_mix_room *room, struct ce_mix_leg **legs, unsigned *energy, unsigned max)
{
	unsigned n = 0;

	for (struct ce_mix_leg *l = room->active; l; l = l->act_next) {
		unsigned e, k;

		/* smart=false (no detector, no energy) and legs merely
		 * audible (a steady sound raises no talk) are never reported. */
		if (!l->talker.active)
			continue;
		e = ce_talker_energy(&l->talker);

		for (k = n; k > 0 && energy[k - 1] < e; k--) {
			if (k < max) {
				legs[k] = legs[k - 1];
				energy[k] = energy[k - 1];
			}
		}
		if (k < max) {
			legs[k] = l;
			energy[k] = e;
			if (n < max)
				n++;
		}
	}
	return n;
}
