/* room-event.h - one typed room event, from the media side to Yate's chan.notify and the rows */
#ifndef CE_ROOM_EVENT_H
#define CE_ROOM_EVENT_H

#include <stdbool.h>
#include <glib.h>

struct ce_msg;

/*
 * What happens in a room, in one struct from the media side to every
 * consumer (docs/ARCHITECTURE.md, "The path of a talker event"):
 *
 *   media-glue.c   the media core's event -> struct ce_room_event
 *   room.c, leg.c  fill in the names; hand it to the bus's room hooks
 *                  (ce_bus_room_event: the monitor) and build Yate's
 *                  chan.notify from it
 *   monitor        its tracker (track*.c) keeps the participant and fills
 *                  in a struct ce_room_event of its own, the monitor's
 *                  record: the JSON line, the chan.notify it forwards and
 *                  the store's row are made from that
 *
 * Yate's rooms reach the monitor as chan.notify, which it parses into the
 * same struct (track-notify.c).
 *
 * In the monitor's record, who is the participant as the tracker resolved
 * it: who.caller its number, who.callername its name (participant_number
 * and participant_name when the call said them), who.number and who.name
 * NULL; who.conference_id is the participant's, else the room's.  Its
 * detail is reason (LEAVE, RECORD_STOP), record (RECORD_START) or action
 * (KEYPAD).
 *
 * Strings are borrowed for the length of the call.
 */

/*
 * The kinds.  The first ones, up to CE_EVENT_END, are rows: the store
 * writes them (ce_event_kind_name: "talk-start"...) and the monitor's
 * event log too (with "destroyed" for CE_EVENT_END).  Those names are an
 * interface: never rename them.
 */
enum ce_event_kind {
	CE_EVENT_CREATED,
	CE_EVENT_ENTER,
	CE_EVENT_LEAVE,
	CE_EVENT_TALK_START,
	CE_EVENT_TALK_STOP,
	CE_EVENT_MUTE,
	CE_EVENT_UNMUTE,
	CE_EVENT_RECORD_START,
	CE_EVENT_RECORD_STOP,
	CE_EVENT_END_ALERT, /* the schedule module's: a scheduled conference ends soon */
	CE_EVENT_LOCK,      /* the room is locked: nobody else gets in */
	CE_EVENT_UNLOCK,
	CE_EVENT_KEYPAD, /* a caller's keypad action (action: "count 7", "lock not-allowed") */
	CE_EVENT_END,    /* the room is destroyed */
	/* not rows: what only the signalling acts on */
	CE_EVENT_SPEAKERS,      /* the room's loudest talkers, loudest first */
	CE_EVENT_RTP_TIMEOUT,   /* no RTP from the leg for the configured time */
	CE_EVENT_PROMPT_FAILED, /* a prompt could not be played: error, file */
	CE_EVENT_PROMPT_DONE,   /* a prompt to one leg alone played to its end */
	CE_EVENT_RECORD_FAILED, /* the room's recording stopped on an error: error, file, err */
	CE_EVENT_DTMF,          /* keys in a phone's RTP (RFC 4733, bypassed legs): text */
	CE_EVENT_N_KINDS
};

/* Who runs the room: the source ("yate", "engine") the monitor's record says. */
enum ce_room_source {
	CE_ROOM_SRC_YATE,   /* Yate's (its conference module, a script), told by chan.notify */
	CE_ROOM_SRC_ENGINE, /* the engine's own rooms */
};

/* How many kinds are rows (the store's and the event log's). */
#define CE_EVENT_N_ROWS (CE_EVENT_END + 1)

#define CE_ROOM_EVENT_MAX_SPEAKERS 8

/*
 * Who a participant is, as a join request or a journal line says it
 * (leg.c's who_params; docs/monitor.md).  NULL or 0: not said.
 */
struct ce_room_who {
	const char *caller, *callername, *called, *billid;
	const char *number, *name, *role, *direction; /* participant_number ... _direction */
	gint64 conference_id, participant_id;
};

struct ce_room_event {
	enum ce_event_kind kind;
	gint64 at;           /* microseconds since the epoch; 0: now (hooks run at once) */
	const char *room;    /* the room's name */
	const char *target;  /* its notify= target (chan.notify targetid) */
	void *room_data;     /* the media side's events: the signalling's room cookie */
	void *leg_data;      /* ... and leg cookie (TALK_*, RTP_TIMEOUT) */
	const char *leg;     /* the participant's channel in the room (dumb/3) */
	const char *peer;    /* the caller's channel (sip/12) */
	int users, maxusers; /* -1: not said */
	int energy;          /* TALK_START: Yate's scale (log2 of the squared envelope); else -1 */
	struct ce_room_who who; /* CREATED (the first caller's), ENTER */
	const char *resumed;    /* ENTER: a leg of an engine that died, and why; else NULL */
	gint64 joined_ms;       /* ENTER with resumed: it joined this long ago */
	gint64 gone_ms;         /* LEAVE: it left this long ago (its Yate went away); else 0 */
	const char *reason;     /* LEAVE: why, when no call.drop or chan.hangup will say;
	                         * RECORD_STOP: why the recording stopped by itself */
	const char *record;     /* RECORD_START: the record= asked for */
	const char *file;       /* RECORD_*: the file; PROMPT_FAILED: the prompt */
	const char *error;      /* *_FAILED: why, for the log */
	const char *action;     /* KEYPAD: the action and what came of it ("talk_up +2") */
	const char *text;       /* DTMF: the keys */
	int err;                /* RECORD_FAILED: errno of a failed write (ENOSPC...), or 0 */
	bool changed;           /* SPEAKERS: the set of talkers changed, order aside */
	unsigned n_speakers;
	struct {
		void *leg_data;
		unsigned energy;
	} speakers[CE_ROOM_EVENT_MAX_SPEAKERS];

	/* set in the monitor's record only (track.c) */
	enum ce_room_source source; /* who runs the room */
	gint64 duration_ms;         /* LEAVE: since it entered; TALK_STOP: the talk; else -1 */
};

/* A subscriber to the engine's own room events (ce_bus_room_subscribe). */
typedef void(ce_room_event_h)(const struct ce_room_event *ev, void *arg);

void ce_room_event_init(struct ce_room_event *ev, enum ce_event_kind kind);
void ce_room_who_read(struct ce_room_who *w, const struct ce_msg *msg);

#endif
