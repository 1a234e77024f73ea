"""The driving commands: one per step of the protocol, for shell scripts.

Each command resumes the incident from its journal (the chain verified, the
events replayed), looks the step up on the phase the incident is in (a step
the phase does not have raises the library's own refusal, before anything is
built or asked), takes the step, and prints what it recorded and what comes
next. Sources and executors are named from the configuration file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

import attrs

from incidentkit._cli._common import (
    COMMAND_OF_STEP,
    Context,
    Result,
    actor,
    clock,
    event_data,
    instant,
    jsonable,
    next_commands,
    next_line,
    number,
    resume,
    strings,
    text,
)
from incidentkit._cli._config import SourceRole
from incidentkit._cli._errors import CliError, ExitCode
from incidentkit._cli._objective import Kind, objective, objective_kind
from incidentkit._cli._progress import Progress, masked_executor
from incidentkit._cli._target import Target
from incidentkit._cli._text import one_line
from incidentkit._errors import RollbackFailedError
from incidentkit._incident import Incident, Intervened, Recovered, Reviewed
from incidentkit._model import (
    ChecklistItem,
    Detection,
    Evidence,
    Figure,
    FindingKind,
    MitigationKind,
    Role,
    RollbackOption,
)
from incidentkit._recovery import RecoveryOutcome, RecoveryPolicy
from incidentkit._specs import ErrorSpec, Measure, Metric

if TYPE_CHECKING:
    import enum

    from incidentkit._incident import AnyPhase
    from incidentkit.protocols import (
        ChangeSource,
        DependencyStatusSource,
        DeploySource,
        RollbackExecutor,
    )

__all__ = ["COMMANDS"]


def _enum(kind: type[enum.Enum], value: str, option: str) -> Any:  # noqa: ANN401 - the member
    try:
        return kind(value)
    except ValueError:
        known = ", ".join(str(m.value) for m in kind)
        raise CliError(f"{option} {value!r} is not one of {known}") from None


def _evidence(specs: Sequence[str]) -> list[Evidence]:
    """Read ``--evidence KIND:REF`` values: change, entry, metric, link or text."""
    found: list[Evidence] = []
    for spec in specs:
        kind, sep, ref = spec.partition(":")
        if not sep or not ref:
            raise CliError(
                f"--evidence {spec!r}: expected KIND:REF, with KIND change, entry, metric, "
                "link or text (change:deploy-4812, entry:12, metric:QUERY, link:URL, text:...)"
            )
        if kind == "change":
            found.append(Evidence.change(ref))
        elif kind == "entry":
            if not ref.isdecimal():
                raise CliError(f"--evidence {spec!r}: an entry is a journal sequence number")
            found.append(Evidence.entry(int(ref)))
        elif kind == "metric":
            found.append(Evidence.metric(ref))
        elif kind == "link":
            found.append(Evidence.link(ref))
        elif kind == "text":
            found.append(Evidence.text(ref))
        else:
            raise CliError(
                f"--evidence {spec!r}: unknown kind {kind!r}; expected change, entry, metric, "
                "link or text"
            )
    return found


def _describe(seq: int, phase: AnyPhase) -> str:
    from incidentkit._timeline import describe_event  # noqa: PLC0415 - with the timeline

    return describe_event(phase.events[seq])


def _step(
    ctx: Context,
    step: str,
    act: Callable[[Any], object],
    extra: Callable[[AnyPhase], tuple[dict[str, Any], list[str]]] | None = None,
    *,
    outcome: Callable[[AnyPhase], ExitCode] | None = None,
) -> Result:
    """Resume, look the step up (the protocol refuses a wrong order here), take it, report."""
    where = ctx.target()
    phase = resume(where, clock(ctx.args))
    method: object = getattr(phase, step)
    before = phase.anchor.seq
    code = ExitCode.OK
    failure = ""
    try:
        act(method)
    except RollbackFailedError as exc:  # journaled: the incident stays where it was
        code = ExitCode.FAILED
        failure = str(exc)
    now = phase.refresh()
    return _stepped(
        where, step, now, before=before, code=code, failure=failure, extra=extra, outcome=outcome
    )


def _stepped(
    where: Target,
    step: str,
    now: AnyPhase,
    *,
    before: int,
    code: ExitCode,
    failure: str,
    extra: Callable[[AnyPhase], tuple[dict[str, Any], list[str]]] | None,
    outcome: Callable[[AnyPhase], ExitCode] | None,
) -> Result:
    recorded = list(range(before + 1, now.anchor.seq + 1))
    data: dict[str, Any] = {
        "command": COMMAND_OF_STEP[step],
        "step": step,
        "incident_id": now.incident_id,
        "journal": where.shown,
        "phase": now.phase,
        "anchor": str(now.anchor),
        "recorded": [event_data(seq, now.events[seq]) for seq in recorded],
        "next": next_commands(now.phase),
    }
    lines = [f"recorded {seq}: {one_line(_describe(seq, now))}" for seq in recorded]
    if extra is not None:
        more, more_lines = extra(now)
        data.update(more)
        lines.extend(more_lines)
    if failure:
        data["error"] = failure
        lines.append(f"failed: {one_line(failure)}")
    if outcome is not None and code is ExitCode.OK:
        code = outcome(now)
    lines.append(f"{now.incident_id} is {now.phase}; {next_line(now.phase)}")
    return Result(data, lines, code)


# --- declare ----------------------------------------------------------------


def _depends_on(specs: Sequence[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for spec in specs:
        service, sep, deps = spec.partition("=")
        names = [d.strip() for d in deps.split(",") if d.strip()]
        if not sep or not service.strip() or not names:
            raise CliError(f"--depends-on {spec!r}: expected SERVICE=DEPENDENCY[,DEPENDENCY...]")
        found.setdefault(service.strip(), []).extend(names)
    return found


def declare(ctx: Context) -> Result:
    """``incidentkit declare``: open the incident and its journal."""
    args = ctx.args
    where = ctx.target(need_incident=False, create=True)
    detected = text(args, "detected_at")
    declared = Incident.declare(
        title=str(args.title),
        services=strings(args, "service"),
        actor=actor(args),
        detection=_enum(Detection, str(args.detection), "--detection"),
        journal=where.journal,
        store=where.store,
        incident_id=where.incident_id,
        detected_at=None if detected is None else instant(detected, "--detected-at"),
        summary=text(args, "summary") or "",
        depends_on=_depends_on(strings(args, "depends_on")),
        clock=clock(args),
    )
    shown = attrs.evolve(where, incident_id=declared.incident_id).shown
    data = {
        "command": "declare",
        "step": "declare",
        "incident_id": declared.incident_id,
        "journal": shown,
        "phase": declared.phase,
        "anchor": str(declared.anchor),
        "recorded": [event_data(0, declared.events[0])],
        "next": next_commands(declared.phase),
    }
    lines = [
        f"declared {declared.incident_id}: {one_line(declared.title)}",
        f"journal: {shown}",
        f"{declared.incident_id} is {declared.phase}; {next_line(declared.phase)}",
    ]
    return Result(data, lines)


# --- impact -----------------------------------------------------------------


def _progress(ctx: Context, what: str) -> Progress:
    return Progress(ctx.stderr, enabled=ctx.progress, what=what, mask=ctx.secrets.mask)


def _metric(ctx: Context, name: str | None, progress: Progress) -> Metric | None:
    if name is None:
        return None
    return ctx.adapters().metric(name, progress.metrics)


def _measures(ctx: Context, specs: Sequence[str], progress: Progress) -> list[Measure]:
    measures: list[Measure] = []
    for spec in specs:
        name, sep, rest = spec.partition("=")
        metric_name, _, reduce = rest.partition(":")
        if not sep or not name or not metric_name:
            raise CliError(f"--measure {spec!r}: expected NAME=METRIC[:max|mean|last|min]")
        reduce = reduce or "max"
        if reduce not in ("max", "mean", "last", "min"):
            raise CliError(f"--measure {spec!r}: reduce with max, mean, last or min")
        metric = _metric(ctx, metric_name, progress)
        assert metric is not None  # noqa: S101 - named above
        measures.append(Measure(name, metric, reduce=cast("Any", reduce)))
    return measures


def _figures(specs: Sequence[str]) -> list[Figure]:
    figures: list[Figure] = []
    for spec in specs:
        name, sep, rest = spec.partition("=")
        value, _, unit = rest.partition(":")
        try:
            figures.append(Figure(name, float(value), unit))
        except ValueError:
            raise CliError(f"--figure {spec!r}: expected NAME=NUMBER[:UNIT]") from None
        if not sep:
            raise CliError(f"--figure {spec!r}: expected NAME=NUMBER[:UNIT]")
    return figures


def _impact_extra(now: AnyPhase) -> tuple[dict[str, Any], list[str]]:
    impact = now.impact
    if impact is None:  # pragma: no cover - after an assessment
        return {}, []
    lines = [
        f"  {one_line(f.name)} = {f.value:.4g}{' ' + one_line(f.unit) if f.unit else ''}"
        f" ({'measured' if f.measured else 'stated'})"
        for f in impact.figures
    ]
    return {"impact": jsonable(impact)}, lines


def _ongoing(ctx: Context) -> bool | None:
    if ctx.args.ongoing is None:
        return None
    return bool(ctx.args.ongoing)


def _objective(ctx: Context, kind: Kind | None, progress: Progress) -> ErrorSpec | None:
    return objective(ctx.args, kind, lambda name: ctx.adapters().metric(name, progress.metrics))


def assess(ctx: Context) -> Result:
    """``incidentkit assess``: the impact, before any cause."""
    args = ctx.args
    kind = objective_kind(args, recovery=False)

    def act(method: Any) -> object:  # noqa: ANN401 - the phase's bound step
        start = text(args, "symptom_start")
        with _progress(ctx, "querying") as progress:
            errors = _objective(ctx, kind, progress)
            traffic = _metric(ctx, text(args, "traffic"), progress)
            users = _metric(ctx, text(args, "users"), progress)
            return method(
                actor=actor(args),
                ongoing=_ongoing(ctx),
                severity=text(args, "severity"),
                symptom_start=None if start is None else instant(start, "--symptom-start"),
                services=strings(args, "service"),
                regions=strings(args, "region"),
                user_segments=strings(args, "segment"),
                errors=errors,
                traffic=traffic,
                users=users,
                slo=number(args, "slo"),
                measures=_measures(ctx, strings(args, "measure"), progress),
                stated=_figures(strings(args, "figure")),
                summary=text(args, "summary") or "",
                timeout=number(args, "timeout") or 30.0,
            )

    return _step(ctx, "assess_impact", act, _impact_extra)


def update_impact(ctx: Context) -> Result:
    """``incidentkit update-impact``: escalate, de-escalate, say it ended, restate figures."""
    args = ctx.args

    def act(method: Any) -> object:  # noqa: ANN401 - the phase's bound step
        start = text(args, "symptom_start")
        return method(
            actor=actor(args),
            reason=str(args.reason),
            severity=text(args, "severity"),
            ongoing=_ongoing(ctx),
            symptom_start=None if start is None else instant(start, "--symptom-start"),
            services=strings(args, "service") or None,
            regions=strings(args, "region") or None,
            user_segments=strings(args, "segment") or None,
            stated=_figures(strings(args, "figure")),
            summary=text(args, "summary"),
        )

    return _step(ctx, "update_impact", act, _impact_extra)


# --- gathering ----------------------------------------------------------------


def _gather_sources(ctx: Context) -> dict[SourceRole, list[str]]:
    named: dict[SourceRole, list[str]] = {
        "deploys": strings(ctx.args, "deploys"),
        "infrastructure": strings(ctx.args, "infrastructure"),
        "dependencies": strings(ctx.args, "dependencies"),
        "metrics": [],
    }
    if any(named.values()):
        return named
    adapters = ctx.adapters()
    for name in adapters.config.sources:
        role = adapters.role(name)
        named[role].append(name)
    if not any(named.values()):
        raise CliError(
            "gather: no source named and none configured; name them with --deploys, "
            "--infrastructure or --dependencies, or add [sources.NAME] to the configuration"
        )
    return named


def _gather_extra(now: AnyPhase) -> tuple[dict[str, Any], list[str]]:
    ranking = now.suspects()
    lines = [f"suspects: {one_line(ranking.explanation)}"]
    lines.extend(
        f"  {s.score:.2f} {s.change.started.strftime('%H:%M')} {s.change.kind.value:<14} "
        f"{one_line(s.change.id)}: {one_line(s.change.summary)}"
        for s in ranking.suspects
    )
    return {"suspects": jsonable(list(ranking.suspects))}, lines


def gather(ctx: Context) -> Result:
    """``incidentkit gather``: what changed around the symptom, from the named sources."""
    args = ctx.args

    def act(method: Any) -> object:  # noqa: ANN401 - the phase's bound step
        named = _gather_sources(ctx)
        adapters = ctx.adapters()
        with _progress(ctx, "gathering") as progress:
            deploys = [
                progress.deploys(cast("DeploySource", adapters.source(n, "deploys")), n)
                for n in named["deploys"]
            ]
            infrastructure = [
                progress.changes(cast("ChangeSource", adapters.source(n, "infrastructure")), n)
                for n in named["infrastructure"]
            ]
            dependencies = [
                progress.dependencies(
                    cast("DependencyStatusSource", adapters.source(n, "dependencies")), n
                )
                for n in named["dependencies"]
            ]
            lookback = number(args, "lookback")
            return method(
                actor=actor(args),
                deploys=deploys,
                infrastructure=infrastructure,
                dependencies=dependencies,
                lookback=6 * 3600.0 if lookback is None else lookback,
                services=strings(args, "only_service") or None,
                timeout=number(args, "timeout") or 30.0,
            )

    return _step(ctx, "gather_changes", act, _gather_extra)


# --- rollback review and intervention ---------------------------------------------


def _option_line(option: RollbackOption) -> list[str]:
    lines = [f"  {one_line(option.id)}: {one_line(option.describe())}"]
    lines.extend(
        f"      caveat {caveat.kind.value}: {one_line(caveat.detail)}" for caveat in option.caveats
    )
    return lines


def _review_extra(now: AnyPhase) -> tuple[dict[str, Any], list[str]]:
    options = now.rollback_options if isinstance(now, (Reviewed, Intervened)) else ()
    uncovered = now.uncovered_changes if isinstance(now, Reviewed) else ()
    lines = ["rollback options:" if options else "no rollback option"]
    for option in options:
        lines.extend(_option_line(option))
    if uncovered:
        lines.append("no executor for: " + ", ".join(one_line(c) for c in uncovered))
    return {"rollback_options": jsonable(list(options)), "uncovered": list(uncovered)}, lines


def _executors(ctx: Context, names: Sequence[str]) -> list[RollbackExecutor]:
    adapters = ctx.adapters()
    chosen = list(names) or list(adapters.config.executors)
    if not chosen:
        raise CliError(
            "review: no executor named and none configured; name one with --executor NAME, "
            "or add [executors.NAME] to the configuration (or review --skip --reason ...)"
        )
    return [masked_executor(adapters.executor(name), ctx.secrets.mask) for name in chosen]


def review(ctx: Context) -> Result:
    """``incidentkit review``: the rollback options and their caveats, before any intervention."""
    args = ctx.args
    if args.skip:
        reason = text(args, "reason")
        if not reason:
            raise CliError("review --skip needs --reason: an override is never silent")
        return _step(
            ctx,
            "skip_rollback_review",
            lambda method: method(actor=actor(args), reason=reason),
            _review_extra,
        )

    def act(method: Any) -> object:  # noqa: ANN401 - the phase's bound step
        return method(
            _executors(ctx, strings(args, "executor")),
            actor=actor(args),
            timeout=number(args, "timeout") or 30.0,
        )

    return _step(ctx, "review_rollbacks", act, _review_extra)


def _chosen_option(phase: AnyPhase, option_id: str | None, change: str | None) -> RollbackOption:
    options = phase.rollback_options if isinstance(phase, (Reviewed, Intervened)) else ()
    if (option_id is None) == (change is None):
        raise CliError("roll-back: give the option's id, or --change CHANGE_ID, and only one")
    if option_id is not None:
        matches = [o for o in options if o.id == option_id]
    else:
        matches = [o for o in options if o.change_id == change]
    if len(matches) == 1:
        return matches[0]
    listed = "; ".join(f"{o.id} ({o.describe()})" for o in options) or "none"
    what = f"option {option_id!r}" if option_id is not None else f"change {change!r}"
    problem = "matches several options" if matches else "is not among the latest review's options"
    raise CliError(f"roll-back: the {what} {problem}; the options: {listed}")


def _executor_for(ctx: Context, option: RollbackOption, name: str | None) -> RollbackExecutor:
    adapters = ctx.adapters()
    if name is not None:
        return masked_executor(adapters.executor(name), ctx.secrets.mask)
    for configured in adapters.config.executors:
        executor = adapters.executor(configured)
        if executor.name == option.executor:
            return masked_executor(executor, ctx.secrets.mask)
    known = ", ".join(adapters.config.executors) or "none"
    raise CliError(
        f"roll-back: the option {option.id!r} was offered by the executor "
        f"{option.executor!r}, and no configured executor has that name (configured: {known})",
        hint="name one with --executor NAME",
    )


def roll_back(ctx: Context) -> Result:
    """``incidentkit roll-back``: roll back through an executor (rehearsed first)."""
    args = ctx.args
    where = ctx.target()
    phase = resume(where, clock(args))
    method: Any = getattr(phase, "roll_back")  # noqa: B009 - the protocol refuses it here
    option = _chosen_option(phase, text(args, "option"), text(args, "change"))
    executor = _executor_for(ctx, option, text(args, "executor"))
    before = phase.anchor.seq
    code, failure = ExitCode.OK, ""
    try:
        method(
            option,
            actor=actor(args),
            executor=executor,
            rehearse=not args.no_rehearse,
            timeout=number(args, "timeout") or 30.0,
        )
    except RollbackFailedError as exc:
        code, failure = ExitCode.FAILED, str(exc)
    return _stepped(
        where,
        "roll_back",
        phase.refresh(),
        before=before,
        code=code,
        failure=failure,
        extra=None,
        outcome=None,
    )


def mitigate(ctx: Context) -> Result:
    """``incidentkit mitigate``: an intervention other than a rollback, and why."""
    args = ctx.args
    return _step(
        ctx,
        "mitigate",
        lambda method: method(
            str(args.action),
            actor=actor(args),
            why_not_rollback=str(args.why_not_rollback),
            kind=_enum(MitigationKind, str(args.kind), "--kind"),
        ),
    )


# --- recovery and diagnosis -----------------------------------------------------


def _verdict_extra(now: AnyPhase) -> tuple[dict[str, Any], list[str]]:
    verdict = now.verdict if isinstance(now, Recovered) else getattr(now, "last_verdict", None)
    if verdict is None:  # pragma: no cover - after a check
        return {}, []
    lines = [f"recovery: {verdict.outcome.value} (judged by {verdict.test})"]
    lines.extend(f"  - {one_line(reason)}" for reason in verdict.reasons)
    return {"verdict": jsonable(verdict), "recovered": isinstance(now, Recovered)}, lines


def _recovered(now: AnyPhase) -> ExitCode:
    if isinstance(now, Recovered):
        return ExitCode.OK
    verdict = getattr(now, "last_verdict", None)
    outcome = None if verdict is None else verdict.outcome
    return ExitCode.OK if outcome is RecoveryOutcome.RECOVERED else ExitCode.FAILED


def verify_recovery(ctx: Context) -> Result:
    """``incidentkit verify-recovery``: decide from monitoring; exit 1 when not shown."""
    args = ctx.args
    kind = objective_kind(args, recovery=True)

    def act(method: Any) -> object:  # noqa: ANN401 - the phase's bound step
        hold = number(args, "hold")
        with _progress(ctx, "querying") as progress:
            errors = _objective(ctx, kind, progress)
            traffic = _metric(ctx, text(args, "traffic"), progress)
            baseline = number(args, "baseline")
            return method(
                actor=actor(args),
                errors=errors,
                traffic=traffic,
                baseline=3600.0 if baseline is None else baseline,
                policy=None if hold is None else RecoveryPolicy(hold=hold),
                timeout=number(args, "timeout") or 30.0,
            )

    return _step(ctx, "verify_recovery", act, _verdict_extra, outcome=_recovered)


def diagnose(ctx: Context) -> Result:
    """``incidentkit diagnose``: begin the diagnosis (``--without-recovery``: the override)."""
    args = ctx.args
    if args.without_recovery:
        reason = text(args, "reason")
        if not reason:
            raise CliError(
                "diagnose --without-recovery needs --reason: an override is never silent"
            )
        return _step(
            ctx,
            "diagnose_without_recovery",
            lambda method: method(actor=actor(args), reason=reason),
        )
    return _step(ctx, "begin_diagnosis", lambda method: method(actor=actor(args)))


def hypothesis(ctx: Context) -> Result:
    """``incidentkit hypothesis``: a hypothesis about the cause, tied to evidence."""
    args = ctx.args
    evidence = _evidence(strings(args, "evidence"))
    return _step(
        ctx,
        "hypothesis",
        lambda method: method(str(args.statement), actor=actor(args), evidence=evidence),
    )


def reject_hypothesis(ctx: Context) -> Result:
    """``incidentkit reject-hypothesis``: rule a hypothesis out, with the reason."""
    args = ctx.args
    return _step(
        ctx,
        "reject_hypothesis",
        lambda method: method(str(args.hypothesis_id), actor=actor(args), reason=str(args.reason)),
    )


def _checklist_extra(now: AnyPhase) -> tuple[dict[str, Any], list[str]]:
    items = [item.value for item in getattr(now, "open_items", ())]
    line = "checklist: open: " + ", ".join(items) if items else "checklist: all checked or waived"
    return {"open_checklist_items": items}, [line]


def check(ctx: Context) -> Result:
    """``incidentkit check``: a usual suspect checked against the sources that answered."""
    args = ctx.args
    item = _enum(ChecklistItem, str(args.item), "item")
    return _step(
        ctx,
        "check",
        lambda method: method(item, actor=actor(args), conclusion=str(args.conclusion)),
        _checklist_extra,
    )


def waive(ctx: Context) -> Result:
    """``incidentkit waive``: a usual suspect waived, with the reason."""
    args = ctx.args
    item = _enum(ChecklistItem, str(args.item), "item")
    return _step(
        ctx,
        "waive",
        lambda method: method(item, actor=actor(args), reason=str(args.reason)),
        _checklist_extra,
    )


def resolve(ctx: Context) -> Result:
    """``incidentkit resolve``: the root cause and its evidence."""
    args = ctx.args
    evidence = _evidence(strings(args, "evidence"))
    return _step(
        ctx,
        "resolve",
        lambda method: method(
            actor=actor(args), root_cause=str(args.root_cause), evidence=evidence
        ),
    )


# --- every phase ------------------------------------------------------------------


def note(ctx: Context) -> Result:
    """``incidentkit note``: an observation, in any phase."""
    args = ctx.args
    return _step(ctx, "note", lambda method: method(str(args.text), actor=actor(args)))


def finding(ctx: Context) -> Result:
    """``incidentkit finding``: a finding for the post-mortem."""
    args = ctx.args
    kind = _enum(FindingKind, str(args.kind), "--kind")
    return _step(
        ctx,
        "finding",
        lambda method: method(
            str(args.summary), actor=actor(args), detail=text(args, "detail") or "", kind=kind
        ),
    )


def hand_over(ctx: Context) -> Result:
    """``incidentkit hand-over``: a role handed to another responder."""
    args = ctx.args
    role = _enum(Role, str(args.role_name), "role")
    return _step(
        ctx,
        "hand_over",
        lambda method: method(
            role, to=str(args.to), actor=actor(args), note=text(args, "note") or ""
        ),
    )


def follow_up(ctx: Context) -> Result:
    """``incidentkit follow-up``: an action item with an owner, also after resolution."""
    args = ctx.args
    return _step(
        ctx,
        "follow_up",
        lambda method: method(
            str(args.action),
            owner=str(args.owner),
            actor=actor(args),
            notes=text(args, "notes") or "",
        ),
    )


def correct_clock(ctx: Context) -> Result:
    """``incidentkit correct-clock``: record that time goes on from an earlier instant."""
    args = ctx.args
    return _step(
        ctx, "correct_clock", lambda method: method(actor=actor(args), reason=str(args.reason))
    )


COMMANDS: dict[str, Callable[[Context], Result]] = {
    "declare": declare,
    "assess": assess,
    "update-impact": update_impact,
    "gather": gather,
    "review": review,
    "roll-back": roll_back,
    "mitigate": mitigate,
    "verify-recovery": verify_recovery,
    "diagnose": diagnose,
    "hypothesis": hypothesis,
    "reject-hypothesis": reject_hypothesis,
    "check": check,
    "waive": waive,
    "resolve": resolve,
    "note": note,
    "finding": finding,
    "hand-over": hand_over,
    "follow-up": follow_up,
    "correct-clock": correct_clock,
}
"""The driving commands, by name."""
