/* http-actions.c - POST /api/v1/rooms/NAME/...: lock, end, record, and mute/deaf/kick of a leg */
#define G_LOG_DOMAIN "http"

#include <errno.h>
#include <string.h>

#include "modules/conference/conference.h"
#include "engine.h"
#include "http.h"

/*
 * The console's conf lock/unlock/kick/mute/... and record/stoprecord,
 * through the same functions (conference.h), for an admin token:
 *
 *   POST /api/v1/rooms/800/legs/dumb%2F7/mute HTTP/1.1
 *   Authorization: Bearer s3cret
 *   Content-Length: 0
 *
 *   HTTP/1.1 200 OK
 *
 *   {"name":"800",...,"legs":[{"seq":1,"id":"dumb/7","muted":true,...}]}
 *
 * A body is optional; when there is one it is a JSON object whose only
 * members are the action's: "file" (record/start), "reason" (kick, end).
 * Each action done is logged at NOTE with the token's name.
 */

enum target { ON_ROOM, ON_LEG };

struct action {
	enum target on;
	const char *path;   /* after the room (and legs/ID) */
	const char *op;     /* the console's word */
	const char *member; /* the body member it takes, or NULL */
};

static const struct action actions[] = {
        {ON_ROOM, "lock", "lock", NULL},
        {ON_ROOM, "unlock", "unlock", NULL},
        {ON_ROOM, "end", "end", "reason"},
        {ON_ROOM, "record/start", "record", "file"},
        {ON_ROOM, "record/stop", "stoprecord", NULL},
        {ON_LEG, "mute", "mute", NULL},
        {ON_LEG, "unmute", "unmute", NULL},
        {ON_LEG, "deaf", "deaf", NULL},
        {ON_LEG, "undeaf", "undeaf", NULL},
        {ON_LEG, "kick", "kick", "reason"},
};

/* A request for an action: what the path names. */
struct request {
	const struct action *a;
	char *room, *leg; /* unescaped */
};

static void request_clear(struct request *r)
{
	g_free(r->room);
	g_free(r->leg);
}

/* One percent-encoded path segment, unescaped: no NUL, @illegal or bytes that are not UTF-8. */
static char *segment(const char *s, const char *illegal)
{
	char *v = *s ? g_uri_unescape_string(s, illegal) : NULL;

	if (v && !g_utf8_validate(v, -1, NULL))
		g_clear_pointer(&v, g_free);
	return v;
}

/* The action named @act on @on, or NULL. */
static const struct action *action_of(enum target on, const char *act)
{
	for (unsigned i = 0; i < G_N_ELEMENTS(actions); i++) {
		if (actions[i].on == on && !strcmp(act, actions[i].path))
			return &actions[i];
	}
	return NULL;
}

/*
 * ROOM/ACTION or ROOM/legs/LEG/ACTION (after the rooms prefix) into @r;
 * false: not an action.  A leg's id holds a '/' (dumb/N), sent as %2F or
 * not: the leg is what lies between legs/ and the action's last word.
 */
static bool parse_path(const char *rest, struct request *r)
{
	const char *slash = strchr(rest, '/');
	const char *last = strrchr(rest, '/');
	char *room = slash ? g_strndup(rest, slash - rest) : NULL;
	char *leg = NULL;

	*r = (struct request){0};
	if (!slash)
		return false;
	if (g_str_has_prefix(slash, "/legs/") && last > slash + 6) {
		leg = g_strndup(slash + 6, last - (slash + 6));
		r->a = action_of(ON_LEG, last + 1);
	} else {
		r->a = action_of(ON_ROOM, slash + 1);
	}
	if (r->a) {
		/* a room name has no '/'; a leg's may */
		r->room = segment(room, "/");
		r->leg = leg ? segment(leg, NULL) : NULL;
		if (!r->room || (leg && !r->leg)) {
			request_clear(r);
			r->a = NULL;
		}
	}
	g_free(room);
	g_free(leg);
	return r->a != NULL;
}

/* The body: empty, or an object with at most the action's member, a string. */
static bool read_body(SoupServerMessage *msg, const struct action *a, char **value)
{
	SoupMessageBody *body = soup_server_message_get_request_body(msg);
	JsonParser *p;
	JsonObject *o;
	GList *members;
	GError *err = NULL;
	bool ok = false;

	*value = NULL;
	if (!body->length)
		return true;
	p = json_parser_new();
	if (!json_parser_load_from_data(p, body->data, body->length, &err)) {
		ce_http_reply_error(msg, SOUP_STATUS_BAD_REQUEST, "bad_json", "malformed JSON: %s",
		        err->message);
		g_error_free(err);
		goto out;
	}
	if (!JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))) {
		ce_http_reply_error(
		        msg, SOUP_STATUS_BAD_REQUEST, "bad_request", "the body is a JSON object");
		goto out;
	}
	o = json_node_get_object(json_parser_get_root(p));
	members = json_object_get_members(o);
	ok = true;
	for (GList *m = members; m && ok; m = m->next) {
		JsonNode *v = json_object_get_member(o, m->data);

		if (!a->member || strcmp(m->data, a->member)) {
			ce_http_reply_error(msg, SOUP_STATUS_BAD_REQUEST, "bad_request",
			        "unknown member '%s'%s%s", (char *)m->data,
			        a->member ? ": this action takes " : " (this action takes none)",
			        a->member ? a->member : "");
			ok = false;
		} else if (json_node_get_value_type(v) != G_TYPE_STRING ||
		           !*json_node_get_string(v) || strlen(json_node_get_string(v)) > 4096) {
			ce_http_reply_error(msg, SOUP_STATUS_BAD_REQUEST, "bad_request",
			        "'%s' is a non-empty string (at most 4096 bytes)", a->member);
			ok = false;
		} else {
			*value = g_strdup(json_node_get_string(v));
		}
	}
	g_list_free(members);
	if (!ok)
		g_clear_pointer(value, g_free);
out:
	g_object_unref(p);
	return ok;
}

static int perform(struct ce_http *h, const struct request *r, const char *value)
{
	struct ce_conf *conf = ce_conference_service(h->ce);
	const char *op = r->a->op;

	if (r->a->on == ON_LEG)
		return ce_conference_leg_op(conf, r->room, r->leg, op, value);
	if (!strcmp(op, "lock") || !strcmp(op, "unlock"))
		return ce_conference_lock(conf, r->room, op[0] == 'l');
	if (!strcmp(op, "end"))
		return ce_conference_end(conf, r->room, value ? value : "ended");
	if (!strcmp(op, "record"))
		return ce_conference_record_start(conf, r->room, value);
	return ce_conference_record_stop(conf, r->room);
}

/* {"name":ROOM,"ended":true}: an ended room has no state left to show. */
static void reply_ended(SoupServerMessage *msg, const char *room)
{
	JsonBuilder *b = json_builder_new();

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "name");
	json_builder_add_string_value(b, room);
	json_builder_set_member_name(b, "ended");
	json_builder_add_boolean_value(b, TRUE);
	json_builder_end_object(b);
	ce_http_reply_json(msg, SOUP_STATUS_OK, json_builder_get_root(b));
	g_object_unref(b);
}

static void reply_failed(SoupServerMessage *msg, const struct request *r, int err)
{
	if (err == -ENOENT && r->leg)
		ce_http_reply_error(msg, SOUP_STATUS_NOT_FOUND, "not_found",
		        "no leg '%s' in room '%s'", r->leg, r->room);
	else if (err == -ENOENT)
		ce_http_reply_error(
		        msg, SOUP_STATUS_NOT_FOUND, "not_found", "no room '%s'", r->room);
	else if (err == -EBUSY)
		ce_http_reply_error(msg, SOUP_STATUS_CONFLICT, "conflict",
		        "room '%s' is recording already (record/stop first)", r->room);
	else if (err == -EALREADY)
		ce_http_reply_error(msg, SOUP_STATUS_CONFLICT, "conflict",
		        "room '%s' is not recording", r->room);
	else if (err == -EIO)
		ce_http_reply_error(msg, SOUP_STATUS_BAD_REQUEST, "bad_file",
		        "room '%s' cannot record there (a file under [conference] record_dir, "
		        "not there yet, or a Yate target)",
		        r->room);
	else if (err == -ENODEV)
		ce_http_reply_error(msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "no_conference",
		        "the conference module does not run");
	else
		ce_http_reply_error(msg, SOUP_STATUS_BAD_REQUEST, "failed", "%s failed: %s",
		        r->a->path, g_strerror(-err));
}

/**
 * Answer @msg if @rest (the path after /api/v1/rooms/) names an action;
 * false, without answering, when it does not.  @t: the token, checked for
 * the admin role here.
 */
bool ce_http_action(
        struct ce_http *h, SoupServerMessage *msg, const char *rest, const struct ce_http_token *t)
{
	const char *method = soup_server_message_get_method(msg);
	struct request r;
	char *value = NULL;
	int err;

	if (!parse_path(rest, &r))
		return false;
	if (strcmp(method, SOUP_METHOD_POST)) {
		soup_message_headers_replace(
		        soup_server_message_get_response_headers(msg), "Allow", "POST");
		ce_http_reply_error(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "method_not_allowed",
		        "%s is not allowed here (POST only)", method);
	} else if (!t->admin) {
		ce_http_reply_error(msg, SOUP_STATUS_FORBIDDEN, "forbidden",
		        "token '%s' may only read", t->name);
	} else if (read_body(msg, r.a, &value)) {
		err = perform(h, &r, value);
		if (err) {
			reply_failed(msg, &r, err);
		} else {
			g_message("HTTP token '%s': room '%s'%s%s %s%s%s", t->name, r.room,
			        r.leg ? " leg " : "", r.leg ? r.leg : "", r.a->path,
			        value ? " " : "", value ? value : "");
			if (!strcmp(r.a->op, "end") || ce_http_room_state(h, msg, r.room))
				reply_ended(msg, r.room);
		}
	}
	g_free(value);
	request_clear(&r);
	return true;
}
