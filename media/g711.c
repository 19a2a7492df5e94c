/* g711.c - G.711 mu-law and A-law conversion (ITU-T G.711), table driven decode */
#define G_LOG_DOMAIN "media"
#include <errno.h>
#include <string.h>
#include <glib.h>

#include "g711.h"
#include "g722.h"
#include "vec.h"

#define ULAW_BIAS 0x84
#define ULAW_CLIP 32635

static int16_t ulaw_table[256];
static int16_t alaw_table[256];
/* Encoding by table (64 KiB per law, indexed by the sample + 32768): the
 * talkers' mix-minus frames are encoded every tick. */
static uint8_t ulaw_enc[65536];
static uint8_t alaw_enc[65536];

static int16_t ulaw_decode_calc(uint8_t u)
{
	int t;

	u = (uint8_t)~u;
	t = ((u & 0x0f) << 3) + ULAW_BIAS;
	t <<= (u & 0x70) >> 4;
	return (int16_t)((u & 0x80) ? ULAW_BIAS - t : t - ULAW_BIAS);
}

static int16_t alaw_decode_calc(uint8_t a)
{
	int t, seg;

	a ^= 0x55;
	t = (a & 0x0f) << 4;
	seg = (a & 0x70) >> 4;
	if (seg == 0)
		t += 8;
	else
		t = (t + 0x108) << (seg - 1);
	return (int16_t)((a & 0x80) ? t : -t);
}

/* Position of the highest set bit of v (v > 0). */
static int top_bit(unsigned v)
{
	return 31 - __builtin_clz(v);
}

static uint8_t ulaw_encode_calc(int16_t s)
{
	int v = s, sign = 0, exp, mant;

	if (v < 0) {
		v = -v;
		sign = 0x80;
	}
	if (v > ULAW_CLIP)
		v = ULAW_CLIP;
	v += ULAW_BIAS;
	exp = top_bit((unsigned)v) - 7;
	mant = (v >> (exp + 3)) & 0x0f;
	return (uint8_t) ~(sign | (exp << 4) | mant);
}

static uint8_t alaw_encode_calc(int16_t s)
{
	int v = s >> 3, mask, seg, aval;

	if (v >= 0) {
		mask = 0xd5;
	} else {
		mask = 0x55;
		v = -v - 1;
	}
	seg = v < 32 ? 0 : top_bit((unsigned)v) - 4;
	if (seg >= 8)
		return (uint8_t)(0x7f ^ mask);
	aval = seg << 4;
	aval |= (seg < 2 ? v >> 1 : v >> seg) & 0x0f;
	return (uint8_t)(aval ^ mask);
}

static void tables_init(void)
{
	static gsize done;

	if (!g_once_init_enter(&done))
		return;
	for (int i = 0; i < 256; i++) {
		ulaw_table[i] = ulaw_decode_calc((uint8_t)i);
		alaw_table[i] = alaw_decode_calc((uint8_t)i);
	}
	for (int i = 0; i < 65536; i++) {
		ulaw_enc[i] = ulaw_encode_calc((int16_t)(i - 32768));
		alaw_enc[i] = alaw_encode_calc((int16_t)(i - 32768));
	}
	g_once_init_leave(&done, 1);
}

/** Encode one linear sample to mu-law. */
uint8_t ce_g711_ulaw_encode(int16_t s)
{
	tables_init();
	return ulaw_enc[s + 32768];
}

/** Decode one mu-law byte. */
int16_t ce_g711_ulaw_decode(uint8_t u)
{
	tables_init();
	return ulaw_table[u];
}

/** Encode one linear sample to A-law. */
uint8_t ce_g711_alaw_encode(int16_t s)
{
	tables_init();
	return alaw_enc[s + 32768];
}

/** Decode one A-law byte. */
int16_t ce_g711_alaw_decode(uint8_t a)
{
	tables_init();
	return alaw_table[a];
}

/** Encoded size in bytes of n samples of codec. */
size_t ce_codec_bytes(enum ce_codec codec, size_t n)
{
	if (codec == CE_CODEC_OPUS)
		return 0;
	return codec == CE_CODEC_L16 ? n * sizeof(int16_t) : n >> ce_codec_ts_shift(codec);
}

/** Encode n samples from in to out. */
void ce_codec_encode(enum ce_codec codec, const int16_t *in, uint8_t *out, size_t n)
{
	size_t i;

	g_return_if_fail(!ce_codec_stateful(codec));
	tables_init();
	switch (codec) {
	case CE_CODEC_PCMU:
		for (i = 0; i < n; i++)
			out[i] = ulaw_enc[in[i] + 32768];
		break;
	case CE_CODEC_PCMA:
		for (i = 0; i < n; i++)
			out[i] = alaw_enc[in[i] + 32768];
		break;
	default:
		memcpy(out, in, n * sizeof(int16_t));
		break;
	}
}

static inline int32_t clip(int32_t v)
{
	return v > 32767 ? 32767 : v < -32767 ? -32767 : v;
}

/*
 * Eight samples of G.711 at once.  The segment and the four mantissa bits
 * of both laws are the exponent and the top mantissa bits of the value as
 * a float: (float bits >> 19) is (biased exponent << 4 | those bits).  The
 * result equals the table (the tests compare all 65536 inputs).
 */
WIDE_CLONES static size_t encode_mix8(
        enum ce_codec codec, const int32_t *sum, const int16_t *minus, uint8_t *out, size_t n)
{
	const v8si zero = {0};
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		v8si v, neg, mag, bits, code;
		v8sf f;
		v32qu bytes;
		v8qu b;

		LOAD8(v, sum + i);
		if (minus) {
			v8hi h;

			memcpy(&h, minus + i, sizeof(h));
			/* Sign extension by doubling into 32-bit lanes and shifting. */
			v -= (v8si)__builtin_shufflevector(
			             h, h, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7) >>
			     16;
		}
		v = VSEL(v < zero + 32767, v, zero + 32767);
		v = VSEL(v > zero - 32767, v, zero - 32767);
		if (codec == CE_CODEC_PCMU) {
			neg = v >> 31;
			mag = (v ^ neg) - neg;
			mag = VSEL(mag < zero + ULAW_CLIP, mag, zero + ULAW_CLIP) + ULAW_BIAS;
			f = __builtin_convertvector(mag, v8sf);
			memcpy(&bits, &f, sizeof(bits));
			code = ~((neg & 0x80) | ((bits >> 19) - 0x860));
		} else {
			v >>= 3;
			neg = v >> 31;
			v ^= neg;
			f = __builtin_convertvector(v, v8sf);
			memcpy(&bits, &f, sizeof(bits));
			code = VSEL(v < zero + 32, v >> 1, (bits >> 19) - 0x830);
			code ^= 0xd5 ^ (neg & 0x80);
		}
		/* The low byte of each lane (little-endian): one shuffle. */
		bytes = (v32qu)code;
		b = __builtin_shufflevector(bytes, bytes, 0, 4, 8, 12, 16, 20, 24, 28);
		memcpy(out + i, &b, sizeof(b));
	}
	return i;
}

#ifdef CE_VEC_AVX2
/* The mu-law codes (in the low byte of each lane) of eight clipped samples:
 * the float trick of encode_mix8. */
AVX2_FN static inline __m256i ulaw8_avx2(__m256i v)
{
	__m256i mag = _mm256_min_epi32(_mm256_abs_epi32(v), _mm256_set1_epi32(ULAW_CLIP));
	__m256i bits = _mm256_castps_si256(
	        _mm256_cvtepi32_ps(_mm256_add_epi32(mag, _mm256_set1_epi32(ULAW_BIAS))));
	__m256i code = _mm256_sub_epi32(_mm256_srli_epi32(bits, 19), _mm256_set1_epi32(0x860));
	__m256i sign = _mm256_and_si256(_mm256_srai_epi32(v, 31), _mm256_set1_epi32(0x80));

	return _mm256_xor_si256(_mm256_or_si256(code, sign), _mm256_set1_epi32(0xff));
}

/* The A-law codes of eight clipped samples. */
AVX2_FN static inline __m256i alaw8_avx2(__m256i v)
{
	__m256i neg, bits, code;

	v = _mm256_srai_epi32(v, 3);
	neg = _mm256_srai_epi32(v, 31);
	v = _mm256_xor_si256(v, neg);
	bits = _mm256_castps_si256(_mm256_cvtepi32_ps(v));
	code = _mm256_blendv_epi8(
	        _mm256_sub_epi32(_mm256_srli_epi32(bits, 19), _mm256_set1_epi32(0x830)),
	        _mm256_srli_epi32(v, 1), _mm256_cmpgt_epi32(_mm256_set1_epi32(32), v));
	return _mm256_xor_si256(code, _mm256_xor_si256(_mm256_set1_epi32(0xd5),
	                                      _mm256_and_si256(neg, _mm256_set1_epi32(0x80))));
}

/* Eight samples of sum - minus, clipped symmetrically, as 32-bit lanes. */
AVX2_FN static inline __m256i mix8_avx2(const int32_t *sum, const int16_t *minus)
{
	__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)sum);

	if (minus)
		v = _mm256_sub_epi32(v, _mm256_cvtepi16_epi32(_mm_loadu_si128(
		                                (const __m128i *)(const void *)minus)));
	return _mm256_max_epi32(
	        _mm256_min_epi32(v, _mm256_set1_epi32(32767)), _mm256_set1_epi32(-32767));
}

/* The codes of samples i..i+7 of the mix in the low bytes of the lanes
 * (written out four times by the caller: an array of them went through
 * the stack). */
AVX2_FN static inline __m256i code8_avx2(
        bool ulaw, const int32_t *sum, const int16_t *minus, size_t i)
{
	__m256i v = mix8_avx2(sum + i, minus ? minus + i : NULL);

	return ulaw ? ulaw8_avx2(v) : alaw8_avx2(v);
}

/*
 * Thirty-two samples at a time: four vectors of codes packed to bytes with
 * two saturating packs and put in order with one permute (the packs work
 * within each 128-bit half).  The codec is a constant in each caller's
 * loop, so each law gets a loop of its own.
 */
AVX2_FN static inline __attribute__((always_inline)) size_t encode_mix32_law(
        bool ulaw, const int32_t *sum, const int16_t *minus, uint8_t *out, size_t n)
{
	const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
	size_t i;

	for (i = 0; i + 32 <= n; i += 32) {
		__m256i c0 = code8_avx2(ulaw, sum, minus, i);
		__m256i c1 = code8_avx2(ulaw, sum, minus, i + 8);
		__m256i c2 = code8_avx2(ulaw, sum, minus, i + 16);
		__m256i c3 = code8_avx2(ulaw, sum, minus, i + 24);
		__m256i p = _mm256_packus_epi16(
		        _mm256_packus_epi32(c0, c1), _mm256_packus_epi32(c2, c3));

		_mm256_storeu_si256(
		        (__m256i *)(void *)(out + i), _mm256_permutevar8x32_epi32(p, order));
	}
	return i;
}

AVX2_FN static size_t encode_mix32(
        enum ce_codec codec, const int32_t *sum, const int16_t *minus, uint8_t *out, size_t n)
{
	if (codec == CE_CODEC_PCMU)
		return minus ? encode_mix32_law(true, sum, minus, out, n)
		             : encode_mix32_law(true, sum, NULL, out, n);
	return minus ? encode_mix32_law(false, sum, minus, out, n)
	             : encode_mix32_law(false, sum, NULL, out, n);
}
#endif

/**
 * Encode the mix sum[i] - minus[i] (minus NULL: sum[i]) of n samples to
 * out, clipping symmetrically: the mixer's one pass per output frame.
 */
void ce_codec_encode_mix(
        enum ce_codec codec, const int32_t *sum, const int16_t *minus, uint8_t *out, size_t n)
{
	const uint8_t *t = codec == CE_CODEC_PCMU ? ulaw_enc : alaw_enc;
	int16_t *lin = (int16_t *)(void *)out;
	size_t i = 0;

	g_return_if_fail(!ce_codec_stateful(codec));
	tables_init();
	if (codec == CE_CODEC_L16) {
		for (; i < n; i++)
			lin[i] = (int16_t)clip(sum[i] - (minus ? minus[i] : 0));
		return;
	}
#ifdef CE_VEC_AVX2
	if (ce_vec_avx2())
		i = encode_mix32(codec, sum, minus, out, n);
#endif
	i += encode_mix8(codec, sum + i, minus ? minus + i : NULL, out + i, n - i);
	for (; i < n; i++)
		out[i] = t[clip(sum[i] - (minus ? minus[i] : 0)) + 32768];
}

/** Decode n samples from in to out. */
void ce_codec_decode(enum ce_codec codec, const uint8_t *in, int16_t *out, size_t n)
{
	const int16_t *t = codec == CE_CODEC_PCMU ? ulaw_table : alaw_table;
	size_t i;

	g_return_if_fail(!ce_codec_stateful(codec));
	if (codec == CE_CODEC_L16) {
		memcpy(out, in, n * sizeof(int16_t));
		return;
	}
	tables_init();
	for (i = 0; i < n; i++)
		out[i] = t[in[i]];
}

/** The byte that encodes a silent sample. */
uint8_t ce_codec_silence_byte(enum ce_codec codec)
{
	switch (codec) {
	case CE_CODEC_PCMU:
		return 0xff;
	case CE_CODEC_PCMA:
		return 0xd5;
	case CE_CODEC_G722:
		return 0xfa; /* what the encoder settles to on silence (g722.h) */
	default:
		return 0;
	}
}

/** Static RTP payload type of codec, -1 if none. */
int ce_codec_rtp_pt(enum ce_codec codec)
{
	switch (codec) {
	case CE_CODEC_PCMU:
		return 0;
	case CE_CODEC_PCMA:
		return 8;
	case CE_CODEC_G722:
		return 9;
	default:
		return -1;
	}
}

static const char *const codec_names[CE_CODEC_COUNT] = {
        "mulaw", "alaw", "slin", CE_G722_FORMAT, "opus"};

/** Codec from Yate's format name. */
int ce_codec_from_name(const char *name, enum ce_codec *codec)
{
	/* Yate's SDP parser knows G.722 by both names (payload type 9) */
	if (name && strcmp(name, "g722") == 0) {
		*codec = CE_CODEC_G722;
		return 0;
	}
	for (int i = 0; name && i < CE_CODEC_COUNT; i++) {
		if (strcmp(name, codec_names[i]) == 0) {
			*codec = (enum ce_codec)i;
			return 0;
		}
	}
	return -EINVAL;
}

/** Yate's format name of codec. */
const char *ce_codec_name(enum ce_codec codec)
{
	return (unsigned)codec < CE_CODEC_COUNT ? codec_names[codec] : "unknown";
}

static uint8_t alaw_to_ulaw[256], ulaw_to_alaw[256];
static gsize laws_once;

/** Build the tables between the two laws, once (any thread, any number of times). */
void ce_g711_laws_init(void)
{
	if (!g_once_init_enter(&laws_once))
		return;
	for (unsigned i = 0; i < 256; i++) {
		alaw_to_ulaw[i] = ce_g711_ulaw_encode(ce_g711_alaw_decode((uint8_t)i));
		ulaw_to_alaw[i] = ce_g711_alaw_encode(ce_g711_ulaw_decode((uint8_t)i));
	}
	g_once_init_leave(&laws_once, 1);
}

/**
 * The byte table from the other G.711 law to @to's: a phone allowed both
 * laws (docs/bypass.md) may send either, and its packets are converted to
 * its leg's law on arrival.
 */
const uint8_t *ce_g711_law_table(enum ce_codec to)
{
	return to == CE_CODEC_PCMU ? alaw_to_ulaw : ulaw_to_alaw;
}
