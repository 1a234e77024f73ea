from __future__ import annotations

import math

import pendulum
import pytest
from hypothesis import given, settings

from incidentkit import (
    InvalidInputError,
    MetricQuery,
    RecoveryOutcome,
    RecoveryPolicy,
    Sample,
    Series,
)
from incidentkit._recovery import judge_recovery
from strategies import (
    MISSING_STATES,
    RecoveryCase,
    nan_spellings,
    recovery_cases,
)

T0 = pendulum.datetime(2026, 11, 20, 12, 0, tz="UTC")
STEP = 60.0
BASELINE_START = T0
BASELINE_END = T0.add(hours=1)
SINCE = BASELINE_END.add(minutes=10)
GOOD = 0.002
BAD = 0.18
TRAFFIC = 850.0
THRESHOLD = GOOD * 1.25 + 0.001
ABSENT = object()
"""A value in a script: no sample at all at that instant."""


def _query(name: str) -> MetricQuery:
    return MetricQuery("prometheus", name, BASELINE_START, SINCE.add(hours=2), STEP)


def _minute(index: int, origin: pendulum.DateTime = SINCE) -> pendulum.DateTime:
    return origin.add(seconds=index * STEP)


def make_series(
    after: list[object],
    traffic_after: list[object] | None = None,
    *,
    baseline: list[float | None] | None = None,
    baseline_traffic: list[float | None] | None = None,
) -> tuple[Series, Series]:
    """Build the error and traffic series: baseline, a bad symptom window, then ``after``.

    ``after[i]`` is the error value at ``SINCE + i`` minutes (:data:`ABSENT`
    for no sample); traffic defaults to :data:`TRAFFIC` at the same instants.
    """
    base = [GOOD] * 60 if baseline is None else baseline
    base_traffic = [TRAFFIC] * len(base) if baseline_traffic is None else baseline_traffic
    traffic_after = [TRAFFIC] * len(after) if traffic_after is None else traffic_after
    errors: list[tuple[pendulum.DateTime, float | str | None]] = []
    traffic: list[tuple[pendulum.DateTime, float | str | None]] = []
    for index, (value, volume) in enumerate(zip(base, base_traffic, strict=True)):
        errors.append((_minute(index, BASELINE_START), value))
        traffic.append((_minute(index, BASELINE_START), volume))
    for index in range(10):  # the symptom, between the baseline and the intervention
        errors.append((_minute(index, BASELINE_END), BAD))
        traffic.append((_minute(index, BASELINE_END), TRAFFIC))
    for index, value in enumerate(after):
        if value is not ABSENT:
            errors.append((_minute(index), value))  # type: ignore[arg-type]
    for index, volume in enumerate(traffic_after):
        if volume is not ABSENT:
            traffic.append((_minute(index), volume))  # type: ignore[arg-type]
    return (
        Series.from_pairs(_query("errors"), errors),
        Series.from_pairs(_query("traffic"), traffic),
    )


def judge(
    after: list[object],
    traffic_after: list[object] | None = None,
    *,
    until: pendulum.DateTime | None = None,
    policy: RecoveryPolicy | None = None,
    baseline: list[float | None] | None = None,
    baseline_traffic: list[float | None] | None = None,
):
    """Judge the script ``after``, checked at its last minute unless ``until`` is given."""
    errors, traffic = make_series(
        after, traffic_after, baseline=baseline, baseline_traffic=baseline_traffic
    )
    return judge_recovery(
        errors,
        traffic,
        baseline_start=BASELINE_START,
        baseline_end=BASELINE_END,
        since=SINCE,
        until=until or _minute(len(after) - 1),
        step=STEP,
        policy=policy,
    )


def test_true_recovery():
    """Twenty healthy minutes with full traffic after the intervention are a recovery."""
    verdict = judge([GOOD] * 20)
    assert verdict.outcome is RecoveryOutcome.RECOVERED
    assert not verdict.monitoring_gap
    assert verdict.healthy_since == SINCE
    assert verdict.held_for == 19 * STEP
    assert verdict.baseline_level == pytest.approx(GOOD)
    assert verdict.threshold == pytest.approx(THRESHOLD)
    assert verdict.baseline_traffic == TRAFFIC
    assert verdict.checked_samples == 20
    assert verdict.gaps == 0
    assert verdict.low_traffic_samples == 0
    assert "hold 600 s" in verdict.reasons[0]


def test_recovery_tolerates_values_up_to_the_threshold():
    """A value at the threshold (baseline + 25 % + 0.001) still counts as healthy."""
    verdict = judge([THRESHOLD] * 12)
    assert verdict.outcome is RecoveryOutcome.RECOVERED
    assert verdict.last_value == pytest.approx(THRESHOLD)


def test_not_recovered_when_the_last_point_is_bad():
    """A bad latest value is not recovered, however long the health before it held."""
    verdict = judge([GOOD] * 15 + [BAD])
    assert verdict.outcome is RecoveryOutcome.NOT_RECOVERED
    assert not verdict.monitoring_gap
    assert verdict.last_value == BAD
    assert verdict.healthy_since is None
    assert "above the healthy threshold" in verdict.reasons[0]


def test_partial_recovery_is_not_recovery():
    """Errors far better than during the symptom but above the threshold are not recovered."""
    verdict = judge([0.01] * 20)
    assert verdict.outcome is RecoveryOutcome.NOT_RECOVERED
    assert THRESHOLD < verdict.last_value < BAD
    assert verdict.held_for == 0.0


def test_relapse_within_the_hold_restarts_it_and_is_inconclusive():
    """A bad point restarts the hold: healthy again but held too briefly is inconclusive.

    Not "not recovered", because the latest values are healthy; not
    "recovered", because the streak that counts begins after the relapse.
    """
    verdict = judge([GOOD] * 8 + [BAD] + [GOOD] * 5)
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert not verdict.monitoring_gap
    assert verdict.healthy_since == _minute(9)
    assert verdict.held_for == 4 * STEP
    assert "check again later" in verdict.reasons[0]


def test_relapse_at_the_end_of_the_hold_is_not_recovered():
    """A bad point as the latest sample, after a streak longer than the hold, is not recovered."""
    verdict = judge([GOOD] * 12 + [BAD])
    assert verdict.outcome is RecoveryOutcome.NOT_RECOVERED


def test_hold_measured_from_the_relapse_can_complete():
    """After a relapse, a full hold of healthy samples is a recovery again."""
    verdict = judge([GOOD] * 3 + [BAD] + [GOOD] * 12)
    assert verdict.outcome is RecoveryOutcome.RECOVERED
    assert verdict.healthy_since == _minute(4)
    assert verdict.held_for == 11 * STEP


def test_traffic_collapse_is_inconclusive_and_a_monitoring_gap():
    """Quiet errors because traffic collapsed are not recovery: inconclusive, a monitoring gap."""
    verdict = judge([GOOD] * 20, [TRAFFIC] * 15 + [10.0] * 5)
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert verdict.monitoring_gap
    assert verdict.low_traffic_samples == 5
    assert "traffic is below 50%" in verdict.reasons[0]


def test_zero_traffic_after_the_intervention_is_inconclusive():
    """Zero requests after the intervention make a zero error ratio meaningless."""
    verdict = judge([0.0] * 20, [0.0] * 20)
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert verdict.monitoring_gap
    assert verdict.low_traffic_samples == 20


def test_zero_traffic_in_the_baseline_is_inconclusive():
    """A baseline without traffic gives nothing to compare the traffic against."""
    verdict = judge([GOOD] * 20, baseline_traffic=[0.0] * 60)
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert verdict.monitoring_gap
    assert verdict.baseline_traffic == 0.0
    assert "no traffic" in verdict.reasons[0]


@pytest.mark.parametrize("missing", [None, ABSENT], ids=["null value", "absent sample"])
def test_data_gap_in_the_middle_restarts_the_hold(missing):
    """A missing sample restarts the hold: held too briefly since the gap is inconclusive."""
    verdict = judge([GOOD] * 10 + [missing] + [GOOD] * 5)
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert verdict.healthy_since == _minute(11)
    assert verdict.held_for == 4 * STEP
    assert verdict.gaps == 1


@pytest.mark.parametrize("missing", [None, ABSENT], ids=["null value", "absent sample"])
def test_data_gap_in_the_middle_then_a_full_hold_is_recovery(missing):
    """A gap long before the check does not block recovery once a full hold follows it."""
    verdict = judge([GOOD] * 10 + [missing] + [GOOD] * 12)
    assert verdict.outcome is RecoveryOutcome.RECOVERED
    assert verdict.healthy_since == _minute(11)
    assert verdict.gaps == 1


def test_missing_traffic_sample_is_a_gap():
    """An error sample without a traffic sample at the same instant is a gap."""
    verdict = judge([GOOD] * 10, [TRAFFIC] * 9 + [ABSENT])
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert verdict.monitoring_gap
    assert "missing a value or its traffic" in verdict.reasons[0]


def test_latest_sample_missing_is_inconclusive():
    """A null latest value is never recovery, however healthy the samples before it."""
    verdict = judge([GOOD] * 20 + [None])
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert verdict.monitoring_gap
    assert "missing data is never recovery" in verdict.reasons


def test_sample_not_yet_scraped_at_the_check_is_tolerated():
    """A sample missing only at the check's instant (under 1.5 steps of silence) is no gap."""
    verdict = judge([GOOD] * 12 + [ABSENT])
    assert verdict.outcome is RecoveryOutcome.RECOVERED
    assert verdict.gaps == 0


def test_data_stopping_before_the_check_is_inconclusive():
    """Samples that stop minutes before the check are stale: inconclusive, a monitoring gap."""
    verdict = judge([GOOD] * 20, until=_minute(25))
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert verdict.monitoring_gap
    assert verdict.reasons[0].startswith("data stops at")
    assert verdict.gaps == 1


def test_bad_latest_value_in_stale_data_is_inconclusive():
    """A bad value followed by silence is reported as stale data, not as a verdict on old data."""
    verdict = judge([GOOD] * 5 + [BAD], until=_minute(20))
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert verdict.monitoring_gap


def test_no_samples_after_the_intervention_is_inconclusive():
    """Silence after the intervention is not recovery."""
    errors, traffic = make_series([])
    verdict = judge_recovery(
        errors,
        traffic,
        baseline_start=BASELINE_START,
        baseline_end=BASELINE_END,
        since=SINCE,
        until=SINCE.add(minutes=15),
        step=STEP,
    )
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert verdict.monitoring_gap
    assert verdict.checked_samples == 0
    assert "silence is not recovery" in verdict.reasons[0]


def test_empty_baseline_is_inconclusive():
    """Without baseline samples there is nothing to compare against: inconclusive."""
    verdict = judge([GOOD] * 20, baseline=[], baseline_traffic=[])
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert verdict.monitoring_gap
    assert verdict.baseline_level is None
    assert "0 error samples" in verdict.reasons[0]


def test_baseline_below_the_minimum_sample_count_is_inconclusive():
    """Four baseline samples are fewer than the default minimum of five: inconclusive."""
    verdict = judge([GOOD] * 20, baseline=[GOOD] * 4)
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert verdict.monitoring_gap


def test_baseline_of_nulls_is_inconclusive():
    """A baseline whose samples are all gaps is as good as no baseline."""
    verdict = judge([GOOD] * 20, baseline=[None] * 60)
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert verdict.monitoring_gap


def test_hold_not_yet_met_is_inconclusive():
    """Healthy since the intervention but for less than the hold: check again later."""
    verdict = judge([GOOD] * 6)
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert not verdict.monitoring_gap
    assert verdict.healthy_since == SINCE
    assert verdict.held_for == 5 * STEP
    assert "check again later" in verdict.reasons[0]


def test_shorter_policy_hold_is_met_sooner():
    """The same six healthy minutes recover under a five-minute hold."""
    verdict = judge([GOOD] * 6, policy=RecoveryPolicy(hold=300))
    assert verdict.outcome is RecoveryOutcome.RECOVERED


@given(spelling=nan_spellings())
def test_from_pairs_turns_non_finite_values_into_counted_gaps(spelling):
    """NaN and infinities, as numbers or strings, become None and count in non_finite."""
    series = Series.from_pairs(
        _query("errors"), [(T0, 0.5), (T0.add(minutes=1), spelling), (T0.add(minutes=2), None)]
    )
    assert [s.value for s in series.samples] == [0.5, None, None]
    assert series.non_finite == 1


def test_nan_values_after_the_intervention_are_gaps():
    """NaN samples (Prometheus' 0/0) at the end are missing data: inconclusive, not recovery."""
    verdict = judge([GOOD] * 12 + [float("nan"), "NaN"])
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert verdict.monitoring_gap
    assert verdict.gaps == 2


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_non_finite_value_cannot_enter_a_series_except_as_a_gap(value):
    """A Sample refuses NaN and infinities, so judge_recovery can never count them healthy."""
    errors, _traffic = make_series([GOOD] * 12)
    with pytest.raises(InvalidInputError, match="finite number or None"):
        Sample(errors.samples[-1].at, value)
    series = Series.from_pairs(errors.query, [(s.at, value) for s in errors.samples])
    assert all(s.value is None for s in series.samples)
    assert series.non_finite == len(errors.samples)


@pytest.mark.parametrize(
    "arguments",
    [
        {"hold": 0},
        {"hold": -5},
        {"hold": math.inf},
        {"baseline_quantile": 0},
        {"baseline_quantile": 1.5},
        {"allowed_increase": -0.1},
        {"absolute_tolerance": math.nan},
        {"min_traffic_ratio": 0},
        {"min_traffic_ratio": 2},
    ],
    ids=str,
)
def test_policy_rejects_nonsense(arguments):
    """A policy with a non-positive hold or an out-of-range share is refused at construction."""
    name = next(iter(arguments))
    with pytest.raises(InvalidInputError, match=name):
        RecoveryPolicy(**arguments)


def _judge_case(case: RecoveryCase):
    return judge_recovery(case.errors, case.traffic, **case.arguments())  # type: ignore[arg-type]


@settings(max_examples=200)
@given(case=recovery_cases())
def test_missing_data_or_low_traffic_at_the_end_is_never_recovery(case):
    """A missing sample within the hold before the check, or low traffic last, is never recovery.

    A gap restarts the hold, so only a gap earlier than one hold before the
    check can be followed by a recovery (see the data-gap unit tests).
    """
    verdict = _judge_case(case)
    hold_start = case.until.subtract(seconds=case.policy.hold)
    recent_gap = any(at >= hold_start for at in case.missing_times())
    if recent_gap or case.states[-1] == "low":
        assert verdict.outcome is not RecoveryOutcome.RECOVERED


@settings(max_examples=200)
@given(case=recovery_cases())
def test_missing_data_when_the_hold_spans_the_window_is_never_recovery(case):
    """If the hold spans the whole window since the intervention, any gap forbids recovery."""
    verdict = _judge_case(case)
    spans = case.policy.hold >= (case.until - case.since).total_seconds()
    if spans and any(state in MISSING_STATES for state in case.states):
        assert verdict.outcome is not RecoveryOutcome.RECOVERED


@settings(max_examples=200)
@given(case=recovery_cases())
def test_recovery_means_a_full_clean_hold_after_every_gap(case):
    """A recovered verdict's streak starts after every gap and trouble and lasts the hold."""
    verdict = _judge_case(case)
    if verdict.outcome is RecoveryOutcome.RECOVERED:
        assert not verdict.monitoring_gap
        assert verdict.healthy_since is not None
        assert verdict.held_for >= case.policy.hold
        assert case.states[-1] == "healthy"
        troubles = [
            at for at, state in zip(case.times, case.states, strict=True) if state != "healthy"
        ]
        assert all(at < verdict.healthy_since for at in troubles)


@settings(max_examples=200)
@given(case=recovery_cases(clean_tail=True))
def test_a_fresh_clean_hold_after_any_trouble_is_recovery(case):
    """Whatever came before, healthy fresh samples for the whole hold at the end are recovery."""
    verdict = _judge_case(case)
    assert verdict.outcome is RecoveryOutcome.RECOVERED
    troubles = [at for at, state in zip(case.times, case.states, strict=True) if state != "healthy"]
    assert verdict.healthy_since is not None
    assert all(at < verdict.healthy_since for at in troubles)
    nulls = sum(1 for state in case.states if state in {"none", "no_traffic"})
    assert nulls <= verdict.gaps <= sum(1 for state in case.states if state in MISSING_STATES)
