/* test-guard.c - the PIN guard: sliding windows, lockouts and their expiry, eviction, anonymous */
#include <errno.h>
#include <string.h>
#include <glib.h>

#include "modules/schedule/guard.h"

#define S  G_USEC_PER_SEC
#define T0 ((gint64)1795326000 * G_USEC_PER_SEC)

/* 3 per caller in 60 s, 5 per conference in 60 s, 8 overall in 10 s, locked 100 s. */
static const struct guard_limits limits = {
        .caller = {3, 60},
        .conference = {5, 60},
        .total = {8, 10},
        .lockout_s = 100,
        .max_callers = 4,
};

static struct pin_guard *guard(void)
{
	struct pin_guard *g = NULL;

	g_assert_cmpint(ce_guard_new(&g, &limits), ==, 0);
	return g;
}

static void expect_lockout(const char *scope)
{
	char *pat = g_strdup_printf("*reached the %s limit*", scope);

	g_test_expect_message("schedule", G_LOG_LEVEL_WARNING, pat);
	g_free(pat);
}

static void test_invalid(void)
{
	struct guard_limits bad = limits;
	struct pin_guard *g = NULL;

	bad.caller.limit = 0;
	g_assert_cmpint(ce_guard_new(&g, &bad), ==, -EINVAL);
	bad = limits;
	bad.total.window_s = 0;
	g_assert_cmpint(ce_guard_new(&g, &bad), ==, -EINVAL);
	bad = limits;
	bad.max_callers = 0;
	g_assert_cmpint(ce_guard_new(&g, &bad), ==, -EINVAL);
	g_assert_null(g);
	ce_guard_free(NULL);
}

/* The caller window slides: failures older than 60 s no longer count. */
static void test_caller_window(void)
{
	struct pin_guard *g = guard();
	struct guard_stats st;

	g_assert_cmpint(ce_guard_fail(g, "1001", "a", T0), ==, GUARD_NONE);
	g_assert_cmpint(ce_guard_fail(g, "1001", "b", T0 + 30 * S), ==, GUARD_NONE);
	/* the first one left the window: two in it, not three */
	g_assert_cmpint(ce_guard_fail(g, "1001", "c", T0 + 60 * S), ==, GUARD_NONE);
	g_assert_cmpuint(ce_guard_locked(g, "1001", "c", T0 + 60 * S), ==, 0);
	expect_lockout("caller");
	g_assert_cmpint(ce_guard_fail(g, "1001", "d", T0 + 89 * S), ==, GUARD_CALLER);
	g_test_assert_expected_messages();
	/* locked for every conference, rounded up to whole seconds */
	g_assert_cmpuint(ce_guard_locked(g, "1001", "a", T0 + 89 * S), ==, 100);
	g_assert_cmpuint(ce_guard_locked(g, "1001", NULL, T0 + 89 * S + 1), ==, 100);
	g_assert_cmpuint(ce_guard_locked(g, "1001", "z", T0 + 188 * S + 1), ==, 1);
	/* another caller is not locked, and the lock expires */
	g_assert_cmpuint(ce_guard_locked(g, "1002", "a", T0 + 100 * S), ==, 0);
	g_assert_cmpuint(ce_guard_locked(g, "1001", "a", T0 + 189 * S), ==, 0);
	/* the lock cleared the window: two more do not lock again */
	g_assert_cmpint(ce_guard_fail(g, "1001", "a", T0 + 190 * S), ==, GUARD_NONE);
	g_assert_cmpint(ce_guard_fail(g, "1001", "a", T0 + 191 * S), ==, GUARD_NONE);
	ce_guard_stats(g, &st);
	g_assert_cmpuint(st.failures, ==, 6);
	g_assert_cmpuint(st.lockouts, ==, 1);
	g_assert_cmpuint(st.refusals, ==, 3);
	ce_guard_free(g);
}

/* Five callers, one wrong PIN each for one conference: that conference's PIN entry locks. */
static void test_conference(void)
{
	struct pin_guard *g = guard();
	char num[16];

	for (int i = 0; i < 4; i++) {
		g_snprintf(num, sizeof(num), "20%02d", i);
		g_assert_cmpint(ce_guard_fail(g, num, "board", T0 + i * S), ==, GUARD_NONE);
	}
	expect_lockout("conference");
	g_assert_cmpint(ce_guard_fail(g, "2099", "board", T0 + 4 * S), ==, GUARD_CONFERENCE);
	g_test_assert_expected_messages();
	/* everyone is refused there, a caller with a clean record too; other rooms are open */
	g_assert_cmpuint(ce_guard_locked(g, "3000", "board", T0 + 5 * S), ==, 99);
	g_assert_cmpuint(ce_guard_locked(g, "3000", "other", T0 + 5 * S), ==, 0);
	g_assert_cmpuint(ce_guard_locked(g, "2000", "other", T0 + 5 * S), ==, 0);
	ce_guard_free(g);
}

/* Eight failures in 10 s anywhere lock all PIN entry. */
static void test_total(void)
{
	struct pin_guard *g = guard();
	char num[16], conf[16];

	for (int i = 0; i < 7; i++) {
		g_snprintf(num, sizeof(num), "40%02d", i);
		g_snprintf(conf, sizeof(conf), "room%d", i);
		g_assert_cmpint(ce_guard_fail(g, num, conf, T0 + i * S), ==, GUARD_NONE);
	}
	/* 11 s later the first ones have slid out: still no lock */
	g_assert_cmpint(ce_guard_fail(g, "4100", "x", T0 + 11 * S), ==, GUARD_NONE);
	g_assert_cmpuint(ce_guard_locked(g, "5000", "y", T0 + 11 * S), ==, 0);
	for (int i = 0; i < 2; i++)
		g_assert_cmpint(ce_guard_fail(g, "4200", NULL, T0 + 12 * S), ==, GUARD_NONE);
	/* in the window (after 2.5 s): 3..6 s, 11 s, twice 12 s and this one */
	expect_lockout("total");
	g_assert_cmpint(ce_guard_fail(g, "4300", NULL, T0 + 12 * S + S / 2), ==, GUARD_TOTAL);
	g_test_assert_expected_messages();
	g_assert_cmpuint(ce_guard_locked(g, "5000", "y", T0 + 13 * S), ==, 100);
	g_assert_cmpuint(ce_guard_locked(g, "5000", NULL, T0 + 113 * S), ==, 0);
	ce_guard_free(g);
}

/* Callers without a number share one key: together they lock it. */
static void test_anonymous(void)
{
	struct pin_guard *g = guard();

	g_assert_cmpint(ce_guard_fail(g, NULL, "a", T0), ==, GUARD_NONE);
	g_assert_cmpint(ce_guard_fail(g, "", "b", T0 + S), ==, GUARD_NONE);
	expect_lockout("caller");
	g_assert_cmpint(ce_guard_fail(g, "anonymous", "c", T0 + 2 * S), ==, GUARD_CALLER);
	g_test_assert_expected_messages();
	g_assert_cmpuint(ce_guard_locked(g, NULL, "d", T0 + 3 * S), ==, 99);
	g_assert_cmpuint(ce_guard_locked(g, "", "d", T0 + 3 * S), ==, 99);
	g_assert_cmpuint(ce_guard_locked(g, "1001", "d", T0 + 3 * S), ==, 0);
	ce_guard_free(g);
}

/* A flood of distinct numbers: at most max_callers kept, the oldest failure forgotten first. */
static void test_eviction(void)
{
	struct guard_limits big = limits;
	struct pin_guard *g = NULL;
	struct guard_stats st;
	char num[16];

	big.total.limit = 100000; /* only the caller table is under test */
	big.conference.limit = 100000;
	g_assert_cmpint(ce_guard_new(&g, &big), ==, 0);
	g_assert_cmpint(ce_guard_fail(g, "old", NULL, T0), ==, GUARD_NONE);
	g_assert_cmpint(ce_guard_fail(g, "keep", NULL, T0 + S), ==, GUARD_NONE);
	g_assert_cmpint(ce_guard_fail(g, "keep", NULL, T0 + 2 * S), ==, GUARD_NONE);
	g_assert_cmpint(ce_guard_fail(g, "x1", NULL, T0 + 3 * S), ==, GUARD_NONE);
	g_assert_cmpint(ce_guard_fail(g, "x2", NULL, T0 + 4 * S), ==, GUARD_NONE);
	/* "old" failed first: the fifth number pushes it out, "keep" (more recent) stays */
	g_assert_cmpint(ce_guard_fail(g, "x3", NULL, T0 + 5 * S), ==, GUARD_NONE);
	ce_guard_stats(g, &st);
	g_assert_cmpuint(st.callers, ==, 4);
	expect_lockout("caller");
	g_assert_cmpint(ce_guard_fail(g, "keep", NULL, T0 + 6 * S), ==, GUARD_CALLER);
	g_test_assert_expected_messages();
	/* "old" starts over: two more are not three */
	g_assert_cmpint(ce_guard_fail(g, "old", NULL, T0 + 7 * S), ==, GUARD_NONE);
	g_assert_cmpint(ce_guard_fail(g, "old", NULL, T0 + 8 * S), ==, GUARD_NONE);
	for (int i = 0; i < 10000; i++) {
		g_snprintf(num, sizeof(num), "9%05d", i);
		ce_guard_fail(g, num, NULL, T0 + 9 * S);
	}
	ce_guard_stats(g, &st);
	g_assert_cmpuint(st.callers, ==, 4);
	g_assert_cmpuint(st.failures, ==, 10009);
	ce_guard_free(g);
}

/* Entries whose windows and locks are over are dropped before any live one is evicted. */
static void test_stale(void)
{
	struct pin_guard *g = guard();
	struct guard_stats st;

	g_assert_cmpint(ce_guard_fail(g, "a", NULL, T0), ==, GUARD_NONE);
	g_assert_cmpint(ce_guard_fail(g, "b", NULL, T0 + S), ==, GUARD_NONE);
	g_assert_cmpint(ce_guard_fail(g, "c", NULL, T0 + 200 * S), ==, GUARD_NONE);
	ce_guard_stats(g, &st);
	g_assert_cmpuint(st.callers, ==, 1);
	ce_guard_free(g);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/guard/invalid", test_invalid);
	g_test_add_func("/guard/caller-window", test_caller_window);
	g_test_add_func("/guard/conference", test_conference);
	g_test_add_func("/guard/total", test_total);
	g_test_add_func("/guard/anonymous", test_anonymous);
	g_test_add_func("/guard/eviction", test_eviction);
	g_test_add_func("/guard/stale", test_stale);
	return g_test_run();
}
