"""Bounded inputs: how much of a series the journal keeps, and how large a record may be.

The analyses always use the whole series a source answered; what is *journaled* is
bounded, so that a ten-million-point answer does not become a 250 MB journal line that
every later resume has to read. A series longer than :data:`MAX_JOURNALED_POINTS` is
reduced for the journal by keeping, in each of a fixed number of runs of consecutive
samples, the lowest and the highest value and the first gap, plus the series' first and
last samples: a chart drawn from it shows every spike, dip and hole the full series
had. The step records an observation finding saying what was reduced.
"""

from __future__ import annotations

import itertools
import math
from array import array
from typing import Final

from incidentkit._model import Series, columnar, columns

__all__ = ["MAX_JOURNALED_POINTS", "reduced_for_journal"]

MAX_JOURNALED_POINTS: Final = 10_000
"""The most samples of one series that a journal record keeps (about 300 KB of JSON).

.. versionadded:: 0.2.0
"""


def _kept(values: Series, lo: int, hi: int) -> list[int]:
    """The indexes ``lo <= i < hi`` to keep: the lowest, the highest and the first gap."""
    chunk = columns(values)[1][lo:hi]
    present = list(itertools.filterfalse(math.isnan, chunk))
    keep: set[int] = set()
    if present:
        keep.add(lo + chunk.index(min(present)))
        keep.add(lo + chunk.index(max(present)))
    if len(present) < len(chunk):
        keep.add(lo + next(i for i, value in enumerate(chunk) if math.isnan(value)))
    return sorted(keep)


def reduced_for_journal(series: Series, limit: int = MAX_JOURNALED_POINTS) -> tuple[Series, str]:
    """Return the series to journal and, when it was reduced, a sentence saying how.

    A series of at most ``limit`` samples is returned as it is, with ``""``.
    """
    count = len(series)
    if count <= limit:
        return series, ""
    runs = max(1, (limit - 2) // 3)
    keep = {0, count - 1}
    for run in range(runs):
        keep.update(_kept(series, run * count // runs, (run + 1) * count // runs))
    order = sorted(keep)
    times, values = columns(series)
    reduced = columnar(
        type(series),
        series.query,
        (
            array("d", map(times.__getitem__, order)),
            array("d", map(values.__getitem__, order)),
            series.non_finite,
        ),
        series.warnings,
    )
    query = series.query
    detail = (
        f"{query.source}: {query.query!r} answered {count:,} samples; the journal keeps "
        f"{len(order):,} of them (the first and the last, and in each of {runs:,} runs of "
        f"about {count // runs:,} samples the lowest value, the highest and the first gap), "
        f"at most {limit:,} a series; the analysis used all {count:,}"
    )
    return reduced, detail
