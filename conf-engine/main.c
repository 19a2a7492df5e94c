/* main.c - conf-engine's entry point: options, configuration, logging, link, main loop */
#define G_LOG_DOMAIN "ce-main"

#ifdef HAVE_CONFIG_H
#include "ce-autoconf.h" /* PACKAGE_VERSION */
#endif

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>

#include "bus.h"
#include "config.h"
#include "console.h"
#include "engine.h"
#include "heap.h"
#include "link.h"
#include "log.h"
#include "yate.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif
#ifndef CE_SYSCONFDIR
#define CE_SYSCONFDIR "/etc/conf-engine"
#endif

#define QUIT_WAIT_MS 2000

/*
 * Exit codes: 0 clean stop, 1 start-up failure, 2 bad usage or configuration;
 * --check-config: 0 clean, 2 errors (a start would refuse), 3 warnings only
 * (a start would go on, ignoring what they name).
 */
enum {
	EXIT_OK = 0,
	EXIT_START = 1,
	EXIT_CONFIG = 2,
	EXIT_WARNINGS = 3,
};

struct app {
	GMainLoop *loop;
	struct ce_config *cfg;
	struct ce_engine *ce;
	struct ce_yate *y;
	struct ce_link *link;
	int code;
	bool code_set, stopping, done;
};

static char *opt_config;
static char *opt_connect;
static char *opt_log_level;
static gboolean opt_version;
static gboolean opt_check;

static const GOptionEntry options[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &opt_config,
                "Configuration file (default " CE_SYSCONFDIR "/conf-engine.conf if present)",
                "FILE"},
        {"connect", 0, 0, G_OPTION_ARG_STRING, &opt_connect,
                "Connect to Yate's extmodule listener instead of using stdin/stdout",
                "unix:PATH|tcp:HOST:PORT"},
        {"log-level", 'l', 0, G_OPTION_ARG_STRING, &opt_log_level,
                "Default log level: error, warn, note, info or debug", "LEVEL"},
        {"check-config", 0, 0, G_OPTION_ARG_NONE, &opt_check,
                "Load the configuration, report errors and exit", NULL},
        {"version", 'V', 0, G_OPTION_ARG_NONE, &opt_version, "Print the version and exit", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
};

/*
 * Yate's [scripts] runs "PATH=VALUE" as execl(PATH, PATH, VALUE, NULL): always
 * exactly one argument, the whole value, even when it is empty ("conf-engine="
 * gives argv[1] = "").  So a lone argument is split as a shell would split it;
 * an empty one means no options, and one that is not an option and holds no
 * quote is taken whole as the configuration file (so a path with spaces works
 * unquoted).  Returns a new string vector, or NULL with *why set when the
 * value cannot be split (an unbalanced quote).
 */
static char **yate_argv(int argc, char **argv, char **why)
{
	char **v = NULL;
	GError *err = NULL;
	int n = 0;

	if (argc != 2)
		return g_strdupv(argv);
	if (!argv[1][strspn(argv[1], " \t")]) {
		v = g_new0(char *, 2);
		v[0] = g_strdup(argv[0]);
	} else if (argv[1][0] != '-' && !strpbrk(argv[1], "'\"\\")) {
		v = g_new0(char *, 4);
		v[0] = g_strdup(argv[0]);
		v[1] = g_strdup("--config");
		v[2] = g_strdup(argv[1]);
	} else {
		char *line = g_strdup_printf("conf-engine %s", argv[1]);

		if (!g_shell_parse_argv(line, &n, &v, &err)) {
			*why = g_strdup_printf("cannot split the argument '%s' from Yate: %s",
			        argv[1], err->message);
			g_error_free(err);
			v = NULL;
		} else {
			g_free(v[0]);
			v[0] = g_strdup(argv[0]);
		}
		g_free(line);
	}
	return v;
}

static int parse_options(int argc, char **argv)
{
	GOptionContext *ctx = g_option_context_new("[CONFIG-FILE] - conference server for Yate");
	char *why = NULL;
	char **args = yate_argv(argc, argv, &why);
	GError *err = NULL;
	int r = 0;

	if (!args) {
		fprintf(stderr, "conf-engine: %s\n", why);
		g_free(why);
		g_option_context_free(ctx);
		return -EINVAL;
	}
	g_option_context_add_main_entries(ctx, options, NULL);
	g_option_context_set_description(ctx,
	        "Yate starts conf-engine as a global external module (extmodule.conf, [scripts])\n"
	        "and talks to it over stdin/stdout.  Signals: SIGTERM/SIGINT leave Yate cleanly.");
	if (!g_option_context_parse_strv(ctx, &args, &err)) {
		fprintf(stderr, "conf-engine: %s (try --help)\n", err->message);
		g_error_free(err);
		r = -EINVAL;
	} else if (args[1] && !args[2] && !opt_config) {
		/* one file name and no --config: the file is the configuration */
		opt_config = g_strdup(args[1]);
	} else if (args[1]) {
		fprintf(stderr, "conf-engine: unexpected argument '%s' (try --help)\n",
		        args[opt_config ? 1 : 2]);
		r = -EINVAL;
	}
	g_strfreev(args);
	g_option_context_free(ctx);
	return r;
}

/* --config, else the installed file if it exists, else built-in defaults. */
static int load_config(struct ce_config **cfgp)
{
	const char *path = opt_config;
	char *def = g_build_filename(CE_SYSCONFDIR, "conf-engine.conf", NULL);
	GError *err = NULL;
	int r;

	if (!path && g_file_test(def, G_FILE_TEST_EXISTS))
		path = def;
	if (path)
		r = ce_config_load(cfgp, path, &err);
	else
		r = ce_config_new_empty(cfgp);
	if (r < 0) {
		fprintf(stderr, "conf-engine: configuration error: %s\n",
		        err ? err->message : g_strerror(-r));
		g_clear_error(&err);
	}
	g_free(def);
	return r;
}

/*
 * [log] level=LEVEL and domain.NAME=LEVEL (the review refused bad ones, an
 * empty one is the default); --log-level overrides the default.
 */
static void apply_log_config(const struct ce_config *cfg)
{
	unsigned i, n = ce_config_n_entries(cfg, "log");
	enum ce_log_level level;

	for (i = 0; i < n; i++) {
		const struct ce_config_entry *e = ce_config_entry(cfg, "log", i);
		const char *domain = NULL;

		if (!strcmp(e->key, "level"))
			domain = "";
		else if (g_str_has_prefix(e->key, "domain.") && e->key[7])
			domain = e->key + 7;
		if (domain && ce_log_parse_level(e->value, &level) == 0)
			ce_log_set_level(domain, level);
	}
	if (opt_log_level && ce_log_parse_level(opt_log_level, &level) == 0)
		ce_log_set_level(NULL, level);
}

/* The command line's own values (the configuration's are reviewed with it). */
static int check_options(void)
{
	enum ce_log_level level;

	if (opt_log_level && ce_log_parse_level(opt_log_level, &level) < 0) {
		fprintf(stderr, "conf-engine: bad --log-level '%s'\n", opt_log_level);
		return -EINVAL;
	}
	if (opt_connect && *opt_connect && strcmp(opt_connect, "stdio") &&
	        !ce_link_spec_valid(opt_connect)) {
		fprintf(stderr,
		        "conf-engine: bad --connect '%s': expected unix:PATH or tcp:HOST:PORT\n",
		        opt_connect);
		return -EINVAL;
	}
	return 0;
}

/*
 * What a start finds wrong with the configuration, printed the same way
 * at a start and by --check-config: errors stop the start, warnings do
 * not.  Returns -EINVAL on errors, else the number of warnings.
 */
static int review(const struct ce_config *cfg)
{
	struct ce_config_report rep;
	unsigned i;
	int r;

	ce_config_report_init(&rep);
	r = ce_engine_check_config(cfg, &rep);
	for (i = 0; i < rep.errors->len; i++)
		fprintf(stderr, "conf-engine: configuration error: %s\n",
		        (char *)rep.errors->pdata[i]);
	for (i = 0; i < rep.warnings->len; i++)
		fprintf(stderr, "conf-engine: configuration warning: %s\n",
		        (char *)rep.warnings->pdata[i]);
	if (r == 0)
		r = (int)rep.warnings->len;
	ce_config_report_clear(&rep);
	return r;
}

/* --check-config's verdict, from review()'s. */
static int check_verdict(const struct ce_config *cfg, int reviewed)
{
	const char *path = ce_config_path(cfg) ? ce_config_path(cfg) : "(built-in defaults)";

	if (reviewed < 0)
		return EXIT_CONFIG;
	if (reviewed > 0) {
		fprintf(stderr, "conf-engine: configuration %s: %d warning%s\n", path, reviewed,
		        reviewed > 1 ? "s" : "");
		return EXIT_WARNINGS;
	}
	printf("conf-engine: configuration %s OK\n", path);
	return EXIT_OK;
}

static void link_opts(const struct ce_config *cfg, struct ce_link_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->reconnect_min = (unsigned)ce_config_get_int(
	        cfg, "general", "reconnect_min", CE_LINK_RECONNECT_MIN_DEFAULT, 10, 3600000);
	o->reconnect_max = (unsigned)ce_config_get_int(
	        cfg, "general", "reconnect_max", CE_LINK_RECONNECT_MAX_DEFAULT, 10, 3600000);
}

static void on_yate_quit(void *arg, int code)
{
	struct app *app = arg;

	if (!app->code_set) {
		app->code = code;
		app->code_set = true;
	}
	app->done = true; /* also when the loop does not run yet */
	g_main_loop_quit(app->loop);
}

/*
 * Modules stop while the link is still up, so that what they send on
 * their way out (call.drop for every leg) reaches Yate; then we leave Yate.
 */
static gboolean stop_idle(gpointer data)
{
	struct app *app = data;

	ce_engine_stop(app->ce);
	ce_yate_shutdown(app->y, QUIT_WAIT_MS);
	return G_SOURCE_REMOVE;
}

/* A module (or a signal) asks the engine to stop; a second request does not wait. */
static void stop(struct app *app, int code)
{
	if (!app->code_set) {
		app->code = code;
		app->code_set = true;
	}
	if (app->stopping) {
		app->done = true;
		g_main_loop_quit(app->loop);
		return;
	}
	app->stopping = true;
	/* not from inside the caller (a module's handler may be asking) */
	g_idle_add(stop_idle, app);
}

static void on_engine_quit(void *arg, int code)
{
	stop(arg, code);
}

static gboolean on_signal(gpointer data)
{
	struct app *app = data;

	g_message("signal received: leaving Yate");
	stop(app, EXIT_OK);
	return G_SOURCE_CONTINUE;
}

static void yate_status(struct ce_engine *ce, GString *out, void *arg)
{
	ce_yate_status(arg, out);
}

static int make_link(struct app *app)
{
	const char *spec =
	        opt_connect ? opt_connect : ce_config_get(app->cfg, "general", "connect", NULL);
	struct ce_link_opts o;
	GError *err = NULL;
	int r = 0;

	link_opts(app->cfg, &o);
	if (!spec || !*spec || !strcmp(spec, "stdio")) {
		ce_link_new_fds(
		        &app->link, STDIN_FILENO, STDOUT_FILENO, &o, ce_yate_link_ops(), app->y);
	} else if ((r = ce_link_new_connect(
	                    &app->link, spec, &o, ce_yate_link_ops(), app->y, &err)) < 0) {
		fprintf(stderr, "conf-engine: %s\n", err->message);
		g_error_free(err);
		return r;
	}
	ce_yate_attach(app->y, app->link);
	return 0;
}

static int run(struct app *app)
{
	const char *log_to = ce_config_get(app->cfg, "general", "log_to", "stderr");
	guint sig_term, sig_int;
	int r;

	app->loop = g_main_loop_new(NULL, FALSE);
	if ((r = ce_engine_new(&app->ce, app->cfg)) < 0) {
		g_critical("cannot create the engine: %s", g_strerror(-r));
		return EXIT_START;
	}
	ce_yate_new(&app->y, ce_engine_bus(app->ce), app->cfg);
	ce_yate_set_quit_handler(app->y, on_yate_quit, app);
	ce_engine_set_quit_handler(app->ce, on_engine_quit, app);
	ce_console_add_status(app->ce, "yate", yate_status, app->y);
	ce_console_add_status(app->ce, "heap", ce_heap_status, NULL);
	if (make_link(app) < 0)
		return EXIT_CONFIG;
	/*
	 * The session starts before the modules: Yate restarts a restarted
	 * module only if it asks again, so the engine asks (setlocal
	 * restart=true) before anything a module meets at start can stop it.
	 * What can stop it there cannot work on a retry either (a corrupt
	 * database, a port taken): it takes the request back, so that Yate
	 * does not restart it in a loop.  A database that is only away or
	 * locked does not stop a start: the store starts down and retries.
	 */
	ce_yate_hold(app->y, true);
	ce_link_start(app->link);
	if ((r = ce_engine_start(app->ce, NULL)) < 0) {
		g_critical("modules failed to start: %s", g_strerror(-r));
		ce_yate_set_restart(app->y, false);
		return EXIT_START;
	}
	ce_yate_hold(app->y, false);
	if (!strcmp(log_to, "yate"))
		ce_yate_log_to_link(app->y, true);
	g_message("conf-engine %s starting, link %s", PACKAGE_VERSION, ce_link_spec(app->link));
	sig_term = g_unix_signal_add(SIGTERM, on_signal, app);
	sig_int = g_unix_signal_add(SIGINT, on_signal, app);
	if (!app->done)
		g_main_loop_run(app->loop);
	g_source_remove(sig_term);
	g_source_remove(sig_int);
	g_message("conf-engine stopping");
	return app->code;
}

/*
 * The session goes first, so that modules still running (when Yate went
 * away) get their failed sends; then the modules stop.
 */
static void teardown(struct app *app)
{
	if (app->ce && app->y) {
		ce_console_remove_status(app->ce, "yate");
		ce_console_remove_status(app->ce, "heap");
	}
	g_clear_pointer(&app->y, ce_yate_free);
	g_clear_pointer(&app->link, ce_link_free);
	if (app->ce) {
		ce_engine_stop(app->ce);
		ce_engine_free(app->ce);
	}
	if (app->loop)
		g_main_loop_unref(app->loop);
}

int main(int argc, char **argv)
{
	struct app app = {0};
	int code;

	signal(SIGPIPE, SIG_IGN);
	/* a file size limit (ulimit -f) fails a write with EFBIG instead of killing us */
	signal(SIGXFSZ, SIG_IGN);
	ce_log_init();
	if (parse_options(argc, argv) < 0)
		return EXIT_CONFIG;
	if (opt_version) {
		printf("conf-engine %s\n", PACKAGE_VERSION);
		return EXIT_OK;
	}
	if (load_config(&app.cfg) < 0 || check_options() < 0) {
		code = EXIT_CONFIG;
	} else if (opt_check) {
		code = check_verdict(app.cfg, review(app.cfg));
	} else if (review(app.cfg) < 0) {
		code = EXIT_CONFIG;
	} else {
		apply_log_config(app.cfg);
		code = run(&app);
		teardown(&app);
		app.cfg = NULL; /* the engine took it */
	}
	if (app.cfg)
		ce_config_free(app.cfg);
	g_free(opt_config);
	g_free(opt_connect);
	g_free(opt_log_level);
	return code;
}
