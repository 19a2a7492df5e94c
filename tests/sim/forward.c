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

/* The phone's SDP offer as ysipchan forwards it (sdp_raw): Opus first if it has it. */
static char *raw_offer(const struct sim_phone *ph, const char *ip, unsigned port, bool alaw)
{
	GString *sdp = g_string_new(NULL);

	g_string_append_printf(sdp,
	        "v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
	        "m=audio %u RTP/AVP ",
	        ip, ip, port);
	if (ph->opus)
		g_string_append_printf(sdp, "%d ", OPUS_PT);
	g_string_append(sdp, alaw ? "8 0 101\r\n" : "0 8 101\r\n");
	if (ph->opus)
		g_string_append_printf(sdp,
		        "a=rtpmap:%d opus/48000/2\r\na=fmtp:%d useinbandfec=1\r\n", OPUS_PT,
		        OPUS_PT);
	g_string_append(sdp, "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
	                     "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"
	                     "a=ptime:20\r\na=sendrecv\r\n");
	return g_string_free(sdp, FALSE);
}

/**
 * The caller behind incoming channel @c offers forwarding if its options
 * (or --forward) say so: open its endpoint and add the SDP's parameters
 * to its call.preroute @m.
 */
void ce_sim_forward_offer(struct sim *s, struct sim_chan *c, struct ce_msg *m)
{
	struct sim_phone *ph = c->phone;
	bool alaw = !g_strcmp0(ph->format, "alaw");
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
	ce_msg_set(m, "formats", alaw ? "alaw,mulaw" : "mulaw,alaw");
	ce_msg_set(m, "transport", "RTP/AVP");
	ce_msg_set(m, "rtp_rfc2833", "101");
	ce_msg_setf(m, "rtp_port", "%u", port);
	ce_msg_set(m, "rtp_forward", "possible");
	if (s->forward_sdp) {
		char *raw = raw_offer(ph, ce_sim_leg_local_ip(ph->rtp), port, alaw);

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
 * The first of @formats if the phone offered it (mulaw or alaw): 1 A-law,
 * 0 mu-law, -1 anything else.
 */
static int answer_format(const char *formats, char **first)
{
	size_t n = strcspn(formats, ",");

	*first = g_strndup(formats, n);
	if (!strcmp(*first, "alaw"))
		return 1;
	return strcmp(*first, "mulaw") ? -1 : 0;
}

/* The phone starts sending as the answer said; the "on" event. */
static void forward_on(struct sim *s, struct sim_chan *c, struct ce_msg *m, const char *addr,
        unsigned port, const char *format, int dtmf_pt)
{
	struct sim_phone *ph = c->phone;

	ce_msg_set(m, "rtp_forward", "accepted");
	ce_sim_event(s, "forward",
	        "\"who\":%s,\"chan\":%s,\"state\":\"on\",\"remote\":\"%s:%u\",\"format\":%s,"
	        "\"dtmf_pt\":%d,\"source_port\":%u",
	        ce_sim_json(ph->label), ce_sim_json(c->id), addr, port, ce_sim_json(format),
	        dtmf_pt, ce_sim_leg_source_port(ph->rtp));
}

/*
 * The answer is the raw SDP @raw (forward_sdp): the phone reads it as a
 * SIP phone reads a 200 OK's body, and sends the first payload type it
 * has of what it offered.
 */
static void answered_raw(struct sim *s, struct sim_chan *c, struct ce_msg *m, const char *raw)
{
	struct sim_phone *ph = c->phone;
	const struct ce_sdp_fmt *f, *te;
	struct ce_sdp_offer a;
	const char *why = NULL;
	int err = 0;

	if (ce_sdp_parse(raw, &a, &why) || !*a.addr || !a.port) {
		ce_sim_fail(s, "forward", "%s: answered with an SDP it cannot use: %s", ph->label,
		        why ? why : "no address or port");
		ce_msg_remove(m, "rtp_forward");
		refuse(s, c, "answer");
		return;
	}
	f = &a.fmts[0];
	te = ce_sdp_find(&a, "telephone-event", 8000);
	if (f->pt == OPUS_PT && ph->opus && !g_ascii_strcasecmp(f->name, "opus"))
		err = ce_sim_leg_answer_opus(ph->rtp, a.addr, a.port, f->pt, te ? te->pt : -1);
	else if (f->pt == 0 || f->pt == 8)
		ce_sim_leg_answer(ph->rtp, a.addr, a.port, f->pt == 8, te ? te->pt : -1);
	else
		err = -ENOTSUP;
	if (err) {
		ce_sim_fail(s, "forward",
		        "%s: answered payload type %d (%s), which it did not offer", ph->label,
		        f->pt, f->name);
		ce_msg_remove(m, "rtp_forward");
		refuse(s, c, "answer");
		return;
	}
	forward_on(s, c, m, a.addr, a.port,
	        f->pt == OPUS_PT ? "opus"
	        : f->pt          ? "alaw"
	                         : "mulaw",
	        te ? te->pt : -1);
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
	const char *addr = ce_msg_get(m, "rtp_addr"), *formats = ce_msg_get(m, "formats");
	const char *raw = c->sdp_forward ? ce_msg_get(m, "sdp_raw") : NULL;
	unsigned port = (unsigned)ce_msg_get_int(m, "rtp_port", 0, 0, 65535);
	int dtmf_pt = (int)ce_msg_get_int(m, "rtp_rfc2833", -1, -1, 127), alaw;
	char *first = NULL;

	if (!c->rtp_forward || !ph || !ph->rtp)
		return;
	if (raw && *raw && ce_msg_get_bool(m, "rtp_forward", false)) {
		answered_raw(s, c, m, raw);
		return;
	}
	if (!ce_msg_get_bool(m, "rtp_forward", false) || !addr || !*addr || !port || !formats) {
		ce_msg_remove(m, "rtp_forward"); /* createPasstroughSDP clears it */
		refuse(s, c, "answer");
		return;
	}
	alaw = answer_format(formats, &first);
	if (alaw < 0) {
		ce_sim_fail(s, "forward", "%s: answered with format %s, which it did not offer",
		        ph->label, first);
		ce_msg_remove(m, "rtp_forward");
		refuse(s, c, "answer");
		g_free(first);
		return;
	}
	if (dtmf_pt < 96)
		dtmf_pt = -1;
	ce_sim_leg_answer(ph->rtp, addr, port, alaw, dtmf_pt);
	forward_on(s, c, m, addr, port, first, dtmf_pt);
	g_free(first);
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
