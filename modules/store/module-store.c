/* module-store.c - the store as a built-in module: [store] configuration, console status */
#define G_LOG_DOMAIN "store"

/*
 * Without a [store] section the module stays idle (no database, nothing
 * scheduled), so an engine that only runs ad-hoc rooms needs nothing and
 * writes nothing.  With one, the database is opened and migrated before the
 * engine runs; a corrupt or read-only SQLite file, one in a directory that
 * does not exist, an unusable spool or state directory or a schema newer
 * than the engine stops the start with the reason.  A database that is
 * only away (PostgreSQL down, an SQLite file locked by another process or
 * failing with an I/O error) does not: the store starts down and retries
 * with back-off.  The module provides the store as the service "store"
 * (none without [store]); other modules, which require "store", reach it
 * with ce_store_of().
 *
 *   [store]
 *   backend=sqlite                 ; or postgresql
 *   sqlite_path=STATE_DIR/conf-engine.db
 *   pg_conninfo=host=db1 dbname=conf user=conf
 *   spool_dir=STATE_DIR/spool
 *   workers=4
 *   query_timeout_ms=2000
 *   reconnect_min_ms=250
 *   reconnect_max_ms=30000
 *   connect_timeout_ms=2000        ; PostgreSQL: longest wait at start, then
 *                                  ; it starts down and connects in the background
 */

#include <errno.h>
#include <string.h>

#include "conf-engine/config.h"
#include "console.h"
#include "engine.h"
#include "module.h"
#include "store-db.h"
#include "store.h"

#define SECTION "store"

/* The module's state, which the engine keeps. */
struct mod {
	struct ce_store *st;
	bool console;
	bool status;
};

/**
 * ce_store_of() - the store of @ce (its "store" service), or NULL when the
 * store module does not run or [store] is not configured
 */
struct ce_store *ce_store_of(struct ce_engine *ce)
{
	return ce_engine_service(ce, SECTION);
}

/*
 * *@out: the path in @key, a relative one taken from the configuration
 * file's directory; without the key, @def in the engine's state directory,
 * which is created then (the built-in default is not created by the engine
 * itself, so that runs without a store write nothing there).
 */
static int path_opt(
        struct ce_engine *ce, const char *key, const char *def, const char **out, GError **err)
{
	const struct ce_config *cfg = ce_engine_config(ce);
	const char *v = ce_config_get(cfg, SECTION, key, "");
	int r;

	if (!*v) {
		r = ce_engine_make_state_dir(ce, err);
		*out = r < 0 ? NULL : g_build_filename(ce_engine_state_dir(ce), def, NULL);
		return r;
	}
	*out = ce_config_resolve_path(cfg, v);
	return 0;
}

/* [store] backend, with where it was set in the error. */
static int read_backend(const struct ce_config *cfg, enum ce_store_backend *b, GError **err)
{
	const struct ce_config_entry *e = ce_config_lookup(cfg, SECTION, "backend");
	const char *backend = e && *e->value ? e->value : "sqlite";

	if (strcmp(backend, "sqlite") == 0) {
		*b = CE_STORE_SQLITE;
	} else if (strcmp(backend, "postgresql") == 0) {
		*b = CE_STORE_POSTGRESQL;
	} else {
		g_set_error(err, CE_STORE_ERROR, CE_STORE_ERROR_CONFIG,
		        "%s:%u: [store] backend=%s: use sqlite or postgresql", e->file, e->line,
		        backend);
		return -EINVAL;
	}
	return 0;
}

static int read_options(struct ce_engine *ce, struct ce_store_options *o, GError **err)
{
	const struct ce_config *cfg = ce_engine_config(ce);
	int r;

	if ((r = read_backend(cfg, &o->backend, err)) < 0)
		return r;
	if (o->backend == CE_STORE_SQLITE &&
	        (r = path_opt(ce, "sqlite_path", "conf-engine.db", &o->sqlite_path, err)) < 0)
		return r;
	if ((r = path_opt(ce, "spool_dir", "spool", &o->spool_dir, err)) < 0)
		return r;
	o->pg_conninfo = ce_config_get(cfg, SECTION, "pg_conninfo", NULL);
	o->workers = (unsigned)ce_config_get_int(cfg, SECTION, "workers", 4, 1, 64);
	o->query_timeout_ms =
	        (unsigned)ce_config_get_int(cfg, SECTION, "query_timeout_ms", 2000, 50, 60000);
	o->reconnect_min_ms =
	        (unsigned)ce_config_get_int(cfg, SECTION, "reconnect_min_ms", 250, 10, 3600000);
	o->reconnect_max_ms =
	        (unsigned)ce_config_get_int(cfg, SECTION, "reconnect_max_ms", 30000, 10, 3600000);
	o->connect_timeout_ms =
	        (unsigned)ce_config_get_int(cfg, SECTION, "connect_timeout_ms", 2000, 1, 600000);
	return 0;
}

static void status(struct ce_engine *ce, GString *out, void *arg)
{
	ce_store_status(arg, out);
}

static int cmd_store(struct ce_engine *ce, int argc, char **argv, GString *out, void *arg)
{
	char *e = ce_store_last_error(arg);
	GString *s = g_string_new(NULL);

	ce_store_status(arg, s);
	g_strdelimit(s->str, ",", ' ');
	g_string_append_printf(out, "%s\r\nlast error: %s\r\n", s->str, e ? e : "none");
	g_string_free(s, TRUE);
	g_free(e);
	return 0;
}

static void store_exit(struct ce_engine *ce, void *state);

static int store_init(struct ce_engine *ce, void **state)
{
	const struct ce_config *cfg = ce_engine_config(ce);
	struct ce_store_options o = {0};
	struct mod *mod;
	GError *err = NULL;
	int r = 0;

	if (!ce_config_has_section(cfg, SECTION)) {
		g_message("no [store] section: scheduled conferences are disabled");
		return 0;
	}
	mod = g_new0(struct mod, 1);
	o.node = ce_engine_node(ce);
	r = read_options(ce, &o, &err);
	if (r == 0)
		r = ce_store_new(&mod->st, &o, NULL, &err);
	g_free((char *)o.sqlite_path);
	g_free((char *)o.spool_dir);
	if (r < 0) {
		g_critical("cannot start the store: %s", err->message);
		g_error_free(err);
		goto out;
	}
	r = ce_console_add(ce, "store", "store", "Show the database store and its last error",
	        cmd_store, NULL, mod->st);
	mod->console = r == 0;
	if (r == 0)
		r = ce_console_add_status(ce, "store", status, mod->st);
	mod->status = r == 0;
	if (r == 0)
		r = ce_engine_provide(ce, SECTION, mod->st);
out:
	if (r < 0)
		store_exit(ce, g_steal_pointer(&mod));
	*state = mod;
	return r;
}

static void store_exit(struct ce_engine *ce, void *state)
{
	struct mod *mod = state;

	if (!mod)
		return;
	if (mod->console)
		ce_console_remove(ce, "store");
	if (mod->status)
		ce_console_remove_status(ce, "store");
	ce_store_free(mod->st);
	g_free(mod);
}

/*
 * Whether the store puts a file in the built-in state directory (no
 * [general] state_dir, which the engine checks itself, and no path of ours).
 */
static bool uses_default_state_dir(const struct ce_config *cfg, enum ce_store_backend b)
{
	if (*ce_config_get(cfg, "general", "state_dir", ""))
		return false;
	return !*ce_config_get(cfg, SECTION, "spool_dir", "") ||
	       (b == CE_STORE_SQLITE && !*ce_config_get(cfg, SECTION, "sqlite_path", ""));
}

/**
 * Whether the engine's state directory is in use for @cfg: [general]
 * state_dir is set, or the store keeps a file in the built-in one.  Other
 * modules put their default files there only then, so that a run that
 * asked for no files writes none.
 */
bool ce_store_state_dir_in_use(const struct ce_config *cfg)
{
	enum ce_store_backend b;

	if (*ce_config_get(cfg, "general", "state_dir", ""))
		return true;
	return ce_config_has_section(cfg, SECTION) && read_backend(cfg, &b, NULL) == 0 &&
	       uses_default_state_dir(cfg, b);
}

/*
 * --check-config and the review before a start: the state directory the
 * store would make can be made, and a PostgreSQL conninfo parses.  A bad
 * backend is the review's to report (its key table lists the choices).
 */
static int store_check(const struct ce_config *cfg, GError **err)
{
	const struct ce_config_entry *ci = ce_config_lookup(cfg, SECTION, "pg_conninfo");
	enum ce_store_backend b;
	GError *e = NULL;
	int r;

	if (!ce_config_has_section(cfg, SECTION) || read_backend(cfg, &b, NULL) < 0)
		return 0;
	if (uses_default_state_dir(cfg, b) && (r = ce_engine_check_state_dir(cfg, err)) < 0)
		return r;
	if (b != CE_STORE_POSTGRESQL)
		return 0;
	if (!ci) {
		const struct ce_config_entry *be = ce_config_lookup(cfg, SECTION, "backend");

		g_set_error(err, CE_STORE_ERROR, CE_STORE_ERROR_CONFIG,
		        "%s:%u: [store] backend=postgresql needs pg_conninfo", be->file, be->line);
		return -EINVAL;
	}
	if ((r = ce_db_pg_check_conninfo(ci->value, &e)) < 0) {
		g_set_error(err, CE_STORE_ERROR, CE_STORE_ERROR_CONFIG, "%s:%u: pg_conninfo: %s",
		        ci->file, ci->line, e->message);
		g_error_free(e);
	}
	return r;
}

/* The keys of [store], with the ranges read_options() clamps to. */
static const struct ce_config_key store_keys[] = {
        CE_KEY_CHOICE("backend", "sqlite|postgresql"),
        CE_KEY_STRING("sqlite_path"),
        CE_KEY_STRING("pg_conninfo"),
        CE_KEY_STRING("spool_dir"),
        CE_KEY_INT("workers", 1, 64),
        CE_KEY_INT("query_timeout_ms", 50, 60000),
        CE_KEY_INT("reconnect_min_ms", 10, 3600000),
        CE_KEY_INT("reconnect_max_ms", 10, 3600000),
        CE_KEY_INT("connect_timeout_ms", 1, 600000),
        CE_KEY_END,
};

CE_MODULE_DEFINE(
        store, .init = store_init, .exit = store_exit, .keys = store_keys, .check = store_check);
