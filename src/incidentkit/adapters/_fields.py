"""Reading fields out of a decoded JSON answer, each mistake a precise MalformedResponseError.

Shared by the JSON adapters (GitHub, Statuspage) and the Alertmanager intake. Every reader takes the
object, the key, where the object sits in the answer (``deployments[3]``),
the adapter's name, and a hint that ends the message (what the user should
check: usually, that the URL points at the right API). The message names
the field's full path and what was found instead.

A document a person wrote (a dataset file) is read with :class:`Problems`
instead: its readers record each mistake with its JSON path and carry on, and
:meth:`Problems.raise_if_any` reports them all at once as an
:class:`~incidentkit.InvalidInputError` (the document is input, not an answer).
The readers from :func:`as_object` on describe a wrong value by its JSON kind
(``is not a string (got a list)``) rather than by its ``repr``, so that a
hostile document's content is not echoed into logs; they join ``where`` and
``key`` with :func:`path`, so an empty ``where`` names a top-level field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Final, cast

import pendulum

from incidentkit._errors import InvalidInputError, MalformedResponseError
from incidentkit._time import parse_instant

__all__ = [
    "Problems",
    "as_list",
    "as_object",
    "choice",
    "count",
    "get",
    "instant",
    "integer",
    "json_list",
    "json_object",
    "json_type",
    "kind",
    "malformed",
    "member_path",
    "optional_instant",
    "optional_string_map",
    "optional_text",
    "path",
    "rfc3339",
    "string",
    "string_map",
    "text",
]


def malformed(source: str, where: str, problem: str, *, hint: str) -> MalformedResponseError:
    """Return the error for the field at ``where``: what is wrong, then the hint."""
    return MalformedResponseError(f"{source}: {where} {problem}; {hint}", source=source)


def json_object(value: object, where: str, source: str, *, hint: str) -> Mapping[str, object]:
    """Return ``value`` if it is a JSON object."""
    if not isinstance(value, Mapping):
        problem = f"is {type(value).__name__}, not an object"
        raise malformed(source, where, problem, hint=hint)
    return cast("Mapping[str, object]", value)


def get(body: object, key: str, where: str, source: str, *, hint: str) -> object:
    """Return the value of ``key`` in the object ``body``, which must have it."""
    obj = json_object(body, where, source, hint=hint)
    if key not in obj:
        raise malformed(source, f"{where}.{key}", "is missing", hint=hint)
    return obj[key]


def json_list(
    body: object, key: str, where: str, source: str, *, hint: str, optional: bool = False
) -> list[object]:
    """Return the list under ``key``; an absent or null one is empty when ``optional``."""
    obj = json_object(body, where, source, hint=hint)
    value = obj.get(key)
    if value is None and optional:
        return []
    if not isinstance(value, list):
        problem = "is missing" if key not in obj else f"is {type(value).__name__}, not a list"
        raise malformed(source, f"{where}.{key}", problem, hint=hint)
    return cast("list[object]", value)


def integer(obj: Mapping[str, object], key: str, where: str, source: str, *, hint: str) -> int:
    """Return the integer under ``key`` (a boolean is not one)."""
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        problem = "is missing" if key not in obj else f"is {value!r}, not an integer"
        raise malformed(source, f"{where}.{key}", problem, hint=hint)
    return value


def text(obj: Mapping[str, object], key: str, where: str, source: str, *, hint: str) -> str:
    """Return the non-empty string under ``key``."""
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        problem = "is missing" if key not in obj else f"is {value!r}, not a non-empty string"
        raise malformed(source, f"{where}.{key}", problem, hint=hint)
    return value


def optional_text(
    obj: Mapping[str, object], key: str, where: str, source: str, *, hint: str
) -> str | None:
    """Return the string under ``key``, or ``None`` when it is absent, null or empty."""
    value = obj.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise malformed(source, f"{where}.{key}", f"is {value!r}, not a string", hint=hint)
    return value


def optional_instant(
    obj: Mapping[str, object], key: str, where: str, source: str, *, hint: str
) -> pendulum.DateTime | None:
    """Return the ISO 8601 instant under ``key`` (with its offset), or ``None`` if absent."""
    value = optional_text(obj, key, where, source, hint=hint)
    if value is None:
        return None
    try:
        return parse_instant(value)
    except InvalidInputError as exc:
        problem = f"is {value!r}, not an instant ({exc})"
        raise malformed(source, f"{where}.{key}", problem, hint=hint) from exc


def instant(
    obj: Mapping[str, object], key: str, where: str, source: str, *, hint: str
) -> pendulum.DateTime:
    """Return the ISO 8601 instant under ``key``, which must be there."""
    value = optional_instant(obj, key, where, source, hint=hint)
    if value is None:
        raise malformed(source, f"{where}.{key}", "is missing", hint=hint)
    return value


# --------------------------------------------------------------------------- documents people write

_JSON_TYPES: Final[Mapping[type, str]] = {
    type(None): "null",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    str: "a string",
    list: "an array",
    dict: "an object",
}
_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def json_type(value: object) -> str:
    """Name a parsed JSON value's type the way its author wrote it (``an array``, ``null``)."""
    return _JSON_TYPES.get(type(value), type(value).__name__)


def member_path(parent: str, key: str) -> str:
    """Return the JSON path of ``parent``'s member ``key``: ``a.b``, or ``a["not an id"]``."""
    if _IDENTIFIER.match(key):
        return f"{parent}.{key}" if parent else key
    return f"{parent}[{json.dumps(key)}]"


class Problems:
    """Reads parsed JSON, recording each mistake with its JSON path instead of stopping.

    Each reader returns what it could read (an empty value where the JSON
    has the wrong type) so that reading goes on and every mistake is found
    in one pass; :meth:`raise_if_any` then reports them all.

    Attributes:
        found: The ``(path, problem)`` pairs recorded so far, in order.
    """

    def __init__(self) -> None:
        self.found: list[tuple[str, str]] = []

    def __len__(self) -> int:
        """Return how many problems were recorded."""
        return len(self.found)

    def add(self, path: str, problem: str) -> None:
        """Record ``problem`` (what is wrong, what was expected) at the JSON path ``path``."""
        self.found.append((path, problem))

    def json_object(self, value: object, path: str) -> dict[str, object] | None:
        """Return ``value`` if it is a JSON object; else record the mistake, return ``None``."""
        if isinstance(value, dict):
            return cast("dict[str, object]", value)
        self.add(path, f"expected an object, got {json_type(value)}")
        return None

    def json_list(self, value: object, path: str) -> list[object]:
        """Return ``value`` if it is a JSON array; else record the mistake, return ``[]``."""
        if isinstance(value, list):
            return cast("list[object]", value)
        self.add(path, f"expected an array, got {json_type(value)}")
        return []

    def text(self, value: object, path: str) -> str:
        """Return ``value`` if it is a string (empty or not); else record it, return ``""``."""
        if isinstance(value, str):
            return value
        self.add(path, f"expected a string, got {json_type(value)}")
        return ""

    def text_map(self, value: object, path: str) -> dict[str, str]:
        """Return an object of strings, each mistake recorded at its member's path."""
        mapping = self.json_object(value, path) or {}
        return {key: self.text(item, member_path(path, key)) for key, item in mapping.items()}

    def text_list(self, value: object, path: str) -> list[str]:
        """Return an array of strings, each mistake recorded at its item's path."""
        items = self.json_list(value, path)
        return [self.text(item, f"{path}[{i}]") for i, item in enumerate(items)]

    def raise_if_any(self, origin: str) -> None:
        """Raise one error listing every problem recorded; do nothing if there is none.

        Args:
            origin: What was read, as the message names it (``dataset file x.json``).

        Raises:
            InvalidInputError: ``invalid <origin>: <path>: <problem>``, or the
                number of problems and one line per problem.
        """
        if not self.found:
            return
        if len(self.found) == 1:
            path, problem = self.found[0]
            msg = f"invalid {origin}: {path}: {problem}"
        else:
            lines = "\n".join(f"  {path}: {problem}" for path, problem in self.found)
            msg = f"invalid {origin}: {len(self.found)} problems:\n{lines}"
        raise InvalidInputError(msg)


def optional_string_map(
    obj: Mapping[str, object], key: str, where: str, source: str, *, hint: str
) -> dict[str, str]:
    """Return the object of strings under ``key`` (labels, annotations); absent or null is empty."""
    value = obj.get(key)
    if value is None:
        return {}
    at = f"{where}.{key}"
    mapping = json_object(value, at, source, hint=hint)
    for name, item in mapping.items():
        if not isinstance(item, str):
            problem = f"is {type(item).__name__}, not a string"
            raise malformed(source, f"{at}[{name!r}]", problem, hint=hint)
    return dict(cast("Mapping[str, str]", mapping))


# --- readers that name a wrong value's kind, never its content ---------------------

_RFC3339 = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt](?P<time>\d{2}:\d{2}:\d{2})"
    r"(?:\.(?P<fraction>\d+))?(?P<offset>[Zz]|[+-]\d{2}:\d{2})\Z"
)
_SHOWN = 64  # at most this many characters of a bad value are quoted


def path(where: str, key: str) -> str:
    """Return the path of ``key`` inside ``where`` (just ``key`` at the top level)."""
    return f"{where}.{key}" if where else key


def kind(value: object) -> str:
    """Name the JSON kind of ``value`` (``a string``, ``an object``, ``null``, ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def as_object(value: object, where: str, source: str, *, hint: str) -> Mapping[str, object]:
    """Return ``value`` if it is a JSON object (``where`` is its own path)."""
    if not isinstance(value, Mapping):
        raise malformed(source, where, f"is not an object (got {kind(value)})", hint=hint)
    return cast("Mapping[str, object]", value)


def _present(obj: Mapping[str, object], key: str, where: str, source: str, *, hint: str) -> object:
    if key not in obj:
        raise malformed(source, path(where, key), "is missing", hint=hint)
    return obj[key]


def as_list(
    obj: Mapping[str, object], key: str, where: str, source: str, *, hint: str
) -> list[object]:
    """Return the list under ``key``, which must be there."""
    value = _present(obj, key, where, source, hint=hint)
    if not isinstance(value, list):
        problem = f"is not a list (got {kind(value)})"
        raise malformed(source, path(where, key), problem, hint=hint)
    return cast("list[object]", value)


def string(
    obj: Mapping[str, object],
    key: str,
    where: str,
    source: str,
    *,
    hint: str,
    default: str | None = None,
) -> str:
    """Return the string (possibly empty) under ``key``; ``default`` if given and absent."""
    if default is not None and key not in obj:
        return default
    value = _present(obj, key, where, source, hint=hint)
    if not isinstance(value, str):
        problem = f"is not a string (got {kind(value)})"
        raise malformed(source, path(where, key), problem, hint=hint)
    return value


def choice(
    obj: Mapping[str, object],
    key: str,
    where: str,
    source: str,
    choices: tuple[str, ...],
    *,
    hint: str,
) -> str:
    """Return the string under ``key``, which must be one of ``choices``."""
    value = string(obj, key, where, source, hint=hint)
    if value not in choices:
        allowed = " or ".join(repr(c) for c in choices)
        problem = f"is {value[:_SHOWN]!r}, not {allowed}"
        raise malformed(source, path(where, key), problem, hint=hint)
    return value


def string_map(
    obj: Mapping[str, object], key: str, where: str, source: str, *, hint: str
) -> dict[str, str]:
    """Return the object of strings under ``key`` (labels, annotations) as a new dict."""
    at = path(where, key)
    mapping = as_object(_present(obj, key, where, source, hint=hint), at, source, hint=hint)
    for name, value in mapping.items():
        if not isinstance(value, str):
            problem = f"is not a string (got {kind(value)})"
            raise malformed(source, f"{at}.{name[:_SHOWN]}", problem, hint=hint)
    return dict(cast("Mapping[str, str]", mapping))


def count(
    obj: Mapping[str, object], key: str, where: str, source: str, *, hint: str, default: int
) -> int:
    """Return the non-negative integer under ``key`` (not a boolean); ``default`` if absent."""
    value = obj.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        got = str(value) if isinstance(value, int) and not isinstance(value, bool) else kind(value)
        raise malformed(source, path(where, key), f"is not a count (got {got})", hint=hint)
    return value


def rfc3339(
    obj: Mapping[str, object], key: str, where: str, source: str, *, hint: str
) -> pendulum.DateTime:
    """Return the RFC 3339 time with an offset under ``key``, as a UTC instant.

    Fractional seconds of any precision are accepted (Go sends nine digits)
    and kept to the microsecond.
    """
    at = path(where, key)
    value = string(obj, key, where, source, hint=hint)
    match = _RFC3339.match(value)
    if match is None:
        problem = f"is not an RFC 3339 time with an offset: {value[:_SHOWN]!r}"
        raise malformed(source, at, problem, hint=hint)
    fraction = (match["fraction"] or "")[:6].ljust(6, "0")
    offset = "+00:00" if match["offset"] in {"Z", "z"} else match["offset"]
    try:
        return parse_instant(f"{match['date']}T{match['time']}.{fraction}{offset}")
    except InvalidInputError as exc:
        problem = f"is not a valid time: {value!r} ({exc})"
        raise malformed(source, at, problem, hint=hint) from None
