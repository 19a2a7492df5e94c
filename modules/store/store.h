/* store.h - asynchronous database store: scheduled conferences, events, CDRs */
#ifndef CE_STORE_H
#define CE_STORE_H

#include <stdbool.h>
#include <glib.h>

#include "room-event.h"

struct ce_config;

/*
 * The store keeps the schedule (conferences, participants) and the history
 * (events, CDRs, live rooms) in SQLite or PostgreSQL.  Every query runs on a
 * worker thread with its own connection and a bounded time; its result comes
 * back as a callback on the GMainContext given to ce_store_new().  Nothing
 * here blocks the caller.
 *
 * Writes of history (ce_store_add_event, ce_store_add_cdr, ce_store_room_live)
 * never fail towards the caller: one writer thread stores them in order,
 * and while the database is unreachable it appends them to a durable spool
 * in spool_dir, replayed in order when the database is back.  Each record
 * carries a unique uuid, so a replay after a partly committed batch does not
 * store anything twice.
 *
 * Times are microseconds since the Unix epoch (UTC), like ce_engine_now().
 * Strings are copied; text that is not valid UTF-8 is stored with U+FFFD in
 * place of the bad bytes (PostgreSQL text must be valid UTF-8).
 */

struct ce_store;

#define CE_STORE_ERROR ce_store_error_quark()
GQuark ce_store_error_quark(void);
enum ce_store_error_code {
	CE_STORE_ERROR_CONFIG,  /* bad options */
	CE_STORE_ERROR_OPEN,    /* cannot open or create the database */
	CE_STORE_ERROR_CORRUPT, /* the file is not a usable database */
	CE_STORE_ERROR_READONLY,
	CE_STORE_ERROR_SCHEMA,      /* migration failed or schema is newer */
	CE_STORE_ERROR_UNAVAILABLE, /* the server cannot be reached */
	CE_STORE_ERROR_TIMEOUT,
	CE_STORE_ERROR_QUERY, /* the database refused a statement */
	CE_STORE_ERROR_SPOOL,
	CE_STORE_ERROR_DATA, /* a value out of range */
};

enum ce_store_backend {
	CE_STORE_SQLITE,
	CE_STORE_POSTGRESQL,
};

struct ce_store_options {
	enum ce_store_backend backend;
	const char *sqlite_path;     /* created on first run, WAL mode */
	const char *pg_conninfo;     /* libpq conninfo string */
	const char *spool_dir;       /* required: created if missing */
	const char *node;            /* this engine's name in events, CDRs, live rooms */
	unsigned workers;            /* query threads (0: 4) */
	unsigned query_timeout_ms;   /* per statement (0: 2000) */
	unsigned reconnect_min_ms;   /* back-off after a failure (0: 250) */
	unsigned reconnect_max_ms;   /* back-off ceiling (0: 30000) */
	unsigned connect_timeout_ms; /* PostgreSQL: longest wait at start (0: 2000) */
};

/*
 * Identifiers (room, node, access number) are indexed, so they have a
 * length limit, the same on both backends: longer room and node names in
 * history are cut (at a character boundary); a conference with a longer
 * room or access number is refused.
 */
#define CE_STORE_ROOM_MAX   1024
#define CE_STORE_ACCESS_MAX 256
#define CE_STORE_UUID_MAX   128
/* A participant's number, and a caller's number looked up, at most this long. */
#define CE_STORE_NUMBER_MAX 64

/* Valid range of every time the store accepts: years 1 to 9999. */
#define CE_STORE_TIME_MIN (-62135596800LL * G_USEC_PER_SEC)
#define CE_STORE_TIME_MAX (253402300799LL * G_USEC_PER_SEC)

enum ce_role {
	CE_ROLE_PARTICIPANT,
	CE_ROLE_MODERATOR,
	CE_ROLE_LISTENER,
};

const char *ce_role_name(enum ce_role role);
int ce_role_parse(const char *s, enum ce_role *role);

/* A scheduled conference (a row of "conferences"); reference counted. */
struct ce_conference {
	gint64 id; /* 0 in ce_store_put_conference: a new row */
	char *access_number;
	char *room;
	char *title;
	char *pin;           /* NULL: no participant PIN */
	char *moderator_pin; /* NULL: nobody joins as moderator by PIN */
	gint64 starts_at;
	gint64 ends_at;
	char *time_zone;      /* IANA name used to announce times */
	int early_join_s;     /* callers admitted this long before starts_at */
	int early_alert_s;    /* before that: "not started yet" instead of "no such" */
	int end_alert_s;      /* participants warned this long before ends_at */
	int end_grace_s;      /* the room may run over ends_at this long */
	int max_participants; /* 0: no limit */
	bool record;
	char *record_file;
	bool announce_join;
	bool announce_count;
	bool wait_for_moderator;
	bool end_with_moderator;
	bool muted_on_entry;
	char *language;
	char *options;
	bool cancelled;
	bool always_pin; /* every caller keys in the PIN, even one recognised by number */
};

/* Where a conference stands at a given time. */
enum ce_conference_state {
	CE_CONF_UNKNOWN, /* before its early-alert window */
	CE_CONF_NOT_YET, /* early-alert window: tell callers when it starts */
	CE_CONF_OPEN,    /* early-join window or running: admit */
	CE_CONF_GRACE,   /* past ends_at, within end_grace_s: admit no one new */
	CE_CONF_ENDED,
};

struct ce_conference *ce_conference_new(void);
struct ce_conference *ce_conference_ref(struct ce_conference *c);
void ce_conference_unref(struct ce_conference *c);
struct ce_conference *ce_conference_dup(const struct ce_conference *c);
enum ce_conference_state ce_conference_state(const struct ce_conference *c, gint64 now);

/* A person invited to a conference (a row of "participants"). */
struct ce_participant {
	gint64 id;
	gint64 conference_id;
	char *name;
	char *address; /* what to dial for dial-out */
	enum ce_role role;
	char *pin; /* personal PIN, or NULL */
	bool dial_out;
	char *number; /* the number this person calls from (recognised), or NULL */
};

void ce_participant_free(struct ce_participant *p);

/* enum ce_event_kind: room-event.h (the kinds up to CE_EVENT_END are rows). */
const char *ce_event_kind_name(enum ce_event_kind kind);
int ce_event_kind_parse(const char *name, enum ce_event_kind *kind);

/*
 * A room event; fields other than kind, room and at may be NULL or 0.  The
 * participant fields (participant_id to direction) say who the event is
 * about, as in struct ce_cdr.
 */
struct ce_event {
	char *uuid; /* idempotency key; the store makes one when NULL */
	enum ce_event_kind kind;
	gint64 at;
	char *room;
	gint64 conference_id;
	char *leg;
	gint64 participant_id;
	char *role; /* "participant", "moderator", "listener" */
	char *caller;
	char *caller_name;
	char *called;    /* the number called (direction in) or dialled (out) */
	char *direction; /* "in" or "out"; anything else is stored as NULL */
	char *detail;
	/* filled by the store */
	char *node;
	gint64 seq;
	gint64 id; /* the row's id, read back by ce_store_list_events() */
};

/* The call detail record of one participant's stay in a room. */
struct ce_cdr {
	char *uuid; /* idempotency key; the store makes one when NULL */
	char *room;
	gint64 conference_id;
	char *leg;
	gint64 participant_id;
	char *role;
	char *caller;
	char *caller_name;
	char *called;
	char *direction; /* "in" (the participant called) or "out" (dialled); else NULL */
	gint64 joined_at;
	gint64 left_at;
	gint64 talk_ms;
	char *reason;
	char *billid; /* Yate's billing id of the call, or NULL */
	gint64 seq;   /* the event stream's id of its line (0: none) */
	/* filled by the store */
	char *node;
	gint64 duration_ms;
	gint64 id; /* the row's id, read back by ce_store_list_cdrs() */
};

/* The current state of a room, kept in "live_rooms" (participants 0: gone). */
struct ce_room_live {
	char *room;
	gint64 conference_id;
	int participants;
	gint64 started_at;
	gint64 updated_at;
	char *node;
};

void ce_event_free(struct ce_event *ev);
void ce_cdr_free(struct ce_cdr *cdr);
void ce_room_live_free(struct ce_room_live *rl);

enum ce_admit_result {
	CE_ADMIT_OK,
	CE_ADMIT_NO_CONFERENCE, /* nothing scheduled under that number */
	CE_ADMIT_NOT_STARTED,   /* conference is in its early-alert window */
	CE_ADMIT_ENDED,
	CE_ADMIT_CANCELLED,
	CE_ADMIT_PIN_REQUIRED, /* ask the caller for a PIN and try again */
	CE_ADMIT_BAD_PIN,
	CE_ADMIT_UNAVAILABLE, /* database down or too slow */
};

const char *ce_admit_result_name(enum ce_admit_result r);

struct ce_admission {
	enum ce_admit_result result;
	const char *reason; /* text for logs and "reason=" */
	/* for OK and NOT_STARTED, and for PIN_REQUIRED of a recognised caller whose
	 * conference has always_pin (the PIN to ask for is its); else NULL */
	struct ce_conference *conference;
	enum ce_role role;
	struct ce_participant *participant; /* by personal PIN or caller number, or NULL */
};

/* Callbacks: run on the store's main context; @err is 0 or a negative errno. */
typedef void(ce_store_conferences_h)(int err, GPtrArray *conferences, void *arg);
typedef void(ce_store_participants_h)(int err, GPtrArray *participants, void *arg);
typedef void(ce_store_admit_h)(const struct ce_admission *adm, void *arg);
typedef void(ce_store_id_h)(int err, gint64 id, const GError *error, void *arg);
typedef void(ce_store_done_h)(void *arg);
typedef void(ce_store_conference_h)(int err, const struct ce_conference *c, void *arg);

int ce_store_new(
        struct ce_store **stp, const struct ce_store_options *opt, GMainContext *ctx, GError **err);
void ce_store_free(struct ce_store *st);

int ce_store_find_conferences(struct ce_store *st, const char *key, gint64 now,
        ce_store_conferences_h *cb, void *arg, GDestroyNotify destroy);
int ce_store_list_conferences(struct ce_store *st, gint64 from, gint64 to,
        ce_store_conferences_h *cb, void *arg, GDestroyNotify destroy);
int ce_store_list_participants(struct ce_store *st, gint64 conference_id,
        ce_store_participants_h *cb, void *arg, GDestroyNotify destroy);
int ce_store_admit(struct ce_store *st, const char *key, const char *pin, const char *caller,
        gint64 now, ce_store_admit_h *cb, void *arg, GDestroyNotify destroy);
int ce_store_put_conference(struct ce_store *st, const struct ce_conference *c, ce_store_id_h *cb,
        void *arg, GDestroyNotify destroy);
int ce_store_put_participant(struct ce_store *st, const struct ce_participant *p, ce_store_id_h *cb,
        void *arg, GDestroyNotify destroy);
int ce_store_extend_conference(struct ce_store *st, gint64 id, gint64 by_us,
        ce_store_conference_h *cb, void *arg, GDestroyNotify destroy);

/* Which conferences ce_store_query_conferences() returns; 0 / NULL: any. */
struct ce_conference_query {
	gint64 id;
	gint64 from, to;    /* those that end at or after @from and start at or before @to */
	const char *number; /* this access number */
	int cancelled;      /* -1: any, 0: not cancelled, 1: cancelled */
	unsigned limit;     /* at most this many rows (0: 1000) ... */
	unsigned offset;    /* ... after skipping this many, in start order */
};

int ce_store_query_conferences(struct ce_store *st, const struct ce_conference_query *q,
        ce_store_conferences_h *cb, void *arg, GDestroyNotify destroy);
int ce_store_save_conference(struct ce_store *st, const struct ce_conference *c, ce_store_id_h *cb,
        void *arg, GDestroyNotify destroy);
int ce_store_delete_conference(
        struct ce_store *st, gint64 id, ce_store_id_h *cb, void *arg, GDestroyNotify destroy);
int ce_store_delete_participant(struct ce_store *st, gint64 conference_id, gint64 id,
        ce_store_id_h *cb, void *arg, GDestroyNotify destroy);

void ce_store_add_event(struct ce_store *st, const struct ce_event *ev);
void ce_store_add_cdr(struct ce_store *st, const struct ce_cdr *cdr);
void ce_store_room_live(struct ce_store *st, const struct ce_room_live *rl);
/*
 * Which history rows to read: those matching every filter set, with an
 * id above @after, in id order (the order they were stored), at most
 * @limit.  Times select events by "at" and CDRs by "joined_at", in
 * [from, to).
 */
struct ce_history_filter {
	const char *room;     /* NULL: any */
	gint64 conference_id; /* 0: any */
	gint64 from, to;      /* microseconds since the epoch */
	int kind;             /* events: an enum ce_event_kind, or -1 for any */
	gint64 after;         /* rows with a greater id only */
	unsigned limit;       /* 1..CE_STORE_HISTORY_MAX */
};

#define CE_STORE_HISTORY_MAX 10000

/* @rows: struct ce_event * or struct ce_cdr *, owned by the store. */
typedef void(ce_store_history_h)(int err, GPtrArray *rows, const GError *error, void *arg);

int ce_store_list_events(struct ce_store *st, const struct ce_history_filter *f,
        ce_store_history_h *cb, void *arg, GDestroyNotify destroy);
int ce_store_list_cdrs(struct ce_store *st, const struct ce_history_filter *f,
        ce_store_history_h *cb, void *arg, GDestroyNotify destroy);

/*
 * One line of the monitor's event stream (GET /api/v1/events), kept in
 * "event_stream" so that a client can resume from further back than the
 * monitor's memory: @line the JSON object exactly as streamed, @seq its id
 * (dense within a run), @run the id before the first line of the engine
 * run that made it.  The node is the store's.
 */
struct ce_stream_line {
	gint64 seq;
	gint64 run;
	gint64 at;
	char *room;           /* or NULL */
	gint64 conference_id; /* 0: none */
	char *line;           /* read back: NULL when the row does not pass the filter */
	char *node;           /* filled by the store */
};

void ce_stream_line_free(struct ce_stream_line *l);
void ce_store_add_line(struct ce_store *st, const struct ce_stream_line *l);

/*
 * Which stream lines ce_store_list_lines() reads: this node's with @after <
 * seq <= @upto, in seq order, at most @limit.  Every row in that range
 * comes back, so that the caller sees which ids are missing; the text of
 * those that do not pass @room or @conference_id is left out (NULL).
 */
struct ce_stream_filter {
	gint64 after, upto;
	const char *room;     /* NULL: any */
	gint64 conference_id; /* 0: any */
	unsigned limit;       /* 1..CE_STORE_HISTORY_MAX */
};

/* @rows: struct ce_stream_line *, as ce_store_list_events(). */
int ce_store_list_lines(struct ce_store *st, const struct ce_stream_filter *f,
        ce_store_history_h *cb, void *arg, GDestroyNotify destroy);
gint64 ce_store_stream_last(const struct ce_store *st);

int ce_store_flush(struct ce_store *st, ce_store_done_h *cb, void *arg, GDestroyNotify destroy);

bool ce_store_is_up(const struct ce_store *st);
void ce_store_status(const struct ce_store *st, GString *out);
char *ce_store_last_error(const struct ce_store *st);

struct ce_engine;
struct ce_store *ce_store_of(struct ce_engine *ce);
bool ce_store_state_dir_in_use(const struct ce_config *cfg);

#endif
