"""Calling adapters safely: a failure or a malformed answer becomes a recorded gap.

No adapter can end an incident. Every call goes through these helpers, which
catch what the adapter raises (any exception: adapters are third-party code),
check the shape of what it returns, and hand back either the result or a
plain-words error for the journal.

The checks go down to every field that reaches the journal: an answer is a
third party's object, and one that the journal cannot encode as JSON (a lone
surrogate in a string, bytes, NaN, a key that is not a string, an arbitrary
object), or whose sequence raises while it is read, must fail here, where it
becomes a gap naming the source and the field, and never at the journal write,
where it would lose every other source's answer with it. Every text put into an
error is made safe first (:func:`shown`, :func:`described`).
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Generic, TypeVar, cast

import attrs
import pendulum

from incidentkit._columns import MAX_SECONDS, MIN_SECONDS, Column, increasing
from incidentkit._errors import SourceError
from incidentkit._model import (
    Caveat,
    CaveatKind,
    Change,
    ChangeKind,
    MetricQuery,
    PartialChanges,
    RollbackOption,
    RollbackResult,
    Series,
    columns,
)

__all__ = [
    "Answer",
    "adapter_name",
    "call_adapter",
    "call_concurrently",
    "checked_changes",
    "checked_options",
    "checked_result",
    "checked_series",
    "described",
    "shown",
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
    if isinstance(name, str) and name and not _text_problem(name):
        return name
    return f"<{_type_name(adapter)} with no usable name>"


_SHOWN_LENGTH = 200
"""How much of a third party's text an error quotes."""


def _safe(text: str) -> str:
    """Return ``text`` as valid Unicode: a lone surrogate becomes its escape."""
    return str.encode(text, "utf-8", "backslashreplace").decode("utf-8")


def _type_name(value: object) -> str:
    name: object = getattr(type(value), "__name__", None)
    return _safe(name) if isinstance(name, str) else "object"


def shown(value: object) -> str:
    """Return a short, JSON-safe ``repr`` of a third party's value, whatever it is.

    A ``__repr__`` that raises, returns a lone surrogate or a novel cannot
    break an error message: the type's name stands in, surrogates are escaped
    and the text is cut.
    """
    try:
        text: object = repr(value)
    except Exception:  # noqa: BLE001 - a third party's __repr__ may raise anything
        text = None
    if not isinstance(text, str):
        return f"<{_type_name(value)}>"
    text = _safe(text)
    return text if len(text) <= _SHOWN_LENGTH else text[: _SHOWN_LENGTH - 3] + "..."


def described(exc: BaseException) -> str:
    """Return ``str(exc)`` made safe: a ``__str__`` that raises or lies cannot break it."""
    try:
        text: object = str(exc)
    except Exception:  # noqa: BLE001 - a third party's __str__ may raise anything
        text = None
    if not isinstance(text, str):
        return f"<{_type_name(exc)} whose message cannot be read>"
    text = _safe(text)
    limit = 4 * _SHOWN_LENGTH
    return text if len(text) <= limit else text[: limit - 3] + "..."


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


def call_adapter(
    name: str, what: str, call: Callable[[], T], *, timeout: float | None = None
) -> tuple[T | None, str]:
    """Run ``call`` and return ``(result, "")`` or ``(None, why it failed)``.

    Args:
        name: The adapter's name, for the error.
        what: What is asked, for the error (``"dry run"``).
        call: The call to make.
        timeout: Seconds the call may take; ``None`` waits as long as it
            takes. With a timeout the call runs in a daemon thread, as in
            :func:`call_concurrently`: a call that has not answered by then
            is abandoned and its answer is an error saying so.

    Returns:
        The result and ``""``, or ``None`` and why there is no result.
    """
    if timeout is not None:
        answer = call_concurrently([(name, what, call)], timeout)[0]
        return answer.result, answer.error
    try:
        return call(), ""
    except SourceError as exc:
        return None, f"{_safe(name)}: {what} failed: {unprefixed(_safe(name), described(exc))}"
    except Exception as exc:  # noqa: BLE001 - an adapter must never end the incident
        shown_name = _safe(name)
        text = unprefixed(shown_name, described(exc))
        return None, f"{shown_name}: {what} raised {_type_name(exc)}: {text}"


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
            result, error = None, f"{name}: {what} raised {_type_name(exc)}: {described(exc)}"
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
        thread.join(min(max(0.0, deadline - time.monotonic()), threading.TIMEOUT_MAX))
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


# -- checking answers ---------------------------------------------------------

_MAX_ITEMS = 100_000
"""The most items one answer may hold: more is a runaway sequence, not changes."""

_SHOWN_PROBLEMS = 5
"""How many of an answer's problems one error spells out."""


def _text_problem(value: object, *, optional: bool = False, non_empty: bool = False) -> str:
    """Return why ``value`` is not a string the journal can hold, or ``""``."""
    if value is None and optional:
        return ""
    if not isinstance(value, str):
        return f"is {_type_name(value)}, not a string" + (" or None" if optional else "")
    try:
        str.encode(value, "utf-8")
    except UnicodeEncodeError:
        return f"holds a lone surrogate ({shown(value)}), which is not valid Unicode"
    if non_empty and not str.strip(value):
        return "is empty"
    return ""


def _instant_problem(value: object, *, optional: bool = False) -> str:
    """Return why ``value`` is not a time-zone-aware instant, or ``""``."""
    if value is None and optional:
        return ""
    if not isinstance(value, pendulum.DateTime):
        return f"is {_type_name(value)}, not an instant" + (" or None" if optional else "")
    if value.tzinfo is None or value.utcoffset() is None:
        return "is a naive datetime (it has no time zone)"
    return ""


def _number_problem(value: object, *, optional: bool = False) -> str:
    """Return why ``value`` is not a finite number a float can hold, or ``""``."""
    if value is None and optional:
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"is {shown(value)}, not a number" + (" or None" if optional else "")
    try:
        number = float(value)
    except OverflowError:
        return "is too large for a float"
    if not math.isfinite(number):
        return f"is {number!r}, not a finite number"
    return ""


def _items(answer: object) -> tuple[list[object], str]:
    """Read a sequence answer's items: those read, and what went wrong reading (or ``""``).

    The length is asked first and the iteration is held to it, so that a
    sequence that lies about its length, or never stops, cannot run away.
    """
    try:
        length = len(cast("Sequence[object]", answer))
    except Exception as exc:  # noqa: BLE001 - a third party's __len__ may raise anything
        return [], f"its __len__ raised {_type_name(exc)}: {described(exc)}"
    if length > _MAX_ITEMS:
        return [], f"it says it holds {length} items, more than the {_MAX_ITEMS} one answer may"
    items: list[object] = []
    try:
        iterator: Iterator[object] = iter(cast("Sequence[object]", answer))
        for item in iterator:
            if len(items) == length:
                return items, (
                    f"it yields more items than its length ({length}) says; the items after "
                    f"the first {length} are dropped"
                )
            items.append(item)
    except Exception as exc:  # noqa: BLE001 - a third party's __iter__/__getitem__ may raise
        kept = "; the items before it are kept" if items else ""
        return items, f"reading item {len(items)} raised {_type_name(exc)}: {described(exc)}{kept}"
    if len(items) < length:
        return items, f"its length says {length} items but it yields only {len(items)}"
    return items, ""


def _not_a_sequence(answer: object) -> bool:
    try:
        return isinstance(answer, (str, bytes)) or not isinstance(answer, Sequence)
    except Exception:  # noqa: BLE001 - isinstance runs a third party's __class__ and hooks
        return True


def _joined(name: str, problems: Sequence[str]) -> str:
    """One error for an answer with problems: the first few, and how many more."""
    shown_problems = [p.removeprefix(f"{name}: ") for p in problems[:_SHOWN_PROBLEMS]]
    more = len(problems) - _SHOWN_PROBLEMS
    tail = f"; and {more} more problem(s)" if more > 0 else ""
    return f"{name}: " + "; ".join(shown_problems) + tail


_CHANGE_TEXTS: tuple[tuple[str, bool, bool], ...] = (
    # (field, may be None, must not be empty)
    ("id", False, True),
    ("service", False, True),
    ("source", False, False),
    ("summary", False, False),
    ("environment", True, False),
    ("version", True, False),
    ("previous_version", True, False),
    ("author", True, False),
    ("link", True, False),
)


def _first(*checks: Callable[[], tuple[str, str]]) -> tuple[str, str]:
    """Return the first ``(field, problem)`` that a check finds, else ``("", "")``."""
    for check in checks:
        field, problem = check()
        if problem:
            return field, problem
    return "", ""


def _texts_problem(record: object, fields: Sequence[tuple[str, bool, bool]]) -> tuple[str, str]:
    """The first of ``(field, may be None, must not be empty)`` that is not valid text."""
    for field, optional, non_empty in fields:
        problem = _text_problem(getattr(record, field), optional=optional, non_empty=non_empty)
        if problem:
            return field, problem
    return "", ""


def _kind_problem(change: Change, kinds: frozenset[ChangeKind]) -> tuple[str, str]:
    kind = cast("object", change.kind)
    if type(kind) is not ChangeKind:
        return "kind", f"is {shown(kind)}, not a ChangeKind"
    if kind not in kinds:
        expected = ", ".join(sorted(k.value for k in kinds))
        return "kind", f"is {kind.value}, not {expected}"
    return "", ""


def _times_problem(change: Change) -> tuple[str, str]:
    for field, optional in (("started", False), ("finished", True)):
        problem = _instant_problem(getattr(change, field), optional=optional)
        if problem:
            return field, problem
    if change.finished is not None and change.finished < change.started:
        return "finished", f"({change.finished}) is before its start ({change.started})"
    return "", ""


def _attributes_problem(change: Change) -> tuple[str, str]:
    attributes = cast("object", change.attributes)
    if not isinstance(attributes, Mapping):
        return "attributes", f"is {_type_name(attributes)}, not a mapping of strings"
    for key, value in cast("Mapping[object, object]", attributes).items():
        if not isinstance(key, str) or _text_problem(key):
            return "attributes", f"has the key {shown(key)}, not a valid string"
        problem = _text_problem(value)
        if problem:
            return f"attributes[{shown(key)}]", problem
    return "", ""


def _change_problem(change: Change, kinds: frozenset[ChangeKind]) -> tuple[str, str]:
    """Return ``(field, what is wrong with it)`` for a malformed change, else ``("", "")``."""
    return _first(
        lambda: _kind_problem(change, kinds),
        lambda: _texts_problem(change, _CHANGE_TEXTS),
        lambda: _times_problem(change),
        lambda: _attributes_problem(change),
    )


def _checked_change(
    name: str, position: int, item: object, kinds: frozenset[ChangeKind]
) -> tuple[Change | None, str]:
    """Return the change (its source filled in) or why it is dropped."""
    if not issubclass(type(item), Change):
        return None, f"{name}: item {position} is {_type_name(item)}, not a Change record"
    change = cast("Change", item)
    try:
        field, problem = _change_problem(change, kinds)
        if not problem:
            return (change if change.source else attrs.evolve(change, source=name)), ""
    except Exception as exc:  # noqa: BLE001 - a third party's object may raise anything
        field, problem = "record", f"cannot be read: {_type_name(exc)}: {described(exc)}"
    try:
        label = f" ({shown(change.id)})" if field != "id" else ""
    except Exception:  # noqa: BLE001 - even the id may be a raising property
        label = ""
    return None, f"{name}: change {position}{label}: its {field} {problem}"


def _gap_problem(answer: object) -> str:
    """Return why a :class:`PartialChanges` answer's gap cannot be recorded, or ``""``."""
    if not isinstance(answer, PartialChanges):
        return ""
    try:
        gap: object = answer.gap
    except Exception as exc:  # noqa: BLE001 - a subclass's property may raise anything
        return f"its partial answer's gap cannot be read: {_type_name(exc)}: {described(exc)}"
    problem = _text_problem(gap, non_empty=True)
    return f"its partial answer's gap {problem}" if problem else ""


def checked_changes(
    name: str,
    answer: object,
    kinds: frozenset[ChangeKind],
    *,
    problems: list[str] | None = None,
) -> tuple[list[Change], str]:
    """Check that ``answer`` is a sequence of :class:`Change` of the expected kinds.

    Every field of every change is checked down to what the journal can hold
    (strings that are valid Unicode, aware instants, attributes mapping strings
    to strings), and the sequence is read defensively (:func:`_items`).

    Args:
        name: The source's name, for the errors.
        answer: What the source answered.
        kinds: The kinds of change the source may yield.
        problems: Where to put what is wrong with single changes, or with
            reading the answer to its end, one line each (naming the source,
            the change's position and id, and the field). When given, such a
            change is dropped and the good ones are returned without an
            error (unless no change at all was usable: then the answer
            fails, as a source that answered nothing usable did not answer
            "no change"); when ``None``, any such problem fails the whole
            answer.

    Returns:
        The changes and ``""``, or what was kept and why the answer fails as a
        whole (not a sequence at all, an unusable partial-answer gap; without
        ``problems``, any problem).
    """
    label = _safe(name)
    if _not_a_sequence(answer):
        return [], f"{label}: answered {_type_name(answer)}, not a sequence of Change records"
    gap = _gap_problem(answer)
    if gap:
        return [], f"{label}: {gap}"
    items, unread = _items(answer)
    found = [f"{label}: the answer cannot be read whole: {unread}"] if unread else []
    changes: list[Change] = []
    for position, item in enumerate(items):
        change, problem = _checked_change(label, position, item, kinds)
        if change is not None:
            changes.append(change)
        else:
            found.append(f"{problem}; the change is dropped" if problems is not None else problem)
    if problems is not None and (changes or not found):
        problems.extend(found)
        return changes, ""
    # Without ``problems``, or when nothing at all was usable: the source failed; it did not
    # answer "no change" (which would count it as consulted for the checklist).
    return (changes, _joined(label, found)) if found else (changes, "")


def _query_problem(query: object) -> tuple[str, str]:
    if not isinstance(query, MetricQuery):
        return "query", f"is {_type_name(query)}, not a MetricQuery"
    for field in ("source", "query", "unit"):
        problem = _text_problem(getattr(query, field))
        if problem:
            return f"query.{field}", problem
    for field in ("start", "end"):
        problem = _instant_problem(getattr(query, field))
        if problem:
            return f"query.{field}", problem
    problem = _number_problem(query.step)
    if problem or not query.step > 0:
        return "query.step", problem or f"is {query.step!r}, not a positive number"
    return "", ""


def _column_problem(name: str, column: object) -> str:
    kind = _type_name(column)
    if not isinstance(column, array) or cast("Column", column).typecode != "d":
        return f"is {kind}, not an array of doubles ({name} are built by Series)"
    return ""


def _columns_problem(times: Column, values: Column) -> tuple[str, str]:
    """The columns' problem (one C-level pass each on a good series), or ``("", "")``."""
    if len(times) != len(values):
        return "values", f"has {len(values)} values for {len(times)} instants"
    if times and not math.isfinite(sum(times)):
        position = next(i for i, at in enumerate(times) if not math.isfinite(at))
        return f"times[{position}]", f"is {times[position]!r}, not a finite instant"
    if times and not (times[0] >= MIN_SECONDS and times[-1] <= MAX_SECONDS):
        return "times", "reach beyond the years 1 to 9999"
    if not increasing(times):
        position = next(i + 1 for i, (a, b) in enumerate(itertools.pairwise(times)) if b <= a)
        return f"times[{position}]", "is not after the one before it"
    if any(map(math.isinf, values)):
        position = next(i for i, value in enumerate(values) if math.isinf(value))
        return f"values[{position}]", (
            f"is {values[position]!r}: build the series with Series.from_pairs, which turns "
            "NaN and infinities into gaps"
        )
    return _magnitude_problem(itertools.filterfalse(math.isnan, map(abs, values)))


def _magnitude_problem(magnitudes: Iterable[float]) -> tuple[str, str]:
    """A series whose values do not add up to a float has no mean: say so, or ``""``."""
    if math.isinf(sum(magnitudes)):
        return "values", (
            "hold values too large to compute with: their magnitudes add up beyond the largest "
            "float (1.8e308), so no mean or burn rate of them can be taken"
        )
    return "", ""


def _series_columns_problem(series: Series) -> tuple[str, str]:
    times, values = columns(series)
    for name, column in (("times", times), ("values", values)):
        problem = _column_problem(name, column)
        if problem:
            return name, problem
    return _columns_problem(times, values)


def _warnings_problem(warnings: object) -> tuple[str, str]:
    if not isinstance(warnings, tuple):
        return "warnings", f"is {_type_name(warnings)}, not a tuple of strings"
    for position, warning in enumerate(cast("tuple[object, ...]", warnings)):
        problem = _text_problem(warning)
        if problem:
            return f"warnings[{position}]", problem
    return "", ""


def _series_problem(series: Series) -> tuple[str, str]:
    non_finite = cast("object", series.non_finite)
    return _first(
        lambda: _query_problem(series.query),
        lambda: _series_columns_problem(series),
        lambda: (
            "non_finite",
            f"is {shown(non_finite)}, not a count"
            if isinstance(non_finite, bool) or not isinstance(non_finite, int) or non_finite < 0
            else "",
        ),
        lambda: _warnings_problem(cast("object", series.warnings)),
    )


def checked_series(name: str, answer: object) -> tuple[Series | None, str]:
    """Check that ``answer`` is a :class:`Series` the journal and the analyses can take.

    Beyond its type: its columns arrays of doubles of one length, the instants
    finite and strictly increasing, the values finite or NaN (a gap); values
    whose magnitudes still add up to a float (a series of 1e308s has no mean);
    the query's texts valid Unicode; the warnings strings. A series that fails
    is refused whole, with an error naming the source and the field.
    """
    label = _safe(name)
    if not issubclass(type(answer), Series):
        return None, f"{label}: answered {_type_name(answer)}, not a Series"
    series = cast("Series", answer)
    try:
        field, problem = _series_problem(series)
    except Exception as exc:  # noqa: BLE001 - a third party's object may raise anything
        field, problem = "record", f"cannot be read: {_type_name(exc)}: {described(exc)}"
    if problem:
        return None, f"{label}: its Series' {field} {problem}; the series is refused"
    return series, ""


_OPTION_TEXTS: tuple[tuple[str, bool, bool], ...] = (
    ("id", False, True),
    ("executor", False, False),
    ("change_id", False, False),
    ("target", False, False),
    ("from_version", True, False),
    ("to_version", True, False),
)


def _caveats_problem(option: RollbackOption) -> tuple[str, str]:
    caveats = cast("object", option.caveats)
    if not isinstance(caveats, (tuple, list)):
        return "caveats", f"is {shown(caveats)}, not a tuple of Caveat"
    for position, caveat in enumerate(cast("Sequence[object]", caveats)):
        if not issubclass(type(caveat), Caveat):
            return f"caveats[{position}]", f"is {_type_name(caveat)}, not a Caveat"
        kind = cast("object", cast("Caveat", caveat).kind)
        if type(kind) is not CaveatKind:
            return f"caveats[{position}].kind", f"is {shown(kind)}, not a CaveatKind"
        problem = _text_problem(cast("Caveat", caveat).detail)
        if problem:
            return f"caveats[{position}].detail", problem
    return "", ""


def _option_problem(option: RollbackOption) -> tuple[str, str]:
    def dry_run() -> tuple[str, str]:
        value = cast("object", option.supports_dry_run)
        if type(value) is not bool:
            return "supports_dry_run", f"is {shown(value)}, not True or False"
        return "", ""

    return _first(
        lambda: _texts_problem(option, _OPTION_TEXTS),
        lambda: _caveats_problem(option),
        dry_run,
    )


def _checked_option(name: str, position: int, item: object) -> tuple[RollbackOption | None, str]:
    if not issubclass(type(item), RollbackOption):
        return None, f"{name}: item {position} is {_type_name(item)}, not a RollbackOption"
    option = cast("RollbackOption", item)
    try:
        field, problem = _option_problem(option)
        if not problem:
            return option, ""
    except Exception as exc:  # noqa: BLE001 - a third party's object may raise anything
        field, problem = "record", f"cannot be read: {_type_name(exc)}: {described(exc)}"
    try:
        label = f" ({shown(option.id)})" if field != "id" else ""
    except Exception:  # noqa: BLE001 - even the id may be a raising property
        label = ""
    return None, f"{name}: option {position}{label}: its {field} {problem}"


def checked_options(
    name: str, answer: object, *, problems: list[str] | None = None
) -> tuple[list[RollbackOption], str]:
    """Check that ``answer`` is a sequence of :class:`RollbackOption`, field by field.

    Args:
        name: The executor's name, for the errors.
        answer: What the executor answered.
        problems: As for :func:`checked_changes`: where to put what is wrong
            with single options (which are then dropped and the good ones
            kept); when ``None``, any problem fails the whole answer.

    Returns:
        The options and ``""``, or what was kept and why the answer fails.
    """
    label = _safe(name)
    if _not_a_sequence(answer):
        return [], f"{label}: answered {_type_name(answer)}, not a sequence of RollbackOption"
    items, unread = _items(answer)
    found = [f"{label}: the answer cannot be read whole: {unread}"] if unread else []
    options: list[RollbackOption] = []
    for position, item in enumerate(items):
        option, problem = _checked_option(label, position, item)
        if option is not None:
            options.append(option)
        else:
            found.append(f"{problem}; the option is dropped" if problems is not None else problem)
    if problems is not None:
        problems.extend(found)
        return options, ""
    return (options, _joined(label, found)) if found else (options, "")


def _result_problem(result: RollbackResult) -> tuple[str, str]:
    for field, optional in (("option_id", False), ("live_version", True), ("detail", False)):
        problem = _text_problem(getattr(result, field), optional=optional)
        if problem:
            return field, problem
    for field in ("succeeded", "dry_run"):
        value = cast("object", getattr(result, field))
        if type(value) is not bool:
            return field, f"is {shown(value)}, not True or False"
    return "", ""


def checked_result(name: str, answer: object) -> tuple[RollbackResult | None, str]:
    """Check that ``answer`` is a :class:`RollbackResult` whose every field the journal can hold.

    A result that fails is no result: whether the rollback happened is not
    known from it, and the error names the executor and the field.
    """
    label = _safe(name)
    if not issubclass(type(answer), RollbackResult):
        return None, f"{label}: answered {_type_name(answer)}, not a RollbackResult"
    result = cast("RollbackResult", answer)
    try:
        field, problem = _result_problem(result)
    except Exception as exc:  # noqa: BLE001 - a third party's object may raise anything
        field, problem = "record", f"cannot be read: {_type_name(exc)}: {described(exc)}"
    if problem:
        return None, f"{label}: its RollbackResult's {field} {problem}; the result is refused"
    return result, ""
