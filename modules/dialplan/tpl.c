/* tpl.c - dialplan templates: \0-\9 captures, ${param} and ${param$default}, $() and $($) */
#define G_LOG_DOMAIN "dialplan"

#include <errno.h>
#include <string.h>

#include "conf-engine/config.h"
#include "message.h"
#include "rex.h"
#include "tpl.h"

/*
 * The right-hand side of a rule, parsed once at load:
 *
 *   conf/room\1;caller=${caller$anonymous}$()x
 *
 * \0-\9 are the pieces the regex captured (empty when a group did not take
 * part), \\ is a backslash, any other \c stays as written; ${name} is the
 * message parameter, ${name$def} with a default; $() is ';' and $($) is
 * '$'.  Other $(functions) are refused.  Unlike Yate, what a substitution
 * inserts is never read again: a caller cannot smuggle ${...} or $(...) in
 * through a number.
 */

enum part_kind {
	PART_TEXT,
	PART_CAP,
	PART_PARAM,
};

struct part {
	enum part_kind kind;
	int cap;
	char *text; /* TEXT: the text; PARAM: the name */
	char *def;  /* PARAM: the default */
};

struct ce_tpl {
	char *source;
	GArray *parts;
	bool plain;
};

static void part_clear(gpointer data)
{
	struct part *p = data;

	g_free(p->text);
	g_free(p->def);
}

static void add_text(struct ce_tpl *t, const char *s, size_t n)
{
	struct part *last =
	        t->parts->len ? &g_array_index(t->parts, struct part, t->parts->len - 1) : NULL;
	struct part p = {PART_TEXT, 0, NULL, NULL};
	char *joined;

	if (last && last->kind == PART_TEXT) {
		joined = g_strdup_printf("%s%.*s", last->text, (int)n, s);
		g_free(last->text);
		last->text = joined;
		return;
	}
	p.text = g_strndup(s, n);
	g_array_append_val(t->parts, p);
}

/* ${...} at @s; returns the length consumed or -EINVAL. */
static int add_param(struct ce_tpl *t, const char *s, GError **err)
{
	const char *close = strchr(s + 2, '}');
	struct part p = {PART_PARAM, 0, NULL, NULL};
	char *inner, *dollar;

	if (!close) {
		g_set_error(err, CE_CONFIG_ERROR, CE_CONFIG_ERROR_VALUE,
		        "unterminated '${' in '%s'", t->source);
		return -EINVAL;
	}
	inner = g_strndup(s + 2, (size_t)(close - s - 2));
	dollar = strchr(inner, '$');
	if (dollar) {
		*dollar = '\0';
		p.def = g_strstrip(g_strdup(dollar + 1));
	}
	p.text = g_strstrip(g_strdup(inner));
	g_free(inner);
	g_array_append_val(t->parts, p);
	t->plain = false;
	return (int)(close + 1 - s);
}

/* $(...) at @s: only $() and $($); returns the length consumed or -EINVAL. */
static int add_func(struct ce_tpl *t, const char *s, GError **err)
{
	const char *close = strchr(s + 2, ')');
	char *inner;
	int r;

	if (!close) {
		g_set_error(err, CE_CONFIG_ERROR, CE_CONFIG_ERROR_VALUE,
		        "unterminated '$(' in '%s'", t->source);
		return -EINVAL;
	}
	inner = g_strstrip(g_strndup(s + 2, (size_t)(close - s - 2)));
	r = (int)(close + 1 - s);
	if (!*inner) {
		add_text(t, ";", 1);
	} else if (!strcmp(inner, "$")) {
		add_text(t, "$", 1);
	} else {
		g_set_error(err, CE_CONFIG_ERROR, CE_CONFIG_ERROR_VALUE,
		        "function '$(%s)' is not supported (only $() and $($))", inner);
		r = -EINVAL;
	}
	g_free(inner);
	return r;
}

static int add_escape(struct ce_tpl *t, const char *s)
{
	struct part p = {PART_CAP, 0, NULL, NULL};

	if (s[1] >= '0' && s[1] <= '9') {
		p.cap = s[1] - '0';
		g_array_append_val(t->parts, p);
		t->plain = false;
		return 2;
	}
	if (s[1] == '\\') {
		add_text(t, "\\", 1);
		return 2;
	}
	add_text(t, s, s[1] ? 2 : 1);
	return s[1] ? 2 : 1;
}

/** Parse @text into a template. Returns 0 or -EINVAL with @err set. */
int ce_tpl_new(struct ce_tpl **tp, const char *text, GError **err)
{
	struct ce_tpl *t = g_new0(struct ce_tpl, 1);
	const char *s = text;
	size_t lit;
	int n = 0;

	t->source = g_strdup(text);
	t->parts = g_array_new(FALSE, TRUE, sizeof(struct part));
	g_array_set_clear_func(t->parts, part_clear);
	t->plain = true;
	while (*s && n >= 0) {
		lit = strcspn(s, "\\$");
		if (lit)
			add_text(t, s, lit);
		s += lit;
		if (s[0] == '\\')
			n = add_escape(t, s);
		else if (s[0] == '$' && s[1] == '{')
			n = add_param(t, s, err);
		else if (s[0] == '$' && s[1] == '(')
			n = add_func(t, s, err);
		else if (s[0] == '$')
			add_text(t, s, n = 1);
		else
			n = 0;
		s += n > 0 ? n : 0;
	}
	if (n < 0)
		goto out;
	*tp = g_steal_pointer(&t);
out:
	ce_tpl_free(t);
	return n < 0 ? n : 0;
}

/** Free @t; NULL is allowed. */
void ce_tpl_free(struct ce_tpl *t)
{
	if (!t)
		return;
	g_array_unref(t->parts);
	g_free(t->source);
	g_free(t);
}

/** Whether @t has no substitutions (its expansion is fixed text). */
bool ce_tpl_is_plain(const struct ce_tpl *t)
{
	return t->plain;
}

/** The text @t was parsed from. */
const char *ce_tpl_source(const struct ce_tpl *t)
{
	return t->source;
}

/**
 * Append the expansion of @t to @out: captures from @caps over @subject
 * (both may be NULL: empty), parameters from @msg (may be NULL).
 */
void ce_tpl_expand(const struct ce_tpl *t, const struct ce_msg *msg, const char *subject,
        const struct ce_rex_caps *caps, GString *out)
{
	const char *v;
	unsigned i;

	for (i = 0; i < t->parts->len; i++) {
		const struct part *p = &g_array_index(t->parts, struct part, i);
		switch (p->kind) {
		case PART_TEXT:
			g_string_append(out, p->text);
			break;
		case PART_CAP:
			if (caps && subject && caps->so[p->cap] >= 0)
				g_string_append_len(out, subject + caps->so[p->cap],
				        caps->eo[p->cap] - caps->so[p->cap]);
			break;
		case PART_PARAM:
			v = msg ? ce_msg_get(msg, p->text) : NULL;
			g_string_append(out, v ? v : p->def ? p->def : "");
			break;
		}
	}
}
