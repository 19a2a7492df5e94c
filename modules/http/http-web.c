/* http-web.c - the web dashboard's static files: read from [http] web_root at start, served from
 * memory */
#define G_LOG_DOMAIN "http"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf-engine/config.h"
#include "engine.h"
#include "http.h"

/*
 * The dashboard (web/ in the sources, installed in $(pkgdatadir)/web) is a
 * handful of files in one folder, read whole when the module starts: the
 * main loop never waits on the disk for them, and a request can only name
 * a file of that list, so no path (.., %2e%2e, an absolute one) reaches
 * anything else.  Files that are not regular, symbolic links that lead out
 * of the folder, names that are not plain (letters, digits, '-', '_', '.')
 * and types not in the table below are left out.  The paths, without a
 * token (the page asks for one and sends it with each API call):
 *
 *   GET / HTTP/1.1                  ->  web_root/index.html
 *   GET /ui/app.js HTTP/1.1         ->  web_root/app.js
 *
 *   HTTP/1.1 200 OK
 *   Content-Type: text/javascript; charset=utf-8
 *   Cache-Control: no-cache
 *   ETag: "5d41402abc4b2a76"
 *
 * A changed file is served once the engine restarts.
 */

#define WEB_PREFIX    "/ui/"
#define MAX_FILES     64
#define MAX_FILE_SIZE (1 << 20)
#define MAX_NAME      64

/* One file of the dashboard. */
struct web_file {
	GBytes *body;
	const char *type;
	char *etag;
};

static const struct {
	const char *ext, *type;
} types[] = {
        {".html", "text/html; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".json", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
};

/* The page runs only its own files; nothing inline, nothing from elsewhere. */
#define CSP                                                                                        \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "          \
	"connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

/* The Content-Type of @name, NULL when it is not a type the dashboard serves. */
static const char *type_of(const char *name)
{
	for (unsigned i = 0; i < G_N_ELEMENTS(types); i++)
		if (g_str_has_suffix(name, types[i].ext))
			return types[i].type;
	return NULL;
}

/* A plain file name: letters, digits, '-', '_', '.', not starting with '.'. */
static bool plain_name(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > MAX_NAME || !g_ascii_isalnum(name[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_isalnum(name[i]) && !strchr("-_.", name[i]))
			return false;
	return true;
}

static void web_file_free(gpointer p)
{
	struct web_file *f = p;

	g_bytes_unref(f->body);
	g_free(f->etag);
	g_free(f);
}

/* @path read whole if it is a regular file inside @real_root (symbolic links resolved). */
static struct web_file *read_file(const char *path, const char *real_root, GError **err)
{
	char real[PATH_MAX];
	struct stat st;
	struct web_file *f;
	char *data = NULL, *sum;
	gsize len;

	if (!realpath(path, real) || !g_str_has_prefix(real, real_root) ||
	        real[strlen(real_root)] != '/' || stat(real, &st) || !S_ISREG(st.st_mode) ||
	        st.st_size > MAX_FILE_SIZE) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_PERM,
		        "%s: not a regular file of at most %d bytes inside the folder", path,
		        MAX_FILE_SIZE);
		return NULL;
	}
	if (!g_file_get_contents(real, &data, &len, err))
		return NULL;
	f = g_new0(struct web_file, 1);
	sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)data, len);
	f->etag = g_strdup_printf("\"%.16s\"", sum);
	f->body = g_bytes_new_take(data, len);
	g_free(sum);
	return f;
}

/* The files of @root into @files (@quiet: nothing logged); the number read, or -errno with @err. */
static int read_folder(GHashTable *files, const char *root, bool quiet, GError **err)
{
	char real_root[PATH_MAX];
	GDir *dir;
	const char *name;
	int n = 0;

	if (!realpath(root, real_root)) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", root,
		        g_strerror(errno));
		return -ENOENT;
	}
	if (!(dir = g_dir_open(real_root, 0, err)))
		return -ENOENT;
	while ((name = g_dir_read_name(dir)) && n < MAX_FILES) {
		char *path = g_build_filename(real_root, name, NULL);
		struct web_file *f = NULL;
		GError *e = NULL;

		if (plain_name(name) && type_of(name) && (f = read_file(path, real_root, &e))) {
			f->type = type_of(name);
			g_hash_table_replace(files, g_strdup(name), f);
			n++;
		} else if (e) {
			if (!quiet)
				g_message("dashboard: %s left out", e->message);
			g_error_free(e);
		}
		g_free(path);
	}
	if (name && !quiet)
		g_message("dashboard: only the first %d files of %s are served", MAX_FILES, root);
	g_dir_close(dir);
	return n;
}

/**
 * Read the dashboard's files from [http] web_root into @h->web.  A folder
 * that the operator named and that cannot be read, or has no index.html,
 * is an error (-ENOENT with @err); the default folder missing (the engine
 * runs from its build tree) only leaves the dashboard out, and so does
 * web_root=off.  @quiet: only check (--check-config), log nothing.
 */
int ce_http_web_load(struct ce_http *h, const struct ce_config *cfg, bool quiet, GError **err)
{
	bool named = ce_config_get(cfg, CE_HTTP_SECTION, "web_root", NULL) != NULL;
	char *root = ce_config_get_path(cfg, CE_HTTP_SECTION, "web_root", CE_DATADIR "/web");
	GError *e = NULL;
	int n = 0;

	h->web = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, web_file_free);
	if (root && (n = read_folder(h->web, root, quiet, &e)) >= 0 &&
	        !g_hash_table_contains(h->web, "index.html")) {
		g_set_error(&e, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s has no index.html", root);
		n = -ENOENT;
	}
	if (n < 0 && named) {
		g_set_error(err, CE_CONFIG_ERROR, CE_CONFIG_ERROR_VALUE, "[http] web_root: %s",
		        e->message);
	} else if (n < 0) {
		if (!quiet)
			g_message("dashboard not served: %s", e->message);
		g_hash_table_remove_all(h->web);
		n = 0;
	} else if (root && !quiet) {
		g_message("dashboard: %d files from %s", n, root);
	}
	g_clear_error(&e);
	g_free(root);
	return n < 0 ? n : 0;
}

/* The file name @path asks for ("/" or "/ui/NAME"), NULL when it is not a dashboard path. */
static char *file_name(const char *path)
{
	char *name;

	if (!strcmp(path, "/"))
		return g_strdup("index.html");
	if (!g_str_has_prefix(path, WEB_PREFIX))
		return NULL;
	name = g_uri_unescape_string(path + strlen(WEB_PREFIX), "/");
	return name ? name : g_strdup(""); /* a NUL or '/' (%2F) in it: served as no file */
}

static void set_header(SoupServerMessage *msg, const char *name, const char *value)
{
	soup_message_headers_replace(soup_server_message_get_response_headers(msg), name, value);
}

static void serve(SoupServerMessage *msg, const struct web_file *f)
{
	const char *match = soup_message_headers_get_one(
	        soup_server_message_get_request_headers(msg), "If-None-Match");

	set_header(msg, "Cache-Control", "no-cache");
	set_header(msg, "ETag", f->etag);
	set_header(msg, "X-Content-Type-Options", "nosniff");
	set_header(msg, "Referrer-Policy", "no-referrer");
	set_header(msg, "X-Frame-Options", "DENY");
	set_header(msg, "Content-Security-Policy", CSP);
	if (match && !strcmp(match, f->etag)) {
		soup_server_message_set_status(msg, SOUP_STATUS_NOT_MODIFIED, NULL);
		return;
	}
	soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
	set_header(msg, "Content-Type", f->type);
	soup_message_body_append_bytes(soup_server_message_get_response_body(msg), f->body);
}

/**
 * Answer @msg when @path is the dashboard's ("/", "/ui/NAME") and the
 * dashboard is served: the file, 304, 404 or 405; no token needed.  False
 * (nothing answered) for any other path.
 */
bool ce_http_web(struct ce_http *h, SoupServerMessage *msg, const char *path)
{
	const char *method = soup_server_message_get_method(msg);
	char *name;
	const struct web_file *f;

	if (!h->web || !g_hash_table_size(h->web) || !(name = file_name(path)))
		return false;
	f = g_hash_table_lookup(h->web, name);
	if (strcmp(method, SOUP_METHOD_GET) && strcmp(method, SOUP_METHOD_HEAD)) {
		set_header(msg, "Allow", "GET, HEAD");
		ce_http_reply_error(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "method_not_allowed",
		        "%s is not allowed here (GET and HEAD only)", method);
	} else if (!f) {
		ce_http_reply_error(msg, SOUP_STATUS_NOT_FOUND, "not_found", "no such file");
	} else {
		serve(msg, f);
	}
	g_free(name);
	return true;
}
