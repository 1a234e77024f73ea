"""The incident's state, folded from its events.

The same fold runs live (each step validates its event, appends it to the
journal, then applies it) and on :func:`Incident.resume`, so a resumed incident
is in exactly the phase the live one was in. The protocol's order itself is the
rule table in :mod:`incidentkit._rules`; this module applies it.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING

import pendulum

from incidentkit._errors import ProtocolViolation, TimeOrderError
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
from incidentkit._model import Change, ChecklistItem, Impact, Role, RollbackOption
from incidentkit._rules import (
    NEXT_STEP,
    OVERRIDE_TARGETS,
    PHASES,
    STEP_OF_EVENT,
    STEP_REQUIREMENTS,
    Phase,
    require,
    requirement,
)

if sys.version_info >= (3, 11):  # typing_extensions stays out of `import incidentkit`
    from typing import assert_never
else:  # pragma: no cover - Python 3.10
    from typing_extensions import assert_never

if TYPE_CHECKING:
    from collections.abc import Callable

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


_NEVER_REFUSED: frozenset[type[Event]] = frozenset({NoteAdded, FindingRecorded, ChangesGathered})
"""Event types :meth:`IncidentState._refusal` never refuses (its match says so too)."""


class IncidentState:
    """Everything the phases need to know, folded from the events in order."""

    def __init__(self, declared: IncidentDeclared) -> None:
        """Start the fold from the declaration."""
        self.declared = declared
        self.phase: Phase = "declared"
        self._events: list[Event] = [declared]
        self.count = 1  # the events folded, seq 0 to count - 1
        self.latest_at: pendulum.DateTime = declared.at
        self.impact: Impact | None = None
        self.impact_event: ImpactAssessed | None = None
        self.impact_updates: list[tuple[int, ImpactUpdated]] = []
        self.changes: dict[tuple[str, str], Change] = {}
        self.consulted: dict[ChecklistItem, list[str]] = {item: [] for item in ChecklistItem}
        self.review: RollbacksReviewed | None = None
        self.interventions: list[RollbackExecuted | MitigationApplied] = []
        self.checks: list[RecoveryChecked] = []
        self.overrides: list[OverrideRecorded] = []
        self.hypotheses: dict[str, HypothesisRecorded] = {}
        self.rejected: dict[str, HypothesisRejected] = {}
        self.checklist: dict[ChecklistItem, ChecklistItemChecked | ChecklistItemWaived] = {}
        self._findings: list[tuple[int, FindingRecorded]] = []
        self.roles: dict[Role, str] = {}
        self.handovers: list[tuple[int, RoleHandedOver]] = []
        self.follow_ups: list[tuple[int, FollowUpAdded]] = []
        self.clock_corrections: list[tuple[int, ClockCorrected]] = []
        self.resolution: IncidentResolved | None = None
        self.lookback: float | None = None  # the widest gathered, else the ranking's default
        # Set when the state was restored from a checkpoint (see _checkpoint): the
        # events before it are read, and checked against it, when first asked for.
        self.pending: Callable[[IncidentState], None] | None = None
        self._pending_lock = threading.Lock()

    @property
    def events(self) -> list[Event]:
        """Every event folded, in order (after a checkpoint: read when first asked for)."""
        if self.pending is not None:
            self.load_pending()
        return self._events

    @property
    def findings(self) -> list[tuple[int, FindingRecorded]]:
        """Every finding recorded, with its seq (as :attr:`events`)."""
        if self.pending is not None:
            self.load_pending()
        return self._findings

    def load_pending(self) -> None:
        """Read the events before the checkpoint this state was restored from, if not yet read.

        Raises:
            JournalCorruptedError: They do not fold into the state the checkpoint
                described (see :mod:`incidentkit._checkpoint`).
        """
        with self._pending_lock:  # one thread folds; the others wait for its result
            pending = self.pending
            if pending is None:
                return
            pending(self)  # on failure it stays pending: the next read tries again
            self.pending = None

    def start_after(self, count: int, latest_at: pendulum.DateTime) -> None:
        """Hold no event yet, as a state restored from a checkpoint at seq ``count - 1``."""
        self._events = []
        self._findings = []
        self.count = count
        self.latest_at = latest_at

    def take_history(self, prefix: IncidentState) -> None:
        """Put the events and findings of ``prefix`` (a full fold) before this state's own."""
        self._events[:0] = prefix._events
        self._findings[:0] = prefix._findings

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
        """Raise :class:`ProtocolViolation` if ``event`` may not happen now.

        Besides the rule table's order: time never runs backwards (only a
        :class:`ClockCorrected` event may carry an earlier instant), recovery
        is verified only after an intervention when the impact is ongoing,
        resolution needs every checklist item, and a rejected hypothesis must
        exist.
        """
        if isinstance(event, IncidentDeclared):
            raise ProtocolViolation(self.phase, "declare", "an incident is declared only once")
        step = self._step_of(event)
        if event.at < self.latest_at and not isinstance(event, ClockCorrected):
            raise TimeOrderError(self.phase, step, event.at, self.latest_at)
        require(self.phase, step)
        why = self._refusal(event)
        if why is not None:
            raise ProtocolViolation(self.phase, step, why)

    def _refusal(self, event: Event) -> str | None:  # noqa: PLR0911 - one arm per event type
        """Why ``event`` may not happen now beyond the rule table's order, or ``None``."""
        if type(event) in _NEVER_REFUSED:  # most events: one look-up, not a walk down the match
            return None
        match event:
            case IncidentDeclared():
                return "an incident is declared only once"
            case OverrideRecorded():
                target = OVERRIDE_TARGETS.get(event.step)
                if event.from_phase != self.phase or target != event.to_phase:
                    return (
                        f"an override {event.step!r} goes from the current phase to "
                        f"{target!r}, not {event.from_phase!r} to {event.to_phase!r}"
                    )
                return None
            case RecoveryChecked():
                return self.verification_blocker()
            case IncidentResolved():
                missing = ", ".join(item.value for item in self.open_checklist_items())
                return (
                    f"check or waive every usual suspect first; still open: {missing}"
                    if missing
                    else None
                )
            case HypothesisRejected():
                if event.hypothesis_id not in self.hypotheses:
                    return f"there is no hypothesis {event.hypothesis_id!r} to reject"
                return None
            case (
                NoteAdded()
                | FindingRecorded()
                | ImpactAssessed()
                | ImpactUpdated()
                | ChangesGathered()
                | RollbacksReviewed()
                | RollbackExecuted()
                | MitigationApplied()
                | DiagnosisBegun()
                | HypothesisRecorded()
                | ChecklistItemChecked()
                | ChecklistItemWaived()
                | RoleHandedOver()
                | FollowUpAdded()
                | ClockCorrected()
            ):
                return None
            case _:
                assert_never(event)

    @staticmethod
    def _step_of(event: Event) -> str:
        """Return the step that records ``event`` (an override names its own)."""
        if isinstance(event, IncidentDeclared):
            return "declare"
        if isinstance(event, OverrideRecorded):
            return event.step
        return STEP_OF_EVENT[event.TYPE]

    def apply(self, seq: int, event: Event) -> None:  # noqa: C901, PLR0912, PLR0915 - one arm per event type
        """Fold a validated event into the state."""
        self._events.append(event)
        self.count += 1
        self.latest_at = event.at
        match event:
            case IncidentDeclared() | NoteAdded():
                pass
            case HypothesisRecorded():
                self.hypotheses[event.hypothesis_id] = event
            case HypothesisRejected():
                self.rejected[event.hypothesis_id] = event
            case FindingRecorded():
                self._findings.append((seq, event))
            case ImpactAssessed():
                self.impact = event.impact
                self.impact_event = event
                self.phase = "assessed"
            case ImpactUpdated():
                self.impact = event.impact
                self.impact_updates.append((seq, event))
            case ChangesGathered():
                self._fold_gathered(event)
            case RollbacksReviewed():
                self.review = event
                self.phase = "reviewed"
            case RollbackExecuted():
                self.interventions.append(event)
                if event.succeeded:
                    self.phase = "intervened"
            case MitigationApplied():
                self.interventions.append(event)
                self.phase = "intervened"
            case RecoveryChecked():
                # Loaded with the verdict the event holds, not with `import incidentkit`.
                from incidentkit._recovery import RecoveryOutcome  # noqa: PLC0415

                self.checks.append(event)
                if event.verdict.outcome is RecoveryOutcome.RECOVERED:
                    self.phase = "recovered"
            case OverrideRecorded():
                self.overrides.append(event)
                self.phase = OVERRIDE_TARGETS[event.step]
            case DiagnosisBegun():
                self.phase = "diagnosing"
            case ChecklistItemChecked() | ChecklistItemWaived():
                self.checklist[event.item] = event
            case IncidentResolved():
                self.resolution = event
                self.phase = "resolved"
            case RoleHandedOver():
                self.roles[event.role] = event.to
                self.handovers.append((seq, event))
            case FollowUpAdded():
                self.follow_ups.append((seq, event))
            case ClockCorrected():
                self.clock_corrections.append((seq, event))
            case _:
                assert_never(event)

    def _fold_gathered(self, event: ChangesGathered) -> None:
        """Keep the gathered changes, the widest lookback and the sources that answered."""
        reach = (self.symptom_start - event.window_start).total_seconds()
        self.lookback = reach if self.lookback is None else max(self.lookback, reach)
        for change in event.changes:
            self.changes[change.source, change.id] = change
        for outcome in event.sources:
            if outcome.ok and outcome.source not in self.consulted[outcome.item]:
                self.consulted[outcome.item].append(outcome.source)

    def rollback_options(self) -> tuple[RollbackOption, ...]:
        """The options of the latest rollback review."""
        return () if self.review is None else self.review.options
