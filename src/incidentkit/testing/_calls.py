"""Calling an adapter under a deadline, and keeping every text it produced for the secrets check."""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from incidentkit._events import get_converter
from incidentkit._redact import mask_secrets

__all__ = ["Outcome", "Runner", "describe", "raised_in", "redact", "safe_repr", "safe_str"]

T = TypeVar("T")

_CHAIN_DEPTH = 8


def safe_str(value: object) -> str:
    """Return ``str(value)``, or a placeholder when ``__str__`` itself fails."""
    try:
        return str(value)
    except Exception as exc:  # noqa: BLE001 - adapters are third-party code
        return f"<str() raised {type(exc).__name__}>"


def safe_repr(value: object) -> str:
    """Return ``repr(value)``, or a placeholder when ``__repr__`` itself fails."""
    try:
        return repr(value)
    except Exception as exc:  # noqa: BLE001 - adapters are third-party code
        return f"<repr() raised {type(exc).__name__}>"


def describe(exc: BaseException) -> str:
    """Return ``"TypeName: message"`` for an exception."""
    message = safe_str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def raised_in(exc: BaseException, function: str) -> bool:
    """Return whether ``exc`` was raised (innermost frame) by a function of that name."""
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and frames[-1].name == function


def redact(text: str, secrets: Sequence[str]) -> str:
    """Replace each secret in ``text``, in any of its forms, by ``<secret #n>`` (counted from 1).

    The forms are those :func:`incidentkit._redact.secret_forms` names (URL-encoded,
    escaped, base64), replaced in one pass, longest first.
    """
    return mask_secrets(text, secrets, mask=lambda position: f"<secret #{position + 1}>")


def _exception_texts(exc: BaseException) -> str:
    """Return the messages and reprs of an exception and of the ones it chains to."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < _CHAIN_DEPTH:
        seen.add(id(current))
        parts.extend((safe_str(current), safe_repr(current)))
        parts.extend(safe_repr(arg) for arg in current.args)
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


def _value_texts(value: object) -> str:
    """Return what a value could become in a journal: its repr and its unstructured form."""
    parts = [safe_repr(value)]
    # A value the converter cannot handle keeps its repr.
    with contextlib.suppress(Exception):
        parts.append(repr(get_converter().unstructure(value)))
    return "\n".join(parts)


class Outcome(Generic[T]):
    """What one call did: answered, raised, or ran past the deadline."""

    __slots__ = ("error", "label", "seconds", "timed_out", "value")

    def __init__(
        self,
        label: str,
        *,
        value: T | None = None,
        error: BaseException | None = None,
        timed_out: bool = False,
        seconds: float = 0.0,
    ) -> None:
        self.label = label
        self.value = value
        self.error = error
        self.timed_out = timed_out
        self.seconds = seconds

    @property
    def answered(self) -> bool:
        """Whether the call returned in time without raising."""
        return not self.timed_out and self.error is None


class Runner:
    """Runs every adapter call of one conformance run in a thread with a deadline.

    It keeps what the deadline check needs (each call's duration) and what
    the secrets check needs (every text an adapter produced: its repr, its
    answers, its exceptions' messages, the journal and report of an incident
    run with it).
    """

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.calls: list[Outcome[object]] = []
        self.texts: list[tuple[str, str]] = []

    def call(
        self, label: str, function: Callable[[], T], *, deadline: float | None = None
    ) -> Outcome[T]:
        """Call ``function`` in a daemon thread; give up waiting after the deadline.

        A call that overruns is left running (a thread cannot be killed) and
        reported as timed out; whatever it raises later is swallowed.
        """
        box: list[Outcome[T]] = []

        def work() -> None:
            begun = time.monotonic()
            try:
                value = function()
            except BaseException as exc:  # noqa: BLE001 - everything an adapter raises is a finding
                box.append(Outcome(label, error=exc, seconds=time.monotonic() - begun))
            else:
                box.append(Outcome(label, value=value, seconds=time.monotonic() - begun))

        limit = self.deadline if deadline is None else deadline
        thread = threading.Thread(
            target=work, name=f"incidentkit-conformance: {label}", daemon=True
        )
        begun = time.monotonic()
        thread.start()
        thread.join(limit)
        outcome = (
            box[0] if box else Outcome[T](label, timed_out=True, seconds=time.monotonic() - begun)
        )
        self.calls.append(outcome)  # type: ignore[arg-type]
        if outcome.error is not None:
            self.texts.append((f"the error raised by {label}", _exception_texts(outcome.error)))
        elif not outcome.timed_out:
            self.texts.append((f"the answer of {label}", _value_texts(outcome.value)))
        return outcome

    def adapter(self, what: str, adapter: object) -> object:
        """Keep the texts an adapter shows about itself (repr, str, name); return it."""
        try:
            name = safe_str(adapter.name)  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - the protocol check reports a name that fails
            name = ""
        self.texts.extend(
            (
                (f"repr({what})", safe_repr(adapter)),
                (f"str({what})", safe_str(adapter)),
                (f"{what}.name", name),
            )
        )
        return adapter

    def text(self, where: str, text: str) -> None:
        """Keep a text produced with the adapter (a journal, a report)."""
        self.texts.append((where, text))

    def timed_out(self) -> list[Outcome[object]]:
        """Return the calls that ran past the deadline."""
        return [c for c in self.calls if c.timed_out]
