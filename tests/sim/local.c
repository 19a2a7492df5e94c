/* local.c - Yate's local channels: tone/, wave/ and moh/ connect at once and never answer */
/*
 * Yate 6.4.1's tonegen, wavefile and moh take a call.execute from a calling
 * channel (callto=tone/NAME, wave/play/FILE, wave/record/FILE, moh/CLASS):
 * a new channel is connected to the caller at once, the message gets
 * peerid= but no targetid=, and nothing ever sends call.answered for it -
 * its audio flows from the first moment.  The calling channel's driver then
 * answers its own channel (Channel::callAccept: "no targetid", nobody will
 * answer later), silently: transcript 2's dial-out to tone/milliwatt has no
 * call.answered, yet dumb/4's chan.hangup says answered=true (drivers.c
 * does that part).
 *
 *   tone/milliwatt (mw)   1 kHz at -4 dBFS      tone/silence    digital silence
 *   tone/noise (cn)       white noise           tone/NAME       421 Hz (dial, busy, ring, ...;
 *                                                               cadences are not copied)
 *   wave/play/FILE        the file, then the call ends with reason "eof" (Yate's autoclose;
 *                         autorepeat=true plays it again and again)
 *   wave/record/FILE      silence; what it gets goes to FILE
 *   moh/CLASS             a soft chord standing in for the music
 *
 * tone/N and wave/N are Channels (status incoming, address NAME) whose
 * drivers send chan.disconnected but neither chan.startup nor chan.hangup;
 * moh/N is a bare CallEndpoint, which sends no chan.* message at all
 * (chan.c).  A call.execute without a calling channel (Yate's tone/
 * placing a call of its own) is not simulated.  Yate's chan.connected,
 * which every Channel sends on connect, is not simulated for any driver.
 */
#define G_LOG_DOMAIN "sim"

#include <string.h>

#include "sim.h"

/* The driver of a local target, or -1; *@rest is what follows "tone/", ... */
static int local_driver(const char *callto, const char **rest)
{
	static const struct {
		const char *prefix;
		int driver;
	} kinds[] = {{"tone/", SIM_DRV_TONE}, {"wave/", SIM_DRV_WAVE}, {"moh/", SIM_DRV_MOH}};

	for (unsigned i = 0; i < G_N_ELEMENTS(kinds); i++) {
		if (g_str_has_prefix(callto, kinds[i].prefix)) {
			*rest = callto + strlen(kinds[i].prefix);
			return kinds[i].driver;
		}
	}
	return -1;
}

static const char *tone_spec(const char *name)
{
	if (!strcmp(name, "milliwatt") || !strcmp(name, "mw"))
		return "tone:1000@0.64";
	if (!strcmp(name, "silence"))
		return "silence";
	if (!strcmp(name, "noise") || !strcmp(name, "cn"))
		return "noise@0.1";
	return "tone:421";
}

/* What the local channel plays and records; false for a target Yate refuses. */
static bool local_phone(struct sim_phone *ph, int driver, const char *rest, const struct ce_msg *m)
{
	const char *file = strchr(rest, '/');

	g_free(ph->play);
	ph->play = NULL;
	if (driver == SIM_DRV_TONE) {
		ph->play = g_strdup(tone_spec(rest));
	} else if (driver == SIM_DRV_MOH) {
		ph->play = g_strdup("tone:262+330+392@0.1");
	} else if (file && file[1] && g_str_has_prefix(rest, "play/")) {
		ph->play = g_strdup(file + 1);
		ph->loop = ce_msg_get_bool(m, "autorepeat", false);
	} else if (file && file[1] && g_str_has_prefix(rest, "record/")) {
		ph->play = g_strdup("silence");
		ph->record = g_strdup(file + 1);
	}
	return ph->play != NULL;
}

/* A file played once ends the call, as Yate's wave/play does (reason "eof"). */
static gboolean wave_eof(gpointer data)
{
	struct sim_chan *c = data;

	if (!ce_sim_src_ended(c->phone->src))
		return G_SOURCE_CONTINUE;
	c->timer = 0;
	ce_sim_chan_drop(c->phone->sim, c, "eof", NULL);
	return G_SOURCE_REMOVE;
}

/** call.execute handler of tonegen, wavefile and moh at 90 (registered in drivers.c). */
enum ce_sim_res ce_sim_local_execute(struct sim_disp *d, struct ce_msg *m, void *arg)
{
	struct sim *s = arg;
	const char *callto = ce_msg_get_def(m, "callto", ""), *rest = NULL;
	const char *called = ce_msg_get(m, "called");
	int driver = local_driver(callto, &rest);
	struct sim_chan *from, *c;
	struct sim_phone *ph;

	from = driver >= 0 ? ce_sim_disp_chan(d, m) : NULL;
	if (!from)
		return SIM_CONTINUE;
	ph = ce_sim_phone_new(called && *called ? called : rest);
	if (!local_phone(ph, driver, rest, m)) {
		ce_sim_phone_free(ph);
		return SIM_CONTINUE;
	}
	c = ce_sim_chan_new(s, driver, false);
	if (driver == SIM_DRV_TONE)
		c->address = g_strdup(rest);
	else if (driver == SIM_DRV_WAVE)
		c->address = g_strdup(strchr(rest, '/') + 1);
	c->phone = ph;
	ph->sim = s;
	ph->label = ce_sim_phone_label(s, called && *called ? called : c->id);
	g_hash_table_replace(s->labels, g_strdup(ph->label), c);
	ce_sim_chan_unpeer(s, from, NULL);
	ce_sim_chan_connect(s, c, from);
	ce_msg_set(m, "peerid", c->id);
	ce_sim_phone_start(s, ph);
	if (driver == SIM_DRV_WAVE && !ph->loop && ph->src)
		c->timer = g_timeout_add(100, wave_eof, c);
	ce_sim_set_state(s, ph->label, "connected");
	ce_sim_event(s, "connected", "\"who\":%s,\"chan\":%s,\"peer\":%s", ce_sim_json(ph->label),
	        ce_sim_json(c->id), ce_sim_json(from->id));
	return SIM_HANDLED;
}
