/* store-fixture.c - shared fixture of the store tests: temp dirs, waits, direct SQL checks */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "store-fixture.h"
#include "tests/testutil.h"

const int fx_sqlite = CE_STORE_SQLITE, fx_postgresql = CE_STORE_POSTGRESQL;

/* Every wait in these tests ends after this long, with a failure. */
#define WAIT_LIMIT_US (120 * G_USEC_PER_SEC)

static void quiet(void *arg, const char *message)
{
}

static void pg_exec(const char *sql, GPtrArray *rows)
{
	PGconn *c = PQconnectdb(g_getenv("CE_TEST_PG_CONNINFO"));
	PGresult *res;

	g_assert_cmpint(PQstatus(c), ==, CONNECTION_OK);
	PQsetNoticeProcessor(c, quiet, NULL);
	res = PQexec(c, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
		g_error("%s: %s", sql, PQresultErrorMessage(res));
	for (int i = 0; rows && i < PQntuples(res); i++)
		g_ptr_array_add(
		        rows, PQgetisnull(res, i, 0) ? NULL : g_strdup(PQgetvalue(res, i, 0)));
	PQclear(res);
	PQfinish(c);
}

static void sqlite_exec(struct fx *f, const char *sql, GPtrArray *rows)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int rc;

	g_assert_cmpint(sqlite3_open(f->sqlite_path, &db), ==, SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	if (!rows) {
		if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
			g_error("%s: %s", sql, sqlite3_errmsg(db));
		sqlite3_close(db);
		return;
	}
	g_assert_cmpint(sqlite3_prepare_v2(db, sql, -1, &st, NULL), ==, SQLITE_OK);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		g_ptr_array_add(rows, t ? g_strdup(t) : NULL);
	}
	g_assert_cmpint(rc, ==, SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/** fx_exec() - run @sql directly on the test database (not through the store) */
void fx_exec(struct fx *f, const char *sql)
{
	if (f->backend == CE_STORE_SQLITE)
		sqlite_exec(f, sql, NULL);
	else
		pg_exec(sql, NULL);
}

/** fx_try_exec() - as fx_exec(), but a statement the database refuses returns -EIO */
int fx_try_exec(struct fx *f, const char *sql)
{
	int err = 0;

	if (f->backend == CE_STORE_SQLITE) {
		sqlite3 *db;

		g_assert_cmpint(sqlite3_open(f->sqlite_path, &db), ==, SQLITE_OK);
		sqlite3_busy_timeout(db, 10000);
		if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
			err = -EIO;
		sqlite3_close(db);
	} else {
		PGconn *c = PQconnectdb(g_getenv("CE_TEST_PG_CONNINFO"));
		PGresult *res;

		g_assert_cmpint(PQstatus(c), ==, CONNECTION_OK);
		PQsetNoticeProcessor(c, quiet, NULL);
		res = PQexec(c, sql);
		if (PQresultStatus(res) != PGRES_COMMAND_OK &&
		        PQresultStatus(res) != PGRES_TUPLES_OK)
			err = -EIO;
		PQclear(res);
		PQfinish(c);
	}
	return err;
}

/** fx_query() - first column of the first row of @sql (NULL if none); g_free it */
char *fx_query(struct fx *f, const char *sql)
{
	GPtrArray *rows = g_ptr_array_new();
	char *r;

	if (f->backend == CE_STORE_SQLITE)
		sqlite_exec(f, sql, rows);
	else
		pg_exec(sql, rows);
	r = rows->len ? g_strdup(g_ptr_array_index(rows, 0)) : NULL;
	for (guint i = 0; i < rows->len; i++)
		g_free(g_ptr_array_index(rows, i));
	g_ptr_array_unref(rows);
	return r;
}

/** fx_query_int() - fx_query() as a number */
gint64 fx_query_int(struct fx *f, const char *sql)
{
	char *s = fx_query(f, sql);
	gint64 v = s ? g_ascii_strtoll(s, NULL, 10) : -1;

	g_free(s);
	return v;
}

/** fx_open() - open the store with f->opt */
int fx_open(struct fx *f, GError **err)
{
	return ce_store_new(&f->st, &f->opt, f->ctx, err);
}

/** fx_close() - free the store */
void fx_close(struct fx *f)
{
	g_clear_pointer(&f->st, ce_store_free);
}

/** fx_setup() - temp dir, clean database, open store */
void fx_setup(struct fx *f, gconstpointer backend)
{
	GError *err = NULL;

	f->backend = *(const int *)backend;
	if (f->backend == CE_STORE_POSTGRESQL && !g_getenv("CE_TEST_PG_CONNINFO")) {
		f->skip = true;
		if (g_strcmp0(g_getenv("CE_TEST_PG_OPTIONAL"), "1") == 0) {
			g_test_skip("no PostgreSQL: CE_TEST_PG_CONNINFO is not set");
		} else {
			g_test_message(
			        "CE_TEST_PG_CONNINFO is not set: run under tests/pg-harness.sh");
			g_test_fail();
		}
		return;
	}
	f->dir = g_dir_make_tmp("ce-store-XXXXXX", NULL);
	g_assert_nonnull(f->dir);
	f->sqlite_path = g_build_filename(f->dir, "conf.db", NULL);
	if (f->backend == CE_STORE_POSTGRESQL)
		pg_exec("DROP SCHEMA public CASCADE; CREATE SCHEMA public", NULL);
	f->opt.backend = f->backend;
	f->opt.sqlite_path = f->sqlite_path;
	f->opt.pg_conninfo = g_getenv("CE_TEST_PG_CONNINFO");
	f->opt.spool_dir = g_build_filename(f->dir, "spool", NULL);
	f->opt.node = "test-node";
	f->opt.workers = 2;
	f->opt.query_timeout_ms = 10000;
	f->opt.reconnect_min_ms = 20;
	f->opt.reconnect_max_ms = 200;
	f->ctx = g_main_context_new();
	g_main_context_push_thread_default(f->ctx);
	fx_open(f, &err);
	g_assert_no_error(err);
	g_assert_nonnull(f->st);
}

/** fx_teardown() - close the store and remove the temp dir */
void fx_teardown(struct fx *f, gconstpointer backend)
{
	if (f->skip)
		return;
	fx_close(f);
	while (g_main_context_iteration(f->ctx, FALSE))
		;
	g_main_context_pop_thread_default(f->ctx);
	g_main_context_unref(f->ctx);
	ce_test_rm_tree(f->dir);
	g_free(f->dir);
	g_free(f->sqlite_path);
	g_free((char *)f->opt.spool_dir);
}

/** fx_wait() - run the main context until *@done (bounded) */
void fx_wait(struct fx *f, const bool *done)
{
	gint64 end = g_get_monotonic_time() + WAIT_LIMIT_US;

	while (!*done) {
		if (!g_main_context_iteration(f->ctx, FALSE))
			g_usleep(500);
		if (g_get_monotonic_time() > end)
			g_error("wait: nothing happened within %d s",
			        (int)(WAIT_LIMIT_US / G_USEC_PER_SEC));
	}
}

static void set_true(void *arg)
{
	*(bool *)arg = true;
}

/** fx_drain() - wait until every queued record is in the database (bounded) */
void fx_drain(struct fx *f)
{
	gint64 end = g_get_monotonic_time() + WAIT_LIMIT_US;

	for (;;) {
		bool done = false;
		ce_store_flush(f->st, set_true, &done, NULL);
		fx_wait(f, &done);
		if (CE_ATOMIC_GET(&f->st->spooled) == 0 && CE_ATOMIC_GET(&f->st->queued) == 0 &&
		        ce_store_is_up(f->st))
			return;
		if (g_get_monotonic_time() > end)
			g_error("drain: the spool did not empty");
		g_usleep(10000);
	}
}

struct put_wait {
	bool done;
	int err;
	gint64 id;
};

static void put_done(int err, gint64 id, const GError *error, void *arg)
{
	struct put_wait *w = arg;

	if (error)
		g_test_message("put: %s", error->message);
	w->err = err;
	w->id = id;
	w->done = true;
}

/** fx_put_conference() - store @c, returning its id (asserts success) */
gint64 fx_put_conference(struct fx *f, const struct ce_conference *c)
{
	struct put_wait w = {0};

	g_assert_cmpint(ce_store_put_conference(f->st, c, put_done, &w, NULL), ==, 0);
	fx_wait(f, &w.done);
	g_assert_cmpint(w.err, ==, 0);
	g_assert_cmpint(w.id, >, 0);
	return w.id;
}

/** fx_put_participant() - store @p, returning its id (asserts success) */
gint64 fx_put_participant(struct fx *f, const struct ce_participant *p)
{
	struct put_wait w = {0};

	g_assert_cmpint(ce_store_put_participant(f->st, p, put_done, &w, NULL), ==, 0);
	fx_wait(f, &w.done);
	g_assert_cmpint(w.err, ==, 0);
	return w.id;
}

/** fx_add_tests() - register @fn as /store/sqlite/@name and /store/postgresql/@name */
void fx_add_tests(const char *name, void (*fn)(struct fx *, gconstpointer))
{
	char *a = g_strdup_printf("/store/sqlite/%s", name);
	char *b = g_strdup_printf("/store/postgresql/%s", name);

	g_test_add(a, struct fx, &fx_sqlite, fx_setup, fn, fx_teardown);
	g_test_add(b, struct fx, &fx_postgresql, fx_setup, fn, fx_teardown);
	g_free(a);
	g_free(b);
}
