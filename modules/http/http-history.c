/* http-history.c - GET /api/v1/history/events and /cdrs: the store's history, as JSON or CSV */
#define G_LOG_DOMAIN "http"

#include <errno.h>
#include <string.h>

#include "engine.h"
#include "http.h"
#include "modules/monitor/monitor.h"
#include "modules/store/store.h"

/*
 * The history is the store's tables "events" and "cdrs" (SQLite or
 * PostgreSQL): the query runs on one of the store's worker threads while
 * the request waits, paused, and is answered when the rows come back on
 * the main loop.  Rows come in the order they were stored (their id,
 * oldest first); a full page names the cursor of the next one:
 *
 *   GET /api/v1/history/cdrs?room=800&from=2026-12-01T00:00:00%2B01:00&limit=2
 *
 *   {"cdrs":[{"id":7,"room":"800","caller":"1001",...},{"id":9,...}],"next":9}
 *
 *   GET /api/v1/history/cdrs?room=800&from=...&after=9&format=csv
 *
 *   id,node,room,conference_id,leg,...
 *   12,pbx1,800,,dumb/3,...
 */

#define JSON_LIMIT_DEF 100
#define JSON_LIMIT_MAX 1000
#define CSV_LIMIT_DEF  CE_STORE_HISTORY_MAX
#define RETRY_AFTER    "5" /* seconds: the store's reconnect back-off is shorter */

enum history_kind {
	HISTORY_EVENTS,
	HISTORY_CDRS,
};

/* A query waiting for the store; @h is NULL once the module stopped. */
struct hq {
	struct ce_http *h;
	SoupServerMessage *msg;
	enum history_kind kind;
	bool csv;
	bool gone; /* the message finished (the client left) */
	unsigned limit;
};

static const char *const event_params[] = {
        "conference", "room", "from", "to", "type", "limit", "after", NULL};
static const char *const cdr_params[] = {
        "conference", "room", "from", "to", "limit", "after", "format", NULL};

/*
 * RFC 3339 (section 5.6): full-date "T" full-time with a "Z" or a numeric
 * offset; GLib's ISO 8601 parser also takes week dates, ordinal dates and
 * times without a zone, which are refused here first.
 */
static bool rfc3339(const char *s, gint64 *us)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	GDateTime *dt;
	const char *p = s + sizeof(shape) - 1;
	unsigned i;

	for (i = 0; i < sizeof(shape) - 1; i++) {
		if (shape[i] == 'd' ? !g_ascii_isdigit(s[i]) : g_ascii_toupper(s[i]) != shape[i])
			return false;
	}
	if (*p == '.' && g_ascii_isdigit(p[1]))
		for (p++; g_ascii_isdigit(*p); p++)
			;
	if (!((g_ascii_toupper(*p) == 'Z' && !p[1]) ||
	            ((*p == '+' || *p == '-') && g_ascii_isdigit(p[1]) && g_ascii_isdigit(p[2]) &&
	                    p[3] == ':' && g_ascii_isdigit(p[4]) && g_ascii_isdigit(p[5]) &&
	                    !p[6])))
		return false;
	dt = g_date_time_new_from_iso8601(s, NULL);
	if (!dt)
		return false;
	*us = g_date_time_to_unix(dt) * G_USEC_PER_SEC + g_date_time_get_microsecond(dt);
	g_date_time_unref(dt);
	return true;
}

/* Whether the client asks for CSV: ?format=csv, or Accept naming text/csv without ?format. */
static bool wants_csv(SoupServerMessage *msg, const char *format)
{
	const char *accept = soup_message_headers_get_one(
	        soup_server_message_get_request_headers(msg), "Accept");

	if (format)
		return !strcmp(format, "csv");
	return accept && strstr(accept, "text/csv");
}

static const char *param(GHashTable *query, const char *name)
{
	return query ? g_hash_table_lookup(query, name) : NULL;
}

/* Each parameter of @query is one of @known; else false, @why set. */
static bool params_known(GHashTable *query, const char *const *known, char **why)
{
	GHashTableIter it;
	gpointer key;

	if (!query)
		return true;
	g_hash_table_iter_init(&it, query);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		if (!g_strv_contains(known, key)) {
			*why = g_strdup_printf("unknown parameter '%s'", (char *)key);
			return false;
		}
	}
	return true;
}

/* Parameter @name, when given, a decimal in [@min, @max] into *@out; else false, @why set. */
static bool param_num(
        GHashTable *query, const char *name, guint64 min, guint64 max, gint64 *out, char **why)
{
	const char *v = param(query, name);
	guint64 n;

	if (!v)
		return true;
	if (!g_ascii_string_to_unsigned(v, 10, min, max, &n, NULL)) {
		*why = g_strdup_printf("%s '%s': a whole number from %" G_GUINT64_FORMAT
		                       " to %" G_GUINT64_FORMAT,
		        name, v, min, max);
		return false;
	}
	*out = (gint64)n;
	return true;
}

/* Parameter @name, when given, an RFC 3339 time into *@out (us); else false, @why set. */
static bool param_time(GHashTable *query, const char *name, gint64 *out, char **why)
{
	const char *v = param(query, name);

	if (!v || rfc3339(v, out))
		return true;
	*why = g_strdup_printf("%s '%s' is not an RFC 3339 time with Z or an offset "
	                       "(2026-12-01T09:00:00+01:00)",
	        name, v);
	return false;
}

/* Parameter type, when given, an event type (the event log's names, or the table's) */
static bool param_type(GHashTable *query, int *kind, char **why)
{
	const char *v = param(query, "type");
	enum ce_event_kind k;

	if (!v)
		return true;
	if (!strcmp(v, "destroyed"))
		k = CE_EVENT_END;
	else if (ce_event_kind_parse(v, &k) < 0) {
		*why = g_strdup_printf("type '%s' is not an event type", v);
		return false;
	}
	*kind = (int)k;
	return true;
}

/* Parameter format, when given, csv or json; q->csv says which the answer is. */
static bool param_format(struct hq *q, GHashTable *query, char **why)
{
	const char *v = param(query, "format");

	if (v && strcmp(v, "csv") && strcmp(v, "json")) {
		*why = g_strdup_printf("format '%s': csv or json", v);
		return false;
	}
	q->csv = q->kind == HISTORY_CDRS && wants_csv(q->msg, v);
	return true;
}

/* @q's parameters into @f; false (and @why set) on one the endpoint does not take or a bad value.
 */
static bool read_filter(struct hq *q, GHashTable *query, struct ce_history_filter *f, char **why)
{
	unsigned max;
	gint64 limit;
	bool ok;

	*f = (struct ce_history_filter){.from = CE_STORE_TIME_MIN,
	        .to = CE_STORE_TIME_MAX,
	        .kind = -1,
	        .room = param(query, "room")};
	ok = params_known(query, q->kind == HISTORY_EVENTS ? event_params : cdr_params, why) &&
	     param_format(q, query, why);
	max = q->csv ? CE_STORE_HISTORY_MAX : JSON_LIMIT_MAX;
	limit = q->csv ? CSV_LIMIT_DEF : JSON_LIMIT_DEF;
	ok = ok && param_num(query, "conference", 1, G_MAXINT64, &f->conference_id, why) &&
	     param_time(query, "from", &f->from, why) && param_time(query, "to", &f->to, why) &&
	     param_type(query, &f->kind, why) &&
	     param_num(query, "after", 0, G_MAXINT64, &f->after, why) &&
	     param_num(query, "limit", 1, max, &limit, why);
	if (ok && f->from > f->to) {
		*why = g_strdup("from is after to");
		ok = false;
	}
	f->limit = q->limit = (unsigned)limit;
	return ok;
}

/* ---- the rows as fields ------------------------------------------------------ */

/* One row's fields in order: a name, and a string or an integer (both absent: null). */
typedef void(field_h)(void *out, const char *name, const char *s, gint64 n, bool is_n);

static void str(field_h *fn, void *out, const char *name, const char *s)
{
	fn(out, name, s, 0, false);
}

static void num(field_h *fn, void *out, const char *name, gint64 n)
{
	fn(out, name, NULL, n, true);
}

/* An id that 0 means absent: null. */
static void opt_id(field_h *fn, void *out, const char *name, gint64 n)
{
	fn(out, name, NULL, n, n != 0);
}

static void time_field(field_h *fn, void *out, const char *name, gint64 us)
{
	char *t = ce_mon_time_text(us);

	str(fn, out, name, t);
	g_free(t);
}

static void event_fields(const struct ce_event *ev, field_h *fn, void *out)
{
	num(fn, out, "id", ev->id);
	str(fn, out, "node", ev->node);
	num(fn, out, "seq", ev->seq);
	time_field(fn, out, "time", ev->at);
	num(fn, out, "time_us", ev->at);
	str(fn, out, "event", ce_mon_kind_name(ev->kind));
	str(fn, out, "room", ev->room);
	opt_id(fn, out, "conference_id", ev->conference_id);
	str(fn, out, "leg", ev->leg);
	opt_id(fn, out, "participant_id", ev->participant_id);
	str(fn, out, "role", ev->role);
	str(fn, out, "caller", ev->caller);
	str(fn, out, "caller_name", ev->caller_name);
	str(fn, out, "called", ev->called);
	str(fn, out, "direction", ev->direction);
	str(fn, out, "detail", ev->detail);
}

static void cdr_fields(const struct ce_cdr *c, field_h *fn, void *out)
{
	num(fn, out, "id", c->id);
	str(fn, out, "node", c->node);
	str(fn, out, "room", c->room);
	opt_id(fn, out, "conference_id", c->conference_id);
	str(fn, out, "leg", c->leg);
	opt_id(fn, out, "participant_id", c->participant_id);
	str(fn, out, "role", c->role);
	str(fn, out, "caller", c->caller);
	str(fn, out, "caller_name", c->caller_name);
	str(fn, out, "called", c->called);
	str(fn, out, "direction", c->direction);
	time_field(fn, out, "joined", c->joined_at);
	time_field(fn, out, "left", c->left_at);
	num(fn, out, "duration_ms", c->duration_ms);
	num(fn, out, "talk_ms", c->talk_ms);
	str(fn, out, "reason", c->reason);
	str(fn, out, "billid", c->billid);
	opt_id(fn, out, "seq", c->seq);
}

static void row_fields(enum history_kind kind, gconstpointer row, field_h *fn, void *out)
{
	if (kind == HISTORY_EVENTS)
		event_fields(row, fn, out);
	else
		cdr_fields(row, fn, out);
}

static gint64 row_id(enum history_kind kind, gconstpointer row)
{
	return kind == HISTORY_EVENTS ? ((const struct ce_event *)row)->id
	                              : ((const struct ce_cdr *)row)->id;
}

/* ---- JSON -------------------------------------------------------------------- */

static void json_field(void *out, const char *name, const char *s, gint64 n, bool is_n)
{
	JsonBuilder *b = out;

	json_builder_set_member_name(b, name);
	if (is_n)
		json_builder_add_int_value(b, n);
	else if (s)
		json_builder_add_string_value(b, s);
	else
		json_builder_add_null_value(b);
}

static void reply_json(struct hq *q, GPtrArray *rows)
{
	JsonBuilder *b = json_builder_new();

	json_builder_begin_object(b);
	json_builder_set_member_name(b, q->kind == HISTORY_EVENTS ? "events" : "cdrs");
	json_builder_begin_array(b);
	for (guint i = 0; i < rows->len; i++) {
		json_builder_begin_object(b);
		row_fields(q->kind, rows->pdata[i], json_field, b);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "next");
	if (rows->len == q->limit)
		json_builder_add_int_value(b, row_id(q->kind, rows->pdata[rows->len - 1]));
	else
		json_builder_add_null_value(b);
	json_builder_end_object(b);
	ce_http_reply_json(q->msg, SOUP_STATUS_OK, json_builder_get_root(b));
	g_object_unref(b);
}

/* ---- CSV (RFC 4180) ---------------------------------------------------------- */

struct csv {
	GString *out;
	bool header; /* writing the names, not the values */
	bool first;
};

/*
 * One field: quoted when it holds a comma, a quote, CR or LF (quotes
 * doubled).  A text that starts with = + - @ (or a tab or CR) gets a
 * leading ' so that a spreadsheet does not run it as a formula.
 */
static void csv_field(void *out, const char *name, const char *s, gint64 n, bool is_n)
{
	struct csv *c = out;
	const char *v = c->header ? name : s;

	if (!c->first)
		g_string_append_c(c->out, ',');
	c->first = false;
	if (!c->header && is_n) {
		g_string_append_printf(c->out, "%" G_GINT64_FORMAT, n);
		return;
	}
	if (!v)
		return;
	if (!c->header && *v && strchr("=+-@\t\r", *v))
		g_string_append_c(c->out, '\'');
	if (!strpbrk(v, ",\"\r\n")) {
		g_string_append(c->out, v);
		return;
	}
	g_string_append_c(c->out, '"');
	for (; *v; v++) {
		if (*v == '"')
			g_string_append_c(c->out, '"');
		g_string_append_c(c->out, *v);
	}
	g_string_append_c(c->out, '"');
}

static void csv_row(struct csv *c, enum history_kind kind, gconstpointer row)
{
	c->first = true;
	row_fields(kind, row, csv_field, c);
	g_string_append(c->out, "\r\n");
}

static void reply_csv(struct hq *q, GPtrArray *rows)
{
	struct ce_cdr blank = {0};
	struct csv c = {.out = g_string_new(NULL), .header = true};
	SoupMessageHeaders *hd = soup_server_message_get_response_headers(q->msg);
	gsize len;

	csv_row(&c, q->kind, &blank);
	c.header = false;
	for (guint i = 0; i < rows->len; i++)
		csv_row(&c, q->kind, rows->pdata[i]);
	if (rows->len == q->limit) {
		char *next = g_strdup_printf(
		        "%" G_GINT64_FORMAT, row_id(q->kind, rows->pdata[rows->len - 1]));
		soup_message_headers_replace(hd, "X-Next-After", next);
		g_free(next);
	}
	soup_message_headers_replace(
	        hd, "Content-Disposition", "attachment; filename=\"cdrs.csv\"");
	soup_server_message_set_status(q->msg, SOUP_STATUS_OK, NULL);
	len = c.out->len;
	soup_server_message_set_response(q->msg, "text/csv; charset=utf-8; header=present",
	        SOUP_MEMORY_TAKE, g_string_free(c.out, FALSE), len);
}

/* ---- the query --------------------------------------------------------------- */

static void unavailable(SoupServerMessage *msg, const char *why)
{
	soup_message_headers_replace(
	        soup_server_message_get_response_headers(msg), "Retry-After", RETRY_AFTER);
	ce_http_reply_error(msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "store_unavailable",
	        "the history cannot be read now: %s", why);
}

static void on_finished(SoupServerMessage *msg, gpointer data)
{
	struct hq *q = data;

	q->gone = true;
}

static void on_rows(int err, GPtrArray *rows, const GError *error, void *arg)
{
	struct hq *q = arg;

	if (!q->h || q->gone)
		return;
	if (err == -ENOTCONN || err == -ETIMEDOUT)
		unavailable(q->msg, error ? error->message : g_strerror(-err));
	else if (err)
		ce_http_reply_error(q->msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "store_error",
		        "the store could not read the history: %s",
		        error ? error->message : g_strerror(-err));
	else if (q->csv)
		reply_csv(q, rows);
	else
		reply_json(q, rows);
	soup_server_message_unpause(q->msg);
}

static void hq_free(void *arg)
{
	struct hq *q = arg;

	if (q->h)
		g_ptr_array_remove_fast(q->h->history, q);
	g_signal_handlers_disconnect_by_data(q->msg, q);
	g_object_unref(q->msg);
	g_free(q);
}

static void history(
        struct ce_http *h, SoupServerMessage *msg, GHashTable *query, enum history_kind kind)
{
	struct ce_store *st = ce_store_of(h->ce);
	struct hq *q = g_new0(struct hq, 1);
	struct ce_history_filter f;
	char *why = NULL;
	int r;

	q->kind = kind;
	q->msg = g_object_ref(msg);
	if (!read_filter(q, query, &f, &why)) {
		ce_http_reply_error(msg, SOUP_STATUS_BAD_REQUEST, "bad_request", "%s", why);
	} else if (!st) {
		ce_http_reply_error(msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "no_store",
		        "no [store] is configured: there is no history");
	} else if (!ce_store_is_up(st)) {
		unavailable(msg, "the database is unreachable");
	} else {
		/* the answer comes on a later turn of the main loop, never from inside */
		r = kind == HISTORY_EVENTS ? ce_store_list_events(st, &f, on_rows, q, hq_free)
		                           : ce_store_list_cdrs(st, &f, on_rows, q, hq_free);
		if (r == 0) {
			if (!h->history)
				h->history = g_ptr_array_new();
			q->h = h;
			g_ptr_array_add(h->history, q);
			g_signal_connect(msg, "finished", G_CALLBACK(on_finished), q);
			soup_server_message_pause(msg);
			q = NULL; /* the store's until hq_free */
		} else {
			ce_http_reply_error(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "store_error",
			        "the store refused the query: %s", g_strerror(-r));
		}
	}
	if (q)
		hq_free(q);
	g_free(why);
}

/** GET /api/v1/history/events: stored events (JSON), filtered and paged. */
void ce_http_history_events(struct ce_http *h, SoupServerMessage *msg, GHashTable *query)
{
	history(h, msg, query, HISTORY_EVENTS);
}

/** GET /api/v1/history/cdrs: stored CDRs, as JSON or CSV. */
void ce_http_history_cdrs(struct ce_http *h, SoupServerMessage *msg, GHashTable *query)
{
	history(h, msg, query, HISTORY_CDRS);
}

/** The module stops: queries still with the store answer nobody. */
void ce_http_history_stop(struct ce_http *h)
{
	for (guint i = 0; h->history && i < h->history->len; i++)
		((struct hq *)h->history->pdata[i])->h = NULL;
	g_clear_pointer(&h->history, g_ptr_array_unref);
}
