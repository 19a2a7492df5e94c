/* tsan-glib.c - shows GLib's locks and hand-offs to ThreadSanitizer (--enable-tsan builds only) */
/*
 * GLib is not built with ThreadSanitizer, and on Linux its GMutex and
 * GCond are futexes, not pthread objects, so TSan's interceptors never see
 * them: every access our threads make under a GMutex, or hand over through
 * a GAsyncQueue, would be reported as a race.  In a TSan build this file
 * defines the GLib synchronisation entry points the engine calls; each one
 * calls GLib's own (found with dlsym(RTLD_NEXT)) and tells TSan what it
 * did through the annotations of <sanitizer/tsan_interface.h>:
 *
 *   g_mutex_lock/trylock/unlock  a mutex acquired, released
 *   g_cond_wait/wait_until       the mutex released during the wait, taken after
 *   g_async_queue_push*, *pop*   a release by the pusher, an acquire by the popper
 *   g_once_impl, g_once_init_*   the initialiser's writes before every use
 *   g_task_run_in_thread         the caller's writes before the thread's
 *   g_task_return_*, _propagate  the thread's writes before the result's reader
 *   g_source_attach, g_source_set_callback (idle and timeout sources)
 *                                the attaching thread's writes before the callback
 *   g_free                       a free our code asks for is seen (a write)
 *
 * Our code's accesses stay fully checked; only the hand-overs GLib does for
 * us become visible.  GLib's own internal accesses are not instrumented at
 * all (its internal calls do not come here: it is linked with
 * -Bsymbolic-functions), which is what tests/tsan.supp is about.
 *
 * GRWLock and GRecMutex need nothing: GLib builds them on pthread objects,
 * which TSan intercepts, as it does pthread_create/join under g_thread_new
 * and g_thread_join, and eventfd/pipe reads and writes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "ce-autoconf.h"

#include <dlfcn.h>
#include <gio/gio.h>
#include <glib.h>
#include <sanitizer/tsan_interface.h>
#include <stdio.h>
#include <stdlib.h>

/* In libtsan's interface but not in gcc 12's <sanitizer/tsan_interface.h>:
 * the calling thread's memory accesses are not recorded between the two. */
void __tsan_ignore_thread_begin(void);
void __tsan_ignore_thread_end(void);

/* GLib's definition of @name; its absence is a broken installation. */
static void *real(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);

	if (!f) {
		fprintf(stderr, "tsan-glib: no %s in GLib: %s\n", name, dlerror());
		abort();
	}
	return f;
}

/* The pointer to GLib's @fn, looked up once; the type is @fn's own. */
#define REAL(fn)                                                                                   \
	({                                                                                         \
		static __typeof__(fn) *p_;                                                         \
		__typeof__(fn) *f_ = __atomic_load_n(&p_, __ATOMIC_ACQUIRE);                       \
		if (!f_) {                                                                         \
			f_ = (__typeof__(fn) *)real(#fn);                                          \
			__atomic_store_n(&p_, f_, __ATOMIC_RELEASE);                               \
		}                                                                                  \
		f_;                                                                                \
	})

/* No g_mutex_init()/g_mutex_clear(): TSan makes its mutex at the first
 * lock and drops it with the memory, and the annotations of creation and
 * destruction count as writes to the mutex, which GLib's own hand-offs (a
 * GTask's lock made on one thread, taken on another) would make races. */
void g_mutex_lock(GMutex *m)
{
	__tsan_mutex_pre_lock(m, 0);
	REAL(g_mutex_lock)(m);
	__tsan_mutex_post_lock(m, 0, 0);
}

gboolean g_mutex_trylock(GMutex *m)
{
	gboolean ok;

	__tsan_mutex_pre_lock(m, __tsan_mutex_try_lock);
	ok = REAL(g_mutex_trylock)(m);
	__tsan_mutex_post_lock(
	        m, __tsan_mutex_try_lock | (ok ? 0 : __tsan_mutex_try_lock_failed), 0);
	return ok;
}

void g_mutex_unlock(GMutex *m)
{
	__tsan_mutex_pre_unlock(m, 0);
	REAL(g_mutex_unlock)(m);
	__tsan_mutex_post_unlock(m, 0);
}

/* A wait gives the mutex up and takes it back inside GLib. */
static void wait_begins(GMutex *m)
{
	__tsan_mutex_pre_unlock(m, 0);
	__tsan_mutex_post_unlock(m, 0);
}

static void wait_ends(GMutex *m)
{
	__tsan_mutex_pre_lock(m, 0);
	__tsan_mutex_post_lock(m, 0, 0);
}

void g_cond_wait(GCond *c, GMutex *m)
{
	wait_begins(m);
	REAL(g_cond_wait)(c, m);
	wait_ends(m);
}

gboolean g_cond_wait_until(GCond *c, GMutex *m, gint64 end_time)
{
	gboolean r;

	wait_begins(m);
	r = REAL(g_cond_wait_until)(c, m, end_time);
	wait_ends(m);
	return r;
}

/*
 * Whatever the pusher wrote before pushing, the popper may read.  The
 * queue's own list links are GLib's business: one thread allocates them and
 * another frees them under a futex TSan does not see, and the release below
 * cannot cover a free that happens inside the pop, so TSan ignores the
 * accesses GLib's queue code makes (only those; nothing of ours runs there).
 */
#define GLIB_ONLY(call)                                                                            \
	({                                                                                         \
		__tsan_ignore_thread_begin();                                                      \
		__typeof__(call) r_ = call;                                                        \
		__tsan_ignore_thread_end();                                                        \
		r_;                                                                                \
	})

void g_async_queue_push(GAsyncQueue *q, gpointer data)
{
	__tsan_release(q);
	__tsan_ignore_thread_begin();
	REAL(g_async_queue_push)(q, data);
	__tsan_ignore_thread_end();
}

void g_async_queue_push_front(GAsyncQueue *q, gpointer data)
{
	__tsan_release(q);
	__tsan_ignore_thread_begin();
	REAL(g_async_queue_push_front)(q, data);
	__tsan_ignore_thread_end();
}

static gpointer popped(GAsyncQueue *q, gpointer data)
{
	if (data)
		__tsan_acquire(q);
	return data;
}

gpointer g_async_queue_pop(GAsyncQueue *q)
{
	return popped(q, GLIB_ONLY(REAL(g_async_queue_pop)(q)));
}

gpointer g_async_queue_try_pop(GAsyncQueue *q)
{
	return popped(q, GLIB_ONLY(REAL(g_async_queue_try_pop)(q)));
}

gpointer g_async_queue_timeout_pop(GAsyncQueue *q, guint64 timeout)
{
	return popped(q, GLIB_ONLY(REAL(g_async_queue_timeout_pop)(q, timeout)));
}

/*
 * One-time initialisation: g_once()'s and g_once_init_enter()'s fast paths
 * are acquire loads in our code, which TSan sees; the release that pairs
 * with them is GLib's store, which it does not, so we release on the same
 * address after the initialiser ran.
 */
struct once_call {
	GOnce *once;
	GThreadFunc func;
	gpointer arg;
};

static gpointer once_run(gpointer data)
{
	struct once_call *oc = data;
	gpointer r = oc->func(oc->arg);

	__tsan_release(oc->once);
	return r;
}

#undef g_once_impl
gpointer g_once_impl(GOnce *once, GThreadFunc func, gpointer arg)
{
	struct once_call oc = {once, func, arg};
	gpointer r = REAL(g_once_impl)(once, once_run, &oc);

	__tsan_acquire(once);
	return r;
}

#undef g_once_init_enter
gboolean g_once_init_enter(volatile void *location)
{
	gboolean first = REAL(g_once_init_enter)(location);

	if (!first)
		__tsan_acquire((void *)location);
	return first;
}

#undef g_once_init_leave
void g_once_init_leave(volatile void *location, gsize result)
{
	__tsan_release((void *)location);
	REAL(g_once_init_leave)(location, result);
}

/*
 * GTask: g_task_run_in_thread() hands the task to a pool thread and
 * g_task_return_*() hands the result back to the main loop, both through
 * GLib's own queues.  The caller's writes happen before the thread
 * function runs, and the thread's before the result is taken.
 */
static GQuark task_func_quark(void)
{
	static gsize q;

	if (g_once_init_enter(&q))
		g_once_init_leave(&q, g_quark_from_static_string("ce-tsan-task-func"));
	return (GQuark)q;
}

static void task_run(GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
	GTaskThreadFunc func =
	        (GTaskThreadFunc)g_object_get_qdata(G_OBJECT(task), task_func_quark());

	__tsan_acquire(task);
	func(task, source, data, cancel);
}

void g_task_run_in_thread(GTask *task, GTaskThreadFunc func)
{
	g_object_set_qdata(G_OBJECT(task), task_func_quark(), (gpointer)func);
	__tsan_release(task);
	REAL(g_task_run_in_thread)(task, task_run);
}

void g_task_return_pointer(GTask *task, gpointer result, GDestroyNotify result_destroy)
{
	__tsan_release(task);
	REAL(g_task_return_pointer)(task, result, result_destroy);
}

void g_task_return_error(GTask *task, GError *error)
{
	__tsan_release(task);
	REAL(g_task_return_error)(task, error);
}

gpointer g_task_propagate_pointer(GTask *task, GError **error)
{
	gpointer r = REAL(g_task_propagate_pointer)(task, error);

	__tsan_acquire(task);
	return r;
}

/*
 * A source attached from one thread and dispatched by the thread that runs
 * its context (ce_store_deliver() hands results to the main loop so): the
 * attaching thread's writes happen before the callback.  GLib's main
 * context lock is invisible, so attaching releases and the callback of an
 * idle or timeout source set by our code acquires first (other sources'
 * callbacks have other signatures and are left as they are).  One address
 * for every context: it can only hide a race, never invent one.
 */
static char source_handoff;

struct source_call {
	GSourceFunc func;
	gpointer data;
	GDestroyNotify notify;
};

static gboolean source_run(gpointer data)
{
	struct source_call *sc;

	__tsan_acquire(&source_handoff);
	sc = data;
	return sc->func(sc->data);
}

static void source_call_free(gpointer data)
{
	struct source_call *sc = data;

	__tsan_acquire(&source_handoff);
	if (sc->notify)
		sc->notify(sc->data);
	free(sc);
}

void g_source_set_callback(GSource *src, GSourceFunc func, gpointer data, GDestroyNotify notify)
{
	struct source_call *sc;

	if (!func ||
	        (src->source_funcs != &g_idle_funcs && src->source_funcs != &g_timeout_funcs)) {
		REAL(g_source_set_callback)(src, func, data, notify);
		return;
	}
	sc = malloc(sizeof(*sc));
	if (!sc)
		abort();
	*sc = (struct source_call){func, data, notify};
	REAL(g_source_set_callback)(src, source_run, sc, source_call_free);
}

guint g_source_attach(GSource *src, GMainContext *ctx)
{
	__tsan_release(&source_handoff);
	return REAL(g_source_attach)(src, ctx);
}

/*
 * GLib's own allocations and frees are not seen (TSAN_OPTIONS has
 * ignore_noninstrumented_modules=1, see tests/tsan.supp), but ours must
 * be: a free is a write, and one that races with another thread's use is
 * the worst race there is.  g_free() is free() (GLib >= 2.46 has no other
 * allocator behind it), so ours calls it from instrumented code.
 */
void g_free(gpointer mem)
{
	free(mem);
}
