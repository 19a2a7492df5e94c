/* testclock.c - a media clock a test steps wake by wake (testclock.h) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* media-priv.h: struct mmsghdr */
#endif
#include <string.h>
#include <time.h>

#include "tests/media/testclock.h"

static void clock_now(void *arg, struct timespec *t)
{
	struct ce_test_clock *c = arg;

	g_mutex_lock(&c->lock);
	t->tv_sec = c->now / 1000000000L;
	t->tv_nsec = c->now % 1000000000L;
	g_mutex_unlock(&c->lock);
}

/* With c->lock held: the calling media thread's slot. */
static int64_t *clock_sleeping(struct ce_test_clock *c)
{
	GThread *self = g_thread_self();
	unsigned i;

	for (i = 0; i < CLOCK_THREADS_MAX && c->sleeper[i].thread; i++)
		if (c->sleeper[i].thread == self)
			return &c->sleeper[i].sleeping;
	g_assert_cmpuint(i, <, MIN(c->threads, CLOCK_THREADS_MAX));
	c->sleeper[i].thread = self;
	return &c->sleeper[i].sleeping;
}

static void clock_sleep_until(void *arg, const struct timespec *t)
{
	struct ce_test_clock *c = arg;
	int64_t *sleeping;

	g_mutex_lock(&c->lock);
	sleeping = clock_sleeping(c);
	*sleeping = t->tv_sec * 1000000000L + t->tv_nsec;
	g_cond_broadcast(&c->cond);
	while (c->now < *sleeping && !c->free)
		g_cond_wait(&c->cond, &c->lock);
	c->now = MAX(c->now, *sleeping);
	*sleeping = 0;
	g_mutex_unlock(&c->lock);
}

/** A clock at 1000 s for one media thread (set c->threads for more). */
void ce_test_clock_init(struct ce_test_clock *c)
{
	memset(c, 0, sizeof(*c));
	c->clock = (struct ce_media_clock){clock_now, clock_sleep_until, c};
	g_mutex_init(&c->lock);
	g_cond_init(&c->cond);
	c->now = 1000 * 1000000000L;
	c->threads = 1;
}

/* With c->lock held: whether every media thread sleeps past now. */
static bool clock_all_asleep(const struct ce_test_clock *c)
{
	unsigned n = 0;

	for (unsigned i = 0; i < CLOCK_THREADS_MAX; i++)
		n += c->sleeper[i].thread && c->sleeper[i].sleeping > c->now;
	return n == c->threads;
}

/* With c->lock held: wait (bounded) until every media thread sleeps past now. */
static void clock_wait_asleep(struct ce_test_clock *c)
{
	gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

	while (!clock_all_asleep(c))
		g_assert_true(
		        g_cond_wait_until(&c->cond, &c->lock, deadline) || clock_all_asleep(c));
}

/** One wake of the media thread(s); then their events on the main loop. */
void ce_test_step_wake(struct ce_test_clock *c)
{
	g_mutex_lock(&c->lock);
	clock_wait_asleep(c);
	c->now += CE_MEDIA_PHASE_NS;
	g_cond_broadcast(&c->cond);
	clock_wait_asleep(c);
	g_mutex_unlock(&c->lock);
	while (g_main_context_iteration(NULL, FALSE))
		;
}

/** Let the threads run free, to see their quit flag. */
void ce_test_clock_release(struct ce_test_clock *c)
{
	g_mutex_lock(&c->lock);
	c->free = true;
	g_cond_broadcast(&c->cond);
	g_mutex_unlock(&c->lock);
}

/** Free what ce_test_clock_init() made. */
void ce_test_clock_clear(struct ce_test_clock *c)
{
	g_mutex_clear(&c->lock);
	g_cond_clear(&c->cond);
}
