/* protocol.c - codec of Yate's external-module protocol and line framing */
/*
 * One line of text is one protocol element; fields are separated by ':'.
 * Message lines escape their fields: a byte below 32, ':' (and '=' in a
 * parameter name) travels as '%' followed by the byte + 64, '%' as "%%":
 *
 *   %%>message:ce7:1795326761:chan.masquerade::id=dumb/3:message=call.answered
 *   %%<message:ce7:true:call.answered::id=dumb/3:handlers=dumb%z100
 *   %%>install:50:call.execute
 *   %%<install:50:call.execute:true
 *   Error in: %%>bogus
 *
 * Parsing never trusts its input: every field is bounded by the line, every
 * error is a GError naming the byte offset (0-based, from the start of the
 * line) and the field.  Formatting writes exactly what Yate writes, so a
 * line Yate produced parses and formats back to the same bytes.
 * See docs/protocol.md for the whole format.
 *
 * Over 700 lines because it is the whole wire format, every keyword both
 * ways plus the framing; splitting it would split each keyword's encoder
 * from its decoder.
 */
#define G_LOG_DOMAIN "protocol"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "message.h"
#include "protocol.h"

G_DEFINE_QUARK(ce - proto - error - quark, ce_proto_error)

static const struct ce_proto_limits default_limits = {
        .max_line = CE_PROTO_MAX_LINE_DEFAULT,
        .max_params = CE_PROTO_MAX_PARAMS_DEFAULT,
};

/** The limits used when a caller passes NULL. */
const struct ce_proto_limits *ce_proto_default_limits(void)
{
	return &default_limits;
}

/* ---- escaping ---------------------------------------------------------- */

static inline bool must_escape(unsigned char c, char extra)
{
	return c < 32 || c == ':' || c == '%' || (extra && c == (unsigned char)extra);
}

/**
 * Append @s to @out escaped as Yate's msgEscape does: bytes below 32, ':'
 * and @extra (0 for none, '=' for parameter names) become '%' + (byte+64),
 * '%' becomes "%%".  The room for the worst case is reserved once and the
 * bytes written in place.
 */
void ce_proto_escape(GString *out, const char *s, char extra)
{
	size_t len, old = out->len;
	char *d;

	if (!s)
		return;
	len = strlen(s);
	g_string_set_size(out, old + 2 * len);
	d = out->str + old;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (G_LIKELY(!must_escape(c, extra))) {
			*d++ = (char)c;
			continue;
		}
		*d++ = '%';
		*d++ = c == '%' ? '%' : (char)(c + 64);
	}
	g_string_truncate(out, d - out->str);
}

/* Whether @c after a '%' is a valid escape, and what it stands for. */
static inline bool unescape_char(unsigned char c, char extra, char *res)
{
	if ((c > '@' && c <= '_') || c == 'z' || (extra && c == (unsigned char)extra + 64)) {
		*res = (char)(c - 64);
		return true;
	}
	if (c == '%') {
		*res = '%';
		return true;
	}
	return false;
}

/*
 * Unescape @len bytes of @s into @dst (room for @len bytes at least).
 * Control bytes are not checked here: the caller did.  Returns the length
 * written, or -1 with *@bad set to the offset of the bad '%'.
 */
static gssize unescape_into(char *dst, const char *s, size_t len, char extra, size_t *bad)
{
	const char *p = s, *end = s + len;
	char *d = dst;

	while (p < end) {
		const char *pc = memchr(p, '%', end - p);
		size_t n = (pc ? pc : end) - p;

		memcpy(d, p, n);
		d += n;
		if (!pc)
			break;
		if (pc + 1 >= end || !unescape_char((unsigned char)pc[1], extra, d)) {
			*bad = pc - s;
			return -1;
		}
		d++;
		p = pc + 2;
	}
	return d - dst;
}

/* Offset of the first byte below 32 in @s, or @len if none. */
static size_t find_ctl(const char *s, size_t len)
{
	size_t i = 0;

	/* a word at a time: (x - 0x20..) & ~x & 0x80.. is non-zero iff a byte < 0x20 */
	for (; i + sizeof(uint64_t) <= len; i += sizeof(uint64_t)) {
		uint64_t x;

		memcpy(&x, s + i, sizeof(x));
		if ((x - 0x2020202020202020ULL) & ~x & 0x8080808080808080ULL)
			break;
	}
	for (; i < len; i++) {
		if ((unsigned char)s[i] < 32)
			return i;
	}
	return len;
}

/**
 * Append the unescaped form of @len bytes at @s to @out.  @extra is the
 * optional extra escaped character ('=' for parameter names, else 0).
 * Returns 0, or -EINVAL on a bad escape or a raw control byte (then @out
 * holds whatever came before the error).
 */
int ce_proto_unescape(GString *out, const char *s, size_t len, char extra)
{
	size_t old = out->len, bad, ctl = find_ctl(s, len);
	gssize n;

	g_string_set_size(out, old + len);
	n = unescape_into(out->str + old, s, ctl, extra, &bad);
	if (n < 0) {
		g_string_truncate(out, old + bad);
		return -EINVAL;
	}
	g_string_truncate(out, old + n);
	return ctl < len ? -EINVAL : 0;
}

/* ---- parsing helpers --------------------------------------------------- */

/* A cursor over the fields of one line; offsets are reported from base. */
struct cur {
	const char *base;
	const char *p;
	const char *end;
	bool more; /* a field (maybe empty) remains at p */
};

struct span {
	const char *s;
	size_t len;
	bool plain; /* known to hold no '%' */
};

/* Copy of a field known to hold no NUL (the line was checked). */
static char *span_dup(const char *s, size_t len)
{
	char *d = g_malloc(len + 1);

	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

/* Take the next field; returns whether a ':' followed it. */
static bool take(struct cur *c, struct span *f)
{
	const char *sep = c->more ? memchr(c->p, ':', c->end - c->p) : NULL;

	f->s = c->p;
	f->len = (sep ? sep : c->end) - c->p;
	f->plain = false;
	c->p = sep ? sep + 1 : c->end;
	c->more = sep != NULL;
	return c->more;
}

static size_t off(const struct cur *c, const char *p)
{
	return (size_t)(p - c->base);
}

static int fail(GError **err, int code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static int fail(GError **err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		*err = g_error_new_valist(CE_PROTO_ERROR, code, fmt, ap);
		va_end(ap);
	}
	return code == CE_PROTO_ERROR_TOO_LONG || code == CE_PROTO_ERROR_TOO_MANY ? -E2BIG
	                                                                          : -EINVAL;
}

static int missing(struct cur *c, const char *what, GError **err)
{
	return fail(err, CE_PROTO_ERROR_SYNTAX, "missing %s at byte %zu", what, off(c, c->p));
}

static int bad_escape(const struct cur *c, const char *pct, const char *what, GError **err)
{
	if (pct + 1 >= c->end || pct[1] == ':')
		return fail(err, CE_PROTO_ERROR_ESCAPE, "'%%' at end of %s at byte %zu", what,
		        off(c, pct));
	if ((unsigned char)pct[1] > 32 && (unsigned char)pct[1] < 127)
		return fail(err, CE_PROTO_ERROR_ESCAPE, "bad escape '%%%c' in %s at byte %zu",
		        pct[1], what, off(c, pct));
	return fail(err, CE_PROTO_ERROR_ESCAPE, "bad escape '%%' + 0x%02x in %s at byte %zu",
	        (unsigned char)pct[1], what, off(c, pct));
}

/*
 * Unescape a field into a new string; control bytes were checked for the
 * whole line already.  Returns NULL and sets @err on a bad escape.
 */
static char *field_dup(
        const struct cur *c, const struct span *f, char extra, const char *what, GError **err)
{
	size_t bad;
	char *s;
	gssize n;

	if (f->plain || !memchr(f->s, '%', f->len))
		return span_dup(f->s, f->len);
	s = g_malloc(f->len + 1);
	n = unescape_into(s, f->s, f->len, extra, &bad);
	if (n < 0) {
		g_free(s);
		bad_escape(c, f->s + bad, what, err);
		return NULL;
	}
	s[n] = '\0';
	return s;
}

/* An unsigned decimal number, digits only, at most @max. */
static bool parse_uint(const struct span *f, uint64_t max, uint64_t *v)
{
	uint64_t n = 0;
	size_t i;

	if (!f->len)
		return false;
	for (i = 0; i < f->len; i++) {
		unsigned d = (unsigned char)f->s[i] - '0';

		if (d > 9 || n > (max - d) / 10)
			return false;
		n = n * 10 + d;
	}
	*v = n;
	return true;
}

static int parse_prio(struct cur *c, const struct span *f, int *prio, GError **err)
{
	uint64_t v;

	if (!parse_uint(f, INT_MAX, &v))
		return fail(err, CE_PROTO_ERROR_SYNTAX, "bad priority '%.*s' at byte %zu",
		        (int)MIN(f->len, 32), f->s, off(c, f->s));
	*prio = (int)v;
	return 0;
}

static int parse_success(struct cur *c, const struct span *f, bool *ok, GError **err)
{
	char word[16];

	if (f->len >= sizeof(word))
		goto bad;
	memcpy(word, f->s, f->len);
	word[f->len] = '\0';
	if (ce_bool_word(word) < 0)
		goto bad;
	*ok = ce_bool_word(word);
	return 0;
bad:
	return fail(err, CE_PROTO_ERROR_SYNTAX, "bad boolean '%.*s' at byte %zu",
	        (int)MIN(f->len, 32), f->s, off(c, f->s));
}

/* Split the rest of the line at its last ':' (for "<name>:<success>" tails). */
static bool take_last(struct cur *c, struct span *head, struct span *tail)
{
	const char *sep = c->more ? c->end : c->p;

	while (sep > c->p && sep[-1] != ':')
		sep--;
	if (sep == c->p)
		return false;
	sep--;
	head->s = c->p;
	head->len = sep - c->p;
	head->plain = false;
	tail->s = sep + 1;
	tail->len = c->end - tail->s;
	tail->plain = false;
	c->p = c->end;
	c->more = false;
	return true;
}

static char *raw_dup(const struct span *f)
{
	return span_dup(f->s, f->len);
}

/* ---- messages and answers ---------------------------------------------- */

/* Store one parameter chunk: name and value, or a bare name (@val NULL). */
static int parse_param(struct cur *c, struct ce_msg *m, const struct span *nm,
        const struct span *val, bool answer, GError **err)
{
	struct ce_param p = {NULL, NULL};

	if (!nm->len)
		return fail(err, CE_PROTO_ERROR_SYNTAX, "parameter starts with '=' at byte %zu",
		        off(c, nm->s));
	p.name = field_dup(c, nm, '=', "parameter name", err);
	if (!p.name)
		return -EINVAL;
	if (val) {
		p.value = field_dup(c, val, 0, "parameter value", err);
		if (!p.value) {
			g_free(p.name);
			return -EINVAL;
		}
	} else if (!answer) {
		/* in a message a bare name clears what came before */
		ce_msg_remove(m, p.name);
		g_free(p.name);
		return 0;
	}
	/* same as ce_msg_add, without copying the strings once more */
	g_array_append_val(m->params, p);
	return 0;
}

/*
 * Cut the next parameter chunk in one pass over its bytes (cheaper than
 * three memchr calls on such short strings): its name, its value after the
 * first '=' (if any) and whether a '%' needs unescaping.
 */
static bool take_param(struct cur *c, struct span *nm, struct span *val)
{
	const char *p = c->p, *eq = NULL;
	bool pct = false;

	for (; p < c->end && *p != ':'; p++) {
		if (*p == '=' && !eq)
			eq = p;
		else if (*p == '%')
			pct = true;
	}
	*nm = (struct span){c->p, (size_t)((eq ? eq : p) - c->p), !pct};
	*val = (struct span){eq ? eq + 1 : p, eq ? (size_t)(p - eq - 1) : 0, !pct};
	c->more = p < c->end;
	c->p = c->more ? p + 1 : p;
	return eq != NULL;
}

static int parse_params(struct cur *c, struct ce_msg *m, bool answer,
        const struct ce_proto_limits *lim, GError **err)
{
	unsigned n = 0;
	struct span nm, val;
	bool has_val;
	int r;

	while (c->more) {
		has_val = take_param(c, &nm, &val);
		if (!nm.len && !has_val)
			continue; /* an empty chunk, as Yate skips it */
		if (++n > lim->max_params)
			return fail(err, CE_PROTO_ERROR_TOO_MANY,
			        "more than %u parameters (at byte %zu)", lim->max_params,
			        off(c, nm.s));
		r = parse_param(c, m, &nm, has_val ? &val : NULL, answer, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Replace *@dst by the unescaped field; returns 0 or -EINVAL. */
static int set_field(
        struct cur *c, char **dst, const struct span *f, const char *what, GError **err)
{
	char *s = field_dup(c, f, 0, what, err);

	if (!s)
		return -EINVAL;
	g_free(*dst);
	*dst = s;
	return 0;
}

/* "<name>:<retval>[:params]" shared by messages and answers. */
static int parse_body(struct cur *c, struct ce_msg *m, bool answer,
        const struct ce_proto_limits *lim, GError **err)
{
	struct span nm, rv;
	int r;

	if (!take(c, &nm))
		return missing(c, "':' after the message name", err);
	take(c, &rv);
	r = set_field(c, &m->name, &nm, "message name", err);
	if (!r)
		r = set_field(c, &m->retval, &rv, "return value", err);
	if (!r)
		r = parse_params(c, m, answer, lim, err);
	return r;
}

static int parse_message(
        struct ce_line *line, struct cur *c, const struct ce_proto_limits *lim, GError **err)
{
	struct span id, tm;
	uint64_t t = 0;

	if (!take(c, &id))
		return missing(c, "time after the message id", err);
	if (!take(c, &tm))
		return missing(c, "message name after the time", err);
	if (tm.len && !parse_uint(&tm, UINT64_MAX, &t))
		return fail(err, CE_PROTO_ERROR_SYNTAX, "bad time '%.*s' at byte %zu",
		        (int)MIN(tm.len, 32), tm.s, off(c, tm.s));
	ce_msg_new(&line->msg, NULL);
	if (t)
		line->msg->time = t;
	if (set_field(c, &line->msg->id, &id, "message id", err))
		return -EINVAL;
	return parse_body(c, line->msg, false, lim, err);
}

static int parse_answer(
        struct ce_line *line, struct cur *c, const struct ce_proto_limits *lim, GError **err)
{
	struct span id, pr;
	int r;

	if (!take(c, &id))
		return missing(c, "processed flag after the message id", err);
	if (!take(c, &pr))
		return missing(c, "':' after the processed flag", err);
	r = parse_success(c, &pr, &line->success, err);
	if (r)
		return r;
	ce_msg_new(&line->msg, NULL);
	line->msg->processed = line->success;
	if (set_field(c, &line->msg->id, &id, "message id", err))
		return -EINVAL;
	if (c->p == c->end)
		return 0; /* "%%<message:<id>:<processed>:" changes nothing */
	return parse_body(c, line->msg, true, lim, err);
}

/* ---- the other keywords ------------------------------------------------ */

static int parse_install(struct ce_line *line, struct cur *c, GError **err)
{
	struct span pr, nm, fn, fv;

	if (!take(c, &pr))
		return missing(c, "message name after the priority", err);
	if (!pr.len)
		line->priority = -1;
	else if (parse_prio(c, &pr, &line->priority, err))
		return -EINVAL;
	bool has_filter = take(c, &nm);
	line->name = raw_dup(&nm);
	if (!has_filter)
		return 0;
	bool has_value = take(c, &fn);
	if (has_value) {
		/* the filter value is the rest of the line, ':' included */
		fv.s = c->p;
		fv.len = c->end - c->p;
		fv.plain = false;
		c->p = c->end;
		c->more = false;
		line->fvalue = field_dup(c, &fv, 0, "filter value", err);
		if (!line->fvalue)
			return -EINVAL;
	}
	line->fname = field_dup(c, &fn, 0, "filter name", err);
	return line->fname ? 0 : -EINVAL;
}

/* "<prio>:<name>:<success>" of install and uninstall answers. */
static int parse_installed(struct ce_line *line, struct cur *c, GError **err)
{
	struct span pr, nm, ok;

	if (!take(c, &pr))
		return missing(c, "message name after the priority", err);
	if (parse_prio(c, &pr, &line->priority, err))
		return -EINVAL;
	if (!take_last(c, &nm, &ok))
		return missing(c, "success flag after the name", err);
	line->name = raw_dup(&nm);
	return parse_success(c, &ok, &line->success, err);
}

/* "<name>:<success>" of watch and unwatch answers. */
static int parse_watched(struct ce_line *line, struct cur *c, GError **err)
{
	struct span nm, ok;

	if (!take_last(c, &nm, &ok))
		return missing(c, "success flag after the name", err);
	line->name = raw_dup(&nm);
	return parse_success(c, &ok, &line->success, err);
}

static int parse_setlocal(struct ce_line *line, struct cur *c, GError **err)
{
	struct span nm, val;

	if (!take(c, &nm) || !nm.len)
		return missing(c, "\"<name>:<value>\"", err);
	val.s = c->p;
	val.len = c->end - c->p;
	val.plain = false;
	line->name = raw_dup(&nm);
	line->value = raw_dup(&val);
	return 0;
}

static int parse_setlocal_ans(struct ce_line *line, struct cur *c, GError **err)
{
	struct span nm, val, ok;

	if (!take(c, &nm))
		return missing(c, "value after the name", err);
	if (!take_last(c, &val, &ok))
		return missing(c, "success flag after the value", err);
	line->name = raw_dup(&nm);
	line->value = raw_dup(&val);
	return parse_success(c, &ok, &line->success, err);
}

static int parse_debug(struct ce_line *line, struct cur *c, GError **err)
{
	struct span lv, tx;
	bool neg;
	uint64_t v;

	if (!take(c, &lv))
		return missing(c, "text after the debug level", err);
	neg = lv.len && lv.s[0] == '-';
	tx = (struct span){lv.s + neg, lv.len - neg, false};
	if (!parse_uint(&tx, INT_MAX, &v))
		return fail(err, CE_PROTO_ERROR_SYNTAX, "bad debug level '%.*s' at byte %zu",
		        (int)MIN(lv.len, 32), lv.s, off(c, lv.s));
	line->level = neg ? -(int)v : (int)v;
	tx.s = c->p;
	tx.len = c->end - c->p;
	tx.plain = false;
	line->text = field_dup(c, &tx, 0, "debug text", err);
	return line->text ? 0 : -EINVAL;
}

static int parse_connect(struct ce_line *line, struct cur *c, GError **err)
{
	struct span f;

	(void)err;
	if (take(c, &f)) {
		line->name = raw_dup(&f);
		if (take(c, &f)) {
			line->value = raw_dup(&f);
			f.s = c->p;
			f.len = c->end - c->p;
			f.plain = false;
			line->text = raw_dup(&f);
		} else {
			line->value = raw_dup(&f);
		}
	} else {
		line->name = raw_dup(&f);
	}
	return 0;
}

static int parse_rest_raw(struct ce_line *line, struct cur *c, GError **err)
{
	(void)err;
	line->text = span_dup(c->p, c->end - c->p);
	return 0;
}

static int parse_name(struct ce_line *line, struct cur *c, GError **err)
{
	(void)err;
	line->name = span_dup(c->p, c->end - c->p);
	return 0;
}

static int parse_nothing(struct ce_line *line, struct cur *c, GError **err)
{
	(void)line;
	(void)c;
	(void)err;
	return 0;
}

typedef int(parse_h)(struct ce_line *line, struct cur *c, GError **err);

static const struct keyword {
	char dir;
	const char *word;
	enum ce_line_kind kind;
	parse_h *parse; /* NULL for message and answer */
} keywords[] = {
        {'>', "message", CE_LINE_MESSAGE, NULL},
        {'<', "message", CE_LINE_ANSWER, NULL},
        {'>', "install", CE_LINE_INSTALL, parse_install},
        {'<', "install", CE_LINE_INSTALLED, parse_installed},
        {'>', "uninstall", CE_LINE_UNINSTALL, parse_name},
        {'<', "uninstall", CE_LINE_UNINSTALLED, parse_installed},
        {'>', "watch", CE_LINE_WATCH, parse_name},
        {'<', "watch", CE_LINE_WATCHED, parse_watched},
        {'>', "unwatch", CE_LINE_UNWATCH, parse_name},
        {'<', "unwatch", CE_LINE_UNWATCHED, parse_watched},
        {'>', "setlocal", CE_LINE_SETLOCAL, parse_setlocal},
        {'<', "setlocal", CE_LINE_SETLOCAL_ANS, parse_setlocal_ans},
        {'>', "output", CE_LINE_OUTPUT, parse_rest_raw},
        {'>', "debug", CE_LINE_DEBUG, parse_debug},
        {'>', "connect", CE_LINE_CONNECT, parse_connect},
        {'>', "quit", CE_LINE_QUIT, parse_nothing},
        {'<', "quit", CE_LINE_QUIT_ANS, parse_nothing},
};

static const char error_in[] = "Error in:";

static const struct keyword *find_keyword(char dir, const char *w, size_t len)
{
	unsigned i;

	for (i = 0; i < G_N_ELEMENTS(keywords); i++) {
		const struct keyword *k = &keywords[i];

		if (k->dir == dir && strlen(k->word) == len && !memcmp(k->word, w, len))
			return k;
	}
	return NULL;
}

/* Bytes that no line may hold: NUL and LF always, other controls outside free text. */
static int check_bytes(const struct cur *c, bool free_text, GError **err)
{
	size_t len = c->end - c->base, i = 0;

	while ((i += find_ctl(c->base + i, len - i)) < len) {
		unsigned char b = (unsigned char)c->base[i];

		if (!free_text || b == '\0' || b == '\n')
			return fail(err, CE_PROTO_ERROR_ESCAPE,
			        "raw control byte 0x%02x at byte %zu", b, i);
		i++;
	}
	return 0;
}

/* An unknown keyword, shown with its control bytes escaped C-style. */
static int unknown(const char *s, size_t len, GError **err)
{
	char *raw = g_strndup(s, len), *esc = g_strescape(raw, NULL);
	int r = fail(err, CE_PROTO_ERROR_KEYWORD, "unknown keyword in '%s'", esc);

	g_free(esc);
	g_free(raw);
	return r;
}

static int parse_keyword_line(
        struct ce_line *line, struct cur *c, const struct ce_proto_limits *lim, GError **err)
{
	size_t len = c->end - c->base;
	const char *w, *colon;
	const struct keyword *k;
	int r;

	if (len < 3 || c->base[0] != '%' || c->base[1] != '%' ||
	        (c->base[2] != '>' && c->base[2] != '<'))
		return unknown(c->base, MIN(len, 32), err);
	w = c->base + 3;
	colon = memchr(w, ':', c->end - w);
	k = find_keyword(c->base[2], w, (colon ? colon : c->end) - w);
	if (!k)
		return unknown(c->base, MIN((size_t)((colon ? colon : c->end) - c->base), 32), err);
	line->kind = k->kind;
	r = check_bytes(c, k->kind == CE_LINE_OUTPUT, err);
	if (r)
		return r;
	if ((k->kind == CE_LINE_QUIT || k->kind == CE_LINE_QUIT_ANS) != !colon)
		return fail(err, CE_PROTO_ERROR_SYNTAX,
		        colon ? "unexpected ':' at byte %zu"
		              : "missing ':' after the keyword at byte %zu",
		        (size_t)((colon ? colon : c->end) - c->base));
	c->p = colon ? colon + 1 : c->end;
	c->more = colon != NULL;
	if (k->kind == CE_LINE_MESSAGE)
		return parse_message(line, c, lim, err);
	if (k->kind == CE_LINE_ANSWER)
		return parse_answer(line, c, lim, err);
	return k->parse(line, c, err);
}

/**
 * Parse one line (@len bytes at @text, no newline, need not be
 * NUL-terminated) into @line, which the caller provides and later empties
 * with ce_line_clear().  @lim may be NULL for the defaults.
 * Returns 0, or a negative errno with @err set (CE_PROTO_ERROR domain) and
 * @line left empty.
 */
int ce_line_parse(struct ce_line *line, const char *text, size_t len,
        const struct ce_proto_limits *lim, GError **err)
{
	struct cur c = {text, text, text + len, false};
	int r;

	memset(line, 0, sizeof(*line));
	if (!lim)
		lim = &default_limits;
	if (len > lim->max_line)
		return fail(err, CE_PROTO_ERROR_TOO_LONG,
		        "line of %zu bytes is over the limit of %zu", len, lim->max_line);
	if (len >= sizeof(error_in) - 1 && !memcmp(text, error_in, sizeof(error_in) - 1)) {
		line->kind = CE_LINE_ERROR;
		r = check_bytes(&c, true, err);
		c.p += sizeof(error_in) - 1;
		if (c.p < c.end && *c.p == ' ')
			c.p++; /* Yate writes "Error in: <line>" */
		if (!r)
			parse_rest_raw(line, &c, err);
	} else {
		r = parse_keyword_line(line, &c, lim, err);
	}
	if (r)
		ce_line_clear(line);
	return r;
}

/** Free what @line holds and zero it; a cleared line may be cleared again. */
void ce_line_clear(struct ce_line *line)
{
	ce_msg_unref(line->msg);
	g_free(line->name);
	g_free(line->value);
	g_free(line->text);
	g_free(line->fname);
	g_free(line->fvalue);
	memset(line, 0, sizeof(*line));
}

/* ---- formatting -------------------------------------------------------- */

static void append_u64(GString *out, uint64_t v)
{
	char buf[24], *p = buf + sizeof(buf);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	g_string_append_len(out, p, buf + sizeof(buf) - p);
}

static void append_int(GString *out, int v)
{
	if (v < 0) {
		g_string_append_c(out, '-');
		append_u64(out, (uint64_t)(-(int64_t)v));
	} else {
		append_u64(out, (uint64_t)v);
	}
}

/* Unescaped fields: written as they are, except that a newline would split the line. */
static void append_raw(GString *out, const char *s)
{
	size_t old = out->len;
	char *p;

	if (!s)
		return;
	g_string_append(out, s);
	for (p = out->str + old; (p = strchr(p, '\n')); p++)
		*p = ' ';
}

static void append_bool(GString *out, bool b)
{
	g_string_append(out, b ? "true" : "false");
}

/* name:retval[:k=v...], as Yate's Message::commonEncode. */
static void format_body(GString *out, const struct ce_msg *m)
{
	unsigned i;

	ce_proto_escape(out, m->name, 0);
	g_string_append_c(out, ':');
	ce_proto_escape(out, m->retval, 0);
	for (i = 0; i < m->params->len; i++) {
		const struct ce_param *p = &g_array_index(m->params, struct ce_param, i);

		g_string_append_c(out, ':');
		ce_proto_escape(out, p->name, '=');
		if (p->value) {
			g_string_append_c(out, '=');
			ce_proto_escape(out, p->value, 0);
		}
	}
}

/**
 * Append "%%>message:<id>:<time>:<name>:<retval>[:<k>=<v>...]" for @m,
 * without a newline.  A parameter with a NULL value is written as its bare
 * name (which, in a message, clears that parameter).
 */
void ce_proto_format_message(GString *out, const struct ce_msg *m)
{
	g_string_append_len(out, "%%>message:", 11);
	ce_proto_escape(out, m->id, 0);
	g_string_append_c(out, ':');
	append_u64(out, m->time);
	g_string_append_c(out, ':');
	format_body(out, m);
}

/**
 * Append "%%<message:<id>:<processed>:<name>:<retval>[:<k>[=<v>]...]" for
 * @m, without a newline; a NULL parameter value is written as a bare name
 * (delete it).
 */
void ce_proto_format_answer(GString *out, const struct ce_msg *m, bool processed)
{
	g_string_append_len(out, "%%<message:", 11);
	ce_proto_escape(out, m->id, 0);
	g_string_append_c(out, ':');
	append_bool(out, processed);
	g_string_append_c(out, ':');
	format_body(out, m);
}

static void format_install(GString *out, const struct ce_line *l)
{
	if (l->priority >= 0)
		append_int(out, l->priority);
	g_string_append_c(out, ':');
	append_raw(out, l->name);
	if (!l->fname)
		return;
	g_string_append_c(out, ':');
	ce_proto_escape(out, l->fname, 0);
	if (!l->fvalue)
		return;
	g_string_append_c(out, ':');
	ce_proto_escape(out, l->fvalue, 0);
}

static void format_connect(GString *out, const struct ce_line *l)
{
	append_raw(out, l->name);
	if (l->value || l->text) {
		g_string_append_c(out, ':');
		append_raw(out, l->value);
	}
	if (l->text) {
		g_string_append_c(out, ':');
		append_raw(out, l->text);
	}
}

/* Prefix, then "<a>:" for each non-NULL a, then the success flag. */
static void format_answer_tail(GString *out, const struct ce_line *l, bool prio, bool value)
{
	if (prio) {
		append_int(out, l->priority);
		g_string_append_c(out, ':');
	}
	append_raw(out, l->name);
	g_string_append_c(out, ':');
	if (value) {
		append_raw(out, l->value);
		g_string_append_c(out, ':');
	}
	append_bool(out, l->success);
}

static const char *const prefixes[] = {
        [CE_LINE_INSTALL] = "%%>install:",
        [CE_LINE_INSTALLED] = "%%<install:",
        [CE_LINE_UNINSTALL] = "%%>uninstall:",
        [CE_LINE_UNINSTALLED] = "%%<uninstall:",
        [CE_LINE_WATCH] = "%%>watch:",
        [CE_LINE_WATCHED] = "%%<watch:",
        [CE_LINE_UNWATCH] = "%%>unwatch:",
        [CE_LINE_UNWATCHED] = "%%<unwatch:",
        [CE_LINE_SETLOCAL] = "%%>setlocal:",
        [CE_LINE_SETLOCAL_ANS] = "%%<setlocal:",
        [CE_LINE_OUTPUT] = "%%>output:",
        [CE_LINE_DEBUG] = "%%>debug:",
        [CE_LINE_CONNECT] = "%%>connect:",
        [CE_LINE_QUIT] = "%%>quit",
        [CE_LINE_QUIT_ANS] = "%%<quit",
        [CE_LINE_ERROR] = "Error in: ",
};

/**
 * Append the wire form of @line to @out, without the trailing newline.
 * Every kind that ce_line_parse() accepts can be formatted; fields that
 * travel unescaped (names in install/watch/setlocal, output text) have any
 * newline replaced by a space so that the result stays one line.
 */
void ce_line_format(GString *out, const struct ce_line *l)
{
	if (l->kind == CE_LINE_MESSAGE) {
		ce_proto_format_message(out, l->msg);
		return;
	}
	if (l->kind == CE_LINE_ANSWER) {
		ce_proto_format_answer(out, l->msg, l->msg->processed);
		return;
	}
	if (l->kind <= 0 || l->kind >= (int)G_N_ELEMENTS(prefixes) || !prefixes[l->kind])
		return;
	g_string_append(out, prefixes[l->kind]);
	switch (l->kind) {
	case CE_LINE_INSTALL:
		format_install(out, l);
		break;
	case CE_LINE_INSTALLED:
	case CE_LINE_UNINSTALLED:
		format_answer_tail(out, l, true, false);
		break;
	case CE_LINE_WATCHED:
	case CE_LINE_UNWATCHED:
		format_answer_tail(out, l, false, false);
		break;
	case CE_LINE_SETLOCAL_ANS:
		format_answer_tail(out, l, false, true);
		break;
	case CE_LINE_SETLOCAL:
		append_raw(out, l->name);
		g_string_append_c(out, ':');
		append_raw(out, l->value);
		break;
	case CE_LINE_DEBUG:
		append_int(out, l->level);
		g_string_append_c(out, ':');
		ce_proto_escape(out, l->text, 0);
		break;
	case CE_LINE_CONNECT:
		format_connect(out, l);
		break;
	case CE_LINE_OUTPUT:
	case CE_LINE_ERROR:
		append_raw(out, l->text);
		break;
	case CE_LINE_UNINSTALL:
	case CE_LINE_WATCH:
	case CE_LINE_UNWATCH:
		append_raw(out, l->name);
		break;
	default:
		break;
	}
}

/* ---- line framing ------------------------------------------------------ */

/*
 * Bytes of a stream, cut into lines at '\n'.  Bytes are kept exactly: a
 * '\r' before the newline stays part of the line (Yate sends none).
 */
struct ce_linebuf {
	char *buf;     /* the start of a line whose newline has not come yet */
	size_t len;    /* bytes in buf */
	size_t size;   /* allocated size of buf */
	size_t max;    /* longest line accepted */
	bool skipping; /* discarding an over-long line up to its newline */
	size_t head;   /* while skipping: its first bytes kept at the start of buf */
	size_t total;  /* while skipping: its length so far */
};

/**
 * Create line framing that accepts lines of up to @max_line bytes (0 for
 * CE_PROTO_MAX_LINE_DEFAULT).  Returns 0; free with ce_linebuf_free().
 */
int ce_linebuf_new(struct ce_linebuf **lbp, size_t max_line)
{
	struct ce_linebuf *lb = g_new0(struct ce_linebuf, 1);

	lb->max = max_line ? max_line : CE_PROTO_MAX_LINE_DEFAULT;
	*lbp = lb;
	return 0;
}

/** Free @lb and any partial line it holds; NULL is allowed. */
void ce_linebuf_free(struct ce_linebuf *lb)
{
	if (!lb)
		return;
	g_free(lb->buf);
	g_free(lb);
}

static void keep(struct ce_linebuf *lb, const char *data, size_t len)
{
	if (lb->len + len > lb->size) {
		size_t size = MAX(lb->size * 2, 256);

		while (size < lb->len + len)
			size *= 2;
		lb->size = MIN(size, lb->max);
		lb->buf = g_realloc(lb->buf, lb->size);
	}
	memcpy(lb->buf + lb->len, data, len);
	lb->len += len;
}

static void report(struct ce_linebuf *lb, bool ended, ce_overflow_h *overh, void *arg)
{
	struct ce_overflow o = {lb->buf, lb->head, lb->total, ended};

	if (overh)
		overh(&o, arg);
}

/*
 * The line held plus @data goes over the limit: keep only its first bytes,
 * which tell its user what it was (a %%>message still needs its answer).
 */
static void start_skipping(
        struct ce_linebuf *lb, const char *data, size_t len, ce_overflow_h *overh, void *arg)
{
	size_t head = MIN(CE_LINEBUF_HEAD, lb->max);

	lb->total = lb->len + len;
	if (lb->len < head)
		keep(lb, data, MIN(len, head - lb->len));
	lb->head = MIN(lb->len, head);
	lb->len = 0;
	lb->skipping = true;
	report(lb, false, overh, arg);
}

/* Bytes without a newline: keep them, or start skipping once over the limit. */
static void feed_partial(
        struct ce_linebuf *lb, const char *data, size_t len, ce_overflow_h *overh, void *arg)
{
	if (lb->skipping) {
		lb->total += len;
		return;
	}
	if (lb->len + len <= lb->max) {
		keep(lb, data, len);
		return;
	}
	start_skipping(lb, data, len, overh, arg);
}

/* One whole line ends at @data + @len (the newline itself is not passed). */
static void feed_line(struct ce_linebuf *lb, const char *data, size_t len, ce_line_h *lineh,
        ce_overflow_h *overh, void *arg)
{
	if (lb->skipping || lb->len + len > lb->max) {
		if (lb->skipping)
			lb->total += len;
		else
			start_skipping(lb, data, len, overh, arg);
		report(lb, true, overh, arg);
		lb->skipping = false;
		lb->head = lb->total = 0;
		return;
	}
	if (!lb->len) {
		lineh(data, len, arg); /* the common case: no copy at all */
		return;
	}
	keep(lb, data, len);
	len = lb->len;
	lb->len = 0;
	lineh(lb->buf, len, arg);
}

/**
 * Feed @len bytes of the stream.  @lineh is called for every complete line
 * (without its newline; the text is not NUL-terminated and is valid only
 * during the call).  A line over the limit is reported to @overh (may be
 * NULL) as soon as it is known to be too long, with its first bytes, and
 * again when its newline comes, with its length; the bytes in between are
 * discarded.  The handlers must not feed or free @lb.
 */
void ce_linebuf_feed(struct ce_linebuf *lb, const char *data, size_t len, ce_line_h *lineh,
        ce_overflow_h *overh, void *arg)
{
	const char *end = data + len, *nl;

	while (data < end && (nl = memchr(data, '\n', end - data))) {
		feed_line(lb, data, nl - data, lineh, overh, arg);
		data = nl + 1;
	}
	if (data < end)
		feed_partial(lb, data, end - data, overh, arg);
}

/** Bytes of an unfinished line held in @lb (0 while skipping an over-long one). */
size_t ce_linebuf_pending(const struct ce_linebuf *lb)
{
	return lb->len;
}
