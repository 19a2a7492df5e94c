/* control.c - controlling rooms and legs: chan.control, call.drop of a room, the conf console
 * commands */
#define G_LOG_DOMAIN "conference"

#include <errno.h>
#include <string.h>

#include "bus.h"
#include "conference.h"
#include "console.h"
#include "message.h"
#include "room.h"
#include "leg.h"
#include "media-glue.h"

/*
 * Yate side: chan.control targetid=dumb/N operation=mute (or the same
 * masqueraded: chan.masquerade id=dumb/N message=chan.control ...), or
 * targetid=conf/NAME operation=lock; call.drop id=conf/NAME.  Prompts and
 * recording: operation=play file=F (to a leg; others=true: to everyone but
 * it; to a room: everyone; F may be tone/NAME with duration=MS; queued
 * after what plays to the same target unless queue=false),
 * operation=stopplay [others=true], operation=record file=F
 * [recordwarn=W] and operation=stoprecord, aimed at a room or at any of
 * its legs.  Operator
 * side: "conf list", "conf show ROOM", "conf kick ROOM LEG", "conf play
 * ROOM FILE [LEG [others]]", "conf stopplay ROOM [LEG [others]]", "conf
 * record ROOM FILE", "conf stoprecord ROOM", ... in Yate's remote console.
 */

#define PREFIX "conf/"

/* One operation on a leg; false when it is not one. */
static bool control_leg(struct ce_leg *leg, const char *op, const struct ce_msg *msg)
{
	const char *reason = ce_msg_get_def(msg, "reason", "kicked");

	if (!strcmp(op, "mute") || !strcmp(op, "unmute"))
		ce_leg_set_muted(leg, op[0] == 'm');
	else if (!strcmp(op, "deaf") || !strcmp(op, "undeaf"))
		ce_leg_set_deaf(leg, op[0] == 'd');
	else if (!strcmp(op, "kick") || !strcmp(op, "drop"))
		ce_leg_end(leg, reason, true);
	else if ((!strcmp(op, "lock") || !strcmp(op, "unlock")) && leg->room)
		ce_room_set_locked(leg->room, op[0] == 'l');
	else
		return false;
	return true;
}

/* A refused request: Yate's error and a reason in the (false) answer. */
static bool refuse(struct ce_msg *msg, const char *error, const char *reason)
{
	ce_msg_set(msg, "error", error);
	ce_msg_set(msg, "reason", reason);
	return false;
}

/* A play's duration=MS (tones only): 1 to CE_TONE_MAX_DURATION; false when it is not one. */
static bool play_duration(const char *dur, unsigned *ms)
{
	guint64 v;

	if (!g_ascii_string_to_unsigned(dur, 10, 1, CE_TONE_MAX_DURATION, &v, NULL))
		return false;
	*ms = (unsigned)v;
	return true;
}

/* operation=play file=F [others=true] [duration=MS] [queue=false] */
static bool control_play(struct ce_room *room, struct ce_leg *leg, struct ce_msg *msg)
{
	const char *dur = ce_msg_get(msg, "duration");
	struct ce_play_opts o = {.replace = !ce_msg_get_bool(msg, "queue", true)};
	const char *why = NULL;
	int err;

	if (dur && !play_duration(dur, &o.duration_ms)) {
		g_message("room '%s': cannot play '%s': bad duration '%s' (1 to %u ms)", room->name,
		        ce_msg_get_def(msg, "file", ""), dur, CE_TONE_MAX_DURATION);
		return refuse(msg, "failure", "bad duration");
	}
	err = ce_room_play_opts(room, ce_msg_get(msg, "file"), leg,
	        ce_msg_get_bool(msg, "others", false), &o, &why);
	if (!err)
		return true;
	return refuse(msg, err == -ENOBUFS ? "busy" : err == -ENOTCONN ? "noconn" : "failure", why);
}

/* Prompts and recording of a room, or of a leg's room; false when it is not one. */
static bool control_media(
        struct ce_room *room, struct ce_leg *leg, const char *op, struct ce_msg *msg)
{
	const char *file = ce_msg_get(msg, "file");
	int n;

	if (!room)
		return false;
	if (!strcmp(op, "play"))
		return control_play(room, leg, msg);
	if (!strcmp(op, "stopplay")) {
		n = ce_room_stop_play(room, leg, ce_msg_get_bool(msg, "others", false));
		if (n < 0)
			return refuse(msg, "failure", g_strerror(-n));
		ce_msg_setf(msg, "stopped", "%d", n);
		return true;
	}
	if (!strcmp(op, "record"))
		return file && *file && !ce_room_record(room, file, ce_msg_get(msg, "recordwarn"));
	if (!strcmp(op, "stoprecord"))
		return !ce_room_record(room, NULL, NULL);
	return false;
}

static bool control_room(struct ce_room *room, const char *op, struct ce_msg *msg)
{
	if (control_media(room, NULL, op, msg))
		return true;
	if (!strcmp(op, "lock") || !strcmp(op, "unlock"))
		ce_room_set_locked(room, op[0] == 'l');
	else if (!strcmp(op, "kick") || !strcmp(op, "drop"))
		ce_room_drop_all(room, ce_msg_get_def(msg, "reason", "dropped"));
	else
		return false;
	return true;
}

/* Yate-style boolean parameters (mute=true, deaf=false) on a leg. */
static bool control_params(struct ce_leg *leg, const struct ce_msg *msg)
{
	const char *mute = ce_msg_get(msg, "mute");
	const char *deaf = ce_msg_get(msg, "deaf");
	bool ok = false;

	if (ce_bool_word(mute) >= 0) {
		ce_leg_set_muted(leg, ce_bool_word(mute));
		ok = true;
	}
	if (ce_bool_word(deaf) >= 0) {
		ce_leg_set_deaf(leg, ce_bool_word(deaf));
		ok = true;
	}
	return ok;
}

/** chan.control aimed at one of our legs (dumb/N) or rooms (conf/NAME). */
enum ce_msg_result ce_conf_on_control(struct ce_dispatch *d, struct ce_msg *msg, void *arg)
{
	struct ce_conf *conf = arg;
	const char *target = ce_msg_get(msg, "targetid");
	const char *op = ce_msg_get_def(msg, "operation", "");
	struct ce_leg *leg = ce_leg_find(conf, target);
	bool ok;

	(void)d;
	/* chan.masquerade id=dumb/N message=chan.control: Yate's completion sets
	 * targetid to the caller, so the leg is in id= */
	if (!leg && !(target && g_str_has_prefix(target, PREFIX)))
		leg = ce_leg_find(conf, ce_msg_get(msg, "id"));
	if (leg) {
		ce_leg_ref(leg);
		ok = control_params(leg, msg);
		ok = control_leg(leg, op, msg) || ok;
		ok = control_media(leg->room, leg, op, msg) || ok;
		ce_leg_unref(leg);
		return ok ? CE_MSG_HANDLED : CE_MSG_CONTINUE;
	}
	if (target && g_str_has_prefix(target, PREFIX)) {
		struct ce_room *room = ce_room_find(conf, target + strlen(PREFIX));

		if (room && control_room(room, op, msg))
			return CE_MSG_HANDLED;
	}
	return CE_MSG_CONTINUE;
}

/** call.drop id=conf/NAME drops a whole room; a leg's own drop is Yate's business. */
enum ce_msg_result ce_conf_on_drop(struct ce_dispatch *d, struct ce_msg *msg, void *arg)
{
	struct ce_conf *conf = arg;
	const char *id = ce_msg_get(msg, "id");

	(void)d;
	if (!id || !g_str_has_prefix(id, PREFIX) ||
	        ce_conference_end(conf, id + strlen(PREFIX), ce_msg_get(msg, "reason")))
		return CE_MSG_CONTINUE;
	return CE_MSG_HANDLED;
}

/** "conf list": one status line per room. */
void ce_conf_list(struct ce_conf *conf, GString *out)
{
	GList *rooms = g_hash_table_get_values(conf->rooms);

	for (GList *l = rooms; l; l = l->next)
		ce_room_status(l->data, out);
	if (!rooms)
		g_string_append(out, "no conference rooms\r\n");
	g_list_free(rooms);
}

static void leg_line(const struct ce_conf *conf, const struct ce_leg *l, GString *out)
{
	g_string_append_printf(out,
	        "  %u %s peer=%s state=%s counted=%s utility=%s voice=%s muted=%s deaf=%s "
	        "talking=%s",
	        l->seq, l->id ? l->id : "-", l->peer ? l->peer : "-", ce_leg_state_name(l->state),
	        l->counted ? "true" : "false", l->utility ? "true" : "false",
	        l->voice ? "true" : "false", l->muted ? "true" : "false",
	        l->deaf ? "true" : "false", l->talking ? "true" : "false");
	if (l->phone) /* bypassed: what the phone was answered (docs/bypass.md) */
		g_string_append_printf(
		        out, " direct=true codec=%s", ce_codec_name(l->phone->codec));
	if (l->media && conf->media && conf->media->leg_stats)
		conf->media->leg_stats(conf->media_arg, l->media, out);
	g_string_append(out, "\r\n");
}

/** "conf show ROOM": the room's status and one line per leg; -ENOENT if no such room. */
int ce_conf_show(struct ce_conf *conf, const char *name, GString *out)
{
	struct ce_room *room = ce_room_find(conf, name);

	if (!room)
		return -ENOENT;
	ce_room_status(room, out);
	for (unsigned i = 0; i < room->legs->len; i++)
		leg_line(conf, g_ptr_array_index(room->legs, i), out);
	for (unsigned i = 0; i < room->pending->len; i++)
		leg_line(conf, g_ptr_array_index(room->pending, i), out);
	return 0;
}

static int cmd_list(struct ce_engine *ce, int argc, char **argv, GString *out, void *arg)
{
	(void)ce;
	(void)argv;
	if (argc)
		return -EINVAL;
	ce_conf_list(arg, out);
	return 0;
}

static int cmd_show(struct ce_engine *ce, int argc, char **argv, GString *out, void *arg)
{
	(void)ce;
	if (argc != 1)
		return -EINVAL;
	if (ce_conf_show(arg, argv[0], out))
		g_string_append_printf(out, "no room '%s'\r\n", argv[0]);
	return 0;
}

static unsigned n_talking(const struct ce_room *room)
{
	unsigned n = 0;

	for (unsigned i = 0; i < room->legs->len; i++)
		n += ((const struct ce_leg *)g_ptr_array_index(room->legs, i))->talking;
	return n;
}

static void room_info(const struct ce_room *room, ce_conference_room_h *room_h, void *arg)
{
	struct ce_conference_room_info r = {
	        .name = room->name,
	        .users = room->users,
	        .maxusers = MAX(room->maxusers, 0),
	        .legs = room->legs->len,
	        .talkers = n_talking(room),
	        .locked = room->locked,
	        .record = room->record,
	};

	room_h(&r, arg);
}

/*
 * The participant's number, as the monitor's events give it: a dial-out's
 * participant_number (its caller= is what the callee was shown: the
 * room or the conference's number), else the call's caller=.
 */
static const char *leg_caller(const struct ce_leg *l)
{
	const char *number = l->who ? ce_msg_get(l->who, "participant_number") : NULL;

	return number ? number : l->who ? ce_msg_get(l->who, "caller") : NULL;
}

static void leg_info(const struct ce_conf *conf, const struct ce_leg *l, GString *rtp,
        ce_conference_leg_h *leg_h, void *arg)
{
	struct ce_conference_leg_info i = {
	        .seq = l->seq,
	        .id = l->id,
	        .peer = l->peer,
	        .caller = leg_caller(l),
	        .role = l->who ? ce_msg_get(l->who, "participant_role") : NULL,
	        .state = ce_leg_state_name(l->state),
	        .muted = l->muted,
	        .deaf = l->deaf,
	        .talking = l->talking,
	        .utility = l->utility,
	};

	g_string_truncate(rtp, 0);
	if (l->media && conf->media && conf->media->leg_stats)
		conf->media->leg_stats(conf->media_arg, l->media, rtp);
	g_strstrip(rtp->str);
	i.rtp = rtp->str;
	leg_h(&i, arg);
}

/* Admissions take a store query at most (its timeout 2 s by default): the
 * buckets reach past it, from what the main loop alone does. */
static const struct ce_hist_bounds admission_bounds = {12,
        {1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000}};

/** Count the decision on call.execute @d: its time since the message arrived. */
void ce_conference_admission_done(struct ce_conf *conf, const struct ce_dispatch *d)
{
	if (conf && d)
		ce_hist_observe(&conf->admission, &admission_bounds, (uint64_t)ce_dispatch_age(d));
}

/** The admission latency histogram (us) added to @out; its bounds, NULL without the module. */
const struct ce_hist_bounds *ce_conference_admissions(struct ce_conf *conf, struct ce_hist *out)
{
	if (!conf)
		return NULL;
	ce_hist_merge(out, &conf->admission);
	return &admission_bounds;
}

/** The media threads' wake times (us) added to @out; their bounds, NULL without media. */
const struct ce_hist_bounds *ce_conference_media_wakes(struct ce_conf *conf, struct ce_hist *out)
{
	if (!conf || !conf->media_open || !conf->media->wake_hist)
		return NULL;
	return conf->media->wake_hist(conf->media_arg, out);
}

/** Each room of @conf, in name order, to @room_h; -ENODEV without the module. */
int ce_conference_rooms(struct ce_conf *conf, ce_conference_room_h *room_h, void *arg)
{
	GList *names;

	if (!conf)
		return -ENODEV;
	names = g_list_sort(g_hash_table_get_keys(conf->rooms), (GCompareFunc)strcmp);
	for (GList *n = names; n; n = n->next)
		room_info(g_hash_table_lookup(conf->rooms, n->data), room_h, arg);
	g_list_free(names);
	return 0;
}

/** The room @name to @room_h and its legs to @leg_h; -ENODEV, -ENOENT. */
int ce_conference_room(struct ce_conf *conf, const char *name, ce_conference_room_h *room_h,
        ce_conference_leg_h *leg_h, void *arg)
{
	const struct ce_room *room;
	GString *rtp;

	if (!conf)
		return -ENODEV;
	room = ce_room_find(conf, name);
	if (!room)
		return -ENOENT;
	room_info(room, room_h, arg);
	rtp = g_string_new(NULL);
	for (unsigned i = 0; i < room->legs->len; i++)
		leg_info(conf, g_ptr_array_index(room->legs, i), rtp, leg_h, arg);
	for (unsigned i = 0; i < room->pending->len; i++)
		leg_info(conf, g_ptr_array_index(room->pending, i), rtp, leg_h, arg);
	g_string_free(rtp, TRUE);
	return 0;
}

/** See conference.h: one operation of control_leg() on the leg @which of @room. */
int ce_conference_leg_op(struct ce_conf *conf, const char *room, const char *which, const char *op,
        const char *reason)
{
	struct ce_msg *m = NULL;
	struct ce_leg *leg;
	int err;

	if (!conf)
		return -ENODEV;
	leg = ce_leg_find_seq(conf, room, which);
	if (!leg)
		return -ENOENT;
	if ((err = ce_msg_new(&m, "chan.control")))
		return err;
	if (reason)
		ce_msg_add(m, "reason", reason);
	ce_leg_ref(leg);
	err = control_leg(leg, op, m) ? 0 : -EINVAL;
	ce_leg_unref(leg);
	ce_msg_unref(m);
	return err;
}

/* conf kick|mute|unmute|deaf|undeaf ROOM LEG: the command name is the operation */
static int leg_command(struct ce_conf *conf, const char *op, int argc, char **argv, GString *out)
{
	struct ce_leg *leg;
	char *id;

	if (argc < 2)
		return -EINVAL;
	leg = ce_leg_find_seq(conf, argv[0], argv[1]);
	if (!leg) {
		g_string_append_printf(out, "no leg '%s' in room '%s'\r\n", argv[1], argv[0]);
		return 0;
	}
	id = g_strdup(leg->id ? leg->id : "-");
	ce_conference_leg_op(conf, argv[0], argv[1], op, argc > 2 ? argv[2] : NULL);
	g_string_append_printf(out, "%s %s: %s\r\n", op, id, "done");
	g_free(id);
	return 0;
}

#define LEG_CMD(op)                                                                                \
	static int cmd_##op(struct ce_engine *ce, int argc, char **argv, GString *out, void *arg)  \
	{                                                                                          \
		(void)ce;                                                                          \
		return leg_command(arg, #op, argc, argv, out);                                     \
	}
LEG_CMD(kick)
LEG_CMD(mute)
LEG_CMD(unmute)
LEG_CMD(deaf)
LEG_CMD(undeaf)

/** See conference.h. */
int ce_conference_lock(struct ce_conf *conf, const char *name, bool lock)
{
	struct ce_room *room = conf ? ce_room_find(conf, name) : NULL;

	if (!conf)
		return -ENODEV;
	if (!room)
		return -ENOENT;
	ce_room_set_locked(room, lock);
	return 0;
}

/** See conference.h: as call.drop id=conf/NAME. */
int ce_conference_end(struct ce_conf *conf, const char *name, const char *reason)
{
	struct ce_room *room = conf ? ce_room_find(conf, name) : NULL;

	if (!conf)
		return -ENODEV;
	if (!room)
		return -ENOENT;
	ce_room_drop_all(room, reason ? reason : "dropped");
	return 0;
}

static int room_command(struct ce_conf *conf, bool lock, int argc, char **argv, GString *out)
{
	int err;

	if (argc != 1)
		return -EINVAL;
	err = ce_conference_lock(conf, argv[0], lock);
	g_string_append_printf(out, !err ? "room '%s' %s\r\n" : "no room '%s'%.0s\r\n", argv[0],
	        lock ? "locked" : "unlocked");
	return 0;
}

static int cmd_lock(struct ce_engine *ce, int argc, char **argv, GString *out, void *arg)
{
	(void)ce;
	return room_command(arg, true, argc, argv, out);
}

static int cmd_unlock(struct ce_engine *ce, int argc, char **argv, GString *out, void *arg)
{
	(void)ce;
	return room_command(arg, false, argc, argv, out);
}

/* The room argv[0] and, when argc > li, its leg argv[li] of a console
 * command; false, with the answer in out, when either is unknown. */
static bool find_room_leg(struct ce_conf *conf, int argc, char **argv, int li, GString *out,
        struct ce_room **room, struct ce_leg **leg)
{
	*room = ce_room_find(conf, argv[0]);
	*leg = NULL;
	if (argc > li && *room)
		*leg = ce_leg_find_seq(conf, argv[0], argv[li]);
	if (*room && (argc <= li || *leg))
		return true;
	g_string_append_printf(
	        out, "no room '%s'%s%s\r\n", argv[0], *room ? " leg " : "", *room ? argv[li] : "");
	return false;
}

/* The boolean (on, off, yes, ...) of @arg, "KEY=VALUE", into *@v if KEY is @key (*@bad if VALUE
 * is no boolean); false if @arg is not @key's. */
static bool dsp_arg(const char *arg, const char *key, bool *v, bool *bad)
{
	size_t n = strlen(key);
	int w;

	if (strncmp(arg, key, n) || arg[n] != '=')
		return false;
	w = ce_bool_word(arg + n + 1);
	if (w < 0)
		*bad = true;
	else
		*v = w;
	return true;
}

/* conf dsp ROOM LEG [ns=on|off] [agc=on|off]: show or switch a leg's noise suppression and AGC */
static int cmd_dsp(struct ce_engine *ce, int argc, char **argv, GString *out, void *arg)
{
	struct ce_room *room;
	struct ce_leg *leg;
	bool ns, agc, bad = false;

	(void)ce;
	if (argc < 2 || argc > 4)
		return -EINVAL;
	if (!find_room_leg(arg, argc, argv, 1, out, &room, &leg))
		return 0;
	ns = leg->ns;
	agc = leg->agc;
	for (int i = 2; i < argc; i++)
		if (!dsp_arg(argv[i], "ns", &ns, &bad) && !dsp_arg(argv[i], "agc", &agc, &bad))
			return -EINVAL;
	if (bad)
		return -EINVAL;
	ce_leg_set_dsp(leg, ns, agc);
	g_string_append_printf(out, "dsp %s: noise_suppression=%s agc=%s\r\n",
	        leg->id ? leg->id : "-", leg->ns ? "on" : "off", leg->agc ? "on" : "off");
	return 0;
}

/* conf play ROOM FILE [LEG [others]] [duration=MS] */
#define DURATION_ARG "duration="
static int cmd_play(struct ce_engine *ce, int argc, char **argv, GString *out, void *arg)
{
	struct ce_play_opts o = {0};
	struct ce_room *room;
	struct ce_leg *leg;
	const char *why = NULL;
	int err;

	(void)ce;
	if (argc > 2 && g_str_has_prefix(argv[argc - 1], DURATION_ARG)) {
		const char *dur = argv[argc - 1] + strlen(DURATION_ARG);

		if (!play_duration(dur, &o.duration_ms)) {
			g_string_append_printf(out, "bad duration '%s' (1 to %u ms)\r\n", dur,
			        CE_TONE_MAX_DURATION);
			return 0;
		}
		argc--;
	}
	if (argc < 2 || argc > 4 || (argc == 4 && strcmp(argv[3], "others")))
		return -EINVAL;
	if (!find_room_leg(arg, argc, argv, 2, out, &room, &leg))
		return 0;
	err = ce_room_play_opts(room, argv[1], leg, argc == 4, &o, &why);
	if (err)
		g_string_append_printf(out, "cannot play '%s': %s\r\n", argv[1], why);
	else
		g_string_append_printf(out, "playing '%s'\r\n", argv[1]);
	return 0;
}

/* conf stopplay ROOM [LEG [others]] */
static int cmd_stopplay(struct ce_engine *ce, int argc, char **argv, GString *out, void *arg)
{
	struct ce_room *room;
	struct ce_leg *leg;
	int n;

	(void)ce;
	if (argc < 1 || argc > 3 || (argc == 3 && strcmp(argv[2], "others")))
		return -EINVAL;
	if (!find_room_leg(arg, argc, argv, 1, out, &room, &leg))
		return 0;
	n = ce_room_stop_play(room, leg, argc == 3);
	if (n < 0)
		g_string_append_printf(out, "cannot stop prompts: %s\r\n", g_strerror(-n));
	else
		g_string_append_printf(out, "stopped %d prompt%s\r\n", n, n == 1 ? "" : "s");
	return 0;
}

/* conf record ROOM FILE, conf stoprecord ROOM */
static int record_command(struct ce_conf *conf, const char *file, const char *name, GString *out)
{
	struct ce_room *room = ce_room_find(conf, name);

	if (!room)
		g_string_append_printf(out, "no room '%s'\r\n", name);
	else if (ce_room_record(room, file, NULL))
		g_string_append_printf(out, "cannot record to '%s': %s\r\n", file,
		        room->record_error ? room->record_error : "failed");
	else if (file)
		g_string_append_printf(out, "recording '%s' to '%s'\r\n", name, room->record);
	else
		g_string_append_printf(out, "room '%s' not recording\r\n", name);
	return 0;
}

/** See conference.h. */
int ce_conference_record_start(struct ce_conf *conf, const char *name, const char *file)
{
	struct ce_room *room = conf ? ce_room_find(conf, name) : NULL;
	char *made = NULL;
	int err;

	if (!conf)
		return -ENODEV;
	if (!room)
		return -ENOENT;
	if (room->record || room->recorder)
		return -EBUSY;
	if (!file)
		file = made = ce_room_record_name(room, "api");
	err = ce_room_record(room, file, NULL);
	g_free(made);
	return err;
}

/** See conference.h. */
int ce_conference_record_stop(struct ce_conf *conf, const char *name)
{
	struct ce_room *room = conf ? ce_room_find(conf, name) : NULL;

	if (!conf)
		return -ENODEV;
	if (!room)
		return -ENOENT;
	if (!room->record && !room->recorder)
		return -EALREADY;
	return ce_room_record(room, NULL, NULL);
}

static int cmd_record(struct ce_engine *ce, int argc, char **argv, GString *out, void *arg)
{
	(void)ce;
	if (argc != 2)
		return -EINVAL;
	return record_command(arg, argv[1], argv[0], out);
}

static int cmd_stoprecord(struct ce_engine *ce, int argc, char **argv, GString *out, void *arg)
{
	(void)ce;
	if (argc != 1)
		return -EINVAL;
	return record_command(arg, NULL, argv[0], out);
}

static void complete_rooms(
        struct ce_engine *ce, const char *partline, const char *partword, GString *out, void *arg)
{
	struct ce_conf *conf = arg;
	GList *rooms = g_hash_table_get_keys(conf->rooms);

	(void)ce;
	(void)partline;
	for (GList *l = rooms; l; l = l->next)
		ce_console_complete_add(out, partword, l->data);
	g_list_free(rooms);
}

static void status_line(struct ce_engine *ce, GString *out, void *arg)
{
	struct ce_conf *conf = arg;

	(void)ce;
	g_string_append_printf(out,
	        "rooms=%u,legs=%u,record_failures=%u,direct_legs=%" G_GUINT64_FORMAT,
	        g_hash_table_size(conf->rooms), conf->all->len, conf->record_failures,
	        conf->direct_legs);
	if (conf->media && conf->media->stats)
		conf->media->stats(conf->media_arg, out);
}

static const struct {
	const char *name, *usage, *help;
	ce_console_cmd_h *cmd;
} s_cmds[] = {
        {"list", "conf list", "List conference rooms", cmd_list},
        {"show", "conf show ROOM", "Show a room and its legs", cmd_show},
        {"kick", "conf kick ROOM LEG [reason]", "Drop a leg (dumb/N, caller id or number)",
                cmd_kick},
        {"mute", "conf mute ROOM LEG", "The room no longer hears the leg", cmd_mute},
        {"unmute", "conf unmute ROOM LEG", "The room hears the leg again", cmd_unmute},
        {"deaf", "conf deaf ROOM LEG", "The leg no longer hears the room", cmd_deaf},
        {"undeaf", "conf undeaf ROOM LEG", "The leg hears the room again", cmd_undeaf},
        {"dsp", "conf dsp ROOM LEG [ns=on|off] [agc=on|off]",
                "Show or switch the noise suppression and AGC of what a leg says", cmd_dsp},
        {"lock", "conf lock ROOM", "Refuse new participants", cmd_lock},
        {"unlock", "conf unlock ROOM", "Admit new participants again", cmd_unlock},
        {"play", "conf play ROOM FILE [LEG [others]] [duration=MS]",
                "Play a prompt or tone/NAME (for MS) to the room, one leg or all but one (queued)",
                cmd_play},
        {"stopplay", "conf stopplay ROOM [LEG [others]]",
                "Stop the prompts playing and queued for the room, one leg, or all but one",
                cmd_stopplay},
        {"record", "conf record ROOM FILE", "Record the room's mix (WAV, or FLAC by name)",
                cmd_record},
        {"stoprecord", "conf stoprecord ROOM", "Stop recording the room", cmd_stoprecord},
};

/** Add the conf console commands and the status line for @conf. */
void ce_conf_console_add(struct ce_engine *ce, struct ce_conf *conf)
{
	for (unsigned i = 0; i < G_N_ELEMENTS(s_cmds); i++)
		ce_console_add(ce, s_cmds[i].name, s_cmds[i].usage, s_cmds[i].help, s_cmds[i].cmd,
		        complete_rooms, conf);
	ce_console_add_status(ce, "conference", status_line, conf);
}

/** Remove what ce_conf_console_add added. */
void ce_conf_console_remove(struct ce_engine *ce)
{
	ce_console_remove_status(ce, "conference");
	for (unsigned i = 0; i < G_N_ELEMENTS(s_cmds); i++)
		ce_console_remove(ce, s_cmds[i].name);
}
