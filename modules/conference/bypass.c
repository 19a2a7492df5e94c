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
 */
#define G_LOG_DOMAIN "conference"
#include <string.h>

#include "bus.h"
#include "leg.h"
#include "lobby.h"
#include "media-glue.h"
#include "message.h"
#include "room.h"

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
	if (!ce_msg_get_bool(exec, "rtp_forward", false) || !addr || !*addr || !port ||
	        !ce_msg_get_bool(exec, "media", true) ||
	        strcmp(ce_msg_get_def(exec, "transport", "RTP/AVP"), "RTP/AVP"))
		return false;
	if (leg->lobby && conf->set.media_threads > 1)
		return false;
	/* the codecs it offered, ours first; none we take: no bypass */
	laws = answer_formats(leg, ce_msg_get(exec, "formats"), NULL, &first);
	if (!laws)
		return false;
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

/** Our end of a bypassed leg's RTP, as ysipchan builds an SDP from it (updateRtpSDP). */
void ce_leg_phone_sdp(const struct ce_leg *leg, struct ce_msg *m)
{
	const struct ce_leg_phone *ph = leg->phone;

	ce_msg_set(m, "rtp_forward", "yes");
	ce_msg_set(m, "rtp_addr", leg->conf->set.bypass_address);
	ce_msg_setf(m, "rtp_port", "%u", leg->port);
	ce_msg_set(m, "media", "yes");
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
 * call.update of a bypassed phone's channel: its re-INVITE (reInviteForward).
 * Hold (a=sendonly or inactive, or the address 0.0.0.0) takes the leg out
 * of the mix both ways until the phone resumes, and its silence meanwhile
 * is no RTP timeout; a new port on the same address is followed as soon as
 * the phone sends from it (latching, by its SSRC).  Our answer lists the
 * codecs of the offer that our last answer had (answer_formats); the one
 * we send stays if it is still there, else the first, which may switch
 * the leg to the other law (the media side changes its payload type; it
 * takes either law all along).  None left: refused (488).
 */
enum ce_msg_result ce_conf_on_update(struct ce_dispatch *d, struct ce_msg *msg, void *arg)
{
	struct ce_conf *conf = arg;
	struct ce_leg *leg = ce_leg_find(conf, ce_msg_get(msg, "peerid"));
	const char *chan = ce_msg_get(msg, "id");
	const char *addr = ce_msg_get_def(msg, "rtp_addr", "");
	struct ce_leg_phone *ph;
	enum ce_codec codec, first;
	struct ce_msg *far;
	struct notify *n;
	char *laws;
	bool hold;

	(void)d;
	if (!leg || !leg->phone || !chan || leg->state == CE_LEG_GONE ||
	        g_strcmp0(ce_msg_get(msg, "operation"), "request") ||
	        !ce_msg_get_bool(msg, "rtp_forward", false))
		return CE_MSG_CONTINUE;
	ph = leg->phone;
	laws = answer_formats(leg, ce_msg_get(msg, "formats"), ph->formats, &first);
	/* ours if the offer still has it, else the first */
	codec = !laws || offers(laws, ph->codec) ? ph->codec : first;
	if (!laws || (codec != ph->codec && (!conf->media->leg_set_codec || !leg->media ||
	                                            conf->media->leg_set_codec(
	                                                    conf->media_arg, leg->media, codec)))) {
		g_message("%s: the phone's new offer (%s) has none of %s: refused", leg->id,
		        ce_msg_get_def(msg, "formats", ""), ph->formats);
		g_free(laws);
		/*
		 * on to Yate's dumb driver, which refuses updates; ysipchan answers
		 * the code in error= (its "nomedia" would be 415, for a body type)
		 */
		ce_msg_set(msg, "error", "488");
		ce_msg_set(msg, "reason", "Not Acceptable Here");
		return CE_MSG_CONTINUE;
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
	hold = ce_msg_get(msg, "sdp_inactive") || ce_msg_get(msg, "sdp_sendonly") ||
	       !strcmp(addr, "0.0.0.0") || !strcmp(addr, "::");
	if (hold != ph->on_hold) {
		g_info("%s: the phone %s", leg->id, hold ? "holds the call" : "resumes the call");
		ph->on_hold = hold;
		if (leg->media)
			conf->media->leg_set_flags(
			        conf->media_arg, leg->media, ce_leg_media_flags(leg));
	}
	n = g_new0(struct notify, 1);
	n->leg = ce_leg_ref(leg);
	n->chan = g_strdup(chan);
	send_notify(n);
	return CE_MSG_HANDLED;
}
