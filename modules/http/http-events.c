/* http-events.c - GET /api/v1/events: the monitor's event lines as Server-Sent Events, resumable */
#define G_LOG_DOMAIN "http"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "engine.h"
#include "http.h"
#include "modules/monitor/events.h"
#include "modules/store/store.h"

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
 * A client that resumes first gets the lines after its id, then the live
 * ones.  Ids grow across restarts (events.h: a run's ids start above the
 * last run's).  The lines the monitor still keeps ([monitor]
 * resume_events) come from memory; older ones, of this run or of earlier
 * ones, from the store's event_stream table, a page at a time on a store
 * worker, as the socket drains.  Only what nobody can give any more (lines
 * the store has not got: spooled while the database is away, never
 * stored, or the store cannot be read now) becomes an "event: gap" with
 * {"type":"gap","from":A,"to":B}; ids between two runs were never used and
 * are no gap.  An id beyond the newest gets an "event: reset" and every
 * line kept, and so does an id of an earlier run when no store keeps the
 * lines.
 *
 * The seams: a client catching up is not live, so new lines only go to
 * the monitor's memory; before each page the store's writer is flushed,
 * so that the page holds every line that memory no longer keeps up to the
 * oldest it does; and everything is sent by one cursor, the last id
 * considered, so that no line comes twice or is skipped.
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
/* Lines read from the store at a time: the most a client holds besides its queue. */
#define STORE_PAGE 200

struct client;

/* A read of the store for a client (a flush, then a page); the client may leave meanwhile. */
struct sread {
	struct client *c; /* NULL once it left */
	guint64 upto;     /* the lines wanted: cursor < seq <= upto */
};

struct client {
	struct ce_http *h;
	SoupServerMessage *msg;
	unsigned id;
	char *room;        /* ?room= filter, or NULL */
	gint64 conf;       /* ?conference= filter, or 0 */
	gsize queued;      /* bytes appended that the socket has not taken */
	guint keepalive;   /* timer */
	GSource *hangup;   /* the socket readable: the client left or spoke */
	GSocket *sock;     /* the connection's (a ref), or NULL */
	guint64 cursor;    /* catching up: the last seq sent or passed over */
	bool live;         /* caught up: new lines are written as they come */
	struct sread *rd;  /* a store read under way, or NULL */
	GPtrArray *page;   /* struct ce_stream_line * read, not all written yet */
	guint page_at;     /* the next of them */
	guint64 page_upto; /* the read's upto */
	bool page_full;    /* the read may have left lines in its range */
	bool store_failed; /* the store could not be read: not asked again */
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
	if (c->rd)
		c->rd->c = NULL;
	if (c->page)
		g_ptr_array_unref(c->page);
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

/* Ids after the cursor up to @to that nobody can send: a gap from @from (when any), cursor on. */
static void skip_to(struct client *c, guint64 from, guint64 to)
{
	if (from <= to)
		write_gap(c, from, to);
	c->cursor = MAX(c->cursor, to);
}

/* ---- from the store ---- */

static void sread_clear(gpointer p)
{
	struct sread *rd = p;

	if (rd->c && rd->c->rd == rd) {
		/* the store dropped the read unanswered: it stops, and so does the stream */
		rd->c->rd = NULL;
		rd->c->store_failed = true;
	}
}

static void sread_release(void *p)
{
	g_rc_box_release_full(p, sread_clear);
}

static void store_failed(struct client *c, guint64 upto, int err, const GError *error)
{
	g_warning("event client %u: the store cannot give the lines %" G_GUINT64_FORMAT
	          " to %" G_GUINT64_FORMAT ", which memory no longer keeps (%s): sent as a gap",
	        c->id, c->cursor + 1, upto, error ? error->message : g_strerror(-err));
	c->store_failed = true;
	skip_to(c, c->cursor + 1, upto);
}

/* A page of lines (every id the store has in the range, with the text of those wanted). */
static void on_lines(int err, GPtrArray *rows, const GError *error, void *arg)
{
	struct sread *rd = arg;
	struct client *c = rd->c;

	if (!c)
		return;
	c->rd = NULL;
	if (err) {
		store_failed(c, rd->upto, err, error);
	} else {
		c->page = g_ptr_array_ref(rows);
		c->page_at = 0;
		c->page_upto = rd->upto;
		c->page_full = rows->len >= STORE_PAGE;
	}
	fill(c);
}

/* Everything handed to the store before is in the database now (or spooled): read a page. */
static void on_flushed(void *arg)
{
	struct sread *rd = arg;
	struct client *c = rd->c;
	struct ce_store *st = c ? ce_monitor_store(ce_monitor_service(c->h->ce)) : NULL;
	struct ce_stream_filter f = {.after = (gint64)(c ? c->cursor : 0),
	        .upto = (gint64)rd->upto,
	        .room = c ? c->room : NULL,
	        .conference_id = c ? c->conf : 0,
	        .limit = STORE_PAGE};
	int r;

	if (!c)
		return;
	r = st ? ce_store_list_lines(st, &f, on_lines, g_rc_box_acquire(rd), sread_release)
	       : -ENODEV;
	if (r < 0) {
		c->rd = NULL;
		g_rc_box_release(rd);
		store_failed(c, rd->upto, r, NULL);
		fill(c);
	}
}

/* The lines after the cursor up to @upto, which memory no longer keeps, from @st. */
static void read_store(struct client *c, struct ce_store *st, guint64 upto)
{
	struct sread *rd = g_rc_box_new0(struct sread);

	rd->c = c;
	rd->upto = upto;
	c->rd = rd;
	g_debug("event client %u: lines %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT
	        " from the store",
	        c->id, c->cursor + 1, upto);
	if (ce_store_flush(st, on_flushed, rd, sread_release) < 0) {
		c->rd = NULL;
		rd->c = NULL;
		g_rc_box_release(rd);
		store_failed(c, upto, -EINVAL, NULL);
	}
}

/*
 * Writes the page's lines while the queue is below half.  Ids missing
 * between two lines of one run are a gap; a line that starts a later run
 * than the cursor's makes the ids up to its run unused ones.  Returns
 * whether the page is done.
 */
static bool write_page(struct client *c)
{
	GPtrArray *p = c->page;

	for (; c->page_at < p->len && !c->ending; c->page_at++) {
		const struct ce_stream_line *l = p->pdata[c->page_at];
		guint64 seq = (guint64)l->seq, run = (guint64)MAX(l->run, 0);

		if (c->queued >= c->h->event_queue / 2)
			return false;
		if (seq <= c->cursor)
			continue;
		skip_to(c, run >= c->cursor ? run + 1 : c->cursor + 1, seq - 1);
		c->cursor = seq;
		if (l->line)
			write_text(c, g_strdup_printf("id: %" G_GUINT64_FORMAT "\ndata: %s\n\n",
			                      seq, l->line));
	}
	g_clear_pointer(&c->page, g_ptr_array_unref);
	if (!c->page_full && c->cursor < c->page_upto) {
		/* the store has none of the rest: those of this run are lost */
		guint64 run = ce_monitor_run(ce_monitor_service(c->h->ce));

		skip_to(c, c->cursor >= run ? c->cursor + 1 : run + 1, c->page_upto);
	}
	return true;
}

/*
 * A client catching up takes the lines after its cursor, half a queue at
 * a time as the socket drains them, so that a long resume neither
 * overflows its queue nor holds more memory: from the store while they
 * are older than the oldest the monitor keeps, then the kept ones.  Once
 * it has the newest it is live.
 */
static void fill(struct client *c)
{
	struct ce_monitor *mon = ce_monitor_service(c->h->ce);
	struct ce_store *st = mon ? ce_monitor_store(mon) : NULL;
	guint64 oldest, newest, run;

	if (c->ending || !mon || c->rd || c->queued >= c->h->event_queue / 2)
		return;
	if (c->page && !write_page(c))
		return;
	oldest = ce_monitor_replay(mon, c->cursor, 0, NULL, NULL, &newest);
	run = ce_monitor_run(mon);
	if (c->cursor + 1 < oldest) {
		if (st && !c->store_failed) {
			read_store(c, st, oldest - 1);
			return;
		}
		/* nothing keeps them; the ids of an earlier run are not ours to count */
		skip_to(c, st || c->cursor >= run ? c->cursor + 1 : run + 1, oldest - 1);
	}
	ce_monitor_replay(mon, c->cursor, c->h->event_queue / 2 - c->queued, on_kept, c, &newest);
	c->live = c->cursor >= newest;
}

/*
 * Start after @since (@resumed: the client asked for it).  An id beyond the
 * newest, or one of an earlier run when no store keeps the lines, gets a
 * reset and then, like a client without an id, every line kept.  0 asks
 * for everything there is.
 */
static void replay(struct client *c, struct ce_monitor *mon, guint64 since, bool resumed)
{
	guint64 newest, oldest = ce_monitor_replay(mon, since, 0, NULL, NULL, &newest);
	bool earlier = since && since < ce_monitor_run(mon) && !ce_monitor_store(mon);

	if (resumed && (since > newest || earlier)) {
		g_info("event client %u: id %" G_GUINT64_FORMAT " is %s: reset", c->id, since,
		        earlier ? "of an earlier run and no store keeps the lines"
		                : "beyond the newest");
		write_text(c, g_strdup("event: reset\ndata: {\"type\":\"reset\"}\n\n"));
		resumed = false;
	}
	if (!resumed)
		since = oldest - 1; /* everything kept, without a gap */
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
