"""The conformance checks: one private module per protocol, and the plumbing they share.

Each ``check_*`` function builds fresh adapters with the factory it is given,
calls them the way an incident does (and a few ways an incident might), and
returns a :class:`~incidentkit.testing.ConformanceReport`. Every adapter call
runs in a thread under a deadline, so a hanging adapter fails a check instead
of hanging the test suite. Nothing here imports pytest.

- ``_common``: check results, quoting, time zones, the arguments' checks;
- ``_run``: one run's state and the ``protocol`` check;
- ``_shared_checks``: ``errors``, ``deadline``, ``secrets`` and ``incident``;
- ``_change_records``: the checks of the protocols that answer changes, used by
  ``_deploy_sources``, ``_change_sources`` and ``_dependency_sources``;
- ``_metric_sources`` and ``_rollback_executors``: their protocol's checks;
- ``_stores``: the journal store suite (no deadline: a store's calls run in
  the test's own thread, as the incident machinery makes them).
"""

from __future__ import annotations

from incidentkit.testing._conformance._change_sources import check_change_source
from incidentkit.testing._conformance._dependency_sources import check_dependency_source
from incidentkit.testing._conformance._deploy_sources import check_deploy_source
from incidentkit.testing._conformance._metric_sources import check_metric_source
from incidentkit.testing._conformance._rollback_executors import check_rollback_executor
from incidentkit.testing._conformance._stores import check_journal_store

__all__ = [
    "check_change_source",
    "check_dependency_source",
    "check_deploy_source",
    "check_journal_store",
    "check_metric_source",
    "check_rollback_executor",
]
