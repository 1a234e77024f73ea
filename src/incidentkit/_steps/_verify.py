"""Verifying recovery in monitoring: back at baseline, held, with real traffic."""

from __future__ import annotations

import attrs
import pendulum

from incidentkit._arguments import reach_back
from incidentkit._errors import InvalidInputError, ProtocolViolation
from incidentkit._events import Event, RecoveryChecked
from incidentkit._model import Actor, Series
from incidentkit._recovery import RecoveryOutcome, RecoveryPolicy, RecoveryVerdict, check_recovery
from incidentkit._recovery_counts import check_recovery_counts
from incidentkit._recovery_threshold import check_recovery_threshold
from incidentkit._specs import Counts, ErrorSpec, LatencyCounts, Metric, Threshold, refuse_time_unit
from incidentkit._state import IncidentState
from incidentkit._steps._common import Now, Outcome, gap, journaled
from incidentkit._steps._counts import count_metrics, derive
from incidentkit._steps._metrics import beyond_ratio, fetch_all, warned

__all__ = ["verify"]


def verify(
    state: IncidentState,
    now: Now,
    who: Actor,
    *,
    errors: ErrorSpec,
    traffic: Metric | None,
    baseline: float,
    policy: RecoveryPolicy | None,
    timeout: float,
) -> Outcome:
    """Judge the samples since the latest intervention against the pre-incident baseline.

    Returns the :class:`RecoveryChecked` event, a gap finding when monitoring
    could not answer, and one per warning a metric source attached.

    Raises:
        ProtocolViolation: The impact was ongoing and nothing was done about it.
    """
    if isinstance(errors, Metric):
        refuse_time_unit(errors, "verify_recovery(errors=...)")
        if traffic is None:
            msg = "errors given as a ratio need a traffic metric: pass traffic=Metric(...)"
            raise InvalidInputError(msg)
    impact = state.impact
    assert impact is not None  # noqa: S101 - the rule table allows this only after assessment
    blocker = state.verification_blocker()
    if blocker is not None:
        raise ProtocolViolation(state.phase, "verify_recovery", blocker)
    at = now()
    since = state.intervention_at or impact.symptom_start
    baseline_end = impact.symptom_start
    baseline_start = reach_back(baseline_end, baseline, "baseline")
    read = _read(errors, traffic, baseline_start, at, timeout)
    error_series, traffic_series = read.errors, read.traffic
    windows = {
        "baseline_start": baseline_start,
        "baseline_end": baseline_end,
        "intervention_at": since,
        "until": at,
    }
    if error_series is None or (traffic_series is None and read.traffic_needed):
        verdict = RecoveryVerdict(
            RecoveryOutcome.INCONCLUSIVE,
            (*read.reasons, "without data there is no recovery"),
            monitoring_gap=True,
        )
    elif isinstance(errors, Threshold):
        verdict = check_recovery_threshold(
            error_series,
            traffic_series,
            above=errors.above,
            **windows,
            step=read.step,
            policy=policy,
        )
    else:
        assert traffic_series is not None  # noqa: S101 - both are read with a ratio or counts
        judge = check_recovery if isinstance(errors, Metric) else check_recovery_counts
        verdict = judge(error_series, traffic_series, **windows, step=read.step, policy=policy)
    problems = read.problems
    reductions: list[Event] = []
    events: list[Event] = [
        RecoveryChecked(
            at,
            who,
            verdict,
            since,
            baseline_start,
            baseline_end,
            None if error_series is None else journaled(error_series, now, who, reductions),
            None if traffic_series is None else journaled(traffic_series, now, who, reductions),
        ),
        *reductions,
    ]
    if verdict.monitoring_gap:
        events.append(
            gap(
                now,
                who,
                "recovery could not be verified from monitoring",
                "; ".join(verdict.reasons),
            )
        )
    events.extend(
        gap(now, who, "a metric source warned about its answer", warning)
        for warning in (*warned(error_series), *warned(traffic_series))
    )
    events.extend(gap(now, who, "counts that do not add up", problem) for problem in problems)
    return Outcome(tuple(events))


@attrs.frozen
class _Read:
    """What verification read: the judged series, the step, and why any is missing."""

    errors: Series | None
    traffic: Series | None
    step: float
    reasons: tuple[str, ...]
    problems: tuple[str, ...] = ()
    traffic_needed: bool = True


def _read(
    errors: ErrorSpec,
    traffic: Metric | None,
    start: pendulum.DateTime,
    end: pendulum.DateTime,
    timeout: float,
) -> _Read:
    """Query what ``errors`` needs (and the traffic) at once; derive the counts."""
    if isinstance(errors, Threshold):
        wanted = [errors.metric] if traffic is None else [errors.metric, traffic]
        answers = fetch_all(wanted, start, end, timeout)
        (gauge, gauge_gap), (volume, volume_gap) = (
            answers[0],
            (answers[1] if len(answers) > 1 else (None, "")),
        )
        return _Read(
            gauge,
            volume,
            errors.metric.step,
            tuple(r for r in (gauge_gap, volume_gap) if r),
            traffic_needed=traffic is not None,
        )
    if isinstance(errors, (Counts, LatencyCounts)):
        first, total = count_metrics(errors)
        (bad, bad_gap), (count, count_gap) = fetch_all([first, total], start, end, timeout)
        reasons = tuple(r for r in (bad_gap, count_gap) if r)
        if bad is None or count is None:
            return _Read(bad, count, first.step, reasons)
        derived = derive(errors, bad, count)
        return _Read(derived.bad, derived.total, first.step, reasons, derived.problems)
    assert traffic is not None  # noqa: S101 - checked by verify
    (ratio, ratio_gap), (volume, volume_gap) = fetch_all([errors, traffic], start, end, timeout)
    beyond = None if ratio is None else beyond_ratio(ratio)
    if beyond is not None:  # a latency or a count judged as a ratio would be judged wrong
        ratio, ratio_gap = None, beyond
    return _Read(ratio, volume, errors.step, tuple(r for r in (ratio_gap, volume_gap) if r))
