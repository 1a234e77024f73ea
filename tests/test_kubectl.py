"""Tests of the kubectl adapter: command lines, parsing of real kubectl output, errors.

Three layers:

* a recording fake runner checks the exact command line of every kubectl call
  and feeds the adapter kubectl's output from ``tests/data/kubectl/``;
* the fixtures named ``get-*.json`` are what the real kubectl 1.32 client
  printed for ``kubectl get ... -o json`` when served the hand-written objects
  of ``cluster-checkout.json`` by the fake API server of ``tests/_kube_api.py`` (see
  ``docs/adapters/kubectl.md``);
* the end-to-end tests run the real ``kubectl`` binary against that fake API
  server on 127.0.0.1: discovery, get, ``rollout undo`` (a JSON patch),
  ``--dry-run=server`` and ``rollout status`` (list and watch). They are
  skipped where no kubectl is installed, and fail instead under
  ``INCIDENTKIT_REQUIRE_SERVICES=1`` (CI).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import subprocess
import sys
import traceback
from functools import partial
from pathlib import Path

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _kube_api import FakeKubeAPI
from fakes import DEPLOY_STARTED, World
from incidentkit import (
    CaveatKind,
    ChangeKind,
    InvalidInputError,
    MalformedResponseError,
    NaiveDatetimeError,
    Recovered,
    RollbackFailedError,
    RollbackOption,
    SourceAuthError,
    SourceRequestError,
    SourceTimeoutError,
    SourceUnavailableError,
)
from incidentkit.adapters.kubectl import KubectlDeploySource, KubectlRolloutExecutor
from incidentkit.events import RollbackExecuted
from incidentkit.protocols import DeploySource, RollbackExecutor
from services import require_executables

DATA = Path(__file__).parent / "data" / "kubectl"
UTC = "UTC"
V1 = "checkout=registry/checkout:1.4.1"
V2 = "checkout=registry/checkout:1.4.2"
V3 = "checkout=registry/checkout:1.4.3"
ALL_DAY = (pendulum.datetime(2026, 11, 20, tz=UTC), pendulum.datetime(2026, 11, 21, tz=UTC))
CAUSE3 = "checkout 1.4.3: new address-validation client (PR #812)"

# Real kubectl 1.32 error output (captured from the client, see the module docstring).
NOT_FOUND = 'Error from server (NotFound): deployments.apps "checkout" not found\n'
NO_NAMESPACE = 'Error from server (NotFound): namespaces "shpo" not found\n'
UNAUTHORIZED = "error: You must be logged in to the server (Unauthorized)\n"
FORBIDDEN = (
    'Error from server (Forbidden): deployments.apps "checkout" is forbidden: User '
    '"system:serviceaccount:ops:incidentkit" cannot get resource "deployments" in API group '
    '"apps" in the namespace "shop"\n'
)
KLOG = (
    'E1128 21:59:42.274646   10192 memcache.go:265] "Unhandled Error" err="couldn\'t get '
    'current server API group list: Get \\"http://127.0.0.1:1/api?timeout=32s\\": dial tcp '
    '127.0.0.1:1: connect: connection refused"\n'
)
REFUSED = (
    KLOG * 3 + "The connection to the server 127.0.0.1:6443 was refused - did you specify the "
    "right host or port?\n"
)
NO_HOST = "Unable to connect to the server: dial tcp: lookup foo: no such host\n"
IO_TIMEOUT = "Unable to connect to the server: dial tcp 10.0.0.1:443: i/o timeout\n"
NO_CONTEXT = "Error in configuration: context was not found for specified context: prod\n"
NO_REVISION = "error: unable to find specified revision 9 in history\n"
ROLLOUT_TIMEOUT = "error: timed out waiting for the condition\n"


KUBECONFIG = {
    "kind": "Config",
    "apiVersion": "v1",
    "clusters": [{"name": "prod", "cluster": {"server": "https://10.0.0.1"}}],
    "users": [{"name": "ops", "user": {"tokenFile": "/var/run/token"}}],
    "contexts": [{"name": "prod-eu", "context": {"cluster": "prod", "user": "ops"}}],
    "current-context": "prod-eu",
}
"""What ``kubectl config view --raw --flatten -o json`` prints for the fake runner."""


def fixture(name: str) -> str:
    """Return a fixture file's text."""
    return (DATA / name).read_text()


# -- a recording fake runner ------------------------------------------------------------


class FakeCluster:
    """A runner that answers kubectl command lines from the fixtures and records them.

    Before an undo it answers with the history as first captured; after a
    (non dry-run) undo, with the history captured after ``rollout undo
    --to-revision=2``. ``failures`` maps a subcommand word (``get``,
    ``undo``, ``status``) to ``(exit code, stderr)`` or an exception to raise.
    """

    def __init__(self, *, failures=None, on_undo=None, deployment=None) -> None:
        self.calls: list[tuple[list[str], float]] = []
        self.undone = False
        self.failures = dict(failures or {})
        self.on_undo = on_undo
        self.deployment = deployment

    def __call__(self, argv, timeout):  # noqa: PLR0911 - one answer per command
        """Record the command line and answer it."""
        argv = list(argv)
        self.calls.append((argv, timeout))
        words = [a for a in argv if not a.startswith("--")]
        if words[1:3] == ["config", "view"]:
            return done(argv, json.dumps(KUBECONFIG))
        verb = "undo" if "undo" in words else "status" if "status" in words else words[1]
        failure = self.failures.get(verb)
        if isinstance(failure, BaseException):
            raise failure
        if failure is not None:
            return subprocess.CompletedProcess(argv, failure[0], "", failure[1])
        after = "-after-undo" if self.undone else ""
        if verb == "undo":
            if "--dry-run=server" in argv:
                return done(argv, "deployment.apps/checkout rolled back (server dry run)\n")
            self.undone = True
            if self.on_undo is not None:
                self.on_undo()
            return done(argv, "deployment.apps/checkout rolled back\n")
        if verb == "status":
            return done(argv, 'deployment "checkout" successfully rolled out\n')
        if words[2] in {"deployment", "deployments"} or words[2].startswith("deployment/"):
            if self.deployment is not None:
                return done(argv, json.dumps(self.deployment))
            return done(argv, fixture(f"get-deployment-checkout{after}.json"))
        return done(argv, fixture(f"get-replicasets-checkout{after}.json"))

    def argv(self, index: int) -> list[str]:
        """Return the command line of the ``index``-th call."""
        return self.calls[index][0]


def done(argv, stdout, returncode=0, stderr=""):
    """Return a finished process."""
    return subprocess.CompletedProcess(argv, returncode, stdout, stderr)


def source(runner, **kwargs) -> KubectlDeploySource:
    """Return a deploy source of deployment ``checkout`` in namespace ``shop``."""
    kwargs.setdefault("namespace", "shop")
    return KubectlDeploySource({"checkout": "checkout"}, runner=runner, **kwargs)


def executor(runner, **kwargs) -> KubectlRolloutExecutor:
    """Return an executor of deployment ``checkout`` in namespace ``shop``."""
    kwargs.setdefault("namespace", "shop")
    return KubectlRolloutExecutor(["checkout"], runner=runner, **kwargs)


def by_id(changes):
    """Index changes by id."""
    return {c.id: c for c in changes}


# -- (a) command lines ---------------------------------------------------------------------


def test_the_source_reads_the_deployment_then_its_replicasets_with_every_flag():
    """Every read carries --kubeconfig, --context, --namespace and -o json, within the timeout."""
    cluster = FakeCluster()
    deploys = source(cluster, context="prod-eu", kubeconfig="/etc/kube/config", timeout=12.5)
    deploys.deploys(*ALL_DAY)
    flags = ["kubectl", "--kubeconfig=/etc/kube/config", "--context=prod-eu", "--namespace=shop"]
    assert cluster.calls == [
        ([*flags, "get", "deployment/checkout", "-o", "json"], 12.5),
        ([*flags, "get", "replicasets", "--selector=app=checkout", "-o", "json"], 12.5),
    ]


def test_without_context_or_kubeconfig_only_the_namespace_is_passed():
    """Kubectl's own defaults apply when no context or kubeconfig is configured."""
    cluster = FakeCluster()
    KubectlDeploySource({"checkout": "checkout"}, runner=cluster, kubectl="/opt/k").deploys(
        *ALL_DAY
    )
    assert cluster.argv(0) == [
        "/opt/k",
        "--namespace=default",
        "get",
        "deployment/checkout",
        "-o",
        "json",
    ]


def test_a_token_travels_in_a_private_kubeconfig_never_on_the_command_line():
    """The token is in a 0600 kubeconfig of one command (deleted after it), never in argv."""
    secret = "eyJhbGciOiJSUzI1NiJ9.secret-token"  # noqa: S105 - a test token
    cluster = FakeCluster()
    seen = []

    def runner(argv, timeout):
        if "view" not in argv:
            [path] = [Path(a[13:]) for a in argv if a.startswith("--kubeconfig=")]
            modes = (stat.S_IMODE(path.stat().st_mode), stat.S_IMODE(path.parent.stat().st_mode))
            seen.append((path, modes, json.loads(path.read_text())))
        return cluster(argv, timeout)

    deploys = source(runner, token=secret, kubeconfig="/etc/kube/config", context="prod-eu")
    assert len(deploys.deploys(*ALL_DAY)) == 3
    assert all(secret not in " ".join(argv) for argv, _ in cluster.calls)
    view = ["kubectl", "--kubeconfig=/etc/kube/config", "config", "view", "--raw", "--flatten"]
    assert cluster.argv(0) == [*view, "-o", "json"]
    assert cluster.argv(1)[2:] == [
        "--context=prod-eu",
        "--namespace=shop",
        "get",
        "deployment/checkout",
        "-o",
        "json",
    ]
    assert len(seen) == 2
    for path, modes, config in seen:
        assert modes == (0o600, 0o700)
        assert not path.parent.exists()  # deleted once the command ended
        # Only the context, its cluster and its user; the token replaces the tokenFile.
        assert config["users"] == [{"name": "ops", "user": {"token": secret}}]
        assert config["contexts"] == KUBECONFIG["contexts"]
        assert config["clusters"] == KUBECONFIG["clusters"]
        assert config["current-context"] == "prod-eu"


def test_a_token_is_not_written_for_a_context_the_kubeconfig_lacks():
    """An unknown context gets an empty kubeconfig: kubectl reports it, the token goes nowhere."""
    secret = "eyJhbGciOiJSUzI1NiJ9.secret-token"  # noqa: S105 - a test token
    written = []

    def runner(argv, _timeout):
        if "view" in argv:
            return done(argv, json.dumps(KUBECONFIG))
        [path] = [a[13:] for a in argv if a.startswith("--kubeconfig=")]
        written.append(Path(path).read_text())
        return done(argv, "", 1, NO_CONTEXT)

    with pytest.raises(SourceRequestError, match="context was not found"):
        source(runner, token=secret, context="prod").deploys(*ALL_DAY)
    [config] = written
    assert secret not in config
    assert json.loads(config)["users"] == []


def test_a_token_echoed_by_kubectl_is_masked():
    """Repr and error messages mask the token even when kubectl echoes it."""
    secret = "eyJhbGciOiJSUzI1NiJ9.secret-token"  # noqa: S105 - a test token
    cluster = FakeCluster(failures={"get": (1, f"error: bad token {secret}: Unauthorized\n")})
    deploys = source(cluster, token=secret)
    with pytest.raises(SourceAuthError) as caught:
        deploys.deploys(*ALL_DAY)
    assert secret not in str(caught.value)
    assert "***" in str(caught.value)
    assert secret not in repr(deploys)
    assert secret not in repr(executor(cluster, token=secret))


def test_services_filter_reads_only_the_wanted_deployments():
    """A deployment of another service is never read."""
    cluster = FakeCluster()
    deploys = KubectlDeploySource(
        {"checkout": "checkout", "search": "search"}, namespace="shop", runner=cluster
    )
    assert len(deploys.deploys(*ALL_DAY, services="checkout")) == 3
    assert all("search" not in argv for argv, _ in cluster.calls)
    assert deploys.deploys(*ALL_DAY, services=["payments"]) == []
    assert len(cluster.calls) == 2


def test_a_label_selector_lists_the_deployments():
    """With a selector, one list call finds the deployments, each its own service."""
    listing = {
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {"resourceVersion": ""},
        "items": [json.loads(fixture("get-deployment-checkout.json"))],
    }
    cluster = FakeCluster(deployment=listing)
    deploys = KubectlDeploySource(selector="tier=web", namespace="shop", runner=cluster)
    changes = deploys.deploys(*ALL_DAY)
    assert cluster.argv(0)[-5:] == ["get", "deployments", "--selector=tier=web", "-o", "json"]
    assert cluster.argv(1)[-4:] == ["replicasets", "--selector=app=checkout", "-o", "json"]
    assert {c.service for c in changes} == {"checkout"}
    assert deploys.deploys(*ALL_DAY, services=["search"]) == []
    assert "selector='tier=web'" in repr(deploys)


def test_the_executor_command_lines():
    """Options reads; dry_run adds --dry-run=server; execute undoes, waits and reads back."""
    cluster = FakeCluster()
    rollback = executor(cluster, context="prod-eu", timeout=10, rollout_timeout=120)
    change = by_id(source(FakeCluster()).deploys(*ALL_DAY))["checkout@3"]
    [option] = rollback.options(change)
    assert [argv[3:] for argv, _ in cluster.calls] == [
        ["get", "deployment/checkout", "-o", "json"],
        ["get", "replicasets", "--selector=app=checkout", "-o", "json"],
    ]
    cluster.calls.clear()
    rollback.dry_run(option)
    assert cluster.argv(2) == [
        "kubectl",
        "--context=prod-eu",
        "--namespace=shop",
        "rollout",
        "undo",
        "deployment/checkout",
        "--to-revision=2",
        "--dry-run=server",
    ]
    cluster.calls.clear()
    rollback.execute(option)
    assert [argv[3:] for argv, _ in cluster.calls[2:]] == [
        ["rollout", "undo", "deployment/checkout", "--to-revision=2"],
        ["rollout", "status", "deployment/checkout", "--timeout=120s"],
        ["get", "deployment/checkout", "-o", "json"],
    ]
    assert [t for _, t in cluster.calls] == [10, 10, 10, 130, 10]


# -- (b) parsing real kubectl output ---------------------------------------------------------


def test_each_revision_becomes_a_change():
    """Ids, versions, previous versions, instants, summary and attributes come from the history."""
    deploys = source(FakeCluster(), context="prod-eu")
    assert isinstance(deploys, DeploySource)
    changes = deploys.deploys(*ALL_DAY)
    assert [c.id for c in changes] == ["checkout@1", "checkout@2", "checkout@3"]  # canary left out
    first, second, third = changes
    assert [c.version for c in changes] == [V1, V2, V3]
    assert [c.previous_version for c in changes] == [None, V1, V2]
    assert first.started == pendulum.datetime(2026, 11, 20, 9, tz=UTC)
    assert second.started == pendulum.datetime(2026, 11, 20, 11, 30, tz=UTC)
    assert third.started == DEPLOY_STARTED
    assert third.finished == pendulum.datetime(2026, 11, 20, 14, 5, 12, tz=UTC)
    # Superseded revisions have no recorded end: an instant at their start.
    assert first.finished == first.started
    assert second.finished == second.started
    assert second.attributes["superseded_at"] == third.started.isoformat()
    assert third.summary == CAUSE3
    assert first.summary == "checkout 1.4.1"
    assert second.summary == "rollout of deployment/checkout revision 2"
    assert all(c.kind is ChangeKind.DEPLOY and c.service == "checkout" for c in changes)
    assert all(c.environment == "prod-eu" and c.source == "kubectl" for c in changes)
    assert third.attributes["replicaset"] == "checkout-7d9f8b6c5d"
    assert third.attributes["revision"] == "3"
    assert third.attributes["change_cause"] == CAUSE3
    assert third.attributes["rollout"] == "NewReplicaSetAvailable"
    assert third.attributes["started_from"] == "ReplicaSet creationTimestamp"
    assert third.attributes["auto_sync"] == "true"
    assert "argocd.argoproj.io/instance=shop-checkout" in third.attributes["auto_sync_by"]
    assert "change_cause" not in second.attributes


def test_a_reused_replicaset_starts_when_the_deployment_progressed():
    """After an undo the old ReplicaSet is renumbered: its creationTimestamp is too early."""
    cluster = FakeCluster()
    cluster.undone = True
    changes = by_id(source(cluster, environment="eu-1").deploys(*ALL_DAY))
    assert sorted(changes) == ["checkout@1", "checkout@3", "checkout@4"]
    undo = changes["checkout@4"]
    assert undo.version == V2
    assert undo.previous_version == V3
    assert changes["checkout@3"].previous_version == V2  # revision 2 lives on as 4
    assert undo.started == pendulum.datetime(2026, 11, 20, 14, 30, tz=UTC)
    assert undo.finished == undo.started
    assert "reused ReplicaSet" in undo.attributes["started_from"]
    assert undo.environment == "eu-1"
    assert changes["checkout@3"].attributes["superseded_at"] == undo.started.isoformat()


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ((13, 0), (13, 10), []),  # rev 2, live then, was deployed at 11:30
        ((11, 30), (11, 30), ["checkout@2"]),  # rev 2 deployed, rev 1 (9:00) superseded
        ((9, 0), (11, 30), ["checkout@1", "checkout@2"]),  # both edges are in
        ((14, 3), (14, 4), ["checkout@3"]),  # rolling out
        ((14, 5, 12), (14, 6), ["checkout@3"]),  # finished exactly at the start
        ((14, 6), (14, 20), []),  # finished before the window
        ((8, 0), (8, 59), []),  # before any revision
    ],
)
def test_the_window_keeps_what_was_under_way(start, end, expected):
    """A revision counts from its start until it finished; a superseded one is an instant."""
    window = (
        pendulum.datetime(2026, 11, 20, *start, tz=UTC),
        pendulum.datetime(2026, 11, 20, *end, tz=UTC),
    )
    assert [c.id for c in source(FakeCluster()).deploys(*window)] == expected


def test_the_current_revision_still_rolling_out_has_no_end():
    """A Progressing condition that is not NewReplicaSetAvailable leaves the rollout under way."""
    deployment = json.loads(fixture("get-deployment-checkout.json"))
    condition = deployment["status"]["conditions"][1]
    condition.update(
        reason="ReplicaSetUpdated", message='ReplicaSet "checkout-7d9f8b6c5d" is progressing.'
    )
    changes = source(FakeCluster(deployment=deployment)).deploys(*ALL_DAY)
    assert changes[-1].finished is None
    assert changes[-1].attributes["rollout"] == "ReplicaSetUpdated"
    late = (
        pendulum.datetime(2026, 11, 20, 18, tz=UTC),
        pendulum.datetime(2026, 11, 20, 19, tz=UTC),
    )
    assert [c.id for c in source(FakeCluster(deployment=deployment)).deploys(*late)] == [
        "checkout@3"
    ]


def test_a_match_expressions_selector_is_passed_in_kubectl_syntax():
    """MatchLabels and each matchExpressions operator become one -l selector."""
    deployment = json.loads(fixture("get-deployment-checkout.json"))
    deployment["spec"]["selector"]["matchExpressions"] = [
        {"key": "tier", "operator": "In", "values": ["web", "api"]},
        {"key": "track", "operator": "NotIn", "values": ["canary"]},
        {"key": "team", "operator": "Exists"},
        {"key": "legacy", "operator": "DoesNotExist"},
    ]
    cluster = FakeCluster(deployment=deployment)
    source(cluster).deploys(*ALL_DAY)
    assert cluster.argv(1)[-3] == (
        "--selector=app=checkout,tier in (web,api),track notin (canary),team,!legacy"
    )


def test_naive_or_reversed_windows_are_refused():
    """The window must be aware and in order."""
    deploys = source(FakeCluster())
    with pytest.raises(NaiveDatetimeError):
        deploys.deploys(pendulum.naive(2026, 11, 20), ALL_DAY[1])
    with pytest.raises(InvalidInputError, match="ends"):
        deploys.deploys(ALL_DAY[1], ALL_DAY[0])


def _edited(edit):
    deployment = json.loads(fixture("get-deployment-checkout.json"))
    edit(deployment)
    return deployment


@pytest.mark.parametrize(
    ("deployment", "field"),
    [
        ([], "deployment is list"),
        (_edited(lambda d: d.update(kind="Service")), "kind is 'Service'"),
        (_edited(lambda d: d["metadata"].pop("uid")), "metadata.uid"),
        (
            _edited(lambda d: d["spec"]["template"]["spec"]["containers"][0].pop("image")),
            "spec.template.spec.containers[0].image",
        ),
        (
            _edited(lambda d: d["spec"]["template"]["spec"].update(containers=[])),
            "containers is empty",
        ),
        (
            _edited(
                lambda d: d["metadata"]["annotations"].update(
                    {"deployment.kubernetes.io/revision": "x"}
                )
            ),
            "not a revision number",
        ),
        (
            _edited(lambda d: d["status"]["conditions"][1].update(lastUpdateTime="yesterday")),
            "status.conditions[1].lastUpdateTime is 'yesterday'",
        ),
        (_edited(lambda d: d["spec"].update(selector={})), "selects nothing"),
        (
            _edited(
                lambda d: d["spec"]["selector"].update(
                    matchExpressions=[{"key": "a", "operator": "Near"}]
                )
            ),
            "operator is 'Near'",
        ),
        (_edited(lambda d: d["metadata"].update(labels="app=checkout")), "metadata.labels is str"),
    ],
)
def test_an_unexpected_deployment_names_the_field(deployment, field):
    """Garbage in a Deployment is a MalformedResponseError that says where."""
    with pytest.raises(MalformedResponseError, match="kubectl get deployment/checkout") as caught:
        source(FakeCluster(deployment=deployment)).deploys(*ALL_DAY)
    assert field in str(caught.value)
    assert caught.value.source == "kubectl"


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda r: r.pop("items"), "answer.items is missing"),
        (
            lambda r: r["items"][0]["metadata"]["annotations"].pop(
                "deployment.kubernetes.io/revision"
            ),
            "items[0].metadata.annotations['deployment.kubernetes.io/revision']",
        ),
        (
            lambda r: r["items"][1]["metadata"].update(creationTimestamp="2026-11-20T11:30:00"),
            "items[1].metadata.creationTimestamp",
        ),
        (lambda r: r["items"][2]["spec"].pop("template"), "items[2].spec.template is missing"),
    ],
)
def test_unexpected_replicasets_name_the_field(edit, field):
    """Garbage in the ReplicaSet list is a MalformedResponseError that says where."""
    listing = json.loads(fixture("get-replicasets-checkout.json"))
    edit(listing)

    def runner(argv, timeout):
        if "replicasets" in argv:
            return done(argv, json.dumps(listing))
        return FakeCluster()(argv, timeout)

    with pytest.raises(MalformedResponseError, match="kubectl get replicasets") as caught:
        source(runner).deploys(*ALL_DAY)
    assert field in str(caught.value)


def test_output_that_is_not_json_is_malformed():
    """Kubectl printing something else than JSON is a MalformedResponseError."""
    runner = lambda argv, _timeout: done(argv, "NAME READY UP-TO-DATE\ncheckout 3/3 3\n")  # noqa: E731
    with pytest.raises(MalformedResponseError, match="not JSON"):
        source(runner).deploys(*ALL_DAY)


# -- (d) failures --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stderr", "error"),
    [
        (NOT_FOUND, SourceRequestError),
        (NO_NAMESPACE, SourceRequestError),
        (NO_CONTEXT, SourceRequestError),
        (NO_REVISION, SourceRequestError),
        (UNAUTHORIZED, SourceAuthError),
        (FORBIDDEN, SourceAuthError),
        (REFUSED, SourceUnavailableError),
        (NO_HOST, SourceUnavailableError),
        (IO_TIMEOUT, SourceTimeoutError),
        ("error: something nobody expected\n", SourceUnavailableError),
        ("", SourceUnavailableError),
    ],
)
def test_kubectl_errors_become_typed_source_errors(stderr, error):
    """Each real kubectl error message maps to the SourceError subclass that fits."""
    cluster = FakeCluster(failures={"get": (1, stderr)})
    with pytest.raises(error) as caught:
        source(cluster).deploys(*ALL_DAY)
    assert type(caught.value) is error
    assert caught.value.source == "kubectl"
    message = str(caught.value)
    assert (
        "`kubectl get deployment/checkout -o json` (namespace shop, the current context)" in message
    )
    assert "exit 1" in message
    assert "check" in message
    assert "memcache.go" not in message  # klog noise is left out
    if stderr:
        assert stderr.strip().splitlines()[-1] in message


def test_a_missing_kubectl_says_how_to_fix_it(tmp_path):
    """A kubectl that is not there (the real subprocess) is SourceUnavailableError."""
    deploys = KubectlDeploySource({"checkout": "checkout"}, kubectl=str(tmp_path / "kubectl"))
    with pytest.raises(SourceUnavailableError, match="install kubectl or pass kubectl=path"):
        deploys.deploys(*ALL_DAY)


def test_a_kubectl_that_cannot_be_run_is_unavailable(tmp_path):
    """A kubectl that is not executable is SourceUnavailableError naming the path."""
    path = tmp_path / "kubectl"
    path.write_text("not a program")
    deploys = KubectlDeploySource({"checkout": "checkout"}, kubectl=str(path))
    with pytest.raises(SourceUnavailableError, match="cannot run"):
        deploys.deploys(*ALL_DAY)


def test_a_hanging_kubectl_times_out(tmp_path):
    """A kubectl that never answers (a real process, killed) is SourceTimeoutError."""
    path = tmp_path / "kubectl"
    path.write_text("#!/bin/sh\nexec sleep 30\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    deploys = KubectlDeploySource({"checkout": "checkout"}, kubectl=str(path), timeout=0.3)
    with pytest.raises(SourceTimeoutError, match=r"no answer within 0\.3 s") as caught:
        deploys.deploys(*ALL_DAY)
    assert caught.value.timeout == 0.3


@pytest.mark.parametrize(
    "kwargs",
    [
        {"namespace": ""},
        {"name": " "},
        {"timeout": 0},
        {"timeout": True},
        {"timeout": float("nan")},
        {"kubectl": ""},
    ],
)
def test_bad_arguments_are_refused(kwargs):
    """Empty names and non-positive timeouts are InvalidInputError."""
    with pytest.raises(InvalidInputError):
        KubectlDeploySource({"checkout": "checkout"}, **kwargs)
    with pytest.raises(InvalidInputError):
        KubectlRolloutExecutor(["checkout"], **kwargs)


def test_the_source_needs_deployments_or_a_selector():
    """Exactly one of deployments and selector; no empty selector."""
    with pytest.raises(InvalidInputError, match="not both or neither"):
        KubectlDeploySource()
    with pytest.raises(InvalidInputError, match="not both or neither"):
        KubectlDeploySource({"a": "a"}, selector="app=a")
    with pytest.raises(InvalidInputError, match="empty"):
        KubectlDeploySource(selector=" ")


def test_the_executor_needs_deployments_and_a_rollout_timeout():
    """An executor manages a non-empty list of names, and waits a positive time."""
    for deployments in ([], "checkout"):
        with pytest.raises(InvalidInputError, match="list of names"):
            KubectlRolloutExecutor(deployments)
    with pytest.raises(InvalidInputError, match="rollout_timeout"):
        KubectlRolloutExecutor(["checkout"], rollout_timeout=-1)


# -- the executor ------------------------------------------------------------------------------


def changes_now(cluster=None):
    """Return the changes of the first captured history."""
    return by_id(source(cluster or FakeCluster()).deploys(*ALL_DAY))


def test_options_undo_to_the_revision_before_the_culprit():
    """The option goes from the live images to the previous revision's, rehearsable."""
    rollback = executor(FakeCluster())
    assert isinstance(rollback, RollbackExecutor)
    [option] = rollback.options(changes_now()["checkout@3"])
    assert option.id == "kubectl:checkout@3"
    assert option.target == "checkout"
    assert (option.from_version, option.to_version) == (V3, V2)
    assert option.supports_dry_run
    [sync] = option.caveats
    assert sync.kind is CaveatKind.AUTOMATED_SYNC
    assert "Argo CD" in sync.detail


def test_an_older_culprit_says_what_else_is_undone():
    """Undoing revision 2 goes back to 1 and also undoes 3: a caveat says so."""
    [option] = executor(FakeCluster()).options(changes_now()["checkout@2"])
    assert option.to_version == V1
    assert any("also undoes revision(s) 3" in c.detail for c in option.caveats)


def test_a_paused_deployment_without_gitops_gets_its_caveats():
    """A paused deployment is flagged; one without GitOps labels gets no sync caveat."""
    deployment = json.loads(fixture("get-deployment-checkout.json"))
    deployment["spec"]["paused"] = True
    del deployment["metadata"]["labels"]["argocd.argoproj.io/instance"]
    deployment["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/name"] = "apps"
    [option] = executor(FakeCluster(deployment=deployment)).options(changes_now()["checkout@3"])
    kinds = [c.kind for c in option.caveats]
    assert kinds == [CaveatKind.AUTOMATED_SYNC, CaveatKind.OTHER]
    assert "Flux" in option.caveats[0].detail
    assert "kubectl rollout resume deployment/checkout" in option.caveats[1].detail


def test_changes_it_cannot_handle_get_no_option():
    """Other kinds, other deployments, namespaces, clusters, ids and lost revisions: no option."""
    cluster = FakeCluster()
    rollback = executor(cluster, environment="prod-eu")
    changes = changes_now()
    third = changes["checkout@3"]
    import attrs  # noqa: PLC0415 - only here

    assert rollback.options(attrs.evolve(third, kind=ChangeKind.CONFIG)) == []
    assert rollback.options(attrs.evolve(third, id="search@3")) == []
    assert rollback.options(attrs.evolve(third, id="checkout-3")) == []
    assert rollback.options(attrs.evolve(third, attributes={"namespace": "other"})) == []
    assert rollback.options(attrs.evolve(third, environment="prod-us")) == []
    assert cluster.calls == []  # all decided without asking kubectl
    assert rollback.options(changes["checkout@1"]) == []  # nothing older kept
    assert rollback.options(attrs.evolve(third, id="checkout@7")) == []  # not in history
    assert rollback.options(attrs.evolve(third, version=V1)) == []  # renumbered since
    cluster.undone = True  # revision 2 was rolled back to and is revision 4 now, live
    assert rollback.options(third) == []  # its predecessor (2, now 4) is already live
    [back] = rollback.options(attrs.evolve(third, id="checkout@4", version=V2))
    assert (back.from_version, back.to_version) == (V2, V3)


def test_current_version_reads_the_live_images():
    """The live images of a managed deployment; None for others and for a missing one."""
    rollback = executor(FakeCluster())
    assert rollback.current_version("checkout") == V3
    assert rollback.current_version("deployment/checkout") == V3
    assert rollback.current_version("search") is None
    missing = executor(FakeCluster(failures={"get": (1, NOT_FOUND)}))
    assert missing.current_version("checkout") is None
    refused = executor(FakeCluster(failures={"get": (1, REFUSED)}))
    with pytest.raises(SourceUnavailableError):
        refused.current_version("checkout")


def option_for_three(cluster) -> tuple[KubectlRolloutExecutor, RollbackOption]:
    """Return an executor on ``cluster`` and its option for checkout@3."""
    rollback = executor(cluster)
    [option] = rollback.options(changes_now()["checkout@3"])
    return rollback, option


def test_dry_run_rehearses_and_changes_nothing():
    """The dry run reports the server's answer and the version still live."""
    cluster = FakeCluster()
    rollback, option = option_for_three(cluster)
    result = rollback.dry_run(option)
    assert result.succeeded
    assert result.dry_run
    assert result.live_version == V3
    assert "server dry run" in result.detail
    assert not cluster.undone


def test_execute_undoes_waits_and_reports_the_live_images():
    """A rollback reports the target's images as live."""
    cluster = FakeCluster()
    rollback, option = option_for_three(cluster)
    result = rollback.execute(option)
    assert result.succeeded
    assert not result.dry_run
    assert result.live_version == V2
    assert "successfully rolled out" in result.detail


def test_a_stale_option_changes_nothing():
    """If the deployment moved since the review, nothing is run and the error says so."""
    cluster = FakeCluster()
    rollback, option = option_for_three(cluster)
    cluster.undone = True  # someone else rolled back meanwhile
    for call in (rollback.dry_run, rollback.execute):
        with pytest.raises(RollbackFailedError, match="nothing was changed") as caught:
            call(option)
        assert "review the rollbacks again" in str(caught.value)
    assert not any("undo" in argv for argv, _ in cluster.calls)
    import attrs  # noqa: PLC0415 - only here

    cluster.undone = False
    fresh = executor(cluster)  # built after a resume: it offered nothing, the cluster decides
    moved = attrs.evolve(option, to_version=V1)
    with pytest.raises(RollbackFailedError, match="revision 2 of deployment/checkout is"):
        fresh.execute(moved)
    gone = attrs.evolve(option, id="kubectl:checkout@9", change_id="checkout@9")
    with pytest.raises(RollbackFailedError, match="has no revision 9"):
        rollback.execute(gone)
    assert not any("undo" in argv for argv, _ in cluster.calls)


def test_options_of_another_executor_or_shape_are_refused():
    """An option from elsewhere is InvalidInputError."""
    rollback, option = option_for_three(FakeCluster())
    import attrs  # noqa: PLC0415 - only here

    with pytest.raises(InvalidInputError, match="pass it to the executor"):
        rollback.execute(attrs.evolve(option, executor="argo"))
    with pytest.raises(InvalidInputError, match="not a kubectl rollout option"):
        rollback.dry_run(attrs.evolve(option, change_id="checkout@2"))
    with pytest.raises(InvalidInputError, match="not a kubectl rollout option"):
        rollback.dry_run(attrs.evolve(option, id="kubectl:checkout@2"))


def test_a_refused_undo_was_not_applied():
    """Kubectl refusing the undo is RollbackFailedError saying nothing was applied."""
    rollback, option = option_for_three(FakeCluster(failures={"undo": (1, FORBIDDEN)}))
    with pytest.raises(RollbackFailedError, match="the undo was NOT applied") as caught:
        rollback.execute(option)
    assert isinstance(caught.value.__cause__, SourceAuthError)


@pytest.mark.parametrize(
    "failure",
    [(1, ROLLOUT_TIMEOUT), subprocess.TimeoutExpired(["kubectl"], 330)],
)
def test_a_rollout_that_does_not_finish_says_the_undo_was_applied(failure):
    """A rollout status that times out is RollbackFailedError: applied, check the pods."""
    rollback, option = option_for_three(FakeCluster(failures={"status": failure}))
    with pytest.raises(RollbackFailedError) as caught:
        rollback.execute(option)
    message = str(caught.value)
    assert "the undo WAS applied" in message
    assert "did not finish within 300s" in message
    assert "kubectl describe deployment/checkout --namespace=shop" in message


def test_a_template_reapplied_after_the_undo_is_a_failure():
    """If the live images are not the target's after the rollout, something reverted it."""
    cluster = FakeCluster()
    rollback, option = option_for_three(cluster)
    cluster.on_undo = lambda: setattr(cluster, "undone", False)  # Argo CD synced it back
    with pytest.raises(RollbackFailedError, match="Argo CD"):
        rollback.execute(option)


def test_a_live_version_that_cannot_be_read_after_the_rollout_is_still_a_success():
    """The undo and the rollout happened; an unreadable live version is reported, not hidden."""
    cluster = FakeCluster()
    rollback, option = option_for_three(cluster)

    def break_reads():
        cluster.failures["get"] = (1, REFUSED)

    cluster.on_undo = break_reads
    result = rollback.execute(option)
    assert result.succeeded
    assert result.live_version is None
    assert "could not be read" in result.detail


# -- (e) an incident, end to end, with the fake runner ----------------------------------------


def test_an_incident_rolls_back_through_kubectl(tmp_path):
    """Declare -> assess -> gather_changes -> review_rollbacks -> roll_back -> verified."""
    world = World(tmp_path)
    cluster = FakeCluster(on_undo=world.heal_now)
    assessed = world.assess(world.declare())
    gathered = assessed.gather_changes(actor="bob", deploys=[source(cluster)])
    assert {c.id for c in gathered.changes} >= {"checkout@2", "checkout@3"}
    reviewed = gathered.review_rollbacks([executor(cluster)], actor="bob")
    option = next(o for o in reviewed.rollback_options if o.change_id == "checkout@3")
    assert option.to_version == V2
    assert CaveatKind.AUTOMATED_SYNC in {c.kind for c in option.caveats}
    assert CaveatKind.NO_DRY_RUN not in {c.kind for c in option.caveats}
    world.clock.advance(minutes=2)
    intervened = reviewed.roll_back(option, actor="bob")
    assert any("--dry-run=server" in argv for argv, _ in cluster.calls)
    assert cluster.undone
    executed = [e for e in intervened.events if isinstance(e, RollbackExecuted)]
    assert executed[-1].result.live_version == V2
    world.clock.advance(minutes=20)
    recovered = intervened.verify_recovery(
        actor="bob", errors=world.errors(), traffic=world.traffic()
    )
    assert isinstance(recovered, Recovered)


# -- (c) the real kubectl against a fake API server --------------------------------------------


@pytest.fixture
def cluster(tmp_path):
    """Serve cluster-checkout.json and write a kubeconfig that points at it."""
    require_executables("kubectl")
    with FakeKubeAPI(json.loads(fixture("cluster-checkout.json"))) as api:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(
            "apiVersion: v1\nkind: Config\n"
            f"clusters:\n- name: fake\n  cluster: {{server: '{api.url}'}}\n"
            "users:\n- name: ops\n  user: {}\n"
            "contexts:\n- name: fake\n  context: {cluster: fake, user: ops}\n"
            "current-context: other\n"
        )
        api.kubeconfig = str(kubeconfig)
        env = {**os.environ, "HOME": str(tmp_path)}  # kubectl's discovery cache goes there
        env.pop("KUBECONFIG", None)

        def runner(argv, timeout):
            return subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=timeout,
                env=env,
                stdin=subprocess.DEVNULL,
                check=False,
            )

        api.runner = runner
        yield api


def real(cluster, kind, **kwargs):
    """Return a source or an executor that runs the real kubectl against the fake cluster."""
    kwargs.update(
        namespace="shop",
        context="fake",
        kubeconfig=cluster.kubeconfig,
        runner=cluster.runner,
        kubectl="kubectl",
    )
    if kind == "source":
        return KubectlDeploySource({"checkout": "checkout"}, **kwargs)
    return KubectlRolloutExecutor(["checkout"], **kwargs)


def test_real_kubectl_reads_the_history(cluster):
    """The real client's reads parse to the same changes as the stored fixtures."""
    changes = real(cluster, "source").deploys(*ALL_DAY)
    assert changes == source(FakeCluster(), context="fake").deploys(*ALL_DAY)
    assert [c.id for c in changes] == ["checkout@1", "checkout@2", "checkout@3"]
    paths = [(m, p, q.get("labelSelector")) for m, p, q in cluster.requests if "apps/v1/" in p]
    assert ("GET", "/apis/apps/v1/namespaces/shop/deployments/checkout", None) in paths
    assert ("GET", "/apis/apps/v1/namespaces/shop/replicasets", "app=checkout") in paths


def test_real_kubectl_rehearses_rolls_back_and_waits(cluster):
    """Dry run stores nothing; the undo patches, rollout status sees it finish, history moves on."""
    rollback = real(cluster, "executor", rollout_timeout=20)
    [option] = rollback.options(changes_now()["checkout@3"])
    rehearsal = rollback.dry_run(option)
    assert rehearsal.succeeded
    assert "rolled back (server dry run)" in rehearsal.detail
    assert (
        cluster.deployments["checkout"]["metadata"]["annotations"][
            "deployment.kubernetes.io/revision"
        ]
        == "3"
    )
    patches = [q for m, _, q in cluster.requests if m == "PATCH"]
    assert patches == [{"dryRun": "All"}]
    result = rollback.execute(option)
    assert result.live_version == V2
    assert 'deployment "checkout" successfully rolled out' in result.detail
    assert any(q.get("watch") == "true" for _, _, q in cluster.requests)
    after = by_id(real(cluster, "source").deploys(*ALL_DAY))
    assert sorted(after) == ["checkout@1", "checkout@3", "checkout@4"]
    assert after["checkout@4"].started == pendulum.datetime(2026, 11, 20, 14, 30, tz=UTC)


def test_real_kubectl_failures_are_typed(cluster):
    """NotFound, Forbidden and Unauthorized from a server, as the real client reports them."""
    rollback = real(cluster, "executor")
    cluster.forbidden.add("replicasets")
    with pytest.raises(SourceAuthError, match="cannot list resource"):
        real(cluster, "source").deploys(*ALL_DAY)
    missing = cluster.deployments.pop("checkout")
    with pytest.raises(SourceRequestError, match=r'deployments\.apps "checkout" not found'):
        real(cluster, "source").deploys(*ALL_DAY)
    assert rollback.current_version("checkout") is None
    cluster.deployments["checkout"] = missing
    cluster.forbidden = {"deployments"}
    with pytest.raises(SourceAuthError, match="is forbidden"):
        rollback.current_version("checkout")
    cluster.unauthorized = True
    with pytest.raises(SourceAuthError, match="You must be logged in"):
        rollback.current_version("checkout")


def test_real_kubectl_rollout_that_never_finishes(cluster):
    """Rollout status times out: the undo was applied, and the error says to check the pods."""
    rollback = real(cluster, "executor", rollout_timeout=2)
    [option] = rollback.options(changes_now()["checkout@3"])
    cluster.stall = True
    with pytest.raises(RollbackFailedError, match="the undo WAS applied") as caught:
        rollback.execute(option)
    assert "timed out waiting for the condition" in str(caught.value)
    assert (
        cluster.deployments["checkout"]["metadata"]["annotations"][
            "deployment.kubernetes.io/revision"
        ]
        == "4"
    )


def test_the_stored_fixtures_are_what_the_real_client_prints(cluster):
    """The get-*.json fixtures equal the real kubectl's output for the served objects."""
    base = ["kubectl", f"--kubeconfig={cluster.kubeconfig}", "--context=fake", "--namespace=shop"]
    reads = [
        (["get", "deployment/checkout", "-o", "json"], "get-deployment-checkout.json"),
        (
            ["get", "replicasets", "--selector=app=checkout", "-o", "json"],
            "get-replicasets-checkout.json",
        ),
    ]
    for args, name in reads:
        printed = json.loads(cluster.runner([*base, *args], 30).stdout)
        assert printed == json.loads(fixture(name))
    assert printed["kind"] == "List"
    assert printed["metadata"] == {"resourceVersion": ""}


# -- (f) hostile input: the allow-list, names that kubectl could take for options ---------------

EVIL_TARGETS = ["--kubeconfig=/tmp/evil", "--server=https://evil.example:6443", "-v=9"]


def forged(target: str, revision: str = "3", **fields) -> RollbackOption:
    """Return an option for ``target@revision`` as a tampered journal or a caller could make it."""
    change_id = f"{target}@{revision}"
    fields.setdefault("id", f"kubectl:{change_id}")
    fields.setdefault("from_version", V3)
    fields.setdefault("to_version", V2)
    return RollbackOption(
        executor="kubectl", change_id=change_id, target=target, supports_dry_run=True, **fields
    )


@pytest.mark.parametrize("offered", [False, True])
def test_an_option_outside_the_allow_list_runs_nothing(offered):
    """A target that is not one of the executor's Deployments is refused before kubectl runs."""
    cluster = FakeCluster()
    rollback = executor(cluster)
    if offered:
        rollback.options(changes_now()["checkout@3"])
        cluster.calls.clear()
    for call in (rollback.dry_run, rollback.execute):
        with pytest.raises(InvalidInputError, match=r"may roll back \(checkout\)"):
            call(forged("payments"))
    assert cluster.calls == []


@pytest.mark.parametrize("target", EVIL_TARGETS)
def test_a_target_that_is_a_kubectl_option_never_reaches_kubectl(target):
    """A target such as --kubeconfig=/tmp/evil is refused; kubectl never sees it."""
    cluster = FakeCluster()
    rollback = executor(cluster)
    for call in (rollback.dry_run, rollback.execute):
        with pytest.raises(InvalidInputError, match="not one of the Deployments"):
            call(forged(target))
    assert rollback.current_version(target) is None
    assert cluster.calls == []


def test_an_option_changed_after_it_was_offered_is_refused():
    """The executor remembers what it offered: the same id with other content is refused."""
    import attrs  # noqa: PLC0415 - only here

    cluster = FakeCluster()
    rollback, option = option_for_three(cluster)
    cluster.calls.clear()
    for changed in (
        attrs.evolve(option, to_version="checkout=evil/checkout:latest"),
        attrs.evolve(option, from_version=V1),
        attrs.evolve(option, supports_dry_run=False),
    ):
        with pytest.raises(InvalidInputError, match="not the option this executor offered"):
            rollback.execute(changed)
    assert cluster.calls == []
    # The protocol adds its own caveats: those do not make it another option.
    assert rollback.dry_run(attrs.evolve(option, caveats=())).succeeded


def test_a_fresh_executor_accepts_only_what_the_cluster_confirms():
    """After a resume nothing was offered: the target, the revision and the history decide."""
    _, option = option_for_three(FakeCluster())
    cluster = FakeCluster()
    fresh = executor(cluster)
    assert fresh.dry_run(option).succeeded
    for revision in ("0", "00", "1" * 20):
        with pytest.raises(InvalidInputError, match="not a positive revision number"):
            fresh.execute(forged("checkout", revision))
    with pytest.raises(RollbackFailedError, match="nothing was changed"):
        fresh.execute(forged("checkout", to_version=V1))
    assert not any("undo" in argv and "--dry-run=server" not in argv for argv, _ in cluster.calls)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"namespace": "--all-namespaces"},
        {"namespace": "Shop"},
        {"namespace": "kube_system"},
        {"namespace": "a" * 64},
        {"context": "--server=https://evil.example"},
        {"context": ""},
        {"context": "prod\n-v=9"},
        {"kubeconfig": "-"},
        {"kubeconfig": "/etc/kube/config\x00"},
        {"token": "two words"},
        {"token": ""},
        {"kubectl": "kubectl\x00"},
    ],
)
def test_settings_kubectl_could_misread_are_refused(kwargs):
    """Namespaces are DNS-1123 labels; contexts and paths no options; tokens one printable word."""
    with pytest.raises(InvalidInputError) as caught:
        KubectlRolloutExecutor(["checkout"], **kwargs)
    if kwargs.get("token"):
        assert kwargs["token"] not in str(caught.value)
    with pytest.raises(InvalidInputError):
        KubectlDeploySource({"checkout": "checkout"}, **kwargs)


@pytest.mark.parametrize(
    "name", [*EVIL_TARGETS, "Checkout", "checkout/x", "-checkout", "checkout.", "", "a" * 254]
)
def test_deployment_names_must_be_dns_subdomains(name):
    """Neither class takes a Deployment name that is not a DNS-1123 subdomain."""
    with pytest.raises(InvalidInputError, match="DNS-1123 subdomain"):
        KubectlRolloutExecutor(["checkout", name])
    with pytest.raises(InvalidInputError, match="DNS-1123 subdomain"):
        KubectlDeploySource({name: "checkout"})


def test_names_from_the_cluster_are_checked_before_they_are_used():
    """A listed Deployment whose name is an option is malformed, and never passed to kubectl."""
    deployment = json.loads(fixture("get-deployment-checkout.json"))
    deployment["metadata"]["name"] = "--kubeconfig=/tmp/evil"
    listing = {"apiVersion": "v1", "kind": "List", "items": [deployment]}
    cluster = FakeCluster(deployment=listing)
    with pytest.raises(MalformedResponseError, match="not a Deployment name"):
        KubectlDeploySource(selector="tier=web", runner=cluster).deploys(*ALL_DAY)
    assert len(cluster.calls) == 1
    renamed = json.loads(fixture("get-deployment-checkout.json"))
    renamed["metadata"]["name"] = "payments"
    with pytest.raises(MalformedResponseError, match="'payments', not 'checkout'"):
        executor(FakeCluster(deployment=renamed)).current_version("checkout")


def test_a_refused_option_is_journaled_by_the_protocol(tmp_path):
    """An executor with another allow-list refuses the reviewed option; the attempt is recorded."""
    world = World(tmp_path)
    cluster = FakeCluster()
    assessed = world.assess(world.declare())
    gathered = assessed.gather_changes(actor="bob", deploys=[source(cluster)])
    reviewed = gathered.review_rollbacks([executor(cluster)], actor="bob")
    option = next(o for o in reviewed.rollback_options if o.change_id == "checkout@3")
    cluster.calls.clear()
    narrower = KubectlRolloutExecutor(["search"], namespace="shop", runner=cluster)
    with pytest.raises(RollbackFailedError, match="attempt is in the journal"):
        reviewed.roll_back(option, actor="bob", executor=narrower)
    [attempt] = [e for e in reviewed.events if isinstance(e, RollbackExecuted)]
    assert "may roll back (search)" in attempt.error
    assert attempt.result is None
    assert cluster.calls == []


# -- (g) the token in every failure --------------------------------------------------------------

SECRET = "kube-token-5f3e9a71c0"  # noqa: S105 - a test token

FAKE_KUBECTL = """#!{python}
import json, os, sys, time
args = sys.argv[1:]
if "view" in args:
    print(json.dumps({config}))
    sys.exit(0)
given = [a[13:] for a in args if a.startswith("--kubeconfig=")]
echoed = " ".join(args) + " " + "".join(open(p).read() for p in given)
mode = os.environ["FAKE_KUBECTL_MODE"]
if mode == "hang":
    time.sleep(30)
if mode == "fail":
    sys.stderr.write("error: Unauthorized: " + echoed + "\\n")
    sys.exit(1)
print("this is not JSON: " + echoed)
"""


def texts_of(error: BaseException) -> list[str]:
    """Return every text a traceback or a log could show of ``error`` and its chain."""
    texts = ["".join(traceback.format_exception(error))]
    chain: list[BaseException | None] = [error]
    seen: set[int] = set()
    while chain:
        current = chain.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        texts += [str(current), repr(current), repr(current.args)]
        chain += [current.__cause__, current.__context__]
    return texts


@pytest.fixture
def fake_kubectl(tmp_path, monkeypatch):
    """A kubectl (a script) that echoes its command line and its kubeconfig, or hangs."""
    path = tmp_path / "kubectl"
    path.write_text(FAKE_KUBECTL.format(python=sys.executable, config=repr(KUBECONFIG)))
    path.chmod(0o700)
    monkeypatch.setenv("FAKE_KUBECTL_MODE", "fail")
    return path


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("hang", SourceTimeoutError),
        ("fail", SourceAuthError),
        ("garbage", MalformedResponseError),
        ("missing", SourceUnavailableError),
        ("refused", InvalidInputError),
    ],
)
def test_no_failure_shows_the_token(fake_kubectl, monkeypatch, mode, error):
    """Timeout, exit, garbage, no binary, refused option: the token is in no text of the error."""
    monkeypatch.setenv("FAKE_KUBECTL_MODE", mode)
    kubectl = str(fake_kubectl.parent / "nothing") if mode == "missing" else str(fake_kubectl)
    timeout = 2 if mode == "hang" else 20  # a loaded machine may start the script slowly
    options = {"token": SECRET, "kubectl": kubectl, "timeout": timeout, "context": "prod-eu"}
    deploys = source(None, **options)
    rollback = executor(None, **options)
    if mode == "refused":
        call = partial(rollback.execute, forged("--token=x"))
    else:
        call = partial(deploys.deploys, *ALL_DAY)
    with pytest.raises(error) as caught:
        call()
    texts = [*texts_of(caught.value), repr(deploys), repr(rollback)]
    assert all(SECRET not in text for text in texts)
    if mode == "fail":
        assert "***" in str(caught.value)  # kubectl echoed it: masked


def test_a_timeout_chains_no_command_line(fake_kubectl, monkeypatch):
    """The error of a killed kubectl has no cause or context that quotes the command line."""
    monkeypatch.setenv("FAKE_KUBECTL_MODE", "hang")
    deploys = source(None, token=SECRET, kubectl=str(fake_kubectl), timeout=0.5)
    with pytest.raises(SourceTimeoutError) as caught:
        deploys.deploys(*ALL_DAY)
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


@pytest.mark.parametrize("verb", ["undo", "status"])
def test_a_failed_rollback_shows_no_token(verb):
    """An undo or a rollout status killed on timeout: no text of the failure shows the token."""
    cluster = FakeCluster()

    def runner(argv, timeout):
        if verb in argv:
            raise subprocess.TimeoutExpired(list(argv), timeout)  # as subprocess.run does
        return cluster(argv, timeout)

    rollback = executor(runner, token=SECRET)
    [option] = rollback.options(changes_now()["checkout@3"])
    with pytest.raises(RollbackFailedError) as caught:
        rollback.execute(option)
    assert isinstance(caught.value.__cause__, SourceTimeoutError)
    assert all(SECRET not in text for text in texts_of(caught.value))


@pytest.mark.parametrize("kind", ["source", "executor"])
def test_a_bad_field_that_quotes_a_credential_is_masked(kind):
    """A value the cluster sent back, quoted in a MalformedResponseError, shows no credential.

    Both the adapter's token and a token it never knew (a kubeconfig's, echoed as an
    ``Authorization`` header) are masked, and no unmasked error is chained.
    """
    deployment = json.loads(fixture("get-deployment-checkout.json"))
    echoed = f"{SECRET} sent as Authorization: Bearer kube-other-t0ken-77"
    deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = echoed
    cluster = FakeCluster(deployment=deployment)
    if kind == "source":
        call = partial(source(cluster, token=SECRET).deploys, *ALL_DAY)
    else:
        call = partial(executor(cluster, token=SECRET).options, changes_now()["checkout@3"])
    with pytest.raises(MalformedResponseError, match="not a revision number") as caught:
        call()
    for text in texts_of(caught.value):
        assert SECRET not in text
        assert "kube-other-t0ken-77" not in text
    assert "Authorization: Bearer ***" in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


# -- (h) hostile values everywhere, by Hypothesis ------------------------------------------------

HOSTILE = [
    *EVIL_TARGETS,
    "--token=stolen",
    "--namespace=kube-system",
    "-n",
    "-",
    "--",
    "",
    "payments",
    "Checkout",
    "checkout ",
    "checkout\n",
    "checkout\x00",
    "checkout/../payments",
    "deployment/payments",
    "checkout@3",
    "checkout,payments",
    "$(id)",
    "\u202echeckout",
    "\udcff",
    "0",
    "-1",
    "3 --dry-run=none",
    "a" * 254,
]
FLAGS = {"--kubeconfig", "--context", "--namespace", "--selector", "--to-revision", "--timeout"}
WORDS = {"get", "deployments", "replicasets", "rollout", "undo", "status", "config", "view"}
WORDS |= {"--raw", "--flatten", "--dry-run=server", "-o", "json"}


def hostile() -> st.SearchStrategy[str]:
    """Return strings a tampered journal, a hostile cluster or a careless caller could pass."""
    return st.one_of(
        st.sampled_from(HOSTILE),
        st.text(max_size=24),
        st.builds(
            lambda flag, rest: flag + rest,
            st.sampled_from(["-", "--", "--kubeconfig=", "-v=", "--server=", "checkout "]),
            st.text(max_size=12),
        ),
    )


def assert_inert(argv, allowed) -> None:
    """Every word is the adapter's own, a ``--flag=value`` it sets, or an allowed deployment."""
    assert argv[0] == "kubectl"
    for word in argv[1:]:
        if word in WORDS:
            continue
        if word.startswith("-"):
            flag, equals, _ = word.partition("=")
            assert equals, f"{word!r} is a bare option"
            assert flag in FLAGS, f"{word!r} is not an option the adapter sets"
            continue
        kind, _, name = word.partition("/")
        assert kind == "deployment", f"{word!r} is a positional argument the adapter never sets"
        assert name in allowed, f"{word!r} is outside the allow-list {sorted(allowed)}"


@settings(max_examples=300)
@given(
    target=hostile(),
    revision=st.one_of(hostile(), st.integers(-2, 12).map(str)),
    option_id=st.one_of(st.none(), hostile()),
    from_version=st.one_of(st.just(V3), hostile()),
    to_version=st.one_of(st.just(V2), hostile()),
    change_id=hostile().filter(str.strip),
    offered=st.booleans(),
    rehearse=st.booleans(),
)
def test_hostile_options_never_reach_kubectl_as_options(  # noqa: PLR0917 - one per field
    target, revision, option_id, from_version, to_version, change_id, offered, rehearse
):
    """Whatever an option or a change holds, kubectl sees only inert words and checkout."""
    cluster = FakeCluster()
    rollback = executor(cluster)
    import attrs  # noqa: PLC0415 - only here

    change = changes_now()["checkout@3"]
    for offer in rollback.options(attrs.evolve(change, id=change_id)):
        assert offer.target == "checkout"
    if offered:
        rollback.options(change)
    fields = {"from_version": from_version, "to_version": to_version}
    if option_id and option_id.strip():  # the model itself refuses a blank id
        fields["id"] = option_id
    option = forged(target, revision, **fields)
    with contextlib.suppress(InvalidInputError, RollbackFailedError):
        (rollback.dry_run if rehearse else rollback.execute)(option)
    for argv, _ in cluster.calls:
        assert_inert(argv, {"checkout"})
    if target != "checkout":
        assert not any("undo" in argv for argv, _ in cluster.calls)


@settings(max_examples=200)
@given(
    namespace=st.one_of(st.just("shop"), hostile()),
    context=st.one_of(st.none(), hostile()),
    kubeconfig=st.one_of(st.none(), hostile()),
    deployments=st.lists(st.one_of(st.just("checkout"), hostile()), min_size=1, max_size=3),
    selector=st.one_of(st.none(), hostile()),
)
def test_hostile_settings_are_refused_or_inert(
    namespace, context, kubeconfig, deployments, selector
):
    """A setting is refused when the adapter is built, or reaches kubectl only as a flag's value."""
    cluster = FakeCluster()
    common = {"namespace": namespace, "context": context, "kubeconfig": kubeconfig}
    try:
        rollback = KubectlRolloutExecutor(deployments, runner=cluster, **common)
        if selector is None:
            deploys = KubectlDeploySource(dict.fromkeys(deployments, "x"), runner=cluster, **common)
        else:
            deploys = KubectlDeploySource(selector=selector, runner=cluster, **common)
    except InvalidInputError:
        assert not cluster.calls
        return
    # A deployment the fixtures do not hold is an error; what matters is what kubectl saw.
    with contextlib.suppress(SourceRequestError, MalformedResponseError):
        deploys.deploys(*ALL_DAY)
    with contextlib.suppress(SourceRequestError, MalformedResponseError):
        rollback.options(changes_now()["checkout@3"])
    for deployment in deployments:
        with contextlib.suppress(SourceRequestError, MalformedResponseError):
            rollback.current_version(deployment)
    for argv, _ in cluster.calls:
        assert_inert(argv, {*deployments, "checkout"})
        assert argv[argv.index("--namespace=" + namespace)] == f"--namespace={namespace}"


# -- (i) the real kubectl behind a recorder ------------------------------------------------------

RECORDER = """#!{python}
import json, os, sys
with open({log!r}, "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
os.execv({real!r}, [{real!r}, *sys.argv[1:]])
"""


def recorded_runner(tmp_path):
    """Put a recorder named kubectl first on PATH; return its runner and its argv log."""
    require_executables("kubectl")
    real_kubectl = shutil.which("kubectl")
    assert real_kubectl is not None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "argv.log"
    recorder = bin_dir / "kubectl"
    recorder.write_text(RECORDER.format(python=sys.executable, log=str(log), real=real_kubectl))
    recorder.chmod(0o700)
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
    }
    env.pop("KUBECONFIG", None)

    def runner(argv, timeout):
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )

    def recorded():
        return [["kubectl", *json.loads(line)] for line in log.read_text().splitlines()]

    return runner, recorded


def write_kubeconfig(path: Path, server: str, ca_file: Path | None = None) -> str:
    """Write a kubeconfig whose context ``fake`` points at ``server`` (no credentials in it)."""
    authority = "" if ca_file is None else f", certificate-authority: '{ca_file}'"
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: fake\n  cluster: {{server: '{server}'{authority}}}\n"
        "users:\n- name: ops\n  user: {}\n"
        "contexts:\n- name: fake\n  context: {cluster: fake, user: ops}\n"
        "current-context: other\n"
    )
    return str(path)


def test_real_kubectl_sees_no_hostile_value(tmp_path):
    """Hostile options against the real kubectl: inert command lines, only checkout is touched."""
    runner, recorded = recorded_runner(tmp_path)
    with FakeKubeAPI(json.loads(fixture("cluster-checkout.json"))) as api:
        rollback = KubectlRolloutExecutor(
            ["checkout"],
            namespace="shop",
            context="fake",
            kubeconfig=write_kubeconfig(tmp_path / "kubeconfig", api.url),
            runner=runner,
            rollout_timeout=10,
        )
        [option] = rollback.options(changes_now()["checkout@3"])
        assert rollback.dry_run(option).succeeded

        @settings(max_examples=25, deadline=None)
        @given(
            target=st.one_of(st.just("checkout"), st.sampled_from(HOSTILE)),
            revision=st.sampled_from(["3", "2", "0", "9", *HOSTILE[:6]]),
            to_version=st.sampled_from([V2, V1, *HOSTILE[:3]]),
            rehearse=st.booleans(),
        )
        def attempt(target, revision, to_version, rehearse):
            call = rollback.dry_run if rehearse else rollback.execute
            with contextlib.suppress(InvalidInputError, RollbackFailedError):
                call(forged(target, revision, to_version=to_version))

        attempt()
    commands = recorded()
    assert len(commands) > 2  # the real kubectl ran, through the recorder
    for argv in commands:
        assert_inert(argv, {"checkout"})
    for _, path, _ in api.requests:
        if "/namespaces/" in path:
            assert path.split("/")[path.split("/").index("namespaces") + 1] == "shop"
        if "/deployments/" in path:
            assert path.endswith("/deployments/checkout")


def test_real_kubectl_gets_the_token_off_its_command_line(tmp_path):
    """Over TLS the real kubectl sends the token it read from the private kubeconfig."""
    from _local_http import self_signed_certificate, tls_server_context  # noqa: PLC0415

    runner, recorded = recorded_runner(tmp_path)
    require_executables("openssl")
    made = self_signed_certificate(tmp_path)
    assert made is not None
    cert, key = made
    objects = json.loads(fixture("cluster-checkout.json"))
    with FakeKubeAPI(objects, token=SECRET, ssl_context=tls_server_context(cert, key)) as api:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api.url, cert)
        deploys = KubectlDeploySource(
            {"checkout": "checkout"},
            namespace="shop",
            context="fake",
            kubeconfig=kubeconfig,
            token=SECRET,
            runner=runner,
        )
        assert [c.id for c in deploys.deploys(*ALL_DAY)] == [
            "checkout@1",
            "checkout@2",
            "checkout@3",
        ]
        assert api.authorized > 0
    commands = recorded()
    assert [argv[2:4] for argv in commands if "view" in argv] == [["config", "view"]] * 2
    assert all(SECRET not in " ".join(argv) for argv in commands)
