/* http-api.c - the HTTP API's endpoints: /healthz, /metrics, the live rooms, the OpenAPI document
 */
#define G_LOG_DOMAIN "http"

#include <string.h>

#include "modules/conference/conference.h"
#include "console.h"
#include "engine.h"
#include "http.h"

/*
 * The figures come from where the console's come from: /metrics and
 * /healthz read the status line of "status conf-engine" (each module's
 * status provider, ce_console_status()), and the rooms the conference
 * module's view of them (ce_conference_rooms()), so that nothing is
 * counted twice.  The status line's pairs become metrics by name:
 *
 *   status:  uptime=12,...,linkstate=up,...,rooms=1,legs=2,media_ticks=600
 *   metrics: conf_engine_uptime 12
 *            conf_engine_rooms 1
 *            conf_engine_status_info{link="stdio",linkstate="up",...} 1
 *            conf_engine_room_participants{room="800"} 2
 */

/* Media ticks that did not move for this long: the media threads are stalled. */
#define MEDIA_SAMPLE_US (G_USEC_PER_SEC / 2)

typedef void(pair_h)(const char *key, const char *value, void *arg);

/* Each "key=value" of @text, items separated by @sep; items without '=' are skipped. */
static void for_pairs(const char *text, const char *sep, pair_h *fn, void *arg)
{
	char **items = g_strsplit(text, sep, -1);

	for (char **i = items; *i; i++) {
		char *eq = strchr(*i, '=');

		if (!eq || eq == *i)
			continue;
		*eq = '\0';
		fn(*i, eq + 1, arg);
	}
	g_strfreev(items);
}

/* The engine's status line ("status conf-engine"), owned. */
static char *status_line(struct ce_http *h)
{
	GString *s = g_string_new(NULL);

	ce_console_status(h->ce, s);
	return g_string_free(s, FALSE);
}

static bool is_count(const char *v, guint64 *n)
{
	return g_ascii_string_to_unsigned(v, 10, 0, G_MAXUINT64, n, NULL);
}

/* ---- /healthz ---------------------------------------------------------------- */

struct health {
	const char *yate, *store, *media;
	guint64 ticks;
	bool has_ticks;
	char *version;
};

static void health_pair(const char *key, const char *value, void *arg)
{
	struct health *st = arg;

	if (!strcmp(key, "linkstate"))
		st->yate = !strcmp(value, "up") ? "up" : "down";
	else if (!strcmp(key, "store_db"))
		st->store = !strcmp(value, "up") ? "ok" : "failed";
	else if (!strcmp(key, "media_ticks"))
		st->has_ticks = is_count(value, &st->ticks);
	else if (!strcmp(key, "yate") && !st->version)
		st->version = g_strdup(value);
}

/*
 * The media threads tick every 20 ms whether rooms run or not: ticks that
 * moved since the last sample (at least MEDIA_SAMPLE_US ago) are alive.
 */
static const char *media_state(struct ce_http *h, const struct health *st)
{
	gint64 now = g_get_monotonic_time();

	if (!st->has_ticks)
		return "none";
	if (!h->media_sampled || now - h->media_sampled >= MEDIA_SAMPLE_US) {
		h->media_alive = !h->media_sampled || st->ticks != h->media_ticks;
		h->media_ticks = st->ticks;
		h->media_sampled = now;
	}
	return h->media_alive ? "alive" : "stalled";
}

/* The parts' health, from the status line; st->version is owned. */
static void read_health(struct ce_http *h, struct health *st)
{
	char *line = status_line(h);

	*st = (struct health){.yate = "down", .store = "none"};
	for_pairs(line, ",", health_pair, st);
	st->media = media_state(h, st);
	g_free(line);
}

/** Take the first sample of the media ticks, so that the first /healthz has one to compare. */
void ce_http_health_start(struct ce_http *h)
{
	struct health st;

	read_health(h, &st);
	g_free(st.version);
}

/** GET /healthz: 200 when the link to Yate is up, the store works, the media threads tick; else
 * 503. */
void ce_http_healthz(struct ce_http *h, SoupServerMessage *msg)
{
	struct health st;
	JsonBuilder *b = json_builder_new();
	bool ok;

	read_health(h, &st);
	ok = !strcmp(st.yate, "up") && strcmp(st.store, "failed") && strcmp(st.media, "stalled");
	json_builder_begin_object(b);
	ce_http_add_str(b, "status", ok ? "ok" : "failing");
	ce_http_add_str(b, "yate", st.yate);
	ce_http_add_str(b, "store", st.store);
	ce_http_add_str(b, "media", st.media);
	ce_http_add_str(b, "node", ce_engine_node(h->ce));
	ce_http_add_str(b, "yate_version", st.version);
	ce_http_add_int(b, "uptime", ce_engine_uptime(h->ce) / G_USEC_PER_SEC);
	json_builder_end_object(b);
	ce_http_reply_json(msg, ok ? SOUP_STATUS_OK : SOUP_STATUS_SERVICE_UNAVAILABLE,
	        json_builder_get_root(b));
	g_object_unref(b);
	g_free(st.version);
}

/* ---- /metrics ---------------------------------------------------------------- */

struct metrics {
	GString *out;
	GString *info;        /* the labels of conf_engine_status_info */
	GHashTable *seen;     /* names written (a key twice in the line: the first) */
	GString *per_room[2]; /* participants, talkers */
};

/** @key as a metric or label name: [a-zA-Z0-9_], other characters as '_' (g_free it). */
char *ce_http_metric_name(const char *key)
{
	char *n = g_strdup(key);

	for (char *c = n; *c; c++) {
		if (!g_ascii_isalnum(*c))
			*c = '_';
	}
	return n;
}

/** Append @v as a label value: backslash, double quote and newline escaped (format 0.0.4). */
void ce_http_label_value(GString *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			g_string_append_c(out, '\\');
		if (*v == '\n')
			g_string_append(out, "\\n");
		else
			g_string_append_c(out, *v);
	}
}

static void metric_pair(const char *key, const char *value, void *arg)
{
	struct metrics *m = arg;
	char *name = ce_http_metric_name(key);
	guint64 n;

	if (!g_hash_table_add(m->seen, name))
		return;
	if (is_count(value, &n)) {
		g_string_append_printf(m->out,
		        "# TYPE conf_engine_%s untyped\nconf_engine_%s %" G_GUINT64_FORMAT "\n",
		        name, name, n);
		return;
	}
	g_string_append_printf(m->info, "%s%s=\"", m->info->len ? "," : "", name);
	ce_http_label_value(m->info, value);
	g_string_append_c(m->info, '"');
}

/* The per-room gauges: name, help. */
static const char *const room_metrics[2][2] = {
        {"conf_engine_room_participants", "Counted participants in the room"},
        {"conf_engine_room_talkers", "Participants the talker detector hears now"},
};

static void metric_room(const struct ce_conference_room_info *r, void *arg)
{
	struct metrics *m = arg;
	const unsigned v[2] = {(unsigned)MAX(r->users, 0), r->talkers};

	for (unsigned i = 0; i < 2; i++) {
		g_string_append_printf(m->per_room[i], "%s{room=\"", room_metrics[i][0]);
		ce_http_label_value(m->per_room[i], r->name);
		g_string_append_printf(m->per_room[i], "\"} %u\n", v[i]);
	}
}

/** GET /metrics: the status line's counters, per-room gauges (Prometheus text format 0.0.4). */
void ce_http_metrics(struct ce_http *h, SoupServerMessage *msg)
{
	struct metrics m = {
	        .out = g_string_new("# HELP conf_engine_up The engine answers\n"
	                            "# TYPE conf_engine_up gauge\nconf_engine_up 1\n"),
	        .info = g_string_new(NULL),
	        .seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
	};
	char *line = status_line(h);
	gsize len;

	g_hash_table_add(m.seen, g_strdup("up"));
	for_pairs(line, ",", metric_pair, &m);
	g_string_append_printf(m.out,
	        "# HELP conf_engine_status_info The status line's words\n"
	        "# TYPE conf_engine_status_info gauge\nconf_engine_status_info{%s} 1\n",
	        m.info->str);
	for (unsigned i = 0; i < 2; i++)
		m.per_room[i] = g_string_new(NULL);
	ce_conference_rooms(ce_conference_service(h->ce), metric_room, &m);
	for (unsigned i = 0; i < 2; i++) {
		g_string_append_printf(m.out, "# HELP %s %s\n# TYPE %s gauge\n", room_metrics[i][0],
		        room_metrics[i][1], room_metrics[i][0]);
		g_string_append(m.out, m.per_room[i]->str);
		g_string_free(m.per_room[i], TRUE);
	}
	g_string_append_printf(m.out,
	        "# HELP conf_engine_http_event_clients Clients of /api/v1/events\n"
	        "# TYPE conf_engine_http_event_clients gauge\nconf_engine_http_event_clients %u\n",
	        h->event_clients->len);
	ce_http_histograms(h, m.out);
	soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
	len = m.out->len;
	soup_server_message_set_response(msg, "text/plain; version=0.0.4; charset=utf-8",
	        SOUP_MEMORY_TAKE, g_string_free(m.out, FALSE), len);
	g_string_free(m.info, TRUE);
	g_hash_table_destroy(m.seen);
	g_free(line);
}

/* ---- /api/v1/rooms ----------------------------------------------------------- */

static void room_members(JsonBuilder *b, const struct ce_conference_room_info *r)
{
	ce_http_add_str(b, "name", r->name);
	ce_http_add_int(b, "participants", MAX(r->users, 0));
	ce_http_add_int(b, "talkers", r->talkers);
	ce_http_add_int(b, "maxusers", r->maxusers);
	ce_http_add_bool(b, "locked", r->locked);
	ce_http_add_str(b, "recording", r->record);
}

static void room_summary(const struct ce_conference_room_info *r, void *arg)
{
	JsonBuilder *b = arg;

	json_builder_begin_object(b);
	room_members(b, r);
	json_builder_end_object(b);
}

/** GET /api/v1/rooms: {"rooms":[...]}, each room without its legs (bounded by the rooms). */
void ce_http_rooms(struct ce_http *h, SoupServerMessage *msg)
{
	JsonBuilder *b = json_builder_new();

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "rooms");
	json_builder_begin_array(b);
	ce_conference_rooms(ce_conference_service(h->ce), room_summary, b);
	json_builder_end_array(b);
	json_builder_end_object(b);
	ce_http_reply_json(msg, SOUP_STATUS_OK, json_builder_get_root(b));
	g_object_unref(b);
}

static void room_head(const struct ce_conference_room_info *r, void *arg)
{
	JsonBuilder *b = arg;

	room_members(b, r);
	json_builder_set_member_name(b, "legs");
	json_builder_begin_array(b);
}

static void rtp_pair(const char *key, const char *value, void *arg)
{
	guint64 n;

	if (is_count(value, &n))
		ce_http_add_int(arg, key, (gint64)n);
}

static void leg_object(const struct ce_conference_leg_info *l, void *arg)
{
	JsonBuilder *b = arg;

	json_builder_begin_object(b);
	ce_http_add_int(b, "seq", l->seq);
	ce_http_add_str(b, "id", l->id);
	ce_http_add_str(b, "peer", l->peer);
	ce_http_add_str(b, "caller", l->caller);
	ce_http_add_str(b, "role", l->role);
	ce_http_add_str(b, "state", l->state);
	ce_http_add_bool(b, "muted", l->muted);
	ce_http_add_bool(b, "deaf", l->deaf);
	ce_http_add_bool(b, "talking", l->talking);
	ce_http_add_bool(b, "utility", l->utility);
	json_builder_set_member_name(b, "rtp");
	json_builder_begin_object(b);
	for_pairs(l->rtp, " ", rtp_pair, b);
	json_builder_end_object(b);
	json_builder_end_object(b);
}

/** Answer @msg with the room @name and its legs (200); -ENOENT, unanswered, without it. */
int ce_http_room_state(struct ce_http *h, SoupServerMessage *msg, const char *name)
{
	JsonBuilder *b = json_builder_new();
	int err;

	json_builder_begin_object(b);
	err = ce_conference_room(ce_conference_service(h->ce), name, room_head, leg_object, b);
	if (!err) {
		json_builder_end_array(b);
		json_builder_end_object(b);
		ce_http_reply_json(msg, SOUP_STATUS_OK, json_builder_get_root(b));
	}
	g_object_unref(b);
	return err;
}

/** GET /api/v1/rooms/NAME: the room and its legs; 404 when there is no such room. */
void ce_http_room(struct ce_http *h, SoupServerMessage *msg, const char *name)
{
	if (ce_http_room_state(h, msg, name))
		ce_http_reply_error(msg, SOUP_STATUS_NOT_FOUND, "not_found", "no room '%s'", name);
}

/** GET /api/v1/openapi.json: the document describing these endpoints. */
void ce_http_openapi_doc(struct ce_http *h, SoupServerMessage *msg)
{
	soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
	soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_STATIC,
	        ce_http_openapi, strlen(ce_http_openapi));
}
