/* recorder.c - record= targets that are not files: a utility leg that Yate calls out to */
#define G_LOG_DOMAIN "conference"

#include <errno.h>
#include <string.h>

#include "bus.h"
#include "message.h"
#include "room.h"
#include "leg.h"
#include "params.h"

/*
 * Yate's conference module records a room by calling record= from a
 * utility channel of the room (ConfRoom::setRecording): whatever answers
 * (external/nodata/conference.php, sip/..., moh/...) hears the mix, and
 * with recordwarn= present also speaks into the room.  The engine places
 * the same call from a new dumb/N, through Yate's dumb driver, which needs
 * target= (it becomes called=) and passes on only the parameters that
 * copyparams= names; the target then sees what Yate's conference sends it:
 *
 *   A: call.execute callto=dumb/ direct=external/nodata/rec.php target=800
 *        caller=1001 billid=B1 room=r1 notify=mon/r1 targetid=mon/r1
 *        cdrtrack=false copyparams=room,notify,billid,username,maxlen,
 *        cdrtrack,targetid ce_recorder=r1
 *   E: (to the target) call.execute driver=dumb id=dumb/1 caller=1001
 *        called=800 room=r1 notify=mon/r1 billid=B1 cdrtrack=false
 *        targetid=mon/r1 callto=external/nodata/rec.php
 *   E: (answer) true ... id=dumb/1
 *
 * (verified on Yate 6.4.1; an external script's channel sets no peerid).
 * dumb/1 then gets RTP like any leg, but no call.answered of ours: the
 * target needs none, as Yate's utility channel sends none.
 */

/* Parameters of the request that Yate's conference hands to the target (and notify=). */
static const char *const passed[] = {"billid", "username", "maxlen"};

/* What the target learns, as copyparams= of the dumb driver. */
#define COPYPARAMS "room,notify,billid,username,maxlen,cdrtrack,targetid"

/**
 * Whether record= value @record names a file the engine writes itself:
 * Yate's wave/record/PATH, an absolute path, one starting with ./ or ../,
 * a bare file name, or a path ending in .wav, .flac, .au or .ogg.
 * Anything else (external/nodata/conference.php, sip/..., conf/OTHER) is
 * a Yate target that a utility leg calls.
 */
bool ce_record_is_file(const char *record)
{
	static const char *const ext[] = {".wav", ".flac", ".au", ".ogg"};
	const char *dot = strrchr(record, '.');

	if (g_str_has_prefix(record, "wave/record/") || record[0] == '/' ||
	        g_str_has_prefix(record, "./") || g_str_has_prefix(record, "../") ||
	        !strchr(record, '/'))
		return true;
	for (unsigned i = 0; dot && !strchr(dot, '/') && i < G_N_ELEMENTS(ext); i++) {
		if (!g_ascii_strcasecmp(dot, ext[i]))
			return true;
	}
	return false;
}

static struct ce_msg *call_new(
        struct ce_room *room, const char *target, const struct ce_join_params *req)
{
	const char *called = ce_msg_get(req->passed, "called");
	const char *caller = ce_msg_get(req->passed, "caller");
	struct ce_msg *m = NULL;

	ce_msg_new(&m, "call.execute");
	ce_msg_add(m, "callto", "dumb/");
	ce_msg_add(m, "direct", target);
	/* the dumb driver refuses a call without target=, even with direct= */
	ce_msg_add(m, "target", called && *called ? called : room->name);
	if (caller && *caller)
		ce_msg_add(m, "caller", caller);
	for (unsigned i = 0; i < G_N_ELEMENTS(passed); i++) {
		const char *v = ce_msg_get(req->passed, passed[i]);

		if (v && *v)
			ce_msg_add(m, passed[i], v);
	}
	if (req->notify)
		ce_msg_add(m, "notify", req->notify);
	ce_msg_add(m, "room", room->name);
	if (room->notify)
		ce_msg_add(m, "targetid", room->notify);
	ce_msg_add(m, "cdrtrack", "false");
	ce_msg_add(m, "copyparams", COPYPARAMS);
	ce_msg_add(m, "ce_recorder", room->name);
	return m;
}

/* Yate's answer: the new dumb/N joins the room, or the recording is over. */
static void placed(struct ce_msg *msg, bool handled, void *arg)
{
	struct ce_leg *leg = arg;
	const char *id = ce_msg_get(msg, "id");
	const char *peer = ce_msg_get(msg, "peerid");

	/* a leg that ended meanwhile: the watcher drops a dumb/N it still got */
	if (leg->state != CE_LEG_OFFERED)
		goto out;
	if (!handled || !id || !g_str_has_prefix(id, "dumb/")) {
		g_message("room '%s': cannot record to '%s': %s", leg->room->name,
		        ce_msg_get_def(msg, "direct", ""), ce_msg_get_def(msg, "error", "failure"));
		ce_leg_end(leg, ce_msg_get_def(msg, "error", "failure"), false);
		goto out;
	}
	if (peer && *peer)
		leg->peer = g_strdup(peer);
	ce_leg_peer_known(leg, id);
out:
	ce_leg_unref(leg);
}

/**
 * Start recording @room by calling Yate target @target from a new utility
 * leg (not counted, never notified, smart off, hearing the full mix), which
 * also speaks into the room when @voice (Yate: recordwarn= present).  @req
 * is the request's (caller, called, billid, username, maxlen, notify are
 * passed on).  The leg becomes room->recorder.  Returns 0, or -EIO when
 * the call failed at once (the room stays as it was).
 */
int ce_recorder_start(
        struct ce_room *room, const char *target, const struct ce_join_params *req, bool voice)
{
	struct ce_conf *conf = room->conf;
	struct ce_join_params p;
	struct ce_leg *leg = NULL;
	struct ce_msg *m;
	int err;

	/* a utility leg's defaults (Yate's): not counted, not smart, with echo */
	ce_join_params_init(&p, &conf->set);
	p.utility = true;
	p.counted = false;
	p.smart = false;
	p.echo = true;
	p.voice = voice;
	err = ce_leg_new(&leg, conf, room, &p, NULL);
	ce_join_params_clear(&p);
	if (err)
		return err;
	leg->up = true;    /* nobody answers a utility call */
	leg->deadline = 0; /* the call.execute below has its own timeout */
	room->recorder = leg;
	g_info("room '%s': calling recorder '%s'%s", room->name, target,
	        voice ? " (may speak)" : "");
	m = call_new(room, target, req);
	/* an answer at once (no Yate) must not free the room under its creator */
	room->hold++;
	ce_leg_ref(leg);
	ce_bus_send(conf->bus, m, conf->set.join_timeout_ms, placed, ce_leg_ref(leg));
	ce_msg_unref(m);
	room->hold--;
	err = leg->state == CE_LEG_GONE ? -EIO : 0;
	ce_leg_unref(leg);
	return err;
}

/**
 * Stop @room's recorder leg, if any, with @reason (call.drop of its
 * dumb/N; a call still being placed is dropped when Yate answers).
 * Leaving the room clears room->recorder and room->record.
 */
void ce_recorder_stop(struct ce_room *room, const char *reason)
{
	if (room->recorder)
		ce_leg_end(room->recorder, reason, true);
}
