/* plan-private.h - the compiled dialplan shared by plan-load.c and plan.c */
#ifndef CE_PLAN_PRIVATE_H
#define CE_PLAN_PRIVATE_H

#include <stdbool.h>
#include <glib.h>

struct ce_rex;
struct ce_tpl;

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
	gint warned;     /* a value too long to match, reported once */
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

#endif
