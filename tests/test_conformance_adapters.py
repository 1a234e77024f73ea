"""The conformance kit run against every real adapter incidentkit ships, on real services.

Each adapter is built the way its own test module builds it, on the same kind
of service: a real Prometheus with backfilled samples (``LocalPrometheus``),
real git repositories (a bare remote and a clone), the real ``kubectl`` against
a fake Kubernetes API server over TLS, and local HTTP servers answering
Statuspage's and GitHub's documented payloads. Every adapter is built with a
fake credential (``secrets``) and has a broken twin pointed at something dead
(a closed port, a repository that is not there, an unreachable cluster) for
the ``errors`` and ``incident`` checks. The setups live in
``tests/_adapter_fixtures.py``.

Besides ``raise_for_failures()``, each test asserts that every check the kit
lists PASSED (none skipped), and looks at a few details, so that a kit that
silently checked less would fail here too.
"""

from __future__ import annotations

import shutil
import types

import pytest

import _adapter_fixtures as fx
from _local_http import (
    LocalHTTPServer,
    closed_port,
    json_answer,
    self_signed_certificate,
    tls_server_context,
)
from incidentkit.adapters import available_adapters
from incidentkit.adapters.git import GitDeploySource, GitOpsRollbackExecutor
from incidentkit.adapters.github import GitHubDeploymentSource
from incidentkit.adapters.kubectl import KubectlDeploySource, KubectlRolloutExecutor
from incidentkit.adapters.prometheus import PrometheusMetricSource
from incidentkit.adapters.statuspage import StatuspageSource
from incidentkit.testing import (
    CheckStatus,
    ConformanceError,
    ConformanceReport,
    LocalPrometheus,
    check_dependency_source,
    check_deploy_source,
    check_metric_source,
    check_rollback_executor,
)
from services import require_executables

CHANGE_CHECKS = (
    "protocol",
    "answer",
    "time_zones",
    "window",
    "errors",
    "deadline",
    "secrets",
    "incident",
)
METRIC_CHECKS = (
    "protocol",
    "answer",
    "time_zones",
    "window",
    "gaps",
    "errors",
    "deadline",
    "secrets",
    "incident",
)
EXECUTOR_CHECKS = (
    "protocol",
    "answer",
    "dry_run",
    "forged_options",
    "errors",
    "deadline",
    "secrets",
    "incident",
)


def assert_conforms(
    report: ConformanceReport, names: tuple[str, ...], *, defects: tuple[str, ...] = ()
) -> None:
    """The report lists exactly ``names``, and every one of them PASSED (none skipped).

    ``defects`` names the checks a known adapter defect fails (its test is
    marked xfail with ``raises=ConformanceError``): any other failure, or a
    skipped check, fails the test with a plain AssertionError, so the xfail
    covers that defect and nothing else.
    """
    assert report.names == names
    unexpected = [c.name for c in report.failures if c.name not in defects]
    assert not unexpected, str(report)
    assert not report.skipped, str(report)
    if "secrets" not in defects:
        assert report["secrets"].detail.startswith("1 secrets absent from "), str(report)
    if "incident" not in defects:
        assert "with the broken adapter it recorded a monitoring gap" in report["incident"].detail
    report.raise_for_failures()  # ConformanceError while a known defect is there
    assert report.passed
    assert {c.status for c in report.checks} == {CheckStatus.PASSED}


def quoted_errors(report: ConformanceReport) -> str:
    """The errors the broken adapter raised, as the report quotes them."""
    detail = report["errors"].detail
    assert "raised a SourceError naming the adapter" in detail, str(report)
    return detail


# --------------------------------------------------------------------------- every adapter

#: The entry points that name a class implementing a protocol, and the class the tests check.
CHECKED = {
    "git-deploys": GitDeploySource,
    "github-deployments": GitHubDeploymentSource,
    "gitops-rollback": GitOpsRollbackExecutor,
    "kubectl-deploys": KubectlDeploySource,
    "kubectl-rollout": KubectlRolloutExecutor,
    "prometheus": PrometheusMetricSource,
    "statuspage": StatuspageSource,
}


def test_every_registered_adapter_is_checked_here():
    """A new adapter registered under incidentkit.adapters must get a conformance test here."""
    ours = {i.name: i for i in available_adapters() if i.target.startswith("incidentkit.")}
    assert set(ours) == set(CHECKED)
    for name, cls in CHECKED.items():
        assert ours[name].load() is cls


# --------------------------------------------------------------------------- Prometheus


@pytest.fixture(scope="module")
def prometheus():
    """One real Prometheus for the module, with the error ratio (and its hole) backfilled."""
    require_executables("prometheus", "promtool")
    with LocalPrometheus(fx.prometheus_series()) as server:
        yield server


def test_prometheus_metric_source_conforms(prometheus):
    """PrometheusMetricSource on a real Prometheus, with a bearer token and a real gap."""
    dead = f"http://127.0.0.1:{closed_port()}"

    def make():
        return PrometheusMetricSource(
            prometheus.url, token=fx.PROMETHEUS_TOKEN, unit="ratio", timeout=10
        )

    def broken():
        return PrometheusMetricSource(dead, token=fx.PROMETHEUS_TOKEN, unit="ratio", timeout=10)

    # The data is there, and so is the hole: the kit checks against the adapter's own answer.
    series = make().query_range(fx.PROM_QUERY, *fx.PROM_WINDOW, fx.PROM_STEP)
    present = {at for at, _ in series.present()}
    assert len(present) > 60
    assert not {at for at in present if fx.PROM_GAP[0] <= at <= fx.PROM_GAP[1]}

    report = check_metric_source(
        make,
        query=fx.PROM_QUERY,
        window=fx.PROM_WINDOW,
        step=fx.PROM_STEP,
        gap=fx.PROM_GAP,
        secrets=[fx.PROMETHEUS_TOKEN],
        broken=broken,
    )
    assert report.adapter == "prometheus"
    assert "comes back without values" in report["gaps"].detail
    assert "narrower windows keep only their own samples" in report["window"].detail
    assert "SourceUnavailableError: prometheus:" in quoted_errors(report)
    assert_conforms(report, METRIC_CHECKS)


# --------------------------------------------------------------------------- git


@pytest.fixture
def gitops(tmp_path, monkeypatch):
    """The GitOps repository; the adapters' git sees no global configuration or identity."""
    require_executables("git")
    home = tmp_path / "adapter-home"
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
    return fx.GitOpsRepo(tmp_path)


def git_source(repo: object) -> GitDeploySource:
    """The GitOps source of checkout and search on main."""
    return GitDeploySource(
        repo, paths=fx.GIT_PATHS, ref="main", version_pattern=fx.GIT_VERSION, timeout=10
    )


@pytest.mark.parametrize(
    "dead_repo",
    [
        pytest.param("missing-path", id="missing-path"),
        pytest.param("url-with-credentials", id="url-with-credentials"),
    ],
)
def test_git_deploy_source_conforms(gitops, dead_repo):
    """GitDeploySource on a real clone whose origin URL carries user:token@.

    The broken twin reads a repository that is not there: a missing path, or
    a URL with the same credential (git cannot read a URL as a local
    repository), where the ``secrets`` check also covers git's
    "cannot change to" message.
    """
    if dead_repo == "missing-path":
        dead = str(gitops.root / "no-such-repository")
    else:
        dead = f"https://kit:{fx.GIT_TOKEN}@127.0.0.1:{closed_port()}/gitops.git"
    assert fx.GIT_TOKEN in gitops.git(gitops.clone, "config", "remote.origin.url")
    report = check_deploy_source(
        lambda: git_source(gitops.clone),
        window=fx.GIT_WINDOW,
        services=["checkout", "search"],
        secrets=[fx.GIT_TOKEN],
        broken=lambda: git_source(dead),
    )
    assert report.adapter == "git"
    assert report["answer"].detail.startswith("3 Change records")
    assert "2 narrower windows leave out" in report["window"].detail
    assert "is not a git repository" in quoted_errors(report)
    assert_conforms(report, CHANGE_CHECKS)


@pytest.mark.parametrize("mode", ["push", "branch"])
@pytest.mark.xfail(
    raises=ConformanceError,
    strict=True,
    reason=(
        "known defect: a GitOps executor built anew (after a resume) accepts an option whose "
        "to_version was forged, since to_version comes from the deploy source's change, which "
        "it never saw; git reverts the same commit, but the journal would carry the forged "
        "version. Every other forgery is refused."
    ),
)
def test_gitops_rollback_executor_conforms(gitops, mode):
    """GitOpsRollbackExecutor on the culprit commit, as GitDeploySource reported it.

    The broken twin works in another clone whose origin is
    ``https://kit:<token>@127.0.0.1:<closed port>``: every call's fetch fails.
    The kit never executes: the remote's refs and the clone stay as they were.
    """
    source = git_source(gitops.clone)
    [change] = [c for c in source.deploys(*fx.GIT_WINDOW) if c.service == "checkout"]
    assert change.attributes["commit"] == gitops.culprit
    dead_clone = gitops.dead_clone(closed_port())
    refs, head = gitops.refs(), gitops.git(gitops.clone, "rev-parse", "HEAD")

    report = check_rollback_executor(
        lambda: GitOpsRollbackExecutor.from_source(source, mode=mode),
        change=change,
        secrets=[fx.GIT_TOKEN],
        broken=lambda: GitOpsRollbackExecutor.from_source(source, dead_clone, mode=mode),
    )
    assert gitops.refs() == refs
    assert gitops.git(gitops.clone, "rev-parse", "HEAD") == head
    assert report.adapter == "git-revert"
    assert f"options for {change.id} from 'git-revert'" in report["answer"].detail
    assert "1 would succeed" in report["dry_run"].detail
    assert "SourceUnavailableError: git-revert:" in quoted_errors(report)
    assert "another version to return to" in report["forged_options"].detail
    assert_conforms(report, EXECUTOR_CHECKS, defects=("forged_options",))


# --------------------------------------------------------------------------- kubectl


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (kubectl sends a token only over TLS)."""
    require_executables("kubectl", "openssl")
    made = self_signed_certificate(tmp_path_factory.mktemp("kube-tls"))
    assert made is not None  # openssl is there: required above
    return made


@pytest.fixture
def kube(tmp_path, certificate):
    """The fake API server over TLS, requiring the token; kubeconfigs for it and a dead port."""
    cert, key = certificate
    api = fx.FakeKubeAPI(
        fx.kube_objects(), token=fx.KUBE_TOKEN, ssl_context=tls_server_context(cert, key)
    )
    with api:
        yield types.SimpleNamespace(
            api=api,
            kubeconfig=fx.write_kubeconfig(tmp_path / "kubeconfig", api.url, cert),
            dead=fx.write_kubeconfig(
                tmp_path / "dead-kubeconfig", f"https://127.0.0.1:{closed_port()}", cert
            ),
            runner=fx.kubectl_runner(tmp_path),
        )


def kube_options(kube, *, dead: bool = False) -> dict[str, object]:
    """The options both kubectl adapters are built with."""
    return {
        "namespace": "shop",
        "context": "fake",
        "kubeconfig": kube.dead if dead else kube.kubeconfig,
        "token": fx.KUBE_TOKEN,
        "kubectl": shutil.which("kubectl") or "kubectl",
        "timeout": 10,
        "runner": kube.runner,
    }


def kube_source(kube, *, dead: bool = False) -> KubectlDeploySource:
    """The deploy source of deployment checkout."""
    return KubectlDeploySource({"checkout": "checkout"}, **kube_options(kube, dead=dead))


def test_kubectl_deploy_source_conforms(kube):
    """KubectlDeploySource running the real kubectl against the fake API server."""
    report = check_deploy_source(
        lambda: kube_source(kube),
        window=fx.KUBE_WINDOW,
        services=["checkout"],
        secrets=[fx.KUBE_TOKEN],
        broken=lambda: kube_source(kube, dead=True),
    )
    assert kube.api.authorized > 0  # the token reached the server
    assert report.adapter == "kubectl"
    assert report["answer"].detail.endswith(
        "Change records of kind config, deploy, feature_flag from deploys(start, end)"
    )
    ids = {c.id for c in kube_source(kube).deploys(*fx.KUBE_WINDOW)}
    # The culprit only: checkout@2 was deployed before the window (and superseded in it).
    assert ids == {"checkout@3"}
    assert "SourceUnavailableError: kubectl:" in quoted_errors(report)
    assert_conforms(report, CHANGE_CHECKS)


def test_kubectl_rollout_executor_conforms(kube):
    """KubectlRolloutExecutor on revision 3, as KubectlDeploySource reported it."""
    changes = {c.id: c for c in kube_source(kube).deploys(*fx.KUBE_WINDOW)}
    change = changes["checkout@3"]

    def make(*, dead: bool = False):
        return KubectlRolloutExecutor(
            ["checkout"], rollout_timeout=20, **kube_options(kube, dead=dead)
        )

    report = check_rollback_executor(
        make, change=change, secrets=[fx.KUBE_TOKEN], broken=lambda: make(dead=True)
    )
    # Only server-side dry runs reached the API; the Deployment is still at revision 3.
    assert kube.api.patches()
    assert all(q.get("dryRun") == "All" for q in kube.api.patches())
    annotations = kube.api.deployments["checkout"]["metadata"]["annotations"]
    assert annotations["deployment.kubernetes.io/revision"] == "3"
    assert report.adapter == "kubectl"
    assert "options for checkout@3 from 'kubectl' (kubectl:checkout@3)" in report["answer"].detail
    assert "1 would succeed" in report["dry_run"].detail
    assert "SourceUnavailableError: kubectl:" in quoted_errors(report)
    assert_conforms(report, EXECUTOR_CHECKS)


# --------------------------------------------------------------------------- Statuspage


def test_statuspage_source_conforms():
    """StatuspageSource on a local server answering Statuspage API v2 documents."""
    feed, summary = fx.statuspage_documents()
    headers = {"Authorization": f"Bearer {fx.STATUSPAGE_TOKEN}"}
    dead = f"http://127.0.0.1:{closed_port()}"
    routes = {
        "/api/v2/incidents.json": json_answer(feed),
        "/api/v2/summary.json": json_answer(summary),
    }
    with LocalHTTPServer(routes) as page:
        report = check_dependency_source(
            lambda: StatuspageSource(page.url, dependency="github", headers=headers, timeout=10),
            window=fx.STATUS_WINDOW,
            secrets=[fx.STATUSPAGE_TOKEN],
            broken=lambda: StatuspageSource(dead, dependency="github", headers=headers, timeout=10),
        )
    assert page.requests
    assert {r.headers.get("authorization") for r in page.requests} == {headers["Authorization"]}
    assert report.adapter == "statuspage:127.0.0.1"
    assert report["answer"].detail.startswith("4 Change records")
    assert "2 narrower windows leave out" in report["window"].detail
    assert "SourceUnavailableError: statuspage:127.0.0.1:" in quoted_errors(report)
    assert_conforms(report, CHANGE_CHECKS)


# --------------------------------------------------------------------------- GitHub


class FakeGitHub:
    """Routes for the repository's deployments, two a page linked like GitHub, and statuses."""

    def __init__(self) -> None:
        self.deployments, self.statuses = fx.github_data()
        self.server = LocalHTTPServer()
        self.server.route(f"/repos/{fx.GITHUB_REPO}/deployments", self.list_deployments)
        self.server.route("/repositories/4242/deployments", self.list_deployments)
        for did in self.statuses:
            self.server.route(
                f"/repos/{fx.GITHUB_REPO}/deployments/{did}/statuses", self.list_statuses
            )

    def list_deployments(self, request):
        """Page the deployments; the next page's link is absolute, under /repositories/."""
        per_page = int(request.param("per_page") or 30)
        page = int(request.param("page") or 1)
        chunk = self.deployments[(page - 1) * per_page : page * per_page]
        headers = fx.github_rate_headers()
        pages = max(1, -(-len(self.deployments) // per_page))
        if page < pages:
            root = f"{self.server.url}/repositories/4242/deployments?per_page={per_page}"
            headers["Link"] = (
                f'<{root}&page={page + 1}>; rel="next", <{root}&page={pages}>; rel="last"'
            )
        return 200, headers, chunk

    def list_statuses(self, request):
        """A deployment's statuses, newest first."""
        did = int(request.path.split("/")[-2])
        return 200, fx.github_rate_headers(), self.statuses[did]


def test_github_deployment_source_conforms():
    """GitHubDeploymentSource on a local server answering the REST API's documented shapes."""
    fake = FakeGitHub()
    dead = f"http://127.0.0.1:{closed_port()}"

    def make(url: str) -> GitHubDeploymentSource:
        return GitHubDeploymentSource(
            fx.GITHUB_REPO,
            api_url=url,
            token=fx.GITHUB_TOKEN,
            services=fx.GITHUB_SERVICES,
            per_page=2,
            timeout=10,
        )

    with fake.server:
        report = check_deploy_source(
            lambda: make(fake.server.url),
            window=fx.GITHUB_WINDOW,
            services=["checkout", "checkout-staging"],
            secrets=[fx.GITHUB_TOKEN],
            broken=lambda: make(dead),
        )
    requests = fake.server.requests
    assert any(r.path.startswith("/repositories/4242/") for r in requests)  # paged
    assert {r.headers.get("authorization") for r in requests} == {f"Bearer {fx.GITHUB_TOKEN}"}
    assert report.adapter == "github:acme/checkout"
    assert report["answer"].detail.startswith("4 Change records")
    assert "2 narrower windows leave out" in report["window"].detail
    assert "SourceUnavailableError: github:acme/checkout:" in quoted_errors(report)
    assert_conforms(report, CHANGE_CHECKS)
