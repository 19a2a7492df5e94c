#!/usr/bin/env python3
"""test-docs.py - what README.md tells an operator to type agrees with docs/ and the shipped samples.

Prints TAP.  Reads files only.
"""
import os
import re
import sys

SRCDIR = os.environ.get("CE_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRCDIR, "tests", "sim"))
import simlib  # noqa: E402

tap = simlib.Tap()


def read(*path):
    with open(os.path.join(SRCDIR, *path), encoding="utf-8") as f:
        return f.read()


def ini_blocks(markdown):
    """The ```ini blocks of a Markdown text, as lists of lines."""
    return [b.splitlines() for b in re.findall(r"```ini\n(.*?)```", markdown, re.S)]


def main():
    readme = read("README.md")
    operation = read("docs", "operation.md")
    plan = read("conf", "dialplan.conf").splitlines()

    listeners = [b for b in ini_blocks(readme) if any(l.startswith("[listener") for l in b)]
    tap.ok(len(listeners) == 1, "README shows one extmodule listener", listeners)
    roles = [l for b in listeners for l in b if re.match(r"\s*role\s*=", l)]
    tap.ok(not roles and "Leave the listener's `role` unset" in operation,
        "README's listener leaves role unset, as docs/operation.md says", roles)

    # the rules README shows for conf-engine's own dialplan are those of the shipped sample
    own = [b for b in ini_blocks(readme) if "[default]" in b]
    tap.ok(len(own) >= 1, "README shows the dialplan", own)
    rules = [l for l in own[0] if l and not l.startswith(("[", ";"))] if own else []
    missing = [r for r in rules if r not in plan]
    tap.ok(rules and not missing, "conf/dialplan.conf has the rules README shows for it", missing)
    tap.ok(any(l.startswith("^800$=schedule/800") for l in plan) and "access_number, room" in readme
        and "'800'" in readme,
        "800 is the scheduled conference in both README and conf/dialplan.conf")
    tap.done()


if __name__ == "__main__":
    main()
