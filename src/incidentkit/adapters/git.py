"""Deploy history from a git repository, and GitOps rollbacks by ``git revert``.

:class:`GitDeploySource` reads deploys out of a repository in one of two ways:

* **GitOps paths** (``paths={"apps/checkout/": "checkout"}``): every commit on
  the branch's first-parent history that touches a path is a deploy of the
  service mapped to it;
* **deploy tags** (``tags="deploy/{service}/{version}"``): every tag that
  matches the template is a deploy of its service at its version.

:class:`GitOpsRollbackExecutor` rolls a GitOps deploy back by reverting its
commit on the live branch and pushing the revert (``mode="push"``), or by
pushing a revert branch for review (``mode="branch"``). It refuses to revert
through a later commit that touched the same files unless it is told to, and
it rehearses every revert in a temporary worktree first.

Both run the ``git`` executable (never a shell) with a timeout on every call,
with ``GIT_TERMINAL_PROMPT=0`` so that nothing ever waits for a password, and
with ``LC_ALL=C`` so that git's messages can be read. Every failure becomes a
typed :class:`~incidentkit.SourceError` whose message quotes git and never a
credential from a remote URL.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import datetime as dt
import enum
import os
import re
import signal
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Literal, cast

import attrs
import pendulum

from incidentkit import _arguments
from incidentkit._errors import (
    InvalidInputError,
    MalformedResponseError,
    RollbackFailedError,
    SourceAuthError,
    SourceError,
    SourceRequestError,
    SourceTimeoutError,
    SourceUnavailableError,
)
from incidentkit._model import (
    Caveat,
    CaveatKind,
    Change,
    ChangeKind,
    RollbackOption,
    RollbackResult,
)
from incidentkit._time import parse_instant

__all__ = ["GitDeploySource", "GitOpsRollbackExecutor", "RevertMode"]

RevertMode = Literal["push", "branch"]
"""How :class:`GitOpsRollbackExecutor` delivers a revert.

``"push"`` commits the revert on the live branch and pushes it; ``"branch"``
pushes a revert branch for review and changes nothing live.

.. versionadded:: 0.1.0
"""

_SHORT: Final = 12
_FULL_SHA: Final = re.compile(r"[0-9a-f]{40}")
_HEX_PREFIX: Final = re.compile(r"[0-9a-f]{7,40}")
_IDENTITY: Final = re.compile(r"\s*(?P<name>[^<>]*?)\s*<(?P<email>[^<>\s]+)>\s*")
_USERINFO: Final = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")
_RS: Final = "\x1e"
_US: Final = "\x1f"
_LOG_FIELDS: Final = 6
_TAG_FIELDS: Final = 8
_LS_REMOTE_FIELDS: Final = 2
_DEFAULT_MIGRATIONS: Final = r"(?:^|/)migrations?/"
_STDERR_SHOWN: Final = 600
#: Inherited variables that would point git at another repository or identity.
_DROPPED_ENV: Final = frozenset(
    {
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_NAMESPACE",
        "GIT_CEILING_DIRECTORIES",
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_AUTHOR_DATE",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "GIT_COMMITTER_DATE",
    }
)
_IN_PROGRESS: Final = (
    "MERGE_HEAD",
    "REVERT_HEAD",
    "CHERRY_PICK_HEAD",
    "rebase-merge",
    "rebase-apply",
    "sequencer",
)


def _redact(text: str) -> str:
    """Mask the user information (``user:token@``) of every URL in ``text``."""
    return _USERINFO.sub(lambda m: f"{m.group('scheme')}***@", text)


def _check_ref(ref: str, what: str) -> str:
    if not isinstance(cast("object", ref), str) or not ref.strip() or ref.startswith("-"):
        msg = f"{what} must be a git ref name that does not start with '-', not {ref!r}"
        raise InvalidInputError(msg)
    return ref


def _compile(pattern: str | None, what: str) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        msg = f"{what} {pattern!r} is not a valid regular expression: {exc}"
        raise InvalidInputError(msg) from exc


def _untyped(attributes: dict[str, str]) -> Any:  # noqa: ANN401 - see below
    """Hand ``attributes`` to :class:`Change`, whose converter leaves type checkers unsure."""
    return attributes


def _short(sha: str) -> str:
    return sha[:_SHORT]


def _excerpt(text: str) -> str:
    text = _redact(text.strip())
    if len(text) > _STDERR_SHOWN:
        text = text[:_STDERR_SHOWN] + " ..."
    return text


class _Failure(enum.Enum):
    NOT_A_REPOSITORY = "not a repository"
    BAD_REF = "bad ref"
    AUTH = "auth"
    REMOTE = "remote"
    OTHER = "other"


_NOT_A_REPOSITORY: Final = ("not a git repository", "cannot change to")
_BAD_REF: Final = (
    "unknown revision",
    "bad revision",
    "needed a single revision",
    "not a valid object name",
    "invalid object name",
    "bad object",
    "couldn't find remote ref",
    "not a valid ref",
    "invalid reference",
)
_AUTH: Final = (
    "authentication failed",
    "could not read username",
    "could not read password",
    "terminal prompts disabled",
    "permission denied (publickey",
    "http 401",
    "http 403",
    "the requested url returned error: 401",
    "the requested url returned error: 403",
)
_REMOTE: Final = (
    "could not read from remote repository",
    "does not appear to be a git repository",
    "unable to access",
    "could not resolve host",
    "failed to connect",
    "connection refused",
    "connection timed out",
    "repository not found",
    "not found",
    "unable to connect",
)


def _classify(stderr: str) -> _Failure:
    said = stderr.lower()
    for failure, needles in (
        (_Failure.NOT_A_REPOSITORY, _NOT_A_REPOSITORY),
        (_Failure.AUTH, _AUTH),
        (_Failure.BAD_REF, _BAD_REF),
        (_Failure.REMOTE, _REMOTE),
    ):
        if any(n in said for n in needles):
            return failure
    return _Failure.OTHER


@attrs.frozen
class _Answer:
    returncode: int
    stdout: str
    stderr: str


class _Git:
    """Runs ``git -C <repo> ...`` with a timeout, a safe environment and typed failures."""

    def __init__(self, *, executable: str, repo: str, timeout: float, source: str) -> None:
        self.executable = executable
        self.repo = repo
        self.timeout = timeout
        self.source = source

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
        env.update(
            {
                "GIT_TERMINAL_PROMPT": "0",
                "LC_ALL": "C",
                "LANGUAGE": "C",
                "GIT_PAGER": "cat",
            }
        )
        return env

    def run(self, *args: str, what: str, check: bool = True, cwd: str | None = None) -> _Answer:
        """Run git; with ``check``, a non-zero exit raises a classified SourceError."""
        where = cwd or self.repo
        command = [
            self.executable,
            "--no-pager",
            "--literal-pathspecs",  # file names are never glob patterns
            "-C",
            where,
            "-c",
            "color.ui=false",
            "-c",
            "core.quotepath=off",
            "-c",
            "log.showSignature=false",
            *args,
        ]
        try:
            process = subprocess.Popen(  # noqa: S603 - an argument list, no shell
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self._env(),
                start_new_session=True,  # so that a timeout kills git and its helpers
            )
        except FileNotFoundError as exc:
            msg = (
                f"{self.source}: the git executable {self.executable!r} was not found; "
                "install git (2.31 or newer) or pass git='/path/to/git'"
            )
            raise SourceUnavailableError(msg, source=self.source) from exc
        except OSError as exc:
            msg = (
                f"{self.source}: could not run git {self.executable!r} ({exc.strerror or exc}); "
                "check that it is an executable git binary"
            )
            raise SourceUnavailableError(msg, source=self.source) from exc
        with process:
            try:
                out, err = process.communicate(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                self._kill(process)
                process.communicate()
                msg = (
                    f"{self.source}: git {_redact(what)} in {_redact(where)} gave no answer within "
                    f"{self.timeout:g} s and was stopped; check that the repository and its "
                    "remote are reachable, or raise the timeout"
                )
                raise SourceTimeoutError(msg, source=self.source, timeout=self.timeout) from None
        answer = _Answer(
            process.returncode,
            out.decode("utf-8", errors="replace"),
            err.decode("utf-8", errors="replace"),
        )
        if check and answer.returncode != 0:
            raise self.error(answer, what, where)
        return answer

    @staticmethod
    def _kill(process: subprocess.Popen[bytes]) -> None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except OSError:  # pragma: no cover - the group is already gone
            process.kill()

    def error(self, answer: _Answer, what: str, where: str | None = None) -> SourceError:
        """Return the typed error for a failed git call."""
        # A repository given as a URL may carry a credential: never show it.
        where = _redact(where or self.repo)
        what = _redact(what)
        said = _excerpt(answer.stderr) or f"exit status {answer.returncode}, no message"
        failure = _classify(answer.stderr)
        if failure is _Failure.NOT_A_REPOSITORY:
            msg = (
                f"{self.source}: {where} is not a git repository (git {what}: {said}); "
                "check the path, or clone the repository there"
            )
            return SourceUnavailableError(msg, source=self.source)
        if failure is _Failure.AUTH:
            msg = (
                f"{self.source}: the remote refused the credentials (git {what}: {said}); "
                "check the credential helper, the SSH key or the token this host uses "
                "(git never prompts here)"
            )
            return SourceAuthError(msg, source=self.source)
        if failure is _Failure.BAD_REF:
            msg = (
                f"{self.source}: git {what} in {where} failed: {said}; check that the ref "
                "or commit exists there (fetch it first)"
            )
            return SourceRequestError(msg, source=self.source)
        if failure is _Failure.REMOTE:
            msg = (
                f"{self.source}: could not reach the remote (git {what}: {said}); check the "
                "remote's URL and that this host can reach it"
            )
            return SourceUnavailableError(msg, source=self.source)
        msg = f"{self.source}: git {what} in {where} failed: {said}"
        return SourceUnavailableError(msg, source=self.source)

    def malformed(self, what: str, detail: str) -> MalformedResponseError:
        msg = (
            f"{self.source}: could not read the output of git {_redact(what)} in "
            f"{_redact(self.repo)}: "
            f"{_redact(detail)}; check that {self.executable!r} is git 2.31 or newer"
        )
        return MalformedResponseError(msg, source=self.source)


# --------------------------------------------------------------------------- parsing


@attrs.frozen
class _Commit:
    sha: str
    parents: tuple[str, ...]
    author: str
    committed: pendulum.DateTime
    subject: str
    files: tuple[str, ...]


def _parse_log(git: _Git, text: str, what: str) -> list[_Commit]:
    """Parse ``git log -z --name-only`` output of the format :data:`_LOG_FORMAT`."""
    commits: list[_Commit] = []
    for record in text.split(_RS)[1:]:
        fields = record.split(_US)
        if len(fields) != _LOG_FIELDS + 1:
            raise git.malformed(what, f"a commit record has {len(fields) - 1} fields, not 6")
        sha, parents, author, committed, subject, _reserved, tail = fields
        if not _FULL_SHA.fullmatch(sha):
            raise git.malformed(what, f"{sha[:60]!r} is not a commit id")
        try:
            when = parse_instant(committed)
        except InvalidInputError as exc:
            raise git.malformed(what, f"commit {_short(sha)}: {exc}") from None
        files = tuple(f for f in (n.removeprefix("\n") for n in tail.split("\0")) if f)
        commits.append(
            _Commit(sha, tuple(parents.split()), author, when, subject, files),
        )
    return commits


_LOG_FORMAT: Final = "--format=%x1e%H%x1f%P%x1f%an%x1f%cI%x1f%s%x1f%x1f"
_TAG_FORMAT: Final = (
    "--format=%(refname)%1f%(objecttype)%1f%(objectname)%1f%(*objectname)%1f"
    "%(creatordate:iso-strict)%1f%(taggername)%1f%(contents:subject)%1f%1e"
)


def _version_in(pattern: re.Pattern[str], lines: Iterable[str]) -> str | None:
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


def _template_regex(template: str) -> re.Pattern[str]:
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


def _check_paths(paths: Mapping[str, str]) -> dict[str, str]:
    checked: dict[str, str] = {}
    if not isinstance(cast("object", paths), Mapping) or not paths:
        msg = "paths must map at least one path prefix to a service name"
        raise InvalidInputError(msg)
    for prefix, service in paths.items():
        if (
            not isinstance(cast("object", prefix), str)
            or not prefix.strip()
            or prefix.startswith(("/", "-"))
        ):
            msg = f"path prefix {prefix!r} must be a path relative to the repository's root"
            raise InvalidInputError(msg)
        if not isinstance(cast("object", service), str) or not service.strip():
            msg = f"the service of path prefix {prefix!r} must be a non-empty name"
            raise InvalidInputError(msg)
        checked[prefix] = service
    return checked


def _services_of(paths: Mapping[str, str], files: Iterable[str]) -> dict[str, list[str]]:
    """Return, for each service, the files under its path prefixes, in order."""
    touched: dict[str, list[str]] = {}
    for name in files:
        for prefix, service in paths.items():
            directory = prefix.rstrip("/")
            if name == directory or name.startswith(f"{directory}/"):
                touched.setdefault(service, []).append(name)
                break
    return touched


# --------------------------------------------------------------------------- the source


@attrs.frozen
class _Tag:
    name: str
    service: str
    version: str
    commit: str
    created: pendulum.DateTime
    tagger: str
    subject: str


def _parse_tag(git: _Git, record: str, template: re.Pattern[str], what: str) -> _Tag | None:
    """Parse one record of :data:`_TAG_FORMAT`; ``None`` for a tag that is not a deploy."""
    if not record.strip():
        return None
    fields = record.split(_US)
    if len(fields) != _TAG_FIELDS:
        raise git.malformed(what, f"a tag record has {len(fields)} fields, not 8")
    ref, kind, obj, peeled, created, tagger, subject, _ = fields
    name = ref.removeprefix("refs/tags/")
    match = template.fullmatch(name)
    # Only tags of commits are deploys (not a tag of a tree, a blob or another tag).
    if match is None or kind not in {"tag", "commit"} or (kind == "tag" and not peeled):
        return None
    commit = peeled if kind == "tag" else obj
    if not _FULL_SHA.fullmatch(commit):
        raise git.malformed(what, f"tag {name!r} points at {commit[:60]!r}")
    try:
        when = parse_instant(created)
    except InvalidInputError as exc:
        raise git.malformed(what, f"tag {name!r}: {exc}") from None
    annotated = kind == "tag"
    return _Tag(
        name=name,
        service=match.group("service"),
        version=match.group("version"),
        commit=commit,
        created=when,
        tagger=tagger if annotated else "",
        subject=subject if annotated else "",
    )


class GitDeploySource:
    r"""**Implements**: :class:`~incidentkit.protocols.DeploySource`, from a git repository.

    Give exactly one of ``paths`` (GitOps mode) and ``tags`` (deploy-tag mode).

    **GitOps paths.** Every commit of the first-parent history of ``ref``
    (merges count once, as the merge, compared with their first parent) that
    touches a file under a mapped prefix is a ``DEPLOY`` of that prefix's
    service:

    * ``id``: the commit's 12-character abbreviated id; when one commit
      touches several services, ``<id>/<service>`` so that ids stay unique;
    * ``started`` and ``finished``: the committer date (when the commit was
      made or merged, which is when it landed on the branch; the author date
      can be days older after a rebase). A commit is an instant:
      ``finished == started``;
    * ``version``: with ``version_pattern``, the first match among the lines
      the commit adds under the service's prefixes (the named group
      ``version``, else group 1, else the whole match); otherwise, or when
      nothing matches, the abbreviated commit id. ``previous_version``: the
      first match among the lines it removes, else the abbreviated id of the
      previous commit that touched the service's prefixes (``None`` if none);
    * ``author``: the author's name (names are what responders recognise;
      emails are often no-reply addresses); ``summary``: the subject;
      ``link``: ``commit_url`` formatted with ``sha`` (full) and ``short``;
    * ``attributes``: ``commit`` (the full id), ``path`` (the files touched
      under the service's prefixes, one per line), ``ref``, and
      ``schema_migration: "true"`` with ``migrations`` (the files) when the
      commit touches a file that ``migrations`` matches.

    **Deploy tags.** Every tag whose name matches ``tags``, a template with
    ``{service}`` and ``{version}`` once each, is a ``DEPLOY``: ``id`` is the
    tag's name, ``started == finished`` the tagger date of an annotated tag
    or the commit date of a lightweight one, ``version`` from the name,
    ``previous_version`` from the service's previous tag by date, ``author``
    the tagger (or the commit's author), ``summary`` the tag's subject (or the
    commit's). Attributes: ``commit``, ``tag``, and ``schema_migration`` when
    the diff from the previous tag's commit touches a migration file.

    Args:
        repo: The repository (a clone or a bare repository) to read.
        paths: GitOps mode: ``{path: service}``, where a path is a directory
            (``apps/checkout/`` or ``apps/checkout``) or a file of the
            repository; it covers the files under it, not ``apps/checkout-worker``.
        tags: Deploy-tag mode: the tag name template.
        ref: The branch or ref whose history is read (GitOps mode).
        name: The source's name, as the journal and the findings show it.
        version_pattern: A regular expression that finds the version in a
            changed line, such as ``r"image: \S+:(\S+)"`` (GitOps mode).
        migrations: A regular expression searched in each file path to spot
            a schema migration; ``None`` turns the check off.
        commit_url: A link template such as
            ``"https://github.com/org/repo/commit/{sha}"``.
        environment: The environment the deploys went to, if one.
        git: The git executable.
        timeout: Seconds each git call may take.

    Raises:
        InvalidInputError: Both or neither of ``paths`` and ``tags``, a bad
            template, regular expression, ref, name or timeout.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        repo: str | os.PathLike[str],
        *,
        paths: Mapping[str, str] | None = None,
        tags: str | None = None,
        ref: str = "HEAD",
        name: str = "git",
        version_pattern: str | None = None,
        migrations: str | None = _DEFAULT_MIGRATIONS,
        commit_url: str | None = None,
        environment: str | None = None,
        git: str = "git",
        timeout: float = 30.0,
    ) -> None:
        if (paths is None) == (tags is None):
            msg = (
                "give exactly one of paths={prefix: service} (GitOps mode) and "
                "tags='deploy/{service}/{version}' (deploy-tag mode)"
            )
            raise InvalidInputError(msg)
        self._name = _arguments.check_name(name)
        self._paths = None if paths is None else _check_paths(paths)
        self._tags = None if tags is None else _template_regex(tags)
        self._template = tags
        self._ref = _check_ref(ref, "ref")
        self._version = _compile(version_pattern, "version_pattern")
        self._migrations = _compile(migrations, "migrations")
        if commit_url is not None:
            try:
                commit_url.format(sha="0" * 40, short="0" * _SHORT)
            except (KeyError, IndexError, ValueError) as exc:
                msg = f"commit_url {commit_url!r} may only use {{sha}} and {{short}}: {exc}"
                raise InvalidInputError(msg) from exc
        self._commit_url = commit_url
        self._environment = environment
        self._git = _Git(
            executable=git,
            repo=os.fspath(repo),
            timeout=_arguments.check_timeout(timeout),
            source=name,
        )

    @property
    def name(self) -> str:
        """The source's name."""
        return self._name

    @property
    def repo(self) -> str:
        """The repository read."""
        return self._git.repo

    @property
    def ref(self) -> str:
        """The ref whose history is read in GitOps mode."""
        return self._ref

    @property
    def paths(self) -> Mapping[str, str] | None:
        """The ``{path prefix: service}`` map (GitOps mode), else ``None``."""
        return None if self._paths is None else dict(self._paths)

    @property
    def git(self) -> str:
        """The git executable run."""
        return self._git.executable

    @property
    def timeout(self) -> float:
        """Seconds each git call may take."""
        return self._git.timeout

    @property
    def migrations(self) -> str | None:
        """The regular expression that spots migration files, or ``None``."""
        return None if self._migrations is None else self._migrations.pattern

    def __repr__(self) -> str:
        """Return the class, the name, the repository and the mode."""
        mode = f"paths={self._paths!r}" if self._paths is not None else f"tags={self._template!r}"
        return f"GitDeploySource({_redact(self.repo)!r}, {mode}, name={self._name!r})"

    def deploys(
        self,
        start: dt.datetime,
        end: dt.datetime,
        *,
        services: Sequence[str] | None = None,
    ) -> list[Change]:
        """Return the deploys that happened in ``[start, end]``, oldest first.

        Args:
            start: The window's start (timezone-aware).
            end: The window's end (timezone-aware).
            services: Only these services; ``None`` means all. A single
                string is one service name.

        Returns:
            ``DEPLOY`` changes sorted by ``started`` (then ``id``).

        Raises:
            NaiveDatetimeError: ``start`` or ``end`` has no time zone.
            InvalidInputError: The window ends before it starts.
            SourceUnavailableError: git is missing, the repository is not
                there, or git failed.
            SourceTimeoutError: A git call ran out of time.
            SourceRequestError: The ref does not exist.
            MalformedResponseError: git answered something unreadable.
        """
        first, last = _arguments.check_window(start, end, name=self._name)
        wanted = _arguments.service_filter(services)
        if self._paths is not None:
            found = self._path_deploys(self._paths, first, last, wanted)
        else:
            found = self._tag_deploys(first, last, wanted)
        return sorted(found, key=lambda c: (c.started, c.id))

    # -------------------------------------------------------------- GitOps paths

    def _path_deploys(
        self,
        paths: Mapping[str, str],
        first: pendulum.DateTime,
        last: pendulum.DateTime,
        wanted: frozenset[str] | None,
    ) -> list[Change]:
        chosen = {p: s for p, s in paths.items() if wanted is None or s in wanted}
        if not chosen:
            return []
        # --since stops the walk at the first older commit: leave a day for clock skew.
        since = first.subtract(days=1).isoformat()
        answer = self._git.run(
            "log",
            "-z",
            "--first-parent",
            "--diff-merges=first-parent",
            "--full-diff",
            "--name-only",
            "--no-renames",
            _LOG_FORMAT,
            f"--since={since}",
            "--end-of-options",
            self._ref,
            "--",
            *chosen,
            what=f"log {self._ref}",
        )
        commits = _parse_log(self._git, answer.stdout, f"log {self._ref}")
        history: dict[str, list[tuple[_Commit, list[str]]]] = {}
        for commit in commits:  # newest first
            for service, files in _services_of(chosen, commit.files).items():
                history.setdefault(service, []).append((commit, files))
        changes: list[Change] = []
        for service, entries in history.items():
            prefixes = [p for p, s in chosen.items() if s == service]
            for position, (commit, files) in enumerate(entries):
                if not first <= commit.committed <= last:
                    continue
                before = entries[position + 1][0] if position + 1 < len(entries) else None
                changes.append(self._path_change(commit, service, files, prefixes, before))
        return changes

    def _previous_commit(self, commit: _Commit, prefixes: Sequence[str]) -> str | None:
        if not commit.parents:
            return None
        answer = self._git.run(
            "log",
            "-1",
            "--first-parent",
            "--format=%H",
            "--end-of-options",
            commit.parents[0],
            "--",
            *prefixes,
            what=f"log {_short(commit.parents[0])}",
        )
        sha = answer.stdout.strip()
        if not sha:
            return None
        if not _FULL_SHA.fullmatch(sha):
            raise self._git.malformed("log", f"{sha[:60]!r} is not a commit id")
        return sha

    def _diff_versions(
        self, commit: _Commit, prefixes: Sequence[str]
    ) -> tuple[str | None, str | None]:
        assert self._version is not None  # noqa: S101 - only called with a pattern
        answer = self._git.run(
            "show",
            "--format=",
            "--diff-merges=first-parent",
            "--no-ext-diff",
            "--no-renames",
            "-U0",
            "--end-of-options",
            commit.sha,
            "--",
            *prefixes,
            what=f"show {_short(commit.sha)}",
        )
        lines = answer.stdout.splitlines()
        added = (line[1:] for line in lines if line.startswith("+") and not line.startswith("+++"))
        removed = (
            line[1:] for line in lines if line.startswith("-") and not line.startswith("---")
        )
        return _version_in(self._version, added), _version_in(self._version, removed)

    def _path_change(
        self,
        commit: _Commit,
        service: str,
        files: list[str],
        prefixes: Sequence[str],
        before: _Commit | None,
    ) -> Change:
        version: str | None = None
        previous: str | None = None
        if self._version is not None:
            version, previous = self._diff_versions(commit, prefixes)
        if version is None:
            version = _short(commit.sha)
        if previous is None:
            before_sha = (
                before.sha if before is not None else self._previous_commit(commit, prefixes)
            )
            previous = None if before_sha is None else _short(before_sha)
        attributes = {"commit": commit.sha, "path": "\n".join(files), "ref": self._ref}
        migrations = self._migration_files(commit.files)
        if migrations:
            attributes["schema_migration"] = "true"
            attributes["migrations"] = "\n".join(migrations)
        mapped = self._paths or {}
        owners = set(_services_of(mapped, commit.files))
        change_id = _short(commit.sha) if len(owners) <= 1 else f"{_short(commit.sha)}/{service}"
        return Change(
            id=change_id,
            kind=ChangeKind.DEPLOY,
            service=service,
            started=commit.committed,
            finished=commit.committed,
            source=self._name,
            summary=commit.subject,
            environment=self._environment,
            version=version,
            previous_version=previous,
            author=commit.author or None,
            link=self._link(commit.sha),
            attributes=_untyped(attributes),
        )

    def _migration_files(self, files: Iterable[str]) -> list[str]:
        if self._migrations is None:
            return []
        pattern = self._migrations
        return [f for f in files if pattern.search(f)]

    def _link(self, sha: str) -> str | None:
        if self._commit_url is None:
            return None
        return self._commit_url.format(sha=sha, short=_short(sha))

    # -------------------------------------------------------------- deploy tags

    def _tag_deploys(
        self, first: pendulum.DateTime, last: pendulum.DateTime, wanted: frozenset[str] | None
    ) -> list[Change]:
        assert self._tags is not None  # noqa: S101 - tag mode
        what = "for-each-ref refs/tags"
        answer = self._git.run(
            "for-each-ref", "--sort=creatordate", _TAG_FORMAT, "refs/tags", what=what
        )
        by_service: dict[str, list[_Tag]] = {}
        for record in answer.stdout.split(_RS):
            tag = _parse_tag(self._git, record.removeprefix("\n"), self._tags, what)
            if tag is not None and (wanted is None or tag.service in wanted):
                by_service.setdefault(tag.service, []).append(tag)
        changes: list[Change] = []
        for entries in by_service.values():
            entries.sort(key=lambda t: (t.created, t.name))
            for position, tag in enumerate(entries):
                if first <= tag.created <= last:
                    before = entries[position - 1] if position else None
                    changes.append(self._tag_change(tag, before))
        return changes

    def _tag_change(self, tag: _Tag, before: _Tag | None) -> Change:
        author, subject = tag.tagger, tag.subject
        if not author or not subject:  # a lightweight tag: the commit says who and what
            answer = self._git.run(
                "log",
                "-1",
                "--format=%an%x1f%s",
                "--end-of-options",
                tag.commit,
                what=f"log {tag.name}",
            )
            commit_author, _, commit_subject = answer.stdout.rstrip("\n").partition(_US)
            author = author or commit_author
            subject = subject or commit_subject
        attributes = {"commit": tag.commit, "tag": tag.name}
        if before is not None and self._migrations is not None and before.commit != tag.commit:
            diff = self._git.run(
                "diff",
                "--name-only",
                "-z",
                "--no-renames",
                "--end-of-options",
                before.commit,
                tag.commit,
                what=f"diff {before.name} {tag.name}",
            )
            migrations = self._migration_files(f for f in diff.stdout.split("\0") if f)
            if migrations:
                attributes["schema_migration"] = "true"
                attributes["migrations"] = "\n".join(migrations)
        return Change(
            id=tag.name,
            kind=ChangeKind.DEPLOY,
            service=tag.service,
            started=tag.created,
            finished=tag.created,
            source=self._name,
            summary=subject,
            environment=self._environment,
            version=tag.version,
            previous_version=None if before is None else before.version,
            author=author or None,
            link=self._link(tag.commit),
            attributes=_untyped(attributes),
        )


def _branch_of(ref: str, remote: str) -> str | None:
    """Return the branch name a source's ref stands for (``None`` for ``HEAD``)."""
    if ref == "HEAD":
        return None
    for prefix in ("refs/heads/", f"refs/remotes/{remote}/", f"{remote}/"):
        if ref.startswith(prefix):
            return ref.removeprefix(prefix)
    return ref


# --------------------------------------------------------------------------- the executor


@attrs.frozen
class _Plan:
    """What reverting one commit on one branch involves, as of the last fetch."""

    sha: str
    subject: str
    merge: bool
    files: tuple[str, ...]
    branch: str
    tracking: str
    remote_head: str
    later: tuple[tuple[str, str], ...]


def _commit_list(commits: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{_short(sha)} ({subject})" for sha, subject in commits)


class GitOpsRollbackExecutor:
    """**Implements**: :class:`~incidentkit.protocols.RollbackExecutor`, by ``git revert``.

    It rolls back a deploy that :class:`GitDeploySource` read in GitOps mode
    (any change whose ``commit`` attribute names a commit of the branch) by
    reverting that commit. Every call first fetches the branch from the
    remote, so that it judges what is live, not a stale clone.

    * ``mode="push"`` (the default) works in the clone's working tree: the
      branch must be checked out, with no uncommitted changes to tracked
      files and no merge, revert or rebase in progress. A local branch behind
      the remote is fast-forwarded; one that has local commits (ahead, or
      diverged) is refused, because pushing the revert would publish them
      too. The revert is committed with ``author`` as identity, pushed, and
      the remote branch's head is read back with ``git ls-remote``: that is
      the :attr:`~incidentkit.RollbackResult.live_version`. A revert that
      conflicts is aborted (``git revert --abort``) and a push that is
      refused is undone locally, leaving the clone as it was.
    * ``mode="branch"`` commits the revert in a temporary worktree and pushes
      it as a new branch (``revert_branch``, by default
      ``revert-<abbreviated id>``) for review. **Nothing is live until that
      branch is merged**: the result's ``live_version`` is the live branch's
      head, unchanged, and its detail says so.

    **Later changes to the same files.** If commits after the culprit touched
    any file the culprit touched, the option carries an ``OTHER`` caveat that
    names them, and :meth:`execute` (and :meth:`dry_run`) refuse, because the
    revert would silently undo or conflict with them. Built with
    ``allow_revert_through_later_changes=True``, the executor reverts through
    them, but only through the commits its option named: one that landed
    after the review is still refused. Other caveats: ``SCHEMA_MIGRATION``
    when the commit touched a migration file (the revert removes the file,
    not the migration in the database), ``OTHER`` when the commit also
    changed other services' paths (the revert rolls them back too),
    ``AUTOMATED_SYNC`` when ``auto_sync`` says a GitOps controller watches
    the branch.

    Versions are commits: ``from_version`` and :meth:`current_version` are the
    abbreviated id of the last commit that touched the target's paths on the
    remote branch; ``to_version`` is the change's ``previous_version``.

    Args:
        clone: A clone of the GitOps repository with a working tree.
        paths: ``{path prefix: service}``, as for :class:`GitDeploySource`;
            needed by :meth:`current_version` and ``from_version``.
        branch: The live branch; ``None`` means the branch checked out in
            the clone at each call.
        remote: The remote to fetch from and push to.
        mode: ``"push"`` or ``"branch"`` (see above).
        name: The executor's name, used in the journal and in option ids.
        migrations: A regular expression searched in each file path to spot
            a schema migration; ``None`` turns the caveat off.
        auto_sync: Whether an automated GitOps controller (Argo CD, Flux)
            syncs the branch to production.
        allow_revert_through_later_changes: Revert even when later commits
            touched the same files (only those the option named).
        revert_branch: The branch name template of ``mode="branch"``, with
            ``{short}`` and ``{sha}``.
        author: The identity of the revert commits, ``"Name <email>"``.
        git: The git executable.
        timeout: Seconds each git call may take.

    Raises:
        InvalidInputError: An argument is invalid.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        clone: str | os.PathLike[str],
        *,
        paths: Mapping[str, str] | None = None,
        branch: str | None = None,
        remote: str = "origin",
        mode: RevertMode = "push",
        name: str = "git-revert",
        migrations: str | None = _DEFAULT_MIGRATIONS,
        auto_sync: bool = False,
        allow_revert_through_later_changes: bool = False,
        revert_branch: str = "revert-{short}",
        author: str = "incidentkit <incidentkit@localhost>",
        git: str = "git",
        timeout: float = 30.0,
    ) -> None:
        self._name = _arguments.check_name(name)
        self._paths = {} if paths is None else _check_paths(paths)
        self._branch = None if branch is None else _check_ref(branch, "branch")
        self._remote = _check_ref(remote, "remote")
        if mode not in {"push", "branch"}:
            msg = f"mode must be 'push' or 'branch', not {mode!r}"
            raise InvalidInputError(msg)
        self._mode: RevertMode = mode
        self._migrations = _compile(migrations, "migrations")
        self._auto_sync = bool(auto_sync)
        self._allow_later = bool(allow_revert_through_later_changes)
        try:
            sample = revert_branch.format(short="0" * _SHORT, sha="0" * 40)
        except (KeyError, IndexError, ValueError) as exc:
            msg = f"revert_branch {revert_branch!r} may only use {{short}} and {{sha}}: {exc}"
            raise InvalidInputError(msg) from exc
        _check_ref(sample, "revert_branch")
        self._revert_branch = revert_branch
        identity = _IDENTITY.fullmatch(author) if isinstance(cast("object", author), str) else None
        if identity is None or not identity.group("name"):
            msg = f"author must read 'Name <email>', not {author!r}"
            raise InvalidInputError(msg)
        self._identity = (identity.group("name"), identity.group("email"))
        self._git = _Git(
            executable=git,
            repo=os.fspath(clone),
            timeout=_arguments.check_timeout(timeout),
            source=name,
        )
        self._commits: dict[str, str] = {}

    @classmethod
    def from_source(
        cls,
        source: GitDeploySource,
        clone: str | os.PathLike[str] | None = None,
        *,
        remote: str = "origin",
        mode: RevertMode = "push",
        name: str = "git-revert",
        auto_sync: bool = False,
        allow_revert_through_later_changes: bool = False,
        revert_branch: str = "revert-{short}",
        author: str = "incidentkit <incidentkit@localhost>",
    ) -> GitOpsRollbackExecutor:
        """Return an executor for the deploys ``source`` reads.

        It works in ``clone`` (by default the source's repository) on the
        branch the source reads (``HEAD``: the branch checked out; ``main``,
        ``refs/heads/main`` or ``origin/main``: ``main``), with the source's
        path map, migration pattern, git executable and timeout.

        Raises:
            InvalidInputError: The source reads deploy tags, which have no
                GitOps commit to revert, or an argument is invalid.

        .. versionadded:: 0.1.0
        """
        paths = source.paths
        if paths is None:
            msg = (
                f"{source.name}: a deploy-tag source has no GitOps commits to revert; roll a "
                "tag deploy back by deploying the previous tag"
            )
            raise InvalidInputError(msg)
        return cls(
            source.repo if clone is None else clone,
            paths=paths,
            branch=_branch_of(source.ref, remote),
            remote=remote,
            mode=mode,
            name=name,
            migrations=source.migrations,
            auto_sync=auto_sync,
            allow_revert_through_later_changes=allow_revert_through_later_changes,
            revert_branch=revert_branch,
            author=author,
            git=source.git,
            timeout=source.timeout,
        )

    @property
    def name(self) -> str:
        """The executor's name."""
        return self._name

    @property
    def mode(self) -> RevertMode:
        """How reverts are delivered: ``"push"`` or ``"branch"``."""
        return self._mode

    def __repr__(self) -> str:
        """Return the class, the name, the clone, the remote and the mode."""
        return (
            f"GitOpsRollbackExecutor({_redact(self._git.repo)!r}, name={self._name!r}, "
            f"remote={self._remote!r}, branch={self._branch!r}, mode={self._mode!r})"
        )

    # -------------------------------------------------------------- git plumbing

    def _run(self, *args: str, what: str, check: bool = True, cwd: str | None = None) -> _Answer:
        return self._git.run(*args, what=what, check=check, cwd=cwd)

    def _committing(self) -> tuple[str, ...]:
        user, email = self._identity
        return ("-c", f"user.name={user}", "-c", f"user.email={email}")

    def _branch_name(self) -> str:
        if self._branch is not None:
            return self._branch
        answer = self._run(
            "symbolic-ref", "--quiet", "--short", "HEAD", what="symbolic-ref HEAD", check=False
        )
        if answer.returncode != 0:
            if answer.stderr.strip():
                raise self._git.error(answer, "symbolic-ref HEAD")
            msg = (
                f"{self._name}: HEAD is detached in {self._git.repo}, so there is no branch to "
                "revert on; check out the live branch or pass branch='main'"
            )
            raise SourceRequestError(msg, source=self._name)
        return answer.stdout.strip()

    def _tracking(self, branch: str) -> str:
        return f"refs/remotes/{self._remote}/{branch}"

    def _fetch(self, branch: str) -> None:
        self._run(
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            "--end-of-options",
            self._remote,
            f"+refs/heads/{branch}:{self._tracking(branch)}",
            what=f"fetch {self._remote} {branch}",
        )

    def _rev(self, ref: str, what: str) -> str:
        answer = self._run(
            "rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}", what=what
        )
        sha = answer.stdout.strip()
        if not _FULL_SHA.fullmatch(sha):
            raise self._git.malformed(what, f"{sha[:60]!r} is not a commit id")
        return sha

    def _remote_head(self, branch: str) -> str | None:
        what = f"ls-remote {self._remote} {branch}"
        answer = self._run(
            "ls-remote", "--end-of-options", self._remote, f"refs/heads/{branch}", what=what
        )
        for line in answer.stdout.splitlines():
            fields = line.split("\t")
            if len(fields) != _LS_REMOTE_FIELDS or not _FULL_SHA.fullmatch(fields[0]):
                raise self._git.malformed(what, f"unexpected line {line[:80]!r}")
            if fields[1] == f"refs/heads/{branch}":
                return fields[0]
        return None

    def _is_ancestor(self, sha: str, ref: str) -> bool:
        answer = self._run(
            "merge-base",
            "--is-ancestor",
            "--end-of-options",
            sha,
            ref,
            what="merge-base",
            check=False,
        )
        if answer.returncode not in {0, 1}:
            raise self._git.error(answer, f"merge-base --is-ancestor {_short(sha)} {ref}")
        return answer.returncode == 0

    def _exists(self, sha: str) -> bool:
        answer = self._run("cat-file", "-e", f"{sha}^{{commit}}", what="cat-file", check=False)
        return answer.returncode == 0

    def _plan(self, sha: str, branch: str) -> _Plan:
        tracking = self._tracking(branch)
        head = self._rev(tracking, f"rev-parse {self._remote}/{branch}")
        what = f"log -1 {_short(sha)}"
        answer = self._run(
            "log",
            "-1",
            "-z",
            "--diff-merges=first-parent",
            "--name-only",
            "--no-renames",
            _LOG_FORMAT,
            "--end-of-options",
            sha,
            what=what,
        )
        commits = _parse_log(self._git, answer.stdout, what)
        if len(commits) != 1:
            raise self._git.malformed(what, f"{len(commits)} commits instead of one")
        commit = commits[0]
        later: list[tuple[str, str]] = []
        if commit.files:
            what = f"log {_short(sha)}..{self._remote}/{branch}"
            found = self._run(
                "log",
                "--first-parent",
                "--format=%H%x1f%s%x1e",
                "--end-of-options",
                f"{sha}..{tracking}",
                "--",
                *commit.files,
                what=what,
            )
            for record in found.stdout.split(_RS):
                record = record.strip("\n")  # noqa: PLW2901 - the separator's newline
                if not record:
                    continue
                later_sha, _, subject = record.partition(_US)
                if not _FULL_SHA.fullmatch(later_sha):
                    raise self._git.malformed(what, f"{later_sha[:60]!r} is not a commit id")
                later.append((later_sha, subject))
        return _Plan(
            sha=sha,
            subject=commit.subject,
            merge=len(commit.parents) > 1,
            files=commit.files,
            branch=branch,
            tracking=tracking,
            remote_head=head,
            later=tuple(reversed(later)),  # oldest first
        )

    def _local_problems(self, plan: _Plan) -> list[str]:
        """Return why the clone cannot take a pushed revert now (push mode)."""
        problems: list[str] = []
        current = self._run(
            "symbolic-ref", "--quiet", "--short", "HEAD", what="symbolic-ref HEAD", check=False
        )
        if current.returncode != 0:
            problems.append(f"HEAD is detached in {self._git.repo}: check out {plan.branch}")
        elif current.stdout.strip() != plan.branch:
            problems.append(
                f"{self._git.repo} has {current.stdout.strip()} checked out, not {plan.branch}: "
                f"check out {plan.branch}"
            )
        git_dir = Path(
            self._run("rev-parse", "--absolute-git-dir", what="rev-parse").stdout.strip()
        )
        busy = [marker for marker in _IN_PROGRESS if (git_dir / marker).exists()]
        if busy:
            problems.append(
                f"a merge, revert, cherry-pick or rebase is in progress ({', '.join(busy)}): "
                "finish or abort it first"
            )
        status = self._run("status", "--porcelain", "--untracked-files=no", "-z", what="status")
        dirty = [entry[3:] for entry in status.stdout.split("\0") if entry]
        if dirty:
            problems.append(
                f"tracked files have uncommitted changes ({', '.join(dirty[:5])}): commit or "
                "stash them first"
            )
        if not problems:
            ahead, behind = self._divergence(plan)
            where = f"{self._remote}/{plan.branch}"
            if ahead and behind:
                problems.append(
                    f"the local branch {plan.branch} has diverged from {where} ({ahead} local "
                    f"and {behind} remote commits): reconcile them before rolling back"
                )
            elif ahead:
                problems.append(
                    f"the local branch {plan.branch} is {ahead} commits ahead of {where}: "
                    "pushing the revert would publish them too; push or drop them first"
                )
        return problems

    def _divergence(self, plan: _Plan) -> tuple[int, int]:
        what = f"rev-list --count {plan.branch}...{self._remote}/{plan.branch}"
        answer = self._run(
            "rev-list",
            "--left-right",
            "--count",
            "--end-of-options",
            f"refs/heads/{plan.branch}...{plan.tracking}",
            what=what,
        )
        counts = answer.stdout.split()
        if len(counts) != 2 or not all(c.isdigit() for c in counts):  # noqa: PLR2004 - a pair
            raise self._git.malformed(what, f"{answer.stdout[:60]!r} is not two counts")
        return int(counts[0]), int(counts[1])

    # -------------------------------------------------------------- the protocol

    def _check_own(self, option: RollbackOption) -> None:
        if option.executor != self._name:
            msg = (
                f"option {option.id!r} was offered by {option.executor!r}, not by "
                f"{self._name!r}; pass it to the executor that offered it"
            )
            raise InvalidInputError(msg)

    def _path_head(self, target: str, tracking: str) -> str | None:
        prefixes = [p for p, s in self._paths.items() if s == target]
        if not prefixes:
            return None
        answer = self._run(
            "log",
            "-1",
            "--first-parent",
            "--format=%H",
            "--end-of-options",
            tracking,
            "--",
            *prefixes,
            what=f"log -1 {tracking}",
        )
        sha = answer.stdout.strip()
        if not sha:
            return None
        if not _FULL_SHA.fullmatch(sha):
            raise self._git.malformed("log", f"{sha[:60]!r} is not a commit id")
        return _short(sha)

    def options(self, change: Change) -> list[RollbackOption]:
        """Return the option to revert ``change``'s commit, or nothing.

        The change must carry a ``commit`` attribute naming a commit of the
        remote branch (as :class:`GitDeploySource` in GitOps mode records it);
        deploy-tag changes (with a ``tag`` attribute) are not handled.

        Returns:
            One option with its caveats, or an empty list.

        Raises:
            SourceError: git failed, the remote could not be fetched, or the
                branch cannot be determined.
        """
        sha = change.attributes.get("commit", "")
        if (
            change.kind not in {ChangeKind.DEPLOY, ChangeKind.CONFIG}
            or "tag" in change.attributes
            or not _FULL_SHA.fullmatch(sha)
        ):
            return []
        branch = self._branch_name()
        self._fetch(branch)
        tracking = self._tracking(branch)
        if not self._exists(sha) or not self._is_ancestor(sha, tracking):
            return []
        plan = self._plan(sha, branch)
        caveats = self._caveats(plan, change)
        if self._mode == "push":
            problems = self._local_problems(plan)
            if problems:
                caveats.append(
                    Caveat(
                        CaveatKind.OTHER,
                        f"the clone {self._git.repo} cannot take the revert now: "
                        f"{'; '.join(problems)}. Execute refuses until that is fixed",
                    )
                )
        option = RollbackOption(
            id=f"{self._name}:{change.id}",
            executor=self._name,
            change_id=change.id,
            target=change.service,
            from_version=self._path_head(change.service, tracking),
            to_version=change.previous_version,
            caveats=tuple(caveats),
            supports_dry_run=True,
        )
        self._commits[option.id] = sha
        return [option]

    def _caveats(self, plan: _Plan, change: Change) -> list[Caveat]:
        short = _short(plan.sha)
        caveats: list[Caveat] = []
        if plan.later:
            listed = _commit_list(plan.later)
            if self._allow_later:
                detail = (
                    f"{len(plan.later)} later commit(s) on {plan.branch} touch the files "
                    f"{short} touched: {listed}. This executor reverts through them "
                    "(allow_revert_through_later_changes=True): the revert may undo part of "
                    "what they rely on, or conflict; read them first"
                )
            else:
                detail = (
                    f"{len(plan.later)} later commit(s) on {plan.branch} touch the files "
                    f"{short} touched: {listed}. {self._name} refuses to revert through them: "
                    "revert them first and review again, or use an executor built with "
                    "allow_revert_through_later_changes=True"
                )
            caveats.append(Caveat(CaveatKind.OTHER, detail))
        migrations = (
            [f for f in plan.files if self._migrations.search(f)] if self._migrations else []
        )
        if migrations:
            caveats.append(
                Caveat(
                    CaveatKind.SCHEMA_MIGRATION,
                    f"{short} touched migration files ({', '.join(migrations)}): the revert "
                    "removes them from the repository but does not undo the migration in the "
                    "database; check that the previous version reads the migrated schema",
                )
            )
        others = sorted(set(_services_of(self._paths, plan.files)) - {change.service})
        if others:
            caveats.append(
                Caveat(
                    CaveatKind.OTHER,
                    f"{short} also changed {', '.join(others)}: reverting it rolls "
                    f"{'it' if len(others) == 1 else 'them'} back too",
                )
            )
        if self._mode == "branch":
            caveats.append(
                Caveat(
                    CaveatKind.OTHER,
                    f"mode='branch': the revert is pushed as branch "
                    f"{self._branch_name_for(plan.sha)} for review; nothing changes live until "
                    f"it is merged into {plan.branch}",
                )
            )
        if self._auto_sync:
            caveats.append(Caveat(CaveatKind.AUTOMATED_SYNC, self._sync_caveat(plan, change)))
        return caveats

    def _sync_caveat(self, plan: _Plan, change: Change) -> str:
        shipped = change.version or _short(plan.sha)
        if self._mode == "branch":
            return (
                f"a GitOps controller syncs {plan.branch}: until the revert branch is merged it "
                f"keeps {shipped} live, and re-applies it over any manual rollback in the "
                "cluster"
            )
        return (
            f"a GitOps controller syncs {plan.branch}: the revert commit is the rollback and "
            "takes effect when the controller syncs it (watch the application's sync status). "
            "Do not also roll back in the cluster: a manual rollback there pauses or "
            "overrides the sync, the revert then waits until the sync is resumed, and "
            f"resuming a sync of a branch without the revert re-applies {shipped}"
        )

    def _branch_name_for(self, sha: str) -> str:
        return self._revert_branch.format(short=_short(sha), sha=sha)

    def current_version(self, target: str) -> str | None:
        """Return the last commit that touched ``target``'s paths on the remote branch.

        Args:
            target: A service of the path map.

        Returns:
            Its abbreviated id, or ``None`` if ``target`` is not in the path
            map or no commit touched its paths.

        Raises:
            SourceError: git failed or the remote could not be fetched.
        """
        if not any(s == target for s in self._paths.values()):
            return None
        branch = self._branch_name()
        self._fetch(branch)
        return self._path_head(target, self._tracking(branch))

    def _commit_of(self, option: RollbackOption) -> str:
        known = self._commits.get(option.id)
        if known is not None:
            return known
        prefix = option.change_id.split("/", 1)[0]
        if _HEX_PREFIX.fullmatch(prefix):
            answer = self._run(
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                f"{prefix}^{{commit}}",
                what=f"rev-parse {prefix}",
                check=False,
            )
            sha = answer.stdout.strip()
            if answer.returncode == 0 and _FULL_SHA.fullmatch(sha):
                return sha
        msg = (
            f"{self._name}: cannot tell which commit option {option.id!r} reverts; ask this "
            "executor for its options again (review the rollbacks)"
        )
        raise RollbackFailedError(msg, source=self._name)

    def _prepare(self, option: RollbackOption) -> tuple[_Plan, list[str]]:
        """Fetch, plan the revert and list what stops it (the same for rehearsal and execution)."""
        self._check_own(option)
        sha = self._commit_of(option)
        branch = self._branch_name()
        self._fetch(branch)
        if not self._is_ancestor(sha, self._tracking(branch)):
            msg = (
                f"{self._name}: {_short(sha)} is not on {self._remote}/{branch} (any more): "
                "nothing to revert there; review the rollbacks again"
            )
            raise RollbackFailedError(msg, source=self._name)
        plan = self._plan(sha, branch)
        problems: list[str] = []
        if plan.later:
            named = " ".join(c.detail for c in option.caveats if c.kind is CaveatKind.OTHER)
            unnamed = [c for c in plan.later if _short(c[0]) not in named]
            if not self._allow_later:
                problems.append(
                    f"later commits on {branch} touch the files {_short(sha)} touched: "
                    f"{_commit_list(plan.later)}; refusing to revert through them (revert them "
                    "first, or use allow_revert_through_later_changes=True)"
                )
            elif unnamed:
                problems.append(
                    f"commits landed on {branch} since the review that touch the files "
                    f"{_short(sha)} touched: {_commit_list(unnamed)}; the option did not name "
                    "them, so review the rollbacks again"
                )
        if self._mode == "push":
            problems.extend(self._local_problems(plan))
        return plan, problems

    def dry_run(self, option: RollbackOption) -> RollbackResult:
        """Rehearse ``option`` in a temporary worktree: does the revert apply cleanly?

        The rehearsal fetches the branch (which may move the remote-tracking
        ref) but changes neither the local branch, nor the working tree, nor
        the remote. It fails where :meth:`execute` would refuse.

        Returns:
            A dry-run result that succeeded if the revert would go ahead and
            apply cleanly, with the remote branch's head as ``live_version``.

        Raises:
            InvalidInputError: Another executor offered the option.
            RollbackFailedError: The option's commit is unknown or no longer
                on the branch.
            SourceError: git failed or the remote could not be fetched.
        """
        plan, problems = self._prepare(option)
        live = _short(plan.remote_head)
        short = _short(plan.sha)
        if problems:
            return RollbackResult(
                option.id,
                succeeded=False,
                dry_run=True,
                live_version=live,
                detail=f"{self._name} would refuse to revert {short}: " + "; ".join(problems),
            )
        with self._worktree(plan.remote_head) as tree:
            reason = self._apply(plan, tree)
        if reason:
            return RollbackResult(
                option.id,
                succeeded=False,
                dry_run=True,
                live_version=live,
                detail=f"reverting {short} on {self._remote}/{plan.branch} would fail: {reason}",
            )
        through = f" (through {_commit_list(plan.later)})" if plan.later else ""
        where = (
            f"push it to {self._remote}/{plan.branch}"
            if self._mode == "push"
            else f"push branch {self._branch_name_for(plan.sha)} for review"
        )
        return RollbackResult(
            option.id,
            succeeded=True,
            dry_run=True,
            live_version=live,
            detail=f"reverting {short} ({plan.subject}) on {self._remote}/{plan.branch} applies "
            f"cleanly{through}; execute would {where}",
        )

    def execute(self, option: RollbackOption) -> RollbackResult:
        """Revert the option's commit and push the revert (or a revert branch).

        Returns:
            A succeeded result: ``live_version`` is the remote branch's head as
            ``git ls-remote`` reads it after the push (in ``mode="branch"``
            the live branch, unchanged), and ``detail`` names the revert commit.

        Raises:
            InvalidInputError: Another executor offered the option.
            RollbackFailedError: The revert was refused (later commits to the
                same files, a diverged or dirty clone), conflicted, or could
                not be pushed; the clone is left as it was.
            SourceError: git failed or the remote could not be fetched.
        """
        plan, problems = self._prepare(option)
        if problems:
            msg = f"{self._name}: refusing to revert {_short(plan.sha)}: " + "; ".join(problems)
            raise RollbackFailedError(msg, source=self._name)
        if self._mode == "branch":
            return self._execute_branch(plan, option)
        return self._execute_push(plan, option)

    def _message(self, plan: _Plan, option: RollbackOption) -> str:
        return (
            f'Revert "{plan.subject}"\n\nThis reverts commit {plan.sha}.\n\n'
            f"Rolled back by incidentkit ({self._name}, option {option.id}).\n"
        )

    def _revert(self, plan: _Plan, tree: str | None) -> _Answer:
        mainline = ("-m", "1") if plan.merge else ()
        return self._run(
            *self._committing(),
            "revert",
            "--no-commit",
            *mainline,
            "--end-of-options",
            plan.sha,
            what=f"revert {_short(plan.sha)}",
            check=False,
            cwd=tree,
        )

    def _apply(self, plan: _Plan, tree: str | None) -> str:
        """Revert without committing; return why it cannot be committed, or ``""``."""
        answer = self._revert(plan, tree)
        if answer.returncode != 0:
            conflicts = self._conflicts(tree)
            if conflicts:
                return f"conflicts in {', '.join(conflicts)}"
            return _excerpt(answer.stderr) or f"git revert exited with {answer.returncode}"
        staged = self._run(
            "diff", "--cached", "--quiet", what="diff --cached", check=False, cwd=tree
        )
        if staged.returncode == 0:
            return (
                f"the revert changes nothing: {plan.branch} already has the files as they were "
                f"before {_short(plan.sha)} (reverted by hand?)"
            )
        return ""

    def _conflicts(self, tree: str | None) -> list[str]:
        answer = self._run(
            "diff", "--name-only", "--diff-filter=U", "-z", what="diff --diff-filter=U", cwd=tree
        )
        return [f for f in answer.stdout.split("\0") if f]

    def _commit(self, plan: _Plan, option: RollbackOption, tree: str | None) -> _Answer:
        return self._run(
            *self._committing(),
            "commit",
            "--quiet",
            "-m",
            self._message(plan, option),
            what="commit",
            check=False,
            cwd=tree,
        )

    def _worktree(self, commit: str) -> _Worktree:
        return _Worktree(self._git, commit)

    def _execute_push(self, plan: _Plan, option: RollbackOption) -> RollbackResult:
        short = _short(plan.sha)
        before = self._rev("HEAD", "rev-parse HEAD")
        if before != plan.remote_head:  # behind: _local_problems refused ahead and diverged
            self._run(
                "merge",
                "--ff-only",
                "--quiet",
                "--end-of-options",
                plan.tracking,
                what="merge --ff-only",
            )
        reason = self._apply(plan, None)
        if reason:
            restored = self._restore(before, abort=True)
            msg = (
                f"{self._name}: reverting {short} on {plan.branch} failed ({reason}); "
                f"{restored}. Nothing was pushed: revert by hand or mitigate"
            )
            raise RollbackFailedError(msg, source=self._name)
        committed = self._commit(plan, option, None)
        if committed.returncode != 0:
            restored = self._restore(before, abort=True)
            said = _excerpt(committed.stdout + committed.stderr)
            msg = (
                f"{self._name}: could not commit the revert of {short} ({said}); {restored}. "
                "Nothing was pushed"
            )
            raise RollbackFailedError(msg, source=self._name)
        new = self._rev("HEAD", "rev-parse HEAD")
        pushed = self._run(
            "push",
            "--quiet",
            "--porcelain",
            "--end-of-options",
            self._remote,
            f"{new}:refs/heads/{plan.branch}",
            what=f"push {self._remote} {plan.branch}",
            check=False,
        )
        if pushed.returncode != 0:
            restored = self._restore(before, abort=False)
            refusal = self._git.error(pushed, f"push {self._remote} {plan.branch}")
            msg = (
                f"{self._name}: the push of the revert of {short} to {self._remote}/"
                f"{plan.branch} was refused ({refusal}); {restored}. Nothing is live: fetch, "
                "review the rollbacks again and retry"
            )
            raise RollbackFailedError(msg, source=self._name)
        live = self._remote_head(plan.branch)
        through = f", reverting through {_commit_list(plan.later)}" if plan.later else ""
        detail = (
            f"reverted {short} ({plan.subject}) on {plan.branch} with commit {new} and pushed it "
            f"to {self._remote}{through}"
        )
        if live != new:
            detail += (
                f"; {self._remote}/{plan.branch} is now {_short(live) if live else 'missing'}, "
                "not the revert: someone pushed since"
            )
        return RollbackResult(
            option.id,
            succeeded=True,
            dry_run=False,
            live_version=_short(live) if live else None,
            detail=detail,
        )

    def _restore(self, before: str, *, abort: bool) -> str:
        """Put the clone back on ``before`` after a failed revert; say how it went.

        ``reset --hard`` is safe here: the revert only started on a clone with
        no uncommitted changes to tracked files, so all it discards is ours.
        """
        if abort:
            self._run("revert", "--abort", what="revert --abort", check=False)
        reset = self._run(
            "reset",
            "--quiet",
            "--hard",
            before,  # a full commit id, never an option
            what="reset --hard",
            check=False,
        )
        if reset.returncode != 0:  # pragma: no cover - needs a clone that changed under us
            return f"the clone could not be reset to {_short(before)}: check it by hand"
        return f"the clone is back on {_short(before)} as it was"

    def _execute_branch(self, plan: _Plan, option: RollbackOption) -> RollbackResult:
        short = _short(plan.sha)
        target = self._branch_name_for(plan.sha)
        with self._worktree(plan.remote_head) as tree:
            reason = self._apply(plan, tree)
            if reason:
                msg = (
                    f"{self._name}: reverting {short} on {plan.branch} failed ({reason}); "
                    "no branch was pushed"
                )
                raise RollbackFailedError(msg, source=self._name)
            committed = self._commit(plan, option, tree)
            if committed.returncode != 0:
                said = _excerpt(committed.stdout + committed.stderr)
                msg = f"{self._name}: could not commit the revert of {short} ({said})"
                raise RollbackFailedError(msg, source=self._name)
            new = self._tree_head(tree)
        pushed = self._run(
            "push",
            "--quiet",
            "--porcelain",
            "--end-of-options",
            self._remote,
            f"{new}:refs/heads/{target}",
            what=f"push {self._remote} {target}",
            check=False,
        )
        if pushed.returncode != 0:
            refusal = self._git.error(pushed, f"push {self._remote} {target}")
            msg = (
                f"{self._name}: the push of branch {target} to {self._remote} was refused "
                f"({refusal}); if the branch exists already, review it or delete it"
            )
            raise RollbackFailedError(msg, source=self._name)
        if self._remote_head(target) != new:
            msg = (
                f"{self._name}: {self._remote} does not show {target} at {_short(new)} after "
                "the push; check the remote"
            )
            raise RollbackFailedError(msg, source=self._name)
        live = self._remote_head(plan.branch)
        return RollbackResult(
            option.id,
            succeeded=True,
            dry_run=False,
            live_version=_short(live) if live else None,
            detail=f"pushed branch {target} with commit {new} reverting {short} ({plan.subject}) "
            f"for review; nothing is live until it is merged into {plan.branch}, which still "
            f"runs {_short(live) if live else 'nothing'}",
        )

    def _tree_head(self, tree: str) -> str:
        answer = self._run(
            "rev-parse", "--verify", "HEAD^{commit}", what="rev-parse HEAD", cwd=tree
        )
        sha = answer.stdout.strip()
        if not _FULL_SHA.fullmatch(sha):
            raise self._git.malformed("rev-parse HEAD", f"{sha[:60]!r} is not a commit id")
        return sha


class _Worktree:
    """A detached worktree in a temporary directory, removed on exit."""

    def __init__(self, git: _Git, commit: str) -> None:
        self._git = git
        self._commit = commit
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._path = ""

    def __enter__(self) -> str:
        self._tmp = tempfile.TemporaryDirectory(
            prefix="incidentkit-git-", ignore_cleanup_errors=True
        )
        self._path = str(Path(self._tmp.name) / "tree")
        try:
            self._git.run(
                "worktree",
                "add",
                "--quiet",
                "--detach",
                "--end-of-options",
                self._path,
                self._commit,
                what="worktree add",
            )
        except BaseException:
            self._tmp.cleanup()
            raise
        return self._path

    def __exit__(self, *_exc: object) -> None:
        try:
            self._git.run(
                "worktree",
                "remove",
                "--force",
                "--force",
                self._path,
                what="worktree remove",
                check=False,
            )
            self._git.run("worktree", "prune", what="worktree prune", check=False)
        finally:
            if self._tmp is not None:
                self._tmp.cleanup()
