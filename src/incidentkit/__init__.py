"""Work a live production incident with discipline.

incidentkit enforces the order of an incident: impact before cause, rollback
options before intervention, a timeline from the deploy history and the
symptom window, recovery verified in monitoring, and a tamper-evident journal
of every step. Start with :meth:`Incident.declare`.

The extension points (deploy, change, dependency and metric sources, rollback
executors) are in :mod:`incidentkit.protocols`; in-memory implementations in
:mod:`incidentkit.memory`; the journal's event types in :mod:`incidentkit.events`.
"""

from __future__ import annotations

from incidentkit._errors import (
    ConcurrentAppendError,
    IncidentkitError,
    InvalidInputError,
    JournalCorruptedError,
    JournalError,
    JournalLockedError,
    MalformedResponseError,
    NaiveDatetimeError,
    ProtocolViolation,
    RollbackFailedError,
    SourceError,
    SourceUnavailableError,
    StalePhaseError,
    StepNotAvailable,
    TornRecordError,
)
from incidentkit._incident import (
    AnyPhase,
    Assessed,
    Declared,
    Diagnosing,
    Incident,
    Intervened,
    Recovered,
    Resolved,
    Reviewed,
)
from incidentkit._journal import (
    Anchor,
    Journal,
    JournalProblem,
    JournalRecord,
    VerificationReport,
    repair_torn_tail,
    verify_journal,
)
from incidentkit._model import (
    Actor,
    Caveat,
    CaveatKind,
    Change,
    ChangeKind,
    ChecklistItem,
    Detection,
    Evidence,
    Figure,
    Finding,
    FindingKind,
    Impact,
    MetricQuery,
    MitigationKind,
    Role,
    RollbackOption,
    RollbackResult,
    Sample,
    Series,
    Severity,
)
from incidentkit._recovery import RecoveryOutcome, RecoveryPolicy, RecoveryVerdict
from incidentkit._report import (
    ChecklistLine,
    HypothesisLine,
    Intervention,
    RecoveryCheck,
    Report,
    ReportFinding,
    TimeTo,
)
from incidentkit._specs import Measure, Metric
from incidentkit._time import ManualClock, SystemClock
from incidentkit._timeline import TimelineEntry

__all__ = [
    "Actor",
    "Anchor",
    "AnyPhase",
    "Assessed",
    "Caveat",
    "CaveatKind",
    "Change",
    "ChangeKind",
    "ChecklistItem",
    "ChecklistLine",
    "ConcurrentAppendError",
    "Declared",
    "Detection",
    "Diagnosing",
    "Evidence",
    "Figure",
    "Finding",
    "FindingKind",
    "HypothesisLine",
    "Impact",
    "Incident",
    "IncidentkitError",
    "Intervened",
    "Intervention",
    "InvalidInputError",
    "Journal",
    "JournalCorruptedError",
    "JournalError",
    "JournalLockedError",
    "JournalProblem",
    "JournalRecord",
    "MalformedResponseError",
    "ManualClock",
    "Measure",
    "Metric",
    "MetricQuery",
    "MitigationKind",
    "NaiveDatetimeError",
    "ProtocolViolation",
    "Recovered",
    "RecoveryCheck",
    "RecoveryOutcome",
    "RecoveryPolicy",
    "RecoveryVerdict",
    "Report",
    "ReportFinding",
    "Resolved",
    "Reviewed",
    "Role",
    "RollbackFailedError",
    "RollbackOption",
    "RollbackResult",
    "Sample",
    "Series",
    "Severity",
    "SourceError",
    "SourceUnavailableError",
    "StalePhaseError",
    "StepNotAvailable",
    "SystemClock",
    "TimeTo",
    "TimelineEntry",
    "TornRecordError",
    "VerificationReport",
    "repair_torn_tail",
    "verify_journal",
]


def __getattr__(name: str) -> str:
    """Return ``__version__`` lazily from the installed distribution's metadata."""
    if name == "__version__":
        from importlib.metadata import version  # noqa: PLC0415 - only when asked

        return version("incidentkit")
    msg = f"module 'incidentkit' has no attribute {name!r}"
    raise AttributeError(msg)
