"""The real adapters satisfy their protocols statically, and misuse is a type error.

Never executed: mypy and pyright check this file. Assigning an adapter to a
variable of its protocol's type proves the methods' signatures match the
protocol's (a run-time ``isinstance`` check sees only the names); the
``type: ignore`` lines prove the checkers reject the mistakes next to them.
"""

from __future__ import annotations

from typing_extensions import assert_type

from incidentkit import Change, RollbackOption, Series
from incidentkit.adapters import AdapterInfo, available_adapters
from incidentkit.adapters.git import GitDeploySource, GitOpsRollbackExecutor
from incidentkit.adapters.github import GitHubDeploymentSource
from incidentkit.adapters.kubectl import KubectlDeploySource, KubectlRolloutExecutor
from incidentkit.adapters.prometheus import PrometheusMetricSource
from incidentkit.adapters.statuspage import StatuspageSource
from incidentkit.intake import AlertIntake, IntakeOutcome, WebhookPayload
from incidentkit.protocols import (
    DependencyStatusSource,
    DeploySource,
    JournalStore,
    MetricSource,
    RollbackExecutor,
)
from incidentkit.testing import ConformanceReport, check_deploy_source, check_metric_source


def adapters_fit_their_protocols(
    *,
    prometheus: PrometheusMetricSource,
    git_source: GitDeploySource,
    git_executor: GitOpsRollbackExecutor,
    kubectl_source: KubectlDeploySource,
    kubectl_executor: KubectlRolloutExecutor,
    statuspage: StatuspageSource,
    github: GitHubDeploymentSource,
) -> None:
    metrics: MetricSource = prometheus
    deploys: list[DeploySource] = [git_source, kubectl_source, github]
    executors: list[RollbackExecutor] = [git_executor, kubectl_executor]
    dependencies: DependencyStatusSource = statuspage
    assert_type(deploys, list[DeploySource])
    assert_type(executors, list[RollbackExecutor])
    del metrics, dependencies


def adapters_are_not_each_other(
    prometheus: PrometheusMetricSource, statuspage: StatuspageSource, github: GitHubDeploymentSource
) -> None:
    wrong_metrics: MetricSource = statuspage  # type: ignore[assignment]
    wrong_deploys: DeploySource = prometheus  # type: ignore[assignment]
    wrong_executor: RollbackExecutor = github  # type: ignore[assignment]
    del wrong_metrics, wrong_deploys, wrong_executor


def answers_have_the_protocol_types(
    prometheus: PrometheusMetricSource,
    git_executor: GitOpsRollbackExecutor,
    change: Change,
    intake: AlertIntake,
    payload: WebhookPayload,
) -> None:
    import pendulum  # noqa: PLC0415 - only for the instants of this case

    start = pendulum.datetime(2026, 11, 20, 14, tz="UTC")
    series = prometheus.query_range("up", start, start.add(hours=1), 60)
    assert_type(series, Series)
    options = git_executor.options(change)
    for option in options:
        assert_type(option, RollbackOption)
    assert_type(intake.handle(payload), IntakeOutcome)
    prometheus.query_range("up", start, start.add(hours=1), "60")  # type: ignore[arg-type]


def intake_takes_a_store(store: JournalStore) -> None:
    import pathlib  # noqa: PLC0415 - only for this case

    for intake in (
        AlertIntake(store),
        AlertIntake("/srv/incidents"),
        AlertIntake(pathlib.Path("x")),
    ):
        assert_type(intake.store, JournalStore)
        assert_type(intake.incidents("{}:{}"), tuple[str, ...])
        assert_type(intake.incident_id("{}:{}", 1), str)
        assert_type(intake.handle(b"{}").store, str)
    AlertIntake(store=42)  # type: ignore[arg-type]


def discovery_and_kit(git_source: GitDeploySource, prometheus: PrometheusMetricSource) -> None:
    import pendulum  # noqa: PLC0415

    for info in available_adapters():
        assert_type(info, AdapterInfo)
    start = pendulum.datetime(2026, 11, 20, 14, tz="UTC")
    report = check_deploy_source(lambda: git_source, window=(start, start.add(hours=1)))
    assert_type(report, ConformanceReport)
    check_metric_source(
        lambda: prometheus, query="up", window=(start, start.add(hours=1)), step=60
    ).raise_for_failures()
    check_metric_source(lambda: git_source, query="up", window=(start, start), step=60)  # type: ignore[arg-type,return-value]
