"""Resume and verify 100,000 events, in fresh processes, against reading and hashing floors.

The journal is built once, through the real write path: the incident is declared, its
impact assessed from a metric source (so the journal holds a measured series) and the
changes gathered from two in-memory sources, all through the protocol; then the rest of
the events are appended with ``Journal.append``, their bodies made by
``unstructure_event`` from event objects: mostly notes, some findings, and every tenth
event a ``changes_gathered`` with three changes from two sources. Every append is
fsynced (the journal has no way to skip that, and this machine does it fast enough).

Then each reader runs in fresh interpreters (``_fresh.interleaved``: a new process per
run, the cases' order rotating from round to round), the way an ops script resumes an
incident, and again warm in the same process:

- ``Incident.resume(path)``: verify, parse every body, rebuild every event and replay it
  through the protocol's rules;
- ``Incident.resume(path, checkpoint=True)``: the same from a checkpoint saved 1,000
  events before the end: the chain verified, only the tail folded;
- ``Journal.open(path)``: verify the chain (the bodies are parsed when read);
- ``verify_journal(path)``: verify the chain and parse every body (the audit);
- the baseline for resume: ``[json.loads(line) for line in f]`` over the same file;
- the floor for verification: read the file and ``hashlib.sha256`` each line.

Every reader keeps what it read (as a script holds its phase), so the peak resident set
size is that of a process holding the result. The cProfile breakdown of one resume is
added when a goal is missed, or with ``--profile``.
"""

from __future__ import annotations

import cProfile
import gc
import pstats
import time
import warnings
from typing import TYPE_CHECKING, Any

import pendulum
from _common import Result, journal_dir, median, ratio_text, seconds_text, verdict
from _fresh import Run, best, best_warm, interleaved, megabytes

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
    from collections.abc import Iterator, Sequence
    from pathlib import Path

EVENTS = 100_000
QUICK_EVENTS = 10_000
RUNS = 5  # fresh processes per reader
QUICK_RUNS = 3
WARM = 3  # warm repetitions in each of those processes
QUICK_WARM = 2
RESUME_GOAL = 2.0  # Incident.resume, against the json.loads baseline
CHECKPOINT_GOAL = 1.2  # Incident.resume(checkpoint=True), against the same baseline
TAIL = 1_000  # events after the checkpoint
QUICK_TAIL = 100
MEMORY_GOAL = 3.0  # Incident.resume's peak RSS, against the file's size
VERIFY_GOAL = 3.0  # Journal.open and verify_journal, against the read+sha256 floor
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


def build_journal(path: Path, events: int, *, checkpoint_tail: int | None = None) -> float:
    """Write a journal of ``events`` events at ``path``; return the seconds it took.

    With ``checkpoint_tail``, a checkpoint is saved (``save_checkpoint()`` on the
    incident resumed) when that many events are still to come: the tail a resume
    with the checkpoint folds.
    """
    began = time.perf_counter()
    pool = _changes()
    clock = _opening(path, pool)
    journal = Journal.open(path)
    append = journal.append
    saved_at = None if checkpoint_tail is None else events - checkpoint_tail
    bulk = _bulk_events(events - len(journal), clock.now().add(seconds=1), pool)
    for event in bulk:
        if len(journal) == saved_at:
            Incident.resume(path).save_checkpoint()
        append(unstructure_event(event))
    return time.perf_counter() - began


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
        f"One `Incident.resume` under cProfile, in the benchmark's own process (warm: the "
        f"converter built, the imports done), took {total:.2f} s of profiled time "
        "(profiling slows Python code down, so compare shares, not seconds).\n\n"
        "Top functions by self time:\n\n" + "\n".join(rows) + "\n\n"
        "Self time grouped by module (builtins by name):\n\n" + "\n".join(group_rows) + "\n"
    )
    top = [(_origin(f, fn), ln, fn, e[2] / total) for (f, ln, fn), e in by_self[:PROFILE_ROWS]]
    return body, {"profiled_seconds": total, "top_self": top, "by_module": grouped}


# -- the readers, each as a fresh process runs it ------------------------------

_KEEP = "global kept\nkept.append({read})"

_CASES: dict[str, tuple[str, str, str]] = {
    # name: (label, setup, the read; ``PATH`` is the journal)
    "resume": (
        "`Incident.resume(path)`",
        "from incidentkit import Incident",
        "Incident.resume(PATH)",
    ),
    "checkpoint": (
        "`Incident.resume(path, checkpoint=True)` (chain verified, tail folded)",
        "from incidentkit import Incident",
        "Incident.resume(PATH, checkpoint=True)",
    ),
    "open": (
        "`Journal.open(path)` (chain verified, bodies parsed when read)",
        "from incidentkit import Journal",
        "Journal.open(PATH)",
    ),
    "verify": (
        "`verify_journal(path)` (chain verified, every body parsed)",
        "from incidentkit import verify_journal",
        "verify_journal(PATH)",
    ),
    "json": (
        "baseline: `[json.loads(line) for line in f]`",
        "import json",
        "[json.loads(line) for line in open(PATH, encoding='utf-8')]",
    ),
    "sha": (
        "floor: read + `sha256(line).hexdigest()` per line",
        "import hashlib",
        "[hashlib.sha256(line).hexdigest() for line in open(PATH, 'rb')]",
    ),
}
_BASE = {
    "resume": "json",
    "checkpoint": "json",
    "open": "sha",
    "verify": "sha",
    "json": "json",
    "sha": "sha",
}


def _fresh_cases(path: Path) -> dict[str, tuple[str, str]]:
    """Return each reader as ``(setup, timed)`` for ``_fresh``; the timed part keeps its result."""
    return {
        name: (f"{setup}\nPATH = {str(path)!r}\nkept = []", _KEEP.format(read=read))
        for name, (_label, setup, read) in _CASES.items()
    }


def _median_fresh(runs: Sequence[Run]) -> float:
    return median([r.seconds for r in runs])


def _median_warm(runs: Sequence[Run]) -> float:
    times = [w for r in runs for w in r.warm]
    return median(times) if times else float("nan")


def _mid(values: Sequence[int]) -> int:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def _goal_verdicts(
    ratios: dict[str, dict[str, float]], memory: float
) -> tuple[list[str], list[str], dict[str, bool]]:
    """Judge each goal on the best and on the median fresh run; return sentences, misses, met."""
    sentences: list[str] = []
    missed: list[str] = []
    met: dict[str, bool] = {}
    goals = (
        ("resume", "`Incident.resume` (fresh process) against `json.loads`", RESUME_GOAL),
        (
            "checkpoint",
            "`Incident.resume(checkpoint=True)` (fresh process) against `json.loads`",
            CHECKPOINT_GOAL,
        ),
        ("open", "`Journal.open` (fresh process) against read + sha256", VERIFY_GOAL),
        ("verify", "`verify_journal` (fresh process) against read + sha256", VERIFY_GOAL),
    )
    for name, what, goal in goals:
        ok = True
        for which in ("best", "median"):
            sentence, miss = verdict(f"{what}, {which} run", ratios[which][name], goal)
            sentences.append(sentence)
            if miss:
                missed.append(miss)
                ok = False
        met[name] = ok
    what = "`Incident.resume`'s peak RSS (median of the fresh runs)"
    if memory <= MEMORY_GOAL:
        sentences.append(
            f"**Goal met**: {what} is {ratio_text(memory)} the file's size "
            f"(goal: at most {MEMORY_GOAL:g}x)."
        )
    else:
        miss = (
            f"**Goal missed**: {what} is {ratio_text(memory)} the file's size, over the goal "
            f"of {MEMORY_GOAL:g}x by {memory / MEMORY_GOAL - 1:.0%}."
        )
        sentences.append(miss)
        missed.append(miss)
    met["memory"] = memory <= MEMORY_GOAL
    return sentences, missed, met


def run(*, quick: bool = False, profile: bool = False) -> Result:
    """Build the journal, time the readers in fresh processes and warm, profile on a miss."""
    events = QUICK_EVENTS if quick else EVENTS
    runs = QUICK_RUNS if quick else RUNS
    warm = QUICK_WARM if quick else WARM
    with journal_dir() as (directory, where):
        path = directory / "incident.jsonl"
        tail = QUICK_TAIL if quick else TAIL
        build_seconds = build_journal(path, events, checkpoint_tail=tail)
        size = path.stat().st_size
        phase = Incident.resume(path)  # a check that the journal is what we think
        if len(phase.events) != events:
            msg = f"the journal holds {len(phase.events)} events, not {events}"
            raise RuntimeError(msg)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the checkpoint must be used, not fallen back from
            fast = Incident.resume(path, checkpoint=True)
        if type(fast) is not type(phase) or fast.events != phase.events:
            msg = "the resume with the checkpoint is not the full resume's phase"
            raise RuntimeError(msg)
        del phase, fast
        measured = interleaved(_fresh_cases(path), runs=runs, warm=warm)
        fresh = {name: best(r) for name, r in measured.items()}
        fresh_median = {name: _median_fresh(r) for name, r in measured.items()}
        warm_best = {name: best_warm(r) for name, r in measured.items()}
        peak = {name: _mid([r.peak_rss for r in rs]) for name, rs in measured.items()}
        added = {name: _mid([r.added_rss for r in rs]) for name, rs in measured.items()}
        ratios = {
            "best": {n: fresh[n] / fresh[_BASE[n]] for n in fresh},
            "median": {n: fresh_median[n] / fresh_median[_BASE[n]] for n in fresh},
            "warm": {n: warm_best[n] / warm_best[_BASE[n]] for n in fresh},
        }
        memory = peak["resume"] / size
        sentences, missed, met = _goal_verdicts(ratios, memory)
        profile_text, profile_data = ("", {})
        if missed or profile:
            profile_text, profile_data = profile_resume(path)
    lifetime = any(r.peak_is_lifetime for rs in measured.values() for r in rs)
    goal_of = {
        "resume": f"≤ {RESUME_GOAL:g}x; peak RSS ≤ {MEMORY_GOAL:g}x the file",
        "checkpoint": f"≤ {CHECKPOINT_GOAL:g}x",
        "open": f"≤ {VERIFY_GOAL:g}x",
        "verify": f"≤ {VERIFY_GOAL:g}x",
        "json": "baseline",
        "sha": "floor",
    }

    def met_text(name: str) -> str:
        if name == "resume":
            return "yes" if met["resume"] and met["memory"] else "**no**"
        if name in met:
            return "yes" if met[name] else "**no**"
        return "n/a"

    rows = [
        [
            _CASES[name][0],
            seconds_text(fresh[name]),
            seconds_text(fresh_median[name]),
            ratio_text(ratios["best"][name]) + " / " + ratio_text(ratios["median"][name]),
            seconds_text(warm_best[name]),
            ratio_text(ratios["warm"][name]),
            megabytes(peak[name]),
            f"{peak[name] / size:.2f}x",
            megabytes(added[name]),
            goal_of[name],
            met_text(name),
        ]
        for name in ("resume", "checkpoint", "json", "open", "verify", "sha")
    ]
    result = Result(
        name="resume",
        title=f"2. Resume and verify {events:,} events",
        setup=[
            (
                f"Journal of {events:,} events, {megabytes(size)} ({size:,} bytes): declared, "
                "impact assessed from a metric source (73 samples) and changes gathered through "
                "the protocol, then 70% notes, 20% findings and 10% `changes_gathered` (three "
                "changes from two sources) appended with `Journal.append`."
            ),
            (
                f"Building it (every append fsynced) took {build_seconds:.1f} s; not part of the "
                f"figures. A checkpoint was saved beside it {tail:,} events before the end "
                "(`save_checkpoint()` on the incident resumed then): the tail that "
                "`Incident.resume(path, checkpoint=True)` folds after verifying the whole chain."
            ),
            f"Journal in {where}.",
            (
                f"Fresh: {runs} new interpreters per reader (`bench/_fresh.py`), interleaved, "
                "the order rotating; the imports are done untimed, then one read is timed. "
                "Best and median of those runs. Each reader's ratio is against its own "
                "reference: resume against the `json.loads` baseline, `Journal.open` and "
                "`verify_journal` against the read + sha256 floor."
            ),
            (
                f"Warm: in each of those processes, {warm} more reads after the fresh one, "
                "`gc.collect()` before each; best of all of them. Every read keeps its result "
                "(as a script holds its phase), so the warm ones run with the earlier results "
                "still on the heap."
            ),
            (
                "Peak RSS: the whole process's peak resident set size during the fresh read "
                "(`VmHWM`, reset just before it), median of the runs; *added* is that peak "
                "minus the resident set just before the read (the interpreter and imports "
                "excluded). The memory goal is judged on the whole peak."
                + (" The reset was not available: these are lifetime peaks." if lifetime else "")
            ),
            "The cyclic garbage collector is on in every process, as in a user's.",
        ],
        headers=[
            "Reader",
            "Fresh best",
            "Fresh median",
            "Ratio (best / median)",
            "Warm best",
            "Warm ratio",
            "Peak RSS",
            "Peak / file",
            "Added RSS",
            "Goal",
            "Met",
        ],
        rows=rows,
        verdicts=sentences,
        missed=missed,
        data={
            "events": events,
            "bytes": size,
            "fresh": {n: [r.seconds for r in rs] for n, rs in measured.items()},
            "warm": {n: [w for r in rs for w in r.warm] for n, rs in measured.items()},
            "peak_rss": peak,
            "added_rss": added,
            "ratios": ratios,
        },
    )
    if profile_text:
        heading = "Profile of `Incident.resume`" + (" (a goal missed)" if missed else "")
        result.sections.append((heading, profile_text))
        result.data["profile"] = profile_data
    return result
