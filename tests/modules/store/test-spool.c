/* test-spool.c - the durable spool and the record encoding, without a database */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "modules/store/store-db.h"

static char *tmpdir(void)
{
	char *d = g_dir_make_tmp("ce-spool-XXXXXX", NULL);

	g_assert_nonnull(d);
	return d;
}

static void rm_dir(char *d)
{
	const char *names[] = {"spool.dat", "spool.pos", "spool.lock", "rejected.txt"};

	for (unsigned i = 0; i < G_N_ELEMENTS(names); i++) {
		char *p = g_build_filename(d, names[i], NULL);
		g_unlink(p);
		g_free(p);
	}
	g_rmdir(d);
	g_free(d);
}

static GBytes *rec(unsigned i)
{
	return g_bytes_new_take(
	        g_strdup_printf("record %u", i), strlen("record ") + (i > 9 ? 2 : 1));
}

static void append(struct ce_spool *sp, unsigned from, unsigned n)
{
	GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);

	for (unsigned i = from; i < from + n; i++)
		g_ptr_array_add(a, rec(i));
	g_assert_cmpint(ce_spool_append(sp, (GBytes *const *)a->pdata, a->len, NULL), ==, 0);
	g_ptr_array_unref(a);
}

/* Peeks everything and checks it is records @from.. in order; returns the count. */
static guint check(struct ce_spool *sp, unsigned from, guint64 *next)
{
	GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	int n = ce_spool_peek(sp, 1000, a, next, NULL);

	g_assert_cmpint(n, >=, 0);
	for (guint i = 0; i < a->len; i++) {
		GBytes *want = rec(from + i);
		g_assert_true(g_bytes_equal(want, g_ptr_array_index(a, i)));
		g_bytes_unref(want);
	}
	g_ptr_array_unref(a);
	return (guint)n;
}

static void test_order_and_reopen(void)
{
	char *d = tmpdir();
	struct ce_spool *sp;
	guint64 next;

	g_assert_cmpint(ce_spool_open(&sp, d, NULL), ==, 0);
	append(sp, 0, 3);
	append(sp, 3, 2);
	g_assert_cmpuint(ce_spool_pending(sp), ==, 5);
	g_assert_cmpuint(check(sp, 0, &next), ==, 5);
	ce_spool_close(sp);
	g_assert_cmpint(ce_spool_open(&sp, d, NULL), ==, 0);
	g_assert_cmpuint(ce_spool_pending(sp), ==, 5);
	{
		GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
		g_assert_cmpint(ce_spool_peek(sp, 2, a, &next, NULL), ==, 2);
		g_assert_cmpint(ce_spool_consume(sp, next, 2, NULL), ==, 0);
		g_ptr_array_unref(a);
	}
	ce_spool_close(sp);
	g_assert_cmpint(ce_spool_open(&sp, d, NULL), ==, 0);
	g_assert_cmpuint(ce_spool_pending(sp), ==, 3);
	g_assert_cmpuint(check(sp, 2, &next), ==, 3);
	g_assert_cmpint(ce_spool_consume(sp, next, 3, NULL), ==, 0);
	g_assert_cmpuint(ce_spool_pending(sp), ==, 0);
	ce_spool_close(sp);
	{
		char *p = g_build_filename(d, "spool.dat", NULL);
		GStatBuf s;
		g_assert_cmpint(g_stat(p, &s), ==, 0);
		g_assert_cmpint(s.st_size, ==, 8);
		g_free(p);
	}
	rm_dir(d);
}

static void damage(const char *d, off_t at, const char *bytes, gsize n, bool truncate_after)
{
	char *p = g_build_filename(d, "spool.dat", NULL);
	int fd = open(p, O_RDWR);

	g_assert_cmpint(fd, >=, 0);
	if (at < 0)
		at = lseek(fd, 0, SEEK_END) + at;
	g_assert_cmpint(pwrite(fd, bytes, n, at), ==, (ssize_t)n);
	if (truncate_after)
		g_assert_cmpint(ftruncate(fd, at + (off_t)n), ==, 0);
	close(fd);
	g_free(p);
}

static void test_torn_tail(void)
{
	char *d = tmpdir();
	struct ce_spool *sp;
	guint64 next;

	g_assert_cmpint(ce_spool_open(&sp, d, NULL), ==, 0);
	append(sp, 0, 4);
	ce_spool_close(sp);
	/* a crash in the middle of the last write: half a header */
	damage(d, -3, "\x40\x00", 2, true);
	g_test_expect_message("store", G_LOG_LEVEL_WARNING, "*torn or corrupt tail*");
	g_assert_cmpint(ce_spool_open(&sp, d, NULL), ==, 0);
	g_test_assert_expected_messages();
	g_assert_cmpuint(ce_spool_pending(sp), ==, 3);
	g_assert_cmpuint(check(sp, 0, &next), ==, 3);
	/* appending goes on cleanly after the cut */
	append(sp, 3, 1);
	g_assert_cmpuint(check(sp, 0, &next), ==, 4);
	ce_spool_close(sp);
	/* a flipped byte in the second record: it and what follows are cut */
	damage(d, 8 + 8 + 8 + 8 + 2, "X", 1, false);
	g_test_expect_message("store", G_LOG_LEVEL_WARNING, "*torn or corrupt tail*");
	g_assert_cmpint(ce_spool_open(&sp, d, NULL), ==, 0);
	g_test_assert_expected_messages();
	g_assert_cmpuint(ce_spool_pending(sp), ==, 1);
	ce_spool_close(sp);
	rm_dir(d);
}

static void test_lock_and_foreign_file(void)
{
	char *d = tmpdir();
	struct ce_spool *sp, *sp2 = NULL;
	GError *err = NULL;

	g_assert_cmpint(ce_spool_open(&sp, d, NULL), ==, 0);
	g_assert_cmpint(ce_spool_open(&sp2, d, &err), ==, -EBUSY);
	g_assert_error(err, CE_STORE_ERROR, CE_STORE_ERROR_SPOOL);
	g_assert_nonnull(strstr(err->message, "another engine"));
	g_assert_null(sp2);
	g_clear_error(&err);
	ce_spool_close(sp);
	damage(d, 0, "NOTSPOOL", 8, false);
	g_assert_cmpint(ce_spool_open(&sp, d, &err), ==, -EINVAL);
	g_assert_error(err, CE_STORE_ERROR, CE_STORE_ERROR_SPOOL);
	g_clear_error(&err);
	rm_dir(d);
}

static void test_codec(void)
{
	struct ce_event ev = {.uuid = "u-1",
	        .kind = CE_EVENT_TALK_STOP,
	        .at = -5,
	        .room = "r'\"\\",
	        .conference_id = 9,
	        .leg = "dumb/3",
	        .participant_id = 4,
	        .caller = "c",
	        .caller_name = "\xc3\xa9l\xc3\xa8ve",
	        .detail = "d",
	        .node = "n",
	        .seq = 77};
	struct ce_cdr cdr = {.uuid = "u-2",
	        .room = "r",
	        .joined_at = 1,
	        .left_at = 2001,
	        .talk_ms = 1,
	        .reason = "bye",
	        .role = "moderator",
	        .called = "800"};
	struct ce_room_live live = {.room = "r", .participants = 5, .started_at = 3};
	struct ce_stream_line line = {.seq = 1796614991218641,
	        .run = 1796614991218640,
	        .at = 8,
	        .room = "r",
	        .conference_id = 3,
	        .line = "{\"type\":\"event\",\"seq\":1796614991218641}",
	        .node = "n"};
	struct ce_rec *r = ce_rec_new_event(&ev), *back = NULL;
	GBytes *b = ce_rec_serialize(r);

	g_assert_cmpint(ce_rec_deserialize(&back, b), ==, 0);
	g_assert_cmpint(back->type, ==, CE_REC_EVENT);
	g_assert_cmpstr(back->ev->uuid, ==, "u-1");
	g_assert_cmpint(back->ev->kind, ==, CE_EVENT_TALK_STOP);
	g_assert_cmpint(back->ev->at, ==, -5);
	g_assert_cmpstr(back->ev->room, ==, ev.room);
	g_assert_cmpstr(back->ev->caller_name, ==, ev.caller_name);
	g_assert_cmpint(back->ev->seq, ==, 77);
	g_assert_cmpint(back->ev->participant_id, ==, 4);
	g_assert_cmpstr(back->ev->node, ==, "n");
	ce_rec_free(back);
	ce_rec_free(r);
	g_bytes_unref(b);

	r = ce_rec_new_cdr(&cdr);
	b = ce_rec_serialize(r);
	g_assert_cmpint(ce_rec_deserialize(&back, b), ==, 0);
	g_assert_cmpint(back->cdr->left_at, ==, 2001);
	g_assert_cmpstr(back->cdr->called, ==, "800");
	g_assert_null(back->cdr->leg);
	ce_rec_free(back);
	ce_rec_free(r);
	g_bytes_unref(b);

	r = ce_rec_new_live(&live);
	b = ce_rec_serialize(r);
	g_assert_cmpint(ce_rec_deserialize(&back, b), ==, 0);
	g_assert_cmpint(back->live->participants, ==, 5);
	ce_rec_free(back);
	ce_rec_free(r);
	g_bytes_unref(b);

	r = ce_rec_new_line(&line);
	b = ce_rec_serialize(r);
	g_assert_cmpint(ce_rec_deserialize(&back, b), ==, 0);
	g_assert_cmpint(back->type, ==, CE_REC_LINE);
	g_assert_cmpint(back->line->seq, ==, line.seq);
	g_assert_cmpint(back->line->run, ==, line.run);
	g_assert_cmpint(back->line->at, ==, 8);
	g_assert_cmpint(back->line->conference_id, ==, 3);
	g_assert_cmpstr(back->line->room, ==, "r");
	g_assert_cmpstr(back->line->line, ==, line.line);
	g_assert_cmpstr(back->line->node, ==, "n");
	ce_rec_free(back);
	ce_rec_free(r);
	g_bytes_unref(b);
}

/* Random and mutated bytes never crash the decoder. */
static void test_codec_garbage(void)
{
	struct ce_event ev = {.uuid = "u", .kind = CE_EVENT_ENTER, .room = "room", .caller = "x"};
	struct ce_rec *r = ce_rec_new_event(&ev), *back;
	GBytes *good = ce_rec_serialize(r);
	GRand *rnd = g_rand_new_with_seed(42);
	gsize len;
	const guint8 *p = g_bytes_get_data(good, &len);

	for (int i = 0; i < 5000; i++) {
		guint8 *buf = g_memdup2(p, len);
		gsize n = len;
		if (i % 2) {
			n = (gsize)g_rand_int_range(rnd, 0, 64);
			buf = g_realloc(buf, n + 1);
			for (gsize k = 0; k < n; k++)
				buf[k] = (guint8)g_rand_int(rnd);
		} else {
			buf[g_rand_int_range(rnd, 0, (gint32)len)] = (guint8)g_rand_int(rnd);
		}
		GBytes *b = g_bytes_new_take(buf, n);
		back = NULL;
		if (ce_rec_deserialize(&back, b) == 0) {
			g_assert_nonnull(back);
			g_assert_true(
			        g_utf8_validate(back->ev->room ? back->ev->room : "", -1, NULL) ||
			        back->type != CE_REC_EVENT);
		} else {
			g_assert_null(back);
		}
		ce_rec_free(back);
		g_bytes_unref(b);
	}
	g_rand_free(rnd);
	g_bytes_unref(good);
	ce_rec_free(r);
}

static void test_text(void)
{
	char *s = ce_store_text("ok\xff\xfe end");

	g_assert_true(g_utf8_validate(s, -1, NULL));
	g_assert_true(g_str_has_prefix(s, "ok"));
	g_assert_true(g_str_has_suffix(s, " end"));
	g_free(s);
	g_assert_true(ce_store_pin_equal("1234", "1234"));
	g_assert_false(ce_store_pin_equal("1234", "12345"));
	g_assert_false(ce_store_pin_equal("12345", "1234"));
	g_assert_false(ce_store_pin_equal(NULL, "1"));
	g_assert_false(ce_store_pin_equal("", NULL));
	g_assert_true(ce_store_pin_equal("", ""));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/spool/order-and-reopen", test_order_and_reopen);
	g_test_add_func("/spool/torn-tail", test_torn_tail);
	g_test_add_func("/spool/lock-and-foreign-file", test_lock_and_foreign_file);
	g_test_add_func("/spool/codec", test_codec);
	g_test_add_func("/spool/codec-garbage", test_codec_garbage);
	g_test_add_func("/spool/text", test_text);
	return g_test_run();
}
