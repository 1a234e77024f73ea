"""A labelled corpus of bad/total counts per step, from 0.05 to 2,000 requests per second.

Every series is built from one seeded :class:`random.Random` (the standard library's
generator, whose streams do not change between versions), so the corpus is the same on
every machine. A series is what ``increase(errors[1m])`` and ``increase(requests[1m])``
give at a one-minute step: whole counts of bad and of all requests per step.

At each traffic level (requests per second: ``LEVELS``), the families:

- ``step``: the bad share steps from ``p0`` (0.1 to 2 %) to ``p0 + d``, ``d`` drawn
  log-uniformly from 2 to 30 percentage points; label: the first step of the symptom.
- ``ramp``: the same rise spread linearly over 2 to 30 minutes (steps); label: the
  first step of the rise (the share is ``p0 + d * k / (L + 1)`` on its ``k``-th step).
- ``none``: no change.
- ``spikes``: no change, but one to three bursts of 1 to 3 steps where 30 to 100 % of
  the requests fail (a crash loop, a bad node drained).
- ``drop``: no change of the share, but the traffic falls to 10 to 50 % of its level
  (a region failing over, a client backing off): not an error onset.

The noise is realistic rather than ideal: the traffic per step is Poisson around a
rate that wanders (a gamma multiplier of coefficient of variation 10 %, and a slow
cycle of +-20 % over the series), and the bad share of each step wanders too (a
log-normal multiplier of sigma 0.15), so that at high traffic the counts vary more
than binomial counts would, as real ones do. Lengths are 240 to 480 steps; onsets
fall at 40 to 85 % of the series.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

T0 = 1_773_475_200.0
"""2026-03-14 08:00:00 UTC, the first instant of every series."""
STEP = 60.0
LEVELS = (0.05, 0.2, 0.5, 2.0, 10.0, 50.0, 200.0, 2000.0)
"""Requests per second."""
FAMILIES = {"step": 12, "ramp": 12, "none": 6, "spikes": 6, "drop": 6}
"""How many series each family holds at each traffic level."""
CHANGE_FAMILIES = frozenset({"step", "ramp"})


@dataclass(frozen=True)
class CountSeries:
    """One series of counts and its labels.

    Attributes:
        name: ``<family>-<rps>-<number>``.
        family: See the module docstring.
        rps: The traffic level, in requests per second.
        times: The instants, Unix seconds, one a minute.
        bad: The bad requests per step.
        total: All requests per step.
        onset: The index of the symptom's first step (``None`` without a change).
        ramp: The rise's length in steps (0 for a step).
        p0: The baseline's bad share; ``p1``: the symptom's (equal without a change).
    """

    name: str
    family: str
    rps: float
    times: tuple[float, ...]
    bad: tuple[int, ...]
    total: tuple[int, ...]
    onset: int | None
    ramp: int
    p0: float
    p1: float

    def ratio(self) -> list[float | None]:
        """The error ratio per step, ``None`` where there was no request."""
        return [b / n if n else None for b, n in zip(self.bad, self.total, strict=True)]


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw: Knuth's product under 30, a rounded normal above."""
    if lam <= 0.0:
        return 0
    if lam < 30.0:
        limit = math.exp(-lam)
        k = 0
        p = rng.random()
        while p > limit:
            k += 1
            p *= rng.random()
        return k
    return max(0, round(rng.gauss(lam, math.sqrt(lam))))


def binomial(rng: random.Random, n: int, p: float) -> int:
    """A binomial draw: exact under 60 trials, Poisson for rare events, else normal."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    if n < 60:
        return sum(1 for _ in range(n) if rng.random() < p)
    mean = n * p
    if mean < 30.0:
        return min(n, poisson(rng, mean))
    return max(0, min(n, round(rng.gauss(mean, math.sqrt(mean * (1.0 - p))))))


def _make(rng: random.Random, family: str, rps: float, number: int) -> CountSeries:
    n = rng.randint(240, 480)
    p0 = math.exp(rng.uniform(math.log(0.001), math.log(0.02)))
    d = math.exp(rng.uniform(math.log(0.02), math.log(0.30)))
    onset: int | None = None
    ramp = 0
    if family in CHANGE_FAMILIES:
        onset = rng.randint(int(0.4 * n), int(0.85 * n))
        if family == "ramp":
            ramp = rng.randint(2, 30)
    phase = rng.uniform(0.0, 2.0 * math.pi)
    drop_at = rng.randint(int(0.4 * n), int(0.85 * n)) if family == "drop" else n
    drop_to = rng.uniform(0.1, 0.5)
    bursts: set[int] = set()
    burst_share: dict[int, float] = {}
    if family == "spikes":
        for _ in range(rng.randint(1, 3)):
            at = rng.randint(int(0.3 * n), n - 5)
            share = rng.uniform(0.3, 1.0)
            for i in range(at, at + rng.randint(1, 3)):
                bursts.add(i)
                burst_share[i] = share
    bad: list[int] = []
    total: list[int] = []
    for i in range(n):
        rate = rps * STEP * (1.0 + 0.2 * math.sin(2.0 * math.pi * i / n + phase))
        rate *= rng.gammavariate(100.0, 0.01)
        if i >= drop_at:
            rate *= drop_to
        requests = poisson(rng, rate)
        share = p0
        if onset is not None and i >= onset:
            share = p0 + d * min(1.0, (i - onset + 1) / (ramp + 1))
        share = min(1.0, share * math.exp(rng.gauss(0.0, 0.15)))
        if i in bursts:
            share = burst_share[i]
        bad.append(binomial(rng, requests, share))
        total.append(requests)
    has_change = onset is not None
    return CountSeries(
        name=f"{family}-{rps:g}-{number:02d}",
        family=family,
        rps=rps,
        times=tuple(T0 + STEP * i for i in range(n)),
        bad=tuple(bad),
        total=tuple(total),
        onset=onset,
        ramp=ramp,
        p0=p0,
        p1=p0 + d if has_change else p0,
    )


def corpus(seed: int = 20261313, *, every: int = 1) -> list[CountSeries]:
    """Return the corpus: every level's families, in a fixed order.

    Args:
        seed: The corpus' seed; each series gets its own generator seeded from it.
        every: Keep one series in ``every`` (a quick run's smaller corpus).
    """
    out: list[CountSeries] = []
    for level_number, rps in enumerate(LEVELS):
        for family_number, (family, count) in enumerate(FAMILIES.items()):
            for number in range(count):
                if number % every:
                    continue
                rng = random.Random(  # noqa: S311 - data, not secrets
                    seed * 10_000 + level_number * 1000 + family_number * 100 + number
                )
                out.append(_make(rng, family, rps, number))
    return out


if __name__ == "__main__":
    series = corpus()
    print(f"{len(series)} series")
    for s in series[:: max(1, len(series) // 10)]:
        print(s.name, len(s.bad), s.onset, s.ramp, f"{s.p0:.4f}->{s.p1:.4f}", sum(s.total))
