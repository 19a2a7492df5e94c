#!/usr/bin/env python3
"""test-prompts.py - conf/prompts/prompts.txt, the one list of prompts, against what ships and docs.

Every name of the list has its file in conf/prompts/en/ (a readable 8 kHz
mono 16-bit PCM WAV with audio in it), en/ holds nothing else, no prompt is
left directly in conf/prompts/, prompts.am installs exactly the list, every
"NAME.wav" the C sources play is in the list, and the tables of
docs/prompts.md say what the list says, section by section.  Prints TAP.
Reads files only.
"""
import glob
import os
import re
import sys
import wave

SRCDIR = os.environ.get("CE_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
PROMPTS = os.path.join(SRCDIR, "conf", "prompts")
sys.path.insert(0, os.path.join(SRCDIR, "tests", "sim"))
import simlib  # noqa: E402

tap = simlib.Tap()


def read_list():
    """The list as [(section, [(name, text)])], and the lines it could not read."""
    sections, bad = [], []
    with open(os.path.join(PROMPTS, "prompts.txt"), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith("## "):
                sections.append((line[3:].strip(), []))
            elif not line or line.startswith("#"):
                continue
            elif not sections or not re.fullmatch(r"[a-z0-9][a-z0-9-]*\t[^\t]*\S", line):
                bad.append("prompts.txt:%d: %r" % (n, line))
            else:
                sections[-1][1].append(tuple(line.split("\t")))
    return sections, bad


def wav_problem(path):
    """Why @path is not a readable 8 kHz mono 16-bit PCM WAV with audio, or None."""
    try:
        with wave.open(path, "rb") as w:
            if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (8000, 1, 2):
                return "%d Hz, %d channels, %d bytes a sample" % (
                    w.getframerate(), w.getnchannels(), w.getsampwidth())
            if w.getnframes() < 800:
                return "%d frames: under 100 ms" % w.getnframes()
            if not any(w.readframes(w.getnframes())):
                return "silent"
    except (OSError, EOFError, wave.Error) as e:
        return str(e)
    return None


def doc_tables(text):
    """The '### ' sections of docs/prompts.md's "## The prompts" with their rows."""
    part = text.split("\n## The prompts\n", 1)
    sections = []
    for line in (part[1] if len(part) == 2 else "").splitlines():
        m = re.fullmatch(r"\| `([^`]+)` \| (.*) \|", line)
        if line.startswith("### "):
            sections.append((line[4:].strip(), []))
        elif m and sections:
            sections[-1][1].append((m.group(1), m.group(2)))
        elif line.startswith("## "):
            break
    return sections


def main():
    sections, bad = read_list()
    names = [n for _, rows in sections for n, _ in rows]
    tap.ok(not bad and len(names) > 0, "prompts.txt: every line is NAME<TAB>TEXT under a section",
        bad)
    dup = sorted({n for n in names if names.count(n) > 1})
    tap.ok(not dup, "prompts.txt: no name twice", dup)

    problems = []
    for n in names:
        path = os.path.join(PROMPTS, "en", n + ".wav")
        why = wav_problem(path) if os.path.isfile(path) else "missing"
        if why:
            problems.append("en/%s.wav: %s" % (n, why))
    tap.ok(not problems, "every prompt of the list is an 8 kHz mono 16-bit WAV in en/", problems)

    stray = sorted(set(os.listdir(os.path.join(PROMPTS, "en"))) - {n + ".wav" for n in names})
    tap.ok(not stray, "en/ holds only the prompts of the list", stray)
    flat = sorted(os.path.basename(p) for p in glob.glob(os.path.join(PROMPTS, "*.wav")))
    tap.ok(not flat, "no prompt lies directly in conf/prompts/ (they are in a language folder)", flat)

    with open(os.path.join(PROMPTS, "prompts.am"), encoding="utf-8") as f:
        installed = re.findall(r"conf/prompts/en/(\S+)\.wav", f.read())
    tap.ok(sorted(installed) == sorted(names),
        "prompts.am installs exactly the list (rerun make-prompts.sh after a change)",
        "not installed: %s\nnot listed: %s" % (sorted(set(names) - set(installed)),
                                               sorted(set(installed) - set(names))))

    played = set()
    for src in glob.glob(os.path.join(SRCDIR, "modules", "*", "*.c")):
        with open(src, encoding="utf-8") as f:
            played |= set(re.findall(r'"([a-z0-9][a-z0-9-]*)\.wav"', f.read()))
    tap.ok(played and played <= set(names), "every NAME.wav the modules play is in the list",
        sorted(played - set(names)))

    with open(os.path.join(SRCDIR, "docs", "prompts.md"), encoding="utf-8") as f:
        doc = doc_tables(f.read())
    diff = []
    for i in range(max(len(doc), len(sections))):
        want = sections[i] if i < len(sections) else ("(none)", [])
        got = doc[i] if i < len(doc) else ("(none)", [])
        if want[0] != got[0]:
            diff.append("section %d: list %r, docs %r" % (i + 1, want[0], got[0]))
        for j in range(max(len(want[1]), len(got[1]))):
            w = want[1][j] if j < len(want[1]) else None
            g = got[1][j] if j < len(got[1]) else None
            if w != g:
                diff.append("%s row %d: list %r, docs %r" % (want[0], j + 1, w, g))
    tap.ok(not diff, "docs/prompts.md's tables say what prompts.txt says", "\n".join(diff))

    tap.done()


if __name__ == "__main__":
    main()
