/* bench-admit.c - admission throughput: N callers join one scheduled conference at once */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "conf-engine/config.h"
#include "engine.h"
#include "message.h"
#include "modules/store/store.h"
#include "tests/testutil.h"

/*
 * Usage: bench-admit [CALLERS [PG_CONNINFO]]
 *
 * Starts the store and schedule modules (SQLite in a temp dir, or the
 * PostgreSQL database given; its tables are used as they are), schedules
 * one conference with PIN 1234, then dispatches CALLERS (1000) call.execute
 * callto=schedule/800 pin=1234 at once, as Yate would relay them, and
 * prints the time until the last was answered and the answer latency
 * percentiles.  DESIGN §5 asks for 1000 callers within one second, each
 * answered within 100 ms.
 */

struct call {
	gint64 t0, t1;
	bool admitted;
};

static unsigned pending;

static void answered(struct ce_msg *msg, bool handled, void *arg)
{
	struct call *c = arg;

	(void)handled;
	c->t1 = g_get_monotonic_time();
	c->admitted = g_str_has_prefix(ce_msg_get_def(msg, "callto", ""), "conf/");
	pending--;
}

static void put_done(int err, gint64 id, const GError *error, void *arg)
{
	(void)id;
	if (err < 0)
		g_error("cannot schedule: %s", error ? error->message : g_strerror(-err));
	*(bool *)arg = true;
}

static int cmp64(const void *a, const void *b)
{
	gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;

	return x < y ? -1 : x > y;
}

static struct ce_engine *start(const char *dir, const char *pg)
{
	const char *only[] = {"store", "schedule", NULL};
	char *text = pg ? g_strdup_printf("[store]\nbackend=postgresql\npg_conninfo=%s\n"
	                                  "spool_dir=%s/spool\nworkers=8\n",
	                          pg, dir)
	                : g_strdup_printf("[store]\nsqlite_path=%s/conf.db\nspool_dir=%s/spool\n"
	                                  "workers=8\n",
	                          dir, dir);
	struct ce_config *cfg;
	struct ce_engine *ce;

	if (ce_config_parse(&cfg, text, -1, "bench.conf", NULL) < 0 ||
	        ce_engine_new(&ce, cfg) < 0 || ce_engine_start(ce, only) < 0 || !ce_store_of(ce))
		g_error("cannot start the engine");
	g_free(text);
	return ce;
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 1000;
	const char *pg = argc > 2 ? argv[2] : NULL;
	char *dir = g_dir_make_tmp("ce-bench-admit-XXXXXX", NULL);
	struct ce_engine *ce;
	struct ce_conference *c = ce_conference_new();
	struct call *calls = g_new0(struct call, n ? n : 1);
	gint64 *lat = g_new0(gint64, n ? n : 1), t0, t1;
	unsigned ok = 0;
	bool done = false;

	ce = start(dir, pg);
	c->access_number = g_strdup("800");
	c->room = g_strdup_printf("bench-%u", g_random_int());
	c->pin = g_strdup("1234");
	c->starts_at = g_get_real_time() - (gint64)60 * G_USEC_PER_SEC;
	c->ends_at = c->starts_at + (gint64)3600 * G_USEC_PER_SEC;
	if (ce_store_put_conference(ce_store_of(ce), c, put_done, &done, NULL) < 0)
		g_error("cannot schedule the conference");
	while (!done)
		g_main_context_iteration(NULL, TRUE);
	t0 = g_get_monotonic_time();
	for (unsigned i = 0; i < n; i++) {
		struct ce_msg *m;
		ce_msg_new(&m, "call.execute");
		ce_msg_setf(m, "id", "sip/%u", i + 1);
		ce_msg_set(m, "callto", "schedule/800");
		ce_msg_set(m, "pin", "1234");
		calls[i].t0 = g_get_monotonic_time();
		pending++;
		ce_bus_dispatch_uplink(ce_engine_bus(ce), m, answered, &calls[i]);
		ce_msg_unref(m);
	}
	while (pending)
		g_main_context_iteration(NULL, TRUE);
	t1 = g_get_monotonic_time();
	for (unsigned i = 0; i < n; i++) {
		lat[i] = calls[i].t1 - calls[i].t0;
		ok += calls[i].admitted;
	}
	qsort(lat, n, sizeof(*lat), cmp64);
	printf("backend=%s callers=%u admitted=%u total_ms=%.1f latency_ms p50=%.2f p99=%.2f "
	       "max=%.2f\n",
	        pg ? "postgresql" : "sqlite", n, ok, (t1 - t0) / 1000.0, lat[n / 2] / 1000.0,
	        lat[n * 99 / 100] / 1000.0, lat[n - 1] / 1000.0);
	ce_engine_stop(ce);
	ce_engine_free(ce);
	ce_conference_unref(c);
	g_free(calls);
	g_free(lat);
	ce_test_rm_tree(dir);
	g_free(dir);
	return ok == n ? 0 : 1;
}
