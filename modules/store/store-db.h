/* store-db.h - private to the store: backend interface, records, spool, migrations */
#ifndef CE_STORE_DB_H
#define CE_STORE_DB_H

#include "base/atomic.h"
#include "base/mailbox.h"
#include "store.h"

/*
 * A backend connection is used by one thread at a time.  Its functions
 * return 0 or a negative errno, and set a GError where the text helps:
 *   -ENOTCONN   the connection is lost (the caller reconnects with back-off)
 *   -ETIMEDOUT  the statement ran out of time (the connection is reset)
 *   -EIO        the database refused the statement (data or schema)
 *   -ERANGE     a value outside what the schema can hold
 */
struct ce_db;

struct ce_db_ops {
	const char *name;
	int (*open)(
	        struct ce_db **dbp, const struct ce_store_options *opt, bool writer, GError **err);
	void (*close)(struct ce_db *db);
	int (*migrate)(struct ce_db *db, GError **err);
	int (*begin)(struct ce_db *db, GError **err);
	int (*commit)(struct ce_db *db, GError **err);
	void (*rollback)(struct ce_db *db);
	int (*find_conferences)(
	        struct ce_db *db, const char *key, gint64 now, GPtrArray *out, GError **err);
	int (*list_conferences)(
	        struct ce_db *db, gint64 from, gint64 to, GPtrArray *out, GError **err);
	int (*list_participants)(
	        struct ce_db *db, gint64 conference_id, GPtrArray *out, GError **err);
	/*
	 * The participants whose number, normalised as CE_STORE_NUMBER_SQL, is
	 * @number, in conferences open at @now and not cancelled: @confs[i] is
	 * the conference of @parts[i]; the latest starts_at first (then the
	 * latest id), at most 64.
	 */
	int (*find_number)(struct ce_db *db, const char *number, gint64 now, GPtrArray *confs,
	        GPtrArray *parts, GError **err);
	int (*put_conference)(
	        struct ce_db *db, const struct ce_conference *c, gint64 *id, GError **err);
	/* the row @id (none or one in @out), locked until the transaction ends */
	int (*lock_conference)(struct ce_db *db, gint64 id, GPtrArray *out, GError **err);
	/* the first conference other than @c, not cancelled, of its access number or
	 * room, that starts at or after it (none or one in @out) */
	int (*next_conference)(
	        struct ce_db *db, const struct ce_conference *c, GPtrArray *out, GError **err);
	int (*put_participant)(
	        struct ce_db *db, const struct ce_participant *p, gint64 *id, GError **err);
	int (*query_conferences)(struct ce_db *db, const struct ce_conference_query *q,
	        GPtrArray *out, GError **err);
	/*
	 * The first conference other than @c, not cancelled, of its access number
	 * or room, whose [starts_at, ends_at) meets @c's (none or one in @out).
	 * PostgreSQL takes a lock until the transaction ends, so that two
	 * bookings cannot both pass it; SQLite's BEGIN IMMEDIATE does that.
	 */
	int (*overlapping)(
	        struct ce_db *db, const struct ce_conference *c, GPtrArray *out, GError **err);
	/* conference @id (and its participants), or participant @id of it
	 * (@conference_id not 0): -ENOENT when there is no such row */
	int (*delete_row)(struct ce_db *db, gint64 conference_id, gint64 id, GError **err);
	int (*add_event)(struct ce_db *db, const struct ce_event *ev, GError **err);
	int (*add_cdr)(struct ce_db *db, const struct ce_cdr *cdr, GError **err);
	/* history rows (struct ce_event *, struct ce_cdr *) matching @f, in id order */
	int (*list_events)(
	        struct ce_db *db, const struct ce_history_filter *f, GPtrArray *out, GError **err);
	int (*list_cdrs)(
	        struct ce_db *db, const struct ce_history_filter *f, GPtrArray *out, GError **err);
	int (*room_live)(struct ce_db *db, const struct ce_room_live *rl, GError **err);
	/* a stream line (replayed twice: stored once); the lines @f selects, in seq order */
	int (*add_line)(struct ce_db *db, const struct ce_stream_line *l, GError **err);
	int (*list_lines)(struct ce_db *db, const char *node, const struct ce_stream_filter *f,
	        GPtrArray *out, GError **err);
	/* @node's greatest stream id (0: none) */
	int (*last_line)(struct ce_db *db, const char *node, gint64 *seq, GError **err);
	/* bytes the database library holds in this process now (NULL: not known) */
	gint64 (*memory_used)(void);
};

extern const struct ce_db_ops ce_db_sqlite_ops;
extern const struct ce_db_ops ce_db_pg_ops;
int ce_db_pg_check_conninfo(const char *conninfo, GError **err);

/* Migrations compiled in from sql/<backend>/NNN-name.sql (migrations.c). */
struct ce_migration {
	int version;
	const char *name;
	const char *sql;
};
extern const struct ce_migration ce_migrations_sqlite[];
extern const struct ce_migration ce_migrations_postgresql[];

/* A history record on its way to the database or the spool. */
enum ce_rec_type {
	CE_REC_EVENT = 1,
	CE_REC_CDR,
	CE_REC_LIVE,
	CE_REC_LINE,
};

struct ce_rec {
	enum ce_rec_type type;
	union {
		struct ce_event *ev;
		struct ce_cdr *cdr;
		struct ce_room_live *live;
		struct ce_stream_line *line;
	};
};

struct ce_rec *ce_rec_new_event(const struct ce_event *ev);
struct ce_rec *ce_rec_new_cdr(const struct ce_cdr *cdr);
struct ce_rec *ce_rec_new_live(const struct ce_room_live *rl);
struct ce_rec *ce_rec_new_line(const struct ce_stream_line *l);
void ce_rec_free(struct ce_rec *r);
GBytes *ce_rec_serialize(const struct ce_rec *r);
int ce_rec_deserialize(struct ce_rec **rp, GBytes *data);
int ce_rec_write(
        const struct ce_db_ops *ops, struct ce_db *db, const struct ce_rec *r, GError **err);

char *ce_store_text(const char *s);
char *ce_store_ident(const char *s, gsize max);
struct ce_participant *ce_participant_dup(const struct ce_participant *p);
bool ce_store_time_ok(gint64 t);
bool ce_store_pin_equal(const char *a, const char *b);
char *ce_store_number(const char *s);

/*
 * A participant's number as matched: spaces, '-', '.', '(' and ')'
 * dropped; the same expression as the index participants_number_idx
 * (migration 004), so that the lookup uses it.
 */
#define CE_STORE_NUMBER_SQL(col)                                                                   \
	"replace(replace(replace(replace(replace(" col                                             \
	", ' ', ''), '-', ''), '.', ''), '(', ''), "                                               \
	"')', '')"

/* The durable spool: an append-only file of records with a read position. */
struct ce_spool;

int ce_spool_open(struct ce_spool **sp, const char *dir, GError **err);
void ce_spool_close(struct ce_spool *sp);
int ce_spool_append(struct ce_spool *sp, GBytes *const *recs, guint n, GError **err);
int ce_spool_peek(struct ce_spool *sp, guint max, GPtrArray *out, guint64 *next, GError **err);
int ce_spool_consume(struct ce_spool *sp, guint64 next, guint n, GError **err);
guint64 ce_spool_pending(const struct ce_spool *sp);

/* Longest early_join_s/early_alert_s/end_*_s honoured (10 years); larger ones are clamped. */
#define CE_STORE_WINDOW_MAX_S 316224000
#define CE_STORE_WINDOW_MAX   G_STRINGIFY(CE_STORE_WINDOW_MAX_S)

/* The store itself, shared by store.c (queries) and store-writer.c (history). */
struct ce_store {
	struct ce_store_options opt; /* strings owned */
	const struct ce_db_ops *ops;
	GMainContext *ctx;

	struct ce_mbox *jobs; /* struct job * for the query workers */
	GThread **workers;
	unsigned n_workers;
	gint64 worker_retry_at; /* monotonic; atomic */

	GMutex lock;              /* guards what follows */
	struct ce_mbox *delivery; /* struct delivery: results for the main context */
	char *last_error;
	GCond started; /* the writer's first connection attempt is over: */
	bool start_done;
	int start_r;         /* its result */
	GError *start_error; /* and error */

	struct ce_mbox *wq; /* struct wmsg * for the writer */
	GThread *writer;
	struct ce_db *wdb; /* the writer's connection, handed over at start */
	bool start_down;   /* SQLite could not be opened at start: the writer retries */
	struct ce_spool *spool;
	gint up;            /* atomic: the writer reaches the database */
	gint64 seq;         /* atomic: last event sequence number */
	gint64 stream_last; /* atomic: this node's greatest stream id at start (0: unknown) */
	guint64 queued;     /* atomic counters for status */
	guint64 spooled;    /* records in the spool now */
	guint64 written;
	guint64 replayed;
	guint64 rejected;
	guint64 failures;
};

void ce_store_deliver(struct ce_store *st, GSourceFunc fn, gpointer data, GDestroyNotify destroy);
void ce_store_note_error(struct ce_store *st, const GError *error);
bool ce_store_retryable(int err);
int ce_store_workers_start(struct ce_store *st, GError **err);
void ce_store_workers_stop(struct ce_store *st);
void ce_store_started(struct ce_store *st, int r, const GError *error);
int ce_store_writer_start(struct ce_store *st, GError **err);
void ce_store_read_stream_last(struct ce_store *st, struct ce_db *db);
void ce_store_writer_stop(struct ce_store *st);
void ce_store_writer_free(struct ce_store *st);
void ce_store_writer_push(struct ce_store *st, struct ce_rec *r);
void ce_store_writer_flush(
        struct ce_store *st, ce_store_done_h *cb, void *arg, GDestroyNotify destroy);

#endif
