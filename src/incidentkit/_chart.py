"""What the report's chart shows, gathered from the journal and downsampled.

The chart of an incident is the error series and the traffic series over the
incident, with the symptom's onset, the ranked suspect changes, the
interventions, the start of the healthy streak, each recovery check's verdict
and the baseline band marked on it. :func:`build_chart` gathers them from the
incident's state: the series the impact assessment and each recovery check
journaled (the same query's samples merged, a later reading winning), clipped to
the incident's window and reduced to at most :data:`CHART_COLUMNS` columns by
keeping, in each column, the lowest and the highest value and the first gap
(:func:`downsample`): whatever the series' length, a spike or a hole stays on
the chart, and the report stays small.

Nothing here draws: the renderers (``incidentkit.reports``) do, and they are
the only ones to load Jinja2 or matplotlib.
"""

from __future__ import annotations

import bisect
import enum
import itertools
import math
from array import array
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Final

import attrs
import pendulum

from incidentkit._events import ImpactAssessed, RecoveryChecked, RollbackExecuted
from incidentkit._model import Series, columnar, columns
from incidentkit._recovery import RecoveryOutcome

if TYPE_CHECKING:
    from incidentkit._state import IncidentState
    from incidentkit.analysis._suspects import SuspectRanking

__all__ = [
    "CHART_COLUMNS",
    "MAX_SUSPECT_MARKERS",
    "ChartBand",
    "ChartData",
    "ChartMarker",
    "ChartMarkerKind",
    "ChartSeries",
    "build_chart",
    "downsample",
]

CHART_COLUMNS: Final = 1000
"""The most columns a chart's series is reduced to (each keeps at most three samples).

.. versionadded:: 0.3.0
"""

MAX_SUSPECT_MARKERS: Final = 8
"""The most suspects marked on the chart, best first (the table lists them all).

.. versionadded:: 0.3.0
"""

_TOP_SUSPECTS: Final = 3
"""The suspects highlighted on the chart: the first three that score at least the minimum."""

_MIN_PAD: Final = 30 * 60.0
"""The least time shown before the symptom start, in seconds."""


class ChartMarkerKind(enum.Enum):
    """What a chart marker marks.

    .. versionadded:: 0.3.0
    """

    ONSET = "onset"
    """The symptom's start: detected in the error series, or as assessed."""
    SUSPECT = "suspect"
    """A ranked suspect change, at its start; its label is its rank."""
    INTERVENTION = "intervention"
    """A rollback or a mitigation (``ok`` is whether it succeeded)."""
    HEALTHY_SINCE = "healthy_since"
    """The start of the latest recovery check's healthy streak."""
    RECOVERY_CHECK = "recovery_check"
    """A recovery check, with its verdict (``ok`` is whether it said recovered)."""


@attrs.frozen
class ChartMarker:
    """One instant marked on the chart.

    Attributes:
        kind: What it marks.
        at: When.
        label: A short label drawn beside it (a suspect's rank, ``rollback``).
        detail: What it is, in a few words (a change's kind, id and service).
        highlighted: Whether it is one of the top suspects (suspects only).
        ok: Whether an intervention succeeded or a check said recovered
            (always true for the others).

    .. versionadded:: 0.3.0
    """

    kind: ChartMarkerKind
    at: pendulum.DateTime
    label: str
    detail: str
    highlighted: bool = False
    ok: bool = True


@attrs.frozen
class ChartSeries:
    """A series as the chart draws it: clipped to the chart's window and downsampled.

    Attributes:
        name: ``errors`` or ``traffic``.
        source: The metric source that answered.
        query: The query asked.
        unit: Its unit.
        times: The instants kept, in Unix seconds, increasing.
        values: Their values, ``None`` for a gap.
        points: How many samples the window held before downsampling.

    .. versionadded:: 0.3.0
    """

    name: str
    source: str
    query: str
    unit: str
    times: tuple[float, ...]
    values: tuple[float | None, ...]
    points: int


@attrs.frozen
class ChartBand:
    """The baseline band: the values counted as back at baseline, and the window they came from.

    Attributes:
        low: The baseline level.
        high: The highest error value counted as healthy (the recovery threshold).
        start: The start of the baseline window.
        end: Its end (the symptom start).

    .. versionadded:: 0.3.0
    """

    low: float
    high: float
    start: pendulum.DateTime
    end: pendulum.DateTime


@attrs.frozen
class ChartData:
    """Everything the report's chart shows.

    Attributes:
        start: The left edge of the chart.
        end: The right edge.
        errors: The error series, if any was read.
        traffic: The traffic series, if any was read.
        markers: The onset, suspects, interventions, healthy-streak start and
            recovery checks inside the window, in that order.
        baseline: The baseline band of the latest recovery check that had one.
        columns: The columns the series were downsampled to.

    .. versionadded:: 0.3.0
    """

    start: pendulum.DateTime
    end: pendulum.DateTime
    errors: ChartSeries | None
    traffic: ChartSeries | None
    markers: tuple[ChartMarker, ...]
    baseline: ChartBand | None
    columns: int = CHART_COLUMNS

    def of_kind(self, kind: ChartMarkerKind) -> tuple[ChartMarker, ...]:
        """Return the markers of one kind, in order."""
        return tuple(marker for marker in self.markers if marker.kind is kind)


def downsample(
    times: Sequence[float],
    values: Sequence[float],
    start: float,
    end: float,
    columns: int = CHART_COLUMNS,
) -> tuple[list[float], list[float]]:
    """Reduce the samples between ``start`` and ``end`` to at most three a column.

    The window ``[start, end]`` is cut into ``columns`` equal columns; each keeps
    its lowest and its highest value and its first gap (NaN), in time order, so
    that a chart drawn from the result has every spike, dip and hole the series
    had. The samples just outside the window on either side are kept too, so a
    line reaches the edges. A window with few samples is returned as it is.

    Args:
        times: Unix seconds, strictly increasing.
        values: The values, NaN for a gap.
        start: The window's start, in Unix seconds.
        end: Its end.
        columns: How many columns (pixels, say) the chart has.

    Returns:
        The instants and values kept.
    """
    lo = max(0, bisect.bisect_left(times, start) - 1)
    hi = min(len(times), bisect.bisect_right(times, end) + 1)
    if hi - lo <= 2 * columns or end <= start:
        return list(times[lo:hi]), list(values[lo:hi])
    keep = {lo, hi - 1}
    width = (end - start) / columns
    edge = lo
    for column in range(1, columns + 1):
        stop = hi if column == columns else bisect.bisect_left(times, start + column * width, edge)
        if stop > edge:
            keep.update(_extremes(values, edge, stop))
        edge = stop
    order = sorted(keep)
    return [times[i] for i in order], [values[i] for i in order]


def _extremes(values: Sequence[float], lo: int, hi: int) -> list[int]:
    """The indexes of the lowest and highest value in ``values[lo:hi]`` and of its first gap."""
    chunk = values[lo:hi]
    present = list(itertools.filterfalse(math.isnan, chunk))
    found: list[int] = []
    if present:
        found += [lo + chunk.index(min(present)), lo + chunk.index(max(present))]
    if len(present) < len(chunk):
        found.append(lo + next(i for i, value in enumerate(chunk) if math.isnan(value)))
    return found


def _merged(readings: Iterable[Series]) -> tuple[array[float], array[float]] | None:
    """The samples of several readings of one query, a later reading winning on an instant."""
    by_instant: dict[float, float] = {}
    for series in readings:
        times, values = columns(series)
        by_instant.update(zip(times, values, strict=True))
    if not by_instant:
        return None
    ordered = sorted(by_instant)
    return array("d", ordered), array("d", map(by_instant.__getitem__, ordered))


def _checked(event: RecoveryChecked, name: str) -> Series | None:
    """The series a recovery check read, as the chart draws it.

    A check judged on counts read bad and all requests; its band is a share,
    so the chart draws the share of each sample (as the assessment measured
    it, under the same query text), not the bad count.
    """
    if name != "errors":
        return event.traffic
    bad, total = event.errors, event.traffic
    if event.verdict.test != "exact-binomial" or bad is None or total is None:
        return bad
    by_instant = dict(zip(*columns(total), strict=True))
    times, values = columns(bad)
    shares = array(
        "d",
        (
            value / count if count > 0 else math.nan
            for value, count in zip(
                values, (by_instant.get(at, math.nan) for at in times), strict=True
            )
        ),
    )
    query = attrs.evolve(
        bad.query, query=f"({bad.query.query}) / ({total.query.query})", unit="ratio"
    )
    return columnar(Series, query, (times, shares, bad.non_finite))


def _readings(state: IncidentState, name: str) -> list[Series]:
    """The readings of the ``errors`` or ``traffic`` metric, in journal order, one query's only.

    The query is the one the latest recovery check read (else the assessment's):
    a reading of another query is a different series and is left out.
    """
    found: list[Series] = []
    for event in state.events:
        if isinstance(event, ImpactAssessed):
            found += [m.series for m in event.measurements if m.name == name]
        elif isinstance(event, RecoveryChecked):
            series = _checked(event, name)
            if series is not None:
                found.append(series)
    if not found:
        return []
    query = found[-1].query
    wanted = (query.source, query.query)
    return [s for s in found if (s.query.source, s.query.query) == wanted]


def _chart_series(
    readings: list[Series], name: str, start: float, end: float
) -> ChartSeries | None:
    merged = _merged(readings)
    if merged is None:
        return None
    times, values = merged
    lo = bisect.bisect_left(times, start)
    hi = bisect.bisect_right(times, end)
    kept_times, kept_values = downsample(times, values, start, end)
    query = readings[-1].query
    return ChartSeries(
        name,
        query.source,
        query.query,
        query.unit,
        tuple(kept_times),
        tuple(None if math.isnan(v) else v for v in kept_values),
        hi - lo,
    )


def _window(
    state: IncidentState, readings: list[Series], anchor: pendulum.DateTime
) -> tuple[float, float]:
    """The chart's window: from before the symptom (the baseline included) to the last sample."""
    last = max((columns(s)[0][-1] for s in readings if len(s)), default=None)
    latest = max(
        (e.at for e in state.events if isinstance(e, RecoveryChecked)), default=state.latest_at
    )
    end = max(last if last is not None else latest.timestamp(), anchor.timestamp())
    pad = max(_MIN_PAD, (end - anchor.timestamp()) / 2)
    start = anchor.timestamp() - pad
    if state.checks:
        start = min(start, state.checks[-1].baseline_start.timestamp())
    first = min((columns(s)[0][0] for s in readings if len(s)), default=start)
    return max(start, first), end


def _instant(seconds: float) -> pendulum.DateTime:
    return pendulum.from_timestamp(seconds, tz=pendulum.UTC)


def _markers(
    state: IncidentState, ranking: SuspectRanking, start: float, end: float
) -> tuple[ChartMarker, ...]:
    """The markers inside ``[start, end]``: onset, suspects, interventions, streak, checks."""
    markers: list[ChartMarker] = []
    onset = state.impact_event.onset if state.impact_event is not None else None
    anchor = state.symptom_start
    detected = onset is not None and onset.at == anchor
    markers.append(
        ChartMarker(
            ChartMarkerKind.ONSET,
            anchor,
            "onset" if detected else "symptom start",
            "onset detected in the error series" if detected else "symptom start as assessed",
        )
    )
    likely = [s for s in ranking.suspects if s.score >= ranking.min_score][:_TOP_SUSPECTS]
    in_window = [
        (rank, suspect)
        for rank, suspect in enumerate(ranking.suspects, 1)
        if start <= suspect.change.started.timestamp() <= end
    ]
    for rank, suspect in in_window[:MAX_SUSPECT_MARKERS]:
        change = suspect.change
        markers.append(
            ChartMarker(
                ChartMarkerKind.SUSPECT,
                change.started,
                str(rank),
                f"{change.kind.value} {change.id} of {change.service}, score {suspect.score:.2f}",
                highlighted=suspect in likely,
            )
        )
    for event in state.interventions:
        if isinstance(event, RollbackExecuted):
            label, detail, ok = "rollback", event.option.describe(), event.succeeded
        else:
            label, detail, ok = "mitigation", event.action, True
        markers.append(ChartMarker(ChartMarkerKind.INTERVENTION, event.at, label, detail, ok=ok))
    if state.checks and state.checks[-1].verdict.healthy_since is not None:
        since = state.checks[-1].verdict.healthy_since
        markers.append(
            ChartMarker(
                ChartMarkerKind.HEALTHY_SINCE,
                since,
                "healthy since",
                "the start of the healthy streak the latest recovery check judged",
            )
        )
    for check in state.checks:
        outcome = check.verdict.outcome
        markers.append(
            ChartMarker(
                ChartMarkerKind.RECOVERY_CHECK,
                check.at,
                outcome.value,
                f"recovery check by {check.actor}: {outcome.value}",
                ok=outcome is RecoveryOutcome.RECOVERED,
            )
        )
    return tuple(m for m in markers if start <= m.at.timestamp() <= end)


def _band(state: IncidentState) -> ChartBand | None:
    """The baseline band of the latest recovery check that compared against a baseline."""
    for check in reversed(state.checks):
        verdict = check.verdict
        if verdict.baseline_level is not None and verdict.threshold is not None:
            return ChartBand(
                verdict.baseline_level, verdict.threshold, check.baseline_start, check.baseline_end
            )
    return None


def build_chart(state: IncidentState, ranking: SuspectRanking) -> ChartData | None:
    """Gather the chart of an incident from its state, or ``None`` without an error series.

    Args:
        state: The incident's folded state.
        ranking: Its suspects, ranked (the report's own ranking).
    """
    errors = _readings(state, "errors")
    if not errors:
        return None
    traffic = _readings(state, "traffic")
    start, end = _window(state, errors, state.symptom_start)
    return ChartData(
        _instant(start),
        _instant(end),
        _chart_series(errors, "errors", start, end),
        _chart_series(traffic, "traffic", start, end),
        _markers(state, ranking, start, end),
        _band(state),
    )
