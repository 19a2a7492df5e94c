/* module.h - built-in modules: a descriptor with name, requires, init and exit */
#ifndef CE_MODULE_H
#define CE_MODULE_H

#include <stdbool.h>
#include <glib.h>

struct ce_config;
struct ce_config_key;
struct ce_engine;

/* One entry of a module's requires list: another module it needs started first. */
struct ce_module_req {
	const char *name;
	bool optional; /* started first when it runs; the module copes without it */
};

/*
 * A module, declared once with CE_MODULE_DEFINE.  The engine starts the
 * modules in an order that follows requires (each after those it names;
 * among modules free to go, by name) and stops them in the reverse order;
 * a required module that is not started, or a cycle, stops the start with
 * an error naming the module.
 *
 * init returns 0 or a negative errno and puts what the module keeps in
 * *state; the engine holds it and hands it back to exit, so that no module
 * keeps its state in a file-scope static.  Everything init registers (bus
 * handlers, console commands, services: ce_engine_provide()), exit removes;
 * an init that fails has undone its own work and exit is not called.
 *
 * A module configured by its own section names the keys of [name] it
 * reads in keys (with the ranges its getters use), so that unknown keys
 * and bad values are reported with FILE:LINE before anything starts;
 * check, when set, validates what a table cannot (a file that must load,
 * a conninfo) without starting anything.  The engine runs both at every
 * start and for "conf-engine --check-config".
 */
struct ce_module_desc {
	const char *name;
	const struct ce_module_req *requires; /* ends with a NULL name; NULL: none */
	int (*init)(struct ce_engine *ce, void **state);
	void (*exit)(struct ce_engine *ce, void *state);
	int (*check)(const struct ce_config *cfg, GError **err);
	const struct ce_config_key *keys; /* of [name]; NULL: the module has no section */
};

/*
 * CE_MODULE_DEFINE(name, .init = f, .exit = g, .keys = k, .check = c,
 *                  .requires = CE_REQUIRES(CE_NEEDS("store"), CE_WANTS("conference")))
 */
#define CE_MODULE_DEFINE(mname, ...)                                                               \
	const struct ce_module_desc ce_module_##mname = {.name = #mname, __VA_ARGS__}

#define CE_REQUIRES(...) ((const struct ce_module_req[]){__VA_ARGS__, {NULL, false}})
/* clang-format off */
#define CE_NEEDS(mname) {(mname), false}
#define CE_WANTS(mname) {(mname), true}
/* clang-format on */

#endif
