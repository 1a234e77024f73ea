"""The incident protocol: one class per phase, each with only the steps it allows.

A transition method returns the next phase; a method that is not allowed in a
phase does not exist on that phase's class, so the type checker rejects the
wrong order. Untyped callers get :class:`ProtocolViolation` at run time, and a
phase object the incident has moved on from raises :class:`StalePhaseError`.

Which step is allowed where is the rule table in :mod:`incidentkit._rules`;
the classes below are checked against it when this module is imported. The
methods are thin: each checks the phase, hands the work to its module in
:mod:`incidentkit._steps`, and records the events that module returns.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import pathlib
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn, TypeAlias, cast, overload

import pendulum

from incidentkit._arguments import is_text, items, names, seconds, severity, sources
from incidentkit._arguments import text as checked_text
from incidentkit._chain import (
    GENESIS_DIGEST,
    anchor_problems,
    encode_body,
    encode_record,
    trusted_anchor,
)
from incidentkit._errors import (
    ConcurrentAppendError,
    InvalidInputError,
    JournalCorruptedError,
    ProtocolViolation,
    StalePhaseError,
    StepNotAvailable,
)
from incidentkit._journal import Anchor, Journal, create_with_records
from incidentkit._model import (
    Actor,
    Change,
    ChecklistItem,
    Detection,
    Evidence,
    Figure,
    Finding,
    FindingKind,
    Impact,
    MitigationKind,
    Role,
    RollbackOption,
    Severity,
    as_actor,
)
from incidentkit._rules import OVERRIDE_TARGETS, PHASES, STEPS, Phase, require, requirement
from incidentkit._time import SystemClock, to_instant

# The events, the state they fold into, the steps' modules, the stores and the
# recovery check load when first used (a declaration or a resume loads the events
# and the state, each step its own module), not with `import incidentkit`: see
# bench/README.md, "Import time".
if TYPE_CHECKING:
    from collections.abc import Iterator

    from typing_extensions import Self

    from incidentkit._chain import RecordLines
    from incidentkit._events import Event, IncidentDeclared
    from incidentkit._recovery import RecoveryPolicy, RecoveryVerdict
    from incidentkit._report import Report
    from incidentkit._specs import Counts, ErrorSpec, LatencyCounts, Measure, Metric, Threshold
    from incidentkit._state import IncidentState
    from incidentkit._steps._common import Outcome
    from incidentkit._stored import JournalHandle
    from incidentkit._timeline import TimelineEntry
    from incidentkit.analysis._impact import ImpactNumbers
    from incidentkit.analysis._onset import Onset
    from incidentkit.analysis._suspects import SuspectRanking
    from incidentkit.protocols import (
        ChangeSource,
        Clock,
        DependencyStatusSource,
        DeploySource,
        JournalStore,
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
_DEFAULT_TIMEOUT = 30.0


def record_lines(journal: JournalHandle) -> RecordLines:
    """Return the verified lines a journal handle holds."""
    from incidentkit._stored import handle_lines  # noqa: PLC0415 - see the imports

    return handle_lines(journal)


class _Core:
    """What all phase objects of one incident share: journal, state, clock, one lock.

    The lock makes a phase safe to share between threads: each record is
    validated, appended and folded as one, so two threads never fold the same
    record twice or append on a state the other is changing.
    """

    def __init__(self, journal: JournalHandle, state: IncidentState, clock: Clock) -> None:
        self.journal = journal
        self.state = state
        self.clock = clock
        self.current: _Phase | None = None
        self.executors: dict[str, RollbackExecutor] = {}
        # The head of the chain this state was folded from: an append must extend
        # exactly it, so a writer that fell behind never appends on stale state.
        self.head = journal.head
        self.folded = state.count
        self.lock = threading.RLock()
        # What record() calls on every append, at hand rather than imported per call
        # (they load with the events, before any incident exists; see the imports).
        from incidentkit._events import unstructure_event  # noqa: PLC0415
        from incidentkit._stored import append_body  # noqa: PLC0415

        self._unstructure = unstructure_event
        self._append = append_body

    def now(self) -> pendulum.DateTime:
        return to_instant(self.clock.now(), what="the clock's now()")

    def record(self, event: Event) -> int:
        """Validate, append durably, then fold; return the event's sequence number.

        Raises:
            ConcurrentAppendError: Another writer appended first; the message
                says who wrote what. Nothing was written: ``refresh()`` and retry.
        """
        with self.lock:
            state = self.state
            if state.pending is not None:  # restored from a checkpoint: proven before writing
                state.load_pending()
            state.validate(event)
            # Encoded once; the journal writes these bytes and parses nothing back,
            # since the event itself is folded.
            body = encode_body(self._unstructure(event))
            try:
                record = self._append(self.journal, body, self.head)
            except ConcurrentAppendError:  # its advice (resume) becomes refresh() here
                raise ConcurrentAppendError(
                    f"another responder wrote to {self.journal.location} first; nothing was "
                    f"written. Written meanwhile: {self._describe_unfolded()}. Call refresh() "
                    "on the phase to catch up, then retry the step.",
                    path=self.journal.location,
                ) from None
            state.apply(record.seq, event)
            self.head = trusted_anchor(record.seq, record.digest)
            self.folded = record.seq + 1
            return record.seq

    def run(self, outcome: Outcome) -> None:
        """Record a step's events in order, then raise its error, if it has one.

        Only the step's first event decides whether the step happens: if
        another writer got in before it, nothing is written and the step
        raises. The findings that follow it are recorded even if another
        writer appends in between (they hold whatever the state is by then).
        """
        with self.lock:
            for index, event in enumerate(outcome.events):
                if index == 0:
                    self.record(event)
                    continue
                try:
                    self.record(event)
                except ConcurrentAppendError:
                    self.catch_up()
                    self.record(event)
        if outcome.error is not None:
            raise outcome.error

    def _describe_unfolded(self) -> str:
        from incidentkit._events import structure_event  # noqa: PLC0415 - loaded by now
        from incidentkit._timeline import describe_event  # noqa: PLC0415 - read only on a race

        parts: list[str] = []
        lines = record_lines(self.journal)
        try:
            for seq, body in lines.bodies(self.folded):
                try:
                    event = structure_event(body)
                except Exception:  # noqa: BLE001 - a message, never a second failure
                    parts.append(f"record {seq} (unreadable)")
                    continue
                parts.append(f"record {seq} by {event.actor}: {describe_event(event)}")
        except ValueError:  # a body that is not JSON: the next refresh() says so
            parts.append("a record that is not JSON")
        return "; ".join(parts) or "nothing readable"

    def catch_up(self) -> None:
        """Fold what other writers appended since this state was folded.

        Raises:
            JournalCorruptedError: A new record is not a valid event or breaks
                the protocol's order.
        """
        with self.lock:
            self.journal.refresh()
            lines = record_lines(self.journal)
            for seq, body in _bodies(self.journal, self.folded):
                event = _checked_event(self.journal, seq, body, self.state)
                self.state.apply(seq, event)
                self.head = Anchor(seq, lines.digest(seq))
                self.folded = seq + 1

    def phase(self) -> AnyPhase:
        """Return the current phase object, making a new one if the phase moved on."""
        with self.lock:
            current = self.current
            if current is not None and self.state.phase == current.PHASE:
                return cast("AnyPhase", current)
            return _PHASE_CLASSES[self.state.phase](self)


def _bodies(journal: JournalHandle, first: int) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(seq, body)`` from seq ``first`` on; a body that is not JSON is corruption."""
    try:
        yield from record_lines(journal).bodies(first)
    except ValueError as exc:
        raise JournalCorruptedError(f"{journal.location}: {exc}", path=journal.location) from exc


def _structured(journal: JournalHandle, seq: int, body: dict[str, Any]) -> Event:
    """Structure a freshly parsed body (consumed) into an event, or call it corruption."""
    from incidentkit._events import structure_owned  # noqa: PLC0415 - see the imports

    try:
        return structure_owned(body)
    except Exception as exc:  # any structuring failure is corruption
        raise JournalCorruptedError(
            f"{journal.location}: record {seq} is not a valid event: {exc}",
            path=journal.location,
        ) from exc


def _checked_event(
    journal: JournalHandle, seq: int, body: dict[str, Any], state: IncidentState
) -> Event:
    """Structure a record's body into an event the protocol allows next, or call it corruption."""
    event = _structured(journal, seq, body)
    try:
        state.validate(event)
    except ProtocolViolation as exc:
        raise JournalCorruptedError(
            f"{journal.location}: record {seq} breaks the protocol: {exc}",
            path=journal.location,
        ) from exc
    return event


class _Phase:
    """The part every phase shares: identity, reading, notes, follow-ups, catching up."""

    PHASE: ClassVar[Phase]

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
            if any(step.name == name for step in STEPS):
                raise StepNotAvailable(self.PHASE, name, requirement(self.PHASE, name))
            msg = f"{type(self).__name__!r} object has no attribute {name!r}"
            raise AttributeError(msg)

    def __repr__(self) -> str:
        """Return the phase and the incident."""
        stale = "" if self._core.current is self else " (stale)"
        return f"<{type(self).__name__} {self.incident_id} {self.title!r}{stale}>"

    # --- reading -------------------------------------------------------

    @property
    def phase(self) -> Phase:
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
    def declared_at(self) -> pendulum.DateTime:
        """When the incident was declared (the declaration's own time, not the detection's).

        .. versionadded:: 0.3.0
        """
        return self._core.state.declared.at

    @property
    def services(self) -> tuple[str, ...]:
        """The services declared as affected."""
        return self._core.state.declared.services

    @property
    def impact(self) -> Impact | None:
        """The impact as it stands (assessed, then updated), or ``None`` before assessment.

        .. versionadded:: 0.2.0
        """
        return self._core.state.impact

    @property
    def severity(self) -> Severity | None:
        """The current severity, or ``None`` before the impact is assessed.

        .. versionadded:: 0.2.0
        """
        impact = self._core.state.impact
        return None if impact is None else impact.severity

    @property
    def symptom_start(self) -> pendulum.DateTime:
        """When the symptom began: as assessed, or the detection time before that.

        .. versionadded:: 0.2.0
        """
        return self._core.state.symptom_start

    @property
    def roles(self) -> Mapping[Role, str]:
        """Who holds each role that was handed over, as it stands.

        .. versionadded:: 0.2.0
        """
        return dict(self._core.state.roles)

    @property
    def journal_path(self) -> str:
        """Where the incident's journal is: its file's path, or a store's location and the id."""
        return self._core.journal.location

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
        # The report module loads on first use, not with `import incidentkit`.
        from incidentkit._report import collect_findings  # noqa: PLC0415

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
        # The timeline module loads on first use, not with `import incidentkit`.
        from incidentkit._timeline import build_timeline  # noqa: PLC0415

        return build_timeline(self._core.state)

    def save_checkpoint(self) -> pathlib.Path:
        """Keep the state folded so far beside the journal file, for a faster resume.

        Writes ``<journal>.checkpoint`` (replacing an older one, atomically):
        the anchor of the last record folded and, for each part of the state
        the steps read, which records it comes from. ``Incident.resume(path,
        checkpoint=True)`` then folds only the records after it. The journal
        is not changed. See ``docs/journal.md``, "Checkpoints".

        Returns:
            The checkpoint file's path.

        Raises:
            InvalidInputError: The journal is not a file (a store other than a
                :class:`~incidentkit.stores.FileStore` keeps no checkpoint).
            JournalError: The checkpoint cannot be written.

        .. versionadded:: 0.3.0
        """
        from incidentkit._checkpoint import (  # noqa: PLC0415 - on first use
            checkpoint_path,
            encode_checkpoint,
            snapshot,
            write_checkpoint,
        )

        core = self._core
        journal = core.journal
        if not isinstance(journal, Journal):
            msg = (
                f"{journal.location} is not a journal file: checkpoints are kept beside journal "
                "files only (a path, or a FileStore); other stores resume without one"
            )
            raise InvalidInputError(msg)
        with core.lock:
            state = core.state
            head = Anchor(state.count - 1, record_lines(journal).digest(state.count - 1))
            data = encode_checkpoint(str(head), snapshot(state))
        path = checkpoint_path(journal.path)
        write_checkpoint(path, data)
        return path

    def refresh(self) -> AnyPhase:
        """Catch up with what other writers appended, and return the incident's current phase.

        After a :class:`~incidentkit.ConcurrentAppendError` (another responder
        wrote first), one call folds their records; re-check the phase and
        retry. This object is stale afterwards if the incident moved on.

        Raises:
            JournalCorruptedError: A new record does not verify or breaks the
                protocol's order.

        .. versionadded:: 0.2.0
        """
        core = self._core
        with core.lock:
            core.catch_up()
            return core.phase()

    # --- steps of every phase --------------------------------------------

    def note(self, text: str, *, actor: Actor | str) -> Self:
        """Write down an observation (also after resolution).

        Returns:
            This phase (a note does not move the incident on).
        """
        core = self._enter("note")
        from incidentkit._events import NoteAdded  # noqa: PLC0415 - loaded by now

        core.record(NoteAdded(core.now(), as_actor(actor), checked_text(text, "a note")))
        return self

    def follow_up(self, action: str, *, owner: str, actor: Actor | str, notes: str = "") -> Self:
        """Add a follow-up action item with an owner: in any phase, also after resolution.

        Items are numbered ``A1``, ``A2``, ... and listed in the report.

        Returns:
            This phase.

        .. versionadded:: 0.2.0
        """
        core = self._enter("follow_up")
        from incidentkit._steps import _team  # noqa: PLC0415 - on first use

        core.run(
            _team.follow_up(
                core.state, core.now, as_actor(actor), action=action, owner=owner, notes=notes
            )
        )
        return self

    def correct_clock(self, *, actor: Actor | str, reason: str) -> Self:
        """Record, audited, that the clock was wrong and time is read from an earlier instant.

        The journal refuses an event stamped before the last one
        (:class:`~incidentkit.TimeOrderError`). When the earlier time is the
        right one (the clock of an earlier step was ahead), this records who
        says so and why; later events are ordered after this one. The report
        lists it as a finding.

        Returns:
            This phase.

        Raises:
            InvalidInputError: The clock is not behind the journal.

        .. versionadded:: 0.2.0
        """
        core = self._enter("correct_clock")
        from incidentkit._steps import _team  # noqa: PLC0415 - on first use

        core.run(_team.correct_clock(core.state, core.now, as_actor(actor), reason))
        return self

    # --- shared machinery ----------------------------------------------

    def _override(self, step: str, actor: Actor | str, reason: str) -> _Core:
        core = self._enter(step)
        from incidentkit._events import OverrideRecorded  # noqa: PLC0415 - loaded by now

        core.record(
            OverrideRecorded(
                core.now(),
                as_actor(actor),
                step,
                core.state.phase,
                OVERRIDE_TARGETS[step],
                checked_text(reason, "an override's reason"),
            )
        )
        return core


class _Open(_Phase):
    """The phases before resolution: each may take findings and hand roles over."""

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

        Raises:
            InvalidInputError: The summary is empty or not a string, or
                ``kind`` is not a :class:`FindingKind`.
        """
        core = self._enter("finding")
        from incidentkit._events import FindingRecorded  # noqa: PLC0415 - loaded by now

        if not isinstance(cast("object", kind), FindingKind):
            msg = f"kind must be a FindingKind (FindingKind.OBSERVATION ...), not {kind!r:.60}"
            raise InvalidInputError(msg)
        core.record(FindingRecorded(core.now(), as_actor(actor), Finding(kind, summary, detail)))
        return self

    def hand_over(self, role: Role | str, *, to: str, actor: Actor | str, note: str = "") -> Self:
        """Hand a role (the incident commander, say) to another responder, journaled.

        Args:
            role: The role (:class:`~incidentkit.Role`, or its value such as
                ``"incident_commander"``).
            to: The responder who takes it.
            actor: Who hands it over.
            note: Anything the new holder should know.

        Returns:
            This phase; :attr:`roles` shows the new holder.

        .. versionadded:: 0.2.0
        """
        core = self._enter("hand_over")
        from incidentkit._steps import _team  # noqa: PLC0415 - on first use

        core.run(
            _team.hand_over(core.state, core.now, as_actor(actor), role=role, to=to, note=note)
        )
        return self


class _AfterImpact(_Open):
    """Phases after the impact is known: gather what changed, update the impact."""

    def gather_changes(
        self,
        *,
        actor: Actor | str,
        deploys: Sequence[DeploySource] | DeploySource = (),
        infrastructure: Sequence[ChangeSource] | ChangeSource = (),
        dependencies: Sequence[DependencyStatusSource] | DependencyStatusSource = (),
        lookback: float | dt.timedelta = _DEFAULT_LOOKBACK,
        services: Sequence[str] | None = None,
        timeout: float | dt.timedelta = _DEFAULT_TIMEOUT,
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
        from incidentkit._steps import _gathering  # noqa: PLC0415 - on first use

        found = (
            sources(deploys, "deploys", "deploys"),
            sources(infrastructure, "infrastructure", "changes"),
            sources(dependencies, "dependencies", "incidents"),
        )
        if not any(found):
            msg = "gather_changes needs at least one deploy, infrastructure or dependency source"
            raise InvalidInputError(msg)
        core.run(
            _gathering.gather(
                core.state,
                core.now,
                as_actor(actor),
                deploys=found[0],
                infrastructure=found[1],
                dependencies=found[2],
                lookback=seconds(lookback, "lookback"),
                services=None if services is None else list(services),
                timeout=seconds(timeout, "timeout"),
            )
        )
        return self

    def update_impact(
        self,
        *,
        actor: Actor | str,
        reason: str,
        severity: Severity | str | None = None,
        ongoing: bool | None = None,
        symptom_start: dt.datetime | float | None = None,
        services: Sequence[str] | None = None,
        regions: Sequence[str] | None = None,
        user_segments: Sequence[str] | None = None,
        stated: Sequence[Figure] = (),
        summary: str | None = None,
    ) -> Self:
        """Re-assess the impact: escalate or de-escalate, say it ended, restate figures.

        What is given replaces what was known; the rest stays. The update is
        journaled with its reason and the severity before it, the current
        impact is readable as :attr:`impact` on every phase, and the report
        shows the impact over time.

        Args:
            actor: Who updates.
            reason: Why (``"EU checkout recovered; US still failing"``).
            severity: The new severity (a :class:`~incidentkit.Severity` or
                ``"sev2"``).
            ongoing: Whether the impact is still going on.
            symptom_start: A corrected symptom start.
            services: The affected services, replacing the earlier list.
            regions: The affected regions, replacing the earlier list.
            user_segments: The affected user segments, replacing the earlier list.
            stated: Figures stated by a person; each replaces an earlier figure
                of the same name.
            summary: The impact in one sentence.

        Returns:
            This phase.

        Raises:
            InvalidInputError: Nothing changes, the reason is empty, or the
                symptom start is in the future.

        .. versionadded:: 0.2.0
        """
        core = self._enter("update_impact")
        from incidentkit._steps import _impact  # noqa: PLC0415 - on first use

        core.run(
            _impact.update(
                core.state,
                core.now,
                as_actor(actor),
                reason=reason,
                severity=_severity(severity),
                ongoing=ongoing,
                symptom_start=_instant(symptom_start),
                services=None if services is None else names(services, "services"),
                regions=None if regions is None else names(regions, "regions"),
                user_segments=None if user_segments is None else names(user_segments, "segments"),
                stated=items(stated, "stated", Figure),
                summary=summary,
            )
        )
        return self


def _dependency_map(
    depends_on: Mapping[str, Sequence[str]] | None,
) -> dict[str, tuple[str, ...]]:
    """Return the dependency map as journaled; a lone string is one dependency, as in ranking."""
    given = cast("object", depends_on)
    if given is None:
        return {}
    if not isinstance(given, Mapping):
        msg = f"depends_on must map services to their dependencies, not {given!r:.60}"
        raise InvalidInputError(msg)
    out: dict[str, tuple[str, ...]] = {}
    for key, value in cast("Mapping[object, object]", given).items():
        if not isinstance(key, str):
            msg = f"depends_on's keys must be service names, not {type(key).__name__} {key!r:.60}"
            raise InvalidInputError(msg)
        if isinstance(value, bytes) or not isinstance(value, Iterable):
            msg = f"depends_on[{key!r}] must be a list of dependencies, not {value!r:.60}"
            raise InvalidInputError(msg)
        listed = (value,) if isinstance(value, str) else tuple(cast("Iterable[object]", value))
        for name in listed:
            if not isinstance(name, str):
                msg = (
                    f"depends_on[{key!r}] must list service names, "
                    f"not {type(name).__name__} {name!r:.60}"
                )
                raise InvalidInputError(msg)
        out[key] = cast("tuple[str, ...]", listed)
    return out


def _severity(value: Severity | str | None) -> Severity | None:
    """Return the severity given (``"sev2"`` accepted), or ``None``."""
    return None if value is None else severity(value)


def _spec(value: ErrorSpec, what: str) -> ErrorSpec:
    """Return an error spec (a Metric, Counts, LatencyCounts or Threshold); refuse anything else."""
    from incidentkit._specs import Counts, LatencyCounts, Metric, Threshold  # noqa: PLC0415

    given = cast("object", value)
    if isinstance(given, (Metric, Counts, LatencyCounts, Threshold)):
        return value
    msg = (
        f"{what} must be a Metric, Counts, LatencyCounts or Threshold, "
        f"not {type(given).__name__} {given!r:.60}"
    )
    raise InvalidInputError(msg)


def _metric(value: Metric | None, what: str) -> Metric | None:
    """Return ``value`` if it is a :class:`Metric` or ``None``; refuse anything else."""
    from incidentkit._specs import Metric  # noqa: PLC0415 - loaded by the steps anyway

    given = cast("object", value)
    if given is None or isinstance(given, Metric):
        return value
    msg = f"{what} must be a Metric or None, not {type(given).__name__} {given!r:.60}"
    raise InvalidInputError(msg)


def _policy(value: RecoveryPolicy | None) -> RecoveryPolicy:
    """Return the recovery policy given, the default for ``None``; refuse anything else."""
    from incidentkit._recovery import checked_policy  # noqa: PLC0415 - loaded by the step anyway

    return checked_policy(value)


def _measures(value: Sequence[Measure]) -> tuple[Measure, ...]:
    """Return the measures as a tuple of :class:`Measure`; refuse anything else."""
    from incidentkit._specs import Measure  # noqa: PLC0415 - loaded by the steps anyway

    return items(value, "measures", Measure)


def _instant(value: dt.datetime | float | None) -> pendulum.DateTime | None:
    """Return the symptom start given as an aware instant, or ``None``."""
    return None if value is None else to_instant(value, what="symptom_start")


class _Reviewing(_Open):
    """Phases that may (re)review the rollback options."""

    def review_rollbacks(
        self,
        executors: Sequence[RollbackExecutor] | RollbackExecutor,
        *,
        actor: Actor | str,
        changes: Sequence[Change] | None = None,
        timeout: float | dt.timedelta = _DEFAULT_TIMEOUT,
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
            timeout: How long each executor's ``options()`` may take (seconds or
                a timedelta); the executors are asked at once for each change.
                One still running then is a gap finding.

        Returns:
            The reviewed phase, where ``roll_back`` and ``mitigate`` exist.

        Raises:
            InvalidInputError: An executor has no ``options()``, ``changes``
                is not a list of :class:`Change`, or the timeout is not a
                positive duration.
        """
        core = self._enter("review_rollbacks")
        from incidentkit._gather import adapter_name  # noqa: PLC0415 - on first use
        from incidentkit._steps import _rollback  # noqa: PLC0415 - on first use

        runners = sources(executors, "executors", "options")
        wanted = None if changes is None else items(changes, "changes", Change)
        limit = seconds(timeout, "timeout")
        for runner in runners:
            core.executors[adapter_name(runner)] = runner
        core.run(
            _rollback.review(
                core.state,
                core.now,
                as_actor(actor),
                executors=runners,
                changes=wanted,
                timeout=limit,
            )
        )
        return Reviewed(core)


class _Intervening(_Open):
    """Phases that may intervene: after the rollback review."""

    def roll_back(
        self,
        option: RollbackOption,
        *,
        actor: Actor | str,
        executor: RollbackExecutor | None = None,
        rehearse: bool = True,
        timeout: float | dt.timedelta = _DEFAULT_TIMEOUT,
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
            timeout: How long the dry run may take (seconds or a timedelta); a
                hung rehearsal is a failed one. ``execute`` keeps its own
                deadline, since a rollout may rightly take long.

        Returns:
            The intervened phase, where recovery is verified.

        Raises:
            InvalidInputError: The option is not from the latest review, its
                executor is not known in this process, or ``executor`` is not a
                rollback executor.
            RollbackFailedError: The rehearsal or the rollback failed; the
                failure is in the journal and the incident stays in this phase.
        """
        core = self._enter("roll_back")
        from incidentkit._steps import _rollback  # noqa: PLC0415 - on first use

        if option not in core.state.rollback_options():
            msg = (
                f"option {getattr(option, 'id', option)!r} is not one of the latest review's "
                "options"
            )
            raise InvalidInputError(msg)
        if executor is not None and not all(
            hasattr(executor, method) for method in ("options", "dry_run", "execute")
        ):
            msg = f"executor must be a RollbackExecutor or None, not {type(executor).__name__}"
            raise InvalidInputError(msg)
        runner = executor or core.executors.get(option.executor)
        if runner is None:
            msg = (
                f"executor {option.executor!r} is not known in this process "
                "(after a resume): pass executor=..."
            )
            raise InvalidInputError(msg)
        core.run(
            _rollback.roll_back(
                core.state,
                core.now,
                as_actor(actor),
                option=option,
                runner=runner,
                rehearse=rehearse,
                timeout=seconds(timeout, "timeout"),
            )
        )
        return Intervened(core)

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

        Raises:
            InvalidInputError: The action or the reason is empty, or ``kind``
                is not a :class:`MitigationKind`.
        """
        core = self._enter("mitigate")
        from incidentkit._events import MitigationApplied  # noqa: PLC0415 - loaded by now

        if not isinstance(cast("object", kind), MitigationKind):
            msg = f"kind must be a MitigationKind (MitigationKind.OTHER ...), not {kind!r:.60}"
            raise InvalidInputError(msg)
        core.record(
            MitigationApplied(
                core.now(),
                as_actor(actor),
                checked_text(action, "a mitigation's action"),
                kind,
                checked_text(why_not_rollback, "why_not_rollback"),
            )
        )
        return Intervened(core)


class _Verifying(_Open):
    """Phases that may verify recovery."""

    @overload
    def verify_recovery(
        self,
        *,
        actor: Actor | str,
        errors: Metric,
        traffic: Metric,
        baseline: float | dt.timedelta = ...,
        policy: RecoveryPolicy | None = ...,
        timeout: float | dt.timedelta = ...,
    ) -> Recovered | Self: ...

    @overload
    def verify_recovery(
        self,
        *,
        actor: Actor | str,
        errors: Counts | LatencyCounts,
        traffic: None = ...,
        baseline: float | dt.timedelta = ...,
        policy: RecoveryPolicy | None = ...,
        timeout: float | dt.timedelta = ...,
    ) -> Recovered | Self: ...

    @overload
    def verify_recovery(
        self,
        *,
        actor: Actor | str,
        errors: Threshold,
        traffic: Metric | None = ...,
        baseline: float | dt.timedelta = ...,
        policy: RecoveryPolicy | None = ...,
        timeout: float | dt.timedelta = ...,
    ) -> Recovered | Self: ...

    def verify_recovery(
        self,
        *,
        actor: Actor | str,
        errors: Metric | Counts | LatencyCounts | Threshold,
        traffic: Metric | None = None,
        baseline: float | dt.timedelta = 3600.0,
        policy: RecoveryPolicy | None = None,
        timeout: float | dt.timedelta = _DEFAULT_TIMEOUT,
    ) -> Recovered | Self:
        """Decide from monitoring whether the symptom is gone.

        Queries the error metric and the traffic metric from ``baseline``
        before the symptom start until now, and judges the samples after the
        latest intervention (or, for an impact that was not ongoing, after the
        symptom start) against the pre-incident baseline: back at baseline,
        held for the policy's hold period, with real traffic, without gaps.

        Args:
            actor: Who verifies.
            errors: The error ratio (higher is worse), judged sample by sample
                with a Mann-Whitney comparison; or :class:`Counts` of bad and
                all requests per step (or :class:`LatencyCounts` from a
                histogram), judged by exact binomial bounds over the hold, which
                holds at low traffic (see "Verified recovery" in the docs); or
                a :class:`Threshold` on a gauge (a p99, a queue depth), held
                at or under its threshold and back near its baseline. A ratio
                whose values go above 1.05 (a latency, a count) is not judged: the
                verdict is inconclusive and the monitoring gap names the
                objective to use.
            traffic: The traffic metric (requests per second or per step);
                required with a ratio, not used with counts (their total is
                it), optional with a threshold (without it, traffic is not
                checked and the verdict says so).
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
            InvalidInputError: A ratio without ``traffic``, or an error metric
                whose unit is a duration (use :class:`LatencyCounts` or
                :class:`Threshold`).
        """
        core = self._enter("verify_recovery")
        from incidentkit._steps import _verify  # noqa: PLC0415 - on first use

        core.run(
            _verify.verify(
                core.state,
                core.now,
                as_actor(actor),
                errors=_spec(errors, "errors"),
                traffic=_metric(traffic, "traffic"),
                baseline=seconds(baseline, "baseline"),
                policy=_policy(policy),
                timeout=seconds(timeout, "timeout"),
            )
        )
        if core.state.phase == "recovered":
            return Recovered(core)
        return type(self)(core)

    @property
    def last_verdict(self) -> RecoveryVerdict | None:
        """The verdict of the latest recovery check, if any."""
        checks = self._core.state.checks
        return checks[-1].verdict if checks else None


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


class _Assessed(_Phase):
    """Phases in which the impact is always known."""

    @property
    def impact(self) -> Impact:
        """The impact as it stands (assessed, then updated)."""
        impact = self._core.state.impact
        assert impact is not None  # noqa: S101 - these phases come after the assessment
        return impact


class Declared(_DiagnosingOverride):
    """**Phase**: the incident is open; assess the impact first.

    Allowed: :meth:`note`, :meth:`finding`, :meth:`hand_over`,
    :meth:`follow_up`, :meth:`assess_impact`, and the override
    :meth:`diagnose_without_recovery`.

    .. versionadded:: 0.1.0
    """

    PHASE: ClassVar[Phase] = "declared"

    def assess_impact(
        self,
        *,
        actor: Actor | str,
        ongoing: bool,
        severity: Severity | str | None = None,
        symptom_start: dt.datetime | float | None = None,
        services: Sequence[str] = (),
        regions: Sequence[str] = (),
        user_segments: Sequence[str] = (),
        errors: Metric | Counts | LatencyCounts | Threshold | None = None,
        traffic: Metric | None = None,
        users: Metric | None = None,
        slo: float | None = None,
        measures: Sequence[Measure] = (),
        stated: Sequence[Figure] = (),
        summary: str = "",
        timeout: float | dt.timedelta = _DEFAULT_TIMEOUT,
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
            errors: The error ratio of the affected service (0 to 1); or
                :class:`Counts` of bad and all requests per step, or
                :class:`LatencyCounts` from a latency histogram (the share of
                requests slower than the threshold), from which the ratio and
                the traffic are derived; or a :class:`Threshold` on a gauge
                (a p99, a queue depth) when only that exists: the onset is
                found on the gauge, and the figures are the share of time
                (of samples) above the threshold and, with an ``slo``, burn
                rates of that time, never a share of requests. A ratio whose
                unit is a duration is refused (:class:`InvalidInputError`), and
                one whose values go above 1.05 is set aside as a monitoring gap,
                each with a word on which of these to use.
            traffic: Its request rate, to weight the error ratio by volume
                (with counts, their total unless given).
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
        core = self._enter("assess_impact")
        from incidentkit._steps import _impact  # noqa: PLC0415 - on first use

        core.run(
            _impact.assess(
                core.state,
                core.now,
                as_actor(actor),
                ongoing=ongoing,
                severity=_severity(severity),
                symptom_start=_instant(symptom_start),
                services=names(services, "services"),
                regions=names(regions, "regions"),
                user_segments=names(user_segments, "user_segments"),
                errors=None if errors is None else _spec(errors, "errors"),
                traffic=_metric(traffic, "traffic"),
                users=_metric(users, "users"),
                slo=slo,
                measures=_measures(measures),
                stated=items(stated, "stated", Figure),
                summary=summary,
                timeout=seconds(timeout, "timeout"),
            )
        )
        return Assessed(core)


class Assessed(_Assessed, _AfterImpact, _Reviewing, _Verifying, _DiagnosingOverride):
    """**Phase**: the impact is known; gather what changed and review rollbacks.

    Allowed: :meth:`note`, :meth:`finding`, :meth:`gather_changes`,
    :meth:`update_impact`, :meth:`review_rollbacks`, :meth:`verify_recovery`
    (only when the impact is not ongoing), :meth:`hand_over`,
    :meth:`follow_up`, and the overrides :meth:`skip_rollback_review` and
    :meth:`diagnose_without_recovery`.

    .. versionadded:: 0.1.0
    """

    PHASE: ClassVar[Phase] = "assessed"

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


class Reviewed(_Assessed, _AfterImpact, _Reviewing, _Intervening, _Verifying, _DiagnosingOverride):
    """**Phase**: the rollback options are known; intervene.

    Allowed: :meth:`roll_back`, :meth:`mitigate`, :meth:`review_rollbacks`
    again, :meth:`gather_changes`, :meth:`update_impact`, notes, findings,
    :meth:`hand_over`, :meth:`follow_up`, :meth:`verify_recovery` (after an
    earlier intervention, or when the impact is not ongoing),
    :meth:`diagnose_without_recovery`.

    .. versionadded:: 0.1.0
    """

    PHASE: ClassVar[Phase] = "reviewed"

    @property
    def rollback_options(self) -> tuple[RollbackOption, ...]:
        """The options of the latest review, most suspect change first."""
        return self._core.state.rollback_options()

    @property
    def uncovered_changes(self) -> tuple[str, ...]:
        """Ids of the reviewed changes that no executor can roll back."""
        review = self._core.state.review
        return () if review is None else review.uncovered


class Intervened(
    _Assessed, _AfterImpact, _Reviewing, _Intervening, _Verifying, _DiagnosingOverride
):
    """**Phase**: an intervention was made; verify recovery in monitoring.

    Allowed: :meth:`verify_recovery`, another :meth:`roll_back` or
    :meth:`mitigate`, :meth:`review_rollbacks` again, :meth:`gather_changes`,
    :meth:`update_impact`, notes, findings, :meth:`hand_over`,
    :meth:`follow_up` and :meth:`diagnose_without_recovery`.

    .. versionadded:: 0.1.0
    """

    PHASE: ClassVar[Phase] = "intervened"

    @property
    def rollback_options(self) -> tuple[RollbackOption, ...]:
        """The options of the latest review."""
        return self._core.state.rollback_options()


class Recovered(_Assessed, _AfterImpact):
    """**Phase**: recovery is verified in monitoring; diagnosis may begin.

    Allowed: :meth:`begin_diagnosis`, :meth:`gather_changes`,
    :meth:`update_impact`, notes, findings, :meth:`hand_over` and
    :meth:`follow_up`.

    .. versionadded:: 0.1.0
    """

    PHASE: ClassVar[Phase] = "recovered"

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
        from incidentkit._events import DiagnosisBegun  # noqa: PLC0415 - loaded by now

        core.record(DiagnosisBegun(core.now(), as_actor(actor)))
        return Diagnosing(core)


class Diagnosing(_AfterImpact):
    """**Phase**: find the cause: hypotheses tied to evidence, and the checklist.

    Allowed: :meth:`hypothesis`, :meth:`reject_hypothesis`, :meth:`check`,
    :meth:`waive`, :meth:`gather_changes`, :meth:`update_impact` (once the
    impact was assessed), notes, findings, :meth:`hand_over`,
    :meth:`follow_up`, and :meth:`resolve` once every checklist item is
    checked or waived.

    .. versionadded:: 0.1.0
    """

    PHASE: ClassVar[Phase] = "diagnosing"

    @property
    def open_items(self) -> tuple[ChecklistItem, ...]:
        """The usual suspects neither checked nor waived yet."""
        return tuple(self._core.state.open_checklist_items())

    @property
    def hypotheses(self) -> dict[str, str]:
        """The hypotheses by id, with their statements (rejected ones included)."""
        return {h: e.statement for h, e in self._core.state.hypotheses.items()}

    def hypothesis(
        self, statement: str, *, actor: Actor | str, evidence: Sequence[Evidence]
    ) -> Self:
        """Record a hypothesis about the cause, tied to evidence.

        Returns:
            This phase; the hypothesis id is ``H1``, ``H2``, ... in order.
        """
        core = self._enter("hypothesis")
        from incidentkit._steps import _diagnosis  # noqa: PLC0415 - on first use

        core.run(_diagnosis.hypothesis(core.state, core.now, as_actor(actor), statement, evidence))
        return self

    def reject_hypothesis(self, hypothesis_id: str, *, actor: Actor | str, reason: str) -> Self:
        """Rule a hypothesis out, with the reason.

        Returns:
            This phase.

        Raises:
            InvalidInputError: ``hypothesis_id`` or the reason is empty or not
                a string.
            ProtocolViolation: There is no such hypothesis.
        """
        core = self._enter("reject_hypothesis")
        from incidentkit._steps import _diagnosis  # noqa: PLC0415 - on first use

        checked_text(hypothesis_id, "hypothesis_id")
        core.run(_diagnosis.reject(core.now, as_actor(actor), hypothesis_id, reason))
        return self

    def check(self, item: ChecklistItem, *, actor: Actor | str, conclusion: str) -> Self:
        """Mark a usual suspect as checked against the sources that answered.

        Raises:
            ProtocolViolation: No source of that kind answered during this
                incident: gather from one, or waive the item with a reason.
        """
        core = self._enter("check")
        from incidentkit._steps import _diagnosis  # noqa: PLC0415 - on first use

        core.run(_diagnosis.check(core.state, core.now, as_actor(actor), item, conclusion))
        return self

    def waive(self, item: ChecklistItem, *, actor: Actor | str, reason: str) -> Self:
        """Waive a usual suspect, with the reason it need not be checked.

        Returns:
            This phase.
        """
        core = self._enter("waive")
        from incidentkit._steps import _diagnosis  # noqa: PLC0415 - on first use

        core.run(_diagnosis.waive(core.now, as_actor(actor), item, reason))
        return self

    def resolve(
        self, *, actor: Actor | str, root_cause: str, evidence: Sequence[Evidence]
    ) -> Resolved:
        """Resolve the incident with its root cause and the evidence for it.

        Raises:
            ProtocolViolation: A checklist item is neither checked nor waived.
        """
        core = self._enter("resolve")
        from incidentkit._steps import _diagnosis  # noqa: PLC0415 - on first use

        core.run(_diagnosis.resolve(core.state, core.now, as_actor(actor), root_cause, evidence))
        return Resolved(core)


class Resolved(_Phase):
    """**Phase**: the incident is resolved; its resolution cannot change.

    Allowed: :meth:`report`, and on the same hash chain :meth:`follow_up`
    action items, :meth:`note` and :meth:`correct_clock`.

    .. versionadded:: 0.1.0
    """

    PHASE: ClassVar[Phase] = "resolved"

    def report(self) -> Report:
        """Build the post-mortem report: impact, timeline, interventions, findings.

        Reading a resolved incident's report never goes stale.
        """
        # The report module loads on first use, not with `import incidentkit`.
        from incidentkit._report import build_report  # noqa: PLC0415

        return build_report(self._core.state, self._core.journal.head)


AnyPhase: TypeAlias = (
    Declared | Assessed | Reviewed | Intervened | Recovered | Diagnosing | Resolved
)
"""Any phase; what :meth:`Incident.resume` returns, for the caller to narrow."""

_PHASE_CLASSES: dict[Phase, type[AnyPhase]] = {
    cls.PHASE: cls
    for cls in (Declared, Assessed, Reviewed, Intervened, Recovered, Diagnosing, Resolved)
}


def _check_phase_classes() -> None:
    """Check, at import, that each phase class has exactly the steps the rule table allows.

    The classes must be written out for the type checkers; this keeps them
    and the table from ever disagreeing.
    """
    problems = [
        f"{cls.__name__}.{step.name} "
        + ("is missing" if phase in step.allowed else "exists but is not allowed")
        for phase in PHASES
        for cls in (_PHASE_CLASSES[phase],)
        for step in STEPS
        if hasattr(cls, step.name) != (phase in step.allowed)
    ]
    if tuple(_PHASE_CLASSES) != PHASES or problems:  # pragma: no cover - a defect at import
        msg = "the phase classes disagree with the rule table: " + "; ".join(problems)
        raise RuntimeError(msg)


_check_phase_classes()


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
        journal: str | os.PathLike[str] | None = None,
        store: JournalStore | None = None,
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
            store: Or a journal store to keep it in (a
                :class:`~incidentkit.stores.FileStore`, a PostgreSQL store...):
                give ``journal`` or ``store``, not both.
            detected_at: When it was detected; by default now.
            summary: A sentence or two on what is known.
            depends_on: The dependency map (each service's direct dependencies:
                clusters, databases, vendors), so that their changes and
                incidents rank as related suspects.
            incident_id: An identifier; by default ``INC-<UTC date-time>-<random>``.
                In a store: 1 to 128 ASCII letters, digits, ``.``, ``_`` or ``-``.
            clock: Where to read the time; by default the system clock.
            lock_timeout: How long to wait for another writer's lock, in seconds
                (a journal file; a store has its own setting).

        Returns:
            The declared phase.

        Raises:
            JournalExistsError: The journal file, or the incident in the
                store, exists already.
            JournalError: The journal cannot be written.
            InvalidInputError: Neither or both of ``journal`` and ``store``
                were given, or the id cannot be kept in a store.
            NaiveDatetimeError: ``detected_at`` has no time zone.
        """
        from incidentkit._events import IncidentDeclared, unstructure_event  # noqa: PLC0415
        from incidentkit._state import IncidentState  # noqa: PLC0415 - see the imports

        if (journal is None) == (store is None):
            msg = "give the journal's path (journal=...) or a store (store=...), and only one"
            raise InvalidInputError(msg)
        if store is not None and incident_id is not None:
            from incidentkit._stored import check_incident_id  # noqa: PLC0415 - stores only

            check_incident_id(incident_id)
        clock = clock or SystemClock()
        now = to_instant(clock.now(), what="the clock's now()")
        given = cast("object", services)
        if isinstance(given, bytes) or not isinstance(given, Iterable):
            msg = f"services must name at least one affected service, not {given!r:.60}"
            raise InvalidInputError(msg)
        names = (services,) if isinstance(services, str) else tuple(services)
        if not names or not all(is_text(n) for n in names):
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
            checked_text(title, "title"),
            names,
            detection,
            detected,
            summary,
            _dependency_map(depends_on),
        )
        # Atomic: the journal appears holding its declaration, or not at all.
        body = unstructure_event(event)
        handle: JournalHandle
        if store is None:
            assert journal is not None  # noqa: S101 - checked above
            handle = Journal.create(journal, first=body, lock_timeout=lock_timeout)
        else:
            handle = _create_in_store(store, event.incident_id, body)
        return Declared(_Core(handle, IncidentState(event), clock))

    @staticmethod
    def resume(
        journal: str | os.PathLike[str] | JournalStore,
        incident_id: str | None = None,
        *,
        anchor: Anchor | str | None = None,
        clock: Clock | None = None,
        lock_timeout: float = 10.0,
        checkpoint: bool = False,
    ) -> AnyPhase:
        """Rebuild the current phase from a journal, for a script run again later.

        The journal's hash chain is verified and every event is replayed through
        the protocol's rules, so the phase returned is the one the incident was
        in. Narrow the union with ``match`` or ``isinstance``.

        Args:
            journal: The journal file, or the store holding the incident.
            incident_id: The incident, in a store (required there). With a
                file, the id the file must hold, if given.
            anchor: The head kept elsewhere (an :class:`Anchor` or its text):
                a journal shorter than it or diverging from it is refused.
            clock: Where to read the time; by default the system clock.
            lock_timeout: How long to wait for another writer's lock, in seconds.
            checkpoint: Use the checkpoint beside the journal file (see
                ``save_checkpoint()``): the chain is verified as always, the
                checkpoint's anchor checked against it, and only the records
                after it are folded; the events before it are read when first
                asked for (:attr:`events`, the report, the timeline) or before
                the first append, and must agree with it. A checkpoint that is
                missing or does not fit is not used: the whole journal is
                folded, with a :class:`~incidentkit.CheckpointWarning` saying
                why. Ignored, with that warning, for a store other than a
                :class:`~incidentkit.stores.FileStore`.

        Raises:
            JournalError: The file is missing or unreadable.
            JournalCorruptedError: The chain is broken, or the events break the
                protocol's order.
            TornRecordError: The journal ends in an incomplete record.
        """
        from incidentkit._stored import open_handle  # noqa: PLC0415 - stores load when used

        store = open_handle(journal, incident_id, lock_timeout)
        if not len(store):
            msg = (
                f"{store.location} holds no events: it is an empty file, as an interrupted "
                "declaration leaves (incidentkit 0.1 created the file before writing the "
                "declaration). "
                "Nothing in it was acknowledged; declaring the incident again at this path is "
                "safe, and replaces the empty file."
            )
            raise JournalCorruptedError(msg, path=store.location)
        if anchor is not None:
            _check_anchor(store, Anchor.parse(anchor) if isinstance(anchor, str) else anchor)
        # Folding builds a few objects per event and frees none of them: the
        # cyclic collector would only traverse the growing heap over and over
        # (a third of the time of a long journal), so it waits until the end.
        collecting = gc.isenabled()
        gc.disable()
        try:
            state = _resumed(store) if checkpoint else _fold(store)
        finally:
            if collecting:
                gc.enable()
        if incident_id is not None and state.declared.incident_id != incident_id:
            msg = (
                f"{store.location} holds the incident {state.declared.incident_id!r}, "
                f"not {incident_id!r}"
            )
            raise InvalidInputError(msg)
        core = _Core(store, state, clock or SystemClock())
        return _PHASE_CLASSES[state.phase](core)


def _create_in_store(store: JournalStore, incident_id: str, body: dict[str, Any]) -> JournalHandle:
    """Create an incident's journal in a store, holding its declaration."""
    from incidentkit._stored import StoreJournal  # noqa: PLC0415 - stores load when used
    from incidentkit.stores._file import FileStore  # noqa: PLC0415

    if isinstance(store, FileStore):
        first = encode_record(0, GENESIS_DIGEST, encode_body(body))
        path = store.path(incident_id)
        return create_with_records(path, (first,), lock_timeout=store.lock_timeout)
    return StoreJournal.create(store, incident_id, body)


def _declared(store: JournalHandle, body: dict[str, Any]) -> IncidentDeclared:
    from incidentkit._events import IncidentDeclared  # noqa: PLC0415 - see the imports

    declared = _structured(store, 0, body)
    if not isinstance(declared, IncidentDeclared):
        raise JournalCorruptedError(
            f"{store.location}: the first record is {declared.TYPE}, not incident_declared",
            path=store.location,
        )
    return declared


def _fold(store: JournalHandle, count: int | None = None) -> IncidentState:
    """Replay the records of a verified, non-empty journal through the protocol's rules.

    Every record, or the first ``count``.
    """
    from incidentkit._state import IncidentState  # noqa: PLC0415 - see the imports

    bodies = _bodies(store, 0)
    _seq, body = next(bodies)
    state = IncidentState(_declared(store, body))
    apply = state.apply
    if count is None:
        for seq, body in bodies:
            apply(seq, _checked_event(store, seq, body, state))
    else:
        for seq, body in bodies:
            if seq >= count:
                break
            apply(seq, _checked_event(store, seq, body, state))
    return state


def _resumed(store: JournalHandle) -> IncidentState:
    """Fold from the checkpoint beside a journal file, or every record if it does not fit."""
    import warnings  # noqa: PLC0415 - only here

    from incidentkit._checkpoint import restore  # noqa: PLC0415 - on first use
    from incidentkit._errors import CheckpointWarning  # noqa: PLC0415

    if not isinstance(store, Journal):
        warnings.warn(
            f"{store.location} is not a journal file, so it has no checkpoint; the whole "
            "journal was folded",
            CheckpointWarning,
            stacklevel=3,
        )
        return _fold(store)
    lines = record_lines(store)
    declared = _declared(store, next(_bodies(store, 0))[1])

    def full_fold(count: int) -> IncidentState:
        collecting = gc.isenabled()
        gc.disable()
        try:
            return _fold(store, count)
        finally:
            if collecting:
                gc.enable()

    state = restore(store.path, lines, declared, full_fold)
    if state is None:
        return _fold(store)
    apply = state.apply
    for seq, body in _bodies(store, state.count):
        apply(seq, _checked_event(store, seq, body, state))
    return state


def _check_anchor(store: JournalHandle, anchor: Anchor) -> None:
    """Refuse a journal shorter than the anchor kept elsewhere, or diverging from it."""
    problems = anchor_problems(record_lines(store), anchor)
    if problems:
        found = "; ".join(problem.detail for problem in problems)
        msg = f"{store.location} does not reach the anchor kept elsewhere ({anchor}): {found}"
        raise JournalCorruptedError(msg, path=store.location)
