/* test-store-module.c - the store as a built-in module: [store] configuration, idle without it,
 * clear failures */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>

#include "conf-engine/config.h"
#include "console.h"
#include "engine-private.h"
#include "engine.h"
#include "modules/store/store.h"

static const char *const only_store[] = {"store", NULL};

static struct ce_engine *engine(const char *text)
{
	struct ce_config *cfg = NULL;
	struct ce_engine *ce = NULL;

	g_assert_cmpint(ce_config_parse(&cfg, text, -1, "test.conf", NULL), ==, 0);
	g_assert_cmpint(ce_engine_new(&ce, cfg), ==, 0);
	return ce;
}

static void test_idle(void)
{
	struct ce_engine *ce = engine("[general]\nnode=n1\n");

	g_assert_cmpint(ce_engine_start(ce, only_store), ==, 0);
	g_assert_null(ce_store_of(ce));
	ce_engine_stop(ce);
	ce_engine_free(ce);
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

	g_assert_cmpint(ce_engine_start(ce, only_store), ==, 0);
	g_assert_nonnull(ce_store_of(ce));
	g_assert_true(ce_store_is_up(ce_store_of(ce)));
	g_assert_true(g_file_test(db, G_FILE_TEST_EXISTS));
	ce_console_status(ce, out);
	g_assert_nonnull(strstr(out->str, "store_backend=sqlite,store_db=up"));
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
	g_test_add_func("/store-module/bad-backend", test_bad_backend);
	return g_test_run();
}
