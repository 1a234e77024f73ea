"""A small real incident worked with the adapter under test, journal and report included."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Literal, cast

import attrs
import pendulum

from incidentkit._incident import Assessed, Incident, Reviewed
from incidentkit._model import (
    Change,
    Detection,
    Evidence,
    Figure,
    Finding,
    FindingKind,
    Severity,
)
from incidentkit._specs import Measure, Metric
from incidentkit._time import ManualClock
from incidentkit.protocols import (
    ChangeSource,
    DependencyStatusSource,
    DeploySource,
    MetricSource,
    RollbackExecutor,
)

__all__ = ["ACTOR", "IncidentPlan", "IncidentRun", "run_incident"]

ACTOR = "incidentkit.testing"
"""The actor of every step of a conformance incident."""


@attrs.frozen
class IncidentPlan:
    """Which step to run the adapter through, over which window."""

    role: Literal["deploys", "infrastructure", "dependencies", "metric", "executor"]
    start: pendulum.DateTime
    end: pendulum.DateTime
    query: str = ""
    step: float = 60.0
    change: Change | None = None
    timeout: float = 30.0

    @property
    def step_name(self) -> str:
        """The incident step the adapter takes part in."""
        if self.role == "metric":
            return "assess_impact"
        if self.role == "executor":
            return "review_rollbacks"
        return "gather_changes"


@attrs.frozen
class IncidentRun:
    """What the incident did with the adapter."""

    phase: str
    findings: tuple[Finding, ...]
    taken: tuple[str, ...]
    """The gathered changes' ids, the reviewed options' change ids, or the measured figures."""
    journal: str = attrs.field(repr=False)
    markdown: str = attrs.field(repr=False)
    json: str = attrs.field(repr=False)

    def gaps_for(self, name: str) -> list[str]:
        """Return the monitoring-gap findings that blame the adapter called ``name``."""
        prefix = f"{name}: "
        return [
            f.detail
            for f in self.findings
            if f.kind is FindingKind.MONITORING_GAP and f.detail.startswith(prefix)
        ]


def run_incident(plan: IncidentPlan, adapter: object) -> IncidentRun:
    """Declare an incident, run the adapter's step, resolve it and render the report.

    The journal lives in a temporary directory removed afterwards. The clock
    stands at the window's end, and the step covers exactly the window.
    """
    with tempfile.TemporaryDirectory(prefix="incidentkit-conformance-") as tmp:
        journal = Path(tmp) / "incident.jsonl"
        declared = Incident.declare(
            title="incidentkit conformance check",
            services="conformance-check",
            actor=ACTOR,
            detection=Detection.ENGINEER,
            journal=journal,
            detected_at=plan.end,
            clock=ManualClock(plan.end),
        )
        stated = [
            Figure("share_of_requests_failing", 0.0, "ratio", evidence=Evidence.text(ACTOR)),
        ]
        phase: Assessed | Reviewed
        taken: tuple[str, ...]
        if plan.role == "metric":
            metric = Metric(cast("MetricSource", adapter), plan.query, step=plan.step)
            phase = declared.assess_impact(
                actor=ACTOR,
                ongoing=False,
                severity=Severity.SEV4,
                symptom_start=plan.start,
                measures=[Measure("conformance", metric)],
            )
            taken = tuple(f.name for f in phase.impact.figures if f.measured)
        else:
            assessed = declared.assess_impact(
                actor=ACTOR,
                ongoing=False,
                severity=Severity.SEV4,
                symptom_start=plan.end,
                stated=stated,
            )
            if plan.role == "executor":
                assert plan.change is not None  # noqa: S101 - the executor check passes one
                phase = assessed.review_rollbacks(
                    [cast("RollbackExecutor", adapter)], actor=ACTOR, changes=[plan.change]
                )
                taken = tuple(o.change_id for o in phase.rollback_options)
            else:
                lookback = (plan.end - plan.start).total_seconds()
                phase = _gather(assessed, plan, adapter, lookback)
                taken = tuple(c.id for c in phase.changes)
        findings = phase.findings
        step_phase = phase.phase
        diagnosing = phase.diagnose_without_recovery(
            actor=ACTOR, reason="a conformance check has no recovery to verify"
        )
        for item in diagnosing.open_items:
            diagnosing = diagnosing.waive(item, actor=ACTOR, reason="a conformance check")
        resolved = diagnosing.resolve(
            actor=ACTOR,
            root_cause="none: this incident is a conformance check",
            evidence=[Evidence.text(ACTOR)],
        )
        report = resolved.report()
        return IncidentRun(
            phase=step_phase,
            findings=findings,
            taken=taken,
            journal=journal.read_text(encoding="utf-8"),
            markdown=report.to_markdown(),
            json=report.to_json(),
        )


def _gather(assessed: Assessed, plan: IncidentPlan, adapter: object, lookback: float) -> Assessed:
    timeout = plan.timeout
    if plan.role == "deploys":
        return assessed.gather_changes(
            actor=ACTOR,
            deploys=[cast("DeploySource", adapter)],
            lookback=lookback,
            timeout=timeout,
        )
    if plan.role == "infrastructure":
        return assessed.gather_changes(
            actor=ACTOR,
            infrastructure=[cast("ChangeSource", adapter)],
            lookback=lookback,
            timeout=timeout,
        )
    return assessed.gather_changes(
        actor=ACTOR,
        dependencies=[cast("DependencyStatusSource", adapter)],
        lookback=lookback,
        timeout=timeout,
    )
