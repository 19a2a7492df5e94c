/* test-store-fault.c - database loss and bad files: PostgreSQL stopped mid-run, corrupt and
 * read-only SQLite */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "store-fixture.h"

#define T0        (G_GINT64_CONSTANT(1795424400) * G_USEC_PER_SEC)
#define N_RECORDS 600

static void shell(const char *env)
{
	const char *cmd = g_getenv(env);
	char *out = NULL, *err = NULL;
	int status = -1;

	g_assert_nonnull(cmd);
	g_assert_true(g_spawn_command_line_sync(cmd, &out, &err, &status, NULL));
	if (!g_spawn_check_wait_status(status, NULL))
		g_error("%s failed: %s %s", cmd, out, err);
	g_free(out);
	g_free(err);
}

static void add_pair(struct fx *f, int i)
{
	char *uuid = g_strdup_printf("ev-%d", i), *cuuid = g_strdup_printf("cdr-%d", i);
	struct ce_event ev = {.uuid = uuid,
	        .kind = CE_EVENT_TALK_START,
	        .room = "board",
	        .at = T0 + i,
	        .caller = "+1"};
	struct ce_cdr cdr = {.uuid = cuuid, .room = "board", .joined_at = T0, .left_at = T0 + i};

	ce_store_add_event(f->st, &ev);
	ce_store_add_cdr(f->st, &cdr);
	g_free(uuid);
	g_free(cuuid);
}

struct admit_wait {
	bool done;
	enum ce_admit_result result;
	int err;
};

static void admit_done(const struct ce_admission *a, void *arg)
{
	struct admit_wait *w = arg;

	w->result = a->result;
	w->done = true;
}

static void put_timeout_done(int err, gint64 id, const GError *error, void *arg)
{
	struct admit_wait *w = arg;

	g_assert_cmpint(err, ==, -ETIMEDOUT);
	g_assert_error(error, CE_STORE_ERROR, CE_STORE_ERROR_TIMEOUT);
	w->done = true;
}

/*
 * Adds records until the store has noticed the database is gone; returns how
 * many.  Their numbers go on from one call to the next: records with the
 * uuid of an earlier one would be stored once (idempotent replay) and the
 * count would come out short.
 */
static int wait_down(struct fx *f)
{
	static int next = 100000;
	gint64 end = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
	int i = 0;

	while (ce_store_is_up(f->st)) {
		add_pair(f, next++); /* the writer notices on its next write */
		i++;
		g_main_context_iteration(f->ctx, FALSE);
		g_usleep(2000);
		g_assert_cmpint(g_get_monotonic_time(), <, end);
	}
	return i;
}

static void check_complete(struct fx *f, gint64 n)
{
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM events"), ==, n);
	g_assert_cmpint(fx_query_int(f, "SELECT count(DISTINCT uuid) FROM events"), ==, n);
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM cdrs"), ==, n);
	g_assert_cmpint(fx_query_int(f, "SELECT count(DISTINCT uuid) FROM cdrs"), ==, n);
	/* in the order they were added */
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM events a JOIN events b ON a.id < b.id"
	                                " WHERE a.seq > b.seq"),
	        ==, 0);
}

/* A conference "800", PIN 1, open at T0, read once by every worker. */
static void schedule(struct fx *f)
{
	struct ce_conference *c = ce_conference_new();
	struct admit_wait w;

	c->access_number = g_strdup("800");
	c->room = g_strdup("board");
	c->pin = g_strdup("1");
	c->starts_at = T0;
	c->ends_at = T0 + G_USEC_PER_SEC;
	fx_put_conference(f, c);
	ce_conference_unref(c);
	for (int i = 0; i < 2 * (int)f->opt.workers; i++) {
		w.done = false;
		g_assert_cmpint(
		        ce_store_admit(f->st, "800", "1", NULL, T0, admit_done, &w, NULL), ==, 0);
		fx_wait(f, &w.done);
		g_assert_cmpint(w.result, ==, CE_ADMIT_OK);
	}
}

/* PostgreSQL stopped (pg_ctl -m fast) while events keep coming, then started. */
static void test_pg_restart(struct fx *f, gconstpointer data)
{
	struct admit_wait w = {0};
	int extra;

	if (f->skip)
		return;
	schedule(f);
	for (int i = 0; i < N_RECORDS / 3; i++)
		add_pair(f, i);
	shell("CE_TEST_PG_STOP");
	extra = wait_down(f);
	/* admission answers at once, with a reason */
	g_assert_cmpint(ce_store_admit(f->st, "800", "1", NULL, T0, admit_done, &w, NULL), ==, 0);
	fx_wait(f, &w.done);
	g_assert_cmpint(w.result, ==, CE_ADMIT_UNAVAILABLE);
	for (int i = N_RECORDS / 3; i < N_RECORDS; i++) {
		add_pair(f, i);
		if (i % 50 == 0)
			g_main_context_iteration(f->ctx, FALSE);
	}
	g_assert_false(ce_store_is_up(f->st));
	shell("CE_TEST_PG_START");
	fx_drain(f);
	check_complete(f, N_RECORDS + extra);
	/* workers whose connections died with the server answer at once */
	for (int i = 0; i < 2 * (int)f->opt.workers; i++) {
		w.done = false;
		g_assert_cmpint(
		        ce_store_admit(f->st, "800", "1", NULL, T0, admit_done, &w, NULL), ==, 0);
		fx_wait(f, &w.done);
		g_assert_cmpint(w.result, ==, CE_ADMIT_OK);
	}
	g_assert_cmpint(CE_ATOMIC_GET(&f->st->replayed), >, 0);
	g_assert_cmpint(CE_ATOMIC_GET(&f->st->rejected), ==, 0);
	/* and once more: the store reconnects every time */
	shell("CE_TEST_PG_STOP");
	extra += wait_down(f);
	shell("CE_TEST_PG_START");
	fx_drain(f);
	check_complete(f, N_RECORDS + extra);
}

/*
 * A replay after a partly committed batch: the spool holds records the
 * database already has (the engine died between commit and spool update).
 */
static void test_replay_no_duplicates(struct fx *f, gconstpointer data)
{
	struct ce_spool *sp;
	GPtrArray *bytes = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);

	if (f->skip)
		goto out;
	for (int i = 0; i < N_RECORDS / 2; i++)
		add_pair(f, i);
	fx_drain(f);
	fx_close(f);
	for (int i = 0; i < N_RECORDS; i++) {
		char *uuid = g_strdup_printf("ev-%d", i), *cuuid = g_strdup_printf("cdr-%d", i);
		struct ce_event ev = {.uuid = uuid,
		        .kind = CE_EVENT_TALK_START,
		        .room = "board",
		        .at = T0 + i,
		        .seq = (G_GINT64_CONSTANT(1) << 62) + i};
		struct ce_cdr cdr = {
		        .uuid = cuuid, .room = "board", .joined_at = T0, .left_at = T0};
		struct ce_rec *r = ce_rec_new_event(&ev), *c = ce_rec_new_cdr(&cdr);
		g_ptr_array_add(bytes, ce_rec_serialize(r));
		g_ptr_array_add(bytes, ce_rec_serialize(c));
		ce_rec_free(r);
		ce_rec_free(c);
		g_free(uuid);
		g_free(cuuid);
	}
	g_assert_cmpint(ce_spool_open(&sp, f->opt.spool_dir, NULL), ==, 0);
	g_assert_cmpint(
	        ce_spool_append(sp, (GBytes *const *)bytes->pdata, bytes->len, NULL), ==, 0);
	ce_spool_close(sp);
	g_assert_cmpint(fx_open(f, NULL), ==, 0);
	fx_drain(f);
	check_complete(f, N_RECORDS);
	g_assert_cmpint(CE_ATOMIC_GET(&f->st->replayed), ==, 2 * N_RECORDS);
out:
	g_ptr_array_unref(bytes);
}

/* A statement that cannot finish (a table locked by someone else) is cut off in time. */
static void test_bounded_query(struct fx *f, gconstpointer data)
{
	struct admit_wait w = {0};
	PGconn *locker = NULL;
	sqlite3 *sq = NULL;

	if (f->skip)
		return;
	fx_close(f);
	f->opt.query_timeout_ms = 300;
	g_assert_cmpint(fx_open(f, NULL), ==, 0);
	if (f->backend == CE_STORE_POSTGRESQL) {
		locker = PQconnectdb(f->opt.pg_conninfo);
		PQclear(PQexec(locker, "BEGIN; LOCK TABLE conferences IN ACCESS EXCLUSIVE MODE"));
	} else {
		/* a writer that never lets go: the store's own writes time out */
		g_assert_cmpint(sqlite3_open(f->sqlite_path, &sq), ==, SQLITE_OK);
		g_assert_cmpint(
		        sqlite3_exec(sq, "BEGIN EXCLUSIVE", NULL, NULL, NULL), ==, SQLITE_OK);
	}
	if (locker) {
		g_assert_cmpint(
		        ce_store_admit(f->st, "800", "1", NULL, T0, admit_done, &w, NULL), ==, 0);
		fx_wait(f, &w.done);
		g_assert_cmpint(w.result, ==, CE_ADMIT_UNAVAILABLE);
		PQfinish(locker);
	} else {
		struct ce_conference *c = ce_conference_new();
		c->room = g_strdup("r");
		c->starts_at = T0;
		c->ends_at = T0 + 1;
		g_assert_cmpint(
		        ce_store_put_conference(f->st, c, put_timeout_done, &w, NULL), ==, 0);
		fx_wait(f, &w.done);
		ce_conference_unref(c);
		sqlite3_close(sq);
	}
	/* and the store works again afterwards */
	w.done = false;
	g_assert_cmpint(ce_store_admit(f->st, "800", "1", NULL, T0, admit_done, &w, NULL), ==, 0);
	fx_wait(f, &w.done);
	g_assert_cmpint(w.result, ==, CE_ADMIT_NO_CONFERENCE);
}

static void write_file(const char *path, const char *data, gsize len)
{
	g_assert_true(g_file_set_contents(path, data, (gssize)len, NULL));
}

/* A file that is not a database, and a database whose first page is damaged. */
static void test_sqlite_corrupt(void)
{
	struct fx f = {0};
	GError *err = NULL;

	fx_setup(&f, &fx_sqlite);
	fx_close(&f);
	{
		char *data = NULL;
		gsize len = 0;
		g_assert_true(g_file_get_contents(f.sqlite_path, &data, &len, NULL));
		g_assert_cmpuint(len, >, 4096);
		memset(data + 100, 0xA5, 3000);
		g_unlink(f.sqlite_path);
		write_file(f.sqlite_path, data, len);
		g_free(data);
	}
	g_assert_cmpint(fx_open(&f, &err), <, 0);
	g_assert_error(err, CE_STORE_ERROR, CE_STORE_ERROR_CORRUPT);
	g_assert_nonnull(strstr(err->message, f.sqlite_path));
	g_test_message("damaged page: %s", err->message);
	g_clear_error(&err);
	{
		char *wal = g_strconcat(f.sqlite_path, "-wal", NULL),
		     *shm = g_strconcat(f.sqlite_path, "-shm", NULL);
		g_unlink(wal);
		g_unlink(shm);
		g_free(wal);
		g_free(shm);
	}
	write_file(f.sqlite_path, "this is not a database, it is a text file\n", 42);
	g_assert_cmpint(fx_open(&f, &err), <, 0);
	g_assert_error(err, CE_STORE_ERROR, CE_STORE_ERROR_CORRUPT);
	g_assert_nonnull(strstr(err->message, "not an SQLite database"));
	g_test_message("text file: %s", err->message);
	g_clear_error(&err);
	fx_teardown(&f, &fx_sqlite);
}

/* In a child: drop root (root writes anything), then open a read-only file. */
static void readonly_child(void)
{
	struct ce_store_options o = {.backend = CE_STORE_SQLITE,
	        .sqlite_path = g_getenv("CE_TEST_RO_DB"),
	        .spool_dir = g_getenv("CE_TEST_RO_SPOOL")};
	struct ce_store *st = NULL;
	GError *err = NULL;

	if (getuid() == 0) {
		g_assert_cmpint(setgid(65534), ==, 0);
		g_assert_cmpint(setuid(65534), ==, 0);
	}
	g_assert_cmpint(ce_store_new(&st, &o, NULL, &err), <, 0);
	g_assert_error(err, CE_STORE_ERROR, CE_STORE_ERROR_READONLY);
	g_assert_nonnull(strstr(err->message, "read-only"));
	g_printerr("%s\n", err->message);
	g_error_free(err);
}

static void test_sqlite_readonly(void)
{
	struct fx f = {0};
	char *spool, *ro, *db, *data = NULL;
	gsize len;

	if (g_test_subprocess()) {
		readonly_child();
		return;
	}
	fx_setup(&f, &fx_sqlite);
	fx_close(&f);
	spool = g_build_filename(f.dir, "spool-ro", NULL);
	ro = g_build_filename(f.dir, "ro", NULL);
	db = g_build_filename(ro, "conf.db", NULL);
	g_assert_cmpint(g_mkdir(spool, 0777), ==, 0);
	g_assert_cmpint(g_chmod(spool, 0777), ==, 0);
	g_assert_cmpint(g_mkdir(ro, 0755), ==, 0);
	g_assert_true(g_file_get_contents(f.sqlite_path, &data, &len, NULL));
	write_file(db, data, len);
	g_assert_cmpint(g_chmod(db, 0444), ==, 0);
	g_assert_cmpint(g_chmod(f.dir, 0755), ==, 0);
	g_setenv("CE_TEST_RO_DB", db, TRUE);
	g_setenv("CE_TEST_RO_SPOOL", spool, TRUE);
	g_test_trap_subprocess(NULL, 30 * G_USEC_PER_SEC, 0);
	g_test_trap_assert_passed();
	g_test_trap_assert_stderr("*read-only*");
	g_unlink(db);
	g_rmdir(ro);
	{
		const char *names[] = {"spool.dat", "spool.pos", "spool.lock"};
		for (unsigned i = 0; i < G_N_ELEMENTS(names); i++) {
			char *p = g_build_filename(spool, names[i], NULL);
			g_unlink(p);
			g_free(p);
		}
	}
	g_rmdir(spool);
	g_free(data);
	g_free(db);
	g_free(ro);
	g_free(spool);
	fx_teardown(&f, &fx_sqlite);
}

static void test_bad_options(void)
{
	struct ce_store_options o = {.backend = CE_STORE_SQLITE,
	        .sqlite_path = "/nonexistent/x/y.db",
	        .spool_dir = "/tmp"};
	struct ce_store *st = NULL;
	GError *err = NULL;

	o.spool_dir = NULL;
	g_assert_cmpint(ce_store_new(&st, &o, NULL, &err), ==, -EINVAL);
	g_assert_error(err, CE_STORE_ERROR, CE_STORE_ERROR_CONFIG);
	g_assert_nonnull(strstr(err->message, "spool_dir"));
	g_clear_error(&err);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL);
	g_log_set_fatal_mask("store", G_LOG_LEVEL_CRITICAL);
	g_test_add("/store-fault/postgresql/restart", struct fx, &fx_postgresql, fx_setup,
	        test_pg_restart, fx_teardown);
	fx_add_tests("replay-no-duplicates", test_replay_no_duplicates);
	fx_add_tests("bounded-query", test_bounded_query);
	g_test_add_func("/store-fault/sqlite/corrupt", test_sqlite_corrupt);
	g_test_add_func("/store-fault/sqlite/readonly", test_sqlite_readonly);
	g_test_add_func("/store-fault/options", test_bad_options);
	return g_test_run();
}
