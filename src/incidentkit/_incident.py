"""The incident protocol: one class per phase, each with only the steps it allows.

A transition method returns the next phase; a method that is not allowed in a
phase does not exist on that phase's class, so the type checker rejects the
wrong order. Untyped callers get :class:`ProtocolViolation` at run time, and a
phase object the incident has moved on from raises :class:`StalePhaseError`.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, ClassVar, NoReturn, TypeAlias, cast

import attrs
import pendulum
from typing_extensions import Self

from incidentkit._errors import (
    InvalidInputError,
    JournalCorruptedError,
    ProtocolViolation,
    RollbackFailedError,
    StalePhaseError,
    StepNotAvailable,
)
from incidentkit._events import (
    ChangesGathered,
    ChecklistItemChecked,
    ChecklistItemWaived,
    DiagnosisBegun,
    Event,
    FindingRecorded,
    HypothesisRecorded,
    HypothesisRejected,
    ImpactAssessed,
    IncidentDeclared,
    IncidentResolved,
    Measurement,
    MitigationApplied,
    NoteAdded,
    OverrideRecorded,
    RecoveryChecked,
    RollbackExecuted,
    RollbacksReviewed,
    SourceOutcome,
    structure_event,
    unstructure_event,
)
from incidentkit._gather import (
    adapter_name,
    call_adapter,
    call_concurrently,
    checked_changes,
    checked_options,
    checked_result,
    checked_series,
)
from incidentkit._journal import Anchor, Journal
from incidentkit._model import (
    DEPENDENCY_KINDS,
    DEPLOY_KINDS,
    INFRASTRUCTURE_KINDS,
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
    MitigationKind,
    PartialChanges,
    RollbackOption,
    RollbackResult,
    Series,
    Severity,
    as_actor,
)
from incidentkit._recovery import RecoveryOutcome, RecoveryPolicy, RecoveryVerdict, check_recovery
from incidentkit._specs import Measure, Metric
from incidentkit._state import (
    OVERRIDE_TARGETS,
    STEP_REQUIREMENTS,
    IncidentState,
    require,
    requirement,
)
from incidentkit._time import SystemClock, to_instant

if TYPE_CHECKING:
    from incidentkit._report import Report
    from incidentkit._timeline import TimelineEntry
    from incidentkit.analysis._impact import ImpactNumbers
    from incidentkit.analysis._onset import Onset
    from incidentkit.analysis._suspects import SuspectRanking
    from incidentkit.protocols import (
        ChangeSource,
        Clock,
        DependencyStatusSource,
        DeploySource,
        RollbackExecutor,
    )

__all__ = [
    "AnyPhase",
    "Assessed",
    "Declared",
    "Diagnosing",
    "Incident",
    "Intervened",
    "Recovered",
    "Resolved",
    "Reviewed",
]

_DEFAULT_LOOKBACK = 6 * 3600.0
_DEFAULT_GATHER_TIMEOUT = 30.0
_DEFAULT_QUERY_TIMEOUT = 30.0
_ONSET_EPISODES = 4  # earlier, finished episodes skipped before giving up on an onset
_ONSET_LOOKBACK = 6 * 3600.0
"""How far before the detection the error metric is read: the longest burn-rate window."""


def _is_text(value: object) -> bool:
    """Whether ``value`` is a string with something in it (untyped callers pass anything)."""
    return isinstance(value, str) and bool(value.strip())


def _text(value: str, what: str) -> str:
    if not _is_text(value):
        msg = f"{what} must be a non-empty string"
        raise InvalidInputError(msg)
    return value


def _seconds(value: float | dt.timedelta, what: str) -> float:
    seconds = value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
    if not seconds > 0:
        msg = f"{what} must be a positive duration, not {value!r}"
        raise InvalidInputError(msg)
    return seconds


class _Core:
    """What all phase objects of one incident share: journal, state, clock."""

    def __init__(self, journal: Journal, state: IncidentState, clock: Clock) -> None:
        self.journal = journal
        self.state = state
        self.clock = clock
        self.current: _Phase | None = None
        self.executors: dict[str, RollbackExecutor] = {}
        # The head of the chain this state was folded from: an append must extend
        # exactly it, so a writer that fell behind never appends on stale state.
        self.head = journal.head

    def now(self) -> pendulum.DateTime:
        return to_instant(self.clock.now(), what="the clock's now()")

    def record(self, event: Event) -> int:
        """Validate, append durably, then fold; return the event's sequence number."""
        self.state.validate(event)
        record = self.journal.append(unstructure_event(event), expect_head=self.head)
        self.state.apply(record.seq, event)
        self.head = record.anchor
        return record.seq


class _Phase:
    """The part every phase shares: identity, reading, notes and findings."""

    PHASE: ClassVar[str] = ""

    def __init__(self, core: _Core) -> None:
        self._core = core
        core.current = self

    def _enter(self, step: str) -> _Core:
        core = self._core
        if core.current is not self:
            raise StalePhaseError(self.PHASE, step, core.state.phase)
        require(core.state.phase, step)
        return core

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> NoReturn:
            if name in STEP_REQUIREMENTS:
                raise StepNotAvailable(self.PHASE, name, requirement(self.PHASE, name))
            msg = f"{type(self).__name__!r} object has no attribute {name!r}"
            raise AttributeError(msg)

    def __repr__(self) -> str:
        """Return the phase and the incident."""
        stale = "" if self._core.current is self else " (stale)"
        return f"<{type(self).__name__} {self.incident_id} {self.title!r}{stale}>"

    # --- reading -------------------------------------------------------

    @property
    def phase(self) -> str:
        """The name of this phase (``declared``, ``assessed``, ...)."""
        return self.PHASE

    @property
    def is_current(self) -> bool:
        """Whether this object is the incident's current phase (not stale)."""
        return self._core.current is self

    @property
    def incident_id(self) -> str:
        """The incident's identifier."""
        return self._core.state.declared.incident_id

    @property
    def title(self) -> str:
        """The incident's title."""
        return self._core.state.declared.title

    @property
    def services(self) -> tuple[str, ...]:
        """The services declared as affected."""
        return self._core.state.declared.services

    @property
    def journal_path(self) -> str:
        """The path of the incident's journal file."""
        return str(self._core.journal.path)

    @property
    def anchor(self) -> Anchor:
        """The head of the journal's hash chain: keep it to detect later truncation."""
        head = self._core.journal.head
        assert head is not None  # noqa: S101 - a declared incident has one record at least
        return head

    @property
    def events(self) -> tuple[Event, ...]:
        """Every event so far, in journal order."""
        return tuple(self._core.state.events)

    @property
    def findings(self) -> tuple[Finding, ...]:
        """The findings so far, overrides included."""
        from incidentkit._report import collect_findings  # noqa: PLC0415 - avoid a cycle

        return tuple(f for _seq, f in collect_findings(self._core.state))

    @property
    def changes(self) -> tuple[Change, ...]:
        """Every change gathered so far: the suspects best first, then later, then older ones."""
        ranking = self._core.state.ranking()
        return (
            *(s.change for s in ranking.suspects),
            *ranking.after_onset,
            *ranking.too_old,
        )

    def suspects(self) -> SuspectRanking:
        """Rank the gathered changes as suspects of causing the symptom.

        Uses the symptom start (or the detection, before the impact is
        assessed), the affected services, the dependency map given at
        declaration and the widest lookback gathered. Evidence, not a verdict:
        a hypothesis still needs a person.
        """
        return self._core.state.ranking()

    def timeline(self) -> list[TimelineEntry]:
        """Return the timeline so far: changes, symptom window and the incident's steps."""
        from incidentkit._timeline import build_timeline  # noqa: PLC0415 - avoid a cycle

        return build_timeline(self._core.state)

    # --- shared machinery ----------------------------------------------

    def _gap(self, core: _Core, actor: Actor, summary: str, detail: str) -> None:
        core.record(
            FindingRecorded(core.now(), actor, Finding(FindingKind.MONITORING_GAP, summary, detail))
        )

    def _override(self, step: str, actor: Actor | str, reason: str) -> _Core:
        core = self._enter(step)
        core.record(
            OverrideRecorded(
                core.now(),
                as_actor(actor),
                step,
                core.state.phase,
                OVERRIDE_TARGETS[step],
                _text(reason, "an override's reason"),
            )
        )
        return core


class _Open(_Phase):
    """The phases before resolution: each may take notes and findings."""

    def note(self, text: str, *, actor: Actor | str) -> Self:
        """Write down an observation.

        Returns:
            This phase (a note does not move the incident on).
        """
        core = self._enter("note")
        core.record(NoteAdded(core.now(), as_actor(actor), _text(text, "a note")))
        return self

    def finding(
        self,
        summary: str,
        *,
        actor: Actor | str,
        detail: str = "",
        kind: FindingKind = FindingKind.OBSERVATION,
    ) -> Self:
        """Record a finding for the post-mortem.

        Returns:
            This phase.
        """
        core = self._enter("finding")
        core.record(FindingRecorded(core.now(), as_actor(actor), Finding(kind, summary, detail)))
        return self


class _Gathering(_Open):
    """Phases after the impact is known may gather what changed."""

    def gather_changes(
        self,
        *,
        actor: Actor | str,
        deploys: Sequence[DeploySource] = (),
        infrastructure: Sequence[ChangeSource] = (),
        dependencies: Sequence[DependencyStatusSource] = (),
        lookback: float | dt.timedelta = _DEFAULT_LOOKBACK,
        services: Sequence[str] | None = None,
        timeout: float | dt.timedelta = _DEFAULT_GATHER_TIMEOUT,
    ) -> Self:
        """Gather what changed around the symptom: evidence, not theory.

        Asks every source for the changes under way from ``lookback`` before the
        symptom start until now. The sources are asked concurrently, so the
        gathering takes about as long as the slowest source, not the sum. A
        source that fails, answers garbage or does not answer within
        ``timeout`` is recorded as a monitoring-gap finding; the others still
        count. How long each source took is journaled with its outcome.

        Args:
            actor: Who gathers.
            deploys: Deploy sources (deploys, config and feature-flag changes).
            infrastructure: Infrastructure change sources.
            dependencies: Dependency status sources.
            lookback: How far before the symptom start to look (seconds or a
                timedelta); bounded so that an incident is never pinned on an
                arbitrarily old change.
            services: Only changes of these services (dependency incidents are
                never filtered); ``None`` means all.
            timeout: How long each source may take (seconds or a timedelta).
                A source still running then is abandoned (its thread is left
                to finish on its own; its late answer is dropped).

        Returns:
            This phase, with :attr:`changes` extended.

        Raises:
            InvalidInputError: No source was given, or the lookback or the
                timeout is not positive.
        """
        core = self._enter("gather_changes")
        who = as_actor(actor)
        if not (deploys or infrastructure or dependencies):
            msg = "gather_changes needs at least one deploy, infrastructure or dependency source"
            raise InvalidInputError(msg)
        end = core.now()
        start = core.state.symptom_start.subtract(seconds=_seconds(lookback, "lookback"))
        wanted = None if services is None else list(services)
        found: list[Change] = []
        outcomes: list[SourceOutcome] = []
        gaps: list[str] = []
        partials: list[str] = []
        jobs: list[
            tuple[str, ChecklistItem, frozenset[ChangeKind], Callable[[], Sequence[Change]]]
        ] = [
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
            [(name, "gathering changes", call) for name, _item, _kinds, call in jobs],
            _seconds(timeout, "timeout"),
        )
        for (name, item, kinds, _call), answer in zip(jobs, answers, strict=True):
            seconds = round(answer.seconds, 3)
            changes: list[Change] = []
            error = answer.error
            if not error:
                changes, error = checked_changes(name, answer.result, kinds)
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
        core.record(ChangesGathered(end, who, start, end, tuple(found), tuple(outcomes)))
        for error in gaps:
            self._gap(core, who, "a change source could not be read", error)
        for gap in partials:
            self._gap(core, who, "a change source answered for part of the window only", gap)
        return self


class _Reviewing(_Open):
    """Phases that may (re)review the rollback options."""

    def review_rollbacks(
        self,
        executors: Sequence[RollbackExecutor],
        *,
        actor: Actor | str,
        changes: Sequence[Change] | None = None,
    ) -> Reviewed:
        """Ask the executors how the recent changes could be rolled back.

        Each option carries its caveats: a schema migration, a target version
        that was itself deployed after the symptom began, an automated sync
        that would re-apply the change, no dry run. Changes no executor can
        roll back are listed as uncovered. An empty review is valid and is
        recorded as a finding.

        Args:
            executors: The rollback executors to ask.
            actor: Who reviews.
            changes: The changes to review; by default every gathered change
                except dependency incidents, closest to the symptom start first.

        Returns:
            The reviewed phase, where ``roll_back`` and ``mitigate`` exist.
        """
        core = self._enter("review_rollbacks")
        who = as_actor(actor)
        state = core.state
        if changes is None:
            ranking = state.ranking()
            changes = [
                c
                for c in (
                    *(s.change for s in ranking.suspects),
                    *ranking.after_onset,
                    *ranking.too_old,
                )
                if c.kind is not ChangeKind.DEPENDENCY
            ]
        options: list[RollbackOption] = []
        uncovered: list[str] = []
        gaps: list[str] = []
        names = [adapter_name(e) for e in executors]
        for name, executor in zip(names, executors, strict=True):
            core.executors[name] = executor
        for change in changes:
            offered: list[RollbackOption] = []
            for name, executor in zip(names, executors, strict=True):
                answer, error = call_adapter(
                    name, f"options for {change.id}", partial(executor.options, change)
                )
                found: list[RollbackOption] = []
                if not error:
                    found, error = checked_options(name, answer)
                if error:
                    gaps.append(error)
                    continue
                offered.extend(_with_caveats(o, change, state) for o in found)
            if offered:
                options.extend(offered)
            else:
                uncovered.append(change.id)
        core.record(
            RollbacksReviewed(
                core.now(),
                who,
                tuple(options),
                tuple(uncovered),
                tuple(names),
            )
        )
        for error in gaps:
            self._gap(core, who, "a rollback executor could not be asked", error)
        if not options:
            detail = (
                "no changes were gathered to review"
                if not changes
                else "uncovered changes: " + ", ".join(uncovered)
            )
            core.record(
                FindingRecorded(
                    core.now(),
                    who,
                    Finding(FindingKind.NO_ROLLBACK_OPTION, "no rollback option was found", detail),
                )
            )
        return Reviewed(core)


def _with_caveats(option: RollbackOption, change: Change, state: IncidentState) -> RollbackOption:
    """Add the caveats the library can see from the gathered changes."""
    caveats = list(option.caveats)
    kinds = {c.kind for c in caveats}
    impact = state.impact
    assert impact is not None  # noqa: S101 - reviewing comes after the impact
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
                and other.started >= impact.symptom_start
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


class _Intervening(_Open):
    """Phases that may intervene: after the rollback review."""

    def roll_back(
        self,
        option: RollbackOption,
        *,
        actor: Actor | str,
        executor: RollbackExecutor | None = None,
        rehearse: bool = True,
    ) -> Intervened:
        """Roll back through the executor: dry run first where it can, then for real.

        The attempt is recorded whatever happens. A failed rehearsal stops
        before anything changes.

        Args:
            option: One of the options of the latest review.
            actor: Who rolls back.
            executor: The executor to use; by default the one named by the
                option, as passed to ``review_rollbacks`` in this process.
            rehearse: Whether to dry-run first when the option supports it.

        Returns:
            The intervened phase, where recovery is verified.

        Raises:
            InvalidInputError: The option is not from the latest review, or its
                executor is not known in this process.
            RollbackFailedError: The rehearsal or the rollback failed; the
                failure is in the journal and the incident stays in this phase.
        """
        core = self._enter("roll_back")
        who = as_actor(actor)
        if option not in core.state.rollback_options():
            msg = f"option {option.id!r} is not one of the latest review's options"
            raise InvalidInputError(msg)
        runner = executor or core.executors.get(option.executor)
        if runner is None:
            msg = (
                f"executor {option.executor!r} is not known in this process "
                "(after a resume): pass executor=..."
            )
            raise InvalidInputError(msg)
        rehearsal: RollbackResult | None = None
        runner_name = adapter_name(runner)
        if rehearse and option.supports_dry_run:
            answer, error = call_adapter(runner_name, "dry run", lambda: runner.dry_run(option))
            if not error:
                rehearsal, error = checked_result(runner_name, answer)
            if not error and rehearsal is not None and not rehearsal.succeeded:
                error = f"{runner_name}: dry run failed: {rehearsal.detail}"
            if error:
                self._failed(
                    core, who=who, option=option, rehearsal=rehearsal, result=None, error=error
                )
        answer, error = call_adapter(runner_name, "rollback", lambda: runner.execute(option))
        result: RollbackResult | None = None
        if not error:
            result, error = checked_result(runner_name, answer)
        if not error and result is not None and (result.dry_run or not result.succeeded):
            error = f"{runner_name}: rollback failed: {result.detail}"
        if error:
            self._failed(
                core, who=who, option=option, rehearsal=rehearsal, result=result, error=error
            )
        core.record(RollbackExecuted(core.now(), who, option, rehearsal, result))
        return Intervened(core)

    def _failed(
        self,
        core: _Core,
        *,
        who: Actor,
        option: RollbackOption,
        rehearsal: RollbackResult | None,
        result: RollbackResult | None,
        error: str,
    ) -> NoReturn:
        core.record(RollbackExecuted(core.now(), who, option, rehearsal, result, error))
        raise RollbackFailedError(
            f"{error}. The attempt is in the journal; the incident stays in phase "
            f"{core.state.phase!r}: pick another option or mitigate.",
            source=option.executor,
        )

    def mitigate(
        self,
        action: str,
        *,
        actor: Actor | str,
        why_not_rollback: str,
        kind: MitigationKind = MitigationKind.OTHER,
    ) -> Intervened:
        """Record an intervention other than a rollback, and why rollback was not chosen.

        Args:
            action: What was done (``"turned off flag new-pricing"``).
            actor: Who did it.
            why_not_rollback: Why a rollback was not the intervention.
            kind: The generic mitigation it is.

        Returns:
            The intervened phase, where recovery is verified.
        """
        core = self._enter("mitigate")
        core.record(
            MitigationApplied(
                core.now(),
                as_actor(actor),
                _text(action, "a mitigation's action"),
                kind,
                _text(why_not_rollback, "why_not_rollback"),
            )
        )
        return Intervened(core)


class _Verifying(_Open):
    """Phases that may verify recovery."""

    def verify_recovery(
        self,
        *,
        actor: Actor | str,
        errors: Metric,
        traffic: Metric,
        baseline: float | dt.timedelta = 3600.0,
        policy: RecoveryPolicy | None = None,
        timeout: float | dt.timedelta = _DEFAULT_QUERY_TIMEOUT,
    ) -> Recovered | Self:
        """Decide from monitoring whether the symptom is gone.

        Queries the error metric and the traffic metric from ``baseline``
        before the symptom start until now, and judges the samples after the
        latest intervention (or, for an impact that was not ongoing, after the
        symptom start) against the pre-incident baseline: back at baseline,
        held for the policy's hold period, with real traffic, without gaps.

        Args:
            actor: Who verifies.
            errors: The error metric (higher is worse).
            traffic: The traffic metric (requests per second or per step).
            baseline: The length of the baseline window before the symptom start.
            policy: How strict to be (hold period, tolerance, traffic share).
            timeout: How long each query may take (seconds or a timedelta); the
                two are asked at once. A query still running then is a gap.

        Returns:
            The recovered phase, or a fresh object of this phase if recovery is
            not shown (not recovered: intervene again; inconclusive: check
            again later). The verdict is :attr:`last_verdict`. Missing data or
            no traffic is inconclusive and recorded as a monitoring gap.

        Raises:
            ProtocolViolation: Called before any intervention while the impact
                was ongoing at assessment.
        """
        core = self._enter("verify_recovery")
        who = as_actor(actor)
        state = core.state
        impact = state.impact
        assert impact is not None  # noqa: S101 - verification comes after the impact
        blocker = state.verification_blocker()
        if blocker is not None:
            raise ProtocolViolation(self.PHASE, "verify_recovery", blocker)
        now = core.now()
        since = state.intervention_at or impact.symptom_start
        baseline_end = impact.symptom_start
        baseline_start = baseline_end.subtract(seconds=_seconds(baseline, "baseline"))
        (error_series, error_gap), (traffic_series, traffic_gap) = _fetch_all(
            [errors, traffic], baseline_start, now, _seconds(timeout, "timeout")
        )
        if error_series is None or traffic_series is None:
            reasons = tuple(r for r in (error_gap, traffic_gap) if r)
            verdict = RecoveryVerdict(
                RecoveryOutcome.INCONCLUSIVE,
                (*reasons, "without data there is no recovery"),
                monitoring_gap=True,
            )
        else:
            verdict = check_recovery(
                error_series,
                traffic_series,
                baseline_start=baseline_start,
                baseline_end=baseline_end,
                intervention_at=since,
                until=now,
                step=errors.step,
                policy=policy,
            )
        core.record(
            RecoveryChecked(
                now,
                who,
                verdict,
                since,
                baseline_start,
                baseline_end,
                error_series,
                traffic_series,
            )
        )
        if verdict.monitoring_gap:
            self._gap(
                core,
                who,
                "recovery could not be verified from monitoring",
                "; ".join(verdict.reasons),
            )
        for warning in (*_warned(error_series), *_warned(traffic_series)):
            self._gap(core, who, "a metric source warned about its answer", warning)
        if verdict.outcome is RecoveryOutcome.RECOVERED:
            return Recovered(core)
        return type(self)(core)

    @property
    def last_verdict(self) -> RecoveryVerdict | None:
        """The verdict of the latest recovery check, if any."""
        checks = self._core.state.checks
        return checks[-1].verdict if checks else None


def _current_onset(series: Series, detected: pendulum.DateTime) -> Onset | None:
    """Detect the onset of the symptom this incident is about, in the error series.

    The detector reports the first clear shift of the series. One that was
    over before the incident was detected is an earlier episode, not this
    symptom: look again after it ended, a few times at most.
    """
    from incidentkit.analysis._onset import detect_onset  # noqa: PLC0415 - only when used

    offset = 0
    rest = series
    for _ in range(_ONSET_EPISODES):
        onset = detect_onset(rest)
        if onset is None or onset.ended_at is None or onset.ended_at > detected:
            if onset is None or offset == 0:
                return onset
            end_index = None if onset.end_index is None else onset.end_index + offset
            index = onset.index + offset
            explanation = onset.explanation.replace(f"(sample {onset.index})", f"(sample {index})")
            return attrs.evolve(onset, index=index, end_index=end_index, explanation=explanation)
        assert onset.end_index is not None  # noqa: S101 - set together with ended_at
        offset += onset.end_index
        rest = attrs.evolve(series, samples=series.samples[offset:])
    return None


def _warned(series: Series | None) -> list[str]:
    """Return a gap text for each warning the source attached to ``series``."""
    if series is None:
        return []
    source, query = series.query.source, series.query.query
    return [f"{source}: {query!r}: the source warned: {w}" for w in series.warnings]


def _metric_key(metric: Metric) -> tuple[int, str, float, str]:
    return (id(metric.source), metric.query, metric.step, metric.unit)


def _fetch_all(
    metrics: Sequence[Metric], start: pendulum.DateTime, end: pendulum.DateTime, timeout: float
) -> list[tuple[Series | None, str]]:
    """Query every metric at once, each within ``timeout``; a series or why there is none."""
    answers = call_concurrently(
        [
            (
                adapter_name(m.source),
                f"query {m.query!r}",
                partial(m.source.query_range, m.query, start, end, m.step),
            )
            for m in metrics
        ],
        timeout,
    )
    out: list[tuple[Series | None, str]] = []
    for metric, answer in zip(metrics, answers, strict=True):
        if answer.error:
            out.append((None, answer.error))
        else:
            out.append(checked_series(adapter_name(metric.source), answer.result))
    return out


class _DiagnosingOverride(_Open):
    """Phases before recovery, from which diagnosis may begin by override."""

    def diagnose_without_recovery(self, *, actor: Actor | str, reason: str) -> Diagnosing:
        """Begin diagnosis before recovery is verified: an override, never silent.

        For when no mitigation exists and finding the cause is the way to
        stabilise. The override is written to the journal with its actor and
        reason and appears in the report as a finding.

        Returns:
            The diagnosing phase.
        """
        core = self._override("diagnose_without_recovery", actor, reason)
        return Diagnosing(core)


class Declared(_DiagnosingOverride):
    """**Phase**: the incident is open; assess the impact first.

    Allowed: :meth:`note`, :meth:`finding`, :meth:`assess_impact`, and the
    override :meth:`diagnose_without_recovery`.

    .. versionadded:: 0.1.0
    """

    PHASE: ClassVar[str] = "declared"

    def assess_impact(  # noqa: C901, PLR0912, PLR0915 - each input feeds one figure
        self,
        *,
        actor: Actor | str,
        ongoing: bool,
        severity: Severity | None = None,
        symptom_start: dt.datetime | float | None = None,
        services: Sequence[str] = (),
        regions: Sequence[str] = (),
        user_segments: Sequence[str] = (),
        errors: Metric | None = None,
        traffic: Metric | None = None,
        users: Metric | None = None,
        slo: float | None = None,
        measures: Sequence[Measure] = (),
        stated: Sequence[Figure] = (),
        summary: str = "",
        timeout: float | dt.timedelta = _DEFAULT_QUERY_TIMEOUT,
    ) -> Assessed:
        """Record the blast radius: who is affected, how badly, whether it is ongoing.

        With an ``errors`` metric (an error ratio) the library reads monitoring
        itself: it detects when the symptom began (unless ``symptom_start`` is
        given) and, with an ``slo``, computes the error-budget burn rates over
        5 min, 1 h and 6 h, the share of requests failing, the affected users
        (with a ``users`` metric) and a suggested severity, used when
        ``severity`` is not given. Other figures are measured (``measures``)
        or stated by a person (``stated``). An impact with no measured figure
        is allowed but recorded as a monitoring gap ("impact not measurable
        from monitoring"), and so is a metric source that fails.

        Args:
            actor: Who assesses.
            ongoing: Whether the impact is still going on.
            severity: How bad it is; by default the suggestion from the burn rates.
            symptom_start: When the symptom began; by default the onset detected
                in ``errors``, else when the incident was detected.
            services: Affected services; by default the declared ones.
            regions: Affected regions.
            user_segments: Affected user segments.
            errors: The error ratio of the affected service (0 to 1).
            traffic: Its request rate, to weight the error ratio by volume.
            users: A metric of affected users.
            slo: The availability target (``0.999``) for the burn rates.
            measures: Further figures to measure from metric sources.
            stated: Figures stated by a person (give each its evidence).
            summary: The impact in one sentence, for the report.
            timeout: How long each metric query may take (seconds or a
                timedelta); the metrics are queried at once. A query still
                running then is a monitoring gap, like a failed one.

        Returns:
            The assessed phase, where changes may be gathered and rollbacks reviewed.

        Raises:
            InvalidInputError: No severity was given and none could be
                suggested (no ``errors`` and ``slo``, or no error data), the
                symptom start is in the future, or the timeout is not positive.
        """
        # The analysis loads on first use, not with `import incidentkit`.
        from incidentkit.analysis._impact import impact_numbers  # noqa: PLC0415

        core = self._enter("assess_impact")
        who = as_actor(actor)
        deadline = _seconds(timeout, "timeout")
        state = core.state
        now = core.now()
        detected = state.declared.detected_at
        given_start = (
            None if symptom_start is None else to_instant(symptom_start, what="symptom_start")
        )
        if given_start is not None and given_start > now:
            msg = f"symptom_start {given_start} is in the future (now is {now})"
            raise InvalidInputError(msg)
        figures = [attrs.evolve(f, measured=False) for f in stated]
        measurements: list[Measurement] = []
        gaps: list[str] = []

        # Monitoring first: the onset and the burn rates need the longest window.
        onset: Onset | None = None
        numbers: ImpactNumbers | None = None
        lookback_start = (given_start or detected).subtract(seconds=_ONSET_LOOKBACK)
        fetched: dict[str, Series] = {}
        # Each metric is queried once, over the longest window. Keyed by the source's
        # identity, not the Metric's hash: an adapter need not be hashable.
        read: dict[tuple[int, str, float, str], Series] = {}
        wanted = [
            (label, metric)
            for label, metric in (("errors", errors), ("traffic", traffic), ("users", users))
            if metric is not None
        ]
        answers = _fetch_all([m for _label, m in wanted], lookback_start, now, deadline)
        for (label, metric), (series, error) in zip(wanted, answers, strict=True):
            if series is None:
                gaps.append(error)
                continue
            fetched[label] = series
            read[_metric_key(metric)] = series
            gaps.extend(_warned(series))
            measurements.append(Measurement(label, "series", None, series))
        error_series = fetched.get("errors")
        if error_series is not None and not error_series.present():
            gaps.append(f"{error_series.query.source}: {error_series.query.query!r} has no samples")
            error_series = None
        if error_series is not None and given_start is None:
            onset = _current_onset(error_series, detected)
            if onset is None or onset.at > now:
                onset = None
                gaps.append(
                    f"no onset found in {error_series.query.query!r}; the symptom start is "
                    "taken as the detection time"
                )
        start = given_start or (onset.at if onset is not None else detected)
        if error_series is not None and slo is not None:
            numbers = impact_numbers(
                error_series,
                slo=slo,
                at=now,
                symptom_start=start,
                traffic=fetched.get("traffic"),
                users=fetched.get("users"),
            )
            evidence = Evidence.metric(error_series.query.query)
            for rate in numbers.burn_rates:
                if rate.burn is not None:
                    name = f"burn_rate_{_window_label(rate.window)}"
                    figures.append(
                        Figure(name, rate.burn, "x budget", measured=True, evidence=evidence)
                    )
            if numbers.share_of_requests is not None:
                figures.append(
                    Figure(
                        "share_of_requests_failing",
                        numbers.share_of_requests,
                        "ratio",
                        measured=True,
                        evidence=evidence,
                    )
                )
            if numbers.affected_users is not None and users is not None:
                figures.append(
                    Figure(
                        "affected_users",
                        numbers.affected_users,
                        users.unit or "users",
                        measured=True,
                        evidence=Evidence.metric(users.query),
                    )
                )
        if severity is None:
            if numbers is None or all(rate.burn is None for rate in numbers.burn_rates):
                msg = (
                    "give severity=..., or errors=Metric(...) and slo=... with error data "
                    "so that one can be suggested"
                )
                raise InvalidInputError(msg)
            severity = numbers.suggested_severity

        # The measures' own metrics, each queried once and all at once, over the symptom.
        own = {_metric_key(m.metric): m.metric for m in measures}
        for key in read:
            own.pop(key, None)
        extra = dict(zip(own, _fetch_all(list(own.values()), start, now, deadline), strict=True))
        for answer, _error in extra.values():
            gaps.extend(_warned(answer))
        for measure in measures:
            already = read.get(_metric_key(measure.metric))
            if already is not None:
                series, error = (
                    attrs.evolve(already, samples=already.between(start, now.add(microseconds=1))),
                    "",
                )
            else:
                series, error = extra[_metric_key(measure.metric)]
            if series is None:
                gaps.append(error)
                continue
            values = [v for _at, v in series.present()]
            if not values:
                source = adapter_name(measure.metric.source)
                gaps.append(
                    f"{source}: {measure.metric.query!r} has no samples between {start} and {now}"
                )
                measurements.append(Measurement(measure.name, measure.reduce, None, series))
                continue
            value = _reduce(values, measure.reduce)
            measurements.append(Measurement(measure.name, measure.reduce, value, series))
            figures.append(
                Figure(
                    measure.name,
                    value,
                    measure.metric.unit,
                    measured=True,
                    evidence=Evidence.metric(measure.metric.query),
                )
            )
        impact = Impact(
            severity,
            bool(ongoing),
            start,
            tuple(services) or state.declared.services,
            tuple(regions),
            tuple(user_segments),
            tuple(figures),
            summary,
        )
        core.record(ImpactAssessed(now, who, impact, tuple(measurements), onset, numbers))
        for error in gaps:
            self._gap(core, who, "an impact figure could not be measured", error)
        if not impact.measured:
            self._gap(
                core,
                who,
                "impact not measurable from monitoring",
                "every figure of the impact assessment was stated by a person",
            )
        return Assessed(core)


def _window_label(seconds: float) -> str:
    return f"{seconds / 3600:g}h" if seconds % 3600 == 0 else f"{seconds / 60:g}m"


def _reduce(values: list[float], how: str) -> float:
    if how == "max":
        return max(values)
    if how == "min":
        return min(values)
    if how == "last":
        return values[-1]
    return math.fsum(values) / len(values)


class Assessed(_Gathering, _Reviewing, _Verifying, _DiagnosingOverride):
    """**Phase**: the impact is known; gather what changed and review rollbacks.

    Allowed: :meth:`note`, :meth:`finding`, :meth:`gather_changes`,
    :meth:`review_rollbacks`, :meth:`verify_recovery` (only when the impact was
    not ongoing at assessment), and the overrides :meth:`skip_rollback_review`
    and :meth:`diagnose_without_recovery`.

    .. versionadded:: 0.1.0
    """

    PHASE: ClassVar[str] = "assessed"

    @property
    def impact(self) -> Impact:
        """The impact as assessed."""
        impact = self._core.state.impact
        assert impact is not None  # noqa: S101
        return impact

    @property
    def onset(self) -> Onset | None:
        """The onset detected in the error metric at assessment, if one was."""
        event = self._core.state.impact_event
        return None if event is None else event.onset

    @property
    def impact_numbers(self) -> ImpactNumbers | None:
        """The burn rates, share of requests failing and suggested severity, if computed."""
        event = self._core.state.impact_event
        return None if event is None else event.numbers

    def skip_rollback_review(self, *, actor: Actor | str, reason: str) -> Reviewed:
        """Intervene without reviewing rollbacks: an override, never silent.

        Returns:
            The reviewed phase with no rollback options: only ``mitigate`` can follow.
        """
        return Reviewed(self._override("skip_rollback_review", actor, reason))


class Reviewed(_Gathering, _Reviewing, _Intervening, _Verifying, _DiagnosingOverride):
    """**Phase**: the rollback options are known; intervene.

    Allowed: :meth:`roll_back`, :meth:`mitigate`, :meth:`review_rollbacks`
    again, :meth:`gather_changes`, notes and findings, :meth:`verify_recovery`
    (after an earlier intervention, or when the impact was not ongoing),
    :meth:`diagnose_without_recovery`.

    .. versionadded:: 0.1.0
    """

    PHASE: ClassVar[str] = "reviewed"

    @property
    def rollback_options(self) -> tuple[RollbackOption, ...]:
        """The options of the latest review, most suspect change first."""
        return self._core.state.rollback_options()

    @property
    def uncovered_changes(self) -> tuple[str, ...]:
        """Ids of the reviewed changes that no executor can roll back."""
        review = self._core.state.review
        return () if review is None else review.uncovered


class Intervened(_Gathering, _Reviewing, _Intervening, _Verifying, _DiagnosingOverride):
    """**Phase**: an intervention was made; verify recovery in monitoring.

    Allowed: :meth:`verify_recovery`, another :meth:`roll_back` or
    :meth:`mitigate`, :meth:`review_rollbacks` again, :meth:`gather_changes`,
    notes, findings and :meth:`diagnose_without_recovery`.

    .. versionadded:: 0.1.0
    """

    PHASE: ClassVar[str] = "intervened"

    @property
    def rollback_options(self) -> tuple[RollbackOption, ...]:
        """The options of the latest review."""
        return self._core.state.rollback_options()


class Recovered(_Gathering):
    """**Phase**: recovery is verified in monitoring; diagnosis may begin.

    Allowed: :meth:`begin_diagnosis`, :meth:`gather_changes`, notes and findings.

    .. versionadded:: 0.1.0
    """

    PHASE: ClassVar[str] = "recovered"

    @property
    def verdict(self) -> RecoveryVerdict:
        """The verdict that showed recovery."""
        return self._core.state.checks[-1].verdict

    def begin_diagnosis(self, *, actor: Actor | str) -> Diagnosing:
        """Begin the diagnosis: hypotheses and the usual-suspects checklist.

        Returns:
            The diagnosing phase.
        """
        core = self._enter("begin_diagnosis")
        core.record(DiagnosisBegun(core.now(), as_actor(actor)))
        return Diagnosing(core)


class Diagnosing(_Gathering):
    """**Phase**: find the cause: hypotheses tied to evidence, and the checklist.

    Allowed: :meth:`hypothesis`, :meth:`reject_hypothesis`, :meth:`check`,
    :meth:`waive`, :meth:`gather_changes`, notes, findings, and :meth:`resolve`
    once every checklist item is checked or waived.

    .. versionadded:: 0.1.0
    """

    PHASE: ClassVar[str] = "diagnosing"

    @property
    def open_items(self) -> tuple[ChecklistItem, ...]:
        """The usual suspects neither checked nor waived yet."""
        return tuple(self._core.state.open_checklist_items())

    @property
    def hypotheses(self) -> dict[str, str]:
        """The hypotheses by id, with their statements (rejected ones included)."""
        return {h: e.statement for h, e in self._core.state.hypotheses.items()}

    def _evidence(self, evidence: Sequence[Evidence], what: str) -> tuple[Evidence, ...]:
        state = self._core.state
        items = tuple(evidence)
        if not items:
            msg = f"{what} needs at least one piece of evidence"
            raise InvalidInputError(msg)
        change_ids = {change.id for change in state.changes.values()}
        for item in items:
            if not isinstance(item, Evidence):  # pyright: ignore[reportUnnecessaryIsInstance]
                msg = f"evidence must be Evidence values, not {type(item).__name__}"
                raise InvalidInputError(msg)
            if item.kind == "change" and item.ref not in change_ids:
                msg = f"evidence points at change {item.ref!r}, which was never gathered"
                raise InvalidInputError(msg)
            if item.kind == "entry" and not (
                item.ref.isdigit() and int(item.ref) < len(state.events)
            ):
                msg = f"evidence points at journal entry {item.ref}, which does not exist"
                raise InvalidInputError(msg)
        return items

    def hypothesis(
        self, statement: str, *, actor: Actor | str, evidence: Sequence[Evidence]
    ) -> Self:
        """Record a hypothesis about the cause, tied to evidence.

        Returns:
            This phase; the hypothesis id is ``H1``, ``H2``, ... in order.
        """
        core = self._enter("hypothesis")
        hypothesis_id = f"H{len(core.state.hypotheses) + 1}"
        core.record(
            HypothesisRecorded(
                core.now(),
                as_actor(actor),
                hypothesis_id,
                _text(statement, "a hypothesis"),
                self._evidence(evidence, "a hypothesis"),
            )
        )
        return self

    def reject_hypothesis(self, hypothesis_id: str, *, actor: Actor | str, reason: str) -> Self:
        """Rule a hypothesis out, with the reason.

        Returns:
            This phase.
        """
        core = self._enter("reject_hypothesis")
        core.record(
            HypothesisRejected(
                core.now(), as_actor(actor), hypothesis_id, _text(reason, "a rejection's reason")
            )
        )
        return self

    def check(self, item: ChecklistItem, *, actor: Actor | str, conclusion: str) -> Self:
        """Mark a usual suspect as checked against the sources that answered.

        Raises:
            ProtocolViolation: No source of that kind answered during this
                incident: gather from one, or waive the item with a reason.
        """
        core = self._enter("check")
        sources = core.state.consulted[item]
        if not sources:
            raise ProtocolViolation(
                self.PHASE,
                "check",
                f"no {item.value} source answered during this incident: gather_changes "
                f"from one first, or waive({item}, reason=...)",
            )
        core.record(
            ChecklistItemChecked(
                core.now(),
                as_actor(actor),
                item,
                tuple(sources),
                _text(conclusion, "a checklist conclusion"),
            )
        )
        return self

    def waive(self, item: ChecklistItem, *, actor: Actor | str, reason: str) -> Self:
        """Waive a usual suspect, with the reason it need not be checked.

        Returns:
            This phase.
        """
        core = self._enter("waive")
        core.record(
            ChecklistItemWaived(
                core.now(), as_actor(actor), item, _text(reason, "a waiver's reason")
            )
        )
        return self

    def resolve(
        self, *, actor: Actor | str, root_cause: str, evidence: Sequence[Evidence]
    ) -> Resolved:
        """Resolve the incident with its root cause and the evidence for it.

        Raises:
            ProtocolViolation: A checklist item is neither checked nor waived.
        """
        core = self._enter("resolve")
        core.record(
            IncidentResolved(
                core.now(),
                as_actor(actor),
                _text(root_cause, "the root cause"),
                self._evidence(evidence, "the root cause"),
            )
        )
        return Resolved(core)


class Resolved(_Phase):
    """**Phase**: the incident is resolved; its record is closed.

    Allowed: :meth:`report`.

    .. versionadded:: 0.1.0
    """

    PHASE: ClassVar[str] = "resolved"

    def report(self) -> Report:
        """Build the post-mortem report: impact, timeline, interventions, findings.

        Reading a resolved incident's report never goes stale.
        """
        from incidentkit._report import build_report  # noqa: PLC0415 - avoid a cycle

        return build_report(self._core.state, self._core.journal.head)


AnyPhase: TypeAlias = (
    Declared | Assessed | Reviewed | Intervened | Recovered | Diagnosing | Resolved
)
"""Any phase; what :meth:`Incident.resume` returns, for the caller to narrow."""

_PHASE_CLASSES: dict[str, type[AnyPhase]] = {
    cls.PHASE: cls
    for cls in (Declared, Assessed, Reviewed, Intervened, Recovered, Diagnosing, Resolved)
}


class Incident:
    """Where an incident begins (:meth:`declare`) or carries on (:meth:`resume`).

    .. versionadded:: 0.1.0
    """

    def __init__(self) -> None:
        """Refuse: an incident is declared or resumed, never built directly."""
        msg = "use Incident.declare(...) or Incident.resume(...)"
        raise TypeError(msg)

    @staticmethod
    def declare(
        *,
        title: str,
        services: Sequence[str] | str,
        actor: Actor | str,
        detection: Detection,
        journal: str | os.PathLike[str],
        detected_at: dt.datetime | float | None = None,
        summary: str = "",
        depends_on: Mapping[str, Sequence[str]] | None = None,
        incident_id: str | None = None,
        clock: Clock | None = None,
        lock_timeout: float = 10.0,
    ) -> Declared:
        """Open an incident and its journal.

        Args:
            title: A short title (``"Checkout returns 5xx"``).
            services: The affected service or services.
            actor: Who declares it.
            detection: How it was detected.
            journal: The path of the new journal file (one incident a file).
            detected_at: When it was detected; by default now.
            summary: A sentence or two on what is known.
            depends_on: The dependency map (each service's direct dependencies:
                clusters, databases, vendors), so that their changes and
                incidents rank as related suspects.
            incident_id: An identifier; by default ``INC-<UTC date-time>-<random>``.
            clock: Where to read the time; by default the system clock.
            lock_timeout: How long to wait for another writer's lock, in seconds.

        Returns:
            The declared phase.

        Raises:
            JournalError: The journal file exists already or cannot be written.
            NaiveDatetimeError: ``detected_at`` has no time zone.
        """
        clock = clock or SystemClock()
        now = to_instant(clock.now(), what="the clock's now()")
        names = (services,) if isinstance(services, str) else tuple(services)
        if not names or not all(_is_text(n) for n in names):
            msg = "services must name at least one affected service"
            raise InvalidInputError(msg)
        detected = now if detected_at is None else to_instant(detected_at, what="detected_at")
        if detected > now:
            msg = f"detected_at {detected} is in the future (now is {now})"
            raise InvalidInputError(msg)
        if not isinstance(cast("object", detection), Detection):
            msg = f"detection must be a Detection, not {detection!r}"
            raise InvalidInputError(msg)
        event = IncidentDeclared(
            now,
            as_actor(actor),
            incident_id or f"INC-{now.format('YYYYMMDD-HHmmss')}-{os.urandom(2).hex()}",
            _text(title, "title"),
            names,
            detection,
            detected,
            summary,
            {str(k): tuple(str(v) for v in vs) for k, vs in (depends_on or {}).items()},
        )
        # Atomic: the file appears holding its declaration, or not at all.
        store = Journal.create(journal, first=unstructure_event(event), lock_timeout=lock_timeout)
        return Declared(_Core(store, IncidentState(event), clock))

    @staticmethod
    def resume(
        journal: str | os.PathLike[str],
        *,
        clock: Clock | None = None,
        lock_timeout: float = 10.0,
    ) -> AnyPhase:
        """Rebuild the current phase from a journal, for a script run again later.

        The journal's hash chain is verified and every event is replayed through
        the protocol's rules, so the phase returned is the one the incident was
        in. Narrow the union with ``match`` or ``isinstance``.

        Args:
            journal: The journal file.
            clock: Where to read the time; by default the system clock.
            lock_timeout: How long to wait for another writer's lock, in seconds.

        Raises:
            JournalError: The file is missing or unreadable.
            JournalCorruptedError: The chain is broken, or the events break the
                protocol's order.
            TornRecordError: The journal ends in an incomplete record.
        """
        store = Journal.open(journal, lock_timeout=lock_timeout)
        records = store.records
        if not records:
            msg = (
                f"{store.path} holds no events: it is an empty file, as an interrupted declaration "
                "leaves (incidentkit 0.1 created the file before writing the declaration). "
                "Nothing in it was acknowledged; declaring the incident again at this path is "
                "safe, and replaces the empty file."
            )
            raise JournalCorruptedError(msg, path=str(store.path))
        state: IncidentState | None = None
        for record in records:
            try:
                event = structure_event(record.body)
            except Exception as exc:  # any structuring failure is corruption
                raise JournalCorruptedError(
                    f"{store.path}: record {record.seq} is not a valid event: {exc}",
                    path=str(store.path),
                ) from exc
            if state is None:
                if not isinstance(event, IncidentDeclared):
                    raise JournalCorruptedError(
                        f"{store.path}: the first record is {event.TYPE}, not incident_declared",
                        path=str(store.path),
                    )
                state = IncidentState(event)
                continue
            try:
                state.validate(event)
            except ProtocolViolation as exc:
                raise JournalCorruptedError(
                    f"{store.path}: record {record.seq} breaks the protocol: {exc}",
                    path=str(store.path),
                ) from exc
            state.apply(record.seq, event)
        assert state is not None  # noqa: S101 - records is not empty
        core = _Core(store, state, clock or SystemClock())
        return _PHASE_CLASSES[state.phase](core)
