/* leg.h - one participant's dumb/N channel, from offered to gone */
#ifndef CE_CONF_LEG_H
#define CE_CONF_LEG_H

#include <stdbool.h>
#include <glib.h>

#include "media/g711.h"
#include "sdp.h"

struct ce_conf;
struct ce_room;
struct ce_msg;
struct ce_dispatch;
struct ce_leg_media;
struct ce_join_params;
struct ce_lobby_call;

/*
 * An orphaned leg's channel lives (or lived) in a Yate the engine can no
 * longer reach: Yate was restarted ("yate-restart"), or the link is down
 * and the leg's audio stopped ("link-lost").  It ends for that reason
 * whatever ends it, sends no call.drop (another Yate may have reused its
 * dumb/N), and its "left" notification says why with reason=, and how
 * long before that notification its call most likely ended with gone_ms=
 * (at the link loss, or when its audio stopped) so that the leave event
 * and the CDR do not count the time the engine could not know.
 */
#define CE_LEG_YATE_RESTART "yate-restart"
#define CE_LEG_LINK_LOST    "link-lost"
/* A leg of an engine that died, closed by the next one (recover.c). */
#define CE_LEG_ENGINE_RESTART "engine-restart"

/*
 * A leg goes through these states in order; any failure, hangup or drop
 * goes straight to GONE, and every path out of a state that Yate already
 * knows of (dumb/N exists) sends call.drop so that nobody is left hanging.
 *
 *   OFFERED   call.execute answered with callto=dumb/ (or call.conference
 *             masqueraded into one): waiting to learn dumb/N
 *   PEER      dumb/N known, chan.rtp asked of Yate
 *   RTP       Yate's RTP end known and latched, call.answered asked
 *   JOINED    in the room, mixed, notified
 *   GONE      left; kept only while callbacks still hold a reference
 */
enum ce_leg_state {
	CE_LEG_OFFERED = 0,
	CE_LEG_PEER,
	CE_LEG_RTP,
	CE_LEG_JOINED,
	CE_LEG_GONE,
};

/*
 * A phone whose RTP comes straight to us (media bypass, DESIGN.md §2): what
 * its call.execute said of it (ysipchan, from the phone's SDP).
 */
struct ce_leg_phone {
	char *addr;          /* rtp_addr */
	unsigned port;       /* rtp_port */
	enum ce_codec codec; /* the codec we send (of formats) */
	char *formats;       /* the laws our last SDP answer listed ("mulaw,alaw") */
	int dtmf_pt;         /* rtp_rfc2833: its telephone-event payload type, or -1 */
	char *sig_ip;        /* ip_host: where its SIP comes from (a NAT's address) */
	bool on_hold;        /* its last offer put the call on hold: out of the mix */
	/* Opus, answered through the phone's raw SDP (bypass.c, docs/bypass.md "Opus"): */
	int pt;                 /* its payload type (96..127); 0 for the other codecs */
	bool fec;               /* it takes in-band FEC (its useinbandfec=1) */
	unsigned dtmf_rate;     /* its telephone-event's clock (8000, 48000), for our answer */
	enum ce_sdp_dir dir;    /* its last offer's direction, turned round in our answer */
	unsigned long sdp_sess; /* our answers' o= session id ... */
	unsigned sdp_ver;       /* ... and version: one more for each re-INVITE answered */
};

struct ce_leg {
	gint refs;
	struct ce_conf *conf;
	struct ce_room *room;
	enum ce_leg_state state;
	unsigned seq; /* short number for the console */
	char *id;     /* dumb/N, NULL until known */
	char *peer;   /* the caller's channel */
	char *lang;   /* lang= of its request: the language of prompts to it alone, or NULL */
	bool counted, utility, voice, smart, echo, billing, player;
	bool up; /* the call is already answered (call.conference) */
	bool muted, deaf, talking;
	bool muted_on_entry; /* muted_on_entry= of its request (entry.c) */
	bool ns, agc;        /* noise_suppression= and agc= of its request (media/dsp.h) */
	bool held;           /* waiting for a moderator: hears and is heard by no one */
	bool on_hold;        /* its music on hold plays (its prompt queue holds it) */
	char *name_prompt;   /* name_prompt= of its request: its name, recorded, or NULL */
	unsigned energy;
	gint64 deadline; /* of the current state, 0 for none */
	unsigned port;   /* our RTP port */
	struct ce_leg_media *media;
	struct ce_msg *params;     /* what the request passed on (billing legs only) */
	struct ce_msg *who;        /* who the participant is, for "joined" (or NULL) */
	struct ce_dispatch *defer; /* a call.conference waiting for dumb/N */
	struct ce_dispatch *disc;  /* the channel's chan.disconnected, held while moving */
	bool moving;               /* call.conference is moving the channel to dumb/N */
	unsigned link_gen;         /* conf->link_gen when the leg was made */
	const char *orphaned;      /* static reason once the leg's Yate is out of reach */
	gint64 gone_at;            /* orphaned: when its call most likely ended (module clock) */
	char *runid;               /* Yate's run id when the journal got its enter line, or NULL */
	gint64 resumed_at;         /* a leg of a crashed engine taken over: when it joined (wall) */
	struct ce_lobby_call *lobby; /* a caller in the lobby (lobby.c), or NULL */
	bool rehoming;               /* ce_leg_rehome() waits for Yate */
	bool name_owned;             /* name_prompt is the lobby's recording: removed after it */
	int talk_step, listen_step;  /* volume steps of 3 dB (ce_leg_set_gain), 0: unchanged */
	struct ce_leg_phone *phone;  /* media bypass: the phone's own RTP, or NULL: Yate relays */
	bool wide_relay;    /* relayed as G.722: a wideband room, and the phone offered it */
	char keys[8];       /* keypad keys collected so far (keypad.c) */
	gint64 keys_at;     /* when they are given up (module clock), 0: none wait */
	unsigned help_next; /* where the keypad's next help goes on */
};

int ce_leg_new(struct ce_leg **lp, struct ce_conf *conf, struct ce_room *room,
        const struct ce_join_params *p, const char *peer);
struct ce_leg *ce_leg_ref(struct ce_leg *leg);
void ce_leg_unref(struct ce_leg *leg);

struct ce_leg *ce_leg_find(struct ce_conf *conf, const char *id);
struct ce_leg *ce_leg_find_seq(struct ce_conf *conf, const char *room, const char *which);
bool ce_leg_offer_direct(struct ce_leg *leg, const struct ce_msg *exec);
void ce_leg_offer_relayed(struct ce_leg *leg, const struct ce_msg *exec);
void ce_leg_set_phone(struct ce_leg *leg, const char *addr, unsigned port, enum ce_codec codec,
        char *formats, int dtmf, const char *sig_ip);
void ce_leg_phone_free(struct ce_leg_phone *ph);
struct ce_leg_remote;
void ce_leg_phone_remote(const struct ce_leg *leg, struct ce_leg_remote *rem);
void ce_leg_phone_sdp(struct ce_leg *leg, struct ce_msg *m);
struct ce_msg *ce_leg_phone_far(const struct ce_leg *leg);
void ce_leg_peer_known(struct ce_leg *leg, const char *dumb_id);
void ce_leg_answered(struct ce_leg *leg);
struct ce_leg_remote;
int ce_leg_resume(struct ce_leg *leg, const char *id, const char *runid, gint64 joined_at,
        unsigned port, const struct ce_leg_remote *rem);
void ce_leg_end(struct ce_leg *leg, const char *reason, bool drop);
void ce_leg_send_drop(struct ce_conf *conf, const char *id, const char *reason);
void ce_leg_tick(struct ce_leg *leg, gint64 now);
unsigned ce_leg_media_flags(const struct ce_leg *leg);
void ce_leg_add_who(const struct ce_leg *leg, struct ce_msg *m);
void ce_leg_copy_who(struct ce_msg *to, const struct ce_msg *from);
const char *ce_leg_role(const struct ce_leg *leg);
bool ce_leg_is_moderator(const struct ce_leg *leg);
void ce_leg_take_params(struct ce_leg *leg, const struct ce_join_params *p);
struct ce_room_media;
typedef void(ce_leg_rehomed_h)(struct ce_leg *leg, bool ok, void *arg);
int ce_leg_rehome(struct ce_leg *leg, struct ce_room_media *to, ce_leg_rehomed_h *cb, void *arg);
void ce_leg_set_muted(struct ce_leg *leg, bool on);
void ce_leg_set_deaf(struct ce_leg *leg, bool on);
void ce_leg_set_gain(struct ce_leg *leg, int talk_step, int listen_step);
void ce_leg_set_dsp(struct ce_leg *leg, bool ns, bool agc);
void ce_leg_talking(struct ce_leg *leg, bool on, unsigned energy);
const char *ce_leg_state_name(enum ce_leg_state st);

#endif
