/* guard.c - the PIN guard: sliding windows of wrong PINs and the lockouts they trigger */
#define G_LOG_DOMAIN "schedule"

#include <errno.h>
#include <string.h>

#include "modules/schedule/guard.h"

#define ANONYMOUS "anonymous" /* the key of callers without a number */

/*
 * One counted name (a caller number, a conference, or the total): the
 * times of its last failures in a ring of window->limit entries, so a
 * window never holds more than the limit and memory stays bounded.
 */
struct count {
	char *name;
	gint64 *t;     /* failure times, oldest at head */
	unsigned head; /* index of the oldest */
	unsigned n;    /* failures in the ring */
	gint64 locked_until;
	GList *link; /* in the table's lru, oldest failure first */
};

/* Names of one scope, forgotten oldest-first past max. */
struct table {
	GHashTable *by_name; /* name -> struct count (owned) */
	GQueue lru;
	unsigned max;
	const struct guard_window *w;
};

struct pin_guard {
	struct guard_limits lim;
	struct table callers, confs;
	struct count total;
	struct guard_stats st;
};

static void count_free(gpointer data)
{
	struct count *c = data;

	g_free(c->name);
	g_free(c->t);
	g_free(c);
}

static void table_init(struct table *tb, const struct guard_window *w, unsigned max)
{
	tb->by_name = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, count_free);
	g_queue_init(&tb->lru);
	tb->max = max;
	tb->w = w;
}

static void table_clear(struct table *tb)
{
	g_queue_clear(&tb->lru);
	g_hash_table_destroy(tb->by_name);
}

static void table_drop(struct table *tb, struct count *c)
{
	g_queue_delete_link(&tb->lru, c->link);
	g_hash_table_remove(tb->by_name, c->name);
}

/* Forget failures older than the window; true if nothing is left to remember. */
static bool count_expire(struct count *c, const struct guard_window *w, gint64 now)
{
	gint64 since = now - (gint64)w->window_s * G_USEC_PER_SEC;

	while (c->n && c->t[c->head] <= since) {
		c->head = (c->head + 1) % w->limit;
		c->n--;
	}
	return !c->n && c->locked_until <= now;
}

/* The entry of @name, made (and the oldest forgotten past max) when @make. */
static struct count *table_get(struct table *tb, const char *name, gint64 now, bool make)
{
	struct count *c = g_hash_table_lookup(tb->by_name, name);
	struct count *old;

	if (c || !make)
		return c;
	/* stale entries go first, then the oldest failure if still too many */
	while ((old = g_queue_peek_head(&tb->lru)) &&
	        (count_expire(old, tb->w, now) || g_queue_get_length(&tb->lru) >= tb->max))
		table_drop(tb, old);
	c = g_new0(struct count, 1);
	c->name = g_strdup(name);
	c->t = g_new(gint64, tb->w->limit);
	g_hash_table_insert(tb->by_name, c->name, c);
	g_queue_push_tail(&tb->lru, c);
	c->link = g_queue_peek_tail_link(&tb->lru);
	return c;
}

/**
 * ce_guard_new() - a guard with @lim (copied); every limit, window and
 * max_callers must be at least 1.  Returns 0 or -EINVAL.
 */
int ce_guard_new(struct pin_guard **gp, const struct guard_limits *lim)
{
	struct pin_guard *g;

	if (!lim->caller.limit || !lim->conference.limit || !lim->total.limit ||
	        !lim->caller.window_s || !lim->conference.window_s || !lim->total.window_s ||
	        !lim->max_callers)
		return -EINVAL;
	g = g_new0(struct pin_guard, 1);
	g->lim = *lim;
	table_init(&g->callers, &g->lim.caller, lim->max_callers);
	/* conferences are names the store knew; the same bound keeps them finite anyway */
	table_init(&g->confs, &g->lim.conference, lim->max_callers);
	g->total.name = g_strdup("total");
	g->total.t = g_new(gint64, lim->total.limit);
	*gp = g;
	return 0;
}

/** ce_guard_free() - free @g (NULL is fine) */
void ce_guard_free(struct pin_guard *g)
{
	if (!g)
		return;
	table_clear(&g->callers);
	table_clear(&g->confs);
	g_free(g->total.name);
	g_free(g->total.t);
	g_free(g);
}

static const char *caller_key(const char *caller)
{
	return caller && *caller ? caller : ANONYMOUS;
}

static gint64 lock_left(const struct count *c, gint64 now)
{
	return c && c->locked_until > now ? c->locked_until - now : 0;
}

/**
 * ce_guard_locked() - seconds (rounded up) until @caller may enter a PIN
 * for @conf, 0 if no lock holds.  A refusal is counted when not 0.
 */
unsigned ce_guard_locked(struct pin_guard *g, const char *caller, const char *conf, gint64 now)
{
	gint64 left = lock_left(&g->total, now);

	left = MAX(left, lock_left(table_get(&g->callers, caller_key(caller), now, false), now));
	if (conf)
		left = MAX(left, lock_left(table_get(&g->confs, conf, now, false), now));
	if (!left)
		return 0;
	g->st.refusals++;
	return (unsigned)MIN((left + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC, (gint64)G_MAXUINT);
}

/* Count a failure at @now in @c; true if that reached the limit (then @c is locked). */
static bool count_fail(
        struct count *c, const struct guard_window *w, unsigned lockout_s, gint64 now)
{
	count_expire(c, w, now);
	c->t[(c->head + c->n) % w->limit] = now;
	if (++c->n < w->limit)
		return false;
	c->n = 0;
	c->head = 0;
	c->locked_until = now + (gint64)lockout_s * G_USEC_PER_SEC;
	return true;
}

/* Count a failure of @c in @scope; logs and returns true if that locked it. */
static bool fail_in(struct pin_guard *g, struct table *tb, struct count *c, enum guard_scope scope,
        const char *caller, const char *conf, gint64 now)
{
	const struct guard_window *w = scope == GUARD_CALLER       ? &g->lim.caller
	                               : scope == GUARD_CONFERENCE ? &g->lim.conference
	                                                           : &g->lim.total;

	if (tb) { /* the most recent failure goes last: eviction takes the oldest */
		g_queue_unlink(&tb->lru, c->link);
		g_queue_push_tail_link(&tb->lru, c->link);
	}
	if (!count_fail(c, w, g->lim.lockout_s, now))
		return false;
	g->st.lockouts++;
	g_warning("PIN guard: %u wrong PINs in %u s reached the %s limit: PIN entry %s locked "
	          "for %u s (caller %s, conference %s)",
	        w->limit, w->window_s, ce_guard_scope_name(scope),
	        scope == GUARD_CALLER       ? "of this caller"
	        : scope == GUARD_CONFERENCE ? "to this conference"
	                                    : "to every conference",
	        g->lim.lockout_s, caller_key(caller), conf ? conf : "-");
	return true;
}

/**
 * ce_guard_fail() - count a wrong PIN of @caller (NULL or "": the shared
 * anonymous key) for @conf (NULL: overall only).  Returns the widest
 * scope that this failure locked, or GUARD_NONE; each lock is logged once.
 */
enum guard_scope ce_guard_fail(
        struct pin_guard *g, const char *caller, const char *conf, gint64 now)
{
	struct count *cc = table_get(&g->callers, caller_key(caller), now, true);
	struct count *cf = conf ? table_get(&g->confs, conf, now, true) : NULL;
	enum guard_scope locked = GUARD_NONE;

	g->st.failures++;
	if (fail_in(g, &g->callers, cc, GUARD_CALLER, caller, conf, now))
		locked = GUARD_CALLER;
	if (cf && fail_in(g, &g->confs, cf, GUARD_CONFERENCE, caller, conf, now))
		locked = GUARD_CONFERENCE;
	if (fail_in(g, NULL, &g->total, GUARD_TOTAL, caller, conf, now))
		locked = GUARD_TOTAL;
	return locked;
}

/** ce_guard_stats() - the counters and how many caller numbers are remembered */
void ce_guard_stats(const struct pin_guard *g, struct guard_stats *st)
{
	*st = g->st;
	st->callers = g_hash_table_size(g->callers.by_name);
}

/** ce_guard_scope_name() - "caller", "conference", "total" or "none" */
const char *ce_guard_scope_name(enum guard_scope scope)
{
	switch (scope) {
	case GUARD_CALLER:
		return "caller";
	case GUARD_CONFERENCE:
		return "conference";
	case GUARD_TOTAL:
		return "total";
	case GUARD_NONE:
	default:
		return "none";
	}
}
