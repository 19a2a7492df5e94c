/* keypad.h - keypad controls of callers in a room: the key map, digit collection, the actions */
#ifndef CE_CONF_KEYPAD_H
#define CE_CONF_KEYPAD_H

#include <stdbool.h>
#include <glib.h>

#include "modules/schedule/schedule.h"

struct ce_conf;
struct ce_config;
struct ce_leg;
struct ce_keypad;

/* The longest key sequence of the map ("*12#" is 4). */
#define CE_KEYPAD_SEQ_MAX 4

/*
 * How the keypad asks the schedule for more time: ce_schedule_extend()'s
 * shape without the engine (the module passes it; a test its own).
 */
typedef int(ce_keypad_extend_h)(void *arg, const char *room, unsigned minutes,
        ce_sched_extended_h *cb, void *cbarg, GDestroyNotify destroy);

int ce_keypad_new(struct ce_keypad **kpp, struct ce_conf *conf, const struct ce_config *cfg);
void ce_keypad_free(struct ce_keypad *kp);
void ce_keypad_set_extend(struct ce_keypad *kp, ce_keypad_extend_h *h, void *arg);
void ce_keypad_input(struct ce_keypad *kp, struct ce_leg *leg, const char *text);
void ce_keypad_tick(struct ce_keypad *kp);
int ce_keypad_check(const struct ce_config *cfg, GError **err);

#endif
