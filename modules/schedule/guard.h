/* guard.h - the PIN guard: wrong PINs counted per caller, per conference and overall (private) */
#ifndef CE_SCHED_GUARD_H
#define CE_SCHED_GUARD_H

#include <stdbool.h>
#include <glib.h>

/*
 * Each wrong PIN is counted three times: under the caller's number, under
 * the conference and overall, each in its own sliding window (the
 * failures of the last window_s seconds).  When a window holds limit
 * failures, that caller, that conference's PIN entry or all PIN entry is
 * locked for lockout_s seconds.  While a lock holds, the asker is refused
 * before any PIN is compared.  Times are the engine clock (us).
 */
enum guard_scope {
	GUARD_NONE,
	GUARD_CALLER,
	GUARD_CONFERENCE,
	GUARD_TOTAL,
};

struct guard_window {
	unsigned limit;    /* failures that lock */
	unsigned window_s; /* within this many seconds */
};

struct guard_limits {
	struct guard_window caller, conference, total;
	unsigned lockout_s;
	unsigned max_callers; /* caller numbers remembered; the oldest go first */
};

struct guard_stats {
	guint64 failures;
	guint64 lockouts;
	guint64 refusals; /* askers refused because a lock held */
	unsigned callers; /* caller numbers remembered now */
};

struct pin_guard;

int ce_guard_new(struct pin_guard **gp, const struct guard_limits *lim);
void ce_guard_free(struct pin_guard *g);
unsigned ce_guard_locked(struct pin_guard *g, const char *caller, const char *conf, gint64 now);
enum guard_scope ce_guard_fail(
        struct pin_guard *g, const char *caller, const char *conf, gint64 now);
void ce_guard_stats(const struct pin_guard *g, struct guard_stats *st);
const char *ce_guard_scope_name(enum guard_scope scope);

#endif
