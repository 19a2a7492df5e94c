/* dispatch.c - Yate's message dispatcher, made asynchronous for one thread */
/*
 * Yate keeps one list of handlers sorted by priority and walks it for every
 * message, calling each handler whose name equals the message's *current*
 * name: a handler may rename the message (chan.masquerade does) and the
 * walk goes on with handlers of the new name.  Each handler with a track
 * name appends "module:prio" to the handlers= parameter before it runs.
 *
 * A handler that relays the message to an external module cannot block
 * here, so it returns SIM_PENDING and the walk resumes when the module
 * answers (or the timeout fires).  The position in the walk is kept as
 * (priority, install order), so handlers may come and go meanwhile.
 */
#define G_LOG_DOMAIN "sim"

#include <string.h>

#include "sim.h"

struct sim_disp {
	struct sim *s;
	struct ce_msg *msg;
	struct sim_mod *origin;
	char *chan; /* id of the channel attached to the message (Yate's userData), or NULL */
	unsigned prio, seq; /* last handler run */
	bool started;
	bool handled;
	bool running; /* inside run(): resume() must not recurse */
	int resumed;  /* -1 none, else the handled flag given to resume() */
	sim_done_h *done;
	void *arg;
};

static int handler_cmp(gconstpointer a, gconstpointer b)
{
	const struct sim_handler *x = *(struct sim_handler *const *)a;
	const struct sim_handler *y = *(struct sim_handler *const *)b;

	if (x->prio != y->prio)
		return x->prio < y->prio ? -1 : 1;
	return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

static struct sim_handler *add_handler(struct sim *s, const char *name, unsigned prio,
        const char *track, sim_handler_h *h, void *arg)
{
	struct sim_handler *hd = g_new0(struct sim_handler, 1);

	hd->name = g_strdup(name);
	hd->prio = prio;
	hd->seq = ++s->handler_seq;
	hd->track = track ? g_strdup_printf("%s:%u", track, prio) : NULL;
	hd->h = h;
	hd->arg = arg;
	g_ptr_array_add(s->handlers, hd);
	g_ptr_array_sort(s->handlers, handler_cmp);
	return hd;
}

/** Install a built-in handler; @track is the module name shown in handlers=. */
int ce_sim_install(struct sim *s, const char *name, unsigned prio, const char *track,
        sim_handler_h *h, void *arg)
{
	add_handler(s, name, prio, track, h, arg);
	return 0;
}

static enum ce_sim_res relay_h(struct sim_disp *d, struct ce_msg *m, void *arg);

/** Install a relay to module @mod; returns the handler (owned by the list). */
struct sim_handler *ce_sim_install_relay(struct sim *s, struct sim_mod *mod, const char *name,
        unsigned prio, const char *fname, const char *fvalue)
{
	struct sim_handler *hd = add_handler(s, name, prio, NULL, relay_h, NULL);

	hd->arg = hd;
	hd->mod = mod;
	hd->fname = g_strdup(fname);
	hd->fvalue = g_strdup(fvalue);
	return hd;
}

static void handler_free(struct sim_handler *hd)
{
	g_free(hd->name);
	g_free(hd->track);
	g_free(hd->fname);
	g_free(hd->fvalue);
	g_free(hd);
}

/** Remove and free @hd; running dispatches skip it from now on. */
void ce_sim_uninstall(struct sim *s, struct sim_handler *hd)
{
	if (g_ptr_array_remove(s->handlers, hd))
		handler_free(hd);
}

static bool after(const struct sim_disp *d, const struct sim_handler *hd)
{
	if (!d->started)
		return true;
	return hd->prio > d->prio || (hd->prio == d->prio && hd->seq > d->seq);
}

static bool matches(const struct sim_handler *hd, const struct ce_msg *m)
{
	if (strcmp(hd->name, m->name))
		return false;
	if (!hd->fname)
		return true;
	return !g_strcmp0(ce_msg_get(m, hd->fname), hd->fvalue);
}

static struct sim_handler *next_handler(struct sim_disp *d)
{
	GPtrArray *hs = d->s->handlers;
	unsigned i;

	for (i = 0; i < hs->len; i++) {
		struct sim_handler *hd = hs->pdata[i];
		if (after(d, hd) && matches(hd, d->msg))
			return hd;
	}
	return NULL;
}

static void track(struct ce_msg *m, const char *name)
{
	const char *cur = ce_msg_get(m, "handlers");

	if (!cur) {
		ce_msg_add(m, "handlers", name);
		return;
	}
	char *v = g_strconcat(cur, ",", name, NULL);
	ce_msg_set(m, "handlers", v);
	g_free(v);
}

static void finish(struct sim_disp *d)
{
	struct sim *s = d->s;

	s->disps = g_list_remove(s->disps, d);
	s->dispatched++;
	d->msg->processed = d->handled;
	ce_sim_event_msg(s, "message", d->msg, d->handled);
	ce_sim_mod_report_watch(s, d->msg, d->handled, d->origin);
	if (d->done)
		d->done(s, d->msg, d->handled, d->arg);
	ce_msg_unref(d->msg);
	g_free(d->chan);
	g_free(d);
}

/* Messages every handler sees even after one handled them (Yate's broadcast flag). */
static bool broadcast(const struct ce_msg *m)
{
	return !strcmp(m->name, "engine.timer");
}

static void run(struct sim_disp *d)
{
	struct sim_handler *hd;

	d->running = true;
	while ((hd = next_handler(d))) {
		enum ce_sim_res r;

		d->started = true;
		d->prio = hd->prio;
		d->seq = hd->seq;
		if (hd->track)
			track(d->msg, hd->track);
		d->resumed = -1;
		r = hd->h(d, d->msg, hd->arg);
		if (r == SIM_PENDING) {
			if (d->resumed < 0) {
				d->running = false;
				return;
			}
			r = d->resumed ? SIM_HANDLED : SIM_CONTINUE;
		}
		if (r == SIM_HANDLED) {
			d->handled = true;
			if (!broadcast(d->msg))
				break;
		}
	}
	d->running = false;
	finish(d);
}

/**
 * Dispatch @m (a reference is taken) through every handler in priority
 * order; @origin is the module that sent it (it will not get it back),
 * @done is called once with the outcome, after the watchers.
 */
void ce_sim_dispatch(
        struct sim *s, struct ce_msg *m, struct sim_mod *origin, sim_done_h *done, void *arg)
{
	struct sim_disp *d = g_new0(struct sim_disp, 1);

	d->s = s;
	d->msg = ce_msg_ref(m);
	d->origin = origin;
	d->done = done;
	d->arg = arg;
	d->resumed = -1;
	s->disps = g_list_prepend(s->disps, d);
	run(d);
}

/** A pending handler's outcome: continue the walk or end it as handled. */
void ce_sim_disp_resume(struct sim_disp *d, bool handled)
{
	if (d->running) {
		d->resumed = handled;
		return;
	}
	if (handled) {
		d->handled = true;
		if (!broadcast(d->msg)) {
			finish(d);
			return;
		}
	}
	run(d);
}

struct ce_msg *ce_sim_disp_msg(struct sim_disp *d)
{
	return d->msg;
}

struct sim *ce_sim_disp_sim(struct sim_disp *d)
{
	return d->s;
}

/** The module that sent the message, NULL for the simulator's own. */
struct sim_mod *ce_sim_disp_origin(struct sim_disp *d)
{
	return d->origin;
}

/** Attach channel @id to the message, as Yate's chan.masquerade does with msg.userData(chan). */
void ce_sim_disp_set_chan(struct sim_disp *d, const char *id)
{
	g_free(d->chan);
	d->chan = g_strdup(id);
}

/**
 * The channel a call.execute comes from: the one a masquerade attached, else
 * for the simulator's own messages the one named by id=.  A module's plain
 * message carries none, as in Yate (no userData).
 */
struct sim_chan *ce_sim_disp_chan(struct sim_disp *d, const struct ce_msg *m)
{
	if (d->chan)
		return ce_sim_chan_find(d->s, d->chan);
	if (d->origin)
		return NULL;
	return ce_sim_chan_find(d->s, ce_msg_get(m, "id"));
}

struct queued {
	struct ce_msg *msg;
	sim_done_h *done;
	void *arg;
};

static gboolean enqueued_cb(gpointer data)
{
	struct sim *s = data;
	struct queued *q;

	s->enqueue_src = 0;
	while ((q = g_queue_pop_head(&s->enqueued))) {
		ce_sim_dispatch(s, q->msg, NULL, q->done, q->arg);
		ce_msg_unref(q->msg);
		g_free(q);
	}
	return G_SOURCE_REMOVE;
}

/**
 * Yate's Engine::enqueue: dispatch @m (ownership taken) later, after the
 * current dispatch chain has run, in the order messages were enqueued;
 * @done (may be NULL) sees the outcome.  @arg must be NULL or g_free()-able:
 * it is freed that way if the simulator stops before the dispatch.
 */
void ce_sim_enqueue_cb(struct sim *s, struct ce_msg *m, sim_done_h *done, void *arg)
{
	struct queued *q = g_new0(struct queued, 1);

	q->msg = m;
	q->done = done;
	q->arg = arg;
	g_queue_push_tail(&s->enqueued, q);
	/*
	 * Yate's enqueued messages are taken at once by the engine's dispatcher
	 * threads, long before a module can react to a report of the message
	 * that caused them (transcript 1: the dumb channel's chan.startup comes
	 * before the answers to the module's chan.masquerade).  Above the
	 * sockets' priority, so that order does not depend on which source the
	 * main loop happens to pick first when both are ready.
	 */
	if (!s->enqueue_src)
		s->enqueue_src = g_idle_add_full(G_PRIORITY_HIGH, enqueued_cb, s, NULL);
}

/** ce_sim_enqueue_cb() without a callback. */
void ce_sim_enqueue(struct sim *s, struct ce_msg *m)
{
	ce_sim_enqueue_cb(s, m, NULL, NULL);
}

/** At exit: drop queued messages and handlers (pending dispatches are abandoned). */
void ce_sim_dispatch_free_all(struct sim *s)
{
	struct queued *q;

	while ((q = g_queue_pop_head(&s->enqueued))) {
		ce_msg_unref(q->msg);
		g_free(q->arg);
		g_free(q);
	}
	if (s->enqueue_src)
		g_source_remove(s->enqueue_src);
	s->enqueue_src = 0;
	while (s->disps) {
		struct sim_disp *d = s->disps->data;
		s->disps = g_list_delete_link(s->disps, s->disps);
		ce_msg_unref(d->msg);
		g_free(d->chan);
		g_free(d);
	}
	for (unsigned i = 0; i < s->handlers->len; i++)
		handler_free(s->handlers->pdata[i]);
	g_ptr_array_set_size(s->handlers, 0);
}

static enum ce_sim_res relay_h(struct sim_disp *d, struct ce_msg *m, void *arg)
{
	struct sim_handler *hd = arg;

	if (d->origin == hd->mod && !ce_sim_mod_reenter(hd->mod))
		return SIM_CONTINUE;
	if (!ce_sim_mod_alive(hd->mod))
		return SIM_CONTINUE;
	ce_sim_mod_send_msg(hd->mod, d, m);
	return SIM_PENDING;
}
