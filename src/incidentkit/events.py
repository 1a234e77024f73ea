"""The journal's event types, for reading an incident's record.

Every step of an incident is one of these frozen attrs classes, with an
``actor`` and a UTC instant ``at``. :attr:`incidentkit.Declared.events` (on
any phase) returns them in journal order.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

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
    Measurement,
    MitigationApplied,
    NoteAdded,
    OverrideRecorded,
    RecoveryChecked,
    RoleHandedOver,
    RollbackExecuted,
    RollbacksReviewed,
    SourceOutcome,
)

__all__ = [
    "ChangesGathered",
    "ChecklistItemChecked",
    "ChecklistItemWaived",
    "ClockCorrected",
    "DiagnosisBegun",
    "Event",
    "FindingRecorded",
    "FollowUpAdded",
    "HypothesisRecorded",
    "HypothesisRejected",
    "ImpactAssessed",
    "ImpactUpdated",
    "IncidentDeclared",
    "IncidentResolved",
    "Measurement",
    "MitigationApplied",
    "NoteAdded",
    "OverrideRecorded",
    "RecoveryChecked",
    "RoleHandedOver",
    "RollbackExecuted",
    "RollbacksReviewed",
    "SourceOutcome",
]
