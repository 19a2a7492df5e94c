/* test-recover.c - the open-leg journal of the conference module, and taking over a crashed
 * engine's legs */
#include "conf-engine/log.h"
#include "conf-engine/yate.h"
#include "modules/conference/journal.h"
#include "conf-fixture.h"

static GString *warned; /* the module's warnings: what an operator reads */

static void link_up(struct fx *fx, const char *runid)
{
	char *params = g_strdup_printf("state=up:yate=6.4.1:runid=%s:restarted=false", runid);

	fx_link_event(fx, params);
	g_free(params);
}

static char *journal_conf(char **dir)
{
	*dir = g_dir_make_tmp("ce-recover-XXXXXX", NULL);
	g_assert_nonnull(*dir);
	return g_strdup_printf("[conference]\njournal=%s/legs.journal\n", *dir);
}

static char *read_journal(const char *dir)
{
	char *path = g_build_filename(dir, "legs.journal", NULL);
	char *text = NULL;

	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	g_free(path);
	return text;
}

static unsigned count(const char *text, const char *what)
{
	unsigned n = 0;

	for (const char *p = text; (p = strstr(p, what)); p++)
		n++;
	return n;
}

/*
 * A leg's enter line is written before its call is answered, with what a
 * new engine needs; its leave line when it ends.
 */
static void test_journal_lines(void)
{
	char *dir, *text = journal_conf(&dir);
	struct fx *fx = fx_new(text);
	struct ce_msg *m;
	char *got;

	g_free(text);
	link_up(fx, "1796000000");
	/* step by step: the journal has the leg when the answer is asked of Yate */
	m = fx_msg("call.execute",
	        "module=sip:caller=1001:called=800:billid=77-1:callto=conf/r:id=sip/1:"
	        "notify=conf-monitor/r:maxusers=5:lonely=true");
	ce_bus_dispatch_uplink(fx->bus, m, NULL, NULL);
	ce_msg_unref(m);
	fx_watch(fx, "call.execute",
	        "id=sip/1:callto=dumb/:ce_room=r:peerid=dumb/1:caller=1001:billid=77-1", true);
	/* Yate answers one message at a time until the call.answered masquerade is asked */
	for (int i = 0; i < 10; i++) {
		got = fx_sent(fx, "chan.masquerade:id=dumb/1:message=call.answered");
		if (*got)
			break;
		g_free(got);
		got = NULL;
		g_assert_true(fx_flush_one(fx));
	}
	g_assert_nonnull(got);
	g_free(got);
	text = read_journal(dir);
	g_assert_true(g_str_has_prefix(text, "enter\trunid=1796000000\tid=dumb/1\tat="));
	g_assert_nonnull(strstr(text, "\troom=r\tnotify=conf-monitor/r\tpeer=sip/1\tport=40000\t"
	                              "rtp_ip=127.0.0.1\trtp_port=23614\tformat=mulaw\trate=8000\t"
	                              "maxusers=5\tlonely=true\t"));
	g_assert_nonnull(strstr(text, "\tcaller=1001\t"));
	g_assert_nonnull(strstr(text, "\tbillid=77-1"));
	g_free(text);
	fx_flush(fx);
	fx_watch(fx, "chan.hangup", "id=dumb/1:reason=hangup", true);
	text = read_journal(dir);
	g_assert_cmpuint(count(text, "enter\t"), ==, 1);
	g_assert_nonnull(strstr(text, "\nleave\trunid=1796000000\tid=dumb/1\tat="));
	g_free(text);
	fx_free(fx);
	fx_rm(dir);
	g_free(dir);
}

/* A journal a crashed engine left: four legs, each of another fate. */
static void write_old_journal(const char *dir, gint64 ago_s)
{
	char *path = g_build_filename(dir, "legs.journal", NULL);
	gint64 at = g_get_real_time() - ago_s * G_USEC_PER_SEC;
	GString *s = g_string_new(NULL);
	static const char *const legs[][4] = {
	        /* runid, id, room, port */
	        {"100", "dumb/1", "r", "40000"},       /* of a Yate before: yate-restart */
	        {"200", "dumb/2", "r", "40000"},       /* Yate has it, our port: resumed */
	        {"200", "dumb/3", "r", "40000"},       /* Yate lost it: closed */
	        {"200", "dumb/4", "q", "41234"},       /* Yate has it, not our port: dropped */
	        {"200", "dumb/5", "lobby/7", "40000"}, /* in the lobby: dropped */
	};

	for (unsigned i = 0; i < G_N_ELEMENTS(legs); i++)
		g_string_append_printf(s,
		        "enter\trunid=%s\tid=%s\tat=%" G_GINT64_FORMAT "\troom=%s\t"
		        "notify=conf-monitor/%s\tpeer=sip/%u\tport=%s\trtp_ip=127.0.0.1\t"
		        "rtp_port=%u\tformat=mulaw\trate=8000\tmaxusers=10\tlonely=true\t"
		        "speakers=0\tinterval=3000\tcounted=true\tutility=false\tvoice=true\t"
		        "smart=true\techo=false\tplayer=false\tbilling=false\tcaller=10%u\n",
		        legs[i][0], legs[i][1], at, legs[i][2], legs[i][2], i + 1, legs[i][3],
		        30000 + i, i + 1);
	g_assert_true(g_file_set_contents(path, s->str, s->len, NULL));
	g_string_free(s, TRUE);
	g_free(path);
}

static void test_take_over(void)
{
	char *dir, *text = journal_conf(&dir);
	struct ce_leg *leg;
	struct fx *fx;
	char *got;

	write_old_journal(dir, 60);
	g_string_truncate(warned, 0);
	fx = fx_new(text);
	g_free(text);
	fx->yate_has = " dumb/1 dumb/2 dumb/4 dumb/5 ";
	g_assert_nonnull(strstr(warned->str, "5 legs of an engine that stopped without closing"));
	g_assert_cmpint(fx->legs, ==, 0); /* nothing before Yate can be asked */
	link_up(fx, "200");
	g_assert_nonnull(strstr(warned->str,
	        "took over 5 legs in 3 rooms of the previous engine: 1 resumed in their rooms, 2 "
	        "dropped and 1 already gone (reason engine-restart), 1 of another Yate run "
	        "(reason yate-restart)"));
	/* dumb/1 of the old Yate is not asked about: the new Yate's dumb/1 is another call */
	fx_expect_sent(fx, "chan.locate",
	        "chan.locate:id=dumb/2\nchan.locate:id=dumb/3\n"
	        "chan.locate:id=dumb/4\nchan.locate:id=dumb/5\n");
	/* dumb/5 was in the lobby: what it keyed in is gone, so is it */
	fx_expect_sent(fx, "call.drop",
	        "call.drop:id=dumb/4:reason=engine-restart\ncall.drop:id=dumb/"
	        "5:reason=engine-restart\n");
	/* dumb/2 is back in room r, mixed on its port towards Yate's RTP end */
	leg = ce_leg_find(fx->conf, "dumb/2");
	g_assert_nonnull(leg);
	g_assert_cmpint(leg->state, ==, CE_LEG_JOINED);
	g_assert_cmpstr(leg->room->name, ==, "r");
	g_assert_cmpstr(leg->peer, ==, "sip/2");
	g_assert_cmpint(fx->legs, ==, 1);
	g_assert_true(((struct fx_leg *)leg->media)->started);
	g_assert_cmpuint(((struct fx_leg *)leg->media)->port, ==, 30001);
	g_assert_null(ce_leg_find(fx->conf, "dumb/4"));
	/* the monitor's view: no "created", a resumed "joined" for each, "left" for the closed */
	fx_expect_sent(fx,
	        "chan.notify:module=conference:targetid=conf-monitor/r:room=r:event=created", "");
	got = fx_sent(fx, "chan.notify");
	g_assert_nonnull(strstr(got, "id=dumb/1:targetid=conf-monitor/r:room=r:event=joined:"
	                             "counted=true:resumed=yate-restart:joined_ms=60"));
	g_assert_nonnull(strstr(got, "id=dumb/1:targetid=conf-monitor/r:room=r:event=left:"
	                             "reason=yate-restart:gone_ms="));
	g_assert_nonnull(strstr(got, "id=dumb/3:targetid=conf-monitor/r:room=r:event=left:"
	                             "reason=engine-restart:gone_ms="));
	g_assert_nonnull(strstr(got, "id=dumb/4:targetid=conf-monitor/q:room=q:event=left:"
	                             "reason=engine-restart:gone_ms=0:lastpeerid=sip/4"));
	g_assert_nonnull(strstr(got, "event=joined:maxusers=10:users=1:resumed=engine-restart:"
	                             "joined_ms=60"));
	g_assert_nonnull(strstr(got, "targetid=conf-monitor/q:room=q:event=destroyed"));
	g_assert_null(strstr(got, "targetid=conf-monitor/r:room=r:event=destroyed"));
	g_free(got);
	/* the journal: only the resumed leg is open; it leaves when it ends */
	text = read_journal(dir);
	g_assert_cmpuint(count(text, "enter\t"), ==, 5);
	g_assert_cmpuint(count(text, "leave\t"), ==, 4);
	g_assert_null(strstr(text, "leave\trunid=200\tid=dumb/2\t"));
	g_free(text);
	fx_watch(fx, "chan.hangup", "id=dumb/2:reason=hangup", true);
	text = read_journal(dir);
	g_assert_nonnull(strstr(text, "leave\trunid=200\tid=dumb/2\t"));
	g_free(text);
	fx_free(fx);
	fx_rm(dir);
	g_free(dir);
}

/* The module stops while Yate's answers are still to come: they find nothing to act on. */
static void test_stop_while_asking(void)
{
	char *dir, *text = journal_conf(&dir);
	struct ce_msg *m;
	struct fx *fx;

	write_old_journal(dir, 5);
	fx = fx_new(text);
	g_free(text);
	fx->yate_has = " dumb/2 dumb/4 ";
	m = fx_msg(CE_LINK_MSG, "state=up:yate=6.4.1:runid=200:restarted=false");
	ce_bus_dispatch(fx->bus, m, NULL, NULL);
	ce_msg_unref(m);
	g_assert_cmpuint(g_queue_get_length(&fx->pending), >=, 3); /* the chan.locate */
	ce_conf_free(fx->conf);
	fx->conf = NULL;
	fx_flush(fx); /* the answers come */
	g_assert_cmpint(fx->legs, ==, 0);
	fx_free(fx);
	fx_rm(dir);
	g_free(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	warned = fx_collect_warnings(); /* the warnings are what is tested */
	g_test_add_func("/recover/journal-lines", test_journal_lines);
	g_test_add_func("/recover/take-over", test_take_over);
	g_test_add_func("/recover/stop-while-asking", test_stop_while_asking);
	return g_test_run();
}
