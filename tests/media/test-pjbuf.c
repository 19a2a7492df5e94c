/* test-pjbuf.c - the packet jitter buffer (pjbuf.h): order, loss with the next packet, hostile
 * input */
#include <string.h>
#include <glib.h>

#include "media/pjbuf.h"

#define FRAME 960
#define TS0   0xfffff000u /* wraps within the test */

static struct ce_pjbuf jb;

/* A packet whose bytes say which frame it is, of a length of its own. */
static void put(unsigned k, int want)
{
	uint8_t p[64];

	memset(p, (int)(k & 0xff), sizeof(p));
	g_assert_cmpint(ce_pjbuf_put(&jb, 7, TS0 + k * FRAME, p, 10 + k % 50), ==, want);
}

/* Pull the next frame: PACKET of frame @k (k >= 0), or LOST with the next frame @nk (-1: none). */
static void expect(enum ce_pjbuf_out out, int k, int nk)
{
	const uint8_t *p, *n;
	size_t len, nlen;

	g_assert_cmpint(ce_pjbuf_pull(&jb, &p, &len, &n, &nlen), ==, out);
	if (out == CE_PJBUF_PACKET) {
		g_assert_cmpuint(len, ==, 10 + (unsigned)k % 50);
		g_assert_cmpuint(p[0], ==, (unsigned)k & 0xff);
	}
	if (out == CE_PJBUF_LOST && nk >= 0) {
		g_assert_nonnull(n);
		g_assert_cmpuint(n[0], ==, (unsigned)nk & 0xff);
	} else {
		g_assert_null(n);
	}
}

/* Two frames of delay, then in order; reordered packets play in order; a duplicate is dropped. */
static void test_order(void)
{
	ce_pjbuf_init(&jb, FRAME, 2);
	expect(CE_PJBUF_EMPTY, 0, -1);
	put(0, 0);
	expect(CE_PJBUF_EMPTY, 0, -1); /* the delay: nothing lost */
	expect(CE_PJBUF_EMPTY, 0, -1);
	put(2, 0);
	put(1, 0);
	put(1, -1);
	expect(CE_PJBUF_PACKET, 0, -1);
	expect(CE_PJBUF_PACKET, 1, -1);
	expect(CE_PJBUF_PACKET, 2, -1);
	g_assert_cmpuint(jb.st.dups, ==, 1);
	/* nothing newer: the stream is quiet, not lost */
	expect(CE_PJBUF_EMPTY, 0, -1);
	g_assert_cmpuint(jb.st.lost, ==, 0);
}

/* A lost frame comes with the next one's packet (its FEC); one lost with none after it, alone. */
static void test_loss(void)
{
	ce_pjbuf_init(&jb, FRAME, 0);
	put(0, 0);
	expect(CE_PJBUF_PACKET, 0, -1);
	put(2, 0);
	put(4, 0);
	expect(CE_PJBUF_LOST, 0, 2); /* frame 1, with frame 2's packet */
	expect(CE_PJBUF_PACKET, 2, -1);
	put(6, 0);
	expect(CE_PJBUF_LOST, 0, 4);
	expect(CE_PJBUF_PACKET, 4, -1);
	g_assert_cmpuint(jb.st.lost, ==, 2);
	/* frame 5 comes after its time: late */
	expect(CE_PJBUF_LOST, 0, 6);
	put(5, -1);
	g_assert_cmpuint(jb.st.late, ==, 1);
	expect(CE_PJBUF_PACKET, 6, -1);
}

/* Another SSRC, a jump, a packet off the grid: the stream starts again; oversized: dropped. */
static void test_hostile(void)
{
	static uint8_t big[CE_PJBUF_MAX_PKT + 1];
	uint8_t p[8] = {0};
	const uint8_t *a, *b;
	size_t la, lb;

	ce_pjbuf_init(&jb, FRAME, 1);
	put(0, 0);
	g_assert_cmpint(ce_pjbuf_put(&jb, 7, TS0 + 1, big, sizeof(big)), ==, -1);
	g_assert_cmpuint(jb.st.too_big, ==, 1);
	g_assert_cmpint(ce_pjbuf_put(&jb, 8, TS0 + 5 * FRAME, p, sizeof(p)), ==, 0);
	g_assert_cmpint(ce_pjbuf_put(&jb, 8, TS0 + 1000 * FRAME, p, sizeof(p)), ==, 0);
	g_assert_cmpint(ce_pjbuf_put(&jb, 8, TS0 + 1000 * FRAME + 17, p, sizeof(p)), ==, 0);
	g_assert_cmpuint(jb.st.resyncs, ==, 3);
	/* the newest stream plays after its delay */
	g_assert_cmpint(ce_pjbuf_pull(&jb, &a, &la, &b, &lb), ==, CE_PJBUF_EMPTY);
	g_assert_cmpint(ce_pjbuf_pull(&jb, &a, &la, &b, &lb), ==, CE_PJBUF_PACKET);
	g_assert_cmpuint(la, ==, sizeof(p));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/pjbuf/order", test_order);
	g_test_add_func("/pjbuf/loss", test_loss);
	g_test_add_func("/pjbuf/hostile", test_hostile);
	return g_test_run();
}
