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
unsigned ce_config_section_line(
        const struct ce_config *cfg, const char *section, const char **file);

#endif
