/* fanout.c - the monitor's unix socket: every subscriber receives the JSON lines live */
#define G_LOG_DOMAIN "monitor"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>

#include "monitor.h"

/*
 * A subscriber connects to the stream socket and reads; it has nothing to
 * say (whatever it writes is read and discarded).  The first line is a
 * hello, then one JSON line per event or CDR (docs/monitor.md):
 *
 *   $ socat - UNIX-CONNECT:/run/conf-engine/monitor.sock
 *   {"type":"hello","version":1,"node":"pbx1","time":"...","time_us":...}
 *   {"type":"event","seq":1,"node":"pbx1","event":"enter",...}
 *
 * Sockets are non-blocking and written from the main loop.  What a
 * subscriber does not take at once waits in its own queue; a subscriber
 * whose queue would pass max_queue bytes is disconnected (it would only
 * fall further behind), so nobody ever waits for a slow reader.
 *
 * Connections beyond max_clients are closed at once.  A flood of them must
 * not flood the log too: the first refusal is logged, later ones within
 * REFUSED_WARN_US are counted and logged together when that time is up.
 */

#define REFUSED_WARN_US (10 * G_USEC_PER_SEC)

struct sub {
	struct ce_mon_fanout *f;
	unsigned id;
	GSocket *sock;
	GByteArray *buf; /* bytes not yet sent, from off */
	gsize off;
	GSource *in_src, *out_src;
};

struct ce_mon_fanout {
	char *path;
	GSocket *listen;
	GSource *accept_src;
	GPtrArray *subs;
	gsize max_queue;
	unsigned max_clients, next_id;
	ce_mon_hello_h *hello;
	void *hello_arg;
	struct ce_mon_fanout_stats st;
	guint64 refused_unlogged; /* refusals since the last warning about them */
	gint64 refused_logged_at; /* monotonic time of that warning, 0 for never */
	guint refused_src;        /* the timer that logs refused_unlogged */
};

static void sub_drop(struct sub *s, const char *why)
{
	struct ce_mon_fanout *f = s->f;

	if (why)
		g_message("monitor subscriber %u dropped: %s", s->id, why);
	if (s->in_src) {
		g_source_destroy(s->in_src);
		g_source_unref(s->in_src);
	}
	if (s->out_src) {
		g_source_destroy(s->out_src);
		g_source_unref(s->out_src);
	}
	g_socket_close(s->sock, NULL);
	g_object_unref(s->sock);
	g_byte_array_unref(s->buf);
	g_ptr_array_remove_fast(f->subs, s);
	g_free(s);
}

/* Send what is queued; false if the subscriber was dropped. */
static bool sub_flush(struct sub *s)
{
	while (s->off < s->buf->len) {
		GError *error = NULL;
		gssize n = g_socket_send(s->sock, (const char *)s->buf->data + s->off,
		        s->buf->len - s->off, NULL, &error);

		if (n < 0) {
			bool again = g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
			char *why = again ? NULL : g_strdup(error->message);

			g_error_free(error);
			if (again)
				break;
			sub_drop(s, why);
			g_free(why);
			return false;
		}
		s->off += n;
		s->f->st.bytes += n;
	}
	if (s->off == s->buf->len) {
		g_byte_array_set_size(s->buf, 0);
		s->off = 0;
	} else if (s->off > s->buf->len / 2) {
		g_byte_array_remove_range(s->buf, 0, s->off);
		s->off = 0;
	}
	return true;
}

static gboolean on_writable(GSocket *sock, GIOCondition cond, gpointer data)
{
	struct sub *s = data;

	if (!sub_flush(s))
		return G_SOURCE_REMOVE;
	if (s->off < s->buf->len)
		return G_SOURCE_CONTINUE;
	g_clear_pointer(&s->out_src, g_source_unref);
	return G_SOURCE_REMOVE;
}

static void sub_write(struct sub *s, const char *data, gsize len)
{
	struct ce_mon_fanout *f = s->f;

	if (s->buf->len - s->off + len > f->max_queue) {
		char why[96];

		f->st.dropped++;
		g_snprintf(why, sizeof(why), "too slow (%u bytes waiting)",
		        (unsigned)(s->buf->len - s->off));
		sub_drop(s, why);
		return;
	}
	g_byte_array_append(s->buf, (const guint8 *)data, len);
	if (s->out_src || !sub_flush(s) || s->off == s->buf->len)
		return;
	s->out_src = g_socket_create_source(s->sock, G_IO_OUT, NULL);
	g_source_set_callback(s->out_src, (GSourceFunc)(void (*)(void))on_writable, s, NULL);
	g_source_attach(s->out_src, NULL);
}

static gboolean on_readable(GSocket *sock, GIOCondition cond, gpointer data)
{
	struct sub *s = data;
	char junk[4096];
	GError *error = NULL;
	gssize n = g_socket_receive(sock, junk, sizeof(junk), NULL, &error);

	if (n < 0 && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
		g_error_free(error);
		return G_SOURCE_CONTINUE;
	}
	if (n > 0)
		return G_SOURCE_CONTINUE;
	g_clear_pointer(&s->in_src, g_source_unref);
	g_debug("monitor subscriber %u went away%s%s", s->id, error ? ": " : "",
	        error ? error->message : "");
	g_clear_error(&error);
	sub_drop(s, NULL);
	return G_SOURCE_REMOVE;
}

static void sub_add(struct ce_mon_fanout *f, GSocket *sock)
{
	struct sub *s = g_new0(struct sub, 1);
	GString *hello = g_string_new(NULL);

	s->f = f;
	s->id = ++f->next_id;
	s->sock = sock;
	s->buf = g_byte_array_new();
	g_socket_set_blocking(sock, FALSE);
	g_ptr_array_add(f->subs, s);
	f->st.accepted++;
	s->in_src = g_socket_create_source(sock, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
	g_source_set_callback(s->in_src, (GSourceFunc)(void (*)(void))on_readable, s, NULL);
	g_source_attach(s->in_src, NULL);
	g_debug("monitor subscriber %u connected", s->id);
	if (f->hello)
		f->hello(hello, f->hello_arg);
	if (hello->len)
		sub_write(s, hello->str, hello->len);
	g_string_free(hello, TRUE);
}

static void log_refused(struct ce_mon_fanout *f)
{
	if (!f->refused_unlogged)
		return;
	g_warning("monitor socket: %u subscribers already (socket_clients), refused "
	          "%" G_GUINT64_FORMAT
	          " connection%s since the last such warning (at most one every %d s)",
	        f->max_clients, f->refused_unlogged, f->refused_unlogged == 1 ? "" : "s",
	        (int)(REFUSED_WARN_US / G_USEC_PER_SEC));
	f->refused_unlogged = 0;
	f->refused_logged_at = g_get_monotonic_time();
}

static gboolean on_refused_timer(gpointer data)
{
	struct ce_mon_fanout *f = data;

	f->refused_src = 0;
	log_refused(f);
	return G_SOURCE_REMOVE;
}

static void refused(struct ce_mon_fanout *f)
{
	gint64 wait = f->refused_logged_at + REFUSED_WARN_US - g_get_monotonic_time();

	f->st.refused++;
	f->refused_unlogged++;
	if (f->refused_src)
		return; /* counted: the timer logs it */
	if (!f->refused_logged_at || wait <= 0)
		log_refused(f);
	else
		f->refused_src = g_timeout_add((guint)(wait / 1000) + 1, on_refused_timer, f);
}

static gboolean on_accept(GSocket *sock, GIOCondition cond, gpointer data)
{
	struct ce_mon_fanout *f = data;
	GSocket *c;

	while ((c = g_socket_accept(sock, NULL, NULL))) {
		if (f->subs->len >= f->max_clients) {
			refused(f);
			g_socket_close(c, NULL);
			g_object_unref(c);
			continue;
		}
		sub_add(f, c);
	}
	return G_SOURCE_CONTINUE;
}

/* Remove a stale socket file at @path; refuse to touch anything else. */
static int clear_path(const char *path, GError **err)
{
	GStatBuf sb;

	if (g_lstat(path, &sb))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(sb.st_mode)) {
		g_set_error(
		        err, G_IO_ERROR, G_IO_ERROR_EXISTS, "%s exists and is not a socket", path);
		return -EEXIST;
	}
	return g_unlink(path) ? -errno : 0;
}

static int listen_on(struct ce_mon_fanout *f, unsigned mode, GError **err)
{
	GSocketAddress *addr = NULL;
	char *dir = g_path_get_dirname(f->path);
	char *tmp = NULL;
	int e = 0;

	if (g_mkdir_with_parents(dir, 0755) || (e = clear_path(f->path, err)) < 0) {
		if (!e)
			e = -errno;
		if (err && !*err)
			g_set_error(err, G_IO_ERROR, g_io_error_from_errno(-e), "%s: %s", f->path,
			        g_strerror(-e));
		goto out;
	}
	/* Bind and listen under a temporary name, then rename into place: a
	 * subscriber that sees the path can always connect (no window between
	 * bind() and listen() where it would be refused). */
	tmp = g_strdup_printf("%s.%d.tmp", f->path, (int)getpid());
	g_unlink(tmp);
	addr = g_unix_socket_address_new(tmp);
	f->listen = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, 0, err);
	if (!f->listen || !g_socket_bind(f->listen, addr, FALSE, err) ||
	        !g_socket_listen(f->listen, err)) {
		g_unlink(tmp);
		e = -EIO;
		goto out;
	}
	if (g_chmod(tmp, mode))
		g_warning("monitor socket: cannot chmod %s: %s", tmp, g_strerror(errno));
	if (g_rename(tmp, f->path)) {
		e = -errno;
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(-e), "%s: %s", f->path,
		        g_strerror(-e));
		g_unlink(tmp);
		goto out;
	}
	g_socket_set_blocking(f->listen, FALSE);
	f->accept_src = g_socket_create_source(f->listen, G_IO_IN, NULL);
	g_source_set_callback(f->accept_src, (GSourceFunc)(void (*)(void))on_accept, f, NULL);
	g_source_attach(f->accept_src, NULL);
out:
	g_clear_object(&addr);
	g_free(tmp);
	g_free(dir);
	return e;
}

/**
 * Listen on the unix socket @path (a stale socket there is replaced; its
 * permissions become @mode) on the default main context.  Subscribers get
 * @hello's line first, then everything ce_mon_fanout_send() sends; at most
 * @max_clients at a time, each with at most @max_queue bytes waiting.
 * Returns 0 or a negative errno with @err set.
 */
int ce_mon_fanout_new(struct ce_mon_fanout **fp, const char *path, unsigned mode, gsize max_queue,
        unsigned max_clients, ce_mon_hello_h *hello, void *arg, GError **err)
{
	struct ce_mon_fanout *f = g_new0(struct ce_mon_fanout, 1);
	int e;

	f->path = g_strdup(path);
	f->max_queue = max_queue;
	f->max_clients = max_clients;
	f->hello = hello;
	f->hello_arg = arg;
	f->subs = g_ptr_array_new();
	e = listen_on(f, mode, err);
	if (e) {
		ce_mon_fanout_free(f);
		f = NULL;
	}
	*fp = f;
	return e;
}

/** Disconnect every subscriber, remove the socket file and free. */
void ce_mon_fanout_free(struct ce_mon_fanout *f)
{
	if (!f)
		return;
	if (f->refused_src)
		g_source_remove(f->refused_src);
	log_refused(f); /* the count the timer would have logged */
	while (f->subs->len)
		sub_drop(g_ptr_array_index(f->subs, 0), NULL);
	if (f->accept_src) {
		g_source_destroy(f->accept_src);
		g_source_unref(f->accept_src);
	}
	if (f->listen) {
		g_socket_close(f->listen, NULL);
		g_object_unref(f->listen);
		g_unlink(f->path);
	}
	g_ptr_array_unref(f->subs);
	g_free(f->path);
	g_free(f);
}

/** Send @len bytes (whole lines) to every subscriber; never waits. */
void ce_mon_fanout_send(struct ce_mon_fanout *f, const char *line, gsize len)
{
	for (guint i = f->subs->len; i-- > 0;)
		sub_write(g_ptr_array_index(f->subs, i), line, len);
}

/** Counters for the status line and tests. */
void ce_mon_fanout_stats(const struct ce_mon_fanout *f, struct ce_mon_fanout_stats *st)
{
	*st = f->st;
	st->clients = f->subs->len;
}
