-- sql/sample-data-sqlite.sql - sample schedule for trying conf-engine on SQLite
-- Times are INTEGER microseconds since the epoch, relative to now:
--   sqlite3 /var/lib/conf-engine/conf.db < sql/sample-data-sqlite.sql

BEGIN;

-- Dial 800, PIN 1234 (or moderator PIN 9999): running now, for two hours.
INSERT INTO conferences (access_number, room, title, pin, moderator_pin, starts_at, ends_at,
	time_zone, early_join_s, early_alert_s, end_alert_s, max_participants, record,
	record_file, announce_join, wait_for_moderator)
VALUES ('800', 'board', 'Board meeting', '1234', '9999',
	strftime('%s', 'now', '-5 minutes') * 1000000,
	strftime('%s', 'now', '+115 minutes') * 1000000,
	'Europe/Berlin', 600, 3600, 300, 20, 1,
	'/var/spool/conf-engine/board-%Y%m%d.wav', 1, 1);

-- Dial 801, no PIN: tomorrow 10:00 New York time (UTC-5 in winter, written out).
INSERT INTO conferences (access_number, room, title, starts_at, ends_at, time_zone,
	early_join_s, early_alert_s, max_participants, muted_on_entry)
VALUES ('801', 'all-hands', 'All hands',
	strftime('%s', date('now', '+1 day') || 'T10:00:00-05:00') * 1000000,
	strftime('%s', date('now', '+1 day') || 'T11:00:00-05:00') * 1000000,
	'America/New_York', 300, 86400, 500, 1);

-- Invited people of the board meeting: two are dialled out at the start.  Ann
-- (calling from extension 1001) and Bob (from +49 30 123456, however the
-- number is written) are recognised by their number: dialling 800 they go
-- straight in, Ann as moderator, without a PIN.
INSERT INTO participants (conference_id, name, address, role, pin, dial_out, number)
SELECT id, 'Ann Chair', 'sip:ann@example.org', 'moderator', '314159', 1, '1001'
FROM conferences WHERE room = 'board';
INSERT INTO participants (conference_id, name, address, role, pin, dial_out, number)
SELECT id, 'Bob Board', '+4930123456', 'participant', NULL, 1, '+49 30 123456'
FROM conferences WHERE room = 'board';
INSERT INTO participants (conference_id, name, address, role, pin, dial_out)
SELECT id, 'Carol Observer', NULL, 'listener', '271828', 0
FROM conferences WHERE room = 'board';

COMMIT;
