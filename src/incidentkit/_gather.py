"""Calling adapters safely: a failure or a malformed answer becomes a recorded gap.

No adapter can end an incident. Every call goes through these helpers, which
catch what the adapter raises (any exception: adapters are third-party code),
check the shape of what it returns, and hand back either the result or a
plain-words error for the journal.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar, cast

import attrs

from incidentkit._errors import SourceError
from incidentkit._model import Change, ChangeKind, RollbackOption, RollbackResult, Series

__all__ = [
    "Answer",
    "adapter_name",
    "call_adapter",
    "call_concurrently",
    "checked_changes",
    "checked_options",
    "checked_result",
    "checked_series",
]

T = TypeVar("T")


def adapter_name(adapter: object) -> str:
    """Return the adapter's ``name``, or a stand-in when it has none that is a string.

    A third-party adapter whose ``name`` is missing, raises or is not a
    non-empty string must not end the incident: it is named after its type.
    """
    try:
        name: object = getattr(adapter, "name", None)
    except Exception:  # noqa: BLE001 - a property of third-party code may raise anything
        name = None
    if isinstance(name, str) and name:
        return name
    return f"<{type(adapter).__name__} with no usable name>"


def unprefixed(name: str, message: object) -> str:
    """Return ``message`` without the adapter's own name in front, so that it is said once.

    Adapters start their error messages with their name (``prom: connection
    refused``); the protocol's messages name the adapter themselves.
    """
    text = str(message)
    prefix = f"{name}: "
    while prefix.strip() and text.startswith(prefix):
        text = text[len(prefix) :]
    return text


def call_adapter(name: str, what: str, call: Callable[[], T]) -> tuple[T | None, str]:
    """Run ``call`` and return ``(result, "")`` or ``(None, why it failed)``."""
    try:
        return call(), ""
    except SourceError as exc:
        return None, f"{name}: {what} failed: {unprefixed(name, exc)}"
    except Exception as exc:  # noqa: BLE001 - an adapter must never end the incident
        return None, f"{name}: {what} raised {type(exc).__name__}: {unprefixed(name, exc)}"


class Answer(Generic[T]):
    """What one adapter call of a concurrent batch came back with, and how long it took.

    A plain class, not an attrs one: it never leaves this module's callers, and
    ``import incidentkit`` should not pay for building another attrs class.
    """

    __slots__ = ("error", "result", "seconds")

    def __init__(self, result: T | None, error: str, seconds: float) -> None:
        self.result = result
        self.error = error
        self.seconds = seconds


def call_concurrently(
    calls: Sequence[tuple[str, str, Callable[[], T]]], timeout: float
) -> list[Answer[T]]:
    """Run every call at once, each in its own thread, and wait at most ``timeout`` seconds.

    The batch takes about as long as its slowest call, not the sum. A call
    that has not answered by the deadline is abandoned: its answer is an
    error saying so, and its thread (a daemon, so that a hung adapter cannot
    keep the process alive) is left to finish or hang on its own; whatever
    it returns later is dropped. Errors are :func:`call_adapter`'s.

    Args:
        calls: ``(adapter name, what is asked, call)`` triples.
        timeout: Seconds each call may take; all calls start together, so
            this is also the most the whole batch takes.

    Returns:
        One answer per call, in the order of ``calls``.
    """
    answers: list[Answer[T] | None] = [None] * len(calls)
    started = time.monotonic()

    def run(index: int, name: str, what: str, call: Callable[[], T]) -> None:
        try:
            result, error = call_adapter(name, what, call)
        except BaseException as exc:  # noqa: BLE001 - SystemExit in a thread: still an answer
            result, error = None, f"{name}: {what} raised {type(exc).__name__}: {exc}"
        answers[index] = Answer(result, error, time.monotonic() - started)

    threads = [
        threading.Thread(
            target=run, args=(i, name, what, call), name=f"incidentkit-{name}", daemon=True
        )
        for i, (name, what, call) in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    deadline = started + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    out: list[Answer[T]] = []
    for (name, what, _call), answer in zip(calls, answers, strict=True):
        if answer is not None:
            out.append(answer)
            continue
        error = (
            f"{name}: {what} did not answer within {timeout:g} s; the source is "
            "too slow or hung (raise the timeout, or check the source)"
        )
        out.append(Answer(None, error, timeout))
    return out


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
