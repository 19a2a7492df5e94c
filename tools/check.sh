#!/bin/bash
# tools/check.sh - install, build and run the whole test suite; the last line is "N passed, N failed"
#
#   tools/check.sh            everything: plain build + ASan/UBSan build + TSan build (threaded
#                             tests only) + fuzzing + make distcheck
#   CE_QUICK=1 tools/check.sh plain build only (for a quick local run)
#
# Builds live in _build/, _build-san/ and _build-tsan/ so that the source tree stays clean.
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

# build_and_test DIR CONFIGURE-ARGS... [-- MAKE-CHECK-ARGS...]: configure, build with
# zero warnings, run make check (with the make arguments after --, e.g. a TESTS= list).
build_and_test() {
	local dir=$1; shift
	local conf=() check=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do conf+=("$1"); shift; done
	[ $# -gt 0 ] && shift && check=("$@")
	log "build $dir (${conf[*]})"
	rm -rf "$dir" && mkdir -p "$dir"
	(cd "$dir" && ../configure -q --enable-werror "${conf[@]}") || return 1
	make -C "$dir" -j"$JOBS" >"$dir/build.log" 2>&1 || { tail -50 "$dir/build.log"; return 1; }
	log "test $dir"
	tests/pg-harness.sh make -C "$dir" -j"$JOBS" check "${check[@]}" || return 1
}

# The tests that run threads, for the ThreadSanitizer build (which cannot be
# the ASan one): test-tsan-glib (GLib's hand-offs seen, races still
# reported: the ground the others stand on), the media threads (test-media,
# with /media/threads on two; test-prompt, with the media file thread), the
# log from many threads, the event-log writer (test-monitor-io), the store's
# writer and query threads (test-store-module, and the scheduler whose
# admissions come back from them), the dialplan's reload thread, and the
# whole engine with two media threads end to end (test-media-threads.py)
# and with its store (test-engine.py).  The rest is single-threaded: TSan
# would only make it slower.  docs/testing.md says the same.
TSAN_TESTS="tests/core/test-tsan-glib tests/core/test-mailbox tests/core/test-log tests/media/test-media
	tests/media/test-bypass tests/media/test-prompt tests/modules/monitor/test-monitor-io
	tests/modules/monitor/test-monitor tests/modules/store/test-store-module
	tests/modules/schedule/schedule.sh tests/modules/dialplan/test-dialplan
	tests/sim/test-media-threads.py tests/sim/test-engine.py"

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
	build_and_test _build-tsan --enable-tsan -- TESTS="$(echo $TSAN_TESTS)" || status=1
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
for trs in $(find _build _build-san _build-tsan -name '*.trs' -not -path '*/conf-engine-*/*' 2>/dev/null); do
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
