#!/bin/sh
# run-fuzz.sh - run every libFuzzer target for a share of SECONDS, one TAP line per target
#
#   make -C BUILDDIR fuzz                      (builds the targets with clang)
#   tests/fuzz/run-fuzz.sh [SECONDS [BUILDDIR [TARGET...]]]
#
# SECONDS (default 60) is the whole run, split evenly between the targets;
# BUILDDIR defaults to $CE_BUILDDIR, else the current directory.  Each
# target starts from a fresh working corpus, BUILDDIR/fuzz-work/TARGET,
# seeded with its committed corpus and crash inputs (the source tree is
# only read, and nothing of an earlier run is reused).  A crash, leak or
# timeout input is kept as BUILDDIR/fuzz-results/TARGET/crash-... and its
# path printed with the directory to commit it to, so that "make check"
# replays it from then on.  Exit status 1 when any target failed.
set -u
secs=${1:-60}
build=${2:-${CE_BUILDDIR:-$PWD}}
[ $# -gt 2 ] && shift 2 || set --
here=$(cd "$(dirname "$0")" && pwd)
top=${CE_SRCDIR:-$(cd "$here/../.." && pwd)}
build=$(cd "$build" && pwd) || exit 1
if [ "$build" = "$top" ]; then
	echo "run-fuzz.sh: give a build directory, not the source tree" >&2
	exit 1
fi

# NAME BINARY "SEED-DIRS" REGRESSION-DIR "LIBFUZZER-OPTIONS"
targets() {
	fz=tests/fuzz
	echo "protocol|$fz/fuzz-protocol|$fz/corpus/protocol $fz/regressions/protocol|$fz/regressions/protocol|-max_len=4096 -dict=$top/$fz/protocol.dict"
	echo "config|$fz/fuzz-config|$fz/corpus/config $fz/regressions/config|$fz/regressions/config|-max_len=4096 -dict=$top/$fz/config.dict"
	echo "spool|$fz/fuzz-spool|$fz/corpus/spool $fz/regressions/spool|$fz/regressions/spool|-max_len=8192"
	echo "mediafile|$fz/fuzz-mediafile|$fz/corpus/mediafile $fz/regressions/mediafile|$fz/regressions/mediafile|-max_len=16384"
	echo "sdp|$fz/fuzz-sdp|$fz/corpus/sdp $fz/regressions/sdp|$fz/regressions/sdp|-max_len=4096"
	cc=tests/media/corpus-rtp
	echo "rtp|tests/media/fuzz-rtp|$cc|$cc|-max_len=8192"
	dc=tests/modules/dialplan/corpus
	echo "dialplan|tests/modules/dialplan/fuzz-dialplan|$dc|$dc|-max_len=4096"
}

wanted() {
	[ $# -eq 0 ] && return 0
	for w in "$@"; do [ "$w" = "$name" ] && return 0; done
	return 1
}

list=$(targets | while IFS='|' read -r name rest; do
	if wanted "$@"; then echo "$name|$rest"; fi
done)
n=$(printf '%s\n' "$list" | grep -c .)
if [ "$n" -eq 0 ]; then
	echo "run-fuzz.sh: no such target: $*" >&2
	exit 1
fi
each=$((secs / n))
[ "$each" -ge 1 ] || each=1

# The leaks of libraries that the test suite suppresses too (see the file).
LSAN_OPTIONS=suppressions="$top/tests/lsan.supp":print_suppressions=0
export LSAN_OPTIONS
echo "1..$n"
i=0
failed=0
results="$build/fuzz-results"
mkdir -p "$results" || exit 1
printf '%s\n' "$list" | {
	while IFS='|' read -r name bin seeds keep opts; do
		i=$((i + 1))
		work="$build/fuzz-work/$name"
		out="$results/$name"
		log="$results/$name.log"
		rm -rf "$work" "$out" "$log"
		mkdir -p "$work" "$out" || exit 1
		for d in $seeds; do
			for f in "$top/$d"/*; do
				[ -f "$f" ] && cp "$f" "$work/"
			done
		done
		if [ ! -x "$build/$bin" ]; then
			echo "not ok $i - fuzz $name: $build/$bin not built (make -C $build fuzz)"
			failed=1
			continue
		fi
		# shellcheck disable=SC2086 # opts are separate words
		"$build/$bin" -max_total_time="$each" -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 -artifact_prefix="$out/" $opts "$work" >"$log" 2>&1
		rc=$?
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
		kept=$(find "$out" -type f | sort)
		if [ "$rc" -eq 0 ] && [ -z "$kept" ] && [ -n "$runs" ]; then
			echo "ok $i - fuzz $name: $runs runs, no crash"
			continue
		fi
		failed=1
		grep -E '^(==[0-9]+==|SUMMARY|.*invariant failed|    #[0-9] )' "$log" | head -n 30 |
			sed 's/^/# /'
		for f in $kept; do
			echo "# crash input: $f"
			echo "#   reproduce: $build/$bin $f"
			echo "#   keep it:   cp $f $top/$keep/"
		done
		echo "not ok $i - fuzz $name: exit $rc after ${runs:-?} runs, $(echo "$kept" | grep -c .) inputs kept in $out (log $log)"
	done
	exit $failed
}
