/* test-mailbox.c - the mailbox every thread hand-over uses: order, bounds, growth, wake-ups */
#include <errno.h>
#include <glib.h>

#include "base/mailbox.h"

struct item {
	unsigned producer, seq;
};

static void test_order_and_bound(void)
{
	struct ce_mbox *mb = ce_mbox_new(sizeof(struct item), 4, 4);
	struct item it;

	for (unsigned i = 0; i < 4; i++)
		g_assert_cmpint(ce_mbox_put(mb, &(struct item){0, i}), ==, 0);
	/* full at max_cap: refused, never blocks, nothing overwritten */
	g_assert_cmpint(ce_mbox_put(mb, &(struct item){0, 99}), ==, -EAGAIN);
	g_assert_cmpuint(ce_mbox_count(mb), ==, 4);
	for (unsigned i = 0; i < 4; i++) {
		g_assert_true(ce_mbox_get(mb, &it));
		g_assert_cmpuint(it.seq, ==, i);
	}
	g_assert_false(ce_mbox_get(mb, &it));
	ce_mbox_free(mb);
}

static void test_growth_keeps_order(void)
{
	struct ce_mbox *mb = ce_mbox_new(sizeof(unsigned), 2, 0);
	unsigned v, next = 0;

	/* wrap the ring before it grows, so the copy must unwrap it */
	ce_mbox_put(mb, &(unsigned){0});
	ce_mbox_get(mb, &v);
	for (unsigned i = 1; i <= 1000; i++)
		g_assert_cmpint(ce_mbox_put(mb, &i), ==, 0);
	while (ce_mbox_get(mb, &v))
		g_assert_cmpuint(v, ==, ++next);
	g_assert_cmpuint(next, ==, 1000);
	ce_mbox_free(mb);
}

static void test_put_front(void)
{
	struct ce_mbox *mb = ce_mbox_new(sizeof(unsigned), 2, 0);
	unsigned v;

	ce_mbox_put(mb, &(unsigned){1});
	ce_mbox_put(mb, &(unsigned){2});
	ce_mbox_put_front(mb, &(unsigned){0}); /* grows, then goes first */
	for (unsigned i = 0; i < 3; i++) {
		g_assert_true(ce_mbox_get(mb, &v));
		g_assert_cmpuint(v, ==, i);
	}
	ce_mbox_free(mb);
}

static void test_wait_timeout(void)
{
	struct ce_mbox *mb = ce_mbox_new(sizeof(unsigned), 1, 1);
	unsigned v = 7;

	g_assert_false(ce_mbox_wait(mb, &v, 1000));
	g_assert_cmpuint(v, ==, 7);
	ce_mbox_put(mb, &(unsigned){8});
	g_assert_true(ce_mbox_wait(mb, &v, 0));
	g_assert_cmpuint(v, ==, 8);
	ce_mbox_free(mb);
}

/* Several producers, one blocked consumer: every item, each producer's in order. */
#define PRODUCERS 4
#define PER       20000

static gpointer produce(gpointer data)
{
	struct ce_mbox *mb = ((void **)data)[0];
	unsigned p = GPOINTER_TO_UINT(((void **)data)[1]);

	for (unsigned i = 0; i < PER; i++)
		while (ce_mbox_put(mb, &(struct item){p, i}) == -EAGAIN)
			g_thread_yield();
	return NULL;
}

static void test_threads(void)
{
	struct ce_mbox *mb = ce_mbox_new(sizeof(struct item), 64, 64);
	GThread *t[PRODUCERS];
	void *args[PRODUCERS][2];
	unsigned next[PRODUCERS] = {0};
	struct item it;

	for (unsigned p = 0; p < PRODUCERS; p++) {
		args[p][0] = mb;
		args[p][1] = GUINT_TO_POINTER(p);
		t[p] = g_thread_new("producer", produce, args[p]);
	}
	for (unsigned n = 0; n < PRODUCERS * PER; n++) {
		g_assert_true(ce_mbox_wait(mb, &it, 10 * G_USEC_PER_SEC));
		g_assert_cmpuint(it.seq, ==, next[it.producer]);
		next[it.producer]++;
	}
	for (unsigned p = 0; p < PRODUCERS; p++)
		g_thread_join(t[p]);
	g_assert_false(ce_mbox_get(mb, &it));
	ce_mbox_free(mb);
}

/* Watched: a main context gets every item, from another thread, without polling. */
struct watched {
	GMainContext *ctx;
	unsigned got[PRODUCERS];
	unsigned total;
	bool in_order;
};

static void on_item(void *item, void *data)
{
	struct item *it = item;
	struct watched *w = data;

	w->in_order &= it->seq == w->got[it->producer];
	w->got[it->producer]++;
	w->total++;
}

static void test_watch(void)
{
	struct ce_mbox *mb = ce_mbox_new(sizeof(struct item), 16, 0);
	struct watched w = {.ctx = g_main_context_new(), .in_order = true};
	GThread *t[2];
	void *args[2][2];
	gint64 until = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;

	/* an item put before the watch is delivered too */
	ce_mbox_put(mb, &(struct item){2, 0});
	g_assert_cmpint(ce_mbox_watch(mb, w.ctx, on_item, &w), ==, 0);
	for (unsigned p = 0; p < 2; p++) {
		args[p][0] = mb;
		args[p][1] = GUINT_TO_POINTER(p);
		t[p] = g_thread_new("producer", produce, args[p]);
	}
	while (w.total < 2 * PER + 1 && g_get_monotonic_time() < until)
		g_main_context_iteration(w.ctx, TRUE);
	for (unsigned p = 0; p < 2; p++)
		g_thread_join(t[p]);
	g_assert_cmpuint(w.total, ==, 2 * PER + 1);
	g_assert_true(w.in_order);
	/* unwatched: items wait for a get */
	ce_mbox_unwatch(mb);
	ce_mbox_put(mb, &(struct item){3, 0});
	while (g_main_context_iteration(w.ctx, FALSE))
		;
	g_assert_cmpuint(w.total, ==, 2 * PER + 1);
	g_assert_cmpuint(ce_mbox_count(mb), ==, 1);
	ce_mbox_free(mb);
	g_main_context_unref(w.ctx);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/mailbox/order-and-bound", test_order_and_bound);
	g_test_add_func("/mailbox/growth-keeps-order", test_growth_keeps_order);
	g_test_add_func("/mailbox/put-front", test_put_front);
	g_test_add_func("/mailbox/wait-timeout", test_wait_timeout);
	g_test_add_func("/mailbox/threads", test_threads);
	g_test_add_func("/mailbox/watch", test_watch);
	return g_test_run();
}
