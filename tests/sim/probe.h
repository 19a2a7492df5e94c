/* probe.h - yate-sim's measurement probe for the end-to-end benchmark (SIM_PROBE=FILE) */
#ifndef CE_SIM_PROBE_H
#define CE_SIM_PROBE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct sim_probe;

/* True when SIM_PROBE names an output file (read once). */
int ce_sim_probe_enabled(void);
/* The kernel receive time of the packets handed to ce_sim_probe_rx() next. */
void ce_sim_probe_stamp(const struct timespec *ts);
/* A leg sent a G.711 frame; onsets are timed when ce_sim_probe_sent() runs. */
void ce_sim_probe_tx(
        struct sim_probe **pp, const char *who, const uint8_t *g711, size_t n, int alaw);
/* The queued packets left (after sendmmsg/sendto): stamp pending onsets. */
void ce_sim_probe_sent(void);
/* A leg received @n decoded samples. */
void ce_sim_probe_rx(struct sim_probe **pp, const char *who, const int16_t *pcm, size_t n);
/* The leg ends: its counters are written, *pp is freed. */
void ce_sim_probe_leg_free(struct sim_probe **pp, const char *who);

#endif
