"""The incident's state, folded from its events, and the protocol's rule table.

The same fold runs live (each step validates its event, appends it to the
journal, then applies it) and on :func:`Incident.resume`, so a resumed incident
is in exactly the phase the live one was in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

import pendulum

from incidentkit._errors import ProtocolViolation
from incidentkit._events import (
    ChangesGathered,
    ChecklistItemChecked,
    ChecklistItemWaived,
    DiagnosisBegun,
    Event,
    FindingRecorded,
    HypothesisRecorded,
    HypothesisRejected,
    ImpactAssessed,
    IncidentDeclared,
    IncidentResolved,
    MitigationApplied,
    NoteAdded,
    OverrideRecorded,
    RecoveryChecked,
    RollbackExecuted,
    RollbacksReviewed,
)
from incidentkit._model import Change, ChecklistItem, Impact, RollbackOption
from incidentkit._recovery import RecoveryOutcome

if TYPE_CHECKING:
    from incidentkit.analysis._suspects import SuspectRanking

__all__ = [
    "NEXT_STEP",
    "OVERRIDE_TARGETS",
    "PHASES",
    "STEP_REQUIREMENTS",
    "IncidentState",
    "require",
    "requirement",
]

PHASES: Final = (
    "declared",
    "assessed",
    "reviewed",
    "intervened",
    "recovered",
    "diagnosing",
    "resolved",
)
"""The phases in protocol order."""

_AFTER_IMPACT: Final = frozenset({"assessed", "reviewed", "intervened", "recovered", "diagnosing"})
_OPEN: Final = frozenset(PHASES) - {"resolved"}

# For each step: the phases it is allowed in, and what must come first otherwise.
STEP_REQUIREMENTS: Final[Mapping[str, tuple[frozenset[str], str]]] = {
    "note": (_OPEN, "the incident is resolved; its record is closed"),
    "finding": (_OPEN, "the incident is resolved; its record is closed"),
    "assess_impact": (
        frozenset({"declared"}),
        "impact is assessed once, right after the declaration",
    ),
    "gather_changes": (
        _AFTER_IMPACT,
        "assess the impact first (assess_impact): impact before cause",
    ),
    "review_rollbacks": (
        frozenset({"assessed", "reviewed", "intervened"}),
        "assess the impact first (assess_impact); rollbacks are reviewed before recovery",
    ),
    "skip_rollback_review": (
        frozenset({"assessed"}),
        "skipping the rollback review is an override of the assessed phase",
    ),
    "roll_back": (
        frozenset({"reviewed", "intervened"}),
        "review the rollback options first (review_rollbacks)",
    ),
    "mitigate": (
        frozenset({"reviewed", "intervened"}),
        "review the rollback options first (review_rollbacks)",
    ),
    "verify_recovery": (
        frozenset({"assessed", "reviewed", "intervened"}),
        "assess the impact and intervene first (roll_back or mitigate)",
    ),
    "diagnose_without_recovery": (
        frozenset({"declared", "assessed", "reviewed", "intervened"}),
        "this override is for an incident that has not recovered",
    ),
    "begin_diagnosis": (
        frozenset({"recovered"}),
        (
            "verify recovery in monitoring first (verify_recovery), "
            "or override with diagnose_without_recovery(actor=..., reason=...)"
        ),
    ),
    "hypothesis": (
        frozenset({"diagnosing"}),
        "stabilise first: hypotheses belong to diagnosis (begin_diagnosis after recovery)",
    ),
    "reject_hypothesis": (frozenset({"diagnosing"}), "hypotheses belong to diagnosis"),
    "check": (frozenset({"diagnosing"}), "the usual-suspects checklist belongs to diagnosis"),
    "waive": (frozenset({"diagnosing"}), "the usual-suspects checklist belongs to diagnosis"),
    "resolve": (
        frozenset({"diagnosing"}),
        "diagnose first (begin_diagnosis), and check or waive every checklist item",
    ),
    "report": (frozenset({"resolved"}), "resolve the incident first"),
}

OVERRIDE_TARGETS: Final[Mapping[str, str]] = {
    "skip_rollback_review": "reviewed",
    "diagnose_without_recovery": "diagnosing",
}
"""Each override step and the phase it leads to."""

_STEP_OF_EVENT: Final[Mapping[type[Event], str]] = {
    NoteAdded: "note",
    FindingRecorded: "finding",
    ImpactAssessed: "assess_impact",
    ChangesGathered: "gather_changes",
    RollbacksReviewed: "review_rollbacks",
    RollbackExecuted: "roll_back",
    MitigationApplied: "mitigate",
    RecoveryChecked: "verify_recovery",
    DiagnosisBegun: "begin_diagnosis",
    HypothesisRecorded: "hypothesis",
    HypothesisRejected: "reject_hypothesis",
    ChecklistItemChecked: "check",
    ChecklistItemWaived: "waive",
    IncidentResolved: "resolve",
}


NEXT_STEP: Final[Mapping[str, str]] = {
    "declared": "assess_impact",
    "assessed": "gather_changes, then review_rollbacks",
    "reviewed": "roll_back or mitigate",
    "intervened": "verify_recovery",
    "recovered": "begin_diagnosis",
    "diagnosing": "check or waive each checklist item, then resolve",
    "resolved": "report",
}
"""What the protocol expects next in each phase, for error messages."""


def requirement(phase: str, step: str) -> str:
    """Return what must come first before ``step`` can be taken in ``phase``."""
    _allowed, why = STEP_REQUIREMENTS[step]
    return f"{why}; next in {phase!r}: {NEXT_STEP[phase]}"


def require(phase: str, step: str) -> None:
    """Raise :class:`ProtocolViolation` unless ``step`` is allowed in ``phase``."""
    allowed, _why = STEP_REQUIREMENTS[step]
    if phase not in allowed:
        raise ProtocolViolation(phase, step, requirement(phase, step))


class IncidentState:
    """Everything the phases need to know, folded from the events in order."""

    def __init__(self, declared: IncidentDeclared) -> None:
        """Start the fold from the declaration."""
        self.declared = declared
        self.phase = "declared"
        self.events: list[Event] = [declared]
        self.impact: Impact | None = None
        self.impact_event: ImpactAssessed | None = None
        self.changes: dict[tuple[str, str], Change] = {}
        self.consulted: dict[ChecklistItem, list[str]] = {item: [] for item in ChecklistItem}
        self.review: RollbacksReviewed | None = None
        self.interventions: list[RollbackExecuted | MitigationApplied] = []
        self.checks: list[RecoveryChecked] = []
        self.overrides: list[OverrideRecorded] = []
        self.hypotheses: dict[str, HypothesisRecorded] = {}
        self.rejected: dict[str, HypothesisRejected] = {}
        self.checklist: dict[ChecklistItem, ChecklistItemChecked | ChecklistItemWaived] = {}
        self.findings: list[tuple[int, FindingRecorded]] = []
        self.resolution: IncidentResolved | None = None
        self.lookback: float | None = None  # the widest gathered, else the ranking's default

    @property
    def symptom_start(self) -> pendulum.DateTime:
        """When the symptom began: as assessed, or when it was detected if never assessed.

        An incident diagnosed by override straight from its declaration has no
        impact assessment; its detection is the best anchor there is.
        """
        return self.impact.symptom_start if self.impact is not None else self.declared.detected_at

    @property
    def affected_services(self) -> tuple[str, ...]:
        """The services assessed as affected, or the declared ones."""
        if self.impact is not None and self.impact.services:
            return self.impact.services
        return self.declared.services

    def ranking(self) -> SuspectRanking:
        """Rank the gathered changes against the symptom start (see :func:`rank_suspects`)."""
        from incidentkit.analysis._suspects import rank_suspects  # noqa: PLC0415 - on first use

        if self.lookback is None:
            return rank_suspects(
                self.changes.values(),
                self.symptom_start,
                services=self.affected_services,
                depends_on=self.declared.depends_on,
            )
        return rank_suspects(
            self.changes.values(),
            self.symptom_start,
            services=self.affected_services,
            depends_on=self.declared.depends_on,
            lookback=self.lookback,
        )

    def verification_blocker(self) -> str | None:
        """Why recovery may not be verified yet, or ``None`` if it may."""
        if self.impact is not None and self.impact.ongoing and self.intervention_at is None:
            return (
                "the impact was ongoing at assessment and nothing has been done about it: "
                "intervene first (review_rollbacks, then roll_back or mitigate)"
            )
        return None

    @property
    def intervention_at(self) -> pendulum.DateTime | None:
        """The instant of the latest successful intervention, if any."""
        for event in reversed(self.interventions):
            if isinstance(event, MitigationApplied) or event.succeeded:
                return event.at
        return None

    def open_checklist_items(self) -> list[ChecklistItem]:
        """Return the usual suspects neither checked nor waived yet."""
        return [item for item in ChecklistItem if item not in self.checklist]

    def validate(self, event: Event) -> None:
        """Raise :class:`ProtocolViolation` if ``event`` may not happen now."""
        if isinstance(event, IncidentDeclared):
            raise ProtocolViolation(self.phase, "declare", "an incident is declared only once")
        if isinstance(event, OverrideRecorded):
            require(self.phase, event.step)
            if event.from_phase != self.phase or OVERRIDE_TARGETS.get(event.step) != event.to_phase:
                raise ProtocolViolation(
                    self.phase,
                    event.step,
                    f"an override {event.step!r} goes from the current phase to "
                    f"{OVERRIDE_TARGETS.get(event.step)!r}, not {event.from_phase!r} to "
                    f"{event.to_phase!r}",
                )
            return
        step = _STEP_OF_EVENT[type(event)]
        require(self.phase, step)
        if isinstance(event, RecoveryChecked):
            blocker = self.verification_blocker()
            if blocker is not None:
                raise ProtocolViolation(self.phase, step, blocker)
        elif isinstance(event, IncidentResolved):
            missing = self.open_checklist_items()
            if missing:
                names = ", ".join(item.value for item in missing)
                raise ProtocolViolation(
                    self.phase,
                    step,
                    f"check or waive every usual suspect first; still open: {names}",
                )
        elif isinstance(event, HypothesisRejected) and event.hypothesis_id not in self.hypotheses:
            raise ProtocolViolation(
                self.phase, step, f"there is no hypothesis {event.hypothesis_id!r} to reject"
            )

    def apply(self, seq: int, event: Event) -> None:  # noqa: C901, PLR0912 - a flat dispatch
        """Fold a validated event into the state."""
        self.events.append(event)
        if isinstance(event, FindingRecorded):
            self.findings.append((seq, event))
        elif isinstance(event, ImpactAssessed):
            self.impact = event.impact
            self.impact_event = event
            self.phase = "assessed"
        elif isinstance(event, ChangesGathered):
            reach = (self.symptom_start - event.window_start).total_seconds()
            self.lookback = reach if self.lookback is None else max(self.lookback, reach)
            for change in event.changes:
                self.changes[change.source, change.id] = change
            for outcome in event.sources:
                if outcome.ok and outcome.source not in self.consulted[outcome.item]:
                    self.consulted[outcome.item].append(outcome.source)
        elif isinstance(event, RollbacksReviewed):
            self.review = event
            self.phase = "reviewed"
        elif isinstance(event, RollbackExecuted):
            self.interventions.append(event)
            if event.succeeded:
                self.phase = "intervened"
        elif isinstance(event, MitigationApplied):
            self.interventions.append(event)
            self.phase = "intervened"
        elif isinstance(event, RecoveryChecked):
            self.checks.append(event)
            if event.verdict.outcome is RecoveryOutcome.RECOVERED:
                self.phase = "recovered"
        elif isinstance(event, OverrideRecorded):
            self.overrides.append(event)
            self.phase = event.to_phase
        elif isinstance(event, DiagnosisBegun):
            self.phase = "diagnosing"
        elif isinstance(event, HypothesisRecorded):
            self.hypotheses[event.hypothesis_id] = event
        elif isinstance(event, HypothesisRejected):
            self.rejected[event.hypothesis_id] = event
        elif isinstance(event, (ChecklistItemChecked, ChecklistItemWaived)):
            self.checklist[event.item] = event
        elif isinstance(event, IncidentResolved):
            self.resolution = event
            self.phase = "resolved"

    def rollback_options(self) -> tuple[RollbackOption, ...]:
        """The options of the latest rollback review."""
        return () if self.review is None else self.review.options
