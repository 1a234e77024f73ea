"""Symptom onset: accuracy on a labelled corpus against ruptures, and speed.

Accuracy: on every series of ``onset_corpus`` (seeded, deterministic), in the same run:

- ``incidentkit.analysis.detect_onset`` with its defaults and the metric's direction
  (the only thing it is told); its change points are the onset and, if it found one,
  the end;
- ruptures ``Binseg`` (``model="l2"``, ``n_bkps=1``), with its default ``jump=5`` and
  with ``jump=1``;
- ruptures ``Pelt`` (``model="l2"``, ``jump=1``, ``min_size=2``) with a BIC-like
  penalty ``pen = 2 * sigma**2 * ln(n)``, where ``sigma = 1.4826 * MAD(diff(x)) / sqrt(2)``
  is a robust estimate of the noise from the first differences; only on series of at
  most ``PELT_MAX`` samples (it is quadratic in practice: about 2 s at 1,000 points);
- the zero baseline: no change point at all.

ruptures gets the values that are present as a float64 array (gaps dropped, as
incidentkit drops them) and its breakpoints are mapped back to sample indices; the
ends ruptures appends (``n``) are removed.

Scores, per series then averaged: TCPDBench's F1 (``f_measure`` in van den Burg and
Williams' ``analysis/scripts/metrics.py``): index 0 is added to both the true and the
predicted change points, a prediction within 5 samples of a true change point is a true
positive, each true and each predicted change point matched at most once (nearest
first); with one annotator the recall is simply TP / |true|. And the absolute onset
error: the distance from the true onset to the nearest predicted change point, over
the series with an onset where the method predicted something; series where it
predicted nothing are counted apart (as "no detection"), not in the median.

Speed: an error-ratio series at a 10 s step with a step at 70 % (Gaussian noise), flat
or with a daily cycle, of 10,000 to 1,000,000 points; ``detect_onset(series)`` against
``Binseg(model="l2", jump=...).fit(x).predict(n_bkps=1)`` in the same process, best of N.
"""

from __future__ import annotations

import gc
import math
import random
import statistics
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import ruptures as rpt
from _common import Result, markdown_table, seconds_text
from onset_corpus import T0, LabelledSeries, corpus

from incidentkit import MetricQuery, Series
from incidentkit.analysis import detect_onset

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

SEED = 20260314
MARGIN = 5
PELT_MAX = 1000
SPEED_SIZES = (10_000, 40_000, 100_000, 1_000_000)
QUICK_SPEED_SIZES = (10_000, 40_000, 100_000)
BINSEG_SIZES = (10_000, 40_000, 100_000)
BINSEG_BUDGET = 60.0
"""Binseg runs at a size only if its time, extrapolated quadratically, is under this."""
GOAL_RATIO = 20.0
GOAL_SIZE = 40_000
GOAL_MILLION = 2.0
METHODS = ("incidentkit", "binseg5", "binseg1", "pelt", "zero")
LABELS = {
    "incidentkit": "incidentkit `detect_onset`",
    "binseg5": "ruptures Binseg (l2, 1 bkp, jump=5)",
    "binseg1": "ruptures Binseg (l2, 1 bkp, jump=1)",
    "pelt": "ruptures Pelt (l2, jump=1, BIC-like pen)",
    "zero": "zero baseline (no change)",
}


# -- scoring, as TCPDBench does it -------------------------------------------------------


def true_positives(truth: set[int], predicted: set[int], margin: int = MARGIN) -> set[int]:
    """Return the true change points matched by a prediction within ``margin``.

    Each prediction matches at most one true change point: the true points are taken
    in turn and each takes its nearest unmatched prediction (TCPDBench's definition; it
    iterates a set of small integers, which CPython yields in increasing order, as here).
    """
    left = set(predicted)
    hits: set[int] = set()
    for tau in sorted(truth):
        close = sorted((abs(tau - x), x) for x in left if abs(tau - x) <= margin)
        if not close:
            continue
        hits.add(tau)
        left.remove(close[0][1])
    return hits


def f_measure(truth: Sequence[int], predicted: Sequence[int], margin: int = MARGIN) -> float:
    """TCPDBench's F1 for one annotator: 0 added to both sets, then 2PR / (P + R).

    With one annotator, TCPDBench's recall (averaged over annotators) is simply the
    share of true change points matched, and its precision the share of predictions
    (0 included) that matched one.
    """
    true_set = {*truth, 0}
    predicted_set = {*predicted, 0}
    precision = len(true_positives(true_set, predicted_set, margin)) / len(predicted_set)
    recall = len(true_positives(true_set, predicted_set, margin)) / len(true_set)
    return 2 * precision * recall / (precision + recall)


# -- the methods ---------------------------------------------------------------------------


@dataclass
class Prepared:
    """One corpus series in the forms the methods take."""

    item: LabelledSeries
    series: Series
    present: np.ndarray
    index: list[int]


def prepare(item: LabelledSeries) -> Prepared:
    """Build the incidentkit Series and the ruptures array (gaps dropped) of a series."""
    query = MetricQuery(
        "corpus", item.name, item.times[0], item.times[-1], item.step, unit=item.metric
    )
    series = Series.from_pairs(query, zip(item.times, item.values, strict=True))
    index = [i for i, v in enumerate(item.values) if v is not None]
    present = np.array([item.values[i] for i in index], dtype=float)
    return Prepared(item, series, present, index)


def run_incidentkit(p: Prepared) -> list[int]:
    """The onset and, if found, the end, as sample indices."""
    onset = detect_onset(p.series, direction="up" if p.item.direction == "up" else "down")
    if onset is None:
        return []
    return [onset.index] + ([onset.end_index] if onset.end_index is not None else [])


def _back(p: Prepared, breakpoints: list[int]) -> list[int]:
    n = len(p.present)
    return [p.index[b] for b in breakpoints if 0 < b < n]


def run_binseg(p: Prepared, jump: int) -> list[int]:
    """Run ruptures' Binseg, l2 cost, one breakpoint."""
    if len(p.present) < 4:
        return []
    bkps = rpt.Binseg(model="l2", jump=jump).fit(p.present).predict(n_bkps=1)
    return _back(p, bkps)


def pelt_penalty(x: np.ndarray) -> float:
    """``2 * sigma**2 * ln(n)``, sigma from the MAD of the first differences."""
    sigma = 1.4826 * float(np.median(np.abs(np.diff(x) - np.median(np.diff(x))))) / math.sqrt(2)
    sigma = max(sigma, 1e-12)
    return 2.0 * sigma * sigma * math.log(len(x))


def run_pelt(p: Prepared) -> list[int] | None:
    """Run ruptures' Pelt, l2, jump=1; ``None`` (skipped) on series longer than PELT_MAX."""
    if len(p.present) > PELT_MAX:
        return None
    if len(p.present) < 4:
        return []
    bkps = (
        rpt.Pelt(model="l2", jump=1, min_size=2).fit(p.present).predict(pen=pelt_penalty(p.present))
    )
    return _back(p, bkps)


# -- accuracy --------------------------------------------------------------------------------


@dataclass
class Scores:
    """What one method scored on the series it ran on."""

    f1: dict[str, float] = field(default_factory=dict)
    error: dict[str, int] = field(default_factory=dict)
    """Distance from the true onset to the nearest predicted change point."""
    first_error: dict[str, int] = field(default_factory=dict)
    """Distance from the true onset to the first predicted change point."""
    detected: dict[str, bool] = field(default_factory=dict)
    seconds: float = 0.0


def _score(
    call: Callable[[Prepared], list[int] | None], items: list[Prepared]
) -> tuple[Scores, list[str]]:
    scores = Scores()
    skipped: list[str] = []
    began = time.perf_counter()
    for p in items:
        found = call(p)
        if found is None:
            skipped.append(p.item.name)
            continue
        scores.f1[p.item.name] = f_measure(p.item.changes, found)
        scores.detected[p.item.name] = bool(found)
        if p.item.onset is not None and found:
            scores.error[p.item.name] = min(abs(cp - p.item.onset) for cp in found)
            scores.first_error[p.item.name] = abs(min(found) - p.item.onset)
    scores.seconds = time.perf_counter() - began
    return scores, skipped


def _mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else math.nan


def _row(
    label: str, scores: Scores, items: list[Prepared], names: set[str] | None = None
) -> list[str]:
    chosen = [
        p for p in items if p.item.name in scores.f1 and (names is None or p.item.name in names)
    ]
    change = [p for p in chosen if p.item.onset is not None]
    none = [p for p in chosen if p.item.onset is None]
    errors = sorted(scores.error[p.item.name] for p in change if p.item.name in scores.error)
    firsts = [scores.first_error[p.item.name] for p in change if p.item.name in scores.error]
    within = sum(1 for e in errors if e <= MARGIN)
    missed = sum(1 for p in change if not scores.detected[p.item.name])
    false = sum(1 for p in none if scores.detected[p.item.name])
    return [
        label,
        f"{len(chosen)}",
        f"{_mean([scores.f1[p.item.name] for p in chosen]):.3f}",
        f"{_mean([scores.f1[p.item.name] for p in change]):.3f}",
        f"{_mean([scores.f1[p.item.name] for p in none]):.3f}" if none else "n/a",
        f"{statistics.median(errors):.1f}" if errors else "n/a",
        f"{_mean(errors):.1f}" if errors else "n/a",
        f"{errors[(9 * len(errors)) // 10]}" if errors else "n/a",
        f"{statistics.median(firsts):.1f}" if firsts else "n/a",
        f"{within}/{len(change)} ({within / len(change):.0%})" if change else "n/a",
        f"{missed}",
        f"{false}/{len(none)}" if none else "n/a",
    ]


ACCURACY_HEADERS = [
    "Method",
    "Series",
    "Mean F1",
    "F1, with a change",
    "F1, no change",
    "Median abs onset error (samples)",
    "Mean abs onset error",
    "90th percentile",
    "Median error, first change point",
    "Onset within 5 samples",
    "No detection (change series)",
    "False detections (no-change series)",
]


@dataclass
class Accuracy:
    """Every method's scores over the corpus."""

    items: list[Prepared]
    scores: dict[str, Scores]
    pelt_skipped: list[str]

    def rows(self, names: set[str] | None = None) -> list[list[str]]:
        """The accuracy table's rows, over every series or over ``names``."""
        return [_row(LABELS[m], self.scores[m], self.items, names) for m in METHODS]

    def figures(self, method: str, names: set[str] | None = None) -> tuple[float, float]:
        """Mean F1 and median onset error of ``method``, over every series or ``names``."""
        scores = self.scores[method]
        f1s = [v for k, v in scores.f1.items() if names is None or k in names]
        errors = [v for k, v in scores.error.items() if names is None or k in names]
        return _mean(f1s), statistics.median(errors) if errors else math.inf

    def mean_error(self, method: str, names: set[str] | None = None) -> float:
        """Mean onset error (nearest change point) of ``method``."""
        scores = self.scores[method]
        return _mean([v for k, v in scores.error.items() if names is None or k in names])

    def first_median(self, method: str, names: set[str] | None = None) -> float:
        """Median onset error of ``method``'s first change point."""
        scores = self.scores[method]
        errors = [v for k, v in scores.first_error.items() if names is None or k in names]
        return statistics.median(errors) if errors else math.inf

    def family_rows(self) -> list[list[str]]:
        """Mean F1 of every method, and the median onset errors, by family."""
        rows = []
        for family in dict.fromkeys(p.item.family for p in self.items):
            names = {p.item.name for p in self.items if p.item.family == family}
            row = [f"`{family}`", str(len(names))]
            for m in METHODS:
                f1s = [v for k, v in self.scores[m].f1.items() if k in names]
                row.append(f"{_mean(f1s):.3f}" if f1s else "skipped")
            for m in ("incidentkit", "binseg1"):
                errors = [v for k, v in self.scores[m].error.items() if k in names]
                row.append(f"{statistics.median(errors):.1f}" if errors else "n/a")
            rows.append(row)
        return rows


def accuracy(*, quick: bool, seed: int = SEED) -> Accuracy:
    """Run every method over the corpus."""
    items = [prepare(s) for s in corpus(seed, every=5 if quick else 1)]
    calls: dict[str, Callable[[Prepared], list[int] | None]] = {
        "incidentkit": run_incidentkit,
        "binseg5": lambda p: run_binseg(p, 5),
        "binseg1": lambda p: run_binseg(p, 1),
        "pelt": run_pelt,
        "zero": lambda _p: [],
    }
    scores: dict[str, Scores] = {}
    skipped: list[str] = []
    for method, call in calls.items():
        scores[method], missing = _score(call, items)
        if method == "pelt":
            skipped = missing
    return Accuracy(items, scores, skipped)


# -- speed -----------------------------------------------------------------------------------


def speed_series(n: int, *, daily: bool, seed: int = 7) -> tuple[Series, np.ndarray]:
    """An error ratio at a 10 s step, a step at 70 %, flat or with a daily cycle."""
    rng = random.Random(seed)  # noqa: S311 - a benchmark's data, not a secret
    onset = int(0.7 * n)
    times = [T0 + 10.0 * i for i in range(n)]
    values = []
    for i, t in enumerate(times):
        level = 0.004 + (0.002 * math.sin(2 * math.pi * (t - T0) / 86_400.0) if daily else 0.0)
        value = level + rng.gauss(0.0, 0.0005) + (0.05 if i >= onset else 0.0)
        values.append(max(0.0, value))
    query = MetricQuery("bench", "error_ratio", times[0], times[-1], 10.0, unit="ratio")
    return Series.from_pairs(query, zip(times, values, strict=True)), np.array(values)


def _best(call: Callable[[], object], repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        gc.collect()
        began = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - began)
    return best


@dataclass
class Speed:
    """Best times: incidentkit by ``(points, daily)``, Binseg by ``(points, jump)``."""

    sizes: tuple[int, ...]
    incidentkit: dict[tuple[int, bool], float]
    binseg: dict[tuple[int, int], float]


def speed(*, quick: bool) -> Speed:
    """Time detect_onset at each size (flat and daily) and Binseg where it fits the budget."""
    sizes = QUICK_SPEED_SIZES if quick else SPEED_SIZES
    ik: dict[tuple[int, bool], float] = {}
    binseg: dict[tuple[int, int], float] = {}
    arrays: dict[int, np.ndarray] = {}
    for n in sizes:
        for daily in (False, True):
            series, array = speed_series(n, daily=daily)
            if not daily:
                arrays[n] = array
            detect_onset(series)  # warm-up
            ik[n, daily] = _best(lambda s=series: detect_onset(s), 3 if n >= 1_000_000 else 5)
            del series
    for jump in (5, 1):
        previous: tuple[int, float] | None = None
        for n in BINSEG_SIZES:
            if n not in arrays:
                continue
            if previous is not None and previous[1] * (n / previous[0]) ** 2 > BINSEG_BUDGET:
                continue
            x = arrays[n]
            seconds = _best(
                lambda x=x, jump=jump: rpt.Binseg(model="l2", jump=jump).fit(x).predict(n_bkps=1),
                1 if n >= 100_000 else 3,
            )
            binseg[n, jump] = seconds
            previous = (n, seconds)
    return Speed(sizes, ik, binseg)


# -- the result ------------------------------------------------------------------------------


def _accuracy_verdicts(acc: Accuracy) -> tuple[list[str], list[str]]:
    verdicts: list[str] = []
    missed: list[str] = []
    pelt_names = set(acc.scores["pelt"].f1)
    comparisons = [
        ("binseg5", None, ""),
        ("binseg1", None, ""),
        ("pelt", pelt_names, f", on the {len(pelt_names)} series it ran on"),
    ]
    for method, names, where in comparisons:
        mine_f1, mine_err = acc.figures("incidentkit", names)
        f1, err = acc.figures(method, names)
        ok = mine_f1 > f1 and mine_err < err
        sentence = (
            f"**Goal {'met' if ok else 'missed'}**: onset accuracy against {LABELS[method]}"
            f"{where}: F1 {mine_f1:.3f} against {f1:.3f}, median onset error "
            f"{mine_err:.1f} against {err:.1f} samples (goal: better on both)."
        )
        if mine_err == err:
            mine_mean, theirs_mean = (
                acc.mean_error("incidentkit", names),
                acc.mean_error(method, names),
            )
            sentence += (
                f" The medians tie (both at the floor of {err:g}, the error to the nearest "
                f"of its change points); the mean errors are {mine_mean:.1f} against "
                f"{theirs_mean:.1f} samples, and the median error of the first change point "
                f"each method reports {acc.first_median('incidentkit', names):.1f} against "
                f"{acc.first_median(method, names):.1f}."
            )
        verdicts.append(sentence)
        if not ok:
            missed.append(sentence)
    return verdicts, missed


def _speed_report(spd: Speed) -> tuple[list[str], list[str], list[list[str]]]:
    verdicts: list[str] = []
    missed: list[str] = []
    rows = []
    for n in spd.sizes:
        flat = spd.incidentkit[n, False]
        for jump in (5, 1):
            b = spd.binseg.get((n, jump))
            rows.append(
                [
                    f"{n:,}",
                    seconds_text(flat),
                    seconds_text(spd.incidentkit[n, True]),
                    f"Binseg jump={jump}" + (" (default)" if jump == 5 else ""),
                    seconds_text(b) if b is not None else "not run",
                    f"{b / flat:.1f}" if b is not None else "n/a",
                ]
            )
    for jump in (5, 1):
        b = spd.binseg.get((GOAL_SIZE, jump))
        if b is None or (GOAL_SIZE, False) not in spd.incidentkit:
            continue
        flat = spd.incidentkit[GOAL_SIZE, False]
        daily = spd.incidentkit[GOAL_SIZE, True]
        ratio = b / flat
        ok = ratio >= GOAL_RATIO
        sentence = (
            f"**Goal {'met' if ok else 'missed'}**: at {GOAL_SIZE:,} points, detect_onset is "
            f"{ratio:.1f} times faster than Binseg jump={jump} on the same flat series (goal: "
            f"at least {GOAL_RATIO:g}); {b / daily:.1f} times on the series with a daily "
            "cycle, which Binseg does not handle at all."
        )
        if not ok:
            sentence += (
                f" It would have to take {seconds_text(b / GOAL_RATIO)} instead of "
                f"{seconds_text(flat)}."
            )
            missed.append(sentence)
        verdicts.append(sentence)
    if (1_000_000, False) in spd.incidentkit:
        worst = max(spd.incidentkit[1_000_000, False], spd.incidentkit[1_000_000, True])
        ok = worst < GOAL_MILLION
        sentence = (
            f"**Goal {'met' if ok else 'missed'}**: 1,000,000 points in {seconds_text(worst)} "
            f"(the slower of flat and daily; goal: under {GOAL_MILLION:g} s on one core)."
        )
        verdicts.append(sentence)
        if not ok:
            missed.append(sentence)
    else:
        verdicts.append("1,000,000 points: not measured in a quick run.")
    return verdicts, missed, rows


def run(*, quick: bool = False) -> Result:
    """Measure onset accuracy against ruptures and the zero baseline, then speed."""
    acc = accuracy(quick=quick)
    spd = speed(quick=quick)
    verdicts, missed = _accuracy_verdicts(acc)
    speed_verdicts, speed_missed, speed_rows = _speed_report(spd)
    counts: dict[str, int] = {}
    for p in acc.items:
        counts[p.item.family] = counts.get(p.item.family, 0) + 1
    with_change = sum(1 for p in acc.items if p.item.onset is not None)
    pelt_names = set(acc.scores["pelt"].f1)
    skipped = ", ".join(f"`{name}`" for name in acc.pelt_skipped) or "none"
    timing = ", ".join(f"{m} {acc.scores[m].seconds:.1f} s" for m in METHODS)
    sections = [
        (
            "Onset speed",
            (
                "An error ratio at a 10 s step (0.004 +- 0.0005, a step of +0.05 at 70 %), "
                "flat or with a daily cycle of +-0.002; `detect_onset(series)` on the "
                "`Series` (building it is not timed), ruptures on a float64 array of the "
                "flat series (building it is not timed either). Best of 5 (3 at 1,000,000) "
                "for incidentkit, of 3 (1 from 100,000) for Binseg; Binseg runs at a size "
                f"only if its quadratic extrapolation stays under {BINSEG_BUDGET:g} s. One "
                "process, one core. The 10,000-point series spans 28 hours, too short for "
                "the daily comparison (two days are needed), so there the daily cycle is "
                "just noise to incidentkit.\n\n"
                + markdown_table(
                    [
                        "Points",
                        "incidentkit, flat",
                        "incidentkit, daily cycle",
                        "Against",
                        "Its time",
                        "Speed-up (its time / incidentkit flat)",
                    ],
                    speed_rows,
                )
                + "\n\n"
                + "\n\n".join(speed_verdicts)
            ),
        ),
        (
            "Accuracy on the series Pelt ran on",
            (
                f"Pelt ran on the {len(pelt_names)} series of at most {PELT_MAX:,} samples "
                f"with a value. Skipped ({len(acc.pelt_skipped)}), because Pelt with jump=1 "
                "is quadratic in practice (about 2 s at 1,000 points, 8 s at 2,000): "
                f"{skipped}. Every method on that same subset:\n\n"
                + markdown_table(ACCURACY_HEADERS, acc.rows(pelt_names))
            ),
        ),
        (
            "Mean F1 by family",
            markdown_table(
                [
                    "Family",
                    "Series",
                    *(LABELS[m] for m in METHODS),
                    "Median onset error, incidentkit",
                    "Median onset error, Binseg jump=1",
                ],
                acc.family_rows(),
            ),
        ),
    ]
    return Result(
        name="onset",
        title="Symptom onset: accuracy and speed",
        setup=[
            (
                f"Corpus: `bench/onset_corpus.py`, seed {SEED}, {len(acc.items)} synthetic "
                f"series, {with_change} with a change and {len(acc.items) - with_change} "
                f"without ({', '.join(f'{k} {v}' for k, v in counts.items())}). Public "
                "labelled operations data (a real CPU KPI) is compared in its own section, "
                "`realdata`."
            ),
            (
                "incidentkit is told the metric's direction (up for errors, latency and "
                "saturation, down for throughput) and nothing else; ruptures is "
                "direction-blind. Everything else is each method's default."
            ),
            (
                "F1 as TCPDBench's `f_measure` computes it (margin 5 samples, index 0 added to "
                "both sets, each true and each predicted change point matched at most once; "
                "one annotator), averaged over series. Onset error: distance from the true "
                "onset to the nearest predicted change point (generous to a method that "
                "predicts many), over the series with an onset where the method predicted "
                "something; series where it predicted nothing are counted under 'No "
                "detection', not in the errors. Also shown: the mean, the 90th percentile, "
                "and the median distance to the *first* predicted change point (what a "
                "responder would read as the onset)."
            ),
            (
                "Pelt: `pen = 2 * sigma**2 * ln(n)` with `sigma = 1.4826 * MAD(diff(x)) / "
                f"sqrt(2)`; run on series of at most {PELT_MAX:,} samples only "
                f"({len(acc.pelt_skipped)} skipped, listed below)."
            ),
            f"Time per method over the corpus: {timing}.",
        ],
        headers=ACCURACY_HEADERS,
        rows=acc.rows(),
        verdicts=verdicts,
        missed=missed + speed_missed,
        sections=sections,
        data={
            "f1": {m: acc.scores[m].f1 for m in METHODS},
            "errors": {m: acc.scores[m].error for m in METHODS},
            "speed": {
                f"{n}-{'daily' if d else 'flat'}": v for (n, d), v in spd.incidentkit.items()
            },
            "binseg": {f"{n}-jump{j}": v for (n, j), v in spd.binseg.items()},
        },
    )


if __name__ == "__main__":
    import sys

    print(run(quick="--quick" in sys.argv).to_markdown())
