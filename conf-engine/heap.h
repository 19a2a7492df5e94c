/* heap.h - the allocator's figures for the status line */
#ifndef CE_HEAP_H
#define CE_HEAP_H

#include <glib.h>

struct ce_engine;

void ce_heap_status(struct ce_engine *ce, GString *out, void *arg);

#endif
