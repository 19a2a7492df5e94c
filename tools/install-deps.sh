#!/bin/sh
# tools/install-deps.sh - install every Debian 12 package conf-engine needs to build, test and demo
# The real-Yate tests build Yate 6.4.1 from source (tools/build-yate.sh: autoconf,
# automake, libtool, g++) and call it with real SIP phones (baresip-core) and
# SIP load (sip-tester, i.e. SIPp); tzdata gives the lobby the conferences' time zones;
# libspandsp-dev is the reference G.722 codec tests/media/test-g722 compares ours with;
# libwebrtc-audio-processing-dev is for bench-dsp's comparison only (media/dsp.c uses speexdsp);
# libsoup-3.0-dev and libjson-glib-dev are the HTTP API's, glib-networking its TLS (HTTPS),
# openssl makes the HTTPS test's self-signed certificate; chromium, chromium-driver and
# python3-selenium run the dashboard's browser test (tests/http/test-http-dashboard.py).
# Runs apt-get as root (directly, or through sudo when run as another user).
set -eu
PKGS="build-essential autoconf automake pkg-config git ca-certificates
 libglib2.0-dev libsqlite3-dev sqlite3 libpq-dev postgresql
 libsndfile1-dev libsamplerate0-dev libspandsp-dev libspeexdsp-dev libopus-dev libwebrtc-audio-processing-dev
 libsoup-3.0-dev libjson-glib-dev glib-networking openssl
 chromium chromium-driver python3-selenium
 clang libclang-rt-14-dev clang-format
 python3 sox espeak-ng procps tzdata
 libtool g++ baresip-core sip-tester"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "install-deps: installing:$missing"
	$SUDO apt-get update -q
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
else
	echo "install-deps: all packages present"
fi
