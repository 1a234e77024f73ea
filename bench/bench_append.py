"""Append with fsync: events per second through incidentkit, against a bare durable JSONL writer.

Three writers append the same notes, each to its own file in one temporary directory:

- the protocol path, ``phase.note(text, actor=...)`` on a declared incident (the step's
  checks, the event, its serialisation, the journal append with its lock, hash chain,
  write and fsync, then the fold into the incident's state);
- ``Journal.append(body)`` with the bodies ``unstructure_event`` gives for those notes
  (the journal alone: lock, catch-up, hash chain, one write, fsync);
- the baseline, the floor any durable JSON Lines writer pays: ``json.dumps`` of the same
  body, one ``os.write`` of the line on an ``O_APPEND`` descriptor kept open, ``os.fsync``.

The N events are split into rounds; each round runs every writer for its share, in a
rotating order, so that a slow spell of the machine hits all three alike.
"""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, Any

import pendulum
from _common import Result, journal_dir, median, ratio_text, seconds_text, verdict

from incidentkit import Actor, Detection, Incident, Journal, Role, verify_journal
from incidentkit._events import NoteAdded, unstructure_event

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

N = 2_000
QUICK_N = 400
ROUNDS = 10
WARMUP = 20
GOAL = 1.3  # the protocol path, against the baseline (issue 12)

_ACTOR = Actor("Dana", Role.INCIDENT_COMMANDER)
_OBSERVATIONS = (
    "checkout 5xx ratio still at {v:.1%} on the canary pool",
    "p99 latency of payments-api is {v:.0f} ms, up from 180 ms before the deploy",
    "queue depth on order-events is {v:.0f}, consumers are keeping up",
    "customer support reports {v:.0f} new tickets mentioning failed payments",
    "database CPU at {v:.0f}%, connection pool not saturated",
)


def _texts(count: int) -> list[str]:
    """Return ``count`` realistic note texts (about 60-90 characters each)."""
    return [
        _OBSERVATIONS[i % len(_OBSERVATIONS)].format(v=(i % 97) / 97 * 400) + f" (check #{i})"
        for i in range(count)
    ]


def _writers(
    directory: Path, texts: list[str]
) -> tuple[dict[str, Callable[[int, int], None]], Callable[[], None]]:
    """Set up the three writers; return them (each appends ``texts[start:stop]``) and a closer."""
    declared = Incident.declare(
        title="Checkout returns 5xx",
        services=["checkout", "payments-api"],
        actor=_ACTOR,
        detection=Detection.ALERT,
        journal=directory / "protocol.jsonl",
    )
    journal = Journal.create(directory / "journal.jsonl")
    now = pendulum.now("UTC")
    bodies: list[dict[str, Any]] = [
        unstructure_event(NoteAdded(now, _ACTOR, text)) for text in texts
    ]
    fd = os.open(
        directory / "baseline.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o666
    )

    def protocol(start: int, stop: int) -> None:
        note = declared.note
        for text in texts[start:stop]:
            note(text, actor=_ACTOR)

    def raw_journal(start: int, stop: int) -> None:
        append = journal.append
        for body in bodies[start:stop]:
            append(body)

    def baseline(start: int, stop: int) -> None:
        dumps, write, fsync = json.dumps, os.write, os.fsync
        for body in bodies[start:stop]:
            write(fd, (dumps(body) + "\n").encode())
            fsync(fd)

    writers = {"protocol": protocol, "journal": raw_journal, "baseline": baseline}
    return writers, lambda: os.close(fd)


def run(*, quick: bool = False) -> Result:
    """Measure the three writers; return the result."""
    n = QUICK_N if quick else N
    per_round = n // ROUNDS
    texts = _texts(WARMUP + n)
    rounds: dict[str, list[float]] = {"protocol": [], "journal": [], "baseline": []}
    with journal_dir() as (directory, where):
        writers, close = _writers(directory, texts)
        try:
            for write in writers.values():
                write(0, WARMUP)
            names = list(writers)
            for index in range(ROUNDS):
                start = WARMUP + index * per_round
                shift = index % len(names)
                for name in names[shift:] + names[:shift]:
                    began = time.perf_counter()
                    writers[name](start, start + per_round)
                    rounds[name].append(time.perf_counter() - began)
        finally:
            close()
        for name in ("protocol", "journal"):
            report = verify_journal(directory / f"{name}.jsonl")
            if not report.ok:  # a benchmark of a broken writer measures nothing
                msg = f"the {name} journal does not verify: {report}"
                raise RuntimeError(msg)
    count = per_round * ROUNDS
    totals = {name: sum(times) for name, times in rounds.items()}
    rate = {name: count / total for name, total in totals.items()}
    ratio = {name: totals[name] / totals["baseline"] for name in totals}
    # Each round's ratio to the baseline's same round, then their median: a spell of
    # slow fsyncs (other processes writing to the disk) moves it less than the totals.
    round_ratio = {
        name: median([t / b for t, b in zip(times, rounds["baseline"], strict=True)])
        for name, times in rounds.items()
    }
    sentence, total_missed = verdict(
        "`phase.note` (the protocol path, all rounds)", ratio["protocol"], GOAL
    )
    round_sentence, round_missed = verdict(
        "`phase.note` (the protocol path, median round)", round_ratio["protocol"], GOAL
    )
    missed = [m for m in (total_missed, round_missed) if m]
    labels = {
        "protocol": "`phase.note(text, actor=...)` (protocol path)",
        "journal": "`Journal.append(body)` (journal only)",
        "baseline": "baseline: `os.write(json.dumps(body))` + `os.fsync`, O_APPEND fd",
    }
    rows = [
        [
            labels[name],
            f"{rate[name]:,.0f}",
            seconds_text(totals[name] / count),
            f"{rate['baseline']:,.0f}",
            ratio_text(ratio[name]),
            ratio_text(round_ratio[name]),
            f"at most {GOAL:g}x" if name == "protocol" else "n/a",
            ("**no**" if missed else "yes") if name == "protocol" else "n/a",
        ]
        for name in ("protocol", "journal", "baseline")
    ]
    return Result(
        name="append",
        title="1. Append with fsync",
        setup=[
            (
                f"{count:,} notes per writer (after {WARMUP} untimed warm-up appends each), in "
                f"{ROUNDS} interleaved rounds of {per_round:,} with the writers' order rotating."
            ),
            f"Journals in {where}.",
            (
                "Ratio: time per event divided by the baseline's time per event over all "
                "rounds (higher is slower; the baseline's own row is 1.00x by definition); "
                "median round: the median over the rounds of each round's ratio to the "
                "baseline's same round."
            ),
            (
                f"Goal: the protocol path at most {GOAL:g}x the baseline, over all rounds and "
                "in the median round (met only if both are). The journal alone has none; it "
                "shows what of the protocol's cost is the journal's."
            ),
        ],
        headers=[
            "Writer",
            "Events/s",
            "Time per event",
            "Baseline events/s",
            "Ratio (time vs baseline)",
            "Ratio (median round)",
            "Goal",
            "Met",
        ],
        rows=rows,
        verdicts=[
            sentence,
            round_sentence,
            (
                f"The protocol path costs {ratio_text(ratio['protocol'] / ratio['journal'])} "
                "the raw `Journal.append` of the same bodies; the journal costs "
                f"{ratio_text(ratio['journal'])} the bare write + fsync."
            ),
        ],
        missed=missed,
        data={
            "events": count,
            "seconds": totals,
            "rounds": rounds,
            "events_per_second": rate,
            "ratio": ratio,
            "median_round_ratio": round_ratio,
        },
    )
