-- sql/sqlite/001-initial.sql - scheduled conferences, participants, live rooms, events and CDRs
-- Same meaning as sql/postgresql/001-initial.sql.  Times are INTEGER microseconds
-- since 1970-01-01 UTC (for example strftime('%s', '2026-11-23 10:00:00+01:00') * 1000000);
-- booleans are 0 or 1.  By hand: sqlite3 conf.db < 001-initial.sql (inside BEGIN/COMMIT).

CREATE TABLE IF NOT EXISTS schema_migrations (
	version INTEGER PRIMARY KEY,
	name TEXT NOT NULL,
	applied_at INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER) * 1000000)
);

CREATE TABLE conferences (
	id INTEGER PRIMARY KEY,
	access_number TEXT,
	room TEXT NOT NULL,
	title TEXT NOT NULL DEFAULT '',
	pin TEXT,
	moderator_pin TEXT,
	starts_at INTEGER NOT NULL,
	ends_at INTEGER NOT NULL,
	time_zone TEXT NOT NULL DEFAULT 'UTC',
	early_join_s INTEGER NOT NULL DEFAULT 300 CHECK (early_join_s >= 0),
	early_alert_s INTEGER NOT NULL DEFAULT 3600 CHECK (early_alert_s >= 0),
	end_alert_s INTEGER NOT NULL DEFAULT 300 CHECK (end_alert_s >= 0),
	end_grace_s INTEGER NOT NULL DEFAULT 0 CHECK (end_grace_s >= 0),
	max_participants INTEGER CHECK (max_participants > 0),
	record INTEGER NOT NULL DEFAULT 0 CHECK (record IN (0, 1)),
	record_file TEXT,
	announce_join INTEGER NOT NULL DEFAULT 0 CHECK (announce_join IN (0, 1)),
	announce_count INTEGER NOT NULL DEFAULT 1 CHECK (announce_count IN (0, 1)),
	wait_for_moderator INTEGER NOT NULL DEFAULT 0 CHECK (wait_for_moderator IN (0, 1)),
	end_with_moderator INTEGER NOT NULL DEFAULT 0 CHECK (end_with_moderator IN (0, 1)),
	muted_on_entry INTEGER NOT NULL DEFAULT 0 CHECK (muted_on_entry IN (0, 1)),
	language TEXT,
	options TEXT,
	cancelled INTEGER NOT NULL DEFAULT 0 CHECK (cancelled IN (0, 1)),
	created_at INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER) * 1000000),
	updated_at INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER) * 1000000),
	CHECK (ends_at > starts_at),
	CHECK (length(CAST(access_number AS BLOB)) <= 256 AND length(CAST(room AS BLOB)) <= 1024)
);
CREATE INDEX conferences_access_idx ON conferences (access_number, ends_at);
CREATE INDEX conferences_room_idx ON conferences (room, ends_at);
CREATE INDEX conferences_starts_idx ON conferences (starts_at);

CREATE TABLE participants (
	id INTEGER PRIMARY KEY,
	conference_id INTEGER NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
	name TEXT NOT NULL DEFAULT '',
	address TEXT,
	role TEXT NOT NULL DEFAULT 'participant'
		CHECK (role IN ('participant', 'moderator', 'listener')),
	pin TEXT,
	dial_out INTEGER NOT NULL DEFAULT 0 CHECK (dial_out IN (0, 1)),
	created_at INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER) * 1000000)
);
CREATE INDEX participants_conference_idx ON participants (conference_id);

CREATE TABLE live_rooms (
	node TEXT NOT NULL,
	room TEXT NOT NULL,
	conference_id INTEGER,
	participants INTEGER NOT NULL DEFAULT 0,
	started_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (node, room)
);

CREATE TABLE events (
	id INTEGER PRIMARY KEY,
	uuid TEXT NOT NULL UNIQUE,
	node TEXT NOT NULL DEFAULT '',
	seq INTEGER NOT NULL DEFAULT 0,
	at INTEGER NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('created', 'enter', 'leave', 'talk-start',
		'talk-stop', 'mute', 'unmute', 'record-start', 'record-stop', 'end-alert', 'end')),
	room TEXT NOT NULL,
	conference_id INTEGER,
	leg TEXT,
	participant_id INTEGER,
	caller TEXT,
	caller_name TEXT,
	detail TEXT
);
CREATE INDEX events_room_idx ON events (room, at);
CREATE INDEX events_conference_idx ON events (conference_id, at);

CREATE TABLE cdrs (
	id INTEGER PRIMARY KEY,
	uuid TEXT NOT NULL UNIQUE,
	node TEXT NOT NULL DEFAULT '',
	room TEXT NOT NULL,
	conference_id INTEGER,
	leg TEXT,
	participant_id INTEGER,
	role TEXT,
	caller TEXT,
	caller_name TEXT,
	called TEXT,
	joined_at INTEGER NOT NULL,
	left_at INTEGER NOT NULL,
	duration_ms INTEGER NOT NULL DEFAULT 0,
	talk_ms INTEGER NOT NULL DEFAULT 0,
	reason TEXT
);
CREATE INDEX cdrs_conference_idx ON cdrs (conference_id);
CREATE INDEX cdrs_joined_idx ON cdrs (joined_at);

INSERT INTO schema_migrations (version, name) VALUES (1, 'initial');
