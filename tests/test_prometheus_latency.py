"""A latency incident defined only by a histogram, worked through the protocol on a real Prometheus.

The module starts ONE real Prometheus (Debian's ``prometheus`` and ``promtool``)
and backfills a classic histogram into it with ``promtool tsdb
create-blocks-from openmetrics``: ``http_request_duration_seconds_bucket{le=...}``,
``_count`` and ``_sum`` counters from two instances, scraped every 30 s. For
twenty minutes two requests in five are slower than 0.3 s, against one in
five hundred before and after. No error ratio exists: the incident is assessed
(burn rate), its onset detected and its recovery verified from
``increase(..._bucket{le="0.3"}[1m])`` and ``increase(..._count[1m])`` alone
(:class:`~incidentkit.LatencyCounts`), and, for the objective on a plain
gauge, from the p99 that ``histogram_quantile`` computes from the same buckets
(:class:`~incidentkit.Threshold`).
"""

from __future__ import annotations

import math
import random

import pendulum
import pytest

from incidentkit import (
    Detection,
    FindingKind,
    Incident,
    LatencyCounts,
    ManualClock,
    Metric,
    Recovered,
    RecoveryOutcome,
    Threshold,
)
from incidentkit.adapters.prometheus import PrometheusMetricSource
from incidentkit.testing import LocalPrometheus
from services import require_executables

T0 = pendulum.datetime(2025, 6, 2, 10, 0, tz="UTC")  # the latency incident starts
END_OF_INCIDENT = T0.add(minutes=20)
FIRST = T0.subtract(hours=7)
LAST = T0.add(hours=2)
SCRAPE = 30
BUCKETS = (0.1, 0.3, 1.0, 2.5)
INSTANCES = ("a", "b")
RATE = 4.0  # requests per second per instance
HISTOGRAM = "http_request_duration_seconds"
FAST = f'sum(increase({HISTOGRAM}_bucket{{job="checkout",le="0.3"}}[1m]))'
TOTAL = f'sum(increase({HISTOGRAM}_count{{job="checkout"}}[1m]))'
P99 = f'histogram_quantile(0.99, sum by (le) (rate({HISTOGRAM}_bucket{{job="checkout"}}[5m])))'


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson count by Knuth's method, split in halves to keep exp(-mean) representable."""
    if mean > 30:
        return _poisson(rng, mean / 2) + _poisson(rng, mean / 2)
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _latency(rng: random.Random, slow: bool) -> float:
    """One request's duration: mostly 40 to 250 ms; a slow one 0.4 to 2 s."""
    return rng.uniform(0.4, 2.0) if slow else rng.uniform(0.04, 0.25)


def _openmetrics(seed: int = 13) -> tuple[str, dict[float, tuple[int, int]]]:
    """The histogram as OpenMetrics text, and the (fast, total) requests added each scrape."""
    rng = random.Random(seed)  # noqa: S311 - reproducible traffic, not a secret
    lines = [f"# TYPE {HISTOGRAM} histogram"]
    added: dict[float, tuple[int, int]] = {}
    for instance in INSTANCES:
        cumulative = [0] * (len(BUCKETS) + 1)  # the le buckets, then +Inf
        total_seconds = 0.0
        rows: dict[str, list[str]] = {}
        at = FIRST
        while at <= LAST:
            stamp = f"{at.int_timestamp}.000"
            head = f'job="checkout",instance="{instance}"'
            for le, count in zip((*BUCKETS, math.inf), cumulative, strict=True):
                bound = "+Inf" if le == math.inf else f"{le:g}"
                rows.setdefault(bound, []).append(
                    f'{HISTOGRAM}_bucket{{{head},le="{bound}"}} {count} {stamp}'
                )
            rows.setdefault("count", []).append(
                f"{HISTOGRAM}_count{{{head}}} {cumulative[-1]} {stamp}"
            )
            rows.setdefault("sum", []).append(
                f"{HISTOGRAM}_sum{{{head}}} {total_seconds:.3f} {stamp}"
            )
            # The requests of the 30 s that start at `at`.
            share = 0.4 if T0 <= at < END_OF_INCIDENT else 0.002
            fast = 0
            n = _poisson(rng, RATE * SCRAPE)
            for _ in range(n):
                seconds = _latency(rng, rng.random() < share)
                total_seconds += seconds
                fast += seconds <= 0.3
                for index, le in enumerate((*BUCKETS, math.inf)):
                    cumulative[index] += seconds <= le
            was = added.get(at.timestamp(), (0, 0))
            added[at.timestamp()] = (was[0] + fast, was[1] + n)
            at = at.add(seconds=SCRAPE)
        for series in rows.values():
            lines.extend(series)
    lines.append("# EOF")
    return "\n".join(lines) + "\n", added


@pytest.fixture(scope="module")
def prometheus():
    """One real Prometheus for the module, with the latency histogram backfilled."""
    require_executables("prometheus", "promtool")
    text, _added = _openmetrics()
    with LocalPrometheus(text) as server:
        yield server


def _declare(path, clock):
    return Incident.declare(
        title="Checkout is slow",
        services="checkout",
        actor="dana",
        detection=Detection.ALERT,
        detected_at=T0.add(minutes=4),
        journal=path,
        clock=clock,
    )


def test_increase_over_the_buckets_counts_the_requests_backfilled(prometheus):
    """increase()[1m] at a 1 min step gives back exactly the requests of each minute."""
    source = PrometheusMetricSource(prometheus.url)
    _text, added = _openmetrics()
    start, end = T0.subtract(minutes=10), T0.add(minutes=10)
    fast = dict(source.query_range(FAST, start, end, 60).present())
    total = dict(source.query_range(TOTAL, start, end, 60).present())
    for at in (T0.subtract(minutes=5), T0.add(minutes=5)):
        # The window [at - 1 min, at] holds the scrapes at at - 60, at - 30 and at: the
        # requests added in the two 30 s before `at`.
        before = [added[at.timestamp() - s] for s in (60, 30)]
        assert total[at] == pytest.approx(sum(b[1] for b in before))
        assert fast[at] == pytest.approx(sum(b[0] for b in before))
    assert 1 - fast[T0.add(minutes=5)] / total[T0.add(minutes=5)] > 0.3
    assert 1 - fast[T0.subtract(minutes=5)] / total[T0.subtract(minutes=5)] < 0.02


def test_a_latency_incident_from_histogram_buckets_alone_runs_end_to_end(prometheus, tmp_path):
    """LatencyCounts on real PromQL: a burn rate, the onset at the first slow minute, recovered."""
    source = PrometheusMetricSource(prometheus.url)
    latency = LatencyCounts(Metric(source, FAST), Metric(source, TOTAL), threshold=0.3)
    clock = ManualClock(T0.add(minutes=10))
    assessed = _declare(tmp_path / "incident.jsonl", clock).assess_impact(
        actor="dana", ongoing=True, errors=latency, slo=0.999
    )
    assert assessed.onset is not None
    # The 1 min increase at T0 + 1 min is the first one holding only slow-period requests;
    # the one at T0 already holds none of them (the window ends at the scrape at T0).
    assert T0 <= assessed.onset.at <= T0.add(minutes=1), assessed.onset.explanation
    assert not [f for f in assessed.findings if f.kind is FindingKind.MONITORING_GAP]
    burn = {f.name: f.value for f in assessed.impact.figures if f.name.startswith("burn_rate")}
    assert burn["burn_rate_5m"] > 300  # about 40 % slow against a 0.1 % budget
    share = next(f for f in assessed.impact.figures if f.name == "share_of_requests_failing")
    assert 0.3 < share.value < 0.5
    reviewed = assessed.skip_rollback_review(actor="sam", reason="no deploy in the window")
    clock.set(END_OF_INCIDENT)
    intervened = reviewed.mitigate("scaled out", actor="sam", why_not_rollback="none")
    clock.set(END_OF_INCIDENT.add(minutes=30))
    recovered = intervened.verify_recovery(actor="sam", errors=latency)
    assert isinstance(recovered, Recovered), recovered.last_verdict
    assert recovered.verdict.test == "exact-binomial"
    assert recovered.verdict.post_total is not None
    assert recovered.verdict.post_total > 1000


def test_too_early_a_check_on_the_histogram_is_not_recovered(prometheus, tmp_path):
    """Checked while the requests are still slow, the same objective says not recovered."""
    source = PrometheusMetricSource(prometheus.url)
    latency = LatencyCounts(Metric(source, FAST), Metric(source, TOTAL), threshold=0.3)
    clock = ManualClock(T0.add(minutes=10))
    assessed = _declare(tmp_path / "incident.jsonl", clock).assess_impact(
        actor="dana", ongoing=True, errors=latency, slo=0.999
    )
    reviewed = assessed.skip_rollback_review(actor="sam", reason="no deploy in the window")
    clock.set(T0.add(minutes=12))
    intervened = reviewed.mitigate("restarted", actor="sam", why_not_rollback="none")
    clock.set(T0.add(minutes=19))
    verdict = intervened.verify_recovery(actor="sam", errors=latency).last_verdict
    assert verdict is not None
    assert verdict.outcome is RecoveryOutcome.NOT_RECOVERED


def test_a_p99_gauge_from_the_same_buckets_runs_as_a_threshold_objective(prometheus, tmp_path):
    """Threshold on histogram_quantile's p99: time above 0.5 s, then held under it: recovered."""
    source = PrometheusMetricSource(prometheus.url)
    objective = Threshold(Metric(source, P99, unit="s"), above=0.5)
    clock = ManualClock(T0.add(minutes=10))
    assessed = _declare(tmp_path / "incident.jsonl", clock).assess_impact(
        actor="dana", ongoing=True, errors=objective, slo=0.999
    )
    assert assessed.onset is not None
    assert abs((assessed.onset.at - T0).total_seconds()) <= 120, assessed.onset.explanation
    figures = {f.name: f.value for f in assessed.impact.figures}
    assert "share_of_requests_failing" not in figures
    assert figures["share_of_time_above_threshold"] > 0.8
    assert figures["peak"] > 1.0
    reviewed = assessed.skip_rollback_review(actor="sam", reason="no deploy in the window")
    clock.set(END_OF_INCIDENT)
    intervened = reviewed.mitigate("scaled out", actor="sam", why_not_rollback="none")
    clock.set(END_OF_INCIDENT.add(minutes=30))
    recovered = intervened.verify_recovery(actor="sam", errors=objective)
    assert isinstance(recovered, Recovered), recovered.last_verdict
    assert recovered.verdict.test == "threshold-hold"
