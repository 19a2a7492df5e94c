/* config.h - Yate-style .conf files: [sections], key=value, ; comments */
#ifndef CE_CONFIG_H
#define CE_CONFIG_H

#include <stdbool.h>
#include <glib.h>

struct ce_config;

/* One key=value line, kept in file order (duplicates allowed). */
struct ce_config_entry {
	const char *key;
	const char *value;
	const char *file;
	unsigned line;
};

#define CE_CONFIG_ERROR ce_config_error_quark()
GQuark ce_config_error_quark(void);
enum ce_config_error_code {
	CE_CONFIG_ERROR_IO,
	CE_CONFIG_ERROR_SYNTAX,
	CE_CONFIG_ERROR_VALUE,
};

int ce_config_load(struct ce_config **cfgp, const char *path, GError **err);
int ce_config_parse(
        struct ce_config **cfgp, const char *text, gssize len, const char *filename, GError **err);
int ce_config_new_empty(struct ce_config **cfgp);
void ce_config_free(struct ce_config *cfg);

const char *ce_config_get(
        const struct ce_config *cfg, const char *section, const char *key, const char *def);
const struct ce_config_entry *ce_config_lookup(
        const struct ce_config *cfg, const char *section, const char *key);
bool ce_config_get_bool(
        const struct ce_config *cfg, const char *section, const char *key, bool def);
long ce_config_get_int(const struct ce_config *cfg, const char *section, const char *key, long def,
        long min, long max);
int ce_config_set(struct ce_config *cfg, const char *section, const char *key, const char *value);

unsigned ce_config_n_sections(const struct ce_config *cfg);
const char *ce_config_section_name(const struct ce_config *cfg, unsigned i);
bool ce_config_has_section(const struct ce_config *cfg, const char *section);
unsigned ce_config_n_entries(const struct ce_config *cfg, const char *section);
const struct ce_config_entry *ce_config_entry(
        const struct ce_config *cfg, const char *section, unsigned i);
const char *ce_config_path(const struct ce_config *cfg);
char *ce_config_get_path(
        const struct ce_config *cfg, const char *section, const char *key, const char *def);
char *ce_config_resolve_path(const struct ce_config *cfg, const char *value);
unsigned ce_config_section_line(
        const struct ce_config *cfg, const char *section, const char **file);

/* What a known key may hold (ce_config_review()).  An empty value is always
 * accepted: it means the key's default. */
enum ce_config_type {
	CE_CONFIG_STRING, /* anything (names, paths, prefixes) */
	CE_CONFIG_BOOL,   /* the words of ce_config_get_bool() */
	CE_CONFIG_INT,    /* decimal or 0x hexadecimal, within min..max */
	CE_CONFIG_CHOICE, /* one of the '|'-separated words of choices */
};

/*
 * One key of a section, as its owner reads it.  A name ending in '.' is a
 * family ("domain." stands for domain.NAME).  check, when set, vets a
 * non-empty value further: NULL when fine, else what is wrong with it.
 * A table ends with an entry whose name is NULL.
 */
struct ce_config_key {
	const char *name;
	enum ce_config_type type;
	long min, max;
	const char *choices;
	const char *(*check)(const char *value);
};

/* Table entries: CE_KEY_INT("rate", 8000, 48000), ..., CE_KEY_END. */
#define CE_KEY_STRING(n)                                                                           \
	{                                                                                          \
		.name = (n), .type = CE_CONFIG_STRING                                              \
	}
#define CE_KEY_BOOL(n)                                                                             \
	{                                                                                          \
		.name = (n), .type = CE_CONFIG_BOOL                                                \
	}
#define CE_KEY_INT(n, lo, hi)                                                                      \
	{                                                                                          \
		.name = (n), .type = CE_CONFIG_INT, .min = (lo), .max = (hi)                       \
	}
#define CE_KEY_CHOICE(n, words)                                                                    \
	{                                                                                          \
		.name = (n), .type = CE_CONFIG_CHOICE, .choices = (words)                          \
	}
#define CE_KEY_CHECK(n, fn)                                                                        \
	{                                                                                          \
		.name = (n), .type = CE_CONFIG_STRING, .check = (fn)                               \
	}
#define CE_KEY_END                                                                                 \
	{                                                                                          \
		.name = NULL                                                                       \
	}

/* The keys of one [section]. */
struct ce_config_section_keys {
	const char *section;
	const struct ce_config_key *keys;
};

/* What a review found, each message "FILE:LINE: what" (owned strings). */
struct ce_config_report {
	GPtrArray *errors;   /* the engine does not start */
	GPtrArray *warnings; /* it starts, ignoring what they name */
};

void ce_config_report_init(struct ce_config_report *rep);
void ce_config_report_clear(struct ce_config_report *rep);
void ce_config_report_add(struct ce_config_report *rep, bool error, const char *fmt, ...)
        G_GNUC_PRINTF(3, 4);
int ce_config_review(const struct ce_config *cfg, const struct ce_config_section_keys *known,
        unsigned n_known, struct ce_config_report *rep);

#endif
