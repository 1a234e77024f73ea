"""A threshold objective on a plain gauge: the spec, the judge, and the protocol end to end."""

from __future__ import annotations

import math
import random

import pendulum
import pytest

from incidentkit import (
    ChecklistItem,
    Detection,
    Evidence,
    FindingKind,
    Incident,
    Intervened,
    InvalidInputError,
    ManualClock,
    Metric,
    MetricQuery,
    Recovered,
    RecoveryOutcome,
    RecoveryPolicy,
    Series,
    Severity,
    Threshold,
)
from incidentkit.analysis import check_recovery_threshold, impact_numbers
from incidentkit.memory import InMemoryMetricSource
from incidentkit.reports import render_markdown

T0 = pendulum.datetime(2026, 11, 20, 12, 0, tz="UTC")
ONSET = T0.add(hours=2)
FIX = ONSET.add(minutes=20)
END = FIX.add(minutes=30)
STEP = 60.0


def _gauge(
    during: float = 2.5,
    after: float = 0.2,
    *,
    base: float = 0.2,
    seed: int = 3,
    hole: tuple[pendulum.DateTime, pendulum.DateTime] | None = None,
    traffic_after: float = 20.0,
) -> InMemoryMetricSource:
    """A p99 in seconds: ``base`` with noise, ``during`` from ONSET to FIX, ``after`` since."""
    rng = random.Random(seed)  # noqa: S311 - reproducible noise, not a secret
    p99, traffic = [], []
    at = T0
    while at <= END:
        level = base if at < ONSET else during if at < FIX else after
        value: float | None = level * (1 + rng.uniform(-0.05, 0.05))
        if hole is not None and hole[0] <= at < hole[1]:
            value = None
        p99.append((at, value))
        traffic.append((at, 20.0 if at < FIX else traffic_after))
        at = at.add(seconds=STEP)
    return InMemoryMetricSource({"p99": p99, "rps": traffic}, units={"p99": "s"})


def _declared(tmp_path, clock):
    return Incident.declare(
        title="Checkout is slow",
        services=["checkout"],
        actor="alice",
        detection=Detection.ALERT,
        journal=tmp_path / "incident.jsonl",
        detected_at=ONSET.add(minutes=3),
        clock=clock,
    )


def _intervened(objective: Threshold, tmp_path, clock, **assess):
    assessed = _declared(tmp_path, clock).assess_impact(
        actor="alice", ongoing=True, errors=objective, **assess
    )
    reviewed = assessed.skip_rollback_review(actor="alice", reason="nothing was deployed")
    clock.set(FIX)
    return assessed, reviewed.mitigate("scaled out", actor="alice", why_not_rollback="none")


# --------------------------------------------------------------------------- the spec


@pytest.mark.parametrize(
    "above", [math.nan, math.inf, -math.inf, True, "0.5", None, pytest.param(10**400, id="10**400")]
)
def test_a_threshold_that_is_not_a_finite_number_is_refused(above: object) -> None:
    """NaN, infinities, a bool or a string is no threshold: refused when the spec is built."""
    source = _gauge()
    with pytest.raises(InvalidInputError, match="above must be a finite number"):
        Threshold(Metric(source, "p99", unit="s"), above=above)  # type: ignore[arg-type]


def test_a_threshold_needs_a_metric_and_accepts_a_negative_level() -> None:
    """The gauge must be a Metric query; a negative threshold is a legitimate gauge level."""
    with pytest.raises(InvalidInputError, match="needs a Metric query"):
        Threshold("p99", above=0.5)  # type: ignore[arg-type]
    source = _gauge()
    assert Threshold(Metric(source, "p99"), above=-3).above == -3


# --------------------------------------------------------------------------- the protocol


def test_a_gauge_only_incident_is_assessed_by_time_above_and_its_recovery_verified(
    tmp_path,
) -> None:
    """Onset on the gauge, burn of time above, no share of requests, then held under: recovered."""
    clock = ManualClock(ONSET.add(minutes=10))
    objective = Threshold(Metric(_gauge(), "p99", unit="s"), above=0.5)
    assessed, intervened = _intervened(objective, tmp_path, clock, slo=0.999)
    assert abs((assessed.impact.symptom_start - ONSET).total_seconds()) <= STEP
    figures = {f.name: f for f in assessed.impact.figures}
    assert "share_of_requests_failing" not in figures
    assert figures["share_of_time_above_threshold"].value == pytest.approx(1.0)
    assert figures["time_above_threshold"].value == pytest.approx(11 * STEP)  # 12:00 to 12:10
    assert figures["peak"].unit == "s"
    assert figures["peak"].value > 2.3
    assert figures["burn_rate_5m"].value == pytest.approx(1000)
    numbers = assessed.impact_numbers
    assert numbers is not None
    assert numbers.share_of_requests is None
    assert numbers.share_of_time == pytest.approx(1.0)
    assert "no share of requests is known" in numbers.explanation
    assert assessed.impact.severity is Severity.SEV2  # a fast burn, but a gauge cannot say SEV1
    journaled = Incident.resume(tmp_path / "incident.jsonl")
    assert isinstance(journaled, Intervened)
    assessments = [e for e in journaled.events if e.TYPE == "impact_assessed"]
    assert assessments[0].numbers == numbers  # type: ignore[attr-defined]
    clock.set(END)
    phase = intervened.verify_recovery(actor="alice", errors=objective)
    assert isinstance(phase, Recovered), phase.last_verdict
    verdict = phase.verdict
    assert verdict.test == "threshold-hold"
    assert verdict.threshold == 0.5
    assert any("Mann-Whitney" in reason for reason in verdict.reasons)
    assert "traffic was not checked: no traffic metric given" in verdict.reasons
    resumed = Incident.resume(tmp_path / "incident.jsonl")
    assert isinstance(resumed, Recovered)
    assert resumed.verdict == verdict


def test_the_report_says_what_a_threshold_verdict_checked(tmp_path) -> None:
    """The plain verdict names the threshold and says traffic was not checked; no request share."""
    clock = ManualClock(ONSET.add(minutes=10))
    objective = Threshold(Metric(_gauge(), "p99", unit="s"), above=0.5)
    _assessed, intervened = _intervened(objective, tmp_path, clock, slo=0.999)
    clock.set(END)
    recovered = intervened.verify_recovery(actor="alice", errors=objective)
    assert isinstance(recovered, Recovered)
    resolved = (
        recovered.begin_diagnosis(actor="alice")
        .hypothesis("a hot shard", actor="alice", evidence=[Evidence.text("its graphs")])
        .waive(ChecklistItem.DEPLOYS, actor="alice", reason="none in the window")
        .waive(ChecklistItem.INFRASTRUCTURE, actor="alice", reason="none in the window")
        .waive(ChecklistItem.DEPENDENCIES, actor="alice", reason="none in the window")
        .resolve(actor="alice", root_cause="a hot shard", evidence=[Evidence.text("graphs")])
    )
    text = render_markdown(resolved.report())
    assert "**recovered**: at or under the threshold 0.5 and back near the baseline" in text
    assert "traffic not checked." in text
    assert "share_of_time_above_threshold" in text
    assert "of requests failing" not in text


def test_a_gauge_still_above_the_threshold_is_not_recovered(tmp_path) -> None:
    """After the fix the p99 is better (1.2 s) but above the 0.5 s threshold: not recovered."""
    clock = ManualClock(ONSET.add(minutes=10))
    objective = Threshold(Metric(_gauge(after=1.2), "p99", unit="s"), above=0.5)
    _assessed, intervened = _intervened(objective, tmp_path, clock, slo=0.999)
    clock.set(END)
    phase = intervened.verify_recovery(actor="alice", errors=objective)
    verdict = phase.last_verdict
    assert verdict is not None
    assert verdict.outcome is RecoveryOutcome.NOT_RECOVERED
    assert "is above the threshold 0.5" in verdict.reasons[0]


def test_under_the_threshold_but_far_from_the_baseline_is_a_partial_recovery(tmp_path) -> None:
    """0.45 s is under the 0.5 s threshold but more than twice the 0.2 s baseline: not yet."""
    clock = ManualClock(ONSET.add(minutes=10))
    objective = Threshold(Metric(_gauge(after=0.45), "p99", unit="s"), above=0.5)
    _assessed, intervened = _intervened(objective, tmp_path, clock, slo=0.999)
    clock.set(END)
    verdict = intervened.verify_recovery(actor="alice", errors=objective).last_verdict
    assert verdict is not None
    assert verdict.outcome is RecoveryOutcome.NOT_RECOVERED
    assert "partial recovery" in verdict.reasons[0]


def test_a_quiet_gauge_because_traffic_collapsed_is_not_recovery(tmp_path) -> None:
    """With a traffic metric, a fast p99 with almost no requests is inconclusive, a gap."""
    clock = ManualClock(ONSET.add(minutes=10))
    source = _gauge(traffic_after=1.0)
    objective = Threshold(Metric(source, "p99", unit="s"), above=0.5)
    _assessed, intervened = _intervened(objective, tmp_path, clock, slo=0.999)
    clock.set(END)
    phase = intervened.verify_recovery(
        actor="alice", errors=objective, traffic=Metric(source, "rps", unit="req/s")
    )
    verdict = phase.last_verdict
    assert verdict is not None
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert verdict.monitoring_gap
    assert "traffic is below" in verdict.reasons[0]
    assert any(f.kind is FindingKind.MONITORING_GAP for f in phase.findings)


def test_a_hole_in_the_gauge_is_a_gap_not_a_healthy_streak(tmp_path) -> None:
    """Missing samples at the end of the hold are never recovery."""
    clock = ManualClock(ONSET.add(minutes=10))
    source = _gauge(hole=(END.subtract(minutes=5), END.add(minutes=1)))
    objective = Threshold(Metric(source, "p99", unit="s"), above=0.5)
    _assessed, intervened = _intervened(objective, tmp_path, clock, slo=0.999)
    clock.set(END)
    verdict = intervened.verify_recovery(actor="alice", errors=objective).last_verdict
    assert verdict is not None
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert verdict.monitoring_gap


def test_an_empty_gauge_gives_no_severity_and_says_why(tmp_path) -> None:
    """A gauge with no samples measures nothing: without a severity the assessment is refused."""
    source = InMemoryMetricSource({"p99": []})
    declared = _declared(tmp_path, ManualClock(ONSET.add(minutes=10)))
    with pytest.raises(InvalidInputError, match="has no samples"):
        declared.assess_impact(
            actor="alice",
            ongoing=True,
            errors=Threshold(Metric(source, "p99"), above=0.5),
            slo=0.999,
        )
    assert declared.impact is None


def test_without_an_slo_the_time_above_is_still_measured(tmp_path) -> None:
    """No SLO, no burn rates: the share and the time above the threshold are still figures."""
    clock = ManualClock(ONSET.add(minutes=10))
    objective = Threshold(Metric(_gauge(), "p99", unit="s"), above=0.5)
    assessed = _declared(tmp_path, clock).assess_impact(
        actor="alice", ongoing=True, errors=objective, severity="sev2"
    )
    names = {f.name for f in assessed.impact.figures}
    assert {"share_of_time_above_threshold", "time_above_threshold", "peak"} <= names
    assert not any(name.startswith("burn_rate_") for name in names)
    assert assessed.impact_numbers is None


def test_a_negative_gauge_below_a_negative_threshold_recovers(tmp_path) -> None:
    """A gauge below zero (a balance, a drift) is judged like any other."""
    clock = ManualClock(ONSET.add(minutes=10))
    source = _gauge(during=-1.0, after=-10.0, base=-10.0)
    objective = Threshold(Metric(source, "p99"), above=-5.0)
    _assessed, intervened = _intervened(objective, tmp_path, clock, severity="sev3")
    clock.set(END)
    phase = intervened.verify_recovery(
        actor="alice", errors=objective, policy=RecoveryPolicy(absolute_tolerance=1.0)
    )
    assert isinstance(phase, Recovered), phase.last_verdict


# --------------------------------------------------------------------------- refusals


def test_a_latency_in_seconds_as_an_error_ratio_names_both_latency_objectives(tmp_path) -> None:
    """The refusal says what to pass instead: LatencyCounts, or Threshold on the gauge."""
    declared = _declared(tmp_path, ManualClock(ONSET.add(minutes=10)))
    with pytest.raises(InvalidInputError, match=r"LatencyCounts.*Threshold"):
        declared.assess_impact(
            actor="alice", ongoing=True, errors=Metric(_gauge(), "p99", unit="s"), slo=0.999
        )


def test_values_above_one_as_an_error_ratio_name_both_latency_objectives(tmp_path) -> None:
    """Without a unit the values give it away; the refusal names both objectives."""
    declared = _declared(tmp_path, ManualClock(ONSET.add(minutes=10)))
    with pytest.raises(InvalidInputError, match=r"LatencyCounts.*Threshold"):
        declared.assess_impact(
            actor="alice", ongoing=True, errors=Metric(_gauge(), "p99"), slo=0.999
        )


# --------------------------------------------------------------------------- the judge


def _series(values: list[float | None]) -> Series:
    query = MetricQuery("test", "p99", T0, T0.add(minutes=len(values)), STEP)
    return Series.from_pairs(query, [(T0.add(minutes=i), v) for i, v in enumerate(values)])


def _judge(values: list[float | None], *, above: float = 0.5, **kwargs: object):
    return check_recovery_threshold(
        _series(values),
        above=above,
        baseline_start=T0,
        baseline_end=T0.add(minutes=60),
        intervention_at=T0.add(minutes=80),
        until=T0.add(minutes=len(values) - 1),
        **kwargs,  # type: ignore[arg-type]
    )


def test_the_judge_refuses_a_threshold_that_is_not_finite() -> None:
    """The analysis function checks its threshold as the spec does."""
    with pytest.raises(InvalidInputError, match="finite number"):
        _judge([0.2] * 100, above=math.nan)


def test_the_judge_on_an_empty_baseline_is_inconclusive() -> None:
    """No baseline samples (all gaps): nothing to compare against, a monitoring gap."""
    verdict = _judge([None] * 60 + [0.2] * 40)
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert verdict.monitoring_gap
    assert "has 0 samples" in verdict.reasons[0]


def test_the_judge_on_huge_values_is_inconclusive_not_an_overflow() -> None:
    """A value of 1e200 in the hold is beyond what the comparison can compute with."""
    verdict = _judge([0.2] * 95 + [1e200] + [0.2] * 4)
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert verdict.monitoring_gap
    assert "1e+200" in verdict.reasons[0]


def test_infinite_samples_are_gaps() -> None:
    """An infinite sample is stored as a gap: the latest one makes the check inconclusive."""
    verdict = _judge([0.2] * 99 + [math.inf])
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert verdict.gaps >= 1


def test_a_short_streak_is_not_yet_recovery() -> None:
    """Under the threshold for five minutes of a ten-minute hold: check again later."""
    values = [0.2] * 60 + [2.0] * 35 + [0.2] * 5
    verdict = _judge(values)
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert "held only" in verdict.reasons[0]
    assert "restarted it" in verdict.reasons[1]


# --------------------------------------------------------------------------- impact numbers


def test_time_shares_refuse_traffic_and_unknown_modes() -> None:
    """share_of='time' cannot be weighted by requests; an unknown share_of is refused."""
    series = _series([0.0] * 10)
    with pytest.raises(InvalidInputError, match="counts no requests"):
        impact_numbers(
            series,
            slo=0.99,
            at=T0.add(minutes=9),
            symptom_start=T0,
            traffic=series,
            share_of="time",
        )
    with pytest.raises(InvalidInputError, match="share_of must be"):
        impact_numbers(
            series,
            slo=0.99,
            at=T0.add(minutes=9),
            symptom_start=T0,
            share_of="users",  # type: ignore[arg-type]
        )


def _queue(baseline: list[int], after: list[int]) -> Series:
    """A queue depth each minute: ``baseline`` up to ONSET, 40 items to FIX, ``after`` since."""
    query = MetricQuery("memory", "queue_depth", T0, END, STEP)
    times, values = [], []
    for i, value in enumerate(baseline):
        times.append(ONSET.subtract(minutes=len(baseline) - i).timestamp())
        values.append(float(value))
    for minute in range(20):
        times.append(ONSET.add(minutes=minute).timestamp())
        values.append(40.0)
    for minute, value in enumerate(after):
        times.append(FIX.add(minutes=minute + 1).timestamp())
        values.append(float(value))
    return Series.from_columns(query, times, values)


def _queue_verdict(baseline: list[int], after: list[int]):
    return check_recovery_threshold(
        _queue(baseline, after),
        above=10,
        baseline_start=ONSET.subtract(minutes=len(baseline)),
        baseline_end=ONSET,
        intervention_at=FIX,
        until=FIX.add(minutes=len(after)),
    )


def test_a_nearly_empty_queue_back_to_a_few_items_is_recovered_at_its_resolution():
    """Whole numbers only: one item of allowance, so 0-1 items after as 0-1 before is recovered."""
    rng = random.Random(7)  # noqa: S311 - reproducible noise, not a secret
    baseline = [int(rng.random() < 0.25) for _ in range(60)]  # a median of 0 items
    after = [0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 0]  # a mean of 0.4: more than before
    verdict = _queue_verdict(baseline, after)
    assert verdict.outcome is RecoveryOutcome.RECOVERED, verdict.reasons
    assert verdict.baseline_median == 0
    assert verdict.allowed_shift == pytest.approx(1.0)
    assert any("the gauge's resolution" in reason for reason in verdict.reasons)


def test_a_nearly_empty_queue_still_holding_items_is_not_recovered():
    """Under the threshold of 10 but 5 to 7 items against 0-1 before: a partial recovery."""
    rng = random.Random(7)  # noqa: S311 - reproducible noise, not a secret
    baseline = [int(rng.random() < 0.25) for _ in range(60)]
    verdict = _queue_verdict(baseline, [5, 6, 7, 6, 5, 6, 7, 5, 6, 6, 7, 5, 6, 5, 6])
    assert verdict.outcome is RecoveryOutcome.NOT_RECOVERED, verdict.reasons
    assert "partial recovery" in verdict.reasons[0]


def test_a_gauge_of_fractions_keeps_the_policys_tolerance():
    """A p99 in seconds is not a count: the allowance stays 25% of the median plus 0.001."""
    verdict = check_recovery_threshold(
        _gauge().query_range("p99", T0, END, STEP),
        above=1.0,
        baseline_start=T0,
        baseline_end=ONSET,
        intervention_at=FIX,
        until=END,
    )
    assert verdict.outcome is RecoveryOutcome.RECOVERED, verdict.reasons
    assert verdict.baseline_median is not None
    assert verdict.allowed_shift == pytest.approx(0.25 * verdict.baseline_median + 0.001)
    assert not any("resolution" in reason for reason in verdict.reasons)
