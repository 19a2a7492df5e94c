/* plan-load.c - compiles a regexroute-style dialplan: every rule checked at load, FILE:LINE errors
 */
#define G_LOG_DOMAIN "dialplan"

#include <errno.h>
#include <string.h>

#include "conf-engine/config.h"
#include "message.h"
#include "plan.h"
#include "plan-private.h"
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
 * there with "FILE:LINE: ... not supported", never skipped.  A regex that
 * does not compile is the exception: Yate runs such a rule as one that
 * never matches, so it is skipped with a warning naming FILE:LINE.
 */

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

/* 0, 1: the regex does not compile (warned: skip the rule), or -EINVAL with @err. */
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
	/* Yate's rule with a bad regex never matches: warn, skip it, load the rest */
	if (ce_rex_new(&r->rex, reg, o->flags, &e) < 0) {
		g_warning("%s: %s, rule skipped", r->where, e->message);
		g_error_free(e);
		ret = 1;
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

/* 0 with *@rp, 1: skipped (warned), or -EINVAL with @err. */
static int rule_new(
        struct rule **rp, const struct opts *o, const struct ce_config_entry *en, GError **err)
{
	struct rule *r = g_new0(struct rule, 1);
	int ret;

	r->where = g_strdup_printf("%s:%u", en->file, en->line);
	ret = parse_match(r, o, en->key, err);
	if (ret == 0)
		ret = parse_value(r, en->value, err);
	if (ret != 0)
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
		ret = ret > 0 ? 0 : ret;
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
 * "FILE:LINE: what" for the first rule we cannot run as Yate would.  A
 * rule whose regex does not compile is skipped with a warning (as Yate,
 * where it never matches).
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
