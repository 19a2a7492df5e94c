/* test-store-module.c - the store as a built-in module: [store] configuration, idle without it,
 * clear failures */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

#include "conf-engine/config.h"
#include "console.h"
#include "engine-private.h"
#include "engine.h"
#include "modules/store/store.h"
#include "tests/testutil.h"

static const char *const only_store[] = {"store", NULL};

static mode_t umask_now(void)
{
	mode_t m = umask(022);

	umask(m);
	return m;
}

/* An engine whose configuration @text was read from the file @path. */
static struct ce_engine *engine_at(const char *text, const char *path)
{
	struct ce_config *cfg = NULL;
	struct ce_engine *ce = NULL;

	g_assert_cmpint(ce_config_parse(&cfg, text, -1, path, NULL), ==, 0);
	g_assert_cmpint(ce_engine_new(&ce, cfg), ==, 0);
	return ce;
}

static struct ce_engine *engine(const char *text)
{
	return engine_at(text, "test.conf");
}

/* Without [store]: one note, nothing opened, nothing created (not even the state directory). */
static void test_idle(void)
{
	struct ce_engine *ce = engine("[general]\nnode=n1\n");
	bool existed = g_file_test(ce_engine_state_dir(ce), G_FILE_TEST_EXISTS);

	g_assert_cmpstr(ce_engine_state_dir(ce), ==, CE_STATEDIR);
	g_test_expect_message("store", G_LOG_LEVEL_MESSAGE,
	        "no [store] section: scheduled conferences are disabled");
	g_assert_cmpint(ce_engine_start(ce, only_store), ==, 0);
	g_test_assert_expected_messages();
	g_assert_null(ce_store_of(ce));
	g_assert_cmpint(g_file_test(ce_engine_state_dir(ce), G_FILE_TEST_EXISTS), ==, existed);
	ce_engine_stop(ce);
	ce_engine_free(ce);
}

/*
 * [store] with neither sqlite_path nor spool_dir: both go to the state
 * directory, made with mode 0750; a relative state_dir is taken from the
 * configuration file's directory.
 */
static void test_state_dir_defaults(void)
{
	char *dir = g_dir_make_tmp("ce-store-state-XXXXXX", NULL);
	char *conf = g_build_filename(dir, "etc", "conf-engine.conf", NULL);
	char *state = g_build_filename(dir, "etc", "var", "lib", NULL);
	char *parent = g_build_filename(dir, "etc", "var", NULL);
	char *db = g_build_filename(state, "conf-engine.db", NULL);
	char *spool = g_build_filename(state, "spool", NULL);
	struct ce_engine *ce = engine_at(
	        "[general]\nstate_dir=var/lib\n[store]\nbackend=sqlite\nworkers=1\n", conf);
	mode_t mask = umask_now(); /* before the store's threads run */
	GStatBuf sb;

	g_assert_cmpstr(ce_engine_state_dir(ce), ==, state);
	g_assert_false(g_file_test(state, G_FILE_TEST_EXISTS));
	g_assert_cmpint(ce_engine_start(ce, only_store), ==, 0);
	g_assert_nonnull(ce_store_of(ce));
	g_assert_cmpint(g_stat(state, &sb), ==, 0);
	g_assert_true(S_ISDIR(sb.st_mode));
	g_assert_cmpint(sb.st_mode & 0777, ==, 0750 & ~mask);
	g_assert_cmpint(g_stat(parent, &sb), ==, 0); /* parents as /var/lib is */
	g_assert_cmpint(sb.st_mode & 0777, ==, 0755 & ~mask);
	g_assert_true(g_file_test(db, G_FILE_TEST_IS_REGULAR));
	g_assert_true(g_file_test(spool, G_FILE_TEST_IS_DIR));
	ce_engine_stop(ce);
	ce_engine_free(ce);
	ce_test_rm_tree(dir);
	g_free(spool);
	g_free(db);
	g_free(state);
	g_free(parent);
	g_free(conf);
	g_free(dir);
}

/* A state_dir that cannot be made stops the start and says which and why. */
static void test_state_dir_unusable(void)
{
	char *dir = g_dir_make_tmp("ce-store-state-XXXXXX", NULL);
	char *file = g_build_filename(dir, "a-file", NULL);
	char *text = g_strdup_printf("[general]\nstate_dir=%s/sub\n", file);
	struct ce_engine *ce;

	g_assert_true(g_file_set_contents(file, "", 0, NULL));
	ce = engine(text);
	g_test_expect_message("ce-engine", G_LOG_LEVEL_CRITICAL,
	        "test.conf:2: state_dir */a-file/sub: cannot create or write the directory: *");
	g_assert_cmpint(ce_engine_start(ce, only_store), ==, -ENOTDIR);
	g_test_assert_expected_messages();
	g_assert_null(ce_store_of(ce));
	ce_engine_free(ce);
	/* the state directory itself is a file */
	g_free(text);
	text = g_strdup_printf("[general]\nstate_dir=%s\n", file);
	ce = engine(text);
	g_test_expect_message("ce-engine", G_LOG_LEVEL_CRITICAL,
	        "test.conf:2: state_dir */a-file: cannot create or write the directory: *");
	g_assert_cmpint(ce_engine_start(ce, only_store), ==, -ENOTDIR);
	g_test_assert_expected_messages();
	ce_engine_free(ce);
	ce_test_rm_tree(dir);
	g_free(text);
	g_free(file);
	g_free(dir);
}

static void test_sqlite(void)
{
	char *dir = g_dir_make_tmp("ce-store-mod-XXXXXX", NULL);
	char *text = g_strdup_printf("[store]\nsqlite_path=%s/conf.db\nspool_dir=%s/spool\n"
	                             "workers=2\nquery_timeout_ms=5000\n",
	        dir, dir);
	struct ce_engine *ce = engine(text);
	GString *out = g_string_new(NULL);
	char *db = g_build_filename(dir, "conf.db", NULL);
	char *argv[] = {"store", NULL};
	bool existed = g_file_test(ce_engine_state_dir(ce), G_FILE_TEST_EXISTS);

	g_assert_cmpint(ce_engine_start(ce, only_store), ==, 0);
	g_assert_nonnull(ce_store_of(ce));
	/* both paths given: the default state directory is not needed, not made */
	g_assert_cmpint(g_file_test(ce_engine_state_dir(ce), G_FILE_TEST_EXISTS), ==, existed);
	g_assert_true(ce_store_is_up(ce_store_of(ce)));
	g_assert_true(g_file_test(db, G_FILE_TEST_EXISTS));
	ce_console_status(ce, out);
	g_assert_nonnull(strstr(out->str, "store_backend=sqlite,store_db=up"));
	/* SQLite's own heap: the connections' page caches and schemas, never nothing */
	g_assert_nonnull(strstr(out->str, ",store_memory="));
	g_assert_cmpint(atoi(strstr(out->str, ",store_memory=") + 14), >, 0);
	g_string_truncate(out, 0);
	ce_console_execute(ce, 1, argv, out);
	g_assert_nonnull(strstr(out->str, "last error: none"));
	ce_engine_stop(ce);
	g_assert_null(ce_store_of(ce));
	ce_engine_free(ce);

	/* the same file, now corrupt: the start fails and says why */
	g_assert_true(g_file_set_contents(db, "not a database at all, sorry", -1, NULL));
	{
		char *wal = g_strconcat(db, "-wal", NULL), *shm = g_strconcat(db, "-shm", NULL);
		g_unlink(wal);
		g_unlink(shm);
		g_free(wal);
		g_free(shm);
	}
	ce = engine(text);
	g_test_expect_message("store", G_LOG_LEVEL_CRITICAL, "*not an SQLite database*");
	g_test_expect_message("ce-engine", G_LOG_LEVEL_CRITICAL, "*store failed to start*");
	g_assert_cmpint(ce_engine_start(ce, only_store), <, 0);
	g_test_assert_expected_messages();
	g_assert_null(ce_store_of(ce));
	ce_engine_stop(ce);
	ce_engine_free(ce);
	g_string_free(out, TRUE);
	g_free(text);
	g_free(db);
	{
		char *cmd = g_strdup_printf("rm -rf '%s'", dir);
		g_assert_cmpint(system(cmd), ==, 0);
		g_free(cmd);
	}
	g_free(dir);
}

static void test_bad_backend(void)
{
	struct ce_engine *ce = engine("[store]\nbackend=oracle\n");

	g_test_expect_message("store", G_LOG_LEVEL_CRITICAL, "*backend=oracle*");
	g_test_expect_message("ce-engine", G_LOG_LEVEL_CRITICAL, "*store failed to start*");
	g_assert_cmpint(ce_engine_start(ce, only_store), <, 0);
	g_test_assert_expected_messages();
	ce_engine_stop(ce);
	ce_engine_free(ce);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/store-module/idle-without-section", test_idle);
	g_test_add_func("/store-module/sqlite", test_sqlite);
	g_test_add_func("/store-module/state-dir-defaults", test_state_dir_defaults);
	g_test_add_func("/store-module/state-dir-unusable", test_state_dir_unusable);
	g_test_add_func("/store-module/bad-backend", test_bad_backend);
	return g_test_run();
}
