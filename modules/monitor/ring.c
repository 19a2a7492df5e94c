/* ring.c - the monitor's recent JSON lines in memory and their live listeners (events.h) */
#define G_LOG_DOMAIN "monitor"

#include <errno.h>
#include <string.h>

#include "engine.h"
#include "events.h"

/*
 * A bounded queue of the last `keep` lines, oldest first: what a client of
 * the event stream that reconnects gets again (the seq of the last line it
 * saw, then every later one).  Memory is keep times a line (a few hundred
 * bytes).  Listeners are called in the order they came; one that leaves
 * while lines are handed out is only marked, and dropped after.
 */

struct kept {
	guint64 seq;
	char *room;
	gint64 conference_id;
	gsize len;
	char text[];
};

struct listener {
	ce_monitor_line_h *h;
	void *arg;
};

struct ce_monitor {
	GQueue lines; /* struct kept *, oldest first */
	unsigned keep;
	guint64 run; /* the id before this run's first line */
	guint64 newest;
	struct ce_store *store; /* keeps every line, or NULL */
	GArray *listeners;      /* struct listener; h NULL: left while pushing */
	bool pushing;
	ce_monitor_post_h *post; /* the monitor's: numbers and writes other modules' lines */
	void *post_arg;
};

/** A ring keeping @keep lines (0: none, no resume) of the run numbered from @run + 1. */
int ce_monitor_ring_new(struct ce_monitor **rp, unsigned keep, guint64 run)
{
	struct ce_monitor *r = g_new0(struct ce_monitor, 1);

	g_queue_init(&r->lines);
	r->keep = keep;
	r->run = r->newest = run;
	r->listeners = g_array_new(FALSE, FALSE, sizeof(struct listener));
	*rp = r;
	return 0;
}

static void kept_free(gpointer p)
{
	struct kept *k = p;

	g_free(k->room);
	g_free(k);
}

/** Free @r (NULL: nothing); its listeners must have left. */
void ce_monitor_ring_free(struct ce_monitor *r)
{
	if (!r)
		return;
	g_queue_clear_full(&r->lines, kept_free);
	g_array_free(r->listeners, TRUE);
	g_free(r);
}

static void compact(struct ce_monitor *r)
{
	for (guint i = r->listeners->len; i-- > 0;) {
		if (!g_array_index(r->listeners, struct listener, i).h)
			g_array_remove_index(r->listeners, i);
	}
}

/** Keep @line (copied) and hand it to the listeners. */
void ce_monitor_ring_push(struct ce_monitor *r, const struct ce_monitor_line *line)
{
	r->newest = line->seq;
	if (r->keep) {
		struct kept *k = g_malloc(sizeof(*k) + line->len + 1);

		k->seq = line->seq;
		k->room = g_strdup(line->room);
		k->conference_id = line->conference_id;
		k->len = line->len;
		memcpy(k->text, line->text, line->len);
		k->text[line->len] = '\0';
		g_queue_push_tail(&r->lines, k);
		while (r->lines.length > r->keep)
			kept_free(g_queue_pop_head(&r->lines));
	}
	r->pushing = true;
	for (guint i = 0; i < r->listeners->len; i++) {
		struct listener *l = &g_array_index(r->listeners, struct listener, i);

		if (l->h)
			l->h(line, l->arg);
	}
	r->pushing = false;
	compact(r);
}

/** The monitor's numbering and writing of other modules' lines (ce_monitor_post). */
void ce_monitor_ring_set_post(struct ce_monitor *r, ce_monitor_post_h *h, void *arg)
{
	r->post = h;
	r->post_arg = arg;
}

/** See events.h. */
int ce_monitor_post(struct ce_monitor *r, const char *type, const char *room, const char *members)
{
	if (!r || !r->post)
		return -ENODEV;
	r->post(type, room, members, r->post_arg);
	return 0;
}

/** The store the monitor hands every line to (NULL: none). */
void ce_monitor_ring_set_store(struct ce_monitor *r, struct ce_store *st)
{
	r->store = st;
}

/** See events.h. */
guint64 ce_monitor_run(struct ce_monitor *r)
{
	return r->run;
}

/** See events.h. */
struct ce_store *ce_monitor_store(struct ce_monitor *r)
{
	return r->store;
}

/** The monitor module's ring, or NULL without the module. */
struct ce_monitor *ce_monitor_service(struct ce_engine *ce)
{
	return ce_engine_service(ce, CE_MONITOR_SERVICE);
}

/** See events.h. */
int ce_monitor_listen(struct ce_monitor *r, ce_monitor_line_h *h, void *arg)
{
	struct listener l = {h, arg};

	if (!r)
		return -ENODEV;
	g_array_append_val(r->listeners, l);
	return 0;
}

/** See events.h. */
void ce_monitor_unlisten(struct ce_monitor *r, ce_monitor_line_h *h, void *arg)
{
	for (guint i = 0; r && i < r->listeners->len; i++) {
		struct listener *l = &g_array_index(r->listeners, struct listener, i);

		if (l->h == h && l->arg == arg) {
			l->h = NULL;
			break;
		}
	}
	if (r && !r->pushing)
		compact(r);
}

/** See events.h. */
guint64 ce_monitor_replay(struct ce_monitor *r, guint64 since, gsize max_bytes,
        ce_monitor_line_h *h, void *arg, guint64 *newest)
{
	const struct kept *oldest = g_queue_peek_head(&r->lines);
	gsize bytes = 0;

	/* from the newest back to the first after @since, then forward from there */
	GList *n = r->lines.tail;

	while (n && n->prev && ((const struct kept *)n->prev->data)->seq > since)
		n = n->prev;
	for (; h && n && (!max_bytes || bytes < max_bytes); n = n->next) {
		const struct kept *k = n->data;
		const struct ce_monitor_line line = {
		        k->seq, k->room, k->conference_id, k->text, k->len};

		if (k->seq <= since)
			continue;
		h(&line, arg);
		bytes += k->len;
	}
	*newest = r->newest;
	return oldest ? oldest->seq : r->newest + 1;
}
