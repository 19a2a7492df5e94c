/* room.c - conference rooms: registry, membership, owners, lonely timer and Yate-compatible
 * notifications
 *
 * Over 700 lines: the room registry, membership, owners, the lonely timer
 * and every notification Yate's conference module sends, parameter for
 * parameter, are one state machine per room.
 */
#define G_LOG_DOMAIN "conference"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "message.h"
#include "room.h"
#include "leg.h"
#include "media-glue.h"
#include "params.h"
#include "media/media.h"

/*
 * The notifications copy Yate's conference module parameter for parameter
 * and in the same order, so that scripts watching conf-monitor/... keep
 * working.  From a real Yate (room "yroom", notify=conf-monitor/yroom):
 *
 *   chan.notify targetid=conf-monitor/yroom event=created room=yroom
 *     rate=8000 maxusers=5 caller=tone/busy called=802 billid= username=
 *   chan.notify id=conf/1 targetid=conf-monitor/yroom counted=true
 *     utility=false room=yroom event=joined maxusers=5 users=1
 *   chan.notify id=conf/1 ... event=left maxusers=5 users=1 lonely=true
 *     lastpeerid=tone/4
 *   chan.notify targetid=conf-monitor/yroom event=destroyed room=yroom maxusers=5
 *
 * Our legs are Yate's dumb/N channels, so id= is dumb/N and the caller's
 * channel appears as lastpeerid/peerid/speaker.N.peer.  After Yate's
 * parameters come what Yate's rooms do not say: "created" carries the
 * request's conference_id, "joined" who the participant is (caller,
 * callername, called, billid, conference_id and the schedule module's
 * participant_* parameters, when the join request had them).
 *
 * Each of these is first a struct ce_room_event, handed to the bus's room
 * hook (the monitor) before the chan.notify is built from it.  The file is
 * longer than most (~1000 lines) because a room's events are made where
 * the membership rules that cause them live; a split would have to pass
 * the room's private state across files.
 */

/** The module clock, in microseconds. */
gint64 ce_conf_now(const struct ce_conf *conf)
{
	return conf->clock ? conf->clock(conf->clock_arg) : g_get_monotonic_time();
}

/** Send @msg (a reference is taken) to the engine and on to Yate, ignoring the answer. */
void ce_conf_send(struct ce_conf *conf, struct ce_msg *msg)
{
	ce_bus_send(conf->bus, msg, 0, NULL, NULL);
}

/** The room called @name, or NULL. */
struct ce_room *ce_room_find(struct ce_conf *conf, const char *name)
{
	return name ? g_hash_table_lookup(conf->rooms, name) : NULL;
}

/** Whether a counted leg would find the room full (legs on their way in count). */
bool ce_room_full(const struct ce_room *room)
{
	return room->users + room->pending_counted >= room->maxusers;
}

static bool refuse(struct ce_room_refusal *why, const char *error, const char *reason)
{
	why->error = error;
	why->reason = reason;
	return false;
}

/*
 * Room names reach file names (record=/spool/\1.wav in a dialplan) and
 * logs: ASCII letters, digits and - _ . @ + # * only, not starting with a
 * dot, at most 128 characters.
 */
static bool name_valid(const char *name)
{
	if (strlen(name) > 128 || name[0] == '.')
		return false;
	for (const char *p = name; *p; p++) {
		if (!g_ascii_isalnum(*p) && !strchr("-_.@+#*", *p))
			return false;
	}
	return true;
}

/**
 * Yate's checkRoom: may a leg join room @name?  An empty @name is replaced
 * by a fresh "x-N".  On refusal fills @why and returns false.
 */
bool ce_room_check(struct ce_conf *conf, GString *name, bool existing, bool counted, bool utility,
        struct ce_room_refusal *why)
{
	struct ce_room *room = ce_room_find(conf, name->str);

	if (!name_valid(name->str))
		return refuse(why, "noroute", "Invalid conference room name");
	if (existing && !room)
		return refuse(why, "noroute", "No such conference room");
	if (room) {
		if (room->locked && !utility)
			return refuse(why, "forbidden", "Conference room is locked");
		if (counted && ce_room_full(room))
			return refuse(why, "busy", "Conference room is full");
		return true;
	}
	while (!name->len || ce_room_find(conf, name->str))
		g_string_printf(name, "x-%u", ++conf->room_alloc);
	return true;
}

static struct ce_msg *notify_new(void)
{
	struct ce_msg *m = NULL;

	ce_msg_new(&m, "chan.notify");
	return m;
}

static void add_int(struct ce_msg *m, const char *name, long v)
{
	char buf[24];

	g_snprintf(buf, sizeof(buf), "%ld", v);
	ce_msg_add(m, name, buf);
}

/*
 * Hand room event @ev (its kind and what it says set) to the bus's room
 * hooks (the monitor) as @room's, before Yate gets the chan.notify built
 * from it.  Only for a room with a notify target.
 */
static void room_tell(struct ce_room *room, struct ce_room_event *ev)
{
	ev->room = room->name;
	ev->target = room->notify;
	ce_bus_room_event(room->conf->bus, ev);
}

/* What every room event about @leg in @room says: the leg, its caller, the room's users. */
static void leg_fill(struct ce_room_event *ev, const struct ce_room *room, const struct ce_leg *leg)
{
	ev->leg = leg->id;
	ev->peer = leg->peer;
	ev->users = room->users;
	ev->maxusers = MAX(room->maxusers, 0);
}

static void populate(struct ce_msg *m, const struct ce_room *room, const struct ce_leg *leg)
{
	ce_msg_set(m, "counted", leg->counted ? "true" : "false");
	ce_msg_set(m, "utility", leg->utility ? "true" : "false");
	ce_msg_set(m, "room", room->name);
}

static void set_expire(struct ce_room *room)
{
	if (!room->lonely)
		return;
	if (room->users == 1 && room->lonely_ms)
		room->expire = ce_conf_now(room->conf) + (gint64)room->lonely_ms * 1000;
	else
		room->expire = 0;
}

/* Yate's semantics: the first value decides lonely; a number also sets a timeout. */
static void set_lonely(struct ce_room *room, const struct ce_join_params *p)
{
	long interval = p->lonely_ms;

	if (!room->users)
		room->lonely = p->lonely;
	if (!room->lonely || interval < 0)
		return;
	if (interval > 0 && interval < CE_ROOM_MIN_LONELY)
		interval = CE_ROOM_MIN_LONELY;
	if (room->lonely_ms == (unsigned)interval)
		return;
	room->lonely_ms = interval;
	set_expire(room);
}

static void notify_created(struct ce_room *room, const struct ce_join_params *jp)
{
	const struct ce_msg *p = jp->passed;
	struct ce_msg *m = notify_new();
	struct ce_room_event ev;

	ce_room_event_init(&ev, CE_EVENT_CREATED);
	ev.maxusers = MAX(room->maxusers, 0);
	ev.who.caller = ce_msg_get_def(p, "caller", "");
	ev.who.called = ce_msg_get_def(p, "called", "");
	ev.who.billid = ce_msg_get_def(p, "billid", "");
	ev.who.conference_id = ce_msg_get_int(p, "conference_id", 0, 0, G_MAXINT64);
	room_tell(room, &ev);
	ce_msg_add(m, "targetid", room->notify);
	ce_msg_add(m, "event", "created");
	ce_msg_add(m, "room", room->name);
	add_int(m, "rate", room->rate);
	add_int(m, "maxusers", room->maxusers);
	ce_msg_add(m, "caller", ev.who.caller);
	ce_msg_add(m, "called", ev.who.called);
	ce_msg_add(m, "billid", ev.who.billid);
	ce_msg_add(m, "username", ce_msg_get_def(p, "username", ""));
	if (ce_msg_get(p, "conference_id"))
		ce_msg_add(m, "conference_id", ce_msg_get(p, "conference_id"));
	ce_conf_send(room->conf, m);
	ce_msg_unref(m);
}

/* The rate the media runs a room of rate= @rate at: that one where the
 * media library can (ce_media_rate_ok: 8000, 16000, 48000), else 16000
 * above 16000 (32000, 44100: a fullband room is only had when asked by
 * its own rate), 8000 below. */
static unsigned mix_rate(unsigned rate)
{
	if (ce_media_rate_ok(rate))
		return rate;
	return rate > 16000 ? 16000 : CE_MEDIA_RATE_DEFAULT;
}

/*
 * The rate the media runs @room at (mix_rate), with a NOTE when it is not
 * the rate= it reports (Yate's, 8000 to 48000): the room goes on
 * reporting its rate= as Yate would.
 */
static unsigned media_rate(const struct ce_room *room)
{
	unsigned rate = mix_rate(room->rate);

	if (rate != room->rate)
		g_message("room '%s': rate=%u is not a rate the media core mixes at, mixing at %u",
		        room->name, room->rate, rate);
	return rate;
}

/** Whether @room mixes wideband (16 kHz or more): G.722 phones are answered G.722 there. */
bool ce_room_wideband(const struct ce_room *room)
{
	return room && mix_rate(room->rate) >= 16000;
}

/** The rate @room mixes at (8000, 16000 or 48000; NULL: the default, 8000). */
unsigned ce_room_mix_rate(const struct ce_room *room)
{
	return room ? mix_rate(room->rate) : CE_MEDIA_RATE_DEFAULT;
}

static void room_free(struct ce_room *room)
{
	struct ce_conf *conf = room->conf;

	if (room->media)
		conf->media->room_free(conf->media_arg, room->media);
	g_ptr_array_free(room->legs, TRUE);
	g_ptr_array_free(room->pending, TRUE);
	g_ptr_array_free(room->owners, TRUE);
	g_free(room->player_id);
	g_free(room->record);
	g_free(room->record_error);
	g_free(room->notify);
	g_free(room->lang);
	g_free(room->moh);
	g_free(room->name);
	g_free(room);
}

/**
 * Create room @name from the parameters of the request that opened it
 * (Yate's ConfRoom constructor): rate, maxusers, waitlock, notify,
 * speakers, interval, lonely, record.  Registers it and emits "created".
 */
int ce_room_new(
        struct ce_room **rp, struct ce_conf *conf, const char *name, const struct ce_join_params *p)
{
	return ce_room_new_at(rp, conf, name, p, 0);
}

/**
 * ce_room_new(), or with @port (not 0) a room that a crashed engine had,
 * rebuilt for its legs (recover.c): on the media port those legs used,
 * without "created" (that engine reported it) nor record=.
 */
int ce_room_new_at(struct ce_room **rp, struct ce_conf *conf, const char *name,
        const struct ce_join_params *p, unsigned port)
{
	struct ce_room *room = g_new0(struct ce_room, 1);
	int err;

	room->conf = conf;
	room->name = g_strdup(name);
	room->rate = p->rate;
	room->maxusers = p->maxusers;
	room->waitlock = p->waitlock;
	room->notify = g_strdup(p->notify);
	room->lang = g_strdup(p->lang);
	room->created = !port;
	room->legs = g_ptr_array_new();
	room->pending = g_ptr_array_new();
	room->owners = g_ptr_array_new_with_free_func(g_free);
	room->speakers = p->speakers;
	room->interval = p->interval;
	set_lonely(room, p);
	ce_room_entry_init(room, p);
	err = conf->media->room_new(conf->media_arg, &room->media, name, media_rate(room),
	        room->notify ? room->speakers : 0, room->interval, port, room);
	if (err)
		goto out;
	g_hash_table_insert(conf->rooms, room->name, room);
	g_info("room '%s' created (maxusers=%d lonely=%s notify=%s)", name, room->maxusers,
	        room->lonely ? "true" : "false", room->notify ? room->notify : "");
	if (room->notify && !port)
		notify_created(room, p);
	if (!port)
		ce_room_set_recording(room, p);
	*rp = room;
out:
	if (err)
		room_free(room);
	return err;
}

/** A later request for an existing room may change its lonely setting. */
void ce_room_update(struct ce_room *room, const struct ce_join_params *p)
{
	if (p->has_lonely)
		set_lonely(room, p);
}

static void destroy(struct ce_room *room)
{
	struct ce_room_event ev;
	struct ce_msg *m;

	g_hash_table_remove(room->conf->rooms, room->name);
	g_info("room '%s' destroyed", room->name);
	if (room->notify) {
		ce_room_event_init(&ev, CE_EVENT_END);
		ev.maxusers = MAX(room->maxusers, 0);
		room_tell(room, &ev);
		m = notify_new();
		ce_msg_add(m, "targetid", room->notify);
		ce_msg_add(m, "event", "destroyed");
		ce_msg_add(m, "room", room->name);
		add_int(m, "maxusers", room->maxusers);
		ce_conf_send(room->conf, m);
		ce_msg_unref(m);
	}
	room_free(room);
}

/** Hold a place for @leg, which is on its way in. */
void ce_room_reserve(struct ce_room *room, struct ce_leg *leg)
{
	g_ptr_array_add(room->pending, leg);
	if (leg->counted)
		room->pending_counted++;
}

/**
 * Give back the place reserved for @leg, which does not come after all
 * (a lobby caller whose move failed or who hung up on the way); a room
 * that was made for it alone goes.
 */
void ce_room_unreserve(struct ce_room *room, struct ce_leg *leg)
{
	if (g_ptr_array_remove(room->pending, leg) && leg->counted)
		room->pending_counted--;
	if (!room->dropping && !room->hold && ce_room_idle(room))
		ce_room_drop_all(room, "hangup");
}

/* The "joined" notification and room event of @leg. */
static void notify_joined(struct ce_room *room, struct ce_leg *leg)
{
	struct ce_room_event ev;
	struct ce_msg *m;

	ce_room_event_init(&ev, CE_EVENT_ENTER);
	leg_fill(&ev, room, leg);
	if (!room->conf->set.joined_peerid)
		ev.peer = NULL;
	if (leg->who)
		ce_room_who_read(&ev.who, leg->who);
	if (leg->resumed_at) {
		/* it joined before a crash: the monitor knows it again, without a new enter */
		ev.resumed = CE_LEG_ENGINE_RESTART;
		ev.joined_ms = MAX(g_get_real_time() - leg->resumed_at, 0) / 1000;
	}
	room_tell(room, &ev);
	m = notify_new();
	ce_msg_add(m, "id", leg->id);
	ce_msg_add(m, "targetid", room->notify);
	if (ev.peer)
		ce_msg_add(m, "peerid", ev.peer);
	populate(m, room, leg);
	ce_msg_add(m, "event", "joined");
	add_int(m, "maxusers", room->maxusers);
	add_int(m, "users", room->users);
	if (room->player_id)
		ce_msg_add(m, "player", room->player_id);
	if (ev.resumed) {
		ce_msg_add(m, "resumed", ev.resumed);
		ce_msg_setf(m, "joined_ms", "%" G_GINT64_FORMAT, ev.joined_ms);
	}
	ce_leg_add_who(leg, m);
	ce_conf_send(room->conf, m);
	ce_msg_unref(m);
}

/**
 * Move @leg from the reserved places into the room: its prompts and the
 * room's (entry.c), "joined", then what follows it (muted on entry).
 */
void ce_room_add(struct ce_room *room, struct ce_leg *leg)
{
	if (g_ptr_array_remove(room->pending, leg) && leg->counted)
		room->pending_counted--;
	g_ptr_array_add(room->legs, leg);
	if (leg->player) {
		g_free(room->player_id);
		room->player_id = g_strdup(leg->id);
	}
	if (leg->counted) {
		room->users++;
		set_expire(room);
	}
	if (!leg->resumed_at)
		ce_room_entry_joined(room, leg);
	if (room->notify && !leg->utility)
		notify_joined(room, leg);
	if (!leg->resumed_at)
		ce_room_entry_settled(room, leg);
}

static void notify_left(struct ce_room *room, struct ce_leg *leg)
{
	struct ce_msg *m = notify_new();
	struct ce_room_event ev;

	ce_room_event_init(&ev, CE_EVENT_LEAVE);
	leg_fill(&ev, room, leg);
	/* no call.drop or chan.hangup will tell the monitor why: say it here */
	if (leg->orphaned) {
		ev.reason = leg->orphaned;
		ev.gone_ms = MAX(ce_conf_now(room->conf) - leg->gone_at, 0) / 1000;
	} else if (room->dropping && room->end_reason) {
		ev.reason = room->end_reason; /* the room ended it, not its caller */
	}
	room_tell(room, &ev);
	ce_msg_add(m, "id", leg->id);
	ce_msg_add(m, "targetid", room->notify);
	populate(m, room, leg);
	ce_msg_add(m, "event", "left");
	add_int(m, "maxusers", room->maxusers);
	add_int(m, "users", room->users);
	if (room->lonely)
		ce_msg_add(m, "lonely", room->users == 1 ? "true" : "false");
	if (room->player_id)
		ce_msg_add(m, "player", room->player_id);
	if (ev.peer)
		ce_msg_set(m, "lastpeerid", ev.peer);
	if (ev.reason)
		ce_msg_add(m, "reason", ev.reason);
	if (leg->orphaned)
		ce_msg_setf(m, "gone_ms", "%" G_GINT64_FORMAT, ev.gone_ms);
	ce_conf_send(room->conf, m);
	ce_msg_unref(m);
}

static void drop_legs(struct ce_room *room, const char *reason);

/**
 * Take @leg out of the room (or out of its reserved places): emit "left"
 * for a leg that was in, then apply Yate's rules: a room that nobody owns
 * any more (one lonely user without lonely=true, or only utility legs)
 * drops everyone (once the link is up: relink.c); an empty room is
 * destroyed (and freed: do not use @room afterwards).
 */
void ce_room_remove(struct ce_room *room, struct ce_leg *leg)
{
	bool joined = g_ptr_array_remove(room->legs, leg);
	bool recorder = leg == room->recorder;

	if (!joined && g_ptr_array_remove(room->pending, leg) && leg->counted)
		room->pending_counted--;
	leg->room = NULL;
	if (recorder) {
		/* the recording is over; unlike Yate's, its end drops nobody */
		room->recorder = NULL;
		g_clear_pointer(&room->record, g_free);
		g_info("room '%s': recorder %s left", room->name, leg->id ? leg->id : "-");
	}
	if (joined && !recorder) {
		if (room->player_id && leg->id && !strcmp(room->player_id, leg->id))
			g_clear_pointer(&room->player_id, g_free);
		if (leg->counted) {
			room->users--;
			set_expire(room);
		}
		if (room->notify && !leg->utility)
			notify_left(room, leg);
		if (ce_room_entry_ends(room, leg) && !room->conf->link_down) {
			g_info("room '%s': its last moderator %s left, the room ends", room->name,
			        leg->id ? leg->id : "-");
			room->end_reason = CE_ROOM_MODERATOR_LEFT;
			drop_legs(room, room->end_reason);
		} else if (ce_room_is_owned(room))
			ce_room_entry_left(room, leg);
		else if (room->conf->link_down)
			room->unowned_waits = true; /* the drops would not reach Yate now */
		else
			drop_legs(room, "hangup");
	}
	if (room->dropping || room->hold)
		return;
	if (ce_room_idle(room))
		ce_room_drop_all(room, "hangup");
}

/**
 * Whether nothing but (at most) the room's own recorder is in the room or
 * on its way in: such a room is dropped, recorder and all, as Yate drops
 * the recorder of a room whose last user went.
 */
bool ce_room_idle(const struct ce_room *room)
{
	unsigned n = room->legs->len + room->pending->len;

	return !n || (n == 1 && room->recorder);
}

/** Whether a channel other than the only user keeps the room alive. */
static bool owned_by_other(const struct ce_room *room)
{
	const char *owner;

	if (room->owners->len > 1)
		return true;
	if (!room->owners->len)
		return false;
	owner = g_ptr_array_index(room->owners, 0);
	for (unsigned i = 0; i < room->legs->len; i++) {
		const struct ce_leg *l = g_ptr_array_index(room->legs, i);

		if (l->counted)
			return !l->peer || strcmp(l->peer, owner) != 0;
	}
	return true;
}

/** Yate's isOwned: users left, and (lonely allowed, or several, or another owner). */
bool ce_room_is_owned(const struct ce_room *room)
{
	if (!room->users)
		return false;
	return room->lonely || room->users > 1 || owned_by_other(room);
}

static int owner_index(const struct ce_room *room, const char *id)
{
	for (unsigned i = 0; i < room->owners->len; i++) {
		if (!strcmp(g_ptr_array_index(room->owners, i), id))
			return i;
	}
	return -1;
}

/** Make channel @id an owner: the room stays up while it lives. */
void ce_room_add_owner(struct ce_room *room, const char *id)
{
	if (!id || !*id || owner_index(room, id) >= 0)
		return;
	g_ptr_array_add(room->owners, g_strdup(id));
	g_debug("room '%s': owner %s added", room->name, id);
}

/** Channel @id is no longer an owner (hung up); may drop the room. */
void ce_room_del_owner(struct ce_room *room, const char *id)
{
	int i = owner_index(room, id);

	if (i < 0)
		return;
	g_ptr_array_remove_index(room->owners, i);
	g_debug("room '%s': owner %s removed", room->name, id);
	if (!ce_room_is_owned(room))
		ce_room_drop_all(room, "hangup");
}

/* End every leg (call.drop to Yate) but leave the room itself alone. */
static void drop_legs(struct ce_room *room, const char *reason)
{
	GPtrArray *all;

	if (room->dropping)
		return;
	room->dropping = true;
	all = g_ptr_array_new_with_free_func((GDestroyNotify)ce_leg_unref);
	for (unsigned i = 0; i < room->legs->len; i++)
		g_ptr_array_add(all, ce_leg_ref(g_ptr_array_index(room->legs, i)));
	for (unsigned i = 0; i < room->pending->len; i++)
		g_ptr_array_add(all, ce_leg_ref(g_ptr_array_index(room->pending, i)));
	for (unsigned i = 0; i < all->len; i++)
		ce_leg_end(g_ptr_array_index(all, i), reason, true);
	g_ptr_array_free(all, TRUE);
	room->dropping = false;
}

/** Drop every leg in the room or on its way in (call.drop to Yate); frees @room. */
void ce_room_drop_all(struct ce_room *room, const char *reason)
{
	if (room->dropping)
		return;
	drop_legs(room, reason);
	if (!room->legs->len && !room->pending->len)
		destroy(room);
}

/**
 * Lonely timeout: a user left alone longer than lonely=MS is dropped with
 * reason "timeout" unless another owner keeps the room.  (Yate's own check
 * never fires once lonely is set; we do what its documentation says.)
 */
void ce_room_tick(struct ce_room *room, gint64 now)
{
	if (!room->expire || now < room->expire)
		return;
	room->expire = 0;
	if (room->users <= 1 && !owned_by_other(room)) {
		g_info("room '%s' lonely timeout", room->name);
		ce_room_drop_all(room, "timeout");
	}
}

/**
 * Yate's setParams: report newroom and users in @answer and apply
 * confowner (true/false: the channel in id= becomes or stops being an
 * owner; any other value names the owner).  Returns whether confowner was
 * applied.
 */
bool ce_room_set_params(struct ce_room *room, const struct ce_join_params *p, struct ce_msg *answer)
{
	const char *ctl = p->confowner;
	const char *id = p->id;

	ce_msg_set(answer, "newroom", room->created ? "true" : "false");
	room->created = false;
	ce_msg_setf(answer, "users", "%d", room->users + room->pending_counted);
	if (!ctl || !*ctl)
		return false;
	if (ce_bool_word(ctl) >= 0) {
		if (id && *id && ce_bool_word(ctl))
			ce_room_add_owner(room, id);
		else if (id && *id)
			ce_room_del_owner(room, id);
	} else {
		ce_room_add_owner(room, ctl);
	}
	return true;
}

/*
 * Yate's "recording" event; ours adds file= (the file created) or error=
 * (refused), and announces a recording that stopped by itself with an
 * empty record=, its file= and reason=.
 */
static void notify_recording(struct ce_room *room, const char *record, const char *file,
        const char *error, const char *reason)
{
	struct ce_msg *m = notify_new();
	struct ce_room_event ev;

	/* a refusal (error=) started nothing: Yate hears of it, it is no room event */
	if (!error) {
		ce_room_event_init(&ev, *record ? CE_EVENT_RECORD_START : CE_EVENT_RECORD_STOP);
		ev.users = room->users;
		ev.maxusers = MAX(room->maxusers, 0);
		ev.record = record;
		ev.file = file;
		ev.reason = reason;
		room_tell(room, &ev);
	}
	ce_msg_setf(m, "id", "conf/%s", room->name);
	ce_msg_add(m, "targetid", room->notify);
	ce_msg_add(m, "counted", "false");
	ce_msg_add(m, "utility", "true");
	ce_msg_add(m, "room", room->name);
	ce_msg_add(m, "event", "recording");
	add_int(m, "maxusers", room->maxusers);
	add_int(m, "users", room->users);
	ce_msg_add(m, "record", record);
	if (file)
		ce_msg_add(m, "file", file);
	if (error)
		ce_msg_add(m, "error", error);
	if (reason)
		ce_msg_add(m, "reason", reason);
	ce_conf_send(room->conf, m);
	ce_msg_unref(m);
}

/* Yate routes recordings to wave/record/PATH; we write PATH ourselves. */
static const char *record_path(const char *record)
{
	if (g_str_has_prefix(record, "wave/record/"))
		return record + strlen("wave/record/");
	return record;
}

/* Stop whatever records the room: our file writer, or the recorder leg. */
static void stop_recording(struct ce_room *room, const char *reason)
{
	struct ce_conf *conf = room->conf;

	if (room->recorder) {
		ce_recorder_stop(room, reason);
	} else if (room->record) {
		conf->media->room_record(conf->media_arg, room->media, NULL, -1);
		g_clear_pointer(&room->record, g_free);
	}
}

/* Create the file for @record under record_dir (recfile.c) and record into it. */
static int start_file(struct ce_room *room, const char *record, char **file)
{
	struct ce_conf *conf = room->conf;
	GError *error = NULL;
	int fd = ce_recfile_create(conf->set.record_dir, record_path(record), file, &error);

	if (fd < 0) {
		g_warning("room '%s': recording to '%s' refused: %s", room->name, record,
		        error->message);
		room->record_error = g_strdup(error->message);
		if (room->notify)
			notify_recording(room, record, NULL, error->message, NULL);
		g_error_free(error);
		return fd;
	}
	if (conf->media->room_record(conf->media_arg, room->media, *file, fd)) {
		g_message("room '%s': cannot record to '%s'", room->name, *file);
		room->record_error = g_strdup("the media engine cannot record");
		g_clear_pointer(file, g_free);
		return -EIO;
	}
	g_info("room '%s': recording to '%s'", room->name, *file);
	return 0;
}

/* Start recording to @record: a file we write (*file: the one created), or a Yate target. */
static int start_recording(struct ce_room *room, const char *record, const struct ce_join_params *p,
        bool voice, char **file)
{
	if (!ce_record_is_file(record))
		return ce_recorder_start(room, record, p, voice);
	return start_file(room, record, file);
}

/**
 * Yate's setRecording: only when record= is present.  Stops any running
 * recording (a recorder leg with reason=, default "hangup"); anything but
 * "", "-" or a false boolean starts recording the mix, after playing
 * recordwarn= to the room ("-": nothing).  A file (ce_record_is_file) is
 * written by the engine; any other value is a Yate target called from a
 * utility leg, which may speak into the room when recordwarn= is present.
 * A file is confined to record_dir and never overwritten (recfile.c):
 * "recording" tells the file created as file=, or a refusal as error=
 * (room->record_error; the room and its callers carry on unrecorded).
 * Returns whether record= was there.
 */
bool ce_room_set_recording(struct ce_room *room, const struct ce_join_params *p)
{
	const char *record = p->record;
	const char *warn = p->recordwarn;
	char *file = NULL;

	if (!record)
		return false;
	stop_recording(room, p->reason ? p->reason : "hangup");
	g_clear_pointer(&room->record_error, g_free);
	if (!*record || !strcmp(record, "-") || !ce_parse_bool(record, true))
		return true;
	/* "-" (the recipe's) or a false boolean: a leg that may speak, no warning */
	if (warn && *warn && strcmp(warn, "-") && ce_parse_bool(warn, true))
		ce_room_play(room, warn, NULL, false);
	else if (!warn || !*warn)
		g_message("recording '%s' without playing a warning", room->name);
	if (start_recording(room, record, p, warn && *warn, &file))
		return true;
	room->record = file ? file : g_strdup(record);
	if (room->notify)
		notify_recording(room, record, file, NULL, NULL);
	return true;
}

/* Why a write failed, in the operator's words. */
static char *failure_reason(const char *error, int err)
{
	if (err == ENOSPC || err == EDQUOT)
		return g_strdup_printf("disk full: %s", g_strerror(err));
	if (err == EFBIG)
		return g_strdup_printf("file too large: %s", g_strerror(err));
	if (err)
		return g_strdup_printf("write error: %s", g_strerror(err));
	return g_strdup(error ? error : "the recording failed");
}

/**
 * The media side stopped the room's recording on an error: @err is the
 * errno of a failed write (ENOSPC, EFBIG, EIO; the file ends with the
 * last whole sample written), 0 for another failure (@error says which).
 * Counted (record_failures in the status line), warned about, and
 * announced as a "recording" with an empty record=, file= and reason=.
 */
void ce_room_record_failed(struct ce_room *room, const char *error, int err)
{
	char *reason = failure_reason(error, err);

	room->conf->record_failures++;
	g_warning("room '%s': recording '%s' stopped: %s", room->name,
	        room->record ? room->record : "-", reason);
	if (room->record && room->notify)
		notify_recording(room, "", room->record, NULL, reason);
	g_clear_pointer(&room->record, g_free);
	g_free(reason);
}

/** Lock (no new legs but utility ones) or unlock the room; notifies locked/unlocked. */
void ce_room_set_locked(struct ce_room *room, bool locked)
{
	struct ce_room_event ev;
	struct ce_msg *m;

	if (room->locked == locked)
		return;
	room->locked = locked;
	if (!room->notify)
		return;
	ce_room_event_init(&ev, locked ? CE_EVENT_LOCK : CE_EVENT_UNLOCK);
	ev.users = room->users;
	ev.maxusers = MAX(room->maxusers, 0);
	room_tell(room, &ev);
	m = notify_new();
	ce_msg_add(m, "targetid", room->notify);
	ce_msg_add(m, "event", locked ? "locked" : "unlocked");
	ce_msg_add(m, "room", room->name);
	add_int(m, "maxusers", room->maxusers);
	add_int(m, "users", room->users);
	ce_conf_send(room->conf, m);
	ce_msg_unref(m);
}

static void notify_speaking(struct ce_room *room, struct ce_leg *const *cur, const unsigned *vol,
        unsigned n, bool changed)
{
	struct ce_msg *m = notify_new();

	ce_msg_add(m, "targetid", room->notify);
	ce_msg_add(m, "event", "speaking");
	ce_msg_add(m, "room", room->name);
	add_int(m, "maxusers", room->maxusers);
	for (unsigned i = 0; i < n; i++) {
		char key[32];

		g_snprintf(key, sizeof(key), "speaker.%u", i + 1);
		ce_msg_add(m, key, cur[i]->id);
		g_snprintf(key, sizeof(key), "speaker.%u.peer", i + 1);
		if (cur[i]->peer)
			ce_msg_add(m, key, cur[i]->peer);
		g_snprintf(key, sizeof(key), "speaker.%u.energy", i + 1);
		add_int(m, key, vol[i]);
	}
	add_int(m, "speakers", n);
	ce_msg_add(m, "changed", changed ? "true" : "false");
	ce_conf_send(room->conf, m);
	ce_msg_unref(m);
}

/**
 * The media side's list of loudest talkers (@n legs, loudest first, Yate's
 * timing: on change and repeated while someone talks): Yate's "speaking"
 * event, without legs that left meanwhile or utility legs.
 */
void ce_room_speakers(struct ce_room *room, struct ce_leg *const *legs, const unsigned *energy,
        unsigned n, bool changed)
{
	struct ce_leg *cur[CE_ROOM_MAX_SPEAKERS];
	unsigned vol[CE_ROOM_MAX_SPEAKERS];
	unsigned k = 0;

	if (!room->speakers || !room->notify)
		return;
	for (unsigned i = 0; i < n && k < room->speakers; i++) {
		if (!legs[i] || legs[i]->utility || legs[i]->room != room || !legs[i]->id)
			continue;
		cur[k] = legs[i];
		vol[k++] = energy[i];
	}
	notify_speaking(room, cur, vol, k, changed);
}

/* The chan.notify event of a leg's room event (TALK_*, MUTE, UNMUTE). */
static const char *leg_event_name(enum ce_event_kind kind)
{
	switch (kind) {
	case CE_EVENT_TALK_START:
		return "talkstart";
	case CE_EVENT_TALK_STOP:
		return "talkstop";
	case CE_EVENT_MUTE:
		return "mute";
	default:
		return "unmute";
	}
}

/**
 * Room event @ev about @leg (its kind set: TALK_START with energy,
 * TALK_STOP, MUTE or UNMUTE): the room's name, its users and the leg are
 * filled in, the bus's room hooks get it, then Yate gets the chan.notify
 * built from it (ce_room_notify_leg; talkstart carries energy=).
 */
void ce_room_leg_event(struct ce_room *room, struct ce_leg *leg, struct ce_room_event *ev)
{
	char energy[16];

	if (!room->notify || leg->utility)
		return;
	leg_fill(ev, room, leg);
	room_tell(room, ev);
	g_snprintf(energy, sizeof(energy), "%d", ev->energy);
	ce_room_notify_leg(room, leg, leg_event_name(ev->kind),
	        ev->kind == CE_EVENT_TALK_START ? "energy" : NULL, energy);
}

/**
 * One of our own events about @leg (talkstart, talkstop, mute, unmute,
 * deaf, undeaf), shaped like Yate's joined/left, with an optional extra
 * parameter at the end.
 */
void ce_room_notify_leg(struct ce_room *room, struct ce_leg *leg, const char *event,
        const char *extra_name, const char *extra_value)
{
	struct ce_msg *m;

	if (!room->notify || leg->utility)
		return;
	m = notify_new();
	ce_msg_add(m, "id", leg->id);
	ce_msg_add(m, "targetid", room->notify);
	if (leg->peer)
		ce_msg_add(m, "peerid", leg->peer);
	populate(m, room, leg);
	ce_msg_add(m, "event", event);
	add_int(m, "maxusers", room->maxusers);
	add_int(m, "users", room->users);
	if (extra_name)
		ce_msg_add(m, extra_name, extra_value);
	ce_conf_send(room->conf, m);
	ce_msg_unref(m);
}

/**
 * A keypad action of @leg (@action: "count 7", "lock not-allowed"): the
 * KEYPAD room event for the monitor (its row, log line and stream).  Yate's
 * rooms have no such notification: the leg's own (mute, locked, ...) say
 * what changed.
 */
void ce_room_keypad_event(struct ce_room *room, struct ce_leg *leg, const char *action)
{
	struct ce_room_event ev;

	if (!room->notify || leg->utility)
		return;
	ce_room_event_init(&ev, CE_EVENT_KEYPAD);
	leg_fill(&ev, room, leg);
	ev.action = action;
	room_tell(room, &ev);
}

/**
 * A DTMF (@event "dtmf") or text ("text") of the caller on @leg, turned
 * into chan.notify the way Yate's conference channel rewrites it: the
 * original parameters, with id the leg, peerid the caller, users, full,
 * targetid and lastpeerid.
 */
void ce_room_notify_input(
        struct ce_room *room, struct ce_leg *leg, const struct ce_msg *dtmf, const char *event)
{
	struct ce_msg *m = NULL;
	const char *from;

	if (!room->notify || ce_msg_copy(&m, dtmf))
		return;
	ce_msg_set_name(m, "chan.notify");
	ce_msg_set_id(m, NULL);
	ce_msg_set_retval(m, "");
	populate(m, room, leg);
	from = ce_msg_get(dtmf, "id");
	if (from)
		ce_msg_set(m, "peerid", from);
	ce_msg_set(m, "id", leg->id);
	ce_msg_set(m, "event", event);
	ce_msg_setf(m, "users", "%d", room->users);
	ce_msg_set(m, "full", ce_room_full(room) ? "true" : "false");
	ce_msg_set(m, "targetid", room->notify);
	if (leg->peer)
		ce_msg_set(m, "lastpeerid", leg->peer);
	ce_conf_send(room->conf, m);
	ce_msg_unref(m);
}

/** One status line of the room, as Yate's conference prints it, ending in CR LF. */
void ce_room_status(const struct ce_room *room, GString *out)
{
	gint64 exp = 0;

	if (room->lonely && room->expire)
		exp = (room->expire - ce_conf_now(room->conf)) / 1000;
	g_string_append_printf(out,
	        "name=conf/%s,type=conference;module=conference,room=%s,maxusers=%d,"
	        "lonely=%s,expire=%" G_GINT64_FORMAT ",rate=%u,users=%d,chans=%u,owners=%u,"
	        "locked=%s",
	        room->name, room->name, room->maxusers, room->lonely ? "true" : "false", exp,
	        room->rate, room->users, room->legs->len, room->owners->len,
	        room->locked ? "true" : "false");
	if (room->notify)
		g_string_append_printf(out, ",notify=%s", room->notify);
	if (room->player_id)
		g_string_append_printf(out, ",player=%s", room->player_id);
	if (room->record)
		g_string_append_printf(out, ",record=%s", room->record);
	g_string_append(out, "\r\n");
}
