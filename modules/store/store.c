/* store.c - the store's life cycle, history API, status, and delivery to the main loop */
#define G_LOG_DOMAIN "store"

/*
 * Results reach the store's GMainContext as idle sources (ce_store_deliver);
 * ce_store_free() destroys the ones not yet dispatched, so no callback runs
 * after it.  Queries live in store-query.c, the history writer in
 * store-writer.c.
 */

#include <errno.h>
#include <string.h>

#include "store-db.h"

/** ce_store_error_quark() - the GError domain of the store */
GQuark ce_store_error_quark(void)
{
	return g_quark_from_static_string("ce-store-error-quark");
}

/** ce_store_retryable() - whether @err means "database unreachable or too slow" */
bool ce_store_retryable(int err)
{
	return err == -ENOTCONN || err == -ETIMEDOUT;
}

/** ce_store_note_error() - remember @error for the status line and count it */
void ce_store_note_error(struct ce_store *st, const GError *error)
{
	CE_ATOMIC_INC(&st->failures);
	if (!error)
		return;
	g_mutex_lock(&st->lock);
	g_free(st->last_error);
	st->last_error = g_strdup(error->message);
	g_mutex_unlock(&st->lock);
}

struct delivery {
	GSourceFunc fn;
	gpointer data;
	GDestroyNotify destroy;
};

/* On the store's main context: one result from a worker or the writer. */
static void on_delivery(void *item, G_GNUC_UNUSED void *arg)
{
	struct delivery *d = item;

	d->fn(d->data);
	if (d->destroy)
		d->destroy(d->data);
}

/**
 * ce_store_deliver() - run @fn(@data) on the store's main context, from any thread
 *
 * @destroy frees @data afterwards, or instead when the store is freed first.
 */
void ce_store_deliver(struct ce_store *st, GSourceFunc fn, gpointer data, GDestroyNotify destroy)
{
	struct delivery d = {.fn = fn, .data = data, .destroy = destroy};

	ce_mbox_put(st->delivery, &d); /* it grows without limit: never refused */
}

/**
 * ce_store_add_event() - store a room event; never fails, never blocks
 *
 * The store copies @ev, gives it a uuid (unless set), this node's name and,
 * unless @ev->seq is set (the event stream's id), the next sequence number.
 * A time outside years 1..9999 is clamped.
 */
void ce_store_add_event(struct ce_store *st, const struct ce_event *ev)
{
	struct ce_rec *r = ce_rec_new_event(ev);

	if (!r->ev->node)
		r->ev->node = ce_store_ident(st->opt.node, CE_STORE_ROOM_MAX);
	if (r->ev->seq <= 0) /* the monitor gives its stream id; others get the store's own */
		r->ev->seq = CE_ATOMIC_INC(&st->seq);
	r->ev->at = CLAMP(r->ev->at, CE_STORE_TIME_MIN, CE_STORE_TIME_MAX);
	if ((unsigned)r->ev->kind >= CE_EVENT_N_ROWS)
		r->ev->kind = CE_EVENT_CREATED;
	ce_store_writer_push(st, r);
}

/** ce_store_add_cdr() - store a call detail record; never fails, never blocks */
void ce_store_add_cdr(struct ce_store *st, const struct ce_cdr *cdr)
{
	struct ce_rec *r = ce_rec_new_cdr(cdr);
	struct ce_cdr *c = r->cdr;

	if (!c->node)
		c->node = ce_store_ident(st->opt.node, CE_STORE_ROOM_MAX);
	c->joined_at = CLAMP(c->joined_at, CE_STORE_TIME_MIN, CE_STORE_TIME_MAX);
	c->left_at = CLAMP(c->left_at, c->joined_at, CE_STORE_TIME_MAX);
	c->duration_ms = (c->left_at - c->joined_at) / 1000;
	c->talk_ms = CLAMP(c->talk_ms, 0, c->duration_ms);
	ce_store_writer_push(st, r);
}

/**
 * ce_store_add_line() - keep a line of the event stream; never fails, never blocks
 *
 * The store copies @l and gives it this node's name.  Written in order
 * with the events and CDRs (spooled with them while the database is away).
 */
void ce_store_add_line(struct ce_store *st, const struct ce_stream_line *l)
{
	struct ce_rec *r = ce_rec_new_line(l);

	if (!r->line->node)
		r->line->node = ce_store_ident(st->opt.node, CE_STORE_ROOM_MAX);
	r->line->at = CLAMP(r->line->at, CE_STORE_TIME_MIN, CE_STORE_TIME_MAX);
	ce_store_writer_push(st, r);
}

/** ce_store_room_live() - record a room's current state (participants 0: it is gone) */
void ce_store_room_live(struct ce_store *st, const struct ce_room_live *rl)
{
	struct ce_rec *r = ce_rec_new_live(rl);

	if (!r->live->node)
		r->live->node = ce_store_ident(st->opt.node, CE_STORE_ROOM_MAX);
	r->live->started_at = CLAMP(r->live->started_at, CE_STORE_TIME_MIN, CE_STORE_TIME_MAX);
	r->live->updated_at = CLAMP(r->live->updated_at, CE_STORE_TIME_MIN, CE_STORE_TIME_MAX);
	ce_store_writer_push(st, r);
}

/**
 * ce_store_flush() - call @cb once everything added so far is in the
 * database or in the spool (ce_store_status() tells how much is spooled)
 */
int ce_store_flush(struct ce_store *st, ce_store_done_h *cb, void *arg, GDestroyNotify destroy)
{
	if (!st || !cb)
		return -EINVAL;
	ce_store_writer_flush(st, cb, arg, destroy);
	return 0;
}

/** ce_store_is_up() - whether the database was reachable at the last attempt */
bool ce_store_is_up(const struct ce_store *st)
{
	return g_atomic_int_get(&st->up) != 0;
}

/** ce_store_status() - append "store_key=value,..." for the console's status line */
void ce_store_status(const struct ce_store *st, GString *out)
{
	struct ce_store *s = (struct ce_store *)st;

	g_string_append_printf(out,
	        "store_backend=%s,store_db=%s,store_queued=%" G_GUINT64_FORMAT
	        ",store_spooled=%" G_GUINT64_FORMAT ",store_written=%" G_GUINT64_FORMAT
	        ",store_replayed=%" G_GUINT64_FORMAT ",store_rejected=%" G_GUINT64_FORMAT
	        ",store_failures=%" G_GUINT64_FORMAT,
	        st->ops->name, ce_store_is_up(st) ? "up" : "down", CE_ATOMIC_GET(&s->queued),
	        CE_ATOMIC_GET(&s->spooled), CE_ATOMIC_GET(&s->written), CE_ATOMIC_GET(&s->replayed),
	        CE_ATOMIC_GET(&s->rejected), CE_ATOMIC_GET(&s->failures));
	if (st->ops->memory_used)
		g_string_append_printf(
		        out, ",store_memory=%" G_GINT64_FORMAT, st->ops->memory_used() / 1024);
}

/** ce_store_last_error() - copy of the last database error, or NULL; g_free() it */
char *ce_store_last_error(const struct ce_store *st)
{
	struct ce_store *s = (struct ce_store *)st;
	char *e;

	g_mutex_lock(&s->lock);
	e = g_strdup(s->last_error);
	g_mutex_unlock(&s->lock);
	return e;
}

static int check_options(const struct ce_store_options *o, GError **err)
{
	const char *missing = NULL;

	if (o->backend == CE_STORE_SQLITE && !(o->sqlite_path && *o->sqlite_path))
		missing = "sqlite_path";
	else if (o->backend == CE_STORE_POSTGRESQL && !o->pg_conninfo)
		missing = "pg_conninfo";
	else if (o->backend != CE_STORE_SQLITE && o->backend != CE_STORE_POSTGRESQL)
		missing = "a known backend";
	else if (!(o->spool_dir && *o->spool_dir))
		missing = "spool_dir";
	if (!missing)
		return 0;
	g_set_error(err, CE_STORE_ERROR, CE_STORE_ERROR_CONFIG, "store: %s is required", missing);
	return -EINVAL;
}

static void copy_options(struct ce_store_options *d, const struct ce_store_options *o)
{
	d->backend = o->backend;
	d->sqlite_path = g_strdup(o->sqlite_path);
	d->pg_conninfo = g_strdup(o->pg_conninfo);
	d->spool_dir = g_strdup(o->spool_dir);
	d->node = ce_store_text(o->node ? o->node : g_get_host_name());
	d->workers = o->workers ? MIN(o->workers, 64) : 4;
	d->query_timeout_ms = o->query_timeout_ms ? o->query_timeout_ms : 2000;
	d->reconnect_min_ms = o->reconnect_min_ms ? o->reconnect_min_ms : 250;
	d->reconnect_max_ms =
	        MAX(o->reconnect_max_ms ? o->reconnect_max_ms : 30000, d->reconnect_min_ms);
	d->connect_timeout_ms = o->connect_timeout_ms ? o->connect_timeout_ms : 2000;
}

static void free_options(struct ce_store_options *o)
{
	g_free((char *)o->sqlite_path);
	g_free((char *)o->pg_conninfo);
	g_free((char *)o->spool_dir);
	g_free((char *)o->node);
}

/*
 * SQLite's file must be in a directory that exists: a path that names
 * none is a configuration error, which no retry repairs.
 */
static int check_sqlite_dir(const struct ce_store *st, GError **err)
{
	char *dir = g_path_get_dirname(st->opt.sqlite_path);
	int r = 0;

	if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
		g_set_error(err, CE_STORE_ERROR, CE_STORE_ERROR_CONFIG,
		        "sqlite %s: the directory %s does not exist", st->opt.sqlite_path, dir);
		r = -ENOENT;
	}
	g_free(dir);
	return r;
}

/*
 * SQLite's first connection, made before the main loop runs.  A file that
 * is locked by another process (SQLITE_BUSY) or cannot be read or written
 * now (an I/O error, a full disk) is not fatal: the store starts down and
 * the writer retries with back-off, as for PostgreSQL.  A corrupt or
 * read-only file and a schema newer than the engine are: they need an
 * operator.
 */
static int first_connect(struct ce_store *st, GError **err)
{
	GError *e = NULL;
	int r = check_sqlite_dir(st, err);

	if (r < 0)
		return r;
	r = st->ops->open(&st->wdb, &st->opt, true, &e);
	if (r == 0)
		r = st->ops->migrate(st->wdb, &e);
	if (r == 0) {
		ce_store_read_stream_last(st, st->wdb);
		g_atomic_int_set(&st->up, 1);
		return 0;
	}
	g_clear_pointer(&st->wdb, st->ops->close);
	if (!ce_store_retryable(r)) {
		g_propagate_error(err, e);
		return r;
	}
	g_warning("%s; starting without it (admissions are refused as unavailable, events and "
	          "CDRs are spooled), retrying from %u ms up to every %u ms",
	        e->message, st->opt.reconnect_min_ms, st->opt.reconnect_max_ms);
	ce_store_note_error(st, e);
	g_error_free(e);
	st->start_down = true;
	return 0;
}

/**
 * ce_store_read_stream_last() - note this node's greatest stream id, at the first connection
 *
 * Read before the engine's modules start numbering (the store starts
 * first), so that a clock set back cannot make a new run's ids repeat an
 * earlier run's.  A failure only leaves it unknown (0).
 */
void ce_store_read_stream_last(struct ce_store *st, struct ce_db *db)
{
	GError *e = NULL;
	gint64 last = 0;

	if (CE_ATOMIC_GET(&st->stream_last))
		return;
	if (st->ops->last_line(db, st->opt.node, &last, &e) < 0) {
		g_warning("%s: cannot read the event stream's last id of node %s: %s",
		        st->ops->name, st->opt.node, e ? e->message : "?");
		g_clear_error(&e);
	}
	CE_ATOMIC_SET(&st->stream_last, last);
}

/** ce_store_stream_last() - this node's greatest event stream id in the database at start (0:
 * none, or the database was away) */
gint64 ce_store_stream_last(const struct ce_store *st)
{
	return CE_ATOMIC_GET(&((struct ce_store *)st)->stream_last);
}

/** ce_store_started() - the writer's first connection attempt ended with @r (@error) */
void ce_store_started(struct ce_store *st, int r, const GError *error)
{
	g_mutex_lock(&st->lock);
	if (!st->start_done) {
		st->start_done = true;
		st->start_r = r;
		st->start_error = error ? g_error_copy(error) : NULL;
		g_cond_signal(&st->started);
	}
	g_mutex_unlock(&st->lock);
}

/*
 * PostgreSQL's first connection is the writer's, in its thread: the start
 * waits connect_timeout_ms at most for it.  A server that is away or does
 * not answer in time is not fatal (the writer keeps trying with back-off,
 * admissions answer unavailable, history is spooled); a schema it cannot
 * migrate, reported in time, is.
 */
static int await_first_connect(struct ce_store *st, GError **err)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)st->opt.connect_timeout_ms * 1000;
	GError *e = NULL;
	bool done;
	int r;

	g_mutex_lock(&st->lock);
	while (!st->start_done && g_cond_wait_until(&st->started, &st->lock, deadline))
		;
	done = st->start_done;
	r = st->start_r;
	e = g_steal_pointer(&st->start_error);
	g_mutex_unlock(&st->lock);
	if (!done) {
		g_set_error(&e, CE_STORE_ERROR, CE_STORE_ERROR_UNAVAILABLE,
		        "postgresql: no connection within %u ms at start",
		        st->opt.connect_timeout_ms);
		g_warning("%s; starting without it, events and CDRs are spooled", e->message);
		ce_store_note_error(st, e);
		r = 0;
	} else if (r < 0 && ce_store_retryable(r)) {
		g_warning("%s; starting without it, events and CDRs are spooled", e->message);
		r = 0;
	} else if (r < 0) {
		g_propagate_error(err, g_steal_pointer(&e));
	}
	g_clear_error(&e);
	return r;
}

/**
 * ce_store_new() - open the database, apply migrations, start the threads
 *
 * @ctx: where callbacks run (NULL: the caller's thread-default context).
 * Fails with a GError that says what to fix: a missing option, an SQLite
 * file that is corrupt or read-only or in a directory that does not exist,
 * an unusable spool directory, a schema newer than this engine.  An
 * unreachable PostgreSQL server, or one that does not answer within
 * connect_timeout_ms, and an SQLite file that is locked or cannot be read
 * now are not fatal: the store starts down and reconnects with back-off in
 * the background (then migrates and replays the spool).
 */
int ce_store_new(
        struct ce_store **stp, const struct ce_store_options *opt, GMainContext *ctx, GError **err)
{
	struct ce_store *st = NULL;
	int r = check_options(opt, err);

	if (r < 0)
		goto out;
	st = g_new0(struct ce_store, 1);
	copy_options(&st->opt, opt);
	st->ops = opt->backend == CE_STORE_SQLITE ? &ce_db_sqlite_ops : &ce_db_pg_ops;
	st->ctx = ctx ? g_main_context_ref(ctx) : g_main_context_ref_thread_default();
	g_mutex_init(&st->lock);
	g_cond_init(&st->started);
	st->delivery = ce_mbox_new(sizeof(struct delivery), 64, 0);
	r = ce_mbox_watch(st->delivery, st->ctx, on_delivery, st);
	if (r < 0) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(-r),
		        "store: no result wake-up: %s", g_strerror(-r));
		goto out;
	}
	st->seq = g_get_real_time();
	r = ce_spool_open(&st->spool, st->opt.spool_dir, err);
	if (r == 0 && st->opt.backend == CE_STORE_SQLITE)
		r = first_connect(st, err);
	/* Counted before the writer starts: from then on the spool is the
	 * writer's, which may be replaying it already (and sets this itself). */
	if (r == 0)
		CE_ATOMIC_SET(&st->spooled, ce_spool_pending(st->spool));
	if (r == 0)
		r = ce_store_writer_start(st, err);
	if (r == 0 && st->opt.backend == CE_STORE_POSTGRESQL)
		r = await_first_connect(st, err);
	if (r == 0)
		r = ce_store_workers_start(st, err);
out:
	if (r < 0) {
		ce_store_free(st);
		st = NULL;
	}
	*stp = st;
	return r;
}

/* Results not dispatched yet: their callbacks do not run, their destroy notifies do. */
static void destroy_deliveries(struct ce_store *st)
{
	struct delivery d;

	if (!st->delivery)
		return;
	ce_mbox_unwatch(st->delivery);
	while (ce_mbox_get(st->delivery, &d))
		if (d.destroy)
			d.destroy(d.data);
	ce_mbox_free(st->delivery);
}

/**
 * ce_store_free() - stop the threads and close the store (NULL is fine)
 *
 * Call it from the thread that runs the store's main context.  Queued
 * history is written or spooled first; queries not answered yet are
 * dropped: their callbacks do not run, their destroy notifies do.
 */
void ce_store_free(struct ce_store *st)
{
	if (!st)
		return;
	ce_store_workers_stop(st);
	ce_store_writer_stop(st);
	destroy_deliveries(st);
	ce_store_writer_free(st);
	if (st->wdb)
		st->ops->close(st->wdb);
	ce_spool_close(st->spool);
	g_mutex_clear(&st->lock);
	g_cond_clear(&st->started);
	g_clear_error(&st->start_error);
	g_main_context_unref(st->ctx);
	g_free(st->last_error);
	free_options(&st->opt);
	g_free(st);
}
