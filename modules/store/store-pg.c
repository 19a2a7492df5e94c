/* store-pg.c - the PostgreSQL backend: libpq, non-blocking I/O with deadlines, prepared statements
 */
#define G_LOG_DOMAIN "store"

/*
 * Every wait on the server is bounded by query_timeout_ms: connecting,
 * sending and reading results all poll the socket against a deadline, and
 * the server's own statement_timeout is set to the same value.  A timed-out
 * statement is cancelled and its connection dropped.  Times cross the wire
 * as integer microseconds and are converted in SQL, so no precision is lost.
 *
 * Over 700 lines: the non-blocking libpq session with its deadlines and
 * every statement of the store in one place, so that each query's SQL sits
 * beside its parameters and its result parsing.
 */

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "store-db.h"

#define MAX_PARAMS 25
#define TS(n)      "('epoch'::timestamptz + $" #n "::bigint * interval '1 microsecond')"
#define EP(col)    "(extract(epoch FROM " col ") * 1000000)::bigint"

enum query {
	Q_FIND,
	Q_LIST,
	Q_PARTS,
	Q_NUMBER,
	Q_CONF_INSERT,
	Q_CONF_UPDATE,
	Q_PART_INSERT,
	Q_PART_UPDATE,
	Q_EVENT,
	Q_CDR,
	Q_LIVE_UPSERT,
	Q_LIVE_DELETE,
	Q_CONF_LOCK,
	Q_CONF_NEXT,
	Q_QUERY,
	Q_OVERLAP,
	Q_CONF_DELETE,
	Q_PART_DELETE,
	Q_EVENTS,
	Q_CDRS,
	Q_LINE,
	Q_LINES,
	Q_LAST_LINE,
	Q_N
};

/* clang-format off */
#define CONF_COLS                                                                           \
	"id, access_number, room, title, pin, moderator_pin, " EP("starts_at") ", "           \
	EP("ends_at") ", time_zone, early_join_s, early_alert_s, end_alert_s, end_grace_s, " \
	"max_participants, record, record_file, announce_join, announce_count, "              \
	"wait_for_moderator, end_with_moderator, muted_on_entry, language, options, cancelled, " \
	"always_pin"
#define CONF_NCOLS 25
#define PART_COLS "id, conference_id, name, address, role, pin, dial_out, number"
#define CONF_VALS                                                                          \
	"$2, $3, $4, $5, $6, " TS(7) ", " TS(8) ", $9, $10, $11, $12, $13, $14, $15, $16, $17, " \
	"$18, $19, $20, $21, $22, $23, $24, $25"
#define CONF_NEW_VALS                                                                     \
	"$1, $2, $3, $4, $5, " TS(6) ", " TS(7) ", $8, $9, $10, $11, $12, $13, $14, $15, $16, " \
	"$17, $18, $19, $20, $21, $22, $23, $24"

/*
 * How long before starts_at a conference is looked up: both windows clamped
 * like col_secs() and added as bigint (their int sum overflows).
 */
#define EARLY_SECS                                                          \
	"(LEAST(GREATEST(early_join_s, 0), " CE_STORE_WINDOW_MAX ")::bigint" \
	" + LEAST(GREATEST(early_alert_s, 0), " CE_STORE_WINDOW_MAX "))"

#define EVENT_COLS                                                                            \
	"id, uuid, node, seq, " EP("at") ", kind, room, conference_id, leg, participant_id, role, " \
	"caller, caller_name, called, direction, detail"
#define CDR_COLS                                                                             \
	"id, uuid, node, room, conference_id, leg, participant_id, role, caller, caller_name, "  \
	"called, direction, " EP("joined_at") ", " EP("left_at") ", duration_ms, talk_ms, reason, " \
	"billid, seq"
/*
 * $1 after, $2 from, $3 to, $4 room, $5 conference, $6 limit, $7 kind.  A
 * filter not set is passed as NULL: PostgreSQL plans a prepared statement
 * with the values bound (a custom plan) as long as a generic one would
 * cost more, as it does here, so the room and conference indexes serve.
 */
#define HISTORY_WHERE(at)                                                                  \
	" WHERE id > $1 AND " at " >= " TS(2) " AND " at " < " TS(3)                        \
	" AND ($4::text IS NULL OR room = $4) AND ($5::bigint IS NULL OR conference_id = $5)"

static const char *const sql[Q_N] = {
	[Q_FIND] = "SELECT " CONF_COLS " FROM conferences WHERE (access_number = $1 OR room = $1)"
		   " AND starts_at - " EARLY_SECS " * interval '1 second' <= " TS(2)
		   " AND ends_at >= " TS(2) " - interval '1 day' ORDER BY starts_at, id LIMIT 64",
	[Q_LIST] = "SELECT " CONF_COLS " FROM conferences WHERE ends_at >= " TS(1)
		   " AND starts_at <= " TS(2) " ORDER BY starts_at, id LIMIT 1000",
	[Q_PARTS] = "SELECT " PART_COLS " FROM participants WHERE conference_id = $1 ORDER BY id",
	/* the participant's columns renamed, so that CONF_COLS name the conference's */
	[Q_NUMBER] = "SELECT " CONF_COLS ", p.* FROM conferences JOIN (SELECT id AS p_id,"
		     " conference_id AS p_conference_id, name AS p_name, address AS p_address,"
		     " role AS p_role, pin AS p_pin, dial_out AS p_dial_out, number AS p_number"
		     " FROM participants WHERE " CE_STORE_NUMBER_SQL("number") " = $1) p"
		     " ON p_conference_id = id WHERE NOT cancelled AND ends_at > " TS(2)
		     " AND starts_at - LEAST(GREATEST(early_join_s, 0), " CE_STORE_WINDOW_MAX ")"
		     " * interval '1 second' <= " TS(2)
		     " ORDER BY starts_at DESC, id DESC, p_id LIMIT 64",
	[Q_CONF_INSERT] = "INSERT INTO conferences (access_number, room, title, pin, moderator_pin,"
			  " starts_at, ends_at, time_zone, early_join_s, early_alert_s, end_alert_s,"
			  " end_grace_s, max_participants, record, record_file, announce_join,"
			  " announce_count, wait_for_moderator, end_with_moderator, muted_on_entry,"
			  " language, options, cancelled, always_pin) VALUES (" CONF_NEW_VALS ")"
			  " RETURNING id",
	[Q_CONF_UPDATE] = "UPDATE conferences SET (access_number, room, title, pin, moderator_pin,"
			  " starts_at, ends_at, time_zone, early_join_s, early_alert_s, end_alert_s,"
			  " end_grace_s, max_participants, record, record_file, announce_join,"
			  " announce_count, wait_for_moderator, end_with_moderator, muted_on_entry,"
			  " language, options, cancelled, always_pin, updated_at) = (" CONF_VALS
			  ", now())"
			  " WHERE id = $1 RETURNING id",
	[Q_PART_INSERT] = "INSERT INTO participants (conference_id, name, address, role, pin, dial_out,"
			  " number) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
	[Q_PART_UPDATE] = "UPDATE participants SET (conference_id, name, address, role, pin, "
			  "dial_out, number) = ($2, $3, $4, $5, $6, $7, $8) WHERE id = $1 RETURNING id",
	[Q_EVENT] = "INSERT INTO events (uuid, node, seq, at, kind, room, conference_id, leg,"
		    " participant_id, caller, caller_name, detail, role, called, direction) VALUES"
		    " ($1, $2, $3, " TS(4) ", $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
		    " ON CONFLICT (uuid) DO NOTHING",
	[Q_CDR] = "INSERT INTO cdrs (uuid, node, room, conference_id, leg, participant_id, role,"
		  " caller, caller_name, called, joined_at, left_at, duration_ms, talk_ms, reason,"
		  " billid, direction, seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, " TS(11)
		  ", " TS(12) ", $13, $14, $15, $16, $17, $18) ON CONFLICT (uuid) DO NOTHING",
	[Q_LIVE_UPSERT] = "INSERT INTO live_rooms (node, room, conference_id, participants, "
			  "started_at, updated_at) VALUES ($1, $2, $3, $4, " TS(5) ", " TS(6)
			  ") ON CONFLICT (node, room) DO UPDATE SET conference_id = $3, "
			  "participants = $4, started_at = " TS(5) ", updated_at = " TS(6),
	[Q_LIVE_DELETE] = "DELETE FROM live_rooms WHERE node = $1 AND room = $2",
	[Q_CONF_LOCK] = "SELECT " CONF_COLS " FROM conferences WHERE id = $1 FOR UPDATE",
	[Q_CONF_NEXT] = "SELECT " CONF_COLS " FROM conferences WHERE id <> $1 AND NOT cancelled"
			" AND (access_number = $2 OR room = $3) AND starts_at >= " TS(4)
			" ORDER BY starts_at, id LIMIT 1",
	[Q_QUERY] = "SELECT " CONF_COLS " FROM conferences WHERE ($1::bigint IS NULL OR id = $1)"
		    " AND ends_at >= " TS(2) " AND starts_at <= " TS(3)
		    " AND ($4::text IS NULL OR access_number = $4)"
		    " AND ($5::boolean IS NULL OR cancelled = $5)"
		    " ORDER BY starts_at, id LIMIT $6 OFFSET $7",
	[Q_OVERLAP] = "SELECT " CONF_COLS " FROM conferences WHERE id <> $1 AND NOT cancelled"
		      " AND (access_number = $2 OR room = $3) AND starts_at < " TS(5)
		      " AND ends_at > " TS(4) " ORDER BY starts_at, id LIMIT 1",
	[Q_CONF_DELETE] = "DELETE FROM conferences WHERE id = $1 RETURNING id",
	[Q_PART_DELETE] = "DELETE FROM participants WHERE id = $1 AND conference_id = $2 RETURNING id",
	[Q_EVENTS] = "SELECT " EVENT_COLS " FROM events" HISTORY_WHERE("at")
		     " AND ($7::text IS NULL OR kind = $7) ORDER BY id LIMIT $6",
	[Q_CDRS] = "SELECT " CDR_COLS " FROM cdrs" HISTORY_WHERE("joined_at") " ORDER BY id LIMIT $6",
	[Q_LINE] = "INSERT INTO event_stream (node, seq, run, at, room, conference_id, line) VALUES"
		   " ($1, $2, $3, " TS(4) ", $5, $6, $7) ON CONFLICT (node, seq) DO NOTHING",
	/* every row of the range (the reader sees missing ids), the text of those that pass */
	[Q_LINES] = "SELECT seq, run, CASE WHEN ($4::text IS NULL OR room = $4) AND"
		    " ($5::bigint IS NULL OR conference_id = $5) THEN line END FROM event_stream"
		    " WHERE node = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $6",
	[Q_LAST_LINE] = "SELECT max(seq) FROM event_stream WHERE node = $1",
};
/* clang-format on */

struct ce_db {
	PGconn *conn;
	unsigned timeout_ms;
	guint32 prepared; /* bit per enum query */
};

/* Parameters in text form; integers are formatted into owned strings. */
struct params {
	const char *v[MAX_PARAMS];
	char *owned[MAX_PARAMS];
	int n;
};

static void p_s(struct params *p, const char *s)
{
	p->v[p->n++] = s;
}

static void p_x(struct params *p, gint64 x)
{
	p->owned[p->n] = g_strdup_printf("%" G_GINT64_FORMAT, x);
	p->v[p->n] = p->owned[p->n];
	p->n++;
}

static void p_id(struct params *p, gint64 id)
{
	if (id)
		p_x(p, id);
	else
		p_s(p, NULL);
}

static void p_b(struct params *p, bool b)
{
	p_s(p, b ? "t" : "f");
}

static void p_clear(struct params *p)
{
	for (int i = 0; i < p->n; i++)
		g_free(p->owned[i]);
}

static int lost(GError **err, const char *what, const char *msg)
{
	char *text = g_strdup(msg && *msg ? msg : "connection lost");

	/* libpq's messages end in a newline and may span lines */
	g_strchomp(g_strdelimit(text, "\n", ' '));
	g_set_error(
	        err, CE_STORE_ERROR, CE_STORE_ERROR_UNAVAILABLE, "postgresql %s: %s", what, text);
	g_free(text);
	return -ENOTCONN;
}

/* Waits until the socket is readable (or writable) or @deadline passes. */
static int wait_sock(PGconn *conn, bool write, gint64 deadline)
{
	struct pollfd pfd = {.fd = PQsocket(conn), .events = write ? POLLOUT : POLLIN};
	gint64 left = deadline - g_get_monotonic_time();
	int r;

	if (pfd.fd < 0)
		return -ENOTCONN;
	if (left <= 0)
		return -ETIMEDOUT;
	do
		r = poll(&pfd, 1, (int)MAX(1, left / 1000));
	while (r < 0 && errno == EINTR);
	return r > 0 ? 0 : r == 0 ? -ETIMEDOUT : -errno;
}

static void cancel(PGconn *conn)
{
	PGcancel *c = PQgetCancel(conn);
	char buf[256];

	if (c) {
		PQcancel(c, buf, sizeof(buf));
		PQfreeCancel(c);
	}
}

/* Sends what is buffered and reads until a result is ready, within @deadline. */
static int pump(struct ce_db *db, gint64 deadline, GError **err)
{
	int r, f;

	while ((f = PQflush(db->conn)) == 1) {
		if ((r = wait_sock(db->conn, true, deadline)) < 0)
			goto fail;
		if (!PQconsumeInput(db->conn))
			return lost(err, "send", PQerrorMessage(db->conn));
	}
	if (f < 0)
		return lost(err, "send", PQerrorMessage(db->conn));
	while (PQisBusy(db->conn)) {
		if ((r = wait_sock(db->conn, false, deadline)) < 0)
			goto fail;
		if (!PQconsumeInput(db->conn))
			return lost(err, "receive", PQerrorMessage(db->conn));
	}
	return 0;
fail:
	if (r == -ETIMEDOUT) {
		cancel(db->conn);
		g_set_error(err, CE_STORE_ERROR, CE_STORE_ERROR_TIMEOUT,
		        "postgresql: no answer within %u ms", db->timeout_ms);
		return r;
	}
	return lost(err, "wait", g_strerror(-r));
}

/* Classifies a failed result by its SQLSTATE. */
static int result_error(struct ce_db *db, PGresult *res, GError **err)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorMessage(res);
	char *text = g_strchomp(g_strdup(msg && *msg ? msg : PQerrorMessage(db->conn)));
	int r = -EIO, code = CE_STORE_ERROR_QUERY;

	if (PQstatus(db->conn) == CONNECTION_BAD || !state || g_str_has_prefix(state, "08") ||
	        g_str_has_prefix(state, "57P")) {
		r = -ENOTCONN;
		code = CE_STORE_ERROR_UNAVAILABLE;
	} else if (strcmp(state, "57014") == 0) {
		r = -ETIMEDOUT;
		code = CE_STORE_ERROR_TIMEOUT;
	} else if (g_str_has_prefix(state, "22")) {
		r = -ERANGE;
		code = CE_STORE_ERROR_DATA;
	}
	g_set_error(err, CE_STORE_ERROR, code, "postgresql: %s", text);
	g_free(text);
	return r;
}

/* Collects the results of what was sent; *@resp gets the last one (or NULL). */
static int finish(struct ce_db *db, PGresult **resp, GError **err)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)db->timeout_ms * 1000;
	PGresult *res, *last = NULL;
	GError *e = NULL;
	int r = 0;

	for (;;) {
		/* after the first error, only drain: keep the first message */
		int p = pump(db, deadline, e ? NULL : &e);
		if (p < 0) {
			r = r ? r : p;
			break;
		}
		res = PQgetResult(db->conn);
		if (!res)
			break;
		ExecStatusType s = PQresultStatus(res);
		if (r == 0 && s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK)
			r = result_error(db, res, &e);
		PQclear(last);
		last = res;
	}
	if (r == 0 && !last)
		r = lost(&e, "query", PQerrorMessage(db->conn));
	if (r < 0 || !resp)
		g_clear_pointer(&last, PQclear);
	if (resp)
		*resp = last;
	if (e)
		g_propagate_error(err, e);
	return r;
}

static int simple(struct ce_db *db, const char *text, GError **err)
{
	if (!PQsendQuery(db->conn, text))
		return lost(err, "send", PQerrorMessage(db->conn));
	return finish(db, NULL, err);
}

static int prepare(struct ce_db *db, enum query q, GError **err)
{
	char name[16];
	int r;

	if (db->prepared & (1u << q))
		return 0;
	g_snprintf(name, sizeof(name), "ce%d", (int)q);
	if (!PQsendPrepare(db->conn, name, sql[q], 0, NULL))
		return lost(err, "prepare", PQerrorMessage(db->conn));
	r = finish(db, NULL, err);
	if (r == 0)
		db->prepared |= 1u << q;
	return r;
}

/* Runs prepared query @q with @p; *@resp (optional) gets its rows. */
static int run(struct ce_db *db, enum query q, struct params *p, PGresult **resp, GError **err)
{
	char name[16];
	int r = prepare(db, q, err);

	g_snprintf(name, sizeof(name), "ce%d", (int)q);
	if (r == 0 && !PQsendQueryPrepared(db->conn, name, p->n, p->v, NULL, NULL, 0))
		r = lost(err, "send", PQerrorMessage(db->conn));
	if (r == 0)
		r = finish(db, resp, err);
	p_clear(p);
	return r;
}

static void notice(void *arg, const char *message)
{
	g_debug("postgresql: %s", message);
}

static int connect_poll(struct ce_db *db, gint64 deadline, GError **err)
{
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	int r = 0;

	while (st != PGRES_POLLING_OK) {
		if (st == PGRES_POLLING_FAILED)
			return lost(err, "connect", PQerrorMessage(db->conn));
		r = wait_sock(db->conn, st == PGRES_POLLING_WRITING, deadline);
		if (r == -ETIMEDOUT) {
			g_set_error(err, CE_STORE_ERROR, CE_STORE_ERROR_UNAVAILABLE,
			        "postgresql connect: no answer within %u ms", db->timeout_ms);
			return -ENOTCONN;
		}
		if (r < 0)
			return lost(err, "connect", PQerrorMessage(db->conn));
		st = PQconnectPoll(db->conn);
	}
	return 0;
}

static void db_close(struct ce_db *db)
{
	if (!db)
		return;
	if (db->conn)
		PQfinish(db->conn);
	g_free(db);
}

static int db_open(
        struct ce_db **dbp, const struct ce_store_options *opt, bool writer, GError **err)
{
	struct ce_db *db = g_new0(struct ce_db, 1);
	gint64 deadline;
	char *set = NULL;
	int r;

	db->timeout_ms = opt->query_timeout_ms;
	deadline = g_get_monotonic_time() + (gint64)MAX(db->timeout_ms, 1000) * 1000;
	db->conn = PQconnectStart(opt->pg_conninfo ? opt->pg_conninfo : "");
	if (!db->conn || PQstatus(db->conn) == CONNECTION_BAD) {
		r = lost(err, "connect", db->conn ? PQerrorMessage(db->conn) : "out of memory");
		goto out;
	}
	r = connect_poll(db, deadline, err);
	if (r < 0)
		goto out;
	PQsetNoticeProcessor(db->conn, notice, NULL);
	PQsetnonblocking(db->conn, 1);
	set = g_strdup_printf("SET statement_timeout = %u; SET lock_timeout = %u; "
	                      "SET application_name = 'conf-engine%s'; SET TIME ZONE 'UTC'",
	        db->timeout_ms, db->timeout_ms, writer ? " writer" : "");
	r = simple(db, set, err);
out:
	g_free(set);
	if (r < 0) {
		db_close(db);
		db = NULL;
	}
	*dbp = db;
	return r;
}

/* First column of the single row of @text, as an integer. */
static int scalar(struct ce_db *db, const char *text, int *v, GError **err)
{
	PGresult *res = NULL;
	int r;

	*v = 0;
	if (!PQsendQuery(db->conn, text))
		return lost(err, "send", PQerrorMessage(db->conn));
	r = finish(db, &res, err);
	if (r == 0 && PQntuples(res) == 1)
		*v = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return r;
}

static int version(struct ce_db *db, int *v, GError **err)
{
	int have, r = scalar(db, "SELECT (to_regclass('schema_migrations') IS NOT NULL)::int",
	                  &have, err);

	*v = 0;
	if (r == 0 && have)
		r = scalar(db, "SELECT coalesce(max(version), 0) FROM schema_migrations", v, err);
	return r;
}

static int migrate_locked(struct ce_db *db, GError **err)
{
	const struct ce_migration *m;
	int v, last = 0, r;

	r = version(db, &v, err);
	for (m = ce_migrations_postgresql; r == 0 && m->sql; m++) {
		last = m->version;
		if (m->version <= v)
			continue;
		g_message("postgresql: applying migration %03d-%s", m->version, m->name);
		r = simple(db, m->sql, err);
	}
	if (r == 0 && v > last) {
		g_set_error(err, CE_STORE_ERROR, CE_STORE_ERROR_SCHEMA,
		        "postgresql: schema version %d is newer than this engine knows (%d)", v,
		        last);
		r = -EPROTO;
	}
	return r;
}

static int db_migrate(struct ce_db *db, GError **err)
{
	/* several engines sharing one database may start together */
	int r = simple(db, "BEGIN; SELECT pg_advisory_xact_lock(7106240)", err);

	if (r == 0)
		r = migrate_locked(db, err);
	if (r == 0)
		return simple(db, "COMMIT", err);
	simple(db, "ROLLBACK", NULL);
	return r;
}

static int db_begin(struct ce_db *db, GError **err)
{
	return simple(db, "BEGIN", err);
}

static int db_commit(struct ce_db *db, GError **err)
{
	return simple(db, "COMMIT", err);
}

static void db_rollback(struct ce_db *db)
{
	if (PQtransactionStatus(db->conn) != PQTRANS_IDLE)
		simple(db, "ROLLBACK", NULL);
}

static char *col_s(PGresult *res, int row, int i)
{
	return PQgetisnull(res, row, i) ? NULL : ce_store_text(PQgetvalue(res, row, i));
}

static gint64 col_x(PGresult *res, int row, int i)
{
	return PQgetisnull(res, row, i) ? 0 : g_ascii_strtoll(PQgetvalue(res, row, i), NULL, 10);
}

static bool col_b(PGresult *res, int row, int i)
{
	return PQgetvalue(res, row, i)[0] == 't';
}

static int col_secs(PGresult *res, int row, int i)
{
	return (int)CLAMP(col_x(res, row, i), 0, CE_STORE_WINDOW_MAX_S);
}

static int col_count(PGresult *res, int row, int i)
{
	return (int)CLAMP(col_x(res, row, i), 0, G_MAXINT);
}

static gint64 col_time(PGresult *res, int row, int i)
{
	return CLAMP(col_x(res, row, i), CE_STORE_TIME_MIN, CE_STORE_TIME_MAX);
}

static struct ce_conference *row_conference(PGresult *res, int row)
{
	struct ce_conference *c = ce_conference_new();
	int i = 0;

	c->id = col_x(res, row, i++);
	c->access_number = col_s(res, row, i++);
	c->room = col_s(res, row, i++);
	c->title = col_s(res, row, i++);
	c->pin = col_s(res, row, i++);
	c->moderator_pin = col_s(res, row, i++);
	c->starts_at = col_time(res, row, i++);
	c->ends_at = col_time(res, row, i++);
	c->time_zone = col_s(res, row, i++);
	c->early_join_s = col_secs(res, row, i++);
	c->early_alert_s = col_secs(res, row, i++);
	c->end_alert_s = col_secs(res, row, i++);
	c->end_grace_s = col_secs(res, row, i++);
	c->max_participants = col_count(res, row, i++);
	c->record = col_b(res, row, i++);
	c->record_file = col_s(res, row, i++);
	c->announce_join = col_b(res, row, i++);
	c->announce_count = col_b(res, row, i++);
	c->wait_for_moderator = col_b(res, row, i++);
	c->end_with_moderator = col_b(res, row, i++);
	c->muted_on_entry = col_b(res, row, i++);
	c->language = col_s(res, row, i++);
	c->options = col_s(res, row, i++);
	c->cancelled = col_b(res, row, i++);
	c->always_pin = col_b(res, row, i++);
	return c;
}

/* A participant from PART_COLS starting at column @i. */
static struct ce_participant *row_participant(PGresult *res, int row, int i)
{
	struct ce_participant *p = g_new0(struct ce_participant, 1);

	p->id = col_x(res, row, i++);
	p->conference_id = col_x(res, row, i++);
	p->name = col_s(res, row, i++);
	p->address = col_s(res, row, i++);
	if (ce_role_parse(PQgetvalue(res, row, i++), &p->role) < 0)
		p->role = CE_ROLE_PARTICIPANT;
	p->pin = col_s(res, row, i++);
	p->dial_out = col_b(res, row, i++);
	p->number = col_s(res, row, i++);
	return p;
}

static int conferences(
        struct ce_db *db, enum query q, struct params *p, GPtrArray *out, GError **err)
{
	PGresult *res = NULL;
	int r = run(db, q, p, &res, err);

	for (int row = 0; r == 0 && row < PQntuples(res); row++)
		g_ptr_array_add(out, row_conference(res, row));
	PQclear(res);
	return r;
}

static int participants(
        struct ce_db *db, enum query q, struct params *p, GPtrArray *out, GError **err)
{
	PGresult *res = NULL;
	int r = run(db, q, p, &res, err);

	for (int row = 0; r == 0 && row < PQntuples(res); row++)
		g_ptr_array_add(out, row_participant(res, row, 0));
	PQclear(res);
	return r;
}

static int db_find_conferences(
        struct ce_db *db, const char *key, gint64 now, GPtrArray *out, GError **err)
{
	struct params p = {0};

	p_s(&p, key);
	p_x(&p, now);
	return conferences(db, Q_FIND, &p, out, err);
}

static int db_list_conferences(
        struct ce_db *db, gint64 from, gint64 to, GPtrArray *out, GError **err)
{
	struct params p = {0};

	p_x(&p, from);
	p_x(&p, to);
	return conferences(db, Q_LIST, &p, out, err);
}

static int db_list_participants(
        struct ce_db *db, gint64 conference_id, GPtrArray *out, GError **err)
{
	struct params p = {0};

	p_x(&p, conference_id);
	return participants(db, Q_PARTS, &p, out, err);
}

static int db_find_number(struct ce_db *db, const char *number, gint64 now, GPtrArray *confs,
        GPtrArray *parts, GError **err)
{
	PGresult *res = NULL;
	struct params p = {0};
	int r;

	p_s(&p, number);
	p_x(&p, now);
	r = run(db, Q_NUMBER, &p, &res, err);
	for (int row = 0; r == 0 && row < PQntuples(res); row++) {
		g_ptr_array_add(confs, row_conference(res, row));
		g_ptr_array_add(parts, row_participant(res, row, CONF_NCOLS));
	}
	PQclear(res);
	return r;
}

static int db_lock_conference(struct ce_db *db, gint64 id, GPtrArray *out, GError **err)
{
	struct params p = {0};

	p_x(&p, id);
	return conferences(db, Q_CONF_LOCK, &p, out, err);
}

static int db_next_conference(
        struct ce_db *db, const struct ce_conference *c, GPtrArray *out, GError **err)
{
	struct params p = {0};

	p_x(&p, c->id);
	p_s(&p, c->access_number);
	p_s(&p, c->room);
	p_x(&p, c->starts_at);
	return conferences(db, Q_CONF_NEXT, &p, out, err);
}

/* Runs an INSERT/UPDATE ... RETURNING id; -ENOENT when no row was touched. */
static int put(struct ce_db *db, enum query q, struct params *p, gint64 *id, GError **err)
{
	PGresult *res = NULL;
	int r = run(db, q, p, &res, err);

	if (r == 0 && PQntuples(res) != 1) {
		g_set_error(err, CE_STORE_ERROR, CE_STORE_ERROR_QUERY,
		        "no row with id %" G_GINT64_FORMAT, *id);
		r = -ENOENT;
	}
	if (r == 0)
		*id = col_x(res, 0, 0);
	PQclear(res);
	return r;
}

static int db_put_conference(
        struct ce_db *db, const struct ce_conference *c, gint64 *id, GError **err)
{
	struct params p = {0};

	if (c->id)
		p_x(&p, c->id);
	p_s(&p, c->access_number);
	p_s(&p, c->room);
	p_s(&p, c->title ? c->title : "");
	p_s(&p, c->pin);
	p_s(&p, c->moderator_pin);
	p_x(&p, c->starts_at);
	p_x(&p, c->ends_at);
	p_s(&p, c->time_zone ? c->time_zone : "UTC");
	p_x(&p, c->early_join_s);
	p_x(&p, c->early_alert_s);
	p_x(&p, c->end_alert_s);
	p_x(&p, c->end_grace_s);
	p_id(&p, c->max_participants);
	p_b(&p, c->record);
	p_s(&p, c->record_file);
	p_b(&p, c->announce_join);
	p_b(&p, c->announce_count);
	p_b(&p, c->wait_for_moderator);
	p_b(&p, c->end_with_moderator);
	p_b(&p, c->muted_on_entry);
	p_s(&p, c->language);
	p_s(&p, c->options);
	p_b(&p, c->cancelled);
	p_b(&p, c->always_pin);
	*id = c->id;
	return put(db, c->id ? Q_CONF_UPDATE : Q_CONF_INSERT, &p, id, err);
}

static int db_query_conferences(
        struct ce_db *db, const struct ce_conference_query *q, GPtrArray *out, GError **err)
{
	struct params p = {0};

	p_id(&p, q->id);
	p_x(&p, q->from);
	p_x(&p, q->to);
	p_s(&p, q->number);
	if (q->cancelled >= 0)
		p_b(&p, q->cancelled != 0);
	else
		p_s(&p, NULL);
	p_x(&p, q->limit);
	p_x(&p, q->offset);
	return conferences(db, Q_QUERY, &p, out, err);
}

/* Inside a transaction (the lock lasts until it ends). */
static int db_overlapping(
        struct ce_db *db, const struct ce_conference *c, GPtrArray *out, GError **err)
{
	/* bookings are checked one at a time, by every engine sharing the database */
	int r = simple(db, "SELECT pg_advisory_xact_lock(7106241)", err);
	struct params p = {0};

	if (r < 0)
		return r;
	p_x(&p, c->id);
	p_s(&p, c->access_number);
	p_s(&p, c->room);
	p_x(&p, c->starts_at);
	p_x(&p, c->ends_at);
	return conferences(db, Q_OVERLAP, &p, out, err);
}

static int db_delete_row(struct ce_db *db, gint64 conference_id, gint64 id, GError **err)
{
	struct params p = {0};

	p_x(&p, id);
	if (conference_id)
		p_x(&p, conference_id);
	return put(db, conference_id ? Q_PART_DELETE : Q_CONF_DELETE, &p, &id, err);
}

static int db_put_participant(
        struct ce_db *db, const struct ce_participant *pa, gint64 *id, GError **err)
{
	struct params p = {0};

	if (pa->id)
		p_x(&p, pa->id);
	p_x(&p, pa->conference_id);
	p_s(&p, pa->name ? pa->name : "");
	p_s(&p, pa->address);
	p_s(&p, ce_role_name(pa->role));
	p_s(&p, pa->pin);
	p_b(&p, pa->dial_out);
	p_s(&p, pa->number);
	*id = pa->id;
	return put(db, pa->id ? Q_PART_UPDATE : Q_PART_INSERT, &p, id, err);
}

static int db_add_event(struct ce_db *db, const struct ce_event *ev, GError **err)
{
	struct params p = {0};

	p_s(&p, ev->uuid);
	p_s(&p, ev->node ? ev->node : "");
	p_x(&p, ev->seq);
	p_x(&p, ev->at);
	p_s(&p, ce_event_kind_name(ev->kind));
	p_s(&p, ev->room);
	p_id(&p, ev->conference_id);
	p_s(&p, ev->leg);
	p_id(&p, ev->participant_id);
	p_s(&p, ev->caller);
	p_s(&p, ev->caller_name);
	p_s(&p, ev->detail);
	p_s(&p, ev->role);
	p_s(&p, ev->called);
	p_s(&p, ev->direction);
	return run(db, Q_EVENT, &p, NULL, err);
}

static int db_add_cdr(struct ce_db *db, const struct ce_cdr *c, GError **err)
{
	struct params p = {0};

	p_s(&p, c->uuid);
	p_s(&p, c->node ? c->node : "");
	p_s(&p, c->room);
	p_id(&p, c->conference_id);
	p_s(&p, c->leg);
	p_id(&p, c->participant_id);
	p_s(&p, c->role);
	p_s(&p, c->caller);
	p_s(&p, c->caller_name);
	p_s(&p, c->called);
	p_x(&p, c->joined_at);
	p_x(&p, c->left_at);
	p_x(&p, c->duration_ms);
	p_x(&p, c->talk_ms);
	p_s(&p, c->reason);
	p_s(&p, c->billid);
	p_s(&p, c->direction);
	p_id(&p, c->seq);
	return run(db, Q_CDR, &p, NULL, err);
}

static gpointer row_event(PGresult *res, int row)
{
	struct ce_event *ev = g_new0(struct ce_event, 1);
	int i = 0;

	ev->id = col_x(res, row, i++);
	ev->uuid = col_s(res, row, i++);
	ev->node = col_s(res, row, i++);
	ev->seq = col_x(res, row, i++);
	ev->at = col_time(res, row, i++);
	if (ce_event_kind_parse(PQgetvalue(res, row, i++), &ev->kind) < 0)
		ev->kind = CE_EVENT_CREATED;
	ev->room = col_s(res, row, i++);
	ev->conference_id = col_x(res, row, i++);
	ev->leg = col_s(res, row, i++);
	ev->participant_id = col_x(res, row, i++);
	ev->role = col_s(res, row, i++);
	ev->caller = col_s(res, row, i++);
	ev->caller_name = col_s(res, row, i++);
	ev->called = col_s(res, row, i++);
	ev->direction = col_s(res, row, i++);
	ev->detail = col_s(res, row, i++);
	return ev;
}

static gpointer row_cdr(PGresult *res, int row)
{
	struct ce_cdr *c = g_new0(struct ce_cdr, 1);
	int i = 0;

	c->id = col_x(res, row, i++);
	c->uuid = col_s(res, row, i++);
	c->node = col_s(res, row, i++);
	c->room = col_s(res, row, i++);
	c->conference_id = col_x(res, row, i++);
	c->leg = col_s(res, row, i++);
	c->participant_id = col_x(res, row, i++);
	c->role = col_s(res, row, i++);
	c->caller = col_s(res, row, i++);
	c->caller_name = col_s(res, row, i++);
	c->called = col_s(res, row, i++);
	c->direction = col_s(res, row, i++);
	c->joined_at = col_time(res, row, i++);
	c->left_at = col_time(res, row, i++);
	c->duration_ms = col_x(res, row, i++);
	c->talk_ms = col_x(res, row, i++);
	c->reason = col_s(res, row, i++);
	c->billid = col_s(res, row, i++);
	c->seq = col_x(res, row, i++);
	return c;
}

/* The rows of history query @q with filter @f, each made by @row. */
static int history(struct ce_db *db, enum query q, const struct ce_history_filter *f,
        gpointer (*row)(PGresult *, int), GPtrArray *out, GError **err)
{
	struct params p = {0};
	PGresult *res = NULL;
	int r;

	p_x(&p, f->after);
	p_x(&p, f->from);
	p_x(&p, f->to);
	p_s(&p, f->room);
	p_id(&p, f->conference_id);
	p_x(&p, f->limit);
	if (q == Q_EVENTS)
		p_s(&p, f->kind >= 0 ? ce_event_kind_name(f->kind) : NULL);
	r = run(db, q, &p, &res, err);
	for (int i = 0; r == 0 && i < PQntuples(res); i++)
		g_ptr_array_add(out, row(res, i));
	PQclear(res);
	return r;
}

static int db_list_events(
        struct ce_db *db, const struct ce_history_filter *f, GPtrArray *out, GError **err)
{
	return history(db, Q_EVENTS, f, row_event, out, err);
}

static int db_list_cdrs(
        struct ce_db *db, const struct ce_history_filter *f, GPtrArray *out, GError **err)
{
	return history(db, Q_CDRS, f, row_cdr, out, err);
}

static int db_add_line(struct ce_db *db, const struct ce_stream_line *l, GError **err)
{
	struct params p = {0};

	p_s(&p, l->node ? l->node : "");
	p_x(&p, l->seq);
	p_x(&p, l->run);
	p_x(&p, l->at);
	p_s(&p, l->room);
	p_id(&p, l->conference_id);
	p_s(&p, l->line);
	return run(db, Q_LINE, &p, NULL, err);
}

static int db_list_lines(struct ce_db *db, const char *node, const struct ce_stream_filter *f,
        GPtrArray *out, GError **err)
{
	struct params p = {0};
	PGresult *res = NULL;
	int r;

	p_s(&p, node ? node : "");
	p_x(&p, f->after);
	p_x(&p, f->upto);
	p_s(&p, f->room);
	p_id(&p, f->conference_id);
	p_x(&p, f->limit);
	r = run(db, Q_LINES, &p, &res, err);
	for (int i = 0; r == 0 && i < PQntuples(res); i++) {
		struct ce_stream_line *l = g_new0(struct ce_stream_line, 1);

		l->seq = col_x(res, i, 0);
		l->run = col_x(res, i, 1);
		l->line = col_s(res, i, 2);
		g_ptr_array_add(out, l);
	}
	PQclear(res);
	return r;
}

static int db_last_line(struct ce_db *db, const char *node, gint64 *seq, GError **err)
{
	struct params p = {0};
	PGresult *res = NULL;
	int r;

	*seq = 0;
	p_s(&p, node ? node : "");
	r = run(db, Q_LAST_LINE, &p, &res, err);
	if (r == 0 && PQntuples(res) == 1)
		*seq = col_x(res, 0, 0);
	PQclear(res);
	return r;
}

static int db_room_live(struct ce_db *db, const struct ce_room_live *l, GError **err)
{
	struct params p = {0};

	p_s(&p, l->node ? l->node : "");
	p_s(&p, l->room);
	if (l->participants <= 0)
		return run(db, Q_LIVE_DELETE, &p, NULL, err);
	p_id(&p, l->conference_id);
	p_x(&p, l->participants);
	p_x(&p, l->started_at);
	p_x(&p, l->updated_at);
	return run(db, Q_LIVE_UPSERT, &p, NULL, err);
}

/** Whether conninfo parses as a libpq connection string; the reason in @err if not. */
int ce_db_pg_check_conninfo(const char *conninfo, GError **err)
{
	char *msg = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &msg);

	if (opts) {
		PQconninfoFree(opts);
		return 0;
	}
	g_set_error(err, CE_STORE_ERROR, CE_STORE_ERROR_CONFIG, "%s",
	        msg ? g_strchomp(msg) : "out of memory");
	PQfreemem(msg);
	return -EINVAL;
}

const struct ce_db_ops ce_db_pg_ops = {
        .name = "postgresql",
        .open = db_open,
        .close = db_close,
        .migrate = db_migrate,
        .begin = db_begin,
        .commit = db_commit,
        .rollback = db_rollback,
        .find_conferences = db_find_conferences,
        .list_conferences = db_list_conferences,
        .list_participants = db_list_participants,
        .find_number = db_find_number,
        .put_conference = db_put_conference,
        .lock_conference = db_lock_conference,
        .next_conference = db_next_conference,
        .put_participant = db_put_participant,
        .query_conferences = db_query_conferences,
        .overlapping = db_overlapping,
        .delete_row = db_delete_row,
        .add_event = db_add_event,
        .add_cdr = db_add_cdr,
        .list_events = db_list_events,
        .list_cdrs = db_list_cdrs,
        .room_live = db_room_live,
        .add_line = db_add_line,
        .list_lines = db_list_lines,
        .last_line = db_last_line,
};
