/* recfile.h - files named from outside (record=, prompts) confined to the configured folders */
#ifndef CE_RECFILE_H
#define CE_RECFILE_H

#include <glib.h>

int ce_recfile_create(const char *root, const char *path, char **used, GError **error);
const char *ce_path_confined(const char *path, const char *const *roots, const char **why);
int ce_prompt_open(const char *path, const char *const *roots, GError **error);

#endif
