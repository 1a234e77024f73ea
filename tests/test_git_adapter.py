"""Tests for the git deploy source and the GitOps rollback executor, on real git repositories.

Every test builds its repositories in ``tmp_path`` with the real ``git``: a
bare repository as the remote, a clone with a working tree, commits with
controlled dates and time zones, tags. The adapter's git runs with an empty
``HOME``, so no global identity or configuration can help it.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import os
import pathlib
import shutil
import socket
import stat
import subprocess
import threading
import traceback

import attrs
import pendulum
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fakes import World
from incidentkit import (
    Caveat,
    CaveatKind,
    Change,
    ChangeKind,
    ChecklistItem,
    Detection,
    Evidence,
    Figure,
    Incident,
    InvalidInputError,
    MalformedResponseError,
    ManualClock,
    NaiveDatetimeError,
    Recovered,
    RollbackFailedError,
    Severity,
    SourceAuthError,
    SourceError,
    SourceRequestError,
    SourceTimeoutError,
    SourceUnavailableError,
)
from incidentkit.adapters.git import GitDeploySource, GitOpsRollbackExecutor
from incidentkit.adapters.git._runner import Answer
from incidentkit.events import RollbackExecuted
from incidentkit.protocols import DeploySource, RollbackExecutor
from services import require_executables

GIT = shutil.which("git") or "/usr/bin/git"
UTC = pendulum.UTC


def at(hour: int, minute: int = 0) -> pendulum.DateTime:
    """An instant on the scenario's day, in UTC."""
    return pendulum.datetime(2026, 11, 20, hour, minute, tz=UTC)


WINDOW = (at(13), at(15))
CHECKOUT_V1 = "image: registry.example/checkout:v1.0.0\n# a\n# b\n# c\n# d\nreplicas: 3\n"
CHECKOUT_V2 = "image: registry.example/checkout:v2.14.0\n# a\n# b\n# c\n# d\nreplicas: 3\n"
VERSION = r"image: \S+:(?P<version>\S+)"


def run_git(repo: pathlib.Path, *args: str, date: str | None = None, author: str | None = None):
    """Run the test's own git (with an identity and controlled dates) and return stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(LC_ALL="C", GIT_CONFIG_NOSYSTEM="1")
    if date is not None:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    if author is not None:
        env.update(GIT_AUTHOR_NAME=author, GIT_AUTHOR_EMAIL="author@example.com")
    answer = subprocess.run(
        [GIT, "-C", str(repo), *args],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    return answer.stdout


class Repos:
    """A bare remote and a clone of it, with helpers to commit, push and read."""

    def __init__(self, root: pathlib.Path) -> None:
        self.root = root
        self.remote = root / "remote.git"
        self.clone = root / "clone"
        run_git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(self.remote))
        run_git(root, "clone", "--quiet", str(self.remote), str(self.clone))
        self.identify(self.clone)
        run_git(self.clone, "checkout", "--quiet", "-B", "main")

    @staticmethod
    def identify(repo: pathlib.Path) -> None:
        """Give a repository the test's own identity."""
        run_git(repo, "config", "user.name", "Test Setup")
        run_git(repo, "config", "user.email", "setup@example.com")

    def commit(
        self,
        files: dict[str, str | None],
        message: str,
        date: str,
        *,
        repo: pathlib.Path | None = None,
        author: str = "Dana Deployer",
    ) -> str:
        """Write (or, with None, delete) files, commit them at ``date`` and return the sha."""
        where = repo or self.clone
        for name, content in files.items():
            path = where / name
            if content is None:
                run_git(where, "rm", "--quiet", name)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
            run_git(where, "add", name)
        run_git(where, "commit", "--quiet", "-m", message, date=date, author=author)
        return self.head(where)

    def head(self, repo: pathlib.Path | None = None, ref: str = "HEAD") -> str:
        """Return the commit ``ref`` names in the clone (or ``repo``)."""
        return run_git(repo or self.clone, "rev-parse", ref).strip()

    def push(self, repo: pathlib.Path | None = None) -> None:
        """Push the clone's (or ``repo``'s) HEAD to the remote's main."""
        run_git(repo or self.clone, "push", "--quiet", "origin", "HEAD:refs/heads/main")

    def remote_head(self, branch: str = "main") -> str:
        """Return the remote's head of ``branch``, read in the bare repository itself."""
        return run_git(self.remote, "rev-parse", f"refs/heads/{branch}").strip()

    def other_clone(self, name: str = "other") -> pathlib.Path:
        """Clone the remote afresh (another engineer's clone)."""
        path = self.root / name
        run_git(self.root, "clone", "--quiet", "--branch", "main", str(self.remote), str(path))
        self.identify(path)
        return path

    def snapshot(self) -> dict[str, str]:
        """Everything a dry run must not change: refs, HEAD, status, files, worktrees."""
        files = {
            str(p.relative_to(self.clone)): p.read_text()
            for p in sorted(self.clone.rglob("*"))
            if p.is_file() and ".git" not in p.parts
        }
        return {
            "clone refs": run_git(self.clone, "for-each-ref"),
            "remote refs": run_git(self.remote, "for-each-ref"),
            "head": run_git(self.clone, "rev-parse", "HEAD"),
            "branch": run_git(self.clone, "symbolic-ref", "HEAD"),
            "status": run_git(self.clone, "status", "--porcelain", "--untracked-files=all"),
            "worktrees": run_git(self.clone, "worktree", "list", "--porcelain"),
            "files": repr(files),
        }


@pytest.fixture(autouse=True)
def no_global_git_config(tmp_path, monkeypatch):
    """The adapter's git sees no global or system configuration (no identity to lean on)."""
    require_executables("git")
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    for name in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
    ):
        monkeypatch.delenv(name, raising=False)


class Scenario:
    """The checkout outage in a GitOps repository: three commits, pushed."""

    def __init__(self, root: pathlib.Path) -> None:
        self.repos = Repos(root)
        commit = self.repos.commit
        self.c0 = commit(
            {
                "apps/checkout/deploy.yaml": CHECKOUT_V1,
                "apps/search/deploy.yaml": "image: registry.example/search:v5.1.0\n",
                "README.md": "the cluster\n",
            },
            "bootstrap the cluster",
            "2026-11-20T10:00:00+00:00",
            author="Sam Setup",
        )
        self.c1 = commit(
            {"apps/search/deploy.yaml": "image: registry.example/search:v5.2.0\n"},
            "search v5.2.0",
            "2026-11-20T13:55:00+00:00",
            author="Sam Search",
        )
        # 19:32 in India is 14:02 UTC.
        self.c2 = commit(
            {
                "apps/checkout/deploy.yaml": CHECKOUT_V2,
                "db/migrations/0042_add_discount.sql": "ALTER TABLE orders ADD discount int;\n",
            },
            "checkout v2.14.0",
            "2026-11-20T19:32:00+05:30",
        )
        self.repos.push()

    def source(self, **options) -> GitDeploySource:
        """A GitOps source over the clone with two services."""
        paths = {"apps/checkout/": "checkout", "apps/search/": "search"}
        return GitDeploySource(self.repos.clone, paths=paths, **options)

    def executor(self, **options) -> GitOpsRollbackExecutor:
        """An executor for the source, on main."""
        return GitOpsRollbackExecutor.from_source(self.source(ref="main"), **options)

    def change(self, sha: str, source: GitDeploySource | None = None) -> Change:
        """The deploy the source reports for commit ``sha``."""
        found = (source or self.source()).deploys(at(0), at(23, 59))
        return next(c for c in found if c.attributes["commit"] == sha)


@pytest.fixture
def scenario(tmp_path):
    """The three-commit GitOps repository, pushed to its bare remote."""
    return Scenario(tmp_path)


def wrapper(tmp_path: pathlib.Path, body: str, name: str = "fake-git") -> str:
    """Write an executable shell script standing in for git; return its path."""
    path = tmp_path / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (it was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- the source


def test_adapters_conform_to_their_protocols(scenario):
    """The source is a DeploySource and the executor a RollbackExecutor."""
    assert isinstance(scenario.source(), DeploySource)
    assert isinstance(scenario.executor(), RollbackExecutor)
    assert scenario.source().name == "git"
    assert scenario.executor().name == "git-revert"
    assert repr(scenario.source()).startswith(
        f"GitDeploySource({str(scenario.repos.clone)!r}, paths="
    )
    tags = GitDeploySource("https://bob:hunter2@git.example/x.git", tags="v/{service}/{version}")
    assert "hunter2" not in repr(tags)
    assert "tags='v/{service}/{version}'" in repr(tags)


def test_history_in_the_window(scenario):
    """Each commit touching a mapped path in the window is a deploy of its service."""
    source = scenario.source(commit_url="https://git.example/org/gitops/commit/{sha}")
    found = source.deploys(*WINDOW)
    assert [(c.service, c.id) for c in found] == [
        ("search", scenario.c1[:12]),
        ("checkout", scenario.c2[:12]),
    ]
    search, checkout = found
    assert checkout.kind is ChangeKind.DEPLOY
    assert checkout.source == "git"
    assert checkout.started == at(14, 2)
    assert checkout.finished == checkout.started
    assert checkout.summary == "checkout v2.14.0"
    assert checkout.author == "Dana Deployer"
    assert checkout.link == f"https://git.example/org/gitops/commit/{scenario.c2}"
    assert checkout.attributes["commit"] == scenario.c2
    assert checkout.attributes["path"] == "apps/checkout/deploy.yaml"
    assert search.author == "Sam Search"
    # Without a version pattern, versions are abbreviated commit ids, the previous
    # one found outside the window.
    assert checkout.version == scenario.c2[:12]
    assert checkout.previous_version == scenario.c0[:12]
    assert search.previous_version == scenario.c0[:12]


def test_window_edges_are_inclusive_and_older_commits_are_left_out(scenario):
    """A deploy exactly at start or end is in; the bootstrap commit at 10:00 is not."""
    source = scenario.source()
    assert [c.id for c in source.deploys(at(14, 2), at(14, 2))] == [scenario.c2[:12]]
    assert [c.id for c in source.deploys(at(13, 55), at(14, 1))] == [scenario.c1[:12]]
    assert source.deploys(at(14, 3), at(16)) == []
    everything = source.deploys(at(9), at(16))
    assert [c.id for c in everything] == [
        scenario.c0[:12] + s for s in ("/checkout", "/search")
    ] + [
        scenario.c1[:12],
        scenario.c2[:12],
    ]
    assert everything[0].previous_version is None  # the root commit has no predecessor


def test_offsets_become_utc_instants(scenario):
    """A commit made at 19:32 +05:30 is reported at 14:02 UTC, an aware UTC instant."""
    checkout = scenario.change(scenario.c2)
    assert checkout.started == pendulum.parse("2026-11-20T19:32:00+05:30")
    assert checkout.started.utcoffset() == pendulum.duration(0)
    assert (checkout.started.hour, checkout.started.minute) == (14, 2)


def test_services_filter(scenario):
    """Only the services asked for come back; a single string is one service."""
    source = scenario.source()
    assert [c.service for c in source.deploys(*WINDOW, services=["search"])] == ["search"]
    assert [c.service for c in source.deploys(*WINDOW, services="checkout")] == ["checkout"]
    assert source.deploys(*WINDOW, services=["billing"]) == []


def test_versions_are_extracted_from_the_diff(scenario):
    """With a version pattern, the version and the previous one come from the changed lines."""
    source = scenario.source(version_pattern=VERSION)
    search, checkout = source.deploys(*WINDOW)
    assert (checkout.version, checkout.previous_version) == ("v2.14.0", "v1.0.0")
    assert (search.version, search.previous_version) == ("v5.2.0", "v5.1.0")
    # A change that does not touch the version line falls back to commit ids.
    c3 = scenario.repos.commit(
        {"apps/checkout/deploy.yaml": CHECKOUT_V2.replace("replicas: 3", "replicas: 5")},
        "checkout: scale to 5",
        "2026-11-20T14:30:00+00:00",
    )
    scaled = scenario.change(c3, source)
    assert (scaled.version, scaled.previous_version) == (c3[:12], scenario.c2[:12])
    unnamed = scenario.source(version_pattern=r"image: \S+:(\S+)")
    assert scenario.change(scenario.c2, unnamed).version == "v2.14.0"
    whole = scenario.source(version_pattern=r"v\d+\.\d+\.\d+")
    assert scenario.change(scenario.c2, whole).previous_version == "v1.0.0"


def test_previous_version_from_long_before_the_window(scenario):
    """The previous deploy of a service may be weeks older than the window: still found."""
    c3 = scenario.repos.commit(
        {"apps/search/deploy.yaml": "image: registry.example/search:v6.0.0\n"},
        "search v6",
        "2026-12-20T09:00:00+00:00",
    )
    (change,) = scenario.source().deploys(
        pendulum.datetime(2026, 12, 20, tz=UTC), pendulum.datetime(2026, 12, 21, tz=UTC)
    )
    assert change.id == c3[:12]
    assert change.previous_version == scenario.c1[:12]


def test_schema_migration_attribute(scenario):
    """A commit that touches a migrations directory is marked; others are not."""
    search, checkout = scenario.source().deploys(*WINDOW)
    assert checkout.attributes["schema_migration"] == "true"
    assert checkout.attributes["migrations"] == "db/migrations/0042_add_discount.sql"
    assert "schema_migration" not in search.attributes
    off = scenario.source(migrations=None)
    assert "schema_migration" not in scenario.change(scenario.c2, off).attributes


def test_merge_commits_count_once_on_first_parent_history(scenario):
    """A merged branch is one deploy (the merge), dated when it was merged."""
    repos = scenario.repos
    run_git(repos.clone, "checkout", "--quiet", "-b", "feature")
    repos.commit(
        {"apps/search/deploy.yaml": "image: registry.example/search:v5.3.0-rc\n"},
        "search rc",
        "2026-11-20T14:10:00+00:00",
    )
    repos.commit(
        {"apps/search/deploy.yaml": "image: registry.example/search:v5.3.0\n"},
        "search v5.3.0",
        "2026-11-20T14:11:00+00:00",
    )
    run_git(repos.clone, "checkout", "--quiet", "main")
    run_git(
        repos.clone,
        "merge",
        "--quiet",
        "--no-ff",
        "-m",
        "Merge search v5.3.0",
        "feature",
        date="2026-11-20T14:20:00+00:00",
    )
    merge = repos.head()
    source = scenario.source(version_pattern=VERSION)
    found = source.deploys(at(14, 5), at(15), services=["search"])
    assert [(c.id, c.started, c.version, c.previous_version) for c in found] == [
        (merge[:12], at(14, 20), "v5.3.0", "v5.2.0")
    ]


def test_a_commit_touching_two_services_is_a_deploy_of_each(scenario):
    """Ids stay unique: the abbreviated id followed by the service."""
    both = scenario.repos.commit(
        {
            "apps/checkout/deploy.yaml": CHECKOUT_V2.replace("replicas: 3", "replicas: 4"),
            "apps/search/deploy.yaml": "image: registry.example/search:v5.2.1\n",
        },
        "bump both",
        "2026-11-20T14:40:00+00:00",
    )
    found = scenario.source().deploys(at(14, 30), at(15))
    assert sorted((c.id, c.service) for c in found) == [
        (f"{both[:12]}/checkout", "checkout"),
        (f"{both[:12]}/search", "search"),
    ]


def test_a_path_covers_its_directory_not_its_namesakes(scenario):
    """'apps/checkout' (no slash) covers apps/checkout/..., not apps/checkout-worker/..."""
    worker = scenario.repos.commit(
        {"apps/checkout-worker/deploy.yaml": "image: registry.example/worker:v1\n"},
        "worker v1",
        "2026-11-20T14:30:00+00:00",
    )
    source = GitDeploySource(scenario.repos.clone, paths={"apps/checkout": "checkout"})
    assert [c.id for c in source.deploys(*WINDOW)] == [scenario.c2[:12]]
    both = GitDeploySource(
        scenario.repos.clone,
        paths={"apps/checkout": "checkout", "apps/checkout-worker/": "worker"},
    )
    found = both.deploys(*WINDOW)
    assert [(c.id, c.service) for c in found] == [
        (scenario.c2[:12], "checkout"),
        (worker[:12], "worker"),
    ]


def test_ref_selects_the_history_read(scenario):
    """A source reading origin/main does not see a local commit that was not pushed."""
    scenario.repos.commit(
        {"apps/search/deploy.yaml": "image: registry.example/search:v9\n"},
        "local only",
        "2026-11-20T14:30:00+00:00",
    )
    local = scenario.source().deploys(*WINDOW, services=["search"])
    remote = scenario.source(ref="origin/main").deploys(*WINDOW, services=["search"])
    assert len(local) == 2
    assert [c.id for c in remote] == [scenario.c1[:12]]


@pytest.fixture
def tagged(scenario):
    """Deploy tags: a lightweight one on the bootstrap, annotated ones later, and noise."""
    repos = scenario.repos
    run_git(repos.clone, "tag", "deploy/checkout/v1.0.0", scenario.c0)
    run_git(repos.clone, "config", "user.name", "Tessa Tagger")  # the tagger is the committer
    run_git(
        repos.clone,
        "tag",
        "-a",
        "-m",
        "ship checkout v2.14.0",
        "deploy/checkout/v2.14.0",
        scenario.c2,
        date="2026-11-20T20:35:00+05:30",  # the tagger date: 15:05 UTC
    )
    run_git(
        repos.clone,
        "tag",
        "-a",
        "-m",
        "search",
        "deploy/search/v5.2.0",
        scenario.c1,
        date="2026-11-20T14:00:00+00:00",
    )
    run_git(repos.clone, "tag", "release-2026-11", scenario.c2)
    return scenario


def test_tag_mode_reads_annotated_and_lightweight_tags(tagged):
    """Versions come from the names; dates from the tagger (or the commit for a lightweight tag)."""
    source = GitDeploySource(tagged.repos.clone, tags="deploy/{service}/{version}", name="tags")
    found = source.deploys(at(9), at(16))
    assert [(c.id, c.service, c.version, c.started) for c in found] == [
        ("deploy/checkout/v1.0.0", "checkout", "v1.0.0", at(10)),
        ("deploy/search/v5.2.0", "search", "v5.2.0", at(14)),
        ("deploy/checkout/v2.14.0", "checkout", "v2.14.0", at(15, 5)),
    ]
    light, search, annotated = found
    assert light.previous_version is None
    assert light.author == "Sam Setup"  # the commit's author
    assert light.summary == "bootstrap the cluster"
    assert annotated.previous_version == "v1.0.0"
    assert annotated.author == "Tessa Tagger"
    assert annotated.summary == "ship checkout v2.14.0"
    assert annotated.finished == annotated.started
    assert annotated.attributes == {
        "commit": tagged.c2,
        "tag": "deploy/checkout/v2.14.0",
        "schema_migration": "true",
        "migrations": "db/migrations/0042_add_discount.sql",
    }
    assert search.attributes["commit"] == tagged.c1
    assert "schema_migration" not in search.attributes
    assert [c.id for c in source.deploys(at(15), at(16))] == ["deploy/checkout/v2.14.0"]
    assert [c.id for c in source.deploys(at(9), at(16), services="search")] == [
        "deploy/search/v5.2.0"
    ]


def test_tag_template_with_text_around_the_placeholders(tagged):
    """Literal text in the template must match; other tags are ignored."""
    run_git(tagged.repos.clone, "tag", "prod-checkout-2.15.0-ok", tagged.c2)
    source = GitDeploySource(tagged.repos.clone, tags="prod-{service}-{version}-ok")
    assert [(c.service, c.version) for c in source.deploys(at(9), at(16))] == [
        ("checkout", "2.15.0")
    ]


def test_tag_source_has_no_executor(tagged):
    """Reverting a tag deploy is not what GitOps revert does: refused clearly."""
    source = GitDeploySource(tagged.repos.clone, tags="deploy/{service}/{version}")
    with pytest.raises(InvalidInputError, match="deploy-tag source"):
        GitOpsRollbackExecutor.from_source(source)
    tag_change = source.deploys(at(9), at(16))[-1]
    assert tagged.executor().options(tag_change) == []


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ({}, "exactly one"),
        ({"paths": {"a/": "a"}, "tags": "deploy/{service}/{version}"}, "exactly one"),
        ({"tags": "deploy/{service}"}, "once each"),
        ({"paths": {}}, "at least one"),
        ({"paths": {"/abs/": "a"}}, "relative"),
        ({"paths": {"a/": " "}}, "non-empty"),
        ({"paths": {"a/": "a"}, "ref": "--output=/tmp/x"}, "start with '-'"),
        ({"paths": {"a/": "a"}, "version_pattern": "("}, "not a valid regular expression"),
        ({"paths": {"a/": "a"}, "timeout": 0}, "positive"),
        ({"paths": {"a/": "a"}, "timeout": True}, "positive"),
        ({"paths": {"a/": "a"}, "commit_url": "https://x/{commit}"}, "only use"),
        ({"paths": {"a/": "a"}, "name": ""}, "non-empty"),
    ],
)
def test_source_arguments_are_checked(tmp_path, arguments, match):
    """Bad configuration fails at construction with a message that says what to fix."""
    with pytest.raises(InvalidInputError, match=match):
        GitDeploySource(tmp_path, **arguments)


def test_window_must_be_aware_and_ordered(scenario):
    """Naive datetimes and reversed windows are refused before git runs."""
    source = scenario.source()
    with pytest.raises(NaiveDatetimeError):
        source.deploys(at(13).naive(), at(15))
    with pytest.raises(InvalidInputError, match="before it starts"):
        source.deploys(at(15), at(13))


# --------------------------------------------------------------------------- failures


def test_not_a_repository(tmp_path):
    """A directory that is not a repository, or no directory at all: unavailable."""
    empty = tmp_path / "empty"
    empty.mkdir()
    for where in (empty, tmp_path / "missing"):
        source = GitDeploySource(where, paths={"apps/": "app"})
        with pytest.raises(SourceUnavailableError, match="is not a git repository") as caught:
            source.deploys(*WINDOW)
        assert caught.value.source == "git"
        assert str(where) in str(caught.value)


def test_executor_outside_a_repository(tmp_path):
    """The executor in a directory that is not a clone: unavailable, saying so."""
    executor = GitOpsRollbackExecutor(tmp_path, paths={"apps/": "app"})
    with pytest.raises(SourceUnavailableError, match="is not a git repository"):
        executor.current_version("app")


def test_unknown_ref_is_a_request_error(scenario):
    """A ref that does not exist: fix the request; git's words are quoted."""
    source = scenario.source(ref="release/9.9")
    with pytest.raises(SourceRequestError, match=r"release/9\.9") as caught:
        source.deploys(*WINDOW)
    assert "check that the ref" in str(caught.value)


def test_git_not_found(scenario, monkeypatch):
    """No git executable: unavailable, and the message says to install git."""
    with pytest.raises(SourceUnavailableError, match="install git"):
        scenario.source(git=str(scenario.repos.root / "no-such-git")).deploys(*WINDOW)
    monkeypatch.setenv("PATH", str(scenario.repos.root / "empty-path"))
    with pytest.raises(SourceUnavailableError, match="install git"):
        scenario.source().deploys(*WINDOW)
    with pytest.raises(SourceUnavailableError, match="install git"):
        scenario.executor().current_version("checkout")


def test_git_that_cannot_be_run(scenario):
    """A git path that is not executable: unavailable, saying why."""
    path = scenario.repos.root / "not-executable"
    path.write_text("not a program")
    with pytest.raises(SourceUnavailableError, match="could not run git"):
        scenario.source(git=str(path)).deploys(*WINDOW)


def test_timeout_stops_git_and_raises(tmp_path):
    """A git that hangs is killed after the timeout: SourceTimeoutError with the timeout."""
    sleeper = wrapper(tmp_path, "exec sleep 30")
    source = GitDeploySource(tmp_path, paths={"apps/": "app"}, git=sleeper, timeout=0.3)
    with pytest.raises(SourceTimeoutError, match=r"within 0\.3 s") as caught:
        source.deploys(*WINDOW)
    assert caught.value.timeout == pytest.approx(0.3)
    executor = GitOpsRollbackExecutor(tmp_path, git=sleeper, timeout=0.3, paths={"a/": "a"})
    with pytest.raises(SourceTimeoutError):
        executor.current_version("a")


@pytest.mark.parametrize(
    "output",
    [
        r"\036not-a-sha\037\037A\0372026-11-20T14:00:00+00:00\037s\037\037\000",
        r"\036" + "a" * 40 + r"\037\037A\037yesterday\037s\037\037\000",
        r"\036" + "a" * 40 + r"\037only three\037fields",
    ],
)
def test_unreadable_log_is_malformed(tmp_path, output):
    """A git that answers something else than the asked format: MalformedResponseError."""
    fake = wrapper(tmp_path, f"printf '{output}'")
    source = GitDeploySource(tmp_path, paths={"apps/": "app"}, git=fake)
    with pytest.raises(MalformedResponseError, match="could not read the output of git"):
        source.deploys(*WINDOW)


def test_unreadable_tags_are_malformed(tmp_path):
    """A tag listing with the wrong number of fields, or a bad date, is malformed."""
    fields = r"refs/tags/deploy/a/v1\037commit\037" + "b" * 40 + r"\037\037"
    for output in (r"refs/tags/deploy/a/v1\037commit\036", fields + r"never\037\037s\037\036"):
        fake = wrapper(tmp_path, f"printf '{output}'")
        source = GitDeploySource(tmp_path, tags="deploy/{service}/{version}", git=fake)
        with pytest.raises(MalformedResponseError):
            source.deploys(*WINDOW)


def test_credentials_in_urls_never_reach_messages(tmp_path):
    """Git's own message quoting https://user:token@host is redacted."""
    leak = "fatal: unable to access 'https://alice:s3cr3t-t0ken@git.example.com/org/gitops.git/'"
    fake = wrapper(
        tmp_path, f'echo "{leak}: Could not resolve host: git.example.com" >&2\nexit 128'
    )
    executor = GitOpsRollbackExecutor(tmp_path, git=fake, branch="main", paths={"a/": "a"})
    with pytest.raises(SourceUnavailableError) as caught:
        executor.current_version("a")
    assert "s3cr3t-t0ken" not in str(caught.value)
    assert "alice" not in str(caught.value)
    assert "https://***@git.example.com/org/gitops.git" in str(caught.value)
    assert "could not reach the remote" in str(caught.value)


def test_long_git_messages_are_cut(tmp_path):
    """A long message from git is quoted in part, not whole."""
    fake = wrapper(tmp_path, "printf 'fatal: %0900d' 7 >&2\nexit 1")
    source = GitDeploySource(tmp_path, paths={"apps/": "app"}, git=fake)
    with pytest.raises(SourceUnavailableError, match=r"0000 \.\.\.") as caught:
        source.deploys(*WINDOW)
    assert len(str(caught.value)) < 800


def test_real_fetch_from_a_url_with_credentials_is_redacted(scenario):
    """A real failed fetch from https://user:token@127.0.0.1:<closed port> leaks nothing."""
    url = f"https://alice:s3cr3t-t0ken@127.0.0.1:{free_port()}/gitops.git"
    run_git(scenario.repos.clone, "remote", "set-url", "origin", url)
    executor = scenario.executor()
    with pytest.raises(SourceUnavailableError) as caught:
        executor.options(scenario.change(scenario.c2))
    assert "s3cr3t-t0ken" not in str(caught.value)
    assert "s3cr3t-t0ken" not in repr(executor)
    assert "fetch origin main" in str(caught.value)


def test_authentication_failures_are_auth_errors(tmp_path):
    """Git saying it could not ask for a user name (prompts disabled): SourceAuthError."""
    said = "fatal: could not read Username for 'https://git.example.com': terminal prompts disabled"
    fake = wrapper(tmp_path, f'echo "{said}" >&2\nexit 128')
    executor = GitOpsRollbackExecutor(tmp_path, git=fake, branch="main", paths={"a/": "a"})
    with pytest.raises(SourceAuthError, match="git never prompts"):
        executor.current_version("a")


def test_git_environment_is_safe(tmp_path, monkeypatch):
    """Git runs with prompts off, the C locale, and without inherited GIT_DIR or identity."""
    monkeypatch.setenv("GIT_DIR", "/elsewhere")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Someone Else")
    dump = tmp_path / "env.txt"
    fake = wrapper(tmp_path, f'env > "{dump}"\necho "$@" >> "{dump}"')
    source = GitDeploySource(tmp_path / "repo", paths={"apps/": "app"}, git=fake)
    assert source.deploys(*WINDOW) == []
    seen = dump.read_text()
    assert "GIT_TERMINAL_PROMPT=0" in seen.splitlines()
    assert "LC_ALL=C" in seen.splitlines()
    assert "GIT_DIR=" not in seen
    assert "Someone Else" not in seen
    assert f"-C {tmp_path / 'repo'}" in seen
    assert "--end-of-options HEAD -- apps/" in seen


# --------------------------------------------------------------------------- the executor


def caveat(option, kind: CaveatKind) -> list[str]:
    """The details of the option's caveats of one kind."""
    return [c.detail for c in option.caveats if c.kind is kind]


def test_options_for_a_gitops_deploy(scenario):
    """One option: the service from its path's head back to the previous version."""
    executor = scenario.executor()
    change = scenario.change(scenario.c2)
    (option,) = executor.options(change)
    assert option.id == f"git-revert:{change.id}"
    assert option.executor == "git-revert"
    assert option.change_id == change.id
    assert option.target == "checkout"
    assert option.from_version == scenario.c2[:12]
    assert option.to_version == scenario.c0[:12]
    assert option.supports_dry_run
    (migration,) = caveat(option, CaveatKind.SCHEMA_MIGRATION)
    assert "db/migrations/0042_add_discount.sql" in migration
    assert caveat(option, CaveatKind.OTHER) == []
    assert caveat(option, CaveatKind.AUTOMATED_SYNC) == []
    (search_option,) = executor.options(scenario.change(scenario.c1))
    assert search_option.caveats == ()


def test_options_only_for_commits_of_the_branch(scenario):
    """Changes without a commit, with an unknown commit, or off the branch get no option."""
    executor = scenario.executor()
    plain = Change("d1", ChangeKind.DEPLOY, "checkout", at(14))
    assert executor.options(plain) == []
    unknown = Change("d2", ChangeKind.DEPLOY, "checkout", at(14), attributes={"commit": "f" * 40})
    assert executor.options(unknown) == []
    infra = Change(
        "i1", ChangeKind.INFRASTRUCTURE, "checkout", at(14), attributes={"commit": scenario.c2}
    )
    assert executor.options(infra) == []
    run_git(scenario.repos.clone, "checkout", "--quiet", "-b", "side")
    side = scenario.repos.commit({"apps/search/x": "1\n"}, "side", "2026-11-20T14:30:00+00:00")
    run_git(scenario.repos.clone, "checkout", "--quiet", "main")
    off_branch = Change("d3", ChangeKind.DEPLOY, "search", at(14), attributes={"commit": side})
    assert executor.options(off_branch) == []


def test_current_version_is_the_last_commit_on_the_services_paths(scenario):
    """The current version is read on the remote branch after a fetch; unknown ones are None."""
    executor = scenario.executor()
    assert executor.current_version("checkout") == scenario.c2[:12]
    assert executor.current_version("search") == scenario.c1[:12]
    assert executor.current_version("billing") is None
    other = scenario.repos.other_clone()
    c3 = scenario.repos.commit(
        {"apps/search/deploy.yaml": "image: registry.example/search:v5.3.0\n"},
        "search v5.3.0",
        "2026-11-20T14:30:00+00:00",
        repo=other,
    )
    scenario.repos.push(other)
    assert executor.current_version("search") == c3[:12]  # fetched, not the stale clone


def test_revert_is_pushed_to_the_remote(scenario):
    """Execute reverts the commit, pushes it, and the remote serves the old files."""
    executor = scenario.executor()
    (option,) = executor.options(scenario.change(scenario.c2))
    result = executor.execute(option)
    assert result.succeeded
    assert not result.dry_run
    remote_head = scenario.repos.remote_head()
    assert remote_head != scenario.c2
    assert result.live_version == remote_head[:12]
    assert remote_head in result.detail
    assert scenario.c2[:12] in result.detail
    assert scenario.repos.head() == remote_head  # the clone holds the revert too
    fresh = scenario.repos.other_clone("fresh")
    assert (fresh / "apps/checkout/deploy.yaml").read_text() == CHECKOUT_V1
    assert not (fresh / "db/migrations/0042_add_discount.sql").exists()
    author = run_git(fresh, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%P|%B").strip()
    assert author.startswith(
        "incidentkit <incidentkit@localhost>|incidentkit <incidentkit@localhost>|"
    )
    assert f"This reverts commit {scenario.c2}." in author
    assert f"option {option.id}" in author
    assert author.split("|")[2] == scenario.c2  # on top of the culprit
    assert executor.current_version("checkout") == remote_head[:12]


def test_a_custom_identity_is_used_for_the_revert(scenario):
    """The author argument is the revert commit's identity, whatever the clone's config."""
    executor = scenario.executor(author="Rolly Back <rollback@ops.example>")
    (option,) = executor.options(scenario.change(scenario.c1))
    executor.execute(option)
    assert run_git(scenario.repos.remote, "log", "-1", "--format=%an <%ae>", "main").strip() == (
        "Rolly Back <rollback@ops.example>"
    )


def test_refuses_to_revert_through_a_later_change_to_the_same_path(scenario):
    """A later commit to the same file: a caveat names it, and execute and dry run refuse."""
    c3 = scenario.repos.commit(
        {"apps/checkout/deploy.yaml": CHECKOUT_V2.replace("replicas: 3", "replicas: 6")},
        "checkout: scale to 6",
        "2026-11-20T14:20:00+00:00",
    )
    scenario.repos.push()
    before = scenario.repos.snapshot()
    executor = scenario.executor()
    (option,) = executor.options(scenario.change(scenario.c2))
    (later,) = caveat(option, CaveatKind.OTHER)
    assert c3[:12] in later
    assert "checkout: scale to 6" in later
    assert "refuses to revert through them" in later
    assert option.from_version == c3[:12]
    rehearsal = executor.dry_run(option)
    assert not rehearsal.succeeded
    assert c3[:12] in rehearsal.detail
    with pytest.raises(RollbackFailedError, match="refusing to revert through them") as caught:
        executor.execute(option)
    assert c3[:12] in str(caught.value)
    assert scenario.repos.snapshot() == before


def test_reverting_through_later_changes_when_allowed(scenario):
    """Allowed explicitly: the caveat and the result say so, and the later change survives."""
    c3 = scenario.repos.commit(
        {"apps/checkout/deploy.yaml": CHECKOUT_V2.replace("replicas: 3", "replicas: 6")},
        "checkout: scale to 6",
        "2026-11-20T14:20:00+00:00",
    )
    scenario.repos.push()
    executor = scenario.executor(allow_revert_through_later_changes=True)
    (option,) = executor.options(scenario.change(scenario.c2))
    (later,) = caveat(option, CaveatKind.OTHER)
    assert c3[:12] in later
    assert "reverts through them" in later
    assert executor.dry_run(option).succeeded
    result = executor.execute(option)
    assert result.succeeded
    assert f"reverting through {c3[:12]}" in result.detail
    fresh = scenario.repos.other_clone("fresh")
    assert (fresh / "apps/checkout/deploy.yaml").read_text() == CHECKOUT_V1.replace(
        "replicas: 3", "replicas: 6"
    )


def test_allowed_executor_still_refuses_changes_the_option_did_not_name(scenario):
    """A commit landing after the review is refused even when reverting through is allowed."""
    executor = scenario.executor(allow_revert_through_later_changes=True)
    (option,) = executor.options(scenario.change(scenario.c2))
    assert caveat(option, CaveatKind.OTHER) == []
    other = scenario.repos.other_clone()
    c3 = scenario.repos.commit(
        {"apps/checkout/deploy.yaml": CHECKOUT_V2.replace("replicas: 3", "replicas: 7")},
        "checkout: scale to 7",
        "2026-11-20T14:25:00+00:00",
        repo=other,
    )
    scenario.repos.push(other)
    with pytest.raises(RollbackFailedError, match="since the review") as caught:
        executor.execute(option)
    assert c3[:12] in str(caught.value)
    assert scenario.repos.remote_head() == c3


def test_dry_run_changes_nothing(scenario):
    """The rehearsal reports a clean revert and leaves refs, tree, worktrees and remote alone."""
    executor = scenario.executor()
    (option,) = executor.options(scenario.change(scenario.c2))
    before = scenario.repos.snapshot()
    result = executor.dry_run(option)
    assert result.succeeded
    assert result.dry_run
    assert result.live_version == scenario.c2[:12]
    assert "applies cleanly" in result.detail
    assert scenario.repos.snapshot() == before
    assert not list(scenario.repos.root.glob("incidentkit-git-*"))


def test_conflicting_revert_aborts_and_restores_the_tree(scenario):
    """A conflicting revert raises RollbackFailedError; clone and remote stay as they were."""
    c3 = scenario.repos.commit(
        {"apps/checkout/deploy.yaml": CHECKOUT_V2.replace("v2.14.0", "v2.14.1")},
        "checkout v2.14.1",
        "2026-11-20T14:20:00+00:00",
    )
    scenario.repos.push()
    executor = scenario.executor(allow_revert_through_later_changes=True)
    (option,) = executor.options(scenario.change(scenario.c2))
    assert c3[:12] in caveat(option, CaveatKind.OTHER)[0]
    rehearsal = executor.dry_run(option)
    assert not rehearsal.succeeded
    assert "conflicts in apps/checkout/deploy.yaml" in rehearsal.detail
    before = scenario.repos.snapshot()
    with pytest.raises(RollbackFailedError, match=r"failed \(conflicts") as caught:
        executor.execute(option)
    assert "conflicts in apps/checkout/deploy.yaml" in str(caught.value)
    assert "back on" in str(caught.value)
    assert scenario.repos.snapshot() == before
    git_dir = scenario.repos.clone / ".git"
    assert not (git_dir / "REVERT_HEAD").exists()
    assert not (git_dir / "sequencer").exists()


@pytest.mark.parametrize("mode", ["push", "branch"])
def test_a_revert_that_changes_nothing_is_refused(scenario, mode):
    """A culprit already undone by hand: the revert is empty, nothing is committed or pushed."""
    c3 = scenario.repos.commit(
        {"apps/checkout/deploy.yaml": CHECKOUT_V1, "db/migrations/0042_add_discount.sql": None},
        "checkout back to v1.0.0 by hand",
        "2026-11-20T14:20:00+00:00",
    )
    scenario.repos.push()
    executor = scenario.executor(mode=mode, allow_revert_through_later_changes=True)
    (option,) = executor.options(scenario.change(scenario.c2))
    assert c3[:12] in caveat(option, CaveatKind.OTHER)[0]
    rehearsal = executor.dry_run(option)
    assert not rehearsal.succeeded
    assert "changes nothing" in rehearsal.detail
    before = scenario.repos.snapshot()
    with pytest.raises(RollbackFailedError, match="changes nothing"):
        executor.execute(option)
    assert scenario.repos.snapshot() == before


@pytest.mark.parametrize("mode", ["push", "branch"])
def test_a_commit_hook_that_refuses_the_revert(scenario, mode):
    """A commit-msg hook that rejects the commit: RollbackFailedError, nothing pushed."""
    hook = scenario.repos.clone / ".git" / "hooks" / "commit-msg"
    hook.write_text("#!/bin/sh\necho 'needs a ticket number' >&2\nexit 1\n")
    hook.chmod(0o755)
    executor = scenario.executor(mode=mode)
    (option,) = executor.options(scenario.change(scenario.c2))
    before = scenario.repos.snapshot()
    with pytest.raises(RollbackFailedError, match="could not commit") as caught:
        executor.execute(option)
    assert "needs a ticket number" in str(caught.value)
    assert scenario.repos.snapshot() == before


def test_someone_pushing_right_after_the_revert_is_reported(scenario):
    """If the remote branch moved on after the push, the result says what is live."""
    hook = scenario.repos.remote / "hooks" / "post-receive"
    hook.write_text(f"#!/bin/sh\ngit update-ref refs/heads/main {scenario.c1}\n")
    hook.chmod(0o755)
    executor = scenario.executor()
    (option,) = executor.options(scenario.change(scenario.c2))
    result = executor.execute(option)
    assert result.live_version == scenario.c1[:12]
    assert "someone pushed since" in result.detail


def test_conflicting_revert_in_branch_mode_pushes_nothing(scenario):
    """In branch mode a conflict leaves no branch behind, locally or on the remote."""
    scenario.repos.commit(
        {"apps/checkout/deploy.yaml": CHECKOUT_V2.replace("v2.14.0", "v2.14.1")},
        "checkout v2.14.1",
        "2026-11-20T14:20:00+00:00",
    )
    scenario.repos.push()
    executor = scenario.executor(mode="branch", allow_revert_through_later_changes=True)
    (option,) = executor.options(scenario.change(scenario.c2))
    before = scenario.repos.snapshot()
    with pytest.raises(RollbackFailedError, match="no branch was pushed"):
        executor.execute(option)
    assert scenario.repos.snapshot() == before


def test_diverged_local_branch_is_refused(scenario):
    """Local commits the remote lacks, and remote commits the clone lacks: refused."""
    other = scenario.repos.other_clone()
    scenario.repos.commit(
        {"README.md": "remote\n"}, "remote", "2026-11-20T14:30:00+00:00", repo=other
    )
    scenario.repos.push(other)
    scenario.repos.commit({"notes.txt": "local\n"}, "local", "2026-11-20T14:31:00+00:00")
    executor = scenario.executor()
    (option,) = executor.options(scenario.change(scenario.c1))
    assert any("diverged" in d for d in caveat(option, CaveatKind.OTHER))
    before = scenario.repos.snapshot()
    with pytest.raises(RollbackFailedError, match="has diverged from origin/main"):
        executor.execute(option)
    assert scenario.repos.snapshot() == before
    assert not executor.dry_run(option).succeeded


def test_local_commits_ahead_are_refused(scenario):
    """Unpushed local commits would be published by the push: refused."""
    scenario.repos.commit({"notes.txt": "local\n"}, "local", "2026-11-20T14:31:00+00:00")
    executor = scenario.executor()
    (option,) = executor.options(scenario.change(scenario.c1))
    with pytest.raises(RollbackFailedError, match="1 commits ahead"):
        executor.execute(option)


def test_a_clone_behind_the_remote_is_fast_forwarded(scenario):
    """A clone that only lacks remote commits is brought up to date, then reverts."""
    other = scenario.repos.other_clone()
    c3 = scenario.repos.commit(
        {"README.md": "remote\n"}, "remote", "2026-11-20T14:30:00+00:00", repo=other
    )
    scenario.repos.push(other)
    executor = scenario.executor()
    (option,) = executor.options(scenario.change(scenario.c1))
    result = executor.execute(option)
    assert run_git(scenario.repos.remote, "rev-parse", "main~1").strip() == c3
    assert result.live_version == scenario.repos.remote_head()[:12]


@pytest.mark.parametrize("state", ["dirty", "detached", "other branch", "revert in progress"])
def test_a_clone_that_is_not_ready_is_refused(scenario, state):
    """Uncommitted changes, a detached HEAD, another branch or an operation under way: refused."""
    clone = scenario.repos.clone
    if state == "dirty":
        (clone / "README.md").write_text("edited\n")
        match = "uncommitted changes"
    elif state == "detached":
        run_git(clone, "checkout", "--quiet", "--detach")
        match = "detached"
    elif state == "other branch":
        run_git(clone, "checkout", "--quiet", "-b", "wip")
        match = "has wip checked out"
    else:
        (clone / ".git" / "REVERT_HEAD").write_text(scenario.c0 + "\n")
        match = "in progress"
    executor = scenario.executor()
    (option,) = executor.options(scenario.change(scenario.c1))
    with pytest.raises(RollbackFailedError, match=match):
        executor.execute(option)
    assert scenario.repos.remote_head() == scenario.c2


def test_default_branch_is_the_one_checked_out(scenario):
    """Without a branch, the clone's checked-out branch is used; detached HEAD is an error."""
    executor = GitOpsRollbackExecutor(scenario.repos.clone, paths={"apps/checkout/": "checkout"})
    assert executor.current_version("checkout") == scenario.c2[:12]
    run_git(scenario.repos.clone, "checkout", "--quiet", "--detach")
    with pytest.raises(SourceRequestError, match="HEAD is detached"):
        executor.current_version("checkout")


def test_branch_mode_pushes_a_revert_branch_for_review(scenario):
    """mode='branch': a revert branch on the remote, nothing live changed, and it says so."""
    executor = scenario.executor(mode="branch", auto_sync=True)
    (option,) = executor.options(scenario.change(scenario.c2))
    branch = f"revert-{scenario.c2[:12]}"
    assert any(
        branch in d and "nothing changes live" in d for d in caveat(option, CaveatKind.OTHER)
    )
    (sync,) = caveat(option, CaveatKind.AUTOMATED_SYNC)
    assert "until the revert branch is merged" in sync
    before = scenario.repos.snapshot()
    assert executor.dry_run(option).succeeded
    assert scenario.repos.snapshot() == before
    result = executor.execute(option)
    assert result.succeeded
    assert result.live_version == scenario.c2[:12]  # live is unchanged
    assert "nothing is live until it is merged into main" in result.detail
    assert scenario.repos.remote_head() == scenario.c2
    revert = scenario.repos.remote_head(branch)
    assert revert in result.detail
    shown = run_git(scenario.repos.remote, "show", f"{branch}:apps/checkout/deploy.yaml")
    assert shown == CHECKOUT_V1
    assert run_git(scenario.repos.remote, "rev-parse", f"{branch}~1").strip() == scenario.c2
    after = scenario.repos.snapshot()
    assert (after["head"], after["status"], after["files"]) == (
        before["head"],
        before["status"],
        before["files"],
    )
    # Someone else's commit on that branch name: the push is refused, never forced.
    other = scenario.repos.other_clone()
    theirs = scenario.repos.commit(
        {"README.md": "theirs\n"}, "their revert", "2026-11-20T14:40:00+00:00", repo=other
    )
    run_git(other, "push", "--quiet", "--force", "origin", f"HEAD:refs/heads/{branch}")
    with pytest.raises(RollbackFailedError, match="review it or delete it"):
        executor.execute(option)
    assert scenario.repos.remote_head(branch) == theirs


def test_auto_sync_caveat_in_push_mode(scenario):
    """With auto_sync the option says the revert is what the controller will sync."""
    (option,) = scenario.executor(auto_sync=True).options(scenario.change(scenario.c2))
    (sync,) = caveat(option, CaveatKind.AUTOMATED_SYNC)
    assert "the revert commit is the rollback" in sync
    assert "re-applies" in sync


def test_a_commit_of_several_services_warns_that_all_roll_back(scenario):
    """Reverting a commit that changed two services' paths rolls both back: a caveat says so."""
    both = scenario.repos.commit(
        {
            "apps/checkout/deploy.yaml": CHECKOUT_V2.replace("replicas: 3", "replicas: 4"),
            "apps/search/deploy.yaml": "image: registry.example/search:v5.2.1\n",
        },
        "bump both",
        "2026-11-20T14:40:00+00:00",
    )
    scenario.repos.push()
    change = scenario.change(both)
    (option,) = scenario.executor().options(change)
    others = "search" if change.service == "checkout" else "checkout"
    assert any(f"also changed {others}" in d for d in caveat(option, CaveatKind.OTHER))


def test_reverting_a_merge_commit(scenario):
    """A merged deploy is reverted against its first parent."""
    repos = scenario.repos
    run_git(repos.clone, "checkout", "--quiet", "-b", "feature")
    repos.commit(
        {"apps/search/deploy.yaml": "image: registry.example/search:v5.3.0\n"},
        "search v5.3.0",
        "2026-11-20T14:11:00+00:00",
    )
    run_git(repos.clone, "checkout", "--quiet", "main")
    run_git(
        repos.clone,
        "merge",
        "--quiet",
        "--no-ff",
        "-m",
        "Merge search",
        "feature",
        date="2026-11-20T14:12:00+00:00",
    )
    repos.push()
    merge = repos.head()
    executor = scenario.executor()
    (option,) = executor.options(scenario.change(merge))
    assert executor.dry_run(option).succeeded
    executor.execute(option)
    fresh = repos.other_clone("fresh")
    assert (
        fresh / "apps/search/deploy.yaml"
    ).read_text() == "image: registry.example/search:v5.2.0\n"


def test_push_refused_by_the_remote_undoes_the_local_revert(scenario):
    """A remote hook that rejects the push: RollbackFailedError, clone back as it was."""
    hook = scenario.repos.remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'pushes are frozen' >&2\nexit 1\n")
    hook.chmod(0o755)
    executor = scenario.executor()
    (option,) = executor.options(scenario.change(scenario.c2))
    before = scenario.repos.snapshot()
    with pytest.raises(RollbackFailedError, match="was refused") as caught:
        executor.execute(option)
    assert "pushes are frozen" in str(caught.value)
    assert "back on" in str(caught.value)
    assert scenario.repos.snapshot() == before


def test_an_option_survives_a_new_executor(scenario):
    """Another executor instance (after a resume) finds the commit from the change id."""
    (option,) = scenario.executor().options(scenario.change(scenario.c1))
    fresh = scenario.executor()
    result = fresh.execute(option)
    assert result.succeeded
    assert scenario.repos.remote_head()[:12] == result.live_version


def test_options_of_other_executors_and_unknown_commits(scenario):
    """Another executor's option is refused; an option whose commit cannot be found fails."""
    executor = scenario.executor()
    (option,) = executor.options(scenario.change(scenario.c1))
    with pytest.raises(InvalidInputError, match="offered by"):
        executor.execute(attrs.evolve(option, executor="someone-else"))
    unknown = attrs.evolve(option, id="git-revert:nope", change_id="deploy-4812")
    with pytest.raises(RollbackFailedError, match="cannot tell which commit"):
        executor.execute(unknown)
    gone = attrs.evolve(option, id="git-revert:gone", change_id="f" * 12)
    with pytest.raises(RollbackFailedError, match="cannot tell which commit"):
        executor.dry_run(gone)


def test_a_commit_no_longer_on_the_branch_is_refused(scenario):
    """If the remote branch was rewritten without the commit, there is nothing to revert."""
    executor = scenario.executor()
    (option,) = executor.options(scenario.change(scenario.c2))
    run_git(scenario.repos.remote, "update-ref", "refs/heads/main", scenario.c1)
    with pytest.raises(RollbackFailedError, match="is not on origin/main"):
        executor.execute(option)


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ({"mode": "force"}, "mode must be"),
        ({"author": "no email"}, "Name <email>"),
        ({"author": "<only@email>"}, "Name <email>"),
        ({"revert_branch": "revert-{id}"}, "only use"),
        ({"revert_branch": "-{short}"}, "start with '-'"),
        ({"remote": "--upload-pack=evil"}, "start with '-'"),
        ({"branch": ""}, "git ref name"),
        ({"timeout": -1}, "positive"),
    ],
)
def test_executor_arguments_are_checked(tmp_path, arguments, match):
    """Bad executor configuration fails at construction."""
    with pytest.raises(InvalidInputError, match=match):
        GitOpsRollbackExecutor(tmp_path, **arguments)


def test_from_source_follows_the_sources_ref(scenario):
    """The executor reverts on the branch the source reads."""
    for ref, branch in [
        ("HEAD", None),
        ("main", "main"),
        ("origin/main", "main"),
        ("refs/heads/main", "main"),
        ("refs/remotes/origin/main", "main"),
    ]:
        source = scenario.source(ref=ref)
        executor = GitOpsRollbackExecutor.from_source(source, mode="branch", name="x")
        assert executor.mode == "branch"
        assert f"branch={branch!r}" in repr(executor)


# --------------------------------------------------------------------------- end to end


def test_incident_end_to_end_through_real_git(scenario):
    """Declare -> assess -> gather from git -> review with the executor -> roll back, pushed."""
    source = scenario.source(version_pattern=VERSION, name="gitops")
    executor = GitOpsRollbackExecutor.from_source(source, auto_sync=True)
    clock = ManualClock(at(14, 10))
    declared = Incident.declare(
        title="Checkout returns 5xx",
        services="checkout",
        actor="dana",
        detection=Detection.ALERT,
        journal=scenario.repos.root / "incident.jsonl",
        clock=clock,
    )
    assessed = declared.assess_impact(
        actor="dana",
        severity=Severity.SEV1,
        ongoing=True,
        symptom_start=at(14, 5),
        stated=[Figure("affected_users", 300, "users", evidence=Evidence.text("support queue"))],
    )
    assessed = assessed.gather_changes(actor="sam", deploys=[source])
    gathered = {c.id: c for c in assessed.changes}
    culprit = gathered[scenario.c2[:12]]
    assert (culprit.version, culprit.previous_version) == ("v2.14.0", "v1.0.0")
    assert culprit.source == "gitops"
    reviewed = assessed.review_rollbacks([executor], actor="sam")
    option = next(o for o in reviewed.rollback_options if o.change_id == culprit.id)
    kinds = {c.kind for c in option.caveats}
    assert {CaveatKind.SCHEMA_MIGRATION, CaveatKind.AUTOMATED_SYNC} <= kinds
    assert CaveatKind.NO_DRY_RUN not in kinds
    clock.set(at(14, 12))
    intervened = reviewed.roll_back(option, actor="sam")
    (executed,) = [e for e in intervened.events if isinstance(e, RollbackExecuted)]
    assert executed.rehearsal is not None
    assert executed.rehearsal.succeeded
    assert executed.result is not None
    assert executed.result.live_version == scenario.repos.remote_head()[:12]
    fresh = scenario.repos.other_clone("fresh")
    assert (fresh / "apps/checkout/deploy.yaml").read_text() == CHECKOUT_V1
    # The revert is itself a deploy the source now reports.
    later = source.deploys(at(14, 5), pendulum.datetime(2100, 1, 1, tz=UTC), services=["checkout"])
    assert [(c.version, c.previous_version) for c in later][-1] == ("v1.0.0", "v2.14.0")


# --------------------------------------------------------------------------- secrets

PASSWORD = "p@ss-s3cr3t"  # noqa: S105 - a test fixture's password, to be masked
"""The remote's password: its ``@`` is percent-encoded in the URL."""
ENCODED = "p%40ss-s3cr3t"
QUERY_SECRET = "q-t0ken-s3cr3t"  # noqa: S105 - a test fixture's token, to be masked


class GitHTTPHandler(http.server.BaseHTTPRequestHandler):
    """Smart HTTP for the repositories under the server's root, behind Basic authentication."""

    server: GitHTTPServer

    def do_GET(self) -> None:
        """Serve ``info/refs`` through ``git http-backend``."""
        self.serve()

    def do_POST(self) -> None:
        """Serve upload-pack and receive-pack through ``git http-backend``."""
        self.serve()

    def log_message(self, *_args) -> None:
        """Stay quiet."""

    def serve(self) -> None:
        """Check the credential, then answer as ``git http-backend`` does."""
        self.server.authorizations.append(self.headers.get("Authorization", ""))
        wanted = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
        if self.headers.get("Authorization") != f"Basic {wanted}":
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="gitops"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(self.server.root),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_PROJECT_ROOT": str(self.server.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": "alice",
            "REMOTE_ADDR": "127.0.0.1",
        }
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        out = subprocess.run(
            [GIT, "http-backend"], input=body, env=env, capture_output=True, timeout=30, check=False
        ).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = out.partition(b"\n\n")
        headers = [line.split(b":", 1) for line in head.splitlines() if b":" in line]
        status = next((int(v.split()[0]) for k, v in headers if k.lower() == b"status"), 200)
        self.send_response(status)
        for key, value in headers:
            if key.lower() != b"status":
                self.send_header(key.decode(), value.decode().strip())
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class GitHTTPServer(http.server.ThreadingHTTPServer):
    """A smart HTTP git server on 127.0.0.1 that wants alice's password."""

    daemon_threads = True

    def __init__(self, root: pathlib.Path) -> None:
        super().__init__(("127.0.0.1", 0), GitHTTPHandler)
        self.root = root
        self.authorizations: list[str] = []

    def url(self, path: str = "remote.git", password: str = ENCODED) -> str:
        """The URL of a repository under the root, with alice's password.

        No query string: git appends ``/info/refs?service=...`` to the URL,
        which a query in the middle would break.
        """
        return f"http://alice:{password}@127.0.0.1:{self.server_port}/{path}"


@pytest.fixture
def git_http(scenario):
    """The scenario's bare remote, served over smart HTTP behind Basic authentication."""
    server = GitHTTPServer(scenario.repos.root)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


class ArgvLog:
    """The argv of every git call, as a `git` first on PATH records them (a file per call)."""

    def __init__(self, directory: pathlib.Path) -> None:
        self.directory = directory

    def calls(self) -> list[list[str]]:
        """Every recorded call's arguments, in no particular order."""
        return [p.read_text().split("\0")[:-1] for p in sorted(self.directory.iterdir())]

    def clear(self) -> None:
        """Forget the calls recorded so far."""
        for path in self.directory.iterdir():
            path.unlink()


@pytest.fixture
def argv_log(tmp_path, monkeypatch):
    """Put a `git` first on PATH that records each call's argv, then runs the real git."""
    log = tmp_path / "argv"
    log.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper(
        bin_dir,
        f'f=$(mktemp "{log}/call.XXXXXXXX")\nprintf "%s\\0" "$@" > "$f"\nexec "{GIT}" "$@"',
        name="git",
    )
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return ArgvLog(log)


SECRETS = (PASSWORD, ENCODED, QUERY_SECRET)


def assert_no_secret(*texts: str, exc: BaseException | None = None) -> None:
    """No secret in the texts, nor in the exception, its chain, or its formatted traceback."""
    seen = list(texts)
    while exc is not None:
        seen += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
        exc = exc.__cause__ or exc.__context__
    for text in seen:
        for secret in SECRETS:
            assert secret not in text, (secret, text)


def http_executor(scenario, url: str, **options) -> GitOpsRollbackExecutor:
    """An executor on the scenario's clone that fetches from and pushes to ``url``."""
    paths = {"apps/checkout/": "checkout", "apps/search/": "search"}
    return GitOpsRollbackExecutor(
        scenario.repos.clone, paths=paths, branch="main", remote=url, **options
    )


def test_repr_and_str_mask_a_remote_url_credentials(tmp_path):
    """A remote URL's password and query values never show in the executor's repr or str."""
    url = f"http://alice:{ENCODED}@host/repo.git?token={QUERY_SECRET}"
    executor = GitOpsRollbackExecutor(tmp_path, remote=url, paths={"a/": "a"})
    assert_no_secret(repr(executor), str(executor))
    assert "remote='http://***@host/repo.git?token=***'" in repr(executor)
    unparsable = f"http://alice:{ENCODED}@[::1/x.git"  # urllib.parse refuses this one
    odd = GitOpsRollbackExecutor(unparsable, remote=unparsable, paths={"a/": "a"})
    assert_no_secret(repr(odd), repr(GitDeploySource(unparsable, paths={"a/": "a"})))


def test_every_query_value_of_a_remote_is_masked_whole(tmp_path):
    """A query value holding a quote or a space is masked whole, in repr and wherever git says it.

    A quote is legal in a URL's query, and it is where a search for URLs in running text
    stops: the remote's own secrets (its query values, the basic-auth value git sends
    for its password) are masked as secrets, not only as parts of a URL.
    """
    token = "q't0ken s3cr3t"  # noqa: S105 - a test fixture's token, to be masked
    url = f"http://alice:{ENCODED}@host/repo.git?a=1&session={token}#frag-s3cr3t"
    executor = GitOpsRollbackExecutor(tmp_path, remote=url, paths={"a/": "a"})
    shown = repr(executor)
    assert "remote='http://***@host/repo.git?a=***&session=***#***'" in shown
    assert "t0ken" not in shown
    assert "s3cr3t" not in shown
    basic = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    said = (
        f"remote: denied {basic} for session={token}\n"
        f"fatal: unable to access '{url.replace(ENCODED + '@', '')}/': 403"
    )
    runner = executor._git  # the runner that words every git failure
    cleaned = runner.error(Answer(128, "", said), "fetch").args[0]
    for secret in (basic, token, "t0ken", "frag-s3cr3t", PASSWORD, ENCODED):
        assert secret not in cleaned, (secret, cleaned)
    source = GitDeploySource(url, paths={"a/": "a"})
    assert "t0ken" not in repr(source)


def test_a_revert_through_an_authenticated_http_remote_keeps_the_password_off_argv(
    scenario, git_http, argv_log
):
    """The password reaches the server through the credential helper, never through argv."""
    executor = http_executor(scenario, git_http.url())
    (option,) = executor.options(scenario.change(scenario.c2))
    assert executor.dry_run(option).succeeded
    result = executor.execute(option)
    assert result.succeeded
    assert result.live_version == scenario.repos.remote_head()[:12]
    assert f"Basic {base64.b64encode(f'alice:{PASSWORD}'.encode()).decode()}" in (
        git_http.authorizations
    )
    calls = argv_log.calls()
    assert any("push" in call for call in calls)
    for call in calls:
        assert_no_secret(*call)
    assert_no_secret(repr(option), repr(result), exc=None)


def test_a_refused_push_leaks_no_secret_into_errors_or_the_journal(scenario, git_http):
    """A push the remote refuses: no secret in the error, its chain, traceback or journal."""
    hook = scenario.repos.remote / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\necho 'frozen for {git_http.url()}' >&2\nexit 1\n")
    hook.chmod(0o755)
    executor = http_executor(scenario, git_http.url())
    before = scenario.repos.remote_head()
    source = scenario.source()
    clock = ManualClock(at(14, 10))
    journal = scenario.repos.root / "incident.jsonl"
    declared = Incident.declare(
        title="Checkout returns 5xx",
        services="checkout",
        actor="dana",
        detection=Detection.ALERT,
        journal=journal,
        clock=clock,
    )
    assessed = declared.assess_impact(
        actor="dana",
        severity=Severity.SEV1,
        ongoing=True,
        symptom_start=at(14, 5),
        stated=[Figure("affected_users", 300, "users", evidence=Evidence.text("support"))],
    ).gather_changes(actor="sam", deploys=[source])
    reviewed = assessed.review_rollbacks([executor], actor="sam")
    option = next(o for o in reviewed.rollback_options if o.change_id == scenario.c2[:12])
    with pytest.raises(RollbackFailedError, match="was refused") as caught:
        reviewed.roll_back(option, actor="sam")
    assert "frozen for http://***@127.0.0.1" in str(caught.value)
    assert_no_secret(journal.read_text(), repr(executor), exc=caught.value)
    with pytest.raises(RollbackFailedError) as direct:
        executor.execute(option)
    assert_no_secret(exc=direct.value)
    assert scenario.repos.remote_head() == before


def test_a_refused_push_leaks_no_secret_into_the_report(scenario, git_http):
    """An incident whose git rollback was refused, resolved another way: no secret reported."""
    hook = scenario.repos.remote / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\necho 'frozen for {git_http.url()}' >&2\nexit 1\n")
    hook.chmod(0o755)
    executor = http_executor(scenario, git_http.url())
    world = World(scenario.repos.root)
    assessed = world.assess(world.declare()).gather_changes(
        actor="bob", deploys=[world.deploys, scenario.source()]
    )
    reviewed = assessed.review_rollbacks([world.executor, executor], actor="bob")
    world.clock.advance(minutes=1)
    refused = next(o for o in reviewed.rollback_options if o.executor == executor.name)
    with pytest.raises(RollbackFailedError, match="frozen for http://"):
        reviewed.roll_back(refused, actor="bob")
    world.clock.advance(minutes=1)
    fake = next(o for o in reviewed.rollback_options if o.executor != executor.name)
    intervened = reviewed.roll_back(fake, actor="bob")
    world.clock.advance(minutes=20)
    recovered = intervened.verify_recovery(
        actor="bob", errors=world.errors(), traffic=world.traffic()
    )
    assert isinstance(recovered, Recovered)
    resolved = (
        recovered.begin_diagnosis(actor="alice")
        .hypothesis("deploy d1 broke checkout", actor="alice", evidence=[Evidence.change("d1")])
        .check(ChecklistItem.DEPLOYS, actor="alice", conclusion="d1 preceded the symptom")
        .waive(ChecklistItem.INFRASTRUCTURE, actor="alice", reason="no infra changes")
        .waive(ChecklistItem.DEPENDENCIES, actor="alice", reason="vendors green")
        .resolve(actor="alice", root_cause="deploy d1", evidence=[Evidence.change("d1")])
    )
    report = resolved.report()
    markdown = report.to_markdown()
    assert "frozen for http://\\*\\*\\*@127.0.0.1" in markdown  # escaped for Markdown
    assert "frozen for http://***@127.0.0.1" in report.to_json()
    assert_no_secret(markdown, report.to_json(), world.path.read_text())


def test_wrong_password_unreachable_missing_and_hanging_remotes_leak_no_secret(scenario, git_http):
    """Every failure of an authenticated remote (auth, closed port, 404, hang) is redacted."""
    change = scenario.change(scenario.c2)
    wrong = git_http.url(password="wr0ng-" + ENCODED)
    with pytest.raises(SourceAuthError) as refused:
        http_executor(scenario, wrong).options(change)
    assert_no_secret(exc=refused.value)
    closed = f"http://alice:{ENCODED}@127.0.0.1:{free_port()}/remote.git?token={QUERY_SECRET}"
    with pytest.raises(SourceUnavailableError) as unreachable:
        http_executor(scenario, closed).options(change)
    assert "could not reach the remote" in str(unreachable.value)
    assert_no_secret(exc=unreachable.value)
    with pytest.raises(SourceError) as missing:
        http_executor(scenario, git_http.url("missing.git")).options(change)
    assert_no_secret(exc=missing.value)
    with socket.socket() as silent:  # accepts connections (in its backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        hanging = f"http://alice:{ENCODED}@127.0.0.1:{port}/remote.git?token={QUERY_SECRET}"
        with pytest.raises(SourceTimeoutError) as timed_out:
            http_executor(scenario, hanging, timeout=1.5).options(change)
    assert_no_secret(exc=timed_out.value)
    bad_repo = GitOpsRollbackExecutor(
        scenario.repos.root / "no-clone", paths={"apps/": "app"}, remote=git_http.url()
    )
    with pytest.raises(SourceUnavailableError) as not_a_repo:
        bad_repo.current_version("app")
    assert_no_secret(repr(bad_repo), exc=not_a_repo.value)


def test_a_repository_url_with_a_password_is_masked_everywhere(tmp_path):
    """A source or executor pointed at a URL with a password never shows it, even chained."""
    url = f"https://alice:{ENCODED}@127.0.0.1:{free_port()}/x.git?token={QUERY_SECRET}"
    source = GitDeploySource(url, paths={"apps/": "app"})
    with pytest.raises(SourceUnavailableError) as caught:
        source.deploys(*WINDOW)
    assert_no_secret(repr(source), exc=caught.value)
    executor = GitOpsRollbackExecutor(url, paths={"apps/": "app"}, remote=url)
    with pytest.raises(SourceUnavailableError) as again:
        executor.current_version("app")
    assert_no_secret(repr(executor), exc=again.value)
    missing = GitDeploySource(url, paths={"apps/": "app"}, git=str(tmp_path / "no-git"))
    with pytest.raises(SourceUnavailableError) as no_git:
        missing.deploys(*WINDOW)
    assert_no_secret(exc=no_git.value)


# --------------------------------------------------------------------------- acting only on offers


def later_checkout_commit(scenario) -> str:
    """Another engineer pushes a commit after c2 that touches c2's manifest; return its id."""
    other = scenario.repos.other_clone()
    later = scenario.repos.commit(
        {"apps/checkout/deploy.yaml": CHECKOUT_V2.replace("replicas: 3", "replicas: 7")},
        "checkout: scale to 7",
        "2026-11-20T14:25:00+00:00",
        repo=other,
    )
    scenario.repos.push(other)
    return later


def test_an_option_altered_after_it_was_offered_is_refused(scenario):
    """An offered option whose caveats were edited to name a later commit is not executed."""
    executor = scenario.executor(allow_revert_through_later_changes=True)
    (option,) = executor.options(scenario.change(scenario.c2))
    later = later_checkout_commit(scenario)
    forged = attrs.evolve(
        option, caveats=(*option.caveats, Caveat(CaveatKind.OTHER, f"reviewed: {later[:12]}"))
    )
    for call in (executor.execute, executor.dry_run):
        with pytest.raises(RollbackFailedError, match="content differs"):
            call(forged)
    assert scenario.repos.remote_head() == later


def test_a_fresh_executor_does_not_trust_the_named_later_commits(scenario):
    """After a resume, an option cannot vouch for later commits: the revert is refused."""
    (option,) = scenario.executor().options(scenario.change(scenario.c2))
    other = scenario.repos.other_clone()
    later = scenario.repos.commit(  # c2's migration file, outside checkout's paths
        {"db/migrations/0042_add_discount.sql": "ALTER TABLE orders ADD discount bigint;\n"},
        "widen the discount",
        "2026-11-20T14:25:00+00:00",
        repo=other,
    )
    scenario.repos.push(other)
    forged = attrs.evolve(
        option, caveats=(*option.caveats, Caveat(CaveatKind.OTHER, f"reviewed: {later[:12]}"))
    )
    fresh = scenario.executor(allow_revert_through_later_changes=True)
    with pytest.raises(RollbackFailedError, match="since the review"):
        fresh.execute(forged)
    assert scenario.repos.remote_head() == later


def search_only(scenario, **options) -> GitOpsRollbackExecutor:
    """An executor whose allow-list is the search service's path only."""
    return GitOpsRollbackExecutor(
        scenario.repos.clone, paths={"apps/search/": "search"}, branch="main", **options
    )


def test_options_only_for_services_and_paths_of_the_allow_list(scenario):
    """No option for a service outside the path map, nor for a commit off the service's paths."""
    executor = search_only(scenario)
    assert executor.options(scenario.change(scenario.c2)) == []
    disguised = attrs.evolve(scenario.change(scenario.c2), service="search")
    assert executor.options(disguised) == []
    assert len(executor.options(scenario.change(scenario.c1))) == 1
    assert (
        GitOpsRollbackExecutor(scenario.repos.clone, branch="main").options(
            scenario.change(scenario.c1)
        )
        == []
    )


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        ({}, "is not a service of this executor's paths"),
        ({"target": "search"}, "is not a deploy of 'search'"),
        ({"target": "search", "change_id": "0" * 12, "id": "git-revert:" + "0" * 12}, "no single"),
        ({"target": "search", "id": "git-revert:other"}, "its id is not"),
        ({"target": "search", "change_id": "HEAD", "id": "git-revert:HEAD"}, "change id"),
        ({"target": "search", "supports_dry_run": False}, "no dry run"),
    ],
)
def test_a_fresh_executor_accepts_only_what_options_would_offer(scenario, edit, match):
    """After a resume, an option must name an allowed target and a deploy commit of its paths."""
    (option,) = scenario.executor().options(scenario.change(scenario.c2))
    forged = attrs.evolve(option, **edit)
    before = scenario.repos.remote_head()
    for call in (search_only(scenario).execute, search_only(scenario).dry_run):
        with pytest.raises(RollbackFailedError, match=match):
            call(forged)
    assert scenario.repos.remote_head() == before


def test_a_fresh_executor_compares_the_option_with_what_it_would_offer(scenario):
    """After a resume, an option whose from_version is not the service's head now is refused."""
    (option,) = scenario.executor().options(scenario.change(scenario.c2))
    before = scenario.repos.remote_head()
    with pytest.raises(RollbackFailedError, match="is not what 'checkout' runs"):
        scenario.executor().execute(attrs.evolve(option, from_version=scenario.c1[:12]))
    assert scenario.repos.remote_head() == before
    assert scenario.executor().execute(option).succeeded


@pytest.mark.parametrize(
    "branch",
    [
        "a..b",
        "a b",
        "x.lock",
        "a//b",
        "a/",
        "/a",
        ".hidden",
        "a/.b",
        "@",
        "a@{1}",
        "a~1",
        "a^",
        "a:b",
        "a?",
        "a*",
        "a[b",
        "a\\b",
        "a.",
        "main\n",
        "tab\there",
        "\x7f",
        "-x",
        "HEAD",
        "",
    ],
)
def test_branch_names_follow_check_ref_format(tmp_path, branch):
    """A branch name git's check-ref-format --branch refuses is refused at construction."""
    refused = subprocess.run(
        [GIT, "check-ref-format", "--branch", branch], capture_output=True, check=False
    )
    assert refused.returncode != 0 or branch in {"HEAD", "@"}  # git reads these as HEAD
    with pytest.raises(InvalidInputError, match="git ref name"):
        GitOpsRollbackExecutor(tmp_path, branch=branch, paths={"a/": "a"})


@given(name=st.text(min_size=1, max_size=12))
@settings(max_examples=150)
def test_branch_check_agrees_with_git(name):
    """Any text: the executor takes it as a branch exactly when git check-ref-format does."""
    assume("\0" not in name and "@{" not in name and name not in {"HEAD", "@"})
    git_says = subprocess.run(
        [GIT, "check-ref-format", "--branch", name], capture_output=True, check=False
    )
    try:
        GitOpsRollbackExecutor("/nonexistent", branch=name, paths={"a/": "a"})
    except InvalidInputError:
        accepted = False
    else:
        accepted = True
    assert accepted == (git_says.returncode == 0), name


@pytest.mark.parametrize(
    "prefix", ["../outside/", "apps/../../x", "apps/\nx", ".git/hooks/", "-x/", "/abs/"]
)
def test_paths_must_stay_inside_the_repository(tmp_path, prefix):
    """A path prefix that climbs out, holds a control character or names .git is refused."""
    with pytest.raises(InvalidInputError, match="relative to the repository's root"):
        GitDeploySource(tmp_path, paths={prefix: "a"})
    with pytest.raises(InvalidInputError, match="relative to the repository's root"):
        GitOpsRollbackExecutor(tmp_path, paths={prefix: "a"})


def test_locations_with_a_nul_are_refused(tmp_path):
    """A repository, clone or git path holding NUL is refused before any process starts."""
    with pytest.raises(InvalidInputError, match="NUL"):
        GitDeploySource("repo\0x", paths={"a/": "a"})
    with pytest.raises(InvalidInputError, match="NUL"):
        GitOpsRollbackExecutor(tmp_path, paths={"a/": "a"}, git="git\0x")


# --------------------------------------------------------------------------- hostile values

MARK = "PWNED"
HOSTILE_TEMPLATES = (
    "--upload-pack=touch {sentinel}",
    "--receive-pack=touch {sentinel}",
    "-c core.sshCommand=touch {sentinel}",
    "-ccore.sshCommand=touch {sentinel}",
    "--output={sentinel}",
    "--exec=touch {sentinel}",
    "-o{sentinel}",
    "--git-dir={sentinel}",
    "-{sentinel}",
    "--end-of-options --output={sentinel}",
    "refs/heads/-{sentinel}",
    "../../{sentinel}",
    "apps/../../{sentinel}",
    "{sentinel}\n--output=x",
    "\x1b[31m{sentinel}",
    "{sentinel}..HEAD",
    "HEAD~1 {sentinel}",
    "@{{-1}}{sentinel}",
    ":/{sentinel}",
    "http://alice:{sentinel}@127.0.0.1:1/x.git",
)
EXECUTOR_SLOTS = (
    "clone",
    "branch",
    "remote",
    "revert_branch",
    "author",
    "name",
    "path",
    "service",
)
OPTION_SLOTS = ("id", "change_id", "target", "from_version", "to_version")
CHANGE_SLOTS = ("id", "service", "commit", "version", "previous_version")
SOURCE_SLOTS = ("repo", "ref", "path", "service", "tags", "name", "environment", "services")


def hostile_values(sentinel: pathlib.Path) -> st.SearchStrategy[str]:
    """Strings built to be read as options or revisions; each holds the mark PWNED."""
    words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-=", min_size=1, max_size=12)
    wild = st.text(min_size=0, max_size=8)
    return st.one_of(
        st.sampled_from(HOSTILE_TEMPLATES).map(lambda t: t.format(sentinel=sentinel)),
        st.builds(lambda w: f"--{w}={MARK}", words),
        st.builds(lambda w, x: f"-{w}{x}{MARK}", words, wild),
    )


def received_as_option(call: list[str], value: str) -> bool:
    """Whether git read ``value`` (or an argument holding it) as an option in this call.

    Options end at ``--end-of-options`` or ``--``; the argument after ``-C``,
    ``-c`` or ``-m`` is that option's value, never an option itself.
    """
    position = 0
    while position < len(call):
        argument = call[position]
        if argument in {"--", "--end-of-options"}:
            return False
        if argument in {"-C", "-c", "-m"}:
            position += 2
            continue
        if argument.startswith("-") and value in argument:
            return True
        position += 1
    return False


TYPED = (InvalidInputError, SourceError, RollbackFailedError)


def attempt(call, *args) -> None:
    """Call, letting only the library's typed refusals through."""
    with contextlib.suppress(*TYPED):
        call(*args)


def attack_executor(scenario, offered, slot: str, hostile: str) -> None:
    """Build the search-only executor with ``hostile`` in one argument; use it on c2."""
    arguments: dict = {"paths": {"apps/search/": "search"}, "branch": "main"}
    clone: object = scenario.repos.clone
    if slot == "clone":
        clone = hostile
    elif slot == "path":
        arguments["paths"] = {hostile: "search", "apps/search/": "search"}
    elif slot == "service":
        arguments["paths"] = {"apps/search/": hostile}
    elif slot == "revert_branch":
        arguments.update(revert_branch=f"{hostile}{{short}}", mode="branch")
    elif slot == "author":
        arguments["author"] = f"{hostile} <x@example.com>"
    else:
        arguments[slot] = hostile
    try:
        executor = GitOpsRollbackExecutor(clone, **arguments)
    except InvalidInputError:
        return
    attempt(executor.options, scenario.change(scenario.c2))
    mine = attrs.evolve(offered, executor=executor.name)
    attempt(executor.dry_run, mine)
    attempt(executor.execute, mine)


def attack_option(scenario, offered, slot: str, hostile: str) -> None:
    """Put ``hostile`` in one field of c2's option; hand it to its executor and a fresh one."""
    forged = attrs.evolve(offered, **{slot: hostile})
    for executor in (scenario.offering, search_only(scenario)):
        attempt(executor.dry_run, forged)
        attempt(executor.execute, forged)


def attack_change(scenario, _offered, slot: str, hostile: str) -> None:
    """Put ``hostile`` in one field of the c2 change; ask the search-only executor for options."""
    change = scenario.change(scenario.c2)
    if slot == "commit":
        change = attrs.evolve(change, attributes={**change.attributes, "commit": hostile})
    else:
        change = attrs.evolve(change, **{slot: hostile})
    executor = search_only(scenario)
    with contextlib.suppress(*TYPED):
        for option in executor.options(change):
            attempt(executor.execute, option)


def attack_source(scenario, _offered, slot: str, hostile: str) -> None:
    """Build the source with ``hostile`` in one argument (or the services filter); read it."""
    arguments: dict = {"paths": {"apps/checkout/": "checkout"}}
    repo: object = scenario.repos.clone
    services = None
    if slot == "repo":
        repo = hostile
    elif slot == "path":
        arguments["paths"] = {hostile: "checkout"}
    elif slot == "service":
        arguments["paths"] = {"apps/checkout/": hostile}
    elif slot == "tags":
        arguments = {"tags": f"{hostile}/{{service}}/{{version}}"}
    elif slot == "services":
        services = [hostile]
    else:
        arguments[slot] = hostile
    with contextlib.suppress(*TYPED):
        GitDeploySource(repo, **arguments).deploys(at(0), at(23), services=services)


ATTACKS = {
    "executor": (attack_executor, EXECUTOR_SLOTS),
    "option": (attack_option, OPTION_SLOTS),
    "change": (attack_change, CHANGE_SLOTS),
    "source": (attack_source, SOURCE_SLOTS),
}


@given(data=st.data())
@settings(
    max_examples=60,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_hostile_values_never_reach_git_as_options(scenario, argv_log, data):
    """Hostile text in any argument never reaches git as an option, and nothing is reverted.

    The executor's allow-list is the search service; every attempt aims at c2,
    a checkout deploy (which only the executor that offered it may revert, and
    only as offered). A `git` first on PATH records every call's argv. The
    repositories are shared by the examples: each must leave the remote as it was.
    """
    sentinel = scenario.repos.root / MARK
    hostile = data.draw(hostile_values(sentinel), label="hostile")
    what = data.draw(st.sampled_from(sorted(ATTACKS)), label="what")
    attack, slots = ATTACKS[what]
    slot = data.draw(st.sampled_from(slots), label="slot")
    before = scenario.repos.remote_head()
    scenario.offering = scenario.executor()
    (offered,) = scenario.offering.options(scenario.change(scenario.c2))
    argv_log.clear()
    attack(scenario, offered, slot, hostile)
    for call in argv_log.calls():
        assert not received_as_option(call, hostile), call
    assert not sentinel.exists()
    assert scenario.repos.remote_head() == before
