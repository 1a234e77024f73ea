"""The columnar Series: building it from pairs and columns, its views, and what it refuses."""

from __future__ import annotations

import datetime as dt
import math
from array import array
from decimal import Decimal

import attrs
import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from incidentkit import InvalidInputError, MetricQuery, NaiveDatetimeError, Sample, Series
from incidentkit._events import get_converter as converter

QUERY = MetricQuery("prom", "errors", 0, 10_000, 15.0)
T0 = 1_763_647_200.0  # 2025-11-20T14:00:00Z


def reference(pairs: list[tuple[object, object]]) -> tuple[list[float], list[float | None], int]:
    """The series as the per-point implementation built it: instants, values, non-finite."""
    points: list[tuple[float, float | None]] = []
    non_finite = 0
    for at, raw in pairs:
        seconds = at.timestamp() if isinstance(at, dt.datetime) else float(at)  # type: ignore[arg-type]
        value = None if raw is None else float(raw)  # type: ignore[arg-type]
        if value is not None and not math.isfinite(value):
            value = None
            non_finite += 1
        points.append((seconds, value))
    points.sort(key=lambda p: p[0])
    return [p[0] for p in points], [p[1] for p in points], non_finite


def as_lists(series: Series) -> tuple[list[float], list[float | None], int]:
    """The series as plain lists: instants, values (None for a gap), non-finite."""
    values = [None if math.isnan(v) else v for v in series.values]
    return list(series.times), values, series.non_finite


def seconds(at: object) -> float:
    """Unix seconds of an instant given as a datetime or a number."""
    return at.timestamp() if isinstance(at, dt.datetime) else float(at)  # type: ignore[arg-type]


values_strategy = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**12), 10**12),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["NaN", "+Inf", "-Inf", "1e3"]),
)
instant_strategy = st.one_of(
    st.integers(0, 10**6).map(lambda i: T0 + i * 0.5),
    st.integers(0, 10**6).map(lambda i: int(T0) + i),
    st.integers(0, 10**6).map(
        lambda i: dt.datetime.fromtimestamp(T0 + i, tz=dt.timezone(dt.timedelta(hours=-5)))
    ),
)


@given(
    st.lists(st.tuples(instant_strategy, values_strategy), max_size=60).filter(
        lambda pairs: (
            len(
                {
                    (p[0].timestamp() if isinstance(p[0], dt.datetime) else float(p[0]))
                    for p in pairs
                }
            )
            == len(pairs)
        )
    )
)
def test_from_pairs_builds_what_the_per_point_implementation_built(pairs):
    """The one-pass build agrees with a point-by-point one on any mix of inputs."""
    series = Series.from_pairs(QUERY, pairs)
    assert as_lists(series) == reference(pairs)
    assert len(series) == len(pairs)
    assert series.gaps == sum(1 for v in reference(pairs)[1] if v is None)


def test_prometheus_matrix_values_go_straight_in():
    """A matrix answer ([seconds, "text"]) is read as is; NaN and +Inf become counted gaps."""
    matrix = [[T0 + 15 * i, str(0.001 * i)] for i in range(100)]
    matrix[7][1] = "NaN"
    matrix[8][1] = "+Inf"
    series = Series.from_pairs(QUERY, matrix)
    assert series.non_finite == 2
    assert series.gaps == 2
    assert series.values[9] == pytest.approx(0.009)
    assert series.samples[7] == Sample(pendulum.from_timestamp(T0 + 105), None)


def test_from_columns_takes_arrays_and_datetimes():
    """Two columns, as arrays of doubles or aware datetimes and values with None."""
    times = array("d", [T0, T0 + 15, T0 + 30])
    series = Series.from_columns(QUERY, times, array("d", [0.1, math.nan, 0.3]))
    assert list(series.times) == list(times)
    assert series.gaps == 1
    assert series.non_finite == 1  # a NaN given as a value is a non-finite value made a gap
    aware = [pendulum.from_timestamp(t) for t in times]
    assert Series.from_columns(QUERY, aware, [0.1, None, 0.3]).non_finite == 0
    assert Series.from_columns(QUERY, aware, [0.1, None, 0.3]).times.tolist() == list(times)


def test_the_samples_constructor_and_its_views_agree():
    """Series(query, samples) still works, and the Sample views give back what went in."""
    samples = (
        Sample(pendulum.from_timestamp(T0), 0.1),
        Sample(pendulum.from_timestamp(T0 + 15), None),
        Sample(pendulum.from_timestamp(T0 + 30), 0.3),
    )
    series = Series(QUERY, samples, 1, ("partial",))
    assert series.samples == samples
    assert series.present() == [(samples[0].at, 0.1), (samples[2].at, 0.3)]
    assert series.between(samples[1].at, samples[2].at) == (samples[1],)
    assert series.span(T0 + 1, T0 + 31) == (1, 3)
    rebuilt = Series.from_pairs(QUERY, [(s.at, s.value) for s in samples], warnings=["partial"])
    assert rebuilt != series  # non_finite differs: 1 as given, 0 counted from the pairs
    assert rebuilt == Series(QUERY, samples, 0, ("partial",))
    assert series.warnings == ("partial",)


def test_equal_series_compare_and_hash_equal_gaps_included():
    """Two series with the same gaps are equal (NaN is not compared as a float)."""
    pairs = [(T0, 0.1), (T0 + 15, None), (T0 + 30, math.nan)]
    one, two = Series.from_pairs(QUERY, pairs), Series.from_pairs(QUERY, list(pairs))
    assert one == two
    assert hash(one) == hash(two)
    assert one != Series.from_pairs(QUERY, [(T0, 0.1), (T0 + 15, 0.2), (T0 + 30, math.nan)])


def test_evolve_keeps_the_columns_and_checks_new_ones():
    """attrs.evolve works on a Series, and new columns go through the checks."""
    series = Series.from_pairs(QUERY, [(T0, 0.1), (T0 + 15, None)])
    assert attrs.evolve(series, warnings=("w",)).times.tolist() == series.times.tolist()
    moved = attrs.evolve(series, times=[T0 + 1, T0 + 16])
    assert moved.times.tolist() == [T0 + 1, T0 + 16]
    with pytest.raises(InvalidInputError, match="either samples, or both times and values"):
        Series(QUERY, times=[T0])


def test_the_columns_are_read_only_and_the_repr_is_short():
    """A frozen series cannot be changed through its columns; its repr does not list points."""
    series = Series.from_pairs(QUERY, [(T0 + i, float(i)) for i in range(100_000)])
    with pytest.raises(TypeError):
        series.values[0] = 1.0  # type: ignore[index]
    assert "points=100000" in repr(series)
    assert len(repr(series)) < 400


@pytest.mark.parametrize(
    ("pairs", "error", "match"),
    [
        ([(T0, 1.0), (T0, 2.0)], InvalidInputError, "same instant"),
        ([(T0, 1.0), (T0 + 1, 2.0), (T0, 3.0)], InvalidInputError, "same instant"),
        ([(dt.datetime(2025, 1, 1), 1.0)], NaiveDatetimeError, "naive"),  # noqa: DTZ001
        ([(T0, True)], InvalidInputError, "sample 0: value must be a number"),
        ([(T0, 1.0), (True, 1.0)], InvalidInputError, "sample 1"),
        ([(T0, b"1")], InvalidInputError, "sample 0: value must be a number"),
        ([(T0, "one")], InvalidInputError, "sample 0: value 'one' is not a number"),
        ([(T0, 1.0), (T0 + 1, 1.0, 2.0)], InvalidInputError, "sample 1: expected an"),
        ([(T0,)], InvalidInputError, "sample 0: expected an"),
        ([7], InvalidInputError, "sample 0: expected an"),
        ([(math.nan, 1.0)], InvalidInputError, "sample 0"),
        ([(math.inf, 1.0)], InvalidInputError, "sample 0"),
        ([(1e300, 1.0)], InvalidInputError, "sample 0"),
        ([(T0, 1.0), (10**400, 1.0)], InvalidInputError, "sample 1"),
        ([("2025-01-01", 1.0)], InvalidInputError, "sample 0"),
        # Two instants one double apart only as Decimals: one instant as a series holds it.
        (
            [(Decimal("1763647200.0000000001"), 1.0), (Decimal("1763647200.0000000002"), 2.0)],
            InvalidInputError,
            "same instant",
        ),
        ([(T0, 0.5), (T0 + 1, False)], InvalidInputError, "sample 1: value must be a number"),
        ([(T0, 0.0), (T0 + 1, 1), (T0 + 2, True)], InvalidInputError, "sample 2: value must"),
    ],
)
def test_bad_pairs_get_a_clear_error(pairs, error, match):
    """Every malformed input gets an error naming the sample and what is wrong."""
    with pytest.raises(error, match=match):
        Series.from_pairs(QUERY, pairs)


def test_a_huge_integer_value_is_a_non_finite_gap():
    """An integer beyond a double is non-finite: a counted gap, as an infinity is."""
    series = Series.from_pairs(QUERY, [(T0, 10**400), (T0 + 1, 1)])
    assert series.non_finite == 1
    assert series.gaps == 1


def test_columns_of_different_lengths_are_refused():
    """Each instant needs one value."""
    with pytest.raises(InvalidInputError, match="2 instants and 1 values"):
        Series.from_columns(QUERY, [T0, T0 + 1], [1.0])


def test_a_generator_of_pairs_and_pairs_of_any_iterable_work():
    """Pairs may come from a generator, and a pair may be any iterable of two."""
    series = Series.from_pairs(QUERY, ((T0 + i, i) for i in range(3)))
    assert series.values.tolist() == [0.0, 1.0, 2.0]
    assert Series.from_pairs(QUERY, [iter((T0, 1.0))]).values.tolist() == [1.0]


def test_the_journal_form_is_unchanged_and_round_trips():
    """The journal still stores [[seconds, value or null], ...], and reads it back equal."""
    series = Series.from_pairs(QUERY, [(T0, 0.1), (T0 + 15, None), (T0 + 30, math.inf)])
    body = converter().unstructure(series)
    assert body["samples"] == [[T0, 0.1], [T0 + 15, None], [T0 + 30, None]]
    assert body["non_finite"] == 1
    assert converter().structure(body, Series) == series


# -- duplicate instants (opt-in) ----------------------------------------------------------


REPEATED = [(T0, 1.0), (T0 + 15, 2.0), (T0 + 15, 4.0), (T0 + 30, None), (T0 + 15, 9.0)]
"""Three samples at T0 + 15 (given second, third and last), as a repeated hour exports them."""


@pytest.mark.parametrize(("duplicates", "kept"), [("first", 2.0), ("last", 9.0), ("mean", 5.0)])
def test_duplicate_instants_are_merged_when_asked(duplicates, kept):
    """With ``duplicates=``, one value per instant is kept and a warning tells how many."""
    series = Series.from_pairs(QUERY, REPEATED, warnings=["partial"], duplicates=duplicates)
    assert series.times.tolist() == [T0, T0 + 15, T0 + 30]
    assert as_lists(series)[1] == [1.0, kept, None]
    assert series.warnings[0] == "partial"
    assert len(series.warnings) == 2
    assert "1 instant was given more than once (3 samples in all)" in series.warnings[1]
    assert repr(duplicates) in series.warnings[1]
    same = Series.from_columns(
        QUERY, [t for t, _ in REPEATED], [v for _, v in REPEATED], duplicates=duplicates
    )
    assert as_lists(same) == as_lists(series)
    assert same.warnings == series.warnings[1:]


def test_a_gap_never_wins_over_a_value_at_a_repeated_instant():
    """A gap given first (or last) at an instant does not hide the value given with it."""
    pairs = [(T0, None), (T0, 3.0), (T0 + 1, 1.0), (T0 + 1, None), (T0 + 2, None), (T0 + 2, None)]
    for duplicates in ("first", "last", "mean"):
        series = Series.from_pairs(QUERY, pairs, duplicates=duplicates)
        assert as_lists(series)[1] == [3.0, 1.0, None], duplicates
        assert "3 instants were given more than once (6 samples in all)" in series.warnings[0]


def test_without_duplicates_nothing_is_added_to_the_warnings():
    """A series without a repeated instant gets no warning, whatever ``duplicates`` says."""
    series = Series.from_pairs(QUERY, [(T0 + 1, 1.0), (T0, 2.0)], duplicates="mean")
    assert series.warnings == ()
    assert series.values.tolist() == [2.0, 1.0]


def test_duplicates_are_refused_by_default_with_the_way_out_named():
    """The default still refuses, and the message names the opt-in."""
    with pytest.raises(InvalidInputError, match="duplicates='first', 'last' or 'mean'"):
        Series.from_pairs(QUERY, REPEATED)
    with pytest.raises(InvalidInputError, match="same instant"):
        Series.from_columns(QUERY, [T0, T0], [1.0, 2.0], duplicates="refuse")


def test_an_unknown_duplicates_choice_is_refused():
    """Only the four choices are accepted."""
    with pytest.raises(InvalidInputError, match="duplicates must be"):
        Series.from_pairs(QUERY, REPEATED, duplicates="max")  # type: ignore[arg-type]


# -- hostile arguments to the model and the time helpers ----------------------------------


@pytest.mark.parametrize("step", ["60", None, [60.0], pytest.param(10**400, id="10**400")])
def test_a_query_step_that_is_not_a_number_is_refused(step: object) -> None:
    """The step is checked as a number, not handed to math.isfinite to raise TypeError."""
    with pytest.raises(InvalidInputError, match="step must be a positive number"):
        MetricQuery("prom", "errors", 0, 10_000, step)  # type: ignore[arg-type]


def test_an_integer_too_large_for_a_float_is_refused_as_an_instant_or_a_value() -> None:
    """10**400 is out of range as Unix seconds and as a sample's value: no OverflowError."""
    from incidentkit import to_instant  # noqa: PLC0415 - this test only

    with pytest.raises(InvalidInputError, match="401 digits of Unix seconds"):
        to_instant(10**400, what="start")
    with pytest.raises(InvalidInputError, match="digits of Unix seconds"):
        MetricQuery("prom", "errors", 10**400, 10**401, 60.0)
    with pytest.raises(InvalidInputError, match="finite number"):
        Sample(0, 10**400)


@pytest.mark.parametrize("value", [None, 7, ["x"], b"x"])
def test_text_fields_that_are_not_strings_are_refused_by_name(value: object) -> None:
    """An Actor's name, a Change's id or an Evidence's ref of the wrong type names the field."""
    from incidentkit import Actor, Change, ChangeKind, Evidence, Figure  # noqa: PLC0415

    with pytest.raises(InvalidInputError, match="name must be a non-empty string"):
        Actor(value)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="id must be a non-empty string"):
        Change(value, ChangeKind.DEPLOY, "checkout", 0)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="ref must be a non-empty string"):
        Evidence.text(value)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="must be a finite number"):
        Figure("users", str(value))  # type: ignore[arg-type]


def test_format_and_parse_instant_refuse_what_is_not_an_instant() -> None:
    """A string to format, a number to parse, a naive datetime: the library's own errors."""
    from incidentkit import format_instant, parse_instant  # noqa: PLC0415 - this test only

    with pytest.raises(InvalidInputError, match="format_instant needs an aware datetime"):
        format_instant("2026-11-20T12:00:00Z")  # type: ignore[arg-type]
    with pytest.raises(NaiveDatetimeError):
        format_instant(dt.datetime(2026, 11, 20, 12, 0))  # type: ignore[arg-type]  # noqa: DTZ001
    with pytest.raises(InvalidInputError, match="parse_instant needs ISO 8601 text"):
        parse_instant(1_700_000_000)  # type: ignore[arg-type]


def test_format_instant_writes_an_instant_in_another_zone_in_utc() -> None:
    """12:00 in Paris is 11:00Z, not 12:00Z."""
    from incidentkit import format_instant  # noqa: PLC0415 - this test only

    paris = pendulum.datetime(2026, 1, 1, 12, tz="Europe/Paris")
    assert format_instant(paris) == "2026-01-01T11:00:00.000000Z"  # type: ignore[arg-type]
    aware = dt.datetime(2026, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert format_instant(aware) == "2026-01-01T17:00:00.000000Z"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seconds", "minutes"), [("5", 0.0), (None, 0.0), (0.0, [1]), (1e308, 0.0)]
)
def test_a_manual_clock_refuses_a_step_that_is_not_a_finite_number(
    seconds: object, minutes: object
) -> None:
    """advance() with a string, None, a list or a step out of range: InvalidInputError."""
    from incidentkit import ManualClock  # noqa: PLC0415 - this test only

    clock = ManualClock(0)
    with pytest.raises(InvalidInputError, match="advance"):
        clock.advance(seconds, minutes=minutes)  # type: ignore[arg-type]
    assert clock.now().timestamp() == 0
