"""Tests for an impact assessment read from monitoring: onset, burn rates, severity."""

from __future__ import annotations

import threading
from pathlib import Path

import attrs
import pendulum
import pytest

from incidentkit import (
    Detection,
    FindingKind,
    Incident,
    InvalidInputError,
    ManualClock,
    Measure,
    Metric,
    RecoveryOutcome,
    Severity,
)
from incidentkit.memory import load_dataset

DATA = Path(__file__).parent.parent / "examples" / "data" / "checkout_outage.json"


class Down:
    """A metric source that is down."""

    name = "prometheus-down"

    def query_range(self, query, start, end, step):  # noqa: ARG002 - the protocol's signature
        """Fail as an unreachable server does."""
        raise ConnectionRefusedError(query)


@pytest.fixture
def scene(tmp_path):
    """The checkout outage at assessment time, declared and ready to assess."""
    data = load_dataset(DATA)
    clock = ManualClock(data.scenario_instant("declared_at"))
    declared = Incident.declare(
        title="Checkout returns 5xx",
        services="checkout",
        actor="dana",
        detection=Detection.ALERT,
        detected_at=data.scenario_instant("detected_at"),
        journal=tmp_path / "incident.jsonl",
        clock=clock,
    )
    clock.set(data.scenario_instant("assessed_at"))
    source = data.metric_source()
    errors = Metric(source, data.scenario["error_query"], unit="ratio")
    traffic = Metric(source, data.scenario["traffic_query"], unit="req/s")
    return declared, errors, traffic, data, tmp_path / "incident.jsonl"


def test_onset_and_severity_come_from_the_error_metric(scene):
    """Without a stated start or severity, both are read from the error ratio and the SLO."""
    declared, errors, traffic, data, _path = scene
    assessed = declared.assess_impact(
        actor="dana", ongoing=True, errors=errors, traffic=traffic, slo=0.999
    )
    onset = assessed.onset
    assert onset is not None
    assert abs((onset.at - data.scenario_instant("symptom_start")).total_seconds()) <= 60
    assert assessed.impact.symptom_start == onset.at
    numbers = assessed.impact_numbers
    assert numbers is not None
    assert assessed.impact.severity is numbers.suggested_severity is Severity.SEV1
    names = {figure.name for figure in assessed.impact.figures}
    assert {"burn_rate_5m", "burn_rate_1h", "burn_rate_6h", "share_of_requests_failing"} <= names
    assert all(figure.measured for figure in assessed.impact.figures)
    assert not [f for f in assessed.findings if f.kind is FindingKind.MONITORING_GAP]


def test_a_stated_start_and_severity_win_over_monitoring(scene):
    """A stated symptom start and severity are kept; the burn rates are still computed."""
    declared, errors, traffic, _data, _path = scene
    stated = pendulum.datetime(2026, 11, 20, 14, 5, tz="UTC")
    assessed = declared.assess_impact(
        actor="dana",
        ongoing=True,
        severity=Severity.SEV2,
        symptom_start=stated,
        errors=errors,
        traffic=traffic,
        slo=0.999,
    )
    assert assessed.impact.symptom_start == stated
    assert assessed.onset is None
    assert assessed.impact.severity is Severity.SEV2
    assert assessed.impact_numbers is not None


def test_a_dead_error_source_is_a_gap_and_needs_a_stated_severity(scene):
    """With the error source down, no severity can be suggested: say one, and the gap is kept."""
    declared, errors, _traffic, _data, _path = scene
    dead = Metric(Down(), errors.query)
    with pytest.raises(InvalidInputError, match="give severity"):
        declared.assess_impact(actor="dana", ongoing=True, errors=dead, slo=0.999)
    assessed = declared.assess_impact(
        actor="dana", ongoing=True, severity=Severity.SEV2, errors=dead, slo=0.999
    )
    gaps = [f for f in assessed.findings if f.kind is FindingKind.MONITORING_GAP]
    assert any("ConnectionRefusedError" in gap.detail for gap in gaps)
    assert any(gap.summary == "impact not measurable from monitoring" for gap in gaps)
    assert assessed.impact.symptom_start == declared.events[0].detected_at


def test_the_onset_and_the_numbers_survive_a_resume(scene):
    """A resumed incident has the same onset and burn rates as the live one."""
    declared, errors, traffic, _data, path = scene
    assessed = declared.assess_impact(
        actor="dana", ongoing=True, errors=errors, traffic=traffic, slo=0.999
    )
    resumed = Incident.resume(path)
    assert resumed.events == assessed.events
    assert resumed.onset == assessed.onset
    assert resumed.impact_numbers == assessed.impact_numbers


class Counting:
    """A metric source that counts the queries it answers."""

    def __init__(self, inner):
        self.inner = inner
        self.name = inner.name
        self.calls = 0

    def query_range(self, query, start, end, step):
        """Answer from the inner source and count."""
        self.calls += 1
        return self.inner.query_range(query, start, end, step)


def test_a_metric_used_twice_is_queried_once(scene):
    """A measure on the error metric reuses the series read for the onset and the burn rates."""
    declared, errors, _traffic, _data, _path = scene
    counting = Counting(errors.source)
    metric = Metric(counting, errors.query, unit="ratio")
    assessed = declared.assess_impact(
        actor="dana",
        ongoing=True,
        errors=metric,
        slo=0.999,
        measures=[Measure("peak_error_ratio", metric, reduce="max")],
    )
    assert counting.calls == 1
    peak = next(f for f in assessed.impact.figures if f.name == "peak_error_ratio")
    in_window = [
        v
        for at, v in counting.inner.query_range(
            errors.query, assessed.impact.symptom_start, assessed.events[-1].at, 60.0
        ).present()
    ]
    assert peak.value == max(in_window)


class Unhashable(Counting):
    """A counting source that cannot be hashed (``__eq__`` without ``__hash__``, as attrs makes)."""

    __hash__ = None  # type: ignore[assignment]

    def __eq__(self, other):
        """Equal to a source wrapping the same inner source."""
        return isinstance(other, Unhashable) and other.inner is self.inner


def test_an_unhashable_metric_source_works_and_is_still_queried_once(scene):
    """A source need not be hashable: the reuse is keyed by its identity, not its hash."""
    declared, errors, _traffic, _data, _path = scene
    source = Unhashable(errors.source)
    metric = Metric(source, errors.query, unit="ratio")
    assessed = declared.assess_impact(
        actor="dana",
        ongoing=True,
        errors=metric,
        slo=0.999,
        measures=[Measure("peak_error_ratio", metric, reduce="max")],
    )
    assert source.calls == 1
    assert any(f.name == "peak_error_ratio" for f in assessed.impact.figures)


def test_an_earlier_finished_episode_is_not_taken_for_this_symptom(tmp_path):
    """An episode that was over before detection is skipped: the onset is this symptom's."""
    import random  # noqa: PLC0415 - only this test draws noise

    from incidentkit.memory import InMemoryMetricSource  # noqa: PLC0415

    rng = random.Random(7)  # noqa: S311 - noise, not secrets
    start = pendulum.datetime(2026, 11, 20, 12, 0, tz="UTC")
    values = []
    for minute in range(141):  # 12:00 to 14:20
        # 12:30-12:50, an earlier episode as large as this one and over long before;
        # from 14:07 on, this incident's symptom, still going. The detector reports
        # the first of two alike; only the protocol knows when this incident was
        # detected, so it is the protocol that looks past the first.
        level = 0.18 if 30 <= minute < 50 or minute >= 127 else 0.002
        values.append((start.add(minutes=minute), level * (1 + rng.uniform(-0.1, 0.1))))
    source = InMemoryMetricSource({"errors": values})
    clock = ManualClock(start.add(hours=2, minutes=11))
    declared = Incident.declare(
        title="Checkout returns 5xx",
        services="checkout",
        actor="dana",
        detection=Detection.ALERT,
        detected_at=start.add(hours=2, minutes=9),
        journal=tmp_path / "incident.jsonl",
        clock=clock,
    )
    clock.set(start.add(hours=2, minutes=20))
    assessed = declared.assess_impact(
        actor="dana", ongoing=True, errors=Metric(source, "errors", unit="ratio"), slo=0.999
    )
    onset = assessed.onset
    assert onset is not None
    assert onset.at == start.add(hours=2, minutes=7)
    assert assessed.impact.symptom_start == onset.at
    # The index points into the series that was journaled, not into a slice of it.
    (measurement,) = [m for m in assessed.events[-1].measurements if m.name == "errors"]
    assert measurement.series.samples[onset.index].at == onset.at
    assert f"(sample {onset.index})" in onset.explanation


class Warned:
    """A metric source whose answers carry a warning, as Prometheus's partial responses do."""

    def __init__(self, inner):
        self.inner = inner
        self.name = inner.name

    def query_range(self, query, start, end, step):
        """Answer from the inner source, with a warning attached."""
        series = self.inner.query_range(query, start, end, step)
        return attrs.evolve(series, warnings=("partial response: store eu-1 unreachable",))


def test_a_warned_answer_is_used_and_recorded_as_a_gap(scene):
    """A series that came with a warning counts, and the warning becomes a finding."""
    declared, errors, _traffic, _data, path = scene
    warned = Metric(Warned(errors.source), errors.query, unit="ratio")
    assessed = declared.assess_impact(actor="dana", ongoing=True, errors=warned, slo=0.999)
    assert assessed.onset is not None
    gaps = [f for f in assessed.findings if f.kind is FindingKind.MONITORING_GAP]
    assert any("the source warned: partial response" in f.detail for f in gaps)
    # The warning is journaled with the series and comes back on resume.
    resumed = Incident.resume(path)
    (measurement,) = [m for m in resumed.events[1].measurements if m.name == "errors"]
    assert measurement.series.warnings == ("partial response: store eu-1 unreachable",)


def test_a_warned_answer_during_verification_is_a_gap_too(scene):
    """Recovery read from a warned series records the warning as a monitoring gap."""
    declared, errors, traffic, _data, _path = scene
    assessed = declared.assess_impact(actor="dana", ongoing=False, errors=errors, slo=0.999)
    warned = Metric(Warned(errors.source), errors.query, unit="ratio")
    checked = assessed.verify_recovery(actor="sam", errors=warned, traffic=traffic)
    gaps = [f for f in checked.findings if f.kind is FindingKind.MONITORING_GAP]
    assert [f.summary for f in gaps if "the source warned" in f.detail] == [
        "a metric source warned about its answer"
    ]


class Hanging:
    """A metric source whose queries wait until released, as a wedged proxy does."""

    name = "prometheus-wedged"

    def __init__(self):
        self.release = threading.Event()

    def query_range(self, query, start, end, step):  # noqa: ARG002 - the protocol's signature
        """Wait for the release, then answer nothing useful."""
        self.release.wait(10)
        raise ConnectionResetError(query)


def test_a_hung_metric_source_is_a_gap_at_the_deadline(scene):
    """A query that never answers ends at the step's timeout as a gap; the step completes."""
    declared, _errors, traffic, _data, _path = scene
    wedged = Hanging()
    try:
        assessed = declared.assess_impact(
            actor="dana",
            ongoing=True,
            severity=Severity.SEV2,
            errors=Metric(wedged, "errors", unit="ratio"),
            traffic=traffic,
            timeout=0.2,
        )
    finally:
        wedged.release.set()
    gaps = [f for f in assessed.findings if f.kind is FindingKind.MONITORING_GAP]
    assert any("prometheus-wedged" in f.detail and "within 0.2 s" in f.detail for f in gaps)
    assert assessed.impact.severity is Severity.SEV2


def test_a_hung_metric_source_during_verification_is_inconclusive(scene):
    """Recovery is never verified from a source that did not answer in time."""
    declared, errors, _traffic, _data, _path = scene
    assessed = declared.assess_impact(actor="dana", ongoing=False, errors=errors, slo=0.999)
    wedged = Hanging()
    try:
        checked = assessed.verify_recovery(
            actor="sam", errors=errors, traffic=Metric(wedged, "traffic"), timeout=0.2
        )
    finally:
        wedged.release.set()
    verdict = checked.last_verdict
    assert verdict is not None
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert any("within 0.2 s" in r for r in verdict.reasons)


def test_the_error_and_traffic_queries_are_asked_at_the_same_time(scene):
    """Each query waits for the other: only concurrent queries both answer."""
    declared, errors, traffic, _data, _path = scene
    barrier = threading.Barrier(2)

    class Meeting:
        def __init__(self, inner):
            self.inner = inner
            self.name = inner.name

        def query_range(self, query, start, end, step):
            barrier.wait(timeout=5)
            return self.inner.query_range(query, start, end, step)

    assessed = declared.assess_impact(
        actor="dana",
        ongoing=True,
        errors=Metric(Meeting(errors.source), errors.query, unit="ratio"),
        traffic=Metric(Meeting(traffic.source), traffic.query, unit="req/s"),
        slo=0.999,
    )
    gaps = [f for f in assessed.findings if f.kind is FindingKind.MONITORING_GAP]
    assert gaps == []
    assert assessed.onset is not None
