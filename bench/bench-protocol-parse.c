/* bench-protocol-parse.c - throughput of the protocol codec on real call.execute lines */
/*
 * Usage: bench/bench-protocol-parse [SECONDS]   (default 2 per phase)
 *
 * The lines are the %%>message call.execute lines Yate sent in the
 * transcripts (tests/data/protocol/transcripts.txt, found through
 * CE_SRCDIR, else built in).  Phases: parse only; parse and format the
 * message back; parse and format an answer with two more parameters (what
 * the engine does for each call.execute); framing through ce_linebuf plus
 * parsing.  Each prints lines/s and MB/s of wire text, measured in CPU
 * time of the thread, so that other load on the machine matters less.
 */
#define G_LOG_DOMAIN "bench"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <glib.h>

#include "message.h"
#include "protocol.h"

static const char *const builtin[] = {
        "%%>message:0x7fa1afb7c420.1963570465:1795326762:call.execute::module=tone:cdrtrack=false:"
        "called=800:caller=tone/dial:handlers=regexroute%z100,yrtp%z50:callto=conf/room1:id=tone/3",
        "%%>message:0x7fa1afb7c760.478349984:1795326762:call.execute::callto=tone/dial:target=800:"
        "cmd_address=127.0.0.1%z35146:cmd_machine=false:cmd_admin=true:handlers=yrtp%z50",
};

enum phase { PARSE, PARSE_FORMAT, PARSE_ANSWER, FRAME_PARSE };

/* CPU time used by this thread, in microseconds. */
static gint64 cpu_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (gint64)ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static GPtrArray *load_lines(void)
{
	GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
	const char *src = g_getenv("CE_SRCDIR");
	char *path = g_build_filename(
	        src && *src ? src : ".", "tests", "data", "protocol", "transcripts.txt", NULL);
	char *text = NULL, **all, **l;
	unsigned i;

	if (g_file_get_contents(path, &text, NULL, NULL)) {
		all = g_strsplit(text, "\n", -1);
		for (l = all; *l; l++) {
			if (g_str_has_prefix(*l, "E: %%>message:") && strstr(*l, ":call.execute:"))
				g_ptr_array_add(lines, g_strdup(*l + 3));
		}
		g_strfreev(all);
		g_free(text);
	}
	if (!lines->len) {
		for (i = 0; i < G_N_ELEMENTS(builtin); i++)
			g_ptr_array_add(lines, g_strdup(builtin[i]));
	}
	g_free(path);
	return lines;
}

static void parse_one(const char *s, size_t len, GString *out, enum phase ph)
{
	struct ce_line line;

	if (ce_line_parse(&line, s, len, NULL, NULL)) {
		fprintf(stderr, "bench line does not parse: %.*s\n", (int)len, s);
		exit(1);
	}
	if (ph == PARSE_FORMAT) {
		g_string_truncate(out, 0);
		ce_line_format(out, &line);
	} else if (ph == PARSE_ANSWER) {
		g_string_truncate(out, 0);
		ce_msg_add(line.msg, "callto", "dumb/");
		ce_msg_add(line.msg, "ce_room", "room1");
		ce_proto_format_answer(out, line.msg, false);
	}
	ce_line_clear(&line);
}

struct frame_ctx {
	GString *out;
	unsigned long lines;
};

static void on_line(const char *line, size_t len, void *arg)
{
	struct frame_ctx *fc = arg;

	parse_one(line, len, fc->out, PARSE);
	fc->lines++;
}

/* One round over all lines; returns the lines handled. */
static unsigned long round_once(
        GPtrArray *lines, const GString *stream, struct ce_linebuf *lb, GString *out, enum phase ph)
{
	struct frame_ctx fc = {out, 0};
	size_t pos;
	unsigned i;

	if (ph == FRAME_PARSE) {
		/* 4 KiB reads, as the link would do them */
		for (pos = 0; pos < stream->len; pos += 4096)
			ce_linebuf_feed(lb, stream->str + pos, MIN(4096, stream->len - pos),
			        on_line, NULL, &fc);
		return fc.lines;
	}
	for (i = 0; i < lines->len; i++) {
		const char *s = g_ptr_array_index(lines, i);

		parse_one(s, strlen(s), out, ph);
	}
	return lines->len;
}

static void run(
        const char *label, GPtrArray *lines, const GString *stream, double secs, enum phase ph)
{
	struct ce_linebuf *lb;
	GString *out = g_string_sized_new(1024);
	unsigned long n = 0, rounds = 0;
	gint64 start = cpu_usec(), now;
	double elapsed, bytes_per_round = 0;
	unsigned i;

	for (i = 0; i < lines->len; i++)
		bytes_per_round += strlen(g_ptr_array_index(lines, i)) + 1;
	ce_linebuf_new(&lb, 0);
	do {
		unsigned k;

		for (k = 0; k < 64; k++) {
			n += round_once(lines, stream, lb, out, ph);
			rounds++;
		}
		now = cpu_usec();
	} while (now - start < (gint64)(secs * G_USEC_PER_SEC));
	elapsed = (double)(now - start) / G_USEC_PER_SEC;
	if (ph == FRAME_PARSE)
		bytes_per_round = (double)stream->len;
	printf("%-28s %12.0f lines/s %9.1f MB/s\n", label, n / elapsed,
	        rounds * bytes_per_round / elapsed / 1e6);
	ce_linebuf_free(lb);
	g_string_free(out, TRUE);
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? g_ascii_strtod(argv[1], NULL) : 2.0;
	GPtrArray *lines = load_lines();
	GString *stream = g_string_new(NULL);
	unsigned i, k;
	size_t bytes = 0;

	if (secs <= 0)
		secs = 2.0;
	for (i = 0; i < lines->len; i++)
		bytes += strlen(g_ptr_array_index(lines, i));
	/* a stream of some 64 KiB of the same lines for the framing phase */
	for (k = 0; stream->len < 65536; k++) {
		g_string_append(stream, g_ptr_array_index(lines, k % lines->len));
		g_string_append_c(stream, '\n');
	}
	printf("bench-protocol-parse: %u call.execute lines, %.0f bytes on average, %.1f s per "
	       "phase (CPU time)\n",
	        lines->len, (double)bytes / lines->len, secs);
	run("parse", lines, stream, secs, PARSE);
	run("parse+format message", lines, stream, secs, PARSE_FORMAT);
	run("parse+format answer", lines, stream, secs, PARSE_ANSWER);
	run("linebuf+parse (4 KiB reads)", lines, stream, secs, FRAME_PARSE);
	g_string_free(stream, TRUE);
	g_ptr_array_unref(lines);
	return 0;
}
