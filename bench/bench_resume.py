"""Resume 100,000 events: ``Incident.resume`` against a bare ``json.loads`` of every line.

The journal is built once, through the real write path: the incident is declared, its
impact assessed from a metric source (so the journal holds a measured series) and the
changes gathered from two in-memory sources, all through the protocol; then the rest of
the events are appended with ``Journal.append``, their bodies made by
``unstructure_event`` from event objects: mostly notes, some findings, and every tenth
event a ``changes_gathered`` with three changes from two sources. Every append is
fsynced (the journal has no way to skip that, and this machine does it fast enough).

Then, in one process, interleaved with the order rotating, best of N:

- the baseline: ``[json.loads(line) for line in f]`` over the same file;
- ``Journal.open(path)``: read, check the hash chain, parse the bodies (no events);
- ``Incident.resume(path)``: all of that, plus rebuilding every event and replaying it
  through the protocol's rules.
"""

from __future__ import annotations

import cProfile
import gc
import json
import pstats
import time
from typing import TYPE_CHECKING, Any

import pendulum
from _common import Result, journal_dir, median, ratio_text, seconds_text, verdict

from incidentkit import (
    Actor,
    Change,
    ChangeKind,
    ChecklistItem,
    Detection,
    Finding,
    FindingKind,
    Incident,
    Journal,
    ManualClock,
    Measure,
    Metric,
    Role,
    Severity,
)
from incidentkit._events import (
    ChangesGathered,
    Event,
    FindingRecorded,
    NoteAdded,
    SourceOutcome,
    unstructure_event,
)
from incidentkit.memory import InMemoryChangeSource, InMemoryDeploySource, InMemoryMetricSource

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

EVENTS = 100_000
QUICK_EVENTS = 10_000
REPEATS = 7
QUICK_REPEATS = 5
GOAL = 3.0
PROFILE_ROWS = 15

_T0 = pendulum.datetime(2026, 3, 14, 9, 0, tz="UTC")
_SYMPTOM_START = _T0.add(minutes=-12)
_ERRORS = 'sum(rate(http_requests_total{service="checkout",code=~"5.."}[5m]))'
_ACTORS = (
    Actor("Dana", Role.INCIDENT_COMMANDER),
    Actor("Sam", Role.OPERATIONS),
    Actor("Lee", Role.SCRIBE),
    Actor("Kim", Role.SUBJECT_MATTER_EXPERT),
)


def _changes() -> list[Change]:
    """Return a pool of realistic changes around the symptom start."""
    pool: list[Change] = []
    kinds = (ChangeKind.DEPLOY, ChangeKind.CONFIG, ChangeKind.FEATURE_FLAG)
    for i in range(24):
        started = _SYMPTOM_START.add(minutes=5 * i - 100)
        kind = kinds[i % 3]
        pool.append(
            Change(
                f"{kind.value}-{4800 + i}",
                kind,
                ("checkout", "payments-api", "cart")[i % 3],
                started,
                started.add(minutes=4),
                summary=f"{kind.value} {4800 + i}: bump pricing client, retry budget {i}",
                environment="production",
                version=f"v2.{i}.0",
                previous_version=f"v2.{i - 1}.0",
                author=("ana", "bo", "chen")[i % 3],
                link=f"https://git.example.com/shop/pull/{9100 + i}",
                attributes={"schema_migration": "true"} if i % 7 == 0 else {},
            )
        )
    for i in range(6):
        started = _SYMPTOM_START.add(minutes=20 * i - 110)
        pool.append(
            Change(
                f"infra-{i}",
                ChangeKind.INFRASTRUCTURE,
                "k8s-prod-eu",
                started,
                started.add(minutes=15),
                summary=f"node pool rotation step {i}",
                environment="eu-west-1",
            )
        )
    return pool


def _opening(path: Path, pool: list[Change]) -> ManualClock:
    """Declare, assess (measured) and gather once through the protocol; return the clock."""
    clock = ManualClock(_T0)
    samples = [
        (_SYMPTOM_START.add(minutes=m), 0.002 if m < 0 else 0.17 + (m % 5) / 100)
        for m in range(-60, 13)
    ]
    metrics = InMemoryMetricSource({_ERRORS: samples}, name="prometheus", units={_ERRORS: "ratio"})
    deploys = [c for c in pool if c.kind is not ChangeKind.INFRASTRUCTURE]
    declared = Incident.declare(
        title="Checkout returns 5xx",
        services=["checkout"],
        actor=_ACTORS[0],
        detection=Detection.ALERT,
        detected_at=_SYMPTOM_START.add(minutes=3),
        journal=path,
        clock=clock,
    )
    clock.advance(minutes=1)
    assessed = declared.assess_impact(
        actor=_ACTORS[0],
        severity=Severity.SEV1,
        ongoing=True,
        symptom_start=_SYMPTOM_START,
        regions=["eu-west-1"],
        measures=[Measure("error_ratio", Metric(metrics, _ERRORS, unit="ratio"))],
        summary="one checkout in six fails",
    )
    clock.advance(minutes=1)
    assessed.gather_changes(
        actor=_ACTORS[1],
        deploys=[InMemoryDeploySource(deploys, name="argo")],
        infrastructure=[
            InMemoryChangeSource(
                [c for c in pool if c.kind is ChangeKind.INFRASTRUCTURE], name="terraform"
            )
        ],
    )
    return clock


def _bulk_events(count: int, start: pendulum.DateTime, pool: list[Change]) -> Iterator[Event]:
    """Yield ``count`` events: 70% notes, 20% findings, 10% gatherings of three changes."""
    deploys = [c for c in pool if c.kind is not ChangeKind.INFRASTRUCTURE]
    infra = [c for c in pool if c.kind is ChangeKind.INFRASTRUCTURE]
    for i in range(count):
        at = start.add(seconds=i)
        actor = _ACTORS[i % len(_ACTORS)]
        slot = i % 10
        if slot == 9:
            found = (deploys[i % len(deploys)], deploys[(i + 5) % len(deploys)], infra[i % 6])
            yield ChangesGathered(
                at,
                actor,
                _SYMPTOM_START.add(hours=-6),
                at,
                found,
                (
                    SourceOutcome("argo", ChecklistItem.DEPLOYS, ok=True, changes=2),
                    SourceOutcome("terraform", ChecklistItem.INFRASTRUCTURE, ok=True, changes=1),
                ),
            )
        elif slot in {3, 7}:
            yield FindingRecorded(
                at,
                actor,
                Finding(
                    FindingKind.OBSERVATION,
                    f"retry storm from cart against payments-api ({i})",
                    "client retries triple the load during the error spike; no jitter",
                ),
            )
        else:
            yield NoteAdded(
                at, actor, f"error ratio {(i % 200) / 1000:.3f} on pod checkout-{i % 40} (obs {i})"
            )


def build_journal(path: Path, events: int) -> float:
    """Write a journal of ``events`` events at ``path``; return the seconds it took."""
    began = time.perf_counter()
    pool = _changes()
    clock = _opening(path, pool)
    journal = Journal.open(path)
    append = journal.append
    for event in _bulk_events(events - len(journal), clock.now().add(seconds=1), pool):
        append(unstructure_event(event))
    return time.perf_counter() - began


def _json_lines(path: Path) -> object:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _timed(call: Callable[[], object]) -> float:
    gc.collect()
    began = time.perf_counter()
    result = call()
    elapsed = time.perf_counter() - began
    del result
    return elapsed


def _origin(filename: str, function: str) -> str:
    """Name what a profiled function belongs to: a module of ours, a library, a builtin."""
    if filename == "~":
        return f"builtin `{function}`"
    if filename.startswith("<"):
        return filename.strip("<>").split(" ")[0] + " generated code"
    for package in ("incidentkit", "cattrs", "pendulum", "attr", "json", "hashlib"):
        marker = f"/{package}/"
        if marker in filename:
            tail = filename.rsplit(marker, 1)[1].removesuffix(".py").replace("/", ".")
            return f"{package}.{tail}".removesuffix(".__init__")
    return filename.rsplit("/", 1)[-1].removesuffix(".py")


def profile_resume(path: Path) -> tuple[str, dict[str, Any]]:
    """Profile one ``Incident.resume``; return a Markdown breakdown and the raw figures."""
    profiler = cProfile.Profile()
    gc.collect()
    profiler.enable()
    Incident.resume(path)
    profiler.disable()
    stats = pstats.Stats(profiler)
    table: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
    table = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in table.values())
    by_self = sorted(table.items(), key=lambda item: item[1][2], reverse=True)
    rows = ["| Function | Calls | Self time | Self % | Cumulative |", "|---|---|---|---|---|"]
    for (filename, line, function), (_cc, calls, self_time, cumulative, _) in by_self[
        :PROFILE_ROWS
    ]:
        origin = _origin(filename, function)
        where = origin if filename == "~" else f"{origin}:{line} `{function}`"
        rows.append(
            f"| {where} | {calls:,} | {self_time:.3f} s | {self_time / total:.1%} | "
            f"{cumulative:.3f} s |"
        )
    groups: dict[str, float] = {}
    for (filename, _line, function), entry in table.items():
        key = _origin(filename, function)
        if not key.startswith("builtin"):
            key = key.split(".")[0] if "." in key and not key.startswith("incidentkit") else key
        groups[key] = groups.get(key, 0.0) + entry[2]
    grouped = sorted(groups.items(), key=lambda item: item[1], reverse=True)[:10]
    group_rows = ["| Where (self time summed) | Self time | Share |", "|---|---|---|"]
    group_rows.extend(f"| {name} | {secs:.3f} s | {secs / total:.1%} |" for name, secs in grouped)
    body = (
        f"One `Incident.resume` under cProfile took {total:.2f} s of profiled time "
        "(profiling slows Python code down, so compare shares, not seconds).\n\n"
        "Top functions by self time:\n\n" + "\n".join(rows) + "\n\n"
        "Self time grouped by module (builtins by name):\n\n" + "\n".join(group_rows) + "\n"
    )
    top = [(_origin(f, fn), ln, fn, e[2] / total) for (f, ln, fn), e in by_self[:PROFILE_ROWS]]
    return body, {"profiled_seconds": total, "top_self": top, "by_module": grouped}


def run(*, quick: bool = False, profile: bool = False) -> Result:
    """Build the journal, time the three readers, profile resume if over the goal."""
    events = QUICK_EVENTS if quick else EVENTS
    repeats = QUICK_REPEATS if quick else REPEATS
    with journal_dir() as (directory, where):
        path = directory / "incident.jsonl"
        build_seconds = build_journal(path, events)
        size = path.stat().st_size
        readers: dict[str, Callable[[], object]] = {
            "baseline": lambda: _json_lines(path),
            "open": lambda: Journal.open(path),
            "resume": lambda: Incident.resume(path),
        }
        phase = Incident.resume(path)  # also the untimed warm-up of every cache
        if len(phase.events) != events:
            msg = f"the journal holds {len(phase.events)} events, not {events}"
            raise RuntimeError(msg)
        for call in readers.values():
            _timed(call)
        times: dict[str, list[float]] = {name: [] for name in readers}
        names = list(readers)
        for index in range(repeats):
            shift = index % len(names)
            for name in names[shift:] + names[:shift]:
                times[name].append(_timed(readers[name]))
        best = {name: min(values) for name, values in times.items()}
        ratio = {name: best[name] / best["baseline"] for name in best}
        missed_goal = ratio["resume"] > GOAL
        profile_text, profile_data = ("", {})
        if missed_goal or profile:
            profile_text, profile_data = profile_resume(path)
    labels = {
        "resume": "`Incident.resume(path)`",
        "open": "`Journal.open(path)` (chain verified, no events built)",
        "baseline": "baseline: `[json.loads(line) for line in f]`",
    }
    goals = {"resume": f"at most {GOAL:g}x", "open": "none set", "baseline": "n/a"}
    sentence, missed = verdict("`Incident.resume`", ratio["resume"], GOAL)
    met = {"resume": "yes" if not missed else "**no**", "open": "n/a", "baseline": "n/a"}
    rows = [
        [
            labels[name],
            seconds_text(best[name]),
            seconds_text(median(times[name])),
            seconds_text(best["baseline"]),
            ratio_text(ratio[name]),
            goals[name],
            met[name],
        ]
        for name in ("resume", "open", "baseline")
    ]
    result = Result(
        name="resume",
        title=f"2. Resume {events:,} events",
        setup=[
            (
                f"Journal of {events:,} events, {size / 1e6:.1f} MB: declared, impact assessed "
                "from a metric source (73 samples) and changes gathered through the protocol, then "
                "70% notes, 20% findings and 10% `changes_gathered` (three changes from two "
                "sources) appended with `Journal.append`."
            ),
            (
                f"Building it (every append fsynced) took {build_seconds:.1f} s; not part of the "
                "figures."
            ),
            f"Journal in {where}.",
            (
                f"Best of {repeats} interleaved runs per reader, the order rotating, one untimed "
                "warm-up each, `gc.collect()` before each timed run; the median is shown too."
            ),
            (
                "The cyclic garbage collector stays on, as in a user's process: its share "
                "grows with the heap, so the time per event of both readers grows with the "
                "journal's length (a `--quick` run's ratios are not the same as a full one's)."
            ),
            "Ratio: best time divided by the baseline's best time.",
        ],
        headers=["Reader", "Best", "Median", "Baseline best", "Ratio", "Goal", "Met"],
        rows=rows,
        verdicts=[sentence],
        missed=[missed] if missed else [],
        data={"events": events, "bytes": size, "times": times, "ratio": ratio},
    )
    if profile_text:
        heading = "Profile of `Incident.resume`" + (" (goal missed)" if missed_goal else "")
        result.sections.append((heading, profile_text))
        result.data["profile"] = profile_data
    return result
