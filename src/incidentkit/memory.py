"""In-memory adapters, and datasets that feed them from a JSON file.

Each class here implements one protocol of :mod:`incidentkit.protocols` from
data the caller already holds: a list of :class:`~incidentkit.Change` records,
metric samples, the versions live now. They answer like a real source would
(the same windows, the same gaps, the same errors), so they serve tests,
replays of past incidents, tabletop exercises and the examples.

A :class:`Dataset` bundles everything one scenario needs and is stored as a
JSON file in the ``incidentkit.dataset/1`` format; :func:`load_dataset` reads
one, :func:`dump_dataset` writes one, and the dataset builds each in-memory
adapter::

    dataset = load_dataset("checkout_outage.json")
    deploys = dataset.deploy_source()
    metrics = dataset.metric_source()
    rollback = dataset.rollback_executor()

The format is described field by field in the documentation's "Adapters" page.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence, Sized
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final, cast

import attrs
import cattrs
import pendulum
from cattrs.errors import ForbiddenExtraKeysError

from incidentkit import _arguments
from incidentkit._errors import (
    InvalidInputError,
    NaiveDatetimeError,
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
from incidentkit._time import format_instant, parse_instant, to_instant

if TYPE_CHECKING:
    import os

__all__ = [
    "DATASET_FORMAT",
    "Dataset",
    "InMemoryChangeSource",
    "InMemoryDependencyStatusSource",
    "InMemoryDeploySource",
    "InMemoryMetricSource",
    "InMemoryRollbackExecutor",
    "MetricData",
    "dump_dataset",
    "load_dataset",
]

DATASET_FORMAT: Final = "incidentkit.dataset/1"
"""The ``format`` value of the dataset files this version reads and writes.

.. versionadded:: 0.1.0
"""


_SOURCE_KEYS: Final = ("deploys", "infrastructure", "dependencies", "metrics", "rollback")
_DEFAULT_NAMES: Final[Mapping[str, str]] = {
    "deploys": "memory-deploys",
    "infrastructure": "memory-infrastructure",
    "dependencies": "memory-dependencies",
    "metrics": "memory-metrics",
    "rollback": "memory-rollback",
}
_TOP_LEVEL_KEYS: Final = (
    "format",
    "description",
    "scenario",
    "sources",
    "changes",
    "metrics",
    "live_versions",
    "auto_synced",
)
_INSTANT_EXAMPLE: Final = "2026-11-20T14:02:00Z"


# --------------------------------------------------------------------------- helpers


def _count_repr(what: str) -> Callable[[Sized], str]:
    """Return an attrs field repr that shows only how many items there are."""
    return lambda value: f"<{len(value)} {what}>"


def _kind_list(kinds: Iterable[ChangeKind]) -> str:
    return ", ".join(sorted(k.value for k in kinds))


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
                f"holds only kind {_kind_list(kinds)}; give it to the in-memory source "
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


# --------------------------------------------------------------------------- change sources


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


# --------------------------------------------------------------------------- metrics


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


# --------------------------------------------------------------------------- rollback


class InMemoryRollbackExecutor:
    """**Implements**: :class:`~incidentkit.protocols.RollbackExecutor`, on a table of versions.

    The executor knows which version of each target (service) is live and
    "rolls back" by changing that table. It offers one option per change of a
    kind it handles that names a ``previous_version``, and refuses to roll back
    a target whose live version changed since the option was offered.

    Args:
        live_versions: The version live now for each target. The executor
            keeps its own copy.
        name: The executor's name, used in the journal and in option ids.
        kinds: The change kinds it can roll back.
        supports_dry_run: Whether its options can be rehearsed.
        auto_synced: Targets an automated sync (GitOps) manages; their
            options carry an ``AUTOMATED_SYNC`` caveat.

    Attributes:
        executed: The results of the rollbacks carried out, oldest first.

    .. versionadded:: 0.1.0
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
    ) -> None:
        self._name = _arguments.check_name(name)
        self._live: dict[str, str] = dict(live_versions)
        self._kinds = frozenset(kinds)
        for kind in self._kinds:
            if not isinstance(kind, ChangeKind):  # pyright: ignore[reportUnnecessaryIsInstance]
                msg = f"{name}: kinds must be ChangeKind members, not {kind!r}"
                raise InvalidInputError(msg)
        self._dry_run = bool(supports_dry_run)
        self._auto_synced = frozenset(_names(auto_synced))
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
        also revert what came after) or is unknown.

        Returns:
            One option, or an empty list when the change's kind is not handled
            or it names no previous version.
        """
        if change.kind not in self._kinds or change.previous_version is None:
            return []
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
        return [
            RollbackOption(
                id=f"{self._name}:{change.id}",
                executor=self._name,
                change_id=change.id,
                target=target,
                from_version=live,
                to_version=change.previous_version,
                caveats=tuple(caveats),
                supports_dry_run=self._dry_run,
            )
        ]

    def current_version(self, target: str) -> str | None:
        """Return the version of ``target`` live now, or ``None`` if it is not in the table."""
        return self._live.get(target)

    def _check_own(self, option: RollbackOption) -> None:
        if option.executor != self._name:
            msg = (
                f"option {option.id!r} was offered by {option.executor!r}, not by "
                f"{self._name!r}; pass it to the executor that offered it"
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
        if option.to_version is None:
            return f"option {option.id!r} names no version to return to"
        return ""

    def dry_run(self, option: RollbackOption) -> RollbackResult:
        """Rehearse ``option``: check that the target still runs the version it expects.

        Returns:
            A dry-run result that succeeded if the rollback could go ahead now,
            with the live version and the reason in ``detail``.

        Raises:
            InvalidInputError: Another executor offered the option.
            SourceError: This executor was built with ``supports_dry_run=False``.
        """
        self._check_own(option)
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
            InvalidInputError: Another executor offered the option.
            RollbackFailedError: The target's live version is no longer the
                option's ``from_version`` (someone changed it since the
                review), the target is unknown, or the option names no version
                to return to. Nothing changed.
        """
        self._check_own(option)
        problem = self._conflict(option)
        if problem:
            raise RollbackFailedError(f"{self._name}: {problem}", source=self._name)
        assert option.to_version is not None  # noqa: S101 - _conflict checked it
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


# --------------------------------------------------------------------------- datasets


def _metric_value(raw: object) -> float | None:
    """Return a sample value as a float (NaN and infinities kept) or ``None``.

    Raises:
        InvalidInputError: The value is not a number, a numeric string or ``None``.
    """
    expected = 'expected a number, a numeric string such as "0.5" or "NaN", or null for a gap'
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        msg = f"{expected}, got {_json_type(raw)}"
        raise InvalidInputError(msg)
    try:
        value = float(raw)
    except ValueError:
        msg = f"{json.dumps(raw)} is not a number; {expected}"
        raise InvalidInputError(msg) from None
    # One NaN object for all: containers compare items by identity first, so two
    # datasets holding the same NaN samples compare equal (a dump and load round trip).
    return math.nan if math.isnan(value) else value


def _metric_samples(
    pairs: Iterable[tuple[dt.datetime | float, float | str | None]],
) -> tuple[tuple[pendulum.DateTime, float | None], ...]:
    samples: list[tuple[pendulum.DateTime, float | None]] = []
    for position, pair in enumerate(pairs):
        try:
            at, value = pair
        except (TypeError, ValueError):
            msg = f"sample {position}: expected an (instant, value) pair, got {pair!r}"
            raise InvalidInputError(msg) from None
        samples.append((to_instant(at, what=f"sample {position}"), _metric_value(value)))
    samples.sort(key=lambda sample: sample[0])
    for before, after in itertools.pairwise(samples):
        if before[0] == after[0]:
            msg = f"two samples at the same instant {after[0]}"
            raise InvalidInputError(msg)
    return tuple(samples)


@attrs.frozen
class MetricData:
    """The samples of one metric query in a :class:`Dataset`, with their unit.

    Attributes:
        samples: ``(instant, value)`` pairs sorted by time; ``None`` is a
            missing sample, NaN and infinities are kept (the metric source
            turns them into gaps and counts them).
        unit: The values' unit (``ratio``, ``req/s``, ``s``).

    .. versionadded:: 0.1.0
    """

    samples: tuple[tuple[pendulum.DateTime, float | None], ...] = attrs.field(
        converter=_metric_samples, repr=_count_repr("samples")
    )
    unit: str = ""


def _check_source_names(_instance: object, _attribute: object, value: Mapping[str, str]) -> None:
    unknown = sorted(set(value) - set(_SOURCE_KEYS))
    if unknown:
        msg = f"unknown source role(s) {', '.join(unknown)}; expected {', '.join(_SOURCE_KEYS)}"
        raise InvalidInputError(msg)


def _sorted_changes(changes: Iterable[Change]) -> tuple[Change, ...]:
    kept = tuple(changes)
    for position, change in enumerate(kept):
        if not isinstance(change, Change):  # pyright: ignore[reportUnnecessaryIsInstance]
            msg = f"changes[{position}] is {type(change).__name__}, not a Change record"
            raise InvalidInputError(msg)
    return tuple(sorted(kept, key=lambda c: (c.started, c.id)))


def _str_map(mapping: Mapping[str, str]) -> dict[str, str]:
    return dict(mapping)


def _metric_map(mapping: Mapping[str, MetricData]) -> dict[str, MetricData]:
    return dict(mapping)


def _names(names: Iterable[str]) -> tuple[str, ...]:
    return (names,) if isinstance(names, str) else tuple(names)


@attrs.frozen(kw_only=True)
class Dataset:
    """Everything one scenario needs: changes, metrics, live versions, and notes.

    Read one from a JSON file with :func:`load_dataset` (or from parsed JSON
    with :meth:`from_dict`), or build one in Python. Each ``*_source()``
    method builds a fresh in-memory adapter from it.

    Attributes:
        description: What the dataset is, for people.
        scenario: Free-form facts about the scenario (a title, the instants
            the story needs); :meth:`scenario_instant` reads an instant.
        sources: The adapters' names by role (``deploys``,
            ``infrastructure``, ``dependencies``, ``metrics``, ``rollback``);
            a role not named keeps the in-memory default name.
        changes: Every change of every kind, sorted by start.
        metrics: The samples of each metric query, by query string.
        live_versions: The version of each target live at the dataset's end
            (before any rollback is carried out).
        auto_synced: The targets an automated sync manages.

    .. versionadded:: 0.1.0
    """

    description: str = ""
    scenario: Mapping[str, str] = attrs.field(factory=dict[str, str], converter=_str_map)
    sources: Mapping[str, str] = attrs.field(
        factory=dict[str, str], converter=_str_map, validator=_check_source_names
    )
    changes: tuple[Change, ...] = attrs.field(default=(), converter=_sorted_changes)
    metrics: Mapping[str, MetricData] = attrs.field(
        factory=dict[str, MetricData], converter=_metric_map, repr=_count_repr("series")
    )
    live_versions: Mapping[str, str] = attrs.field(factory=dict[str, str], converter=_str_map)
    auto_synced: tuple[str, ...] = attrs.field(default=(), converter=_names)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Dataset:
        """Build a dataset from parsed JSON in the ``incidentkit.dataset/1`` format.

        Args:
            data: The JSON object, as :func:`json.load` returns it.

        Returns:
            The dataset.

        Raises:
            InvalidInputError: The data does not follow the format; the message
                names the JSON path of every problem (``changes[3].started``)
                and what was expected there.
        """
        return _parse_dataset(data, origin="dataset")

    def to_dict(self) -> dict[str, Any]:
        """Return the dataset as a JSON object in the ``incidentkit.dataset/1`` format.

        A regular series (constant spacing) is written compactly as
        ``start``, ``step`` and ``values``; any other as ``samples``.
        """
        return {
            "format": DATASET_FORMAT,
            "description": self.description,
            "scenario": dict(self.scenario),
            "sources": dict(self.sources),
            "changes": [_CONVERTER.unstructure(c, Change) for c in self.changes],
            "metrics": {query: _dump_metric(data) for query, data in self.metrics.items()},
            "live_versions": dict(self.live_versions),
            "auto_synced": list(self.auto_synced),
        }

    def scenario_instant(self, key: str) -> pendulum.DateTime:
        """Return ``scenario[key]`` read as an instant.

        Raises:
            InvalidInputError: The scenario has no such key, or its value is
                not an ISO 8601 instant with a UTC offset.
        """
        if key not in self.scenario:
            known = ", ".join(sorted(self.scenario)) or "nothing"
            msg = f"the dataset's scenario has no {key!r}; it has {known}"
            raise InvalidInputError(msg)
        try:
            return _instant_from_text(self.scenario[key])
        except InvalidInputError as exc:
            msg = f"scenario.{key}: {exc}"
            raise type(exc)(msg) from exc

    def _name(self, role: str) -> str:
        return self.sources.get(role) or _DEFAULT_NAMES[role]

    def deploy_source(self) -> InMemoryDeploySource:
        """Return a deploy source with the dataset's deploy, config and flag changes."""
        return InMemoryDeploySource(
            (c for c in self.changes if c.kind in DEPLOY_KINDS), name=self._name("deploys")
        )

    def change_source(self) -> InMemoryChangeSource:
        """Return an infrastructure-change source with the dataset's infrastructure changes."""
        return InMemoryChangeSource(
            (c for c in self.changes if c.kind in INFRASTRUCTURE_KINDS),
            name=self._name("infrastructure"),
        )

    def dependency_source(self) -> InMemoryDependencyStatusSource:
        """Return a dependency-status source with the dataset's dependency incidents."""
        return InMemoryDependencyStatusSource(
            (c for c in self.changes if c.kind in DEPENDENCY_KINDS),
            name=self._name("dependencies"),
        )

    def metric_source(self) -> InMemoryMetricSource:
        """Return a metric source with the dataset's series and units."""
        return InMemoryMetricSource(
            {query: data.samples for query, data in self.metrics.items()},
            name=self._name("metrics"),
            units={query: data.unit for query, data in self.metrics.items()},
        )

    def rollback_executor(self, *, supports_dry_run: bool = True) -> InMemoryRollbackExecutor:
        """Return a new rollback executor on a fresh copy of the live versions.

        Args:
            supports_dry_run: Whether the executor can rehearse its options.
        """
        return InMemoryRollbackExecutor(
            live_versions=self.live_versions,
            name=self._name("rollback"),
            supports_dry_run=supports_dry_run,
            auto_synced=self.auto_synced,
        )


def load_dataset(path: str | os.PathLike[str]) -> Dataset:
    """Read a dataset from a JSON file in the ``incidentkit.dataset/1`` format.

    Args:
        path: The file to read (UTF-8 JSON).

    Returns:
        The dataset.

    Raises:
        InvalidInputError: The file does not exist or cannot be read, is not
            JSON, or does not follow the format; the message names the file,
            the JSON path of every problem and what was expected there.

    .. versionadded:: 0.1.0
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = f"dataset file {file} does not exist"
        raise InvalidInputError(msg) from None
    except UnicodeDecodeError as exc:
        msg = f"dataset file {file} is not UTF-8 text: {exc}"
        raise InvalidInputError(msg) from None
    except OSError as exc:
        msg = f"cannot read dataset file {file}: {exc.strerror or exc}"
        raise InvalidInputError(msg) from exc
    try:
        data = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        msg = (
            f"dataset file {file} is not valid JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}"
        )
        raise InvalidInputError(msg) from None
    except _JSONProblemError as exc:
        msg = f"dataset file {file} is not valid JSON: {exc}"
        raise InvalidInputError(msg) from None
    return _parse_dataset(data, origin=f"dataset file {file}")


def dump_dataset(dataset: Dataset, path: str | os.PathLike[str]) -> None:
    """Write ``dataset`` to a JSON file that :func:`load_dataset` reads back equal.

    Args:
        dataset: The dataset to write.
        path: The file to create or replace (UTF-8 JSON).

    .. versionadded:: 0.1.0
    """
    text = json.dumps(dataset.to_dict(), indent=2, ensure_ascii=False, allow_nan=False)
    Path(path).write_text(text + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- parsing


class _JSONProblemError(ValueError):
    """Something the standard JSON parser accepts but the format does not."""


def _reject_constant(name: str) -> object:
    msg = f"{name} is not JSON; write it as the string {_nonfinite_text(float(name))!r}"
    raise _JSONProblemError(msg)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            msg = f"the key {key!r} appears twice in one object"
            raise _JSONProblemError(msg)
        result[key] = value
    return result


def _nonfinite_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "+Inf" if value > 0 else "-Inf"


def _instant_from_text(text: str) -> pendulum.DateTime:
    """Parse an ISO 8601 instant, with messages written for a file's author."""
    try:
        return parse_instant(text)
    except NaiveDatetimeError:
        msg = (
            f"naive datetime {text!r}: an instant needs a UTC offset, "
            f"e.g. {_INSTANT_EXAMPLE!r} or '2026-11-20T15:02:00+01:00'"
        )
        raise NaiveDatetimeError(msg) from None
    except InvalidInputError as exc:
        msg = f"{exc}; expected e.g. {_INSTANT_EXAMPLE!r}"
        raise InvalidInputError(msg) from None


def _structure_instant(value: object, _: object) -> pendulum.DateTime:
    if not isinstance(value, str):
        msg = (
            f"expected an ISO 8601 instant as a string (e.g. {_INSTANT_EXAMPLE!r}), "
            f"got {_json_type(value)}"
        )
        raise InvalidInputError(msg)
    return _instant_from_text(value)


def _structure_str(value: object, _: object) -> str:
    if not isinstance(value, str):
        msg = f"expected a string, got {_json_type(value)}"
        if isinstance(value, (bool, int, float)):
            msg += f" (write it in quotes: {json.dumps(json.dumps(value))})"
        raise InvalidInputError(msg)
    return value


def _structure_kind(value: object, _: object) -> ChangeKind:
    try:
        return ChangeKind(value)
    except ValueError:
        msg = f"{value!r} is not a change kind; expected one of {_kind_list(ChangeKind)}"
        raise InvalidInputError(msg) from None


def _format(instant: pendulum.DateTime) -> str:
    """Write an instant in UTC, with microseconds only if it has any."""
    return (
        format_instant(instant) if instant.microsecond else instant.strftime("%Y-%m-%dT%H:%M:%SZ")
    )


def _make_converter() -> cattrs.Converter:
    """Build the converter for the dataset's changes: strict strings, strict instants."""
    conv = cattrs.Converter(forbid_extra_keys=True)
    conv.register_structure_hook(pendulum.DateTime, _structure_instant)
    conv.register_unstructure_hook(pendulum.DateTime, _format)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(ChangeKind, _structure_kind)
    return conv


_CONVERTER: Final = _make_converter()
_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


_JSON_TYPES: Final[Mapping[type, str]] = {
    type(None): "null",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    str: "a string",
    list: "an array",
    dict: "an object",
}


def _json_type(value: object) -> str:
    """Name a parsed JSON value's type the way the file's author wrote it."""
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _key(parent: str, key: str) -> str:
    """Return the JSON path of ``parent``'s member ``key``."""
    if _IDENTIFIER.match(key):
        return f"{parent}.{key}" if parent else key
    return f"{parent}[{json.dumps(key)}]"


def _describe_error(exc: BaseException, type_: type | None) -> str:
    """Describe one error cattrs met in a change, for the file's author."""
    if isinstance(exc, InvalidInputError):
        return str(exc)
    if isinstance(exc, ForbiddenExtraKeysError):
        known = ", ".join(a.name for a in attrs.fields(Change))
        unknown = ", ".join(sorted(exc.extra_fields))
        return f"unknown field(s) {unknown}; a change has only: {known}"
    if isinstance(exc, KeyError):
        return "required field missing"
    if isinstance(exc, AttributeError) and str(exc).endswith("has no attribute 'items'"):
        return "expected an object"
    return cattrs.v.format_exception(exc, type_)


class _Reader:
    """Reads parsed JSON, recording each problem with its JSON path instead of stopping."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def add(self, path: str, problem: str) -> None:
        self.problems.append((path, problem))

    def as_object(self, value: object, path: str) -> dict[str, Any] | None:
        if isinstance(value, dict):
            return value  # pyright: ignore[reportUnknownVariableType]
        self.add(path, f"expected an object, got {_json_type(value)}")
        return None

    def as_array(self, value: object, path: str) -> list[Any]:
        if isinstance(value, list):
            return value  # pyright: ignore[reportUnknownVariableType]
        self.add(path, f"expected an array, got {_json_type(value)}")
        return []

    def as_string(self, value: object, path: str) -> str:
        if isinstance(value, str):
            return value
        self.add(path, f"expected a string, got {_json_type(value)}")
        return ""

    def string_map(self, value: object, path: str) -> dict[str, str]:
        mapping = self.as_object(value, path) or {}
        return {key: self.as_string(item, _key(path, key)) for key, item in mapping.items()}

    def string_list(self, value: object, path: str) -> list[str]:
        items = self.as_array(value, path)
        return [self.as_string(item, f"{path}[{i}]") for i, item in enumerate(items)]

    def raise_if_any(self, origin: str) -> None:
        if not self.problems:
            return
        if len(self.problems) == 1:
            path, problem = self.problems[0]
            msg = f"invalid {origin}: {path}: {problem}"
        else:
            lines = "\n".join(f"  {path}: {problem}" for path, problem in self.problems)
            msg = f"invalid {origin}: {len(self.problems)} problems:\n{lines}"
        raise InvalidInputError(msg)


def _parse_dataset(data: object, *, origin: str) -> Dataset:
    if not isinstance(data, dict):
        msg = f"invalid {origin}: the top level must be a JSON object, not {_json_type(data)}"
        raise InvalidInputError(msg)
    top: dict[str, Any] = data  # pyright: ignore[reportUnknownVariableType]
    reader = _Reader()
    if "format" not in top:
        reader.add("format", f"missing; expected {DATASET_FORMAT!r}")
    elif top["format"] != DATASET_FORMAT:
        reader.add(
            "format",
            f"{top['format']!r} is not a format this version of incidentkit reads; "
            f"expected {DATASET_FORMAT!r}",
        )
    reader.raise_if_any(origin)  # a different format would only add noise below
    for key in top:
        if key not in _TOP_LEVEL_KEYS:
            reader.add(key, f"unknown field; a dataset has only: {', '.join(_TOP_LEVEL_KEYS)}")
    description = reader.as_string(top.get("description", ""), "description")
    scenario = reader.string_map(top.get("scenario", {}), "scenario")
    sources = reader.string_map(top.get("sources", {}), "sources")
    for role, source_name in sources.items():
        if role not in _SOURCE_KEYS:
            reader.add(_key("sources", role), f"unknown role; expected {', '.join(_SOURCE_KEYS)}")
        elif not source_name.strip():
            reader.add(_key("sources", role), "a source's name must not be empty")
    changes = _parse_changes(top.get("changes", []), reader)
    metrics = _parse_metrics(top.get("metrics", {}), reader)
    live_versions = reader.string_map(top.get("live_versions", {}), "live_versions")
    auto_synced = reader.string_list(top.get("auto_synced", []), "auto_synced")
    reader.raise_if_any(origin)
    return Dataset(
        description=description,
        scenario=scenario,
        sources=sources,
        changes=changes,
        metrics=metrics,
        live_versions=live_versions,
        auto_synced=auto_synced,
    )


def _parse_changes(value: object, reader: _Reader) -> list[Change]:
    changes: list[Change] = []
    first_seen: dict[str, int] = {}
    for position, raw in enumerate(reader.as_array(value, "changes")):
        path = f"changes[{position}]"
        if reader.as_object(raw, path) is None:
            continue
        try:
            change = _CONVERTER.structure(raw, Change)
        except (cattrs.ClassValidationError, cattrs.IterableValidationError) as exc:
            for message in cattrs.transform_error(exc, path, _describe_error):
                text, _, where = message.rpartition(" @ ")
                reader.add(where, text)
            continue
        if change.id in first_seen:
            reader.add(
                f"{path}.id",
                f"the id {change.id!r} is already used by changes[{first_seen[change.id]}]; "
                "ids must be unique",
            )
            continue
        first_seen[change.id] = position
        changes.append(change)
    return changes


def _parse_metrics(value: object, reader: _Reader) -> dict[str, MetricData]:
    metrics: dict[str, MetricData] = {}
    for query, raw in (reader.as_object(value, "metrics") or {}).items():
        path = _key("metrics", query)
        spec = reader.as_object(raw, path)
        if spec is None:
            continue
        before = len(reader.problems)
        unit = reader.as_string(spec.get("unit", ""), _key(path, "unit"))
        if "samples" in spec:
            pairs = _parse_samples(spec, path, reader)
        elif any(key in spec for key in _COMPACT_KEYS):
            pairs = _parse_compact(spec, path, reader)
        else:
            reader.add(
                path,
                'expected either "samples": [[instant, value], ...] or "start", "step" '
                'and "values" for a regular series',
            )
            continue
        if len(reader.problems) > before:
            continue
        try:
            metrics[query] = MetricData(samples=pairs, unit=unit)
        except InvalidInputError as exc:
            reader.add(path, str(exc))
    return metrics


_COMPACT_KEYS: Final = ("start", "step", "values")


def _unexpected_keys(
    spec: dict[str, Any], allowed: tuple[str, ...], path: str, reader: _Reader
) -> None:
    for key in spec:
        if key not in allowed:
            reader.add(
                _key(path, key),
                f"unexpected field; with these fields a metric has only: {', '.join(allowed)}",
            )


def _parse_samples(
    spec: dict[str, Any], path: str, reader: _Reader
) -> list[tuple[pendulum.DateTime, float | None]]:
    """Read the ``samples`` encoding: ``[[instant, value], ...]``."""
    _unexpected_keys(spec, ("unit", "samples"), path, reader)
    pairs: list[tuple[pendulum.DateTime, float | None]] = []
    samples_path = _key(path, "samples")
    for position, pair in enumerate(reader.as_array(spec["samples"], samples_path)):
        where = f"{samples_path}[{position}]"
        if not isinstance(pair, list) or len(cast("list[object]", pair)) != 2:  # noqa: PLR2004
            reader.add(where, f"expected a pair [instant, value], got {json.dumps(pair)}")
            continue
        raw_at, raw_value = cast("list[object]", pair)
        at = _parse_sample_instant(raw_at, f"{where}[0]", reader)
        ok, value = _parse_sample_value(raw_value, f"{where}[1]", reader)
        if at is not None and ok:
            pairs.append((at, value))
    return pairs


def _parse_compact(
    spec: dict[str, Any], path: str, reader: _Reader
) -> list[tuple[pendulum.DateTime, float | None]]:
    """Read the regular encoding: ``start``, ``step`` (seconds) and ``values``."""
    _unexpected_keys(spec, ("unit", *_COMPACT_KEYS), path, reader)
    missing = [key for key in _COMPACT_KEYS if key not in spec]
    for key in missing:
        reader.add(_key(path, key), "required field missing")
    if missing:
        return []
    start = _parse_sample_instant(spec["start"], _key(path, "start"), reader)
    step: object = spec["step"]
    if (
        isinstance(step, bool)
        or not isinstance(step, (int, float))
        or not (math.isfinite(step) and step > 0)
    ):
        reader.add(_key(path, "step"), f"expected a positive number of seconds, got {step!r}")
        step = None
    pairs: list[tuple[pendulum.DateTime, float | None]] = []
    values_path = _key(path, "values")
    for position, raw in enumerate(reader.as_array(spec["values"], values_path)):
        ok, value = _parse_sample_value(raw, f"{values_path}[{position}]", reader)
        if start is not None and isinstance(step, (int, float)) and ok:
            at = start + dt.timedelta(microseconds=round(position * step * 1_000_000))
            pairs.append((at, value))
    return pairs


def _parse_sample_instant(raw: object, path: str, reader: _Reader) -> pendulum.DateTime | None:
    try:
        if isinstance(raw, str):
            return _instant_from_text(raw)
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return to_instant(raw, what="instant")
    except InvalidInputError as exc:
        reader.add(path, str(exc))
        return None
    reader.add(
        path,
        f"expected Unix seconds or an ISO 8601 instant such as {_INSTANT_EXAMPLE!r}, "
        f"got {_json_type(raw)}",
    )
    return None


def _parse_sample_value(raw: object, path: str, reader: _Reader) -> tuple[bool, float | None]:
    """Return ``(True, value)``, or ``(False, None)`` after recording the problem."""
    try:
        return True, _metric_value(raw)
    except InvalidInputError as exc:
        reader.add(path, str(exc))
        return False, None


def _dump_value(value: float | None) -> float | str | None:
    if value is None or math.isfinite(value):
        return value
    return _nonfinite_text(value)


def _dump_metric(data: MetricData) -> dict[str, Any]:
    samples = data.samples
    if len(samples) >= 3:  # noqa: PLR2004 - shorter series read better as pairs
        start = samples[0][0]
        delta = samples[1][0] - start
        step_us = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        step = step_us / 1_000_000
        regular = all(
            at == start + dt.timedelta(microseconds=round(i * step * 1_000_000))
            for i, (at, _) in enumerate(samples)
        )
        if regular:
            return {
                "unit": data.unit,
                "start": _format(start),
                "step": int(step) if step.is_integer() else step,
                "values": [_dump_value(v) for _, v in samples],
            }
    return {
        "unit": data.unit,
        "samples": [[_format(at), _dump_value(v)] for at, v in samples],
    }
