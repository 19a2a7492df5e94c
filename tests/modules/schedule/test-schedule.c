/* test-schedule.c - the schedule module on SQLite and PostgreSQL: admission, timers, dial-out
 *
 * Over 700 lines because each case runs on both backends with one fixture:
 * admission rules, timers and dial-out read best as one story.
 */
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>

#include "bus.h"
#include "conf-engine/config.h"
#include "console.h"
#include "engine-private.h"
#include "engine.h"
#include "message.h"
#include "modules/schedule/schedule.h"
#include "modules/store/store.h"
#include "tests/modules/store/store-fixture.h"
#include "tests/testutil.h"

/*
 * Each test starts the engine with the store and schedule modules on one
 * backend, a fake clock and a scripted Yate that records what the engine
 * sends and answers dial-outs by their target, as Yate 6.4.1 does:
 *   9001 true id=dumb/N peerid=sip/9001 targetid=sip/9001 (a phone: answers later)
 *   9002 the same, then busy              9004 the same, then no answer
 *   9003 false error=offline
 *   9006 true id=dumb/N peerid=tone/N, no targetid (routed to tone/milliwatt:
 *        connected at once, never a call.answered; transcript 2)
 *   9008 false with no error, but Yate's handlers= trace: dumbchan found no
 *        route (it says nothing more; checked on Yate 6.4.1)
 *   9009 false and nothing else: Yate never answered (dial_timeout) or the
 *        link went away, as conf-engine's uplink completes such a send
 * The PostgreSQL variants need CE_TEST_PG_CONNINFO (schedule.sh runs them
 * under tests/pg-harness.sh); without it they fail, unless
 * CE_TEST_PG_OPTIONAL=1 makes them skip explicitly.
 */

#define WAIT_LIMIT_US (60 * G_USEC_PER_SEC)
#define MIN_US        ((gint64)60 * G_USEC_PER_SEC)
#define T0            ((gint64)1795326000 * G_USEC_PER_SEC)

struct sfx {
	struct fx db; /* backend and SQLite path for direct SQL checks */
	char *dir;
	struct ce_engine *ce;
	struct ce_bus *bus;
	gint64 now;
	GPtrArray *sent; /* struct ce_msg * the engine sent to "Yate" */
	unsigned dumb;
	bool skip;
};

static gint64 fake_clock(void *arg)
{
	return ((struct sfx *)arg)->now;
}

static void up_relay(void *arg, const char *name, int prio, const char *fname, const char *fvalue)
{
}

static void up_watch(void *arg, const char *name, bool on)
{
}

static void up_send(
        void *arg, struct ce_msg *msg, unsigned timeout_ms, ce_msg_done_h *done, void *done_arg)
{
	struct sfx *f = arg;
	const char *target = ce_msg_get_def(msg, "target", "");
	bool ok = true;

	g_ptr_array_add(f->sent, ce_msg_ref(msg));
	if (!strcmp(msg->name, "call.execute")) {
		if (!strcmp(target, "9003")) {
			ce_msg_set(msg, "error", "offline");
			ce_msg_set(msg, "reason", "Offline");
			ok = false;
		} else if (!strcmp(target, "9008")) {
			ce_msg_set(msg, "handlers", "yrtp:50,tone:90,dumb:90,wave:90,sip:90");
			ok = false;
		} else if (!strcmp(target, "9009")) {
			ok = false;
		} else if (!strcmp(target, "9006")) {
			ce_msg_setf(msg, "id", "dumb/%u", ++f->dumb);
			ce_msg_setf(msg, "peerid", "tone/%u", f->dumb);
		} else {
			/* ysipchan's msgExecute names its new channel as peerid and targetid */
			ce_msg_setf(msg, "id", "dumb/%u", ++f->dumb);
			ce_msg_setf(msg, "peerid", "sip/%s", target);
			ce_msg_setf(msg, "targetid", "sip/%s", target);
		}
	}
	done(msg, ok, done_arg);
}

static const struct ce_uplink_ops uplink = {
        .relay = up_relay,
        .watch = up_watch,
        .send = up_send,
};

static void wait_for(const bool *done)
{
	gint64 end = g_get_monotonic_time() + WAIT_LIMIT_US;

	while (!*done) {
		if (!g_main_context_iteration(NULL, FALSE))
			g_usleep(500);
		g_assert_cmpint(g_get_monotonic_time(), <, end);
	}
}

static void setup(struct sfx *f, gconstpointer backend, const char *extra)
{
	const char *only[] = {"store", "schedule", NULL};
	const char *pg = g_getenv("CE_TEST_PG_CONNINFO");
	struct ce_config *cfg;
	char *text;

	memset(f, 0, sizeof(*f));
	f->db.backend = *(const int *)backend;
	if (f->db.backend == CE_STORE_POSTGRESQL && !pg) {
		f->skip = true;
		if (!g_strcmp0(g_getenv("CE_TEST_PG_OPTIONAL"), "1")) {
			g_test_skip("no PostgreSQL: CE_TEST_PG_CONNINFO is not set");
		} else {
			g_test_message(
			        "CE_TEST_PG_CONNINFO is not set: run under tests/pg-harness.sh");
			g_test_fail();
		}
		return;
	}
	f->dir = g_dir_make_tmp("ce-sched-XXXXXX", NULL);
	f->db.sqlite_path = g_build_filename(f->dir, "conf.db", NULL);
	if (f->db.backend == CE_STORE_POSTGRESQL) {
		fx_exec(&f->db, "DROP SCHEMA public CASCADE; CREATE SCHEMA public");
		text = g_strdup_printf("[store]\nbackend=postgresql\npg_conninfo=%s\n", pg);
	} else {
		text = g_strdup_printf("[store]\nsqlite_path=%s\n", f->db.sqlite_path);
	}
	{
		char *all = g_strdup_printf(
		        "[general]\nnode=t1\n%sspool_dir=%s/spool\n"
		        "query_timeout_ms=10000\n[schedule]\ntick=60000\n"
		        "poll_interval=86400\ndial_retries=1\ndial_retry_delay=60\n%s",
		        text, f->dir, extra ? extra : "");
		g_assert_cmpint(ce_config_parse(&cfg, all, -1, "test.conf", NULL), ==, 0);
		g_free(all);
	}
	g_free(text);
	f->now = T0;
	g_assert_cmpint(ce_engine_new(&f->ce, cfg), ==, 0);
	ce_engine_set_clock(f->ce, fake_clock, f);
	f->bus = ce_engine_bus(f->ce);
	ce_bus_set_uplink(f->bus, &uplink, f);
	f->sent = g_ptr_array_new_with_free_func((GDestroyNotify)ce_msg_unref);
	g_assert_cmpint(ce_engine_start(f->ce, only), ==, 0);
	g_assert_nonnull(ce_store_of(f->ce));
}

static void set_true(void *arg)
{
	*(bool *)arg = true;
}

static void drain(struct sfx *f)
{
	bool done = false;

	g_assert_cmpint(ce_store_flush(ce_store_of(f->ce), set_true, &done, NULL), ==, 0);
	wait_for(&done);
}

static void teardown(struct sfx *f)
{
	if (f->skip)
		return;
	ce_engine_stop(f->ce);
	while (g_main_context_iteration(NULL, FALSE))
		;
	ce_engine_free(f->ce);
	g_ptr_array_unref(f->sent);
	ce_test_rm_tree(f->dir);
	g_free(f->dir);
	g_free(f->db.sqlite_path);
}

struct put_wait {
	bool done;
	int err;
	gint64 id;
};

static void put_done(int err, gint64 id, const GError *error, void *arg)
{
	struct put_wait *w = arg;

	w->err = err;
	w->id = id;
	w->done = true;
}

/* A conference on @number / room @room from now+@start_min to now+@end_min minutes. */
static struct ce_conference *conf_new(
        struct sfx *f, const char *number, const char *room, int start_min, int end_min)
{
	struct ce_conference *c = ce_conference_new();

	c->access_number = g_strdup(number);
	c->room = g_strdup(room);
	c->title = g_strdup("Board meeting");
	c->starts_at = f->now + start_min * MIN_US;
	c->ends_at = f->now + end_min * MIN_US;
	c->time_zone = g_strdup("UTC");
	c->early_join_s = 300;
	c->early_alert_s = 3600;
	c->end_alert_s = 300;
	return c;
}

static int put_conf_err(struct sfx *f, struct ce_conference *c)
{
	struct put_wait w = {0};
	int r = ce_store_put_conference(ce_store_of(f->ce), c, put_done, &w, NULL);

	if (r < 0)
		return r;
	wait_for(&w.done);
	c->id = w.id;
	return w.err;
}

static gint64 put_conf(struct sfx *f, struct ce_conference *c)
{
	g_assert_cmpint(put_conf_err(f, c), ==, 0);
	g_assert_cmpint(c->id, >, 0);
	return c->id;
}

static gint64 put_part(struct sfx *f, gint64 cid, const char *name, const char *address,
        const char *pin, bool dial_out)
{
	struct ce_participant p = {.conference_id = cid,
	        .name = (char *)name,
	        .address = (char *)address,
	        .pin = (char *)pin,
	        .dial_out = dial_out};
	struct put_wait w = {0};

	g_assert_cmpint(
	        ce_store_put_participant(ce_store_of(f->ce), &p, put_done, &w, NULL), ==, 0);
	wait_for(&w.done);
	g_assert_cmpint(w.err, ==, 0);
	return w.id;
}

static void exec_done(struct ce_msg *msg, bool handled, void *arg)
{
	*(bool *)arg = true;
}

/* Yate's call.execute of channel @id, number @caller, to @callto with @pin (NULL: none). */
static struct ce_msg *execute_from(
        struct sfx *f, const char *callto, const char *pin, const char *id, const char *caller)
{
	struct ce_msg *m;
	bool done = false;

	ce_msg_new(&m, "call.execute");
	ce_msg_set(m, "id", id);
	ce_msg_set(m, "caller", caller);
	ce_msg_set(m, "called", "800");
	ce_msg_set(m, "callto", callto);
	if (pin)
		ce_msg_set(m, "pin", pin);
	ce_bus_dispatch_uplink(f->bus, m, exec_done, &done);
	wait_for(&done);
	return m;
}

/* execute_from() of the caller 1001; returns the message. */
static struct ce_msg *execute(struct sfx *f, const char *callto, const char *pin, const char *id)
{
	return execute_from(f, callto, pin, id, "1001");
}

/* Admission of @callto for @caller: "conf/ROOM" when admitted, else "error reason-prefix". */
static char *admit_from(
        struct sfx *f, const char *callto, const char *pin, const char *id, const char *caller)
{
	struct ce_msg *m = execute_from(f, callto, pin, id, caller);
	const char *err = ce_msg_get(m, "error");
	char *r;

	if (err) {
		const char *reason = ce_msg_get_def(m, "reason", "");
		g_assert_cmpstr(ce_msg_get(m, "callto"), ==, "-");
		r = g_strdup_printf("%s %.*s", err, (int)strcspn(reason, ":"), reason);
	} else {
		r = g_strdup(ce_msg_get(m, "callto"));
	}
	ce_msg_unref(m);
	return r;
}

static char *admit(struct sfx *f, const char *callto, const char *pin, const char *id)
{
	return admit_from(f, callto, pin, id, "1001");
}

#define assert_admit_from(f, callto, pin, id, caller, want)                                        \
	do {                                                                                       \
		char *got_ = admit_from((f), (callto), (pin), (id), (caller));                     \
		g_assert_cmpstr(got_, ==, (want));                                                 \
		g_free(got_);                                                                      \
	} while (0)

#define assert_admit(f, callto, pin, id, want)                                                     \
	do {                                                                                       \
		char *got_ = admit((f), (callto), (pin), (id));                                    \
		g_assert_cmpstr(got_, ==, (want));                                                 \
		g_free(got_);                                                                      \
	} while (0)

/* Yate reports a message it dispatched (watchers). */
static void yate_says(struct sfx *f, const char *name, const char *k1, const char *v1,
        const char *k2, const char *v2)
{
	struct ce_msg *m;

	ce_msg_new(&m, name);
	ce_msg_set(m, k1, v1);
	if (k2)
		ce_msg_set(m, k2, v2);
	ce_bus_notify_uplink(f->bus, m, true);
	ce_msg_unref(m);
}

static unsigned count_sent(struct sfx *f, const char *name, const char *k, const char *v)
{
	unsigned n = 0;

	for (guint i = 0; i < f->sent->len; i++) {
		struct ce_msg *m = g_ptr_array_index(f->sent, i);
		if (!strcmp(m->name, name) && (!k || !g_strcmp0(ce_msg_get(m, k), v)))
			n++;
	}
	return n;
}

static gint64 count_events(struct sfx *f, const char *kind, const char *detail)
{
	char *sql = g_strdup_printf(
	        "SELECT count(*) FROM events WHERE kind = '%s' AND detail LIKE '%s'", kind, detail);
	gint64 n;

	drain(f);
	n = fx_query_int(&f->db, sql);
	g_free(sql);
	return n;
}

/* ---- admission ---------------------------------------------------------- */

static void test_window(struct sfx *f, gconstpointer backend)
{
	struct ce_conference *now = conf_new(f, "800", "board", -10, 50);
	struct ce_conference *soon = conf_new(f, "801", "soon", 4, 60);
	struct ce_conference *later = conf_new(f, "802", "later", 30, 60);
	struct ce_conference *far = conf_new(f, "803", "far", 120, 180);
	struct ce_conference *over = conf_new(f, "804", "over", -120, -60);
	struct ce_conference *cancelled = conf_new(f, "805", "cancelled", -10, 50);
	struct ce_msg *m;

	cancelled->cancelled = true;
	soon->record = true; /* no record_file: the room and id, under [conference] record_dir */
	now->max_participants = 7;
	now->record = true;
	now->record_file = g_strdup("/tmp/board.wav");
	now->options = g_strdup("speakers=true; interval=2000;id=evil;callto=sip/x");
	now->language = g_strdup("de"); /* the room's prompts, its end warnings among them */
	now->announce_join = true;
	now->announce_count = false;
	now->wait_for_moderator = true;
	now->end_with_moderator = true;
	now->muted_on_entry = true;
	put_conf(f, now);
	put_conf(f, soon);
	put_conf(f, later);
	put_conf(f, far);
	put_conf(f, over);
	put_conf(f, cancelled);

	m = execute(f, "schedule/800", NULL, "sip/1");
	g_assert_null(ce_msg_get(m, "error"));
	g_assert_cmpstr(ce_msg_get(m, "callto"), ==, "conf/board");
	g_assert_cmpstr(ce_msg_get(m, "maxusers"), ==, "7");
	g_assert_cmpstr(ce_msg_get(m, "notify"), ==, "conf-monitor/board");
	g_assert_cmpstr(ce_msg_get(m, "lonely"), ==, "true");
	g_assert_cmpstr(ce_msg_get(m, "record"), ==, "/tmp/board.wav");
	g_assert_cmpstr(ce_msg_get(m, "speakers"), ==, "true");
	g_assert_cmpstr(ce_msg_get(m, "interval"), ==, "2000");
	g_assert_cmpstr(ce_msg_get(m, "id"), ==, "sip/1"); /* options cannot set anything else */
	g_assert_cmpint(ce_msg_get_int(m, "conference_id", 0, 0, G_MAXINT64), ==, now->id);
	g_assert_cmpstr(ce_msg_get(m, "lang"), ==, "de");
	/* the row's columns, as the conference module's room parameters */
	g_assert_cmpstr(ce_msg_get(m, "announce_join"), ==, "true");
	g_assert_cmpstr(ce_msg_get(m, "announce_count"), ==, "false");
	g_assert_cmpstr(ce_msg_get(m, "wait_moderator"), ==, "true");
	g_assert_cmpstr(ce_msg_get(m, "end_with_moderator"), ==, "true");
	g_assert_cmpstr(ce_msg_get(m, "muted_on_entry"), ==, "true");
	ce_msg_unref(m);
	assert_admit(
	        f, "schedule/board", NULL, "sip/2", "conf/board"); /* the room name works too */
	m = execute(f, "schedule/801", NULL, "sip/3");             /* early join */
	g_assert_cmpstr(ce_msg_get(m, "callto"), ==, "conf/soon");
	g_assert_true(g_str_has_prefix(ce_msg_get_def(m, "record", ""), "soon-"));
	g_assert_true(g_str_has_suffix(ce_msg_get_def(m, "record", ""), ".wav"));
	g_assert_null(ce_msg_get(m, "lang")); /* no language: the room's is [conference] lang */
	/* a new row's defaults: the count is announced, nothing else */
	g_assert_cmpstr(ce_msg_get(m, "announce_count"), ==, "true");
	g_assert_cmpstr(ce_msg_get(m, "announce_join"), ==, "false");
	g_assert_cmpstr(ce_msg_get(m, "wait_moderator"), ==, "false");
	g_assert_cmpstr(ce_msg_get(m, "end_with_moderator"), ==, "false");
	g_assert_cmpstr(ce_msg_get(m, "muted_on_entry"), ==, "false");
	ce_msg_unref(m);
	assert_admit(f, "schedule/802", NULL, "sip/4", "forbidden notstarted");
	assert_admit(f, "schedule/803", NULL, "sip/5", "noroute noconference");
	assert_admit(f, "schedule/804", NULL, "sip/6", "forbidden ended");
	assert_admit(f, "schedule/805", NULL, "sip/7", "forbidden cancelled");
	assert_admit(f, "schedule/899", NULL, "sip/8", "noroute noconference");
	/* the early-join window opens: admitted from starts_at - early_join_s */
	f->now += 25 * MIN_US;
	assert_admit(f, "schedule/802", NULL, "sip/9", "conf/later");
	/* conf/ calls to a scheduled room are admitted like schedule/ ones; others pass */
	assert_admit(f, "conf/over", NULL, "sip/10", "forbidden ended");
	assert_admit(f, "conf/far", NULL, "sip/10", "conf/far"); /* not in its alert window yet */
	assert_admit(f, "conf/adhoc", NULL, "sip/11", "conf/adhoc");
	ce_conference_unref(now);
	ce_conference_unref(soon);
	ce_conference_unref(later);
	ce_conference_unref(far);
	ce_conference_unref(over);
	ce_conference_unref(cancelled);
}

static void test_pin(struct sfx *f, gconstpointer backend)
{
	struct ce_conference *c = conf_new(f, "800", "board", -10, 50);
	gint64 ann;
	struct ce_msg *m;
	char *sid;

	c->pin = g_strdup("1234");
	c->moderator_pin = g_strdup("9999");
	put_conf(f, c);
	ann = put_part(f, c->id, "Ann", "9001", "314159", false);
	/* no PIN on the call: the lobby asks for the PIN of 800 ([schedule] lobby=true) */
	m = execute(f, "schedule/800", NULL, "sip/1");
	g_assert_null(ce_msg_get(m, "error"));
	g_assert_cmpstr(ce_msg_get(m, "callto"), ==, "lobby");
	g_assert_cmpstr(ce_msg_get(m, "lobby_key"), ==, "800");
	ce_msg_unref(m);
	assert_admit(f, "schedule/800", "", "sip/2", "lobby");
	assert_admit(f, "schedule/800", "4321", "sip/3", "forbidden badpin");
	assert_admit(f, "schedule/800", "12345", "sip/4", "forbidden badpin");
	assert_admit(f, "schedule/800", "123", "sip/5", "forbidden badpin");
	assert_admit(f, "schedule/800", "1234", "sip/6", "conf/board");
	/* the join says who the caller is: role and direction, no name of ours */
	m = execute(f, "schedule/800", "9999", "sip/7");
	g_assert_cmpstr(ce_msg_get(m, "callto"), ==, "conf/board");
	g_assert_cmpstr(ce_msg_get(m, "participant_role"), ==, "moderator");
	g_assert_cmpstr(ce_msg_get(m, "participant_direction"), ==, "in");
	g_assert_null(ce_msg_get(m, "participant_id"));
	g_assert_null(ce_msg_get(m, "participant_name"));
	ce_msg_unref(m);
	/* a personal PIN: that participant, with the name and role of the row */
	m = execute(f, "schedule/800", "314159", "sip/8");
	g_assert_cmpstr(ce_msg_get(m, "callto"), ==, "conf/board");
	sid = g_strdup_printf("%" G_GINT64_FORMAT, ann);
	g_assert_cmpstr(ce_msg_get(m, "participant_id"), ==, sid);
	g_free(sid);
	g_assert_cmpstr(ce_msg_get(m, "participant_name"), ==, "Ann");
	g_assert_cmpstr(ce_msg_get(m, "participant_role"), ==, "participant");
	g_assert_cmpstr(ce_msg_get(m, "participant_direction"), ==, "in");
	ce_msg_unref(m);
	/* conf/board itself asks for the PIN too */
	assert_admit(f, "conf/board", NULL, "sip/9", "forbidden pinrequired");
	ce_conference_unref(c);
}

/* Without the lobby ([schedule] lobby=false) a call without the PIN is refused as before. */
static void test_pin_no_lobby(struct sfx *f, gconstpointer backend)
{
	struct ce_conference *c = conf_new(f, "800", "board", -10, 50);

	c->pin = g_strdup("1234");
	put_conf(f, c);
	assert_admit(f, "schedule/800", NULL, "sip/1", "forbidden pinrequired");
	assert_admit(f, "schedule/800", "", "sip/2", "forbidden pinrequired");
	assert_admit(f, "schedule/800", "4321", "sip/3", "forbidden badpin");
	assert_admit(f, "schedule/800", "1234", "sip/4", "conf/board");
	ce_conference_unref(c);
}

static void assert_status(struct sfx *f, const char *want)
{
	GString *out = g_string_new(NULL);

	ce_console_status(f->ce, out);
	if (!strstr(out->str, want))
		g_error("status has no %s: %s", want, out->str);
	g_string_free(out, TRUE);
}

/*
 * [schedule] pin_fail_caller=3 pin_lockout=60: the third wrong PIN of a
 * number locks it out for a minute, for every conference and without the
 * database being asked (a conference that does not exist answers "locked"
 * too); another number still gets in; after the minute 1001 does too.
 */
static void test_guard_caller(struct sfx *f, gconstpointer backend)
{
	struct ce_conference *c = conf_new(f, "800", "board", -10, 50);
	struct ce_conference *open = conf_new(f, "801", "open", -10, 50);
	struct ce_msg *m;

	c->pin = g_strdup("1234");
	put_conf(f, c);
	put_conf(f, open);
	assert_admit(f, "schedule/800", "1111", "sip/1", "forbidden badpin");
	assert_admit(f, "schedule/800", "2222", "sip/2", "forbidden badpin");
	assert_status(f, "schedule_pin_failures=2,schedule_pin_lockouts=0");
	assert_admit(f, "schedule/800", "3333", "sip/3", "forbidden badpin");
	assert_status(f, "schedule_pin_failures=3,schedule_pin_lockouts=1,schedule_pin_locked=0");
	/* the right PIN is not even compared now */
	m = execute(f, "schedule/800", "1234", "sip/4");
	g_assert_cmpstr(ce_msg_get(m, "error"), ==, "forbidden");
	g_assert_cmpstr(
	        ce_msg_get(m, "reason"), ==, "locked: too many wrong PINs, try again in 60 s");
	g_assert_cmpstr(ce_msg_get(m, "callto"), ==, "-");
	ce_msg_unref(m);
	assert_admit(f, "schedule/899", "1234", "sip/5", "forbidden locked");
	assert_admit(f, "conf/board", "1234", "sip/6", "forbidden locked");
	/* without a PIN nothing is guessed: the lobby, or a conference without PIN */
	assert_admit(f, "schedule/800", NULL, "sip/7", "lobby");
	assert_admit(f, "schedule/801", NULL, "sip/8", "conf/open");
	assert_admit_from(f, "schedule/800", "1234", "sip/9", "2002", "conf/board");
	assert_status(f, "schedule_pin_failures=3,schedule_pin_lockouts=1,schedule_pin_locked=3");
	f->now += 59 * G_USEC_PER_SEC + 1;
	assert_admit(f, "schedule/800", "1234", "sip/10", "forbidden locked");
	f->now += G_USEC_PER_SEC;
	assert_admit(f, "schedule/800", "1234", "sip/11", "conf/board");
	ce_conference_unref(c);
	ce_conference_unref(open);
}

/*
 * [schedule] pin_fail_conference=3: three numbers with one wrong PIN each
 * lock the conference's PIN entry, under its access number and its room
 * name alike, for a fourth number too; another conference is untouched.
 */
static void test_guard_conference(struct sfx *f, gconstpointer backend)
{
	struct ce_conference *c = conf_new(f, "800", "board", -10, 50);
	struct ce_conference *other = conf_new(f, "801", "other", -10, 50);

	c->pin = g_strdup("1234");
	other->pin = g_strdup("5678");
	put_conf(f, c);
	put_conf(f, other);
	assert_admit(f, "schedule/800", "1234", "sip/1", "conf/board"); /* tracked from now */
	assert_admit_from(f, "schedule/800", "1", "sip/2", "3001", "forbidden badpin");
	assert_admit_from(f, "schedule/board", "2", "sip/3", "3002", "forbidden badpin");
	assert_admit_from(f, "conf/board", "3", "sip/4", "3003", "forbidden badpin");
	assert_admit_from(f, "schedule/800", "1234", "sip/5", "3004", "forbidden locked");
	assert_admit_from(f, "schedule/board", "1234", "sip/6", "3004", "forbidden locked");
	assert_admit_from(f, "schedule/801", "5678", "sip/7", "3004", "conf/other");
	ce_conference_unref(c);
	ce_conference_unref(other);
}

/* ---- ce_schedule_ask(): the lobby's question ------------------------------ */

struct got {
	bool called;
	unsigned n;
	enum ce_sched_verdict v;
	char *error, *reason, *key, *time_zone, *lang;
	gint64 starts_at;
	unsigned locked_s;
	struct ce_msg *join;
};

static void on_answer(const struct ce_sched_answer *a, void *arg)
{
	struct got *g = arg;

	g->called = true;
	g->n++;
	g->v = a->verdict;
	g->error = g_strdup(a->error);
	g->reason = g_strdup(a->reason);
	g->key = g_strdup(a->key);
	g->time_zone = g_strdup(a->time_zone);
	g->lang = g_strdup(a->lang);
	g->starts_at = a->starts_at;
	g->locked_s = a->locked_s;
	if (a->join)
		g_assert_cmpint(ce_msg_copy(&g->join, a->join), ==, 0);
	/* cancelling from inside the answer is harmless */
	ce_schedule_cancel(NULL);
}

static void got_clear(struct got *g)
{
	g_free(g->error);
	g_free(g->reason);
	g_free(g->key);
	g_free(g->time_zone);
	g_free(g->lang);
	if (g->join)
		ce_msg_unref(g->join);
	memset(g, 0, sizeof(*g));
}

/* Ask and wait for the answer, which never comes from inside ce_schedule_ask(). */
static enum ce_sched_verdict ask(struct sfx *f, struct got *g, const char *key, const char *pin,
        const char *caller, const char *chan)
{
	struct ce_sched_ask q = {.key = key, .pin = pin, .caller = caller, .chan = chan};

	got_clear(g);
	g_assert_nonnull(ce_schedule_ask(f->ce, &q, on_answer, g));
	g_assert_false(g->called);
	wait_for(&g->called);
	g_assert_cmpuint(g->n, ==, 1);
	return g->v;
}

/* Every verdict, with what the lobby needs to say or do about it. */
static void test_ask(struct sfx *f, gconstpointer backend)
{
	struct ce_conference *c = conf_new(f, "800", "board", -10, 50);
	struct ce_conference *later = conf_new(f, "802", "later", 30, 60);
	struct ce_conference *over = conf_new(f, "804", "over", -120, -60);
	struct ce_conference *cancelled = conf_new(f, "805", "cancelled", -10, 50);
	struct ce_conference *small = conf_new(f, "806", "small", -10, 50);
	struct got g = {0};
	struct ce_msg *m;
	gint64 ann;
	char *sid;

	c->pin = g_strdup("1234");
	c->language = g_strdup("de");
	later->time_zone = (g_free(later->time_zone), g_strdup("Europe/Berlin"));
	later->language = g_strdup("fr");
	cancelled->cancelled = true;
	small->max_participants = 1;
	put_conf(f, c);
	put_conf(f, later);
	put_conf(f, over);
	put_conf(f, cancelled);
	put_conf(f, small);
	ann = put_part(f, c->id, "Ann", "9001", "314159", false);
	fx_exec(&f->db, "UPDATE participants SET role = 'listener' WHERE name = 'Ann'");

	g_assert_cmpint(ask(f, &g, "800", NULL, "1001", "sip/1"), ==, CE_SCHED_NEED_PIN);
	g_assert_cmpstr(g.key, ==, "800");
	g_assert_null(g.join);
	g_assert_cmpint(ask(f, &g, "800", "4321", "1001", "sip/1"), ==, CE_SCHED_BAD_PIN);
	g_assert_cmpstr(g.error, ==, "forbidden");
	g_assert_true(g_str_has_prefix(g.reason, "badpin"));
	/* in: the join carries what schedule/800 pin=314159 would have been rewritten to */
	g_assert_cmpint(ask(f, &g, "800", "314159", "9001", "sip/2"), ==, CE_SCHED_IN);
	m = execute_from(f, "schedule/800", "314159", "sip/3", "9001");
	g_assert_cmpstr(ce_msg_get(g.join, "callto"), ==, "conf/board");
	for (const char *const *k = (const char *const[]){"callto", "maxusers", "notify", "lonely",
	             "conference_id", "lang", "voice", "participant_role", "participant_direction",
	             "participant_id", "participant_name", NULL};
	        *k; k++)
		g_assert_cmpstr(ce_msg_get(g.join, *k), ==, ce_msg_get(m, *k));
	ce_msg_unref(m);
	g_assert_cmpstr(ce_msg_get(g.join, "voice"), ==, "false");
	g_assert_cmpstr(ce_msg_get(g.join, "participant_role"), ==, "listener");
	sid = g_strdup_printf("%" G_GINT64_FORMAT, ann);
	g_assert_cmpstr(ce_msg_get(g.join, "participant_id"), ==, sid);
	g_free(sid);
	/* only the join's parameters: nothing of the caller's own call */
	g_assert_null(ce_msg_get(g.join, "id"));
	g_assert_null(ce_msg_get(g.join, "pin"));
	g_assert_null(ce_msg_get(g.join, "caller"));
	g_assert_cmpstr(g.key, ==, "800");
	g_assert_cmpstr(g.lang, ==, "de");
	g_assert_cmpint(ask(f, &g, "802", NULL, "1001", "sip/4"), ==, CE_SCHED_NOT_STARTED);
	g_assert_cmpint(g.starts_at, ==, later->starts_at);
	g_assert_cmpstr(g.time_zone, ==, "Europe/Berlin");
	g_assert_cmpstr(g.lang, ==, "fr");
	/* the refusal's text says the time in the conference's zone too */
	g_assert_true(g_str_has_prefix(g.reason, "notstarted: the conference starts at "));
	g_assert_true(g_str_has_suffix(g.reason, " CET") || g_str_has_suffix(g.reason, " CEST"));
	g_assert_cmpint(ask(f, &g, "804", NULL, "1001", "sip/5"), ==, CE_SCHED_ENDED);
	g_assert_cmpint(ask(f, &g, "805", NULL, "1001", "sip/5"), ==, CE_SCHED_CANCELLED);
	g_assert_cmpint(ask(f, &g, "899", NULL, "1001", "sip/5"), ==, CE_SCHED_NONE);
	g_assert_cmpstr(g.error, ==, "noroute");
	g_assert_cmpint(ask(f, &g, "", NULL, "1001", "sip/5"), ==, CE_SCHED_NONE);
	g_assert_cmpint(ask(f, &g, NULL, NULL, "1001", "sip/5"), ==, CE_SCHED_NONE);
	g_assert_cmpint(ask(f, &g, "80\n0", NULL, "1001", "sip/5"), ==, CE_SCHED_NONE);
	/* capacity counts the lobby's callers and schedule/'s alike, by channel */
	g_assert_cmpint(ask(f, &g, "806", NULL, "1001", "sip/6"), ==, CE_SCHED_IN);
	assert_admit(f, "schedule/806", NULL, "sip/7", "busy full");
	g_assert_cmpint(ask(f, &g, "806", NULL, "1001", "sip/8"), ==, CE_SCHED_FULL);
	g_assert_cmpstr(g.error, ==, "busy");
	yate_says(f, "chan.hangup", "id", "sip/6", "reason", "hangup");
	assert_admit(f, "schedule/806", NULL, "sip/7", "conf/small");
	/* the guard counts the lobby's wrong PINs with schedule/'s (limit 5 a number) */
	for (int i = 0; i < 4; i++)
		g_assert_cmpint(ask(f, &g, "800", "0000", "1001", "sip/9"), ==, CE_SCHED_BAD_PIN);
	assert_admit(f, "schedule/800", "1234", "sip/10", "forbidden locked");
	g_assert_cmpint(ask(f, &g, "800", "1234", "1001", "sip/9"), ==, CE_SCHED_LOCKED);
	g_assert_cmpuint(g.locked_s, ==, 900);
	g_assert_cmpstr(g.reason, ==, "locked: too many wrong PINs, try again in 900 s");
	g_assert_cmpint(ask(f, &g, "800", "1234", "1002", "sip/11"), ==, CE_SCHED_IN);
	got_clear(&g);
	ce_conference_unref(c);
	ce_conference_unref(later);
	ce_conference_unref(over);
	ce_conference_unref(cancelled);
	ce_conference_unref(small);
}

static void count_call(const struct ce_sched_answer *a, void *arg)
{
	(*(unsigned *)arg)++;
}

/* A cancelled question is never answered: waiting for the store, or answered at once. */
static void test_ask_cancel(struct sfx *f, gconstpointer backend)
{
	struct ce_conference *c = conf_new(f, "800", "board", -10, 50);
	struct ce_sched_ask waiting = {.key = "800", .pin = "1234", .chan = "sip/1"};
	struct ce_sched_ask at_once = {.key = "", .chan = "sip/2"};
	struct ce_sched_ask locked = {.key = "800", .pin = "1234", .caller = "1001"};
	unsigned n = 0;
	struct got g = {0};

	c->pin = g_strdup("1234");
	put_conf(f, c);
	ce_schedule_cancel(ce_schedule_ask(f->ce, &waiting, count_call, &n));
	ce_schedule_cancel(ce_schedule_ask(f->ce, &at_once, count_call, &n));
	ce_schedule_cancel(NULL);
	for (int i = 0; i < 5; i++)
		g_assert_cmpint(ask(f, &g, "800", "0", "1001", "sip/3"), ==, CE_SCHED_BAD_PIN);
	ce_schedule_cancel(ce_schedule_ask(f->ce, &locked, count_call, &n));
	drain(f);
	while (g_main_context_iteration(NULL, FALSE))
		;
	g_assert_cmpuint(n, ==, 0);
	/* the cancelled admission took no place in the room */
	g_assert_cmpint(ask(f, &g, "800", "1234", NULL, "sip/4"), ==, CE_SCHED_IN);
	got_clear(&g);
	ce_conference_unref(c);
}

/* The module stops while the store looks: the asker hears "unavailable", later, once. */
static void test_ask_stop(struct sfx *f, gconstpointer backend)
{
	struct ce_conference *c = conf_new(f, "800", "board", -10, 50);
	struct ce_sched_ask q = {.key = "800", .chan = "sip/1"};
	struct got g = {0};

	put_conf(f, c);
	g_assert_nonnull(ce_schedule_ask(f->ce, &q, on_answer, &g));
	ce_engine_stop(f->ce);
	g_assert_false(g.called);
	wait_for(&g.called);
	while (g_main_context_iteration(NULL, FALSE))
		;
	g_assert_cmpuint(g.n, ==, 1);
	g_assert_cmpint(g.v, ==, CE_SCHED_UNAVAILABLE);
	g_assert_cmpstr(g.error, ==, "service-unavailable");
	g_assert_cmpstr(g.reason, ==, "unavailable: shutting down");
	/* and with the module gone there is no one to ask */
	g_assert_null(ce_schedule_ask(f->ce, &q, on_answer, &g));
	got_clear(&g);
	ce_conference_unref(c);
}

static void test_verdict_names(void)
{
	g_assert_cmpstr(ce_sched_verdict_name(CE_SCHED_IN), ==, "in");
	g_assert_cmpstr(ce_sched_verdict_name(CE_SCHED_LOCKED), ==, "locked");
	g_assert_cmpstr(ce_sched_verdict_name(CE_SCHED_UNAVAILABLE), ==, "unavailable");
	g_assert_cmpstr(ce_sched_verdict_name((enum ce_sched_verdict)99), ==, "?");
}

static void test_full(struct sfx *f, gconstpointer backend)
{
	struct ce_conference *c = conf_new(f, "800", "board", -10, 50);

	c->max_participants = 2;
	put_conf(f, c);
	assert_admit(f, "schedule/800", NULL, "sip/1", "conf/board");
	assert_admit(f, "schedule/800", NULL, "sip/2", "conf/board");
	assert_admit(f, "schedule/800", NULL, "sip/3", "busy full");
	/* the same caller again (a retry) is not counted twice */
	assert_admit(f, "schedule/800", NULL, "sip/2", "conf/board");
	yate_says(f, "chan.hangup", "id", "sip/1", "reason", "hangup");
	assert_admit(f, "schedule/800", NULL, "sip/3", "conf/board");
	assert_admit(f, "schedule/800", NULL, "sip/4", "busy full");
	{
		char *argv[] = {"schedule", NULL};
		GString *out = g_string_new(NULL);
		ce_console_execute(f->ce, 1, argv, out);
		g_assert_nonnull(strstr(out->str, "1 scheduled conferences tracked"));
		g_assert_nonnull(strstr(out->str, " 800 running room=board "));
		g_assert_nonnull(strstr(out->str, "callers=2"));
		g_string_truncate(out, 0);
		ce_console_status(f->ce, out);
		g_assert_nonnull(strstr(out->str, "schedule_admitted=4,schedule_refused=2"));
		g_string_free(out, TRUE);
	}
	ce_conference_unref(c);
}

/* SQL metacharacters and odd bytes wherever a caller has a say, PINs of any length. */
static void test_hostile(struct sfx *f, gconstpointer backend)
{
	static const char *const keys[] = {"800'; DROP TABLE conferences; --", "' OR '1'='1",
	        "800\" OR \"1\"=\"1", "%", "_", "800%", "\\", "800;pin=1234", "sélect", "\xff\xfe",
	        "800 ", "$1", "?", "NULL"};
	struct ce_conference *c = conf_new(f, "800", "o'brien \"quoted\" %_ room", -10, 50);
	GString *pin = g_string_new(NULL);
	char *room;

	c->pin = g_strdup("1234");
	c->title = (g_free(c->title), g_strdup("Robert'); DROP TABLE participants;--"));
	put_conf(f, c);
	for (unsigned i = 0; i < G_N_ELEMENTS(keys); i++) {
		char *callto = g_strconcat("schedule/", keys[i], NULL);
		assert_admit(f, callto, "1234", "sip/1", "noroute noconference");
		g_free(callto);
	}
	assert_admit(f, "schedule/", "1234", "sip/1", "noroute noconference");
	assert_admit(f, "schedule/80\n0", "1234", "sip/1", "noroute noconference");
	g_string_append_c(pin, '9');
	for (unsigned len = 1; len <= 100000; len *= 10, g_string_set_size(pin, len)) {
		memset(pin->str, '1', pin->len);
		assert_admit(f, "schedule/800", pin->str, "sip/2", "forbidden badpin");
	}
	assert_admit(f, "schedule/800", "1234' OR '1'='1", "sip/2", "forbidden badpin");
	assert_admit(f, "schedule/800", "' OR pin IS NOT NULL OR '", "sip/2", "forbidden badpin");
	assert_admit(f, "schedule/800", "%", "sip/2", "forbidden badpin");
	assert_admit(f, "schedule/800", "12%", "sip/2", "forbidden badpin");
	assert_admit(f, "schedule/800", "1234\n", "sip/2", "forbidden badpin");
	/* the tables are still there and the right PIN still works */
	room = g_strconcat("conf/", c->room, NULL);
	assert_admit(f, "schedule/800", "1234", "sip/3", room);
	g_free(room);
	g_assert_cmpint(fx_query_int(&f->db, "SELECT count(*) FROM conferences"), ==, 1);
	g_string_free(pin, TRUE);
	ce_conference_unref(c);
}

/* Absurd times: refused by the store, and a clock far out does no harm. */
static void test_absurd_times(struct sfx *f, gconstpointer backend)
{
	struct ce_conference *c = conf_new(f, "800", "board", -10, 50);
	struct ce_conference *bad = conf_new(f, "801", "bad", 10, 5);

	g_assert_cmpint(put_conf_err(f, bad), <, 0); /* ends before it starts */
	bad->starts_at = G_MININT64;
	bad->ends_at = G_MAXINT64;
	g_assert_cmpint(put_conf_err(f, bad), <, 0);
	/* (G_MAXINT overflows early_join_s + early_alert_s in the store's PostgreSQL query) */
	c->early_join_s = 10 * 365 * 86400;
	c->end_alert_s = G_MAXINT;
	c->end_grace_s = G_MAXINT;
	put_conf(f, c);
	assert_admit(f, "schedule/800", NULL, "sip/1", "conf/board");
	f->now = 0;
	ce_schedule_tick(f->ce);
	assert_admit(f, "schedule/800", NULL, "sip/2", "noroute noconference"); /* decades early */
	f->now = G_MAXINT64;
	ce_schedule_tick(f->ce);
	assert_admit(f, "schedule/800", NULL, "sip/3", "noroute noconference");
	f->now = G_MININT64;
	ce_schedule_tick(f->ce);
	assert_admit(f, "schedule/800", NULL, "sip/4", "noroute noconference");
	ce_conference_unref(c);
	ce_conference_unref(bad);
}

/* ---- timers --------------------------------------------------------------- */

static void test_end(struct sfx *f, gconstpointer backend)
{
	struct ce_conference *c = conf_new(f, "800", "board", 0, 10);
	struct ce_conference *g = conf_new(f, "801", "grace", 0, 10);
	struct ce_conference *idle = conf_new(f, "802", "idle", 0, 10);
	gint64 end = f->now + 10 * MIN_US;

	g->end_grace_s = 60;
	put_conf(f, c);
	put_conf(f, g);
	put_conf(f, idle);
	assert_admit(f, "schedule/800", NULL, "sip/1", "conf/board");
	assert_admit(f, "schedule/801", NULL, "sip/2", "conf/grace");
	ce_schedule_tick(f->ce);
	f->now = end - 300 * G_USEC_PER_SEC - 1;
	ce_schedule_tick(f->ce);
	g_assert_cmpuint(count_sent(f, "chan.notify", NULL, NULL), ==, 0);
	f->now += 1;
	ce_schedule_tick(f->ce);
	ce_schedule_tick(f->ce);
	g_assert_cmpuint(count_sent(f, "chan.notify", "targetid", "conf-monitor/board"), ==, 1);
	g_assert_cmpuint(count_sent(f, "chan.notify", "event", "endalert"), ==, 2);
	g_assert_cmpuint(count_sent(f, "chan.notify", "remaining", "300"), ==, 2);
	f->now = end - 1;
	ce_schedule_tick(f->ce);
	g_assert_cmpuint(count_sent(f, "call.drop", NULL, NULL), ==, 0);
	/* nobody new gets in once it is over, even in the grace time */
	f->now = end;
	ce_schedule_tick(f->ce);
	g_assert_cmpuint(count_sent(f, "call.drop", "id", "conf/board"), ==, 1);
	g_assert_cmpuint(count_sent(f, "call.drop", "reason", "schedule-ended"), ==, 1);
	assert_admit(f, "schedule/801", NULL, "sip/3", "forbidden ended");
	f->now = end + 60 * G_USEC_PER_SEC - 1;
	ce_schedule_tick(f->ce);
	g_assert_cmpuint(count_sent(f, "call.drop", NULL, NULL), ==, 1);
	f->now += 1;
	ce_schedule_tick(f->ce);
	ce_schedule_tick(f->ce);
	g_assert_cmpuint(count_sent(f, "call.drop", "id", "conf/grace"), ==, 1);
	/* a room nobody entered gets neither alert nor drop */
	g_assert_cmpuint(count_sent(f, "call.drop", "id", "conf/idle"), ==, 0);
	g_assert_cmpuint(count_sent(f, "chan.notify", "room", "idle"), ==, 0);
	g_assert_cmpint(count_events(f, "end-alert", "ends in 300 s"), ==, 2);
	g_assert_cmpint(count_events(f, "end", "schedule-ended"), ==, 2);
	ce_conference_unref(c);
	ce_conference_unref(g);
	ce_conference_unref(idle);
}

struct ext_wait {
	bool done;
	int err;
	gint64 ends_at;
	unsigned destroyed;
};

static void ext_done(int err, gint64 ends_at, void *arg)
{
	struct ext_wait *w = arg;

	w->err = err;
	w->ends_at = ends_at;
	w->done = true;
}

static void ext_destroy(void *arg)
{
	((struct ext_wait *)arg)->destroyed++;
}

/* ce_schedule_extend() of @room by @minutes: its verdict, and *@ends_at. */
static int extend(struct sfx *f, const char *room, unsigned minutes, gint64 *ends_at)
{
	struct ext_wait w = {0};

	g_assert_cmpint(ce_schedule_extend(f->ce, room, minutes, ext_done, &w, ext_destroy), ==, 0);
	g_assert_false(w.done); /* never from inside the call */
	wait_for(&w.done);
	g_assert_cmpuint(w.destroyed, ==, 1);
	if (ends_at)
		*ends_at = w.ends_at;
	return w.err;
}

static void rows_done(int err, GPtrArray *rows, void *arg)
{
	gint64 *ends = arg;

	g_assert_cmpint(err, ==, 0);
	g_assert_cmpuint(rows->len, >=, 1);
	*ends = ((struct ce_conference *)g_ptr_array_index(rows, 0))->ends_at;
}

/* ends_at of the first conference under @key, as the database has it. */
static gint64 stored_end(struct sfx *f, const char *key)
{
	gint64 ends = 0;

	g_assert_cmpint(
	        ce_store_find_conferences(ce_store_of(f->ce), key, f->now, rows_done, &ends, NULL),
	        ==, 0);
	while (!ends)
		g_main_context_iteration(NULL, TRUE);
	return ends;
}

/*
 * Extension: written in the database when the next booking of the same
 * number does not open before the new end, at most extend_max minutes in
 * all (extra: 30); the end alert and the end move with it.
 */
static void test_extend(struct sfx *f, gconstpointer backend)
{
	struct ce_conference *c = conf_new(f, "800", "board", -10, 20);
	/* the next booking of 800 opens at +40 (early_join_s 300) */
	struct ce_conference *next = conf_new(f, "800", "board2", 45, 90);
	struct ce_conference *other = conf_new(f, "801", "other", -10, 20);
	gint64 t0 = f->now, ends = 0;

	put_conf(f, c);
	put_conf(f, next);
	put_conf(f, other);
	assert_admit(f, "schedule/800", NULL, "sip/1", "conf/board");
	g_assert_cmpint(ce_schedule_extend(f->ce, "board", 0, ext_done, NULL, NULL), ==, -EINVAL);
	g_assert_cmpint(extend(f, "nope", 10, NULL), ==, -ENOENT); /* not a scheduled room */
	g_assert_cmpint(extend(f, "board", 10, &ends), ==, 0);
	g_assert_cmpint(ends, ==, t0 + 30 * MIN_US);
	g_assert_cmpint(stored_end(f, "board"), ==, t0 + 30 * MIN_US);
	/* +15 would end at +45: the next booking opens at +40 */
	g_assert_cmpint(extend(f, "board", 15, NULL), ==, -EBUSY);
	g_assert_cmpint(stored_end(f, "board"), ==, t0 + 30 * MIN_US);
	/* up to its opening is fine */
	g_assert_cmpint(extend(f, "board", 10, &ends), ==, 0);
	g_assert_cmpint(ends, ==, t0 + 40 * MIN_US);
	/* 20 minutes granted: 15 more is past extend_max=30, whatever the database says */
	g_assert_cmpint(extend(f, "board", 15, NULL), ==, -ERANGE);
	g_assert_cmpint(stored_end(f, "board"), ==, t0 + 40 * MIN_US);
	/* the other conference is untouched */
	g_assert_cmpint(stored_end(f, "other"), ==, t0 + 20 * MIN_US);
	/* the timers follow: no alert nor end at the old times, both at the new ones */
	f->now = t0 + 16 * MIN_US;
	ce_schedule_tick(f->ce);
	g_assert_cmpuint(count_sent(f, "chan.notify", "event", "endalert"), ==, 0);
	f->now = t0 + 21 * MIN_US;
	ce_schedule_tick(f->ce);
	g_assert_cmpuint(count_sent(f, "call.drop", "id", "conf/board"), ==, 0);
	f->now = t0 + 36 * MIN_US;
	ce_schedule_tick(f->ce);
	g_assert_cmpuint(count_sent(f, "chan.notify", "event", "endalert"), ==, 1);
	f->now = t0 + 40 * MIN_US;
	ce_schedule_tick(f->ce);
	g_assert_cmpuint(count_sent(f, "call.drop", "id", "conf/board"), ==, 1);
	/* an ended conference is no longer extended */
	g_assert_cmpint(extend(f, "board", 5, NULL), ==, -ENOENT);
	ce_conference_unref(c);
	ce_conference_unref(next);
	ce_conference_unref(other);
}

/* The module stops before the store answers: no answer, but destroy runs. */
static void test_extend_stop(struct sfx *f, gconstpointer backend)
{
	struct ce_conference *c = conf_new(f, "800", "board", -10, 20);
	struct ext_wait w = {0}, v = {0};

	put_conf(f, c);
	assert_admit(f, "schedule/800", NULL, "sip/1", "conf/board");
	g_assert_cmpint(ce_schedule_extend(f->ce, "board", 10, ext_done, &w, ext_destroy), ==, 0);
	g_assert_cmpint(ce_schedule_extend(f->ce, "nope", 10, ext_done, &v, ext_destroy), ==, 0);
	ce_engine_stop(f->ce);
	while (g_main_context_iteration(NULL, FALSE))
		;
	g_assert_false(w.done);
	g_assert_false(v.done);
	g_assert_cmpuint(w.destroyed, ==, 1);
	g_assert_cmpuint(v.destroyed, ==, 1);
	ce_conference_unref(c);
}

static void test_cancel_running(struct sfx *f, gconstpointer backend)
{
	struct ce_conference *c = conf_new(f, "800", "board", -5, 50);
	gint64 end = g_get_monotonic_time() + WAIT_LIMIT_US;

	put_conf(f, c);
	assert_admit(f, "schedule/800", NULL, "sip/1", "conf/board");
	c->cancelled = true;
	put_conf(f, c);
	ce_schedule_poll(f->ce);
	while (!count_sent(f, "call.drop", "id", "conf/board")) {
		g_main_context_iteration(NULL, FALSE);
		g_usleep(500);
		g_assert_cmpint(g_get_monotonic_time(), <, end);
	}
	g_assert_cmpuint(count_sent(f, "call.drop", "reason", "schedule-cancelled"), ==, 1);
	assert_admit(f, "schedule/800", NULL, "sip/2", "forbidden cancelled");
	ce_conference_unref(c);
}

/* ---- dial-out --------------------------------------------------------------- */

static void wait_sent(struct sfx *f, const char *name, unsigned n)
{
	gint64 end = g_get_monotonic_time() + WAIT_LIMIT_US;

	while (count_sent(f, name, NULL, NULL) < n) {
		if (!g_main_context_iteration(NULL, FALSE))
			g_usleep(500);
		g_assert_cmpint(g_get_monotonic_time(), <, end);
	}
}

static const char *dumb_of(struct sfx *f, const char *target, unsigned nth)
{
	for (guint i = 0; i < f->sent->len; i++) {
		struct ce_msg *m = g_ptr_array_index(f->sent, i);
		if (!strcmp(m->name, "call.execute") &&
		        !g_strcmp0(ce_msg_get(m, "target"), target) && nth-- == 0)
			return ce_msg_get(m, "id");
	}
	return NULL;
}

static void test_dialout(struct sfx *f, gconstpointer backend)
{
	struct ce_conference *c = conf_new(f, "800", "board", 1, 30);
	struct ce_msg *m;
	char *detail, *sql;
	gint64 fay;

	put_conf(f, c);
	put_part(f, c->id, "Ann", "9001", NULL, true);
	put_part(f, c->id, "Bob", "9002", NULL, true);
	put_part(f, c->id, "Carol", "9003", NULL, true);
	put_part(f, c->id, "Dan", "9004", NULL, true);
	put_part(f, c->id, "Eve", "9005", NULL, false);
	put_part(f, c->id, "Sip", "sip/sip:zed@example.org", NULL, true);
	fay = put_part(f, c->id, "Fay", "9006", NULL, true);
	put_part(f, c->id, "Gus", "9007", NULL, true);
	fx_exec(&f->db, "UPDATE participants SET role = 'moderator' WHERE name = 'Fay'");
	ce_schedule_poll(f->ce);
	f->now += MIN_US - 1;
	ce_schedule_tick(f->ce);
	g_main_context_iteration(NULL, FALSE);
	g_assert_cmpuint(count_sent(f, "call.execute", NULL, NULL), ==, 0);
	f->now += 1;
	ce_schedule_tick(f->ce);
	wait_sent(f, "call.execute", 7);
	m = g_ptr_array_index(f->sent, 0);
	g_assert_cmpstr(ce_msg_get(m, "callto"), ==, "dumb/");
	g_assert_cmpstr(ce_msg_get(m, "target"), ==, "9001");
	g_assert_cmpstr(ce_msg_get(m, "caller"), ==, "800");
	g_assert_cmpstr(ce_msg_get(m, "callername"), ==, "Board meeting");
	g_assert_cmpstr(ce_msg_get(m, "ce_dialout"), ==, "board");
	g_assert_cmpstr(ce_msg_get(m, "notify"), ==, "conf-monitor/board");
	/* Yate stops the ringing after dial_ring_timeout (maxcall, ms) with noanswer */
	g_assert_cmpstr(ce_msg_get(m, "maxcall"), ==, "45000");
	g_assert_cmpuint(count_sent(f, "call.execute", "direct", "sip/sip:zed@example.org"), ==, 1);
	/* Yate's dumb driver refuses direct= without target= */
	g_assert_cmpuint(count_sent(f, "call.execute", "target", "sip/sip:zed@example.org"), ==, 1);
	g_assert_cmpuint(count_sent(f, "call.execute", "target", "9005"), ==, 0);
	/* who is dialled: caller= and callername= are the conference, for the far end */
	for (guint i = 0; i < f->sent->len; i++) {
		m = g_ptr_array_index(f->sent, i);
		if (!g_strcmp0(ce_msg_get(m, "target"), "9006"))
			break;
	}
	g_assert_cmpstr(ce_msg_get(m, "participant_name"), ==, "Fay");
	g_assert_cmpstr(ce_msg_get(m, "participant_role"), ==, "moderator");
	g_assert_cmpstr(ce_msg_get(m, "participant_number"), ==, "9006");
	g_assert_cmpstr(ce_msg_get(m, "participant_direction"), ==, "out");
	g_assert_cmpint(ce_msg_get_int(m, "participant_id", 0, 0, G_MAXINT64), ==, fay);
	g_assert_cmpint(ce_msg_get_int(m, "conference_id", 0, 0, G_MAXINT64), ==, c->id);
	/* Fay's tone/ never answers, yet is connected: her hangup is no failure, not redialled */
	yate_says(f, "chan.hangup", "id", dumb_of(f, "9006", 0), "reason", "hangup");
	/* Gus: no call.answered seen, but Yate says the call was answered: no failure either */
	yate_says(f, "chan.disconnected", "id", dumb_of(f, "9007", 0), "answered", "true");
	/* Ann answers, Bob is busy, Carol was offline (Yate said false), Dan does not answer */
	yate_says(f, "call.answered", "id", "sip/9001", "peerid", dumb_of(f, "9001", 0));
	yate_says(f, "chan.disconnected", "id", dumb_of(f, "9002", 0), "error", "busy");
	yate_says(f, "chan.hangup", "id", dumb_of(f, "9002", 0), "reason", "busy");
	yate_says(f, "chan.hangup", "id", dumb_of(f, "9004", 0), "reason", "noanswer");
	g_assert_cmpint(count_events(f, "leave", "dial-out failed: busy"), ==, 1);
	g_assert_cmpint(count_events(f, "leave", "dial-out failed: offline"), ==, 1);
	g_assert_cmpint(count_events(f, "leave", "dial-out failed: noanswer"), ==, 1);
	g_assert_cmpint(count_events(f, "leave", "dial-out failed: %"), ==, 3);
	detail = fx_query(&f->db, "SELECT caller_name FROM events WHERE detail LIKE '%busy'");
	g_assert_cmpstr(detail, ==, "Bob");
	g_free(detail);
	/* the failure says who: conference, participant, role, number dialled, direction */
	sql = g_strdup_printf("SELECT count(*) FROM events WHERE detail LIKE '%%busy' AND"
	                      " conference_id = %" G_GINT64_FORMAT " AND participant_id > 0 AND"
	                      " role = 'participant' AND caller = '9002' AND called = '9002' AND"
	                      " direction = 'out'",
	        c->id);
	g_assert_cmpint(fx_query_int(&f->db, sql), ==, 1);
	g_free(sql);
	/* one retry each, dial_retry_delay later; then they are given up */
	f->now += 59 * G_USEC_PER_SEC;
	ce_schedule_tick(f->ce);
	g_assert_cmpuint(count_sent(f, "call.execute", NULL, NULL), ==, 7);
	f->now += G_USEC_PER_SEC;
	ce_schedule_tick(f->ce);
	g_assert_cmpuint(count_sent(f, "call.execute", NULL, NULL), ==, 10);
	g_assert_cmpuint(count_sent(f, "call.execute", "target", "9001"), ==, 1);
	g_assert_cmpuint(count_sent(f, "call.execute", "target", "9006"), ==, 1);
	g_assert_cmpuint(count_sent(f, "call.execute", "target", "9007"), ==, 1);
	yate_says(f, "chan.disconnected", "id", dumb_of(f, "9002", 1), "error", "busy");
	f->now += 10 * MIN_US;
	ce_schedule_tick(f->ce);
	g_assert_cmpuint(count_sent(f, "call.execute", NULL, NULL), ==, 10);
	/* the end hangs up what still rings (Dan's second try) and the room */
	f->now = c->ends_at;
	ce_schedule_tick(f->ce);
	g_assert_cmpuint(count_sent(f, "call.drop", "id", "conf/board"), ==, 1);
	g_assert_cmpuint(count_sent(f, "call.drop", "id", dumb_of(f, "9004", 1)), ==, 1);
	g_assert_cmpuint(count_sent(f, "call.drop", "id", dumb_of(f, "9001", 0)), ==, 0);
	ce_conference_unref(c);
}

/* A false answer without error: Yate's dumbchan found no route (final), or
 * Yate never answered (retried); dial_ring_timeout goes out as maxcall. */
static void test_dialout_noroute(struct sfx *f, gconstpointer backend)
{
	struct ce_conference *c = conf_new(f, "800", "board", 1, 30);

	put_conf(f, c);
	put_part(f, c->id, "Nick", "9008", NULL, true);
	put_part(f, c->id, "Tim", "9009", NULL, true);
	ce_schedule_poll(f->ce);
	f->now += MIN_US;
	ce_schedule_tick(f->ce);
	wait_sent(f, "call.execute", 2);
	g_assert_cmpuint(count_sent(f, "call.execute", "maxcall", "3000"), ==, 2);
	g_assert_cmpint(count_events(f, "leave", "dial-out failed: noroute"), ==, 1);
	g_assert_cmpint(count_events(f, "leave", "dial-out failed: failure"), ==, 1);
	g_assert_cmpint(count_events(f, "leave", "dial-out failed: %"), ==, 2);
	/* a number Yate cannot route is not dialled again; one Yate did not answer is */
	f->now += 60 * G_USEC_PER_SEC;
	ce_schedule_tick(f->ce);
	g_assert_cmpuint(count_sent(f, "call.execute", "target", "9008"), ==, 1);
	g_assert_cmpuint(count_sent(f, "call.execute", "target", "9009"), ==, 2);
	ce_conference_unref(c);
}

/* ---- the database is down ------------------------------------------------- */

static void test_unavailable(void)
{
	struct sfx f0, *f = &f0;
	const char *only[] = {"store", "schedule", NULL};
	struct ce_config *cfg;
	char *dir = g_dir_make_tmp("ce-sched-XXXXXX", NULL);
	char *text = g_strdup_printf(
	        "[store]\nbackend=postgresql\npg_conninfo=host=%s/nowhere port=1 "
	        "connect_timeout=1\nspool_dir=%s/spool\n[schedule]\nadmit_timeout=3000\n",
	        dir, dir);

	memset(f, 0, sizeof(*f));
	g_assert_cmpint(ce_config_parse(&cfg, text, -1, "test.conf", NULL), ==, 0);
	g_assert_cmpint(ce_engine_new(&f->ce, cfg), ==, 0);
	f->bus = ce_engine_bus(f->ce);
	f->sent = g_ptr_array_new_with_free_func((GDestroyNotify)ce_msg_unref);
	ce_bus_set_uplink(f->bus, &uplink, f);
	g_assert_cmpint(ce_engine_start(f->ce, only), ==, 0);
	/* Answered (assert_admit's wait is bounded), not left to the caller's
	 * timeout; how soon is bench-store's "down". */
	assert_admit(f, "schedule/800", "1234", "sip/1", "service-unavailable unavailable");
	{
		struct got g = {0};
		g_assert_cmpint(
		        ask(f, &g, "800", "1234", "1001", "sip/3"), ==, CE_SCHED_UNAVAILABLE);
		g_assert_cmpstr(g.error, ==, "service-unavailable");
		got_clear(&g);
	}
	/* ad-hoc rooms go on working without the database */
	assert_admit(f, "conf/adhoc", NULL, "sip/2", "conf/adhoc");
	ce_engine_stop(f->ce);
	ce_engine_free(f->ce);
	g_ptr_array_unref(f->sent);
	g_free(text);
	ce_test_rm_tree(dir);
	g_free(dir);
}

/*
 * PostgreSQL stops while callers come and starts again: refused with
 * "unavailable" while it is down (within admit_timeout), admitted again
 * once it is back, and nothing else breaks.  On SQLite (a file, never
 * "down") the same sequence simply keeps admitting.
 */
static void test_restart(struct sfx *f, gconstpointer backend)
{
	struct ce_conference *c = conf_new(f, "800", "board", -5, 50);
	const char *stop = g_getenv("CE_TEST_PG_STOP"), *start = g_getenv("CE_TEST_PG_START");
	bool pg = f->db.backend == CE_STORE_POSTGRESQL;
	gint64 end;
	char *got = NULL;

	put_conf(f, c);
	assert_admit(f, "schedule/800", NULL, "sip/1", "conf/board");
	if (pg) {
		g_assert_nonnull(stop);
		g_assert_nonnull(start);
		g_assert_cmpint(system(stop), ==, 0);
	}
	assert_admit(f, "schedule/800", NULL, "sip/2",
	        pg ? "service-unavailable unavailable" : "conf/board");
	if (pg)
		g_assert_cmpint(system(start), ==, 0);
	/* the store reconnects with back-off: bounded retries until admitted */
	end = g_get_monotonic_time() + WAIT_LIMIT_US;
	do {
		g_free(got);
		g_usleep(50000);
		got = admit(f, "schedule/800", NULL, "sip/3");
		g_assert_cmpint(g_get_monotonic_time(), <, end);
	} while (strcmp(got, "conf/board"));
	g_free(got);
	ce_conference_unref(c);
}

/* Without [store] schedule/ is refused at once, conf/ untouched. */
static void test_no_store(void)
{
	struct sfx f0, *f = &f0;
	const char *only[] = {"store", "schedule", NULL};
	struct ce_config *cfg;

	memset(f, 0, sizeof(*f));
	g_assert_cmpint(ce_config_parse(&cfg, "[general]\nnode=x\n", -1, "t.conf", NULL), ==, 0);
	g_assert_cmpint(ce_engine_new(&f->ce, cfg), ==, 0);
	f->bus = ce_engine_bus(f->ce);
	g_assert_cmpint(ce_engine_start(f->ce, only), ==, 0);
	assert_admit(f, "schedule/800", NULL, "sip/1", "service-unavailable unavailable");
	assert_admit(f, "conf/x", NULL, "sip/1", "conf/x");
	assert_admit(f, "sip/800", NULL, "sip/1", "sip/800");
	{
		struct got g = {0};
		g_assert_cmpint(ask(f, &g, "800", NULL, "1001", "sip/1"), ==, CE_SCHED_UNAVAILABLE);
		got_clear(&g);
	}
	ce_schedule_tick(f->ce);
	ce_engine_stop(f->ce);
	ce_engine_free(f->ce);
}

/* ---- registration ------------------------------------------------------- */

typedef void (*sfx_test_fn)(struct sfx *, gconstpointer);

struct tcase {
	sfx_test_fn fn;
	int backend;
	const char *extra; /* more [schedule] keys, or NULL */
};

static void run_case(gconstpointer data)
{
	const struct tcase *tc = data;
	struct sfx f;

	setup(&f, &tc->backend, tc->extra);
	if (!f.skip)
		tc->fn(&f, &tc->backend);
	teardown(&f);
}

static void add_conf(const char *name, sfx_test_fn fn, const char *extra)
{
	static const char *const names[] = {"sqlite", "postgresql"};

	for (int b = 0; b < 2; b++) {
		struct tcase *tc = g_new(struct tcase, 1);
		char *path = g_strdup_printf("/schedule/%s/%s", names[b], name);
		tc->fn = fn;
		tc->backend = b ? CE_STORE_POSTGRESQL : CE_STORE_SQLITE;
		tc->extra = extra;
		g_test_add_data_func_full(path, tc, run_case, g_free);
		g_free(path);
	}
}

static void add(const char *name, sfx_test_fn fn)
{
	add_conf(name, fn, NULL);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL);
	add("window", test_window);
	add("pin", test_pin);
	add("full", test_full);
	add("pin-ask", test_ask);
	add("pin-ask-cancel", test_ask_cancel);
	add("pin-ask-stop", test_ask_stop);
	add_conf("pin-no-lobby", test_pin_no_lobby, "lobby=false\n");
	add_conf("pin-guard-caller", test_guard_caller, "pin_fail_caller=3\npin_lockout=60\n");
	add_conf("pin-guard-conference", test_guard_conference,
	        "pin_fail_caller=100\npin_fail_conference=3\n");
	/* hostile PINs by the dozen from one number: the guard would lock it out */
	add_conf("hostile", test_hostile, "pin_fail_caller=1000\npin_fail_conference=1000\n");
	add("absurd-times", test_absurd_times);
	add("end", test_end);
	add("cancel-running", test_cancel_running);
	add("dialout", test_dialout);
	add_conf("dialout-noroute", test_dialout_noroute, "dial_ring_timeout=3000\n");
	add("restart", test_restart);
	add_conf("extend", test_extend, "extend_max=30\n");
	add("extend-stop", test_extend_stop);
	g_test_add_func("/schedule/unavailable", test_unavailable);
	g_test_add_func("/schedule/no-store", test_no_store);
	g_test_add_func("/schedule/verdict-names", test_verdict_names);
	return g_test_run();
}
