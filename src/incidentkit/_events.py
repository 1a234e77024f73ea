"""The events of the forensic journal, and the converter that (de)serialises them.

Every step of an incident is one immutable event with an actor and a UTC
instant. The journal stores each event as a JSON object tagged with its
``type``; :func:`get_converter` turns events into such objects and back.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Final, TypeAlias

import attrs
import pendulum

from incidentkit._columns import from_pairs
from incidentkit._model import (
    Actor,
    Change,
    ChecklistItem,
    Detection,
    Evidence,
    Finding,
    Impact,
    MetricQuery,
    MitigationKind,
    Role,
    RollbackOption,
    RollbackResult,
    Series,
    Severity,
    columnar,
    columns,
)
from incidentkit._time import format_instant, parse_instant

if TYPE_CHECKING:
    # Imported when the converter is built: cattrs, the recovery check and the
    # analysis modules stay out of `import incidentkit` (see _make_converter).
    import cattrs

    from incidentkit._recovery import RecoveryVerdict  # noqa: TC004 - resolved lazily
    from incidentkit.analysis._impact import ImpactNumbers  # noqa: TC004 - resolved lazily
    from incidentkit.analysis._onset import Onset  # noqa: TC004 - resolved lazily

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
    "MitigationApplied",
    "NoteAdded",
    "OverrideRecorded",
    "RecoveryChecked",
    "RoleHandedOver",
    "RollbackExecuted",
    "RollbacksReviewed",
    "SourceOutcome",
    "get_converter",
]


@attrs.frozen
class IncidentDeclared:
    """The incident was opened.

    .. versionadded:: 0.1.0
    """

    TYPE: ClassVar[str] = "incident_declared"
    at: pendulum.DateTime
    actor: Actor
    incident_id: str
    title: str
    services: tuple[str, ...]
    detection: Detection
    detected_at: pendulum.DateTime
    summary: str = ""
    depends_on: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict[str, tuple[str, ...]])


@attrs.frozen
class NoteAdded:
    """Someone wrote down an observation.

    .. versionadded:: 0.1.0
    """

    TYPE: ClassVar[str] = "note_added"
    at: pendulum.DateTime
    actor: Actor
    text: str


@attrs.frozen
class FindingRecorded:
    """A finding for the post-mortem: a monitoring gap, an override, an observation.

    .. versionadded:: 0.1.0
    """

    TYPE: ClassVar[str] = "finding_recorded"
    at: pendulum.DateTime
    actor: Actor
    finding: Finding


@attrs.frozen
class Measurement:
    """One impact figure as measured: the series and how it was reduced.

    .. versionadded:: 0.1.0
    """

    name: str
    reduce: str
    value: float | None
    series: Series


@attrs.frozen
class ImpactAssessed:
    """The blast radius was assessed.

    .. versionadded:: 0.1.0
    """

    TYPE: ClassVar[str] = "impact_assessed"
    at: pendulum.DateTime
    actor: Actor
    impact: Impact
    measurements: tuple[Measurement, ...] = ()
    onset: Onset | None = None
    numbers: ImpactNumbers | None = None


@attrs.frozen
class SourceOutcome:
    """How one source answered during a gathering.

    ``partial`` holds what the source said it could not cover, when it
    answered with :class:`~incidentkit.PartialChanges`.

    .. versionadded:: 0.1.0
    """

    source: str
    item: ChecklistItem
    ok: bool
    changes: int = 0
    error: str = ""
    seconds: float | None = None
    partial: str = ""


@attrs.frozen
class ChangesGathered:
    """What changed in a window was gathered from the sources.

    .. versionadded:: 0.1.0
    """

    TYPE: ClassVar[str] = "changes_gathered"
    at: pendulum.DateTime
    actor: Actor
    window_start: pendulum.DateTime
    window_end: pendulum.DateTime
    changes: tuple[Change, ...]
    sources: tuple[SourceOutcome, ...]


@attrs.frozen
class RollbacksReviewed:
    """The rollback options for the changes in the window were reviewed.

    .. versionadded:: 0.1.0
    """

    TYPE: ClassVar[str] = "rollbacks_reviewed"
    at: pendulum.DateTime
    actor: Actor
    options: tuple[RollbackOption, ...]
    uncovered: tuple[str, ...]
    executors: tuple[str, ...]


@attrs.frozen
class RollbackExecuted:
    """A rollback was attempted: its rehearsal (if any) and its result.

    .. versionadded:: 0.1.0
    """

    TYPE: ClassVar[str] = "rollback_executed"
    at: pendulum.DateTime
    actor: Actor
    option: RollbackOption
    rehearsal: RollbackResult | None
    result: RollbackResult | None
    error: str = ""

    @property
    def succeeded(self) -> bool:
        """Whether the rollback itself ran and reported success."""
        return self.result is not None and self.result.succeeded and not self.result.dry_run


@attrs.frozen
class MitigationApplied:
    """An intervention other than a rollback, with the reason a rollback was not chosen.

    .. versionadded:: 0.1.0
    """

    TYPE: ClassVar[str] = "mitigation_applied"
    at: pendulum.DateTime
    actor: Actor
    action: str
    kind: MitigationKind
    why_not_rollback: str


@attrs.frozen
class RecoveryChecked:
    """Recovery was checked against monitoring.

    .. versionadded:: 0.1.0
    """

    TYPE: ClassVar[str] = "recovery_checked"
    at: pendulum.DateTime
    actor: Actor
    verdict: RecoveryVerdict
    since: pendulum.DateTime
    baseline_start: pendulum.DateTime
    baseline_end: pendulum.DateTime
    errors: Series | None = None
    traffic: Series | None = None


@attrs.frozen
class OverrideRecorded:
    """Someone deviated from the protocol on purpose, with a reason.

    .. versionadded:: 0.1.0
    """

    TYPE: ClassVar[str] = "override_recorded"
    at: pendulum.DateTime
    actor: Actor
    step: str
    from_phase: str
    to_phase: str
    reason: str


@attrs.frozen
class DiagnosisBegun:
    """Diagnosis began (after verified recovery, or by override).

    .. versionadded:: 0.1.0
    """

    TYPE: ClassVar[str] = "diagnosis_begun"
    at: pendulum.DateTime
    actor: Actor


@attrs.frozen
class HypothesisRecorded:
    """A hypothesis about the cause, tied to evidence.

    .. versionadded:: 0.1.0
    """

    TYPE: ClassVar[str] = "hypothesis_recorded"
    at: pendulum.DateTime
    actor: Actor
    hypothesis_id: str
    statement: str
    evidence: tuple[Evidence, ...]


@attrs.frozen
class HypothesisRejected:
    """A hypothesis was ruled out.

    .. versionadded:: 0.1.0
    """

    TYPE: ClassVar[str] = "hypothesis_rejected"
    at: pendulum.DateTime
    actor: Actor
    hypothesis_id: str
    reason: str


@attrs.frozen
class ChecklistItemChecked:
    """A usual suspect was checked against sources.

    .. versionadded:: 0.1.0
    """

    TYPE: ClassVar[str] = "checklist_item_checked"
    at: pendulum.DateTime
    actor: Actor
    item: ChecklistItem
    sources: tuple[str, ...]
    conclusion: str


@attrs.frozen
class ChecklistItemWaived:
    """A usual suspect was waived, with a reason.

    .. versionadded:: 0.1.0
    """

    TYPE: ClassVar[str] = "checklist_item_waived"
    at: pendulum.DateTime
    actor: Actor
    item: ChecklistItem
    reason: str


@attrs.frozen
class IncidentResolved:
    """The incident was resolved with a root cause and its evidence.

    .. versionadded:: 0.1.0
    """

    TYPE: ClassVar[str] = "incident_resolved"
    at: pendulum.DateTime
    actor: Actor
    root_cause: str
    evidence: tuple[Evidence, ...]


@attrs.frozen
class ImpactUpdated:
    """The impact was re-assessed: severity escalated or de-escalated, or other figures changed.

    ``impact`` is the whole impact as it stands after the update; the
    assessment's onset and burn rates stay with :class:`ImpactAssessed`.

    .. versionadded:: 0.2.0
    """

    TYPE: ClassVar[str] = "impact_updated"
    at: pendulum.DateTime
    actor: Actor
    impact: Impact
    reason: str
    previous_severity: Severity

    @property
    def escalation(self) -> str:
        """``escalated``, ``de-escalated`` or ``unchanged``: how the severity moved."""
        order = list(Severity)
        before, after = order.index(self.previous_severity), order.index(self.impact.severity)
        if after < before:
            return "escalated"
        if after > before:
            return "de-escalated"
        return "unchanged"


@attrs.frozen
class RoleHandedOver:
    """A role (the incident commander, say) was handed to a responder.

    ``previous`` is who held it before, if anyone did.

    .. versionadded:: 0.2.0
    """

    TYPE: ClassVar[str] = "role_handed_over"
    at: pendulum.DateTime
    actor: Actor
    role: Role
    to: str
    previous: str | None = None
    note: str = ""


@attrs.frozen
class FollowUpAdded:
    """A follow-up action item with an owner, possibly after resolution.

    .. versionadded:: 0.2.0
    """

    TYPE: ClassVar[str] = "follow_up_added"
    at: pendulum.DateTime
    actor: Actor
    item_id: str
    action: str
    owner: str
    notes: str = ""


@attrs.frozen
class ClockCorrected:
    """An explicit, audited correction: from here on, time is read from an earlier instant.

    The journal refuses an event stamped before the one it follows. When a
    clock was wrong (a responder's laptop an hour ahead, say), this event
    records who noticed, why, and the instant the journal had reached; later
    events are ordered after this one instead.

    .. versionadded:: 0.2.0
    """

    TYPE: ClassVar[str] = "clock_corrected"
    at: pendulum.DateTime
    actor: Actor
    reason: str
    latest_before: pendulum.DateTime


Event: TypeAlias = (
    IncidentDeclared
    | NoteAdded
    | FindingRecorded
    | ImpactAssessed
    | ChangesGathered
    | RollbacksReviewed
    | RollbackExecuted
    | MitigationApplied
    | RecoveryChecked
    | OverrideRecorded
    | DiagnosisBegun
    | HypothesisRecorded
    | HypothesisRejected
    | ChecklistItemChecked
    | ChecklistItemWaived
    | IncidentResolved
    | ImpactUpdated
    | RoleHandedOver
    | FollowUpAdded
    | ClockCorrected
)
"""Any event of the journal."""

EVENT_TYPES: Final[Mapping[str, type[Event]]] = {
    cls.TYPE: cls
    for cls in (
        IncidentDeclared,
        NoteAdded,
        FindingRecorded,
        ImpactAssessed,
        ChangesGathered,
        RollbacksReviewed,
        RollbackExecuted,
        MitigationApplied,
        RecoveryChecked,
        OverrideRecorded,
        DiagnosisBegun,
        HypothesisRecorded,
        HypothesisRejected,
        ChecklistItemChecked,
        ChecklistItemWaived,
        IncidentResolved,
        ImpactUpdated,
        RoleHandedOver,
        FollowUpAdded,
        ClockCorrected,
    )
}


def _register_read_hooks(conv: cattrs.Converter) -> None:
    """Register the structure hooks of instants and optional strings: a resume's hot path."""
    # Instants repeat (a change's start in every gathering that found it): each
    # text is parsed once while it stays in this small cache, and the instant, which
    # is immutable, shared. Cleared when full rather than evicting one by one.
    instants: dict[str, pendulum.DateTime] = {}

    def structure_instant(value: str, _: object) -> pendulum.DateTime:
        instant = instants.get(value)
        if instant is None:
            instant = parse_instant(value)
            if len(instants) >= 4096:  # noqa: PLR2004 - a bound, not a tuning knob
                instants.clear()
            instants[value] = instant
        return instant

    conv.register_structure_hook(pendulum.DateTime, structure_instant)

    # Optional fields are many (a change has six): cattrs's generic optional hook
    # looks the inner hook up on every call; these call it directly, same result.
    structure_str = conv.get_structure_hook(str)

    def structure_optional_str(value: object, _: object) -> str | None:
        return None if value is None else structure_str(value, str)

    def structure_optional_instant(value: str | None, _: object) -> pendulum.DateTime | None:
        return None if value is None else structure_instant(value, pendulum.DateTime)

    conv.register_structure_hook(str | None, structure_optional_str)
    conv.register_structure_hook(pendulum.DateTime | None, structure_optional_instant)


def _make_converter() -> cattrs.Converter:
    import cattrs  # noqa: PLC0415 - see TYPE_CHECKING

    from incidentkit._recovery import RecoveryVerdict  # noqa: PLC0415
    from incidentkit.analysis._impact import ImpactNumbers  # noqa: PLC0415
    from incidentkit.analysis._onset import Onset  # noqa: PLC0415

    attrs.resolve_types(ImpactAssessed, localns={"Onset": Onset, "ImpactNumbers": ImpactNumbers})
    attrs.resolve_types(RecoveryChecked, localns={"RecoveryVerdict": RecoveryVerdict})
    conv = cattrs.Converter(forbid_extra_keys=True)
    conv.register_unstructure_hook(pendulum.DateTime, format_instant)
    _register_read_hooks(conv)

    # A series is stored compactly: [[unix seconds, value or null], ...].
    def unstructure_series(series: Series) -> dict[str, Any]:
        times, values = columns(series)
        body = {
            "query": conv.unstructure(series.query),
            "samples": [
                [at, None if value != value else value]  # noqa: PLR0124 - NaN is the gap
                for at, value in zip(times, values, strict=True)
            ],
            "non_finite": series.non_finite,
        }
        if series.warnings:  # stored only when there are some, as most series have none
            body["warnings"] = list(series.warnings)
        return body

    def structure_series(value: Mapping[str, Any], _: object) -> Series:
        query = conv.structure(value["query"], MetricQuery)
        times, values, _non_finite = from_pairs(value["samples"])
        warnings = tuple(str(w) for w in value.get("warnings", ()))
        return columnar(Series, query, (times, values, int(value.get("non_finite", 0))), warnings)

    # Actors repeat in every event; resuming a long journal builds each one once.
    actors: dict[tuple[str, str | None], Actor] = {}
    structure_actor_fields = conv.get_structure_hook(Actor)

    def structure_actor(value: Mapping[str, Any], _: object) -> Actor:
        key = (value.get("name"), value.get("role"))
        actor = actors.get(key)  # type: ignore[arg-type]
        if actor is None:
            actor = structure_actor_fields(value, Actor)
            if len(actors) < 1024:  # noqa: PLR2004 - a bound, not a tuning knob
                actors[key] = actor  # type: ignore[index]
        return actor

    conv.register_structure_hook(Actor, structure_actor)
    conv.register_unstructure_hook(Series, unstructure_series)
    conv.register_structure_hook(Series, structure_series)
    return conv


@functools.cache
def get_converter() -> cattrs.Converter:
    """Return the cattrs converter for every journal event and value class.

    Built on first use rather than at import: generating its hooks is the
    largest part of what importing incidentkit would otherwise cost.
    """
    return _make_converter()


_UNSTRUCTURE_HOOKS: dict[type[Event], Callable[[Any], dict[str, Any]]] = {}
"""Each event class's generated unstructure hook, kept when first used."""


def unstructure_event(event: Event) -> dict[str, Any]:
    """Return the JSON object the journal stores for ``event``, tagged with its ``type``.

    Calls the event class's generated hook directly (every append passes here),
    not through the converter's dispatch; a class's hook is generated when its
    first event is written, so a script pays only for the events it writes.
    """
    cls = type(event)
    hook = _UNSTRUCTURE_HOOKS.get(cls)
    if hook is None:
        hook = _UNSTRUCTURE_HOOKS[cls] = get_converter().get_unstructure_hook(cls)
    body: dict[str, Any] = hook(event)
    body["type"] = event.TYPE
    return body


@functools.cache
def _structure_hooks() -> dict[str, tuple[type[Event], Callable[[Any, Any], Event]]]:
    conv = get_converter()
    return {tag: (cls, conv.get_structure_hook(cls)) for tag, cls in EVENT_TYPES.items()}


def structure_event(body: Mapping[str, Any]) -> Event:
    """Rebuild an event from the JSON object the journal stored.

    Dispatches on the ``type`` tag straight to the event class's generated
    hook, which is what keeps resuming a long journal fast.

    Raises:
        ValueError: The tag names no event type.
        cattrs.BaseValidationError: The fields do not fit the event type.
    """
    return structure_owned(dict(body))


def structure_owned(fields: dict[str, Any]) -> Event:
    """Rebuild an event from a JSON object nobody else holds (its ``type`` is taken out).

    Raises:
        ValueError: The tag names no event type.
        cattrs.BaseValidationError: The fields do not fit the event type.
    """
    tag = fields.pop("type", None)
    try:
        cls, hook = _structure_hooks()[tag]
    except (KeyError, TypeError):
        msg = f"unknown event type {tag!r}"
        raise ValueError(msg) from None
    event: Event = hook(fields, cls)
    return event
