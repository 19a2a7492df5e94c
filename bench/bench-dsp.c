/* bench-dsp.c - noise suppression and AGC compared: speexdsp (media/dsp.c) against webrtc's APM
 *
 * Usage: bench-dsp [FILE.wav...]   (default: every set in tests/data/talker)
 * Each labelled set is run 20 ms at a time (the engine's frame) at 8 kHz,
 * through G.711 mu-law as a leg hears it, and at 16 kHz (resampled, as a
 * wideband leg), through each preprocessor.  It prints, per set:
 *  - noise suppression alone: the speech-to-noise ratio before and after
 *    (the labels: mean level of the speech frames against the noise
 *    frames', from 1 s on), and speech eaten: the frames of clear speech
 *    (6 dB above the noise) whose level drops more than 6 dB;
 *  - AGC (with suppression, as a leg would run both): the speech level of
 *    the set 20 dB down (a quiet talker) and as it is (a loud one), from
 *    5 s on, and the spread of those levels over every set before and
 *    after; samples newly at full scale (clipping made by the AGC); and
 *    how much the noise alone (the set's noise frames end to end) rises;
 *  - CPU time per frame of each (thread CPU time, so other processes on a
 *    shared machine slow it less than wall time would), and the memory
 *    one leg's state takes (the heap's growth over its creation).
 * Nothing is asserted: tests/media/test-dsp holds the bounds.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <glib.h>

#include "ce-autoconf.h"
#ifdef HAVE_MALLINFO2
#include <malloc.h>
#endif
#include "media/dsp.h"
#include "media/gain.h"
#include "tests/speechset.h"
#ifdef CE_HAVE_WEBRTC_APM
#include "bench/dsp-webrtc.h"
#endif

#define QUIET_DB   (-20)
#define AGC_FROM_S 5.0
#define EATEN_DB   6.0

struct proc {
	const char *name;
	void *(*make)(unsigned rate, unsigned frame, bool ns, bool agc);
	void (*run)(void *p, int16_t *pcm, unsigned n);
	void (*drop)(void *p);
};

static void *speex_make(unsigned rate, unsigned frame, bool ns, bool agc)
{
	return ce_dsp_new(rate, frame, ns, agc);
}

static void speex_run(void *p, int16_t *pcm, unsigned n)
{
	ce_dsp_process(p, pcm);
}

static void speex_drop(void *p)
{
	ce_dsp_free(p);
}

#ifdef CE_HAVE_WEBRTC_APM
static void *apm_make(unsigned rate, unsigned frame, bool ns, bool agc)
{
	return ce_bench_apm_new(rate, ns, agc);
}

static void apm_run(void *p, int16_t *pcm, unsigned n)
{
	ce_bench_apm_process(p, pcm, n);
}

static void apm_drop(void *p)
{
	ce_bench_apm_free(p);
}
#endif

static const struct proc procs[] = {
        {"speexdsp", speex_make, speex_run, speex_drop},
#ifdef CE_HAVE_WEBRTC_APM
        {"webrtc", apm_make, apm_run, apm_drop},
#endif
};

#define NPROCS G_N_ELEMENTS(procs)

/* Figures of one processor over every set. */
struct sums {
	double snr_gain, cpu_ns[2], cpu_frames[2]; /* [0] NS alone, [1] NS and AGC */
	unsigned eaten, strong;
	double lo_in, hi_in, lo_out, hi_out; /* speech levels, quiet and loud */
	size_t full;
	double noise_rise, silence_out;
};

static double thread_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* @in through a fresh processor into @out (both @n samples); adds its CPU time to @s. */
static void run(const struct proc *p, unsigned rate, bool ns, bool agc, const int16_t *in,
        int16_t *out, size_t n, struct sums *s)
{
	unsigned frame = rate / 50, kind = agc;
	void *st = p->make(rate, frame, ns, agc);
	double t0;

	if (!st) {
		fprintf(stderr, "bench-dsp: %s refuses %u Hz\n", p->name, rate);
		exit(1);
	}
	memcpy(out, in, n * sizeof(*in));
	t0 = thread_ns();
	for (size_t k = 0; (k + 1) * frame <= n; k++)
		p->run(st, out + k * frame, frame);
	s->cpu_ns[kind] += thread_ns() - t0;
	s->cpu_frames[kind] += (double)(n / frame);
	p->drop(st);
}

static void ns_figures(
        const struct proc *p, const struct ce_speech_set *set, const char *name, struct sums *s)
{
	int16_t *out = g_new(int16_t, set->n);
	struct ce_speech_levels a, b;
	unsigned strong, eaten;

	run(p, set->rate, true, false, set->pcm, out, set->n, s);
	ce_speech_levels(set, set->pcm, 0, &a);
	ce_speech_levels(set, out, 0, &b);
	eaten = ce_speech_eaten(set, out, EATEN_DB, &strong);
	printf("  %-10s %-9s NS   SNR %5.1f -> %5.1f dB (%+5.1f; noise %+6.1f dB, speech %+5.1f dB)"
	       " eaten %u of %u\n",
	        name, p->name, a.snr_db, b.snr_db, b.snr_db - a.snr_db, b.noise_db - a.noise_db,
	        b.speech_db - a.speech_db, eaten, strong);
	s->snr_gain += b.snr_db - a.snr_db;
	s->eaten += eaten;
	s->strong += strong;
	g_free(out);
}

static void agc_figures(
        const struct proc *p, struct ce_speech_set *set, const char *name, struct sums *s)
{
	int16_t *quiet = g_memdup2(set->pcm, set->n * sizeof(int16_t));
	int16_t *out = g_new(int16_t, set->n), *noise, *zero, *nout;
	struct ce_speech_levels q_in, q_out, l_in, l_out, n_in, n_out;
	size_t nn, full;

	ce_gain_apply(quiet, set->n, ce_gain_q12(QUIET_DB));
	ce_speech_levels(set, set->pcm, AGC_FROM_S, &l_in);
	ce_speech_levels(set, quiet, AGC_FROM_S, &q_in);
	run(p, set->rate, true, true, set->pcm, out, set->n, s);
	ce_speech_levels(set, out, AGC_FROM_S, &l_out);
	full = ce_speech_new_full_scale(set->pcm, out, set->n);
	run(p, set->rate, true, true, quiet, out, set->n, s);
	ce_speech_levels(set, out, AGC_FROM_S, &q_out);
	full += ce_speech_new_full_scale(quiet, out, set->n);

	noise = ce_speech_noise_only(set, &nn);
	nout = g_new(int16_t, nn);
	run(p, set->rate, true, true, noise, nout, nn, s);
	n_in.noise_db = ce_speech_db(noise + nn / 2, nn - nn / 2);
	n_out.noise_db = ce_speech_db(nout + nn / 2, nn - nn / 2);
	zero = g_new0(int16_t, set->n);
	run(p, set->rate, true, true, zero, out, set->n, s);

	printf("  %-10s %-9s AGC  speech quiet %6.1f -> %6.1f, loud %6.1f -> %6.1f dBFS; "
	       "new full scale %zu; noise alone %6.1f -> %6.1f dBFS; silence -> %6.1f\n",
	        name, p->name, q_in.speech_db, q_out.speech_db, l_in.speech_db, l_out.speech_db,
	        full, n_in.noise_db, n_out.noise_db, ce_speech_db(out, set->n));
	s->lo_in = MIN(s->lo_in, q_in.speech_db);
	s->hi_in = MAX(s->hi_in, l_in.speech_db);
	s->lo_out = MIN(s->lo_out, MIN(q_out.speech_db, l_out.speech_db));
	s->hi_out = MAX(s->hi_out, MAX(q_out.speech_db, l_out.speech_db));
	s->full += full;
	s->noise_rise = MAX(s->noise_rise, n_out.noise_db - n_in.noise_db);
	s->silence_out = MAX(s->silence_out, ce_speech_db(out, set->n));
	g_free(quiet);
	g_free(out);
	g_free(noise);
	g_free(nout);
	g_free(zero);
}

/* The heap one processor's state takes at @rate, 0 where glibc cannot tell. */
static size_t state_bytes(const struct proc *p, unsigned rate)
{
	size_t bytes = 0;
#ifdef HAVE_MALLINFO2
	struct mallinfo2 a = mallinfo2(), b;
	void *st = p->make(rate, rate / 50, true, true);

	b = mallinfo2();
	bytes = b.uordblks - a.uordblks;
	p->drop(st);
#endif
	return bytes;
}

static void one_rate(unsigned rate, char **files, int nfiles)
{
	struct sums sums[NPROCS];

	printf("%u Hz, 20 ms frames (%u samples)%s\n", rate, rate / 50,
	        rate == 8000 ? ", through G.711 mu-law" : ", resampled from 8 kHz");
	for (unsigned i = 0; i < NPROCS; i++)
		sums[i] = (struct sums){.lo_in = 200,
		        .lo_out = 200,
		        .hi_in = -200,
		        .hi_out = -200,
		        .noise_rise = -200,
		        .silence_out = -200};
	for (int f = 0; f < nfiles; f++) {
		struct ce_speech_set set;
		g_autofree char *name = g_path_get_basename(files[f]);

		if (ce_speech_set_load(&set, files[f], rate, rate == 8000) < 0) {
			fprintf(stderr, "bench-dsp: cannot read %s or its labels\n", files[f]);
			exit(1);
		}
		*strrchr(name, '.') = 0;
		for (unsigned i = 0; i < NPROCS; i++)
			ns_figures(&procs[i], &set, name, &sums[i]);
		for (unsigned i = 0; i < NPROCS; i++)
			agc_figures(&procs[i], &set, name, &sums[i]);
		ce_speech_set_clear(&set);
	}
	for (unsigned i = 0; i < NPROCS; i++) {
		struct sums *s = &sums[i];

		printf("%u Hz %-9s NS: SNR %+.1f dB on average, speech eaten %u of %u frames; "
		       "AGC: spread %.1f -> %.1f dB, new full scale %zu, noise alone rises at most "
		       "%+.1f dB, silence at most %.1f dBFS; CPU ns/frame: NS %.0f, NS and AGC "
		       "%.0f; state %zu bytes\n",
		        rate, procs[i].name, s->snr_gain / nfiles, s->eaten, s->strong,
		        s->hi_in - s->lo_in, s->hi_out - s->lo_out, s->full, s->noise_rise,
		        s->silence_out, s->cpu_ns[0] / s->cpu_frames[0],
		        s->cpu_ns[1] / s->cpu_frames[1], state_bytes(&procs[i], rate));
	}
}

int main(int argc, char **argv)
{
	const char *def[] = {"office1", "office2", "street1", "street2"};
	char *files[G_N_ELEMENTS(def)];
	unsigned rates[] = {8000, 16000};

	if (argc > 1 && argv[1][0] == '-') {
		fprintf(stderr, "usage: bench-dsp [FILE.wav...]\n");
		return 2;
	}
	for (unsigned i = 0; i < G_N_ELEMENTS(def); i++)
		files[i] = g_strdup_printf("%s/tests/data/talker/%s.wav", CE_SRCDIR, def[i]);
	for (unsigned r = 0; r < G_N_ELEMENTS(rates); r++)
		if (argc > 1)
			one_rate(rates[r], argv + 1, argc - 1);
		else
			one_rate(rates[r], files, G_N_ELEMENTS(def));
	for (unsigned i = 0; i < G_N_ELEMENTS(def); i++)
		g_free(files[i]);
	return 0;
}
