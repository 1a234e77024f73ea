"""Checks of the arguments adapters and steps take, shared wherever they are taken.

Each raises :class:`~incidentkit.InvalidInputError` with the same message
wherever the same mistake is made. This module loads with ``import incidentkit``:
it holds no classes and imports nothing the package does not load anyway.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from typing import TypeVar, cast

import pendulum

from incidentkit._errors import InvalidInputError
from incidentkit._model import Severity
from incidentkit._time import to_instant

__all__ = [
    "check_name",
    "check_timeout",
    "check_window",
    "is_text",
    "items",
    "names",
    "reach_back",
    "seconds",
    "service_filter",
    "severity",
    "sources",
    "text",
]

_T = TypeVar("_T")


def check_name(name: object) -> str:
    """Return ``name`` if it is a non-empty string, as every adapter's name must be."""
    if not isinstance(name, str) or not name.strip():
        msg = f"an adapter's name must be a non-empty string, not {name!r}"
        raise InvalidInputError(msg)
    return name


def check_timeout(timeout: float) -> float:
    """Return ``timeout`` as a float if it is a positive number of seconds."""
    value = cast("object", timeout)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        msg = f"timeout must be a positive number of seconds, not {timeout!r}"
        raise InvalidInputError(msg)
    return float(timeout)


def check_window(
    start: dt.datetime, end: dt.datetime, *, name: str
) -> tuple[pendulum.DateTime, pendulum.DateTime]:
    """Return the window as UTC instants; refuse naive instants and a reversed window."""
    first = to_instant(start, what="start")
    last = to_instant(end, what="end")
    if last < first:
        msg = f"{name}: the window ends ({last}) before it starts ({first})"
        raise InvalidInputError(msg)
    return first, last


def service_filter(services: Sequence[str] | None) -> frozenset[str] | None:
    """Return the wanted services as a set (a lone string is one service), or ``None`` for all."""
    if services is None:
        return None
    if isinstance(services, str):
        return frozenset({services})
    return frozenset(services)


def names(value: Sequence[str] | str, what: str) -> tuple[str, ...]:
    """Return service, region or segment names as a tuple (a lone string is one name)."""
    given = cast("object", (value,) if isinstance(value, str) else value)
    if isinstance(given, bytes) or not isinstance(given, Iterable):
        msg = f"{what} must be a name or a list of names, not {type(given).__name__} {given!r:.60}"
        raise InvalidInputError(msg)
    out = tuple(cast("Iterable[object]", given))
    for item in out:
        if not is_text(item):
            msg = f"{what} must hold non-empty strings, not {type(item).__name__} {item!r:.60}"
            raise InvalidInputError(msg)
    return cast("tuple[str, ...]", out)


def items(value: Iterable[_T], what: str, kind: type[_T]) -> tuple[_T, ...]:
    """Return ``value`` as a tuple if it is a collection of ``kind``; refuse it otherwise."""
    given = cast("object", value)
    if isinstance(given, (str, bytes, kind)) or not isinstance(given, Iterable):
        msg = f"{what} must be a list of {kind.__name__}, not {type(given).__name__} {given!r:.60}"
        raise InvalidInputError(msg)
    out = tuple(cast("Iterable[object]", given))
    for position, item in enumerate(out):
        if not isinstance(item, kind):
            msg = f"{what}[{position}] must be a {kind.__name__}, not {type(item).__name__}"
            raise InvalidInputError(msg)
    return cast("tuple[_T, ...]", out)


def is_text(value: object) -> bool:
    """Whether ``value`` is a string with something in it (untyped callers pass anything)."""
    return isinstance(value, str) and bool(value.strip())


def text(value: str, what: str) -> str:
    """Return ``value`` if it is a non-empty string; refuse it otherwise."""
    if not is_text(value):
        msg = f"{what} must be a non-empty string, not {value!r}"
        raise InvalidInputError(msg)
    return value


def seconds(value: float | dt.timedelta, what: str) -> float:
    """Return a positive finite duration in seconds, from seconds or a timedelta."""
    try:
        amount = value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
    except (TypeError, ValueError, OverflowError):
        amount = float("nan")
    if not (amount > 0 and math.isfinite(amount)):
        msg = f"{what} must be a positive duration (seconds or a timedelta), not {value!r:.60}"
        raise InvalidInputError(msg)
    return amount


def reach_back(instant: pendulum.DateTime, amount: float, what: str) -> pendulum.DateTime:
    """Return ``amount`` seconds before ``instant``; refuse a reach before the year 1."""
    try:
        return instant.subtract(seconds=amount)
    except (OverflowError, ValueError):
        msg = f"{what} of {amount:g} s reaches back before the year 1 from {instant}"
        raise InvalidInputError(msg) from None


def severity(value: Severity | str) -> Severity:
    """Return ``value`` as a :class:`Severity`: ``"sev2"`` and ``"SEV2"`` are accepted."""
    if isinstance(value, Severity):
        return value
    if isinstance(value, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        try:
            return Severity(value.strip().lower())
        except ValueError:
            pass
    names = ", ".join(repr(s.value) for s in Severity)
    msg = f"severity must be a Severity (Severity.SEV1 ...) or one of {names}, not {value!r}"
    raise InvalidInputError(msg)


def sources(value: Sequence[_T] | _T, what: str, method: str) -> list[_T]:
    """Return the adapters given as a sequence, or a single adapter, as a list.

    A single source passed where a list is expected (``deploys=src``) is
    accepted; anything that is neither an adapter with ``method`` nor a
    sequence of them is refused with a message naming the argument.
    """
    given = cast("object", value)
    if hasattr(given, method):
        return [cast("_T", given)]
    if isinstance(given, (str, bytes)) or not isinstance(given, Sequence):
        msg = (
            f"{what} must be a list of adapters with a {method}() method (or a single one), "
            f"not {type(given).__name__}"
        )
        raise InvalidInputError(msg)
    items = [cast("_T", item) for item in cast("Sequence[object]", given)]
    for item in items:
        if not hasattr(item, method):
            msg = (
                f"{what} must be adapters with a {method}() method; {type(item).__name__} has none"
            )
            raise InvalidInputError(msg)
    return items
