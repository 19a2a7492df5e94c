/* scenario.c - the scenario language: who calls what, when, and what must have happened */
/*
 * One statement per line; '#' starts a comment; words are split as a shell
 * would (quotes allowed).  Set-up statements apply at once, "at T ..."
 * statements run T seconds after the scenario starts (see docs/simulator.md):
 *
 *   route ^800$ conf/room1 maxusers=5         # regexroute: called number -> target
 *   callee 801 answer delay=1 play=tone:440   # how dialled numbers behave
 *   external rec.php record=rec.wav           # what external/MODE/rec.php does
 *   set timeout 2000                          # module message timeout, ms
 *   at 0 call 1001 800 play=speech.wav record=1001.wav
 *   at 0.5 calls 20 2000 800 rate=10 play=tone:300
 *   at 2 dtmf 1001 1#
 *   at 2 call 1002 800 forward=yes nat=yes    # its own RTP, straight to the module
 *   at 3 rebind 1002                          # its NAT moves it to another port
 *   at 3 message call.drop id=dumb/1 reason=kicked
 *   at 4 expect heard 1001 440 window=1000
 *   at 4 expect state 1001 answered
 *   at 5 hangup all
 *   on answered 1001 +1 dtmf 1001 1234#      # once 1001 is answered, a second later
 *   at 6 expect not event error-in
 *   end 7
 */
#define G_LOG_DOMAIN "sim"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

struct step {
	double at; /* seconds from the start, or the delay of an "on" trigger */
	int lineno;
	char **argv;
	char *state, *label; /* "on" triggers only */
	bool fired;
	struct sim *s;
	guint src;
};

static void step_free(gpointer p)
{
	struct step *st = p;

	if (st->src)
		g_source_remove(st->src);
	g_strfreev(st->argv);
	g_free(st->state);
	g_free(st->label);
	g_free(st);
}

static int bad(GError **err, int lineno, const char *fmt, const char *arg)
{
	g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "line %d: %s%s%s", lineno, fmt,
	        arg ? ": " : "", arg ? arg : "");
	return -EINVAL;
}

static bool parse_double(const char *s, double *v)
{
	char *end;

	*v = g_ascii_strtod(s, &end);
	return *s && !*end && isfinite(*v);
}

/* ---- phones ------------------------------------------------------------ */

static int phone_opt(struct sim_phone *ph, const char *kv, int lineno, GError **err)
{
	const char *eq = strchr(kv, '=');
	char *k;
	const char *v;
	double d;
	int ret = 0;

	if (!eq || eq == kv)
		return bad(err, lineno, "expected key=value", kv);
	k = g_strndup(kv, eq - kv);
	v = eq + 1;
	if (!strcmp(k, "play")) {
		g_free(ph->play);
		ph->play = g_strdup(v);
	} else if (!strcmp(k, "record")) {
		g_free(ph->record);
		ph->record = g_strdup(v);
	} else if (!strcmp(k, "number") && *v) {
		g_free(ph->number);
		ph->number = g_strdup(v);
	} else if (!strcmp(k, "name")) {
		g_free(ph->name);
		ph->name = g_strdup(v);
	} else if (!strcmp(k, "format") && (!strcmp(v, "mulaw") || !strcmp(v, "alaw"))) {
		g_free(ph->format);
		ph->format = g_strdup(v);
	} else if (!strcmp(k, "loop")) {
		ph->loop = ce_parse_bool(v, ph->loop);
	} else if (!strcmp(k, "forward") && ce_bool_word(v) >= 0) {
		ph->forward = ce_bool_word(v);
	} else if (!strcmp(k, "nat") && ce_bool_word(v) >= 0) {
		ph->nat = ce_bool_word(v);
	} else if (!strcmp(k, "opus") && ce_bool_word(v) >= 0) {
		ph->opus = ce_bool_word(v);
	} else if (!strcmp(k, "loss") && parse_double(v, &d) && d >= 0 && d <= 100) {
		ph->loss = d;
	} else if (!strcmp(k, "reorder") && parse_double(v, &d) && d >= 0 && d <= 100) {
		ph->reorder = d;
	} else if (!strcmp(k, "jitter") && parse_double(v, &d) && d >= 0 && d <= 1000) {
		ph->jitter_ms = (unsigned)d;
	} else if (!strcmp(k, "garbage") && parse_double(v, &d) && d >= 0 && d <= 100) {
		ph->garbage = (unsigned)d;
	} else if (!strcmp(k, "badpt") && parse_double(v, &d) && d >= 0 && d <= 100) {
		ph->badpt = (unsigned)d;
	} else if (!strcmp(k, "flood") && parse_double(v, &d) && d >= 0 && d <= 100) {
		ph->flood = (unsigned)d;
	} else if (!strcmp(k, "delay") && parse_double(v, &d) && d >= 0 && d <= 3600) {
		ph->delay = d;
	} else if (g_str_has_prefix(k, "param.") && k[6]) {
		if (!ph->params)
			ce_msg_new(&ph->params, NULL);
		ce_msg_set(ph->params, k + 6, v);
	} else {
		ret = bad(err, lineno, "unknown or bad phone option", kv);
	}
	g_free(k);
	return ret;
}

static int phone_opts(struct sim_phone *ph, char **argv, int lineno, GError **err)
{
	for (; *argv; argv++) {
		if (phone_opt(ph, *argv, lineno, err) < 0)
			return -EINVAL;
	}
	return 0;
}

static int parse_callee(struct sim *s, char **argv, int lineno, GError **err)
{
	static const char *const kinds[] = {
	        [SIM_CALLEE_ANSWER] = "answer",
	        [SIM_CALLEE_NOANSWER] = "noanswer",
	        [SIM_CALLEE_BUSY] = "busy",
	        [SIM_CALLEE_OFFLINE] = "offline",
	        [SIM_CALLEE_REJECT] = "reject",
	};
	struct sim_phone *ph;
	unsigned k;

	if (!argv[1] || !argv[2])
		return bad(err, lineno,
		        "usage: callee NUMBER answer|noanswer|busy|reject|offline ...", NULL);
	for (k = 0; k < G_N_ELEMENTS(kinds) && strcmp(kinds[k], argv[2]); k++)
		;
	if (k == G_N_ELEMENTS(kinds))
		return bad(err, lineno, "unknown callee behaviour", argv[2]);
	ph = ce_sim_phone_new(argv[1]);
	ph->kind = k;
	if (phone_opts(ph, argv + 3, lineno, err) < 0) {
		ce_sim_phone_free(ph);
		return -EINVAL;
	}
	ce_sim_callee_add(s, ph);
	return 0;
}

/* external SCRIPT [phone options]: the channel of external/MODE/SCRIPT plays and records. */
static int parse_external(struct sim *s, char **argv, int lineno, GError **err)
{
	struct sim_phone *ph;

	if (!argv[1] || strchr(argv[1], '/'))
		return bad(err, lineno, "usage: external SCRIPT [play=... record=...]", NULL);
	ph = ce_sim_phone_new(argv[1]);
	ph->label = g_strdup(argv[1]); /* its name in expect ..., whatever number= says */
	if (phone_opts(ph, argv + 2, lineno, err) < 0) {
		ce_sim_phone_free(ph);
		return -EINVAL;
	}
	ce_sim_script_add(s, ph);
	return 0;
}

static int parse_route(struct sim *s, char **argv, int lineno, GError **err)
{
	struct ce_msg *params = NULL;
	GError *e = NULL;
	unsigned i;

	if (!argv[1] || !argv[2])
		return bad(err, lineno, "usage: route REGEX TARGET [param=value...]", NULL);
	for (i = 3; argv[i]; i++) {
		const char *eq = strchr(argv[i], '=');
		if (!eq || eq == argv[i]) {
			ce_msg_unref(params);
			return bad(err, lineno, "expected param=value", argv[i]);
		}
		if (!params)
			ce_msg_new(&params, NULL);
		char *k = g_strndup(argv[i], eq - argv[i]);
		ce_msg_add(params, k, eq + 1);
		g_free(k);
	}
	if (ce_sim_route_add(s, argv[1], argv[2], params, &e) < 0) {
		bad(err, lineno, "bad regular expression", e->message);
		g_error_free(e);
		return -EINVAL;
	}
	return 0;
}

static int parse_set(struct sim *s, char **argv, int lineno, GError **err)
{
	double v;

	if (!argv[1] || !argv[2] || argv[3] || !parse_double(argv[2], &v) || v < 0)
		return bad(err, lineno, "usage: set timeout|maxqueue|flood NUMBER", NULL);
	if (!strcmp(argv[1], "timeout"))
		s->mod_opts.timeout_ms = (unsigned)v;
	else if (!strcmp(argv[1], "maxqueue"))
		s->mod_opts.max_queue = (unsigned)v;
	else if (!strcmp(argv[1], "flood"))
		s->flood_lines = (unsigned)v;
	else
		return bad(err, lineno, "unknown setting", argv[1]);
	return 0;
}

/* ---- timed steps --------------------------------------------------------- */

static const char *const step_words[] = {
        "call",
        "calls",
        "hangup",
        "dtmf",
        "message",
        "expect",
        "log",
        "stall",
        "crash",
        "rebind",
        "reinvite",
        NULL,
};

/* Check the step's shape now, so that a typo fails before anything runs. */
static int check_step(struct sim *s, char **a, int lineno, GError **err)
{
	unsigned n = g_strv_length(a);

	if (!a[0] || !g_strv_contains(step_words, a[0]))
		return bad(err, lineno, "unknown step", a[0]);
	if ((!strcmp(a[0], "call") && n < 3) || (!strcmp(a[0], "calls") && n < 4) ||
	        (!strcmp(a[0], "hangup") && n < 2) || (!strcmp(a[0], "dtmf") && n != 3) ||
	        (!strcmp(a[0], "rebind") && n != 2) || (!strcmp(a[0], "reinvite") && n != 3) || (!strcmp(a[0], "message") && n < 2) ||
	        (!strcmp(a[0], "expect") && n < 2) || (!strcmp(a[0], "stall") && (n < 2 || n > 3)))
		return bad(err, lineno, "missing arguments for", a[0]);
	if (!strcmp(a[0], "reinvite") &&
	        !g_strv_contains((const char *const[]){"hold", "resume", "alaw", "mulaw", NULL}, a[2]))
		return bad(err, lineno, "reinvite offers hold, resume, alaw or mulaw, not", a[2]);
	if (!strcmp(a[0], "stall") && !(g_ascii_strtod(a[1], NULL) > 0))
		return bad(err, lineno, "stall wants seconds above 0, not", a[1]);
	if (!strcmp(a[0], "crash") && a[1] && (atoi(a[1]) <= 0 || atoi(a[1]) >= 65 || a[2]))
		return bad(err, lineno, "crash takes one signal number (1..64)", a[1]);
	if (!strcmp(a[0], "call") || !strcmp(a[0], "calls")) {
		struct sim_phone *ph = ce_sim_phone_new("x");
		char **opts = a + (!strcmp(a[0], "call") ? 3 : 4);
		int r = 0;
		for (; *opts && r == 0; opts++) {
			if (!g_str_has_prefix(*opts, "rate=") || !strcmp(a[0], "call"))
				r = phone_opt(ph, *opts, lineno, err);
		}
		ce_sim_phone_free(ph);
		return r;
	}
	if (!strcmp(a[0], "expect") &&
	        (!strcmp(a[1], "event") || !strcmp(a[1], "message") || !strcmp(a[1], "not")))
		s->keep_history = true;
	return 0;
}

static const char *const states[] = {
        "calling",
        "ringing",
        "connected",
        "answered",
        "hungup",
        "rejected",
        NULL,
};

/* on STATE LABEL [+SECONDS] STEP...: run STEP once when phone LABEL reaches STATE. */
static int parse_on(struct sim *s, char **argv, int lineno, GError **err)
{
	char **a = argv + 3;
	struct step *st;
	double delay = 0;

	if (!argv[1] || !argv[2] || !g_strv_contains(states, argv[1]))
		return bad(err, lineno,
		        "usage: on calling|ringing|connected|answered|hungup|rejected "
		        "LABEL [+SECONDS] STEP ...",
		        NULL);
	if (*a && **a == '+') {
		if (!parse_double(*a + 1, &delay) || delay < 0)
			return bad(err, lineno, "bad delay", *a);
		a++;
	}
	if (!*a)
		return bad(err, lineno, "missing step after", argv[2]);
	if (check_step(s, a, lineno, err) < 0)
		return -EINVAL;
	st = g_new0(struct step, 1);
	st->at = delay;
	st->lineno = lineno;
	st->argv = g_strdupv(a);
	st->state = g_strdup(argv[1]);
	st->label = g_strdup(argv[2]);
	if (!s->triggers)
		s->triggers = g_ptr_array_new_with_free_func(step_free);
	g_ptr_array_add(s->triggers, st);
	return 0;
}

static int parse_line(struct sim *s, char **argv, int lineno, GError **err)
{
	double at;
	struct step *st;

	if (!strcmp(argv[0], "route"))
		return parse_route(s, argv, lineno, err);
	if (!strcmp(argv[0], "callee"))
		return parse_callee(s, argv, lineno, err);
	if (!strcmp(argv[0], "external"))
		return parse_external(s, argv, lineno, err);
	if (!strcmp(argv[0], "set"))
		return parse_set(s, argv, lineno, err);
	if (!strcmp(argv[0], "end")) {
		if (!argv[1] || !parse_double(argv[1], &at) || at < 0)
			return bad(err, lineno, "usage: end SECONDS", NULL);
		s->end_at = at;
		return 0;
	}
	if (!strcmp(argv[0], "on"))
		return parse_on(s, argv, lineno, err);
	if (strcmp(argv[0], "at"))
		return bad(err, lineno, "unknown statement", argv[0]);
	if (!argv[1] || !parse_double(argv[1], &at) || at < 0 || !argv[2])
		return bad(err, lineno, "usage: at SECONDS STEP ...", NULL);
	if (check_step(s, argv + 2, lineno, err) < 0)
		return -EINVAL;
	st = g_new0(struct step, 1);
	st->at = at;
	st->lineno = lineno;
	st->argv = g_strdupv(argv + 2);
	g_ptr_array_add(s->steps, st);
	return 0;
}

static int step_cmp(gconstpointer a, gconstpointer b)
{
	const struct step *x = *(struct step *const *)a, *y = *(struct step *const *)b;

	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return x->lineno - y->lineno;
}

/** Parse scenario @text; file names in it are relative to @basedir. */
int ce_sim_scenario_parse(struct sim *s, const char *text, const char *basedir, GError **err)
{
	char **lines = g_strsplit(text, "\n", -1);
	int i, ret = 0;

	if (!s->steps)
		s->steps = g_ptr_array_new_with_free_func(step_free);
	g_free(s->basedir);
	s->basedir = g_strdup(basedir);
	for (i = 0; lines[i] && ret == 0; i++) {
		char *hash = strchr(lines[i], '#'), **argv = NULL;
		GError *e = NULL;
		if (hash && (hash == lines[i] || g_ascii_isspace(hash[-1])))
			*hash = 0;
		g_strstrip(lines[i]);
		if (!*lines[i])
			continue;
		if (!g_shell_parse_argv(lines[i], NULL, &argv, &e)) {
			ret = bad(err, i + 1, "cannot split the line", e->message);
			g_error_free(e);
			break;
		}
		ret = parse_line(s, argv, i + 1, err);
		g_strfreev(argv);
	}
	g_strfreev(lines);
	g_ptr_array_sort(s->steps, step_cmp);
	if (ret == 0 && s->end_at <= 0) {
		double last =
		        s->steps->len ? ((struct step *)s->steps->pdata[s->steps->len - 1])->at : 0;
		s->end_at = last + 1;
	}
	return ret;
}

/** Load a scenario file; its folder is the base of relative file names. */
int ce_sim_scenario_load(struct sim *s, const char *path, GError **err)
{
	char *text = NULL, *dir;
	int ret;

	if (!g_file_get_contents(path, &text, NULL, err))
		return -ENOENT;
	dir = g_path_get_dirname(path);
	ret = ce_sim_scenario_parse(s, text, dir, err);
	g_free(dir);
	g_free(text);
	return ret;
}

/* ---- running ------------------------------------------------------------- */

static struct sim_phone *make_phone(struct sim *s, const char *number, char **opts)
{
	struct sim_phone *ph = ce_sim_phone_new(number);
	GError *err = NULL;

	for (; *opts; opts++) {
		if (!g_str_has_prefix(*opts, "rate="))
			phone_opt(ph, *opts, 0, &err);
		g_clear_error(&err);
	}
	ph->label = g_strdup(number);
	return ph;
}

struct burst {
	struct sim *s;
	char **argv; /* calls COUNT FIRST CALLED opts... */
	unsigned count, done;
	guint64 first;
	double rate, t0;
	guint src;
};

static void burst_free(struct burst *b)
{
	b->s->bursts = g_list_remove(b->s->bursts, b);
	g_strfreev(b->argv);
	g_free(b);
}

/* Place the calls that are due by now: the rate holds even when ticks are late. */
static gboolean burst_cb(gpointer data)
{
	struct burst *b = data;
	double due = b->rate > 0 ? (ce_sim_now(b->s) - b->t0) * b->rate + 1 : b->count;
	char num[32];

	while (b->done < b->count && b->done < due) {
		g_snprintf(num, sizeof(num), "%" G_GUINT64_FORMAT, b->first + b->done);
		ce_sim_call(b->s, make_phone(b->s, num, b->argv + 4), b->argv[3]);
		b->done++;
	}
	if (b->done < b->count)
		return G_SOURCE_CONTINUE;
	b->src = 0;
	burst_free(b);
	return G_SOURCE_REMOVE;
}

/* calls COUNT FIRST CALLED [rate=N] [phone options]: COUNT callers FIRST, FIRST+1, ... */
static void run_calls(struct sim *s, char **a)
{
	struct burst *b = g_new0(struct burst, 1);
	unsigned i;

	b->s = s;
	b->argv = g_strdupv(a);
	b->count = (unsigned)g_ascii_strtoull(a[1], NULL, 10);
	b->first = g_ascii_strtoull(a[2], NULL, 10);
	b->t0 = ce_sim_now(s);
	for (i = 4; a[i]; i++) {
		if (g_str_has_prefix(a[i], "rate="))
			parse_double(a[i] + 5, &b->rate);
	}
	s->bursts = g_list_prepend(s->bursts, b);
	if (burst_cb(b) == G_SOURCE_CONTINUE)
		b->src = g_timeout_add(10, burst_cb, b);
}

static void run_message(struct sim *s, char **a)
{
	struct ce_msg *m;
	unsigned i;

	ce_msg_new(&m, a[1]);
	for (i = 2; a[i]; i++) {
		char *eq = strchr(a[i], '=');
		if (!eq) {
			ce_msg_set_retval(m, a[i]);
			continue;
		}
		*eq = 0;
		ce_msg_add(m, a[i], eq + 1);
		*eq = '=';
	}
	ce_sim_dispatch(s, m, NULL, NULL, NULL);
	ce_msg_unref(m);
}

static void run_step(struct sim *s, struct step *st)
{
	char **a = st->argv;

	if (!strcmp(a[0], "call")) {
		ce_sim_call(s, make_phone(s, a[1], a + 3), a[2]);
	} else if (!strcmp(a[0], "calls")) {
		run_calls(s, a);
	} else if (!strcmp(a[0], "hangup")) {
		if (ce_sim_hangup(s, a[1], a[2]) < 0)
			ce_sim_event(s, "note", "\"text\":%s",
			        ce_sim_json("hangup: no such phone in a call"));
	} else if (!strcmp(a[0], "dtmf")) {
		if (ce_sim_send_dtmf(s, a[1], a[2]) < 0)
			ce_sim_fail(
			        s, "scenario", "line %d: %s is not in a call", st->lineno, a[1]);
	} else if (!strcmp(a[0], "rebind")) {
		int r = ce_sim_rebind(s, a[1]);
		if (r == -ENOENT || r == -EINVAL)
			ce_sim_fail(s, "scenario", "line %d: %s %s", st->lineno, a[1],
			        r == -ENOENT ? "is not in a call"
			                     : "is no forwarded phone behind a NAT (nat=yes)");
	} else if (!strcmp(a[0], "reinvite")) {
		int r = ce_sim_reinvite(s, a[1], a[2]);
		if (r < 0)
			ce_sim_fail(s, "scenario", "line %d: %s %s", st->lineno, a[1],
			        r == -ENOENT  ? "is not in a call"
			        : r == -EBUSY ? "has a re-INVITE under way"
			                      : "is no forwarded phone");
	} else if (!strcmp(a[0], "message")) {
		run_message(s, a);
	} else if (!strcmp(a[0], "expect")) {
		ce_sim_expect(s, a + 1, st->lineno);
	} else if (!strcmp(a[0], "stall")) {
		if (!ce_sim_mod_stall(s, a[2], (unsigned)(g_ascii_strtod(a[1], NULL) * 1000)))
			ce_sim_event(
			        s, "note", "\"text\":%s", ce_sim_json("stall: no such module"));
	} else if (!strcmp(a[0], "crash")) {
		if (!ce_sim_mods_crash(s, a[1] ? atoi(a[1]) : SIGKILL))
			ce_sim_fail(
			        s, "scenario", "line %d: no running module to crash", st->lineno);
	} else if (!strcmp(a[0], "log")) {
		char *t = g_strjoinv(" ", a + 1);
		ce_sim_event(s, "log", "\"text\":%s", ce_sim_json(t));
		g_free(t);
	}
}

static void sim_event_trigger(struct sim *s, struct step *st)
{
	ce_sim_event(s, "trigger", "\"line\":%d,\"who\":%s,\"state\":%s,\"delay\":%.3f", st->lineno,
	        ce_sim_json(st->label), ce_sim_json(st->state), st->at);
}

static gboolean trigger_cb(gpointer data)
{
	struct step *st = data;

	st->src = 0;
	if (!st->s->stopping)
		run_step(st->s, st);
	return G_SOURCE_REMOVE;
}

/** Phone @label reached @state: fire the "on" triggers waiting for it (once each). */
void ce_sim_scenario_state(struct sim *s, const char *label, const char *state)
{
	unsigned i;

	for (i = 0; s->triggers && s->started && i < s->triggers->len; i++) {
		struct step *st = s->triggers->pdata[i];
		if (st->fired || strcmp(st->state, state) || strcmp(st->label, label))
			continue;
		st->fired = true;
		st->s = s;
		sim_event_trigger(s, st);
		st->src = g_timeout_add((guint)(st->at * 1000), trigger_cb, st);
	}
}

static gboolean step_cb(gpointer data)
{
	struct sim *s = data;
	double now = ce_sim_now(s) - s->scenario_t0;

	s->step_src = 0;
	while (s->next_step < s->steps->len) {
		struct step *st = s->steps->pdata[s->next_step];
		if (st->at > now + 0.0005) {
			s->step_src = g_timeout_add((guint)ceil((st->at - now) * 1000), step_cb, s);
			return G_SOURCE_REMOVE;
		}
		s->next_step++;
		run_step(s, st);
		if (s->stopping)
			return G_SOURCE_REMOVE;
	}
	return G_SOURCE_REMOVE;
}

static gboolean end_cb(gpointer data)
{
	struct sim *s = data;

	s->end_src = 0;
	ce_sim_event(s, "scenario-end", NULL);
	ce_sim_stop(s);
	return G_SOURCE_REMOVE;
}

/** Start the clock of the scenario: steps run relative to now. */
void ce_sim_scenario_start(struct sim *s)
{
	if (!s->steps)
		s->steps = g_ptr_array_new_with_free_func(step_free);
	s->scenario_t0 = ce_sim_now(s);
	ce_sim_event(s, "scenario-start", "\"steps\":%u,\"end\":%.3f", s->steps->len, s->end_at);
	s->end_src = g_timeout_add((guint)(s->end_at * 1000), end_cb, s);
	step_cb(s);
}

/** Free the steps and everything a scenario left. */
void ce_sim_scenario_free(struct sim *s)
{
	if (s->step_src)
		g_source_remove(s->step_src);
	if (s->end_src)
		g_source_remove(s->end_src);
	s->step_src = s->end_src = 0;
	while (s->bursts) {
		struct burst *b = s->bursts->data;
		if (b->src)
			g_source_remove(b->src);
		burst_free(b);
	}
	g_clear_pointer(&s->steps, g_ptr_array_unref);
	g_clear_pointer(&s->triggers, g_ptr_array_unref);
	g_clear_pointer(&s->basedir, g_free);
}
