/* schedule-priv.h - the schedule module's state, shared by its files (not for other modules) */
#ifndef CE_SCHEDULE_PRIV_H
#define CE_SCHEDULE_PRIV_H

#include <stdbool.h>
#include <glib.h>

#include "modules/schedule/guard.h"
#include "modules/store/store.h"

struct ce_engine;
struct ce_bus;
struct ce_dialer;
struct ce_msg;

/* [schedule] settings (conf/conf-engine.conf lists them with defaults). */
struct sched_settings {
	unsigned priority;         /* call.execute handler; before the conference's 50 */
	unsigned tick_ms;          /* timer evaluation period */
	unsigned poll_s;           /* store read of the conferences around now */
	unsigned admit_timeout_ms; /* a caller waits at most this for the store */
	int maxusers;              /* room size of a conference without max_participants */
	bool guard_rooms;          /* conf/NAME of a scheduled room needs admission too */
	bool dialout;              /* dial participants with dial_out at the start */
	unsigned dial_retries;     /* attempts after the first for busy/noanswer/... */
	unsigned dial_retry_s;     /* between attempts */
	unsigned dial_timeout_ms;  /* Yate's answer to the dial-out call.execute */
	unsigned dial_ring_ms;     /* maxcall: how long Yate lets a dial-out ring */
	char *notify_prefix;       /* notify= of scheduled rooms: PREFIX<room> */
	char *end_reason;          /* call.drop reason at the end */
	char *pin_param;           /* call parameter that carries the PIN */
	bool lobby;                /* schedule/KEY without a needed PIN goes to the lobby */
	struct guard_limits guard; /* pin_fail_*, pin_window_*, pin_lockout, pin_guard_callers */
	unsigned extend_max_min;   /* the longest a conference may be extended, in all */
};

/* A scheduled conference the module knows to be near or running. */
struct sconf {
	gint64 id; /* the key in sched.confs */
	struct ce_conference *c;
	bool live;    /* someone was admitted or dialled: the room may exist */
	bool started; /* start-time work done (dial-out) */
	bool alerted;
	bool announced; /* "the conference has ended" played */
	bool ended;
	GHashTable *callers;      /* caller channel id -> NULL: admitted, not hung up */
	unsigned reserved;        /* admissions on their way */
	gint64 extended_us;       /* extensions this engine made to it (extend.c) */
	gint64 extend_pending_us; /* extensions asked of the store, not answered yet */
};

/* One dial-out attempt of a participant. */
struct dialout {
	struct sched *s;
	gint64 conference_id;
	gint64 participant_id;
	char *room;
	char *address;
	char *name;
	enum ce_role role;
	char *id;        /* dumb/N once Yate answered */
	unsigned call;   /* the dialer's number of the current attempt; 0: none */
	unsigned tries;  /* failed attempts so far */
	gint64 retry_at; /* 0: not waiting for a retry */
	bool answered;   /* connected: Yate answered dumb/N itself, or the far end did */
	bool gone;
};

/*
 * What an answer that can arrive after the module stopped (the store's,
 * Yate's) holds instead of the module: s is NULL once the module stopped.
 */
struct sched_ref {
	gint refs;
	struct sched *s;
};

struct sched {
	struct ce_engine *ce;
	struct sched_ref *self; /* NULLed and dropped when the module stops */
	struct ce_bus *bus;
	struct sched_settings set;
	GHashTable *confs;        /* conference id (gint64 *) -> struct sconf */
	GHashTable *callers;      /* caller channel id -> conference id (gint64 *) */
	GPtrArray *dials;         /* struct dialout */
	struct ce_dialer *dialer; /* places and follows the dial-outs (conf-engine/dial.c) */
	GList *pending;           /* admissions waiting for the store */
	struct pin_guard *guard;
	GPtrArray *extends; /* extension answers waiting for the main loop (extend.c) */
	GArray *hooks;
	GArray *watches;
	guint tick_id;
	gint64 next_poll;
	bool polling;
	bool repoll; /* a poll was asked for while one ran */
	guint64 admitted, refused, dialled, dial_failed, ended, lobbied;
};

/* schedule.c */
struct sched_ref *ce_sched_ref(struct sched *s);
void ce_sched_ref_drop(gpointer ref);
void ce_sched_send(struct sched *s, struct ce_msg *msg);

/* admit.c */
int ce_sched_admit_init(struct sched *s);
void ce_sched_admit_exit(struct sched *s);
void ce_sched_room_params(struct sched *s, struct ce_msg *msg, const struct ce_conference *c);

/* timers.c */
struct sconf *ce_sched_track(struct sched *s, struct ce_conference *c);
struct sconf *ce_sched_find(struct sched *s, gint64 id);
struct sconf *ce_sched_find_room(struct sched *s, const char *room);
struct sconf *ce_sched_find_key(struct sched *s, const char *key);
void ce_sched_sconf_free(gpointer data);
void ce_sched_run(struct sched *s, gint64 now);
void ce_sched_poll(struct sched *s);

/* extend.c */
void ce_sched_extend_exit(struct sched *s);

/* dialout.c */
void ce_sched_dial_start(struct sched *s, struct sconf *sc);
void ce_sched_dial_run(struct sched *s, gint64 now);
void ce_sched_dial_end(struct sched *s, gint64 conference_id);
void ce_sched_dialout_free(gpointer data);

#endif
