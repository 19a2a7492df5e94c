/* test-message.c - unit tests for conf-engine/message.c */
#include "message.h"

static void test_order_and_replace(void)
{
	struct ce_msg *m;

	ce_msg_new(&m, "call.execute");
	ce_msg_add(m, "callto", "conf/a");
	ce_msg_add(m, "id", "sip/1");
	ce_msg_add(m, "callto", "dup");
	ce_msg_set(m, "callto", "conf/b");
	g_assert_cmpuint(ce_msg_count(m), ==, 3);
	g_assert_cmpstr(ce_msg_param(m, 0)->value, ==, "conf/b");
	g_assert_cmpstr(ce_msg_param(m, 2)->value, ==, "dup");
	g_assert_true(ce_msg_remove(m, "callto"));
	g_assert_cmpuint(ce_msg_count(m), ==, 1);
	g_assert_cmpstr(ce_msg_param(m, 0)->name, ==, "id");
	g_assert_null(ce_msg_param(m, 1));
	ce_msg_unref(m);
}

static void test_typed_getters(void)
{
	struct ce_msg *m;

	ce_msg_new(&m, "x");
	ce_msg_set(m, "b1", "yes");
	ce_msg_set(m, "b2", "off");
	ce_msg_set(m, "b3", "maybe");
	ce_msg_set(m, "n", "250");
	ce_msg_set(m, "bad", "12abc");
	g_assert_true(ce_msg_get_bool(m, "b1", false));
	g_assert_false(ce_msg_get_bool(m, "b2", true));
	g_assert_true(ce_msg_get_bool(m, "b3", true));
	g_assert_false(ce_msg_get_bool(m, "none", false));
	g_assert_cmpint(ce_msg_get_int(m, "n", 0, 0, 100), ==, 100);
	g_assert_cmpint(ce_msg_get_int(m, "bad", 7, 0, 100), ==, 7);
	g_assert_cmpstr(ce_msg_get_def(m, "none", "d"), ==, "d");
	ce_msg_unref(m);
}

/* Yate 6.4.1's String::toBoolean (engine/String.cpp): its two tables, exact case, no digits. */
static void test_yate_bool(void)
{
	static const char *const yes[] = {"true", "yes", "on", "enable", "t"};
	static const char *const no[] = {"false", "no", "off", "disable", "f"};
	static const char *const neither[] = {"", "1", "0", "True", "TRUE", "Yes", "ON", "Off", "F",
	        "T", "y", "n", "enabled", "disabled", " true", "true ", "-1", "2", "none"};

	for (unsigned i = 0; i < G_N_ELEMENTS(yes); i++) {
		g_assert_cmpint(ce_bool_word(yes[i]), ==, 1);
		g_assert_true(ce_parse_bool(yes[i], false));
		g_assert_cmpint(ce_bool_word(no[i]), ==, 0);
		g_assert_false(ce_parse_bool(no[i], true));
	}
	for (unsigned i = 0; i < G_N_ELEMENTS(neither); i++) {
		g_assert_cmpint(ce_bool_word(neither[i]), ==, -1);
		/* anything else is the default, whichever it is */
		g_assert_true(ce_parse_bool(neither[i], true));
		g_assert_false(ce_parse_bool(neither[i], false));
	}
	g_assert_cmpint(ce_bool_word(NULL), ==, -1);
	g_assert_true(ce_parse_bool(NULL, true));
	g_assert_false(ce_parse_bool(NULL, false));
}

static void test_apply_answer(void)
{
	struct ce_msg *m, *a, *c;

	ce_msg_new(&m, "call.execute");
	ce_msg_set(m, "callto", "conf/x");
	ce_msg_set(m, "gone", "1");
	ce_msg_new(&a, "");
	ce_msg_add(a, "callto", "dumb/");
	ce_msg_add(a, "gone", NULL);
	ce_msg_add(a, "ce_room", "x");
	ce_msg_set_retval(a, "rv");
	a->processed = false;
	ce_msg_apply(m, a);
	g_assert_cmpstr(m->name, ==, "call.execute");
	g_assert_cmpstr(m->retval, ==, "rv");
	g_assert_cmpstr(ce_msg_get(m, "callto"), ==, "dumb/");
	g_assert_null(ce_msg_get(m, "gone"));
	g_assert_cmpstr(ce_msg_get(m, "ce_room"), ==, "x");
	ce_msg_copy(&c, m);
	ce_msg_set(m, "callto", "changed");
	g_assert_cmpstr(ce_msg_get(c, "callto"), ==, "dumb/");
	ce_msg_unref(c);
	ce_msg_unref(a);
	ce_msg_unref(ce_msg_ref(m));
	ce_msg_unref(m);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/message/order-and-replace", test_order_and_replace);
	g_test_add_func("/message/typed-getters", test_typed_getters);
	g_test_add_func("/message/yate-bool", test_yate_bool);
	g_test_add_func("/message/apply-answer", test_apply_answer);
	return g_test_run();
}
