-- sql/sqlite/004-caller-recognition.sql - callers recognised by their number
-- Same meaning as sql/postgresql/004-caller-recognition.sql.  A participant's
-- number is the number they call from: a caller whose number matches (spaces,
-- '-', '.', '(' and ')' dropped on both sides, then exactly equal) goes into
-- the conference without a PIN, as that participant, unless the conference
-- has always_pin.  NULL: never recognised.  The index is on the number as
-- matched, so the engine's lookup (the same expression) uses it.  Rows from
-- before keep number NULL and always_pin 0.  By hand: sqlite3 conf.db (inside BEGIN/COMMIT).

ALTER TABLE participants ADD COLUMN number TEXT;
ALTER TABLE conferences ADD COLUMN always_pin INTEGER NOT NULL DEFAULT 0;
CREATE INDEX participants_number_idx ON participants
	(replace(replace(replace(replace(replace(number, ' ', ''), '-', ''), '.', ''), '(', ''), ')', ''));

INSERT INTO schema_migrations (version, name) VALUES (4, 'caller-recognition');
