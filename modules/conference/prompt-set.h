/* prompt-set.h - the prompt set: one folder of prompts per language, and numbers and times told
 * as lists of prompt names */
#ifndef CE_CONF_PROMPT_SET_H
#define CE_CONF_PROMPT_SET_H

#include <stdbool.h>
#include <glib.h>

/* The language of the shipped prompts, the last one a name falls back to. */
#define CE_PROMPT_BASE_LANG "en"
#define CE_PROMPT_LANG_MAX  16

struct ce_prompt_set;

bool ce_prompt_lang_valid(const char *lang);
int ce_prompt_set_new(struct ce_prompt_set **psp, const char *dir, const char *lang);
void ce_prompt_set_free(struct ce_prompt_set *ps);
const char *ce_prompt_set_lang(const struct ce_prompt_set *ps);
bool ce_prompt_set_has_lang(const struct ce_prompt_set *ps, const char *lang);
char *ce_prompt_set_path(const struct ce_prompt_set *ps, const char *name, const char *lang);

int ce_say_number(GPtrArray *names, int n);
int ce_say_time(GPtrArray *names, int hour, int minute);
int ce_say_participants(GPtrArray *names, int n);
int ce_say_minutes(GPtrArray *names, int n);
int ce_say_key(GPtrArray *names, char key);

#endif
