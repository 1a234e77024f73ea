"""Work the checkout outage against a real Prometheus and a real GitOps repository.

The same outage as ``checkout_outage.py``, but the evidence comes from real
systems that this script starts on this machine:

* **Prometheus** (``prometheus`` and ``promtool``): the outage's requests are
  backfilled as ``http_requests_total`` counters, one scrape a minute, and
  the impact and the recovery are judged from the requests that failed and
  all requests of each minute, read with ``increase()`` over one minute
  (``Counts``), the PromQL a production recording rule would use, through
  ``PrometheusMetricSource`` over HTTP on 127.0.0.1;
* **a GitOps repository** (``git``): a bare remote and a clone, one commit per
  deploy, dated when it happened. ``GitDeploySource`` reads the deploys from
  it, and ``GitOpsRollbackExecutor`` rolls the culprit back by pushing a
  revert commit to the remote, which the script then reads back.

The infrastructure change and the payment provider's outage still come from
the built-in dataset (in memory), and the clock follows the scenario, as in
the main example. Needs Prometheus and git: ``apt-get install prometheus git``
on Debian or Ubuntu. Run it with ``python examples/checkout_outage_live.py
[JOURNAL]``. The GitOps repositories and, unless a path is given, the journal
stay in a temporary folder the script names, for inspection.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from incidentkit import (
    Actor,
    ChangeKind,
    ChecklistItem,
    Counts,
    Detection,
    Evidence,
    Incident,
    ManualClock,
    Metric,
    Recovered,
    Role,
    verify_journal,
)
from incidentkit.adapters.git import GitDeploySource, GitOpsRollbackExecutor
from incidentkit.adapters.prometheus import PrometheusMetricSource
from incidentkit.memory import Dataset, load_dataset
from incidentkit.testing import LocalPrometheus

DATA = Path(__file__).parent / "data" / "checkout_outage.json"
# The failed and all requests of each minute: Prometheus computes them from the
# counters below, and the dataset holds the same counts (examples/data/make_counts.py).
BAD = 'sum(increase(http_requests_total{service="checkout",code=~"5.."}[1m]))'
TOTAL = 'sum(increase(http_requests_total{service="checkout"}[1m]))'
# Where each service's desired state lives in the GitOps repository, and how
# its version reads there.
PATHS = {
    "apps/checkout/": "checkout",
    "apps/payments/": "payments",
    "apps/search/": "search",
}
MANIFEST = {
    "checkout": ("apps/checkout/deployment.yaml", "image: registry.example.com/checkout:{}\n"),
    "payments": ("apps/payments/config.yaml", "version: {}\n"),
    "search": ("apps/search/deployment.yaml", "image: registry.example.com/search:{}\n"),
}
VERSION_PATTERN = r"(?:image: \S+:|version: )(\S+)"


def counters(data: Dataset) -> list[tuple[str, dict[str, str], list[tuple[float, float]]]]:
    """Turn the dataset's requests of each minute into the counters Prometheus scrapes.

    Each minute adds its failed requests to the counter with code 503 and the
    rest to the one with 200, so that ``increase()`` over one minute gives the
    dataset's counts back. A failed scrape (a gap in the dataset) is a missing
    sample.
    """
    bad = dict(data.metrics[BAD].samples)
    total = dict(data.metrics[TOTAL].samples)
    ok_total = failed_total = 0.0
    ok: list[tuple[float, float]] = []
    failed: list[tuple[float, float]] = []
    for at in sorted(bad):
        failures, requests = bad[at], total.get(at)
        if failures is None or requests is None:
            continue  # the scrape failed: no sample, and nothing known to add
        failed_total += failures
        ok_total += requests - failures
        ok.append((at.timestamp(), ok_total))
        failed.append((at.timestamp(), failed_total))
    return [
        ("http_requests_total", {"service": "checkout", "code": "200"}, ok),
        ("http_requests_total", {"service": "checkout", "code": "503"}, failed),
    ]


def git(*args: str, cwd: Path, when: str | None = None, author: str = "ops") -> str:
    """Run git with a fixed identity (and a date, for a commit); return its output."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": author,
        "GIT_AUTHOR_EMAIL": f"{author}@example.com",
        "GIT_COMMITTER_NAME": author,
        "GIT_COMMITTER_EMAIL": f"{author}@example.com",
        "GIT_TERMINAL_PROMPT": "0",
    }
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when
    executable = shutil.which("git") or "git"
    done = subprocess.run(  # noqa: S603 - a fixed argument list, no shell
        [executable, *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def gitops_repository(data: Dataset, root: Path) -> tuple[Path, Path]:
    """Create a bare remote and a clone holding one commit per deploy of the dataset."""
    remote, clone = root / "gitops.git", root / "gitops"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(remote), cwd=root)
    git("clone", "--quiet", str(remote), str(clone), cwd=root)
    deploys = [c for c in data.changes if c.kind in {ChangeKind.DEPLOY, ChangeKind.CONFIG}]
    first: dict[str, str] = {}
    for change in deploys:  # the version each service ran before the first deploy
        first.setdefault(change.service, change.previous_version or "unknown")
    for service, version in first.items():
        path, text = MANIFEST[service]
        (clone / path).parent.mkdir(parents=True, exist_ok=True)
        (clone / path).write_text(text.format(version), encoding="utf-8")
    git("add", "--all", cwd=clone)
    git("commit", "--quiet", "-m", "Initial desired state", cwd=clone, when="2026-11-01T09:00Z")
    for change in deploys:
        path, text = MANIFEST[change.service]
        (clone / path).write_text(text.format(change.version), encoding="utf-8")
        git("add", path, cwd=clone)
        author = change.author or "ops"
        when = change.started.isoformat()
        git("commit", "--quiet", "-m", change.summary, cwd=clone, when=when, author=author)
    git("push", "--quiet", "origin", "main", cwd=clone)
    return remote, clone


def main(argv: list[str]) -> int:
    """Work the incident against the real systems; return the exit status."""
    missing = [tool for tool in ("prometheus", "promtool", "git") if shutil.which(tool) is None]
    if missing:
        print(
            f"this example needs {', '.join(missing)}: apt-get install prometheus git",
            file=sys.stderr,
        )
        return 2
    data = load_dataset(DATA)
    when = data.scenario_instant
    root = Path(tempfile.mkdtemp(prefix="incidentkit-live-"))
    journal = Path(argv[1]) if len(argv) > 1 else root / "checkout.jsonl"
    remote, clone = gitops_repository(data, root)

    with LocalPrometheus(counters(data)) as server:
        print(f"Prometheus at {server.url}; GitOps remote at {remote}")
        prometheus = PrometheusMetricSource(server.url)
        errors = Counts(
            bad=Metric(prometheus, BAD, unit="requests"),
            total=Metric(prometheus, TOTAL, unit="requests"),
        )
        deploys = GitDeploySource(
            clone, paths=PATHS, ref="origin/main", version_pattern=VERSION_PATTERN
        )
        executor = GitOpsRollbackExecutor.from_source(deploys, clone)
        clock = ManualClock(when("declared_at"))
        commander = Actor("Dana", Role.INCIDENT_COMMANDER)
        operator = Actor("Sam", Role.OPERATIONS)

        declared = Incident.declare(
            title=data.scenario["title"],
            services=data.scenario["service"],
            actor=commander,
            detection=Detection.ALERT,
            detected_at=when("detected_at"),
            journal=journal,
            clock=clock,
            depends_on={"checkout": ["payments", "gke-prod-pool-b", "stripe"]},
        )

        # 1. Impact, measured in the real Prometheus.
        clock.set(when("assessed_at"))
        assessed = declared.assess_impact(actor=commander, ongoing=True, errors=errors, slo=0.999)
        if assessed.onset is not None:
            print(f"onset: {assessed.onset.explanation}")
        print(f"severity: {assessed.impact.severity.value}")

        # 2. What changed (the deploys from git), then the rollback options.
        assessed = assessed.gather_changes(
            actor=operator,
            deploys=[deploys],
            infrastructure=[data.change_source()],
            dependencies=[data.dependency_source()],
        )
        ranking = assessed.suspects()
        for suspect in ranking.suspects:
            change = suspect.change
            print(f"  suspect {suspect.score:.2f} {change.id:<22} {change.summary}")
        culprit = ranking.suspects[0].change
        reviewed = assessed.review_rollbacks([executor], actor=operator)
        option = next(o for o in reviewed.rollback_options if o.change_id == culprit.id)
        print(f"rolling back: {option.describe()}")

        # The revert is pushed to the GitOps remote for real.
        clock.set(when("rolled_back_at"))
        intervened = reviewed.roll_back(option, actor=operator)
        live = git("show", "main:apps/checkout/deployment.yaml", cwd=remote).strip()
        print(f"the remote now says: {live}")

        # 3. Recovery, verified in the real Prometheus.
        clock.set(when("verified_at"))
        outcome = intervened.verify_recovery(actor=operator, errors=errors)
        if not isinstance(outcome, Recovered):
            print("recovery not shown:", outcome.last_verdict)
            return 1
        verdict = outcome.verdict
        print(f"recovery: {verdict.outcome.value} ({verdict.test} test)")
        for reason in verdict.reasons:
            print(f"  - {reason}")

        # 4. Diagnosis and resolution.
        clock.set(when("resolved_at"))
        resolved = (
            outcome.begin_diagnosis(actor=commander)
            .hypothesis(
                f"{culprit.summary} ({culprit.id}) broke checkout; the revert ended it",
                actor=commander,
                evidence=[Evidence.change(culprit.id), Evidence.metric(BAD)],
            )
            .check(ChecklistItem.DEPLOYS, actor=commander, conclusion="the culprit, reverted")
            .check(ChecklistItem.INFRASTRUCTURE, actor=commander, conclusion="no node errors")
            .check(ChecklistItem.DEPENDENCIES, actor=commander, conclusion="after the symptom")
            .resolve(
                actor=commander,
                root_cause=f"{culprit.summary} returned 5xx; reverted in git ({culprit.id})",
                evidence=[Evidence.change(culprit.id), Evidence.metric(BAD)],
            )
        )

    # 5. The forensic record.
    print()
    print(resolved.report().to_markdown())
    verification = verify_journal(journal)
    print(verification)
    return 0 if verification.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
