/* bypass.c - media bypass: a SIP phone's RTP straight to the engine, Yate only signalling
 *
 * DESIGN.md §2 and transcript 4 (real Yate 6.4.1).  A SIP call whose
 * route says rtp_forward=yes reaches call.execute with the phone's RTP end
 * (rtp_addr, rtp_port, formats, rtp_rfc2833).  Answering it with
 * rtp_forward=accepted (besides callto=dumb/) tells ysipchan to leave the
 * RTP to us; the call.answered we masquerade on dumb/N then carries our end,
 * which ysipchan puts in its 200 OK (createPasstroughSDP).  No chan.rtp:
 * Yate relays nothing for such a call.
 *
 * Later offers of the phone (a re-INVITE: hold, resume, a new port) come
 * as call.update operation=request on its sip/N with peerid=dumb/N; we take
 * it, and answer with call.update operation=notify carrying our end again,
 * which ysipchan sends as the 200 OK of the re-INVITE (msgUpdate).
 *
 * Opus (docs/bypass.md, "Opus"): Yate 6.4.1 names no Opus in formats=.
 * With forward_sdp=yes in ysipchan.conf [general], call.execute and
 * call.update also carry the phone's whole offer as sdp_raw, and an
 * sdp_raw in our call.answered or call.update becomes the SIP answer's
 * body as it is (SDPSession::createPasstroughSDP).  When the offer has
 * opus/48000/2 and codecs= puts opus before what formats= would give,
 * we answer Opus that way, on the phone's own payload type:
 *
 *   E: call.execute ... rtp_forward=yes formats=g722/16000,mulaw
 *        sdp_raw=v=0 ... m=audio 17996 RTP/AVP 111 9 0 101 ... (CRLF lines)
 *   A: chan.masquerade id=dumb/3 message=call.answered rtp_forward=yes
 *        sdp_raw=v=0 ... m=audio 40000 RTP/AVP 111 101
 *        a=fmtp:111 maxplaybackrate=16000;sprop-maxcapturerate=16000;useinbandfec=1 ...
 */
#define G_LOG_DOMAIN "conference"
#include <string.h>

#include "bus.h"
#include "leg.h"
#include "lobby.h"
#include "media-glue.h"
#include "media/opus.h"
#include "message.h"
#include "room.h"
#include "sdp.h"

/* Whether @formats (a comma list of Yate's format names) has @codec. */
static bool offers(const char *formats, enum ce_codec codec)
{
	gchar **f = g_strsplit(formats ? formats : "", ",", 0);
	bool has = false;

	for (gchar **i = f; *i && !has; i++) {
		enum ce_codec c;

		has = ce_codec_from_name(*i, &c) == 0 && c == codec;
	}
	g_strfreev(f);
	return has;
}

static bool is_law(enum ce_codec codec)
{
	return codec == CE_CODEC_PCMU || codec == CE_CODEC_PCMA;
}

/*
 * Our answer's formats to a phone whose offer has @offered: of the
 * configured codecs (codecs=, best first), those it offered that are also
 * in @allowed (NULL: any) and that @leg's room can use (G.722 in a
 * wideband room only: in a narrowband one it would cost more and sound
 * the same), or NULL if none; *@first is the first of them.  ysipchan keeps,
 * for the rest of a forwarded call, the formats of our first answer, and
 * later answers may only narrow them (SDPMedia::update refuses "Not
 * changing to 'alaw' from 'mulaw'"): so when the first is a G.711 law the
 * answer lists the other law too if offered, and the phone may send
 * either (the media side takes both).  G.722 is answered alone: a leg
 * decodes one wideband stream.
 */
static char *answer_formats(
        const struct ce_leg *leg, const char *offered, const char *allowed, enum ce_codec *first)
{
	const struct ce_conf_settings *set = &leg->conf->set;
	bool wide = ce_room_wideband(leg->room);
	GString *s = g_string_new(NULL);

	*first = CE_CODEC_COUNT;
	for (unsigned i = 0; i < set->n_codecs; i++) {
		enum ce_codec c = set->codecs[i];

		if (!offers(offered, c) || (allowed && !offers(allowed, c)) ||
		        (ce_codec_rate(c) > 8000 && !wide))
			continue;
		if (*first == CE_CODEC_COUNT)
			*first = c;
		else if (!is_law(*first) || !is_law(c))
			continue;
		g_string_append_printf(s, "%s%s", s->len ? "," : "", ce_codec_name(c));
	}
	if (!s->len) {
		g_string_free(s, TRUE);
		return NULL;
	}
	return g_string_free(s, FALSE);
}

/* Whether codecs= puts Opus before @first (CE_CODEC_COUNT: nothing else to answer). */
static bool opus_before(const struct ce_conf_settings *set, enum ce_codec first)
{
	for (unsigned i = 0; i < set->n_codecs; i++) {
		if (set->codecs[i] == CE_CODEC_OPUS)
			return true;
		if (set->codecs[i] == first)
			return false;
	}
	return false;
}

/* The offer's telephone-event, at 8000 if it has one there (RFC 4733's usual clock). */
static const struct ce_sdp_fmt *telephone_event(const struct ce_sdp_offer *o)
{
	const struct ce_sdp_fmt *te = ce_sdp_find(o, "telephone-event", 8000);

	return te ? te : ce_sdp_find(o, "telephone-event", 0);
}

/*
 * Whether the phone's raw offer @raw (sdp_raw) is answered Opus: it reads,
 * is plain RTP with an address and a port, has opus/48000/2, and codecs=
 * puts opus before @first, what formats= gives.  Read into @o; *@opus is
 * its Opus.  Says why not where an operator would ask.
 */
static bool takes_opus(const struct ce_leg *leg, const char *chan, const char *raw,
        enum ce_codec first, struct ce_sdp_offer *o, const struct ce_sdp_fmt **opus)
{
	const char *why;

	if (!opus_before(&leg->conf->set, first))
		return false;
	if (ce_sdp_parse(raw, o, &why)) {
		g_message("%s: the phone's raw SDP (sdp_raw) is unreadable (%s): answered from "
		          "formats=",
		        chan, why);
		return false;
	}
	*opus = ce_sdp_find(o, "opus", CE_OPUS_RTP_CLOCK);
	if (!*opus) {
		g_debug("%s: the phone offers no Opus", chan);
		return false;
	}
	if (strcmp(o->proto, "RTP/AVP") || !o->port || !*o->addr || (*opus)->pt < 96) {
		g_message("%s: the phone's Opus is not plain RTP to an address and port (%s %u %s, "
		          "payload type %d): answered from formats=",
		        chan, o->proto, o->port, *o->addr ? o->addr : "on hold", (*opus)->pt);
		return false;
	}
	return true;
}

/*
 * Said once: codecs= would answer Opus first, but bypassed calls come
 * without the phone's raw SDP, so Opus phones are answered from formats=.
 */
static void note_no_raw(struct ce_conf *conf, const char *chan, enum ce_codec first)
{
	if (conf->noted_no_raw || !opus_before(&conf->set, first))
		return;
	conf->noted_no_raw = true;
	g_message("bypassed calls come without the phone's raw SDP (%s): Opus phones are answered "
	          "%s; forward_sdp=yes in ysipchan.conf [general] lets them be answered Opus "
	          "(docs/bypass.md, \"Opus\"). Said once.",
	        chan, ce_codec_name(first));
}

/*
 * Make @leg's phone an Opus one from its raw offer @o: its address (Yate's
 * rtp_addr @addr, which accounts for a NAT, else the offer's), the
 * offer's port, payload type and FEC wish, its telephone-event.
 */
static void set_opus_phone(struct ce_leg *leg, const struct ce_sdp_offer *o,
        const struct ce_sdp_fmt *opus, const char *addr, const char *sig_ip)
{
	const struct ce_sdp_fmt *te = telephone_event(o);
	struct ce_opus_fmtp fp;
	struct ce_leg_phone *ph;

	ce_leg_set_phone(leg, addr && *addr ? addr : o->addr, o->port, CE_CODEC_OPUS,
	        g_strdup(ce_codec_name(CE_CODEC_OPUS)), te ? te->pt : -1, sig_ip);
	ph = leg->phone;
	ph->pt = opus->pt;
	ph->fec = !ce_opus_fmtp_parse(opus->fmtp, &fp, NULL) && fp.useinbandfec;
	ph->dtmf_rate = te && ph->dtmf_pt >= 0 ? te->rate : 0;
	ph->dir = o->dir;
	ph->on_hold = o->dir == CE_SDP_SENDONLY || o->dir == CE_SDP_INACTIVE;
	ph->sdp_sess = (unsigned long)g_get_real_time(); /* unique enough per call (RFC 4566 5.2) */
	ph->sdp_ver = 1;
}

/**
 * Take the phone's RTP straight to us (media bypass, DESIGN.md §2) if
 * @exec, the call.execute that offers @leg, lets us: bypass on (config
 * and the call's bypass=), the route said rtp_forward=yes, the phone
 * offered plain RTP with G.711 on an address and port, and the leg cannot
 * be moved to another media thread later (a lobby caller with several: a
 * phone cannot be re-pointed the way Yate's RTP can).  True: the answer
 * must say rtp_forward=accepted, and the leg keeps what it needs.
 */
bool ce_leg_offer_direct(struct ce_leg *leg, const struct ce_msg *exec)
{
	struct ce_conf *conf = leg->conf;
	const char *fwd = ce_msg_get(exec, "rtp_forward");
	const char *addr = ce_msg_get(exec, "rtp_addr");
	unsigned port = ce_msg_get_int(exec, "rtp_port", 0, 0, 65535);
	int dtmf = ce_msg_get_int(exec, "rtp_rfc2833", -1, -1, 127);
	const char *raw = ce_msg_get(exec, "sdp_raw");
	const char *chan = ce_msg_get_def(exec, "id", "?");
	const struct ce_sdp_fmt *opus = NULL;
	struct ce_sdp_offer o;
	enum ce_codec first;
	char *laws;

	if (!fwd || !conf->set.bypass || !ce_msg_get_bool(exec, "bypass", true))
		return false;
	if (!strcmp(fwd, "possible")) {
		/* ysipchan turned forwarding off because the route did not say yes */
		if (!conf->warned_fwd_refused)
			g_warning(
			        "calls come routed without rtp_forward=yes (%s): Yate relays their "
			        "audio; add ;rtp_forward=yes to the routes (docs/bypass.md). "
			        "Said once.",
			        ce_msg_get_def(exec, "id", "?"));
		conf->warned_fwd_refused = true;
		return false;
	}
	if (!ce_msg_get_bool(exec, "rtp_forward", false) || !ce_msg_get_bool(exec, "media", true) ||
	        strcmp(ce_msg_get_def(exec, "transport", "RTP/AVP"), "RTP/AVP"))
		return false;
	if (leg->lobby && conf->set.media_threads > 1)
		return false;
	/* the codecs it offered, ours first */
	laws = answer_formats(leg, ce_msg_get(exec, "formats"), NULL, &first);
	/*
	 * its raw offer may have Opus, which formats= never names (an offer
	 * with only Opus comes with sdp_raw alone: no rtp_addr, no formats=)
	 */
	if (!raw) {
		if (laws)
			note_no_raw(conf, chan, first);
	} else if (ce_msg_get_bool(exec, "forward_sdp", true) &&
	           takes_opus(leg, chan, raw, first, &o, &opus)) {
		/* (not with a route's forward_sdp=no: ysipchan reads no sdp_raw of ours) */
		g_free(laws);
		set_opus_phone(leg, &o, opus, addr, ce_msg_get(exec, "ip_host"));
		g_info("%s: answered Opus (payload type %d%s) through its raw SDP: codecs= puts it "
		       "before %s",
		        chan, opus->pt, leg->phone->fec ? ", in-band FEC" : "",
		        first == CE_CODEC_COUNT ? "all else offered" : ce_codec_name(first));
		return true;
	}
	/* none we take, or nowhere to send: no bypass */
	if (!laws || !addr || !*addr || !port) {
		g_free(laws);
		return false;
	}
	g_info("%s: answered %s, the first of codecs= that formats= (%s) has", chan,
	        ce_codec_name(first), ce_msg_get_def(exec, "formats", ""));
	ce_leg_set_phone(leg, addr, port, first, laws, dtmf, ce_msg_get(exec, "ip_host"));
	return true;
}

/**
 * A call that Yate relays (no bypass): in a wideband room, when the phone
 * offered G.722 and codecs= has it, Yate is asked for G.722 in chan.rtp,
 * so that a G.722 phone is heard wideband through Yate too (Yate passes
 * it through, or converts with its codec); else G.711 (format=).
 */
void ce_leg_offer_relayed(struct ce_leg *leg, const struct ce_msg *exec)
{
	const struct ce_conf_settings *set = &leg->conf->set;
	bool listed = false;

	for (unsigned i = 0; i < set->n_codecs; i++)
		listed |= set->codecs[i] == CE_CODEC_G722;
	leg->wide_relay = listed && ce_room_wideband(leg->room) &&
	                  offers(ce_msg_get(exec, "formats"), CE_CODEC_G722);
}

/**
 * Make @leg a bypassed one (offered, or resumed from the journal): its
 * phone at @addr:@port, sent @codec, our answer's laws @formats (taken
 * over), its telephone-event payload type @dtmf (RFC 4733 allows only the
 * dynamic ones, 96..127; anything else is none) and @sig_ip, where its
 * SIP comes from (or NULL).
 */
void ce_leg_set_phone(struct ce_leg *leg, const char *addr, unsigned port, enum ce_codec codec,
        char *formats, int dtmf, const char *sig_ip)
{
	struct ce_leg_phone *ph = g_new0(struct ce_leg_phone, 1);

	ph->addr = g_strdup(addr);
	ph->port = port;
	ph->codec = codec;
	ph->formats = formats;
	ph->dtmf_pt = dtmf >= 96 && dtmf <= 127 ? dtmf : -1;
	ph->sig_ip = g_strdup(sig_ip);
	ce_leg_phone_free(leg->phone);
	leg->phone = ph;
}

void ce_leg_phone_free(struct ce_leg_phone *ph)
{
	if (!ph)
		return;
	g_free(ph->addr);
	g_free(ph->formats);
	g_free(ph->sig_ip);
	g_free(ph);
}

/** What the media side needs of a bypassed leg's phone, in @rem (the rest is the caller's). */
void ce_leg_phone_remote(const struct ce_leg *leg, struct ce_leg_remote *rem)
{
	const struct ce_leg_phone *ph = leg->phone;

	rem->ip = ph->addr;
	rem->port = ph->port;
	rem->codec = ph->codec;
	rem->direct = true;
	rem->dtmf_pt = ph->dtmf_pt;
	rem->sig_ip = ph->sig_ip;
	rem->pt = ph->pt;
	rem->fec = ph->fec;
}

/**
 * The phone's RTP end as a chan.rtp answer would say Yate's (localip,
 * localport, format): what the journal and the lobby keep of a leg.
 */
struct ce_msg *ce_leg_phone_far(const struct ce_leg *leg)
{
	const struct ce_leg_phone *ph = leg->phone;
	struct ce_msg *far = NULL;

	ce_msg_new(&far, "rtp");
	ce_msg_add(far, "localip", ph->addr);
	ce_msg_setf(far, "localport", "%u", ph->port);
	ce_msg_add(far, "format", ce_codec_name(ph->codec));
	return far;
}

/*
 * Our raw SDP answer to an Opus phone (its last offer's direction turned
 * round): its payload type, what we would like to receive (in-band FEC,
 * nothing wider than the room mixes) and what we send (no wider either),
 * its telephone-event if it offered one.
 */
static char *opus_answer(struct ce_leg *leg)
{
	struct ce_leg_phone *ph = leg->phone;
	unsigned rate = ce_room_mix_rate(leg->room); /* 48000: Opus runs fullband there */
	struct ce_sdp_fmt opus = {
	        .pt = ph->pt, .name = "opus", .rate = CE_OPUS_RTP_CLOCK, .channels = 2};
	struct ce_sdp_fmt te = {.pt = ph->dtmf_pt, .rate = ph->dtmf_rate};
	char fmtp[96];

	g_snprintf(fmtp, sizeof(fmtp), "%s=%u;%s=%u;%s=1", CE_OPUS_FMTP_PLAYBACK, rate,
	        CE_OPUS_FMTP_CAPTURE, rate, CE_OPUS_FMTP_FEC);
	return ce_sdp_answer(leg->conf->set.bypass_address, leg->port, &opus,
	        ph->dtmf_pt >= 0 && ph->dtmf_rate ? &te : NULL, fmtp, ph->dir, ph->sdp_sess,
	        ph->sdp_ver);
}

/**
 * Our end of a bypassed leg's RTP, as ysipchan builds an SDP from it
 * (updateRtpSDP), or, for an Opus phone, the SDP itself (sdp_raw, which
 * ysipchan sends as it is: createPasstroughSDP).
 */
void ce_leg_phone_sdp(struct ce_leg *leg, struct ce_msg *m)
{
	struct ce_leg_phone *ph = leg->phone;

	ce_msg_set(m, "rtp_forward", "yes");
	ce_msg_set(m, "rtp_addr", leg->conf->set.bypass_address);
	ce_msg_setf(m, "rtp_port", "%u", leg->port);
	ce_msg_set(m, "media", "yes");
	if (ph->codec == CE_CODEC_OPUS) {
		/* no formats=: Yate would keep a name it cannot map for the call */
		char *sdp = opus_answer(leg);

		ce_msg_set(m, "sdp_raw", sdp);
		g_free(sdp);
		return;
	}
	ce_msg_set(m, "formats", ph->formats);
	ce_msg_set(m, "transport", "RTP/AVP");
	if (ph->dtmf_pt >= 0)
		ce_msg_setf(m, "rtp_rfc2833", "%d", ph->dtmf_pt);
	/*
	 * No direction attribute (osdp_recvonly) for a hold: ysipchan keeps
	 * the media's attributes for the rest of the call and echoes the
	 * phone's first ones (a=sendrecv), so a recvonly given once would stay
	 * in every later answer, the resume's too, with a=sendrecv before it.
	 */
}

/* How often, and how long apart, a re-INVITE's answer is offered before ysipchan holds it. */
#define NOTIFY_TRIES    20
#define NOTIFY_RETRY_MS 50

struct notify {
	struct ce_leg *leg;
	char *chan; /* the phone's sip/N */
	unsigned tries;
};

static void send_notify(struct notify *n);

static gboolean notify_again(gpointer data)
{
	send_notify(data);
	return G_SOURCE_REMOVE;
}

static void notify_done(struct ce_msg *msg, bool handled, void *arg)
{
	struct notify *n = arg;

	/*
	 * ysipchan keeps the re-INVITE only once our answer to its call.update
	 * has reached it, which may be after this message: until then it says
	 * error=nocall.  The leg gone, the phone's re-INVITE fails by itself.
	 */
	if (!handled && n->leg->state != CE_LEG_GONE && ++n->tries < NOTIFY_TRIES) {
		g_timeout_add(NOTIFY_RETRY_MS, notify_again, n);
		return;
	}
	if (!handled)
		g_message("%s: Yate took no answer to the phone's re-INVITE (%s)",
		        n->leg->id ? n->leg->id : "?", ce_msg_get_def(msg, "error", "no answer"));
	ce_leg_unref(n->leg);
	g_free(n->chan);
	g_free(n);
}

static void send_notify(struct notify *n)
{
	struct ce_conf *conf = n->leg->conf;
	struct ce_msg *m = NULL;

	ce_msg_new(&m, "call.update");
	ce_msg_add(m, "id", n->leg->id);
	ce_msg_add(m, "targetid", n->chan);
	ce_msg_add(m, "operation", "notify");
	ce_leg_phone_sdp(n->leg, m);
	ce_bus_send(conf->bus, m, conf->set.step_timeout_ms, notify_done, n);
	ce_msg_unref(m);
}

/*
 * The laws of a G.711 or G.722 phone's new offer (its formats=): our
 * answer lists those of our last answer it still has; the one we send
 * stays if it is there, else the first, which may switch the leg to the
 * other law (the media side changes its payload type; it takes either law
 * all along).  False: none left.
 */
static bool laws_update(struct ce_leg *leg, const struct ce_msg *msg)
{
	struct ce_conf *conf = leg->conf;
	struct ce_leg_phone *ph = leg->phone;
	enum ce_codec codec, first;
	struct ce_msg *far;
	char *laws;

	laws = answer_formats(leg, ce_msg_get(msg, "formats"), ph->formats, &first);
	/* ours if the offer still has it, else the first */
	codec = !laws || offers(laws, ph->codec) ? ph->codec : first;
	if (!laws || (codec != ph->codec && (!conf->media->leg_set_codec || !leg->media ||
	                                            conf->media->leg_set_codec(
	                                                    conf->media_arg, leg->media, codec)))) {
		g_message("%s: the phone's new offer (%s) has none of %s: refused", leg->id,
		        ce_msg_get_def(msg, "formats", ""), ph->formats);
		g_free(laws);
		return false;
	}
	g_free(ph->formats);
	ph->formats = laws;
	if (codec != ph->codec) {
		g_info("%s: the phone switches from %s to %s", leg->id, ce_codec_name(ph->codec),
		        ce_codec_name(codec));
		ph->codec = codec;
		/* a restarted engine must resume it in its new law */
		far = ce_leg_phone_far(leg);
		if (leg->state == CE_LEG_JOINED)
			ce_conf_journal_enter(leg, far);
		ce_lobby_rtp(leg, far);
		ce_msg_unref(far);
	}
	return true;
}

/*
 * An Opus phone's new offer (its raw SDP, sdp_raw): it must still have
 * Opus on the payload type the leg's media takes; its direction is what
 * our answer turns round, and *@hold says whether it holds the call.
 * False: refused (a switch to another codec or payload type is not done).
 */
static bool opus_update(struct ce_leg *leg, const struct ce_msg *msg, bool *hold)
{
	struct ce_leg_phone *ph = leg->phone;
	const char *raw = ce_msg_get(msg, "sdp_raw"), *why = NULL;
	const struct ce_sdp_fmt *opus = NULL, *te;
	struct ce_sdp_offer o;

	if (!raw)
		why = "no raw SDP (sdp_raw)";
	else if (!ce_sdp_parse(raw, &o, &why) &&
	         !(opus = ce_sdp_find(&o, "opus", CE_OPUS_RTP_CLOCK)))
		why = "no Opus";
	else if (opus && opus->pt != ph->pt)
		why = "another payload type";
	if (why) {
		g_message("%s: the phone's new offer is not Opus on payload type %d (%s): refused",
		        leg->id, ph->pt, why);
		return false;
	}
	/* its telephone-event again, or our answer leaves it out */
	te = telephone_event(&o);
	ph->dtmf_rate = te && te->pt == ph->dtmf_pt ? te->rate : 0;
	ph->dir = o.dir;
	*hold = o.dir == CE_SDP_SENDONLY || o.dir == CE_SDP_INACTIVE || !*o.addr;
	return true;
}

/*
 * call.update of a bypassed phone's channel: its re-INVITE (reInviteForward).
 * Hold (a=sendonly or inactive, or the address 0.0.0.0) takes the leg out
 * of the mix both ways until the phone resumes, and its silence meanwhile
 * is no RTP timeout; a new port on the same address is followed as soon as
 * the phone sends from it (latching, by its SSRC).  The codecs are those
 * of laws_update() or opus_update(); an offer neither takes is refused
 * (488), and the call goes on as it was.
 */
enum ce_msg_result ce_conf_on_update(struct ce_dispatch *d, struct ce_msg *msg, void *arg)
{
	struct ce_conf *conf = arg;
	struct ce_leg *leg = ce_leg_find(conf, ce_msg_get(msg, "peerid"));
	const char *chan = ce_msg_get(msg, "id");
	const char *addr = ce_msg_get_def(msg, "rtp_addr", "");
	struct ce_leg_phone *ph;
	struct notify *n;
	bool hold, ok;

	(void)d;
	if (!leg || !leg->phone || !chan || leg->state == CE_LEG_GONE ||
	        g_strcmp0(ce_msg_get(msg, "operation"), "request") ||
	        !ce_msg_get_bool(msg, "rtp_forward", false))
		return CE_MSG_CONTINUE;
	ph = leg->phone;
	hold = ce_msg_get(msg, "sdp_inactive") || ce_msg_get(msg, "sdp_sendonly") ||
	       !strcmp(addr, "0.0.0.0") || !strcmp(addr, "::");
	ok = ph->codec == CE_CODEC_OPUS ? opus_update(leg, msg, &hold) : laws_update(leg, msg);
	if (!ok) {
		/*
		 * on to Yate's dumb driver, which refuses updates; ysipchan answers
		 * the code in error= (its "nomedia" would be 415, for a body type)
		 */
		ce_msg_set(msg, "error", "488");
		ce_msg_set(msg, "reason", "Not Acceptable Here");
		return CE_MSG_CONTINUE;
	}
	if (hold != ph->on_hold) {
		g_info("%s: the phone %s", leg->id, hold ? "holds the call" : "resumes the call");
		ph->on_hold = hold;
		if (leg->media)
			conf->media->leg_set_flags(
			        conf->media_arg, leg->media, ce_leg_media_flags(leg));
	}
	/* a new answer: its version once, however often send_notify() offers it */
	ph->sdp_ver++;
	n = g_new0(struct notify, 1);
	n->leg = ce_leg_ref(leg);
	n->chan = g_strdup(chan);
	send_notify(n);
	return CE_MSG_HANDLED;
}
