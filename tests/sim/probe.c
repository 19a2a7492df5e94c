/* probe.c - yate-sim's measurement probe: frames per leg in a time window, audio onsets */
/*
 * Enabled by the environment, for bench/bench-e2e.py; without SIM_PROBE every
 * hook returns at once.
 *
 *   SIM_PROBE=FILE            where the records go
 *   SIM_PROBE_WINDOW="T0 T1"  seconds after the probe started (the first leg):
 *                             count the frames each leg receives in between
 *   SIM_PROBE_MIN=N           onsets only for phones whose numeric label is >= N
 *
 * An onset is a frame whose peak is above 4000 after at least 5 frames (100 ms)
 * below 500.  Records, one per line:
 *
 *   S 1700000000.000000000           the probe started (CLOCK_REALTIME)
 *   T 900001 1700000000.123456789    phone 900001 sent an onset (time it left)
 *   R 900002 1700000000.145678901    phone 900002 received one (kernel time)
 *   L 100007 2950 1500               at the leg's end: frames received, in the window
 *
 * Receive times are the kernel's (SO_TIMESTAMPNS) in load mode, else the time
 * the simulator read the socket; send times are taken after sendmmsg returns.
 */
#define G_LOG_DOMAIN "sim"

#include <stdio.h>
#include <stdlib.h>
#include <glib.h>

#include "probe.h"
#include "sim.h"

#define LOUD         4000
#define QUIET        500
#define QUIET_FRAMES 5
#define PENDING      4096

struct sim_probe {
	char *who;
	int onsets; /* labels >= SIM_PROBE_MIN */
	unsigned quiet_tx, quiet_rx;
	uint64_t rx, rx_window;
};

static struct {
	int state; /* 0 unknown, 1 on, -1 off */
	FILE *f;
	double start, t0, t1;
	long min;
	struct timespec stamp;
	int has_stamp;
	struct sim_probe *pending[PENDING];
	unsigned n_pending;
} pr;

static double now_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/** True when SIM_PROBE names an output file (read once). */
int ce_sim_probe_enabled(void)
{
	const char *f, *w, *m;

	if (pr.state)
		return pr.state > 0;
	pr.state = -1;
	f = g_getenv("SIM_PROBE");
	if (!f || !*f || !(pr.f = fopen(f, "w")))
		return 0;
	setvbuf(pr.f, NULL, _IOFBF, 1 << 20);
	w = g_getenv("SIM_PROBE_WINDOW");
	if (!w || sscanf(w, "%lf %lf", &pr.t0, &pr.t1) != 2)
		pr.t0 = pr.t1 = 0;
	m = g_getenv("SIM_PROBE_MIN");
	pr.min = m ? strtol(m, NULL, 10) : 0;
	pr.start = now_real();
	pr.t0 += pr.start;
	pr.t1 += pr.start;
	fprintf(pr.f, "S %.9f\n", pr.start);
	fflush(pr.f);
	pr.state = 1;
	return 1;
}

static struct sim_probe *get(struct sim_probe **pp, const char *who)
{
	struct sim_probe *p = *pp;

	if (p || !who)
		return p;
	p = g_new0(struct sim_probe, 1);
	p->who = g_strdup(who);
	p->onsets = strtol(who, NULL, 10) >= pr.min;
	*pp = p;
	return p;
}

/* Count loud/quiet frames; true at an onset. */
static int onset(unsigned *quiet, int peak)
{
	int on = peak > LOUD && *quiet >= QUIET_FRAMES;

	*quiet = peak < QUIET ? *quiet + 1 : 0;
	return on;
}

/** The kernel receive time of the packets handed to ce_sim_probe_rx() next. */
void ce_sim_probe_stamp(const struct timespec *ts)
{
	if (pr.state <= 0)
		return;
	pr.stamp = *ts;
	pr.has_stamp = 1;
}

/** A leg sent a G.711 frame; onsets are timed when ce_sim_probe_sent() runs. */
void ce_sim_probe_tx(
        struct sim_probe **pp, const char *who, const uint8_t *g711, size_t n, int alaw)
{
	struct sim_probe *p;
	int peak = 0;
	size_t i;

	if (pr.state <= 0 || !(p = get(pp, who)) || !p->onsets)
		return;
	for (i = 0; i < n; i++) {
		int v = alaw ? ce_sim_alaw_decode(g711[i]) : ce_sim_ulaw_decode(g711[i]);
		peak = MAX(peak, ABS(v));
	}
	if (onset(&p->quiet_tx, peak) && pr.n_pending < PENDING)
		pr.pending[pr.n_pending++] = p;
}

/** The queued packets left (after sendmmsg/sendto): stamp pending onsets. */
void ce_sim_probe_sent(void)
{
	double t;
	unsigned i;

	if (pr.state <= 0 || !pr.n_pending)
		return;
	t = now_real();
	for (i = 0; i < pr.n_pending; i++)
		if (pr.pending[i])
			fprintf(pr.f, "T %s %.9f\n", pr.pending[i]->who, t);
	pr.n_pending = 0;
}

/** A leg received @n decoded samples. */
void ce_sim_probe_rx(struct sim_probe **pp, const char *who, const int16_t *pcm, size_t n)
{
	struct sim_probe *p;
	double t;
	int peak = 0;
	size_t i;

	if (pr.state <= 0 || !(p = get(pp, who)))
		return;
	t = pr.has_stamp ? (double)pr.stamp.tv_sec + pr.stamp.tv_nsec / 1e9 : now_real();
	p->rx++;
	if (t >= pr.t0 && t < pr.t1)
		p->rx_window++;
	if (!p->onsets)
		return;
	for (i = 0; i < n; i++)
		peak = MAX(peak, ABS(pcm[i]));
	if (onset(&p->quiet_rx, peak))
		fprintf(pr.f, "R %s %.9f\n", p->who, t);
}

/** The leg ends: its counters are written, *pp is freed. */
void ce_sim_probe_leg_free(struct sim_probe **pp, const char *who)
{
	struct sim_probe *p = *pp;
	unsigned i;

	if (!p)
		return;
	fprintf(pr.f, "L %s %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT "\n", who ? who : p->who,
	        p->rx, p->rx_window);
	fflush(pr.f);
	for (i = 0; i < pr.n_pending; i++)
		if (pr.pending[i] == p)
			pr.pending[i] = NULL;
	g_free(p->who);
	g_free(p);
	*pp = NULL;
}
