/* drivers.c - Yate's built-in handlers: channel drivers, dumb/, yrtp, regexroute */
/*
 * Priorities are Yate 6.4.1's, as seen in the transcripts' handlers=:
 *
 *   engine.timer     engine 1 (broadcast, once a second)
 *   call.route       regexroute 100
 *   call.execute     yrtp 50, sip 90, dumb 90, conf 90, tone 90, wave 90, moh 90
 *   chan.masquerade  sip 10, dumb 10, conf 10, tone 10, wave 10, moh 10
 *   chan.locate      sip 40, dumb 40, conf 40, tone 40, wave 40, moh 40
 *   call.drop        sip 60, dumb 60, conf 60, tone 60, wave 60, moh 60
 *   chan.rtp         yrtp 100
 *   call.answered    yrtp 50, sip 100, dumb 100, conf 100
 *   chan.dtmf        conf 75, sip 100, dumb 100, yrtp 150
 *   chan.hangup      yrtp 50, conf 150
 *   call.execute     extmodule 100 (external/MODE/SCRIPT)
 *
 * so an engine handler at 50 runs before the drivers and one at 150 after.
 * The phones behind sip/ channels are in phones.c, Yate's conference in conf.c,
 * the local channels (tone/, wave/, moh/) in local.c.
 */
#define G_LOG_DOMAIN "sim"

#include <string.h>

#include "sim.h"

struct route {
	GRegex *re;
	char *target;
	struct ce_msg *params;
};

/* ---- per-driver handlers ------------------------------------------------ */

struct drv {
	struct sim *s;
	int driver;
	const char *prefix;
};

static struct sim_chan *drv_chan(struct drv *dr, const char *id)
{
	if (!id || !g_str_has_prefix(id, dr->prefix))
		return NULL;
	return ce_sim_chan_find(dr->s, id);
}

/* chan.masquerade: become the message named in message=, with the channel's parameters. */
static enum ce_sim_res drv_masquerade(struct sim_disp *d, struct ce_msg *m, void *arg)
{
	struct drv *dr = arg;
	struct sim_chan *c = drv_chan(dr, ce_msg_get(m, "id"));
	char *name;

	if (!c)
		return SIM_CONTINUE;
	name = g_strdup(ce_msg_get_def(m, "message", ""));
	ce_msg_set_name(m, name);
	ce_msg_remove(m, "message");
	if (!c->billid && ce_msg_get(m, "billid"))
		c->billid = g_strdup(ce_msg_get(m, "billid"));
	if (!strcmp(name, "call.answered")) {
		g_free(c->status);
		c->status = g_strdup("answered"); /* as Yate: answered= stays false */
	} else if (!strcmp(name, "call.ringing")) {
		ce_sim_chan_set_status(c, "ringing");
	} else if (!strcmp(name, "call.progress")) {
		ce_sim_chan_set_status(c, "progressing");
	} else if (!strcmp(name, "chan.dtmf") && !ce_msg_get(m, "sequence")) {
		ce_msg_setf(m, "sequence", "%u", ++c->dtmf_seq);
		ce_msg_set(m, "duplicate", "false");
	}
	g_free(name);
	ce_sim_disp_set_chan(d, c->id);
	ce_sim_chan_complete(c, m, ce_msg_get_bool(m, "complete_minimal", false));
	return SIM_CONTINUE;
}

/*
 * chan.locate id=CHANNEL: true if the driver has that channel (Yate's
 * Driver relay at 40, Channel::handleComplete): with complete=true its
 * parameters are filled in as a masquerade does.
 */
static enum ce_sim_res drv_locate(struct sim_disp *d, struct ce_msg *m, void *arg)
{
	struct sim_chan *c = drv_chan(arg, ce_msg_get(m, "id"));

	if (!c)
		return SIM_CONTINUE;
	ce_sim_disp_set_chan(d, c->id);
	if (ce_msg_get_bool(m, "complete", false))
		ce_sim_chan_complete(c, m, ce_msg_get_bool(m, "complete_minimal", false));
	return SIM_HANDLED;
}

static void drop_driver(struct drv *dr, struct ce_msg *m)
{
	GList *l, *cs = g_hash_table_get_values(dr->s->chans);

	for (l = cs; l; l = l->next) {
		struct sim_chan *c = l->data;
		if (c->driver == dr->driver)
			ce_sim_chan_drop(dr->s, c, ce_msg_get(m, "reason"), m);
	}
	g_list_free(cs);
}

/* call.drop: id=CHANNEL drops it; id=DRIVER or none drops every channel of the driver. */
static enum ce_sim_res drv_drop(struct sim_disp *d, struct ce_msg *m, void *arg)
{
	struct drv *dr = arg;
	const char *id = ce_msg_get_def(m, "id", "");
	size_t plen = strlen(dr->prefix) - 1;
	struct sim_chan *c;

	if (!*id || (!strncmp(id, dr->prefix, plen) && !id[plen])) {
		drop_driver(dr, m);
		return *id ? SIM_HANDLED : SIM_CONTINUE;
	}
	c = drv_chan(dr, id);
	if (!c)
		return SIM_CONTINUE;
	ce_sim_chan_drop(dr->s, c, ce_msg_get(m, "reason"), m);
	return SIM_HANDLED;
}

static struct sim_chan *drv_target(struct drv *dr, struct ce_msg *m)
{
	struct sim_chan *c = drv_chan(dr, ce_msg_get(m, "peerid"));

	return c ? c : drv_chan(dr, ce_msg_get(m, "targetid"));
}

/* call.answered aimed at one of our incoming channels: it is answered now. */
static enum ce_sim_res drv_answered(struct sim_disp *d, struct ce_msg *m, void *arg)
{
	struct drv *dr = arg;
	struct sim_chan *c = drv_target(dr, m);

	if (!c || c->outgoing || c->answered)
		return SIM_CONTINUE;
	if (c->phone)
		ce_sim_forward_answered(dr->s, c, m); /* the SIP 200 OK's SDP */
	ce_sim_chan_set_status(c, "answered");
	if (c->phone)
		ce_sim_set_state(dr->s, c->phone->label, "answered");
	if (c->phone)
		ce_sim_event(dr->s, "answered", "\"who\":%s,\"chan\":%s,\"by\":%s",
		        ce_sim_json(c->phone->label), ce_sim_json(c->id),
		        ce_sim_json(ce_msg_get(m, "id")));
	return SIM_HANDLED;
}

static enum ce_sim_res drv_ringing(struct sim_disp *d, struct ce_msg *m, void *arg)
{
	struct drv *dr = arg;
	struct sim_chan *c = drv_target(dr, m);

	if (!c || c->outgoing || c->answered)
		return SIM_CONTINUE;
	ce_sim_chan_set_status(c, "ringing");
	if (c->phone)
		ce_sim_set_state(dr->s, c->phone->label, "ringing");
	if (c->phone)
		ce_sim_event(dr->s, "ringing", "\"who\":%s,\"chan\":%s",
		        ce_sim_json(c->phone->label), ce_sim_json(c->id));
	return SIM_HANDLED;
}

/* chan.dtmf towards a phone: it "hears" the digits. */
static enum ce_sim_res drv_dtmf(struct sim_disp *d, struct ce_msg *m, void *arg)
{
	struct drv *dr = arg;
	struct sim_chan *c = drv_target(dr, m);

	if (!c || !c->phone || !g_strcmp0(ce_msg_get(m, "id"), c->id))
		return SIM_CONTINUE;
	ce_sim_event(dr->s, "dtmf-heard", "\"who\":%s,\"chan\":%s,\"text\":%s",
	        ce_sim_json(c->phone->label), ce_sim_json(c->id),
	        ce_sim_json(ce_msg_get(m, "text")));
	return SIM_HANDLED;
}

/* ---- dumb/ -------------------------------------------------------------- */

struct dumb_out {
	struct sim_disp *d; /* the outer call.execute */
	char *id;           /* the new dumb channel */
};

static void dumb_out_finish(struct sim *s, struct dumb_out *o, bool ok)
{
	struct sim_chan *c = ce_sim_chan_find(s, o->id);

	if (!ok && c)
		ce_sim_chan_drop(s, c, ce_msg_get(ce_sim_disp_msg(o->d), "error"), NULL);
	ce_sim_disp_resume(o->d, ok);
	g_free(o->id);
	g_free(o);
}

/*
 * Yate's Channel::callAccept() on the dial-out's own channel once the call
 * went somewhere: answered when asked to, ringing or progressing when asked
 * to, and otherwise answered at once when the peer left no targetid (a
 * local channel such as tone/milliwatt: nobody will send call.answered).
 * That answer is the channel's own state, never a message: transcript 2
 * shows no call.answered, yet answered=true at dumb/4's chan.hangup.
 */
static void accept(struct sim_chan *c, const struct ce_msg *m)
{
	if (ce_msg_get_bool(m, "autoanswer", false))
		ce_sim_chan_set_status(c, "answered");
	else if (ce_msg_get_bool(m, "autoring", false))
		ce_sim_chan_set_status(c, "ringing");
	else if (ce_msg_get_bool(m, "autoprogress", false))
		ce_sim_chan_set_status(c, "progressing");
	else if (!c->targetid && ce_msg_get_bool(m, "autoanswer", true))
		ce_sim_chan_set_status(c, "answered");
	else
		ce_sim_chan_set_status(c, "accepted");
}

static void dumb_exec_done(struct sim *s, struct ce_msg *m, bool handled, void *arg)
{
	struct dumb_out *o = arg;
	struct ce_msg *outer = ce_sim_disp_msg(o->d);
	struct sim_chan *c = ce_sim_chan_find(s, o->id);
	const char *t = ce_msg_get(m, "targetid");

	if (!handled || !c || !c->peer) {
		if (ce_msg_get(m, "error"))
			ce_msg_set(outer, "error", ce_msg_get(m, "error"));
		if (ce_msg_get(m, "reason"))
			ce_msg_set(outer, "reason", ce_msg_get(m, "reason"));
		dumb_out_finish(s, o, false);
		return;
	}
	ce_msg_set(outer, "id", ce_msg_get(m, "id"));
	/* as Yate's copyParam: only what the callee set (an external script sets no peerid) */
	if (ce_msg_get(m, "peerid"))
		ce_msg_set(outer, "peerid", ce_msg_get(m, "peerid"));
	if (t) {
		ce_msg_set(outer, "targetid", t);
		g_free(c->targetid);
		c->targetid = g_strdup(t);
	}
	accept(c, m);
	dumb_out_finish(s, o, true);
}

static void dumb_route_done(struct sim *s, struct ce_msg *m, bool handled, void *arg)
{
	struct dumb_out *o = arg;
	struct ce_msg *x;

	if (!handled || !*m->retval) {
		ce_sim_event(s, "noroute", "\"chan\":%s,\"called\":%s", ce_sim_json(o->id),
		        ce_sim_json(ce_msg_get(m, "called")));
		dumb_out_finish(s, o, false);
		return;
	}
	ce_msg_copy(&x, m);
	ce_msg_set_name(x, "call.execute");
	ce_msg_set(x, "callto", m->retval);
	ce_msg_set_retval(x, "");
	ce_msg_set(x, "id", o->id);
	ce_sim_dispatch(s, x, NULL, dumb_exec_done, o);
	ce_msg_unref(x);
}

/* The parameters named in copyparams= (Yate's NamedList::copyParams). */
static void copy_params(struct ce_msg *to, const struct ce_msg *from)
{
	char **names = g_strsplit(ce_msg_get_def(from, "copyparams", ""), ",", -1);

	for (char **n = names; *n; n++) {
		const char *v;

		g_strstrip(*n);
		v = **n ? ce_msg_get(from, *n) : NULL;
		if (v)
			ce_msg_set(to, *n, v);
	}
	g_strfreev(names);
}

/*
 * call.execute callto=dumb/ without a calling channel: route target= (or
 * take direct=) and call it.  As Yate's dumb driver, target= is required
 * even with direct= (it becomes called=), and the call carries caller,
 * called, callername, maxcall, timeout, stop_call and what copyparams= names.
 */
static enum ce_sim_res dumb_dialout(
        struct sim *s, struct sim_disp *d, struct ce_msg *m, const char *dest)
{
	const char *target = ce_msg_get(m, "target"), *direct = ce_msg_get(m, "direct");
	static const char *const copy[] = {"callername", "maxcall", "timeout", "stop_call"};
	struct dumb_out *o;
	struct sim_chan *c;
	struct ce_msg *r;
	unsigned i;

	if (!target || !*target)
		return SIM_CONTINUE; /* Yate: "Outgoing call with no target!", answered false */
	c = ce_sim_chan_new(s, SIM_DRV_DUMB, false);
	c->callto = g_strdup(ce_msg_get(m, "callto"));
	r = ce_sim_chan_message(c, "chan.startup", false);
	ce_msg_set(r, "caller", ce_msg_get(m, "caller"));
	ce_msg_set(r, "called", target);
	ce_msg_set(r, "callto", c->callto);
	copy_params(r, m); /* Channel::message() copies copyparams= too */
	ce_sim_enqueue(s, r);
	o = g_new0(struct dumb_out, 1);
	o->d = d;
	o->id = g_strdup(c->id);
	ce_msg_new(&r, "call.route");
	ce_msg_add(r, "driver", "dumb");
	ce_msg_add(r, "id", c->id);
	if (ce_msg_get(m, "caller"))
		ce_msg_add(r, "caller", ce_msg_get(m, "caller"));
	else
		ce_msg_setf(r, "caller", "dumb/%s", dest);
	ce_msg_add(r, "called", target);
	for (i = 0; i < G_N_ELEMENTS(copy); i++) {
		if (ce_msg_get(m, copy[i]))
			ce_msg_set(r, copy[i], ce_msg_get(m, copy[i]));
	}
	copy_params(r, m);
	if (direct && *direct) {
		ce_msg_set_retval(r, direct);
		dumb_route_done(s, r, true, o);
	} else {
		ce_sim_dispatch(s, r, NULL, dumb_route_done, o);
	}
	ce_msg_unref(r);
	return SIM_PENDING;
}

/* call.execute callto=dumb/...: connect the calling channel to a new dumb/N, or dial out. */
static enum ce_sim_res dumb_execute(struct sim_disp *d, struct ce_msg *m, void *arg)
{
	struct drv *dr = arg;
	struct sim *s = dr->s;
	const char *callto = ce_msg_get_def(m, "callto", "");
	struct sim_chan *from, *c;
	struct ce_msg *st;

	if (!g_str_has_prefix(callto, "dumb/"))
		return SIM_CONTINUE;
	/* only a channel's own message, or a masquerade, carries the channel (Yate's userData) */
	from = ce_sim_disp_chan(d, m);
	if (!from)
		return dumb_dialout(s, d, m, callto + 5);
	c = ce_sim_chan_new(s, SIM_DRV_DUMB, true);
	c->callto = g_strdup(callto);
	st = ce_sim_chan_message(c, "chan.startup", false);
	if (ce_msg_get(m, "caller"))
		ce_msg_set(st, "caller", ce_msg_get(m, "caller"));
	if (ce_msg_get(m, "called"))
		ce_msg_set(st, "called", ce_msg_get(m, "called"));
	ce_msg_set(st, "callto", callto);
	ce_sim_enqueue(s, st);
	ce_sim_chan_unpeer(s, from, NULL); /* Yate's dumb driver connects without a reason */
	ce_sim_chan_connect(s, from, c);
	ce_msg_set(m, "peerid", c->id);
	ce_msg_set(m, "targetid", c->id);
	c->targetid = g_strdup(from->id);
	if (!ce_msg_get(m, "autoring"))
		ce_msg_add(m, "autoring", "true");
	return SIM_HANDLED;
}

/* ---- yrtp --------------------------------------------------------------- */

/* chan.rtp: open a real UDP endpoint for the channel, as yrtp does. */
static enum ce_sim_res yrtp_rtp(struct sim_disp *d, struct ce_msg *m, void *arg)
{
	struct sim *s = arg;
	struct sim_chan *c = ce_sim_chan_find(s, ce_msg_get(m, "id"));
	const char *dir = ce_msg_get_def(m, "direction", "");
	const char *ip = ce_msg_get(m, "remoteip");
	unsigned port = (unsigned)ce_msg_get_int(m, "remoteport", 0, 0, 65535);
	struct sim_phone *ph;
	GError *err = NULL;

	if (!c || strcmp(ce_msg_get_def(m, "media", "audio"), "audio"))
		return SIM_CONTINUE;
	if (strcmp(dir, "bidir") && strcmp(dir, "send") && strcmp(dir, "receive"))
		return SIM_CONTINUE;
	if (c->leg) {
		ce_sim_leg_set_remote(c->leg, ip, port);
		ce_msg_set(m, "localip", ce_sim_leg_local_ip(c->leg));
		ce_msg_setf(m, "localport", "%u", ce_sim_leg_local_port(c->leg));
		ce_msg_set(m, "status", "updated");
		return SIM_HANDLED;
	}
	if (ce_sim_leg_new(s, &c->leg, ip, port, ce_msg_get_def(m, "format", "mulaw"), c, true,
	            &err) < 0) {
		ce_sim_fail(s, "rtp", "%s: %s", c->id, err->message);
		g_error_free(err);
		return SIM_CONTINUE;
	}
	ce_msg_set(m, "localip", ce_sim_leg_local_ip(c->leg));
	ce_msg_setf(m, "localport", "%u", ce_sim_leg_local_port(c->leg));
	ce_msg_setf(m, "rtpid", "yrtp/%u", g_random_int() & 0x7fffffff);
	ce_msg_set(m, "status", "created");
	ph = ce_sim_chan_phone(c);
	ce_sim_event(s, "rtp",
	        "\"chan\":%s,\"who\":%s,\"localport\":%u,\"remote\":\"%s:%u\","
	        "\"format\":%s",
	        ce_sim_json(c->id), ce_sim_json(ph ? ph->label : NULL),
	        ce_sim_leg_local_port(c->leg), ip ? ip : "", port,
	        ce_sim_json(ce_msg_get_def(m, "format", "mulaw")));
	return SIM_HANDLED;
}

/* Handlers that only show up in handlers=, as Yate's modules that pass. */
static enum ce_sim_res pass_h(struct sim_disp *d, struct ce_msg *m, void *arg)
{
	return SIM_CONTINUE;
}

/* ---- regexroute -------------------------------------------------------- */

/* "$1".."$9" in a target stand for the pattern's groups (the scenario's shell-like
 * splitting eats backslashes); turn them into GRegex's "\1". */
static char *dollar_refs(const char *t)
{
	GString *g = g_string_new(NULL);

	for (; *t; t++)
		g_string_append_c(g, t[0] == '$' && g_ascii_isdigit(t[1]) ? '\\' : *t);
	return g_string_free(g, FALSE);
}

/** Route called numbers matching @pattern to @target ($1... are groups); adds @params. */
int ce_sim_route_add(
        struct sim *s, const char *pattern, const char *target, struct ce_msg *params, GError **err)
{
	GRegex *re = g_regex_new(pattern, 0, 0, err);
	struct route *r;

	if (!re) {
		ce_msg_unref(params);
		return -EINVAL;
	}
	r = g_new0(struct route, 1);
	r->re = re;
	r->target = dollar_refs(target);
	r->params = params;
	g_ptr_array_add(s->routes, r);
	return 0;
}

static void route_free(gpointer p)
{
	struct route *r = p;

	g_regex_unref(r->re);
	g_free(r->target);
	ce_msg_unref(r->params);
	g_free(r);
}

static enum ce_sim_res regexroute(struct sim_disp *d, struct ce_msg *m, void *arg)
{
	struct sim *s = arg;
	const char *called = ce_msg_get_def(m, "called", "");
	unsigned i, j;

	for (i = 0; i < s->routes->len; i++) {
		struct route *r = s->routes->pdata[i];
		GMatchInfo *mi;
		char *t;

		if (!g_regex_match(r->re, called, 0, &mi)) {
			g_match_info_free(mi);
			continue;
		}
		t = g_match_info_expand_references(mi, r->target, NULL);
		g_match_info_free(mi);
		ce_msg_set_retval(m, t);
		g_free(t);
		for (j = 0; r->params && j < ce_msg_count(r->params); j++) {
			const struct ce_param *p = ce_msg_param(r->params, j);
			ce_msg_set(m, p->name, p->value);
		}
		return SIM_HANDLED;
	}
	/* a number the scenario declared with "callee" is reachable without a route */
	if (*called && g_hash_table_contains(s->callees, called)) {
		char *t = g_strdup_printf("sip/%s", called);
		ce_msg_set_retval(m, t);
		g_free(t);
		return SIM_HANDLED;
	}
	return SIM_CONTINUE;
}

/* ---- registration ------------------------------------------------------ */

static struct drv drvs[SIM_DRV_COUNT];

/** Install every built-in handler at Yate's priorities. */
void ce_sim_drivers_init(struct sim *s)
{
	static const char *const prefixes[SIM_DRV_COUNT] = {
	        "sip/", "dumb/", "conf/", "tone/", "wave/", "moh/", "external/"};
	static const char *const names[SIM_DRV_COUNT] = {
	        "sip", "dumb", "conf", "tone", "wave", "moh", "extmodule"};
	int i;

	s->routes = g_ptr_array_new_with_free_func(route_free);
	s->callees = g_hash_table_new_full(
	        g_str_hash, g_str_equal, g_free, (GDestroyNotify)ce_sim_phone_free);
	s->scripts = g_hash_table_new_full(
	        g_str_hash, g_str_equal, g_free, (GDestroyNotify)ce_sim_phone_free);
	for (i = 0; i < SIM_DRV_COUNT; i++) {
		drvs[i].s = s;
		drvs[i].driver = i;
		drvs[i].prefix = prefixes[i];
	}
	ce_sim_install(s, "engine.timer", 1, "engine", pass_h, NULL);
	ce_sim_install(s, "call.route", 100, "regexroute", regexroute, s);
	ce_sim_install(s, "call.execute", 50, "yrtp", pass_h, NULL);
	ce_sim_install(s, "call.answered", 50, "yrtp", pass_h, NULL);
	ce_sim_install(s, "chan.hangup", 50, "yrtp", pass_h, NULL);
	ce_sim_install(s, "chan.rtp", 100, "yrtp", yrtp_rtp, s);
	ce_sim_install(s, "chan.dtmf", 150, "yrtp", pass_h, NULL);
	ce_sim_install(s, "call.execute", 90, "sip", ce_sim_sip_execute, s);
	ce_sim_install(s, "call.update", 100, "sip", ce_sim_sip_update, s);
	ce_sim_install(s, "call.execute", 90, "dumb", dumb_execute, &drvs[SIM_DRV_DUMB]);
	ce_sim_install(s, "call.execute", 100, "extmodule", ce_sim_ext_execute, s);
	for (i = SIM_DRV_TONE; i < SIM_DRV_EXT; i++)
		ce_sim_install(s, "call.execute", 90, names[i], ce_sim_local_execute, s);
	/* external scripts' channels are no driver's: no masquerade, drop, answer of theirs */
	for (i = 0; i < SIM_DRV_EXT; i++) {
		ce_sim_install(s, "chan.masquerade", 10, names[i], drv_masquerade, &drvs[i]);
		ce_sim_install(s, "call.drop", 60, names[i], drv_drop, &drvs[i]);
		ce_sim_install(s, "chan.locate", 40, names[i], drv_locate, &drvs[i]);
		if (i >= SIM_DRV_TONE)
			continue; /* local channels neither answer nor ring, and hear no keys */
		ce_sim_install(s, "call.answered", 100, names[i], drv_answered, &drvs[i]);
		ce_sim_install(s, "call.ringing", 100, names[i], drv_ringing, &drvs[i]);
		if (i != SIM_DRV_CONF)
			ce_sim_install(s, "chan.dtmf", 100, names[i], drv_dtmf, &drvs[i]);
	}
	ce_sim_conf_init(s);
}

void ce_sim_drivers_fini(struct sim *s)
{
	g_clear_pointer(&s->routes, g_ptr_array_unref);
	g_clear_pointer(&s->callees, g_hash_table_destroy);
	g_clear_pointer(&s->scripts, g_hash_table_destroy);
}
