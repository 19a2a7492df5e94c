/* serve.c - Yate's answers to a module's lines: messages, installs, watches, setlocal, errors */
/*
 *   A: %%>install:50:call.execute          E: %%<install:50:call.execute:true
 *   E: %%>message:0x7fa1afb7c130.1804289383:1795326762:call.execute::callto=conf/r1:...
 *   A: %%<message:0x7fa1afb7c130.1804289383:false:::callto=dumb/:ce_room=r1
 *   A: %%>setlocal:engine.version:         E: %%<setlocal:engine.version:6.4.1:true
 *   A: %%>bogus                            E: Error in: %%>bogus
 *
 * A message relayed to a module waits at most its timeout (10 s unless
 * changed); then the dispatch goes on as if the module had said false, as
 * Yate does, and the simulator reports the timeout.
 */
#define G_LOG_DOMAIN "sim"

#include <stdlib.h>
#include <string.h>

#include "protocol.h"
#include "mod.h"

/** A Yate-looking message id: the holder's address and a random number. */
char *ce_sim_yate_id(void)
{
	static uintptr_t base = 0x7fa1afb7c000;

	base += 0x130;
	return g_strdup_printf(
	        "0x%" G_GINTPTR_MODIFIER "x.%u", (guintptr)base, g_random_int() & 0x7fffffff);
}

void ce_sim_pending_free(gpointer p)
{
	struct pending *pd = p;

	if (pd->timer)
		g_source_remove(pd->timer);
	g_free(pd->id);
	g_free(pd);
}

/* ---- messages to the module ------------------------------------------- */

static gboolean pending_timeout_cb(gpointer data)
{
	struct pending *pd = data;
	struct sim_mod *mod = pd->mod;
	struct sim_disp *d = pd->d;
	struct ce_msg *m = ce_sim_disp_msg(d);

	pd->timer = 0;
	ce_sim_event(mod->s, "timeout", "\"module\":%s,\"id\":%s,\"name\":%s",
	        ce_sim_json(mod->name), ce_sim_json(pd->id), ce_sim_json(m->name));
	ce_sim_problem(mod->s, "timeout", "%s did not answer %s '%s' within %u ms", mod->name,
	        pd->id, m->name, mod->timeout_ms);
	g_hash_table_remove(mod->pending, pd->id);
	if (mod->timebomb)
		ce_sim_mod_close(mod, "timebomb");
	ce_sim_disp_resume(d, false);
	return G_SOURCE_REMOVE;
}

/**
 * Relay @m of dispatch @d to @mod as "%%>message"; the dispatch resumes
 * when the module answers or the timeout fires.
 */
void ce_sim_mod_send_msg(struct sim_mod *mod, struct sim_disp *d, struct ce_msg *m)
{
	struct pending *pd;
	GString *g;
	char *saved;

	if (mod->max_queue && g_hash_table_size(mod->pending) >= mod->max_queue) {
		ce_sim_event(mod->s, "queue-full", "\"module\":%s,\"name\":%s",
		        ce_sim_json(mod->name), ce_sim_json(m->name));
		ce_sim_disp_resume(d, false);
		return;
	}
	pd = g_new0(struct pending, 1);
	pd->mod = mod;
	pd->d = d;
	pd->id = ce_sim_yate_id();
	g_hash_table_insert(mod->pending, pd->id, pd);
	if (mod->timeout_ms)
		pd->timer = g_timeout_add(mod->timeout_ms, pending_timeout_cb, pd);
	saved = m->id;
	m->id = pd->id;
	m->time = (uint64_t)(g_get_real_time() / G_USEC_PER_SEC);
	g = g_string_new(NULL);
	ce_proto_format_message(g, m);
	m->id = saved;
	ce_sim_mod_write_gstring(mod, g);
}

/** Report a finished dispatch to every module watching its name (Yate's post-hook). */
void ce_sim_mod_report_watch(struct sim *s, struct ce_msg *m, bool handled, struct sim_mod *origin)
{
	GList *l;

	for (l = s->mods; l; l = l->next) {
		struct sim_mod *mod = l->data;
		if (!ce_sim_mod_alive(mod) || (mod == origin && !mod->selfwatch))
			continue;
		if (!g_hash_table_contains(mod->watched, m->name) &&
		        !g_hash_table_contains(mod->watched, ""))
			continue;
		GString *g = g_string_new(NULL);
		char *saved = m->id;
		m->id = (char *)"";
		ce_proto_format_answer(g, m, handled);
		m->id = saved;
		ce_sim_mod_write_gstring(mod, g);
	}
}

/* ---- lines from the module --------------------------------------------- */

struct own_msg {
	struct sim_mod *mod;
	char *id;
};

static void own_done(struct sim *s, struct ce_msg *m, bool handled, void *arg)
{
	struct own_msg *om = arg;

	if (g_list_find(s->mods, om->mod) && !om->mod->dead) {
		GString *g = g_string_new(NULL);
		char *saved = m->id;
		m->id = om->id;
		ce_proto_format_answer(g, m, handled);
		m->id = saved;
		ce_sim_mod_write_gstring(om->mod, g);
	}
	g_free(om->id);
	g_free(om);
}

static void on_message(struct sim_mod *mod, struct ce_msg *m)
{
	struct own_msg *om = NULL;

	if (m->id && *m->id) {
		om = g_new0(struct own_msg, 1);
		om->mod = mod;
		om->id = g_strdup(m->id);
	}
	ce_sim_dispatch(mod->s, m, mod, om ? own_done : NULL, om);
}

static void on_answer(struct sim_mod *mod, struct ce_msg *a, const char *raw)
{
	struct pending *pd = a->id ? g_hash_table_lookup(mod->pending, a->id) : NULL;
	struct sim_disp *d;

	if (!pd) {
		ce_sim_event(mod->s, "unmatched", "\"module\":%s,\"line\":%s",
		        ce_sim_json(mod->name), ce_sim_json(raw));
		return;
	}
	d = pd->d;
	ce_msg_apply(ce_sim_disp_msg(d), a);
	g_hash_table_remove(mod->pending, a->id);
	ce_sim_disp_resume(d, a->processed);
}

static void on_install(struct sim_mod *mod, struct ce_line *l)
{
	struct ce_line r = {.kind = CE_LINE_INSTALLED, .name = l->name};
	int prio = l->priority < 0 ? 100 : l->priority;
	bool ok = l->name && *l->name && !mod->dead && !g_hash_table_contains(mod->relays, l->name);

	if (ok) {
		struct sim_handler *hd =
		        ce_sim_install_relay(mod->s, mod, l->name, prio, l->fname, l->fvalue);
		g_hash_table_insert(mod->relays, g_strdup(l->name), hd);
	}
	r.priority = prio;
	r.success = ok;
	ce_sim_mod_reply(mod, &r);
}

static void on_uninstall(struct sim_mod *mod, struct ce_line *l)
{
	struct ce_line r = {.kind = CE_LINE_UNINSTALLED, .name = l->name};
	struct sim_handler *hd = g_hash_table_lookup(mod->relays, l->name);

	r.priority = hd ? (int)hd->prio : 0;
	r.success = hd != NULL;
	if (hd) {
		ce_sim_uninstall(mod->s, hd);
		g_hash_table_remove(mod->relays, l->name);
	}
	ce_sim_mod_reply(mod, &r);
}

static void on_watch(struct sim_mod *mod, struct ce_line *l, bool on)
{
	struct ce_line r = {.kind = on ? CE_LINE_WATCHED : CE_LINE_UNWATCHED, .name = l->name};
	const char *name = l->name ? l->name : "";

	if (on) {
		r.success = !g_hash_table_contains(mod->watched, name);
		if (r.success)
			g_hash_table_insert(mod->watched, g_strdup(name), NULL);
	} else {
		r.success = g_hash_table_remove(mod->watched, name);
	}
	ce_sim_mod_reply(mod, &r);
}

/* Read-only engine.* values answered by setlocal (Yate's run parameters). */
static const char *engine_param(struct sim *s, const char *name)
{
	static const char *const params[][2] = {
	        {"version", "6.4.1"},
	        {"release", "1"},
	        {"revision", ""},
	        {"nodename", "yate-sim"},
	        {"configname", "yate"},
	        {"sharedpath", "/usr/share/yate"},
	        {"configpath", "/etc/yate"},
	        {"modulepath", "/usr/lib/yate"},
	        {"workpath", "/tmp"},
	        {"maxworkers", "10"},
	        {"lastsignal", "0"},
	        {"runattempt", "0"},
	};
	unsigned i;

	for (i = 0; i < G_N_ELEMENTS(params); i++) {
		if (!strcmp(name, params[i][0]))
			return params[i][1];
	}
	return NULL;
}

static const char *const loaded_modules[] = {
        "regexroute",
        "dumbchan",
        "yrtpchan",
        "conference",
        "wavefile",
        "tonegen",
        "ysipchan",
        "extmodule",
        NULL,
};

/* Yate's setlocal: returns whether it worked, and sets *val to the answer. */
static bool setlocal(struct sim_mod *mod, const char *id, char **val)
{
	const char *v = *val;
	bool empty = !*v;
	char buf[32];

#define SET_BOOL(field)                                                                            \
	do {                                                                                       \
		mod->field = ce_parse_bool(v, mod->field);                                         \
		g_free(*val);                                                                      \
		*val = g_strdup(mod->field ? "true" : "false");                                    \
		return true;                                                                       \
	} while (0)

	if (!strcmp(id, "timeout")) {
		char *end;
		long t = strtol(v, &end, 10);
		if (!empty && !*end && t >= 0)
			mod->timeout_ms = (unsigned)t;
		g_snprintf(buf, sizeof(buf), "%u", mod->timeout_ms);
		g_free(*val);
		*val = g_strdup(buf);
		return true;
	}
	if (!strcmp(id, "maxqueue")) {
		long q = empty ? (long)mod->max_queue : strtol(v, NULL, 10);
		mod->max_queue = (unsigned)CLAMP(q, 0, 1000000);
		g_free(*val);
		*val = g_strdup_printf("%u", mod->max_queue);
		return true;
	}
	if (!strcmp(id, "bufsize")) {
		long b = empty ? (long)mod->bufsize : strtol(v, NULL, 10);
		mod->bufsize = (unsigned)CLAMP(b, MOD_MIN_LINE, MOD_MAX_LINE);
		g_free(*val);
		*val = g_strdup_printf("%u", mod->bufsize);
		return true;
	}
	if (!strcmp(id, "timebomb"))
		SET_BOOL(timebomb);
	if (!strcmp(id, "reenter"))
		SET_BOOL(reenter);
	if (!strcmp(id, "selfwatch"))
		SET_BOOL(selfwatch);
	if (!strcmp(id, "restart")) {
		mod->restart = mod->scripted && ce_parse_bool(v, mod->restart);
		g_free(*val);
		*val = g_strdup(mod->restart ? "true" : "false");
		return true;
	}
	if (!strcmp(id, "setdata") || !strcmp(id, "settime") || !strcmp(id, "reason") ||
	        !strcmp(id, "trackparam") || !strcmp(id, "debuglevel") || !strcmp(id, "debugname"))
		return true;
	/* Yate's run parameters hold the run id too: engine.runid is runid */
	if (!strcmp(id, "runid") || !strcmp(id, "engine.runid")) {
		g_free(*val);
		*val = g_strdup_printf("%u", mod->s->runid);
		return empty;
	}
	if (g_str_has_prefix(id, "engine.")) {
		const char *p = engine_param(mod->s, id + 7);
		g_free(*val);
		*val = g_strdup(p ? p : "");
		return empty && p;
	}
	if (g_str_has_prefix(id, "loaded.")) {
		bool loaded = g_strv_contains(loaded_modules, id + 7);
		g_free(*val);
		*val = g_strdup(loaded ? "true" : "false");
		return empty;
	}
	if (g_str_has_prefix(id, "config.")) {
		g_free(*val);
		*val = g_strdup("");
		return false;
	}
	return false;
#undef SET_BOOL
}

static void on_setlocal(struct sim_mod *mod, struct ce_line *l)
{
	struct ce_line r = {.kind = CE_LINE_SETLOCAL_ANS, .name = l->name};
	char *val = g_strstrip(g_strdup(l->value ? l->value : ""));

	r.success = setlocal(mod, l->name ? l->name : "", &val);
	r.value = val;
	ce_sim_mod_reply(mod, &r);
	g_free(val);
}

static void error_in(struct sim_mod *mod, const char *line, size_t len, const char *why)
{
	GString *g = g_string_new("Error in: ");

	g_string_append_len(g, line, len);
	mod->errors++;
	ce_sim_event(mod->s, "error-in", "\"module\":%s,\"why\":%s,\"line\":%s",
	        ce_sim_json(mod->name), ce_sim_json(why), ce_sim_json(g->str + 10));
	if (mod->errors == 1 || mod->errors % 1000 == 0)
		ce_sim_problem(mod->s, "garbage", "%s sent a bad line (%s); %u so far", mod->name,
		        why, mod->errors);
	ce_sim_mod_write_gstring(mod, g);
}

static void on_connect(struct sim_mod *mod, struct ce_line *l, const char *raw, size_t len)
{
	if (mod->known) {
		error_in(mod, raw, len, "connect after start");
		return;
	}
	if (g_strcmp0(l->name, "global")) {
		ce_sim_problem(mod->s, "connect", "%s asked for role '%s'; only global is served",
		        mod->name, l->name ? l->name : "");
		ce_sim_mod_close(mod, "bad role");
		return;
	}
	mod->known = true;
	ce_sim_event(
	        mod->s, "connected", "\"module\":%s,\"role\":\"global\"", ce_sim_json(mod->name));
}

static void check_flood(struct sim_mod *mod)
{
	int64_t sec = g_get_monotonic_time() / G_USEC_PER_SEC;

	if (sec != mod->flood_sec) {
		mod->flood_sec = sec;
		mod->flood_count = 0;
	}
	if (++mod->flood_count > mod->s->flood_lines && mod->s->flood_lines &&
	        !mod->flood_reported) {
		mod->flood_reported = true;
		ce_sim_problem(mod->s, "flood", "%s sent more than %u lines in one second",
		        mod->name, mod->s->flood_lines);
	}
}

static void dispatch_line(struct sim_mod *mod, struct ce_line *l, const char *raw, size_t len)
{
	switch (l->kind) {
	case CE_LINE_MESSAGE:
		on_message(mod, l->msg);
		break;
	case CE_LINE_ANSWER:
		on_answer(mod, l->msg, raw);
		break;
	case CE_LINE_INSTALL:
		on_install(mod, l);
		break;
	case CE_LINE_UNINSTALL:
		on_uninstall(mod, l);
		break;
	case CE_LINE_WATCH:
	case CE_LINE_UNWATCH:
		on_watch(mod, l, l->kind == CE_LINE_WATCH);
		break;
	case CE_LINE_SETLOCAL:
		on_setlocal(mod, l);
		break;
	case CE_LINE_OUTPUT:
		ce_sim_event(mod->s, "output", "\"module\":%s,\"text\":%s", ce_sim_json(mod->name),
		        ce_sim_json(l->text));
		break;
	case CE_LINE_DEBUG:
		ce_sim_event(mod->s, "debug", "\"module\":%s,\"level\":%d,\"text\":%s",
		        ce_sim_json(mod->name), l->level, ce_sim_json(l->text));
		break;
	case CE_LINE_CONNECT:
		on_connect(mod, l, raw, len);
		break;
	case CE_LINE_QUIT: {
		static const char bye[] = "%%<quit";
		mod->quit = true;
		ce_sim_mod_write_line(mod, bye, sizeof(bye) - 1);
		ce_sim_event(mod->s, "quit", "\"module\":%s", ce_sim_json(mod->name));
		break;
	}
	default:
		error_in(mod, raw, len, "not a module keyword");
		break;
	}
}

/** The line callback of a module's input (framing by ce_linebuf). */
void ce_sim_mod_on_line(const char *line, size_t len, void *arg)
{
	struct sim_mod *mod = arg;
	struct ce_line l = {0};
	GError *err = NULL;

	if (mod->dead)
		return;
	ce_sim_transcript(mod->s, 'A', line, len);
	mod->s->last_line_at = ce_sim_now(mod->s);
	check_flood(mod);
	if (!mod->known && !g_str_has_prefix(line, "%%>connect:")) {
		ce_sim_problem(mod->s, "connect", "%s: expected %%%%>connect first", mod->name);
		ce_sim_mod_close(mod, "no connect");
		return;
	}
	if (mod->quit)
		return;
	if (len + 1 >= mod->bufsize) {
		/* Yate cannot hold the line: it logs an overflow and closes the module */
		ce_sim_problem(mod->s, "overflow",
		        "%s sent a line of %zu bytes; Yate's buffer holds %u (setlocal bufsize): "
		        "Yate closes the module",
		        mod->name, len, mod->bufsize);
		ce_sim_mod_close(mod, "line overflow");
		return;
	}
	if (ce_line_parse(&l, line, len, NULL, &err) < 0) {
		error_in(mod, line, len, err ? err->message : "parse error");
		g_clear_error(&err);
		return;
	}
	dispatch_line(mod, &l, line, len);
	ce_line_clear(&l);
}

void ce_sim_mod_on_overflow(const struct ce_overflow *o, void *arg)
{
	struct sim_mod *mod = arg;

	if (o->ended)
		return; /* the module is closed by then */
	mod->errors++;
	ce_sim_problem(mod->s, "overflow",
	        "%s sent a line over %d bytes (%zu dropped); Yate closes the module", mod->name,
	        MOD_MAX_LINE, o->len);
	ce_sim_mod_close(mod, "line overflow");
}
