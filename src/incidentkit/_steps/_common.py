"""What every step shares: its outcome, gap findings, and the checks of its inputs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TypeVar, cast

import attrs
import pendulum

from incidentkit._errors import InvalidInputError
from incidentkit._events import Event, FindingRecorded
from incidentkit._limits import reduced_for_journal
from incidentkit._model import Actor, Finding, FindingKind, Series, Severity

__all__ = [
    "Now",
    "Outcome",
    "gap",
    "is_text",
    "journaled",
    "seconds",
    "severity",
    "sources",
    "text",
]

Now = Callable[[], pendulum.DateTime]
"""Where a step reads the time for each event it records."""

_T = TypeVar("_T")


@attrs.frozen
class Outcome:
    """What a step produced: the events to record in order, then an error to raise, if any.

    ``error`` is raised only after every event is recorded, so a failed
    rollback or an unmeasurable impact is in the journal before the caller
    hears of it.
    """

    events: tuple[Event, ...]
    error: BaseException | None = None


def gap(now: Now, actor: Actor, summary: str, detail: str) -> FindingRecorded:
    """Return a monitoring-gap finding stamped now."""
    return FindingRecorded(now(), actor, Finding(FindingKind.MONITORING_GAP, summary, detail))


def journaled(series: Series, now: Now, actor: Actor, findings: list[Event]) -> Series:
    """Return ``series`` as the journal keeps it (reduced past the limit), noting any reduction.

    A series longer than :data:`~incidentkit.MAX_JOURNALED_POINTS` is reduced to its
    extremes and gaps (see :mod:`incidentkit._limits`), and an observation finding saying
    what was reduced is appended to ``findings``.
    """
    kept, detail = reduced_for_journal(series)
    if detail:
        findings.append(
            FindingRecorded(
                now(),
                actor,
                Finding(FindingKind.OBSERVATION, "a series was reduced for the journal", detail),
            )
        )
    return kept


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
    """Return a positive duration in seconds, from seconds or a timedelta."""
    try:
        amount = value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
    except (TypeError, ValueError):
        amount = float("nan")
    if not amount > 0:
        msg = f"{what} must be a positive duration (seconds or a timedelta), not {value!r}"
        raise InvalidInputError(msg)
    return amount


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
