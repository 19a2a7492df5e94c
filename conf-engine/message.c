/* message.c - reference-counted messages with ordered parameters */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"

static void param_clear(gpointer p)
{
	struct ce_param *pa = p;

	g_free(pa->name);
	g_free(pa->value);
}

/**
 * Create a message named @name (may be NULL for an answer that keeps the
 * name) with an empty return value and the current time.
 * Returns 0 or -ENOMEM; the caller owns the one reference.
 */
int ce_msg_new(struct ce_msg **mp, const char *name)
{
	struct ce_msg *m = g_new0(struct ce_msg, 1);

	m->refs = 1;
	m->name = g_strdup(name ? name : "");
	m->retval = g_strdup("");
	m->time = (uint64_t)(g_get_real_time() / G_USEC_PER_SEC);
	m->params = g_array_sized_new(FALSE, FALSE, sizeof(struct ce_param), 8);
	g_array_set_clear_func(m->params, param_clear);
	*mp = m;
	return 0;
}

/** Take one more reference to @m; returns @m. */
struct ce_msg *ce_msg_ref(struct ce_msg *m)
{
	g_atomic_int_inc(&m->refs);
	return m;
}

/** Drop one reference; the last one frees the message. NULL is allowed. */
void ce_msg_unref(struct ce_msg *m)
{
	if (!m || !g_atomic_int_dec_and_test(&m->refs))
		return;
	g_free(m->name);
	g_free(m->id);
	g_free(m->retval);
	g_array_unref(m->params);
	g_free(m);
}

/** Deep copy of @src (name, id, retval, time, params) into a new message. */
int ce_msg_copy(struct ce_msg **mp, const struct ce_msg *src)
{
	struct ce_msg *m;
	unsigned i;

	ce_msg_new(&m, src->name);
	ce_msg_set_id(m, src->id);
	ce_msg_set_retval(m, src->retval);
	m->time = src->time;
	m->processed = src->processed;
	for (i = 0; i < src->params->len; i++) {
		const struct ce_param *p = ce_msg_param(src, i);
		ce_msg_add(m, p->name, p->value);
	}
	*mp = m;
	return 0;
}

void ce_msg_set_name(struct ce_msg *m, const char *name)
{
	g_free(m->name);
	m->name = g_strdup(name ? name : "");
}

void ce_msg_set_id(struct ce_msg *m, const char *id)
{
	g_free(m->id);
	m->id = g_strdup(id);
}

void ce_msg_set_retval(struct ce_msg *m, const char *retval)
{
	g_free(m->retval);
	m->retval = g_strdup(retval ? retval : "");
}

unsigned ce_msg_count(const struct ce_msg *m)
{
	return m->params->len;
}

/** The @i-th parameter, or NULL past the end. */
const struct ce_param *ce_msg_param(const struct ce_msg *m, unsigned i)
{
	if (i >= m->params->len)
		return NULL;
	return &g_array_index(m->params, struct ce_param, i);
}

static int find(const struct ce_msg *m, const char *name)
{
	unsigned i;

	for (i = 0; i < m->params->len; i++) {
		if (!strcmp(g_array_index(m->params, struct ce_param, i).name, name))
			return (int)i;
	}
	return -1;
}

/** Value of the first parameter called @name, or NULL. */
const char *ce_msg_get(const struct ce_msg *m, const char *name)
{
	int i = find(m, name);

	return i < 0 ? NULL : g_array_index(m->params, struct ce_param, i).value;
}

const char *ce_msg_get_def(const struct ce_msg *m, const char *name, const char *def)
{
	const char *v = ce_msg_get(m, name);

	return v ? v : def;
}

/*
 * Yate's boolean words (String::toBoolean, engine/String.cpp of Yate 6.4.1):
 * compared exactly, so "True", "ON" and the digits "1" and "0" are not
 * booleans.  Yate's messages and its configuration files use the same rule.
 */
static const char *const bool_false[] = {"false", "no", "off", "disable", "f"};
static const char *const bool_true[] = {"true", "yes", "on", "enable", "t"};

/**
 * The one boolean rule of the engine, Yate's: 1 for true/yes/on/enable/t,
 * 0 for false/no/off/disable/f (lower case only), -1 for anything else
 * (NULL, "", "1", "True", ...).  ce_parse_bool() is String::toBoolean,
 * ce_bool_word() >= 0 is String::isBoolean.
 */
int ce_bool_word(const char *s)
{
	for (unsigned i = 0; s && i < G_N_ELEMENTS(bool_false); i++) {
		if (!strcmp(s, bool_false[i]))
			return 0;
		if (!strcmp(s, bool_true[i]))
			return 1;
	}
	return -1;
}

/** Yate's String::toBoolean(@def): the word's value (ce_bool_word), or @def. */
bool ce_parse_bool(const char *s, bool def)
{
	int b = ce_bool_word(s);

	return b < 0 ? def : b;
}

bool ce_msg_get_bool(const struct ce_msg *m, const char *name, bool def)
{
	return ce_parse_bool(ce_msg_get(m, name), def);
}

/** Integer parameter; @def when absent or not a number, clamped to [min,max]. */
long ce_msg_get_int(const struct ce_msg *m, const char *name, long def, long min, long max)
{
	const char *v = ce_msg_get(m, name);
	char *end;
	long n;

	if (!v || !*v)
		return def;
	errno = 0;
	n = strtol(v, &end, 0);
	if (errno || *end)
		return def;
	return CLAMP(n, min, max);
}

/**
 * Set @name to @value: replaces the first parameter of that name in place
 * (keeping its position) or appends it.  A NULL @value removes it.
 */
void ce_msg_set(struct ce_msg *m, const char *name, const char *value)
{
	int i;

	if (!value) {
		ce_msg_remove(m, name);
		return;
	}
	i = find(m, name);
	if (i < 0) {
		ce_msg_add(m, name, value);
		return;
	}
	struct ce_param *p = &g_array_index(m->params, struct ce_param, i);
	g_free(p->value);
	p->value = g_strdup(value);
}

void ce_msg_setf(struct ce_msg *m, const char *name, const char *fmt, ...)
{
	va_list ap;
	char *v;

	va_start(ap, fmt);
	v = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	ce_msg_set(m, name, v);
	g_free(v);
}

/** Append a parameter even if one of that name exists (wire order kept). */
void ce_msg_add(struct ce_msg *m, const char *name, const char *value)
{
	struct ce_param p = {g_strdup(name), g_strdup(value)};

	g_array_append_val(m->params, p);
}

/** Remove every parameter called @name; returns whether one existed. */
bool ce_msg_remove(struct ce_msg *m, const char *name)
{
	bool found = false;
	int i;

	while ((i = find(m, name)) >= 0) {
		g_array_remove_index(m->params, i);
		found = true;
	}
	return found;
}

/**
 * Merge an answer into @m as Yate does: a non-empty name renames, the
 * return value is replaced, each parameter is set, a NULL value deletes.
 */
void ce_msg_apply(struct ce_msg *m, const struct ce_msg *answer)
{
	if (answer->name && *answer->name)
		ce_msg_set_name(m, answer->name);
	ce_msg_set_retval(m, answer->retval);
	m->processed = answer->processed;
	ce_msg_set_all(m, answer);
}

/** Set each parameter of @from in @m (a NULL value deletes); @from NULL: nothing. */
void ce_msg_set_all(struct ce_msg *m, const struct ce_msg *from)
{
	for (unsigned i = 0; from && i < from->params->len; i++) {
		const struct ce_param *p = ce_msg_param(from, i);

		ce_msg_set(m, p->name, p->value);
	}
}
