#!/bin/sh
# make-talker-set.sh - regenerate the labelled talker-detection set in tests/data/talker/
# Speech from espeak-ng, resampled to 8 kHz by sox; noise, mixing at a known
# SNR and the labels (speech segment times) by make-talker-set.py.  The output
# is deterministic for a given espeak-ng and sox.
# Usage: tools/make-talker-set.sh [outdir]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/tests/data/talker}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

# name voice noise snr_db: sentences follow in utter() below
sets="
office1 en-us white 20
office2 en-gb+f3 pink 10
street1 en-us+m3 brown 5
street2 en+f2 white 5
"

utter() {
	case $1 in
	office1) cat <<'T'
Good morning everyone, thanks for joining.
Let us start with the budget review.
The numbers for March are on the shared drive.
Any questions so far?
We will meet again next Tuesday.
I think that covers everything.
T
	;;
	office2) cat <<'T'
Can you hear me now?
I am sending the slides right away.
Our next release ships in two weeks.
Please mute your microphones.
Alright, moving on.
Thanks a lot, bye.
T
	;;
	street1) cat <<'T'
Hello, this is the night shift.
The server room is too warm again.
We opened a ticket with facilities.
Over and out.
Anyone still there?
Okay then, goodbye.
T
	;;
	street2) cat <<'T'
I am calling from the train.
The connection might drop any time.
Send me the contract by email.
Yes, I agree with the price.
Talk to you tomorrow.
Bye for now.
T
	;;
	esac
}

echo "$sets" | while read -r name voice noise snr; do
	[ -n "$name" ] || continue
	i=0
	utter "$name" | while IFS= read -r line; do
		i=$((i + 1))
		espeak-ng -v "$voice" -s 165 -w "$tmp/raw.wav" "$line"
		sox -q "$tmp/raw.wav" -r 8000 -c 1 -b 16 "$tmp/$name-$(printf %02d $i).wav"
	done
	python3 "$top/tools/make-talker-set.py" "$out/$name" "$noise" "$snr" "$tmp/$name"-*.wav
done
