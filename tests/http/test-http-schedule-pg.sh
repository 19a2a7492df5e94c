#!/bin/sh
# tests/http/test-http-schedule-pg.sh - test-http-schedule.py on a private PostgreSQL server
# A server of its own (not an outer harness's): the test stops and starts it.
unset CE_TEST_PG_CONNINFO
exec "$CE_SRCDIR/tests/pg-harness.sh" python3 "$CE_SRCDIR/tests/http/test-http-schedule.py" --pg
