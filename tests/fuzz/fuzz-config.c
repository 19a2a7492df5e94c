/* fuzz-config.c - libFuzzer target: any bytes as a .conf file -> load, look up, review keys */
/*
 * The input is written to main.conf in a private directory that also holds
 * a few files to include (a.conf, sub/, self.conf including itself), then
 * loaded with ce_config_load() as the engine loads its configuration.
 * Whatever loads is walked: every entry is looked up, read through the
 * typed getters, and the whole file is reviewed against a key table of
 * every kind.  A failed load must say why; a loaded file must answer its
 * own lookups consistently.  Inputs that include by absolute path or
 * through ".." are skipped: they would read the machine's files (or block
 * on /dev/stdin), which says nothing about the parser.
 */
#define G_LOG_DOMAIN "fuzz-config"
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "config.h"
#include "tests/fuzz/fuzz.h"

static char *dir;       /* the private directory */
static char *conf_path; /* dir/main.conf, the input */

static const char *no_x(const char *v)
{
	return strchr(v, 'x') ? "must not hold an x" : NULL;
}

static const struct ce_config_key general_keys[] = {
        CE_KEY_STRING("node"),
        CE_KEY_BOOL("flag"),
        CE_KEY_INT("rate", 8000, 48000),
        CE_KEY_INT("n", -5, 5),
        CE_KEY_CHOICE("mode", "one|two|three"),
        CE_KEY_CHECK("checked", no_x),
        CE_KEY_STRING("domain."),
        CE_KEY_END,
};

static const struct ce_config_key a_keys[] = {
        CE_KEY_INT("x", 0, 100),
        CE_KEY_END,
};

static const struct ce_config_section_keys known[] = {
        {"general", general_keys},
        {"a", a_keys},
};

static GLogWriterOutput quiet(GLogLevelFlags level, const GLogField *fields, gsize n, gpointer data)
{
	(void)level;
	(void)fields;
	(void)n;
	(void)data;
	return G_LOG_WRITER_HANDLED;
}

static void put(const char *name, const char *text)
{
	char *path = g_build_filename(dir, name, NULL);

	CHECK(g_file_set_contents(path, text, -1, NULL));
	g_free(path);
}

/* The fixtures go when the process ends (a crash leaves them: find them in the log). */
static void cleanup(void)
{
	static const char *const names[] = {"main.conf", "a.conf", "self.conf", "again.conf",
	        "sub/b.conf", "sub/c.conf", "sub/.hidden", "sub"};
	unsigned i;

	for (i = 0; i < G_N_ELEMENTS(names); i++) {
		char *path = g_build_filename(dir, names[i], NULL);

		g_remove(path);
		g_free(path);
	}
	g_rmdir(dir);
}

/*
 * Once per process: the include fixtures, in shared memory when there is
 * some (each input is a file write), and the configuration's warnings
 * silenced (a bad value warns on every run).  Criticals stay fatal: they
 * mean a GLib precondition failed, which is a bug.
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *sub;

	(void)argc;
	(void)argv;
	g_log_set_writer_func(quiet, NULL, NULL);
	g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL);
	dir = ce_fuzz_workdir("config");
	conf_path = g_build_filename(dir, "main.conf", NULL);
	put("a.conf", "[a]\nx = 7\nx = 8\n");
	put("self.conf", "[$include self.conf]\n");
	put("again.conf", "[$include main.conf]\n");
	sub = g_build_filename(dir, "sub", NULL);
	CHECK(g_mkdir(sub, 0700) == 0);
	g_free(sub);
	put("sub/b.conf", "k = before any header\n[b]\ny = long \\\n  value\n");
	put("sub/c.conf", "[general]\nrate = 9x\n[$includesilent missing.conf]\n");
	put("sub/.hidden", "not = read\n");
	atexit(cleanup);
	return 0;
}

/* An include by absolute path or through "..": reads outside the fixtures. */
static bool escapes(const char *p, const char *end)
{
	if (memmem(p, end - p, "..", 2))
		return true;
	while ((p = memchr(p, '$', end - p))) {
		for (p++; p < end && g_ascii_isalpha(*p); p++)
			;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p < end && *p == '/')
			return true;
	}
	return false;
}

/* What every loaded configuration must say about itself. */
static void walk(const struct ce_config *cfg)
{
	struct ce_config_report rep;
	unsigned i, k, n = ce_config_n_sections(cfg);

	for (i = 0; i < n; i++) {
		const char *s = ce_config_section_name(cfg, i), *file = NULL;

		CHECK(s && *s && ce_config_has_section(cfg, s));
		CHECK(ce_config_section_line(cfg, s, &file) > 0 && file);
		for (k = 0; k < ce_config_n_entries(cfg, s); k++) {
			const struct ce_config_entry *e = ce_config_entry(cfg, s, k);
			const struct ce_config_entry *first = ce_config_lookup(cfg, s, e->key);

			CHECK(e->key && *e->key && e->value && e->file && e->line > 0);
			CHECK(first && !strcmp(first->key, e->key) && first->line > 0);
			CHECK(ce_config_get(cfg, s, e->key, NULL) == first->value);
			ce_config_get_bool(cfg, s, e->key, false);
			CHECK(ce_config_get_int(cfg, s, e->key, 3, -10, 10) >= -10);
		}
		CHECK(ce_config_entry(cfg, s, k) == NULL);
	}
	CHECK(ce_config_section_name(cfg, n) == NULL);
	ce_config_report_init(&rep);
	CHECK(ce_config_review(cfg, known, G_N_ELEMENTS(known), &rep) <= 0);
	for (i = 0; i < rep.errors->len; i++)
		CHECK(strchr(g_ptr_array_index(rep.errors, i), ':'));
	for (i = 0; i < rep.warnings->len; i++)
		CHECK(strchr(g_ptr_array_index(rep.warnings, i), ':'));
	ce_config_report_clear(&rep);
}

/** libFuzzer entry point; also called by test-fuzz-config on the corpus. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ce_config *cfg = NULL;
	GError *err = NULL;

	if (!dir)
		LLVMFuzzerInitialize(NULL, NULL);
	if (escapes((const char *)data, (const char *)data + size))
		return 0;
	CHECK(g_file_set_contents(conf_path, (const char *)data, (gssize)size, NULL));
	if (ce_config_load(&cfg, conf_path, &err) < 0) {
		CHECK(!cfg && err && err->domain == CE_CONFIG_ERROR && err->message[0]);
		g_clear_error(&err);
		return 0;
	}
	CHECK(cfg && !err && !strcmp(ce_config_path(cfg), conf_path));
	walk(cfg);
	ce_config_free(cfg);
	return 0;
}
