/* room.h - conference rooms on the signalling side: registry, membership, owners, lonely timer,
 * notifications */
#ifndef CE_CONF_ROOM_H
#define CE_CONF_ROOM_H

#include <stdbool.h>
#include <glib.h>

#include "base/histogram.h"
#include "bus.h"
#include "media/g711.h"
#include "media/recfile.h"
#include "lobby.h"

struct ce_bus;
struct ce_msg;
struct ce_leg;
struct ce_media_glue_ops;
struct ce_room_media;
struct ce_join_params;
struct ce_prompt_set;

/* Yate's defaults, kept for compatibility (modules/conference.cpp). */
#define CE_ROOM_DEF_MAXUSERS 10
#define CE_ROOM_DEF_SPEAKERS 3
#define CE_ROOM_MAX_SPEAKERS 8
#define CE_ROOM_DEF_INTERVAL 3000
#define CE_ROOM_MIN_INTERVAL 1000
#define CE_ROOM_MIN_LONELY   1000

/* The module's settings, from the [conference] section. */
struct ce_conf_settings {
	unsigned priority;      /* of call.execute, call.conference, ... */
	int maxusers;           /* default maxusers of a new room */
	unsigned rate;          /* default room rate */
	char *rtp_address;      /* our RTP address as Yate must reach it */
	bool bypass;            /* take SIP phones' RTP directly when Yate offers it */
	bool noise_suppression; /* legs' default noise_suppression= (media/dsp.h) */
	bool agc;               /* legs' default agc= */
	char *bypass_address;   /* our RTP address as phones must reach it */
	unsigned media_threads; /* [conference] media_threads (media-glue.c reads it too) */
	enum ce_codec codec;    /* format= asked of Yate in chan.rtp */
	/* codecs=: what bypassed phones are answered, best first (bypass.c) */
	enum ce_codec codecs[CE_CODEC_COUNT];
	unsigned n_codecs;
	unsigned offer_timeout_ms; /* call.execute answered -> dumb peer seen */
	unsigned step_timeout_ms;  /* each message to Yate while joining */
	unsigned join_timeout_ms;  /* offered -> in the room, overall */
	unsigned rtp_timeout_ms;   /* no RTP for this long ends a leg (0: never) */
	unsigned tick_ms;          /* how often deadlines are checked */
	bool joined_peerid;        /* add peerid= to "joined" (Yate never does) */
	char *prompts_dir;         /* where prompt names that are not absolute are found */
	/* its language folders, read at start (prompt-set.h) */
	struct ce_prompt_set *prompts;
	char *enter_prompt;        /* played to the room when someone joins ("" none) */
	char *leave_prompt;        /* played to the room when someone leaves */
	char *lonely_prompt;       /* played to one who joins an empty room */
	char *record_prompt;       /* recordwarn of recordings started by us */
	char *moh;                 /* music on hold of rooms whose request names none ("" none) */
	char *record_dir;          /* the root that record= files are confined to (recfile.c) */
	char **play_roots;         /* the folders prompt files may be played from (recfile.c) */
	unsigned tone_duration_ms; /* how long a tone/ prompt plays without duration= */
	struct ce_lobby_settings lobby; /* the lobby_* keys (lobby.h) */
	char *journal;                  /* the open-leg journal's file, NULL for none (recover.c) */
};

/* Tone prompts: the default and longest duration= (ms). */
#define CE_TONE_DEF_DURATION 5000
#define CE_TONE_MAX_DURATION 3600000

/* How to play a prompt (chan.control play's parameters). */
struct ce_play_opts {
	unsigned duration_ms; /* tones: how long; 0 for the default */
	bool replace;         /* queue=false: stop what plays and waits in that queue first */
	bool loop;            /* a file played over and over until that queue is stopped */
};

/* A clock in microseconds (monotonic by default; tests drive their own). */
typedef gint64(ce_conf_clock_h)(void *arg);

/*
 * The module's state, shared by rooms and legs.  Everything here lives on
 * the main loop.
 */
struct ce_conf {
	struct ce_bus *bus;
	struct ce_conf_settings set;
	const struct ce_media_glue_ops *media;
	void *media_arg;
	bool media_open;
	GHashTable *rooms;   /* name -> struct ce_room */
	GHashTable *legs;    /* dumb/N -> struct ce_leg (borrowed) */
	GHashTable *offers;  /* caller channel id -> struct ce_leg waiting for dumb/N */
	GHashTable *moving;  /* channel id -> struct ce_leg being moved (call.conference) */
	GHashTable *dialing; /* dumb/N -> struct ce_msg: a dial-out ringing, not in a room yet */
	unsigned disc_hook;  /* chan.disconnected handler while moves are pending */
	GPtrArray *all;      /* every live leg (holds a reference) */
	struct ce_hist admission; /* call.execute arrival to decision (us; main loop) */
	unsigned room_alloc;      /* last allocated "x-N" room */
	unsigned leg_seq;
	ce_conf_clock_h *clock;
	void *clock_arg;
	guint tick_id;
	GArray *hooks;              /* handler ids */
	GArray *watches;            /* watcher ids */
	unsigned link_gen;          /* link losses so far (legs made before the last have less) */
	bool link_down;             /* from a loss until Yate is back and told its run id */
	gint64 link_lost_at;        /* module clock at the last loss */
	unsigned lost_legs;         /* closed as link-lost since the last report */
	GHashTable *lost_rooms;     /* their room names (owned), NULL when none */
	unsigned record_failures;   /* recordings stopped by a failed write (disk full...) */
	struct ce_journal *journal; /* the open-leg journal, or NULL (recover.c) */
	char *runid;                /* Yate's run id, from the last link up ("" unknown) */
	GPtrArray *recover;         /* journal legs of a previous engine, until the link is up */
	gint64 last_alive;          /* when that engine was last alive (wall clock, us) */
	struct ce_conf_recovery *recovery; /* taking over those legs (recover.c), or NULL */
	struct ce_lobby_admit admit;       /* who admits lobby callers (lobby.h) */
	GHashTable *names;                 /* recorded names to remove, a minute on (lobby.c) */
	struct ce_keypad *keypad;          /* the keypad module's (keypad.c), or NULL */
	bool warned_fwd_refused;           /* calls came with rtp_forward=possible (logged once) */
	bool noted_no_raw;   /* bypassed calls came without sdp_raw, codecs= has Opus (once) */
	guint64 direct_legs; /* legs that took a phone's RTP directly (status) */
};

/* A room; lives while it has legs (in the room or on their way in). */
struct ce_room {
	struct ce_conf *conf;
	char *name;
	char *notify; /* chan.notify target, NULL for none */
	char *lang;   /* lang= of the request that made it (its prompts), or NULL */
	unsigned rate;
	int maxusers;
	int waitlock;
	int users; /* counted legs in the room */
	int pending_counted;
	bool lonely;
	unsigned lonely_ms;
	gint64 expire; /* lonely deadline, 0 for none */
	bool locked;
	bool created; /* newroom=true not yet reported */
	bool dropping;
	bool unowned_waits; /* lost its owners while the link was down (relink.c) */
	bool lobby;         /* a lobby caller's own room (lobby.c): no room prompts */
	GPtrArray *legs;    /* in the room, in join order */
	GPtrArray *pending; /* reserved, still joining */
	GPtrArray *owners;  /* char * channel ids */
	char *player_id;
	char *record;            /* what is being recorded (the file created), or NULL */
	char *record_error;      /* why the last record= was refused, or NULL */
	struct ce_leg *recorder; /* the utility leg recording to a Yate target, or NULL */
	unsigned hold;           /* > 0: not destroyed when empty (a recorder is being called) */
	unsigned speakers;       /* how many talkers "speaking" lists */
	unsigned interval;       /* minimum ms between "speaking" events */
	struct ce_room_media *media;
	/* what it does as people come and go (entry.c), from the request that made it */
	bool announce_count, announce_join, wait_moderator, end_with_moderator;
	char *moh;              /* music on hold, or NULL */
	bool held;              /* wait_moderator and no moderator came yet: participants held */
	const char *end_reason; /* static: why the room is dropping everyone, for "left" */
};

/* The reason of the legs a room with end_with_moderator drops when its last moderator left. */
#define CE_ROOM_MODERATOR_LEFT "moderator-left"

/* Why a join was refused: Yate error name and reason text. */
struct ce_room_refusal {
	const char *error;
	const char *reason;
};

struct ce_config;
struct ce_room_event;

int ce_conf_new(struct ce_conf **confp, struct ce_bus *bus, const struct ce_config *cfg,
        const struct ce_media_glue_ops *media, void *media_arg);
void ce_conf_free(struct ce_conf *conf);
void ce_conf_settings_load(struct ce_conf_settings *set, const struct ce_config *cfg);
void ce_conf_tick(struct ce_conf *conf);
void ce_conf_moved(struct ce_conf *conf, struct ce_leg *leg, bool ok);
void ce_conf_media_event(const struct ce_room_event *ev, void *arg);
void ce_conf_list(struct ce_conf *conf, GString *out);
int ce_conf_show(struct ce_conf *conf, const char *room, GString *out);

/* prompt.c */
char *ce_conf_prompt_path(const struct ce_conf *conf, const char *name, const char *lang);
int ce_room_play(struct ce_room *room, const char *file, struct ce_leg *leg, bool others);
int ce_room_say(struct ce_room *room, const GPtrArray *names, struct ce_leg *leg, bool others);
int ce_room_play_opts(struct ce_room *room, const char *file, struct ce_leg *leg, bool others,
        const struct ce_play_opts *o, const char **why);
int ce_room_stop_play(struct ce_room *room, struct ce_leg *leg, bool others);
int ce_room_record(struct ce_room *room, const char *file, const char *warn);
char *ce_room_record_name(const struct ce_room *room, const char *who);

/* entry.c */
void ce_room_entry_init(struct ce_room *room, const struct ce_join_params *p);
void ce_room_entry_joined(struct ce_room *room, struct ce_leg *leg);
void ce_room_entry_settled(struct ce_room *room, struct ce_leg *leg);
bool ce_room_entry_ends(const struct ce_room *room, const struct ce_leg *leg);
void ce_room_entry_left(struct ce_room *room, struct ce_leg *leg);
void ce_conf_settings_free(struct ce_conf_settings *set);
void ce_conf_prompt_settings(struct ce_conf_settings *set, const struct ce_config *cfg);
char **ce_conf_play_roots(const struct ce_config *cfg);

/* recorder.c */
bool ce_record_is_file(const char *record);
int ce_recorder_start(
        struct ce_room *room, const char *target, const struct ce_join_params *req, bool voice);
void ce_recorder_stop(struct ce_room *room, const char *reason);

/* control.c */
struct ce_dispatch;
struct ce_engine;
enum ce_msg_result ce_conf_on_control(struct ce_dispatch *d, struct ce_msg *msg, void *arg);
enum ce_msg_result ce_conf_on_update(struct ce_dispatch *d, struct ce_msg *msg, void *arg);
enum ce_msg_result ce_conf_on_drop(struct ce_dispatch *d, struct ce_msg *msg, void *arg);
void ce_conf_console_add(struct ce_engine *ce, struct ce_conf *conf);
void ce_conf_console_remove(struct ce_engine *ce);

/* relink.c */
char *ce_conf_count_text(unsigned legs, unsigned rooms);
void ce_conf_watch_link(struct ce_msg *msg, bool handled, void *arg);
void ce_conf_rtp_timeout(struct ce_leg *leg);
void ce_conf_relink_tick(struct ce_conf *conf);

/* recover.c */
int ce_conf_journal_open(struct ce_conf *conf);
void ce_conf_journal_ports(struct ce_conf *conf);
void ce_conf_journal_enter(struct ce_leg *leg, const struct ce_msg *rtp);
void ce_conf_journal_leave(struct ce_leg *leg);
void ce_conf_journal_tick(struct ce_conf *conf);
void ce_conf_recover(struct ce_conf *conf);
void ce_conf_journal_close(struct ce_conf *conf);

gint64 ce_conf_now(const struct ce_conf *conf);
void ce_conf_send(struct ce_conf *conf, struct ce_msg *msg);

struct ce_room *ce_room_find(struct ce_conf *conf, const char *name);
bool ce_room_check(struct ce_conf *conf, GString *name, bool existing, bool counted, bool utility,
        struct ce_room_refusal *why);
int ce_room_new(struct ce_room **rp, struct ce_conf *conf, const char *name,
        const struct ce_join_params *p);
int ce_room_new_at(struct ce_room **rp, struct ce_conf *conf, const char *name,
        const struct ce_join_params *p, unsigned port);
void ce_room_update(struct ce_room *room, const struct ce_join_params *p);
void ce_room_reserve(struct ce_room *room, struct ce_leg *leg);
void ce_room_unreserve(struct ce_room *room, struct ce_leg *leg);
void ce_room_add(struct ce_room *room, struct ce_leg *leg);
void ce_room_remove(struct ce_room *room, struct ce_leg *leg);
void ce_room_add_owner(struct ce_room *room, const char *id);
void ce_room_del_owner(struct ce_room *room, const char *id);
bool ce_room_is_owned(const struct ce_room *room);
bool ce_room_wideband(const struct ce_room *room);
unsigned ce_room_mix_rate(const struct ce_room *room);
bool ce_room_idle(const struct ce_room *room);
void ce_room_drop_all(struct ce_room *room, const char *reason);
void ce_room_tick(struct ce_room *room, gint64 now);
bool ce_room_set_params(
        struct ce_room *room, const struct ce_join_params *p, struct ce_msg *answer);
bool ce_room_set_recording(struct ce_room *room, const struct ce_join_params *p);
void ce_room_record_failed(struct ce_room *room, const char *error, int err);
void ce_room_set_locked(struct ce_room *room, bool locked);
bool ce_room_full(const struct ce_room *room);
struct ce_room *ce_conf_open_room(struct ce_conf *conf, GString *name,
        const struct ce_join_params *p, struct ce_room_refusal *why);
void ce_conf_forget_room(struct ce_room *room);
void ce_room_speakers(struct ce_room *room, struct ce_leg *const *legs, const unsigned *energy,
        unsigned n, bool changed);
void ce_room_leg_event(struct ce_room *room, struct ce_leg *leg, struct ce_room_event *ev);
void ce_room_notify_leg(struct ce_room *room, struct ce_leg *leg, const char *event,
        const char *extra_name, const char *extra_value);
void ce_room_notify_input(
        struct ce_room *room, struct ce_leg *leg, const struct ce_msg *dtmf, const char *event);
void ce_room_keypad_event(struct ce_room *room, struct ce_leg *leg, const char *action);
void ce_room_status(const struct ce_room *room, GString *out);

#endif
