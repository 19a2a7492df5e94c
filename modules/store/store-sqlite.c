/* store-sqlite.c - the SQLite backend: one connection per thread, WAL, bounded statements */
#define G_LOG_DOMAIN "store"

#include <errno.h>
#include <string.h>
#include <sqlite3.h>

#include "store-db.h"

struct ce_db {
	sqlite3 *sq;
	char *path;
	GHashTable *stmts; /* SQL text (static) -> prepared statement */
	gint64 deadline;   /* monotonic; the progress handler interrupts after it */
	unsigned timeout_ms;
};

#define CONF_COLS                                                                                  \
	"id, access_number, room, title, pin, moderator_pin, starts_at, ends_at, time_zone, "      \
	"early_join_s, early_alert_s, end_alert_s, end_grace_s, max_participants, record, "        \
	"record_file, announce_join, announce_count, wait_for_moderator, "                         \
	"end_with_moderator, muted_on_entry, language, options, cancelled, always_pin"
#define CONF_NCOLS 25
#define PART_COLS  "id, conference_id, name, address, role, pin, dial_out, number"

/* Maps an SQLite result code to the store's errno convention and a message. */
static int fail(struct ce_db *db, int rc, GError **err, const char *what)
{
	const char *msg = db->sq ? sqlite3_errmsg(db->sq) : sqlite3_errstr(rc);
	int code = CE_STORE_ERROR_QUERY, ret = -EIO;

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_INTERRUPT:
		code = CE_STORE_ERROR_TIMEOUT;
		ret = -ETIMEDOUT;
		msg = "the database is busy or the statement ran out of time";
		break;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		code = CE_STORE_ERROR_READONLY;
		ret = -EROFS;
		msg = "the database file is read-only (check the permissions of the file and its "
		      "directory)";
		break;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		code = CE_STORE_ERROR_CORRUPT;
		ret = -EBADMSG;
		msg = "the file is not an SQLite database or is corrupt";
		break;
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
		code = CE_STORE_ERROR_UNAVAILABLE;
		ret = -ENOTCONN;
		break;
	}
	g_set_error(err, CE_STORE_ERROR, code, "sqlite %s: %s: %s", db->path, what, msg);
	return ret;
}

static int progress(void *arg)
{
	const struct ce_db *db = arg;

	return db->deadline && g_get_monotonic_time() > db->deadline;
}

static void arm(struct ce_db *db)
{
	db->deadline = g_get_monotonic_time() + (gint64)db->timeout_ms * 1000;
}

/* Runs @sql (several statements allowed); @what names it in an error. */
static int exec_as(struct ce_db *db, const char *sql, const char *what, GError **err)
{
	int rc;

	arm(db);
	rc = sqlite3_exec(db->sq, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : fail(db, rc, err, what);
}

static int exec(struct ce_db *db, const char *sql, GError **err)
{
	return exec_as(db, sql, sql, err);
}

static sqlite3_stmt *stmt(struct ce_db *db, const char *sql, GError **err)
{
	sqlite3_stmt *st = g_hash_table_lookup(db->stmts, sql);
	int rc;

	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		arm(db);
		return st;
	}
	rc = sqlite3_prepare_v3(db->sq, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK) {
		fail(db, rc, err, "prepare");
		return NULL;
	}
	g_hash_table_insert(db->stmts, (gpointer)sql, st);
	arm(db);
	return st;
}

static void bind_s(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static void bind_id(sqlite3_stmt *st, int i, gint64 id)
{
	if (id)
		sqlite3_bind_int64(st, i, id);
	else
		sqlite3_bind_null(st, i);
}

static char *col_s(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s ? ce_store_text((const char *)s) : NULL;
}

static int col_secs(sqlite3_stmt *st, int i)
{
	return (int)CLAMP(sqlite3_column_int64(st, i), 0, CE_STORE_WINDOW_MAX_S);
}

static int col_count(sqlite3_stmt *st, int i)
{
	return (int)CLAMP(sqlite3_column_int64(st, i), 0, G_MAXINT);
}

static gint64 col_time(sqlite3_stmt *st, int i)
{
	return CLAMP(sqlite3_column_int64(st, i), CE_STORE_TIME_MIN, CE_STORE_TIME_MAX);
}

static gpointer row_conference(sqlite3_stmt *st)
{
	struct ce_conference *c = ce_conference_new();
	int i = 0;

	c->id = sqlite3_column_int64(st, i++);
	c->access_number = col_s(st, i++);
	c->room = col_s(st, i++);
	c->title = col_s(st, i++);
	c->pin = col_s(st, i++);
	c->moderator_pin = col_s(st, i++);
	c->starts_at = col_time(st, i++);
	c->ends_at = col_time(st, i++);
	c->time_zone = col_s(st, i++);
	c->early_join_s = col_secs(st, i++);
	c->early_alert_s = col_secs(st, i++);
	c->end_alert_s = col_secs(st, i++);
	c->end_grace_s = col_secs(st, i++);
	c->max_participants = col_count(st, i++);
	c->record = sqlite3_column_int(st, i++) != 0;
	c->record_file = col_s(st, i++);
	c->announce_join = sqlite3_column_int(st, i++) != 0;
	c->announce_count = sqlite3_column_int(st, i++) != 0;
	c->wait_for_moderator = sqlite3_column_int(st, i++) != 0;
	c->end_with_moderator = sqlite3_column_int(st, i++) != 0;
	c->muted_on_entry = sqlite3_column_int(st, i++) != 0;
	c->language = col_s(st, i++);
	c->options = col_s(st, i++);
	c->cancelled = sqlite3_column_int(st, i++) != 0;
	c->always_pin = sqlite3_column_int(st, i++) != 0;
	return c;
}

/* A participant from PART_COLS starting at column @i. */
static struct ce_participant *participant_at(sqlite3_stmt *st, int i)
{
	struct ce_participant *p = g_new0(struct ce_participant, 1);

	p->id = sqlite3_column_int64(st, i++);
	p->conference_id = sqlite3_column_int64(st, i++);
	p->name = col_s(st, i++);
	p->address = col_s(st, i++);
	if (ce_role_parse((const char *)sqlite3_column_text(st, i++), &p->role) < 0)
		p->role = CE_ROLE_PARTICIPANT;
	p->pin = col_s(st, i++);
	p->dial_out = sqlite3_column_int(st, i++) != 0;
	p->number = col_s(st, i++);
	return p;
}

static gpointer row_participant(sqlite3_stmt *st)
{
	return participant_at(st, 0);
}

/* Steps @st to the end, handing each row to @row (may be NULL). */
static int run(struct ce_db *db, sqlite3_stmt *st, GPtrArray *out, gpointer (*row)(sqlite3_stmt *),
        GError **err)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (row && out)
			g_ptr_array_add(out, row(st));
	}
	if (rc != SQLITE_DONE) {
		int r = fail(db, rc, err, "query");
		sqlite3_reset(st);
		return r;
	}
	sqlite3_reset(st);
	return 0;
}

static void finalize(gpointer st)
{
	sqlite3_finalize(st);
}

static void db_close(struct ce_db *db)
{
	if (!db)
		return;
	if (db->stmts)
		g_hash_table_destroy(db->stmts);
	if (db->sq)
		sqlite3_close_v2(db->sq);
	g_free(db->path);
	g_free(db);
}

static int setup(struct ce_db *db, bool writer, GError **err)
{
	int r;

	sqlite3_busy_timeout(db->sq, (int)db->timeout_ms);
	sqlite3_progress_handler(db->sq, 1000, progress, db);
	sqlite3_extended_result_codes(db->sq, 1);
	/* the schema read fails here for a file that is not a database */
	if (writer && sqlite3_db_readonly(db->sq, "main") == 1)
		return fail(db, SQLITE_READONLY, err, "open");
	r = exec_as(db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL", "open", err);
	if (r == 0)
		r = exec_as(db, "SELECT count(*) FROM sqlite_master", "read schema", err);
	if (r == 0 && writer)
		r = exec_as(db, "PRAGMA journal_mode = WAL", "switch to WAL", err);
	return r;
}

static int db_open(
        struct ce_db **dbp, const struct ce_store_options *opt, bool writer, GError **err)
{
	struct ce_db *db = g_new0(struct ce_db, 1);
	int rc, r;

	db->path = g_strdup(opt->sqlite_path);
	db->timeout_ms = opt->query_timeout_ms;
	db->stmts = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, finalize);
	rc = sqlite3_open_v2(db->path, &db->sq,
	        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		r = fail(db, rc, err, "open");
		goto out;
	}
	r = setup(db, writer, err);
out:
	if (r < 0) {
		db_close(db);
		db = NULL;
	}
	*dbp = db;
	return r;
}

static int version(struct ce_db *db, int *v, GError **err)
{
	sqlite3_stmt *st = stmt(db,
	        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = "
	        "'schema_migrations'",
	        err);
	int have, r;

	*v = 0;
	if (!st)
		return -EIO;
	r = sqlite3_step(st) == SQLITE_ROW ? 0 : fail(db, sqlite3_errcode(db->sq), err, "schema");
	have = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	if (r < 0 || !have)
		return r;
	st = stmt(db, "SELECT coalesce(max(version), 0) FROM schema_migrations", err);
	if (!st)
		return -EIO;
	r = sqlite3_step(st) == SQLITE_ROW ? 0 : fail(db, sqlite3_errcode(db->sq), err, "schema");
	*v = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return r;
}

static int migrate_locked(struct ce_db *db, GError **err)
{
	const struct ce_migration *m;
	int v, last = 0, r;

	r = version(db, &v, err);
	for (m = ce_migrations_sqlite; r == 0 && m->sql; m++) {
		last = m->version;
		if (m->version <= v)
			continue;
		g_message("sqlite %s: applying migration %03d-%s", db->path, m->version, m->name);
		r = exec_as(db, m->sql, "migration", err);
	}
	if (r == 0 && v > last) {
		g_set_error(err, CE_STORE_ERROR, CE_STORE_ERROR_SCHEMA,
		        "sqlite %s: schema version %d is newer than this engine knows (%d)",
		        db->path, v, last);
		r = -EPROTO;
	}
	return r;
}

static int db_migrate(struct ce_db *db, GError **err)
{
	int r = exec(db, "BEGIN IMMEDIATE", err);

	if (r < 0)
		return r;
	r = migrate_locked(db, err);
	if (r == 0)
		return exec(db, "COMMIT", err);
	sqlite3_exec(db->sq, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

static int db_begin(struct ce_db *db, GError **err)
{
	return exec(db, "BEGIN IMMEDIATE", err);
}

static int db_commit(struct ce_db *db, GError **err)
{
	return exec(db, "COMMIT", err);
}

static void db_rollback(struct ce_db *db)
{
	if (!sqlite3_get_autocommit(db->sq))
		sqlite3_exec(db->sq, "ROLLBACK", NULL, NULL, NULL);
}

static int db_find_conferences(
        struct ce_db *db, const char *key, gint64 now, GPtrArray *out, GError **err)
{
	sqlite3_stmt *st = stmt(db,
	        "SELECT " CONF_COLS " FROM conferences WHERE (access_number = ?1 OR room = ?1)"
	        " AND starts_at - (MIN(MAX(early_join_s, 0), " CE_STORE_WINDOW_MAX ")"
	        " + MIN(MAX(early_alert_s, 0), " CE_STORE_WINDOW_MAX ")) * 1000000 <= ?2"
	        " AND ends_at >= ?2 - 86400000000 ORDER BY starts_at, id LIMIT 64",
	        err);

	if (!st)
		return -EIO;
	bind_s(st, 1, key);
	sqlite3_bind_int64(st, 2, now);
	return run(db, st, out, row_conference, err);
}

static int db_list_conferences(
        struct ce_db *db, gint64 from, gint64 to, GPtrArray *out, GError **err)
{
	sqlite3_stmt *st = stmt(db,
	        "SELECT " CONF_COLS " FROM conferences WHERE ends_at >= ?1 AND starts_at <= ?2"
	        " ORDER BY starts_at, id LIMIT 1000",
	        err);

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, to);
	return run(db, st, out, row_conference, err);
}

static int db_list_participants(
        struct ce_db *db, gint64 conference_id, GPtrArray *out, GError **err)
{
	sqlite3_stmt *st = stmt(db,
	        "SELECT " PART_COLS " FROM participants WHERE conference_id = ?1 ORDER BY id", err);

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, conference_id);
	return run(db, st, out, row_participant, err);
}

/* The conference's columns, then the participant's (PART_COLS, renamed so they do not clash). */
static int db_find_number(struct ce_db *db, const char *number, gint64 now, GPtrArray *confs,
        GPtrArray *parts, GError **err)
{
	sqlite3_stmt *st = stmt(db,
	        "SELECT " CONF_COLS ", p.* FROM conferences JOIN (SELECT id AS p_id,"
	        " conference_id AS p_conference_id, name AS p_name, address AS p_address,"
	        " role AS p_role, pin AS p_pin, dial_out AS p_dial_out, number AS p_number"
	        " FROM participants WHERE " CE_STORE_NUMBER_SQL(
	                "number") " = ?1) p"
	                          " ON p_conference_id = id WHERE NOT cancelled AND ends_at > ?2"
	                          " AND starts_at - MIN(MAX(early_join_s, 0), " CE_STORE_WINDOW_MAX
	                          ") * 1000000 <= ?2"
	                          " ORDER BY starts_at DESC, id DESC, p_id LIMIT 64",
	        err);
	int rc, r;

	if (!st)
		return -EIO;
	bind_s(st, 1, number);
	sqlite3_bind_int64(st, 2, now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		g_ptr_array_add(confs, row_conference(st));
		g_ptr_array_add(parts, participant_at(st, CONF_NCOLS));
	}
	r = rc == SQLITE_DONE ? 0 : fail(db, rc, err, "query");
	sqlite3_reset(st);
	return r;
}

#define CONF_SET                                                                                   \
	"access_number = ?2, room = ?3, title = ?4, pin = ?5, moderator_pin = ?6, "                \
	"starts_at = ?7, ends_at = ?8, time_zone = ?9, early_join_s = ?10, "                       \
	"early_alert_s = ?11, end_alert_s = ?12, end_grace_s = ?13, max_participants = ?14, "      \
	"record = ?15, record_file = ?16, announce_join = ?17, announce_count = ?18, "             \
	"wait_for_moderator = ?19, end_with_moderator = ?20, muted_on_entry = ?21, "               \
	"language = ?22, options = ?23, cancelled = ?24, always_pin = ?25"

static void bind_conference(sqlite3_stmt *st, const struct ce_conference *c)
{
	int i = 2;

	bind_s(st, i++, c->access_number);
	bind_s(st, i++, c->room);
	bind_s(st, i++, c->title ? c->title : "");
	bind_s(st, i++, c->pin);
	bind_s(st, i++, c->moderator_pin);
	sqlite3_bind_int64(st, i++, c->starts_at);
	sqlite3_bind_int64(st, i++, c->ends_at);
	bind_s(st, i++, c->time_zone ? c->time_zone : "UTC");
	sqlite3_bind_int(st, i++, c->early_join_s);
	sqlite3_bind_int(st, i++, c->early_alert_s);
	sqlite3_bind_int(st, i++, c->end_alert_s);
	sqlite3_bind_int(st, i++, c->end_grace_s);
	bind_id(st, i++, c->max_participants);
	sqlite3_bind_int(st, i++, c->record);
	bind_s(st, i++, c->record_file);
	sqlite3_bind_int(st, i++, c->announce_join);
	sqlite3_bind_int(st, i++, c->announce_count);
	sqlite3_bind_int(st, i++, c->wait_for_moderator);
	sqlite3_bind_int(st, i++, c->end_with_moderator);
	sqlite3_bind_int(st, i++, c->muted_on_entry);
	bind_s(st, i++, c->language);
	bind_s(st, i++, c->options);
	sqlite3_bind_int(st, i++, c->cancelled);
	sqlite3_bind_int(st, i++, c->always_pin);
}

/* Runs an INSERT or UPDATE; *@id gets the new row id, -ENOENT when nothing changed. */
static int put(struct ce_db *db, sqlite3_stmt *st, gint64 *id, GError **err)
{
	int r = run(db, st, NULL, NULL, err);

	if (r == 0 && sqlite3_changes(db->sq) == 0) {
		g_set_error(err, CE_STORE_ERROR, CE_STORE_ERROR_QUERY,
		        "no row with id %" G_GINT64_FORMAT, *id);
		r = -ENOENT;
	}
	if (r == 0 && *id == 0)
		*id = sqlite3_last_insert_rowid(db->sq);
	return r;
}

static int db_put_conference(
        struct ce_db *db, const struct ce_conference *c, gint64 *id, GError **err)
{
	sqlite3_stmt *st;

	if (c->id)
		st = stmt(db,
		        "UPDATE conferences SET " CONF_SET ", updated_at = "
		        "CAST(strftime('%s', 'now') AS INTEGER) * 1000000 WHERE id = ?1",
		        err);
	else
		st = stmt(db,
		        "INSERT INTO conferences (id, access_number, room, title, pin,"
		        " moderator_pin, starts_at, ends_at, time_zone, early_join_s,"
		        " early_alert_s, end_alert_s, end_grace_s, max_participants, record,"
		        " record_file, announce_join, announce_count, wait_for_moderator,"
		        " end_with_moderator, muted_on_entry, language, options, cancelled,"
		        " always_pin) VALUES (NULL, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
		        " ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)",
		        err);
	if (!st)
		return -EIO;
	if (c->id)
		sqlite3_bind_int64(st, 1, c->id);
	bind_conference(st, c);
	*id = c->id;
	return put(db, st, id, err);
}

static int db_lock_conference(struct ce_db *db, gint64 id, GPtrArray *out, GError **err)
{
	/* BEGIN IMMEDIATE (db_begin) already holds the database's write lock */
	sqlite3_stmt *st = stmt(db, "SELECT " CONF_COLS " FROM conferences WHERE id = ?1", err);

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	return run(db, st, out, row_conference, err);
}

static int db_next_conference(
        struct ce_db *db, const struct ce_conference *c, GPtrArray *out, GError **err)
{
	sqlite3_stmt *st = stmt(db,
	        "SELECT " CONF_COLS " FROM conferences WHERE id <> ?1 AND NOT cancelled"
	        " AND (access_number = ?2 OR room = ?3) AND starts_at >= ?4"
	        " ORDER BY starts_at, id LIMIT 1",
	        err);

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, c->id);
	bind_s(st, 2, c->access_number);
	bind_s(st, 3, c->room);
	sqlite3_bind_int64(st, 4, c->starts_at);
	return run(db, st, out, row_conference, err);
}

static int db_put_participant(
        struct ce_db *db, const struct ce_participant *p, gint64 *id, GError **err)
{
	sqlite3_stmt *st;

	if (p->id)
		st = stmt(db,
		        "UPDATE participants SET conference_id = ?2, name = ?3, address = ?4,"
		        " role = ?5, pin = ?6, dial_out = ?7, number = ?8 WHERE id = ?1",
		        err);
	else
		st = stmt(db,
		        "INSERT INTO participants (conference_id, name, address, role, pin,"
		        " dial_out, number) VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?8)",
		        err);
	if (!st)
		return -EIO;
	if (p->id)
		sqlite3_bind_int64(st, 1, p->id);
	sqlite3_bind_int64(st, 2, p->conference_id);
	bind_s(st, 3, p->name ? p->name : "");
	bind_s(st, 4, p->address);
	bind_s(st, 5, ce_role_name(p->role));
	bind_s(st, 6, p->pin);
	sqlite3_bind_int(st, 7, p->dial_out);
	bind_s(st, 8, p->number);
	*id = p->id;
	return put(db, st, id, err);
}

static int db_query_conferences(
        struct ce_db *db, const struct ce_conference_query *q, GPtrArray *out, GError **err)
{
	sqlite3_stmt *st = stmt(db,
	        "SELECT " CONF_COLS " FROM conferences WHERE (?1 IS NULL OR id = ?1)"
	        " AND ends_at >= ?2 AND starts_at <= ?3"
	        " AND (?4 IS NULL OR access_number = ?4) AND (?5 IS NULL OR cancelled = ?5)"
	        " ORDER BY starts_at, id LIMIT ?6 OFFSET ?7",
	        err);

	if (!st)
		return -EIO;
	bind_id(st, 1, q->id);
	sqlite3_bind_int64(st, 2, q->from);
	sqlite3_bind_int64(st, 3, q->to);
	bind_s(st, 4, q->number);
	if (q->cancelled >= 0)
		sqlite3_bind_int(st, 5, q->cancelled != 0);
	sqlite3_bind_int64(st, 6, q->limit);
	sqlite3_bind_int64(st, 7, q->offset);
	return run(db, st, out, row_conference, err);
}

static int db_overlapping(
        struct ce_db *db, const struct ce_conference *c, GPtrArray *out, GError **err)
{
	/* BEGIN IMMEDIATE (db_begin) already holds the database's write lock */
	sqlite3_stmt *st = stmt(db,
	        "SELECT " CONF_COLS " FROM conferences WHERE id IS NOT ?1 AND NOT cancelled"
	        " AND (access_number = ?2 OR room = ?3) AND starts_at < ?5 AND ends_at > ?4"
	        " ORDER BY starts_at, id LIMIT 1",
	        err);

	if (!st)
		return -EIO;
	bind_id(st, 1, c->id);
	bind_s(st, 2, c->access_number);
	bind_s(st, 3, c->room);
	sqlite3_bind_int64(st, 4, c->starts_at);
	sqlite3_bind_int64(st, 5, c->ends_at);
	return run(db, st, out, row_conference, err);
}

static int db_delete_row(struct ce_db *db, gint64 conference_id, gint64 id, GError **err)
{
	sqlite3_stmt *st;

	if (conference_id)
		st = stmt(db, "DELETE FROM participants WHERE id = ?1 AND conference_id = ?2", err);
	else
		st = stmt(db, "DELETE FROM conferences WHERE id = ?1", err);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	if (conference_id)
		sqlite3_bind_int64(st, 2, conference_id);
	return put(db, st, &id, err);
}

static int db_add_event(struct ce_db *db, const struct ce_event *ev, GError **err)
{
	sqlite3_stmt *st = stmt(db,
	        "INSERT INTO events (uuid, node, seq, at, kind, room, conference_id, leg, "
	        "participant_id, caller, caller_name, detail, role, called, direction) VALUES "
	        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) "
	        "ON CONFLICT (uuid) DO NOTHING",
	        err);

	if (!st)
		return -EIO;
	bind_s(st, 1, ev->uuid);
	bind_s(st, 2, ev->node ? ev->node : "");
	sqlite3_bind_int64(st, 3, ev->seq);
	sqlite3_bind_int64(st, 4, ev->at);
	bind_s(st, 5, ce_event_kind_name(ev->kind));
	bind_s(st, 6, ev->room);
	bind_id(st, 7, ev->conference_id);
	bind_s(st, 8, ev->leg);
	bind_id(st, 9, ev->participant_id);
	bind_s(st, 10, ev->caller);
	bind_s(st, 11, ev->caller_name);
	bind_s(st, 12, ev->detail);
	bind_s(st, 13, ev->role);
	bind_s(st, 14, ev->called);
	bind_s(st, 15, ev->direction);
	return run(db, st, NULL, NULL, err);
}

static int db_add_cdr(struct ce_db *db, const struct ce_cdr *c, GError **err)
{
	sqlite3_stmt *st = stmt(db,
	        "INSERT INTO cdrs (uuid, node, room, conference_id, leg, participant_id, role, "
	        "caller, caller_name, called, joined_at, left_at, duration_ms, talk_ms, reason, "
	        "billid, direction, seq) "
	        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
	        "?17, ?18) "
	        "ON CONFLICT (uuid) DO NOTHING",
	        err);

	if (!st)
		return -EIO;
	bind_s(st, 1, c->uuid);
	bind_s(st, 2, c->node ? c->node : "");
	bind_s(st, 3, c->room);
	bind_id(st, 4, c->conference_id);
	bind_s(st, 5, c->leg);
	bind_id(st, 6, c->participant_id);
	bind_s(st, 7, c->role);
	bind_s(st, 8, c->caller);
	bind_s(st, 9, c->caller_name);
	bind_s(st, 10, c->called);
	sqlite3_bind_int64(st, 11, c->joined_at);
	sqlite3_bind_int64(st, 12, c->left_at);
	sqlite3_bind_int64(st, 13, c->duration_ms);
	sqlite3_bind_int64(st, 14, c->talk_ms);
	bind_s(st, 15, c->reason);
	bind_s(st, 16, c->billid);
	bind_s(st, 17, c->direction);
	bind_id(st, 18, c->seq);
	return run(db, st, NULL, NULL, err);
}

static int db_room_live(struct ce_db *db, const struct ce_room_live *l, GError **err)
{
	sqlite3_stmt *st;

	if (l->participants > 0)
		st = stmt(db,
		        "INSERT INTO live_rooms (node, room, conference_id, participants, "
		        "started_at,"
		        " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (node, room) DO "
		        "UPDATE SET conference_id = ?3, participants = ?4, started_at = ?5, "
		        "updated_at = ?6",
		        err);
	else
		st = stmt(db, "DELETE FROM live_rooms WHERE node = ?1 AND room = ?2", err);
	if (!st)
		return -EIO;
	bind_s(st, 1, l->node ? l->node : "");
	bind_s(st, 2, l->room);
	if (l->participants > 0) {
		bind_id(st, 3, l->conference_id);
		sqlite3_bind_int(st, 4, l->participants);
		sqlite3_bind_int64(st, 5, l->started_at);
		sqlite3_bind_int64(st, 6, l->updated_at);
	}
	return run(db, st, NULL, NULL, err);
}

/* clang-format off */
#define EVENT_COLS                                                                             \
	"id, uuid, node, seq, at, kind, room, conference_id, leg, participant_id, role, caller, " \
	"caller_name, called, direction, detail"
#define CDR_COLS                                                                               \
	"id, uuid, node, room, conference_id, leg, participant_id, role, caller, caller_name, "    \
	"called, direction, joined_at, left_at, duration_ms, talk_ms, reason, billid, seq"
/*
 * ?1 after, ?2 from, ?3 to, ?4 room, ?5 conference, ?6 limit, ?7 kind.  A
 * filter that is not set is left out of the statement (one statement per
 * combination), rather than "?4 IS NULL OR room = ?4", so that SQLite's
 * planner, which does not look at bound values, can use the room and
 * conference indexes.
 */
#define HISTORY_SQL(what, cols, at, room, conf, kind)                              \
	"SELECT " cols " FROM " what " WHERE id > ?1 AND " at " >= ?2 AND " at " < ?3" \
	room conf kind " ORDER BY id LIMIT ?6"
#define F_ROOM " AND room = ?4"
#define F_CONF " AND conference_id = ?5"
#define F_KIND " AND kind = ?7"
#define EVENT_SQL(r, c, k) HISTORY_SQL("events", EVENT_COLS, "at", r, c, k)
#define CDR_SQL(r, c)      HISTORY_SQL("cdrs", CDR_COLS, "joined_at", r, c, "")

/* By filters set: 1 room, 2 conference, 4 kind. */
static const char *const event_sql[8] = {
	EVENT_SQL("", "", ""), EVENT_SQL(F_ROOM, "", ""), EVENT_SQL("", F_CONF, ""),
	EVENT_SQL(F_ROOM, F_CONF, ""), EVENT_SQL("", "", F_KIND), EVENT_SQL(F_ROOM, "", F_KIND),
	EVENT_SQL("", F_CONF, F_KIND), EVENT_SQL(F_ROOM, F_CONF, F_KIND),
};
static const char *const cdr_sql[4] = {
	CDR_SQL("", ""), CDR_SQL(F_ROOM, ""), CDR_SQL("", F_CONF), CDR_SQL(F_ROOM, F_CONF),
};
/* clang-format on */

static gpointer row_event(sqlite3_stmt *st)
{
	struct ce_event *ev = g_new0(struct ce_event, 1);
	int i = 0;

	ev->id = sqlite3_column_int64(st, i++);
	ev->uuid = col_s(st, i++);
	ev->node = col_s(st, i++);
	ev->seq = sqlite3_column_int64(st, i++);
	ev->at = col_time(st, i++);
	if (ce_event_kind_parse((const char *)sqlite3_column_text(st, i++), &ev->kind) < 0)
		ev->kind = CE_EVENT_CREATED;
	ev->room = col_s(st, i++);
	ev->conference_id = sqlite3_column_int64(st, i++);
	ev->leg = col_s(st, i++);
	ev->participant_id = sqlite3_column_int64(st, i++);
	ev->role = col_s(st, i++);
	ev->caller = col_s(st, i++);
	ev->caller_name = col_s(st, i++);
	ev->called = col_s(st, i++);
	ev->direction = col_s(st, i++);
	ev->detail = col_s(st, i++);
	return ev;
}

static gpointer row_cdr(sqlite3_stmt *st)
{
	struct ce_cdr *c = g_new0(struct ce_cdr, 1);
	int i = 0;

	c->id = sqlite3_column_int64(st, i++);
	c->uuid = col_s(st, i++);
	c->node = col_s(st, i++);
	c->room = col_s(st, i++);
	c->conference_id = sqlite3_column_int64(st, i++);
	c->leg = col_s(st, i++);
	c->participant_id = sqlite3_column_int64(st, i++);
	c->role = col_s(st, i++);
	c->caller = col_s(st, i++);
	c->caller_name = col_s(st, i++);
	c->called = col_s(st, i++);
	c->direction = col_s(st, i++);
	c->joined_at = col_time(st, i++);
	c->left_at = col_time(st, i++);
	c->duration_ms = sqlite3_column_int64(st, i++);
	c->talk_ms = sqlite3_column_int64(st, i++);
	c->reason = col_s(st, i++);
	c->billid = col_s(st, i++);
	c->seq = sqlite3_column_int64(st, i++);
	return c;
}

static unsigned history_variant(const struct ce_history_filter *f)
{
	return (f->room ? 1 : 0) | (f->conference_id ? 2 : 0) | (f->kind >= 0 ? 4 : 0);
}

/* Binds what the statement of @f holds (history_variant() chose it). */
static void bind_history(sqlite3_stmt *st, const struct ce_history_filter *f)
{
	sqlite3_bind_int64(st, 1, f->after);
	sqlite3_bind_int64(st, 2, f->from);
	sqlite3_bind_int64(st, 3, f->to);
	if (f->room)
		bind_s(st, 4, f->room);
	if (f->conference_id)
		sqlite3_bind_int64(st, 5, f->conference_id);
	sqlite3_bind_int64(st, 6, f->limit);
}

static int db_list_events(
        struct ce_db *db, const struct ce_history_filter *f, GPtrArray *out, GError **err)
{
	sqlite3_stmt *st = stmt(db, event_sql[history_variant(f)], err);

	if (!st)
		return -EIO;
	bind_history(st, f);
	if (f->kind >= 0)
		bind_s(st, 7, ce_event_kind_name(f->kind));
	return run(db, st, out, row_event, err);
}

static int db_list_cdrs(
        struct ce_db *db, const struct ce_history_filter *f, GPtrArray *out, GError **err)
{
	sqlite3_stmt *st = stmt(db, cdr_sql[history_variant(f) & 3], err);

	if (!st)
		return -EIO;
	bind_history(st, f);
	return run(db, st, out, row_cdr, err);
}

static int db_add_line(struct ce_db *db, const struct ce_stream_line *l, GError **err)
{
	sqlite3_stmt *st = stmt(db,
	        "INSERT INTO event_stream (node, seq, run, at, room, conference_id, line) "
	        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (node, seq) DO NOTHING",
	        err);

	if (!st)
		return -EIO;
	bind_s(st, 1, l->node ? l->node : "");
	sqlite3_bind_int64(st, 2, l->seq);
	sqlite3_bind_int64(st, 3, l->run);
	sqlite3_bind_int64(st, 4, l->at);
	bind_s(st, 5, l->room);
	bind_id(st, 6, l->conference_id);
	bind_s(st, 7, l->line);
	return run(db, st, NULL, NULL, err);
}

static gpointer row_line(sqlite3_stmt *st)
{
	struct ce_stream_line *l = g_new0(struct ce_stream_line, 1);

	l->seq = sqlite3_column_int64(st, 0);
	l->run = sqlite3_column_int64(st, 1);
	l->line = col_s(st, 2);
	return l;
}

/*
 * The filters only choose which rows carry their text: every row of the
 * range comes back, so that the reader can tell a missing id.  The range
 * is on the primary key (node, seq).
 */
static int db_list_lines(struct ce_db *db, const char *node, const struct ce_stream_filter *f,
        GPtrArray *out, GError **err)
{
	sqlite3_stmt *st = stmt(db,
	        "SELECT seq, run, CASE WHEN (?4 IS NULL OR room = ?4) AND (?5 IS NULL OR "
	        "conference_id = ?5) THEN line END FROM event_stream WHERE node = ?1 AND "
	        "seq > ?2 AND seq <= ?3 ORDER BY seq LIMIT ?6",
	        err);

	if (!st)
		return -EIO;
	bind_s(st, 1, node ? node : "");
	sqlite3_bind_int64(st, 2, f->after);
	sqlite3_bind_int64(st, 3, f->upto);
	bind_s(st, 4, f->room);
	bind_id(st, 5, f->conference_id);
	sqlite3_bind_int64(st, 6, f->limit);
	return run(db, st, out, row_line, err);
}

static gpointer row_int(sqlite3_stmt *st)
{
	gint64 *v = g_new(gint64, 1);

	*v = sqlite3_column_int64(st, 0);
	return v;
}

static int db_last_line(struct ce_db *db, const char *node, gint64 *seq, GError **err)
{
	sqlite3_stmt *st = stmt(db, "SELECT max(seq) FROM event_stream WHERE node = ?1", err);
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	int r;

	*seq = 0;
	if (!st)
		r = -EIO;
	else {
		bind_s(st, 1, node ? node : "");
		r = run(db, st, out, row_int, err);
	}
	if (r == 0 && out->len)
		*seq = *(gint64 *)out->pdata[0];
	g_ptr_array_unref(out);
	return r;
}

/* SQLite's heap in this process, every connection: mostly their page caches */
static gint64 db_memory_used(void)
{
	return sqlite3_memory_used();
}

const struct ce_db_ops ce_db_sqlite_ops = {
        .name = "sqlite",
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
        .memory_used = db_memory_used,
};
