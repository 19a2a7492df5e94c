/* http-calls.c - /api/v1/calls: "call this number into that room", and what became of it */
#define G_LOG_DOMAIN "http"

#include <errno.h>
#include <string.h>

#include "conf-engine/config.h"
#include "modules/conference/conference.h"
#include "modules/monitor/events.h"
#include "dial.h"
#include "engine.h"
#include "http-schedule.h"
#include "http.h"
#include "message.h"

/*
 * An admin token places a call through the engine's dialer (dial.h, the
 * same dial-out as the schedule's) and is answered at once:
 *
 *   POST /api/v1/calls HTTP/1.1
 *   Authorization: Bearer s3cret
 *
 *   {"number":"9001","room":"800","timeout_s":30}
 *
 *   HTTP/1.1 202 Accepted
 *   Location: /api/v1/calls/7
 *
 *   {"id":7,"state":"dialing","number":"9001","room":"800",...}
 *
 * Then GET /api/v1/calls/7 (any token), and a "call" line on the event
 * stream at each change: dialing -> answered (in the room, "leg" is its
 * dumb/N) -> ended; or dialing -> failed with a "reason" a program can act
 * on (reason_of() maps Yate's error; "detail" keeps Yate's own words).
 * The room must exist (a live room, someone in it): the call is placed
 * with existing=true, so a room that closes meanwhile refuses it.
 * At most max_calls are dialing at once (max_room_calls into one room):
 * past that 503 with Retry-After, never a queue.  Finished calls are kept
 * call_keep seconds, at most call_history of them.
 */

#define ANSWER_TIMEOUT_MS 10000 /* Yate's answer to the dial-out's call.execute */

enum call_state { DIALING, ANSWERED, FAILED, ENDED };
static const char *const state_names[] = {"dialing", "answered", "failed", "ended"};

struct outcall {
	struct ce_http *h;
	gint64 id;
	unsigned dial; /* the dialer's number while it is followed; 0: over */
	enum call_state state;
	bool ringing;
	struct ce_http_call_req req;
	char *token; /* who placed it */
	char *leg;   /* dumb/N once Yate placed it */
	char *reason, *detail;
	gint64 created, answered, ended; /* unix us; 0: not yet */
};

/* What a program can act on, from Yate's error (ysipchan's dict_errors, Channel::checkTimers,
 * regfile, dumbchan's missing route); anything else is "error". */
static const struct {
	const char *yate, *reason;
} reasons[] = {
        {"busy", "busy"},
        {"noanswer", "noanswer"},
        {"timeout", "noanswer"},
        {"postdialdelay", "noanswer"},
        {"noroute", "badnumber"},
        {"incomplete", "badnumber"},
        {"unallocated", "badnumber"},
        {"moved", "badnumber"},
        {"offline", "unreachable"},
        {"noconn", "unreachable"},
        {"congestion", "unreachable"},
        {"service-unavailable", "unreachable"},
        {"noresource", "unreachable"},
        {"rejected", "rejected"},
        {"forbidden", "rejected"},
        {"declined", "rejected"},
};

static const char *reason_of(const char *error)
{
	for (unsigned i = 0; error && i < G_N_ELEMENTS(reasons); i++) {
		if (!strcmp(error, reasons[i].yate))
			return reasons[i].reason;
	}
	return "error";
}

static void outcall_free(gpointer data)
{
	struct outcall *c = data;

	if (c->dial && c->h->dialer)
		ce_dial_cancel(c->h->dialer, c->dial, "hangup");
	ce_http_call_req_clear(&c->req);
	g_free(c->token);
	g_free(c->leg);
	g_free(c->reason);
	g_free(c->detail);
	g_free(c);
}

static const char *dialled(const struct outcall *c)
{
	return c->req.number ? c->req.number : c->req.target;
}

static void add_time(JsonBuilder *b, const char *name, gint64 us)
{
	char *s = us ? ce_http_time_text(us, NULL) : NULL;

	ce_http_add_str(b, name, s);
	g_free(s);
}

static void write_call(JsonBuilder *b, const struct outcall *c)
{
	json_builder_begin_object(b);
	ce_http_add_int(b, "id", c->id);
	ce_http_add_str(b, "state", state_names[c->state]);
	ce_http_add_str(b, "number", c->req.number);
	ce_http_add_str(b, "target", c->req.target);
	ce_http_add_str(b, "room", c->req.room);
	ce_http_add_str(b, "role", ce_role_name(c->req.role));
	ce_http_add_str(b, "name", c->req.name);
	ce_http_add_str(b, "caller_name", c->req.caller_name);
	ce_http_add_int(b, "timeout_s", c->req.timeout_s);
	ce_http_add_bool(b, "ringing", c->ringing);
	ce_http_add_str(b, "leg", c->leg);
	ce_http_add_str(b, "reason", c->reason);
	ce_http_add_str(b, "detail", c->detail);
	ce_http_add_str(b, "token", c->token);
	add_time(b, "created", c->created);
	add_time(b, "answered", c->answered);
	add_time(b, "ended", c->ended);
	json_builder_end_object(b);
}

/* The call as a "call" line of the event stream (the same members as GET gives). */
static void post_event(struct outcall *c)
{
	struct ce_monitor *mon = ce_monitor_service(c->h->ce);
	JsonBuilder *b = json_builder_new();
	JsonGenerator *gen = json_generator_new();
	JsonNode *root;
	char *text;

	write_call(b, c);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root); /* a copy */
	text = json_generator_to_data(gen, NULL);
	/* the object's members after its '{', led by a comma */
	text[0] = ',';
	text[strlen(text) - 1] = '\0';
	ce_monitor_post(mon, "call", c->req.room, text);
	g_free(text);
	json_node_unref(root);
	g_object_unref(gen);
	g_object_unref(b);
}

/* Forget finished calls older than call_keep, then the oldest past call_history. */
static void prune(struct ce_http *h)
{
	gint64 now = ce_engine_now(h->ce);
	GHashTableIter it;
	gpointer v;
	guint finished = 0;
	gint64 oldest_id;
	struct outcall *oldest;

	g_hash_table_iter_init(&it, h->calls);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct outcall *c = v;
		if (c->ended && now - c->ended > h->call_keep_us)
			g_hash_table_iter_remove(&it);
		else if (c->ended)
			finished++;
	}
	while (finished > h->call_history) {
		oldest = NULL;
		oldest_id = G_MAXINT64;
		g_hash_table_iter_init(&it, h->calls);
		while (g_hash_table_iter_next(&it, NULL, &v)) {
			struct outcall *c = v;
			if (c->ended && c->id < oldest_id) {
				oldest = c;
				oldest_id = c->id;
			}
		}
		g_hash_table_remove(h->calls, &oldest->id);
		finished--;
	}
}

static void finish(struct outcall *c, enum call_state st, const char *reason, const char *detail)
{
	c->dial = 0;
	c->state = st;
	c->ringing = false;
	c->ended = ce_engine_now(c->h->ce);
	g_free(c->reason);
	c->reason = g_strdup(reason);
	g_free(c->detail);
	c->detail = g_strdup(detail);
}

/* What became of the call @arg (dial.h). */
static void on_dial(const struct ce_dial_report *r, void *arg)
{
	struct outcall *c = arg;
	char *detail;

	if (r->id && !c->leg)
		c->leg = g_strdup(r->id);
	switch (r->state) {
	case CE_DIAL_RINGING:
		c->ringing = true;
		g_info("call %" G_GINT64_FORMAT " to %s rings on %s", c->id, dialled(c), r->id);
		return; /* still dialing: no event */
	case CE_DIAL_CONNECTED:
		c->state = ANSWERED;
		c->ringing = false;
		c->answered = ce_engine_now(c->h->ce);
		g_message("call %" G_GINT64_FORMAT " to %s answered: %s joins room %s", c->id,
		        dialled(c), r->id, c->req.room);
		break;
	case CE_DIAL_FAILED:
		/* Yate's error, and its reason text when that says more */
		detail = r->detail && strcmp(r->detail, r->why)
		                 ? g_strdup_printf("%s (%s)", r->why, r->detail)
		                 : g_strdup(r->why);
		finish(c, FAILED, reason_of(r->why), detail);
		g_free(detail);
		g_message("call %" G_GINT64_FORMAT " to %s for room %s failed: %s (%s)", c->id,
		        dialled(c), c->req.room, c->reason, c->detail);
		break;
	case CE_DIAL_ENDED:
		finish(c, ENDED, r->why ? r->why : "hangup", NULL);
		g_info("call %" G_GINT64_FORMAT " to %s ended: %s", c->id, dialled(c), c->reason);
		break;
	}
	post_event(c);
	prune(c->h);
}

static void room_seen(const struct ce_conference_room_info *room, void *arg)
{
	(void)room;
	(void)arg;
}

static void leg_seen(const struct ce_conference_leg_info *leg, void *arg)
{
	(void)leg;
	(void)arg;
}

/* Calls dialing now, in all and into @room; and in how many seconds the first gives up. */
static unsigned dialing(struct ce_http *h, const char *room, unsigned *in_room, gint64 *first_s)
{
	gint64 now = ce_engine_now(h->ce);
	GHashTableIter it;
	gpointer v;
	unsigned n = 0;

	*in_room = 0;
	*first_s = CE_HTTP_RING_MAX;
	g_hash_table_iter_init(&it, h->calls);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct outcall *c = v;
		gint64 left;
		if (c->state != DIALING)
			continue;
		n++;
		if (!strcmp(c->req.room, room))
			(*in_room)++;
		left = (c->created - now) / G_USEC_PER_SEC + c->req.timeout_s;
		*first_s = MAX(1, MIN(*first_s, left));
	}
	return n;
}

/* 503 with Retry-After when @r would pass max_calls or max_room_calls; true: answered. */
static bool over_limit(struct ce_http *h, SoupServerMessage *msg, const struct ce_http_call_req *r)
{
	unsigned in_room;
	gint64 wait_s;
	unsigned all = dialing(h, r->room, &in_room, &wait_s);
	char *after;

	if (all < h->max_calls && in_room < h->max_room_calls)
		return false;
	after = g_strdup_printf("%" G_GINT64_FORMAT, wait_s);
	soup_message_headers_replace(
	        soup_server_message_get_response_headers(msg), "Retry-After", after);
	g_free(after);
	if (all >= h->max_calls)
		ce_http_reply_error(msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "busy",
		        "%u calls are dialing, the most there may be ([http] max_calls)", all);
	else
		ce_http_reply_error(msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "busy",
		        "%u calls are dialing into room '%s', the most there may be ([http] "
		        "max_room_calls)",
		        in_room, r->room);
	return true;
}

static void place(struct ce_http *h, struct outcall *c)
{
	const struct ce_dial_to to = {
	        .address = dialled(c),
	        .room = c->req.room,
	        .caller = c->req.room,
	        .caller_name = c->req.caller_name,
	        .ring_ms = (unsigned)c->req.timeout_s * 1000,
	};
	struct ce_msg *m;

	if (ce_dial_msg_new(&m, &to) < 0)
		return;
	ce_msg_set(m, "existing", "true"); /* the room was there when asked: never a new one */
	if (c->req.name)
		ce_msg_set(m, "participant_name", c->req.name);
	ce_msg_set(m, "participant_role", ce_role_name(c->req.role));
	if (c->req.role == CE_ROLE_LISTENER)
		ce_msg_set(m, "voice", "false");
	ce_msg_set(m, "participant_number", dialled(c));
	ce_msg_set(m, "participant_direction", "out");
	c->dial = ce_dial_place(h->dialer, m, ANSWER_TIMEOUT_MS, on_dial, c);
	ce_msg_unref(m);
}

static void reply_call(SoupServerMessage *msg, guint status, const struct outcall *c)
{
	JsonBuilder *b = json_builder_new();

	write_call(b, c);
	ce_http_reply_json(msg, status, json_builder_get_root(b));
	g_object_unref(b);
}

/* POST /api/v1/calls */
static void post_call(struct ce_http *h, SoupServerMessage *msg, const struct ce_http_token *t)
{
	JsonObject *o = ce_http_body_object(msg);
	struct ce_http_call_req r = {
	        .timeout_s = (int)h->call_timeout_s, .role = CE_ROLE_PARTICIPANT};
	GString *why = g_string_new(NULL);
	struct outcall *c;
	char *where;

	if (!o)
		goto out;
	if (!ce_http_call_req_read(o, &r, why)) {
		ce_http_reply_error(msg, SOUP_STATUS_BAD_REQUEST, "bad_request", "%s", why->str);
		goto out;
	}
	if (ce_conference_room(ce_conference_service(h->ce), r.room, room_seen, leg_seen, NULL) <
	        0) {
		ce_http_reply_error(
		        msg, SOUP_STATUS_NOT_FOUND, "not_found", "no room '%s' now", r.room);
		goto out;
	}
	if (over_limit(h, msg, &r))
		goto out;
	c = g_new0(struct outcall, 1);
	c->h = h;
	c->id = ++h->call_serial;
	c->req = r;
	r = (struct ce_http_call_req){0};
	c->token = g_strdup(t->name);
	c->created = ce_engine_now(h->ce);
	g_hash_table_replace(h->calls, &c->id, c);
	g_message("token %s: call %" G_GINT64_FORMAT " to %s into room %s (ring at most %d s)",
	        t->name, c->id, dialled(c), c->req.room, c->req.timeout_s);
	post_event(c); /* dialing: before a failure that may come at once (no link to Yate) */
	place(h, c);
	where = g_strdup_printf("/api/v1/calls/%" G_GINT64_FORMAT, c->id);
	soup_message_headers_replace(
	        soup_server_message_get_response_headers(msg), "Location", where);
	g_free(where);
	reply_call(msg, SOUP_STATUS_ACCEPTED, c);
out:
	ce_http_call_req_clear(&r);
	g_string_free(why, TRUE);
	if (o)
		json_object_unref(o);
}

static gint compare_new_first(gconstpointer a, gconstpointer b)
{
	const struct outcall *x = *(struct outcall *const *)a, *y = *(struct outcall *const *)b;

	return x->id < y->id ? 1 : x->id > y->id ? -1 : 0;
}

/* GET /api/v1/calls: newest first. */
static void list_calls(struct ce_http *h, SoupServerMessage *msg)
{
	GPtrArray *all = g_ptr_array_new();
	JsonBuilder *b = json_builder_new();
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, h->calls);
	while (g_hash_table_iter_next(&it, NULL, &v))
		g_ptr_array_add(all, v);

	g_ptr_array_sort(all, compare_new_first);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "calls");
	json_builder_begin_array(b);
	for (guint i = 0; i < all->len; i++)
		write_call(b, g_ptr_array_index(all, i));
	json_builder_end_array(b);
	json_builder_end_object(b);
	ce_http_reply_json(msg, SOUP_STATUS_OK, json_builder_get_root(b));
	g_object_unref(b);
	g_ptr_array_unref(all);
}

static void get_call(struct ce_http *h, SoupServerMessage *msg, const char *id)
{
	char *end = NULL;
	gint64 n = g_ascii_strtoll(id, &end, 10);
	struct outcall *c = NULL;

	if (*id >= '0' && *id <= '9' && end && !*end)
		c = g_hash_table_lookup(h->calls, &n);
	if (c)
		reply_call(msg, SOUP_STATUS_OK, c);
	else
		ce_http_reply_error(msg, SOUP_STATUS_NOT_FOUND, "not_found",
		        "no call '%s' (finished calls are kept [http] call_keep seconds)", id);
}

static void not_allowed(SoupServerMessage *msg, const char *allow)
{
	soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow", allow);
	ce_http_reply_error(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "method_not_allowed",
	        "%s is not allowed here (%s)", soup_server_message_get_method(msg), allow);
}

/**
 * ce_http_calls() - answer @msg if @path is /api/v1/calls or /api/v1/calls/ID
 *
 * Returns false when the path is not one of them (nothing answered).
 */
bool ce_http_calls(
        struct ce_http *h, SoupServerMessage *msg, const char *path, const struct ce_http_token *t)
{
	const char *method = soup_server_message_get_method(msg);
	bool get = !strcmp(method, SOUP_METHOD_GET);

	prune(h);
	if (!strcmp(path, "/api/v1/calls")) {
		if (get)
			list_calls(h, msg);
		else if (strcmp(method, SOUP_METHOD_POST))
			not_allowed(msg, "GET, POST");
		else if (!t->admin)
			ce_http_reply_error(msg, SOUP_STATUS_FORBIDDEN, "forbidden",
			        "token '%s' may only read", t->name);
		else
			post_call(h, msg, t);
		return true;
	}
	if (!g_str_has_prefix(path, "/api/v1/calls/") || strchr(path + 14, '/'))
		return false;
	if (get)
		get_call(h, msg, path + 14);
	else
		not_allowed(msg, "GET");
	return true;
}

/** ce_http_calls_start() - [http] call keys and the dialer; 0 or -errno */
int ce_http_calls_start(struct ce_http *h, const struct ce_config *cfg)
{
	h->call_timeout_s = (unsigned)ce_config_get_int(
	        cfg, CE_HTTP_SECTION, "call_timeout", 45, CE_HTTP_RING_MIN, CE_HTTP_RING_MAX);
	h->max_calls = (unsigned)ce_config_get_int(cfg, CE_HTTP_SECTION, "max_calls", 20, 0, 10000);
	h->max_room_calls =
	        (unsigned)ce_config_get_int(cfg, CE_HTTP_SECTION, "max_room_calls", 10, 0, 10000);
	h->call_keep_us = G_USEC_PER_SEC *
	                  ce_config_get_int(cfg, CE_HTTP_SECTION, "call_keep", 3600, 10, 604800);
	h->call_history =
	        (unsigned)ce_config_get_int(cfg, CE_HTTP_SECTION, "call_history", 1000, 1, 100000);
	h->calls = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, outcall_free);
	/*
	 * Ids count on from the start time in microseconds, as the event
	 * stream's do: a restarted engine forgets its calls, and must not hand
	 * out again an id that a client still polls for the call before.
	 */
	h->call_serial = g_get_real_time();
	return ce_dialer_new(&h->dialer, ce_engine_bus(h->ce));
}

/** ce_http_calls_stop() - forget the calls (those still ringing go on in Yate) */
void ce_http_calls_stop(struct ce_http *h)
{
	g_clear_pointer(&h->dialer, ce_dialer_free); /* first: no hangup for the calls */
	g_clear_pointer(&h->calls, g_hash_table_destroy);
}
