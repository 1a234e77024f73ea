"""Symptom onset on public labelled operations data, side by side with ruptures.

Data: ``bench/data/donut_cpu4.csv`` (provenance and MIT licence in
``bench/data/README.md``): a real server CPU KPI at a 5-minute step, 17,568 samples
over 61 days with a strong daily cycle, and 17 windows that its operators labelled as
anomalous (runs of ``label`` 1): twelve of 3 to 5 samples (spikes, most of them labelled
from the sample before the spike) and five of 9 to 69 samples (the CPU falling to its
floor for hours, a burst of two hours).

Slices: for each labelled window, the samples from ``lead`` before its first labelled
sample to ``TAIL`` after its last one, cut short at the end of the previous labelled
window and before the start of the next, so that a slice holds one labelled window and
no other; ``lead`` is 3 days (the detector's daily comparison needs two), and, in a
full run, 1 day. The true onset is the window's first labelled sample.

Methods, on the same slices, told nothing but the series:

- ``incidentkit.analysis.detect_onset(series, direction="either", spikes=True)``, every
  other setting its default (not tuned on these data); its first change point is the
  onset, the second the end it reports, if any;
- ruptures ``Binseg`` (``model="l2"``, ``n_bkps=1``) with its default ``jump=5`` and with
  ``jump=1``;
- ruptures ``Pelt`` (``model="l2"``, ``jump=1``, ``min_size=2``) with the onset
  benchmark's penalty ``2 * sigma**2 * ln(n)``, sigma from the MAD of the first
  differences; its first breakpoint is its onset.

Scores per method: onsets inside the labelled window (the first change point between
the window's first and last labelled samples, both included), slices where any of its
change points falls inside (generous to Pelt, which returns many), no detection, and the
median distance in samples from the true onset to the first and to the nearest change
point, over the slices where the method returned one.
"""

from __future__ import annotations

import csv
import datetime as dt
import statistics
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import ruptures as rpt
from _common import BENCH_DIR, Result, markdown_table
from bench_onset import pelt_penalty

from incidentkit import InvalidInputError, MetricQuery, Series
from incidentkit.analysis import detect_onset

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

DATA = BENCH_DIR / "data" / "donut_cpu4.csv"
STEP = 300.0
LEADS = (864, 288)
"""Lead-in before each labelled window, in samples: 3 days, then 1 day (full run only)."""
QUICK_LEADS = (864,)
TAIL = 36
"""Samples kept after each labelled window's last sample (3 hours)."""
SHORT = 5
"""A labelled window of at most this many samples is a spike (``min_duration``)."""
METHODS = ("incidentkit", "daily", "binseg5", "binseg1", "pelt")
LABELS = {
    "incidentkit": 'incidentkit `detect_onset` (direction="either", spikes=True)',
    "daily": 'incidentkit `detect_onset` (the same, seasonality="daily", opt-in)',
    "binseg5": "ruptures Binseg (l2, 1 bkp, jump=5)",
    "binseg1": "ruptures Binseg (l2, 1 bkp, jump=1)",
    "pelt": "ruptures Pelt (l2, jump=1, BIC-like pen)",
}
RIVALS = ("binseg5", "binseg1", "pelt")


@dataclass(frozen=True)
class Labelled:
    """The KPI as read from the CSV: instants, values and labels."""

    times: list[float]
    values: list[float]
    labels: list[int]


def load(path: Path = DATA) -> Labelled:
    """Read the CSV (``timestamp,value,label``)."""
    times: list[float] = []
    values: list[float] = []
    labels: list[int] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            times.append(float(row["timestamp"]))
            values.append(float(row["value"]))
            labels.append(int(row["label"]))
    return Labelled(times, values, labels)


def windows(labels: Sequence[int]) -> list[tuple[int, int]]:
    """The runs of label 1 as ``(first, last)`` sample indices, both included."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for i, label in enumerate(labels):
        if label and start is None:
            start = i
        elif not label and start is not None:
            runs.append((start, i - 1))
            start = None
    if start is not None:
        runs.append((start, len(labels) - 1))
    return runs


@dataclass(frozen=True)
class Slice:
    """One labelled window with its lead-in and tail, ready for every method."""

    number: int
    first: int
    """Index of the window's first labelled sample in the slice (the true onset)."""
    last: int
    """Index of the window's last labelled sample in the slice."""
    series: Series
    array: np.ndarray
    start: float
    """The instant of the window's first labelled sample."""

    @property
    def lead(self) -> int:
        """The samples before the window: the lead-in this slice got."""
        return self.first

    @property
    def length(self) -> int:
        """The labelled window's length in samples."""
        return self.last - self.first + 1


def cut(data: Labelled, lead: int) -> list[Slice]:
    """One slice per labelled window: ``lead`` before it, ``TAIL`` after, no other window."""
    runs = windows(data.labels)
    slices = []
    for number, (first, last) in enumerate(runs, 1):
        floor = runs[number - 2][1] + 1 if number > 1 else 0
        ceiling = runs[number][0] - 1 if number < len(runs) else len(data.values) - 1
        lo = max(floor, first - lead)
        hi = min(ceiling, last + TAIL)
        times = data.times[lo : hi + 1]
        values = data.values[lo : hi + 1]
        query = MetricQuery("donut", f"cpu4 window {number}", times[0], times[-1], STEP)
        series = Series.from_pairs(query, zip(times, values, strict=True))
        slices.append(
            Slice(
                number,
                first - lo,
                last - lo,
                series,
                np.array(values, dtype=float),
                times[first - lo],
            )
        )
    return slices


# -- the methods -----------------------------------------------------------------------------


def run_incidentkit(s: Slice) -> list[int]:
    """The onset and, if it reports one, the end, as sample indices."""
    onset = detect_onset(s.series, direction="either", spikes=True)
    if onset is None:
        return []
    return [onset.index] + ([onset.end_index] if onset.end_index is not None else [])


def run_daily(s: Slice) -> list[int]:
    """The same with ``seasonality="daily"``: nothing when the slice cannot have it."""
    try:
        onset = detect_onset(s.series, direction="either", spikes=True, seasonality="daily")
    except InvalidInputError:
        return []
    if onset is None:
        return []
    return [onset.index] + ([onset.end_index] if onset.end_index is not None else [])


def _inner(breakpoints: list[int], n: int) -> list[int]:
    return [b for b in breakpoints if 0 < b < n]


def run_binseg(s: Slice, jump: int) -> list[int]:
    """Ruptures' Binseg, l2 cost, one breakpoint."""
    bkps = rpt.Binseg(model="l2", jump=jump).fit(s.array).predict(n_bkps=1)
    return _inner(bkps, len(s.array))


def run_pelt(s: Slice) -> list[int]:
    """Ruptures' Pelt, l2, jump=1, the onset benchmark's penalty."""
    bkps = rpt.Pelt(model="l2", jump=1, min_size=2).fit(s.array).predict(pen=pelt_penalty(s.array))
    return _inner(bkps, len(s.array))


CALLS: dict[str, Callable[[Slice], list[int]]] = {
    "incidentkit": run_incidentkit,
    "daily": run_daily,
    "binseg5": lambda s: run_binseg(s, 5),
    "binseg1": lambda s: run_binseg(s, 1),
    "pelt": run_pelt,
}


# -- scoring ---------------------------------------------------------------------------------


@dataclass
class Found:
    """What one method returned on every slice, and how long it took."""

    points: dict[int, list[int]]
    seconds: float


def evaluate(slices: list[Slice]) -> dict[str, Found]:
    """Run every method on every slice."""
    found: dict[str, Found] = {}
    for method in METHODS:
        call = CALLS[method]
        began = time.perf_counter()
        points = {s.number: sorted(call(s)) for s in slices}
        found[method] = Found(points, time.perf_counter() - began)
    return found


def inside(s: Slice, point: int) -> bool:
    """Whether a change point falls inside the labelled window."""
    return s.first <= point <= s.last


def _median(values: Sequence[int]) -> str:
    return f"{statistics.median(values):g}" if values else "n/a"


@dataclass(frozen=True)
class Tally:
    """One method's counts over a set of slices."""

    slices: int
    first_inside: int
    any_inside: int
    none: int
    first_errors: list[int]
    nearest_errors: list[int]


def tally(slices: list[Slice], found: Found) -> Tally:
    """Count onsets inside the windows and collect the errors."""
    first_inside = any_inside = none = 0
    first_errors: list[int] = []
    nearest_errors: list[int] = []
    for s in slices:
        points = found.points[s.number]
        if not points:
            none += 1
            continue
        first_inside += inside(s, points[0])
        any_inside += any(inside(s, p) for p in points)
        first_errors.append(abs(points[0] - s.first))
        nearest_errors.append(min(abs(p - s.first) for p in points))
    return Tally(len(slices), first_inside, any_inside, none, first_errors, nearest_errors)


HEADERS = [
    "Method",
    "Slices",
    "Onset inside the labelled window",
    "Any change point inside",
    "No detection",
    "Median error, onset (samples)",
    "Median error, nearest change point",
    "Time",
]


def _row(method: str, t: Tally, seconds: float | None) -> list[str]:
    return [
        LABELS[method],
        str(t.slices),
        f"{t.first_inside}/{t.slices}",
        f"{t.any_inside}/{t.slices}",
        str(t.none),
        _median(t.first_errors),
        _median(t.nearest_errors),
        f"{seconds:.2f} s" if seconds is not None else "",
    ]


def _when(instant: float) -> str:
    return dt.datetime.fromtimestamp(instant, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M")


def _cell(s: Slice, points: list[int]) -> str:
    if not points:
        return "none"
    offset = points[0] - s.first
    mark = " (inside)" if inside(s, points[0]) else ""
    return f"{offset:+d}{mark}"


@dataclass(frozen=True)
class Run:
    """Every method's findings on the slices cut with one lead-in."""

    lead: int
    slices: list[Slice]
    found: dict[str, Found]

    def tallies(self, keep: Callable[[Slice], bool] | None = None) -> dict[str, Tally]:
        """Each method's tally over every slice, or over those ``keep`` accepts."""
        chosen = [s for s in self.slices if keep is None or keep(s)]
        return {m: tally(chosen, self.found[m]) for m in METHODS}

    def table(self) -> str:
        """The summary table: every slice, then spikes and longer windows apart."""
        rows = [_row(m, t, self.found[m].seconds) for m, t in self.tallies().items()]
        return markdown_table(HEADERS, rows)

    def breakdown(self) -> str:
        """Onsets inside the window, spikes and longer windows apart."""
        short = self.tallies(lambda s: s.length <= SHORT)
        long = self.tallies(lambda s: s.length > SHORT)
        rows = [
            [
                LABELS[m],
                f"{short[m].first_inside}/{short[m].slices}",
                _median(short[m].first_errors),
                f"{long[m].first_inside}/{long[m].slices}",
                _median(long[m].first_errors),
            ]
            for m in METHODS
        ]
        return markdown_table(
            [
                "Method",
                f"Onset inside, windows of at most {SHORT} samples",
                "Median error there",
                f"Onset inside, windows of more than {SHORT} samples",
                "Median error there",
            ],
            rows,
        )

    def per_window(self) -> str:
        """Each window: when, how long, the lead-in, and each method's onset offset."""
        rows = [
            [
                str(s.number),
                _when(s.start),
                str(s.length),
                str(s.lead),
                *(_cell(s, self.found[m].points[s.number]) for m in METHODS),
            ]
            for s in self.slices
        ]
        return markdown_table(
            [
                "Window",
                "First labelled sample (UTC)",
                "Labelled samples",
                "Lead-in",
                *(LABELS[m] for m in METHODS),
            ],
            rows,
        )


def measure(data: Labelled, lead: int) -> Run:
    """Cut the slices with ``lead`` and run every method on them."""
    slices = cut(data, lead)
    return Run(lead, slices, evaluate(slices))


def _verdicts(run: Run) -> tuple[list[str], list[str]]:
    tallies = run.tallies()
    mine = tallies["incidentkit"]
    verdicts: list[str] = []
    missed: list[str] = []
    for rival in RIVALS:
        theirs = tallies[rival]
        ok = mine.first_inside >= theirs.first_inside
        sentence = (
            f"**Goal {'met' if ok else 'missed'}**: on the {mine.slices} labelled windows "
            f"of the public CPU KPI (lead-in up to {run.lead} samples), detect_onset puts "
            f"its onset inside the window on {mine.first_inside}, against "
            f"{theirs.first_inside} for {LABELS[rival]} (goal: at least as many); median "
            f"onset error {_median(mine.first_errors)} against "
            f"{_median(theirs.first_errors)} samples."
        )
        if rival == "pelt":
            sentence += (
                f" Counting any of Pelt's change points inside the window (it returns "
                f"many): {theirs.any_inside}."
            )
        verdicts.append(sentence)
        if not ok:
            missed.append(sentence)
    return verdicts, missed


def unavailable() -> Result:
    """The result when the data file is missing."""
    return Result(
        name="realdata",
        title="Symptom onset on public labelled operations data",
        setup=[f"The data file `{DATA.relative_to(BENCH_DIR.parent)}` is missing: not run."],
        headers=["Method"],
        rows=[],
        verdicts=["Not measured: the public labelled data is unavailable."],
    )


def run(*, quick: bool = False) -> Result:
    """Run detect_onset and ruptures on every labelled window, at each lead-in."""
    if not DATA.exists():
        return unavailable()
    data = load()
    runs = [measure(data, lead) for lead in (QUICK_LEADS if quick else LEADS)]
    main = runs[0]
    verdicts, missed = _verdicts(main)
    for other in runs[1:]:
        missed.extend(_verdicts(other)[1])
    lengths = [s.length for s in main.slices]
    short_leads = [f"window {s.number}: {s.lead}" for s in main.slices if s.lead < main.lead]
    sections = [
        (
            f"Each window (lead-in up to {main.lead} samples)",
            "Where each method put its onset, in samples from the window's first labelled "
            "sample (negative: before it); *(inside)* when it falls in the window.\n\n"
            + main.per_window(),
        ),
        (
            f"Spikes and longer windows (lead-in up to {main.lead} samples)",
            main.breakdown(),
        ),
    ]
    for other in runs[1:]:
        extra_verdicts, _ = _verdicts(other)
        sections.append(
            (
                f"With a lead-in of up to {other.lead} samples",
                other.table() + "\n\n" + other.breakdown() + "\n\n" + "\n\n".join(extra_verdicts),
            )
        )
    return Result(
        name="realdata",
        title="Symptom onset on public labelled operations data",
        setup=[
            (
                "Data: `bench/data/donut_cpu4.csv`, a real server CPU KPI at a 5-minute "
                f"step ({len(data.values):,} samples, standardised as published), from "
                "`sample_data/cpu4.csv` of NetManAIOps/donut (MIT; provenance in "
                "`bench/data/README.md`). Labelled windows: "
                f"{len(lengths)}, of {min(lengths)} to {max(lengths)} samples "
                f"({sum(1 for n in lengths if n <= SHORT)} of at most {SHORT})."
            ),
            (
                f"Slices: from {main.lead} samples (3 days) before each window's first "
                f"labelled sample to {TAIL} after its last, cut short at the neighbouring "
                "windows so that each slice holds one labelled window"
                + (f" (shorter lead-ins: {', '.join(short_leads)})" if short_leads else "")
                + ". The true onset is the window's first labelled sample; an onset counts "
                "as inside when it lies between the first and the last labelled sample."
            ),
            (
                'detect_onset is called with direction="either" and spikes=True, every '
                "other setting its default: it was not tuned on these data. ruptures is "
                "direction-blind and gets the same values as a float64 array."
            ),
            (
                "A single KPI with 17 windows: a small sample, reported as counts; one "
                "window more or less changes a comparison."
            ),
        ],
        headers=HEADERS,
        rows=[_row(m, t, main.found[m].seconds) for m, t in main.tallies().items()],
        verdicts=verdicts,
        missed=missed,
        sections=sections,
        data={
            "leads": [r.lead for r in runs],
            "points": {str(r.lead): {m: r.found[m].points for m in METHODS} for r in runs},
            "windows": [[s.first, s.last, s.lead] for s in main.slices],
        },
    )


if __name__ == "__main__":
    import sys

    print(run(quick="--quick" in sys.argv).to_markdown())
