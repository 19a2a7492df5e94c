/* admit.c - admission of callers to scheduled conferences: window, PIN, capacity, refusals */
#define G_LOG_DOMAIN "schedule"

#include <errno.h>
#include <string.h>

#include "bus.h"
#include "engine.h"
#include "message.h"
#include "modules/conference/conference.h"
#include "modules/schedule/guard.h"
#include "modules/schedule/schedule-priv.h"
#include "modules/schedule/schedule.h"
#include "modules/store/store.h"

/*
 * call.execute at [schedule] priority (45, before the conference module's
 * 50).  For callto=schedule/KEY the handler defers the message, asks the
 * store (a worker thread) and then either rewrites the call into a join of
 * the conference's room and lets it go on to the conference module:
 *
 *   callto=schedule/800 pin=1234  ->  callto=conf/board maxusers=20
 *                                     notify=conf-monitor/board lonely=true ...
 *
 * or, without the PIN the conference needs, into a call of the lobby
 * ([schedule] lobby), which asks the caller for it:
 *
 *   callto=schedule/800           ->  callto=lobby lobby_key=800
 *
 * or refuses it: error=<Yate error> reason=<text> callto=- and goes on, so
 * no driver takes the call and Yate rejects the caller with our error.
 * conf/NAME calls are checked the same way when NAME is a scheduled room
 * (guard_rooms); other rooms pass untouched.
 *
 * ce_schedule_ask() (the lobby's question) takes the same path: a struct
 * req without a call.execute, whose decision goes to a callback instead.
 * Every PIN passes the guard (guard.c) first: while a lock holds, the
 * caller is refused before the store is asked or any PIN compared.
 */

#define PIN_MAX 1024 /* longer PINs are refused without asking the database */

/* One admission being decided: of a call.execute, or a lobby's question. */
struct req {
	struct sched *s; /* NULL once the module stopped */
	gint refs;       /* the decision's own, and the store query's while it runs */
	bool done;       /* decided (the answer may still be on its way to cb) */
	bool guard;      /* a conf/ call: only scheduled rooms are checked */
	struct ce_dispatch *d;
	struct ce_msg *msg;  /* the call.execute, or NULL (ask) */
	struct ce_msg *join; /* where an admission's parameters go: msg, or a new one */
	ce_sched_answer_h *cb;
	void *arg;
	char *key, *caller, *chan, *callto;
	char *gconf; /* the conference's name for the guard */
	guint timer, idle;
	GList *link;
	/* the decision, for the answer */
	enum ce_sched_verdict v;
	char *error, *reason, *akey, *time_zone, *lang;
	gint64 starts_at;
	unsigned locked_s;
};

static void req_unref(gpointer data)
{
	struct req *q = data;

	if (!g_atomic_int_dec_and_test(&q->refs))
		return;
	if (q->join && q->join != q->msg)
		ce_msg_unref(q->join);
	if (q->msg)
		ce_msg_unref(q->msg);
	g_free(q->key);
	g_free(q->caller);
	g_free(q->chan);
	g_free(q->callto);
	g_free(q->gconf);
	g_free(q->error);
	g_free(q->reason);
	g_free(q->akey);
	g_free(q->time_zone);
	g_free(q->lang);
	g_free(q);
}

/* The lobby's answer, on the main loop after ce_schedule_ask() returned. */
static gboolean deliver(gpointer data)
{
	struct req *q = data;
	struct ce_sched_answer a = {
	        .verdict = q->v,
	        .error = q->error,
	        .reason = q->reason,
	        .join = q->v == CE_SCHED_IN ? q->join : NULL,
	        .key = q->akey,
	        .starts_at = q->starts_at,
	        .time_zone = q->time_zone,
	        .lang = q->lang,
	        .locked_s = q->locked_s,
	};
	ce_sched_answer_h *cb = q->cb;

	q->idle = 0;
	q->cb = NULL; /* a cancel from inside cb is a no-op */
	if (cb)
		cb(&a, q->arg);
	req_unref(q);
	return G_SOURCE_REMOVE;
}

/* The decision is made (or the question dropped): complete the call or answer the asker. */
static void finish(struct req *q)
{
	struct ce_dispatch *d = q->d;

	if (q->done)
		return;
	q->done = true;
	q->d = NULL;
	if (q->timer)
		g_source_remove(q->timer);
	q->timer = 0;
	if (q->s && q->link) {
		q->s->pending = g_list_delete_link(q->s->pending, q->link);
		q->link = NULL;
	}
	if (d && q->error && q->s)
		ce_conference_admission_done(ce_conference_service(q->s->ce), d);
	if (d) {
		/* never "handled": the conference module or Yate's router takes it from here */
		ce_dispatch_complete(d, false);
		req_unref(q);
	} else if (q->cb) {
		q->idle = g_idle_add(deliver, q); /* takes the decision's reference */
	} else {
		req_unref(q);
	}
}

/* Decide @v; a refusal (@error set) is logged and counted, and written on the call. */
static void decide(struct req *q, enum ce_sched_verdict v, const char *error, const char *reason)
{
	q->v = v;
	g_free(q->error);
	g_free(q->reason);
	q->error = g_strdup(error);
	q->reason = g_strdup(reason);
	if (!error)
		return;
	g_message("refused %s (%s) to %s: %s: %s", q->chan ? q->chan : "?",
	        q->caller ? q->caller : "", q->callto, error, reason);
	if (q->s)
		q->s->refused++;
	if (q->msg) {
		ce_msg_set(q->msg, "error", error);
		ce_msg_set(q->msg, "reason", reason);
		ce_msg_set(q->msg, "callto", "-");
	}
}

/* What the row says about a conference the caller is told about. */
static void note_conference(struct req *q, const struct ce_conference *c)
{
	if (!c)
		return;
	g_free(q->akey);
	g_free(q->time_zone);
	g_free(q->lang);
	q->akey = g_strdup(c->access_number && *c->access_number ? c->access_number : c->room);
	q->time_zone = c->time_zone && *c->time_zone ? g_strdup(c->time_zone) : NULL;
	q->lang = c->language && *c->language ? g_strdup(c->language) : NULL;
	q->starts_at = c->starts_at;
}

/* Parameters a conference row's "options" may set (Yate's room parameters). */
static const char *const room_options[] = {"maxusers", "lonely", "notify", "record", "recordwarn",
        "speakers", "interval", "rate", "voice", "echo", "smart", "billing"};

static void apply_options(struct ce_msg *msg, const char *options)
{
	char **kv = options ? g_strsplit(options, ";", 64) : NULL;

	for (unsigned i = 0; kv && kv[i]; i++) {
		char *eq = strchr(kv[i], '=');
		if (!eq)
			continue;
		*eq = '\0';
		g_strstrip(kv[i]);
		for (unsigned k = 0; k < G_N_ELEMENTS(room_options); k++) {
			if (!strcmp(kv[i], room_options[k]))
				ce_msg_set(msg, kv[i], g_strstrip(eq + 1));
		}
	}
	g_strfreev(kv);
}

/**
 * ce_sched_room_params() - set the room parameters of conference @c on a
 * join or dial-out @msg: callto-independent (maxusers, notify, lonely,
 * record, conference_id, lang, what the room does as people come and go,
 * the row's options).
 */
void ce_sched_room_params(struct sched *s, struct ce_msg *msg, const struct ce_conference *c)
{
	int max = c->max_participants > 0 ? c->max_participants : s->set.maxusers;

	ce_msg_setf(msg, "maxusers", "%d", max);
	if (!ce_msg_get(msg, "notify"))
		ce_msg_setf(msg, "notify", "%s%s", s->set.notify_prefix, c->room);
	if (!ce_msg_get(msg, "lonely"))
		ce_msg_set(msg, "lonely", "true");
	if (c->record && c->record_file && *c->record_file)
		ce_msg_set(msg, "record", c->record_file);
	else if (c->record) /* relative: the conference module files it under record_dir */
		ce_msg_setf(msg, "record", "%s-%" G_GINT64_FORMAT ".wav", c->room, c->id);
	ce_msg_setf(msg, "conference_id", "%" G_GINT64_FORMAT, c->id);
	/* the room's prompts (the end warnings among them) in the conference's language */
	if (c->language && *c->language && !ce_msg_get(msg, "lang"))
		ce_msg_set(msg, "lang", c->language);
	/* the row decides these, whatever the call said (docs/conference.md, "Coming and going") */
	ce_msg_set(msg, "announce_count", c->announce_count ? "true" : "false");
	ce_msg_set(msg, "announce_join", c->announce_join ? "true" : "false");
	ce_msg_set(msg, "wait_moderator", c->wait_for_moderator ? "true" : "false");
	ce_msg_set(msg, "end_with_moderator", c->end_with_moderator ? "true" : "false");
	ce_msg_set(msg, "muted_on_entry", c->muted_on_entry ? "true" : "false");
	apply_options(msg, c->options);
}

static void admit_ok(struct req *q, const struct ce_admission *a)
{
	struct sched *s = q->s;
	struct ce_msg *msg = q->join;
	struct ce_conference *c = a->conference;
	struct sconf *sc = ce_sched_track(s, c);
	const char *id = q->chan;
	guint n = g_hash_table_size(sc->callers);

	note_conference(q, c);
	if (c->max_participants > 0 && n >= (guint)c->max_participants &&
	        !(id && g_hash_table_contains(sc->callers, id))) {
		char *why = g_strdup_printf("full: conference %s has %u of %d participants",
		        c->room, n, c->max_participants);
		decide(q, CE_SCHED_FULL, "busy", why);
		g_free(why);
		return;
	}
	if (id) {
		gint64 *cid = g_new(gint64, 1);
		*cid = c->id;
		g_hash_table_replace(sc->callers, g_strdup(id), NULL);
		g_hash_table_replace(s->callers, g_strdup(id), cid);
	}
	sc->live = true;
	ce_msg_setf(msg, "callto", "conf/%s", c->room);
	ce_sched_room_params(s, msg, c);
	if (a->role == CE_ROLE_LISTENER)
		ce_msg_set(msg, "voice", "false");
	/* who the caller is, for the room's "joined" and so the monitor's events and CDRs */
	ce_msg_set(msg, "participant_role", ce_role_name(a->role));
	ce_msg_set(msg, "participant_direction", "in");
	if (a->participant) {
		ce_msg_setf(msg, "participant_id", "%" G_GINT64_FORMAT, a->participant->id);
		if (a->participant->name && *a->participant->name)
			ce_msg_set(msg, "participant_name", a->participant->name);
	}
	s->admitted++;
	decide(q, CE_SCHED_IN, NULL, NULL);
	g_info("admitted %s (%s) to conference %" G_GINT64_FORMAT " room %s as %s", id ? id : "?",
	        q->caller ? q->caller : "", c->id, c->room, ce_role_name(a->role));
}

/* "notstarted: the conference starts at 2026-12-06 10:30 CET", in the conference's time zone. */
static void refuse_not_started(struct req *q, const struct ce_conference *c)
{
	bool named = false;
	GDateTime *t = c ? ce_time_in_zone(c->starts_at, c->time_zone, &named) : NULL;
	char *when = t ? g_date_time_format(t, named ? "%Y-%m-%d %H:%M %Z" : "%Y-%m-%d %H:%M UTC")
	               : g_strdup("later");
	char *why = g_strdup_printf("notstarted: the conference starts at %s", when);

	note_conference(q, c);
	decide(q, CE_SCHED_NOT_STARTED, "forbidden", why);
	g_free(why);
	g_free(when);
	if (t)
		g_date_time_unref(t);
}

/* A wrong PIN: counted by the guard, which may lock the caller out from the next try. */
static void bad_pin(struct req *q)
{
	if (q->s)
		ce_guard_fail(q->s->guard, q->caller, q->gconf, ce_engine_now(q->s->ce));
	decide(q, CE_SCHED_BAD_PIN, "forbidden", "badpin: wrong PIN");
}

/*
 * No PIN where one is needed (@c: the conference, when the store named it:
 * a caller recognised by number whose conference wants the PIN anyway):
 * the lobby asks for it, or the call is refused.
 */
static void need_pin(struct req *q, const struct ce_conference *c)
{
	g_free(q->akey);
	q->akey = g_strdup(c && c->access_number ? c->access_number : q->key);
	if (q->msg && !q->guard && q->s->set.lobby) {
		ce_msg_set(q->msg, "callto", "lobby");
		ce_msg_set(q->msg, "lobby_key", q->key);
		q->s->lobbied++;
		g_info("sent %s (%s) to the lobby for the PIN of %s", q->chan ? q->chan : "?",
		        q->caller ? q->caller : "", q->key);
		q->v = CE_SCHED_NEED_PIN;
	} else if (!q->msg) {
		q->v = CE_SCHED_NEED_PIN; /* not a refusal: the lobby asks for it */
		q->error = g_strdup("forbidden");
		q->reason = g_strdup("pinrequired: the conference needs a PIN");
	} else {
		/* not noauth: Yate's SIP channel answers that with a 401 challenge,
		 * which a phone takes for its own credentials being wrong */
		decide(q, CE_SCHED_NEED_PIN, "forbidden",
		        "pinrequired: the conference needs a PIN");
	}
}

/* The database cannot answer: only callers of scheduled rooms notice on conf/ calls. */
static void unavailable(struct req *q, const char *why)
{
	if (!q->guard || (q->s && ce_sched_find_room(q->s, q->key)))
		decide(q, CE_SCHED_UNAVAILABLE, "service-unavailable", why);
}

/* The store's answer, on the main loop. */
static void on_admit(const struct ce_admission *a, void *arg)
{
	struct req *q = arg;

	if (q->done || !q->s)
		return;
	switch (a->result) {
	case CE_ADMIT_OK:
		admit_ok(q, a);
		break;
	case CE_ADMIT_NO_CONFERENCE:
		if (!q->guard)
			decide(q, CE_SCHED_NONE, "noroute",
			        "noconference: nothing scheduled under that number");
		break;
	case CE_ADMIT_NOT_STARTED:
		refuse_not_started(q, a->conference);
		break;
	case CE_ADMIT_ENDED:
		decide(q, CE_SCHED_ENDED, "forbidden", "ended: the conference is over");
		break;
	case CE_ADMIT_CANCELLED:
		decide(q, CE_SCHED_CANCELLED, "forbidden",
		        "cancelled: the conference was cancelled");
		break;
	case CE_ADMIT_PIN_REQUIRED:
		need_pin(q, a->conference);
		break;
	case CE_ADMIT_BAD_PIN:
		bad_pin(q);
		break;
	case CE_ADMIT_UNAVAILABLE:
	default:
		unavailable(q, "unavailable: the schedule database cannot be reached");
		break;
	}
	finish(q);
}

static gboolean on_timeout(gpointer data)
{
	struct req *q = data;

	q->timer = 0;
	g_message("the store did not answer within %u ms", q->s->set.admit_timeout_ms);
	unavailable(q, "unavailable: the schedule database did not answer in time");
	finish(q);
	return G_SOURCE_REMOVE;
}

/* The store is done with the query; one it dropped unanswered counts as unavailable. */
static void store_done(gpointer data)
{
	struct req *q = data;

	if (!q->done && q->s)
		unavailable(q, "unavailable: the schedule database cannot be reached");
	finish(q);
	req_unref(q);
}

/* A key the store is never asked about. */
static bool bad_key(const char *key)
{
	if (!*key || strlen(key) > CE_STORE_ACCESS_MAX)
		return true;
	for (const char *p = key; *p; p++) {
		if ((unsigned char)*p < 32)
			return true;
	}
	return false;
}

/*
 * The guard's name of the conference dialled as @key: the room of a
 * tracked conference (so its room and access number count as one), or
 * @key itself.
 */
static char *guard_conf(struct sched *s, const char *key)
{
	struct sconf *sc = ce_sched_find_key(s, key);

	return g_strdup(sc ? sc->c->room : key);
}

/* Decide what can be decided without the store; false: ask it. */
static bool decide_early(struct req *q, const char *pin)
{
	struct sched *s = q->s;

	if (!ce_store_of(s->ce)) {
		if (!q->guard)
			decide(q, CE_SCHED_UNAVAILABLE, "service-unavailable",
			        "unavailable: no schedule database");
		return true;
	}
	if (!pin || !*pin)
		return false;
	/* locked: refused before anything is compared, so guessing now tells nothing
	 * (conf/ calls too: whether NAME is scheduled is the database's to say) */
	q->locked_s = ce_guard_locked(s->guard, q->caller, q->gconf, ce_engine_now(s->ce));
	if (q->locked_s) {
		char *why = g_strdup_printf(
		        "locked: too many wrong PINs, try again in %u s", q->locked_s);
		decide(q, CE_SCHED_LOCKED, "forbidden", why);
		g_free(why);
		return true;
	}
	if (strlen(pin) > PIN_MAX) {
		bad_pin(q);
		return true;
	}
	return false;
}

/*
 * Decide @q: at once, or once the store answers; finish() completes it
 * either way.  Returns true when it waits for the store (@q lives on).
 */
static bool start(struct req *q, const char *pin)
{
	struct sched *s = q->s;

	q->gconf = guard_conf(s, q->key);
	if (decide_early(q, pin)) {
		finish(q);
		return false;
	}
	g_atomic_int_inc(&q->refs);
	if (ce_store_admit(ce_store_of(s->ce), q->key, pin, q->caller, ce_engine_now(s->ce),
	            on_admit, q, store_done) < 0) {
		g_atomic_int_add(&q->refs, -1); /* no destroy on failure; ours is still held */
		decide(q, CE_SCHED_UNAVAILABLE, "service-unavailable",
		        "unavailable: the store refused the query");
		finish(q);
		return false;
	}
	q->timer = g_timeout_add(s->set.admit_timeout_ms, on_timeout, q);
	s->pending = g_list_prepend(s->pending, q);
	q->link = s->pending;
	return true;
}

static struct req *req_new(struct sched *s, const char *key, const char *caller, const char *chan)
{
	struct req *q = g_new0(struct req, 1);

	q->s = s;
	q->refs = 1;
	q->key = g_strdup(key);
	q->caller = g_strdup(caller);
	q->chan = g_strdup(chan);
	return q;
}

static enum ce_msg_result execute(
        struct sched *s, struct ce_dispatch *d, struct ce_msg *msg, const char *key, bool guard)
{
	struct req *q = req_new(s, key, ce_msg_get(msg, "caller"), ce_msg_get(msg, "id"));

	q->callto = g_strdup(ce_msg_get_def(msg, "callto", ""));
	q->guard = guard;
	q->msg = ce_msg_ref(msg);
	q->join = q->msg;
	if (!start(q, ce_msg_get(msg, s->set.pin_param)))
		return CE_MSG_CONTINUE; /* decided at once (and freed): no deferring */
	q->d = d;
	return CE_MSG_DEFERRED;
}

static enum ce_msg_result on_execute(struct ce_dispatch *d, struct ce_msg *msg, void *arg)
{
	struct sched *s = arg;
	const char *callto = ce_msg_get_def(msg, "callto", "");

	if (g_str_has_prefix(callto, "schedule/")) {
		if (bad_key(callto + 9)) {
			struct req *q = req_new(
			        s, callto + 9, ce_msg_get(msg, "caller"), ce_msg_get(msg, "id"));
			q->callto = g_strdup(callto);
			q->msg = ce_msg_ref(msg);
			decide(q, CE_SCHED_NONE, "noroute",
			        "noconference: not a valid conference number");
			finish(q);
			return CE_MSG_CONTINUE;
		}
		return execute(s, d, msg, callto + 9, false);
	}
	if (s->set.guard_rooms && g_str_has_prefix(callto, "conf/") && !bad_key(callto + 5) &&
	        !ce_msg_get(msg, "ce_dialout"))
		return execute(s, d, msg, callto + 5, true);
	return CE_MSG_CONTINUE;
}

/** ce_sched_admit_init() - the PIN guard and the call.execute handler */
int ce_sched_admit_init(struct sched *s)
{
	int id = ce_guard_new(&s->guard, &s->set.guard);
	unsigned u;

	if (id == 0)
		id = ce_bus_install(s->bus, "call.execute", s->set.priority, NULL, NULL, 0,
		        on_execute, s, NULL);
	if (id < 0)
		return id;
	u = (unsigned)id;
	g_array_append_val(s->hooks, u);
	return 0;
}

/**
 * ce_sched_admit_exit() - remove the handler; callers still waiting are
 * refused and askers answered UNAVAILABLE (later, on the main loop)
 */
void ce_sched_admit_exit(struct sched *s)
{
	for (guint i = 0; s->hooks && i < s->hooks->len; i++)
		ce_bus_uninstall(s->bus, g_array_index(s->hooks, unsigned, i));
	if (s->hooks)
		g_array_set_size(s->hooks, 0);
	while (s->pending) {
		struct req *q = s->pending->data;
		decide(q, CE_SCHED_UNAVAILABLE, "service-unavailable",
		        "unavailable: shutting down");
		finish(q);
		q->s = NULL; /* the store frees it later */
	}
	g_clear_pointer(&s->guard, ce_guard_free);
}

/** ce_sched_verdict_name() - "in", "need-pin", "bad-pin", ... for logs and tests */
const char *ce_sched_verdict_name(enum ce_sched_verdict v)
{
	static const char *const names[] = {
	        [CE_SCHED_IN] = "in",
	        [CE_SCHED_NEED_PIN] = "need-pin",
	        [CE_SCHED_BAD_PIN] = "bad-pin",
	        [CE_SCHED_LOCKED] = "locked",
	        [CE_SCHED_NOT_STARTED] = "not-started",
	        [CE_SCHED_ENDED] = "ended",
	        [CE_SCHED_CANCELLED] = "cancelled",
	        [CE_SCHED_NONE] = "none",
	        [CE_SCHED_FULL] = "full",
	        [CE_SCHED_UNAVAILABLE] = "unavailable",
	};

	return (unsigned)v < G_N_ELEMENTS(names) && names[v] ? names[v] : "?";
}

/*
 * A question answered without asking: later, on the main loop, like any
 * other answer.
 */
static struct ce_sched_query *answer_later(
        struct req *q, enum ce_sched_verdict v, const char *error, const char *reason)
{
	decide(q, v, error, reason);
	finish(q);
	return (struct ce_sched_query *)q;
}

/**
 * ce_schedule_ask() - is @qa's caller admitted (schedule.h)?  @cb(@arg)
 * runs once, later on the main loop, unless ce_schedule_cancel() comes
 * first.  Returns the query (valid until @cb returns), or NULL without a
 * schedule module (then @cb never runs).
 */
struct ce_sched_query *ce_schedule_ask(
        struct ce_engine *ce, const struct ce_sched_ask *qa, ce_sched_answer_h *cb, void *arg)
{
	struct sched *s = ce_engine_service(ce, "schedule");
	struct req *q;

	if (!s || !qa || !cb)
		return NULL;
	q = req_new(s, qa->key ? qa->key : "", qa->caller, qa->chan);
	q->callto = g_strdup_printf("schedule/%s", q->key);
	q->cb = cb;
	q->arg = arg;
	ce_msg_new(&q->join, "call.execute");
	/* no number: the store looks for a conference the caller's number belongs to */
	if (!*q->key && !(qa->caller && *qa->caller))
		return answer_later(
		        q, CE_SCHED_NONE, "noroute", "noconference: no conference number given");
	if (*q->key && bad_key(q->key))
		return answer_later(
		        q, CE_SCHED_NONE, "noroute", "noconference: not a valid conference number");
	start(q, qa->pin);
	return (struct ce_sched_query *)q;
}

/**
 * ce_schedule_cancel() - the asker no longer wants the answer of @query:
 * its callback will not run.  NULL, or a query whose callback is running,
 * is a no-op.  The store may still finish the lookup (its answer is dropped).
 */
void ce_schedule_cancel(struct ce_sched_query *query)
{
	struct req *q = (struct req *)query;

	if (!q || !q->cb)
		return;
	q->cb = NULL;
	if (q->idle) {
		g_source_remove(q->idle);
		q->idle = 0;
		req_unref(q);
		return;
	}
	finish(q); /* not yet decided: drops the decision's reference */
}
