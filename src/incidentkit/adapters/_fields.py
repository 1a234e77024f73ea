"""Reading fields out of a decoded JSON answer, each mistake a precise MalformedResponseError.

Shared by the JSON adapters (GitHub, Statuspage). Every reader takes the
object, the key, where the object sits in the answer (``deployments[3]``),
the adapter's name, and a hint that ends the message (what the user should
check: usually, that the URL points at the right API). The message names
the field's full path and what was found instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import pendulum

from incidentkit._errors import InvalidInputError, MalformedResponseError
from incidentkit._time import parse_instant

__all__ = [
    "get",
    "instant",
    "integer",
    "json_list",
    "json_object",
    "malformed",
    "optional_instant",
    "optional_string_map",
    "optional_text",
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
