"""What every step shares: its outcome and its gap findings (inputs are checked in _arguments)."""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pendulum

from incidentkit._events import Event, FindingRecorded
from incidentkit._limits import reduced_for_journal
from incidentkit._model import Actor, Finding, FindingKind, Series

__all__ = ["Now", "Outcome", "gap", "journaled"]

Now = Callable[[], pendulum.DateTime]
"""Where a step reads the time for each event it records."""


@attrs.frozen
class Outcome:
    """What a step produced: the events to record in order, then an error to raise, if any.

    ``error`` is raised only after every event is recorded, so a failed
    rollback or an unmeasurable impact is in the journal before the caller
    hears of it.
    """

    events: tuple[Event, ...]
    error: BaseException | None = None


def gap(now: Now, actor: Actor, summary: str, detail: str) -> FindingRecorded:
    """Return a monitoring-gap finding stamped now."""
    return FindingRecorded(now(), actor, Finding(FindingKind.MONITORING_GAP, summary, detail))


def journaled(series: Series, now: Now, actor: Actor, findings: list[Event]) -> Series:
    """Return ``series`` as the journal keeps it (reduced past the limit), noting any reduction.

    A series longer than :data:`~incidentkit.MAX_JOURNALED_POINTS` is reduced to its
    extremes and gaps (see :mod:`incidentkit._limits`), and an observation finding saying
    what was reduced is appended to ``findings``.
    """
    kept, detail = reduced_for_journal(series)
    if detail:
        findings.append(
            FindingRecorded(
                now(),
                actor,
                Finding(FindingKind.OBSERVATION, "a series was reduced for the journal", detail),
            )
        )
    return kept
