"""Series builders and Hypothesis strategies for the symptom-onset tests.

The noise is bounded and alternating in sign (so that the exact claims hold for every
draw, whatever the seed), bounded and uniform, or Gaussian, from a seeded
:class:`random.Random` whose seed Hypothesis draws: a failing example is then
reproduced exactly by its seed. Claims that only hold with high probability are
tested on fixed (derandomized) examples.
"""

from __future__ import annotations

import math
import random

import attrs
from hypothesis import strategies as st

from incidentkit import MetricQuery, Series

T0 = 1_794_225_600.0
"""2026-11-09 12:00:00 UTC, the first sample of every series here, in Unix seconds."""
DAY = 86_400.0


def make_series(
    values: list[float | None], *, step: float = 60.0, times: list[float] | None = None
) -> Series:
    """Build a Series from values (``None`` for gaps), ``step`` seconds apart from T0."""
    if times is None:
        times = [T0 + i * step for i in range(len(values))]
    end = times[-1] if times else T0
    query = MetricQuery("tests", "metric", T0, max(end, T0), step)
    return Series.from_pairs(query, zip(times, values, strict=True))


def bounded_noise(seed: int, n: int) -> list[float]:
    """Return ``n`` values uniform in ``[-1, 1]`` from a generator seeded with ``seed``."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    return [rng.uniform(-1.0, 1.0) for _ in range(n)]


def gaussian_noise(seed: int, n: int, *, sigma: float = 1.0) -> list[float]:
    """Return ``n`` values from N(0, sigma) from a generator seeded with ``seed``."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    return [rng.gauss(0.0, sigma) for _ in range(n)]


def daily_cycle(times: list[float], amplitude: float) -> list[float]:
    """Return a sinusoidal daily cycle of ``amplitude`` at ``times``."""
    return [amplitude * math.sin(2.0 * math.pi * (t - T0) / DAY) for t in times]


@attrs.frozen
class StepCase:
    """A series with one step of ``size`` at sample ``onset``, and how it was built."""

    values: tuple[float, ...]
    onset: int
    size: float
    step: float
    seed: int

    def series(self) -> Series:
        """Return the case as a Series."""
        return make_series(list(self.values), step=self.step)


def alternating_noise(seed: int, n: int) -> list[float]:
    """Return ``n`` values within ``[-1, 1]`` whose signs alternate: noise that never drifts.

    No run of samples can sit on one side of the level, so no stretch of it can pass
    for a shift: the claims that hold "for any noise of this kind" are exact.
    """
    return [e if i % 2 else -e for i, e in enumerate(abs(u) for u in bounded_noise(seed, n))]


@st.composite
def step_cases(draw: st.DrawFn, *, min_size: float = 6.0, noise: str = "alternating") -> StepCase:
    """Return a step of at least ``min_size`` at 25-85 % of 60 to 400 samples.

    The noise is within ``[-1, 1]``: alternating in sign by default (see
    :func:`alternating_noise`), or ``"uniform"``, which can drift by chance. The level
    is 10, so that the values stay positive like a latency or a ratio.
    """
    n = draw(st.integers(60, 400))
    onset = draw(st.integers(n // 4, (85 * n) // 100))
    size = draw(st.floats(min_size, 50.0))
    seed = draw(st.integers(0, 2**32 - 1))
    step = draw(st.sampled_from([10.0, 15.0, 60.0, 300.0]))
    errors = alternating_noise(seed, n) if noise == "alternating" else bounded_noise(seed, n)
    values = tuple(10.0 + e + (size if i >= onset else 0.0) for i, e in enumerate(errors))
    return StepCase(values, onset, size, step, seed)


@st.composite
def any_series(draw: st.DrawFn) -> Series:
    """Return an arbitrary series: any length, gaps, constants, huge and tiny values."""
    n = draw(st.integers(0, 80))
    kind = draw(st.sampled_from(["floats", "constant", "steps", "zeros"]))
    values: list[float | None]
    if kind == "floats":
        values = draw(
            st.lists(
                st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False)),
                min_size=n,
                max_size=n,
            )
        )
    elif kind == "constant":
        level = draw(st.floats(-1e3, 1e3, allow_nan=False))
        values = [level] * n
    elif kind == "zeros":
        values = [0.0 if draw(st.booleans()) else draw(st.floats(0, 1)) for _ in range(n)]
    else:
        cut = draw(st.integers(0, max(0, n)))
        values = [0.0 if i < cut else 1.0 for i in range(n)]
    gaps = draw(st.sets(st.integers(0, max(0, n - 1)), max_size=n // 3))
    values = [None if i in gaps else v for i, v in enumerate(values)]
    offsets = draw(st.lists(st.floats(1.0, 600.0, allow_nan=False), min_size=n, max_size=n))
    times: list[float] = []
    t = T0
    for offset in offsets:
        t += offset
        times.append(t)
    return make_series(values, times=times)


def moving_average(values: list[float], width: int) -> list[float]:
    """Return the mean of each value and the ``width - 1`` before it (fewer at the start)."""
    out: list[float] = []
    total = 0.0
    for i, value in enumerate(values):
        total += value
        if i >= width:
            total -= values[i - width]
        out.append(total / min(i + 1, width))
    return out


@attrs.frozen
class SmoothedStepCase:
    """A step seen through a ``width``-sample moving average, as ``rate()`` shows one.

    ``onset`` is the first sample whose average includes the step: the start of the
    ``width``-sample ramp the average makes of it.
    """

    values: tuple[float, ...]
    onset: int
    size: float
    width: int
    seed: int

    def series(self) -> Series:
        """Return the case as a Series, one sample a minute."""
        return make_series(list(self.values))


@st.composite
def smoothed_step_cases(draw: st.DrawFn, *, min_duration: int = 5) -> SmoothedStepCase:
    """Return a step of 20 to 10,000 through a 2- to 8-sample moving average.

    120 to 400 samples of uniform noise in ``[-1, 1]`` around 10 are averaged (so the
    noise is correlated too); the step begins anywhere from the middle of the series to
    ``min_duration + width`` samples before its end.
    """
    n = draw(st.integers(120, 400))
    width = draw(st.integers(2, 8))
    onset = draw(st.integers(n // 2, n - min_duration - width))
    size = draw(st.one_of(st.floats(20.0, 100.0), st.floats(100.0, 10_000.0)))
    seed = draw(st.integers(0, 2**32 - 1))
    # `width - 1` samples of warm-up before the series, so that its first sample is
    # already an average of `width` values.
    raw = [
        10.0 + e + (size if i >= onset + width - 1 else 0.0)
        for i, e in enumerate(bounded_noise(seed, n + width - 1))
    ]
    values = tuple(moving_average(raw, width)[width - 1 :])
    return SmoothedStepCase(values, onset, size, width, seed)


def rate_ratio(
    seed: int,
    n: int,
    onset: int,
    *,
    window: int = 5,
    before: float = 0.002,
    after: float = 0.18,
    requests: float = 1000.0,
) -> list[float | None]:
    """An error ratio as ``rate(errors[w]) / rate(total[w])`` reads it from counters.

    Every minute about ``requests`` requests arrive, a share ``before`` of them failing
    and ``after`` from minute ``onset`` on (counts with Gaussian noise, as Poisson and
    binomial counts of this size have). Sample ``i`` is the ratio of the errors to the
    requests over the ``window`` minutes up to it: the step becomes a ramp over
    ``window`` samples whose first sample is ``onset``.
    """
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    minutes = n + window
    total = [0.0]
    errors = [0.0]
    for minute in range(minutes):
        count = max(1.0, rng.gauss(requests, math.sqrt(requests)))
        share = after if minute - window >= onset else before
        failed = min(count, max(0.0, rng.gauss(count * share, math.sqrt(count * share))))
        total.append(total[-1] + count)
        errors.append(errors[-1] + failed)
    # Sample i covers minutes (i, i + window] of the counters: the first `window` minutes
    # only fill the first window.
    return [
        (errors[i + window + 1] - errors[i + 1]) / (total[i + window + 1] - total[i + 1])
        for i in range(n)
    ]
