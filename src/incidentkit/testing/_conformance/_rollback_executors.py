"""The conformance checks of a :class:`~incidentkit.protocols.RollbackExecutor`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import cast

import attrs

from incidentkit._errors import IncidentkitError, InvalidInputError, RollbackFailedError
from incidentkit._gather import checked_options, checked_result
from incidentkit._model import Change, RollbackOption
from incidentkit.protocols import RollbackExecutor
from incidentkit.testing._calls import Outcome, safe_repr, safe_str
from incidentkit.testing._conformance._common import (
    CHECKED_CALL_FAILED,
    MESSAGE,
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

_EXECUTOR_CHECKS = (
    "answer",
    "dry_run",
    "forged_options",
    "errors",
    "deadline",
    "secrets",
    "incident",
)
_NEVER = "never-offered"
_SHAPED_LIKE_OPTIONS = ("--kubeconfig=/tmp/evil", "-v=9", "--upload-pack=x")
_REFUSE = (
    "check at dry_run and execute, before running anything, that the option is one "
    "options() returned (the same id, change, target and versions; the caveats may differ: "
    "the incident adds its own) and refuse any other with InvalidInputError naming the "
    "options you offered"
)


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


def _forgeries(option: RollbackOption) -> list[tuple[str, RollbackOption]]:
    """Return options the executor never offered, each made from ``option`` by one change."""

    def other(version: str | None) -> str:
        return f"{version}-{_NEVER}" if version else _NEVER

    return [
        ("an id it never issued", attrs.evolve(option, id=f"{option.id}-{_NEVER}")),
        ("another change", attrs.evolve(option, change_id=f"{option.change_id}-{_NEVER}")),
        ("another target", attrs.evolve(option, target=f"{option.target}-{_NEVER}")),
        ("another version to return to", attrs.evolve(option, to_version=other(option.to_version))),
        (
            "another version to revert from",
            attrs.evolve(option, from_version=other(option.from_version)),
        ),
        *(
            (f"the target {target!r}", attrs.evolve(option, target=target))
            for target in _SHAPED_LIKE_OPTIONS
        ),
    ]


def _refusal(run: Run, outcome: Outcome[object]) -> tuple[str, str]:
    """Return how a forged option's rehearsal was refused, or what is wrong with its outcome.

    A refusal is an InvalidInputError (the executor's own: not an option it
    offered), a RollbackFailedError (what it raises for an option that no longer
    matches the system), or a dry-run result that did not succeed.
    """
    error = outcome.error
    if isinstance(error, (InvalidInputError, RollbackFailedError)):
        return type(error).__name__, ""
    if isinstance(error, IncidentkitError):
        return "", (
            f"{outcome.label} raised {quote(error)}: the option reached the system, which "
            "failed on it, before the executor refused it"
        )
    if error is not None:
        return "", f"{outcome.label} raised {quote(error)}, not an IncidentkitError"
    result, problem = checked_result(run.text_name, outcome.value)
    if result is None:
        return "", f"{outcome.label} answered something else than a result: {problem}"
    if not result.succeeded:
        return "a failed result", ""
    said = f" ({safe_repr(result.detail)[:MESSAGE]})" if result.detail else ""
    return "", (
        f"{outcome.label} was accepted: the rehearsal succeeded{said}, so execute() would act on it"
    )


def _try_forgery(
    run: Run,
    what: str,
    forged: RollbackOption,
    offering: RollbackExecutor,
    new: RollbackExecutor,
) -> tuple[list[str], list[str]]:
    """Rehearse ``forged`` on both executors; return the problems, and how each refused it.

    The same problem on both executors is said once.
    """
    label = f"dry_run({what})"
    problems: dict[str, str] = {}
    ways: list[str] = []
    for executor, where in ((offering, ""), (new, " on a new executor")):
        outcome = run.call(label + where, partial(executor.dry_run, forged))
        if outcome.timed_out:
            continue
        how, problem = _refusal(run, outcome)
        if problem:
            problems[where] = problem.removeprefix(label + where)
        else:
            ways.append(how)
    if len(problems) == 2 and len(set(problems.values())) == 1:  # noqa: PLR2004 - both executors
        return [f"{label} (and on a new executor){problems['']}"], ways
    return [label + where + problem for where, problem in problems.items()], ways


def _rehearsed_offer(run: Run, change: Change) -> tuple[RollbackExecutor, RollbackOption] | Check:
    """Ask a new executor for options and rehearse the first; return both, or why not to go on."""
    name = "forged_options"
    offering = cast("RollbackExecutor", run.fresh("the executor that offered"))
    asked = run.call(f"options({change.id})", partial(offering.options, change))
    offered, _ = checked_options(run.text_name, asked.value) if asked.answered else ([], "")
    rehearsable = [o for o in offered if o.supports_dry_run]
    if not rehearsable:
        return skipped(name, f"a second options({change.id}) offered nothing to rehearse")
    genuine = rehearsable[0]
    control = run.call(f"dry_run({genuine.id})", partial(offering.dry_run, genuine))
    if control.timed_out:
        return skipped(name, f"{control.label} ran past the deadline: see deadline")
    if isinstance(control.error, InvalidInputError):
        problem = (
            f"{control.label} raised {quote(control.error)} for the very option the executor "
            "had just offered: a refusal of forged options would prove nothing"
        )
        return failed(name, [problem])
    result, _ = checked_result(run.text_name, control.value) if control.answered else (None, "")
    if result is None or not result.succeeded:
        return skipped(
            name,
            f"{control.label} did not succeed (see dry_run), so a forged option's failed "
            "rehearsal would prove nothing: give a change whose rollback would succeed now",
        )
    return offering, genuine


def _check_forged_options(run: Run, change: Change, options: list[RollbackOption] | None) -> Check:
    """Options the executor never offered are refused, by the one that offered and by a new one.

    The kit tries them through dry_run() only (it never calls execute()), after
    a rehearsal of the option the executor offered, which must not be refused.
    """
    if options is None:
        return skipped("forged_options", f"no options to forge from: {CHECKED_CALL_FAILED}")
    if not any(o.supports_dry_run for o in options):
        return skipped(
            "forged_options",
            "no option supports a dry run, and the kit never calls execute(): it could not "
            "try options the executor never offered",
        )
    rehearsed = _rehearsed_offer(run, change)
    if isinstance(rehearsed, Check):
        return rehearsed
    offering, genuine = rehearsed
    new = cast("RollbackExecutor", run.fresh("a new executor"))
    problems: list[str] = []
    ways: dict[str, int] = {}
    for what, forged in _forgeries(genuine):
        found, refusals = _try_forgery(run, what, forged, offering, new)
        problems.extend(found)
        for way in refusals:
            ways[way] = ways.get(way, 0) + 1
    if problems:
        return failed("forged_options", [*problems, _REFUSE])
    if not ways:
        return skipped("forged_options", "every rehearsal of a forged option ran past the deadline")
    counts = ", ".join(f"{count} by {way}" for way, count in sorted(ways.items()))
    return passed(
        "forged_options",
        f"{sum(ways.values())} rehearsals of options it never offered (made from {genuine.id}: "
        f"another id, change, target, versions, and targets shaped like options) were refused "
        f"({counts}), by the executor that offered it and by a new one; the option it offered "
        "rehearses",
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
    can afford to change. The ``forged_options`` check rehearses options the
    executor never offered (another id, change, target or version, and
    targets shaped like command-line options), on the executor that offered
    the genuine one and on a new one: each must be refused with an
    :class:`~incidentkit.InvalidInputError` or a
    :class:`~incidentkit.RollbackFailedError`, or answered with a dry-run
    result that did not succeed.

    Args:
        make: A zero-argument factory that returns a fresh, working executor.
        change: A change the executor can roll back.
        secrets: The fake credentials the executors are built with.
        broken: A factory of the same executor configured to fail.
        deadline: How long any one call may take, in seconds.

    Returns:
        The report of the checks ``protocol``, ``answer``, ``dry_run``,
        ``forged_options``, ``errors``, ``deadline``, ``secrets`` and
        ``incident``.

    Raises:
        InvalidInputError: An argument is unusable.

    .. versionadded:: 0.1.0

    .. versionchanged:: 0.2.0
       The ``forged_options`` check.
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
    forged = _check_forged_options(run, change, options)
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
            forged,
            errors,
            check_deadline(run),
            check_secrets(run),
            incident,
        ]
    )
