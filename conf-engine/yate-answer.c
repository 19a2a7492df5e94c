/* yate-answer.c - the answer to one of Yate's messages: only what the dispatch changed */
#define G_LOG_DOMAIN "ce-yate"

#include <string.h>

#include "message.h"
#include "protocol.h"
#include "yate-answer.h"

/*
 * Yate merges an answer into its message, so the answer carries only the
 * differences from the message as Yate sent it:
 *
 *   E: %%>message:0x7f.1:1795326762:call.execute::callto=conf/room1:id=tone/3
 *   A: %%<message:0x7f.1:false:::callto=dumb/:ce_room=room1
 *
 * The name field is empty unless a handler renamed the message; "k=v" is a
 * parameter added or changed, a bare "k" one that was removed.  The return
 * value is always written (Yate takes it as given).
 */

/* Parameters of a Yate message as it arrived: one allocation. */
struct ce_snapshot {
	const char *name;
	unsigned n;
	struct {
		const char *name, *value;
	} p[];
};

#define DIFF_INDEX_MIN 32 /* parameters from which the diff uses hash tables */

/**
 * Copy @m's name and parameters, as it arrived, into one block.  Returns
 * the snapshot; free it with ce_snapshot_free().
 */
struct ce_snapshot *ce_snapshot_new(const struct ce_msg *m)
{
	unsigned i, n = ce_msg_count(m);
	size_t size = sizeof(struct ce_snapshot) + n * sizeof(((struct ce_snapshot *)0)->p[0]);
	size_t text = strlen(m->name) + 1;
	struct ce_snapshot *s;
	char *t;

	for (i = 0; i < n; i++) {
		const struct ce_param *p = ce_msg_param(m, i);

		text += strlen(p->name) + strlen(p->value ? p->value : "") + 2;
	}
	s = g_malloc(size + text);
	t = (char *)s + size;
	s->n = n;
	s->name = t;
	t = stpcpy(t, m->name) + 1;
	for (i = 0; i < n; i++) {
		const struct ce_param *p = ce_msg_param(m, i);

		s->p[i].name = t;
		t = stpcpy(t, p->name) + 1;
		s->p[i].value = t;
		t = stpcpy(t, p->value ? p->value : "") + 1;
	}
	return s;
}

static GHashTable *index_snapshot(const struct ce_snapshot *s)
{
	GHashTable *h = g_hash_table_new(g_str_hash, g_str_equal);
	unsigned i;

	for (i = s->n; i-- > 0;) /* the first of duplicates wins */
		g_hash_table_insert(h, (char *)s->p[i].name, (char *)s->p[i].value);
	return h;
}

static GHashTable *index_msg(const struct ce_msg *m)
{
	GHashTable *h = g_hash_table_new(g_str_hash, g_str_equal);
	unsigned i;

	for (i = ce_msg_count(m); i-- > 0;)
		g_hash_table_insert(h, ce_msg_param(m, i)->name, ce_msg_param(m, i)->value);
	return h;
}

static const char *snapshot_get(const struct ce_snapshot *s, GHashTable *idx, const char *name)
{
	unsigned i;

	if (idx)
		return g_hash_table_lookup(idx, name);
	for (i = 0; i < s->n; i++) {
		if (!strcmp(s->p[i].name, name))
			return s->p[i].value;
	}
	return NULL;
}

static void append_param(GString *out, const char *name, const char *value)
{
	g_string_append_c(out, ':');
	ce_proto_escape(out, name, '=');
	if (value) {
		g_string_append_c(out, '=');
		ce_proto_escape(out, value, 0);
	}
}

/*
 * ":k=v" for each parameter the dispatch added or changed, ":k" for each it
 * removed.  Unchanged parameters at unchanged positions cost one compare.
 */
static void append_changes(GString *out, const struct ce_snapshot *s, const struct ce_msg *m)
{
	unsigned i, n = ce_msg_count(m);
	bool big = s->n >= DIFF_INDEX_MIN || n >= DIFF_INDEX_MIN;
	GHashTable *sidx = big ? index_snapshot(s) : NULL;
	GHashTable *midx = big ? index_msg(m) : NULL;

	for (i = 0; i < n; i++) {
		const struct ce_param *p = ce_msg_param(m, i);
		const char *old;

		if (i < s->n && !strcmp(s->p[i].name, p->name))
			old = s->p[i].value;
		else
			old = snapshot_get(s, sidx, p->name);
		if (!old || g_strcmp0(old, p->value))
			append_param(out, p->name, p->value ? p->value : "");
	}
	for (i = 0; i < s->n; i++) {
		if (i < n && !strcmp(ce_msg_param(m, i)->name, s->p[i].name))
			continue;
		if (midx ? !g_hash_table_contains(midx, s->p[i].name)
		         : !ce_msg_get(m, s->p[i].name))
			append_param(out, s->p[i].name, NULL);
	}
	if (sidx)
		g_hash_table_unref(sidx);
	if (midx)
		g_hash_table_unref(midx);
}

/** Release a snapshot; NULL is allowed. */
void ce_snapshot_free(struct ce_snapshot *s)
{
	g_free(s);
}

/**
 * Append to @out the answer line (no newline) for @m, which arrived as @s
 * and was dispatched with outcome @handled.
 */
void ce_answer_format(
        GString *out, const struct ce_snapshot *s, const struct ce_msg *m, bool handled)
{
	g_string_append(out, "%%<message:");
	ce_proto_escape(out, m->id, 0);
	g_string_append(out, handled ? ":true:" : ":false:");
	if (strcmp(m->name, s->name))
		ce_proto_escape(out, m->name, 0);
	g_string_append_c(out, ':');
	ce_proto_escape(out, m->retval, 0);
	append_changes(out, s, m);
}
