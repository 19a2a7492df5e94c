/* evlog.c - the monitor's event log: JSON lines appended by a writer thread, rotated by size */
#define G_LOG_DOMAIN "monitor"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "base/atomic.h"
#include "base/mailbox.h"
#include "monitor.h"

/*
 * The main loop only copies a line into a bounded mailbox; the writer
 * thread appends each line with one write(2) on an O_APPEND descriptor (no
 * stdio buffer, whose late flush could leave half a line).  When PATH
 * would grow past max_bytes it becomes PATH.1 (PATH.1 becomes PATH.2, ...,
 * up to PATH.keep, the oldest is deleted).  A full queue or an unwritable
 * file drops lines and counts them; it never blocks the caller.  A write
 * that fails part-way (disk full) is cut off again with ftruncate(), so
 * the file only ever holds whole lines; the failure is logged once, the
 * file is retried every CE_MON_EVLOG_RETRY_US, and its return says how many lines
 * were lost meanwhile.
 */

struct ce_mon_evlog {
	char *path;
	gint64 max_bytes;
	unsigned keep, max_queue;
	GThread *thread;
	struct ce_mbox *queue; /* struct evitem: lines, and the sync and stop markers */
	GMutex lock;           /* sync_done, for ce_mon_evlog_sync() */
	GCond cond;
	guint64 sync_req, sync_done;
	guint64 dropped, written; /* atomics */
	/* the writer thread's own */
	int fd;
	gint64 size, next_open;
	guint64 lost_failing; /* lines dropped since the file failed */
	bool failing;
};

static void close_log(struct ce_mon_evlog *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

/* The file failed: say so once (not once a line), and retry it later. */
static void fail(struct ce_mon_evlog *l, const char *what, int e)
{
	if (!l->failing)
		g_warning("event log: cannot %s %s: %s (lines are dropped and counted until it "
		          "works again)",
		        what, l->path, g_strerror(e));
	l->failing = true;
	l->next_open = g_get_monotonic_time() + CE_MON_EVLOG_RETRY_US;
}

static void rotate(struct ce_mon_evlog *l)
{
	char *from, *to;

	close_log(l);
	for (unsigned i = l->keep; i > 0; i--) {
		from = i > 1 ? g_strdup_printf("%s.%u", l->path, i - 1) : g_strdup(l->path);
		to = g_strdup_printf("%s.%u", l->path, i);
		if (g_rename(from, to) && errno != ENOENT)
			g_warning("event log: cannot rename %s: %s", from, g_strerror(errno));
		g_free(from);
		g_free(to);
	}
	if (!l->keep && g_unlink(l->path) && errno != ENOENT)
		g_warning("event log: cannot remove %s: %s", l->path, g_strerror(errno));
}

static bool open_log(struct ce_mon_evlog *l)
{
	char *dir;
	int e = 0;

	if (l->fd >= 0)
		return true;
	if (g_get_monotonic_time() < l->next_open)
		return false;
	dir = g_path_get_dirname(l->path);
	if (g_mkdir_with_parents(dir, 0750))
		e = errno;
	g_free(dir);
	if (!e) {
		l->fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		e = l->fd < 0 ? errno : 0;
	}
	if (l->fd >= 0) {
		l->size = lseek(l->fd, 0, SEEK_END);
		if (l->failing)
			g_message("event log %s writable again (%" G_GUINT64_FORMAT
			          " lines were dropped meanwhile)",
			        l->path, l->lost_failing);
		l->failing = false;
		l->lost_failing = 0;
		return true;
	}
	fail(l, "open", e);
	return false;
}

/* Append @len bytes in as many write(2)s as it takes; 0 or an errno. */
static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : ENOSPC;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Write one line; false if it was dropped (and then nothing of it stays in the file). */
static bool write_line(struct ce_mon_evlog *l, const char *line)
{
	size_t len = strlen(line);
	int e;

	if (!open_log(l))
		return false;
	if (l->size > 0 && l->size + (gint64)len > l->max_bytes) {
		rotate(l);
		if (!open_log(l))
			return false;
	}
	e = write_all(l->fd, line, len);
	if (e) {
		/* cut off what part of the line got out: the file holds whole lines only */
		if (ftruncate(l->fd, l->size))
			g_warning("event log: cannot cut %s back to its last whole line: %s",
			        l->path, g_strerror(errno));
		close_log(l);
		fail(l, "write", e);
		return false;
	}
	l->size += len;
	return true;
}

/* A line to write (line set), or a marker: sync up to @seq, or stop (seq 0). */
struct evitem {
	char *line;
	guint64 seq;
};

static gpointer writer(gpointer data)
{
	struct ce_mon_evlog *l = data;
	struct evitem it;

	while (ce_mbox_wait(l->queue, &it, -1)) {
		if (it.line) {
			if (write_line(l, it.line)) {
				CE_ATOMIC_INC(&l->written);
			} else {
				CE_ATOMIC_INC(&l->dropped);
				l->lost_failing++;
			}
			g_free(it.line);
		} else if (it.seq) {
			g_mutex_lock(&l->lock);
			l->sync_done = it.seq;
			g_cond_broadcast(&l->cond);
			g_mutex_unlock(&l->lock);
		} else {
			break;
		}
	}
	close_log(l);
	return NULL;
}

/**
 * An event log at @path, rotated past @max_bytes keeping @keep old files,
 * with at most @max_queue lines waiting for the writer thread.  The file
 * is opened (and its directory made) by the thread: a failure is logged
 * there, not returned.  Returns 0 or a negative errno.
 */
int ce_mon_evlog_new(struct ce_mon_evlog **lp, const char *path, gint64 max_bytes, unsigned keep,
        unsigned max_queue)
{
	struct ce_mon_evlog *l = NULL;
	GError *error = NULL;
	int err = 0;

	if (!path || !*path || max_bytes <= 0 || !max_queue) {
		err = -EINVAL;
		goto out;
	}
	l = g_new0(struct ce_mon_evlog, 1);
	l->path = g_strdup(path);
	l->max_bytes = max_bytes;
	l->keep = keep;
	l->max_queue = max_queue;
	l->fd = -1;
	g_mutex_init(&l->lock);
	g_cond_init(&l->cond);
	l->queue = ce_mbox_new(sizeof(struct evitem), 64, 0);
	l->thread = g_thread_try_new("ce-evlog", writer, l, &error);
	if (!l->thread) {
		g_warning("event log: no writer thread: %s", error->message);
		g_error_free(error);
		err = -EAGAIN;
	}
out:
	if (err && l) {
		ce_mon_evlog_free(l);
		l = NULL;
	}
	*lp = l;
	return err;
}

/** Stop the writer thread once it has written what is queued, and free the log. */
void ce_mon_evlog_free(struct ce_mon_evlog *l)
{
	if (!l)
		return;
	if (l->thread) {
		ce_mbox_put(l->queue, &(struct evitem){0}); /* after every line queued */
		g_thread_join(l->thread);
	}
	if (l->queue) {
		struct evitem it;

		while (ce_mbox_get(l->queue, &it))
			g_free(it.line);
		ce_mbox_free(l->queue);
	}
	g_mutex_clear(&l->lock);
	g_cond_clear(&l->cond);
	g_free(l->path);
	g_free(l);
}

/** Queue one line (@len bytes, with its newline) for writing; drops it if the queue is full. */
void ce_mon_evlog_push(struct ce_mon_evlog *l, const char *line, gsize len)
{
	/* lines come from the main loop only: the count cannot grow meanwhile */
	if (ce_mbox_count(l->queue) >= l->max_queue)
		CE_ATOMIC_INC(&l->dropped);
	else
		ce_mbox_put(l->queue, &(struct evitem){.line = g_strndup(line, len)});
}

/** Wait until every line queued so far has been written (tests, shutdown). */
void ce_mon_evlog_sync(struct ce_mon_evlog *l)
{
	guint64 req;

	req = ++l->sync_req;
	ce_mbox_put(l->queue, &(struct evitem){.seq = req});
	g_mutex_lock(&l->lock);
	while (l->sync_done < req)
		g_cond_wait(&l->cond, &l->lock);
	g_mutex_unlock(&l->lock);
}

/** Lines dropped so far (full queue or unwritable file). */
guint64 ce_mon_evlog_dropped(const struct ce_mon_evlog *l)
{
	return CE_ATOMIC_GET(&l->dropped);
}

/** Lines written so far. */
guint64 ce_mon_evlog_written(const struct ce_mon_evlog *l)
{
	return CE_ATOMIC_GET(&l->written);
}
