/* mailbox.h - the one shape of every hand-over between threads: a bounded ring of fixed-size items
 */
#ifndef CE_MAILBOX_H
#define CE_MAILBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

/*
 * A mailbox carries items of one fixed size (a struct copied in, or a
 * pointer) from any number of threads to a consumer, in order.  It is a
 * ring under a mutex held only to copy one item, so a producer never waits
 * for the consumer: a full mailbox refuses the item (-EAGAIN) and the
 * producer decides (count it, drop it, keep it for later).
 *
 * The ring starts with @cap slots and grows, by doubling, up to @max_cap
 * (0: no limit).  A real-time producer (a media thread) gives max_cap ==
 * cap, so that a put never allocates; the slots are written once when the
 * mailbox is made, so its memory is all resident from the start.
 *
 * The consumer takes items in one of three ways, whichever suits its thread:
 *  - ce_mbox_get(): take one if there is one (a media thread, at its wakes);
 *  - ce_mbox_wait(): block until one comes, or a timeout (a worker thread);
 *  - ce_mbox_watch(): a GLib main context calls a handler for every item
 *    (an eventfd wakes it; one write per empty-to-non-empty change).
 */
struct ce_mbox;

/* A watched mailbox's handler: @item points to a copy, valid during the call. */
typedef void ce_mbox_h(void *item, void *data);

struct ce_mbox *ce_mbox_new(size_t item_size, unsigned cap, unsigned max_cap);
/* Items left in it are not freed: drain them with ce_mbox_get() first. */
void ce_mbox_free(struct ce_mbox *mb);

int ce_mbox_put(struct ce_mbox *mb, const void *item);
/* The same, ahead of every item waiting (a "stop" that must not wait its turn). */
int ce_mbox_put_front(struct ce_mbox *mb, const void *item);
bool ce_mbox_get(struct ce_mbox *mb, void *item);
/* Block until an item comes (true) or @timeout_us passes (false); < 0: no timeout. */
bool ce_mbox_wait(struct ce_mbox *mb, void *item, gint64 timeout_us);
unsigned ce_mbox_count(struct ce_mbox *mb);

/* Deliver every item to @fn on @ctx (NULL: the default context); 0 or -errno. */
int ce_mbox_watch(struct ce_mbox *mb, GMainContext *ctx, ce_mbox_h *fn, void *data);
/* Stop delivering; items still waiting stay for ce_mbox_get(). */
void ce_mbox_unwatch(struct ce_mbox *mb);
/* Deliver now, on the calling thread, what is waiting (a watched mailbox). */
void ce_mbox_dispatch(struct ce_mbox *mb);

#endif
