"""Recovery: how ``check_recovery`` judges seeded scenarios, against two naive checks.

The scenarios (``recovery_scenarios.py``) cover the seven classes of the issue:
true recovery, slow recovery, partial recovery, relapse, traffic collapse, data
gap and zero traffic, with steps of 15 to 60 s, baselines of 30 to 120 minutes,
error probabilities from 0.01 % to 5 %, 4 to 500 requests per second and
overdispersed noise. Every scenario is judged with the library's default
policy, and in the same run by the two checks people eyeball:

- *last below p95*: the latest error value (the last non-null one, as a
  dashboard's "last" shows) at or below the baseline's 95th percentile;
- *5-minute mean*: the mean of the error values of the last five minutes at or
  below 1.25 times the baseline's mean.

Each naive check answers recovered or not recovered (inconclusive only when it
has no value at all). The goals: not one false "recovered" (a scenario that is
not a true or slow recovery judged recovered), and at least 95 % of the true
and slow recoveries recognised. The time ``check_recovery`` takes is measured
too, for a one-hour baseline at 15 s against a 30-minute post window, and for
the largest comparison the default policy allows.

At 1,000,000 points (100,000 with ``--quick``), ``check_recovery`` is timed in fresh
interpreters (``_fresh.py``, interleaved rounds, then warm in each process) against its
floor: a sort of the baseline's values plus one Python pass over the values after the
intervention, comparing each with a threshold, over the same columns. The goal: at most
10x the floor.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import pendulum
from _common import Result, markdown_table, median, ratio_text, seconds_text
from _fresh import Run, best, best_warm, interleaved, megabytes
from recovery_scenarios import (
    CLASSES,
    EXPECTED,
    RECOVERING,
    Scenario,
    scenarios,
)

from incidentkit import MetricQuery, RecoveryOutcome, RecoveryPolicy, Series
from incidentkit._recovery import check_recovery

if TYPE_CHECKING:
    from incidentkit import RecoveryVerdict

PER_CLASS = 300
QUICK_PER_CLASS = 20
SEED = 20261120
OTHER_SEEDS = (1, 2)
"""Further seeds judged in a full run, to show how much the figures vary."""
RECALL_GOAL = 0.95
TIMING_REPEATS = 15
QUICK_TIMING_REPEATS = 5
FRESH_SIZE = 1_000_000
QUICK_FRESH_SIZE = 100_000
FRESH_RUNS = 5
QUICK_FRESH_RUNS = 2
FRESH_WARM = 3
QUICK_FRESH_WARM = 1
FLOOR_GOAL = 10.0
"""``check_recovery`` at 1,000,000 points at most this many times its floor."""

RECOVERED = RecoveryOutcome.RECOVERED.value
NOT_RECOVERED = RecoveryOutcome.NOT_RECOVERED.value
INCONCLUSIVE = RecoveryOutcome.INCONCLUSIVE.value


def judge(scenario: Scenario) -> RecoveryVerdict:
    """Judge a scenario with ``check_recovery`` and the default policy."""
    return check_recovery(
        scenario.errors,
        scenario.traffic,
        baseline_start=scenario.baseline_start,
        baseline_end=scenario.baseline_end,
        intervention_at=scenario.intervention_at,
        until=scenario.until,
        step=scenario.step,
        policy=scenario.policy,
    )


def _baseline(scenario: Scenario) -> list[float]:
    return [
        s.value
        for s in scenario.errors.between(scenario.baseline_start, scenario.baseline_end)
        if s.value is not None
    ]


def naive_last(scenario: Scenario) -> str:
    """Recovered when the last non-null error value is at or below the baseline's p95."""
    after = [
        s.value
        for s in scenario.errors.samples
        if scenario.intervention_at <= s.at <= scenario.until and s.value is not None
    ]
    if not after:
        return INCONCLUSIVE
    p95 = statistics.quantiles(_baseline(scenario), n=20, method="inclusive")[-1]
    return RECOVERED if after[-1] <= p95 else NOT_RECOVERED


def naive_mean(scenario: Scenario) -> str:
    """Recovered when the mean of the last five minutes is at most 1.25 x the baseline mean."""
    start = scenario.until.subtract(minutes=5)
    recent = [
        s.value
        for s in scenario.errors.samples
        if max(start, scenario.intervention_at) <= s.at <= scenario.until and s.value is not None
    ]
    if not recent:
        return INCONCLUSIVE
    baseline_mean = statistics.fmean(_baseline(scenario))
    return RECOVERED if statistics.fmean(recent) <= 1.25 * baseline_mean else NOT_RECOVERED


def _timing_series(
    baseline_minutes: int, post_minutes: int, step: float
) -> tuple[Series, Series, dict[str, pendulum.DateTime]]:
    """Return a recovered pair of series with the given windows, for timing."""
    start = pendulum.datetime(2026, 11, 20, tz="UTC")
    baseline_end = start.add(minutes=baseline_minutes)
    intervention = baseline_end.add(minutes=10)
    until = intervention.add(minutes=post_minutes)
    count = int((until - start).total_seconds() / step) + 1
    instants = [start.add(seconds=i * step) for i in range(count)]
    errors = [(at, 0.01 + 0.002 * ((i * 7919) % 1009) / 1009) for i, at in enumerate(instants)]
    traffic = [(at, 400.0 + (i * 104729) % 50) for i, at in enumerate(instants)]
    query = MetricQuery("timing", "errors", start, until, step)
    windows = {
        "baseline_start": start,
        "baseline_end": baseline_end,
        "intervention_at": intervention,
        "until": until,
    }
    return Series.from_pairs(query, errors), Series.from_pairs(query, traffic), windows


def _time_check(
    baseline_minutes: int,
    post_minutes: int,
    step: float,
    repeats: int,
    policy: RecoveryPolicy | None = None,
) -> tuple[float, RecoveryVerdict]:
    errors, traffic, windows = _timing_series(baseline_minutes, post_minutes, step)
    verdict = check_recovery(errors, traffic, step=step, policy=policy, **windows)  # warm-up
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        check_recovery(errors, traffic, step=step, policy=policy, **windows)
        times.append(time.perf_counter() - began)
    return statistics.median(times), verdict


def _pct(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "n/a"


def _misjudged_section(misjudged: list[tuple[Scenario, RecoveryVerdict]]) -> str:
    if not misjudged:
        return "None: every true or slow recovery was recognised and nothing else was."
    lines = []
    for scenario, verdict in misjudged:
        traits = ", ".join(f"{k}={v}" for k, v in scenario.traits.items())
        lines.append(
            f"- `{scenario.kind}` #{scenario.index}: **{verdict.outcome.value}** "
            f"(comparison: {verdict.comparison or 'none'}); {traits}. "
            f"{'; '.join(verdict.reasons)}"
        )
    return "\n".join(lines)


@dataclass
class _Tally:
    """The verdicts of the three judges on one seed's scenarios."""

    per_class: int
    table: dict[str, Counter[str]]
    naive: dict[str, Counter[str]]
    misjudged: list[tuple[Scenario, RecoveryVerdict]]
    check_seconds: list[float]

    @property
    def recovering(self) -> int:
        return self.per_class * len(RECOVERING)

    @property
    def others(self) -> int:
        return self.per_class * (len(CLASSES) - len(RECOVERING))

    def recognised(self, judge: str = "check") -> int:
        counts = self._recovered(judge)
        return sum(counts[kind] for kind in RECOVERING)

    def false_recovered(self, judge: str = "check") -> int:
        counts = self._recovered(judge)
        return sum(counts[kind] for kind in CLASSES if kind not in RECOVERING)

    def _recovered(self, judge: str) -> Counter[str]:
        if judge == "check":
            return Counter({kind: counts[RECOVERED] for kind, counts in self.table.items()})
        return self.naive[judge]


def _tally(per_class: int, seed: int) -> _Tally:
    tally = _Tally(
        per_class,
        {kind: Counter() for kind in CLASSES},
        {"last": Counter(), "mean": Counter()},
        [],
        [],
    )
    for scenario in scenarios(per_class, seed=seed):
        started = time.perf_counter()
        verdict = judge(scenario)
        tally.check_seconds.append(time.perf_counter() - started)
        outcome = verdict.outcome.value
        gap = outcome == INCONCLUSIVE and verdict.monitoring_gap
        tally.table[scenario.kind][f"{outcome}/gap" if gap else outcome] += 1
        for name, check in (("last", naive_last), ("mean", naive_mean)):
            if check(scenario) == RECOVERED:
                tally.naive[name][scenario.kind] += 1
        if (outcome == RECOVERED) != (scenario.kind in RECOVERING):
            tally.misjudged.append((scenario, verdict))
    return tally


def _rows(tally: _Tally) -> list[list[str]]:
    rows = []
    for kind in CLASSES:
        counts = tally.table[kind]
        rows.append(
            [
                f"`{kind}`",
                str(tally.per_class),
                EXPECTED[kind],
                str(counts[RECOVERED]),
                str(counts[NOT_RECOVERED]),
                str(counts[f"{INCONCLUSIVE}/gap"]),
                str(counts[INCONCLUSIVE]),
                str(tally.naive["last"][kind]),
                str(tally.naive["mean"][kind]),
            ]
        )
    rows.append(
        [
            "**false recovered**",
            str(tally.others),
            "0",
            f"**{tally.false_recovered()}**",
            "",
            "",
            "",
            f"**{tally.false_recovered('last')}**",
            f"**{tally.false_recovered('mean')}**",
        ]
    )
    rows.append(
        [
            "**recall** (true + slow judged recovered)",
            str(tally.recovering),
            f"at least {RECALL_GOAL:.0%}",
            f"**{_pct(tally.recognised(), tally.recovering)}**",
            "",
            "",
            "",
            f"**{_pct(tally.recognised('last'), tally.recovering)}**",
            f"**{_pct(tally.recognised('mean'), tally.recovering)}**",
        ]
    )
    return rows


def _goals(tally: _Tally) -> tuple[list[str], list[str]]:
    verdicts: list[str] = []
    missed: list[str] = []
    false_recovered = tally.false_recovered()
    if false_recovered == 0:
        verdicts.append(
            f"**Goal met**: not one of the {tally.others} scenarios that are not recoveries "
            "was judged recovered (goal: none). The naive checks judged "
            f"{tally.false_recovered('last')} (last below p95) and "
            f"{tally.false_recovered('mean')} (5-minute mean) of them recovered."
        )
    else:
        sentence = (
            f"**Goal missed**: {false_recovered} of the {tally.others} scenarios that are not "
            "recoveries were judged recovered (goal: none); see the misjudged scenarios below."
        )
        verdicts.append(sentence)
        missed.append(sentence)
    recognised = tally.recognised()
    recall = recognised / tally.recovering
    per_kind = ", ".join(
        f"{kind} {_pct(tally.table[kind][RECOVERED], tally.per_class)}"
        for kind in CLASSES
        if kind in RECOVERING
    )
    if recall >= RECALL_GOAL:
        verdicts.append(
            f"**Goal met**: {recognised} of the {tally.recovering} true and slow recoveries "
            f"({recall:.1%}) were judged recovered (goal: at least {RECALL_GOAL:.0%}); "
            f"{per_kind}."
        )
    else:
        sentence = (
            f"**Goal missed**: {recognised} of the {tally.recovering} true and slow recoveries "
            f"({recall:.1%}) were judged recovered, under the goal of {RECALL_GOAL:.0%} by "
            f"{RECALL_GOAL - recall:.1%} ({per_kind}); see the misjudged scenarios below."
        )
        verdicts.append(sentence)
        missed.append(sentence)
    return verdicts, missed


def _timing_section(repeats: int, check_seconds: list[float]) -> tuple[str, float, float]:
    cases = [
        ("1 h baseline, 30 min after the intervention, 15 s step", 60, 30, None),
        ("3 h baseline (capped at 480 samples), 2.5 h after, 15 s step", 180, 150, None),
        (
            "the same with a 2 h hold: the cap on both sides, the worst case of the defaults",
            180,
            150,
            RecoveryPolicy(hold=7200),
        ),
    ]
    rows = []
    timings = []
    for label, baseline_minutes, post_minutes, policy in cases:
        seconds, verdict = _time_check(baseline_minutes, post_minutes, 15.0, repeats, policy)
        timings.append(seconds)
        rows.append(
            [
                label,
                f"{verdict.baseline_samples} x {verdict.post_samples}",
                seconds_text(seconds),
            ]
        )
    text = markdown_table(["Windows", "Samples compared", "Median time per check"], rows)
    text += (
        "\n\nThe comparison window is the trailing hold (600 s: 41 samples at 15 s), and "
        "`max_samples` (480) caps each side, so the pairwise differences stay under "
        "230,400. Over all the scenarios, a check took "
        f"{seconds_text(statistics.median(check_seconds))} at the median and "
        f"{seconds_text(max(check_seconds))} at most."
    )
    return text, timings[0], timings[-1]


_FRESH_SETUP = """
import bisect
import pendulum
from incidentkit import MetricQuery, Series
from incidentkit.analysis import check_recovery

n = {n}
step = 15.0
start = pendulum.datetime(2026, 11, 20, tz="UTC")
times = [start.timestamp() + step * i for i in range(n)]
errors = Series.from_columns(
    MetricQuery("bench", "errors", times[0], times[-1], step, unit="ratio"),
    times,
    [0.01 + 0.002 * ((i * 7919) % 1009) / 1009 for i in range(n)],
)
traffic = Series.from_columns(
    MetricQuery("bench", "requests", times[0], times[-1], step, unit="req/s"),
    times,
    [400.0 + (i * 104729) % 50 for i in range(n)],
)
middle = pendulum.from_timestamp(times[n // 2], tz="UTC")
windows = {{
    "baseline_start": start,
    "baseline_end": middle,
    "intervention_at": middle,
    "until": pendulum.from_timestamp(times[-1], tz="UTC"),
}}
del times
"""

_FRESH_CHECK = """
global result
result = check_recovery(errors, traffic, step=step, **windows)
"""

_FRESH_FLOOR = """
global result
times, values = errors.times, errors.values
lo = bisect.bisect_left(times, windows["baseline_start"].timestamp())
mid = bisect.bisect_left(times, windows["baseline_end"].timestamp())
hi = bisect.bisect_right(times, windows["until"].timestamp())
baseline = sorted(values[lo:mid])
threshold = baseline[int(0.95 * (len(baseline) - 1))] * 1.25 + 0.001
bad = 0
for value in values[mid:hi]:
    if value > threshold:
        bad += 1
result = (baseline, bad)
"""


def _fresh_figures(runs: list[Run]) -> tuple[float, float, float]:
    return best(runs), median([r.seconds for r in runs]), best_warm(runs)


def _fresh_section(*, quick: bool) -> tuple[str, list[str], list[str], dict[str, object]]:
    """Time ``check_recovery`` at a million points against its floor, fresh and warm."""
    n = QUICK_FRESH_SIZE if quick else FRESH_SIZE
    runs = QUICK_FRESH_RUNS if quick else FRESH_RUNS
    warm = QUICK_FRESH_WARM if quick else FRESH_WARM
    setup = _FRESH_SETUP.format(n=n)
    namespace: dict[str, object] = {}
    exec(setup + _FRESH_CHECK.replace("global result\n", ""), namespace)  # noqa: S102 - our code
    judged = cast("RecoveryVerdict", namespace["result"])
    measured = interleaved(
        {"check": (setup, _FRESH_CHECK), "floor": (setup, _FRESH_FLOOR)}, runs=runs, warm=warm
    )
    check, floor = _fresh_figures(measured["check"]), _fresh_figures(measured["floor"])
    ratios = tuple(c / f for c, f in zip(check, floor, strict=True))
    rows = []
    for label, key, figures in (
        ("**`check_recovery`**", "check", check),
        ("**floor**: sort the baseline, one pass over the rest", "floor", floor),
    ):
        runs_ = measured[key]
        rows.append(
            [
                label,
                f"{seconds_text(figures[0])} / {seconds_text(figures[1])}",
                seconds_text(figures[2]),
                " / ".join(ratio_text(c / f) for c, f in zip(figures, floor, strict=True)),
                megabytes(median([float(r.added_rss) for r in runs_])),
            ]
        )
    verdicts: list[str] = []
    missed: list[str] = []
    if n != FRESH_SIZE:
        verdicts.append(
            f"No verdict: the goal is judged at {FRESH_SIZE:,} points, not in a quick run."
        )
    else:
        for when, figures, said in (
            ("fresh", ratios[:2], "best and median of the fresh runs"),
            ("warm", ratios[2:], "best warm repetition"),
        ):
            text = " and ".join(ratio_text(r) for r in figures)
            worst = max(figures)
            what = f"`check_recovery` on {n:,} points is {text} its floor ({said}"
            if worst <= FLOOR_GOAL:
                verdicts.append(f"**Goal met** ({when}): {what}; goal: at most {FLOOR_GOAL:g}x).")
            else:
                sentence = (
                    f"**Goal missed** ({when}): {what}), over the goal of {FLOOR_GOAL:g}x (it "
                    f"would have to be {worst / FLOOR_GOAL:.2f} times faster)."
                )
                verdicts.append(sentence)
                missed.append(sentence)
    table = markdown_table(
        [
            "What",
            "Fresh best / median",
            "Warm best",
            "Ratio to the floor (fresh best / median / warm)",
            "Peak RSS added",
        ],
        rows,
    )
    body = (
        f"An error ratio and a request rate of {n:,} points each at a 15 s step (no gaps, "
        f"built in the untimed setup with `Series.from_columns`): the baseline is the first "
        f"half ({n // 2:,} points), the intervention at the middle, the check at the last "
        f"point, so {judged.checked_samples:,} samples are judged after the intervention "
        f"(verdict: **{judged.outcome.value}**, {judged.baseline_samples} baseline samples "
        f"against {judged.post_samples} compared). Each case in a fresh interpreter, {runs} "
        f"interleaved rounds, then {warm} warm repetition{'s' if warm > 1 else ''} in each.\n\n"
        "**The floor**: bisect the windows in the error series' `times`, `sorted()` of the "
        "baseline's values, the 95th percentile as a threshold, then one Python loop over "
        "the values after the intervention counting those above it; no traffic, no gaps, no "
        "test. `check_recovery` also drops the gaps, sorts the baseline's traffic, matches "
        "each sample with its traffic by instant, and judges each (gap, low traffic, bad, "
        "healthy).\n\n"
        f"{table}\n\n" + " ".join(verdicts)
    )
    figures_out: dict[str, object] = {
        "points": n,
        "check_fresh": [r.seconds for r in measured["check"]],
        "check_warm": [w for r in measured["check"] for w in r.warm],
        "floor_fresh": [r.seconds for r in measured["floor"]],
        "floor_warm": [w for r in measured["floor"] for w in r.warm],
        "ratios": ratios,
    }
    return body, verdicts, missed, figures_out


def run(*, quick: bool = False) -> Result:
    """Judge every scenario three ways; tabulate the verdicts; time the check."""
    per_class = QUICK_PER_CLASS if quick else PER_CLASS
    repeats = QUICK_TIMING_REPEATS if quick else TIMING_REPEATS
    began = time.perf_counter()
    tally = _tally(per_class, SEED)
    judged_seconds = time.perf_counter() - began
    verdicts, missed = _goals(tally)
    sections = [("Misjudged scenarios", _misjudged_section(tally.misjudged))]
    others: dict[int, dict[str, float]] = {}
    if not quick:
        seed_rows = []
        for seed in OTHER_SEEDS:
            other = _tally(per_class, seed)
            others[seed] = {
                "false_recovered": other.false_recovered(),
                "recall": other.recognised() / other.recovering,
            }
            seed_rows.append(
                [
                    str(seed),
                    str(other.false_recovered()),
                    _pct(other.recognised(), other.recovering),
                    f"{other.false_recovered('last')} / {other.false_recovered('mean')}",
                    (
                        f"{_pct(other.recognised('last'), other.recovering)} / "
                        f"{_pct(other.recognised('mean'), other.recovering)}"
                    ),
                ]
            )
        sections.append(
            (
                "Other seeds",
                "The same classes and sizes drawn from other seeds, to show how much the "
                "figures vary (the goals are judged on the seed above).\n\n"
                + markdown_table(
                    [
                        "Seed",
                        "False recovered",
                        "Recall",
                        "Naive false recovered (last / mean)",
                        "Naive recall (last / mean)",
                    ],
                    seed_rows,
                ),
            )
        )
    timing, hour, largest = _timing_section(repeats, tally.check_seconds)
    sections.append(("Time per check", timing))
    fresh, _, fresh_missed, fresh_figures = _fresh_section(quick=quick)
    sections.append(("A million points, in fresh processes", fresh))
    missed.extend(fresh_missed)
    return Result(
        name="recovery",
        title="Recovery verdicts",
        setup=[
            (
                f"{per_class} seeded scenarios per class (seed {SEED}), "
                f"{per_class * len(CLASSES)} in all (`bench/recovery_scenarios.py`: steps "
                "15/30/60 s, baselines 30/60/120 min, error probability 0.01 % to 5 %, 4 to "
                "500 requests/s, log-normal overdispersion up to 0.5, errors as a ratio or a "
                "rate, traffic as a rate or a count)."
            ),
            (
                "Judged by `check_recovery` with the default `RecoveryPolicy` (hold 600 s, "
                "allowed increase 25 % + 0.001, traffic floor 50 %, 95 % interval); for errors "
                "as a rate, the absolute tolerance is the same 0.001 of the baseline's requests "
                f"per second. The three judges took {judged_seconds:.1f} s."
            ),
            (
                "Columns 4-7: `check_recovery`'s verdicts; `inconclusive (gap)` is inconclusive "
                "with a monitoring gap. The last two columns: how many each naive check judged "
                "recovered."
            ),
        ],
        headers=[
            "Class",
            "Scenarios",
            "Should be",
            "Recovered",
            "Not recovered",
            "Inconclusive (gap)",
            "Inconclusive",
            "Naive: last below p95",
            "Naive: 5-min mean",
        ],
        rows=_rows(tally),
        verdicts=verdicts,
        missed=missed,
        sections=sections,
        data={
            "confusion": {kind: dict(counts) for kind, counts in tally.table.items()},
            "naive_recovered": {name: dict(counts) for name, counts in tally.naive.items()},
            "false_recovered": tally.false_recovered(),
            "recall": tally.recognised() / tally.recovering,
            "other_seeds": others,
            "seconds_hour_check": hour,
            "seconds_largest_check": largest,
            "fresh": fresh_figures,
        },
    )


if __name__ == "__main__":
    import sys

    print(run(quick="--quick" in sys.argv).to_markdown())
