/* prompt-set.c - the prompt set: one folder of prompts per language, and numbers and times told
 * as lists of prompt names
 *
 * prompts_dir holds a folder per language (en/, de/, ...) with the files
 * conf/prompts/prompts.txt names (docs/prompts.md).  A bare prompt name
 * (lonely.wav) is looked up in the caller's language, then the default
 * language ([conference] lang), then English (the complete set that ships),
 * and last directly in prompts_dir, where the files lay before there were
 * languages and where an operator's own folder may keep them.  Which
 * files each language has is read once, when the set is made at start:
 * the main loop never waits for the disk, so a file added to a language
 * later is played once the engine restarts (a file replaced in place is
 * played at once).
 *
 * Numbers and times are told in English word order from a few pieces:
 * 723 is 7 hundred 20 3, 10:30 is 10 30 am, 14:05 is 2 oh 5 pm.
 */
#define G_LOG_DOMAIN "conference"

#include <errno.h>
#include <string.h>

#include "prompt-set.h"

struct ce_prompt_set {
	char *dir;         /* prompts_dir */
	char *lang;        /* the default language */
	GHashTable *files; /* "LANG/NAME" of every file found in a language folder */
	GHashTable *langs; /* the language folders found */
};

/**
 * Whether @lang may name a language folder: 1 to CE_PROMPT_LANG_MAX
 * letters, digits, '-' and '_', starting with a letter (en, pt-BR, de_CH),
 * so that it can never leave prompts_dir.
 */
bool ce_prompt_lang_valid(const char *lang)
{
	size_t n = lang ? strlen(lang) : 0;

	if (!n || n > CE_PROMPT_LANG_MAX || !g_ascii_isalpha(lang[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_isalnum(lang[i]) && lang[i] != '-' && lang[i] != '_')
			return false;
	return true;
}

/* Add the files of the language folder @lang of @ps->dir to the index. */
static void index_lang(struct ce_prompt_set *ps, const char *lang)
{
	char *path = g_build_filename(ps->dir, lang, NULL);
	GDir *d = g_dir_open(path, 0, NULL);
	const char *name;

	while (d && (name = g_dir_read_name(d)))
		g_hash_table_add(ps->files, g_strconcat(lang, "/", name, NULL));
	if (d) {
		g_hash_table_add(ps->langs, g_strdup(lang));
		g_dir_close(d);
	}
	g_free(path);
}

/**
 * Make the prompt set of the folder @dir (absolute) with the default
 * language @lang (valid: ce_prompt_lang_valid), reading which files each
 * language folder of @dir holds (it touches the disk: call it at start).
 * A missing or unreadable @dir gives a set without languages.  Returns 0
 * or -EINVAL (a bad language); free *@psp with ce_prompt_set_free().
 */
int ce_prompt_set_new(struct ce_prompt_set **psp, const char *dir, const char *lang)
{
	struct ce_prompt_set *ps;
	GDir *d;
	const char *name;

	*psp = NULL;
	if (!dir || !ce_prompt_lang_valid(lang))
		return -EINVAL;
	ps = g_new0(struct ce_prompt_set, 1);
	ps->dir = g_strdup(dir);
	ps->lang = g_strdup(lang);
	ps->files = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	ps->langs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	d = g_dir_open(dir, 0, NULL);
	while (d && (name = g_dir_read_name(d)))
		if (ce_prompt_lang_valid(name))
			index_lang(ps, name);
	if (d)
		g_dir_close(d);
	*psp = ps;
	return 0;
}

/** Free @ps (may be NULL). */
void ce_prompt_set_free(struct ce_prompt_set *ps)
{
	if (!ps)
		return;
	g_hash_table_destroy(ps->files);
	g_hash_table_destroy(ps->langs);
	g_free(ps->dir);
	g_free(ps->lang);
	g_free(ps);
}

/** The default language of @ps. */
const char *ce_prompt_set_lang(const struct ce_prompt_set *ps)
{
	return ps->lang;
}

/** Whether prompts_dir had a folder for @lang when @ps was made. */
bool ce_prompt_set_has_lang(const struct ce_prompt_set *ps, const char *lang)
{
	return lang && g_hash_table_contains(ps->langs, lang);
}

/* @name in the folder of @lang if that folder had it at start, else NULL. */
static char *in_lang(const struct ce_prompt_set *ps, const char *name, const char *lang)
{
	char *key;
	bool found;

	if (!ce_prompt_lang_valid(lang))
		return NULL;
	key = g_strconcat(lang, "/", name, NULL);
	found = g_hash_table_contains(ps->files, key);
	g_free(key);
	return found ? g_build_filename(ps->dir, lang, name, NULL) : NULL;
}

/**
 * The file of the relative prompt name @name in language @lang (NULL or
 * invalid: the default), newly allocated: for a bare name (no '/') the
 * first of @lang, the default language and CE_PROMPT_BASE_LANG whose
 * folder has it, else (and for a name with a '/': 2024/news.wav) @name
 * under prompts_dir.  The result names a file under prompts_dir only when
 * @name has no ".." (the caller confines it: ce_path_confined).
 */
char *ce_prompt_set_path(const struct ce_prompt_set *ps, const char *name, const char *lang)
{
	const char *order[] = {lang, ps->lang, CE_PROMPT_BASE_LANG};
	char *path = NULL;

	for (size_t i = 0; !strchr(name, '/') && !path && i < G_N_ELEMENTS(order); i++)
		path = in_lang(ps, name, order[i]);
	return path ? path : g_build_filename(ps->dir, name, NULL);
}

/* ---- numbers and times as prompt names ---- */

static void say(GPtrArray *names, int n)
{
	g_ptr_array_add(names, g_strdup_printf("%d.wav", n));
}

static void say_word(GPtrArray *names, const char *word)
{
	g_ptr_array_add(names, g_strconcat(word, ".wav", NULL));
}

/**
 * Append to @names (of g_free'd strings) the prompt names that say @n,
 * 0..999: 0..19 and the tens have a prompt each, 723 is 7 hundred 20 3.
 * Returns 0 or -ERANGE (nothing appended).
 */
int ce_say_number(GPtrArray *names, int n)
{
	if (n < 0 || n > 999)
		return -ERANGE;
	if (n >= 100) {
		say(names, n / 100);
		say_word(names, "hundred");
		n %= 100;
		if (!n)
			return 0;
	}
	if (n < 20) {
		say(names, n);
	} else {
		say(names, n - n % 10);
		if (n % 10)
			say(names, n % 10);
	}
	return 0;
}

/**
 * Append to @names the prompt names that say the time of day @hour:@minute
 * (0..23, 0..59) on a 12-hour clock: midnight, noon, 10 oclock am,
 * 2 oh 5 pm, 10 30 am.  Returns 0 or -ERANGE (nothing appended).
 */
int ce_say_time(GPtrArray *names, int hour, int minute)
{
	if (hour < 0 || hour > 23 || minute < 0 || minute > 59)
		return -ERANGE;
	if (!minute && (hour == 0 || hour == 12)) {
		say_word(names, hour ? "noon" : "midnight");
		return 0;
	}
	ce_say_number(names, hour % 12 ? hour % 12 : 12);
	if (!minute) {
		say_word(names, "oclock");
	} else {
		if (minute < 10)
			say_word(names, "oh");
		ce_say_number(names, minute);
	}
	say_word(names, hour < 12 ? "am" : "pm");
	return 0;
}

/* N and the singular or plural word after it. */
static int say_counted(GPtrArray *names, int n, const char *one, const char *many)
{
	int err = ce_say_number(names, n);

	if (!err)
		say_word(names, n == 1 ? one : many);
	return err;
}

/**
 * Append "there is 1 participant" or "there are N participants" (0..999).
 * Returns 0 or -ERANGE (nothing appended).
 */
int ce_say_participants(GPtrArray *names, int n)
{
	if (n < 0 || n > 999)
		return -ERANGE;
	say_word(names, n == 1 ? "there-is" : "there-are");
	return say_counted(names, n, "participant", "participants");
}

/** Append "N minutes" or "1 minute" (0..999); 0 or -ERANGE (nothing appended). */
int ce_say_minutes(GPtrArray *names, int n)
{
	return say_counted(names, n, "minute", "minutes");
}

/**
 * Append the name of the keypad key @key ('0'..'9', '*', '#'), for the
 * help's "press KEY to ...".  Returns 0 or -EINVAL (nothing appended).
 */
int ce_say_key(GPtrArray *names, char key)
{
	if (key >= '0' && key <= '9')
		say(names, key - '0');
	else if (key == '*' || key == '#')
		say_word(names, key == '*' ? "star" : "hash");
	else
		return -EINVAL;
	return 0;
}
