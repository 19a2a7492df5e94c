/* yate-answer.h - core-private: the answer to one of Yate's messages, as a diff (yate.c only) */
#ifndef CE_YATE_ANSWER_H
#define CE_YATE_ANSWER_H

#include <stdbool.h>
#include <glib.h>

struct ce_msg;
struct ce_snapshot;

struct ce_snapshot *ce_snapshot_new(const struct ce_msg *m);
void ce_snapshot_free(struct ce_snapshot *s);
void ce_answer_format(
        GString *out, const struct ce_snapshot *s, const struct ce_msg *m, bool handled);

#endif
