/* fuzz-protocol.c - libFuzzer target: protocol lines parse, format and re-parse to the same */
/*
 * The input is a byte stream as Yate would write it.  It is cut into lines
 * twice, directly and through ce_linebuf in chunks whose sizes the input
 * decides, and both must agree.  Every line is parsed; whatever parses is
 * formatted, the result must parse again to an equal line and format to
 * the same bytes.  Any broken invariant aborts, so the sanitizers and
 * tests/fuzz/test-fuzz-regressions report it.
 */
#define G_LOG_DOMAIN "fuzz-protocol"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "message.h"
#include "protocol.h"
#include "tests/fuzz/fuzz.h"

/*
 * Parsing limits small enough for inputs to reach them.  The canonical form
 * may be a little longer than its input ("t" becomes "true"), so it is
 * re-parsed with the default limits.
 */
static const struct ce_proto_limits fuzz_limits = {.max_line = 3000, .max_params = 40};

/* Framing limit for the ce_linebuf half: small, so that inputs reach it. */
#define FUZZ_MAX_LINE 96

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* @wire_time: the time travels on the wire (messages, not answers). */
static bool same_msg(const struct ce_msg *a, const struct ce_msg *b, bool wire_time)
{
	unsigned i;

	if (!a || !b)
		return a == b;
	if (!same_str(a->name, b->name) || !same_str(a->id, b->id) ||
	        !same_str(a->retval, b->retval) || (wire_time && a->time != b->time) ||
	        a->processed != b->processed || ce_msg_count(a) != ce_msg_count(b))
		return false;
	for (i = 0; i < ce_msg_count(a); i++) {
		const struct ce_param *pa = ce_msg_param(a, i), *pb = ce_msg_param(b, i);

		if (!same_str(pa->name, pb->name) || !same_str(pa->value, pb->value))
			return false;
	}
	return true;
}

static bool same_line(const struct ce_line *a, const struct ce_line *b)
{
	return a->kind == b->kind && same_msg(a->msg, b->msg, a->kind == CE_LINE_MESSAGE) &&
	       same_str(a->name, b->name) && same_str(a->value, b->value) &&
	       same_str(a->text, b->text) && same_str(a->fname, b->fname) &&
	       same_str(a->fvalue, b->fvalue) && a->priority == b->priority &&
	       a->level == b->level && a->success == b->success;
}

static void check_line(const char *text, size_t len)
{
	struct ce_line first, again;
	GString *out = g_string_new(NULL), *out2 = g_string_new(NULL);
	GError *err = NULL;

	if (ce_line_parse(&first, text, len, &fuzz_limits, &err)) {
		CHECK(err && err->domain == CE_PROTO_ERROR && err->message[0]);
		CHECK(first.kind == 0 && !first.msg && !first.name && !first.text);
		g_error_free(err);
		goto out;
	}
	CHECK(!err);
	ce_line_format(out, &first);
	CHECK(strlen(out->str) == out->len && !memchr(out->str, '\n', out->len));
	if (ce_line_parse(&again, out->str, out->len, NULL, &err)) {
		fprintf(stderr, "formatted line does not parse: %s\n%s\n", err->message, out->str);
		abort();
	}
	CHECK(same_line(&first, &again));
	ce_line_format(out2, &again);
	CHECK(g_string_equal(out, out2));
	ce_line_clear(&again);
	ce_line_clear(&first);
out:
	g_string_free(out, TRUE);
	g_string_free(out2, TRUE);
}

struct framing {
	GPtrArray *lines;
	unsigned overflows;
};

static void on_line(const char *line, size_t len, void *arg)
{
	struct framing *f = arg;

	CHECK(len <= FUZZ_MAX_LINE && !memchr(line, '\n', len));
	g_ptr_array_add(f->lines, g_bytes_new(line, len));
}

static void on_overflow(const struct ce_overflow *o, void *arg)
{
	struct framing *f = arg;

	CHECK(o->len > FUZZ_MAX_LINE && o->head_len <= MIN(CE_LINEBUF_HEAD, FUZZ_MAX_LINE));
	if (!o->ended)
		f->overflows++;
}

/* ce_linebuf must give the short lines of a plain split, and skip the rest. */
static void check_framing(const char *data, size_t size)
{
	struct framing f = {g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref), 0};
	struct ce_linebuf *lb;
	const char *p = data, *end = data + size, *nl;
	size_t pos = 0, n;
	unsigned i = 0, overflows = 0;

	CHECK(ce_linebuf_new(&lb, FUZZ_MAX_LINE) == 0);
	while (pos < size) {
		n = MIN(size - pos, 1 + (size_t)(unsigned char)data[pos] % 23);
		ce_linebuf_feed(lb, data + pos, n, on_line, on_overflow, &f);
		CHECK(ce_linebuf_pending(lb) <= FUZZ_MAX_LINE);
		pos += n;
	}
	for (; (nl = memchr(p, '\n', end - p)); p = nl + 1) {
		GBytes *b;

		if ((size_t)(nl - p) > FUZZ_MAX_LINE) {
			overflows++;
			continue;
		}
		CHECK(i < f.lines->len);
		b = g_ptr_array_index(f.lines, i++);
		CHECK(g_bytes_get_size(b) == (size_t)(nl - p));
		CHECK(nl == p || !memcmp(g_bytes_get_data(b, NULL), p, nl - p));
	}
	CHECK(i == f.lines->len);
	if ((size_t)(end - p) > FUZZ_MAX_LINE)
		overflows++;
	else
		CHECK(ce_linebuf_pending(lb) == (size_t)(end - p));
	CHECK(f.overflows == overflows);
	ce_linebuf_free(lb);
	g_ptr_array_unref(f.lines);
}

/** libFuzzer entry point; also called by test-fuzz-regressions. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *nl;

	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', end - p);
		if (!nl)
			nl = end;
		check_line(p, nl - p);
	}
	check_framing((const char *)data, size);
	return 0;
}
