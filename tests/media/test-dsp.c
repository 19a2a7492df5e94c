/* test-dsp.c - noise suppression and AGC (media/dsp.c) measured on the labelled talker sets */
#include <glib.h>

#include "media/dsp.h"
#include "media/gain.h"
#include "tests/speechset.h"

/*
 * The bounds below sit under what bench-dsp measured (docs/media.md,
 * "Noise suppression and gain control"), with the margin noted at each;
 * the sets are the committed tests/data/talker ones, so the figures are
 * the same on every run.  A ce_dsp_process() that does nothing fails
 * /dsp/ns and /dsp/agc; an AGC aimed 8 dB higher (CE_DSP_AGC_LEVEL
 * 16000) pumps office2's noise up by 8.1 dB and fails /dsp/silence.
 */

static const char *const sets[] = {"office1", "office2", "street1", "street2"};

static void load(struct ce_speech_set *s, const char *name, unsigned rate)
{
	g_autofree char *wav = g_strdup_printf(CE_SRCDIR "/tests/data/talker/%s.wav", name);

	g_assert_cmpint(ce_speech_set_load(s, wav, rate, rate == 8000), ==, 0);
}

/* @in through a fresh preprocessor, 20 ms at a time; a new buffer. */
static int16_t *process(const int16_t *in, size_t n, unsigned rate, bool ns, bool agc)
{
	unsigned frame = rate / 50;
	struct ce_dsp *d = ce_dsp_new(rate, frame, ns, agc);
	int16_t *out = g_memdup2(in, n * sizeof(*in));

	g_assert_nonnull(d);
	g_assert_cmpuint(ce_dsp_frame(d), ==, frame);
	for (size_t k = 0; (k + 1) * frame <= n; k++)
		ce_dsp_process(d, out + k * frame);
	ce_dsp_free(d);
	return out;
}

/*
 * Noise suppression alone: the speech-to-noise ratio of every set rises
 * (measured +3.7 dB on street1's brown noise, the least, and +10.7 dB on
 * average at 8 kHz, +11.0 at 16 kHz), the speech keeps its level (at
 * worst 1.5 dB lower), and of the frames of clear speech at most 20 %
 * lose more than 6 dB (measured 14 %: quiet syllables inside words).
 */
static void test_ns(gconstpointer data)
{
	unsigned rate = GPOINTER_TO_UINT(data), eaten = 0, strong = 0;
	double gain = 0;

	for (unsigned i = 0; i < G_N_ELEMENTS(sets); i++) {
		struct ce_speech_set s;
		struct ce_speech_levels a, b;
		g_autofree int16_t *out = NULL;
		unsigned st;

		load(&s, sets[i], rate);
		out = process(s.pcm, s.n, rate, true, false);
		ce_speech_levels(&s, s.pcm, 0, &a);
		ce_speech_levels(&s, out, 0, &b);
		eaten += ce_speech_eaten(&s, out, 6.0, &st);
		strong += st;
		g_test_message("%s at %u Hz: SNR %.1f -> %.1f dB, speech %+.1f dB", sets[i], rate,
		        a.snr_db, b.snr_db, b.speech_db - a.speech_db);
		g_assert_cmpfloat(b.snr_db - a.snr_db, >=, 2.5);
		g_assert_cmpfloat(b.speech_db - a.speech_db, >=, -3.0);
		gain += b.snr_db - a.snr_db;
		ce_speech_set_clear(&s);
	}
	g_test_message("SNR %+.1f dB on average; %u of %u clear speech frames lost 6 dB",
	        gain / G_N_ELEMENTS(sets), eaten, strong);
	g_assert_cmpfloat(gain / G_N_ELEMENTS(sets), >=, 8.0);
	g_assert_cmpuint(strong, >=, 800);
	g_assert_cmpuint(eaten * 5, <=, strong);
}

/*
 * AGC (with suppression, as a leg runs both): each set 20 dB down (a
 * quiet talker), as it is (a loud one) and 10 dB up (peaks near full
 * scale).  The speech levels of the quiet and loud versions, spread over
 * 23 dB before, come within 2 dB of each other (measured; asserted: the
 * spread shrinks by 15 dB), and no sample reaches full scale that did not
 * in the input.
 */
static void test_agc(gconstpointer data)
{
	unsigned rate = GPOINTER_TO_UINT(data);
	double lo_in = 0, hi_in = -200, lo_out = 0, hi_out = -200;
	size_t full = 0;

	for (unsigned i = 0; i < G_N_ELEMENTS(sets); i++) {
		struct ce_speech_set s;

		load(&s, sets[i], rate);
		for (int db = -20; db <= 10; db += 10) {
			g_autofree int16_t *in = g_memdup2(s.pcm, s.n * sizeof(int16_t));
			g_autofree int16_t *out = NULL;
			struct ce_speech_levels a, b;

			ce_gain_apply(in, s.n, ce_gain_q12(db));
			out = process(in, s.n, rate, true, true);
			full += ce_speech_new_full_scale(in, out, s.n);
			if (db > 0)
				continue;
			/* From 5 s on: the gain has settled. */
			ce_speech_levels(&s, in, 5.0, &a);
			ce_speech_levels(&s, out, 5.0, &b);
			lo_in = MIN(lo_in, a.speech_db);
			hi_in = MAX(hi_in, a.speech_db);
			lo_out = MIN(lo_out, b.speech_db);
			hi_out = MAX(hi_out, b.speech_db);
		}
		ce_speech_set_clear(&s);
	}
	g_test_message("%u Hz: speech levels %.1f..%.1f dBFS -> %.1f..%.1f dBFS", rate, lo_in,
	        hi_in, lo_out, hi_out);
	g_assert_cmpfloat(hi_in - lo_in, >=, 20.0);
	g_assert_cmpfloat(hi_out - lo_out, <=, hi_in - lo_in - 15.0);
	g_assert_cmpuint(full, ==, 0);
}

/*
 * Nobody speaking: AGC must not pump the noise up.  Each set's noise
 * frames end to end (loud noise, -41..-23 dBFS) rise by at most 8 dB
 * over their second half (measured: at most +4.8 dB, street1's brown
 * noise, which the suppressor hardly lowers; the others fall by 0.4 to
 * 24 dB), and digital silence stays silent.
 */
static void test_silence(gconstpointer data)
{
	unsigned rate = GPOINTER_TO_UINT(data);

	for (unsigned i = 0; i < G_N_ELEMENTS(sets); i++) {
		struct ce_speech_set s;
		g_autofree int16_t *noise = NULL;
		g_autofree int16_t *out = NULL;
		g_autofree int16_t *zero = NULL;
		size_t n = 0;
		double in_db, out_db;

		load(&s, sets[i], rate);
		noise = ce_speech_noise_only(&s, &n);
		g_assert_cmpuint(n, >=, 3 * rate);
		out = process(noise, n, rate, true, true);
		in_db = ce_speech_db(noise + n / 2, n - n / 2);
		out_db = ce_speech_db(out + n / 2, n - n / 2);
		g_test_message(
		        "%s noise alone at %u Hz: %.1f -> %.1f dBFS", sets[i], rate, in_db, out_db);
		g_assert_cmpfloat(out_db, <=, in_db + 8.0);
		zero = g_new0(int16_t, s.n);
		g_free(out);
		out = process(zero, s.n, rate, true, true);
		g_assert_cmpfloat(ce_speech_db(out, s.n), <=, -90.0);
		ce_speech_set_clear(&s);
	}
}

/* Full-scale noise, square waves and alternating extremes: no crash (UBSan),
 * and speech afterwards is still processed (the state did not go bad). */
static void test_garbage(void)
{
	GRand *r = g_rand_new_with_seed(22);
	unsigned rates[] = {8000, 16000, 48000};

	for (unsigned ri = 0; ri < G_N_ELEMENTS(rates); ri++)
		for (unsigned mode = 1; mode < 4; mode++) {
			unsigned frame = rates[ri] / 50;
			struct ce_dsp *d = ce_dsp_new(rates[ri], frame, mode & 1, mode & 2);
			int16_t pcm[960];

			g_assert_nonnull(d);
			for (unsigned k = 0; k < 500; k++) {
				for (unsigned i = 0; i < frame; i++)
					pcm[i] = k % 3 == 0   ? (int16_t)g_rand_int(r)
					         : k % 3 == 1 ? (i / 4 % 2 ? 32767 : -32768)
					                      : (i % 2 ? 32767 : -32768);
				ce_dsp_process(d, pcm);
			}
			for (unsigned k = 0; k < 50; k++) {
				for (unsigned i = 0; i < frame; i++)
					pcm[i] = (int16_t)(3000 *
					                   ((k * frame + i) % 40 < 20 ? 1 : -1));
				ce_dsp_process(d, pcm);
			}
			g_assert_cmpfloat(ce_speech_db(pcm, frame), >, -60.0);
			ce_dsp_free(d);
		}
	g_rand_free(r);
}

/* Parameters out of range are refused, not guessed. */
static void test_bad_params(void)
{
	g_assert_null(ce_dsp_new(8000, 160, false, false));
	g_assert_null(ce_dsp_new(4000, 80, true, true));
	g_assert_null(ce_dsp_new(96000, 1920, true, true));
	g_assert_null(ce_dsp_new(8000, 0, true, true));
	g_assert_null(ce_dsp_new(8000, 79, true, true));
	g_assert_null(ce_dsp_new(8000, 321, true, true));
	ce_dsp_free(NULL);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_data_func("/dsp/ns/8000", GUINT_TO_POINTER(8000), test_ns);
	g_test_add_data_func("/dsp/ns/16000", GUINT_TO_POINTER(16000), test_ns);
	g_test_add_data_func("/dsp/agc/8000", GUINT_TO_POINTER(8000), test_agc);
	g_test_add_data_func("/dsp/agc/16000", GUINT_TO_POINTER(16000), test_agc);
	g_test_add_data_func("/dsp/silence/8000", GUINT_TO_POINTER(8000), test_silence);
	g_test_add_data_func("/dsp/silence/16000", GUINT_TO_POINTER(16000), test_silence);
	g_test_add_func("/dsp/garbage", test_garbage);
	g_test_add_func("/dsp/bad-params", test_bad_params);
	return g_test_run();
}
