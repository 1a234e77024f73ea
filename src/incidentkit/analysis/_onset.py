"""Symptom onset: when a symptom began in a metric series, how big it is, when it ended.

The method, in short (``docs/analysis/onset.md`` has the long form):

1. The *baseline* is the normal behaviour: the samples of a window you name, or by
   default the first quarter of the series. Its level is their median and its noise
   their median absolute deviation (MAD), both robust to the odd spike.
2. When the series spans two days or more and has a clear daily cycle, each value is
   first replaced by its difference with the value at the same time a day earlier.
3. Every value becomes a robust z-score against the baseline, clipped at 4 so that no
   single sample decides anything. A one-sided CUSUM accumulates the z-scores above
   half the smallest shift of interest and raises an alarm when the sum passes a
   threshold, widened when the noise is correlated or heavy-tailed; a run of four or
   more samples beyond the clip is no outlier, and its clip widens with the threshold
   (a large shift then raises the alarm within a few samples, whatever the noise).
4. Around the alarm, a least-squares fit of "flat, then a rise, then flat" places the
   onset: at the step, or at the start of a ramp when a ramp fits clearly better.
5. The shift must be real and persist: ``min_duration`` samples after the onset (and
   after the alarm) the median z-score must still be shifted, and by more than just
   before the onset. A spike is not an onset.
6. The same machinery, turned round, finds where the symptom ended.
7. After a symptom that ended, the search goes on from its end; after one that lasts,
   it looks for a rise to more than twice its shift on top of it. One onset is
   reported: the first symptom's, unless a later one's shift is more than twice as
   large (then the explanation names the one passed over).

Everything is a few linear passes over plain lists of floats; a median sorts at most
20,000 values. No numpy.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Final, Literal, cast

import attrs
import pendulum

from incidentkit._errors import InvalidInputError, NaiveDatetimeError
from incidentkit._model import Series, columns
from incidentkit._numbers import is_finite
from incidentkit._time import to_instant

__all__ = ["Onset", "detect_onset"]

DAY: Final = 86_400.0
"""The seasonal period, in seconds."""
CLIP: Final = 4.0
"""Robust z-scores are clipped to ``[-CLIP, CLIP]``: one sample weighs at most this much."""
FIT_CLIP: Final = 3.0
"""The onset's fit clips values at this many shifts from the baseline."""
STATS_CAP: Final = 20_000
"""A median is taken over at most this many values (evenly spaced ones of a longer run)."""
CONFIDENCE_SCALE: Final = 5.0
"""The evidence (see :attr:`Onset.confidence`) at which the confidence is one half."""
MIN_EVIDENCE: Final = 4.0
"""An onset is reported only when its evidence reaches this (a confidence of 0.39)."""
MAX_SUPPORT: Final = 100
"""The evidence counts at most this many symptom samples."""
MIN_BASELINE: Final = 3
"""A baseline needs at least this many samples with a value."""
SEASONAL_GAIN: Final = 0.4
"""Daily seasonality is assumed when values a day apart differ by less than this share of
what values half a day apart differ by (lower quartiles of the absolute differences)."""
DEFAULT_BASELINE_SHARE: Final = 0.25
"""Without a baseline window, the first quarter of the series is the baseline."""

_EPOCH: Final = dt.date(1970, 1, 1).toordinal() * DAY
_MAD_TO_SIGMA: Final = 1.4826
_MAX_RHO: Final = 0.9
_BLOCKS: Final = 3
_MIN_BLOCK: Final = 10
GROWTH: Final = 8
_FIT_PARAMETERS: Final = 4
MIN_FIT: Final = 8
MIN_RAMP: Final = 2
_RUN: Final = 4
"""Beyond ``CLIP``, a sample counts up to the wider clip only in a run of this many."""
_DISPLACE: Final = 2.0
"""A later symptom is reported instead when its shift is more than this many times larger."""
_MAX_EPISODES: Final = 20
"""At most this many symptoms are looked at in one series."""
_END_FLOOR: Final = 0.0
"""The end's fit reads a value beyond the symptom's level as at it (in units of the shift):
a later, larger rise must not hide the return to the baseline before it."""
_TINY: Final = 1e-12
_MAX_EVIDENCE: Final = 1e6
_SEARCH_BUDGET: Final = 6_000
_SEASONAL_CHECK: Final = 1_000
_WALK: Final = 8
_RETRIES: Final = 2
_MEDIAN_ERROR: Final = 1.25
_MAX_REJECTED: Final = 10
_LARGEST: Final = 2.0**100
_SMALLEST: Final = 2.0**-100

Direction = Literal["up", "down"]
"""The direction a symptom moved the metric."""
Looking = Literal["up", "down", "either"]
"""The direction looked for: ``"either"`` looks both ways."""
Shape = Literal["step", "ramp", "spike"]
SPIKE_SIGMAS: Final = 6.0
"""With ``spikes=True``, a sample this many noise sigmas (times the tail factor) beyond the
baseline, in a burst shorter than ``min_duration`` that returns, is a spike."""
Seasonality = Literal["auto", "daily", "none"]


@attrs.frozen
class Onset:
    """When a symptom began in a metric series, and what it looked like.

    Attributes:
        at: The instant of the first sample of the symptom: the step, or the
            start of the rise for a ramp.
        index: That sample's index in ``series.samples`` (gaps included), or in
            the pairs when pairs were given.
        confidence: How clear the symptom is, from 0 to 1: ``T**2 / (T**2 + 25)``,
            where the evidence ``T`` is the shift in noise sigmas times the square
            root of the number of symptom samples (at most 100), divided by the
            noise's correlation and tail factor. One sigma over 25 samples gives
            0.5, five sigmas over 10 samples 0.91. An onset is only reported from
            ``T = 4`` (0.39).
        baseline_level: The normal level: the baseline's median; with daily
            seasonality, the median over the symptom of the values a day earlier.
        symptom_level: The median value during the symptom (after the rise, until
            the end).
        noise: The baseline's robust standard deviation (1.4826 MAD) in the series'
            units; with daily seasonality, that of the differences with the day before.
        shape: ``"step"`` (a level shift), ``"ramp"`` (a level shift reached
            gradually), or ``"spike"`` (a burst shorter than ``min_duration``
            samples that returned to the baseline; reported only with
            ``spikes=True``).
        ramp_end: For a ramp, the first instant at the symptom level (``None`` if
            it was still rising at the end of the series); ``None`` for a step.
        ended_at: The first instant back at the baseline, when the symptom ended
            within the series (for a spike: the sample after it); ``None`` if it
            was still there at the end.
        end_index: That sample's index, or ``None``.
        direction: The direction the symptom moved the metric: the one looked
            for, or with ``direction="either"`` the one found.
        seasonal: Whether values were compared with the same time a day earlier.
        explanation: The finding in plain words, with the figures.
        ramp_seconds: For a ramp that levelled off within the series, how long
            it took to reach the symptom level (from :attr:`at` to
            :attr:`ramp_end`), in seconds; ``None`` otherwise.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0
       ``shape="spike"``, :attr:`ramp_seconds`, and a found :attr:`direction`.
    """

    at: pendulum.DateTime
    index: int
    confidence: float
    baseline_level: float
    symptom_level: float
    noise: float
    shape: Shape
    ramp_end: pendulum.DateTime | None
    ended_at: pendulum.DateTime | None
    end_index: int | None
    direction: Direction
    seasonal: bool
    explanation: str
    ramp_seconds: float | None = None

    @property
    def shift(self) -> float:
        """The symptom level minus the baseline level, in the series' units."""
        return self.symptom_level - self.baseline_level

    @property
    def ramp_start(self) -> pendulum.DateTime | None:
        """For a ramp, where the rise began (the same as :attr:`at`); ``None`` for a step."""
        return self.at if self.shape == "ramp" else None


# -- reading the input -----------------------------------------------------------------


@attrs.frozen
class _Input:
    """The input, whatever its form: values (``None`` for gaps) and their instants."""

    values: list[float | None]
    instant: Callable[[int], pendulum.DateTime]
    """The instant of sample ``i``."""
    seconds: Callable[[int], float]
    """The Unix seconds of sample ``i``."""
    all_seconds: Callable[[], list[float]]
    """The Unix seconds of every sample."""


def _unix(at: dt.datetime) -> float:
    """Unix seconds of a UTC instant, from its fields (several times faster than timestamp())."""
    return (
        at.toordinal() * DAY
        + at.hour * 3600.0
        + at.minute * 60.0
        + at.second
        + at.microsecond * 1e-6
        - _EPOCH
    )


def _from_series(series: Series) -> _Input:
    times, column = columns(series)
    values: list[float | None] = [None if v != v else v for v in column]  # noqa: PLR0124

    def instant(i: int) -> pendulum.DateTime:
        return pendulum.from_timestamp(times[i], tz=pendulum.UTC)

    return _Input(values, instant, times.__getitem__, times.tolist)


def _pair_seconds(raw: object, position: int) -> float:
    if isinstance(raw, dt.datetime):
        if raw.tzinfo is None or raw.utcoffset() is None:
            msg = (
                f"sample {position}: {raw.isoformat()} is a naive datetime: incidentkit never "
                "guesses a time zone. Pass an aware one, e.g. datetime(..., "
                "tzinfo=timezone.utc), or Unix seconds."
            )
            raise NaiveDatetimeError(msg)
        return raw.timestamp()
    if isinstance(raw, (int, float)) and not isinstance(raw, bool) and math.isfinite(raw):
        return float(raw)
    msg = f"sample {position}: an instant is an aware datetime or finite Unix seconds, not {raw!r}"
    raise InvalidInputError(msg)


def _pair_value(raw: object, position: int) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        value = float(raw)
        return value if math.isfinite(value) else None
    msg = f"sample {position}: a value is a number or None (a gap), not {raw!r}"
    raise InvalidInputError(msg)


def _from_pairs(pairs: Iterable[tuple[dt.datetime | float, float | None]]) -> _Input:
    raw_times: list[dt.datetime | float] = []
    times: list[float] = []
    values: list[float | None] = []
    given = cast("object", pairs)
    if isinstance(given, (str, bytes)) or not isinstance(given, Iterable):
        msg = f"series must be a Series or (instant, value) pairs, not {type(pairs).__name__}"
        raise InvalidInputError(msg)
    for position, pair in enumerate(pairs):
        try:
            raw_at, raw_value = pair
        except (TypeError, ValueError):
            msg = f"sample {position}: expected an (instant, value) pair, got {pair!r}"
            raise InvalidInputError(msg) from None
        seconds = _pair_seconds(raw_at, position)
        if times and seconds <= times[-1]:
            msg = (
                f"sample {position} is not after the one before it: the pairs must be in "
                "strictly increasing time order"
            )
            raise InvalidInputError(msg)
        values.append(_pair_value(raw_value, position))
        raw_times.append(raw_at)
        times.append(seconds)

    def instant(i: int) -> pendulum.DateTime:
        return to_instant(raw_times[i], what=f"sample {i}")

    return _Input(values, instant, times.__getitem__, times.copy)


def _normalised(inp: _Input) -> tuple[_Input, int]:
    """The input with its values scaled by a power of two when they are huge or tiny.

    Squares of values near 1e200 overflow and noise floors are absolute, so values
    whose largest magnitude is outside ``[2**-100, 2**100]`` are brought near 1. A
    power of two scales exactly: the answer is the same, its levels scaled back.

    Returns:
        The input, and the power of two its values were multiplied by.
    """
    present = [v for v in inp.values if v is not None]
    if not present:
        return inp, 0
    top = max(present)
    bottom = min(present)
    largest = max(top, -bottom)
    if largest == 0.0 or _SMALLEST <= largest <= _LARGEST:
        return inp, 0
    exponent = -math.frexp(largest)[1]
    values = [None if v is None else math.ldexp(v, exponent) for v in inp.values]
    return attrs.evolve(inp, values=values), exponent


# -- robust statistics -----------------------------------------------------------------


def median_sorted(ordered: Sequence[float]) -> float:
    n = len(ordered)
    half = n // 2
    if n % 2:
        return ordered[half]
    return 0.5 * (ordered[half - 1] + ordered[half])


def _median(values: Sequence[float], lo: int, hi: int) -> float:
    """The median of ``values[lo:hi]``, over at most STATS_CAP evenly spaced values."""
    stride = max(1, -(-(hi - lo) // STATS_CAP))
    return median_sorted(sorted(values[lo:hi:stride]))


def _level_and_noise(values: Sequence[float], lo: int, hi: int) -> tuple[float, float]:
    """The level and the robust standard deviation of ``values[lo:hi]``.

    Normally the median and 1.4826 MAD. When over half the values are equal (a
    quantized or mostly-zero metric) the MAD is zero: the mean and the ordinary
    standard deviation stand in. A constant run gets a tiny floor.
    """
    stride = max(1, -(-(hi - lo) // STATS_CAP))
    part = sorted(values[lo:hi:stride])
    level = median_sorted(part)
    noise = _MAD_TO_SIGMA * median_sorted(sorted([abs(v - level) for v in part]))
    if noise <= 0.0:
        level = math.fsum(part) / len(part)
        noise = math.sqrt(math.fsum((v - level) ** 2 for v in part) / len(part))
    return level, max(noise, abs(level) * 1e-9, _TINY)


def _difference_noise(values: Sequence[float], lo: int, hi: int) -> float:
    """The robust noise of ``values[lo:hi]`` from its first differences (blind to trends)."""
    part = values[lo:hi]
    if len(part) < MIN_BASELINE:
        return 0.0
    diffs = [abs(b - a) for a, b in itertools.pairwise(part)]
    return _MAD_TO_SIGMA * _median(diffs, 0, len(diffs)) / math.sqrt(2.0)


@attrs.frozen
class _Scale:
    """How raw values become z-scores: ``z = clip((x - level) * inv, -CLIP, CLIP)``."""

    level: float
    noise: float
    inv: float
    """``sign / noise``: the z-scores grow in the symptom's direction."""
    correlation: float
    """``(1 + rho) / (1 - rho)``: how much more a sum of correlated samples wanders."""
    spread: float
    """The clipped z-scores' standard deviation, at least 1 (heavier tails than normal)."""
    slack: float = 0.0
    """The level's standard error in noise sigmas, ``1.25 / sqrt(samples)``."""

    @property
    def threshold_factor(self) -> float:
        """How much wider than for plain noise the CUSUM's threshold is."""
        return self.correlation * self.spread

    @property
    def clip(self) -> float:
        """Where the z-scores are clipped: ``CLIP`` times :attr:`threshold_factor`.

        The clip bounds one sample's weight against the threshold, so it widens with
        it: a sample weighs at most ``CLIP / threshold`` of a decision, whatever the
        noise. A fixed clip under a widened threshold would cap how fast any shift,
        however large, reaches it: with a factor of 20, a shift of a thousand sigmas
        would need as many samples as one of four (some fifty), and a symptom that
        began less than that before the end of the series would go unseen.
        """
        return CLIP * self.correlation * self.spread

    @property
    def error_factor(self) -> float:
        """How much wider than for plain noise the standard error of a mean is."""
        return math.sqrt(self.correlation) * self.spread


def character(z: Sequence[float]) -> tuple[float, float]:
    """The lag-one autocorrelation and the standard deviation of ``z``, about its mean."""
    mean = math.fsum(z) / len(z)
    centred = [u - mean for u in z]
    variance = math.fsum(u * u for u in centred) / len(centred)
    lagged = math.fsum(u * v for u, v in itertools.pairwise(centred))
    estimate = lagged / (variance * len(centred)) if variance > 0.0 else 0.0
    # The lag-one estimate is biased low by about (1 + 4 rho) / n: add it back.
    return estimate + (1.0 + 4.0 * max(0.0, estimate)) / len(centred), math.sqrt(variance)


def _scale(
    values: Sequence[float], lo: int, hi: int, sign: float, fallback: _Scale | None = None
) -> _Scale:
    """The baseline's level and noise, and how the noise departs from plain noise.

    Correlated noise: a sum of ``n`` samples with lag-one autocorrelation ``rho``
    wanders like ``n * (1 + rho) / (1 - rho)`` independent ones; the CUSUM's threshold
    is widened by that factor (its false alarms depend on the threshold over the
    variance) and a mean's standard error by its square root. Heavy tails: the clipped
    z-scores' standard deviation, when above 1, widens both. Both are measured in each
    third of the window (about its own mean) and the median of the three is kept, so
    that a level shift or a burst inside the window does not pass for either.

    Under ``3 * _MIN_BLOCK`` samples, neither can be told from a shift that well. With
    a ``fallback`` (the scale of a longer window of the same series, which may hold a
    symptom) and at least ``_MIN_BLOCK`` samples, each factor is the smaller of the
    fallback's and the one measured over the whole window: a symptom in the longer
    window inflates its factors, while correlated noise (a ``rate()`` over several
    samples) shows in both. Otherwise plain noise is assumed.
    """
    level, noise = _level_and_noise(values, lo, hi)
    # A second estimate of the noise from the first differences: with few samples the
    # MAD is often too small, and the larger of two estimates is seldom.
    noise = max(noise, _difference_noise(values, lo, hi))
    inv = sign / noise
    slack = _MEDIAN_ERROR / math.sqrt(hi - lo)
    block = values[max(lo, hi - STATS_CAP) : hi]
    z = [min(CLIP, max(-CLIP, (x - level) * inv)) for x in block]
    if len(z) < _BLOCKS * _MIN_BLOCK:
        if fallback is None or len(z) < _MIN_BLOCK:
            return _Scale(level, noise, inv, 1.0, 1.0, slack)
        rho, spread = character(z)
        rho = min(_MAX_RHO, max(0.0, rho))
        return _Scale(
            level,
            noise,
            inv,
            min(fallback.correlation, (1.0 + rho) / (1.0 - rho)),
            min(fallback.spread, max(1.0, spread)),
            slack,
        )
    size = len(z) // _BLOCKS
    rhos: list[float] = []
    spreads: list[float] = []
    for b in range(_BLOCKS):
        rho, spread = character(z[b * size : (b + 1) * size])
        rhos.append(rho)
        spreads.append(spread)
    rho = min(_MAX_RHO, max(0.0, median_sorted(sorted(rhos))))
    spread = max(1.0, median_sorted(sorted(spreads)))
    return _Scale(level, noise, inv, (1.0 + rho) / (1.0 - rho), spread, slack)


def _zscores(values: Sequence[float], lo: int, hi: int, scale: _Scale) -> list[float]:
    level, inv, clip = scale.level, scale.inv, scale.clip
    out: list[float] = []
    append = out.append
    for x in values[lo:hi]:
        u = (x - level) * inv
        if u > clip:
            u = clip
        elif u < -clip:
            u = -clip
        append(u)
    return out


# -- the CUSUM and the fit ---------------------------------------------------------------


def _cusum(
    values: Sequence[float],
    start: int,
    stop: int,
    *,
    scale: _Scale,
    gain: float,
    bias: float,
    threshold: float,
) -> tuple[int, int] | None:
    """Run ``S = max(0, S + clip((x - level) * inv) * gain + bias)`` from ``start``.

    ``gain`` is 1 to accumulate a rise of the z-scores, -1 for a fall. A z-score is
    clipped at ``CLIP``, or at ``scale.clip`` when it is the ``_RUN``-th or later of a
    run of samples beyond ``CLIP`` on the same side: a spike weighs little, a large
    shift raises the alarm within a few samples however wide the threshold.

    Returns:
        ``(first, alarm)``: the position after the last time ``S`` was zero, and the
        position where ``S`` first passed ``threshold``; ``None`` without an alarm.
    """
    level = scale.level
    inv = scale.inv
    clip = scale.clip
    run = 0
    s = 0.0
    first = start
    i = start
    for x in values[start:stop]:
        u = (x - level) * inv
        if u > CLIP:
            # `run` counts the samples in a row beyond the clip (negative: below it).
            run = run + 1 if run > 0 else 1
            if run < _RUN:
                u = CLIP
            elif u > clip:
                u = clip
        elif u < -CLIP:
            run = run - 1 if run < 0 else -1
            if run > -_RUN:
                u = -CLIP
            elif u < -clip:
                u = -clip
        else:
            run = 0
        s += u * gain + bias
        if s <= 0.0:
            s = 0.0
            first = i + 1
        elif s > threshold:
            return first, i
        i += 1
    return None


def _excursion_end(
    values: Sequence[float], start: int, stop: int, *, scale: _Scale, gain: float, bias: float
) -> int:
    """Where a CUSUM that passed its threshold at ``start - 1`` falls back to zero.

    Used to step over a whole excursion once too many alarms were rejected, so that a
    long shifted stretch costs one pass rather than one fit every few samples.
    """
    level = scale.level
    inv = scale.inv
    clip = scale.clip
    run = 0
    s = 1.0
    i = start
    for x in values[start:stop]:
        # The clipping is _cusum's, inlined as there: this loop runs once per sample
        # of the series, where a call per sample would cost more than the loop body.
        u = (x - level) * inv
        if u > CLIP:
            # `run` counts the samples in a row beyond the clip (negative: below it).
            run = run + 1 if run > 0 else 1
            if run < _RUN:
                u = CLIP
            elif u > clip:
                u = clip
        elif u < -CLIP:
            run = run - 1 if run < 0 else -1
            if run > -_RUN:
                u = -CLIP
            elif u < -clip:
                u = -clip
        else:
            run = 0
        s += u * gain + bias
        if s <= 0.0:
            return i + 1
        i += 1
    return stop


@attrs.frozen
class Fit:
    quality: float
    start: int
    length: int


def _search(p1: list[float], pi: list[float], starts: range, lengths: range, n: int) -> Fit | None:
    """Best "flat, linear rise over ``length`` samples, flat" fit over the candidates.

    ``p1`` and ``pi`` are the prefix sums of ``z`` and ``i * z`` over the window of
    ``n`` samples. The model is ``a + b * g`` with ``g`` 0 before the start, rising by
    ``1 / (length + 1)`` per sample, then 1; the quality is how much it lowers the
    residual sum of squares against a flat line, ``Sgz**2 / Sgg`` (both centred). Each
    candidate costs O(1). Only rises (``b > 0``) count.
    """
    total = p1[n]
    mean = total / n
    best_q = 0.0
    best_t = -1
    best_l = 0
    for t0 in starts:
        p1t = p1[t0]
        pit = pi[t0]
        k = t0 - 1
        for length in lengths:
            end = t0 + length
            if end > n:
                break
            rest = n - end
            g = 0.5 * length + rest
            gg = length * (2 * length + 1) / (6.0 * (length + 1)) + rest
            gz = ((pi[end] - pit) - k * (p1[end] - p1t)) / (length + 1) + (total - p1[end])
            sgy = gz - g * mean
            if sgy <= 0.0:
                continue
            sgg = gg - g * g / n
            if sgg <= _TINY:
                continue
            q = sgy * sgy / sgg
            if q > best_q:
                best_q, best_t, best_l = q, t0, length
    if best_t < 0:
        return None
    return Fit(best_q, best_t, best_l)


def _coarse_then_fine(
    p1: list[float], pi: list[float], n: int, *, starts: tuple[int, int], lengths: tuple[int, int]
) -> Fit | None:
    """Search the ``starts`` x ``lengths`` grid (inclusive bounds), coarsely then finely."""
    return fit_grid(lambda ts, ls: _search(p1, pi, ts, ls, n), starts=starts, lengths=lengths)


def fit_grid(
    search: Callable[[range, range], Fit | None],
    *,
    starts: tuple[int, int],
    lengths: tuple[int, int],
) -> Fit | None:
    """Run ``search`` over the ``starts`` x ``lengths`` grid, coarsely then finely.

    A grid of over ``_SEARCH_BUDGET`` cells is first searched with a stride, then
    cell by cell around the best coarse cell.
    """
    t_lo, t_hi = starts
    l_lo, l_hi = lengths
    t_count = t_hi - t_lo + 1
    l_count = l_hi - l_lo + 1
    if t_count <= 0 or l_count <= 0:
        return None
    cells = t_count * l_count
    if cells <= _SEARCH_BUDGET:
        return search(range(t_lo, t_hi + 1), range(l_lo, l_hi + 1))
    ratio = math.sqrt(cells / _SEARCH_BUDGET)
    t_step = max(1, math.ceil(ratio if l_count > 1 else cells / _SEARCH_BUDGET))
    l_step = max(1, math.ceil(ratio)) if l_count > 1 else 1
    coarse = search(range(t_lo, t_hi + 1, t_step), range(l_lo, l_hi + 1, l_step))
    if coarse is None:
        return None
    fine = search(
        range(max(t_lo, coarse.start - t_step), min(t_hi, coarse.start + t_step) + 1),
        range(max(l_lo, coarse.length - l_step), min(l_hi, coarse.length + l_step) + 1),
    )
    return fine if fine is not None and fine.quality >= coarse.quality else coarse


@attrs.frozen
class _Located:
    start: int
    length: int


def _locate(
    z: list[float], lo: int, candidates: tuple[int, int], noise: float, *, ramps: bool
) -> _Located | None:
    """Place a rise in ``z`` (positions from ``lo``): a step, or a ramp if clearly better.

    Candidates start in ``candidates`` (inclusive, absolute positions). A ramp is kept
    when it lowers the residual sum of squares by more than ``2 ln(n)`` times the
    residual variance (a BIC-like penalty), the variance being the larger of the
    ramp fit's own and ``noise**2`` (the baseline's noise in the units of ``z``): the
    first guards against heavy tails, the second against a perfect fit.
    """
    n = len(z)
    p1 = [0.0] * (n + 1)
    pi = [0.0] * (n + 1)
    a = 0.0
    b = 0.0
    for i, v in enumerate(z):
        a += v
        b += i * v
        p1[i + 1] = a
        pi[i + 1] = b
    starts = (max(1, candidates[0] - lo), min(n - 1, candidates[1] - lo))
    step = _coarse_then_fine(p1, pi, n, starts=starts, lengths=(0, 0))
    if step is None:
        return None
    best = _Located(lo + step.start, 0)
    if ramps and n > MIN_FIT and n - starts[0] > MIN_RAMP:
        ramp = _coarse_then_fine(p1, pi, n, starts=starts, lengths=(MIN_RAMP, n - starts[0]))
        if ramp is not None:
            mean = a / n
            spread = math.fsum((v - mean) ** 2 for v in z)
            variance = max((spread - ramp.quality) / (n - _FIT_PARAMETERS), noise * noise)
            if ramp.quality - step.quality > 2.0 * math.log(n) * variance:
                best = _Located(lo + ramp.start, ramp.length)
    return best


# -- daily seasonality -----------------------------------------------------------------


@attrs.frozen
class _Working:
    """The series the detector runs on, and where its values come from."""

    values: list[float]
    """Present values, or their differences with the value a day earlier."""
    raw: list[float]
    """The present value at each position."""
    lagged: list[float] | None
    """The value a day earlier at each position (seasonal only)."""
    index: Sequence[int]
    """The sample index of each position."""
    seconds: list[float] | None = None
    """Every sample's instant in Unix seconds (seasonal only)."""
    grid: int = 0
    """On a regular grid, the number of samples in a day; else 0."""


def _partner(
    seconds: Callable[[int], float], count: int, target: float, tolerance: float, guess: int
) -> int | None:
    """The sample nearest ``target`` (in seconds) if within ``tolerance``, from a guess.

    On a regular grid the guess is right and this costs two or three look-ups; else a
    short walk, then a binary search.
    """
    j = min(max(guess, 0), count - 1)
    for _ in range(_WALK):
        if j > 0 and seconds(j) > target:
            j -= 1
        elif j + 1 < count and seconds(j + 1) <= target:
            j += 1
        else:
            break
    else:
        j = max(0, bisect.bisect_right(range(count), target, key=seconds) - 1)
    if j + 1 < count and abs(seconds(j + 1) - target) < abs(seconds(j) - target):
        j += 1
    return j if abs(seconds(j) - target) <= tolerance else None


def _lag_differences(
    inp: _Input, probes: Sequence[int], lag: float, tolerance: float, step: float
) -> list[float]:
    """At each probed sample, its absolute difference with the value ``lag`` seconds earlier."""
    values = inp.values
    seconds = inp.seconds
    count = len(values)
    shift = round(lag / step)
    out: list[float] = []
    for i in probes:
        x = values[i]
        j = _partner(seconds, count, seconds(i) - lag, tolerance, i - shift)
        if x is not None and j is not None:
            y = values[j]
            if y is not None:
                out.append(abs(x - y))
    return out


def _daily_differences(
    inp: _Input, xs: list[float], idx: Sequence[int], tolerance: float, step: float
) -> _Working:
    """Difference each value with the value nearest a day before it (both present).

    On a regular grid (every sample a day after the sample ``DAY / step`` before it,
    gaps allowed) this is a few list comprehensions; otherwise a two-pointer walk over
    the samples with a value.
    """
    values = inp.values
    count = len(values)
    seconds = inp.all_seconds()
    k = round(DAY / step)
    if 0 < k < count and all(
        abs(a - b - DAY) <= tolerance for a, b in zip(seconds[k:], seconds, strict=False)
    ):
        later = values[k:]
        both = [x is not None and y is not None for x, y in zip(later, values, strict=False)]
        raw = [x for x, ok in zip(later, both, strict=False) if x is not None and ok]
        lagged = [y for y, ok in zip(values, both, strict=False) if y is not None and ok]
        index = [i for i, ok in enumerate(both, k) if ok]
        diffs = [x - y for x, y in zip(raw, lagged, strict=True)]
        return _Working(diffs, raw, lagged, index, seconds, k)
    n = len(xs)
    present = [seconds[i] for i in idx]
    out_values: list[float] = []
    out_raw: list[float] = []
    out_lagged: list[float] = []
    out_index: list[int] = []
    j = 0
    first = present[0]
    for i in range(n):
        target = present[i] - DAY
        if target < first - tolerance:
            continue
        while j + 1 < n and present[j + 1] <= target:
            j += 1
        near = j
        if j + 1 < n and abs(present[j + 1] - target) < abs(present[j] - target):
            near = j + 1
        if abs(present[near] - target) <= tolerance and near != i:
            x = xs[i]
            y = xs[near]
            out_values.append(x - y)
            out_raw.append(x)
            out_lagged.append(y)
            out_index.append(idx[i])
    return _Working(out_values, out_raw, out_lagged, out_index, seconds, 0)


def _rebase(
    work: _Working, values: list[float | None], onset: int, tolerance: float, step: float
) -> _Working:
    """From position ``onset`` on, compare with the last day before the onset.

    A value ``n`` days and a bit after the onset is compared with the value ``n + 1``
    days earlier, the same time of day on the last day before the symptom: without
    this, a symptom lasting over a day would seem to end a day after it began, when
    the day before starts to hold it too.
    """
    seconds = work.seconds
    before = work.lagged
    if seconds is None or before is None:
        return work
    count = len(values)
    first = work.index[onset]
    t0 = seconds[first]
    out_values = work.values[:onset]
    raw = work.raw[:onset]
    lagged = before[:onset]
    index = list(work.index[:onset])
    at = seconds.__getitem__
    days = 1
    i = first
    while i < count:
        stop = count
        if seconds[-1] - t0 >= days * DAY:
            stop = bisect.bisect_left(seconds, t0 + days * DAY, lo=i)
        for j in range(i, stop):
            x = values[j]
            if x is None:
                continue
            if work.grid:
                near: int | None = j - days * work.grid
            else:
                guess = j - round(days * DAY / step)
                near = _partner(at, count, seconds[j] - days * DAY, tolerance, guess)
            y = values[near] if near is not None and near >= 0 else None
            if y is not None:
                out_values.append(x - y)
                raw.append(x)
                lagged.append(y)
                index.append(j)
        i = stop
        days += 1
    return _Working(out_values, raw, lagged, index, seconds, work.grid)


def check_baseline(window: object) -> None:
    """Refuse a baseline that is not a (start, end) pair."""
    if isinstance(window, (str, bytes)) or not (
        isinstance(window, Sequence) and len(cast("Sequence[object]", window)) == 2  # noqa: PLR2004
    ):
        msg = f"baseline must be a (start, end) pair of datetimes, not {window!r:.80}"
        raise InvalidInputError(msg)


def _baseline_positions(
    inp: _Input, window: tuple[dt.datetime, dt.datetime], index: Sequence[int]
) -> tuple[int, int]:
    """The positions ``[lo, hi)`` of ``index`` whose samples lie in the baseline window."""
    check_baseline(window)
    start = to_instant(window[0], what="the baseline's start")
    end = to_instant(window[1], what="the baseline's end")
    if end <= start:
        msg = f"the baseline window ends ({end}) at or before its start ({start})"
        raise InvalidInputError(msg)
    count = len(inp.values)
    first = bisect.bisect_left(range(count), _unix(start), key=inp.seconds)
    last = bisect.bisect_left(range(count), _unix(end), key=inp.seconds)
    return bisect.bisect_left(index, first), bisect.bisect_left(index, last)


def _use_daily(
    inp: _Input,
    idx: Sequence[int],
    baseline: tuple[dt.datetime, dt.datetime] | None,
    *,
    seasonality: Seasonality,
    step: float,
) -> bool:
    """Whether to compare each value with the value a day earlier.

    ``"auto"``: over the baseline of the daily differences (the baseline window, or the
    first quarter of the samples that have a day before them), compare how much each
    value differs from the value a day earlier with how much it differs from the value
    half a day earlier, at up to ``_SEASONAL_CHECK`` samples. A daily cycle makes the
    daily differences small and the half-day ones large; plain noise makes them alike.
    The cycle is assumed when the lower quartile of the daily differences is under
    ``SEASONAL_GAIN`` times that of the half-day ones: a quartile, because a symptom in
    part of the window makes some differences large, and a lower quartile ignores them
    as long as they are fewer than three in four.
    """
    m = len(idx)
    seconds = inp.seconds
    tolerance = 0.5 * step
    lo = bisect.bisect_left(
        range(m), seconds(idx[0]) + DAY - tolerance, key=lambda p: seconds(idx[p])
    )
    if baseline is not None:
        base_lo, hi = _baseline_positions(inp, baseline, idx)
        lo = max(lo, base_lo)
    else:
        hi = min(m, lo + max(MIN_BASELINE, int((m - lo) * DEFAULT_BASELINE_SHARE)))
    if hi - lo < MIN_BASELINE:
        if seasonality == "daily":
            msg = (
                "seasonality='daily' needs at least 3 baseline samples a day or more after "
                "the series' first sample: widen the series or the baseline window"
            )
            raise InvalidInputError(msg)
        return False
    if seasonality == "daily":
        return True
    stride = max(1, -(-(hi - lo) // _SEASONAL_CHECK))
    probes = [idx[p] for p in range(lo, hi, stride)]
    daily = sorted(_lag_differences(inp, probes, DAY, tolerance, step))
    half = sorted(_lag_differences(inp, probes, DAY / 2, tolerance, step))
    if len(daily) < MIN_BASELINE or len(half) < MIN_BASELINE:
        return False
    return daily[(len(daily) - 1) // 4] < SEASONAL_GAIN * half[(len(half) - 1) // 4]


# -- the detector ------------------------------------------------------------------------


@attrs.frozen
class _Settings:
    sign: float
    k: float
    threshold: float
    duration: int
    ramps: bool


@attrs.frozen
class _Found:
    """A confirmed rise: where it starts, how long it rises, and the fit it came from."""

    start: int
    length: int
    alarm: int
    scale: _Scale
    window: tuple[int, int]
    candidates: tuple[int, int]


def _confirmed(
    work: _Working,
    scale: _Scale,
    positions: tuple[int, int, int, int],
    *,
    duration: int,
    reference: float,
    margin: float,
    rising: bool,
) -> bool:
    """Whether a shift at ``start`` is real and persists: two tests on median z-scores.

    ``positions`` is ``(floor, start, first, alarm)``, ``first`` being where the
    CUSUM's excursion began. *After*: the ``duration`` samples from
    ``max(start + duration, alarm + 1)`` on, the shift's persistence. *Before*: up to
    ``max(2 * duration, 10)`` samples just before ``start`` or ``first``, whichever is
    earlier (not before ``floor``). A rise is confirmed when the median after is at
    or above ``reference`` and exceeds the median before by at least ``margin``; a
    fall (the end), mirrored. The second test rejects an alarm raised by a baseline
    level that was slightly off rather than by a change.
    """
    floor, start, first, alarm = positions
    values = work.values
    lo = max(start + duration, alarm + 1)
    hi = min(len(values), lo + duration)
    if hi <= lo:
        return False
    after = _median(_zscores(values, lo, hi, scale), 0, hi - lo)
    before_hi = min(start, first)
    before_lo = max(floor, before_hi - max(2 * duration, 10))
    before = (
        _median(_zscores(values, before_lo, before_hi, scale), 0, before_hi - before_lo)
        if before_hi > before_lo
        else None
    )
    if rising:
        return after >= reference and (before is None or after - before >= margin)
    return after <= reference and (before is None or before - after >= margin)


def _shift_units(
    values: Sequence[float],
    window: tuple[int, int],
    *,
    reference: float,
    per_shift: float,
    floor: float = -FIT_CLIP,
) -> list[float]:
    """``values`` over ``window`` in units of the shift: 0 at ``reference``, 1 a shift away.

    ``per_shift`` is ``sign / shift``. Clipped to ``[-FIT_CLIP, FIT_CLIP]``, so that an
    outlier weighs at most a few shifts while a ramp keeps its shape whatever its size
    in noise sigmas.
    """
    lo, hi = window
    out: list[float] = []
    append = out.append
    for x in values[lo:hi]:
        y = (x - reference) * per_shift
        if y > FIT_CLIP:
            y = FIT_CLIP
        elif y < floor:
            y = floor
        append(y)
    return out


def _place(
    work: _Working,
    scale: _Scale,
    settings: _Settings,
    *,
    window: tuple[int, int],
    candidates: tuple[int, int],
    reference: float,
    sign: float,
    floor: float = -FIT_CLIP,
) -> _Located | None:
    """Fit "flat, rise, flat" in units of the shift seen after the latest candidate.

    While the best fit is a ramp with little of the window left after it (fewer than
    ``duration`` samples, or than half the ramp's length), the window doubles (up to
    ``GROWTH`` times), so that a long ramp's end is found too.
    """
    values = work.values
    m = len(values)
    lo, hi = window
    latest = candidates[1]
    located: _Located | None = None
    for _ in range(GROWTH):
        after = _median(values, latest, hi) if hi > latest else values[latest]
        shift = max(sign * (after - reference), settings.k * 2.0 * scale.noise)
        y = _shift_units(values, (lo, hi), reference=reference, per_shift=sign / shift, floor=floor)
        noise = max(scale.noise * scale.error_factor, _difference_noise(values, latest, hi)) / shift
        located = _locate(y, lo, candidates, noise, ramps=settings.ramps)
        if located is None or located.length == 0 or hi >= m:
            break
        plateau = hi - located.start - located.length
        if plateau >= max(settings.duration, located.length // 2):
            break
        hi = min(m, lo + 2 * (hi - lo))
    return located


def _window(first: int, alarm: int, floor: int, m: int, duration: int) -> tuple[int, int]:
    """The fit's window around a CUSUM excursion from ``first`` to ``alarm``."""
    reach = max(2 * (alarm - first + 1), 3 * duration, 10)
    return max(floor, first - reach), min(m, alarm + max(reach, 4 * duration, 20))


def _find_rise(work: _Working, scale: _Scale, start: int, settings: _Settings) -> _Found | None:
    """The first confirmed rise at or after position ``start``."""
    values = work.values
    m = len(values)
    threshold = settings.threshold * scale.threshold_factor
    bias = -(settings.k + scale.slack)
    position = start
    rejected = 0
    while position < m:
        hit = _cusum(values, position, m, scale=scale, gain=1.0, bias=bias, threshold=threshold)
        if hit is None:
            return None
        first, alarm = hit
        window = _window(first, alarm, 0, m, settings.duration)
        # The shift may begin after the alarm when a slightly-off baseline level set the
        # CUSUM climbing early: candidates run on for `duration` samples, and on again
        # while the best fit sits at the last candidate.
        candidates = (max(position, window[0] + 1), min(m - 1, alarm + settings.duration))
        located = _place(
            work,
            scale,
            settings,
            window=window,
            candidates=candidates,
            reference=scale.level,
            sign=settings.sign,
        )
        while (
            located is not None
            and located.start == candidates[1]
            and candidates[1] < window[1] - settings.duration
        ):
            candidates = (candidates[0], min(candidates[1] + settings.duration, m - 1))
            window = (window[0], min(m, max(window[1], candidates[1] + 4 * settings.duration)))
            located = _place(
                work,
                scale,
                settings,
                window=window,
                candidates=candidates,
                reference=scale.level,
                sign=settings.sign,
            )
        if located is not None and _confirmed(
            work,
            scale,
            (0, located.start, first, alarm),
            duration=settings.duration,
            reference=settings.k + scale.slack,
            margin=settings.k,
            rising=True,
        ):
            return _Found(located.start, located.length, alarm, scale, window, candidates)
        rejected += 1
        position = alarm + 1
        if rejected >= _MAX_REJECTED:
            position = _excursion_end(values, position, m, scale=scale, gain=1.0, bias=bias)
    return None


def _find_end(work: _Working, found: _Found, settings: _Settings) -> int | None:
    """The first position back at the baseline after the symptom, if any.

    The return is a fall of the z-scores from the symptom's level to the baseline's:
    a CUSUM of ``middle - z``, where ``middle`` is halfway between the two (the
    classic reference value for a shift between two known levels).
    """
    values = work.values
    m = len(values)
    scale = found.scale
    top = found.start + found.length
    if top >= m:
        return None
    probe_hi = min(m, max(found.alarm + 1, top) + 4 * settings.duration)
    middle = 0.5 * _median(_zscores(values, top, probe_hi, scale), 0, probe_hi - top)
    symptom = _median(values, top, probe_hi)
    threshold = settings.threshold * scale.threshold_factor
    position = max(top, found.alarm + 1)
    rejected = 0
    while position < m:
        hit = _cusum(values, position, m, scale=scale, gain=-1.0, bias=middle, threshold=threshold)
        if hit is None:
            return None
        first, alarm = hit
        window = _window(first, alarm, top, m, settings.duration)
        located = _place(
            work,
            scale,
            settings,
            window=window,
            candidates=(max(position, window[0] + 1), min(m - 1, alarm + settings.duration)),
            reference=symptom,
            sign=-settings.sign,
            floor=_END_FLOOR,
        )
        if located is not None:
            end = located.start + located.length
            if end < m and _confirmed(
                work,
                scale,
                (top, located.start, first, alarm),
                duration=settings.duration,
                reference=middle,
                margin=settings.k,
                rising=False,
            ):
                return end
        rejected += 1
        position = alarm + 1
        if rejected >= _MAX_REJECTED:
            position = _excursion_end(values, position, m, scale=scale, gain=-1.0, bias=middle)
    return None


def _check_settings(
    *,
    direction: object,
    min_shift: float | None,
    min_sigmas: float,
    min_duration: int,
    threshold: float,
    seasonality: object,
) -> None:
    if not isinstance(direction, str) or direction not in {"up", "down", "either"}:
        msg = f"direction must be 'up', 'down' or 'either', not {direction!r}"
        raise InvalidInputError(msg)
    if not isinstance(seasonality, str) or seasonality not in {"auto", "daily", "none"}:
        msg = f"seasonality must be 'auto', 'daily' or 'none', not {seasonality!r}"
        raise InvalidInputError(msg)
    if min_shift is not None and not (is_finite(min_shift) and min_shift >= 0):
        msg = f"min_shift must be a non-negative number in the series' units, not {min_shift!r}"
        raise InvalidInputError(msg)
    if not (is_finite(min_sigmas) and min_sigmas > 0):
        msg = f"min_sigmas must be a positive number of noise sigmas, not {min_sigmas!r}"
        raise InvalidInputError(msg)
    if isinstance(min_duration, bool) or not isinstance(cast("object", min_duration), int):
        msg = f"min_duration must be a whole number of samples, not {min_duration!r}"
        raise InvalidInputError(msg)
    if min_duration < 1:
        msg = f"min_duration must be at least 1 sample, not {min_duration!r}"
        raise InvalidInputError(msg)
    if not (is_finite(threshold) and threshold > 0):
        msg = f"threshold must be a positive number of noise sigmas, not {threshold!r}"
        raise InvalidInputError(msg)


@attrs.frozen
class _Prepared:
    """What the detector runs on: the working series, its baseline, the search's start."""

    work: _Working
    baseline: tuple[int, int]
    search_from: int
    tolerance: float
    step: float


def _prepare(
    inp: _Input,
    baseline: tuple[dt.datetime, dt.datetime] | None,
    *,
    seasonality: Seasonality,
    min_length: int,
) -> _Prepared | None:
    """Choose the working series (values or daily differences) and the baseline in it."""
    values = inp.values
    count = len(values)
    xs = [v for v in values if v is not None]
    idx: Sequence[int] = (
        range(count) if len(xs) == count else [i for i, v in enumerate(values) if v is not None]
    )
    m = len(xs)
    if m == 0 or (baseline is None and m < min_length):
        return None
    work = _Working(xs, xs, None, idx)
    step = 0.0
    if seasonality != "none" and m > 1:
        span = inp.seconds(idx[-1]) - inp.seconds(idx[0])
        step = span / (count - 1)
        if (span >= 2 * DAY or seasonality == "daily") and _use_daily(
            inp, idx, baseline, seasonality=seasonality, step=step
        ):
            work = _daily_differences(inp, xs, idx, 0.5 * step, step)
    wm = len(work.values)
    if baseline is not None:
        lo, hi = _baseline_positions(inp, baseline, work.index)
        if hi - lo < MIN_BASELINE:
            msg = (
                f"the baseline window holds {hi - lo} samples with a value"
                f"{' a day after the first sample' if work.lagged is not None else ''}; "
                f"at least {MIN_BASELINE} are needed: widen it or pass baseline=None"
            )
            raise InvalidInputError(msg)
        return _Prepared(work, (lo, hi), hi, 0.5 * step, step)
    if wm < min_length:
        return None
    hi = max(MIN_BASELINE, min(wm // 2, int(wm * DEFAULT_BASELINE_SHARE)))
    return _Prepared(work, (0, hi), 0, 0.5 * step, step)


def _climbs(values: Sequence[float], hi: int, sign: float, min_sigmas: float) -> bool:
    """Whether ``values[hi // 2 : hi]`` sits clearly above ``values[: hi // 2]``.

    Clearly: by ``min_sigmas`` noise sigmas and by three standard errors of the
    difference of the two medians, the noise being read from the first differences
    (which a level shift between the halves does not inflate).
    """
    half = hi // 2
    if half < _MIN_BLOCK:
        return False
    noise = _difference_noise(values, 0, hi)
    rise = sign * (_median(values, half, hi) - _median(values, 0, half))
    return rise > max(min_sigmas, 3.0 * 2.5 / math.sqrt(hi)) * noise


def detect_onset(
    series: Series | Iterable[tuple[dt.datetime | float, float | None]],
    *,
    direction: Looking = "up",
    baseline: tuple[dt.datetime, dt.datetime] | None = None,
    min_shift: float | None = None,
    min_sigmas: float = 1.0,
    min_duration: int = 5,
    threshold: float = 10.0,
    seasonality: Seasonality = "auto",
    ramps: bool = True,
    spikes: bool = False,
) -> Onset | None:
    """Find when a symptom began in a metric series, or that none did.

    Args:
        series: The metric: a :class:`~incidentkit.Series`, or ``(instant, value)``
            pairs in increasing time order, an instant being an aware datetime or
            Unix seconds and a value a number or ``None`` (a gap; NaN is one too).
        direction: ``"up"`` for a symptom that raises the metric (errors, latency,
            saturation), ``"down"`` for one that lowers it (throughput, success),
            ``"either"`` for a metric whose symptom may go either way (CPU, a
            queue, traffic): both are looked for and the first symptom is
            reported, unless the other is more than twice as large in noise
            sigmas (its explanation names the one passed over).
        baseline: A ``(start, end)`` window of normal behaviour; the onset is then
            looked for from ``end`` on. By default the first quarter of the series
            is the baseline and the onset may be anywhere (if it falls inside that
            quarter, the baseline is taken again from the samples before it).
        min_shift: The smallest shift worth reporting, in the series' units (for an
            error ratio, ``0.01`` is one percentage point). ``None`` (the default)
            sets no floor in units: the statistics alone decide.
        min_sigmas: The smallest sustained shift of interest, in noise sigmas of the
            baseline: the CUSUM's reference value is half of it, and a smaller shift
            is not reported.
        min_duration: The shift must still be there this many samples after the
            onset, and after the alarm: a shorter burst is a spike, not an onset.
            A symptom that began in the last ``min_duration`` samples or so cannot
            be confirmed yet.
        threshold: The CUSUM's decision threshold, in noise sigmas; higher means
            fewer false onsets and later alarms (the onset itself is placed by a
            fit, not at the alarm). It is widened for correlated or heavy-tailed
            noise.
        seasonality: ``"auto"`` compares each value with the value a day earlier
            when the series spans two days or more and shows a clear daily cycle;
            ``"daily"`` always does (an error if the baseline has no samples a day
            after the series' start); ``"none"`` never does.
        ramps: Whether to tell ramps from steps (``False``: every onset is a step).
        spikes: Whether to report a spike: a burst of fewer than ``min_duration``
            samples, each at least ``SPIKE_SIGMAS`` (6) noise sigmas (times the
            tail factor) beyond the baseline, that returns to it. It is reported,
            as ``shape="spike"``, when it comes before any lasting shift (whose
            start the explanation then gives). ``False`` (the default): a spike is
            not a symptom.

    Returns:
        The onset, or ``None`` when no shift in the given direction passes the
        threshold and persists. An empty, all-gaps, constant, single-point or
        too short series has none. When the series holds several symptoms (one
        that ended and a later one, or a much larger rise on top of one still
        under way), the first is reported unless a later one's shift is more
        than twice as large: a small early blip, often noise, must not hide the
        outage that followed, while a symptom that comes back at a similar size
        is reported from its first appearance. The explanation then names the
        smaller symptom that was passed over.

    Raises:
        InvalidInputError: A setting is out of range, the baseline is not a
            (start, end) pair, is reversed or holds fewer than three samples
            with a value, or ``series`` is neither a :class:`Series` nor
            pairs, or its pairs are malformed or out of order.
        NaiveDatetimeError: A baseline bound or an instant has no time zone.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0
       ``direction="either"`` and ``spikes``.
    """
    _check_settings(
        direction=direction,
        min_shift=min_shift,
        min_sigmas=min_sigmas,
        min_duration=min_duration,
        threshold=threshold,
        seasonality=seasonality,
    )
    inp, exponent = _normalised(
        _from_series(series) if isinstance(series, Series) else _from_pairs(series)
    )
    prepared = _prepare(
        inp, baseline, seasonality=seasonality, min_length=2 * min_duration + MIN_BASELINE
    )
    if prepared is None:
        return None
    ways: tuple[Direction, ...] = ("up", "down") if direction == "either" else (direction,)
    found = [
        onset
        for way in ways
        if (
            onset := _detect(
                inp,
                prepared,
                way,
                _Settings(
                    1.0 if way == "up" else -1.0, 0.5 * min_sigmas, threshold, min_duration, ramps
                ),
                min_sigmas=min_sigmas,
                min_shift=None if min_shift is None else math.ldexp(min_shift, exponent),
                exponent=exponent,
                window=baseline is not None,
                spikes=spikes,
            )
        )
        is not None
    ]
    return _either(found)


def _either(found: list[Onset]) -> Onset | None:
    """Of the onsets found each way, the first, unless the other is much larger.

    Larger in noise sigmas: more than ``_DISPLACE`` times. The other one is named in
    the explanation.
    """
    if len(found) < 2:  # noqa: PLR2004 - one each way at most
        return found[0] if found else None
    first, later = sorted(found, key=lambda onset: onset.index)
    if abs(later.shift) / later.noise > _DISPLACE * abs(first.shift) / first.noise:
        chosen, other = later, first
    else:
        chosen, other = first, later
    way = "rise" if other.direction == "up" else "fall"
    note = (
        f" Looked for a change either way: a {way} ({other.shift:+.4g}, "
        f"{abs(other.shift) / other.noise:.3g} times the noise, from {when_text(other.at)}) "
        f"was {'earlier but smaller' if other is first else 'seen later'} and is not the "
        "one reported."
    )
    return attrs.evolve(chosen, explanation=chosen.explanation + note)


def _detect(
    inp: _Input,
    prepared: _Prepared,
    direction: Direction,
    settings: _Settings,
    *,
    min_sigmas: float,
    min_shift: float | None,
    exponent: int,
    window: bool,
    spikes: bool,
) -> Onset | None:
    """The onset in one direction (see :func:`detect_onset`), on the prepared input."""
    sign = settings.sign
    min_duration = settings.duration
    work = prepared.work
    base_lo, base_hi = prepared.baseline
    default = _scale(work.values, base_lo, base_hi, sign)
    found = _find_rise(work, default, prepared.search_from, settings)
    shortest = max(MIN_BASELINE, 2 * min_duration)
    if not window:
        for _ in range(_RETRIES):
            if found is not None or not _climbs(work.values, base_hi, sign, min_sigmas):
                break
            # Nothing found, and the default baseline's second half sits higher than
            # its first: it may hold most of an early symptom. Try its first half.
            base_hi //= 2
            retry = _scale(work.values, base_lo, base_hi, sign, default)
            found = _find_rise(work, retry, 0, settings)
        if found is not None and shortest <= found.start < base_hi:
            # The default baseline overlapped the symptom: take it again from before it.
            base_hi = found.start
            again = _find_rise(
                work, _scale(work.values, base_lo, base_hi, sign, default), 0, settings
            )
            found = again if again is not None else found
    spike = None
    if spikes:
        scale = found.scale if found is not None else default
        stop = found.start if found is not None else len(work.values)
        spike = _find_spike(work, scale, prepared.search_from, stop, settings)
    if spike is not None:
        return _spike_onset(
            inp,
            work,
            spike,
            found,
            direction=direction,
            scale=found.scale if found is not None else default,
            exponent=exponent,
            baseline_samples=base_hi - base_lo,
        )
    if found is None:
        return None
    if work.lagged is not None:
        work = _rebase(work, inp.values, found.start, prepared.tolerance, prepared.step)
    return _largest(
        inp,
        work,
        _episodes(work, found, settings),
        direction=direction,
        min_sigmas=min_sigmas,
        min_shift=min_shift,
        baseline_samples=base_hi - base_lo,
        exponent=exponent,
    )


def _find_spike(
    work: _Working, scale: _Scale, start: int, stop: int, settings: _Settings
) -> tuple[int, int] | None:
    """The first spike in positions ``[start, stop)``: its first position and length.

    A spike is a run of fewer than ``settings.duration`` samples each at least
    ``SPIKE_SIGMAS`` times the tail factor noise sigmas beyond the baseline (in the
    direction looked for), followed by a sample back under half that, before ``stop``.
    """
    values = work.values
    bar = SPIKE_SIGMAS * scale.spread
    level = scale.level
    inv = scale.inv
    run = 0
    for i in range(start, min(stop, len(values))):
        z = (values[i] - level) * inv
        if z >= bar:
            run += 1
            continue
        if run and run < settings.duration and z < 0.5 * bar:
            return i - run, run
        run = 0
    return None


def _spike_onset(
    inp: _Input,
    work: _Working,
    spike: tuple[int, int],
    later: _Found | None,
    *,
    direction: Direction,
    scale: _Scale,
    exponent: int,
    baseline_samples: int,
) -> Onset:
    """Write a spike up, with the lasting shift that followed it, if one did."""
    start, length = spike
    peak = _median(work.raw, start, start + length)
    base = scale.level if work.lagged is None else _median(work.lagged, start, start + length)
    shift = abs(peak - base)
    evidence = min(_MAX_EVIDENCE, shift / scale.noise * math.sqrt(length) / scale.error_factor)
    confidence = evidence * evidence / (evidence * evidence + CONFIDENCE_SCALE**2)
    index = work.index[start]
    end_index = work.index[start + length]
    onset = Onset(
        at=inp.instant(index),
        index=index,
        confidence=confidence,
        baseline_level=math.ldexp(base, -exponent),
        symptom_level=math.ldexp(peak, -exponent),
        noise=math.ldexp(scale.noise, -exponent),
        shape="spike",
        ramp_end=None,
        ended_at=inp.instant(end_index),
        end_index=end_index,
        direction=direction,
        seasonal=work.lagged is not None,
        explanation="",
    )
    text = _explain(onset, 0, baseline_samples)
    if later is not None:
        text += (
            " A lasting shift followed, from "
            f"{when_text(inp.instant(work.index[later.start]))} (sample {work.index[later.start]})."
        )
    return attrs.evolve(onset, explanation=text)


def _largest(
    inp: _Input,
    work: _Working,
    episodes: Iterable[tuple[_Found, int | None]],
    *,
    direction: Direction,
    min_sigmas: float,
    min_shift: float | None,
    baseline_samples: int,
    exponent: int,
) -> Onset | None:
    """The onset to report: the first symptom, unless a later one is much larger.

    A later symptom replaces the one kept so far when its shift is more than
    ``_DISPLACE`` times as large; the explanation then tells of the one passed over.
    A symptom too small to report (see :func:`_report`) is skipped.
    """
    chosen: Onset | None = None
    passed_over: Onset | None = None
    for episode, end in episodes:
        onset = _report(
            inp,
            work,
            episode,
            end,
            direction=direction,
            min_sigmas=min_sigmas,
            min_shift=min_shift,
            baseline_samples=baseline_samples,
            exponent=exponent,
        )
        if onset is None:
            continue
        if chosen is None:
            chosen = onset
        elif abs(onset.shift) > _DISPLACE * abs(chosen.shift):
            passed_over, chosen = chosen, onset
    if chosen is not None and passed_over is not None:
        chosen = attrs.evolve(chosen, explanation=chosen.explanation + _passed_over(passed_over))
    return chosen


def _episodes(
    work: _Working, first: _Found, settings: _Settings
) -> Iterator[tuple[_Found, int | None]]:
    """The symptom found first, then each later one, with where each ended (if it did).

    After a symptom that ended, the search goes on from its end with the same baseline.
    After one that lasts to the end, it looks for a rise to more than ``_DISPLACE``
    times its shift (the median from the top of its rise on), from just after its
    alarm. Up to ``_MAX_EPISODES`` symptoms in all.
    """
    found: _Found | None = first
    for _ in range(_MAX_EPISODES):
        if found is None:
            return
        scale = found.scale
        end = _find_end(work, found, settings)
        if end is not None and end < found.window[1]:
            # Fit the onset again without the samples after the end: a short symptom is
            # not "flat, rise, flat to the window's end".
            refit = _place(
                work,
                scale,
                settings,
                window=(found.window[0], end),
                candidates=found.candidates,
                reference=scale.level,
                sign=settings.sign,
            )
            if refit is not None:
                found = attrs.evolve(found, start=refit.start, length=refit.length)
        yield found, end
        if end is not None:
            found = _find_rise(work, scale, end, settings)
            continue
        # Still there at the end: a much larger rise on top of it is a later symptom.
        # Look for one against a level raised to _DISPLACE times this one's shift.
        top = min(found.start + found.length, len(work.values) - 1)
        shift = settings.sign * (_median(work.values, top, len(work.values)) - scale.level)
        raised = attrs.evolve(scale, level=scale.level + settings.sign * _DISPLACE * shift)
        later = None
        rest = work.values[found.alarm + 1 :]
        # The CUSUM cannot leave zero before a value passes the raised level by its
        # reference value: when none does, spare the pass (a max is much cheaper).
        bound = raised.level + settings.sign * (settings.k + raised.slack) * raised.noise
        if shift > 0.0 and rest and settings.sign * (_extreme(rest, settings.sign) - bound) > 0.0:
            later = _find_rise(work, raised, found.alarm + 1, settings)
        found = None if later is None else attrs.evolve(later, scale=scale)


def _extreme(values: Sequence[float], sign: float) -> float:
    """The largest of ``values`` when ``sign`` is positive, else the smallest."""
    return max(values) if sign > 0.0 else min(values)


def _passed_over(earlier: Onset) -> str:
    """The sentence that tells of an earlier, smaller symptom that was not reported."""
    ended = f" to {when_text(earlier.ended_at)}" if earlier.ended_at is not None else ""
    return (
        f" An earlier, smaller shift ({earlier.shift:+.4g}, from {when_text(earlier.at)}{ended}) "
        "was passed over for this one."
    )


def _report(
    inp: _Input,
    work: _Working,
    found: _Found,
    end: int | None,
    *,
    direction: Direction,
    min_sigmas: float,
    min_shift: float | None,
    baseline_samples: int,
    exponent: int,
) -> Onset | None:
    """Measure the levels, judge the shift's size, and write the onset up.

    The values were multiplied by ``2**exponent`` (see :func:`_normalised`): the
    levels are scaled back.
    """
    scale = found.scale
    sign = 1.0 if direction == "up" else -1.0
    top = found.start + found.length
    stop = end if end is not None else len(work.values)
    level_lo = top if top < stop else found.start
    symptom_level = _median(work.raw, level_lo, stop)
    baseline_level = scale.level if work.lagged is None else _median(work.lagged, level_lo, stop)
    shift = sign * (symptom_level - baseline_level)
    if shift < min_sigmas * scale.noise or (min_shift is not None and shift < min_shift):
        return None
    support = min(stop - found.start, MAX_SUPPORT)
    evidence = min(_MAX_EVIDENCE, shift / scale.noise * math.sqrt(support) / scale.error_factor)
    if evidence < MIN_EVIDENCE:
        return None
    confidence = evidence * evidence / (evidence * evidence + CONFIDENCE_SCALE**2)
    index = work.index[found.start]
    at = inp.instant(index)
    shape: Shape = "ramp" if found.length else "step"
    ramp_end = inp.instant(work.index[top]) if found.length and top < len(work.values) else None
    ramp_seconds = (
        inp.seconds(work.index[top]) - inp.seconds(work.index[found.start])
        if ramp_end is not None
        else None
    )
    end_index = work.index[end] if end is not None else None
    ended_at = inp.instant(end_index) if end_index is not None else None
    onset = Onset(
        at=at,
        index=index,
        confidence=confidence,
        baseline_level=math.ldexp(baseline_level, -exponent),
        symptom_level=math.ldexp(symptom_level, -exponent),
        noise=math.ldexp(scale.noise, -exponent),
        shape=shape,
        ramp_end=ramp_end,
        ended_at=ended_at,
        end_index=end_index,
        direction=direction,
        seasonal=work.lagged is not None,
        explanation="",
        ramp_seconds=ramp_seconds,
    )
    return attrs.evolve(onset, explanation=_explain(onset, found.length, baseline_samples))


def when_text(at: pendulum.DateTime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


def _explain(onset: Onset, ramp_samples: int, baseline_samples: int) -> str:
    """The onset in plain words, with its figures."""
    verb = "rose" if onset.direction == "up" else "fell"
    where = (
        "Compared with the same time a day earlier, the series" if onset.seasonal else "The series"
    )
    base = (
        f"the values a day earlier had a median of {onset.baseline_level:.4g}"
        if onset.seasonal
        else f"baseline: the median of {baseline_samples} samples"
    )
    if onset.shape == "step":
        how = f"in one step at {when_text(onset.at)} (sample {onset.index})"
    elif onset.shape == "spike":
        how = f"in a spike at {when_text(onset.at)} (sample {onset.index})"
    elif onset.ramp_end is not None:
        minutes = (onset.ramp_end - onset.at).total_seconds() / 60.0
        how = (
            f"in a ramp that began at {when_text(onset.at)} (sample {onset.index}) and reached "
            f"the symptom level {ramp_samples} samples ({minutes:.3g} minutes) later, at "
            f"{when_text(onset.ramp_end)}"
        )
    else:
        how = (
            f"in a ramp that began at {when_text(onset.at)} (sample {onset.index}) and was "
            "still rising at the end of the series"
        )
    text = (
        f"{where} {verb} from {onset.baseline_level:.4g} to {onset.symptom_level:.4g} "
        f"({base}; a shift of {onset.shift:+.4g}, {abs(onset.shift) / onset.noise:.3g} "
        f"times the noise of {onset.noise:.3g}) {how}. "
    )
    if onset.shape == "spike" and onset.ended_at is not None:
        back = when_text(onset.ended_at)
        text += f"It was back at baseline at {back}: a spike, not a lasting shift. "
    elif onset.ended_at is not None:
        minutes = (onset.ended_at - onset.at).total_seconds() / 60.0
        text += (
            f"It was back at baseline at {when_text(onset.ended_at)}, {minutes:.4g} minutes later. "
        )
    else:
        text += "It had not returned to baseline by the end of the series. "
    return text + f"Confidence {onset.confidence:.2f}."
