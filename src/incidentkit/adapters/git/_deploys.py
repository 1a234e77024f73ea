"""The deploy source: GitOps commits or deploy tags read as deploys."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Mapping, Sequence

import pendulum

from incidentkit import _arguments
from incidentkit._errors import (
    InvalidInputError,
)
from incidentkit._model import (
    Change,
    ChangeKind,
)
from incidentkit.adapters.git._history import (
    DEFAULT_MIGRATIONS,
    LOG_FORMAT,
    TAG_FORMAT,
    Commit,
    Tag,
    compile_pattern,
    parse_log,
    parse_tag,
    services_of,
    template_regex,
    untyped,
    version_in,
)
from incidentkit.adapters.git._refs import check_location, check_paths, check_ref
from incidentkit.adapters.git._runner import FULL_SHA, RS, SHORT, US, Git, abbrev

__all__ = ["GitDeploySource"]


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
        migrations: str | None = DEFAULT_MIGRATIONS,
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
        self._paths = None if paths is None else check_paths(paths)
        self._tags = None if tags is None else template_regex(tags)
        self._template = tags
        self._ref = check_ref(ref, "ref")
        self._version = compile_pattern(version_pattern, "version_pattern")
        self._migrations = compile_pattern(migrations, "migrations")
        if commit_url is not None:
            try:
                commit_url.format(sha="0" * 40, short="0" * SHORT)
            except (KeyError, IndexError, ValueError) as exc:
                msg = f"commit_url {commit_url!r} may only use {{sha}} and {{short}}: {exc}"
                raise InvalidInputError(msg) from exc
        self._commit_url = commit_url
        self._environment = environment
        self._git = Git(
            executable=check_location(git, "git"),
            repo=check_location(repo, "repo"),
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
        return f"GitDeploySource({self._git.redact(self.repo)!r}, {mode}, name={self._name!r})"

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
            LOG_FORMAT,
            f"--since={since}",
            "--end-of-options",
            self._ref,
            "--",
            *chosen,
            what=f"log {self._ref}",
        )
        commits = parse_log(self._git, answer.stdout, f"log {self._ref}")
        history: dict[str, list[tuple[Commit, list[str]]]] = {}
        for commit in commits:  # newest first
            for service, files in services_of(chosen, commit.files).items():
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

    def _previous_commit(self, commit: Commit, prefixes: Sequence[str]) -> str | None:
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
            what=f"log {abbrev(commit.parents[0])}",
        )
        sha = answer.stdout.strip()
        if not sha:
            return None
        if not FULL_SHA.fullmatch(sha):
            raise self._git.malformed("log", f"{sha[:60]!r} is not a commit id")
        return sha

    def _diff_versions(
        self, commit: Commit, prefixes: Sequence[str]
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
            what=f"show {abbrev(commit.sha)}",
        )
        lines = answer.stdout.splitlines()
        added = (line[1:] for line in lines if line.startswith("+") and not line.startswith("+++"))
        removed = (
            line[1:] for line in lines if line.startswith("-") and not line.startswith("---")
        )
        return version_in(self._version, added), version_in(self._version, removed)

    def _path_change(
        self,
        commit: Commit,
        service: str,
        files: list[str],
        prefixes: Sequence[str],
        before: Commit | None,
    ) -> Change:
        version: str | None = None
        previous: str | None = None
        if self._version is not None:
            version, previous = self._diff_versions(commit, prefixes)
        if version is None:
            version = abbrev(commit.sha)
        if previous is None:
            before_sha = (
                before.sha if before is not None else self._previous_commit(commit, prefixes)
            )
            previous = None if before_sha is None else abbrev(before_sha)
        attributes = {"commit": commit.sha, "path": "\n".join(files), "ref": self._ref}
        migrations = self._migration_files(commit.files)
        if migrations:
            attributes["schema_migration"] = "true"
            attributes["migrations"] = "\n".join(migrations)
        mapped = self._paths or {}
        owners = set(services_of(mapped, commit.files))
        change_id = abbrev(commit.sha) if len(owners) <= 1 else f"{abbrev(commit.sha)}/{service}"
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
            attributes=untyped(attributes),
        )

    def _migration_files(self, files: Iterable[str]) -> list[str]:
        if self._migrations is None:
            return []
        pattern = self._migrations
        return [f for f in files if pattern.search(f)]

    def _link(self, sha: str) -> str | None:
        if self._commit_url is None:
            return None
        return self._commit_url.format(sha=sha, short=abbrev(sha))

    # -------------------------------------------------------------- deploy tags

    def _tag_deploys(
        self, first: pendulum.DateTime, last: pendulum.DateTime, wanted: frozenset[str] | None
    ) -> list[Change]:
        assert self._tags is not None  # noqa: S101 - tag mode
        what = "for-each-ref refs/tags"
        answer = self._git.run(
            "for-each-ref", "--sort=creatordate", TAG_FORMAT, "refs/tags", what=what
        )
        by_service: dict[str, list[Tag]] = {}
        for record in answer.stdout.split(RS):
            tag = parse_tag(self._git, record.removeprefix("\n"), self._tags, what)
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

    def _tag_change(self, tag: Tag, before: Tag | None) -> Change:
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
            commit_author, _, commit_subject = answer.stdout.rstrip("\n").partition(US)
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
            attributes=untyped(attributes),
        )
