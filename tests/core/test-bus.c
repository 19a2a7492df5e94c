/* test-bus.c - unit tests for conf-engine/bus.c: ordering, filters, deferral, watchers, uplink */
#include <errno.h>
#include <string.h>

#include "bus.h"
#include "message.h"

/* Every call of a test handler or watcher appends a token here. */
static GString *trace;

struct th {
	const char *tag;
	enum ce_msg_result result;
	struct ce_bus *bus;
	int uninstall_id;          /* uninstall this handler id when called */
	struct ce_dispatch **keep; /* where a deferring handler keeps its dispatch */
	const char *nested;        /* dispatch this message name when called */
	int early;                 /* defer and complete at once: 1 false, 2 true */
	int *destroyed;
};

static enum ce_msg_result th_call(struct ce_dispatch *d, struct ce_msg *msg, void *arg)
{
	struct th *t = arg;

	g_string_append_printf(trace, "%s ", t->tag);
	if (t->uninstall_id)
		g_assert_cmpint(ce_bus_uninstall(t->bus, (unsigned)t->uninstall_id), ==, 0);
	if (t->nested) {
		struct ce_msg *m;

		ce_msg_new(&m, t->nested);
		ce_bus_dispatch(t->bus, m, NULL, NULL);
		ce_msg_unref(m);
	}
	if (t->keep)
		*t->keep = d;
	if (t->early)
		ce_dispatch_complete(d, t->early == 2);
	return t->result;
}

static void th_destroy(gpointer p)
{
	struct th *t = p;

	g_string_append_printf(trace, "~%s ", t->tag);
	if (t->destroyed)
		(*t->destroyed)++;
}

static int add(struct ce_bus *bus, const char *name, unsigned prio, struct th *t)
{
	t->bus = bus;
	return ce_bus_install(bus, name, prio, NULL, NULL, 0, th_call, t, NULL);
}

struct outcome {
	int calls;
	bool handled;
};

static void done_cb(struct ce_msg *msg, bool handled, void *arg)
{
	struct outcome *o = arg;

	o->calls++;
	o->handled = handled;
	g_string_append_printf(trace, "done:%d ", handled);
}

static void watch_cb(struct ce_msg *msg, bool handled, void *arg)
{
	g_string_append_printf(trace, "%s:%d ", (const char *)arg, handled);
}

/* Outlives run_msg(): a deferred dispatch ends after it returned. */
static struct outcome last_outcome;

static struct outcome run_msg(struct ce_bus *bus, const char *name, const char *k, const char *v)
{
	struct ce_msg *m;

	last_outcome.calls = 0;
	ce_msg_new(&m, name);
	if (k)
		ce_msg_set(m, k, v);
	ce_bus_dispatch(bus, m, done_cb, &last_outcome);
	ce_msg_unref(m);
	return last_outcome;
}

static void reset(void)
{
	g_string_truncate(trace, 0);
}

static void test_order_and_stability(void)
{
	struct th a = {.tag = "a"}, b = {.tag = "b"}, c = {.tag = "c"}, e = {.tag = "e"};
	struct ce_bus *bus;
	struct outcome o;

	ce_bus_new(&bus);
	add(bus, "x", 100, &a);
	add(bus, "x", 50, &b);
	add(bus, "x", 100, &c);
	add(bus, "x", 50, &e);
	reset();
	o = run_msg(bus, "x", NULL, NULL);
	g_assert_cmpstr(trace->str, ==, "b e a c done:0 ");
	g_assert_cmpint(o.calls, ==, 1);
	g_assert_false(o.handled);
	e.result = CE_MSG_HANDLED;
	reset();
	o = run_msg(bus, "x", NULL, NULL);
	g_assert_cmpstr(trace->str, ==, "b e done:1 ");
	g_assert_true(o.handled);
	reset();
	run_msg(bus, "y", NULL, NULL);
	g_assert_cmpstr(trace->str, ==, "done:0 ");
	ce_bus_free(bus);
}

static void test_filters(void)
{
	struct th a = {.tag = "a"}, b = {.tag = "b"};
	struct ce_bus *bus;

	ce_bus_new(&bus);
	a.bus = b.bus = bus;
	g_assert_cmpint(
	        ce_bus_install(bus, "x", 10, "callto", "conf/1", 0, th_call, &a, NULL), >, 0);
	g_assert_cmpint(ce_bus_install(bus, "x", 20, NULL, NULL, 0, th_call, &b, NULL), >, 0);
	g_assert_cmpint(
	        ce_bus_install(bus, "x", 20, "callto", NULL, 0, th_call, &b, NULL), ==, -EINVAL);
	g_assert_cmpint(ce_bus_install(bus, "", 20, NULL, NULL, 0, th_call, &b, NULL), ==, -EINVAL);
	reset();
	run_msg(bus, "x", "callto", "conf/1");
	run_msg(bus, "x", "callto", "conf/10");
	run_msg(bus, "x", NULL, NULL);
	g_assert_cmpstr(trace->str, ==, "a b done:0 b done:0 b done:0 ");
	ce_bus_free(bus);
}

static void test_defer_resume_and_continue(void)
{
	struct ce_dispatch *d = NULL;
	struct th a = {.tag = "a", .result = CE_MSG_DEFERRED}, b = {.tag = "b"};
	struct ce_bus *bus;
	struct ce_bus_stats st;
	struct outcome o = {0, false};
	struct ce_msg *m;

	a.keep = &d;
	ce_bus_new(&bus);
	add(bus, "x", 1, &a);
	add(bus, "x", 2, &b);
	ce_bus_watch(bus, "x", CE_BUS_LOCAL, watch_cb, "w", NULL);
	reset();
	ce_msg_new(&m, "x");
	ce_bus_dispatch(bus, m, done_cb, &o);
	g_assert_cmpstr(trace->str, ==, "a ");
	g_assert_nonnull(d);
	g_assert_true(ce_dispatch_msg(d) == m);
	ce_dispatch_complete(d, false); /* resume with the next handler */
	g_assert_cmpstr(trace->str, ==, "a b done:0 w:0 ");
	reset();
	ce_bus_dispatch(bus, m, done_cb, &o);
	ce_dispatch_complete(d, true); /* ends it */
	g_assert_cmpstr(trace->str, ==, "a done:1 w:1 ");
	g_assert_true(m->processed);
	/* completion from inside the call, before returning DEFERRED */
	a.early = 1;
	reset();
	ce_bus_dispatch(bus, m, done_cb, &o);
	g_assert_cmpstr(trace->str, ==, "a b done:0 w:0 ");
	a.early = 2;
	reset();
	ce_bus_dispatch(bus, m, done_cb, &o);
	g_assert_cmpstr(trace->str, ==, "a done:1 w:1 ");
	ce_msg_unref(m);
	ce_bus_get_stats(bus, &st);
	g_assert_cmpuint(st.dispatched, ==, 4);
	g_assert_cmpuint(st.deferred, ==, 4);
	g_assert_cmpuint(st.handled, ==, 2);
	g_assert_cmpuint(st.handlers, ==, 2);
	g_assert_cmpuint(st.watchers, ==, 1);
	ce_bus_free(bus);
}

static void test_uninstall_deferring_handler(void)
{
	struct ce_dispatch *d = NULL;
	int destroyed = 0;
	struct th a = {.tag = "a", .result = CE_MSG_DEFERRED}, b = {.tag = "b"};
	struct ce_bus *bus;
	int ida;

	a.keep = &d;
	a.destroyed = &destroyed;
	ce_bus_new(&bus);
	a.bus = bus;
	ida = ce_bus_install(bus, "x", 1, NULL, NULL, 0, th_call, &a, th_destroy);
	add(bus, "x", 2, &b);
	reset();
	run_msg(bus, "x", NULL, NULL);
	g_assert_cmpint(ce_bus_uninstall(bus, (unsigned)ida), ==, 0);
	g_assert_cmpint(destroyed, ==, 1);
	g_assert_cmpint(ce_bus_uninstall(bus, (unsigned)ida), ==, -ENOENT);
	ce_dispatch_complete(d, false);
	g_assert_cmpstr(trace->str, ==, "a ~a b done:0 ");
	ce_bus_free(bus);
}

static void test_uninstall_during_dispatch(void)
{
	int destroyed = 0;
	struct th a = {.tag = "a"}, b = {.tag = "b"}, c = {.tag = "c"};
	struct ce_bus *bus;
	int ida, idb, idc;

	ce_bus_new(&bus);
	a.bus = b.bus = c.bus = bus;
	a.destroyed = b.destroyed = c.destroyed = &destroyed;
	ida = ce_bus_install(bus, "x", 1, NULL, NULL, 0, th_call, &a, th_destroy);
	idb = ce_bus_install(bus, "x", 2, NULL, NULL, 0, th_call, &b, th_destroy);
	idc = ce_bus_install(bus, "x", 3, NULL, NULL, 0, th_call, &c, th_destroy);
	a.uninstall_id = idb; /* a removes the next one: b is skipped */
	c.uninstall_id = idc; /* c removes itself: destroyed after its call */
	reset();
	run_msg(bus, "x", NULL, NULL);
	g_assert_cmpstr(trace->str, ==, "a ~b c ~c done:0 ");
	g_assert_cmpint(destroyed, ==, 2);
	a.uninstall_id = 0;
	g_assert_cmpint(ce_bus_uninstall_by(bus, "x", th_call, &a), ==, 1);
	g_assert_cmpint(ce_bus_uninstall_by(bus, "x", th_call, &a), ==, -ENOENT);
	g_assert_cmpint(ce_bus_uninstall(bus, (unsigned)ida), ==, -ENOENT);
	g_assert_cmpint(destroyed, ==, 3);
	ce_bus_free(bus);
}

static void test_install_during_dispatch_and_free(void)
{
	int destroyed = 0;
	struct th a = {.tag = "a"}, late = {.tag = "late"};
	struct ce_bus *bus;

	ce_bus_new(&bus);
	a.destroyed = late.destroyed = &destroyed;
	a.bus = late.bus = bus;
	ce_bus_install(bus, "x", 5, NULL, NULL, 0, th_call, &a, th_destroy);
	reset();
	run_msg(bus, "x", NULL, NULL);
	ce_bus_install(bus, "x", 9, NULL, NULL, 0, th_call, &late, th_destroy);
	run_msg(bus, "x", NULL, NULL);
	g_assert_cmpstr(trace->str, ==, "a done:0 a late done:0 ");
	ce_bus_free(bus);
	g_assert_cmpint(destroyed, ==, 2);
}

/* A handler that installs another one for the same name while running. */
static enum ce_msg_result installer(struct ce_dispatch *d, struct ce_msg *msg, void *arg)
{
	struct th *t = arg;

	g_string_append(trace, "inst ");
	ce_bus_install(t->bus, "x", 100, NULL, NULL, 0, th_call, t, NULL);
	return CE_MSG_CONTINUE;
}

static void test_install_inside_handler(void)
{
	struct th t = {.tag = "new"};
	struct ce_bus *bus;
	int id;

	ce_bus_new(&bus);
	t.bus = bus;
	id = ce_bus_install(bus, "x", 1, NULL, NULL, 0, installer, &t, NULL);
	reset();
	run_msg(bus, "x", NULL, NULL);
	g_assert_cmpstr(trace->str, ==, "inst done:0 ");
	ce_bus_uninstall(bus, (unsigned)id);
	reset();
	run_msg(bus, "x", NULL, NULL);
	g_assert_cmpstr(trace->str, ==, "new done:0 ");
	ce_bus_free(bus);
}

static void test_nested_and_watchers(void)
{
	struct th a = {.tag = "a"}, b = {.tag = "b", .result = CE_MSG_HANDLED};
	struct ce_bus *bus;
	int w1;

	ce_bus_new(&bus);
	a.nested = "y";
	add(bus, "x", 1, &a);
	add(bus, "y", 1, &b);
	w1 = ce_bus_watch(bus, "x", 0, watch_cb, "wx", NULL);
	ce_bus_watch(bus, "y", 0, watch_cb, "wy", NULL);
	reset();
	run_msg(bus, "x", NULL, NULL);
	g_assert_cmpstr(trace->str, ==, "a b wy:1 done:0 wx:0 ");
	g_assert_cmpint(ce_bus_unwatch(bus, (unsigned)w1), ==, 0);
	g_assert_cmpint(ce_bus_unwatch(bus, (unsigned)w1), ==, -ENOENT);
	reset();
	run_msg(bus, "x", NULL, NULL);
	g_assert_cmpstr(trace->str, ==, "a b wy:1 done:0 ");
	ce_bus_free(bus);
}

/* A watcher that removes itself and the next watcher. */
static int unwatch_ids[2];
static struct ce_bus *unwatch_bus;

static void self_unwatch(struct ce_msg *msg, bool handled, void *arg)
{
	g_string_append(trace, "self ");
	ce_bus_unwatch(unwatch_bus, (unsigned)unwatch_ids[0]);
	ce_bus_unwatch(unwatch_bus, (unsigned)unwatch_ids[1]);
	ce_bus_watch(unwatch_bus, "x", 0, watch_cb, "added", NULL);
}

static void test_unwatch_during_notify(void)
{
	struct ce_bus *bus;
	struct ce_msg *m;

	ce_bus_new(&bus);
	unwatch_bus = bus;
	ce_bus_watch(bus, "x", 0, watch_cb, "w0", NULL);
	unwatch_ids[0] = ce_bus_watch(bus, "x", 0, self_unwatch, NULL, NULL);
	unwatch_ids[1] = ce_bus_watch(bus, "x", 0, watch_cb, "gone", NULL);
	ce_bus_watch(bus, "x", 0, watch_cb, "w3", NULL);
	ce_msg_new(&m, "x");
	reset();
	ce_bus_notify_watchers(bus, m, true);
	g_assert_cmpstr(trace->str, ==, "w0:1 self w3:1 ");
	reset();
	ce_bus_notify_watchers(bus, m, false);
	g_assert_cmpstr(trace->str, ==, "w0:0 w3:0 added:0 ");
	ce_msg_unref(m);
	ce_bus_free(bus);
}

/* The fake Yate side: records what the bus announces and answers sends. */
struct fake {
	GString *log;
	int answer; /* -1: keep pending, 0/1: answer at once */
	struct ce_msg *pending;
	ce_msg_done_h *pdone;
	void *parg;
};

static void fake_relay(void *arg, const char *name, int prio, const char *fname, const char *fvalue)
{
	struct fake *f = arg;

	g_string_append_printf(f->log, "relay %s %d", name, prio);
	if (fname)
		g_string_append_printf(f->log, " %s=%s", fname, fvalue);
	g_string_append(f->log, "; ");
}

static void fake_watch(void *arg, const char *name, bool on)
{
	struct fake *f = arg;

	g_string_append_printf(f->log, "watch %s %d; ", name, on);
}

static void fake_send(
        void *arg, struct ce_msg *msg, unsigned timeout_ms, ce_msg_done_h *done, void *done_arg)
{
	struct fake *f = arg;

	g_string_append_printf(f->log, "send %s %u; ", msg->name, timeout_ms);
	g_string_append_printf(trace, "yate ");
	if (f->answer < 0) {
		f->pending = msg;
		f->pdone = done;
		f->parg = done_arg;
		return;
	}
	ce_msg_set_retval(msg, "from-yate");
	done(msg, f->answer == 1, done_arg);
}

static const struct ce_uplink_ops fake_ops = {fake_relay, fake_watch, fake_send};

static void test_send(void)
{
	struct th a = {.tag = "a"};
	struct fake f = {.log = g_string_new(NULL), .answer = 1};
	struct ce_bus *bus;
	struct ce_bus_stats st;
	struct outcome o = {0, false};
	struct ce_msg *m;

	ce_bus_new(&bus);
	ce_msg_new(&m, "call.drop");
	/* no uplink: local handlers only, then handled=false */
	add(bus, "call.drop", 10, &a);
	ce_bus_watch(bus, "call.drop", CE_BUS_LOCAL, watch_cb, "w", NULL);
	reset();
	ce_bus_send(bus, m, 0, done_cb, &o);
	g_assert_cmpstr(trace->str, ==, "a done:0 w:0 ");
	ce_bus_set_uplink(bus, &fake_ops, &f);
	g_string_truncate(f.log, 0);
	/* forwarded to Yate when no local handler takes it */
	reset();
	ce_bus_send(bus, m, 0, done_cb, &o);
	g_assert_cmpstr(trace->str, ==, "a yate done:1 w:1 ");
	g_assert_cmpstr(f.log->str, ==, "send call.drop 10000; ");
	g_assert_cmpstr(m->retval, ==, "from-yate");
	/* handled locally: Yate never sees it */
	a.result = CE_MSG_HANDLED;
	reset();
	ce_bus_send(bus, m, 500, done_cb, &o);
	g_assert_cmpstr(trace->str, ==, "a done:1 w:1 ");
	/* pending answer, then a timeout */
	a.result = CE_MSG_CONTINUE;
	f.answer = -1;
	g_string_truncate(f.log, 0);
	reset();
	ce_bus_send(bus, m, 500, done_cb, &o);
	g_assert_cmpstr(f.log->str, ==, "send call.drop 500; ");
	g_assert_cmpstr(trace->str, ==, "a yate ");
	ce_bus_note_timeout(bus);
	f.pdone(f.pending, false, f.parg);
	g_assert_cmpstr(trace->str, ==, "a yate done:0 w:0 ");
	ce_bus_get_stats(bus, &st);
	g_assert_cmpuint(st.sent, ==, 2);
	g_assert_cmpuint(st.sent_timeout, ==, 1);
	ce_msg_unref(m);
	ce_bus_free(bus);
	g_string_free(f.log, TRUE);
}

static enum ce_msg_result nop(struct ce_dispatch *d, struct ce_msg *msg, void *arg)
{
	return CE_MSG_CONTINUE;
}

static void test_relay_announcements(void)
{
	struct fake f = {.log = g_string_new(NULL), .answer = 1};
	struct ce_bus *bus;
	int h1, h2, h3, h4, w1, w2, w3;

	ce_bus_new(&bus);
	ce_bus_set_uplink(bus, &fake_ops, &f);
	h1 = ce_bus_install(bus, "call.execute", 100, "callto", "conf/x", 0, nop, NULL, NULL);
	g_assert_cmpstr(f.log->str, ==, "relay call.execute 100 callto=conf/x; ");
	g_string_truncate(f.log, 0);
	/* same filter, lower number: the priority changes, the filter stays */
	h2 = ce_bus_install(bus, "call.execute", 50, "callto", "conf/x", 0, nop, NULL, NULL);
	g_assert_cmpstr(f.log->str, ==, "relay call.execute 50 callto=conf/x; ");
	g_string_truncate(f.log, 0);
	/* a local handler changes nothing in Yate */
	h4 = ce_bus_install(bus, "call.execute", 1, NULL, NULL, CE_BUS_LOCAL, nop, NULL, NULL);
	g_assert_cmpstr(f.log->str, ==, "");
	/* another filter: no filter at all; higher number: priority stays */
	h3 = ce_bus_install(bus, "call.execute", 70, "callto", "conf/y", 0, nop, NULL, NULL);
	g_assert_cmpstr(f.log->str, ==, "relay call.execute 50; ");
	g_string_truncate(f.log, 0);
	ce_bus_uninstall(bus, (unsigned)h3);
	g_assert_cmpstr(f.log->str, ==, "relay call.execute 50 callto=conf/x; ");
	g_string_truncate(f.log, 0);
	ce_bus_uninstall(bus, (unsigned)h2);
	g_assert_cmpstr(f.log->str, ==, "relay call.execute 100 callto=conf/x; ");
	g_string_truncate(f.log, 0);
	ce_bus_uninstall(bus, (unsigned)h4);
	g_assert_cmpstr(f.log->str, ==, "");
	/* watchers: only the first and the last non-local one */
	w1 = ce_bus_watch(bus, "chan.hangup", 0, watch_cb, "a", NULL);
	w2 = ce_bus_watch(bus, "chan.hangup", 0, watch_cb, "b", NULL);
	w3 = ce_bus_watch(bus, "chan.hangup", CE_BUS_LOCAL, watch_cb, "c", NULL);
	g_assert_cmpstr(f.log->str, ==, "watch chan.hangup 1; ");
	g_string_truncate(f.log, 0);
	/* resync: everything again */
	ce_bus_resync_uplink(bus);
	g_assert_nonnull(strstr(f.log->str, "relay call.execute 100 callto=conf/x; "));
	g_assert_nonnull(strstr(f.log->str, "watch chan.hangup 1; "));
	g_assert_cmpuint(f.log->len, ==,
	        strlen("relay call.execute 100 callto=conf/x; watch chan.hangup 1; "));
	g_string_truncate(f.log, 0);
	ce_bus_unwatch(bus, (unsigned)w1);
	ce_bus_unwatch(bus, (unsigned)w3);
	g_assert_cmpstr(f.log->str, ==, "");
	ce_bus_unwatch(bus, (unsigned)w2);
	ce_bus_uninstall(bus, (unsigned)h1);
	g_assert_cmpstr(f.log->str, ==, "watch chan.hangup 0; relay call.execute -1; ");
	g_string_truncate(f.log, 0);
	ce_bus_resync_uplink(bus);
	g_assert_cmpstr(f.log->str, ==, "");
	ce_bus_free(bus);
	g_string_free(f.log, TRUE);
}

static void test_uplink_scopes(void)
{
	struct th a = {.tag = "a"};
	struct ce_bus *bus;
	struct outcome o = {0, false};
	struct ce_msg *m;

	ce_bus_new(&bus);
	add(bus, "call.execute", 50, &a);
	ce_bus_watch(bus, "call.execute", 0, watch_cb, "remote", NULL);
	ce_bus_watch(bus, "call.execute", CE_BUS_LOCAL, watch_cb, "local", NULL);
	ce_bus_watch(bus, "call.execute", CE_BUS_YATE_ONLY, watch_cb, "yate", NULL);
	ce_msg_new(&m, "call.execute");
	reset();
	ce_bus_dispatch_uplink(bus, m, done_cb, &o);
	g_assert_cmpstr(trace->str, ==, "a done:0 local:0 ");
	reset();
	ce_bus_notify_uplink(bus, m, true);
	g_assert_cmpstr(trace->str, ==, "remote:1 yate:1 ");
	reset();
	ce_bus_dispatch(bus, m, done_cb, &o); /* the engine's own: not for "yate" */
	g_assert_cmpstr(trace->str, ==, "a done:0 remote:0 local:0 ");
	reset();
	ce_bus_send(bus, m, 0, done_cb, &o);
	g_assert_cmpstr(trace->str, ==, "a done:0 remote:0 local:0 ");
	ce_msg_unref(m);
	ce_bus_free(bus);
}

/* A room hook subscriber: traces its tag and the event's energy; may unsubscribe another. */
struct room_sub {
	const char *tag;
	struct ce_bus *bus;
	struct room_sub *drop; /* unsubscribed from inside the call */
};

static void room_cb(const struct ce_room_event *ev, void *arg)
{
	struct room_sub *r = arg;

	g_string_append_printf(trace, "%s:%d ", r->tag, ev->energy);
	if (r->drop)
		g_assert_cmpint(ce_bus_room_unsubscribe(r->bus, room_cb, r->drop), ==, 0);
}

/* Subscribers get each room event at once, in order; (h, arg) identifies one. */
static void test_room_hook(void)
{
	struct ce_bus *bus;
	struct room_sub a = {.tag = "a"}, b = {.tag = "b"}, c = {.tag = "c"};
	struct ce_room_event ev;

	ce_bus_new(&bus);
	a.bus = b.bus = c.bus = bus;
	ce_room_event_init(&ev, CE_EVENT_TALK_START);
	ev.energy = 42;
	ce_bus_room_event(bus, &ev); /* nobody listens */
	g_assert_cmpint(ce_bus_room_subscribe(bus, room_cb, &a), ==, 0);
	g_assert_cmpint(ce_bus_room_subscribe(bus, room_cb, &b), ==, 0);
	g_assert_cmpint(ce_bus_room_subscribe(bus, room_cb, &c), ==, 0);
	g_assert_cmpint(ce_bus_room_subscribe(bus, room_cb, &b), ==, -EEXIST);
	reset();
	ce_bus_room_event(bus, &ev);
	g_assert_cmpstr(trace->str, ==, "a:42 b:42 c:42 ");
	a.drop = &b; /* b goes during the call: not called any more */
	reset();
	ce_bus_room_event(bus, &ev);
	g_assert_cmpstr(trace->str, ==, "a:42 c:42 ");
	g_assert_cmpint(ce_bus_room_unsubscribe(bus, room_cb, &b), ==, -ENOENT);
	a.drop = NULL;
	g_assert_cmpint(ce_bus_room_unsubscribe(bus, room_cb, &a), ==, 0);
	reset();
	ce_bus_room_event(bus, &ev);
	g_assert_cmpstr(trace->str, ==, "c:42 ");
	ce_bus_free(bus);
}

static void test_free_with_pending_dispatch(void)
{
	struct ce_dispatch *d = NULL;
	struct th a = {.tag = "a", .result = CE_MSG_DEFERRED}, b = {.tag = "b"};
	struct ce_bus *bus;

	a.keep = &d;
	ce_bus_new(&bus);
	add(bus, "x", 1, &a);
	add(bus, "x", 2, &b);
	reset();
	run_msg(bus, "x", NULL, NULL);
	ce_bus_free(bus);
	ce_dispatch_complete(d, false); /* b is gone with the bus */
	g_assert_cmpstr(trace->str, ==, "a done:0 ");
}

int main(int argc, char **argv)
{
	int rc;

	g_test_init(&argc, &argv, NULL);
	trace = g_string_new(NULL);
	g_test_add_func("/bus/order-and-stability", test_order_and_stability);
	g_test_add_func("/bus/filters", test_filters);
	g_test_add_func("/bus/defer-resume-continue", test_defer_resume_and_continue);
	g_test_add_func("/bus/uninstall-deferring-handler", test_uninstall_deferring_handler);
	g_test_add_func("/bus/uninstall-during-dispatch", test_uninstall_during_dispatch);
	g_test_add_func("/bus/install-during-dispatch", test_install_during_dispatch_and_free);
	g_test_add_func("/bus/install-inside-handler", test_install_inside_handler);
	g_test_add_func("/bus/nested-and-watchers", test_nested_and_watchers);
	g_test_add_func("/bus/unwatch-during-notify", test_unwatch_during_notify);
	g_test_add_func("/bus/send", test_send);
	g_test_add_func("/bus/relay-announcements", test_relay_announcements);
	g_test_add_func("/bus/uplink-scopes", test_uplink_scopes);
	g_test_add_func("/bus/free-with-pending-dispatch", test_free_with_pending_dispatch);
	g_test_add_func("/bus/room-hook", test_room_hook);
	rc = g_test_run();
	g_string_free(trace, TRUE);
	return rc;
}
