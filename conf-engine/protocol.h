/* protocol.h - Yate external-module protocol: one line <-> one struct ce_line */
#ifndef CE_PROTOCOL_H
#define CE_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

struct ce_msg;

/*
 * Every keyword of the protocol, in both directions (the engine speaks the
 * application side, the router simulator in tests/ speaks Yate's side).
 * The kind says the shape of the line, not who sent it:
 *
 *   CE_LINE_MESSAGE      %%>message:<id>:<time>:<name>:<retval>[:<k>=<v>...]
 *   CE_LINE_ANSWER       %%<message:<id>:<processed>:[<name>]:<retval>[:<k>[=<v>]...]
 *   CE_LINE_INSTALL      %%>install:[<prio>]:<name>[:<fname>[:<fvalue>]]
 *   CE_LINE_INSTALLED    %%<install:<prio>:<name>:<success>
 *   CE_LINE_UNINSTALL    %%>uninstall:<name>
 *   CE_LINE_UNINSTALLED  %%<uninstall:<prio>:<name>:<success>
 *   CE_LINE_WATCH        %%>watch:<name>
 *   CE_LINE_WATCHED      %%<watch:<name>:<success>
 *   CE_LINE_UNWATCH      %%>unwatch:<name>
 *   CE_LINE_UNWATCHED    %%<unwatch:<name>:<success>
 *   CE_LINE_SETLOCAL     %%>setlocal:<name>:<value>
 *   CE_LINE_SETLOCAL_ANS %%<setlocal:<name>:<value>:<success>
 *   CE_LINE_OUTPUT       %%>output:<arbitrary unescaped text>
 *   CE_LINE_DEBUG        %%>debug:<level>:<escaped text>
 *   CE_LINE_CONNECT      %%>connect:<role>[:<id>][:<type>]
 *   CE_LINE_QUIT         %%>quit
 *   CE_LINE_QUIT_ANS     %%<quit
 *   CE_LINE_ERROR        Error in:<original line>   (Yate writes "Error in: ")
 */
enum ce_line_kind {
	CE_LINE_MESSAGE = 1,
	CE_LINE_ANSWER,
	CE_LINE_INSTALL,
	CE_LINE_INSTALLED,
	CE_LINE_UNINSTALL,
	CE_LINE_UNINSTALLED,
	CE_LINE_WATCH,
	CE_LINE_WATCHED,
	CE_LINE_UNWATCH,
	CE_LINE_UNWATCHED,
	CE_LINE_SETLOCAL,
	CE_LINE_SETLOCAL_ANS,
	CE_LINE_OUTPUT,
	CE_LINE_DEBUG,
	CE_LINE_CONNECT,
	CE_LINE_QUIT,
	CE_LINE_QUIT_ANS,
	CE_LINE_ERROR,
};

/*
 * A parsed line.  Which fields are used depends on the kind:
 *   MESSAGE/ANSWER: msg (id, time, name, retval, processed, params; in an
 *                   ANSWER a parameter without '=' has a NULL value and an
 *                   empty name means "unchanged")
 *   INSTALL:        priority (-1 when empty: Yate's default 100), name,
 *                   fname/fvalue (NULL when absent)
 *   INSTALLED/UNINSTALLED: priority, name, success
 *   UNINSTALL/WATCH/UNWATCH: name;  WATCHED/UNWATCHED: name, success
 *   SETLOCAL:       name, value;  SETLOCAL_ANS: name, value, success
 *   OUTPUT:         text;  DEBUG: level, text
 *   CONNECT:        name = role, value = channel id (or NULL), text = type (or NULL)
 *   ERROR:          text = the original line
 */
struct ce_line {
	enum ce_line_kind kind;
	struct ce_msg *msg;
	char *name;
	char *value;
	char *text;
	char *fname;
	char *fvalue;
	int priority;
	int level;
	bool success;
};

/* Limits on what the parser accepts; a line over them is an error. */
struct ce_proto_limits {
	size_t max_line;     /* bytes, without the newline */
	unsigned max_params; /* key=value pairs in one message */
};

#define CE_PROTO_MAX_LINE_DEFAULT   (256 * 1024)
#define CE_PROTO_MAX_PARAMS_DEFAULT 4096

#define CE_PROTO_ERROR ce_proto_error_quark()
GQuark ce_proto_error_quark(void);
enum ce_proto_error_code {
	CE_PROTO_ERROR_KEYWORD,  /* unknown keyword */
	CE_PROTO_ERROR_SYNTAX,   /* missing fields, bad number or boolean */
	CE_PROTO_ERROR_ESCAPE,   /* bad %-escape or raw control byte */
	CE_PROTO_ERROR_TOO_LONG, /* line over max_line */
	CE_PROTO_ERROR_TOO_MANY, /* more than max_params parameters */
};

const struct ce_proto_limits *ce_proto_default_limits(void);

/*
 * ce_line_parse: @text need not be NUL-terminated; @lim NULL = defaults.
 * Returns 0 or -EINVAL/-E2BIG with @err set; on error @line is left empty.
 * ce_line_format appends the line without its newline. See docs/protocol.md.
 */

int ce_line_parse(struct ce_line *line, const char *text, size_t len,
        const struct ce_proto_limits *lim, GError **err);
void ce_line_clear(struct ce_line *line);
void ce_line_format(GString *out, const struct ce_line *line);

void ce_proto_format_message(GString *out, const struct ce_msg *m);
void ce_proto_format_answer(GString *out, const struct ce_msg *m, bool processed);

void ce_proto_escape(GString *out, const char *s, char extra);
int ce_proto_unescape(GString *out, const char *s, size_t len, char extra);

/*
 * Line framing for a byte stream: bytes go in, whole lines come out.
 * An over-long line is skipped up to the next newline (resynchronisation)
 * and reported twice: when it goes over the limit, with its first bytes
 * (a %%>message in it still needs an answer), and when it ends, with its
 * length.  Memory stays bounded by max_line (0: the default).
 * The line given to ce_line_h has no newline, is NOT NUL-terminated and is
 * valid only during the call; bytes are kept exactly (a '\r' stays).
 */
struct ce_linebuf;
typedef void(ce_line_h)(const char *line, size_t len, void *arg);

/* An over-long line, as reported to ce_overflow_h (valid only during the call). */
struct ce_overflow {
	const char *head; /* its first bytes, not NUL-terminated */
	size_t head_len;  /* CE_LINEBUF_HEAD, or less if max_line or the line is shorter */
	size_t len;       /* its bytes so far; once ended, its length without the newline */
	bool ended;       /* false: it just went over the limit; true: its newline came */
};
typedef void(ce_overflow_h)(const struct ce_overflow *o, void *arg);

#define CE_LINEBUF_HEAD 1024 /* bytes of an over-long line kept to tell what it was */

int ce_linebuf_new(struct ce_linebuf **lbp, size_t max_line);
void ce_linebuf_free(struct ce_linebuf *lb);
void ce_linebuf_feed(struct ce_linebuf *lb, const char *data, size_t len, ce_line_h *lineh,
        ce_overflow_h *overh, void *arg);
size_t ce_linebuf_pending(const struct ce_linebuf *lb);

#endif
