/* http.c - the HTTP API module: [http] settings, the server on the main loop, routing, answers */
#define G_LOG_DOMAIN "http"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "conf-engine/config.h"
#include "engine.h"
#include "http-schedule.h"
#include "http.h"
#include "module.h"

/*
 * A SoupServer on the engine's own GLib main context: it reads requests
 * and writes answers without blocking, so a slow client holds only its
 * own connection.  A body longer than max_body is refused from its
 * headers (413) and never read; a body without a length (chunked) is
 * refused too (411).  Every path but /healthz needs a bearer token
 * (http-auth.c).  The exchange, for example:
 *
 *   GET /api/v1/rooms HTTP/1.1
 *   Authorization: Bearer s3cret
 *
 *   HTTP/1.1 200 OK
 *   Content-Type: application/json
 *
 *   {"rooms":[{"name":"800","participants":2,"talkers":1,...}]}
 *
 * Errors are {"error":{"code":"not_found","message":"no room 'x'"}}.
 */

#define DEF_PORT          8088
#define DEF_MAX_BODY      65536
#define DEF_FAIL_LIMIT    10
#define DEF_FAIL_WINDOW   60
#define DEF_TIMEOUT       30
#define DEF_EVENT_CLIENTS 100
#define DEF_EVENT_QUEUE   (1 << 20)
#define ROOMS_PREFIX      "/api/v1/rooms/"

/* The keys of [http]. */
static const struct ce_config_key http_keys[] = {
        CE_KEY_BOOL("enabled"),
        CE_KEY_STRING("listen"),
        CE_KEY_INT("port", 0, 65535),
        CE_KEY_STRING("tls_cert"),
        CE_KEY_STRING("tls_key"),
        CE_KEY_INT("max_body", 1024, 16777216),
        CE_KEY_INT("auth_failures", 1, 1000),
        CE_KEY_INT("auth_window", 1, 86400),
        CE_KEY_INT("timeout", 1, 3600),
        CE_KEY_INT("max_event_clients", 1, 10000),
        CE_KEY_INT("event_queue", 4096, 67108864),
        CE_KEY_INT("max_duration", 1, 87600),
        CE_KEY_STRING("web_root"),
        CE_KEY_INT("call_timeout", 5, 600),
        CE_KEY_INT("max_calls", 0, 10000),
        CE_KEY_INT("max_room_calls", 0, 10000),
        CE_KEY_INT("call_keep", 10, 604800),
        CE_KEY_INT("call_history", 1, 100000),
        CE_KEY_CHECK("token.", ce_http_token_check),
        CE_KEY_END,
};

/** Answer @msg with @status and the JSON @root (taken). */
void ce_http_reply_json(SoupServerMessage *msg, guint status, JsonNode *root)
{
	JsonGenerator *gen = json_generator_new();
	gsize len;
	char *text;

	json_generator_set_root(gen, root);
	text = json_generator_to_data(gen, &len);
	soup_server_message_set_status(msg, status, NULL);
	soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_TAKE, text, len);
	g_object_unref(gen);
	json_node_unref(root);
}

/** Add member @name to the object @b builds: the string @value, or null for NULL. */
void ce_http_add_str(JsonBuilder *b, const char *name, const char *value)
{
	json_builder_set_member_name(b, name);
	if (value)
		json_builder_add_string_value(b, value);
	else
		json_builder_add_null_value(b);
}

/** Add member @name to the object @b builds: the integer @value. */
void ce_http_add_int(JsonBuilder *b, const char *name, gint64 value)
{
	json_builder_set_member_name(b, name);
	json_builder_add_int_value(b, value);
}

/** Add member @name to the object @b builds: true or false. */
void ce_http_add_bool(JsonBuilder *b, const char *name, bool value)
{
	json_builder_set_member_name(b, name);
	json_builder_add_boolean_value(b, value);
}

/** Answer @msg with @status and {"error":{"code":@code,"message":...}}. */
void ce_http_reply_error(
        SoupServerMessage *msg, guint status, const char *code, const char *fmt, ...)
{
	JsonBuilder *b = json_builder_new();
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "error");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "code");
	json_builder_add_string_value(b, code);
	json_builder_set_member_name(b, "message");
	json_builder_add_string_value(b, text);
	json_builder_end_object(b);
	json_builder_end_object(b);
	ce_http_reply_json(msg, status, json_builder_get_root(b));
	g_object_unref(b);
	g_free(text);
}

/** ce_http_body_object() - the body of @msg as a JSON object (a reference), or NULL: 400 answered
 */
JsonObject *ce_http_body_object(SoupServerMessage *msg)
{
	SoupMessageBody *body = soup_server_message_get_request_body(msg);
	JsonParser *p = json_parser_new();
	JsonObject *o = NULL;
	GError *err = NULL;

	if (!body->length)
		ce_http_reply_error(msg, SOUP_STATUS_BAD_REQUEST, "bad_json",
		        "the body is a JSON object, and there is none");
	else if (!json_parser_load_from_data(p, body->data, body->length, &err))
		ce_http_reply_error(msg, SOUP_STATUS_BAD_REQUEST, "bad_json", "malformed JSON: %s",
		        err->message);
	else if (!JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p)))
		ce_http_reply_error(
		        msg, SOUP_STATUS_BAD_REQUEST, "bad_request", "the body is a JSON object");
	else
		o = json_object_ref(json_node_get_object(json_parser_get_root(p)));
	g_clear_error(&err);
	g_object_unref(p);
	return o;
}

/* One path of the API; @admin: a read token gets 403. */
struct route {
	const char *path; /* exact, or a prefix ending in '/' that takes one name */
	bool public, admin;
	void (*get)(struct ce_http *h, SoupServerMessage *msg);
	void (*get_name)(struct ce_http *h, SoupServerMessage *msg, const char *name);
	void (*get_query)(struct ce_http *h, SoupServerMessage *msg, GHashTable *query);
	void (*get_token)(SoupServerMessage *msg, const struct ce_http_token *t);
};

/* GET /api/v1/token: the token presented, {"name":"ops","role":"read"}, so that a client
 * (the dashboard) knows which actions it may offer. */
static void token_info(SoupServerMessage *msg, const struct ce_http_token *t)
{
	JsonBuilder *b = json_builder_new();

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "name");
	json_builder_add_string_value(b, t->name);
	json_builder_set_member_name(b, "role");
	json_builder_add_string_value(b, t->admin ? "admin" : "read");
	json_builder_end_object(b);
	ce_http_reply_json(msg, SOUP_STATUS_OK, json_builder_get_root(b));
	g_object_unref(b);
}

static const struct route routes[] = {
        {"/healthz", true, false, ce_http_healthz, NULL, NULL, NULL},
        {"/metrics", false, false, ce_http_metrics, NULL, NULL, NULL},
        {"/api/v1/openapi.json", false, false, ce_http_openapi_doc, NULL, NULL, NULL},
        {"/api/v1/token", false, false, NULL, NULL, NULL, token_info},
        {"/api/v1/rooms", false, false, ce_http_rooms, NULL, NULL, NULL},
        {"/api/v1/events", false, false, NULL, NULL, ce_http_events, NULL},
        {"/api/v1/history/events", false, false, NULL, NULL, ce_http_history_events, NULL},
        {"/api/v1/history/cdrs", false, false, NULL, NULL, ce_http_history_cdrs, NULL},
        {ROOMS_PREFIX, false, false, NULL, ce_http_room, NULL, NULL},
};

/* The route of @path, with the name after a prefix route in *@name (owned); NULL: none. */
static const struct route *route_of(const char *path, char **name)
{
	for (unsigned i = 0; i < G_N_ELEMENTS(routes); i++) {
		const struct route *r = &routes[i];

		if ((r->get || r->get_query || r->get_token) && !strcmp(path, r->path))
			return r;
		if (r->get_name && g_str_has_prefix(path, r->path) && path[strlen(r->path)] &&
		        !strchr(path + strlen(r->path), '/')) {
			/* no '/' (%2F), NUL or bytes that are not UTF-8 in a name */
			*name = g_uri_unescape_string(path + strlen(r->path), "/");
			return *name && g_utf8_validate(*name, -1, NULL) ? r : NULL;
		}
	}
	return NULL;
}

/*
 * One request per connection, and the client is told so: a connection the
 * engine hands to the server itself (on_incoming) is closed after its
 * answer, which also keeps it clear of libsoup 3.2's leak of kept-alive
 * connections that the client closes while idle.  The API's requests are
 * few and small.
 */
static void close_after(SoupServerMessage *msg)
{
	soup_message_headers_replace(
	        soup_server_message_get_response_headers(msg), "Connection", "close");
}

static void on_request(SoupServer *server, SoupServerMessage *msg, const char *path,
        GHashTable *query, gpointer data)
{
	struct ce_http *h = data;
	const char *method = soup_server_message_get_method(msg);
	char *name = NULL;
	const struct route *r = route_of(path, &name);
	const struct ce_http_token *t = NULL;

	close_after(msg);
	if (!r && ce_http_web(h, msg, path))
		goto out;
	if (!(r && r->public) && !(t = ce_http_authenticate(h, msg)))
		goto out;
	if (!r && t && g_str_has_prefix(path, ROOMS_PREFIX) &&
	        ce_http_action(h, msg, path + strlen(ROOMS_PREFIX), t)) {
		/* answered */
	} else if (!r && t && ce_http_calls(h, msg, path, t)) {
		/* answered */
	} else if (!r && t && ce_http_schedule(h, msg, path, query, t)) {
		/* answered, or to be when the store answers */
	} else if (!r) {
		ce_http_reply_error(msg, SOUP_STATUS_NOT_FOUND, "not_found", "no such path");
	} else if (strcmp(method, SOUP_METHOD_GET)) {
		soup_message_headers_replace(
		        soup_server_message_get_response_headers(msg), "Allow", "GET");
		ce_http_reply_error(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "method_not_allowed",
		        "%s is not allowed here (GET only)", method);
	} else if (r->admin && t && !t->admin) {
		ce_http_reply_error(msg, SOUP_STATUS_FORBIDDEN, "forbidden",
		        "token '%s' may only read", t->name);
	} else if (r->get) {
		r->get(h, msg);
	} else if (r->get_query) {
		r->get_query(h, msg, query);
	} else if (r->get_token) {
		r->get_token(msg, t);
	} else {
		r->get_name(h, msg, name);
	}
	if (t)
		g_debug("%s %s: token %s", method, path, t->name);
out:
	g_free(name);
}

/* A body's length is known and small before anything of it is read. */
static void on_got_headers(SoupServerMessage *msg, gpointer data)
{
	struct ce_http *h = data;
	SoupMessageHeaders *hd = soup_server_message_get_request_headers(msg);
	SoupEncoding enc = soup_message_headers_get_encoding(hd);

	if (enc == SOUP_ENCODING_CHUNKED || enc == SOUP_ENCODING_EOF) {
		ce_http_reply_error(msg, SOUP_STATUS_LENGTH_REQUIRED, "length_required",
		        "a request body needs a Content-Length");
	} else if (enc == SOUP_ENCODING_CONTENT_LENGTH &&
	           soup_message_headers_get_content_length(hd) > (goffset)h->max_body) {
		ce_http_reply_error(msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "body_too_large",
		        "the request body is larger than %" G_GSIZE_FORMAT " bytes", h->max_body);
	} else {
		return;
	}
	close_after(msg);
}

static void on_request_started(SoupServer *server, SoupServerMessage *msg, gpointer data)
{
	g_signal_connect(msg, "got-headers", G_CALLBACK(on_got_headers), data);
}

/* The certificate of tls_cert/tls_key, NULL when neither is set or with @err. */
static GTlsCertificate *certificate(const struct ce_config *cfg, GError **err)
{
	char *cert = ce_config_get_path(cfg, CE_HTTP_SECTION, "tls_cert", NULL);
	char *key = ce_config_get_path(cfg, CE_HTTP_SECTION, "tls_key", NULL);
	GTlsCertificate *c = NULL;
	GError *e = NULL;

	if (!cert != !key) {
		g_set_error(err, CE_CONFIG_ERROR, CE_CONFIG_ERROR_VALUE,
		        "[http] %s is set but %s is not: HTTPS needs both",
		        cert ? "tls_cert" : "tls_key", cert ? "tls_key" : "tls_cert");
	} else if (cert && !(c = g_tls_certificate_new_from_files(cert, key, &e))) {
		g_set_error(err, CE_CONFIG_ERROR, CE_CONFIG_ERROR_VALUE,
		        "[http] tls_cert=%s, tls_key=%s: %s", cert, key, e->message);
		g_error_free(e);
	}
	g_free(cert);
	g_free(key);
	return c;
}

/* [http] checks a key table cannot make: listen is an address, the certificate loads. */
static int http_check(const struct ce_config *cfg, GError **err)
{
	const char *listen = ce_config_get(cfg, CE_HTTP_SECTION, "listen", "127.0.0.1");
	GInetAddress *a = g_inet_address_new_from_string(listen);
	GTlsCertificate *c;

	if (!a) {
		g_set_error(err, CE_CONFIG_ERROR, CE_CONFIG_ERROR_VALUE,
		        "[http] listen=%s: not an IP address", listen);
		return -EINVAL;
	}
	g_object_unref(a);
	c = certificate(cfg, err);
	if (c)
		g_object_unref(c);
	if (!(err && *err)) {
		struct ce_http web = {0}; /* only to read web_root as the start would */

		ce_http_web_load(&web, cfg, true, err);
		g_hash_table_destroy(web.web);
	}
	return err && *err ? -EINVAL : 0;
}

static void on_conn_gone(gpointer data, GObject *conn);

static void http_free(struct ce_http *h)
{
	if (h->service) {
		g_socket_service_stop(h->service);
		g_socket_listener_close(G_SOCKET_LISTENER(h->service));
		g_signal_handlers_disconnect_by_data(h->service, h);
		g_object_unref(h->service);
	}
	if (h->plays) {
		ce_http_actions_stop(h);
		g_ptr_array_free(h->plays, TRUE);
	}
	if (h->sched_calls) {
		ce_http_schedule_stop(h);
		g_ptr_array_free(h->sched_calls, TRUE);
	}
	if (h->event_clients) {
		ce_http_events_stop(h);
		g_ptr_array_free(h->event_clients, TRUE);
	}
	ce_http_history_stop(h);
	ce_http_calls_stop(h);
	if (h->server) {
		soup_server_disconnect(h->server);
		g_object_unref(h->server);
	}
	if (h->conns) {
		GHashTableIter it;
		gpointer conn;

		g_hash_table_iter_init(&it, h->conns);
		while (g_hash_table_iter_next(&it, NULL, &conn))
			g_object_weak_unref(conn, on_conn_gone, h);
		g_hash_table_destroy(h->conns);
	}
	g_clear_object(&h->cert);
	if (h->tokens)
		g_ptr_array_free(h->tokens, TRUE);
	if (h->failures)
		g_hash_table_destroy(h->failures);
	if (h->web)
		g_hash_table_destroy(h->web);
	g_free(h);
}

/* "ip:port" of @sa, the key of h->conns. */
static char *addr_key(GSocketAddress *sa)
{
	char *ip, *key;

	if (!G_IS_INET_SOCKET_ADDRESS(sa))
		return NULL;
	ip = g_inet_address_to_string(g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(sa)));
	key = g_strdup_printf(
	        "%s:%u", ip, g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(sa)));
	g_free(ip);
	return key;
}

static gboolean is_conn(gpointer key, gpointer value, gpointer conn)
{
	return value == conn;
}

static void on_conn_gone(gpointer data, GObject *conn)
{
	struct ce_http *h = data;

	g_hash_table_foreach_remove(h->conns, is_conn, conn);
}

/**
 * The socket of the connection @msg came on, or NULL: the server got the
 * connection as a stream (on_incoming), so it does not know the socket.
 */
GSocket *ce_http_socket(struct ce_http *h, SoupServerMessage *msg)
{
	char *key = addr_key(soup_server_message_get_remote_address(msg));
	GSocketConnection *conn = key ? g_hash_table_lookup(h->conns, key) : NULL;

	g_free(key);
	return conn ? g_socket_connection_get_socket(conn) : NULL;
}

/*
 * A connection accepted: wrapped in TLS when HTTPS, given a timeout (a
 * client that stops sending, or never starts, is dropped), handed to the
 * server.  The engine accepts the connections itself rather than through
 * soup_server_listen(): libsoup 3.2 (Debian 12) leaks the GSocket of every
 * connection its own listener accepts (fixed in later releases).
 */
static gboolean on_incoming(
        GSocketService *service, GSocketConnection *conn, GObject *source, gpointer data)
{
	struct ce_http *h = data;
	GSocketAddress *local = g_socket_connection_get_local_address(conn, NULL);
	GSocketAddress *remote = g_socket_connection_get_remote_address(conn, NULL);
	GIOStream *stream = G_IO_STREAM(g_object_ref(conn));
	GError *err = NULL;
	char *key = addr_key(remote);
	gpointer old;

	g_socket_set_timeout(g_socket_connection_get_socket(conn), h->timeout_s);
	if (key) {
		/* a key seen again replaces the old connection's, which is closed by then */
		if ((old = g_hash_table_lookup(h->conns, key)))
			g_object_weak_unref(old, on_conn_gone, h);
		g_hash_table_replace(h->conns, key, conn);
		g_object_weak_ref(G_OBJECT(conn), on_conn_gone, h);
	}
	if (h->cert) {
		g_object_unref(stream);
		stream = g_tls_server_connection_new(G_IO_STREAM(conn), h->cert, &err);
	}
	if (!stream || !soup_server_accept_iostream(h->server, stream, local, remote, &err)) {
		g_message("HTTP connection refused: %s", err ? err->message : "unknown error");
		g_clear_error(&err);
	}
	g_clear_object(&stream);
	g_clear_object(&local);
	g_clear_object(&remote);
	return TRUE;
}

/* "HTTP API listening on http://127.0.0.1:8088/" for the address bound. */
static void log_address(GSocketAddress *sa, bool tls)
{
	GInetAddress *a = g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(sa));
	bool v6 = g_inet_address_get_family(a) == G_SOCKET_FAMILY_IPV6;
	char *ip = g_inet_address_to_string(a);

	g_message("HTTP API listening on %s://%s%s%s:%u/", tls ? "https" : "http", v6 ? "[" : "",
	        ip, v6 ? "]" : "", g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(sa)));
	g_free(ip);
}

/* Listen on [http] listen and port; the address bound (port 0: the kernel's) is logged. */
static int listen_on(struct ce_http *h, const struct ce_config *cfg, GError **err)
{
	GInetAddress *a = g_inet_address_new_from_string(
	        ce_config_get(cfg, CE_HTTP_SECTION, "listen", "127.0.0.1"));
	GSocketAddress *sa = g_inet_socket_address_new(
	        a, (guint16)ce_config_get_int(cfg, CE_HTTP_SECTION, "port", DEF_PORT, 0, 65535));
	GSocketAddress *bound = NULL;
	int r = 0;

	h->service = g_socket_service_new();
	if (!g_socket_listener_add_address(G_SOCKET_LISTENER(h->service), sa, G_SOCKET_TYPE_STREAM,
	            G_SOCKET_PROTOCOL_TCP, NULL, &bound, err)) {
		r = err && g_error_matches(*err, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE)
		            ? -EADDRINUSE
		            : -EADDRNOTAVAIL;
	} else {
		g_signal_connect(h->service, "incoming", G_CALLBACK(on_incoming), h);
		g_socket_service_start(h->service);
		log_address(bound, h->cert != NULL);
	}
	g_clear_object(&bound);
	g_object_unref(sa);
	g_object_unref(a);
	return r;
}

static int start(struct ce_http *h, GError **err)
{
	const struct ce_config *cfg = ce_engine_config(h->ce);
	int r;

	h->max_body = (gsize)ce_config_get_int(
	        cfg, CE_HTTP_SECTION, "max_body", DEF_MAX_BODY, 1024, 16777216);
	h->fail_limit = (unsigned)ce_config_get_int(
	        cfg, CE_HTTP_SECTION, "auth_failures", DEF_FAIL_LIMIT, 1, 1000);
	h->fail_window = G_USEC_PER_SEC * ce_config_get_int(cfg, CE_HTTP_SECTION, "auth_window",
	                                          DEF_FAIL_WINDOW, 1, 86400);
	h->timeout_s =
	        (guint)ce_config_get_int(cfg, CE_HTTP_SECTION, "timeout", DEF_TIMEOUT, 1, 3600);
	h->max_event_clients = (unsigned)ce_config_get_int(
	        cfg, CE_HTTP_SECTION, "max_event_clients", DEF_EVENT_CLIENTS, 1, 10000);
	h->event_queue = (gsize)ce_config_get_int(
	        cfg, CE_HTTP_SECTION, "event_queue", DEF_EVENT_QUEUE, 4096, 67108864);
	h->event_clients = g_ptr_array_new();
	h->sched_calls = g_ptr_array_new();
	h->plays = g_ptr_array_new();
	h->conns = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	h->failures = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	r = ce_http_tokens_load(h, err);
	if (!r)
		r = ce_http_web_load(h, cfg, false, err);
	if (!r && (r = ce_http_calls_start(h, cfg)) < 0)
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot follow calls: %s",
		        g_strerror(-r));
	if (!r && !(h->cert = certificate(cfg, err)) && err && *err)
		r = -EINVAL;
	if (r)
		return r;
	h->server = soup_server_new("server-header", "conf-engine ", NULL);
	g_signal_connect(h->server, "request-started", G_CALLBACK(on_request_started), h);
	soup_server_add_handler(h->server, NULL, on_request, h, NULL);
	ce_http_health_start(h);
	r = listen_on(h, cfg, err);
	if (!r && !h->tokens->len)
		g_message("[http] has no token.NAME: only /healthz answers");
	return r;
}

static int http_init(struct ce_engine *ce, void **state)
{
	struct ce_http *h;
	GError *err = NULL;
	int r;

	if (!ce_config_get_bool(ce_engine_config(ce), CE_HTTP_SECTION, "enabled", false))
		return 0;
	h = g_new0(struct ce_http, 1);
	h->ce = ce;
	r = start(h, &err);
	if (r < 0) {
		g_critical("HTTP API: %s", err ? err->message : g_strerror(-r));
		g_clear_error(&err);
		http_free(h);
		return r;
	}
	*state = h;
	return 0;
}

static void http_exit(struct ce_engine *ce, void *state)
{
	if (state)
		http_free(state);
}

CE_MODULE_DEFINE(http, .init = http_init, .exit = http_exit, .keys = http_keys, .check = http_check,
        .requires = CE_REQUIRES(CE_WANTS("conference"), CE_WANTS("store"), CE_WANTS("monitor")));
