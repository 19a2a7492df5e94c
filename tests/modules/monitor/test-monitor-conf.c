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

/* An engine with the monitor (logging to @log, CDRs at once) and our conference on its bus. */
static struct ce_engine *monitor_engine(struct fx *fx, const char *log, gint64 *now)
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

/*
 * Two callers in one of our rooms, one talks, the other talks, is muted,
 * unmuted, talks and hangs up while talking, then the first hangs up: every chan.notify the room
 * sends is seen once, at once, although it also travels to "Yate" (whose answers come later).
 */
static void test_own_room(void)
{
	char *dir = g_dir_make_tmp("monitor-conf-XXXXXX", NULL);
	char *log = g_build_filename(dir, "events.jsonl", NULL);
	struct fx *fx = g_new0(struct fx, 1);
	struct ce_engine *ce;
	struct ce_leg *a, *b;
	char *text = NULL, *sum;
	gint64 now = (gint64)1795326783 * G_USEC_PER_SEC;

	ce = monitor_engine(fx, log, &now);

	a = fx_join(fx, "yroom", "tone/4", 1, YROOM);
	now += G_USEC_PER_SEC;
	b = fx_join(fx, "yroom", "tone/5", 2, YROOM);
	g_assert_nonnull(a);
	g_assert_nonnull(b);
	now += G_USEC_PER_SEC;
	ce_leg_talking(a, true, 1234);
	now += G_USEC_PER_SEC;
	ce_leg_talking(a, false, 0);
	ce_leg_talking(b, true, 99);
	ce_leg_set_muted(b, true); /* a muted leg stops talking */
	ce_leg_talking(b, true, 98);
	ce_leg_set_muted(b, false);
	ce_leg_talking(b, true, 77); /* and hangs up while talking */
	now += G_USEC_PER_SEC;
	fx_watch(fx, "chan.hangup", "id=dumb/2:module=dumb:status=answered:reason=busy", false);
	fx_flush(fx);
	now += G_USEC_PER_SEC;
	fx_watch(fx, "chan.hangup", "id=dumb/1:module=dumb:status=answered", false);
	fx_flush(fx);

	ce_conf_free(fx->conf);
	fx_flush(fx);
	ce_engine_stop(ce); /* the event log is complete once the monitor stopped */
	g_assert_true(g_file_get_contents(log, &text, NULL, NULL));
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

	monitor_engine_free(ce, fx);
	g_free(text);
	g_free(sum);
	g_unlink(log);
	g_rmdir(dir);
	g_free(log);
	g_free(dir);
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
	char *dir = g_dir_make_tmp("monitor-conf-XXXXXX", NULL);
	char *log = g_build_filename(dir, "events.jsonl", NULL);
	struct fx *fx = g_new0(struct fx, 1);
	gint64 now = (gint64)1795326783 * G_USEC_PER_SEC;
	struct ce_engine *ce = monitor_engine(fx, log, &now);
	struct ce_msg *drop = fx_msg("call.drop", "id=conf/yroom:reason=schedule-ended");
	char *text = NULL;

	g_assert_nonnull(fx_join(fx, "yroom", "tone/4", 1, YROOM));
	g_assert_nonnull(fx_join(fx, "yroom", "tone/5", 2, YROOM));
	now += G_USEC_PER_SEC;
	ce_bus_dispatch(fx->bus, drop, NULL, NULL);
	fx_flush(fx);
	/* a leg's own call.drop: dumb/4, left alone (lonely=true), at shutdown */
	g_assert_nonnull(fx_join(fx, "other", "tone/6", 3, YROOM));
	g_assert_nonnull(fx_join(fx, "other", "tone/7", 4, YROOM));
	now += G_USEC_PER_SEC;
	fx_watch(fx, "chan.hangup", "id=dumb/3:module=dumb:status=answered:reason=busy", false);
	fx_flush(fx);
	ce_conf_free(fx->conf);
	fx_flush(fx);
	ce_engine_stop(ce);
	g_assert_true(g_file_get_contents(log, &text, NULL, NULL));
	count_lines(text, "\"reason\":\"schedule-ended\"", 4); /* 2 leave + 2 CDRs */
	count_lines(text, "\"reason\":\"left\"", 0);
	count_lines(text, "\"reason\":\"busy\"", 2);     /* dumb/3 hung up */
	count_lines(text, "\"reason\":\"shutdown\"", 2); /* dumb/4 */

	ce_msg_unref(drop);
	monitor_engine_free(ce, fx);
	g_free(text);
	g_unlink(log);
	g_rmdir(dir);
	g_free(log);
	g_free(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/monitor/conference/own-room", test_own_room);
	g_test_add_func("/monitor/conference/drop-reason", test_drop_reason);
	return g_test_run();
}
