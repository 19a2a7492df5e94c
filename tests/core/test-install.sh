#!/bin/sh
# tests/core/test-install.sh - make install keeps an operator's edited configuration; TAP
#
# Runs "make install DESTDIR=..." from the build directory twice, with an
# edit of the installed conf-engine.conf in between, then "make uninstall".
# Only a temporary DESTDIR is written, so it also runs under make distcheck.

: "${CE_SRCDIR:?}" "${CE_BUILDDIR:?}"
MAKE=${MAKE:-make}
# the outer make's job server is not ours to use
unset MAKEFLAGS MFLAGS MAKELEVEL

n=0
failed=0
ok() { # ok COND-STATUS NAME
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=1
	fi
}

dest=$(mktemp -d "${TMPDIR:-/tmp}/ce-install.XXXXXX") || exit 1
trap 'rm -rf "$dest"' EXIT
log="$dest/make.log"
shipped="$CE_SRCDIR/conf/conf-engine.conf"
shipped_plan="$CE_SRCDIR/conf/dialplan.conf"

install() {
	"$MAKE" -C "$CE_BUILDDIR" install DESTDIR="$dest/root" >"$log" 2>&1
}

install
ok $? "make install DESTDIR=... succeeds"
conf=$(find "$dest/root" -name conf-engine.conf | head -n 1)
etc=$(dirname "${conf:-$dest/root/none/x}")
[ -n "$conf" ] && cmp -s "$etc/conf-engine.conf.sample" "$shipped"
ok $? "conf-engine.conf.sample is the shipped sample"
cmp -s "$etc/conf-engine.conf" "$shipped" && cmp -s "$etc/dialplan.conf" "$shipped_plan" &&
	cmp -s "$etc/dialplan.conf.sample" "$shipped_plan"
ok $? "a first install also puts conf-engine.conf and dialplan.conf (and its sample) in place"
# the prompts go to $(pkgdatadir)/prompts/LANG/, every one of the list (docs/prompts.md)
lonely=$(find "$dest/root" -path '*/conf-engine/prompts/en/lonely.wav' | head -n 1)
listed=$(grep -c '^[a-z0-9][a-z0-9-]*	' "$CE_SRCDIR/conf/prompts/prompts.txt")
[ -n "$lonely" ] && [ "$(ls "$(dirname "$lonely")" | wc -l)" -eq "$listed" ] &&
	cmp -s "$lonely" "$CE_SRCDIR/conf/prompts/en/lonely.wav"
ok $? "the $listed prompts of prompts.txt are installed in DATADIR/conf-engine/prompts/en/"

# the operator edits the configuration
printf '\n[general]\nnode=edited-by-the-operator\n' >>"$etc/conf-engine.conf"
cp "$etc/conf-engine.conf" "$dest/edited"

install
ok $? "a second make install succeeds"
cmp -s "$etc/conf-engine.conf" "$dest/edited"
ok $? "the edited conf-engine.conf survives make install"
grep -q "keeping .*conf-engine.conf" "$log"
ok $? "make install says it kept it"
cmp -s "$etc/conf-engine.conf.sample" "$shipped"
ok $? "the new sample is beside it as conf-engine.conf.sample"

"$MAKE" -C "$CE_BUILDDIR" uninstall DESTDIR="$dest/root" >"$log" 2>&1
ok $? "make uninstall succeeds"
cmp -s "$etc/conf-engine.conf" "$dest/edited"
ok $? "make uninstall keeps the edited conf-engine.conf"
[ ! -e "$etc/conf-engine.conf.sample" ] && [ ! -e "$etc/dialplan.conf" ] &&
	[ ! -e "$etc/dialplan.conf.sample" ]
ok $? "make uninstall removes the samples and the unedited dialplan.conf"
left=$(find "$dest/root" -type f | grep -v "/conf-engine.conf\$")
[ -z "$left" ]
ok $? "nothing else is left behind${left:+: $left}"

if [ "$failed" -ne 0 ]; then
	sed 's/^/# /' "$log"
fi
echo "1..$n"
exit "$failed"
