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

/*
 * Two callers in one of our rooms, one talks, the other talks, is muted,
 * unmuted, talks and hangs up while talking, then the first hangs up: every chan.notify the room
 * sends is seen once, at once, although it also travels to "Yate" (whose answers come later).
 */
static void test_own_room(void)
{
	char *dir = g_dir_make_tmp("monitor-conf-XXXXXX", NULL);
	char *log = g_build_filename(dir, "events.jsonl", NULL);
	const char *const only[] = {"monitor", NULL};
	struct fx *fx = g_new0(struct fx, 1);
	struct ce_engine *ce;
	struct ce_config *cfg;
	struct ce_leg *a, *b;
	char *text = NULL, *sum;
	gint64 now = (gint64)1795326783 * G_USEC_PER_SEC;

	ce_config_new_empty(&cfg);
	ce_config_set(cfg, "monitor", "event_log", log);
	ce_config_set(cfg, "monitor", "cdr_delay", "0");
	g_assert_cmpint(ce_engine_new(&ce, cfg), ==, 0);
	ce_engine_set_clock(ce, engine_clock, &now);
	fx->bus = ce_engine_bus(ce);
	ce_bus_set_uplink(fx->bus, &fx_uplink, fx);
	g_assert_cmpint(ce_engine_start(ce, only), ==, 0);
	g_assert_cmpint(ce_config_parse(&fx->cfg, "", -1, "test.conf", NULL), ==, 0);
	fx->sent = g_ptr_array_new_with_free_func(g_free);
	fx->now = 1000000000;
	g_assert_cmpint(ce_conf_new(&fx->conf, fx->bus, fx->cfg, &fx_media_ops, fx), ==, 0);
	fx->conf->clock = fx_clock;
	fx->conf->clock_arg = fx;

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

	ce_engine_free(ce);
	ce_config_free(fx->cfg);
	g_ptr_array_free(fx->sent, TRUE);
	g_free(fx->record);
	g_free(fx);
	g_free(text);
	g_free(sum);
	g_unlink(log);
	g_rmdir(dir);
	g_free(log);
	g_free(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/monitor/conference/own-room", test_own_room);
	return g_test_run();
}
