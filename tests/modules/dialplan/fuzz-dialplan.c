/* fuzz-dialplan.c - libFuzzer target: configuration text -> dialplan -> routing, never a crash */
/*
 * The input is a dialplan file, optionally followed by a line "%%" and
 * called numbers, one a line.  Whatever parses is compiled; whatever
 * compiles routes every number (and a few fixed ones) with a caller and a
 * parameter to match.  Errors are fine; crashes, leaks, sanitizer reports
 * and a parse error without "FILE:LINE" are not.
 */
#define G_LOG_DOMAIN "fuzz-dialplan"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "conf-engine/config.h"
#include "message.h"
#include "modules/dialplan/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static GLogWriterOutput quiet(GLogLevelFlags level, const GLogField *fields, gsize n, gpointer data)
{
	(void)level;
	(void)fields;
	(void)n;
	(void)data;
	return G_LOG_WRITER_HANDLED;
}

/** libFuzzer only: the dialplan's warnings would flood the output. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	g_log_set_writer_func(quiet, NULL, NULL);
	return 0;
}

static void route_one(const struct ce_plan *p, const char *called)
{
	struct ce_msg *m;

	ce_msg_new(&m, "call.route");
	ce_msg_add(m, "called", called);
	ce_msg_add(m, "caller", "tone/dial");
	ce_msg_add(m, "x", called);
	ce_plan_route(p, m);
	ce_msg_unref(m);
}

static void route_all(const struct ce_plan *p, const char *numbers)
{
	static const char *const fixed[] = {"800", "812", "9", "aaaaaaaaaaaaaaaaaaaaaaaaaa!", ""};
	char **lines = g_strsplit(numbers ? numbers : "", "\n", 64);
	char *too_long = g_strnfill(1100, '8'); /* over the length bound of rex.c */
	unsigned i;

	for (i = 0; i < G_N_ELEMENTS(fixed); i++)
		route_one(p, fixed[i]);
	route_one(p, too_long);
	g_free(too_long);
	for (i = 0; lines[i]; i++)
		route_one(p, lines[i]);
	g_strfreev(lines);
}

/** One input: parse, compile, route; abort on a broken invariant. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = g_strndup((const char *)data, size);
	char *numbers = strstr(text, "\n%%\n");
	struct ce_config *cfg = NULL;
	struct ce_plan *p = NULL;
	GError *err = NULL;

	if (numbers) {
		*numbers = '\0';
		numbers += 4;
	}
	if (ce_config_parse(&cfg, text, (gssize)strlen(text), "fuzz.conf", &err) < 0) {
		if (!err || !g_str_has_prefix(err->message, "fuzz.conf:"))
			abort();
		g_clear_error(&err);
	} else if (ce_plan_new(&p, cfg, &err) < 0) {
		if (!err || !*err->message)
			abort();
		g_clear_error(&err);
	} else {
		route_all(p, numbers);
	}
	ce_plan_free(p);
	ce_config_free(cfg);
	g_free(text);
	return 0;
}
