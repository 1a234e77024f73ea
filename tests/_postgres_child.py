"""A responder process for the PostgreSQL store's tests.

Usage::

    python _postgres_child.py race CONNINFO INCIDENT WRITER COUNT
        Resume INCIDENT from the PostgreSQL store, print "ready", wait for a
        line on stdin, then add COUNT notes "writer WRITER note N" through the
        protocol (phase.note). A note that loses a race (ConcurrentAppendError)
        is retried after phase.refresh(), until it lands. Then print one JSON
        line: {"writer", "notes", "lost", "retries_that_landed", "seconds"}.
"""

from __future__ import annotations

import json
import sys
import time

from incidentkit import ConcurrentAppendError, Incident
from incidentkit.stores.postgres import PostgresStore


def _race(conninfo: str, incident_id: str, writer: int, count: int) -> None:
    store = PostgresStore(conninfo)
    phase = Incident.resume(store, incident_id)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.readline()
    lost = 0
    landed_after_losing = 0
    began = time.perf_counter()
    for n in range(count):
        lost_this_one = False
        while True:
            try:
                phase.note(f"writer {writer} note {n}", actor=f"writer-{writer}")
                break
            except ConcurrentAppendError:
                lost += 1
                lost_this_one = True
                phase = phase.refresh()
        landed_after_losing += lost_this_one
    summary = {
        "writer": writer,
        "notes": count,
        "lost": lost,
        "retries_that_landed": landed_after_losing,
        "seconds": time.perf_counter() - began,
    }
    sys.stdout.write(json.dumps(summary) + "\n")
    sys.stdout.flush()
    store.close()


def main(argv: list[str]) -> int:
    """Run the command in ``argv``."""
    if len(argv) == 6 and argv[1] == "race":
        _race(argv[2], argv[3], int(argv[4]), int(argv[5]))
        return 0
    sys.stderr.write(__doc__ or "")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
