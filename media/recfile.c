/* recfile.c - files named from outside: record= paths confined to record_dir and never
 * overwritten, prompt files confined to the folders prompts may be played from */
#define G_LOG_DOMAIN "conference"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <glib.h>

#include "recfile.h"

/*
 * record= comes from callers (dialplan captures), chan.control and the
 * console, so it is confined: a relative path is taken under the
 * configured root ([conference] record_dir), an absolute one must lie
 * inside it, and ".." is refused.  Below the root the path is walked one
 * component at a time with openat(O_NOFOLLOW), so no symbolic link (file
 * or directory) leads out of it, and the file is created with O_EXCL: an
 * existing NAME.EXT is kept and NAME-1.EXT, NAME-2.EXT ... is used.
 * Missing directories below the root are created (0750).
 */

/* How many NAME-N.EXT are tried before giving up. */
#define UNIQUE_MAX 1000

static int refuse(GError **error, int err, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static int refuse(GError **error, int err, const char *fmt, ...)
{
	va_list ap;
	char *why;

	va_start(ap, fmt);
	why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error_literal(error, G_FILE_ERROR, g_file_error_from_errno(err), why);
	g_free(why);
	return -err;
}

/* The directory @name in @dirfd, created when missing; never through a link. */
static int open_dir(int dirfd, const char *name, GError **error)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT && (!mkdirat(dirfd, name, 0750) || errno == EEXIST))
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	if (errno == ELOOP || errno == ENOTDIR)
		return refuse(error, errno, "'%s' is a symbolic link or not a directory", name);
	return refuse(error, errno, "directory '%s': %s", name, g_strerror(errno));
}

/* Create @name in @dirfd, or the first free NAME-N.EXT; *used gets the name. */
static int create_unique(int dirfd, const char *name, char **used, GError **error)
{
	const char *dot = strrchr(name, '.');
	int stem = dot && dot != name ? (int)(dot - name) : (int)strlen(name);

	for (unsigned i = 0; i < UNIQUE_MAX; i++) {
		char *try = i ? g_strdup_printf("%.*s-%u%s", stem, name, i, name + stem)
		              : g_strdup(name);
		int fd = openat(
		        dirfd, try, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
		int err = errno;
		struct stat st;

		if (fd >= 0) {
			*used = try;
			return fd;
		}
		g_free(try);
		if (err != EEXIST)
			return refuse(error, err, "cannot create the file: %s", g_strerror(err));
		/* O_EXCL never follows it, but a link planted there is someone's trap */
		if (!i && !fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) && S_ISLNK(st.st_mode))
			return refuse(error, ELOOP, "'%s' is a symbolic link", name);
	}
	return refuse(error, EEXIST, "%s: too many recordings of that name", name);
}

/*
 * Prompts come from the same places (play= of chan.control, recordwarn=,
 * the console, the schedule), so a prompt file must lie under one of the
 * play roots (prompt.c: prompts_dir, record_dir, the folders of the
 * configured prompts, prompt_dirs).  The name is checked on the main
 * thread without touching the disk (ce_path_confined: no "..", under a
 * root); the I/O thread then opens it (ce_prompt_open) and checks where
 * the open file really is, links followed: a link below a root may point
 * anywhere under any root, not outside.  Only regular files are played: a
 * FIFO or a device could block the I/O thread or never end.
 */

/* @path relative to @root (NULL: outside it), without trailing slashes on @root. */
static const char *under_root(const char *root, const char *path)
{
	size_t n = strlen(root);

	while (n > 1 && root[n - 1] == '/')
		n--;
	if (!g_path_is_absolute(path))
		return path;
	if (strncmp(path, root, n) || (path[n] != '/' && n > 1))
		return NULL;
	return path + n;
}

/* Walk the directories of @parts (all but the last) from @fd, which it closes. */
static int walk(int fd, char **parts, guint n, GError **error)
{
	for (guint i = 0; i + 1 < n && fd >= 0; i++) {
		int next = open_dir(fd, parts[i], error);

		close(fd);
		fd = next;
	}
	return fd;
}

/**
 * Create the file that record= @path names under @root, confined as the
 * comment above says.  Returns the open, empty file (the caller owns it)
 * with *used the absolute path actually created (NAME-N.EXT when NAME.EXT
 * existed; g_free it), or a negative errno with @error saying why
 * (-EACCES: outside the root or "..", -ELOOP: a symbolic link).
 */
int ce_recfile_create(const char *root, const char *path, char **used, GError **error)
{
	const char *rel = root && *root ? under_root(root, path) : NULL;
	char **split = NULL, *name = NULL;
	GPtrArray *parts = g_ptr_array_new();
	int fd;

	if (!root || !*root) {
		fd = refuse(error, EACCES, "%s: no [conference] record_dir to record in", path);
		goto out;
	}
	if (!rel) {
		fd = refuse(error, EACCES, "'%s' is outside [conference] record_dir", path);
		goto out;
	}
	split = g_strsplit(rel, "/", -1);
	for (char **p = split; *p; p++) {
		if (!strcmp(*p, "..")) {
			fd = refuse(error, EACCES, "'%s': '..' is not allowed", path);
			goto out;
		}
		if (**p && strcmp(*p, "."))
			g_ptr_array_add(parts, *p);
	}
	if (!parts->len) {
		fd = refuse(error, EINVAL, "'%s' names no file", path);
		goto out;
	}
	if (g_mkdir_with_parents(root, 0750) < 0) {
		fd = refuse(error, errno, "record_dir: %s", g_strerror(errno));
		goto out;
	}
	/* the root is the operator's: it may be reached through links */
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		fd = refuse(error, errno, "record_dir: %s", g_strerror(errno));
		goto out;
	}
	fd = walk(fd, (char **)parts->pdata, parts->len, error);
	if (fd >= 0) {
		int dirfd = fd;

		fd = create_unique(dirfd, parts->pdata[parts->len - 1], &name, error);
		close(dirfd);
	}
	if (fd >= 0) {
		parts->pdata[parts->len - 1] = name;
		g_ptr_array_add(parts, NULL);
		g_ptr_array_insert(parts, 0, (gpointer)root);
		*used = g_build_filenamev((char **)parts->pdata);
	}
out:
	g_free(name);
	g_strfreev(split);
	g_ptr_array_free(parts, TRUE);
	return fd;
}

/* Whether @path has a ".." component. */
static bool has_dotdot(const char *path)
{
	char **split = g_strsplit(path, "/", -1);
	bool found = false;

	for (char **p = split; *p && !found; p++)
		found = !strcmp(*p, "..");
	g_strfreev(split);
	return found;
}

/**
 * The root of @roots (NULL-terminated, canonical) that the absolute @path
 * lies under, judged by its name alone; or NULL with *@why (static) saying
 * why not: a relative path, a ".." component, or outside every root.
 */
const char *ce_path_confined(const char *path, const char *const *roots, const char **why)
{
	if (!g_path_is_absolute(path)) {
		*why = "not an absolute path";
		return NULL;
	}
	if (has_dotdot(path)) {
		*why = "'..' is not allowed in a prompt path";
		return NULL;
	}
	for (; roots && *roots; roots++)
		if (under_root(*roots, path))
			return *roots;
	*why = "outside the folders prompts are played from ([conference] prompts_dir, "
	       "record_dir, prompt_dirs)";
	return NULL;
}

/* Whether the real path of @fd lies under the real path of one of @roots. */
static bool fd_under_roots(int fd, const char *const *roots, char **real)
{
	char link[32];
	bool ok = false;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	*real = g_file_read_link(link, NULL);
	for (; *real && roots && *roots && !ok; roots++) {
		char *root = realpath(*roots, NULL);

		ok = root && under_root(root, *real);
		free(root);
	}
	return ok;
}

/**
 * Open the prompt file @path for reading (on the I/O thread: it touches
 * the disk).  It must be a regular file and, when @roots is not NULL,
 * really lie (links followed) under the real path of one of them.
 * Returns the open file (the caller owns it) or a negative errno with
 * @error saying why (-EACCES: it leads outside, -EINVAL: not a regular
 * file).
 */
int ce_prompt_open(const char *path, const char *const *roots, GError **error)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	char *real = NULL;
	struct stat st;
	int ret;

	if (fd < 0)
		return refuse(error, errno, "%s", g_strerror(errno));
	if (fstat(fd, &st) < 0)
		ret = refuse(error, errno, "%s", g_strerror(errno));
	else if (!S_ISREG(st.st_mode))
		ret = refuse(error, EINVAL, "not a regular file");
	else if (roots && !fd_under_roots(fd, roots, &real))
		ret = refuse(error, EACCES,
		        "it leads to '%s', outside the folders prompts are played from",
		        real ? real : "?");
	else
		ret = fd;
	g_free(real);
	if (ret != fd)
		close(fd);
	return ret;
}
