"""Tests for impact in numbers: burn rates, share of requests, suggested severity."""

from __future__ import annotations

import datetime as dt

import pendulum
import pytest

from incidentkit import InvalidInputError, MetricQuery, NaiveDatetimeError, Series, Severity
from incidentkit.analysis import impact_numbers

T0 = pendulum.datetime(2026, 11, 20, 8, 0, tz="UTC")
AT = T0.add(hours=7)
START = AT.subtract(minutes=30)


def series(values, *, start=T0, step=60.0, name="q"):
    """A series of ``values`` every ``step`` seconds from ``start``."""
    query = MetricQuery("test", name, start, start.add(seconds=step * len(values)), step)
    return Series.from_pairs(
        query, [(start.add(seconds=step * i), v) for i, v in enumerate(values)]
    )


def flat(value, minutes=7 * 60):
    """A constant series covering seven hours up to AT."""
    return series([value] * (minutes + 1))


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [
        (0.2, Severity.SEV1),
        (0.02, Severity.SEV2),
        (0.002, Severity.SEV3),
        (0.0005, Severity.SEV4),
    ],
)
def test_constant_error_ratio_suggests_the_documented_severity(ratio, expected):
    """A constant error ratio gives burn = ratio / (1 - SLO) on every window and its severity."""
    numbers = impact_numbers(flat(ratio), slo=0.999, at=AT, symptom_start=START)
    assert numbers.suggested_severity is expected
    for rate in numbers.burn_rates:
        assert rate.burn == pytest.approx(ratio / 0.001)
    assert numbers.share_of_requests == pytest.approx(ratio)
    assert expected.value.upper() in numbers.explanation


def test_windows_only_see_their_own_samples():
    """A spike in the last five minutes burns the 5 min window hardest, the 6 h window least."""
    values = [0.0] * (7 * 60 - 5) + [0.5] * 6
    numbers = impact_numbers(series(values), slo=0.99, at=AT, symptom_start=AT.subtract(minutes=5))
    five, hour, six = (rate.burn for rate in numbers.burn_rates)
    assert five is not None
    assert hour is not None
    assert six is not None
    assert five == pytest.approx(50.0)
    assert five > hour > six > 0
    assert numbers.burn(3600.0) == hour
    assert numbers.burn(60.0) is None


def test_traffic_weights_the_error_ratio():
    """With traffic, a failing quiet minute weighs less than a healthy busy one."""
    errors = series([0.0, 1.0], start=AT.subtract(minutes=1))
    traffic = series([1000.0, 10.0], start=AT.subtract(minutes=1))
    weighted = impact_numbers(
        errors, slo=0.999, at=AT, symptom_start=AT.subtract(minutes=1), traffic=traffic
    )
    plain = impact_numbers(errors, slo=0.999, at=AT, symptom_start=AT.subtract(minutes=1))
    assert weighted.share_of_requests == pytest.approx(10 / 1010)
    assert plain.share_of_requests == pytest.approx(0.5)


def test_gaps_are_not_zeros():
    """Missing samples are left out of the ratio, never counted as zero errors."""
    values = [0.1, None, None, 0.1]
    numbers = impact_numbers(
        series(values, start=AT.subtract(minutes=3)),
        slo=0.999,
        at=AT,
        symptom_start=AT.subtract(minutes=3),
    )
    assert numbers.share_of_requests == pytest.approx(0.1)
    assert numbers.burn_rates[0].samples == 2


def test_no_data_is_stated_not_guessed():
    """Without error samples every figure is None and the explanation says why SEV4."""
    numbers = impact_numbers(series([None, None]), slo=0.999, at=AT, symptom_start=START)
    assert all(rate.burn is None for rate in numbers.burn_rates)
    assert numbers.share_of_requests is None
    assert numbers.suggested_severity is Severity.SEV4
    assert "cannot be measured" in numbers.explanation


def test_affected_users_is_the_peak_since_the_symptom_began():
    """The user metric's highest value since the symptom start is reported."""
    users = series([900.0, 40.0, 120.0, 80.0], start=START.subtract(minutes=1))
    numbers = impact_numbers(flat(0.01), slo=0.999, at=AT, symptom_start=START, users=users)
    assert numbers.affected_users == 120.0
    assert "120 users" in numbers.explanation


@pytest.mark.parametrize("slo", [0.0, 1.0, 1.5, -0.1, float("nan")])
def test_an_slo_outside_zero_one_is_refused(slo):
    """The SLO must be strictly between 0 and 1."""
    with pytest.raises(InvalidInputError, match="strictly between 0 and 1"):
        impact_numbers(flat(0.01), slo=slo, at=AT, symptom_start=START)


def test_a_non_positive_window_is_refused():
    """A burn-rate window must be a positive number of seconds."""
    with pytest.raises(InvalidInputError, match="positive number of seconds"):
        impact_numbers(flat(0.01), slo=0.999, at=AT, symptom_start=START, windows=(0.0,))


def test_naive_instants_are_refused():
    """A naive ``at`` is rejected, never guessed."""
    with pytest.raises(NaiveDatetimeError):
        impact_numbers(flat(0.01), slo=0.999, at=dt.datetime(2026, 11, 20, 15), symptom_start=START)  # noqa: DTZ001


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ({"errors": [(T0, 0.1)]}, "errors must be a Series, not list"),
        ({"errors": None}, "errors must be a Series, not NoneType"),
        ({"traffic": {"q": 1.0}}, "traffic must be a Series, not dict"),
        ({"users": 120}, "users must be a Series, not int"),
        ({"windows": None}, "windows must be a sequence of seconds"),
        ({"windows": 300}, "windows must be a sequence of seconds"),
        ({"windows": ["300"]}, "a burn-rate window must be a positive number"),
        ({"share_of": ["requests"]}, "share_of must be 'requests' or 'time'"),
    ],
    ids=str,
)
def test_arguments_of_the_wrong_type_are_refused_by_name(arguments, match):
    """Pairs, None or a dict for a series, a bare number for windows: InvalidInputError."""
    call = {"errors": flat(0.01), "slo": 0.999, "at": AT, "symptom_start": START, **arguments}
    with pytest.raises(InvalidInputError, match=match):
        impact_numbers(**call)
