"""The values an incident is made of: actors, changes, series, impact, rollback options.

All of them are frozen attrs classes; instants are UTC pendulum instants, and a
naive datetime is rejected where a value is built.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import math
from collections.abc import Iterable, Mapping
from typing import Final, Literal, cast

import attrs
import pendulum
from typing_extensions import Self

from incidentkit._errors import InvalidInputError
from incidentkit._time import to_instant

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
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        msg = f"a sample's value must be a finite number or None (a gap), not {value!r}"
        raise InvalidInputError(msg)


def _samples(value: Iterable[Sample]) -> tuple[Sample, ...]:
    samples = tuple(value)
    previous: pendulum.DateTime | None = None
    for position, sample in enumerate(samples):
        if not isinstance(cast("object", sample), Sample):
            msg = f"sample {position} is {type(sample).__name__}, not a Sample"
            raise InvalidInputError(msg)
        if previous is not None and sample.at <= previous:
            msg = f"sample {position} at {sample.at} is not after the one before it ({previous})"
            raise InvalidInputError(msg)
        previous = sample.at
    return samples


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
        if not (math.isfinite(self.step) and self.step > 0):
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


def _coerce_value(raw: object, *, position: int) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        msg = f"sample {position}: value must be a number, a numeric string or None, not {raw!r}"
        raise InvalidInputError(msg)
    try:
        value = float(raw)
    except ValueError:
        msg = f"sample {position}: value {raw!r} is not a number"
        raise InvalidInputError(msg) from None
    return value if math.isfinite(value) else None


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, str):  # one warning, not its characters
        return (values,)
    return tuple(str(v) for v in values)


@attrs.frozen
class Series:
    """A metric series with its gaps explicit, plus what was asked to get it.

    A missing sample is either absent or has the value ``None``; it is never
    zero. NaN and infinite values (Prometheus returns them for 0/0 and x/0)
    are stored as ``None`` and counted in :attr:`non_finite`.

    Attributes:
        query: What was asked to get it.
        samples: The samples in time order, gaps included.
        non_finite: How many NaN or infinite values became gaps.
        warnings: What the source warned about its answer (a partial
            response, a limit hit); the protocol records each as a
            monitoring-gap finding, so that a doubtful answer is never
            taken silently.

    .. versionadded:: 0.1.0
    """

    query: MetricQuery = attrs.field(validator=attrs.validators.instance_of(MetricQuery))
    samples: tuple[Sample, ...] = attrs.field(converter=_samples)
    non_finite: int = 0
    warnings: tuple[str, ...] = attrs.field(default=(), converter=_strings)

    @classmethod
    def from_pairs(
        cls,
        query: MetricQuery,
        pairs: Iterable[tuple[dt.datetime | float, float | str | None]],
    ) -> Series:
        """Build a series from ``(instant or Unix seconds, value)`` pairs.

        Values may be numbers, numeric strings (as Prometheus sends them) or
        ``None``. Pairs are sorted by time.

        Raises:
            InvalidInputError: A pair is malformed, a datetime is naive, or two
                samples share an instant.
            NaiveDatetimeError: A datetime has no time zone.
        """
        samples: list[Sample] = []
        non_finite = 0
        for position, pair in enumerate(pairs):
            try:
                raw_at, raw_value = pair
            except (TypeError, ValueError):
                msg = f"sample {position}: expected an (instant, value) pair, got {pair!r}"
                raise InvalidInputError(msg) from None
            at = to_instant(raw_at, what=f"sample {position}")
            value = _coerce_value(raw_value, position=position)
            if value is None and raw_value is not None:
                non_finite += 1
            samples.append(Sample(at, value))
        samples.sort(key=lambda s: s.at)
        for before, after in itertools.pairwise(samples):
            if before.at == after.at:
                msg = f"two samples at the same instant {after.at}"
                raise InvalidInputError(msg)
        return cls(query, tuple(samples), non_finite)

    def __str__(self) -> str:
        """Return the series in one line: the query, the sample count and the gaps."""
        gaps = sum(1 for sample in self.samples if sample.value is None)
        return f"{self.query}: {len(self.samples)} samples, {gaps} gaps"

    def __len__(self) -> int:
        """Return the number of samples, gaps included."""
        return len(self.samples)

    def present(self) -> list[tuple[pendulum.DateTime, float]]:
        """Return the samples that have a value."""
        return [(s.at, s.value) for s in self.samples if s.value is not None]

    def between(self, start: pendulum.DateTime, end: pendulum.DateTime) -> tuple[Sample, ...]:
        """Return the samples with ``start <= at < end``."""
        return tuple(s for s in self.samples if start <= s.at < end)


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
        if not math.isfinite(self.value):
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
