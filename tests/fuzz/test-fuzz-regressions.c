/* test-fuzz-regressions.c - replays a fuzz target's corpus and every crash input it ever found */
/*
 * Built with the normal compiler (and the sanitizers of the build), once
 * per fuzz target (CE_FUZZ_TARGET names it; "protocol" by default), this
 * runs each file of tests/fuzz/corpus/TARGET and tests/fuzz/regressions/TARGET
 * through the same LLVMFuzzerTestOneInput that libFuzzer drives; a broken
 * invariant aborts the test.  No clang is needed, so every build, the
 * sanitizer build included, replays them.
 */
#define G_LOG_DOMAIN "test-fuzz"

#include <stdint.h>
#include <string.h>
#include <glib.h>

#ifndef CE_FUZZ_TARGET
#define CE_FUZZ_TARGET "protocol"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional, as for libFuzzer: a target that needs set-up defines it. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static void run_file(gconstpointer data)
{
	const char *path = data;
	GError *err = NULL;
	char *buf = NULL;
	gsize len = 0;

	g_file_get_contents(path, &buf, &len, &err);
	g_assert_no_error(err);
	LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
	g_free(buf);
}

static gint by_name(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *src_dir(void)
{
	const char *src = g_getenv("CE_SRCDIR");

	if (src && *src)
		return g_strdup(src);
#ifdef CE_SRCDIR
	return g_strdup(CE_SRCDIR);
#else
	char *dir = g_path_get_dirname(__FILE__), *top = g_build_filename(dir, "..", "..", NULL);

	g_free(dir);
	return top;
#endif
}

/* Add one test per file of @sub (sorted, so that the TAP numbers are stable). */
static unsigned add_dir(GPtrArray *keep, const char *top, const char *sub)
{
	char *dir = g_build_filename(top, "tests", "fuzz", sub, CE_FUZZ_TARGET, NULL);
	GDir *d = g_dir_open(dir, 0, NULL);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	const char *name;
	unsigned i;

	while (d && (name = g_dir_read_name(d))) {
		if (name[0] != '.')
			g_ptr_array_add(names, g_strdup(name));
	}
	g_ptr_array_sort(names, by_name);
	for (i = 0; i < names->len; i++) {
		char *path = g_build_filename(dir, g_ptr_array_index(names, i), NULL);
		char *test = g_strdup_printf(
		        "/fuzz/" CE_FUZZ_TARGET "/%s/%s", sub, (char *)g_ptr_array_index(names, i));

		g_ptr_array_add(keep, path);
		g_ptr_array_add(keep, test);
		g_test_add_data_func(test, path, run_file);
	}
	if (d)
		g_dir_close(d);
	g_ptr_array_unref(names);
	g_free(dir);
	return i;
}

int main(int argc, char **argv)
{
	GPtrArray *keep = g_ptr_array_new_with_free_func(g_free);
	char *top = src_dir();
	int r;

	g_test_init(&argc, &argv, NULL);
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	if (add_dir(keep, top, "corpus") == 0)
		g_error("no corpus found under %s/tests/fuzz/corpus/" CE_FUZZ_TARGET, top);
	add_dir(keep, top, "regressions");
	r = g_test_run();
	g_ptr_array_unref(keep);
	g_free(top);
	return r;
}
