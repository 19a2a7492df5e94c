/* testutil.c - small helpers shared by the C test programs */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "testutil.h"

/** Remove @dir and everything below it; links are removed, not followed. */
void ce_test_rm_tree(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;

	while (d && (name = g_dir_read_name(d))) {
		char *p = g_build_filename(dir, name, NULL);

		if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
			ce_test_rm_tree(p);
		else
			g_unlink(p);
		g_free(p);
	}
	if (d)
		g_dir_close(d);
	g_rmdir(dir);
}

/** A non-blocking UDP socket bound to 127.0.0.1 on a free port; @a gets its address. */
int ce_test_udp_loopback(struct sockaddr_in *a)
{
	socklen_t len = sizeof(*a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	g_assert_cmpint(fd, >=, 0);
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g_assert_cmpint(bind(fd, (struct sockaddr *)a, sizeof(*a)), ==, 0);
	getsockname(fd, (struct sockaddr *)a, &len);
	return fd;
}

/**
 * Fits a sine of frequency @f (Hz, at @rate samples per second) to the @n
 * samples of @x by least squares, amplitude and phase free (so a codec's
 * delay does not matter).  *@amp gets the fitted amplitude; returns the
 * signal-to-residue ratio in dB (what is not that sine counts as noise).
 */
double ce_test_sine_fit(const int16_t *x, size_t n, double f, unsigned rate, double *amp)
{
	double sc = 0, cc = 0, ss = 0, xs = 0, xc = 0, a, b, sig = 0, err = 0;

	for (size_t i = 0; i < n; i++) {
		double w = 2 * G_PI * f * (double)i / rate, si = sin(w), co = cos(w);

		ss += si * si;
		cc += co * co;
		sc += si * co;
		xs += x[i] * si;
		xc += x[i] * co;
	}
	/* Solve [ss sc; sc cc] [a b] = [xs xc]. */
	a = (xs * cc - xc * sc) / (ss * cc - sc * sc);
	b = (xc * ss - xs * sc) / (ss * cc - sc * sc);
	for (size_t i = 0; i < n; i++) {
		double w = 2 * G_PI * f * (double)i / rate, fit = a * sin(w) + b * cos(w);

		sig += fit * fit;
		err += (x[i] - fit) * (x[i] - fit);
	}
	*amp = sqrt(a * a + b * b);
	return 10 * log10(sig / MAX(err, 1e-9));
}

/** The calling thread's CPU time in seconds, for the benches' per-frame figures. */
double ce_test_cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/** Sorts the @n values of @v in ascending order (the benches' best and median rounds). */
void ce_test_sort_doubles(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
}
