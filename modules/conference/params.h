/* params.h - what a request to join a room says, parsed once where it comes in */
#ifndef CE_CONF_PARAMS_H
#define CE_CONF_PARAMS_H

#include <stdbool.h>
#include <glib.h>

struct ce_msg;
struct ce_conf_settings;

/*
 * The parameters of call.execute, call.conference (and the engine's own
 * requests: dial-out answers, journal lines of a crashed engine) with
 * Yate's names, semantics and defaults (modules/conference.cpp); see
 * docs/conference.md, "Parameters".  Strings are borrowed from the request:
 * they live as long as it does and that parameter is not set again (the
 * answer's own parameters may be); passed is owned (ce_join_params_clear).
 */
struct ce_join_params {
	/* the room, read when the request makes it (Yate's ConfRoom constructor) */
	const char *notify; /* chan.notify target, NULL for none */
	unsigned rate;      /* as Yate reads it, 8000..48000; the media may run another */
	int maxusers;
	int waitlock;
	unsigned speakers; /* 0..CE_ROOM_MAX_SPEAKERS */
	unsigned interval; /* ms between "speaking" events: 0 or >= CE_ROOM_MIN_INTERVAL */
	bool has_lonely;   /* lonely= given: a later request may change the room's */
	bool lonely;       /* a true boolean or a number */
	long lonely_ms;    /* the number, or -1 */
	bool existing;
	/* Yate's setRecording and setParams (NULL when absent) */
	const char *record;
	const char *recordwarn;
	const char *confowner;
	const char *id;     /* the calling channel (owner when confowner is a boolean) */
	const char *reason; /* why a recording stops, why call.conference moves a call */
	/* ours: the prompts' language (a valid name, prompt-set.h), NULL when absent or bad */
	const char *lang;
	/* ours: what the room does as people come and go (entry.c), read when it is made */
	bool announce_count;     /* the newcomer hears how many are in */
	bool announce_join;      /* the room hears who joins and leaves */
	bool wait_moderator;     /* participants are held until a moderator joins */
	bool end_with_moderator; /* the last moderator to leave ends the room */
	const char *moh;         /* music on hold (a prompt name), NULL for silence */
	/* the leg */
	bool utility, counted, voice, smart, echo, billing, player;
	bool muted_on_entry;     /* ours: a participant (not a moderator) starts muted */
	bool ns, agc;            /* ours: noise suppression and AGC of what it says (dsp.h) */
	const char *name_prompt; /* ours: a recording of the participant's name, or NULL */
	/* Passed on as they are (who the participant is, billing, a recorder's
	 * call): caller, callername, called, billid, username, maxlen,
	 * conference_id, participant_*, those present, empty ones too. */
	struct ce_msg *passed;
};

void ce_join_params_init(struct ce_join_params *p, const struct ce_conf_settings *set);
void ce_join_params_parse(struct ce_join_params *p, const struct ce_msg *msg,
        const struct ce_conf_settings *set, GString *notes);
void ce_join_params_read(
        struct ce_join_params *p, const struct ce_msg *msg, const struct ce_conf_settings *set);
void ce_join_params_clear(struct ce_join_params *p);

#endif
