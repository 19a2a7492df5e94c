/* mailbox.c - a bounded ring of fixed-size items between threads (see mailbox.h) */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <glib-unix.h>

#include "mailbox.h"

struct ce_mbox {
	GMutex lock;
	GCond cond;
	size_t size;
	unsigned cap, max_cap, head, count, waiters;
	char *items;
	/* watched: the eventfd, its source, the handler */
	int efd;
	GSource *src;
	ce_mbox_h *fn;
	void *data;
};

struct ce_mbox *ce_mbox_new(size_t item_size, unsigned cap, unsigned max_cap)
{
	struct ce_mbox *mb = g_new0(struct ce_mbox, 1);

	g_return_val_if_fail(item_size > 0 && cap > 0 && (!max_cap || max_cap >= cap), NULL);
	g_mutex_init(&mb->lock);
	g_cond_init(&mb->cond);
	mb->size = item_size;
	mb->cap = cap;
	mb->max_cap = max_cap;
	mb->efd = -1;
	/* written once now: a calloc'd ring would enter the RSS page by page as
	 * the indices first go round, which over hours looks like a leak */
	mb->items = g_malloc(cap * item_size);
	memset(mb->items, 0, cap * item_size);
	return mb;
}

void ce_mbox_free(struct ce_mbox *mb)
{
	if (!mb)
		return;
	ce_mbox_unwatch(mb);
	g_mutex_clear(&mb->lock);
	g_cond_clear(&mb->cond);
	g_free(mb->items);
	g_free(mb);
}

static char *slot(struct ce_mbox *mb, unsigned i)
{
	return mb->items + ((mb->head + i) % mb->cap) * mb->size;
}

/* Under the lock: room for one more item, growing the ring if allowed. */
static bool make_room(struct ce_mbox *mb)
{
	unsigned ncap;
	char *n;

	if (mb->count < mb->cap)
		return true;
	if (mb->max_cap && mb->cap >= mb->max_cap)
		return false;
	ncap = mb->max_cap ? MIN(mb->cap * 2, mb->max_cap) : mb->cap * 2;
	n = g_malloc(ncap * mb->size);
	for (unsigned i = 0; i < mb->count; i++)
		memcpy(n + i * mb->size, slot(mb, i), mb->size);
	g_free(mb->items);
	mb->items = n;
	mb->cap = ncap;
	mb->head = 0;
	return true;
}

static int put(struct ce_mbox *mb, const void *item, bool front)
{
	uint64_t one = 1;

	g_mutex_lock(&mb->lock);
	if (!make_room(mb)) {
		g_mutex_unlock(&mb->lock);
		return -EAGAIN;
	}
	if (front) {
		mb->head = (mb->head + mb->cap - 1) % mb->cap;
		memcpy(slot(mb, 0), item, mb->size);
	} else {
		memcpy(slot(mb, mb->count), item, mb->size);
	}
	/* under the lock, so that ce_mbox_unwatch() cannot close it meanwhile;
	 * only EAGAIN can fail: the counter is already far above zero */
	if (mb->count++ == 0 && mb->efd >= 0 && write(mb->efd, &one, sizeof(one)) < 0) {
	}
	if (mb->waiters)
		g_cond_signal(&mb->cond);
	g_mutex_unlock(&mb->lock);
	return 0;
}

int ce_mbox_put(struct ce_mbox *mb, const void *item)
{
	return put(mb, item, false);
}

int ce_mbox_put_front(struct ce_mbox *mb, const void *item)
{
	return put(mb, item, true);
}

/* Under the lock. */
static bool take(struct ce_mbox *mb, void *item)
{
	if (!mb->count)
		return false;
	memcpy(item, slot(mb, 0), mb->size);
	mb->head = (mb->head + 1) % mb->cap;
	mb->count--;
	return true;
}

bool ce_mbox_get(struct ce_mbox *mb, void *item)
{
	bool got;

	g_mutex_lock(&mb->lock);
	got = take(mb, item);
	g_mutex_unlock(&mb->lock);
	return got;
}

bool ce_mbox_wait(struct ce_mbox *mb, void *item, gint64 timeout_us)
{
	gint64 until = timeout_us < 0 ? 0 : g_get_monotonic_time() + timeout_us;
	bool got;

	g_mutex_lock(&mb->lock);
	mb->waiters++;
	while (!(got = take(mb, item))) {
		if (timeout_us < 0)
			g_cond_wait(&mb->cond, &mb->lock);
		else if (!g_cond_wait_until(&mb->cond, &mb->lock, until))
			break;
	}
	if (!got)
		got = take(mb, item);
	mb->waiters--;
	g_mutex_unlock(&mb->lock);
	return got;
}

unsigned ce_mbox_count(struct ce_mbox *mb)
{
	unsigned n;

	g_mutex_lock(&mb->lock);
	n = mb->count;
	g_mutex_unlock(&mb->lock);
	return n;
}

void ce_mbox_dispatch(struct ce_mbox *mb)
{
	void *item = g_alloca(mb->size);
	uint64_t v;

	/* read first: an item put after this read writes the eventfd again */
	if (mb->efd >= 0 && read(mb->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		g_warning("mailbox: eventfd: %s", g_strerror(errno));
	while (mb->fn && ce_mbox_get(mb, item))
		mb->fn(item, mb->data);
}

static gboolean on_ready(G_GNUC_UNUSED gint fd, G_GNUC_UNUSED GIOCondition cond, gpointer data)
{
	ce_mbox_dispatch(data);
	return G_SOURCE_CONTINUE;
}

int ce_mbox_watch(struct ce_mbox *mb, GMainContext *ctx, ce_mbox_h *fn, void *data)
{
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	uint64_t one = 1;

	if (efd < 0)
		return -errno;
	g_return_val_if_fail(!mb->src, -EBUSY);
	mb->fn = fn;
	mb->data = data;
	mb->src = g_unix_fd_source_new(efd, G_IO_IN);
	g_source_set_callback(mb->src, (GSourceFunc)(void (*)(void))on_ready, mb, NULL);
	g_source_attach(mb->src, ctx);
	g_mutex_lock(&mb->lock);
	mb->efd = efd;
	/* items put before the watch: deliver them too */
	if (mb->count && write(efd, &one, sizeof(one)) < 0) {
	}
	g_mutex_unlock(&mb->lock);
	return 0;
}

void ce_mbox_unwatch(struct ce_mbox *mb)
{
	int efd;

	if (!mb->src)
		return;
	g_mutex_lock(&mb->lock);
	efd = mb->efd;
	mb->efd = -1;
	g_mutex_unlock(&mb->lock);
	g_source_destroy(mb->src);
	g_source_unref(mb->src);
	mb->src = NULL;
	mb->fn = NULL;
	close(efd);
}
