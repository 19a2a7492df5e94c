/* plan.h - a compiled regexroute-style dialplan: contexts of regex=target rules */
#ifndef CE_PLAN_H
#define CE_PLAN_H

#include <stdbool.h>
#include <glib.h>

struct ce_plan;
struct ce_config;
struct ce_msg;

int ce_plan_new(struct ce_plan **pp, const struct ce_config *cfg, GError **err);
void ce_plan_free(struct ce_plan *p);
bool ce_plan_route(const struct ce_plan *p, struct ce_msg *msg);
unsigned ce_plan_n_contexts(const struct ce_plan *p);
unsigned ce_plan_n_rules(const struct ce_plan *p);

#endif
