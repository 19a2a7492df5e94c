/* test-store-history.c - reading events, CDRs and event stream lines back (filters, the id
 * cursor), SQLite and PostgreSQL
 */
#include <errno.h>
#include <string.h>

#include "store-fixture.h"

/* 2026-11-23 09:00:00 UTC */
#define T0 (G_GINT64_CONSTANT(1795424400) * G_USEC_PER_SEC)
#define N  30

struct got {
	bool done;
	int err;
	GPtrArray *rows; /* a reference to the store's array */
};

static void on_rows(int err, GPtrArray *rows, const GError *error, void *arg)
{
	struct got *g = arg;

	g->err = err;
	g->rows = rows ? g_ptr_array_ref(rows) : NULL;
	g->done = true;
}

/* The rows @f selects (struct ce_event * or struct ce_cdr *), after a bounded wait. */
static GPtrArray *list(struct fx *fx, bool events, const struct ce_history_filter *f)
{
	struct got g = {0};
	int r = events ? ce_store_list_events(fx->st, f, on_rows, &g, NULL)
	               : ce_store_list_cdrs(fx->st, f, on_rows, &g, NULL);

	g_assert_cmpint(r, ==, 0);
	fx_wait(fx, &g.done);
	g_assert_cmpint(g.err, ==, 0);
	return g.rows;
}

static struct ce_history_filter all(void)
{
	return (struct ce_history_filter){
	        .from = CE_STORE_TIME_MIN, .to = CE_STORE_TIME_MAX, .kind = -1, .limit = 1000};
}

/* N events, rooms a and b in turn (a in conference 7), enter and leave in turn, 1 s apart;
 * N / 2 CDRs the same way; the first event's caller has quotes and a newline. */
static void fill(struct fx *f)
{
	for (int i = 0; i < N; i++) {
		struct ce_event ev = {.kind = i % 4 < 2 ? CE_EVENT_ENTER : CE_EVENT_LEAVE,
		        .at = T0 + i * G_USEC_PER_SEC + 7,
		        .room = i % 2 ? "b" : "a",
		        .conference_id = i % 2 ? 0 : 7,
		        .leg = "dumb/1",
		        .caller = i ? "1001" : "=\"x\",\ny",
		        .direction = "in"};
		ce_store_add_event(f->st, &ev);
	}
	for (int i = 0; i < N / 2; i++) {
		struct ce_cdr c = {.room = i % 2 ? "b" : "a",
		        .conference_id = i % 2 ? 0 : 7,
		        .caller = "1002",
		        .caller_name = "Bo",
		        .joined_at = T0 + i * G_USEC_PER_SEC,
		        .left_at = T0 + (i + 60) * G_USEC_PER_SEC,
		        .talk_ms = 1000,
		        .reason = "hangup",
		        .billid = "b-1"};
		ce_store_add_cdr(f->st, &c);
	}
	fx_drain(f);
}

static void test_events(struct fx *f, gconstpointer data)
{
	struct ce_history_filter q = all();
	GPtrArray *rows, *paged = g_ptr_array_new();
	struct ce_event *ev;
	int pages = 0;

	if (f->skip)
		return;
	fill(f);
	rows = list(f, true, &q);
	g_assert_cmpuint(rows->len, ==, N);
	ev = rows->pdata[0];
	g_assert_cmpstr(ev->caller, ==, "=\"x\",\ny");
	g_assert_cmpint(ev->at, ==, T0 + 7);
	g_assert_cmpint(ev->kind, ==, CE_EVENT_ENTER);
	g_assert_cmpint(ev->conference_id, ==, 7);
	g_assert_cmpstr(ev->room, ==, "a");
	g_assert_cmpstr(ev->node, ==, "test-node");
	g_assert_cmpstr(ev->direction, ==, "in");
	g_assert_null(ev->detail);
	g_assert_cmpint(((struct ce_event *)rows->pdata[1])->conference_id, ==, 0);
	for (guint i = 1; i < rows->len; i++)
		g_assert_cmpint(((struct ce_event *)rows->pdata[i])->id, >,
		        ((struct ce_event *)rows->pdata[i - 1])->id);

	/* the cursor: pages of 7 give every row once, in order */
	q.limit = 7;
	for (GPtrArray *page; pages < 10; pages++) {
		page = list(f, true, &q);
		for (guint i = 0; i < page->len; i++)
			g_ptr_array_add(
			        paged, GINT_TO_POINTER(((struct ce_event *)page->pdata[i])->id));
		if (page->len < q.limit) {
			g_ptr_array_unref(page);
			break;
		}
		q.after = ((struct ce_event *)page->pdata[page->len - 1])->id;
		g_ptr_array_unref(page);
	}
	g_assert_cmpint(pages, ==, N / 7);
	g_assert_cmpuint(paged->len, ==, N);
	for (guint i = 0; i < N; i++)
		g_assert_cmpint(GPOINTER_TO_INT(paged->pdata[i]), ==,
		        ((struct ce_event *)rows->pdata[i])->id);
	g_ptr_array_unref(paged);
	g_ptr_array_unref(rows);

	/* each filter, and all of them: a in conference 7, leaves, 10 s from T0 + 5 s */
	q = all();
	q.room = "b";
	rows = list(f, true, &q);
	g_assert_cmpuint(rows->len, ==, N / 2);
	g_ptr_array_unref(rows);
	q = all();
	q.conference_id = 7;
	rows = list(f, true, &q);
	g_assert_cmpuint(rows->len, ==, N / 2);
	g_ptr_array_unref(rows);
	q = all();
	q.kind = CE_EVENT_LEAVE;
	rows = list(f, true, &q);
	g_assert_cmpuint(rows->len, ==, 14); /* i % 4 of 2 or 3, i < 30 */
	for (guint i = 0; i < rows->len; i++)
		g_assert_cmpint(((struct ce_event *)rows->pdata[i])->kind, ==, CE_EVENT_LEAVE);
	g_ptr_array_unref(rows);
	q = all();
	q.from = T0 + 5 * G_USEC_PER_SEC;
	q.to = T0 + 15 * G_USEC_PER_SEC + 7; /* the event at exactly "to" is out */
	rows = list(f, true, &q);
	g_assert_cmpuint(rows->len, ==, 10);
	g_assert_cmpint(((struct ce_event *)rows->pdata[0])->at, ==, T0 + 5 * G_USEC_PER_SEC + 7);
	g_ptr_array_unref(rows);
	q.room = "a";
	q.conference_id = 7;
	q.kind = CE_EVENT_LEAVE;
	rows = list(f, true, &q);
	/* i in 5..14, even, i % 4 >= 2: 6, 10, 14 */
	g_assert_cmpuint(rows->len, ==, 3);
	g_ptr_array_unref(rows);
	q = all();
	q.room = "'; DROP TABLE events; --";
	rows = list(f, true, &q);
	g_assert_cmpuint(rows->len, ==, 0);
	g_ptr_array_unref(rows);
	g_assert_cmpint(fx_query_int(f, "SELECT count(*) FROM events"), ==, N);
}

static void test_cdrs(struct fx *f, gconstpointer data)
{
	struct ce_history_filter q = all();
	GPtrArray *rows;
	struct ce_cdr *c;

	if (f->skip)
		return;
	fill(f);
	rows = list(f, false, &q);
	g_assert_cmpuint(rows->len, ==, N / 2);
	c = rows->pdata[1];
	g_assert_cmpstr(c->room, ==, "b");
	g_assert_cmpint(c->joined_at, ==, T0 + G_USEC_PER_SEC);
	g_assert_cmpint(c->left_at, ==, T0 + 61 * G_USEC_PER_SEC);
	g_assert_cmpint(c->duration_ms, ==, 60000);
	g_assert_cmpint(c->talk_ms, ==, 1000);
	g_assert_cmpstr(c->caller_name, ==, "Bo");
	g_assert_cmpstr(c->billid, ==, "b-1");
	g_assert_cmpstr(c->reason, ==, "hangup");
	g_assert_null(c->role);
	g_ptr_array_unref(rows);
	q.room = "a";
	q.from = T0 + 4 * G_USEC_PER_SEC; /* by joined_at: i = 4, 6, ..., 14 */
	rows = list(f, false, &q);
	g_assert_cmpuint(rows->len, ==, 6);
	g_ptr_array_unref(rows);
}

static void test_limits(struct fx *f, gconstpointer data)
{
	struct ce_history_filter q = all();

	if (f->skip)
		return;
	q.limit = 0;
	g_assert_cmpint(ce_store_list_events(f->st, &q, on_rows, NULL, NULL), ==, -EINVAL);
	q.limit = CE_STORE_HISTORY_MAX + 1;
	g_assert_cmpint(ce_store_list_cdrs(f->st, &q, on_rows, NULL, NULL), ==, -EINVAL);
}

static GPtrArray *lines(struct fx *fx, const struct ce_stream_filter *q)
{
	struct got g = {0};

	g_assert_cmpint(ce_store_list_lines(fx->st, q, on_rows, &g, NULL), ==, 0);
	fx_wait(fx, &g.done);
	g_assert_cmpint(g.err, ==, 0);
	return g.rows;
}

/*
 * The event stream's lines: this node's only (another node's rows share
 * the ids), every row of the range with the text of those the filters
 * pass, in id order, a missing id missing, a replayed line stored once.
 */
static void test_lines(struct fx *f, gconstpointer data)
{
	struct ce_stream_filter q = {.after = 100, .upto = 110, .limit = 1000};
	GPtrArray *rows;
	char *text;

	if (f->skip)
		return;
	for (gint64 seq = 101; seq <= 112; seq++) {
		char *line = g_strdup_printf("{\"seq\":%" G_GINT64_FORMAT "}", seq);

		if (seq != 105) /* never stored: the reader sees the hole */
			ce_store_add_line(f->st, &(struct ce_stream_line){.seq = seq,
			                                 .run = 100,
			                                 .at = T0 + seq,
			                                 .room = seq % 2 ? "a" : "b",
			                                 .conference_id = seq % 2 ? 7 : 0,
			                                 .line = line});
		g_free(line);
	}
	/* a spool replay after a partial commit: the same id again is not stored twice */
	ce_store_add_line(
	        f->st, &(struct ce_stream_line){
	                       .seq = 101, .run = 100, .at = T0, .room = "a", .line = "x"});
	fx_exec(f, f->backend == CE_STORE_SQLITE
	                   ? "INSERT INTO event_stream VALUES ('other', 106, 100, 0, 'a', 7, 'o'), "
	                     "('other', 105, 100, 0, 'a', 7, 'o')"
	                   : "INSERT INTO event_stream VALUES ('other', 106, 100, now(), 'a', 7, "
	                     "'o'), ('other', 105, 100, now(), 'a', 7, 'o')");
	fx_drain(f);

	rows = lines(f, &q);
	g_assert_cmpuint(rows->len, ==, 9);
	for (guint i = 0; i < rows->len; i++) {
		struct ce_stream_line *l = rows->pdata[i];
		gint64 seq = 101 + i + (i >= 4);

		g_assert_cmpint(l->seq, ==, seq);
		g_assert_cmpint(l->run, ==, 100);
		text = g_strdup_printf("{\"seq\":%" G_GINT64_FORMAT "}", seq);
		g_assert_cmpstr(l->line, ==, text);
		g_free(text);
	}
	g_ptr_array_unref(rows);

	q.room = "a"; /* the same rows; room b's without their text */
	rows = lines(f, &q);
	g_assert_cmpuint(rows->len, ==, 9);
	for (guint i = 0; i < rows->len; i++) {
		struct ce_stream_line *l = rows->pdata[i];

		g_assert_true((l->seq % 2 != 0) == (l->line != NULL));
	}
	g_ptr_array_unref(rows);

	q.room = NULL;
	q.conference_id = 7;
	q.after = 106;
	q.limit = 2;
	rows = lines(f, &q);
	g_assert_cmpuint(rows->len, ==, 2);
	g_assert_cmpint(((struct ce_stream_line *)rows->pdata[0])->seq, ==, 107);
	g_assert_nonnull(((struct ce_stream_line *)rows->pdata[0])->line);
	g_assert_null(((struct ce_stream_line *)rows->pdata[1])->line);
	g_ptr_array_unref(rows);
	q.limit = 0;
	g_assert_cmpint(ce_store_list_lines(f->st, &q, on_rows, NULL, NULL), ==, -EINVAL);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	fx_add_tests("events", test_events);
	fx_add_tests("cdrs", test_cdrs);
	fx_add_tests("limits", test_limits);
	fx_add_tests("lines", test_lines);
	return g_test_run();
}
