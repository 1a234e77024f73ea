"""The protocol's rule table: every step, where it is allowed, where it leads, why it is refused.

This table is the single source of the protocol's order. The runtime refusal
(:func:`require`), the "what comes next" hints (:data:`NEXT_STEP`), the
override targets, the mapping from journal events to steps and the table of
steps per phase in ``docs/protocol.md`` (:func:`render_docs_table`) are all
derived from it. The phase classes in ``_incident.py`` are checked against it
when that module is imported, so a step allowed here but missing there (or the
reverse) fails at once.

Adding a step is a change here, one event class in ``_events.py``, one step
module in ``_steps/`` and one thin wrapper on the phase classes that allow it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal, TypeAlias, get_args

import attrs

from incidentkit._errors import ProtocolViolation

__all__ = [
    "NEXT_STEP",
    "OVERRIDE_TARGETS",
    "PHASES",
    "STEPS",
    "STEP_OF_EVENT",
    "STEP_REQUIREMENTS",
    "Phase",
    "Step",
    "render_docs_table",
    "require",
    "requirement",
    "rule",
]

Phase: TypeAlias = Literal[
    "declared", "assessed", "reviewed", "intervened", "recovered", "diagnosing", "resolved"
]
"""The name of a phase of the protocol."""

PHASES: Final[tuple[Phase, ...]] = get_args(Phase)
"""The phases in protocol order."""


@attrs.frozen
class Step:
    """One step of the protocol, as the rule table holds it.

    Attributes:
        name: The step's method name on the phase classes.
        allowed: The phases the step exists in.
        refusal: Why it is refused in the other phases (what must come first).
        leads_to: The phase it moves the incident to, or ``None`` if it stays.
        condition: When ``leads_to`` holds only on some outcome, which one
            (``"if it succeeded"``); shown in the docs' table.
        event: The type tag of the journal event the step records
            (``"note_added"``), or ``None`` for a read. A tag, not the event
            class, so that the table loads without the events (a test checks
            that each tag names an event type).
        override: Whether the step is an audited deviation from the order
            (recorded as :class:`~incidentkit.events.OverrideRecorded`).
        refusals: A refusal worded for one phase, where the general one
            would mislead (``resolve`` on a resolved incident).
        expected_in: The phases in which this step is what the protocol
            expects next (for the "next:" hint of every refusal).
    """

    name: str
    allowed: frozenset[Phase]
    refusal: str
    leads_to: Phase | None = None
    condition: str = ""
    event: str | None = None
    override: bool = False
    refusals: Mapping[Phase, str] = attrs.field(factory=dict[Phase, str])
    expected_in: frozenset[Phase] = frozenset()

    def refusal_in(self, phase: Phase) -> str:
        """Return why the step is refused in ``phase``."""
        return self.refusals.get(phase, self.refusal)


_ALL: Final = frozenset(PHASES)
_OPEN: Final[frozenset[Phase]] = _ALL - {"resolved"}
_AFTER_IMPACT: Final[frozenset[Phase]] = _OPEN - {"declared"}
_BEFORE_RECOVERY: Final[frozenset[Phase]] = frozenset({"assessed", "reviewed", "intervened"})
_CLOSED = "the incident is resolved; its record is closed (add notes or follow_up items instead)"

STEPS: Final[tuple[Step, ...]] = (
    Step("note", _ALL, "notes may be added in every phase", event="note_added"),
    Step("finding", _OPEN, _CLOSED, event="finding_recorded"),
    Step(
        "hand_over",
        _OPEN,
        "roles are handed over while the incident is open",
        event="role_handed_over",
    ),
    Step(
        "correct_clock",
        _ALL,
        "a clock correction may be recorded in every phase",
        event="clock_corrected",
    ),
    Step(
        "follow_up",
        _ALL,
        "follow-up action items may be added in every phase",
        event="follow_up_added",
        expected_in=frozenset({"resolved"}),
    ),
    Step(
        "assess_impact",
        frozenset({"declared"}),
        "impact is assessed once, right after the declaration; re-assess with update_impact",
        leads_to="assessed",
        event="impact_assessed",
        expected_in=frozenset({"declared"}),
    ),
    Step(
        "update_impact",
        _AFTER_IMPACT,
        "assess the impact first (assess_impact); it is then updated until resolution",
        event="impact_updated",
        refusals={"resolved": _CLOSED},
    ),
    Step(
        "gather_changes",
        _AFTER_IMPACT,
        "assess the impact first (assess_impact): impact before cause",
        event="changes_gathered",
        expected_in=frozenset({"assessed"}),
        refusals={"resolved": _CLOSED},
    ),
    Step(
        "review_rollbacks",
        _BEFORE_RECOVERY,
        "assess the impact first (assess_impact); rollbacks are reviewed before recovery",
        leads_to="reviewed",
        event="rollbacks_reviewed",
        expected_in=frozenset({"assessed"}),
    ),
    Step(
        "skip_rollback_review",
        frozenset({"assessed"}),
        "skipping the rollback review is an override of the assessed phase",
        leads_to="reviewed",
        event="override_recorded",
        override=True,
    ),
    Step(
        "roll_back",
        frozenset({"reviewed", "intervened"}),
        "review the rollback options first (review_rollbacks)",
        leads_to="intervened",
        condition="if it succeeded",
        event="rollback_executed",
        expected_in=frozenset({"reviewed"}),
    ),
    Step(
        "mitigate",
        frozenset({"reviewed", "intervened"}),
        "review the rollback options first (review_rollbacks)",
        leads_to="intervened",
        event="mitigation_applied",
        expected_in=frozenset({"reviewed"}),
    ),
    Step(
        "verify_recovery",
        _BEFORE_RECOVERY,
        "assess the impact and intervene first (roll_back or mitigate)",
        leads_to="recovered",
        condition="if recovered",
        event="recovery_checked",
        expected_in=frozenset({"intervened"}),
        refusals={"recovered": "recovery is already verified", "resolved": _CLOSED},
    ),
    Step(
        "diagnose_without_recovery",
        _OPEN - {"recovered", "diagnosing"},
        "this override is for an incident that has not recovered",
        leads_to="diagnosing",
        event="override_recorded",
        override=True,
    ),
    Step(
        "begin_diagnosis",
        frozenset({"recovered"}),
        (
            "verify recovery in monitoring first (verify_recovery), "
            "or override with diagnose_without_recovery(actor=..., reason=...)"
        ),
        leads_to="diagnosing",
        event="diagnosis_begun",
        expected_in=frozenset({"recovered"}),
        refusals={"diagnosing": "diagnosis has begun already", "resolved": _CLOSED},
    ),
    Step(
        "hypothesis",
        frozenset({"diagnosing"}),
        "stabilise first: hypotheses belong to diagnosis (begin_diagnosis after recovery)",
        event="hypothesis_recorded",
        refusals={"resolved": _CLOSED},
    ),
    Step(
        "reject_hypothesis",
        frozenset({"diagnosing"}),
        "hypotheses belong to diagnosis",
        event="hypothesis_rejected",
        refusals={"resolved": _CLOSED},
    ),
    Step(
        "check",
        frozenset({"diagnosing"}),
        "the usual-suspects checklist belongs to diagnosis",
        event="checklist_item_checked",
        expected_in=frozenset({"diagnosing"}),
        refusals={"resolved": _CLOSED},
    ),
    Step(
        "waive",
        frozenset({"diagnosing"}),
        "the usual-suspects checklist belongs to diagnosis",
        event="checklist_item_waived",
        expected_in=frozenset({"diagnosing"}),
        refusals={"resolved": _CLOSED},
    ),
    Step(
        "resolve",
        frozenset({"diagnosing"}),
        "diagnose first (begin_diagnosis), and check or waive every checklist item",
        leads_to="resolved",
        event="incident_resolved",
        expected_in=frozenset({"diagnosing"}),
        refusals={
            "resolved": (
                "the incident is already resolved; its resolution cannot be changed "
                "(add follow_up items or notes instead)"
            )
        },
    ),
    Step(
        "report",
        frozenset({"resolved"}),
        "resolve the incident first",
        expected_in=frozenset({"resolved"}),
    ),
)
"""Every step of the protocol, in protocol order."""

_BY_NAME: Final[Mapping[str, Step]] = {step.name: step for step in STEPS}


def rule(step: str) -> Step:
    """Return the rule of the step named ``step``.

    Raises:
        KeyError: No step has that name.
    """
    return _BY_NAME[step]


STEP_REQUIREMENTS: Final[Mapping[str, tuple[frozenset[Phase], str]]] = {
    step.name: (step.allowed, step.refusal) for step in STEPS
}
"""For each step: the phases it is allowed in, and what must come first otherwise."""

OVERRIDE_TARGETS: Final[Mapping[str, Phase]] = {
    step.name: step.leads_to for step in STEPS if step.override and step.leads_to is not None
}
"""Each override step and the phase it leads to."""

STEP_OF_EVENT: Final[Mapping[str, str]] = {
    step.event: step.name for step in STEPS if step.event is not None and not step.override
}
"""The step that records each event type, by its tag (overrides name their step in the event)."""


def _next_step(phase: Phase) -> str:
    """Say what the protocol expects next in ``phase``, from the table.

    Steps that keep the incident in the phase come first ("gather_changes"),
    then the steps that move it on ("then review_rollbacks").
    """
    expected = [step for step in STEPS if phase in step.expected_in]
    staying = [s.name for s in expected if s.leads_to is None or s.leads_to == phase]
    moving = [s.name for s in expected if s.leads_to is not None and s.leads_to != phase]
    parts = [" or ".join(names) for names in (staying, moving) if names]
    return ", then ".join(parts)


NEXT_STEP: Final[Mapping[Phase, str]] = {phase: _next_step(phase) for phase in PHASES}
"""What the protocol expects next in each phase, for error messages."""


def requirement(phase: Phase, step: str) -> str:
    """Return what must come first before ``step`` can be taken in ``phase``."""
    return f"{rule(step).refusal_in(phase)}; next in {phase!r}: {NEXT_STEP[phase]}"


def require(phase: Phase, step: str) -> None:
    """Raise :class:`ProtocolViolation` unless ``step`` is allowed in ``phase``."""
    if phase not in rule(step).allowed:
        raise ProtocolViolation(phase, step, requirement(phase, step))


def render_docs_table() -> str:
    """Render the table of steps per phase that ``docs/protocol.md`` shows.

    A test compares the docs with this rendering, so the docs cannot drift
    from the table.
    """
    lines = [
        "| Step | Allowed in | Leads to | Records |",
        "|---|---|---|---|",
    ]
    for step in STEPS:
        allowed = ", ".join(f"`{p}`" for p in PHASES if p in step.allowed)
        if step.leads_to is None:
            leads = "stays"
        else:
            leads = f"`{step.leads_to}`" + (f" {step.condition}" if step.condition else "")
        if step.event is None:
            records = "nothing (a read)"
        else:
            records = f"`{step.event}`" + (" (override)" if step.override else "")
        lines.append(f"| `{step.name}` | {allowed} | {leads} | {records} |")
    return "\n".join(lines) + "\n"
