"""A labelled corpus of synthetic incident series, for the onset benchmark.

Every series is built from one seeded :class:`random.Random`, so the corpus is the same on
every machine and every run (the standard library's generator, not numpy's, whose streams
may change between versions). Each series is labelled with the sample index where the
symptom began (for a ramp: where the rise began) and, when the symptom ended inside the
series, the first sample back at the baseline.

The families, and what each is meant to probe:

- ``step``: an abrupt step of 4 to 15 noise sigmas, Gaussian noise.
- ``ramp``: a linear rise of the same size over 6 to 60 samples (a rolling deploy); the
  label is the start of the rise.
- ``partial``: a small step of 1.5 to 3 sigmas (a partial outage), sometimes with mildly
  correlated noise.
- ``noisy``: a step or ramp of 3 to 8 sigmas in heavy-tailed (Student t, 3 degrees of
  freedom) or autocorrelated (AR(1), phi 0.3 to 0.6) noise, with 1 % outliers.
- ``seasonal``: 2.5 to 4 days at a 10- or 15-minute step with a daily cycle of 3 to 15
  sigmas (at most 60 % of the level, so that the metric never sits at zero for hours);
  the symptom (step or ramp) begins on the last day.
- ``gaps``: a step or ramp with 3 to 10 % of the values missing (``None``), some in runs.
- ``irregular``: a step or ramp whose timestamps jitter by up to 30 % of the step and
  from which 5 to 15 % of the samples are absent altogether.
- ``transient``: a step that ends after 10 to 100 samples (two labels: onset and end);
  a third of them seasonal (as above, but the symptom may begin any time after the
  first day and may outlast a day).
- ``smoothed``: a step seen through a 5-sample moving average, as ``rate(...[5m])`` at a
  1-minute step shows it; the label is the first sample the average includes.
- ``none``: no change at all, in each kind of noise, a third of them with a daily cycle.
- ``spikes``: no change, but one to four spikes of 1 to 3 samples and 5 to 20 sigmas.

Metrics are drawn from four kinds: an error ratio (up), a latency (up), a saturation
(up) and a throughput (down, a drop). Spacings are 10 s, 15 s, 30 s, 1 min and 5 min
(10 and 15 min for the seasonal families); lengths are 120 to 800 samples, plus a few of
1,500 to 3,000 samples (``long`` in the name) on which the benchmark skips Pelt.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

T0 = 1_773_475_200.0
"""2026-03-14 08:00:00 UTC, the first instant of every series."""
DAY = 86_400.0

SPACINGS = (10.0, 15.0, 30.0, 60.0, 300.0)
SEASONAL_SPACINGS = (600.0, 900.0)

CHANGE_FAMILIES = {
    "step": 40,
    "ramp": 40,
    "partial": 40,
    "noisy": 40,
    "seasonal": 40,
    "gaps": 40,
    "irregular": 40,
    "transient": 40,
    "smoothed": 30,
}
"""How many series each family with a change holds."""
NO_CHANGE_FAMILIES = {"none": 60, "spikes": 40}
"""How many series each family without a change holds."""
LONG_EVERY = 12
"""Every so many step, ramp and gaps series is a long one (1,500 to 3,000 samples)."""


@dataclass(frozen=True)
class LabelledSeries:
    """One series of the corpus and its labels.

    Attributes:
        name: ``<family>-<number>-<metric>``, with ``-long`` for the long ones.
        family: The family (see the module docstring).
        metric: ``error_ratio``, ``latency``, ``saturation`` or ``throughput``.
        direction: ``up`` or ``down``: the direction a symptom moves this metric.
        step: The nominal spacing of the samples, in seconds.
        times: The instants, in Unix seconds, strictly increasing.
        values: The values, ``None`` for a gap.
        onset: The index of the first sample of the symptom, ``None`` without one.
        end: The index of the first sample back at the baseline, ``None`` if the
            symptom did not end inside the series (or there was none).
        ramp: The length of the rise in samples (0 for a step).
    """

    name: str
    family: str
    metric: str
    direction: str
    step: float
    times: tuple[float, ...]
    values: tuple[float | None, ...]
    onset: int | None
    end: int | None
    ramp: int

    @property
    def changes(self) -> list[int]:
        """Return the labelled change points (sample indices), in order."""
        return [cp for cp in (self.onset, self.end) if cp is not None]

    def __len__(self) -> int:
        """Return the number of samples, gaps included."""
        return len(self.values)


@dataclass(frozen=True)
class _Metric:
    name: str
    direction: str
    level: float
    sigma: float
    floor: float | None


def _metric(rng: random.Random) -> _Metric:
    kind = rng.choices(
        ["error_ratio", "latency", "saturation", "throughput"], weights=[4, 3, 2, 2]
    )[0]
    if kind == "error_ratio":
        level = rng.uniform(0.001, 0.02)
        return _Metric(kind, "up", level, level * rng.uniform(0.08, 0.25), 0.0)
    if kind == "latency":
        level = rng.uniform(0.08, 0.6)
        return _Metric(kind, "up", level, level * rng.uniform(0.03, 0.1), 0.0)
    if kind == "saturation":
        return _Metric(kind, "up", rng.uniform(0.3, 0.6), rng.uniform(0.01, 0.04), 0.0)
    level = rng.uniform(200.0, 2000.0)
    return _Metric(kind, "down", level, math.sqrt(level) * rng.uniform(1.0, 3.0), 0.0)


def _noise(rng: random.Random, n: int, kind: str, phi: float = 0.0) -> list[float]:
    """Return ``n`` noise values of unit scale: ``gauss``, ``t3`` or ``ar``."""
    if kind == "gauss":
        return [rng.gauss(0.0, 1.0) for _ in range(n)]
    if kind == "t3":
        # Student t with 3 degrees of freedom, scaled to unit variance (its variance is 3).
        out = []
        for _ in range(n):
            chi2 = sum(rng.gauss(0.0, 1.0) ** 2 for _ in range(3))
            out.append(rng.gauss(0.0, 1.0) / math.sqrt(chi2 / 3.0) / math.sqrt(3.0))
        return out
    # AR(1), scaled to unit marginal variance.
    scale = math.sqrt(1.0 - phi * phi)
    value = rng.gauss(0.0, 1.0)
    out = []
    for _ in range(n):
        value = phi * value + scale * rng.gauss(0.0, 1.0)
        out.append(value)
    return out


def _profile(n: int, onset: int, ramp: int, end: int | None) -> list[float]:
    """Return the symptom's shape: 0 before the onset, rising to 1, back to 0 at ``end``."""
    out = []
    for i in range(n):
        if i < onset or (end is not None and i >= end):
            out.append(0.0)
        elif i < onset + ramp:
            out.append((i - onset + 1) / (ramp + 1))
        else:
            out.append(1.0)
    return out


def _daily(rng: random.Random, times: list[float]) -> list[float]:
    """Return a daily cycle of unit amplitude (a fundamental and a harmonic) at ``times``."""
    phase = rng.uniform(0.0, 2.0 * math.pi)
    second = rng.uniform(0.0, 0.4)
    return [
        math.sin(2.0 * math.pi * (t - T0) / DAY + phase)
        + second * math.sin(4.0 * math.pi * (t - T0) / DAY + 2.0 * phase)
        for t in times
    ]


def _moving_average(values: list[float], width: int) -> list[float]:
    out = []
    total = 0.0
    for i, value in enumerate(values):
        total += value
        if i >= width:
            total -= values[i - width]
        out.append(total / min(i + 1, width))
    return out


def _regular_times(n: int, step: float) -> list[float]:
    return [T0 + i * step for i in range(n)]


def _irregular_times(rng: random.Random, n: int, step: float) -> list[float]:
    """Return ``n`` instants about ``step`` apart, jittered and with absent samples."""
    absent = rng.uniform(0.05, 0.15)
    jitter = rng.uniform(0.1, 0.3)
    times: list[float] = []
    slot = 0
    while len(times) < n:
        if rng.random() >= absent:
            times.append(T0 + slot * step + rng.uniform(-jitter, jitter) * step)
        slot += 1
    return times


def _make(rng: random.Random, family: str, number: int) -> LabelledSeries:  # noqa: C901, PLR0912, PLR0915 - one branch per family reads best
    metric = _metric(rng)
    long = family in {"step", "ramp", "gaps"} and number % LONG_EVERY == LONG_EVERY - 1
    n = rng.randint(1500, 3000) if long else rng.randint(120, 800)
    step = rng.choice(SPACINGS)
    noise_kind = "gauss"
    phi = 0.0
    size = rng.uniform(4.0, 15.0)
    ramp = 0
    has_change = family not in NO_CHANGE_FAMILIES
    seasonal = family == "seasonal" or (family in {"none", "transient"} and number % 3 == 0)
    if seasonal:
        step = rng.choice(SEASONAL_SPACINGS)
        n = int(rng.uniform(2.5, 4.0) * DAY / step)
    if family == "ramp" or (
        family in {"noisy", "seasonal", "gaps", "irregular"} and rng.random() < 0.4
    ):
        ramp = rng.randint(6, 60)
    if family == "partial":
        size = rng.uniform(1.5, 3.0)
        if rng.random() < 0.3:
            noise_kind, phi = "ar", rng.uniform(0.2, 0.4)
    elif family == "noisy":
        size = rng.uniform(3.0, 8.0)
        noise_kind = rng.choice(["t3", "ar"])
        phi = rng.uniform(0.3, 0.6)
    elif family in {"none", "spikes"}:
        noise_kind = rng.choice(["gauss", "gauss", "t3", "ar"])
        phi = rng.uniform(0.2, 0.6)
    elif family == "seasonal":
        size = rng.uniform(4.0, 12.0)

    times = _irregular_times(rng, n, step) if family == "irregular" else _regular_times(n, step)
    onset: int | None = None
    end: int | None = None
    if family == "transient":
        duration = rng.randint(10, 100)
        # A seasonal one begins after the first day and a tenth (there must be a day
        # before it to compare with); it may last past the next day's same hour.
        earliest = (
            next(i for i, t in enumerate(times) if t - T0 >= 1.1 * DAY)
            if seasonal
            else int(0.15 * n)
        )
        onset = rng.randint(earliest, n - duration - 10)
        end = onset + duration
    elif has_change:
        if seasonal:
            first = next(
                i for i, t in enumerate(times) if t - times[0] >= times[-1] - T0 - 0.6 * DAY
            )
            first = max(first, int(0.6 * n))
            onset = rng.randint(first, n - 25)
        else:
            onset = rng.randint(int(0.15 * n), int(0.9 * n))
            onset = min(onset, n - 20)
        ramp = min(ramp, max(0, n - onset - 15))
    shape = _profile(n, onset, ramp, end) if onset is not None else [0.0] * n
    noise = _noise(rng, n, noise_kind, phi)
    sign = 1.0 if metric.direction == "up" else -1.0
    clean = [sign * size * s for s in shape]
    if family == "smoothed":
        clean = _moving_average(clean, 5)
    cycle = [0.0] * n
    if seasonal:
        # A daily cycle of 3 to 15 sigmas, but never so deep that the metric would sit at
        # its floor (zero) for part of the day: real error ratios and latencies dip at
        # night, they do not flatten at zero for hours.
        amplitude = min(rng.uniform(3.0, 15.0), 0.6 * metric.level / metric.sigma)
        cycle = [amplitude * c for c in _daily(rng, times)]
    raw = [c + e + y for c, e, y in zip(clean, noise, cycle, strict=True)]
    if family in {"noisy", "spikes"}:
        count = rng.randint(1, 4) if family == "spikes" else max(1, n // 100)
        for _ in range(count):
            at = rng.randrange(n)
            width = rng.randint(1, 3)
            height = rng.uniform(5.0, 20.0) * rng.choice([1.0, 1.0, -1.0])
            for i in range(at, min(n, at + width)):
                raw[i] += height
    values: list[float | None] = []
    for value in raw:
        level = metric.level + metric.sigma * value
        if metric.floor is not None:
            level = max(metric.floor, level)
        values.append(level)
    if family == "gaps":
        share = rng.uniform(0.03, 0.10)
        missing = 0
        while missing < share * n:
            at = rng.randrange(n)
            width = 1 if rng.random() < 0.7 else rng.randint(2, 5)
            for i in range(at, min(n, at + width)):
                if values[i] is not None:
                    values[i] = None
                    missing += 1
    name = f"{family}-{number:03d}-{metric.name}" + ("-long" if long else "")
    return LabelledSeries(
        name=name,
        family=family,
        metric=metric.name,
        direction=metric.direction,
        step=step,
        times=tuple(times),
        values=tuple(values),
        onset=onset,
        end=end,
        ramp=ramp if onset is not None else 0,
    )


def corpus(seed: int = 20260314, *, every: int = 1) -> list[LabelledSeries]:
    """Return the corpus: every family's series, in a fixed order.

    Args:
        seed: The corpus' seed; each series gets its own generator seeded from it.
        every: Keep one series in ``every`` (a quick run's smaller corpus).

    Returns:
        The labelled series.
    """
    out: list[LabelledSeries] = []
    families = {**CHANGE_FAMILIES, **NO_CHANGE_FAMILIES}
    for family_number, (family, count) in enumerate(families.items()):
        for number in range(count):
            if number % every:
                continue
            rng = random.Random(seed * 1000 + family_number * 100 + number)  # noqa: S311 - data, not secrets
            out.append(_make(rng, family, number))
    return out


if __name__ == "__main__":
    series = corpus()
    with_change = sum(1 for s in series if s.onset is not None)
    print(f"{len(series)} series, {with_change} with a change, {len(series) - with_change} without")
    for s in series[:: max(1, len(series) // 12)]:
        print(s.name, len(s), s.step, s.onset, s.end, s.ramp)
