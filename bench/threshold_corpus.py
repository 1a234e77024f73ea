"""Seeded recovery scenarios for a threshold objective on a plain gauge: a p99 and a queue depth.

Each scenario is a gauge sampled on a regular grid: a baseline hour, twenty
minutes of symptom, then thirty minutes after the intervention; with it the
request rate (for the p99) or the enqueue rate (for the queue), Poisson per
step (1 to 50 a second). Two families:

- ``p99``: a p99 latency in seconds, one sample a minute. The healthy level is
  drawn from 0.08 to 0.4 s, with log-normal noise (sigma 0.05 to 0.25) and, in
  two scenarios of five, isolated spikes above the threshold (a GC pause, a
  cold cache) at 0.5% to 3% of the healthy samples, before and after the
  incident alike. The threshold is 2 to 4 times the healthy level; the
  symptom 1.5 to 6 times the threshold.
- ``queue``: a queue depth in items, one sample every 30 s. Half the queues
  are nearly empty when healthy (a mean of 0.2 to 3 items), half busy (20 to
  200), Poisson around the level with log-normal noise. The threshold is 3 to 8
  times the busy level, at least 10 items; the symptom is a queue filling
  linearly to 2 to 10 times the threshold.

The classes, and what a judge should answer at the checks 10, 15, 20 and 30
minutes after the intervention:

- ``recovered`` (true): back at the healthy level within 0 to 2 minutes.
- ``slow return`` (true): the p99 decays exponentially, back within a
  twentieth of the judge's allowance (25% of the healthy level) after 3 to 15
  minutes; the queue drains linearly over 5 to 15 minutes. Under the threshold
  part way, then back at the healthy level.
- ``dip and relapse`` (false): back at the healthy level for 2 to 8 minutes
  (less than the 10-minute hold), then the symptom again, to the end.
- ``late relapse`` (false from the relapse on): healthy for 11 to 18 minutes,
  then the symptom again; only the checks after the relapse began are judged
  (before it, the hold was met and "recovered" was right).
- ``flapping`` (false): runs of 1 to 4 samples above the threshold and 1 to 6
  healthy ones, alternating to the end (a healthy stretch as long as the hold
  followed by more flapping would be a relapse: ``late relapse`` covers it).
- ``not recovered`` (false): the symptom at 50% to 100% of its level, never
  under the threshold.
- ``near threshold`` (false by the judge's definition of recovery): every
  sample under the threshold but the level 50% to 90% of the way from the
  healthy level to it: under the objective, not back to normal.
- ``silence`` (false): no sample after the intervention, or samples that stop
  2 to 8 minutes after it, or samples without a value (a p99 of no request is
  NaN in Prometheus).
- ``traffic collapse`` (false): a healthy-looking gauge because the requests
  (or the producers) fell to 0% to 10% of the baseline's; judged with the
  traffic series.

The seed of each scenario derives from the corpus seed, its family, class and
index (``random.Random`` on a string), so a scenario is the same on every run
and machine.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import pendulum

from incidentkit import MetricQuery, Series

SEED = 20261205
FAMILIES = ("p99", "queue")
CLASSES = (
    "recovered",
    "slow return",
    "dip and relapse",
    "late relapse",
    "flapping",
    "not recovered",
    "near threshold",
    "silence",
    "traffic collapse",
)
RECOVERING = frozenset({"recovered", "slow return"})
"""The classes that are true recoveries."""
CHECKS = (10, 15, 20, 30)
"""Minutes after the intervention at which each scenario is judged."""
STEPS = {"p99": 60.0, "queue": 30.0}
T0 = pendulum.datetime(2026, 3, 2, 0, 0, tz="UTC")
BASELINE_END = T0.add(hours=1)
FIX = BASELINE_END.add(minutes=20)
POST_MINUTES = 30


@dataclass(frozen=True)
class Scenario:
    """One gauge and its traffic, with what was drawn to make it."""

    family: str
    kind: str
    index: int
    gauge: Series
    traffic: Series
    above: float
    healthy: float
    relapse_minute: float | None
    note: str

    @property
    def label(self) -> str:
        """``p99/flapping#7``: the scenario's name in the results."""
        return f"{self.family}/{self.kind}#{self.index}"

    def judged_at(self, minute: int) -> bool:
        """Whether a "recovered" at this check is false (false classes; late relapse after it)."""
        if self.kind in RECOVERING:
            return False
        if self.kind == "late relapse" and self.relapse_minute is not None:
            return minute > self.relapse_minute
        return True


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson count (Knuth's method, halved for large means; normal beyond 500)."""
    if mean <= 0:
        return 0
    if mean > 500:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    if mean > 30:
        return _poisson(rng, mean / 2) + _poisson(rng, mean / 2)
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


@dataclass(frozen=True)
class _Draw:
    healthy: float
    sigma: float
    spikes: float
    above: float
    symptom: float
    rate: float


def _draw(rng: random.Random, family: str) -> _Draw:
    if family == "p99":
        healthy = rng.uniform(0.08, 0.4)
        above = healthy * rng.uniform(2.0, 4.0)
        spikes = rng.uniform(0.005, 0.03) if rng.random() < 0.4 else 0.0
        return _Draw(
            healthy,
            rng.uniform(0.05, 0.25),
            spikes,
            round(above, 3),
            above * rng.uniform(1.5, 6.0),
            rng.uniform(1.0, 50.0),
        )
    busy = rng.random() < 0.5
    healthy = rng.uniform(20, 200) if busy else rng.uniform(0.2, 3.0)
    above = max(10.0, round(healthy * rng.uniform(3.0, 8.0)))
    return _Draw(healthy, 0.15, 0.0, above, above * rng.uniform(2.0, 10.0), rng.uniform(1.0, 50.0))


def _healthy(rng: random.Random, family: str, d: _Draw) -> float:
    """One healthy sample: noise around the level, and now and then a spike for a spiky p99."""
    if family == "p99":
        if d.spikes and rng.random() < d.spikes:
            return d.above * rng.uniform(1.05, 2.0)
        return d.healthy * math.exp(rng.gauss(0.0, d.sigma))
    return float(_poisson(rng, d.healthy * math.exp(rng.gauss(0.0, d.sigma))))


def _sick(rng: random.Random, family: str, d: _Draw, level: float) -> float:
    """One sample at ``level`` (above the threshold) with the family's noise."""
    if family == "p99":
        return max(d.above * 1.01, level * math.exp(rng.gauss(0.0, d.sigma)))
    return float(max(math.ceil(d.above) + 1, _poisson(rng, level)))


def _after(  # noqa: C901, PLR0912, PLR0915 - one branch per class, each a few lines
    rng: random.Random, family: str, kind: str, d: _Draw, step: float
) -> tuple[list[float | None], list[float], float | None, str]:
    """The gauge and the traffic factor after the intervention; the relapse minute; a note."""
    n = round(POST_MINUTES * 60 / step)
    minute = [(i + 1) * step / 60 for i in range(n)]  # the first sample is one step after
    gauge: list[float | None] = []
    factor = [1.0] * n
    relapse: float | None = None
    note = ""
    if kind == "recovered":
        back = rng.uniform(0.0, 2.0)
        gauge = [
            _sick(rng, family, d, d.symptom) if m <= back else _healthy(rng, family, d)
            for m in minute
        ]
        note = f"back after {back:.1f} min"
    elif kind == "slow return":
        if family == "p99":
            # Back within a twentieth of the judge's allowance (25% of the healthy level)
            # after `back` minutes: an exponential decay with the time constant that gives.
            back = rng.uniform(3.0, 15.0)
            tau = back / math.log((d.symptom - d.healthy) / (0.25 * d.healthy / 20))
            gauge = [
                (d.healthy + (d.symptom - d.healthy) * math.exp(-m / tau))
                * math.exp(rng.gauss(0.0, d.sigma))
                for m in minute
            ]
            note = f"time constant {tau:.1f} min, back after {back:.1f} min"
        else:
            drain = rng.uniform(5.0, 15.0)
            gauge = [
                float(_poisson(rng, d.healthy + (d.symptom - d.healthy) * max(0.0, 1 - m / drain)))
                for m in minute
            ]
            note = f"drained over {drain:.1f} min"
    elif kind in {"dip and relapse", "late relapse"}:
        relapse = rng.uniform(2.0, 8.0) if kind == "dip and relapse" else rng.uniform(11.0, 18.0)
        level = d.symptom * rng.uniform(0.5, 1.0)
        gauge = [
            _healthy(rng, family, d) if m < relapse else _sick(rng, family, d, level)
            for m in minute
        ]
        note = f"relapse at {relapse:.1f} min"
    elif kind == "flapping":
        # Runs of 1 to 4 samples above, then 1 to 6 healthy (always less than the hold),
        # starting either way: a healthy stretch as long as the hold is a relapse, not this.
        bad = rng.random() < 0.5
        while len(gauge) < n:
            run = rng.randint(1, 4) if bad else rng.randint(1, 6)
            gauge.extend(
                _sick(rng, family, d, d.symptom * 0.7) if bad else _healthy(rng, family, d)
                for _ in range(run)
            )
            bad = not bad
        gauge = gauge[:n]
        above = sum(v is not None and v > d.above for v in gauge)
        note = f"{above} of {n} samples above"
    elif kind == "not recovered":
        level = d.symptom * rng.uniform(0.5, 1.0)
        gauge = [_sick(rng, family, d, level) for _ in minute]
    elif kind == "near threshold":
        share = rng.uniform(0.5, 0.9)
        level = d.healthy + share * (d.above - d.healthy)
        gauge = [
            min(d.above * 0.99, max(d.healthy, level * math.exp(rng.gauss(0.0, 0.05))))
            for _ in minute
        ]
        note = f"{share:.0%} of the way to the threshold"
    elif kind == "silence":
        how = rng.choice(("none", "stops", "nan"))
        stop = 0.0 if how == "none" else rng.uniform(2.0, 8.0)
        healthy = [_healthy(rng, family, d) for _ in minute]
        if how == "nan":
            gauge = [v if m < stop else math.nan for v, m in zip(healthy, minute, strict=True)]
        else:
            gauge = [v if m < stop else None for v, m in zip(healthy, minute, strict=True)]
        notes = {"none": "no sample after the intervention", "stops": f"stops at {stop:.1f} min"}
        note = notes.get(how, f"NaN from {stop:.1f} min")
    elif kind == "traffic collapse":
        drop = rng.uniform(0.0, 0.1)
        factor = [drop] * n
        gauge = [
            (d.healthy * 0.8 * math.exp(rng.gauss(0.0, d.sigma)) if family == "p99" else 0.0)
            for _ in minute
        ]
        note = f"traffic at {drop:.0%}"
    else:  # pragma: no cover - every class is above
        raise ValueError(kind)
    return gauge, factor, relapse, note


def scenario(family: str, kind: str, index: int, seed: int = SEED) -> Scenario:
    """Build one scenario, the same on every run."""
    rng = random.Random(f"{seed}/{family}/{kind}/{index}")  # noqa: S311 - a corpus, not a secret
    step = STEPS[family]
    d = _draw(rng, family)
    times: list[float] = []
    gauge: list[float | None] = []
    traffic: list[float] = []
    at = T0.timestamp()
    fix = FIX.timestamp()
    baseline_end = BASELINE_END.timestamp()
    while at <= fix:
        times.append(at)
        if at < baseline_end:
            gauge.append(_healthy(rng, family, d))
        else:  # the symptom: a step for the p99, a queue filling for the queue
            share = (at - baseline_end) / (fix - baseline_end)
            level = d.symptom if family == "p99" else d.healthy + share * (d.symptom - d.healthy)
            gauge.append(
                _sick(rng, family, d, level) if level > d.above else _healthy(rng, family, d)
            )
        traffic.append(float(_poisson(rng, d.rate * step)))
        at += step
    after, factor, relapse, note = _after(rng, family, kind, d, step)
    for value, f in zip(after, factor, strict=True):
        times.append(at)
        gauge.append(value)
        traffic.append(float(_poisson(rng, d.rate * f * step)))
        at += step
    end = pendulum.from_timestamp(at)
    query = MetricQuery("bench", family, T0, end, step)
    traffic_query = MetricQuery("bench", f"{family} traffic", T0, end, step)
    return Scenario(
        family,
        kind,
        index,
        Series.from_columns(query, times, gauge),
        Series.from_columns(traffic_query, times, traffic),
        d.above,
        d.healthy,
        relapse,
        note,
    )


def corpus(per_class: int, seed: int = SEED) -> list[Scenario]:
    """Every family and class, ``per_class`` scenarios each."""
    return [
        scenario(family, kind, index, seed)
        for family in FAMILIES
        for kind in CLASSES
        for index in range(per_class)
    ]


if __name__ == "__main__":
    for s in corpus(2):
        print(f"{s.label:<32} above {s.above:<8.4g} healthy {s.healthy:<8.4g} {s.note}")
