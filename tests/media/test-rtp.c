/* test-rtp.c - unit tests for media/rtp.c: hostile packets */
#include <errno.h>
#include <string.h>
#include <glib.h>

#include "media/rtp.h"

static void test_build_parse(void)
{
	uint8_t buf[12 + 160];
	struct ce_rtp_pkt p;

	ce_rtp_build_hdr(buf, 8, true, 0x1234, 2560, 0xdeadbeef);
	memset(buf + 12, 0xd5, 160);
	g_assert_cmpint(ce_rtp_parse(&p, buf, sizeof(buf)), ==, 0);
	g_assert_cmpuint(p.pt, ==, 8);
	g_assert_true(p.marker);
	g_assert_cmpuint(p.seq, ==, 0x1234);
	g_assert_cmpuint(p.ts, ==, 2560);
	g_assert_cmpuint(p.ssrc, ==, 0xdeadbeef);
	g_assert_true(p.payload == buf + 12);
	g_assert_cmpuint(p.len, ==, 160);
}

static void test_truncated(void)
{
	uint8_t buf[64] = {0x80, 0};
	struct ce_rtp_pkt p;

	for (size_t n = 0; n < 12; n++)
		g_assert_cmpint(ce_rtp_parse(&p, buf, n), ==, -EBADMSG);
	g_assert_cmpint(ce_rtp_parse(&p, buf, 12), ==, 0);
	g_assert_cmpuint(p.len, ==, 0);
	buf[0] = 0x8f; /* 15 CSRCs = 60 bytes */
	g_assert_cmpint(ce_rtp_parse(&p, buf, 64), ==, -EBADMSG);
	buf[0] = 0x90; /* extension header missing */
	g_assert_cmpint(ce_rtp_parse(&p, buf, 14), ==, -EBADMSG);
	buf[14] = 0xff; /* extension longer than the packet */
	buf[15] = 0xff;
	g_assert_cmpint(ce_rtp_parse(&p, buf, 20), ==, -EBADMSG);
	buf[0] = 0xa0; /* padding longer than the payload */
	buf[19] = 200;
	g_assert_cmpint(ce_rtp_parse(&p, buf, 20), ==, -EBADMSG);
	buf[19] = 0;
	g_assert_cmpint(ce_rtp_parse(&p, buf, 20), ==, -EBADMSG);
	buf[19] = 8;
	g_assert_cmpint(ce_rtp_parse(&p, buf, 20), ==, 0);
	g_assert_cmpuint(p.len, ==, 0);
}

static void test_version_and_rtcp(void)
{
	uint8_t buf[40] = {0};
	struct ce_rtp_pkt p;

	buf[0] = 0x40; /* version 1 */
	g_assert_cmpint(ce_rtp_parse(&p, buf, sizeof(buf)), ==, -EBADMSG);
	buf[0] = 0x80;
	buf[1] = 200; /* RTCP SR seen as marker + PT 72 */
	g_assert_cmpint(ce_rtp_parse(&p, buf, sizeof(buf)), ==, -EBADMSG);
}

static void test_huge(void)
{
	static uint8_t buf[CE_RTP_MAX_PACKET + 1];
	struct ce_rtp_pkt p;

	ce_rtp_build_hdr(buf, 0, false, 1, 1, 1);
	g_assert_cmpint(ce_rtp_parse(&p, buf, sizeof(buf)), ==, -EMSGSIZE);
	g_assert_cmpint(ce_rtp_parse(&p, buf, sizeof(buf) - 1), ==, 0);
}

static void test_garbage(void)
{
	uint8_t buf[256];
	struct ce_rtp_pkt p;
	GRand *r = g_rand_new_with_seed(42);

	/* Random bytes: never read out of bounds (checked under ASan). */
	for (int i = 0; i < 100000; i++) {
		size_t n = g_rand_int_range(r, 0, sizeof(buf));
		uint8_t *copy;

		for (size_t k = 0; k < n; k++)
			buf[k] = (uint8_t)g_rand_int(r);
		if (i & 1)
			buf[0] = (uint8_t)(0x80 | (buf[0] & 0x3f));
		copy = g_memdup2(buf, n ? n : 1);
		if (ce_rtp_parse(&p, copy, n) == 0)
			g_assert_true(p.payload >= copy && p.payload + p.len <= copy + n);
		g_free(copy);
	}
	g_rand_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every input the fuzzer kept (corpus and crashes) still passes. */
static void test_fuzz_corpus(void)
{
	const char *dir = g_getenv("CE_SRCDIR") ? g_getenv("CE_SRCDIR") : CE_SRCDIR;
	char *path = g_build_filename(dir, "tests/media/corpus-rtp", NULL);
	GDir *d = g_dir_open(path, 0, NULL);
	const char *name;
	unsigned n = 0;

	g_assert_nonnull(d);
	while ((name = g_dir_read_name(d))) {
		char *file = g_build_filename(path, name, NULL), *buf;
		gsize len;

		g_assert_true(g_file_get_contents(file, &buf, &len, NULL));
		LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
		g_free(buf);
		g_free(file);
		n++;
	}
	g_assert_cmpuint(n, >, 0);
	g_dir_close(d);
	g_free(path);
}

/* Random datagram streams, mostly well-formed headers, through the target. */
static void test_fuzz_random(void)
{
	GRand *r = g_rand_new_with_seed(7);
	uint8_t buf[4096];

	for (int i = 0; i < 2000; i++) {
		size_t n = (size_t)g_rand_int_range(r, 0, sizeof(buf));

		for (size_t k = 0; k < n; k++)
			buf[k] = (uint8_t)g_rand_int(r);
		for (size_t k = 0; k + 3 < n; k += 180) {
			buf[k] = 0;
			buf[k + 1] = (uint8_t)g_rand_int_range(r, 0, 200);
			buf[k + 2] = 0x80;
			buf[k + 3] = g_rand_boolean(r) ? 0 : 8;
		}
		LLVMFuzzerTestOneInput(buf, n);
	}
	g_rand_free(r);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/rtp/build-parse", test_build_parse);
	g_test_add_func("/rtp/truncated", test_truncated);
	g_test_add_func("/rtp/version-rtcp", test_version_and_rtcp);
	g_test_add_func("/rtp/huge", test_huge);
	g_test_add_func("/rtp/garbage", test_garbage);
	g_test_add_func("/rtp/fuzz-corpus", test_fuzz_corpus);
	g_test_add_func("/rtp/fuzz-random", test_fuzz_random);
	return g_test_run();
}
