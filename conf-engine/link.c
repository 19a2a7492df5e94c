/* link.c - the transport to Yate: non-blocking stdin/stdout or a socket, with reconnection */
#define G_LOG_DOMAIN "ce-link"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib-unix.h>

#include "link.h"
#include "protocol.h"

/*
 * Two modes share one reader and one writer:
 *  - fds: Yate started us; it writes to our stdin and reads our stdout.
 *    EOF on input is final: Yate is gone or asked us to go.
 *  - connect: "unix:/path" or "tcp:host:port" to Yate's extmodule listener.
 *    The first line on a new connection is "%%>connect:global"; a lost
 *    connection is retried with a doubling back-off.
 * Output is buffered and flushed on G_IO_OUT so that a write never blocks
 * the main loop.  Lines read in one wake-up are handled as a batch whose
 * answers leave in as few write() calls as possible.
 */

enum link_mode {
	MODE_FDS,
	MODE_UNIX,
	MODE_TCP,
};

struct ce_link {
	enum link_mode mode;
	char *spec;   /* as given, for logs and status */
	char *target; /* unix path or host:port */
	int in_fd, out_fd;
	guint in_src, out_src, retry_src, fail_src;
	GSocketClient *client;
	GSocketConnection *conn;
	GCancellable *cancel;
	struct ce_linebuf *lb;
	GString *out;
	size_t out_head;
	struct ce_link_opts o;
	const struct ce_link_ops *ops;
	void *arg;
	bool up, broken, connecting;
	int batch;
	unsigned delay, attempt;
};

#define READ_CHUNK       65536
#define READS_PER_WAKEUP 16
#define BATCH_FLUSH      (32 * 1024)
#define BROKEN_WHY       "write failed or output backlog over limit"

static void schedule_connect(struct ce_link *l);
static void start_io(struct ce_link *l);

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0 && !(fl & O_NONBLOCK))
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void clear_source(guint *id)
{
	if (*id) {
		g_source_remove(*id);
		*id = 0;
	}
}

/* Stop the I/O of the current stream; the fds of MODE_FDS stay open. */
static void close_stream(struct ce_link *l)
{
	clear_source(&l->in_src);
	clear_source(&l->out_src);
	clear_source(&l->fail_src);
	if (l->conn) {
		g_io_stream_close(G_IO_STREAM(l->conn), NULL, NULL);
		g_clear_object(&l->conn);
		l->in_fd = l->out_fd = -1;
	}
	g_string_truncate(l->out, 0);
	l->out_head = 0;
	l->up = false;
	l->broken = false;
}

/* The stream is gone: tell the user, and come back if we can. */
static void lost(struct ce_link *l, const char *why)
{
	bool final = l->mode == MODE_FDS;
	bool was_up = l->up;

	if (final)
		g_message("link to Yate closed: %s", why);
	else
		g_warning("link to Yate at %s lost: %s", l->spec, why);
	close_stream(l);
	if (was_up && l->ops->down)
		l->ops->down(l->arg, final);
	if (!final)
		schedule_connect(l);
}

static gboolean on_fail(gpointer data)
{
	struct ce_link *l = data;

	l->fail_src = 0;
	lost(l, BROKEN_WHY);
	return G_SOURCE_REMOVE;
}

/*
 * Called from inside writes: tear down later, outside of the caller's stack.
 * At high priority: the input source stays ready while Yate keeps writing,
 * and an idle at the default idle priority would wait behind it for ever.
 */
static void mark_broken(struct ce_link *l)
{
	if (l->broken)
		return;
	l->broken = true;
	clear_source(&l->out_src);
	l->fail_src = g_idle_add_full(G_PRIORITY_HIGH, on_fail, l, NULL);
}

static gboolean on_out(int fd, GIOCondition cond, gpointer data)
{
	struct ce_link *l = data;

	l->out_src = 0;
	ce_link_flush(l);
	return G_SOURCE_REMOVE;
}

/**
 * Write as much of the output backlog as the stream takes now; the rest
 * waits for G_IO_OUT.  Never blocks.
 */
void ce_link_flush(struct ce_link *l)
{
	while (l->up && !l->broken && l->out_head < l->out->len) {
		ssize_t n = write(l->out_fd, l->out->str + l->out_head, l->out->len - l->out_head);

		if (n > 0) {
			l->out_head += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!l->out_src)
				l->out_src = g_unix_fd_add(l->out_fd, G_IO_OUT, on_out, l);
			return;
		}
		g_warning("writing to Yate failed: %s", n < 0 ? g_strerror(errno) : "short write");
		mark_broken(l);
		return;
	}
	if (l->out_head >= l->out->len) {
		g_string_truncate(l->out, 0);
		l->out_head = 0;
	}
}

/**
 * Queue @len bytes (whole lines, newline included) for Yate.  Returns 0,
 * -ENOTCONN when the link is down, or -ENOBUFS when the backlog passed
 * max_out (the link is then treated as broken and will report down).
 */
int ce_link_write(struct ce_link *l, const char *data, size_t len)
{
	if (!l->up || l->broken)
		return -ENOTCONN;
	if (l->out->len - l->out_head + len > l->o.max_out) {
		g_critical("output to Yate backlogged over %zu bytes: Yate is not reading, "
		           "dropping the link",
		        l->o.max_out);
		mark_broken(l);
		return -ENOBUFS;
	}
	if (l->out_head && l->out_head == l->out->len) {
		g_string_truncate(l->out, 0);
		l->out_head = 0;
	}
	g_string_append_len(l->out, data, (gssize)len);
	/* in a batch, answers leave in large writes, but without waiting for its end */
	if (!l->out_src && (!l->batch || l->out->len - l->out_head >= BATCH_FLUSH))
		ce_link_flush(l);
	return 0;
}

static void feed_line(const char *line, size_t len, void *arg)
{
	struct ce_link *l = arg;

	if (l->up && !l->broken)
		l->ops->line(l->arg, line, len);
}

static void feed_overflow(const struct ce_overflow *o, void *arg)
{
	struct ce_link *l = arg;

	if (l->up && !l->broken && l->ops->overflow)
		l->ops->overflow(l->arg, o);
}

static gboolean on_in(int fd, GIOCondition cond, gpointer data)
{
	struct ce_link *l = data;
	char buf[READ_CHUNK];
	int i;

	if (l->broken) {
		/* a write failed: stop reading now rather than spin on ready input */
		l->in_src = 0;
		lost(l, BROKEN_WHY);
		return G_SOURCE_REMOVE;
	}
	for (i = 0; i < READS_PER_WAKEUP && l->up && !l->broken; i++) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n > 0) {
			l->batch++;
			ce_linebuf_feed(l->lb, buf, (size_t)n, feed_line, feed_overflow, l);
			l->batch--;
			if ((size_t)n < sizeof(buf))
				break;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		l->in_src = 0;
		lost(l, n == 0 ? "end of input" : g_strerror(errno));
		return G_SOURCE_REMOVE;
	}
	if (!l->out_src)
		ce_link_flush(l);
	return G_SOURCE_CONTINUE;
}

static void start_io(struct ce_link *l)
{
	if (l->lb)
		ce_linebuf_free(l->lb);
	ce_linebuf_new(&l->lb, l->o.max_line);
	l->in_src = g_unix_fd_add(l->in_fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_in, l);
	l->up = true;
	l->broken = false;
}

static void on_connected(GObject *src, GAsyncResult *res, gpointer data)
{
	GError *err = NULL;
	GSocketConnection *conn = g_socket_client_connect_finish(G_SOCKET_CLIENT(src), res, &err);
	struct ce_link *l;
	static const char hello[] = "%%>connect:global\n";

	if (!conn && g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		g_error_free(err); /* the link is being freed: do not touch it */
		return;
	}
	l = data;
	l->connecting = false;
	if (!conn) {
		g_warning("connecting to Yate at %s failed: %s", l->spec, err->message);
		g_error_free(err);
		schedule_connect(l);
		return;
	}
	l->conn = conn;
	l->in_fd = l->out_fd = g_socket_get_fd(g_socket_connection_get_socket(conn));
	set_nonblock(l->in_fd);
	start_io(l);
	l->delay = 0;
	l->attempt = 0;
	g_message("connected to Yate at %s", l->spec);
	ce_link_write(l, hello, sizeof(hello) - 1);
	if (l->ops->up)
		l->ops->up(l->arg);
}

static gboolean on_retry(gpointer data)
{
	struct ce_link *l = data;
	GSocketAddress *addr;

	l->retry_src = 0;
	l->connecting = true;
	l->attempt++;
	g_message("connecting to Yate at %s (attempt %u)", l->spec, l->attempt);
	if (l->mode == MODE_UNIX) {
		addr = g_unix_socket_address_new(l->target);
		g_socket_client_connect_async(
		        l->client, G_SOCKET_CONNECTABLE(addr), l->cancel, on_connected, l);
		g_object_unref(addr);
	} else {
		g_socket_client_connect_to_host_async(
		        l->client, l->target, 0, l->cancel, on_connected, l);
	}
	return G_SOURCE_REMOVE;
}

/* Next attempt after the back-off: min, then doubling up to max. */
static void schedule_connect(struct ce_link *l)
{
	if (l->retry_src || l->connecting)
		return;
	l->delay = l->delay ? MIN(l->delay * 2, l->o.reconnect_max) : l->o.reconnect_min;
	g_message("next connection attempt to %s in %u ms", l->spec, l->delay);
	l->retry_src = g_timeout_add(l->delay, on_retry, l);
}

static void link_init(struct ce_link *l, const struct ce_link_opts *opts,
        const struct ce_link_ops *ops, void *arg)
{
	if (opts)
		l->o = *opts;
	if (!l->o.max_line)
		l->o.max_line = CE_PROTO_MAX_LINE_DEFAULT;
	if (!l->o.max_out)
		l->o.max_out = CE_LINK_MAX_OUT_DEFAULT;
	if (!l->o.reconnect_min)
		l->o.reconnect_min = CE_LINK_RECONNECT_MIN_DEFAULT;
	if (!l->o.reconnect_max)
		l->o.reconnect_max = CE_LINK_RECONNECT_MAX_DEFAULT;
	l->o.reconnect_max = MAX(l->o.reconnect_max, l->o.reconnect_min);
	l->ops = ops;
	l->arg = arg;
	l->out = g_string_sized_new(65536);
	l->in_fd = l->out_fd = -1;
}

/**
 * A link over two open descriptors (Yate's pipes: 0 and 1).  Both are made
 * non-blocking; they are not closed by ce_link_free.  Nothing happens
 * before ce_link_start().  Returns 0.
 */
int ce_link_new_fds(struct ce_link **lp, int in_fd, int out_fd, const struct ce_link_opts *opts,
        const struct ce_link_ops *ops, void *arg)
{
	struct ce_link *l = g_new0(struct ce_link, 1);

	link_init(l, opts, ops, arg);
	l->mode = MODE_FDS;
	l->spec = g_strdup_printf("fd:%d,%d", in_fd, out_fd);
	l->in_fd = in_fd;
	l->out_fd = out_fd;
	set_nonblock(in_fd);
	set_nonblock(out_fd);
	*lp = l;
	return 0;
}

/** Whether @spec reads as "unix:PATH" or "tcp:HOST:PORT" (not whether it can connect). */
bool ce_link_spec_valid(const char *spec)
{
	return (g_str_has_prefix(spec, "unix:") && spec[5]) ||
	       (g_str_has_prefix(spec, "tcp:") && strrchr(spec + 4, ':'));
}

/**
 * A link that connects to Yate's extmodule listener: @spec is
 * "unix:PATH" or "tcp:HOST:PORT".  Returns 0, or -EINVAL with @err set
 * for a malformed spec.  Connecting starts with ce_link_start().
 */
int ce_link_new_connect(struct ce_link **lp, const char *spec, const struct ce_link_opts *opts,
        const struct ce_link_ops *ops, void *arg, GError **err)
{
	struct ce_link *l = NULL;
	int r = 0;

	if (ce_link_spec_valid(spec) && g_str_has_prefix(spec, "unix:")) {
		l = g_new0(struct ce_link, 1);
		l->mode = MODE_UNIX;
		l->target = g_strdup(spec + 5);
	} else if (ce_link_spec_valid(spec)) {
		l = g_new0(struct ce_link, 1);
		l->mode = MODE_TCP;
		l->target = g_strdup(spec + 4);
	} else {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
		        "bad link \"%s\": expected unix:PATH or tcp:HOST:PORT", spec);
		r = -EINVAL;
		goto out;
	}
	link_init(l, opts, ops, arg);
	l->spec = g_strdup(spec);
	l->client = g_socket_client_new();
	l->cancel = g_cancellable_new();
out:
	*lp = l;
	return r;
}

/** Start the link: an fds link is up at once (ops->up is called from here). */
void ce_link_start(struct ce_link *l)
{
	if (l->mode != MODE_FDS) {
		on_retry(l);
		return;
	}
	start_io(l);
	if (l->ops->up)
		l->ops->up(l->arg);
}

/** Close the link; no callback is called any more.  NULL is allowed. */
void ce_link_free(struct ce_link *l)
{
	if (!l)
		return;
	if (l->cancel)
		g_cancellable_cancel(l->cancel);
	clear_source(&l->retry_src);
	if (l->up)
		ce_link_flush(l);
	close_stream(l);
	g_clear_object(&l->cancel);
	g_clear_object(&l->client);
	if (l->lb)
		ce_linebuf_free(l->lb);
	g_string_free(l->out, TRUE);
	g_free(l->spec);
	g_free(l->target);
	g_free(l);
}

/** Whether lines can be written now. */
bool ce_link_is_up(const struct ce_link *l)
{
	return l && l->up && !l->broken;
}

/** "stdio", "unix" or "tcp". */
const char *ce_link_mode(const struct ce_link *l)
{
	static const char *const names[] = {"stdio", "unix", "tcp"};

	return names[l->mode];
}

/** The link as configured, e.g. "unix:/run/yate/ext.sock". */
const char *ce_link_spec(const struct ce_link *l)
{
	return l->spec;
}

/** Bytes waiting to be written. */
size_t ce_link_backlog(const struct ce_link *l)
{
	return l->out->len - l->out_head;
}
