/* conf-fixture.h - the conference module on a bare bus, with a scripted Yate uplink and a fake
 * media side */
#ifndef CE_TEST_CONF_FIXTURE_H
#define CE_TEST_CONF_FIXTURE_H

#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "conf-engine/bus.h"
#include "conf-engine/config.h"
#include "conf-engine/log.h"
#include "conf-engine/yate.h"
#include "conf-engine/message.h"
#include "modules/conference/leg.h"
#include "modules/conference/media-glue.h"
#include "modules/conference/room.h"
#include "media/tone.h"

/*
 * Messages the module sends to "Yate" are queued; fx_flush() answers them
 * the way Yate 6.4.1 did in transcripts 1 and 2 (chan.rtp: true with
 * localip/localport; call.answered: false; call.execute masquerade: true
 * with peerid=dumb/N; the engine's own call.execute callto=dumb/ with
 * target=: true with id=dumb/N; call.drop: true; chan.notify: false; chan.locate:
 * true for the channels of fx->yate_has).  Every sent
 * message is also logged as "name:k=v:k=v..." for exact comparisons.
 */

struct fx_leg {
	void *cookie;
	unsigned flags;
	int talk_db, listen_db; /* leg_set_gain's */
	bool started;
	char ip[64];
	unsigned port;
	enum ce_codec codec;
	bool direct;  /* a phone's own RTP (media bypass) */
	int dtmf_pt;  /* ... its telephone-event payload type */
	char sig[64]; /* ... and where its SIP came from */
	int pt;       /* ... its payload type when the codec has no static one (Opus) */
	bool fec;     /* ... and whether it takes in-band FEC */
};

struct fx_pending {
	struct ce_msg *msg;
	ce_msg_done_h *done;
	void *arg;
};

struct fx {
	struct ce_bus *bus;
	struct ce_config *cfg;
	struct ce_conf *conf;
	GPtrArray *sent; /* char * lines */
	GQueue pending;  /* struct fx_pending * */
	gint64 now;
	int rooms, legs;    /* live fake media objects */
	unsigned rate;      /* the rate the last room was made with */
	unsigned next_dumb; /* for call.execute masquerades */
	bool rtp_fail;      /* answer chan.rtp with false */
	bool media_fail;    /* leg_new fails */
	bool exec_fail;     /* a call.execute of the engine's (recorder) fails */
	char *record;       /* last recording path */
	char *dir;          /* [conference] record_dir: a fresh directory */
	char *path;         /* fx_path()'s last answer */
	GString *plays; /* "room:PATH\n", "leg dumb/N:PATH\n", "others dumb/N:PATH\n", "stop ..." */
	int play_err;   /* what room_play and leg_play answer (0: they log the play) */
	const char *yate_has; /* " dumb/1 dumb/3 ": the channels chan.locate finds */
	GString *moves;       /* "dumb/N:ROOM\n" for each leg_move */
	int move_err;         /* what leg_move answers (0: it logs the move) */
	unsigned relays;
};

static inline char *fx_format(const struct ce_msg *m)
{
	GString *s = g_string_new(m->name);

	for (unsigned i = 0; i < ce_msg_count(m); i++) {
		const struct ce_param *p = ce_msg_param(m, i);

		g_string_append_printf(s, ":%s=%s", p->name, p->value ? p->value : "");
	}
	return g_string_free(s, FALSE);
}

static inline struct ce_msg *fx_msg(const char *name, const char *params)
{
	struct ce_msg *m = NULL;
	char **kv = g_strsplit(params, ":", -1);

	ce_msg_new(&m, name);
	for (char **p = kv; *p; p++) {
		char *eq = strchr(*p, '=');

		if (!**p)
			continue;
		if (eq) {
			*eq = 0;
			ce_msg_add(m, *p, eq + 1);
		} else {
			ce_msg_add(m, *p, "");
		}
	}
	g_strfreev(kv);
	return m;
}

/* ---- fake media ---- */

static inline int fm_open(void *arg, ce_room_event_h *evh, void *evarg)
{
	(void)arg;
	(void)evh;
	(void)evarg;
	return 0;
}

static inline void fm_close(void *arg)
{
	(void)arg;
}

static inline int fm_room_new(void *arg, struct ce_room_media **rp, const char *name, unsigned rate,
        unsigned speakers, unsigned interval_ms, unsigned port, void *cookie)
{
	struct fx *fx = arg;

	(void)port;
	(void)name;
	(void)speakers;
	(void)interval_ms;
	fx->rooms++;
	fx->rate = rate;
	*rp = (struct ce_room_media *)cookie;
	return 0;
}

static inline void fm_room_free(void *arg, struct ce_room_media *r)
{
	struct fx *fx = arg;

	(void)r;
	fx->rooms--;
}

static inline int fm_room_record(void *arg, struct ce_room_media *r, const char *path, int fd)
{
	struct fx *fx = arg;

	(void)r;
	if (fd >= 0)
		close(fd);
	g_free(fx->record);
	fx->record = g_strdup(path);
	return 0;
}

/* A prompt as the fake media logs it: the file ("FILE (loop)" looped), or tone/NAME@MS. */
static inline void fm_prompt(GString *out, const struct ce_media_prompt *p)
{
	if (p->path)
		g_string_append_printf(out, "%s%s\n", p->path, p->loop ? " (loop)" : "");
	else
		g_string_append_printf(out, "tone/%s@%u\n", p->tone->name, p->duration_ms);
}

static inline int fm_room_play(void *arg, struct ce_room_media *r, const struct ce_media_prompt *p)
{
	struct fx *fx = arg;

	(void)r;
	if (fx->play_err)
		return fx->play_err;
	g_string_append(fx->plays, "room:");
	fm_prompt(fx->plays, p);
	return 0;
}

static inline int fm_leg_play(
        void *arg, struct ce_leg_media *cl, const struct ce_media_prompt *p, bool others)
{
	struct fx *fx = arg;
	struct ce_leg *leg = ((struct fx_leg *)cl)->cookie;

	if (fx->play_err)
		return fx->play_err;
	g_string_append_printf(fx->plays, "%s %s:", others ? "others" : "leg", leg->id);
	fm_prompt(fx->plays, p);
	return 0;
}

static inline int fm_stop_play(
        void *arg, struct ce_room_media *r, struct ce_leg_media *cl, bool others)
{
	struct fx *fx = arg;

	(void)r;
	if (cl && !others)
		g_string_append_printf(fx->plays, "stop leg %s\n",
		        ((struct ce_leg *)((struct fx_leg *)cl)->cookie)->id);
	else
		g_string_append(fx->plays, "stop room\n");
	return 2;
}

static inline int fm_leg_new(void *arg, struct ce_leg_media **lp, struct ce_room_media *r,
        unsigned flags, void *cookie, unsigned *port)
{
	struct fx *fx = arg;
	struct fx_leg *l;

	(void)r;
	if (fx->media_fail)
		return -EADDRINUSE;
	l = g_new0(struct fx_leg, 1);
	l->cookie = cookie;
	l->flags = flags;
	fx->legs++;
	*port = 40000;
	*lp = (struct ce_leg_media *)l;
	return 0;
}

static inline int fm_leg_start(void *arg, struct ce_leg_media *cl, const struct ce_leg_remote *rem)
{
	struct fx_leg *l = (struct fx_leg *)cl;

	(void)arg;
	l->started = true;
	g_strlcpy(l->ip, rem->ip, sizeof(l->ip));
	l->port = rem->port;
	l->codec = rem->codec;
	l->direct = rem->direct;
	l->dtmf_pt = rem->direct ? rem->dtmf_pt : -1;
	g_strlcpy(l->sig, rem->direct && rem->sig_ip ? rem->sig_ip : "", sizeof(l->sig));
	l->pt = rem->direct ? rem->pt : 0;
	l->fec = rem->direct && rem->fec;
	return 0;
}

static inline int fm_leg_set_codec(void *arg, struct ce_leg_media *cl, enum ce_codec codec)
{
	(void)arg;
	((struct fx_leg *)cl)->codec = codec;
	return 0;
}

static inline void fm_leg_set_flags(void *arg, struct ce_leg_media *cl, unsigned flags)
{
	(void)arg;
	((struct fx_leg *)cl)->flags = flags;
}

static inline int fm_leg_move(void *arg, struct ce_leg_media *cl, struct ce_room_media *r)
{
	struct fx *fx = arg;

	if (fx->move_err)
		return fx->move_err;
	g_string_append_printf(fx->moves, "%s:%s\n",
	        ((struct ce_leg *)((struct fx_leg *)cl)->cookie)->id, ((struct ce_room *)r)->name);
	return 0;
}

static inline void fm_leg_set_gain(void *arg, struct ce_leg_media *cl, int talk_db, int listen_db)
{
	(void)arg;
	((struct fx_leg *)cl)->talk_db = talk_db;
	((struct fx_leg *)cl)->listen_db = listen_db;
}

static inline void fm_leg_free(void *arg, struct ce_leg_media *cl)
{
	struct fx *fx = arg;

	fx->legs--;
	g_free(cl);
}

static const struct ce_media_glue_ops fx_media_ops = {
        .open = fm_open,
        .close = fm_close,
        .room_new = fm_room_new,
        .room_free = fm_room_free,
        .room_record = fm_room_record,
        .room_play = fm_room_play,
        .leg_play = fm_leg_play,
        .stop_play = fm_stop_play,
        .leg_new = fm_leg_new,
        .leg_start = fm_leg_start,
        .leg_set_codec = fm_leg_set_codec,
        .leg_set_flags = fm_leg_set_flags,
        .leg_move = fm_leg_move,
        .leg_set_gain = fm_leg_set_gain,
        .leg_free = fm_leg_free,
};

/* ---- fake uplink ---- */

static inline void fu_relay(
        void *arg, const char *name, int prio, const char *fname, const char *fvalue)
{
	struct fx *fx = arg;

	(void)name;
	(void)fname;
	(void)fvalue;
	if (prio >= 0)
		fx->relays++;
}

static inline void fu_watch(void *arg, const char *name, bool on)
{
	(void)arg;
	(void)name;
	(void)on;
}

static inline void fu_send(
        void *arg, struct ce_msg *msg, unsigned timeout_ms, ce_msg_done_h *done, void *done_arg)
{
	struct fx *fx = arg;
	struct fx_pending *p = g_new0(struct fx_pending, 1);

	(void)timeout_ms;
	g_ptr_array_add(fx->sent, fx_format(msg));
	p->msg = ce_msg_ref(msg);
	p->done = done;
	p->arg = done_arg;
	g_queue_push_tail(&fx->pending, p);
}

static const struct ce_uplink_ops fx_uplink = {
        .relay = fu_relay,
        .watch = fu_watch,
        .send = fu_send,
};

/* Yate's answer to one message, as in the transcripts. */
static inline bool fx_answer(struct fx *fx, struct ce_msg *m)
{
	const char *what = ce_msg_get_def(m, "message", "");

	if (!strcmp(m->name, "chan.masquerade") && !strcmp(what, "chan.rtp")) {
		ce_msg_set_name(m, "chan.rtp");
		ce_msg_remove(m, "message");
		if (fx->rtp_fail)
			return false;
		ce_msg_set(m, "localip", "127.0.0.1");
		ce_msg_set(m, "localport", "23614");
		ce_msg_set(m, "rtpid", "yrtp/2073922981");
		ce_msg_set(m, "status", "created");
		return true;
	}
	if (!strcmp(m->name, "chan.masquerade") && !strcmp(what, "call.execute")) {
		ce_msg_set_name(m, "call.execute");
		ce_msg_remove(m, "message");
		ce_msg_setf(m, "peerid", "dumb/%u", ++fx->next_dumb);
		return true;
	}
	if (!strcmp(m->name, "call.execute") && !g_strcmp0(ce_msg_get(m, "callto"), "dumb/")) {
		/* Yate's dumb driver calls out only with target= (direct= alone fails) */
		if (fx->exec_fail || !ce_msg_get(m, "target"))
			return false;
		ce_msg_setf(m, "id", "dumb/%u", ++fx->next_dumb);
		return true;
	}
	if (!strcmp(m->name, "chan.masquerade")) {
		ce_msg_set_name(m, what);
		ce_msg_remove(m, "message");
		return false;
	}
	if (!strcmp(m->name, "chan.locate")) {
		char *id = g_strdup_printf(" %s ", ce_msg_get_def(m, "id", ""));
		bool has = fx->yate_has && strstr(fx->yate_has, id);

		g_free(id);
		return has; /* Yate's Driver answers for its own channels */
	}
	/* ysipchan takes our answer to a phone's re-INVITE (bypass.c) */
	if (!strcmp(m->name, "call.update"))
		return !g_strcmp0(ce_msg_get(m, "operation"), "notify");
	return !strcmp(m->name, "call.drop");
}

/* Answer the oldest queued message; false if there was none. */
static inline bool fx_flush_one(struct fx *fx)
{
	struct fx_pending *p = g_queue_pop_head(&fx->pending);
	bool ok;

	if (!p)
		return false;
	ok = fx_answer(fx, p->msg);
	if (p->done)
		p->done(p->msg, ok, p->arg);
	ce_msg_unref(p->msg);
	g_free(p);
	return true;
}

/* Answer every queued message (and those sent meanwhile). */
static inline void fx_flush(struct fx *fx)
{
	while (fx_flush_one(fx))
		;
}

/* Dispatch ce-link's CE_LINK_MSG with @params (state=up/down, runid=...) and let it settle. */
static inline void fx_link_event(struct fx *fx, const char *params)
{
	struct ce_msg *m = fx_msg(CE_LINK_MSG, params);

	ce_bus_dispatch(fx->bus, m, NULL, NULL);
	ce_msg_unref(m);
	fx_flush(fx);
}

static inline void fx_warn_sink(
        enum ce_log_level level, const char *domain, const char *text, void *arg)
{
	(void)domain;
	if (level <= CE_LOG_WARN)
		g_string_append_printf(arg, "%s\n", text);
}

/*
 * For a test of what the module warns (what an operator reads): its
 * warnings go to the returned string instead of aborting the test.
 */
static inline GString *fx_collect_warnings(void)
{
	GString *warned = g_string_new(NULL);

	ce_log_init();
	ce_log_set_sink(fx_warn_sink, warned);
	g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
	return warned;
}

static inline gint64 fx_clock(void *arg)
{
	return ((struct fx *)arg)->now;
}

static inline struct fx *fx_new(const char *conf_text)
{
	struct fx *fx = g_new0(struct fx, 1);
	GError *err = NULL;

	g_assert_cmpint(ce_bus_new(&fx->bus), ==, 0);
	ce_bus_set_uplink(fx->bus, &fx_uplink, fx);
	g_assert_cmpint(
	        ce_config_parse(&fx->cfg, conf_text ? conf_text : "", -1, "test.conf", &err), ==,
	        0);
	fx->sent = g_ptr_array_new_with_free_func(g_free);
	fx->plays = g_string_new(NULL);
	fx->moves = g_string_new(NULL);
	fx->now = 1000000000;
	g_assert_cmpint(ce_conf_new(&fx->conf, fx->bus, fx->cfg, &fx_media_ops, fx), ==, 0);
	fx->conf->clock = fx_clock;
	fx->conf->clock_arg = fx;
	/* recordings are files, created under record_dir: a directory of the test's */
	fx->dir = g_dir_make_tmp("ce-fx-XXXXXX", NULL);
	g_assert_nonnull(fx->dir);
	g_free(fx->conf->set.record_dir);
	fx->conf->set.record_dir = g_strdup(fx->dir);
	return fx;
}

/* Remove @path: a file, a link, or a directory and what it holds. */
static inline void fx_rm(const char *path)
{
	GDir *d = g_file_test(path, G_FILE_TEST_IS_SYMLINK) ? NULL : g_dir_open(path, 0, NULL);
	const char *name;

	while (d && (name = g_dir_read_name(d))) {
		char *p = g_build_filename(path, name, NULL);

		fx_rm(p);
		g_free(p);
	}
	if (d)
		g_dir_close(d);
	g_remove(path);
}

/* @name in the fixture's record_dir (valid until the next call). */
static inline const char *fx_path(struct fx *fx, const char *name)
{
	g_free(fx->path);
	fx->path = g_build_filename(fx->dir, name, NULL);
	return fx->path;
}

static inline void fx_free(struct fx *fx)
{
	ce_conf_free(fx->conf);
	fx_flush(fx);
	g_assert_cmpint(fx->legs, ==, 0);
	g_assert_cmpint(fx->rooms, ==, 0);
	ce_bus_free(fx->bus);
	ce_config_free(fx->cfg);
	g_ptr_array_free(fx->sent, TRUE);
	g_free(fx->record);
	fx_rm(fx->dir);
	g_free(fx->dir);
	g_free(fx->path);
	g_string_free(fx->plays, TRUE);
	g_string_free(fx->moves, TRUE);
	g_free(fx);
}

static inline void fx_clear(struct fx *fx)
{
	g_ptr_array_set_size(fx->sent, 0);
}

/* Sent lines whose text starts with @prefix, in order, as one "\n"-joined string. */
static inline char *fx_sent(struct fx *fx, const char *prefix)
{
	GString *s = g_string_new("");

	for (unsigned i = 0; i < fx->sent->len; i++) {
		const char *l = g_ptr_array_index(fx->sent, i);

		if (g_str_has_prefix(l, prefix))
			g_string_append_printf(s, "%s\n", l);
	}
	return g_string_free(s, FALSE);
}

static inline void fx_expect_sent(struct fx *fx, const char *prefix, const char *expect)
{
	char *got = fx_sent(fx, prefix);

	g_assert_cmpstr(got, ==, expect);
	g_free(got);
}

struct fx_result {
	bool done, handled;
	struct ce_msg *msg;
};

static inline void fx_done(struct ce_msg *msg, bool handled, void *arg)
{
	struct fx_result *r = arg;

	r->done = true;
	r->handled = handled;
	r->msg = ce_msg_ref(msg);
}

/*
 * Yate delivers @name with @params through our relay; returns the
 * answer's parameters that changed ("k=v:k=v", as yate.c would send them)
 * and *handled.  Deferred dispatches are finished by answering whatever
 * the module sent meanwhile.
 */
static inline char *fx_dispatch_msg(struct fx *fx, struct ce_msg *m, bool *handled);

static inline char *fx_dispatch(struct fx *fx, const char *name, const char *params, bool *handled)
{
	struct ce_msg *m = fx_msg(name, params);
	char *ans = fx_dispatch_msg(fx, m, handled);

	ce_msg_unref(m);
	return ans;
}

/* The same with message @m as built by the caller (values with ':', CR, LF: raw SDP). */
static inline char *fx_dispatch_msg(struct fx *fx, struct ce_msg *m, bool *handled)
{
	struct ce_msg *before = NULL;
	struct fx_result r = {0};
	GString *s = g_string_new("");

	ce_msg_copy(&before, m);
	ce_bus_dispatch_uplink(fx->bus, m, fx_done, &r);
	for (int i = 0; i < 10 && !r.done; i++)
		fx_flush(fx);
	g_assert_true(r.done);
	for (unsigned i = 0; i < ce_msg_count(r.msg); i++) {
		const struct ce_param *p = ce_msg_param(r.msg, i);

		if (g_strcmp0(ce_msg_get(before, p->name), p->value))
			g_string_append_printf(s, "%s%s=%s", s->len ? ":" : "", p->name, p->value);
	}
	if (handled)
		*handled = r.handled;
	ce_msg_unref(r.msg);
	ce_msg_unref(before);
	return g_string_free(s, FALSE);
}

/* Yate reports a dispatched message to our watchers. */
static inline void fx_watch(struct fx *fx, const char *name, const char *params, bool handled)
{
	struct ce_msg *m = fx_msg(name, params);

	ce_bus_notify_uplink(fx->bus, m, handled);
	ce_msg_unref(m);
}

/*
 * A whole join as in transcript 1: call.execute for conf/@room from
 * caller @peer with @extra parameters, Yate's dumb driver makes dumb/@n,
 * RTP and answer.  Returns the leg.
 */
static inline struct ce_leg *fx_join_to(
        struct fx *fx, const char *callto, const char *peer, unsigned n, const char *extra)
{
	char *params =
	        g_strdup_printf("module=tone:called=802:caller=tone/busy:%s%scallto=%s:id=%s",
	                extra ? extra : "", extra && *extra ? ":" : "", callto, peer);
	char *ans = fx_dispatch(fx, "call.execute", params, NULL);
	char *dumb = g_strdup_printf("dumb/%u", n);
	struct ce_msg *a = fx_msg("answer", ans), *m = fx_msg("call.execute", params);
	struct ce_leg *leg;

	g_assert_true(g_str_has_prefix(ans, "callto=dumb/:ce_room="));
	ce_msg_set(m, "callto", "dumb/");
	ce_msg_set(m, "ce_room", ce_msg_get(a, "ce_room"));
	ce_msg_set(m, "peerid", dumb);
	ce_msg_set(m, "targetid", dumb);
	ce_msg_set(m, "autoring", "true");
	ce_bus_notify_uplink(fx->bus, m, true);
	fx_flush(fx);
	leg = ce_leg_find(fx->conf, dumb);
	ce_msg_unref(a);
	ce_msg_unref(m);
	g_free(dumb);
	g_free(ans);
	g_free(params);
	return leg;
}

static inline struct ce_leg *fx_join(
        struct fx *fx, const char *room, const char *peer, unsigned n, const char *extra)
{
	char *callto = g_strdup_printf("conf/%s", room);
	struct ce_leg *leg = fx_join_to(fx, callto, peer, n, extra);

	g_free(callto);
	return leg;
}

/* The media side reports that a prompt to @leg alone has played to its end. */
static inline void fx_prompt_done(struct fx *fx, struct ce_leg *leg)
{
	struct ce_room_event ev;

	(void)fx;
	ce_room_event_init(&ev, CE_EVENT_PROMPT_DONE);
	ev.room_data = leg->room;
	ev.leg_data = leg;
	ce_conf_media_event(&ev, NULL);
}

#endif
