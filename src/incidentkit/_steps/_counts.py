"""Errors given as counts: what to query, and the bad, total and ratio series they make."""

from __future__ import annotations

import math
from array import array

import attrs

from incidentkit._model import Series, columnar, columns
from incidentkit._specs import Counts, LatencyCounts, Metric

__all__ = ["CountSeries", "count_metrics", "derive"]

_ROUNDING = 0.5  # counts from increase() are extrapolated: half a request either way is noise


@attrs.frozen
class CountSeries:
    """The series made from counts: bad and total requests per step, and the bad share."""

    bad: Series
    total: Series
    ratio: Series
    problems: tuple[str, ...]


def count_metrics(spec: Counts | LatencyCounts) -> tuple[Metric, Metric]:
    """Return the two metrics to query: (bad or fast, total)."""
    first = spec.bad if isinstance(spec, Counts) else spec.fast
    return first, spec.total


def derive(spec: Counts | LatencyCounts, first: Series, total: Series) -> CountSeries:
    """Align the two answers on the first one's instants and derive bad, total and the share.

    A sample is a gap (NaN) in all three where either count is missing, where
    a count is negative, or where the bad (or fast) requests outnumber all
    requests by more than rounding; each such sample is named in ``problems``.
    For :class:`LatencyCounts` bad is ``total - fast``.
    """
    times, values = columns(first)
    total_times, total_values = columns(total)
    by_instant = dict(zip((round(t * 1e6) for t in total_times), total_values, strict=True))
    nan = math.nan
    bad_column = array("d")
    total_column = array("d")
    ratio_column = array("d")
    inconsistent = 0
    latency = isinstance(spec, LatencyCounts)
    difference = (
        f"({spec.total.query}) - ({spec.fast.query})" if isinstance(spec, LatencyCounts) else ""
    )
    for at, value in zip(times, values, strict=True):
        count = by_instant.get(round(at * 1e6), nan)
        bad = count - value if latency else value
        usable = value == value and count == count and value >= 0 and count >= 0  # noqa: PLR0124
        if usable and not (-_ROUNDING <= bad <= count + _ROUNDING):
            usable = False
            inconsistent += 1
        if not usable:
            bad_column.append(nan)
            total_column.append(nan)
            ratio_column.append(nan)
            continue
        bad = min(max(bad, 0.0), count)
        bad_column.append(bad)
        total_column.append(count)
        ratio_column.append(bad / count if count > 0 else nan)
    bad_text = difference or first.query.query
    problems: tuple[str, ...] = ()
    if inconsistent:
        what = "fast requests" if latency else "bad requests"
        problems = (
            (
                f"{first.query.source}: {inconsistent} sample(s) of {first.query.query!r} count "
                f"more {what} than all requests ({spec.total.query!r}): left out as gaps"
            ),
        )
    bad_query = attrs.evolve(first.query, query=bad_text)
    ratio_query = attrs.evolve(
        first.query, query=f"({bad_text}) / ({spec.total.query})", unit="ratio"
    )
    total_query = attrs.evolve(first.query, query=spec.total.query)
    kept = array("d", times)
    return CountSeries(
        columnar(Series, bad_query, (kept, bad_column, first.non_finite), first.warnings),
        columnar(Series, total_query, (kept, total_column, total.non_finite), total.warnings),
        columnar(Series, ratio_query, (kept, ratio_column, first.non_finite), ()),
        problems,
    )
