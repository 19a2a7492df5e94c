/* schedule.h - the scheduled-conference service: what tests and other modules may call */
#ifndef CE_SCHEDULE_H
#define CE_SCHEDULE_H

struct ce_engine;

/*
 * The schedule module (docs/schedule.md) admits callers of schedule/KEY and
 * of conf/ rooms bound to a scheduled conference, warns and ends
 * conferences on time and dials participants out.  Its timers read
 * ce_engine_now(), so a test that drives a fake clock calls
 * ce_schedule_tick() instead of waiting for the 1 s GLib timer.
 */

void ce_schedule_tick(struct ce_engine *ce);
void ce_schedule_poll(struct ce_engine *ce);
unsigned ce_schedule_n_active(struct ce_engine *ce);

#endif
