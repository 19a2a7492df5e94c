/* module.h - built-in modules: a descriptor with name, priority, init and exit */
#ifndef CE_MODULE_H
#define CE_MODULE_H

#include <glib.h>

struct ce_config;
struct ce_engine;

/*
 * A module, declared once with CE_MODULE_DEFINE.  Modules are initialised in
 * ascending priority (then name) and torn down in the reverse order.  init
 * returns 0 or a negative errno; everything it registers, exit removes.
 * check, when set (CE_MODULE_DEFINE_CHECKED), validates the module's part of
 * the configuration without starting anything: "conf-engine --check-config"
 * runs it, so that what would stop the module at start is found before.
 */
struct ce_module_desc {
	const char *name;
	int priority;
	int (*init)(struct ce_engine *ce);
	void (*exit)(struct ce_engine *ce);
	int (*check)(const struct ce_config *cfg, GError **err);
};

#define CE_MODULE_PRIORITY_HIGH    -100
#define CE_MODULE_PRIORITY_DEFAULT 0
#define CE_MODULE_PRIORITY_LOW     100

#define CE_MODULE_DEFINE(mname, mprio, minit, mexit)                                               \
	const struct ce_module_desc ce_module_##mname = {                                          \
	        .name = #mname, .priority = (mprio), .init = (minit), .exit = (mexit)}

#define CE_MODULE_DEFINE_CHECKED(mname, mprio, minit, mexit, mcheck)                               \
	const struct ce_module_desc ce_module_##mname = {.name = #mname,                           \
	        .priority = (mprio),                                                               \
	        .init = (minit),                                                                   \
	        .exit = (mexit),                                                                   \
	        .check = (mcheck)}

#endif
