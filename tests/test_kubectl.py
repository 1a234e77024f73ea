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

import json
import os
import stat
import subprocess
from pathlib import Path

import pendulum
import pytest

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
        if words[2] in {"deployment", "deployments"}:
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
        ([*flags, "get", "deployment", "checkout", "-o", "json"], 12.5),
        ([*flags, "get", "replicasets", "-l", "app=checkout", "-o", "json"], 12.5),
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
        "deployment",
        "checkout",
        "-o",
        "json",
    ]


def test_a_token_is_passed_but_never_shown():
    """--token reaches kubectl; repr and error messages mask it even when kubectl echoes it."""
    secret = "eyJhbGciOiJSUzI1NiJ9.secret-token"  # noqa: S105 - a test token
    cluster = FakeCluster(failures={"get": (1, f"error: bad token {secret}: Unauthorized\n")})
    deploys = source(cluster, token=secret)
    with pytest.raises(SourceAuthError) as caught:
        deploys.deploys(*ALL_DAY)
    assert f"--token={secret}" in cluster.argv(0)
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
    assert cluster.argv(0)[-6:] == ["get", "deployments", "-l", "tier=web", "-o", "json"]
    assert cluster.argv(1)[-5:] == ["replicasets", "-l", "app=checkout", "-o", "json"]
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
        ["get", "deployment", "checkout", "-o", "json"],
        ["get", "replicasets", "-l", "app=checkout", "-o", "json"],
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
        ["get", "deployment", "checkout", "-o", "json"],
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
        "app=checkout,tier in (web,api),track notin (canary),team,!legacy"
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
        ([], "the Deployment is list"),
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
            "status.conditions[1].lastUpdateTime 'yesterday'",
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
    with pytest.raises(MalformedResponseError, match="kubectl get deployment checkout") as caught:
        source(FakeCluster(deployment=deployment)).deploys(*ALL_DAY)
    assert field in str(caught.value)
    assert caught.value.source == "kubectl"


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda r: r.pop("items"), "items is NoneType"),
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
        (lambda r: r["items"][2]["spec"].pop("template"), "items[2].spec.template is NoneType"),
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
        "`kubectl get deployment checkout -o json` (namespace shop, the current context)" in message
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
    moved = attrs.evolve(option, to_version=V1)
    with pytest.raises(RollbackFailedError, match="revision 2 of deployment/checkout is"):
        rollback.execute(moved)
    gone = attrs.evolve(option, change_id="checkout@9")
    with pytest.raises(RollbackFailedError, match="has no revision 9"):
        rollback.execute(gone)


def test_options_of_another_executor_or_shape_are_refused():
    """An option from elsewhere is InvalidInputError."""
    rollback, option = option_for_three(FakeCluster())
    import attrs  # noqa: PLC0415 - only here

    with pytest.raises(InvalidInputError, match="pass it to the executor"):
        rollback.execute(attrs.evolve(option, executor="argo"))
    with pytest.raises(InvalidInputError, match="not a kubectl rollout option"):
        rollback.dry_run(attrs.evolve(option, target="search"))


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
        (["get", "deployment", "checkout", "-o", "json"], "get-deployment-checkout.json"),
        (
            ["get", "replicasets", "-l", "app=checkout", "-o", "json"],
            "get-replicasets-checkout.json",
        ),
    ]
    for args, name in reads:
        printed = json.loads(cluster.runner([*base, *args], 30).stdout)
        assert printed == json.loads(fixture(name))
    assert printed["kind"] == "List"
    assert printed["metadata"] == {"resourceVersion": ""}
