"""Symptom onset from counts, from 0.05 to 2,000 requests per second.

On every series of ``counts_corpus`` (seeded, deterministic), side by side in one run:

- ``detect_onset_counts(bad, total)``: the binomial CUSUM on the counts;
- ``detect_onset(ratio)``: today's detector on the error ratio ``bad / total`` (a step
  without a request is a gap), direction ``"up"``;
- ruptures ``Binseg`` (l2, one breakpoint, ``jump=1``) and ``Pelt`` (l2, ``jump=5``,
  ruptures' default, ``min_size=2``, the BIC-like penalty of ``bench_onset``) on the
  ratio's present values;
- the zero baseline (no change at all);
- an **oracle**: the maximum-likelihood change point of the binomial model when the
  true baseline share, symptom share and ramp length are known (it only has to say
  *when*; it is told whether there is a change at all, so it reports nothing on the
  series without one). Its error is what the counts themselves allow: where even the
  oracle's median error is over the goal, no detector can date the change that well,
  and the goal is not judged there.

Reported per traffic level: how many steps and ramps each method found, the median
distance of its onset to the labelled one (for ruptures the change point nearest to
it, generous to Pelt), the false onsets on the series without a change (plain,
with error bursts, with a traffic drop), and TCPDBench's F1 (margin 5 samples).
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import ruptures as rpt
from _common import Result, markdown_table
from bench_onset import f_measure, pelt_penalty
from counts_corpus import CHANGE_FAMILIES, LEVELS, STEP, CountSeries, corpus

from incidentkit import MetricQuery, Series
from incidentkit.analysis import detect_onset, detect_onset_counts

if TYPE_CHECKING:
    from collections.abc import Callable

SEED = 20261313
METHODS = ("counts", "ratio", "binseg", "pelt", "zero", "oracle")
LABELS = {
    "oracle": "oracle: ML change point, true shares and ramp length known",
    "counts": "incidentkit `detect_onset_counts` (counts)",
    "ratio": "incidentkit `detect_onset` (ratio, today's)",
    "binseg": "ruptures Binseg (l2, 1 bkp, jump=1, ratio)",
    "pelt": "ruptures Pelt (l2, jump=5, BIC-like pen, ratio)",
    "zero": "zero baseline (no change)",
}
STEP_GOAL = 1.0
RAMP_GOAL = 2.0
DETECTABLE = 0.5
"""A traffic level counts as one where a change is detectable when the counts detector
or today's finds at least this share of its changes."""


@dataclass
class Prepared:
    """One corpus series in the forms the methods take."""

    item: CountSeries
    bad: Series
    total: Series
    ratio: Series
    present: np.ndarray
    index: list[int]


def prepare(item: CountSeries) -> Prepared:
    """Build the two count series, the ratio series and the ruptures array."""
    query = MetricQuery("corpus", item.name, item.times[0], item.times[-1], STEP)
    bad = Series.from_columns(query, item.times, item.bad)
    total = Series.from_columns(query, item.times, item.total)
    values = item.ratio()
    ratio = Series.from_columns(query, item.times, values)
    index = [i for i, v in enumerate(values) if v is not None]
    present = np.array([values[i] for i in index], dtype=float)
    return Prepared(item, bad, total, ratio, present, index)


def run_counts(p: Prepared) -> list[int]:
    """The onset and its end, from the counts."""
    onset = detect_onset_counts(p.bad, p.total)
    if onset is None:
        return []
    return [onset.index] + ([onset.end_index] if onset.end_index is not None else [])


def run_ratio(p: Prepared) -> list[int]:
    """The onset and its end, from the ratio."""
    onset = detect_onset(p.ratio)
    if onset is None:
        return []
    return [onset.index] + ([onset.end_index] if onset.end_index is not None else [])


def _back(p: Prepared, bkps: list[int]) -> list[int]:
    return [p.index[b] for b in bkps if 0 < b < len(p.present)]


def run_binseg(p: Prepared) -> list[int]:
    """Ruptures Binseg, one breakpoint."""
    if len(p.present) < 4:
        return []
    return _back(p, rpt.Binseg(model="l2", jump=1).fit(p.present).predict(n_bkps=1))


def run_pelt(p: Prepared) -> list[int]:
    """Ruptures Pelt with the BIC-like penalty."""
    if len(p.present) < 4:
        return []
    algo = rpt.Pelt(model="l2", jump=5, min_size=2).fit(p.present)
    return _back(p, algo.predict(pen=pelt_penalty(p.present)))


def run_oracle(p: Prepared) -> list[int]:
    """The maximum-likelihood start of the change, its true shape and shares known.

    The binomial log-likelihood ratio of "share ``p0`` before ``tau``, then rising
    linearly over the true ramp length to ``p1`` and staying there" against "share
    ``p0`` throughout", maximised over ``tau`` (the earliest of ties). Nothing on a
    series without a change (the oracle is told there is none).
    """
    item = p.item
    if item.onset is None:
        return []
    bad, total = item.bad, item.total
    m = len(bad)
    p0, p1, length = item.p0, min(item.p1, 1.0 - 1e-9), item.ramp
    on_bad, on_good = math.log(p1 / p0), math.log((1.0 - p1) / (1.0 - p0))
    suffix = [0.0] * (m + 1)
    for i in range(m - 1, -1, -1):
        suffix[i] = suffix[i + 1] + bad[i] * on_bad + (total[i] - bad[i]) * on_good
    rising = [p0 + (p1 - p0) * (k + 1) / (length + 1) for k in range(length)]
    weights = [(math.log(q / p0), math.log((1.0 - q) / (1.0 - p0))) for q in rising]
    best, best_at = -math.inf, 1
    for tau in range(1, m):
        ll = suffix[min(m, tau + length)]
        for k, (a, c) in enumerate(weights):
            i = tau + k
            if i >= m:
                break
            ll += bad[i] * a + (total[i] - bad[i]) * c
        if ll > best:
            best, best_at = ll, tau
    return [best_at]


@dataclass
class Scores:
    """One method's answers over the corpus."""

    found: dict[str, list[int]] = field(default_factory=dict)
    seconds: float = 0.0


def _truth(item: CountSeries) -> list[int]:
    return [item.onset] if item.onset is not None else []


def _error(item: CountSeries, found: list[int]) -> int | None:
    if item.onset is None or not found:
        return None
    onset = item.onset
    return min(abs(cp - onset) for cp in found)


def _median(values: list[int]) -> float | None:
    return statistics.median(values) if values else None


@dataclass
class Cell:
    """A method's figures on one family at one level."""

    found: int
    count: int
    errors: list[int]

    @property
    def median(self) -> float | None:
        """Median onset error over the series where something was found."""
        return _median(self.errors)

    def text(self) -> str:
        """``found/count, median error``."""
        median = self.median
        where = f"{median:g}" if median is not None else "n/a"
        return f"{self.found}/{self.count}, {where}"


def cell(scores: Scores, items: list[Prepared], family: str, rps: float) -> Cell:
    """A method's figures on one family at one traffic level."""
    chosen = [p.item for p in items if p.item.family == family and p.item.rps == rps]
    errors = [e for s in chosen if (e := _error(s, scores.found[s.name])) is not None]
    found = sum(1 for s in chosen if scores.found[s.name])
    return Cell(found, len(chosen), errors)


def run(*, quick: bool = False) -> Result:  # noqa: C901, PLR0912, PLR0915 - one table after another
    """Run every method over the counts corpus and judge the goals per traffic level."""
    items = [prepare(s) for s in corpus(SEED, every=3 if quick else 1)]
    calls: dict[str, Callable[[Prepared], list[int]]] = {
        "counts": run_counts,
        "ratio": run_ratio,
        "binseg": run_binseg,
        "pelt": run_pelt,
        "zero": lambda _p: [],
        "oracle": run_oracle,
    }
    scores: dict[str, Scores] = {}
    for method, call in calls.items():
        s = Scores()
        began = time.perf_counter()
        for p in items:
            s.found[p.item.name] = call(p)
        s.seconds = time.perf_counter() - began
        scores[method] = s
    rows: list[list[str]] = []
    verdicts: list[str] = []
    missed: list[str] = []
    detectable: list[float] = []
    for rps in LEVELS:
        if not any(p.item.rps == rps for p in items):
            continue
        for method in METHODS:
            sc = scores[method]
            chosen = [p.item for p in items if p.item.rps == rps]
            f1 = statistics.fmean(f_measure(_truth(s), sc.found[s.name]) for s in chosen)
            quiet = [s for s in chosen if s.family not in CHANGE_FAMILIES]
            by_family = {
                fam: sum(1 for s in quiet if s.family == fam and sc.found[s.name])
                for fam in ("none", "spikes", "drop")
            }
            count = {fam: sum(1 for s in quiet if s.family == fam) for fam in by_family}
            rows.append(
                [
                    f"{rps:g}",
                    f"{rps * STEP:g}",
                    LABELS[method],
                    cell(sc, items, "step", rps).text(),
                    cell(sc, items, "ramp", rps).text(),
                    ", ".join(f"{by_family[f]}/{count[f]}" for f in by_family),
                    f"{f1:.3f}",
                ]
            )
        shares = []
        for method in ("counts", "ratio"):
            c_step = cell(scores[method], items, "step", rps)
            c_ramp = cell(scores[method], items, "ramp", rps)
            total = c_step.count + c_ramp.count
            shares.append((c_step.found + c_ramp.found) / total if total else 0.0)
        if max(shares) >= DETECTABLE:
            detectable.append(rps)
    for rps in detectable:
        parts: list[str] = []
        ok = True
        for family, goal in (("step", STEP_GOAL), ("ramp", RAMP_GOAL)):
            new = cell(scores["counts"], items, family, rps)
            old = cell(scores["ratio"], items, family, rps)
            oracle = cell(scores["oracle"], items, family, rps)
            what = "steps" if family == "step" else "ramps"
            where = "" if family == "step" else " from the ramp's start"
            said = (
                f"{new.found}/{new.count} {what}, median error {new.median} samples{where} "
                f"(goal: at most {goal:g}; today's `detect_onset` on the ratio: "
                f"{old.found}/{old.count}, {old.median}; the oracle: {oracle.median})"
            )
            if oracle.median is not None and oracle.median > goal:
                parts.append(f"{said}: not judged, even the oracle's median error is over the goal")
                continue
            met = new.median is not None and new.median <= goal
            ok = ok and met
            parts.append(f"{said}: {'met' if met else 'missed'}")
        sentence = (
            f"**Goal {'met' if ok else 'missed'}**: at {rps:g} requests per second "
            f"({rps * STEP:g} per step), `detect_onset_counts` found " + "; ".join(parts) + "."
        )
        verdicts.append(sentence)
        if not ok:
            missed.append(sentence)
    undetectable = [f"{rps:g}" for rps in LEVELS if rps not in detectable]
    if undetectable:
        verdicts.append(
            "Not judged (neither incidentkit detector found half of the changes, so the "
            f"change counts as undetectable there): {', '.join(undetectable)} requests per "
            "second."
        )
    quiet_all = [p for p in items if p.item.family not in CHANGE_FAMILIES]
    false = {
        m: sum(1 for p in quiet_all if scores[m].found[p.item.name]) for m in ("counts", "ratio")
    }
    verdicts.append(
        f"False onsets on the {len(quiet_all)} series without a change (plain, with error "
        f"bursts, with a traffic drop): {false['counts']} for `detect_onset_counts`, "
        f"{false['ratio']} for today's `detect_onset` on the ratio."
    )
    timing = ", ".join(f"{m} {scores[m].seconds:.1f} s" for m in METHODS)
    ramp_rows = []
    for lo, hi in ((2, 5), (6, 12), (13, 30)):
        row = [f"{lo} to {hi} minutes"]
        for method in ("counts", "ratio", "binseg", "oracle"):
            errors = [
                e
                for p in items
                if p.item.family == "ramp"
                and lo <= p.item.ramp <= hi
                and p.item.rps in detectable
                and (e := _error(p.item, scores[method].found[p.item.name])) is not None
            ]
            med = _median(errors)
            row.append(f"{len(errors)}, {med:g}" if med is not None else "0, n/a")
        ramp_rows.append(row)
    return Result(
        name="onset-counts",
        title="Symptom onset from counts, 0.05 to 2,000 requests per second",
        setup=[
            (
                f"Corpus: `bench/counts_corpus.py`, seed {SEED}, {len(items)} series of bad "
                "and total requests per one-minute step (whole counts, Poisson traffic that "
                "wanders, a bad share that wanders: more variable than binomial counts), at "
                f"{', '.join(f'{r:g}' for r in LEVELS)} requests per second. Families: a "
                "step of the bad share (2 to 30 points), a ramp of 2 to 30 minutes, none, "
                "error bursts of 1 to 3 steps (no onset), a traffic drop (no onset)."
            ),
            (
                "Each cell: series where the method reported something / series, then the "
                "median distance in samples from the labelled onset (the ramp's first step "
                "for a ramp) to the method's nearest change point. False onsets: series "
                "without a change where the method reported one (none, bursts, drop)."
            ),
            (
                "incidentkit's detectors run with their defaults (direction up); ruptures "
                "is run on the ratio with steps without a request dropped."
            ),
            f"Time per method over the corpus: {timing}.",
        ],
        headers=[
            "Requests/s",
            "Per step",
            "Method",
            "Steps: found, median error",
            "Ramps: found, median error",
            "False onsets (none, bursts, drop)",
            "Mean F1",
        ],
        rows=rows,
        verdicts=verdicts,
        missed=missed,
        sections=[
            (
                "Ramp error by ramp length (levels where the change is detectable)",
                markdown_table(
                    [
                        "Ramp",
                        "counts: found, median error",
                        "ratio (today's): found, median error",
                        "Binseg: found, median error",
                        "oracle: median error",
                    ],
                    ramp_rows,
                ),
            )
        ],
        data={m: scores[m].found for m in METHODS},
    )


if __name__ == "__main__":
    import sys

    print(run(quick="--quick" in sys.argv).to_markdown())
