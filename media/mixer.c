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

#include "mixer.h"
#include "vec.h"

/* What a leg hears from a room with nothing to hear, per codec (the
 * codecs' silence bytes: test-mixer checks them against g711.c). */
static const uint8_t silence[CE_CODEC_COUNT][CE_MIX_MAX_BYTES] = {
        [CE_CODEC_PCMU] = {[0 ... CE_MIX_MAX_BYTES - 1] = 0xff},
        [CE_CODEC_PCMA] = {[0 ... CE_MIX_MAX_BYTES - 1] = 0xd5},
};

/**
 * Create a room mixing at rate Hz (8000 or 16000) with at most
 * max_talkers (0: default, capped to CE_MIX_MAX_TALKERS) summed per tick.
 */
int ce_mix_room_new(struct ce_mix_room **rp, unsigned rate, unsigned max_talkers)
{
	struct ce_mix_room *room;
	int err = 0;

	if (rate != 8000 && rate != 16000)
		return -EINVAL;
	room = g_new0(struct ce_mix_room, 1);
	room->rate = rate;
	room->frame = rate / 50;
	room->max_talkers = max_talkers ? MIN(max_talkers, CE_MIX_MAX_TALKERS) : CE_MIX_DEF_TALKERS;
	*rp = room;
	return err;
}

/** Free a room; its legs must have been detached. */
void ce_mix_room_free(struct ce_mix_room *room)
{
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

/** Whether what leg says reaches the others. */
bool ce_mix_leg_heard(const struct ce_mix_leg *leg)
{
	return !(leg->flags & (CE_MIX_MUTED | CE_MIX_LISTEN_ONLY));
}

/**
 * Join leg to room.  G.711 legs need an 8 kHz room.  Returns 0, -EBUSY if
 * the leg is in a room already, -ENOTSUP for a codec the room rate cannot take.
 */
int ce_mix_leg_attach(struct ce_mix_room *room, struct ce_mix_leg *leg)
{
	if (leg->room)
		return -EBUSY;
	if (leg->codec != CE_CODEC_L16 && room->rate != 8000)
		return -ENOTSUP;
	leg->room = room;
	leg->prev = NULL;
	leg->next = room->legs;
	leg->ahead = room->legs ? room->legs->next : NULL;
	room->legs_ahead = room->legs;
	if (room->legs)
		room->legs->prev = leg;
	room->legs = leg;
	room->n_legs++;
	room->n_codec[leg->codec]++;
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
		leg->room->n_codec[codec]++;
	}
	leg->codec = (uint8_t)codec;
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

/**
 * Hand in this tick's frame (room->frame samples at the room rate; NULL
 * when nothing was received).  Runs the talker detector; returns its event.
 * The leg is active (a candidate for a seat) while it talks or is clearly
 * audible; legs that are not heard are never active and never start talking.
 */
enum ce_talker_ev ce_mix_leg_input(struct ce_mix_leg *leg, const int16_t *pcm)
{
	struct ce_mix_room *room = leg->room;
	enum ce_talker_ev ev;

	if (!room)
		return CE_TALKER_NONE;
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
		if (pcm)
			ev = ce_talker_frame(&leg->talker, pcm, room->frame, room->rate);
		else
			ev = ce_talker_silence(&leg->talker, room->frame, room->rate);
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
		if (pcm)
			memcpy(in, pcm, room->frame * sizeof(int16_t));
		else
			memset(in, 0, room->frame * sizeof(int16_t));
	}
	return ev;
}

/* An active leg's input of this tick. */
static const int16_t *leg_in(const struct ce_mix_leg *leg)
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
	l->slot = quiet->slot;
	room->set[l->slot] = l;
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
		best->slot = (int8_t)s;
		room->set[s] = best;
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
		ce_codec_encode_mix(leg->codec, p, NULL, src->enc, room->frame);
		leg->priv = src->enc;
		leg->priv_tick = room->tick;
		room->priv_tick = room->tick;
		room->st.encodes++;
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
		ce_codec_encode_mix(
		        (enum ce_codec)c, sum, NULL, room->out->mix_enc[c], room->frame);
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
	int32_t sum[CE_MIX_MAX_FRAME];

	g_return_if_fail(out != NULL);
	/* Input after this, without a new begin, stays in the legs. */
	room->n_in = CE_MIX_OUT_IN;
	room->tick++;
	room->st.ticks++;
	fill_seats(room);
	room->n_set = sum_talkers(room, sum);
	room->n_heard = room->n_set;
	if (room->srcs) {
		room->n_heard += sum_sources(room, sum, room->n_set);
		private_frames(room, sum);
	}
	if (room->want_pcm)
		keep_pcm(room, sum);
	if (room->n_heard == 0)
		return;
	encode_listeners(room, sum);
	if (room->n_heard < 2)
		return;
	for (unsigned s = 0; s < room->max_talkers; s++) {
		struct ce_mix_leg *leg = room->set[s];

		if (!leg || !minus_of(leg))
			continue;
		ce_codec_encode_mix(leg->codec, sum, leg_in(leg), out->minus_enc[s], room->frame);
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
	*len = ce_codec_bytes(c, room->frame);
	/* A leg's own frame is on a line of its own: looked at only in a
	 * room where some leg has one. */
	if (room->priv_tick == room->tick && leg->priv && leg->priv_tick == room->tick)
		return leg->priv;
	if ((leg->flags & CE_MIX_DEAF) || room->n_heard == 0)
		return silence[c];
	if (minus_of(leg))
		return room->n_heard < 2 ? silence[c] : room->out->minus_enc[leg->slot];
	/* Not made this tick: the leg's codec had no listener at mix time. */
	return room->enc_tick[c] == room->tick ? room->out->mix_enc[c] : silence[c];
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
