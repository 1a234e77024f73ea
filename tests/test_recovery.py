from __future__ import annotations

import itertools
import json
import math
import random
import statistics

import attrs
import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _recovery_reference import reference_check_recovery
from incidentkit import (
    InvalidInputError,
    MetricQuery,
    NaiveDatetimeError,
    RecoveryOutcome,
    RecoveryPolicy,
    RecoveryVerdict,
    Sample,
    Series,
)
from incidentkit._events import get_converter
from incidentkit._recovery import check_recovery, mann_whitney
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
    return check_recovery(
        errors,
        traffic,
        baseline_start=BASELINE_START,
        baseline_end=BASELINE_END,
        intervention_at=SINCE,
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
    """A missing sample restarts the hold: held too briefly since the gap is inconclusive, a gap."""
    verdict = judge([GOOD] * 10 + [missing] + [GOOD] * 5)
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert verdict.monitoring_gap
    assert "a gap in the data restarted it" in verdict.reasons
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
    verdict = check_recovery(
        errors,
        traffic,
        baseline_start=BASELINE_START,
        baseline_end=BASELINE_END,
        intervention_at=SINCE,
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
    """A Sample refuses NaN and infinities, so check_recovery can never count them healthy."""
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
        {"hold": "600"},
        {"hold": None},
        pytest.param({"hold": 10**400}, id="hold=10**400"),
        {"baseline_quantile": "1"},
        {"allowed_increase": [0.25]},
        pytest.param({"absolute_tolerance": 10**400}, id="absolute_tolerance=10**400"),
        {"resolution": "0.15"},
    ],
    ids=str,
)
def test_policy_rejects_nonsense(arguments):
    """A policy with a non-positive hold or an out-of-range share is refused at construction."""
    name = next(iter(arguments))
    with pytest.raises(InvalidInputError, match=name):
        RecoveryPolicy(**arguments)


def _judge_case(case: RecoveryCase):
    return check_recovery(case.errors, case.traffic, **case.arguments())  # type: ignore[arg-type]


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


def _trailing_healthy(states: tuple[str, ...]) -> int:
    """Return how many samples at the end are healthy in a row."""
    count = 0
    for state in reversed(states):
        if state != "healthy":
            break
        count += 1
    return count


@settings(max_examples=200)
@given(case=recovery_cases(clean_tail=True))
def test_a_fresh_clean_hold_after_any_trouble_is_recovery(case):
    """Whatever came before, a fresh healthy hold of at least min_post_samples is recovery.

    A shorter streak (a hold of one or two steps) is too few samples to
    compare with the baseline: inconclusive, check again later.
    """
    verdict = _judge_case(case)
    if _trailing_healthy(case.states) < case.policy.min_post_samples:
        assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
        assert "check again later" in verdict.reasons[0]
        return
    assert verdict.outcome is RecoveryOutcome.RECOVERED
    assert verdict.comparison == "within"
    troubles = [at for at, state in zip(case.times, case.states, strict=True) if state != "healthy"]
    assert verdict.healthy_since is not None
    assert all(at < verdict.healthy_since for at in troubles)
    nulls = sum(1 for state in case.states if state in {"none", "no_traffic"})
    assert nulls <= verdict.gaps <= sum(1 for state in case.states if state in MISSING_STATES)


# -- the Mann-Whitney U test and the Hodges-Lehmann shift ---------------------------------


def _exact_u(pooled: list[float], post_size: int) -> list[float]:
    """Return U ("post greater", ties one half) for every split of ``pooled`` into the two sides."""
    out = []
    for chosen in itertools.combinations(range(len(pooled)), post_size):
        post = [pooled[i] for i in chosen]
        rest = [pooled[i] for i in range(len(pooled)) if i not in chosen]
        out.append(sum(1.0 if y > x else 0.5 if y == x else 0.0 for y in post for x in rest))
    return out


def _pairwise_u(baseline, post) -> float:
    """Return U by its definition: pairs where post is greater, ties counting one half."""
    return sum(1.0 if y > x else 0.5 if y == x else 0.0 for y in post for x in baseline)


def test_mann_whitney_hand_computed_example_with_ties():
    """Baseline 1, 2, 2, 4 against post 2, 3, 4, 4, 5, worked by hand.

    Pooled and ranked: 1 | 2 2 2 | 3 | 4 4 4 | 5 get ranks 1 | 3 3 3 | 5 | 7 7 7 | 9,
    so the post's rank sum is 3 + 5 + 7 + 7 + 9 = 31 and U = 31 - 5 * 6 / 2 = 16.
    Two groups of three ties: sum(t^3 - t) = 48, so
    Var U = 4 * 5 / 12 * (10 - 48 / (9 * 8)) = 140 / 9, and
    z = (16 - 10 - 0.5) / sqrt(140 / 9) = 1.39450. The 20 differences post - baseline,
    sorted: -2, -1, 0 x4, 1 x4, 2 x5, 3 x4, 4; their median is (1 + 2) / 2 = 1.5.
    k = floor(10 - 1.959964 * 3.944053 + 0.5) = 2: the interval is [-1, 3].
    """
    test = mann_whitney([1, 2, 2, 4], [2, 3, 4, 4, 5])
    assert (test.baseline_size, test.post_size) == (4, 5)
    assert test.u == 16
    assert test.z == pytest.approx(5.5 / math.sqrt(140 / 9))
    assert test.z == pytest.approx(1.39450, abs=1e-5)
    assert test.p_value == pytest.approx(0.08158, abs=1e-5)
    assert test.shift == 1.5
    assert (test.low, test.high) == (-1, 3)
    assert test.confidence == 0.95


def test_mann_whitney_textbook_permeability_example():
    """Hollander and Wolfe's placental permeability data (R's wilcox.test example): W = 35.

    The exact one-sided p-value is 0.1272 (the textbook's and R's figure, recomputed
    here by enumerating all 3003 splits); the continuity-corrected normal
    approximation is 1 - Phi((35 - 25 - 0.5) / sqrt(50 * 16 / 12)) = 0.1223; the
    Hodges-Lehmann estimate is 0.305, and the exact 95 % interval's order
    statistic (k = 9) is the one the approximation picks.
    """
    term = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]
    early = [1.15, 0.88, 0.90, 0.74, 1.21]
    test = mann_whitney(early, term)
    assert test.u == 35
    exact = _exact_u(early + term, len(term))
    assert sum(u >= test.u for u in exact) / len(exact) == pytest.approx(0.1272, abs=5e-5)
    assert test.p_value == pytest.approx(0.1223, abs=5e-5)
    assert test.shift == pytest.approx(0.305)
    differences = sorted(y - x for y in term for x in early)
    assert (test.low, test.high) == (differences[8], differences[-9])
    assert (test.low, test.high) == (pytest.approx(-0.15), pytest.approx(0.76))


def test_mann_whitney_identical_samples_have_no_shift_and_no_variance():
    """Every value tied: U is n m / 2, the shift and its interval are 0, z and p are undefined."""
    test = mann_whitney([0.002] * 60, [0.002] * 11)
    assert test.u == 60 * 11 / 2
    assert (test.shift, test.low, test.high) == (0, 0, 0)
    assert test.z is None
    assert test.p_value is None


@pytest.mark.parametrize(
    ("post_size", "baseline_size", "confidence"),
    [(12, 30, 0.95), (5, 60, 0.95), (41, 120, 0.95), (20, 20, 0.90), (8, 8, 0.80)],
)
def test_mann_whitney_interval_covers_the_true_shift_at_its_level(
    post_size, baseline_size, confidence
):
    """Over 400 seeded skewed samples shifted by 0.5, the interval covers 0.5 at its level ±3 SE."""
    rng = random.Random(f"{post_size}-{baseline_size}-{confidence}")  # noqa: S311 - seeded
    trials = 400
    covered = 0
    for _ in range(trials):
        baseline = [rng.expovariate(1.0) for _ in range(baseline_size)]
        post = [rng.expovariate(1.0) + 0.5 for _ in range(post_size)]
        test = mann_whitney(baseline, post, confidence=confidence)
        covered += test.low <= 0.5 <= test.high
    margin = 3 * math.sqrt(confidence * (1 - confidence) / trials)
    assert confidence - margin <= covered / trials <= confidence + margin


@pytest.mark.parametrize(("post_size", "baseline_size"), [(5, 5), (4, 7), (6, 9), (3, 10)])
def test_mann_whitney_interval_matches_the_exact_order_statistic(post_size, baseline_size):
    """Without ties, the normal approximation picks the exact 95 % order statistic, or one wider."""
    null = sorted(_exact_u(list(range(post_size + baseline_size)), post_size))
    # The exact k: the largest with P(U <= k - 1) <= 2.5 %.
    exact_k = max(
        (k for k in range(1, len(null) + 1) if sum(u <= k - 1 for u in null) / len(null) <= 0.025),
        default=1,
    )
    rng = random.Random(post_size * 100 + baseline_size)  # noqa: S311 - seeded
    baseline = [rng.random() for _ in range(baseline_size)]
    post = [rng.random() + 0.3 for _ in range(post_size)]
    test = mann_whitney(baseline, post)
    differences = sorted(y - x for y in post for x in baseline)
    k = differences.index(test.low) + 1
    assert differences[-k] == test.high
    assert exact_k - 1 <= k <= exact_k


finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
"""Values for the statistics' properties: finite, small enough that sums stay exact-ish."""
samples = st.lists(finite.map(lambda v: round(v, 2)), min_size=1, max_size=8)


@given(baseline=samples, post=samples)
def test_mann_whitney_agrees_with_its_definitions(baseline, post):
    """U counts the pairs, the shift is the median difference, the interval holds it."""
    test = mann_whitney(baseline, post)
    assert test.u == pytest.approx(_pairwise_u(baseline, post))
    differences = sorted(y - x for y in post for x in baseline)
    assert test.shift == pytest.approx(statistics.median(differences))
    assert test.low <= test.shift <= test.high
    assert test.low in differences
    assert test.high in differences


@settings(max_examples=60)
@given(
    baseline=st.lists(st.integers(0, 3), min_size=1, max_size=5),
    post=st.lists(st.integers(0, 3), min_size=1, max_size=4),
)
def test_mann_whitney_variance_is_the_exact_permutation_variance_with_ties(baseline, post):
    """The tie-corrected variance behind z equals U's variance over every split of the values."""
    test = mann_whitney(baseline, post)
    exact = _exact_u([*baseline, *post], len(post))
    centre = len(post) * len(baseline) / 2
    variance = statistics.fmean((u - centre) ** 2 for u in exact)
    if test.z is None:
        assert variance == pytest.approx(0, abs=1e-12)
    else:
        assert test.z == pytest.approx((test.u - centre - 0.5) / math.sqrt(variance))


@given(baseline=samples, offset=st.floats(-100, 100).filter(lambda v: abs(v) >= 0.01))
def test_shift_estimate_is_a_constant_offset_added_to_post(baseline, offset):
    """Post = baseline + c gives the shift c (its sign included) and an interval around it."""
    test = mann_whitney(baseline, [value + offset for value in baseline])
    assert test.shift == pytest.approx(offset, abs=1e-9)
    assert math.copysign(1, test.shift) == math.copysign(1, offset)
    assert test.low <= offset + 1e-9
    assert test.high >= offset - 1e-9


@given(baseline=samples, post=samples, offset=st.integers(-50, 50))
def test_shift_estimate_moves_with_the_post_values(baseline, post, offset):
    """Adding c to every post value adds c to the shift, and to its interval if nothing ties.

    With ties, the tie correction of U's variance depends on which values tie,
    and so can the interval's order statistic.
    """
    moved = [value + offset for value in post]
    before = mann_whitney(baseline, post)
    after = mann_whitney(baseline, moved)
    assert after.shift == pytest.approx(before.shift + offset, abs=1e-6)
    if all(len(set(values)) == len(values) for values in ([*baseline, *post], [*baseline, *moved])):
        assert after.low == pytest.approx(before.low + offset, abs=1e-6)
        assert after.high == pytest.approx(before.high + offset, abs=1e-6)


@pytest.mark.parametrize(
    ("baseline", "post", "confidence", "match"),
    [
        ([], [1.0], 0.95, "values on both sides"),
        ([1.0], [], 0.95, "values on both sides"),
        ([1.0, math.nan], [1.0], 0.95, "finite values"),
        ([1.0], [math.inf], 0.95, "finite values"),
        ([1.0], [1.0], 1.0, "confidence"),
        ([1.0], [1.0], 0.0, "confidence"),
    ],
)
def test_mann_whitney_rejects_nonsense(baseline, post, confidence, match):
    """An empty side, a non-finite value or a confidence outside (0, 1) is refused."""
    with pytest.raises(InvalidInputError, match=match):
        mann_whitney(baseline, post, confidence=confidence)


# -- the scenarios of the issue -------------------------------------------------------


NOISY = [0.01, 0.02, 0.03, 0.04, 0.05] * 12
"""A noisy baseline: median 0.03, mean 0.03, largest 0.05 (so the threshold is 0.0635)."""
NOISY_ALLOWED = 0.25 * 0.03 + 0.001


def test_true_recovery_from_a_noisy_baseline_is_within_the_allowance():
    """Post values drawn like the baseline's recover, the comparison within the allowance."""
    verdict = judge([0.02, 0.04, 0.01, 0.05, 0.03] * 3, baseline=NOISY)
    assert verdict.outcome is RecoveryOutcome.RECOVERED
    assert verdict.comparison == "within"
    assert verdict.baseline_median == pytest.approx(0.03)
    assert verdict.allowed_shift == pytest.approx(NOISY_ALLOWED)
    assert verdict.shift == pytest.approx(0.0)
    assert verdict.shift_low <= 0 <= verdict.shift_high
    assert verdict.post_samples == 11  # the trailing hold of 600 s at one per minute
    assert verdict.baseline_samples == 60
    assert verdict.relative_shift == pytest.approx(0.0)
    assert verdict.confidence == 0.95
    assert "Hodges-Lehmann shift" in verdict.reasons[1]


def test_slow_recovery_that_has_held_for_the_hold_is_recovered():
    """Errors decaying for eight minutes, then at the baseline for twelve, are a recovery."""
    decay = [GOOD + (BAD - GOOD) * math.exp(-minute / 1.5) for minute in range(8)]
    verdict = judge(decay + [GOOD] * 12)
    assert verdict.outcome is RecoveryOutcome.RECOVERED
    assert verdict.healthy_since is not None
    assert verdict.healthy_since > SINCE
    assert verdict.comparison == "within"


def test_slow_recovery_not_yet_held_is_inconclusive():
    """The same decay checked four minutes into the baseline level: check again later."""
    decay = [GOOD + (BAD - GOOD) * math.exp(-minute / 1.5) for minute in range(8)]
    verdict = judge([*decay, GOOD, GOOD, GOOD, GOOD])
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert not verdict.monitoring_gap
    assert "check again later" in verdict.reasons[0]


def test_partial_recovery_under_the_per_sample_threshold_is_not_recovered():
    """Post values all under the per-sample threshold but shifted well above the baseline.

    Every value (0.05 to 0.06) is below the threshold 0.05 * 1.25 + 0.001, so
    the streak holds; but the whole interval of the shift is above the allowed
    shift 0.0085: still high, a partial recovery.
    """
    verdict = judge([0.05, 0.055, 0.06] * 6, baseline=NOISY)
    assert verdict.outcome is RecoveryOutcome.NOT_RECOVERED
    assert not verdict.monitoring_gap
    assert verdict.comparison == "high"
    assert verdict.shift_low > verdict.allowed_shift
    assert verdict.held_for >= 600
    assert "partial recovery" in verdict.reasons[0]
    assert verdict.p_value is not None
    assert verdict.p_value < 0.001


def test_partial_recovery_still_flapping_is_not_recovered():
    """Errors improved but bouncing over the threshold: high even while the last point is fine."""
    verdict = judge([0.05, 0.07, 0.06] * 6, baseline=NOISY)
    assert verdict.outcome is RecoveryOutcome.NOT_RECOVERED
    assert verdict.comparison == "high"


def test_probably_elevated_is_inconclusive_not_recovered():
    """A shift estimate above the allowance whose interval still reaches down to it: wait."""
    post = [0.02, 0.03, 0.04, 0.05, 0.06, 0.045] * 3
    verdict = judge(post, baseline=NOISY)
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert not verdict.monitoring_gap
    assert verdict.comparison == "elevated"
    assert verdict.shift > verdict.allowed_shift
    assert verdict.shift_low <= verdict.allowed_shift
    assert "probably still above the baseline" in verdict.reasons[0]


SPARSE = [0.0] * 58 + [0.004, 0.004]
"""A baseline of sparse errors: mostly zeros, mean 0.000133, median 0."""


def test_sparse_errors_above_the_allowed_mean_are_elevated():
    """Mostly zeros on both sides: the median is blind, the mean excess is not."""
    verdict = judge([0.0, 0.0, 0.006] * 5, baseline=SPARSE)
    assert verdict.shift == 0
    assert verdict.post_mean - verdict.baseline_mean > 0.25 * verdict.baseline_mean + 0.001
    assert verdict.comparison == "elevated"
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert not verdict.monitoring_gap


def test_sparse_errors_significantly_above_are_elevated_within_the_mean_allowance():
    """A significant increase of over half the allowance, its interval above it: elevated.

    The mean excess (0.00096) is under the allowed mean shift (0.00103), but the
    Mann-Whitney test finds the window greater than the baseline and the mean's
    interval reaches above the allowance: not a recovery to vouch for yet.
    """
    verdict = judge([0.0, 0.0, 0.003] * 5, baseline=SPARSE)
    allowed_mean = 0.25 * verdict.baseline_mean + 0.001
    assert verdict.shift == 0
    assert allowed_mean / 2 < verdict.post_mean - verdict.baseline_mean < allowed_mean
    assert verdict.p_value < 0.05
    assert verdict.comparison == "elevated"
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE


def test_a_significant_increase_exactly_at_the_allowance_is_within():
    """Every value exactly at the allowance: significant but certain not to exceed it."""
    verdict = judge([THRESHOLD] * 12)
    assert verdict.p_value < 0.001
    assert verdict.comparison == "within"
    assert verdict.outcome is RecoveryOutcome.RECOVERED


def test_relapse_still_going_within_the_hold_is_not_recovered():
    """Healthy for a while, then the symptom returns for the last three minutes: not recovered."""
    verdict = judge([GOOD] * 15 + [BAD] * 3)
    assert verdict.outcome is RecoveryOutcome.NOT_RECOVERED
    assert verdict.healthy_since is None


def test_traffic_collapse_within_the_hold_that_came_back_is_a_gap():
    """Traffic that collapsed for a while restarts the hold: inconclusive, a monitoring gap."""
    verdict = judge([GOOD] * 20, [TRAFFIC] * 10 + [5.0] * 3 + [TRAFFIC] * 7)
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert verdict.monitoring_gap
    assert "low traffic restarted it" in verdict.reasons
    assert verdict.low_traffic_samples == 3


def test_zero_traffic_with_nan_ratios_is_a_gap():
    """No requests make the ratio 0/0 = NaN: inconclusive, a monitoring gap, never recovered."""
    verdict = judge([GOOD] * 10 + ["NaN"] * 10, [TRAFFIC] * 10 + [0.0] * 10)
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert verdict.monitoring_gap


def test_short_streak_is_inconclusive_even_if_the_hold_is_short():
    """A one-minute hold met by two samples is too few to compare: check again later."""
    verdict = judge([BAD, GOOD, GOOD], policy=RecoveryPolicy(hold=60))
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert "at least 5 samples" in verdict.reasons[0]
    assert verdict.held_for == 60


def test_hold_met_with_min_post_samples_is_recovery():
    """The same one-minute hold recovers once five healthy samples stand."""
    verdict = judge([BAD] + [GOOD] * 5, policy=RecoveryPolicy(hold=60))
    assert verdict.outcome is RecoveryOutcome.RECOVERED
    assert verdict.post_samples == 5


def test_a_spike_in_the_baseline_raises_the_per_sample_threshold():
    """The threshold uses the baseline's largest value by default, a lower quantile if asked."""
    baseline = [GOOD] * 59 + [0.01]
    assert judge([GOOD] * 12, baseline=baseline).threshold == pytest.approx(0.01 * 1.25 + 0.001)
    lower = judge([GOOD] * 12, baseline=baseline, policy=RecoveryPolicy(baseline_quantile=0.95))
    assert lower.threshold == pytest.approx(GOOD * 1.25 + 0.001)


@pytest.mark.parametrize("cap", [10, 20, 59, 60, 480])
def test_the_comparison_caps_each_side_at_max_samples(cap):
    """A side longer than max_samples is cut: the baseline evenly, the post to its latest values."""
    verdict = judge([GOOD] * 30, policy=RecoveryPolicy(max_samples=cap, hold=1800))
    assert verdict.baseline_samples == min(cap, 60)
    assert verdict.post_samples == min(cap, 30)
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE  # held 29 minutes of 30


# -- check_recovery's arguments and the verdict's record -------------------------------------


def check(after, traffic_after=None, **overrides):
    """Call check_recovery on the script ``after``, with ``overrides`` of its keyword arguments."""
    errors, traffic = make_series(after, traffic_after)
    arguments = {
        "baseline_start": BASELINE_START,
        "baseline_end": BASELINE_END,
        "intervention_at": SINCE,
        "until": _minute(len(after) - 1),
        "step": STEP,
        **overrides,
    }
    return check_recovery(errors, traffic, **arguments)


def test_step_defaults_to_the_error_query_step():
    """Without a step, the error series' query step decides what a gap is."""
    assert check([GOOD] * 15, step=None) == check([GOOD] * 15)
    errors, traffic = make_series([GOOD] * 15)
    coarse = attrs.evolve(errors, query=attrs.evolve(errors.query, step=0.5))
    verdict = check_recovery(
        coarse,
        traffic,
        baseline_start=BASELINE_START,
        baseline_end=BASELINE_END,
        intervention_at=SINCE,
        until=_minute(14),
    )
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert verdict.gaps > 0


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"baseline_end": BASELINE_START}, "baseline window must not be empty"),
        ({"baseline_start": BASELINE_END.add(minutes=1)}, "baseline window must not be empty"),
        ({"until": SINCE.subtract(minutes=1)}, "before the intervention"),
        ({"step": 0.0}, "step must be a positive number"),
        ({"step": math.nan}, "step must be a positive number"),
        ({"step": -60.0}, "step must be a positive number"),
    ],
    ids=str,
)
def test_check_recovery_rejects_nonsense(overrides, match):
    """Empty or reversed windows and a non-positive step are refused, naming the problem."""
    with pytest.raises(InvalidInputError, match=match):
        check([GOOD] * 12, **overrides)


def test_check_recovery_rejects_what_is_not_a_series():
    """A list of pairs is not a Series: refused with a message naming the argument."""
    _errors, traffic = make_series([GOOD] * 12)
    with pytest.raises(InvalidInputError, match="errors must be a Series"):
        check_recovery(
            [(SINCE, GOOD)],  # type: ignore[arg-type]
            traffic,
            baseline_start=BASELINE_START,
            baseline_end=BASELINE_END,
            intervention_at=SINCE,
            until=_minute(11),
        )


@pytest.mark.parametrize(
    "arguments",
    [
        {"confidence": 0},
        {"confidence": 1},
        {"confidence": math.nan},
        {"confidence": "0.95"},
        {"min_post_samples": 0},
        {"min_post_samples": True},
        {"min_baseline_samples": 0},
        {"min_baseline_samples": 2.5},
        {"max_samples": 9},
    ],
    ids=str,
)
def test_policy_rejects_nonsense_statistics_knobs(arguments):
    """A confidence outside (0, 1) or a sample count too small or not an integer is refused."""
    name = next(iter(arguments))
    with pytest.raises(InvalidInputError, match=name):
        RecoveryPolicy(**arguments)


def test_old_verdicts_still_construct_and_new_ones_round_trip_through_the_journal():
    """A verdict built the 0.1 way still works, and every figure survives the journal's JSON."""
    old = RecoveryVerdict(RecoveryOutcome.INCONCLUSIVE, ("no data",), monitoring_gap=True)
    assert old.comparison is None
    assert old.post_samples == 0
    converter = get_converter()
    for verdict in (old, judge([GOOD] * 15), judge([0.05, 0.055, 0.06] * 6, baseline=NOISY)):
        body = json.loads(json.dumps(converter.unstructure(verdict), allow_nan=False))
        assert converter.structure(body, RecoveryVerdict) == verdict


def test_recovered_verdicts_carry_their_statistics():
    """A recovered verdict names the comparison and its figures, all finite."""
    verdict = judge([0.02, 0.04, 0.01, 0.05, 0.03] * 3, baseline=NOISY)
    figures = [
        verdict.u_statistic,
        verdict.z_score,
        verdict.p_value,
        verdict.shift,
        verdict.shift_low,
        verdict.shift_high,
        verdict.baseline_mean,
        verdict.post_mean,
    ]
    assert all(f is not None and math.isfinite(f) for f in figures)
    assert 0 <= verdict.p_value <= 1


# -- properties over noisy series ------------------------------------------------------


@st.composite
def noisy_cases(draw: st.DrawFn):
    """Return a noisy baseline and noisy post-intervention values with full traffic."""
    level = draw(st.sampled_from([0.0, 0.0005, 0.01, 0.2]))
    spread = draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))
    size = draw(st.integers(5, 60))
    unit = st.floats(0, 1, allow_nan=False)
    baseline = [round(level * (1 + spread * (2 * draw(unit) - 1)), 6) for _ in range(size)]
    post_level = draw(st.sampled_from([0.0, 0.5, 1.0, 1.3, 2.0, 5.0])) * level
    post = [
        round(post_level * (1 + spread * (2 * draw(unit) - 1)), 6)
        for _ in range(draw(st.integers(1, 25)))
    ]
    return baseline, post


@settings(max_examples=150)
@given(case=noisy_cases(), ending=st.sampled_from(["null", "no_traffic", "low", "stale"]))
def test_never_recovered_when_the_last_sample_is_missing_or_traffic_collapsed(case, ending):
    """A null last value, a missing last traffic sample, low last traffic or stale data: never."""
    baseline, post = case
    after: list[object] = list(post)
    traffic_after: list[object] = [TRAFFIC] * len(post)
    until = None
    if ending == "null":
        after.append(None)
        traffic_after.append(TRAFFIC)
    elif ending == "no_traffic":
        after.append(post[-1])
        traffic_after.append(ABSENT)
    elif ending == "low":
        after.append(post[-1])
        traffic_after.append(TRAFFIC * 0.4)
    else:
        until = _minute(len(post) + 2)
    verdict = judge(after, traffic_after, baseline=baseline, until=until)
    assert verdict.outcome is not RecoveryOutcome.RECOVERED
    assert verdict.monitoring_gap


@settings(max_examples=150)
@given(case=noisy_cases(), margin=st.floats(1e-6, 1.0))
def test_never_recovered_when_every_post_value_exceeds_the_allowance(case, margin):
    """All post values above baseline mean * (1 + allowed) + tolerance: never recovered."""
    baseline, post = case
    policy = RecoveryPolicy()
    floor = statistics.fmean(baseline) * (1 + policy.allowed_increase) + policy.absolute_tolerance
    raised = [max(value, floor + margin * floor + 1e-9) for value in post]
    verdict = judge(raised * 3, baseline=baseline)
    assert verdict.outcome is not RecoveryOutcome.RECOVERED


@settings(max_examples=150)
@given(case=noisy_cases())
def test_a_recovered_verdict_is_within_the_allowance(case):
    """Recovered means the comparison is within: the shift inside the allowance, the hold held."""
    baseline, post = case
    verdict = judge(post * 4, baseline=baseline)
    if verdict.outcome is RecoveryOutcome.RECOVERED:
        assert verdict.comparison == "within"
        assert verdict.shift_low <= verdict.allowed_shift + 1e-12
        assert verdict.shift <= verdict.allowed_shift + 1e-12
        assert verdict.post_samples >= RecoveryPolicy().min_post_samples
        assert verdict.held_for >= RecoveryPolicy().hold


_EPOCH = T0.timestamp()
_SPACINGS = st.one_of(
    st.sampled_from([STEP, STEP, STEP, 1.5 * STEP, 1.5 * STEP + 1e-6, 1.5 * STEP - 1e-6]),
    st.sampled_from([3e-7, 4e-7, 6e-7, 1e-6, 2e-6, 5e-6, 3 * STEP]),
    st.floats(3e-7, 4 * STEP),
)
_VALUES = st.one_of(
    st.floats(0, 0.2),
    st.sampled_from([None, math.nan, math.inf, GOOD, BAD, 0.0, 1e151, -1e151]),
)
_VOLUMES = st.one_of(
    st.floats(0, 2 * TRAFFIC),
    st.sampled_from([None, math.nan, TRAFFIC, TRAFFIC, 0.0, 1e151]),
)


@st.composite
def _irregular_cases(draw: st.DrawFn) -> tuple[Series, Series, dict[str, object]]:
    """Two series of irregular instants (some within a microsecond), and windows anywhere."""
    spacings = draw(st.lists(_SPACINGS, min_size=1, max_size=60))
    times = sorted(set(itertools.accumulate(spacings, initial=_EPOCH)))  # 3e-7 s: an ulp
    values = draw(st.lists(_VALUES, min_size=len(times), max_size=len(times)))
    if draw(st.booleans()):  # the traffic at the same instants
        traffic_times = list(times)
    else:  # some instants moved by less than a microsecond, some dropped, some added
        moved = [t + draw(st.sampled_from([0.0, 0.0, 2e-7, -2e-7, 0.4, 1e-6])) for t in times]
        kept = draw(st.lists(st.booleans(), min_size=len(moved), max_size=len(moved)))
        traffic_times = sorted({t for t, keep in zip(moved, kept, strict=True) if keep} or {_EPOCH})
    volumes = draw(st.lists(_VOLUMES, min_size=len(traffic_times), max_size=len(traffic_times)))

    def instant(seconds: float) -> pendulum.DateTime:
        return pendulum.from_timestamp(seconds, tz="UTC")

    span = times[-1] - times[0] + STEP
    cuts = sorted(draw(st.lists(st.floats(-STEP, span), min_size=3, max_size=3)))
    baseline_end = max(cuts[1], cuts[0] + 1.0)
    intervention = draw(st.sampled_from([baseline_end, cuts[1], cuts[2]]))
    until = max(intervention, draw(st.sampled_from([cuts[2], times[-1], times[-1] + 0.5])))
    windows = {
        "baseline_start": instant(_EPOCH + cuts[0]),
        "baseline_end": instant(_EPOCH + baseline_end),
        "intervention_at": instant(_EPOCH + intervention),
        "until": instant(_EPOCH + until),
        "step": draw(st.sampled_from([None, STEP, 1e-6])),
        "policy": draw(
            st.sampled_from(
                [
                    RecoveryPolicy(),
                    RecoveryPolicy(hold=STEP, min_baseline_samples=1, min_post_samples=1),
                ]
            )
        ),
    }
    query = MetricQuery("cases", "errors", instant(times[0]), instant(times[-1]), STEP)
    errors = Series.from_columns(query, times, values)
    traffic = Series.from_columns(attrs.evolve(query, query="traffic"), traffic_times, volumes)
    return errors, traffic, windows


@settings(max_examples=400)
@given(_irregular_cases())
def test_verdicts_match_the_sample_by_sample_walk(case):
    """Every verdict, field for field, is the one the former per-sample loop gave."""
    errors, traffic, windows = case
    assert check_recovery(errors, traffic, **windows) == reference_check_recovery(
        errors, traffic, **windows
    )


@settings(max_examples=100)
@given(recovery_cases())
def test_verdicts_match_the_sample_by_sample_walk_on_recovery_cases(case):
    """On the scenario cases too, every verdict is the one the former per-sample loop gave."""
    arguments = case.arguments()
    assert check_recovery(case.errors, case.traffic, **arguments) == reference_check_recovery(
        case.errors, case.traffic, **arguments
    )


@pytest.mark.parametrize(
    ("argument", "value", "error", "match"),
    [
        ("baseline_start", "2026-11-20T12:00:00Z", InvalidInputError, "baseline_start must be"),
        ("until", None, InvalidInputError, "until must be an aware datetime"),
        ("intervention_at", 1_794_225_600, InvalidInputError, "intervention_at must be"),
        ("baseline_end", pendulum.naive(2026, 11, 20, 13), NaiveDatetimeError, "baseline_end"),
        ("policy", {"hold": 60}, InvalidInputError, "policy must be a RecoveryPolicy"),
        ("policy", "strict", InvalidInputError, "policy must be a RecoveryPolicy"),
    ],
    ids=str,
)
def test_the_three_judges_refuse_a_bad_instant_or_policy_by_name(argument, value, error, match):
    """A string, a number or a naive datetime as an instant, a dict as the policy: no TypeError."""
    from incidentkit.analysis import check_recovery_counts, check_recovery_threshold  # noqa: PLC0415

    errors, traffic = make_series([GOOD] * 20)
    arguments = {
        "baseline_start": BASELINE_START,
        "baseline_end": BASELINE_END,
        "intervention_at": SINCE,
        "until": _minute(19),
        argument: value,
    }
    with pytest.raises(error, match=match):
        check_recovery(errors, traffic, **arguments)
    with pytest.raises(error, match=match):
        check_recovery_counts(traffic, traffic, **arguments)
    with pytest.raises(error, match=match):
        check_recovery_threshold(errors, above=0.5, **arguments)


def test_the_counts_judge_refuses_a_step_that_is_not_a_number():
    """step="60" is refused by name, not a TypeError from math.isfinite."""
    from incidentkit.analysis import check_recovery_counts  # noqa: PLC0415

    _errors, traffic = make_series([GOOD] * 20)
    with pytest.raises(InvalidInputError, match="step must be a positive number"):
        check_recovery_counts(
            traffic,
            traffic,
            baseline_start=BASELINE_START,
            baseline_end=BASELINE_END,
            intervention_at=SINCE,
            until=_minute(19),
            step="60",  # type: ignore[arg-type]
        )
