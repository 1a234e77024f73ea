"""Counts and latency objectives through the protocol: assessed, intervened, verified, journaled."""

from __future__ import annotations

import math
import random

import pendulum
import pytest

from incidentkit import (
    ChecklistItem,
    Counts,
    Detection,
    Evidence,
    Incident,
    InvalidInputError,
    LatencyCounts,
    ManualClock,
    Metric,
    Recovered,
    RecoveryOutcome,
    RecoveryVerdict,
)
from incidentkit.memory import InMemoryMetricSource

T0 = pendulum.datetime(2026, 11, 20, 12, 0, tz="UTC")
ONSET = T0.add(hours=2)
FIX = ONSET.add(minutes=20)
END = FIX.add(minutes=30)
STEP = 60.0


def _poisson(rng: random.Random, mean: float) -> int:
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _source(rate: float, base: float, incident: float, seed: int = 1) -> InMemoryMetricSource:
    """Counts a minute: ``rate`` requests/s, a bad share ``base``, ``incident`` from ONSET to FIX.

    Served as error counts and as a latency histogram (the bad ones slower than 0.3 s),
    plus a p99 in seconds and the share as a ratio.
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible traffic, not a secret
    bad, total, fast, p99, ratio, outage = [], [], [], [], [], []
    at = T0
    while at <= END:
        share = incident if ONSET <= at < FIX else base
        n = _poisson(rng, rate * STEP)
        b = sum(1 for _ in range(n) if rng.random() < share)
        bad.append((at, float(b)))
        total.append((at, float(n)))
        fast.append((at, float(n - b)))
        p99.append((at, 2.5 if ONSET <= at < FIX else 0.2))
        ratio.append((at, b / n if n else 0.0))
        # The same ratio as a full outage's can read it: at 1, and a little over 1 where
        # the two counters were read a moment apart.
        outage.append((at, (1.02 if at.minute % 2 else 1.0) if ONSET <= at < FIX else b / n))
        at = at.add(seconds=STEP)
    return InMemoryMetricSource(
        {
            "bad": bad,
            "total": total,
            "fast": fast,
            "p99": p99,
            "ratio": ratio,
            "outage": outage,
        },
        units={"p99": "s", "ratio": "ratio"},
    )


def _verdict(phase: object) -> RecoveryVerdict:
    """The verdict of the latest recovery check, read from the phase's events."""
    checks = [e for e in phase.events if e.TYPE == "recovery_checked"]  # type: ignore[attr-defined]
    return checks[-1].verdict


def _intervened(errors: Counts | LatencyCounts, tmp_path, clock):
    declared = Incident.declare(
        title="Checkout errors",
        services=["checkout"],
        actor="alice",
        detection=Detection.ALERT,
        journal=tmp_path / "incident.jsonl",
        detected_at=ONSET.add(minutes=3),
        clock=clock,
    )
    assessed = declared.assess_impact(actor="alice", ongoing=True, errors=errors, slo=0.999)
    reviewed = assessed.skip_rollback_review(actor="alice", reason="nothing was deployed")
    clock.set(FIX)
    return assessed, reviewed.mitigate(
        "drained the bad pod", actor="alice", why_not_rollback="none"
    )


def test_a_quiet_service_is_assessed_and_its_recovery_verified_from_counts(tmp_path) -> None:
    """At 0.5 request/s, counts give an onset, a severity and a verified recovery."""
    source = _source(0.5, 0.005, 0.3)
    clock = ManualClock(ONSET.add(minutes=10))
    counts = Counts(Metric(source, "bad"), Metric(source, "total"))
    assessed, intervened = _intervened(counts, tmp_path, clock)
    assert abs((assessed.impact.symptom_start - ONSET).total_seconds()) <= 2 * STEP
    assert assessed.impact.severity is not None
    clock.set(END)
    phase = intervened.verify_recovery(actor="alice", errors=counts)
    verdict = _verdict(phase)
    assert verdict.test == "exact-binomial", verdict
    assert isinstance(phase, Recovered), verdict.reasons
    assert _verdict(Incident.resume(tmp_path / "incident.jsonl")) == verdict


def test_a_latency_objective_from_a_histogram_runs_end_to_end(tmp_path) -> None:
    """LatencyCounts: slow requests are the bad ones; assessed with a burn rate, then recovered."""
    source = _source(20.0, 0.002, 0.4)
    clock = ManualClock(ONSET.add(minutes=10))
    latency = LatencyCounts(Metric(source, "fast"), Metric(source, "total"), threshold=0.3)
    assessed, intervened = _intervened(latency, tmp_path, clock)
    burn = [f for f in assessed.impact.figures if f.name.startswith("burn_rate_")]
    assert burn
    assert max(f.value for f in burn) > 100
    clock.set(END)
    phase = intervened.verify_recovery(actor="alice", errors=latency)
    assert _verdict(phase).outcome is RecoveryOutcome.RECOVERED, _verdict(phase).reasons


def test_a_latency_passed_as_an_error_ratio_is_refused_by_its_unit(tmp_path) -> None:
    """A p99 in seconds is not an error ratio: refused, naming LatencyCounts."""
    source = _source(20.0, 0.002, 0.4)
    declared = Incident.declare(
        title="Slow",
        services=["checkout"],
        actor="alice",
        detection=Detection.ALERT,
        journal=tmp_path / "incident.jsonl",
        detected_at=ONSET.add(minutes=3),
        clock=ManualClock(ONSET.add(minutes=10)),
    )
    with pytest.raises(InvalidInputError, match="LatencyCounts"):
        declared.assess_impact(
            actor="alice", ongoing=True, errors=Metric(source, "p99", unit="s"), slo=0.999
        )


def test_values_above_one_passed_as_an_error_ratio_are_refused(tmp_path) -> None:
    """Without a unit, values above 1 give it away: set aside, and with no severity, refused."""
    source = _source(20.0, 0.002, 0.4)
    declared = Incident.declare(
        title="Slow",
        services=["checkout"],
        actor="alice",
        detection=Detection.ALERT,
        journal=tmp_path / "incident.jsonl",
        detected_at=ONSET.add(minutes=3),
        clock=ManualClock(ONSET.add(minutes=10)),
    )
    with pytest.raises(
        InvalidInputError, match=r"reaches 2\.5, which no error ratio.*LatencyCounts"
    ):
        declared.assess_impact(actor="alice", ongoing=True, errors=Metric(source, "p99"), slo=0.999)
    assert declared.phase == "declared"
    assert declared.impact is None


def test_counts_at_different_steps_are_refused() -> None:
    """Each sample must count one step's requests in both metrics."""
    source = _source(1.0, 0.01, 0.2)
    with pytest.raises(InvalidInputError, match="same step"):
        Counts(Metric(source, "bad", step=60), Metric(source, "total", step=30))


def test_a_ratio_without_traffic_is_refused_at_verification(tmp_path) -> None:
    """verify_recovery with a ratio still needs the traffic metric."""
    source = _source(20.0, 0.002, 0.4)
    clock = ManualClock(ONSET.add(minutes=10))
    counts = Counts(Metric(source, "bad"), Metric(source, "total"))
    _assessed, intervened = _intervened(counts, tmp_path, clock)
    with pytest.raises(InvalidInputError, match="traffic"):
        intervened.verify_recovery(actor="alice", errors=Metric(source, "ratio"))  # type: ignore[call-overload]


def test_the_chart_of_a_counts_incident_draws_the_share_its_band_is_in(tmp_path) -> None:
    """The recovery band is a share: the chart draws bad / total, not the bad counts."""
    source = _source(20.0, 0.002, 0.4)
    clock = ManualClock(ONSET.add(minutes=10))
    counts = Counts(Metric(source, "bad"), Metric(source, "total"))
    _assessed, intervened = _intervened(counts, tmp_path, clock)
    clock.set(END)
    recovered = intervened.verify_recovery(actor="alice", errors=counts)
    assert isinstance(recovered, Recovered)
    resolved = (
        recovered.begin_diagnosis(actor="alice")
        .hypothesis("the pod", actor="alice", evidence=[Evidence.text("its logs")])
        .waive(ChecklistItem.DEPLOYS, actor="alice", reason="none in the window")
        .waive(ChecklistItem.INFRASTRUCTURE, actor="alice", reason="none in the window")
        .waive(ChecklistItem.DEPENDENCIES, actor="alice", reason="none in the window")
        .resolve(actor="alice", root_cause="a bad pod", evidence=[Evidence.text("its logs")])
    )
    chart = resolved.report().chart
    assert chart is not None
    assert chart.errors is not None
    assert chart.errors.unit == "ratio"
    assert chart.errors.query == "(bad) / (total)"
    drawn = [v for v in chart.errors.values if v is not None]
    assert max(drawn) > 0.3  # the symptom's share
    assert max(drawn) <= 1
    assert chart.baseline is not None
    assert chart.baseline.high < 0.05


def _verified_as_ratio(source, query: str, counts: Counts, tmp_path):
    """Assess from ``counts``, mitigate at FIX, then verify at END with ``query`` as a ratio."""
    clock = ManualClock(ONSET.add(minutes=10))
    _assessed, intervened = _intervened(counts, tmp_path, clock)
    clock.set(END)
    return intervened.verify_recovery(
        actor="alice", errors=Metric(source, query), traffic=Metric(source, "total")
    )


def test_values_above_one_passed_as_an_error_ratio_are_not_judged_at_verification(
    tmp_path,
) -> None:
    """verify_recovery sets a "ratio" above 1 aside, as assess_impact does: no verdict on it.

    A p99 in seconds without its unit would otherwise be compared as a ratio, and a
    latency back under its baseline's would read as recovered.
    """
    source = _source(20.0, 0.002, 0.4)
    counts = Counts(Metric(source, "bad"), Metric(source, "total"))
    phase = _verified_as_ratio(source, "p99", counts, tmp_path)
    verdict = _verdict(phase)
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert verdict.monitoring_gap
    reasons = " ".join(verdict.reasons)
    assert "reaches 2.5, which no error ratio" in reasons
    assert "LatencyCounts" in reasons
    assert "Threshold" in reasons
    gaps = [e for e in phase.events if e.TYPE == "finding_recorded"]  # type: ignore[attr-defined]
    assert any("reaches 2.5" in str(e.finding.detail) for e in gaps)
    # The same call with the counts judges them, and recovers.
    recovered = phase.verify_recovery(actor="alice", errors=counts)
    assert _verdict(recovered).outcome is RecoveryOutcome.RECOVERED


def test_a_ratio_just_over_one_in_a_full_outage_is_still_judged_as_a_ratio(tmp_path) -> None:
    """1.02 is a ratio of two rates read a moment apart, not a latency: it is judged."""
    source = _source(20.0, 0.002, 0.4)
    counts = Counts(Metric(source, "bad"), Metric(source, "total"))
    verdict = _verdict(_verified_as_ratio(source, "outage", counts, tmp_path))
    assert not any("no error ratio" in reason for reason in verdict.reasons), verdict.reasons
    assert verdict.test == "mann-whitney"


@pytest.mark.parametrize("bad", ["60", None, [60], pytest.param(10**400, id="10**400")])
def test_a_step_or_threshold_that_is_not_a_number_is_refused_by_name(bad: object) -> None:
    """A string, None, a list or an integer too large for a float: refused, not a TypeError."""
    source = _source(1.0, 0.01, 0.2)
    with pytest.raises(InvalidInputError, match="step must be a positive number"):
        Metric(source, "bad", step=bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="threshold must be a positive number"):
        LatencyCounts(Metric(source, "fast"), Metric(source, "total"), threshold=bad)  # type: ignore[arg-type]
