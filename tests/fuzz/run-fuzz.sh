#!/bin/sh
# run-fuzz.sh - build fuzz-protocol with clang and libFuzzer, run it for SECONDS, print TAP
#
#   tests/fuzz/run-fuzz.sh [SECONDS]      (default 60)
#
# The source corpus is only read: new inputs go to a work corpus in the
# build directory ($CE_BUILDDIR, else the current directory unless that is
# the source tree, else $TMPDIR/conf-engine-fuzz).  A crash input is copied to
# tests/fuzz/regressions/protocol/ so that "make check" replays it forever.
set -u
secs=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
top=${CE_SRCDIR:-$(cd "$here/../.." && pwd)}
build=${CE_BUILDDIR:-$PWD}
# never write into the source tree
[ "$(cd "$build" && pwd)" = "$top" ] && build="${TMPDIR:-/tmp}/conf-engine-fuzz"
work="$build/tests/fuzz/work-protocol"
bin="$build/tests/fuzz/fuzz-protocol"
clang=${CLANG:-clang}

echo "1..1"
mkdir -p "$work/corpus" "$work/artifacts" || exit 1
if ! $clang -std=gnu11 -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-I"$top/conf-engine" $(pkg-config --cflags glib-2.0) -o "$bin" \
	"$top/tests/fuzz/fuzz-protocol.c" "$top/conf-engine/protocol.c" \
	"$top/conf-engine/message.c" $(pkg-config --libs glib-2.0); then
	echo "not ok 1 - fuzz-protocol did not build"
	exit 1
fi
rm -f "$work/artifacts"/*
start=$(date +%s)
"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
	-dict="$top/tests/fuzz/protocol.dict" -artifact_prefix="$work/artifacts/" \
	-print_final_stats=1 "$work/corpus" "$top/tests/fuzz/corpus/protocol" \
	>"$work/log" 2>&1
rc=$?
ran=$(( $(date +%s) - start ))
found=0
for f in "$work/artifacts"/*; do
	[ -f "$f" ] || continue
	found=$((found + 1))
	cp "$f" "$top/tests/fuzz/regressions/protocol/" && echo "# kept $(basename "$f")"
done
if [ "$rc" -eq 0 ] && [ "$found" -eq 0 ]; then
	grep -E '^stat::number_of_executed_units' "$work/log" | sed 's/^/# /'
	echo "ok 1 - fuzz-protocol ran $ran s, no crash"
else
	tail -n 40 "$work/log" | sed 's/^/# /'
	echo "not ok 1 - fuzz-protocol failed after $ran s (exit $rc, $found crash inputs kept)"
	exit 1
fi
