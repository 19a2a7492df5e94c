/* test-monitor.c - the monitor module on the bus: transcript 1's chan.notify, our rooms, the store,
 * the socket
 *
 * Over 700 lines: one case per source of events (Yate's chan.notify, the
 * engine's rooms, the store, the socket) on one fixture.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <glib/gstdio.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>

#include "bus.h"
#include "conf-engine/config.h"
#include "console.h"
#include "engine.h"
#include "engine-private.h"
#include "message.h"
#include "protocol.h"
#include "modules/store/store.h"
#include "tests/testutil.h"
#include "yate.h"

#define T0   ((gint64)1795326783 * G_USEC_PER_SEC)
#define STEP (100 * 1000) /* the fake clock advances 100 ms per fed line */

struct fixture {
	char *dir, *log, *sock, *db;
	struct ce_engine *ce;
	gint64 now;
	GPtrArray *sent; /* messages the engine sent to "Yate" */
};

static gint64 fake_clock(void *arg)
{
	return *(gint64 *)arg;
}

static void fake_relay(void *arg, const char *name, int prio, const char *fname, const char *fvalue)
{
}

static void fake_watch(void *arg, const char *name, bool on)
{
}

static void fake_send(
        void *arg, struct ce_msg *msg, unsigned timeout_ms, ce_msg_done_h *done, void *done_arg)
{
	struct fixture *f = arg;

	g_ptr_array_add(f->sent, ce_msg_ref(msg));
	done(msg, false, done_arg);
}

static const struct ce_uplink_ops fake_ops = {fake_relay, fake_watch, fake_send};

static void setup(struct fixture *f, gconstpointer data)
{
	f->dir = g_dir_make_tmp("monitor-XXXXXX", NULL);
	g_assert_nonnull(f->dir);
	f->log = g_build_filename(f->dir, "events.jsonl", NULL);
	f->sock = g_build_filename(f->dir, "monitor.sock", NULL);
	f->db = g_build_filename(f->dir, "conf.db", NULL);
	f->now = T0;
	f->sent = g_ptr_array_new_with_free_func((GDestroyNotify)ce_msg_unref);
}

static void teardown(struct fixture *f, gconstpointer data)
{
	ce_engine_free(f->ce);
	g_ptr_array_unref(f->sent);
	ce_test_rm_tree(f->dir);
	g_free(f->dir);
	g_free(f->log);
	g_free(f->sock);
	g_free(f->db);
}

/* Start the monitor (and the store with @store) with extra [monitor] keys "k=v". */
static int start(struct fixture *f, bool store, const char *const *keys)
{
	const char *const with_store[] = {"store", "monitor", NULL};
	const char *const alone[] = {"monitor", NULL};
	struct ce_config *cfg;

	ce_config_new_empty(&cfg);
	ce_config_set(cfg, "general", "node", "test1");
	ce_config_set(cfg, "monitor", "event_log", f->log);
	ce_config_set(cfg, "monitor", "socket", f->sock);
	for (; keys && *keys; keys++) {
		char **kv = g_strsplit(*keys, "=", 2);

		ce_config_set(cfg, "monitor", kv[0], kv[1]);
		g_strfreev(kv);
	}
	if (store) {
		char *spool = g_build_filename(f->dir, "spool", NULL);

		ce_config_set(cfg, "store", "sqlite_path", f->db);
		ce_config_set(cfg, "store", "spool_dir", spool);
		g_free(spool);
	}
	g_assert_cmpint(ce_engine_new(&f->ce, cfg), ==, 0);
	ce_engine_set_clock(f->ce, fake_clock, &f->now);
	ce_bus_set_uplink(ce_engine_bus(f->ce), &fake_ops, f);
	return ce_engine_start(f->ce, store ? with_store : alone);
}

/* Feed every watcher report ("E: %%<message::...") of @file as Yate would. */
static unsigned feed_transcript(struct fixture *f, const char *file)
{
	char *path = g_build_filename(CE_SRCDIR, "tests", "data", file, NULL);
	char *text = NULL, **lines;
	unsigned n = 0;

	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++) {
		struct ce_line line = {0};
		GError *err = NULL;

		if (!g_str_has_prefix(*l, "E: %%<message::"))
			continue;
		g_assert_cmpint(ce_line_parse(&line, *l + 3, strlen(*l + 3), NULL, &err), ==, 0);
		g_assert_no_error(err);
		f->now += STEP;
		ce_bus_notify_uplink(ce_engine_bus(f->ce), line.msg, line.msg->processed);
		ce_line_clear(&line);
		n++;
	}
	g_strfreev(lines);
	g_free(text);
	g_free(path);
	return n;
}

/* The lines of the event log, read after the engine stopped (the writer thread is done). */
static char **log_lines(struct fixture *f)
{
	char *text = NULL;
	char **lines;

	ce_engine_stop(f->ce);
	g_assert_true(g_file_get_contents(f->log, &text, NULL, NULL));
	lines = g_strsplit(g_strchomp(text), "\n", -1);
	g_free(text);
	return lines;
}

/* The value of "key" in JSON line @line (strings and integers), or NULL. */
static char *json_get(const char *line, const char *key)
{
	char *pat = g_strdup_printf("\"%s\":(\"((?:[^\"\\\\]|\\\\.)*)\"|(-?[0-9]+))", key);
	GRegex *re = g_regex_new(pat, 0, 0, NULL);
	GMatchInfo *mi = NULL;
	char *v = NULL;

	if (g_regex_match(re, line, 0, &mi)) {
		v = g_match_info_fetch(mi, 2);
		if (!v || !*v) {
			g_free(v);
			v = g_match_info_fetch(mi, 3);
		}
	}
	g_match_info_free(mi);
	g_regex_unref(re);
	g_free(pat);
	return v;
}

/* "event leg" for events, "cdr leg" for CDRs, joined by "; ". */
static char *summary(char **lines)
{
	GString *s = g_string_new(NULL);

	for (char **l = lines; *l && **l; l++) {
		char *type = json_get(*l, "type"), *ev = json_get(*l, "event");
		char *leg = json_get(*l, "leg");

		g_assert_true(g_str_has_prefix(*l, "{") && g_str_has_suffix(*l, "}"));
		g_string_append_printf(s, "%s%s %s", s->len ? "; " : "",
		        !g_strcmp0(type, "cdr") ? "cdr" : ev, leg ? leg : "-");
		g_free(type);
		g_free(ev);
		g_free(leg);
	}
	return g_string_free(s, FALSE);
}

/* The line of @lines with "event":@event (or "type":"cdr") for @leg. */
static const char *find_line(char **lines, const char *event, const char *leg)
{
	for (char **l = lines; *l; l++) {
		char *ev = json_get(*l, strcmp(event, "cdr") ? "event" : "type");
		char *lg = json_get(*l, "leg");
		bool hit = !g_strcmp0(ev, event) && !g_strcmp0(lg, leg);

		g_free(ev);
		g_free(lg);
		if (hit)
			return *l;
	}
	return NULL;
}

static void assert_field(const char *line, const char *key, const char *want)
{
	char *v = json_get(line, key);

	g_assert_nonnull(line);
	g_assert_cmpstr(v, ==, want);
	g_free(v);
}

#define YROOM                                                                                      \
	"created -; enter conf/1; talk-start conf/1; enter conf/2; talk-start conf/2; "            \
	"talk-stop conf/1; leave conf/1; cdr conf/1; talk-stop conf/2; leave conf/2; "             \
	"cdr conf/2; destroyed -"

/* Transcript 1: Yate's own conference room "yroom", CDRs at once (cdr_delay=0). */
static void test_transcript(struct fixture *f, gconstpointer data)
{
	const char *const keys[] = {"cdr_delay=0", NULL};
	char **lines, *sum;
	const char *l;
	GString *st;

	g_assert_cmpint(start(f, false, keys), ==, 0);
	g_assert_cmpuint(feed_transcript(f, "transcript-1.txt"), >, 20);
	st = g_string_new(NULL);
	ce_console_status(f->ce, st);
	g_assert_nonnull(strstr(st->str, "monitor_rooms=0,monitor_participants=0,monitor_talking=0,"
	                                 "monitor_events=10,monitor_cdrs=2,monitor_pending_cdrs=0,"
	                                 "monitor_subscribers=0,monitor_subscribers_dropped=0,"
	                                 "monitor_subscribers_refused=0,"));
	g_string_free(st, TRUE);
	lines = log_lines(f);
	sum = summary(lines);
	g_assert_cmpstr(sum, ==, YROOM);
	g_free(sum);

	l = find_line(lines, "enter", "conf/1");
	assert_field(l, "source", "yate");
	assert_field(l, "room", "yroom");
	assert_field(l, "targetid", "conf-monitor/yroom");
	assert_field(l, "users", "1");
	assert_field(l, "maxusers", "5");
	assert_field(l, "caller", "tone/busy"); /* from "created": the call that made the room */
	assert_field(l, "node", "test1");
	l = find_line(lines, "talk-start", "conf/2");
	assert_field(l, "energy", "25");
	assert_field(l, "peer", "tone/5");
	/* conf/1 joined at report 13 (T0 + 13 steps), talked from 16, left at 26 */
	l = find_line(lines, "talk-stop", "conf/1");
	assert_field(l, "duration_ms", "1000");
	l = find_line(lines, "leave", "conf/1");
	assert_field(l, "users", "1");
	assert_field(l, "duration_ms", "1300");
	l = find_line(lines, "cdr", "conf/1");
	assert_field(l, "caller", "tone/busy");
	assert_field(l, "called", "802");
	assert_field(l, "peer", "tone/4");
	assert_field(l, "billid", "1795326661-4"); /* from chan.disconnected */
	assert_field(l, "joined_us", "1795326784300000");
	assert_field(l, "left_us", "1795326785600000");
	assert_field(l, "joined", "2026-11-22T05:53:04.300000Z");
	assert_field(l, "duration_ms", "1300");
	assert_field(l, "talk_ms", "1000");
	assert_field(l, "reason", "left");
	l = find_line(lines, "cdr", "conf/2");
	assert_field(l, "caller", "tone/dial"); /* from the call.execute report */
	assert_field(l, "billid", "1795326661-5");
	g_strfreev(lines);
}

/* The default waits for chan.hangup: CDRs come at its arrival, or at shutdown. */
static void test_cdr_after_hangup(struct fixture *f, gconstpointer data)
{
	struct ce_msg *m;
	char **lines, *sum;

	g_assert_cmpint(start(f, false, NULL), ==, 0);
	feed_transcript(f, "transcript-1.txt");
	ce_msg_new(&m, "chan.hangup");
	ce_msg_add(m, "id", "conf/2");
	ce_msg_add(m, "reason", "noanswer");
	f->now += STEP;
	ce_bus_notify_uplink(ce_engine_bus(f->ce), m, false);
	ce_msg_unref(m);
	lines = log_lines(f); /* the engine stops: conf/1's CDR is written now */
	sum = summary(lines);
	g_assert_cmpstr(sum, ==,
	        "created -; enter conf/1; talk-start conf/1; enter conf/2; talk-start conf/2; "
	        "talk-stop conf/1; leave conf/1; talk-stop conf/2; leave conf/2; destroyed -; "
	        "cdr conf/2; cdr conf/1");
	assert_field(find_line(lines, "cdr", "conf/2"), "reason", "noanswer");
	assert_field(find_line(lines, "cdr", "conf/1"), "left_us", "1795326785600000");
	g_free(sum);
	g_strfreev(lines);
}

/* A room event of our own room "room1" about @leg (may be NULL). */
static struct ce_room_event ours(enum ce_event_kind kind, const char *leg)
{
	struct ce_room_event ev;

	ce_room_event_init(&ev, kind);
	ev.target = "conf-monitor/room1";
	ev.room = "room1";
	ev.leg = leg;
	ev.peer = leg ? "tone/3" : NULL;
	return ev;
}

/* Through the bus's room hook, as the conference module tells them: no chan.notify. */
static void send_ours(struct fixture *f, const struct ce_room_event *ev)
{
	f->now += STEP;
	ce_bus_room_event(ce_engine_bus(f->ce), ev);
}

/* Our own rooms: explicit talker and mute events, each seen once, speaking lists ignored. */
static void test_own_rooms(struct fixture *f, gconstpointer data)
{
	const char *const keys[] = {"cdr_delay=0", NULL};
	struct ce_room_event ev;
	char **lines, *sum;

	g_assert_cmpint(start(f, false, keys), ==, 0);
	ev = ours(CE_EVENT_CREATED, NULL);
	send_ours(f, &ev);
	ev = ours(CE_EVENT_ENTER, "dumb/3");
	ev.who.caller = "alice";
	ev.who.called = "800";
	ev.who.billid = "1795326661-3";
	ev.users = 1;
	send_ours(f, &ev);
	ev = ours(CE_EVENT_TALK_START, "dumb/3");
	ev.energy = 1200;
	send_ours(f, &ev);
	ev = ours(CE_EVENT_SPEAKERS, NULL); /* the media side's list: not read for our rooms */
	ev.n_speakers = 1;
	send_ours(f, &ev);
	ev = ours(CE_EVENT_MUTE, "dumb/3");
	send_ours(f, &ev);
	ev = ours(CE_EVENT_RECORD_START, NULL);
	ev.record = "r.wav";
	ev.file = "/rec/r.wav";
	send_ours(f, &ev);
	ev = ours(CE_EVENT_RECORD_STOP, NULL); /* stopped by itself: why in reason */
	ev.record = "";
	ev.file = "/rec/r.wav";
	ev.reason = "disk full: No space left on device";
	send_ours(f, &ev);
	ev = ours(CE_EVENT_TALK_STOP, "dumb/3");
	send_ours(f, &ev);
	ev = ours(CE_EVENT_LEAVE, "dumb/3");
	send_ours(f, &ev);
	ev = ours(CE_EVENT_END, NULL);
	send_ours(f, &ev);
	lines = log_lines(f);
	sum = summary(lines);
	g_assert_cmpstr(sum, ==,
	        "created -; enter dumb/3; talk-start dumb/3; mute dumb/3; record-start -; "
	        "record-stop -; talk-stop dumb/3; leave dumb/3; cdr dumb/3; destroyed -");
	assert_field(find_line(lines, "record-start", NULL), "detail", "r.wav");
	assert_field(find_line(lines, "record-stop", NULL), "detail",
	        "disk full: No space left on device");
	assert_field(find_line(lines, "enter", "dumb/3"), "source", "engine");
	assert_field(find_line(lines, "talk-start", "dumb/3"), "energy", "1200");
	assert_field(find_line(lines, "talk-stop", "dumb/3"), "duration_ms", "500");
	assert_field(find_line(lines, "cdr", "dumb/3"), "billid", "1795326661-3");
	assert_field(find_line(lines, "cdr", "dumb/3"), "talk_ms", "500");
	g_free(sum);
	g_strfreev(lines);
}

static void link_event(struct fixture *f, const char *state, const char *restarted)
{
	struct ce_msg *m;

	ce_msg_new(&m, CE_LINK_MSG);
	ce_msg_add(m, "state", state);
	if (restarted)
		ce_msg_add(m, "restarted", restarted);
	f->now += STEP;
	ce_bus_dispatch(ce_engine_bus(f->ce), m, NULL, NULL);
	ce_msg_unref(m);
}

static void yate_joined(struct fixture *f, const char *leg)
{
	struct ce_msg *m;

	ce_msg_new(&m, "chan.notify");
	ce_msg_add(m, "id", leg);
	ce_msg_add(m, "targetid", "conf-monitor/yroom");
	ce_msg_add(m, "room", "yroom");
	ce_msg_add(m, "event", "joined");
	f->now += STEP;
	ce_bus_notify_uplink(ce_engine_bus(f->ce), m, false);
	ce_msg_unref(m);
}

/*
 * Yate comes back restarted: the rooms of Yate's own conference module died
 * with it without a "left" or "destroyed": the monitor ends them itself.
 * Our own rooms are ended by the conference module, whose "left" of an
 * orphaned leg says why (reason) and how long ago (gone_ms).
 */
static void test_yate_restart(struct fixture *f, gconstpointer data)
{
	const char *const keys[] = {"cdr_delay=0", NULL};
	struct ce_room_event ev;
	char **lines, *sum;
	const char *l;

	g_assert_cmpint(start(f, false, keys), ==, 0);
	yate_joined(f, "conf/1");
	ev = ours(CE_EVENT_ENTER, "dumb/3");
	send_ours(f, &ev);
	f->now += 2 * G_USEC_PER_SEC;
	link_event(f, "down", NULL);
	link_event(f, "up", "false"); /* the same Yate: its rooms go on */
	f->now += 5 * G_USEC_PER_SEC;
	ev = ours(CE_EVENT_LEAVE, "dumb/3");
	ev.reason = "yate-restart";
	ev.gone_ms = 5000;
	send_ours(f, &ev);
	ev = ours(CE_EVENT_END, NULL);
	send_ours(f, &ev);
	g_test_expect_message("monitor", G_LOG_LEVEL_WARNING,
	        "Yate was restarted: 1 room of Yate's own conference module ended (reason "
	        "yate-restart)");
	link_event(f, "up", "true");
	g_test_assert_expected_messages();
	lines = log_lines(f);
	sum = summary(lines);
	g_assert_cmpstr(sum, ==,
	        "enter conf/1; enter dumb/3; leave dumb/3; cdr dumb/3; destroyed -; leave conf/1; "
	        "cdr conf/1; destroyed -");
	l = find_line(lines, "leave", "dumb/3");
	assert_field(l, "reason", "yate-restart");
	assert_field(l, "duration_ms", "2300"); /* gone 5 s before it was told: not 7300 */
	assert_field(find_line(lines, "cdr", "dumb/3"), "reason", "yate-restart");
	assert_field(find_line(lines, "cdr", "dumb/3"), "duration_ms", "2300");
	l = find_line(lines, "cdr", "conf/1");
	assert_field(l, "source", "yate");
	assert_field(l, "reason", "yate-restart");
	g_free(sum);
	g_strfreev(lines);
}

static void hostile(struct fixture *f, const char *event, const char *const *params)
{
	struct ce_msg *m;

	ce_msg_new(&m, "chan.notify");
	ce_msg_add(m, "targetid", "conf-monitor/bad");
	if (event)
		ce_msg_add(m, "event", event);
	for (; params && *params; params += 2)
		ce_msg_add(m, params[0], params[1]);
	f->now += STEP;
	ce_bus_notify_uplink(ce_engine_bus(f->ce), m, false);
	ce_msg_unref(m);
}

static void expect(const char *pattern)
{
	g_test_expect_message("monitor", G_LOG_LEVEL_WARNING, pattern);
}

/* Missing parameters, absurd counts, 10,000 speakers, bad bytes: clear logs, bounded work. */
static void test_hostile(struct fixture *f, gconstpointer data)
{
	const char *const keys[] = {"cdr_delay=0", NULL};
	const char *const no_id[] = {"room", "bad", NULL};
	const char *const joined[] = {"id", "conf/7", "room", "bad\xff\x01name", NULL};
	const char *const absurd[] = {"room", "bad", "speakers", "1000000", NULL};
	const char *const overflow[] = {"room", "bad", "speakers", "99999999999999999999", NULL};
	const char *const odd[] = {"room", "bad", "speakers", "-5", "speaker.0", "conf/7",
	        "speaker.-1", "x", "speaker.", "y", "speaker.1", "", "speaker.2", "conf/8",
	        "speaker.3", "conf/7", NULL};
	struct ce_msg *m;
	char **lines;
	unsigned starts = 0;

	g_assert_cmpint(start(f, false, keys), ==, 0);
	expect("chan.notify targetid=conf-monitor/bad without event, ignored");
	hostile(f, NULL, no_id);
	expect("chan.notify event=joined in room 'bad' without id, ignored");
	hostile(f, "joined", no_id);
	expect("chan.notify event=left for unknown leg '' in room 'bad', ignored");
	hostile(f, "left", no_id);
	expect("chan.notify talker event in room 'bad' without id, ignored");
	hostile(f, "talkstart", no_id);
	hostile(f, "joined", joined);
	expect("chan.notify: 'conf/7' joined room 'bad*name' twice, ignored");
	hostile(f, "joined", joined);
	expect("chan.notify: room 'bad' lists 1000000 speakers, reading the first 32");
	hostile(f, "speaking", absurd);
	hostile(f, "speaking", overflow);
	expect("chan.notify: leg 'conf/7' of room 'bad*name' reported in room 'bad'");
	hostile(f, "speaking", odd);
	hostile(f, "destroyed", NULL); /* no room: taken from the targetid */
	hostile(f, "destroyed", NULL); /* unknown room now: ignored */
	ce_msg_new(&m, "chan.notify");
	ce_msg_add(m, "targetid", "conf-monitor/big");
	ce_msg_add(m, "event", "speaking");
	for (unsigned i = 1; i <= 10000; i++) {
		char k[32], v[32];

		g_snprintf(k, sizeof(k), "speaker.%u", i);
		g_snprintf(v, sizeof(v), "conf/%u", i);
		ce_msg_add(m, k, v);
	}
	ce_msg_add(m, "speakers", "10000");
	expect("chan.notify: room 'big' lists 10000 speakers, reading the first 32");
	expect("chan.notify: leg 'conf/7' of room 'bad*name' reported in room 'big'");
	ce_bus_notify_uplink(ce_engine_bus(f->ce), m, false);
	ce_msg_unref(m);
	g_test_assert_expected_messages();
	lines = log_lines(f);
	for (char **l = lines; *l; l++) {
		starts += strstr(*l, "\"talk-start\"") != NULL;
		g_assert_true(g_utf8_validate(*l, -1, NULL));
		g_assert_null(strchr(*l, '\x01'));
	}
	/* max_speakers of "big" but conf/7 (in another room), and conf/8 in "bad" */
	g_assert_cmpuint(starts, ==, 31 + 1);
	g_assert_nonnull(find_line(lines, "enter", "conf/7"));
	assert_field(find_line(lines, "enter", "conf/7"), "room",
	        "bad\xef\xbf\xbd"
	        "\\u0001name");
	assert_field(find_line(lines, "cdr", "conf/7"), "reason", "shutdown");
	assert_field(find_line(lines, "cdr", "conf/8"), "reason", "destroyed");
	g_assert_nonnull(find_line(lines, "talk-stop", "conf/32"));
	g_assert_null(find_line(lines, "talk-start", "conf/33"));
	g_strfreev(lines);
}

static void flushed(void *arg)
{
	*(bool *)arg = true;
}

static gint64 db_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	gint64 v = -1;

	g_assert_cmpint(sqlite3_prepare_v2(db, sql, -1, &st, NULL), ==, SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static char *db_text(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	char *v = NULL;

	g_assert_cmpint(sqlite3_prepare_v2(db, sql, -1, &st, NULL), ==, SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = g_strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

/* Events and CDRs reach a real SQLite store. */
static void test_store(struct fixture *f, gconstpointer data)
{
	const char *const keys[] = {"cdr_delay=0", NULL};
	gint64 deadline;
	bool done = false;
	sqlite3 *db = NULL;
	char *s;

	g_assert_cmpint(start(f, true, keys), ==, 0);
	g_assert_nonnull(ce_store_of(f->ce));
	feed_transcript(f, "transcript-1.txt");
	g_assert_cmpint(ce_store_flush(ce_store_of(f->ce), flushed, &done, NULL), ==, 0);
	deadline = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
	while (!done && g_get_monotonic_time() < deadline)
		g_main_context_iteration(NULL, !done);
	g_assert_true(done);
	ce_engine_stop(f->ce);
	g_assert_cmpint(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
	g_assert_cmpint(db_int(db, "SELECT count(*) FROM events"), ==, 10);
	g_assert_cmpint(db_int(db, "SELECT count(*) FROM events WHERE kind='talk-start'"), ==, 2);
	g_assert_cmpint(db_int(db, "SELECT count(*) FROM events WHERE kind='end'"), ==, 1);
	g_assert_cmpint(db_int(db, "SELECT at FROM events WHERE kind='enter' AND leg='conf/1'"), ==,
	        T0 + 13 * STEP);
	g_assert_cmpint(db_int(db, "SELECT count(*) FROM cdrs"), ==, 2);
	g_assert_cmpint(db_int(db, "SELECT duration_ms FROM cdrs WHERE leg='conf/1'"), ==, 1300);
	g_assert_cmpint(db_int(db, "SELECT talk_ms FROM cdrs WHERE leg='conf/1'"), ==, 1000);
	s = db_text(
	        db, "SELECT caller || ' ' || called || ' ' || room FROM cdrs WHERE leg='conf/2'");
	g_assert_cmpstr(s, ==, "tone/dial 802 yroom");
	g_free(s);
	sqlite3_close(db);
}

/* A message "k=v:k=v" (no escaping needed here). */
static struct ce_msg *msg_of(const char *name, const char *params)
{
	char **kv = g_strsplit(params, ":", -1);
	struct ce_msg *m;

	ce_msg_new(&m, name);
	for (char **p = kv; *p; p++) {
		char *eq = strchr(*p, '=');

		*eq = '\0';
		ce_msg_add(m, *p, eq + 1);
	}
	g_strfreev(kv);
	return m;
}

static void yate_reports(struct fixture *f, const char *name, const char *params, bool handled)
{
	struct ce_msg *m = msg_of(name, params);

	f->now += STEP;
	ce_bus_notify_uplink(ce_engine_bus(f->ce), m, handled);
	ce_msg_unref(m);
}

#define WHO_IN                                                                                     \
	"caller=1001:callername=Ann:called=800:conference_id=7:participant_id=12:"                 \
	"participant_name=Ann Caller:participant_role=moderator:participant_direction=in"
#define WHO_OUT                                                                                    \
	"caller=800:callername=Board meeting:conference_id=7:participant_id=13:"                   \
	"participant_name=Tom:participant_role=participant:participant_number=9005:"               \
	"participant_direction=out"

/* Our room "room1"'s @kind about @leg (no caller channel), who it is in @who ("k=v:..."). */
static void tell_who(struct fixture *f, enum ce_event_kind kind, const char *leg, const char *who)
{
	struct ce_msg *m = msg_of("who", who ? who : "");
	struct ce_room_event ev = ours(kind, leg);

	ev.peer = NULL;
	ce_room_who_read(&ev.who, m);
	if (kind == CE_EVENT_TALK_START)
		ev.energy = 30;
	send_ours(f, &ev);
	ce_msg_unref(m);
}

/*
 * Who a participant is reaches every event and CDR: from our rooms' "joined"
 * (an admitted caller, a dialled participant whose caller= and callername=
 * are the conference's), and for a Yate room from the call.execute report.
 */
static void test_identity(struct fixture *f, gconstpointer data)
{
	const char *const keys[] = {"cdr_delay=0", NULL};
	const char *ids[] = {"dumb/1", "dumb/2", "conf/5"};
	sqlite3 *db = NULL;
	bool done = false;
	gint64 deadline;
	char **lines, *s;
	const char *l;

	g_assert_cmpint(start(f, true, keys), ==, 0);
	tell_who(f, CE_EVENT_CREATED, NULL, "caller=1001:called=800:conference_id=7");
	tell_who(f, CE_EVENT_ENTER, "dumb/1", WHO_IN);
	tell_who(f, CE_EVENT_ENTER, "dumb/2", WHO_OUT);
	tell_who(f, CE_EVENT_TALK_START, "dumb/2", NULL);
	tell_who(f, CE_EVENT_LEAVE, "dumb/2", NULL);
	tell_who(f, CE_EVENT_LEAVE, "dumb/1", NULL);
	tell_who(f, CE_EVENT_END, NULL, NULL);
	/* Yate's conference module: the identity comes with the call.execute report */
	yate_reports(f, "call.execute",
	        "id=sip/3:callto=conf/yr:caller=1002:callername=Bruno:called=800:"
	        "conference_id=8:participant_role=listener:participant_direction=in:peerid=conf/5",
	        true);
	yate_reports(f, "chan.notify", "targetid=conf-monitor/yr:event=created:room=yr", false);
	yate_reports(
	        f, "chan.notify", "id=conf/5:targetid=conf-monitor/yr:event=joined:room=yr", false);
	yate_reports(
	        f, "chan.notify", "id=conf/5:targetid=conf-monitor/yr:event=left:room=yr", false);
	g_assert_cmpint(ce_store_flush(ce_store_of(f->ce), flushed, &done, NULL), ==, 0);
	deadline = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
	while (!done && g_get_monotonic_time() < deadline)
		g_main_context_iteration(NULL, !done);
	g_assert_true(done);
	lines = log_lines(f);
	l = find_line(lines, "enter", "dumb/1");
	assert_field(l, "conference_id", "7");
	assert_field(l, "participant_id", "12");
	assert_field(l, "role", "moderator");
	assert_field(l, "caller", "1001");
	assert_field(l, "caller_name", "Ann Caller");
	assert_field(l, "called", "800");
	assert_field(l, "direction", "in");
	l = find_line(lines, "cdr", "dumb/2");
	assert_field(l, "conference_id", "7");
	assert_field(l, "participant_id", "13");
	assert_field(l, "role", "participant");
	assert_field(l, "caller", "9005"); /* not the conference's 800 */
	assert_field(l, "caller_name", "Tom");
	assert_field(l, "called", "9005");
	assert_field(l, "direction", "out");
	assert_field(find_line(lines, "created", NULL), "conference_id", "7");
	l = find_line(lines, "cdr", "conf/5");
	assert_field(l, "conference_id", "8");
	assert_field(l, "role", "listener");
	assert_field(l, "caller_name", "Bruno");
	assert_field(l, "direction", "in");
	g_strfreev(lines);

	g_assert_cmpint(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
	g_assert_cmpint(db_int(db, "SELECT count(*) FROM events WHERE room = 'room1' AND"
	                           " (conference_id IS NULL OR conference_id != 7)"),
	        ==, 0);
	/* enter, talk-start, the final talk-stop, leave */
	g_assert_cmpint(db_int(db, "SELECT count(*) FROM events WHERE leg = 'dumb/2'"), ==, 4);
	g_assert_cmpint(db_int(db, "SELECT count(*) FROM events WHERE leg = 'dumb/2' AND"
	                           " participant_id = 13 AND role = 'participant' AND"
	                           " caller = '9005' AND caller_name = 'Tom' AND called = '9005'"
	                           " AND direction = 'out'"),
	        ==, 4);
	for (unsigned i = 0; i < G_N_ELEMENTS(ids); i++) {
		char *sql =
		        g_strdup_printf("SELECT conference_id || ' ' || coalesce(participant_id, "
		                        "'-') || ' ' || role || ' ' || caller || ' ' || "
		                        "caller_name || ' ' || called || ' ' || direction FROM "
		                        "cdrs WHERE leg = '%s'",
		                ids[i]);
		static const char *const want[] = {"7 12 moderator 1001 Ann Caller 800 in",
		        "7 13 participant 9005 Tom 9005 out", "8 - listener 1002 Bruno 800 in"};

		s = db_text(db, sql);
		g_assert_cmpstr(s, ==, want[i]);
		g_free(s);
		g_free(sql);
	}
	sqlite3_close(db);
}

/* The value of monitor_calls= in the status line. */
static int status_calls(struct fixture *f)
{
	GString *st = g_string_new(NULL);
	const char *v;
	int n;

	ce_console_status(f->ce, st);
	v = strstr(st->str, "monitor_calls=");
	g_assert_nonnull(v);
	n = atoi(v + strlen("monitor_calls="));
	g_string_free(st, TRUE);
	return n;
}

/*
 * A call.execute report is kept only until its leg joins: room churn does
 * not pile them up for call_ttl, and a leg id used again (Yate restarted)
 * is who its own new call says; a call that never joins goes after
 * call_ttl (60 s).
 */
static void test_calls_forgotten(struct fixture *f, gconstpointer data)
{
	const char *const keys[] = {"cdr_delay=0", NULL};
	static const char *const want[][3] = {{"yr", "1002", "Bruno"}, {"y2", "1009", "Iris"}};
	unsigned cdrs = 0;
	char **lines;

	g_assert_cmpint(start(f, false, keys), ==, 0);
	yate_reports(f, "call.execute",
	        "id=sip/3:callto=conf/yr:caller=1002:callername=Bruno:called=800:peerid=conf/5",
	        true);
	yate_reports(f, "call.execute", "id=sip/4:callto=conf/yr:caller=1003:peerid=conf/6", true);
	g_assert_cmpint(status_calls(f), ==, 2);
	yate_reports(f, "chan.notify", "targetid=conf-monitor/yr:event=created:room=yr", false);
	yate_reports(
	        f, "chan.notify", "id=conf/5:targetid=conf-monitor/yr:event=joined:room=yr", false);
	g_assert_cmpint(status_calls(f), ==, 1);
	yate_reports(
	        f, "chan.notify", "id=conf/5:targetid=conf-monitor/yr:event=left:room=yr", false);
	/* the same channel id for another call */
	yate_reports(f, "call.execute",
	        "id=sip/9:callto=conf/y2:caller=1009:callername=Iris:called=801:peerid=conf/5",
	        true);
	yate_reports(f, "chan.notify", "targetid=conf-monitor/y2:event=created:room=y2", false);
	yate_reports(
	        f, "chan.notify", "id=conf/5:targetid=conf-monitor/y2:event=joined:room=y2", false);
	yate_reports(
	        f, "chan.notify", "id=conf/5:targetid=conf-monitor/y2:event=left:room=y2", false);
	g_assert_cmpint(status_calls(f), ==, 1);
	f->now += 61 * G_USEC_PER_SEC;
	yate_reports(f, "call.execute", "id=sip/5:callto=conf/yr:caller=1004:peerid=conf/7", true);
	g_assert_cmpint(status_calls(f), ==, 1);

	lines = log_lines(f);
	for (char **c = lines; *c; c++) {
		char *type = json_get(*c, "type"), *leg = json_get(*c, "leg");

		if (!g_strcmp0(type, "cdr") && !g_strcmp0(leg, "conf/5")) {
			g_assert_cmpuint(cdrs, <, 2);
			assert_field(*c, "room", want[cdrs][0]);
			assert_field(*c, "caller", want[cdrs][1]);
			assert_field(*c, "caller_name", want[cdrs][2]);
			cdrs++;
		}
		g_free(type);
		g_free(leg);
	}
	g_assert_cmpuint(cdrs, ==, 2);
	g_strfreev(lines);
}

/* A forwarded event goes to Yate under the new targetid, and does not come back in. */
static void test_forward(struct fixture *f, gconstpointer data)
{
	const char *const keys[] = {"cdr_delay=0", "forward=conf-events/", NULL};
	const char *const loop[] = {"forward=conf-monitor/x/", NULL};
	struct ce_msg *m = NULL;
	char **lines;
	unsigned n = 0;

	g_assert_cmpint(start(f, false, keys), ==, 0);
	feed_transcript(f, "transcript-1.txt");
	for (guint i = 0; i < f->sent->len; i++) {
		struct ce_msg *s = g_ptr_array_index(f->sent, i);

		g_assert_cmpstr(s->name, ==, "chan.notify");
		g_assert_cmpstr(ce_msg_get(s, "targetid"), ==, "conf-events/yroom");
		g_assert_cmpstr(ce_msg_get(s, "ce_monitor"), ==, "true");
		if (!g_strcmp0(ce_msg_get(s, "event"), "enter") && !m)
			m = s;
		n++;
	}
	g_assert_cmpuint(n, ==, 12);
	g_assert_nonnull(m);
	g_assert_cmpstr(ce_msg_get(m, "id"), ==, "conf/1");
	g_assert_cmpstr(ce_msg_get(m, "time"), ==, "1795326784.300000");
	lines = log_lines(f);
	g_assert_cmpuint(g_strv_length(lines), ==, 12);
	g_strfreev(lines);
	ce_engine_free(f->ce);
	f->ce = NULL;
	g_test_expect_message(
	        "monitor", G_LOG_LEVEL_CRITICAL, "*forward=conf-monitor/x/ would loop*");
	g_test_expect_message("ce-engine", G_LOG_LEVEL_CRITICAL, "module monitor failed to start*");
	g_assert_cmpint(start(f, false, loop), ==, -EINVAL);
	g_test_assert_expected_messages();
}

/* Read from @c until @want lines arrived or 10 s passed, running the main loop meanwhile. */
static char *read_lines(GSocket *c, unsigned want)
{
	GString *got = g_string_new(NULL);
	gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	unsigned n = 0;

	while (n < want && g_get_monotonic_time() < deadline) {
		char buf[4096];
		gssize r;

		g_main_context_iteration(NULL, FALSE);
		r = g_socket_receive(c, buf, sizeof(buf), NULL, NULL);
		if (r == 0)
			break;
		if (r < 0) {
			g_usleep(1000);
			continue;
		}
		g_string_append_len(got, buf, r);
		n = 0;
		for (const char *p = got->str; (p = strchr(p, '\n')); p++)
			n++;
	}
	return g_string_free(got, FALSE);
}

static GSocket *subscribe(const char *path)
{
	GSocketAddress *a = g_unix_socket_address_new(path);
	GSocket *c = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, 0, NULL);

	g_assert_true(g_socket_connect(c, a, NULL, NULL));
	g_socket_set_blocking(c, FALSE);
	g_object_unref(a);
	return c;
}

/* A subscriber receives the hello, then the same lines as the log. */
static void test_socket(struct fixture *f, gconstpointer data)
{
	const char *const keys[] = {"cdr_delay=0", NULL};
	GSocket *c;
	char *got, **lines, *text;

	g_assert_cmpint(start(f, false, keys), ==, 0);
	c = subscribe(f->sock);
	got = read_lines(c, 1);
	g_assert_true(
	        g_str_has_prefix(got, "{\"type\":\"hello\",\"version\":1,\"node\":\"test1\""));
	g_free(got);
	feed_transcript(f, "transcript-1.txt");
	got = read_lines(c, 12);
	lines = log_lines(f);
	text = g_strjoinv("\n", lines);
	g_assert_true(g_str_has_suffix(got, "\n"));
	got[strlen(got) - 1] = 0;
	g_assert_cmpstr(got, ==, text);
	g_assert_false(g_file_test(f->sock, G_FILE_TEST_EXISTS)); /* removed at exit */
	g_free(got);
	g_free(text);
	g_strfreev(lines);
	g_object_unref(c);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add("/monitor/" name, struct fixture, NULL, setup, fn, teardown)
	ADD("transcript-1", test_transcript);
	ADD("cdr-after-hangup", test_cdr_after_hangup);
	ADD("own-rooms", test_own_rooms);
	ADD("yate-restart", test_yate_restart);
	ADD("hostile", test_hostile);
	ADD("store", test_store);
	ADD("identity", test_identity);
	ADD("calls-forgotten", test_calls_forgotten);
	ADD("forward", test_forward);
	ADD("socket", test_socket);
	return g_test_run();
}
