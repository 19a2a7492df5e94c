/* test-room.c - conference rooms alone: admission, Yate's parameter semantics, owners */
#include <errno.h>

#include "conf-fixture.h"
#include "modules/conference/params.h"

static struct ce_room *room_new(struct fx *fx, const char *name, const char *params)
{
	struct ce_msg *m = fx_msg("call.execute", params);
	struct ce_room *room = NULL;
	struct ce_join_params p;

	ce_join_params_parse(&p, m, &fx->conf->set, NULL);
	g_assert_cmpint(ce_room_new(&room, fx->conf, name, &p), ==, 0);
	ce_join_params_clear(&p);
	ce_msg_unref(m);
	return room;
}

/* Yate's setParams with what @m says, answered in @m. */
static bool set_params(struct fx *fx, struct ce_room *r, struct ce_msg *m)
{
	struct ce_join_params p;
	bool ok;

	ce_join_params_parse(&p, m, &fx->conf->set, NULL);
	ok = ce_room_set_params(r, &p, m);
	ce_join_params_clear(&p);
	return ok;
}

static void test_defaults(void)
{
	struct fx *fx = fx_new(NULL);
	struct ce_room *r = room_new(fx, "a", "");

	g_assert_cmpint(r->maxusers, ==, 10);
	g_assert_cmpuint(r->rate, ==, 8000);
	g_assert_false(r->lonely);
	g_assert_cmpuint(r->lonely_ms, ==, 0);
	g_assert_null(r->notify);
	g_assert_cmpuint(r->speakers, ==, 0);
	g_assert_cmpuint(r->interval, ==, 3000);
	g_assert_cmpint(r->waitlock, ==, 200);
	ce_room_drop_all(r, NULL);
	g_assert_null(ce_room_find(fx->conf, "a"));
	fx_free(fx);
}

static void test_lonely_values(void)
{
	static const struct {
		const char *v;
		bool lonely;
		unsigned ms;
	} cases[] = {
	        {"true", true, 0},
	        {"yes", true, 0},
	        {"false", false, 0},
	        {"", false, 0},
	        {"0", true, 0},
	        {"5000", true, 5000},
	        {"500", true, 1000},
	        {"-5", false, 0},
	        {"junk", false, 0},
	};

	for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct fx *fx = fx_new(NULL);
		char *p = g_strdup_printf("lonely=%s", cases[i].v);
		struct ce_room *r = room_new(fx, "a", p);

		g_test_message("lonely=%s", cases[i].v);
		g_assert_cmpint(r->lonely, ==, cases[i].lonely);
		g_assert_cmpuint(r->lonely_ms, ==, cases[i].ms);
		ce_room_drop_all(r, NULL);
		g_free(p);
		fx_free(fx);
	}
}

static void test_speakers_values(void)
{
	struct fx *fx = fx_new(NULL);
	struct ce_room *a = room_new(fx, "a", "speakers=true:interval=10");
	struct ce_room *b = room_new(fx, "b", "speakers=12:interval=0");
	struct ce_room *c = room_new(fx, "c", "speakers=-3:interval=-1:rate=99999");

	g_assert_cmpuint(a->speakers, ==, 3);
	g_assert_cmpuint(a->interval, ==, 1000);
	g_assert_cmpuint(b->speakers, ==, 8);
	g_assert_cmpuint(b->interval, ==, 0);
	g_assert_cmpuint(c->speakers, ==, 0);
	g_assert_cmpuint(c->interval, ==, 0);
	g_assert_cmpuint(c->rate, ==, 48000);
	ce_room_drop_all(a, NULL);
	ce_room_drop_all(b, NULL);
	ce_room_drop_all(c, NULL);
	fx_free(fx);
}

static void test_check(void)
{
	struct fx *fx = fx_new(NULL);
	struct ce_room_refusal why = {0};
	GString *name = g_string_new("");
	struct ce_room *r;

	/* an empty name allocates, skipping names in use */
	room_new(fx, "x-1", "");
	g_assert_true(ce_room_check(fx->conf, name, false, true, false, &why));
	g_assert_cmpstr(name->str, ==, "x-2");
	g_string_assign(name, "nope");
	g_assert_false(ce_room_check(fx->conf, name, true, true, false, &why));
	g_assert_cmpstr(why.error, ==, "noroute");
	/* names reach file names: no '/', no leading dot, a few punctuation marks */
	for (unsigned i = 0; i < 6; i++) {
		static const char *const bad[] = {
		        "../../etc/x", "a/b", ".hidden", "..", "x;y", "r\xc3\xa9"};

		g_string_assign(name, bad[i]);
		g_assert_false(ce_room_check(fx->conf, name, false, true, false, &why));
		g_assert_cmpstr(why.error, ==, "noroute");
		g_assert_cmpstr(why.reason, ==, "Invalid conference room name");
	}
	g_string_assign(name, "Room-1_a.b@c+d#*");
	g_assert_true(ce_room_check(fx->conf, name, false, true, false, &why));
	g_string_assign(name, "has space");
	g_assert_false(ce_room_check(fx->conf, name, false, true, false, &why));
	r = room_new(fx, "full", "maxusers=0");
	g_string_assign(name, "full");
	g_assert_false(ce_room_check(fx->conf, name, false, true, false, &why));
	g_assert_cmpstr(why.error, ==, "busy");
	g_assert_true(ce_room_check(fx->conf, name, false, false, true, &why));
	ce_room_set_locked(r, true);
	g_assert_false(ce_room_check(fx->conf, name, false, false, false, &why));
	g_assert_cmpstr(why.error, ==, "forbidden");
	g_assert_true(ce_room_check(fx->conf, name, false, false, true, &why));
	g_string_free(name, TRUE);
	ce_room_drop_all(r, NULL);
	ce_room_drop_all(ce_room_find(fx->conf, "x-1"), NULL);
	fx_free(fx);
}

static void test_set_params(void)
{
	struct fx *fx = fx_new(NULL);
	struct ce_room *r = room_new(fx, "a", "lonely=true");
	struct ce_msg *m = fx_msg("call.conference", "id=sip/1:confowner=true");

	g_assert_true(set_params(fx, r, m));
	g_assert_cmpstr(ce_msg_get(m, "newroom"), ==, "true");
	g_assert_cmpstr(ce_msg_get(m, "users"), ==, "0");
	g_assert_cmpuint(r->owners->len, ==, 1);
	g_assert_true(set_params(fx, r, m)); /* same owner once */
	g_assert_cmpstr(ce_msg_get(m, "newroom"), ==, "false");
	g_assert_cmpuint(r->owners->len, ==, 1);
	ce_msg_set(m, "confowner", "");
	g_assert_false(set_params(fx, r, m));
	/* an empty room is owned by nobody: losing its owner closes it */
	g_assert_false(ce_room_is_owned(r));
	ce_msg_set(m, "confowner", "false");
	g_assert_true(set_params(fx, r, m));
	g_assert_null(ce_room_find(fx->conf, "a"));
	ce_msg_unref(m);
	fx_free(fx);
}

static void test_owned(void)
{
	struct fx *fx = fx_new(NULL);
	struct ce_leg *a = fx_join(fx, "r", "sip/1", 1, "confowner=true");
	struct ce_room *r = a->room;

	/* one user who is the only owner: not owned, so a leave would drop it */
	g_assert_false(ce_room_is_owned(r));
	ce_room_add_owner(r, "sip/op");
	g_assert_true(ce_room_is_owned(r));
	ce_room_del_owner(r, "sip/1");
	g_assert_true(ce_room_is_owned(r));
	fx_clear(fx);
	ce_room_del_owner(r, "sip/op");
	fx_expect_sent(fx, "call.drop", "call.drop:id=dumb/1:reason=hangup\n");
	g_assert_null(ce_room_find(fx->conf, "r"));
	fx_free(fx);
}

static void test_created_once(void)
{
	struct fx *fx = fx_new(NULL);

	fx_join(fx, "r", "sip/1", 1, "notify=mon:lonely=true");
	fx_join(fx, "r", "sip/2", 2, "notify=other:lonely=false");
	/* the first request made the room: its notify target and lonely stay */
	fx_expect_sent(fx, "chan.notify:targetid=mon:event=created",
	        "chan.notify:targetid=mon:event=created:room=r:rate=8000:maxusers=10:caller=tone/"
	        "busy:"
	        "called=802:billid=:username=\n");
	g_assert_true(ce_room_find(fx->conf, "r")->lonely);
	fx_expect_sent(fx, "chan.notify:targetid=other", "");
	fx_free(fx);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/conference/room/defaults", test_defaults);
	g_test_add_func("/conference/room/lonely-values", test_lonely_values);
	g_test_add_func("/conference/room/speakers-values", test_speakers_values);
	g_test_add_func("/conference/room/check", test_check);
	g_test_add_func("/conference/room/set-params", test_set_params);
	g_test_add_func("/conference/room/owned", test_owned);
	g_test_add_func("/conference/room/created-once", test_created_once);
	return g_test_run();
}
