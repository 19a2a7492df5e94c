/* module.c - the order modules start in: each after those its requires names, then by name */
#define G_LOG_DOMAIN "ce-engine"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine-private.h"
#include "module.h"

/* The domain of the start order's errors; the code is the errno returned. */
#define ENGINE_ERROR g_quark_from_static_string("ce-engine")

static int name_cmp(gconstpointer a, gconstpointer b)
{
	const struct ce_module_desc *ma = *(const struct ce_module_desc *const *)a;
	const struct ce_module_desc *mb = *(const struct ce_module_desc *const *)b;

	return strcmp(ma->name, mb->name);
}

/* The module called @name among @mods (@n), or NULL. */
static const struct ce_module_desc *find_desc(
        const struct ce_module_desc *const *mods, unsigned n, const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(mods[i]->name, name))
			return mods[i];
	return NULL;
}

/* Whether every module @m requires that is among @mods (@n) is in @done (@n_done). */
static bool requires_done(const struct ce_module_desc *m, const struct ce_module_desc *const *mods,
        unsigned n, const struct ce_module_desc *const *done, unsigned n_done)
{
	for (const struct ce_module_req *r = m->requires; r && r->name; r++)
		if (find_desc(mods, n, r->name) && !find_desc(done, n_done, r->name))
			return false;
	return true;
}

/* A required module of @m that is missing from @mods (@n), or NULL. */
static const char *missing_requirement(
        const struct ce_module_desc *m, const struct ce_module_desc *const *mods, unsigned n)
{
	for (const struct ce_module_req *r = m->requires; r && r->name; r++)
		if (!r->optional && !find_desc(mods, n, r->name))
			return r->name;
	return NULL;
}

/*
 * The cycle that stops @left (@n_left modules none of which can start), as
 * "a -> b -> a": from the first, follow a requirement still waiting until a
 * module comes round again.
 */
static char *describe_cycle(const struct ce_module_desc *const *left, unsigned n_left)
{
	const struct ce_module_desc **path = g_new0(const struct ce_module_desc *, n_left + 1);
	const struct ce_module_desc *m = left[0];
	GString *s = g_string_new(NULL);
	unsigned len = 0, from = 0;

	while (!find_desc(path, len, m->name) && len < n_left) {
		const struct ce_module_req *r = m->requires;

		path[len++] = m;
		while (r && r->name && !find_desc(left, n_left, r->name))
			r++;
		m = find_desc(left, n_left, r->name);
	}
	while (path[from] != m)
		from++;
	for (unsigned i = from; i < len; i++)
		g_string_append_printf(s, "%s -> ", path[i]->name);
	g_string_append(s, m->name);
	g_free(path);
	return g_string_free(s, FALSE);
}

/**
 * Put @mods (@n) in start order into @order: every module after those its
 * requires names, and among the modules free to start the first by name.
 * Returns 0, -ENOENT when a module requires one that is not in @mods, or
 * -ELOOP when requires form a cycle; @err then names the modules.
 */
int ce_module_order(const struct ce_module_desc *const *mods, unsigned n,
        const struct ce_module_desc **order, GError **err)
{
	const struct ce_module_desc **left = g_new(const struct ce_module_desc *, n + 1);
	unsigned n_left = n, done = 0, i;
	int r = 0;

	memcpy(left, mods, n * sizeof(*mods));
	qsort(left, n, sizeof(*left), name_cmp);
	for (i = 0; i < n && !r; i++) {
		const char *miss = missing_requirement(left[i], mods, n);

		if (miss) {
			g_set_error(err, ENGINE_ERROR, ENOENT,
			        "module %s requires %s, which is not among the modules to start",
			        left[i]->name, miss);
			r = -ENOENT;
		}
	}
	while (!r && n_left) {
		for (i = 0; i < n_left && !requires_done(left[i], mods, n, order, done); i++)
			;
		if (i == n_left) {
			char *cycle = describe_cycle(left, n_left);

			g_set_error(err, ENGINE_ERROR, ELOOP,
			        "module %s cannot start: its requires form a cycle (%s)",
			        left[0]->name, cycle);
			g_free(cycle);
			r = -ELOOP;
			break;
		}
		order[done++] = left[i];
		memmove(left + i, left + i + 1, (--n_left - i) * sizeof(*left));
	}
	g_free(left);
	return r;
}
