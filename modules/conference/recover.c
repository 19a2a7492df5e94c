/* recover.c - the legs a crashed engine left in Yate: journalled at enter, closed by the next
 * engine */
#define G_LOG_DOMAIN "conference"

#include <errno.h>
#include <string.h>

#include "bus.h"
#include "config.h"
#include "message.h"
#include "room.h"
#include "leg.h"
#include "journal.h"
#include "media-glue.h"
#include "params.h"

/*
 * Every leg gets an "enter" line in the journal (journal.c) once Yate gave
 * it RTP, before its caller is answered or the room is told, and a
 * "leave" line when it ends.  An engine that dies (kill -9) leaves its
 * legs open there.  Yate restarts it; the new engine reads the open legs
 * at start (and binds the RTP ports they used, when rtp_port leaves the
 * port free) and, once the link is up and Yate's run id known, takes over
 * each:
 *
 *   another Yate run   its call died with that Yate: closed as yate-restart
 *   chan.locate false  the caller hung up meanwhile: closed as engine-restart
 *   chan.locate true   Yate still has dumb/N, answered, its RTP still going
 *                      to our port: resumed in its room (rebuilt on that
 *                      port), mixed again; if that cannot be (no such port
 *                      here), call.drop reason=engine-restart and closed
 *
 * A resumed leg keeps its enter time and its journal entry; its room's
 * "joined" says resumed=engine-restart joined_ms= (how long ago it really
 * joined), so the monitor knows it again without a second enter, and its
 * leave and CDR come when it ends, as any leg's.  "Closed" means what the
 * monitor needs for the leave event and CDR that the old engine can no
 * longer send: the same "joined", then a "left" with reason= and gone_ms=
 * as relink.c's orphans have: 0 for a leg dropped now, else the time since
 * the old engine was last alive (the journal's modification time), so
 * that durations count what the callers really had.  A room whose old
 * legs are all dealt with and that does not run again is reported
 * destroyed.
 *
 *   A: chan.locate id=dumb/3                     E: true (dumb/3 exists)
 *   A: chan.notify targetid=conf-monitor/r1 id=dumb/3 room=r1 event=joined
 *        users=1 ... resumed=engine-restart joined_ms=41230 caller=1001 ...
 *   A: chan.locate id=dumb/4                     E: false (gone)
 *   A: chan.notify targetid=conf-monitor/r1 id=dumb/4 room=r1 event=joined
 *        resumed=engine-restart joined_ms=40110 ...
 *   A: chan.notify targetid=conf-monitor/r1 id=dumb/4 room=r1 event=left
 *        reason=engine-restart gone_ms=2830 lastpeerid=sip/2
 *
 * New calls are admitted meanwhile: their dumb/N are new names in the same
 * Yate, and in a restarted Yate the old names are closed without asking.
 */

struct ce_conf_recovery {
	struct ce_conf *conf;
	GHashTable *rooms; /* room name -> legs of it not closed yet (GUINT_TO_POINTER) */
	GHashTable *seen;  /* room names, for the count */
	unsigned resumed, dropped, gone, other_yate;
	unsigned pending; /* chan.locate answers awaited (+1 while they are sent) */
};

/**
 * Open [conference] journal, if any, and keep the legs a previous engine
 * left.  A journal that cannot be used is logged, and the engine runs
 * without one: calls must not fail for it.  Returns 0.
 */
int ce_conf_journal_open(struct ce_conf *conf)
{
	GError *err = NULL;

	if (!conf->set.journal)
		return 0;
	if (ce_journal_open(
	            &conf->journal, conf->set.journal, &conf->recover, &conf->last_alive, &err)) {
		g_critical("%s: running without the open-leg journal (after a crash the callers "
		           "would be stranded)",
		        err->message);
		g_error_free(err);
		return 0;
	}
	if (conf->recover->len)
		g_warning("journal %s: %u legs of an engine that stopped without closing them: "
		          "taking them over once Yate is reachable",
		        conf->set.journal, conf->recover->len);
	else
		g_clear_pointer(&conf->recover, g_ptr_array_unref);
	return 0;
}

/**
 * Before the media side opens: the local ports the legs a previous engine
 * left used, so that their RTP, which Yate goes on sending there, reaches
 * this engine (when [conference] rtp_port leaves the port free).
 */
void ce_conf_journal_ports(struct ce_conf *conf)
{
	GArray *ports = g_array_new(FALSE, FALSE, sizeof(unsigned));

	for (unsigned i = 0; conf->recover && i < conf->recover->len; i++) {
		unsigned p =
		        ce_msg_get_int(g_ptr_array_index(conf->recover, i), "port", 0, 0, 65535);
		bool seen = !p;

		for (unsigned k = 0; k < ports->len && !seen; k++)
			seen = g_array_index(ports, unsigned, k) == p;
		if (!seen)
			g_array_append_val(ports, p);
	}
	if (ports->len && conf->media->reuse_ports)
		conf->media->reuse_ports(conf->media_arg, (unsigned *)ports->data, ports->len);
	g_array_free(ports, TRUE);
}

/** Close the journal at the module's end (after every leg ended). */
void ce_conf_journal_close(struct ce_conf *conf)
{
	/* chan.locate answers still to come find no module: they only free */
	if (conf->recovery)
		conf->recovery->conf = NULL;
	conf->recovery = NULL;
	g_clear_pointer(&conf->recover, g_ptr_array_unref);
	g_clear_pointer(&conf->journal, ce_journal_free);
	g_clear_pointer(&conf->runid, g_free);
}

static const char *bool_text(bool b)
{
	return b ? "true" : "false";
}

/* What rebuilding @room needs, in the words of a join request (ce_room_new). */
static void add_room(struct ce_msg *m, const struct ce_room *room)
{
	ce_msg_setf(m, "rate", "%u", room->rate);
	ce_msg_setf(m, "maxusers", "%d", room->maxusers);
	if (room->lonely && room->lonely_ms)
		ce_msg_setf(m, "lonely", "%u", room->lonely_ms);
	else
		ce_msg_add(m, "lonely", bool_text(room->lonely));
	ce_msg_setf(m, "speakers", "%u", room->speakers);
	ce_msg_setf(m, "interval", "%u", room->interval);
}

/**
 * @leg is about to be answered or joined: its enter line, with Yate's RTP
 * end from @rtp (the chan.rtp answer).
 */
void ce_conf_journal_enter(struct ce_leg *leg, const struct ce_msg *rtp)
{
	struct ce_conf *conf = leg->conf;
	struct ce_room *room = leg->room;
	struct ce_msg *m = NULL;

	if (!conf->journal || !leg->id || !room)
		return;
	ce_msg_new(&m, "enter");
	ce_msg_add(m, "runid", conf->runid ? conf->runid : "");
	ce_msg_add(m, "id", leg->id);
	ce_msg_setf(m, "at", "%" G_GINT64_FORMAT, g_get_real_time());
	ce_msg_add(m, "room", room->name);
	if (room->notify)
		ce_msg_add(m, "notify", room->notify);
	if (leg->peer)
		ce_msg_add(m, "peer", leg->peer);
	ce_msg_setf(m, "port", "%u", leg->port);
	ce_msg_add(m, "rtp_ip", ce_msg_get_def(rtp, "localip", ""));
	ce_msg_add(m, "rtp_port", ce_msg_get_def(rtp, "localport", ""));
	ce_msg_add(m, "format", ce_msg_get_def(rtp, "format", ce_codec_name(conf->set.codec)));
	if (leg->phone) {
		/* bypassed: the far end is the phone, latched, its keys in its RTP */
		ce_msg_add(m, "direct", "true");
		ce_msg_setf(m, "dtmf_pt", "%d", leg->phone->dtmf_pt);
		if (leg->phone->sig_ip)
			ce_msg_add(m, "sig_ip", leg->phone->sig_ip);
		if (leg->phone->pt) {
			/* Opus: its payload type and FEC wish, which no format name says */
			ce_msg_setf(m, "pt", "%d", leg->phone->pt);
			ce_msg_add(m, "fec", bool_text(leg->phone->fec));
		}
	}
	add_room(m, room);
	ce_msg_add(m, "counted", bool_text(leg->counted));
	ce_msg_add(m, "utility", bool_text(leg->utility));
	ce_msg_add(m, "voice", bool_text(leg->voice));
	ce_msg_add(m, "smart", bool_text(leg->smart));
	ce_msg_add(m, "echo", bool_text(leg->echo));
	ce_msg_add(m, "noise_suppression", bool_text(leg->ns));
	ce_msg_add(m, "agc", bool_text(leg->agc));
	ce_msg_add(m, "player", bool_text(leg->player));
	ce_msg_add(m, "billing", bool_text(leg->billing));
	ce_leg_add_who(leg, m);
	if (!ce_journal_enter(conf->journal, m)) {
		/* a second line for a leg that moved (the lobby's) replaces the first */
		g_free(leg->runid);
		leg->runid = g_strdup(ce_msg_get(m, "runid"));
	}
	ce_msg_unref(m);
}

/** @leg ended: its leave line (nothing if it never had an enter line). */
void ce_conf_journal_leave(struct ce_leg *leg)
{
	if (leg->conf->journal && leg->runid)
		ce_journal_leave(leg->conf->journal, leg->runid, leg->id);
}

/** From the module's tick: the journal's "alive" time. */
void ce_conf_journal_tick(struct ce_conf *conf)
{
	if (conf->journal)
		ce_journal_touch(conf->journal, g_get_real_time());
}

/* ---- closing what a previous engine left ---- */

/*
 * Room event @ev of old leg @e's room (@e's notify target) to the bus's
 * room hooks, and the start of the chan.notify @event built from it.
 */
static struct ce_msg *notify_new(
        struct ce_conf *conf, const struct ce_msg *e, struct ce_room_event *ev, const char *event)
{
	struct ce_msg *m = NULL;

	ev->room = ce_msg_get(e, "room");
	ev->target = ce_msg_get(e, "notify");
	if (ev->kind != CE_EVENT_END)
		ev->leg = ce_msg_get(e, "id");
	ce_bus_room_event(conf->bus, ev);
	ce_msg_new(&m, "chan.notify");
	ce_msg_add(m, "module", "conference");
	if (ev->leg)
		ce_msg_add(m, "id", ev->leg);
	ce_msg_add(m, "targetid", ev->target);
	ce_msg_add(m, "room", ev->room);
	ce_msg_add(m, "event", event);
	return m;
}

/* The monitor's view of old leg @e: it was in (since at=), and it left @gone_us ago. */
static void notify_closed(
        struct ce_conf *conf, const struct ce_msg *e, const char *reason, gint64 gone_us)
{
	gint64 now = g_get_real_time();
	gint64 at = ce_msg_get_int(e, "at", now, 0, G_MAXINT64);
	struct ce_room_event ev;
	struct ce_msg *m;

	if (!ce_msg_get(e, "notify") || ce_msg_get_bool(e, "utility", false))
		return;
	ce_room_event_init(&ev, CE_EVENT_ENTER);
	ev.resumed = reason;
	ev.joined_ms = MAX(now - at, 0) / 1000;
	ce_room_who_read(&ev.who, e);
	m = notify_new(conf, e, &ev, "joined");
	ce_msg_add(m, "counted", ce_msg_get_def(e, "counted", "true"));
	ce_msg_add(m, "resumed", ev.resumed);
	ce_msg_setf(m, "joined_ms", "%" G_GINT64_FORMAT, ev.joined_ms);
	ce_leg_copy_who(m, e);
	ce_conf_send(conf, m);
	ce_msg_unref(m);
	ce_room_event_init(&ev, CE_EVENT_LEAVE);
	ev.reason = reason;
	/* not before it joined */
	ev.gone_ms = CLAMP(gone_us, 0, MAX(now - at, 0)) / 1000;
	ev.peer = ce_msg_get(e, "peer");
	m = notify_new(conf, e, &ev, "left");
	ce_msg_add(m, "reason", ev.reason);
	ce_msg_setf(m, "gone_ms", "%" G_GINT64_FORMAT, ev.gone_ms);
	if (ev.peer)
		ce_msg_add(m, "lastpeerid", ev.peer);
	ce_conf_send(conf, m);
	ce_msg_unref(m);
}

static void recovery_free(struct ce_conf_recovery *rc)
{
	g_hash_table_destroy(rc->rooms);
	g_hash_table_destroy(rc->seen);
	g_free(rc);
}

static void recovery_done(struct ce_conf_recovery *rc)
{
	struct ce_conf *conf = rc->conf;
	unsigned n = rc->resumed + rc->dropped + rc->gone + rc->other_yate;
	char *what = ce_conf_count_text(n, g_hash_table_size(rc->seen));

	g_warning("took over %s of the previous engine: %u resumed in their rooms, %u dropped "
	          "and %u already gone (reason " CE_LEG_ENGINE_RESTART
	          "), %u of another Yate run (reason " CE_LEG_YATE_RESTART ")",
	        what, rc->resumed, rc->dropped, rc->gone, rc->other_yate);
	g_free(what);
	conf->recovery = NULL;
	recovery_free(rc);
}

/* One more old leg of @e's room is dealt with; after the last, an empty room ends. */
static void room_done(struct ce_conf_recovery *rc, const struct ce_msg *e)
{
	struct ce_conf *conf = rc->conf;
	const char *room = ce_msg_get_def(e, "room", "");
	unsigned left = GPOINTER_TO_UINT(g_hash_table_lookup(rc->rooms, room)) - 1;
	struct ce_room_event ev;
	struct ce_msg *m;

	if (left) {
		g_hash_table_insert(rc->rooms, g_strdup(room), GUINT_TO_POINTER(left));
		return;
	}
	g_hash_table_remove(rc->rooms, room);
	/* unless it runs again (resumed legs), or a new one of that name took it over */
	if (ce_msg_get(e, "notify") && !ce_room_find(conf, room)) {
		ce_room_event_init(&ev, CE_EVENT_END);
		m = notify_new(conf, e, &ev, "destroyed");
		ce_conf_send(conf, m);
		ce_msg_unref(m);
	}
}

/* Old leg @e is closed for @reason, its call over @gone_us ago. */
static void close_leg(
        struct ce_conf_recovery *rc, const struct ce_msg *e, const char *reason, gint64 gone_us)
{
	struct ce_conf *conf = rc->conf;

	g_info("%s (%s) of the previous engine, room '%s': closed (%s)", ce_msg_get(e, "id"),
	        ce_msg_get_def(e, "peer", ""), ce_msg_get_def(e, "room", ""), reason);
	notify_closed(conf, e, reason, gone_us);
	if (conf->journal)
		ce_journal_leave(conf->journal, ce_msg_get(e, "runid"), ce_msg_get(e, "id"));
	room_done(rc, e);
}

/*
 * Put old leg @e back in its room (rebuilt if need be, on the port its RTP
 * goes to) and mix it again: Yate's RTP session goes on sending to that
 * port, and takes our new SSRC and sequence.  0, or -errno (nothing kept).
 */
static int resume(struct ce_conf *conf, const struct ce_msg *e)
{
	const char *name = ce_msg_get_def(e, "room", "");
	unsigned port = ce_msg_get_int(e, "port", 0, 0, 65535);
	struct ce_leg_remote rem = {
	        .ip = ce_msg_get(e, "rtp_ip"),
	        .port = ce_msg_get_int(e, "rtp_port", 0, 0, 65535),
	        .codec = conf->set.codec,
	        .rtp_timeout_ms = conf->set.rtp_timeout_ms,
	};
	struct ce_room *room = ce_room_find(conf, name);
	struct ce_join_params p;
	struct ce_leg *leg = NULL;
	int err = 0;

	if (!port || !rem.ip || !*rem.ip || !rem.port ||
	        ce_codec_from_name(ce_msg_get_def(e, "format", ""), &rem.codec))
		return -EINVAL;
	if (ce_msg_get_bool(e, "utility", false))
		return -EOPNOTSUPP; /* a recorder: its recording ended with the old engine */
	if (ce_lobby_target(name))
		return -EOPNOTSUPP; /* in the lobby: what it keyed in died with the old engine */
	/* the enter line says what the join request said (add_room(), the leg's flags) */
	ce_join_params_parse(&p, e, &conf->set, NULL);
	if (!room)
		err = ce_room_new_at(&room, conf, name, &p, port);
	if (!err)
		err = ce_leg_new(&leg, conf, room, &p, ce_msg_get(e, "peer"));
	ce_join_params_clear(&p);
	if (err)
		return err;
	if (ce_msg_get_bool(e, "direct", false)) {
		/* its phone, as the journal kept it: the law it was sent last */
		ce_leg_set_phone(leg, rem.ip, rem.port, rem.codec,
		        g_strdup(ce_codec_name(rem.codec)),
		        ce_msg_get_int(e, "dtmf_pt", -1, -1, 127), ce_msg_get(e, "sig_ip"));
		leg->phone->pt = (int)ce_msg_get_int(e, "pt", 0, 0, 127);
		leg->phone->fec = ce_msg_get_bool(e, "fec", false);
		ce_leg_phone_remote(leg, &rem);
	}
	err = ce_leg_resume(leg, ce_msg_get(e, "id"), ce_msg_get(e, "runid"),
	        ce_msg_get_int(e, "at", 0, 0, G_MAXINT64), port, &rem);
	if (err) /* its journal entry is closed by the caller, with the monitor's records */
		ce_leg_end(leg, CE_LEG_ENGINE_RESTART, false);
	return err;
}

struct locating {
	struct ce_conf_recovery *rc;
	struct ce_msg *e;
};

static void locate_done(struct ce_msg *msg, bool handled, void *arg)
{
	struct locating *lo = arg;
	struct ce_conf_recovery *rc = lo->rc;
	struct ce_conf *conf = rc->conf;
	const char *id = ce_msg_get(lo->e, "id");
	int err;

	(void)msg;
	if (!conf) {
		/* the module stopped meanwhile (ce_conf_journal_close) */
		ce_msg_unref(lo->e);
		g_free(lo);
		if (--rc->pending == 0)
			recovery_free(rc);
		return;
	}
	err = handled && !ce_leg_find(conf, id) ? resume(conf, lo->e) : -ENOENT;
	if (!err) {
		rc->resumed++;
		room_done(rc, lo->e);
	} else if (handled) {
		/* answered, RTP still flowing, and nobody mixing: end it, not strand it */
		g_message("%s of the previous engine cannot be resumed in room '%s' (%s): dropped",
		        id, ce_msg_get_def(lo->e, "room", ""), g_strerror(-err));
		rc->dropped++;
		close_leg(rc, lo->e, CE_LEG_ENGINE_RESTART, 0);
		ce_leg_send_drop(conf, id, CE_LEG_ENGINE_RESTART);
	} else {
		rc->gone++;
		close_leg(rc, lo->e, CE_LEG_ENGINE_RESTART, g_get_real_time() - conf->last_alive);
	}
	ce_msg_unref(lo->e);
	g_free(lo);
	if (--rc->pending == 0)
		recovery_done(rc);
}

/* Ask Yate whether old leg @e's channel is still there (Yate's Driver answers true). */
static void locate(struct ce_conf_recovery *rc, struct ce_msg *e)
{
	struct ce_conf *conf = rc->conf;
	struct locating *lo = g_new0(struct locating, 1);
	struct ce_msg *m = NULL;

	lo->rc = rc;
	lo->e = ce_msg_ref(e);
	ce_msg_new(&m, "chan.locate");
	ce_msg_add(m, "id", ce_msg_get(e, "id"));
	ce_bus_send(conf->bus, m, conf->set.step_timeout_ms, locate_done, lo);
	ce_msg_unref(m);
}

/* Whether old leg @e lived in another Yate than the one now linked (both run ids known). */
static bool other_yate(const struct ce_conf *conf, const struct ce_msg *e)
{
	const char *then = ce_msg_get_def(e, "runid", "");

	return conf->runid && *conf->runid && *then && strcmp(then, conf->runid);
}

/**
 * The link is up and Yate's run id known: close the legs a previous engine
 * left open (once; nothing when there are none).
 */
void ce_conf_recover(struct ce_conf *conf)
{
	GPtrArray *legs = g_steal_pointer(&conf->recover);
	struct ce_conf_recovery *rc;

	if (!legs)
		return;
	rc = g_new0(struct ce_conf_recovery, 1);
	rc->conf = conf;
	rc->rooms = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	rc->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (unsigned i = 0; i < legs->len; i++) {
		const char *room = ce_msg_get_def(g_ptr_array_index(legs, i), "room", "");
		unsigned n = GPOINTER_TO_UINT(g_hash_table_lookup(rc->rooms, room));

		g_hash_table_insert(rc->rooms, g_strdup(room), GUINT_TO_POINTER(n + 1));
		g_hash_table_add(rc->seen, g_strdup(room));
	}
	/* one more until every locate is sent, so that none finishes the recovery early */
	rc->pending = 1;
	conf->recovery = rc;
	for (unsigned i = 0; i < legs->len; i++) {
		struct ce_msg *e = g_ptr_array_index(legs, i);

		if (other_yate(conf, e)) {
			rc->other_yate++;
			close_leg(rc, e, CE_LEG_YATE_RESTART, g_get_real_time() - conf->last_alive);
			continue;
		}
		rc->pending++;
		locate(rc, e);
	}
	g_ptr_array_unref(legs);
	if (--rc->pending == 0)
		recovery_done(rc);
}
