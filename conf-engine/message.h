/* message.h - reference-counted messages: a name, a return value, ordered parameters */
#ifndef CE_MESSAGE_H
#define CE_MESSAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

/*
 * One parameter.  Parameters keep the order in which they were added, as in
 * Yate.  A NULL value only appears in a parsed *answer* (%%<message), where
 * a parameter without '=' means "delete this parameter".
 */
struct ce_param {
	char *name;
	char *value;
};

/*
 * A message as it travels on the bus and on the wire.  Shared between
 * owners by reference counting (ce_msg_ref/ce_msg_unref); never freed
 * directly.
 */
struct ce_msg {
	gint refs;
	char *name;     /* message name, e.g. "call.execute" */
	char *id;       /* wire id (Yate's or ours), NULL until it has one */
	char *retval;   /* textual return value, never NULL ("" if none) */
	uint64_t time;  /* creation time, seconds since the epoch */
	bool processed; /* answers: whether a handler took it */
	GArray *params; /* of struct ce_param */
};

int ce_msg_new(struct ce_msg **mp, const char *name);
struct ce_msg *ce_msg_ref(struct ce_msg *m);
void ce_msg_unref(struct ce_msg *m);
int ce_msg_copy(struct ce_msg **mp, const struct ce_msg *src);

void ce_msg_set_name(struct ce_msg *m, const char *name);
void ce_msg_set_id(struct ce_msg *m, const char *id);
void ce_msg_set_retval(struct ce_msg *m, const char *retval);

unsigned ce_msg_count(const struct ce_msg *m);
const struct ce_param *ce_msg_param(const struct ce_msg *m, unsigned i);

const char *ce_msg_get(const struct ce_msg *m, const char *name);
const char *ce_msg_get_def(const struct ce_msg *m, const char *name, const char *def);
bool ce_msg_get_bool(const struct ce_msg *m, const char *name, bool def);
long ce_msg_get_int(const struct ce_msg *m, const char *name, long def, long min, long max);

void ce_msg_set(struct ce_msg *m, const char *name, const char *value);
void ce_msg_setf(struct ce_msg *m, const char *name, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
void ce_msg_add(struct ce_msg *m, const char *name, const char *value);
bool ce_msg_remove(struct ce_msg *m, const char *name);
void ce_msg_apply(struct ce_msg *m, const struct ce_msg *answer);
void ce_msg_set_all(struct ce_msg *m, const struct ce_msg *from);

int ce_bool_word(const char *s);
bool ce_parse_bool(const char *s, bool def);

#endif
