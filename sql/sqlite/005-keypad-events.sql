-- sql/sqlite/005-keypad-events.sql - events of the keypad: lock, unlock and keypad rows
-- Same meaning as sql/postgresql/005-keypad-events.sql.  events.kind also
-- takes 'lock' and 'unlock' (a room locked or unlocked, by chan.control, the
-- console or a moderator's keypad) and 'keypad' (a caller's keypad action,
-- its detail "ACTION [RESULT]": "count 7", "lock not-allowed").  SQLite
-- cannot change a CHECK in place, so the table is rebuilt: a copy with the
-- new CHECK, every row copied with its id, the old table dropped, the copy
-- renamed and its indexes made again.  The store runs a migration inside
-- one transaction (BEGIN IMMEDIATE ... COMMIT), so a failure leaves the old
-- table as it was.  By hand: sqlite3 conf.db (inside BEGIN/COMMIT).

CREATE TABLE events_new (
	id INTEGER PRIMARY KEY,
	uuid TEXT NOT NULL UNIQUE,
	node TEXT NOT NULL DEFAULT '',
	seq INTEGER NOT NULL DEFAULT 0,
	at INTEGER NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('created', 'enter', 'leave', 'talk-start',
		'talk-stop', 'mute', 'unmute', 'record-start', 'record-stop', 'end-alert',
		'lock', 'unlock', 'keypad', 'end')),
	room TEXT NOT NULL,
	conference_id INTEGER,
	leg TEXT,
	participant_id INTEGER,
	caller TEXT,
	caller_name TEXT,
	detail TEXT,
	role TEXT,
	called TEXT,
	direction TEXT CHECK (direction IN ('in', 'out'))
);
INSERT INTO events_new (id, uuid, node, seq, at, kind, room, conference_id, leg,
		participant_id, caller, caller_name, detail, role, called, direction)
	SELECT id, uuid, node, seq, at, kind, room, conference_id, leg,
		participant_id, caller, caller_name, detail, role, called, direction
	FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE INDEX events_room_idx ON events (room, at);
CREATE INDEX events_conference_idx ON events (conference_id, at);

INSERT INTO schema_migrations (version, name) VALUES (5, 'keypad-events');
