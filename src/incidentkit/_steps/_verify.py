"""Verifying recovery in monitoring: back at baseline, held, with real traffic."""

from __future__ import annotations

from incidentkit._errors import InvalidInputError, ProtocolViolation
from incidentkit._events import Event, RecoveryChecked
from incidentkit._model import Actor
from incidentkit._recovery import RecoveryOutcome, RecoveryPolicy, RecoveryVerdict, check_recovery
from incidentkit._recovery_counts import check_recovery_counts
from incidentkit._specs import Counts, ErrorSpec, LatencyCounts, Metric, refuse_time_unit
from incidentkit._state import IncidentState
from incidentkit._steps._common import Now, Outcome, gap, journaled
from incidentkit._steps._counts import count_metrics, derive
from incidentkit._steps._metrics import fetch_all, warned

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
    baseline_start = baseline_end.subtract(seconds=baseline)
    problems: tuple[str, ...] = ()
    if isinstance(errors, (Counts, LatencyCounts)):
        first, total = count_metrics(errors)
        step = first.step
        (error_series, error_gap), (traffic_series, traffic_gap) = fetch_all(
            [first, total], baseline_start, at, timeout
        )
        if error_series is not None and traffic_series is not None:
            derived = derive(errors, error_series, traffic_series)
            error_series, traffic_series, problems = derived.bad, derived.total, derived.problems
        counted = True
    else:
        assert traffic is not None  # noqa: S101 - checked above
        step = errors.step
        (error_series, error_gap), (traffic_series, traffic_gap) = fetch_all(
            [errors, traffic], baseline_start, at, timeout
        )
        counted = False
    if error_series is None or traffic_series is None:
        reasons = tuple(r for r in (error_gap, traffic_gap) if r)
        verdict = RecoveryVerdict(
            RecoveryOutcome.INCONCLUSIVE,
            (*reasons, "without data there is no recovery"),
            monitoring_gap=True,
        )
    elif counted:
        verdict = check_recovery_counts(
            error_series,
            traffic_series,
            baseline_start=baseline_start,
            baseline_end=baseline_end,
            intervention_at=since,
            until=at,
            step=step,
            policy=policy,
        )
    else:
        verdict = check_recovery(
            error_series,
            traffic_series,
            baseline_start=baseline_start,
            baseline_end=baseline_end,
            intervention_at=since,
            until=at,
            step=step,
            policy=policy,
        )
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
