#!/usr/bin/env python3
"""talker-onsets.py - how fast each labelled onset rises out of the noise.

Usage: talker-onsets.py [--blocks N] FILE.wav...   (FILE.lab next to each)

For each file of a talker set (tools/make-talker-set.sh) this measures the
two bands the detector judges (media/talker.c: the voice band
(1 + z^-1)^4 (1 - z^-1) / 8 and the hiss band (1 - z^-1)^2 / 4) in 10 ms
blocks, takes the noise's mean and standard deviation (dB) over the blocks
away from any label, and prints for every onset the first N blocks of each
band as "standard deviations above the noise's mean".  An onset that stays
within 2..3 of them for its first 60 ms cannot be reported within 60 ms by
an energy detector without also starting talks on the noise alone: the
header of each band says how often the noise itself puts two blocks in a
row 1, 1.5, 2 or 3 of them above its mean.  No G.711 here: the statistics of the
noise and of the onsets barely change through it.
"""
import array
import math
import sys
import wave

BLOCK = 80  # 10 ms at 8 kHz


def read(path):
    with wave.open(path) as w:
        if w.getframerate() != 8000 or w.getsampwidth() != 2 or w.getnchannels() != 1:
            sys.exit("%s: not 8 kHz 16-bit mono" % path)
        a = array.array("h")
        a.frombytes(w.readframes(w.getnframes()))
        return list(a)


def levels(x):
    """Voice- and hiss-band levels (dB) of each 10 ms block."""
    voice, hiss = [], []
    for i in range(0, len(x) - BLOCK + 1, BLOCK):
        sv = sh = 0.0
        for n in range(i, i + BLOCK):
            p = [x[n - k] if n >= k else 0 for k in range(6)]
            y = p[0] - p[5] + 3 * (p[1] - p[4]) + 2 * (p[2] - p[3])
            h = p[0] - 2 * p[1] + p[2]
            sv += y * y
            sh += h * h
        voice.append(10 * math.log10(sv / BLOCK / 64 + 1e-3))
        hiss.append(10 * math.log10(sh / BLOCK / 16 + 1e-3))
    return voice, hiss


def main():
    args, nblocks = sys.argv[1:], 12
    if args[:1] == ["--blocks"] and len(args) > 1:
        nblocks, args = int(args[1]), args[2:]
    if not args:
        sys.exit(__doc__)
    for path in args:
        labs = []
        with open(path[:-4] + ".lab") as f:
            for line in f:
                if line.strip() and not line.startswith("#"):
                    a, b, snr = (float(v) for v in line.split()[:3])
                    labs.append((a, b, snr))
        bands = levels(read(path))
        print("%s (block: 10 ms; figures: noise standard deviations above its mean)" % path)
        for name, lv in zip(("voice", "hiss"), bands):
            noise = [v for j, v in enumerate(lv)
                     if not any(a - 0.3 <= j / 100 <= b + 0.5 for a, b, _ in labs)]
            mean = sum(noise) / len(noise)
            sd = (sum((v - mean) ** 2 for v in noise) / len(noise)) ** 0.5 or 1.0
            z = [(v - mean) / sd for v in noise]
            pairs = ", ".join("%g: %.1f" % (k, 6000.0 * sum(
                1 for u, v in zip(z, z[1:]) if u >= k and v >= k) / max(len(z) - 1, 1))
                for k in (1, 1.5, 2, 3))
            print("  %s band: noise %.1f dB, sd %.2f dB; two blocks in a row at least k sd "
                  "above, per minute of noise (%.0f s), k = %s" % (name, mean, sd, len(z) / 100, pairs))
            for a, _, snr in labs:
                j = int(round(a * 100))
                row = " ".join("%5.1f" % ((lv[j + q] - mean) / sd)
                               for q in range(nblocks) if j + q < len(lv))
                print("    onset %7.2f s (first 60 ms %5.1f dB SNR): %s" % (a, snr, row))


if __name__ == "__main__":
    main()
