"""The recovery check as it was before its walk was rewritten over C-level passes: the oracle.

This is ``check_recovery`` as it was at ``b3b034f``: one Python loop over the samples after
the intervention, each instant turned into whole microseconds to match it with its
traffic through a dict, the states kept as a list of strings, every judged window
scanned for values too large to judge before anything else. The tests compare the
library's verdicts with this one's (attrs equality, every field); it is not used
anywhere else. The comparison itself (``_compare``) and the helpers the rewrite did
not touch are imported from the library.
"""

from __future__ import annotations

import bisect
from typing import Literal

import attrs
import pendulum

from incidentkit import RecoveryOutcome, RecoveryPolicy, RecoveryVerdict, Series
from incidentkit._columns import NAN as _NAN
from incidentkit._columns import microseconds
from incidentkit._model import columns
from incidentkit._recovery import (
    _compare,
    _instant,
    _quantile_of_sorted,
    _seconds_between,
    _shift_text,
    _too_large,
    _validate,
)


def _quantile(values: list[float], q: float) -> float:
    return _quantile_of_sorted(sorted(values), q)


_State = Literal["healthy", "bad", "gap", "low_traffic"]


@attrs.frozen
class _Walk:
    """The samples since the intervention, judged one by one (rule 3), as columns."""

    at: list[float]
    """Each judged sample's instant, Unix seconds."""
    state: list[_State]
    value: list[float]
    """Each judged sample's value, NaN for a missing one."""
    gaps: int
    low_traffic: int
    streak_start: float | None
    broken_by: Literal["bad", "gap", "low_traffic"] | None
    last_at: float
    stale: bool

    @property
    def last_state(self) -> str:
        return self.state[-1] if self.state else "none"

    @property
    def last_value(self) -> float | None:
        for state, value in zip(reversed(self.state), reversed(self.value), strict=True):
            if state != "gap":
                return value
        return None


def _walk(
    errors: Series,
    traffic: Series,
    since: pendulum.DateTime,
    until: pendulum.DateTime,
    *,
    threshold: float,
    min_traffic: float,
    max_silence: float,
) -> _Walk:
    times, values = columns(errors)
    since_s, until_s = since.timestamp(), until.timestamp()
    lo, hi = bisect.bisect_left(times, since_s), bisect.bisect_right(times, until_s)
    traffic_times, traffic_values = columns(traffic)
    t_lo = bisect.bisect_left(traffic_times, since_s - 1)
    t_hi = bisect.bisect_right(traffic_times, until_s + 1)
    traffic_at = dict(
        zip(
            map(microseconds, traffic_times[t_lo:t_hi]),
            traffic_values[t_lo:t_hi],
            strict=True,
        )
    )
    at_column: list[float] = []
    state_column: list[_State] = []
    value_column: list[float] = []
    gaps = 0
    low_traffic = 0
    streak_start: float | None = None
    broken_by: Literal["bad", "gap", "low_traffic"] | None = None
    last_at = since_s
    state: _State
    silence = round(max_silence * 1e6)
    for at, value in zip(times[lo:hi], values[lo:hi], strict=True):
        if microseconds(at) - microseconds(last_at) > silence:
            gaps += 1
            streak_start, broken_by = None, "gap"
        last_at = at
        volume = traffic_at.get(microseconds(at), _NAN)
        if value != value or volume != volume:  # noqa: PLR0124 - NaN is the gap
            gaps += 1
            streak_start, broken_by = None, "gap"
            state = "gap"
        elif volume < min_traffic:
            low_traffic += 1
            streak_start, broken_by = None, "low_traffic"
            state = "low_traffic"
        elif value > threshold:
            streak_start, broken_by = None, "bad"
            state = "bad"
        else:
            if streak_start is None:
                streak_start = at
            state = "healthy"
        at_column.append(at)
        state_column.append(state)
        value_column.append(value)
    stale = microseconds(until_s) - microseconds(last_at) > silence
    if stale:
        gaps += 1
    return _Walk(
        at_column,
        state_column,
        value_column,
        gaps,
        low_traffic,
        streak_start,
        broken_by,
        last_at,
        stale,
    )


def _window(walk: _Walk, policy: RecoveryPolicy) -> list[float]:
    """Return the values of the comparison window (rule 7).

    The samples of the current healthy streak within the trailing hold; when
    they are fewer than ``min_post_samples``, the latest ``min_post_samples``
    samples that have a value and enough traffic (healthy or bad).
    """
    start = walk.last_at - policy.hold
    if walk.streak_start is not None:
        start = max(start, walk.streak_start)
    first = bisect.bisect_left(walk.at, start)
    recent = [
        value
        for state, value in zip(walk.state[first:], walk.value[first:], strict=True)
        if state == "healthy"
    ]
    if len(recent) < policy.min_post_samples:
        usable = [
            value
            for state, value in zip(walk.state, walk.value, strict=True)
            if state in {"healthy", "bad"}
        ]
        recent = usable[-policy.min_post_samples :]
    return recent[-policy.max_samples :]


def _present(series: Series, start: pendulum.DateTime, end: pendulum.DateTime) -> list[float]:
    """The values of ``series`` with ``start <= at < end``, gaps left out, in time order."""
    times, values = columns(series)
    lo = bisect.bisect_left(times, start.timestamp())
    hi = bisect.bisect_left(times, end.timestamp())
    return [value for value in values[lo:hi] if value == value]  # noqa: PLR0124 - NaN


def reference_check_recovery(  # noqa: C901, PLR0911 - as the library's was
    errors: Series,
    traffic: Series,
    *,
    baseline_start: pendulum.DateTime,
    baseline_end: pendulum.DateTime,
    intervention_at: pendulum.DateTime,
    until: pendulum.DateTime,
    step: float | None = None,
    policy: RecoveryPolicy | None = None,
) -> RecoveryVerdict:
    """Judge recovery from an error series and a traffic series.

    The rules are listed in this module's docstring and on the documentation
    page "Verifying recovery": a sustained streak of healthy samples with
    enough traffic, compared with the baseline by a Mann-Whitney U test with
    the Hodges-Lehmann shift and its confidence interval.

    Args:
        errors: The error metric (a ratio or a rate; higher is worse).
        traffic: The request rate or count at the same instants.
        baseline_start: Start of the pre-incident baseline window.
        baseline_end: End of the baseline window (at the latest, the symptom
            start); samples at this instant are not in the baseline.
        intervention_at: The instant of the intervention (or the assessment).
        until: The instant of the check.
        step: The expected spacing of samples, in seconds; a longer silence
            is a gap. By default, the step the error series was queried with.
        policy: How strict to be.

    Returns:
        The verdict with its reasons and figures. A sample beyond 1e150 in
        magnitude in the judged windows makes the verdict inconclusive with a
        monitoring gap naming the series, rather than overflow the arithmetic.

    Raises:
        InvalidInputError: The windows are empty or out of order, the step is
            not a positive number, or a series is not a :class:`Series`.

    .. versionadded:: 0.2.0
    """
    policy = policy or RecoveryPolicy()
    _validate(
        errors=errors,
        traffic=traffic,
        baseline_start=baseline_start,
        baseline_end=baseline_end,
        intervention_at=intervention_at,
        until=until,
        step=step,
    )
    step = errors.query.step if step is None else step
    too_large = _too_large(errors, baseline_start, until) or _too_large(
        traffic, baseline_start, until
    )
    if too_large:
        return RecoveryVerdict(RecoveryOutcome.INCONCLUSIVE, (too_large,), monitoring_gap=True)

    base_errors = _present(errors, baseline_start, baseline_end)
    base_traffic = _present(traffic, baseline_start, baseline_end)
    if len(base_errors) < policy.min_baseline_samples or not base_traffic:
        return RecoveryVerdict(
            RecoveryOutcome.INCONCLUSIVE,
            (
                (
                    f"the baseline window {baseline_start} to {baseline_end} has "
                    f"{len(base_errors)} error samples and {len(base_traffic)} traffic samples; "
                    f"at least {policy.min_baseline_samples} and 1 are needed to compare against"
                ),
            ),
            monitoring_gap=True,
        )
    sorted_errors = sorted(base_errors)
    baseline_level = _quantile_of_sorted(sorted_errors, policy.baseline_quantile)
    threshold = baseline_level * (1 + policy.allowed_increase) + policy.absolute_tolerance
    baseline_traffic = _quantile(base_traffic, 0.5)
    if baseline_traffic <= 0:
        return RecoveryVerdict(
            RecoveryOutcome.INCONCLUSIVE,
            ("the baseline had no traffic, so there is nothing to compare traffic against",),
            monitoring_gap=True,
            baseline_level=baseline_level,
            threshold=threshold,
            baseline_traffic=baseline_traffic,
        )
    min_traffic = baseline_traffic * policy.min_traffic_ratio
    walk = _walk(
        errors,
        traffic,
        intervention_at,
        until,
        threshold=threshold,
        min_traffic=min_traffic,
        max_silence=1.5 * step,
    )
    verdict = RecoveryVerdict(
        RecoveryOutcome.INCONCLUSIVE,
        (),
        baseline_level=baseline_level,
        threshold=threshold,
        baseline_traffic=baseline_traffic,
        last_value=walk.last_value,
        checked_samples=len(walk.at),
        gaps=walk.gaps,
        low_traffic_samples=walk.low_traffic,
    )
    if not walk.at:
        return attrs.evolve(
            verdict,
            reasons=(
                (
                    f"no error samples since the intervention at {intervention_at}: "
                    "silence is not recovery"
                ),
            ),
            monitoring_gap=True,
        )
    window = _window(walk, policy)
    if window:
        verdict = _compare(verdict, base_errors, sorted_errors, window, policy)
    comparison = verdict.comparison
    if walk.last_state == "bad" and not walk.stale:
        return attrs.evolve(
            verdict,
            outcome=RecoveryOutcome.NOT_RECOVERED,
            reasons=(
                (
                    f"the latest error value {walk.last_value:.6g} is above the healthy "
                    f"threshold {threshold:.6g} (baseline level {baseline_level:.6g} "
                    f"+{policy.allowed_increase:.0%} +{policy.absolute_tolerance:g})"
                ),
            ),
        )
    if walk.stale or walk.last_state == "gap":
        return attrs.evolve(
            verdict,
            reasons=(
                f"data stops at {_instant(walk.last_at)}, before the check at {until}"
                if walk.stale
                else (
                    f"the latest sample at {_instant(walk.last_at)} is missing a value or its "
                    "traffic"
                ),
                "missing data is never recovery",
            ),
            monitoring_gap=True,
        )
    if walk.last_state == "low_traffic":
        return attrs.evolve(
            verdict,
            reasons=(
                (
                    f"traffic is below {policy.min_traffic_ratio:.0%} of the baseline median "
                    f"{baseline_traffic:.6g}: a quiet error rate without traffic is not recovery"
                ),
            ),
            monitoring_gap=True,
        )
    assert walk.streak_start is not None
    streak_start = _instant(walk.streak_start)
    held_for = _seconds_between(walk.last_at, walk.streak_start)
    verdict = attrs.evolve(verdict, healthy_since=streak_start, held_for=held_for)
    if comparison == "high" and len(window) >= policy.min_post_samples:
        return attrs.evolve(
            verdict,
            outcome=RecoveryOutcome.NOT_RECOVERED,
            reasons=(
                "the errors are better but still high: a partial recovery",
                _shift_text(verdict),
            ),
        )
    streak = len(walk.at) - bisect.bisect_left(walk.at, walk.streak_start)
    if held_for < policy.hold or streak < policy.min_post_samples:
        restarted = {
            "gap": "a gap in the data restarted it",
            "low_traffic": "low traffic restarted it",
            "bad": "a bad value restarted it",
        }
        why = restarted[walk.broken_by] if walk.broken_by else "check again later"
        return attrs.evolve(
            verdict,
            reasons=(
                (
                    f"healthy since {streak_start} but held only {held_for:.0f} s "
                    f"({streak} samples) of the {policy.hold:.0f} s hold "
                    f"(at least {policy.min_post_samples} samples): check again later"
                ),
                *((why,) if walk.broken_by else ()),
            ),
            monitoring_gap=walk.broken_by in {"gap", "low_traffic"},
        )
    if comparison != "within":
        return attrs.evolve(
            verdict,
            reasons=(
                (
                    "the errors are probably still above the baseline by more than the "
                    "allowance: check again later"
                ),
                _shift_text(verdict),
                (
                    f"mean {verdict.post_mean:.6g} against the baseline mean "
                    f"{verdict.baseline_mean:.6g}"
                ),
            ),
        )
    return attrs.evolve(
        verdict,
        outcome=RecoveryOutcome.RECOVERED,
        reasons=(
            (
                f"error values at or below {threshold:.6g} (baseline level "
                f"{baseline_level:.6g}) with traffic at least {min_traffic:.6g} "
                f"for {held_for:.0f} s since {streak_start}, hold {policy.hold:.0f} s"
            ),
            _shift_text(verdict),
        ),
    )
