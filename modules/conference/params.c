/* params.c - the room and leg parameters of a join request, read once with Yate's rules */
#define G_LOG_DOMAIN "conference"

#include "message.h"
#include "params.h"
#include "prompt-set.h"
#include "room.h"

/* Parameters the engine passes on without reading them (struct ce_join_params). */
static const char *const passed_names[] = {"caller", "callername", "called", "billid", "username",
        "maxlen", "conference_id", "participant_id", "participant_name", "participant_role",
        "participant_number", "participant_direction"};

static void note(GString *notes, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* One finding about one parameter, for the caller to log ("; " between them). */
static void note(GString *notes, const char *fmt, ...)
{
	va_list ap;

	if (!notes)
		return;
	if (notes->len)
		g_string_append(notes, "; ");
	va_start(ap, fmt);
	g_string_append_vprintf(notes, fmt, ap);
	va_end(ap);
}

/* Yate's toBoolean of @name; a note when it has a value that is no boolean. */
static bool get_bool(const struct ce_msg *m, const char *name, bool def, GString *notes)
{
	const char *v = ce_msg_get(m, name);
	int b = ce_bool_word(v);

	if (b >= 0)
		return b;
	if (v && *v)
		note(notes, "%s=%s is not a boolean (true or false), %s applies", name, v,
		        def ? "true" : "false");
	return def;
}

/* Yate's getIntValue of @name, clamped; a note when it is no number or out of range. */
static long get_int(
        const struct ce_msg *m, const char *name, long def, long min, long max, GString *notes)
{
	/* G_MINLONG, below the smallest clamped value: not a number */
	long raw = ce_msg_get_int(m, name, G_MINLONG, G_MINLONG + 1, G_MAXLONG);
	const char *v = ce_msg_get(m, name);

	if (!v || !*v)
		return def;
	if (raw == G_MINLONG) {
		note(notes, "%s=%s is not a number, %ld applies", name, v, def);
		return def;
	}
	if (raw < min || raw > max)
		note(notes, "%s=%s is outside %ld..%ld, %ld applies", name, v, min, max,
		        CLAMP(raw, min, max));
	return CLAMP(raw, min, max);
}

/* Yate's speakers=: a number (0..CE_ROOM_MAX_SPEAKERS) or true (CE_ROOM_DEF_SPEAKERS). */
static unsigned get_speakers(const struct ce_msg *m, GString *notes)
{
	const char *v = ce_msg_get(m, "speakers");
	long n = ce_msg_get_int(m, "speakers", G_MINLONG, G_MINLONG + 1, G_MAXLONG);

	if (n == G_MINLONG) {
		if (v && *v && ce_bool_word(v) < 0)
			note(notes, "speakers=%s is neither a number nor a boolean, 0 applies", v);
		return ce_bool_word(v) > 0 ? CE_ROOM_DEF_SPEAKERS : 0;
	}
	return (unsigned)CLAMP(n, 0, CE_ROOM_MAX_SPEAKERS);
}

/* Yate's interval=: at least CE_ROOM_MIN_INTERVAL ms, 0 (no limit) when <= 0. */
static unsigned get_interval(const struct ce_msg *m, GString *notes)
{
	long iv = get_int(m, "interval", CE_ROOM_DEF_INTERVAL, G_MINLONG, G_MAXLONG, notes);

	if (iv <= 0)
		return 0;
	return iv < CE_ROOM_MIN_INTERVAL ? CE_ROOM_MIN_INTERVAL : (unsigned)MIN(iv, G_MAXUINT);
}

/* lang=: a language folder's name, else the default language. */
static const char *get_lang(const struct ce_msg *m, GString *notes)
{
	const char *v = ce_msg_get(m, "lang");

	if (v && *v && !ce_prompt_lang_valid(v))
		note(notes, "lang=%s is not a language name, the default applies", v);
	return v && ce_prompt_lang_valid(v) ? v : NULL;
}

/*
 * Yate's lonely=: a boolean, or a number >= 0 that is a timeout in ms (and
 * means true); anything else means false.
 */
static void get_lonely(struct ce_join_params *p, const struct ce_msg *m, GString *notes)
{
	const char *v = ce_msg_get(m, "lonely");
	long n = ce_msg_get_int(m, "lonely", -1, -1, G_MAXLONG);
	int b = ce_bool_word(v);

	p->has_lonely = v != NULL;
	p->lonely_ms = n <= G_MAXINT ? n : -1;
	p->lonely = b < 0 ? p->lonely_ms >= 0 : b;
	if (v && *v && b < 0 && p->lonely_ms < 0)
		note(notes, "lonely=%s is neither a boolean nor a timeout in ms, false applies", v);
}

/* A prompt name: NULL for none ("" or absent). */
static const char *get_prompt(const struct ce_msg *m, const char *name, const char *def)
{
	const char *v = ce_msg_get(m, name);

	if (!v)
		v = def;
	return v && *v ? v : NULL;
}

static void get_passed(struct ce_join_params *p, const struct ce_msg *m)
{
	for (unsigned i = 0; i < G_N_ELEMENTS(passed_names); i++) {
		const char *v = ce_msg_get(m, passed_names[i]);

		if (v)
			ce_msg_add(p->passed, passed_names[i], v);
	}
}

/** The parameters of a request that has none: Yate's defaults and the [conference] ones. */
void ce_join_params_init(struct ce_join_params *p, const struct ce_conf_settings *set)
{
	*p = (struct ce_join_params){
	        .rate = set->rate,
	        .maxusers = set->maxusers,
	        .waitlock = 200,
	        .interval = CE_ROOM_DEF_INTERVAL,
	        .lonely_ms = -1,
	        .counted = true,
	        .voice = true,
	        .smart = true,
	        .moh = set->moh && *set->moh ? set->moh : NULL,
	};
	ce_msg_new(&p->passed, NULL);
}

/**
 * Read every parameter of @msg that a room or leg takes, once, with Yate's
 * rules (ce_bool_word for booleans; defaults for values Yate would not
 * take, numbers clamped to their range).  Each value Yate would ignore or
 * clamp is told in @notes (NULL: not told), "name=value is ...; ...", for
 * the caller to log: the call goes on as in Yate.  Clear @p after use.
 */
void ce_join_params_parse(struct ce_join_params *p, const struct ce_msg *msg,
        const struct ce_conf_settings *set, GString *notes)
{
	const char *notify = ce_msg_get(msg, "notify");

	ce_join_params_init(p, set);
	p->notify = notify && *notify ? notify : NULL;
	p->rate = get_int(msg, "rate", set->rate, 8000, 48000, notes);
	p->maxusers = get_int(msg, "maxusers", set->maxusers, G_MININT, G_MAXINT, notes);
	p->waitlock = get_int(msg, "waitlock", 200, G_MININT, G_MAXINT, notes);
	p->speakers = get_speakers(msg, notes);
	p->interval = get_interval(msg, notes);
	get_lonely(p, msg, notes);
	p->existing = get_bool(msg, "existing", false, notes);
	p->record = ce_msg_get(msg, "record");
	p->recordwarn = ce_msg_get(msg, "recordwarn");
	p->lang = get_lang(msg, notes);
	p->announce_count = get_bool(msg, "announce_count", false, notes);
	p->announce_join = get_bool(msg, "announce_join", false, notes);
	p->wait_moderator = get_bool(msg, "wait_moderator", false, notes);
	p->end_with_moderator = get_bool(msg, "end_with_moderator", false, notes);
	p->moh = get_prompt(msg, "moh", set->moh);
	p->confowner = ce_msg_get(msg, "confowner");
	p->id = ce_msg_get(msg, "id");
	p->reason = ce_msg_get(msg, "reason");
	p->utility = get_bool(msg, "utility", false, notes);
	p->counted = get_bool(msg, "counted", !p->utility, notes);
	p->voice = get_bool(msg, "voice", true, notes);
	p->smart = get_bool(msg, "smart", !p->utility, notes);
	p->echo = get_bool(msg, "echo", p->utility, notes);
	p->billing = get_bool(msg, "billing", false, notes);
	p->player = get_bool(msg, "player", false, notes);
	p->muted_on_entry = get_bool(msg, "muted_on_entry", false, notes);
	p->ns = get_bool(msg, "noise_suppression", set->noise_suppression, notes);
	p->agc = get_bool(msg, "agc", set->agc, notes);
	p->name_prompt = get_prompt(msg, "name_prompt", NULL);
	get_passed(p, msg);
}

/**
 * The edge: ce_join_params_parse() of request @msg as it comes in, with
 * its notes logged (NOTE "call.execute for sip/1: utility=1 is not a
 * boolean ..."); the call goes on as in Yate.  Clear @p after use.
 */
void ce_join_params_read(
        struct ce_join_params *p, const struct ce_msg *msg, const struct ce_conf_settings *set)
{
	GString *notes = g_string_new(NULL);

	ce_join_params_parse(p, msg, set, notes);
	if (notes->len)
		g_message("%s for %s: %s", msg->name, ce_msg_get_def(msg, "id", "?"), notes->str);
	g_string_free(notes, TRUE);
}

/** Free what @p owns. */
void ce_join_params_clear(struct ce_join_params *p)
{
	g_clear_pointer(&p->passed, ce_msg_unref);
}
