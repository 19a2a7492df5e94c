/* store-fixture.h - shared fixture of the store tests: one store on SQLite or PostgreSQL */
#ifndef CE_TEST_STORE_FIXTURE_H
#define CE_TEST_STORE_FIXTURE_H

#include <glib.h>

#include "modules/store/store-db.h"

/*
 * Each test runs once per backend.  The PostgreSQL runs need
 * CE_TEST_PG_CONNINFO (tests/pg-harness.sh sets it); without it they fail,
 * unless CE_TEST_PG_OPTIONAL=1 makes them skip explicitly.
 */
struct fx {
	enum ce_store_backend backend;
	char *dir;
	char *sqlite_path;
	struct ce_store_options opt;
	GMainContext *ctx;
	struct ce_store *st;
	bool skip;
};

void fx_setup(struct fx *f, gconstpointer backend);
void fx_teardown(struct fx *f, gconstpointer backend);
int fx_open(struct fx *f, GError **err);
void fx_close(struct fx *f);
void fx_wait(struct fx *f, const bool *done);
void fx_drain(struct fx *f);
char *fx_query(struct fx *f, const char *sql);
gint64 fx_query_int(struct fx *f, const char *sql);
void fx_exec(struct fx *f, const char *sql);
int fx_try_exec(struct fx *f, const char *sql);
gint64 fx_put_conference(struct fx *f, const struct ce_conference *c);
gint64 fx_put_participant(struct fx *f, const struct ce_participant *p);
void fx_add_tests(const char *name, void (*fn)(struct fx *, gconstpointer));

extern const int fx_sqlite, fx_postgresql;

#endif
