/* link.h - the byte stream to Yate: stdin/stdout or a socket, framed into lines */
#ifndef CE_LINK_H
#define CE_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

struct ce_link;
struct ce_overflow;

/*
 * What the link reports to its user (the session), always on the main loop:
 *  up:       the stream is ready; lines may be written.
 *  line:     one whole line from Yate, without its newline (not 0-terminated
 *            beyond @len; valid only during the call).
 *  overflow: a line longer than the limit is being dropped: reported when
 *            it goes over the limit and again when it ends (see
 *            ce_linebuf_feed in protocol.h).
 *  down:     the stream is gone.  @final is true when the link will not come
 *            back (stdin reached EOF, or ce_link_free); otherwise a socket
 *            link reconnects by itself and reports up again.
 */
struct ce_link_ops {
	void (*up)(void *arg);
	void (*line)(void *arg, const char *line, size_t len);
	void (*overflow)(void *arg, const struct ce_overflow *o);
	void (*down)(void *arg, bool final);
};

/* Tunables; zero fields take the defaults below. */
struct ce_link_opts {
	size_t max_line;        /* longest accepted input line */
	size_t max_out;         /* output backlog that counts as a broken link */
	unsigned reconnect_min; /* ms before the first reconnection attempt */
	unsigned reconnect_max; /* ms, cap of the doubling back-off */
};

#define CE_LINK_MAX_OUT_DEFAULT       (64u * 1024 * 1024)
#define CE_LINK_RECONNECT_MIN_DEFAULT 500
#define CE_LINK_RECONNECT_MAX_DEFAULT 30000

int ce_link_new_fds(struct ce_link **lp, int in_fd, int out_fd, const struct ce_link_opts *opts,
        const struct ce_link_ops *ops, void *arg);
bool ce_link_spec_valid(const char *spec);
int ce_link_new_connect(struct ce_link **lp, const char *spec, const struct ce_link_opts *opts,
        const struct ce_link_ops *ops, void *arg, GError **err);
void ce_link_start(struct ce_link *l);
void ce_link_free(struct ce_link *l);

int ce_link_write(struct ce_link *l, const char *data, size_t len);
void ce_link_flush(struct ce_link *l);
bool ce_link_is_up(const struct ce_link *l);
const char *ce_link_mode(const struct ce_link *l);
const char *ce_link_spec(const struct ce_link *l);
size_t ce_link_backlog(const struct ce_link *l);

#endif
