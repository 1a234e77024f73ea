"""What to ask a metric source: the specs the steps take as arguments."""

from __future__ import annotations

import math
from typing import Literal

import attrs

from incidentkit._errors import InvalidInputError
from incidentkit.protocols import MetricSource

__all__ = ["Measure", "Metric"]


def _positive_step(_instance: object, _attribute: attrs.Attribute[float], value: float) -> None:
    if not (math.isfinite(value) and value > 0):
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
