/* config.c - Yate-style .conf files: [sections], key=value, ; comments, includes
 *
 * Over 700 lines: Yate's file syntax, includes, the key tables with their
 * ranges and every typed getter with its FILE:LINE errors belong together,
 * so that each rule is written once.
 */
#define G_LOG_DOMAIN "ce-config"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "message.h"

/*
 * The syntax, as Yate's engine/Configuration.cpp reads it (differences are
 * marked "stricter": Yate ignores those lines, we refuse the file):
 *
 *   ; a comment (also "# ...")      leading blanks are skipped on every line
 *   [general]                       a section; repeated headers merge
 *   node = pbx1                     key and value trimmed of blanks/tabs
 *   long = first part \             a value ending in '\' goes on with the
 *          second part              next line (its leading blanks dropped)
 *   [$include more.conf]            a file or a directory, relative to this file
 *   [$includesilent opt.conf]       the same, no warning when missing
 *   [$require must.conf]            the same, missing is an error
 *
 * Lines end in LF, CRLF or CR; a UTF-8 BOM at the start is skipped.  Keys
 * may repeat: every entry is kept in file order and ce_config_get() returns
 * the FIRST one, as Yate's Configuration::getValue() does.  Stricter than
 * Yate: a line without '=', an empty key, a key before any section, an
 * unterminated or empty [header], text after a header, NUL bytes, and the
 * directives we do not implement ([$enabled], [$includesection], ...).
 */

#define MAX_DEPTH 10         /* include nesting, Yate's default max_depth */
#define MAX_FILE  (16 << 20) /* bytes per file */

struct entry {
	struct ce_config_entry e; /* first: the public view */
	gint warned;              /* a typed getter already complained */
};

struct section {
	char *name;
	const char *file; /* where its first header is */
	unsigned line;
	GPtrArray *entries; /* of struct entry, file order */
	GHashTable *first;  /* key -> first struct entry with that key */
};

struct ce_config {
	char *path;
	GStringChunk *strings;
	GPtrArray *sections; /* of struct section, file order */
	GHashTable *by_name; /* name -> struct section */
};

/* One file (or text) being read. */
struct src {
	const char *file; /* interned */
	const char *p, *end;
	unsigned line;
	unsigned depth;
	struct section *sect;
	GPtrArray *stack; /* canonical paths of the files being read */
};

/** The GError domain of configuration errors. */
GQuark ce_config_error_quark(void)
{
	return g_quark_from_static_string("ce-config-error-quark");
}

static void section_free(gpointer p)
{
	struct section *s = p;

	g_free(s->name);
	g_ptr_array_unref(s->entries);
	g_hash_table_unref(s->first);
	g_free(s);
}

/** Create an empty configuration (no path, no sections). Returns 0. */
int ce_config_new_empty(struct ce_config **cfgp)
{
	struct ce_config *cfg = g_new0(struct ce_config, 1);

	cfg->strings = g_string_chunk_new(4096);
	cfg->sections = g_ptr_array_new_with_free_func(section_free);
	cfg->by_name = g_hash_table_new(g_str_hash, g_str_equal);
	*cfgp = cfg;
	return 0;
}

/** Free @cfg and every string it handed out. NULL is allowed. */
void ce_config_free(struct ce_config *cfg)
{
	if (!cfg)
		return;
	g_hash_table_unref(cfg->by_name);
	g_ptr_array_unref(cfg->sections);
	g_string_chunk_free(cfg->strings);
	g_free(cfg->path);
	g_free(cfg);
}

static struct section *find_section(const struct ce_config *cfg, const char *name)
{
	if (!cfg || !name)
		return NULL;
	return g_hash_table_lookup(cfg->by_name, name);
}

static struct section *make_section(struct ce_config *cfg, const char *name)
{
	struct section *s = find_section(cfg, name);

	if (s)
		return s;
	s = g_new0(struct section, 1);
	s->name = g_strdup(name);
	s->entries = g_ptr_array_new_with_free_func(g_free);
	s->first = g_hash_table_new(g_str_hash, g_str_equal);
	g_ptr_array_add(cfg->sections, s);
	g_hash_table_insert(cfg->by_name, s->name, s);
	return s;
}

static void add_entry(struct ce_config *cfg, struct section *s, const char *key, const char *value,
        const char *file, unsigned line)
{
	struct entry *en = g_new0(struct entry, 1);

	en->e.key = g_string_chunk_insert_const(cfg->strings, key);
	en->e.value = g_string_chunk_insert(cfg->strings, value);
	en->e.file = file;
	en->e.line = line;
	g_ptr_array_add(s->entries, en);
	if (!g_hash_table_contains(s->first, en->e.key))
		g_hash_table_insert(s->first, (gpointer)en->e.key, en);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Trim blanks (space, tab) on both ends; returns a new string. */
static char *trim_dup(const char *s, size_t len)
{
	while (len && is_blank(*s)) {
		s++;
		len--;
	}
	while (len && is_blank(s[len - 1]))
		len--;
	return g_strndup(s, len);
}

static int syntax(GError **err, const struct src *in, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static int syntax(GError **err, const struct src *in, const char *fmt, ...)
{
	va_list ap;
	char *what;

	va_start(ap, fmt);
	what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(err, CE_CONFIG_ERROR, CE_CONFIG_ERROR_SYNTAX, "%s:%u: %s", in->file, in->line,
	        what);
	g_free(what);
	return -EINVAL;
}

/*
 * Next physical line, leading blanks skipped, without its end of line.
 * Returns 1 with a line, 0 at the end, -EINVAL on a NUL byte.
 */
static int next_line(struct src *in, const char **line, size_t *len, GError **err)
{
	const char *s = in->p, *e;

	if (s >= in->end)
		return 0;
	in->line++;
	for (e = s; e < in->end && *e != '\n' && *e != '\r' && *e; e++)
		;
	if (e < in->end && !*e)
		return syntax(err, in, "NUL byte in line");
	in->p = e < in->end ? e + 1 : e;
	if (e < in->end && *e == '\r' && in->p < in->end && *in->p == '\n')
		in->p++;
	while (s < e && is_blank(*s))
		s++;
	*line = s;
	*len = (size_t)(e - s);
	return 1;
}

static int parse_src(struct ce_config *cfg, struct src *in, GError **err);

/* Read a whole file, bounded; sets errno-style errors with the path. */
static int read_file(const char *path, char **textp, gsize *lenp, GError **err)
{
	struct stat st;
	gssize n;
	gsize len = 0, cap;
	char *buf = NULL;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		r = -EISDIR;
		goto out;
	}
	/* Size the buffer from the file (it may still grow while we read, or
	 * be a pipe), never past MAX_FILE + 1: a short file costs a short buffer. */
	cap = (gsize)MIN(MAX(st.st_size, (off_t)4095) + 1, (off_t)MAX_FILE + 1);
	buf = g_malloc(cap);
	for (;;) {
		if (len == cap) {
			if (cap > MAX_FILE) {
				r = -EFBIG;
				goto out;
			}
			cap = MIN(cap * 2, (gsize)MAX_FILE + 1);
			buf = g_realloc(buf, cap);
		}
		n = read(fd, buf + len, cap - len);
		if (n == 0)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		len += (gsize)n;
		if (len > MAX_FILE) {
			r = -EFBIG;
			goto out;
		}
	}
	*textp = g_realloc(g_steal_pointer(&buf), len + 1);
	(*textp)[len] = '\0';
	*lenp = len;
out:
	if (fd >= 0)
		close(fd);
	g_free(buf);
	if (r < 0)
		g_set_error(err, CE_CONFIG_ERROR, CE_CONFIG_ERROR_IO, "cannot read '%s': %s", path,
		        g_strerror(-r));
	return r;
}

static bool skip_included(const char *name)
{
	return name[0] == '.' || g_str_has_suffix(name, "~") || g_str_has_suffix(name, ".bak") ||
	       g_str_has_suffix(name, ".tmp");
}

static int include_file(struct ce_config *cfg, struct src *in, const char *path, GError **err)
{
	char *canon = realpath(path, NULL);
	struct src sub = {0};
	char *text = NULL;
	gsize len = 0;
	unsigned i;
	int r;

	if (canon) {
		for (i = 0; i < in->stack->len; i++) {
			if (!strcmp(canon, in->stack->pdata[i])) {
				free(canon);
				return syntax(err, in, "recursive include of '%s'", path);
			}
		}
	}
	r = read_file(path, &text, &len, err);
	if (r < 0) {
		free(canon);
		return r;
	}
	g_ptr_array_add(in->stack, g_strdup(canon ? canon : path));
	free(canon);
	sub.file = g_string_chunk_insert_const(cfg->strings, path);
	sub.p = text;
	sub.end = text + len;
	sub.depth = in->depth + 1;
	sub.sect = in->sect; /* keys before a header land in the includer's section */
	sub.stack = in->stack;
	r = parse_src(cfg, &sub, err);
	g_ptr_array_remove_index(in->stack, in->stack->len - 1);
	g_free(text);
	return r;
}

static gint cmp_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int include_dir(struct ce_config *cfg, struct src *in, const char *path, GError **err)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	GDir *dir = g_dir_open(path, 0, NULL);
	const char *name;
	unsigned i;
	int r = 0;

	while (dir && (name = g_dir_read_name(dir)))
		if (!skip_included(name))
			g_ptr_array_add(names, g_build_filename(path, name, NULL));
	if (dir)
		g_dir_close(dir);
	g_ptr_array_sort(names, cmp_names);
	for (i = 0; i < names->len && !r; i++)
		r = include_file(cfg, in, names->pdata[i], err);
	g_ptr_array_unref(names);
	return r;
}

enum inc_kind { INC_INCLUDE, INC_SILENT, INC_REQUIRE };

static int do_include(
        struct ce_config *cfg, struct src *in, enum inc_kind kind, const char *what, GError **err)
{
	GError *e = NULL;
	char *dir, *path;
	int r;

	if (in->depth >= MAX_DEPTH)
		return syntax(err, in, "includes nested deeper than %d levels", MAX_DEPTH);
	if (g_path_is_absolute(what)) {
		path = g_strdup(what);
	} else {
		dir = g_path_get_dirname(in->file);
		path = g_build_filename(dir, what, NULL);
		g_free(dir);
	}
	if (g_file_test(path, G_FILE_TEST_IS_DIR))
		r = include_dir(cfg, in, path, &e);
	else
		r = include_file(cfg, in, path, &e);
	if (r < 0 && e && e->code == CE_CONFIG_ERROR_IO && kind != INC_REQUIRE) {
		if (kind == INC_INCLUDE || r != -ENOENT)
			g_warning("%s:%u: not including: %s", in->file, in->line, e->message);
		g_clear_error(&e);
		r = 0;
	} else if (r < 0 && e && e->code == CE_CONFIG_ERROR_IO) {
		g_set_error(err, CE_CONFIG_ERROR, CE_CONFIG_ERROR_IO, "%s:%u: required %s",
		        in->file, in->line, e->message);
		g_clear_error(&e);
	} else if (e) {
		g_propagate_error(err, e);
	}
	g_free(path);
	return r;
}

/* [$directive arg]: returns 1 when @name was a directive (handled), 0 when a section. */
static int directive(struct ce_config *cfg, struct src *in, const char *name, GError **err)
{
	static const struct {
		const char *word;
		int kind; /* enum inc_kind, or -1: unsupported */
	} dirs[] = {
	        {"$include", INC_INCLUDE},
	        {"$includesilent", INC_SILENT},
	        {"$require", INC_REQUIRE},
	        {"$includesection", -1},
	        {"$includesectionsilent", -1},
	        {"$requiresection", -1},
	        {"$enabled", -1},
	};
	size_t wl = strcspn(name, " \t");
	unsigned i;
	char *arg;
	int r;

	for (i = 0; i < G_N_ELEMENTS(dirs); i++) {
		if (strlen(dirs[i].word) != wl || strncmp(name, dirs[i].word, wl))
			continue;
		if (dirs[i].kind < 0)
			return syntax(err, in, "unsupported directive [%s]", dirs[i].word);
		arg = trim_dup(name + wl, strlen(name + wl));
		if (!*arg)
			r = syntax(err, in, "[%s] needs a file or directory name", dirs[i].word);
		else
			r = do_include(cfg, in, dirs[i].kind, arg, err);
		g_free(arg);
		return r < 0 ? r : 1;
	}
	return 0;
}

static int parse_header(
        struct ce_config *cfg, struct src *in, const char *line, size_t len, GError **err)
{
	const char *close = memchr(line, ']', len);
	const char *rest;
	char *name;
	int r = 0;

	if (!close)
		return syntax(err, in, "unterminated section header (missing ']')");
	for (rest = close + 1; rest < line + len && is_blank(*rest); rest++)
		;
	if (rest < line + len && *rest != ';' && *rest != '#')
		return syntax(err, in, "unexpected text after section header");
	name = trim_dup(line + 1, (size_t)(close - line - 1));
	if (!*name)
		r = syntax(err, in, "empty section name");
	else if (name[0] == '$')
		r = directive(cfg, in, name, err);
	if (r == 0) {
		in->sect = make_section(cfg, name);
		if (!in->sect->line) {
			in->sect->file = in->file;
			in->sect->line = in->line;
		}
	}
	g_free(name);
	return r < 0 ? r : 0;
}

/* A value that ends in '\' goes on with the next line (Yate's rule). */
static int read_value(struct src *in, const char *v, size_t vlen, GString *out, GError **err)
{
	const char *line;
	size_t len;
	int r;

	g_string_append_len(out, v, (gssize)vlen);
	while (out->len && out->str[out->len - 1] == '\\') {
		g_string_truncate(out, out->len - 1);
		r = next_line(in, &line, &len, err);
		if (r <= 0)
			return r;
		g_string_append_len(out, line, (gssize)len);
	}
	return 0;
}

static int parse_pair(
        struct ce_config *cfg, struct src *in, const char *line, size_t len, GError **err)
{
	const char *eq = memchr(line, '=', len);
	unsigned first = in->line;
	GString *val;
	char *key, *value;
	int r;

	if (!eq)
		return syntax(err, in, "expected 'key=value' or '[section]'");
	key = trim_dup(line, (size_t)(eq - line));
	if (!*key) {
		g_free(key);
		return syntax(err, in, "empty key before '='");
	}
	if (!in->sect) {
		r = syntax(err, in, "key '%s' outside any [section]", key);
		g_free(key);
		return r;
	}
	val = g_string_new(NULL);
	r = read_value(in, eq + 1, (size_t)(line + len - eq - 1), val, err);
	if (r == 0) {
		value = trim_dup(val->str, val->len);
		add_entry(cfg, in->sect, key, value, in->file, first);
		g_free(value);
	}
	g_string_free(val, TRUE);
	g_free(key);
	return r;
}

static int parse_src(struct ce_config *cfg, struct src *in, GError **err)
{
	const char *line;
	size_t len;
	int r;

	if (in->end - in->p >= 3 && !memcmp(in->p, "\xef\xbb\xbf", 3))
		in->p += 3;
	while ((r = next_line(in, &line, &len, err)) > 0) {
		if (!len || line[0] == ';' || line[0] == '#')
			continue;
		if (line[0] == '[')
			r = parse_header(cfg, in, line, len, err);
		else
			r = parse_pair(cfg, in, line, len, err);
		if (r < 0)
			return r;
	}
	return r;
}

/**
 * Parse @text (@len bytes, or NUL-terminated when @len < 0) into a new
 * configuration; @filename names it in errors and anchors relative
 * includes (NULL: "<config>", includes relative to the working directory).
 * Returns 0, or a negative errno with @err set ("FILE:LINE: what").
 */
int ce_config_parse(
        struct ce_config **cfgp, const char *text, gssize len, const char *filename, GError **err)
{
	struct ce_config *cfg = NULL;
	struct src in = {0};
	char *canon;
	int r;

	ce_config_new_empty(&cfg);
	if (len < 0)
		len = (gssize)strlen(text);
	in.file = g_string_chunk_insert_const(cfg->strings, filename ? filename : "<config>");
	in.p = text;
	in.end = text + len;
	in.stack = g_ptr_array_new_with_free_func(g_free);
	canon = filename ? realpath(filename, NULL) : NULL;
	if (canon)
		g_ptr_array_add(in.stack, g_strdup(canon));
	free(canon);
	r = parse_src(cfg, &in, err);
	g_ptr_array_unref(in.stack);
	if (r < 0)
		goto out;
	cfg->path = g_strdup(filename);
	*cfgp = g_steal_pointer(&cfg);
out:
	ce_config_free(cfg);
	return r;
}

/**
 * Load the file at @path.  An unreadable file is CE_CONFIG_ERROR_IO
 * ("cannot read 'PATH': OS error"), bad syntax CE_CONFIG_ERROR_SYNTAX.
 * Returns 0 or a negative errno.  Blocking: call it at start or from a worker.
 */
int ce_config_load(struct ce_config **cfgp, const char *path, GError **err)
{
	char *text = NULL;
	gsize len = 0;
	int r;

	r = read_file(path, &text, &len, err);
	if (r == 0)
		r = ce_config_parse(cfgp, text, (gssize)len, path, err);
	g_free(text);
	return r;
}

static const struct entry *lookup(const struct ce_config *cfg, const char *section, const char *key)
{
	struct section *s = find_section(cfg, section);

	return s && key ? g_hash_table_lookup(s->first, key) : NULL;
}

/**
 * The first entry for @key in [@section] (Yate returns the first of
 * repeated keys), or NULL; for callers that report "FILE:LINE" themselves.
 */
const struct ce_config_entry *ce_config_lookup(
        const struct ce_config *cfg, const char *section, const char *key)
{
	const struct entry *en = lookup(cfg, section, key);

	return en ? &en->e : NULL;
}

/** The value of the first @key in [@section], or @def. @cfg may be NULL. */
const char *ce_config_get(
        const struct ce_config *cfg, const char *section, const char *key, const char *def)
{
	const struct entry *en = lookup(cfg, section, key);

	return en ? en->e.value : def;
}

/* One warning per entry, however often a getter is called. */
static void warn_value(const struct entry *en, const char *section, const char *fmt, ...)
        G_GNUC_PRINTF(3, 4);

static void warn_value(const struct entry *en, const char *section, const char *fmt, ...)
{
	struct entry *mut = (struct entry *)en;
	va_list ap;
	char *what;

	if (!g_atomic_int_compare_and_exchange(&mut->warned, 0, 1))
		return;
	va_start(ap, fmt);
	what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (en->e.line)
		g_warning("%s:%u: key '%s' %s", en->e.file, en->e.line, en->e.key, what);
	else
		g_warning("[%s] key '%s' %s", section, en->e.key, what);
	g_free(what);
}

/*
 * What an operator may have meant by a word that is not one of Yate's
 * booleans but was one for the engine before it followed Yate ("1", "0",
 * "True", "OFF"): 1 or 0, or -1 for anything else.
 */
static int lenient_bool(const char *v)
{
	char *low = g_ascii_strdown(v, -1);
	int b = !strcmp(v, "1") ? 1 : !strcmp(v, "0") ? 0 : ce_bool_word(low);

	g_free(low);
	return b;
}

/* Why @v is not a boolean (newly allocated), or NULL when it is one of Yate's words. */
static char *bad_bool(const char *v)
{
	int meant = lenient_bool(v);

	if (ce_bool_word(v) >= 0)
		return NULL;
	if (meant >= 0)
		return g_strdup_printf(
		        "is not a Yate boolean (Yate reads it as the default; write %s)",
		        meant ? "true" : "false");
	return g_strdup("expects a boolean (true or false)");
}

/**
 * Boolean value with Yate's rule (ce_bool_word: true/yes/on/enable/t or
 * false/no/off/disable/f, lower case); @def when absent or empty; @def
 * with one g_warning naming FILE:LINE when the value is anything else
 * ("1", "True": Yate's Configuration::getBoolValue gives the default too).
 */
bool ce_config_get_bool(const struct ce_config *cfg, const char *section, const char *key, bool def)
{
	const struct entry *en = lookup(cfg, section, key);
	const char *v = en ? en->e.value : NULL;
	char *why;

	if (!v || !*v)
		return def;
	why = bad_bool(v);
	if (!why)
		return ce_bool_word(v);
	warn_value(en, section, "%s, using default %s", why, def ? "true" : "false");
	g_free(why);
	return def;
}

/* Decimal, or hexadecimal after 0x; the whole value must be the number. */
static bool parse_long(const char *v, long *out)
{
	const char *p = v + (*v == '-' || *v == '+');
	int base = (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) ? 16 : 10;
	char *end;

	errno = 0;
	*out = strtol(v, &end, base);
	return !errno && end != v && !*end && g_ascii_isxdigit(p[base == 16 ? 2 : 0]);
}

/**
 * Integer value in [@min, @max]: @def when absent or empty; @def and a
 * g_warning with FILE:LINE when not a number; clamped into the range, with
 * a warning, when out of it (Yate clamps too).
 */
long ce_config_get_int(const struct ce_config *cfg, const char *section, const char *key, long def,
        long min, long max)
{
	const struct entry *en = lookup(cfg, section, key);
	long v;

	if (!en || !*en->e.value)
		return def;
	if (!parse_long(en->e.value, &v)) {
		warn_value(en, section, "expects an integer, using default %ld", def);
		return def;
	}
	if (v < min || v > max) {
		warn_value(en, section, "value %ld is outside %ld..%ld, using %ld", v, min, max,
		        v < min ? min : max);
		return v < min ? min : max;
	}
	return v;
}

/**
 * Set the first @key in [@section] to @value, or append it (creating the
 * section).  Returns 0, or -EINVAL for an empty section or key.
 */
int ce_config_set(struct ce_config *cfg, const char *section, const char *key, const char *value)
{
	struct section *s;
	struct entry *en;

	if (!section || !*section || !key || !*key)
		return -EINVAL;
	s = make_section(cfg, section);
	en = g_hash_table_lookup(s->first, key);
	if (en) {
		en->e.value = g_string_chunk_insert(cfg->strings, value ? value : "");
		en->warned = 0;
	} else {
		add_entry(cfg, s, key, value ? value : "", "", 0);
	}
	return 0;
}

/** Number of sections, in file order. */
unsigned ce_config_n_sections(const struct ce_config *cfg)
{
	return cfg ? cfg->sections->len : 0;
}

/** Name of section @i (file order), or NULL past the end. */
const char *ce_config_section_name(const struct ce_config *cfg, unsigned i)
{
	if (!cfg || i >= cfg->sections->len)
		return NULL;
	return ((struct section *)cfg->sections->pdata[i])->name;
}

/** Whether [@section] appeared (possibly empty). */
bool ce_config_has_section(const struct ce_config *cfg, const char *section)
{
	return find_section(cfg, section) != NULL;
}

/** Number of entries in [@section], repeated keys included; 0 if absent. */
unsigned ce_config_n_entries(const struct ce_config *cfg, const char *section)
{
	struct section *s = find_section(cfg, section);

	return s ? s->entries->len : 0;
}

/** Entry @i of [@section] in file order, or NULL; owned by @cfg. */
const struct ce_config_entry *ce_config_entry(
        const struct ce_config *cfg, const char *section, unsigned i)
{
	struct section *s = find_section(cfg, section);

	if (!s || i >= s->entries->len)
		return NULL;
	return &((struct entry *)s->entries->pdata[i])->e;
}

/** The path the configuration was loaded from, or NULL. */
const char *ce_config_path(const struct ce_config *cfg)
{
	return cfg ? cfg->path : NULL;
}

/**
 * [@section] @key as a file path, or NULL when it is "off" or "none" (or
 * empty with no @def).  A relative path is taken from the main
 * configuration file's directory.  Returns a new string.
 */
char *ce_config_get_path(
        const struct ce_config *cfg, const char *section, const char *key, const char *def)
{
	const char *v = ce_config_get(cfg, section, key, NULL);

	if (!v || !*v)
		v = def;
	if (!v || !*v || !g_ascii_strcasecmp(v, "off") || !g_ascii_strcasecmp(v, "none"))
		return NULL;
	return ce_config_resolve_path(cfg, v);
}

/**
 * The path @value as the configuration means it, canonical ("." and ".."
 * resolved, so that paths under it compare as under it): a relative one is
 * taken from the main configuration file's directory (the working
 * directory when there is no file).  Returns a new string.
 */
char *ce_config_resolve_path(const struct ce_config *cfg, const char *value)
{
	const char *file = ce_config_path(cfg);
	char *dir = NULL, *p;

	if (file && !g_path_is_absolute(value)) {
		char *base = g_path_get_dirname(file);

		dir = g_canonicalize_filename(base, NULL);
		g_free(base);
	}
	p = g_canonicalize_filename(value, dir);
	g_free(dir);
	return p;
}

/**
 * Where [@section] first appeared: its line, with *@file set (when not
 * NULL); 0 when the section is unknown or was made by ce_config_set().
 */
unsigned ce_config_section_line(const struct ce_config *cfg, const char *section, const char **file)
{
	struct section *s = find_section(cfg, section);

	if (file)
		*file = s ? s->file : NULL;
	return s ? s->line : 0;
}

/** Start an empty report. */
void ce_config_report_init(struct ce_config_report *rep)
{
	rep->errors = g_ptr_array_new_with_free_func(g_free);
	rep->warnings = g_ptr_array_new_with_free_func(g_free);
}

/** Free the messages of @rep; init it again to reuse it. */
void ce_config_report_clear(struct ce_config_report *rep)
{
	g_clear_pointer(&rep->errors, g_ptr_array_unref);
	g_clear_pointer(&rep->warnings, g_ptr_array_unref);
}

/** Add one message to @rep: an error when @error, else a warning. */
void ce_config_report_add(struct ce_config_report *rep, bool error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_ptr_array_add(error ? rep->errors : rep->warnings, g_strdup_vprintf(fmt, ap));
	va_end(ap);
}

/* "FILE:LINE: " of an entry or a header; nothing for what ce_config_set() made. */
static char *where(const char *file, unsigned line)
{
	return line ? g_strdup_printf("%s:%u: ", file, line) : g_strdup("");
}

static const struct ce_config_key *find_key(const struct ce_config_key *keys, const char *name)
{
	for (; keys && keys->name; keys++) {
		size_t n = strlen(keys->name);

		if (n && keys->name[n - 1] == '.' ? !strncmp(name, keys->name, n) && name[n]
		                                  : !strcmp(name, keys->name))
			return keys;
	}
	return NULL;
}

static const struct ce_config_section_keys *find_known(
        const struct ce_config_section_keys *known, unsigned n, const char *section)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(known[i].section, section))
			return &known[i];
	return NULL;
}

/* Edit distance (insert, delete, change or swap two neighbours), any case; names are short. */
static unsigned distance(const char *a, const char *b)
{
	size_t la = MIN(strlen(a), 32), lb = MIN(strlen(b), 32), i, j;
	unsigned d[33][33];

	for (i = 0; i <= la; i++)
		d[i][0] = (unsigned)i;
	for (j = 0; j <= lb; j++)
		d[0][j] = (unsigned)j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			char x = g_ascii_tolower(a[i - 1]), y = g_ascii_tolower(b[j - 1]);

			d[i][j] = MIN(
			        MIN(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + (x != y));
			if (i > 1 && j > 1 && x == g_ascii_tolower(b[j - 2]) &&
			        g_ascii_tolower(a[i - 2]) == y)
				d[i][j] = MIN(d[i][j], d[i - 2][j - 2] + 1);
		}
	}
	return d[la][lb];
}

/* Whether @typed is a slip of the finger for @name (one mistake in a short name, two else). */
static bool looks_like(const char *typed, const char *name)
{
	return distance(typed, name) <= (strlen(name) <= 4 ? 1u : 2u);
}

static void unknown_section(const struct ce_config *cfg, const char *name,
        const struct ce_config_section_keys *known, unsigned n, struct ce_config_report *rep)
{
	const char *file, *hint = NULL;
	unsigned line = ce_config_section_line(cfg, name, &file);
	char *at = where(file, line);

	for (unsigned i = 0; i < n && !hint; i++)
		if (looks_like(name, known[i].section))
			hint = known[i].section;
	ce_config_report_add(rep, false, "%sunknown section [%s] is ignored%s%s%s", at, name,
	        hint ? " (did you mean [" : "", hint ? hint : "", hint ? "]?)" : "");
	g_free(at);
}

static void unknown_key(const struct ce_config_entry *e, const struct ce_config_section_keys *in,
        const struct ce_config_section_keys *known, unsigned n, struct ce_config_report *rep)
{
	const char *hint = NULL, *home = NULL;
	char *at = where(e->file, e->line);

	for (const struct ce_config_key *k = in->keys; k && k->name && !hint; k++)
		if (looks_like(e->key, k->name))
			hint = k->name;
	for (unsigned i = 0; i < n && !hint && !home; i++)
		if (&known[i] != in && find_key(known[i].keys, e->key))
			home = known[i].section;
	if (hint)
		ce_config_report_add(rep, false,
		        "%s[%s] unknown key '%s' is ignored (did you mean '%s%s'?)", at,
		        in->section, e->key, hint, g_str_has_suffix(hint, ".") ? "NAME" : "");
	else if (home)
		ce_config_report_add(rep, false,
		        "%s[%s] unknown key '%s' is ignored (it belongs in [%s])", at, in->section,
		        e->key, home);
	else
		ce_config_report_add(
		        rep, false, "%s[%s] unknown key '%s' is ignored", at, in->section, e->key);
	g_free(at);
}

/* What is wrong with @v for @k (newly allocated), or NULL. */
static char *bad_value(const struct ce_config_key *k, const char *v)
{
	const char *why = NULL;
	long n;

	switch (k->type) {
	case CE_CONFIG_STRING:
		break;
	case CE_CONFIG_BOOL:
		return bad_bool(v);
	case CE_CONFIG_INT:
		if (!parse_long(v, &n))
			return g_strdup_printf("expects an integer (%ld..%ld)", k->min, k->max);
		if (n < k->min || n > k->max)
			return g_strdup_printf("outside %ld..%ld", k->min, k->max);
		break;
	case CE_CONFIG_CHOICE: {
		char **words = g_strsplit(k->choices, "|", -1);
		bool found = g_strv_contains((const char *const *)words, v);
		char *list = g_strjoinv(", ", words);
		char *r = found ? NULL : g_strdup_printf("expects one of %s", list);

		g_free(list);
		g_strfreev(words);
		if (r)
			return r;
		break;
	}
	}
	if (k->check && (why = k->check(v)))
		return g_strdup(why);
	return NULL;
}

/**
 * Check @cfg against the @n_known sections the engine knows: an unknown
 * section or key is a warning (it is ignored, as Yate ignores what it does
 * not read), a value its key cannot take is an error.  Every entry is
 * checked, repeated keys too; empty values mean the default and pass.
 * Messages ("FILE:LINE: ...") are added to @rep.  Returns 0, or -EINVAL
 * when this review added an error.
 */
int ce_config_review(const struct ce_config *cfg, const struct ce_config_section_keys *known,
        unsigned n_known, struct ce_config_report *rep)
{
	unsigned errors = rep->errors->len;

	for (unsigned i = 0; i < ce_config_n_sections(cfg); i++) {
		const char *name = ce_config_section_name(cfg, i);
		const struct ce_config_section_keys *in = find_known(known, n_known, name);

		if (!in) {
			unknown_section(cfg, name, known, n_known, rep);
			continue;
		}
		for (unsigned j = 0; j < ce_config_n_entries(cfg, name); j++) {
			const struct ce_config_entry *e = ce_config_entry(cfg, name, j);
			const struct ce_config_key *k = find_key(in->keys, e->key);
			char *why, *at;

			if (!k) {
				unknown_key(e, in, known, n_known, rep);
				continue;
			}
			if (!*e->value || !(why = bad_value(k, e->value)))
				continue;
			/* reported here: the getters need not warn again */
			g_atomic_int_set(&((struct entry *)e)->warned, 1);
			at = where(e->file, e->line);
			ce_config_report_add(
			        rep, true, "%s[%s] %s=%.80s: %s", at, name, e->key, e->value, why);
			g_free(at);
			g_free(why);
		}
	}
	return rep->errors->len > errors ? -EINVAL : 0;
}
