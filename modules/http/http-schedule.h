/* http-schedule.h - the HTTP API's schedule: /api/v1/conferences and their participants */
#ifndef CE_HTTP_SCHEDULE_H
#define CE_HTTP_SCHEDULE_H

#include "http.h"
#include "modules/store/store.h"

struct ce_conference;
struct ce_participant;

/* http-schedule.c: the endpoints, answered when the store has answered */
bool ce_http_schedule(struct ce_http *h, SoupServerMessage *msg, const char *path,
        GHashTable *query, const struct ce_http_token *t);
void ce_http_schedule_stop(struct ce_http *h);

/* The body of POST /api/v1/calls (http-calls.c). */
#define CE_HTTP_RING_MIN 5
#define CE_HTTP_RING_MAX 600
struct ce_http_call_req {
	char *number;      /* routed by Yate, or NULL */
	char *target;      /* a Yate target (sip/...), or NULL */
	char *room;        /* the room it joins */
	char *caller_name; /* callername= the callee sees, or NULL */
	char *name;        /* the participant's name in the room, or NULL */
	int timeout_s;     /* how long it may ring */
	enum ce_role role;
};

/* http-schedule-json.c: conferences and participants read from and written as JSON */
bool ce_http_time_parse(const char *s, gint64 *us);
char *ce_http_time_text(gint64 us, const char *zone);
bool ce_http_conference_read(JsonObject *o, struct ce_conference *c, bool full, gint64 now,
        gint64 max_duration, GString *why);
bool ce_http_participant_read(JsonObject *o, struct ce_participant *p, GString *why);
void ce_http_conference_write(JsonBuilder *b, const struct ce_conference *c, bool admin);
void ce_http_participant_write(JsonBuilder *b, const struct ce_participant *p, bool admin);
bool ce_http_call_req_read(JsonObject *o, struct ce_http_call_req *r, GString *why);
void ce_http_call_req_clear(struct ce_http_call_req *r);

#endif
