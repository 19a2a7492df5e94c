/* rex.h - Yate's POSIX regular expressions, translated to GRegex, with bounded matching */
#ifndef CE_REX_H
#define CE_REX_H

#include <stdbool.h>
#include <glib.h>

struct ce_rex;

/* Compile flags, as regexroute's [priorities] extended= and insensitive=. */
enum {
	CE_REX_EXTENDED = 1 << 0, /* POSIX ERE instead of GNU BRE */
	CE_REX_ICASE = 1 << 1,
};

/* \0 (whole match) to \9; offsets are -1 for a group that took no part. */
#define CE_REX_NCAPS 10
struct ce_rex_caps {
	int so[CE_REX_NCAPS], eo[CE_REX_NCAPS];
};

/* Backtracking steps allowed per match: a hostile pattern fails, never hangs. */
#define CE_REX_MATCH_LIMIT 10000

int ce_rex_translate(const char *posix, unsigned flags, GString *out, GError **err);
int ce_rex_new(struct ce_rex **rp, const char *posix, unsigned flags, GError **err);
void ce_rex_free(struct ce_rex *r);
int ce_rex_match(const struct ce_rex *r, const char *subject, struct ce_rex_caps *caps);
const char *ce_rex_source(const struct ce_rex *r);

#endif
