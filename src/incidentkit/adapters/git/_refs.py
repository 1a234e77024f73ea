"""Names git is given: ref names by ``git check-ref-format``'s rules, commit ids, paths.

Every value that reaches git from a caller, a change or an option is checked
here first, so that none of them can be read by git as an option, a revision
expression or a path outside the repository.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Final, cast

from incidentkit._errors import InvalidInputError

#: Characters ``git check-ref-format`` refuses anywhere in a ref name.
_FORBIDDEN: Final = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
_HEX: Final = re.compile(r"[0-9a-f]{4,40}")


def _bad_component(name: str) -> bool:
    return any(not part or part.startswith(".") for part in name.split("/"))


#: ``git check-ref-format --allow-onelevel``'s rules, each with the reason it gives.
_REF_RULES: Final[tuple[tuple[Callable[[str], bool], str], ...]] = (
    (lambda name: not name, "it is empty"),
    (
        lambda name: _FORBIDDEN.search(name) is not None,
        "it holds a space, a control character or one of ~ ^ : ? * [ \\",
    ),
    (lambda name: ".." in name, "it holds '..'"),
    (lambda name: "@{" in name, "it holds '@{'"),
    (lambda name: name == "@", "it is '@'"),
    (lambda name: name.endswith("."), "it ends with '.'"),
    (_bad_component, "a component is empty (a leading, trailing or doubled '/'), starts with '.'"),
    (lambda name: name.endswith(".lock") or ".lock/" in name, "a component ends with '.lock'"),
)


def refname_problem(name: str) -> str | None:
    """Return why ``name`` breaks ``git check-ref-format --allow-onelevel``, or ``None``."""
    return next((reason for broken, reason in _REF_RULES if broken(name)), None)


def check_branch(branch: str, what: str) -> str:
    """Return ``branch`` if ``git check-ref-format --branch`` would take it.

    Raises:
        InvalidInputError: It is not a string, starts with ``-``, is ``HEAD``,
            or ``refs/heads/<branch>`` is not a valid ref name.
    """
    if not isinstance(cast("object", branch), str):
        msg = f"{what} must be a git branch name, not {branch!r}"
        raise InvalidInputError(msg)
    problem = refname_problem(f"refs/heads/{branch}")
    if branch.startswith("-"):
        problem = "it starts with '-'"
    elif branch in {"HEAD", "@"}:
        problem = "git reads it as HEAD"
    elif not branch:
        problem = "it is empty"
    if problem is not None:
        msg = (
            f"{what} must be a git ref name (branch) that does not start with '-', not "
            f"{branch!r}: {problem}"
        )
        raise InvalidInputError(msg)
    return branch


def check_ref(ref: str, what: str) -> str:
    """Return ``ref`` if it is ``HEAD``, a hexadecimal object name or a valid ref name.

    Raises:
        InvalidInputError: Anything else, such as ``--output=x``, ``main~1``
            or a name with a control character.
    """
    if not isinstance(cast("object", ref), str):
        msg = f"{what} must be a git ref name that does not start with '-', not {ref!r}"
        raise InvalidInputError(msg)
    if ref == "HEAD" or _HEX.fullmatch(ref):
        return ref
    problem = "it starts with '-'" if ref.startswith("-") else refname_problem(ref)
    if problem is not None:
        msg = (
            f"{what} must be a git ref name that does not start with '-' (HEAD, main, "
            f"origin/main, refs/heads/main) or a commit id, not {ref!r}: {problem}"
        )
        raise InvalidInputError(msg)
    return ref


def path_problem(path: str) -> str | None:
    """Return why ``path`` is not a plain path inside the repository, or ``None``."""
    if not path.strip():
        return "it is empty"
    if path.startswith(("/", "-")):
        return "it starts with '/' or '-'"
    if _CONTROL.search(path):
        return "it holds a control character"
    if any(part in {"..", ".git"} for part in path.split("/")):
        return "it holds a '..' or '.git' component"
    return None


def check_paths(paths: Mapping[str, str]) -> dict[str, str]:
    """Return the ``{path prefix: service}`` map if every prefix and service is well-formed.

    Raises:
        InvalidInputError: The map is empty, a prefix is absolute, starts
            with ``-``, climbs out with ``..`` or holds a control character,
            or a service name is empty or holds a control character.
    """
    checked: dict[str, str] = {}
    if not isinstance(cast("object", paths), Mapping) or not paths:
        msg = "paths must map at least one path prefix to a service name"
        raise InvalidInputError(msg)
    for prefix, service in paths.items():
        problem = (
            path_problem(prefix) if isinstance(cast("object", prefix), str) else "not a string"
        )
        if problem is not None:
            msg = (
                f"path prefix {prefix!r} must be a path relative to the repository's root "
                f"({problem})"
            )
            raise InvalidInputError(msg)
        if (
            not isinstance(cast("object", service), str)
            or not service.strip()
            or _CONTROL.search(service)
        ):
            msg = (
                f"the service of path prefix {prefix!r} must be a non-empty name without "
                f"control characters, not {service!r}"
            )
            raise InvalidInputError(msg)
        checked[prefix] = service
    return checked


def has_control(text: str) -> bool:
    """Whether ``text`` holds a control character (newlines included)."""
    return _CONTROL.search(text) is not None


def check_location(location: str | os.PathLike[str], what: str) -> str:
    """Return a path (or URL) as a string, if the operating system can pass it to git.

    Raises:
        InvalidInputError: It is not a string or path, or it holds a NUL character.
    """
    try:
        text = os.fspath(location)
    except TypeError:
        text = None
    if not isinstance(text, str) or not text or "\0" in text:
        msg = f"{what} must be a path without NUL characters, not {location!r}"
        raise InvalidInputError(msg)
    return text


def printable(text: str) -> str:
    """Return ``text`` with every control character replaced by ``?``."""
    return _CONTROL.sub("?", text)
