/* log.h - logging with levels and per-module domains, to stderr or to Yate */
#ifndef CE_LOG_H
#define CE_LOG_H

#include <stdbool.h>
#include <stdio.h>
#include <glib.h>

/*
 * Code logs with GLib's g_error/g_critical/g_warning/g_message/g_info/g_debug
 * under its own G_LOG_DOMAIN ("ce-bus", "conference", ...).  This file
 * installs the writer: it filters by level per domain and writes one line
 * per record, "<time> <LEVEL> <domain>: <text>", to stderr (Yate copies a
 * module's stderr into its own log) or, when the link asks for it, through
 * the protocol as %%>output lines.
 */
enum ce_log_level {
	CE_LOG_ERROR = 1, /* g_critical and g_error */
	CE_LOG_WARN,      /* g_warning */
	CE_LOG_NOTE,      /* g_message */
	CE_LOG_INFO,      /* g_info */
	CE_LOG_DEBUG,     /* g_debug */
};

typedef void(ce_log_sink_h)(
        enum ce_log_level level, const char *domain, const char *text, void *arg);

void ce_log_init(void);
void ce_log_set_level(const char *domain, enum ce_log_level level);
enum ce_log_level ce_log_get_level(const char *domain);
int ce_log_parse_level(const char *s, enum ce_log_level *level);
const char *ce_log_level_name(enum ce_log_level level);
void ce_log_set_sink(ce_log_sink_h *sink, void *arg);
void ce_log_set_stream(FILE *f);
guint64 ce_log_count(enum ce_log_level level);

#endif
