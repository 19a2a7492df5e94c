#!/bin/sh
# tests/modules/store/store.sh - the store tests on SQLite and on a private PostgreSQL server
# A server of its own (not an outer harness's): other tests may stop theirs.
unset CE_TEST_PG_CONNINFO CE_TEST_PG_OPTIONAL
exec "$CE_SRCDIR/tests/pg-harness.sh" "$CE_BUILDDIR/tests/modules/store/test-store" --tap
