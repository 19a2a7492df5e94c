-- sql/sqlite/003-participant-identity.sql - who a participant is, on every event and CDR
-- Same meaning as sql/postgresql/003-participant-identity.sql.  Events get the
-- participant's role, the number called (a caller's) or dialled (a dial-out's)
-- and the direction; CDRs get the direction ('in': the participant called,
-- 'out': the conference dialled them).  Rows stored before this migration keep
-- NULL.  By hand: sqlite3 conf.db (inside BEGIN/COMMIT).

ALTER TABLE events ADD COLUMN role TEXT;
ALTER TABLE events ADD COLUMN called TEXT;
ALTER TABLE events ADD COLUMN direction TEXT CHECK (direction IN ('in', 'out'));
ALTER TABLE cdrs ADD COLUMN direction TEXT CHECK (direction IN ('in', 'out'));

INSERT INTO schema_migrations (version, name) VALUES (3, 'participant-identity');
