/* engine.h - the engine context handed to modules: bus, configuration, clock, services */
#ifndef CE_ENGINE_H
#define CE_ENGINE_H

#include <stdbool.h>
#include <glib.h>

struct ce_engine;
struct ce_bus;
struct ce_config;
struct ce_config_report;
struct ce_config_section_keys;
struct ce_module_desc;

/* At most this many known sections: the core's and one per built-in module. */
#define CE_ENGINE_MAX_SECTIONS 16

/* A clock source in microseconds since the epoch (tests drive their own). */
typedef gint64(ce_clock_h)(void *arg);

int ce_engine_new(struct ce_engine **cep, struct ce_config *cfg);
void ce_engine_free(struct ce_engine *ce);

int ce_engine_start(struct ce_engine *ce, const char *const *only);
void ce_engine_stop(struct ce_engine *ce);
unsigned ce_engine_n_modules(void);
const struct ce_module_desc *ce_engine_module(unsigned i);
int ce_engine_check_config(const struct ce_config *cfg, struct ce_config_report *rep);
unsigned ce_engine_known_sections(struct ce_config_section_keys *known);
bool ce_engine_module_running(const struct ce_engine *ce, const char *name);
unsigned ce_engine_n_running(const struct ce_engine *ce);
const struct ce_module_desc *ce_engine_running(const struct ce_engine *ce, unsigned i);

/*
 * The service registry: a module provides an object under a name (its
 * own, as "store" or "conference") in its init, and others, which name
 * that module in their requires, find it there.  Each module's public
 * header has a typed accessor (ce_store_of(), ce_conference_service()).
 */
int ce_engine_provide(struct ce_engine *ce, const char *name, void *object);
void ce_engine_withdraw(struct ce_engine *ce, const char *name);
void *ce_engine_service(const struct ce_engine *ce, const char *name);

struct ce_bus *ce_engine_bus(const struct ce_engine *ce);
struct ce_config *ce_engine_config(const struct ce_engine *ce);
const char *ce_engine_node(const struct ce_engine *ce);
const char *ce_engine_state_dir(const struct ce_engine *ce);
int ce_engine_make_state_dir(const struct ce_engine *ce, GError **err);
int ce_engine_check_state_dir(const struct ce_config *cfg, GError **err);

gint64 ce_engine_now(const struct ce_engine *ce);
GDateTime *ce_time_in_zone(gint64 unix_us, const char *zone, bool *named);
gint64 ce_engine_uptime(const struct ce_engine *ce);
void ce_engine_set_clock(struct ce_engine *ce, ce_clock_h *clock, void *arg);

void ce_engine_request_quit(struct ce_engine *ce, int code);
void ce_engine_set_quit_handler(struct ce_engine *ce, void (*quit)(void *arg, int code), void *arg);

#endif
