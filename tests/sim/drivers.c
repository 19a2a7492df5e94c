/* drivers.c - Yate's built-in handlers: phones (sip/), dumb/, yrtp, regexroute */
/*
 * Priorities are Yate 6.4.1's, as seen in the transcripts' handlers=:
 *
 *   call.route       regexroute 100
 *   call.execute     yrtp 50, sip 90, dumb 90, conf 90
 *   chan.masquerade  sip 10, dumb 10, conf 10
 *   call.drop        sip 60, dumb 60, conf 60
 *   chan.rtp         yrtp 100
 *   call.answered    yrtp 50, sip 100, dumb 100, conf 100
 *   chan.dtmf        conf 75, sip 100, dumb 100, yrtp 150
 *   chan.hangup      yrtp 50, conf 150
 *
 * so an engine handler at 50 runs before the drivers and one at 150 after.
 * Callers are "sip/N" channels placed by the scenario; dial-out callees are
 * reached with callto=sip/NUMBER and behave as the scenario says (answer,
 * noanswer, busy, reject, offline).
 */
#define G_LOG_DOMAIN "sim"

#include <string.h>

#include "sim.h"

struct route {
	GRegex *re;
	char *target;
	struct ce_msg *params;
};

/* ---- phones ------------------------------------------------------------ */

struct sim_phone *sim_phone_new(const char *number)
{
	struct sim_phone *ph = g_new0(struct sim_phone, 1);

	ph->number = g_strdup(number);
	ph->play = g_strdup("silence");
	ph->loop = true;
	ph->format = g_strdup("mulaw");
	return ph;
}

/** A copy of the scenario's template @ph without runtime state. */
struct sim_phone *sim_phone_copy(const struct sim_phone *ph)
{
	struct sim_phone *c = g_new0(struct sim_phone, 1);

	c->number = g_strdup(ph->number);
	c->name = g_strdup(ph->name);
	c->play = g_strdup(ph->play);
	c->loop = ph->loop;
	c->record = g_strdup(ph->record);
	c->format = g_strdup(ph->format);
	c->loss = ph->loss;
	c->reorder = ph->reorder;
	c->jitter_ms = ph->jitter_ms;
	c->kind = ph->kind;
	c->delay = ph->delay;
	if (ph->params)
		ce_msg_copy(&c->params, ph->params);
	c->label = g_strdup(ph->label ? ph->label : ph->number);
	return c;
}

void sim_phone_free(struct sim_phone *ph)
{
	if (!ph)
		return;
	if (ph->src)
		sim_src_free(ph->src);
	if (ph->wav)
		sim_wav_close(ph->wav);
	g_free(ph->heard);
	ce_msg_unref(ph->params);
	g_free(ph->number);
	g_free(ph->name);
	g_free(ph->play);
	g_free(ph->record);
	g_free(ph->format);
	g_free(ph->label);
	g_free(ph);
}

/** What the phone hears: recorded to its WAV and kept for analysis. */
void sim_phone_heard(struct sim_phone *ph, const int16_t *pcm, unsigned n)
{
	unsigned i;

	if (ph->wav)
		sim_wav_write(ph->wav, pcm, n);
	if (!ph->heard)
		ph->heard = g_new0(int16_t, SIM_HEARD_SAMPLES);
	for (i = 0; i < n; i++) {
		ph->heard[ph->heard_pos] = pcm[i];
		ph->heard_pos = (ph->heard_pos + 1) % SIM_HEARD_SAMPLES;
	}
	ph->heard_len = MIN(ph->heard_len + n, SIM_HEARD_SAMPLES);
	ph->heard_total += n;
}

/* Open what the phone plays and records; problems are reported, not fatal. */
static void phone_start(struct sim *s, struct sim_phone *ph)
{
	GError *err = NULL;

	if (sim_src_new(&ph->src, ph->play, ph->loop, s->basedir, &err) < 0) {
		sim_fail(s, "audio", "%s: %s", ph->label, err->message);
		g_clear_error(&err);
	}
	/* recordings go to the current folder, not beside the scenario (srcdir may be read-only) */
	if (ph->record && sim_wav_open(&ph->wav, ph->record, &err) < 0) {
		sim_fail(s, "audio", "%s: %s", ph->label, err->message);
		g_clear_error(&err);
	}
}

/* ---- callers ----------------------------------------------------------- */

static void reject(struct sim *s, struct sim_chan *c, const char *error)
{
	sim_set_state(s, c->phone->label, "rejected");
	sim_event(s, "rejected", "\"who\":%s,\"chan\":%s,\"error\":%s", sim_json(c->phone->label),
		sim_json(c->id), sim_json(error));
	sim_chan_drop(s, c, error, NULL);
}

static void execute_done(struct sim *s, struct ce_msg *m, bool handled, void *arg)
{
	char *id = arg;
	struct sim_chan *c = sim_chan_find(s, id);

	g_free(id);
	if (!c)
		return;
	if (!handled || !c->peer) {
		reject(s, c, ce_msg_get_def(m, "error", "noconn"));
		return;
	}
	if (!c->answered)
		sim_set_state(s, c->phone->label, "connected");
	sim_event(s, "connected", "\"who\":%s,\"chan\":%s,\"peer\":%s", sim_json(c->phone->label),
		sim_json(c->id), sim_json(c->peer->id));
}

static void route_done(struct sim *s, struct ce_msg *m, bool handled, void *arg)
{
	char *id = arg;
	struct sim_chan *c = sim_chan_find(s, id);
	const char *rv = m->retval;

	if (!c) {
		g_free(id);
		return;
	}
	if (!handled || !*rv || !strcmp(rv, "-") || !strcmp(rv, "error")) {
		reject(s, c, ce_msg_get_def(m, "error", "noroute"));
		g_free(id);
		return;
	}
	sim_event(s, "routed", "\"who\":%s,\"chan\":%s,\"callto\":%s", sim_json(c->phone->label),
		sim_json(c->id), sim_json(rv));
	ce_msg_set_name(m, "call.execute");
	ce_msg_set(m, "callto", rv);
	ce_msg_remove(m, "error");
	ce_msg_set_retval(m, "");
	sim_dispatch(s, m, NULL, execute_done, id);
}

/**
 * Place a call from phone @ph (ownership taken) to @called: a new
 * incoming sip/N channel, chan.startup, call.route, then call.execute.
 */
int sim_call(struct sim *s, struct sim_phone *ph, const char *called)
{
	struct sim_chan *c;
	struct ce_msg *m;
	unsigned i;

	if (sim_chan_by_label(s, ph->label)) {
		sim_fail(s, "scenario", "%s is already in a call", ph->label);
		sim_phone_free(ph);
		return -EBUSY;
	}
	c = sim_chan_new(s, SIM_DRV_SIP, false);
	c->phone = ph;
	ph->sim = s;
	c->address = g_strdup("127.0.0.1:5060");
	c->caller = g_strdup(ph->number);
	c->called = g_strdup(called);
	g_hash_table_replace(s->labels, g_strdup(ph->label), c);
	phone_start(s, ph);
	sim_set_state(s, ph->label, "calling");
	sim_event(s, "call", "\"who\":%s,\"chan\":%s,\"caller\":%s,\"called\":%s",
		sim_json(ph->label), sim_json(c->id), sim_json(ph->number), sim_json(called));

	m = sim_chan_message(c, "chan.startup", false);
	ce_msg_set(m, "caller", ph->number);
	ce_msg_set(m, "called", called);
	sim_enqueue(s, m);

	m = sim_chan_message(c, "call.route", false);
	ce_msg_set(m, "caller", ph->number);
	if (ph->name)
		ce_msg_set(m, "callername", ph->name);
	ce_msg_set(m, "called", called);
	for (i = 0; ph->params && i < ce_msg_count(ph->params); i++) {
		const struct ce_param *p = ce_msg_param(ph->params, i);
		ce_msg_set(m, p->name, p->value);
	}
	sim_enqueue_cb(s, m, route_done, g_strdup(c->id));
	return 0;
}

/** Hang up the phone @label ("all": every phone), as if it put the receiver down. */
int sim_hangup(struct sim *s, const char *label, const char *reason)
{
	struct sim_chan *c;

	if (!strcmp(label, "all")) {
		GList *l, *cs = g_hash_table_get_values(s->labels);
		for (l = cs; l; l = l->next)
			sim_chan_drop(s, l->data, reason, NULL);
		g_list_free(cs);
		return 0;
	}
	c = sim_chan_by_label(s, label);
	if (!c)
		return -ENOENT;
	sim_chan_drop(s, c, reason, NULL);
	return 0;
}

struct dtmf_job {
	struct sim *s;
	char *label;
	char *digits;
	unsigned pos;
};

static gboolean dtmf_cb(gpointer data)
{
	struct dtmf_job *j = data;
	struct sim_chan *c = sim_chan_by_label(j->s, j->label);
	char text[2] = {j->digits[j->pos], 0};
	struct ce_msg *m;

	if (!c || !text[0])
		goto done;
	m = sim_chan_message(c, "chan.dtmf", false);
	ce_msg_set(m, "text", text);
	ce_msg_set(m, "detected", "rfc2833");
	ce_msg_setf(m, "sequence", "%u", ++c->dtmf_seq);
	ce_msg_set(m, "duplicate", "false");
	sim_event(j->s, "dtmf", "\"who\":%s,\"chan\":%s,\"text\":%s", sim_json(j->label),
		sim_json(c->id), sim_json(text));
	sim_enqueue(j->s, m);
	if (j->digits[++j->pos])
		return G_SOURCE_CONTINUE;
done:
	g_free(j->label);
	g_free(j->digits);
	g_free(j);
	return G_SOURCE_REMOVE;
}

/** Phone @label presses @digits, one chan.dtmf each, 200 ms apart. */
int sim_send_dtmf(struct sim *s, const char *label, const char *digits)
{
	struct dtmf_job *j;

	if (!sim_chan_by_label(s, label) || !*digits)
		return -ENOENT;
	j = g_new0(struct dtmf_job, 1);
	j->s = s;
	j->label = g_strdup(label);
	j->digits = g_strdup(digits);
	if (dtmf_cb(j) == G_SOURCE_CONTINUE)
		g_timeout_add(200, dtmf_cb, j);
	return 0;
}

/* ---- callees (dial-out) ------------------------------------------------ */

/** Register the behaviour of number @ph->number when dialled (ownership taken). */
void sim_callee_add(struct sim *s, struct sim_phone *ph)
{
	g_hash_table_replace(s->callees, g_strdup(ph->number), ph);
}

static gboolean callee_cb(gpointer data)
{
	struct sim_chan *c = data;
	struct sim *s = c->phone ? c->phone->sim : NULL;
	static const char *const fail[] = {
		[SIM_CALLEE_NOANSWER] = "noanswer",
		[SIM_CALLEE_BUSY] = "busy",
		[SIM_CALLEE_REJECT] = "rejected",
	};
	struct ce_msg *p;

	c->timer = 0;
	if (c->phone->kind == SIM_CALLEE_ANSWER) {
		sim_chan_set_status(c, "answered");
		sim_set_state(s, c->phone->label, "answered");
		sim_event(s, "answered", "\"who\":%s,\"chan\":%s", sim_json(c->phone->label),
			sim_json(c->id));
		sim_enqueue(s, sim_chan_message(c, "call.answered", false));
		return G_SOURCE_REMOVE;
	}
	ce_msg_new(&p, NULL);
	ce_msg_set(p, "error", fail[c->phone->kind]);
	ce_msg_set(p, "reason", fail[c->phone->kind]);
	sim_chan_drop(s, c, fail[c->phone->kind], p);
	ce_msg_unref(p);
	return G_SOURCE_REMOVE;
}

static char *free_label(struct sim *s, const char *number)
{
	unsigned n;

	if (!sim_chan_by_label(s, number))
		return g_strdup(number);
	for (n = 2;; n++) {
		char *l = g_strdup_printf("%s#%u", number, n);
		if (!sim_chan_by_label(s, l))
			return l;
		g_free(l);
	}
}

/* call.execute callto=sip/NUMBER: ring the scenario's callee. */
static enum sim_res sip_execute(struct sim_disp *d, struct ce_msg *m, void *arg)
{
	struct sim *s = arg;
	const char *callto = ce_msg_get_def(m, "callto", "");
	struct sim_phone *tpl;
	struct sim_chan *from, *c;
	struct ce_msg *st;
	double delay;

	if (!g_str_has_prefix(callto, "sip/"))
		return SIM_CONTINUE;
	tpl = g_hash_table_lookup(s->callees, callto + 4);
	from = sim_chan_find(s, ce_msg_get(m, "id"));
	if (!tpl || tpl->kind == SIM_CALLEE_OFFLINE || !from) {
		ce_msg_set(m, "error", "offline");
		ce_msg_set(m, "reason", "Offline");
		return SIM_CONTINUE;
	}
	c = sim_chan_new(s, SIM_DRV_SIP, true);
	c->phone = sim_phone_copy(tpl);
	c->phone->sim = s;
	g_free(c->phone->label);
	c->phone->label = free_label(s, tpl->number);
	g_hash_table_replace(s->labels, g_strdup(c->phone->label), c);
	c->address = g_strdup("127.0.0.1:5062");
	c->called = g_strdup(callto + 4);
	st = sim_chan_message(c, "chan.startup", false);
	ce_msg_set(st, "caller", ce_msg_get(m, "caller"));
	ce_msg_set(st, "called", callto + 4);
	sim_enqueue(s, st);
	sim_chan_connect(s, c, from);
	c->targetid = g_strdup(from->id);
	ce_msg_set(m, "peerid", c->id);
	ce_msg_set(m, "targetid", c->id);
	phone_start(s, c->phone);
	sim_set_state(s, c->phone->label, "ringing");
	sim_event(s, "ring", "\"who\":%s,\"chan\":%s,\"from\":%s", sim_json(c->phone->label),
		sim_json(c->id), sim_json(from->id));
	delay = c->phone->delay;
	if (c->phone->kind == SIM_CALLEE_NOANSWER && delay <= 0)
		delay = 30;
	if (delay > 0 && c->phone->kind != SIM_CALLEE_BUSY) {
		sim_chan_set_status(c, "ringing");
		sim_enqueue(s, sim_chan_message(c, "call.ringing", false));
	}
	c->timer = g_timeout_add((guint)(delay * 1000), callee_cb, c);
	return SIM_HANDLED;
}

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
	return sim_chan_find(dr->s, id);
}

/* chan.masquerade: become the message named in message=, with the channel's parameters. */
static enum sim_res drv_masquerade(struct sim_disp *d, struct ce_msg *m, void *arg)
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
		sim_chan_set_status(c, "ringing");
	} else if (!strcmp(name, "call.progress")) {
		sim_chan_set_status(c, "progressing");
	} else if (!strcmp(name, "chan.dtmf") && !ce_msg_get(m, "sequence")) {
		ce_msg_setf(m, "sequence", "%u", ++c->dtmf_seq);
		ce_msg_set(m, "duplicate", "false");
	}
	g_free(name);
	sim_chan_complete(c, m, ce_msg_get_bool(m, "complete_minimal", false));
	return SIM_CONTINUE;
}

static void drop_driver(struct drv *dr, struct ce_msg *m)
{
	GList *l, *cs = g_hash_table_get_values(dr->s->chans);

	for (l = cs; l; l = l->next) {
		struct sim_chan *c = l->data;
		if (c->driver == dr->driver)
			sim_chan_drop(dr->s, c, ce_msg_get(m, "reason"), m);
	}
	g_list_free(cs);
}

/* call.drop: id=CHANNEL drops it; id=DRIVER or none drops every channel of the driver. */
static enum sim_res drv_drop(struct sim_disp *d, struct ce_msg *m, void *arg)
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
	sim_chan_drop(dr->s, c, ce_msg_get(m, "reason"), m);
	return SIM_HANDLED;
}

static struct sim_chan *drv_target(struct drv *dr, struct ce_msg *m)
{
	struct sim_chan *c = drv_chan(dr, ce_msg_get(m, "peerid"));

	return c ? c : drv_chan(dr, ce_msg_get(m, "targetid"));
}

/* call.answered aimed at one of our incoming channels: it is answered now. */
static enum sim_res drv_answered(struct sim_disp *d, struct ce_msg *m, void *arg)
{
	struct drv *dr = arg;
	struct sim_chan *c = drv_target(dr, m);

	if (!c || c->outgoing || c->answered)
		return SIM_CONTINUE;
	sim_chan_set_status(c, "answered");
	if (c->phone)
		sim_set_state(dr->s, c->phone->label, "answered");
	if (c->phone)
		sim_event(dr->s, "answered", "\"who\":%s,\"chan\":%s,\"by\":%s",
			sim_json(c->phone->label), sim_json(c->id),
			sim_json(ce_msg_get(m, "id")));
	return SIM_HANDLED;
}

static enum sim_res drv_ringing(struct sim_disp *d, struct ce_msg *m, void *arg)
{
	struct drv *dr = arg;
	struct sim_chan *c = drv_target(dr, m);

	if (!c || c->outgoing || c->answered)
		return SIM_CONTINUE;
	sim_chan_set_status(c, "ringing");
	if (c->phone)
		sim_set_state(dr->s, c->phone->label, "ringing");
	if (c->phone)
		sim_event(dr->s, "ringing", "\"who\":%s,\"chan\":%s", sim_json(c->phone->label),
			sim_json(c->id));
	return SIM_HANDLED;
}

/* chan.dtmf towards a phone: it "hears" the digits. */
static enum sim_res drv_dtmf(struct sim_disp *d, struct ce_msg *m, void *arg)
{
	struct drv *dr = arg;
	struct sim_chan *c = drv_target(dr, m);

	if (!c || !c->phone || !g_strcmp0(ce_msg_get(m, "id"), c->id))
		return SIM_CONTINUE;
	sim_event(dr->s, "dtmf-heard", "\"who\":%s,\"chan\":%s,\"text\":%s",
		sim_json(c->phone->label), sim_json(c->id), sim_json(ce_msg_get(m, "text")));
	return SIM_HANDLED;
}

/* ---- dumb/ -------------------------------------------------------------- */

struct dumb_out {
	struct sim_disp *d; /* the outer call.execute */
	char *id;           /* the new dumb channel */
};

static void dumb_out_finish(struct sim *s, struct dumb_out *o, bool ok)
{
	struct sim_chan *c = sim_chan_find(s, o->id);

	if (!ok && c)
		sim_chan_drop(s, c, ce_msg_get(sim_disp_msg(o->d), "error"), NULL);
	sim_disp_resume(o->d, ok);
	g_free(o->id);
	g_free(o);
}

static void dumb_exec_done(struct sim *s, struct ce_msg *m, bool handled, void *arg)
{
	struct dumb_out *o = arg;
	struct ce_msg *outer = sim_disp_msg(o->d);
	struct sim_chan *c = sim_chan_find(s, o->id);
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
	ce_msg_set(outer, "peerid", ce_msg_get(m, "peerid"));
	if (t) {
		ce_msg_set(outer, "targetid", t);
		g_free(c->targetid);
		c->targetid = g_strdup(t);
	}
	dumb_out_finish(s, o, true);
}

static void dumb_route_done(struct sim *s, struct ce_msg *m, bool handled, void *arg)
{
	struct dumb_out *o = arg;
	struct ce_msg *x;

	if (!handled || !*m->retval) {
		sim_event(s, "noroute", "\"chan\":%s,\"called\":%s", sim_json(o->id),
			sim_json(ce_msg_get(m, "called")));
		dumb_out_finish(s, o, false);
		return;
	}
	ce_msg_copy(&x, m);
	ce_msg_set_name(x, "call.execute");
	ce_msg_set(x, "callto", m->retval);
	ce_msg_set_retval(x, "");
	ce_msg_set(x, "id", o->id);
	sim_dispatch(s, x, NULL, dumb_exec_done, o);
	ce_msg_unref(x);
}

/* call.execute callto=dumb/ without a calling channel: route target= and call it. */
static enum sim_res dumb_dialout(struct sim *s, struct sim_disp *d, struct ce_msg *m,
	const char *dest)
{
	const char *target = ce_msg_get(m, "target"), *direct = ce_msg_get(m, "direct");
	static const char *const copy[] = {"callername", "maxcall", "timeout", "stop_call"};
	struct dumb_out *o;
	struct sim_chan *c;
	struct ce_msg *r;
	unsigned i;

	if (!target && !direct)
		return SIM_CONTINUE;
	c = sim_chan_new(s, SIM_DRV_DUMB, false);
	c->callto = g_strdup(ce_msg_get(m, "callto"));
	r = sim_chan_message(c, "chan.startup", false);
	ce_msg_set(r, "caller", ce_msg_get(m, "caller"));
	ce_msg_set(r, "called", target);
	ce_msg_set(r, "callto", c->callto);
	sim_enqueue(s, r);
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
	ce_msg_add(r, "called", target ? target : "");
	for (i = 0; i < G_N_ELEMENTS(copy); i++) {
		if (ce_msg_get(m, copy[i]))
			ce_msg_set(r, copy[i], ce_msg_get(m, copy[i]));
	}
	if (direct) {
		ce_msg_set_retval(r, direct);
		dumb_route_done(s, r, true, o);
	} else {
		sim_dispatch(s, r, NULL, dumb_route_done, o);
	}
	ce_msg_unref(r);
	return SIM_PENDING;
}

/* call.execute callto=dumb/...: connect the calling channel to a new dumb/N, or dial out. */
static enum sim_res dumb_execute(struct sim_disp *d, struct ce_msg *m, void *arg)
{
	struct drv *dr = arg;
	struct sim *s = dr->s;
	const char *callto = ce_msg_get_def(m, "callto", "");
	struct sim_chan *from = NULL, *c;
	struct ce_msg *st;

	if (!g_str_has_prefix(callto, "dumb/"))
		return SIM_CONTINUE;
	/* only a channel's own message carries the channel (Yate's userData) */
	if (!sim_disp_origin(d))
		from = sim_chan_find(s, ce_msg_get(m, "id"));
	if (!from)
		return dumb_dialout(s, d, m, callto + 5);
	c = sim_chan_new(s, SIM_DRV_DUMB, true);
	c->callto = g_strdup(callto);
	st = sim_chan_message(c, "chan.startup", false);
	if (ce_msg_get(m, "caller"))
		ce_msg_set(st, "caller", ce_msg_get(m, "caller"));
	if (ce_msg_get(m, "called"))
		ce_msg_set(st, "called", ce_msg_get(m, "called"));
	ce_msg_set(st, "callto", callto);
	sim_enqueue(s, st);
	if (from->peer)
		sim_chan_drop(s, from->peer, "transferred", NULL);
	sim_chan_connect(s, from, c);
	ce_msg_set(m, "peerid", c->id);
	ce_msg_set(m, "targetid", c->id);
	c->targetid = g_strdup(from->id);
	if (!ce_msg_get(m, "autoring"))
		ce_msg_add(m, "autoring", "true");
	return SIM_HANDLED;
}

/* ---- yrtp --------------------------------------------------------------- */

/* chan.rtp: open a real UDP endpoint for the channel, as yrtp does. */
static enum sim_res yrtp_rtp(struct sim_disp *d, struct ce_msg *m, void *arg)
{
	struct sim *s = arg;
	struct sim_chan *c = sim_chan_find(s, ce_msg_get(m, "id"));
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
		sim_leg_set_remote(c->leg, ip, port);
		ce_msg_set(m, "localip", sim_leg_local_ip(c->leg));
		ce_msg_setf(m, "localport", "%u", sim_leg_local_port(c->leg));
		ce_msg_set(m, "status", "updated");
		return SIM_HANDLED;
	}
	if (sim_leg_new(s, &c->leg, ip, port, ce_msg_get_def(m, "format", "mulaw"), c, &err) < 0) {
		sim_fail(s, "rtp", "%s: %s", c->id, err->message);
		g_error_free(err);
		return SIM_CONTINUE;
	}
	ce_msg_set(m, "localip", sim_leg_local_ip(c->leg));
	ce_msg_setf(m, "localport", "%u", sim_leg_local_port(c->leg));
	ce_msg_setf(m, "rtpid", "yrtp/%u", g_random_int() & 0x7fffffff);
	ce_msg_set(m, "status", "created");
	ph = sim_chan_phone(c);
	sim_event(s, "rtp", "\"chan\":%s,\"who\":%s,\"localport\":%u,\"remote\":\"%s:%u\","
		"\"format\":%s", sim_json(c->id), sim_json(ph ? ph->label : NULL),
		sim_leg_local_port(c->leg), ip ? ip : "", port,
		sim_json(ce_msg_get_def(m, "format", "mulaw")));
	return SIM_HANDLED;
}

/* Handlers that only show up in handlers=, as Yate's modules that pass. */
static enum sim_res pass_h(struct sim_disp *d, struct ce_msg *m, void *arg)
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
int sim_route_add(struct sim *s, const char *pattern, const char *target, struct ce_msg *params,
	GError **err)
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

static enum sim_res regexroute(struct sim_disp *d, struct ce_msg *m, void *arg)
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
	return SIM_CONTINUE;
}

/* ---- registration ------------------------------------------------------ */

static struct drv drvs[SIM_DRV_COUNT];

/** Install every built-in handler at Yate's priorities. */
void sim_drivers_init(struct sim *s)
{
	static const char *const prefixes[SIM_DRV_COUNT] = {"sip/", "dumb/", "conf/"};
	static const char *const names[SIM_DRV_COUNT] = {"sip", "dumb", "conf"};
	int i;

	s->routes = g_ptr_array_new_with_free_func(route_free);
	s->callees = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
		(GDestroyNotify)sim_phone_free);
	for (i = 0; i < SIM_DRV_COUNT; i++) {
		drvs[i].s = s;
		drvs[i].driver = i;
		drvs[i].prefix = prefixes[i];
	}
	sim_install(s, "call.route", 100, "regexroute", regexroute, s);
	sim_install(s, "call.execute", 50, "yrtp", pass_h, NULL);
	sim_install(s, "call.answered", 50, "yrtp", pass_h, NULL);
	sim_install(s, "chan.hangup", 50, "yrtp", pass_h, NULL);
	sim_install(s, "chan.rtp", 100, "yrtp", yrtp_rtp, s);
	sim_install(s, "chan.dtmf", 150, "yrtp", pass_h, NULL);
	sim_install(s, "call.execute", 90, "sip", sip_execute, s);
	sim_install(s, "call.execute", 90, "dumb", dumb_execute, &drvs[SIM_DRV_DUMB]);
	for (i = 0; i < SIM_DRV_COUNT; i++) {
		sim_install(s, "chan.masquerade", 10, names[i], drv_masquerade, &drvs[i]);
		sim_install(s, "call.drop", 60, names[i], drv_drop, &drvs[i]);
		sim_install(s, "call.answered", 100, names[i], drv_answered, &drvs[i]);
		sim_install(s, "call.ringing", 100, names[i], drv_ringing, &drvs[i]);
		if (i != SIM_DRV_CONF)
			sim_install(s, "chan.dtmf", 100, names[i], drv_dtmf, &drvs[i]);
	}
	sim_conf_init(s);
}

void sim_drivers_fini(struct sim *s)
{
	g_clear_pointer(&s->routes, g_ptr_array_unref);
	g_clear_pointer(&s->callees, g_hash_table_destroy);
}
