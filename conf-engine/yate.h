/* yate.h - the session with Yate: the bus's uplink over a link */
#ifndef CE_YATE_H
#define CE_YATE_H

#include <stdbool.h>
#include <glib.h>

struct ce_yate;
struct ce_bus;
struct ce_config;
struct ce_link;
struct ce_link_ops;

/*
 * The link's ups and downs, told to the engine's modules as a local bus
 * message (ce_bus_dispatch: never sent to Yate; watch it with CE_BUS_LOCAL):
 *
 *   ce.link state=down final=false
 *   ce.link state=up yate=6.4.1 runid=1795326762 restarted=true lastrunid=1795326700
 *
 * "down": the link is gone; final=true when it will not come back (stdin
 * closed), else a socket link reconnects by itself.  "up": Yate answered
 * %%>setlocal:engine.runid after a (re)connect, so the relays and watches
 * are back.  restarted=true when that run id differs from the one of the
 * Yate before (lastrunid): Yate was restarted while the link was down, and
 * every channel of the old Yate is gone with it.  restarted=false on the
 * first connection, with the same Yate, or when Yate did not tell its run
 * id (then runid is absent).
 */
#define CE_LINK_MSG "ce.link"

/* Called when the session wants the engine to stop: Yate said %%<quit,
 * stdin reached EOF, or a shutdown finished.  @code is the exit code. */
typedef void(ce_yate_quit_h)(void *arg, int code);

struct ce_yate_stats {
	guint64 msgs_in;      /* %%>message from Yate */
	guint64 answers_out;  /* %%<message we wrote */
	guint64 answers_drop; /* dispatches finished after their link was lost */
	guint64 msgs_out;     /* %%>message we sent */
	guint64 answers_in;   /* %%<message with an id we were waiting for */
	guint64 watched_in;   /* %%<message watcher reports */
	guint64 timeouts;     /* sends that got no answer in time */
	guint64 bad_lines;    /* lines from Yate we could not parse */
	guint64 errors_in;    /* "Error in:" lines from Yate */
	unsigned pending;     /* sends waiting for an answer */
	unsigned running;     /* dispatches of Yate's messages not answered yet */
	unsigned installs_ok, installs_refused, installs_waiting;
	unsigned watches_ok;
	unsigned links_up; /* how many times the link came up */
};

int ce_yate_new(struct ce_yate **yp, struct ce_bus *bus, const struct ce_config *cfg);
void ce_yate_free(struct ce_yate *y);
const struct ce_link_ops *ce_yate_link_ops(void);
void ce_yate_attach(struct ce_yate *y, struct ce_link *link);
void ce_yate_set_quit_handler(struct ce_yate *y, ce_yate_quit_h *quit, void *arg);
void ce_yate_shutdown(struct ce_yate *y, unsigned wait_ms);
void ce_yate_set_restart(struct ce_yate *y, bool on);
void ce_yate_hold(struct ce_yate *y, bool hold);
void ce_yate_log_to_link(struct ce_yate *y, bool on);

bool ce_yate_is_up(const struct ce_yate *y);
const char *ce_yate_version(const struct ce_yate *y);
const char *ce_yate_runid(const struct ce_yate *y);
int ce_yate_install_state(const struct ce_yate *y, const char *name);
void ce_yate_get_stats(const struct ce_yate *y, struct ce_yate_stats *st);
void ce_yate_status(const struct ce_yate *y, GString *out);

/* ce_yate_install_state() values. */
enum {
	CE_YATE_INSTALL_NONE = 0, /* not wanted, or not sent yet */
	CE_YATE_INSTALL_WAITING,  /* sent, no answer yet */
	CE_YATE_INSTALL_OK,
	CE_YATE_INSTALL_REFUSED,
};

#endif
