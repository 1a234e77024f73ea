"""The plumbing every conformance check shares: results, quoting, time zones, arguments."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from typing import cast

import pendulum

from incidentkit._errors import InvalidInputError, NaiveDatetimeError
from incidentkit._time import to_instant
from incidentkit.testing._calls import (
    Outcome,
    describe,
    raised_in,
    safe_repr,
    safe_str,
)
from incidentkit.testing._results import Check, CheckStatus

__all__ = [
    "CHECKED_CALL_FAILED",
    "MESSAGE",
    "TO_INSTANT",
    "ZONES",
    "aware",
    "checked_deadline",
    "checked_secrets",
    "checked_window",
    "failed",
    "finite",
    "naive_built",
    "no_answer",
    "offset",
    "passed",
    "positive",
    "quote",
    "show",
    "shown",
    "skipped",
]

ZONES = ("Asia/Kolkata", "America/St_Johns")  # half-hour offsets, east and west of UTC
_MIN_SECRET = 6
_SHOWN = 4  # how many ids or places a detail lists before "and N more"
MESSAGE = 160  # how much of an error message a detail quotes
CHECKED_CALL_FAILED = "see answer"
TO_INSTANT = "incidentkit.to_instant"


def shown(items: Sequence[str]) -> str:
    head = ", ".join(items[:_SHOWN])
    more = len(items) - _SHOWN
    return f"{head} and {more} more" if more > 0 else head


def quote(exc: BaseException) -> str:
    text = describe(exc)
    return text if len(text) <= MESSAGE else text[: MESSAGE - 3] + "..."


def show(value: object) -> str:
    """Show an instant as text, anything else as its repr."""
    return safe_str(value) if isinstance(value, dt.datetime) else safe_repr(value)


def passed(name: str, detail: str) -> Check:
    return Check(name, CheckStatus.PASSED, detail)


def failed(name: str, problems: Iterable[str]) -> Check:
    return Check(name, CheckStatus.FAILED, "; ".join(problems))


def skipped(name: str, reason: str) -> Check:
    return Check(name, CheckStatus.SKIPPED, reason)


def no_answer(name: str, outcome: Outcome[object] | None) -> Check:
    """Skip a check that needs an answer the adapter did not give."""
    if outcome is not None and outcome.timed_out:
        return skipped(name, f"{outcome.label} ran past the deadline: see deadline")
    if outcome is not None and isinstance(outcome.error, NaiveDatetimeError):
        return skipped(name, f"{outcome.label} did not answer: see time_zones")
    if (
        outcome is not None
        and outcome.error is not None
        and raised_in(outcome.error, "_finite_or_none")
    ):
        return skipped(name, f"{outcome.label} did not answer: see gaps")
    return skipped(name, f"no usable answer to check: {CHECKED_CALL_FAILED}")


def aware(value: object) -> bool:
    return isinstance(value, dt.datetime) and value.utcoffset() is not None


def offset(at: pendulum.DateTime) -> str:
    return "UTC" + at.format("Z")


def naive_built(outcome: Outcome[object]) -> str:
    return (
        f"{outcome.label} raised {quote(cast('BaseException', outcome.error))} while answering: "
        "the adapter built a value from a naive datetime. Parse the system's timestamps with "
        "incidentkit.parse_instant (ISO 8601 with an offset) or incidentkit.to_instant (Unix "
        "seconds); if the system sends local times without an offset, attach its zone"
    )


def checked_window(
    window: object, what: str = "window", *, instant: bool = False
) -> tuple[pendulum.DateTime, pendulum.DateTime]:
    if not isinstance(window, tuple) or len(cast("tuple[object, ...]", window)) != 2:  # noqa: PLR2004 - a pair
        msg = f"{what} must be a (start, end) pair of aware datetimes, not {window!r}"
        raise InvalidInputError(msg)
    first, last = cast("tuple[dt.datetime, dt.datetime]", window)
    start = to_instant(first, what=f"the {what}'s start")
    end = to_instant(last, what=f"the {what}'s end")
    if end < start or (end == start and not instant):
        msg = f"the {what} must end after it starts, not [{start}, {end}]"
        raise InvalidInputError(msg)
    return start, end


def checked_secrets(secrets: Sequence[str]) -> tuple[str, ...]:
    if isinstance(secrets, str):
        msg = "secrets is a sequence of strings: write secrets=(token,), not secrets=token"
        raise InvalidInputError(msg)
    for position, secret in enumerate(cast("Sequence[object]", secrets)):
        if not isinstance(secret, str) or len(secret) < _MIN_SECRET:
            msg = (
                f"secrets[{position}] must be a string of at least {_MIN_SECRET} characters "
                "(a shorter one would be found by chance): build the adapter with a "
                "distinctive fake credential such as 'kit-token-5f0c2e' and pass it here"
            )
            raise InvalidInputError(msg)
    return tuple(secrets)


def positive(value: object) -> bool:
    """Whether ``value`` is a finite positive number (a bool is not one)."""
    return (
        not isinstance(value, bool)
        and isinstance(value, (int, float))
        and math.isfinite(value)
        and value > 0
    )


def finite(value: object) -> bool:
    """Whether ``value`` is a finite number (a bool is not one)."""
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def checked_deadline(deadline: float) -> float:
    if not positive(deadline):
        msg = f"deadline must be a positive number of seconds, not {deadline!r}"
        raise InvalidInputError(msg)
    return float(deadline)
