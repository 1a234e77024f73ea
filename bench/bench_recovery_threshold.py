"""Recovery on a threshold objective: a p99 gauge and a queue depth, judged by the threshold judge.

The corpus is ``threshold_corpus.py`` (two families, nine classes, seeded).
Each scenario is judged by ``check_recovery_threshold`` (the judge
``verify_recovery`` uses for a ``Threshold``) at 10, 15, 20 and 30 minutes
after the intervention, with the default ``RecoveryPolicy`` (a 10-minute hold)
and the scenario's traffic series. A true recovery is *recognised within N
minutes* when a check at or before N says recovered; a *false recovery* is a
check saying recovered in a class that had not recovered (``late relapse``:
only the checks after the relapse began). The ``traffic collapse`` class is
also judged without its traffic series, as a user without a traffic metric
would: not a goal (the judge cannot see what it is not given), a figure of
how often that blind spot says recovered.

Goals: 0 false recoveries; at least 97% of true recoveries recognised within 30
minutes. Every misjudged scenario is listed with the verdict's first reason.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from _common import Result
from threshold_corpus import (
    BASELINE_END,
    CHECKS,
    CLASSES,
    FAMILIES,
    FIX,
    RECOVERING,
    SEED,
    T0,
    Scenario,
    corpus,
)

from incidentkit import RecoveryOutcome, RecoveryVerdict
from incidentkit._recovery_threshold import check_recovery_threshold

PER_CLASS = 100
QUICK_PER_CLASS = 10
GOAL_RECOGNISED = 0.97


def judge(s: Scenario, minute: int, *, with_traffic: bool = True) -> RecoveryVerdict:
    """The threshold judge's verdict on ``s`` at ``minute`` after the intervention."""
    return check_recovery_threshold(
        s.gauge,
        s.traffic if with_traffic else None,
        above=s.above,
        baseline_start=T0,
        baseline_end=BASELINE_END,
        intervention_at=FIX,
        until=FIX.add(minutes=minute),
    )


@dataclass
class _Cell:
    scenarios: int = 0
    recognised: dict[int, int] = field(default_factory=lambda: dict.fromkeys(CHECKS, 0))
    judged: int = 0
    false: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


@dataclass
class _Tally:
    cells: dict[tuple[str, str], _Cell]
    misjudged: list[str]
    blind: dict[str, list[int]]
    judgements: int


def _first_reason(verdict: RecoveryVerdict) -> str:
    return verdict.reasons[0] if verdict.reasons else ""


def _tally(per_class: int) -> _Tally:
    cells = {(f, k): _Cell() for f in FAMILIES for k in CLASSES}
    misjudged: list[str] = []
    blind = {f: [0, 0] for f in FAMILIES}
    judgements = 0
    for s in corpus(per_class):
        cell = cells[s.family, s.kind]
        cell.scenarios += 1
        verdicts = {m: judge(s, m) for m in CHECKS}
        judgements += len(CHECKS)
        cell.outcomes.update(v.outcome.value for v in verdicts.values())
        if s.kind in RECOVERING:
            first = next(
                (m for m in CHECKS if verdicts[m].outcome is RecoveryOutcome.RECOVERED), None
            )
            for m in CHECKS:
                cell.recognised[m] += first is not None and first <= m
            if first is None:
                last = verdicts[CHECKS[-1]]
                misjudged.append(
                    f"`{s.label}` ({s.note}; threshold {s.above:.4g}, healthy {s.healthy:.4g}): "
                    f"not recognised by 30 min: {last.outcome.value}: {_first_reason(last)}"
                )
            continue
        for m in CHECKS:
            if not s.judged_at(m):
                continue
            cell.judged += 1
            if verdicts[m].outcome is RecoveryOutcome.RECOVERED:
                cell.false += 1
                misjudged.append(
                    f"`{s.label}` ({s.note}; threshold {s.above:.4g}, healthy {s.healthy:.4g}): "
                    f"recovered at {m} min: {_first_reason(verdicts[m])}"
                )
        if s.kind == "traffic collapse":
            blind[s.family][1] += len(CHECKS)
            blind[s.family][0] += sum(
                judge(s, m, with_traffic=False).outcome is RecoveryOutcome.RECOVERED for m in CHECKS
            )
            judgements += len(CHECKS)
    return _Tally(cells, misjudged, blind, judgements)


def _pct(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "n/a"


def run(*, quick: bool = False) -> Result:
    """Judge the corpus; report recognition, false recoveries and the misjudged scenarios."""
    per_class = QUICK_PER_CLASS if quick else PER_CLASS
    began = time.perf_counter()
    tally = _tally(per_class)
    seconds = time.perf_counter() - began
    rows: list[list[str]] = []
    missed: list[str] = []
    for family in FAMILIES:
        for kind in CLASSES:
            cell = tally.cells[family, kind]
            outcomes = ", ".join(f"{n} {o}" for o, n in sorted(cell.outcomes.items()))
            if kind in RECOVERING:
                rows.append(
                    [
                        family,
                        kind,
                        "true",
                        str(cell.scenarios),
                        _pct(cell.recognised[10], cell.scenarios),
                        _pct(cell.recognised[15], cell.scenarios),
                        _pct(cell.recognised[30], cell.scenarios),
                        "-",
                        outcomes,
                    ]
                )
            else:
                rows.append(
                    [
                        family,
                        kind,
                        "false",
                        str(cell.scenarios),
                        "-",
                        "-",
                        "-",
                        f"{cell.false} of {cell.judged}",
                        outcomes,
                    ]
                )
    false = sum(c.false for c in tally.cells.values())
    judged = sum(c.judged for c in tally.cells.values())
    verdicts: list[str] = []
    for family in FAMILIES:
        true_cells = [tally.cells[family, k] for k in RECOVERING]
        recognised = sum(c.recognised[30] for c in true_cells)
        total = sum(c.scenarios for c in true_cells)
        share = recognised / total
        verdicts.append(
            f"{family}: {recognised} of {total} true recoveries ({share:.1%}) recognised within "
            f"30 minutes (goal {GOAL_RECOGNISED:.0%})."
        )
        if share < GOAL_RECOGNISED:
            missed.append(
                f"Threshold recovery, {family}: {share:.1%} of true recoveries recognised within "
                f"30 minutes, under the {GOAL_RECOGNISED:.0%} goal."
            )
    verdicts.insert(
        0,
        f"False recoveries: {false} of {judged} judged checks (goal 0)."
        if false
        else f"No false recovery in {judged} judged checks (goal 0).",
    )
    if false:
        missed.append(f"Threshold recovery: {false} false recoveries (goal 0).")
    verdicts.append(
        "Traffic collapse judged without the traffic series (not a goal: the judge cannot see "
        "what it is not given, and its verdict says traffic was not checked): "
        + "; ".join(
            f"{family} said recovered at {n} of {of} checks"
            for family, (n, of) in tally.blind.items()
        )
        + "."
    )
    misjudged = (
        "\n".join(f"- {line}" for line in tally.misjudged)
        if tally.misjudged
        else "None: every true recovery was recognised within 30 minutes, and no check said "
        "recovered where the gauge had not recovered."
    )
    return Result(
        name="recovery-threshold",
        title="Recovery on a threshold objective (a p99 gauge, a queue depth)",
        setup=[
            (
                f"Corpus: `threshold_corpus.py`, seed {SEED}, {per_class} scenarios per family "
                f"and class; families {', '.join(FAMILIES)} (a p99 in seconds sampled each "
                "minute, a queue depth each 30 s); classes: " + ", ".join(CLASSES) + "."
            ),
            (
                "Judged by `check_recovery_threshold` (what `verify_recovery` runs for a "
                "`Threshold`) with the scenario's traffic series, at 10, 15, 20 and 30 minutes "
                "after the intervention, default `RecoveryPolicy` (hold 10 minutes)."
            ),
            (
                '"False": checks that said recovered in a class that had not recovered '
                "(late relapse: only the checks after the relapse began; near threshold: under "
                "the threshold but not back near the baseline, not recovered by the judge's "
                "definition)."
            ),
            f"{tally.judgements} judgements took {seconds:.1f} s.",
        ],
        headers=[
            "Family",
            "Class",
            "Recovery",
            "Scenarios",
            "Recognised in 10 min",
            "In 15 min",
            "In 30 min",
            "False recoveries",
            "Verdicts at the four checks",
        ],
        rows=rows,
        verdicts=verdicts,
        missed=missed,
        sections=[("Misjudged scenarios", misjudged)],
        data={
            "false": false,
            "judged": judged,
            "recognised_30": {
                family: sum(tally.cells[family, k].recognised[30] for k in RECOVERING)
                / sum(tally.cells[family, k].scenarios for k in RECOVERING)
                for family in FAMILIES
            },
        },
    )


if __name__ == "__main__":
    print(run(quick=False).to_markdown())
