/* conference.h - the service "conference": what other modules may ask of the conf/ rooms */
#ifndef CE_CONFERENCE_H
#define CE_CONFERENCE_H

#include <stdbool.h>

struct ce_conf;
struct ce_engine;

/*
 * The conference module provides its rooms under this name; a module that
 * uses them names "conference" in its requires (CE_WANTS when it copes
 * without: the calls below then answer -ENODEV).
 */
#define CE_CONFERENCE_SERVICE "conference"

struct ce_conf *ce_conference_service(struct ce_engine *ce);

/*
 * Histograms for /metrics (base/histogram.h): each adds its counts to
 * @out and returns the bounds, or NULL (no module, no media threads).
 * Admission: from a call.execute's arrival to the decision on it, in us;
 * the schedule module counts the calls it refuses, this module the rest
 * (ce_conference_admission_done).  Media: each wake of a media thread
 * (every 5 ms), its working time in us.
 */
struct ce_hist;
struct ce_hist_bounds;
struct ce_dispatch;
const struct ce_hist_bounds *ce_conference_admissions(struct ce_conf *conf, struct ce_hist *out);
const struct ce_hist_bounds *ce_conference_media_wakes(struct ce_conf *conf, struct ce_hist *out);
void ce_conference_admission_done(struct ce_conf *conf, const struct ce_dispatch *d);

/*
 * These act on the rooms of @conf (the service, NULL: none), on the main
 * loop; they never block (files are opened on the media I/O thread, and a
 * bad file is only logged).  @room is the room name without "conf/".
 *
 * Prompt names: a bare file name is looked up in [conference] prompts_dir
 * (the shipped prompts: enter.wav, leave.wav, lonely.wav, recording.wav,
 * end-1min.wav, end-5min.wav, end-10min.wav, ended.wav); a name with a '/'
 * or Yate's wave/play/PATH is used as it is; Yate's tone/NAME (tone/busy,
 * tone/dtmf/5, ...) is synthesised for [conference] tone_duration.
 */

/*
 * Play @file once: to the whole room (@leg NULL), to one leg, or with
 * @others to everyone but that leg, after the prompts already queued for
 * that target (the room's queue for the room and all-but-one, the leg's
 * own).  @leg is a dumb/N id, the caller's channel id or the leg's number
 * in "conf show".  Returns 0, -ENODEV (no conference module), -ENOENT (no
 * such room or leg), -EINVAL (no file, unknown tone), -ENOTCONN (the leg
 * has no audio yet), -ENOBUFS (that queue is full).
 */
int ce_conference_play(
        struct ce_conf *conf, const char *room, const char *file, const char *leg, bool others);

/*
 * A play of the HTTP API (http-actions.c): the console's "conf play" with
 * the options of chan.control's operation=play.  @file: a prompt name or
 * tone/NAME; @duration_ms: a tone's length (0: the default; files play
 * whole); @replace: stop what plays and waits in that queue first
 * (queue=false); @others: to everyone but the leg.
 */
struct ce_conference_play {
	const char *file;
	unsigned duration_ms;
	bool replace;
	bool others;
};

/*
 * Check a play before it is made, without touching the disk: the room,
 * the leg (NULL: the room) and what @p->file names.  Returns 0 with *@path
 * the file the media side would open (NULL for a tone; g_free it) and
 * *@roots the folders it must really lie in (g_strfreev), to be checked
 * off the main loop (recfile.h: ce_prompt_open); or -ENODEV, -ENOENT (no
 * such room or leg), -EINVAL (nothing to play, unknown tone, a duration
 * for a file), -E2BIG (too many DTMF digits), -ERANGE (a duration over an
 * hour), -EACCES (outside the play roots), with *@why (static) saying why
 * for the last four.
 */
int ce_conference_play_check(struct ce_conf *conf, const char *room, const char *leg,
        const struct ce_conference_play *p, char **path, char ***roots, const char **why);

/*
 * Make the play @p to @room (@leg NULL) or its leg @leg.  Returns 0,
 * -ENODEV, -ENOENT (no such room or leg), -EINVAL, -E2BIG, -EACCES (as
 * ce_conference_play_check), -ENOTCONN (the leg has no audio yet),
 * -ENOBUFS (that queue is full), with *@why (static) saying why.
 */
int ce_conference_play_opts(struct ce_conf *conf, const char *room, const char *leg,
        const struct ce_conference_play *p, const char **why);

/*
 * Stop the prompts playing and queued for @room (@leg NULL), for @leg
 * alone, or (@others) for everyone but @leg: "conf stopplay".  Returns how
 * many were stopped, -ENODEV, -ENOENT or the media side's error.
 */
int ce_conference_stop_play(
        struct ce_conf *conf, const char *room, const char *leg, bool others);

/*
 * Record the room's mix to @file (WAV; FLAC, AU or OGG by the extension;
 * Yate's wave/record/PATH too) or by calling Yate target @file
 * (external/nodata/..., sip/...: a utility leg, docs/conference.md),
 * replacing a running recording, with the configured record_prompt played
 * first and Yate's "recording" notification; NULL stops.  Returns 0,
 * -ENODEV, -ENOENT or -EIO.
 */
int ce_conference_record(struct ce_conf *conf, const char *room, const char *file);

/*
 * Actions of the HTTP API, the same as the console's "conf lock", "conf
 * mute", ... (control.c).  @leg is what "conf kick" takes: a dumb/N id,
 * the caller's channel id or the leg's number in "conf show".
 *
 * ce_conference_lock: lock (refuse new participants) or unlock @room.
 * ce_conference_end: drop every leg of @room with @reason (the room ends).
 * ce_conference_leg_op: @op is mute, unmute, deaf, undeaf or kick (@reason
 * for kick, NULL: "kicked").
 * ce_conference_record_start: record @room's mix to @file, NULL: a new
 * file "api-ROOM-STAMP.wav" under record_dir; -EBUSY while it records.
 * ce_conference_record_stop: -EALREADY when it does not record.
 * They return 0, -ENODEV (no conference module), -ENOENT (no such room or
 * leg), -EINVAL (unknown op) or, for recording, -EIO (the file refused).
 */
int ce_conference_lock(struct ce_conf *conf, const char *room, bool lock);
int ce_conference_end(struct ce_conf *conf, const char *room, const char *reason);
int ce_conference_leg_op(struct ce_conf *conf, const char *room, const char *leg, const char *op,
        const char *reason);
int ce_conference_record_start(struct ce_conf *conf, const char *room, const char *file);
int ce_conference_record_stop(struct ce_conf *conf, const char *room);

/*
 * What a reader outside the module (the HTTP API) sees of a room and its
 * legs: borrowed strings, valid during the callback only.
 */
struct ce_conference_room_info {
	const char *name; /* without "conf/" */
	int users;        /* counted legs in the room */
	int maxusers;     /* 0: no limit */
	unsigned legs;    /* legs in the room, counted or not */
	unsigned talkers; /* legs the talker detector hears now */
	bool locked;
	const char *record; /* the file being recorded, or NULL */
};

struct ce_conference_leg_info {
	unsigned seq;       /* the leg's number in "conf show" */
	const char *id;     /* dumb/N, or NULL while joining */
	const char *peer;   /* the caller's channel, or NULL */
	const char *caller; /* caller= of the call, or NULL */
	const char *role;   /* participant_role= (the schedule's), or NULL */
	const char *state;  /* offered, peer, rtp, joined */
	bool muted, deaf, talking, utility;
	const char *rtp; /* "rtp_in=N rtp_late=N ..." as "conf show" prints it; "" none */
};

typedef void(ce_conference_room_h)(const struct ce_conference_room_info *room, void *arg);
typedef void(ce_conference_leg_h)(const struct ce_conference_leg_info *leg, void *arg);

/*
 * Call @room_h for every room of @conf, in name order.  Returns 0 or
 * -ENODEV (no conference module).
 */
int ce_conference_rooms(struct ce_conf *conf, ce_conference_room_h *room_h, void *arg);

/*
 * Call @room_h for the room @name, then @leg_h for each of its legs (in
 * the room in join order, then those still joining).  Returns 0, -ENODEV
 * or -ENOENT (no such room).
 */
int ce_conference_room(struct ce_conf *conf, const char *name, ce_conference_room_h *room_h,
        ce_conference_leg_h *leg_h, void *arg);

#endif
