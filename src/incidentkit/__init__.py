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

from typing import TYPE_CHECKING

from incidentkit._chain import MAX_RECORD_BYTES, EncodedRecord
from incidentkit._errors import (
    CheckpointWarning,
    ConcurrentAppendError,
    IncidentkitError,
    InvalidInputError,
    JournalCorruptedError,
    JournalError,
    JournalExistsError,
    JournalLockedError,
    MalformedResponseError,
    NaiveDatetimeError,
    ProtocolViolation,
    RateLimitedError,
    RollbackFailedError,
    SourceAuthError,
    SourceError,
    SourceRequestError,
    SourceTimeoutError,
    SourceUnavailableError,
    StalePhaseError,
    StepNotAvailable,
    StoreUnavailableError,
    TimeOrderError,
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
from incidentkit._limits import MAX_JOURNALED_POINTS
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
    PartialChanges,
    Role,
    RollbackOption,
    RollbackResult,
    Sample,
    Series,
    Severity,
)
from incidentkit._time import (
    ManualClock,
    SystemClock,
    format_instant,
    parse_instant,
    to_instant,
)

if TYPE_CHECKING:
    from incidentkit._recovery import RecoveryOutcome, RecoveryPolicy, RecoveryVerdict
    from incidentkit._report import (
        ChecklistLine,
        FollowUp,
        HypothesisLine,
        ImpactChange,
        Intervention,
        RecoveryCheck,
        Report,
        ReportFinding,
        Responder,
        TimeTo,
    )
    from incidentkit._specs import Counts, LatencyCounts, Measure, Metric, Threshold
    from incidentkit._team import (
        IncidentSummary,
        StoredEvent,
        copy_incident,
        list_incidents,
        verify_store,
        watch_incident,
    )
    from incidentkit._timeline import TimelineEntry

# These load on first use (`incidentkit.Report`, `from incidentkit import Report`):
# the report and timeline are needed at the end of an incident, the recovery check,
# the metric specs and the store functions only by the steps that take them, and
# importing them all eagerly was a fifth of what `import incidentkit` cost.
_LAZY = {
    "RecoveryOutcome": "incidentkit._recovery",
    "RecoveryPolicy": "incidentkit._recovery",
    "RecoveryVerdict": "incidentkit._recovery",
    "ChecklistLine": "incidentkit._report",
    "FollowUp": "incidentkit._report",
    "HypothesisLine": "incidentkit._report",
    "ImpactChange": "incidentkit._report",
    "Intervention": "incidentkit._report",
    "RecoveryCheck": "incidentkit._report",
    "Report": "incidentkit._report",
    "ReportFinding": "incidentkit._report",
    "Responder": "incidentkit._report",
    "TimeTo": "incidentkit._report",
    "Counts": "incidentkit._specs",
    "LatencyCounts": "incidentkit._specs",
    "Measure": "incidentkit._specs",
    "Metric": "incidentkit._specs",
    "Threshold": "incidentkit._specs",
    "IncidentSummary": "incidentkit._team",
    "StoredEvent": "incidentkit._team",
    "copy_incident": "incidentkit._team",
    "list_incidents": "incidentkit._team",
    "verify_store": "incidentkit._team",
    "watch_incident": "incidentkit._team",
    "TimelineEntry": "incidentkit._timeline",
}

__all__ = [
    "MAX_JOURNALED_POINTS",
    "MAX_RECORD_BYTES",
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
    "CheckpointWarning",
    "ConcurrentAppendError",
    "Counts",
    "Declared",
    "Detection",
    "Diagnosing",
    "EncodedRecord",
    "Evidence",
    "Figure",
    "Finding",
    "FindingKind",
    "FollowUp",
    "HypothesisLine",
    "Impact",
    "ImpactChange",
    "Incident",
    "IncidentSummary",
    "IncidentkitError",
    "Intervened",
    "Intervention",
    "InvalidInputError",
    "Journal",
    "JournalCorruptedError",
    "JournalError",
    "JournalExistsError",
    "JournalLockedError",
    "JournalProblem",
    "JournalRecord",
    "LatencyCounts",
    "MalformedResponseError",
    "ManualClock",
    "Measure",
    "Metric",
    "MetricQuery",
    "MitigationKind",
    "NaiveDatetimeError",
    "PartialChanges",
    "ProtocolViolation",
    "RateLimitedError",
    "Recovered",
    "RecoveryCheck",
    "RecoveryOutcome",
    "RecoveryPolicy",
    "RecoveryVerdict",
    "Report",
    "ReportFinding",
    "Resolved",
    "Responder",
    "Reviewed",
    "Role",
    "RollbackFailedError",
    "RollbackOption",
    "RollbackResult",
    "Sample",
    "Series",
    "Severity",
    "SourceAuthError",
    "SourceError",
    "SourceRequestError",
    "SourceTimeoutError",
    "SourceUnavailableError",
    "StalePhaseError",
    "StepNotAvailable",
    "StoreUnavailableError",
    "StoredEvent",
    "SystemClock",
    "Threshold",
    "TimeOrderError",
    "TimeTo",
    "TimelineEntry",
    "TornRecordError",
    "VerificationReport",
    "copy_incident",
    "format_instant",
    "list_incidents",
    "parse_instant",
    "repair_torn_tail",
    "to_instant",
    "verify_journal",
    "verify_store",
    "watch_incident",
]


def __getattr__(name: str) -> object:
    """Load the names of ``_LAZY`` on first use, and ``__version__`` from the metadata."""
    if name in _LAZY:
        from importlib import import_module  # noqa: PLC0415 - only when asked

        value: object = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name == "__version__":
        from importlib.metadata import version  # noqa: PLC0415 - only when asked

        return version("incidentkit")
    msg = f"module 'incidentkit' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    """List the public names, the ones not loaded yet included."""
    return sorted({*globals(), *__all__})
