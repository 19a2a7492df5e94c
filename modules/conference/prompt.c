/* prompt.c - prompts and recordings of rooms on the signalling side: names, enter/leave/lonely
 * prompts, play and record requests, the API other modules call (conference.h)
 *
 * A prompt is named by an absolute path, by Yate's wave/play/PATH, by a
 * file name or relative path looked up in [conference] prompts_dir (the
 * installed prompts by default; a bare file name in its language folders:
 * prompt-set.c), or by Yate's tone/NAME (synthesised by the media side).
 * Prompts to one leg are in that leg's language (lang= of its request),
 * those to the room in the room's (lang= of the request that made it),
 * else in [conference] lang.  A file must lie in one of the play roots
 * (ce_conf_play_roots, recfile.c).  Files
 * are opened by the media side, off the main thread, so a missing or
 * unreadable one shows up later in the log and nothing else happens: the
 * room carries on.  Prompts queue per target (media-glue.h); a full queue
 * refuses the new prompt at once.
 */
#define G_LOG_DOMAIN "conference"

#include <errno.h>
#include <string.h>

#include "config.h"
#include "conference.h"
#include "engine.h"
#include "leg.h"
#include "media-glue.h"
#include "message.h"
#include "params.h"
#include "prompt-set.h"
#include "room.h"
#include "media/tone.h"

#ifndef CE_STATEDIR
#define CE_STATEDIR "/usr/local/var/lib/conf-engine"
#endif
#ifndef CE_DATADIR
#define CE_DATADIR "/usr/local/share/conf-engine"
#endif

static char *prompt_key(const struct ce_config *cfg, const char *key, const char *def)
{
	return g_strdup(cfg ? ce_config_get(cfg, "conference", key, def) : def);
}

/* [conference] record_dir, else [general] state_dir's "recordings". */
static char *record_dir(const struct ce_config *cfg)
{
	const char *v = cfg ? ce_config_get(cfg, "conference", "record_dir", "") : "";
	const char *state = cfg ? ce_config_get(cfg, "general", "state_dir", "") : "";
	char *p, *path;

	if (!*v && !*state)
		return g_strdup(CE_STATEDIR "/recordings");
	p = *v ? g_strdup(v) : g_build_filename(state, "recordings", NULL);
	path = ce_config_resolve_path(cfg, p);
	g_free(p);
	return path;
}

/* The file of a configured prompt that names one by its path (with a '/'), else NULL. */
static const char *prompt_file(const char *value)
{
	if (g_str_has_prefix(value, "wave/play/"))
		value += strlen("wave/play/");
	return g_path_is_absolute(value) ? value : NULL;
}

/**
 * The folders prompt files may be played from (recfile.c), canonical and
 * NULL-terminated (g_strfreev them): [conference] prompts_dir, record_dir
 * (recordings can be played back), the folder of each configured prompt
 * named by an absolute path (the operator chose it), and prompt_dirs
 * (separated by commas).
 */
char **ce_conf_play_roots(const struct ce_config *cfg)
{
	static const char *const keys[] = {
	        "enter_prompt", "leave_prompt", "lonely_prompt", "record_prompt", "moh"};
	GPtrArray *roots = g_ptr_array_new();
	const char *S = "conference";
	char **extra;

	g_ptr_array_add(
	        roots, ce_config_resolve_path(cfg,
	                       cfg ? ce_config_get(cfg, S, "prompts_dir", CE_DATADIR "/prompts")
	                           : CE_DATADIR "/prompts"));
	g_ptr_array_add(roots, record_dir(cfg));
	for (size_t i = 0; cfg && i < G_N_ELEMENTS(keys); i++) {
		const char *file = prompt_file(ce_config_get(cfg, S, keys[i], ""));

		if (file)
			g_ptr_array_add(roots, g_path_get_dirname(file));
	}
	extra = g_strsplit(cfg ? ce_config_get(cfg, S, "prompt_dirs", "") : "", ",", -1);
	for (char **e = extra; *e; e++) {
		g_strstrip(*e);
		if (**e)
			g_ptr_array_add(roots, ce_config_resolve_path(cfg, *e));
	}
	g_strfreev(extra);
	g_ptr_array_add(roots, NULL);
	return (char **)g_ptr_array_free(roots, FALSE);
}

/** Read the prompt and recording keys of [conference] (cfg may be NULL: defaults). */
void ce_conf_prompt_settings(struct ce_conf_settings *set, const struct ce_config *cfg)
{
	const char *lang = cfg ? ce_config_get(cfg, "conference", "lang", CE_PROMPT_BASE_LANG)
	                       : CE_PROMPT_BASE_LANG;

	set->play_roots = ce_conf_play_roots(cfg);
	set->prompts_dir = g_strdup(set->play_roots[0]);
	/* the key table refused a bad lang: a set is made with the base one then */
	if (ce_prompt_set_new(&set->prompts, set->prompts_dir, lang) < 0)
		ce_prompt_set_new(&set->prompts, set->prompts_dir, CE_PROMPT_BASE_LANG);
	else if (strcmp(lang, CE_PROMPT_BASE_LANG) && !ce_prompt_set_has_lang(set->prompts, lang))
		g_warning("[conference] lang=%s: %s has no folder '%s', its prompts come from '%s'",
		        lang, set->prompts_dir, lang, CE_PROMPT_BASE_LANG);
	set->enter_prompt = prompt_key(cfg, "enter_prompt", "enter.wav");
	set->leave_prompt = prompt_key(cfg, "leave_prompt", "leave.wav");
	set->lonely_prompt = prompt_key(cfg, "lonely_prompt", "lonely.wav");
	set->record_prompt = prompt_key(cfg, "record_prompt", "recording.wav");
	set->moh = prompt_key(cfg, "moh", "");
	set->record_dir = record_dir(cfg);
	set->tone_duration_ms = cfg ? ce_config_get_int(cfg, "conference", "tone_duration",
	                                      CE_TONE_DEF_DURATION, 20, CE_TONE_MAX_DURATION)
	                            : CE_TONE_DEF_DURATION;
}

/** Free the strings of the settings. */
void ce_conf_settings_free(struct ce_conf_settings *set)
{
	g_clear_pointer(&set->rtp_address, g_free);
	g_clear_pointer(&set->bypass_address, g_free);
	ce_lobby_settings_free(&set->lobby);
	g_clear_pointer(&set->prompts_dir, g_free);
	g_clear_pointer(&set->prompts, ce_prompt_set_free);
	g_clear_pointer(&set->enter_prompt, g_free);
	g_clear_pointer(&set->leave_prompt, g_free);
	g_clear_pointer(&set->lonely_prompt, g_free);
	g_clear_pointer(&set->record_prompt, g_free);
	g_clear_pointer(&set->moh, g_free);
	g_clear_pointer(&set->record_dir, g_free);
	g_clear_pointer(&set->play_roots, g_strfreev);
	g_clear_pointer(&set->journal, g_free);
}

/**
 * The file a prompt name stands for (newly allocated), or NULL for none:
 * "", "-", a false boolean, or a Yate tone/ source (see ce_room_play_opts).
 * A relative name is found in prompts_dir, a bare one in the folder of
 * @lang (NULL: the default language) or the languages it falls back to
 * (ce_prompt_set_path).
 */
char *ce_conf_prompt_path(const struct ce_conf *conf, const char *name, const char *lang)
{
	if (!name || !*name || !strcmp(name, "-") || !ce_parse_bool(name, true))
		return NULL;
	if (g_str_has_prefix(name, "wave/play/"))
		name += strlen("wave/play/");
	else if (g_str_has_prefix(name, "tone/"))
		return NULL;
	if (g_path_is_absolute(name))
		return g_strdup(name);
	return ce_prompt_set_path(conf->set.prompts, name, lang);
}

/* What a prompt name stands for: a file (*path) or a tone; 0 or -EINVAL/-E2BIG with @why. */
static int prompt_resolve(const struct ce_conf *conf, const char *name, const char *lang,
        char **path, struct ce_tone *tone, const char **why)
{
	int err;

	*path = NULL;
	if (name && g_str_has_prefix(name, "tone/")) {
		err = ce_tone_parse(tone, name + strlen("tone/"));
		*why = err == -E2BIG ? "too many DTMF digits" : "unknown tone";
		return err;
	}
	*path = ce_conf_prompt_path(conf, name, lang);
	*why = "nothing to play";
	if (!*path)
		return -EINVAL;
	return ce_path_confined(*path, (const char *const *)conf->set.play_roots, why) ? 0
	                                                                               : -EACCES;
}

/* Why a play failed, for the log and for error answers. */
static const char *play_why(int err, struct ce_leg *leg, bool others)
{
	switch (err) {
	case -ENOBUFS:
		return leg && !others ? "the leg's prompt queue is full"
		                      : "the room's prompt queue is full";
	case -ENOTCONN:
		return "the leg has no audio yet";
	case -ENOTSUP:
		return "not supported by the media side";
	default:
		return g_strerror(-err);
	}
}

static int play_media(struct ce_room *room, const struct ce_media_prompt *p, struct ce_leg *leg,
        bool others, bool replace)
{
	struct ce_conf *conf = room->conf;

	if (leg && !conf->media->leg_play)
		return -ENOTSUP;
	if (leg && (!leg->media || leg->state != CE_LEG_JOINED || leg->room != room))
		return -ENOTCONN;
	if (replace)
		ce_room_stop_play(room, leg, others);
	if (!leg)
		return conf->media->room_play(conf->media_arg, room->media, p);
	return conf->media->leg_play(conf->media_arg, leg->media, p, others);
}

/**
 * Play @file in @room: to everyone (leg NULL), to @leg alone, or (others)
 * to everyone but @leg, after the prompts already in that queue (the
 * room's for the room and all-but-one, the leg's for one leg).  @file is a
 * prompt name (ce_conf_prompt_path) or Yate's tone/NAME (tone.h), played
 * for @o->duration_ms (0 or @o NULL: a DTMF tone's natural length, any
 * other tone's [conference] tone_duration), in the language of @leg
 * (alone) or of the room (ce_conf_prompt_path).  With @o->replace, what plays
 * and waits in that queue is stopped first; with @o->loop a file plays over
 * and over until that queue is stopped (ce_room_stop_play).  Returns 0 or -EINVAL (nothing
 * to play, unknown tone), -E2BIG (too many DTMF digits), -ENOTCONN (the
 * leg has no media yet), -ENOBUFS (the queue is full) or the media side's
 * error; then *@why (may be NULL) says why, for an answer.
 */
int ce_room_play_opts(struct ce_room *room, const char *file, struct ce_leg *leg, bool others,
        const struct ce_play_opts *o, const char **why)
{
	struct ce_media_prompt p = {0};
	struct ce_tone tone;
	const char *reason = NULL;
	const char *lang = leg && !others && leg->lang ? leg->lang : room->lang;
	char *path;
	int err = prompt_resolve(room->conf, file, lang, &path, &tone, &reason);

	if (!err) {
		p.path = path;
		p.tone = path ? NULL : &tone;
		p.loop = path && o && o->loop;
		p.duration_ms = o && o->duration_ms ? o->duration_ms
		                : path || tone.dtmf ? 0
		                                    : room->conf->set.tone_duration_ms;
		err = play_media(room, &p, leg, others, o && o->replace);
		reason = err ? play_why(err, leg, others) : NULL;
	}
	if (err)
		g_message("room '%s': cannot play '%s': %s", room->name,
		        path   ? path
		        : file ? file
		               : "",
		        reason);
	else
		g_info("room '%s': playing '%s'%s%s%s%s", room->name, path ? path : file,
		        leg ? (others ? " to all but " : " to ") : "",
		        leg && leg->id ? leg->id : "", o && o->replace ? " (replacing)" : "",
		        p.loop ? " (looped)" : "");
	if (why)
		*why = reason;
	g_free(path);
	return err;
}

/** ce_room_play_opts() with the defaults: queued, the default tone duration. */
int ce_room_play(struct ce_room *room, const char *file, struct ce_leg *leg, bool others)
{
	return ce_room_play_opts(room, file, leg, others, NULL, NULL);
}

/**
 * Say a phrase made of the prompts @names (ce_say_number() and its kind
 * build them): each is queued after the one before, so they play back to
 * back, to the same target as ce_room_play().  Stops at the first that
 * cannot be played and returns its error (the ones before it still play),
 * else 0.
 */
int ce_room_say(struct ce_room *room, const GPtrArray *names, struct ce_leg *leg, bool others)
{
	for (guint i = 0; names && i < names->len; i++) {
		int err = ce_room_play(room, g_ptr_array_index(names, i), leg, others);

		if (err)
			return err;
	}
	return 0;
}

/**
 * Stop the prompts playing and waiting in the queue a play to @leg
 * (@others) would join: the room's (@leg NULL or @others) or @leg's.
 * Returns how many were stopped, or a negative errno.
 */
int ce_room_stop_play(struct ce_room *room, struct ce_leg *leg, bool others)
{
	struct ce_conf *conf = room->conf;
	int n;

	if (!conf->media->stop_play)
		return -ENOTSUP;
	if (leg && !others && (!leg->media || leg->room != room))
		return 0;
	n = conf->media->stop_play(conf->media_arg, room->media, leg ? leg->media : NULL, others);
	if (n > 0)
		g_info("room '%s': stopped %d prompt%s%s%s", room->name, n, n > 1 ? "s" : "",
		        leg && !others ? " of " : "", leg && !others && leg->id ? leg->id : "");
	return n;
}

/**
 * Start recording @room to @file (NULL: stop), as call.conference record=
 * does: Yate's "recording" notification, @warn (NULL: the configured
 * record_prompt) played to the room first.  Returns 0 or -EIO.
 */
int ce_room_record(struct ce_room *room, const char *file, const char *warn)
{
	struct ce_join_params p;

	ce_join_params_init(&p, &room->conf->set);
	p.record = file ? file : "-";
	if (file)
		p.recordwarn = warn ? warn : room->conf->set.record_prompt;
	ce_room_set_recording(room, &p);
	ce_join_params_clear(&p);
	return !file || room->record ? 0 : -EIO;
}

/* ---- the service other modules call (conference.h) ---- */

/** The rooms of @ce's conference module (the service "conference"), or NULL. */
struct ce_conf *ce_conference_service(struct ce_engine *ce)
{
	return ce_engine_service(ce, CE_CONFERENCE_SERVICE);
}

/** See conference.h. */
int ce_conference_play(
        struct ce_conf *conf, const char *room, const char *file, const char *leg, bool others)
{
	struct ce_room *r = conf ? ce_room_find(conf, room) : NULL;
	struct ce_leg *l = NULL;

	if (!conf)
		return -ENODEV;
	if (!r)
		return -ENOENT;
	if (leg && !(l = ce_leg_find_seq(conf, room, leg)))
		return -ENOENT;
	return ce_room_play(r, file, l, others);
}

/* The room and leg a play of the service names; 0, -ENODEV or -ENOENT. */
static int play_target(struct ce_conf *conf, const char *room, const char *leg,
        struct ce_room **r, struct ce_leg **l)
{
	*r = conf ? ce_room_find(conf, room) : NULL;
	*l = NULL;
	if (!conf)
		return -ENODEV;
	if (!*r || (leg && !(*l = ce_leg_find_seq(conf, room, leg))))
		return -ENOENT;
	return 0;
}

/** See conference.h. */
int ce_conference_play_check(struct ce_conf *conf, const char *room, const char *leg,
        const struct ce_conference_play *p, char **path, char ***roots, const char **why)
{
	struct ce_room *r;
	struct ce_leg *l;
	struct ce_tone tone;
	int err = play_target(conf, room, leg, &r, &l);

	*path = NULL;
	*roots = NULL;
	if (err)
		return err;
	err = prompt_resolve(conf, p->file, l && !p->others && l->lang ? l->lang : r->lang, path,
	        &tone, why);
	if (!err && p->duration_ms > CE_TONE_MAX_DURATION) {
		*why = "the duration is 1 to " G_STRINGIFY(CE_TONE_MAX_DURATION) " ms";
		err = -ERANGE;
	} else if (!err && p->duration_ms && *path) {
		*why = "a duration is for tones (tone/NAME) only: a file plays whole";
		err = -EINVAL;
	}
	if (err)
		g_clear_pointer(path, g_free);
	else if (*path)
		*roots = g_strdupv(conf->set.play_roots);
	return err;
}

/** See conference.h. */
int ce_conference_play_opts(struct ce_conf *conf, const char *room, const char *leg,
        const struct ce_conference_play *p, const char **why)
{
	const struct ce_play_opts o = {.duration_ms = p->duration_ms, .replace = p->replace};
	struct ce_room *r;
	struct ce_leg *l;
	int err = play_target(conf, room, leg, &r, &l);

	*why = NULL;
	return err ? err : ce_room_play_opts(r, p->file, l, l && p->others, &o, why);
}

/** See conference.h. */
int ce_conference_stop_play(struct ce_conf *conf, const char *room, const char *leg, bool others)
{
	struct ce_room *r;
	struct ce_leg *l;
	int err = play_target(conf, room, leg, &r, &l);

	return err ? err : ce_room_stop_play(r, l, l && others);
}

/** See conference.h. */
int ce_conference_record(struct ce_conf *conf, const char *room, const char *file)
{
	struct ce_room *r = conf ? ce_room_find(conf, room) : NULL;

	if (!conf)
		return -ENODEV;
	if (!r)
		return -ENOENT;
	return ce_room_record(r, file, NULL);
}
