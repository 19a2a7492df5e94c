/* test-http-prom.c - the Prometheus text the HTTP API writes: metric names and label values */
#include <string.h>

#include <glib.h>

#include "modules/http/http.h"

/* Status keys become metric names: anything but [a-zA-Z0-9_] turns into '_'. */
static void test_names(void)
{
	static const char *const cases[][2] = {
	        {"rooms", "rooms"},
	        {"store_db", "store_db"},
	        {"rtp-late.ms", "rtp_late_ms"},
	        {"a b:c", "a_b_c"},
	        {"é", "__"},
	};

	for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *n = ce_http_metric_name(cases[i][0]);

		g_assert_cmpstr(n, ==, cases[i][1]);
		g_free(n);
	}
}

/* Label values escape exactly backslash, double quote and line feed (format 0.0.4). */
static void test_label_values(void)
{
	static const char *const cases[][2] = {
	        {"800", "800"},
	        {"a\"b", "a\\\"b"},
	        {"back\\slash", "back\\\\slash"},
	        {"two\nlines", "two\\nlines"},
	        {"\\\"\n", "\\\\\\\"\\n"},
	        {"tab\tand é", "tab\tand é"},
	        {"", ""},
	};

	for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
		GString *out = g_string_new("x=\"");

		ce_http_label_value(out, cases[i][0]);
		g_assert_cmpstr(out->str + 3, ==, cases[i][1]);
		g_string_free(out, TRUE);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/http/prom/names", test_names);
	g_test_add_func("/http/prom/label-values", test_label_values);
	return g_test_run();
}
