#!/bin/bash
# tools/check.sh - install, build and run the whole test suite; the last line is "N passed, N failed"
#
#   tools/check.sh            everything: plain build + ASan/UBSan build + fuzzing + make distcheck
#   CE_QUICK=1 tools/check.sh plain build only (for a quick local run)
#
# Builds live in _build/ and _build-san/ so that the source tree stays clean.
# Tests that need PostgreSQL run under tests/pg-harness.sh, which starts a
# private server for the run and stops it afterwards.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
FUZZ_SECONDS=${CE_FUZZ_SECONDS:-60}
JOBS=${CE_JOBS:-2}
status=0

log() { printf '\n=== %s\n' "$*"; }

tools/install-deps.sh || { echo "check: installing packages failed"; echo "0 passed, 1 failed"; exit 1; }
log "autogen"
./autogen.sh >/dev/null 2>&1 || { echo "check: autogen.sh failed"; echo "0 passed, 1 failed"; exit 1; }

# build_and_test DIR CONFIGURE-ARGS...: configure, build with zero warnings, run make check.
build_and_test() {
	local dir=$1; shift
	log "build $dir ($*)"
	rm -rf "$dir" && mkdir -p "$dir"
	(cd "$dir" && ../configure -q --enable-werror "$@") || return 1
	make -C "$dir" -j"$JOBS" >"$dir/build.log" 2>&1 || { tail -50 "$dir/build.log"; return 1; }
	log "test $dir"
	tests/pg-harness.sh make -C "$dir" -j"$JOBS" check || return 1
}

# The real Yate the tests in tests/yate/ run against: built once per machine
# (tools/build-yate.sh caches it by the tarball's SHA-256) and named to every
# build, distcheck's included.  Without it those tests skip, except in CI.
log "real Yate"
if yate_prefix=$(tools/build-yate.sh); then
	export CE_YATE_PREFIX="$yate_prefix"
	echo "Yate: $CE_YATE_PREFIX"
else
	echo "check: no real Yate: the tests in tests/yate/ will skip (fail under CI=true)"
fi

build_and_test _build || status=1
if [ -z "${CE_QUICK:-}" ]; then
	build_and_test _build-san --enable-asan --enable-ubsan || status=1
	# Every fuzz target, each for its share of FUZZ_SECONDS, from a fresh
	# working corpus in _build/fuzz-work/ (see tests/fuzz/run-fuzz.sh).
	# Fuzzing is part of the check: without clang it fails, it is not skipped.
	log "fuzz ${FUZZ_SECONDS}s"
	rm -rf _build/fuzz-results && mkdir -p _build/fuzz-results
	if ! command -v clang >/dev/null; then
		echo "check: clang not found: cannot build the fuzz targets (tools/install-deps.sh installs clang)"
		echo "not ok - fuzz: no clang" >_build/fuzz-results/fuzz.tap
	elif ! make -C _build fuzz >_build/fuzz-results/build.log 2>&1; then
		tail -30 _build/fuzz-results/build.log
		echo "not ok - fuzz: make fuzz failed (_build/fuzz-results/build.log)" >_build/fuzz-results/fuzz.tap
	else
		tests/fuzz/run-fuzz.sh "$FUZZ_SECONDS" _build >_build/fuzz-results/fuzz.tap 2>_build/fuzz-results/fuzz.err || status=1
	fi
	cat _build/fuzz-results/fuzz.tap
	log "distcheck"
	if tests/pg-harness.sh make -C _build distcheck >_build/distcheck.log 2>&1; then
		echo "ok - make distcheck" >_build/distcheck.tap
	else
		tail -40 _build/distcheck.log
		echo "not ok - make distcheck" >_build/distcheck.tap
		status=1
	fi
fi

# Count every test result: automake .trs files (one line per TAP result)
# plus the TAP files of the steps above.
passed=0; failed=0; skipped=0
for trs in $(find _build _build-san -name '*.trs' -not -path '*/conf-engine-*/*' 2>/dev/null); do
	p=$(grep -cE '^:test-result: (PASS|XFAIL)' "$trs")
	skipped=$((skipped + $(grep -cE '^:test-result: SKIP' "$trs")))
	f=$(grep -cE '^:test-result: (FAIL|XPASS|ERROR)' "$trs")
	passed=$((passed + p)); failed=$((failed + f))
	if [ "$f" -gt 0 ]; then echo "FAILED: $trs"; fi
done
for tap in _build/fuzz-results/fuzz.tap _build/distcheck.tap; do
	[ -f "$tap" ] || continue
	passed=$((passed + $(grep -c '^ok' "$tap"))); failed=$((failed + $(grep -c '^not ok' "$tap")))
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; echo "check: a build step failed"; fi
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
