/* test-tsan-glib.c - tsan-glib.c shows GLib's hand-offs to TSan and hides no race (TSan only) */
#include <stdbool.h>

#include <gio/gio.h>
#include <glib.h>

#define ROUNDS 1000

/* What the threads share; each test says how it is protected. */
struct shared {
	GMutex lock;
	GCond cond;
	GAsyncQueue *q;
	long counter;
	long payload[4]; /* written by one thread, read by another after a hand-off */
	bool ready;
};

static gpointer locked_adder(gpointer data)
{
	struct shared *s = data;

	for (int i = 0; i < ROUNDS; i++) {
		g_mutex_lock(&s->lock);
		s->counter++;
		g_mutex_unlock(&s->lock);
	}
	return NULL;
}

/* Counting under a GMutex from two threads is no race. */
static void test_mutex(void)
{
	struct shared s = {0};
	GThread *a, *b;

	g_mutex_init(&s.lock);
	a = g_thread_new("a", locked_adder, &s);
	b = g_thread_new("b", locked_adder, &s);
	g_thread_join(a);
	g_thread_join(b);
	g_assert_cmpint(s.counter, ==, 2 * ROUNDS);
	g_mutex_clear(&s.lock);
}

static gpointer signaller(gpointer data)
{
	struct shared *s = data;

	s->payload[0] = 7; /* before the lock: published by the unlock */
	g_mutex_lock(&s->lock);
	s->ready = true;
	g_cond_signal(&s->cond);
	g_mutex_unlock(&s->lock);
	return NULL;
}

/* Data written before a GCond hand-off is read after the wait. */
static void test_cond(void)
{
	struct shared s = {0};
	gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	GThread *t;

	g_mutex_init(&s.lock);
	g_cond_init(&s.cond);
	t = g_thread_new("signaller", signaller, &s);
	g_mutex_lock(&s.lock);
	while (!s.ready)
		g_assert_true(g_cond_wait_until(&s.cond, &s.lock, deadline) || s.ready);
	g_mutex_unlock(&s.lock);
	g_assert_cmpint(s.payload[0], ==, 7);
	g_thread_join(t);
	g_mutex_clear(&s.lock);
	g_cond_clear(&s.cond);
}

static gpointer pusher(gpointer data)
{
	struct shared *s = data;
	long *item = g_new(long, 1);

	*item = 42;
	s->payload[1] = 43;
	g_async_queue_push(s->q, item);
	return NULL;
}

/* An item and what was written before pushing it are the popper's. */
static void test_queue(void)
{
	struct shared s = {.q = g_async_queue_new()};
	GThread *t = g_thread_new("pusher", pusher, &s);
	long *item = g_async_queue_pop(s.q);

	g_assert_cmpint(*item, ==, 42);
	g_assert_cmpint(s.payload[1], ==, 43);
	*item = 0;
	g_free(item);
	g_thread_join(t);
	g_async_queue_unref(s.q);
}

static long once_table[16];

static gpointer fill_table(gpointer unused)
{
	for (int i = 0; i < 16; i++)
		once_table[i] = i * i;
	return NULL;
}

static gpointer once_user(gpointer data)
{
	static GOnce once = G_ONCE_INIT;
	static gsize init;

	g_once(&once, fill_table, NULL);
	if (g_once_init_enter(&init))
		g_once_init_leave(&init, 1);
	return GINT_TO_POINTER((int)once_table[15]);
}

/* What g_once() made is readable by every thread that passed it. */
static void test_once(void)
{
	GThread *a = g_thread_new("a", once_user, NULL), *b = g_thread_new("b", once_user, NULL);

	g_assert_cmpint(GPOINTER_TO_INT(g_thread_join(a)), ==, 225);
	g_assert_cmpint(GPOINTER_TO_INT(g_thread_join(b)), ==, 225);
}

static void task_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
	long *in = data, *out = g_new(long, 1);

	*out = *in + 1;
	g_task_return_pointer(task, out, g_free);
}

static void task_done(GObject *source, GAsyncResult *res, gpointer data)
{
	long **out = data;

	*out = g_task_propagate_pointer(G_TASK(res), NULL);
}

static gboolean from_thread(gpointer data)
{
	struct shared *s = data;

	s->ready = s->payload[2] == 5;
	return G_SOURCE_REMOVE;
}

static gpointer attacher(gpointer data)
{
	struct shared *s = data;
	GSource *src = g_idle_source_new();

	s->payload[2] = 5;
	g_source_set_callback(src, from_thread, s, NULL);
	g_source_attach(src, NULL);
	g_source_unref(src);
	return NULL;
}

/* A GTask's data and result, and a source attached from another thread. */
static void test_task_and_source(void)
{
	struct shared s = {0};
	long *in = g_new(long, 1), *out = NULL;
	gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	GTask *task = g_task_new(NULL, NULL, task_done, &out);
	GThread *t;

	*in = 41;
	g_task_set_task_data(task, in, g_free);
	g_task_run_in_thread(task, task_thread);
	g_object_unref(task);
	while (!out && g_get_monotonic_time() < deadline)
		g_main_context_iteration(NULL, TRUE);
	g_assert_nonnull(out);
	g_assert_cmpint(*out, ==, 42);
	g_free(out);
	t = g_thread_new("attacher", attacher, &s);
	while (!s.ready && g_get_monotonic_time() < deadline)
		g_main_context_iteration(NULL, TRUE);
	g_assert_true(s.ready);
	g_thread_join(t);
}

static gpointer sloppy(gpointer data)
{
	struct shared *s = data;

	g_mutex_lock(&s->lock);
	g_mutex_unlock(&s->lock);
	s->counter++; /* after the unlock: not protected */
	g_async_queue_push(s->q, &s->payload[3]);
	s->payload[3]++; /* after the push: not handed over */
	return NULL;
}

/*
 * The annotations must not hide a race: a counter changed after the
 * unlock, and an item changed after it was pushed, are reported (in a
 * subprocess, which TSan ends with its exit code).
 */
static void test_race_seen(void)
{
	if (g_test_subprocess()) {
		struct shared s = {.q = g_async_queue_new()};
		GThread *a, *b;

		g_mutex_init(&s.lock);
		a = g_thread_new("a", sloppy, &s);
		b = g_thread_new("b", sloppy, &s);
		g_async_queue_pop(s.q);
		g_async_queue_pop(s.q);
		g_thread_join(a);
		g_thread_join(b);
		g_async_queue_unref(s.q);
		return;
	}
	g_test_trap_subprocess(NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
	g_test_trap_assert_failed();
	g_test_trap_assert_stderr("*WARNING: ThreadSanitizer: data race*sloppy*");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/tsan-glib/mutex", test_mutex);
	g_test_add_func("/tsan-glib/cond", test_cond);
	g_test_add_func("/tsan-glib/queue", test_queue);
	g_test_add_func("/tsan-glib/once", test_once);
	g_test_add_func("/tsan-glib/task-and-source", test_task_and_source);
	g_test_add_func("/tsan-glib/race-seen", test_race_seen);
	return g_test_run();
}
