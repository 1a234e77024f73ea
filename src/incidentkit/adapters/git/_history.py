"""Reading git's answers: commit and tag records, the path map, versions in diffs."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs
import pendulum

from incidentkit._errors import (
    InvalidInputError,
)
from incidentkit._time import parse_instant
from incidentkit.adapters.git._runner import FULL_SHA, RS, US, Git, abbrev

_LOG_FIELDS: Final = 6
_TAG_FIELDS: Final = 8
DEFAULT_MIGRATIONS: Final = r"(?:^|/)migrations?/"


def compile_pattern(pattern: str | None, what: str) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        msg = f"{what} {pattern!r} is not a valid regular expression: {exc}"
        raise InvalidInputError(msg) from exc


def untyped(attributes: dict[str, str]) -> Any:  # noqa: ANN401 - see below
    """Hand ``attributes`` to :class:`Change`, whose converter leaves type checkers unsure."""
    return attributes


@attrs.frozen
class Commit:
    sha: str
    parents: tuple[str, ...]
    author: str
    committed: pendulum.DateTime
    subject: str
    files: tuple[str, ...]


def parse_log(git: Git, text: str, what: str) -> list[Commit]:
    """Parse ``git log -z --name-only`` output of the format :data:`LOG_FORMAT`."""
    commits: list[Commit] = []
    for record in text.split(RS)[1:]:
        fields = record.split(US)
        if len(fields) != _LOG_FIELDS + 1:
            raise git.malformed(what, f"a commit record has {len(fields) - 1} fields, not 6")
        sha, parents, author, committed, subject, _reserved, tail = fields
        if not FULL_SHA.fullmatch(sha) or not all(FULL_SHA.fullmatch(p) for p in parents.split()):
            raise git.malformed(what, f"{sha[:60]!r} or its parents are not commit ids")
        try:
            when = parse_instant(committed)
        except InvalidInputError as exc:
            raise git.malformed(what, f"commit {abbrev(sha)}: {exc}") from None
        files = tuple(f for f in (n.removeprefix("\n") for n in tail.split("\0")) if f)
        commits.append(
            Commit(sha, tuple(parents.split()), author, when, subject, files),
        )
    return commits


LOG_FORMAT: Final = "--format=%x1e%H%x1f%P%x1f%an%x1f%cI%x1f%s%x1f%x1f"
TAG_FORMAT: Final = (
    "--format=%(refname)%1f%(objecttype)%1f%(objectname)%1f%(*objectname)%1f"
    "%(creatordate:iso-strict)%1f%(taggername)%1f%(contents:subject)%1f%1e"
)


def version_in(pattern: re.Pattern[str], lines: Iterable[str]) -> str | None:
    for line in lines:
        match = pattern.search(line)
        if match is None:
            continue
        if "version" in pattern.groupindex:
            value = match.group("version")
        elif pattern.groups:
            value = match.group(1)
        else:
            value = match.group(0)
        if value:
            return value
    return None


def template_regex(template: str) -> re.Pattern[str]:
    if template.count("{service}") != 1 or template.count("{version}") != 1:
        msg = (
            f"tag template {template!r} must hold {{service}} and {{version}} once each, "
            "e.g. 'deploy/{service}/{version}'"
        )
        raise InvalidInputError(msg)
    parts = re.split(r"(\{service\}|\{version\})", template)
    pattern = "".join(
        "(?P<service>[^/]+)"
        if part == "{service}"
        else "(?P<version>.+)"
        if part == "{version}"
        else re.escape(part)
        for part in parts
    )
    return re.compile(pattern)


def services_of(paths: Mapping[str, str], files: Iterable[str]) -> dict[str, list[str]]:
    """Return, for each service, the files under its path prefixes, in order."""
    touched: dict[str, list[str]] = {}
    for name in files:
        for prefix, service in paths.items():
            directory = prefix.rstrip("/")
            if name == directory or name.startswith(f"{directory}/"):
                touched.setdefault(service, []).append(name)
                break
    return touched


@attrs.frozen
class Tag:
    name: str
    service: str
    version: str
    commit: str
    created: pendulum.DateTime
    tagger: str
    subject: str


def parse_tag(git: Git, record: str, template: re.Pattern[str], what: str) -> Tag | None:
    """Parse one record of :data:`TAG_FORMAT`; ``None`` for a tag that is not a deploy."""
    if not record.strip():
        return None
    fields = record.split(US)
    if len(fields) != _TAG_FIELDS:
        raise git.malformed(what, f"a tag record has {len(fields)} fields, not 8")
    ref, kind, obj, peeled, created, tagger, subject, _ = fields
    name = ref.removeprefix("refs/tags/")
    match = template.fullmatch(name)
    # Only tags of commits are deploys (not a tag of a tree, a blob or another tag).
    if match is None or kind not in {"tag", "commit"} or (kind == "tag" and not peeled):
        return None
    commit = peeled if kind == "tag" else obj
    if not FULL_SHA.fullmatch(commit):
        raise git.malformed(what, f"tag {name!r} points at {commit[:60]!r}")
    try:
        when = parse_instant(created)
    except InvalidInputError as exc:
        raise git.malformed(what, f"tag {name!r}: {exc}") from None
    annotated = kind == "tag"
    return Tag(
        name=name,
        service=match.group("service"),
        version=match.group("version"),
        commit=commit,
        created=when,
        tagger=tagger if annotated else "",
        subject=subject if annotated else "",
    )
