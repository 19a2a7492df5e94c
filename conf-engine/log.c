/* log.c - GLib log writer: per-domain levels, timestamped lines to stderr or to a sink */
#define G_LOG_DOMAIN "ce-log"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

/*
 * One record is one line:
 *
 *   2026-11-22 06:40:12.345 WARN ce-yate: Yate refused to install chan.dtmf ...
 *
 * Any thread may log.  Levels are read under a reader lock (with a lock-free
 * shortcut for records below every configured level); lines are written
 * under a mutex so that records never interleave.  A sink, when set, gets
 * the records instead of the stream; it may be called from any thread and
 * must not block (the session's sink queues them for the main loop).
 */

#define N_LEVELS (CE_LOG_DEBUG + 1)

static GRWLock levels_lock;
static GHashTable *levels; /* domain -> level, under levels_lock */
static enum ce_log_level default_level = CE_LOG_NOTE;
static gint max_level = CE_LOG_NOTE; /* highest level of any domain */
static GMutex out_lock;              /* the stream */
static GRWLock sink_lock;            /* the sink */
static FILE *out_stream;
static ce_log_sink_h *sink;
static void *sink_arg;
static guint64 counts[N_LEVELS];
static __thread int in_writer;

static const char *const level_names[N_LEVELS] = {
        "?",
        "ERROR",
        "WARN",
        "NOTE",
        "INFO",
        "DEBUG",
};

static enum ce_log_level from_glib(GLogLevelFlags flags)
{
	if (flags & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
		return CE_LOG_ERROR;
	if (flags & G_LOG_LEVEL_WARNING)
		return CE_LOG_WARN;
	if (flags & G_LOG_LEVEL_MESSAGE)
		return CE_LOG_NOTE;
	if (flags & G_LOG_LEVEL_INFO)
		return CE_LOG_INFO;
	return CE_LOG_DEBUG;
}

/* Caller holds levels_lock for writing. */
static void recompute_max(void)
{
	GHashTableIter it;
	gpointer v;
	gint m = default_level;

	g_hash_table_iter_init(&it, levels);
	while (g_hash_table_iter_next(&it, NULL, &v))
		m = MAX(m, GPOINTER_TO_INT(v));
	g_atomic_int_set(&max_level, m);
}

static void write_line(FILE *f, enum ce_log_level level, const char *domain, const char *text)
{
	gint64 now = g_get_real_time();
	time_t secs = (time_t)(now / G_USEC_PER_SEC);
	struct tm tm;
	char stamp[32];

	localtime_r(&secs, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(f, "%s.%03d %s %s: %s\n", stamp, (int)(now / 1000 % 1000), level_names[level],
	        domain ? domain : "ce", text);
	fflush(f);
}

/*
 * The sink is called under a reader lock, so that ce_log_set_sink() returns
 * only when no thread is inside the old sink any more: its owner may then
 * free what the sink uses.  A record the sink itself logs goes to the stream.
 */
static void emit(enum ce_log_level level, const char *domain, const char *text, bool fatal)
{
	bool sunk = false;

	if (!fatal && in_writer == 1) {
		g_rw_lock_reader_lock(&sink_lock);
		if (sink) {
			sink(level, domain, text, sink_arg);
			sunk = true;
		}
		g_rw_lock_reader_unlock(&sink_lock);
	}
	if (sunk)
		return;
	g_mutex_lock(&out_lock);
	write_line(out_stream ? out_stream : stderr, level, domain, text);
	g_mutex_unlock(&out_lock);
}

static GLogWriterOutput writer(
        GLogLevelFlags flags, const GLogField *fields, gsize n_fields, gpointer data)
{
	const char *domain = NULL, *text = "";
	enum ce_log_level level = from_glib(flags);
	bool fatal = (flags & G_LOG_FLAG_FATAL) != 0;
	gsize i;

	__atomic_add_fetch(&counts[level], 1, __ATOMIC_RELAXED);
	if ((gint)level > g_atomic_int_get(&max_level) && !fatal)
		return G_LOG_WRITER_HANDLED;
	for (i = 0; i < n_fields; i++) {
		if (!strcmp(fields[i].key, "GLIB_DOMAIN"))
			domain = fields[i].value;
		else if (!strcmp(fields[i].key, "MESSAGE"))
			text = fields[i].value;
	}
	if (level > ce_log_get_level(domain) && !fatal)
		return G_LOG_WRITER_HANDLED;
	in_writer++;
	emit(level, domain, text, fatal);
	in_writer--;
	return G_LOG_WRITER_HANDLED;
}

static gpointer init_once(gpointer unused)
{
	levels = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_log_set_writer_func(writer, NULL, NULL);
	return NULL;
}

/**
 * Install the writer (idempotent).  Call it first thing in main(), before
 * anything logs: GLib accepts one writer per process.
 */
void ce_log_init(void)
{
	static GOnce once = G_ONCE_INIT;

	g_once(&once, init_once, NULL);
}

/**
 * Log records of @domain up to @level.  A NULL, empty or "*" @domain sets
 * the default for every domain without a level of its own.
 */
void ce_log_set_level(const char *domain, enum ce_log_level level)
{
	ce_log_init();
	level = CLAMP(level, CE_LOG_ERROR, CE_LOG_DEBUG);
	g_rw_lock_writer_lock(&levels_lock);
	if (!domain || !*domain || !strcmp(domain, "*"))
		default_level = level;
	else
		g_hash_table_insert(levels, g_strdup(domain), GINT_TO_POINTER(level));
	recompute_max();
	g_rw_lock_writer_unlock(&levels_lock);
}

/** The level in force for @domain (its own, else the default). */
enum ce_log_level ce_log_get_level(const char *domain)
{
	enum ce_log_level level;
	gpointer v = NULL;

	g_rw_lock_reader_lock(&levels_lock);
	level = default_level;
	if (domain && levels && g_hash_table_lookup_extended(levels, domain, NULL, &v))
		level = GPOINTER_TO_INT(v);
	g_rw_lock_reader_unlock(&levels_lock);
	return level;
}

/**
 * Parse a level name (error, warn/warning, note/notice/message, info,
 * debug; any case) or its number 1-5.  Returns 0 or -EINVAL.
 */
int ce_log_parse_level(const char *s, enum ce_log_level *level)
{
	static const struct {
		const char *name;
		enum ce_log_level level;
	} names[] = {
	        {"error", CE_LOG_ERROR},
	        {"critical", CE_LOG_ERROR},
	        {"warn", CE_LOG_WARN},
	        {"warning", CE_LOG_WARN},
	        {"note", CE_LOG_NOTE},
	        {"notice", CE_LOG_NOTE},
	        {"message", CE_LOG_NOTE},
	        {"info", CE_LOG_INFO},
	        {"debug", CE_LOG_DEBUG},
	        {"1", CE_LOG_ERROR},
	        {"2", CE_LOG_WARN},
	        {"3", CE_LOG_NOTE},
	        {"4", CE_LOG_INFO},
	        {"5", CE_LOG_DEBUG},
	};
	unsigned i;

	if (!s)
		return -EINVAL;
	s += strspn(s, " \t");
	for (i = 0; i < G_N_ELEMENTS(names); i++) {
		size_t n = strlen(names[i].name);

		if (!g_ascii_strncasecmp(s, names[i].name, n) && !s[n + strspn(s + n, " \t")]) {
			*level = names[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

/** "ERROR", "WARN", "NOTE", "INFO" or "DEBUG". */
const char *ce_log_level_name(enum ce_log_level level)
{
	return level >= CE_LOG_ERROR && level <= CE_LOG_DEBUG ? level_names[level] : "?";
}

/**
 * Send records to @sink instead of the stream (NULL: back to the stream).
 * The sink may be called from any thread, never re-entered for a record it
 * logs itself (those go to the stream); it must not block.  Fatal records
 * go to the stream.  When this returns, no thread runs the previous sink.
 */
void ce_log_set_sink(ce_log_sink_h *s, void *arg)
{
	ce_log_init();
	g_rw_lock_writer_lock(&sink_lock);
	sink = s;
	sink_arg = arg;
	g_rw_lock_writer_unlock(&sink_lock);
}

/** Write lines to @f (NULL: stderr).  The caller keeps @f open while set. */
void ce_log_set_stream(FILE *f)
{
	ce_log_init();
	g_mutex_lock(&out_lock);
	out_stream = f;
	g_mutex_unlock(&out_lock);
}

/** How many records of @level were logged (written or filtered out). */
guint64 ce_log_count(enum ce_log_level level)
{
	if (level < CE_LOG_ERROR || level > CE_LOG_DEBUG)
		return 0;
	return __atomic_load_n(&counts[level], __ATOMIC_RELAXED);
}
