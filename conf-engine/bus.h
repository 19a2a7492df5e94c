/* bus.h - the message bus: handlers by name, priority and filter; watchers; the Yate uplink */
#ifndef CE_BUS_H
#define CE_BUS_H

#include <stdbool.h>
#include <glib.h>

#include "room-event.h"

struct ce_bus;
struct ce_msg;
struct ce_dispatch;

/*
 * Semantics, in short (docs/console.md and bus.c say more):
 *
 * Handlers.  Installed per message name with a priority; a dispatch calls
 * them in ascending priority (lower number first, as in Yate), equal
 * priorities in installation order.  An optional filter (fname, fvalue)
 * restricts a handler to messages whose parameter @fname equals @fvalue
 * exactly.  A dispatch calls the handlers that were installed when it began
 * and are still installed when their turn comes: handlers may install and
 * uninstall (themselves included) at any time, also from inside a call.
 * A handler's destroy notify runs once it is uninstalled and no call of
 * it is running.
 *
 * Results.  CE_MSG_CONTINUE passes the message on, CE_MSG_HANDLED ends the
 * dispatch with handled=true, CE_MSG_DEFERRED pauses it until the handler
 * calls ce_dispatch_complete(d, handled) once: true ends it, false resumes
 * with the next handler.  Completing from inside the handler call, before
 * returning CE_MSG_DEFERRED, is allowed.  If the deferring handler is
 * uninstalled meanwhile, the dispatch still waits for its completion (the
 * owner must complete what it deferred, e.g. in its exit) and then goes on
 * with the handlers after it.  At the end msg->processed is set, the done
 * callback runs, then the watchers of that name.  Dispatches may nest.
 *
 * Watchers.  See a message after its dispatch ended, with its outcome, in
 * installation order.  A watcher flagged CE_BUS_LOCAL sees messages as the
 * engine dispatched them; any other watcher makes the engine watch the name
 * in Yate and sees each message once: Yate's own messages through Yate's
 * report (ce_bus_notify_uplink), with the outcome of all of Yate's handlers,
 * the engine's messages after their local dispatch or send.  A watcher
 * flagged CE_BUS_YATE_ONLY sees only Yate's reports, never the engine's own.
 *
 * Room events.  The engine's own rooms tell what happens in them as a typed
 * struct ce_room_event (room-event.h), not as a message: subscribers get
 * each one at once, in order; the conference module builds Yate's
 * chan.notify from the same struct.
 *
 * Yate side.  For every name with a handler not flagged CE_BUS_LOCAL the
 * bus wants one Yate relay, at the lowest priority number among those
 * handlers, filtered only if all of them have the same filter; it tells the
 * uplink with relay() whenever that (prio, filter) changes, and relay(prio
 * -1) when the last such handler goes.  Likewise watch(on/off) for the first
 * and last watcher not flagged CE_BUS_LOCAL.
 */

/* What a handler did with a message. */
enum ce_msg_result {
	CE_MSG_CONTINUE = 0, /* not mine (parameters may be changed): next handler */
	CE_MSG_HANDLED,      /* processed: dispatch stops, answer "true" */
	CE_MSG_DEFERRED,     /* will call ce_dispatch_complete() later */
};

/* Handler flags. */
enum {
	CE_BUS_LOCAL = 1 << 0, /* never exported to Yate as install/watch */
	/* a watcher of Yate's messages only: the engine's own never reach it */
	CE_BUS_YATE_ONLY = 1 << 1,
};

/*
 * A handler.  @d identifies this dispatch; a handler that returns
 * CE_MSG_DEFERRED keeps it (and may ce_msg_ref the message) and calls
 * ce_dispatch_complete(d, handled) exactly once, from the main loop.
 */
typedef enum ce_msg_result(ce_msg_h)(struct ce_dispatch *d, struct ce_msg *msg, void *arg);
/* A watcher: sees a message after its dispatch ended, with the outcome. */
typedef void(ce_watch_h)(struct ce_msg *msg, bool handled, void *arg);
/* The end of a dispatch or of a message sent to Yate. */
typedef void(ce_msg_done_h)(struct ce_msg *msg, bool handled, void *arg);

/*
 * What the bus needs from the Yate side (the session in yate.c):
 *  relay:  the engine now needs (prio >= 0) or no longer needs (prio < 0)
 *          a Yate relay for @name; fname/fvalue are NULL or a filter.
 *  watch:  start/stop watching @name in Yate.
 *  send:   deliver @msg to Yate, call @done with the answer (msg updated in
 *          place) or with handled=false on timeout or when no link is up
 *          (on a timeout, also call ce_bus_note_timeout for the counters).
 */
struct ce_uplink_ops {
	void (*relay)(void *arg, const char *name, int prio, const char *fname, const char *fvalue);
	void (*watch)(void *arg, const char *name, bool on);
	void (*send)(void *arg, struct ce_msg *msg, unsigned timeout_ms, ce_msg_done_h *done,
	        void *done_arg);
};

int ce_bus_new(struct ce_bus **busp);
void ce_bus_free(struct ce_bus *bus);

int ce_bus_install(struct ce_bus *bus, const char *name, unsigned prio, const char *fname,
        const char *fvalue, unsigned flags, ce_msg_h *h, void *arg, GDestroyNotify destroy);
int ce_bus_uninstall(struct ce_bus *bus, unsigned id);
int ce_bus_uninstall_by(struct ce_bus *bus, const char *name, ce_msg_h *h, void *arg);
int ce_bus_watch(struct ce_bus *bus, const char *name, unsigned flags, ce_watch_h *h, void *arg,
        GDestroyNotify destroy);
int ce_bus_unwatch(struct ce_bus *bus, unsigned id);

void ce_bus_dispatch(struct ce_bus *bus, struct ce_msg *msg, ce_msg_done_h *done, void *arg);
void ce_bus_dispatch_uplink(struct ce_bus *bus, struct ce_msg *msg, ce_msg_done_h *done, void *arg);
void ce_bus_send(struct ce_bus *bus, struct ce_msg *msg, unsigned timeout_ms, ce_msg_done_h *done,
        void *arg);
void ce_bus_notify_watchers(struct ce_bus *bus, struct ce_msg *msg, bool handled);
void ce_bus_notify_uplink(struct ce_bus *bus, struct ce_msg *msg, bool handled);
void ce_dispatch_complete(struct ce_dispatch *d, bool handled);
struct ce_msg *ce_dispatch_msg(const struct ce_dispatch *d);
gint64 ce_dispatch_age(const struct ce_dispatch *d);

int ce_bus_room_subscribe(struct ce_bus *bus, ce_room_event_h *h, void *arg);
int ce_bus_room_unsubscribe(struct ce_bus *bus, ce_room_event_h *h, void *arg);
void ce_bus_room_event(struct ce_bus *bus, const struct ce_room_event *ev);

void ce_bus_set_uplink(struct ce_bus *bus, const struct ce_uplink_ops *ops, void *arg);
void ce_bus_resync_uplink(struct ce_bus *bus);
void ce_bus_note_timeout(struct ce_bus *bus);

/* Counters for status lines and tests. */
struct ce_bus_stats {
	unsigned handlers, watchers;
	guint64 dispatched, handled, deferred, sent, sent_timeout;
};
void ce_bus_get_stats(const struct ce_bus *bus, struct ce_bus_stats *st);

#define CE_BUS_DEFAULT_TIMEOUT_MS 10000

#endif
