#!/bin/sh
# tests/modules/schedule/schedule.sh - the schedule tests on SQLite and on a private PostgreSQL server
# A server of its own (not an outer harness's): other tests may stop theirs.
unset CE_TEST_PG_CONNINFO
exec "$CE_SRCDIR/tests/pg-harness.sh" "$CE_BUILDDIR/tests/modules/schedule/test-schedule" --tap
