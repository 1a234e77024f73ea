"""Concurrent gathering: six sources with injected latencies, against the slowest alone.

Six deploy, infrastructure and dependency sources each sleep for a fixed
latency (50, 100, 150, 200, 250 and 400 ms: an I/O wait, as an HTTP call or a
``git log`` is) and answer a few changes. Timed in the same run, in
interleaved rounds, median of the rounds:

- ``gather_changes`` through the protocol with all six (it fsyncs its journal
  event and the gap findings, like any step);
- the slowest source called alone, directly: the floor a concurrent
  gathering cannot beat;
- the six sources called one after another, directly: what a sequential
  gathering costs at least (the sum of the latencies).

**Goal: the protocol's gathering at most 1.3x the slowest source.** A second
table runs the same six plus a seventh source that hangs, with a 0.5 s
per-source timeout: the gathering should end at the timeout, with the hung
source recorded as a gap.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pendulum
from _common import Result, markdown_table, ratio_text, seconds_text, verdict

from incidentkit import Change, ChangeKind, Detection, Figure, Incident, ManualClock, Severity

GOAL = 1.3
LATENCIES = (0.05, 0.10, 0.15, 0.20, 0.25, 0.40)
HANG_TIMEOUT = 0.5
T0 = pendulum.datetime(2026, 11, 20, 14, 0, tz="UTC")


class _Sleeper:
    """A deploy, change and dependency source at once that sleeps, then answers."""

    def __init__(self, name: str, latency: float, kind: ChangeKind) -> None:
        self._name = name
        self.latency = latency
        self._changes = [
            Change(
                f"{name}-{i}",
                kind,
                "checkout" if kind is not ChangeKind.DEPENDENCY else "psp",
                T0.subtract(minutes=10 * (i + 1)),
                T0.subtract(minutes=10 * (i + 1) - 3),
                summary=f"change {i} of {name}",
            )
            for i in range(3)
        ]

    @property
    def name(self) -> str:
        return self._name

    def _answer(self) -> list[Change]:
        time.sleep(self.latency)
        return list(self._changes)

    def deploys(
        self,
        start: pendulum.DateTime,  # noqa: ARG002 - the protocol's signature
        end: pendulum.DateTime,  # noqa: ARG002
        *,
        services: Sequence[str] | None = None,  # noqa: ARG002
    ) -> list[Change]:
        return self._answer()

    def changes(
        self,
        start: pendulum.DateTime,  # noqa: ARG002
        end: pendulum.DateTime,  # noqa: ARG002
        *,
        services: Sequence[str] | None = None,  # noqa: ARG002
    ) -> list[Change]:
        return self._answer()

    def incidents(
        self,
        start: pendulum.DateTime,  # noqa: ARG002
        end: pendulum.DateTime,  # noqa: ARG002
    ) -> list[Change]:
        return self._answer()


class _Hung(_Sleeper):
    """A source that does not answer until released."""

    def __init__(self, release: threading.Event) -> None:
        super().__init__("hung", 0.0, ChangeKind.DEPLOY)
        self._release = release

    def _answer(self) -> list[Change]:
        self._release.wait(60)
        return []


def _sources() -> tuple[list[_Sleeper], list[_Sleeper], list[_Sleeper]]:
    kinds = (
        ChangeKind.DEPLOY,
        ChangeKind.DEPLOY,
        ChangeKind.INFRASTRUCTURE,
        ChangeKind.INFRASTRUCTURE,
        ChangeKind.DEPENDENCY,
        ChangeKind.DEPENDENCY,
    )
    pairs = enumerate(zip(LATENCIES, kinds, strict=True))
    made = [_Sleeper(f"s{i}", latency, kind) for i, (latency, kind) in pairs]
    return made[0:2], made[2:4], made[4:6]


def _assessed(directory: Path, n: int) -> tuple[Incident, object]:
    clock = ManualClock(T0.add(minutes=5))
    declared = Incident.declare(
        title="checkout 5xx",
        services="checkout",
        actor="bench",
        detection=Detection.ALERT,
        journal=directory / f"gather-{n}.jsonl",
        detected_at=T0.add(minutes=2),
        clock=clock,
    )
    return declared, declared.assess_impact(
        actor="bench",
        severity=Severity.SEV2,
        ongoing=True,
        symptom_start=T0,
        stated=[Figure("error ratio", 0.2, "ratio")],
    )


def _timed(call: Callable[[], object]) -> float:
    began = time.perf_counter()
    call()
    return time.perf_counter() - began


def run(*, quick: bool = False) -> Result:
    """Time the three ways of asking six sources, interleaved, and the hung-source case."""
    rounds = 3 if quick else 9
    deploys, infrastructure, dependencies = _sources()
    everyone = [*deploys, *infrastructure, *dependencies]
    slowest = max(everyone, key=lambda s: s.latency)
    window = (T0.subtract(hours=6), T0.add(minutes=5))
    protocol: list[float] = []
    alone: list[float] = []
    sequential: list[float] = []
    hung_times: list[float] = []
    hung_gap_recorded = True
    with tempfile.TemporaryDirectory(prefix="incidentkit-bench-gather-") as tmp:
        directory = Path(tmp)
        for n in range(rounds):
            _declared, assessed = _assessed(directory, n)
            protocol.append(
                _timed(
                    lambda a=assessed: a.gather_changes(  # type: ignore[attr-defined]
                        actor="bench",
                        deploys=deploys,
                        infrastructure=infrastructure,
                        dependencies=dependencies,
                    )
                )
            )
            alone.append(_timed(lambda: slowest.deploys(*window)))
            sequential.append(_timed(lambda: [s.deploys(*window) for s in everyone]))
            release = threading.Event()
            _declared, assessed = _assessed(directory, rounds + n)
            try:
                hung_times.append(
                    _timed(
                        lambda a=assessed, r=release: a.gather_changes(  # type: ignore[attr-defined]
                            actor="bench",
                            deploys=[*deploys, _Hung(r)],
                            infrastructure=infrastructure,
                            dependencies=dependencies,
                            timeout=HANG_TIMEOUT,
                        )
                    )
                )
            finally:
                release.set()
            gaps = [f for f in assessed.findings if "did not answer" in f.detail]
            hung_gap_recorded = hung_gap_recorded and len(gaps) == 1
    p, a, s, h = (statistics.median(x) for x in (protocol, alone, sequential, hung_times))
    ratio = p / a
    sentence, missed = verdict("gathering from six sources through the protocol", ratio, GOAL)
    rows = [
        ["`gather_changes`, six sources, concurrent", seconds_text(p), ratio_text(ratio)],
        ["the slowest source alone (the floor, baseline)", seconds_text(a), "1.00x"],
        ["the six sources one after another", seconds_text(s), ratio_text(s / a)],
    ]
    hung_rows = [
        [
            f"`gather_changes`, six sources + one hung, timeout {HANG_TIMEOUT:g} s",
            seconds_text(h),
            ratio_text(h / HANG_TIMEOUT),
            "yes" if hung_gap_recorded else "**no**",
        ]
    ]
    verdicts = [sentence]
    missed_list = [missed] if missed else []
    if not hung_gap_recorded:
        text = "**Goal missed**: the hung source was not recorded as exactly one gap finding."
        verdicts.append(text)
        missed_list.append(text)
    return Result(
        name="gather",
        title="Concurrent gathering (six sources with injected latencies)",
        setup=[
            "latencies "
            + ", ".join(f"{x * 1000:g} ms" for x in LATENCIES)
            + " (a `time.sleep`, an I/O wait); three changes per source",
            (
                f"{rounds} interleaved rounds, median; each protocol round on a fresh "
                "incident whose journal is fsynced, in a temporary directory"
            ),
        ],
        headers=["What", "Median", "Ratio to the slowest source"],
        rows=rows,
        verdicts=verdicts,
        missed=missed_list,
        sections=[
            (
                "With a hung source",
                markdown_table(
                    ["What", "Median", "Ratio to the timeout", "Recorded as a gap"], hung_rows
                ),
            )
        ],
        data={"protocol": protocol, "alone": alone, "sequential": sequential, "hung": hung_times},
    )
