/* test-store.c - the store on SQLite and PostgreSQL: migrations, lookups, admission, history,
 * hostile data */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "store-fixture.h"

#define HOUR   (G_GINT64_CONSTANT(3600) * G_USEC_PER_SEC)
#define MIN_US (G_GINT64_CONSTANT(60) * G_USEC_PER_SEC)
/* 2026-11-23 09:00:00 UTC */
#define T0 (G_GINT64_CONSTANT(1795424400) * G_USEC_PER_SEC)

/* Time columns as integer microseconds, whatever the backend stores. */
static char *usec(struct fx *f, const char *col)
{
	if (f->backend == CE_STORE_SQLITE)
		return g_strdup(col);
	return g_strdup_printf("(extract(epoch FROM %s) * 1000000)::bigint", col);
}

static struct ce_conference *meeting(const char *access, const char *room, gint64 start)
{
	struct ce_conference *c = ce_conference_new();

	c->access_number = g_strdup(access);
	c->room = g_strdup(room);
	c->title = g_strdup("Board meeting");
	c->pin = g_strdup("1234");
	c->moderator_pin = g_strdup("9999");
	c->starts_at = start;
	c->ends_at = start + HOUR;
	c->time_zone = g_strdup("Europe/Berlin");
	c->early_join_s = 600;
	c->early_alert_s = 3600;
	return c;
}

struct admit_wait {
	bool done;
	enum ce_admit_result result;
	enum ce_role role;
	gint64 conference_id;
	gint64 participant_id;
	char *reason;
};

static void admit_done(const struct ce_admission *a, void *arg)
{
	struct admit_wait *w = arg;

	w->result = a->result;
	w->role = a->role;
	w->conference_id = a->conference ? a->conference->id : 0;
	w->participant_id = a->participant ? a->participant->id : 0;
	w->reason = g_strdup(a->reason);
	w->done = true;
}

/* Admission of a caller calling from @caller (NULL: an unknown number). */
static enum ce_admit_result admit_from(struct fx *f, const char *key, const char *pin,
        const char *caller, gint64 now, struct admit_wait *w)
{
	memset(w, 0, sizeof(*w));
	g_assert_cmpint(ce_store_admit(f->st, key, pin, caller, now, admit_done, w, NULL), ==, 0);
	fx_wait(f, &w->done);
	g_assert_nonnull(w->reason);
	g_free(w->reason);
	w->reason = NULL;
	return w->result;
}

static enum ce_admit_result admit(
        struct fx *f, const char *key, const char *pin, gint64 now, struct admit_wait *w)
{
	return admit_from(f, key, pin, NULL, now, w);
}

struct find_wait {
	bool done;
	int err;
	GPtrArray *rows;
};

static void find_done(int err, GPtrArray *rows, void *arg)
{
	struct find_wait *w = arg;

	w->err = err;
	w->rows = rows ? g_ptr_array_ref(rows) : NULL;
	w->done = true;
}

static GPtrArray *find(struct fx *f, const char *key, gint64 now)
{
	struct find_wait w = {0};

	g_assert_cmpint(ce_store_find_conferences(f->st, key, now, find_done, &w, NULL), ==, 0);
	fx_wait(f, &w.done);
	g_assert_cmpint(w.err, ==, 0);
	return w.rows;
}

static void test_migrations(struct fx *f, gconstpointer data)
{
	const struct ce_migration *m =
	        f->backend == CE_STORE_SQLITE ? ce_migrations_sqlite : ce_migrations_postgresql;
	GError *err = NULL;
	int n = 0;

	if (f->skip)
		return;
	for (; m->sql; m++)
		g_assert_cmpint(m->version, ==, ++n); /* numbered 1, 2, ... without gaps */
	g_assert_cmpint(fx_query_int(f, "SELECT max(version) FROM schema_migrations"), ==, n);
	fx_close(f);
	g_assert_cmpint(fx_open(f, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM schema_migrations"), ==, n);
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM conferences"), ==, 0);
	/* a schema newer than the engine is refused with a clear error */
	fx_close(f);
	fx_exec(f, "INSERT INTO schema_migrations (version, name) VALUES (999, 'future')");
	g_assert_cmpint(fx_open(f, &err), <, 0);
	g_assert_error(err, CE_STORE_ERROR, CE_STORE_ERROR_SCHEMA);
	g_assert_nonnull(strstr(err->message, "newer"));
	g_clear_error(&err);
	fx_exec(f, "DELETE FROM schema_migrations WHERE version = 999");
	g_assert_cmpint(fx_open(f, &err), ==, 0);
}

/* Insert an event of @kind straight into the database; 0, or -EIO when it refuses. */
static int put_kind(struct fx *f, const char *uuid, const char *kind)
{
	char *sql = g_strdup_printf("INSERT INTO events (uuid, at, kind, room) VALUES "
	                            "('%s', %s, '%s', 'r')",
	        uuid, f->backend == CE_STORE_SQLITE ? "1" : "now()", kind);
	int err = fx_try_exec(f, sql);

	g_free(sql);
	return err;
}

/*
 * Migration 005 on a database that has history: rows written at version 3
 * keep their ids and columns through SQLite's table rebuild and
 * PostgreSQL's new CHECK; the new kinds go in, an unknown one still not.
 */
static void test_upgrade_005(struct fx *f, gconstpointer data)
{
	const struct ce_migration *m =
	        f->backend == CE_STORE_SQLITE ? ce_migrations_sqlite : ce_migrations_postgresql;
	GError *err = NULL;
	char *col, *sql;

	(void)data;
	if (f->skip)
		return;
	fx_close(f);
	if (f->backend == CE_STORE_SQLITE)
		g_assert_cmpint(g_remove(f->sqlite_path), ==, 0);
	else
		fx_exec(f, "DROP SCHEMA public CASCADE; CREATE SCHEMA public");
	for (; m->sql && m->version <= 3; m++)
		fx_exec(f, m->sql);
	sql = g_strdup_printf("INSERT INTO events (id, uuid, at, kind, room, leg, role, direction) "
	                      "VALUES (7, 'u7', %s, 'enter', 'r', 'dumb/1', 'moderator', 'in')",
	        f->backend == CE_STORE_SQLITE ? "1" : "now()");
	fx_exec(f, sql);
	g_free(sql);
	g_assert_cmpint(put_kind(f, "u8", "keypad"), ==, -EIO);
	g_assert_cmpint(fx_open(f, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpint(fx_query_int(f, "SELECT max(version) FROM schema_migrations"), >=, 5);
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM events"), ==, 1);
	col = fx_query(f, "SELECT role FROM events WHERE id = 7 AND direction = 'in'");
	g_assert_cmpstr(col, ==, "moderator");
	g_free(col);
	g_assert_cmpint(put_kind(f, "k1", "lock"), ==, 0);
	g_assert_cmpint(put_kind(f, "k2", "unlock"), ==, 0);
	g_assert_cmpint(put_kind(f, "k3", "keypad"), ==, 0);
	g_assert_cmpint(put_kind(f, "k4", "bogus"), ==, -EIO);
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM events"), ==, 4);
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM events WHERE room = 'r' AND "
	                                "kind IN ('lock', 'unlock', 'keypad')"),
	        ==, 3);
}

static void test_windows(struct fx *f, gconstpointer data)
{
	struct ce_conference *c = meeting("800", "board", T0);
	struct admit_wait w;
	gint64 id;

	if (f->skip)
		goto out;
	c->end_grace_s = 120;
	id = fx_put_conference(f, c);
	g_assert_cmpint(admit(f, "800", "1234", T0 - 3 * HOUR, &w), ==, CE_ADMIT_NO_CONFERENCE);
	g_assert_cmpint(admit(f, "800", "1234", T0 - 30 * MIN_US, &w), ==, CE_ADMIT_NOT_STARTED);
	g_assert_cmpint(w.conference_id, ==, id);
	g_assert_cmpint(admit(f, "800", "1234", T0 - 11 * MIN_US, &w), ==, CE_ADMIT_NOT_STARTED);
	g_assert_cmpint(admit(f, "800", "1234", T0 - 10 * MIN_US, &w), ==, CE_ADMIT_OK);
	g_assert_cmpint(admit(f, "800", "1234", T0 + 59 * MIN_US, &w), ==, CE_ADMIT_OK);
	g_assert_cmpint(w.role, ==, CE_ROLE_PARTICIPANT);
	g_assert_cmpint(admit(f, "800", "1234", T0 + HOUR, &w), ==, CE_ADMIT_ENDED);
	g_assert_cmpint(admit(f, "800", "1234", T0 + 3 * HOUR, &w), ==, CE_ADMIT_ENDED);
	g_assert_cmpint(admit(f, "800", "1234", T0 + 30 * HOUR, &w), ==, CE_ADMIT_NO_CONFERENCE);
	/* by room name as well as by access number */
	g_assert_cmpint(admit(f, "board", "1234", T0, &w), ==, CE_ADMIT_OK);
	g_assert_cmpint(admit(f, "801", "1234", T0, &w), ==, CE_ADMIT_NO_CONFERENCE);
	g_assert_cmpint(ce_conference_state(c, T0 + HOUR + 60 * G_USEC_PER_SEC), ==, CE_CONF_GRACE);
	/* cancelled */
	c->id = id;
	c->cancelled = true;
	fx_put_conference(f, c);
	g_assert_cmpint(admit(f, "800", "1234", T0, &w), ==, CE_ADMIT_CANCELLED);
out:
	ce_conference_unref(c);
}

/*
 * Early windows near INT_MAX: their sum overflowed a 32-bit integer in the
 * lookup (PostgreSQL then failed every admission as unavailable).  They are
 * clamped to ten years, like the records read back.
 */
static void test_huge_windows(struct fx *f, gconstpointer data)
{
	struct ce_conference *c = meeting("800", "board", T0);
	struct admit_wait w;
	gint64 id;

	if (f->skip)
		goto out;
	c->early_join_s = G_MAXINT;
	c->early_alert_s = G_MAXINT - 1;
	id = fx_put_conference(f, c);
	g_assert_cmpint(admit(f, "800", "1234", T0 - HOUR, &w), ==, CE_ADMIT_OK);
	g_assert_cmpint(w.conference_id, ==, id);
	g_assert_cmpint(admit(f, "800", "1234", T0 - 9 * 365 * 24 * HOUR, &w), ==, CE_ADMIT_OK);
	g_assert_cmpint(
	        admit(f, "800", "1234", T0 - 11 * 365 * 24 * HOUR, &w), ==, CE_ADMIT_NOT_STARTED);
	g_assert_cmpint(
	        admit(f, "800", "1234", T0 - 21 * 365 * 24 * HOUR, &w), ==, CE_ADMIT_NO_CONFERENCE);
	/* only the alert window huge; raw values written behind the store's back */
	fx_exec(f, "UPDATE conferences SET early_join_s = 600, early_alert_s = 2147483647");
	g_assert_cmpint(admit(f, "800", "1234", T0 - HOUR, &w), ==, CE_ADMIT_NOT_STARTED);
	g_assert_cmpint(admit(f, "800", "1234", T0 - 5 * MIN_US, &w), ==, CE_ADMIT_OK);
out:
	ce_conference_unref(c);
}

/* A conference scheduled with plain SQL, in a time zone other than UTC. */
static void test_time_zones(struct fx *f, gconstpointer data)
{
	GPtrArray *rows;
	struct ce_conference *c;

	if (f->skip)
		return;
	if (f->backend == CE_STORE_SQLITE)
		fx_exec(f, "INSERT INTO conferences (access_number, room, title, pin, starts_at, "
		           "ends_at,"
		           " time_zone) VALUES ('700', 'tz', 'Tokyo sync', '42',"
		           " strftime('%s', '2026-11-23T18:00:00+09:00') * 1000000,"
		           " strftime('%s', '2026-11-23T19:30:00+09:00') * 1000000, 'Asia/Tokyo')");
	else
		fx_exec(f, "INSERT INTO conferences (access_number, room, title, pin, starts_at, "
		           "ends_at,"
		           " time_zone) VALUES ('700', 'tz', 'Tokyo sync', '42',"
		           " '2026-11-23 18:00:00+09', '2026-11-23 19:30:00 Asia/Tokyo', "
		           "'Asia/Tokyo')");
	rows = find(f, "700", T0);
	g_assert_cmpuint(rows->len, ==, 1);
	c = g_ptr_array_index(rows, 0);
	g_assert_cmpint(c->starts_at, ==, T0);
	g_assert_cmpint(c->ends_at, ==, T0 + 90 * MIN_US);
	g_assert_cmpstr(c->time_zone, ==, "Asia/Tokyo");
	g_assert_cmpint(c->early_join_s, ==, 300);
	g_assert_true(c->announce_count);
	g_assert_null(c->moderator_pin);
	g_assert_cmpint(ce_conference_state(c, T0), ==, CE_CONF_OPEN);
	g_ptr_array_unref(rows);
}

static void test_pins(struct fx *f, gconstpointer data)
{
	struct ce_conference *a = meeting("800", "a", T0), *b = meeting("800", "b", T0);
	struct ce_conference *open = meeting("900", "open", T0);
	struct ce_participant p = {.name = "Ann",
	        .address = "sip:ann@example.org",
	        .role = CE_ROLE_MODERATOR,
	        .pin = "55555",
	        .dial_out = true};
	struct admit_wait w;
	gint64 ida, idb, idp;

	if (f->skip)
		goto out;
	g_free(b->pin);
	b->pin = g_strdup("5678");
	g_clear_pointer(&open->pin, g_free);
	ida = fx_put_conference(f, a);
	idb = fx_put_conference(f, b);
	fx_put_conference(f, open);
	p.conference_id = idb;
	idp = fx_put_participant(f, &p);
	g_assert_cmpint(admit(f, "800", "1234", T0, &w), ==, CE_ADMIT_OK);
	g_assert_cmpint(w.conference_id, ==, ida);
	g_assert_cmpint(admit(f, "800", "5678", T0, &w), ==, CE_ADMIT_OK);
	g_assert_cmpint(w.conference_id, ==, idb);
	g_assert_cmpint(admit(f, "800", "9999", T0, &w), ==, CE_ADMIT_OK);
	g_assert_cmpint(w.role, ==, CE_ROLE_MODERATOR);
	g_assert_cmpint(admit(f, "800", "55555", T0, &w), ==, CE_ADMIT_OK);
	g_assert_cmpint(w.conference_id, ==, idb);
	g_assert_cmpint(w.participant_id, ==, idp);
	g_assert_cmpint(w.role, ==, CE_ROLE_MODERATOR);
	g_assert_cmpint(admit(f, "800", "12345", T0, &w), ==, CE_ADMIT_BAD_PIN);
	g_assert_cmpint(admit(f, "800", "123", T0, &w), ==, CE_ADMIT_BAD_PIN);
	g_assert_cmpint(admit(f, "800", NULL, T0, &w), ==, CE_ADMIT_PIN_REQUIRED);
	g_assert_cmpint(admit(f, "800", "", T0, &w), ==, CE_ADMIT_PIN_REQUIRED);
	g_assert_cmpint(admit(f, "900", NULL, T0, &w), ==, CE_ADMIT_OK);
	g_assert_cmpint(admit(f, "900", "9999", T0, &w), ==, CE_ADMIT_OK);
	g_assert_cmpint(w.role, ==, CE_ROLE_MODERATOR);
out:
	ce_conference_unref(a);
	ce_conference_unref(b);
	ce_conference_unref(open);
}

struct parts_wait {
	bool done;
	GPtrArray *rows;
};

static void parts_done(int err, GPtrArray *rows, void *arg)
{
	struct parts_wait *w = arg;

	g_assert_cmpint(err, ==, 0);
	w->rows = g_ptr_array_ref(rows);
	w->done = true;
}

static void test_participants(struct fx *f, gconstpointer data)
{
	struct ce_conference *c = meeting("800", "board", T0);
	struct ce_participant p = {.name = "Bob", .address = "+4930123", .dial_out = true};
	struct parts_wait w = {0};
	struct ce_participant *r;

	if (f->skip)
		goto out;
	p.conference_id = fx_put_conference(f, c);
	fx_put_participant(f, &p);
	p.name = "Carol";
	p.role = CE_ROLE_LISTENER;
	p.dial_out = false;
	p.address = NULL;
	fx_put_participant(f, &p);
	ce_store_list_participants(f->st, p.conference_id, parts_done, &w, NULL);
	fx_wait(f, &w.done);
	g_assert_cmpuint(w.rows->len, ==, 2);
	r = g_ptr_array_index(w.rows, 0);
	g_assert_cmpstr(r->name, ==, "Bob");
	g_assert_cmpstr(r->address, ==, "+4930123");
	g_assert_true(r->dial_out);
	g_assert_cmpint(r->role, ==, CE_ROLE_PARTICIPANT);
	r = g_ptr_array_index(w.rows, 1);
	g_assert_cmpstr(r->name, ==, "Carol");
	g_assert_null(r->address);
	g_assert_cmpint(r->role, ==, CE_ROLE_LISTENER);
	g_ptr_array_unref(w.rows);
out:
	ce_conference_unref(c);
}

static void test_history(struct fx *f, gconstpointer data)
{
	struct ce_event ev = {.kind = CE_EVENT_ENTER,
	        .room = "board",
	        .conference_id = 7,
	        .leg = "dumb/1",
	        .caller = "+4930123",
	        .caller_name = "Ann"};
	struct ce_cdr cdr = {.uuid = "cdr-1",
	        .room = "board",
	        .conference_id = 7,
	        .leg = "dumb/1",
	        .role = "moderator",
	        .caller = "+4930123",
	        .called = "800",
	        .joined_at = T0,
	        .left_at = T0 + 90 * G_USEC_PER_SEC + 1500,
	        .talk_ms = 30000,
	        .reason = "hangup"};
	struct ce_room_live live = {.room = "board",
	        .conference_id = 7,
	        .participants = 3,
	        .started_at = T0,
	        .updated_at = T0 + 1};
	char *sql, *col;

	if (f->skip)
		return;
	for (int i = 0; i < 100; i++) {
		ev.kind = (enum ce_event_kind)(i % CE_EVENT_N_ROWS);
		ev.at = T0 + i * 1001;
		ce_store_add_event(f->st, &ev);
	}
	ev.uuid = "fixed-uuid";
	ce_store_add_event(f->st, &ev);
	ce_store_add_event(f->st, &ev); /* the same uuid again: stored once */
	ce_store_add_cdr(f->st, &cdr);
	ce_store_add_cdr(f->st, &cdr);
	ce_store_room_live(f->st, &live);
	fx_drain(f);
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM events"), ==, 101);
	g_assert_cmpint(fx_query_int(f, "SELECT count(DISTINCT seq) FROM events"), ==, 101);
	/* stored in the order they were added */
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM events a JOIN events b ON a.id < b.id"
	                                " WHERE a.seq > b.seq"),
	        ==, 0);
	col = usec(f, "at");
	sql = g_strdup_printf("SELECT %s FROM events ORDER BY id LIMIT 1 OFFSET 42", col);
	g_assert_cmpint(fx_query_int(f, sql), ==, T0 + 42 * 1001);
	g_free(sql);
	g_free(col);
	col = fx_query(f, "SELECT kind FROM events ORDER BY id LIMIT 1 OFFSET 3");
	g_assert_cmpstr(col, ==, "talk-start");
	g_free(col);
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM events WHERE node = 'test-node' AND"
	                                " caller_name = 'Ann' AND leg = 'dumb/1'"),
	        ==, 101);
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM cdrs"), ==, 1);
	g_assert_cmpint(fx_query_int(f, "SELECT duration_ms FROM cdrs"), ==, 90001);
	g_assert_cmpint(fx_query_int(f, "SELECT talk_ms FROM cdrs"), ==, 30000);
	col = usec(f, "left_at");
	sql = g_strdup_printf("SELECT %s FROM cdrs", col);
	g_assert_cmpint(fx_query_int(f, sql), ==, cdr.left_at);
	g_free(sql);
	g_free(col);
	g_assert_cmpint(
	        fx_query_int(f, "SELECT participants FROM live_rooms WHERE room = 'board'"), ==, 3);
	live.participants = 0;
	ce_store_room_live(f->st, &live);
	fx_drain(f);
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM live_rooms"), ==, 0);
}

enum bytes_mode { BYTES_ASCII, BYTES_UTF8, BYTES_RAW };

/* SQL metacharacters and every byte but NUL: ASCII only, as UTF-8 text, or raw. */
static char *all_bytes(enum bytes_mode mode)
{
	GString *s = g_string_new("'\"\\%_;--$1?:@ ");

	for (unsigned c = 1; c < 256; c++) {
		if (mode == BYTES_RAW || c < 128)
			g_string_append_c(s, (char)c);
		else if (mode == BYTES_UTF8)
			g_string_append_unichar(s, c);
	}
	g_string_append(s, "'); DROP TABLE conferences; --");
	return g_string_free(s, FALSE);
}

static void never_called(int err, gint64 id, const GError *error, void *arg)
{
	g_assert_not_reached();
}

static void test_hostile(struct fx *f, gconstpointer data)
{
	char *text = all_bytes(BYTES_UTF8), *raw = all_bytes(BYTES_RAW);
	char *key = all_bytes(BYTES_ASCII);
	char *pin = g_strnfill(10240, '7');
	struct ce_conference *c = meeting(key, text, CE_STORE_TIME_MIN), *r;
	struct ce_event ev = {.kind = CE_EVENT_MUTE,
	        .room = text,
	        .caller = raw,
	        .detail = text,
	        .at = G_MININT64};
	struct admit_wait w;
	GPtrArray *rows;
	char *fixed;

	if (f->skip)
		goto out;
	g_free(c->pin);
	c->pin = g_strdup(pin);
	g_free(c->title);
	c->title = g_strdup(raw);
	c->options = g_strdup("a\\b\\\\'c''");
	c->ends_at = CE_STORE_TIME_MAX;
	c->id = fx_put_conference(f, c);
	rows = find(f, key, T0);
	g_assert_cmpuint(rows->len, ==, 1);
	r = g_ptr_array_index(rows, 0);
	g_assert_cmpstr(r->access_number, ==, key);
	g_assert_cmpstr(r->room, ==, text);
	g_assert_cmpstr(r->pin, ==, pin);
	g_assert_cmpstr(r->options, ==, c->options);
	g_assert_cmpint(r->starts_at, ==, CE_STORE_TIME_MIN);
	g_assert_cmpint(r->ends_at, ==, CE_STORE_TIME_MAX);
	/* bytes that are not UTF-8 come back as U+FFFD, the same on both backends */
	fixed = g_utf8_make_valid(raw, -1);
	g_assert_cmpstr(r->title, ==, fixed);
	g_ptr_array_unref(rows);
	g_assert_cmpint(admit(f, key, pin, T0, &w), ==, CE_ADMIT_OK);
	g_assert_cmpint(admit(f, text, pin, T0, &w), ==, CE_ADMIT_OK); /* by room */
	g_assert_cmpint(admit(f, key, raw, T0, &w), ==, CE_ADMIT_BAD_PIN);
	g_assert_cmpint(admit(f, pin, pin, T0, &w), ==, CE_ADMIT_NO_CONFERENCE);
	/* absurd "now": clamped to years 1..9999, where this conference lives */
	g_assert_cmpint(admit(f, key, pin, G_MININT64, &w), ==, CE_ADMIT_OK);
	g_assert_cmpint(admit(f, key, pin, G_MAXINT64, &w), ==, CE_ADMIT_ENDED);
	{
		struct ce_participant p = {
		        .conference_id = c->id, .name = text, .address = raw, .pin = text};
		struct parts_wait pw = {0};
		struct ce_participant *got;
		fx_put_participant(f, &p);
		ce_store_list_participants(f->st, c->id, parts_done, &pw, NULL);
		fx_wait(f, &pw.done);
		g_assert_cmpuint(pw.rows->len, ==, 1);
		got = g_ptr_array_index(pw.rows, 0);
		g_assert_cmpstr(got->name, ==, text);
		g_assert_cmpstr(got->address, ==, fixed);
		g_assert_cmpstr(got->pin, ==, text);
		g_ptr_array_unref(pw.rows);
		g_assert_cmpint(admit(f, key, text, T0, &w), ==, CE_ADMIT_OK);
		g_assert_cmpint(w.participant_id, >, 0);
	}
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM conferences"), ==, 1);
	/* absurd times: refused when scheduling, clamped in history */
	c->id = 0;
	c->ends_at = CE_STORE_TIME_MAX + 1;
	g_assert_cmpint(ce_store_put_conference(f->st, c, NULL, NULL, NULL), ==, -EINVAL);
	g_assert_cmpint(ce_store_put_conference(f->st, c, never_called, NULL, NULL), ==, -ERANGE);
	c->ends_at = c->starts_at;
	g_assert_cmpint(ce_store_put_conference(f->st, c, never_called, NULL, NULL), ==, -ERANGE);
	ce_store_add_event(f->st, &ev);
	ev.at = G_MAXINT64;
	ce_store_add_event(f->st, &ev);
	/* identifiers are cut to their limit, the rest is kept whole */
	g_free(c->access_number);
	c->access_number = g_strnfill(CE_STORE_ACCESS_MAX + 1, '8');
	c->ends_at = c->starts_at + 1;
	g_assert_cmpint(ce_store_put_conference(f->st, c, never_called, NULL, NULL), ==, -ERANGE);
	ev.room = ev.caller = pin;
	ev.uuid = pin;
	ce_store_add_event(f->st, &ev);
	ce_store_add_cdr(f->st, &(struct ce_cdr){.room = pin, .caller_name = pin, .reason = text});
	ce_store_room_live(f->st, &(struct ce_room_live){.room = pin, .participants = 1});
	fx_drain(f);
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM events"), ==, 3);
	g_assert_cmpint(fx_query_int(f, "SELECT max(length(caller)) FROM events"), ==, 10240);
	g_assert_cmpint(
	        fx_query_int(f, "SELECT max(length(room)) FROM events"), ==, CE_STORE_ROOM_MAX);
	g_assert_cmpint(fx_query_int(f, "SELECT length(caller_name) FROM cdrs"), ==, 10240);
	g_free(fixed);
	fixed = fx_query(f, "SELECT reason FROM cdrs");
	g_assert_cmpstr(fixed, ==, text);
	g_assert_cmpint(
	        fx_query_int(f, "SELECT length(room) FROM live_rooms"), ==, CE_STORE_ROOM_MAX);
	g_assert_cmpint(CE_ATOMIC_GET(&f->st->rejected), ==, 0);
	g_free(fixed);
out:
	ce_conference_unref(c);
	g_free(text);
	g_free(raw);
	g_free(key);
	g_free(pin);
}

/* The caller from @caller gets into @conference_id as @participant_id (0: nobody) with @role. */
static void admitted(struct fx *f, const char *key, const char *pin, const char *caller, gint64 now,
        gint64 conference_id, gint64 participant_id, enum ce_role role)
{
	struct admit_wait w;

	g_assert_cmpint(admit_from(f, key, pin, caller, now, &w), ==, CE_ADMIT_OK);
	g_assert_cmpint(w.conference_id, ==, conference_id);
	g_assert_cmpint(w.participant_id, ==, participant_id);
	g_assert_cmpint(w.role, ==, role);
}

/* A caller whose number is a participant's goes in without a PIN, as that participant. */
static void test_recognise_by_key(struct fx *f, gconstpointer data)
{
	struct ce_conference *a = meeting("800", "a", T0), *b = meeting("800", "b", T0);
	struct ce_participant ann = {
	        .name = "Ann", .role = CE_ROLE_MODERATOR, .number = "+49 30 123-456"};
	struct ce_participant bob = {
	        .name = "Bob", .role = CE_ROLE_LISTENER, .number = "555 0100", .pin = "24680"};
	struct admit_wait w;
	gint64 ida, idb, idann, idbob;

	if (f->skip)
		goto out;
	g_free(b->pin);
	b->pin = g_strdup("5678");
	ida = fx_put_conference(f, a);
	idb = fx_put_conference(f, b);
	ann.conference_id = ida;
	idann = fx_put_participant(f, &ann);
	bob.conference_id = idb;
	idbob = fx_put_participant(f, &bob);
	admitted(f, "800", NULL, "+4930123456", T0, ida, idann, CE_ROLE_MODERATOR);
	/* by room as well; an empty PIN is no PIN */
	admitted(f, "b", "", "5550100", T0, idb, idbob, CE_ROLE_LISTENER);
	/* a number invited to another conference is not recognised in this one */
	g_assert_cmpint(admit_from(f, "a", NULL, "5550100", T0, &w), ==, CE_ADMIT_PIN_REQUIRED);
	g_assert_cmpint(w.conference_id, ==, 0);
	/* unknown numbers, and none at all: asked for the PIN as before */
	g_assert_cmpint(
	        admit_from(f, "800", NULL, "+4930123457", T0, &w), ==, CE_ADMIT_PIN_REQUIRED);
	g_assert_cmpint(admit_from(f, "800", NULL, "", T0, &w), ==, CE_ADMIT_PIN_REQUIRED);
	g_assert_cmpint(admit_from(f, "800", NULL, NULL, T0, &w), ==, CE_ADMIT_PIN_REQUIRED);
	/* only while the conference is open */
	g_assert_cmpint(admit_from(f, "800", NULL, "+4930123456", T0 - 30 * MIN_US, &w), ==,
	        CE_ADMIT_NOT_STARTED);
	g_assert_cmpint(
	        admit_from(f, "800", NULL, "+4930123456", T0 + HOUR, &w), ==, CE_ADMIT_ENDED);
	/* a PIN, when given, decides: a wrong one stays wrong from a known number */
	g_assert_cmpint(admit_from(f, "800", "1111", "+4930123456", T0, &w), ==, CE_ADMIT_BAD_PIN);
	g_assert_cmpint(w.participant_id, ==, 0);
	g_assert_cmpint(w.conference_id, ==, 0);
	/* the conference's PIN from a known number admits as that person */
	admitted(f, "800", "1234", "+4930123456", T0, ida, idann, CE_ROLE_MODERATOR);
	/* another conference's PIN from that number: that conference, as anybody */
	admitted(f, "800", "5678", "+4930123456", T0, idb, 0, CE_ROLE_PARTICIPANT);
	/* Bob's personal PIN keyed on Ann's phone: Bob */
	admitted(f, "800", "24680", "+4930123456", T0, idb, idbob, CE_ROLE_LISTENER);
	/* a cancelled conference recognises nobody */
	a->id = ida;
	a->cancelled = true;
	fx_put_conference(f, a);
	g_assert_cmpint(admit_from(f, "a", NULL, "+4930123456", T0, &w), ==, CE_ADMIT_CANCELLED);
	g_assert_cmpint(
	        admit_from(f, "800", NULL, "+4930123456", T0, &w), ==, CE_ADMIT_PIN_REQUIRED);
out:
	ce_conference_unref(a);
	ce_conference_unref(b);
}

/* No conference number keyed (the lobby's "recognise me"): every conference open now. */
static void test_recognise_anywhere(struct fx *f, gconstpointer data)
{
	struct ce_conference *early = meeting("800", "early", T0 - 30 * MIN_US);
	struct ce_conference *late = meeting("801", "late", T0 - 10 * MIN_US);
	struct ce_conference *twin = meeting("802", "twin", T0 - 10 * MIN_US);
	struct ce_conference *tomorrow = meeting("803", "tomorrow", T0 + 24 * HOUR);
	struct ce_participant p = {.name = "Ann", .role = CE_ROLE_MODERATOR, .number = "030 1234"};
	struct admit_wait w;
	gint64 idearly, idlate, idtwin, idtomorrow, p1, p2, p3, p4;

	if (f->skip)
		goto out;
	p.conference_id = idearly = fx_put_conference(f, early);
	p1 = fx_put_participant(f, &p);
	admitted(f, NULL, NULL, "0301234", T0, idearly, p1, CE_ROLE_MODERATOR);
	admitted(f, "", NULL, "030-1234", T0, idearly, p1, CE_ROLE_MODERATOR);
	/* nothing open now for this number, or no number at all */
	g_assert_cmpint(admit_from(f, NULL, NULL, "0301235", T0, &w), ==, CE_ADMIT_NO_CONFERENCE);
	g_assert_cmpint(admit_from(f, NULL, NULL, NULL, T0, &w), ==, CE_ADMIT_NO_CONFERENCE);
	g_assert_cmpint(admit_from(f, "", "1234", NULL, T0, &w), ==, CE_ADMIT_NO_CONFERENCE);
	g_assert_cmpint(
	        admit_from(f, NULL, NULL, "0301234", T0 + HOUR, &w), ==, CE_ADMIT_NO_CONFERENCE);
	/* invited tomorrow too: today's now, tomorrow's then */
	p.conference_id = idtomorrow = fx_put_conference(f, tomorrow);
	p.role = CE_ROLE_PARTICIPANT;
	p4 = fx_put_participant(f, &p);
	admitted(f, NULL, NULL, "0301234", T0, idearly, p1, CE_ROLE_MODERATOR);
	admitted(f, NULL, NULL, "0301234", T0 + 24 * HOUR, idtomorrow, p4, CE_ROLE_PARTICIPANT);
	/* several open now: the one that started most recently */
	p.conference_id = idlate = fx_put_conference(f, late);
	p.role = CE_ROLE_LISTENER;
	p2 = fx_put_participant(f, &p);
	admitted(f, NULL, NULL, "0301234", T0, idlate, p2, CE_ROLE_LISTENER);
	/* ... and of two that started together, the one scheduled last */
	p.conference_id = idtwin = fx_put_conference(f, twin);
	p3 = fx_put_participant(f, &p);
	admitted(f, NULL, NULL, "0301234", T0, idtwin, p3, CE_ROLE_LISTENER);
	/* with a key, the key's conference, whatever else is open */
	admitted(f, "800", NULL, "0301234", T0, idearly, p1, CE_ROLE_MODERATOR);
	/* a PIN is checked against the recognised conference */
	admitted(f, NULL, "1234", "0301234", T0, idtwin, p3, CE_ROLE_LISTENER);
	admitted(f, NULL, "9999", "0301234", T0, idtwin, p3, CE_ROLE_MODERATOR);
	g_assert_cmpint(admit_from(f, NULL, "4321", "0301234", T0, &w), ==, CE_ADMIT_BAD_PIN);
	g_assert_cmpint(w.conference_id, ==, 0);
	/* cancelled ones are passed over */
	twin->id = idtwin;
	twin->cancelled = true;
	fx_put_conference(f, twin);
	admitted(f, NULL, NULL, "0301234", T0, idlate, p2, CE_ROLE_LISTENER);
	/* the early one has ended, the late one runs */
	admitted(f, NULL, NULL, "0301234", T0 + 40 * MIN_US, idlate, p2, CE_ROLE_LISTENER);
out:
	ce_conference_unref(early);
	ce_conference_unref(late);
	ce_conference_unref(twin);
	ce_conference_unref(tomorrow);
}

/* always_pin: a recognised caller is still asked for the PIN, and is then that person. */
static void test_always_pin(struct fx *f, gconstpointer data)
{
	struct ce_conference *c = meeting("800", "board", T0);
	struct ce_conference *nopin = meeting("900", "free", T0 - MIN_US);
	struct ce_participant p = {.name = "Ann", .role = CE_ROLE_MODERATOR, .number = "555-0100"};
	struct admit_wait w;
	gint64 id, idfree, idp, idq;

	if (f->skip)
		goto out;
	c->always_pin = true;
	p.conference_id = id = fx_put_conference(f, c);
	idp = fx_put_participant(f, &p);
	g_assert_cmpint(admit_from(f, "800", NULL, "5550100", T0, &w), ==, CE_ADMIT_PIN_REQUIRED);
	g_assert_cmpint(w.conference_id, ==, id);
	g_assert_cmpint(w.participant_id, ==, 0);
	g_assert_cmpint(admit_from(f, NULL, NULL, "5550100", T0, &w), ==, CE_ADMIT_PIN_REQUIRED);
	g_assert_cmpint(w.conference_id, ==, id);
	admitted(f, "800", "1234", "5550100", T0, id, idp, CE_ROLE_MODERATOR);
	admitted(f, NULL, "1234", "5550100", T0, id, idp, CE_ROLE_MODERATOR);
	g_assert_cmpint(admit_from(f, "800", "0000", "5550100", T0, &w), ==, CE_ADMIT_BAD_PIN);
	/* an unknown caller: as always */
	g_assert_cmpint(admit_from(f, "800", NULL, "5550101", T0, &w), ==, CE_ADMIT_PIN_REQUIRED);
	g_assert_cmpint(w.conference_id, ==, 0);
	/* a conference that asks nobody for a PIN has nothing to key in: in, as that person */
	nopin->always_pin = true;
	g_clear_pointer(&nopin->pin, g_free);
	p.conference_id = idfree = fx_put_conference(f, nopin);
	idq = fx_put_participant(f, &p);
	admitted(f, "900", NULL, "5550100", T0, idfree, idq, CE_ROLE_MODERATOR);
	/* without always_pin, straight in */
	c->id = id;
	c->always_pin = false;
	fx_put_conference(f, c);
	admitted(f, "800", NULL, "5550100", T0, id, idp, CE_ROLE_MODERATOR);
out:
	ce_conference_unref(c);
	ce_conference_unref(nopin);
}

/*
 * Numbers match after dropping spaces, '-', '.', '(' and ')' on both sides,
 * and only exactly: no prefixes, no country-code rewriting.
 */
static void test_number_match(struct fx *f, gconstpointer data)
{
	struct ce_conference *c = meeting("800", "board", T0);
	struct ce_participant ann = {.name = "Ann", .number = "(030) 123-45.67"};
	struct ce_participant bob = {.name = "Bob", .number = "+49 30 999"};
	char *max = g_strnfill(CE_STORE_NUMBER_MAX, '7');
	char *over = g_strnfill(CE_STORE_NUMBER_MAX + 1, '7');
	static const char *const strangers[] = {"+49 30 1234567", "030123456", "03012345678",
	        "0049 30 999", "030\t1234567", "030/1234567", "%", "_", "' OR 1=1 --", "()", "."};
	struct admit_wait w;
	char *sql;
	gint64 id, idann, idbob;

	if (f->skip)
		goto out;
	ann.conference_id = bob.conference_id = id = fx_put_conference(f, c);
	idann = fx_put_participant(f, &ann);
	idbob = fx_put_participant(f, &bob);
	admitted(f, "800", NULL, "030 1234567", T0, id, idann, CE_ROLE_PARTICIPANT);
	admitted(f, "800", NULL, "030-123 45 67", T0, id, idann, CE_ROLE_PARTICIPANT);
	admitted(f, NULL, NULL, "(030)1234567", T0, id, idann, CE_ROLE_PARTICIPANT);
	admitted(f, "800", NULL, "+4930999", T0, id, idbob, CE_ROLE_PARTICIPANT);
	fx_exec(f, "UPDATE participants SET number = ' - ' WHERE name = 'Bob'");
	for (unsigned i = 0; i < G_N_ELEMENTS(strangers); i++) {
		g_assert_cmpint(admit_from(f, "800", NULL, strangers[i], T0, &w), ==,
		        CE_ADMIT_PIN_REQUIRED);
		g_assert_cmpint(admit_from(f, NULL, NULL, strangers[i], T0, &w), ==,
		        CE_ADMIT_NO_CONFERENCE);
	}
	/* longer than CE_STORE_NUMBER_MAX: refused when stored, never looked up */
	bob.number = over;
	g_assert_cmpint(
	        ce_store_put_participant(f->st, &bob, never_called, NULL, NULL), ==, -ERANGE);
	sql = g_strdup_printf("UPDATE participants SET number = '%s' WHERE name = 'Bob'", over);
	fx_exec(f, sql);
	g_free(sql);
	g_assert_cmpint(admit_from(f, "800", NULL, over, T0, &w), ==, CE_ADMIT_PIN_REQUIRED);
	g_assert_cmpint(admit_from(f, NULL, NULL, over, T0, &w), ==, CE_ADMIT_NO_CONFERENCE);
	bob.number = max;
	bob.id = idbob;
	fx_put_participant(f, &bob);
	admitted(f, "800", NULL, max, T0, id, idbob, CE_ROLE_PARTICIPANT);
out:
	ce_conference_unref(c);
	g_free(max);
	g_free(over);
}

/* The new fields go in and come back out; personal PINs still pick their person. */
static void test_recognition_fields(struct fx *f, gconstpointer data)
{
	struct ce_conference *c = meeting("800", "board", T0);
	struct ce_participant p = {.name = "Ann", .number = "+49 (30) 123", .pin = "4444"};
	struct parts_wait pw = {0};
	struct ce_participant *r;
	struct admit_wait w;
	GPtrArray *rows;
	gint64 idp, idq;

	if (f->skip)
		goto out;
	c->always_pin = true;
	p.conference_id = c->id = fx_put_conference(f, c);
	rows = find(f, "800", T0);
	g_assert_true(((struct ce_conference *)g_ptr_array_index(rows, 0))->always_pin);
	g_ptr_array_unref(rows);
	c->always_pin = false;
	fx_put_conference(f, c);
	rows = find(f, "800", T0);
	g_assert_false(((struct ce_conference *)g_ptr_array_index(rows, 0))->always_pin);
	g_ptr_array_unref(rows);
	idp = fx_put_participant(f, &p);
	/* the same PIN twice, and PINs that are each other's prefix: the first exact one */
	p.number = NULL;
	p.name = "Bob";
	idq = fx_put_participant(f, &p);
	p.pin = "44444";
	fx_put_participant(f, &p);
	p.pin = "444";
	fx_put_participant(f, &p);
	ce_store_list_participants(f->st, c->id, parts_done, &pw, NULL);
	fx_wait(f, &pw.done);
	g_assert_cmpuint(pw.rows->len, ==, 4);
	r = g_ptr_array_index(pw.rows, 0);
	g_assert_cmpstr(r->number, ==, "+49 (30) 123");
	r = g_ptr_array_index(pw.rows, 1);
	g_assert_null(r->number);
	g_ptr_array_unref(pw.rows);
	admitted(f, "800", "4444", NULL, T0, c->id, idp, CE_ROLE_PARTICIPANT);
	g_assert_cmpint(admit(f, "800", "44445", T0, &w), ==, CE_ADMIT_BAD_PIN);
	g_assert_cmpint(admit(f, "800", "4", T0, &w), ==, CE_ADMIT_BAD_PIN);
	/* a number changed and removed */
	p.id = idp;
	p.name = "Ann";
	p.pin = NULL;
	p.number = "777";
	fx_put_participant(f, &p);
	admitted(f, "800", NULL, "777", T0, c->id, idp, CE_ROLE_PARTICIPANT);
	g_assert_cmpint(admit_from(f, "800", NULL, "+4930123", T0, &w), ==, CE_ADMIT_PIN_REQUIRED);
	p.number = NULL;
	fx_put_participant(f, &p);
	g_assert_cmpint(admit_from(f, "800", NULL, "777", T0, &w), ==, CE_ADMIT_PIN_REQUIRED);
	g_assert_cmpint(idq, >, idp);
	/* the lookup has its index */
	g_assert_cmpint(fx_query_int(f, f->backend == CE_STORE_SQLITE
	                                        ? "SELECT count(*) FROM sqlite_master WHERE"
	                                          " name = 'participants_number_idx'"
	                                        : "SELECT count(*) FROM pg_indexes WHERE"
	                                          " indexname = 'participants_number_idx'"),
	        ==, 1);
out:
	ce_conference_unref(c);
}

static void test_unavailable(struct fx *f, gconstpointer data)
{
	struct admit_wait w;
	GString *s = g_string_new(NULL);

	if (f->skip)
		goto out;
	/* a store whose server does not exist: admission says so, history is spooled */
	fx_close(f);
	f->opt.backend = CE_STORE_POSTGRESQL;
	f->opt.pg_conninfo = "host=/nonexistent-dir port=1 dbname=none connect_timeout=1";
	g_assert_cmpint(fx_open(f, NULL), ==, 0);
	g_assert_false(ce_store_is_up(f->st));
	g_assert_cmpint(admit(f, "800", "1234", T0, &w), ==, CE_ADMIT_UNAVAILABLE);
	ce_store_add_event(f->st, &(struct ce_event){.kind = CE_EVENT_END, .room = "x", .at = T0});
	ce_store_status(f->st, s);
	g_assert_nonnull(strstr(s->str, "store_db=down"));
	fx_close(f);
	/* the spooled record is still there for the next start */
	f->opt.backend = f->backend;
	f->opt.pg_conninfo = g_getenv("CE_TEST_PG_CONNINFO");
	g_assert_cmpint(fx_open(f, NULL), ==, 0);
	fx_drain(f);
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM events WHERE room = 'x'"), ==, 1);
out:
	g_string_free(s, TRUE);
}

/* A TCP listener on 127.0.0.1 that never accepts nor answers; *@port is its port. */
static int silent_listener(int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
	g_assert_cmpint(listen(fd, 16), ==, 0);
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&a, &len), ==, 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/*
 * A PostgreSQL server that takes the TCP connection and never answers: the
 * start waits connect_timeout_ms, not libpq's connect_timeout nor
 * query_timeout_ms, then the store runs down (admissions unavailable,
 * history spooled) while the writer keeps trying in the background.
 */
static void test_silent_server(struct fx *f, gconstpointer data)
{
	struct admit_wait w;
	GString *s = g_string_new(NULL);
	char *conninfo = NULL;
	int fd, port;

	if (f->skip)
		goto out;
	fd = silent_listener(&port);
	conninfo = g_strdup_printf(
	        "host=127.0.0.1 port=%d dbname=none connect_timeout=60 sslmode=disable", port);
	fx_close(f);
	f->opt.backend = CE_STORE_POSTGRESQL;
	f->opt.pg_conninfo = conninfo;
	f->opt.query_timeout_ms = 3000;
	f->opt.connect_timeout_ms = 200;
	/* The start gave up after connect_timeout_ms (its warning says so), not
	 * after the query timeout; how long it took is bench-store's "down". */
	g_test_expect_message("store", G_LOG_LEVEL_WARNING, "*no connection within 200 ms*");
	g_assert_cmpint(fx_open(f, NULL), ==, 0);
	g_test_assert_expected_messages();
	g_assert_false(ce_store_is_up(f->st));
	g_assert_cmpint(admit(f, "800", "1234", T0, &w), ==, CE_ADMIT_UNAVAILABLE);
	ce_store_add_event(f->st, &(struct ce_event){.kind = CE_EVENT_END, .room = "x", .at = T0});
	ce_store_status(f->st, s);
	g_assert_nonnull(strstr(s->str, "store_db=down"));
	g_test_expect_message("store", G_LOG_LEVEL_WARNING, "*database unreachable*");
	fx_close(f);
	g_test_assert_expected_messages();
	close(fd);
	f->opt.backend = f->backend;
	f->opt.pg_conninfo = g_getenv("CE_TEST_PG_CONNINFO");
	f->opt.query_timeout_ms = 0;
	f->opt.connect_timeout_ms = 0;
	g_assert_cmpint(fx_open(f, NULL), ==, 0);
out:
	g_free(conninfo);
	g_string_free(s, TRUE);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL);
	g_log_set_fatal_mask("store", G_LOG_LEVEL_CRITICAL);
	fx_add_tests("migrations", test_migrations);
	fx_add_tests("upgrade-005", test_upgrade_005);
	fx_add_tests("windows", test_windows);
	fx_add_tests("huge-windows", test_huge_windows);
	fx_add_tests("time-zones", test_time_zones);
	fx_add_tests("pins", test_pins);
	fx_add_tests("participants", test_participants);
	fx_add_tests("history", test_history);
	fx_add_tests("hostile", test_hostile);
	fx_add_tests("recognise-by-key", test_recognise_by_key);
	fx_add_tests("recognise-anywhere", test_recognise_anywhere);
	fx_add_tests("always-pin", test_always_pin);
	fx_add_tests("number-match", test_number_match);
	fx_add_tests("recognition-fields", test_recognition_fields);
	fx_add_tests("unavailable", test_unavailable);
	fx_add_tests("silent-server", test_silent_server);
	return g_test_run();
}
