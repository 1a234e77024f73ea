"""Deciding recovery from counts: bad and total requests per step, judged by exact binomial bounds.

With few requests per sample, an error *ratio* jumps between 0 and large
values by chance; a judge of ratios then calls a genuine recovery of a quiet
service inconclusive or worse, and a per-sample traffic floor restarts the
streak at every Poisson dip. Counts say how much evidence each sample holds,
so this judge adds them up:

1. The baseline holds fewer than ``min_baseline_samples`` samples with both
   counts, or no request at all: **inconclusive**, monitoring gap.
2. No sample since the intervention: **inconclusive**, monitoring gap.
3. Each sample since the intervention is a *gap* (a count missing, more bad
   than total, or more than 1.5 steps since the one before), *bad* (its bad
   share is above the threshold even at its exact lower bound, at 99.9 %: a
   sample too small to show that is never bad on its own), or *healthy*.
   A gap or a bad sample restarts the healthy streak. The threshold is the
   baseline's bad share (all its bad over all its requests) ``* (1 +
   allowed_increase) + absolute_tolerance``.
4. The latest sample is bad (and fresh): **not recovered**.
5. The data stops more than 1.5 steps before the check, or the latest sample
   is a gap: **inconclusive**, monitoring gap.
6. The window is the healthy streak's samples within the trailing hold. Its
   requests, added up, below ``min_traffic_ratio`` of what the baseline's
   rate would bring in the same time: **inconclusive**, monitoring gap (a
   quiet error rate without traffic is not recovery). Traffic is judged over
   the window, not sample by sample.
7. The window's bad share is above the threshold at its exact lower bound
   (one-sided, at the policy's confidence): **not recovered**.
8. The streak has not held for ``hold`` seconds or ``min_post_samples``
   samples: **inconclusive**, check again later.
9. The window's exact upper bound rules out the symptom: it is at or below
   the threshold plus ``resolution`` (15 %) of the symptom's excess over
   it (the symptom's share is that of the samples between the baseline's end
   and the intervention; without them, the threshold's own size stands in):
   **recovered**. Rule 7 has already found the share not above the
   threshold. A residual excess too small for the requests to show is then
   possible, and the verdict says up to which share: at 0.5 request per
   second, ten minutes cannot tell 1% from 2%.
10. Otherwise there are too few requests to tell: **inconclusive**, with how
    many requests (and about how long at the current traffic) would settle it.

The bounds are Clopper-Pearson's, exact for a binomial count: each request
is taken as failing independently with the same probability within the
window. Counts that are not whole numbers (Prometheus' ``increase()``
extrapolates) are added up first, then rounded.
"""

from __future__ import annotations

import bisect
import math
from typing import Final, Literal

import attrs
import pendulum

from incidentkit._binomial import lower_bound, requests_needed, upper_bound
from incidentkit._errors import InvalidInputError
from incidentkit._model import Series, check_series, columns
from incidentkit._numbers import is_finite
from incidentkit._recovery import (
    RecoveryOutcome,
    RecoveryPolicy,
    RecoveryVerdict,
    check_instants,
    checked_policy,
)

__all__ = ["COUNTS_TEST", "check_recovery_counts"]

COUNTS_TEST: Final = "exact-binomial"
"""The name of the counts judge in :attr:`RecoveryVerdict.test`."""

_SAMPLE_CONFIDENCE: Final = 0.999  # a single sample is bad only when this sure
_LARGEST_COUNT: Final = 1e15

_State = Literal["healthy", "bad", "gap"]


def _instant(seconds: float) -> pendulum.DateTime:
    return pendulum.from_timestamp(seconds, tz=pendulum.UTC)


def _by_instant(total: Series) -> dict[int, float]:
    """The totals keyed by their instant in whole microseconds, built once per check."""
    total_times, total_values = columns(total)
    return dict(zip((round(t * 1e6) for t in total_times), total_values, strict=True))


def _aligned(
    bad: Series, totals: dict[int, float], start: float, end: float, *, closed: bool
) -> list[tuple[float, float, float]]:
    """Return ``(at, bad, total)`` for the instants of ``bad`` in the window (NaN: missing)."""
    times, values = columns(bad)
    lo = bisect.bisect_left(times, start)
    hi = bisect.bisect_right(times, end) if closed else bisect.bisect_left(times, end)
    nan = math.nan
    return [
        (at, value, totals.get(round(at * 1e6), nan))
        for at, value in zip(times[lo:hi], values[lo:hi], strict=True)
    ]


def _usable(bad: float, total: float) -> bool:
    return (
        bad == bad  # noqa: PLR0124 - NaN is the gap
        and total == total  # noqa: PLR0124
        and 0 <= bad <= total + 0.5
        and total < _LARGEST_COUNT
    )


def _rate_text(bad: int, total: int) -> str:
    share = bad / total if total else 0.0
    return f"{bad:,} bad of {total:,} requests ({share:.4%})"


def check_recovery_counts(  # noqa: C901, PLR0911, PLR0912, PLR0915 - the numbered rules, in order
    bad: Series,
    total: Series,
    *,
    baseline_start: pendulum.DateTime,
    baseline_end: pendulum.DateTime,
    intervention_at: pendulum.DateTime,
    until: pendulum.DateTime,
    step: float | None = None,
    policy: RecoveryPolicy | None = None,
) -> RecoveryVerdict:
    """Judge recovery from counts: bad requests and all requests per step.

    The rules are in this module's docstring and on the documentation page
    "Verified recovery": a healthy streak held for the policy's hold, whose
    requests, added up, show a bad share at or below the baseline's (plus
    the allowance) at the exact upper bound; too few requests to show it is
    inconclusive, with the number of requests it would need.

    Args:
        bad: Bad requests per step (errors, or requests slower than a latency
            threshold), e.g. ``sum(increase(http_requests_total{code=~"5.."}[1m]))``.
        total: All requests per step, at the same instants.
        baseline_start: Start of the pre-incident baseline window.
        baseline_end: End of the baseline window (the symptom start at the latest).
        intervention_at: The instant of the intervention.
        until: The instant of the check.
        step: The expected spacing of samples, in seconds; by default the
            step ``bad`` was queried with.
        policy: How strict to be: ``hold``, ``allowed_increase``,
            ``absolute_tolerance``, ``min_traffic_ratio``,
            ``min_baseline_samples``, ``min_post_samples`` and ``confidence``
            (here one-sided, for the exact bounds) are used.

    Returns:
        The verdict; its ``test`` is ``"exact-binomial"`` and its counts
        figures (``baseline_bad``, ``post_total``, ``rate_upper``,
        ``requests_needed``...) are set.

    Raises:
        InvalidInputError: The windows are empty or out of order, the step is
            not a positive number, a series is not a :class:`Series`, an
            instant is not a datetime or the policy not a :class:`RecoveryPolicy`.
        NaiveDatetimeError: An instant has no time zone.

    .. versionadded:: 0.3.0
    """
    policy = checked_policy(policy)
    check_series({"bad": bad, "total": total}, of=" of counts")
    check_instants(
        baseline_start=baseline_start,
        baseline_end=baseline_end,
        intervention_at=intervention_at,
        until=until,
    )
    if not baseline_start < baseline_end:
        msg = f"the baseline window must not be empty: {baseline_start} to {baseline_end}"
        raise InvalidInputError(msg)
    if until < intervention_at:
        msg = f"the check at {until} is before the intervention at {intervention_at}"
        raise InvalidInputError(msg)
    step = bad.query.step if step is None else step
    if not (is_finite(step) and step > 0):
        msg = f"step must be a positive number of seconds, not {step!r}"
        raise InvalidInputError(msg)
    why = "counts of bad and all requests were given, so their shares are judged exactly"
    totals = _by_instant(total)
    verdict = RecoveryVerdict(RecoveryOutcome.INCONCLUSIVE, (), test=COUNTS_TEST)

    base = [
        (b, t)
        for _at, b, t in _aligned(
            bad, totals, baseline_start.timestamp(), baseline_end.timestamp(), closed=False
        )
        if _usable(b, t)
    ]
    base_bad = round(math.fsum(b for b, _t in base))
    base_total = round(math.fsum(t for _b, t in base))
    if len(base) < policy.min_baseline_samples or base_total <= 0:
        return attrs.evolve(
            verdict,
            reasons=(
                (
                    f"the baseline window {baseline_start} to {baseline_end} has {len(base)} "
                    f"samples with both counts and {base_total:,} requests; at least "
                    f"{policy.min_baseline_samples} samples and 1 request are needed"
                ),
                why,
            ),
            monitoring_gap=True,
            baseline_bad=base_bad,
            baseline_total=base_total,
        )
    base_share = base_bad / base_total
    threshold = base_share * (1 + policy.allowed_increase) + policy.absolute_tolerance
    base_rate = base_total / (len(base) * step)  # requests per second while sampled
    verdict = attrs.evolve(
        verdict,
        baseline_level=base_share,
        threshold=threshold,
        baseline_traffic=base_total / len(base),
        baseline_bad=base_bad,
        baseline_total=base_total,
    )

    post = _aligned(bad, totals, intervention_at.timestamp(), until.timestamp(), closed=True)
    if not post:
        return attrs.evolve(
            verdict,
            reasons=(
                f"no samples since the intervention at {intervention_at}: silence is not recovery",
            ),
            monitoring_gap=True,
        )
    silence = round(1.5 * step * 1e6)
    states: list[_State] = []
    gaps = 0
    streak_start: int | None = None  # index into post
    broken_by: Literal["bad", "gap"] | None = None
    last_at = intervention_at.timestamp()
    for index, (at, b, t) in enumerate(post):
        if round(at * 1e6) - round(last_at * 1e6) > silence:
            gaps += 1
            streak_start, broken_by = None, "gap"
        last_at = at
        if not _usable(b, t):
            gaps += 1
            streak_start, broken_by = None, "gap"
            states.append("gap")
            continue
        whole = round(t)
        if lower_bound(min(round(b), whole), whole, _SAMPLE_CONFIDENCE) > threshold:
            streak_start, broken_by = None, "bad"
            states.append("bad")
            continue
        if streak_start is None:
            streak_start = index
        states.append("healthy")
    stale = round(until.timestamp() * 1e6) - round(last_at * 1e6) > silence
    gaps += stale
    shares = [
        b / t for (_at, b, t), state in zip(post, states, strict=True) if state != "gap" and t > 0
    ]
    verdict = attrs.evolve(
        verdict,
        checked_samples=len(post),
        gaps=gaps,
        last_value=shares[-1] if shares else None,
    )
    if states[-1] == "bad" and not stale:
        b, t = round(post[-1][1]), round(post[-1][2])
        return attrs.evolve(
            verdict,
            outcome=RecoveryOutcome.NOT_RECOVERED,
            reasons=(
                (
                    f"the latest sample, {_rate_text(b, t)}, is above the healthy share "
                    f"{threshold:.4%} (baseline {base_share:.4%} +{policy.allowed_increase:.0%} "
                    f"+{policy.absolute_tolerance:g}) even at its exact lower bound"
                ),
                why,
            ),
        )
    if stale or states[-1] == "gap":
        return attrs.evolve(
            verdict,
            reasons=(
                f"data stops at {_instant(last_at)}, before the check at {until}"
                if stale
                else f"the latest sample at {_instant(last_at)} is missing a count",
                "missing data is never recovery",
            ),
            monitoring_gap=True,
        )
    assert streak_start is not None  # noqa: S101 - a healthy latest sample implies a streak
    streak_at = post[streak_start][0]
    held_for = round((last_at - streak_at) * 1e6) / 1e6
    first = max(streak_start, bisect.bisect_left([p[0] for p in post], last_at - policy.hold))
    window = [
        (b, t)
        for (_at, b, t), state in zip(post[first:], states[first:], strict=True)
        if state == "healthy"
    ]
    post_bad = round(math.fsum(b for b, _t in window))
    post_total = round(math.fsum(t for _b, t in window))
    post_bad = min(post_bad, post_total)
    duration = len(window) * step
    expected = base_rate * duration
    upper = upper_bound(post_bad, post_total, policy.confidence)
    lower = lower_bound(post_bad, post_total, policy.confidence)
    verdict = attrs.evolve(
        verdict,
        healthy_since=_instant(streak_at),
        held_for=held_for,
        post_samples=len(window),
        post_bad=post_bad,
        post_total=post_total,
        post_mean=post_bad / post_total if post_total else None,
        rate_lower=lower,
        rate_upper=upper,
        confidence=policy.confidence,
    )
    if post_total < policy.min_traffic_ratio * expected:
        return attrs.evolve(
            verdict,
            reasons=(
                (
                    f"{post_total:,} requests in the {duration:.0f} s window, under "
                    f"{policy.min_traffic_ratio:.0%} of the {expected:,.0f} the baseline's traffic "
                    "would bring: a quiet error rate without traffic is not recovery"
                ),
                why,
            ),
            monitoring_gap=True,
            low_traffic_samples=len(window),
        )
    if lower > threshold:
        return attrs.evolve(
            verdict,
            outcome=RecoveryOutcome.NOT_RECOVERED,
            reasons=(
                (
                    f"still elevated: {_rate_text(post_bad, post_total)} since "
                    f"{_instant(streak_at)}, at least {lower:.4%} at {policy.confidence:.0%}, "
                    f"above the healthy share {threshold:.4%} (baseline "
                    f"{_rate_text(base_bad, base_total)})"
                ),
                why,
            ),
        )
    if held_for < policy.hold or len(window) < policy.min_post_samples:
        restarted = {"gap": "a gap in the data restarted it", "bad": "a bad sample restarted it"}
        return attrs.evolve(
            verdict,
            reasons=(
                (
                    f"healthy since {_instant(streak_at)} but held only {held_for:.0f} s "
                    f"({len(window)} samples) of the {policy.hold:.0f} s hold (at least "
                    f"{policy.min_post_samples} samples): check again later"
                ),
                *((restarted[broken_by],) if broken_by else ()),
                why,
            ),
            monitoring_gap=broken_by == "gap",
        )
    symptom = [
        (b, t)
        for _at, b, t in _aligned(
            bad, totals, baseline_end.timestamp(), intervention_at.timestamp(), closed=False
        )
        if _usable(b, t)
    ]
    symptom_total = math.fsum(t for _b, t in symptom)
    symptom_share = math.fsum(b for b, _t in symptom) / symptom_total if symptom_total else None
    excess = max(threshold, (symptom_share or 0.0) - threshold)
    ruled_out = min(1.0, threshold + policy.resolution * excess)
    symptom_text = (
        f"the symptom's {symptom_share:.4%}"
        if symptom_share is not None
        else "the symptom (no sample of it: the threshold's own size stands in for its excess)"
    )
    if upper <= ruled_out:
        return attrs.evolve(
            verdict,
            outcome=RecoveryOutcome.RECOVERED,
            reasons=(
                (
                    f"{_rate_text(post_bad, post_total)} in the last {duration:.0f} s of a "
                    f"streak healthy since {_instant(streak_at)}: not above the healthy share "
                    f"{threshold:.4%} (baseline {_rate_text(base_bad, base_total)}), and at "
                    f"most {upper:.4%} at {policy.confidence:.0%}, which rules out "
                    f"{symptom_text} (at most {ruled_out:.4%} needed), hold {policy.hold:.0f} s"
                ),
                why,
            ),
        )
    share = post_bad / post_total if post_total else base_share
    needed = requests_needed(max(share, base_share), ruled_out, policy.confidence)
    rate = post_total / duration if duration else 0.0
    if needed is None:
        wait = "the share is too close to the threshold for any number of requests to settle it"
    else:
        more = max(0, needed - post_total)
        seconds_more = more / rate if rate > 0 else math.inf
        wait = (
            f"about {needed:,} requests in the window would settle it ({more:,} more, about "
            f"{seconds_more / 60:.0f} min at the current {rate:.3g} requests/s)"
            if math.isfinite(seconds_more)
            else f"about {needed:,} requests in the window would settle it"
        )
    return attrs.evolve(
        verdict,
        reasons=(
            (
                f"too few requests to tell: {_rate_text(post_bad, post_total)} since "
                f"{_instant(streak_at)}, at most {upper:.4%} at {policy.confidence:.0%}, which "
                f"does not rule out {symptom_text} (at most {ruled_out:.4%} needed)"
            ),
            wait,
            why,
        ),
        requests_needed=needed,
    )
