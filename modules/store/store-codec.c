/* store-codec.c - history records to and from bytes for the spool */
#define G_LOG_DOMAIN "store"

/*
 * A spooled record is a serialized GVariant of type (ya{sv}): the record
 * type (1 event, 2 CDR, 3 live room, 4 event stream line) and a dictionary of the fields that
 * are set, for example
 *   (1, {'uuid': <'5f0c…'>, 'kind': <'enter'>, 'at': <int64 1795000000000000>,
 *        'room': <'board'>, 'caller': <'+4930123'>})
 * Unknown keys are ignored and missing ones read as NULL or 0, so a spool
 * written by another version still replays.  Strings are valid UTF-8
 * already (ce_rec_new_* made them so).
 */

#include <errno.h>
#include <string.h>

#include "store-db.h"

#define REC_TYPE "(ya{sv})"

static void put_s(GVariantBuilder *b, const char *key, const char *s)
{
	if (s)
		g_variant_builder_add(b, "{sv}", key, g_variant_new_string(s));
}

static void put_x(GVariantBuilder *b, const char *key, gint64 x)
{
	if (x)
		g_variant_builder_add(b, "{sv}", key, g_variant_new_int64(x));
}

static void event_to(GVariantBuilder *b, const struct ce_event *ev)
{
	put_s(b, "uuid", ev->uuid);
	put_s(b, "kind", ce_event_kind_name(ev->kind));
	put_x(b, "at", ev->at);
	put_s(b, "room", ev->room);
	put_x(b, "conference_id", ev->conference_id);
	put_s(b, "leg", ev->leg);
	put_x(b, "participant_id", ev->participant_id);
	put_s(b, "role", ev->role);
	put_s(b, "caller", ev->caller);
	put_s(b, "caller_name", ev->caller_name);
	put_s(b, "called", ev->called);
	put_s(b, "direction", ev->direction);
	put_s(b, "detail", ev->detail);
	put_s(b, "node", ev->node);
	put_x(b, "seq", ev->seq);
}

static void cdr_to(GVariantBuilder *b, const struct ce_cdr *c)
{
	put_s(b, "uuid", c->uuid);
	put_s(b, "room", c->room);
	put_x(b, "conference_id", c->conference_id);
	put_s(b, "leg", c->leg);
	put_x(b, "participant_id", c->participant_id);
	put_s(b, "role", c->role);
	put_s(b, "caller", c->caller);
	put_s(b, "caller_name", c->caller_name);
	put_s(b, "called", c->called);
	put_s(b, "direction", c->direction);
	put_x(b, "joined_at", c->joined_at);
	put_x(b, "left_at", c->left_at);
	put_x(b, "talk_ms", c->talk_ms);
	put_x(b, "duration_ms", c->duration_ms);
	put_s(b, "reason", c->reason);
	put_s(b, "billid", c->billid);
	put_s(b, "node", c->node);
	put_x(b, "seq", c->seq);
}

static void live_to(GVariantBuilder *b, const struct ce_room_live *l)
{
	put_s(b, "room", l->room);
	put_x(b, "conference_id", l->conference_id);
	put_x(b, "participants", l->participants);
	put_x(b, "started_at", l->started_at);
	put_x(b, "updated_at", l->updated_at);
	put_s(b, "node", l->node);
}

static void line_to(GVariantBuilder *b, const struct ce_stream_line *l)
{
	put_x(b, "seq", l->seq);
	put_x(b, "run", l->run);
	put_x(b, "at", l->at);
	put_s(b, "room", l->room);
	put_x(b, "conference_id", l->conference_id);
	put_s(b, "line", l->line);
	put_s(b, "node", l->node);
}

/** ce_rec_serialize() - the spool bytes of @r */
GBytes *ce_rec_serialize(const struct ce_rec *r)
{
	GVariantBuilder b;
	GVariant *v;
	GBytes *bytes;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
	if (r->type == CE_REC_EVENT)
		event_to(&b, r->ev);
	else if (r->type == CE_REC_CDR)
		cdr_to(&b, r->cdr);
	else if (r->type == CE_REC_LINE)
		line_to(&b, r->line);
	else
		live_to(&b, r->live);
	v = g_variant_ref_sink(
	        g_variant_new("(y@a{sv})", (guint8)r->type, g_variant_builder_end(&b)));
	bytes = g_variant_get_data_as_bytes(v);
	g_variant_unref(v);
	return bytes;
}

static char *get_s(GVariant *d, const char *key)
{
	char *s = NULL;

	if (!g_variant_lookup(d, key, "s", &s))
		return NULL;
	return s;
}

static gint64 get_x(GVariant *d, const char *key)
{
	gint64 x = 0;

	g_variant_lookup(d, key, "x", &x);
	return x;
}

static int event_from(struct ce_rec *r, GVariant *d)
{
	struct ce_event *ev = g_new0(struct ce_event, 1);
	char *kind = get_s(d, "kind");
	int err;

	r->ev = ev;
	err = ce_event_kind_parse(kind, &ev->kind);
	g_free(kind);
	ev->uuid = get_s(d, "uuid");
	ev->at = get_x(d, "at");
	ev->room = get_s(d, "room");
	ev->conference_id = get_x(d, "conference_id");
	ev->leg = get_s(d, "leg");
	ev->participant_id = get_x(d, "participant_id");
	/* role, called and direction are absent in records spooled before 003 */
	ev->role = get_s(d, "role");
	ev->caller = get_s(d, "caller");
	ev->caller_name = get_s(d, "caller_name");
	ev->called = get_s(d, "called");
	ev->direction = get_s(d, "direction");
	ev->detail = get_s(d, "detail");
	ev->node = get_s(d, "node");
	ev->seq = get_x(d, "seq");
	return err < 0 || !ev->uuid || !ev->room ? -EINVAL : 0;
}

static int cdr_from(struct ce_rec *r, GVariant *d)
{
	struct ce_cdr *c = g_new0(struct ce_cdr, 1);

	r->cdr = c;
	c->uuid = get_s(d, "uuid");
	c->room = get_s(d, "room");
	c->conference_id = get_x(d, "conference_id");
	c->leg = get_s(d, "leg");
	c->participant_id = get_x(d, "participant_id");
	c->role = get_s(d, "role");
	c->caller = get_s(d, "caller");
	c->caller_name = get_s(d, "caller_name");
	c->called = get_s(d, "called");
	c->direction = get_s(d, "direction"); /* absent before 003-participant-identity */
	c->joined_at = get_x(d, "joined_at");
	c->left_at = get_x(d, "left_at");
	c->talk_ms = get_x(d, "talk_ms");
	c->duration_ms = get_x(d, "duration_ms");
	c->reason = get_s(d, "reason");
	c->billid = get_s(d, "billid"); /* absent in records spooled before 002-cdr-billid */
	c->node = get_s(d, "node");
	c->seq = get_x(d, "seq"); /* absent in records spooled before 006-event-stream */
	return !c->uuid || !c->room ? -EINVAL : 0;
}

static int live_from(struct ce_rec *r, GVariant *d)
{
	struct ce_room_live *l = g_new0(struct ce_room_live, 1);

	r->live = l;
	l->room = get_s(d, "room");
	l->conference_id = get_x(d, "conference_id");
	l->participants = (int)CLAMP(get_x(d, "participants"), 0, G_MAXINT);
	l->started_at = get_x(d, "started_at");
	l->updated_at = get_x(d, "updated_at");
	l->node = get_s(d, "node");
	return !l->room ? -EINVAL : 0;
}

static int line_from(struct ce_rec *r, GVariant *d)
{
	struct ce_stream_line *l = g_new0(struct ce_stream_line, 1);

	r->line = l;
	l->seq = get_x(d, "seq");
	l->run = get_x(d, "run");
	l->at = get_x(d, "at");
	l->room = get_s(d, "room");
	l->conference_id = get_x(d, "conference_id");
	l->line = get_s(d, "line");
	l->node = get_s(d, "node");
	return !l->line || l->seq <= 0 ? -EINVAL : 0;
}

/**
 * ce_rec_deserialize() - a record from spool bytes (untrusted)
 *
 * Returns 0 with *@rp set, or -EINVAL for bytes that are not a record.
 */
int ce_rec_deserialize(struct ce_rec **rp, GBytes *data)
{
	GVariant *v =
	        g_variant_ref_sink(g_variant_new_from_bytes(G_VARIANT_TYPE(REC_TYPE), data, FALSE));
	struct ce_rec *r = g_new0(struct ce_rec, 1);
	GVariant *d = NULL;
	guint8 type = 0;
	int err = -EINVAL;

	g_variant_get(v, "(y@a{sv})", &type, &d);
	r->type = (enum ce_rec_type)type;
	if (type == CE_REC_EVENT)
		err = event_from(r, d);
	else if (type == CE_REC_CDR)
		err = cdr_from(r, d);
	else if (type == CE_REC_LIVE)
		err = live_from(r, d);
	else if (type == CE_REC_LINE)
		err = line_from(r, d);
	g_variant_unref(d);
	g_variant_unref(v);
	if (err < 0) {
		ce_rec_free(r);
		r = NULL;
	}
	*rp = r;
	return err;
}
