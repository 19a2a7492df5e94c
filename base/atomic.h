/* atomic.h - 64-bit counters and figures shared between threads (GLib has no 64-bit atomics) */
#ifndef CE_ATOMIC_H
#define CE_ATOMIC_H

/*
 * Relaxed: a counter orders nothing else, it only must not tear or lose
 * increments.  A counter several threads bump uses CE_ATOMIC_INC/ADD; one
 * that only its owner thread writes (the media threads' statistics) uses
 * CE_COUNTER_ADD, a plain load and an atomic store, as cheap as "x += n"
 * (no locked instruction) but defined when another thread reads it with
 * CE_ATOMIC_GET, and quiet under ThreadSanitizer.
 */
#define CE_ATOMIC_INC(p)     __atomic_add_fetch((p), 1, __ATOMIC_RELAXED)
#define CE_ATOMIC_ADD(p, n)  __atomic_add_fetch((p), (n), __ATOMIC_RELAXED)
#define CE_ATOMIC_GET(p)     __atomic_load_n((p), __ATOMIC_RELAXED)
#define CE_ATOMIC_SET(p, v)  __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define CE_COUNTER_ADD(p, n) __atomic_store_n((p), *(p) + (n), __ATOMIC_RELAXED)

#endif
