"""Deciding from monitoring data whether a symptom is gone.

Recovery means: after the intervention, the error metric is back at the
pre-incident baseline, for a sustained hold period (any bad point restarts the
hold, as Argo Rollouts' consecutive-success limit does), with real traffic,
and without gaps. Missing data or collapsed traffic is never recovery: it is
*inconclusive* and a monitoring gap.
"""

from __future__ import annotations

import enum
import math

import attrs
import pendulum

from incidentkit._errors import InvalidInputError
from incidentkit._model import Series

__all__ = ["RecoveryOutcome", "RecoveryPolicy", "RecoveryVerdict", "judge_recovery"]


class RecoveryOutcome(enum.Enum):
    """The three answers a recovery check can give.

    .. versionadded:: 0.1.0
    """

    RECOVERED = "recovered"
    NOT_RECOVERED = "not_recovered"
    INCONCLUSIVE = "inconclusive"


def _positive(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        msg = f"{attribute.name} must be a positive finite number, not {value!r}"
        raise InvalidInputError(msg)


def _non_negative(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (math.isfinite(value) and value >= 0):
        msg = f"{attribute.name} must be a non-negative finite number, not {value!r}"
        raise InvalidInputError(msg)


def _fraction(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (math.isfinite(value) and 0 < value <= 1):
        msg = f"{attribute.name} must be in (0, 1], not {value!r}"
        raise InvalidInputError(msg)


@attrs.frozen
class RecoveryPolicy:
    """How strict a recovery check is.

    Attributes:
        hold: Seconds of consecutive healthy samples needed, ending at the
            latest sample.
        baseline_quantile: The quantile of the baseline error values taken as
            the baseline level (robust to a few spikes).
        allowed_increase: How far above the baseline level a healthy value may
            be, relative (0.25 = 25 %).
        absolute_tolerance: An absolute allowance on top, for baselines at or
            near zero (an error ratio of 0.0005 when the baseline was 0 is fine).
        min_traffic_ratio: A sample is healthy only if traffic is at least this
            share of the baseline's median traffic.
        min_baseline_samples: Fewer baseline samples than this is inconclusive.

    .. versionadded:: 0.1.0
    """

    hold: float = attrs.field(default=600.0, validator=_positive)
    baseline_quantile: float = attrs.field(default=0.95, validator=_fraction)
    allowed_increase: float = attrs.field(default=0.25, validator=_non_negative)
    absolute_tolerance: float = attrs.field(default=0.001, validator=_non_negative)
    min_traffic_ratio: float = attrs.field(default=0.5, validator=_fraction)
    min_baseline_samples: int = 5


@attrs.frozen
class RecoveryVerdict:
    """The answer of a recovery check, with the figures behind it.

    Attributes:
        outcome: Recovered, not recovered or inconclusive.
        reasons: Plain-words reasons, most important first.
        monitoring_gap: Whether monitoring could not answer (missing data,
            collapsed or absent traffic, no baseline).
        baseline_level: The baseline error level (the policy's quantile).
        threshold: The highest error value counted as healthy.
        baseline_traffic: The baseline's median traffic.
        last_value: The latest error value after the intervention.
        healthy_since: When the trailing healthy streak began.
        held_for: How long the trailing healthy streak has held, in seconds.
        checked_samples: Samples after the intervention that were judged.
        gaps: Missing or non-finite samples after the intervention.
        low_traffic_samples: Samples whose traffic was below the policy's share.

    .. versionadded:: 0.1.0
    """

    outcome: RecoveryOutcome
    reasons: tuple[str, ...]
    monitoring_gap: bool = False
    baseline_level: float | None = None
    threshold: float | None = None
    baseline_traffic: float | None = None
    last_value: float | None = None
    healthy_since: pendulum.DateTime | None = None
    held_for: float = 0.0
    checked_samples: int = 0
    gaps: int = 0
    low_traffic_samples: int = 0


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def judge_recovery(  # noqa: C901, PLR0911, PLR0912, PLR0915 - one linear walk, kept in one place to read
    errors: Series,
    traffic: Series,
    *,
    baseline_start: pendulum.DateTime,
    baseline_end: pendulum.DateTime,
    since: pendulum.DateTime,
    until: pendulum.DateTime,
    step: float,
    policy: RecoveryPolicy | None = None,
) -> RecoveryVerdict:
    """Judge recovery from an error series and a traffic series.

    Args:
        errors: The error metric (a ratio or a rate; higher is worse).
        traffic: The request rate or count at the same instants.
        baseline_start: Start of the pre-incident baseline window.
        baseline_end: End of the baseline window (at the latest, the symptom start).
        since: The instant of the intervention (or the assessment).
        until: The instant of the check.
        step: The expected spacing of samples, in seconds; a longer silence
            is a gap.
        policy: How strict to be.

    Returns:
        The verdict with its reasons and figures.

    .. versionadded:: 0.1.0
    """
    policy = policy or RecoveryPolicy()
    traffic_at = {s.at: s.value for s in traffic.samples}

    base_errors = [
        s.value for s in errors.between(baseline_start, baseline_end) if s.value is not None
    ]
    base_traffic = [
        v for s in traffic.between(baseline_start, baseline_end) if (v := s.value) is not None
    ]
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
    baseline_level = _quantile(base_errors, policy.baseline_quantile)
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
    max_silence = 1.5 * step

    after = [s for s in errors.samples if since <= s.at <= until]
    gaps = 0
    low_traffic = 0
    streak_start: pendulum.DateTime | None = None
    last_at = since
    last_state = "none"
    last_value: float | None = None
    for sample in after:
        if (sample.at - last_at).total_seconds() > max_silence:
            gaps += 1
            streak_start = None
        last_at = sample.at
        value = sample.value
        volume = traffic_at.get(sample.at)
        if value is None or volume is None:
            gaps += 1
            streak_start = None
            last_state = "gap"
            continue
        last_value = value
        if volume < min_traffic:
            low_traffic += 1
            streak_start = None
            last_state = "low_traffic"
            continue
        if value > threshold:
            streak_start = None
            last_state = "bad"
            continue
        if streak_start is None:
            streak_start = sample.at
        last_state = "healthy"
    stale = (until - last_at).total_seconds() > max_silence
    if stale:
        gaps += 1

    figures = RecoveryVerdict(
        RecoveryOutcome.INCONCLUSIVE,
        (),
        baseline_level=baseline_level,
        threshold=threshold,
        baseline_traffic=baseline_traffic,
        last_value=last_value,
        checked_samples=len(after),
        gaps=gaps,
        low_traffic_samples=low_traffic,
    )
    if not after:
        return attrs.evolve(
            figures,
            outcome=RecoveryOutcome.INCONCLUSIVE,
            reasons=(
                f"no error samples since the intervention at {since}: silence is not recovery",
            ),
            monitoring_gap=True,
        )
    if last_state == "bad" and not stale:
        return attrs.evolve(
            figures,
            outcome=RecoveryOutcome.NOT_RECOVERED,
            reasons=(
                (
                    f"the latest error value {last_value:.6g} is above the healthy threshold "
                    f"{threshold:.6g} (baseline level {baseline_level:.6g} "
                    f"+{policy.allowed_increase:.0%} +{policy.absolute_tolerance:g})"
                ),
            ),
        )
    if stale or last_state == "gap":
        return attrs.evolve(
            figures,
            outcome=RecoveryOutcome.INCONCLUSIVE,
            reasons=(
                f"data stops at {last_at}, before the check at {until}"
                if stale
                else f"the latest sample at {last_at} is missing a value or its traffic",
                "missing data is never recovery",
            ),
            monitoring_gap=True,
        )
    if last_state == "low_traffic":
        return attrs.evolve(
            figures,
            outcome=RecoveryOutcome.INCONCLUSIVE,
            reasons=(
                (
                    f"traffic is below {policy.min_traffic_ratio:.0%} of the baseline median "
                    f"{baseline_traffic:.6g}: a quiet error rate without traffic is not recovery"
                ),
            ),
            monitoring_gap=True,
        )
    assert streak_start is not None  # noqa: S101 - last_state == "healthy" implies a streak
    held_for = (last_at - streak_start).total_seconds()
    if held_for >= policy.hold:
        return attrs.evolve(
            figures,
            outcome=RecoveryOutcome.RECOVERED,
            reasons=(
                (
                    f"error values at or below {threshold:.6g} (baseline level "
                    f"{baseline_level:.6g}) with traffic at least {min_traffic:.6g} "
                    f"for {held_for:.0f} s since {streak_start}, hold {policy.hold:.0f} s"
                ),
            ),
            healthy_since=streak_start,
            held_for=held_for,
        )
    return attrs.evolve(
        figures,
        outcome=RecoveryOutcome.INCONCLUSIVE,
        reasons=(
            (
                f"healthy since {streak_start} but held only {held_for:.0f} s of the "
                f"{policy.hold:.0f} s hold: check again later"
            ),
        ),
        healthy_since=streak_start,
        held_for=held_for,
    )
