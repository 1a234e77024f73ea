"""Reviewing the rollback options with their caveats, and rolling back through an executor."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING

import attrs

from incidentkit._errors import InvalidInputError, RollbackFailedError
from incidentkit._events import Event, FindingRecorded, RollbackExecuted, RollbacksReviewed
from incidentkit._gather import (
    adapter_name,
    call_adapter,
    call_concurrently,
    checked_options,
    checked_result,
)
from incidentkit._model import (
    Actor,
    Caveat,
    CaveatKind,
    Change,
    ChangeKind,
    Finding,
    FindingKind,
    RollbackOption,
    RollbackResult,
)
from incidentkit._state import IncidentState
from incidentkit._steps._common import Now, Outcome, gap

if TYPE_CHECKING:
    from incidentkit.protocols import RollbackExecutor

__all__ = ["review", "roll_back"]


def _default_changes(state: IncidentState) -> list[Change]:
    """Every gathered change except dependency incidents, the most suspect first."""
    ranking = state.ranking()
    return [
        c
        for c in (*(s.change for s in ranking.suspects), *ranking.after_onset, *ranking.too_old)
        if c.kind is not ChangeKind.DEPENDENCY
    ]


def review(
    state: IncidentState,
    now: Now,
    who: Actor,
    *,
    executors: Sequence[RollbackExecutor],
    changes: Sequence[Change] | None,
    timeout: float,
) -> Outcome:
    """Ask every executor, within ``timeout`` each, how each change could be rolled back.

    Returns the :class:`RollbacksReviewed` event, a gap finding per executor
    that could not be asked, and a finding when no option was found.

    Raises:
        InvalidInputError: Nothing was gathered and no changes were given:
            there is nothing to review.
    """
    if changes is None:
        if state.lookback is None:
            msg = (
                "nothing was gathered to review: call gather_changes(actor=..., deploys=[...]) "
                "first, pass changes=[...], or skip_rollback_review(actor=..., reason=...) "
                "when no rollback is possible"
            )
            raise InvalidInputError(msg)
        changes = _default_changes(state)
    names = [adapter_name(e) for e in executors]
    options: list[RollbackOption] = []
    uncovered: list[str] = []
    gaps: list[str] = []
    for change in changes:
        answers = call_concurrently(
            [
                (name, f"options for {change.id}", partial(executor.options, change))
                for name, executor in zip(names, executors, strict=True)
            ],
            timeout,
        )
        offered: list[RollbackOption] = []
        for name, answer in zip(names, answers, strict=True):
            found: list[RollbackOption] = []
            error = answer.error
            if not error:
                found, error = checked_options(name, answer.result, problems=gaps)
            if error:
                gaps.append(error)
                continue
            offered.extend(_with_caveats(o, change, state) for o in found)
        if offered:
            options.extend(offered)
        else:
            uncovered.append(change.id)
    events: list[Event] = [
        RollbacksReviewed(now(), who, tuple(options), tuple(uncovered), tuple(names))
    ]
    events.extend(gap(now, who, "a rollback executor could not be asked", e) for e in gaps)
    if not options:
        detail = (
            "no changes were gathered to review"
            if not changes
            else "uncovered changes: " + ", ".join(uncovered)
        )
        events.append(
            FindingRecorded(
                now(),
                who,
                Finding(FindingKind.NO_ROLLBACK_OPTION, "no rollback option was found", detail),
            )
        )
    return Outcome(tuple(events))


def _with_caveats(option: RollbackOption, change: Change, state: IncidentState) -> RollbackOption:
    """Add the caveats the library can see from the gathered changes."""
    caveats = list(option.caveats)
    kinds = {c.kind for c in caveats}
    if (
        CaveatKind.SCHEMA_MIGRATION not in kinds
        and change.attributes.get("schema_migration") == "true"
    ):
        caveats.append(Caveat(CaveatKind.SCHEMA_MIGRATION, f"{change.id} ran a schema migration"))
    if CaveatKind.AUTOMATED_SYNC not in kinds and change.attributes.get("auto_sync") == "true":
        caveats.append(
            Caveat(
                CaveatKind.AUTOMATED_SYNC,
                f"{change.service} is synced automatically: pause the sync or it may re-apply "
                f"{change.version or change.id}",
            )
        )
    if CaveatKind.TARGET_IN_SYMPTOM_WINDOW not in kinds and option.to_version is not None:
        for other in state.changes.values():
            if (
                other.service == change.service
                and other.version == option.to_version
                and other.started >= state.symptom_start
            ):
                caveats.append(
                    Caveat(
                        CaveatKind.TARGET_IN_SYMPTOM_WINDOW,
                        f"{option.to_version} was itself deployed at {other.started} "
                        f"({other.id}), after the symptom began",
                    )
                )
                break
    if not option.supports_dry_run and CaveatKind.NO_DRY_RUN not in kinds:
        caveats.append(Caveat(CaveatKind.NO_DRY_RUN, f"{option.executor} cannot rehearse it"))
    return attrs.evolve(option, caveats=tuple(caveats))


def roll_back(
    state: IncidentState,
    now: Now,
    who: Actor,
    *,
    option: RollbackOption,
    runner: RollbackExecutor,
    rehearse: bool,
    timeout: float,
) -> Outcome:
    """Rehearse (within ``timeout``) where the option can, then execute.

    The attempt is in the returned events whatever happens: a failed or hung
    rehearsal, a failed rollback, or an exception of any kind from
    ``execute`` (``KeyboardInterrupt`` included), which is then the outcome's
    error, raised once the attempt is recorded.
    """
    name = adapter_name(runner)
    rehearsal: RollbackResult | None = None
    if rehearse and option.supports_dry_run:
        (answer,) = call_concurrently([(name, "dry run", partial(runner.dry_run, option))], timeout)
        error = answer.error
        if not error:
            rehearsal, error = checked_result(name, answer.result)
        if not error and rehearsal is not None and not rehearsal.succeeded:
            error = f"{name}: dry run failed: {rehearsal.detail}"
        if error:
            return _failed(
                state, now, who, option=option, rehearsal=rehearsal, result=None, error=error
            )
    try:
        executed, error = call_adapter(name, "rollback", partial(runner.execute, option))
    except BaseException as exc:  # noqa: BLE001 - recorded, then re-raised by the caller
        # Interrupted (Ctrl-C, SystemExit) mid-rollback: what happened is unknown, and the
        # journal must say that an attempt was made before the interruption goes on.
        attempt = RollbackExecuted(
            now(), who, option, rehearsal, None, f"{name}: interrupted: {type(exc).__name__}"
        )
        return Outcome((attempt,), exc)
    if error:
        return _failed(
            state, now, who, option=option, rehearsal=rehearsal, result=None, error=error
        )
    result, error = checked_result(name, executed)
    if not error and result is not None and (result.dry_run or not result.succeeded):
        error = f"{name}: rollback failed: {result.detail}"
    if error:
        return _failed(
            state, now, who, option=option, rehearsal=rehearsal, result=result, error=error
        )
    return Outcome((RollbackExecuted(now(), who, option, rehearsal, result),))


def _failed(
    state: IncidentState,
    now: Now,
    who: Actor,
    *,
    option: RollbackOption,
    rehearsal: RollbackResult | None,
    result: RollbackResult | None,
    error: str,
) -> Outcome:
    """Record the failed attempt, then raise :class:`RollbackFailedError`."""
    attempt = RollbackExecuted(now(), who, option, rehearsal, result, error)
    return Outcome(
        (attempt,),
        RollbackFailedError(
            f"{error}. The attempt is in the journal; the incident stays in phase "
            f"{state.phase!r}: pick another option or mitigate.",
            source=option.executor,
        ),
    )
