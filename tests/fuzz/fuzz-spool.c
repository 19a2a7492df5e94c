/* fuzz-spool.c - libFuzzer target: any bytes as a store spool file or a spooled record */
/*
 * The spool is read back after a crash or from another version, so its
 * file is outside input.  The first byte of the input picks what the rest
 * is:
 *
 *   0  one record payload (a serialized GVariant) for ce_rec_deserialize()
 *   1  a whole spool.dat, as it is
 *   2  a whole spool.dat whose record CRCs are made right first, so that
 *      mutated payloads get past the CRC to the decoder
 *
 * A spool is opened as the store opens it (a corrupt tail is cut off, a
 * file that is not a spool refused), then drained: every record peeked,
 * decoded and consumed.  A record that decodes must survive a round trip
 * (serialize, decode, serialize: the same bytes).  After open, peeking
 * must never fail, and a reopened drained spool holds nothing.
 */
#define G_LOG_DOMAIN "fuzz-spool"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "modules/store/store-db.h"
#include "tests/fuzz/fuzz.h"

#ifdef CE_FUZZ_STANDALONE
/* The libFuzzer build links the spool's files only, not store.c (and all it needs). */
GQuark ce_store_error_quark(void)
{
	return g_quark_from_static_string("ce-store-error-quark");
}
#endif

#define SPOOL_HDR 8 /* "CESPOOL1", see spool.c */

static char *dir, *dat_path, *pos_path, *lock_path;

static GLogWriterOutput quiet(GLogLevelFlags level, const GLogField *fields, gsize n, gpointer data)
{
	(void)level;
	(void)fields;
	(void)n;
	(void)data;
	return G_LOG_WRITER_HANDLED;
}

static void cleanup(void)
{
	g_remove(dat_path);
	g_remove(pos_path);
	g_remove(lock_path);
	g_rmdir(dir);
}

/*
 * Once per process: a spool directory, in shared memory when there is some
 * (the spool fsyncs), and the spool's warnings about torn tails silenced.
 * Criticals stay fatal: a failed GLib precondition is a bug.
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	g_log_set_writer_func(quiet, NULL, NULL);
	g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL);
	dir = ce_fuzz_workdir("spool");
	dat_path = g_build_filename(dir, "spool.dat", NULL);
	pos_path = g_build_filename(dir, "spool.pos", NULL);
	lock_path = g_build_filename(dir, "spool.lock", NULL);
	atexit(cleanup);
	return 0;
}

/* The CRC-32 the spool uses (IEEE, reflected), bit by bit: inputs are small. */
static guint32 crc32_of(const guint8 *p, gsize n)
{
	guint32 c = 0xffffffffu;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
	}
	return c ^ 0xffffffffu;
}

/* Walk the records of a spool file and set each CRC to match its payload. */
static void fix_crcs(guint8 *p, gsize size)
{
	gsize off = SPOOL_HDR;

	while (off + 8 <= size) {
		guint32 len, crc;

		memcpy(&len, p + off, 4);
		len = GUINT32_FROM_LE(len);
		if (len > size - off - 8)
			break;
		crc = GUINT32_TO_LE(crc32_of(p + off + 8, len));
		memcpy(p + off + 4, &crc, 4);
		off += 8 + (gsize)len;
	}
}

/* Decode one payload; what decodes must round-trip to the same bytes. */
static void decode(GBytes *payload)
{
	struct ce_rec *r = NULL, *again = NULL;
	GBytes *b1, *b2;

	if (ce_rec_deserialize(&r, payload) < 0) {
		CHECK(r == NULL);
		return;
	}
	CHECK(r && r->type >= CE_REC_EVENT && r->type <= CE_REC_LINE);
	b1 = ce_rec_serialize(r);
	CHECK(ce_rec_deserialize(&again, b1) == 0);
	b2 = ce_rec_serialize(again);
	CHECK(g_bytes_equal(b1, b2));
	g_bytes_unref(b2);
	g_bytes_unref(b1);
	ce_rec_free(again);
	ce_rec_free(r);
}

/* Open the spool in dir, decode and consume all it holds. */
static void drain(void)
{
	struct ce_spool *sp = NULL;
	GError *err = NULL;
	int n;

	if (ce_spool_open(&sp, dir, &err) < 0) {
		CHECK(!sp && err && err->message[0]);
		g_error_free(err);
		return;
	}
	do {
		GPtrArray *recs = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
		guint64 next = 0, before = ce_spool_pending(sp);

		n = ce_spool_peek(sp, 16, recs, &next, &err);
		CHECK(n >= 0 && !err && (guint)n == recs->len);
		for (guint i = 0; i < recs->len; i++)
			decode(g_ptr_array_index(recs, i));
		if (n > 0) {
			CHECK(ce_spool_consume(sp, next, (guint)n, &err) == 0);
			CHECK(ce_spool_pending(sp) == before - MIN(before, (guint64)n));
		}
		g_ptr_array_unref(recs);
	} while (n > 0);
	CHECK(ce_spool_pending(sp) == 0);
	ce_spool_close(sp);
	CHECK(ce_spool_open(&sp, dir, &err) == 0 && ce_spool_pending(sp) == 0);
	ce_spool_close(sp);
}

/** libFuzzer entry point; also called by test-fuzz-spool on the corpus. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	guint8 *copy;
	GBytes *b;

	if (!dir)
		LLVMFuzzerInitialize(NULL, NULL);
	if (size == 0)
		return 0;
	/* An exact-size copy, so that ASan sees any read past the input. */
	copy = g_memdup2(data + 1, size - 1);
	switch (data[0] % 3) {
	case 0:
		b = g_bytes_new_take(g_steal_pointer(&copy), size - 1);
		decode(b);
		g_bytes_unref(b);
		break;
	case 2:
		fix_crcs(copy, size - 1);
		/* fall through */
	case 1:
		g_remove(pos_path);
		CHECK(g_file_set_contents(dat_path, (const char *)copy, (gssize)size - 1, NULL));
		drain();
		break;
	}
	g_free(copy);
	return 0;
}
