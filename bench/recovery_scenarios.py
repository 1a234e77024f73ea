"""Seeded recovery scenarios: what happens to the error metric after an intervention.

Every scenario is a regular grid of samples from a baseline window through a
symptom to the instant of the check, built from counts: each step has
``N ~ Poisson(traffic rate * step)`` requests and ``E ~ Poisson(N * p)``
errors, ``p`` being the error probability of the moment times a log-normal
overdispersion factor (the noise). The error series is either the ratio
``E / N`` (``None`` when ``N`` is zero, as Prometheus' 0/0 is NaN) or the error
rate ``E / step``; the traffic series is the request rate or the count per
step. The seed of each scenario derives from the run's seed, its class and its
index, so a scenario is the same on every run and on every machine.

The seven classes and what the check should answer:

- ``true``: back at the baseline within two minutes, held for the hold and
  more (**recovered**).
- ``slow``: decays exponentially back to the baseline (time constant 2 to 10
  minutes) and has been within a twentieth of the allowance for the hold and
  more (**recovered**).
- ``partial``: better than the symptom but the level stays 2 to 8 times the
  allowance above the baseline (**not recovered**).
- ``relapse``: back at the baseline, then the symptom returns (30 % to 100 %
  of its excess, for two minutes or more) within the hold before the check,
  either still going or over again (**not recovered**).
- ``collapse``: the errors look healthy but traffic fell to 2 % to 40 % of the
  baseline within the hold, mostly still collapsed (**inconclusive**).
- ``gap``: healthy, but the data stops early, a run of samples is missing in
  the hold, or the latest values are NaN or lack traffic (**inconclusive**).
- ``zero``: traffic drops to zero after the intervention or within the hold;
  the ratio is then NaN or reported as 0 (**inconclusive**).

Run it to print a summary: ``python bench/recovery_scenarios.py``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import attrs
import pendulum

from incidentkit import MetricQuery, RecoveryPolicy, Series

CLASSES = ("true", "slow", "partial", "relapse", "collapse", "gap", "zero")
"""The scenario classes, in the order of the confusion table."""
EXPECTED = {
    "true": "recovered",
    "slow": "recovered",
    "partial": "not recovered",
    "relapse": "not recovered (inconclusive once it is over: the hold restarts)",
    "collapse": "inconclusive, a monitoring gap",
    "gap": "inconclusive, a monitoring gap",
    "zero": "inconclusive, a monitoring gap",
}
"""What a perfect judge answers for each class."""
RECOVERING = frozenset({"true", "slow"})
"""The classes that are true recoveries: only they may be judged recovered."""

T0 = pendulum.datetime(2026, 11, 20, 0, 0, tz="UTC")
POLICY = RecoveryPolicy()
"""The policy the scenarios are built around (the library's defaults)."""
STEPS = (15.0, 30.0, 60.0)
BASELINES = (30, 60, 120)
"""Baseline window lengths, in minutes."""


@dataclass(frozen=True)
class Scenario:
    """One recovery check to make: the two series, the windows and what happened.

    Attributes:
        kind: The scenario's class (one of :data:`CLASSES`).
        index: Its index within the class.
        errors: The error series (ratio or rate).
        traffic: The traffic series (rate or count per step).
        baseline_start: Start of the baseline window.
        baseline_end: End of the baseline window (the symptom start).
        intervention_at: The instant of the intervention.
        until: The instant of the check.
        step: The spacing of the samples, in seconds.
        policy: The policy to judge it with: the defaults, the absolute tolerance
            in the error metric's units.
        traits: What the scenario was built from, for the breakdowns.
    """

    kind: str
    index: int
    errors: Series
    traffic: Series
    baseline_start: pendulum.DateTime
    baseline_end: pendulum.DateTime
    intervention_at: pendulum.DateTime
    until: pendulum.DateTime
    step: float
    policy: RecoveryPolicy
    traits: dict[str, object] = field(default_factory=dict)


def poisson(rng: random.Random, mean: float) -> int:
    """Draw from a Poisson distribution (a rounded normal above a mean of 60)."""
    if mean <= 0:
        return 0
    if mean > 60:  # where the normal approximation is good enough
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit = math.exp(-mean)
    count = 0
    product = rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


@dataclass
class _World:
    """The hidden truth of a scenario: the error probability and the traffic at each instant."""

    rng: random.Random
    step: float
    rate: float
    """Baseline requests per second."""
    p0: float
    """Baseline error probability."""
    p_bad: float
    """Error probability during the symptom."""
    noise: float
    """Standard deviation of the log-normal overdispersion of the error probability."""
    as_rate: bool
    """Whether the error series is errors per second (else the error ratio)."""
    traffic_as_count: bool
    zero_as_nan: bool = True
    """With no requests, whether the ratio is NaN (else 0, as a clamped division reports)."""

    def level(self, p: float) -> float:
        """Return the error metric's expected value for the error probability ``p``."""
        return p * self.rate if self.as_rate else p

    def policy(self) -> RecoveryPolicy:
        """Return the default policy, its absolute tolerance in the error metric's units.

        The default tolerance is an error ratio (0.001); for errors per second it is
        the same share of the baseline's requests per second.
        """
        if not self.as_rate:
            return POLICY
        return attrs.evolve(POLICY, absolute_tolerance=POLICY.absolute_tolerance * self.rate)

    def allowance(self) -> float:
        """Return the true allowed shift over the baseline, in the metric's units."""
        policy = self.policy()
        return policy.allowed_increase * self.level(self.p0) + policy.absolute_tolerance

    def p_for(self, level: float) -> float:
        """Return the error probability whose expected metric value is ``level``."""
        return level / self.rate if self.as_rate else level

    def sample(self, p: float, traffic_share: float) -> tuple[float | None, float | None]:
        """Draw one step: the error value and the traffic value."""
        mean = self.rate * traffic_share * self.step
        requests = poisson(self.rng, mean)
        p_noisy = min(1.0, p * math.exp(self.rng.gauss(0.0, self.noise)))
        errors = min(requests, poisson(self.rng, requests * p_noisy))
        if self.as_rate:
            value: float | None = errors / self.step
        elif requests == 0:
            value = None if self.zero_as_nan else 0.0
        else:
            value = errors / requests
        volume = float(requests) if self.traffic_as_count else requests / self.step
        return value, volume


def _world(rng: random.Random) -> _World:
    step = rng.choice(STEPS)
    rate = math.exp(rng.uniform(math.log(4.0), math.log(500.0)))
    p0 = math.exp(rng.uniform(math.log(1e-4), math.log(0.05)))
    p_bad = min(0.9, p0 * rng.uniform(5, 30) + rng.uniform(0.02, 0.3))
    return _World(
        rng=rng,
        step=step,
        rate=rate,
        p0=p0,
        p_bad=p_bad,
        noise=rng.uniform(0.0, 0.5),
        as_rate=rng.random() < 1 / 3,
        traffic_as_count=rng.random() < 1 / 2,
    )


Script = list[tuple[float, float, str]]
"""``(error probability, traffic share, what)`` for each sample after the intervention.

``what`` is ``ok``, ``absent`` (no error sample), ``null`` (a NaN error value),
``no_traffic`` (no traffic sample) or ``stop`` (no sample of either from here on).
"""


def _after(  # noqa: C901, PLR0912, PLR0915 - one branch per class, kept side by side to compare
    kind: str, world: _World, intervention: float
) -> tuple[list[float], Script, float, dict[str, object]]:
    """Return the offsets (seconds after the intervention) of the samples, their script, the check.

    The samples lie on the grid of ``step`` from the series' start; ``intervention``
    is the intervention's offset from that start, so the first sample after it is
    where the grid says.
    """
    rng = world.rng
    step = world.step
    hold = POLICY.hold
    first = math.ceil(intervention / step) * step - intervention
    allowance = world.allowance()
    level0 = world.level(world.p0)
    excess_bad = world.level(world.p_bad) - level0
    traits: dict[str, object] = {}

    def grid(until: float) -> list[float]:
        count = math.floor((until - first) / step) + 1
        return [first + i * step for i in range(max(count, 0))]

    recovered_after = rng.uniform(0, 120)
    if kind == "true":
        until = recovered_after + hold + rng.uniform(60, 1200)
        offsets = grid(until)
        script = [(world.p_bad if t < recovered_after else world.p0, 1.0, "ok") for t in offsets]
    elif kind == "slow":
        tau = rng.uniform(120, 600)
        settled = tau * math.log(max(excess_bad / (0.05 * allowance), 1.0))
        until = settled + hold + rng.uniform(60, 900)
        offsets = grid(until)
        script = [
            (world.p_for(level0 + excess_bad * math.exp(-t / tau)), 1.0, "ok") for t in offsets
        ]
        traits["tau"] = round(tau)
    elif kind == "partial":
        times = rng.uniform(2, 8)
        excess = min(times * allowance, 0.7 * excess_bad)
        traits["excess_over_allowance"] = round(excess / allowance, 2)
        until = recovered_after + hold + rng.uniform(60, 1200)
        offsets = grid(until)
        partial = world.p_for(level0 + excess)
        script = [(world.p_bad if t < recovered_after else partial, 1.0, "ok") for t in offsets]
    elif kind == "relapse":
        severity = rng.uniform(0.3, 1.0)
        relapse_p = world.p_for(level0 + severity * excess_bad)
        until = recovered_after + hold + rng.uniform(300, 1500)
        ongoing = rng.random() < 1 / 2
        # At least two minutes (and two samples) of it: a relapse one can see.
        shortest = max(2 * step, 120.0)
        length = rng.uniform(shortest, 300)
        begin = rng.uniform(until - hold + step, until - (shortest if ongoing else length + step))
        end = until + step if ongoing else begin + length
        traits.update(severity=round(severity, 2), ongoing=ongoing)
        offsets = grid(until)
        script = [
            (
                world.p_bad if t < recovered_after else relapse_p if begin <= t < end else world.p0,
                1.0,
                "ok",
            )
            for t in offsets
        ]
    elif kind == "collapse":
        share = rng.uniform(0.02, 0.4)
        until = recovered_after + hold + rng.uniform(60, 1200)
        ongoing = rng.random() < 0.7
        begin = rng.choice([0.0, rng.uniform(max(0.0, until - hold), until - 2 * step)])
        # A collapse that is over ended within the hold: a hold after it would be a recovery.
        end = (
            until + step if ongoing else rng.uniform(max(begin, until - hold) + step, until - step)
        )
        traits.update(share=round(share, 2), ongoing=ongoing)
        offsets = grid(until)
        script = [
            (
                world.p_bad if t < recovered_after else world.p0,
                share if begin <= t < end else 1.0,
                "ok",
            )
            for t in offsets
        ]
    elif kind == "gap":
        until = recovered_after + hold + rng.uniform(60, 1200)
        offsets = grid(until)
        script = [(world.p_bad if t < recovered_after else world.p0, 1.0, "ok") for t in offsets]
        how = rng.choice(["stale", "hole", "null_tail", "traffic_tail"])
        traits["how"] = how
        last = len(script) - 1
        if how == "stale":
            stop = last - rng.randint(2, 10)
            for i in range(max(stop, 0), len(script)):
                script[i] = (*script[i][:2], "stop")
        elif how == "hole":
            in_hold = [i for i, t in enumerate(offsets) if t >= until - hold + step]
            begin = rng.choice(in_hold[:-1])
            for i in range(begin, min(begin + rng.randint(1, 5), last)):
                script[i] = (*script[i][:2], "absent")
        elif how == "null_tail":
            for i in range(last - rng.randint(0, 3), len(script)):
                script[i] = (*script[i][:2], "null")
        else:
            for i in range(last - rng.randint(0, 3), len(script)):
                script[i] = (*script[i][:2], "no_traffic")
    elif kind == "zero":
        until = recovered_after + hold + rng.uniform(60, 1200)
        world.zero_as_nan = rng.random() < 1 / 2
        begin = rng.choice([0.0, rng.uniform(max(0.0, until - hold), until - step)])
        traits["zero_as_nan"] = world.zero_as_nan
        offsets = grid(until)
        script = [
            (world.p_bad if t < recovered_after else world.p0, 0.0 if t >= begin else 1.0, "ok")
            for t in offsets
        ]
    else:
        msg = f"unknown scenario class {kind!r}"
        raise ValueError(msg)
    return offsets, script, until, traits


def generate(kind: str, index: int, *, seed: int = 20261120) -> Scenario:
    """Build scenario ``index`` of class ``kind``, the same for the same arguments."""
    rng = random.Random(f"{seed}:{kind}:{index}")  # noqa: S311 - seeded, reproducible scenarios
    world = _world(rng)
    step = world.step
    baseline_minutes = rng.choice(BASELINES)
    symptom = rng.uniform(300, 1800)
    baseline_samples = int(baseline_minutes * 60 / step)
    baseline_end_offset = baseline_samples * step
    intervention = baseline_end_offset + symptom
    offsets, script, until, traits = _after(kind, world, intervention)

    errors: list[tuple[pendulum.DateTime, float | None]] = []
    traffic: list[tuple[pendulum.DateTime, float | None]] = []

    def add(offset: float, p: float, share: float, what: str) -> None:
        at = T0.add(seconds=offset)
        value, volume = world.sample(p, share)
        if what != "absent":
            errors.append((at, None if what == "null" else value))
        traffic.append((at, None if what == "no_traffic" else volume))

    grid_index = 0
    while grid_index * step < intervention:
        offset = grid_index * step
        add(offset, world.p0 if offset < baseline_end_offset else world.p_bad, 1.0, "ok")
        grid_index += 1
    for offset, (p, share, what) in zip(offsets, script, strict=True):
        if what == "stop":
            break
        add(intervention + offset, p, share, what)
    end = T0.add(seconds=intervention + until)
    query = (T0, end)
    traits.update(
        step=step,
        rate=round(world.rate, 1),
        p0=world.p0,
        noise=round(world.noise, 2),
        errors_as=("rate" if world.as_rate else "ratio"),
        baseline_minutes=baseline_minutes,
        requests_per_step=round(world.rate * step),
    )
    return Scenario(
        kind=kind,
        index=index,
        errors=Series.from_pairs(MetricQuery("scenario", "errors", *query, step), errors),
        traffic=Series.from_pairs(MetricQuery("scenario", "traffic", *query, step), traffic),
        baseline_start=T0,
        baseline_end=T0.add(seconds=baseline_end_offset),
        intervention_at=T0.add(seconds=intervention),
        until=end,
        step=step,
        policy=world.policy(),
        traits=traits,
    )


def scenarios(per_class: int, *, seed: int = 20261120) -> list[Scenario]:
    """Return ``per_class`` scenarios of each class, class by class."""
    return [generate(kind, i, seed=seed) for kind in CLASSES for i in range(per_class)]


if __name__ == "__main__":
    for scenario in scenarios(2):
        print(
            scenario.kind,
            len(scenario.errors),
            scenario.until.diff(scenario.intervention_at).in_minutes(),
            "min after the intervention,",
            scenario.traits,
        )
