/* evlog.c - the simulator's machine-readable event log (JSON lines) and wire transcript */
/*
 * One JSON object per line, always with the time in seconds since start
 * and the event name, then fields that depend on the event:
 *
 *   {"t":0.012,"ev":"message","name":"call.execute","handled":true,"retval":"",
 *    "params":{"id":"sip/1","callto":"conf/room1","peerid":"dumb/1"}}
 *   {"t":2.041,"ev":"answered","who":"1001","chan":"sip/1"}
 *   {"t":9.999,"ev":"problem","what":"timeout","text":"conf-engine did not answer ..."}
 *
 * The transcript has the shape of the files in ../shared/yate/: "E: " for
 * lines the simulator (Yate) wrote, "A: " for lines the module wrote.
 */
#define G_LOG_DOMAIN "sim"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "sim.h"

/** Seconds since the simulator started. */
double ce_sim_now(struct sim *s)
{
	return (double)(g_get_monotonic_time() - s->t0) / 1e6;
}

static void json_escape(GString *g, const char *s)
{
	const unsigned char *p;

	if (!s) {
		g_string_append(g, "null");
		return;
	}
	g_string_append_c(g, '"');
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			g_string_append_printf(g, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			g_string_append_printf(g, "\\u%04x", *p);
		else
			g_string_append_c(g, (char)*p);
	}
	g_string_append_c(g, '"');
}

/**
 * @s as a JSON string literal ("null" for NULL).  The result lives until
 * 16 more calls; it is meant for the arguments of one ce_sim_event().
 * Bytes that are not UTF-8 are replaced, so the log always parses.
 */
const char *ce_sim_json(const char *s)
{
	static GString *ring[16];
	static unsigned n;
	GString *g;
	char *valid = NULL;

	n = (n + 1) % G_N_ELEMENTS(ring);
	if (!ring[n])
		ring[n] = g_string_new(NULL);
	g = ring[n];
	g_string_truncate(g, 0);
	if (s && !g_utf8_validate(s, -1, NULL))
		s = valid = g_utf8_make_valid(s, -1);
	json_escape(g, s);
	g_free(valid);
	return g->str;
}

/** Open the event log at @path ("-" is stdout). */
int ce_sim_evlog_open(struct sim *s, const char *path, GError **err)
{
	s->evlog = strcmp(path, "-") ? fopen(path, "w") : stdout;
	if (!s->evlog) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", path,
		        g_strerror(errno));
		return -errno;
	}
	return 0;
}

void ce_sim_evlog_close(struct sim *s)
{
	if (s->evlog && s->evlog != stdout)
		fclose(s->evlog);
	else if (s->evlog)
		fflush(s->evlog);
	s->evlog = NULL;
	if (s->transcript)
		fclose(s->transcript);
	s->transcript = NULL;
}

static void emit(struct sim *s, GString *g)
{
	if (s->keep_history) {
		if (!s->history)
			s->history = g_ptr_array_new_with_free_func(g_free);
		g_ptr_array_add(s->history, g_strdup(g->str));
	}
	if (s->evlog) {
		fputs(g->str, s->evlog);
		fputc('\n', s->evlog);
		fflush(s->evlog);
	}
	g_string_free(g, TRUE);
}

/**
 * Log event @ev; @fmt (may be NULL) formats the remaining JSON fields,
 * e.g. "\"who\":%s", ce_sim_json(label).
 */
void ce_sim_event(struct sim *s, const char *ev, const char *fmt, ...)
{
	GString *g;
	va_list ap;

	if (!s->evlog && !s->keep_history)
		return;
	g = g_string_new(NULL);
	g_string_append_printf(g, "{\"t\":%.3f,\"ev\":\"%s\"", ce_sim_now(s), ev);
	if (fmt && *fmt) {
		g_string_append_c(g, ',');
		va_start(ap, fmt);
		g_string_append_vprintf(g, fmt, ap);
		va_end(ap);
	}
	g_string_append_c(g, '}');
	emit(s, g);
}

/** Log a dispatched message with its outcome and every parameter. */
void ce_sim_event_msg(struct sim *s, const char *ev, const struct ce_msg *m, bool handled)
{
	GString *g;
	unsigned i;

	if (!s->evlog && !s->keep_history)
		return;
	g = g_string_new(NULL);
	g_string_append_printf(g, "{\"t\":%.3f,\"ev\":\"%s\",\"name\":%s,\"handled\":%s,",
	        ce_sim_now(s), ev, ce_sim_json(m->name), handled ? "true" : "false");
	g_string_append_printf(g, "\"retval\":%s,\"params\":{", ce_sim_json(m->retval));
	for (i = 0; i < ce_msg_count(m); i++) {
		const struct ce_param *p = ce_msg_param(m, i);
		g_string_append_printf(g, "%s%s:", i ? "," : "", ce_sim_json(p->name));
		g_string_append(g, ce_sim_json(p->value ? p->value : ""));
	}
	g_string_append(g, "}}");
	emit(s, g);
}

/** Append one wire line to the transcript, "E: " (ours) or "A: " (the module's). */
void ce_sim_transcript(struct sim *s, char dir, const char *line, size_t len)
{
	if (!s->transcript)
		return;
	fprintf(s->transcript, "%c: %.*s\n", dir, (int)len, line);
	fflush(s->transcript);
}
