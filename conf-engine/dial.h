/* dial.h - calls the engine places into a room through Yate (dial-out), and their outcome */
#ifndef CE_DIAL_H
#define CE_DIAL_H

#include <stdbool.h>
#include <glib.h>

struct ce_bus;
struct ce_msg;
struct ce_dialer;

/*
 * A dial-out is Yate's dumb/ channel calling a number (DESIGN §2,
 * transcript 2); the conference module joins the dumb/N to the room named
 * by ce_dialout= once the call is connected.  The scheduled conferences'
 * dial-outs (modules/schedule/dialout.c) and the HTTP API's outbound calls
 * (modules/http/http-calls.c) both place and follow their calls here.
 */

enum ce_dial_state {
	CE_DIAL_RINGING,   /* Yate placed the call: dumb/N rings the far end */
	CE_DIAL_CONNECTED, /* answered: dumb/N joins the room */
	CE_DIAL_FAILED,    /* never connected; why: Yate's error (busy, noanswer, noroute, ...) */
	CE_DIAL_ENDED,     /* connected, then gone (the monitor has its leave and CDR) */
};

/* What a dial-out's callback is told; borrowed, valid during the callback. */
struct ce_dial_report {
	unsigned call;            /* the call's number (ce_dial_place()) */
	enum ce_dial_state state; /* RINGING and CONNECTED at most once; FAILED or ENDED last */
	const char *id;           /* dumb/N, or NULL when Yate never placed the call */
	const char *why;          /* FAILED: Yate's error; ENDED: the reason, or NULL */
	const char *detail;       /* FAILED: Yate's reason= text when it gave one, or NULL */
	const struct ce_msg *msg; /* the message that told it (peerid=, ...) */
};

typedef void(ce_dial_h)(const struct ce_dial_report *r, void *arg);

/* Where a dial-out goes and what the far end sees. */
struct ce_dial_to {
	const char *address;     /* a number routed by Yate, or a target such as sip/... */
	const char *room;        /* the room it joins (without conf/) */
	const char *caller;      /* caller= the far end sees */
	const char *caller_name; /* callername= the far end sees, or NULL */
	unsigned ring_ms;        /* maxcall: how long Yate lets it ring before "noanswer" */
};

int ce_dialer_new(struct ce_dialer **dp, struct ce_bus *bus);
void ce_dialer_free(struct ce_dialer *dl);
int ce_dial_msg_new(struct ce_msg **mp, const struct ce_dial_to *to);
unsigned ce_dial_place(
        struct ce_dialer *dl, struct ce_msg *msg, unsigned timeout_ms, ce_dial_h *cb, void *arg);
void ce_dial_cancel(struct ce_dialer *dl, unsigned call, const char *reason);

#endif
