/* test-store-cdr.c - CDR billid, participant identity and caller recognition on SQLite and
 * PostgreSQL: migrations on a database with data, round trips, replay of old spool records */
#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>

#include "store-fixture.h"

/* 2026-11-23 09:00:00 UTC */
#define T0 (G_GINT64_CONSTANT(1795424400) * G_USEC_PER_SEC)

/*
 * A CDR as the spool held it before migration 002 (no "billid" key), the
 * exact bytes ce_rec_serialize() wrote then (GVariant "(ya{sv})", little
 * endian): uuid old-spool-cdr-1, room board, conference 7, leg dumb/3, role
 * participant, caller +4930123 "Ann", called 800, 90 s from T0 (duration
 * 90000 ms), talk 30 s, reason hangup, node old-node.
 */
static const char old_cdr[] = "\x02\x00\x00\x00\x00\x00\x00\x00\x75\x75\x69\x64\x00\x00\x00\x00"
                              "\x6f\x6c\x64\x2d\x73\x70\x6f\x6f\x6c\x2d\x63\x64\x72\x2d\x31\x00"
                              "\x00\x73\x05\x00\x00\x00\x00\x00\x72\x6f\x6f\x6d\x00\x00\x00\x00"
                              "\x62\x6f\x61\x72\x64\x00\x00\x73\x05\x00\x00\x00\x00\x00\x00\x00"
                              "\x63\x6f\x6e\x66\x65\x72\x65\x6e\x63\x65\x5f\x69\x64\x00\x00\x00"
                              "\x07\x00\x00\x00\x00\x00\x00\x00\x00\x78\x0e\x00\x00\x00\x00\x00"
                              "\x6c\x65\x67\x00\x00\x00\x00\x00\x64\x75\x6d\x62\x2f\x33\x00\x00"
                              "\x73\x04\x00\x00\x00\x00\x00\x00\x72\x6f\x6c\x65\x00\x00\x00\x00"
                              "\x70\x61\x72\x74\x69\x63\x69\x70\x61\x6e\x74\x00\x00\x73\x05\x00"
                              "\x63\x61\x6c\x6c\x65\x72\x00\x00\x2b\x34\x39\x33\x30\x31\x32\x33"
                              "\x00\x00\x73\x07\x00\x00\x00\x00\x63\x61\x6c\x6c\x65\x72\x5f\x6e"
                              "\x61\x6d\x65\x00\x00\x00\x00\x00\x41\x6e\x6e\x00\x00\x73\x0c\x00"
                              "\x63\x61\x6c\x6c\x65\x64\x00\x00\x38\x30\x30\x00\x00\x73\x07\x00"
                              "\x6a\x6f\x69\x6e\x65\x64\x5f\x61\x74\x00\x00\x00\x00\x00\x00\x00"
                              "\x00\x44\x95\xd1\xed\x60\x06\x00\x00\x78\x0a\x00\x00\x00\x00\x00"
                              "\x6c\x65\x66\x74\x5f\x61\x74\x00\x80\x8e\xf2\xd6\xed\x60\x06\x00"
                              "\x00\x78\x08\x00\x00\x00\x00\x00\x74\x61\x6c\x6b\x5f\x6d\x73\x00"
                              "\x30\x75\x00\x00\x00\x00\x00\x00\x00\x78\x08\x00\x00\x00\x00\x00"
                              "\x64\x75\x72\x61\x74\x69\x6f\x6e\x5f\x6d\x73\x00\x00\x00\x00\x00"
                              "\x90\x5f\x01\x00\x00\x00\x00\x00\x00\x78\x0c\x00\x00\x00\x00\x00"
                              "\x72\x65\x61\x73\x6f\x6e\x00\x00\x68\x61\x6e\x67\x75\x70\x00\x00"
                              "\x73\x07\x00\x00\x00\x00\x00\x00\x6e\x6f\x64\x65\x00\x00\x00\x00"
                              "\x6f\x6c\x64\x2d\x6e\x6f\x64\x65\x00\x00\x73\x05\x1b\x00\x31\x00"
                              "\x53\x00\x6a\x00\x87\x00\x9c\x00\xb7\x00\xc7\x00\xe3\x00\xfb\x00"
                              "\x13\x01\x33\x01\x4a\x01\x64\x01";

static GBytes *old_cdr_bytes(void)
{
	GBytes *b = g_bytes_new_static(old_cdr, sizeof(old_cdr) - 1);
	GVariant *v, *sw;

	if (G_BYTE_ORDER == G_LITTLE_ENDIAN)
		return b;
	v = g_variant_ref_sink(g_variant_new_from_bytes(G_VARIANT_TYPE("(ya{sv})"), b, FALSE));
	sw = g_variant_byteswap(v);
	g_bytes_unref(b);
	b = g_variant_get_data_as_bytes(sw);
	g_variant_unref(sw);
	g_variant_unref(v);
	return b;
}

static const struct ce_migration *migrations(struct fx *f)
{
	return f->backend == CE_STORE_SQLITE ? ce_migrations_sqlite : ce_migrations_postgresql;
}

/* The newest schema version compiled into the engine. */
static int last_version(struct fx *f)
{
	const struct ce_migration *m = migrations(f);
	int v = 0;

	for (; m->sql; m++)
		v = m->version;
	return v;
}

/* Closes the store and leaves an empty database (no tables at all). */
static void wipe(struct fx *f)
{
	fx_close(f);
	if (f->backend == CE_STORE_SQLITE) {
		const char *suffix[] = {"", "-wal", "-shm", "-journal"};

		for (unsigned i = 0; i < G_N_ELEMENTS(suffix); i++) {
			char *p = g_strconcat(f->sqlite_path, suffix[i], NULL);
			g_unlink(p);
			g_free(p);
		}
	} else {
		fx_exec(f, "DROP SCHEMA public CASCADE; CREATE SCHEMA public");
	}
}

static void reopen(struct fx *f)
{
	GError *err = NULL;

	g_assert_cmpint(fx_open(f, &err), ==, 0);
	g_assert_no_error(err);
}

/* The billid column of the CDR @uuid: "(null)" for NULL, NULL for no such row. */
static char *billid_of(struct fx *f, const char *uuid)
{
	char *sql = g_strdup_printf(
	        "SELECT coalesce(billid, '(null)') FROM cdrs WHERE uuid = '%s'", uuid);
	char *v = fx_query(f, sql);

	g_free(sql);
	return v;
}

static void assert_billid(struct fx *f, const char *uuid, const char *want)
{
	char *got = billid_of(f, uuid);

	g_assert_cmpstr(got, ==, want);
	g_free(got);
}

/* A database made by an engine that knew only 001, with history in it, migrates to 002. */
static void test_migrate_with_data(struct fx *f, gconstpointer data)
{
	const char *ts =
	        f->backend == CE_STORE_SQLITE ? "1795424400000000" : "'2026-11-23 09:00:00+00'";
	struct ce_cdr cdr = {.uuid = "new-cdr",
	        .room = "board",
	        .joined_at = T0,
	        .left_at = T0 + 5 * G_USEC_PER_SEC,
	        .billid = "1795424400-7"};
	char *sql;

	if (f->skip)
		return;
	g_assert_cmpint(last_version(f), >=, 2);
	g_assert_cmpint(migrations(f)[0].version, ==, 1);
	wipe(f);
	fx_exec(f, migrations(f)[0].sql);
	sql = g_strdup_printf(
	        "INSERT INTO conferences (access_number, room, starts_at, ends_at) VALUES "
	        "('800', 'board', %s, %s);"
	        "INSERT INTO cdrs (uuid, node, room, conference_id, caller, joined_at, left_at,"
	        " duration_ms, reason) VALUES ('old-cdr', 'n0', 'board', 1, '+4930123', %s, %s,"
	        " 0, 'hangup');"
	        "INSERT INTO events (uuid, at, kind, room) VALUES ('old-ev', %s, 'enter', 'board')",
	        ts, f->backend == CE_STORE_SQLITE ? "1795428000000000" : "'2026-11-23 10:00+00'",
	        ts, ts, ts);
	fx_exec(f, sql);
	g_free(sql);
	g_assert_cmpint(fx_query_int(f, "SELECT max(version) FROM schema_migrations"), ==, 1);

	reopen(f);
	g_assert_cmpint(
	        fx_query_int(f, "SELECT max(version) FROM schema_migrations"), ==, last_version(f));
	g_assert_cmpint(
	        fx_query_int(f, "SELECT count(*) FROM schema_migrations"), ==, last_version(f));
	/* the rows from before are all there, the old CDR without a billid */
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM conferences"), ==, 1);
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM events"), ==, 1);
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM cdrs WHERE uuid = 'old-cdr' AND"
	                                " caller = '+4930123' AND reason = 'hangup'"),
	        ==, 1);
	assert_billid(f, "old-cdr", "(null)");
	/* new CDRs carry theirs */
	ce_store_add_cdr(f->st, &cdr);
	fx_drain(f);
	assert_billid(f, "new-cdr", "1795424400-7");
	/* a second start finds nothing to do */
	fx_close(f);
	reopen(f);
	g_assert_cmpint(
	        fx_query_int(f, "SELECT count(*) FROM schema_migrations"), ==, last_version(f));
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM cdrs"), ==, 2);
}

/* billid goes in as given: absent, empty, hostile text, long. */
static void test_billid_round_trip(struct fx *f, gconstpointer data)
{
	struct ce_cdr cdr = {.room = "board",
	        .conference_id = 7,
	        .leg = "dumb/1",
	        .caller = "+4930123",
	        .joined_at = T0,
	        .left_at = T0 + 60 * G_USEC_PER_SEC,
	        .reason = "hangup"};
	char *lng = g_strnfill(4000, '9');

	if (f->skip)
		goto out;
	cdr.uuid = "b-plain";
	cdr.billid = "1795326661-4";
	ce_store_add_cdr(f->st, &cdr);
	cdr.uuid = "b-none";
	cdr.billid = NULL;
	ce_store_add_cdr(f->st, &cdr);
	cdr.uuid = "b-empty";
	cdr.billid = "";
	ce_store_add_cdr(f->st, &cdr);
	cdr.uuid = "b-hostile";
	cdr.billid = "x'); DROP TABLE cdrs; --\xff\xfe";
	ce_store_add_cdr(f->st, &cdr);
	cdr.uuid = "b-long";
	cdr.billid = lng;
	ce_store_add_cdr(f->st, &cdr);
	cdr.uuid = "b-plain"; /* the same uuid again: kept once, the first one */
	cdr.billid = "other";
	ce_store_add_cdr(f->st, &cdr);
	fx_drain(f);
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM cdrs"), ==, 5);
	assert_billid(f, "b-plain", "1795326661-4");
	assert_billid(f, "b-none", "(null)");
	assert_billid(f, "b-empty", "");
	/* invalid UTF-8 becomes U+FFFD, the same on both backends */
	assert_billid(f, "b-hostile", "x'); DROP TABLE cdrs; --\xef\xbf\xbd\xef\xbf\xbd");
	assert_billid(f, "b-long", lng);
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM cdrs WHERE billid = '1795326661-4'"
	                                " AND leg = 'dumb/1' AND duration_ms = 60000"),
	        ==, 1);
out:
	g_free(lng);
}

/* Appends @recs to the store's spool while the store is closed. */
static void spool_records(struct fx *f, GBytes **recs, guint n)
{
	struct ce_spool *sp = NULL;
	GError *err = NULL;

	g_assert_cmpint(ce_spool_open(&sp, f->opt.spool_dir, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpint(ce_spool_append(sp, recs, n, &err), ==, 0);
	g_assert_no_error(err);
	ce_spool_close(sp);
}

/*
 * A spool left by an engine from before billid (its old records) and this
 * one (new records) replays into a migrated database: nothing lost, the
 * old CDR without a billid.
 */
static void test_old_spool_replay(struct fx *f, gconstpointer data)
{
	struct ce_cdr cdr = {.uuid = "new-spool-cdr",
	        .room = "board",
	        .joined_at = T0,
	        .left_at = T0 + G_USEC_PER_SEC,
	        .node = "n1",
	        .billid = "1795424400-9"};
	struct ce_rec *r = ce_rec_new_cdr(&cdr);
	GBytes *recs[2] = {old_cdr_bytes(), ce_rec_serialize(r)};
	char *col;

	if (f->skip)
		goto out;
	fx_close(f);
	spool_records(f, recs, G_N_ELEMENTS(recs));
	reopen(f);
	fx_drain(f);
	g_assert_cmpuint(CE_ATOMIC_GET(&f->st->replayed), ==, 2);
	g_assert_cmpuint(CE_ATOMIC_GET(&f->st->rejected), ==, 0);
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM cdrs"), ==, 2);
	assert_billid(f, "old-spool-cdr-1", "(null)");
	assert_billid(f, "new-spool-cdr", "1795424400-9");
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM cdrs WHERE uuid = 'old-spool-cdr-1'"
	                                " AND node = 'old-node' AND room = 'board' AND"
	                                " conference_id = 7 AND leg = 'dumb/3' AND"
	                                " role = 'participant' AND caller = '+4930123' AND"
	                                " caller_name = 'Ann' AND called = '800' AND"
	                                " duration_ms = 90000 AND talk_ms = 30000 AND"
	                                " reason = 'hangup'"),
	        ==, 1);
	col = fx_query(
	        f, f->backend == CE_STORE_SQLITE
	                   ? "SELECT left_at FROM cdrs WHERE uuid = 'old-spool-cdr-1'"
	                   : "SELECT (extract(epoch FROM left_at) * 1000000)::bigint FROM cdrs"
	                     " WHERE uuid = 'old-spool-cdr-1'");
	g_assert_cmpstr(col, ==, "1795424490000000");
	g_free(col);
out:
	g_bytes_unref(recs[0]);
	g_bytes_unref(recs[1]);
	ce_rec_free(r);
}

/* A database at 002 (an engine from before 003), with history, migrates to 003. */
static void test_migrate_identity(struct fx *f, gconstpointer data)
{
	const char *ts =
	        f->backend == CE_STORE_SQLITE ? "1795424400000000" : "'2026-11-23 09:00:00+00'";
	struct ce_event ev = {.uuid = "new-ev",
	        .kind = CE_EVENT_ENTER,
	        .at = T0,
	        .room = "board",
	        .conference_id = 7,
	        .leg = "dumb/2",
	        .participant_id = 12,
	        .role = "moderator",
	        .caller = "9001",
	        .caller_name = "Ann",
	        .called = "9001",
	        .direction = "out"};
	struct ce_cdr cdr = {.uuid = "new-cdr",
	        .room = "board",
	        .conference_id = 7,
	        .participant_id = 12,
	        .role = "moderator",
	        .caller = "9001",
	        .called = "9001",
	        .direction = "out",
	        .joined_at = T0,
	        .left_at = T0 + 5 * G_USEC_PER_SEC};
	char *sql;

	if (f->skip)
		return;
	g_assert_cmpint(last_version(f), >=, 3);
	g_assert_cmpint(migrations(f)[1].version, ==, 2);
	wipe(f);
	fx_exec(f, migrations(f)[0].sql);
	fx_exec(f, migrations(f)[1].sql);
	sql = g_strdup_printf(
	        "INSERT INTO cdrs (uuid, node, room, caller, joined_at, left_at, reason, billid)"
	        " VALUES ('old-cdr', 'n0', 'board', '+4930123', %s, %s, 'hangup', '1-2');"
	        "INSERT INTO events (uuid, at, kind, room, caller) VALUES ('old-ev', %s, 'enter',"
	        " 'board', '+4930123')",
	        ts, ts, ts);
	fx_exec(f, sql);
	g_free(sql);
	g_assert_cmpint(fx_query_int(f, "SELECT max(version) FROM schema_migrations"), ==, 2);

	reopen(f);
	g_assert_cmpint(
	        fx_query_int(f, "SELECT max(version) FROM schema_migrations"), ==, last_version(f));
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM events WHERE uuid = 'old-ev' AND"
	                                " caller = '+4930123' AND role IS NULL AND called IS NULL"
	                                " AND direction IS NULL"),
	        ==, 1);
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM cdrs WHERE uuid = 'old-cdr' AND"
	                                " billid = '1-2' AND direction IS NULL"),
	        ==, 1);
	ce_store_add_event(f->st, &ev);
	ce_store_add_cdr(f->st, &cdr);
	fx_drain(f);
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM events WHERE uuid = 'new-ev' AND"
	                                " conference_id = 7 AND participant_id = 12 AND"
	                                " role = 'moderator' AND caller = '9001' AND"
	                                " caller_name = 'Ann' AND called = '9001' AND"
	                                " direction = 'out'"),
	        ==, 1);
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM cdrs WHERE uuid = 'new-cdr' AND"
	                                " role = 'moderator' AND called = '9001' AND"
	                                " direction = 'out'"),
	        ==, 1);
	/* the database itself refuses a direction other than in and out */
	g_assert_cmpint(
	        fx_try_exec(f, "INSERT INTO cdrs (uuid, room, joined_at, left_at, direction)"
	                       " VALUES ('bad', 'board', 0, 0, 'sideways')"),
	        !=, 0);
}

/* A database at 003 (an engine from before recognition), with a schedule, migrates to 004. */
static void test_migrate_recognition(struct fx *f, gconstpointer data)
{
	const char *start =
	        f->backend == CE_STORE_SQLITE ? "1795424400000000" : "'2026-11-23 09:00:00+00'";
	const char *end =
	        f->backend == CE_STORE_SQLITE ? "1795428000000000" : "'2026-11-23 10:00:00+00'";
	struct ce_participant p = {.name = "Bob", .number = "+49 30 123"};
	char *sql;

	if (f->skip)
		return;
	g_assert_cmpint(last_version(f), >=, 4);
	g_assert_cmpint(migrations(f)[2].version, ==, 3);
	wipe(f);
	for (int i = 0; i < 3; i++)
		fx_exec(f, migrations(f)[i].sql);
	sql = g_strdup_printf(
	        "INSERT INTO conferences (access_number, room, pin, starts_at, ends_at) VALUES"
	        " ('800', 'board', '1234', %s, %s);"
	        "INSERT INTO participants (conference_id, name, role, pin) VALUES"
	        " (1, 'Ann', 'moderator', '55555')",
	        start, end);
	fx_exec(f, sql);
	g_free(sql);
	g_assert_cmpint(fx_query_int(f, "SELECT max(version) FROM schema_migrations"), ==, 3);

	reopen(f);
	g_assert_cmpint(
	        fx_query_int(f, "SELECT max(version) FROM schema_migrations"), ==, last_version(f));
	/* the rows from before are there: nobody recognised, nobody always asked */
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM conferences WHERE room = 'board' AND"
	                                " pin = '1234' AND NOT always_pin"),
	        ==, 1);
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM participants WHERE name = 'Ann' AND"
	                                " role = 'moderator' AND pin = '55555' AND number IS NULL"),
	        ==, 1);
	/* new rows carry a number */
	p.conference_id = 1;
	fx_put_participant(f, &p);
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM participants WHERE name = 'Bob' AND"
	                                " number = '+49 30 123'"),
	        ==, 1);
	/* plain SQL that leaves always_pin out gets 0; NULL is refused */
	sql = g_strdup_printf(
	        "INSERT INTO conferences (room, starts_at, ends_at) VALUES ('plain', %s, %s)",
	        start, end);
	fx_exec(f, sql);
	g_free(sql);
	g_assert_cmpint(
	        fx_query_int(f, "SELECT count(*) FROM conferences WHERE NOT always_pin"), ==, 2);
	g_assert_cmpint(fx_try_exec(f, "UPDATE conferences SET always_pin = NULL"), !=, 0);
}

/* role, called and direction go in as given; a direction that is neither in nor out is NULL. */
static void test_identity_round_trip(struct fx *f, gconstpointer data)
{
	struct ce_event ev = {.kind = CE_EVENT_LEAVE, .at = T0, .room = "board", .leg = "dumb/1"};
	struct ce_cdr cdr = {.room = "board", .joined_at = T0, .left_at = T0 + G_USEC_PER_SEC};
	static const char *const dirs[] = {"in", "out", "sideways", "", NULL};
	static const char *const want[] = {"in", "out", "(null)", "(null)", "(null)"};

	if (f->skip)
		return;
	for (unsigned i = 0; i < G_N_ELEMENTS(dirs); i++) {
		char *uuid = g_strdup_printf("id-%u", i), *sql, *got;

		ev.uuid = cdr.uuid = uuid;
		ev.direction = cdr.direction = (char *)dirs[i];
		ev.role = "listener";
		ev.called = "800\xff";
		ce_store_add_event(f->st, &ev);
		ce_store_add_cdr(f->st, &cdr);
		fx_drain(f);
		sql = g_strdup_printf(
		        "SELECT coalesce(direction, '(null)') || ' ' || role || ' ' ||"
		        " called FROM events WHERE uuid = '%s'",
		        uuid);
		got = fx_query(f, sql);
		g_free(sql);
		sql = g_strdup_printf("%s listener 800\xef\xbf\xbd", want[i]);
		g_assert_cmpstr(got, ==, sql);
		g_free(sql);
		g_free(got);
		sql = g_strdup_printf(
		        "SELECT coalesce(direction, '(null)') FROM cdrs WHERE uuid = '%s'", uuid);
		got = fx_query(f, sql);
		g_assert_cmpstr(got, ==, want[i]);
		g_free(got);
		g_free(sql);
		g_free(uuid);
	}
	g_assert_cmpuint(CE_ATOMIC_GET(&f->st->rejected), ==, 0);
}

/* The codec alone: billid survives the spool format; old bytes read with billid NULL. */
static void test_codec(void)
{
	struct ce_cdr cdr = {.uuid = "u1", .room = "r", .billid = "1795326661-4"};
	struct ce_rec *r = ce_rec_new_cdr(&cdr), *back = NULL;
	GBytes *b = ce_rec_serialize(r), *old = old_cdr_bytes();

	g_assert_cmpint(ce_rec_deserialize(&back, b), ==, 0);
	g_assert_cmpint(back->type, ==, CE_REC_CDR);
	g_assert_cmpstr(back->cdr->billid, ==, "1795326661-4");
	ce_rec_free(back);
	g_assert_cmpint(ce_rec_deserialize(&back, old), ==, 0);
	g_assert_cmpint(back->type, ==, CE_REC_CDR);
	g_assert_cmpstr(back->cdr->uuid, ==, "old-spool-cdr-1");
	g_assert_cmpstr(back->cdr->reason, ==, "hangup");
	g_assert_cmpint(back->cdr->left_at, ==, T0 + 90 * G_USEC_PER_SEC);
	g_assert_null(back->cdr->billid);
	g_assert_null(back->cdr->direction);
	ce_rec_free(back);
	g_bytes_unref(old);
	g_bytes_unref(b);
	ce_rec_free(r);
}

/* The identity of an event and a CDR survives the spool format. */
static void test_codec_identity(void)
{
	struct ce_event ev = {.uuid = "e1",
	        .kind = CE_EVENT_ENTER,
	        .room = "r",
	        .role = "moderator",
	        .called = "9001",
	        .direction = "out",
	        .participant_id = 12};
	struct ce_cdr cdr = {.uuid = "c1", .room = "r", .direction = "in"};
	struct ce_rec *re = ce_rec_new_event(&ev), *rc = ce_rec_new_cdr(&cdr), *back = NULL;
	GBytes *be = ce_rec_serialize(re), *bc = ce_rec_serialize(rc);

	g_assert_cmpint(ce_rec_deserialize(&back, be), ==, 0);
	g_assert_cmpstr(back->ev->role, ==, "moderator");
	g_assert_cmpstr(back->ev->called, ==, "9001");
	g_assert_cmpstr(back->ev->direction, ==, "out");
	g_assert_cmpint(back->ev->participant_id, ==, 12);
	ce_rec_free(back);
	g_assert_cmpint(ce_rec_deserialize(&back, bc), ==, 0);
	g_assert_cmpstr(back->cdr->direction, ==, "in");
	ce_rec_free(back);
	g_bytes_unref(be);
	g_bytes_unref(bc);
	ce_rec_free(re);
	ce_rec_free(rc);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/store-cdr/codec", test_codec);
	g_test_add_func("/store-cdr/codec-identity", test_codec_identity);
	fx_add_tests("migrate-001-002-with-data", test_migrate_with_data);
	fx_add_tests("billid-round-trip", test_billid_round_trip);
	fx_add_tests("old-spool-replay", test_old_spool_replay);
	fx_add_tests("migrate-002-003-with-data", test_migrate_identity);
	fx_add_tests("identity-round-trip", test_identity_round_trip);
	fx_add_tests("migrate-003-004-with-data", test_migrate_recognition);
	return g_test_run();
}
