"""Instants and clocks: every time in incidentkit is timezone-aware and UTC."""

from __future__ import annotations

import datetime as dt
import math
from typing import Final, cast

import pendulum

from incidentkit._errors import InvalidInputError, NaiveDatetimeError
from incidentkit._numbers import is_finite

__all__ = ["UTC", "ManualClock", "SystemClock", "format_instant", "parse_instant", "to_instant"]

UTC: Final = pendulum.UTC


def to_instant(value: dt.datetime | float, *, what: str = "instant") -> pendulum.DateTime:
    """Turn an aware datetime or Unix seconds into a UTC pendulum instant.

    Args:
        value: A timezone-aware :class:`datetime.datetime` (pendulum or not),
            or Unix seconds as an ``int`` or ``float``.
        what: What the value is, for the error message.

    Returns:
        The same instant as a :class:`pendulum.DateTime` in UTC.

    Raises:
        NaiveDatetimeError: The datetime has no time zone.
        InvalidInputError: The value is not a datetime or a finite number.

    .. versionadded:: 0.1.0
    """
    if type(value) is pendulum.DateTime and value.tzinfo is UTC:
        return value  # already what is asked for (the common case, kept cheap)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            msg = (
                f"{what} {value.isoformat()} is a naive datetime: incidentkit never guesses a "
                "time zone. Pass an aware one, e.g. datetime(..., tzinfo=timezone.utc) "
                "or pendulum.now('UTC')."
            )
            raise NaiveDatetimeError(msg)
        if isinstance(value, pendulum.DateTime) and value.tzinfo is UTC:
            return value
        try:
            utc = value.astimezone(dt.timezone.utc)
            return pendulum.DateTime(
                utc.year,
                utc.month,
                utc.day,
                utc.hour,
                utc.minute,
                utc.second,
                utc.microsecond,
                tzinfo=UTC,
            )
        except (OverflowError, ValueError) as exc:
            msg = f"{what} {value.isoformat()} is out of the representable range in UTC"
            raise InvalidInputError(msg) from exc
    if isinstance(value, bool) or not isinstance(cast("object", value), (int, float)):
        msg = f"{what} must be an aware datetime or Unix seconds, not {type(value).__name__}"
        raise InvalidInputError(msg)
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int too large for a float
        msg = f"{what} ({len(str(abs(int(value))))} digits of Unix seconds) is out of range"
        raise InvalidInputError(msg) from None
    if not finite:
        msg = f"{what} must be a finite number of Unix seconds, not {value!r}"
        raise InvalidInputError(msg)
    try:
        return pendulum.from_timestamp(value, tz=UTC)
    except (OverflowError, ValueError, OSError) as exc:
        msg = f"{what} {value!r} (Unix seconds) is out of the representable range"
        raise InvalidInputError(msg) from exc


def format_instant(value: pendulum.DateTime) -> str:
    """Render an instant the way the journal and the JSON report store it.

    Returns:
        ISO 8601 in UTC with microseconds and a ``Z`` suffix.

    Raises:
        InvalidInputError: ``value`` is not a datetime.
        NaiveDatetimeError: ``value`` has no time zone.

    .. versionadded:: 0.1.0
    """
    if type(value) is not pendulum.DateTime or value.tzinfo is not UTC:
        if not isinstance(cast("object", value), dt.datetime):
            msg = (
                f"format_instant needs an aware datetime, not {type(value).__name__} {value!r:.60}"
            )
            raise InvalidInputError(msg)
        value = to_instant(value, what="format_instant's value")  # in UTC, as the Z says
    year = value.year
    if year < 1000:  # noqa: PLR2004 - strftime does not pad such a year: keep its text
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # The same text as that strftime, at half its cost (every event written passes here).
    return (
        f"{year}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:{value.minute:02d}:"
        f"{value.second:02d}.{value.microsecond:06d}Z"
    )


def parse_instant(text: str) -> pendulum.DateTime:
    """Parse an ISO 8601 instant with an offset (or ``Z``) into UTC.

    Raises:
        NaiveDatetimeError: The text has no offset.
        InvalidInputError: The text is not an ISO 8601 instant.

    .. versionadded:: 0.1.0
    """
    if not isinstance(cast("object", text), str):
        msg = f"parse_instant needs ISO 8601 text, not {type(text).__name__} {text!r:.60}"
        raise InvalidInputError(msg)
    if text.endswith("Z"):
        # The journal's own form: UTC, so the offset needs no conversion.
        text = text[:-1]
        utc = True
    else:
        utc = False
    try:
        parsed = dt.datetime.fromisoformat(text)
    except (ValueError, TypeError) as exc:
        msg = f"{text!r} is not an ISO 8601 instant"
        raise InvalidInputError(msg) from exc
    if not utc:
        if parsed.tzinfo is None:
            return to_instant(parsed, what=repr(text))  # raises NaiveDatetimeError
        try:
            parsed = parsed.astimezone(dt.timezone.utc)
        except (OverflowError, ValueError) as exc:
            msg = f"{text!r} is out of the representable range in UTC"
            raise InvalidInputError(msg) from exc
    # Building the pendulum instant field by field is about 8 times faster than
    # pendulum.instance(), which matters when a journal of 100,000 events resumes.
    return pendulum.DateTime(
        parsed.year,
        parsed.month,
        parsed.day,
        parsed.hour,
        parsed.minute,
        parsed.second,
        parsed.microsecond,
        tzinfo=UTC,
    )


class SystemClock:
    """**Clock**: the real time, in UTC.

    .. versionadded:: 0.1.0
    """

    def now(self) -> pendulum.DateTime:
        """Return the current instant in UTC."""
        return pendulum.now(UTC)


class ManualClock:
    """**Clock**: a clock that only moves when told to, for tests and replays.

    Args:
        start: The instant the clock shows first.

    .. versionadded:: 0.1.0
    """

    def __init__(self, start: dt.datetime | float) -> None:
        self._now = to_instant(start, what="start")

    def now(self) -> pendulum.DateTime:
        """Return the instant the clock was set to."""
        return self._now

    def advance(self, seconds: float = 0.0, *, minutes: float = 0.0) -> pendulum.DateTime:
        """Move the clock forward and return the new instant.

        Raises:
            InvalidInputError: The clock would move backwards, an argument is
                not a finite number, or the instant would be out of range.
        """
        if not (is_finite(seconds) and is_finite(minutes)):
            msg = f"advance by a finite number of seconds or minutes, not {seconds!r}, {minutes!r}"
            raise InvalidInputError(msg)
        delta = seconds + 60.0 * minutes
        if not math.isfinite(delta) or delta < 0:
            msg = f"a clock only moves forward; cannot advance by {delta!r} seconds"
            raise InvalidInputError(msg)
        try:
            self._now = self._now.add(microseconds=round(delta * 1_000_000))
        except (OverflowError, ValueError) as exc:
            msg = f"cannot advance the clock by {delta!r} seconds: out of the representable range"
            raise InvalidInputError(msg) from exc
        return self._now

    def set(self, instant: dt.datetime | float) -> pendulum.DateTime:
        """Set the clock to an instant no earlier than the current one.

        Raises:
            InvalidInputError: The instant is earlier than the clock shows.
        """
        new = to_instant(instant, what="instant")
        if new < self._now:
            msg = f"a clock only moves forward; {new} is before {self._now}"
            raise InvalidInputError(msg)
        self._now = new
        return self._now
