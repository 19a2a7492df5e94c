/* bus.c - the message bus: ordered handlers, deferred dispatches, watchers, Yate relays
 *
 * Over 700 lines: the dispatch loop, deferred answers, watchers and the
 * relays to Yate share the handler lists and their generation counter; the
 * rules that keep a dispatch safe while handlers come and go are checked
 * in one place.
 */
#define G_LOG_DOMAIN "ce-bus"

#include <errno.h>
#include <string.h>

#include "bus.h"
#include "message.h"

/*
 * Every message name has an entry with its handlers, kept sorted by
 * (prio, seq), and its watchers, sorted by seq; seq is a bus-wide install
 * counter, so equal priorities keep installation order.  Entries live as
 * long as the bus (message names are a small, fixed set).
 *
 * A dispatch remembers the (prio, seq) of the last handler it called.  The
 * next handler is the first one after that key whose seq is not newer than
 * the dispatch itself; while the entry's handler list is unchanged (same
 * generation) that is simply the next index, otherwise it is searched
 * again.  Hence installing or uninstalling anything during a dispatch, even
 * the running handler, never leaves a dangling position.  A hook is
 * reference counted: the list holds one reference and each running call
 * another, so its destroy notify runs after its last call.
 */

struct entry;

struct hook {
	unsigned id;
	gint refs;
	bool watcher;
	struct entry *ne;
	unsigned prio;
	guint64 seq;
	char *fname, *fvalue;
	unsigned flags;
	ce_msg_h *h;
	ce_watch_h *wh;
	void *arg;
	GDestroyNotify destroy;
};

struct entry {
	char *name;
	GPtrArray *handlers; /* struct hook *, sorted by (prio, seq) */
	GPtrArray *watchers; /* struct hook *, sorted by seq */
	guint hgen, wgen;    /* bumped on every change of the lists */
	/* what the uplink was last told */
	bool relayed;
	unsigned rprio;
	char *rfname, *rfvalue;
	unsigned n_remote_watchers;
};

struct ce_bus {
	gint refs;
	GHashTable *names; /* name -> struct entry */
	GHashTable *hooks; /* GUINT_TO_POINTER(id) -> struct hook */
	unsigned next_id;
	guint64 seq;
	const struct ce_uplink_ops *ops;
	void *ops_arg;
	struct ce_bus_stats st;
	GArray *rooms; /* struct room_hook: subscribers to the engine's room events */
};

/* A subscriber to the engine's own room events. */
struct room_hook {
	ce_room_event_h *h;
	void *arg;
};

enum mode {
	MODE_LOCAL,  /* the engine's message, dispatched inside only */
	MODE_SEND,   /* the engine's message, to Yate if no handler took it */
	MODE_UPLINK, /* Yate's message, delivered through our relay */
};

enum state {
	ST_RUNNING,
	ST_IN_CALL, /* inside a handler: a completion now is an early one */
	ST_WAITING, /* deferred: waiting for ce_dispatch_complete */
};

struct ce_dispatch {
	struct ce_bus *bus;
	struct ce_msg *msg;
	struct entry *ne; /* NULL: no handler ever installed for the name */
	enum mode mode;
	enum state state;
	guint64 start_seq;
	gint64 born; /* monotonic us: the message arrived */
	bool started;
	unsigned last_prio;
	guint64 last_seq;
	guint gen, idx;
	bool early, early_handled;
	unsigned timeout_ms;
	ce_msg_done_h *done;
	void *done_arg;
};

/* Which watchers a notification reaches. */
enum scope {
	SCOPE_ALL,
	SCOPE_LOCAL,  /* only those flagged CE_BUS_LOCAL */
	SCOPE_REMOTE, /* only those that Yate reports to */
};

static struct ce_bus *bus_ref(struct ce_bus *bus)
{
	bus->refs++;
	return bus;
}

static void entry_free(gpointer p)
{
	struct entry *ne = p;

	g_ptr_array_unref(ne->handlers);
	g_ptr_array_unref(ne->watchers);
	g_free(ne->rfname);
	g_free(ne->rfvalue);
	g_free(ne->name);
	g_free(ne);
}

static void bus_unref(struct ce_bus *bus)
{
	if (--bus->refs)
		return;
	g_hash_table_unref(bus->hooks);
	g_hash_table_unref(bus->names);
	g_array_unref(bus->rooms);
	g_free(bus);
}

static struct hook *hook_ref(struct hook *k)
{
	k->refs++;
	return k;
}

static void hook_unref(struct hook *k)
{
	if (--k->refs)
		return;
	if (k->destroy)
		k->destroy(k->arg);
	g_free(k->fname);
	g_free(k->fvalue);
	g_free(k);
}

/**
 * Create an empty bus with no uplink.
 * Returns 0; the caller frees it with ce_bus_free().
 */
int ce_bus_new(struct ce_bus **busp)
{
	struct ce_bus *bus = g_new0(struct ce_bus, 1);

	bus->refs = 1;
	bus->names = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, entry_free);
	bus->hooks = g_hash_table_new(g_direct_hash, g_direct_equal);
	bus->rooms = g_array_new(FALSE, FALSE, sizeof(struct room_hook));
	bus->next_id = 1;
	*busp = bus;
	return 0;
}

static struct entry *entry_get(struct ce_bus *bus, const char *name, bool create)
{
	struct entry *ne = g_hash_table_lookup(bus->names, name);

	if (ne || !create)
		return ne;
	ne = g_new0(struct entry, 1);
	ne->name = g_strdup(name);
	ne->handlers = g_ptr_array_new();
	ne->watchers = g_ptr_array_new();
	g_hash_table_insert(bus->names, ne->name, ne);
	return ne;
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static void announce_relay(struct ce_bus *bus, struct entry *ne)
{
	if (bus->ops && bus->ops->relay)
		bus->ops->relay(bus->ops_arg, ne->name, ne->relayed ? (int)ne->rprio : -1,
		        ne->rfname, ne->rfvalue);
}

static void announce_watch(struct ce_bus *bus, struct entry *ne)
{
	if (bus->ops && bus->ops->watch)
		bus->ops->watch(bus->ops_arg, ne->name, ne->n_remote_watchers > 0);
}

/* Recompute the relay @ne needs in Yate and tell the uplink if it changed. */
static void update_relay(struct ce_bus *bus, struct entry *ne)
{
	const struct hook *first = NULL;
	bool same_filter = true;
	unsigned prio = 0;
	guint i;

	for (i = 0; i < ne->handlers->len; i++) {
		const struct hook *k = g_ptr_array_index(ne->handlers, i);

		if (k->flags & CE_BUS_LOCAL)
			continue;
		if (!first) {
			first = k;
			prio = k->prio;
		} else if (!same_str(k->fname, first->fname) ||
		           !same_str(k->fvalue, first->fvalue)) {
			same_filter = false;
		}
	}
	const char *fn = first && same_filter ? first->fname : NULL;
	const char *fv = first && same_filter ? first->fvalue : NULL;

	if (!first && !ne->relayed)
		return;
	if (first && ne->relayed && prio == ne->rprio && same_str(fn, ne->rfname) &&
	        same_str(fv, ne->rfvalue))
		return;
	ne->relayed = first != NULL;
	ne->rprio = prio;
	g_free(ne->rfname);
	g_free(ne->rfvalue);
	ne->rfname = g_strdup(fn);
	ne->rfvalue = g_strdup(fv);
	announce_relay(bus, ne);
}

static int hook_cmp(const struct hook *a, unsigned prio, guint64 seq)
{
	if (a->prio != prio)
		return a->prio < prio ? -1 : 1;
	if (a->seq != seq)
		return a->seq < seq ? -1 : 1;
	return 0;
}

/* Index of the first hook of @a after (prio, seq). */
static guint find_after(GPtrArray *a, unsigned prio, guint64 seq)
{
	guint lo = 0, hi = a->len;

	while (lo < hi) {
		guint mid = lo + (hi - lo) / 2;

		if (hook_cmp(g_ptr_array_index(a, mid), prio, seq) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct hook *hook_new(struct ce_bus *bus, struct entry *ne, unsigned prio, unsigned flags,
        void *arg, GDestroyNotify destroy)
{
	struct hook *k = g_new0(struct hook, 1);

	k->id = bus->next_id++;
	if (!bus->next_id)
		bus->next_id = 1;
	k->refs = 1;
	k->ne = ne;
	k->prio = prio;
	k->seq = ++bus->seq;
	k->flags = flags;
	k->arg = arg;
	k->destroy = destroy;
	g_hash_table_insert(bus->hooks, GUINT_TO_POINTER(k->id), k);
	return k;
}

/**
 * Install handler @h for messages called @name at priority @prio (lower
 * runs first), optionally only where parameter @fname equals @fvalue (both
 * NULL for no filter).  @flags: CE_BUS_LOCAL keeps it out of Yate.  @destroy
 * is called on @arg once the handler is uninstalled and not running.
 * Returns the handler id (> 0) or -EINVAL; on error @arg stays the caller's.
 */
int ce_bus_install(struct ce_bus *bus, const char *name, unsigned prio, const char *fname,
        const char *fvalue, unsigned flags, ce_msg_h *h, void *arg, GDestroyNotify destroy)
{
	struct entry *ne;
	struct hook *k;

	if (!name || !*name || !h || !fname != !fvalue || (fname && !*fname) || prio > G_MAXINT)
		return -EINVAL;
	ne = entry_get(bus, name, true);
	k = hook_new(bus, ne, prio, flags, arg, destroy);
	k->h = h;
	k->fname = g_strdup(fname);
	k->fvalue = g_strdup(fvalue);
	g_ptr_array_insert(ne->handlers, (gint)find_after(ne->handlers, prio, k->seq), k);
	ne->hgen++;
	bus->st.handlers++;
	update_relay(bus, ne);
	return (int)k->id;
}

/**
 * Install watcher @h for messages called @name (see the header for what
 * CE_BUS_LOCAL changes).  Returns the watcher id (> 0) or -EINVAL.
 */
int ce_bus_watch(struct ce_bus *bus, const char *name, unsigned flags, ce_watch_h *h, void *arg,
        GDestroyNotify destroy)
{
	struct entry *ne;
	struct hook *k;

	if (!name || !*name || !h)
		return -EINVAL;
	ne = entry_get(bus, name, true);
	k = hook_new(bus, ne, 0, flags, arg, destroy);
	k->watcher = true;
	k->wh = h;
	g_ptr_array_add(ne->watchers, k);
	ne->wgen++;
	bus->st.watchers++;
	if (!(flags & CE_BUS_LOCAL) && ne->n_remote_watchers++ == 0)
		announce_watch(bus, ne);
	return (int)k->id;
}

static void hook_remove(struct ce_bus *bus, struct hook *k)
{
	struct entry *ne = k->ne;

	g_hash_table_remove(bus->hooks, GUINT_TO_POINTER(k->id));
	if (k->watcher) {
		g_ptr_array_remove(ne->watchers, k);
		ne->wgen++;
		bus->st.watchers--;
		if (!(k->flags & CE_BUS_LOCAL) && --ne->n_remote_watchers == 0)
			announce_watch(bus, ne);
	} else {
		g_ptr_array_remove(ne->handlers, k);
		ne->hgen++;
		bus->st.handlers--;
		update_relay(bus, ne);
	}
	hook_unref(k);
}

static int remove_id(struct ce_bus *bus, unsigned id, bool watcher)
{
	struct hook *k = g_hash_table_lookup(bus->hooks, GUINT_TO_POINTER(id));

	if (!k)
		return -ENOENT;
	if (k->watcher != watcher)
		return -EINVAL;
	hook_remove(bus, k);
	return 0;
}

/**
 * Uninstall handler @id; safe from inside any handler, itself included.
 * Returns 0, -ENOENT if unknown or -EINVAL if @id is a watcher.
 */
int ce_bus_uninstall(struct ce_bus *bus, unsigned id)
{
	return remove_id(bus, id, false);
}

/**
 * Uninstall every handler of @name that is (@h, @arg).
 * Returns how many were removed, or -ENOENT if none.
 */
int ce_bus_uninstall_by(struct ce_bus *bus, const char *name, ce_msg_h *h, void *arg)
{
	struct entry *ne = name ? entry_get(bus, name, false) : NULL;
	int n = 0;
	guint i = 0;

	while (ne && i < ne->handlers->len) {
		struct hook *k = g_ptr_array_index(ne->handlers, i);

		if (k->h == h && k->arg == arg) {
			hook_remove(bus, k);
			n++;
		} else {
			i++;
		}
	}
	return n ? n : -ENOENT;
}

/** Remove watcher @id. Returns 0, -ENOENT or -EINVAL (a handler id). */
int ce_bus_unwatch(struct ce_bus *bus, unsigned id)
{
	return remove_id(bus, id, true);
}

/**
 * Uninstall every handler and watcher (their destroy notifies run, without
 * telling the uplink) and release the bus.  Dispatches still pending keep
 * what they need and end normally when completed.
 */
void ce_bus_free(struct ce_bus *bus)
{
	GList *ids, *l;

	if (!bus)
		return;
	bus->ops = NULL;
	ids = g_hash_table_get_keys(bus->hooks);
	for (l = ids; l; l = l->next) {
		struct hook *k = g_hash_table_lookup(bus->hooks, l->data);

		if (k)
			hook_remove(bus, k);
	}
	g_list_free(ids);
	bus_unref(bus);
}

static bool filter_ok(const struct hook *k, const struct ce_msg *msg)
{
	const char *v;

	if (!k->fname)
		return true;
	v = ce_msg_get(msg, k->fname);
	return v && !strcmp(v, k->fvalue);
}

static struct hook *next_handler(struct ce_dispatch *d)
{
	GPtrArray *a;
	guint i;

	if (!d->ne)
		return NULL;
	a = d->ne->handlers;
	if (!d->started)
		i = 0;
	else if (d->gen == d->ne->hgen)
		i = d->idx + 1;
	else
		i = find_after(a, d->last_prio, d->last_seq);
	for (; i < a->len; i++) {
		struct hook *k = g_ptr_array_index(a, i);

		if (k->seq > d->start_seq || !filter_ok(k, d->msg))
			continue;
		d->started = true;
		d->gen = d->ne->hgen;
		d->idx = i;
		d->last_prio = k->prio;
		d->last_seq = k->seq;
		return k;
	}
	return NULL;
}

static void notify(struct ce_bus *bus, struct ce_msg *msg, bool handled, enum scope scope)
{
	struct entry *ne = entry_get(bus, msg->name, false);
	guint64 start = bus->seq, last = 0;
	guint i = 0, gen;

	if (!ne)
		return;
	bus_ref(bus);
	gen = ne->wgen;
	while (i < ne->watchers->len) {
		struct hook *k = g_ptr_array_index(ne->watchers, i);
		bool local = k->flags & CE_BUS_LOCAL;

		i++;
		if (k->seq > start)
			break;
		last = k->seq;
		if ((scope == SCOPE_LOCAL && !local) || (scope == SCOPE_REMOTE && local) ||
		        (scope == SCOPE_ALL && (k->flags & CE_BUS_YATE_ONLY)))
			continue;
		hook_ref(k);
		k->wh(msg, handled, k->arg);
		hook_unref(k);
		if (gen != ne->wgen) {
			/* the list changed under us: continue after the last seq seen */
			for (i = 0; i < ne->watchers->len; i++) {
				if (((struct hook *)g_ptr_array_index(ne->watchers, i))->seq > last)
					break;
			}
			gen = ne->wgen;
		}
	}
	bus_unref(bus);
}

/** Tell every watcher of msg->name that @msg was dispatched with outcome @handled. */
void ce_bus_notify_watchers(struct ce_bus *bus, struct ce_msg *msg, bool handled)
{
	notify(bus, msg, handled, SCOPE_ALL);
}

/**
 * Deliver a message Yate reported to our Yate watch (%%<message with an
 * empty id): only the watchers that Yate reports to see it.
 */
void ce_bus_notify_uplink(struct ce_bus *bus, struct ce_msg *msg, bool handled)
{
	notify(bus, msg, handled, SCOPE_REMOTE);
}

static void finish(struct ce_dispatch *d, bool handled)
{
	struct ce_bus *bus = d->bus;

	d->msg->processed = handled;
	if (handled)
		bus->st.handled++;
	if (d->done)
		d->done(d->msg, handled, d->done_arg);
	notify(bus, d->msg, handled, d->mode == MODE_UPLINK ? SCOPE_LOCAL : SCOPE_ALL);
	ce_msg_unref(d->msg);
	bus_unref(bus);
	g_free(d);
}

static void uplink_done(struct ce_msg *msg, bool handled, void *arg)
{
	finish(arg, handled);
}

static void end_local(struct ce_dispatch *d, bool handled)
{
	struct ce_bus *bus = d->bus;

	if (handled || d->mode != MODE_SEND || !bus->ops || !bus->ops->send) {
		finish(d, handled);
		return;
	}
	bus->st.sent++;
	bus->ops->send(bus->ops_arg, d->msg, d->timeout_ms, uplink_done, d);
}

/* Call handlers until one takes the message, defers it, or none is left. */
static void run(struct ce_dispatch *d)
{
	struct hook *k;

	while ((k = next_handler(d))) {
		enum ce_msg_result r;

		hook_ref(k);
		d->state = ST_IN_CALL;
		r = k->h(d, d->msg, k->arg);
		d->state = ST_RUNNING;
		hook_unref(k);
		if (r == CE_MSG_DEFERRED) {
			d->bus->st.deferred++;
			if (!d->early) {
				d->state = ST_WAITING;
				return;
			}
			d->early = false;
			r = d->early_handled ? CE_MSG_HANDLED : CE_MSG_CONTINUE;
		} else if (d->early) {
			g_critical(
			        "%s: handler completed a dispatch it did not defer", d->msg->name);
			d->early = false;
		}
		if (r == CE_MSG_HANDLED) {
			end_local(d, true);
			return;
		}
	}
	end_local(d, false);
}

static void start(struct ce_bus *bus, struct ce_msg *msg, enum mode mode, unsigned timeout_ms,
        ce_msg_done_h *done, void *arg)
{
	struct ce_dispatch *d = g_new0(struct ce_dispatch, 1);

	d->bus = bus_ref(bus);
	d->msg = ce_msg_ref(msg);
	d->ne = entry_get(bus, msg->name, false);
	d->mode = mode;
	d->start_seq = bus->seq;
	d->born = g_get_monotonic_time();
	d->timeout_ms = timeout_ms ? timeout_ms : CE_BUS_DEFAULT_TIMEOUT_MS;
	d->done = done;
	d->done_arg = arg;
	bus->st.dispatched++;
	run(d);
}

/**
 * Dispatch the engine's own @msg to the local handlers only.  @done (may be
 * NULL) runs at the end, possibly before this returns, then the watchers.
 * The bus holds a reference to @msg meanwhile.
 */
void ce_bus_dispatch(struct ce_bus *bus, struct ce_msg *msg, ce_msg_done_h *done, void *arg)
{
	start(bus, msg, MODE_LOCAL, 0, done, arg);
}

/**
 * Dispatch @msg that Yate delivered through one of our relays; @done gives
 * the answer.  As ce_bus_dispatch, but afterwards only CE_BUS_LOCAL
 * watchers run: Yate reports the message to the others itself.
 */
void ce_bus_dispatch_uplink(struct ce_bus *bus, struct ce_msg *msg, ce_msg_done_h *done, void *arg)
{
	start(bus, msg, MODE_UPLINK, 0, done, arg);
}

/**
 * Send the engine's own @msg: local handlers first; if none handled it and
 * an uplink is set, Yate gets it (@timeout_ms, 0 for the default) and @done
 * gets Yate's answer, else @done gets handled=false.  Watchers then see the
 * final outcome (Yate does not report a module's own messages back).
 */
void ce_bus_send(
        struct ce_bus *bus, struct ce_msg *msg, unsigned timeout_ms, ce_msg_done_h *done, void *arg)
{
	start(bus, msg, MODE_SEND, timeout_ms, done, arg);
}

/**
 * Complete a dispatch that a handler deferred: @handled true ends it, false
 * resumes it with the next handler.  Call it exactly once per deferral.
 */
void ce_dispatch_complete(struct ce_dispatch *d, bool handled)
{
	switch (d->state) {
	case ST_IN_CALL:
		d->early = true;
		d->early_handled = handled;
		break;
	case ST_WAITING:
		d->state = ST_RUNNING;
		if (handled)
			end_local(d, true);
		else
			run(d);
		break;
	default:
		g_critical("%s: completing a dispatch that is not deferred", d->msg->name);
		break;
	}
}

/** The message of dispatch @d (borrowed). */
struct ce_msg *ce_dispatch_msg(const struct ce_dispatch *d)
{
	return d->msg;
}

/** Microseconds since the message of @d arrived (its dispatch began). */
gint64 ce_dispatch_age(const struct ce_dispatch *d)
{
	return g_get_monotonic_time() - d->born;
}

/** Announce every relay and Yate watch the engine needs (after a (re)connect). */
void ce_bus_resync_uplink(struct ce_bus *bus)
{
	GHashTableIter it;
	gpointer v;

	if (!bus->ops)
		return;
	g_hash_table_iter_init(&it, bus->names);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct entry *ne = v;

		if (ne->relayed)
			announce_relay(bus, ne);
		if (ne->n_remote_watchers)
			announce_watch(bus, ne);
	}
}

/**
 * Set (or clear, with NULL) the Yate side; @ops must outlive the bus or
 * the next call.  A new uplink is told at once every relay and watch the
 * engine needs, as by ce_bus_resync_uplink.
 */
void ce_bus_set_uplink(struct ce_bus *bus, const struct ce_uplink_ops *ops, void *arg)
{
	bus->ops = ops;
	bus->ops_arg = arg;
	ce_bus_resync_uplink(bus);
}

/* ---- the engine's own room events ---- */

static int room_hook_find(const struct ce_bus *bus, ce_room_event_h *h, void *arg)
{
	for (guint i = 0; i < bus->rooms->len; i++) {
		const struct room_hook *r = &g_array_index(bus->rooms, struct room_hook, i);

		if (r->h == h && r->arg == arg)
			return (int)i;
	}
	return -1;
}

/**
 * Call @h (with @arg) with every room event of the engine's own rooms
 * (ce_bus_room_event), at once, in the order they happen.  Returns 0, or
 * -EEXIST if (@h, @arg) subscribed already.
 */
int ce_bus_room_subscribe(struct ce_bus *bus, ce_room_event_h *h, void *arg)
{
	struct room_hook r = {h, arg};

	if (room_hook_find(bus, h, arg) >= 0)
		return -EEXIST;
	g_array_append_val(bus->rooms, r);
	return 0;
}

/** Undo ce_bus_room_subscribe(@h, @arg).  Returns 0 or -ENOENT. */
int ce_bus_room_unsubscribe(struct ce_bus *bus, ce_room_event_h *h, void *arg)
{
	int i = room_hook_find(bus, h, arg);

	if (i < 0)
		return -ENOENT;
	g_array_remove_index(bus->rooms, (guint)i);
	return 0;
}

/**
 * A room of the engine tells @ev: every subscriber gets it now, in
 * subscription order (one that unsubscribes meanwhile is not called).
 */
void ce_bus_room_event(struct ce_bus *bus, const struct ce_room_event *ev)
{
	guint n = bus->rooms->len;
	struct room_hook *copy;

	if (!n)
		return;
	copy = g_memdup2(bus->rooms->data, n * sizeof(*copy));
	bus_ref(bus);
	for (guint i = 0; i < n; i++) {
		if (room_hook_find(bus, copy[i].h, copy[i].arg) >= 0)
			copy[i].h(ev, copy[i].arg);
	}
	bus_unref(bus);
	g_free(copy);
}

/** Count a message sent to Yate that got no answer in time (called by the uplink). */
void ce_bus_note_timeout(struct ce_bus *bus)
{
	bus->st.sent_timeout++;
}

/** Copy the counters into @st. */
void ce_bus_get_stats(const struct ce_bus *bus, struct ce_bus_stats *st)
{
	*st = bus->st;
}
