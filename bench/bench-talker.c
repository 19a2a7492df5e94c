/* bench-talker.c - talker detection quality on the labelled set: segment P/R/F1, onset latency
 *
 * Usage: bench-talker [-v] [--start-db=DB ...] [--dsp=ns|agc|both] [FILE.wav...]
 * (default: every set in tests/data/talker; --help lists the tuning options)
 * Each WAV is played 20 ms at a time through G.711 mu-law (as a leg hears
 * it) into a talker detector with the default parameters; with --dsp,
 * through the leg's noise suppression and/or AGC first (media/dsp.c).  A detected talk
 * is a true positive when it overlaps a labelled segment not matched yet;
 * other detected talks are false positives; unmatched labels are misses.
 * A talk that starts 100 ms or more before the label it runs into was
 * started by the noise: it counts as a false positive for precision,
 * the label as found for recall, and it has no onset latency.
 * Onset latency is the time from a label's start to the end of the frame
 * whose START event matched it (when the event is emitted).  It is also
 * given from the label's audible onset (its fourth column): when the
 * speech first reaches the noise's level, before which no listener or
 * detector can hear it.  The third column, the speech-to-noise ratio of
 * its first 60 ms, is printed with -v.  The held-out set is made by
 * tools/make-talker-set.sh --held-out DIR and scored with DIR/\*.wav.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <sndfile.h>

#include "media/dsp.h"
#include "media/g711.h"
#include "media/talker.h"

#define MAX_SEG 256

/* A talk that starts this long (s) before the speech it runs into was
 * started by the noise: a false start, though the label counts as found. */
#define EARLY_S 0.1
/* The goal, 60 ms, with room for the rounding of 0.02 * frames. */
#define WITHIN_S 0.0605

struct seg {
	double a, b;
	double snr; /* labels: the onset's speech-to-noise ratio (dB) */
	double aud; /* labels: when the speech reaches the noise's level */
	bool used;
};

struct totals {
	unsigned labels, detected, tp;
	unsigned early; /* hits that started on the noise, EARLY_S or more before */
	double lat[MAX_SEG * 16];
	unsigned n_lat;
	double lat_aud[MAX_SEG * 16]; /* the same from the audible onsets */
};

static bool verbose;
static bool dsp_ns, dsp_agc;
static struct ce_talker_conf tconf;

static unsigned read_labels(const char *wav, struct seg *s)
{
	char *path = g_strdup(wav), *line = NULL;
	size_t cap = 0;
	unsigned n = 0;
	FILE *f;

	strcpy(path + strlen(path) - 3, "lab");
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "bench-talker: cannot read %s\n", path);
		exit(1);
	}
	while (getline(&line, &cap, f) > 0 && n < MAX_SEG)
		if (line[0] != '#' && sscanf(line, "%lf %lf", &s[n].a, &s[n].b) == 2) {
			if (sscanf(line, "%*f %*f %lf", &s[n].snr) != 1)
				s[n].snr = 100.0;
			if (sscanf(line, "%*f %*f %*f %lf", &s[n].aud) != 1)
				s[n].aud = s[n].a;
			s[n++].used = false;
		}
	fclose(f);
	free(line);
	g_free(path);
	return n;
}

static unsigned detect(const char *wav, struct seg *d)
{
	SF_INFO info = {0};
	SNDFILE *sf = sf_open(wav, SFM_READ, &info);
	struct ce_talker t;
	struct ce_dsp *dsp = ce_dsp_new(8000, 160, dsp_ns, dsp_agc);
	int16_t pcm[160];
	unsigned n = 0, k = 0;
	sf_count_t got;

	if (!sf || info.samplerate != 8000 || info.channels != 1) {
		fprintf(stderr, "bench-talker: %s: need 8 kHz mono\n", wav);
		exit(1);
	}
	ce_talker_init(&t, &tconf);
	while ((got = sf_read_short(sf, pcm, 160)) == 160) {
		enum ce_talker_ev ev;

		for (int i = 0; i < 160; i++)
			pcm[i] = ce_g711_ulaw_decode(ce_g711_ulaw_encode(pcm[i]));
		if (dsp)
			ce_dsp_process(dsp, pcm);
		ev = ce_talker_frame(&t, pcm, 160, 8000);
		k++;
		if (ev == CE_TALKER_START && n < MAX_SEG)
			d[n++] = (struct seg){k * 0.02, -1, 0, 0, false};
		else if (ev == CE_TALKER_STOP && n > 0)
			d[n - 1].b = k * 0.02;
	}
	if (n > 0 && d[n - 1].b < 0)
		d[n - 1].b = k * 0.02;
	ce_dsp_free(dsp);
	sf_close(sf);
	return n;
}

static void score(const char *wav, struct totals *tot)
{
	struct seg lab[MAX_SEG], det[MAX_SEG];
	unsigned nl = read_labels(wav, lab), nd = detect(wav, det), tp = 0;

	for (unsigned i = 0; i < nd; i++) {
		for (unsigned j = 0; j < nl; j++) {
			if (lab[j].used || det[i].a >= lab[j].b || det[i].b <= lab[j].a)
				continue;
			lab[j].used = det[i].used = true;
			tp++;
			if (det[i].a <= lab[j].a - EARLY_S) {
				tot->early++;
				if (verbose)
					printf("  label %7.2f %7.2f EARLY start %.2f on the "
					       "noise\n",
					        lab[j].a, lab[j].b, det[i].a);
				break;
			}
			tot->lat_aud[tot->n_lat] = det[i].a - lab[j].aud;
			tot->lat[tot->n_lat++] = det[i].a - lab[j].a;
			if (verbose)
				printf("  label %7.2f %7.2f onset latency %4.0f ms (onset SNR %.1f "
				       "dB; %4.0f ms from the audible onset)\n",
				        lab[j].a, lab[j].b, 1000 * (det[i].a - lab[j].a),
				        lab[j].snr, 1000 * (det[i].a - lab[j].aud));
			break;
		}
		if (verbose)
			printf("  %s %7.2f %7.2f\n", det[i].used ? "hit " : "FALSE", det[i].a,
			        det[i].b);
	}
	for (unsigned j = 0; verbose && j < nl; j++)
		if (!lab[j].used)
			printf("  MISS  %7.2f %7.2f\n", lab[j].a, lab[j].b);
	printf("%-40s labels %2u detected %2u hits %2u\n", wav, nl, nd, tp);
	tot->labels += nl;
	tot->detected += nd;
	tot->tp += tp;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	static struct totals tot;
	const char *def[] = {"office1", "office2", "street1", "street2"};
	double p, r, sum = 0;
	unsigned within = 0, within_aud = 0;

	double start_db = -1, stay_db = -1, burst_db = -1;
	int hang = -1, frames = -1;
	char *dsp = NULL;
	GOptionEntry opts[] = {
	        {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "list every segment", NULL},
	        {"start-db", 0, 0, G_OPTION_ARG_DOUBLE, &start_db, "start threshold", "DB"},
	        {"stay-db", 0, 0, G_OPTION_ARG_DOUBLE, &stay_db, "stay threshold", "DB"},
	        {"burst-db", 0, 0, G_OPTION_ARG_DOUBLE, &burst_db, "burst threshold", "DB"},
	        {"start-blocks", 0, 0, G_OPTION_ARG_INT, &frames, "blocks above start-db", "N"},
	        {"hangover", 0, 0, G_OPTION_ARG_INT, &hang, "hangover", "MS"},
	        {"dsp", 0, 0, G_OPTION_ARG_STRING, &dsp, "noise suppression, AGC or both first",
	                "ns|agc|both"},
	        {NULL},
	};
	GOptionContext *ctx = g_option_context_new("[FILE.wav...] - talker detection quality");

	g_option_context_add_main_entries(ctx, opts, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, NULL))
		return 2;
	g_option_context_free(ctx);
	dsp_ns = dsp && (!strcmp(dsp, "ns") || !strcmp(dsp, "both"));
	dsp_agc = dsp && (!strcmp(dsp, "agc") || !strcmp(dsp, "both"));
	if (dsp && !dsp_ns && !dsp_agc) {
		fprintf(stderr, "bench-talker: --dsp takes ns, agc or both\n");
		return 2;
	}
	g_free(dsp);
	ce_talker_conf_default(&tconf);
	if (start_db >= 0)
		tconf.start_db = (float)start_db;
	if (stay_db >= 0)
		tconf.stay_db = (float)stay_db;
	if (burst_db >= 0)
		tconf.burst_db = (float)burst_db;
	if (frames >= 0)
		tconf.start_frames = (unsigned)frames;
	if (hang >= 0)
		tconf.hangover_ms = (unsigned)hang;
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			score(argv[i], &tot);
	} else {
		for (unsigned i = 0; i < G_N_ELEMENTS(def); i++) {
			char *w = g_strdup_printf("%s/tests/data/talker/%s.wav", CE_SRCDIR, def[i]);

			score(w, &tot);
			g_free(w);
		}
	}
	p = tot.detected ? (double)(tot.tp - tot.early) / tot.detected : 0;
	r = tot.labels ? (double)tot.tp / tot.labels : 0;
	qsort(tot.lat, tot.n_lat, sizeof(double), cmp_double);
	for (unsigned i = 0; i < tot.n_lat; i++)
		sum += tot.lat[i];
	printf("segments: precision %.3f recall %.3f F1 %.3f (%u labels, %u talks, "
	       "%u started early on the noise)\n",
	        p, r, p + r > 0 ? 2 * p * r / (p + r) : 0, tot.labels, tot.detected, tot.early);
	for (unsigned i = 0; i < tot.n_lat; i++) {
		within += tot.lat[i] <= WITHIN_S;
		within_aud += tot.lat_aud[i] <= WITHIN_S;
	}
	qsort(tot.lat_aud, tot.n_lat, sizeof(double), cmp_double);
	if (tot.n_lat) {
		printf("onset within 60 ms: %u of %u (%.0f%%); within 60 ms of the audible "
		       "onset (the speech at the noise's level): %u of %u\n",
		        within, tot.n_lat, 100.0 * within / tot.n_lat, within_aud, tot.n_lat);
		printf("onset latency (ms): mean %.0f median %.0f p90 %.0f max %.0f; from the "
		       "audible onset: median %.0f p90 %.0f max %.0f\n",
		        1000 * sum / tot.n_lat, 1000 * tot.lat[tot.n_lat / 2],
		        1000 * tot.lat[tot.n_lat * 9 / 10], 1000 * tot.lat[tot.n_lat - 1],
		        1000 * tot.lat_aud[tot.n_lat / 2], 1000 * tot.lat_aud[tot.n_lat * 9 / 10],
		        1000 * tot.lat_aud[tot.n_lat - 1]);
	}
	return 0;
}
