#!/bin/sh
# tests/modules/store/store-fault.sh - database loss and bad files, on a private PostgreSQL server
# This test stops and starts its server, so it never shares one.
unset CE_TEST_PG_CONNINFO CE_TEST_PG_OPTIONAL
exec "$CE_SRCDIR/tests/pg-harness.sh" "$CE_BUILDDIR/tests/modules/store/test-store-fault" --tap
