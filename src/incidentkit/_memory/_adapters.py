"""The in-memory adapters: each protocol implemented on data the caller holds."""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import ClassVar, Final

import attrs
import pendulum

from incidentkit import _arguments
from incidentkit._errors import (
    InvalidInputError,
    RollbackFailedError,
    SourceError,
)
from incidentkit._model import (
    DEPENDENCY_KINDS,
    DEPLOY_KINDS,
    INFRASTRUCTURE_KINDS,
    Caveat,
    CaveatKind,
    Change,
    ChangeKind,
    MetricQuery,
    RollbackOption,
    RollbackResult,
    Series,
)
from incidentkit._time import to_instant

__all__ = [
    "InMemoryChangeSource",
    "InMemoryDependencyStatusSource",
    "InMemoryDeploySource",
    "InMemoryMetricSource",
    "InMemoryRollbackExecutor",
    "kind_list",
    "names_of",
]


def kind_list(kinds: Iterable[ChangeKind]) -> str:
    return ", ".join(sorted(k.value for k in kinds))


def names_of(names: Iterable[str]) -> tuple[str, ...]:
    return (names,) if isinstance(names, str) else tuple(names)


def _collect_changes(
    changes: Iterable[Change], *, kinds: frozenset[ChangeKind], name: str, role: str
) -> tuple[Change, ...]:
    """Validate the changes given to a change-like adapter and stamp its name on them."""
    kept: list[Change] = []
    seen: dict[str, int] = {}
    for position, change in enumerate(changes):
        if not isinstance(change, Change):  # pyright: ignore[reportUnnecessaryIsInstance]
            msg = (
                f"{name}: changes[{position}] is {type(change).__name__}, not a Change record; "
                "build one with incidentkit.Change(...)"
            )
            raise InvalidInputError(msg)
        if change.kind not in kinds:
            msg = (
                f"{name}: change {change.id!r} is of kind {change.kind.value}, but {role} "
                f"holds only kind {kind_list(kinds)}; give it to the in-memory source "
                "of its kind (Dataset sorts them for you)"
            )
            raise InvalidInputError(msg)
        if change.id in seen:
            msg = (
                f"{name}: changes[{position}] repeats the id {change.id!r} of "
                f"changes[{seen[change.id]}]; ids must be unique within a source"
            )
            raise InvalidInputError(msg)
        seen[change.id] = position
        kept.append(change if change.source else attrs.evolve(change, source=name))
    kept.sort(key=lambda c: (c.started, c.id))
    return tuple(kept)


def _select(
    changes: tuple[Change, ...],
    start: dt.datetime,
    end: dt.datetime,
    services: Sequence[str] | None,
    *,
    name: str,
) -> list[Change]:
    first, last = _arguments.check_window(start, end, name=name)
    wanted = _arguments.service_filter(services)
    return [
        c for c in changes if c.overlaps(first, last) and (wanted is None or c.service in wanted)
    ]


class _ChangeStore:
    """What the in-memory change sources share: a name and checked, sorted changes."""

    _KINDS: ClassVar[frozenset[ChangeKind]]
    _ROLE: ClassVar[str]

    def __init__(self, changes: Iterable[Change], *, name: str) -> None:
        self._name = _arguments.check_name(name)
        self._changes = _collect_changes(changes, kinds=self._KINDS, name=name, role=self._ROLE)

    @property
    def name(self) -> str:
        """The source's name."""
        return self._name

    def _select(
        self, start: dt.datetime, end: dt.datetime, services: Sequence[str] | None
    ) -> list[Change]:
        return _select(self._changes, start, end, services, name=self._name)

    def __repr__(self) -> str:
        """Return the class, the name and how many changes the source holds."""
        return f"{type(self).__name__}(name={self._name!r}, changes={len(self._changes)})"


class InMemoryDeploySource(_ChangeStore):
    """**Implements**: :class:`~incidentkit.protocols.DeploySource`, from a list of changes.

    Args:
        changes: Changes of kind ``DEPLOY``, ``CONFIG`` or ``FEATURE_FLAG``.
            A change without a ``source`` gets this source's name.
        name: The source's name, as the journal and the findings show it.

    Raises:
        InvalidInputError: A change is of another kind, is not a
            :class:`~incidentkit.Change`, or repeats another change's id.

    .. versionadded:: 0.1.0
    """

    _KINDS = DEPLOY_KINDS
    _ROLE = "a deploy source"

    def __init__(self, changes: Iterable[Change], *, name: str = "memory-deploys") -> None:
        super().__init__(changes, name=name)

    def deploys(
        self,
        start: dt.datetime,
        end: dt.datetime,
        *,
        services: Sequence[str] | None = None,
    ) -> list[Change]:
        """Return the changes under way at any time in ``[start, end]``, oldest first.

        A change overlaps the window if it started by ``end`` and had not
        finished before ``start`` (one without ``finished`` is still under way).

        Args:
            start: The window's start (timezone-aware).
            end: The window's end (timezone-aware).
            services: Only these services; ``None`` means all. A single string
                is one service name.

        Returns:
            The matching changes sorted by ``started`` (then ``id``).

        Raises:
            NaiveDatetimeError: ``start`` or ``end`` has no time zone.
            InvalidInputError: The window ends before it starts.
        """
        return self._select(start, end, services)


class InMemoryChangeSource(_ChangeStore):
    """**Implements**: :class:`~incidentkit.protocols.ChangeSource`, from a list of changes.

    Args:
        changes: Changes of kind ``INFRASTRUCTURE``. A change without a
            ``source`` gets this source's name.
        name: The source's name, as the journal and the findings show it.

    Raises:
        InvalidInputError: A change is of another kind, is not a
            :class:`~incidentkit.Change`, or repeats another change's id.

    .. versionadded:: 0.1.0
    """

    _KINDS = INFRASTRUCTURE_KINDS
    _ROLE = "an infrastructure source"

    def __init__(self, changes: Iterable[Change], *, name: str = "memory-infrastructure") -> None:
        super().__init__(changes, name=name)

    def changes(
        self,
        start: dt.datetime,
        end: dt.datetime,
        *,
        services: Sequence[str] | None = None,
    ) -> list[Change]:
        """Return the infrastructure changes under way at any time in ``[start, end]``.

        Args:
            start: The window's start (timezone-aware).
            end: The window's end (timezone-aware).
            services: Only these services; ``None`` means all.

        Returns:
            The matching changes sorted by ``started`` (then ``id``).

        Raises:
            NaiveDatetimeError: ``start`` or ``end`` has no time zone.
            InvalidInputError: The window ends before it starts.
        """
        return self._select(start, end, services)


class InMemoryDependencyStatusSource(_ChangeStore):
    """**Implements**: :class:`~incidentkit.protocols.DependencyStatusSource`, from a list.

    Args:
        incidents: Changes of kind ``DEPENDENCY``, whose ``service`` is the
            dependency. One without a ``source`` gets this source's name.
        name: The source's name, as the journal and the findings show it.

    Raises:
        InvalidInputError: An incident is of another kind, is not a
            :class:`~incidentkit.Change`, or repeats another one's id.

    .. versionadded:: 0.1.0
    """

    _KINDS = DEPENDENCY_KINDS
    _ROLE = "a dependency-status source"

    def __init__(self, incidents: Iterable[Change], *, name: str = "memory-dependencies") -> None:
        super().__init__(incidents, name=name)

    def incidents(self, start: dt.datetime, end: dt.datetime) -> list[Change]:
        """Return the dependency incidents under way at any time in ``[start, end]``.

        Returns:
            The matching incidents sorted by ``started`` (then ``id``).

        Raises:
            NaiveDatetimeError: ``start`` or ``end`` has no time zone.
            InvalidInputError: The window ends before it starts.
        """
        return self._select(start, end, None)


class InMemoryMetricSource:
    """**Implements**: :class:`~incidentkit.protocols.MetricSource`, from stored samples.

    Each query string maps to its samples. A query answers with the stored
    samples inside the window, whatever the step (the step is recorded in the
    answer's :class:`~incidentkit.MetricQuery`, not used to resample). A query
    string the source does not hold answers with an empty series, as
    Prometheus answers an expression that matches nothing: no data, which the
    protocol treats as a gap, never as zero.

    Args:
        series: For each query string, ``(instant or Unix seconds, value)``
            pairs. Values are numbers, numeric strings (``"0.5"``, ``"NaN"``,
            ``"+Inf"``, as Prometheus sends them) or ``None`` for a missing
            sample. NaN and infinities become gaps in the answer.
        name: The source's name, as the journal and the findings show it.
        units: The unit of each query's values (``ratio``, ``req/s``).

    Raises:
        InvalidInputError: A pair is malformed, a value is not a number, two
            samples of one query share an instant, or an instant is naive.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        series: Mapping[str, Sequence[tuple[dt.datetime | float, float | str | None]]],
        *,
        name: str = "memory-metrics",
        units: Mapping[str, str] | None = None,
    ) -> None:
        self._name = _arguments.check_name(name)
        self._units: dict[str, str] = dict(units or {})
        self._series: dict[str, tuple[list[pendulum.DateTime], list[float | str | None]]] = {}
        for query, pairs in series.items():
            self._series[query] = self._validated(query, pairs)

    def _validated(
        self, query: str, pairs: Sequence[tuple[dt.datetime | float, float | str | None]]
    ) -> tuple[list[pendulum.DateTime], list[float | str | None]]:
        """Check the pairs once, by building a series of all of them; keep them sorted."""
        try:
            Series.from_pairs(MetricQuery(self._name, query, 0, 0, 1.0), pairs)
        except InvalidInputError as exc:
            msg = f"{self._name}: series {query!r}: {exc}"
            raise type(exc)(msg) from exc
        # Keep the raw values, so that each answer counts its own non-finite samples.
        ordered = sorted(((to_instant(at), value) for at, value in pairs), key=lambda p: p[0])
        return [at for at, _ in ordered], [value for _, value in ordered]

    @property
    def name(self) -> str:
        """The source's name."""
        return self._name

    @property
    def queries(self) -> tuple[str, ...]:
        """The query strings this source holds data for, sorted."""
        return tuple(sorted(self._series))

    def query_range(
        self,
        query: str,
        start: dt.datetime,
        end: dt.datetime,
        step: float,
    ) -> Series:
        """Return the stored samples of ``query`` with ``start <= t <= end``.

        Args:
            query: The exact query string.
            start: The window's start (timezone-aware).
            end: The window's end (timezone-aware).
            step: The resolution asked for, in seconds; recorded in the
                answer's query.

        Returns:
            A series whose ``query`` records this source, the query, the
            window, the step and the unit. Empty if the query is unknown or
            has no samples in the window.

        Raises:
            InvalidInputError: ``step`` is not a positive number of seconds,
                or the window ends before it starts.
            NaiveDatetimeError: ``start`` or ``end`` has no time zone.
        """
        if isinstance(step, bool) or not isinstance(step, (int, float)):  # pyright: ignore[reportUnnecessaryIsInstance]
            msg = f"{self._name}: step must be a number of seconds, not {type(step).__name__}"
            raise InvalidInputError(msg)
        if not (math.isfinite(step) and step > 0):
            msg = f"{self._name}: step must be a positive number of seconds, not {step!r}"
            raise InvalidInputError(msg)
        first, last = _arguments.check_window(start, end, name=self._name)
        asked = MetricQuery(self._name, query, first, last, float(step), self._units.get(query, ""))
        stored = self._series.get(query)
        if stored is None:
            return Series(asked, ())
        instants, values = stored
        low = bisect.bisect_left(instants, first)
        high = bisect.bisect_right(instants, last)
        return Series.from_pairs(asked, zip(instants[low:high], values[low:high], strict=True))

    def __repr__(self) -> str:
        """Return the name and the number of queries held."""
        return f"InMemoryMetricSource(name={self._name!r}, queries={len(self._series)})"


class InMemoryRollbackExecutor:
    """**Implements**: :class:`~incidentkit.protocols.RollbackExecutor`, on a table of versions.

    The executor knows which version of each target (service) is live and
    "rolls back" by changing that table. It offers one option per change of a
    kind it handles that names a ``previous_version``, and refuses to roll back
    a target whose live version changed since the option was offered.

    It acts only on what it offered: :meth:`dry_run` and :meth:`execute`
    first check that the option they are given is one :meth:`options`
    returned (the same id, change, target, versions and dry-run support; the
    caveats are not compared, since the incident adds its own), and refuse any
    other with :class:`~incidentkit.InvalidInputError`, before anything else.
    An executor built after a resume, in a new process, has offered nothing
    yet: it accepts an option it would offer now for one of the ``changes`` it
    was given (the version it reverts from is then checked against the live
    one, like any option's), and refuses every other.

    Args:
        live_versions: The version live now for each target. The executor
            keeps its own copy.
        name: The executor's name, used in the journal and in option ids.
        kinds: The change kinds it can roll back.
        supports_dry_run: Whether its options can be rehearsed.
        auto_synced: Targets an automated sync (GitOps) manages; their
            options carry an ``AUTOMATED_SYNC`` caveat.
        changes: The changes whose options it accepts without having offered
            them in this process (after a resume); by default none.

    Attributes:
        executed: The results of the rollbacks carried out, oldest first.

    .. versionadded:: 0.1.0

    .. versionchanged:: 0.2.0
       Refuses options it did not offer; the ``changes`` argument.
    """

    def __init__(
        self,
        *,
        live_versions: Mapping[str, str],
        name: str = "memory-rollback",
        kinds: Iterable[ChangeKind] = frozenset(
            {ChangeKind.DEPLOY, ChangeKind.CONFIG, ChangeKind.FEATURE_FLAG}
        ),
        supports_dry_run: bool = True,
        auto_synced: Iterable[str] = (),
        changes: Iterable[Change] = (),
    ) -> None:
        self._name = _arguments.check_name(name)
        self._live: dict[str, str] = dict(live_versions)
        self._kinds = frozenset(kinds)
        for kind in self._kinds:
            if not isinstance(kind, ChangeKind):  # pyright: ignore[reportUnnecessaryIsInstance]
                msg = f"{name}: kinds must be ChangeKind members, not {kind!r}"
                raise InvalidInputError(msg)
        self._dry_run = bool(supports_dry_run)
        self._auto_synced = frozenset(names_of(auto_synced))
        self._known = _changes_by_id(changes, name=name)
        self._offered: dict[str, list[RollbackOption]] = {}
        self.executed: list[RollbackResult] = []

    @property
    def name(self) -> str:
        """The executor's name."""
        return self._name

    @property
    def live_versions(self) -> Mapping[str, str]:
        """A copy of the version table as it stands now."""
        return dict(self._live)

    def options(self, change: Change) -> list[RollbackOption]:
        """Return the one way to roll ``change`` back, or nothing.

        The option returns ``change.service`` from the version live now to
        ``change.previous_version``. It carries an ``AUTOMATED_SYNC`` caveat
        when the service is synced automatically, and an ``OTHER`` caveat when
        the live version is not the one the change shipped (rolling back would
        also revert what came after) or is unknown. The executor remembers
        the options it offered: they are the only ones it carries out.

        Returns:
            One option, or an empty list when the change's kind is not handled
            or it names no previous version.
        """
        option = self._option(change)
        if option is None:
            return []
        offered = self._offered.setdefault(option.id, [])
        if _essence(option) not in map(_essence, offered):
            offered.append(option)
        return [option]

    def _option(self, change: Change) -> RollbackOption | None:
        """Return the option :meth:`options` would offer for ``change`` now, or ``None``."""
        if change.kind not in self._kinds or change.previous_version is None:
            return None
        target = change.service
        live = self._live.get(target)
        caveats: list[Caveat] = []
        if target in self._auto_synced:
            caveats.append(
                Caveat(
                    CaveatKind.AUTOMATED_SYNC,
                    f"{target} is synced automatically: pause the sync first, or it may "
                    f"re-apply {change.version or change.id} right after the rollback",
                )
            )
        if live is None:
            caveats.append(
                Caveat(
                    CaveatKind.OTHER,
                    f"{self._name} does not know which version of {target} is live, so it "
                    f"cannot confirm that {change.id} is what runs now",
                )
            )
        elif change.version is not None and live != change.version:
            caveats.append(
                Caveat(
                    CaveatKind.OTHER,
                    f"{target} runs {live} now, not {change.version} as {change.id} shipped: "
                    "the change is no longer what is live, and rolling back would also revert "
                    "later changes",
                )
            )
        return RollbackOption(
            id=f"{self._name}:{change.id}",
            executor=self._name,
            change_id=change.id,
            target=target,
            from_version=live,
            to_version=change.previous_version,
            caveats=tuple(caveats),
            supports_dry_run=self._dry_run,
        )

    def current_version(self, target: str) -> str | None:
        """Return the version of ``target`` live now, or ``None`` if it is not in the table."""
        return self._live.get(target)

    def _offered_option(self, option: object) -> RollbackOption:
        """Return ``option`` if this executor offered it, or would offer it now after a resume.

        Raises:
            InvalidInputError: It is not an option, another executor offered
                it, or this one never did; the message names what this
                executor offered.
        """
        if not isinstance(option, RollbackOption):
            msg = (
                f"{self._name}: expected a RollbackOption it offered, not "
                f"{type(option).__name__}; pass one of the options of the review"
            )
            raise InvalidInputError(msg)
        if option.executor != self._name:
            msg = (
                f"option {option.id!r} was offered by {option.executor!r}, not by "
                f"{self._name!r}; pass it to the executor that offered it"
            )
            raise InvalidInputError(msg)
        offered = self._offered.get(option.id, [])
        if _essence(option) in map(_essence, offered):
            return option
        shown = [_shown(o) for options in self._offered.values() for o in options]
        known = self._known.get(option.change_id)
        now = None if known is None else self._option(known)
        if now is not None:
            # After a resume the live version may have moved on: the conflict check says so.
            if _essence(option, live=False) == _essence(now, live=False):
                return option
            shown.append(f"{_shown(now)}, what it would offer now for {option.change_id!r}")
        if offered:
            problem = (
                f"option {option.id!r} is not the one {self._name} offered under that id "
                f"({_differences(offered[-1], option)})"
            )
        else:
            problem = f"{self._name} never offered an option {option.id!r}"
        offers = "; ".join(shown) if shown else "nothing yet (ask options(change) first)"
        msg = (
            f"{self._name}: nothing was done: {problem}. It offered: {offers}. Pass an option "
            "exactly as offered (review the rollbacks again to get fresh ones)"
        )
        raise InvalidInputError(msg)

    def _conflict(self, option: RollbackOption) -> str:
        """Return why ``option`` cannot be carried out now, or ``""``."""
        if option.target not in self._live:
            return f"{self._name} does not manage {option.target!r}: it has no live version"
        live = self._live[option.target]
        if live != option.from_version:
            return (
                f"{option.target} runs {live} now, not {option.from_version} as when the "
                "option was offered: someone changed it since; review the rollbacks again"
            )
        return ""

    def dry_run(self, option: RollbackOption) -> RollbackResult:
        """Rehearse ``option``: check that the target still runs the version it expects.

        Returns:
            A dry-run result that succeeded if the rollback could go ahead now,
            with the live version and the reason in ``detail``.

        Raises:
            InvalidInputError: This executor did not offer the option (another
                one did, or none did, or it was changed since).
            SourceError: This executor was built with ``supports_dry_run=False``.
        """
        option = self._offered_option(option)
        if not self._dry_run:
            msg = f"{self._name} cannot rehearse rollbacks (built with supports_dry_run=False)"
            raise SourceError(msg, source=self._name)
        problem = self._conflict(option)
        return RollbackResult(
            option_id=option.id,
            succeeded=not problem,
            dry_run=True,
            live_version=self._live.get(option.target),
            detail=problem
            or f"would roll {option.target} back from {option.from_version} to {option.to_version}",
        )

    def execute(self, option: RollbackOption) -> RollbackResult:
        """Roll ``option.target`` back to ``option.to_version``.

        Returns:
            A succeeded result naming the version now live; it is also
            appended to :attr:`executed`.

        Raises:
            InvalidInputError: This executor did not offer the option (another
                one did, or none did, or it was changed since). Nothing changed.
            RollbackFailedError: The target's live version is no longer the
                option's ``from_version`` (someone changed it since the
                review), or the target is unknown. Nothing changed.
        """
        option = self._offered_option(option)
        problem = self._conflict(option)
        if problem:
            raise RollbackFailedError(f"{self._name}: {problem}", source=self._name)
        assert option.to_version is not None  # noqa: S101 - every option offered names one
        self._live[option.target] = option.to_version
        result = RollbackResult(
            option_id=option.id,
            succeeded=True,
            dry_run=False,
            live_version=option.to_version,
            detail=f"rolled {option.target} back from {option.from_version} to {option.to_version}",
        )
        self.executed.append(result)
        return result

    def __repr__(self) -> str:
        """Return the name and the version table."""
        return f"InMemoryRollbackExecutor(name={self._name!r}, live_versions={self._live!r})"


def _changes_by_id(changes: Iterable[object], *, name: str) -> dict[str, Change]:
    known: dict[str, Change] = {}
    for position, change in enumerate(changes):
        if not isinstance(change, Change):
            msg = f"{name}: changes[{position}] is {type(change).__name__}, not a Change record"
            raise InvalidInputError(msg)
        known[change.id] = change
    return known


_COMPARED: Final = ("id", "change_id", "target", "from_version", "to_version", "supports_dry_run")


def _essence(option: RollbackOption, *, live: bool = True) -> RollbackOption:
    """Return what an executor acts on: the option without its caveats.

    Without ``live``, without the version it reverts from either: the
    conflict check compares that one with the live version.
    """
    if live:
        return attrs.evolve(option, caveats=())
    return attrs.evolve(option, caveats=(), from_version=None)


def _shown(option: RollbackOption) -> str:
    """Show an option's id and what it would do, every value quoted."""
    return (
        f"{option.id!r} (change {option.change_id!r}, target {option.target!r}, "
        f"{option.from_version!r} -> {option.to_version!r})"
    )


def _differences(offered: RollbackOption, given: RollbackOption) -> str:
    """Say which fields of ``given`` differ from the option offered under its id."""
    return ", ".join(
        f"{field} {getattr(given, field)!r}, offered {getattr(offered, field)!r}"
        for field in _COMPARED
        if getattr(given, field) != getattr(offered, field)
    )
