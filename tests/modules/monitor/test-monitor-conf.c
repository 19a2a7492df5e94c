/* test-monitor-conf.c - the monitor with the engine's own conference rooms on the same bus */
#include <errno.h>
#include <glib/gstdio.h>

#include "engine.h"
#include "tests/modules/conference/conf-fixture.h"

#define YROOM "notify=conf-monitor/yroom:speakers=true:lonely=true:maxusers=5"

static gint64 engine_clock(void *arg)
{
	return *(gint64 *)arg;
}

/* The value of "key":"..." in @line, or NULL. */
static char *field_of(const char *line, const char *key)
{
	char *pat = g_strdup_printf("\"%s\":\"", key);
	const char *p = strstr(line, pat), *end;
	char *v = NULL;

	if (p) {
		p += strlen(pat);
		end = strchr(p, '"');
		v = g_strndup(p, end - p);
	}
	g_free(pat);
	return v;
}

static char *summary(const char *text, const char *want_source)
{
	char **lines = g_strsplit(text, "\n", -1);
	GString *s = g_string_new(NULL);

	for (char **l = lines; *l && **l; l++) {
		char *type = field_of(*l, "type"), *ev = field_of(*l, "event");
		char *leg = field_of(*l, "leg"), *src = field_of(*l, "source");

		g_assert_cmpstr(src, ==, want_source);
		g_string_append_printf(s, "%s%s %s", s->len ? "; " : "",
		        !g_strcmp0(type, "cdr") ? "cdr" : ev, leg ? leg : "-");
		g_free(type);
		g_free(ev);
		g_free(leg);
		g_free(src);
	}
	g_strfreev(lines);
	return g_string_free(s, FALSE);
}

/* Counts the chan.notify messages it takes (a CE_BUS_LOCAL handler at priority 0). */
static enum ce_msg_result swallow(struct ce_dispatch *d, struct ce_msg *msg, void *arg)
{
	(*(unsigned *)arg)++;
	return CE_MSG_HANDLED;
}

/*
 * An engine with the monitor (logging to @log, CDRs at once) and our
 * conference on its bus; with @swallowed, a handler installed before the
 * monitor starts takes every chan.notify first (and counts them there).
 */
static struct ce_engine *monitor_engine(
        struct fx *fx, const char *log, gint64 *now, unsigned *swallowed)
{
	const char *const only[] = {"monitor", NULL};
	struct ce_engine *ce;
	struct ce_config *cfg;

	ce_config_new_empty(&cfg);
	ce_config_set(cfg, "monitor", "event_log", log);
	ce_config_set(cfg, "monitor", "cdr_delay", "0");
	g_assert_cmpint(ce_engine_new(&ce, cfg), ==, 0);
	ce_engine_set_clock(ce, engine_clock, now);
	fx->bus = ce_engine_bus(ce);
	ce_bus_set_uplink(fx->bus, &fx_uplink, fx);
	if (swallowed)
		g_assert_cmpint(ce_bus_install(fx->bus, "chan.notify", 0, NULL, NULL, CE_BUS_LOCAL,
		                        swallow, swallowed, NULL),
		        >, 0);
	g_assert_cmpint(ce_engine_start(ce, only), ==, 0);
	g_assert_cmpint(ce_config_parse(&fx->cfg, "", -1, "test.conf", NULL), ==, 0);
	fx->sent = g_ptr_array_new_with_free_func(g_free);
	fx->plays = g_string_new(NULL);
	fx->now = 1000000000;
	g_assert_cmpint(ce_conf_new(&fx->conf, fx->bus, fx->cfg, &fx_media_ops, fx), ==, 0);
	fx->conf->clock = fx_clock;
	fx->conf->clock_arg = fx;
	return ce;
}

/* Frees what monitor_engine() made (the conference is freed already). */
static void monitor_engine_free(struct ce_engine *ce, struct fx *fx)
{
	ce_engine_free(ce);
	ce_config_free(fx->cfg);
	g_ptr_array_free(fx->sent, TRUE);
	g_string_free(fx->plays, TRUE);
	g_free(fx->record);
	g_free(fx);
}

/* One test's engine and its event log in a folder of its own; stays where it is (the clock). */
struct run {
	char *dir, *log, *text;
	struct fx *fx;
	struct ce_engine *ce;
	gint64 now;
};

static struct fx *run_start(struct run *r, unsigned *swallowed)
{
	r->dir = g_dir_make_tmp("monitor-conf-XXXXXX", NULL);
	r->log = g_build_filename(r->dir, "events.jsonl", NULL);
	r->fx = g_new0(struct fx, 1);
	r->now = (gint64)1795326783 * G_USEC_PER_SEC;
	r->ce = monitor_engine(r->fx, r->log, &r->now, swallowed);
	return r->fx;
}

/* The conference ends, the engine stops: the event log, complete. */
static const char *run_stop(struct run *r)
{
	ce_conf_free(r->fx->conf);
	fx_flush(r->fx);
	ce_engine_stop(r->ce); /* the event log is complete once the monitor stopped */
	g_assert_true(g_file_get_contents(r->log, &r->text, NULL, NULL));
	return r->text;
}

static void run_free(struct run *r)
{
	monitor_engine_free(r->ce, r->fx);
	g_free(r->text);
	g_unlink(r->log);
	g_rmdir(r->dir);
	g_free(r->log);
	g_free(r->dir);
}

/*
 * Two callers in one of our rooms, one talks, the other talks, is muted,
 * unmuted, talks and hangs up while talking, then the first hangs up: every chan.notify the room
 * sends is seen once, at once, although it also travels to "Yate" (whose answers come later).
 */
static void test_own_room(void)
{
	struct run r;
	struct fx *fx = run_start(&r, NULL);
	struct ce_leg *a, *b;
	const char *text;
	char *sum;

	a = fx_join(fx, "yroom", "tone/4", 1, YROOM);
	r.now += G_USEC_PER_SEC;
	b = fx_join(fx, "yroom", "tone/5", 2, YROOM);
	g_assert_nonnull(a);
	g_assert_nonnull(b);
	r.now += G_USEC_PER_SEC;
	ce_leg_talking(a, true, 1234);
	r.now += G_USEC_PER_SEC;
	ce_leg_talking(a, false, 0);
	ce_leg_talking(b, true, 99);
	ce_leg_set_muted(b, true); /* a muted leg stops talking */
	ce_leg_talking(b, true, 98);
	ce_leg_set_muted(b, false);
	ce_leg_talking(b, true, 77); /* and hangs up while talking */
	r.now += G_USEC_PER_SEC;
	fx_watch(fx, "chan.hangup", "id=dumb/2:module=dumb:status=answered:reason=busy", false);
	fx_flush(fx);
	r.now += G_USEC_PER_SEC;
	fx_watch(fx, "chan.hangup", "id=dumb/1:module=dumb:status=answered", false);
	fx_flush(fx);

	text = run_stop(&r);
	sum = summary(text, "engine");
	g_assert_cmpstr(sum, ==,
	        "created -; enter dumb/1; enter dumb/2; talk-start dumb/1; talk-stop dumb/1; "
	        "talk-start dumb/2; talk-stop dumb/2; mute dumb/2; unmute dumb/2; talk-start "
	        "dumb/2; "
	        "talk-stop dumb/2; leave dumb/2; cdr dumb/2; "
	        "leave dumb/1; cdr dumb/1; destroyed -");
	g_assert_nonnull(strstr(text, "\"caller\":\"tone/busy\",\"called\":\"802\""));
	g_assert_nonnull(strstr(text, "\"peer\":\"tone/5\""));
	g_assert_nonnull(strstr(text, "\"talk_ms\":1000,\"reason\":\"busy\"}")); /* dumb/2's CDR */
	g_assert_nonnull(
	        strstr(text, "\"event\":\"talk-start\",\"time\":\"2026-11-22T05:53:05.000000Z\""));
	g_free(sum);
	run_free(&r);
}

static void count_lines(const char *text, const char *needle, int want)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
		n++;
	g_assert_cmpint(n, ==, want);
}

/*
 * The schedule ends a conference (call.drop id=conf/NAME reason=schedule-ended):
 * every leave event and CDR says schedule-ended, not "left", although the
 * room's "left" carries no reason and the CDRs are written at once.
 */
static void test_drop_reason(void)
{
	struct run r;
	struct fx *fx = run_start(&r, NULL);
	struct ce_msg *drop = fx_msg("call.drop", "id=conf/yroom:reason=schedule-ended");
	const char *text;

	g_assert_nonnull(fx_join(fx, "yroom", "tone/4", 1, YROOM));
	g_assert_nonnull(fx_join(fx, "yroom", "tone/5", 2, YROOM));
	r.now += G_USEC_PER_SEC;
	ce_bus_dispatch(fx->bus, drop, NULL, NULL);
	fx_flush(fx);
	/* a leg's own call.drop: dumb/4, left alone (lonely=true), at shutdown */
	g_assert_nonnull(fx_join(fx, "other", "tone/6", 3, YROOM));
	g_assert_nonnull(fx_join(fx, "other", "tone/7", 4, YROOM));
	r.now += G_USEC_PER_SEC;
	fx_watch(fx, "chan.hangup", "id=dumb/3:module=dumb:status=answered:reason=busy", false);
	fx_flush(fx);
	text = run_stop(&r);
	count_lines(text, "\"reason\":\"schedule-ended\"", 4); /* 2 leave + 2 CDRs */
	count_lines(text, "\"reason\":\"left\"", 0);
	count_lines(text, "\"reason\":\"busy\"", 2);     /* dumb/3 hung up */
	count_lines(text, "\"reason\":\"shutdown\"", 2); /* dumb/4 */

	ce_msg_unref(drop);
	run_free(&r);
}

/* What a subscriber of the bus's room hook got: the last talk-start, typed. */
struct talk_seen {
	unsigned starts;
	int energy;
	char *leg;
};

static void on_room(const struct ce_room_event *ev, void *arg)
{
	struct talk_seen *t = arg;

	if (ev->kind != CE_EVENT_TALK_START)
		return;
	t->starts++;
	t->energy = ev->energy;
	g_free(t->leg);
	t->leg = g_strdup(ev->leg);
}

/*
 * A talker event from the media side (the glue's struct ce_room_event,
 * energy an integer) reaches the monitor as that struct: every chan.notify
 * is taken on the bus before anyone else could see it, and the event log
 * still has the talk-start, of our own room, with its energy.
 */
static void test_talker_typed(void)
{
	unsigned swallowed = 0, before;
	struct run r;
	struct fx *fx = run_start(&r, &swallowed);
	struct talk_seen seen = {0};
	struct ce_room_event ev = {.kind = CE_EVENT_TALK_START, .energy = 1234};
	struct ce_leg *a;
	const char *text;
	char *sum;

	g_assert_cmpint(ce_bus_room_subscribe(fx->bus, on_room, &seen), ==, 0);
	g_assert_cmpint(ce_bus_room_subscribe(fx->bus, on_room, &seen), ==, -EEXIST);
	a = fx_join(fx, "yroom", "tone/4", 1, YROOM);
	g_assert_nonnull(a);
	before = swallowed;
	r.now += G_USEC_PER_SEC;
	ev.room_data = a->room;
	ev.leg_data = a;
	ce_conf_media_event(&ev, fx->conf);
	g_assert_cmpuint(swallowed, ==, before + 1); /* Yate's talkstart: nobody saw it */
	g_assert_cmpuint(seen.starts, ==, 1);
	g_assert_cmpint(seen.energy, ==, 1234);
	g_assert_cmpstr(seen.leg, ==, "dumb/1");
	g_assert_cmpint(ce_bus_room_unsubscribe(fx->bus, on_room, &seen), ==, 0);
	g_assert_cmpint(ce_bus_room_unsubscribe(fx->bus, on_room, &seen), ==, -ENOENT);
	text = run_stop(&r);
	sum = summary(text, "engine");
	g_assert_cmpstr(sum, ==,
	        "created -; enter dumb/1; talk-start dumb/1; talk-stop dumb/1; leave dumb/1; "
	        "cdr dumb/1; destroyed -");
	g_assert_nonnull(strstr(text, "\"leg\":\"dumb/1\",\"peer\":\"tone/4\""));
	g_assert_nonnull(strstr(text, "\"energy\":1234"));
	g_free(seen.leg);
	g_free(sum);
	run_free(&r);
}

/*
 * Yate's own conference room "yroom" (its chan.notify through our watch)
 * beside one of ours of the same name: each is tracked once, by its source,
 * and the engine's chan.notify for its room never counts as Yate's.
 */
static void test_yate_room_beside(void)
{
	struct run r;
	struct fx *fx = run_start(&r, NULL);
	const char *const yate[] = {
	        "targetid=conf-monitor/yroom:event=created:room=yroom:maxusers=5:caller=tone/busy",
	        "id=conf/1:targetid=conf-monitor/yroom:event=joined:room=yroom:users=1",
	        "targetid=conf-monitor/yroom:event=speaking:room=yroom:speaker.1=conf/1:"
	        "speaker.1.energy=22:speakers=1:changed=true",
	        "targetid=conf-monitor/yroom:event=speaking:room=yroom:speakers=0:changed=true",
	        "id=conf/1:targetid=conf-monitor/yroom:event=left:users=0:lastpeerid=tone/9",
	        "targetid=conf-monitor/yroom:event=destroyed:room=yroom",
	};
	GString *yate_lines = g_string_new(NULL), *own_lines = g_string_new(NULL);
	char **lines, *ysum, *osum;

	g_assert_nonnull(fx_join(fx, "yroom", "tone/4", 1, YROOM));
	for (unsigned i = 0; i < G_N_ELEMENTS(yate); i++) {
		struct ce_msg *m = fx_msg("chan.notify", yate[i]);

		r.now += G_USEC_PER_SEC;
		ce_bus_notify_uplink(fx->bus, m, false);
		ce_msg_unref(m);
	}
	lines = g_strsplit(run_stop(&r), "\n", -1);
	for (char **l = lines; *l && **l; l++)
		g_string_append_printf(
		        strstr(*l, "\"source\":\"yate\"") ? yate_lines : own_lines, "%s\n", *l);
	ysum = summary(yate_lines->str, "yate");
	osum = summary(own_lines->str, "engine");
	g_assert_cmpstr(ysum, ==,
	        "created -; enter conf/1; talk-start conf/1; talk-stop conf/1; leave conf/1; "
	        "cdr conf/1; destroyed -");
	g_assert_cmpstr(osum, ==, "created -; enter dumb/1; leave dumb/1; cdr dumb/1; destroyed -");
	g_assert_nonnull(strstr(yate_lines->str, "\"energy\":22"));
	g_strfreev(lines);
	g_string_free(yate_lines, TRUE);
	g_string_free(own_lines, TRUE);
	g_free(ysum);
	g_free(osum);
	run_free(&r);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/monitor/conference/own-room", test_own_room);
	g_test_add_func("/monitor/conference/drop-reason", test_drop_reason);
	g_test_add_func("/monitor/conference/talker-typed", test_talker_typed);
	g_test_add_func("/monitor/conference/yate-room-beside", test_yate_room_beside);
	return g_test_run();
}
