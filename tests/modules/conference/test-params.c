/* test-params.c - modules/conference/params.c: a join request read once, with Yate's rules */
#include "conf-fixture.h"
#include "modules/conference/params.h"

static const struct ce_conf_settings set = {.rate = 8000, .maxusers = CE_ROOM_DEF_MAXUSERS};

static struct ce_msg *msg_of(const char *params)
{
	return fx_msg("call.execute", params);
}

/* Nothing given: Yate's defaults and the [conference] ones, nothing to tell. */
static void test_defaults(void)
{
	struct ce_join_params p;
	struct ce_msg *m = msg_of("callto=conf/a:id=sip/1");
	GString *notes = g_string_new(NULL);

	ce_join_params_parse(&p, m, &set, notes);
	g_assert_cmpstr(notes->str, ==, "");
	g_assert_null(p.notify);
	g_assert_cmpuint(p.rate, ==, 8000);
	g_assert_cmpint(p.maxusers, ==, 10);
	g_assert_cmpint(p.waitlock, ==, 200);
	g_assert_cmpuint(p.speakers, ==, 0);
	g_assert_cmpuint(p.interval, ==, CE_ROOM_DEF_INTERVAL);
	g_assert_false(p.has_lonely);
	g_assert_false(p.lonely);
	g_assert_cmpint(p.lonely_ms, ==, -1);
	g_assert_false(p.existing);
	g_assert_null(p.record);
	g_assert_cmpstr(p.id, ==, "sip/1");
	g_assert_false(p.utility);
	g_assert_true(p.counted && p.voice && p.smart);
	g_assert_false(p.echo || p.billing || p.player);
	g_assert_cmpuint(ce_msg_count(p.passed), ==, 0);
	ce_join_params_clear(&p);
	g_assert_null(p.passed);
	ce_msg_unref(m);
	g_string_free(notes, TRUE);
}

/* utility=true changes the other flags' defaults, as in Yate; given values win. */
static void test_leg_flags(void)
{
	static const struct {
		const char *params;
		bool counted, voice, smart, echo;
	} cases[] = {
	        {"utility=true", false, true, false, true},
	        {"utility=true:counted=true:smart=on:echo=off", true, true, true, false},
	        {"voice=false:echo=yes", true, false, true, true},
	        /* not Yate's booleans: the defaults */
	        {"utility=1:voice=0:echo=True", true, true, true, false},
	};

	for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct ce_msg *m = msg_of(cases[i].params);
		struct ce_join_params p;

		ce_join_params_parse(&p, m, &set, NULL);
		g_assert_cmpint(p.counted, ==, cases[i].counted);
		g_assert_cmpint(p.voice, ==, cases[i].voice);
		g_assert_cmpint(p.smart, ==, cases[i].smart);
		g_assert_cmpint(p.echo, ==, cases[i].echo);
		ce_join_params_clear(&p);
		ce_msg_unref(m);
	}
}

/* lonely=, speakers=, interval=, rate=: Yate's readings of each. */
static void test_room_values(void)
{
	static const struct {
		const char *params;
		bool lonely;
		long lonely_ms;
		unsigned speakers, interval, rate;
	} cases[] = {
	        {"lonely=true:speakers=true:interval=10", true, -1, 3, 1000, 8000},
	        {"lonely=0:speakers=12:interval=0:rate=16000", true, 0, 8, 0, 16000},
	        {"lonely=5000:speakers=-3:interval=-1:rate=99999", true, 5000, 0, 0, 48000},
	        {"lonely=off:speakers=false:rate=4000", false, -1, 0, 3000, 8000},
	        {"lonely=-5:speakers=2", false, -1, 2, 3000, 8000},
	};

	for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct ce_msg *m = msg_of(cases[i].params);
		struct ce_join_params p;

		ce_join_params_parse(&p, m, &set, NULL);
		g_assert_true(p.has_lonely);
		g_assert_cmpint(p.lonely, ==, cases[i].lonely);
		g_assert_cmpint(p.lonely_ms, ==, cases[i].lonely_ms);
		g_assert_cmpuint(p.speakers, ==, cases[i].speakers);
		g_assert_cmpuint(p.interval, ==, cases[i].interval);
		g_assert_cmpuint(p.rate, ==, cases[i].rate);
		ce_join_params_clear(&p);
		ce_msg_unref(m);
	}
}

/* Each value Yate would ignore or clamp is told, by name, with what applies instead. */
static void test_notes(void)
{
	struct ce_msg *m = msg_of("utility=1:rate=99999:maxusers=lots:speakers=some:"
	                          "lonely=maybe:existing=:voice=true:interval=x");
	GString *notes = g_string_new(NULL);
	struct ce_join_params p;

	ce_join_params_parse(&p, m, &set, notes);
	g_assert_cmpstr(notes->str, ==,
	        "rate=99999 is outside 8000..48000, 48000 applies; "
	        "maxusers=lots is not a number, 10 applies; "
	        "speakers=some is neither a number nor a boolean, 0 applies; "
	        "interval=x is not a number, 3000 applies; "
	        "lonely=maybe is neither a boolean nor a timeout in ms, false applies; "
	        "utility=1 is not a boolean (true or false), false applies");
	ce_join_params_clear(&p);
	ce_msg_unref(m);
	g_string_free(notes, TRUE);
}

/* lang= names a language folder or is ignored, with a note. */
static void test_lang(void)
{
	static const char *const cases[][3] = {
	        {"lang=pt-BR", "pt-BR", ""},
	        {"lang=", NULL, ""},
	        {"id=sip/1", NULL, ""},
	        {"lang=../etc", NULL, "lang=../etc is not a language name, the default applies"},
	        {"lang=/tmp", NULL, "lang=/tmp is not a language name, the default applies"},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct ce_msg *m = msg_of(cases[i][0]);
		GString *notes = g_string_new(NULL);
		struct ce_join_params p;

		ce_join_params_parse(&p, m, &set, notes);
		g_assert_cmpstr(p.lang, ==, cases[i][1]);
		g_assert_cmpstr(notes->str, ==, cases[i][2]);
		ce_join_params_clear(&p);
		ce_msg_unref(m);
		g_string_free(notes, TRUE);
	}
}

/* Who the participant is goes on as given (empty values too), nothing else. */
static void test_passed(void)
{
	struct ce_msg *m = msg_of("caller=100:called=:billid=7-1:maxlen=60000:"
	                          "participant_role=moderator:secret=x:notify=mon");
	struct ce_join_params p;

	ce_join_params_parse(&p, m, &set, NULL);
	g_assert_cmpuint(ce_msg_count(p.passed), ==, 5);
	g_assert_cmpstr(ce_msg_get(p.passed, "caller"), ==, "100");
	g_assert_cmpstr(ce_msg_get(p.passed, "called"), ==, "");
	g_assert_cmpstr(ce_msg_get(p.passed, "billid"), ==, "7-1");
	g_assert_cmpstr(ce_msg_get(p.passed, "maxlen"), ==, "60000");
	g_assert_cmpstr(ce_msg_get(p.passed, "participant_role"), ==, "moderator");
	g_assert_null(ce_msg_get(p.passed, "secret"));
	g_assert_cmpstr(p.notify, ==, "mon");
	ce_join_params_clear(&p);
	ce_msg_unref(m);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/conference/params/defaults", test_defaults);
	g_test_add_func("/conference/params/leg-flags", test_leg_flags);
	g_test_add_func("/conference/params/room-values", test_room_values);
	g_test_add_func("/conference/params/notes", test_notes);
	g_test_add_func("/conference/params/passed", test_passed);
	g_test_add_func("/conference/params/lang", test_lang);
	return g_test_run();
}
