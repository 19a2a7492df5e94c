/* phones.c - the simulated phones: callers placing calls, callees answering dial-outs, DTMF,
 * external scripts */
/*
 * A caller is an incoming "sip/N" channel: chan.startup, call.preroute, call.route, then
 * the same message renamed call.execute with callto= the route.  A callee
 * is reached with call.execute callto=sip/NUMBER and does what the
 * scenario's "callee" line says: answer (call.answered), noanswer (rings,
 * then fails with noanswer), busy, reject, or offline (error=offline); a
 * call whose maxcall= runs out first is dropped with noanswer, as Yate does.
 * A caller offering RTP forwarding (media bypass) has its own RTP endpoint
 * and sends its keys in it: forward.c.
 */
#define G_LOG_DOMAIN "sim"

#include <string.h>

#include "sim.h"

/* ---- phones ------------------------------------------------------------ */

struct sim_phone *ce_sim_phone_new(const char *number)
{
	struct sim_phone *ph = g_new0(struct sim_phone, 1);

	ph->number = g_strdup(number);
	ph->play = g_strdup("silence");
	ph->loop = true;
	ph->format = g_strdup("mulaw");
	ph->forward = -1;
	return ph;
}

/** A copy of the scenario's template @ph without runtime state. */
struct sim_phone *ce_sim_phone_copy(const struct sim_phone *ph)
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
	c->garbage = ph->garbage;
	c->badpt = ph->badpt;
	c->flood = ph->flood;
	c->kind = ph->kind;
	c->delay = ph->delay;
	c->forward = ph->forward;
	c->nat = ph->nat;
	if (ph->params)
		ce_msg_copy(&c->params, ph->params);
	c->label = g_strdup(ph->label ? ph->label : ph->number);
	return c;
}

void ce_sim_phone_free(struct sim_phone *ph)
{
	if (!ph)
		return;
	if (ph->rtp)
		ce_sim_leg_free(ph->rtp);
	if (ph->src)
		ce_sim_src_free(ph->src);
	if (ph->wav)
		ce_sim_wav_close(ph->wav);
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
void ce_sim_phone_heard(struct sim_phone *ph, const int16_t *pcm, unsigned n)
{
	unsigned i;

	if (ph->wav)
		ce_sim_wav_write(ph->wav, pcm, n);
	if (!ph->heard)
		ph->heard = g_new0(int16_t, SIM_HEARD_SAMPLES);
	/* at most two pieces around the ring's end (load mode: every leg, every tick) */
	for (i = 0; i < n;) {
		unsigned take = MIN(n - i, SIM_HEARD_SAMPLES - ph->heard_pos);

		memcpy(ph->heard + ph->heard_pos, pcm + i, take * sizeof(*pcm));
		ph->heard_pos = (ph->heard_pos + take) % SIM_HEARD_SAMPLES;
		i += take;
	}
	ph->heard_len = MIN(ph->heard_len + n, SIM_HEARD_SAMPLES);
	ph->heard_total += n;
}

/** Open what the phone plays and records; problems are reported, not fatal. */
void ce_sim_phone_start(struct sim *s, struct sim_phone *ph)
{
	GError *err = NULL;

	if (ce_sim_src_new(&ph->src, ph->play, ph->loop, s->basedir, &err) < 0) {
		ce_sim_fail(s, "audio", "%s: %s", ph->label, err->message);
		g_clear_error(&err);
	}
	/* recordings go to the current folder, not beside the scenario (srcdir may be read-only) */
	if (ph->record && ce_sim_wav_open(&ph->wav, ph->record, &err) < 0) {
		ce_sim_fail(s, "audio", "%s: %s", ph->label, err->message);
		g_clear_error(&err);
	}
}

/* ---- callers ----------------------------------------------------------- */

static void reject(struct sim *s, struct sim_chan *c, const char *error)
{
	ce_sim_set_state(s, c->phone->label, "rejected");
	ce_sim_event(s, "rejected", "\"who\":%s,\"chan\":%s,\"error\":%s",
	        ce_sim_json(c->phone->label), ce_sim_json(c->id), ce_sim_json(error));
	ce_sim_chan_drop(s, c, error, NULL);
}

/*
 * Yate's Channel::callAccept: the caller's target is the channel that took
 * the call (targetid= of call.execute, e.g. dumb/N), and its status follows
 * autoring/autoprogress.
 */
static void accept(struct sim_chan *c, const struct ce_msg *m)
{
	g_free(c->targetid);
	c->targetid = g_strdup(ce_msg_get(m, "targetid"));
	if (c->answered)
		return;
	if (ce_msg_get_bool(m, "autoring", false))
		ce_sim_chan_set_status(c, "ringing");
	else if (ce_msg_get_bool(m, "autoprogress", false))
		ce_sim_chan_set_status(c, "progressing");
	else
		ce_sim_chan_set_status(c, "accepted");
}

static void execute_done(struct sim *s, struct ce_msg *m, bool handled, void *arg)
{
	char *id = arg;
	struct sim_chan *c = ce_sim_chan_find(s, id);

	g_free(id);
	if (!c)
		return;
	if (!handled || !c->peer) {
		reject(s, c, ce_msg_get_def(m, "error", "noconn"));
		return;
	}
	accept(c, m);
	ce_sim_forward_accepted(s, c, m);
	if (!c->answered)
		ce_sim_set_state(s, c->phone->label, "connected");
	ce_sim_event(s, "connected", "\"who\":%s,\"chan\":%s,\"peer\":%s",
	        ce_sim_json(c->phone->label), ce_sim_json(c->id), ce_sim_json(c->peer->id));
}

static void route_done(struct sim *s, struct ce_msg *m, bool handled, void *arg)
{
	char *id = arg;
	struct sim_chan *c = ce_sim_chan_find(s, id);
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
	ce_sim_event(s, "routed", "\"who\":%s,\"chan\":%s,\"callto\":%s",
	        ce_sim_json(c->phone->label), ce_sim_json(c->id), ce_sim_json(rv));
	ce_sim_forward_routed(s, c, m);
	/* as Yate's Router: handlers= of call.route does not follow into call.execute */
	ce_msg_set_name(m, "call.execute");
	ce_msg_set(m, "callto", rv);
	ce_msg_remove(m, "error");
	ce_msg_remove(m, "handlers");
	ce_msg_set_retval(m, "");
	ce_sim_dispatch(s, m, NULL, execute_done, id);
}

/* After call.preroute (Yate's Router): "-" or "error" rejects, else the same message routes. */
static void preroute_done(struct sim *s, struct ce_msg *m, bool handled, void *arg)
{
	char *id = arg;
	struct sim_chan *c = ce_sim_chan_find(s, id);

	if (!c) {
		g_free(id);
		return;
	}
	if (handled && (!strcmp(m->retval, "-") || !strcmp(m->retval, "error"))) {
		reject(s, c, ce_msg_get_def(m, "error", "unknown"));
		g_free(id);
		return;
	}
	ce_msg_set_name(m, "call.route");
	ce_msg_set_retval(m, "");
	ce_msg_remove(m, "handlers");
	ce_sim_dispatch(s, m, NULL, route_done, id);
}

/**
 * Place a call from phone @ph (ownership taken) to @called: a new
 * incoming sip/N channel, chan.startup, call.preroute, call.route, then
 * call.execute, as Yate's router does for a SIP call.
 */
int ce_sim_call(struct sim *s, struct sim_phone *ph, const char *called)
{
	struct sim_chan *c;
	struct ce_msg *m;
	unsigned i;

	if (ce_sim_chan_by_label(s, ph->label)) {
		ce_sim_fail(s, "scenario", "%s is already in a call", ph->label);
		ce_sim_phone_free(ph);
		return -EBUSY;
	}
	c = ce_sim_chan_new(s, SIM_DRV_SIP, false);
	c->phone = ph;
	ph->sim = s;
	c->address = g_strdup("127.0.0.1:5060");
	c->caller = g_strdup(ph->number);
	c->called = g_strdup(called);
	g_hash_table_replace(s->labels, g_strdup(ph->label), c);
	ce_sim_phone_start(s, ph);
	ce_sim_set_state(s, ph->label, "calling");
	ce_sim_event(s, "call", "\"who\":%s,\"chan\":%s,\"caller\":%s,\"called\":%s",
	        ce_sim_json(ph->label), ce_sim_json(c->id), ce_sim_json(ph->number),
	        ce_sim_json(called));

	m = ce_sim_chan_message(c, "chan.startup", false);
	ce_msg_set(m, "caller", ph->number);
	ce_msg_set(m, "called", called);
	ce_sim_enqueue(s, m);

	m = ce_sim_chan_message(c, "call.preroute", false);
	ce_msg_set(m, "caller", ph->number);
	if (ph->name)
		ce_msg_set(m, "callername", ph->name);
	ce_msg_set(m, "called", called);
	ce_sim_forward_offer(s, c, m);
	for (i = 0; ph->params && i < ce_msg_count(ph->params); i++) {
		const struct ce_param *p = ce_msg_param(ph->params, i);
		ce_msg_set(m, p->name, p->value);
	}
	ce_sim_enqueue_cb(s, m, preroute_done, g_strdup(c->id));
	return 0;
}

/** Hang up the phone @label ("all": every phone), as if it put the receiver down. */
int ce_sim_hangup(struct sim *s, const char *label, const char *reason)
{
	struct sim_chan *c;

	if (!strcmp(label, "all")) {
		GList *l, *cs = g_hash_table_get_values(s->labels);
		for (l = cs; l; l = l->next)
			ce_sim_chan_bye(s, l->data, reason);
		g_list_free(cs);
		return 0;
	}
	c = ce_sim_chan_by_label(s, label);
	if (!c)
		return -ENOENT;
	ce_sim_chan_bye(s, c, reason);
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
	struct sim_chan *c = ce_sim_chan_by_label(j->s, j->label);
	char text[2] = {j->digits[j->pos], 0};
	const char *how;
	struct ce_msg *m;

	if (!c || !text[0])
		goto done;
	/* a forwarded phone's key goes past Yate, in its RTP; else Yate's RTP or SIP INFO tells */
	how = ce_sim_forward_key(c, text[0]);
	ce_sim_event(j->s, "dtmf", "\"who\":%s,\"chan\":%s,\"text\":%s,\"how\":%s",
	        ce_sim_json(j->label), ce_sim_json(c->id), ce_sim_json(text),
	        ce_sim_json(how ? how : "rfc2833"));
	if (!how || strcmp(how, "rfc4733")) {
		m = ce_sim_chan_message(c, "chan.dtmf", false);
		ce_msg_set(m, "text", text);
		ce_msg_set(m, "detected", how ? how : "rfc2833");
		ce_msg_setf(m, "sequence", "%u", ++c->dtmf_seq);
		ce_msg_set(m, "duplicate", "false");
		ce_sim_enqueue(j->s, m);
	}
	if (j->digits[++j->pos])
		return G_SOURCE_CONTINUE;
done:
	g_free(j->label);
	g_free(j->digits);
	g_free(j);
	return G_SOURCE_REMOVE;
}

/** Phone @label presses @digits, one chan.dtmf each, 200 ms apart. */
int ce_sim_send_dtmf(struct sim *s, const char *label, const char *digits)
{
	struct dtmf_job *j;

	if (!ce_sim_chan_by_label(s, label) || !*digits)
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
void ce_sim_callee_add(struct sim *s, struct sim_phone *ph)
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
		ce_sim_chan_set_status(c, "answered");
		ce_sim_set_state(s, c->phone->label, "answered");
		ce_sim_event(s, "answered", "\"who\":%s,\"chan\":%s", ce_sim_json(c->phone->label),
		        ce_sim_json(c->id));
		ce_sim_enqueue(s, ce_sim_chan_message(c, "call.answered", false));
		return G_SOURCE_REMOVE;
	}
	ce_msg_new(&p, NULL);
	ce_msg_set(p, "error", fail[c->phone->kind]);
	ce_msg_set(p, "reason", fail[c->phone->kind]);
	ce_sim_chan_drop(s, c, fail[c->phone->kind], p);
	ce_msg_unref(p);
	return G_SOURCE_REMOVE;
}

/*
 * The call's maxcall= ran out before anyone answered: Yate's
 * Channel::checkTimers() drops the ringing channel with "noanswer"
 * (msgDrop), its peer gets chan.disconnected reason=noanswer and no error=
 * (engine/Channel.cpp; maxcall reaches the SIP channel's setMaxcall()
 * through the call.execute that dumbchan.cpp routed, copied from the
 * dial-out's).
 */
static gboolean maxcall_cb(gpointer data)
{
	struct sim_chan *c = data;
	struct sim *s = c->phone->sim;

	c->timer = 0;
	ce_sim_event(s, "maxcall", "\"who\":%s,\"chan\":%s", ce_sim_json(c->phone->label),
	        ce_sim_json(c->id));
	ce_sim_chan_drop(s, c, "noanswer", NULL);
	return G_SOURCE_REMOVE;
}

/** A label for a new phone of @number: the number, or NUMBER#2, #3... while it is taken. */
char *ce_sim_phone_label(struct sim *s, const char *number)
{
	unsigned n;

	if (!ce_sim_chan_by_label(s, number))
		return g_strdup(number);
	for (n = 2;; n++) {
		char *l = g_strdup_printf("%s#%u", number, n);
		if (!ce_sim_chan_by_label(s, l))
			return l;
		g_free(l);
	}
}

/* call.execute callto=sip/NUMBER: ring the scenario's callee. */
/** call.execute handler of the sip driver at 90 (registered in drivers.c). */
enum ce_sim_res ce_sim_sip_execute(struct sim_disp *d, struct ce_msg *m, void *arg)
{
	struct sim *s = arg;
	const char *callto = ce_msg_get_def(m, "callto", "");
	struct sim_phone *tpl;
	struct sim_chan *from, *c;
	struct ce_msg *st;
	double delay;
	long maxcall;

	if (!g_str_has_prefix(callto, "sip/"))
		return SIM_CONTINUE;
	tpl = g_hash_table_lookup(s->callees, callto + 4);
	from = ce_sim_chan_find(s, ce_msg_get(m, "id"));
	if (!tpl || tpl->kind == SIM_CALLEE_OFFLINE || !from) {
		ce_msg_set(m, "error", "offline");
		ce_msg_set(m, "reason", "Offline");
		return SIM_CONTINUE;
	}
	c = ce_sim_chan_new(s, SIM_DRV_SIP, true);
	c->phone = ce_sim_phone_copy(tpl);
	c->phone->sim = s;
	g_free(c->phone->label);
	c->phone->label = ce_sim_phone_label(s, tpl->number);
	g_hash_table_replace(s->labels, g_strdup(c->phone->label), c);
	c->address = g_strdup("127.0.0.1:5062");
	c->called = g_strdup(callto + 4);
	st = ce_sim_chan_message(c, "chan.startup", false);
	ce_msg_set(st, "caller", ce_msg_get(m, "caller"));
	ce_msg_set(st, "called", callto + 4);
	ce_sim_enqueue(s, st);
	ce_sim_chan_connect(s, c, from);
	c->targetid = g_strdup(from->id);
	ce_msg_set(m, "peerid", c->id);
	ce_msg_set(m, "targetid", c->id);
	ce_sim_phone_start(s, c->phone);
	ce_sim_set_state(s, c->phone->label, "ringing");
	ce_sim_event(s, "ring", "\"who\":%s,\"chan\":%s,\"from\":%s", ce_sim_json(c->phone->label),
	        ce_sim_json(c->id), ce_sim_json(from->id));
	delay = c->phone->delay;
	if (c->phone->kind == SIM_CALLEE_NOANSWER && delay <= 0)
		delay = 30;
	if (delay > 0 && c->phone->kind != SIM_CALLEE_BUSY) {
		ce_sim_chan_set_status(c, "ringing");
		ce_sim_enqueue(s, ce_sim_chan_message(c, "call.ringing", false));
	}
	maxcall = ce_msg_get_int(m, "maxcall", 0, 0, G_MAXINT);
	if (maxcall > 0 && delay * 1000 > maxcall)
		c->timer = g_timeout_add((guint)maxcall, maxcall_cb, c);
	else
		c->timer = g_timeout_add((guint)(delay * 1000), callee_cb, c);
	return SIM_HANDLED;
}

/* ---- external scripts (extmodule) -------------------------------------- */

/** Register what external script @ph->label does when called (ownership taken). */
void ce_sim_script_add(struct sim *s, struct sim_phone *ph)
{
	g_hash_table_replace(s->scripts, g_strdup(ph->label), ph);
}

/*
 * call.execute callto=external/MODE/SCRIPT [ARGS] from a channel: Yate's
 * extmodule at 100 starts SCRIPT with a channel of its own (an ExtModChan,
 * which Yate names "ExtModule"), hands it the message, and when the script
 * answers true connects it to the caller.  Here the scenario's "external
 * SCRIPT" line is the script: a phone that plays into the call and records
 * what it hears, as a script that attached wave/ sources and consumers to
 * its channel would.  It never answers the call and sets no peerid.  An
 * undeclared script, or a bad MODE, fails as Yate's does (false, no error).
 */
enum ce_sim_res ce_sim_ext_execute(struct sim_disp *d, struct ce_msg *m, void *arg)
{
	static const char *const modes[] = {"nochan", "nodata", "play", "record", "playrec"};
	struct sim *s = arg;
	const char *callto = ce_msg_get_def(m, "callto", "");
	const char *mode, *script, *slash;
	struct sim_phone *tpl;
	struct sim_chan *from, *c;
	char *name, *sp;
	unsigned i;

	if (!g_str_has_prefix(callto, "external/"))
		return SIM_CONTINUE;
	mode = callto + strlen("external/");
	slash = strchr(mode, '/');
	for (i = 0; slash && i < G_N_ELEMENTS(modes); i++) {
		if ((size_t)(slash - mode) == strlen(modes[i]) &&
		        !strncmp(mode, modes[i], slash - mode))
			break;
	}
	from = ce_sim_disp_chan(d, m);
	if (!slash || i == G_N_ELEMENTS(modes) || !from)
		return SIM_CONTINUE;
	script = slash + 1;
	name = g_strdup(script);
	sp = strchr(name, ' ');
	if (sp)
		*sp = 0;
	tpl = g_hash_table_lookup(s->scripts, name);
	g_free(name);
	if (!tpl)
		return SIM_CONTINUE;
	c = ce_sim_chan_new(s, SIM_DRV_EXT, true);
	c->phone = ce_sim_phone_copy(tpl);
	c->phone->sim = s;
	g_free(c->phone->label);
	c->phone->label = ce_sim_phone_label(s, tpl->label);
	g_hash_table_replace(s->labels, g_strdup(c->phone->label), c);
	c->callto = g_strdup(callto);
	ce_sim_chan_unpeer(s, from, NULL);
	ce_sim_chan_connect(s, c, from);
	ce_sim_phone_start(s, c->phone);
	ce_sim_set_state(s, c->phone->label, "connected");
	ce_sim_event(s, "connected", "\"who\":%s,\"chan\":%s,\"peer\":%s",
	        ce_sim_json(c->phone->label), ce_sim_json(c->id), ce_sim_json(from->id));
	return SIM_HANDLED;
}
