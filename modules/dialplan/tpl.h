/* tpl.h - dialplan templates: \0-\9 captures, ${param} and ${param$default}, $() and $($) */
#ifndef CE_TPL_H
#define CE_TPL_H

#include <stdbool.h>
#include <glib.h>

struct ce_tpl;
struct ce_msg;
struct ce_rex_caps;

int ce_tpl_new(struct ce_tpl **tp, const char *text, GError **err);
void ce_tpl_free(struct ce_tpl *t);
bool ce_tpl_is_plain(const struct ce_tpl *t);
const char *ce_tpl_source(const struct ce_tpl *t);
void ce_tpl_expand(const struct ce_tpl *t, const struct ce_msg *msg, const char *subject,
        const struct ce_rex_caps *caps, GString *out);

#endif
