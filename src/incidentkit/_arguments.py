"""Checks of the arguments adapters take, shared by the in-memory and the real adapters.

Each raises :class:`~incidentkit.InvalidInputError` with the same message
wherever the same mistake is made.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import cast

import pendulum

from incidentkit._errors import InvalidInputError
from incidentkit._time import to_instant

__all__ = ["check_name", "check_timeout", "check_window", "service_filter"]


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
