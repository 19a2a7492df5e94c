#!/bin/sh
# tests/modules/store/store-history.sh - reading the history back, on SQLite and on a private PostgreSQL server
unset CE_TEST_PG_CONNINFO CE_TEST_PG_OPTIONAL
exec "$CE_SRCDIR/tests/pg-harness.sh" "$CE_BUILDDIR/tests/modules/store/test-store-history" --tap
