/* admit.c - admission of callers to scheduled conferences: window, PIN, capacity, refusals */
#define G_LOG_DOMAIN "schedule"

#include <errno.h>
#include <string.h>

#include "bus.h"
#include "engine.h"
#include "message.h"
#include "modules/schedule/schedule-priv.h"
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
 * or refuses it: error=<Yate error> reason=<text> callto=- and goes on, so
 * no driver takes the call and Yate rejects the caller with our error.
 * conf/NAME calls are checked the same way when NAME is a scheduled room
 * (guard_rooms); other rooms pass untouched.
 */

#define PIN_MAX 1024 /* longer PINs are refused without asking the database */

struct req {
	struct sched *s;
	struct ce_dispatch *d;
	struct ce_msg *msg;
	bool guard; /* a conf/ call: only scheduled rooms are checked */
	guint timer;
	GList *link;
};

/* Parameters a conference row's "options" may set (Yate's room parameters). */
static const char *const room_options[] = {"maxusers", "lonely", "notify", "record", "recordwarn",
        "speakers", "interval", "rate", "voice", "echo", "smart", "billing"};

static void finish(struct req *q)
{
	struct ce_dispatch *d = q->d;

	if (!d)
		return;
	q->d = NULL;
	if (q->timer)
		g_source_remove(q->timer);
	q->timer = 0;
	if (q->s && q->link) {
		q->s->pending = g_list_delete_link(q->s->pending, q->link);
		q->link = NULL;
	}
	/* never "handled": the conference module or Yate's router takes it from here */
	ce_dispatch_complete(d, false);
}

static void refuse(struct sched *s, struct ce_msg *msg, const char *error, const char *reason)
{
	g_message("refused %s (%s) to %s: %s: %s", ce_msg_get_def(msg, "id", "?"),
	        ce_msg_get_def(msg, "caller", ""), ce_msg_get_def(msg, "callto", ""), error,
	        reason);
	ce_msg_set(msg, "error", error);
	ce_msg_set(msg, "reason", reason);
	ce_msg_set(msg, "callto", "-");
	s->refused++;
}

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

static void admit_ok(struct sched *s, struct ce_msg *msg, const struct ce_admission *a)
{
	struct ce_conference *c = a->conference;
	struct sconf *sc = ce_sched_track(s, c);
	const char *id = ce_msg_get(msg, "id");
	guint n = g_hash_table_size(sc->callers);

	if (c->max_participants > 0 && n >= (guint)c->max_participants &&
	        !(id && g_hash_table_contains(sc->callers, id))) {
		char *why = g_strdup_printf("full: conference %s has %u of %d participants",
		        c->room, n, c->max_participants);
		refuse(s, msg, "busy", why);
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
	g_info("admitted %s (%s) to conference %" G_GINT64_FORMAT " room %s as %s", id ? id : "?",
	        ce_msg_get_def(msg, "caller", ""), c->id, c->room, ce_role_name(a->role));
}

static void refuse_not_started(struct sched *s, struct ce_msg *msg, const struct ce_conference *c)
{
	GDateTime *t = c ? g_date_time_new_from_unix_utc(c->starts_at / G_USEC_PER_SEC) : NULL;
	char *when = t ? g_date_time_format(t, "%Y-%m-%d %H:%M UTC") : g_strdup("later");
	char *why = g_strdup_printf("notstarted: the conference starts at %s", when);

	refuse(s, msg, "forbidden", why);
	g_free(why);
	g_free(when);
	if (t)
		g_date_time_unref(t);
}

/* The store's answer, on the main loop. */
static void on_admit(const struct ce_admission *a, void *arg)
{
	struct req *q = arg;
	struct sched *s = q->s;

	if (!q->d || !s)
		return;
	switch (a->result) {
	case CE_ADMIT_OK:
		admit_ok(s, q->msg, a);
		break;
	case CE_ADMIT_NO_CONFERENCE:
		if (!q->guard)
			refuse(s, q->msg, "noroute",
			        "noconference: nothing scheduled under that number");
		break;
	case CE_ADMIT_NOT_STARTED:
		refuse_not_started(s, q->msg, a->conference);
		break;
	case CE_ADMIT_ENDED:
		refuse(s, q->msg, "forbidden", "ended: the conference is over");
		break;
	case CE_ADMIT_CANCELLED:
		refuse(s, q->msg, "forbidden", "cancelled: the conference was cancelled");
		break;
	case CE_ADMIT_PIN_REQUIRED:
		/* not noauth: Yate's SIP channel answers that with a 401 challenge,
		 * which a phone takes for its own credentials being wrong */
		refuse(s, q->msg, "forbidden", "pinrequired: the conference needs a PIN");
		break;
	case CE_ADMIT_BAD_PIN:
		refuse(s, q->msg, "forbidden", "badpin: wrong PIN");
		break;
	case CE_ADMIT_UNAVAILABLE:
	default:
		if (!q->guard || ce_sched_find_room(s, ce_msg_get(q->msg, "callto") + 5))
			refuse(s, q->msg, "service-unavailable",
			        "unavailable: the schedule database cannot be reached");
		break;
	}
	finish(q);
}

static gboolean on_timeout(gpointer data)
{
	struct req *q = data;

	q->timer = 0;
	g_message("the store did not answer within %u ms", q->s->set.admit_timeout_ms);
	if (!q->guard || ce_sched_find_room(q->s, ce_msg_get(q->msg, "callto") + 5))
		refuse(q->s, q->msg, "service-unavailable",
		        "unavailable: the schedule database did not answer in time");
	finish(q);
	return G_SOURCE_REMOVE;
}

static void req_free(gpointer data)
{
	struct req *q = data;

	finish(q);
	ce_msg_unref(q->msg);
	g_free(q);
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

static enum ce_msg_result start(
        struct sched *s, struct ce_dispatch *d, struct ce_msg *msg, const char *key, bool guard)
{
	const char *pin = ce_msg_get(msg, s->set.pin_param);
	struct ce_store *st = ce_store_of(s->ce);
	struct req *q;

	if (!st) {
		if (!guard)
			refuse(s, msg, "service-unavailable", "unavailable: no schedule database");
		return CE_MSG_CONTINUE;
	}
	if (pin && strlen(pin) > PIN_MAX) {
		refuse(s, msg, "forbidden", "badpin: wrong PIN");
		return CE_MSG_CONTINUE;
	}
	q = g_new0(struct req, 1);
	q->s = s;
	q->msg = ce_msg_ref(msg);
	q->guard = guard;
	if (ce_store_admit(st, key, pin, ce_engine_now(s->ce), on_admit, q, req_free) < 0) {
		ce_msg_unref(q->msg);
		g_free(q);
		refuse(s, msg, "service-unavailable", "unavailable: the store refused the query");
		return CE_MSG_CONTINUE;
	}
	q->d = d;
	q->timer = g_timeout_add(s->set.admit_timeout_ms, on_timeout, q);
	s->pending = g_list_prepend(s->pending, q);
	q->link = s->pending;
	return CE_MSG_DEFERRED;
}

static enum ce_msg_result on_execute(struct ce_dispatch *d, struct ce_msg *msg, void *arg)
{
	struct sched *s = arg;
	const char *callto = ce_msg_get_def(msg, "callto", "");

	if (g_str_has_prefix(callto, "schedule/")) {
		if (bad_key(callto + 9)) {
			refuse(s, msg, "noroute", "noconference: not a valid conference number");
			return CE_MSG_CONTINUE;
		}
		return start(s, d, msg, callto + 9, false);
	}
	if (s->set.guard_rooms && g_str_has_prefix(callto, "conf/") && !bad_key(callto + 5) &&
	        !ce_msg_get(msg, "ce_dialout"))
		return start(s, d, msg, callto + 5, true);
	return CE_MSG_CONTINUE;
}

/** ce_sched_admit_init() - install the call.execute handler */
int ce_sched_admit_init(struct sched *s)
{
	int id = ce_bus_install(
	        s->bus, "call.execute", s->set.priority, NULL, NULL, 0, on_execute, s, NULL);
	unsigned u;

	if (id < 0)
		return id;
	u = (unsigned)id;
	g_array_append_val(s->hooks, u);
	return 0;
}

/** ce_sched_admit_exit() - remove the handler; callers still waiting are refused */
void ce_sched_admit_exit(struct sched *s)
{
	for (guint i = 0; s->hooks && i < s->hooks->len; i++)
		ce_bus_uninstall(s->bus, g_array_index(s->hooks, unsigned, i));
	if (s->hooks)
		g_array_set_size(s->hooks, 0);
	while (s->pending) {
		struct req *q = s->pending->data;
		refuse(s, q->msg, "service-unavailable", "unavailable: shutting down");
		finish(q);
		q->s = NULL; /* the store frees it later */
	}
}
