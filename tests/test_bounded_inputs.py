"""Bounded inputs: long series are journaled reduced (extremes kept), records have a size limit."""

from __future__ import annotations

import math
import random

import pendulum
import pytest

from incidentkit import (
    MAX_JOURNALED_POINTS,
    MAX_RECORD_BYTES,
    Detection,
    FindingKind,
    Incident,
    InvalidInputError,
    ManualClock,
    Metric,
    MetricQuery,
    RecoveryOutcome,
    Series,
)
from incidentkit._limits import reduced_for_journal
from incidentkit.analysis import check_recovery
from incidentkit.events import ImpactAssessed, RecoveryChecked

START = pendulum.datetime(2026, 11, 20, 0, 0, tz="UTC")
ONSET = START.add(hours=10)
FIXED = START.add(hours=11)
SPIKE = START.add(hours=6, seconds=17)
HOLE = START.add(hours=7, seconds=3)


class Fine:
    """A metric source that answers at one-second resolution, whatever step is asked.

    Errors: 0.1 % with noise, 5 % from ONSET to FIXED, one spike of 0.9 at SPIKE and
    a gap at HOLE. Traffic: 100 requests a second.
    """

    name = "fine"

    def query_range(self, query, start, end, step):
        """Answer every second of the window."""
        first, last = math.ceil(start.timestamp()), math.floor(end.timestamp())
        times = list(range(first, last + 1))
        rng = random.Random(first)  # noqa: S311 - test data
        if query == "traffic":
            values: list[float | None] = [100.0] * len(times)
        else:
            values = [
                0.05 if ONSET.timestamp() <= t < FIXED.timestamp() else 0.001 + rng.random() * 1e-4
                for t in times
            ]
            for at, value in ((SPIKE, 0.9), (HOLE, None)):
                if first <= at.timestamp() <= last:
                    values[int(at.timestamp()) - first] = value
        return Series.from_columns(MetricQuery(self.name, query, start, end, step), times, values)


def test_a_short_series_is_journaled_whole():
    """Up to the limit, nothing is reduced and nothing is said."""
    series = Fine().query_range("errors", START, START.add(seconds=999), 1.0)
    assert reduced_for_journal(series) == (series, "")


def test_a_long_series_keeps_its_extremes_gaps_and_ends():
    """The reduced series has the spike, the dip, the hole, the first and last samples."""
    series = Fine().query_range("errors", START, START.add(hours=12), 1.0)
    assert len(series) > 4 * MAX_JOURNALED_POINTS
    kept, detail = reduced_for_journal(series)
    assert len(kept) <= MAX_JOURNALED_POINTS
    assert max(v for v in kept.values if not math.isnan(v)) == 0.9
    assert min(v for v in kept.values if not math.isnan(v)) == min(
        v for v in series.values if not math.isnan(v)
    )
    assert HOLE.timestamp() in set(kept.times)
    assert kept.times[0] == series.times[0]
    assert kept.times[-1] == series.times[-1]
    assert list(kept.times) == sorted(set(kept.times))
    assert f"answered {len(series):,} samples" in detail
    assert f"keeps {len(kept):,}" in detail


def _events(path):
    return Incident.resume(path).events


def _assessed(tmp_path):
    clock = ManualClock(FIXED.add(minutes=30))
    declared = Incident.declare(
        title="Checkout errors",
        services="checkout",
        actor="dana",
        detection=Detection.ALERT,
        detected_at=ONSET.add(minutes=2),
        journal=tmp_path / "incident.jsonl",
        clock=clock,
    )
    source = Fine()
    errors, traffic = Metric(source, "errors", step=1.0), Metric(source, "traffic", step=1.0)
    assessed = declared.assess_impact(
        actor="dana", ongoing=False, errors=errors, traffic=traffic, slo=0.999
    )
    return assessed, errors, traffic, tmp_path / "incident.jsonl"


def test_the_assessment_analyses_every_sample_and_journals_a_reduced_copy(tmp_path):
    """The onset comes from the full series; the journal keeps at most the limit, and says so."""
    assessed, _errors, _traffic, path = _assessed(tmp_path)
    assert assessed.onset is not None
    assert abs((assessed.onset.at - ONSET).total_seconds()) <= 5
    (event,) = [e for e in _events(path) if isinstance(e, ImpactAssessed)]
    assert event.measurements
    for measurement in event.measurements:
        assert len(measurement.series) <= MAX_JOURNALED_POINTS
    assert 0.9 in set(event.measurements[0].series.values)
    reductions = [
        f
        for f in assessed.findings
        if f.kind is FindingKind.OBSERVATION and f.summary == "a series was reduced for the journal"
    ]
    assert len(reductions) == 2  # errors and traffic, each once
    assert all("the analysis used all" in f.detail for f in reductions)
    assert max(len(line) for line in path.read_bytes().splitlines()) < 1_000_000


def test_recovery_is_judged_on_every_sample_and_journaled_reduced(tmp_path):
    """The verdict is the full series' verdict; the journaled series are within the limit."""
    assessed, errors, traffic, path = _assessed(tmp_path)
    recovered = assessed.verify_recovery(
        actor="dana", errors=errors, traffic=traffic, baseline=6 * 3600
    )
    (event,) = [e for e in _events(path) if isinstance(e, RecoveryChecked)]
    assert event.errors is not None
    assert event.traffic is not None
    assert len(event.errors) <= MAX_JOURNALED_POINTS
    assert len(event.traffic) <= MAX_JOURNALED_POINTS
    full_errors = errors.source.query_range("errors", event.baseline_start, event.at, 1.0)
    full_traffic = traffic.source.query_range("traffic", event.baseline_start, event.at, 1.0)
    assert len(full_errors) > MAX_JOURNALED_POINTS
    expected = check_recovery(
        full_errors,
        full_traffic,
        baseline_start=event.baseline_start,
        baseline_end=event.baseline_end,
        intervention_at=event.since,
        until=event.at,
        step=1.0,
    )
    assert event.verdict == expected
    assert expected.outcome is RecoveryOutcome.RECOVERED
    assert recovered.phase == "recovered"


def test_a_record_over_the_limit_is_refused_and_the_incident_carries_on(tmp_path):
    """A note too large for one record gets a clear error; nothing is written; the next works."""
    assessed, *_rest, path = _assessed(tmp_path)
    size = path.stat().st_size
    with pytest.raises(InvalidInputError, match="over the limit of 67,108,864 a record"):
        assessed.note("x" * (MAX_RECORD_BYTES + 1), actor="dana")
    assert path.stat().st_size == size
    assessed.note("the log excerpt is in the ticket instead", actor="dana")
    assert path.stat().st_size > size
