#!/bin/sh
# make-talker-set.sh - regenerate the labelled talker-detection sets: the committed one and the held-out one
# Speech from espeak-ng, resampled to 8 kHz by sox (no dither, so the output
# is deterministic for a given espeak-ng and sox); noise, mixing at a known
# SNR and the labels (speech segment times) by make-talker-set.py.
# The committed set (tests/data/talker/) tuned the detector; the held-out set
# (other voices, sentences, noises and SNRs, many starting with fricatives)
# is never committed: bench-talker --held-out and test-talker make it when
# espeak-ng and sox are installed.
# Usage: tools/make-talker-set.sh [--held-out] [outdir]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
group=committed
if [ "${1:-}" = "--held-out" ]; then
	group=held-out
	shift
fi
out=${1:-$top/tests/data/talker}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

# name voice noise snr_db: sentences follow in utter() below
committed="
office1 en-us white 20
office2 en-gb+f3 pink 10
street1 en-us+m3 brown 5
street2 en+f2 white 5
"
held_out="
lobby1 en-us+f4 pink 15
car1 en-gb+m2 brown 8
cafe1 en+m4 white 8
wind1 en-us+f1 pink 5
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
	lobby1) cat <<'T'
She said the visitors are waiting downstairs.
So far nobody has signed in.
Three more guests will arrive at noon.
Have you seen the new badges?
Sorry, could you repeat that?
Fine, see you later.
T
	;;
	car1) cat <<'T'
Still driving, should be there soon.
Yesterday the traffic was much worse.
Shall I pick up the documents?
Those figures look wrong to me.
Fifteen minutes, maybe twenty.
Hang on, I am parking.
T
	;;
	cafe1) cat <<'T'
Sure, I can take notes today.
Few people replied to the survey.
Zero issues reported this week.
This is the final draft.
Somebody left the door open.
Sounds good to me.
T
	;;
	wind1) cat <<'T'
Thursday works better for everyone.
Six of us will travel by bus.
You should check the weather first.
Sometimes the line is very noisy.
Hear me? The wind is strong here.
See you on Thursday.
T
	;;
	esac
}

if [ "$group" = held-out ]; then sets=$held_out; else sets=$committed; fi
echo "$sets" | while read -r name voice noise snr; do
	[ -n "$name" ] || continue
	i=0
	utter "$name" | while IFS= read -r line; do
		i=$((i + 1))
		espeak-ng -v "$voice" -s 165 -w "$tmp/raw.wav" "$line"
		sox -q -D "$tmp/raw.wav" -r 8000 -c 1 -b 16 "$tmp/$name-$(printf %02d $i).wav"
	done
	python3 "$top/tools/make-talker-set.py" "$out/$name" "$noise" "$snr" "$tmp/$name"-*.wav
done
