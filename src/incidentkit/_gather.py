"""Calling adapters safely: a failure or a malformed answer becomes a recorded gap.

No adapter can end an incident. Every call goes through these helpers, which
catch what the adapter raises (any exception: adapters are third-party code),
check the shape of what it returns, and hand back either the result or a
plain-words error for the journal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar, cast

import attrs

from incidentkit._errors import SourceError
from incidentkit._model import Change, ChangeKind, RollbackOption, RollbackResult, Series

__all__ = ["call_adapter", "checked_changes", "checked_options", "checked_result", "checked_series"]

T = TypeVar("T")


def call_adapter(name: str, what: str, call: Callable[[], T]) -> tuple[T | None, str]:
    """Run ``call`` and return ``(result, "")`` or ``(None, why it failed)``."""
    try:
        return call(), ""
    except SourceError as exc:
        return None, f"{name}: {what} failed: {exc}"
    except Exception as exc:  # noqa: BLE001 - an adapter must never end the incident
        return None, f"{name}: {what} raised {type(exc).__name__}: {exc}"


def checked_changes(
    name: str, answer: object, kinds: frozenset[ChangeKind]
) -> tuple[list[Change], str]:
    """Check that ``answer`` is a sequence of :class:`Change` of the expected kinds."""
    if isinstance(answer, (str, bytes)) or not isinstance(answer, Sequence):
        return [], f"{name}: answered {type(answer).__name__}, not a sequence of Change records"
    changes: list[Change] = []
    for position, item in enumerate(cast("Sequence[object]", answer)):
        if not isinstance(item, Change):
            return [], (f"{name}: item {position} is {type(item).__name__}, not a Change record")
        if item.kind not in kinds:
            expected = ", ".join(sorted(k.value for k in kinds))
            return [], f"{name}: change {item.id!r} is of kind {item.kind.value}, not {expected}"
        changes.append(item if item.source else attrs.evolve(item, source=name))
    return changes, ""


def checked_series(name: str, answer: object) -> tuple[Series | None, str]:
    """Check that ``answer`` is a :class:`Series`."""
    if not isinstance(answer, Series):
        return None, f"{name}: answered {type(answer).__name__}, not a Series"
    return answer, ""


def checked_options(name: str, answer: object) -> tuple[list[RollbackOption], str]:
    """Check that ``answer`` is a sequence of :class:`RollbackOption`."""
    if isinstance(answer, (str, bytes)) or not isinstance(answer, Sequence):
        return [], f"{name}: answered {type(answer).__name__}, not a sequence of RollbackOption"
    options: list[RollbackOption] = []
    for position, item in enumerate(cast("Sequence[object]", answer)):
        if not isinstance(item, RollbackOption):
            return [], (f"{name}: item {position} is {type(item).__name__}, not a RollbackOption")
        options.append(item)
    return options, ""


def checked_result(name: str, answer: object) -> tuple[RollbackResult | None, str]:
    """Check that ``answer`` is a :class:`RollbackResult`."""
    if not isinstance(answer, RollbackResult):
        return None, f"{name}: answered {type(answer).__name__}, not a RollbackResult"
    return answer, ""
