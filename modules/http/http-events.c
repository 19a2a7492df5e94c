/* http-events.c - GET /api/v1/events: the monitor's event lines as Server-Sent Events, resumable */
#define G_LOG_DOMAIN "http"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "engine.h"
#include "http.h"
#include "modules/monitor/events.h"

/*
 * One monitor line (an event or a CDR, as the event log writes it) per
 * SSE event, its id the line's seq:
 *
 *   GET /api/v1/events?room=800 HTTP/1.1
 *   Last-Event-ID: 41
 *
 *   HTTP/1.1 200 OK
 *   Content-Type: text/event-stream
 *   Connection: close                  (the body ends with the connection: no chunks)
 *
 *   retry: 2000
 *
 *   id: 42
 *   data: {"type":"event","seq":42,"node":"pbx1","event":"enter","room":"800",...}
 *
 *   : keep-alive
 *
 * A client that resumes first gets the lines after its id that the
 * monitor still keeps ([monitor] resume_events); when some are no longer
 * kept an "event: gap" with {"type":"gap","from":A,"to":B} says which;
 * an id beyond the newest (the engine restarted and counts from 1 again)
 * gets an "event: reset" and every line kept.  Then the live lines.
 *
 * The stream is exempt from [http] timeout, but each client has a queue of
 * at most event_queue bytes that the socket (its kernel buffer fixed at
 * STREAM_SNDBUF) has not taken: past it the
 * engine ends the stream (the client resumes with Last-Event-ID), so a
 * client that stops reading costs a bounded amount of memory and never
 * holds up the main loop.  Anything the client sends, or its closing,
 * ends the stream at once.
 */

#define KEEPALIVE_S 15
/* The kernel's send buffer of a stream, fixed: left to grow by itself it
 * reaches megabytes behind a client that does not read, past event_queue. */
#define STREAM_SNDBUF 65536

struct client {
	struct ce_http *h;
	SoupServerMessage *msg;
	unsigned id;
	char *room;      /* ?room= filter, or NULL */
	gint64 conf;     /* ?conference= filter, or 0 */
	gsize queued;    /* bytes appended that the socket has not taken */
	guint keepalive; /* timer */
	GSource *hangup; /* the socket readable: the client left or spoke */
	GSocket *sock;   /* the connection's (a ref), or NULL */
	guint64 cursor;  /* catching up: the last seq taken from the kept lines */
	bool live;       /* caught up: new lines are written as they come */
	bool ending;
	bool listening;
};

static void client_end(struct client *c, const char *why)
{
	if (c->ending)
		return;
	c->ending = true;
	if (why)
		g_message("event client %u closed: %s", c->id, why);
	soup_message_body_complete(soup_server_message_get_response_body(c->msg));
	soup_server_message_unpause(c->msg);
}

static void client_write(struct client *c, const char *text, gsize len)
{
	if (c->ending)
		return;
	if (c->queued + len > c->h->event_queue) {
		/* what is queued would never go either: cut the connection, the write fails */
		if (c->sock) {
			c->ending = true;
			g_message(
			        "event client %u closed: it does not read: its queue passed [http] "
			        "event_queue (it resumes with Last-Event-ID)",
			        c->id);
			g_socket_shutdown(c->sock, TRUE, TRUE, NULL);
		} else {
			client_end(c, "it does not read: its queue passed [http] event_queue");
		}
		return;
	}
	c->queued += len;
	soup_message_body_append(
	        soup_server_message_get_response_body(c->msg), SOUP_MEMORY_COPY, text, len);
	soup_server_message_unpause(c->msg);
}

static bool wanted(const struct client *c, const struct ce_monitor_line *l)
{
	if (c->room && g_strcmp0(c->room, l->room))
		return false;
	return !c->conf || c->conf == l->conference_id;
}

static void send_line(struct client *c, const struct ce_monitor_line *l)
{
	char *text;

	if (!wanted(c, l))
		return;
	text = g_strdup_printf(
	        "id: %" G_GUINT64_FORMAT "\ndata: %.*s\n\n", l->seq, (int)l->len, l->text);
	client_write(c, text, strlen(text));
	g_free(text);
}

/* A new line: written when the client is live; one catching up takes it from the kept ones. */
static void on_line(const struct ce_monitor_line *l, void *arg)
{
	struct client *c = arg;

	if (c->live)
		send_line(c, l);
}

/* A kept line for a client catching up (its queue is below half: no overflow). */
static void on_kept(const struct ce_monitor_line *l, void *arg)
{
	struct client *c = arg;

	c->cursor = l->seq;
	send_line(c, l);
}

static void fill(struct client *c);

static gboolean on_keepalive(gpointer data)
{
	static const char ka[] = ": keep-alive\n\n";

	client_write(data, ka, sizeof(ka) - 1);
	return G_SOURCE_CONTINUE;
}

static gboolean on_hangup(GSocket *sock, GIOCondition cond, gpointer data)
{
	struct client *c = data;

	(void)sock;
	(void)cond;
	g_clear_pointer(&c->hangup, g_source_unref);
	client_end(c, NULL);
	return G_SOURCE_REMOVE;
}

static void on_wrote(SoupServerMessage *msg, guint n, gpointer data)
{
	struct client *c = data;

	(void)msg;
	c->queued -= MIN(c->queued, n);
	if (!c->live)
		fill(c);
}

static void on_finished(SoupServerMessage *msg, gpointer data)
{
	struct client *c = data;

	g_signal_handlers_disconnect_by_data(msg, c);
	if (c->listening)
		ce_monitor_unlisten(ce_monitor_service(c->h->ce), on_line, c);
	if (c->keepalive)
		g_source_remove(c->keepalive);
	if (c->hangup) {
		g_source_destroy(c->hangup);
		g_source_unref(c->hangup);
	}
	g_clear_object(&c->sock);
	g_ptr_array_remove_fast(c->h->event_clients, c);
	g_debug("event client %u gone", c->id);
	g_object_unref(c->msg);
	g_free(c->room);
	g_free(c);
}

/* The seq to resume after: Last-Event-ID, else ?since=, else 0; false when not a number. */
static bool resume_from(SoupServerMessage *msg, GHashTable *query, guint64 *since)
{
	const char *v = soup_message_headers_get_one(
	        soup_server_message_get_request_headers(msg), "Last-Event-ID");

	if (!v && query)
		v = g_hash_table_lookup(query, "since");
	*since = 0;
	return !v || g_ascii_string_to_unsigned(v, 10, 0, G_MAXUINT64, since, NULL);
}

static void write_text(struct client *c, char *text)
{
	client_write(c, text, strlen(text));
	g_free(text);
}

static void write_gap(struct client *c, guint64 from, guint64 to)
{
	write_text(
	        c, g_strdup_printf("event: gap\ndata: {\"type\":\"gap\",\"from\":%" G_GUINT64_FORMAT
	                           ",\"to\":%" G_GUINT64_FORMAT "}\n\n",
	                   from, to));
}

/*
 * A client catching up takes the kept lines after its cursor, half a
 * queue at a time as the socket drains them, so that a long resume
 * neither overflows its queue nor holds more memory; lines that the
 * monitor dropped meanwhile become a gap event.  Once it has the newest
 * it is live.
 */
static void fill(struct client *c)
{
	struct ce_monitor *mon = ce_monitor_service(c->h->ce);
	guint64 oldest, newest;

	if (c->ending || !mon || c->queued >= c->h->event_queue / 2)
		return;
	oldest = ce_monitor_replay(mon, c->cursor, 0, NULL, NULL, &newest);
	if (c->cursor + 1 < oldest) {
		write_gap(c, c->cursor + 1, oldest - 1);
		c->cursor = oldest - 1;
	}
	ce_monitor_replay(mon, c->cursor, c->h->event_queue / 2 - c->queued, on_kept, c, &newest);
	c->live = c->cursor >= newest;
}

/* Start after @since (@resumed: the client asked for it), with a reset first for an id beyond
 * the newest, and a gap when older lines are asked for than are kept. */
static void replay(struct client *c, struct ce_monitor *mon, guint64 since, bool resumed)
{
	guint64 newest, oldest = ce_monitor_replay(mon, since, 0, NULL, NULL, &newest);

	if (since > newest) {
		write_text(c, g_strdup("event: reset\ndata: {\"type\":\"reset\"}\n\n"));
		since = 0;
	}
	if (!resumed)
		since = oldest ? oldest - 1 : 0; /* everything kept, without a gap */
	c->cursor = since;
	fill(c);
}

static void start_stream(struct client *c, struct ce_monitor *mon, guint64 since, bool resumed)
{
	SoupMessageHeaders *hd = soup_server_message_get_response_headers(c->msg);
	GSocket *sock = ce_http_socket(c->h, c->msg);

	soup_server_message_set_status(c->msg, SOUP_STATUS_OK, NULL);
	soup_message_headers_set_content_type(hd, "text/event-stream", NULL);
	soup_message_headers_replace(hd, "Cache-Control", "no-cache");
	/* The body ends when the connection does (the stream ends only so): libsoup writes
	 * each chunk of a chunked body as three sends (size, data, CRLF), so every event
	 * took three TCP sends per client; without chunks it is one (docs/PERFORMANCE.md,
	 * "HTTP API under load"). */
	soup_message_headers_set_encoding(hd, SOUP_ENCODING_EOF);
	soup_message_body_set_accumulate(soup_server_message_get_response_body(c->msg), FALSE);
	g_signal_connect(c->msg, "wrote-body-data", G_CALLBACK(on_wrote), c);
	g_signal_connect(c->msg, "finished", G_CALLBACK(on_finished), c);
	if (sock) {
		c->sock = g_object_ref(sock);
		g_socket_set_timeout(sock, 0); /* long-lived; bounded by its queue instead */
		if (!g_socket_set_option(sock, SOL_SOCKET, SO_SNDBUF, STREAM_SNDBUF, NULL))
			g_debug("event client %u: cannot set its send buffer", c->id);
		c->hangup = g_socket_create_source(sock, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
		g_source_set_callback(c->hangup, G_SOURCE_FUNC(on_hangup), c, NULL);
		g_source_attach(c->hangup, NULL);
	}
	client_write(c, "retry: 2000\n\n", 13);
	replay(c, mon, since, resumed);
	c->listening = !ce_monitor_listen(mon, on_line, c);
	c->keepalive = g_timeout_add_seconds(KEEPALIVE_S, on_keepalive, c);
}

/* ?conference=ID into *@conf (0: none); false when it is not a positive integer. */
static bool conference_filter(GHashTable *query, gint64 *conf)
{
	const char *v = query ? g_hash_table_lookup(query, "conference") : NULL;
	guint64 n = 0;

	*conf = 0;
	if (v && !g_ascii_string_to_unsigned(v, 10, 1, G_MAXINT64, &n, NULL))
		return false;
	*conf = (gint64)n;
	return true;
}

/** GET /api/v1/events: start an event stream on @msg (docs/http.md); @query may be NULL. */
void ce_http_events(struct ce_http *h, SoupServerMessage *msg, GHashTable *query)
{
	static unsigned next_id;
	struct ce_monitor *mon = ce_monitor_service(h->ce);
	const char *last_id = soup_message_headers_get_one(
	        soup_server_message_get_request_headers(msg), "Last-Event-ID");
	struct client *c;
	guint64 since;
	gint64 conf;

	if (!mon) {
		ce_http_reply_error(msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "no_monitor",
		        "the monitor module does not run: there are no events");
		return;
	}
	if (!resume_from(msg, query, &since) || !conference_filter(query, &conf)) {
		ce_http_reply_error(msg, SOUP_STATUS_BAD_REQUEST, "bad_request",
		        "Last-Event-ID and since are event ids, conference a conference id "
		        "(decimal)");
		return;
	}
	if (h->event_clients->len >= h->max_event_clients) {
		soup_message_headers_replace(
		        soup_server_message_get_response_headers(msg), "Retry-After", "5");
		ce_http_reply_error(msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "too_many_clients",
		        "%u event clients already ([http] max_event_clients)",
		        h->event_clients->len);
		return;
	}
	c = g_new0(struct client, 1);
	c->h = h;
	c->msg = g_object_ref(msg);
	c->id = ++next_id;
	c->conf = conf;
	c->room = query ? g_strdup(g_hash_table_lookup(query, "room")) : NULL;
	g_ptr_array_add(h->event_clients, c);
	g_info("event client %u: since=%" G_GUINT64_FORMAT " room=%s conference=%" G_GINT64_FORMAT,
	        c->id, since, c->room ? c->room : "*", conf);
	start_stream(c, mon, since, last_id || (query && g_hash_table_lookup(query, "since")));
}

/** Forget every event stream (the module stops; the server then closes the connections). */
void ce_http_events_stop(struct ce_http *h)
{
	while (h->event_clients->len) {
		struct client *c = g_ptr_array_index(h->event_clients, 0);

		on_finished(c->msg, c);
	}
}
