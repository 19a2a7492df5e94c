/* test-g711.c - unit tests for media/g711.c */
#include <glib.h>

#include "media/g711.h"
#include "media/vec.h"

static void test_known_values(void)
{
	/* Values from the G.711 tables. */
	g_assert_cmpint(ce_g711_ulaw_decode(0xff), ==, 0);
	g_assert_cmpint(ce_g711_ulaw_decode(0x7f), ==, 0);
	g_assert_cmpint(ce_g711_ulaw_decode(0x80), ==, 32124);
	g_assert_cmpint(ce_g711_ulaw_decode(0x00), ==, -32124);
	g_assert_cmpint(ce_g711_ulaw_decode(0xf0), ==, 120);
	g_assert_cmpint(ce_g711_alaw_decode(0xd5), ==, 8);
	g_assert_cmpint(ce_g711_alaw_decode(0x55), ==, -8);
	g_assert_cmpint(ce_g711_alaw_decode(0xaa), ==, 32256);
	g_assert_cmpint(ce_g711_alaw_decode(0x2a), ==, -32256);
	g_assert_cmpuint(ce_g711_ulaw_encode(0), ==, 0xff);
	g_assert_cmpuint(ce_g711_ulaw_encode(32767), ==, 0x80);
	g_assert_cmpuint(ce_g711_ulaw_encode(-32768), ==, 0x00);
	g_assert_cmpuint(ce_g711_alaw_encode(0), ==, 0xd5);
	g_assert_cmpuint(ce_g711_alaw_encode(-1), ==, 0x55);
	g_assert_cmpuint(ce_g711_alaw_encode(32767), ==, 0xaa);
	g_assert_cmpuint(ce_g711_alaw_encode(-32768), ==, 0x2a);
}

static void test_round_trip(void)
{
	/* Every code decodes to a value that encodes back to the same code
	 * (except mu-law's negative zero, 0x7f, which encodes as 0xff). */
	for (int i = 0; i < 256; i++) {
		uint8_t u = (uint8_t)i;

		if (u != 0x7f)
			g_assert_cmpuint(ce_g711_ulaw_encode(ce_g711_ulaw_decode(u)), ==, u);
		g_assert_cmpuint(ce_g711_alaw_encode(ce_g711_alaw_decode(u)), ==, u);
	}
}

static void test_monotonic_error(void)
{
	int prev_u = -40000, prev_a = -40000;

	for (int s = -32768; s <= 32767; s++) {
		int du = ce_g711_ulaw_decode(ce_g711_ulaw_encode((int16_t)s));
		int da = ce_g711_alaw_decode(ce_g711_alaw_encode((int16_t)s));
		int tol = MAX(16, ABS(s) / 16);

		g_assert_cmpint(ABS(du - s), <=, tol + 8);
		g_assert_cmpint(ABS(da - s), <=, tol + 8);
		g_assert_cmpint(du, >=, prev_u);
		g_assert_cmpint(da, >=, prev_a);
		prev_u = du;
		prev_a = da;
	}
}

static void test_buffers(void)
{
	int16_t in[160], out[160];
	uint8_t enc[320];
	enum ce_codec c;

	for (int i = 0; i < 160; i++)
		in[i] = (int16_t)(i * 200 - 16000);
	ce_codec_encode(CE_CODEC_PCMA, in, enc, 160);
	ce_codec_decode(CE_CODEC_PCMA, enc, out, 160);
	for (int i = 0; i < 160; i++)
		g_assert_cmpint(out[i], ==, ce_g711_alaw_decode(ce_g711_alaw_encode(in[i])));
	ce_codec_encode(CE_CODEC_L16, in, enc, 160);
	ce_codec_decode(CE_CODEC_L16, enc, out, 160);
	g_assert_cmpmem(in, sizeof(in), out, sizeof(out));
	g_assert_cmpuint(ce_codec_bytes(CE_CODEC_L16, 160), ==, 320);
	g_assert_cmpint(ce_codec_from_name("alaw", &c), ==, 0);
	g_assert_cmpint(c, ==, CE_CODEC_PCMA);
	g_assert_cmpint(ce_codec_from_name("gsm", &c), <, 0);
	g_assert_cmpint(ce_codec_rtp_pt(CE_CODEC_PCMU), ==, 0);
	g_assert_cmpint(ce_codec_rtp_pt(CE_CODEC_PCMA), ==, 8);
}

/* The mixer's vectorised encoder against the table, for every input. */
static void encode_mix_exhaustive(void)
{
	static int32_t sum[65536 + 64];
	static int16_t minus[65536 + 64];
	static uint8_t out[65536 + 64];

	for (int c = CE_CODEC_PCMU; c <= CE_CODEC_PCMA; c++) {
		for (int i = 0; i < 65536 + 64; i++) {
			sum[i] = i - 32768 - 32;
			minus[i] = (int16_t)(i % 3 - 1);
		}
		ce_codec_encode_mix((enum ce_codec)c, sum, NULL, out, 65536 + 64);
		for (int i = 0; i < 65536 + 64; i++) {
			int v = CLAMP(sum[i], -32767, 32767);
			uint8_t want = c == CE_CODEC_PCMU ? ce_g711_ulaw_encode((int16_t)v)
			                                  : ce_g711_alaw_encode((int16_t)v);

			g_assert_cmpuint(out[i], ==, want);
		}
		ce_codec_encode_mix((enum ce_codec)c, sum, minus, out, 65536 + 61);
		for (int i = 0; i < 65536 + 61; i++) {
			int v = CLAMP(sum[i] - minus[i], -32767, 32767);
			uint8_t want = c == CE_CODEC_PCMU ? ce_g711_ulaw_encode((int16_t)v)
			                                  : ce_g711_alaw_encode((int16_t)v);

			g_assert_cmpuint(out[i], ==, want);
		}
	}
}

static void test_encode_mix_exhaustive(void)
{
	encode_mix_exhaustive();
}

/* The same with the AVX2 paths off: the portable loops, on any CPU. */
static void test_encode_mix_portable(void)
{
	ce_vec_set_avx2(false);
	encode_mix_exhaustive();
	ce_vec_set_avx2(true);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/g711/known-values", test_known_values);
	g_test_add_func("/g711/round-trip", test_round_trip);
	g_test_add_func("/g711/error-bounded-monotonic", test_monotonic_error);
	g_test_add_func("/g711/buffers", test_buffers);
	g_test_add_func("/g711/encode-mix-exhaustive", test_encode_mix_exhaustive);
	g_test_add_func("/g711/encode-mix-portable", test_encode_mix_portable);
	return g_test_run();
}
