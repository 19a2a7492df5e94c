/* yate.c - the session with Yate: relays, watches, answers, our own messages, over a link
 *
 * Over 700 lines because the session is one state machine with Yate: the
 * relays, watches, pending requests and answers share its state, and the
 * rules that tie them (answer only changed parameters, fail pending sends
 * when the link drops) are easiest to check in one file.
 */
#define G_LOG_DOMAIN "ce-yate"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/mailbox.h"
#include "bus.h"
#include "config.h"
#include "link.h"
#include "log.h"
#include "message.h"
#include "protocol.h"
#include "yate-answer.h"
#include "yate.h"

/*
 * On each link up the session says who it is and what it needs:
 *
 *   A: %%>setlocal:restart:true
 *   A: %%>setlocal:engine.version:
 *   A: %%>setlocal:engine.runid:               (tells a restarted Yate from the
 *                                              same one after a reconnect)
 *   A: %%>setlocal:bufsize:65536              (Yate drops a module whose line
 *                                              overflows its read buffer)
 *   A: %%>install:50:call.execute            (one per name: Yate keeps one relay
 *   A: %%>watch:chan.hangup                   per name and module)
 *   E: %%<install:50:call.execute:true
 *
 * Yate's messages are dispatched on the bus and answered with only what the
 * dispatch changed, in whatever order dispatches end:
 *
 *   E: %%>message:0x7f.1:1795326762:call.execute::callto=conf/room1:id=tone/3
 *   A: %%<message:0x7f.1:false:::callto=dumb/:ce_room=room1
 *
 * (name field empty = not renamed; "name" without '=' = removed).  Our own
 * messages get ids "ce<n>" and wait for Yate's answer with a timeout; a
 * %%<message with an empty id is a watcher report.
 */

/* One relay the engine wants from Yate, and what Yate said about it. */
struct relay {
	char *name, *fname, *fvalue;
	int prio;
	int state; /* CE_YATE_INSTALL_* */
};

/* One of our messages waiting for Yate's answer. */
struct pending {
	struct ce_yate *y;
	struct ce_msg *msg;
	ce_msg_done_h *done;
	void *arg;
	guint timer;
	unsigned timeout_ms;
};

/* A dispatch of one of Yate's messages, until it is answered. */
struct running {
	GList link;        /* in ce_yate.running */
	struct ce_yate *y; /* NULL once the session is gone */
	unsigned epoch;
	struct ce_msg *msg;
	struct ce_snapshot *snap;
};

struct ce_yate {
	struct ce_bus *bus;
	struct ce_link *link;
	bool restart;
	bool hold;      /* modules are starting: their installs and watches wait */
	unsigned epoch; /* changes whenever the link goes up or down */
	bool up, quitting, quit_called;
	char *version;
	char *runid;         /* engine.runid of the last Yate that told it */
	size_t yate_bufsize; /* Yate's read buffer: no line of ours may reach it */
	GHashTable *relays;  /* name -> struct relay */
	GHashTable *watches; /* name -> GINT state */
	GHashTable *pending; /* id -> struct pending */
	GQueue failing;      /* struct pending not sent, completing from an idle */
	GQueue running;
	guint64 next_id;
	GString *buf;
	struct ce_yate_stats st;
	ce_yate_quit_h *quit;
	void *quit_arg;
	guint quit_timer;
	/* log records for the link, from any thread */
	struct ce_mbox *logq; /* char *: log records from any thread, for Yate */
	bool log_to_link;
};

#define YATE_BUFSIZE_DEFAULT 8192  /* extmodule's read buffer until told otherwise */
#define YATE_BUFSIZE_WANTED  65536 /* the most extmodule accepts */
#define OUTPUT_MAX           4000  /* bytes of one %%>output line */

/*
 * Write one line.  Yate closes a module whose line does not fit in its read
 * buffer (8 KiB, raised with setlocal bufsize), so such a line is refused
 * here with -E2BIG and the caller decides what to send instead.
 */
static int send_line(struct ce_yate *y, GString *s)
{
	if (s->len + 2 > y->yate_bufsize)
		return -E2BIG;
	g_string_append_c(s, '\n');
	if (!y->link || !y->up || y->quitting)
		return -ENOTCONN;
	return ce_link_write(y->link, s->str, s->len);
}

/* A control line "%%>KEYWORD:a[:b[:c[:d]]]" with each field escaped. */
static void send_ctl(struct ce_yate *y, const char *kw, const char *a, const char *b, const char *c,
        const char *d)
{
	const char *f[] = {a, b, c, d};
	unsigned i;

	g_string_assign(y->buf, kw);
	for (i = 0; i < G_N_ELEMENTS(f) && f[i]; i++) {
		g_string_append_c(y->buf, ':');
		ce_proto_escape(y->buf, f[i], 0);
	}
	send_line(y, y->buf);
}

static void call_quit(struct ce_yate *y, int code)
{
	if (y->quit_called)
		return;
	y->quit_called = true;
	if (y->quit)
		y->quit(y->quit_arg, code);
}

/* ---- relays and watches (the bus's uplink) ----------------------------- */

static void relay_free(gpointer p)
{
	struct relay *r = p;

	g_free(r->name);
	g_free(r->fname);
	g_free(r->fvalue);
	g_free(r);
}

static void send_install(struct ce_yate *y, struct relay *r)
{
	char prio[16];

	if (!y->up || y->hold)
		return;
	snprintf(prio, sizeof(prio), "%d", r->prio);
	send_ctl(y, "%%>install", prio, r->name, r->fname, r->fname ? r->fvalue : NULL);
	r->state = CE_YATE_INSTALL_WAITING;
}

static void up_relay(void *arg, const char *name, int prio, const char *fname, const char *fvalue)
{
	struct ce_yate *y = arg;
	struct relay *r = g_hash_table_lookup(y->relays, name);

	if (r && r->state != CE_YATE_INSTALL_NONE) {
		if (prio == r->prio && !g_strcmp0(fname, r->fname) && !g_strcmp0(fvalue, r->fvalue))
			return;
		if (y->up)
			send_ctl(y, "%%>uninstall", name, NULL, NULL, NULL);
		r->state = CE_YATE_INSTALL_NONE;
	}
	if (prio < 0) {
		g_hash_table_remove(y->relays, name);
		return;
	}
	if (!r) {
		r = g_new0(struct relay, 1);
		r->name = g_strdup(name);
		g_hash_table_insert(y->relays, r->name, r);
	}
	r->prio = prio;
	g_free(r->fname);
	g_free(r->fvalue);
	r->fname = g_strdup(fname);
	r->fvalue = g_strdup(fvalue);
	send_install(y, r);
}

static void up_watch(void *arg, const char *name, bool on)
{
	struct ce_yate *y = arg;
	bool known = g_hash_table_contains(y->watches, name);

	if (on && !known) {
		bool now = y->up && !y->hold;

		g_hash_table_insert(y->watches, g_strdup(name),
		        GINT_TO_POINTER(now ? CE_YATE_INSTALL_WAITING : CE_YATE_INSTALL_NONE));
		if (now)
			send_ctl(y, "%%>watch", name, NULL, NULL, NULL);
	} else if (!on && known) {
		g_hash_table_remove(y->watches, name);
		if (y->up)
			send_ctl(y, "%%>unwatch", name, NULL, NULL, NULL);
	}
}

static void on_installed(struct ce_yate *y, const struct ce_line *l)
{
	struct relay *r = g_hash_table_lookup(y->relays, l->name);

	/* the priority tells the answer to an install we replaced since */
	if (!r || r->state != CE_YATE_INSTALL_WAITING || l->priority != r->prio) {
		g_debug("install answer for %s at %d that we no longer wait for", l->name,
		        l->priority);
		return;
	}
	r->state = l->success ? CE_YATE_INSTALL_OK : CE_YATE_INSTALL_REFUSED;
	if (!l->success)
		g_warning("Yate refused to install %s at priority %d: a module can hold one "
		          "relay per message name",
		        l->name, r->prio);
}

static void on_watched(struct ce_yate *y, const struct ce_line *l)
{
	if (!g_hash_table_contains(y->watches, l->name))
		return;
	if (!l->success)
		g_warning("Yate refused to watch %s", l->name);
	g_hash_table_insert(y->watches, g_strdup(l->name),
	        GINT_TO_POINTER(l->success ? CE_YATE_INSTALL_OK : CE_YATE_INSTALL_REFUSED));
}

/* After a (re)connect: everything the engine needs, from scratch. */
static void resync(struct ce_yate *y)
{
	GHashTableIter it;
	gpointer k, v;

	g_hash_table_iter_init(&it, y->relays);
	while (g_hash_table_iter_next(&it, NULL, &v))
		((struct relay *)v)->state = CE_YATE_INSTALL_NONE;
	g_hash_table_remove_all(y->watches);
	ce_bus_resync_uplink(y->bus);
	/* relays the bus did not mention again are still wanted: ask for them too */
	g_hash_table_iter_init(&it, y->relays);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		if (((struct relay *)v)->state == CE_YATE_INSTALL_NONE)
			send_install(y, v);
	}
}

/* ---- our messages to Yate ---------------------------------------------- */

static void pending_free(gpointer p)
{
	struct pending *pd = p;

	if (pd->timer)
		g_source_remove(pd->timer);
	ce_msg_unref(pd->msg);
	g_free(pd);
}

static void pending_finish(struct pending *pd, bool handled)
{
	pd->done(pd->msg, handled, pd->arg);
	pending_free(pd);
}

static gboolean on_send_timeout(gpointer data)
{
	struct pending *pd = data;
	struct ce_yate *y = pd->y;

	pd->timer = 0;
	g_hash_table_steal(y->pending, pd->msg->id);
	y->st.timeouts++;
	ce_bus_note_timeout(y->bus);
	g_warning("no answer from Yate to %s (%s) within %u ms", pd->msg->name, pd->msg->id,
	        pd->timeout_ms);
	pending_finish(pd, false);
	return G_SOURCE_REMOVE;
}

static gboolean on_send_fail(gpointer data)
{
	struct pending *pd = data;

	pd->timer = 0;
	g_queue_remove(&pd->y->failing, pd);
	g_debug("%s not sent: no link to Yate", pd->msg->name);
	pending_finish(pd, false);
	return G_SOURCE_REMOVE;
}

static void up_send(
        void *arg, struct ce_msg *msg, unsigned timeout_ms, ce_msg_done_h *done, void *done_arg)
{
	struct ce_yate *y = arg;
	struct pending *pd = g_new0(struct pending, 1);
	char id[32];

	pd->y = y;
	pd->msg = ce_msg_ref(msg);
	pd->done = done;
	pd->arg = done_arg;
	pd->timeout_ms = timeout_ms ? timeout_ms : CE_BUS_DEFAULT_TIMEOUT_MS;
	if (!y->up || y->quitting) {
		/* never call back from inside the caller's ce_bus_send */
		pd->timer = g_idle_add(on_send_fail, pd);
		g_queue_push_tail(&y->failing, pd);
		return;
	}
	snprintf(id, sizeof(id), "ce%" G_GUINT64_FORMAT, ++y->next_id);
	ce_msg_set_id(msg, id);
	g_hash_table_insert(y->pending, msg->id, pd);
	pd->timer = g_timeout_add(pd->timeout_ms, on_send_timeout, pd);
	y->st.msgs_out++;
	g_string_truncate(y->buf, 0);
	ce_proto_format_message(y->buf, msg);
	if (send_line(y, y->buf) == -E2BIG) {
		g_warning("%s of %zu bytes does not fit in Yate's %zu-byte line buffer: not sent",
		        msg->name, y->buf->len, y->yate_bufsize);
		g_hash_table_steal(y->pending, msg->id);
		g_source_remove(pd->timer);
		pd->timer = g_idle_add(on_send_fail, pd);
		g_queue_push_tail(&y->failing, pd);
	}
}

static void on_answer(struct ce_yate *y, struct ce_msg *ans)
{
	struct pending *pd;

	if (!ans->id || !*ans->id) {
		y->st.watched_in++;
		ce_bus_notify_uplink(y->bus, ans, ans->processed);
		return;
	}
	if (!g_hash_table_steal_extended(y->pending, ans->id, NULL, (gpointer *)&pd)) {
		if (g_str_has_prefix(ans->id, "ce"))
			g_warning("late or unknown answer from Yate for %s (%s): dropped", ans->id,
			        ans->name);
		else
			g_debug("answer for an id that is not ours: %s", ans->id);
		return;
	}
	y->st.answers_in++;
	ce_msg_apply(pd->msg, ans);
	pending_finish(pd, ans->processed);
}

/* Every waiting send completes with handled=false (the link is gone). */
static void fail_pending(struct ce_yate *y)
{
	GHashTable *old = y->pending;
	GHashTableIter it;
	gpointer v;

	y->pending = g_hash_table_new(g_str_hash, g_str_equal);
	g_hash_table_iter_init(&it, old);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		g_hash_table_iter_steal(&it);
		pending_finish(v, false);
	}
	g_hash_table_unref(old);
}

static const struct ce_uplink_ops uplink_ops = {
        .relay = up_relay,
        .watch = up_watch,
        .send = up_send,
};

/* ---- Yate's messages to us --------------------------------------------- */

static void running_free(struct running *r)
{
	ce_msg_unref(r->msg);
	ce_snapshot_free(r->snap);
	g_free(r);
}

static void on_dispatched(struct ce_msg *msg, bool handled, void *arg)
{
	struct running *r = arg;
	struct ce_yate *y = r->y;
	GString *b;

	if (!y) {
		running_free(r);
		return;
	}
	g_queue_unlink(&y->running, &r->link);
	if (r->epoch != y->epoch || !y->up) {
		y->st.answers_drop++;
		g_debug("answer to %s (%s) dropped: the link was lost meanwhile", msg->name,
		        msg->id);
		running_free(r);
		return;
	}
	b = y->buf;
	g_string_truncate(b, 0);
	ce_answer_format(b, r->snap, msg, handled);
	y->st.answers_out++;
	if (send_line(y, b) == -E2BIG) {
		g_warning("answer to %s (%s) of %zu bytes does not fit in Yate's %zu-byte line "
		          "buffer: answering without changes",
		        msg->name, msg->id, b->len, y->yate_bufsize);
		g_string_assign(b, "%%<message:");
		ce_proto_escape(b, msg->id, 0);
		g_string_append(b, handled ? ":true::" : ":false::");
		send_line(y, b);
	}
	running_free(r);
}

static void on_message(struct ce_yate *y, struct ce_msg *msg)
{
	struct running *r = g_new0(struct running, 1);

	y->st.msgs_in++;
	r->link.data = r;
	r->y = y;
	r->epoch = y->epoch;
	r->msg = ce_msg_ref(msg);
	r->snap = ce_snapshot_new(msg);
	g_queue_push_tail_link(&y->running, &r->link);
	ce_bus_dispatch_uplink(y->bus, msg, on_dispatched, r);
}

/*
 * The id of a %%>message in @text, as received (still escaped), if it is
 * there whole and unescapes cleanly; its length, or 0.
 */
static size_t message_id(const char *text, size_t len, const char **idp)
{
	static const char kw[] = "%%>message:";
	const char *id = text + sizeof(kw) - 1, *end;
	GString *tmp;
	bool ok;

	if (len <= sizeof(kw) - 1 || memcmp(text, kw, sizeof(kw) - 1))
		return 0;
	end = memchr(id, ':', len - (size_t)(id - text));
	if (!end || end == id)
		return 0;
	tmp = g_string_new(NULL);
	ok = ce_proto_unescape(tmp, id, (size_t)(end - id), 0) == 0;
	g_string_free(tmp, TRUE);
	*idp = id;
	return ok ? (size_t)(end - id) : 0;
}

/*
 * A %%>message we cannot parse still holds a Yate thread until it is
 * answered: if its id is readable, answer "false, unchanged" at once.
 */
static void refuse_bad_message(struct ce_yate *y, const char *text, size_t len)
{
	const char *id;
	size_t idlen = message_id(text, len, &id);

	if (!idlen)
		return;
	g_string_assign(y->buf, "%%<message:");
	g_string_append_len(y->buf, id, idlen);
	g_string_append(y->buf, ":false::");
	y->st.answers_out++;
	send_line(y, y->buf);
}

/* A line we could not parse: say why and show (the start of) it, safely. */
static void bad_line(struct ce_yate *y, const char *text, size_t len, const GError *err)
{
	char *head = g_strndup(text, MIN(len, 160));
	char *shown = g_strescape(head, NULL);

	y->st.bad_lines++;
	g_warning("invalid line from Yate (%s): \"%s\"%s", err ? err->message : "?", shown,
	        len > 160 ? "..." : "");
	g_free(shown);
	g_free(head);
	refuse_bad_message(y, text, len);
}

/* Tell the modules (CE_LINK_MSG, yate.h) that the link went down. */
static void link_event_down(struct ce_yate *y, bool final)
{
	struct ce_msg *m = NULL;

	ce_msg_new(&m, CE_LINK_MSG);
	ce_msg_add(m, "state", "down");
	ce_msg_add(m, "final", final ? "true" : "false");
	ce_bus_dispatch(y->bus, m, NULL, NULL);
	ce_msg_unref(m);
}

/* ... or that it is usable again: @runid (NULL: unknown) against @lastrunid. */
static void link_event_up(struct ce_yate *y, const char *runid, const char *lastrunid)
{
	struct ce_msg *m = NULL;
	bool restarted = runid && lastrunid && strcmp(runid, lastrunid);

	ce_msg_new(&m, CE_LINK_MSG);
	ce_msg_add(m, "state", "up");
	if (y->version)
		ce_msg_add(m, "yate", y->version);
	if (runid)
		ce_msg_add(m, "runid", runid);
	ce_msg_add(m, "restarted", restarted ? "true" : "false");
	if (runid && lastrunid)
		ce_msg_add(m, "lastrunid", lastrunid);
	ce_bus_dispatch(y->bus, m, NULL, NULL);
	ce_msg_unref(m);
}

/*
 * Yate's run id (seconds since the epoch at its start) after a (re)connect:
 * another one than before means Yate was restarted meanwhile, and what the
 * engine had in the old Yate is gone.
 */
static void on_runid(struct ce_yate *y, const struct ce_line *l)
{
	const char *now = l->success && l->value && *l->value ? l->value : NULL;
	char *last = y->runid;

	if (!now)
		g_message("Yate did not tell its run id: a restart of Yate cannot be told from a "
		          "lost link");
	else if (last && strcmp(now, last))
		g_warning("Yate was restarted while the link was down (run id %s, was %s): the "
		          "calls of the old Yate are gone",
		        now, last);
	else if (last)
		g_message("link back to the same Yate (run id %s)", now);
	/* an unknown run id keeps the last one known: the next answer compares to it */
	y->runid = now ? g_strdup(now) : last;
	link_event_up(y, now, last);
	if (now)
		g_free(last);
}

static void on_setlocal(struct ce_yate *y, const struct ce_line *l)
{
	if (!g_strcmp0(l->name, "engine.runid")) {
		on_runid(y, l);
	} else if (!g_strcmp0(l->name, "engine.version") && l->success) {
		g_free(y->version);
		y->version = g_strdup(l->value);
		g_message("connected to Yate %s", y->version);
	} else if (!g_strcmp0(l->name, "bufsize") && l->success && l->value) {
		guint64 n = g_ascii_strtoull(l->value, NULL, 10);

		if (n >= 1024 && n <= YATE_BUFSIZE_WANTED)
			y->yate_bufsize = (size_t)n;
	} else if (!l->success) {
		g_warning("Yate refused setlocal %s=%s", l->name, l->value ? l->value : "");
	}
}

static void handle_line(struct ce_yate *y, struct ce_line *l)
{
	switch (l->kind) {
	case CE_LINE_MESSAGE:
		on_message(y, l->msg);
		break;
	case CE_LINE_ANSWER:
		on_answer(y, l->msg);
		break;
	case CE_LINE_INSTALLED:
		on_installed(y, l);
		break;
	case CE_LINE_UNINSTALLED:
		g_debug("uninstalled %s: %s", l->name, l->success ? "true" : "false");
		break;
	case CE_LINE_WATCHED:
		on_watched(y, l);
		break;
	case CE_LINE_UNWATCHED:
		break;
	case CE_LINE_SETLOCAL_ANS:
		on_setlocal(y, l);
		break;
	case CE_LINE_ERROR:
		y->st.errors_in++;
		g_warning("Yate could not parse a line we sent: %s", l->text ? l->text : "");
		break;
	case CE_LINE_QUIT_ANS:
		g_message("Yate acknowledged our quit");
		call_quit(y, 0);
		break;
	default:
		y->st.bad_lines++;
		g_warning("unexpected line from Yate (keyword %d): ignored", l->kind);
		break;
	}
}

/* ---- the link ---------------------------------------------------------- */

static void link_up(void *arg)
{
	struct ce_yate *y = arg;

	y->up = true;
	y->epoch++;
	y->st.links_up++;
	send_ctl(y, "%%>setlocal", "restart", y->restart ? "true" : "false", NULL, NULL);
	send_ctl(y, "%%>setlocal", "engine.version", "", NULL, NULL);
	send_ctl(y, "%%>setlocal", "engine.runid", "", NULL, NULL);
	y->yate_bufsize = YATE_BUFSIZE_DEFAULT;
	send_ctl(y, "%%>setlocal", "bufsize", G_STRINGIFY(YATE_BUFSIZE_WANTED), NULL, NULL);
	/* Yate handles our lines in order: the next one already gets the larger buffer */
	y->yate_bufsize = YATE_BUFSIZE_WANTED;
	if (!y->hold)
		resync(y);
}

static void link_line(void *arg, const char *text, size_t len)
{
	struct ce_yate *y = arg;
	struct ce_line l;
	GError *err = NULL;

	if (len && text[len - 1] == '\r') /* as Yate does with the lines it reads */
		len--;
	if (!len)
		return; /* Yate skips empty lines too */
	if (ce_line_parse(&l, text, len, NULL, &err) < 0) {
		bad_line(y, text, len, err);
		g_clear_error(&err);
		return;
	}
	handle_line(y, &l);
	ce_line_clear(&l);
}

/*
 * An over-long line: a %%>message is refused at once (its id comes first),
 * or its Yate thread would wait for the answer until Yate's timeout.  The
 * warning waits for the line's end to say how long it was.
 */
static void link_overflow(void *arg, const struct ce_overflow *o)
{
	struct ce_yate *y = arg;
	const char *id;
	size_t idlen;

	if (!o->ended) {
		y->st.bad_lines++;
		refuse_bad_message(y, o->head, o->head_len);
		return;
	}
	idlen = message_id(o->head, o->head_len, &id);
	if (idlen)
		g_warning("dropped a %%%%>message line (id %.*s) of %zu bytes from Yate: over the "
		          "%u-byte line length limit; answered false",
		        (int)MIN(idlen, 160), id, o->len, (unsigned)CE_PROTO_MAX_LINE_DEFAULT);
	else
		g_warning(
		        "dropped a line of %zu bytes from Yate: over the %u-byte line length limit",
		        o->len, (unsigned)CE_PROTO_MAX_LINE_DEFAULT);
}

static void link_down(void *arg, bool final)
{
	struct ce_yate *y = arg;

	y->up = false;
	y->epoch++;
	fail_pending(y);
	link_event_down(y, final);
	if (final || y->quitting)
		call_quit(y, 0);
}

static const struct ce_link_ops link_ops = {
        .up = link_up,
        .line = link_line,
        .overflow = link_overflow,
        .down = link_down,
};

/** The callbacks to create the session's link with (arg = the session). */
const struct ce_link_ops *ce_yate_link_ops(void)
{
	return &link_ops;
}

/**
 * Use @link (created with ce_yate_link_ops() and this session as arg)
 * before ce_link_start().  The session does not own the link.
 */
void ce_yate_attach(struct ce_yate *y, struct ce_link *link)
{
	y->link = link;
}

/* ---- logging through Yate ---------------------------------------------- */

/* On the main loop: one log record, as %%>output lines (or to stderr while down). */
static void put_log(void *item, void *data)
{
	struct ce_yate *y = data;
	char *rec = *(char **)item;
	char **lines = g_strsplit(rec, "\n", -1), **p;

	for (p = lines; *p; p++) {
		g_strdelimit(*p, "\r", ' ');
		if (y->up && y->link && !y->quitting) {
			g_string_assign(y->buf, "%%>output:");
			g_string_append_len(y->buf, *p, (gssize)MIN(strlen(*p), OUTPUT_MAX));
			send_line(y, y->buf);
		} else {
			fprintf(stderr, "%s\n", *p);
		}
	}
	g_strfreev(lines);
	g_free(rec);
}

static void drain_log(struct ce_yate *y)
{
	char *rec;

	while (ce_mbox_get(y->logq, &rec))
		put_log(&rec, y);
}

/* May run on any thread: queue the record; the main loop's watch sends it. */
static void log_sink(enum ce_log_level level, const char *domain, const char *text, void *arg)
{
	struct ce_yate *y = arg;
	char *rec = g_strdup_printf(
	        "%s %s: %s", ce_log_level_name(level), domain ? domain : "ce", text);

	ce_mbox_put(y->logq, &rec); /* it grows without limit: never refused */
}

/**
 * Route log records to Yate as %%>output lines (@on) or back to stderr.
 * Records logged while the link is down go to stderr.
 */
void ce_yate_log_to_link(struct ce_yate *y, bool on)
{
	if (on == y->log_to_link)
		return;
	y->log_to_link = on;
	if (on) {
		if (ce_mbox_watch(y->logq, NULL, put_log, y) < 0) {
			y->log_to_link = false;
			g_warning("logging stays on stderr: no wake-up for the main loop");
			return;
		}
		ce_log_set_sink(log_sink, y);
	} else {
		ce_log_set_sink(NULL, NULL);
		ce_mbox_unwatch(y->logq);
		drain_log(y);
	}
}

/* ---- life cycle -------------------------------------------------------- */

/**
 * A session for @bus; it becomes the bus's uplink at once.  @cfg (may be
 * NULL) gives [general] restart (default true: Yate restarts us if we
 * die).  Returns 0; the caller owns the session.
 */
int ce_yate_new(struct ce_yate **yp, struct ce_bus *bus, const struct ce_config *cfg)
{
	struct ce_yate *y = g_new0(struct ce_yate, 1);

	y->bus = bus;
	y->restart = cfg ? ce_config_get_bool(cfg, "general", "restart", true) : true;
	y->yate_bufsize = YATE_BUFSIZE_DEFAULT;
	y->relays = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, relay_free);
	y->watches = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	y->pending = g_hash_table_new(g_str_hash, g_str_equal);
	y->buf = g_string_sized_new(4096);
	y->logq = ce_mbox_new(sizeof(char *), 64, 0);
	g_queue_init(&y->running);
	ce_bus_set_uplink(bus, &uplink_ops, y);
	*yp = y;
	return 0;
}

/**
 * Release the session: waiting sends complete with handled=false, answers
 * of dispatches still running are dropped when they end.  NULL is allowed.
 */
void ce_yate_free(struct ce_yate *y)
{
	struct pending *pd;
	GList *l;

	if (!y)
		return;
	ce_yate_log_to_link(y, false);
	ce_bus_set_uplink(y->bus, NULL, NULL);
	y->up = false;
	fail_pending(y);
	while ((pd = g_queue_pop_head(&y->failing)))
		pending_finish(pd, false);
	for (l = y->running.head; l; l = l->next)
		((struct running *)l->data)->y = NULL;
	if (y->quit_timer)
		g_source_remove(y->quit_timer);
	g_hash_table_unref(y->pending);
	g_hash_table_unref(y->relays);
	g_hash_table_unref(y->watches);
	drain_log(y); /* a record another thread logged as the sink went */
	ce_mbox_free(y->logq);
	g_string_free(y->buf, TRUE);
	g_free(y->version);
	g_free(y->runid);
	g_free(y);
}

/** Who to tell when the session wants the engine to stop. */
void ce_yate_set_quit_handler(struct ce_yate *y, ce_yate_quit_h *quit, void *arg)
{
	y->quit = quit;
	y->quit_arg = arg;
}

static gboolean on_quit_timeout(gpointer data)
{
	struct ce_yate *y = data;

	y->quit_timer = 0;
	g_warning("Yate did not acknowledge our quit: stopping anyway");
	call_quit(y, 0);
	return G_SOURCE_REMOVE;
}

/**
 * Leave Yate politely: "%%>setlocal:restart:false" and "%%>quit", then
 * wait up to @wait_ms for "%%<quit" (or the link's end) and call the quit
 * handler with 0.  Without a link the quit handler runs at once.
 */
void ce_yate_shutdown(struct ce_yate *y, unsigned wait_ms)
{
	if (y->quitting)
		return;
	if (!y->up || !y->link) {
		y->quitting = true;
		call_quit(y, 0);
		return;
	}
	send_ctl(y, "%%>setlocal", "restart", "false", NULL, NULL);
	send_ctl(y, "%%>quit", NULL, NULL, NULL, NULL);
	y->quitting = true;
	ce_link_flush(y->link);
	y->quit_timer = g_timeout_add(wait_ms, on_quit_timeout, y);
}

/**
 * Hold back installs and watches while the modules start (@hold true), so
 * that Yate gets each one once, as the started modules want it, and not
 * every step of their start; releasing sends them all.
 */
void ce_yate_hold(struct ce_yate *y, bool hold)
{
	y->hold = hold;
	if (!hold && y->up)
		resync(y);
}

/**
 * Whether Yate should restart the engine when it exits (the [general]
 * restart setting until now); told to Yate at once when the link is up.
 */
void ce_yate_set_restart(struct ce_yate *y, bool on)
{
	y->restart = on;
	if (y->up)
		send_ctl(y, "%%>setlocal", "restart", on ? "true" : "false", NULL, NULL);
}

/** Whether the link to Yate is up. */
bool ce_yate_is_up(const struct ce_yate *y)
{
	return y->up;
}

/** Yate's engine.version, NULL until Yate told it. */
const char *ce_yate_version(const struct ce_yate *y)
{
	return y->version;
}

/** Yate's engine.runid (when it started), NULL until Yate told it. */
const char *ce_yate_runid(const struct ce_yate *y)
{
	return y->runid;
}

/** CE_YATE_INSTALL_* for the relay of @name. */
int ce_yate_install_state(const struct ce_yate *y, const char *name)
{
	const struct relay *r = g_hash_table_lookup(y->relays, name);

	return r ? r->state : CE_YATE_INSTALL_NONE;
}

/** Copy the counters into @st. */
void ce_yate_get_stats(const struct ce_yate *y, struct ce_yate_stats *st)
{
	GHashTableIter it;
	gpointer v;

	*st = y->st;
	st->pending = g_hash_table_size(y->pending);
	st->running = y->running.length;
	st->installs_ok = st->installs_refused = st->installs_waiting = st->watches_ok = 0;
	g_hash_table_iter_init(&it, y->relays);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		int s = ((struct relay *)v)->state;

		st->installs_ok += s == CE_YATE_INSTALL_OK;
		st->installs_refused += s == CE_YATE_INSTALL_REFUSED;
		st->installs_waiting += s == CE_YATE_INSTALL_WAITING;
	}
	g_hash_table_iter_init(&it, y->watches);
	while (g_hash_table_iter_next(&it, NULL, &v))
		st->watches_ok += GPOINTER_TO_INT(v) == CE_YATE_INSTALL_OK;
}

/** Append "key=value,..." about the link and the session (console status). */
void ce_yate_status(const struct ce_yate *y, GString *out)
{
	struct ce_yate_stats st;
	GHashTableIter it;
	gpointer k, v;
	bool first = true;

	ce_yate_get_stats(y, &st);
	g_string_append_printf(out,
	        "link=%s,linkstate=%s,yate=%s,yate_runid=%s,links_up=%u,installs=%u,refused=%u,"
	        "watches=%u,msgs_in="
	        "%" G_GUINT64_FORMAT ",answers=%" G_GUINT64_FORMAT ",msgs_out=%" G_GUINT64_FORMAT
	        ",pending=%u,running=%u,badlines=%" G_GUINT64_FORMAT,
	        y->link ? ce_link_mode(y->link) : "none", y->up ? "up" : "down",
	        y->version ? y->version : "unknown", y->runid ? y->runid : "unknown", st.links_up,
	        st.installs_ok, st.installs_refused, st.watches_ok, st.msgs_in, st.answers_out,
	        st.msgs_out, st.pending, st.running, st.bad_lines);
	g_hash_table_iter_init(&it, y->relays);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		if (((struct relay *)v)->state != CE_YATE_INSTALL_REFUSED)
			continue;
		g_string_append(out, first ? ",refused_names=" : " ");
		g_string_append(out, k);
		first = false;
	}
}
