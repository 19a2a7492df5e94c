/* journal.c - the open-leg journal: one line per enter and leave, so a new engine finds the legs */
#define G_LOG_DOMAIN "conference"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "message.h"
#include "journal.h"

/*
 * An append-only text file (docs/conference.md, "Surviving a crash"): a
 * leg's "enter" line is written before its caller is answered, its
 * "leave" line when it ends, each with one write(2), fields separated by
 * tabs, values escaped as C strings (g_strescape), so a line never holds a
 * tab or a newline of its own:
 *
 *   enter	runid=1796532625	id=dumb/3	at=1796532639123456	room=r1
 *        notify=conf-monitor/r1	peer=sip/1	port=20000	rtp_ip=127.0.0.1
 *        rtp_port=23614	format=mulaw	counted=true	caller=1001	billid=...
 *   leave	runid=1796532625	id=dumb/3	at=1796532700000000
 *
 * A leg is (runid, id): Yate numbers its dumb/N channels anew when it
 * restarts.  A crash can leave the last line torn (no newline): it is
 * ignored with a warning, and so is any line that does not parse.  Opening
 * the journal reads it, keeps the legs still open and rewrites the file
 * with only their "enter" lines (a new file renamed over the old, so a
 * crash meanwhile keeps one or the other).
 *
 * An engine holds PATH.lock (flock) while it has the journal open, so that
 * a second engine given the same file does not take over the legs of one
 * that runs; the kernel lets go of it when the engine dies.
 *
 * Lines are written without fsync, on the main loop: a write(2) to a local
 * file returns once the page cache has the bytes, which is what a crash of
 * the engine (not of the machine) needs, and it does not wait for the
 * disk.  A write that fails (full disk) is counted and warned about once
 * until one succeeds again; the call goes on without its line.  While legs
 * are open, the file's modification time is renewed at every tick of the
 * module (250 ms; at most every 200 ms, ce_journal_touch): after a crash it
 * tells when the old engine was last alive.
 */

#define TOUCH_US (200 * 1000)

struct ce_journal {
	char *path;
	int fd;
	int lock_fd;      /* PATH.lock, held with flock(): one engine per journal */
	GHashTable *open; /* "runid id" -> TRUE, the legs entered and not left */
	gint64 touched;
	bool failing; /* the last write failed: warned already */
	struct ce_journal_stats st;
};

static char *leg_key(const char *runid, const char *id)
{
	return g_strdup_printf("%s %s", runid ? runid : "", id ? id : "");
}

/* One line: @name, then every parameter of @m as a tab-separated key=value. */
static GString *line_new(const char *name, const struct ce_msg *m)
{
	GString *s = g_string_new(name);

	for (unsigned i = 0; i < ce_msg_count(m); i++) {
		const struct ce_param *p = ce_msg_param(m, i);
		char *v = g_strescape(p->value ? p->value : "", "");

		g_string_append_printf(s, "\t%s=%s", p->name, v);
		g_free(v);
	}
	g_string_append_c(s, '\n');
	return s;
}

/* A line read back (without its newline) as a message named enter or leave; NULL if bad. */
static struct ce_msg *line_parse(const char *line)
{
	char **f = g_strsplit(line, "\t", -1);
	struct ce_msg *m = NULL;

	if (!f[0] || (strcmp(f[0], "enter") && strcmp(f[0], "leave")))
		goto out;
	ce_msg_new(&m, f[0]);
	for (unsigned i = 1; f[i]; i++) {
		char *eq = strchr(f[i], '=');
		char *v;

		if (!eq || eq == f[i]) {
			g_clear_pointer(&m, ce_msg_unref);
			goto out;
		}
		*eq = 0;
		v = g_strcompress(eq + 1);
		ce_msg_add(m, f[i], v);
		g_free(v);
	}
	if (!ce_msg_get(m, "id") || !ce_msg_get(m, "runid"))
		g_clear_pointer(&m, ce_msg_unref);
out:
	g_strfreev(f);
	return m;
}

/* Read @text: the enter messages of the legs still open, in order. */
static GPtrArray *replay(const char *path, const char *text, gsize len)
{
	GPtrArray *legs = g_ptr_array_new_with_free_func((GDestroyNotify)ce_msg_unref);
	GHashTable *at = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	const char *p = text, *end = text + len;
	unsigned lineno = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		char *line, *key;
		struct ce_msg *m;
		gpointer old;

		lineno++;
		if (!nl) {
			g_warning("journal %s: line %u is cut short (a crash while writing it?): "
			          "ignored",
			        path, lineno);
			break;
		}
		line = g_strndup(p, nl - p);
		p = nl + 1;
		m = line_parse(line);
		g_free(line);
		if (!m) {
			g_warning("journal %s: line %u cannot be read: ignored", path, lineno);
			continue;
		}
		key = leg_key(ce_msg_get(m, "runid"), ce_msg_get(m, "id"));
		if (g_hash_table_lookup_extended(at, key, NULL, &old)) {
			g_ptr_array_remove(legs, old); /* a leave, or an enter that replaces one */
			g_hash_table_remove(at, key);
		}
		if (!strcmp(m->name, "enter")) {
			g_ptr_array_add(legs, m);
			g_hash_table_insert(at, key, m);
		} else {
			ce_msg_unref(m);
			g_free(key);
		}
	}
	g_hash_table_destroy(at);
	return legs;
}

/* Write @s whole with one write(2); a short write is truncated back. */
static int write_line(struct ce_journal *j, const GString *s)
{
	off_t pos = lseek(j->fd, 0, SEEK_END);
	ssize_t n = write(j->fd, s->str, s->len);
	int err = n < 0 ? errno : (size_t)n < s->len ? ENOSPC : 0;

	if (n >= 0 && err && pos >= 0 && ftruncate(j->fd, pos) < 0)
		g_warning("journal %s: cannot remove a half-written line: %s", j->path,
		        g_strerror(errno));
	return -err;
}

/* The file anew with the enter lines of @legs only (GLib writes a new file and renames it). */
static int compact(const char *path, GPtrArray *legs, GError **err)
{
	GString *all = g_string_new(NULL);
	int r = 0;

	for (unsigned i = 0; i < legs->len; i++) {
		GString *s = line_new("enter", g_ptr_array_index(legs, i));

		g_string_append_len(all, s->str, s->len);
		g_string_free(s, TRUE);
	}
	if (!g_file_set_contents_full(
	            path, all->str, all->len, G_FILE_SET_CONTENTS_CONSISTENT, 0640, err))
		r = -EIO;
	g_string_free(all, TRUE);
	return r;
}

/* Hold @j's PATH.lock: -EBUSY while another engine has the journal open. */
static int lock(struct ce_journal *j, GError **err)
{
	char *name = g_strconcat(j->path, ".lock", NULL);
	int r = 0;

	j->lock_fd = open(name, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (j->lock_fd < 0 || flock(j->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(-r),
		        "journal %s: cannot lock %s%s: %s", j->path, name,
		        r == -EBUSY ? " (another engine has it open)" : "", g_strerror(-r));
	}
	g_free(name);
	return r;
}

/**
 * Open the journal at @path (made if missing).  *@legs gets the enter
 * lines (struct ce_msg named "enter", its fields as parameters) of the
 * legs a previous engine left open, and *@last_alive when that engine was
 * last alive (the file's modification time, microseconds since the epoch;
 * 0 for a new file).  The file is compacted to those legs (if that fails,
 * a warning, and it is appended to as it is).  Returns 0, or a negative
 * errno with @err set: -EBUSY when another engine has it open (PATH.lock),
 * or the file cannot be read, or opened for writing.
 */
int ce_journal_open(struct ce_journal **jp, const char *path, GPtrArray **legs, gint64 *last_alive,
        GError **err)
{
	struct ce_journal *j = g_new0(struct ce_journal, 1);
	GError *rerr = NULL;
	char *text = NULL;
	gsize len = 0;
	GStatBuf sb;
	int r = 0;

	j->path = g_strdup(path);
	j->fd = j->lock_fd = -1;
	j->open = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	*legs = NULL;
	*last_alive = 0;
	r = lock(j, err);
	if (r)
		goto out;
	if (g_stat(path, &sb) == 0)
		*last_alive =
		        (gint64)sb.st_mtim.tv_sec * G_USEC_PER_SEC + sb.st_mtim.tv_nsec / 1000;
	if (!g_file_get_contents(path, &text, &len, &rerr)) {
		if (!g_error_matches(rerr, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
			g_propagate_error(err, rerr);
			r = -EIO;
			goto out;
		}
		g_clear_error(&rerr);
	}
	*legs = replay(path, text ? text : "", len);
	for (unsigned i = 0; i < (*legs)->len; i++) {
		struct ce_msg *m = g_ptr_array_index(*legs, i);

		g_hash_table_add(j->open, leg_key(ce_msg_get(m, "runid"), ce_msg_get(m, "id")));
	}
	if (compact(path, *legs, &rerr) < 0) {
		/* a full disk: the old file stays as it is, and is appended to */
		g_warning("journal %s: cannot compact it: %s", path, rerr->message);
		g_clear_error(&rerr);
	}
	j->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (j->fd < 0) {
		r = -errno;
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(-r),
		        "cannot open journal %s: %s", path, g_strerror(-r));
	}
out:
	g_free(text);
	if (r) {
		g_clear_pointer(legs, g_ptr_array_unref);
		ce_journal_free(j);
		j = NULL;
	}
	*jp = j;
	return r;
}

/** Close the journal (what is open stays open in the file). */
void ce_journal_free(struct ce_journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd);
	if (j->lock_fd >= 0)
		close(j->lock_fd); /* and the lock with it */
	g_hash_table_destroy(j->open);
	g_free(j->path);
	g_free(j);
}

static int append(struct ce_journal *j, const char *name, const struct ce_msg *m)
{
	GString *s = line_new(name, m);
	int r = write_line(j, s);

	g_string_free(s, TRUE);
	if (r && !j->failing)
		g_warning("journal %s: cannot write: %s (the legs that enter or leave meanwhile "
		          "are not kept: a crash would strand them)",
		        j->path, g_strerror(-r));
	else if (!r && j->failing)
		g_message("journal %s writable again (%" G_GUINT64_FORMAT " lines lost meanwhile)",
		        j->path, j->st.failures);
	j->failing = r != 0;
	if (r)
		j->st.failures++;
	return r;
}

/**
 * A leg entered: @leg (any name) holds at least runid= and id=, then what
 * a new engine needs to close or rebuild it.  Returns 0 or a negative
 * errno (counted and logged: the call goes on).
 */
int ce_journal_enter(struct ce_journal *j, const struct ce_msg *leg)
{
	int r = append(j, "enter", leg);

	if (r)
		return r;
	j->st.enters++;
	g_hash_table_add(j->open, leg_key(ce_msg_get(leg, "runid"), ce_msg_get(leg, "id")));
	return 0;
}

/** Leg @id of Yate run @runid left (nothing if it was not entered).  0 or -errno. */
int ce_journal_leave(struct ce_journal *j, const char *runid, const char *id)
{
	char *key = leg_key(runid, id);
	struct ce_msg *m = NULL;
	int r = 0;

	if (!g_hash_table_contains(j->open, key))
		goto out;
	ce_msg_new(&m, "leave");
	ce_msg_add(m, "runid", runid ? runid : "");
	ce_msg_add(m, "id", id);
	ce_msg_setf(m, "at", "%" G_GINT64_FORMAT, g_get_real_time());
	r = append(j, "leave", m);
	ce_msg_unref(m);
	/* a leave that could not be written still closes it here */
	g_hash_table_remove(j->open, key);
	if (!r)
		j->st.leaves++;
out:
	g_free(key);
	return r;
}

/** Renew the file's time (at most every 200 ms, only while legs are open): "alive at @now". */
void ce_journal_touch(struct ce_journal *j, gint64 now)
{
	if (!g_hash_table_size(j->open) || now - j->touched < TOUCH_US)
		return;
	j->touched = now;
	if (futimens(j->fd, NULL) < 0 && !j->failing)
		g_warning("journal %s: cannot renew its time: %s", j->path, g_strerror(errno));
}

/** The counters (and how many legs are open). */
void ce_journal_stats(const struct ce_journal *j, struct ce_journal_stats *st)
{
	*st = j->st;
	st->open = g_hash_table_size(j->open);
}

/** The file's path. */
const char *ce_journal_path(const struct ce_journal *j)
{
	return j->path;
}
