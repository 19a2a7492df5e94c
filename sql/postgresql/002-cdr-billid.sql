-- sql/postgresql/002-cdr-billid.sql - Yate's billing id of the call on every CDR
-- Same meaning as sql/sqlite/002-cdr-billid.sql.  Rows stored before this
-- migration keep billid NULL.  By hand: psql -1 -f 002-cdr-billid.sql

ALTER TABLE cdrs ADD COLUMN billid text;
CREATE INDEX cdrs_billid_idx ON cdrs (billid);

INSERT INTO schema_migrations (version, name) VALUES (2, 'cdr-billid');
