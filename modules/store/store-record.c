/* store-record.c - the store's row types: copies, names, states, record life cycle */
#define G_LOG_DOMAIN "store"

#include <errno.h>
#include <string.h>

#include "store-db.h"

static const char *const kind_names[CE_EVENT_N_ROWS] = {
        [CE_EVENT_CREATED] = "created",
        [CE_EVENT_ENTER] = "enter",
        [CE_EVENT_LEAVE] = "leave",
        [CE_EVENT_TALK_START] = "talk-start",
        [CE_EVENT_TALK_STOP] = "talk-stop",
        [CE_EVENT_MUTE] = "mute",
        [CE_EVENT_UNMUTE] = "unmute",
        [CE_EVENT_RECORD_START] = "record-start",
        [CE_EVENT_RECORD_STOP] = "record-stop",
        [CE_EVENT_END_ALERT] = "end-alert",
        [CE_EVENT_LOCK] = "lock",
        [CE_EVENT_UNLOCK] = "unlock",
        [CE_EVENT_KEYPAD] = "keypad",
        [CE_EVENT_END] = "end",
};

static const char *const role_names[] = {"participant", "moderator", "listener"};

/** ce_event_kind_name() - the name stored in events.kind */
const char *ce_event_kind_name(enum ce_event_kind kind)
{
	return (unsigned)kind < CE_EVENT_N_ROWS ? kind_names[kind] : "unknown";
}

/** ce_event_kind_parse() - events.kind text to enum; 0 or -EINVAL */
int ce_event_kind_parse(const char *name, enum ce_event_kind *kind)
{
	for (unsigned i = 0; name && i < CE_EVENT_N_ROWS; i++) {
		if (strcmp(name, kind_names[i]) == 0) {
			*kind = (enum ce_event_kind)i;
			return 0;
		}
	}
	return -EINVAL;
}

/** ce_role_name() - the name stored in participants.role */
const char *ce_role_name(enum ce_role role)
{
	return (unsigned)role < G_N_ELEMENTS(role_names) ? role_names[role] : "participant";
}

/** ce_role_parse() - participants.role text to enum; 0 or -EINVAL */
int ce_role_parse(const char *s, enum ce_role *role)
{
	for (unsigned i = 0; s && i < G_N_ELEMENTS(role_names); i++) {
		if (strcmp(s, role_names[i]) == 0) {
			*role = (enum ce_role)i;
			return 0;
		}
	}
	return -EINVAL;
}

/** ce_store_text() - copy of @s that is valid UTF-8 (bad bytes become U+FFFD) */
char *ce_store_text(const char *s)
{
	if (!s)
		return NULL;
	return g_utf8_validate(s, -1, NULL) ? g_strdup(s) : g_utf8_make_valid(s, -1);
}

/** ce_store_ident() - ce_store_text() cut to at most @max bytes, at a character boundary */
char *ce_store_ident(const char *s, gsize max)
{
	char *t = ce_store_text(s);

	if (t && strlen(t) > max) {
		const char *end = g_utf8_find_prev_char(t, t + max + 1);
		t[end ? end - t : 0] = '\0';
	}
	return t;
}

/** ce_store_time_ok() - whether @t lies in years 1 to 9999 */
bool ce_store_time_ok(gint64 t)
{
	return t >= CE_STORE_TIME_MIN && t <= CE_STORE_TIME_MAX;
}

/** ce_store_pin_equal() - compare PINs without leaking where they differ */
bool ce_store_pin_equal(const char *a, const char *b)
{
	size_t la, lb;
	unsigned char d = 0;

	if (!a || !b)
		return false;
	la = strlen(a);
	lb = strlen(b);
	for (size_t i = 0; i < lb; i++)
		d |= (unsigned char)(b[i] ^ (i < la ? a[i] : 0));
	return d == 0 && la == lb;
}

/**
 * ce_store_number() - a caller's number as matched against participants' numbers
 *
 * Drops spaces, '-', '.', '(' and ')' (as CE_STORE_NUMBER_SQL does to the
 * stored side); nothing else is rewritten, so "+4930..." and "004930..."
 * stay different numbers.  NULL for NULL, for a number longer than
 * CE_STORE_NUMBER_MAX bytes (never looked up) and for one that is empty
 * once normalised.
 */
char *ce_store_number(const char *s)
{
	GString *n;
	char *t = NULL;

	if (!s || strlen(s) > CE_STORE_NUMBER_MAX)
		return NULL;
	n = g_string_new(NULL);
	for (; *s; s++)
		if (!strchr(" -.()", *s))
			g_string_append_c(n, *s);
	if (n->len)
		t = ce_store_text(n->str);
	g_string_free(n, TRUE);
	return t;
}

static void conference_clear(gpointer p)
{
	struct ce_conference *c = p;

	g_free(c->access_number);
	g_free(c->room);
	g_free(c->title);
	g_free(c->pin);
	g_free(c->moderator_pin);
	g_free(c->time_zone);
	g_free(c->record_file);
	g_free(c->language);
	g_free(c->options);
}

/** ce_conference_new() - an empty conference with the schema's defaults; one reference */
struct ce_conference *ce_conference_new(void)
{
	struct ce_conference *c = g_atomic_rc_box_new0(struct ce_conference);

	c->early_join_s = 300;
	c->early_alert_s = 3600;
	c->end_alert_s = 300;
	c->announce_count = true;
	return c;
}

/** ce_conference_ref() - take a reference */
struct ce_conference *ce_conference_ref(struct ce_conference *c)
{
	return g_atomic_rc_box_acquire(c);
}

/** ce_conference_unref() - drop a reference (NULL is fine) */
void ce_conference_unref(struct ce_conference *c)
{
	if (c)
		g_atomic_rc_box_release_full(c, conference_clear);
}

/** ce_conference_dup() - deep copy with every string made valid UTF-8 */
struct ce_conference *ce_conference_dup(const struct ce_conference *c)
{
	struct ce_conference *d = ce_conference_new();

	*d = *c;
	d->access_number = ce_store_text(c->access_number);
	d->room = ce_store_text(c->room);
	d->title = ce_store_text(c->title);
	d->pin = ce_store_text(c->pin);
	d->moderator_pin = ce_store_text(c->moderator_pin);
	d->time_zone = ce_store_text(c->time_zone);
	d->record_file = ce_store_text(c->record_file);
	d->language = ce_store_text(c->language);
	d->options = ce_store_text(c->options);
	return d;
}

/** ce_conference_state() - where @c stands at @now (see enum ce_conference_state) */
enum ce_conference_state ce_conference_state(const struct ce_conference *c, gint64 now)
{
	gint64 join = c->starts_at - (gint64)c->early_join_s * G_USEC_PER_SEC;
	gint64 alert = join - (gint64)c->early_alert_s * G_USEC_PER_SEC;

	if (now < alert)
		return CE_CONF_UNKNOWN;
	if (now < join)
		return CE_CONF_NOT_YET;
	if (now < c->ends_at)
		return CE_CONF_OPEN;
	if (now < c->ends_at + (gint64)c->end_grace_s * G_USEC_PER_SEC)
		return CE_CONF_GRACE;
	return CE_CONF_ENDED;
}

/** ce_participant_free() - free a participant (NULL is fine) */
void ce_participant_free(struct ce_participant *p)
{
	if (!p)
		return;
	g_free(p->name);
	g_free(p->address);
	g_free(p->pin);
	g_free(p->number);
	g_free(p);
}

/** ce_participant_dup() - deep copy with every string made valid UTF-8 */
struct ce_participant *ce_participant_dup(const struct ce_participant *p)
{
	struct ce_participant *d = g_new(struct ce_participant, 1);

	*d = *p;
	d->name = ce_store_text(p->name);
	d->address = ce_store_text(p->address);
	d->pin = ce_store_text(p->pin);
	d->number = ce_store_text(p->number);
	return d;
}

/** ce_event_free() - free an event (NULL is fine) */
void ce_event_free(struct ce_event *ev)
{
	if (!ev)
		return;
	g_free(ev->uuid);
	g_free(ev->room);
	g_free(ev->leg);
	g_free(ev->role);
	g_free(ev->caller);
	g_free(ev->caller_name);
	g_free(ev->called);
	g_free(ev->direction);
	g_free(ev->detail);
	g_free(ev->node);
	g_free(ev);
}

/** ce_cdr_free() - free a CDR (NULL is fine) */
void ce_cdr_free(struct ce_cdr *cdr)
{
	if (!cdr)
		return;
	g_free(cdr->uuid);
	g_free(cdr->room);
	g_free(cdr->leg);
	g_free(cdr->role);
	g_free(cdr->caller);
	g_free(cdr->caller_name);
	g_free(cdr->called);
	g_free(cdr->direction);
	g_free(cdr->reason);
	g_free(cdr->billid);
	g_free(cdr->node);
	g_free(cdr);
}

/** ce_room_live_free() - free a live-room record (NULL is fine) */
void ce_room_live_free(struct ce_room_live *rl)
{
	if (!rl)
		return;
	g_free(rl->room);
	g_free(rl->node);
	g_free(rl);
}

/* The database accepts only these two; anything else is not worth a refused record. */
static char *direction(const char *dir)
{
	return g_strdup(!g_strcmp0(dir, "in") || !g_strcmp0(dir, "out") ? dir : NULL);
}

static char *uuid_or_new(const char *uuid)
{
	if (uuid && *uuid && strlen(uuid) <= CE_STORE_UUID_MAX)
		return ce_store_text(uuid);
	return g_uuid_string_random();
}

/** ce_rec_new_event() - a record holding a sanitized copy of @ev */
struct ce_rec *ce_rec_new_event(const struct ce_event *ev)
{
	struct ce_rec *r = g_new0(struct ce_rec, 1);
	struct ce_event *e = g_new(struct ce_event, 1);

	*e = *ev;
	e->uuid = uuid_or_new(ev->uuid);
	e->room = ce_store_ident(ev->room ? ev->room : "", CE_STORE_ROOM_MAX);
	e->leg = ce_store_text(ev->leg);
	e->role = ce_store_text(ev->role);
	e->caller = ce_store_text(ev->caller);
	e->caller_name = ce_store_text(ev->caller_name);
	e->called = ce_store_text(ev->called);
	e->direction = direction(ev->direction);
	e->detail = ce_store_text(ev->detail);
	e->node = ce_store_ident(ev->node, CE_STORE_ROOM_MAX);
	r->type = CE_REC_EVENT;
	r->ev = e;
	return r;
}

/** ce_rec_new_cdr() - a record holding a sanitized copy of @cdr */
struct ce_rec *ce_rec_new_cdr(const struct ce_cdr *cdr)
{
	struct ce_rec *r = g_new0(struct ce_rec, 1);
	struct ce_cdr *c = g_new(struct ce_cdr, 1);

	*c = *cdr;
	c->uuid = uuid_or_new(cdr->uuid);
	c->room = ce_store_ident(cdr->room ? cdr->room : "", CE_STORE_ROOM_MAX);
	c->leg = ce_store_text(cdr->leg);
	c->role = ce_store_text(cdr->role);
	c->caller = ce_store_text(cdr->caller);
	c->caller_name = ce_store_text(cdr->caller_name);
	c->called = ce_store_text(cdr->called);
	c->direction = direction(cdr->direction);
	c->reason = ce_store_text(cdr->reason);
	c->billid = ce_store_text(cdr->billid);
	c->node = ce_store_ident(cdr->node, CE_STORE_ROOM_MAX);
	r->type = CE_REC_CDR;
	r->cdr = c;
	return r;
}

/** ce_rec_new_live() - a record holding a sanitized copy of @rl */
struct ce_rec *ce_rec_new_live(const struct ce_room_live *rl)
{
	struct ce_rec *r = g_new0(struct ce_rec, 1);
	struct ce_room_live *l = g_new(struct ce_room_live, 1);

	*l = *rl;
	l->room = ce_store_ident(rl->room ? rl->room : "", CE_STORE_ROOM_MAX);
	l->node = ce_store_ident(rl->node, CE_STORE_ROOM_MAX);
	r->type = CE_REC_LIVE;
	r->live = l;
	return r;
}

/** ce_stream_line_free() - free a stream line (NULL is fine) */
void ce_stream_line_free(struct ce_stream_line *l)
{
	if (!l)
		return;
	g_free(l->room);
	g_free(l->line);
	g_free(l->node);
	g_free(l);
}

/** ce_rec_new_line() - a record holding a sanitized copy of stream line @sl */
struct ce_rec *ce_rec_new_line(const struct ce_stream_line *sl)
{
	struct ce_rec *r = g_new0(struct ce_rec, 1);
	struct ce_stream_line *l = g_new(struct ce_stream_line, 1);

	*l = *sl;
	l->room = ce_store_ident(sl->room, CE_STORE_ROOM_MAX);
	l->line = ce_store_text(sl->line ? sl->line : "");
	l->node = ce_store_ident(sl->node, CE_STORE_ROOM_MAX);
	r->type = CE_REC_LINE;
	r->line = l;
	return r;
}

/** ce_rec_free() - free a record and what it holds (NULL is fine) */
void ce_rec_free(struct ce_rec *r)
{
	if (!r)
		return;
	if (r->type == CE_REC_EVENT)
		ce_event_free(r->ev);
	else if (r->type == CE_REC_CDR)
		ce_cdr_free(r->cdr);
	else if (r->type == CE_REC_LIVE)
		ce_room_live_free(r->live);
	else if (r->type == CE_REC_LINE)
		ce_stream_line_free(r->line);
	g_free(r);
}

/** ce_rec_write() - store @r through @ops (0 or a negative errno, see store-db.h) */
int ce_rec_write(
        const struct ce_db_ops *ops, struct ce_db *db, const struct ce_rec *r, GError **err)
{
	switch (r->type) {
	case CE_REC_EVENT:
		return ops->add_event(db, r->ev, err);
	case CE_REC_CDR:
		return ops->add_cdr(db, r->cdr, err);
	case CE_REC_LIVE:
		return ops->room_live(db, r->live, err);
	case CE_REC_LINE:
		return ops->add_line(db, r->line, err);
	}
	return -EINVAL;
}
