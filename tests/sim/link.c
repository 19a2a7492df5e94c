/* link.c - how modules reach the simulator: spawned like extmodule's scripts, or on a socket */
/*
 * A module is started as Yate's extmodule starts a global script: stdin
 * and stdout are pipes carrying protocol lines, stderr is collected.  A
 * socket listener accepts modules started elsewhere (conf-engine --connect),
 * whose first line must be "%%>connect:global".  Output is buffered and
 * never blocks; a module that stops reading, exits, or does not exit when
 * its input closes is reported (serve.c answers what it says).
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
#include "mod.h"

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
	mod->bufsize = MOD_DEF_LINE;
	mod->wbuf = g_string_new(NULL);
	mod->pending = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, ce_sim_pending_free);
	mod->relays = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	mod->watched = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	set_nonblock(rfd);
	if (wfd != rfd)
		set_nonblock(wfd);
	s->mods = g_list_append(s->mods, mod);
	return mod;
}

bool ce_sim_mod_alive(const struct sim_mod *mod)
{
	return !mod->dead && !mod->quit && mod->known;
}

bool ce_sim_mod_reenter(const struct sim_mod *mod)
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
			ce_sim_mod_close(mod, "write failed");
			return;
		}
		g_string_erase(mod->wbuf, 0, n);
	}
	if (mod->wbuf->len && !mod->wsrc)
		mod->wsrc = g_unix_fd_add(mod->wfd, G_IO_OUT, writable_cb, mod);
	if (mod->wbuf->len > MOD_MAX_OUT) {
		ce_sim_problem(mod->s, "stuck", "%s does not read its input (%zu bytes waiting)",
		        mod->name, mod->wbuf->len);
		g_string_truncate(mod->wbuf, 0);
		ce_sim_mod_close(mod, "not reading");
	}
}

static gboolean writable_cb(int fd, GIOCondition cond, gpointer data)
{
	struct sim_mod *mod = data;

	mod->wsrc = 0;
	flush_out(mod);
	return G_SOURCE_REMOVE;
}

void ce_sim_mod_write_line(struct sim_mod *mod, const char *line, size_t len)
{
	if (mod->dead || mod->wfd < 0)
		return;
	ce_sim_transcript(mod->s, 'E', line, len);
	g_string_append_len(mod->wbuf, line, len);
	g_string_append_c(mod->wbuf, '\n');
	if (!mod->wsrc)
		flush_out(mod);
}

void ce_sim_mod_write_gstring(struct sim_mod *mod, GString *g)
{
	ce_sim_mod_write_line(mod, g->str, g->len);
	g_string_free(g, TRUE);
}

void ce_sim_mod_reply(struct sim_mod *mod, struct ce_line *l)
{
	GString *g = g_string_new(NULL);

	ce_line_format(g, l);
	ce_sim_mod_write_gstring(mod, g);
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
			ce_sim_mod_close(mod, n == 0 ? "end of stream" : g_strerror(errno));
			return G_SOURCE_REMOVE;
		}
		ce_linebuf_feed(mod->lb, buf, n, ce_sim_mod_on_line, ce_sim_mod_on_overflow, mod);
		/*
		 * Messages those lines enqueued go first (dispatch.c): a module that
		 * reacts at once to a report must not overtake them by a read here.
		 */
		if (!g_queue_is_empty(&mod->s->enqueued))
			break;
	}
	if (mod->dead) {
		mod->rsrc = 0;
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

/* ---- a stalled reader ---------------------------------------------------- */

static gboolean unstall_cb(gpointer data)
{
	struct sim_mod *mod = data;

	mod->stall_timer = 0;
	if (!mod->dead && mod->rfd >= 0 && !mod->rsrc)
		mod->rsrc =
		        g_unix_fd_add(mod->rfd, G_IO_IN | G_IO_HUP | G_IO_ERR, readable_cb, mod);
	ce_sim_event(mod->s, "resume", "\"module\":%s", ce_sim_json(mod->name));
	return G_SOURCE_REMOVE;
}

/**
 * Stop reading what module @name (NULL: every module) writes for @ms, as
 * Yate's extmodule does while its reader thread is held up (a handler that
 * blocks the dispatch of a module's message): what the module writes waits
 * in the pipe and its own buffers, what Yate sends still goes out, and the
 * answers Yate waits for meanwhile time out as in Yate.  Returns how many
 * modules were stalled.
 */
unsigned ce_sim_mod_stall(struct sim *s, const char *name, unsigned ms)
{
	unsigned n = 0;

	for (GList *l = s->mods; l; l = l->next) {
		struct sim_mod *mod = l->data;
		if (mod->dead || (name && strcmp(name, mod->name)))
			continue;
		if (mod->rsrc)
			g_source_remove(mod->rsrc);
		mod->rsrc = 0;
		if (mod->stall_timer)
			g_source_remove(mod->stall_timer);
		mod->stall_timer = g_timeout_add(ms, unstall_cb, mod);
		ce_sim_event(s, "stall", "\"module\":%s,\"ms\":%u", ce_sim_json(mod->name), ms);
		n++;
	}
	return n;
}

/* ---- stderr, process end, restart --------------------------------------- */

/*
 * A sanitizer build reports through stderr and an exit status (ASan and
 * UBSan 1 when they halt, LeakSanitizer 23 at exit), and a UBSan built to
 * go on only prints "runtime error:": any of them fails the run.
 */
static bool sanitizer_line(const char *t)
{
	static const char *const marks[] = {"AddressSanitizer", "LeakSanitizer",
	        "UndefinedBehaviorSanitizer", "ThreadSanitizer", "MemorySanitizer",
	        "runtime error:"};

	for (size_t i = 0; i < G_N_ELEMENTS(marks); i++) {
		if (strstr(t, marks[i]))
			return true;
	}
	return false;
}

static void on_err_line(const char *line, size_t len, void *arg)
{
	struct sim_mod *mod = arg;
	char *t = g_strndup(line, len);

	ce_sim_event(mod->s, "stderr", "\"module\":%s,\"text\":%s", ce_sim_json(mod->name),
	        ce_sim_json(t));
	if (mod->s->verbose)
		fprintf(stderr, "%s: %s\n", mod->name, t);
	/* one problem per module: the report's first line says what it is */
	if (!mod->sanitizer_reported && sanitizer_line(t)) {
		mod->sanitizer_reported = true;
		ce_sim_problem(mod->s, "sanitizer", "%s: %s", mod->name, t);
	}
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
		ce_sim_disp_resume(l->data, false);
	g_list_free(ds);
}

static void drop_relays(struct sim_mod *mod)
{
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, mod->relays);
	while (g_hash_table_iter_next(&it, NULL, &v))
		ce_sim_uninstall(mod->s, v);
	g_hash_table_remove_all(mod->relays);
	g_hash_table_remove_all(mod->watched);
}

void ce_sim_mod_close(struct sim_mod *mod, const char *why)
{
	if (mod->dead)
		return;
	mod->dead = true;
	ce_sim_event(mod->s, "module-down", "\"module\":%s,\"why\":%s", ce_sim_json(mod->name),
	        ce_sim_json(why));
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
		ce_sim_event(mod->s, "disconnected", "\"module\":%s", ce_sim_json(mod->name));
}

static void mod_free(struct sim_mod *mod)
{
	struct sim *s = mod->s;

	ce_sim_mod_close(mod, "freed");
	s->mods = g_list_remove(s->mods, mod);
	if (mod->esrc)
		g_source_remove(mod->esrc);
	if (mod->efd >= 0)
		close(mod->efd);
	if (mod->csrc)
		g_source_remove(mod->csrc);
	if (mod->kill_timer)
		g_source_remove(mod->kill_timer);
	if (mod->stall_timer)
		g_source_remove(mod->stall_timer);
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
	ce_sim_event(s, "engine-exit", "\"module\":%s,\"how\":%s,\"expected\":%s",
	        ce_sim_json(mod->name), ce_sim_json(how),
	        s->stopping || mod->quit || mod->crashed ? "true" : "false");
	if (mod->crashed && WIFSIGNALED(status))
		; /* the scenario killed it, as an operator's kill -9 */
	else if (!s->stopping && !mod->quit)
		ce_sim_problem(s, "crash", "%s %s while the scenario was running", mod->name, how);
	else if (WIFSIGNALED(status) && mod->kill_stage == 0)
		ce_sim_problem(s, "crash", "%s %s while stopping", mod->name, how);
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		ce_sim_problem(s, "exit-status", "%s %s while stopping (a sanitizer report?)",
		        mod->name, how);
	restart = mod->restart && !s->stopping;
	ce_sim_mod_close(mod, how);
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
		ce_sim_event(s, "engine-restart", "\"argv0\":%s", ce_sim_json(s->engine_argv[0]));
		if (ce_sim_mod_spawn(s, &nm, s->engine_argv, &err) < 0) {
			ce_sim_problem(s, "spawn", "restart failed: %s", err->message);
			g_error_free(err);
		}
	}
	if (s->stopping && ce_sim_mods_gone(s))
		ce_sim_stop(s);
}

/*
 * The argument vector Yate's [scripts] gives "PATH=VALUE": execl(PATH, PATH,
 * VALUE, NULL), exactly one argument however many words VALUE has, and an
 * empty one when there is no value.  @argv's words after the first are
 * joined into that one value, each quoted as a shell would need.
 */
static char **yate_exec_argv(char **argv)
{
	GString *value = g_string_new(NULL);
	char **v = g_new0(char *, 3);
	unsigned i;

	for (i = 1; argv[i]; i++) {
		bool plain = argv[i][0] && !strpbrk(argv[i], " \t'\"\\$`*?[]#~;&|<>(){}");
		char *q = plain ? g_strdup(argv[i]) : g_shell_quote(argv[i]);

		g_string_append_printf(value, "%s%s", i > 1 ? " " : "", q);
		g_free(q);
	}
	v[0] = g_strdup(argv[0]);
	v[1] = g_string_free(value, FALSE);
	return v;
}

/**
 * Start @argv as a global external module with stdin/stdout pipes and
 * stderr collected (as events, and on our stderr when verbose).  Like Yate,
 * the program gets exactly one argument: @argv's other words joined.
 */
int ce_sim_mod_spawn(struct sim *s, struct sim_mod **mp, char **argv, GError **err)
{
	char **xargv = yate_exec_argv(argv);
	struct sim_mod *mod;
	int in, out, errfd;
	GPid pid;
	bool spawned;

	spawned = g_spawn_async_with_pipes(NULL, xargv, NULL,
	        G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH, NULL, NULL, &pid, &in, &out,
	        &errfd, err);
	g_strfreev(xargv);
	if (!spawned)
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
	ce_sim_event(
	        s, "engine-start", "\"module\":%s,\"pid\":%d", ce_sim_json(mod->name), (int)pid);
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
	ce_sim_event(s, "accept", "\"module\":%s", ce_sim_json(name));
	return G_SOURCE_CONTINUE;
}

static int listen_unix(struct sim *s, const char *path, GError **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		g_set_error(
		        err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "path too long: %s", path);
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
int ce_sim_mod_listen(struct sim *s, const char *spec, GError **err)
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

/* ---- a crash on purpose ------------------------------------------------- */

/**
 * Kill every module the simulator spawned with @sig (SIGKILL: a crash),
 * as an operator's kill would; a module that asked for restart=true comes
 * back as Yate's extmodule brings it back.  Returns how many were killed.
 */
unsigned ce_sim_mods_crash(struct sim *s, int sig)
{
	unsigned n = 0;

	for (GList *l = s->mods; l; l = l->next) {
		struct sim_mod *mod = l->data;

		if (!mod->scripted || mod->pid <= 0 || mod->exited || mod->crashed)
			continue;
		mod->crashed = true;
		ce_sim_event(s, "engine-kill", "\"module\":%s,\"signal\":%d,\"by\":\"scenario\"",
		        ce_sim_json(mod->name), sig);
		kill(mod->pid, sig);
		n++;
	}
	return n;
}

/* ---- shutdown ---------------------------------------------------------- */

static gboolean kill_cb(gpointer data)
{
	struct sim_mod *mod = data;

	mod->kill_timer = 0;
	mod->kill_stage++;
	if (mod->pid <= 0 || mod->exited)
		return G_SOURCE_REMOVE;
	ce_sim_event(mod->s, "engine-kill", "\"module\":%s,\"signal\":%s", ce_sim_json(mod->name),
	        mod->kill_stage == 1 ? "\"TERM\"" : "\"KILL\"");
	if (mod->kill_stage == 1) {
		ce_sim_problem(mod->s, "hang", "%s did not exit within 3 s of its input closing",
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
 * gets 3 s to exit, then SIGTERM, then SIGKILL 2 s later.  ce_sim_stop() is
 * called again once all are gone.
 */
void ce_sim_mod_quit_all(struct sim *s)
{
	GList *l, *next;

	if (s->listen_src)
		g_source_remove(s->listen_src);
	s->listen_src = 0;
	for (l = s->mods; l; l = next) {
		struct sim_mod *mod = l->data;
		next = l->next;
		flush_out(mod);
		ce_sim_mod_close(mod, "simulator stopping");
		if (mod->pid > 0 && !mod->exited) {
			if (!mod->kill_timer)
				mod->kill_timer = g_timeout_add(3000, kill_cb, mod);
		} else {
			mod_free(mod);
		}
	}
}

/** Whether no module process or connection is left. */
bool ce_sim_mods_gone(struct sim *s)
{
	return s->mods == NULL;
}

/** Free everything left (after the main loop ended). */
void ce_sim_mod_free_all(struct sim *s)
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
