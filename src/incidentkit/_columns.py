"""A series' two columns: Unix seconds and values, as compact arrays of doubles.

:class:`~incidentkit.Series` keeps its samples as two ``array('d')``: the instants in
Unix seconds, strictly increasing, and the values with NaN for a gap. Building them
never makes an object per point on the common paths (numbers or numeric strings,
Unix seconds); every check an input needs is made with C-level passes (``map``,
``set``, searches in the columns' bytes), and only a malformed input falls back to a
per-point walk, which finds the first bad point and names it. Both read every
number alike (tests/test_series_fast_path.py holds them to it).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import operator
import sys
from array import array
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Final, Literal, NamedTuple, SupportsFloat, TypeAlias, cast

from incidentkit._errors import InvalidInputError
from incidentkit._time import to_instant

__all__ = [
    "DUPLICATES",
    "MAX_SECONDS",
    "MIN_SECONDS",
    "NAN",
    "Column",
    "Columns",
    "Duplicates",
    "Merged",
    "from_columns",
    "from_pairs",
    "increasing",
    "merged_columns",
    "merged_pairs",
    "microseconds",
]

NAN: Final = math.nan
MIN_SECONDS: Final = -62_135_596_800.0
"""0001-01-01T00:00:00Z, the earliest instant a datetime can hold."""
MAX_SECONDS: Final = 253_402_300_799.0
"""9999-12-31T23:59:59Z, the latest whole second a datetime can hold."""

if TYPE_CHECKING:
    Column: TypeAlias = array[float]
else:  # array is generic from Python 3.12 only; annotations are resolved at run time
    Column = array
"""A column of doubles."""

Columns: TypeAlias = tuple[Column, Column, int]
"""Instants (Unix seconds), values (NaN for a gap), and how many values were non-finite."""

Duplicates: TypeAlias = Literal["refuse", "first", "last", "mean"]
"""What to do with samples given at the same instant (see :meth:`Series.from_pairs`)."""
DUPLICATES: Final = ("refuse", "first", "last", "mean")


class Merged(NamedTuple):
    """How many instants were given more than once, and how many samples they held."""

    instants: int
    samples: int


_NUMBERS_OR_TEXT: Final = frozenset({float, int, str})
_FIRST = operator.itemgetter(0)
_SECOND = operator.itemgetter(1)


def microseconds(seconds: float) -> int:
    """Return an instant in Unix seconds as whole microseconds, the key two series match on."""
    return round(seconds * 1e6)


def increasing(times: Sequence[float]) -> bool:
    """Whether ``times`` is strictly increasing (one C-level pass)."""
    return all(map(operator.lt, times, itertools.islice(times, 1, None)))


def _instant_seconds(raw: object, position: int) -> float:
    """One instant as Unix seconds, with the error a bad one deserves.

    A number is what ``array("d")`` takes (an ``int``, a ``float``, numpy's scalars, a
    ``Decimal``), converted as it converts it, so that an instant is read the same
    whether the C-level pass or this walk reads it; a bool is not a number here.
    """
    if not isinstance(raw, bool | dt.datetime):
        try:
            seconds: float | None = array("d", [cast("float", raw)])[0]
        except OverflowError:
            seconds = math.inf
        except (TypeError, ValueError):
            seconds = None  # not a number: the conversion below says what it is
        if seconds is not None:
            if math.isfinite(seconds) and MIN_SECONDS <= seconds <= MAX_SECONDS:
                return seconds
            msg = f"sample {position}: {raw!r} is not a finite Unix time between years 1 and 9999"
            raise InvalidInputError(msg)
    # A datetime, or not an instant at all: the conversion's own checks say which.
    return to_instant(cast("dt.datetime | float", raw), what=f"sample {position}").timestamp()


def _value(raw: object, position: int) -> float:
    """One value as a float (NaN for a gap), with the error a bad one deserves.

    A number is anything ``float()`` takes but text: ``int``, ``float``, numpy's
    scalars, ``Decimal``; text must be a numeric string; a bool or bytes is refused.
    """
    if raw is None:
        return NAN
    refused = f"sample {position}: value must be a number, a numeric string or None, not {raw!r}"
    if isinstance(raw, bool | bytes | bytearray | memoryview):
        raise InvalidInputError(refused)
    try:
        return float(cast("SupportsFloat", raw))
    except ValueError:
        msg = f"sample {position}: value {raw!r} is not a number"
        raise InvalidInputError(msg) from None
    except TypeError:
        raise InvalidInputError(refused) from None
    except OverflowError:
        return math.inf  # an integer beyond a double's range: non-finite, so a gap


_BOOL_BYTES: Final = (array("d", [0.0]).tobytes(), array("d", [1.0]).tobytes())
"""The doubles ``array("d")`` makes of ``False`` and ``True``."""
_TOP_BYTE: Final = 7 if sys.byteorder == "little" else 0
"""Where a double's sign and its exponent's top seven bits are among its eight bytes."""


def _numbers(raw: Sequence[object]) -> Column | None:
    """``raw`` as doubles when every item is a number, else ``None``; one C-level pass.

    ``array("d")`` takes bools too (as 0.0 and 1.0): a caller that refuses them looks.
    """
    try:
        return array("d", cast("Sequence[float]", raw))
    except (TypeError, ValueError, OverflowError):  # text, None, a datetime, a huge integer
        return None


def _top_bytes(data: bytes) -> bytes:
    """The top byte of each double whose bytes are ``data``: its sign and top exponent bits."""
    return data[_TOP_BYTE::8]


def _surely_finite(top: bytes) -> bool:
    """Whether the doubles whose top bytes are ``top`` are all finite.

    A NaN or an infinity has every exponent bit set, so its top byte is 0x7F or 0xFF; a
    finite double has such a top byte only from 2**1009 up. When neither byte is among
    the top bytes (two searches of an eighth of the bytes, a tenth of a ``sum``), every
    value is finite; ``False`` only means "look closer".
    """
    return b"\x7f" not in top and b"\xff" not in top


def _maybe_bools(data: bytes, top: bytes) -> bool:
    """Whether a double among ``data`` may be a 0.0 or a 1.0, the only ones a bool makes.

    Each is searched for in all the bytes only when its top byte is among the top bytes
    (0.0's is rare in real values, 1.0's in counts above 2).
    """
    return any(
        pattern[_TOP_BYTE : _TOP_BYTE + 1] in top and pattern in data for pattern in _BOOL_BYTES
    )


def _times(raw: Sequence[object]) -> tuple[Column, bool]:
    """The instants column in Unix seconds, finite, and whether it is strictly increasing.

    Numbers are read in C-level passes. The order is checked on the doubles (two
    instants given as ``Decimal`` may be one double). Strictly increasing doubles are
    finite when the first and last are (a NaN fails every comparison). A bool can only
    make a 0.0 or a 1.0, so the items' types are looked at only when an instant is no
    later than 1 s after the epoch.
    """
    if not raw:
        return array("d"), True
    times = _numbers(raw)
    if times is not None:
        ordered = increasing(times)
        if (
            math.isfinite(times[0]) and math.isfinite(times[-1])
            if ordered
            else math.isfinite(sum(times))
        ):
            earliest = times[0] if ordered else min(times)
            if earliest > 1.0 or bool not in set(map(type, raw)):
                return times, ordered
    times = array("d", [_instant_seconds(value, i) for i, value in enumerate(raw)])
    return times, increasing(times)


def _values(raw: Sequence[object]) -> tuple[Column, int]:
    """The values column, every non-finite value a gap (NaN), and how many were not ``None``.

    Numbers are read in one C-level pass. ``array("d")`` takes bools, which can only make
    a 0.0 or a 1.0, so the items' types are looked at only when the column's bytes hold
    one. Numeric strings take one more pass; anything else is walked point by point, to
    name the first bad value.
    """
    values = _numbers(raw)
    if values is not None:
        data = values.tobytes()
        top = _top_bytes(data)
        if not (_maybe_bools(data, top) and bool in set(map(type, raw))):
            return (values, 0) if _surely_finite(top) else _finite(values, 0)
    elif set(map(type, raw)) <= _NUMBERS_OR_TEXT:
        try:
            return _finite(array("d", map(float, cast("Sequence[str]", raw))), 0)
        except (ValueError, OverflowError):
            pass  # the walk below names the first value that is not a number
    walked = array("d", [_value(value, i) for i, value in enumerate(raw)])
    return _finite(walked, sum(v is None for v in raw))


def _finite(values: Column, nones: int) -> tuple[Column, int]:
    """Turn every non-finite value into NaN (a gap); return them and how many were not ``None``."""
    if math.isfinite(sum(values)):
        return values, 0
    isfinite = math.isfinite
    bad = sum(1 for v in values if not isfinite(v))
    if bad == nones:  # only gaps, already NaN
        return values, 0
    return array("d", [v if isfinite(v) else NAN for v in values]), bad - nones


def _ordered(
    times: Column, values: Column, *, ordered: bool, duplicates: Duplicates = "refuse"
) -> tuple[Column, Column, Merged]:
    """Sort both columns by time (stably), then refuse or merge samples at one instant."""
    if ordered:
        return times, values, Merged(0, 0)
    order = sorted(range(len(times)), key=times.__getitem__)
    times = array("d", map(times.__getitem__, order))
    values = array("d", map(values.__getitem__, order))
    if increasing(times):
        return times, values, Merged(0, 0)
    if duplicates == "refuse":
        same = next(b for a, b in itertools.pairwise(times) if a == b)
        msg = (
            f"two samples at the same instant {to_instant(same)}: pass duplicates='first', "
            "'last' or 'mean' to keep one value per instant (e.g. for an export that repeats "
            "the hour a clock was set back)"
        )
        raise InvalidInputError(msg)
    return _merge(times, values, duplicates)


def _merge(times: Column, values: Column, duplicates: Duplicates) -> tuple[Column, Column, Merged]:
    """One sample per instant: the first, last or mean of the values given at it.

    The columns are sorted stably, so samples at one instant are in the order given. A
    gap never wins over a value: "first" is the first value given at that instant, and
    the instant is a gap only when every sample at it is.
    """
    out_times = array("d")
    out_values = array("d")
    instants = 0
    samples = 0
    n = len(times)
    i = 0
    while i < n:
        j = i + 1
        while j < n and times[j] == times[i]:
            j += 1
        if j - i == 1:
            out_times.append(times[i])
            out_values.append(values[i])
        else:
            instants += 1
            samples += j - i
            present = [v for v in values[i:j] if v == v]  # noqa: PLR0124 - NaN is a gap
            if not present:
                value = NAN
            elif duplicates == "first":
                value = present[0]
            elif duplicates == "last":
                value = present[-1]
            else:
                value = math.fsum(present) / len(present)
            out_times.append(times[i])
            out_values.append(value)
        i = j
    return out_times, out_values, Merged(instants, samples)


def from_pairs(pairs: Iterable[object]) -> Columns:
    """Build the columns from ``(instant, value)`` pairs, sorted by time.

    Raises:
        InvalidInputError: A pair is not a pair, an instant or a value is malformed,
            or two samples share an instant.
        NaiveDatetimeError: An instant is a naive datetime.
    """
    return merged_pairs(pairs, "refuse")[0]


def merged_pairs(pairs: Iterable[object], duplicates: Duplicates) -> tuple[Columns, Merged]:
    """:func:`from_pairs`, keeping one value per instant as ``duplicates`` says.

    Raises:
        InvalidInputError: As :func:`from_pairs`; with ``"refuse"``, two samples at
            one instant.
        NaiveDatetimeError: An instant is a naive datetime.
    """
    seq: Sequence[object] = pairs if isinstance(pairs, list | tuple) else list(pairs)
    try:  # every item two long (one C-level pass; counting beats a set of the lengths)
        well_formed = list(map(len, cast("Sequence[Sequence[object]]", seq))).count(2) == len(seq)
    except TypeError:
        well_formed = False
    if not well_formed:
        seq = [_pair(pair, position) for position, pair in enumerate(seq)]
    try:
        pair_seq = cast("Sequence[Sequence[object]]", seq)
        times, values = list(map(_FIRST, pair_seq)), list(map(_SECOND, pair_seq))
    except (LookupError, TypeError):  # a mapping or a set of two: unpack it as Python would
        pairs_ = [_pair(pair, position) for position, pair in enumerate(seq)]
        times, values = list(map(_FIRST, pairs_)), list(map(_SECOND, pairs_))
    return merged_columns(times, values, duplicates)


def _pair(value: object, position: int) -> tuple[object, object]:
    try:
        at, raw = cast("Iterable[object]", value)
    except (TypeError, ValueError):
        msg = f"sample {position}: expected an (instant, value) pair, got {value!r}"
        raise InvalidInputError(msg) from None
    return at, raw


def from_columns(times: Sequence[object], values: Sequence[object]) -> Columns:
    """Build the columns from a sequence of instants and one of values, sorted by time.

    Raises:
        InvalidInputError: The sequences differ in length, an instant or a value is
            malformed, or two samples share an instant.
        NaiveDatetimeError: An instant is a naive datetime.
    """
    return merged_columns(times, values, "refuse")[0]


def merged_columns(
    times: Sequence[object], values: Sequence[object], duplicates: Duplicates
) -> tuple[Columns, Merged]:
    """:func:`from_columns`, keeping one value per instant as ``duplicates`` says.

    Raises:
        InvalidInputError: As :func:`from_columns`; with ``"refuse"``, two samples at
            one instant; ``duplicates`` is not one of :data:`DUPLICATES`.
        NaiveDatetimeError: An instant is a naive datetime.
    """
    if duplicates not in DUPLICATES:
        msg = f"duplicates must be 'refuse', 'first', 'last' or 'mean', not {duplicates!r}"
        raise InvalidInputError(msg)
    if len(times) != len(values):
        msg = f"{len(times)} instants and {len(values)} values: each instant needs one value"
        raise InvalidInputError(msg)
    finite, non_finite = _values(values)
    time_column, ordered = _times(times)
    if time_column:  # out of range is named before two samples at one instant, as a walk would
        earliest, latest = (
            (time_column[0], time_column[-1]) if ordered else (min(time_column), max(time_column))
        )
        if not (earliest >= MIN_SECONDS and latest <= MAX_SECONDS):
            for position, raw in enumerate(times):  # name the first instant out of range
                _instant_seconds(raw, position)
    ordered_times, ordered_values, merged = _ordered(
        time_column, finite, ordered=ordered, duplicates=duplicates
    )
    return (ordered_times, ordered_values, non_finite), merged
