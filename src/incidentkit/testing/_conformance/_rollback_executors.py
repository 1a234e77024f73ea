"""The conformance checks of a :class:`~incidentkit.protocols.RollbackExecutor`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import cast

import attrs

from incidentkit._errors import InvalidInputError
from incidentkit._gather import checked_options, checked_result
from incidentkit._model import Change, RollbackOption
from incidentkit.protocols import RollbackExecutor
from incidentkit.testing._calls import safe_repr, safe_str
from incidentkit.testing._conformance._common import (
    CHECKED_CALL_FAILED,
    checked_deadline,
    checked_secrets,
    failed,
    no_answer,
    passed,
    quote,
    shown,
    skipped,
)
from incidentkit.testing._conformance._run import Run, check_protocol, read_name, unshaped
from incidentkit.testing._conformance._shared_checks import (
    check_deadline,
    check_errors,
    check_incident,
    check_secrets,
)
from incidentkit.testing._incident_run import IncidentPlan, IncidentRun
from incidentkit.testing._results import Check, ConformanceReport

__all__ = ["check_rollback_executor"]

_EXECUTOR_CHECKS = ("answer", "dry_run", "errors", "deadline", "secrets", "incident")


def _check_answer_executor(run: Run, change: Change) -> tuple[Check, list[RollbackOption] | None]:  # noqa: C901 - one branch per rule the check enforces
    """Options for the change, from this executor, for this change; a current version."""
    adapter = cast("RollbackExecutor", run.fresh())
    label = f"options({change.id})"
    outcome = run.call(label, partial(adapter.options, change))
    if outcome.timed_out:
        return no_answer("answer", outcome), None
    if outcome.error is not None:
        return failed(
            "answer", [f"{label} raised {quote(outcome.error)}: a working executor must answer"]
        ), None
    options, error = checked_options(run.text_name, outcome.value)
    if error:
        return failed("answer", [f"{label} answered something else than options: {error}"]), None
    if not options:
        return failed(
            "answer",
            [
                (
                    f"{label} offered nothing: give the kit a change this executor can roll back "
                    "(an empty answer means it cannot handle the change)"
                )
            ],
        ), None
    problems: list[str] = []
    for option in options:
        if run.name_ok and option.executor != run.name:
            problems.append(
                f"option {option.id} names executor {option.executor!r}, not "
                f"{safe_repr(run.name)}: roll_back finds the executor by this name"
            )
        if option.change_id != change.id:
            problems.append(
                f"option {option.id} reverts {option.change_id!r}, not {change.id!r}: set "
                "change_id=change.id"
            )
    ids = [o.id for o in options]
    if len(set(ids)) != len(ids):
        problems.append(f"option ids repeat ({shown(ids)}): each option needs its own id")
    target = options[0].target
    current = run.call(f"current_version({target!r})", partial(adapter.current_version, target))
    if current.error is not None:
        problems.append(f"{current.label} raised {quote(current.error)}")
    elif current.answered and current.value is not None and not isinstance(current.value, str):
        problems.append(
            f"{current.label} returned a {type(current.value).__name__}, not a str or None"
        )
    if problems:
        return failed("answer", problems), options
    return passed(
        "answer",
        f"{len(options)} options for {change.id} from {run.name!r} "
        f"({shown(ids)}); {current.label} = {safe_repr(current.value)}",
    ), options


def _check_dry_run(run: Run, options: list[RollbackOption] | None) -> Check:  # noqa: C901 - one branch per rule the check enforces
    """Dry runs answer dry-run results for their option and change nothing."""
    if options is None:
        return skipped("dry_run", f"no options to rehearse: {CHECKED_CALL_FAILED}")
    rehearsable = [o for o in options if o.supports_dry_run]
    if not rehearsable:
        return skipped(
            "dry_run", "no option supports a dry run (the protocol notes NO_DRY_RUN on them)"
        )
    adapter = cast("RollbackExecutor", run.fresh())
    problems: list[str] = []
    succeeded = 0
    for option in rehearsable:
        before = run.call(
            f"current_version({option.target!r})", partial(adapter.current_version, option.target)
        )
        label = f"dry_run({option.id})"
        outcome = run.call(label, partial(adapter.dry_run, option))
        after = run.call(
            f"current_version({option.target!r})", partial(adapter.current_version, option.target)
        )
        if not outcome.answered:
            if outcome.error is not None:
                problems.append(
                    f"{label} raised {quote(outcome.error)}: a rehearsal that would fail "
                    "answers RollbackResult(succeeded=False, detail=why)"
                )
            continue
        result, error = checked_result(run.text_name, outcome.value)
        if result is None:
            problems.append(f"{label} answered something else than a result: {error}")
            continue
        if result.dry_run is not True:
            problems.append(
                f"{label} returned a result with dry_run={result.dry_run!r}: a rehearsal's "
                "result says dry_run=True"
            )
        if result.option_id != option.id:
            problems.append(
                f"{label} returned a result for option {result.option_id!r}, not {option.id!r}"
            )
        if before.answered and after.answered and before.value != after.value:
            problems.append(
                f"{label} changed the live version of {option.target} from "
                f"{safe_repr(before.value)} to {safe_repr(after.value)}: a dry run changes nothing"
            )
        succeeded += bool(result.succeeded)
    if problems:
        return failed("dry_run", problems)
    return passed(
        "dry_run",
        f"{len(rehearsable)} dry runs answered dry-run results ({succeeded} would succeed) and "
        "changed no live version; execute() is never called",
    )


def check_rollback_executor(
    make: Callable[[], RollbackExecutor],
    *,
    change: Change,
    secrets: Sequence[str] = (),
    broken: Callable[[], RollbackExecutor] | None = None,
    deadline: float = 30.0,
) -> ConformanceReport:
    """Check a :class:`~incidentkit.protocols.RollbackExecutor` against the contract.

    The kit asks for options, the current version and dry runs. It **never**
    calls ``execute()``: test a real rollback yourself, against a system you
    can afford to change.

    Args:
        make: A zero-argument factory that returns a fresh, working executor.
        change: A change the executor can roll back.
        secrets: The fake credentials the executors are built with.
        broken: A factory of the same executor configured to fail.
        deadline: How long any one call may take, in seconds.

    Returns:
        The report of the checks ``protocol``, ``answer``, ``dry_run``,
        ``errors``, ``deadline``, ``secrets`` and ``incident``.

    Raises:
        InvalidInputError: An argument is unusable.

    .. versionadded:: 0.1.0
    """
    if not isinstance(change, Change):  # pyright: ignore[reportUnnecessaryIsInstance]
        msg = f"change must be an incidentkit.Change, not {type(change).__name__}"
        raise InvalidInputError(msg)
    run = Run(
        "RollbackExecutor", make, broken, checked_secrets(secrets), checked_deadline(deadline)
    )
    protocol = check_protocol(
        run, RollbackExecutor, ("name", "options", "current_version", "dry_run", "execute")
    )
    if not run.shape_ok:
        return unshaped(run, protocol, _EXECUTOR_CHECKS)
    answer, options = _check_answer_executor(run, change)
    dry_run = _check_dry_run(run, options)
    target = options[0].target if options else change.service
    calls: list[tuple[str, Callable[[object], object]]] = [
        (f"options({change.id})", lambda a: cast("RollbackExecutor", a).options(change)),
        (
            f"current_version({target!r})",
            lambda a: cast("RollbackExecutor", a).current_version(target),
        ),
    ]
    rehearsable = [o for o in options or () if o.supports_dry_run]
    if rehearsable:
        calls.append(
            (
                f"dry_run({rehearsable[0].id})",
                lambda a: cast("RollbackExecutor", a).dry_run(
                    attrs.evolve(rehearsable[0], executor=safe_str(read_name(a)[0]))
                ),
            )
        )
    errors = check_errors(run, calls, "pointed at a cluster or repository it cannot reach")

    def expect(incident: IncidentRun) -> list[str]:
        if change.id in incident.taken:
            return []
        return [f"the incident's review found no option for {change.id}"]

    after = (change.finished or change.started).add(hours=1)
    plan = IncidentPlan("executor", change.started, after, change=change)
    incident = check_incident(run, plan, expect, answered=answer.passed)
    return run.report(
        [
            protocol,
            answer,
            dry_run,
            errors,
            check_deadline(run),
            check_secrets(run),
            incident,
        ]
    )
