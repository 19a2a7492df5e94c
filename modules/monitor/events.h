/* events.h - the service "monitor": the recent event lines and the live ones, for other modules */
#ifndef CE_MONITOR_EVENTS_H
#define CE_MONITOR_EVENTS_H

#include <glib.h>

struct ce_engine;
struct ce_monitor;
struct ce_store;

/*
 * The monitor keeps its last [monitor] resume_events JSON lines (events and
 * CDRs, exactly as the event log writes them, without the newline) in
 * memory, numbered by their "seq", and hands every new one to its
 * listeners on the main loop.  The HTTP API streams them (docs/http.md).
 *
 * The numbering survives a restart: a run of the engine numbers its lines
 * from its run id + 1 on, densely, and the run id is the start time in
 * microseconds since the epoch, so a later run's ids are all greater
 * (ce_monitor_run()).  With a store every line is also kept in its table
 * event_stream with its id and run (ce_monitor_store()), from where a
 * client resumes beyond what memory keeps.
 */
#define CE_MONITOR_SERVICE "monitor"

struct ce_monitor_line {
	guint64 seq;
	const char *room;     /* or NULL */
	gint64 conference_id; /* > 0: the schedule's conference */
	const char *text;     /* one JSON object, no newline */
	gsize len;
};

typedef void(ce_monitor_line_h)(const struct ce_monitor_line *line, void *arg);

struct ce_monitor *ce_monitor_service(struct ce_engine *ce);

/* Add (remove) a listener of every new line; the pair identifies it. Returns 0 or -errno. */
int ce_monitor_listen(struct ce_monitor *r, ce_monitor_line_h *h, void *arg);
void ce_monitor_unlisten(struct ce_monitor *r, ce_monitor_line_h *h, void *arg);

/* The id before this run's first line: the lines of this run are numbered from it + 1. */
guint64 ce_monitor_run(struct ce_monitor *r);

/* The store that keeps every line (struct ce_stream_line), or NULL: none does. */
struct ce_store *ce_monitor_store(struct ce_monitor *r);

/*
 * Call @h for the lines kept with seq > @since, oldest first, until they
 * add up to @max_bytes (0: all); @h NULL: none.  Returns the seq of the
 * oldest line kept (the newest + 1 when none is): lines between @since and
 * it are no longer kept.  *@newest gets the newest seq there is (the
 * run's id before the first line).
 */
guint64 ce_monitor_replay(struct ce_monitor *r, guint64 since, gsize max_bytes,
        ce_monitor_line_h *h, void *arg, guint64 *newest);

/*
 * Add a line of another module to the numbered stream (log, subscribers,
 * event stream): {"type":@type,"seq":N,"node":...,"time":...@members}, where
 * @members is JSON members each led by a comma (",\"id\":\"c1\""), or "".
 * @room (may be NULL) is what the stream's ?room= filter compares.  The HTTP
 * API's outbound calls post "call" lines.  Returns 0 or -ENODEV (no monitor).
 */
int ce_monitor_post(struct ce_monitor *r, const char *type, const char *room, const char *members);

/* monitor.c's side */
typedef void(ce_monitor_post_h)(const char *type, const char *room, const char *members, void *arg);
void ce_monitor_ring_set_post(struct ce_monitor *r, ce_monitor_post_h *h, void *arg);
int ce_monitor_ring_new(struct ce_monitor **rp, unsigned keep, guint64 run);
void ce_monitor_ring_set_store(struct ce_monitor *r, struct ce_store *st);
void ce_monitor_ring_free(struct ce_monitor *r);
void ce_monitor_ring_push(struct ce_monitor *r, const struct ce_monitor_line *line);

#endif
