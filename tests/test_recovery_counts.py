"""Recovery judged from counts: exact binomial bounds, traffic over the window, none falsely."""

from __future__ import annotations

import math
import random

import attrs
import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from incidentkit import MetricQuery, RecoveryOutcome, RecoveryPolicy, Series
from incidentkit._binomial import incomplete_beta, lower_bound, requests_needed, upper_bound
from incidentkit._events import get_converter
from incidentkit._recovery import RecoveryVerdict, check_recovery
from incidentkit.analysis import check_recovery_counts

T0 = pendulum.datetime(2026, 11, 20, 12, 0, tz="UTC")
STEP = 60.0
BASELINE_START = T0
BASELINE_END = T0.add(hours=1)
INTERVENTION = BASELINE_END.add(minutes=20)


def _binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p), summed exactly term by term."""
    return math.fsum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))


@given(
    st.integers(min_value=1, max_value=60),
    st.integers(min_value=0, max_value=60),
    st.sampled_from([0.9, 0.95, 0.99]),
)
def test_the_bounds_are_clopper_pearsons(n: int, bad: int, confidence: float) -> None:
    """Upper u: P(X <= bad | u) = 1 - confidence; lower l: P(X >= bad | l) = 1 - confidence."""
    bad = min(bad, n)
    upper = upper_bound(bad, n, confidence)
    lower = lower_bound(bad, n, confidence)
    assert 0 <= lower <= bad / n <= upper <= 1
    if bad < n:
        assert _binomial_cdf(bad, n, upper) == pytest.approx(1 - confidence, abs=1e-9)
    else:
        assert upper == 1
    if bad > 0:
        assert 1 - _binomial_cdf(bad - 1, n, lower) == pytest.approx(1 - confidence, abs=1e-9)
    else:
        assert lower == 0


def test_the_incomplete_beta_holds_at_millions_of_trials() -> None:
    """I_x(a, b) stays finite and monotone with a and b in the millions (log space)."""
    a, b = 7_001.0, 7_193_000.0
    values = [incomplete_beta(a, b, x) for x in (0.0009, 0.00095, 0.001, 0.00105, 0.0011)]
    assert values == sorted(values)
    assert values[0] < 0.01
    assert values[-1] > 0.99
    assert upper_bound(7000, 7_200_000, 0.95) == pytest.approx(0.00099154, rel=1e-4)


def test_requests_needed_is_what_makes_the_upper_bound_reach_the_limit() -> None:
    """The number of requests returned is enough, and half of it is not."""
    needed = requests_needed(0.001, 0.00225, 0.95)
    assert needed is not None
    assert upper_bound(round(0.001 * needed), needed, 0.95) <= 0.00225
    assert upper_bound(round(0.001 * needed / 2), needed // 2, 0.95) > 0.00225
    assert requests_needed(0.003, 0.00225, 0.95) is None


def _counts(
    rng: random.Random,
    rate: float,
    shares: list[float],
    start: pendulum.DateTime,
) -> list[tuple[pendulum.DateTime, float, float]]:
    """One sample a minute: Poisson(rate * 60) requests, each bad with the minute's share."""
    out = []
    for index, share in enumerate(shares):
        total = _poisson(rng, rate * STEP)
        bad = sum(1 for _ in range(total) if rng.random() < share)
        out.append((start.add(seconds=index * STEP), float(bad), float(total)))
    return out


def _poisson(rng: random.Random, mean: float) -> int:
    if mean > 500:  # a normal approximation, well within the test's needs there
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _scenario(  # noqa: PLR0917 - a scenario reads best as one line of figures
    seed: int, rate: float, base: float, incident: float, after: float, minutes: int
) -> tuple[Series, Series, pendulum.DateTime]:
    """A baseline hour, 20 minutes of incident, then ``minutes`` after the intervention."""
    rng = random.Random(seed)  # noqa: S311 - reproducible traffic, not a secret
    shares = [base] * 60 + [incident] * 20 + [after] * minutes
    rows = _counts(rng, rate, shares, BASELINE_START)
    end = rows[-1][0]
    bad = Series.from_pairs(
        MetricQuery("test", "bad", BASELINE_START, end, STEP), [(at, b) for at, b, _t in rows]
    )
    total = Series.from_pairs(
        MetricQuery("test", "total", BASELINE_START, end, STEP), [(at, t) for at, _b, t in rows]
    )
    return bad, total, end


def _judge(
    bad: Series, total: Series, until: pendulum.DateTime, **policy: float
) -> RecoveryVerdict:
    return check_recovery_counts(
        bad,
        total,
        baseline_start=BASELINE_START,
        baseline_end=BASELINE_END,
        intervention_at=INTERVENTION,
        until=until,
        policy=RecoveryPolicy(**policy),  # type: ignore[arg-type]
    )


def test_a_quiet_service_that_recovered_is_recognised() -> None:
    """0.5 request/s, 0.5% errors back from 20%: recovered within 30 minutes, exact test named."""
    recognised = 0
    for seed in range(40):
        bad, total, end = _scenario(seed, 0.5, 0.005, 0.20, 0.005, 30)
        verdict = _judge(bad, total, end)
        assert verdict.outcome is not RecoveryOutcome.NOT_RECOVERED
        recognised += verdict.outcome is RecoveryOutcome.RECOVERED
        assert verdict.test == "exact-binomial"
        assert any("counts of bad and all requests" in reason for reason in verdict.reasons)
    assert recognised >= 36  # at least 90% of 40 here; the benchmark measures the rate


def test_the_ratio_judge_on_the_same_quiet_service_does_worse() -> None:
    """The same quiet recoveries judged as ratios: fewer recognised (the reason for counts)."""
    counts = ratios = 0
    for seed in range(40):
        bad, total, end = _scenario(seed, 0.5, 0.005, 0.20, 0.005, 30)
        counts += _judge(bad, total, end).outcome is RecoveryOutcome.RECOVERED
        share = Series.from_pairs(
            bad.query,
            [
                (s.at, s.value / t.value if t.value else 0.0)
                for s, t in zip(bad.samples, total.samples, strict=True)
            ],
        )
        verdict = check_recovery(
            share,
            total,
            baseline_start=BASELINE_START,
            baseline_end=BASELINE_END,
            intervention_at=INTERVENTION,
            until=end,
        )
        ratios += verdict.outcome is RecoveryOutcome.RECOVERED
    assert counts > ratios


@pytest.mark.parametrize("rate", [2.0, 50.0, 2000.0])
def test_errors_still_elevated_are_never_recovered(rate: float) -> None:
    """Three times the baseline share after the intervention: never recovered, at any traffic."""
    for seed in range(15):
        bad, total, end = _scenario(seed, rate, 0.01, 0.2, 0.03, 30)
        verdict = _judge(bad, total, end)
        assert verdict.outcome is not RecoveryOutcome.RECOVERED, verdict.reasons
    assert verdict.outcome is RecoveryOutcome.NOT_RECOVERED or rate < 10


def test_a_busy_service_still_failing_is_not_recovered_with_the_bounds() -> None:
    """High traffic, 5% errors against 1%: not recovered, and the lower bound says why."""
    bad, total, end = _scenario(1, 200.0, 0.01, 0.2, 0.05, 15)
    verdict = _judge(bad, total, end)
    assert verdict.outcome is RecoveryOutcome.NOT_RECOVERED
    assert verdict.threshold is not None
    if verdict.rate_lower is None:  # decided by the latest sample alone (rule 4)
        assert verdict.reasons[0].startswith("the latest sample")
    else:
        assert verdict.rate_lower > verdict.threshold


def test_too_little_traffic_is_inconclusive_with_the_requests_it_would_need() -> None:
    """0.02 request/s (about one a minute): inconclusive, saying how many requests would do."""
    bad, total, end = _scenario(3, 0.02, 0.0, 0.5, 0.0, 15)
    verdict = _judge(bad, total, end, absolute_tolerance=0.001)
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert verdict.requests_needed is not None
    assert verdict.requests_needed > (verdict.post_total or 0)
    assert "too few requests to tell" in verdict.reasons[0]
    assert "requests in the window would settle it" in verdict.reasons[1]


def test_collapsed_traffic_is_a_monitoring_gap_not_recovery() -> None:
    """No requests after the intervention: a quiet error rate without traffic is not recovery."""
    bad, total, end = _scenario(4, 20.0, 0.01, 0.2, 0.0, 20)
    pairs = [(s.at, 0.0 if s.at >= INTERVENTION else s.value) for s in total.samples]
    silent = Series.from_pairs(total.query, pairs)
    verdict = _judge(bad, silent, end)
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert verdict.monitoring_gap


def test_missing_data_at_the_end_is_inconclusive() -> None:
    """Data that stops before the check is never recovery."""
    bad, total, end = _scenario(5, 20.0, 0.01, 0.2, 0.01, 20)
    verdict = _judge(bad, total, end.add(minutes=10))
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert verdict.monitoring_gap
    assert "data stops" in verdict.reasons[0]


def test_a_gap_restarts_the_streak() -> None:
    """A missing count in the hold restarts the streak: check again later, a monitoring gap."""
    bad, total, end = _scenario(6, 20.0, 0.01, 0.2, 0.01, 20)
    gap_at = end.subtract(minutes=3)
    pairs = [(s.at, None if s.at == gap_at else s.value) for s in bad.samples]
    holed = Series.from_pairs(bad.query, pairs)
    verdict = _judge(holed, total, end)
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert verdict.monitoring_gap
    assert "a gap in the data restarted it" in verdict.reasons


def test_the_baseline_must_have_requests() -> None:
    """No request in the baseline: inconclusive, monitoring gap."""
    bad, total, end = _scenario(7, 20.0, 0.01, 0.2, 0.01, 20)
    pairs = [(s.at, 0.0 if s.at < BASELINE_END else s.value) for s in total.samples]
    verdict = _judge(bad, Series.from_pairs(total.query, pairs), end)
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert verdict.monitoring_gap


def test_no_false_recovery_of_a_partial_recovery_at_any_traffic() -> None:
    """A residual of 30% of the symptom's excess never passes, from 0.5 to 500 requests/s."""
    for rate in (0.5, 5.0, 50.0, 500.0):
        for seed in range(25):
            bad, total, end = _scenario(100 + seed, rate, 0.02, 0.3, 0.02 + 0.3 * 0.28, 30)
            verdict = _judge(bad, total, end, absolute_tolerance=0.0)
            assert verdict.outcome is not RecoveryOutcome.RECOVERED, (rate, seed, verdict.reasons)


def test_no_false_recovery_of_a_doubled_share_where_the_requests_can_show_it() -> None:
    """Twice the baseline's share never passes at 50 requests/s and more.

    At 0.5 request/s ten minutes hold about 300 requests: 2% and 4% cannot be
    told apart, and the verdict's bounds say so (rule 9's residual).
    """
    for rate in (50.0, 500.0):
        for seed in range(25):
            bad, total, end = _scenario(200 + seed, rate, 0.02, 0.3, 0.045, 30)
            verdict = _judge(bad, total, end, absolute_tolerance=0.0)
            assert verdict.outcome is not RecoveryOutcome.RECOVERED, (rate, seed, verdict.reasons)


def test_a_counts_verdict_round_trips_through_the_journal_form() -> None:
    """The new figures survive unstructure and structure, and old verdicts read with defaults."""
    bad, total, end = _scenario(8, 20.0, 0.01, 0.2, 0.01, 20)
    verdict = _judge(bad, total, end)
    converter = get_converter()
    assert converter.structure(converter.unstructure(verdict), RecoveryVerdict) == verdict
    old = converter.unstructure(attrs.evolve(verdict, test="mann-whitney"))
    for key in ("test", "baseline_bad", "post_total", "rate_upper", "requests_needed"):
        old.pop(key)
    assert converter.structure(old, RecoveryVerdict).test == "mann-whitney"
