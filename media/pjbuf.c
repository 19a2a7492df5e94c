/* pjbuf.c - jitter buffer for a stream of whole packets (Opus), see pjbuf.h
 *
 * Frames are counted from the play point: a packet d timestamp units
 * ahead of it goes to slot (head + d / frame); one behind it is late.  A
 * packet off the frame grid, from another SSRC, or further ahead than the
 * slots reach starts the stream again.  The play point waits (EMPTY, not
 * LOST) while nothing newer than it has come: a phone that stops sending
 * is silence, not a run of losses, and when it sends again its packets
 * are placed ahead of the play point as usual.
 */
#include <string.h>

#include "pjbuf.h"

/** Prepare @jb for frames of @frame timestamp units, played @delay frames behind the newest. */
void ce_pjbuf_init(struct ce_pjbuf *jb, unsigned frame, unsigned delay)
{
	memset(jb, 0, sizeof(*jb));
	jb->frame = frame ? frame : 960;
	jb->delay = delay < CE_PJBUF_SLOTS / 2 ? delay : CE_PJBUF_SLOTS / 2;
}

static void start(struct ce_pjbuf *jb, uint32_t ssrc, uint32_t ts)
{
	if (jb->started)
		jb->st.resyncs++;
	for (unsigned i = 0; i < CE_PJBUF_SLOTS; i++)
		jb->slot[i].present = false;
	jb->started = true;
	jb->ssrc = ssrc;
	jb->head = 0;
	jb->play_ts = ts - jb->delay * jb->frame;
	jb->max_ts = jb->play_ts;
	jb->first_ts = ts;
	jb->preroll = true;
}

/**
 * Take packet @pkt (@len bytes, the RTP payload) of timestamp @ts from
 * @ssrc.  Returns 0, or -1 when it was dropped (late, a duplicate, too big).
 */
int ce_pjbuf_put(struct ce_pjbuf *jb, uint32_t ssrc, uint32_t ts, const uint8_t *pkt, size_t len)
{
	struct ce_pjbuf_slot *s;
	int32_t d;
	unsigned k;

	if (len > CE_PJBUF_MAX_PKT) {
		jb->st.too_big++;
		return -1;
	}
	d = (int32_t)(ts - jb->play_ts);
	if (!jb->started || ssrc != jb->ssrc || (d >= 0 && (uint32_t)d % jb->frame) ||
	        d >= (int32_t)(CE_PJBUF_SLOTS * jb->frame) ||
	        d < -(int32_t)(CE_PJBUF_SLOTS * jb->frame)) {
		start(jb, ssrc, ts);
		d = (int32_t)(ts - jb->play_ts);
	}
	if (d < 0) {
		jb->st.late++;
		return -1;
	}
	k = (uint32_t)d / jb->frame;
	s = &jb->slot[(jb->head + k) % CE_PJBUF_SLOTS];
	if (s->present && s->ts == ts) {
		jb->st.dups++;
		return -1;
	}
	s->present = true;
	s->ts = ts;
	s->len = (uint16_t)len;
	memcpy(s->data, pkt, len);
	if ((int32_t)(ts + jb->frame - jb->max_ts) > 0)
		jb->max_ts = ts + jb->frame;
	jb->st.packets++;
	return 0;
}

/**
 * The next frame: its packet in *@pkt, *@len (PACKET), or none (LOST), with
 * the packet of the frame after it in *@next, *@next_len if that has come
 * (for FEC), else NULL; EMPTY when there is nothing to play yet or any
 * more.  The pointers stay valid until the next put.
 */
enum ce_pjbuf_out ce_pjbuf_pull(struct ce_pjbuf *jb, const uint8_t **pkt, size_t *len,
        const uint8_t **next, size_t *next_len)
{
	struct ce_pjbuf_slot *s, *n;
	enum ce_pjbuf_out out;

	*pkt = *next = NULL;
	*len = *next_len = 0;
	if (!jb->started || (int32_t)(jb->max_ts - jb->play_ts) <= 0)
		return CE_PJBUF_EMPTY;
	s = &jb->slot[jb->head];
	if (jb->preroll && (int32_t)(jb->first_ts - jb->play_ts) > 0) {
		/* the delay before the first packet: nothing was lost there */
		jb->head = (jb->head + 1) % CE_PJBUF_SLOTS;
		jb->play_ts += jb->frame;
		return CE_PJBUF_EMPTY;
	}
	jb->preroll = false;
	n = &jb->slot[(jb->head + 1) % CE_PJBUF_SLOTS];
	if (s->present && s->ts == jb->play_ts) {
		*pkt = s->data;
		*len = s->len;
		out = CE_PJBUF_PACKET;
	} else {
		if (n->present && n->ts == jb->play_ts + jb->frame) {
			*next = n->data;
			*next_len = n->len;
		}
		jb->st.lost++;
		out = CE_PJBUF_LOST;
	}
	s->present = false;
	jb->head = (jb->head + 1) % CE_PJBUF_SLOTS;
	jb->play_ts += jb->frame;
	return out;
}
