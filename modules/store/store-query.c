/* store-query.c - queries: jobs for the worker threads, admission, results on the main loop */
#define G_LOG_DOMAIN "store"

/*
 * Queries are jobs on a queue served by opt.workers threads, each with its
 * own connection.  A job that waited longer than query_timeout_ms, or that
 * arrives while the database is known to be down, is answered at once with
 * an error: a caller never waits long for an answer.
 */

#include <errno.h>
#include <string.h>

#include "store-db.h"

enum job_type {
	JOB_QUIT,
	JOB_FIND,
	JOB_LIST,
	JOB_PARTS,
	JOB_ADMIT,
	JOB_PUT_CONF,
	JOB_PUT_PART,
	JOB_EXTEND,
	JOB_QUERY,
	JOB_SAVE_CONF,
	JOB_DELETE,
	JOB_EVENTS,
	JOB_CDRS,
	JOB_LINES,
};

struct job {
	enum job_type type;
	struct ce_store *st;
	gint64 queued_at;
	char *key;
	char *pin;
	char *number; /* the caller's, normalised (ce_store_number) */
	gint64 now, from, to, id;
	gint64 by;                        /* JOB_EXTEND: how much later the conference ends (us) */
	struct ce_conference_query query; /* JOB_QUERY; its number is j->key */
	struct ce_history_filter hist;    /* JOB_EVENTS, JOB_CDRS: its room is key */
	struct ce_stream_filter lines;    /* JOB_LINES: its room is key */
	struct ce_conference *conf;
	struct ce_participant *part;
	GPtrArray *rows;
	struct ce_admission adm;
	int err;
	GError *error;
	void (*cb)(void);
	void *arg;
	GDestroyNotify destroy;
};

static struct job quit_job = {.type = JOB_QUIT};

static const char *const admit_names[] = {
        [CE_ADMIT_OK] = "ok",
        [CE_ADMIT_NO_CONFERENCE] = "noconference",
        [CE_ADMIT_NOT_STARTED] = "notstarted",
        [CE_ADMIT_ENDED] = "ended",
        [CE_ADMIT_CANCELLED] = "cancelled",
        [CE_ADMIT_PIN_REQUIRED] = "pinrequired",
        [CE_ADMIT_BAD_PIN] = "badpin",
        [CE_ADMIT_UNAVAILABLE] = "unavailable",
};

/** ce_admit_result_name() - short name of @r, usable as a Yate "reason=" */
const char *ce_admit_result_name(enum ce_admit_result r)
{
	return (unsigned)r < G_N_ELEMENTS(admit_names) ? admit_names[r] : "unknown";
}

static void job_free(gpointer data)
{
	struct job *j = data;

	if (j->destroy)
		j->destroy(j->arg);
	g_free(j->key);
	g_free(j->pin);
	g_free(j->number);
	ce_conference_unref(j->conf);
	ce_participant_free(j->part);
	if (j->rows)
		g_ptr_array_unref(j->rows);
	ce_conference_unref(j->adm.conference);
	ce_participant_free(j->adm.participant);
	g_clear_error(&j->error);
	g_free(j);
}

static gboolean job_done(gpointer data)
{
	struct job *j = data;

	switch (j->type) {
	case JOB_FIND:
	case JOB_LIST:
	case JOB_QUERY:
		((ce_store_conferences_h *)(void *)j->cb)(j->err, j->rows, j->arg);
		break;
	case JOB_PARTS:
		((ce_store_participants_h *)(void *)j->cb)(j->err, j->rows, j->arg);
		break;
	case JOB_ADMIT:
		((ce_store_admit_h *)(void *)j->cb)(&j->adm, j->arg);
		break;
	case JOB_PUT_CONF:
	case JOB_PUT_PART:
	case JOB_SAVE_CONF:
	case JOB_DELETE:
		((ce_store_id_h *)(void *)j->cb)(j->err, j->id, j->error, j->arg);
		break;
	case JOB_EXTEND:
		((ce_store_conference_h *)(void *)j->cb)(j->err, j->err ? NULL : j->conf, j->arg);
		break;
	case JOB_EVENTS:
	case JOB_CDRS:
	case JOB_LINES:
		((ce_store_history_h *)(void *)j->cb)(j->err, j->rows, j->error, j->arg);
		break;
	case JOB_QUIT:
		break;
	}
	return G_SOURCE_REMOVE;
}

/*
 * Whose personal PIN the caller's PIN (j->pin) is, among the participants
 * of @open: every PIN is compared here, in constant time and all of them
 * (no early exit), so neither an index nor the comparison tells how close
 * a guess was.  *@pp gets a copy of the first one (by conference, then id),
 * *@cp its conference; both stay NULL when it is nobody's.
 */
static int personal_pin(struct ce_store *st, struct ce_db *db, struct job *j, GPtrArray *open,
        struct ce_conference **cp, struct ce_participant **pp)
{
	GPtrArray *parts = g_ptr_array_new_with_free_func((GDestroyNotify)ce_participant_free);
	int r = 0;

	for (guint i = 0; r == 0 && i < open->len; i++) {
		struct ce_conference *c = g_ptr_array_index(open, i);

		g_ptr_array_set_size(parts, 0);
		r = st->ops->list_participants(db, c->id, parts, &j->error);
		for (guint k = 0; r == 0 && k < parts->len; k++) {
			struct ce_participant *p = g_ptr_array_index(parts, k);
			bool equal = ce_store_pin_equal(j->pin, p->pin);

			if (equal && !*pp) {
				*pp = ce_participant_dup(p);
				*cp = c;
			}
		}
	}
	g_ptr_array_unref(parts);
	return r;
}

/* Which conference of @open, if any, the PIN opens, and as whom. */
static int admit_pin(struct ce_store *st, struct ce_db *db, struct job *j, GPtrArray *open)
{
	struct ce_admission *a = &j->adm;
	struct ce_conference *opened = NULL;
	bool any_pin = false;
	int r;

	for (guint i = 0; i < open->len; i++) {
		struct ce_conference *c = g_ptr_array_index(open, i);
		bool moderator = ce_store_pin_equal(j->pin, c->moderator_pin);
		bool participant = ce_store_pin_equal(j->pin, c->pin);

		any_pin |= c->pin != NULL;
		if (!opened && (moderator || participant)) {
			opened = c;
			a->role = moderator ? CE_ROLE_MODERATOR : CE_ROLE_PARTICIPANT;
		}
	}
	if (!opened && j->pin) {
		r = personal_pin(st, db, j, open, &opened, &a->participant);
		if (r < 0)
			return r;
		if (a->participant)
			a->role = a->participant->role;
	}
	if (!opened && !any_pin && open->len)
		opened = g_ptr_array_index(open, 0);
	if (opened)
		a->conference = ce_conference_ref(opened);
	else
		a->result = j->pin ? CE_ADMIT_BAD_PIN : CE_ADMIT_PIN_REQUIRED;
	return 0;
}

/* Sorts the candidates by state; the admission result when none is open. */
static enum ce_admit_result classify(
        GPtrArray *rows, gint64 now, GPtrArray *open, struct ce_conference **next)
{
	bool ended = false, cancelled = false;

	for (guint i = 0; i < rows->len; i++) {
		struct ce_conference *c = g_ptr_array_index(rows, i);
		enum ce_conference_state s = ce_conference_state(c, now);
		if (c->cancelled && s != CE_CONF_UNKNOWN)
			cancelled = true;
		else if (s == CE_CONF_OPEN)
			g_ptr_array_add(open, c);
		else if (s == CE_CONF_NOT_YET && !*next)
			*next = c;
		else if (s == CE_CONF_GRACE || s == CE_CONF_ENDED)
			ended = true;
	}
	if (open->len)
		return CE_ADMIT_OK;
	if (*next)
		return CE_ADMIT_NOT_STARTED;
	if (cancelled)
		return CE_ADMIT_CANCELLED;
	return ended ? CE_ADMIT_ENDED : CE_ADMIT_NO_CONFERENCE;
}

/*
 * The participant the caller's number names (*@pp, in *@cp): the first of
 * @found (latest start first) whose conference is open and, with a key, one
 * of @open (the key's open conferences).
 */
static void recognise(struct job *j, GPtrArray *found, GPtrArray *parts, GPtrArray *open,
        struct ce_conference **cp, struct ce_participant **pp)
{
	for (guint i = 0; i < found->len; i++) {
		struct ce_conference *c = g_ptr_array_index(found, i);
		bool in_open = !j->key;

		for (guint k = 0; !in_open && k < open->len; k++)
			in_open = ((struct ce_conference *)g_ptr_array_index(open, k))->id == c->id;
		if (in_open && ce_conference_state(c, j->now) == CE_CONF_OPEN && !c->cancelled) {
			*cp = c;
			*pp = g_ptr_array_index(parts, i);
			return;
		}
	}
}

/*
 * Admission of a caller who gave no PIN but was recognised as @p of @c:
 * in as that participant, unless @c asks everybody for its PIN.
 */
static void admit_known(struct job *j, struct ce_conference *c, struct ce_participant *p)
{
	struct ce_admission *a = &j->adm;

	a->conference = ce_conference_ref(c);
	if (c->always_pin && c->pin) {
		a->result = CE_ADMIT_PIN_REQUIRED;
		return;
	}
	a->participant = ce_participant_dup(p);
	a->role = p->role;
}

static int admit_with(struct ce_store *st, struct ce_db *db, struct job *j, GPtrArray *rows,
        GPtrArray *found, GPtrArray *parts)
{
	GPtrArray *open = g_ptr_array_new();
	struct ce_conference *next = NULL, *known = NULL;
	struct ce_participant *who = NULL;
	int r = 0;

	if (j->key)
		j->adm.result = classify(rows, j->now, open, &next);
	recognise(j, found, parts, open, &known, &who);
	if (!j->key && known)
		g_ptr_array_add(open, known);
	if (!j->key)
		j->adm.result = open->len ? CE_ADMIT_OK : CE_ADMIT_NO_CONFERENCE;
	if (j->adm.result != CE_ADMIT_OK) {
		if (next)
			j->adm.conference = ce_conference_ref(next);
	} else if (!j->pin && known) {
		admit_known(j, known, who);
	} else {
		r = admit_pin(st, db, j, open);
	}
	/* a PIN that opened the caller's own conference: in as that participant */
	if (r == 0 && j->pin && known && !j->adm.participant && j->adm.conference &&
	        j->adm.conference->id == known->id) {
		j->adm.participant = ce_participant_dup(who);
		if (j->adm.role != CE_ROLE_MODERATOR)
			j->adm.role = who->role;
	}
	g_ptr_array_unref(open);
	return r;
}

static int run_admit(struct ce_store *st, struct ce_db *db, struct job *j)
{
	GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)ce_conference_unref);
	GPtrArray *found = g_ptr_array_new_with_free_func((GDestroyNotify)ce_conference_unref);
	GPtrArray *parts = g_ptr_array_new_with_free_func((GDestroyNotify)ce_participant_free);
	int r = 0;

	if (j->key)
		r = st->ops->find_conferences(db, j->key, j->now, rows, &j->error);
	if (r == 0 && j->number)
		r = st->ops->find_number(db, j->number, j->now, found, parts, &j->error);
	if (r == 0)
		r = admit_with(st, db, j, rows, found, parts);
	g_ptr_array_unref(parts);
	g_ptr_array_unref(found);
	g_ptr_array_unref(rows);
	return r;
}

/*
 * Whether conference @next (of the same number or room) would overlap one
 * that ends at @ends: its callers may come in from starts_at - early_join_s.
 */
static bool overlaps(const struct ce_conference *next, gint64 ends)
{
	gint64 early = (gint64)CLAMP(next->early_join_s, 0, CE_STORE_WINDOW_MAX_S) * G_USEC_PER_SEC;

	return next->starts_at - early < ends;
}

/* The checks and the update of an extension, inside the transaction. */
static int extend_locked(struct ce_store *st, struct ce_db *db, struct job *j, GPtrArray *rows)
{
	struct ce_conference *c;
	gint64 ends, id;
	int r = st->ops->lock_conference(db, j->id, rows, &j->error);

	if (r < 0)
		return r;
	c = rows->len ? g_ptr_array_index(rows, 0) : NULL;
	if (!c || c->cancelled)
		return -ENOENT;
	ends = c->ends_at + j->by;
	if (!ce_store_time_ok(ends))
		return -ERANGE;
	j->conf = ce_conference_ref(c);
	g_ptr_array_set_size(rows, 0);
	r = st->ops->next_conference(db, j->conf, rows, &j->error);
	if (r == 0 && rows->len && overlaps(g_ptr_array_index(rows, 0), ends))
		r = -EBUSY;
	if (r == 0) {
		j->conf->ends_at = ends;
		r = st->ops->put_conference(db, j->conf, &id, &j->error);
	}
	return r;
}

/* A booking that meets another of its number or room is refused (-EBUSY, the other's id in j->id).
 */
static int save_locked(struct ce_store *st, struct ce_db *db, struct job *j, GPtrArray *rows)
{
	int r = 0;

	if (!j->conf->cancelled)
		r = st->ops->overlapping(db, j->conf, rows, &j->error);
	if (r == 0 && rows->len) {
		j->id = ((struct ce_conference *)g_ptr_array_index(rows, 0))->id;
		r = -EBUSY;
	}
	if (r == 0)
		r = st->ops->put_conference(db, j->conf, &j->id, &j->error);
	return r;
}

/* @fn in one transaction, with an array of conference rows to use; rolled back when it fails. */
static int in_transaction(struct ce_store *st, struct ce_db *db, struct job *j,
        int (*fn)(struct ce_store *st, struct ce_db *db, struct job *j, GPtrArray *rows))
{
	GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)ce_conference_unref);
	int r = st->ops->begin(db, &j->error);

	if (r == 0)
		r = fn(st, db, j, rows);
	if (r == 0)
		r = st->ops->commit(db, &j->error);
	if (r < 0)
		st->ops->rollback(db);
	g_ptr_array_unref(rows);
	return r;
}

static int run_job(struct ce_store *st, struct ce_db *db, struct job *j)
{
	const struct ce_db_ops *ops = st->ops;

	switch (j->type) {
	case JOB_FIND:
		return ops->find_conferences(db, j->key, j->now, j->rows, &j->error);
	case JOB_LIST:
		return ops->list_conferences(db, j->from, j->to, j->rows, &j->error);
	case JOB_PARTS:
		return ops->list_participants(db, j->id, j->rows, &j->error);
	case JOB_ADMIT:
		return run_admit(st, db, j);
	case JOB_PUT_CONF:
		return ops->put_conference(db, j->conf, &j->id, &j->error);
	case JOB_PUT_PART:
		return ops->put_participant(db, j->part, &j->id, &j->error);
	case JOB_EXTEND:
		return in_transaction(st, db, j, extend_locked); /* the row locked first */
	case JOB_QUERY:
		return ops->query_conferences(db, &j->query, j->rows, &j->error);
	case JOB_SAVE_CONF:
		return in_transaction(st, db, j, save_locked);
	case JOB_DELETE:
		return ops->delete_row(db, j->from, j->id, &j->error);
	case JOB_EVENTS:
		return ops->list_events(db, &j->hist, j->rows, &j->error);
	case JOB_CDRS:
		return ops->list_cdrs(db, &j->hist, j->rows, &j->error);
	case JOB_LINES:
		return ops->list_lines(db, st->opt.node, &j->lines, j->rows, &j->error);
	case JOB_QUIT:
		break;
	}
	return -EINVAL;
}

/* The worker's connection, (re)opened unless the database is known to be down. */
static struct ce_db *connection(struct ce_store *st, struct ce_db **dbp, GError **err)
{
	gint64 now = g_get_monotonic_time();

	if (*dbp)
		return *dbp;
	if (!g_atomic_int_get(&st->up) || now < CE_ATOMIC_GET(&st->worker_retry_at)) {
		g_set_error(err, CE_STORE_ERROR, CE_STORE_ERROR_UNAVAILABLE,
		        "%s: the database is unavailable", st->ops->name);
		return NULL;
	}
	if (st->ops->open(dbp, &st->opt, false, err) < 0)
		CE_ATOMIC_SET(&st->worker_retry_at, now + (gint64)st->opt.reconnect_min_ms * 1000);
	return *dbp;
}

/* Forgets what a failed attempt left in @j, before it runs again. */
static void job_reset(struct job *j)
{
	if (j->rows)
		g_ptr_array_set_size(j->rows, 0);
	g_clear_pointer(&j->adm.conference, ce_conference_unref);
	g_clear_pointer(&j->adm.participant, ce_participant_free);
	memset(&j->adm, 0, sizeof(j->adm));
	g_clear_error(&j->error);
}

/*
 * Runs @j on the worker's connection.  A connection that was idle may have
 * died meanwhile (a server restart): then the job runs once more on a new
 * one, so that the first caller after a restart is not turned away.
 */
static int attempt(struct ce_store *st, struct ce_db **dbp, struct job *j)
{
	bool fresh = *dbp == NULL;
	int r;

	if (!connection(st, dbp, &j->error))
		return -ENOTCONN;
	r = run_job(st, *dbp, j);
	/* a write may have committed before the connection died: never twice */
	if (r != -ENOTCONN || fresh || j->type == JOB_PUT_CONF || j->type == JOB_PUT_PART ||
	        j->type == JOB_EXTEND || j->type == JOB_SAVE_CONF || j->type == JOB_DELETE)
		return r;
	g_clear_pointer(dbp, st->ops->close);
	job_reset(j);
	if (!connection(st, dbp, &j->error))
		return -ENOTCONN;
	return run_job(st, *dbp, j);
}

static void serve(struct ce_store *st, struct ce_db **dbp, struct job *j)
{
	gint64 waited = g_get_monotonic_time() - j->queued_at;

	if (waited > (gint64)st->opt.query_timeout_ms * 1000) {
		g_set_error(&j->error, CE_STORE_ERROR, CE_STORE_ERROR_TIMEOUT,
		        "%s: the query waited %" G_GINT64_FORMAT " ms for a worker", st->ops->name,
		        waited / 1000);
		j->err = -ETIMEDOUT;
	} else {
		j->err = attempt(st, dbp, j);
	}
	if (ce_store_retryable(j->err)) {
		g_clear_pointer(dbp, st->ops->close);
		ce_store_note_error(st, j->error);
	}
	if (j->type == JOB_ADMIT && j->err < 0) {
		j->adm.result = CE_ADMIT_UNAVAILABLE;
		g_clear_pointer(&j->adm.conference, ce_conference_unref);
		g_clear_pointer(&j->adm.participant, ce_participant_free);
	}
	if (j->type == JOB_ADMIT)
		j->adm.reason = ce_admit_result_name(j->adm.result);
}

static gpointer worker_main(gpointer data)
{
	struct ce_store *st = data;
	struct ce_db *db = NULL;
	struct job *j;

	while (ce_mbox_wait(st->jobs, &j, -1) && j != &quit_job) {
		serve(st, &db, j);
		ce_store_deliver(st, job_done, j, job_free);
	}
	if (db)
		st->ops->close(db);
	return NULL;
}

/** ce_store_workers_start() - start opt.workers query threads */
int ce_store_workers_start(struct ce_store *st, GError **err)
{
	st->jobs = ce_mbox_new(sizeof(struct job *), 64, 0);
	st->workers = g_new0(GThread *, st->opt.workers);
	for (unsigned i = 0; i < st->opt.workers; i++) {
		st->workers[i] = g_thread_try_new("store-query", worker_main, st, err);
		if (!st->workers[i])
			return -EAGAIN;
		st->n_workers++;
	}
	return 0;
}

/** ce_store_workers_stop() - stop the query threads; queued queries are dropped */
void ce_store_workers_stop(struct ce_store *st)
{
	struct job *j;

	for (unsigned i = 0; i < st->n_workers; i++)
		ce_mbox_put_front(st->jobs, &(struct job *){&quit_job});
	for (unsigned i = 0; i < st->n_workers; i++)
		g_thread_join(st->workers[i]);
	st->n_workers = 0;
	while (st->jobs && ce_mbox_get(st->jobs, &j))
		if (j != &quit_job)
			job_free(j);
	g_clear_pointer(&st->jobs, ce_mbox_free);
	g_clear_pointer(&st->workers, g_free);
}

static int submit(
        struct ce_store *st, struct job *j, void (*cb)(void), void *arg, GDestroyNotify destroy)
{
	j->st = st;
	j->cb = cb;
	j->arg = arg;
	j->destroy = destroy;
	j->queued_at = g_get_monotonic_time();
	ce_mbox_put(st->jobs, &j); /* it grows without limit: never refused */
	return 0;
}

static struct job *job_new(enum job_type type, bool rows)
{
	struct job *j = g_new0(struct job, 1);

	j->type = type;
	if (rows && type == JOB_PARTS)
		j->rows = g_ptr_array_new_with_free_func((GDestroyNotify)ce_participant_free);
	else if (rows && type == JOB_EVENTS)
		j->rows = g_ptr_array_new_with_free_func((GDestroyNotify)ce_event_free);
	else if (rows && type == JOB_CDRS)
		j->rows = g_ptr_array_new_with_free_func((GDestroyNotify)ce_cdr_free);
	else if (rows && type == JOB_LINES)
		j->rows = g_ptr_array_new_with_free_func((GDestroyNotify)ce_stream_line_free);
	else if (rows)
		j->rows = g_ptr_array_new_with_free_func((GDestroyNotify)ce_conference_unref);
	return j;
}

/**
 * ce_store_find_conferences() - conferences under access number or room @key near @now
 *
 * @cb gets, in start order, those whose early-alert window has begun and
 * that ended less than a day ago (ce_conference_state() tells which is
 * which).  The array belongs to the store; take references to keep rows.
 * Returns 0 or -EINVAL.
 */
int ce_store_find_conferences(struct ce_store *st, const char *key, gint64 now,
        ce_store_conferences_h *cb, void *arg, GDestroyNotify destroy)
{
	struct job *j;

	if (!st || !key || !cb)
		return -EINVAL;
	j = job_new(JOB_FIND, true);
	j->key = ce_store_text(key);
	j->now = CLAMP(now, CE_STORE_TIME_MIN, CE_STORE_TIME_MAX);
	return submit(st, j, (void (*)(void))cb, arg, destroy);
}

/** ce_store_list_conferences() - conferences overlapping [@from, @to] (at most 1000) */
int ce_store_list_conferences(struct ce_store *st, gint64 from, gint64 to,
        ce_store_conferences_h *cb, void *arg, GDestroyNotify destroy)
{
	struct job *j;

	if (!st || !cb)
		return -EINVAL;
	j = job_new(JOB_LIST, true);
	j->from = CLAMP(from, CE_STORE_TIME_MIN, CE_STORE_TIME_MAX);
	j->to = CLAMP(to, CE_STORE_TIME_MIN, CE_STORE_TIME_MAX);
	return submit(st, j, (void (*)(void))cb, arg, destroy);
}

/** ce_store_list_participants() - the invited participants of a conference */
int ce_store_list_participants(struct ce_store *st, gint64 conference_id,
        ce_store_participants_h *cb, void *arg, GDestroyNotify destroy)
{
	struct job *j;

	if (!st || !cb)
		return -EINVAL;
	j = job_new(JOB_PARTS, true);
	j->id = conference_id;
	return submit(st, j, (void (*)(void))cb, arg, destroy);
}

/**
 * ce_store_admit() - decide whether a caller who dialled @key with @pin gets in
 *
 * @pin may be NULL (not asked yet): CE_ADMIT_PIN_REQUIRED then says to ask.
 * A moderator PIN, the conference PIN or a participant's personal PIN
 * admits during the early-join window and until ends_at.
 *
 * @caller is the caller's number (NULL: unknown).  Without a PIN, a caller
 * whose number is a participant's number (both without spaces, '-', '.',
 * '(' and ')', then exactly equal; see ce_store_number()) in an open
 * conference under @key is admitted as that participant, with its role;
 * when that conference has always_pin (and a PIN), the answer is
 * CE_ADMIT_PIN_REQUIRED with adm.conference set.  A PIN, when given,
 * decides as without a number; one that opens the caller's own conference
 * admits as that participant (the moderator PIN as moderator).
 *
 * @key NULL or "" looks the number up in every conference open now (the
 * lobby's "recognise me"): the one that started most recently (then the
 * one scheduled last, the higher id), CE_ADMIT_NO_CONFERENCE when none; a
 * PIN is checked against that conference.
 *
 * The room's capacity is the caller's to check (max_participants).  @cb
 * always runs, with CE_ADMIT_UNAVAILABLE when the database cannot answer
 * in time.
 */
int ce_store_admit(struct ce_store *st, const char *key, const char *pin, const char *caller,
        gint64 now, ce_store_admit_h *cb, void *arg, GDestroyNotify destroy)
{
	struct job *j;

	if (!st || !cb)
		return -EINVAL;
	j = job_new(JOB_ADMIT, false);
	j->key = key && *key ? ce_store_text(key) : NULL;
	j->pin = pin && *pin ? ce_store_text(pin) : NULL;
	j->number = ce_store_number(caller);
	j->now = CLAMP(now, CE_STORE_TIME_MIN, CE_STORE_TIME_MAX);
	return submit(st, j, (void (*)(void))cb, arg, destroy);
}

/* A write of conference @c (a copy) as a job of @type, once @c is one the schema holds. */
static int submit_conference(enum job_type type, struct ce_store *st, const struct ce_conference *c,
        ce_store_id_h *cb, void *arg, GDestroyNotify destroy)
{
	struct job *j;

	if (!st || !c || !c->room || !cb)
		return -EINVAL;
	if (strlen(c->room) > CE_STORE_ROOM_MAX ||
	        (c->access_number && strlen(c->access_number) > CE_STORE_ACCESS_MAX))
		return -ERANGE;
	if (!ce_store_time_ok(c->starts_at) || !ce_store_time_ok(c->ends_at) ||
	        c->ends_at <= c->starts_at || c->early_join_s < 0 || c->early_alert_s < 0 ||
	        c->end_alert_s < 0 || c->end_grace_s < 0 || c->max_participants < 0)
		return -ERANGE;
	j = job_new(type, false);
	j->conf = ce_conference_dup(c);
	return submit(st, j, (void (*)(void))cb, arg, destroy);
}

/**
 * ce_store_put_conference() - insert (@c->id 0) or update a conference
 *
 * Returns -ERANGE for times outside years 1..9999 or ends_at <= starts_at,
 * -EINVAL without a room; otherwise @cb gets the row id or the error.
 */
int ce_store_put_conference(struct ce_store *st, const struct ce_conference *c, ce_store_id_h *cb,
        void *arg, GDestroyNotify destroy)
{
	return submit_conference(JOB_PUT_CONF, st, c, cb, arg, destroy);
}

/**
 * ce_store_put_participant() - insert (@p->id 0) or update an invited participant
 *
 * Returns -ERANGE for a number longer than CE_STORE_NUMBER_MAX, -EINVAL
 * without a conference; otherwise @cb gets the row id or the error.
 */
int ce_store_put_participant(struct ce_store *st, const struct ce_participant *p, ce_store_id_h *cb,
        void *arg, GDestroyNotify destroy)
{
	struct job *j;

	if (!st || !p || !p->conference_id || !cb)
		return -EINVAL;
	if (p->number && strlen(p->number) > CE_STORE_NUMBER_MAX)
		return -ERANGE;
	j = job_new(JOB_PUT_PART, false);
	j->part = ce_participant_dup(p);
	return submit(st, j, (void (*)(void))cb, arg, destroy);
}

/**
 * ce_store_extend_conference() - move conference @id's end @by_us later
 *
 * In one transaction: the row is read and locked, the first other booking
 * of its access number or room that starts at or after it is checked (it
 * must not open, starts_at - early_join_s, before the new end) and the new
 * ends_at written.  @cb gets 0 and the updated row (borrowed: take a
 * reference to keep it), or -ENOENT (no such row, or cancelled), -EBUSY
 * (it would overlap that booking), -ERANGE (past year 9999) or the
 * database's error (-ENOTCONN, -ETIMEDOUT, -EIO).  Returns 0 or -EINVAL
 * (@by_us not in 1 us..10 years).
 */
int ce_store_extend_conference(struct ce_store *st, gint64 id, gint64 by_us,
        ce_store_conference_h *cb, void *arg, GDestroyNotify destroy)
{
	struct job *j;

	if (!st || id <= 0 || by_us <= 0 ||
	        by_us > (gint64)CE_STORE_WINDOW_MAX_S * G_USEC_PER_SEC || !cb)
		return -EINVAL;
	j = job_new(JOB_EXTEND, false);
	j->id = id;
	j->by = by_us;
	return submit(st, j, (void (*)(void))cb, arg, destroy);
}

/**
 * ce_store_query_conferences() - the conferences @q selects, in start order (then id)
 *
 * @q is copied.  @cb gets the rows (the array belongs to the store).
 * Returns 0 or -EINVAL.
 */
int ce_store_query_conferences(struct ce_store *st, const struct ce_conference_query *q,
        ce_store_conferences_h *cb, void *arg, GDestroyNotify destroy)
{
	struct job *j;

	if (!st || !q || !cb)
		return -EINVAL;
	j = job_new(JOB_QUERY, true);
	j->query = *q;
	j->key = q->number ? ce_store_text(q->number) : NULL;
	j->query.number = j->key;
	j->query.from = CLAMP(q->from, CE_STORE_TIME_MIN, CE_STORE_TIME_MAX);
	j->query.to =
	        CLAMP(q->to ? q->to : CE_STORE_TIME_MAX, CE_STORE_TIME_MIN, CE_STORE_TIME_MAX);
	j->query.limit = q->limit ? MIN(q->limit, 1000) : 1000;
	return submit(st, j, (void (*)(void))cb, arg, destroy);
}

/**
 * ce_store_save_conference() - insert (@c->id 0) or update a booking, unless it meets another
 *
 * As ce_store_put_conference(), in one transaction with a check: a
 * conference that is not cancelled and whose [starts_at, ends_at) meets
 * that of another, not cancelled, of the same access number or room is
 * not written, and @cb gets -EBUSY with that other's id.  Otherwise @cb
 * gets 0 and the row id, -ENOENT (an update of a row that is gone) or the
 * database's error.
 */
int ce_store_save_conference(struct ce_store *st, const struct ce_conference *c, ce_store_id_h *cb,
        void *arg, GDestroyNotify destroy)
{
	return submit_conference(JOB_SAVE_CONF, st, c, cb, arg, destroy);
}

/**
 * ce_store_delete_conference() - delete conference @id and its participants
 *
 * @cb gets 0 and @id, -ENOENT when there is no such row, or the database's error.
 */
int ce_store_delete_conference(
        struct ce_store *st, gint64 id, ce_store_id_h *cb, void *arg, GDestroyNotify destroy)
{
	return ce_store_delete_participant(st, 0, id, cb, arg, destroy);
}

/**
 * ce_store_delete_participant() - delete participant @id of conference @conference_id
 *
 * @conference_id 0: delete conference @id instead (ce_store_delete_conference()).
 * @cb gets 0 and @id, -ENOENT when there is no such row, or the database's error.
 */
int ce_store_delete_participant(struct ce_store *st, gint64 conference_id, gint64 id,
        ce_store_id_h *cb, void *arg, GDestroyNotify destroy)
{
	struct job *j;

	if (!st || id <= 0 || conference_id < 0 || !cb)
		return -EINVAL;
	j = job_new(JOB_DELETE, false);
	j->from = conference_id;
	j->id = id;
	return submit(st, j, (void (*)(void))cb, arg, destroy);
}

static int list_history(struct ce_store *st, enum job_type type, const struct ce_history_filter *f,
        ce_store_history_h *cb, void *arg, GDestroyNotify destroy)
{
	struct job *j;

	if (!st || !f || !cb || !f->limit || f->limit > CE_STORE_HISTORY_MAX)
		return -EINVAL;
	j = job_new(type, true);
	j->hist = *f;
	j->key = f->room ? ce_store_text(f->room) : NULL;
	j->hist.room = j->key;
	j->hist.from = CLAMP(f->from, CE_STORE_TIME_MIN, CE_STORE_TIME_MAX);
	j->hist.to = CLAMP(f->to, CE_STORE_TIME_MIN, CE_STORE_TIME_MAX);
	return submit(st, j, (void (*)(void))cb, arg, destroy);
}

/**
 * ce_store_list_events() - the stored events that @f selects, in the order stored
 *
 * @cb gets the rows (struct ce_event *, with their id; the array is the
 * store's) or an error: -ENOTCONN at once while the database is down,
 * -ETIMEDOUT when no worker took the query in time.  Returns 0 or -EINVAL
 * (a limit of 0 or over CE_STORE_HISTORY_MAX).
 */
int ce_store_list_events(struct ce_store *st, const struct ce_history_filter *f,
        ce_store_history_h *cb, void *arg, GDestroyNotify destroy)
{
	return list_history(st, JOB_EVENTS, f, cb, arg, destroy);
}

/** ce_store_list_cdrs() - the stored CDRs that @f selects (by joined_at), as list_events */
int ce_store_list_cdrs(struct ce_store *st, const struct ce_history_filter *f,
        ce_store_history_h *cb, void *arg, GDestroyNotify destroy)
{
	return list_history(st, JOB_CDRS, f, cb, arg, destroy);
}

/**
 * ce_store_list_lines() - this node's event stream lines that @f selects, in id order
 *
 * @cb gets the rows (struct ce_stream_line *, the array is the store's):
 * every one in the range, with its text only when it passes @f's room and
 * conference, or an error as ce_store_list_events().  Returns 0 or -EINVAL.
 */
int ce_store_list_lines(struct ce_store *st, const struct ce_stream_filter *f,
        ce_store_history_h *cb, void *arg, GDestroyNotify destroy)
{
	struct job *j;

	if (!st || !f || !cb || !f->limit || f->limit > CE_STORE_HISTORY_MAX)
		return -EINVAL;
	j = job_new(JOB_LINES, true);
	j->lines = *f;
	j->key = f->room ? ce_store_text(f->room) : NULL;
	j->lines.room = j->key;
	return submit(st, j, (void (*)(void))cb, arg, destroy);
}
