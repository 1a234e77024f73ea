"""What to ask a metric source: the specs the steps take as arguments."""

from __future__ import annotations

from typing import Final, Literal, TypeAlias, cast

import attrs

from incidentkit._errors import InvalidInputError
from incidentkit._numbers import is_finite
from incidentkit.protocols import MetricSource

__all__ = [
    "TIME_UNITS",
    "Counts",
    "ErrorSpec",
    "LatencyCounts",
    "Measure",
    "Metric",
    "Threshold",
    "refuse_time_unit",
]

TIME_UNITS: Final = frozenset(
    {
        "s",
        "sec",
        "secs",
        "second",
        "seconds",
        "ms",
        "millisecond",
        "milliseconds",
        "us",
        "µs",
        "ns",
        "min",
        "minutes",
    }
)
"""Units that say a metric is a duration, never an error ratio."""


def _positive_step(_instance: object, _attribute: attrs.Attribute[float], value: float) -> None:
    if not (is_finite(value) and value > 0):
        msg = f"step must be a positive number of seconds, not {value!r}"
        raise InvalidInputError(msg)


@attrs.frozen
class Metric:
    """A query on a metric source: where to ask, what, in which unit, at what step.

    Example:
        ``Metric(prometheus, 'sum(rate(http_errors[5m])) / sum(rate(http_requests[5m]))',
        unit="ratio")``

    .. versionadded:: 0.1.0
    """

    source: MetricSource
    query: str
    unit: str = ""
    step: float = attrs.field(default=60.0, validator=_positive_step)


@attrs.frozen
class Measure:
    """An impact figure to measure: a name, a metric and how to reduce its series.

    The figure is the series over the symptom window (from the symptom start to
    now) reduced to one number by ``reduce``.

    .. versionadded:: 0.1.0
    """

    name: str
    metric: Metric
    reduce: Literal["max", "mean", "last", "min"] = "max"


def _same_step(instance: Counts | LatencyCounts, _attribute: object, total: Metric) -> None:
    first = instance.bad if isinstance(instance, Counts) else instance.fast
    pair = cast("tuple[object, object]", (first, total))
    if not all(isinstance(metric, Metric) for metric in pair):
        msg = "the counts must be two Metric queries"
        raise InvalidInputError(msg)
    if first.step != total.step:
        msg = (
            f"the two counts must be queried at the same step, not {first.step:g} s and "
            f"{total.step:g} s: each sample counts the requests of one step"
        )
        raise InvalidInputError(msg)


@attrs.frozen
class Counts:
    """Bad requests and all requests, as counts per step: the errors of an SLO, with their weight.

    With counts the analyses know how much evidence each sample holds: a
    quiet service's recovery is judged by exact binomial bounds
    (:func:`~incidentkit.analysis.check_recovery_counts`) rather than on
    ratios that jump between 0 and large values by chance.

    Example:
        ``Counts(Metric(prom, 'sum(increase(http_requests_total{code=~"5.."}[1m]))'),
        Metric(prom, 'sum(increase(http_requests_total[1m]))'))``

    Attributes:
        bad: Bad requests per step (Prometheus: ``increase()`` over the step).
        total: All requests per step, at the same step.

    .. versionadded:: 0.3.0
    """

    bad: Metric
    total: Metric = attrs.field(validator=_same_step)


def _positive_threshold(_instance: object, _attribute: object, value: float) -> None:
    if not (is_finite(value) and value > 0):
        msg = f"threshold must be a positive number of seconds, not {value!r}"
        raise InvalidInputError(msg)


@attrs.frozen
class LatencyCounts:
    """A latency objective from a histogram: requests slower than ``threshold`` are the bad ones.

    From Prometheus' ``le`` buckets the bad share is ``1 - bucket(threshold) /
    count``: ``fast`` is the increase per step of the bucket whose ``le`` is
    the threshold, ``total`` that of the histogram's ``_count``. Judged as
    :class:`Counts` with ``bad = total - fast``.

    Example:
        ``LatencyCounts(Metric(prom, 'sum(increase(http_request_duration_seconds_bucket'
        '{le="0.3"}[1m]))'), Metric(prom, 'sum(increase(http_request_duration_seconds_count'
        '[1m]))'), threshold=0.3)``

    Attributes:
        fast: Requests at or under the threshold per step (the ``le`` bucket).
        total: All requests per step (the histogram's count).
        threshold: The latency threshold, in seconds (the bucket's ``le``).

    .. versionadded:: 0.3.0
    """

    fast: Metric
    total: Metric = attrs.field(validator=_same_step)
    threshold: float = attrs.field(validator=_positive_threshold, kw_only=True)


def _a_metric(_instance: object, _attribute: object, value: Metric) -> None:
    given = cast("object", value)
    if not isinstance(given, Metric):
        msg = f"a threshold objective needs a Metric query, not {type(given).__name__}"
        raise InvalidInputError(msg)


def _finite_number(_instance: object, _attribute: object, value: float) -> None:
    if not is_finite(value):
        msg = f"above must be a finite number in the metric's unit, not {value!r}"
        raise InvalidInputError(msg)


@attrs.frozen
class Threshold:
    """A threshold objective on a plain gauge: a sample above ``above`` is a bad one.

    For when only a gauge exists (a p99 latency series in seconds, a queue
    depth), not counts of requests. There is then no request count: the
    impact says what share of the samples (of the time) was above the
    threshold, never a share of requests; the onset is detected on the gauge
    itself; recovery is the gauge held at or under the threshold, and back
    near its baseline, for the hold (:func:`~incidentkit.analysis.check_recovery_threshold`).
    Prefer :class:`LatencyCounts` when the histogram's buckets are at hand:
    they count the slow requests.

    Example:
        ``Threshold(Metric(prom, 'histogram_quantile(0.99, sum by (le) '
        '(rate(http_request_duration_seconds_bucket[5m])))', unit="s"), above=0.5)``

    Attributes:
        metric: The gauge (any unit; a duration is fine here).
        above: The threshold, in the metric's unit: a sample above it is bad,
            one at or under it healthy. Any finite number (a gauge may be
            negative).

    .. versionadded:: 0.3.0
    """

    metric: Metric = attrs.field(validator=_a_metric)
    above: float = attrs.field(validator=_finite_number, kw_only=True)


ErrorSpec: TypeAlias = "Metric | Counts | LatencyCounts | Threshold"
"""What the impact and recovery steps take as errors: a ratio, counts, or a threshold."""


def refuse_time_unit(metric: Metric, where: str) -> None:
    """Refuse a metric whose unit is a duration where an error ratio is expected.

    Raises:
        InvalidInputError: Naming :class:`LatencyCounts` and :class:`Threshold`,
            the latency objectives.
    """
    if metric.unit.strip().lower() in TIME_UNITS:
        msg = (
            f"{where}: {metric.query!r} is in {metric.unit!r}, a duration, not an error ratio "
            "(0 to 1). For a latency objective pass LatencyCounts(fast=<the histogram's le "
            "bucket at the threshold>, total=<its count>, threshold=<seconds>), or, when only "
            "this series exists, Threshold(<this metric>, above=<seconds>)."
        )
        raise InvalidInputError(msg)
