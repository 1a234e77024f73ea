"""Real (or local) services and known data for running the conformance kit on the real adapters.

``tests/test_conformance_adapters.py`` imports this module as a plain module
(tests/conftest.py puts tests/ on ``sys.path``). Each part sets up what one
adapter's own test module sets up, trimmed to what the kit needs:

* Prometheus: the samples to backfill into a :class:`~incidentkit.testing.LocalPrometheus`,
  with a hole longer than Prometheus's 5-minute lookback;
* git: a bare remote and a clone with GitOps commits at controlled dates (one
  written in +05:30), whose ``origin`` URL carries ``user:token@`` and is
  rewritten to the local bare repository by ``url.<path>.insteadOf``;
* kubectl: :class:`FakeKubeAPI` (from tests/_kube_api.py, shared with
  tests/test_kubectl.py; here over TLS with a bearer-token check) serving
  ``tests/data/kubectl/cluster-checkout.json`` to the real ``kubectl``, and a
  kubeconfig writer;
* Statuspage and GitHub: documented-format payloads for ``_local_http``.

Nothing here imports pytest or another test module (only the helper module ``_kube_api``).
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import time
from typing import Any

import pendulum

from _kube_api import FakeKubeAPI  # noqa: F401 - the conformance tests use fx.FakeKubeAPI

DATA = pathlib.Path(__file__).parent / "data" / "kubectl"
UTC = pendulum.UTC

# --------------------------------------------------------------------------- credentials

#: The fake credential each adapter is built with (distinct, so a leak names its adapter).
PROMETHEUS_TOKEN = "kit-prom-token-7c41e9"  # noqa: S105 - a fake credential
GIT_TOKEN = "kit-git-token-2b8d05"  # noqa: S105 - a fake credential
KUBE_TOKEN = "kit-kube-token-93fa16"  # noqa: S105 - a fake credential
STATUSPAGE_TOKEN = "kit-status-token-4e07ab"  # noqa: S105 - a fake credential
GITHUB_TOKEN = "ghp_kitToken0f3a9c5e7b1d2468ace"  # noqa: S105 - a fake credential


# --------------------------------------------------------------------------- Prometheus

PROM_T0 = pendulum.datetime(2026, 11, 20, 14, 0, tz=UTC)
PROM_STEP = 60
PROM_QUERY = "job:checkout_errors:ratio"
#: No samples in [PROM_T0 + 10 min, PROM_T0 + 30 min): longer than the 5-minute lookback.
PROM_HOLE = (PROM_T0.add(minutes=10), PROM_T0.add(minutes=30))
#: Where a query sees nothing: the hole minus the lookback that fills its first 5 minutes.
PROM_GAP = (PROM_T0.add(minutes=16), PROM_T0.add(minutes=28))
PROM_WINDOW = (PROM_T0.subtract(minutes=30), PROM_T0.add(minutes=60))


def prometheus_series() -> list[tuple[str, dict[str, str], list[tuple[pendulum.DateTime, float]]]]:
    """One error-ratio series, a sample a minute from T0 - 2 h to T0 + 2 h, with the hole."""
    points = []
    at = PROM_T0.subtract(hours=2)
    k = 0
    while at <= PROM_T0.add(hours=2):
        if not PROM_HOLE[0] <= at < PROM_HOLE[1]:
            incident = PROM_T0 <= at < PROM_T0.add(minutes=40)
            points.append((at, 0.35 if incident else 0.002 + (k % 5) * 0.0001))
        at = at.add(seconds=PROM_STEP)
        k += 1
    return [(PROM_QUERY, {"job": "checkout"}, points)]


# --------------------------------------------------------------------------- git

GIT = shutil.which("git") or "/usr/bin/git"
GIT_DAY = pendulum.datetime(2026, 11, 20, tz=UTC)
GIT_WINDOW = (GIT_DAY.add(hours=13), GIT_DAY.add(hours=15))
GIT_PATHS = {"apps/checkout/": "checkout", "apps/search/": "search"}
CHECKOUT_V1 = "image: registry.example/checkout:v1.0.0\n# a\n# b\n# c\n# d\nreplicas: 3\n"
CHECKOUT_V2 = "image: registry.example/checkout:v2.14.0\n# a\n# b\n# c\n# d\nreplicas: 3\n"
GIT_VERSION = r"image: \S+:(?P<version>\S+)"


def git_env(home: pathlib.Path) -> dict[str, str]:
    """The test's own git environment: no global or system configuration, C locale."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(LC_ALL="C", GIT_CONFIG_NOSYSTEM="1", HOME=str(home))
    env.pop("XDG_CONFIG_HOME", None)
    return env


class GitOpsRepo:
    """A bare remote and a clone holding the checkout outage as GitOps commits, pushed.

    * 10:00 UTC bootstrap (checkout v1.0.0, search v5.1.0);
    * 13:55 UTC search v5.2.0;
    * 19:32 +05:30 (14:02 UTC) checkout v2.14.0: the culprit;
    * 14:40 UTC search v5.3.0.

    The clone's ``origin`` is ``https://kit:<GIT_TOKEN>@git.example/gitops.git``,
    which its own configuration rewrites (``url.<bare>.insteadOf``) to the bare
    repository: fetches and pushes reach the real remote while the URL git
    reports carries a credential.
    """

    def __init__(self, root: pathlib.Path) -> None:
        self.root = root
        self.home = root / "home"
        self.home.mkdir()
        self.env = git_env(self.home)
        self.remote = root / "remote.git"
        self.clone = root / "clone"
        self.url = f"https://kit:{GIT_TOKEN}@git.example/gitops.git"
        self.git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(self.remote))
        self.git(root, "clone", "--quiet", str(self.remote), str(self.clone))
        self.git(self.clone, "config", "user.name", "Test Setup")
        self.git(self.clone, "config", "user.email", "setup@example.com")
        self.git(self.clone, "checkout", "--quiet", "-B", "main")
        self.git(self.clone, "config", f"url.{self.remote}.insteadOf", self.url)
        self.git(self.clone, "remote", "set-url", "origin", self.url)
        self.commit(
            {
                "apps/checkout/deploy.yaml": CHECKOUT_V1,
                "apps/search/deploy.yaml": "image: registry.example/search:v5.1.0\n",
                "README.md": "the cluster\n",
            },
            "bootstrap the cluster",
            "2026-11-20T10:00:00+00:00",
        )
        self.commit(
            {"apps/search/deploy.yaml": "image: registry.example/search:v5.2.0\n"},
            "search v5.2.0",
            "2026-11-20T13:55:00+00:00",
        )
        self.culprit = self.commit(
            {"apps/checkout/deploy.yaml": CHECKOUT_V2},
            "checkout v2.14.0",
            "2026-11-20T19:32:00+05:30",
        )
        self.commit(
            {"apps/search/deploy.yaml": "image: registry.example/search:v5.3.0\n"},
            "search v5.3.0",
            "2026-11-20T14:40:00+00:00",
        )
        self.git(self.clone, "push", "--quiet", "origin", "HEAD:refs/heads/main")

    def git(self, where: pathlib.Path, *args: str, date: str | None = None) -> str:
        """Run the test's own git in ``where`` and return its output."""
        env = dict(self.env)
        if date is not None:
            env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
        done = subprocess.run(
            [GIT, "-C", str(where), *args],
            check=True,
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
        )
        return done.stdout

    def commit(self, files: dict[str, str], message: str, date: str) -> str:
        """Write the files, commit them at ``date`` and return the commit's id."""
        for name, content in files.items():
            path = self.clone / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
            self.git(self.clone, "add", name)
        self.git(self.clone, "commit", "--quiet", "-m", message, date=date)
        return self.git(self.clone, "rev-parse", "HEAD").strip()

    def dead_clone(self, port: int) -> pathlib.Path:
        """Another clone of the remote whose ``origin`` is ``https://kit:<token>@127.0.0.1:port``."""
        path = self.root / "dead-clone"
        self.git(self.root, "clone", "--quiet", "--branch", "main", str(self.remote), str(path))
        dead = f"https://kit:{GIT_TOKEN}@127.0.0.1:{port}/gitops.git"
        self.git(path, "remote", "set-url", "origin", dead)
        return path

    def refs(self) -> str:
        """The remote's refs, to check that nothing was pushed."""
        return self.git(self.remote, "for-each-ref")


# --------------------------------------------------------------------------- kubectl

KUBE_DAY = pendulum.datetime(2026, 11, 20, tz=UTC)
#: Revision 3 (the culprit) starts at 14:02 and finishes at 14:05:12 inside it.
KUBE_WINDOW = (KUBE_DAY.add(hours=13, minutes=30), KUBE_DAY.add(hours=15))


def kube_objects() -> dict[str, Any]:
    """The Deployment and ReplicaSets the fake API server serves."""
    return json.loads((DATA / "cluster-checkout.json").read_text())


def write_kubeconfig(path: pathlib.Path, server: str, ca_file: pathlib.Path) -> str:
    """Write a kubeconfig whose context ``fake`` points at ``server`` (no credentials in it)."""
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: fake\n  cluster: {{server: '{server}', "
        f"certificate-authority: '{ca_file}'}}\n"
        "users:\n- name: ops\n  user: {}\n"
        "contexts:\n- name: fake\n  context: {cluster: fake, user: ops}\n"
        "current-context: other\n"
    )
    return str(path)


def kubectl_runner(home: pathlib.Path):
    """A runner for the real kubectl with ``HOME`` (its discovery cache) in ``home``."""
    env = {**os.environ, "HOME": str(home)}
    env.pop("KUBECONFIG", None)

    def runner(argv, timeout):
        return subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    return runner


# --------------------------------------------------------------------------- Statuspage

STATUS_T = pendulum.datetime(2026, 11, 20, 14, 0, tz=UTC)
STATUS_WINDOW = (STATUS_T, STATUS_T.add(hours=1))
STATUS_PAGE = {
    "id": "kctbh9vrtdwd",
    "name": "GitHub",
    "url": "https://www.githubstatus.com",
    "time_zone": "Etc/UTC",
    "updated_at": "2026-11-20T14:31:02.137Z",
}


def _stamp(at: pendulum.DateTime | None, offset_hours: int = 0) -> str | None:
    """An instant as Statuspage renders it: milliseconds and the page's offset."""
    if at is None:
        return None
    local = at.in_timezone(pendulum.FixedTimezone(offset_hours * 3600))
    return local.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _component(cid: str, name: str, status: str = "operational") -> dict[str, Any]:
    return {
        "id": cid,
        "name": name,
        "status": status,
        "created_at": "2017-01-31T20:01:46.621Z",
        "updated_at": _stamp(STATUS_T.add(minutes=35)),
        "position": 1,
        "description": f"{name} of the platform",
        "showcase": False,
        "start_date": None,
        "group_id": None,
        "page_id": STATUS_PAGE["id"],
        "group": False,
        "only_show_if_degraded": False,
    }


GIT_OPS = _component("8l4ygp009s5s", "Git Operations")
ACTIONS = _component("br0l2tvcx85d", "Actions")
PAGES = _component("vg70hn9s2tyj", "Pages", "degraded_performance")


def _incident(
    iid: str,
    name: str,
    *,
    created: pendulum.DateTime,
    resolved: pendulum.DateTime | None,
    impact: str = "minor",
    components: tuple[dict[str, Any], ...] = (),
    offset_hours: int = 0,
) -> dict[str, Any]:
    status = "resolved" if resolved is not None else "investigating"
    last = resolved or created
    return {
        "id": iid,
        "name": name,
        "status": status,
        "created_at": _stamp(created, offset_hours),
        "updated_at": _stamp(last, offset_hours),
        "monitoring_at": None,
        "resolved_at": _stamp(resolved, offset_hours),
        "impact": impact,
        "shortlink": f"https://stspg.io/{iid[:8]}",
        "started_at": _stamp(created, offset_hours),
        "page_id": STATUS_PAGE["id"],
        "incident_updates": [
            {
                "id": f"u0{iid}",
                "status": status,
                "body": f"{name}: we are on it.",
                "incident_id": iid,
                "created_at": _stamp(last),
                "updated_at": _stamp(last),
                "display_at": _stamp(last),
                "affected_components": None,
                "deliver_notifications": True,
                "custom_tweet": None,
                "tweet_id": None,
            }
        ],
        "components": list(components),
        "reminder_intervals": None,
    }


def statuspage_documents() -> tuple[dict[str, Any], dict[str, Any]]:
    """``incidents.json`` and ``summary.json`` of a page with incidents in and around the window.

    In the window [14:00, 15:00]: one resolved at 14:10 (started before it),
    one from 14:20 to 14:35 (timestamps in the page's -05:00), one open since
    14:50, and the Pages component degraded since 14:35 with no incident.
    Outside: one from 11:00 to 12:00 and one from 15:30 to 15:40.
    """
    t = STATUS_T
    open_incident = _incident(
        "open00000001",
        "Degraded Git operations",
        created=t.add(minutes=50),
        resolved=None,
        impact="major",
        components=(GIT_OPS,),
    )
    incidents = [
        _incident(
            "after0000001", "Later trouble", created=t.add(minutes=90), resolved=t.add(minutes=100)
        ),
        open_incident,
        _incident(
            "inside000001",
            "Actions delays",
            created=t.add(minutes=20),
            resolved=t.add(minutes=35),
            components=(ACTIONS,),
            offset_hours=-5,
        ),
        _incident(
            "straddle0001",
            "Webhooks delayed",
            created=t.subtract(minutes=40),
            resolved=t.add(minutes=10),
            components=(GIT_OPS,),
        ),
        _incident(
            "before000001",
            "Old outage",
            created=t.subtract(hours=3),
            resolved=t.subtract(hours=2),
            impact="critical",
        ),
    ]
    feed = {"page": STATUS_PAGE, "incidents": incidents}
    summary = {
        "page": STATUS_PAGE,
        "components": [GIT_OPS, ACTIONS, PAGES],
        "incidents": [open_incident],
        "scheduled_maintenances": [],
        "status": {"indicator": "major", "description": "Partial System Outage"},
    }
    return feed, summary


# --------------------------------------------------------------------------- GitHub

GITHUB_REPO = "acme/checkout"
GITHUB_T = pendulum.datetime(2026, 11, 20, 14, 0, tz=UTC)
GITHUB_WINDOW = (GITHUB_T, GITHUB_T.add(hours=1))
#: Deployments to production are of ``checkout``; to staging, of ``checkout-staging``.
GITHUB_SERVICES = {"production": "checkout", "staging": "checkout-staging"}


def _iso(at: pendulum.DateTime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _deployment(did: int, created: pendulum.DateTime, environment: str) -> dict[str, Any]:
    base = f"https://api.github.com/repos/{GITHUB_REPO}"
    return {
        "url": f"{base}/deployments/{did}",
        "id": did,
        "node_id": f"MDEwOkRlcGxveW1lbnQ{did}",
        "sha": f"{did:040x}",
        "ref": "main",
        "task": "deploy",
        "payload": {},
        "original_environment": environment,
        "environment": environment,
        "description": "Deploy request from hubot",
        "creator": {"login": "octocat", "id": 1, "type": "User"},
        "created_at": _iso(created),
        "updated_at": _iso(created),
        "statuses_url": f"{base}/deployments/{did}/statuses",
        "repository_url": base,
        "transient_environment": False,
        "production_environment": environment == "production",
    }


def _status_of(did: int, sid: int, state: str, created: pendulum.DateTime) -> dict[str, Any]:
    return {
        "url": f"https://api.github.com/repos/{GITHUB_REPO}/deployments/{did}/statuses/{sid}",
        "id": sid,
        "node_id": f"MDE2OkRlcGxveW1lbnRTdGF0dXM{sid}",
        "state": state,
        "creator": {"login": "octocat", "id": 1},
        "description": f"Deployment {state}",
        "environment": "production",
        "target_url": f"https://ci.acme.example/deploys/{did}",
        "created_at": _iso(created),
        "updated_at": _iso(created),
        "deployment_url": f"https://api.github.com/repos/{GITHUB_REPO}/deployments/{did}",
        "repository_url": f"https://api.github.com/repos/{GITHUB_REPO}",
        "environment_url": "",
        "log_url": f"https://ci.acme.example/deploys/{did}",
    }


def github_data() -> tuple[list[dict[str, Any]], dict[int, list[dict[str, Any]]]]:
    """Deployments (newest first) and their statuses (newest first), around the window.

    Production: #1 11:00-11:05 (before), #2 13:50-14:03 (straddles the start),
    #3 14:10-14:16, #5 14:45 still in progress. Staging: #4 14:20-14:24. After
    the window: #6 at 15:30.
    """
    t = GITHUB_T
    rollouts = [
        # (id, created, environment, in_progress at, finished at or None, final state)
        (1, t.subtract(hours=3), "production", t.subtract(hours=3), t.subtract(minutes=175)),
        (2, t.subtract(minutes=11), "production", t.subtract(minutes=10), t.add(minutes=3)),
        (3, t.add(minutes=9), "production", t.add(minutes=10), t.add(minutes=16)),
        (4, t.add(minutes=19), "staging", t.add(minutes=20), t.add(minutes=24)),
        (5, t.add(minutes=44), "production", t.add(minutes=45), None),
        (6, t.add(minutes=89), "production", t.add(minutes=90), t.add(minutes=95)),
    ]
    deployments = []
    statuses: dict[int, list[dict[str, Any]]] = {}
    for did, created, environment, began, finished in rollouts:
        deployments.append(_deployment(did, created, environment))
        rows = [
            _status_of(did, did * 10 + 1, "queued", created),
            _status_of(did, did * 10 + 2, "in_progress", began),
        ]
        if finished is not None:
            rows.append(_status_of(did, did * 10 + 3, "success", finished))
        statuses[did] = sorted(rows, key=lambda s: s["created_at"], reverse=True)
    deployments.sort(key=lambda d: d["created_at"], reverse=True)
    return deployments, statuses


def github_rate_headers() -> dict[str, str]:
    """GitHub's rate-limit headers, with plenty left."""
    return {
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": "4990",
        "x-ratelimit-reset": str(int(time.time() + 3600)),
        "x-ratelimit-used": "10",
        "x-ratelimit-resource": "core",
    }
