/* http-schedule-json.c - the schedule's conferences and participants as JSON: read, checked,
 * written; and the request of an outbound call, read and checked the same way */
#define G_LOG_DOMAIN "http"

#include <stddef.h>
#include <string.h>

#include "modules/store/store.h"
#include "http-schedule.h"

/*
 * A conference as the API reads and writes it; times are RFC 3339 with a
 * zone or offset, written back in UTC and in the conference's time_zone:
 *
 *   {"access_number":"800","room":"800","title":"Board","pin":"1234",
 *    "starts_at":"2026-11-23T10:00:00+01:00","ends_at":"2026-11-23T11:00:00+01:00",
 *    "time_zone":"Europe/Berlin"}
 *
 *   {"id":7,"status":"scheduled","access_number":"800",...,
 *    "starts_at":"2026-11-23T09:00:00Z","starts_at_local":"2026-11-23T10:00:00+01:00",...}
 *
 * Every member is checked against the table below; an unknown one, a
 * wrong type or a value out of its range is refused with a message that
 * names it, and nothing is stored.
 */

#define YEAR_2000_US (946684800LL * G_USEC_PER_SEC)
#define TEN_YEARS_US (3653LL * 86400 * G_USEC_PER_SEC)
#define WINDOW_MAX_S 604800 /* early_join_s, early_alert_s, end_alert_s, end_grace_s */
#define COUNT_MAX    100000 /* max_participants */
#define PIN_MIN      4
#define PIN_MAX      32 /* the lobby's lobby_max_digits default */
#define TEXT_MAX     1024
#define ZONE_MAX     64
#define LANG_MAX     32
#define KEY_CHARS    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+*#._@-"
#define NUMBER_CHARS "0123456789+-.() "
#define LANG_CHARS   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
#define DIAL_CHARS   "0123456789+*#"
#define DIAL_MAX     64

enum kind {
	K_KEY,     /* access number, room: 1..256 (room 1024) of KEY_CHARS */
	K_TEXT,    /* title, name: no control characters */
	K_ADDRESS, /* what to dial: non-empty text */
	K_NUMBER,  /* a caller's number: NUMBER_CHARS, a digit at least */
	K_PIN,     /* PIN_MIN..PIN_MAX digits */
	K_TIME,    /* RFC 3339 with a zone */
	K_ZONE,    /* an IANA time zone */
	K_LANG,
	K_SECS,
	K_COUNT,
	K_BOOL,
	K_ROLE,
	K_DIAL, /* a number Yate routes: 1..DIAL_MAX of DIAL_CHARS */
	K_RING, /* a ring timeout: CE_HTTP_RING_MIN..CE_HTTP_RING_MAX seconds */
};

struct field {
	const char *name;
	enum kind kind;
	size_t off;
	bool required; /* in a POST or PUT */
	bool nullable;
	gsize max; /* strings: bytes */
};

#define CF(name, kind, req, null, max)                                                             \
	{                                                                                          \
#name, kind, offsetof(struct ce_conference, name), req, null, max                  \
	}
#define PF(name, kind, req, null, max)                                                             \
	{                                                                                          \
#name, kind, offsetof(struct ce_participant, name), req, null, max                 \
	}

static const struct field conf_fields[] = {
        CF(access_number, K_KEY, true, false, CE_STORE_ACCESS_MAX),
        CF(room, K_KEY, false, false, CE_STORE_ROOM_MAX),
        CF(title, K_TEXT, false, false, TEXT_MAX),
        CF(pin, K_PIN, false, true, 0),
        CF(moderator_pin, K_PIN, false, true, 0),
        CF(starts_at, K_TIME, true, false, 0),
        CF(ends_at, K_TIME, true, false, 0),
        CF(time_zone, K_ZONE, false, false, ZONE_MAX),
        CF(early_join_s, K_SECS, false, false, 0),
        CF(early_alert_s, K_SECS, false, false, 0),
        CF(end_alert_s, K_SECS, false, false, 0),
        CF(end_grace_s, K_SECS, false, false, 0),
        CF(max_participants, K_COUNT, false, true, 0),
        CF(record, K_BOOL, false, false, 0),
        CF(announce_join, K_BOOL, false, false, 0),
        CF(announce_count, K_BOOL, false, false, 0),
        CF(wait_for_moderator, K_BOOL, false, false, 0),
        CF(end_with_moderator, K_BOOL, false, false, 0),
        CF(muted_on_entry, K_BOOL, false, false, 0),
        CF(always_pin, K_BOOL, false, false, 0),
        CF(language, K_LANG, false, true, LANG_MAX),
};

static const struct field part_fields[] = {
        PF(name, K_TEXT, false, false, TEXT_MAX),
        PF(address, K_ADDRESS, false, true, TEXT_MAX),
        PF(number, K_NUMBER, false, true, CE_STORE_NUMBER_MAX),
        PF(role, K_ROLE, false, false, 0),
        PF(pin, K_PIN, false, true, 0),
        PF(dial_out, K_BOOL, false, false, 0),
};

#define OF(name, kind, max)                                                                        \
	{                                                                                          \
#name, kind, offsetof(struct ce_http_call_req, name), false, false, max            \
	}

static const struct field call_fields[] = {
        OF(number, K_DIAL, DIAL_MAX),
        OF(target, K_ADDRESS, TEXT_MAX),
        OF(room, K_KEY, CE_STORE_ROOM_MAX),
        OF(caller_name, K_TEXT, TEXT_MAX),
        OF(name, K_TEXT, TEXT_MAX),
        OF(timeout_s, K_RING, 0),
        OF(role, K_ROLE, 0),
};

/* Members the API writes and never reads. */
static const char *const read_only[] = {
        "id", "status", "starts_at_local", "ends_at_local", "pin_required", "conference_id", NULL};

/** ce_http_time_parse() - RFC 3339 @s with its zone or offset into *@us; false: not one */
bool ce_http_time_parse(const char *s, gint64 *us)
{
	static const char pattern[] = "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}"
	                              "(\\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})$";
	char *up;
	GDateTime *dt;

	if (!s || strlen(s) > 40 || !g_regex_match_simple(pattern, s, 0, 0))
		return false;
	up = g_ascii_strup(s, -1);
	dt = g_date_time_new_from_iso8601(up, NULL);
	g_free(up);
	if (!dt)
		return false;
	*us = g_date_time_to_unix(dt) * G_USEC_PER_SEC + g_date_time_get_microsecond(dt);
	g_date_time_unref(dt);
	return true;
}

/** ce_http_time_text() - @us as RFC 3339 in @zone (NULL: UTC, written with Z); g_free() it */
char *ce_http_time_text(gint64 us, const char *zone)
{
	GTimeZone *tz = zone ? g_time_zone_new_identifier(zone) : NULL;
	GDateTime *utc =
	        g_date_time_new_from_unix_utc(us / G_USEC_PER_SEC - (us % G_USEC_PER_SEC < 0));
	GDateTime *dt = NULL;
	char *s = NULL;

	if (utc)
		dt = g_date_time_add(utc, (us % G_USEC_PER_SEC + G_USEC_PER_SEC) % G_USEC_PER_SEC);
	if (dt && tz) {
		GDateTime *local = g_date_time_to_timezone(dt, tz);
		g_date_time_unref(dt);
		dt = local;
	}
	if (dt)
		s = g_date_time_format(
		        dt, g_date_time_get_microsecond(dt)
		                    ? (tz ? "%Y-%m-%dT%H:%M:%S.%f%:z" : "%Y-%m-%dT%H:%M:%S.%fZ")
		                    : (tz ? "%Y-%m-%dT%H:%M:%S%:z" : "%Y-%m-%dT%H:%M:%SZ"));
	if (dt)
		g_date_time_unref(dt);
	if (utc)
		g_date_time_unref(utc);
	if (tz)
		g_time_zone_unref(tz);
	return s ? s : g_strdup_printf("%" G_GINT64_FORMAT, us);
}

static bool text_ok(const char *s, gsize max)
{
	if (!*s || strlen(s) > max || !g_utf8_validate(s, -1, NULL))
		return false;
	for (const char *p = s; *p; p = g_utf8_next_char(p)) {
		if (g_unichar_iscntrl(g_utf8_get_char(p)))
			return false;
	}
	return true;
}

static bool chars_ok(const char *s, gsize max, const char *allowed)
{
	return *s && strlen(s) <= max && strspn(s, allowed) == strlen(s);
}

static bool zone_ok(const char *s)
{
	GTimeZone *tz;

	if (!chars_ok(s, ZONE_MAX, KEY_CHARS "/"))
		return false;
	tz = g_time_zone_new_identifier(s);
	if (tz)
		g_time_zone_unref(tz);
	return tz != NULL;
}

/* A string member's value checked by its kind; the reason it is not one in @why. */
static bool string_ok(const struct field *f, const char *s, GString *why)
{
	bool ok;

	switch (f->kind) {
	case K_KEY:
		ok = chars_ok(s, f->max, KEY_CHARS);
		if (!ok)
			g_string_printf(why,
			        "'%s' is 1 to %" G_GSIZE_FORMAT " letters, digits or + * # . _ @ -",
			        f->name, f->max);
		return ok;
	case K_NUMBER:
		ok = chars_ok(s, f->max, NUMBER_CHARS) && strpbrk(s, "0123456789");
		if (!ok)
			g_string_printf(why, "'%s' is a phone number: digits, + - . ( ) and spaces",
			        f->name);
		return ok;
	case K_PIN:
		ok = strlen(s) >= PIN_MIN && chars_ok(s, PIN_MAX, "0123456789");
		if (!ok)
			g_string_printf(why, "'%s' is %d to %d digits", f->name, PIN_MIN, PIN_MAX);
		return ok;
	case K_ZONE:
		ok = zone_ok(s);
		if (!ok)
			g_string_printf(why,
			        "'%s' is not a known time zone (an IANA name such as "
			        "Europe/Berlin)",
			        f->name);
		return ok;
	case K_DIAL:
		ok = chars_ok(s, f->max, DIAL_CHARS);
		if (!ok)
			g_string_printf(why,
			        "'%s' is 1 to %" G_GSIZE_FORMAT
			        " digits, + * or # (a number Yate routes)",
			        f->name, f->max);
		return ok;
	case K_LANG:
		ok = chars_ok(s, f->max, LANG_CHARS);
		if (!ok)
			g_string_printf(
			        why, "'%s' is a language code such as en or de-CH", f->name);
		return ok;
	default:
		ok = text_ok(s, f->max);
		if (!ok)
			g_string_printf(why,
			        "'%s' is 1 to %" G_GSIZE_FORMAT
			        " bytes of text without control characters",
			        f->name, f->max);
		return ok;
	}
}

static bool set_string(const struct field *f, JsonNode *v, void *obj, GString *why)
{
	char **slot = (char **)((char *)obj + f->off);
	const char *s = json_node_get_string(v);

	/* a title or name may be empty */
	if (f->kind == K_TEXT && !*s) {
		g_free(*slot);
		*slot = g_strdup("");
		return true;
	}
	if (!string_ok(f, s, why))
		return false;
	g_free(*slot);
	*slot = g_strdup(s);
	return true;
}

static bool set_int(const struct field *f, JsonNode *v, void *obj, GString *why)
{
	gint64 n = json_node_get_int(v);
	gint64 lo = f->kind == K_COUNT ? 1 : f->kind == K_RING ? CE_HTTP_RING_MIN : 0;
	gint64 hi = f->kind == K_COUNT  ? COUNT_MAX
	            : f->kind == K_RING ? CE_HTTP_RING_MAX
	                                : WINDOW_MAX_S;

	if (n < lo || n > hi) {
		g_string_printf(why,
		        "'%s' is an integer from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT,
		        f->name, lo, hi);
		return false;
	}
	*(int *)((char *)obj + f->off) = (int)n;
	return true;
}

/* null: the member's default (strings NULL, max_participants 0: no limit). */
static void set_null(const struct field *f, void *obj)
{
	void *slot = (char *)obj + f->off;

	if (f->kind == K_COUNT)
		*(int *)slot = 0;
	else
		g_clear_pointer((char **)slot, g_free);
}

static GType type_of(enum kind k)
{
	switch (k) {
	case K_SECS:
	case K_COUNT:
	case K_RING:
		return G_TYPE_INT64;
	case K_BOOL:
		return G_TYPE_BOOLEAN;
	default:
		return G_TYPE_STRING;
	}
}

static const char *type_name(enum kind k)
{
	GType t = type_of(k);

	return t == G_TYPE_INT64     ? "an integer"
	       : t == G_TYPE_BOOLEAN ? "true or false"
	                             : "a string";
}

static bool set_member(const struct field *f, JsonNode *v, void *obj, GString *why)
{
	enum ce_role role;
	gint64 t;

	if (JSON_NODE_HOLDS_NULL(v) && f->nullable) {
		set_null(f, obj);
		return true;
	}
	if (!JSON_NODE_HOLDS_VALUE(v) || json_node_get_value_type(v) != type_of(f->kind)) {
		g_string_printf(why, "'%s' is %s%s", f->name, type_name(f->kind),
		        f->nullable ? " or null" : "");
		return false;
	}
	switch (f->kind) {
	case K_SECS:
	case K_COUNT:
	case K_RING:
		return set_int(f, v, obj, why);
	case K_BOOL:
		*(bool *)((char *)obj + f->off) = json_node_get_boolean(v);
		return true;
	case K_TIME:
		if (!ce_http_time_parse(json_node_get_string(v), &t)) {
			g_string_printf(why,
			        "'%s' is an RFC 3339 time with a zone or offset, such as "
			        "2026-11-23T10:00:00+01:00 or 2026-11-23T09:00:00Z",
			        f->name);
			return false;
		}
		*(gint64 *)((char *)obj + f->off) = t;
		return true;
	case K_ROLE:
		if (ce_role_parse(json_node_get_string(v), &role) < 0) {
			g_string_printf(why, "'%s' is participant, moderator or listener", f->name);
			return false;
		}
		*(enum ce_role *)((char *)obj + f->off) = role;
		return true;
	default:
		return set_string(f, v, obj, why);
	}
}

static const struct field *field_of(const struct field *fields, unsigned n, const char *name)
{
	for (unsigned i = 0; i < n; i++) {
		if (!strcmp(fields[i].name, name))
			return &fields[i];
	}
	return NULL;
}

/* The members of @o into @obj; @full: every required member must be there. */
static bool apply(
        const struct field *fields, unsigned n, JsonObject *o, void *obj, bool full, GString *why)
{
	GList *members = json_object_get_members(o);
	bool ok = true;

	for (GList *m = members; m && ok; m = m->next) {
		const struct field *f = field_of(fields, n, m->data);

		if (!f && g_strv_contains(read_only, m->data))
			g_string_printf(why, "'%s' is read-only", (char *)m->data);
		else if (!f)
			g_string_printf(why, "unknown member '%s'", (char *)m->data);
		ok = f && set_member(f, json_object_get_member(o, m->data), obj, why);
	}
	g_list_free(members);
	for (unsigned i = 0; ok && full && i < n; i++) {
		if (fields[i].required && !json_object_has_member(o, fields[i].name)) {
			g_string_printf(why, "'%s' is required", fields[i].name);
			ok = false;
		}
	}
	return ok;
}

/* The checks of a whole conference, once its members are in. */
static bool conference_ok(
        const struct ce_conference *c, gint64 now, gint64 max_duration, GString *why)
{
	if (c->starts_at < YEAR_2000_US || c->ends_at < YEAR_2000_US)
		g_string_printf(why, "the times are in the year 2000 or later");
	else if (c->starts_at > now + TEN_YEARS_US || c->ends_at > now + TEN_YEARS_US)
		g_string_printf(why, "the times are at most 10 years ahead");
	else if (c->ends_at <= c->starts_at)
		g_string_printf(why, "'ends_at' is after 'starts_at'");
	else if (c->ends_at - c->starts_at > max_duration)
		g_string_printf(why,
		        "the conference lasts at most %" G_GINT64_FORMAT
		        " hours ([http] max_duration)",
		        max_duration / G_USEC_PER_SEC / 3600);
	else if (c->pin && c->moderator_pin && !strcmp(c->pin, c->moderator_pin))
		g_string_printf(why, "'pin' and 'moderator_pin' are different");
	else
		return true;
	return false;
}

/**
 * ce_http_conference_read() - @o (a request's body) into conference @c
 *
 * @full: a POST or PUT, which needs every required member; a PATCH sets
 * only what it names.  @now and @max_duration (us) bound the times.  A room
 * not given is the access number.  False, with the reason in @why, when
 * @o is not a valid conference.
 */
bool ce_http_conference_read(JsonObject *o, struct ce_conference *c, bool full, gint64 now,
        gint64 max_duration, GString *why)
{
	if (!apply(conf_fields, G_N_ELEMENTS(conf_fields), o, c, full, why))
		return false;
	if (!c->room || (full && !json_object_has_member(o, "room"))) {
		g_free(c->room);
		c->room = g_strdup(c->access_number);
	}
	if (!c->time_zone)
		c->time_zone = g_strdup("UTC");
	if (!c->title)
		c->title = g_strdup(""); /* as the schema's default */
	return conference_ok(c, now, max_duration, why);
}

/**
 * ce_http_participant_read() - @o (a request's body) into a new participant @p
 *
 * False, with the reason in @why, when @o is not a valid participant.
 */
bool ce_http_participant_read(JsonObject *o, struct ce_participant *p, GString *why)
{
	if (!apply(part_fields, G_N_ELEMENTS(part_fields), o, p, true, why))
		return false;
	if (!p->name)
		p->name = g_strdup(""); /* as the schema's default */
	if (p->dial_out && !p->address) {
		g_string_printf(why, "a participant with 'dial_out' needs an 'address' to dial");
		return false;
	}
	return true;
}

/**
 * ce_http_call_req_read() - @o (POST /api/v1/calls) into @r, which holds the
 * defaults (timeout_s, role); exactly one of number and target, and a room.
 * False, with the reason in @why, when @o is not a valid request.
 */
bool ce_http_call_req_read(JsonObject *o, struct ce_http_call_req *r, GString *why)
{
	if (!apply(call_fields, G_N_ELEMENTS(call_fields), o, r, false, why))
		return false;
	if (!r->number == !r->target)
		g_string_printf(why, "give either 'number' (routed by Yate) or 'target' (such as "
		                     "sip/100@example.org), not both");
	else if (r->target && !strchr(r->target, '/'))
		g_string_printf(why, "'target' is a Yate target such as sip/100@example.org");
	else if (!r->room)
		g_string_printf(why, "'room' is required");
	else
		return true;
	return false;
}

/** ce_http_call_req_clear() - free the strings of @r */
void ce_http_call_req_clear(struct ce_http_call_req *r)
{
	g_free(r->number);
	g_free(r->target);
	g_free(r->room);
	g_free(r->caller_name);
	g_free(r->name);
}

static void add_time(JsonBuilder *b, const char *name, gint64 us, const char *zone)
{
	char *s = ce_http_time_text(us, zone);

	ce_http_add_str(b, name, s);
	g_free(s);
}

/* Every member of @fields from @obj; PINs only for @admin. */
static void write_fields(
        JsonBuilder *b, const struct field *fields, unsigned n, const void *obj, bool admin)
{
	for (unsigned i = 0; i < n; i++) {
		const struct field *f = &fields[i];
		const void *slot = (const char *)obj + f->off;

		if (f->kind == K_PIN && !admin)
			continue;
		if (f->kind == K_SECS || f->kind == K_COUNT) {
			if (f->nullable && !*(const int *)slot)
				ce_http_add_str(b, f->name, NULL);
			else
				ce_http_add_int(b, f->name, *(const int *)slot);
		} else if (f->kind == K_BOOL) {
			ce_http_add_bool(b, f->name, *(const bool *)slot);
		} else if (f->kind == K_TIME) {
			add_time(b, f->name, *(const gint64 *)slot, NULL);
		} else if (f->kind == K_ROLE) {
			ce_http_add_str(b, f->name, ce_role_name(*(const enum ce_role *)slot));
		} else {
			ce_http_add_str(b, f->name, *(char *const *)slot);
		}
	}
}

/**
 * ce_http_conference_write() - conference @c as a JSON object into @b
 *
 * Its PINs only for an @admin token; pin_required says whether it has one.
 */
void ce_http_conference_write(JsonBuilder *b, const struct ce_conference *c, bool admin)
{
	const char *zone = c->time_zone && zone_ok(c->time_zone) ? c->time_zone : "UTC";

	json_builder_begin_object(b);
	ce_http_add_int(b, "id", c->id);
	ce_http_add_str(b, "status", c->cancelled ? "cancelled" : "scheduled");
	write_fields(b, conf_fields, G_N_ELEMENTS(conf_fields), c, admin);
	add_time(b, "starts_at_local", c->starts_at, zone);
	add_time(b, "ends_at_local", c->ends_at, zone);
	ce_http_add_bool(b, "pin_required", c->pin != NULL);
	json_builder_end_object(b);
}

/** ce_http_participant_write() - participant @p as a JSON object into @b (its PIN for @admin) */
void ce_http_participant_write(JsonBuilder *b, const struct ce_participant *p, bool admin)
{
	json_builder_begin_object(b);
	ce_http_add_int(b, "id", p->id);
	ce_http_add_int(b, "conference_id", p->conference_id);
	write_fields(b, part_fields, G_N_ELEMENTS(part_fields), p, admin);
	json_builder_end_object(b);
}
