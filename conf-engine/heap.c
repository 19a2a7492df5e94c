/* heap.c - the allocator's figures for the status line (glibc's mallinfo2) */
#define G_LOG_DOMAIN "ce-heap"

#include "ce-autoconf.h"

#ifdef HAVE_MALLOC_H
#include <malloc.h>
#endif

#include "heap.h"

/**
 * Status provider: heap_used= KiB the program holds through malloc (every
 * arena and the blocks mmapped on their own), heap_free= KiB the allocator
 * keeps for later allocations without giving them back to the system.
 * Nothing where the C library has no mallinfo2().
 */
void ce_heap_status(struct ce_engine *ce, GString *out, void *arg)
{
#ifdef HAVE_MALLINFO2
	struct mallinfo2 mi = mallinfo2();

	g_string_append_printf(out, "heap_used=%zu,heap_free=%zu", (mi.uordblks + mi.hblkhd) / 1024,
	        mi.fordblks / 1024);
#endif
}
