"""Gathering what changed around the symptom, from every source at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING

from incidentkit._arguments import reach_back
from incidentkit._events import ChangesGathered, Event, SourceOutcome
from incidentkit._gather import adapter_name, call_concurrently, checked_changes
from incidentkit._model import (
    DEPENDENCY_KINDS,
    DEPLOY_KINDS,
    INFRASTRUCTURE_KINDS,
    Actor,
    Change,
    ChangeKind,
    ChecklistItem,
    PartialChanges,
)
from incidentkit._state import IncidentState
from incidentkit._steps._common import Now, Outcome, gap

if TYPE_CHECKING:
    from incidentkit.protocols import ChangeSource, DependencyStatusSource, DeploySource

__all__ = ["gather"]

_Job = tuple[str, ChecklistItem, frozenset[ChangeKind], Callable[[], Sequence[Change]]]


def gather(
    state: IncidentState,
    now: Now,
    who: Actor,
    *,
    deploys: Sequence[DeploySource],
    infrastructure: Sequence[ChangeSource],
    dependencies: Sequence[DependencyStatusSource],
    lookback: float,
    services: Sequence[str] | None,
    timeout: float,
) -> Outcome:
    """Ask every source at once for the changes from ``lookback`` before the symptom until now.

    Returns the :class:`ChangesGathered` event, then a gap finding for each
    source that failed and each that answered for part of the window only.
    """
    end = now()
    start = reach_back(state.symptom_start, lookback, "lookback")
    wanted = None if services is None else list(services)
    jobs: list[_Job] = [
        *(
            (
                adapter_name(d),
                ChecklistItem.DEPLOYS,
                DEPLOY_KINDS,
                partial(d.deploys, start, end, services=wanted),
            )
            for d in deploys
        ),
        *(
            (
                adapter_name(c),
                ChecklistItem.INFRASTRUCTURE,
                INFRASTRUCTURE_KINDS,
                partial(c.changes, start, end, services=wanted),
            )
            for c in infrastructure
        ),
        *(
            (
                adapter_name(p),
                ChecklistItem.DEPENDENCIES,
                DEPENDENCY_KINDS,
                partial(p.incidents, start, end),
            )
            for p in dependencies
        ),
    ]
    answers = call_concurrently(
        [(name, "gathering changes", call) for name, _item, _kinds, call in jobs], timeout
    )
    found: list[Change] = []
    outcomes: list[SourceOutcome] = []
    gaps: list[str] = []
    partials: list[str] = []
    bad_changes: list[str] = []
    for (name, item, kinds, _call), answer in zip(jobs, answers, strict=True):
        seconds = round(answer.seconds, 3)
        changes: list[Change] = []
        error = answer.error
        dropped: list[str] = []
        if not error:
            changes, error = checked_changes(name, answer.result, kinds, problems=dropped)
        bad_changes.extend(dropped)
        if error:
            outcomes.append(SourceOutcome(name, item, ok=False, error=error, seconds=seconds))
            gaps.append(error)
            continue
        kept = [c for c in changes if c.overlaps(start, end)]
        found.extend(kept)
        uncovered = answer.result.gap if isinstance(answer.result, PartialChanges) else ""
        if uncovered:  # what it read counts; what it could not read is a gap
            partials.append(f"{name}: {uncovered}")
        outcomes.append(
            SourceOutcome(
                name, item, ok=True, changes=len(kept), seconds=seconds, partial=uncovered
            )
        )
    events: list[Event] = [ChangesGathered(end, who, start, end, tuple(found), tuple(outcomes))]
    events.extend(gap(now, who, "a change source could not be read", e) for e in gaps)
    events.extend(
        gap(now, who, "a change source answered a change the journal cannot hold", e)
        for e in bad_changes
    )
    events.extend(
        gap(now, who, "a change source answered for part of the window only", p) for p in partials
    )
    return Outcome(tuple(events))
