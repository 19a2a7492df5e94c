/* lobby.h - the lobby: callers who key in a conference number and PIN before they join */
#ifndef CE_CONF_LOBBY_H
#define CE_CONF_LOBBY_H

#include <stdbool.h>
#include <glib.h>

#include "modules/schedule/schedule.h"

struct ce_conf;
struct ce_leg;
struct ce_room;
struct ce_join_params;
struct ce_msg;
struct ce_config;

/* The lobby's settings, the lobby_* keys of [conference] (docs/configuration.md). */
struct ce_lobby_settings {
	char *notify;              /* the lobby rooms' chan.notify target ("" none) */
	unsigned tries;            /* wrong or missing entries before the goodbye */
	unsigned digit_timeout_ms; /* between two keys: the entry ends */
	unsigned entry_timeout_ms; /* from the end of a prompt to the first key */
	unsigned max_digits;       /* a longer entry is a wrong one */
	bool recognise;            /* ask about the caller's number before anything */
	unsigned name_ms;          /* the longest recorded name (0: never asked) */
};

/*
 * Who decides admissions: the schedule module (ce_schedule_ask) in the
 * engine; tests hand in their own.  @ask returns NULL when nobody can
 * answer (no schedule module): the lobby then says goodbye.
 */
struct ce_lobby_admit {
	struct ce_sched_query *(*ask)(
	        void *arg, const struct ce_sched_ask *q, ce_sched_answer_h *cb, void *cbarg);
	void (*cancel)(struct ce_sched_query *q);
	void *arg;
};

struct ce_lobby_call;

void ce_lobby_settings_load(struct ce_lobby_settings *set, const struct ce_config *cfg);
void ce_lobby_settings_free(struct ce_lobby_settings *set);
bool ce_lobby_target(const char *callto);
struct ce_room *ce_lobby_room(struct ce_conf *conf, struct ce_join_params *p);
int ce_lobby_attach(struct ce_leg *leg, const struct ce_msg *msg);
void ce_lobby_joined(struct ce_leg *leg);
void ce_lobby_input(struct ce_leg *leg, const char *text);
void ce_lobby_prompt_done(struct ce_leg *leg);
void ce_lobby_tick(struct ce_leg *leg, gint64 now);
void ce_lobby_rtp(struct ce_leg *leg, const struct ce_msg *ans);
void ce_lobby_free(struct ce_lobby_call *lc);
void ce_lobby_forget_name(struct ce_conf *conf, const char *file);
void ce_lobby_forget_all(struct ce_conf *conf);

#endif
