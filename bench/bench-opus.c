/* bench-opus.c - Opus encode and decode CPU time per 20 ms frame, by rate, complexity and FEC
 *
 * Usage: bench-opus [--frames=N] [--rounds=R] [FILE.wav]
 * Encodes the first ten seconds of a talker file (tests/data/talker/
 * office1.wav unless FILE.wav is given: speech with office noise, an
 * 8 kHz recording resampled to the rate) 20 ms at a time through
 * media/opus.c, and decodes the packets back, R rounds of N frames each,
 * timing each frame on the thread's CPU clock (two clock reads per frame,
 * well under 1 % of it).  For 16 and 48 kHz it prints the best and median
 * round in µs per frame, and streams per core: encoding at complexity 0,
 * 5 and libopus's default with FEC off, and with FEC on (20 % loss
 * expected); decoding; and making a lost frame (every 5th, the others
 * decoded untimed) from the next packet's FEC (ce_opus_decode_lost(),
 * those whose next packet has it) or by concealment.
 * The configurations run interleaved, round by round, so that a busy
 * moment of a shared machine hits all of them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "media/opus.h"
#include "tests/speechset.h"
#include "tests/testutil.h"

#define SIGNAL_FRAMES 500 /* ten seconds */
#define MAX_FRAME     960 /* 20 ms at 48 kHz */

/* What a round does with the signal of a rate. */
enum job { ENCODE, DECODE, DECODE_FEC, CONCEAL };

struct conf {
	const char *name;
	unsigned rate;
	enum job job;
	int complexity; /* -1: libopus's default */
	bool fec;
};

/* The signal and its packets (encoded with FEC, default complexity) at one rate. */
struct signal {
	unsigned rate;
	int16_t pcm[SIGNAL_FRAMES][MAX_FRAME];
	uint8_t pkt[SIGNAL_FRAMES][CE_OPUS_MAX_PACKET];
	int len[SIGNAL_FRAMES];
	bool fec_next[SIGNAL_FRAMES]; /* the packet after this one carries FEC */
	unsigned with_fec;
};

static struct signal signals[2] = {{.rate = 16000}, {.rate = 48000}};

static struct ce_opus_enc *enc_new(unsigned rate, int complexity, bool fec)
{
	struct ce_opus_enc_conf c = {
	        .rate = rate, .fec = fec, .loss_pct = fec ? 20 : 0, .complexity = complexity};
	struct ce_opus_enc *e;

	if (ce_opus_enc_new(&e, &c) < 0) {
		fprintf(stderr, "bench-opus: no encoder at %u Hz\n", rate);
		exit(1);
	}
	return e;
}

/* The first SIGNAL_FRAMES frames of the speech file wav at s->rate, and its packets. */
static void make_signal(struct signal *s, const char *wav)
{
	unsigned frame = s->rate / 50;
	struct ce_opus_enc *e = enc_new(s->rate, -1, true);
	struct ce_speech_set set;

	if (ce_speech_set_load(&set, wav, s->rate, false) < 0 ||
	        set.n < (size_t)SIGNAL_FRAMES * frame) {
		fprintf(stderr, "bench-opus: %s: not a labelled mono WAV of 10 s or more\n", wav);
		exit(1);
	}
	for (int k = 0; k < SIGNAL_FRAMES; k++) {
		memcpy(s->pcm[k], set.pcm + (size_t)k * frame, frame * sizeof(int16_t));
		s->len[k] = ce_opus_encode(e, s->pcm[k], frame, s->pkt[k], CE_OPUS_MAX_PACKET);
		s->with_fec += ce_opus_packet_has_fec(s->pkt[k], (size_t)s->len[k]);
	}
	for (int k = 0; k < SIGNAL_FRAMES; k++) {
		int g = (k + 1) % SIGNAL_FRAMES;

		s->fec_next[k] = ce_opus_packet_has_fec(s->pkt[g], (size_t)s->len[g]);
	}
	ce_speech_set_clear(&set);
	ce_opus_enc_free(e);
}

/* One 20 ms frame of c at frame k of the signal; returns the CPU seconds timed: all of an
 * encode or decode; for the lost frames, only the frames lost (every 5th, and for FEC
 * only those whose next packet carries it), the others decoded untimed as in a call. */
static double one_frame(const struct conf *c, struct signal *s, int k, struct ce_opus_enc *e,
        struct ce_opus_dec *d, unsigned *celt)
{
	static int16_t out[MAX_FRAME];
	static uint8_t pkt[CE_OPUS_MAX_PACKET];
	unsigned frame = c->rate / 50;
	int f = k % SIGNAL_FRAMES, g = (f + 1) % SIGNAL_FRAMES;
	bool lose = f % 5 == 4 && (c->job == CONCEAL || s->fec_next[f]);
	double t0 = ce_test_cpu_now();

	int r;

	if (c->job == ENCODE)
		r = ce_opus_encode(e, s->pcm[f], frame, pkt, sizeof(pkt));
	else if (!lose)
		r = ce_opus_decode(d, s->pkt[f], (size_t)s->len[f], out, frame);
	else if (c->job == DECODE_FEC)
		r = ce_opus_decode_lost(d, s->pkt[g], (size_t)s->len[g], out, frame, NULL);
	else
		r = ce_opus_decode_lost(d, NULL, 0, out, frame, NULL);
	if (r <= 0) {
		fprintf(stderr, "bench-opus: %s: frame %d: %d\n", c->name, k, r);
		exit(1);
	}
	/* RFC 6716 3.1: TOC configurations 16..31 are CELT-only */
	*celt += c->job == ENCODE && pkt[0] >> 3 >= 16;
	return c->job == ENCODE || c->job == DECODE || lose ? ce_test_cpu_now() - t0 : -1;
}

/* µs per frame of one round of n frames of c; *celt gets the share of CELT-only packets
 * an encoder made (%). */
static double round_us(const struct conf *c, int n, double *celt)
{
	struct signal *s = c->rate == 16000 ? &signals[0] : &signals[1];
	struct ce_opus_enc *e = enc_new(c->rate, c->complexity, c->fec);
	struct ce_opus_dec *d;
	unsigned celts = 0;
	long timed = 0;
	double t = 0;

	if (ce_opus_dec_new(&d, c->rate) < 0)
		exit(1);
	for (int k = 0; k < n; k++) {
		double dt = one_frame(c, s, k, e, d, &celts);

		if (dt >= 0) {
			t += dt;
			timed++;
		}
	}
	*celt = 100.0 * celts / n;
	ce_opus_dec_free(d);
	ce_opus_enc_free(e);
	return t * 1e6 / MAX(timed, 1);
}

/* us: the rounds' µs per frame of c; celt: its encoder's CELT-only share, % */
static void report(const struct conf *c, double *us, int rounds, double celt)
{
	ce_test_sort_doubles(us, (size_t)rounds);
	printf("%-38s %6.1f µs per 20 ms frame (best of %d), median %6.1f; %6.0f per core\n",
	        c->name, us[0], rounds, us[rounds / 2], 20e3 / us[rounds / 2]);
	if (c->job == ENCODE)
		printf("%-38s (%.0f %% of its packets CELT-only, the rest SILK or hybrid)\n", "",
		        celt);
}

int main(int argc, char **argv)
{
	struct conf confs[] = {
	        {"16 kHz encode, complexity 0", 16000, ENCODE, 0, false},
	        {"16 kHz encode, complexity 5", 16000, ENCODE, 5, false},
	        {"16 kHz encode, default complexity", 16000, ENCODE, -1, false},
	        {"16 kHz encode, default, FEC (20 %)", 16000, ENCODE, -1, true},
	        {"16 kHz decode", 16000, DECODE, -1, false},
	        {"16 kHz lost frame from the next's FEC", 16000, DECODE_FEC, -1, false},
	        {"16 kHz lost frame concealed", 16000, CONCEAL, -1, false},
	        {"48 kHz encode, complexity 0", 48000, ENCODE, 0, false},
	        {"48 kHz encode, complexity 5", 48000, ENCODE, 5, false},
	        {"48 kHz encode, default complexity", 48000, ENCODE, -1, false},
	        {"48 kHz encode, default, FEC (20 %)", 48000, ENCODE, -1, true},
	        {"48 kHz decode", 48000, DECODE, -1, false},
	        {"48 kHz lost frame from the next's FEC", 48000, DECODE_FEC, -1, false},
	        {"48 kHz lost frame concealed", 48000, CONCEAL, -1, false},
	};
	double *us[G_N_ELEMENTS(confs)]; /* per configuration, per round */
	double celt[G_N_ELEMENTS(confs)];
	int frames = 5000, rounds = 7;
	GOptionEntry opts[] = {
	        {"frames", 'n', 0, G_OPTION_ARG_INT, &frames, "frames per round (5000)", "N"},
	        {"rounds", 'r', 0, G_OPTION_ARG_INT, &rounds, "rounds (7)", "R"},
	        {NULL},
	};
	GOptionContext *ctx =
	        g_option_context_new("[FILE.wav] - Opus encode and decode per 20 ms frame");
	g_autofree char *wav = NULL;

	g_option_context_add_main_entries(ctx, opts, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, NULL) || frames < 1 || rounds < 1 ||
	        argc > 2) {
		fprintf(stderr, "usage: bench-opus [--frames=N] [--rounds=R] [FILE.wav]\n");
		return 2;
	}
	g_option_context_free(ctx);
	wav = argc == 2
	              ? g_strdup(argv[1])
	              : g_build_filename(CE_SRCDIR, "tests", "data", "talker", "office1.wav", NULL);
	for (unsigned i = 0; i < G_N_ELEMENTS(signals); i++) {
		make_signal(&signals[i], wav);
		printf("%u Hz: %u of %d packets of the signal carry FEC (the lost-frame rows "
		       "rebuild from those, conceal the others)\n",
		        signals[i].rate, signals[i].with_fec, SIGNAL_FRAMES);
	}
	for (unsigned i = 0; i < G_N_ELEMENTS(confs); i++)
		us[i] = g_new(double, rounds);
	for (int r = 0; r < rounds; r++)
		for (unsigned i = 0; i < G_N_ELEMENTS(confs); i++)
			us[i][r] = round_us(&confs[i], frames, &celt[i]);
	for (unsigned i = 0; i < G_N_ELEMENTS(confs); i++) {
		report(&confs[i], us[i], rounds, celt[i]);
		g_free(us[i]);
	}
	return 0;
}
