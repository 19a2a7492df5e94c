/* conf.c - a small stand-in for Yate's own conference module (conf/ calls the engine leaves) */
/*
 * When nobody before priority 90 takes call.execute callto=conf/NAME, the
 * call joins a room here, as in Yate, and the room reports to the notify=
 * target with Yate's chan.notify shapes (transcript 1):
 *
 *   chan.notify targetid=conf-monitor/r event=created room=r rate=8000 maxusers=5 ...
 *   chan.notify id=conf/1 targetid=conf-monitor/r counted=true utility=false room=r
 *               event=joined maxusers=5 users=1
 *   chan.notify targetid=conf-monitor/r event=speaking room=r maxusers=5
 *               speaker.1=conf/1 speaker.1.peer=sip/1 speaker.1.energy=22 speakers=1 changed=true
 *   chan.notify id=conf/1 ... event=left maxusers=5 users=0 lonely=false lastpeerid=sip/1
 *   chan.notify targetid=conf-monitor/r event=destroyed room=r maxusers=5
 *
 * There is no mixing: a member "speaks" when its phone plays anything but
 * silence, which is enough for notification tests.
 */
#define G_LOG_DOMAIN "sim"

#include <string.h>

#include "sim.h"

struct sim_room {
	char *name;
	char *notify;
	char *maxusers;
	bool speakers;
	bool spoke;         /* the last speaking event listed someone */
	GPtrArray *members; /* struct sim_chan * (conf/N) */
};

static void room_free(gpointer p)
{
	struct sim_room *r = p;

	g_free(r->name);
	g_free(r->notify);
	g_free(r->maxusers);
	g_ptr_array_unref(r->members);
	g_free(r);
}

static void notify(struct sim *s, struct ce_msg *m)
{
	ce_sim_dispatch(s, m, NULL, NULL, NULL);
	ce_msg_unref(m);
}

static struct ce_msg *room_msg(struct sim_room *r, struct sim_chan *c, const char *event)
{
	struct ce_msg *m;

	ce_msg_new(&m, "chan.notify");
	if (c)
		ce_msg_add(m, "id", c->id);
	ce_msg_add(m, "targetid", r->notify);
	if (c) {
		ce_msg_add(m, "counted", c->counted ? "true" : "false");
		ce_msg_add(m, "utility", c->utility ? "true" : "false");
		ce_msg_add(m, "room", r->name);
		ce_msg_add(m, "event", event);
	} else {
		ce_msg_add(m, "event", event);
		ce_msg_add(m, "room", r->name);
	}
	if (r->maxusers)
		ce_msg_add(m, "maxusers", r->maxusers);
	return m;
}

/* The speakers list: members whose phone plays something, newest first. */
static void speaking(struct sim *s, struct sim_room *r)
{
	struct ce_msg *m;
	unsigned i, n = 0;
	char key[32];

	if (!r->notify || !r->speakers)
		return;
	m = room_msg(r, NULL, "speaking");
	for (i = r->members->len; i-- > 0;) {
		struct sim_chan *c = r->members->pdata[i];
		struct sim_phone *ph = ce_sim_chan_phone(c);
		if (!ph || !ph->play || !strcmp(ph->play, "silence"))
			continue;
		n++;
		g_snprintf(key, sizeof(key), "speaker.%u", n);
		ce_msg_add(m, key, c->id);
		g_snprintf(key, sizeof(key), "speaker.%u.peer", n);
		ce_msg_add(m, key, c->peer ? c->peer->id : "");
		g_snprintf(key, sizeof(key), "speaker.%u.energy", n);
		ce_msg_add(m, key, "25");
	}
	ce_msg_setf(m, "speakers", "%u", n);
	ce_msg_add(m, "changed", "true");
	if (n || r->spoke)
		notify(s, ce_msg_ref(m));
	r->spoke = n > 0;
	ce_msg_unref(m);
}

/* call.execute callto=conf/NAME with a calling channel: join (or create) the room. */
static enum ce_sim_res conf_execute(struct sim_disp *d, struct ce_msg *m, void *arg)
{
	struct sim *s = arg;
	const char *callto = ce_msg_get_def(m, "callto", "");
	struct sim_chan *from, *c;
	struct sim_room *r;
	bool created = false;

	if (!g_str_has_prefix(callto, "conf/") || !callto[5])
		return SIM_CONTINUE;
	from = ce_sim_disp_chan(d, m);
	if (!from)
		return SIM_CONTINUE;
	r = g_hash_table_lookup(s->rooms, callto + 5);
	if (!r) {
		r = g_new0(struct sim_room, 1);
		r->name = g_strdup(callto + 5);
		r->notify = g_strdup(ce_msg_get(m, "notify"));
		r->maxusers = g_strdup(ce_msg_get(m, "maxusers"));
		r->speakers = ce_msg_get_bool(m, "speakers", false);
		r->members = g_ptr_array_new();
		g_hash_table_insert(s->rooms, r->name, r);
		created = true;
	}
	c = ce_sim_chan_new(s, SIM_DRV_CONF, true);
	c->address = g_strdup(r->name);
	c->room = r;
	c->counted = !ce_msg_get_bool(m, "utility", false);
	c->utility = !c->counted;
	if (from->peer)
		ce_sim_chan_unpeer(s, from, ce_msg_get(m, "reason"));
	ce_sim_chan_connect(s, from, c);
	g_ptr_array_add(r->members, c);
	if (created && r->notify) {
		struct ce_msg *n = room_msg(r, NULL, "created");
		ce_msg_add(n, "rate", "8000");
		ce_msg_set(n, "maxusers", r->maxusers ? r->maxusers : "0");
		ce_msg_add(n, "caller", ce_msg_get_def(m, "caller", ""));
		ce_msg_add(n, "called", ce_msg_get_def(m, "called", ""));
		ce_msg_add(n, "billid", ce_msg_get_def(m, "billid", ""));
		ce_msg_add(n, "username", ce_msg_get_def(m, "username", ""));
		notify(s, n);
	}
	if (r->notify) {
		struct ce_msg *n = room_msg(r, c, "joined");
		ce_msg_setf(n, "users", "%u", r->members->len);
		notify(s, n);
	}
	ce_msg_set(m, "peerid", c->id);
	ce_msg_setf(m, "room", "conf/%s", r->name);
	ce_msg_set(m, "newroom", created ? "true" : "false");
	ce_msg_setf(m, "users", "%u", r->members->len);
	speaking(s, r);
	return SIM_HANDLED;
}

/** A conf/N channel leaves its room: chan.notify left, and destroyed when empty. */
void ce_sim_conf_leave(struct sim *s, struct sim_chan *c)
{
	struct sim_room *r = c->room;
	unsigned users;

	c->room = NULL;
	if (!r || !g_ptr_array_remove(r->members, c))
		return;
	users = r->members->len;
	if (r->notify) {
		struct ce_msg *n = room_msg(r, c, "left");
		ce_msg_setf(n, "users", "%u", users);
		ce_msg_add(n, "lonely", users == 1 ? "true" : "false");
		if (c->lastpeerid)
			ce_msg_add(n, "lastpeerid", c->lastpeerid);
		notify(s, n);
	}
	if (users) {
		speaking(s, r);
		return;
	}
	if (r->notify)
		notify(s, room_msg(r, NULL, "destroyed"));
	g_hash_table_remove(s->rooms, r->name);
}

static enum ce_sim_res pass_h(struct sim_disp *d, struct ce_msg *m, void *arg)
{
	return SIM_CONTINUE;
}

/** Install the stand-in's handlers at Yate's conference priorities. */
void ce_sim_conf_init(struct sim *s)
{
	s->rooms = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, room_free);
	ce_sim_install(s, "call.execute", 90, "conf", conf_execute, s);
	ce_sim_install(s, "call.conference", 150, "conf", pass_h, NULL);
	ce_sim_install(s, "chan.dtmf", 75, "conf", pass_h, NULL);
	ce_sim_install(s, "chan.hangup", 150, "conf", pass_h, NULL);
}

void ce_sim_conf_fini(struct sim *s)
{
	g_clear_pointer(&s->rooms, g_hash_table_destroy);
}
