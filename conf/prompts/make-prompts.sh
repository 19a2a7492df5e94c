#!/bin/sh
# make-prompts.sh - regenerate the shipped prompts (8 kHz mono 16-bit WAV) with sox and espeak-ng.
# Run from anywhere: sh conf/prompts/make-prompts.sh.  The results are committed.
set -e
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out() { sox "$1" -r 8000 -c 1 -b 16 -e signed-integer "$2" norm -6; }
# Enter: two rising tones; leave: two falling ones.
sox -n -r 8000 -c 1 -b 16 "$tmp/a.wav" synth 0.12 sine 660 fade 0.01 0.12 0.02
sox -n -r 8000 -c 1 -b 16 "$tmp/b.wav" synth 0.12 sine 880 fade 0.01 0.12 0.02
sox -n -r 8000 -c 1 -b 16 "$tmp/s.wav" trim 0 0.04
sox "$tmp/a.wav" "$tmp/s.wav" "$tmp/b.wav" "$tmp/up.wav"
sox "$tmp/b.wav" "$tmp/s.wav" "$tmp/a.wav" "$tmp/down.wav"
out "$tmp/up.wav" enter.wav
out "$tmp/down.wav" leave.wav
say() {
	espeak-ng -v en-us -s 150 -w "$tmp/say.wav" "$2"
	out "$tmp/say.wav" "$1"
}
say lonely.wav "You are the only participant in this conference."
say recording.wav "This conference is being recorded."
say end-10min.wav "The conference will end in ten minutes."
say end-5min.wav "The conference will end in five minutes."
say end-1min.wav "The conference will end in one minute."
say ended.wav "The conference has ended."
