/* engine-private.h - core-private parts of the engine and the console registry (not for modules) */
#ifndef CE_ENGINE_PRIVATE_H
#define CE_ENGINE_PRIVATE_H

#include <glib.h>

struct ce_engine;
struct ce_console;
struct ce_module_desc;

/* The module name the engine has in Yate's console ("status conf-engine"). */
#define CE_CONSOLE_MODULE_NAME "conf-engine"

/* engine.c */
int ce_engine_start_list(
        struct ce_engine *ce, const struct ce_module_desc *const *mods, unsigned n);
unsigned ce_engine_n_running(const struct ce_engine *ce);
const struct ce_module_desc *ce_engine_running(const struct ce_engine *ce, unsigned i);
struct ce_console *ce_engine_console(const struct ce_engine *ce);
gint64 ce_engine_uptime(const struct ce_engine *ce);

/* console.c: the registry behind console.h, driven by modules/console */
int ce_console_new(struct ce_console **cp);
void ce_console_free(struct ce_console *con);
void ce_console_usage_lines(struct ce_engine *ce, GString *out);
int ce_console_help(struct ce_engine *ce, const char *name, GString *out);
void ce_console_execute(struct ce_engine *ce, int argc, char **argv, GString *out);
void ce_console_complete(
        struct ce_engine *ce, const char *partline, const char *partword, GString *out);
void ce_console_status(struct ce_engine *ce, GString *out);
char **ce_console_split(const char *line, int *argc);

#endif
