/* bench-store.c - 1,000 callers admitted to one scheduled conference within a second, per backend
 */

/*
 * For each backend (SQLite always; PostgreSQL when CE_TEST_PG_CONNINFO is
 * set, so run it as "tests/pg-harness.sh bench/bench-store"), schedule one
 * conference, then issue N admissions (access number + PIN) evenly spread
 * over T seconds from the main loop, each followed by its "enter" event and
 * a live-room update, as the schedule module will do.  The latency of an
 * admission is from its planned issue time to its callback on the main
 * loop.  Prints percentiles and how many were answered within 100 ms.
 *
 * Then, with the database down (a PostgreSQL address that takes the TCP
 * connection and never answers): how long the store's start takes
 * (connect_timeout_ms 200, query_timeout_ms 3000: it should end soon after
 * the first) and how soon an admission is answered "unavailable"; the
 * tests check that it is, this measures when.
 *
 *   bench/bench-store [-n CALLERS] [-t SECONDS] [-w WORKERS]
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <glib/gstdio.h>

#include "modules/store/store.h"

struct bench {
	struct ce_store *st;
	GMainContext *ctx;
	gint64 *lat;
	int answered;
	int ok;
};

struct call {
	struct bench *b;
	gint64 planned;
	int i;
};

static void admitted(const struct ce_admission *a, void *arg)
{
	struct call *c = arg;
	struct bench *b = c->b;
	struct ce_event ev = {.kind = CE_EVENT_ENTER, .room = "bench", .at = g_get_real_time()};
	struct ce_room_live live = {.room = "bench", .started_at = ev.at, .updated_at = ev.at};
	char leg[32];

	b->lat[c->i] = g_get_monotonic_time() - c->planned;
	b->answered++;
	if (a->result != CE_ADMIT_OK)
		return;
	b->ok++;
	g_snprintf(leg, sizeof(leg), "dumb/%d", c->i);
	ev.leg = leg;
	ev.conference_id = a->conference->id;
	ce_store_add_event(b->st, &ev);
	live.conference_id = a->conference->id;
	live.participants = b->ok;
	ce_store_room_live(b->st, &live);
}

static void put_done(int err, gint64 id, const GError *error, void *arg)
{
	if (err < 0) {
		fprintf(stderr, "bench-store: scheduling failed: %s\n",
		        error ? error->message : "?");
		exit(1);
	}
	*(gint64 *)arg = id;
}

static void flushed(void *arg)
{
	*(bool *)arg = true;
}

static void run_until(struct bench *b, const int *counter, int target, const bool *flag)
{
	gint64 end = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

	while ((counter && *counter < target) || (flag && !*flag)) {
		if (!g_main_context_iteration(b->ctx, FALSE))
			g_usleep(100);
		if (g_get_monotonic_time() > end) {
			fprintf(stderr, "bench-store: no progress within 60 s\n");
			exit(1);
		}
	}
}

static int cmp64(const void *a, const void *b)
{
	gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;

	return x < y ? -1 : x > y;
}

static double pct(const gint64 *sorted, int n, double p)
{
	int i = (int)(p / 100.0 * (n - 1) + 0.5);

	return sorted[i] / 1000.0;
}

static void schedule(struct bench *b)
{
	struct ce_conference *c = ce_conference_new();
	gint64 id = 0, now = g_get_real_time();

	c->access_number = g_strdup("800");
	c->room = g_strdup("bench");
	c->pin = g_strdup("1234");
	c->moderator_pin = g_strdup("4321");
	c->starts_at = now - 60 * G_USEC_PER_SEC;
	c->ends_at = now + 3600 * (gint64)G_USEC_PER_SEC;
	ce_store_put_conference(b->st, c, put_done, &id, NULL);
	ce_conference_unref(c);
	while (!id)
		g_main_context_iteration(b->ctx, TRUE);
}

/* Issues @n admissions at their planned times over @secs seconds. */
static void flood(struct bench *b, struct call *calls, int n, double secs)
{
	gint64 start = g_get_monotonic_time() + 10000;
	int issued = 0;

	for (int i = 0; i < n; i++)
		calls[i].planned = start + (gint64)(secs * 1e6 * i / n);

	while (issued < n) {
		gint64 now = g_get_monotonic_time();
		while (issued < n && calls[issued].planned <= now) {
			struct call *c = &calls[issued];
			ce_store_admit(b->st, "800", issued % 10 ? "1234" : "4321", NULL,
			        g_get_real_time(), admitted, c, NULL);
			issued++;
		}
		if (!g_main_context_iteration(b->ctx, FALSE))
			g_usleep(100);
	}
}

static int bench_one(const char *name, struct ce_store_options *o, int n, double secs)
{
	struct bench b = {0};
	struct call *calls = g_new0(struct call, n);
	GError *err = NULL;
	bool done = false;
	int within = 0;

	b.ctx = g_main_context_ref_thread_default();
	b.lat = g_new0(gint64, n);
	if (ce_store_new(&b.st, o, b.ctx, &err) < 0) {
		fprintf(stderr, "bench-store: %s: %s\n", name, err->message);
		return 1;
	}
	schedule(&b);
	for (int i = 0; i < n; i++) {
		calls[i].b = &b;
		calls[i].i = i;
	}
	flood(&b, calls, n, secs);
	run_until(&b, &b.answered, n, NULL);
	ce_store_flush(b.st, flushed, &done, NULL);
	run_until(&b, NULL, 0, &done);
	qsort(b.lat, (size_t)n, sizeof(gint64), cmp64);
	for (int i = 0; i < n; i++)
		within += b.lat[i] <= 100000;
	printf("%-10s %d admissions over %.2f s: admitted=%d  latency ms p50=%.2f p90=%.2f "
	       "p99=%.2f max=%.2f  within 100 ms: %d/%d\n",
	        name, n, secs, b.ok, pct(b.lat, n, 50), pct(b.lat, n, 90), pct(b.lat, n, 99),
	        b.lat[n - 1] / 1000.0, within, n);
	ce_store_free(b.st);
	g_main_context_unref(b.ctx);
	g_free(b.lat);
	g_free(calls);
	return within == n && b.ok == n ? 0 : 2;
}

static void admitted_down(const struct ce_admission *a, void *arg)
{
	gint64 *answered = arg;

	answered[0] = g_get_monotonic_time();
	answered[1] = a->result;
}

/* A TCP listener on 127.0.0.1 that never accepts nor answers; *@port is its port. */
static int silent_listener(int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0 ||
	        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		perror("bench-store: silent listener");
		exit(1);
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* The start on a silent PostgreSQL server, and an admission then. */
static int bench_down(struct ce_store_options o)
{
	GMainContext *ctx = g_main_context_ref_thread_default();
	struct ce_store *st;
	GError *err = NULL;
	gint64 t0, started, answered[2] = {0, -1};
	int port, fd = silent_listener(&port), rc = 0;
	char *conninfo = g_strdup_printf(
	        "host=127.0.0.1 port=%d dbname=none connect_timeout=60 sslmode=disable", port);

	o.backend = CE_STORE_POSTGRESQL;
	o.pg_conninfo = conninfo;
	o.query_timeout_ms = 3000;
	o.connect_timeout_ms = 200;
	t0 = g_get_monotonic_time();
	if (ce_store_new(&st, &o, ctx, &err) < 0) {
		fprintf(stderr, "bench-store: down: %s\n", err->message);
		rc = 1;
		goto out;
	}
	started = g_get_monotonic_time();
	ce_store_admit(st, "800", "1234", NULL, g_get_real_time(), admitted_down, answered, NULL);
	while (!answered[0] && g_get_monotonic_time() < started + 60 * G_USEC_PER_SEC)
		if (!g_main_context_iteration(ctx, FALSE))
			g_usleep(100);
	printf("down       start %.0f ms (connect_timeout_ms 200, query_timeout_ms 3000)  "
	       "admission answered %s in %.2f ms\n",
	        (started - t0) / 1000.0,
	        answered[1] == CE_ADMIT_UNAVAILABLE ? "unavailable" : "otherwise (wrong)",
	        answered[0] ? (answered[0] - started) / 1000.0 : -1.0);
	rc = answered[1] == CE_ADMIT_UNAVAILABLE ? 0 : 2;
	ce_store_free(st);
out:
	close(fd);
	g_free(conninfo);
	g_main_context_unref(ctx);
	return rc;
}

int main(int argc, char **argv)
{
	int n = 1000, workers = 4, opt, rc = 0;
	double secs = 1.0;
	char *dir = g_dir_make_tmp("bench-store-XXXXXX", NULL);
	char *db = g_build_filename(dir, "conf.db", NULL);
	char *spool = g_build_filename(dir, "spool", NULL);
	char *cmd;
	struct ce_store_options o = {.sqlite_path = db, .spool_dir = spool, .node = "bench"};

	while ((opt = getopt(argc, argv, "n:t:w:")) != -1) {
		if (opt == 'n')
			n = MAX(1, atoi(optarg));
		else if (opt == 't')
			secs = MAX(0.001, atof(optarg));
		else if (opt == 'w')
			workers = MAX(1, atoi(optarg));
		else
			return 2;
	}
	o.workers = (unsigned)workers;
	o.backend = CE_STORE_SQLITE;
	rc |= bench_one("sqlite", &o, n, secs);
	o.pg_conninfo = g_getenv("CE_TEST_PG_CONNINFO");
	if (o.pg_conninfo) {
		o.backend = CE_STORE_POSTGRESQL;
		rc |= bench_one("postgresql", &o, n, secs);
	} else {
		printf("postgresql skipped: CE_TEST_PG_CONNINFO is not set "
		       "(run: tests/pg-harness.sh bench/bench-store)\n");
	}
	rc |= bench_down(o);
	cmd = g_strdup_printf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench-store: could not remove %s\n", dir);
	g_free(cmd);
	g_free(db);
	g_free(spool);
	g_free(dir);
	return rc;
}
