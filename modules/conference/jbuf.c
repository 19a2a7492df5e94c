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

#include "jbuf.h"

#define RING_MASK (CE_JBUF_RING - 1)

/** Initialise jb for codec; delays are in samples. */
void ce_jbuf_init(struct ce_jbuf *jb, enum ce_codec codec, unsigned min_delay,
	unsigned max_delay)
{
	memset(jb, 0, sizeof(*jb));
	jb->codec = codec;
	if (max_delay > CE_JBUF_RING / 2)
		max_delay = CE_JBUF_RING / 2;
	if (min_delay > max_delay)
		min_delay = max_delay;
	jb->min_delay = min_delay;
	jb->max_delay = max_delay;
	jb->target = min_delay;
	jb->st.target = min_delay;
}

/** Drop all buffered audio: the next packet starts a new stream. */
void ce_jbuf_reset(struct ce_jbuf *jb)
{
	jb->started = false;
	memset(jb->present, 0, sizeof(jb->present));
	jb->excess_q4 = 0;
}

static bool is_present(const struct ce_jbuf *jb, uint32_t ts)
{
	uint32_t i = ts & RING_MASK;

	return jb->present[i / 64] >> (i % 64) & 1;
}

static void clear_range(struct ce_jbuf *jb, uint32_t ts, unsigned n)
{
	for (unsigned k = 0; k < n; k++) {
		uint32_t i = (ts + k) & RING_MASK;

		jb->present[i / 64] &= ~(UINT64_C(1) << (i % 64));
	}
}

/* Store len bytes at ts; returns how many samples were new. */
static unsigned store(struct ce_jbuf *jb, uint32_t ts, const uint8_t *p, unsigned len)
{
	unsigned fresh = 0;

	for (unsigned k = 0; k < len; k++) {
		uint32_t i = (ts + k) & RING_MASK;
		uint64_t bit = UINT64_C(1) << (i % 64);

		fresh += !(jb->present[i / 64] & bit);
		jb->present[i / 64] |= bit;
		jb->data[i] = p[k];
	}
	return fresh;
}

static void start(struct ce_jbuf *jb, uint32_t ssrc, uint32_t ts)
{
	if (jb->started)
		jb->st.resyncs++;
	ce_jbuf_reset(jb);
	jb->started = true;
	jb->ssrc = ssrc;
	jb->play_ts = ts - jb->target;
	jb->max_ts = ts;
	jb->first_ts = ts;
	jb->preroll = true;
	jb->last_transit = 0;
	jb->jitter_q4 = 0;
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
	jb->st.jitter = jb->jitter_q4 >> 4;
}

/**
 * Put a packet's payload (len G.711 bytes, one per sample) with RTP
 * timestamp ts from stream ssrc, arrived at arrival (the receiver's clock
 * in samples).  Returns 0, -EINVAL for an empty or oversized payload, or
 * -ETIME when the packet came after its play time.
 */
int ce_jbuf_put(struct ce_jbuf *jb, uint32_t ssrc, uint32_t ts, const uint8_t *payload,
	size_t len, uint32_t arrival)
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

		jb->st.late++;
		if (want > jb->peak)
			jb->peak = want > jb->max_delay ? jb->max_delay : want;
		return -ETIME;
	}
	if (d < 0) {
		payload += -d;
		len -= (size_t)-d;
		ts = jb->play_ts;
	}
	if (store(jb, ts, payload, (unsigned)len) == 0)
		jb->st.dups++;
	else
		jb->st.packets++;
	if ((int32_t)(ts + (uint32_t)len - jb->max_ts) > 0)
		jb->max_ts = ts + (uint32_t)len;
	return 0;
}

/** Samples between the play point and the newest one received. */
unsigned ce_jbuf_level(const struct ce_jbuf *jb)
{
	int32_t d = (int32_t)(jb->max_ts - jb->play_ts);

	return jb->started && d > 0 ? (unsigned)d : 0;
}

static void adapt(struct ce_jbuf *jb, unsigned n)
{
	unsigned base = n / 2 + 3 * (jb->jitter_q4 >> 4);
	unsigned t = base > jb->peak ? base : jb->peak;

	if (t < jb->min_delay)
		t = jb->min_delay;
	if (t > jb->max_delay)
		t = jb->max_delay;
	jb->target = t;
	jb->st.target = t;
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
	if ((jb->excess_q4 >> 4) <= (int32_t)(n / 2))
		return;
	skip = n / 8;
	clear_range(jb, jb->play_ts, skip);
	jb->play_ts += skip;
	jb->st.dropped += skip;
	jb->excess_q4 -= (int32_t)skip * 16;
}

static void play(struct ce_jbuf *jb, int16_t *out, unsigned n)
{
	unsigned k = 0;

	while (k < n) {
		bool have = is_present(jb, jb->play_ts + k);
		unsigned run = 1;

		while (k + run < n && is_present(jb, jb->play_ts + k + run) == have)
			run++;
		if (have) {
			for (unsigned j = 0; j < run; j++)
				out[k + j] = jb->codec == CE_CODEC_PCMA
					? ce_g711_alaw_decode(jb->data[(jb->play_ts + k + j) & RING_MASK])
					: ce_g711_ulaw_decode(jb->data[(jb->play_ts + k + j) & RING_MASK]);
			ce_plc_good(&jb->plc, out + k, run);
		} else {
			ce_plc_conceal(&jb->plc, out + k, run);
			jb->st.concealed += run;
		}
		k += run;
	}
	clear_range(jb, jb->play_ts, n);
	jb->play_ts += n;
}

/**
 * Take the next n samples (n <= CE_JBUF_MAX_FRAME) to play into out.
 * Returns what they are: received audio, concealment, or silence.
 */
enum ce_jbuf_out ce_jbuf_pull(struct ce_jbuf *jb, int16_t *out, unsigned n)
{
	bool any = false;

	if (n > CE_JBUF_MAX_FRAME)
		n = CE_JBUF_MAX_FRAME;
	if (!jb->started) {
		memset(out, 0, n * sizeof(int16_t));
		return CE_JBUF_SILENCE;
	}
	if (jb->preroll && (int32_t)(jb->first_ts - jb->play_ts) >= (int32_t)n) {
		memset(out, 0, n * sizeof(int16_t));
		jb->play_ts += n;
		return CE_JBUF_SILENCE;
	}
	jb->preroll = false;
	adapt(jb, n);
	cut_excess(jb, n);
	for (unsigned k = 0; k < n && !any; k++)
		any = is_present(jb, jb->play_ts + k);
	if (!any && (int32_t)(jb->max_ts - jb->play_ts) <= 0) {
		/* Nothing newer either: wait for it instead of skipping ahead. */
		jb->st.stalls++;
		ce_plc_conceal(&jb->plc, out, n);
		jb->st.concealed += n;
		return jb->plc.run > 480 ? CE_JBUF_SILENCE : CE_JBUF_CONCEALED;
	}
	play(jb, out, n);
	if (any)
		return CE_JBUF_AUDIO;
	return jb->plc.run > 480 ? CE_JBUF_SILENCE : CE_JBUF_CONCEALED;
}
