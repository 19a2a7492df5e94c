/* console.h - commands and status lines for Yate's remote console (rmanager) */
#ifndef CE_CONSOLE_H
#define CE_CONSOLE_H

#include <stdbool.h>
#include <glib.h>

struct ce_engine;

/*
 * Every command lives under one prefix (CE_CONSOLE_PREFIX, "conf"): the
 * operator types "conf list", "conf kick ROOM LEG", ...  A module adds its
 * sub-commands in init and removes them in exit.
 *
 * ce_console_cmd_h: @argv is the command line split on blanks after the
 * prefix and the sub-command (argv[0] is the first argument).  Append the
 * text to print to @out (lines end in "\r\n" as Yate's console expects);
 * return 0, or a negative errno for a usage error (the usage line is then
 * printed).
 * ce_console_complete_h: propose completions for the word @partword that
 * follows @partline; add each candidate with ce_console_complete_add().
 * ce_console_status_h: append "key=value" pairs (comma separated) to @out
 * for the "status conf-engine" line.
 */
typedef int(ce_console_cmd_h)(struct ce_engine *ce, int argc, char **argv, GString *out, void *arg);
typedef void(ce_console_complete_h)(
        struct ce_engine *ce, const char *partline, const char *partword, GString *out, void *arg);
typedef void(ce_console_status_h)(struct ce_engine *ce, GString *out, void *arg);

#define CE_CONSOLE_PREFIX "conf"

/* The module name the engine has in Yate's console ("status conf-engine"). */
#define CE_CONSOLE_MODULE_NAME "conf-engine"

int ce_console_add(struct ce_engine *ce, const char *name, const char *usage, const char *help,
        ce_console_cmd_h *cmd, ce_console_complete_h *complete, void *arg);
void ce_console_remove(struct ce_engine *ce, const char *name);
int ce_console_add_status(
        struct ce_engine *ce, const char *key, ce_console_status_h *st, void *arg);
void ce_console_remove_status(struct ce_engine *ce, const char *key);
void ce_console_complete_add(GString *out, const char *partword, const char *candidate);

/* Reading the registry: for the module that answers Yate's console (modules/console). */
void ce_console_usage_lines(struct ce_engine *ce, GString *out);
int ce_console_help(struct ce_engine *ce, const char *name, GString *out);
void ce_console_execute(struct ce_engine *ce, int argc, char **argv, GString *out);
void ce_console_complete(
        struct ce_engine *ce, const char *partline, const char *partword, GString *out);
void ce_console_status(struct ce_engine *ce, GString *out);
char **ce_console_split(const char *line, int *argc);

#endif
