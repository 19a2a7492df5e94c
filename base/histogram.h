/* histogram.h - fixed-bucket histograms that one thread counts and others read without a lock */
#ifndef CE_HISTOGRAM_H
#define CE_HISTOGRAM_H

#include <stdint.h>

#include "base/atomic.h"

/*
 * The owner thread counts with ce_hist_observe() (CE_COUNTER_ADD: no
 * locked instruction, so a media thread's hot path can afford it); any
 * other thread adds a snapshot into its own copy with ce_hist_merge().
 * Buckets hold what fell in them alone, not cumulated, so a reader's
 * snapshot is consistent bucket by bucket: the total is their sum.
 */

#define CE_HIST_MAX 16 /* finite buckets at most */

/* Upper bounds (inclusive, increasing), in the unit observed. */
struct ce_hist_bounds {
	unsigned n;
	uint64_t le[CE_HIST_MAX];
};

struct ce_hist {
	uint64_t bucket[CE_HIST_MAX + 1]; /* [n]: above the last bound */
	uint64_t sum;
};

/* Count @v (owner thread only). */
static inline void ce_hist_observe(struct ce_hist *h, const struct ce_hist_bounds *b, uint64_t v)
{
	unsigned i = 0;

	while (i < b->n && v > b->le[i])
		i++;
	CE_COUNTER_ADD(&h->bucket[i], 1);
	CE_COUNTER_ADD(&h->sum, v);
}

/* Add what @src has counted so far to @dst (any thread; @dst is the caller's own). */
static inline void ce_hist_merge(struct ce_hist *dst, const struct ce_hist *src)
{
	for (unsigned i = 0; i <= CE_HIST_MAX; i++)
		dst->bucket[i] += CE_ATOMIC_GET(&src->bucket[i]);
	dst->sum += CE_ATOMIC_GET(&src->sum);
}

#endif
