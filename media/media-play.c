/* media-play.c - prompt players and room recorders in the media engine
 *
 * A player is a mixer source (mixer.h) whose frames come from a file's
 * read-ahead ring (mediafile.h); a recorder takes the room's full mix
 * into a file's write-behind ring.  The main thread creates them and asks
 * for their end with a command; the media thread attaches and detaches
 * them and hands each back with an internal event: once when it ends by
 * itself (end of file, failure, room gone) and once, marked as the
 * acknowledgement, for the main thread's delete command.  The main thread
 * frees one on the acknowledgement, or on its end if it never asked.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define G_LOG_DOMAIN "media"
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "media-priv.h"

static struct ce_mfile_io *io_get(struct ce_media *m)
{
	if (!m->io && !ce_mfile_io_new(&m->io))
		ce_mfile_io_confine(m->io, m->conf.play_roots);
	return m->io;
}

static void send_wait(struct ce_shard *s, const struct ce_media_cmd *c)
{
	while (ce_media_send(s, c) < 0)
		g_usleep(1000); /* only when CE_MEDIA_CMD_RING commands are queued */
}

/* Main thread: the queue a player of @mode joins (see struct ce_media_play). */
static const void *queue_of(
        struct ce_media_room *room, enum ce_media_play_mode mode, struct ce_media_leg *leg)
{
	return mode == CE_MEDIA_PLAY_LEG ? (const void *)leg : (const void *)room;
}

static unsigned queued(struct ce_media_room *room, const void *queue)
{
	unsigned n = 0;

	for (struct ce_media_play *p = room->plays; p; p = p->mnext)
		n += p->queue == queue && !p->removing;
	return n;
}

static int check_target(
        struct ce_media_room *room, enum ce_media_play_mode mode, struct ce_media_leg *leg)
{
	if (room->removing)
		return -ENOENT;
	if (mode != CE_MEDIA_PLAY_ROOM && (!leg || leg->removing || leg->mroom != room))
		return -EINVAL;
	if (queued(room, queue_of(room, mode, leg)) >= CE_MEDIA_PLAY_QUEUE)
		return -ENOBUFS;
	return 0;
}

/* Main thread: hand a player with its file to the media thread; frees it on failure. */
static int play_start(struct ce_media_play **pp, struct ce_media_play *p,
        struct ce_media_room *room, enum ce_media_play_mode mode, struct ce_media_leg *leg,
        void *user, GDestroyNotify destroy)
{
	struct ce_media_cmd c = {.type = CE_MEDIA_CMD_PLAY_ADD, .room = room, .obj = p};
	int err;

	p->room = room;
	p->leg = mode == CE_MEDIA_PLAY_ROOM ? NULL : leg;
	p->queue = queue_of(room, mode, leg);
	p->mode = mode == CE_MEDIA_PLAY_LEG      ? CE_MIX_SRC_LEG
	          : mode == CE_MEDIA_PLAY_EXCEPT ? CE_MIX_SRC_EXCEPT
	                                         : CE_MIX_SRC_ROOM;
	c.leg = p->leg;
	err = ce_media_send(room->shard, &c);
	if (err < 0) {
		ce_mfile_close(p->f);
		g_clear_pointer(&p, g_free);
		goto out;
	}
	p->user = user;
	p->destroy = destroy;
	p->mnext = room->plays;
	if (room->plays)
		room->plays->mprev = p;
	room->plays = p;
	g_hash_table_add(room->m->files, p);
out:
	if (pp)
		*pp = p;
	return err;
}

/* Main thread: a player of the file at path, or else of tone for duration_ms. */
static int play_new(struct ce_media_play **pp, struct ce_media_room *room, const char *path,
        const struct ce_tone *tone, unsigned duration_ms, bool loop, enum ce_media_play_mode mode,
        struct ce_media_leg *leg, void *user, GDestroyNotify destroy)
{
	struct ce_media_play *p = NULL;
	int err = check_target(room, mode, leg);

	if (!err) {
		struct ce_mfile_io *io = io_get(room->m);

		p = g_new0(struct ce_media_play, 1);
		err = path ? ce_mfile_player_new(&p->f, io, path, room->mix->rate, loop)
		           : ce_mfile_tone_new(&p->f, io, tone, room->mix->rate, duration_ms);
	}
	if (!err)
		return play_start(pp, p, room, mode, leg, user, destroy);
	g_free(p);
	if (pp)
		*pp = NULL;
	return err;
}

/**
 * Play @path once into @room: to everyone (CE_MEDIA_PLAY_ROOM, @leg NULL),
 * to @leg alone, or to everyone but @leg.  The file is opened, decoded and
 * resampled on the I/O thread; its end comes as CE_MEDIA_EV_PLAY_DONE
 * (with error set if the file could not be played), after which the player
 * is freed and @destroy called on @user.  Players end with their room, and
 * one aimed at a leg with that leg.  A player waits for the one before it
 * in its queue (the room's for ROOM and EXCEPT, the leg's for LEG) to end.
 * Returns 0, -EINVAL, -ENOENT, -ENOBUFS (CE_MEDIA_PLAY_QUEUE players in
 * that queue already) or -EAGAIN.
 */
int ce_media_play_new(struct ce_media_play **pp, struct ce_media_room *room, const char *path,
        enum ce_media_play_mode mode, struct ce_media_leg *leg, void *user, GDestroyNotify destroy)
{
	return play_new(pp, room, path, NULL, 0, false, mode, leg, user, destroy);
}

/**
 * Play @path over and over into @room (music on hold), as
 * ce_media_play_new plays it once: same targets, queues and errors, the
 * file starting again at its end with no gap.  It ends only when stopped
 * (ce_media_play_stop, ce_media_play_free), when its target goes, or when
 * the file cannot be played (PLAY_DONE with error); meanwhile it holds its
 * queue, so what is queued after it waits until then.
 */
int ce_media_play_loop(struct ce_media_play **pp, struct ce_media_room *room, const char *path,
        enum ce_media_play_mode mode, struct ce_media_leg *leg, void *user, GDestroyNotify destroy)
{
	return play_new(pp, room, path, NULL, 0, true, mode, leg, user, destroy);
}

/**
 * Play @tone (tone.h; copied) for @duration_ms (0: its natural length)
 * into @room, as ce_media_play_new plays a file: same targets, queues,
 * events (the path is "tone/NAME") and errors.  It is synthesised on the
 * I/O thread.
 */
int ce_media_play_tone(struct ce_media_play **pp, struct ce_media_room *room,
        const struct ce_tone *tone, unsigned duration_ms, enum ce_media_play_mode mode,
        struct ce_media_leg *leg, void *user, GDestroyNotify destroy)
{
	return play_new(pp, room, NULL, tone, duration_ms, false, mode, leg, user, destroy);
}

/**
 * Stop every player of the queue that a player of @mode and @leg would
 * join (the one playing and those waiting), without their PLAY_DONE; their
 * @destroy is still called.  Returns how many were stopped.
 */
int ce_media_play_stop(
        struct ce_media_room *room, enum ce_media_play_mode mode, struct ce_media_leg *leg)
{
	const void *queue = queue_of(room, mode, leg);
	int n = 0;
	struct ce_media_play *p = room->plays;

	if (room->removing)
		return 0;
	while (p && p->mnext)
		p = p->mnext;
	/* oldest first (the list is newest first): what plays goes before what waits */
	for (; p; p = p->mprev) {
		if (p->queue == queue && !p->removing) {
			ce_media_play_free(p);
			n++;
		}
	}
	return n;
}

/** Stop a player before its end (no PLAY_DONE then).  Not after its room was freed. */
void ce_media_play_free(struct ce_media_play *p)
{
	struct ce_media_cmd c = {.type = CE_MEDIA_CMD_PLAY_DEL};

	if (!p || p->removing || p->room->removing)
		return;
	p->removing = true;
	c.room = p->room;
	c.obj = p;
	send_wait(p->room->shard, &c);
}

/**
 * Record @room's full mix to @path (WAV, or FLAC/AU/OGG by its extension;
 * mono, 16 bits, the room rate), replacing any recording; NULL stops.
 * @fd >= 0 is the empty file already created for it (owned, closed on
 * error too; @path then only names it); with -1 the file is created on the
 * I/O thread, never over an existing one.  Failures come as
 * CE_MEDIA_EV_REC_FAILED.  Returns 0, -EINVAL or -ENOENT.
 */
int ce_media_room_record(struct ce_media_room *room, const char *path, int fd)
{
	struct ce_media_cmd c = {.room = room};
	struct ce_media_rec *r = room->rec_main;
	int err;

	if (room->removing) {
		if (fd >= 0)
			close(fd);
		return -ENOENT;
	}
	if (r) {
		r->removing = true;
		room->rec_main = NULL;
		c.type = CE_MEDIA_CMD_REC_DEL;
		c.obj = r;
		send_wait(room->shard, &c);
	}
	if (!path) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	r = g_new0(struct ce_media_rec, 1);
	r->room = room;
	err = ce_mfile_recorder_new(&r->f, io_get(room->m), path, fd, room->mix->rate);
	if (err < 0) {
		g_free(r);
		return err;
	}
	c.type = CE_MEDIA_CMD_REC_ADD;
	c.obj = r;
	send_wait(room->shard, &c);
	room->rec_main = r;
	g_hash_table_add(room->m->recs, r);
	return 0;
}

static void wait_unlink(struct ce_media_room *room, struct ce_media_play *p)
{
	if (p->wprev)
		p->wprev->wnext = p->wnext;
	else
		room->waiting = p->wnext;
	if (p->wnext)
		p->wnext->wprev = p->wprev;
	else
		room->waiting_tail = p->wprev;
	p->wnext = p->wprev = NULL;
	p->waiting = false;
}

static void wait_append(struct ce_media_room *room, struct ce_media_play *p)
{
	p->waiting = true;
	p->wnext = NULL;
	p->wprev = room->waiting_tail;
	if (room->waiting_tail)
		room->waiting_tail->wnext = p;
	else
		room->waiting = p;
	room->waiting_tail = p;
}

/* Media thread: a player leaves the mixer (or its queue) and goes back to the main loop. */
static void play_end(struct ce_media *m, struct ce_media_play *p, bool ack)
{
	if (p->waiting)
		wait_unlink(p->room, p);
	else
		ce_mix_src_detach(&p->src);
	p->done = true;
	ce_media_post_obj(m, p->room, CE_MEDIA_GONE_PLAY, p, ack);
}

/* Media thread: the queue a player is in (a LEG player whose leg left is alone). */
static const void *queue_now(const struct ce_media_play *p)
{
	if (p->mode != CE_MIX_SRC_LEG)
		return p->room;
	return p->leg ? (const void *)p->leg : (const void *)p;
}

static bool queue_busy(struct ce_media_room *room, const void *queue)
{
	for (struct ce_mix_src *src = room->mix->srcs; src; src = src->next)
		if (queue_now((struct ce_media_play *)src) == queue)
			return true;
	return false;
}

static void rec_end(struct ce_media *m, struct ce_media_rec *r, bool ack)
{
	if (r->room->rec == r) {
		r->room->rec = NULL;
		r->room->mix->want_pcm = false;
	}
	ce_media_post_obj(m, r->room, CE_MEDIA_GONE_REC, r, ack);
}

/* Media thread: the player and recorder commands. */
void ce_media_files_apply(struct ce_shard *s, const struct ce_media_cmd *c)
{
	struct ce_media_play *p = c->obj;
	struct ce_media_rec *r = c->obj;

	switch (c->type) {
	case CE_MEDIA_CMD_PLAY_ADD:
		if (p->leg && !p->leg->linked)
			p->leg = NULL; /* it left before the player came */
		if (p->mode == CE_MIX_SRC_LEG && !p->leg)
			play_end(s->m, p, false);
		else
			wait_append(c->room, p); /* attached by the next feed, in turn */
		break;
	case CE_MEDIA_CMD_PLAY_DEL:
		if (p->done)
			ce_media_post_obj(s->m, p->room, CE_MEDIA_GONE_PLAY, p, true);
		else
			play_end(s->m, p, true);
		break;
	case CE_MEDIA_CMD_REC_ADD:
		c->room->rec = r;
		c->room->mix->want_pcm = true;
		break;
	case CE_MEDIA_CMD_REC_DEL:
		rec_end(s->m, r, true);
		break;
	default:
		break;
	}
}

/* Media thread: a player's next frame, or its end. */
static void feed_one(struct ce_media_room *room, struct ce_media_play *p)
{
	struct ce_mix_src *src = &p->src;

	src->active = false;
	if (p->mode == CE_MIX_SRC_LEG && !src->leg) {
		play_end(room->m, p, false);
	} else if (ce_mfile_read(p->f, src->pcm)) {
		src->active = true;
		p->started = true;
	} else if (ce_mfile_ended(p->f)) {
		play_end(room->m, p, false);
	} else if (p->started) {
		p->underruns++;
	}
}

/*
 * Media thread: attach the waiting players whose queue has nothing
 * attached, first come first served, and give them this tick's frame, so
 * that one follows the player it waited for without a gap.
 */
static void promote(struct ce_media_room *room)
{
	struct ce_media_play *p, *next;

	for (p = room->waiting; p; p = next) {
		next = p->wnext;
		if (queue_busy(room, queue_now(p)))
			continue;
		wait_unlink(room, p);
		ce_mix_src_attach(room->mix, &p->src, p->mode, p->leg ? &p->leg->mix : NULL);
		feed_one(room, p); /* one that ends at once frees its queue for the next */
	}
}

/* Media thread, before mixing: each player's next frame, or its end; then the next in line. */
void ce_media_files_feed(struct ce_media_room *room)
{
	struct ce_mix_src *src, *next;

	for (src = room->mix->srcs; src; src = next) {
		next = src->next;
		feed_one(room, (struct ce_media_play *)src);
	}
	if (room->waiting)
		promote(room);
}

/* Media thread, after mixing: the room's mix to its recorder. */
void ce_media_files_record(struct ce_media_room *room)
{
	struct ce_media_rec *r = room->rec;

	if (ce_mfile_failed(r->f)) {
		rec_end(room->m, r, false);
		return;
	}
	if (ce_mfile_write(r->f, room->mix->pcm)) {
		r->frames++;
		r->dropping = false;
		return;
	}
	r->drops++;
	if (!r->dropping) {
		r->dropping = true;
		ce_media_post_obj(room->m, room, CE_MEDIA_REC_DROPS, r, false);
	}
}

/* Media thread: the room goes, and its players (playing and waiting) and recorder with it. */
void ce_media_files_room_del(struct ce_media_room *room)
{
	while (room->mix->srcs)
		play_end(room->m, (struct ce_media_play *)room->mix->srcs, false);
	while (room->waiting)
		play_end(room->m, room->waiting, false);
	if (room->rec)
		rec_end(room->m, room->rec, false);
}

/* Media thread: @leg leaves; its waiting players end, the others forget it. */
void ce_media_files_leg_del(struct ce_media_leg *leg)
{
	struct ce_media_room *room = leg->room;
	struct ce_media_play *p, *next;

	for (struct ce_mix_src *src = room->mix->srcs; src; src = src->next)
		if (((struct ce_media_play *)src)->leg == leg)
			((struct ce_media_play *)src)->leg = NULL;
	for (p = room->waiting; p; p = next) {
		next = p->wnext;
		if (p->leg != leg)
			continue;
		p->leg = NULL;
		if (p->mode == CE_MIX_SRC_LEG)
			play_end(room->m, p, false);
	}
}

/* Main thread: @leg is being freed; its players' queue is no longer its. */
void ce_media_files_leg_free(struct ce_media_leg *leg)
{
	for (struct ce_media_play *p = leg->mroom->plays; p; p = p->mnext)
		if (p->queue == leg)
			p->queue = p;
}

static void play_gone(struct ce_media *m, struct ce_media_play *p, bool ack)
{
	struct ce_media_event ev = {.type = CE_MEDIA_EV_PLAY_DONE, .room = p->room, .play = p};
	bool tell = !p->removing && !p->room->removing && m->handler;

	if (!ack && p->removing)
		return; /* wait for the answer to the delete command */
	/* out of the room's list first: the handler may stop that queue (the lobby
	 * moving its caller on the end of a prompt), and must not find this one */
	if (p->mprev)
		p->mprev->mnext = p->mnext;
	else
		p->room->plays = p->mnext;
	if (p->mnext)
		p->mnext->mprev = p->mprev;
	g_hash_table_remove(m->files, p);
	if (tell) {
		/* a prompt to one leg names it while it is there (it left: NULL) */
		ev.leg = p->mode == CE_MIX_SRC_LEG ? p->leg : NULL;
		ev.play_user = p->user;
		ev.error = ce_mfile_error(p->f);
		ev.path = ce_mfile_path(p->f);
		ev.count = p->underruns;
		m->handler(&ev, m->arg);
	}
	ce_mfile_close(p->f);
	if (p->destroy)
		p->destroy(p->user);
	g_free(p);
}

static void rec_gone(struct ce_media *m, struct ce_media_rec *r, bool ack)
{
	struct ce_media_event ev = {.type = CE_MEDIA_EV_REC_FAILED, .room = r->room};

	if (!ack && r->removing)
		return;
	if (r->room->rec_main == r)
		r->room->rec_main = NULL;
	ev.error = ce_mfile_error(r->f);
	ev.err = ce_mfile_errno(r->f);
	ev.path = ce_mfile_path(r->f);
	if (ev.error && !r->room->removing) {
		g_message("%s", ev.error);
		if (m->handler)
			m->handler(&ev, m->arg);
	}
	g_hash_table_remove(m->recs, r);
	ce_mfile_close(r->f);
	g_free(r);
}

/* Main thread: a player or recorder handed back (or a recorder's drops). */
void ce_media_files_gone(struct ce_media *m, const struct ce_media_qev *q)
{
	if (q->internal == CE_MEDIA_GONE_PLAY) {
		play_gone(m, q->obj, q->ev.changed);
	} else if (q->internal == CE_MEDIA_GONE_REC) {
		rec_gone(m, q->obj, q->ev.changed);
	} else if (q->internal == CE_MEDIA_REC_DROPS) {
		struct ce_media_rec *r = q->obj;
		struct ce_media_event ev = {.type = CE_MEDIA_EV_REC_DROPS, .room = r->room};

		ev.path = ce_mfile_path(r->f);
		ev.count = r->drops;
		g_warning("recording '%s': the disk does not keep up, frames dropped "
		          "(%" G_GUINT64_FORMAT " so far)",
		        ev.path, ev.count);
		if (!r->removing && !r->room->removing && m->handler)
			m->handler(&ev, m->arg);
	}
}

/* Main thread, media threads stopped: free what is left and stop the I/O thread. */
void ce_media_files_free(struct ce_media *m)
{
	GHashTableIter it;
	gpointer key;

	g_hash_table_iter_init(&it, m->files);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		struct ce_media_play *p = key;

		g_hash_table_iter_remove(&it);
		ce_mfile_close(p->f);
		if (p->destroy)
			p->destroy(p->user);
		g_free(p);
	}
	g_hash_table_iter_init(&it, m->recs);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		struct ce_media_rec *r = key;

		g_hash_table_iter_remove(&it);
		if (r->room->rec_main == r)
			r->room->rec_main = NULL;
		ce_mfile_close(r->f);
		g_free(r);
	}
	g_clear_pointer(&m->io, ce_mfile_io_free);
}
