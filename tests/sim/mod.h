/* mod.h - the simulator's view of one external module (shared by link.c and serve.c) */
#ifndef SIM_MOD_H
#define SIM_MOD_H

#include "sim.h"

struct ce_line;
struct ce_overflow;

#define MOD_MAX_LINE (64 * 1024) /* Yate's MAX_INCOMING_LINE */
#define MOD_MIN_LINE 2048        /* MIN_INCOMING_LINE */
#define MOD_DEF_LINE 8192        /* DEF_INCOMING_LINE: Yate's buffer until setlocal bufsize */
#define MOD_MAX_OUT  (64u * 1024 * 1024)

struct sim_mod {
	struct sim *s;
	char *name;
	GPid pid;
	int rfd, wfd, efd;
	guint rsrc, wsrc, esrc, csrc;
	struct ce_linebuf *lb, *elb;
	GString *wbuf;
	bool scripted; /* spawned by us (may restart) */
	bool known;    /* role known: spawned, or "%%>connect:global" seen */
	bool dead, quit, exited;
	bool crashed; /* killed by the scenario's "crash" step: its death is no problem */
	bool reenter, selfwatch, restart;
	unsigned timeout_ms, max_queue;
	unsigned bufsize; /* Yate's input buffer: a line must fit, newline included */
	bool timebomb;
	GHashTable *pending; /* id -> struct pending */
	GHashTable *relays;  /* name -> struct sim_handler * */
	GHashTable *watched; /* name -> name ("" = every message) */
	int64_t flood_sec;
	unsigned flood_count;
	bool flood_reported;
	bool sanitizer_reported; /* a sanitizer report on its stderr was a problem */
	unsigned errors;
	guint kill_timer;
	int kill_stage;
	guint stall_timer; /* reading held up by a "stall" step until it fires */
};

struct pending {
	struct sim_mod *mod;
	struct sim_disp *d;
	char *id;
	guint timer;
};

void ce_sim_pending_free(gpointer p);
void ce_sim_mod_write_line(struct sim_mod *mod, const char *line, size_t len);
void ce_sim_mod_write_gstring(struct sim_mod *mod, GString *g);
void ce_sim_mod_reply(struct sim_mod *mod, struct ce_line *l);
void ce_sim_mod_close(struct sim_mod *mod, const char *why);
void ce_sim_mod_on_line(const char *line, size_t len, void *arg);
void ce_sim_mod_on_overflow(const struct ce_overflow *o, void *arg);

#endif
