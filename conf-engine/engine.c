/* engine.c - the engine context: built-in module registry, bus, configuration, clock, quit */
#define G_LOG_DOMAIN "ce-engine"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "bus.h"
#include "config.h"
#include "console.h"
#include "engine.h"
#include "engine-private.h"
#include "link.h"
#include "log.h"
#include "module.h"

/* The built-in modules, from the list make generates out of CE_MODULES. */
#define CE_BUILTIN(name) extern const struct ce_module_desc ce_module_##name;
#include "conf-engine/builtin.h"
#undef CE_BUILTIN

#define CE_BUILTIN(name) &ce_module_##name,
static const struct ce_module_desc *const builtin[] = {
#include "conf-engine/builtin.h"
        NULL,
};
#undef CE_BUILTIN

#define N_BUILTIN (G_N_ELEMENTS(builtin) - 1)

/* Where the engine keeps its files unless [general] state_dir says (Makefile.am). */
#ifndef CE_STATEDIR
#define CE_STATEDIR "/var/lib/conf-engine"
#endif

struct ce_engine {
	struct ce_bus *bus;
	struct ce_config *cfg;
	struct ce_console *console;
	char *node;
	char *state_dir;
	ce_clock_h *clock;
	void *clock_arg;
	gint64 started;
	GArray *running;                       /* struct running, in start order */
	GHashTable *services;                  /* name -> struct service */
	const struct ce_module_desc *starting; /* whose init runs: owner of what it provides */
	void (*quit)(void *arg, int code);
	void *quit_arg;
};

/* A running module and the state its init made. */
struct running {
	const struct ce_module_desc *desc;
	void *state;
};

/* A service in the registry, and the module that provides it (NULL: not a module). */
struct service {
	void *object;
	const struct ce_module_desc *by;
};

static gint64 real_clock(void *arg)
{
	return g_get_real_time();
}

/* The built-in modules in start order, sorted once (as listed if requires are broken: the
 * start reports that). */
static const struct ce_module_desc *const *sorted_builtin(void)
{
	static const struct ce_module_desc *sorted[G_N_ELEMENTS(builtin)];
	static gsize done;

	if (g_once_init_enter(&done)) {
		if (ce_module_order(builtin, N_BUILTIN, sorted, NULL) < 0)
			memcpy(sorted, builtin, sizeof(builtin));
		g_once_init_leave(&done, 1);
	}
	return sorted;
}

/** Number of built-in modules. */
unsigned ce_engine_n_modules(void)
{
	return N_BUILTIN;
}

/** The @i-th built-in module in the order a start of all of them follows, or NULL. */
const struct ce_module_desc *ce_engine_module(unsigned i)
{
	return i < N_BUILTIN ? sorted_builtin()[i] : NULL;
}

static const char *check_link(const char *v)
{
	return !strcmp(v, "stdio") || ce_link_spec_valid(v)
	               ? NULL
	               : "expects stdio, unix:PATH or tcp:HOST:PORT";
}

static const char *check_level(const char *v)
{
	enum ce_log_level level;

	return ce_log_parse_level(v, &level) < 0
	               ? "expects a log level: error, warn, note, info or debug (or 1-5)"
	               : NULL;
}

/* The core's sections: [general] (main.c, yate.c, here) and [log] (main.c). */
static const struct ce_config_key general_keys[] = {
        CE_KEY_STRING("node"),
        CE_KEY_BOOL("restart"),
        CE_KEY_CHOICE("log_to", "stderr|yate"),
        CE_KEY_CHECK("connect", check_link),
        CE_KEY_INT("reconnect_min", 10, 3600000),
        CE_KEY_INT("reconnect_max", 10, 3600000),
        CE_KEY_STRING("state_dir"),
        CE_KEY_END,
};

static const struct ce_config_key log_keys[] = {
        CE_KEY_CHECK("level", check_level),
        CE_KEY_CHECK("domain.", check_level),
        CE_KEY_END,
};

/**
 * The sections the engine knows, the core's then each built-in module's,
 * in *@known (up to CE_ENGINE_MAX_SECTIONS); returns how many.
 */
unsigned ce_engine_known_sections(struct ce_config_section_keys *known)
{
	unsigned n = 0;

	known[n++] = (struct ce_config_section_keys){"general", general_keys};
	known[n++] = (struct ce_config_section_keys){"log", log_keys};
	for (unsigned i = 0; i < N_BUILTIN; i++)
		if (builtin[i]->keys)
			known[n++] =
			        (struct ce_config_section_keys){builtin[i]->name, builtin[i]->keys};
	return n;
}

G_STATIC_ASSERT(N_BUILTIN + 2 <= CE_ENGINE_MAX_SECTIONS);

static void report_error(struct ce_config_report *rep, GError **err)
{
	ce_config_report_add(rep, true, "%s", (*err)->message);
	g_clear_error(err);
}

/**
 * Review @cfg as a start does, before anything starts: unknown sections and
 * keys (warnings), values their keys cannot take, a [general] state_dir
 * that cannot be made or written, and what each module's check refuses
 * (errors).  Every finding goes to @rep.  Returns 0, or -EINVAL when this
 * review found an error (the engine must not start).
 */
int ce_engine_check_config(const struct ce_config *cfg, struct ce_config_report *rep)
{
	struct ce_config_section_keys known[CE_ENGINE_MAX_SECTIONS];
	unsigned n = ce_engine_known_sections(known), errors = rep->errors->len;
	GError *err = NULL;

	ce_config_review(cfg, known, n, rep);
	if (*ce_config_get(cfg, "general", "state_dir", "") &&
	        ce_engine_check_state_dir(cfg, &err) < 0)
		report_error(rep, &err);
	for (unsigned i = 0; i < N_BUILTIN; i++) {
		const struct ce_module_desc *m = sorted_builtin()[i];

		if (m->check && m->check(cfg, &err) < 0)
			report_error(rep, &err);
	}
	return rep->errors->len > errors ? -EINVAL : 0;
}

static void engine_status(struct ce_engine *ce, GString *out, void *arg)
{
	struct ce_bus_stats st;

	ce_bus_get_stats(ce->bus, &st);
	g_string_append_printf(out,
	        "uptime=%" G_GINT64_FORMAT ",modules=%u,handlers=%u,watchers=%u,"
	        "dispatched=%" G_GUINT64_FORMAT ",handled=%" G_GUINT64_FORMAT
	        ",deferred=%" G_GUINT64_FORMAT ",sent=%" G_GUINT64_FORMAT
	        ",timeouts=%" G_GUINT64_FORMAT,
	        ce_engine_uptime(ce) / G_USEC_PER_SEC, ce->running->len, st.handlers, st.watchers,
	        st.dispatched, st.handled, st.deferred, st.sent, st.sent_timeout);
}

/* [general] state_dir, relative to the configuration file's directory; else CE_STATEDIR. */
static char *state_dir_of(const struct ce_config *cfg)
{
	const char *v = ce_config_get(cfg, "general", "state_dir", NULL);

	return v && *v ? ce_config_resolve_path(cfg, v) : g_strdup(CE_STATEDIR);
}

/**
 * Create an engine with its bus and console registry.  It takes @cfg
 * (NULL: an empty configuration) and frees it with itself.  The node name
 * is [general] node=, else the host name.  Returns 0 or a negative errno.
 */
int ce_engine_new(struct ce_engine **cep, struct ce_config *cfg)
{
	struct ce_engine *ce = g_new0(struct ce_engine, 1);
	int err;

	ce->cfg = cfg;
	ce->clock = real_clock;
	ce->running = g_array_new(FALSE, FALSE, sizeof(struct running));
	ce->services = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	if (!ce->cfg && (err = ce_config_new_empty(&ce->cfg)) < 0)
		goto out;
	if ((err = ce_bus_new(&ce->bus)) < 0 || (err = ce_console_new(&ce->console)) < 0)
		goto out;
	ce->node = g_strdup(ce_config_get(ce->cfg, "general", "node", g_get_host_name()));
	ce->state_dir = state_dir_of(ce->cfg);
	ce->started = ce_engine_now(ce);
	err = ce_console_add_status(ce, "engine", engine_status, NULL);
out:
	if (err < 0) {
		ce_engine_free(ce);
		ce = NULL;
	}
	*cep = ce;
	return err;
}

/** Stop the modules still running, then free the engine, its bus and its configuration. */
void ce_engine_free(struct ce_engine *ce)
{
	if (!ce)
		return;
	ce_engine_stop(ce);
	if (ce->console) {
		ce_console_remove_status(ce, "engine");
		ce_console_free(ce->console);
	}
	ce_bus_free(ce->bus);
	if (ce->cfg)
		ce_config_free(ce->cfg);
	g_array_free(ce->running, TRUE);
	g_hash_table_destroy(ce->services);
	g_free(ce->node);
	g_free(ce->state_dir);
	g_free(ce);
}

/* Withdraw what @m provided. */
static void withdraw_all(struct ce_engine *ce, const struct ce_module_desc *m)
{
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, ce->services);
	while (g_hash_table_iter_next(&it, NULL, &v))
		if (((struct service *)v)->by == m)
			g_hash_table_iter_remove(&it);
}

/* Start @m, the engine holding its state.  Returns 0 or its init's error. */
static int start_one(struct ce_engine *ce, const struct ce_module_desc *m)
{
	struct running run = {m, NULL};
	int err;

	g_debug("starting module %s", m->name);
	ce->starting = m;
	err = m->init ? m->init(ce, &run.state) : 0;
	ce->starting = NULL;
	if (err < 0) {
		g_critical("module %s failed to start: %s", m->name, g_strerror(-err));
		withdraw_all(ce, m);
		return err;
	}
	g_array_append_val(ce->running, run);
	return 0;
}

/**
 * Start the modules @mods (@n of them) in an order that follows their
 * requires (ties by name).  If one fails, those already started exit in
 * reverse order and its error is returned.  Returns 0, -EALREADY if
 * modules run, -ENOENT when a module requires one that is not in @mods,
 * -ELOOP when requires form a cycle (nothing started; the log names the
 * modules), or the failing init's error.
 */
int ce_engine_start_list(struct ce_engine *ce, const struct ce_module_desc *const *mods, unsigned n)
{
	const struct ce_module_desc **order;
	GError *error = NULL;
	int err = 0;

	if (ce->running->len)
		return -EALREADY;
	/* only when asked for: a plain run must not create system directories */
	if (*ce_config_get(ce->cfg, "general", "state_dir", "") &&
	        (err = ce_engine_make_state_dir(ce, &error)) < 0)
		goto out;
	order = g_new(const struct ce_module_desc *, n + 1);
	err = ce_module_order(mods, n, order, &error);
	for (unsigned i = 0; !err && i < n; i++)
		if ((err = start_one(ce, order[i])) < 0)
			ce_engine_stop(ce);
	g_free(order);
out:
	if (error) {
		g_critical("%s", error->message);
		g_error_free(error);
	}
	return err < 0 ? err : 0;
}

/**
 * Start the built-in modules: all of them, or only those named in the
 * NULL-terminated list @only (tests).  Returns 0, -ENOENT for an unknown
 * name, or as ce_engine_start_list().
 */
int ce_engine_start(struct ce_engine *ce, const char *const *only)
{
	const struct ce_module_desc **mods = g_new0(const struct ce_module_desc *, N_BUILTIN + 1);
	unsigned n = 0, i;
	int err = 0;

	for (; only && *only && !err; only++) {
		for (i = 0; i < N_BUILTIN && strcmp(builtin[i]->name, *only); i++)
			;
		if (i == N_BUILTIN) {
			g_critical("no module called %s", *only);
			err = -ENOENT;
		} else if (n < N_BUILTIN) {
			mods[n++] = builtin[i];
		}
	}
	if (!only) {
		memcpy(mods, builtin, N_BUILTIN * sizeof(*mods));
		n = N_BUILTIN;
	}
	if (!err)
		err = ce_engine_start_list(ce, mods, n);
	g_free(mods);
	return err;
}

/**
 * Let the running modules exit, in the reverse of their start order; the
 * services each provided leave the registry before its exit runs.
 */
void ce_engine_stop(struct ce_engine *ce)
{
	while (ce->running->len) {
		struct running run =
		        g_array_index(ce->running, struct running, ce->running->len - 1);

		g_array_set_size(ce->running, ce->running->len - 1);
		g_debug("stopping module %s", run.desc->name);
		withdraw_all(ce, run.desc);
		if (run.desc->exit)
			run.desc->exit(ce, run.state);
	}
}

/** Whether a module called @name is running in @ce. */
bool ce_engine_module_running(const struct ce_engine *ce, const char *name)
{
	for (guint i = 0; i < ce->running->len; i++)
		if (!strcmp(g_array_index(ce->running, struct running, i).desc->name, name))
			return true;
	return false;
}

/** Number of running modules. */
unsigned ce_engine_n_running(const struct ce_engine *ce)
{
	return ce->running->len;
}

/** The @i-th running module, in start order, or NULL. */
const struct ce_module_desc *ce_engine_running(const struct ce_engine *ce, unsigned i)
{
	return i < ce->running->len ? g_array_index(ce->running, struct running, i).desc : NULL;
}

/**
 * Register @object as the service @name (a module in its init: the
 * engine withdraws it when that module stops).  What @object is, and the
 * calls that use it, the providing module's public header says.  Returns
 * 0, -EINVAL (no object) or -EEXIST (the name is taken).
 */
int ce_engine_provide(struct ce_engine *ce, const char *name, void *object)
{
	struct service *sv;

	if (!object)
		return -EINVAL;
	if (g_hash_table_contains(ce->services, name)) {
		g_critical("service %s is provided twice", name);
		return -EEXIST;
	}
	sv = g_new(struct service, 1);
	sv->object = object;
	sv->by = ce->starting;
	g_hash_table_insert(ce->services, g_strdup(name), sv);
	return 0;
}

/** Remove the service @name from the registry (nothing if there is none). */
void ce_engine_withdraw(struct ce_engine *ce, const char *name)
{
	g_hash_table_remove(ce->services, name);
}

/**
 * The service @name, or NULL when no running module provides it (its
 * module is not started, or did not provide it in this configuration).
 */
void *ce_engine_service(const struct ce_engine *ce, const char *name)
{
	struct service *sv = g_hash_table_lookup(ce->services, name);

	return sv ? sv->object : NULL;
}

/** The engine's bus (owned by the engine). */
struct ce_bus *ce_engine_bus(const struct ce_engine *ce)
{
	return ce->bus;
}

/** The engine's configuration (owned by the engine). */
struct ce_config *ce_engine_config(const struct ce_engine *ce)
{
	return ce->cfg;
}

/** The console registry (core-private). */
struct ce_console *ce_engine_console(const struct ce_engine *ce)
{
	return ce->console;
}

/** This node's name: [general] node=, else the host name. */
const char *ce_engine_node(const struct ce_engine *ce)
{
	return ce->node;
}

/**
 * The engine's state directory, where modules keep their files by default:
 * [general] state_dir (relative to the configuration file's directory), else
 * the build's localstatedir/lib/conf-engine.  It exists once the engine has
 * started if state_dir is set; a module that uses the built-in default
 * calls ce_engine_make_state_dir() first.
 */
const char *ce_engine_state_dir(const struct ce_engine *ce)
{
	return ce->state_dir;
}

/* Makes @path with @mode if missing; its missing parents get 0755, as /var/lib has. */
static int make_dir(const char *path, int mode)
{
	char *parent;
	int r = 0;

	if (g_file_test(path, G_FILE_TEST_IS_DIR))
		return 0;
	parent = g_path_get_dirname(path);
	if (g_mkdir_with_parents(parent, 0755) < 0 || (g_mkdir(path, mode) < 0 && errno != EEXIST))
		r = errno;
	else if (!g_file_test(path, G_FILE_TEST_IS_DIR))
		r = ENOTDIR; /* a file of that name */
	g_free(parent);
	return r;
}

/* The state directory's failure @r (an errno), saying where it was set. */
static int state_dir_error(const struct ce_config *cfg, const char *dir, int r, GError **err)
{
	const struct ce_config_entry *e = ce_config_lookup(cfg, "general", "state_dir");
	char *at = e && e->line ? g_strdup_printf("%s:%u: ", e->file, e->line) : g_strdup("");

	if (e && *e->value)
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(r),
		        "%sstate_dir %s: cannot create or write the directory: %s", at, dir,
		        g_strerror(r));
	else
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(r),
		        "state directory %s (the default; set [general] state_dir): cannot create "
		        "or write it: %s",
		        dir, g_strerror(r));
	g_free(at);
	return -r;
}

/**
 * Create the state directory with mode 0750 (its missing parents 0755) if
 * missing, and check that the engine can write there.  Returns 0 or a
 * negative errno with @err saying which directory and why.
 */
int ce_engine_make_state_dir(const struct ce_engine *ce, GError **err)
{
	int r = make_dir(ce->state_dir, 0750);

	if (!r && g_access(ce->state_dir, W_OK | X_OK) < 0)
		r = errno;
	return r ? state_dir_error(ce->cfg, ce->state_dir, r, err) : 0;
}

/* Whether @path could be made (its nearest existing ancestor is a writable
 * directory) or, existing, is a writable directory: 0 or an errno. */
static int dir_usable(const char *path)
{
	char *p = g_strdup(path), *up;
	int r = 0;

	while (!g_file_test(p, G_FILE_TEST_EXISTS)) {
		up = g_path_get_dirname(p);
		if (!strcmp(up, p)) {
			g_free(up);
			break;
		}
		g_free(p);
		p = up;
	}
	if (!g_file_test(p, G_FILE_TEST_IS_DIR))
		r = ENOTDIR;
	else if (g_access(p, W_OK | X_OK) < 0)
		r = errno;
	g_free(p);
	return r;
}

/**
 * What ce_engine_make_state_dir() would find wrong with the state
 * directory of @cfg, without making anything (--check-config, and the
 * review before a start).  Returns 0 or a negative errno with @err set to
 * the same message.
 */
int ce_engine_check_state_dir(const struct ce_config *cfg, GError **err)
{
	char *dir = state_dir_of(cfg);
	int r = dir_usable(dir);

	r = r ? state_dir_error(cfg, dir, r, err) : 0;
	g_free(dir);
	return r;
}

/** The engine clock: microseconds since the epoch (real time unless a test set a clock). */
gint64 ce_engine_now(const struct ce_engine *ce)
{
	return ce->clock(ce->clock_arg);
}

/**
 * ce_time_in_zone() - the moment @unix_us (microseconds since the epoch) in
 * the IANA time zone @zone ("Europe/Berlin"; NULL, empty or unknown to the
 * system's zone data: UTC), for times said to callers.  *@named tells
 * whether @zone was found.  NULL only for a moment out of GDateTime's range.
 */
GDateTime *ce_time_in_zone(gint64 unix_us, const char *zone, bool *named)
{
	GTimeZone *tz = zone && *zone ? g_time_zone_new_identifier(zone) : NULL;
	GDateTime *utc = g_date_time_new_from_unix_utc(unix_us / G_USEC_PER_SEC);
	GDateTime *t = utc && tz ? g_date_time_to_timezone(utc, tz)
	               : utc     ? g_date_time_ref(utc)
	                         : NULL;

	if (named)
		*named = tz != NULL;
	if (utc)
		g_date_time_unref(utc);
	if (tz)
		g_time_zone_unref(tz);
	return t;
}

/** Microseconds since the engine was created, on its clock. */
gint64 ce_engine_uptime(const struct ce_engine *ce)
{
	gint64 d = ce_engine_now(ce) - ce->started;

	return d > 0 ? d : 0;
}

/**
 * Replace the clock (NULL: back to real time).  The uptime restarts from
 * the new clock's present.
 */
void ce_engine_set_clock(struct ce_engine *ce, ce_clock_h *clock, void *arg)
{
	ce->clock = clock ? clock : real_clock;
	ce->clock_arg = clock ? arg : NULL;
	ce->started = ce_engine_now(ce);
}

/** Ask the program to quit with exit status @code (through the handler main.c set). */
void ce_engine_request_quit(struct ce_engine *ce, int code)
{
	if (!ce->quit) {
		g_warning("quit requested (status %d) but nobody listens", code);
		return;
	}
	ce->quit(ce->quit_arg, code);
}

/** Set who handles quit requests (main.c: leaves the main loop). */
void ce_engine_set_quit_handler(struct ce_engine *ce, void (*quit)(void *arg, int code), void *arg)
{
	ce->quit = quit;
	ce->quit_arg = arg;
}
