-- sql/postgresql/006-event-stream.sql - the HTTP event stream's lines, for a resume beyond memory
-- Same meaning as sql/sqlite/006-event-stream.sql.  event_stream keeps
-- every line of the monitor (events, CDRs, the API's "call" lines) exactly
-- as GET /api/v1/events sends it: "line" is the JSON object, "seq" its
-- stream id (the SSE id), dense within one run of the engine; "run" is the
-- id before the first line of that run (a restart jumps to a new run), so
-- that a missing id can be told from a restart.  Several engines sharing one
-- database each have their own ids: the key is (node, seq).  events.seq
-- and cdrs.seq (new here, NULL in older rows) hold the same id as the line
-- of that event or CDR.  Rows are never deleted by
-- the engine: DELETE FROM event_stream WHERE at < ... prunes (a resume from
-- further back then reports the ids lost as a gap).  By hand:
-- psql -1 -f 006-event-stream.sql

CREATE TABLE event_stream (
	node text NOT NULL,
	seq bigint NOT NULL,
	run bigint NOT NULL,
	at timestamptz NOT NULL,
	room text,
	conference_id bigint,
	line text NOT NULL,
	PRIMARY KEY (node, seq)
);
CREATE INDEX event_stream_at_idx ON event_stream (at);
ALTER TABLE cdrs ADD COLUMN seq bigint;

INSERT INTO schema_migrations (version, name) VALUES (6, 'event-stream');
