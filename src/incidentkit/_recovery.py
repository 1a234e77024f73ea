"""Deciding from monitoring data whether a symptom is gone.

Recovery means: after the intervention, the error metric is back at the
pre-incident baseline, for a sustained hold period (any bad point restarts the
hold, as Argo Rollouts' consecutive-success limit does), with real traffic,
without gaps, and the values of the hold are not shifted above the baseline by
more than the allowance (a Mann-Whitney U test with the Hodges-Lehmann shift
and its confidence interval, as Kayenta's judge does). Missing data or
collapsed traffic is never recovery: it is *inconclusive* and a monitoring gap.

:func:`check_recovery` applies these rules, in this order; the first that
matches gives the verdict:

1. The baseline has fewer error samples than ``min_baseline_samples``, no
   traffic sample, or a median traffic of zero: **inconclusive**, monitoring gap.
2. No error sample since the intervention: **inconclusive**, monitoring gap.
3. Each sample since the intervention is judged in turn. It is a *gap* if its
   error value or its traffic is missing, or if more than 1.5 steps passed
   since the sample before it; *low traffic* if its traffic is under
   ``min_traffic_ratio`` of the baseline's median; *bad* if its error value is
   above the threshold ``baseline quantile * (1 + allowed_increase) +
   absolute_tolerance``; *healthy* otherwise. Anything but healthy restarts the
   streak of healthy samples.
4. The latest sample is bad (and fresh): **not recovered**.
5. The data stops more than 1.5 steps before the check, or the latest sample
   is a gap: **inconclusive**, monitoring gap.
6. The latest sample has low traffic: **inconclusive**, monitoring gap.
7. The comparison window (the samples of the current healthy streak within
   the trailing hold; if they are fewer than ``min_post_samples``, the latest
   ``min_post_samples`` samples with a value and enough traffic, bad ones
   included) is compared with the baseline by a Mann-Whitney U test. When
   the lower bound of the Hodges-Lehmann shift's confidence interval is above
   the allowed shift ``allowed_increase * baseline median +
   absolute_tolerance``, the errors are still *high*: **not recovered** (a
   partial recovery).
8. The streak has not held for ``hold`` seconds or holds fewer than
   ``min_post_samples`` samples: **inconclusive**, check again later; a
   monitoring gap when a gap or low traffic restarted the streak.
9. The errors are probably still *elevated*: **inconclusive**, check again
   later. That is when the shift estimate is above the allowed shift, when the
   mean excess over the baseline's mean is above the allowed mean shift
   ``allowed_increase * baseline mean + absolute_tolerance`` (sparse counts
   make the median blind: mostly zeros on both sides), or when the
   Mann-Whitney test finds the window significantly greater than the baseline
   (one-sided p-value under ``1 - confidence``) while the mean excess is above
   half the allowed mean shift and its confidence interval (Welch's standard
   error) reaches above the allowed mean shift.
10. Otherwise: **recovered**.

The statistics are pure Python: the rank sums use midranks for ties, the
z-score the tie-corrected variance and a continuity correction, and the
confidence interval is the order-statistic interval of the pairwise
differences. To bound the ``n * m`` pairwise differences, at most
``max_samples`` samples of each side are compared: the latest ones after the
intervention, and an evenly spaced subsample of the baseline.
"""

from __future__ import annotations

import bisect
import datetime as dt
import enum
import functools
import itertools
import math
import operator
from array import array
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Literal, cast

import attrs
import pendulum

from incidentkit._columns import NAN as _NAN
from incidentkit._columns import Column, microseconds
from incidentkit._errors import InvalidInputError
from incidentkit._model import Series, check_series, columns
from incidentkit._numbers import is_finite
from incidentkit._time import to_instant

if TYPE_CHECKING:
    import statistics

__all__ = [
    "RecoveryOutcome",
    "RecoveryPolicy",
    "RecoveryVerdict",
    "check_recovery",
]

Comparison = Literal["within", "elevated", "high"]
"""How the comparison window stands against the baseline plus the allowed shift."""


_LARGEST_VALUE = 1e150
"""The largest magnitude a judged sample may have: the test squares and sums
differences of values, which beyond it could overflow to infinity."""


def _too_large(series: Series, start: pendulum.DateTime, end: pendulum.DateTime) -> str:
    """Return why ``series`` holds a value too large to judge in ``[start, end]``, or ``""``."""
    times, values = columns(series)
    lo = bisect.bisect_left(times, start.timestamp())
    hi = bisect.bisect_right(times, end.timestamp())
    window = values[lo:hi]
    if not any(map(_LARGEST_VALUE.__lt__, map(abs, window))):  # NaN compares False
        return ""
    index = next(i for i, value in enumerate(window) if abs(value) > _LARGEST_VALUE)
    return (
        f"{series.query.source}: {series.query.query!r} has the value {window[index]:.6g} at "
        f"{_instant(times[lo + index])}, beyond the {_LARGEST_VALUE:g} in magnitude that the "
        "comparison can compute with: no verdict can be drawn from it (check the query)"
    )


def _instant(seconds: float) -> pendulum.DateTime:
    return pendulum.from_timestamp(seconds, tz=pendulum.UTC)


def _seconds_between(later: float, earlier: float) -> float:
    """``later - earlier`` in seconds, to the microsecond (as a timedelta would give it)."""
    return round((later - earlier) * 1e6) / 1e6


def _variance(values: Sequence[float]) -> float:
    """The sample variance (n - 1 in the denominator), as statistics.variance."""
    mean = math.fsum(values) / len(values)
    return math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1)


@functools.cache
def _normal() -> statistics.NormalDist:
    """The standard normal distribution; ``statistics`` loads on the first check."""
    import statistics  # noqa: PLC0415 - kept out of `import incidentkit`

    return statistics.NormalDist()


_ROUNDING = 1e-9
"""Relative slack on the allowed shift, so that floating-point rounding never decides."""


class RecoveryOutcome(enum.Enum):
    """The three answers a recovery check can give.

    .. versionadded:: 0.1.0
    """

    RECOVERED = "recovered"
    NOT_RECOVERED = "not_recovered"
    INCONCLUSIVE = "inconclusive"


def _positive(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (is_finite(value) and value > 0):
        msg = f"{attribute.name} must be a positive finite number, not {value!r}"
        raise InvalidInputError(msg)


def _non_negative(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (is_finite(value) and value >= 0):
        msg = f"{attribute.name} must be a non-negative finite number, not {value!r}"
        raise InvalidInputError(msg)


def _fraction(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (is_finite(value) and 0 < value <= 1):
        msg = f"{attribute.name} must be in (0, 1], not {value!r}"
        raise InvalidInputError(msg)


def _open_fraction(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (is_finite(value) and 0 < value < 1):
        msg = f"{attribute.name} must be strictly between 0 and 1, not {value!r}"
        raise InvalidInputError(msg)


def _count(least: int) -> Callable[[object, attrs.Attribute[int], int], None]:
    def check(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
        candidate = cast("object", value)
        if isinstance(candidate, bool) or not isinstance(candidate, int) or candidate < least:
            msg = f"{attribute.name} must be an integer of at least {least}, not {value!r}"
            raise InvalidInputError(msg)

    return check


@attrs.frozen
class RecoveryPolicy:
    """How strict a recovery check is.

    Attributes:
        hold: Seconds of consecutive healthy samples needed, ending at the
            latest sample.
        baseline_quantile: The quantile of the baseline error values taken as
            the baseline level for the per-sample threshold. The default, 1.0,
            is the largest baseline value: with a lower quantile, ordinary
            noise exceeds the threshold somewhere in a long hold and restarts
            it (a sustained smaller increase is the comparison's to catch).
        allowed_increase: How far above the baseline a healthy value may be,
            relative (0.25 = 25 %): of the baseline level for each sample, of
            the baseline median for the shift of the comparison window.
        absolute_tolerance: An absolute allowance on top, for baselines at or
            near zero (an error ratio of 0.0005 when the baseline was 0 is fine).
        min_traffic_ratio: A sample is healthy only if traffic is at least this
            share of the baseline's median traffic.
        min_baseline_samples: Fewer baseline samples than this is inconclusive.
        confidence: The confidence level of the Hodges-Lehmann interval (two-sided).
        min_post_samples: The fewest samples the comparison window may hold;
            a streak with fewer has not held long enough, whatever ``hold`` says.
        max_samples: At most this many samples of each side enter the
            Mann-Whitney comparison (the latest after the intervention, an
            evenly spaced subsample of the baseline), bounding the pairwise
            differences to ``max_samples ** 2``.
        resolution: For counts (:func:`check_recovery_counts`): the share of
            the symptom's excess over the healthy share that the window's
            exact upper bound must rule out. 0.15: with the symptom at 20%
            errors and a healthy share of 1%, recovery needs the data to show
            at most 3.85%, besides not showing more than 1%.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       ``confidence``, ``min_post_samples`` and ``max_samples``;
       ``baseline_quantile`` defaults to 1.0 (it was 0.95).
    .. versionchanged:: 0.3.0
       ``resolution``, for the counts judge.
    """

    hold: float = attrs.field(default=600.0, validator=_positive)
    baseline_quantile: float = attrs.field(default=1.0, validator=_fraction)
    allowed_increase: float = attrs.field(default=0.25, validator=_non_negative)
    absolute_tolerance: float = attrs.field(default=0.001, validator=_non_negative)
    min_traffic_ratio: float = attrs.field(default=0.5, validator=_fraction)
    min_baseline_samples: int = attrs.field(default=5, validator=_count(1))
    confidence: float = attrs.field(default=0.95, validator=_open_fraction)
    min_post_samples: int = attrs.field(default=5, validator=_count(1))
    max_samples: int = attrs.field(default=480, validator=_count(10))
    resolution: float = attrs.field(default=0.15, validator=_open_fraction)


@attrs.frozen
class ShiftTest:
    """A Mann-Whitney U test of the post values against the baseline values.

    Attributes:
        baseline_size: How many baseline values were compared (``m``).
        post_size: How many post values were compared (``n``).
        u: The U statistic of the post values: the pairs (post, baseline)
            where post is greater, ties counting one half.
        z: The z-score for "post is greater", tie-corrected and
            continuity-corrected; ``None`` when every value ties (no variance).
        p_value: The one-sided p-value for "post is greater than baseline"
            from the normal approximation; ``None`` when ``z`` is.
        shift: The Hodges-Lehmann estimate: the median of the pairwise
            differences ``post - baseline``.
        low: The lower end of the shift's confidence interval.
        high: The upper end of the shift's confidence interval.
        confidence: The interval's (two-sided) confidence level.

    .. versionadded:: 0.2.0
    """

    baseline_size: int
    post_size: int
    u: float
    z: float | None
    p_value: float | None
    shift: float
    low: float
    high: float
    confidence: float


def mann_whitney(
    baseline: Sequence[float], post: Sequence[float], *, confidence: float = 0.95
) -> ShiftTest:
    """Compare ``post`` with ``baseline``: Mann-Whitney U and the Hodges-Lehmann shift.

    The ranks are midranks (ties share the mean of their ranks); the z-score
    uses the variance corrected for ties and a continuity correction of one
    half, as R's ``wilcox.test(exact=FALSE)`` and Kayenta do. The confidence
    interval is the order-statistic interval of the ``n * m`` pairwise
    differences ``post - baseline``: from the k-th smallest to the k-th largest,
    where ``k = floor(n * m / 2 - z * sigma + 1/2)`` for the normal quantile
    ``z`` of the confidence level and the standard deviation ``sigma`` of U.

    Args:
        baseline: The baseline values (at least one).
        post: The values to compare with it (at least one).
        confidence: The two-sided confidence level, strictly between 0 and 1.

    Returns:
        The test's figures.

    Raises:
        InvalidInputError: A side is empty, a value is not finite, or the
            confidence level is out of range.

    .. versionadded:: 0.2.0
    """
    if not baseline or not post:
        msg = (
            f"a Mann-Whitney comparison needs values on both sides, got {len(baseline)} "
            f"baseline and {len(post)} post values"
        )
        raise InvalidInputError(msg)
    if not all(math.isfinite(v) for v in (*baseline, *post)):
        msg = "a Mann-Whitney comparison needs finite values: drop the gaps first"
        raise InvalidInputError(msg)
    if not (math.isfinite(confidence) and 0 < confidence < 1):
        msg = f"confidence must be strictly between 0 and 1, not {confidence!r}"
        raise InvalidInputError(msg)
    m, n = len(baseline), len(post)
    total = m + n
    pooled = sorted([(v, False) for v in baseline] + [(v, True) for v in post])
    post_ranks = 0.0
    ties = 0
    start = 0
    while start < total:
        end = start
        while end + 1 < total and pooled[end + 1][0] == pooled[start][0]:
            end += 1
        size = end - start + 1
        midrank = (start + end) / 2 + 1
        post_ranks += midrank * sum(1 for _, is_post in pooled[start : end + 1] if is_post)
        ties += size**3 - size
        start = end + 1
    u = post_ranks - n * (n + 1) / 2
    # Var(U) = n m / 12 * ((N + 1) - ties / (N (N - 1))), in integers until the division.
    numerator = n * m * ((total + 1) * total * (total - 1) - ties)
    sigma = math.sqrt(numerator / (12 * total * (total - 1))) if numerator > 0 else 0.0
    z = (u - n * m / 2 - 0.5) / sigma if sigma > 0 else None
    p_value = None if z is None else _normal().cdf(-z)

    differences = sorted(y - x for y in post for x in baseline)
    pairs = len(differences)
    middle = pairs // 2
    shift = (
        differences[middle] if pairs % 2 else (differences[middle - 1] + differences[middle]) / 2
    )
    quantile = _normal().inv_cdf((1 + confidence) / 2)
    k = math.floor(pairs / 2 - quantile * sigma + 0.5)
    k = min(max(k, 1), (pairs + 1) // 2)
    return ShiftTest(
        baseline_size=m,
        post_size=n,
        u=u,
        z=z,
        p_value=p_value,
        shift=shift,
        low=differences[k - 1],
        high=differences[pairs - k],
        confidence=confidence,
    )


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
        comparison: How the comparison window stands against the baseline:
            ``within`` the allowed shift, probably ``elevated`` above it (the
            estimate is above), or ``high`` (the whole confidence interval is
            above); ``None`` when no comparison was made.
        baseline_median: The median of the baseline error values.
        baseline_mean: The mean of the baseline error values.
        post_mean: The mean of the comparison window's error values.
        allowed_shift: The largest shift counted as back at baseline:
            ``allowed_increase * baseline_median + absolute_tolerance``.
        baseline_samples: Baseline values in the Mann-Whitney comparison.
        post_samples: Values of the comparison window in it.
        u_statistic: The Mann-Whitney U of the comparison window.
        z_score: Its tie- and continuity-corrected z-score ("post is greater").
        p_value: The one-sided p-value for "post is greater than baseline".
        shift: The Hodges-Lehmann shift estimate (median of post - baseline).
        shift_low: The lower end of the shift's confidence interval.
        shift_high: The upper end of the shift's confidence interval.
        confidence: The interval's two-sided confidence level.
        relative_shift: The shift relative to the baseline median (``None``
            when that median is zero).
        test: Which judge decided: ``"mann-whitney"`` (error values, a ratio
            or a rate per sample: :func:`check_recovery`),
            ``"exact-binomial"`` (counts of bad and all requests:
            :func:`check_recovery_counts`) or ``"threshold-hold"`` (a gauge
            held under a threshold: :func:`check_recovery_threshold`, whose
            ``threshold`` is the objective's). The reasons say why.
        baseline_bad: The baseline's bad requests, added up (counts only).
        baseline_total: The baseline's requests, added up (counts only).
        post_bad: The bad requests of the window judged (counts only).
        post_total: The requests of the window judged (counts only).
        rate_lower: The exact lower bound of the window's bad share (counts only).
        rate_upper: The exact upper bound of the window's bad share (counts only).
        requests_needed: How many requests in the window would settle an
            inconclusive verdict at the share seen (counts only; ``None`` if
            not asked or if no number would).

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       The Mann-Whitney figures, from ``comparison`` on.
    .. versionchanged:: 0.3.0
       ``test`` and the counts figures, from ``baseline_bad`` on;
       ``"threshold-hold"``, the threshold judge.
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
    comparison: Comparison | None = None
    baseline_median: float | None = None
    baseline_mean: float | None = None
    post_mean: float | None = None
    allowed_shift: float | None = None
    baseline_samples: int = 0
    post_samples: int = 0
    u_statistic: float | None = None
    z_score: float | None = None
    p_value: float | None = None
    shift: float | None = None
    shift_low: float | None = None
    shift_high: float | None = None
    confidence: float | None = None
    relative_shift: float | None = None
    test: Literal["mann-whitney", "exact-binomial", "threshold-hold"] = "mann-whitney"
    baseline_bad: int | None = None
    baseline_total: int | None = None
    post_bad: int | None = None
    post_total: int | None = None
    rate_lower: float | None = None
    rate_upper: float | None = None
    requests_needed: int | None = None


def _quantile_of_sorted(ordered: Sequence[float], q: float) -> float:
    if len(ordered) == 1:
        return ordered[0]
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _spread(values: Sequence[float], limit: int) -> list[float]:
    """Return at most ``limit`` values, evenly spaced over ``values`` (first and last kept)."""
    if len(values) <= limit:
        return list(values)
    last = len(values) - 1
    return [values[round(i * last / (limit - 1))] for i in range(limit)]


def _standard_error(post: Sequence[float], baseline: Sequence[float]) -> float:
    """Return Welch's standard error of the difference of the two means."""
    return math.sqrt(
        sum(_variance(side) / len(side) if len(side) > 1 else 0.0 for side in (post, baseline))
    )


def _above(value: float, limit: float) -> bool:
    """Whether ``value`` exceeds ``limit`` by more than floating-point rounding."""
    return value > limit + _ROUNDING * max(abs(limit), abs(value))


_State = Literal["healthy", "bad", "gap", "low_traffic"]

# A judged sample's state is one byte: its code. The walk ORs three masks of flags into
# one (bad 1, low traffic 2, gap 4) and translates each byte to the state that wins.
_HEALTHY, _BAD, _LOW, _GAP = 0, 1, 2, 3
_STATES: tuple[_State, ...] = ("healthy", "bad", "low_traffic", "gap")
_BREAKS: tuple[Literal["bad", "gap", "low_traffic"], ...] = ("bad", "bad", "low_traffic", "gap")
"""The kind of break each code is (indexed by code; a healthy sample breaks nothing)."""
_CODE_OF_FLAGS = bytes([_HEALTHY, _BAD, _LOW, _LOW, _GAP, _GAP, _GAP, _GAP]) + bytes(248)
_IS_HEALTHY = bytes([1, 0, 0, 0]) + bytes(252)
_IS_USABLE = bytes([1, 1, 0, 0]) + bytes(252)
"""Healthy or bad: a value with enough traffic, which may enter the comparison window."""


@attrs.frozen
class _Walk:
    """The samples since the intervention, judged one by one (rule 3), as columns."""

    at: Column
    """Each judged sample's instant, Unix seconds."""
    state: bytes
    """Each judged sample's state, as its code (``_HEALTHY`` ... ``_GAP``)."""
    value: Column
    """Each judged sample's value, NaN for a missing one."""
    gaps: int
    low_traffic: int
    streak_start: float | None
    broken_by: Literal["bad", "gap", "low_traffic"] | None
    last_at: float
    stale: bool

    @property
    def last_state(self) -> str:
        return _STATES[self.state[-1]] if self.state else "none"

    @property
    def last_value(self) -> float | None:
        last = len(self.state.rstrip(bytes((_GAP,)))) - 1
        return self.value[last] if last >= 0 else None


def _margin(*seconds: float) -> float:
    """How far a difference of two instants may be from the difference of their microseconds.

    Each instant is rounded to whole microseconds after a product by 1e6 that rounds too
    (relative 2**-53): half a microsecond and ``|t| * 1.1e-10`` microseconds each, plus
    the subtraction's own rounding. Twice that, in seconds, to stay clear of it.
    """
    largest = max(map(abs, seconds))
    return 4e-6 + 1e-14 * largest


def _mask(flags: Iterable[bool]) -> int:
    """A sequence of flags as one integer, byte ``i`` being 1 where flag ``i`` is true."""
    return int.from_bytes(bytes(flags), "little")


def _matched(
    at: Column, traffic: Series, since_s: float, until_s: float, *, distinct: bool
) -> Column:
    """The traffic at each instant of ``at`` matched to the microsecond, NaN where it has none.

    When the traffic has exactly the same instants over the walked window, it is that
    slice (``distinct``: no two of them, nor a traffic sample just outside, fall in the
    same microsecond, where the last would win); otherwise a dict keyed by the traffic's
    microseconds within a second of the window, as it was always matched.
    """
    times, values = columns(traffic)
    lo, hi = bisect.bisect_left(times, since_s), bisect.bisect_right(times, until_s)
    t_lo = bisect.bisect_left(times, since_s - 1)
    t_hi = bisect.bisect_right(times, until_s + 1)
    if (
        distinct
        and hi - lo == len(at)
        and memoryview(times)[lo:hi] == memoryview(at)
        and (hi == t_hi or microseconds(times[hi]) != microseconds(times[hi - 1]))
    ):
        return values[lo:hi]
    to_micros = (1e6).__mul__  # microseconds(t) is round(t * 1e6)
    by_micros = dict(
        zip(map(round, map(to_micros, times[t_lo:t_hi])), values[t_lo:t_hi], strict=True)
    )
    return array("d", map(by_micros.get, map(round, map(to_micros, at)), itertools.repeat(_NAN)))


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
    """Judge each sample since the intervention (rule 3) in C-level passes over the columns.

    The same rule as a loop over the samples would apply, one sample after the other: a
    silence longer than ``max_silence`` (in whole microseconds) before a sample is a gap
    and breaks the streak; the sample itself is a gap (no value or no traffic matched to
    its microsecond), low traffic, bad or healthy, in that order. Each condition is a
    byte mask built by ``bytes(map(...))``, skipped when the column's extremes show it
    is false everywhere; the streak is what follows the last break.
    """
    times, values = columns(errors)
    since_s, until_s = since.timestamp(), until.timestamp()
    lo, hi = bisect.bisect_left(times, since_s), bisect.bisect_right(times, until_s)
    at, value = times[lo:hi], values[lo:hi]
    silence = round(max_silence * 1e6)
    n = len(at)
    if not n:
        stale = microseconds(until_s) - microseconds(since_s) > silence
        return _Walk(at, b"", value, int(stale), 0, None, None, since_s, stale)
    # The silences before each sample: exact microseconds only when the plain
    # differences come within rounding of the limit (or of two samples in one microsecond).
    steps = list(map(operator.sub, itertools.islice(at, 1, None), at))
    margin = _margin(since_s, at[0], at[-1])
    longest = max(at[0] - since_s, max(steps, default=0.0))
    distinct = not steps or min(steps) > margin
    silent = b""
    if longest + margin >= silence / 1e6:
        micros = list(map(round, map((1e6).__mul__, at)))
        before = itertools.chain((microseconds(since_s),), micros)
        silent = bytes(map(silence.__lt__, map(operator.sub, micros, before)))
    volume = _matched(at, traffic, since_s, until_s, distinct=distinct)
    flags = 0
    if not (max(value) <= threshold):  # NaN first makes max NaN: then look at each
        flags |= _mask(map(threshold.__lt__, value))
    if not (min(volume) >= min_traffic):
        flags |= _mask(map(min_traffic.__gt__, volume)) << 1
    for column in (value, volume):
        if not math.isfinite(sum(column)):  # finite values or NaN: a NaN, or an overflow
            flags |= _mask(map(operator.ne, column, column)) << 2
    state = flags.to_bytes(n, "little").translate(_CODE_OF_FLAGS) if flags else bytes(n)
    # The streak follows the last break: a non-healthy sample, or a silence before one.
    last_state_break = len(state.rstrip(bytes((_HEALTHY,)))) - 1
    last_silence = silent.rfind(1)
    broken_by: Literal["bad", "gap", "low_traffic"] | None
    if last_silence > last_state_break:
        broken_by, first = "gap", last_silence
    elif last_state_break >= 0:
        broken_by, first = _BREAKS[state[last_state_break]], last_state_break + 1
    else:
        broken_by, first = None, 0
    last_at = at[-1]
    stale = microseconds(until_s) - microseconds(last_at) > silence
    return _Walk(
        at,
        state,
        value,
        state.count(_GAP) + silent.count(1) + stale,
        state.count(_LOW),
        at[first] if first < n else None,
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
    recent = list(itertools.compress(walk.value[first:], walk.state[first:].translate(_IS_HEALTHY)))
    if len(recent) < policy.min_post_samples:
        usable = list(itertools.compress(walk.value, walk.state.translate(_IS_USABLE)))
        recent = usable[-policy.min_post_samples :]
    return recent[-policy.max_samples :]


def _compare(
    verdict: RecoveryVerdict,
    baseline: Sequence[float],
    sorted_baseline: Sequence[float],
    values: Sequence[float],
    policy: RecoveryPolicy,
) -> RecoveryVerdict:
    """Compare the window with the baseline (rules 7 and 9); return the verdict with the figures.

    ``baseline`` is in time order (the test takes evenly spaced samples of it),
    ``sorted_baseline`` the same values sorted.
    """
    test = mann_whitney(_spread(baseline, policy.max_samples), values, confidence=policy.confidence)
    median = _quantile_of_sorted(sorted_baseline, 0.5)
    baseline_mean = math.fsum(baseline) / len(baseline)
    post_mean = math.fsum(values) / len(values)
    # Relative to the baseline's magnitude: a gauge's baseline may be below zero.
    allowed = policy.allowed_increase * abs(median) + policy.absolute_tolerance
    allowed_mean = policy.allowed_increase * abs(baseline_mean) + policy.absolute_tolerance
    excess = post_mean - baseline_mean
    quantile = _normal().inv_cdf((1 + policy.confidence) / 2)
    significant = test.p_value is not None and test.p_value < 1 - policy.confidence
    comparison: Comparison
    if _above(test.low, allowed):
        comparison = "high"
    elif (
        _above(test.shift, allowed)
        or _above(excess, allowed_mean)
        or (
            significant
            and _above(excess, allowed_mean / 2)
            and _above(excess + quantile * _standard_error(values, baseline), allowed_mean)
        )
    ):
        comparison = "elevated"
    else:
        comparison = "within"
    return attrs.evolve(
        verdict,
        comparison=comparison,
        baseline_median=median,
        baseline_mean=baseline_mean,
        post_mean=post_mean,
        allowed_shift=allowed,
        baseline_samples=test.baseline_size,
        post_samples=test.post_size,
        u_statistic=test.u,
        z_score=test.z,
        p_value=test.p_value,
        shift=test.shift,
        shift_low=test.low,
        shift_high=test.high,
        confidence=test.confidence,
        relative_shift=_finite_or_none(test.shift / median) if median > 0 else None,
    )


def _finite_or_none(value: float) -> float | None:
    """Return ``value``, or ``None`` when it overflowed (a shift over a median of 1e-300)."""
    return value if math.isfinite(value) else None


def _shift_text(verdict: RecoveryVerdict) -> str:
    return (
        f"the Hodges-Lehmann shift over the baseline is {verdict.shift:.6g} "
        f"({verdict.confidence:.0%} interval {verdict.shift_low:.6g} to {verdict.shift_high:.6g}, "
        f"{verdict.post_samples} samples against {verdict.baseline_samples}), "
        f"the allowed shift {verdict.allowed_shift:.6g}"
    )


def _present(series: Series, start: pendulum.DateTime, end: pendulum.DateTime) -> list[float]:
    """The values of ``series`` with ``start <= at < end``, gaps left out, in time order."""
    times, values = columns(series)
    lo = bisect.bisect_left(times, start.timestamp())
    hi = bisect.bisect_left(times, end.timestamp())
    window = values[lo:hi]
    if math.isfinite(sum(window)):  # finite values or NaN: no gap (unless the sum overflowed)
        return window.tolist()
    return [value for value in window if value == value]  # noqa: PLR0124 - NaN


def _maybe_too_large(
    series: Series, present: Sequence[float], baseline_end: pendulum.DateTime, until: float
) -> bool:
    """Whether :func:`_too_large` may find a value in ``series`` from the baseline to ``until``.

    ``present`` is the baseline's values, sorted: its ends are its extremes. The rest of
    the window, from the baseline's end to ``until``, is judged by its ``max`` and ``min``
    (two C-level passes): a NaN first makes them NaN, and then it may. Never false when
    :func:`_too_large` would find one; the caller asks it for the message.
    """
    if present and not (present[0] >= -_LARGEST_VALUE and present[-1] <= _LARGEST_VALUE):
        return True
    times, values = columns(series)
    rest = values[
        bisect.bisect_left(times, baseline_end.timestamp()) : bisect.bisect_right(times, until)
    ]
    return bool(rest) and not (min(rest) >= -_LARGEST_VALUE and max(rest) <= _LARGEST_VALUE)


def checked_policy(policy: RecoveryPolicy | None) -> RecoveryPolicy:
    """Return ``policy``, or the default for ``None``; refuse anything else."""
    if policy is None:
        return RecoveryPolicy()
    if not isinstance(cast("object", policy), RecoveryPolicy):
        msg = f"policy must be a RecoveryPolicy or None, not {type(policy).__name__} {policy!r:.60}"
        raise InvalidInputError(msg)
    return policy


def check_instants(**instants: object) -> None:
    """Refuse an instant that is not an aware datetime, naming its argument."""
    for name, value in instants.items():
        if not isinstance(value, dt.datetime):
            msg = f"{name} must be an aware datetime, not {type(value).__name__} {value!r:.60}"
            raise InvalidInputError(msg)
        to_instant(value, what=name)  # raises NaiveDatetimeError for a naive one


def _validate(
    *,
    errors: Series,
    traffic: Series,
    baseline_start: pendulum.DateTime,
    baseline_end: pendulum.DateTime,
    intervention_at: pendulum.DateTime,
    until: pendulum.DateTime,
    step: float | None,
) -> None:
    check_series({"errors": errors, "traffic": traffic})
    check_instants(
        baseline_start=baseline_start,
        baseline_end=baseline_end,
        intervention_at=intervention_at,
        until=until,
    )
    if not baseline_start < baseline_end:
        msg = (
            f"the baseline window must not be empty: it starts at {baseline_start} "
            f"and ends at {baseline_end}"
        )
        raise InvalidInputError(msg)
    if until < intervention_at:
        msg = f"the check at {until} is before the intervention at {intervention_at}"
        raise InvalidInputError(msg)
    if step is not None and not (is_finite(step) and step > 0):
        msg = f"step must be a positive number of seconds, not {step!r}"
        raise InvalidInputError(msg)


def check_recovery(  # noqa: C901, PLR0911, PLR0912 - the numbered rules, one return each, in order
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
            not a positive number, a series is not a :class:`Series`, an
            instant is not a datetime or the policy not a :class:`RecoveryPolicy`.
        NaiveDatetimeError: An instant has no time zone.

    .. versionadded:: 0.2.0
    """
    policy = checked_policy(policy)
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
    base_errors = _present(errors, baseline_start, baseline_end)
    base_traffic = _present(traffic, baseline_start, baseline_end)
    sorted_errors = sorted(base_errors)
    sorted_traffic = sorted(base_traffic)
    if baseline_end <= until:  # the baseline's sorted values give its extremes
        check_s = until.timestamp()
        maybe = _maybe_too_large(errors, sorted_errors, baseline_end, check_s) or (
            _maybe_too_large(traffic, sorted_traffic, baseline_end, check_s)
        )
    else:
        maybe = True
    too_large = maybe and (
        _too_large(errors, baseline_start, until) or _too_large(traffic, baseline_start, until)
    )
    if too_large:
        return RecoveryVerdict(RecoveryOutcome.INCONCLUSIVE, (too_large,), monitoring_gap=True)

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
    baseline_level = _quantile_of_sorted(sorted_errors, policy.baseline_quantile)
    threshold = baseline_level * (1 + policy.allowed_increase) + policy.absolute_tolerance
    baseline_traffic = _quantile_of_sorted(sorted_traffic, 0.5)
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
    assert walk.streak_start is not None  # noqa: S101 - a healthy latest sample implies a streak
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
