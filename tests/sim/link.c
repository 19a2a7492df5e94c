/* link.c - Yate's side of the external-module protocol: spawn or accept a module, serve it */
/*
 * A module is started as Yate's extmodule starts a global script: stdin
 * and stdout are pipes carrying protocol lines, stderr is collected.  A
 * socket listener accepts modules started elsewhere (conf-engine --connect),
 * whose first line must be "%%>connect:global".
 *
 *   A: %%>install:50:call.execute          E: %%<install:50:call.execute:true
 *   E: %%>message:0x55d0c3a0.1804289383:1795326762:call.execute::callto=conf/r1:...
 *   A: %%<message:0x55d0c3a0.1804289383:false:::callto=dumb/:ce_room=r1
 *   A: %%>setlocal:engine.version:         E: %%<setlocal:engine.version:6.4.1:true
 *   A: %%>bogus                            E: Error in: %%>bogus
 *
 * Every message sent to a module waits at most the message timeout (10 s
 * unless changed); then the dispatch goes on as if the module had said
 * false, as Yate does, and the simulator reports the timeout.
 */
#define G_LOG_DOMAIN "sim"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <glib-unix.h>

#include "protocol.h"
#include "sim.h"

#define MOD_MAX_LINE (64 * 1024)
#define MOD_MAX_OUT (64u * 1024 * 1024)

struct sim_mod {
	struct sim *s;
	char *name;
	GPid pid;
	int rfd, wfd, efd;
	guint rsrc, wsrc, esrc, csrc;
	struct ce_linebuf *lb, *elb;
	GString *wbuf;
	bool scripted; /* spawned by us (may restart) */
	bool known;    /* role known: spawned, or "%%>connect:global" seen */
	bool dead, quit, exited;
	bool reenter, selfwatch, restart;
	unsigned timeout_ms, max_queue;
	bool timebomb;
	GHashTable *pending;  /* id -> struct pending */
	GHashTable *relays;   /* name -> struct sim_handler * */
	GHashTable *watched;  /* name -> name ("" = every message) */
	int64_t flood_sec;
	unsigned flood_count;
	bool flood_reported;
	unsigned errors;
	guint kill_timer;
	int kill_stage;
};

struct pending {
	struct sim_mod *mod;
	struct sim_disp *d;
	char *id;
	guint timer;
};

static void mod_write_line(struct sim_mod *mod, const char *line, size_t len);
static void mod_close(struct sim_mod *mod, const char *why);

/** A Yate-looking message id: the holder's address and a random number. */
char *sim_yate_id(void)
{
	static uintptr_t base = 0x7fa1afb7c000;

	base += 0x130;
	return g_strdup_printf("0x%" G_GINTPTR_MODIFIER "x.%u", (guintptr)base,
		g_random_int() & 0x7fffffff);
}

static void pending_free(gpointer p)
{
	struct pending *pd = p;

	if (pd->timer)
		g_source_remove(pd->timer);
	g_free(pd->id);
	g_free(pd);
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static struct sim_mod *mod_new(struct sim *s, const char *name, int rfd, int wfd)
{
	struct sim_mod *mod = g_new0(struct sim_mod, 1);

	mod->s = s;
	mod->name = g_strdup(name);
	mod->rfd = rfd;
	mod->wfd = wfd;
	mod->efd = -1;
	mod->pid = -1;
	mod->timeout_ms = s->mod_opts.timeout_ms;
	mod->timebomb = s->mod_opts.timebomb;
	mod->max_queue = s->mod_opts.max_queue;
	ce_linebuf_new(&mod->lb, MOD_MAX_LINE);
	mod->wbuf = g_string_new(NULL);
	mod->pending = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, pending_free);
	mod->relays = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	mod->watched = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	set_nonblock(rfd);
	if (wfd != rfd)
		set_nonblock(wfd);
	s->mods = g_list_append(s->mods, mod);
	return mod;
}

bool sim_mod_alive(const struct sim_mod *mod)
{
	return !mod->dead && !mod->quit && mod->known;
}

bool sim_mod_reenter(const struct sim_mod *mod)
{
	return mod->reenter;
}

/* ---- output ------------------------------------------------------------ */

static gboolean writable_cb(int fd, GIOCondition cond, gpointer data);

static void flush_out(struct sim_mod *mod)
{
	while (mod->wbuf->len) {
		ssize_t n = write(mod->wfd, mod->wbuf->str, mod->wbuf->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			g_string_truncate(mod->wbuf, 0);
			mod_close(mod, "write failed");
			return;
		}
		g_string_erase(mod->wbuf, 0, n);
	}
	if (mod->wbuf->len && !mod->wsrc)
		mod->wsrc = g_unix_fd_add(mod->wfd, G_IO_OUT, writable_cb, mod);
	if (mod->wbuf->len > MOD_MAX_OUT) {
		sim_problem(mod->s, "stuck", "%s does not read its input (%zu bytes waiting)",
			mod->name, mod->wbuf->len);
		g_string_truncate(mod->wbuf, 0);
		mod_close(mod, "not reading");
	}
}

static gboolean writable_cb(int fd, GIOCondition cond, gpointer data)
{
	struct sim_mod *mod = data;

	mod->wsrc = 0;
	flush_out(mod);
	return G_SOURCE_REMOVE;
}

static void mod_write_line(struct sim_mod *mod, const char *line, size_t len)
{
	if (mod->dead || mod->wfd < 0)
		return;
	sim_transcript(mod->s, 'E', line, len);
	g_string_append_len(mod->wbuf, line, len);
	g_string_append_c(mod->wbuf, '\n');
	if (!mod->wsrc)
		flush_out(mod);
}

static void write_gstring(struct sim_mod *mod, GString *g)
{
	mod_write_line(mod, g->str, g->len);
	g_string_free(g, TRUE);
}

static void reply_line(struct sim_mod *mod, struct ce_line *l)
{
	GString *g = g_string_new(NULL);

	ce_line_format(g, l);
	write_gstring(mod, g);
}

/* ---- messages to the module ------------------------------------------- */

static gboolean pending_timeout_cb(gpointer data)
{
	struct pending *pd = data;
	struct sim_mod *mod = pd->mod;
	struct sim_disp *d = pd->d;
	struct ce_msg *m = sim_disp_msg(d);

	pd->timer = 0;
	sim_event(mod->s, "timeout", "\"module\":%s,\"id\":%s,\"name\":%s", sim_json(mod->name),
		sim_json(pd->id), sim_json(m->name));
	sim_problem(mod->s, "timeout", "%s did not answer %s '%s' within %u ms", mod->name, pd->id,
		m->name, mod->timeout_ms);
	g_hash_table_remove(mod->pending, pd->id);
	if (mod->timebomb)
		mod_close(mod, "timebomb");
	sim_disp_resume(d, false);
	return G_SOURCE_REMOVE;
}

/**
 * Relay @m of dispatch @d to @mod as "%%>message"; the dispatch resumes
 * when the module answers or the timeout fires.
 */
void sim_mod_send_msg(struct sim_mod *mod, struct sim_disp *d, struct ce_msg *m)
{
	struct pending *pd;
	GString *g;
	char *saved;

	if (mod->max_queue && g_hash_table_size(mod->pending) >= mod->max_queue) {
		sim_event(mod->s, "queue-full", "\"module\":%s,\"name\":%s", sim_json(mod->name),
			sim_json(m->name));
		sim_disp_resume(d, false);
		return;
	}
	pd = g_new0(struct pending, 1);
	pd->mod = mod;
	pd->d = d;
	pd->id = sim_yate_id();
	g_hash_table_insert(mod->pending, pd->id, pd);
	if (mod->timeout_ms)
		pd->timer = g_timeout_add(mod->timeout_ms, pending_timeout_cb, pd);
	saved = m->id;
	m->id = pd->id;
	m->time = (uint64_t)(g_get_real_time() / G_USEC_PER_SEC);
	g = g_string_new(NULL);
	ce_proto_format_message(g, m);
	m->id = saved;
	write_gstring(mod, g);
}

/** Report a finished dispatch to every module watching its name (Yate's post-hook). */
void sim_mod_report_watch(struct sim *s, struct ce_msg *m, bool handled, struct sim_mod *origin)
{
	GList *l;

	for (l = s->mods; l; l = l->next) {
		struct sim_mod *mod = l->data;
		if (!sim_mod_alive(mod) || (mod == origin && !mod->selfwatch))
			continue;
		if (!g_hash_table_contains(mod->watched, m->name) &&
			!g_hash_table_contains(mod->watched, ""))
			continue;
		GString *g = g_string_new(NULL);
		char *saved = m->id;
		m->id = (char *)"";
		ce_proto_format_answer(g, m, handled);
		m->id = saved;
		write_gstring(mod, g);
	}
}

/* ---- lines from the module --------------------------------------------- */

struct own_msg {
	struct sim_mod *mod;
	char *id;
};

static void own_done(struct sim *s, struct ce_msg *m, bool handled, void *arg)
{
	struct own_msg *om = arg;

	if (g_list_find(s->mods, om->mod) && !om->mod->dead) {
		GString *g = g_string_new(NULL);
		char *saved = m->id;
		m->id = om->id;
		ce_proto_format_answer(g, m, handled);
		m->id = saved;
		write_gstring(om->mod, g);
	}
	g_free(om->id);
	g_free(om);
}

static void on_message(struct sim_mod *mod, struct ce_msg *m)
{
	struct own_msg *om = NULL;

	if (m->id && *m->id) {
		om = g_new0(struct own_msg, 1);
		om->mod = mod;
		om->id = g_strdup(m->id);
	}
	sim_dispatch(mod->s, m, mod, om ? own_done : NULL, om);
}

static void on_answer(struct sim_mod *mod, struct ce_msg *a, const char *raw)
{
	struct pending *pd = a->id ? g_hash_table_lookup(mod->pending, a->id) : NULL;
	struct sim_disp *d;

	if (!pd) {
		sim_event(mod->s, "unmatched", "\"module\":%s,\"line\":%s", sim_json(mod->name),
			sim_json(raw));
		return;
	}
	d = pd->d;
	ce_msg_apply(sim_disp_msg(d), a);
	g_hash_table_remove(mod->pending, a->id);
	sim_disp_resume(d, a->processed);
}

static void on_install(struct sim_mod *mod, struct ce_line *l)
{
	struct ce_line r = {.kind = CE_LINE_INSTALLED, .name = l->name};
	int prio = l->priority < 0 ? 100 : l->priority;
	bool ok = l->name && *l->name && !mod->dead &&
		!g_hash_table_contains(mod->relays, l->name);

	if (ok) {
		struct sim_handler *hd =
			sim_install_relay(mod->s, mod, l->name, prio, l->fname, l->fvalue);
		g_hash_table_insert(mod->relays, g_strdup(l->name), hd);
	}
	r.priority = prio;
	r.success = ok;
	reply_line(mod, &r);
}

static void on_uninstall(struct sim_mod *mod, struct ce_line *l)
{
	struct ce_line r = {.kind = CE_LINE_UNINSTALLED, .name = l->name};
	struct sim_handler *hd = g_hash_table_lookup(mod->relays, l->name);

	r.priority = hd ? (int)hd->prio : 0;
	r.success = hd != NULL;
	if (hd) {
		sim_uninstall(mod->s, hd);
		g_hash_table_remove(mod->relays, l->name);
	}
	reply_line(mod, &r);
}

static void on_watch(struct sim_mod *mod, struct ce_line *l, bool on)
{
	struct ce_line r = {.kind = on ? CE_LINE_WATCHED : CE_LINE_UNWATCHED, .name = l->name};
	const char *name = l->name ? l->name : "";

	if (on) {
		r.success = !g_hash_table_contains(mod->watched, name);
		if (r.success)
			g_hash_table_insert(mod->watched, g_strdup(name), NULL);
	} else {
		r.success = g_hash_table_remove(mod->watched, name);
	}
	reply_line(mod, &r);
}

/* Read-only engine.* values answered by setlocal (Yate's run parameters). */
static const char *engine_param(struct sim *s, const char *name)
{
	static const char *const params[][2] = {
		{"version", "6.4.1"}, {"release", "1"}, {"revision", ""},
		{"nodename", "yate-sim"}, {"configname", "yate"},
		{"sharedpath", "/usr/share/yate"}, {"configpath", "/etc/yate"},
		{"modulepath", "/usr/lib/yate"}, {"workpath", "/tmp"},
		{"maxworkers", "10"}, {"lastsignal", "0"}, {"runattempt", "0"},
	};
	unsigned i;

	for (i = 0; i < G_N_ELEMENTS(params); i++) {
		if (!strcmp(name, params[i][0]))
			return params[i][1];
	}
	return NULL;
}

static const char *const loaded_modules[] = {
	"regexroute", "dumbchan", "yrtpchan", "conference", "wavefile", "tonegen", "ysipchan",
	"extmodule", NULL,
};

/* Yate's setlocal: returns whether it worked, and sets *val to the answer. */
static bool setlocal(struct sim_mod *mod, const char *id, char **val)
{
	const char *v = *val;
	bool empty = !*v;
	char buf[32];

#define SET_BOOL(field)                                                                    \
	do {                                                                               \
		mod->field = ce_parse_bool(v, mod->field);                                 \
		g_free(*val);                                                              \
		*val = g_strdup(mod->field ? "true" : "false");                            \
		return true;                                                               \
	} while (0)

	if (!strcmp(id, "timeout")) {
		char *end;
		long t = strtol(v, &end, 10);
		if (!empty && !*end && t >= 0)
			mod->timeout_ms = (unsigned)t;
		g_snprintf(buf, sizeof(buf), "%u", mod->timeout_ms);
		g_free(*val);
		*val = g_strdup(buf);
		return true;
	}
	if (!strcmp(id, "maxqueue")) {
		long q = empty ? (long)mod->max_queue : strtol(v, NULL, 10);
		mod->max_queue = (unsigned)CLAMP(q, 0, 1000000);
		g_free(*val);
		*val = g_strdup_printf("%u", mod->max_queue);
		return true;
	}
	if (!strcmp(id, "timebomb"))
		SET_BOOL(timebomb);
	if (!strcmp(id, "reenter"))
		SET_BOOL(reenter);
	if (!strcmp(id, "selfwatch"))
		SET_BOOL(selfwatch);
	if (!strcmp(id, "restart")) {
		mod->restart = mod->scripted && ce_parse_bool(v, mod->restart);
		g_free(*val);
		*val = g_strdup(mod->restart ? "true" : "false");
		return true;
	}
	if (!strcmp(id, "setdata") || !strcmp(id, "settime") || !strcmp(id, "reason") ||
		!strcmp(id, "trackparam") || !strcmp(id, "bufsize") ||
		!strcmp(id, "debuglevel") || !strcmp(id, "debugname"))
		return true;
	if (g_str_has_prefix(id, "engine.")) {
		const char *p = engine_param(mod->s, id + 7);
		g_free(*val);
		*val = g_strdup(p ? p : "");
		return empty && p;
	}
	if (g_str_has_prefix(id, "loaded.")) {
		bool loaded = g_strv_contains(loaded_modules, id + 7);
		g_free(*val);
		*val = g_strdup(loaded ? "true" : "false");
		return empty;
	}
	if (!strcmp(id, "runid")) {
		g_free(*val);
		*val = g_strdup_printf("%u", mod->s->runid);
		return empty;
	}
	if (g_str_has_prefix(id, "config.")) {
		g_free(*val);
		*val = g_strdup("");
		return false;
	}
	return false;
#undef SET_BOOL
}

static void on_setlocal(struct sim_mod *mod, struct ce_line *l)
{
	struct ce_line r = {.kind = CE_LINE_SETLOCAL_ANS, .name = l->name};
	char *val = g_strstrip(g_strdup(l->value ? l->value : ""));

	r.success = setlocal(mod, l->name ? l->name : "", &val);
	r.value = val;
	reply_line(mod, &r);
	g_free(val);
}

static void error_in(struct sim_mod *mod, const char *line, size_t len, const char *why)
{
	GString *g = g_string_new("Error in: ");

	g_string_append_len(g, line, len);
	mod->errors++;
	sim_event(mod->s, "error-in", "\"module\":%s,\"why\":%s,\"line\":%s", sim_json(mod->name),
		sim_json(why), sim_json(g->str + 10));
	if (mod->errors == 1 || mod->errors % 1000 == 0)
		sim_problem(mod->s, "garbage", "%s sent a bad line (%s); %u so far", mod->name, why,
			mod->errors);
	write_gstring(mod, g);
}

static void on_connect(struct sim_mod *mod, struct ce_line *l, const char *raw, size_t len)
{
	if (mod->known) {
		error_in(mod, raw, len, "connect after start");
		return;
	}
	if (g_strcmp0(l->name, "global")) {
		sim_problem(mod->s, "connect", "%s asked for role '%s'; only global is served",
			mod->name, l->name ? l->name : "");
		mod_close(mod, "bad role");
		return;
	}
	mod->known = true;
	sim_event(mod->s, "connected", "\"module\":%s,\"role\":\"global\"", sim_json(mod->name));
}

static void check_flood(struct sim_mod *mod)
{
	int64_t sec = g_get_monotonic_time() / G_USEC_PER_SEC;

	if (sec != mod->flood_sec) {
		mod->flood_sec = sec;
		mod->flood_count = 0;
	}
	if (++mod->flood_count > mod->s->flood_lines && mod->s->flood_lines &&
		!mod->flood_reported) {
		mod->flood_reported = true;
		sim_problem(mod->s, "flood", "%s sent more than %u lines in one second", mod->name,
			mod->s->flood_lines);
	}
}

static void dispatch_line(struct sim_mod *mod, struct ce_line *l, const char *raw, size_t len)
{
	switch (l->kind) {
	case CE_LINE_MESSAGE:
		on_message(mod, l->msg);
		break;
	case CE_LINE_ANSWER:
		on_answer(mod, l->msg, raw);
		break;
	case CE_LINE_INSTALL:
		on_install(mod, l);
		break;
	case CE_LINE_UNINSTALL:
		on_uninstall(mod, l);
		break;
	case CE_LINE_WATCH:
	case CE_LINE_UNWATCH:
		on_watch(mod, l, l->kind == CE_LINE_WATCH);
		break;
	case CE_LINE_SETLOCAL:
		on_setlocal(mod, l);
		break;
	case CE_LINE_OUTPUT:
		sim_event(mod->s, "output", "\"module\":%s,\"text\":%s", sim_json(mod->name),
			sim_json(l->text));
		break;
	case CE_LINE_DEBUG:
		sim_event(mod->s, "debug", "\"module\":%s,\"level\":%d,\"text\":%s",
			sim_json(mod->name), l->level, sim_json(l->text));
		break;
	case CE_LINE_CONNECT:
		on_connect(mod, l, raw, len);
		break;
	case CE_LINE_QUIT: {
		static const char bye[] = "%%<quit";
		mod->quit = true;
		mod_write_line(mod, bye, sizeof(bye) - 1);
		sim_event(mod->s, "quit", "\"module\":%s", sim_json(mod->name));
		break;
	}
	default:
		error_in(mod, raw, len, "not a module keyword");
		break;
	}
}

static void on_line(const char *line, size_t len, void *arg)
{
	struct sim_mod *mod = arg;
	struct ce_line l = {0};
	GError *err = NULL;

	if (mod->dead)
		return;
	sim_transcript(mod->s, 'A', line, len);
	mod->s->last_line_at = sim_now(mod->s);
	check_flood(mod);
	if (!mod->known && !g_str_has_prefix(line, "%%>connect:")) {
		sim_problem(mod->s, "connect", "%s: expected %%%%>connect first", mod->name);
		mod_close(mod, "no connect");
		return;
	}
	if (mod->quit)
		return;
	if (ce_line_parse(&l, line, len, NULL, &err) < 0) {
		error_in(mod, line, len, err ? err->message : "parse error");
		g_clear_error(&err);
		return;
	}
	dispatch_line(mod, &l, line, len);
	ce_line_clear(&l);
}

static void on_overflow(size_t dropped, void *arg)
{
	struct sim_mod *mod = arg;

	mod->errors++;
	sim_problem(mod->s, "garbage", "%s sent a line over %d bytes (%zu dropped)", mod->name,
		MOD_MAX_LINE, dropped);
}

static gboolean readable_cb(int fd, GIOCondition cond, gpointer data)
{
	struct sim_mod *mod = data;
	char buf[65536];
	unsigned rounds;

	for (rounds = 0; rounds < 16 && !mod->dead; rounds++) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return G_SOURCE_CONTINUE;
		if (n <= 0) {
			mod->rsrc = 0;
			mod_close(mod, n == 0 ? "end of stream" : g_strerror(errno));
			return G_SOURCE_REMOVE;
		}
		ce_linebuf_feed(mod->lb, buf, n, on_line, on_overflow, mod);
	}
	if (mod->dead) {
		mod->rsrc = 0;
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

/* ---- stderr, process end, restart --------------------------------------- */

static void on_err_line(const char *line, size_t len, void *arg)
{
	struct sim_mod *mod = arg;
	char *t = g_strndup(line, len);

	sim_event(mod->s, "stderr", "\"module\":%s,\"text\":%s", sim_json(mod->name), sim_json(t));
	if (mod->s->verbose)
		fprintf(stderr, "%s: %s\n", mod->name, t);
	g_free(t);
}

static gboolean stderr_cb(int fd, GIOCondition cond, gpointer data)
{
	struct sim_mod *mod = data;
	char buf[8192];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		mod->esrc = 0;
		close(mod->efd);
		mod->efd = -1;
		return G_SOURCE_REMOVE;
	}
	ce_linebuf_feed(mod->elb, buf, n, on_err_line, NULL, mod);
	return G_SOURCE_CONTINUE;
}

static void abandon_pending(struct sim_mod *mod)
{
	GList *ds = NULL, *l;
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, mod->pending);
	while (g_hash_table_iter_next(&it, NULL, &v))
		ds = g_list_prepend(ds, ((struct pending *)v)->d);
	g_hash_table_remove_all(mod->pending);
	for (l = ds; l; l = l->next)
		sim_disp_resume(l->data, false);
	g_list_free(ds);
}

static void drop_relays(struct sim_mod *mod)
{
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, mod->relays);
	while (g_hash_table_iter_next(&it, NULL, &v))
		sim_uninstall(mod->s, v);
	g_hash_table_remove_all(mod->relays);
	g_hash_table_remove_all(mod->watched);
}

static void mod_close(struct sim_mod *mod, const char *why)
{
	if (mod->dead)
		return;
	mod->dead = true;
	sim_event(mod->s, "module-down", "\"module\":%s,\"why\":%s", sim_json(mod->name),
		sim_json(why));
	if (mod->rsrc)
		g_source_remove(mod->rsrc);
	if (mod->wsrc)
		g_source_remove(mod->wsrc);
	mod->rsrc = mod->wsrc = 0;
	if (mod->wfd >= 0 && mod->wfd != mod->rfd)
		close(mod->wfd);
	if (mod->rfd >= 0)
		close(mod->rfd);
	mod->rfd = mod->wfd = -1;
	drop_relays(mod);
	abandon_pending(mod);
	if (!mod->s->stopping && !mod->quit && mod->pid < 0)
		sim_event(mod->s, "disconnected", "\"module\":%s", sim_json(mod->name));
}

static void mod_free(struct sim_mod *mod)
{
	struct sim *s = mod->s;

	mod_close(mod, "freed");
	s->mods = g_list_remove(s->mods, mod);
	if (mod->esrc)
		g_source_remove(mod->esrc);
	if (mod->efd >= 0)
		close(mod->efd);
	if (mod->csrc)
		g_source_remove(mod->csrc);
	if (mod->kill_timer)
		g_source_remove(mod->kill_timer);
	if (mod->pid > 0 && !mod->exited) {
		kill(mod->pid, SIGKILL);
		waitpid(mod->pid, NULL, 0);
	}
	ce_linebuf_free(mod->lb);
	if (mod->elb)
		ce_linebuf_free(mod->elb);
	g_string_free(mod->wbuf, TRUE);
	g_hash_table_destroy(mod->pending);
	g_hash_table_destroy(mod->relays);
	g_hash_table_destroy(mod->watched);
	g_free(mod->name);
	g_free(mod);
}

static void child_exit_cb(GPid pid, gint status, gpointer data)
{
	struct sim_mod *mod = data;
	struct sim *s = mod->s;
	bool restart;
	char how[64];

	mod->csrc = 0;
	mod->exited = true;
	g_spawn_close_pid(pid);
	if (WIFSIGNALED(status))
		g_snprintf(how, sizeof(how), "killed by signal %d (%s)", WTERMSIG(status),
			g_strsignal(WTERMSIG(status)));
	else
		g_snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(status));
	sim_event(s, "engine-exit", "\"module\":%s,\"how\":%s,\"expected\":%s", sim_json(mod->name),
		sim_json(how), s->stopping || mod->quit ? "true" : "false");
	if (!s->stopping && !mod->quit)
		sim_problem(s, "crash", "%s %s while the scenario was running", mod->name, how);
	else if (WIFSIGNALED(status) && mod->kill_stage == 0)
		sim_problem(s, "crash", "%s %s while stopping", mod->name, how);
	restart = mod->restart && !s->stopping;
	mod_close(mod, how);
	if (mod->kill_timer)
		g_source_remove(mod->kill_timer);
	mod->kill_timer = 0;
	/* read what is left on stderr before it goes */
	if (mod->efd >= 0)
		while (stderr_cb(mod->efd, G_IO_IN, mod) == G_SOURCE_CONTINUE)
			;
	mod_free(mod);
	if (restart) {
		GError *err = NULL;
		struct sim_mod *nm;
		sim_event(s, "engine-restart", "\"argv0\":%s", sim_json(s->engine_argv[0]));
		if (sim_mod_spawn(s, &nm, s->engine_argv, &err) < 0) {
			sim_problem(s, "spawn", "restart failed: %s", err->message);
			g_error_free(err);
		}
	}
	if (s->stopping && sim_mods_gone(s))
		sim_stop(s);
}

/**
 * Start @argv as a global external module with stdin/stdout pipes and
 * stderr collected (as events, and on our stderr when verbose).
 */
int sim_mod_spawn(struct sim *s, struct sim_mod **mp, char **argv, GError **err)
{
	struct sim_mod *mod;
	int in, out, errfd;
	GPid pid;

	if (!g_spawn_async_with_pipes(NULL, argv, NULL,
		    G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH, NULL, NULL, &pid, &in, &out,
		    &errfd, err))
		return -ENOENT;
	mod = mod_new(s, argv[0], out, in);
	g_free(mod->name);
	mod->name = g_path_get_basename(argv[0]);
	mod->pid = pid;
	mod->efd = errfd;
	mod->scripted = true;
	mod->known = true;
	set_nonblock(errfd);
	ce_linebuf_new(&mod->elb, 16384);
	mod->rsrc = g_unix_fd_add(out, G_IO_IN | G_IO_HUP | G_IO_ERR, readable_cb, mod);
	mod->esrc = g_unix_fd_add(errfd, G_IO_IN | G_IO_HUP | G_IO_ERR, stderr_cb, mod);
	mod->csrc = g_child_watch_add(pid, child_exit_cb, mod);
	sim_event(s, "engine-start", "\"module\":%s,\"pid\":%d", sim_json(mod->name), (int)pid);
	*mp = mod;
	return 0;
}

/* ---- socket listener (for conf-engine --connect) ----------------------- */

static gboolean accept_cb(int fd, GIOCondition cond, gpointer data)
{
	struct sim *s = data;
	static unsigned n;
	struct sim_mod *mod;
	char name[32];
	int c = accept(fd, NULL, NULL);

	if (c < 0)
		return G_SOURCE_CONTINUE;
	g_snprintf(name, sizeof(name), "socket%u", ++n);
	mod = mod_new(s, name, c, c);
	mod->rsrc = g_unix_fd_add(c, G_IO_IN | G_IO_HUP | G_IO_ERR, readable_cb, mod);
	sim_event(s, "accept", "\"module\":%s", sim_json(name));
	return G_SOURCE_CONTINUE;
}

static int listen_unix(struct sim *s, const char *path, GError **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		int e = errno;
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(e), "listen on %s: %s", path,
			g_strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	s->listen_path = g_strdup(path);
	return fd;
}

static int listen_tcp(const char *spec, GError **err)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	char *host = g_strdup(spec), *colon = strrchr(host, ':');
	int fd = -1, one = 1, e = EINVAL;

	if (!colon)
		goto out;
	*colon = 0;
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, *host ? host : "127.0.0.1", &sa.sin_addr) != 1)
		goto out;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		e = errno;
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		e = errno;
		close(fd);
		fd = -1;
	}
out:
	if (fd < 0)
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(e), "listen on tcp:%s: %s", spec,
			g_strerror(e));
	g_free(host);
	return fd < 0 ? -e : fd;
}

/** Listen on "unix:PATH" or "tcp:[HOST]:PORT" for modules that connect. */
int sim_mod_listen(struct sim *s, const char *spec, GError **err)
{
	int fd;

	if (g_str_has_prefix(spec, "unix:"))
		fd = listen_unix(s, spec + 5, err);
	else if (g_str_has_prefix(spec, "tcp:"))
		fd = listen_tcp(spec + 4, err);
	else {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			"listen spec must be unix:PATH or tcp:HOST:PORT, not %s", spec);
		return -EINVAL;
	}
	if (fd < 0)
		return fd;
	s->listen_fd = fd;
	s->listen_src = g_unix_fd_add(fd, G_IO_IN, accept_cb, s);
	return 0;
}

/* ---- shutdown ---------------------------------------------------------- */

static gboolean kill_cb(gpointer data)
{
	struct sim_mod *mod = data;

	mod->kill_timer = 0;
	mod->kill_stage++;
	if (mod->pid <= 0 || mod->exited)
		return G_SOURCE_REMOVE;
	sim_event(mod->s, "engine-kill", "\"module\":%s,\"signal\":%s", sim_json(mod->name),
		mod->kill_stage == 1 ? "\"TERM\"" : "\"KILL\"");
	if (mod->kill_stage == 1) {
		sim_problem(mod->s, "hang", "%s did not exit within 3 s of its input closing",
			mod->name);
		kill(mod->pid, SIGTERM);
		mod->kill_timer = g_timeout_add(2000, kill_cb, mod);
	} else {
		kill(mod->pid, SIGKILL);
	}
	return G_SOURCE_REMOVE;
}

/**
 * Stop every module as Yate does at exit: close its input; a spawned one
 * gets 3 s to exit, then SIGTERM, then SIGKILL 2 s later.  sim_stop() is
 * called again once all are gone.
 */
void sim_mod_quit_all(struct sim *s)
{
	GList *l, *next;

	if (s->listen_src)
		g_source_remove(s->listen_src);
	s->listen_src = 0;
	for (l = s->mods; l; l = next) {
		struct sim_mod *mod = l->data;
		next = l->next;
		flush_out(mod);
		mod_close(mod, "simulator stopping");
		if (mod->pid > 0 && !mod->exited) {
			if (!mod->kill_timer)
				mod->kill_timer = g_timeout_add(3000, kill_cb, mod);
		} else {
			mod_free(mod);
		}
	}
}

/** Whether no module process or connection is left. */
bool sim_mods_gone(struct sim *s)
{
	return s->mods == NULL;
}

/** Free everything left (after the main loop ended). */
void sim_mod_free_all(struct sim *s)
{
	while (s->mods)
		mod_free(s->mods->data);
	if (s->listen_fd > 0)
		close(s->listen_fd);
	s->listen_fd = -1;
	if (s->listen_path)
		unlink(s->listen_path);
	g_clear_pointer(&s->listen_path, g_free);
}
