"""The conformance kit: check that an adapter keeps the contract of its protocol.

An adapter author runs the kit against their own adapter, in a test::

    from incidentkit.testing import check_deploy_source


    def test_my_deploy_source_conforms():
        report = check_deploy_source(
            lambda: MyDeploySource(url, token="kit-token-5f0c2e"),
            window=(start, end),
            secrets=["kit-token-5f0c2e"],
            broken=lambda: MyDeploySource("http://127.0.0.1:9", token="kit-token-5f0c2e"),
        )
        report.raise_for_failures()

Each ``check_*`` function returns a :class:`ConformanceReport` of named
:class:`Check` results: the protocol's shape, the answer, time zones, the
window, gaps (metric sources), dry runs and the refusal of options never
offered (executors), errors, the deadline, secrets, and a real incident
worked with the adapter. The kit works with
pytest (:class:`ConformanceError` is an :class:`AssertionError`) but does
not need it. It never calls a rollback executor's ``execute()``.

The guide "Writing an adapter" in the documentation walks through it.

It also starts real services for tests and examples, on 127.0.0.1 only:
:class:`LocalPrometheus` (a Prometheus serving samples it backfilled),
:class:`LocalAlertmanager` (an Alertmanager posting to a webhook) and
:class:`LocalPostgres` (a throwaway PostgreSQL server in a temporary
directory), from Debian's ``prometheus``, ``prometheus-alertmanager`` and
``postgresql`` packages.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from incidentkit.testing._alertmanager import LocalAlertmanager, webhook_config
from incidentkit.testing._conformance import (
    check_change_source,
    check_dependency_source,
    check_deploy_source,
    check_journal_store,
    check_metric_source,
    check_rollback_executor,
)
from incidentkit.testing._postgres import LocalPostgres
from incidentkit.testing._prometheus import LocalPrometheus, openmetrics_text
from incidentkit.testing._results import Check, CheckStatus, ConformanceError, ConformanceReport

__all__ = [
    "Check",
    "CheckStatus",
    "ConformanceError",
    "ConformanceReport",
    "LocalAlertmanager",
    "LocalPostgres",
    "LocalPrometheus",
    "check_change_source",
    "check_dependency_source",
    "check_deploy_source",
    "check_journal_store",
    "check_metric_source",
    "check_rollback_executor",
    "openmetrics_text",
    "webhook_config",
]
