/* store-writer.c - the history writer thread: batches to the database, spool, replay, back-off */
#define G_LOG_DOMAIN "store"

/*
 * One thread writes every event, CDR and live-room record, in the order
 * they were added.  Records are written in batches of up to BATCH per
 * transaction.  When the database cannot be reached (or a statement runs
 * out of time) the batch and everything after it goes to the spool, and
 * from then on new records are appended behind it until the spool is
 * empty again, so the order never changes.  Reconnection is tried with
 * exponential back-off between reconnect_min_ms and reconnect_max_ms;
 * once back, the spool is replayed a batch at a time.  A record the
 * database refuses (not a connection problem) is set aside in
 * spool_dir/rejected.txt with the reason, and the rest go on.
 */

#include <errno.h>
#include <stdio.h>

#include "store-db.h"

#define BATCH 256

enum wmsg_type {
	W_REC,
	W_FLUSH,
	W_QUIT,
};

struct wmsg {
	enum wmsg_type type;
	struct ce_rec *rec;
	ce_store_done_h *cb;
	void *arg;
	GDestroyNotify destroy;
};

struct writer {
	struct ce_store *st;
	struct ce_db *db;
	gint64 backoff_ms;
	gint64 next_try; /* monotonic */
	bool spool_broken;
	bool tried; /* a connection was attempted before */
};

static void wmsg_free(gpointer data)
{
	struct wmsg *m = data;

	ce_rec_free(m->rec);
	if (m->destroy)
		m->destroy(m->arg);
	g_free(m);
}

static gboolean flush_done(gpointer data)
{
	struct wmsg *m = data;

	m->cb(m->arg);
	return G_SOURCE_REMOVE;
}

static void reject(struct writer *w, const struct ce_rec *r, const GError *error)
{
	char *path = g_build_filename(w->st->opt.spool_dir, "rejected.txt", NULL);
	GBytes *b = ce_rec_serialize(r);
	GVariant *v = g_variant_new_from_bytes(G_VARIANT_TYPE("(ya{sv})"), b, TRUE);
	char *text = g_variant_print(g_variant_ref_sink(v), FALSE);
	FILE *f = fopen(path, "a");

	g_warning("%s: record refused, kept in %s: %s", w->st->ops->name, path,
	        error ? error->message : "invalid record");
	if (f) {
		fprintf(f, "%s\t%s\n", error ? error->message : "invalid record", text);
		fclose(f);
	}
	CE_ATOMIC_INC(&w->st->rejected);
	g_free(text);
	g_variant_unref(v);
	g_bytes_unref(b);
	g_free(path);
}

/* One record at a time, outside a transaction, to find and set aside the bad ones. */
static int write_each(struct writer *w, GPtrArray *recs, guint *done, GError **err)
{
	const struct ce_db_ops *ops = w->st->ops;

	for (*done = 0; *done < recs->len; (*done)++) {
		GError *e = NULL;
		int r = ce_rec_write(ops, w->db, g_ptr_array_index(recs, *done), &e);
		if (ce_store_retryable(r)) {
			g_propagate_error(err, e);
			return r;
		}
		if (r < 0)
			reject(w, g_ptr_array_index(recs, *done), e);
		g_clear_error(&e);
	}
	return 0;
}

/*
 * Writes @recs in one transaction.  *@done: how many are settled (stored
 * or set aside); on a retryable error the others must be kept.
 */
static int write_batch(struct writer *w, GPtrArray *recs, guint *done, GError **err)
{
	const struct ce_db_ops *ops = w->st->ops;
	GError *e = NULL;
	int r = ops->begin(w->db, &e);

	*done = 0;
	for (guint i = 0; r == 0 && i < recs->len; i++)
		r = ce_rec_write(ops, w->db, g_ptr_array_index(recs, i), &e);
	if (r == 0)
		r = ops->commit(w->db, &e);
	if (r == 0) {
		*done = recs->len;
		return 0;
	}
	if (!ce_store_retryable(r))
		ops->rollback(w->db);
	if (ce_store_retryable(r)) {
		g_propagate_error(err, e);
		return r;
	}
	g_clear_error(&e);
	return write_each(w, recs, done, err);
}

static void lose_db(struct writer *w, const GError *error)
{
	struct ce_store *st = w->st;

	g_warning("%s: database unreachable, spooling events and CDRs (retry in %" G_GINT64_FORMAT
	          " ms): %s",
	        st->ops->name, w->backoff_ms, error ? error->message : "?");
	ce_store_note_error(st, error);
	g_clear_pointer(&w->db, st->ops->close);
	g_atomic_int_set(&st->up, 0);
	w->next_try = g_get_monotonic_time() + w->backoff_ms * 1000;
	w->backoff_ms = MIN(w->backoff_ms * 2, (gint64)st->opt.reconnect_max_ms);
}

static void maybe_connect(struct writer *w)
{
	struct ce_store *st = w->st;
	GError *e = NULL;
	int r;

	if (w->db || g_get_monotonic_time() < w->next_try)
		return;
	r = st->ops->open(&w->db, &st->opt, true, &e);
	if (r == 0)
		r = st->ops->migrate(w->db, &e);
	if (r < 0) {
		w->tried = true;
		lose_db(w, e);
		ce_store_started(st, r, e);
		g_error_free(e);
		return;
	}
	if (w->tried)
		g_message("%s: database reachable again; %" G_GUINT64_FORMAT
		          " spooled records to replay",
		        st->ops->name, ce_spool_pending(st->spool));
	w->tried = true;
	w->backoff_ms = st->opt.reconnect_min_ms;
	CE_ATOMIC_SET(&st->worker_retry_at, 0);
	ce_store_read_stream_last(st, w->db); /* before the start goes on: see there */
	g_atomic_int_set(&st->up, 1);
	ce_store_started(st, 0, NULL);
}

/* Appends @recs to the spool; on failure they stay in @recs for the next try. */
static void spool_recs(struct writer *w, GPtrArray *recs)
{
	struct ce_store *st = w->st;
	GPtrArray *bytes = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	GError *e = NULL;

	for (guint i = 0; i < recs->len; i++)
		g_ptr_array_add(bytes, ce_rec_serialize(g_ptr_array_index(recs, i)));
	if (ce_spool_append(st->spool, (GBytes *const *)bytes->pdata, bytes->len, &e) < 0) {
		if (!w->spool_broken)
			g_critical("%s: %s; %u records held in memory", st->ops->name, e->message,
			        recs->len);
		w->spool_broken = true;
		ce_store_note_error(st, e);
		g_error_free(e);
	} else {
		w->spool_broken = false;
		g_ptr_array_set_size(recs, 0);
	}
	CE_ATOMIC_SET(&st->spooled, ce_spool_pending(st->spool));
	g_ptr_array_unref(bytes);
}

static void store_recs(struct writer *w, GPtrArray *recs)
{
	GError *e = NULL;
	guint done = 0;

	if (w->db && !ce_spool_pending(w->st->spool)) {
		int r = write_batch(w, recs, &done, &e);
		CE_ATOMIC_ADD(&w->st->written, done);
		g_ptr_array_remove_range(recs, 0, done);
		if (r < 0)
			lose_db(w, e);
		g_clear_error(&e);
	}
	if (recs->len)
		spool_recs(w, recs);
}

static void replay_chunk(struct writer *w)
{
	struct ce_store *st = w->st;
	GPtrArray *bytes = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	GPtrArray *recs = g_ptr_array_new_with_free_func((GDestroyNotify)ce_rec_free);
	GError *e = NULL;
	guint64 next = 0;
	guint done = 0;
	int n = ce_spool_peek(st->spool, BATCH, bytes, &next, &e);

	for (int i = 0; i < n; i++) {
		struct ce_rec *r = NULL;
		if (ce_rec_deserialize(&r, g_ptr_array_index(bytes, i)) < 0)
			g_warning("%s: skipping an unreadable spooled record", st->ops->name);
		else
			g_ptr_array_add(recs, r);
	}
	if (n >= 0 && write_batch(w, recs, &done, &e) < 0) {
		lose_db(w, e);
	} else if (n >= 0 && ce_spool_consume(st->spool, next, (guint)n, &e) == 0) {
		CE_ATOMIC_ADD(&st->replayed, done);
		CE_ATOMIC_ADD(&st->written, done);
	} else {
		g_critical("%s: %s", st->ops->name, e ? e->message : "spool failure");
		w->next_try = g_get_monotonic_time() + w->backoff_ms * 1000;
	}
	CE_ATOMIC_SET(&st->spooled, ce_spool_pending(st->spool));
	g_clear_error(&e);
	g_ptr_array_unref(recs);
	g_ptr_array_unref(bytes);
}

/* The next message if there is one, without waiting. */
static struct wmsg *take(struct ce_store *st)
{
	struct wmsg *m = NULL;

	ce_mbox_get(st->wq, &m);
	return m;
}

/* The next message: at once when there is work, else when one comes or a retry is due. */
static struct wmsg *next_msg(struct writer *w, bool held)
{
	struct ce_store *st = w->st;
	gint64 wait;

	struct wmsg *m = NULL;

	if (w->db && (held || ce_spool_pending(st->spool)))
		wait = 0;
	else if (w->db)
		wait = -1;
	else
		wait = MAX(w->next_try - g_get_monotonic_time(), 1000);
	ce_mbox_wait(st->wq, &m, wait);
	return m;
}

/* Neither database nor spool takes the held records: pause until the next try. */
static void pause_held(struct writer *w, GPtrArray *recs)
{
	gint64 wait = w->next_try - g_get_monotonic_time();

	if (!w->db && recs->len >= BATCH && wait > 0)
		g_usleep((gulong)MIN(wait, 50000));
}

/* Takes records from the queue into @recs; returns the first non-record message. */
static struct wmsg *gather(struct writer *w, struct wmsg *m, GPtrArray *recs)
{
	while (m && m->type == W_REC && recs->len < BATCH) {
		g_ptr_array_add(recs, g_steal_pointer(&m->rec));
		wmsg_free(m);
		CE_ATOMIC_ADD(&w->st->queued, (guint64)-1);
		m = take(w->st);
	}
	return m;
}

static void drain(struct writer *w, GPtrArray *recs)
{
	struct wmsg *m;

	while ((m = take(w->st)) != NULL) {
		if (m->type == W_REC)
			g_ptr_array_add(recs, g_steal_pointer(&m->rec));
		wmsg_free(m);
	}
	store_recs(w, recs);
	if (recs->len)
		g_critical("%s: %u records lost at shutdown: neither database nor spool took them",
		        w->st->ops->name, recs->len);
}

static gpointer writer_main(gpointer data)
{
	struct writer w = {.st = data};
	GPtrArray *recs = g_ptr_array_new_with_free_func((GDestroyNotify)ce_rec_free);
	struct wmsg *m = NULL;

	w.db = g_steal_pointer(&w.st->wdb);
	w.backoff_ms = w.st->opt.reconnect_min_ms;
	w.tried = w.st->start_down; /* so that its coming up is logged */
	for (;;) {
		if (!m)
			m = next_msg(&w, recs->len > 0);
		else
			pause_held(&w, recs);
		m = gather(&w, m, recs);
		maybe_connect(&w);
		if (recs->len)
			store_recs(&w, recs);
		if (w.db && ce_spool_pending(w.st->spool))
			replay_chunk(&w);
		if (m && m->type == W_FLUSH)
			ce_store_deliver(w.st, flush_done, g_steal_pointer(&m), wmsg_free);
		else if (m && m->type == W_QUIT)
			break;
	}
	wmsg_free(m);
	drain(&w, recs);
	g_ptr_array_unref(recs);
	if (w.db)
		w.st->ops->close(w.db);
	return NULL;
}

/** ce_store_writer_start() - start the writer thread; it takes st->wdb (may be NULL) */
int ce_store_writer_start(struct ce_store *st, GError **err)
{
	st->wq = ce_mbox_new(sizeof(struct wmsg *), 256, 0);
	st->writer = g_thread_try_new("store-writer", writer_main, st, err);
	return st->writer ? 0 : -EAGAIN;
}

/** ce_store_writer_stop() - write or spool what is queued, then stop the thread */
void ce_store_writer_stop(struct ce_store *st)
{
	struct wmsg *m;

	if (!st->writer)
		return;
	m = g_new0(struct wmsg, 1);
	m->type = W_QUIT;
	ce_mbox_put(st->wq, &m); /* it grows without limit: never refused */
	g_thread_join(st->writer);
	st->writer = NULL;
}

/** ce_store_writer_free() - free the writer's mailbox and what a stopped writer left in it */
void ce_store_writer_free(struct ce_store *st)
{
	struct wmsg *m;

	if (!st->wq)
		return;
	while ((m = take(st)) != NULL)
		wmsg_free(m);
	g_clear_pointer(&st->wq, ce_mbox_free);
}

/** ce_store_writer_push() - queue @r for the writer (takes it) */
void ce_store_writer_push(struct ce_store *st, struct ce_rec *r)
{
	struct wmsg *m = g_new0(struct wmsg, 1);

	m->type = W_REC;
	m->rec = r;
	CE_ATOMIC_INC(&st->queued);
	ce_mbox_put(st->wq, &m); /* it grows without limit: never refused */
}

/** ce_store_writer_flush() - queue a marker; @cb runs on the main context when reached */
void ce_store_writer_flush(
        struct ce_store *st, ce_store_done_h *cb, void *arg, GDestroyNotify destroy)
{
	struct wmsg *m = g_new0(struct wmsg, 1);

	m->type = W_FLUSH;
	m->cb = cb;
	m->arg = arg;
	m->destroy = destroy;
	ce_mbox_put(st->wq, &m); /* it grows without limit: never refused */
}
