/* test-engine.c - unit tests for engine.c: start order by requires, services, rollback, clock */
#include <errno.h>
#include <string.h>

#include "bus.h"
#include "conf-engine/config.h"
#include "engine.h"
#include "engine-private.h"
#include "module.h"

static GString *trace;
static int fail_errno; /* what module "bad" returns from init */

/*
 * Test modules: init traces "+NAME", with what the service "gamma" was
 * then in <>, keeps its name as its state, and provides it as the service
 * NAME; exit traces "-" and the state it was handed back.  "bad" fails
 * with fail_errno after providing its service.
 */
static int test_init(struct ce_engine *ce, void **state, const char *name)
{
	const char *gamma = ce_engine_service(ce, "gamma");
	int err;

	g_string_append_printf(trace, "+%s<%s> ", name, gamma ? gamma : "");
	*state = g_strdup(name);
	err = ce_engine_provide(ce, name, *state);
	if (!err && !strcmp(name, "bad"))
		err = fail_errno;
	if (err)
		g_clear_pointer(state, g_free);
	return err;
}

static void test_exit(struct ce_engine *ce, void *state)
{
	g_string_append_printf(trace, "-%s ", (char *)state);
	g_free(state);
}

#define TEST_MODULE(mname, ...)                                                                    \
	static int mname##_init(struct ce_engine *ce, void **state)                                \
	{                                                                                          \
		return test_init(ce, state, #mname);                                               \
	}                                                                                          \
	static CE_MODULE_DEFINE(mname, .init = mname##_init, .exit = test_exit, __VA_ARGS__)

TEST_MODULE(alpha, .requires = NULL);
TEST_MODULE(beta, .requires = CE_REQUIRES(CE_NEEDS("gamma")));
TEST_MODULE(gamma, .requires = NULL);
TEST_MODULE(late, .requires = CE_REQUIRES(CE_NEEDS("alpha"), CE_WANTS("absent"), CE_NEEDS("beta")));
TEST_MODULE(bad, .requires = CE_REQUIRES(CE_NEEDS("gamma")));
TEST_MODULE(loop1, .requires = CE_REQUIRES(CE_WANTS("alpha"), CE_NEEDS("loop2")));
TEST_MODULE(loop2, .requires = CE_REQUIRES(CE_NEEDS("loop3")));
TEST_MODULE(loop3, .requires = CE_REQUIRES(CE_WANTS("loop1")));

/* Requires, not names, order the start (beta waits for gamma); exit is the reverse. */
static void test_order(void)
{
	const struct ce_module_desc *mods[] = {
	        &ce_module_late, &ce_module_beta, &ce_module_alpha, &ce_module_gamma};
	struct ce_engine *ce;

	g_string_truncate(trace, 0);
	g_assert_cmpint(ce_engine_new(&ce, NULL), ==, 0);
	g_assert_cmpint(ce_engine_start_list(ce, mods, G_N_ELEMENTS(mods)), ==, 0);
	g_assert_cmpstr(trace->str, ==, "+alpha<> +gamma<> +beta<gamma> +late<gamma> ");
	g_assert_true(ce_engine_module_running(ce, "beta"));
	g_assert_false(ce_engine_module_running(ce, "bad"));
	g_assert_cmpuint(ce_engine_n_running(ce), ==, 4);
	g_assert_true(ce_engine_running(ce, 0) == &ce_module_alpha);
	g_assert_true(ce_engine_running(ce, 2) == &ce_module_beta);
	g_assert_null(ce_engine_running(ce, 4));
	g_assert_cmpint(ce_engine_start_list(ce, mods, 1), ==, -EALREADY);
	g_string_truncate(trace, 0);
	ce_engine_stop(ce);
	g_assert_cmpstr(trace->str, ==, "-late -beta -gamma -alpha ");
	g_assert_cmpuint(ce_engine_n_running(ce), ==, 0);
	/* stopping twice, and freeing a running engine, stop each module once */
	ce_engine_stop(ce);
	g_assert_cmpint(ce_engine_start_list(ce, mods + 2, 2), ==, 0);
	g_string_truncate(trace, 0);
	ce_engine_free(ce);
	g_assert_cmpstr(trace->str, ==, "-gamma -alpha ");
}

/* Each module's service is found while it runs, and gone once it stopped. */
static void test_services(void)
{
	const struct ce_module_desc *mods[] = {&ce_module_gamma, &ce_module_alpha};
	struct ce_engine *ce;
	char other[] = "other";

	ce_engine_new(&ce, NULL);
	g_assert_null(ce_engine_service(ce, "gamma"));
	g_assert_cmpint(ce_engine_start_list(ce, mods, G_N_ELEMENTS(mods)), ==, 0);
	g_assert_cmpstr(ce_engine_service(ce, "gamma"), ==, "gamma");
	g_assert_cmpstr(ce_engine_service(ce, "alpha"), ==, "alpha");
	g_assert_null(ce_engine_service(ce, "beta"));
	g_assert_null(ce_engine_service(ce, "nosuch"));
	/* a name is provided once; one provided outside a module stays until withdrawn */
	g_test_expect_message("ce-engine", G_LOG_LEVEL_CRITICAL, "service gamma is provided twice");
	g_assert_cmpint(ce_engine_provide(ce, "gamma", other), ==, -EEXIST);
	g_test_assert_expected_messages();
	g_assert_cmpint(ce_engine_provide(ce, "x", NULL), ==, -EINVAL);
	g_assert_cmpint(ce_engine_provide(ce, "other", other), ==, 0);
	ce_engine_stop(ce);
	g_assert_null(ce_engine_service(ce, "gamma"));
	g_assert_null(ce_engine_service(ce, "alpha"));
	g_assert_true(ce_engine_service(ce, "other") == other);
	ce_engine_withdraw(ce, "other");
	g_assert_null(ce_engine_service(ce, "other"));
	ce_engine_withdraw(ce, "other");
	ce_engine_free(ce);
}

/* A required module missing or a cycle: an error naming the module, nothing started. */
static void test_refused(void)
{
	const struct ce_module_desc *missing[] = {
	        &ce_module_alpha, &ce_module_late, &ce_module_gamma};
	const struct ce_module_desc *cycle[] = {
	        &ce_module_loop3, &ce_module_alpha, &ce_module_loop2, &ce_module_loop1};
	const struct ce_module_desc *optional[] = {&ce_module_loop3};
	struct ce_engine *ce;

	g_string_truncate(trace, 0);
	ce_engine_new(&ce, NULL);
	g_test_expect_message("ce-engine", G_LOG_LEVEL_CRITICAL,
	        "module late requires beta, which is not among the modules to start");
	g_assert_cmpint(ce_engine_start_list(ce, missing, G_N_ELEMENTS(missing)), ==, -ENOENT);
	g_test_assert_expected_messages();
	g_test_expect_message("ce-engine", G_LOG_LEVEL_CRITICAL,
	        "module loop1 cannot start: its requires form a cycle "
	        "(loop1 -> loop2 -> loop3 -> loop1)");
	g_assert_cmpint(ce_engine_start_list(ce, cycle, G_N_ELEMENTS(cycle)), ==, -ELOOP);
	g_test_assert_expected_messages();
	g_assert_cmpstr(trace->str, ==, "");
	g_assert_cmpuint(ce_engine_n_running(ce), ==, 0);
	/* an optional one may be absent */
	g_assert_cmpint(ce_engine_start_list(ce, optional, 1), ==, 0);
	g_assert_cmpstr(trace->str, ==, "+loop3<> ");
	ce_engine_free(ce);
}

static void test_rollback(void)
{
	const struct ce_module_desc *mods[] = {&ce_module_bad, &ce_module_alpha, &ce_module_gamma};
	struct ce_engine *ce;

	g_string_truncate(trace, 0);
	fail_errno = -EADDRINUSE;
	ce_engine_new(&ce, NULL);
	g_test_expect_message("ce-engine", G_LOG_LEVEL_CRITICAL,
	        "module bad failed to start: Address already in use");
	g_assert_cmpint(ce_engine_start_list(ce, mods, G_N_ELEMENTS(mods)), ==, -EADDRINUSE);
	g_test_assert_expected_messages();
	g_assert_cmpstr(trace->str, ==, "+alpha<> +gamma<> +bad<gamma> -gamma -alpha ");
	g_assert_cmpuint(ce_engine_n_running(ce), ==, 0);
	g_assert_null(ce_engine_service(ce, "bad"));
	g_assert_null(ce_engine_service(ce, "gamma"));
	/* it can be started again once the fault is gone */
	fail_errno = 0;
	g_assert_cmpint(ce_engine_start_list(ce, mods, G_N_ELEMENTS(mods)), ==, 0);
	g_assert_cmpstr(ce_engine_service(ce, "bad"), ==, "bad");
	ce_engine_free(ce);
}

/* The built-in table is in an order that follows every module's requires. */
static void test_builtin_table(void)
{
	const char *const none[] = {"no-such-module", NULL};
	const char *const empty[] = {NULL};
	struct ce_engine *ce;
	unsigned i, j;

	for (i = 0; i < ce_engine_n_modules(); i++) {
		const struct ce_module_desc *m = ce_engine_module(i);

		for (const struct ce_module_req *r = m->requires; r && r->name; r++) {
			for (j = 0; j < ce_engine_n_modules() &&
			            strcmp(ce_engine_module(j)->name, r->name);
			        j++)
				;
			g_assert_true(j < i || (r->optional && j == ce_engine_n_modules()));
		}
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
	g_test_add_func("/engine/services", test_services);
	g_test_add_func("/engine/refused", test_refused);
	g_test_add_func("/engine/rollback", test_rollback);
	g_test_add_func("/engine/builtin-table", test_builtin_table);
	g_test_add_func("/engine/context", test_context);
	rc = g_test_run();
	g_string_free(trace, TRUE);
	return rc;
}
