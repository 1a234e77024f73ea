"""Diagnosis: hypotheses tied to evidence, the usual-suspects checklist, the resolution."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import cast

from incidentkit._arguments import text
from incidentkit._errors import InvalidInputError, ProtocolViolation
from incidentkit._events import (
    ChecklistItemChecked,
    ChecklistItemWaived,
    HypothesisRecorded,
    HypothesisRejected,
    IncidentResolved,
)
from incidentkit._model import Actor, ChecklistItem, Evidence
from incidentkit._state import IncidentState
from incidentkit._steps._common import Now, Outcome

__all__ = ["check", "evidence", "hypothesis", "reject", "resolve", "waive"]


def evidence(state: IncidentState, items: Sequence[Evidence], what: str) -> tuple[Evidence, ...]:
    """Return ``items`` if each is evidence that exists: a gathered change, a journal entry."""
    if isinstance(items, (str, bytes, Evidence)) or not isinstance(cast("object", items), Iterable):
        msg = f"{what} takes a list of Evidence values, not a single {type(items).__name__}"
        raise InvalidInputError(msg)
    given = tuple(items)
    if not given:
        msg = f"{what} needs at least one piece of evidence"
        raise InvalidInputError(msg)
    change_ids = {change.id for change in state.changes.values()}
    for item in given:
        if not isinstance(item, Evidence):  # pyright: ignore[reportUnnecessaryIsInstance]
            msg = f"evidence must be Evidence values, not {type(item).__name__}"
            raise InvalidInputError(msg)
        if item.kind == "change" and item.ref not in change_ids:
            msg = f"evidence points at change {item.ref!r}, which was never gathered"
            raise InvalidInputError(msg)
        if item.kind == "entry" and not (item.ref.isdigit() and int(item.ref) < len(state.events)):
            msg = f"evidence points at journal entry {item.ref}, which does not exist"
            raise InvalidInputError(msg)
    return given


def hypothesis(
    state: IncidentState, now: Now, who: Actor, statement: str, items: Sequence[Evidence]
) -> Outcome:
    """Record a hypothesis, numbered ``H1``, ``H2``, ... in order."""
    hypothesis_id = f"H{len(state.hypotheses) + 1}"
    return Outcome(
        (
            HypothesisRecorded(
                now(),
                who,
                hypothesis_id,
                text(statement, "a hypothesis"),
                evidence(state, items, "a hypothesis"),
            ),
        )
    )


def reject(now: Now, who: Actor, hypothesis_id: str, reason: str) -> Outcome:
    """Rule a hypothesis out, with the reason."""
    return Outcome(
        (HypothesisRejected(now(), who, hypothesis_id, text(reason, "a rejection's reason")),)
    )


def check(
    state: IncidentState, now: Now, who: Actor, item: ChecklistItem, conclusion: str
) -> Outcome:
    """Mark a usual suspect as checked against the sources of its kind that answered.

    Raises:
        ProtocolViolation: No source of that kind answered during this incident.
    """
    item = _item(item)
    sources = state.consulted[item]
    if not sources:
        raise ProtocolViolation(
            state.phase,
            "check",
            f"no {item.value} source answered during this incident: gather_changes "
            f"from one first, or waive({item}, reason=...)",
        )
    return Outcome(
        (
            ChecklistItemChecked(
                now(), who, item, tuple(sources), text(conclusion, "a checklist conclusion")
            ),
        )
    )


def waive(now: Now, who: Actor, item: ChecklistItem, reason: str) -> Outcome:
    """Waive a usual suspect, with the reason it need not be checked."""
    return Outcome(
        (ChecklistItemWaived(now(), who, _item(item), text(reason, "a waiver's reason")),)
    )


def _item(item: ChecklistItem | str) -> ChecklistItem:
    """Return a checklist item; its value (``"deploys"``) is accepted too."""
    if isinstance(item, ChecklistItem):
        return item
    try:
        return ChecklistItem(item)
    except ValueError:
        names = ", ".join(repr(i.value) for i in ChecklistItem)
        msg = f"a checklist item is a ChecklistItem or one of {names}, not {item!r}"
        raise InvalidInputError(msg) from None


def resolve(
    state: IncidentState, now: Now, who: Actor, root_cause: str, items: Sequence[Evidence]
) -> Outcome:
    """Resolve with the root cause and the evidence for it."""
    return Outcome(
        (
            IncidentResolved(
                now(),
                who,
                text(root_cause, "the root cause"),
                evidence(state, items, "the root cause"),
            ),
        )
    )
