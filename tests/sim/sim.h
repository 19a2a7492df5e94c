/* sim.h - the router simulator (yate-sim): a Yate stand-in for tests, demo and load */
#ifndef SIM_H
#define SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <glib.h>
#include <gio/gio.h>

#include "message.h"

struct sim;
struct sim_mod;
struct sim_disp;
struct sim_chan;
struct sim_leg;
struct sim_audio_src;
struct sim_room;
struct sim_wav;

/* ---- dispatcher (dispatch.c) ------------------------------------------ */

/* What a handler did: as in Yate, plus "I will say later" for relays. */
enum ce_sim_res {
	SIM_CONTINUE = 0, /* not handled: next handler */
	SIM_HANDLED,      /* handled: stop, the message returns true */
	SIM_PENDING,      /* the handler calls ce_sim_disp_resume() later */
};

typedef enum ce_sim_res(sim_handler_h)(struct sim_disp *d, struct ce_msg *m, void *arg);
typedef void(sim_done_h)(struct sim *s, struct ce_msg *m, bool handled, void *arg);

struct sim_handler {
	char *name; /* message name */
	unsigned prio;
	unsigned seq; /* install order: ties between equal priorities */
	char *track;  /* "module:prio" added to handlers=, NULL for untracked */
	char *fname, *fvalue;
	sim_handler_h *h;
	void *arg;
	struct sim_mod *mod; /* the relay's module, NULL for built-ins */
};

int ce_sim_install(struct sim *s, const char *name, unsigned prio, const char *track,
        sim_handler_h *h, void *arg);
struct sim_handler *ce_sim_install_relay(struct sim *s, struct sim_mod *mod, const char *name,
        unsigned prio, const char *fname, const char *fvalue);
void ce_sim_uninstall(struct sim *s, struct sim_handler *hd);
void ce_sim_dispatch(
        struct sim *s, struct ce_msg *m, struct sim_mod *origin, sim_done_h *done, void *arg);
void ce_sim_enqueue(struct sim *s, struct ce_msg *m);
void ce_sim_disp_resume(struct sim_disp *d, bool handled);
struct ce_msg *ce_sim_disp_msg(struct sim_disp *d);
struct sim *ce_sim_disp_sim(struct sim_disp *d);
struct sim_mod *ce_sim_disp_origin(struct sim_disp *d);
void ce_sim_disp_set_chan(struct sim_disp *d, const char *id);
struct sim_chan *ce_sim_disp_chan(struct sim_disp *d, const struct ce_msg *m);
void ce_sim_dispatch_free_all(struct sim *s);

/* ---- the external module link (link.c) -------------------------------- */

struct sim_mod_opts {
	unsigned timeout_ms; /* message timeout (Yate: 10000) */
	bool timebomb;       /* kill the module when a message times out */
	unsigned max_queue;  /* messages in flight to the module (Yate: 1000) */
};

int ce_sim_mod_spawn(struct sim *s, struct sim_mod **mp, char **argv, GError **err);
int ce_sim_mod_listen(struct sim *s, const char *spec, GError **err);
void ce_sim_mod_send_msg(struct sim_mod *mod, struct sim_disp *d, struct ce_msg *m);
void ce_sim_mod_report_watch(struct sim *s, struct ce_msg *m, bool handled, struct sim_mod *origin);
void ce_sim_mod_quit_all(struct sim *s);
void ce_sim_mod_free_all(struct sim *s);
bool ce_sim_mods_gone(struct sim *s);
unsigned ce_sim_mods_crash(struct sim *s, int sig);
bool ce_sim_mod_alive(const struct sim_mod *mod);
bool ce_sim_mod_reenter(const struct sim_mod *mod);
unsigned ce_sim_mod_stall(struct sim *s, const char *name, unsigned ms);

/* ---- channels and drivers (chan.c) ------------------------------------- */

enum sim_callee_kind {
	SIM_CALLEE_ANSWER = 0,
	SIM_CALLEE_NOANSWER,
	SIM_CALLEE_BUSY,
	SIM_CALLEE_OFFLINE,
	SIM_CALLEE_REJECT,
};

/* A simulated phone (caller or callee): what it plays, records, how it behaves. */
struct sim_phone {
	char *number;
	char *name; /* callername */
	char *play; /* "file.wav", "tone:440[+880][@0.3]", "silence" (default) */
	bool loop;
	char *record;         /* WAV file for what it hears, or NULL */
	char *format;         /* mulaw (default) or alaw: what it sends */
	double loss, reorder; /* percent */
	unsigned jitter_ms;
	unsigned garbage, badpt, flood; /* hostile datagrams sent with each frame */
	enum sim_callee_kind kind;      /* as a callee */
	double delay;                   /* callee: seconds before answering/failing */
	struct ce_msg *params;          /* extra call.route parameters */
	int forward; /* caller offers RTP forwarding (media bypass): 1, 0, -1 as --forward says */
	bool nat;    /* caller behind a NAT: its RTP comes from another port than it announced */
	bool opus;   /* caller's SDP offers Opus first (seen only with --forward-sdp) */

	/* runtime, while in a call */
	struct sim *sim;
	char *label;
	struct sim_audio_src *src;
	struct sim_wav *wav;
	int16_t *heard; /* ring of the last SIM_HEARD_MS of received audio */
	unsigned heard_pos, heard_len;
	uint64_t heard_total;
	bool ended;
	struct sim_leg *rtp; /* its own RTP endpoint while it offers or uses forwarding */
};

#define SIM_HEARD_SAMPLES (8000 * 4)

struct sim_chan {
	char *id;
	int driver; /* SIM_DRV_* */
	bool outgoing;
	char *status;
	char *address;
	char *billid;
	char *targetid;
	char *lastpeerid;
	char *caller, *called, *callto;
	bool answered;
	bool gone; /* hung up, waiting to be freed */
	struct sim_chan *peer;
	struct ce_msg *discparams; /* kept for chan.disconnected/chan.hangup */
	struct sim_leg *leg;       /* RTP session (chan.rtp), or NULL */
	struct sim_phone *phone;   /* the phone behind a sip channel */
	unsigned dtmf_seq;
	struct sim_room *room; /* conf stand-in */
	bool rtp_forward;      /* Yate's m_rtpForward: the phone's media may bypass Yate */
	bool sdp_forward;      /* Yate's m_sdpForward: --forward-sdp, or the route's forward_sdp= */
	char *fwd_formats;     /* a forwarded call's formats as Yate's SDP media keeps them */
	int reinvite;          /* SIM_REINVITE_*: the forwarded phone's re-INVITE (forward.c) */
	int reinvite_hold;     /* what it offers: 1 hold, 0 resume, -1 the hold as it is */
	bool held;             /* the forwarded phone holds the call (its answered offer said so) */
	unsigned sdp_ver;      /* its SDP's version (o= line) */
	bool counted, utility;
	guint timer;
};

/* Where a forwarded phone's re-INVITE is: ysipchan's m_tr2 is set only once its request is answered. */
enum {
	SIM_REINVITE_NONE = 0,
	SIM_REINVITE_ASKING,  /* call.update operation=request being dispatched */
	SIM_REINVITE_WAITING, /* taken: the 200 OK waits for operation=notify */
};

enum {
	SIM_DRV_SIP = 0,
	SIM_DRV_DUMB,
	SIM_DRV_CONF,
	SIM_DRV_TONE, /* Yate's local channels (local.c) */
	SIM_DRV_WAVE,
	SIM_DRV_MOH,
	SIM_DRV_EXT, /* Yate's external-module channels (external/MODE/SCRIPT), not a driver */
	SIM_DRV_COUNT
};

void ce_sim_chans_init(struct sim *s);
void ce_sim_chans_fini(struct sim *s);
struct sim_chan *ce_sim_chan_new(struct sim *s, int driver, bool outgoing);
struct sim_chan *ce_sim_chan_find(struct sim *s, const char *id);
struct sim_chan *ce_sim_chan_by_label(struct sim *s, const char *label);
void ce_sim_chan_complete(const struct sim_chan *c, struct ce_msg *m, bool minimal);
struct ce_msg *ce_sim_chan_message(const struct sim_chan *c, const char *name, bool minimal);
void ce_sim_chan_connect(struct sim *s, struct sim_chan *a, struct sim_chan *b);
void ce_sim_chan_drop(
        struct sim *s, struct sim_chan *c, const char *reason, const struct ce_msg *params);
void ce_sim_chan_unpeer(struct sim *s, struct sim_chan *c, const char *reason);
void ce_sim_chan_bye(struct sim *s, struct sim_chan *c, const char *reason);
void ce_sim_chan_set_status(struct sim_chan *c, const char *status);
struct sim_phone *ce_sim_chan_phone(struct sim_chan *c);
int ce_sim_call(struct sim *s, struct sim_phone *ph, const char *called);
int ce_sim_hangup(struct sim *s, const char *label, const char *reason);
int ce_sim_send_dtmf(struct sim *s, const char *label, const char *digits);
int ce_sim_route_add(struct sim *s, const char *pattern, const char *target, struct ce_msg *params,
        GError **err);
void ce_sim_callee_add(struct sim *s, struct sim_phone *ph);
struct sim_phone *ce_sim_phone_new(const char *number);
void ce_sim_phone_free(struct sim_phone *ph);
struct sim_phone *ce_sim_phone_copy(const struct sim_phone *ph);
void ce_sim_phone_heard(struct sim_phone *ph, const int16_t *pcm, unsigned n);
void ce_sim_phone_start(struct sim *s, struct sim_phone *ph);
char *ce_sim_phone_label(struct sim *s, const char *number);
enum ce_sim_res ce_sim_local_execute(struct sim_disp *d, struct ce_msg *m, void *arg);
void ce_sim_drivers_init(struct sim *s);
enum ce_sim_res ce_sim_sip_execute(struct sim_disp *d, struct ce_msg *m, void *arg);
enum ce_sim_res ce_sim_ext_execute(struct sim_disp *d, struct ce_msg *m, void *arg);
void ce_sim_script_add(struct sim *s, struct sim_phone *ph);
void ce_sim_drivers_fini(struct sim *s);
void ce_sim_conf_init(struct sim *s);
void ce_sim_conf_fini(struct sim *s);
void ce_sim_conf_leave(struct sim *s, struct sim_chan *c);
void ce_sim_enqueue_cb(struct sim *s, struct ce_msg *m, sim_done_h *done, void *arg);

/* ---- media bypass (forward.c) ------------------------------------------ */

void ce_sim_forward_offer(struct sim *s, struct sim_chan *c, struct ce_msg *m);
void ce_sim_forward_routed(struct sim *s, struct sim_chan *c, const struct ce_msg *m);
void ce_sim_forward_accepted(struct sim *s, struct sim_chan *c, const struct ce_msg *m);
void ce_sim_forward_answered(struct sim *s, struct sim_chan *c, struct ce_msg *m);
const char *ce_sim_forward_key(struct sim_chan *c, char key);
int ce_sim_rebind(struct sim *s, const char *label);
int ce_sim_reinvite(struct sim *s, const char *label, const char *what);
enum ce_sim_res ce_sim_sip_update(struct sim_disp *d, struct ce_msg *m, void *arg);

/* ---- RTP (rtp.c) ------------------------------------------------------- */

int ce_sim_leg_new(struct sim *s, struct sim_leg **lp, const char *remoteip, unsigned remoteport,
        const char *format, struct sim_chan *c, bool yrtp, GError **err);
void ce_sim_leg_free(struct sim_leg *l);
void ce_sim_leg_answer(struct sim_leg *l, const char *ip, unsigned port, bool alaw, int dtmf_pt);
int ce_sim_leg_answer_opus(struct sim_leg *l, const char *ip, unsigned port, int pt, int dtmf_pt);
int ce_sim_leg_nat(struct sim_leg *l, unsigned *port, GError **err);
unsigned ce_sim_leg_source_port(const struct sim_leg *l);
int ce_sim_leg_send_key(struct sim_leg *l, char key);
unsigned ce_sim_leg_local_port(const struct sim_leg *l);
const char *ce_sim_leg_local_ip(const struct sim_leg *l);
void ce_sim_rtp_shared_free(struct sim *s);
void ce_sim_leg_set_remote(struct sim_leg *l, const char *ip, unsigned port);
const char *ce_sim_leg_remote(const struct sim_leg *l, char *buf, size_t size);
int ce_sim_leg_dtmf_pt(const struct sim_leg *l);
void ce_sim_rtp_start_clock(struct sim *s);
void ce_sim_rtp_stop_clock(struct sim *s);

/* ---- audio (audio.c) --------------------------------------------------- */

uint8_t ce_sim_ulaw_encode(int16_t s);
int16_t ce_sim_ulaw_decode(uint8_t u);
uint8_t ce_sim_alaw_encode(int16_t s);
int16_t ce_sim_alaw_decode(uint8_t a);
void ce_sim_g711_decode(bool alaw, const uint8_t *in, int16_t *out, unsigned n);
int ce_sim_src_new(
        struct sim_audio_src **sp, const char *spec, bool loop, const char *basedir, GError **err);
void ce_sim_src_free(struct sim_audio_src *src);
void ce_sim_src_read(struct sim_audio_src *src, int16_t *pcm, unsigned n);
bool ce_sim_src_ended(const struct sim_audio_src *src);
void ce_sim_src_read_g711(struct sim_audio_src *src, bool alaw, uint8_t *out, unsigned n);
void ce_sim_audio_cache_clear(void);
int ce_sim_wav_open(struct sim_wav **wp, const char *path, GError **err);
void ce_sim_wav_write(struct sim_wav *w, const int16_t *pcm, unsigned n);
void ce_sim_wav_close(struct sim_wav *w);
double ce_sim_goertzel_ratio(const int16_t *pcm, unsigned n, double freq, double rate);
double ce_sim_rms_dbfs(const int16_t *pcm, unsigned n);

/* ---- event log (evlog.c) ----------------------------------------------- */

int ce_sim_evlog_open(struct sim *s, const char *path, GError **err);
void ce_sim_evlog_close(struct sim *s);
void ce_sim_event(struct sim *s, const char *ev, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
void ce_sim_event_msg(struct sim *s, const char *ev, const struct ce_msg *m, bool handled);
void ce_sim_transcript(struct sim *s, char dir, const char *line, size_t len);
double ce_sim_now(struct sim *s);
const char *ce_sim_json(const char *s);

/* ---- scenario (scenario.c) --------------------------------------------- */

int ce_sim_scenario_load(struct sim *s, const char *path, GError **err);
void ce_sim_expect(struct sim *s, char **argv, int lineno);
void ce_sim_scenario_state(struct sim *s, const char *label, const char *state);
void ce_sim_set_state(struct sim *s, const char *label, const char *state);
int ce_sim_scenario_parse(struct sim *s, const char *text, const char *basedir, GError **err);
void ce_sim_scenario_start(struct sim *s);
void ce_sim_scenario_free(struct sim *s);

/* ---- the simulator ----------------------------------------------------- */

struct sim {
	GMainLoop *loop;
	int64_t t0; /* monotonic start, usec */
	FILE *evlog;
	FILE *transcript;
	bool verbose;

	/* dispatcher */
	GPtrArray *handlers; /* struct sim_handler *, sorted by (prio, seq) */
	unsigned handler_seq;
	GQueue enqueued; /* struct ce_msg * waiting for the idle dispatcher */
	guint enqueue_src;
	GList *disps; /* live dispatches */
	uint64_t dispatched;

	/* modules */
	struct sim_mod_opts mod_opts;
	GList *mods;
	int listen_fd;
	guint listen_src;
	char *listen_path;
	char **engine_argv;
	char *engine_log;     /* where the engine's stderr goes */
	unsigned flood_lines; /* lines per second that count as a flood */

	/* channels */
	GHashTable *chans;  /* id -> struct sim_chan * */
	GHashTable *labels; /* label -> struct sim_chan * (the caller's channel) */
	GList *gone_chans;  /* hung up, freed when idle */
	guint gone_src;
	unsigned next_chan[SIM_DRV_COUNT];
	GPtrArray *routes;
	GHashTable *callees; /* number -> struct sim_phone * */
	GHashTable *scripts; /* external script name -> struct sim_phone * */
	GHashTable *rooms;   /* conf stand-in: name -> room */
	unsigned runid;
	unsigned billseq;
	char *localip;
	char *default_format;

	/* RTP */
	GList *legs;
	int clock_fd;
	guint clock_src;
	uint64_t ticks, late_ticks, lost_ticks; /* 20 ms clock: run, run late, skipped */
	bool rtp_shared;  /* load mode: one socket, one loopback address per leg */
	bool forward;     /* callers offer RTP forwarding unless forward=no (--forward) */
	bool forward_sdp; /* ysipchan's forward_sdp=yes: the phone's SDP as sdp_raw (--forward-sdp)
	                   */
	unsigned yrtp_live, yrtp_max; /* Yate's RTP sessions (chan.rtp): now, at most */
	uint64_t yrtp_created;
	void *rtp_shared_state; /* rtp.c's */
	uint64_t rtp_send_errors;

	/* scenario */
	char *basedir;
	GPtrArray *steps;
	GPtrArray *triggers; /* "on STATE LABEL" steps */
	unsigned next_step;
	guint step_src;
	double scenario_t0;
	GList *bursts;
	bool keep_history;
	GPtrArray *history; /* JSON lines of past events, for "expect event/message" */
	GHashTable *states; /* phone label -> last state */
	char **allow;       /* problems that do not fail the run */
	unsigned failures;
	unsigned problems; /* engine crashed, garbage, timeouts... */
	double end_at;     /* stop time, seconds */
	bool stopping;
	bool started;
	guint end_src, stop_src, watchdog_src, timer_src;
	double last_line_at;           /* when a module last wrote a line */
	double ready_quiet, ready_max; /* start-up wait, seconds */
};

void ce_sim_fail(struct sim *s, const char *what, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
void ce_sim_problem(struct sim *s, const char *what, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
void ce_sim_stop(struct sim *s);
char *ce_sim_yate_id(void);

#endif
