"""The C-level passes that build a series agree with a point-by-point walk, errors included."""

from __future__ import annotations

import datetime as dt
import math
from array import array
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from incidentkit import InvalidInputError, MetricQuery, Series
from incidentkit import _columns as columns
from incidentkit._model import _with_merged, columnar

QUERY = MetricQuery("prom", "errors", 0, 10_000, 15.0)
T0 = 1_763_647_200.0  # 2025-11-20T14:00:00Z
UTC_MINUS_5 = dt.timezone(dt.timedelta(hours=-5))


def walked(
    times: list[object], values: list[object], duplicates: columns.Duplicates
) -> tuple[columns.Columns, columns.Merged]:
    """The general path: every value, then every instant, read one by one with its own checks."""
    column = array("d", [columns._value(raw, i) for i, raw in enumerate(values)])
    finite, non_finite = columns._finite(column, sum(raw is None for raw in values))
    seconds = array("d", [columns._instant_seconds(raw, i) for i, raw in enumerate(times)])
    ordered_times, ordered_values, merged = columns._ordered(
        seconds, finite, ordered=columns.increasing(seconds), duplicates=duplicates
    )
    return (ordered_times, ordered_values, non_finite), merged


def walked_pairs(
    pairs: list[object], duplicates: columns.Duplicates
) -> tuple[columns.Columns, columns.Merged]:
    """The general path for pairs: each unpacked as Python would, then :func:`walked`."""
    unpacked = [columns._pair(pair, i) for i, pair in enumerate(pairs)]
    return walked([t for t, _ in unpacked], [v for _, v in unpacked], duplicates)


def outcome(build: object) -> tuple[object, ...]:
    """What a build gave: the series' exact bytes, its count and warnings, or the error raised."""
    try:
        series = build()  # type: ignore[operator]
    except Exception as error:  # noqa: BLE001 - the error is the outcome compared
        return (type(error), str(error))
    return (
        series.times.tobytes(),
        series.values.tobytes(),
        series.non_finite,
        series.warnings,
    )


def reference(built: object, duplicates: columns.Duplicates) -> Series:
    """The series :meth:`Series.from_pairs` makes of walked columns."""
    columns_, merged = built  # type: ignore[misc]
    return columnar(Series, QUERY, columns_, _with_merged(("given",), merged, duplicates))


near = st.integers(0, 6).map(lambda i: T0 + 15 * i)  # few instants: duplicates and disorder
instants = st.one_of(
    near,
    near.map(int),
    near.map(lambda s: dt.datetime.fromtimestamp(s, tz=UTC_MINUS_5)),
    st.just(dt.datetime(2025, 11, 20, 14)),  # noqa: DTZ001 - naive, refused
    st.floats(),  # NaN, infinities, out of range, negative
    st.integers(-(10**20), 10**20),
    st.booleans(),
    st.sampled_from([0.0, 1.0, -0.0, Decimal("1763647200.0000000001"), "1763647200", None]),
)
value_items = st.one_of(
    st.floats(),
    st.integers(-(10**400), 10**400),
    st.booleans(),
    st.none(),
    st.sampled_from([0.0, 1.0, -0.0, 1e308, -1e308, 2.0**1010]),
    st.floats(allow_nan=False).map(repr),
    st.sampled_from(["NaN", "+Inf", "-Inf", "1e3", "one", b"1", Decimal("0.5")]),
)
pair_items = st.one_of(
    st.tuples(instants, value_items),
    st.tuples(instants, value_items).map(list),
    st.tuples(instants),  # one item: refused
    st.tuples(instants, value_items, value_items),  # three items: refused
)
all_numbers = st.lists(
    st.tuples(near, st.floats(allow_nan=True, allow_infinity=True)), max_size=40
)  # the fast path's own inputs, unsorted, with duplicates, NaN and infinities
duplicates_choice = st.sampled_from(columns.DUPLICATES)


@given(st.one_of(st.lists(pair_items, max_size=30), all_numbers), duplicates_choice)
def test_from_pairs_is_the_walk_on_any_input(pairs, duplicates):
    """Times, values, counts, warnings and errors are those of a point-by-point walk."""
    built = outcome(
        lambda: Series.from_pairs(QUERY, pairs, warnings=("given",), duplicates=duplicates)
    )
    walked_ = outcome(lambda: reference(walked_pairs(pairs, duplicates), duplicates))
    assert built == walked_


@given(  # sorted by repr: runs of one type, often in time order, as well as the rest
    st.lists(st.tuples(instants, value_items), max_size=30).map(lambda p: sorted(p, key=repr)),
    duplicates_choice,
)
def test_from_columns_is_the_walk_on_any_input(pairs, duplicates):
    """From two sequences too, the C-level passes give what the walk gives."""
    times = [t for t, _ in pairs]
    values = [v for _, v in pairs]
    built = outcome(
        lambda: Series.from_columns(
            QUERY, times, values, warnings=("given",), duplicates=duplicates
        )
    )
    walked_ = outcome(lambda: reference(walked(times, values, duplicates), duplicates))
    assert built == walked_


@given(st.lists(st.floats(), min_size=1, max_size=50))
def test_the_top_byte_screen_never_calls_a_non_finite_value_finite(values):
    """``_surely_finite`` is True only when every double is finite."""
    data = array("d", values).tobytes()
    if columns._surely_finite(columns._top_bytes(data)):
        assert all(map(math.isfinite, values))


@given(st.lists(st.one_of(st.floats(), st.sampled_from([0.0, 1.0, -0.0])), max_size=50))
def test_the_bool_screen_never_misses_a_zero_or_a_one(values):
    """``_maybe_bools`` is True whenever a value is 0.0 or 1.0 (what False and True make)."""
    data = array("d", values).tobytes()
    if any(v == 1.0 or (v == 0.0 and math.copysign(1.0, v) > 0) for v in values):
        assert columns._maybe_bools(data, columns._top_bytes(data))


def test_the_fast_path_refuses_what_the_walk_refuses():
    """A bool among numbers, and pairs of three and one that make up two each, are refused."""
    for pairs in (
        [(T0, 0.5), (T0 + 1, True)],
        [(T0, 0.5, 7.0), (T0 + 1,)],
        [(T0, 1.0), (True, 2.0)],
        [(1e20, 1.0), (1e20, 2.0)],  # out of range is named before "same instant"
    ):
        built = outcome(lambda pairs=pairs: Series.from_pairs(QUERY, pairs))
        assert built[0] is InvalidInputError
        assert built == outcome(lambda pairs=pairs: walked_pairs(pairs, "refuse"))


def test_a_numeric_instant_is_read_alike_beside_a_datetime():
    """A ``Decimal`` instant is Unix seconds whether or not a datetime beside it forces the walk."""
    aware = dt.datetime.fromtimestamp(T0 + 15, tz=UTC_MINUS_5)
    alone = Series.from_pairs(QUERY, [(Decimal(T0), 1.0)])
    beside = Series.from_pairs(QUERY, [(Decimal(T0), 1.0), (aware, 2.0)])
    assert alone.times.tolist() == [T0]
    assert beside.times.tolist() == [T0, T0 + 15]
    assert outcome(lambda: beside) == outcome(
        lambda: reference_plain(walked_pairs([(Decimal(T0), 1.0), (aware, 2.0)], "refuse"))
    )


def reference_plain(built: tuple[columns.Columns, columns.Merged]) -> Series:
    """The series :meth:`Series.from_pairs` makes of walked columns, without warnings."""
    return columnar(Series, QUERY, built[0])
