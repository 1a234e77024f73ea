"""The GitOps rollback executor: revert a deploy commit, rehearsed, pushed and read back."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final, Literal, cast

import attrs

from incidentkit import _arguments
from incidentkit._errors import (
    InvalidInputError,
    RollbackFailedError,
    SourceRequestError,
)
from incidentkit._model import (
    Caveat,
    CaveatKind,
    Change,
    ChangeKind,
    RollbackOption,
    RollbackResult,
)
from incidentkit.adapters.git._deploys import GitDeploySource
from incidentkit.adapters.git._history import (
    DEFAULT_MIGRATIONS,
    LOG_FORMAT,
    compile_pattern,
    parse_log,
    services_of,
)
from incidentkit.adapters.git._refs import (
    check_branch,
    check_location,
    check_paths,
    has_control,
    printable,
)
from incidentkit.adapters.git._runner import (
    FULL_SHA,
    RS,
    SHORT,
    US,
    Answer,
    Git,
    abbrev,
    parse_remote,
)
from incidentkit.adapters.git._worktree import Worktree

#: The change ids GitDeploySource gives a GitOps deploy: ``<12 hex>`` or ``<12 hex>/<service>``.
_HEX: Final = re.compile(r"[0-9a-f]{4,40}")
_CHANGE_ID: Final = re.compile(r"(?P<short>[0-9a-f]{12})(?:/(?P<service>.+))?", re.DOTALL)
_IDENTITY: Final = re.compile(r"\s*(?P<name>[^<>]*?)\s*<(?P<email>[^<>\s]+)>\s*")
_LS_REMOTE_FIELDS: Final = 2
_IN_PROGRESS: Final = (
    "MERGE_HEAD",
    "REVERT_HEAD",
    "CHERRY_PICK_HEAD",
    "rebase-merge",
    "rebase-apply",
    "sequencer",
)

__all__ = ["GitOpsRollbackExecutor", "RevertMode"]

RevertMode = Literal["push", "branch"]
"""How :class:`GitOpsRollbackExecutor` delivers a revert.

``"push"`` commits the revert on the live branch and pushes it; ``"branch"``
pushes a revert branch for review and changes nothing live.

.. versionadded:: 0.1.0
"""


def branch_of(ref: str, remote: str) -> str | None:
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
    return ", ".join(f"{abbrev(sha)} ({subject})" for sha, subject in commits)


class GitOpsRollbackExecutor:
    """**Implements**: :class:`~incidentkit.protocols.RollbackExecutor`, by ``git revert``.

    It rolls back a deploy that :class:`GitDeploySource` read in GitOps mode
    (any change of a mapped service whose ``commit`` attribute names a commit
    of the branch that touches the service's paths) by reverting that commit.
    Every call first fetches the branch from the remote, so that it judges
    what is live, not a stale clone.

    **It acts only on what it offered.** :meth:`execute` and :meth:`dry_run`
    take an option it offered only as it was offered; an option it did not
    offer (after a resume, a new executor has offered nothing) only if
    :meth:`options` would offer it now: an allowed target, the change id
    :class:`GitDeploySource` gives to one commit of the branch that touches
    the target's paths, and the target's current version as ``from_version``.

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
        paths: ``{path prefix: service}``, as for :class:`GitDeploySource`:
            the allow-list (only commits that touch a mapped service's paths
            are offered and reverted, for that service; without it nothing
            is offered), and what :meth:`current_version` and
            ``from_version`` read.
        branch: The live branch; ``None`` means the branch checked out in
            the clone at each call.
        remote: The remote to fetch from and push to: a remote's name, or a
            URL. A URL's password never reaches git's arguments (a credential
            helper given through the environment answers it) and is masked
            in ``repr``, messages and errors, as are query values.
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
        migrations: str | None = DEFAULT_MIGRATIONS,
        auto_sync: bool = False,
        allow_revert_through_later_changes: bool = False,
        revert_branch: str = "revert-{short}",
        author: str = "incidentkit <incidentkit@localhost>",
        git: str = "git",
        timeout: float = 30.0,
    ) -> None:
        self._name = _arguments.check_name(name)
        self._paths = {} if paths is None else check_paths(paths)
        self._branch = None if branch is None else check_branch(branch, "branch")
        self._remote = parse_remote(remote)
        if mode not in {"push", "branch"}:
            msg = f"mode must be 'push' or 'branch', not {mode!r}"
            raise InvalidInputError(msg)
        self._mode: RevertMode = mode
        self._migrations = compile_pattern(migrations, "migrations")
        self._auto_sync = bool(auto_sync)
        self._allow_later = bool(allow_revert_through_later_changes)
        try:
            sample = revert_branch.format(short="0" * SHORT, sha="0" * 40)
        except (KeyError, IndexError, ValueError) as exc:
            msg = f"revert_branch {revert_branch!r} may only use {{short}} and {{sha}}: {exc}"
            raise InvalidInputError(msg) from exc
        check_branch(sample, "revert_branch")
        self._revert_branch = revert_branch
        identity = _IDENTITY.fullmatch(author) if isinstance(cast("object", author), str) else None
        if identity is None or not identity.group("name") or has_control(author):
            msg = f"author must read 'Name <email>', not {author!r}"
            raise InvalidInputError(msg)
        self._identity = (identity.group("name"), identity.group("email"))
        self._git = Git(
            executable=check_location(git, "git"),
            repo=check_location(clone, "clone"),
            timeout=_arguments.check_timeout(timeout),
            source=name,
            secrets=self._remote.secrets,
            env=self._remote.env(),
        )
        # What options() offered, by id: the option as offered and the commit it reverts.
        self._offers: dict[str, tuple[RollbackOption, str]] = {}

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
            branch=branch_of(source.ref, remote),
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
            f"GitOpsRollbackExecutor({self._git.redact(self._git.repo)!r}, name={self._name!r}, "
            f"remote={self._remote.shown!r}, branch={self._branch!r}, mode={self._mode!r})"
        )

    # -------------------------------------------------------------- git plumbing

    def _run(self, *args: str, what: str, check: bool = True, cwd: str | None = None) -> Answer:
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
        branch = answer.stdout.strip()
        try:
            return check_branch(branch, "the branch checked out")
        except InvalidInputError as exc:
            msg = f"{self._name}: {exc}; check out the live branch or pass branch='main'"
            raise SourceRequestError(msg, source=self._name) from None

    def _at(self, branch: str) -> str:
        """Return ``<remote>/<branch>`` as messages show it (a URL redacted)."""
        return f"{self._remote.shown}/{branch}"

    def _tracking(self, branch: str) -> str:
        if self._remote.is_url:
            # A URL has no remote-tracking namespace: keep its refs under our own.
            digest = hashlib.sha256(self._remote.for_git.encode()).hexdigest()[:16]
            return f"refs/incidentkit/remotes/{digest}/{branch}"
        return f"refs/remotes/{self._remote.for_git}/{branch}"

    def _fetch(self, branch: str) -> None:
        self._run(
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            "--end-of-options",
            self._remote.for_git,
            f"+refs/heads/{branch}:{self._tracking(branch)}",
            what=f"fetch {self._remote.shown} {branch}",
        )

    def _rev(self, ref: str, what: str) -> str:
        answer = self._run(
            "rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}", what=what
        )
        sha = answer.stdout.strip()
        if not FULL_SHA.fullmatch(sha):
            raise self._git.malformed(what, f"{sha[:60]!r} is not a commit id")
        return sha

    def _remote_head(self, branch: str) -> str | None:
        what = f"ls-remote {self._remote.shown} {branch}"
        answer = self._run(
            "ls-remote", "--end-of-options", self._remote.for_git, f"refs/heads/{branch}", what=what
        )
        for line in answer.stdout.splitlines():
            fields = line.split("\t")
            if len(fields) != _LS_REMOTE_FIELDS or not FULL_SHA.fullmatch(fields[0]):
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
            raise self._git.error(answer, f"merge-base --is-ancestor {abbrev(sha)} {ref}")
        return answer.returncode == 0

    def _resolve(self, name: str) -> str | None:
        """Return the full id of the one commit ``name`` (hexadecimal) names, else ``None``."""
        if not _HEX.fullmatch(name):
            return None
        answer = self._run(
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            f"{name}^{{commit}}",
            what=f"rev-parse {name}",
            check=False,
        )
        sha = answer.stdout.strip()
        return sha if answer.returncode == 0 and FULL_SHA.fullmatch(sha) else None

    def _plan(self, sha: str, branch: str) -> _Plan:
        tracking = self._tracking(branch)
        head = self._rev(tracking, f"rev-parse {self._at(branch)}")
        what = f"log -1 {abbrev(sha)}"
        answer = self._run(
            "log",
            "-1",
            "-z",
            "--diff-merges=first-parent",
            "--name-only",
            "--no-renames",
            LOG_FORMAT,
            "--end-of-options",
            sha,
            what=what,
        )
        commits = parse_log(self._git, answer.stdout, what)
        if len(commits) != 1:
            raise self._git.malformed(what, f"{len(commits)} commits instead of one")
        commit = commits[0]
        later: list[tuple[str, str]] = []
        if commit.files:
            what = f"log {abbrev(sha)}..{self._at(branch)}"
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
            for record in found.stdout.split(RS):
                record = record.strip("\n")  # noqa: PLW2901 - the separator's newline
                if not record:
                    continue
                later_sha, _, subject = record.partition(US)
                if not FULL_SHA.fullmatch(later_sha):
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
            where = f"{self._at(plan.branch)}"
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
        what = f"rev-list --count {plan.branch}...{self._at(plan.branch)}"
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
        if not FULL_SHA.fullmatch(sha):
            raise self._git.malformed("log", f"{sha[:60]!r} is not a commit id")
        return abbrev(sha)

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
            or not FULL_SHA.fullmatch(sha)
            or change.service not in self._paths.values()
        ):
            return []
        branch = self._branch_name()
        self._fetch(branch)
        tracking = self._tracking(branch)
        if self._resolve(sha) != sha or not self._is_ancestor(sha, tracking):
            return []
        plan = self._plan(sha, branch)
        if change.service not in services_of(self._paths, plan.files):
            return []  # not a deploy of the service's paths: outside the allow-list
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
        self._offers[option.id] = (option, sha)
        return [option]

    def _caveats(self, plan: _Plan, change: Change) -> list[Caveat]:
        short = abbrev(plan.sha)
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
        others = sorted(set(services_of(self._paths, plan.files)) - {change.service})
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
        shipped = change.version or abbrev(plan.sha)
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
        return self._revert_branch.format(short=abbrev(sha), sha=sha)

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

    def _commit_of(self, option: RollbackOption) -> tuple[str, bool]:
        """Return the commit ``option`` reverts, and whether this executor offered it.

        An option this executor offered must come back exactly as offered. Any
        other (after a resume, an executor has offered nothing) must be one
        :meth:`options` would offer: its id is ``<name>:<change id>``, its
        target a service of the path map, its change id the abbreviated id
        (``/<service>``) of one commit; :meth:`_prepare` then checks that the
        commit is on the branch and touches the target's paths.
        """
        offered = self._offers.get(option.id)
        if offered is not None:
            if offered[0] != option:
                msg = (
                    f"{self._name}: option {option.id!r} is not the option this executor "
                    "offered under that id (its content differs); review the rollbacks again "
                    "and pass the option as offered"
                )
                raise RollbackFailedError(msg, source=self._name)
            return offered[1], True
        match = _CHANGE_ID.fullmatch(option.change_id)
        sha = None if match is None else self._resolve(match.group("short"))
        if option.id != f"{self._name}:{option.change_id}":
            problem = f"its id is not {self._name!r} followed by ':' and its change id"
        elif option.target not in self._paths.values():
            problem = f"its target {option.target!r} is not a service of this executor's paths"
        elif match is None or match.group("service") not in {None, option.target}:
            problem = (
                f"its change id {option.change_id!r} is not the abbreviated commit id (and "
                "service) of a GitOps deploy of its target"
            )
        elif sha is None:
            problem = f"no single commit of {self._git.repo} is {match.group('short')}"
        elif not option.supports_dry_run:
            problem = "it says it has no dry run, which every option of this executor has"
        else:
            return sha, False
        msg = (
            f"{self._name}: option {option.id!r} was not offered by this executor, and it cannot "
            f"tell which commit the option reverts: {problem}; review the rollbacks again"
        )
        raise RollbackFailedError(msg, source=self._name)

    def _prepare(self, option: RollbackOption) -> tuple[_Plan, list[str]]:
        """Fetch, plan the revert and list what stops it (the same for rehearsal and execution)."""
        self._check_own(option)
        sha, offered = self._commit_of(option)
        branch = self._branch_name()
        self._fetch(branch)
        if not self._is_ancestor(sha, self._tracking(branch)):
            msg = (
                f"{self._name}: {abbrev(sha)} is not on {self._at(branch)} (any more): "
                "nothing to revert there; review the rollbacks again"
            )
            raise RollbackFailedError(msg, source=self._name)
        plan = self._plan(sha, branch)
        if not offered and option.target not in services_of(self._paths, plan.files):
            msg = (
                f"{self._name}: option {option.id!r} was not offered by this executor, and "
                f"{abbrev(sha)} is not a deploy of {option.target!r} (it touches none of its "
                "paths): refusing to revert it; review the rollbacks again"
            )
            raise RollbackFailedError(msg, source=self._name)
        if not offered and option.from_version != self._path_head(option.target, plan.tracking):
            msg = (
                f"{self._name}: option {option.id!r} was not offered by this executor, and its "
                f"from_version {option.from_version!r} is not what {option.target!r} runs on "
                f"{self._at(branch)} now: refusing to revert; review the rollbacks again"
            )
            raise RollbackFailedError(msg, source=self._name)
        problems: list[str] = []
        if plan.later:
            # Only an option this executor offered says truly which later commits were reviewed.
            named = (
                " ".join(c.detail for c in option.caveats if c.kind is CaveatKind.OTHER)
                if offered
                else ""
            )
            unnamed = [c for c in plan.later if abbrev(c[0]) not in named]
            if not self._allow_later:
                problems.append(
                    f"later commits on {branch} touch the files {abbrev(sha)} touched: "
                    f"{_commit_list(plan.later)}; refusing to revert through them (revert them "
                    "first, or use allow_revert_through_later_changes=True)"
                )
            elif unnamed:
                problems.append(
                    f"commits landed on {branch} since the review that touch the files "
                    f"{abbrev(sha)} touched: {_commit_list(unnamed)}; the option did not name "
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
            RollbackFailedError: The option was edited since it was offered,
                or was not offered and :meth:`options` would not offer it, or
                its commit is no longer on the branch.
            SourceError: git failed or the remote could not be fetched.
        """
        plan, problems = self._prepare(option)
        live = abbrev(plan.remote_head)
        short = abbrev(plan.sha)
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
                detail=f"reverting {short} on {self._at(plan.branch)} would fail: {reason}",
            )
        through = f" (through {_commit_list(plan.later)})" if plan.later else ""
        where = (
            f"push it to {self._at(plan.branch)}"
            if self._mode == "push"
            else f"push branch {self._branch_name_for(plan.sha)} for review"
        )
        return RollbackResult(
            option.id,
            succeeded=True,
            dry_run=True,
            live_version=live,
            detail=f"reverting {short} ({plan.subject}) on {self._at(plan.branch)} applies "
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
            RollbackFailedError: The option was edited since it was offered, or
                was not offered and :meth:`options` would not offer it; or the
                revert was refused (later commits to the
                same files, a diverged or dirty clone), conflicted, or could
                not be pushed; the clone is left as it was.
            SourceError: git failed or the remote could not be fetched.
        """
        plan, problems = self._prepare(option)
        if problems:
            msg = f"{self._name}: refusing to revert {abbrev(plan.sha)}: " + "; ".join(problems)
            raise RollbackFailedError(msg, source=self._name)
        if self._mode == "branch":
            return self._execute_branch(plan, option)
        return self._execute_push(plan, option)

    def _message(self, plan: _Plan, option: RollbackOption) -> str:
        # The option's id comes from a change: keep its control characters (NUL above all,
        # which no argument can carry) out of the commit message.
        shown = printable(f"{self._name}, option {option.id}")
        return (
            f'Revert "{plan.subject}"\n\nThis reverts commit {plan.sha}.\n\n'
            f"Rolled back by incidentkit ({shown}).\n"
        )

    def _revert(self, plan: _Plan, tree: str | None) -> Answer:
        mainline = ("-m", "1") if plan.merge else ()
        return self._run(
            *self._committing(),
            "revert",
            "--no-commit",
            *mainline,
            "--end-of-options",
            plan.sha,
            what=f"revert {abbrev(plan.sha)}",
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
            return self._git.excerpt(answer.stderr) or f"git revert exited with {answer.returncode}"
        staged = self._run(
            "diff", "--cached", "--quiet", what="diff --cached", check=False, cwd=tree
        )
        if staged.returncode == 0:
            return (
                f"the revert changes nothing: {plan.branch} already has the files as they were "
                f"before {abbrev(plan.sha)} (reverted by hand?)"
            )
        return ""

    def _conflicts(self, tree: str | None) -> list[str]:
        answer = self._run(
            "diff", "--name-only", "--diff-filter=U", "-z", what="diff --diff-filter=U", cwd=tree
        )
        return [f for f in answer.stdout.split("\0") if f]

    def _commit(self, plan: _Plan, option: RollbackOption, tree: str | None) -> Answer:
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

    def _worktree(self, commit: str) -> Worktree:
        return Worktree(self._git, commit)

    def _execute_push(self, plan: _Plan, option: RollbackOption) -> RollbackResult:
        short = abbrev(plan.sha)
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
            said = self._git.excerpt(committed.stdout + committed.stderr)
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
            self._remote.for_git,
            f"{new}:refs/heads/{plan.branch}",
            what=f"push {self._remote.shown} {plan.branch}",
            check=False,
        )
        if pushed.returncode != 0:
            restored = self._restore(before, abort=False)
            refusal = self._git.error(pushed, f"push {self._remote.shown} {plan.branch}")
            msg = (
                f"{self._name}: the push of the revert of {short} to {self._remote.shown}/"
                f"{plan.branch} was refused ({refusal}); {restored}. Nothing is live: fetch, "
                "review the rollbacks again and retry"
            )
            raise RollbackFailedError(msg, source=self._name)
        live = self._remote_head(plan.branch)
        through = f", reverting through {_commit_list(plan.later)}" if plan.later else ""
        detail = (
            f"reverted {short} ({plan.subject}) on {plan.branch} with commit {new} and pushed it "
            f"to {self._remote.shown}{through}"
        )
        if live != new:
            detail += (
                f"; {self._at(plan.branch)} is now {abbrev(live) if live else 'missing'}, "
                "not the revert: someone pushed since"
            )
        return RollbackResult(
            option.id,
            succeeded=True,
            dry_run=False,
            live_version=abbrev(live) if live else None,
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
            return f"the clone could not be reset to {abbrev(before)}: check it by hand"
        return f"the clone is back on {abbrev(before)} as it was"

    def _execute_branch(self, plan: _Plan, option: RollbackOption) -> RollbackResult:
        short = abbrev(plan.sha)
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
                said = self._git.excerpt(committed.stdout + committed.stderr)
                msg = f"{self._name}: could not commit the revert of {short} ({said})"
                raise RollbackFailedError(msg, source=self._name)
            new = self._tree_head(tree)
        pushed = self._run(
            "push",
            "--quiet",
            "--porcelain",
            "--end-of-options",
            self._remote.for_git,
            f"{new}:refs/heads/{target}",
            what=f"push {self._remote.shown} {target}",
            check=False,
        )
        if pushed.returncode != 0:
            refusal = self._git.error(pushed, f"push {self._remote.shown} {target}")
            msg = (
                f"{self._name}: the push of branch {target} to {self._remote.shown} was refused "
                f"({refusal}); if the branch exists already, review it or delete it"
            )
            raise RollbackFailedError(msg, source=self._name)
        if self._remote_head(target) != new:
            msg = (
                f"{self._name}: {self._remote.shown} does not show {target} at {abbrev(new)} after "
                "the push; check the remote"
            )
            raise RollbackFailedError(msg, source=self._name)
        live = self._remote_head(plan.branch)
        return RollbackResult(
            option.id,
            succeeded=True,
            dry_run=False,
            live_version=abbrev(live) if live else None,
            detail=f"pushed branch {target} with commit {new} reverting {short} ({plan.subject}) "
            f"for review; nothing is live until it is merged into {plan.branch}, which still "
            f"runs {abbrev(live) if live else 'nothing'}",
        )

    def _tree_head(self, tree: str) -> str:
        answer = self._run(
            "rev-parse", "--verify", "HEAD^{commit}", what="rev-parse HEAD", cwd=tree
        )
        sha = answer.stdout.strip()
        if not FULL_SHA.fullmatch(sha):
            raise self._git.malformed("rev-parse HEAD", f"{sha[:60]!r} is not a commit id")
        return sha
