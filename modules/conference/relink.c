/* relink.c - what becomes of the conference legs when the link to Yate drops and comes back */
#define G_LOG_DOMAIN "conference"

#include <string.h>

#include "message.h"
#include "room.h"
#include "leg.h"
#include "yate.h"

/*
 * A socket link (--connect) can drop while the engine goes on (CE_LINK_MSG
 * in yate.h).  The legs' channels live in Yate, not here, so:
 *
 *   ce.link state=down               legs stay: Yate may still run their calls
 *                                    (audio flows without the link); a leg whose
 *                                    audio stops for rtp_timeout meanwhile ends
 *                                    as link-lost, and a room left without its
 *                                    owners waits with dropping the others (a
 *                                    call.drop would not reach Yate)
 *   ce.link state=up restarted=false the same Yate: the legs go on, rooms that
 *                                    lost their owners meanwhile drop the rest
 *   ce.link state=up restarted=true  a new Yate: every leg made before the loss
 *                                    ends as yate-restart
 *
 * Legs ended so are orphans (leg.h): no call.drop, reason= and gone_ms= in
 * their "left" notification, and each is logged once per event as a count.
 */

/** "2 legs in 1 room" (a new string). */
char *ce_conf_count_text(unsigned legs, unsigned rooms)
{
	return g_strdup_printf(
	        "%u leg%s in %u room%s", legs, legs == 1 ? "" : "s", rooms, rooms == 1 ? "" : "s");
}

/* Legs made before the last link loss (references), their rooms in @nrooms. */
static GPtrArray *legs_before_loss(struct ce_conf *conf, unsigned *nrooms)
{
	GPtrArray *legs = g_ptr_array_new_with_free_func((GDestroyNotify)ce_leg_unref);
	GHashTable *rooms = g_hash_table_new(g_direct_hash, g_direct_equal);

	for (unsigned i = 0; i < conf->all->len; i++) {
		struct ce_leg *l = g_ptr_array_index(conf->all, i);

		if (l->link_gen == conf->link_gen)
			continue;
		g_ptr_array_add(legs, ce_leg_ref(l));
		if (l->room)
			g_hash_table_add(rooms, l->room);
	}
	*nrooms = g_hash_table_size(rooms);
	g_hash_table_destroy(rooms);
	return legs;
}

/*
 * Another Yate: the channels of every leg made before the loss died with
 * the old one.  Each leaves its room as if it hung up, without a call.drop
 * that the new Yate could apply to a new channel of the same dumb/N name.
 */
static void close_orphans(struct ce_conf *conf)
{
	unsigned nrooms;
	GPtrArray *legs = legs_before_loss(conf, &nrooms);
	char *what;

	/* all first: a room that drops the last ones must not send call.drop either */
	for (unsigned i = 0; i < legs->len; i++) {
		struct ce_leg *l = g_ptr_array_index(legs, i);

		l->orphaned = CE_LEG_YATE_RESTART;
		l->gone_at = conf->link_lost_at; /* the old Yate was last heard of then */
	}
	for (unsigned i = 0; i < legs->len; i++)
		ce_leg_end(g_ptr_array_index(legs, i), CE_LEG_YATE_RESTART, false);
	if (legs->len) {
		what = ce_conf_count_text(legs->len, nrooms);
		g_warning("Yate was restarted: closed %s (reason " CE_LEG_YATE_RESTART
		          "): their calls ended with the old Yate",
		        what);
		g_free(what);
	}
	g_ptr_array_free(legs, TRUE);
}

static void link_lost(struct ce_conf *conf)
{
	unsigned nrooms;
	GPtrArray *legs;
	char *what;

	conf->link_gen++;
	conf->link_down = true;
	conf->link_lost_at = ce_conf_now(conf);
	legs = legs_before_loss(conf, &nrooms);
	what = ce_conf_count_text(legs->len, nrooms);
	if (legs->len && conf->set.rtp_timeout_ms)
		g_warning("link to Yate lost with %s: they stay while Yate is away, closed "
		          "as " CE_LEG_YATE_RESTART
		          " if it comes back restarted, or as " CE_LEG_LINK_LOST
		          " if their audio stops for %u ms first",
		        what, conf->set.rtp_timeout_ms);
	else if (legs->len)
		g_warning("link to Yate lost with %s: they stay until Yate is back, closed "
		          "as " CE_LEG_YATE_RESTART " if it comes back restarted (no rtp_timeout)",
		        what);
	g_free(what);
	g_ptr_array_free(legs, TRUE);
}

/* Rooms whose owners left while the link was down drop their other legs now. */
static void drop_unowned(struct ce_conf *conf)
{
	GList *names = g_hash_table_get_keys(conf->rooms);

	for (GList *l = names; l; l = l->next) {
		struct ce_room *room = ce_room_find(conf, l->data);

		if (!room || !room->unowned_waits)
			continue;
		room->unowned_waits = false;
		if (!ce_room_is_owned(room))
			ce_room_drop_all(room, "hangup");
	}
	g_list_free(names);
}

static void link_back(struct ce_conf *conf, bool restarted)
{
	unsigned nrooms;
	GPtrArray *legs;
	char *what;

	ce_conf_relink_tick(conf);
	conf->link_down = false;
	if (restarted) {
		close_orphans(conf);
	} else {
		legs = legs_before_loss(conf, &nrooms);
		if (legs->len) {
			what = ce_conf_count_text(legs->len, nrooms);
			g_message("link back to the same Yate: %s kept", what);
			g_free(what);
		}
		g_ptr_array_free(legs, TRUE);
	}
	drop_unowned(conf);
}

/** Watcher (CE_BUS_LOCAL) of CE_LINK_MSG; @arg is the struct ce_conf. */
void ce_conf_watch_link(struct ce_msg *msg, bool handled, void *arg)
{
	struct ce_conf *conf = arg;
	const char *state = ce_msg_get_def(msg, "state", "");
	const char *runid = ce_msg_get(msg, "runid");

	(void)handled;
	if (!strcmp(state, "down") && !ce_msg_get_bool(msg, "final", false)) {
		link_lost(conf);
	} else if (!strcmp(state, "up")) {
		if (runid) {
			g_free(conf->runid);
			conf->runid = g_strdup(runid);
		}
		link_back(conf, ce_msg_get_bool(msg, "restarted", false));
		/* the legs a crashed engine left: now that Yate can be asked about them */
		ce_conf_recover(conf);
	}
}

/**
 * No audio from @leg for rtp_timeout: "nomedia", or while the link is down
 * "link-lost" (its Yate is most likely gone), dated back to when its audio
 * stopped.
 */
void ce_conf_rtp_timeout(struct ce_leg *leg)
{
	struct ce_conf *conf = leg->conf;

	if (leg->phone && leg->phone->on_hold) {
		/* a phone that holds the call may well send nothing */
		g_info("%s: no RTP from the phone while it holds the call", leg->id);
		return;
	}
	if (!conf->link_down) {
		ce_leg_end(leg, "nomedia", true);
		return;
	}
	leg->orphaned = CE_LEG_LINK_LOST;
	leg->gone_at = MAX(
	        conf->link_lost_at, ce_conf_now(conf) - (gint64)conf->set.rtp_timeout_ms * 1000);
	/* the legs of a dead Yate time out together: one line for them all */
	if (!conf->lost_rooms)
		conf->lost_rooms = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	if (leg->room)
		g_hash_table_add(conf->lost_rooms, g_strdup(leg->room->name));
	conf->lost_legs++;
	ce_leg_end(leg, CE_LEG_LINK_LOST, false);
}

/** Log the legs closed as link-lost since the last call, if any (from the tick). */
void ce_conf_relink_tick(struct ce_conf *conf)
{
	char *what;

	if (!conf->lost_legs)
		return;
	what = ce_conf_count_text(conf->lost_legs, g_hash_table_size(conf->lost_rooms));
	g_warning("no link to Yate and no audio for %u ms: closed %s (reason " CE_LEG_LINK_LOST
	          "); legs left: %u",
	        conf->set.rtp_timeout_ms, what, conf->all->len);
	g_free(what);
	conf->lost_legs = 0;
	g_hash_table_remove_all(conf->lost_rooms);
}
