/* http-schedule.c - /api/v1/conferences: the schedule listed, booked, changed, cancelled, deleted
 */
#define G_LOG_DOMAIN "http"

#include <errno.h>
#include <string.h>

#include "conf-engine/config.h"
#include "modules/store/store.h"
#include "engine.h"
#include "http-schedule.h"

/*
 * The rows of the store's conferences and participants tables, the very
 * rows the schedule module admits callers by.  No query runs on the main
 * loop: the handler checks what it can at once (path, method, role, body),
 * pauses the message, hands the query to the store's workers and answers
 * when the store calls back:
 *
 *   POST /api/v1/conferences HTTP/1.1
 *   Authorization: Bearer s3cret
 *   Content-Type: application/json
 *
 *   {"access_number":"800","pin":"1234","starts_at":"2026-11-23T10:00:00+01:00",
 *    "ends_at":"2026-11-23T11:00:00+01:00","time_zone":"Europe/Berlin"}
 *
 *   HTTP/1.1 201 Created
 *
 *   {"id":7,"status":"scheduled","access_number":"800",...}
 *
 * A change reads the row first (404 when there is none), applies the body
 * and writes the whole row back; a booking that meets another of its
 * access number or room is refused by the store in the same transaction
 * as the write (409).  Every write done is logged at NOTE with the token's
 * name.  A store that is down answers 503 with Retry-After at once.
 */

#define PREFIX        "/api/v1/conferences"
#define LIST_DEFAULT  50
#define LIST_MAX      500
#define OFFSET_MAX    1000000
#define RETRY_AFTER_S "5"
#define DEF_DURATION  168 /* [http] max_duration, hours */

enum op {
	OP_LIST,
	OP_GET,
	OP_CREATE,
	OP_PUT,
	OP_PATCH,
	OP_CANCEL,
	OP_DELETE,
	OP_PARTS,
	OP_PART_ADD,
	OP_PART_DELETE,
};

/* What a path looks like after the prefix: '#' is an id. */
enum shape { S_ALL, S_ONE, S_CANCEL, S_PARTS, S_PART, S_N };

static const char *const allowed[S_N] = {
        [S_ALL] = "GET, POST",
        [S_ONE] = "GET, PUT, PATCH, DELETE",
        [S_CANCEL] = "POST",
        [S_PARTS] = "GET, POST",
        [S_PART] = "DELETE",
};

struct endpoint {
	enum shape shape;
	const char *method;
	enum op op;
	bool admin;
	bool body;
};

static const struct endpoint endpoints[] = {
        {S_ALL, "GET", OP_LIST, false, false},
        {S_ALL, "POST", OP_CREATE, true, true},
        {S_ONE, "GET", OP_GET, false, false},
        {S_ONE, "PUT", OP_PUT, true, true},
        {S_ONE, "PATCH", OP_PATCH, true, true},
        {S_ONE, "DELETE", OP_DELETE, true, false},
        {S_CANCEL, "POST", OP_CANCEL, true, false},
        {S_PARTS, "GET", OP_PARTS, false, false},
        {S_PARTS, "POST", OP_PART_ADD, true, true},
        {S_PART, "DELETE", OP_PART_DELETE, true, false},
};

/* One request, from its arrival until the store's last answer. */
struct call {
	int refs;               /* the handler's and each store job's */
	struct ce_http *h;      /* NULL: the module stopped */
	SoupServerMessage *msg; /* a reference */
	bool gone;              /* the message finished (the client went), or was answered */
	enum op op;
	char *token;
	bool admin;
	gint64 id, pid;
	struct ce_conference_query q;
	JsonObject *body;
	struct ce_conference *conf; /* the row read, then as written */
	struct ce_participant *part;
};

static void on_finished(SoupServerMessage *msg, gpointer data)
{
	struct call *c = data;

	c->gone = true;
	g_signal_handlers_disconnect_by_data(msg, c);
}

static struct call *call_ref(struct call *c)
{
	c->refs++;
	return c;
}

static void call_unref(gpointer data)
{
	struct call *c = data;

	if (--c->refs)
		return;
	if (c->h)
		g_ptr_array_remove_fast(c->h->sched_calls, c);
	if (!c->gone)
		g_signal_handlers_disconnect_by_data(c->msg, c);
	g_object_unref(c->msg);
	g_free(c->token);
	g_free((char *)c->q.number);
	if (c->body)
		json_object_unref(c->body);
	ce_conference_unref(c->conf);
	ce_participant_free(c->part);
	g_free(c);
}

/* The message can still be answered (not yet, and the client is there). */
static bool live(const struct call *c)
{
	return c->h && !c->gone;
}

/* After an answer set on a paused message: send it, and touch the message no more. */
static void sent(struct call *c)
{
	soup_server_message_unpause(c->msg);
	g_signal_handlers_disconnect_by_data(c->msg, c);
	c->gone = true;
}

static void reply_unavailable(SoupServerMessage *msg, const char *why)
{
	soup_message_headers_replace(
	        soup_server_message_get_response_headers(msg), "Retry-After", RETRY_AFTER_S);
	ce_http_reply_error(msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "store_unavailable",
	        "the database cannot answer now (%s); try again", why);
}

/* The answer to a store error @err (@error its text, or NULL). */
static void reply_store_error(struct call *c, int err, const GError *error)
{
	const char *text = error ? error->message : g_strerror(-err);

	if (err == -ENOTCONN || err == -ETIMEDOUT)
		reply_unavailable(c->msg, text);
	else if (err == -ENOENT && c->op == OP_PART_DELETE)
		ce_http_reply_error(c->msg, SOUP_STATUS_NOT_FOUND, "not_found",
		        "no participant %" G_GINT64_FORMAT " of conference %" G_GINT64_FORMAT,
		        c->pid, c->id);
	else if (err == -ENOENT)
		ce_http_reply_error(c->msg, SOUP_STATUS_NOT_FOUND, "not_found",
		        "no conference %" G_GINT64_FORMAT, c->id);
	else if (err == -ERANGE)
		ce_http_reply_error(c->msg, SOUP_STATUS_BAD_REQUEST, "bad_request",
		        "a value is out of range: %s", text);
	else
		ce_http_reply_error(c->msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "store_error",
		        "the database refused it: %s", text);
}

static void reply_conflict(struct call *c, gint64 other)
{
	ce_http_reply_error(c->msg, SOUP_STATUS_CONFLICT, "conflict",
	        "access number '%s' or room '%s' is booked at that time by conference "
	        "%" G_GINT64_FORMAT,
	        c->conf->access_number, c->conf->room, other);
}

static void reply_conference(struct call *c, guint status)
{
	JsonBuilder *b = json_builder_new();

	ce_http_conference_write(b, c->conf, c->admin);
	ce_http_reply_json(c->msg, status, json_builder_get_root(b));
	g_object_unref(b);
}

static void reply_deleted(struct call *c)
{
	JsonBuilder *b = json_builder_new();

	json_builder_begin_object(b);
	ce_http_add_int(b, "id", c->op == OP_DELETE ? c->id : c->pid);
	ce_http_add_bool(b, "deleted", TRUE);
	json_builder_end_object(b);
	ce_http_reply_json(c->msg, SOUP_STATUS_OK, json_builder_get_root(b));
	g_object_unref(b);
}

/* {"conferences":[...],"limit":N,"offset":N,"next_offset":N|null}; @rows holds one more than a page
 * when there is more */
static void reply_list(struct call *c, GPtrArray *rows)
{
	JsonBuilder *b = json_builder_new();
	guint n = MIN(rows->len, c->q.limit - 1);

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "conferences");
	json_builder_begin_array(b);
	for (guint i = 0; i < n; i++)
		ce_http_conference_write(b, g_ptr_array_index(rows, i), c->admin);
	json_builder_end_array(b);
	ce_http_add_int(b, "limit", c->q.limit - 1);
	ce_http_add_int(b, "offset", c->q.offset);
	json_builder_set_member_name(b, "next_offset");
	if (rows->len > n)
		json_builder_add_int_value(b, (gint64)c->q.offset + n);
	else
		json_builder_add_null_value(b);
	json_builder_end_object(b);
	ce_http_reply_json(c->msg, SOUP_STATUS_OK, json_builder_get_root(b));
	g_object_unref(b);
}

static void reply_participants(struct call *c, GPtrArray *rows)
{
	JsonBuilder *b = json_builder_new();

	json_builder_begin_object(b);
	ce_http_add_int(b, "conference_id", c->id);
	json_builder_set_member_name(b, "participants");
	json_builder_begin_array(b);
	for (guint i = 0; i < rows->len; i++)
		ce_http_participant_write(b, g_ptr_array_index(rows, i), c->admin);
	json_builder_end_array(b);
	json_builder_end_object(b);
	ce_http_reply_json(c->msg, SOUP_STATUS_OK, json_builder_get_root(b));
	g_object_unref(b);
}

static void reply_participant(struct call *c)
{
	JsonBuilder *b = json_builder_new();

	ce_http_participant_write(b, c->part, c->admin);
	ce_http_reply_json(c->msg, SOUP_STATUS_CREATED, json_builder_get_root(b));
	g_object_unref(b);
}

static gint64 max_duration(struct ce_http *h)
{
	return (gint64)ce_config_get_int(ce_engine_config(h->ce), CE_HTTP_SECTION, "max_duration",
	               DEF_DURATION, 1, 87600) *
	       3600 * G_USEC_PER_SEC;
}

static void log_conference(struct call *c, const char *done)
{
	char *from = ce_http_time_text(c->conf->starts_at, NULL);
	char *to = ce_http_time_text(c->conf->ends_at, NULL);

	g_message("HTTP token '%s': conference %" G_GINT64_FORMAT " %s: number %s, room %s, %s..%s",
	        c->token, c->conf->id, done, c->conf->access_number, c->conf->room, from, to);
	g_free(from);
	g_free(to);
}

/* The NOTE line of a write done. */
static void log_write(struct call *c)
{
	static const char *const done[] = {[OP_CREATE] = "created",
	        [OP_PUT] = "replaced",
	        [OP_PATCH] = "changed",
	        [OP_CANCEL] = "cancelled",
	        [OP_DELETE] = "deleted",
	        [OP_PART_ADD] = "participant added",
	        [OP_PART_DELETE] = "participant deleted"};

	if (c->op == OP_PART_ADD || c->op == OP_PART_DELETE)
		g_message("HTTP token '%s': conference %" G_GINT64_FORMAT " %s: %" G_GINT64_FORMAT
		          "%s%s",
		        c->token, c->id, done[c->op], c->op == OP_PART_ADD ? c->part->id : c->pid,
		        c->part && c->part->dial_out ? " dial-out " : "",
		        c->part && c->part->dial_out ? c->part->address : "");
	else if (c->conf)
		log_conference(c, done[c->op]);
	else
		g_message("HTTP token '%s': conference %" G_GINT64_FORMAT " %s", c->token, c->id,
		        done[c->op]);
}

/* A write answered by the store: the id written, or why not. */
static void on_written(int err, gint64 id, const GError *error, void *arg)
{
	struct call *c = arg;

	if (!live(c))
		return;
	if (err == -EBUSY) {
		reply_conflict(c, id);
	} else if (err) {
		reply_store_error(c, err, error);
	} else {
		if (c->op == OP_PART_ADD)
			c->part->id = id;
		else if (c->conf)
			c->conf->id = id;
		log_write(c);
		if (c->op == OP_DELETE || c->op == OP_PART_DELETE)
			reply_deleted(c);
		else if (c->op == OP_PART_ADD)
			reply_participant(c);
		else
			reply_conference(
			        c, c->op == OP_CREATE ? SOUP_STATUS_CREATED : SOUP_STATUS_OK);
	}
	sent(c);
}

static void on_participants(int err, GPtrArray *rows, void *arg)
{
	struct call *c = arg;

	if (!live(c))
		return;
	if (err)
		reply_store_error(c, err, NULL);
	else
		reply_participants(c, rows);
	sent(c);
}

/* The next step once the conference's row is read: 0, or a store error to answer. */
static int next_step(struct call *c)
{
	struct ce_store *st = ce_store_of(c->h->ce);
	GString *why;
	int r;

	switch (c->op) {
	case OP_PARTS:
		r = ce_store_list_participants(st, c->id, on_participants, call_ref(c), call_unref);
		break;
	case OP_PART_ADD:
		c->part->conference_id = c->id;
		r = ce_store_put_participant(st, c->part, on_written, call_ref(c), call_unref);
		break;
	case OP_CANCEL:
		if (c->conf->cancelled) {
			reply_conference(c, SOUP_STATUS_OK); /* cancelled already: nothing to do */
			return 1;
		}
		c->conf->cancelled = true;
		r = ce_store_save_conference(st, c->conf, on_written, call_ref(c), call_unref);
		break;
	default: /* PUT, PATCH */
		why = g_string_new(NULL);
		if (!ce_http_conference_read(c->body, c->conf, c->op == OP_PUT,
		            ce_engine_now(c->h->ce), max_duration(c->h), why)) {
			ce_http_reply_error(
			        c->msg, SOUP_STATUS_BAD_REQUEST, "bad_request", "%s", why->str);
			g_string_free(why, TRUE);
			return 1;
		}
		g_string_free(why, TRUE);
		r = ce_store_save_conference(st, c->conf, on_written, call_ref(c), call_unref);
		break;
	}
	if (r < 0)
		call_unref(c); /* the store did not take it */
	return r;
}

/*
 * A PUT starts from the schema's defaults: what the body leaves out is
 * reset, except what the API does not write (the row's id, whether it is
 * cancelled, its record_file and options).
 */
static struct ce_conference *put_base(const struct ce_conference *row)
{
	struct ce_conference *c = ce_conference_new();

	c->id = row->id;
	c->cancelled = row->cancelled;
	c->record_file = g_strdup(row->record_file);
	c->options = g_strdup(row->options);
	return c;
}

/* The conference rows the store read. */
static void on_rows(int err, GPtrArray *rows, void *arg)
{
	struct call *c = arg;
	int r;

	if (!live(c))
		return;
	if (err) {
		reply_store_error(c, err, NULL);
	} else if (c->op == OP_LIST) {
		reply_list(c, rows);
	} else if (!rows->len) {
		reply_store_error(c, -ENOENT, NULL);
	} else if (c->op == OP_GET) {
		c->conf = ce_conference_ref(g_ptr_array_index(rows, 0));
		reply_conference(c, SOUP_STATUS_OK);
	} else {
		c->conf = c->op == OP_PUT ? put_base(g_ptr_array_index(rows, 0))
		                          : ce_conference_dup(g_ptr_array_index(rows, 0));
		r = next_step(c);
		if (r == 0)
			return; /* the store has it */
		if (r < 0)
			reply_store_error(c, r, NULL);
	}
	sent(c);
}

/* An id in a path: 1 to 2^63-1, decimal. */
static bool parse_id(const char *s, gint64 *id)
{
	guint64 v;

	if (!g_ascii_isdigit(*s) || !g_ascii_string_to_unsigned(s, 10, 1, G_MAXINT64, &v, NULL))
		return false;
	*id = (gint64)v;
	return true;
}

/* The shape of @rest (the path after the prefix) and its ids; -1: no such path. */
static int parse_path(const char *rest, gint64 *id, gint64 *pid)
{
	char **p;
	int shape = -1;
	guint n;

	if (!*rest)
		return S_ALL;
	if (*rest != '/')
		return -1;
	p = g_strsplit(rest + 1, "/", 4);
	n = g_strv_length(p);
	if (n >= 1 && parse_id(p[0], id)) {
		if (n == 1)
			shape = S_ONE;
		else if (n == 2 && !strcmp(p[1], "cancel"))
			shape = S_CANCEL;
		else if (n == 2 && !strcmp(p[1], "participants"))
			shape = S_PARTS;
		else if (n == 3 && !strcmp(p[1], "participants") && parse_id(p[2], pid))
			shape = S_PART;
	}
	g_strfreev(p);
	return shape;
}

/* ?from=&to=&number=&status=&limit=&offset= into c->q; false with the 400 answered. */
static bool read_query(struct call *c, GHashTable *query)
{
	static const char *const known[] = {
	        "from", "to", "number", "status", "limit", "offset", NULL};
	const char *status = query ? g_hash_table_lookup(query, "status") : NULL;
	const char *bad = NULL, *v;
	GHashTableIter it;
	gpointer key;
	guint64 n;

	c->q = (struct ce_conference_query){.cancelled = -1, .limit = LIST_DEFAULT};
	if (query) {
		g_hash_table_iter_init(&it, query);
		while (!bad && g_hash_table_iter_next(&it, &key, NULL))
			bad = g_strv_contains(known, key) ? NULL : key;
	}
	if (bad) {
		ce_http_reply_error(c->msg, SOUP_STATUS_BAD_REQUEST, "bad_request",
		        "unknown parameter '%s' (from, to, number, status, limit, offset)", bad);
		return false;
	}
	if (status && strcmp(status, "all"))
		c->q.cancelled = !strcmp(status, "cancelled")   ? 1
		                 : !strcmp(status, "scheduled") ? 0
		                                                : 2;
	if ((v = query ? g_hash_table_lookup(query, "from") : NULL) &&
	        !ce_http_time_parse(v, &c->q.from))
		bad = "'from' is an RFC 3339 time with a zone or offset";
	else if ((v = query ? g_hash_table_lookup(query, "to") : NULL) &&
	         !ce_http_time_parse(v, &c->q.to))
		bad = "'to' is an RFC 3339 time with a zone or offset";
	else if (c->q.cancelled == 2)
		bad = "'status' is scheduled, cancelled or all";
	else if ((v = query ? g_hash_table_lookup(query, "limit") : NULL) &&
	         !g_ascii_string_to_unsigned(v, 10, 1, LIST_MAX, &n, NULL))
		bad = "'limit' is an integer from 1 to " G_STRINGIFY(LIST_MAX);
	else if (v)
		c->q.limit = (unsigned)n;
	if (!bad && (v = query ? g_hash_table_lookup(query, "offset") : NULL) &&
	        !g_ascii_string_to_unsigned(v, 10, 0, OFFSET_MAX, &n, NULL))
		bad = "'offset' is an integer from 0 to " G_STRINGIFY(OFFSET_MAX);
	else if (!bad && v)
		c->q.offset = (unsigned)n;
	v = query ? g_hash_table_lookup(query, "number") : NULL;
	if (!bad && v && (!*v || strlen(v) > CE_STORE_ACCESS_MAX))
		bad = "'number' is an access number";
	if (bad) {
		ce_http_reply_error(c->msg, SOUP_STATUS_BAD_REQUEST, "bad_request", "%s", bad);
		return false;
	}
	c->q.number = g_strdup(v);
	c->q.limit++; /* one more: is there a next page? */
	return true;
}

/* What the request says, checked before the store is asked; false: answered. */
static bool prepare(struct call *c, GHashTable *query)
{
	GString *why;
	bool ok = true;

	if (c->op == OP_LIST)
		return read_query(c, query);
	if (c->op == OP_CREATE || c->op == OP_PUT || c->op == OP_PATCH || c->op == OP_PART_ADD) {
		c->body = ce_http_body_object(c->msg);
		if (!c->body)
			return false;
	}
	why = g_string_new(NULL);
	if (c->op == OP_CREATE) {
		c->conf = ce_conference_new();
		ok = ce_http_conference_read(
		        c->body, c->conf, true, ce_engine_now(c->h->ce), max_duration(c->h), why);
	} else if (c->op == OP_PART_ADD) {
		c->part = g_new0(struct ce_participant, 1);
		ok = ce_http_participant_read(c->body, c->part, why);
	}
	if (!ok)
		ce_http_reply_error(c->msg, SOUP_STATUS_BAD_REQUEST, "bad_request", "%s", why->str);
	g_string_free(why, TRUE);
	return ok;
}

/* The first query of the request; 0: the store has it. */
static int submit(struct call *c)
{
	struct ce_store *st = ce_store_of(c->h->ce);
	struct ce_conference_query one = {.id = c->id, .cancelled = -1, .limit = 1};
	int r;

	call_ref(c);
	switch (c->op) {
	case OP_LIST:
		r = ce_store_query_conferences(st, &c->q, on_rows, c, call_unref);
		break;
	case OP_CREATE:
		r = ce_store_save_conference(st, c->conf, on_written, c, call_unref);
		break;
	case OP_DELETE:
		r = ce_store_delete_conference(st, c->id, on_written, c, call_unref);
		break;
	case OP_PART_DELETE:
		r = ce_store_delete_participant(st, c->id, c->pid, on_written, c, call_unref);
		break;
	default: /* the conference's row first */
		r = ce_store_query_conferences(st, &one, on_rows, c, call_unref);
		break;
	}
	if (r < 0)
		c->refs--; /* the store did not take it */
	return r;
}

static const struct endpoint *endpoint_of(enum shape shape, const char *method)
{
	for (unsigned i = 0; i < G_N_ELEMENTS(endpoints); i++) {
		if (endpoints[i].shape == shape && !strcmp(endpoints[i].method, method))
			return &endpoints[i];
	}
	return NULL;
}

/* Path, method and role; the endpoint, or NULL with the refusal answered. */
static const struct endpoint *check(SoupServerMessage *msg, const char *path,
        const struct ce_http_token *t, gint64 *id, gint64 *pid)
{
	const char *method = soup_server_message_get_method(msg);
	int shape = parse_path(path + strlen(PREFIX), id, pid);
	const struct endpoint *e = shape < 0 ? NULL : endpoint_of(shape, method);

	if (shape < 0) {
		ce_http_reply_error(msg, SOUP_STATUS_NOT_FOUND, "not_found", "no such path");
	} else if (!e) {
		soup_message_headers_replace(
		        soup_server_message_get_response_headers(msg), "Allow", allowed[shape]);
		ce_http_reply_error(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "method_not_allowed",
		        "%s is not allowed here (%s)", method, allowed[shape]);
	} else if (e->admin && !t->admin) {
		ce_http_reply_error(msg, SOUP_STATUS_FORBIDDEN, "forbidden",
		        "token '%s' may only read", t->name);
		e = NULL;
	}
	return e;
}

/*
 * The store there and up, or the 503 answered: no store configured, or
 * one that cannot reach its database now (Retry-After).
 */
static bool store_ready(struct ce_http *h, SoupServerMessage *msg)
{
	struct ce_store *st = ce_store_of(h->ce);

	if (!st)
		ce_http_reply_error(msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "no_store",
		        "the engine has no [store]: there is no schedule");
	else if (!ce_store_is_up(st))
		reply_unavailable(msg, "the database is down");
	return st && ce_store_is_up(st);
}

/**
 * Answer @msg if @path is the schedule's (/api/v1/conferences...); false,
 * without answering, when it is not.  @t: the token (a write needs admin).
 * The answer may come later, when the store has answered: the message
 * waits paused meanwhile, and the main loop goes on.
 */
bool ce_http_schedule(struct ce_http *h, SoupServerMessage *msg, const char *path,
        GHashTable *query, const struct ce_http_token *t)
{
	const struct endpoint *e;
	struct call *c;
	gint64 id = 0, pid = 0;
	int r;

	if (strcmp(path, PREFIX) && !g_str_has_prefix(path, PREFIX "/"))
		return false;
	e = check(msg, path, t, &id, &pid);
	if (!e || !store_ready(h, msg))
		return true;
	c = g_new0(struct call, 1);
	*c = (struct call){.refs = 1,
	        .h = h,
	        .msg = g_object_ref(msg),
	        .op = e->op,
	        .token = g_strdup(t->name),
	        .admin = t->admin,
	        .id = id,
	        .pid = pid};
	g_ptr_array_add(h->sched_calls, c);
	g_signal_connect(msg, "finished", G_CALLBACK(on_finished), c);
	if (prepare(c, query)) {
		r = submit(c);
		if (r == 0)
			soup_server_message_pause(msg);
		else
			reply_store_error(c, r, NULL);
	}
	call_unref(c);
	return true;
}

/** The module stops: requests still waiting for the store are forgotten (the server closes them).
 */
void ce_http_schedule_stop(struct ce_http *h)
{
	while (h->sched_calls->len) {
		struct call *c = g_ptr_array_steal_index_fast(h->sched_calls, 0);

		if (!c->gone)
			g_signal_handlers_disconnect_by_data(c->msg, c);
		c->gone = true;
		c->h = NULL;
	}
}
