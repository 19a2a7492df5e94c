/* json.c - the monitor's events and CDRs as JSON lines (one object per line) */
#define G_LOG_DOMAIN "monitor"

#include <string.h>

#include "modules/store/store.h"
#include "monitor.h"

/*
 * One line per record, fields absent when unknown (docs/monitor.md):
 *
 *   {"type":"event","seq":3,"event":"talk-start","time":"2026-11-22T06:41:37.123456Z",
 *    "time_us":1795326783123456,"node":"pbx1","source":"yate","room":"yroom",
 *    "targetid":"conf-monitor/yroom","leg":"conf/1","peer":"tone/4","energy":22}
 *   {"type":"cdr","seq":9,"room":"yroom",...,"joined":"...","left":"...",
 *    "duration_ms":5000,"talk_ms":1200,"reason":"hangup"}
 */

/** The JSON name of event @kind: the store's ("enter", "talk-start", ...), "destroyed" for END. */
const char *ce_mon_kind_name(enum ce_event_kind kind)
{
	return kind == CE_EVENT_END ? "destroyed" : ce_event_kind_name(kind);
}

/** "yate" or "engine". */
const char *ce_mon_source_name(enum ce_room_source src)
{
	return src == CE_ROOM_SRC_ENGINE ? "engine" : "yate";
}

/** The detail of the monitor's record @ev: a leave's reason, the recording's file or why it
 * stopped, a keypad action. */
const char *ce_mon_detail(const struct ce_room_event *ev)
{
	switch (ev->kind) {
	case CE_EVENT_LEAVE:
	case CE_EVENT_RECORD_STOP:
		return ev->reason;
	case CE_EVENT_RECORD_START:
		return ev->record;
	case CE_EVENT_KEYPAD:
		return ev->action;
	default:
		return NULL;
	}
}

/** Append @s as a JSON string; bytes that are not UTF-8 become U+FFFD. */
void ce_mon_json_string(GString *out, const char *s)
{
	char *valid = g_utf8_make_valid(s, -1);

	g_string_append_c(out, '"');
	for (const unsigned char *p = (const unsigned char *)valid; *p; p++) {
		switch (*p) {
		case '"':
			g_string_append(out, "\\\"");
			break;
		case '\\':
			g_string_append(out, "\\\\");
			break;
		case '\n':
			g_string_append(out, "\\n");
			break;
		case '\r':
			g_string_append(out, "\\r");
			break;
		case '\t':
			g_string_append(out, "\\t");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				g_string_append_printf(out, "\\u%04x", *p);
			else
				g_string_append_c(out, (char)*p);
		}
	}
	g_string_append_c(out, '"');
	g_free(valid);
}

/** @us (microseconds since the epoch) as a UTC RFC 3339 time with microseconds; NULL when out
 * of GDateTime's range.  g_free() it. */
char *ce_mon_time_text(gint64 us)
{
	GDateTime *dt = g_date_time_new_from_unix_utc(us / G_USEC_PER_SEC);
	gint64 frac = us % G_USEC_PER_SEC;
	char *s, *text;

	if (frac < 0 && dt) {
		GDateTime *prev = g_date_time_add_seconds(dt, -1);

		g_date_time_unref(dt);
		dt = prev;
		frac += G_USEC_PER_SEC;
	}
	if (!dt)
		return NULL;
	s = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S");
	text = g_strdup_printf("%s.%06" G_GINT64_FORMAT "Z", s, frac);
	g_free(s);
	g_date_time_unref(dt);
	return text;
}

/** Append @us (microseconds since the epoch) as a quoted UTC ISO 8601 time. */
void ce_mon_json_time(GString *out, gint64 us)
{
	char *t = ce_mon_time_text(us);

	if (t)
		g_string_append_printf(out, "\"%s\"", t);
	else
		g_string_append(out, "null");
	g_free(t);
}

static void field_str(GString *out, const char *key, const char *v)
{
	if (!v)
		return;
	g_string_append_printf(out, ",\"%s\":", key);
	ce_mon_json_string(out, v);
}

static void field_int(GString *out, const char *key, gint64 v)
{
	g_string_append_printf(out, ",\"%s\":%" G_GINT64_FORMAT, key, v);
}

static void field_time(GString *out, const char *key, gint64 us)
{
	g_string_append_printf(out, ",\"%s\":", key);
	ce_mon_json_time(out, us);
	g_string_append_printf(out, ",\"%s_us\":%" G_GINT64_FORMAT, key, us);
}

/* Who the participant is, under the names of the store's columns. */
static void field_who(GString *out, gint64 participant_id, const char *role, const char *caller,
        const char *caller_name, const char *called, const char *direction)
{
	if (participant_id > 0)
		field_int(out, "participant_id", participant_id);
	field_str(out, "role", role);
	field_str(out, "caller", caller);
	field_str(out, "caller_name", caller_name);
	field_str(out, "called", called);
	field_str(out, "direction", direction);
}

static void head(GString *out, const char *type, guint64 seq, const char *node)
{
	g_string_append_printf(out, "{\"type\":\"%s\",\"seq\":%" G_GUINT64_FORMAT, type, seq);
	field_str(out, "node", node);
}

/** Append the monitor's record @ev as one JSON line (with its newline); @seq numbers the lines. */
void ce_mon_json_event(GString *out, const struct ce_room_event *ev, const char *node, guint64 seq)
{
	const struct ce_room_who *w = &ev->who;

	head(out, "event", seq, node);
	g_string_append_printf(out, ",\"event\":\"%s\"", ce_mon_kind_name(ev->kind));
	field_time(out, "time", ev->at);
	g_string_append_printf(out, ",\"source\":\"%s\"", ce_mon_source_name(ev->source));
	field_str(out, "room", ev->room);
	field_str(out, "targetid", ev->target);
	if (w->conference_id > 0)
		field_int(out, "conference_id", w->conference_id);
	field_str(out, "leg", ev->leg);
	field_str(out, "peer", ev->peer);
	field_who(
	        out, w->participant_id, w->role, w->caller, w->callername, w->called, w->direction);
	field_str(out, "billid", w->billid);
	if (ev->users >= 0)
		field_int(out, "users", ev->users);
	if (ev->maxusers >= 0)
		field_int(out, "maxusers", ev->maxusers);
	if (ev->energy >= 0)
		field_int(out, "energy", ev->energy);
	if (ev->duration_ms >= 0)
		field_int(out, "duration_ms", ev->duration_ms);
	field_str(out, ev->kind == CE_EVENT_LEAVE ? "reason" : "detail", ce_mon_detail(ev));
	g_string_append(out, "}\n");
}

/** Append CDR @cdr as one JSON line (with its newline). */
void ce_mon_json_cdr(GString *out, const struct ce_mon_cdr *cdr, const char *node, guint64 seq)
{
	head(out, "cdr", seq, node);
	g_string_append_printf(out, ",\"source\":\"%s\"", ce_mon_source_name(cdr->source));
	field_str(out, "room", cdr->room);
	field_str(out, "targetid", cdr->target);
	if (cdr->conference_id > 0)
		field_int(out, "conference_id", cdr->conference_id);
	field_str(out, "leg", cdr->leg);
	field_str(out, "peer", cdr->peer);
	field_who(out, cdr->participant_id, cdr->role, cdr->caller, cdr->caller_name, cdr->called,
	        cdr->direction);
	field_str(out, "billid", cdr->billid);
	field_time(out, "joined", cdr->joined_at);
	field_time(out, "left", cdr->left_at);
	field_int(out, "duration_ms", (cdr->left_at - cdr->joined_at) / 1000);
	field_int(out, "talk_ms", cdr->talk_ms);
	field_str(out, "reason", cdr->reason);
	g_string_append(out, "}\n");
}

/** Append another module's line (ce_monitor_post): @members already JSON, each led by a comma. */
void ce_mon_json_other(GString *out, const char *type, const char *node, guint64 seq, gint64 now,
        const char *members)
{
	head(out, type, seq, node);
	field_time(out, "time", now);
	g_string_append(out, members);
	g_string_append(out, "}\n");
}

/** The first line of a subscriber's stream: protocol version, node and time. */
void ce_mon_json_hello(GString *out, const char *node, gint64 now)
{
	g_string_append(out, "{\"type\":\"hello\",\"version\":1");
	field_str(out, "node", node);
	field_time(out, "time", now);
	g_string_append(out, "}\n");
}
