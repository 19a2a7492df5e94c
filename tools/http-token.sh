#!/bin/sh
# tools/http-token.sh - print an [http] token line for a secret: token.NAME=ROLE:SHA256
# Usage: tools/http-token.sh NAME ROLE [SECRET]   (ROLE read or admin; no SECRET: a random one,
# printed on stderr once: keep it, the configuration holds only its hash)
set -eu
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
	echo "usage: $0 NAME read|admin [SECRET]" >&2
	exit 2
fi
case "$2" in read|admin) ;; *) echo "$0: role must be read or admin" >&2; exit 2 ;; esac
if [ $# -eq 3 ]; then
	secret=$3
else
	secret=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
	echo "secret: $secret" >&2
fi
hash=$(printf %s "$secret" | sha256sum | cut -d' ' -f1)
echo "token.$1=$2:$hash"
