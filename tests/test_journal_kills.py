"""Reliability: SIGKILLs at random moments of declarations and appends lose no acknowledged event.

Half the rounds declare or resume through a :class:`~incidentkit.stores.FileStore`
(the journal store of the same files), half through the journal's path.

The seed of each run is printed (``pytest -s``) with what the kills hit; set
INCIDENTKIT_KILL_SEED to replay one schedule (the kills' timing still varies).
"""

from __future__ import annotations

import os
import pathlib
import random
import subprocess
import sys
import time

import pytest

from incidentkit import (
    Incident,
    Journal,
    JournalError,
    TornRecordError,
    repair_torn_tail,
    verify_journal,
)

CHILD = pathlib.Path(__file__).with_name("_journal_child.py")
KILLS = 200
RESUMES = 0.6  # the share of rounds that resume an existing journal rather than declare
SECONDS = 30.0  # the whole test's budget on two busy cores


def child_env() -> dict[str, str]:
    """An environment in which a child imports the same incidentkit as this process."""
    src = str(pathlib.Path(sys.modules["incidentkit"].__file__ or "").resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    return env


class Zygote:
    """The child that forks a worker per round and SIGKILLs it after the delay asked."""

    def __init__(self, scratch: pathlib.Path) -> None:
        """Start the zygote and wait until it has warmed up."""
        self.proc = subprocess.Popen(
            [sys.executable, str(CHILD), "zygote", str(scratch)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=child_env(),
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline() == b"ready\n"

    def run(self, mode: str, path: pathlib.Path, notes: int, delay: float) -> tuple[list, str]:
        """Run one round; return the acknowledged (seq, text) pairs and how the worker ended."""
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(f"{mode} {path} {notes} {delay:.6f}\n".encode())
        self.proc.stdin.flush()
        acks: list[tuple[int, str]] = []
        while True:
            line = self.proc.stdout.readline().decode()
            assert line, "the zygote died"
            kind, _, rest = line.rstrip("\n").partition(" ")
            if kind == "exit":
                return acks, rest
            assert kind == "ack", f"the worker failed: {line}"
            seq, text = rest.split(" ", 1)
            acks.append((int(seq), text))

    def close(self) -> None:
        """Stop the zygote."""
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.close()
        self.proc.stdout.read()
        self.proc.stdout.close()
        self.proc.wait(timeout=30)


def event_text(body: dict) -> str:
    """The text a worker acknowledged for a record: a note's text, or "declared"."""
    return "declared" if body["type"] == "incident_declared" else body["text"]


def check(path: pathlib.Path, acked: dict[int, str]) -> str:
    """Check one journal against what was acknowledged; return its state.

    Returns:
        ``"absent"`` (no file, or an empty leftover: declaring there works),
        ``"ok"`` (it resumes with every acknowledged event) or ``"torn"``
        (it did so after :func:`repair_torn_tail` cut an unacknowledged
        fragment).
    """
    if not path.exists() or path.stat().st_size == 0:
        assert not acked, f"{path}: {len(acked)} acknowledged event(s) lost with the file"
        return "absent"
    state = "ok"
    try:
        Incident.resume(path)
    except TornRecordError:
        assert repair_torn_tail(path) is not None
        state = "torn"
        Incident.resume(path)
    records = Journal.open(path).records
    for seq, text in acked.items():
        assert seq < len(records), f"{path}: acknowledged seq {seq} lost"
        assert event_text(records[seq].body) == text, f"{path}: seq {seq} is not what was acked"
    assert verify_journal(path).ok
    return state


def choose(rng: random.Random, paths: list[pathlib.Path], fresh: pathlib.Path) -> pathlib.Path:
    """Pick an existing journal to resume, or a path to declare at (``fresh`` if none waits)."""
    existing = [path for path in paths if path.exists() and path.stat().st_size]
    if existing and rng.random() < RESUMES:
        return rng.choice(existing)
    waiting = [path for path in paths if path not in existing]  # every declaration killed
    return rng.choice(waiting) if waiting and rng.random() < 0.5 else fresh


def assert_declarable_or_in_use(paths: list[pathlib.Path], acked: dict) -> None:
    """Each path holds a journal in use, or a declaration there succeeds."""
    for path in paths:
        if path.exists() and path.stat().st_size:
            with pytest.raises(JournalError, match="already exists"):
                Journal.create(path, first={"type": "probe"})
        else:
            Journal.create(path, first={"type": "probe"})
            assert not acked[path]


def test_200_sigkills_during_declarations_and_appends_lose_nothing(tmp_path):
    """200 SIGKILLs at random moments: no acknowledged event lost, no journal left unusable."""
    seed = int(os.environ.get("INCIDENTKIT_KILL_SEED") or int.from_bytes(os.urandom(4), "big"))
    rng = random.Random(seed)  # noqa: S311 - a reproducible schedule, not a secret
    directory = tmp_path / "journals"
    directory.mkdir()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    paths: list[pathlib.Path] = []
    acked: dict[pathlib.Path, dict[int, str]] = {}
    states = {"absent": 0, "ok": 0, "torn": 0}
    killed_in = {"declare": 0, "declare over an empty leftover": 0, "appends": 0}
    started = time.monotonic()
    zygote = Zygote(scratch)
    try:
        for kill in range(KILLS):
            path = choose(rng, paths, directory / f"incident-{kill:03d}.jsonl")
            if path not in acked:
                paths.append(path)
                acked[path] = {}
            if path.exists() and path.stat().st_size:
                mode, delay = "resume", rng.uniform(0.0, 0.03)
            else:
                mode, delay = "declare", rng.uniform(0.0, 0.04)
                if rng.random() < 0.25:  # what an interrupted declaration of 0.1 left
                    path.write_bytes(b"")
            leftover = path.exists()
            road = "-store" if rng.random() < 0.5 else ""  # half the rounds through a FileStore
            acks, ended = zygote.run(mode + road, path, 100_000, delay)
            assert ended == "killed", f"seed {seed}: the worker ended with {ended} before the kill"
            if mode == "resume" or acks:
                killed_in["appends"] += 1
            else:
                killed_in["declare over an empty leftover" if leftover else "declare"] += 1
            for seq, text in acks:
                assert acked[path].setdefault(seq, text) == text, f"seed {seed}: seq {seq} twice"
            states[check(path, acked[path])] += 1
    finally:
        zygote.close()
    # Every temporary the kills left beside the journals is gone once each path has
    # been created again (or refused as in use).
    assert_declarable_or_in_use(paths, acked)
    leftovers = [p.name for p in directory.iterdir() if p.name.startswith(".")]
    assert leftovers == [], f"seed {seed}: temporaries left: {leftovers}"
    elapsed = time.monotonic() - started
    print(  # noqa: T201 - the measurement, shown with pytest -s
        f"seed {seed}: {KILLS} kills in {elapsed:.1f}s over {len(paths)} journals; killed in "
        f"{killed_in}; journals after each kill {states}; "
        f"{sum(len(a) for a in acked.values())} acknowledged events, all present"
    )
    assert elapsed < SECONDS
