"""A writer process for tests/test_journal.py.

Usage::

    python _journal_child.py stream PATH
        Append {"i": n, "pad": ...} for n = 0, 1, ... and print each
        acknowledged seq on its own line, flushed, until killed.

    python _journal_child.py burst PATH NAME COUNT
        Open the journal, print "ready", wait for a line on stdin, then append
        COUNT records {"writer": NAME, "i": n} and print "done".
"""

from __future__ import annotations

import sys

from incidentkit._journal import Journal

_STREAM_LIMIT = 100_000  # a stray child still ends on its own


def _say(text: str) -> None:
    sys.stdout.write(f"{text}\n")
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    """Run the mode named on the command line."""
    mode, path = argv[1], argv[2]
    journal = Journal.open(path, lock_timeout=30.0)
    if mode == "stream":
        for n in range(_STREAM_LIMIT):
            record = journal.append({"i": n, "pad": "x" * 200})
            _say(str(record.seq))
        return 0
    if mode == "burst":
        name, count = argv[3], int(argv[4])
        _say("ready")
        sys.stdin.readline()
        for n in range(count):
            journal.append({"writer": name, "i": n})
        _say("done")
        return 0
    sys.stderr.write(f"unknown mode {mode!r}\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
