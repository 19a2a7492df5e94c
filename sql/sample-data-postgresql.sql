-- sql/sample-data-postgresql.sql - sample schedule for trying conf-engine on PostgreSQL
-- Times are relative to now, so the data is useful whenever it is loaded:
--   psql "$CONNINFO" -1 -f sql/sample-data-postgresql.sql

-- Dial 800, PIN 1234 (or moderator PIN 9999): running now, for two hours.
INSERT INTO conferences (access_number, room, title, pin, moderator_pin, starts_at, ends_at,
	time_zone, early_join_s, early_alert_s, end_alert_s, max_participants, record,
	record_file, announce_join, wait_for_moderator)
VALUES ('800', 'board', 'Board meeting', '1234', '9999', now() - interval '5 minutes',
	now() + interval '115 minutes', 'Europe/Berlin', 600, 3600, 300, 20, true,
	'/var/spool/conf-engine/board-%Y%m%d.wav', true, true);

-- Dial 801, no PIN: tomorrow 10:00 in New York; until then callers hear when it starts.
INSERT INTO conferences (access_number, room, title, starts_at, ends_at, time_zone,
	early_join_s, early_alert_s, max_participants, muted_on_entry)
VALUES ('801', 'all-hands', 'All hands',
	(date_trunc('day', now() AT TIME ZONE 'America/New_York') + interval '1 day 10 hours')
		AT TIME ZONE 'America/New_York',
	(date_trunc('day', now() AT TIME ZONE 'America/New_York') + interval '1 day 11 hours')
		AT TIME ZONE 'America/New_York',
	'America/New_York', 300, 86400, 500, true);

-- Invited people of the board meeting: two are dialled out at the start.  Ann
-- (calling from extension 1001) and Bob (from +49 30 123456, however the
-- number is written) are recognised by their number: dialling 800 they go
-- straight in, Ann as moderator, without a PIN.
INSERT INTO participants (conference_id, name, address, role, pin, dial_out, number)
SELECT id, 'Ann Chair', 'sip:ann@example.org', 'moderator', '314159', true, '1001'
FROM conferences WHERE room = 'board';
INSERT INTO participants (conference_id, name, address, role, pin, dial_out, number)
SELECT id, 'Bob Board', '+4930123456', 'participant', NULL, true, '+49 30 123456'
FROM conferences WHERE room = 'board';
INSERT INTO participants (conference_id, name, address, role, pin, dial_out)
SELECT id, 'Carol Observer', NULL, 'listener', '271828', false
FROM conferences WHERE room = 'board';
