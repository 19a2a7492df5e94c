/* module.h - built-in modules: a descriptor with name, priority, init and exit */
#ifndef CE_MODULE_H
#define CE_MODULE_H

#include <glib.h>

struct ce_config;
struct ce_config_key;
struct ce_engine;

/*
 * A module, declared once with CE_MODULE_DEFINE.  Modules are initialised in
 * ascending priority (then name) and torn down in the reverse order.  init
 * returns 0 or a negative errno; everything it registers, exit removes.
 * A module configured by its own section (CE_MODULE_DEFINE_CONFIG) names
 * the keys of [name] it reads in keys (with the ranges its getters use),
 * so that unknown keys and bad values are reported with FILE:LINE before
 * anything starts; check, when set, validates what a table cannot (a file
 * that must load, a conninfo) without starting anything.  The engine runs
 * both at every start and for "conf-engine --check-config".
 */
struct ce_module_desc {
	const char *name;
	int priority;
	int (*init)(struct ce_engine *ce);
	void (*exit)(struct ce_engine *ce);
	int (*check)(const struct ce_config *cfg, GError **err);
	const struct ce_config_key *keys; /* of [name]; NULL: the module has no section */
};

#define CE_MODULE_PRIORITY_HIGH    -100
#define CE_MODULE_PRIORITY_DEFAULT 0
#define CE_MODULE_PRIORITY_LOW     100

#define CE_MODULE_DEFINE(mname, mprio, minit, mexit)                                               \
	const struct ce_module_desc ce_module_##mname = {                                          \
	        .name = #mname, .priority = (mprio), .init = (minit), .exit = (mexit)}

#define CE_MODULE_DEFINE_CONFIG(mname, mprio, minit, mexit, mkeys, mcheck)                         \
	const struct ce_module_desc ce_module_##mname = {.name = #mname,                           \
	        .priority = (mprio),                                                               \
	        .init = (minit),                                                                   \
	        .exit = (mexit),                                                                   \
	        .check = (mcheck),                                                                 \
	        .keys = (mkeys)}

#endif
