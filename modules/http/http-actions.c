/* http-actions.c - POST /api/v1/rooms/NAME/...: lock, end, record, play, and mute/deaf/kick/play
 * of a leg */
#define G_LOG_DOMAIN "http"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "modules/conference/conference.h"
#include "media/recfile.h"
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
 *   POST /api/v1/rooms/800/legs/2/play HTTP/1.1
 *   Authorization: Bearer s3cret
 *   Content-Type: application/json
 *
 *   {"file":"end-5min.wav","others":true}
 *
 * A body is optional; when there is one it is a JSON object whose only
 * members are the action's: "file" (record/start), "reason" (kick, end);
 * for play "file" (required), "queue", "duration" and, on a leg,
 * "others"; "others" for a leg's play/stop.  Each action done is logged at
 * NOTE with the token's name.
 *
 * A play names a file that the media side opens later, off the main loop,
 * where a missing one would only be logged.  So the request waits, paused,
 * while a worker thread opens the file as the media side will (under the
 * play roots, links followed, a regular file): an absent file gets 404, one
 * outside the roots 403, and only then is the prompt queued.
 */

enum target { ON_ROOM, ON_LEG };

/* How a body member is read. */
enum kind {
	K_STR,  /* a non-empty string, into args.str */
	K_BOOL, /* true or false, into args.queue or args.others by name */
	K_MS,   /* a positive integer, into args.duration */
};

struct member {
	const char *name;
	enum kind kind;
	bool required;
};

#define MEMBERS_MAX 4

struct action {
	enum target on;
	const char *path; /* after the room (and legs/ID) */
	const char *op;   /* the console's word */
	struct member members[MEMBERS_MAX]; /* those it takes; name NULL ends */
};

#define PLAY_MEMBERS {"file", K_STR, true}, {"queue", K_BOOL, false}, {"duration", K_MS, false}

static const struct action actions[] = {
        {ON_ROOM, "lock", "lock", {{0}}},
        {ON_ROOM, "unlock", "unlock", {{0}}},
        {ON_ROOM, "end", "end", {{"reason", K_STR, false}}},
        {ON_ROOM, "record/start", "record", {{"file", K_STR, false}}},
        {ON_ROOM, "record/stop", "stoprecord", {{0}}},
        {ON_ROOM, "play", "play", {PLAY_MEMBERS}},
        {ON_ROOM, "play/stop", "stopplay", {{0}}},
        {ON_LEG, "mute", "mute", {{0}}},
        {ON_LEG, "unmute", "unmute", {{0}}},
        {ON_LEG, "deaf", "deaf", {{0}}},
        {ON_LEG, "undeaf", "undeaf", {{0}}},
        {ON_LEG, "kick", "kick", {{"reason", K_STR, false}}},
        {ON_LEG, "play", "play", {PLAY_MEMBERS, {"others", K_BOOL, false}}},
        {ON_LEG, "play/stop", "stopplay", {{"others", K_BOOL, false}}},
};

/* What the body said. */
struct args {
	char *str; /* file or reason */
	bool queue, others;
	unsigned duration; /* ms, 0: none */
};

/* A request for an action: what the path names. */
struct request {
	const struct action *a;
	char *room, *leg; /* unescaped */
	struct args args;
};

static void request_clear(struct request *r)
{
	g_free(r->room);
	g_free(r->leg);
	g_free(r->args.str);
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

/* The leg action @legpath (LEG/ACTION) ends with, the longest; *@leg_len: LEG's length. */
static const struct action *leg_action(const char *legpath, size_t *leg_len)
{
	const struct action *best = NULL;
	size_t n = strlen(legpath);

	for (unsigned i = 0; i < G_N_ELEMENTS(actions); i++) {
		const struct action *a = &actions[i];
		size_t k = strlen(a->path);

		if (a->on != ON_LEG || n < k + 2 || strcmp(legpath + n - k, a->path) ||
		        legpath[n - k - 1] != '/' || (best && strlen(best->path) > k))
			continue;
		best = a;
		*leg_len = n - k - 1;
	}
	return best;
}

/*
 * ROOM/ACTION or ROOM/legs/LEG/ACTION (after the rooms prefix) into @r;
 * false: not an action.  A leg's id holds a '/' (dumb/N), sent as %2F or
 * not: the leg is what lies between legs/ and the action's words.
 */
static bool parse_path(const char *rest, struct request *r)
{
	const char *slash = strchr(rest, '/');
	char *room = slash ? g_strndup(rest, slash - rest) : NULL;
	char *leg = NULL;
	size_t leg_len = 0;

	*r = (struct request){0};
	if (!slash)
		return false;
	if (g_str_has_prefix(slash, "/legs/")) {
		r->a = leg_action(slash + 6, &leg_len);
		if (r->a)
			leg = g_strndup(slash + 6, leg_len);
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

/* The member @name of @a, or NULL. */
static const struct member *member_of(const struct action *a, const char *name)
{
	for (unsigned i = 0; i < MEMBERS_MAX && a->members[i].name; i++)
		if (!strcmp(name, a->members[i].name))
			return &a->members[i];
	return NULL;
}

/* "file, queue, duration": the members @a takes, for an error. */
static char *members_list(const struct action *a)
{
	GString *s = g_string_new(NULL);

	for (unsigned i = 0; i < MEMBERS_MAX && a->members[i].name; i++)
		g_string_append_printf(s, "%s%s", i ? ", " : "", a->members[i].name);
	return g_string_free(s, FALSE);
}

/* One member's value @v into @args; false: 400 answered. */
static bool read_member(SoupServerMessage *msg, const struct member *m, JsonNode *v,
        struct args *args)
{
	GType t = JSON_NODE_HOLDS_VALUE(v) ? json_node_get_value_type(v) : G_TYPE_INVALID;

	switch (m->kind) {
	case K_STR:
		if (t != G_TYPE_STRING || !*json_node_get_string(v) ||
		        strlen(json_node_get_string(v)) > 4096)
			break;
		g_free(args->str);
		args->str = g_strdup(json_node_get_string(v));
		return true;
	case K_BOOL:
		if (t != G_TYPE_BOOLEAN)
			break;
		*(m->name[0] == 'q' ? &args->queue : &args->others) = json_node_get_boolean(v);
		return true;
	case K_MS:
		if (t != G_TYPE_INT64 || json_node_get_int(v) < 1 || json_node_get_int(v) > G_MAXINT)
			break;
		args->duration = (unsigned)json_node_get_int(v);
		return true;
	}
	ce_http_reply_error(msg, SOUP_STATUS_BAD_REQUEST, "bad_request", "'%s' is %s", m->name,
	        m->kind == K_STR    ? "a non-empty string (at most 4096 bytes)"
	        : m->kind == K_BOOL ? "true or false"
	                            : "a whole number of milliseconds, at least 1");
	return false;
}

/* The members of @o into @args; false: 400 answered. */
static bool read_members(SoupServerMessage *msg, const struct action *a, JsonObject *o,
        struct args *args)
{
	GList *members = json_object_get_members(o);
	bool ok = true;

	for (GList *l = members; l && ok; l = l->next) {
		const struct member *m = member_of(a, l->data);
		char *takes;

		if (m) {
			ok = read_member(msg, m, json_object_get_member(o, l->data), args);
			continue;
		}
		takes = members_list(a);
		ce_http_reply_error(msg, SOUP_STATUS_BAD_REQUEST, "bad_request",
		        "unknown member '%s'%s%s", (char *)l->data,
		        *takes ? ": this action takes " : " (this action takes none)", takes);
		g_free(takes);
		ok = false;
	}
	g_list_free(members);
	return ok;
}

/* The body: empty, or an object with the action's members only; false: 400 answered. */
static bool read_body(SoupServerMessage *msg, const struct action *a, struct args *args)
{
	SoupMessageBody *body = soup_server_message_get_request_body(msg);
	JsonParser *p = NULL;
	GError *err = NULL;
	bool ok = false;

	*args = (struct args){.queue = true};
	if (body->length) {
		p = json_parser_new();
		if (!json_parser_load_from_data(p, body->data, body->length, &err))
			ce_http_reply_error(msg, SOUP_STATUS_BAD_REQUEST, "bad_json",
			        "malformed JSON: %s", err->message);
		else if (!JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p)))
			ce_http_reply_error(msg, SOUP_STATUS_BAD_REQUEST, "bad_request",
			        "the body is a JSON object");
		else
			ok = read_members(msg, a, json_node_get_object(json_parser_get_root(p)), args);
	} else {
		ok = true;
	}
	/* only a string (play's file) is ever required */
	for (unsigned i = 0; ok && i < MEMBERS_MAX && a->members[i].name; i++) {
		if (a->members[i].required && !args->str) {
			ce_http_reply_error(msg, SOUP_STATUS_BAD_REQUEST, "bad_request",
			        "'%s' is missing: %s needs it", a->members[i].name, a->path);
			ok = false;
		}
	}
	if (!ok)
		g_clear_pointer(&args->str, g_free);
	g_clear_error(&err);
	g_clear_object(&p);
	return ok;
}

/* The play the request asks for. */
static struct ce_conference_play play_of(const struct request *r)
{
	return (struct ce_conference_play){.file = r->args.str,
	        .duration_ms = r->args.duration,
	        .replace = !r->args.queue,
	        .others = r->args.others};
}

/* Do the action; 0 or a negative errno, with *@why (static) for a play's refusal. */
static int perform(struct ce_http *h, const struct request *r, const char **why)
{
	struct ce_conf *conf = ce_conference_service(h->ce);
	const char *op = r->a->op;
	const char *value = r->args.str;
	struct ce_conference_play play = play_of(r);
	int n;

	if (!strcmp(op, "play"))
		return ce_conference_play_opts(conf, r->room, r->leg, &play, why);
	if (!strcmp(op, "stopplay")) {
		n = ce_conference_stop_play(conf, r->room, r->leg, r->args.others);
		return n < 0 ? n : 0;
	}
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

/* A play refused: 0, or the error answered. */
static int reply_play_failed(SoupServerMessage *msg, const struct request *r, int err,
        const char *why)
{
	const char *file = r->args.str ? r->args.str : "";

	if (err == -EINVAL || err == -E2BIG || err == -ERANGE)
		ce_http_reply_error(
		        msg, SOUP_STATUS_BAD_REQUEST, "bad_request", "cannot play '%s': %s", file, why);
	else if (err == -EACCES)
		ce_http_reply_error(
		        msg, SOUP_STATUS_FORBIDDEN, "forbidden_file", "cannot play '%s': %s", file, why);
	else if (err == -ENOBUFS)
		ce_http_reply_error(msg, SOUP_STATUS_CONFLICT, "queue_full",
		        "cannot play '%s': %s (play/stop, or wait for them to end)", file, why);
	else if (err == -ENOTCONN)
		ce_http_reply_error(msg, SOUP_STATUS_CONFLICT, "conflict", "cannot play '%s': %s",
		        file, why);
	else if (err == -ENOTSUP)
		ce_http_reply_error(msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "not_supported",
		        "cannot play '%s': %s", file, why);
	else
		return err;
	return 0;
}

static void reply_failed(SoupServerMessage *msg, const struct request *r, int err, const char *why)
{
	if (!strcmp(r->a->op, "play") && why && !reply_play_failed(msg, r, err, why))
		return;
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

/* Do the action of @r for token @token and answer @msg: the room's state, or why not. */
static void act(struct ce_http *h, SoupServerMessage *msg, const struct request *r,
        const char *token)
{
	const char *why = NULL;
	int err = perform(h, r, &why);
	const struct args *a = &r->args;

	if (err) {
		reply_failed(msg, r, err, why);
		return;
	}
	g_message("HTTP token '%s': room '%s'%s%s %s%s%s%s%s", token, r->room,
	        r->leg ? " leg " : "", r->leg ? r->leg : "", r->a->path, a->str ? " " : "",
	        a->str ? a->str : "", a->others ? " (to the others)" : "",
	        !a->queue ? " (replacing what plays)" : "");
	if (!strcmp(r->a->op, "end") || ce_http_room_state(h, msg, r->room))
		reply_ended(msg, r->room);
}

/* A play waiting for its file to be checked on a worker thread. */
struct play {
	struct ce_http *h;      /* NULL: the module stopped */
	SoupServerMessage *msg; /* a reference */
	bool gone;              /* the client went, or the module stopped */
	struct request r;
	char *token;
	char *path, **roots; /* the file and where it must lie: read by the thread */
	int err;             /* the thread's verdict: 0 or a negative errno ... */
	char *why;           /* ... and why */
};

static void play_on_finished(SoupServerMessage *msg, gpointer data)
{
	struct play *p = data;

	p->gone = true;
	g_signal_handlers_disconnect_by_data(msg, p);
}

static void play_free(struct play *p)
{
	if (p->h)
		g_ptr_array_remove_fast(p->h->plays, p);
	if (!p->gone)
		g_signal_handlers_disconnect_by_data(p->msg, p);
	g_object_unref(p->msg);
	request_clear(&p->r);
	g_free(p->token);
	g_free(p->path);
	g_strfreev(p->roots);
	g_free(p->why);
	g_free(p);
}

/* Worker thread: open the file as the media side will, and close it. */
static void play_check(GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
	struct play *p = data;
	GError *err = NULL;
	int fd = ce_prompt_open(p->path, (const char *const *)p->roots, &err);

	(void)source;
	(void)cancel;
	if (fd >= 0)
		close(fd);
	p->err = fd < 0 ? fd : 0;
	p->why = err ? g_strdup(err->message) : NULL;
	g_clear_error(&err);
	g_task_return_boolean(task, TRUE);
}

/* Main loop: the file checked; play it, or say why not, and send the answer. */
static void play_checked(GObject *source, GAsyncResult *res, gpointer data)
{
	struct play *p = data;
	const char *file = p->r.args.str;

	(void)source;
	(void)res;
	if (p->h && !p->gone) {
		if (p->err == -ENOENT || p->err == -ENOTDIR)
			ce_http_reply_error(p->msg, SOUP_STATUS_NOT_FOUND, "file_not_found",
			        "cannot play '%s': there is no such file (%s)", file, p->path);
		else if (p->err == -EACCES || p->err == -EPERM || p->err == -ELOOP)
			ce_http_reply_error(p->msg, SOUP_STATUS_FORBIDDEN, "forbidden_file",
			        "cannot play '%s': %s", file, p->why ? p->why : "not allowed");
		else if (p->err)
			ce_http_reply_error(p->msg, SOUP_STATUS_BAD_REQUEST, "bad_file",
			        "cannot play '%s': %s", file, p->why ? p->why : g_strerror(-p->err));
		else
			act(p->h, p->msg, &p->r, p->token);
		if (p->err)
			g_message("HTTP token '%s': room '%s': cannot play '%s': %s", p->token,
			        p->r.room, p->path, p->why ? p->why : g_strerror(-p->err));
		soup_server_message_unpause(p->msg);
	}
	play_free(p);
}

/*
 * A play: checked at once as far as names go; a file is then checked on a
 * worker thread while @msg waits, paused (answered in play_checked).
 */
static void play(struct ce_http *h, SoupServerMessage *msg, struct request *r, const char *token)
{
	struct ce_conference_play pl = play_of(r);
	struct play *p;
	const char *why = NULL;
	char *path = NULL, **roots = NULL;
	GTask *task;
	int err = ce_conference_play_check(
	        ce_conference_service(h->ce), r->room, r->leg, &pl, &path, &roots, &why);

	if (err || !path) {
		if (err)
			reply_failed(msg, r, err, why);
		else
			act(h, msg, r, token); /* a tone: nothing on disk */
		g_free(path);
		g_strfreev(roots);
		return;
	}
	p = g_new0(struct play, 1);
	*p = (struct play){.h = h,
	        .msg = g_object_ref(msg),
	        .r = *r,
	        .token = g_strdup(token),
	        .path = path,
	        .roots = roots};
	*r = (struct request){0}; /* now p's */
	g_ptr_array_add(h->plays, p);
	g_signal_connect(msg, "finished", G_CALLBACK(play_on_finished), p);
	soup_server_message_pause(msg);
	task = g_task_new(NULL, NULL, play_checked, p);
	g_task_set_task_data(task, p, NULL);
	g_task_run_in_thread(task, play_check);
	g_object_unref(task);
}

/** The module stops: plays still being checked are forgotten (the server closes them). */
void ce_http_actions_stop(struct ce_http *h)
{
	while (h->plays && h->plays->len) {
		struct play *p = g_ptr_array_steal_index_fast(h->plays, 0);

		if (!p->gone)
			g_signal_handlers_disconnect_by_data(p->msg, p);
		p->gone = true;
		p->h = NULL;
	}
}

/**
 * Answer @msg if @rest (the path after /api/v1/rooms/) names an action;
 * false, without answering, when it does not.  @t: the token, checked for
 * the admin role here.  A play may be answered later (see play()).
 */
bool ce_http_action(
        struct ce_http *h, SoupServerMessage *msg, const char *rest, const struct ce_http_token *t)
{
	const char *method = soup_server_message_get_method(msg);
	struct request r;

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
	} else if (read_body(msg, r.a, &r.args)) {
		if (!strcmp(r.a->op, "play"))
			play(h, msg, &r, t->name);
		else
			act(h, msg, &r, t->name);
	}
	request_clear(&r);
	return true;
}
