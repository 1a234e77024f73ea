"""Symptom onset from counts: bad events and all events per step, judged as binomial counts.

Where a source gives counts (``increase(errors[1m])`` and ``increase(requests[1m])``),
the error *ratio* throws away how many requests it was measured on: at a few requests
per step it jumps between 0 and large values by chance, and a method that reads it as
a plain series with stationary noise is late or blind. Here each step is what it is:
``bad`` of ``total`` events, a draw from a binomial with the step's bad share.

The method, in short (``docs/analysis/onset.md`` has the long form):

1. The baseline's bad share ``p0`` is its pooled share, ``(bad + 0.5) / (total + 1)``
   (a Jeffreys-like half event, so that a baseline without a single bad event is not
   read as a share of exactly zero). Its *dispersion* ``phi`` (how much more the steps
   vary than binomial counts would; real traffic comes in bursts) and the lag-one
   autocorrelation of its Pearson residuals are measured per third of the baseline,
   the median kept.
2. A CUSUM of the binomial log-likelihood ratio of ``p1 = p0 + delta`` against ``p0``,
   divided by ``phi``, raises an alarm past ``threshold`` nats (widened for correlated
   steps), ``delta`` being ``min_sigmas`` times the share's noise at the baseline's
   median traffic. A step with more requests weighs more: no traffic floor, no gap
   when a step is quiet.
3. Around the alarm, a weighted least-squares fit (each step weighted by its requests)
   of "flat, then a linear rise, then flat" places the onset at the step, or at the
   start of a ramp when a ramp fits clearly better.
4. The shift must persist: after the onset and the alarm, the pooled share of the
   next ``min_duration`` steps, leaving out the step with the highest share, must still
   be shifted, and by more than just before the onset.
5. The same machinery, turned round, finds where the symptom ended.

Pure Python, a few linear passes over the present steps.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
import math
import operator
from collections.abc import Sequence
from typing import Final, cast

import attrs
import pendulum

from incidentkit._errors import InvalidInputError
from incidentkit._model import Series, check_series, columns
from incidentkit._numbers import is_finite
from incidentkit._time import to_instant
from incidentkit.analysis._onset import (
    CONFIDENCE_SCALE,
    DEFAULT_BASELINE_SHARE,
    GROWTH,
    MAX_SUPPORT,
    MIN_BASELINE,
    MIN_EVIDENCE,
    MIN_FIT,
    MIN_RAMP,
    Direction,
    Fit,
    Looking,
    Onset,
    character,
    check_baseline,
    fit_grid,
    median_sorted,
    when_text,
)

__all__ = ["detect_onset_counts"]

PRIOR: Final = 0.5
"""The half event (and one event in all) added to the baseline's counts."""
_CLIP: Final = 4.0
"""Pearson residuals are clipped here when the dispersion and correlation are measured."""
_FIT_CLIP: Final = 3.0
_BLOCKS: Final = 3
_MIN_BLOCK: Final = 10
_MAX_RHO: Final = 0.9
_SLACK: Final = 1.25
_TINY: Final = 1e-12
_MAX_EVIDENCE: Final = 1e6
_MAX_REJECTED: Final = 20
_LARGEST_COUNT: Final = 1e15
"""Events in a step from which a step is skipped: no service has them, and sums lose exactness."""
_EXPECTED: Final = 4.0
"""The persistence test reads steps until a change of ``margin`` would show this many events."""


@attrs.frozen
class _Counts:
    """The present steps: bad and total counts, and each one's sample index."""

    bad: list[float]
    total: list[float]
    index: list[int]
    times: Sequence[float]
    """Every sample's Unix seconds (gaps included)."""
    skipped: int
    """Steps with a value but no usable count (negative, or more bad than total)."""
    too_large: int = 0
    """Steps skipped for :data:`_LARGEST_COUNT` events or more."""


@attrs.frozen
class _Base:
    """The baseline: its share, dispersion, correlation and traffic."""

    p0: float
    phi: float
    correlation: float
    noise: float
    """The share's standard deviation per step at the baseline's median traffic."""
    slack: float
    """The pooled share's standard error, times 1.25: how far off ``p0`` may be."""
    samples: int
    bad: float
    total: float


@attrs.frozen
class _Rise:
    start: int
    length: int
    alarm: int
    first: int


def _read(bad: Series, total: Series) -> _Counts:
    """The steps where both counts are present and usable."""
    check_series({"bad": bad, "total": total}, of=" of counts")
    bad_times, bad_values = columns(bad)
    total_times, total_values = columns(total)
    if bad_times != total_times:
        msg = (
            f"bad and total must be at the same instants ({len(bad_times)} and "
            f"{len(total_times)} samples, not the same instants): query both over the same "
            "window and step"
        )
        raise InvalidInputError(msg)
    if all(
        0.0 < n < _LARGEST_COUNT and 0.0 <= b <= n * (1.0 + 1e-9)
        for b, n in zip(bad_values, total_values, strict=True)
    ):  # Every step usable, the common case: no copy step by step.
        return _Counts(
            list(bad_values), list(total_values), list(range(len(bad_times))), bad_times, 0
        )
    b_out: list[float] = []
    n_out: list[float] = []
    index: list[int] = []
    skipped = too_large = 0
    for i, (b, n) in enumerate(zip(bad_values, total_values, strict=True)):
        if b != b or n != n or n == 0.0:  # noqa: PLR0124 - NaN is a gap
            continue
        if b < 0.0 or n < 0.0 or b > n * (1.0 + 1e-9):
            skipped += 1
            continue
        if n >= _LARGEST_COUNT:
            too_large += 1
            continue
        b_out.append(b)
        n_out.append(n)
        index.append(i)
    return _Counts(b_out, n_out, index, bad_times, skipped, too_large)


def _share(counts: _Counts, lo: int, hi: int) -> tuple[float, float]:
    """Pooled bad and total over positions ``[lo, hi)``."""
    return math.fsum(counts.bad[lo:hi]), math.fsum(counts.total[lo:hi])


def _base(counts: _Counts, lo: int, hi: int) -> _Base:
    """Measure the baseline over positions ``[lo, hi)``."""
    b0, n0 = _share(counts, lo, hi)
    p0 = min(max((b0 + PRIOR) / (n0 + 2.0 * PRIOR), _TINY), 1.0 - _TINY)
    var = p0 * (1.0 - p0)
    residuals = [
        min(_CLIP, max(-_CLIP, (b - n * p0) / math.sqrt(n * var)))
        for b, n in zip(counts.bad[lo:hi], counts.total[lo:hi], strict=True)
    ]
    phi, rho = 1.0, 0.0
    if len(residuals) >= _BLOCKS * _MIN_BLOCK:
        size = len(residuals) // _BLOCKS
        phis: list[float] = []
        rhos: list[float] = []
        for k in range(_BLOCKS):
            block = residuals[k * size : (k + 1) * size]
            phis.append(math.fsum(r * r for r in block) / len(block))
            rhos.append(character(block)[0])
        phi = max(1.0, median_sorted(sorted(phis)))
        rho = min(_MAX_RHO, max(0.0, median_sorted(sorted(rhos))))
    traffic = median_sorted(sorted(counts.total[lo:hi]))
    noise = math.sqrt(phi * var / traffic)
    slack = _SLACK * math.sqrt(phi * var / max(n0, 1.0))
    return _Base(p0, phi, (1.0 + rho) / (1.0 - rho), noise, slack, hi - lo, b0, n0)


def _llr(p: float, q: float) -> tuple[float, float]:
    """Per bad and per good event, the log-likelihood ratio of share ``p`` against ``q``."""
    return math.log(p / q), math.log((1.0 - p) / (1.0 - q))


def _clamp(p: float) -> float:
    return min(max(p, _TINY), 1.0 - _TINY)


def _cusum(
    counts: _Counts, start: int, *, p_to: float, p_from: float, scale: float, threshold: float
) -> tuple[int, int] | None:
    """A CUSUM of the log-likelihood ratio of ``p_to`` against ``p_from``, per step.

    Returns:
        ``(first, alarm)``: the position after the last time the sum was zero, and the
        position where it passed ``threshold``; ``None`` without an alarm.
    """
    per_bad, per_good = _llr(p_to, p_from)
    per_bad /= scale
    per_good /= scale
    bad = counts.bad
    total = counts.total
    s = 0.0
    first = start
    for i in range(start, len(bad)):
        b = bad[i]
        s += b * per_bad + (total[i] - b) * per_good
        if s <= 0.0:
            s = 0.0
            first = i + 1
        elif s > threshold:
            return first, i
    return None


def _wsearch(
    sums: _Sums,
    starts: range,
    lengths: range,
) -> Fit | None:
    """Best weighted "flat, rise over ``length`` steps, flat" fit over the candidates.

    ``sums`` are the prefix sums of ``w``, ``w y``, ``w i``, ``w i y`` and ``w i**2``.
    The quality is how much the fit lowers the weighted residual sum of squares
    against a flat line; only rises count. O(1) per candidate.
    """
    pw, pwy, pwi, pwiy, pwii = sums
    n = len(pw) - 1
    big_w = pw[n]
    big_wy = pwy[n]
    mean = big_wy / big_w
    floor = _TINY * big_w
    best_q = 0.0
    best_t = -1
    best_l = 0
    # The inner loop is the detector's hot spot: the same arithmetic as the fit's
    # formulas, in the same order (so the same doubles), with the spread worked out
    # only for candidates that rise; a fall, about half of them, stops at ``centred``.
    inverses = {length: 1.0 / (length + 1) for length in lengths}
    for t0 in starts:
        k = t0 - 1
        w_t, wy_t, wi_t, wiy_t, wii_t = pw[t0], pwy[t0], pwi[t0], pwiy[t0], pwii[t0]
        for length in lengths:
            end = t0 + length
            if end > n:
                break
            pw_end = pw[end]
            pwy_end = pwy[end]
            w_r = pw_end - w_t
            wy_r = pwy_end - wy_t
            wi_r = pwi[end] - wi_t
            wiy_r = pwiy[end] - wiy_t
            inv = inverses[length]
            rest_w = big_w - pw_end
            sg = (wi_r - k * w_r) * inv + rest_w
            sgy = (wiy_r - k * wy_r) * inv + (big_wy - pwy_end)
            centred = sgy - sg * mean
            if centred <= 0.0:
                continue
            wii_r = pwii[end] - wii_t
            sgg = (wii_r - 2.0 * k * wi_r + k * k * w_r) * inv * inv + rest_w
            spread = sgg - sg * sg / big_w
            if spread <= floor:
                continue
            q = centred * centred / spread
            if q > best_q:
                best_q, best_t, best_l = q, t0, length
    if best_t < 0:
        return None
    return Fit(best_q, best_t, best_l)


_Sums = tuple[list[float], list[float], list[float], list[float], list[float]]


def _prefix(
    counts: _Counts, window: tuple[int, int], reference: float, per: float
) -> tuple[_Sums, float]:
    """Prefix sums of ``w``, ``w y``, ``w i``, ``w i y``, ``w i**2`` over ``window``.

    ``y`` is each step's share in units of the shift (``(share - reference) * per``),
    clipped at three shifts; ``w`` its events. Also returns the sum of ``w y**2``.
    """
    lo, hi = window
    bad = counts.bad[lo:hi]
    total = counts.total[lo:hi]
    n = hi - lo
    pw = [0.0] * (n + 1)
    pwy = [0.0] * (n + 1)
    pwi = [0.0] * (n + 1)
    pwiy = [0.0] * (n + 1)
    pwii = [0.0] * (n + 1)
    a_w = a_wy = a_wi = a_wiy = a_wii = 0.0
    ss = 0.0
    for i in range(n):
        w = total[i]
        y = (bad[i] / w - reference) * per
        y = _FIT_CLIP if y > _FIT_CLIP else (max(y, -_FIT_CLIP))
        wy = w * y
        a_w += w
        a_wy += wy
        a_wi += w * i
        a_wiy += wy * i
        a_wii += w * i * i
        ss += wy * y
        pw[i + 1] = a_w
        pwy[i + 1] = a_wy
        pwi[i + 1] = a_wi
        pwiy[i + 1] = a_wiy
        pwii[i + 1] = a_wii
    return (pw, pwy, pwi, pwiy, pwii), ss


def _place(
    counts: _Counts,
    base: _Base,
    *,
    window: tuple[int, int],
    candidates: tuple[int, int],
    reference: float,
    sign: float,
    delta: float,
    ramps: bool,
) -> tuple[int, int] | None:
    """Fit a rise of the share (``sign`` up or down) from ``reference`` in ``window``.

    Works in units of the shift seen after the latest candidate, clipped at three
    shifts, each step weighted by its events. A ramp is kept over the best step when
    it lowers the weighted residual sum of squares by more than ``ln(n)`` times the
    residual variance per event (the larger of the fit's own and the binomial one):
    the BIC's price of the ramp's one more parameter, its length.
    The window doubles (up to 8 times) while the best fit is a ramp with little of the
    window left after it.

    Returns:
        ``(start, length)`` in positions, or ``None``.
    """
    lo, hi = window
    m = len(counts.bad)
    latest = candidates[1]
    located: tuple[int, int] | None = None
    for _ in range(GROWTH):
        b_after, n_after = _share(counts, latest, hi) if hi > latest else (0.0, 0.0)
        after = b_after / n_after if n_after > 0.0 else reference
        shift = max(sign * (after - reference), 0.5 * delta, _TINY)
        per = sign / shift
        n = hi - lo
        sums, ss = _prefix(counts, (lo, hi), reference, per)
        search = functools.partial(_wsearch, sums)
        a_w, a_wy = sums[0][n], sums[1][n]
        starts = (max(1, candidates[0] - lo), min(n - 1, candidates[1] - lo))
        step = fit_grid(search, starts=starts, lengths=(0, 0))
        if step is None:
            return None
        located = (lo + step.start, 0)
        if ramps and n > MIN_FIT and n - starts[0] > MIN_RAMP:
            ramp = fit_grid(
                search,
                starts=starts,
                lengths=(MIN_RAMP, n - starts[0]),
            )
            if ramp is not None:
                total_ss = ss - a_wy * a_wy / a_w
                p_mid = min(max(a_wy / a_w * shift * sign + reference, _TINY), 1.0 - _TINY)
                binomial = base.phi * p_mid * (1.0 - p_mid) / (shift * shift)
                own = (total_ss - ramp.quality) / max(1, n - 4)
                variance = max(own, binomial)
                if ramp.quality - step.quality > math.log(n) * variance:
                    located = (lo + ramp.start, ramp.length)
        start, length = located
        if length == 0 or hi >= m:
            break
        if hi - start - length >= max(5, length // 2):
            break
        hi = min(m, lo + 2 * (hi - lo))
    return located


def _without_top(counts: _Counts, lo: int, hi: int, sign: float) -> float | None:
    """Pooled share over ``[lo, hi)`` without its most extreme step (in ``sign``'s way)."""
    bad = counts.bad[lo:hi]
    total = counts.total[lo:hi]
    b, n = math.fsum(bad), math.fsum(total)
    if hi - lo >= 2:  # noqa: PLR2004 - leave one out only when one is left
        top = max(range(hi - lo), key=lambda i: sign * bad[i] / total[i])
        b -= bad[top]
        n -= total[top]
    return b / n if n > 0.0 else None


def _confirmed(
    counts: _Counts,
    positions: tuple[int, int, int, int],
    *,
    duration: int,
    reference: float,
    floor: float,
    margin: float,
    sign: float,
) -> bool:
    """Whether a change at ``start`` (``sign``: a rise; ``-sign``: a fall) persists.

    ``positions`` is ``(lowest, start, first, alarm)``. *After*: the steps from
    ``max(start + duration, alarm + 1)`` on, at least ``duration`` of them and as many
    more as it takes to hold ``_EXPECTED / margin`` events (so that a change of
    ``margin`` would show about ``_EXPECTED`` bad events: at a few requests per step a
    handful of steps says nothing); not past the series' end. Their pooled share must
    be beyond ``reference``, and still beyond ``floor`` without the most extreme step
    (one burst does not make a shift). *Before*: it must exceed the pooled share of up
    to ``max(2 * duration, 10)`` steps just before ``start`` or ``first``, whichever is
    earlier, by ``margin``.
    """
    lowest, start, first, alarm = positions
    m = len(counts.bad)
    lo = max(start + duration, alarm + 1)
    hi = lo + duration
    if hi > m:
        return False
    need = _EXPECTED / max(margin, _TINY)
    held = math.fsum(counts.total[lo:hi])
    while held < need and hi < m:
        held += counts.total[hi]
        hi += 1
    if held < need and hi >= m and hi - lo < 4 * duration:
        return False
    b_a, n_a = _share(counts, lo, hi)
    after = b_a / n_a
    trimmed = _without_top(counts, lo, hi, sign)
    if sign * (after - reference) < 0.0 or trimmed is None or sign * (trimmed - floor) < 0.0:
        return False
    before_hi = min(start, first)
    before_lo = max(lowest, before_hi - max(2 * duration, 10))
    if before_hi <= before_lo:
        return True
    b, n = _share(counts, before_lo, before_hi)
    return n <= 0.0 or sign * (after - b / n) >= margin


def _window(first: int, alarm: int, floor: int, m: int, duration: int) -> tuple[int, int]:
    reach = max(2 * (alarm - first + 1), 3 * duration, 10)
    return max(floor, first - reach), min(m, alarm + max(reach, 4 * duration, 20))


@attrs.frozen
class _Settings:
    sign: float
    delta: float
    threshold: float
    duration: int
    ramps: bool


def _find_rise(counts: _Counts, base: _Base, start: int, settings: _Settings) -> _Rise | None:
    """The first confirmed change of the share at or after position ``start``."""
    m = len(counts.bad)
    sign = settings.sign
    p_ref = _clamp(base.p0 + sign * base.slack)
    p1 = _clamp(p_ref + sign * settings.delta)
    threshold = settings.threshold * base.correlation
    duration = settings.duration
    position = start
    for _ in range(_MAX_REJECTED):
        if position >= m:
            return None
        hit = _cusum(counts, position, p_to=p1, p_from=p_ref, scale=base.phi, threshold=threshold)
        if hit is None:
            return None
        first, alarm = hit
        window = _window(first, alarm, 0, m, duration)
        candidates = (max(position, window[0] + 1), min(m - 1, alarm + duration))
        located = _place(
            counts,
            base,
            window=window,
            candidates=candidates,
            reference=base.p0,
            sign=sign,
            delta=settings.delta,
            ramps=settings.ramps,
        )
        while (
            located is not None
            and located[0] == candidates[1]
            and candidates[1] < window[1] - duration
        ):
            candidates = (candidates[0], min(candidates[1] + duration, m - 1))
            window = (window[0], min(m, max(window[1], candidates[1] + 4 * duration)))
            located = _place(
                counts,
                base,
                window=window,
                candidates=candidates,
                reference=base.p0,
                sign=sign,
                delta=settings.delta,
                ramps=settings.ramps,
            )
        if located is not None and _confirmed(
            counts,
            (0, located[0], first, alarm),
            duration=duration,
            reference=p_ref + 0.5 * sign * settings.delta,
            floor=p_ref,
            margin=0.5 * settings.delta,
            sign=sign,
        ):
            return _Rise(located[0], located[1], alarm, first)
        position = alarm + 1
    return None


def _find_end(  # noqa: PLR0911 - each way out is a reason there is no end
    counts: _Counts, base: _Base, rise: _Rise, settings: _Settings
) -> int | None:
    """The first position back at the baseline after the symptom, if any."""
    m = len(counts.bad)
    sign = settings.sign
    duration = settings.duration
    top = rise.start + rise.length
    if top >= m:
        return None
    probe_hi = min(m, max(rise.alarm + 1, top) + 4 * duration)
    b, n = _share(counts, top, probe_hi)
    if n <= 0.0:
        return None
    p_s = _clamp(b / n)
    shift = sign * (p_s - base.p0)
    if shift <= 0.0:
        return None
    middle = base.p0 + 0.5 * sign * shift
    threshold = settings.threshold * base.correlation
    position = max(top, rise.alarm + 1)
    for _ in range(_MAX_REJECTED):
        if position >= m:
            return None
        hit = _cusum(
            counts,
            position,
            p_to=_clamp(base.p0),
            p_from=p_s,
            scale=base.phi,
            threshold=threshold,
        )
        if hit is None:
            return None
        first, alarm = hit
        window = _window(first, alarm, top, m, duration)
        located = _place(
            counts,
            base,
            window=window,
            candidates=(max(position, window[0] + 1), min(m - 1, alarm + duration)),
            reference=p_s,
            sign=-sign,
            delta=settings.delta,
            ramps=settings.ramps,
        )
        if located is not None:
            end = located[0] + located[1]
            if end < m and _confirmed(
                counts,
                (top, located[0], first, alarm),
                duration=duration,
                reference=middle,
                floor=p_s,
                margin=0.5 * settings.delta,
                sign=-sign,
            ):
                return end
        position = alarm + 1
    return None


def _check(
    *,
    direction: object,
    min_shift: float | None,
    min_sigmas: float,
    min_duration: int,
    threshold: float,
) -> None:
    if not isinstance(direction, str) or direction not in {"up", "down", "either"}:
        msg = f"direction must be 'up', 'down' or 'either', not {direction!r}"
        raise InvalidInputError(msg)
    if min_shift is not None and not (is_finite(min_shift) and 0.0 <= min_shift <= 1.0):
        msg = f"min_shift must be a share between 0 and 1, not {min_shift!r}"
        raise InvalidInputError(msg)
    if not (is_finite(min_sigmas) and min_sigmas > 0):
        msg = f"min_sigmas must be a positive number of noise sigmas, not {min_sigmas!r}"
        raise InvalidInputError(msg)
    if isinstance(min_duration, bool) or not isinstance(cast("object", min_duration), int):
        msg = f"min_duration must be a whole number of samples, not {min_duration!r}"
        raise InvalidInputError(msg)
    if min_duration < 1:
        msg = f"min_duration must be a whole number of samples, at least 1, not {min_duration!r}"
        raise InvalidInputError(msg)
    if not (is_finite(threshold) and threshold > 0):
        msg = f"threshold must be a positive number of nats, not {threshold!r}"
        raise InvalidInputError(msg)


def _baseline_positions(
    counts: _Counts, window: tuple[dt.datetime, dt.datetime]
) -> tuple[int, int]:
    check_baseline(window)
    start = to_instant(window[0], what="the baseline's start").timestamp()
    end = to_instant(window[1], what="the baseline's end").timestamp()
    if end <= start:
        msg = f"the baseline window ends ({window[1]}) at or before its start ({window[0]})"
        raise InvalidInputError(msg)
    times = counts.times
    present = [times[i] for i in counts.index]
    return bisect.bisect_left(present, start), bisect.bisect_left(present, end)


def detect_onset_counts(
    bad: Series,
    total: Series,
    *,
    direction: Looking = "up",
    baseline: tuple[dt.datetime, dt.datetime] | None = None,
    min_shift: float | None = None,
    min_sigmas: float = 1.0,
    min_duration: int = 5,
    threshold: float = 10.0,
    ramps: bool = True,
) -> Onset | None:
    """Find when the share of bad events began to change, from counts per step.

    Each step is ``bad`` events out of ``total`` (errors and requests, slow requests
    and requests, as ``increase(...[step])`` gives them), judged as binomial counts:
    a step with many requests weighs more than a quiet one, a quiet step is never a
    gap, and no traffic floor is needed. See ``docs/analysis/onset.md``.

    Args:
        bad: The bad events per step (a count, fractional counts allowed).
        total: All events per step, at the same instants as ``bad``. A step where
            either is a gap, or ``total`` is 0, carries no information and is
            skipped; one with negative counts, more bad than total events or
            1e15 events or more (no service's: beyond what a float sums exactly)
            is skipped too (and counted in the explanation).
        direction: ``"up"`` for a rise of the bad share (the usual symptom),
            ``"down"`` for a fall, ``"either"`` for both (the first is reported,
            unless the other is more than twice as large in noise sigmas).
        baseline: A ``(start, end)`` window of normal behaviour; the onset is then
            looked for from ``end`` on. By default the first quarter of the steps.
        min_shift: The smallest change of the bad share worth reporting (``0.01``:
            one percentage point). ``None``: the statistics alone decide.
        min_sigmas: The smallest change of interest, in sigmas of the share's noise
            per step at the baseline's median traffic: the CUSUM looks for a change
            of that size, and a smaller change is not reported.
        min_duration: The change must still be there this many steps after the
            onset, and after the alarm.
        threshold: The CUSUM's decision threshold in nats of log-likelihood ratio
            (10: about one false alarm in 20,000 steps of binomial noise), widened
            for correlated steps.
        ramps: Whether to tell ramps from steps.

    Returns:
        The onset (its levels are bad shares: ``baseline_level`` the baseline's
        pooled share, ``symptom_level`` the symptom's, ``noise`` the share's noise
        per step at the baseline's median traffic), or ``None``. Only the first
        symptom is reported (with its end, if it ended).

    Raises:
        InvalidInputError: ``bad`` or ``total`` is not a :class:`~incidentkit.Series`,
            the two are not at the same instants, a setting is out of range, or
            the baseline is not a (start, end) pair, is reversed or holds fewer
            than three steps with counts.
        NaiveDatetimeError: A baseline bound has no time zone.

    .. versionadded:: 0.3.0
    """
    _check(
        direction=direction,
        min_shift=min_shift,
        min_sigmas=min_sigmas,
        min_duration=min_duration,
        threshold=threshold,
    )
    counts = _read(bad, total)
    m = len(counts.bad)
    if baseline is not None:
        lo, hi = _baseline_positions(counts, baseline)
        if hi - lo < MIN_BASELINE:
            msg = (
                f"the baseline window holds {hi - lo} steps with counts; at least "
                f"{MIN_BASELINE} are needed: widen it or pass baseline=None"
            )
            raise InvalidInputError(msg)
        search_from = hi
    else:
        if m < 2 * min_duration + MIN_BASELINE:
            return None
        lo, hi = 0, max(MIN_BASELINE, min(m // 2, int(m * DEFAULT_BASELINE_SHARE)))
        search_from = 0
    ways: tuple[Direction, ...] = ("up", "down") if direction == "either" else (direction,)
    found: list[Onset] = []
    for way in ways:
        onset = _detect(
            counts,
            (lo, hi),
            search_from,
            way,
            min_sigmas=min_sigmas,
            min_shift=min_shift,
            min_duration=min_duration,
            threshold=threshold,
            ramps=ramps,
            window=baseline is not None,
        )
        if onset is not None:
            found.append(onset)
    if len(found) < 2:  # noqa: PLR2004 - one each way at most
        return found[0] if found else None
    first, later = sorted(found, key=lambda o: o.index)
    if abs(later.shift) / later.noise > 2.0 * abs(first.shift) / first.noise:
        first, later = later, first
    kind = "rise" if later.direction == "up" else "fall"
    note = (
        f" Looked for a change either way: a {kind} of the share ({later.shift:+.4g}, from "
        f"{when_text(later.at)}) is not the one reported."
    )
    return attrs.evolve(first, explanation=first.explanation + note)


def _detect(
    counts: _Counts,
    baseline: tuple[int, int],
    search_from: int,
    direction: Direction,
    *,
    min_sigmas: float,
    min_shift: float | None,
    min_duration: int,
    threshold: float,
    ramps: bool,
    window: bool,
) -> Onset | None:
    """The onset in one direction (see :func:`detect_onset_counts`)."""
    sign = 1.0 if direction == "up" else -1.0
    lo, hi = baseline
    base = _base(counts, lo, hi)

    def settings_for(b: _Base) -> _Settings:
        return _Settings(sign, min_sigmas * b.noise, threshold, min_duration, ramps)

    rise = _find_rise(counts, base, search_from, settings_for(base))
    shortest = max(MIN_BASELINE, 2 * min_duration)
    if not window and rise is not None and shortest <= rise.start < hi:
        # The default baseline overlapped the symptom: take it again from before it.
        retry = _base(counts, lo, rise.start)
        again = _find_rise(counts, retry, 0, settings_for(retry))
        if again is not None:
            base, rise, hi = retry, again, rise.start
    settings = settings_for(base)
    end: int | None = None
    for _ in range(_MAX_REJECTED):
        if rise is None:
            return None
        end = _find_end(counts, base, rise, settings)
        if end is None:
            break
        # Fit the onset again without the steps after the end.
        lo_fit = _window(rise.first, rise.alarm, 0, end, min_duration)[0]
        refit = _place(
            counts,
            base,
            window=(lo_fit, end),
            candidates=(max(0, lo_fit + 1), min(end - 1, rise.alarm + min_duration)),
            reference=base.p0,
            sign=sign,
            delta=settings.delta,
            ramps=ramps,
        )
        if refit is not None:
            rise = attrs.evolve(rise, start=refit[0], length=refit[1])
        if end - rise.start >= min_duration:
            break
        # Back at the baseline within `min_duration` steps: a burst, not an onset.
        rise = _find_rise(counts, base, end, settings)
    if rise is None:
        return None
    # Whether there is an onset is decided as the change was found; the likelihood
    # only dates it.
    return _report(
        counts,
        base,
        rise,
        end,
        direction=direction,
        settings=settings,
        min_shift=min_shift,
        dated=_dated(counts, base, rise, end, settings),
    )


_RAMP_LENGTHS: Final = (2, 3, 4, 6, 8, 11, 15, 20, 26, 34)
"""The ramp lengths, in steps, the maximum-likelihood dating tries first (about a third
apart); then every length between the best one's neighbours, starting near it."""
_NEAR: Final = 3
_STRIDE: Final = 8
"""A ramp of ``L`` steps is first tried at every ``1 + L // 8``-th start (then every start
near the best); its likelihood changes little from one start to the next."""


def _dated(
    counts: _Counts, base: _Base, rise: _Rise, end: int | None, settings: _Settings
) -> _Rise:
    """Date the confirmed change by maximum likelihood under the binomial model.

    The least-squares fit that found the change weighs each step by its requests as
    if its share were Gaussian; at a few events per step that is far from the
    truth, and the fit lands late. Here, over the window around the alarm, each
    step's bad events are binomial with share ``p0`` (the baseline's) before the
    change and ``p1`` (the symptom's pooled share from ``min_duration`` steps after
    the alarm, and after the end of the ramp the least-squares fit found, up to
    :data:`MAX_SUPPORT` steps) after it, rising linearly over
    ``L`` steps for a ramp. The change time of a step is the start that maximises
    the log-likelihood ratio of the steps from it on (the suffix sum, one pass);
    each ramp length of :data:`_RAMP_LENGTHS` is tried at every start. A ramp is
    kept when its log-likelihood, divided by the dispersion, beats the step's by
    more than ``ln(n) / 2`` (the BIC's price of one more parameter, ``n`` the
    window's steps). The start is at most the alarm; a ramp of ``L`` steps starts
    at most ``L + 1`` steps before the best step and not after it (a step fitted to
    a ramp lands inside it).
    """
    m = len(counts.bad)
    stop = end if end is not None else m
    duration = settings.duration
    lo, hi = _window(rise.first, rise.alarm, 0, stop, duration)
    alarm = min(rise.alarm, hi - 1)
    level_lo = min(max(alarm + duration, rise.start + rise.length), stop - 1)
    b1, n1 = _share(counts, level_lo, min(stop, alarm + MAX_SUPPORT))
    p0 = base.p0
    sign = settings.sign
    p1 = _clamp(b1 / n1) if n1 > 0.0 else p0
    if sign * (p1 - p0) < settings.delta:
        p1 = _clamp(p0 + sign * settings.delta)
    width = hi - lo
    if width < 2 or alarm <= lo:  # noqa: PLR2004 - a change needs a step before it
        return rise
    bad = counts.bad[lo:hi]
    total = counts.total[lo:hi]
    per_bad, per_good = _llr(p1, p0)
    on_bad_step = per_bad - per_good
    per_step = [b * on_bad_step + n * per_good for b, n in zip(bad, total, strict=True)]
    suffix = [*reversed(list(itertools.accumulate(reversed(per_step)))), 0.0]
    last = alarm - lo  # the latest start, relative to lo
    step_at = max(range(1, last + 1), key=suffix.__getitem__)  # the earliest of ties
    step_ll = suffix[step_at]
    best = (step_at, 0)
    if settings.ramps:
        both = [x for pair in zip(bad, total, strict=True) for x in pair]
        fit = functools.partial(_ramp_fit, both, suffix, step_at, p0=p0, p1=p1, width=width)
        ramp_ll, ramp = fit(_RAMP_LENGTHS)
        if (ramp_ll - step_ll) / base.phi > 0.5 * math.log(width):
            # Between the lengths tried, every length next to the best one.
            where = _RAMP_LENGTHS.index(ramp[1])
            below = _RAMP_LENGTHS[where - 1] + 1 if where else ramp[1]
            above = _RAMP_LENGTHS[where + 1] if where + 1 < len(_RAMP_LENGTHS) else ramp[1] + 1
            finer_ll, finer = fit(range(below, above), near=ramp[0])
            best = finer if finer_ll > ramp_ll else ramp
        best = (_median_start(both, suffix, last, p0=p0, p1=p1, phi=base.phi), best[1])
    else:
        best = (_median_start(None, suffix, last, p0=p0, p1=p1, phi=base.phi), 0)
    start = lo + best[0]
    if start == rise.start and best[1] == rise.length:
        return rise
    return attrs.evolve(rise, start=start, length=best[1])


def _ramp_weights(length: int, *, p0: float, p1: float) -> list[float]:
    """Per step of a ramp of ``length`` steps, its log-likelihood ratio per bad and per event.

    Interleaved (bad, all) for a sum of products with the steps' interleaved counts:
    ``b * log(p/p0) + (n - b) * log((1-p)/(1-p0))`` is ``b * (per bad - per good) +
    n * per good``.
    """
    rise = p1 - p0
    log_bad, log_good = math.log(p0), math.log1p(-p0)
    shares = [p0 + rise * (k + 1) / (length + 1) for k in range(length)]
    on_all = [math.log1p(-p) - log_good for p in shares]
    on_bad = [math.log(p) - log_bad - c for p, c in zip(shares, on_all, strict=True)]
    return [w for pair in zip(on_bad, on_all, strict=True) for w in pair]


def _bound(both: list[float], *, p0: float, p1: float) -> list[float]:
    """From each step on, the most any shares between ``p0`` and ``p1`` can gain.

    Each step's log-likelihood ratio against ``p0`` at its own share clamped between
    the two (at least 0), summed from the step to the end: no ramp between ``p0`` and
    ``p1`` gains more over those steps.
    """
    low, high = min(p0, p1), max(p0, p1)
    log_bad, log_good = math.log(p0), math.log1p(-p0)
    gains: list[float] = []
    for k in range(0, len(both), 2):
        b, n = both[k], both[k + 1]
        q = min(max(b / n, low), high)
        gains.append(b * (math.log(q) - log_bad) + (n - b) * (math.log1p(-q) - log_good))
    return [*reversed(list(itertools.accumulate(reversed(gains)))), 0.0]


_NEGLIGIBLE: Final = 40.0
"""A start and shape whose log-posterior is this many nats below the best step's carries
less than ``e**-40`` of the posterior mass: :func:`_median_start` leaves it out."""


def _median_start(
    both: list[float] | None,
    suffix: list[float],
    last: int,
    *,
    p0: float,
    p1: float,
    phi: float,
) -> int:
    """The posterior median of the change's start, over the starts 1 to ``last``.

    The prior is flat over the starts and, when ``both`` (each step's bad and total
    events, interleaved) is given, even between a step and a ramp, and log-uniform
    over the ramp lengths (the lengths of :data:`_RAMP_LENGTHS`, about a third apart,
    each as likely); the likelihood is tempered by the dispersion ``phi``, as the
    quasi-likelihood is. The median of the start's posterior, summed over the shapes,
    is the start with the least expected absolute error. Where events are many, it is
    the most likely start. Where they are few it is earlier, and rightly: the
    likelihood then peaks at the symptom's first bad event, which comes a geometric
    wait of about ``1 / (n p1)`` steps after a step change (longer on a ramp, whose
    first steps are barely above the baseline), and falls off before it by only
    about ``n (p1 - p0)`` nats per step. A ramp whose likelihood cannot come within
    :data:`_NEGLIGIBLE` nats of the best step's (by :func:`_bound`) is not worked out.
    """
    steps = suffix[1 : last + 1]
    top = max(steps) / phi
    floor = top - _NEGLIGIBLE
    terms = [(k, ll / phi) for k, ll in enumerate(steps)]
    if both is not None:
        cost = math.log(len(_RAMP_LENGTHS))
        width = len(suffix) - 1
        bound = _bound(both, p0=p0, p1=p1)
        mul = operator.mul
        for length in _RAMP_LENGTHS:
            reach = min(last, width - length)
            if reach < 1:
                break
            limit = (floor + cost) * phi
            kept = [
                t
                for t in range(1, reach + 1)
                if bound[t] - bound[t + length] + suffix[t + length] >= limit
            ]
            if not kept:
                continue
            weights = _ramp_weights(length, p0=p0, p1=p1)
            span = 2 * length
            terms.extend(
                (
                    t - 1,
                    (suffix[t + length] + sum(map(mul, both[2 * t : 2 * t + span], weights))) / phi
                    - cost,
                )
                for t in kept
            )
    top = max(v for _, v in terms)
    mass = [0.0] * last
    for k, v in terms:
        mass[k] += math.exp(v - top)
    half = 0.5 * math.fsum(mass)
    running = 0.0
    for k, w in enumerate(mass):
        running += w
        if running >= half:
            return k + 1
    return last


def _ramp_fit(
    both: list[float],
    suffix: list[float],
    step_at: int,
    lengths: Sequence[int],
    *,
    p0: float,
    p1: float,
    width: int,
    near: int | None = None,
) -> tuple[float, tuple[int, int]]:
    """The best ramp of ``lengths`` in the window: its log-likelihood ratio, start and length.

    A ramp of ``L`` steps starts at most ``L + 1`` steps before ``step_at`` (the best
    step) and not after it, tried every ``1 + L // 8`` steps, or at every start within
    3 steps of ``near`` when given; from its end on the steps are at ``p1``
    (``suffix``).
    """
    best_ll = -math.inf
    best = (step_at, 0)
    mul = operator.mul
    rise = p1 - p0
    log_bad, log_good = math.log(p0), math.log1p(-p0)
    for length in lengths:
        if 1 + length > width:
            break
        # Per step of the ramp, b * log(p/p0) + (n - b) * log((1-p)/(1-p0)), written
        # as b * (per bad - per good) + n * per good: one sum of products over ``both``
        # (each step's bad and total events, interleaved), in C.
        # The ramp's shares lie between p0 and p1, both already clamped.
        shares = [p0 + rise * (k + 1) / (length + 1) for k in range(length)]
        on_all = [math.log1p(-p) - log_good for p in shares]
        on_bad = [math.log(p) - log_bad - c for p, c in zip(shares, on_all, strict=True)]
        weights = [w for pair in zip(on_bad, on_all, strict=True) for w in pair]
        span = 2 * length
        first, last = max(1, step_at - length - 1), min(step_at, width - length)
        stride = 1 + length // _STRIDE
        if near is not None:
            first, last = max(first, near - _NEAR), min(last, near + _NEAR)
            stride = 1
        for t in range(first, last + 1, stride):
            ll = suffix[t + length] + sum(map(mul, both[2 * t : 2 * t + span], weights))
            if ll > best_ll:
                best_ll, best = ll, (t, length)
    return best_ll, best


def _report(
    counts: _Counts,
    base: _Base,
    rise: _Rise,
    end: int | None,
    *,
    direction: Direction,
    settings: _Settings,
    min_shift: float | None,
    dated: _Rise | None = None,
) -> Onset | None:
    """Measure the levels, judge the change's size and evidence, and write it up.

    The change is judged as ``rise`` found it; ``dated``, when given, only says when
    it began and how long its ramp was (see :func:`_dated`).
    """
    sign = settings.sign
    m = len(counts.bad)
    top = rise.start + rise.length
    stop = end if end is not None else m
    level_lo = top if top < stop else rise.start
    b_s, n_s = _share(counts, level_lo, stop)
    if n_s <= 0.0:
        return None
    symptom = b_s / n_s
    baseline_level = base.bad / base.total if base.total > 0.0 else base.p0
    shift = sign * (symptom - baseline_level)
    if shift < settings.delta or (min_shift is not None and shift < min_shift):
        return None
    support_hi = min(stop, rise.start + MAX_SUPPORT)
    b_e, n_e = _share(counts, rise.start, support_hi)
    p_e = _clamp(b_e / n_e) if n_e > 0.0 else base.p0
    per_bad, per_good = _llr(p_e, base.p0)
    gain = max(0.0, b_e * per_bad + (n_e - b_e) * per_good) / base.phi
    evidence = min(_MAX_EVIDENCE, math.sqrt(2.0 * gain / base.correlation))
    if evidence < MIN_EVIDENCE:
        return None
    if dated is not None:
        rise = dated
        top = rise.start + rise.length
    confidence = evidence * evidence / (evidence * evidence + CONFIDENCE_SCALE**2)
    index = counts.index[rise.start]
    times = counts.times

    def instant(i: int) -> pendulum.DateTime:
        return pendulum.from_timestamp(times[i], tz=pendulum.UTC)

    ramp_end = instant(counts.index[top]) if rise.length and top < m else None
    end_index = counts.index[end] if end is not None else None
    onset = Onset(
        at=instant(index),
        index=index,
        confidence=confidence,
        baseline_level=baseline_level,
        symptom_level=symptom,
        noise=base.noise,
        shape="ramp" if rise.length else "step",
        ramp_end=ramp_end,
        ended_at=instant(end_index) if end_index is not None else None,
        end_index=end_index,
        direction=direction,
        seasonal=False,
        explanation="",
        ramp_seconds=(times[counts.index[top]] - times[index]) if ramp_end is not None else None,
    )
    return attrs.evolve(onset, explanation=_explain(onset, base, rise.length, counts))


def _percent(share: float) -> str:
    return f"{100.0 * share:.3g}%"


def _explain(onset: Onset, base: _Base, ramp_samples: int, counts: _Counts) -> str:
    verb = "rose" if onset.direction == "up" else "fell"
    if onset.shape == "step":
        how = f"in one step at {when_text(onset.at)} (sample {onset.index})"
    elif onset.ramp_end is not None:
        minutes = (onset.ramp_end - onset.at).total_seconds() / 60.0
        how = (
            f"in a ramp that began at {when_text(onset.at)} (sample {onset.index}) and reached "
            f"the symptom level {ramp_samples} steps ({minutes:.3g} minutes) later, at "
            f"{when_text(onset.ramp_end)}"
        )
    else:
        how = (
            f"in a ramp that began at {when_text(onset.at)} (sample {onset.index}) and was "
            "still rising at the end of the series"
        )
    dispersion = (
        f"; the steps varied {base.phi:.3g} times as much as binomial counts would"
        if base.phi > 1.0
        else ""
    )
    text = (
        f"The share of bad events {verb} from {_percent(onset.baseline_level)} "
        f"({base.bad:.6g} of {base.total:.6g} events over the {base.samples} baseline steps"
        f"{dispersion}) to {_percent(onset.symptom_level)} {how}, judged on the counts "
        f"(a binomial CUSUM). "
    )
    if onset.ended_at is not None:
        minutes = (onset.ended_at - onset.at).total_seconds() / 60.0
        text += (
            f"It was back at baseline at {when_text(onset.ended_at)}, {minutes:.4g} minutes later. "
        )
    else:
        text += "It had not returned to baseline by the end of the series. "
    if skipped := counts.skipped:
        text += (
            f"{skipped} step{'s' if skipped != 1 else ''} with negative counts or more bad "
            "than total events were skipped. "
        )
    if too_large := counts.too_large:
        text += (
            f"{too_large} step{'s' if too_large != 1 else ''} with {_LARGEST_COUNT:.0e} events "
            "or more (no service's) were skipped. "
        )
    return text + f"Confidence {onset.confidence:.2f}."
