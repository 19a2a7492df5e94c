/* entry.c - what a room does as people come and go: the enter, leave and lonely prompts, the
 * count and name announcements, music on hold, waiting for the moderator, ending with them
 *
 * Only counted, non-utility legs take part (a recorder or a player is
 * neither greeted nor counted).  The room's options come from the request
 * that made it (docs/conference.md, "Parameters"):
 *
 *   announce_count      the newcomer hears "you are the first participant"
 *                       or "there are N participants" (the others) instead
 *                       of the lonely prompt
 *   announce_join       the others hear "NAME has joined" / "NAME has left"
 *                       (NAME: the leg's name_prompt= recording, else just
 *                       "has joined") instead of the enter and leave tones
 *   moh                 looped to a leg while it is alone in the room and
 *                       while it waits for the moderator; stopped the moment
 *                       it no longer is
 *   wait_moderator      until the first moderator joins, participants are
 *                       held: mute and deaf in the media (no notification),
 *                       told wait-moderator, then music; the moderator's
 *                       join releases them all at once
 *   end_with_moderator  when the last moderator leaves, everyone is dropped
 *                       with reason moderator-left (ce_room_entry_ends)
 *
 * and of the leg's own request: muted_on_entry (a participant starts muted,
 * through ce_leg_set_muted so that "mute" is notified as usual).
 */
#define G_LOG_DOMAIN "conference"

#include "leg.h"
#include "media-glue.h"
#include "params.h"
#include "prompt-set.h"
#include "room.h"

/** Take the room's options from the request that made it (@p). */
void ce_room_entry_init(struct ce_room *room, const struct ce_join_params *p)
{
	room->announce_count = p->announce_count;
	room->announce_join = p->announce_join;
	room->wait_moderator = p->wait_moderator;
	room->end_with_moderator = p->end_with_moderator;
	room->moh = g_strdup(p->moh);
	room->held = p->wait_moderator;
}

static bool takes_part(const struct ce_leg *leg)
{
	return leg->counted && !leg->utility;
}

/* Whether a moderator other than @but is in the room. */
static bool has_moderator(const struct ce_room *room, const struct ce_leg *but)
{
	for (unsigned i = 0; i < room->legs->len; i++) {
		const struct ce_leg *l = g_ptr_array_index(room->legs, i);

		if (l != but && takes_part(l) && ce_leg_is_moderator(l))
			return true;
	}
	return false;
}

static void set_flags(struct ce_leg *leg)
{
	struct ce_conf *conf = leg->conf;

	if (leg->media)
		conf->media->leg_set_flags(conf->media_arg, leg->media, ce_leg_media_flags(leg));
}

/* Music on hold to @leg, after what its queue holds; nothing when the room has none. */
static void moh_start(struct ce_room *room, struct ce_leg *leg)
{
	const struct ce_play_opts loop = {.loop = true};

	if (!room->moh || leg->on_hold)
		return;
	leg->on_hold = ce_room_play_opts(room, room->moh, leg, false, &loop, NULL) == 0;
}

/* Its music stops, and whatever its queue still held (a lonely prompt not yet over). */
static void moh_stop(struct ce_room *room, struct ce_leg *leg)
{
	if (!leg->on_hold)
		return;
	leg->on_hold = false;
	ce_room_stop_play(room, leg, false);
}

/* The one counted leg in a room of one, or NULL. */
static struct ce_leg *alone(const struct ce_room *room)
{
	if (room->users != 1)
		return NULL;
	for (unsigned i = 0; i < room->legs->len; i++) {
		struct ce_leg *l = g_ptr_array_index(room->legs, i);

		if (takes_part(l))
			return l;
	}
	return NULL;
}

/* Music for the one alone (or held), none for those who have company. */
static void moh_update(struct ce_room *room)
{
	struct ce_leg *one = alone(room);

	for (unsigned i = 0; i < room->legs->len; i++) {
		struct ce_leg *l = g_ptr_array_index(room->legs, i);

		if (l->held || l == one)
			moh_start(room, l);
		else
			moh_stop(room, l);
	}
}

static void hold(struct ce_room *room, struct ce_leg *leg)
{
	leg->held = true;
	set_flags(leg);
	ce_room_play(room, "wait-moderator.wav", leg, false);
	moh_start(room, leg);
	g_info("room '%s': %s waits for a moderator", room->name, leg->id ? leg->id : "-");
}

/* A moderator came: everyone held is in the room from now on, with nothing to hear about it. */
static void release(struct ce_room *room)
{
	unsigned n = 0;

	room->held = false;
	for (unsigned i = 0; i < room->legs->len; i++) {
		struct ce_leg *l = g_ptr_array_index(room->legs, i);

		if (!l->held)
			continue;
		l->held = false;
		set_flags(l);
		moh_stop(room, l);
		n++;
	}
	g_info("room '%s': a moderator joined, %u participant%s released", room->name, n,
	        n == 1 ? "" : "s");
}

/* "NAME has joined" (@what has-joined or has-left) to all but @leg (to all when it left). */
static void announce(struct ce_room *room, struct ce_leg *leg, const char *what, bool joined)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);

	if (leg->name_prompt)
		g_ptr_array_add(names, g_strdup(leg->name_prompt));
	g_ptr_array_add(names, g_strdup(what));
	ce_room_say(room, names, joined ? leg : NULL, joined);
	g_ptr_array_unref(names);
}

/* The newcomer's own prompt: the count, or the lonely prompt when alone. */
static void greet(struct ce_room *room, struct ce_leg *leg)
{
	const struct ce_conf_settings *set = &room->conf->set;
	GPtrArray *names;

	if (!room->announce_count) {
		if (room->users <= 1 && *set->lonely_prompt)
			ce_room_play(room, set->lonely_prompt, leg, false);
		return;
	}
	names = g_ptr_array_new_with_free_func(g_free);
	if (room->users <= 1)
		g_ptr_array_add(names, g_strdup("first.wav"));
	else
		ce_say_participants(names, room->users - 1);
	ce_room_say(room, names, leg, false);
	g_ptr_array_unref(names);
}

/**
 * @leg has just joined @room (counted already, "joined" not yet sent):
 * it is held if the room waits for a moderator, a moderator releases
 * those held; then the newcomer's prompt, the others' enter prompt or
 * announcement, and music on hold for whoever is alone.
 */
void ce_room_entry_joined(struct ce_room *room, struct ce_leg *leg)
{
	const struct ce_conf_settings *set = &room->conf->set;

	/* a lobby room (lobby.c) has its own words for its one caller */
	if (!takes_part(leg) || room->lobby)
		return;
	if (room->held && ce_leg_is_moderator(leg))
		release(room);
	if (room->held) {
		hold(room, leg);
		return;
	}
	greet(room, leg);
	if (room->users > 1 && room->announce_join)
		announce(room, leg, "has-joined.wav", true);
	else if (room->users > 1 && *set->enter_prompt)
		ce_room_play(room, set->enter_prompt, NULL, false);
	moh_update(room);
}

/** After "joined" was sent for @leg: a participant of a muted_on_entry request is muted. */
void ce_room_entry_settled(struct ce_room *room, struct ce_leg *leg)
{
	(void)room;
	if (leg->muted_on_entry && takes_part(leg) && !ce_leg_is_moderator(leg))
		ce_leg_set_muted(leg, true);
}

/**
 * Whether @leg, which just left @room, was its last moderator and the room
 * ends with its moderator: then the room drops everyone with reason
 * CE_ROOM_MODERATOR_LEFT.
 */
bool ce_room_entry_ends(const struct ce_room *room, const struct ce_leg *leg)
{
	return room->end_with_moderator && !room->dropping && takes_part(leg) &&
	       ce_leg_is_moderator(leg) && !has_moderator(room, leg) && room->legs->len;
}

/** @leg left @room, which goes on: the leave prompt or announcement, music for one left alone. */
void ce_room_entry_left(struct ce_room *room, struct ce_leg *leg)
{
	const struct ce_conf_settings *set = &room->conf->set;

	if (!takes_part(leg) || room->dropping || !room->legs->len || room->lobby)
		return;
	if (room->announce_join)
		announce(room, leg, "has-left.wav", false);
	else if (*set->leave_prompt)
		ce_room_play(room, set->leave_prompt, NULL, false);
	moh_update(room);
}
