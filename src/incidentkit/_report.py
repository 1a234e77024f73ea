"""The post-mortem report a resolved incident produces: the data, built from the incident's state.

Rendering lives apart, one module a format (:mod:`incidentkit.reports`):
Markdown, JSON, a self-contained HTML file and the chart as SVG or PNG.
"""

from __future__ import annotations

from typing import Any

import attrs
import pendulum

from incidentkit._chart import ChartData, build_chart
from incidentkit._events import (
    ChecklistItemChecked,
    MitigationApplied,
    OverrideRecorded,
    RecoveryChecked,
    RollbackExecuted,
)
from incidentkit._journal import Anchor
from incidentkit._model import Change, Evidence, Finding, FindingKind, Impact, Role, Severity
from incidentkit._recovery import RecoveryOutcome, RecoveryVerdict
from incidentkit._state import IncidentState
from incidentkit._timeline import TimelineEntry, build_timeline
from incidentkit.analysis._impact import ImpactNumbers
from incidentkit.analysis._onset import Onset
from incidentkit.analysis._suspects import Suspect

__all__ = [
    "ChecklistLine",
    "FollowUp",
    "HypothesisLine",
    "ImpactChange",
    "Intervention",
    "RecoveryCheck",
    "Report",
    "ReportFinding",
    "Responder",
    "TimeTo",
    "build_report",
    "collect_findings",
]


@attrs.frozen
class ReportFinding:
    """A finding as the report lists it, with the journal entry it came from.

    .. versionadded:: 0.1.0
    """

    seq: int
    at: pendulum.DateTime
    finding: Finding


@attrs.frozen
class Intervention:
    """An intervention and its result.

    .. versionadded:: 0.1.0
    """

    seq: int
    at: pendulum.DateTime
    actor: str
    kind: str
    description: str
    succeeded: bool
    detail: str = ""


@attrs.frozen
class RecoveryCheck:
    """A recovery check and its verdict.

    .. versionadded:: 0.1.0
    """

    seq: int
    at: pendulum.DateTime
    actor: str
    verdict: RecoveryVerdict


@attrs.frozen
class HypothesisLine:
    """A hypothesis, its evidence and whether it was rejected.

    .. versionadded:: 0.1.0
    """

    id: str
    statement: str
    evidence: tuple[Evidence, ...]
    rejected: str | None = None


@attrs.frozen
class ChecklistLine:
    """A usual suspect and how it was cleared.

    .. versionadded:: 0.1.0
    """

    item: str
    status: str
    detail: str
    sources: tuple[str, ...] = ()


@attrs.frozen
class TimeTo:
    """The time-to figures, in seconds from the symptom start (``None`` if not reached).

    ``symptom_ended`` is the duration of user impact: from the symptom start to
    the start of the healthy streak the first recovered check accepted.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0
       ``symptom_ended``.
    """

    detect: float | None
    declare: float | None
    assess: float | None
    first_intervention: float | None
    recovery_verified: float | None
    resolve: float | None
    symptom_ended: float | None = None


@attrs.frozen
class Responder:
    """Someone who worked the incident: the roles they held and how much they recorded.

    .. versionadded:: 0.2.0
    """

    name: str
    roles: tuple[Role, ...]
    entries: int
    first_at: pendulum.DateTime | None
    last_at: pendulum.DateTime | None


@attrs.frozen
class ImpactChange:
    """One update of the impact: how the severity moved, and why.

    .. versionadded:: 0.2.0
    """

    seq: int
    at: pendulum.DateTime
    actor: str
    severity: Severity
    previous_severity: Severity
    escalation: str
    ongoing: bool
    reason: str


@attrs.frozen
class FollowUp:
    """A follow-up action item with its owner.

    .. versionadded:: 0.2.0
    """

    seq: int
    at: pendulum.DateTime
    item_id: str
    action: str
    owner: str
    notes: str
    actor: str
    after_resolution: bool


@attrs.frozen
class Report:
    """The post-mortem report of a resolved incident.

    Render it with the functions of :mod:`incidentkit.reports`
    (``render_markdown``, ``render_json``, ``render_html``, ``render_chart_svg``,
    ``render_chart_png``); :meth:`to_markdown` and :meth:`to_json` are shortcuts
    for the first two.

    Attributes:
        suspect_min_score: The score a suspect needs for the ranking to name
            one (the first three suspects that reach it are highlighted).
        chart: What the report's chart shows: the error and traffic series
            (downsampled), the onset, the suspects, the interventions, the
            healthy streak, the recovery checks and the baseline band; ``None``
            when no error series was read.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0
       ``suspect_min_score`` and ``chart``.
    """

    incident_id: str
    title: str
    services: tuple[str, ...]
    detection: str
    declared_by: str
    detected_at: pendulum.DateTime
    declared_at: pendulum.DateTime
    resolved_at: pendulum.DateTime | None
    impact: Impact | None
    onset: Onset | None
    impact_numbers: ImpactNumbers | None
    suspects: tuple[Suspect, ...]
    suspect_verdict: str
    later_changes: tuple[Change, ...]
    timeline: tuple[TimelineEntry, ...]
    interventions: tuple[Intervention, ...]
    recovery: tuple[RecoveryCheck, ...]
    findings: tuple[ReportFinding, ...]
    hypotheses: tuple[HypothesisLine, ...]
    checklist: tuple[ChecklistLine, ...]
    root_cause: str | None
    root_cause_evidence: tuple[Evidence, ...]
    time_to: TimeTo
    journal_head: Anchor | None
    responders: tuple[Responder, ...] = ()
    roles: tuple[tuple[Role, str], ...] = ()
    impact_updates: tuple[ImpactChange, ...] = ()
    follow_ups: tuple[FollowUp, ...] = ()
    suspect_min_score: float | None = None
    chart: ChartData | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-able data (instants as ISO 8601 UTC strings)."""
        from incidentkit._render._json import report_data  # noqa: PLC0415 - the renderer's own

        return report_data(self)

    def to_json(self, *, indent: int | None = 2) -> str:
        """Return the report as a JSON document (see :func:`incidentkit.reports.render_json`)."""
        from incidentkit._render._json import render_json  # noqa: PLC0415 - the renderer's own

        return render_json(self, indent=indent)

    def to_markdown(self, *, full_timeline: bool = False) -> str:
        """Return the report as Markdown (see :func:`incidentkit.reports.render_markdown`).

        Every value is escaped for its place (heading, paragraph, list item,
        table cell, code span): text from a person or a source reads as text,
        never as Markdown, HTML or a terminal's control sequence. A huge
        incident's timeline is folded unless ``full_timeline``.

        .. versionchanged:: 0.3.0
           ``full_timeline``.
        """
        from incidentkit._render._markdown import render_markdown  # noqa: PLC0415 - the renderer's own

        return render_markdown(self, full_timeline=full_timeline)


def collect_findings(state: IncidentState) -> list[tuple[int, Finding]]:
    """Return every finding with its journal entry, overrides included, in order."""
    found: list[tuple[int, Finding]] = [(seq, event.finding) for seq, event in state.findings]
    for seq, event in enumerate(state.events):
        if isinstance(event, OverrideRecorded):
            summary = f"protocol overridden: {event.step} by {event.actor}"
            found.append((seq, Finding(FindingKind.OVERRIDE, summary, event.reason)))
    for seq, correction in state.clock_corrections:
        summary = f"clock corrected by {correction.actor}: time set back before the last entry"
        detail = f"from {correction.latest_before} back to {correction.at}: {correction.reason}"
        found.append((seq, Finding(FindingKind.OVERRIDE, summary, detail)))
    found.sort(key=lambda pair: pair[0])
    return found


def build_report(state: IncidentState, head: Anchor | None) -> Report:
    """Build the report from an incident's state."""
    declared = state.declared
    impact = state.impact
    start = impact.symptom_start if impact is not None else declared.detected_at

    def since(at: pendulum.DateTime | None) -> float | None:
        return None if at is None else (at - start).total_seconds()

    interventions: list[Intervention] = []
    checks: list[RecoveryCheck] = []
    recovered_at: pendulum.DateTime | None = None
    healthy_since: pendulum.DateTime | None = None
    for seq, event in enumerate(state.events):
        if isinstance(event, RollbackExecuted):
            detail = event.error or (event.result.detail if event.result else "")
            interventions.append(
                Intervention(
                    seq,
                    event.at,
                    str(event.actor),
                    "rollback",
                    event.option.describe(),
                    event.succeeded,
                    detail,
                )
            )
        elif isinstance(event, MitigationApplied):
            interventions.append(
                Intervention(
                    seq,
                    event.at,
                    str(event.actor),
                    f"mitigation ({event.kind.value})",
                    event.action,
                    succeeded=True,
                    detail=f"not a rollback because {event.why_not_rollback}",
                )
            )
        elif isinstance(event, RecoveryChecked):
            checks.append(RecoveryCheck(seq, event.at, str(event.actor), event.verdict))
            if recovered_at is None and event.verdict.outcome is RecoveryOutcome.RECOVERED:
                recovered_at = event.at
                healthy_since = event.verdict.healthy_since
    first_intervention = next((i.at for i in interventions if i.succeeded), None)
    findings = tuple(
        ReportFinding(seq, state.events[seq].at, finding)
        for seq, finding in collect_findings(state)
    )
    hypotheses = tuple(
        HypothesisLine(
            h.hypothesis_id,
            h.statement,
            h.evidence,
            state.rejected[h.hypothesis_id].reason if h.hypothesis_id in state.rejected else None,
        )
        for h in state.hypotheses.values()
    )
    checklist = tuple(
        ChecklistLine(item.value, "checked", entry.conclusion, entry.sources)
        if isinstance(entry, ChecklistItemChecked)
        else ChecklistLine(item.value, "waived", entry.reason)
        for item, entry in state.checklist.items()
    )
    ranking = state.ranking()
    resolution = state.resolution
    return Report(
        incident_id=declared.incident_id,
        title=declared.title,
        services=declared.services,
        detection=declared.detection.value,
        declared_by=str(declared.actor),
        detected_at=declared.detected_at,
        declared_at=declared.at,
        resolved_at=resolution.at if resolution else None,
        impact=impact,
        onset=state.impact_event.onset if state.impact_event else None,
        impact_numbers=state.impact_event.numbers if state.impact_event else None,
        suspects=ranking.suspects,
        suspect_verdict=ranking.explanation,
        later_changes=ranking.after_onset,
        timeline=tuple(build_timeline(state)),
        interventions=tuple(interventions),
        recovery=tuple(checks),
        findings=findings,
        hypotheses=hypotheses,
        checklist=checklist,
        root_cause=resolution.root_cause if resolution else None,
        root_cause_evidence=resolution.evidence if resolution else (),
        time_to=TimeTo(
            detect=since(declared.detected_at),
            declare=since(declared.at),
            assess=since(state.impact_event.at if state.impact_event else None),
            first_intervention=since(first_intervention),
            recovery_verified=since(recovered_at),
            resolve=since(resolution.at if resolution else None),
            symptom_ended=since(healthy_since),
        ),
        journal_head=head,
        responders=_responders(state),
        roles=tuple((role, holder) for role, holder in state.roles.items()),
        impact_updates=tuple(
            ImpactChange(
                seq,
                update.at,
                str(update.actor),
                update.impact.severity,
                update.previous_severity,
                update.escalation,
                update.impact.ongoing,
                update.reason,
            )
            for seq, update in state.impact_updates
        ),
        follow_ups=tuple(
            FollowUp(
                seq,
                item.at,
                item.item_id,
                item.action,
                item.owner,
                item.notes,
                str(item.actor),
                after_resolution=resolution is not None and item.at >= resolution.at,
            )
            for seq, item in state.follow_ups
        ),
        suspect_min_score=ranking.min_score,
        chart=build_chart(state, ranking),
    )


def _responders(state: IncidentState) -> tuple[Responder, ...]:
    """Everyone who recorded an entry or was handed a role, in order of first appearance."""
    roles: dict[str, list[Role]] = {}
    entries: dict[str, list[pendulum.DateTime]] = {}
    for event in state.events:
        name = event.actor.name
        entries.setdefault(name, []).append(event.at)
        roles.setdefault(name, [])
        if event.actor.role is not None and event.actor.role not in roles[name]:
            roles[name].append(event.actor.role)
    for _seq, handover in state.handovers:
        held = roles.setdefault(handover.to, [])
        if handover.role not in held:
            held.append(handover.role)
    return tuple(
        Responder(
            name,
            tuple(held),
            len(entries.get(name, ())),
            entries[name][0] if name in entries else None,
            entries[name][-1] if name in entries else None,
        )
        for name, held in roles.items()
    )
