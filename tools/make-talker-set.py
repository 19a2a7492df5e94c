#!/usr/bin/env python3
"""make-talker-set.py - mix utterances with noise at a given SNR and write the labels.

Usage: make-talker-set.py OUTBASE NOISE SNR_DB UTTERANCE.wav...
Writes OUTBASE.wav (8 kHz, 16-bit mono) and OUTBASE.lab: one speech segment
per line, "start end onset_snr audible": seconds, seconds, the
speech-to-noise ratio (dB) of the segment's first 60 ms, and the time
(seconds) the speech first reaches the noise's level: the start of the
first 10 ms (in 5 ms steps) of the clean speech whose power is at least
the noise's.  Before that the onset is under the noise, for a listener as
for a detector; bench-talker reports latency from both times.  A segment
is one utterance, from the first to the last 5 ms window of the clean
speech within 35 dB of the utterance's loudest window.  Utterances are separated by 0.8 to 2.5 s of
noise only; the SNR is speech power over those segments against the noise.
"""
import array
import math
import random
import sys
import wave

RATE = 8000
WIN = 40  # 5 ms
ONSET = 60  # ms: the onset whose audibility is reported


def read(path):
    with wave.open(path) as w:
        assert w.getframerate() == RATE and w.getsampwidth() == 2 and w.getnchannels() == 1
        a = array.array("h")
        a.frombytes(w.readframes(w.getnframes()))
        return [float(x) for x in a]


def extent(x):
    e = [sum(v * v for v in x[i:i + WIN]) for i in range(0, len(x) - WIN, WIN)]
    peak = max(e)
    on = [i for i, v in enumerate(e) if v >= peak * 10 ** -3.5]
    return on[0] * WIN, (on[-1] + 1) * WIN


def audible_at(speech, a, b, noise_power):
    """The first sample from a, in 5 ms steps, where 10 ms of speech reach noise_power."""
    k = a
    while k + 2 * WIN <= b and sum(v * v for v in speech[k:k + 2 * WIN]) / (2 * WIN) < noise_power:
        k += WIN
    return k


def noise(kind, n, rng):
    out, b, p = [], 0.0, [0.0] * 7
    for _ in range(n):
        w = rng.gauss(0, 1)
        if kind == "white":
            out.append(w)
        elif kind == "brown":
            b = 0.995 * b + w
            out.append(b)
        else:  # pink: Paul Kellet's economy filter
            p[0] = 0.99765 * p[0] + w * 0.0990460
            p[1] = 0.96300 * p[1] + w * 0.2965164
            p[2] = 0.57000 * p[2] + w * 1.0526913
            out.append(p[0] + p[1] + p[2] + w * 0.1848)
    return out


def main():
    base, kind, snr = sys.argv[1], sys.argv[2], float(sys.argv[3])
    rng = random.Random(base.rsplit("/", 1)[-1])
    speech, labels = [0.0] * RATE, []
    for path in sys.argv[4:]:
        x = read(path)
        a, b = extent(x)
        x = x[a:b]
        labels.append((len(speech), len(speech) + len(x)))
        speech += x + [0.0] * int(rng.uniform(0.8, 2.5) * RATE)
    ps = sum(sum(v * v for v in speech[a:b]) for a, b in labels) / sum(b - a for a, b in labels)
    nz = noise(kind, len(speech), rng)
    pn = sum(v * v for v in nz) / len(nz)
    g = math.sqrt(ps / pn / 10 ** (snr / 10))
    mix = [s + g * v for s, v in zip(speech, nz)]
    on = ONSET * RATE // 1000
    snr_on = [10 * math.log10(max(1e-9, sum(v * v for v in speech[a:a + on]) / on / (g * g * pn)))
              for a, b in labels]
    audible = [audible_at(speech, a, b, g * g * pn) for a, b in labels]
    peak = max(abs(v) for v in mix)
    k = min(1.0, 30000.0 / peak)
    pcm = array.array("h", (int(round(v * k)) for v in mix))
    with wave.open(base + ".wav", "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())
    with open(base + ".lab", "w") as f:
        f.write("# speech segments (s): start end onset_snr_db audible; noise %s, SNR %g dB\n"
                % (kind, snr))
        for (a, b), o, h in zip(labels, snr_on, audible):
            f.write("%.3f %.3f %.1f %.3f\n" % (a / RATE, b / RATE, o, h / RATE))


if __name__ == "__main__":
    main()
