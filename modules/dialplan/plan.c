/* plan.c - routes one call.route through a compiled dialplan, as Yate's regexroute does */
#define G_LOG_DOMAIN "dialplan"

#include <errno.h>
#include <string.h>

#include "conf-engine/config.h"
#include "message.h"
#include "plan.h"
#include "plan-private.h"
#include "rex.h"
#include "tpl.h"

/* One evaluation: the message, the string rules match, the answer. */
struct eval {
	const struct ce_plan *p;
	struct ce_msg *msg;
	char *str;
	GString *ret;
	unsigned evals; /* the budget of one routing */
	bool stopped;
};

/*
 * maxdepth bounds how deep goto/include nest, not how wide: a context that
 * includes itself from several rules fans out exponentially.  One routing
 * therefore tries at most MAX_EVALS rules; then it stops, routes nothing
 * and says so once per dialplan.
 */
#define MAX_EVALS 10000

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
	if (m == -E2BIG && g_atomic_int_compare_and_exchange((gint *)&r->warned, 0, 1))
		g_warning("%s: a value of %zu bytes is longer than %d, not matched against '%s' "
		          "(rule treated as not matching; reported once): '%.40s...'",
		        r->where, strlen(*subj), CE_REX_MAX_SUBJECT, ce_rex_source(r->rex), *subj);
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
			g_warning(
			        "routing of '%.40s' stopped after %u rules: goto/include fan-out? "
			        "(reported once)",
			        called, ev.evals);
	}
	if (routed || strcmp(ev.ret->str, msg->retval))
		ce_msg_set_retval(msg, ev.ret->str);
	g_string_free(ev.ret, TRUE);
	g_free(ev.str);
	g_free(ctx);
	g_free(called);
	return routed;
}
