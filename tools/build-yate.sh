#!/bin/sh
# tools/build-yate.sh - build the pinned Yate source once per machine, into a cache keyed by its SHA-256
#
#   tools/build-yate.sh            print the prefix of a built Yate (building it first if needed)
#   tools/build-yate.sh --check    print the prefix if it is already built, else exit 1 (no build)
#
# The tarball is $CE_YATE_TARBALL, or the one in ../shared/yate/ beside the
# repository. The cache is $CE_YATE_CACHE (default ~/.cache/conf-engine); the
# prefix is CACHE/yate-SHA256/, holding bin/yate, lib/, lib/yate/ (modules)
# and share/yate/. Nothing is installed system-wide. A failed build leaves no
# prefix behind (it is built in a temporary folder and moved in place), so a
# later run tries again; parallel runs wait for each other on a lock.
# Exit codes: 0 ready, 1 not built (--check), 2 no tarball, 3 build failed.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
tarball=${CE_YATE_TARBALL:-}
if [ -z "$tarball" ]; then
	for t in "$top"/../shared/yate/yate-*.tar.gz; do
		[ -f "$t" ] && tarball=$t && break
	done
fi
if [ -z "$tarball" ] || [ ! -f "$tarball" ]; then
	echo "build-yate: no Yate tarball (set CE_YATE_TARBALL, or put it in ../shared/yate/)" >&2
	exit 2
fi
sha=$(sha256sum "$tarball" | cut -d' ' -f1)
if [ -f "$tarball.sha256" ] && [ "$(cut -d' ' -f1 "$tarball.sha256")" != "$sha" ]; then
	echo "build-yate: $tarball does not match $tarball.sha256" >&2
	exit 2
fi
cache=${CE_YATE_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/conf-engine}
prefix=$cache/yate-$sha
ready() { [ -x "$prefix/bin/yate" ] && [ -f "$prefix/lib/yate/extmodule.yate" ]; }
if ready; then echo "$prefix"; exit 0; fi
[ "${1:-}" = "--check" ] && exit 1

mkdir -p "$cache"
exec 9>"$cache/yate-$sha.lock"
flock 9
if ready; then echo "$prefix"; exit 0; fi
work=$(mktemp -d "$cache/build-XXXXXX")
trap 'rm -rf "$work"' EXIT
log=$cache/yate-$sha.build.log
echo "build-yate: building Yate from $(basename "$tarball") into $prefix (a few minutes; log in $log)" >&2
if ! (
	set -e
	tar -xzf "$tarball" -C "$work"
	cd "$work/yate"
	./autogen.sh
	./configure --prefix="$prefix" --without-openssl --without-libpq --without-mysql \
		--without-libgsm --without-spandsp --without-libspeex --without-zlib \
		--without-amrnb --without-libqt4 --disable-sctp
	make -j"${CE_JOBS:-2}"
	make install-noapi DESTDIR="$work/dest"
) >"$log" 2>&1; then
	tail -30 "$log" >&2
	echo "build-yate: the Yate build failed (log: $log)" >&2
	exit 3
fi
rm -rf "$prefix"
mv "$work/dest$prefix" "$prefix"
echo "$prefix"
