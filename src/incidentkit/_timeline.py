"""The timeline: changes, the symptom window and the incident's own steps, in order."""

from __future__ import annotations

import attrs
import pendulum
from typing_extensions import assert_never

from incidentkit._events import (
    ChangesGathered,
    ChecklistItemChecked,
    ChecklistItemWaived,
    ClockCorrected,
    DiagnosisBegun,
    Event,
    FindingRecorded,
    FollowUpAdded,
    HypothesisRecorded,
    HypothesisRejected,
    ImpactAssessed,
    ImpactUpdated,
    IncidentDeclared,
    IncidentResolved,
    MitigationApplied,
    NoteAdded,
    OverrideRecorded,
    RecoveryChecked,
    RoleHandedOver,
    RollbackExecuted,
    RollbacksReviewed,
)
from incidentkit._model import Impact
from incidentkit._recovery import RecoveryOutcome
from incidentkit._render._common import plain_verdict, plural, when
from incidentkit._state import IncidentState

__all__ = ["TimelineEntry", "build_timeline", "describe_event"]


@attrs.frozen
class TimelineEntry:
    """One line of the timeline.

    Attributes:
        at: When it happened.
        kind: ``change``, ``symptom`` or ``step``.
        source: Where the entry comes from: a source's name for a change,
            ``monitoring`` for the symptom window, ``journal`` for a step.
        summary: What happened, in plain words.
        actor: Who took the step (steps only).
        seq: The journal entry it comes from, if any.
        offset: Seconds from the symptom start (negative before it), if known.
        event: The journal event's type (``note_added``, ``finding_recorded``)
            for a step; ``None`` for a change or the symptom window.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0
       ``event``.
    """

    at: pendulum.DateTime
    kind: str
    source: str
    summary: str
    actor: str | None = None
    seq: int | None = None
    offset: float | None = None
    event: str | None = None


def describe_event(event: Event) -> str:  # noqa: C901, PLR0911, PLR0912 - one arm per event type
    """Return a one-line, plain-words description of a journal event."""
    match event:
        case IncidentDeclared():
            return f"incident declared: {event.title} ({event.detection.value})"
        case NoteAdded():
            return f"note: {event.text}"
        case FindingRecorded():
            return f"finding ({event.finding.kind.value}): {event.finding.summary}"
        case ImpactAssessed():
            return "impact assessed: " + _describe_impact(event.impact)
        case ImpactUpdated():
            return (
                f"impact updated ({event.escalation}, was {event.previous_severity.value}): "
                f"{_describe_impact(event.impact)}; because {event.reason}"
            )
        case ChangesGathered():
            failed = [o.source for o in event.sources if not o.ok]
            sources = plural(len(event.sources), "source")
            text = f"changes gathered: {plural(len(event.changes), 'change')} from {sources}"
            return text + (f" ({', '.join(failed)} failed)" if failed else "")
        case RollbacksReviewed():
            return (
                f"rollbacks reviewed: {plural(len(event.options), 'option')}, "
                f"{plural(len(event.uncovered), 'change')} without one"
            )
        case RollbackExecuted():
            if event.succeeded:
                live = event.result.live_version if event.result else None
                return f"rolled back: {event.option.describe()}" + (
                    f"; live: {live}" if live else ""
                )
            return f"rollback failed: {event.option.describe()}: {event.error}"
        case MitigationApplied():
            return (
                f"mitigated ({event.kind.value}): {event.action}; "
                f"not a rollback because {event.why_not_rollback}"
            )
        case RecoveryChecked():
            outcome = event.verdict.outcome.value.replace("_", " ")
            return f"recovery checked: {outcome}: {plain_verdict(event.verdict).rstrip('.')}"
        case OverrideRecorded():
            return f"OVERRIDE {event.step} ({event.from_phase} -> {event.to_phase}): {event.reason}"
        case DiagnosisBegun():
            return "diagnosis begun"
        case HypothesisRecorded():
            return f"hypothesis {event.hypothesis_id}: {event.statement}"
        case HypothesisRejected():
            return f"hypothesis {event.hypothesis_id} rejected: {event.reason}"
        case ChecklistItemChecked():
            return (
                f"checked {event.item.value} against {', '.join(event.sources)}: {event.conclusion}"
            )
        case ChecklistItemWaived():
            return f"waived {event.item.value}: {event.reason}"
        case IncidentResolved():
            return f"resolved: {event.root_cause}"
        case RoleHandedOver():
            role = event.role.value.replace("_", " ")
            was = f" (from {event.previous})" if event.previous else ""
            note = f": {event.note}" if event.note else ""
            return f"{role} handed to {event.to}{was}{note}"
        case FollowUpAdded():
            notes = f" ({event.notes})" if event.notes else ""
            return f"follow-up {event.item_id} for {event.owner}: {event.action}{notes}"
        case ClockCorrected():
            return (
                f"CLOCK CORRECTED: time goes on from {when(event.at)}, before the last recorded "
                f"{when(event.latest_before)}: {event.reason}"
            )
        case _:
            assert_never(event)


def _describe_impact(impact: Impact) -> str:
    figures = ", ".join(
        f"{f.name} {f.value:.4g}{' ' + f.unit if f.unit else ''}{'' if f.measured else ' (stated)'}"
        for f in impact.figures
    )
    state = "ongoing" if impact.ongoing else "not ongoing"
    return f"{impact.severity.value}, {state}" + (f"; {figures}" if figures else "")


def build_timeline(state: IncidentState) -> list[TimelineEntry]:
    """Merge the gathered changes, the symptom window and the steps, in time order."""
    start = state.impact.symptom_start if state.impact is not None else None

    def offset(at: pendulum.DateTime) -> float | None:
        return None if start is None else (at - start).total_seconds()

    entries: list[TimelineEntry] = []
    for change in state.changes.values():
        what = f"{change.kind.value} {change.id} of {change.service}"
        if change.version:
            what += f" ({change.previous_version or '?'} -> {change.version})"
        if change.summary:
            what += f": {change.summary}"
        entries.append(
            TimelineEntry(
                change.started,
                "change",
                change.source,
                what,
                change.author,
                None,
                offset(change.started),
            )
        )
    if start is not None:
        onset = state.impact_event.onset if state.impact_event is not None else None
        began = (
            "symptom began (as assessed)"
            if onset is None or onset.at != start
            else f"symptom began: onset detected, {onset.shape}, confidence "
            f"{onset.confidence:.2f}, {onset.baseline_level:.4g} -> {onset.symptom_level:.4g}"
        )
        entries.append(TimelineEntry(start, "symptom", "monitoring", began, None, None, 0.0))
        for check in state.checks:
            since = check.verdict.healthy_since
            if check.verdict.outcome is RecoveryOutcome.RECOVERED and since is not None:
                entries.append(
                    TimelineEntry(
                        since,
                        "symptom",
                        "monitoring",
                        "symptom ended (back at baseline, held)",
                        None,
                        None,
                        offset(since),
                    )
                )
                break
    for seq, event in enumerate(state.events):
        entries.append(
            TimelineEntry(
                event.at,
                "step",
                "journal",
                describe_event(event),
                str(event.actor),
                seq,
                offset(event.at),
                event.TYPE,
            )
        )
    order = {"change": 0, "symptom": 1, "step": 2}
    entries.sort(key=lambda e: (e.at, order[e.kind], e.seq or 0))
    return entries
