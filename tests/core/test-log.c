/* test-log.c - unit tests for conf-engine/log.c: levels per domain, line format, sink, threads */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static char *read_stream(FILE *f)
{
	long n;
	char *s;

	fflush(f);
	n = ftell(f);
	s = g_malloc0((gsize)n + 1);
	rewind(f);
	g_assert_cmpuint(fread(s, 1, (size_t)n, f), ==, (size_t)n);
	rewind(f);
	g_assert_cmpint(ftruncate(fileno(f), 0), ==, 0);
	return s;
}

static void test_parse_level(void)
{
	enum ce_log_level l;

	g_assert_cmpint(ce_log_parse_level("debug", &l), ==, 0);
	g_assert_cmpint(l, ==, CE_LOG_DEBUG);
	g_assert_cmpint(ce_log_parse_level("WARNING", &l), ==, 0);
	g_assert_cmpint(l, ==, CE_LOG_WARN);
	g_assert_cmpint(ce_log_parse_level(" note ", &l), ==, 0);
	g_assert_cmpint(l, ==, CE_LOG_NOTE);
	g_assert_cmpint(ce_log_parse_level("1", &l), ==, 0);
	g_assert_cmpint(l, ==, CE_LOG_ERROR);
	g_assert_cmpint(ce_log_parse_level("loud", &l), <, 0);
	g_assert_cmpint(ce_log_parse_level("warnx", &l), <, 0);
	g_assert_cmpint(ce_log_parse_level(NULL, &l), <, 0);
	g_assert_cmpstr(ce_log_level_name(CE_LOG_INFO), ==, "INFO");
}

static void test_levels_and_format(void)
{
	FILE *f = tmpfile();
	guint64 infos = ce_log_count(CE_LOG_INFO);
	char *out;

	ce_log_set_stream(f);
	ce_log_set_level(NULL, CE_LOG_NOTE);
	ce_log_set_level("chatty", CE_LOG_DEBUG);
	g_log("quiet", G_LOG_LEVEL_INFO, "hidden %d", 1);
	g_log("chatty", G_LOG_LEVEL_DEBUG, "shown %d", 2);
	g_log("quiet", G_LOG_LEVEL_MESSAGE, "note %d", 3);
	g_assert_cmpint(ce_log_get_level("chatty"), ==, CE_LOG_DEBUG);
	g_assert_cmpint(ce_log_get_level("other"), ==, CE_LOG_NOTE);
	out = read_stream(f);
	g_assert_null(strstr(out, "hidden"));
	g_assert_nonnull(strstr(out, " DEBUG chatty: shown 2\n"));
	g_assert_nonnull(strstr(out, " NOTE quiet: note 3\n"));
	/* "YYYY-MM-DD HH:MM:SS.mmm " */
	g_assert_cmpuint(strlen(out), >, 24);
	g_assert_true(out[4] == '-' && out[10] == ' ' && out[13] == ':' && out[19] == '.' &&
	              out[23] == ' ');
	g_assert_cmpuint(ce_log_count(CE_LOG_INFO), ==, infos + 1); /* counted even when filtered */
	g_free(out);
	ce_log_set_stream(NULL);
	fclose(f);
}

struct sink_data {
	GMutex lock;
	GPtrArray *texts;
};

static void sink(enum ce_log_level level, const char *domain, const char *text, void *arg)
{
	struct sink_data *sd = arg;

	g_mutex_lock(&sd->lock);
	g_ptr_array_add(
	        sd->texts, g_strdup_printf("%s %s %s", ce_log_level_name(level), domain, text));
	g_mutex_unlock(&sd->lock);
}

static gpointer logger(gpointer arg)
{
	int i;

	for (i = 0; i < 200; i++)
		g_log("thread", G_LOG_LEVEL_MESSAGE, "record %d", i);
	return NULL;
}

static void test_sink_from_threads(void)
{
	struct sink_data sd;
	GThread *th[4];
	unsigned i;

	g_mutex_init(&sd.lock);
	sd.texts = g_ptr_array_new_with_free_func(g_free);
	ce_log_set_level(NULL, CE_LOG_NOTE);
	ce_log_set_sink(sink, &sd);
	for (i = 0; i < G_N_ELEMENTS(th); i++)
		th[i] = g_thread_new("logger", logger, NULL);
	for (i = 0; i < G_N_ELEMENTS(th); i++)
		g_thread_join(th[i]);
	ce_log_set_sink(NULL, NULL);
	g_assert_cmpuint(sd.texts->len, ==, 800);
	g_assert_cmpstr(g_ptr_array_index(sd.texts, 0), ==, "NOTE thread record 0");
	g_ptr_array_free(sd.texts, TRUE);
	g_mutex_clear(&sd.lock);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	ce_log_init();
	g_test_add_func("/log/parse-level", test_parse_level);
	g_test_add_func("/log/levels-and-format", test_levels_and_format);
	g_test_add_func("/log/sink-from-threads", test_sink_from_threads);
	return g_test_run();
}
