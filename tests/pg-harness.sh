#!/bin/sh
# tests/pg-harness.sh - run a command against a private, throw-away PostgreSQL server
#
# Usage: tests/pg-harness.sh COMMAND [ARG...]
#
# Creates a cluster with initdb in a fresh directory under /tmp, starts it
# listening on a unix socket in that directory only (no TCP), creates the
# database "ce_test", exports
#   CE_TEST_PG_CONNINFO  libpq conninfo of that database
#   CE_TEST_PG_STOP      shell command that stops the server (pg_ctl -m fast)
#   CE_TEST_PG_START     shell command that starts it again
# runs COMMAND, then stops the server and removes the directory, and exits
# with COMMAND's status.  Every wait is bounded (CE_PG_TIMEOUT seconds, 60 by
# default).  As root the server runs as the "postgres" user.  When
# CE_TEST_PG_CONNINFO is already set (an outer harness, or CI pointing at its
# own server) the command simply runs.  CE_PG_BINDIR selects the PostgreSQL
# binaries (default: pg_config --bindir, then the newest /usr/lib/postgresql).
# CI wraps the whole suite with it:  tests/pg-harness.sh make check
set -eu

if [ $# -eq 0 ]; then
	echo "usage: $0 COMMAND [ARG...]" >&2
	exit 2
fi
if [ -n "${CE_TEST_PG_CONNINFO:-}" ]; then
	exec "$@"
fi

timeout=${CE_PG_TIMEOUT:-60}

find_bindir() {
	if [ -n "${CE_PG_BINDIR:-}" ]; then
		echo "$CE_PG_BINDIR"
		return
	fi
	d=$(pg_config --bindir 2>/dev/null || true)
	if [ -n "$d" ] && [ -x "$d/initdb" ]; then
		echo "$d"
		return
	fi
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
		if [ -x "$d/initdb" ]; then
			echo "$d"
			return
		fi
	done
	d=$(command -v initdb 2>/dev/null || true)
	[ -n "$d" ] && dirname "$d"
}

bindir=$(find_bindir)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
	echo "pg-harness: PostgreSQL server binaries (initdb, pg_ctl) not found;" \
		"install postgresql or set CE_PG_BINDIR" >&2
	exit 99
fi

# The socket path must stay short (about 100 bytes), so use /tmp directly.
dir=$(mktemp -d /tmp/ce-pg.XXXXXX)
runas=""
if [ "$(id -u)" -eq 0 ]; then
	runas=postgres
	chown postgres "$dir"
fi
chmod 0755 "$dir"

# as_pg CMD...: run a server command as the server's user.
as_pg() {
	if [ -n "$runas" ]; then
		runuser -u "$runas" -- "$@"
	else
		"$@"
	fi
}

pgctl="$bindir/pg_ctl -D $dir/data -l $dir/server.log -t $timeout -w"
started=no
cleanup() {
	status=$?
	if [ "$started" = yes ]; then
		as_pg $pgctl -m immediate stop >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
	exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

if ! as_pg timeout "$timeout" "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust \
	--encoding=UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1; then
	echo "pg-harness: initdb failed:" >&2
	cat "$dir/initdb.log" >&2
	exit 99
fi
cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$dir'
port = 5432
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 60
EOF

started=yes
if ! as_pg $pgctl start >/dev/null; then
	echo "pg-harness: the server did not start:" >&2
	cat "$dir/server.log" >&2
	exit 99
fi
if ! timeout "$timeout" "$bindir/createdb" -h "$dir" -p 5432 -U postgres ce_test; then
	echo "pg-harness: createdb failed" >&2
	exit 99
fi

CE_TEST_PG_CONNINFO="host=$dir port=5432 user=postgres dbname=ce_test connect_timeout=5"
if [ -n "$runas" ]; then
	CE_TEST_PG_STOP="runuser -u $runas -- $pgctl -m fast stop"
	CE_TEST_PG_START="runuser -u $runas -- $pgctl start"
else
	CE_TEST_PG_STOP="$pgctl -m fast stop"
	CE_TEST_PG_START="$pgctl start"
fi
export CE_TEST_PG_CONNINFO CE_TEST_PG_STOP CE_TEST_PG_START

set +e
"$@"
rc=$?
set -e
exit $rc
