/* fuzz.h - what every fuzz target shares: libFuzzer's entry points and the invariant check */
#ifndef CE_FUZZ_H
#define CE_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <glib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An invariant of the code under test: abort (a crash libFuzzer keeps) when it fails. */
#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,       \
			        #cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/*
 * A fresh private folder "ce-fuzz-NAME-XXXXXX" for a target's files: in
 * /dev/shm when it is writable (millions of runs rewrite them), else in the
 * temporary folder.  The caller owns it (g_free).
 */
static inline char *ce_fuzz_workdir(const char *name)
{
	const char *shm = "/dev/shm";
	char *leaf = g_strdup_printf("ce-fuzz-%s-XXXXXX", name);
	char *dir = g_build_filename(
	        g_file_test(shm, G_FILE_TEST_IS_DIR) && !access(shm, W_OK) ? shm : g_get_tmp_dir(),
	        leaf, NULL);

	g_free(leaf);
	CHECK(g_mkdtemp(dir));
	return dir;
}

#endif
