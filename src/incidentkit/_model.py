"""The values an incident is made of: actors, changes, series, impact, rollback options.

All of them are frozen attrs classes; instants are UTC pendulum instants, and a
naive datetime is rejected where a value is built.
"""

from __future__ import annotations

import bisect
import datetime as dt
import enum
import functools
from array import array
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Final, Literal, cast

import attrs
import pendulum

from incidentkit import _columns
from incidentkit._columns import Column, Duplicates
from incidentkit._errors import InvalidInputError
from incidentkit._numbers import is_finite
from incidentkit._time import to_instant

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "DEPENDENCY_KINDS",
    "DEPLOY_KINDS",
    "INFRASTRUCTURE_KINDS",
    "Actor",
    "Caveat",
    "CaveatKind",
    "Change",
    "ChangeKind",
    "ChecklistItem",
    "Detection",
    "Evidence",
    "Figure",
    "Finding",
    "FindingKind",
    "Impact",
    "MetricQuery",
    "MitigationKind",
    "PartialChanges",
    "Role",
    "RollbackOption",
    "RollbackResult",
    "Sample",
    "Series",
    "Severity",
]


def _instant(value: dt.datetime | float) -> pendulum.DateTime:
    return to_instant(value)


def _optional_instant(value: dt.datetime | float | None) -> pendulum.DateTime | None:
    return None if value is None else to_instant(value)


def _non_empty(_instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(cast("object", value), str):
        msg = (
            f"{attribute.name} must be a non-empty string, not {type(value).__name__} {value!r:.60}"
        )
        raise InvalidInputError(msg)
    if not value.strip():
        msg = f"{attribute.name} must not be empty"
        raise InvalidInputError(msg)


class Role(enum.Enum):
    """The incident role an actor acts in.

    .. versionadded:: 0.1.0
    """

    INCIDENT_COMMANDER = "incident_commander"
    OPERATIONS = "operations"
    COMMUNICATIONS = "communications"
    SCRIBE = "scribe"
    SUBJECT_MATTER_EXPERT = "subject_matter_expert"


@attrs.frozen
class Actor:
    """Who took a step: a person or an automation, optionally in a role.

    Every step of an incident names its actor; a plain string is accepted
    wherever an actor is asked for and becomes ``Actor(name)``.

    .. versionadded:: 0.1.0
    """

    name: str = attrs.field(validator=_non_empty)
    role: Role | None = None

    def __str__(self) -> str:
        """Return the name, with the role in parentheses if there is one."""
        if self.role is None:
            return self.name
        return f"{self.name} ({self.role.value.replace('_', ' ')})"


def _when(at: pendulum.DateTime) -> str:
    """Return an instant as people read it in one line: ``2026-11-20 14:07:00 UTC``."""
    return at.in_timezone("UTC").format("YYYY-MM-DD HH:mm:ss") + " UTC"


def as_actor(actor: Actor | str) -> Actor:
    """Return ``actor`` as an :class:`Actor` (a string becomes its name)."""
    if isinstance(actor, Actor):
        return actor
    if isinstance(actor, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        return Actor(actor)
    msg = f"an actor is an Actor or a name, not {type(actor).__name__}"
    raise InvalidInputError(msg)


class Detection(enum.Enum):
    """How an incident was detected.

    .. versionadded:: 0.1.0
    """

    ALERT = "alert"
    CUSTOMER_REPORT = "customer_report"
    ENGINEER = "engineer"


class Severity(enum.Enum):
    """How bad an incident is, SEV1 being the worst.

    .. versionadded:: 0.1.0
    """

    SEV1 = "sev1"
    SEV2 = "sev2"
    SEV3 = "sev3"
    SEV4 = "sev4"


class ChangeKind(enum.Enum):
    """What kind of change a :class:`Change` records.

    Deploy sources yield ``DEPLOY``, ``CONFIG`` and ``FEATURE_FLAG``; change
    sources ``INFRASTRUCTURE``; dependency-status sources ``DEPENDENCY``.

    .. versionadded:: 0.1.0
    """

    DEPLOY = "deploy"
    CONFIG = "config"
    FEATURE_FLAG = "feature_flag"
    INFRASTRUCTURE = "infrastructure"
    DEPENDENCY = "dependency"


DEPLOY_KINDS: Final = frozenset({ChangeKind.DEPLOY, ChangeKind.CONFIG, ChangeKind.FEATURE_FLAG})
"""The kinds of change a deploy source yields."""

INFRASTRUCTURE_KINDS: Final = frozenset({ChangeKind.INFRASTRUCTURE})
"""The kinds of change an infrastructure change source yields."""

DEPENDENCY_KINDS: Final = frozenset({ChangeKind.DEPENDENCY})
"""The kinds of change a dependency-status source yields."""


@attrs.frozen
class Change:
    """One thing that changed: a deploy, a config, flag or infrastructure change, an outage.

    A change is a deploy, a config or feature-flag change, an infrastructure
    change, or an incident of a dependency.

    All sources yield this one record family so that the timeline treats them
    alike.

    Attributes:
        id: The source's identifier, unique within the source.
        kind: What kind of change it is.
        service: The service changed (for a dependency incident: the dependency).
        started: When the change began (a rollout's start, an outage's start).
        finished: When it completed, or ``None`` if still in progress or unknown.
        source: The name of the source that reported it.
        summary: A one-line description.
        environment: Where it happened (``production``, a region, a cluster).
        version: The version now live after the change.
        previous_version: The version live before the change.
        author: Who made the change.
        link: Where to read more (a pull request, a status page).
        attributes: Anything else, as strings (``schema_migration: "true"``,
            ``auto_sync: "true"``).

    .. versionadded:: 0.1.0
    """

    id: str = attrs.field(validator=_non_empty)
    kind: ChangeKind
    service: str = attrs.field(validator=_non_empty)
    started: pendulum.DateTime = attrs.field(converter=_instant)
    finished: pendulum.DateTime | None = attrs.field(default=None, converter=_optional_instant)
    source: str = ""
    summary: str = ""
    environment: str | None = None
    version: str | None = None
    previous_version: str | None = None
    author: str | None = None
    link: str | None = None
    attributes: Mapping[str, str] = attrs.field(factory=dict[str, str], converter=dict)

    def __attrs_post_init__(self) -> None:
        """Reject a change that finished before it started."""
        if self.finished is not None and self.finished < self.started:
            msg = (
                f"change {self.id!r} finished ({self.finished}) before it started ({self.started})"
            )
            raise InvalidInputError(msg)

    def __str__(self) -> str:
        """Return the change in one line: kind, id, service, versions, when, source."""
        versions = f" {self.previous_version or '?'} -> {self.version}" if self.version else ""
        ended = f" to {_when(self.finished)}" if self.finished is not None else ""
        source = f" [{self.source}]" if self.source else ""
        summary = f": {self.summary}" if self.summary else ""
        return (
            f"{self.kind.value} {self.id} of {self.service}{versions} at "
            f"{_when(self.started)}{ended}{source}{summary}"
        )

    def overlaps(self, start: pendulum.DateTime, end: pendulum.DateTime) -> bool:
        """Return whether the change was under way at any time in ``[start, end]``."""
        return self.started <= end and (self.finished is None or self.finished >= start)


class PartialChanges(tuple[Change, ...]):  # noqa: SLOT001 - it carries its gap in __dict__
    """A change source's answer that covers only part of the window, saying which part.

    A source that could read only some of what was asked (a feed that holds
    only the most recent incidents, a paginated history cut short) returns
    the changes it read as a ``PartialChanges`` instead of raising: nothing
    it read is lost, and the protocol records :attr:`gap` as a
    monitoring-gap finding. It is a tuple of :class:`Change`, so it is a
    valid answer wherever a sequence of changes is:
    ``PartialChanges(changes, gap="...")``.

    Attributes:
        gap: What the source could not cover, in plain words (which part of
            the window, and why).

    .. versionadded:: 0.1.0
    """

    gap: str

    def __new__(cls, changes: Iterable[Change], gap: str) -> Self:
        """Build the answer from the changes read and the gap described.

        Args:
            changes: The changes the source could read.
            gap: What it could not cover, in plain words.

        Raises:
            InvalidInputError: ``gap`` is empty.
        """
        text = cast("object", gap)
        if not isinstance(text, str) or not text.strip():
            msg = f"a partial answer must say what it does not cover, not {gap!r}"
            raise InvalidInputError(msg)
        answer = super().__new__(cls, changes)
        answer.gap = gap
        return answer

    def __repr__(self) -> str:
        """Show the changes and the gap."""
        return f"PartialChanges({tuple(self)!r}, gap={self.gap!r})"


def _finite_or_none(
    _instance: object, _attribute: attrs.Attribute[float | None], value: object
) -> None:
    if value is None:
        return
    if not isinstance(value, (int, float)) or not is_finite(value):
        msg = f"a sample's value must be a finite number or None (a gap), not {value!r}"
        raise InvalidInputError(msg)


@attrs.frozen
class MetricQuery:
    """What was asked of a metric source.

    .. versionadded:: 0.1.0
    """

    source: str
    query: str
    start: pendulum.DateTime = attrs.field(converter=_instant)
    end: pendulum.DateTime = attrs.field(converter=_instant)
    step: float
    unit: str = ""

    def __str__(self) -> str:
        """Return the query in one line: source, query, window and step."""
        return (
            f"{self.source}: {self.query!r} from {_when(self.start)} to {_when(self.end)} "
            f"every {self.step:g} s"
        )

    def __attrs_post_init__(self) -> None:
        """Reject an empty or reversed window and a non-positive step."""
        if self.end < self.start:
            msg = f"query window ends ({self.end}) before it starts ({self.start})"
            raise InvalidInputError(msg)
        if not (is_finite(self.step) and self.step > 0):
            msg = f"step must be a positive number of seconds, not {self.step!r}"
            raise InvalidInputError(msg)


@attrs.frozen
class Sample:
    """One sample of a series: an instant and a value, ``None`` for a gap.

    The instant must be timezone-aware and the value finite or ``None``: a
    NaN or an infinity is a gap, and :meth:`Series.from_pairs` turns them into
    ``None`` for you.

    .. versionadded:: 0.1.0
    """

    at: pendulum.DateTime = attrs.field(converter=_instant)
    value: float | None = attrs.field(validator=_finite_or_none)


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, str):  # one warning, not its characters
        return (values,)
    return tuple(str(v) for v in values)


def _samples_columns(samples: Iterable[Sample]) -> tuple[Column, Column]:
    """The columns of samples given one by one, which must already be in time order."""
    times = array("d")
    values = array("d")
    previous: Sample | None = None
    for position, sample in enumerate(samples):
        if not isinstance(cast("object", sample), Sample):
            msg = f"sample {position} is {type(sample).__name__}, not a Sample"
            raise InvalidInputError(msg)
        if previous is not None and sample.at <= previous.at:
            msg = f"sample {position} at {sample.at} is not after the one before it ({previous.at})"
            raise InvalidInputError(msg)
        previous = sample
        times.append(sample.at.timestamp())
        values.append(_columns.NAN if sample.value is None else sample.value)
    return times, values


def _column_key(column: Column) -> bytes:
    # NaN is stored as one bit pattern, so the bytes compare gaps as equal.
    return column.tobytes()


@attrs.frozen(init=False, repr=False)
class Series:
    """A metric series with its gaps explicit, plus what was asked to get it.

    The samples are kept as two columns of doubles (:attr:`times` in Unix seconds,
    strictly increasing, and :attr:`values`, NaN for a gap), 16 bytes a point, so a
    week of 15-second samples of twenty series fits in a few megabytes. Build one with
    :meth:`from_pairs` or :meth:`from_columns`; a Prometheus matrix's
    ``[[unix seconds, "value"], ...]`` goes straight to :meth:`from_pairs` without an
    object per point. :attr:`samples` is a view of :class:`Sample` objects for code
    that iterates, built on first use.

    A missing sample is either absent or a gap; it is never zero. NaN and infinite
    values (Prometheus returns them for 0/0 and x/0) are stored as gaps and counted in
    :attr:`non_finite`.

    ``Series(query, samples)`` builds one from :class:`Sample` objects already in time
    order (as before 0.2.0).

    Attributes:
        query: What was asked to get it.
        non_finite: How many NaN or infinite values became gaps.
        warnings: What the source warned about its answer (a partial
            response, a limit hit); the protocol records each as a
            monitoring-gap finding, so that a doubtful answer is never
            taken silently.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       Columnar: :attr:`times` and :attr:`values`, :meth:`from_columns`.
    """

    query: MetricQuery = attrs.field(validator=attrs.validators.instance_of(MetricQuery))
    _times: Column = attrs.field(eq=_column_key, alias="times")
    _values: Column = attrs.field(eq=_column_key, alias="values")
    non_finite: int = 0
    warnings: tuple[str, ...] = ()

    if TYPE_CHECKING:  # written by attrs (init=False keeps it under this name)

        def __attrs_init__(
            self,
            query: MetricQuery,
            times: Column,
            values: Column,
            non_finite: int,
            warnings: tuple[str, ...],
        ) -> None: ...

    def __init__(
        self,
        query: MetricQuery,
        samples: Iterable[Sample] = (),
        non_finite: int = 0,
        warnings: Iterable[str] = (),
        *,
        times: Sequence[dt.datetime | float] | None = None,
        values: Sequence[float | str | None] | None = None,
    ) -> None:
        """Build a series from :class:`Sample` objects in strictly increasing time order.

        ``times`` and ``values`` (both or neither, and then no ``samples``) give the
        columns instead, as :meth:`from_columns` reads them; ``attrs.evolve`` passes
        them. ``non_finite`` is taken as given either way.

        Raises:
            InvalidInputError: An item is not a :class:`Sample`, the samples
                are not in strictly increasing time order, or the columns are
                malformed.
        """
        if times is None and values is None:
            column_times, column_values = _samples_columns(samples)
        elif times is None or values is None or samples:
            msg = "give a series either samples, or both times and values"
            raise InvalidInputError(msg)
        else:
            column_times, column_values, _ = _columns.from_columns(times, values)
        self.__attrs_init__(query, column_times, column_values, non_finite, _strings(warnings))

    @classmethod
    def from_pairs(
        cls,
        query: MetricQuery,
        pairs: Iterable[tuple[dt.datetime | float, float | str | None]],
        *,
        warnings: Iterable[str] = (),
        duplicates: Duplicates = "refuse",
    ) -> Series:
        """Build a series from ``(instant or Unix seconds, value)`` pairs.

        Values may be numbers, numeric strings (as Prometheus sends them) or
        ``None``. Pairs are sorted by time. Numbers and numeric strings with Unix
        seconds are read in C-level passes, with no object per point.

        Two samples at one instant are refused by default. Real exports repeat an
        instant now and then (the hour a clock is set back, a retried scrape):
        ``duplicates="first"``, ``"last"`` or ``"mean"`` keeps one value per instant
        (the first or last value given at it, in the order given, or their mean; a
        gap never wins over a value) and adds a warning to :attr:`warnings` that
        says how many instants were merged, so that the protocol records it.

        Raises:
            InvalidInputError: A pair is malformed, two samples share an instant
                (with ``duplicates="refuse"``), or ``duplicates`` is not one of the
                four choices.
            NaiveDatetimeError: A datetime has no time zone.

        .. versionchanged:: 0.2.0
           The ``warnings`` argument.
        .. versionchanged:: 0.3.0
           The ``duplicates`` argument.
        """
        if duplicates == "refuse":
            return columnar(cls, query, _columns.from_pairs(pairs), warnings)
        built, merged = _columns.merged_pairs(pairs, duplicates)
        return columnar(cls, query, built, _with_merged(warnings, merged, duplicates))

    @classmethod
    def from_columns(
        cls,
        query: MetricQuery,
        times: Sequence[dt.datetime | float],
        values: Sequence[float | str | None],
        *,
        warnings: Iterable[str] = (),
        duplicates: Duplicates = "refuse",
    ) -> Series:
        """Build a series from a sequence of instants and a sequence of values.

        Instants are aware datetimes or Unix seconds; values are numbers, numeric
        strings or ``None``, NaN or infinities for gaps. An ``array('d')`` or a
        numpy array of float64 works for either. The samples are sorted by time;
        ``duplicates`` is as for :meth:`from_pairs`.

        Raises:
            InvalidInputError: The two differ in length, an instant or a value is
                malformed, two samples share an instant (with
                ``duplicates="refuse"``), or ``duplicates`` is not one of the four
                choices.
            NaiveDatetimeError: A datetime has no time zone.

        .. versionadded:: 0.2.0
        .. versionchanged:: 0.3.0
           The ``duplicates`` argument.
        """
        if duplicates == "refuse":
            return columnar(cls, query, _columns.from_columns(times, values), warnings)
        built, merged = _columns.merged_columns(times, values, duplicates)
        return columnar(cls, query, built, _with_merged(warnings, merged, duplicates))

    @property
    def times(self) -> memoryview[float]:
        """The instants in Unix seconds, strictly increasing (a read-only view of doubles).

        .. versionadded:: 0.2.0
        """
        return cast("memoryview[float]", memoryview(self._times).toreadonly())

    @property
    def values(self) -> memoryview[float]:
        """The values, NaN for a gap (a read-only view of doubles).

        .. versionadded:: 0.2.0
        """
        return cast("memoryview[float]", memoryview(self._values).toreadonly())

    @functools.cached_property
    def samples(self) -> tuple[Sample, ...]:
        """The samples in time order, gaps as ``None``, built on first use."""
        return tuple(
            Sample(_seconds_instant(at), None if value != value else value)  # noqa: PLR0124 - NaN
            for at, value in zip(self._times, self._values, strict=True)
        )

    def __repr__(self) -> str:
        """Return the query and the size, not a million points."""
        return (
            f"Series(query={self.query!r}, points={len(self._times)}, gaps={self.gaps}, "
            f"non_finite={self.non_finite}, warnings={self.warnings!r})"
        )

    def __str__(self) -> str:
        """Return the series in one line: the query, the sample count and the gaps."""
        return f"{self.query}: {len(self._times)} samples, {self.gaps} gaps"

    def __len__(self) -> int:
        """Return the number of samples, gaps included."""
        return len(self._times)

    @property
    def gaps(self) -> int:
        """How many samples are gaps.

        .. versionadded:: 0.2.0
        """
        return sum(1 for value in self._values if value != value)  # noqa: PLR0124 - NaN

    def present(self) -> list[tuple[pendulum.DateTime, float]]:
        """Return the samples that have a value."""
        return [
            (_seconds_instant(at), value)
            for at, value in zip(self._times, self._values, strict=True)
            if value == value  # noqa: PLR0124 - NaN is the gap
        ]

    def between(self, start: pendulum.DateTime, end: pendulum.DateTime) -> tuple[Sample, ...]:
        """Return the samples with ``start <= at < end``."""
        lo, hi = self.span(start.timestamp(), end.timestamp())
        return tuple(
            Sample(_seconds_instant(at), None if value != value else value)  # noqa: PLR0124 - NaN
            for at, value in zip(self._times[lo:hi], self._values[lo:hi], strict=True)
        )

    def span(self, start: float, end: float) -> tuple[int, int]:
        """Return the index range of the samples with ``start <= time < end`` (Unix seconds).

        .. versionadded:: 0.2.0
        """
        return bisect.bisect_left(self._times, start), bisect.bisect_left(self._times, end)


def _with_merged(
    warnings: Iterable[str], merged: _columns.Merged, duplicates: Duplicates
) -> tuple[str, ...]:
    """The warnings, plus one that tells of the instants merged, if any were."""
    kept = _strings(warnings)
    if not merged.instants:
        return kept
    how = "the mean of the values" if duplicates == "mean" else f"the {duplicates} value"
    note = (
        f"{merged.instants} instant{'s were' if merged.instants != 1 else ' was'} given more "
        f"than once ({merged.samples} samples in all); kept {how} at each "
        f"(duplicates={duplicates!r})"
    )
    return (*kept, note)


def _seconds_instant(seconds: float) -> pendulum.DateTime:
    return pendulum.from_timestamp(seconds, tz=pendulum.UTC)


def columnar(
    cls: type[Series], query: MetricQuery, columns: _columns.Columns, warnings: Iterable[str] = ()
) -> Series:
    """A series of checked columns, built without another pass over them."""
    times, values, non_finite = columns
    series = cls.__new__(cls)
    series.__attrs_init__(query, times, values, non_finite, _strings(warnings))
    return series


def sliced(series: Series, lo: int, hi: int | None = None) -> Series:
    """The samples ``lo`` to ``hi`` of a series (indexes, as a slice), query and warnings kept."""
    times, values = columns(series)
    return columnar(
        type(series),
        series.query,
        (times[lo:hi], values[lo:hi], series.non_finite),
        series.warnings,
    )


def check_series(
    named: Mapping[str, object], *, of: str = "", optional: frozenset[str] = frozenset()
) -> None:
    """Refuse an analysis' argument that is not a :class:`Series`, naming it.

    ``of`` says what the series must hold (``" of counts"``); the names in
    ``optional`` may be ``None``. For the analyses' public functions, which
    untyped callers reach with lists of pairs, numbers or ``None``.

    Raises:
        InvalidInputError: An argument is not a :class:`Series`.
    """
    for name, value in named.items():
        if isinstance(value, Series) or (value is None and name in optional):
            continue
        msg = (
            f"{name} must be a Series{of}, not {type(value).__name__} {value!r:.60}: build "
            "one with Series.from_pairs(query, pairs)"
        )
        raise InvalidInputError(msg)


def columns(series: Series) -> tuple[Column, Column]:
    """The two columns of a series, for the analyses inside the package (not copied)."""
    # The package's own accessor: the analyses read the columns without a copy.
    return series._times, series._values  # noqa: SLF001 # pyright: ignore[reportPrivateUsage]


class FindingKind(enum.Enum):
    """What a finding is about.

    .. versionadded:: 0.1.0
    """

    MONITORING_GAP = "monitoring_gap"
    """Monitoring could not answer a question the protocol asked."""
    OVERRIDE = "override"
    """Someone deviated from the protocol on purpose."""
    NO_ROLLBACK_OPTION = "no_rollback_option"
    """A review found nothing to roll back."""
    OBSERVATION = "observation"
    """Anything else worth keeping for the post-mortem."""


@attrs.frozen
class Finding:
    """Something the post-mortem must look at.

    .. versionadded:: 0.1.0
    """

    kind: FindingKind
    summary: str = attrs.field(validator=_non_empty)
    detail: str = ""

    def __str__(self) -> str:
        """Return the finding in one line: its kind, summary and detail."""
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.kind.value.replace('_', ' ')}: {self.summary}{detail}"


@attrs.frozen
class Evidence:
    """A reference to what supports a figure, a hypothesis or a root cause.

    Use the constructors: :meth:`change`, :meth:`entry`, :meth:`metric`,
    :meth:`link`, :meth:`text`.

    .. versionadded:: 0.1.0
    """

    kind: Literal["change", "entry", "metric", "link", "text"]
    ref: str = attrs.field(validator=_non_empty)

    @classmethod
    def change(cls, change_id: str) -> Evidence:
        """Point at a gathered change by its id."""
        return cls("change", change_id)

    @classmethod
    def entry(cls, seq: int) -> Evidence:
        """Point at a journal entry by its sequence number."""
        return cls("entry", str(seq))

    @classmethod
    def metric(cls, query: str) -> Evidence:
        """Point at a metric query."""
        return cls("metric", query)

    @classmethod
    def link(cls, url: str) -> Evidence:
        """Point at a document, a dashboard or a log search."""
        return cls("link", url)

    @classmethod
    def text(cls, statement: str) -> Evidence:
        """State something a person observed."""
        return cls("text", statement)

    def __str__(self) -> str:
        """Return a short human-readable form."""
        label = {"entry": "journal entry #"}.get(self.kind, f"{self.kind}: ")
        return f"{label}{self.ref}"


@attrs.frozen
class Figure:
    """One figure of an impact assessment, measured or stated.

    Attributes:
        name: What the figure is (``error_ratio``, ``p99_latency``,
            ``share_of_requests``, ``affected_users``).
        value: The number.
        unit: Its unit (``ratio``, ``s``, ``users``).
        measured: Whether a metric source produced it (else a person stated it).
        evidence: The query it came from, or who stated it and on what basis.

    .. versionadded:: 0.1.0
    """

    name: str = attrs.field(validator=_non_empty)
    value: float
    unit: str = ""
    measured: bool = False
    evidence: Evidence | None = None

    def __str__(self) -> str:
        """Return the figure in one line: ``error_ratio 0.18 ratio (measured: metric ...)``."""
        unit = f" {self.unit}" if self.unit else ""
        basis = "measured" if self.measured else "stated"
        evidence = f": {self.evidence}" if self.evidence is not None else ""
        return f"{self.name} {self.value:.6g}{unit} ({basis}{evidence})"

    def __attrs_post_init__(self) -> None:
        """Reject a figure that is not a finite number."""
        if not is_finite(self.value):
            msg = f"figure {self.name!r} must be a finite number, not {self.value!r}"
            raise InvalidInputError(msg)


@attrs.frozen
class Impact:
    """The blast radius: who or what is affected, how badly, whether it is ongoing.

    .. versionadded:: 0.1.0
    """

    severity: Severity
    ongoing: bool
    symptom_start: pendulum.DateTime
    services: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    user_segments: tuple[str, ...] = ()
    figures: tuple[Figure, ...] = ()
    summary: str = ""

    @property
    def measured(self) -> bool:
        """Whether at least one figure came from a metric source."""
        return any(f.measured for f in self.figures)

    def __str__(self) -> str:
        """Return the impact in one line: severity, whether ongoing, since when, on what."""
        state = "ongoing" if self.ongoing else "not ongoing"
        services = f" on {', '.join(self.services)}" if self.services else ""
        return (
            f"{self.severity.value}, {state}, symptom since {_when(self.symptom_start)}{services}"
            f" ({len(self.figures)} figure{'' if len(self.figures) == 1 else 's'})"
        )


class CaveatKind(enum.Enum):
    """Why a rollback option needs care.

    .. versionadded:: 0.1.0
    """

    SCHEMA_MIGRATION = "schema_migration"
    """The change ran a schema migration that the old version may not read."""
    TARGET_IN_SYMPTOM_WINDOW = "target_in_symptom_window"
    """The version rolled back to was itself deployed after the symptom began."""
    AUTOMATED_SYNC = "automated_sync"
    """An automated sync (GitOps) may re-apply the change after the rollback."""
    NO_DRY_RUN = "no_dry_run"
    """The executor cannot rehearse the rollback."""
    OTHER = "other"
    """Anything else the executor wants a responder to read first."""


@attrs.frozen
class Caveat:
    """A reason to think twice before taking a rollback option.

    .. versionadded:: 0.1.0
    """

    kind: CaveatKind
    detail: str

    def __str__(self) -> str:
        """Return the caveat in one line."""
        return f"{self.kind.value.replace('_', ' ')}: {self.detail}"


@attrs.frozen
class RollbackOption:
    """What a rollback would do: revert a change's target from one version to another.

    Attributes:
        id: Unique within a review (``"<executor>:<change id>"`` by convention).
        executor: The name of the executor that offers it.
        change_id: The change it reverts.
        target: What is rolled back (a service, a deployment, a path).
        from_version: The version live now, if known.
        to_version: The version it returns to, if known.
        caveats: What to know before taking it.
        supports_dry_run: Whether the executor can rehearse it.

    .. versionadded:: 0.1.0
    """

    id: str = attrs.field(validator=_non_empty)
    executor: str
    change_id: str
    target: str
    from_version: str | None = None
    to_version: str | None = None
    caveats: tuple[Caveat, ...] = ()
    supports_dry_run: bool = False

    def describe(self) -> str:
        """Return a one-line description for people."""
        versions = f"{self.from_version or '?'} -> {self.to_version or '?'}"
        return f"roll back {self.target} {versions} via {self.executor} (reverts {self.change_id})"

    def __str__(self) -> str:
        """Return :meth:`describe`, with the number of caveats."""
        count = len(self.caveats)
        caveats = f", {count} caveat{'' if count == 1 else 's'}" if count else ""
        return f"{self.describe()}{caveats}"


@attrs.frozen
class RollbackResult:
    """What an executor reports after a dry run or a rollback.

    .. versionadded:: 0.1.0
    """

    option_id: str
    succeeded: bool
    dry_run: bool
    live_version: str | None = None
    detail: str = ""

    def __str__(self) -> str:
        """Return the result in one line."""
        what = "dry run" if self.dry_run else "rollback"
        outcome = "succeeded" if self.succeeded else "failed"
        live = f"; live: {self.live_version}" if self.live_version else ""
        detail = f": {self.detail}" if self.detail else ""
        return f"{what} {self.option_id} {outcome}{live}{detail}"


class MitigationKind(enum.Enum):
    """The generic mitigations other than a rollback.

    .. versionadded:: 0.1.0
    """

    FEATURE_FLAG_OFF = "feature_flag_off"
    SCALE_UP = "scale_up"
    FAILOVER = "failover"
    DRAIN = "drain"
    BLOCK = "block"
    OTHER = "other"


class ChecklistItem(enum.Enum):
    """The usual suspects every diagnosis must check or waive.

    .. versionadded:: 0.1.0
    """

    DEPLOYS = "deploys"
    INFRASTRUCTURE = "infrastructure"
    DEPENDENCIES = "dependencies"
