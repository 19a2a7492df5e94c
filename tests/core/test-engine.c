/* test-engine.c - unit tests for conf-engine/engine.c: module order, rollback, clock, node, quit */
#include <errno.h>
#include <string.h>

#include "bus.h"
#include "conf-engine/config.h"
#include "engine.h"
#include "engine-private.h"
#include "module.h"

static GString *trace;
static int fail_errno; /* what module "bad" returns from init */

#define TEST_MODULE(mname)                                                                         \
	static int mname##_init(struct ce_engine *ce)                                              \
	{                                                                                          \
		g_string_append(trace, "+" #mname " ");                                            \
		return strcmp(#mname, "bad") ? 0 : fail_errno;                                     \
	}                                                                                          \
	static void mname##_exit(struct ce_engine *ce)                                             \
	{                                                                                          \
		g_string_append(trace, "-" #mname " ");                                            \
	}

TEST_MODULE(alpha)
TEST_MODULE(beta)
TEST_MODULE(gamma)
TEST_MODULE(late)
TEST_MODULE(bad)

static CE_MODULE_DEFINE(alpha, CE_MODULE_PRIORITY_DEFAULT, alpha_init, alpha_exit);
static CE_MODULE_DEFINE(beta, CE_MODULE_PRIORITY_DEFAULT, beta_init, beta_exit);
static CE_MODULE_DEFINE(gamma, CE_MODULE_PRIORITY_HIGH, gamma_init, gamma_exit);
static CE_MODULE_DEFINE(late, CE_MODULE_PRIORITY_LOW, late_init, late_exit);
static CE_MODULE_DEFINE(bad, 10, bad_init, bad_exit);

static void test_order(void)
{
	const struct ce_module_desc *mods[] = {
	        &ce_module_late, &ce_module_beta, &ce_module_alpha, &ce_module_gamma};
	struct ce_engine *ce;

	g_string_truncate(trace, 0);
	g_assert_cmpint(ce_engine_new(&ce, NULL), ==, 0);
	g_assert_cmpint(ce_engine_start_list(ce, mods, G_N_ELEMENTS(mods)), ==, 0);
	g_assert_cmpstr(trace->str, ==, "+gamma +alpha +beta +late ");
	g_assert_true(ce_engine_module_running(ce, "beta"));
	g_assert_false(ce_engine_module_running(ce, "bad"));
	g_assert_cmpuint(ce_engine_n_running(ce), ==, 4);
	g_assert_true(ce_engine_running(ce, 0) == &ce_module_gamma);
	g_assert_null(ce_engine_running(ce, 4));
	g_assert_cmpint(ce_engine_start_list(ce, mods, 1), ==, -EALREADY);
	g_string_truncate(trace, 0);
	ce_engine_stop(ce);
	g_assert_cmpstr(trace->str, ==, "-late -beta -alpha -gamma ");
	g_assert_cmpuint(ce_engine_n_running(ce), ==, 0);
	/* stopping twice, and freeing a running engine, stop each module once */
	ce_engine_stop(ce);
	g_assert_cmpint(ce_engine_start_list(ce, mods, 2), ==, 0);
	g_string_truncate(trace, 0);
	ce_engine_free(ce);
	g_assert_cmpstr(trace->str, ==, "-late -beta ");
}

static void test_rollback(void)
{
	const struct ce_module_desc *mods[] = {
	        &ce_module_late, &ce_module_bad, &ce_module_alpha, &ce_module_gamma};
	struct ce_engine *ce;

	g_string_truncate(trace, 0);
	fail_errno = -EADDRINUSE;
	ce_engine_new(&ce, NULL);
	g_test_expect_message("ce-engine", G_LOG_LEVEL_CRITICAL,
	        "module bad failed to start: Address already in use");
	g_assert_cmpint(ce_engine_start_list(ce, mods, G_N_ELEMENTS(mods)), ==, -EADDRINUSE);
	g_test_assert_expected_messages();
	g_assert_cmpstr(trace->str, ==, "+gamma +alpha +bad -alpha -gamma ");
	g_assert_cmpuint(ce_engine_n_running(ce), ==, 0);
	/* it can be started again once the fault is gone */
	fail_errno = 0;
	g_assert_cmpint(ce_engine_start_list(ce, mods, G_N_ELEMENTS(mods)), ==, 0);
	ce_engine_free(ce);
}

static void test_builtin_table(void)
{
	const char *const none[] = {"no-such-module", NULL};
	const char *const empty[] = {NULL};
	struct ce_engine *ce;
	unsigned i;

	for (i = 1; i < ce_engine_n_modules(); i++) {
		const struct ce_module_desc *a = ce_engine_module(i - 1), *b = ce_engine_module(i);

		g_assert_true(a->priority < b->priority ||
		              (a->priority == b->priority && strcmp(a->name, b->name) < 0));
	}
	g_assert_null(ce_engine_module(ce_engine_n_modules()));
	ce_engine_new(&ce, NULL);
	g_test_expect_message("ce-engine", G_LOG_LEVEL_CRITICAL, "no module called no-such-module");
	g_assert_cmpint(ce_engine_start(ce, none), ==, -ENOENT);
	g_test_assert_expected_messages();
	g_assert_cmpint(ce_engine_start(ce, empty), ==, 0);
	g_assert_cmpuint(ce_engine_n_running(ce), ==, 0);
	ce_engine_free(ce);
}

static gint64 fake_now(void *arg)
{
	return *(gint64 *)arg;
}

static void on_quit(void *arg, int code)
{
	*(int *)arg = code;
}

static void test_context(void)
{
	struct ce_config *cfg;
	struct ce_engine *ce;
	gint64 now = 1000 * G_USEC_PER_SEC;
	int quit = -1;

	ce_config_new_empty(&cfg);
	ce_config_set(cfg, "general", "node", "node-7");
	ce_engine_new(&ce, cfg);
	g_assert_true(ce_engine_config(ce) == cfg);
	g_assert_nonnull(ce_engine_bus(ce));
	g_assert_cmpstr(ce_engine_node(ce), ==, "node-7");
	g_assert_cmpint(ce_engine_now(ce), >, 0);
	ce_engine_set_clock(ce, fake_now, &now);
	g_assert_cmpint(ce_engine_now(ce), ==, now);
	now += 5 * G_USEC_PER_SEC;
	g_assert_cmpint(ce_engine_uptime(ce), ==, 5 * G_USEC_PER_SEC);
	g_test_expect_message("ce-engine", G_LOG_LEVEL_WARNING, "quit requested*");
	ce_engine_request_quit(ce, 3);
	g_test_assert_expected_messages();
	ce_engine_set_quit_handler(ce, on_quit, &quit);
	ce_engine_request_quit(ce, 3);
	g_assert_cmpint(quit, ==, 3);
	ce_engine_free(ce);

	ce_engine_new(&ce, NULL);
	g_assert_cmpstr(ce_engine_node(ce), ==, g_get_host_name());
	ce_engine_free(ce);
}

int main(int argc, char **argv)
{
	int rc;

	g_test_init(&argc, &argv, NULL);
	trace = g_string_new(NULL);
	g_test_add_func("/engine/order", test_order);
	g_test_add_func("/engine/rollback", test_rollback);
	g_test_add_func("/engine/builtin-table", test_builtin_table);
	g_test_add_func("/engine/context", test_context);
	rc = g_test_run();
	g_string_free(trace, TRUE);
	return rc;
}
