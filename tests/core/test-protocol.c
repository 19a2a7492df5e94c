/* test-protocol.c - unit tests of the protocol codec and the line framing
 *
 * Over 700 lines because every keyword of the protocol has its cases here
 * (valid, escaped, malformed, over-long), beside the one codec they test.
 */
#define G_LOG_DOMAIN "test-protocol"

#include <errno.h>
#include <string.h>
#include <glib.h>

#include "message.h"
#include "protocol.h"

/* ---- helpers ----------------------------------------------------------- */

/* Path of a fixture under tests/data/protocol. */
static char *fixture_path(const char *name)
{
	const char *src = g_getenv("CE_SRCDIR");
	char *dir, *path;

	if (src && *src)
		return g_build_filename(src, "tests", "data", "protocol", name, NULL);
#ifdef CE_SRCDIR
	path = g_build_filename(CE_SRCDIR, "tests", "data", "protocol", name, NULL);
	if (g_file_test(path, G_FILE_TEST_EXISTS))
		return path;
	g_free(path);
#endif
	dir = g_path_get_dirname(__FILE__);
	path = g_build_filename(dir, "..", "data", "protocol", name, NULL);
	g_free(dir);
	return path;
}

/* The lines of a fixture, comments and empty lines left out. */
static char **fixture_lines(const char *name)
{
	char *path = fixture_path(name), *text = NULL, **lines;
	GPtrArray *keep = g_ptr_array_new();
	GError *err = NULL;
	unsigned i;

	g_file_get_contents(path, &text, NULL, &err);
	g_assert_no_error(err);
	lines = g_strsplit(text, "\n", -1);
	for (i = 0; lines[i]; i++) {
		if (lines[i][0] && lines[i][0] != '#')
			g_ptr_array_add(keep, g_strdup(lines[i]));
	}
	g_ptr_array_add(keep, NULL);
	g_strfreev(lines);
	g_free(text);
	g_free(path);
	return (char **)g_ptr_array_free(keep, FALSE);
}

static char *reformat(const char *text, size_t len)
{
	struct ce_line line;
	GError *err = NULL;
	GString *out = g_string_new(NULL);

	if (ce_line_parse(&line, text, len, NULL, &err)) {
		g_test_message("line '%s': %s", text, err->message);
		g_error_free(err);
		g_string_free(out, TRUE);
		return NULL;
	}
	ce_line_format(out, &line);
	ce_line_clear(&line);
	return g_string_free(out, FALSE);
}

static void assert_roundtrip(const char *text)
{
	char *out = reformat(text, strlen(text));

	g_assert_nonnull(out);
	g_assert_cmpstr(out, ==, text);
	g_free(out);
}

static int parse_str(struct ce_line *line, const char *text, GError **err)
{
	return ce_line_parse(line, text, strlen(text), NULL, err);
}

/* ---- fixtures ---------------------------------------------------------- */

static void roundtrip_fixture(const char *name)
{
	char **lines = fixture_lines(name);
	unsigned i, n = 0;

	for (i = 0; lines[i]; i++) {
		g_assert_true(
		        g_str_has_prefix(lines[i], "E: ") || g_str_has_prefix(lines[i], "A: "));
		assert_roundtrip(lines[i] + 3);
		n++;
	}
	g_assert_cmpuint(n, >, 10);
	g_strfreev(lines);
}

static void test_transcripts(void)
{
	roundtrip_fixture("transcripts.txt");
}

static void test_extmodule_doc(void)
{
	roundtrip_fixture("extmodule-doc.txt");
}

static void test_keywords(void)
{
	roundtrip_fixture("keywords.txt");
}

static void test_noncanonical(void)
{
	char **lines = fixture_lines("noncanonical.txt");
	unsigned i;

	for (i = 0; lines[i] && lines[i + 1]; i += 2) {
		char *out;

		g_assert_true(g_str_has_prefix(lines[i], "IN: "));
		g_assert_true(g_str_has_prefix(lines[i + 1], "OUT: "));
		out = reformat(lines[i] + 4, strlen(lines[i] + 4));
		g_assert_cmpstr(out, ==, lines[i + 1] + 5);
		g_free(out);
		assert_roundtrip(lines[i + 1] + 5);
	}
	g_assert_null(lines[i]);
	g_strfreev(lines);
}

static int code_of(const char *word)
{
	if (!strcmp(word, "keyword"))
		return CE_PROTO_ERROR_KEYWORD;
	if (!strcmp(word, "syntax"))
		return CE_PROTO_ERROR_SYNTAX;
	if (!strcmp(word, "escape"))
		return CE_PROTO_ERROR_ESCAPE;
	g_assert_not_reached();
	return -1;
}

static void test_error_fixture(void)
{
	char **lines = fixture_lines("errors.txt");
	unsigned i;

	for (i = 0; lines[i]; i++) {
		char *sp = strchr(lines[i], ' '), *text = sp + 1;
		struct ce_line line;
		GError *err = NULL;

		*sp = '\0';
		g_assert_cmpint(parse_str(&line, text, &err), <, 0);
		g_assert_nonnull(err);
		g_test_message("%s -> %s", text, err->message);
		g_assert_error(err, CE_PROTO_ERROR, code_of(lines[i]));
		g_assert_cmpuint(strlen(err->message), >, 5);
		g_assert_cmpint(line.kind, ==, 0);
		g_assert_null(line.msg);
		g_error_free(err);
		ce_line_clear(&line);
	}
	g_strfreev(lines);
}

/* ---- fields ------------------------------------------------------------ */

static void test_message_fields(void)
{
	struct ce_line l;
	const struct ce_param *p;

	g_assert_cmpint(parse_str(&l,
	                        "%%>message:id%z1:1795326762:call.execute:rv:"
	                        "a=1:a=2:b=x%zy%%z:c=:d=1=2",
	                        NULL),
	        ==, 0);
	g_assert_cmpint(l.kind, ==, CE_LINE_MESSAGE);
	g_assert_cmpstr(l.msg->id, ==, "id:1");
	g_assert_cmpuint(l.msg->time, ==, 1795326762);
	g_assert_cmpstr(l.msg->name, ==, "call.execute");
	g_assert_cmpstr(l.msg->retval, ==, "rv");
	g_assert_cmpuint(ce_msg_count(l.msg), ==, 5);
	p = ce_msg_param(l.msg, 1);
	g_assert_cmpstr(p->name, ==, "a");
	g_assert_cmpstr(p->value, ==, "2");
	g_assert_cmpstr(ce_msg_get(l.msg, "a"), ==, "1");
	g_assert_cmpstr(ce_msg_get(l.msg, "b"), ==, "x:y%z");
	g_assert_cmpstr(ce_msg_get(l.msg, "c"), ==, "");
	g_assert_cmpstr(ce_msg_get(l.msg, "d"), ==, "1=2");
	ce_line_clear(&l);
	ce_line_clear(&l); /* twice is harmless */

	/* an empty time is "now"; a bare name clears what came before */
	g_assert_cmpint(parse_str(&l, "%%>message:x::m::a=1:b=2:a:a=3", NULL), ==, 0);
	g_assert_cmpuint(l.msg->time, >, 1600000000);
	g_assert_cmpuint(ce_msg_count(l.msg), ==, 2);
	g_assert_cmpstr(ce_msg_param(l.msg, 0)->name, ==, "b");
	g_assert_cmpstr(ce_msg_get(l.msg, "a"), ==, "3");
	ce_line_clear(&l);
}

static void test_answer_fields(void)
{
	struct ce_line l;

	g_assert_cmpint(
	        parse_str(&l, "%%<message::true:chan.notify:ret:a=1:gone:=%:x", NULL), <, 0);
	g_assert_cmpint(parse_str(&l, "%%<message::yes:chan.notify:ret:a=1:gone", NULL), ==, 0);
	g_assert_cmpint(l.kind, ==, CE_LINE_ANSWER);
	g_assert_cmpstr(l.msg->id, ==, "");
	g_assert_true(l.msg->processed);
	g_assert_true(l.success);
	g_assert_cmpuint(ce_msg_count(l.msg), ==, 2);
	g_assert_cmpstr(ce_msg_param(l.msg, 1)->name, ==, "gone");
	g_assert_null(ce_msg_param(l.msg, 1)->value);
	ce_line_clear(&l);

	g_assert_cmpint(parse_str(&l, "%%<message:abc:false:", NULL), ==, 0);
	g_assert_cmpstr(l.msg->id, ==, "abc");
	g_assert_cmpstr(l.msg->name, ==, "");
	g_assert_cmpstr(l.msg->retval, ==, "");
	g_assert_false(l.msg->processed);
	g_assert_cmpuint(ce_msg_count(l.msg), ==, 0);
	ce_line_clear(&l);
}

static void test_keyword_fields(void)
{
	struct ce_line l;

	g_assert_cmpint(parse_str(&l, "%%>install::engine.timer", NULL), ==, 0);
	g_assert_cmpint(l.kind, ==, CE_LINE_INSTALL);
	g_assert_cmpint(l.priority, ==, -1);
	g_assert_cmpstr(l.name, ==, "engine.timer");
	g_assert_null(l.fname);
	g_assert_null(l.fvalue);
	ce_line_clear(&l);

	g_assert_cmpint(parse_str(&l, "%%>install:50:call.execute:callto:conf/%za:b", NULL), ==, 0);
	g_assert_cmpint(l.priority, ==, 50);
	g_assert_cmpstr(l.fname, ==, "callto");
	g_assert_cmpstr(l.fvalue, ==, "conf/:a:b");
	ce_line_clear(&l);

	g_assert_cmpint(parse_str(&l, "%%<uninstall:0:x.y:false", NULL), ==, 0);
	g_assert_cmpint(l.kind, ==, CE_LINE_UNINSTALLED);
	g_assert_cmpint(l.priority, ==, 0);
	g_assert_cmpstr(l.name, ==, "x.y");
	g_assert_false(l.success);
	ce_line_clear(&l);

	g_assert_cmpint(parse_str(&l, "%%<setlocal:config.a.b:x:y:true", NULL), ==, 0);
	g_assert_cmpint(l.kind, ==, CE_LINE_SETLOCAL_ANS);
	g_assert_cmpstr(l.name, ==, "config.a.b");
	g_assert_cmpstr(l.value, ==, "x:y");
	g_assert_true(l.success);
	ce_line_clear(&l);

	g_assert_cmpint(parse_str(&l, "%%>debug:-3:a%Jb", NULL), ==, 0);
	g_assert_cmpint(l.level, ==, -3);
	g_assert_cmpstr(l.text, ==, "a\nb");
	ce_line_clear(&l);

	g_assert_cmpint(parse_str(&l, "%%>output:\ttabs and %% stay", NULL), ==, 0);
	g_assert_cmpint(l.kind, ==, CE_LINE_OUTPUT);
	g_assert_cmpstr(l.text, ==, "\ttabs and %% stay");
	ce_line_clear(&l);

	g_assert_cmpint(parse_str(&l, "%%>connect:channel:sip/1", NULL), ==, 0);
	g_assert_cmpstr(l.name, ==, "channel");
	g_assert_cmpstr(l.value, ==, "sip/1");
	g_assert_null(l.text);
	ce_line_clear(&l);

	g_assert_cmpint(parse_str(&l, "Error in:%%>x", NULL), ==, 0);
	g_assert_cmpint(l.kind, ==, CE_LINE_ERROR);
	g_assert_cmpstr(l.text, ==, "%%>x");
	ce_line_clear(&l);
	g_assert_cmpint(parse_str(&l, "Error in: %%>x", NULL), ==, 0);
	g_assert_cmpstr(l.text, ==, "%%>x");
	ce_line_clear(&l);
}

/* Lines built by code format as documented. */
static void test_format_built(void)
{
	struct ce_line l = {0};
	GString *out = g_string_new(NULL);

	l.kind = CE_LINE_INSTALL;
	l.priority = -1;
	l.name = (char *)"call.route";
	l.fname = (char *)"called";
	l.fvalue = (char *)"80:0%";
	ce_line_format(out, &l);
	g_assert_cmpstr(out->str, ==, "%%>install::call.route:called:80%z0%%");

	g_string_truncate(out, 0);
	memset(&l, 0, sizeof(l));
	l.kind = CE_LINE_OUTPUT;
	l.text = (char *)"two\nlines";
	ce_line_format(out, &l);
	g_assert_cmpstr(out->str, ==, "%%>output:two lines");

	g_string_truncate(out, 0);
	memset(&l, 0, sizeof(l));
	l.kind = CE_LINE_CONNECT;
	l.name = (char *)"play";
	l.text = (char *)"audio";
	ce_line_format(out, &l);
	g_assert_cmpstr(out->str, ==, "%%>connect:play::audio");

	g_string_truncate(out, 0);
	memset(&l, 0, sizeof(l));
	l.kind = CE_LINE_ERROR;
	l.text = (char *)"%%>bad";
	ce_line_format(out, &l);
	g_assert_cmpstr(out->str, ==, "Error in: %%>bad");
	g_string_free(out, TRUE);
}

/* ---- escaping ---------------------------------------------------------- */

static void check_escaped(const char *s, char extra)
{
	GString *esc = g_string_new(NULL), *back = g_string_new(NULL);
	size_t i;

	ce_proto_escape(esc, s, extra);
	for (i = 0; i < esc->len; i++) {
		g_assert_cmpint((unsigned char)esc->str[i], >=, 32);
		g_assert_cmpint(esc->str[i], !=, ':');
		if (extra)
			g_assert_cmpint(esc->str[i], !=, extra);
	}
	g_assert_cmpint(ce_proto_unescape(back, esc->str, esc->len, extra), ==, 0);
	g_assert_cmpstr(back->str, ==, s);
	g_string_free(esc, TRUE);
	g_string_free(back, TRUE);
}

static void test_escape_api(void)
{
	GString *out = g_string_new("x");
	unsigned c;

	ce_proto_escape(out, "a:b%c\r\n=", '=');
	g_assert_cmpstr(out->str, ==, "xa%zb%%c%M%J%}");
	g_string_truncate(out, 0);
	ce_proto_escape(out, "k=v\x7f\xc3\xa9", 0);
	g_assert_cmpstr(out->str, ==, "k=v\x7f\xc3\xa9");
	g_string_truncate(out, 0);
	ce_proto_escape(out, NULL, 0);
	g_assert_cmpuint(out->len, ==, 0);

	g_assert_cmpint(ce_proto_unescape(out, "a%zb%%%}", 8, '='), ==, 0);
	g_assert_cmpstr(out->str, ==, "a:b%=");
	g_string_truncate(out, 0);
	g_assert_cmpint(ce_proto_unescape(out, "a%}", 3, 0), <, 0);
	g_string_truncate(out, 0);
	g_assert_cmpint(ce_proto_unescape(out, "a%", 2, 0), <, 0);
	g_string_truncate(out, 0);
	g_assert_cmpint(ce_proto_unescape(out, "a\tb", 3, 0), <, 0);
	g_string_truncate(out, 0);
	/* '%' + every byte: valid exactly for 'A'..'_', 'z', '%' and extra+64 */
	for (c = 1; c < 256; c++) {
		char in[2] = {'%', (char)c};
		bool valid = (c >= 'A' && c <= '_') || c == 'z' || c == '%' || c == '}';

		g_string_truncate(out, 0);
		g_assert_cmpint(ce_proto_unescape(out, in, 2, '=') == 0, ==, valid);
	}
	g_string_free(out, TRUE);
}

static void test_escape_bytes(void)
{
	char all[256];
	unsigned c;

	for (c = 1; c < 256; c++) {
		char s[4] = {'a', (char)c, 'b', 0};

		check_escaped(s, 0);
		check_escaped(s, '=');
		all[c - 1] = (char)c;
	}
	all[255] = '\0';
	check_escaped(all, 0);
	check_escaped(all, '=');
}

/* A byte in id, name, retval, parameter name and value survives a message and an answer. */
static void roundtrip_byte(unsigned c, bool answer)
{
	char s[4] = {(char)c, 'x', (char)c, 0};
	struct ce_msg *m;
	struct ce_line l;
	GString *out = g_string_new(NULL);
	GError *err = NULL;

	ce_msg_new(&m, s);
	ce_msg_set_id(m, s);
	ce_msg_set_retval(m, s);
	ce_msg_add(m, s, s);
	ce_msg_add(m, "k", s);
	ce_msg_add(m, s, "");
	m->time = 1795326762;
	if (answer)
		ce_proto_format_answer(out, m, true);
	else
		ce_proto_format_message(out, m);
	g_assert_null(memchr(out->str, '\n', out->len));
	g_assert_cmpint(ce_line_parse(&l, out->str, out->len, NULL, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpint(l.kind, ==, answer ? CE_LINE_ANSWER : CE_LINE_MESSAGE);
	g_assert_cmpstr(l.msg->id, ==, s);
	g_assert_cmpstr(l.msg->name, ==, s);
	g_assert_cmpstr(l.msg->retval, ==, s);
	g_assert_cmpuint(ce_msg_count(l.msg), ==, 3);
	g_assert_cmpstr(ce_msg_param(l.msg, 0)->name, ==, s);
	g_assert_cmpstr(ce_msg_param(l.msg, 0)->value, ==, s);
	g_assert_cmpstr(ce_msg_param(l.msg, 1)->value, ==, s);
	g_assert_cmpstr(ce_msg_param(l.msg, 2)->name, ==, s);
	g_assert_cmpstr(ce_msg_param(l.msg, 2)->value, ==, "");
	if (!answer)
		g_assert_cmpuint(l.msg->time, ==, 1795326762);
	g_assert_true(l.msg->processed == answer);
	ce_line_clear(&l);
	ce_msg_unref(m);
	g_string_free(out, TRUE);
}

static void test_escape_messages(void)
{
	unsigned c;

	for (c = 1; c < 256; c++) {
		roundtrip_byte(c, false);
		roundtrip_byte(c, true);
	}
}

/* ---- errors ------------------------------------------------------------ */

static void expect_error(const char *text, size_t len, int code, const char *msg_part)
{
	struct ce_line l;
	GError *err = NULL;

	g_assert_cmpint(ce_line_parse(&l, text, len, NULL, &err), <, 0);
	g_assert_error(err, CE_PROTO_ERROR, code);
	if (msg_part && !strstr(err->message, msg_part))
		g_error("error '%s' does not say '%s'", err->message, msg_part);
	g_assert_null(l.msg);
	g_error_free(err);
}

static void test_error_messages(void)
{
	struct ce_line l;

	expect_error("%%>message:1:2:m::ab=%3", 23, CE_PROTO_ERROR_ESCAPE,
	        "bad escape '%3' in parameter value at byte 21");
	expect_error("%%>message:1:2:m::ab=x%", 23, CE_PROTO_ERROR_ESCAPE, "at byte 22");
	expect_error("%%>message:1:x:m:", 17, CE_PROTO_ERROR_SYNTAX, "bad time 'x' at byte 13");
	expect_error("%%<message:1:nope:m:", 20, CE_PROTO_ERROR_SYNTAX, "bad boolean 'nope'");
	expect_error("%%>message:1:2:m::=v", 20, CE_PROTO_ERROR_SYNTAX, "starts with '='");
	expect_error("%%>nope:1", 9, CE_PROTO_ERROR_KEYWORD, "%%>nope");
	expect_error("%%>message:1", 12, CE_PROTO_ERROR_SYNTAX, "missing");
	g_assert_cmpint(ce_line_parse(&l, "%%>message:1", 12, NULL, NULL), ==, -EINVAL);
	expect_error("", 0, CE_PROTO_ERROR_KEYWORD, NULL);
	expect_error("%%", 2, CE_PROTO_ERROR_KEYWORD, NULL);
}

static void test_control_bytes(void)
{
	static const char *const lines[] = {
	        "%%>message:1:2:m::a=\x01",
	        "%%>message:1:2:m\x1f::",
	        "%%<message:\x09"
	        ":true:m:",
	        "%%>install:50:a\tb",
	        "%%>watch:a\rb",
	        "%%<setlocal:a:b\x07:true",
	        "%%>debug:1:a\x1b",
	        "%%>connect:glo\x02"
	        "al",
	};
	unsigned i;

	for (i = 0; i < G_N_ELEMENTS(lines); i++)
		expect_error(lines[i], strlen(lines[i]), CE_PROTO_ERROR_ESCAPE, "raw control byte");
	/* a NUL or a newline never belongs to a line, not even free text */
	expect_error("%%>output:a\0b", 13, CE_PROTO_ERROR_ESCAPE, "0x00 at byte 11");
	expect_error("%%>output:a\nb", 13, CE_PROTO_ERROR_ESCAPE, "0x0a at byte 11");
	expect_error("Error in: \0", 11, CE_PROTO_ERROR_ESCAPE, "0x00");
	expect_error("%%>message:1:2:m::a=b\0", 22, CE_PROTO_ERROR_ESCAPE, "0x00 at byte 21");
}

static void test_too_long(void)
{
	struct ce_proto_limits lim = {.max_line = 64, .max_params = 10};
	GString *s = g_string_new("%%>message:1:2:m:");
	struct ce_line l;
	GError *err = NULL;
	char *big;

	while (s->len < 64)
		g_string_append_c(s, 'r');
	g_assert_cmpint(ce_line_parse(&l, s->str, s->len, &lim, &err), ==, 0);
	g_assert_cmpuint(strlen(l.msg->retval), ==, 64 - 17);
	ce_line_clear(&l);
	g_string_append_c(s, 'r');
	g_assert_cmpint(ce_line_parse(&l, s->str, s->len, &lim, &err), ==, -E2BIG);
	g_assert_error(err, CE_PROTO_ERROR, CE_PROTO_ERROR_TOO_LONG);
	g_clear_error(&err);
	g_string_free(s, TRUE);

	/* the default limit */
	big = g_strnfill(CE_PROTO_MAX_LINE_DEFAULT + 1, 'x');
	memcpy(big, "%%>output:", 10);
	expect_error(big, CE_PROTO_MAX_LINE_DEFAULT + 1, CE_PROTO_ERROR_TOO_LONG, "over the limit");
	g_assert_cmpint(ce_line_parse(&l, big, CE_PROTO_MAX_LINE_DEFAULT, NULL, &err), ==, 0);
	ce_line_clear(&l);
	g_free(big);
}

static void test_too_many(void)
{
	struct ce_proto_limits lim = {.max_line = 1 << 20, .max_params = 20000};
	GString *s = g_string_new("%%>message:1:2:m:");
	struct ce_line l;
	GError *err = NULL;
	unsigned i;

	for (i = 0; i < 10000; i++)
		g_string_append_printf(s, ":p%u=%u", i, i);
	expect_error(s->str, s->len, CE_PROTO_ERROR_TOO_MANY, "more than 4096 parameters");
	g_assert_cmpint(ce_line_parse(&l, s->str, s->len, NULL, NULL), ==, -E2BIG);
	g_assert_cmpint(ce_line_parse(&l, s->str, s->len, &lim, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpuint(ce_msg_count(l.msg), ==, 10000);
	g_assert_cmpstr(ce_msg_param(l.msg, 9999)->value, ==, "9999");
	ce_line_clear(&l);

	/* bare names count too: they cost work even though nothing is stored */
	g_string_assign(s, "%%>message:1:2:m:");
	for (i = 0; i < 10000; i++)
		g_string_append(s, ":gone");
	expect_error(s->str, s->len, CE_PROTO_ERROR_TOO_MANY, NULL);
	g_string_free(s, TRUE);
}

/* ---- line framing ------------------------------------------------------ */

struct collect {
	GPtrArray *lines;
	GArray *overflows; /* lengths of the over-long lines that ended */
	GPtrArray *heads;  /* first bytes of each over-long line, when it went over */
	unsigned starts;   /* over-long lines reported going over the limit */
};

static void on_line(const char *line, size_t len, void *arg)
{
	struct collect *c = arg;

	g_ptr_array_add(c->lines, g_strndup(line, len));
}

static void on_overflow(const struct ce_overflow *o, void *arg)
{
	struct collect *c = arg;

	if (o->ended) {
		/* once the line is over, its head is still the one reported first */
		g_assert_cmpuint(c->heads->len, ==, c->starts);
		g_assert_cmpmem(g_ptr_array_index(c->heads, c->heads->len - 1),
		        strlen(g_ptr_array_index(c->heads, c->heads->len - 1)), o->head,
		        o->head_len);
		g_array_append_val(c->overflows, o->len);
		return;
	}
	g_assert_cmpuint(c->starts, ==, c->overflows->len); /* the previous one ended */
	c->starts++;
	g_ptr_array_add(c->heads, g_strndup(o->head, o->head_len));
}

static void collect_init(struct collect *c)
{
	c->lines = g_ptr_array_new_with_free_func(g_free);
	c->overflows = g_array_new(FALSE, FALSE, sizeof(size_t));
	c->heads = g_ptr_array_new_with_free_func(g_free);
	c->starts = 0;
}

static void collect_clear(struct collect *c)
{
	g_ptr_array_unref(c->lines);
	g_array_unref(c->overflows);
	g_ptr_array_unref(c->heads);
}

static const char stream[] = "%%>install:50:call.execute\n"
                             "\n"
                             "%%>message:1:2:m::a=1\r\n"
                             "0123456789012345678901234567890123456789 too long for 32\n"
                             "after\n"
                             "exactly-thirty-two-bytes-long-xx\n"
                             "thirty-three-bytes-long-line-xxxx\n"
                             "tail";

static void check_stream(const struct collect *c, const struct ce_linebuf *lb)
{
	static const char *const want[] = {"%%>install:50:call.execute", "",
	        "%%>message:1:2:m::a=1\r", "after", "exactly-thirty-two-bytes-long-xx"};
	unsigned i;

	g_assert_cmpuint(c->lines->len, ==, G_N_ELEMENTS(want));
	for (i = 0; i < G_N_ELEMENTS(want); i++)
		g_assert_cmpstr(g_ptr_array_index(c->lines, i), ==, want[i]);
	/* each over-long line: its first 32 bytes (the limit) and its whole length */
	g_assert_cmpuint(c->overflows->len, ==, 2);
	g_assert_cmpuint(g_array_index(c->overflows, size_t, 0), ==, 56);
	g_assert_cmpuint(g_array_index(c->overflows, size_t, 1), ==, 33);
	g_assert_cmpstr(g_ptr_array_index(c->heads, 0), ==, "01234567890123456789012345678901");
	g_assert_cmpstr(g_ptr_array_index(c->heads, 1), ==, "thirty-three-bytes-long-line-xxx");
	g_assert_cmpuint(ce_linebuf_pending(lb), ==, 4);
}

static void feed_in_chunks(GRand *rnd, size_t maxchunk)
{
	struct ce_linebuf *lb;
	struct collect c;
	size_t pos = 0, len = sizeof(stream) - 1;

	collect_init(&c);
	g_assert_cmpint(ce_linebuf_new(&lb, 32), ==, 0);
	while (pos < len) {
		size_t n = rnd ? (size_t)g_rand_int_range(rnd, 1, (gint32)maxchunk + 1) : 1;

		n = MIN(n, len - pos);
		ce_linebuf_feed(lb, stream + pos, n, on_line, on_overflow, &c);
		pos += n;
	}
	check_stream(&c, lb);
	ce_linebuf_free(lb);
	collect_clear(&c);
}

static void test_linebuf_bytewise(void)
{
	feed_in_chunks(NULL, 1);
}

static void test_linebuf_random(void)
{
	GRand *rnd = g_rand_new_with_seed(20261122);
	unsigned round;

	for (round = 0; round < 500; round++)
		feed_in_chunks(rnd, 1 + round % 90);
	g_rand_free(rnd);
}

static void test_linebuf_whole(void)
{
	struct ce_linebuf *lb;
	struct collect c;

	collect_init(&c);
	ce_linebuf_new(&lb, 32);
	ce_linebuf_feed(lb, stream, sizeof(stream) - 1, on_line, on_overflow, &c);
	check_stream(&c, lb);
	ce_linebuf_feed(lb, "\n", 1, on_line, NULL, &c);
	g_assert_cmpstr(g_ptr_array_index(c.lines, c.lines->len - 1), ==, "tail");
	g_assert_cmpuint(ce_linebuf_pending(lb), ==, 0);
	ce_linebuf_free(lb);
	ce_linebuf_free(NULL);
	collect_clear(&c);
}

/* An endless line is reported once and never grows the buffer past the limit. */
static void test_linebuf_endless(void)
{
	struct ce_linebuf *lb;
	struct collect c;
	char chunk[1000];
	unsigned i;

	memset(chunk, 'x', sizeof(chunk));
	collect_init(&c);
	ce_linebuf_new(&lb, 4096);
	for (i = 0; i < 1000; i++) {
		ce_linebuf_feed(lb, chunk, sizeof(chunk), on_line, on_overflow, &c);
		g_assert_cmpuint(ce_linebuf_pending(lb), <=, 4096);
	}
	g_assert_cmpuint(c.starts, ==, 1);
	g_assert_cmpuint(c.overflows->len, ==, 0);
	g_assert_cmpuint(c.lines->len, ==, 0);
	ce_linebuf_feed(lb, "x\nok\n", 5, on_line, on_overflow, &c);
	g_assert_cmpuint(c.lines->len, ==, 1);
	g_assert_cmpstr(g_ptr_array_index(c.lines, 0), ==, "ok");
	g_assert_cmpuint(c.starts, ==, 1);
	g_assert_cmpuint(c.overflows->len, ==, 1);
	g_assert_cmpuint(g_array_index(c.overflows, size_t, 0), ==, 1000 * 1000 + 1);
	g_assert_cmpuint(strlen(g_ptr_array_index(c.heads, 0)), ==, CE_LINEBUF_HEAD);
	ce_linebuf_free(lb);
	collect_clear(&c);
}

/*
 * An over-long %%>message keeps its start (with the id its answer needs)
 * however it arrives: whole, or grown past the limit read by read.
 */
static void test_linebuf_head(void)
{
	static const char start[] = "%%>message:0x7f%3a1:1795326762:call.execute::p=";
	GString *line = g_string_new(start);
	struct ce_linebuf *lb;
	struct collect c;
	unsigned round;

	while (line->len <= CE_PROTO_MAX_LINE_DEFAULT)
		g_string_append(line, "0123456789abcdef");
	g_string_append_c(line, '\n');
	for (round = 0; round < 2; round++) {
		size_t pos, step = round ? 4000 : line->len;

		collect_init(&c);
		ce_linebuf_new(&lb, 0);
		for (pos = 0; pos < line->len; pos += step)
			ce_linebuf_feed(lb, line->str + pos, MIN(step, line->len - pos), on_line,
			        on_overflow, &c);
		ce_linebuf_feed(lb, "ok\n", 3, on_line, on_overflow, &c);
		g_assert_cmpuint(c.starts, ==, 1);
		g_assert_cmpuint(c.overflows->len, ==, 1);
		g_assert_cmpuint(g_array_index(c.overflows, size_t, 0), ==, line->len - 1);
		g_assert_cmpuint(strlen(g_ptr_array_index(c.heads, 0)), ==, CE_LINEBUF_HEAD);
		g_assert_true(g_str_has_prefix(g_ptr_array_index(c.heads, 0), start));
		g_assert_cmpuint(c.lines->len, ==, 1);
		ce_linebuf_free(lb);
		collect_clear(&c);
	}
	g_string_free(line, TRUE);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/protocol/fixture/transcripts", test_transcripts);
	g_test_add_func("/protocol/fixture/extmodule-doc", test_extmodule_doc);
	g_test_add_func("/protocol/fixture/keywords", test_keywords);
	g_test_add_func("/protocol/fixture/noncanonical", test_noncanonical);
	g_test_add_func("/protocol/fixture/errors", test_error_fixture);
	g_test_add_func("/protocol/fields/message", test_message_fields);
	g_test_add_func("/protocol/fields/answer", test_answer_fields);
	g_test_add_func("/protocol/fields/keywords", test_keyword_fields);
	g_test_add_func("/protocol/format/built", test_format_built);
	g_test_add_func("/protocol/escape/api", test_escape_api);
	g_test_add_func("/protocol/escape/bytes", test_escape_bytes);
	g_test_add_func("/protocol/escape/messages", test_escape_messages);
	g_test_add_func("/protocol/error/messages", test_error_messages);
	g_test_add_func("/protocol/error/control-bytes", test_control_bytes);
	g_test_add_func("/protocol/error/too-long", test_too_long);
	g_test_add_func("/protocol/error/too-many", test_too_many);
	g_test_add_func("/protocol/linebuf/bytewise", test_linebuf_bytewise);
	g_test_add_func("/protocol/linebuf/random-chunks", test_linebuf_random);
	g_test_add_func("/protocol/linebuf/whole", test_linebuf_whole);
	g_test_add_func("/protocol/linebuf/endless", test_linebuf_endless);
	g_test_add_func("/protocol/linebuf/head", test_linebuf_head);
	return g_test_run();
}
