/* console.c - registry of "conf ..." console commands and status providers, per engine */
#define G_LOG_DOMAIN "ce-console"

#include <errno.h>
#include <string.h>

#include "console.h"
#include "engine.h"
#include "engine-private.h"

/*
 * Commands are kept sorted by name, so that help and completion lists are
 * stable; status providers keep their registration order, so that the
 * engine's own counters come first in the status line.
 */

struct cmd {
	char *name, *usage, *help;
	ce_console_cmd_h *cmd;
	ce_console_complete_h *complete;
	void *arg;
};

struct provider {
	char *key;
	ce_console_status_h *st;
	void *arg;
};

struct ce_console {
	GPtrArray *cmds;      /* struct cmd *, sorted by name */
	GPtrArray *providers; /* struct provider *, in registration order */
};

static void cmd_free(gpointer p)
{
	struct cmd *c = p;

	g_free(c->name);
	g_free(c->usage);
	g_free(c->help);
	g_free(c);
}

static void provider_free(gpointer p)
{
	struct provider *pr = p;

	g_free(pr->key);
	g_free(pr);
}

/** Create an empty registry (the engine owns one). Returns 0. */
int ce_console_new(struct ce_console **cp)
{
	struct ce_console *con = g_new0(struct ce_console, 1);

	con->cmds = g_ptr_array_new_with_free_func(cmd_free);
	con->providers = g_ptr_array_new_with_free_func(provider_free);
	*cp = con;
	return 0;
}

/** Free the registry; what modules left registered is reported and dropped. */
void ce_console_free(struct ce_console *con)
{
	guint i;

	if (!con)
		return;
	for (i = 0; i < con->cmds->len; i++)
		g_warning("console command '%s' still registered",
		        ((struct cmd *)g_ptr_array_index(con->cmds, i))->name);
	for (i = 0; i < con->providers->len; i++)
		g_warning("status provider '%s' still registered",
		        ((struct provider *)g_ptr_array_index(con->providers, i))->key);
	g_ptr_array_unref(con->cmds);
	g_ptr_array_unref(con->providers);
	g_free(con);
}

/* Index of command @name, or where it would go (with *found false). */
static guint cmd_find(const struct ce_console *con, const char *name, bool *found)
{
	guint lo = 0, hi = con->cmds->len;

	while (lo < hi) {
		guint mid = lo + (hi - lo) / 2;
		int c = strcmp(((struct cmd *)g_ptr_array_index(con->cmds, mid))->name, name);

		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static struct cmd *cmd_get(const struct ce_engine *ce, const char *name)
{
	struct ce_console *con = ce_engine_console(ce);
	bool found;
	guint i = cmd_find(con, name, &found);

	return found ? g_ptr_array_index(con->cmds, i) : NULL;
}

/**
 * Add the sub-command "conf @name".  @usage shows its arguments ("ROOM
 * [LEG]", NULL for none), @help is one line of description; @complete may
 * be NULL.  Returns 0, -EINVAL (empty name, a blank in it, no @cmd) or
 * -EEXIST.
 */
int ce_console_add(struct ce_engine *ce, const char *name, const char *usage, const char *help,
        ce_console_cmd_h *cmd, ce_console_complete_h *complete, void *arg)
{
	struct ce_console *con = ce_engine_console(ce);
	struct cmd *c;
	bool found;
	guint i;

	if (!name || !*name || strpbrk(name, " \t\r\n") || !cmd)
		return -EINVAL;
	i = cmd_find(con, name, &found);
	if (found)
		return -EEXIST;
	c = g_new0(struct cmd, 1);
	c->name = g_strdup(name);
	c->usage = g_strdup(usage && *usage ? usage : NULL);
	c->help = g_strdup(help);
	c->cmd = cmd;
	c->complete = complete;
	c->arg = arg;
	g_ptr_array_insert(con->cmds, (gint)i, c);
	return 0;
}

/** Remove the sub-command @name (nothing if unknown). */
void ce_console_remove(struct ce_engine *ce, const char *name)
{
	struct ce_console *con = ce_engine_console(ce);
	bool found;
	guint i = cmd_find(con, name, &found);

	if (found)
		g_ptr_array_remove_index(con->cmds, i);
}

static int provider_find(const struct ce_console *con, const char *key)
{
	guint i;

	for (i = 0; i < con->providers->len; i++) {
		if (!strcmp(((struct provider *)g_ptr_array_index(con->providers, i))->key, key))
			return (int)i;
	}
	return -1;
}

/**
 * Add a status provider under @key; it appends "k=v,..." to the status
 * line.  Returns 0, -EINVAL or -EEXIST.
 */
int ce_console_add_status(struct ce_engine *ce, const char *key, ce_console_status_h *st, void *arg)
{
	struct ce_console *con = ce_engine_console(ce);
	struct provider *pr;

	if (!key || !*key || !st)
		return -EINVAL;
	if (provider_find(con, key) >= 0)
		return -EEXIST;
	pr = g_new0(struct provider, 1);
	pr->key = g_strdup(key);
	pr->st = st;
	pr->arg = arg;
	g_ptr_array_add(con->providers, pr);
	return 0;
}

/** Remove the status provider @key (nothing if unknown). */
void ce_console_remove_status(struct ce_engine *ce, const char *key)
{
	struct ce_console *con = ce_engine_console(ce);
	int i = provider_find(con, key);

	if (i >= 0)
		g_ptr_array_remove_index(con->providers, (guint)i);
}

/**
 * Offer @candidate as a completion of @partword (NULL or "" matches all):
 * appended to @out, TAB-separated, as Yate's console expects.
 */
void ce_console_complete_add(GString *out, const char *partword, const char *candidate)
{
	if (partword && !g_str_has_prefix(candidate, partword))
		return;
	if (out->len)
		g_string_append_c(out, '\t');
	g_string_append(out, candidate);
}

/** Split @line on blanks, dropping empty words; sets *@argc. Free with g_strfreev. */
char **ce_console_split(const char *line, int *argc)
{
	char **v = g_strsplit_set(line ? line : "", " \t\r\n", -1);
	int i, n = 0;

	for (i = 0; v[i]; i++) {
		if (*v[i])
			v[n++] = v[i];
		else
			g_free(v[i]);
	}
	v[n] = NULL;
	*argc = n;
	return v;
}

/* "<lead>conf NAME USAGE\r\n" */
static void usage_line_with(const char *lead, const struct cmd *c, GString *out)
{
	g_string_append_printf(out, "%s" CE_CONSOLE_PREFIX " %s%s%s\r\n", lead, c->name,
	        c->usage ? " " : "", c->usage ? c->usage : "");
}

static void usage_line(const struct cmd *c, GString *out)
{
	usage_line_with("  ", c, out);
}

/** Append one "  conf NAME USAGE" line per command to @out (for "help"). */
void ce_console_usage_lines(struct ce_engine *ce, GString *out)
{
	struct ce_console *con = ce_engine_console(ce);
	guint i;

	for (i = 0; i < con->cmds->len; i++)
		usage_line(g_ptr_array_index(con->cmds, i), out);
}

/**
 * Append the help of command @name (its usage line, then its description)
 * or, with @name NULL, of every command.  Returns 0 or -ENOENT.
 */
int ce_console_help(struct ce_engine *ce, const char *name, GString *out)
{
	struct ce_console *con = ce_engine_console(ce);
	const struct cmd *c;
	guint i;

	if (name) {
		if (!(c = cmd_get(ce, name)))
			return -ENOENT;
		usage_line(c, out);
		if (c->help)
			g_string_append_printf(out, "%s\r\n", c->help);
		return 0;
	}
	for (i = 0; i < con->cmds->len; i++) {
		c = g_ptr_array_index(con->cmds, i);
		usage_line(c, out);
		if (c->help)
			g_string_append_printf(out, "    %s\r\n", c->help);
	}
	return 0;
}

/**
 * Run "conf @argv[0] @argv[1]...", appending its output to @out: no
 * sub-command gives the help, an unknown one a hint, a usage error the
 * usage line after whatever the command printed.
 */
void ce_console_execute(struct ce_engine *ce, int argc, char **argv, GString *out)
{
	const struct cmd *c;

	if (argc < 1) {
		ce_console_help(ce, NULL, out);
		return;
	}
	c = cmd_get(ce, argv[0]);
	if (!c) {
		g_string_append_printf(out,
		        CE_CONSOLE_PREFIX ": unknown command '%s'; try: " CE_CONSOLE_PREFIX
		                          " help\r\n",
		        argv[0]);
		return;
	}
	if (c->cmd(ce, argc - 1, argv + 1, out, c->arg) < 0) {
		usage_line_with("usage: ", c, out);
	}
}

static void complete_names(struct ce_engine *ce, const char *partword, GString *out)
{
	struct ce_console *con = ce_engine_console(ce);
	guint i;

	for (i = 0; i < con->cmds->len; i++)
		ce_console_complete_add(
		        out, partword, ((struct cmd *)g_ptr_array_index(con->cmds, i))->name);
}

/**
 * Complete the word @partword after @partline (the whole line before it):
 * "conf" as a first word or after "help", the sub-command names after
 * "conf" or "help conf", and a sub-command's own completer after
 * "conf NAME ...".  Candidates are appended to @out.
 */
void ce_console_complete(
        struct ce_engine *ce, const char *partline, const char *partword, GString *out)
{
	int argc;
	char **argv = ce_console_split(partline, &argc);
	bool conf = argc >= 1 && !strcmp(argv[0], CE_CONSOLE_PREFIX);
	const struct cmd *c;

	if (argc == 0 || (argc == 1 && !strcmp(argv[0], "help")))
		ce_console_complete_add(out, partword, CE_CONSOLE_PREFIX);
	else if ((argc == 1 && conf) ||
	         (argc == 2 && !strcmp(argv[0], "help") && !strcmp(argv[1], CE_CONSOLE_PREFIX)))
		complete_names(ce, partword, out);
	else if (conf && (c = cmd_get(ce, argv[1])) && c->complete)
		c->complete(ce, partline, partword, out, c->arg);
	g_strfreev(argv);
}

/** Append every provider's "k=v" pairs to @out, comma separated. */
void ce_console_status(struct ce_engine *ce, GString *out)
{
	struct ce_console *con = ce_engine_console(ce);
	gsize start = out->len;
	guint i;

	for (i = 0; i < con->providers->len; i++) {
		const struct provider *pr = g_ptr_array_index(con->providers, i);
		gsize before = out->len;

		if (out->len > start)
			g_string_append_c(out, ',');
		pr->st(ce, out, pr->arg);
		if (out->len == before + (before > start ? 1 : 0))
			g_string_truncate(out, before);
	}
}
