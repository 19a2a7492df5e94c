/* plan.c - a compiled regexroute-style dialplan: load-time checks, per-call evaluation */
#define G_LOG_DOMAIN "dialplan"

#include <errno.h>
#include <string.h>

#include "conf-engine/config.h"
#include "message.h"
#include "plan.h"
#include "rex.h"
#include "tpl.h"

/*
 * The subset of Yate's regexroute.conf that we run, rule for rule as
 * modules/regexroute.cpp does (see docs/dialplan.md):
 *
 *   [default]
 *   ^800$=conf/room1
 *   ^8\(..\)$=conf/room\1;maxusers=10
 *   ${caller}^tone/=goto tones
 *   ^9=include common
 *   .*=-;error=noroute
 *
 * Sections are contexts, [default] is the entry (or the call's "context"
 * parameter, or what [contexts] makes of the caller).  Every rule is
 * compiled when the file loads; anything we do not implement is refused
 * there with "FILE:LINE: ... not supported", never skipped.
 */

enum action {
	ACT_ROUTE,   /* the target is the answer */
	ACT_NOOP,    /* empty target: set parameters, go on */
	ACT_RETURN,  /* return [bool] from this context */
	ACT_GOTO,    /* goto/jump CONTEXT: its result is final */
	ACT_INCLUDE, /* include/call CONTEXT: done if it routes, else go on */
	ACT_MATCH,   /* match STRING: later rules match STRING */
	ACT_RETVAL,  /* retval TEXT: set the return value, go on */
};

struct rule {
	char *where; /* "FILE:LINE" */
	char *param; /* ${param}regex: match this parameter, NULL: the match string */
	char *pdef;  /* ${param$default} */
	struct ce_rex *rex;
	bool invert; /* regex^: act when it does NOT match */
	enum action act;
	bool quiet; /* @goto/@include: a missing context is no warning */
	struct ce_tpl *arg;
	GPtrArray *sets; /* of struct ce_tpl: ";name=value" and ";name" */
	gint warned;     /* match budget exhausted, reported once */
};

struct context {
	char *name;
	GPtrArray *rules;
};

struct ce_plan {
	GHashTable *contexts;     /* name -> struct context */
	struct context *classify; /* [contexts]: caller -> context, or NULL */
	unsigned n_rules;
	int maxdepth;
	gint loop_warned;
	gint stop_warned;
};

struct opts {
	unsigned flags;
	char *defrule;
};

/* Yate's default for ${param} with no regex: "set and not false". */
#define DEFAULT_RULE_BRE "^\\(false\\|no\\|off\\|disable\\|f\\|0*\\)$^"
#define DEFAULT_RULE_ERE "^(false|no|off|disable|f|0*)$^"

static void rule_free(gpointer data)
{
	struct rule *r = data;

	g_free(r->where);
	g_free(r->param);
	g_free(r->pdef);
	ce_rex_free(r->rex);
	ce_tpl_free(r->arg);
	if (r->sets)
		g_ptr_array_unref(r->sets);
	g_free(r);
}

static void context_free(gpointer data)
{
	struct context *c = data;

	g_free(c->name);
	g_ptr_array_unref(c->rules);
	g_free(c);
}

static int bad(GError **err, const char *where, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static int bad(GError **err, const char *where, const char *fmt, ...)
{
	va_list ap;
	char *what;

	va_start(ap, fmt);
	what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(err, CE_CONFIG_ERROR, CE_CONFIG_ERROR_VALUE, "%s: %s", where, what);
	g_free(what);
	return -EINVAL;
}

/* Yate's String::startSkip(word): @word then a blank or the end. */
static const char *skip_word(const char *s, const char *word)
{
	size_t n = strlen(word);

	if (strncmp(s, word, n) || (s[n] && s[n] != ' ' && s[n] != '\t'))
		return NULL;
	for (s += n; *s == ' ' || *s == '\t'; s++)
		;
	return s;
}

/* ${name}regex, ${name$default}regex or regex; fills @r, returns the regex. */
static int parse_key(
        struct rule *r, const struct opts *o, const char *key, char **regp, GError **err)
{
	const char *close;
	char *inner, *dollar, *reg;

	if (key[0] == '}' || g_str_has_prefix(key, "$("))
		return bad(err, r->where, "%s are not supported",
		        key[0] == '}' ? "blocks { ... }" : "function matches $(...)");
	if (!g_str_has_prefix(key, "${")) {
		*regp = g_strdup(key);
		return 0;
	}
	close = strchr(key, '}');
	if (!close || close - key < 3)
		return bad(err, r->where, "invalid parameter match '%s'", key);
	inner = g_strstrip(g_strndup(key + 2, (size_t)(close - key - 2)));
	dollar = strchr(inner, '$');
	if (dollar) {
		*dollar = '\0';
		r->pdef = g_strstrip(g_strdup(dollar + 1));
	}
	r->param = g_strdup(g_strstrip(inner));
	g_free(inner);
	reg = g_strstrip(g_strdup(close + 1));
	if (!*reg || !strcmp(reg, "^")) { /* Yate's setDefault() */
		bool rev = *reg != '\0';
		size_t n = strlen(o->defrule);
		g_free(reg);
		if (rev && n && o->defrule[n - 1] == '^')
			reg = g_strndup(o->defrule, n - 1);
		else
			reg = g_strconcat(o->defrule, rev ? "^" : "", NULL);
	}
	*regp = reg;
	if (!*r->param || !*reg)
		return bad(err, r->where, "missing parameter name or regular expression");
	return 0;
}

static int parse_match(struct rule *r, const struct opts *o, const char *key, GError **err)
{
	GError *e = NULL;
	char *reg = NULL;
	size_t n;
	int ret;

	ret = parse_key(r, o, key, &reg, err);
	if (ret < 0)
		goto out;
	n = strlen(reg);
	if (n && reg[n - 1] == '^') {
		r->invert = true;
		reg[n - 1] = '\0';
	}
	ret = ce_rex_new(&r->rex, reg, o->flags, &e);
	if (ret < 0) {
		bad(err, r->where, "%s", e->message);
		g_error_free(e);
	}
out:
	g_free(reg);
	return ret;
}

/* The first word of the target chooses what the rule does. */
static int parse_action(struct rule *r, const char *target, const char **argp, GError **err)
{
	static const struct {
		const char *word;
		int act; /* enum action, -1: not supported */
		bool quiet;
	} words[] = {
	        {"noop", ACT_NOOP, false},
	        {"return", ACT_RETURN, false},
	        {"goto", ACT_GOTO, false},
	        {"jump", ACT_GOTO, false},
	        {"@goto", ACT_GOTO, true},
	        {"@jump", ACT_GOTO, true},
	        {"include", ACT_INCLUDE, false},
	        {"call", ACT_INCLUDE, false},
	        {"@include", ACT_INCLUDE, true},
	        {"@call", ACT_INCLUDE, true},
	        {"match", ACT_MATCH, false},
	        {"newmatch", ACT_MATCH, false},
	        {"retval", ACT_RETVAL, false},
	        {"echo", -1, false},
	        {"output", -1, false},
	        {"debug", -1, false},
	        {"dispatch", -1, false},
	        {"enqueue", -1, false},
	        {"rename", -1, false},
	        {"msleep", -1, false},
	        {"{", -1, false},
	};
	const char *rest;
	unsigned i;

	r->act = *target ? ACT_ROUTE : ACT_NOOP;
	*argp = target;
	for (i = 0; i < G_N_ELEMENTS(words); i++) {
		rest = skip_word(target, words[i].word);
		if (!rest)
			continue;
		if (words[i].act < 0)
			return bad(err, r->where, "'%s' is not supported", words[i].word);
		r->act = words[i].act;
		r->quiet = words[i].quiet;
		*argp = rest;
		if ((r->act == ACT_GOTO || r->act == ACT_INCLUDE) && !*rest)
			return bad(err, r->where, "'%s' needs a context name", words[i].word);
		break;
	}
	return 0;
}

static int parse_sets(struct rule *r, char **pieces, GError **err)
{
	struct ce_tpl *t;
	GError *e = NULL;
	unsigned i;
	int ret;

	r->sets = g_ptr_array_new_with_free_func((GDestroyNotify)ce_tpl_free);
	for (i = 0; pieces[i]; i++) {
		char *s = g_strstrip(pieces[i]);
		if (!*s)
			continue;
		if (s[0] == '$' && s[1] != '{')
			return bad(err, r->where, "global variables ('%s') are not supported", s);
		ret = ce_tpl_new(&t, s, &e);
		if (ret < 0) {
			bad(err, r->where, "%s", e->message);
			g_error_free(e);
			return ret;
		}
		g_ptr_array_add(r->sets, t);
	}
	return 0;
}

static int parse_value(struct rule *r, const char *value, GError **err)
{
	char **pieces = g_strsplit(value, ";", -1);
	const char *arg = NULL;
	GError *e = NULL;
	char *target;
	int ret;

	target = pieces[0] ? g_strstrip(pieces[0]) : (char *)"";
	if (skip_word(target, "if") || skip_word(target, "and") || skip_word(target, "or")) {
		ret = bad(err, r->where, "'if', 'and', 'or' conditions are not supported");
		goto out;
	}
	if (g_str_has_suffix(target, "{")) {
		ret = bad(err, r->where, "blocks { ... } are not supported");
		goto out;
	}
	ret = parse_action(r, target, &arg, err);
	if (ret < 0)
		goto out;
	ret = ce_tpl_new(&r->arg, arg, &e);
	if (ret < 0) {
		bad(err, r->where, "%s", e->message);
		g_error_free(e);
		goto out;
	}
	ret = parse_sets(r, pieces[0] ? pieces + 1 : pieces, err);
out:
	g_strfreev(pieces);
	return ret;
}

static int rule_new(
        struct rule **rp, const struct opts *o, const struct ce_config_entry *en, GError **err)
{
	struct rule *r = g_new0(struct rule, 1);
	int ret;

	r->where = g_strdup_printf("%s:%u", en->file, en->line);
	ret = parse_match(r, o, en->key, err);
	if (ret == 0)
		ret = parse_value(r, en->value, err);
	if (ret < 0)
		goto out;
	*rp = g_steal_pointer(&r);
out:
	if (r)
		rule_free(r);
	return ret;
}

/* [priorities]: the regexroute options that still mean something here. */
static int read_options(
        struct ce_plan *p, struct opts *o, const struct ce_config *cfg, GError **err)
{
	static const char *const known[] = {"extended", "insensitive", "maxdepth", "defaultrule"};
	unsigned i, j, n = ce_config_n_entries(cfg, "priorities");
	const struct ce_config_entry *en;
	char *where;
	int r;

	for (i = 0; i < n; i++) {
		en = ce_config_entry(cfg, "priorities", i);
		for (j = 0; j < G_N_ELEMENTS(known) && strcmp(en->key, known[j]); j++)
			;
		if (j < G_N_ELEMENTS(known))
			continue;
		where = g_strdup_printf("%s:%u", en->file, en->line);
		r = bad(err, where, "[priorities] %s= is not supported%s", en->key,
		        !strcmp(en->key, "route")
		                ? " (set [dialplan] priority= in conf-engine.conf)"
		                : "");
		g_free(where);
		return r;
	}
	if (ce_config_get_bool(cfg, "priorities", "extended", false))
		o->flags |= CE_REX_EXTENDED;
	if (ce_config_get_bool(cfg, "priorities", "insensitive", false))
		o->flags |= CE_REX_ICASE;
	p->maxdepth = (int)ce_config_get_int(cfg, "priorities", "maxdepth", 5, 5, 100);
	o->defrule = g_strdup(ce_config_get(cfg, "priorities", "defaultrule",
	        (o->flags & CE_REX_EXTENDED) ? DEFAULT_RULE_ERE : DEFAULT_RULE_BRE));
	return 0;
}

static int load_context(struct ce_plan *p, const struct opts *o, const struct ce_config *cfg,
        const char *name, GError **err)
{
	struct context *c = g_new0(struct context, 1);
	unsigned i, n = ce_config_n_entries(cfg, name);
	struct rule *r;
	int ret = 0;

	c->name = g_strdup(name);
	c->rules = g_ptr_array_new_with_free_func(rule_free);
	g_hash_table_insert(p->contexts, c->name, c);
	for (i = 0; i < n && !ret; i++) {
		ret = rule_new(&r, o, ce_config_entry(cfg, name, i), err);
		if (!ret)
			g_ptr_array_add(c->rules, r);
	}
	p->n_rules += c->rules->len;
	if (!strcmp(name, "contexts"))
		p->classify = c;
	return ret;
}

/* goto/include with a fixed name must name a context that exists. */
static int check_jumps(const struct ce_plan *p, GError **err)
{
	GHashTableIter it;
	gpointer v;
	unsigned i;

	g_hash_table_iter_init(&it, p->contexts);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		const struct context *c = v;
		for (i = 0; i < c->rules->len; i++) {
			const struct rule *r = c->rules->pdata[i];
			const char *to = ce_tpl_source(r->arg);
			if ((r->act != ACT_GOTO && r->act != ACT_INCLUDE) || r->quiet ||
			        !ce_tpl_is_plain(r->arg) || g_hash_table_contains(p->contexts, to))
				continue;
			return bad(err, r->where, "no context [%s] to %s", to,
			        r->act == ACT_GOTO ? "go to" : "include");
		}
	}
	return 0;
}

static int load_sections(
        struct ce_plan *p, const struct opts *o, const struct ce_config *cfg, GError **err)
{
	static const char *const refused[] = {"$once", "$init", "extra"};
	unsigned i, j, line;
	const char *name, *file;
	char *where;
	int r = 0;

	for (i = 0; i < ce_config_n_sections(cfg) && !r; i++) {
		name = ce_config_section_name(cfg, i);
		if (!strcmp(name, "priorities"))
			continue;
		for (j = 0; j < G_N_ELEMENTS(refused) && strcmp(name, refused[j]); j++)
			;
		if (j == G_N_ELEMENTS(refused)) {
			r = load_context(p, o, cfg, name, err);
			continue;
		}
		line = ce_config_section_line(cfg, name, &file);
		where = g_strdup_printf("%s:%u", file ? file : "?", line);
		r = bad(err, where, "section [%s] is not supported", name);
		g_free(where);
	}
	return r;
}

/**
 * Compile the dialplan in @cfg.  Returns 0, or -EINVAL with @err saying
 * "FILE:LINE: what" for the first rule we cannot run as Yate would.
 */
int ce_plan_new(struct ce_plan **pp, const struct ce_config *cfg, GError **err)
{
	struct ce_plan *p = g_new0(struct ce_plan, 1);
	struct opts o = {0};
	int r;

	p->contexts = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, context_free);
	r = read_options(p, &o, cfg, err);
	if (r == 0)
		r = load_sections(p, &o, cfg, err);
	if (r == 0)
		r = check_jumps(p, err);
	if (r < 0)
		goto out;
	*pp = g_steal_pointer(&p);
out:
	g_free(o.defrule);
	ce_plan_free(p);
	return r;
}

/** Free @p; NULL is allowed. */
void ce_plan_free(struct ce_plan *p)
{
	if (!p)
		return;
	g_hash_table_unref(p->contexts);
	g_free(p);
}

/** Number of contexts (sections other than [priorities]). */
unsigned ce_plan_n_contexts(const struct ce_plan *p)
{
	return p ? g_hash_table_size(p->contexts) : 0;
}

/** Number of rules in all contexts. */
unsigned ce_plan_n_rules(const struct ce_plan *p)
{
	return p ? p->n_rules : 0;
}

/* One evaluation: the message, the string rules match, the answer. */
struct eval {
	const struct ce_plan *p;
	struct ce_msg *msg;
	char *str;
	GString *ret;
	unsigned evals, giveups; /* the budget of one routing */
	bool stopped;
};

/*
 * maxdepth bounds how deep goto/include nest, not how wide: a context that
 * includes itself from several rules fans out exponentially.  One routing
 * therefore tries at most MAX_EVALS rules and survives MAX_GIVEUPS
 * regexes that exhausted their backtracking budget; then it stops, routes
 * nothing and says so once per dialplan.
 */
#define MAX_EVALS   10000
#define MAX_GIVEUPS 4

static void apply_sets(
        struct eval *ev, const struct rule *r, const char *subj, const struct ce_rex_caps *caps)
{
	GString *s = g_string_new(NULL);
	unsigned i;
	char *eq;

	for (i = 0; i < r->sets->len; i++) {
		g_string_truncate(s, 0);
		ce_tpl_expand(r->sets->pdata[i], ev->msg, subj, caps, s);
		g_strstrip(s->str);
		eq = strchr(s->str, '=');
		if (eq && eq > s->str) {
			*eq = '\0';
			ce_msg_set(ev->msg, g_strstrip(s->str), g_strstrip(eq + 1));
		} else if (*s->str && !eq) {
			ce_msg_remove(ev->msg, s->str);
		}
	}
	g_string_free(s, TRUE);
}

/* Whether @r applies; fills the captures and the string they point into. */
static bool rule_matches(
        struct eval *ev, const struct rule *r, char **subj, struct ce_rex_caps *caps)
{
	const char *v = ev->str;
	int m, i;

	if (r->param) {
		v = ce_msg_get(ev->msg, r->param);
		if (!v)
			v = r->pdef ? r->pdef : "";
	}
	*subj = g_strstrip(g_strdup(v));
	if (++ev->evals > MAX_EVALS) {
		ev->stopped = true;
		return false;
	}
	m = ce_rex_match(r->rex, *subj, caps);
	if (m == -E2BIG && ++ev->giveups > MAX_GIVEUPS)
		ev->stopped = true;
	if (m == -E2BIG && g_atomic_int_compare_and_exchange((gint *)&r->warned, 0, 1))
		g_warning("%s: regular expression '%s' gave up on '%s' (too much backtracking), "
		          "treated as no match",
		        r->where, ce_rex_source(r->rex), *subj);
	if (m == 1 && !r->invert)
		return true;
	if (m != 0 || !r->invert)
		return false;
	for (i = 0; i < CE_REX_NCAPS; i++) /* Yate: no captures for an inverted match */
		caps->so[i] = caps->eo[i] = -1;
	return true;
}

static int run_context(struct eval *ev, const char *name, bool warn, int depth);

/* Apply a matched rule: 1 routed, 0 returned false, -1 go on with the next rule. */
static int apply_rule(struct eval *ev, const struct rule *r, const char *subj,
        const struct ce_rex_caps *caps, int depth)
{
	GString *arg = g_string_new(NULL);
	int res = -1;

	ce_tpl_expand(r->arg, ev->msg, subj, caps, arg);
	g_strstrip(arg->str);
	arg->len = strlen(arg->str);
	apply_sets(ev, r, subj, caps);
	switch (r->act) {
	case ACT_NOOP:
		break;
	case ACT_RETURN:
		res = ce_parse_bool(arg->str, false) ? 1 : 0;
		break;
	case ACT_GOTO:
		res = run_context(ev, arg->str, !r->quiet, depth + 1);
		break;
	case ACT_INCLUDE:
		if (run_context(ev, arg->str, !r->quiet, depth + 1) == 1)
			res = 1;
		break;
	case ACT_MATCH:
		if (arg->len) {
			g_free(ev->str);
			ev->str = g_strdup(arg->str);
		}
		break;
	case ACT_RETVAL:
		g_string_assign(ev->ret, arg->str);
		break;
	case ACT_ROUTE:
		if (!arg->len) /* Yate: a target that expands to nothing is a no-op */
			break;
		g_string_assign(ev->ret, arg->str);
		res = 1;
		break;
	}
	g_string_free(arg, TRUE);
	return res;
}

/* Yate's oneContext(): 1 when the context routed, 0 when not. */
static int run_context(struct eval *ev, const char *name, bool warn, int depth)
{
	const struct context *c = g_hash_table_lookup(ev->p->contexts, name);
	struct ce_rex_caps caps;
	char *subj;
	unsigned i;
	int res = -1;

	if (depth > ev->p->maxdepth) {
		if (g_atomic_int_compare_and_exchange((gint *)&ev->p->loop_warned, 0, 1))
			g_warning("goto/include deeper than maxdepth=%d at context [%s]: a loop?",
			        ev->p->maxdepth, name);
		return 0;
	}
	if (!c) {
		if (warn)
			g_debug("no context [%s]", name);
		return 0;
	}
	for (i = 0; i < c->rules->len && res < 0 && !ev->stopped; i++) {
		const struct rule *r = c->rules->pdata[i];
		if (rule_matches(ev, r, &subj, &caps))
			res = apply_rule(ev, r, subj, &caps, depth);
		g_free(subj);
	}
	return res > 0 ? 1 : 0;
}

/* [contexts] on the caller, as Yate's call.preroute stage; NULL: none. */
static char *classify(struct eval *ev)
{
	const char *caller = ce_msg_get(ev->msg, "caller");
	GString *saved = ev->ret;
	char *ctx = NULL;

	if (!ev->p->classify || !caller || !*caller)
		return NULL;
	ev->ret = g_string_new(NULL);
	ev->str = g_strdup(caller);
	if (run_context(ev, "contexts", true, 0) == 1)
		ctx = g_strdup(ev->ret->str);
	g_string_free(ev->ret, TRUE);
	g_clear_pointer(&ev->str, g_free);
	ev->ret = saved;
	return ctx;
}

/**
 * Route the call.route message @msg: match its "called" in its "context"
 * (else what [contexts] makes of its "caller", else [default]).  On a
 * route, sets the return value (the target, "-" to refuse) and returns
 * true.  Rules may set or clear parameters of @msg either way.
 */
bool ce_plan_route(const struct ce_plan *p, struct ce_msg *msg)
{
	struct eval ev = {.p = p, .msg = msg};
	char *called, *ctx = NULL;
	bool routed = false;

	/* a copy: rules may set "called" while we still need the original */
	called = g_strdup(ce_msg_get(msg, "called"));
	if (!called || !*called) {
		g_free(called);
		return false;
	}
	ev.ret = g_string_new(msg->retval);
	if (!ce_msg_get(msg, "context"))
		ctx = classify(&ev);
	if (ctx && (!strcmp(ctx, "-") || !strcmp(ctx, "error"))) {
		g_string_assign(ev.ret, ctx);
		routed = true;
	} else {
		if (!ctx)
			ctx = g_strdup(ce_msg_get_def(msg, "context", "default"));
		ev.str = g_strdup(called);
		routed = run_context(&ev, ctx, true, 0) == 1;
	}
	if (ev.stopped) {
		routed = false;
		if (g_atomic_int_compare_and_exchange((gint *)&p->stop_warned, 0, 1))
			g_warning("routing of '%s' stopped after %u rules and %u regexes that gave "
			          "up: goto/include fan-out or hostile patterns? (reported once)",
			        called, ev.evals, ev.giveups);
	}
	if (routed || strcmp(ev.ret->str, msg->retval))
		ce_msg_set_retval(msg, ev.ret->str);
	g_string_free(ev.ret, TRUE);
	g_free(ev.str);
	g_free(ctx);
	g_free(called);
	return routed;
}
