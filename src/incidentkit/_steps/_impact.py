"""Assessing the impact, and updating it as the incident goes on."""

from __future__ import annotations

import bisect
import math
from array import array
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, cast

import attrs
import pendulum

from incidentkit._arguments import text
from incidentkit._errors import InvalidInputError, ProtocolViolation
from incidentkit._events import Event, ImpactAssessed, ImpactUpdated, Measurement
from incidentkit._gather import adapter_name
from incidentkit._model import (
    Actor,
    Evidence,
    Figure,
    Impact,
    Series,
    Severity,
    columnar,
    columns,
    sliced,
)
from incidentkit._specs import (
    Counts,
    ErrorSpec,
    LatencyCounts,
    Measure,
    Metric,
    Threshold,
    refuse_time_unit,
)
from incidentkit._state import IncidentState
from incidentkit._steps._common import Now, Outcome, gap, journaled
from incidentkit._steps._counts import count_metrics, derive
from incidentkit._steps._metrics import (
    MetricKey,
    beyond_ratio,
    current_onset,
    fetch_all,
    metric_key,
    warned,
)

if TYPE_CHECKING:
    from incidentkit.analysis._impact import ImpactNumbers
    from incidentkit.analysis._onset import Onset

__all__ = ["assess", "update"]

_ONSET_LOOKBACK: Final = 6 * 3600.0
"""How far before the detection the error metric is read: the longest burn-rate window."""


@attrs.define
class _Reading:
    """What an assessment read from monitoring, and what it could not."""

    fetched: dict[str, Series] = attrs.field(factory=dict[str, Series])
    read: dict[MetricKey, Series] = attrs.field(factory=dict[MetricKey, Series])
    measurements: list[Measurement] = attrs.field(factory=list[Measurement])
    figures: list[Figure] = attrs.field(factory=list[Figure])
    gaps: list[str] = attrs.field(factory=list[str])


def assess(
    state: IncidentState,
    now: Now,
    who: Actor,
    *,
    ongoing: bool,
    severity: Severity | None,
    symptom_start: pendulum.DateTime | None,
    services: Sequence[str],
    regions: Sequence[str],
    user_segments: Sequence[str],
    errors: ErrorSpec | None,
    traffic: Metric | None,
    users: Metric | None,
    slo: float | None,
    measures: Sequence[Measure],
    stated: Sequence[Figure],
    summary: str,
    timeout: float,
) -> Outcome:
    """Assess the blast radius from monitoring and what people state.

    Returns the :class:`ImpactAssessed` event and a gap finding for each
    figure that could not be measured. Without a severity and without error
    data to suggest one, the gaps are still returned (they are what a
    responder needs to see) with an :class:`InvalidInputError` naming them.
    """
    if isinstance(errors, Metric):
        refuse_time_unit(errors, "assess_impact(errors=...)")
    at = now()
    detected = state.declared.detected_at
    if symptom_start is not None and symptom_start > at:
        msg = f"symptom_start {symptom_start} is in the future (now is {at})"
        raise InvalidInputError(msg)
    reading = _Reading(figures=[attrs.evolve(f, measured=False) for f in stated])

    # Monitoring first: the onset and the burn rates need the longest window.
    lookback_start = (symptom_start or detected).subtract(seconds=_ONSET_LOOKBACK)
    _read_main_metrics(reading, errors, traffic, users, lookback_start, at, timeout)
    error_series = reading.fetched.get("errors")
    if error_series is not None and error_series.gaps == len(error_series):
        query = error_series.query
        reading.gaps.append(f"{query.source}: {query.query!r} has no samples")
        error_series = None
    onset = (
        None
        if error_series is None or symptom_start is not None
        else (_find_onset(reading, error_series, detected, at))
    )
    start = symptom_start or (onset.at if onset is not None else detected)
    numbers: ImpactNumbers | None = None
    if isinstance(errors, Threshold) and error_series is not None:
        numbers = _threshold_figures(
            reading.figures,
            errors,
            error_series,
            slo=slo,
            at=at,
            start=start,
            users=(users, reading.fetched.get("users")),
        )
    elif error_series is not None and slo is not None:
        numbers = _burn_figures(reading, error_series, slo, at, start, users)
    if severity is None:
        if numbers is None or all(rate.burn is None for rate in numbers.burn_rates):
            return _no_severity(now, who, reading.gaps)
        severity = numbers.suggested_severity
    _measure(reading, measures, start, at, timeout)
    impact = Impact(
        severity,
        bool(ongoing),
        start,
        tuple(services) or state.declared.services,
        tuple(regions),
        tuple(user_segments),
        tuple(reading.figures),
        summary,
    )
    reductions: list[Event] = []
    measurements = _journaled_measurements(reading.measurements, now, who, reductions)
    events: list[Event] = [
        ImpactAssessed(at, who, impact, measurements, onset, numbers),
        *reductions,
    ]
    events.extend(
        gap(now, who, "an impact figure could not be measured", error) for error in reading.gaps
    )
    if not impact.measured:
        events.append(
            gap(
                now,
                who,
                "impact not measurable from monitoring",
                "every figure of the impact assessment was stated by a person",
            )
        )
    return Outcome(tuple(events))


def _find_onset(
    reading: _Reading, error_series: Series, detected: pendulum.DateTime, at: pendulum.DateTime
) -> Onset | None:
    """Find the onset of this incident's symptom; say so in the gaps when there is none."""
    onset: Onset | None = None
    # With counts the binomial detector looks first; what it cannot place yet (a
    # quiet service a few minutes into the symptom) the ratio detector may.
    bad, total = reading.fetched.get("bad counts"), reading.fetched.get("total counts")
    if bad is not None and total is not None:
        onset = current_onset(bad, detected, total)
    if onset is None:
        onset = current_onset(error_series, detected)
    if onset is None or onset.at > at:
        reading.gaps.append(
            f"no onset found in {error_series.query.query!r}; the symptom start is "
            "taken as the detection time"
        )
        return None
    return onset


def _journaled_measurements(
    measurements: Sequence[Measurement], now: Now, who: Actor, reductions: list[Event]
) -> tuple[Measurement, ...]:
    """The measurements with their series as the journal keeps them (see ``journaled``)."""
    kept: dict[int, Series] = {}  # a series measured twice is reduced (and noted) once
    for m in measurements:
        if id(m.series) not in kept:
            kept[id(m.series)] = journaled(m.series, now, who, reductions)
    return tuple(attrs.evolve(m, series=kept[id(m.series)]) for m in measurements)


def _no_severity(now: Now, who: Actor, gaps: list[str]) -> Outcome:
    """Refuse an assessment with no severity, journaling why monitoring could not suggest one."""
    findings = tuple(gap(now, who, "an impact figure could not be measured", e) for e in gaps)
    why = f" Monitoring could not suggest one: {'; '.join(gaps)}." if gaps else ""
    msg = (
        "give severity=..., or errors=Metric(...) and slo=... with error data "
        f"so that one can be suggested.{why}"
    )
    return Outcome(findings, InvalidInputError(msg))


def _read_main_metrics(  # noqa: PLR0917 - private; each metric is one positional
    reading: _Reading,
    errors: ErrorSpec | None,
    traffic: Metric | None,
    users: Metric | None,
    start: pendulum.DateTime,
    end: pendulum.DateTime,
    timeout: float,
) -> None:
    """Read the error, traffic and users metrics at once, over the longest window."""
    counts = errors if isinstance(errors, (Counts, LatencyCounts)) else None
    candidates: list[tuple[str, Metric | None]]
    if counts is not None:
        first, total = count_metrics(counts)
        candidates = [("bad" if isinstance(counts, Counts) else "fast", first), ("total", total)]
    elif isinstance(errors, Threshold):
        candidates = [("errors", errors.metric)]
    else:
        candidates = [("errors", cast("Metric | None", errors))]
    candidates += [("traffic", traffic), ("users", users)]
    wanted = [(label, metric) for label, metric in candidates if metric is not None]
    answers = fetch_all([m for _label, m in wanted], start, end, timeout)
    for (label, metric), (series, error) in zip(wanted, answers, strict=True):
        if series is None:
            reading.gaps.append(error)
            continue
        reading.fetched[label] = series
        reading.read[metric_key(metric)] = series
        reading.gaps.extend(warned(series))
        if counts is None:
            reading.measurements.append(Measurement(label, "series", None, series))
    if counts is not None:
        _derive_counts(reading, counts)
    elif not isinstance(errors, Threshold):  # a gauge's values may be anything
        _refuse_non_ratio(reading, errors)


def _derive_counts(reading: _Reading, counts: Counts | LatencyCounts) -> None:
    """Make the error ratio (and traffic, unless given) from the counts read."""
    first = reading.fetched.pop("bad" if isinstance(counts, Counts) else "fast", None)
    total = reading.fetched.pop("total", None)
    if first is None or total is None:
        return
    derived = derive(counts, first, total)
    reading.gaps.extend(derived.problems)
    reading.fetched["errors"] = derived.ratio
    reading.fetched["bad counts"] = derived.bad
    reading.fetched["total counts"] = derived.total
    reading.fetched.setdefault("traffic", derived.total)
    for label, series in (
        ("errors", derived.ratio),
        ("bad", derived.bad),
        ("total", derived.total),
    ):
        reading.measurements.append(Measurement(label, "series", None, series))


def _refuse_non_ratio(reading: _Reading, errors: ErrorSpec | None) -> None:
    """Set aside an error "ratio" whose values go above 1 (a latency or a count), as a gap."""
    series = reading.fetched.get("errors")
    if series is None or errors is None:
        return
    reason = beyond_ratio(series)
    if reason is not None:  # set aside as a gap: a source's answer never ends the step
        del reading.fetched["errors"]
        reading.gaps.append(reason)


def _burn_figures(  # noqa: PLR0917 - private, called once
    reading: _Reading,
    error_series: Series,
    slo: float,
    at: pendulum.DateTime,
    start: pendulum.DateTime,
    users: Metric | None,
) -> ImpactNumbers:
    """Compute the burn rates, share failing and affected users as measured figures."""
    from incidentkit.analysis._impact import impact_numbers  # noqa: PLC0415 - loads on first use

    numbers = impact_numbers(
        error_series,
        slo=slo,
        at=at,
        symptom_start=start,
        traffic=reading.fetched.get("traffic"),
        users=reading.fetched.get("users"),
    )
    evidence = Evidence.metric(error_series.query.query)
    for rate in numbers.burn_rates:
        if rate.burn is not None:
            name = f"burn_rate_{_window_label(rate.window)}"
            reading.figures.append(
                Figure(name, rate.burn, "x budget", measured=True, evidence=evidence)
            )
    if numbers.share_of_requests is not None:
        reading.figures.append(
            Figure(
                "share_of_requests_failing",
                numbers.share_of_requests,
                "ratio",
                measured=True,
                evidence=evidence,
            )
        )
    if numbers.affected_users is not None and users is not None:
        reading.figures.append(
            Figure(
                "affected_users",
                numbers.affected_users,
                users.unit or "users",
                measured=True,
                evidence=Evidence.metric(users.query),
            )
        )
    return numbers


def _threshold_figures(
    figures: list[Figure],
    spec: Threshold,
    gauge: Series,
    *,
    slo: float | None,
    at: pendulum.DateTime,
    start: pendulum.DateTime,
    users: tuple[Metric | None, Series | None],
) -> ImpactNumbers | None:
    """The figures of a threshold objective: time above it since the symptom began, burn rates.

    A gauge counts no requests: the share is of the samples (of the time), and
    the figures' names say so. Burn rates (with an ``slo``) are of time above
    the threshold, a time-slice objective.
    """
    from incidentkit.analysis._impact import impact_numbers  # noqa: PLC0415 - loads on first use

    times, values = columns(gauge)
    nan = math.nan
    indicator = columnar(
        Series,
        attrs.evolve(gauge.query, query=f"({gauge.query.query}) > {spec.above:g}"),
        (
            times,
            array("d", [nan if v != v else float(v > spec.above) for v in values]),  # noqa: PLR0124
            gauge.non_finite,
        ),
    )
    lo = bisect.bisect_left(times, start.timestamp())
    hi = bisect.bisect_right(times, at.timestamp())
    seen = [v for v in values[lo:hi] if v == v]  # noqa: PLR0124 - NaN is the gap
    evidence = Evidence.metric(spec.metric.query)
    if seen:
        above = sum(1 for v in seen if v > spec.above)
        figures.extend(
            (
                Figure(
                    "share_of_time_above_threshold",
                    above / len(seen),
                    "ratio",
                    measured=True,
                    evidence=evidence,
                ),
                Figure(
                    "time_above_threshold",
                    above * spec.metric.step,
                    "s",
                    measured=True,
                    evidence=evidence,
                ),
                Figure("peak", max(seen), spec.metric.unit, measured=True, evidence=evidence),
            )
        )
    if slo is None:
        return None
    users_metric, users_series = users
    numbers = impact_numbers(
        indicator, slo=slo, at=at, symptom_start=start, users=users_series, share_of="time"
    )
    for rate in numbers.burn_rates:
        if rate.burn is not None:
            name = f"burn_rate_{_window_label(rate.window)}"
            figures.append(Figure(name, rate.burn, "x budget", measured=True, evidence=evidence))
    if numbers.affected_users is not None and users_metric is not None:
        figures.append(
            Figure(
                "affected_users",
                numbers.affected_users,
                users_metric.unit or "users",
                measured=True,
                evidence=Evidence.metric(users_metric.query),
            )
        )
    return numbers


def _measure(
    reading: _Reading,
    measures: Sequence[Measure],
    start: pendulum.DateTime,
    end: pendulum.DateTime,
    timeout: float,
) -> None:
    """Measure each further figure over the symptom; each metric is queried once."""
    own = {metric_key(m.metric): m.metric for m in measures}
    for key in reading.read:
        own.pop(key, None)
    extra = dict(zip(own, fetch_all(list(own.values()), start, end, timeout), strict=True))
    for answer, _error in extra.values():
        reading.gaps.extend(warned(answer))
    for measure in measures:
        already = reading.read.get(metric_key(measure.metric))
        if already is not None:
            times, _values = columns(already)
            series: Series | None = sliced(
                already,
                bisect.bisect_left(times, start.timestamp()),
                bisect.bisect_right(times, end.timestamp()),
            )
            error = ""
        else:
            series, error = extra[metric_key(measure.metric)]
        if series is None:
            reading.gaps.append(error)
            continue
        values = [v for v in columns(series)[1] if v == v]  # noqa: PLR0124 - NaN is the gap
        if not values:
            source = adapter_name(measure.metric.source)
            reading.gaps.append(
                f"{source}: {measure.metric.query!r} has no samples between {start} and {end}"
            )
            reading.measurements.append(Measurement(measure.name, measure.reduce, None, series))
            continue
        value = _reduce(values, measure.reduce)
        reading.measurements.append(Measurement(measure.name, measure.reduce, value, series))
        reading.figures.append(
            Figure(
                measure.name,
                value,
                measure.metric.unit,
                measured=True,
                evidence=Evidence.metric(measure.metric.query),
            )
        )


def _window_label(seconds: float) -> str:
    return f"{seconds / 3600:g}h" if seconds % 3600 == 0 else f"{seconds / 60:g}m"


def _reduce(values: list[float], how: str) -> float:
    if how == "max":
        return max(values)
    if how == "min":
        return min(values)
    if how == "last":
        return values[-1]
    return math.fsum(values) / len(values)


def update(
    state: IncidentState,
    now: Now,
    who: Actor,
    *,
    reason: str,
    severity: Severity | None,
    ongoing: bool | None,
    symptom_start: pendulum.DateTime | None,
    services: Sequence[str] | None,
    regions: Sequence[str] | None,
    user_segments: Sequence[str] | None,
    stated: Sequence[Figure],
    summary: str | None,
) -> Outcome:
    """Re-assess the impact: what is given replaces what was known; the rest stays.

    Stated figures replace earlier figures of the same name and are marked
    as stated by a person.
    """
    current = state.impact
    if current is None:  # diagnosis began by override before any assessment
        raise ProtocolViolation(
            state.phase,
            "update_impact",
            "an impact assessment to update: this incident went to diagnosis without one "
            "(diagnose_without_recovery); record what is known with finding() or note()",
        )
    at = now()
    if symptom_start is not None and symptom_start > at:
        msg = f"symptom_start {symptom_start} is in the future (now is {at})"
        raise InvalidInputError(msg)
    new_figures = {f.name: attrs.evolve(f, measured=False) for f in stated}
    figures = tuple(f for f in current.figures if f.name not in new_figures) + tuple(
        new_figures.values()
    )
    impact = Impact(
        current.severity if severity is None else severity,
        current.ongoing if ongoing is None else bool(ongoing),
        current.symptom_start if symptom_start is None else symptom_start,
        current.services if services is None else tuple(services),
        current.regions if regions is None else tuple(regions),
        current.user_segments if user_segments is None else tuple(user_segments),
        figures,
        current.summary if summary is None else summary,
    )
    if impact == current:
        msg = "update_impact changes nothing: give the severity, ongoing or figures that changed"
        raise InvalidInputError(msg)
    return Outcome(
        (
            ImpactUpdated(
                at, who, impact, text(reason, "an impact update's reason"), current.severity
            ),
        )
    )
