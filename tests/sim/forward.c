/* forward.c - media bypass: a SIP caller's own RTP, which Yate forwards as ysipchan does */
/*
 * A caller offering forwarding (phone option forward=yes, or --forward) is
 * a SIP phone whose INVITE had SDP.  Before routing it opens its own RTP
 * endpoint (rtp.c), and its call.route, hence its call.execute (the same
 * message renamed), carries what Yate's SIP channel adds (transcript 4):
 *
 *   ip_host=127.0.0.1 ip_port=5060 ip_transport=UDP rtp_addr=127.0.0.1 media=yes
 *   formats=mulaw,alaw transport=RTP/AVP rtp_rfc2833=101 rtp_port=41234
 *   rtp_forward=possible
 *
 * Yate keeps forwarding only while every step agrees (ysipchan.cpp,
 * libs/ysdp/session.cpp):
 *   - callRouted: the route must leave rtp_forward true (regexroute's
 *     ";rtp_forward=yes", or a module's call.route handler); otherwise
 *     forwarding is off before call.execute, which still carries
 *     rtp_forward=possible (nothing removes it);
 *   - callAccept: call.execute must come back with rtp_forward=accepted;
 *   - msgAnswered (createPasstroughSDP): call.answered must carry a true
 *     rtp_forward, rtp_addr, rtp_port and formats: Yate answers the phone
 *     with those and sets rtp_forward=accepted in the message.
 * Off at any step, Yate's own RTP serves the phone: the endpoint closes and
 * the relayed path (chan.rtp) carries the phone's audio as for any caller.
 * On, the phone sends to rtp_addr:rtp_port in the first of the answer's
 * formats, its keys go in the stream as RFC 4733 events of payload type
 * rtp_rfc2833 (without one, as SIP INFO: chan.dtmf detected=sip-info), and
 * Yate has no RTP session for the call.
 *
 * With --forward-sdp (ysipchan.conf [general] forward_sdp=yes) the offer
 * also carries the phone's whole SDP as sdp_raw (CRLF lines), Opus first
 * for a phone with opus=yes (formats= never names Opus: Yate's SDP layer
 * has none); and an sdp_raw in call.answered is what the phone gets as
 * the 200 OK's body, word for word (createPasstroughSDP): the phone reads
 * its address, port and codec there, Opus included.  A route's or
 * call.execute's forward_sdp= turns that on or off for the call
 * (updateRtpForward), the offer's sdp_raw being there already.
 *
 * Events: "forward" with state offered, refused (by=route, execute or
 * answer) or on; "rebind" when a NAT moves a phone (nat=yes) to a new port.
 */
#define G_LOG_DOMAIN "sim"

#include <string.h>

#include "modules/conference/sdp.h"
#include "sim.h"

/* The phone's Opus payload type in its raw SDP (baresip's and browsers' usual one). */
#define OPUS_PT 111

/* Forwarding is off for @c (@by: the step that turned it off): Yate's RTP takes the call. */
static void refuse(struct sim *s, struct sim_chan *c, const char *by)
{
	struct sim_phone *ph = c->phone;

	c->rtp_forward = false;
	ce_sim_event(s, "forward", "\"who\":%s,\"chan\":%s,\"state\":\"refused\",\"by\":%s",
	        ce_sim_json(ph->label), ce_sim_json(c->id), ce_sim_json(by));
	g_clear_pointer(&ph->rtp, ce_sim_leg_free);
}

/* The phone's endpoint, behind its NAT when it has one; false (reported) when it cannot be. */
static bool open_endpoint(struct sim *s, struct sim_chan *c, unsigned *source)
{
	struct sim_phone *ph = c->phone;
	GError *err = NULL;

	if (ce_sim_leg_new(s, &ph->rtp, NULL, 0, ph->format, c, false, &err) < 0 ||
	        (ph->nat && ce_sim_leg_nat(ph->rtp, source, &err) < 0)) {
		ce_sim_fail(s, "rtp", "%s: %s", ph->label, err->message);
		g_error_free(err);
		g_clear_pointer(&ph->rtp, ce_sim_leg_free);
		return false;
	}
	*source = ce_sim_leg_source_port(ph->rtp);
	return true;
}

/*
 * The phone's SDP offer as ysipchan forwards it (sdp_raw), version @ver:
 * Opus first if it has it (and @opus), then the G.711 laws of @laws
 * ("mulaw,alaw", "alaw", ...) in that order, and the direction @dir.
 */
static char *raw_offer(const struct sim_phone *ph, const char *ip, unsigned port, unsigned ver,
        const char *laws, bool opus, const char *dir)
{
	GString *sdp = g_string_new(NULL);
	char **law = g_strsplit(laws, ",", -1);

	g_string_append_printf(sdp,
	        "v=0\r\no=- 1 %u IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
	        "m=audio %u RTP/AVP",
	        ver, ip, ip, port);
	if (ph->opus && opus)
		g_string_append_printf(sdp, " %d", OPUS_PT);
	for (char **l = law; *l; l++)
		g_string_append(sdp, !strcmp(*l, "alaw") ? " 8" : " 0");
	g_string_append(sdp, " 101\r\n");
	if (ph->opus && opus)
		g_string_append_printf(sdp,
		        "a=rtpmap:%d opus/48000/2\r\na=fmtp:%d useinbandfec=1\r\n", OPUS_PT,
		        OPUS_PT);
	for (char **l = law; *l; l++)
		g_string_append(sdp, !strcmp(*l, "alaw") ? "a=rtpmap:8 PCMA/8000\r\n"
		                                         : "a=rtpmap:0 PCMU/8000\r\n");
	g_string_append_printf(sdp,
	        "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"
	        "a=ptime:20\r\na=%s\r\n",
	        dir);
	g_strfreev(law);
	return g_string_free(sdp, FALSE);
}

/* The phone's own order of the two laws. */
static const char *phone_laws(const struct sim_phone *ph)
{
	return !g_strcmp0(ph->format, "alaw") ? "alaw,mulaw" : "mulaw,alaw";
}

/**
 * The caller behind incoming channel @c offers forwarding if its options
 * (or --forward) say so: open its endpoint and add the SDP's parameters
 * to its call.preroute @m.
 */
void ce_sim_forward_offer(struct sim *s, struct sim_chan *c, struct ce_msg *m)
{
	struct sim_phone *ph = c->phone;
	unsigned port, source;

	if (!(ph->forward < 0 ? s->forward : ph->forward) || !open_endpoint(s, c, &source))
		return;
	c->rtp_forward = true;
	c->sdp_forward = s->forward_sdp;
	port = ce_sim_leg_local_port(ph->rtp);
	ce_msg_set(m, "ip_host", "127.0.0.1");
	ce_msg_set(m, "ip_port", "5060");
	ce_msg_set(m, "ip_transport", "UDP");
	ce_msg_set(m, "rtp_addr", ce_sim_leg_local_ip(ph->rtp));
	ce_msg_set(m, "media", "yes");
	ce_msg_set(m, "formats", phone_laws(ph));
	ce_msg_set(m, "transport", "RTP/AVP");
	ce_msg_set(m, "rtp_rfc2833", "101");
	ce_msg_setf(m, "rtp_port", "%u", port);
	ce_msg_set(m, "rtp_forward", "possible");
	if (s->forward_sdp) {
		char *raw = raw_offer(
		        ph, ce_sim_leg_local_ip(ph->rtp), port, 1, phone_laws(ph), true, "sendrecv");

		ce_msg_set(m, "sdp_raw", raw);
		g_free(raw);
	}
	ce_sim_event(s, "forward",
	        "\"who\":%s,\"chan\":%s,\"state\":\"offered\",\"rtp_port\":%u,\"source_port\":%u",
	        ce_sim_json(ph->label), ce_sim_json(c->id), port, source);
}

/* updateRtpForward's forward_sdp=: a boolean sets it, any other word (its flags) turns it on. */
static void sdp_forward_of(struct sim_chan *c, const struct ce_msg *m)
{
	const char *v = ce_msg_get(m, "forward_sdp");

	if (v && *v)
		c->sdp_forward = ce_bool_word(v) != 0;
}

/** Yate's callRouted: forwarding goes on only if the route left rtp_forward true. */
void ce_sim_forward_routed(struct sim *s, struct sim_chan *c, const struct ce_msg *m)
{
	if (c->rtp_forward && !ce_msg_get_bool(m, "rtp_forward", false))
		refuse(s, c, "route");
	if (c->rtp_forward)
		sdp_forward_of(c, m);
}

/** Yate's callAccept: forwarding goes on only if call.execute said rtp_forward=accepted. */
void ce_sim_forward_accepted(struct sim *s, struct sim_chan *c, const struct ce_msg *m)
{
	if (c->rtp_forward && g_strcmp0(ce_msg_get(m, "rtp_forward"), "accepted"))
		refuse(s, c, "execute");
	if (c->rtp_forward)
		sdp_forward_of(c, m);
}

/*
 * Yate's SDPMedia::update: the formats a forwarded call's media keeps when
 * an answer says @answer after @had.  A single format not among @had is
 * ignored ("Not changing to 'alaw' from 'mulaw'"), a list keeps only those
 * of @had, and nothing left leaves @had.  A new string.
 */
static char *narrow(const char *had, const char *answer)
{
	char **want, **have;
	GString *out;

	if (!answer || !*answer || !had || !*had)
		return g_strdup(answer && *answer ? answer : had);
	if (!strchr(answer, ','))
		return g_strdup(strstr(had, answer) ? answer : had);
	want = g_strsplit(answer, ",", -1);
	have = g_strsplit(had, ",", -1);
	out = g_string_new(NULL);
	for (char **f = want; *f; f++) {
		if (g_strv_contains((const char *const *)have, *f))
			g_string_append_printf(out, "%s%s", out->len ? "," : "", *f);
	}
	if (!out->len)
		g_string_assign(out, had);
	g_strfreev(want);
	g_strfreev(have);
	return g_string_free(out, FALSE);
}

/* The first of a formats list, in @buf. */
static const char *first_of(const char *formats, char *buf, size_t size)
{
	g_strlcpy(buf, formats, MIN(size, strcspn(formats, ",") + 1));
	return buf;
}

/*
 * The phone reads the raw SDP answer @raw as a SIP phone reads a 200 OK's
 * body and sends the first payload type it has of what it offered; an
 * Opus call stays Opus (a new address or port only).  0, or -EINVAL
 * (@why says what) when it cannot.
 */
static int apply_raw(struct sim_chan *c, const char *raw, const char **why)
{
	struct sim_phone *ph = c->phone;
	const struct ce_sdp_fmt *f, *te;
	struct ce_sdp_offer a;
	bool opus, was_opus = !g_strcmp0(c->fwd_formats, "opus");
	int dtmf, err;

	if (ce_sdp_parse(raw, &a, why) || !*a.addr || !a.port) {
		*why = *why ? *why : "no address or port";
		return -EINVAL;
	}
	f = &a.fmts[0];
	te = ce_sdp_find(&a, "telephone-event", 8000);
	dtmf = te ? te->pt : -1;
	opus = f->pt == OPUS_PT && ph->opus && !g_ascii_strcasecmp(f->name, "opus");
	if (opus && was_opus) {
		ce_sim_leg_set_remote(ph->rtp, a.addr, a.port);
		err = 0;
	} else if (opus && !c->fwd_formats) {
		err = ce_sim_leg_answer_opus(ph->rtp, a.addr, a.port, f->pt, dtmf);
	} else if ((f->pt == 0 || f->pt == 8) && !was_opus) {
		ce_sim_leg_answer(ph->rtp, a.addr, a.port, f->pt == 8, dtmf);
		err = 0;
	} else {
		err = -EINVAL;
	}
	if (err) {
		*why = "a payload type it did not offer, or a change between Opus and G.711";
		return -EINVAL;
	}
	g_free(c->fwd_formats);
	c->fwd_formats = g_strdup(opus ? "opus" : f->pt ? "alaw" : "mulaw");
	return 0;
}

/*
 * The answer in @m's rtp_addr, rtp_port, formats (narrowed as Yate's media
 * keeps them: @had, the formats before) and rtp_rfc2833: the phone sends
 * there in the first format.  0, or -EINVAL (@why) when it cannot.
 */
static int apply_formats(struct sim_chan *c, const struct ce_msg *m, const char *had,
        const char **why)
{
	struct sim_phone *ph = c->phone;
	const char *addr = ce_msg_get(m, "rtp_addr");
	unsigned port = (unsigned)ce_msg_get_int(m, "rtp_port", 0, 0, 65535);
	int dtmf_pt = (int)ce_msg_get_int(m, "rtp_rfc2833", -1, -1, 127);
	char *kept = narrow(had, ce_msg_get(m, "formats")), first[16];

	first_of(kept, first, sizeof(first));
	if (!addr || !*addr || !port || (strcmp(first, "mulaw") && strcmp(first, "alaw"))) {
		*why = !addr || !*addr || !port ? "no address or port" : "a format it did not offer";
		g_free(kept);
		return -EINVAL;
	}
	ce_sim_leg_answer(ph->rtp, addr, port, !strcmp(first, "alaw"), dtmf_pt < 96 ? -1 : dtmf_pt);
	g_free(c->fwd_formats);
	c->fwd_formats = kept;
	return 0;
}

/**
 * Yate's msgAnswered for a forwarding caller @c: with a true rtp_forward,
 * rtp_addr, rtp_port and formats in call.answered @m, the phone sends
 * there (and @m says rtp_forward=accepted); without them Yate's RTP
 * takes the call.  With --forward-sdp, an sdp_raw in @m is the answer.
 */
void ce_sim_forward_answered(struct sim *s, struct sim_chan *c, struct ce_msg *m)
{
	struct sim_phone *ph = c->phone;
	const char *raw = c->sdp_forward ? ce_msg_get(m, "sdp_raw") : NULL;
	const char *why = NULL;
	char first[16], remote[32];
	int err;

	if (!c->rtp_forward || !ph || !ph->rtp)
		return;
	if (!ce_msg_get_bool(m, "rtp_forward", false) ||
	        (!(raw && *raw) && (!ce_msg_get(m, "rtp_addr") || !ce_msg_get(m, "rtp_port") ||
	                                   !ce_msg_get(m, "formats")))) {
		ce_msg_remove(m, "rtp_forward"); /* createPasstroughSDP clears it */
		refuse(s, c, "answer");
		return;
	}
	err = raw && *raw ? apply_raw(c, raw, &why) : apply_formats(c, m, phone_laws(ph), &why);
	if (err) {
		ce_sim_fail(s, "forward", "%s: answered with %s", ph->label, why);
		ce_msg_remove(m, "rtp_forward");
		refuse(s, c, "answer");
		return;
	}
	ce_msg_set(m, "rtp_forward", "accepted");
	ce_sim_event(s, "forward",
	        "\"who\":%s,\"chan\":%s,\"state\":\"on\",\"remote\":%s,\"format\":%s,"
	        "\"dtmf_pt\":%d,\"source_port\":%u",
	        ce_sim_json(ph->label), ce_sim_json(c->id), ce_sim_json(ce_sim_leg_remote(ph->rtp, remote, sizeof(remote))),
	        ce_sim_json(first_of(c->fwd_formats, first, sizeof(first))),
	        ce_sim_leg_dtmf_pt(ph->rtp), ce_sim_leg_source_port(ph->rtp));
}

/**
 * How the forwarding caller @c sends @key: "rfc4733" when it went into
 * its RTP, "sip-info" when the answer had no telephone-event (Yate makes
 * a chan.dtmf of it), or NULL: the phone is not forwarded and Yate's RTP
 * detects the key.
 */
const char *ce_sim_forward_key(struct sim_chan *c, char key)
{
	struct sim_phone *ph = c->phone;

	if (!c->rtp_forward || !ph || !ph->rtp)
		return NULL;
	return ce_sim_leg_send_key(ph->rtp, key) == 0 ? "rfc4733" : "sip-info";
}

/** The NAT in front of phone @label gives it a new port: 0, -ENOENT, -EINVAL, or -errno. */
int ce_sim_rebind(struct sim *s, const char *label)
{
	struct sim_chan *c = ce_sim_chan_by_label(s, label);
	struct sim_phone *ph = c ? c->phone : NULL;
	GError *err = NULL;
	unsigned from, to;
	int ret;

	if (!ph)
		return -ENOENT;
	if (!ph->rtp || !ph->nat)
		return -EINVAL;
	from = ce_sim_leg_source_port(ph->rtp);
	ret = ce_sim_leg_nat(ph->rtp, &to, &err);
	if (ret < 0) {
		ce_sim_fail(s, "rtp", "%s: %s", label, err->message);
		g_error_free(err);
		return ret;
	}
	ce_sim_event(s, "rebind", "\"who\":%s,\"chan\":%s,\"from\":%u,\"to\":%u",
	        ce_sim_json(label), ce_sim_json(c->id), from, to);
	return 0;
}

/* ---- re-INVITEs ---------------------------------------------------------- */

/*
 * A forwarded phone's re-INVITE (step "reinvite LABEL hold|resume|alaw|
 * mulaw"), as ysipchan's reInviteForward passes it to the peer: a
 * call.update operation=request on the phone's sip/N with the new offer
 * (rtp_forward=yes, rtp_addr, the media's formats, rtp_port, rtp_rfc2833,
 * its a= attributes as sdp_ATTR, and sdp_raw when forwarding SDP):
 *
 *   call.update id=sip/3 peerid=dumb/7 operation=request rtp_forward=yes
 *     rtp_addr=127.0.0.1 media=yes formats=alaw transport=RTP/AVP
 *     rtp_rfc2833=101 rtp_port=41234 sdp_sendrecv=
 *
 * Unhandled (or a retval "error" or "-"), the phone gets the code in
 * error= (488 by default) and the call goes on as it was.  Handled, the
 * re-INVITE waits for the peer's call.update operation=notify, whose
 * answer is the 200 OK's body (createPasstroughSDP, the formats narrowed as
 * Yate's media keeps them), or operation=reject.  A notify that comes
 * while the request is still being dispatched (ysipchan has not set
 * m_tr2 yet) or with no re-INVITE at all gets error=nocall, as Yate's.
 * Events: "reinvite" with state offered, refused (code), answered
 * (format, remote), rejected or failed (why).
 */

static void reinvite_done(struct sim *s, struct ce_msg *m, bool handled, void *arg)
{
	char *id = arg;
	struct sim_chan *c = ce_sim_chan_find(s, id);
	const char *ret = m->retval;

	g_free(id);
	if (!c || !c->phone || c->reinvite != SIM_REINVITE_ASKING)
		return;
	if (handled && g_strcmp0(ret, "error") && g_strcmp0(ret, "-")) {
		c->reinvite = SIM_REINVITE_WAITING;
		return;
	}
	c->reinvite = SIM_REINVITE_NONE; /* the offer is not taken: nothing changes */
	ce_sim_event(s, "reinvite", "\"who\":%s,\"chan\":%s,\"state\":\"refused\",\"code\":%s",
	        ce_sim_json(c->phone->label), ce_sim_json(c->id),
	        ce_sim_json(ce_msg_get_def(m, "error", "488")));
}

/**
 * The forwarded phone @label sends a re-INVITE: @what is "hold"
 * (a=sendonly), "resume" (a=sendrecv), or a law it offers alone ("alaw",
 * "mulaw").  0, -ENOENT (no such phone in a call), -EINVAL (not a
 * forwarded call, or @what unknown), -EBUSY (one is under way).
 */
int ce_sim_reinvite(struct sim *s, const char *label, const char *what)
{
	struct sim_chan *c = ce_sim_chan_by_label(s, label);
	struct sim_phone *ph = c ? c->phone : NULL;
	bool law = !strcmp(what, "alaw") || !strcmp(what, "mulaw");
	bool hold = !strcmp(what, "hold");
	const char *laws, *dir, *ip;
	struct ce_msg *m;
	unsigned port;

	if (!ph)
		return -ENOENT;
	if (!c->rtp_forward || !ph->rtp || !c->fwd_formats ||
	        !(law || hold || !strcmp(what, "resume")))
		return -EINVAL;
	if (c->reinvite != SIM_REINVITE_NONE)
		return -EBUSY;
	laws = law ? what : phone_laws(ph);
	dir = hold ? "sendonly" : "sendrecv";
	ip = ce_sim_leg_local_ip(ph->rtp);
	port = ce_sim_leg_local_port(ph->rtp);
	m = ce_sim_chan_message(c, "call.update", false);
	ce_msg_set(m, "operation", "request");
	ce_msg_set(m, "rtp_forward", "yes");
	ce_msg_set(m, "rtp_addr", ip);
	ce_msg_set(m, "media", "yes");
	ce_msg_set(m, "formats", laws);
	ce_msg_set(m, "transport", "RTP/AVP");
	ce_msg_set(m, "rtp_rfc2833", "101");
	ce_msg_setf(m, "rtp_port", "%u", port);
	ce_msg_set(m, hold ? "sdp_sendonly" : "sdp_sendrecv", "");
	if (c->sdp_forward) {
		char *raw = raw_offer(ph, ip, port, ++c->sdp_ver + 1, laws, !law, dir);

		ce_msg_set(m, "sdp_raw", raw);
		g_free(raw);
	}
	c->reinvite_hold = law ? -1 : hold;
	c->reinvite = SIM_REINVITE_ASKING;
	ce_sim_event(s, "reinvite", "\"who\":%s,\"chan\":%s,\"state\":\"offered\",\"offer\":%s",
	        ce_sim_json(label), ce_sim_json(c->id), ce_sim_json(what));
	ce_sim_dispatch(s, m, NULL, reinvite_done, g_strdup(c->id));
	ce_msg_unref(m);
	return 0;
}

/*
 * The re-INVITE's 200 OK carries the answer in notify @m: the phone takes
 * it; false when it cannot be used (ysipchan answers the phone 500).
 */
static bool reinvite_answered(struct sim *s, struct sim_chan *c, const struct ce_msg *m)
{
	struct sim_phone *ph = c->phone;
	const char *raw = c->sdp_forward ? ce_msg_get(m, "sdp_raw") : NULL;
	const char *why = NULL;
	char *had = g_strdup(c->fwd_formats), first[16], remote[32];
	int err = raw && *raw ? apply_raw(c, raw, &why) : apply_formats(c, m, had, &why);

	if (!err && c->reinvite_hold >= 0)
		c->held = c->reinvite_hold;
	if (err)
		ce_sim_fail(s, "forward", "%s: a re-INVITE answered with %s", ph->label, why);
	else
		ce_sim_event(s, "reinvite",
		        "\"who\":%s,\"chan\":%s,\"state\":\"answered\",\"format\":%s,"
		        "\"formats\":%s,\"remote\":%s,\"held\":%s",
		        ce_sim_json(ph->label), ce_sim_json(c->id),
		        ce_sim_json(first_of(c->fwd_formats, first, sizeof(first))),
		        ce_sim_json(c->fwd_formats),
		        ce_sim_json(ce_sim_leg_remote(ph->rtp, remote, sizeof(remote))),
		        c->held ? "true" : "false");
	g_free(had);
	return !err;
}

/**
 * call.update at the SIP driver (Yate's Driver relay at 100: the channel
 * in peerid, else in targetid): a forwarded phone's re-INVITE takes the
 * peer's notify or reject once its request was answered, and nothing
 * else (error=nocall, the message goes on).
 */
enum ce_sim_res ce_sim_sip_update(struct sim_disp *d, struct ce_msg *m, void *arg)
{
	struct sim *s = arg;
	const char *id = ce_msg_get(m, "peerid"), *op = ce_msg_get_def(m, "operation", "");
	struct sim_chan *c;

	(void)d;
	if (!id || !g_str_has_prefix(id, "sip/"))
		id = ce_msg_get(m, "targetid");
	c = id && g_str_has_prefix(id, "sip/") ? ce_sim_chan_find(s, id) : NULL;
	if (!c || !c->phone || (strcmp(op, "notify") && strcmp(op, "reject")))
		return SIM_CONTINUE;
	if (c->reinvite != SIM_REINVITE_WAITING) {
		ce_msg_set(m, "error", "nocall");
		return SIM_CONTINUE;
	}
	c->reinvite = SIM_REINVITE_NONE;
	if (!strcmp(op, "reject")) {
		ce_sim_event(s, "reinvite",
		        "\"who\":%s,\"chan\":%s,\"state\":\"rejected\",\"code\":%s",
		        ce_sim_json(c->phone->label), ce_sim_json(c->id),
		        ce_sim_json(ce_msg_get_def(m, "error", "488")));
		return SIM_HANDLED;
	}
	return reinvite_answered(s, c, m) ? SIM_HANDLED : SIM_CONTINUE;
}
