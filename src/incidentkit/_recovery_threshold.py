"""Deciding recovery on a plain gauge held under a threshold (a p99 series, a queue depth).

When only a gauge exists there is no request to count: a sample is healthy
when the gauge is at or under the objective's threshold, bad when above.
Recovery is the gauge held under the threshold for the hold, and back near
its pre-incident baseline (compared as :func:`check_recovery` compares
error values: Mann-Whitney U with the Hodges-Lehmann shift). The rules, in
order; the first that matches gives the verdict:

1. The baseline has fewer samples than ``min_baseline_samples`` (or, with a
   traffic series, no traffic sample or a median traffic of zero):
   **inconclusive**, monitoring gap.
2. No sample since the intervention: **inconclusive**, monitoring gap.
3. Each sample since the intervention is a *gap* (no value, no traffic when
   traffic is given, or more than 1.5 steps since the one before), *low
   traffic* (traffic given and under ``min_traffic_ratio`` of the
   baseline's median), *bad* (above the threshold) or *healthy*. Anything
   but healthy restarts the streak.
4. The latest sample is bad (and fresh): **not recovered**.
5. The data stops more than 1.5 steps before the check, or the latest sample
   is a gap: **inconclusive**, monitoring gap.
6. The latest sample has low traffic: **inconclusive**, monitoring gap.
7. The streak's samples within the trailing hold are compared with the
   baseline: the whole confidence interval of the shift above the allowed
   shift (``allowed_increase * baseline median + absolute_tolerance``, in
   the gauge's unit; ``absolute_tolerance`` at least 1 when every baseline
   value is a whole number, a count such as a queue depth, whose resolution
   is one unit): under the threshold but still well above the baseline,
   **not recovered** (a partial recovery).
8. The streak has not held for ``hold`` seconds or ``min_post_samples``
   samples: **inconclusive**, check again later.
9. The shift is probably above the allowed shift: **inconclusive**.
10. Otherwise: **recovered**.

Without a traffic series a gauge that goes quiet because traffic collapsed
looks healthy; the verdict says traffic was not checked.
"""

from __future__ import annotations

import bisect
from array import array
from typing import Final

import attrs
import pendulum

from incidentkit._errors import InvalidInputError
from incidentkit._model import Series, columnar, columns
from incidentkit._numbers import is_finite
from incidentkit._recovery import (
    RecoveryOutcome,
    RecoveryPolicy,
    RecoveryVerdict,
    _compare,  # pyright: ignore[reportPrivateUsage]
    _instant,  # pyright: ignore[reportPrivateUsage]
    _present,  # pyright: ignore[reportPrivateUsage]
    _quantile_of_sorted,  # pyright: ignore[reportPrivateUsage]
    _seconds_between,  # pyright: ignore[reportPrivateUsage]
    _shift_text,  # pyright: ignore[reportPrivateUsage]
    _too_large,  # pyright: ignore[reportPrivateUsage]
    _validate,  # pyright: ignore[reportPrivateUsage]
    _Walk,  # pyright: ignore[reportPrivateUsage]
    _walk,  # pyright: ignore[reportPrivateUsage]
    _window,  # pyright: ignore[reportPrivateUsage]
    checked_policy,
)

__all__ = ["THRESHOLD_TEST", "check_recovery_threshold"]

THRESHOLD_TEST: Final = "threshold-hold"
"""The name of the threshold judge in :attr:`RecoveryVerdict.test`."""


def _ones(series: Series) -> Series:
    """A stand-in traffic of 1 at each instant of ``series``: every sample has traffic."""
    times, _values = columns(series)
    ones = array("d", [1.0]) * len(times)
    return columnar(Series, series.query, (times, ones, 0))


def _held_text(value: float, above: float) -> str:
    return f"the latest value {value:.6g} is above the threshold {above:.6g}"


def check_recovery_threshold(
    gauge: Series,
    traffic: Series | None = None,
    *,
    above: float,
    baseline_start: pendulum.DateTime,
    baseline_end: pendulum.DateTime,
    intervention_at: pendulum.DateTime,
    until: pendulum.DateTime,
    step: float | None = None,
    policy: RecoveryPolicy | None = None,
) -> RecoveryVerdict:
    """Judge recovery on a gauge held at or under a threshold (a p99, a queue depth).

    The rules are in this module's docstring and on the documentation page
    "Verified recovery": every sample of a sustained streak at or under
    ``above``, held for the policy's hold, and the streak back near the
    baseline (Mann-Whitney U and the Hodges-Lehmann shift). The verdict's
    ``test`` is ``"threshold-hold"``; its ``threshold`` is ``above``.

    Args:
        gauge: The gauge (higher is worse), in any unit.
        traffic: The request rate at the same instants, if known: a sample
            with too little traffic is not healthy. Without it traffic is not
            checked, and the verdict says so.
        above: The objective's threshold, in the gauge's unit: a sample above
            it is bad.
        baseline_start: Start of the pre-incident baseline window.
        baseline_end: End of the baseline window (samples at it are not in it).
        intervention_at: The instant of the intervention (or the assessment).
        until: The instant of the check.
        step: The expected spacing of samples, in seconds; a longer silence
            is a gap. By default, the step the gauge was queried with.
        policy: How strict to be; ``allowed_increase`` and
            ``absolute_tolerance`` (in the gauge's unit) bound how far above
            the baseline the held values may be. When every baseline value
            is a whole number (a queue depth, a count of pods) the
            comparison uses an ``absolute_tolerance`` of at least 1, the
            gauge's resolution, and the reasons say so.

    Returns:
        The verdict with its reasons and figures. A value beyond 1e150 in
        magnitude makes it inconclusive with a monitoring gap.

    Raises:
        InvalidInputError: ``above`` is not a finite number, the windows are
            empty or out of order, the step is not a positive number, a
            series is not a :class:`~incidentkit.Series`, an instant is not a
            datetime or the policy not a :class:`RecoveryPolicy`.
        NaiveDatetimeError: An instant has no time zone.

    .. versionadded:: 0.3.0
    """
    policy = checked_policy(policy)
    checked = _above_number(above)
    _validate(
        errors=gauge,
        traffic=gauge if traffic is None else traffic,
        baseline_start=baseline_start,
        baseline_end=baseline_end,
        intervention_at=intervention_at,
        until=until,
        step=step,
    )
    step = gauge.query.step if step is None else step
    too_large = _too_large(gauge, baseline_start, until) or (
        "" if traffic is None else _too_large(traffic, baseline_start, until)
    )
    verdict = RecoveryVerdict(
        RecoveryOutcome.INCONCLUSIVE, (), threshold=checked, test=THRESHOLD_TEST
    )
    if too_large:
        return attrs.evolve(verdict, reasons=(too_large,), monitoring_gap=True)
    base = _present(gauge, baseline_start, baseline_end)
    base_traffic = None if traffic is None else _present(traffic, baseline_start, baseline_end)
    if len(base) < policy.min_baseline_samples or base_traffic == []:
        traffic_text = "" if base_traffic is None else f" and {len(base_traffic)} traffic samples"
        return attrs.evolve(
            verdict,
            reasons=(
                (
                    f"the baseline window {baseline_start} to {baseline_end} has {len(base)} "
                    f"samples of {gauge.query.query!r}{traffic_text}; at least "
                    f"{policy.min_baseline_samples} are needed to compare against"
                ),
            ),
            monitoring_gap=True,
        )
    ordered = sorted(base)
    compared = _at_resolution(policy, base)
    level = _quantile_of_sorted(ordered, policy.baseline_quantile)
    verdict = attrs.evolve(verdict, baseline_level=level)
    min_traffic = 0.0
    if base_traffic is not None:
        baseline_traffic = _quantile_of_sorted(sorted(base_traffic), 0.5)
        verdict = attrs.evolve(verdict, baseline_traffic=baseline_traffic)
        if baseline_traffic <= 0:
            return attrs.evolve(
                verdict,
                reasons=(
                    "the baseline had no traffic, so there is nothing to compare traffic against",
                ),
                monitoring_gap=True,
            )
        min_traffic = baseline_traffic * policy.min_traffic_ratio
    walk = _walk(
        gauge,
        _ones(gauge) if traffic is None else traffic,
        intervention_at,
        until,
        threshold=checked,
        min_traffic=min_traffic,
        max_silence=1.5 * step,
    )
    verdict = attrs.evolve(
        verdict,
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
                    f"no sample of {gauge.query.query!r} since the intervention at "
                    f"{intervention_at}: silence is not recovery"
                ),
            ),
            monitoring_gap=True,
        )
    window = _window(walk, policy)
    if window:
        verdict = _compare(verdict, base, ordered, window, compared)
    return _decide(
        verdict,
        walk,
        window,
        checked,
        policy,
        traffic_checked=traffic is not None,
        whole=compared is not policy,
    )


def _at_resolution(policy: RecoveryPolicy, baseline: list[float]) -> RecoveryPolicy:
    """The policy the comparison uses: at least one unit of allowance for a gauge of whole numbers.

    A gauge whose baseline holds only whole numbers counts something (items in a
    queue, pods, connections): its resolution is one unit, and an allowance under
    it (the default ``absolute_tolerance`` of 0.001 is made for ratios) can only be
    met by a window of samples identical to the baseline's. A nearly empty queue
    (a median of 0 items) would never be back near its baseline after an
    intervention whatever it did; with the allowance at one item it is when it
    holds as few items as before, give or take one.
    """
    if policy.absolute_tolerance >= 1 or not all(map(float.is_integer, baseline)):
        return policy
    return attrs.evolve(policy, absolute_tolerance=1.0)


def _above_number(above: float) -> float:
    if not is_finite(above):
        msg = f"above must be a finite number in the gauge's unit, not {above!r}"
        raise InvalidInputError(msg)
    return float(above)


def _decide(  # noqa: PLR0911 - rules 4 to 10, one return each
    verdict: RecoveryVerdict,
    walk: _Walk,
    window: list[float],
    above: float,
    policy: RecoveryPolicy,
    *,
    traffic_checked: bool,
    whole: bool = False,
) -> RecoveryVerdict:
    """Apply rules 4 to 10 to the walked samples and the comparison."""
    if walk.last_state == "bad" and not walk.stale:
        assert walk.last_value is not None  # noqa: S101 - a bad sample has a value
        return attrs.evolve(
            verdict,
            outcome=RecoveryOutcome.NOT_RECOVERED,
            reasons=(_held_text(walk.last_value, above),),
        )
    if walk.stale or walk.last_state == "gap":
        return attrs.evolve(
            verdict,
            reasons=(
                f"data stops at {_instant(walk.last_at)}, before the check"
                if walk.stale
                else (
                    f"the latest sample at {_instant(walk.last_at)} is missing a value"
                    + (" or its traffic" if traffic_checked else "")
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
                    f"{verdict.baseline_traffic:.6g}: a quiet gauge without traffic is not "
                    "recovery"
                ),
            ),
            monitoring_gap=True,
        )
    assert walk.streak_start is not None  # noqa: S101 - a healthy latest sample implies a streak
    streak_start = _instant(walk.streak_start)
    held_for = _seconds_between(walk.last_at, walk.streak_start)
    verdict = attrs.evolve(verdict, healthy_since=streak_start, held_for=held_for)
    how = (
        f"judged by the threshold objective: each sample at or under {above:.6g} for the "
        f"{policy.hold:.0f} s hold, then compared with the baseline by Mann-Whitney U and the "
        "Hodges-Lehmann shift (a gauge counts no requests, so no binomial test applies)"
        + (
            "; the baseline holds whole numbers only, so the allowance is at least one unit, "
            "the gauge's resolution"
            if whole
            else ""
        )
    )
    unchecked = () if traffic_checked else ("traffic was not checked: no traffic metric given",)
    if verdict.comparison == "high" and len(window) >= policy.min_post_samples:
        return attrs.evolve(
            verdict,
            outcome=RecoveryOutcome.NOT_RECOVERED,
            reasons=(
                "under the threshold but still well above the baseline: a partial recovery",
                _shift_text(verdict),
                how,
            ),
        )
    streak = len(walk.at) - bisect.bisect_left(walk.at, walk.streak_start)
    if held_for < policy.hold or streak < policy.min_post_samples:
        restarted = {
            "gap": "a gap in the data restarted it",
            "low_traffic": "low traffic restarted it",
            "bad": "a value above the threshold restarted it",
        }
        return attrs.evolve(
            verdict,
            reasons=(
                (
                    f"at or under {above:.6g} since {streak_start} but held only "
                    f"{held_for:.0f} s ({streak} samples) of the {policy.hold:.0f} s hold "
                    f"(at least {policy.min_post_samples} samples): check again later"
                ),
                *((restarted[walk.broken_by],) if walk.broken_by else ()),
                how,
            ),
            monitoring_gap=walk.broken_by in {"gap", "low_traffic"},
        )
    if verdict.comparison != "within":
        return attrs.evolve(
            verdict,
            reasons=(
                (
                    "under the threshold, but probably still above the baseline by more than "
                    "the allowance: check again later"
                ),
                _shift_text(verdict),
                how,
            ),
        )
    return attrs.evolve(
        verdict,
        outcome=RecoveryOutcome.RECOVERED,
        reasons=(
            (
                f"every value at or under the threshold {above:.6g} for {held_for:.0f} s since "
                f"{streak_start}, hold {policy.hold:.0f} s, and back near the baseline "
                f"(median {verdict.baseline_median:.6g})"
            ),
            _shift_text(verdict),
            how,
            *unchecked,
        ),
    )
