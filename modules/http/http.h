/* http.h - the HTTP API module's private parts: its state, the server side and the endpoints */
#ifndef CE_HTTP_H
#define CE_HTTP_H

#include <stdbool.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

struct ce_config;
struct ce_dialer;
struct ce_engine;

#define CE_HTTP_SECTION "http"

/* A token of [http] token.NAME = ROLE:SHA256-HEX. */
struct ce_http_token {
	char *name;
	bool admin;
	guint8 hash[32]; /* SHA-256 of the secret */
};

/* The module's state (init to exit). */
struct ce_http {
	struct ce_engine *ce;
	SoupServer *server;       /* answers the connections the service accepts */
	GSocketService *service;  /* listens, on the main loop */
	GTlsCertificate *cert;    /* HTTPS: tls_cert and tls_key; NULL: HTTP */
	GPtrArray *tokens;        /* struct ce_http_token * */
	GHashTable *failures;     /* client address -> struct ce_http_failures (http-auth.c) */
	GHashTable *web;          /* the dashboard: file name -> its contents (http-web.c) */
	gsize max_body;           /* the largest request body read, in bytes */
	unsigned fail_limit;      /* failed authentications of one address in a window ... */
	gint64 fail_window;       /* ... before it gets 429 until the window ends (us) */
	guint timeout_s;          /* a connection silent this long is closed */
	GPtrArray *event_clients; /* the event streams (http-events.c) */
	GHashTable *conns;        /* "ip:port" of the client -> its GSocketConnection (not a ref) */
	unsigned max_event_clients;
	gsize event_queue;      /* bytes an event client may leave unread before it is closed */
	GPtrArray *sched_calls; /* schedule requests waiting for the store (http-schedule.c) */
	/* the media threads' liveness (healthz): their tick counter, sampled */
	guint64 media_ticks;
	gint64 media_sampled; /* monotonic us, 0: never */
	bool media_alive;
	GPtrArray *history; /* queries of /api/v1/history/ with the store (http-history.c) */
	/* outbound calls (http-calls.c) */
	struct ce_dialer *dialer;
	GHashTable *calls;       /* id (gint64 *) -> struct outcall */
	gint64 call_serial;      /* the last call id: from the start time in us, + 1 per call */
	unsigned call_timeout_s; /* ring timeout of a call that names none */
	unsigned max_calls;      /* dialing at once, in all */
	unsigned max_room_calls; /* dialing at once into one room */
	gint64 call_keep_us;     /* a finished call is kept this long */
	unsigned call_history;   /* and at most this many finished calls */
	GPtrArray *plays;        /* plays whose file a worker checks (http-actions.c) */
};

/* The OpenAPI document (modules/http/openapi.json, compiled in). */
extern const char ce_http_openapi[];

/* http-auth.c */
int ce_http_tokens_load(struct ce_http *h, GError **err);
const char *ce_http_token_check(const char *value);
const struct ce_http_token *ce_http_authenticate(struct ce_http *h, SoupServerMessage *msg);

/* http-api.c: the endpoints; each answers @msg */
void ce_http_health_start(struct ce_http *h);
void ce_http_healthz(struct ce_http *h, SoupServerMessage *msg);
void ce_http_metrics(struct ce_http *h, SoupServerMessage *msg);
void ce_http_rooms(struct ce_http *h, SoupServerMessage *msg);
void ce_http_room(struct ce_http *h, SoupServerMessage *msg, const char *name);
int ce_http_room_state(struct ce_http *h, SoupServerMessage *msg, const char *name);
void ce_http_openapi_doc(struct ce_http *h, SoupServerMessage *msg);
char *ce_http_metric_name(const char *key);
void ce_http_label_value(GString *out, const char *v);

/* http-events.c: the event stream */
void ce_http_events(struct ce_http *h, SoupServerMessage *msg, GHashTable *query);
void ce_http_events_stop(struct ce_http *h);

/* http-actions.c: actions on rooms and legs */
bool ce_http_action(
        struct ce_http *h, SoupServerMessage *msg, const char *rest, const struct ce_http_token *t);
void ce_http_actions_stop(struct ce_http *h);

/* http-calls.c: outbound calls */
bool ce_http_calls(
        struct ce_http *h, SoupServerMessage *msg, const char *path, const struct ce_http_token *t);
int ce_http_calls_start(struct ce_http *h, const struct ce_config *cfg);
void ce_http_calls_stop(struct ce_http *h);

/* http-history.c: the store's events and CDRs */
void ce_http_history_events(struct ce_http *h, SoupServerMessage *msg, GHashTable *query);
void ce_http_history_cdrs(struct ce_http *h, SoupServerMessage *msg, GHashTable *query);
void ce_http_history_stop(struct ce_http *h);

/* http-histograms.c: histograms in /metrics */
void ce_http_histograms(struct ce_http *h, GString *out);
/* http-web.c: the dashboard's static files */
int ce_http_web_load(struct ce_http *h, const struct ce_config *cfg, bool quiet, GError **err);
bool ce_http_web(struct ce_http *h, SoupServerMessage *msg, const char *path);

/* http.c: answers, connections */
GSocket *ce_http_socket(struct ce_http *h, SoupServerMessage *msg);
void ce_http_reply_json(SoupServerMessage *msg, guint status, JsonNode *root);
JsonObject *ce_http_body_object(SoupServerMessage *msg);
void ce_http_add_str(JsonBuilder *b, const char *name, const char *value);
void ce_http_add_int(JsonBuilder *b, const char *name, gint64 value);
void ce_http_add_bool(JsonBuilder *b, const char *name, bool value);
void ce_http_reply_error(SoupServerMessage *msg, guint status, const char *code, const char *fmt,
        ...) G_GNUC_PRINTF(4, 5);

#endif
