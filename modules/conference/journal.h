/* journal.h - the open-leg journal: who is in a room, kept on disk so that a crash loses nobody */
#ifndef CE_CONF_JOURNAL_H
#define CE_CONF_JOURNAL_H

#include <stdbool.h>
#include <glib.h>

struct ce_msg;
struct ce_journal;

/* What the journal counted since it was opened. */
struct ce_journal_stats {
	guint64 enters, leaves; /* lines written */
	guint64 failures;       /* lines that could not be written (full disk, I/O error) */
	unsigned open;          /* legs entered and not left */
};

int ce_journal_open(struct ce_journal **jp, const char *path, GPtrArray **legs, gint64 *last_alive,
        GError **err);
void ce_journal_free(struct ce_journal *j);
int ce_journal_enter(struct ce_journal *j, const struct ce_msg *leg);
int ce_journal_leave(struct ce_journal *j, const char *runid, const char *id);
void ce_journal_touch(struct ce_journal *j, gint64 now);
void ce_journal_stats(const struct ce_journal *j, struct ce_journal_stats *st);
const char *ce_journal_path(const struct ce_journal *j);

#endif
