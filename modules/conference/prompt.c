/* prompt.c - prompts and recordings of rooms on the signalling side: names, enter/leave/lonely
 * prompts, play and record requests, the API other modules call (conference.h)
 *
 * A prompt is named by a path, by Yate's wave/play/PATH, or by a bare file
 * name looked up in [conference] prompts_dir (the installed prompts by
 * default).  Files are opened by the media side, off the main thread, so a
 * missing or unreadable one shows up later in the log and nothing else
 * happens: the room carries on.
 */
#define G_LOG_DOMAIN "conference"

#include <errno.h>
#include <string.h>

#include "config.h"
#include "conference.h"
#include "leg.h"
#include "media-glue.h"
#include "message.h"
#include "room.h"

#ifndef CE_DATADIR
#define CE_DATADIR "/usr/local/share/conf-engine"
#endif

static char *prompt_key(const struct ce_config *cfg, const char *key, const char *def)
{
	return g_strdup(cfg ? ce_config_get(cfg, "conference", key, def) : def);
}

/** Read the prompt keys of [conference] (cfg may be NULL: defaults). */
void ce_conf_prompt_settings(struct ce_conf_settings *set, const struct ce_config *cfg)
{
	set->prompts_dir = prompt_key(cfg, "prompts_dir", CE_DATADIR "/prompts");
	set->enter_prompt = prompt_key(cfg, "enter_prompt", "enter.wav");
	set->leave_prompt = prompt_key(cfg, "leave_prompt", "leave.wav");
	set->lonely_prompt = prompt_key(cfg, "lonely_prompt", "lonely.wav");
	set->record_prompt = prompt_key(cfg, "record_prompt", "recording.wav");
}

/** Free the strings of the settings. */
void ce_conf_settings_free(struct ce_conf_settings *set)
{
	g_clear_pointer(&set->rtp_address, g_free);
	g_clear_pointer(&set->prompts_dir, g_free);
	g_clear_pointer(&set->enter_prompt, g_free);
	g_clear_pointer(&set->leave_prompt, g_free);
	g_clear_pointer(&set->lonely_prompt, g_free);
	g_clear_pointer(&set->record_prompt, g_free);
}

/**
 * The file a prompt name stands for (newly allocated), or NULL for none:
 * "", "-", a false boolean, or a Yate tone/ source we do not synthesise.
 */
char *ce_conf_prompt_path(const struct ce_conf *conf, const char *name)
{
	if (!name || !*name || !strcmp(name, "-") || !ce_parse_bool(name, true))
		return NULL;
	if (g_str_has_prefix(name, "wave/play/"))
		name += strlen("wave/play/");
	else if (g_str_has_prefix(name, "tone/"))
		return NULL;
	if (strchr(name, '/'))
		return g_strdup(name);
	return g_build_filename(conf->set.prompts_dir, name, NULL);
}

/**
 * Play @file once in @room: to everyone (leg NULL), to @leg alone, or
 * (others) to everyone but @leg.  Returns 0, -EINVAL for no file,
 * -ENOTCONN if the leg has no media yet, or the media side's error.
 */
int ce_room_play(struct ce_room *room, const char *file, struct ce_leg *leg, bool others)
{
	struct ce_conf *conf = room->conf;
	char *path = ce_conf_prompt_path(conf, file);
	int err;

	if (!path) {
		g_message("room '%s': nothing to play for '%s'", room->name, file ? file : "");
		return -EINVAL;
	}
	if (!leg)
		err = conf->media->room_play(conf->media_arg, room->media, path);
	else if (!conf->media->leg_play)
		err = -ENOTSUP;
	else if (!leg->media || leg->state != CE_LEG_JOINED || leg->room != room)
		err = -ENOTCONN;
	else
		err = conf->media->leg_play(conf->media_arg, leg->media, path, others);
	if (err)
		g_message("room '%s': cannot play '%s': %s", room->name, path, g_strerror(-err));
	else
		g_info("room '%s': playing '%s'%s%s", room->name, path,
		        leg ? (others ? " to all but " : " to ") : "",
		        leg && leg->id ? leg->id : "");
	g_free(path);
	return err;
}

/**
 * Start recording @room to @file (NULL: stop), as call.conference record=
 * does: Yate's "recording" notification, @warn (NULL: the configured
 * record_prompt) played to the room first.  Returns 0 or -EIO.
 */
int ce_room_record(struct ce_room *room, const char *file, const char *warn)
{
	struct ce_msg *m = NULL;

	ce_msg_new(&m, "call.conference");
	ce_msg_add(m, "record", file ? file : "-");
	if (file)
		ce_msg_add(m, "recordwarn", warn ? warn : room->conf->set.record_prompt);
	ce_room_set_recording(room, m);
	ce_msg_unref(m);
	return !file || room->record ? 0 : -EIO;
}

/** A leg joined: the lonely prompt to it if it is alone, else the enter prompt to all. */
void ce_room_prompt_joined(struct ce_room *room, struct ce_leg *leg)
{
	const struct ce_conf_settings *set = &room->conf->set;

	if (leg->utility || !leg->counted)
		return;
	if (room->users <= 1 && *set->lonely_prompt)
		ce_room_play(room, set->lonely_prompt, leg, false);
	else if (room->users > 1 && *set->enter_prompt)
		ce_room_play(room, set->enter_prompt, NULL, false);
}

/** A leg left: the leave prompt to those who stay. */
void ce_room_prompt_left(struct ce_room *room, struct ce_leg *leg)
{
	const struct ce_conf_settings *set = &room->conf->set;

	if (leg->utility || !leg->counted || room->dropping || !room->legs->len)
		return;
	if (*set->leave_prompt)
		ce_room_play(room, set->leave_prompt, NULL, false);
}

/* ---- the API other modules call (conference.h) ---- */

static struct ce_conf *s_api;

/** Make @conf the one the ce_conference_* calls act on (NULL: none). */
void ce_conference_api_set(struct ce_conf *conf)
{
	s_api = conf;
}

/** See conference.h. */
int ce_conference_play(const char *room, const char *file, const char *leg, bool others)
{
	struct ce_room *r = s_api ? ce_room_find(s_api, room) : NULL;
	struct ce_leg *l = NULL;

	if (!s_api)
		return -ENODEV;
	if (!r)
		return -ENOENT;
	if (leg && !(l = ce_leg_find_seq(s_api, room, leg)))
		return -ENOENT;
	return ce_room_play(r, file, l, others);
}

/** See conference.h. */
int ce_conference_record(const char *room, const char *file)
{
	struct ce_room *r = s_api ? ce_room_find(s_api, room) : NULL;

	if (!s_api)
		return -ENODEV;
	if (!r)
		return -ENOENT;
	return ce_room_record(r, file, NULL);
}
