#!/bin/sh
# make-prompts.sh - make the English prompts (en/NAME.wav, 8 kHz mono 16-bit WAV) from prompts.txt.
# Run from anywhere: sh conf/prompts/make-prompts.sh.  Needs sox and espeak-ng; the results are
# committed (docs/prompts.md says why), so a build does not need either.  Files in en/ that the
# list no longer names are removed, and prompts.am (what `make install` installs) is rewritten.
# sox runs with -R -D (no dither, fixed seed): the same list gives the same bytes.
set -e
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p en
out() { sox -R -D "$1" -r 8000 -c 1 -b 16 -e signed-integer "$2" norm -6; }
tones() { # tones FILE HZ HZ: two 120 ms tones with 40 ms between
	sox -R -D -n -r 8000 -c 1 -b 16 "$tmp/a.wav" synth 0.12 sine "$2" fade 0.01 0.12 0.02
	sox -R -D -n -r 8000 -c 1 -b 16 "$tmp/b.wav" synth 0.12 sine "$3" fade 0.01 0.12 0.02
	sox -R -D -n -r 8000 -c 1 -b 16 "$tmp/s.wav" trim 0 0.04
	sox -R -D "$tmp/a.wav" "$tmp/s.wav" "$tmp/b.wav" "$tmp/t.wav"
	out "$tmp/t.wav" "$1"
}
tab=$(printf '\t')
: >"$tmp/names"
while IFS="$tab" read -r name text; do
	case "$name" in '' | '#'*) continue ;; esac
	echo "$name.wav" >>"$tmp/names"
	case "$name" in
	enter) tones en/enter.wav 660 880 ;;
	leave) tones en/leave.wav 880 660 ;;
	*)
		case "$text" in '('*)
			echo "make-prompts.sh: no sound is made for '$name'" >&2
			exit 1
			;;
		esac
		espeak-ng -v en-us -s 150 -w "$tmp/say.wav" "$text"
		out "$tmp/say.wav" "en/$name.wav"
		;;
	esac
done <prompts.txt
for f in en/*.wav; do
	grep -qxF "${f#en/}" "$tmp/names" || rm -f "$f"
done
{
	echo "# prompts.am - the prompt files make install installs; make-prompts.sh writes it from prompts.txt"
	echo "prompts_endir = \$(pkgdatadir)/prompts/en"
	printf 'dist_prompts_en_DATA ='
	sed 's|^|conf/prompts/en/|' "$tmp/names" | while read -r f; do printf ' \\\n\t%s' "$f"; done
	echo
} >prompts.am
