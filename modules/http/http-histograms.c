/* http-histograms.c - /metrics: admission latency and media wake time as Prometheus histograms */
#define G_LOG_DOMAIN "http"

#include <string.h>

#include "base/histogram.h"
#include "http.h"
#include "modules/conference/conference.h"

/*
 * The counts come from their owners without a lock: the conference module
 * counts admissions on the main loop, each media thread its own wakes
 * (base/histogram.h).  Written in seconds, cumulative, as the text format
 * wants them:
 *
 *   # TYPE conf_engine_admission_seconds histogram
 *   conf_engine_admission_seconds_bucket{le="0.001"} 3
 *   ...
 *   conf_engine_admission_seconds_bucket{le="+Inf"} 4
 *   conf_engine_admission_seconds_sum 0.012345
 *   conf_engine_admission_seconds_count 4
 */

typedef const struct ce_hist_bounds *(hist_h)(struct ce_conf *conf, struct ce_hist *out);

static void write_hist(
        GString *out, const char *name, const char *help, struct ce_conf *conf, hist_h *get)
{
	struct ce_hist h;
	const struct ce_hist_bounds *b;
	guint64 total = 0;

	memset(&h, 0, sizeof(h));
	b = get(conf, &h);
	if (!b)
		return;
	g_string_append_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (unsigned i = 0; i <= b->n; i++) {
		total += h.bucket[i];
		if (i < b->n)
			g_string_append_printf(out, "%s_bucket{le=\"%g\"} %" G_GUINT64_FORMAT "\n",
			        name, (double)b->le[i] / G_USEC_PER_SEC, total);
		else
			g_string_append_printf(
			        out, "%s_bucket{le=\"+Inf\"} %" G_GUINT64_FORMAT "\n", name, total);
	}
	g_string_append_printf(out, "%s_sum %.6f\n%s_count %" G_GUINT64_FORMAT "\n", name,
	        (double)h.sum / G_USEC_PER_SEC, name, total);
}

/** Append the histograms to the /metrics text @out (those whose module runs). */
void ce_http_histograms(struct ce_http *h, GString *out)
{
	struct ce_conf *conf = ce_conference_service(h->ce);

	write_hist(out, "conf_engine_admission_seconds",
	        "From a call.execute's arrival to the decision on it", conf,
	        ce_conference_admissions);
	write_hist(out, "conf_engine_media_tick_seconds",
	        "Working time of each media thread wake (every 5 ms)", conf,
	        ce_conference_media_wakes);
}
