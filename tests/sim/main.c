/* main.c - yate-sim: run a scenario against an external module as Yate would */
/*
 *   yate-sim [options] SCENARIO [-- MODULE [ARGS...]]
 *
 * Starts MODULE (conf-engine) as Yate's extmodule starts a global script,
 * and/or listens for modules that connect (--listen), waits until the
 * module has finished its start-up burst of install/watch lines, runs the
 * scenario, hangs up every phone, closes the module's input and waits
 * (bounded) for it to exit.
 *
 * Exit status: 0 all well; 1 an expectation failed; 2 the module misbehaved
 * (crashed, hung, flooded, sent garbage, let a message time out) or did not
 * come up; 3 bad usage or scenario.
 */
#define G_LOG_DOMAIN "sim"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <glib-unix.h>

#include "sim.h"

struct opts {
	char *events, *transcript, *listen, *localip, *allow;
	int timeout_ms, max_queue, flood;
	double ready_quiet, ready_max, max_time;
	gboolean timebomb, verbose, no_wait, rtp_shared, forward, forward_sdp;
};

static GPtrArray *failures;

static void note(struct sim *s, const char *kind, const char *what, const char *fmt, va_list ap)
{
	char *t = g_strdup_vprintf(fmt, ap);

	ce_sim_event(s, kind, "\"what\":%s,\"text\":%s", ce_sim_json(what), ce_sim_json(t));
	g_ptr_array_add(failures, g_strdup_printf("%s: %s", what, t));
	g_free(t);
}

/** Something the scenario expected did not happen: the run fails (status 1). */
void ce_sim_fail(struct sim *s, const char *what, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	note(s, "failure", what, fmt, ap);
	va_end(ap);
	s->failures++;
}

/**
 * The module misbehaved (@what: crash, hang, timeout, garbage, flood,
 * stuck, connect, spawn): the run fails with status 2 unless --allow lists it.
 */
void ce_sim_problem(struct sim *s, const char *what, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (s->allow && g_strv_contains((const char *const *)s->allow, what)) {
		char *t = g_strdup_vprintf(fmt, ap);
		ce_sim_event(s, "problem", "\"what\":%s,\"text\":%s,\"allowed\":true",
		        ce_sim_json(what), ce_sim_json(t));
		g_free(t);
	} else {
		note(s, "problem", what, fmt, ap);
		s->problems++;
	}
	va_end(ap);
}

static gboolean quit_modules_cb(gpointer data)
{
	struct sim *s = data;

	s->stop_src = 0;
	ce_sim_mod_quit_all(s);
	if (ce_sim_mods_gone(s))
		g_main_loop_quit(s->loop);
	return G_SOURCE_REMOVE;
}

/**
 * Wind down: hang up every phone, give the messages half a second, close
 * the modules' input; the loop ends when every module is gone.
 */
void ce_sim_stop(struct sim *s)
{
	if (s->stopping) {
		if (ce_sim_mods_gone(s) && !s->stop_src)
			g_main_loop_quit(s->loop);
		return;
	}
	s->stopping = true;
	ce_sim_hangup(s, "all", NULL);
	s->stop_src = g_timeout_add(500, quit_modules_cb, s);
}

/* Yate's engine.timer: once a second, to every handler (broadcast). */
static gboolean engine_timer_cb(gpointer data)
{
	struct sim *s = data;
	struct ce_msg *m;

	ce_msg_new(&m, "engine.timer");
	ce_msg_setf(m, "time", "%" G_GUINT64_FORMAT, (guint64)m->time);
	ce_msg_add(m, "nodename", "yate-sim");
	ce_sim_enqueue(s, m);
	return G_SOURCE_CONTINUE;
}

static gboolean watchdog_cb(gpointer data)
{
	struct sim *s = data;

	s->watchdog_src = 0;
	ce_sim_problem(s, "hang", "the run did not finish within its time limit; giving up");
	ce_sim_mod_free_all(s);
	g_main_loop_quit(s->loop);
	return G_SOURCE_REMOVE;
}

static gboolean signal_cb(gpointer data)
{
	struct sim *s = data;

	ce_sim_fail(s, "signal", "interrupted");
	ce_sim_stop(s);
	return G_SOURCE_CONTINUE;
}

/* ---- start-up: wait until the module is quiet -------------------------- */

static gboolean ready_cb(gpointer data)
{
	struct sim *s = data;
	double now = ce_sim_now(s);

	if (s->started)
		return G_SOURCE_REMOVE;
	if (!s->mods && s->engine_argv && now > 0.1) {
		ce_sim_problem(s, "spawn", "the module went away before the scenario started");
		ce_sim_stop(s);
		return G_SOURCE_REMOVE;
	}
	if ((s->engine_argv || s->listen_fd > 0) && now < s->ready_max &&
	        (!s->last_line_at || now - s->last_line_at < s->ready_quiet))
		return G_SOURCE_CONTINUE;
	if (!s->last_line_at && (s->engine_argv || s->listen_fd > 0))
		ce_sim_problem(s, "startup", "the module said nothing within %.1f s", s->ready_max);
	s->started = true;
	ce_sim_scenario_start(s);
	return G_SOURCE_REMOVE;
}

/* ---- options -------------------------------------------------------------- */

static int parse_opts(struct sim *s, struct opts *o, int *argc, char ***argv, char **scenario)
{
	GOptionEntry entries[] = {
	        {"events", 'e', 0, G_OPTION_ARG_FILENAME, &o->events,
	                "write the event log (JSON lines) to FILE, - for stdout", "FILE"},
	        {"transcript", 't', 0, G_OPTION_ARG_FILENAME, &o->transcript,
	                "write every protocol line as E:/A: to FILE", "FILE"},
	        {"listen", 'l', 0, G_OPTION_ARG_STRING, &o->listen,
	                "accept modules on unix:PATH or tcp:HOST:PORT", "SPEC"},
	        {"timeout", 0, 0, G_OPTION_ARG_INT, &o->timeout_ms,
	                "message timeout in ms (Yate's default 10000)", "MS"},
	        {"timebomb", 0, 0, G_OPTION_ARG_NONE, &o->timebomb,
	                "drop a module that lets a message time out", NULL},
	        {"max-queue", 0, 0, G_OPTION_ARG_INT, &o->max_queue,
	                "messages in flight to one module (1000)", "N"},
	        {"flood", 0, 0, G_OPTION_ARG_INT, &o->flood,
	                "lines per second from a module that count as a flood (50000)", "N"},
	        {"allow", 0, 0, G_OPTION_ARG_STRING, &o->allow,
	                "problems that do not fail the run, e.g. timeout,garbage", "LIST"},
	        {"local-ip", 0, 0, G_OPTION_ARG_STRING, &o->localip,
	                "address of the RTP endpoints (127.0.0.1)", "IP"},
	        {"ready-quiet", 0, 0, G_OPTION_ARG_DOUBLE, &o->ready_quiet,
	                "start the scenario once the module was quiet this long (0.3 s)", "S"},
	        {"ready-max", 0, 0, G_OPTION_ARG_DOUBLE, &o->ready_max,
	                "start the scenario at the latest after this long (10 s)", "S"},
	        {"max-time", 0, 0, G_OPTION_ARG_DOUBLE, &o->max_time,
	                "hard limit of the whole run (scenario end + 30 s)", "S"},
	        {"rtp-shared", 0, 0, G_OPTION_ARG_NONE, &o->rtp_shared,
	                "load mode: one RTP socket for all legs, each on its own 127.1.x.y address",
	                NULL},
	        {"forward", 0, 0, G_OPTION_ARG_NONE, &o->forward,
	                "callers offer RTP forwarding (media bypass) unless forward=no", NULL},
	        {"forward-sdp", 0, 0, G_OPTION_ARG_NONE, &o->forward_sdp,
	                "as ysipchan's forward_sdp=yes: forwarding callers' SDP goes whole as "
	                "sdp_raw",
	                NULL},
	        {"verbose", 'v', 0, G_OPTION_ARG_NONE, &o->verbose,
	                "copy the module's stderr to ours", NULL},
	        {NULL}};
	GOptionContext *ctx = g_option_context_new("SCENARIO [-- MODULE [ARGS...]]");
	GError *err = NULL;
	int i, sep = -1;

	for (i = 1; i < *argc; i++) {
		if (!strcmp((*argv)[i], "--")) {
			sep = i;
			break;
		}
	}
	if (sep > 0) {
		s->engine_argv = g_strdupv(*argv + sep + 1);
		*argc = sep;
	}
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_summary(ctx, "A Yate stand-in: runs a scenario of calls against an "
	                                  "external module.\nSee docs/simulator.md.");
	if (!g_option_context_parse(ctx, argc, argv, &err) || *argc != 2) {
		fprintf(stderr, "yate-sim: %s\n",
		        err ? err->message : "one SCENARIO file is needed");
		g_clear_error(&err);
		g_option_context_free(ctx);
		return -EINVAL;
	}
	g_option_context_free(ctx);
	*scenario = (*argv)[1];
	if (s->engine_argv && !s->engine_argv[0])
		g_clear_pointer(&s->engine_argv, g_strfreev);
	return 0;
}

static int setup(struct sim *s, struct opts *o, const char *scenario)
{
	GError *err = NULL;
	struct sim_mod *mod;

	if (o->timeout_ms > 0)
		s->mod_opts.timeout_ms = (unsigned)o->timeout_ms;
	if (o->max_queue > 0)
		s->mod_opts.max_queue = (unsigned)o->max_queue;
	s->mod_opts.timebomb = o->timebomb;
	if (o->flood > 0)
		s->flood_lines = (unsigned)o->flood;
	if (o->allow)
		s->allow = g_strsplit(o->allow, ",", -1);
	s->verbose = o->verbose;
	s->rtp_shared = o->rtp_shared;
	s->forward = o->forward;
	s->forward_sdp = o->forward_sdp;
	s->ready_quiet = o->ready_quiet > 0 ? o->ready_quiet : 0.3;
	s->ready_max = o->ready_max > 0 ? o->ready_max : 10;
	if (o->localip)
		s->localip = g_strdup(o->localip);
	if (o->events && ce_sim_evlog_open(s, o->events, &err) < 0)
		goto fail;
	if (o->transcript && !(s->transcript = fopen(o->transcript, "w"))) {
		fprintf(stderr, "yate-sim: %s: %s\n", o->transcript, g_strerror(errno));
		return -EIO;
	}
	if (ce_sim_scenario_load(s, scenario, &err) < 0)
		goto fail;
	if (o->listen && ce_sim_mod_listen(s, o->listen, &err) < 0)
		goto fail;
	if (s->engine_argv && ce_sim_mod_spawn(s, &mod, s->engine_argv, &err) < 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "yate-sim: %s\n", err->message);
	g_error_free(err);
	return -EINVAL;
}

static void sim_init(struct sim *s)
{
	s->t0 = g_get_monotonic_time();
	s->loop = g_main_loop_new(NULL, FALSE);
	s->handlers = g_ptr_array_new();
	g_queue_init(&s->enqueued);
	s->mod_opts.timeout_ms = 10000;
	s->mod_opts.max_queue = 1000;
	s->flood_lines = 50000;
	s->listen_fd = -1;
	s->clock_fd = -1;
	s->runid = (unsigned)time(NULL);
	s->localip = g_strdup("127.0.0.1");
	s->states = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	ce_sim_chans_init(s);
	ce_sim_drivers_init(s);
}

static void sim_fini(struct sim *s)
{
	ce_sim_mod_free_all(s);
	ce_sim_scenario_free(s);
	ce_sim_chans_fini(s);
	ce_sim_dispatch_free_all(s);
	ce_sim_drivers_fini(s);
	ce_sim_conf_fini(s);
	while (s->legs)
		ce_sim_leg_free(s->legs->data);
	ce_sim_rtp_stop_clock(s);
	ce_sim_rtp_shared_free(s);
	g_ptr_array_unref(s->handlers);
	g_hash_table_destroy(s->states);
	if (s->history)
		g_ptr_array_unref(s->history);
	g_strfreev(s->engine_argv);
	g_strfreev(s->allow);
	g_free(s->localip);
	ce_sim_audio_cache_clear();
	g_main_loop_unref(s->loop);
}

static int summary(struct sim *s)
{
	unsigned i;
	int code = s->failures ? 1 : 0;

	if (s->problems)
		code = 2;
	ce_sim_event(s, "end",
	        "\"ok\":%s,\"failures\":%u,\"problems\":%u,\"dispatched\":%" G_GUINT64_FORMAT
	        ",\"ticks\":%" G_GUINT64_FORMAT ",\"late_ticks\":%" G_GUINT64_FORMAT
	        ",\"lost_ticks\":%" G_GUINT64_FORMAT ",\"yrtp_sessions\":%" G_GUINT64_FORMAT
	        ",\"yrtp_max\":%u",
	        code ? "false" : "true", s->failures, s->problems, s->dispatched, s->ticks,
	        s->late_ticks, s->lost_ticks, s->yrtp_created, s->yrtp_max);
	for (i = 0; i < failures->len; i++)
		fprintf(stderr, "yate-sim: %s\n", (char *)failures->pdata[i]);
	fprintf(stderr, "yate-sim: %s (%" G_GUINT64_FORMAT " messages dispatched)\n",
	        code ? "FAILED" : "ok", s->dispatched);
	return code;
}

int main(int argc, char **argv)
{
	struct sim sim = {0}, *s = &sim;
	struct opts o = {0};
	char *scenario = NULL;
	int code;

	signal(SIGPIPE, SIG_IGN);
	failures = g_ptr_array_new_with_free_func(g_free);
	sim_init(s);
	if (parse_opts(s, &o, &argc, &argv, &scenario) < 0 || setup(s, &o, scenario) < 0) {
		code = 3;
		goto out;
	}
	g_timeout_add(20, ready_cb, s);
	s->watchdog_src = g_timeout_add(
	        (guint)((o.max_time > 0 ? o.max_time : s->end_at + s->ready_max + 30) * 1000),
	        watchdog_cb, s);
	s->timer_src = g_timeout_add_seconds(1, engine_timer_cb, s);
	g_unix_signal_add(SIGINT, signal_cb, s);
	g_unix_signal_add(SIGTERM, signal_cb, s);
	g_main_loop_run(s->loop);
	code = summary(s);
out:
	if (s->watchdog_src)
		g_source_remove(s->watchdog_src);
	if (s->stop_src)
		g_source_remove(s->stop_src);
	if (s->timer_src)
		g_source_remove(s->timer_src);
	sim_fini(s);
	ce_sim_evlog_close(s);
	g_free(o.events);
	g_free(o.transcript);
	g_free(o.listen);
	g_free(o.localip);
	g_free(o.allow);
	g_ptr_array_unref(failures);
	return code;
}
