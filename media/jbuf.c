/* jbuf.c - adaptive jitter buffer for one G.711 RTP stream, with loss concealment
 *
 * Payload bytes are stored in a ring indexed by RTP timestamp, with one
 * presence bit per sample, so any packet size, reordering and duplicates
 * need no bookkeeping.  The play point trails the newest timestamp by a
 * target delay that follows the interarrival jitter (RFC 3550) and grows
 * when packets come too late.  When nothing at all is left to play the play
 * point waits (a stall) rather than skip ahead, which absorbs delay spikes
 * and slow sender clocks; a fast sender clock or a spike that has passed
 * leaves excess delay, which is cut by skipping a few samples per frame.
 */
#define G_LOG_DOMAIN "media"
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "base/atomic.h"
#include "jbuf.h"

#define RING_MASK (CE_JBUF_RING - 1)

/** Initialise jb for codec; delays are in samples. */
void ce_jbuf_init(struct ce_jbuf *jb, enum ce_codec codec, unsigned min_delay, unsigned max_delay)
{
	memset(jb, 0, sizeof(*jb));
	ce_jbuf_set_codec(jb, codec);
	if (max_delay > CE_JBUF_RING / 2)
		max_delay = CE_JBUF_RING / 2;
	if (min_delay > max_delay)
		min_delay = max_delay;
	jb->min_delay = min_delay;
	jb->max_delay = max_delay;
	jb->target = min_delay;
	CE_ATOMIC_SET(&jb->st.target, min_delay);
}

/** Drop all buffered audio: the next packet starts a new stream. */
void ce_jbuf_reset(struct ce_jbuf *jb)
{
	jb->started = false;
	jb->waited = false;
	memset(jb->present, 0, sizeof(jb->present));
	jb->excess_q4 = 0;
	ce_g722_dec_init(&jb->g722, 64000);
}

/** The stream goes on in @codec (a re-INVITE): what is held of the old one is dropped. */
void ce_jbuf_set_codec(struct ce_jbuf *jb, enum ce_codec codec)
{
	jb->codec = codec;
	jb->shift = ce_codec_ts_shift(codec);
	ce_plc_set_rate(&jb->plc, ce_codec_rate(codec) == 16000);
	ce_jbuf_reset(jb);
}

static bool is_present(const struct ce_jbuf *jb, uint32_t ts)
{
	uint32_t i = ts & RING_MASK;

	return jb->present[i / 64] >> (i % 64) & 1;
}

enum range { RANGE_NONE, RANGE_SOME, RANGE_ALL };

/* Whether none, some or all of the n samples from ts are present, a word at a time. */
static enum range range_state(const struct ce_jbuf *jb, uint32_t ts, unsigned n)
{
	bool any = false, all = true;

	while (n > 0) {
		uint32_t i = ts & RING_MASK;
		unsigned bit = i % 64, take = MIN(64 - bit, n);
		uint64_t mask = (take == 64 ? ~UINT64_C(0) : (UINT64_C(1) << take) - 1) << bit;
		uint64_t w = jb->present[i / 64] & mask;

		any |= w != 0;
		all &= w == mask;
		ts += take;
		n -= take;
	}
	return all ? RANGE_ALL : any ? RANGE_SOME : RANGE_NONE;
}

static void set_range(struct ce_jbuf *jb, uint32_t ts, unsigned n, bool on)
{
	while (n > 0) {
		uint32_t i = ts & RING_MASK;
		unsigned bit = i % 64, take = MIN(64 - bit, n);
		uint64_t mask = (take == 64 ? ~UINT64_C(0) : (UINT64_C(1) << take) - 1) << bit;

		if (on)
			jb->present[i / 64] |= mask;
		else
			jb->present[i / 64] &= ~mask;
		ts += take;
		n -= take;
	}
}

static void clear_range(struct ce_jbuf *jb, uint32_t ts, unsigned n)
{
	set_range(jb, ts, n, false);
}

/* Store len bytes at ts; returns false when every sample was there already. */
static bool store(struct ce_jbuf *jb, uint32_t ts, const uint8_t *p, unsigned len)
{
	uint32_t i = ts & RING_MASK;
	unsigned first = MIN(len, CE_JBUF_RING - i);
	bool dup = range_state(jb, ts, len) == RANGE_ALL;

	memcpy(jb->data + i, p, first);
	memcpy(jb->data, p + first, len - first);
	set_range(jb, ts, len, true);
	return !dup;
}

/* Decode n present units from ts, in at most two pieces around the ring's end. */
static void decode_range(struct ce_jbuf *jb, uint32_t ts, int16_t *out, unsigned n)
{
	uint32_t i = ts & RING_MASK;
	unsigned first = MIN(n, CE_JBUF_RING - i);

	if (jb->codec == CE_CODEC_G722) {
		ce_g722_decode(&jb->g722, jb->data + i, first, out);
		ce_g722_decode(&jb->g722, jb->data, n - first, out + (first << jb->shift));
		return;
	}
	ce_codec_decode(jb->codec, jb->data + i, out, first);
	ce_codec_decode(jb->codec, jb->data, out + first, n - first);
}

static void start(struct ce_jbuf *jb, uint32_t ssrc, uint32_t ts)
{
	if (jb->started)
		CE_COUNTER_ADD(&jb->st.resyncs, 1);
	ce_jbuf_reset(jb);
	jb->started = true;
	jb->ssrc = ssrc;
	jb->play_ts = ts - jb->target;
	jb->max_ts = ts;
	jb->first_ts = ts;
	jb->preroll = true;
	jb->last_transit = 0;
	jb->jitter_q4 = 0;
	jb->pkt_max = 0;
}

static void track_jitter(struct ce_jbuf *jb, uint32_t ts, uint32_t arrival, bool first)
{
	int64_t transit = (int32_t)(arrival - ts);
	int64_t d = transit - jb->last_transit;

	jb->last_transit = transit;
	if (first)
		return;
	if (d < 0)
		d = -d;
	if (d > CE_JBUF_RING)
		d = CE_JBUF_RING;
	/* J += (|D| - J) / 16, kept in Q4. */
	jb->jitter_q4 += (uint32_t)d - ((jb->jitter_q4 + 8) >> 4);
	CE_ATOMIC_SET(&jb->st.jitter, jb->jitter_q4 >> 4);
}

/**
 * Put a packet's payload (len G.711 bytes, one per sample) with RTP
 * timestamp ts from stream ssrc, arrived at arrival (the receiver's clock
 * in samples).  Returns 0, -EINVAL for an empty or oversized payload, or
 * -ETIME when the packet came after its play time.
 */
int ce_jbuf_put(struct ce_jbuf *jb, uint32_t ssrc, uint32_t ts, const uint8_t *payload, size_t len,
        uint32_t arrival)
{
	bool first = !jb->started || ssrc != jb->ssrc;
	int32_t d;

	if (len == 0 || len > CE_JBUF_RING / 4)
		return -EINVAL;
	if (first)
		start(jb, ssrc, ts);
	d = (int32_t)(ts - jb->play_ts);
	if (d < -(int32_t)CE_JBUF_RING || d >= CE_JBUF_RING - (int32_t)len) {
		/* A timestamp jump outside the ring: the sender restarted. */
		start(jb, ssrc, ts);
		d = (int32_t)(ts - jb->play_ts);
	}
	if ((int32_t)(jb->max_ts - jb->play_ts) <= 0 && d > (int32_t)jb->target) {
		/* Resuming after a pause (silence suppression): do not keep the
		 * gap as delay. */
		jb->play_ts = ts - jb->target;
		d = (int32_t)jb->target;
	}
	track_jitter(jb, ts, arrival, first);
	if (d + (int32_t)len <= 0) {
		unsigned want = jb->target + (unsigned)(-d) + (unsigned)len;

		CE_COUNTER_ADD(&jb->st.late, 1);
		if (want > jb->peak)
			jb->peak = want > jb->max_delay ? jb->max_delay : want;
		return -ETIME;
	}
	if (d < 0) {
		payload += -d;
		len -= (size_t)-d;
		ts = jb->play_ts;
	}
	if (!store(jb, ts, payload, (unsigned)len))
		CE_COUNTER_ADD(&jb->st.dups, 1);
	else
		CE_COUNTER_ADD(&jb->st.packets, 1);
	if ((int32_t)(ts + (uint32_t)len - jb->max_ts) > 0)
		jb->max_ts = ts + (uint32_t)len;
	if (len > jb->pkt_max)
		jb->pkt_max = (unsigned)len;
	return 0;
}

/**
 * Keep at least @samples of delay from now on (within the bounds given to
 * ce_jbuf_init), on top of what the jitter asks for; 0 lifts it.  The media
 * thread asks for a frame while a leg's packets come in on both sides of
 * its room's mixing wake.
 */
void ce_jbuf_set_floor(struct ce_jbuf *jb, unsigned samples)
{
	jb->floor = samples;
}

/** Samples between the play point and the newest one received. */
unsigned ce_jbuf_level(const struct ce_jbuf *jb)
{
	int32_t d = (int32_t)(jb->max_ts - jb->play_ts);

	return jb->started && d > 0 ? (unsigned)d : 0;
}

/*
 * The target: three times the jitter, plus what a packet longer than a
 * pull leaves to wait (30 ms packets pulled 20 ms at a time), or what late
 * packets asked for.  No margin for the phase between arrivals and pulls:
 * the media thread mixes a room just after its talkers' packets arrive.
 */
static void adapt(struct ce_jbuf *jb, unsigned n)
{
	unsigned base = (jb->pkt_max > n ? jb->pkt_max - n : 0) + 3 * (jb->jitter_q4 >> 4);
	unsigned t = base > jb->peak ? base : jb->peak;

	if (t < jb->min_delay)
		t = jb->min_delay;
	if (t < jb->floor)
		t = jb->floor;
	if (t > jb->max_delay)
		t = jb->max_delay;
	jb->target = t;
	CE_ATOMIC_SET(&jb->st.target, t);
	/* Late packets' demand fades over about ten seconds. */
	if (jb->peak > 0)
		jb->peak -= jb->peak > 8 ? 1 : jb->peak;
}

/* Skip samples when the delay has stayed above target: up to n/8 per pull. */
static void cut_excess(struct ce_jbuf *jb, unsigned n)
{
	int32_t excess = (int32_t)ce_jbuf_level(jb) - (int32_t)(jb->target + n);
	unsigned skip;

	jb->excess_q4 += excess - (jb->excess_q4 >> 4);
	/* Never below what this pull needs: a skip past the newest sample
	 * would leave the play point off the packets' grid, and every later
	 * pull would end in audio that has not come yet. */
	if ((jb->excess_q4 >> 4) <= (int32_t)(n / 8) || excess <= 0)
		return;
	skip = MIN(n / 8, (unsigned)excess);
	clear_range(jb, jb->play_ts, skip);
	jb->play_ts += skip;
	CE_COUNTER_ADD(&jb->st.dropped, skip);
	jb->excess_q4 -= (int32_t)skip * 16;
}

/* Samples one at a time, for frames that are partly lost. */
static void play_mixed(struct ce_jbuf *jb, int16_t *out, unsigned n)
{
	unsigned k = 0;

	while (k < n) {
		bool have = is_present(jb, jb->play_ts + k);
		unsigned run = 1;

		while (k + run < n && is_present(jb, jb->play_ts + k + run) == have)
			run++;
		int16_t *o = out + (k << jb->shift);

		if (have) {
			decode_range(jb, jb->play_ts + k, o, run);
			ce_plc_good(&jb->plc, o, run << jb->shift);
		} else {
			ce_plc_conceal(&jb->plc, o, run << jb->shift);
			CE_COUNTER_ADD(&jb->st.concealed, run);
		}
		k += run;
	}
}

static void play(struct ce_jbuf *jb, int16_t *out, unsigned n, enum range r)
{
	if (r == RANGE_ALL) {
		decode_range(jb, jb->play_ts, out, n);
		ce_plc_good(&jb->plc, out, n << jb->shift);
	} else if (r == RANGE_NONE) {
		ce_plc_conceal(&jb->plc, out, n << jb->shift);
		CE_COUNTER_ADD(&jb->st.concealed, n);
	} else {
		play_mixed(jb, out, n);
	}
	clear_range(jb, jb->play_ts, n);
	jb->play_ts += n;
}

/* Whether concealment has run out: 60 ms made up in a row. */
static enum ce_jbuf_out concealed(const struct ce_jbuf *jb)
{
	return jb->plc.run > (480u << jb->shift) ? CE_JBUF_SILENCE : CE_JBUF_CONCEALED;
}

/**
 * Take the next n timestamp units (n <= CE_JBUF_MAX_FRAME) to play into
 * out, as n << ce_codec_ts_shift(codec) samples.  Returns what they are:
 * received audio, concealment, or silence.
 */
enum ce_jbuf_out ce_jbuf_pull(struct ce_jbuf *jb, int16_t *out, unsigned n)
{
	enum range r;
	int32_t ahead;

	if (n > CE_JBUF_MAX_FRAME)
		n = CE_JBUF_MAX_FRAME;
	if (!jb->started) {
		memset(out, 0, (n << jb->shift) * sizeof(int16_t));
		return CE_JBUF_SILENCE;
	}
	if (jb->preroll && (int32_t)(jb->first_ts - jb->play_ts) >= (int32_t)n) {
		memset(out, 0, (n << jb->shift) * sizeof(int16_t));
		jb->play_ts += n;
		return CE_JBUF_SILENCE;
	}
	jb->preroll = false;
	adapt(jb, n);
	cut_excess(jb, n);
	r = range_state(jb, jb->play_ts, n);
	ahead = (int32_t)(jb->max_ts - jb->play_ts);
	if (ahead < (int32_t)n && (ahead <= 0 || !jb->waited)) {
		/* The frame's end has not come yet: wait for it instead of
		 * skipping ahead or playing up to a gap that is only in the
		 * future (which, once the play point is off the packets' grid,
		 * would repeat on every pull).  A frame partly here is waited
		 * for once; still short at the next pull, it plays as it is. */
		jb->waited = ahead > 0;
		CE_COUNTER_ADD(&jb->st.stalls, 1);
		ce_plc_conceal(&jb->plc, out, n << jb->shift);
		CE_COUNTER_ADD(&jb->st.concealed, n);
		return concealed(jb);
	}
	jb->waited = false;
	play(jb, out, n, r);
	if (r != RANGE_NONE)
		return CE_JBUF_AUDIO;
	return concealed(jb);
}
