"""Reading metrics for a step: every query at once, each within a deadline."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Final

import attrs
import pendulum

from incidentkit._gather import adapter_name, call_concurrently, checked_series
from incidentkit._model import Series, sliced
from incidentkit._specs import Metric

if TYPE_CHECKING:
    from incidentkit.analysis._onset import Onset

__all__ = ["MetricKey", "beyond_ratio", "current_onset", "fetch_all", "metric_key", "warned"]

_ONSET_EPISODES: Final = 4  # earlier, finished episodes skipped before giving up on an onset

MetricKey = tuple[int, str, float, str]
"""A metric's identity: its source's identity (an adapter need not be hashable) and query."""


def metric_key(metric: Metric) -> MetricKey:
    """Return the identity of ``metric``, so that each is queried once."""
    return (id(metric.source), metric.query, metric.step, metric.unit)


def fetch_all(
    metrics: Sequence[Metric], start: pendulum.DateTime, end: pendulum.DateTime, timeout: float
) -> list[tuple[Series | None, str]]:
    """Query every metric at once, each within ``timeout``; a series or why there is none."""
    answers = call_concurrently(
        [
            (
                adapter_name(m.source),
                f"query {m.query!r}",
                partial(m.source.query_range, m.query, start, end, m.step),
            )
            for m in metrics
        ],
        timeout,
    )
    out: list[tuple[Series | None, str]] = []
    for metric, answer in zip(metrics, answers, strict=True):
        if answer.error:
            out.append((None, answer.error))
        else:
            out.append(checked_series(adapter_name(metric.source), answer.result))
    return out


def warned(series: Series | None) -> list[str]:
    """Return a gap text for each warning the source attached to ``series``."""
    if series is None:
        return []
    source, query = series.query.source, series.query.query
    return [f"{source}: {query!r}: the source warned: {w}" for w in series.warnings]


_RATIO_SLACK: Final = 0.05
"""How far above 1 an error ratio may reach and still be one: in a full outage a ratio
of two rates is 1, give or take its rounding or the two counters read a moment apart;
a latency or a count passes 1 by more."""


def beyond_ratio(series: Series) -> str | None:
    """Why an error "ratio" cannot be one, or ``None``: its values go above 1.

    A latency in seconds or a count passed as an error ratio: the step sets it
    aside as a monitoring gap (a source's answer never ends a step), with this
    text, which names the objectives to use instead. A ratio at 1 plus
    :data:`_RATIO_SLACK` at most, as a full outage gives, is a ratio.
    """
    highest = max((v for v in series.values if v == v), default=0.0)  # noqa: PLR0124 - NaN
    if highest <= 1.0 + _RATIO_SLACK:
        return None
    return (
        f"{series.query.source}: errors={series.query.query!r} reaches {highest:.6g}, which "
        "no error ratio (0 to 1) can, so it was not used: for a latency objective pass "
        "LatencyCounts(fast=..., total=..., threshold=...) from the histogram, or "
        "Threshold(<this metric>, above=...) when only this gauge exists; for error "
        "counts pass Counts(bad=..., total=...)"
    )


def current_onset(
    series: Series, detected: pendulum.DateTime, total: Series | None = None
) -> Onset | None:
    """Detect the onset of the symptom this incident is about, in the error series.

    The detector reports the first clear shift of the series. One that was
    over before the incident was detected is an earlier episode, not this
    symptom: look again after it ended, a few times at most. With ``total``,
    ``series`` holds bad counts and the binomial detector judges them
    (:func:`~incidentkit.analysis.detect_onset_counts`).
    """
    from incidentkit.analysis._onset import detect_onset  # noqa: PLC0415 - only when used
    from incidentkit.analysis._onset_counts import detect_onset_counts  # noqa: PLC0415

    offset = 0
    rest = series
    rest_total = total
    for _ in range(_ONSET_EPISODES):
        onset = detect_onset(rest) if rest_total is None else detect_onset_counts(rest, rest_total)
        if onset is None or onset.ended_at is None or onset.ended_at > detected:
            if onset is None or offset == 0:
                return onset
            end_index = None if onset.end_index is None else onset.end_index + offset
            index = onset.index + offset
            explanation = onset.explanation.replace(f"(sample {onset.index})", f"(sample {index})")
            return attrs.evolve(onset, index=index, end_index=end_index, explanation=explanation)
        assert onset.end_index is not None  # noqa: S101 - set together with ended_at
        offset += onset.end_index
        rest = sliced(series, offset)
        rest_total = None if total is None else sliced(total, offset)
    return None
