/* rex.h - Yate's regular expressions: libc regcomp()/regexec() with Yate's flags and captures */
#ifndef CE_REX_H
#define CE_REX_H

#include <stdbool.h>
#include <glib.h>

struct ce_rex;

/* Compile flags, as regexroute's [priorities] extended= and insensitive=. */
enum {
	CE_REX_EXTENDED = 1 << 0, /* REG_EXTENDED: POSIX ERE instead of basic */
	CE_REX_ICASE = 1 << 1,    /* REG_ICASE */
};

/* \0 (whole match) to \9 as Yate fills them; offsets are -1 for an empty one. */
#define CE_REX_NCAPS 10
struct ce_rex_caps {
	int so[CE_REX_NCAPS], eo[CE_REX_NCAPS];
};

/* Longest value matched; a longer one is refused (see rex.c). */
#define CE_REX_MAX_SUBJECT 1024

int ce_rex_new(struct ce_rex **rp, const char *pattern, unsigned flags, GError **err);
void ce_rex_free(struct ce_rex *r);
int ce_rex_match(const struct ce_rex *r, const char *subject, struct ce_rex_caps *caps);
const char *ce_rex_source(const struct ce_rex *r);

#endif
