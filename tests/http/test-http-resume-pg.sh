#!/bin/sh
# tests/http/test-http-resume-pg.sh - test-http-resume.py with its store on a private PostgreSQL server (two nodes)
unset CE_TEST_PG_CONNINFO CE_TEST_PG_OPTIONAL
exec "$CE_SRCDIR/tests/pg-harness.sh" python3 "$CE_SRCDIR/tests/http/test-http-resume.py"
