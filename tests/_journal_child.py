"""A writer process for the journal's tests.

Usage::

    python _journal_child.py stream PATH
        Append {"i": n, "pad": ...} for n = 0, 1, ... and print each
        acknowledged seq on its own line, flushed, until killed.

    python _journal_child.py burst PATH NAME COUNT
        Open the journal, print "ready", wait for a line on stdin, then append
        COUNT records {"writer": NAME, "i": n} and print "done".

    python _journal_child.py create-stall PATH
        Create the journal PATH with a first record, but print "linking" and
        sleep just before it would be linked into place, until killed.

    python _journal_child.py zygote DIR
        Read commands "declare|resume[-store] PATH NOTES DELAY" from stdin, one a line.
        For each, fork a worker that declares (or resumes) the incident in the
        journal PATH and then writes NOTES notes, printing "ack SEQ TEXT" after
        each event it was acknowledged (the declaration is "ack 0 declared");
        with "-store", it goes through a FileStore of PATH's directory (the
        incident id is PATH's stem); after DELAY seconds SIGKILL the worker, reap it and print
        "exit killed" or "exit STATUS". Forking from a warm process makes
        hundreds of kills cheap. DIR is a scratch directory for warming up.
"""

from __future__ import annotations

import os
import pathlib
import signal
import sys
import time

from incidentkit import Detection, Incident
from incidentkit._journal import Journal
from incidentkit.stores import FileStore

_STREAM_LIMIT = 100_000  # a stray child still ends on its own


def _say(text: str) -> None:
    sys.stdout.write(f"{text}\n")
    sys.stdout.flush()


def _declare(path: str, *, via_store: bool = False) -> None:
    where = pathlib.Path(path)
    Incident.declare(
        title="Checkout returns 5xx",
        services="checkout",
        actor="child",
        detection=Detection.ALERT,
        incident_id=where.stem,  # so that either road resumes it
        **({"store": FileStore(where.parent)} if via_store else {"journal": path}),
    )


def _work(mode: str, path: str, notes: int) -> None:
    """Run in a forked worker: write each ack with one write(2), never buffered."""
    via_store = mode.endswith("-store")  # through a FileStore: the same file, another road
    if mode.startswith("declare"):
        _declare(path, via_store=via_store)
        os.write(1, b"ack 0 declared\n")
    where = pathlib.Path(path)
    phase = (
        Incident.resume(FileStore(where.parent), where.stem) if via_store else Incident.resume(path)
    )
    tag = f"{os.getpid()}-{time.monotonic_ns()}"
    for n in range(notes):
        text = f"{tag}-{n}"
        phase = phase.note(text, actor="child")
        os.write(1, f"ack {phase.anchor.seq} {text}\n".encode())


def _zygote(scratch: str) -> int:
    warm = pathlib.Path(scratch) / "warm.jsonl"
    _declare(str(warm))
    Incident.resume(warm).note("warm", actor="child")
    _say("ready")
    for command in sys.stdin:
        mode, path, notes, delay = command.split()
        pid = os.fork()
        if pid == 0:  # the worker
            try:
                _work(mode, path, int(notes))
            except BaseException as exc:  # noqa: BLE001 - reported to the test, which fails
                os.write(1, f"error {type(exc).__name__}: {exc}\n".encode())
                os._exit(1)
            os._exit(0)
        time.sleep(float(delay))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        _say("exit killed" if killed else f"exit {os.waitstatus_to_exitcode(status)}")
    return 0


def main(argv: list[str]) -> int:
    """Run the mode named on the command line."""
    mode, path = argv[1], argv[2]
    if mode == "zygote":
        return _zygote(path)
    if mode == "create-stall":

        def stall(*_args: object, **_kwargs: object) -> None:
            _say("linking")
            time.sleep(600)

        os.link = stall  # type: ignore[assignment]
        Journal.create(path, first={"n": 0})
        return 1
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
