/* engine-private.h - core-private parts of the engine and the console registry (not for modules) */
#ifndef CE_ENGINE_PRIVATE_H
#define CE_ENGINE_PRIVATE_H

#include <glib.h>

struct ce_engine;
struct ce_console;
struct ce_module_desc;

/* engine.c */
int ce_engine_start_list(
        struct ce_engine *ce, const struct ce_module_desc *const *mods, unsigned n);
struct ce_console *ce_engine_console(const struct ce_engine *ce);

/* module.c */
int ce_module_order(const struct ce_module_desc *const *mods, unsigned n,
        const struct ce_module_desc **order, GError **err);

/* console.c: the registry behind console.h */
int ce_console_new(struct ce_console **cp);
void ce_console_free(struct ce_console *con);

#endif
