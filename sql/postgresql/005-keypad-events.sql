-- sql/postgresql/005-keypad-events.sql - events of the keypad: lock, unlock and keypad rows
-- Same meaning as sql/sqlite/005-keypad-events.sql.  events.kind also takes
-- 'lock' and 'unlock' (a room locked or unlocked, by chan.control, the
-- console or a moderator's keypad) and 'keypad' (a caller's keypad action,
-- its detail "ACTION [RESULT]": "count 7", "lock not-allowed").  The CHECK
-- of 001 has PostgreSQL's default name events_kind_check; it is replaced in
-- the migration's transaction.  By hand: psql -1 -f 005-keypad-events.sql

ALTER TABLE events DROP CONSTRAINT events_kind_check;
ALTER TABLE events ADD CONSTRAINT events_kind_check CHECK (kind IN ('created', 'enter',
	'leave', 'talk-start', 'talk-stop', 'mute', 'unmute', 'record-start', 'record-stop',
	'end-alert', 'lock', 'unlock', 'keypad', 'end'));

INSERT INTO schema_migrations (version, name) VALUES (5, 'keypad-events');
