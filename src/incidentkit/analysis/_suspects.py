"""Ranking the changes that may have caused a symptom: deploys, config, flags, infra, outages.

Each change that was under way in a bounded window before the symptom's onset
gets a score in [0, 1], the product of three factors, each kept as a reason
with its weight and a plain-words detail, in the spirit of PagerDuty's
change-correlation reasons::

    score = proximity x relatedness x kind

- **proximity**: 1 while the change was under way at the onset, or if it ended
  within ``grace`` of it; then ``half_life / (half_life + gap - grace)``: a
  half after one half-life, a third after two (a heavy tail: some changes take
  hours to show).
- **relatedness**: 1 for an affected service; for a service the affected ones
  depend on (``depends_on``), ``dependency_weight`` per hop (an *outage* of a
  declared dependency, or an *infrastructure* change to it, counts 1, one hop
  less); else ``unrelated_weight``, shared among the changes outside the map
  near the onset (the dependencies' incidents apart).
- **kind**: a prior per :class:`~incidentkit.ChangeKind`.

Changes that began after the onset are listed apart (they cannot have caused
it but can make it worse); changes that ended before the lookback are listed as
too old. "No suspect" is an answer: when the best score is under
``min_score``. Even then, the changes under way at the onset or ended within
``grace`` of it (outside the dependency map, which is always incomplete) are
named, after the best-scoring change and alternating with the others, "no
related suspect; nearest unrelated: ...", with a word that the
map may be missing an edge; the plain "no suspect" is left for when nothing at
all was near the onset.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import math
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, TypeVar, cast

import attrs
import pendulum

from incidentkit._errors import InvalidInputError
from incidentkit._model import Change, ChangeKind
from incidentkit._numbers import is_finite
from incidentkit._time import UTC, to_instant

if TYPE_CHECKING:
    from _typeshed import SupportsRichComparison

__all__ = [
    "DEFAULT_KIND_WEIGHTS",
    "Suspect",
    "SuspectPolicy",
    "SuspectRanking",
    "SuspectReason",
    "SuspectReasonKind",
    "rank_suspects",
]

DEFAULT_LOOKBACK: Final = 6 * 3600.0
"""The default lookback, in seconds: six hours before the onset."""

DEFAULT_MIN_SCORE: Final = 0.3
"""The default score under which the best suspect is not called one."""

DEFAULT_KIND_WEIGHTS: Final[Mapping[ChangeKind, float]] = MappingProxyType(
    {
        ChangeKind.DEPLOY: 1.0,
        ChangeKind.CONFIG: 1.0,
        ChangeKind.FEATURE_FLAG: 1.0,
        ChangeKind.INFRASTRUCTURE: 0.8,
        ChangeKind.DEPENDENCY: 0.8,
    }
)
"""The default prior of each kind of change (deploys and config pushes trigger most outages).

.. versionadded:: 0.1.0
"""

_KIND_WORDS: Final = {
    ChangeKind.DEPLOY: "a deploy",
    ChangeKind.CONFIG: "a config change",
    ChangeKind.FEATURE_FLAG: "a feature-flag change",
    ChangeKind.INFRASTRUCTURE: "an infrastructure change",
    ChangeKind.DEPENDENCY: "an incident of a dependency",
}
_TARGET_WORDS: Final = {
    ChangeKind.DEPLOY: "deployed to {}",
    ChangeKind.CONFIG: "config changed on {}",
    ChangeKind.FEATURE_FLAG: "feature flag changed on {}",
    ChangeKind.INFRASTRUCTURE: "infrastructure changed: {}",
    ChangeKind.DEPENDENCY: "an incident of {}",
}
_KIND_ORDER: Final = {kind: index for index, kind in enumerate(ChangeKind)}
_ONE_HOP_LESS: Final = frozenset({ChangeKind.DEPENDENCY, ChangeKind.INFRASTRUCTURE})
"""Kinds whose relatedness counts one hop less: they act on what the service runs on."""
_NEAR_SHOWN: Final = 3  # changes near the onset the explanation names


class SuspectReasonKind(enum.Enum):
    """What one factor of a suspect's score is about.

    .. versionadded:: 0.1.0
    """

    ROLLING_OUT_AT_ONSET = "rolling_out_at_onset"
    """The change was under way when the symptom began: full proximity."""
    TIME_PROXIMITY = "time_proximity"
    """The change ended before the onset: proximity decays with the gap."""
    SAME_SERVICE = "same_service"
    """The change is to an affected service."""
    DEPENDENCY = "dependency"
    """The change is to (or an outage of) a service the affected ones depend on."""
    UNRELATED = "unrelated"
    """The change is to a service neither affected nor a declared dependency."""
    SERVICE_UNKNOWN = "service_unknown"
    """No affected service was given, so relatedness was not judged."""
    CHANGE_KIND = "change_kind"
    """The prior of the kind of change."""


def _check_weight(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (is_finite(value) and 0 <= value <= 1):
        msg = f"{attribute.name} must be a number in [0, 1], not {value!r}"
        raise InvalidInputError(msg)


def _check_positive(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (is_finite(value) and value > 0):
        msg = f"{attribute.name} must be a positive number of seconds, not {value!r}"
        raise InvalidInputError(msg)


def _check_non_negative(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (is_finite(value) and value >= 0):
        msg = f"{attribute.name} must be a non-negative number of seconds, not {value!r}"
        raise InvalidInputError(msg)


def _kind_weights(value: Mapping[ChangeKind, float]) -> Mapping[ChangeKind, float]:
    weights = dict(DEFAULT_KIND_WEIGHTS)
    for kind, weight in value.items():
        if not isinstance(cast("object", kind), ChangeKind):
            msg = f"kind_weights keys are ChangeKind members, not {kind!r}"
            raise InvalidInputError(msg)
        if not (is_finite(weight) and 0 <= weight <= 1):
            msg = f"the weight of {kind.value} must be a number in [0, 1], not {weight!r}"
            raise InvalidInputError(msg)
        weights[kind] = float(weight)
    return MappingProxyType(weights)


@attrs.frozen
class SuspectPolicy:
    """How :func:`rank_suspects` weighs time, relatedness and kind.

    The defaults are set from the domain (deploy-to-impact delays of minutes,
    deploys and config pushes as the usual triggers), not fitted to a corpus.

    Attributes:
        half_life: Seconds after which the proximity of a finished change
            halves, counted from the end of the grace period; it is a third
            after two, ``half_life / (half_life + gap - grace)`` in general.
        grace: Seconds between a change's end and the onset that still count
            fully (the time a change takes to show: pods restarting, caches
            expiring, traffic shifting).
        rollout_allowance: A change other than a dependency's incident with no
            recorded end is taken to have finished this many seconds after its
            start (so an old deploy with a missing end is not "rolling out"
            forever). A dependency's incident with no end is ongoing.
        dependency_weight: The relatedness of a change to a service an
            affected one depends on, per hop of the dependency map.
        unrelated_weight: The relatedness of a change to any other service.
            Not zero: dependency maps are incomplete.
        kind_weights: The prior of each kind of change; kinds left out keep
            :data:`DEFAULT_KIND_WEIGHTS`.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0
       Past the grace, proximity decays as ``half_life / (half_life + gap -
       grace)``, no longer exponentially: the same half at one half-life, a
       heavier tail after it.
    """

    half_life: float = attrs.field(default=1800.0, validator=_check_positive)
    grace: float = attrs.field(default=300.0, validator=_check_non_negative)
    rollout_allowance: float = attrs.field(default=3600.0, validator=_check_non_negative)
    dependency_weight: float = attrs.field(default=0.6, validator=_check_weight)
    unrelated_weight: float = attrs.field(default=0.25, validator=_check_weight)
    kind_weights: Mapping[ChangeKind, float] = attrs.field(
        default=DEFAULT_KIND_WEIGHTS, converter=_kind_weights
    )


@attrs.frozen
class SuspectReason:
    """One factor of a suspect's score: what it is, its weight, and the figures in words.

    The weights of a suspect's reasons multiply to its score.

    Attributes:
        kind: What the factor is about.
        weight: The factor, in [0, 1].
        detail: Plain words with the figures ("finished 2 min before the onset").

    .. versionadded:: 0.1.0
    """

    kind: SuspectReasonKind
    weight: float
    detail: str

    def __str__(self) -> str:
        """Return the detail and the weight: ``finished 2 min before the onset (x0.98)``."""
        return f"{self.detail} (x{self.weight:.2f})"


@attrs.frozen
class Suspect:
    """A change that may have caused the symptom, with its score and the reasons for it.

    Attributes:
        change: The change.
        score: The product of the reasons' weights, in [0, 1].
        reasons: Proximity, relatedness and kind, in that order.
        gap: Seconds from the change's end to the onset; 0 if it was under way
            at the onset.

    .. versionadded:: 0.1.0
    """

    change: Change
    score: float
    reasons: tuple[SuspectReason, ...]
    gap: float = 0.0

    def describe(self) -> str:
        """Return one line for people: what changed, the score and why."""
        why = "; ".join(reason.detail for reason in self.reasons)
        return f"{_what(self.change)} (score {self.score:.2f}): {why}"


@attrs.frozen
class SuspectRanking:
    """The changes ranked against a symptom's onset, and what was left out and why.

    Every change given is in exactly one of :attr:`suspects`,
    :attr:`after_onset` and :attr:`too_old`.

    Attributes:
        onset: When the symptom began (UTC).
        lookback: The window before the onset that was searched, in seconds.
        min_score: The score a suspect needs for the ranking to name one.
        suspects: The changes under way in the window, best first (ties broken
            by the smaller gap, the later start, then kind, service and id).
        after_onset: Changes that began after the onset, by start: not suspects
            of causing the symptom, but they can make it worse.
        too_old: Changes that ended before the window, latest first.
        no_suspect: Whether no suspect scores at least :attr:`min_score`: the
            cause may be outside the sources consulted, or outside the
            dependency map (see :attr:`near_onset`). The suspects are still
            listed, with their low scores.
        explanation: The verdict in plain words.
        near_onset: When no suspect scores at least :attr:`min_score`: the
            changes under way at the onset or ended within the grace period
            of it, whatever their service: the nearest unrelated changes,
            named because the dependency map may be missing an edge. They
            follow the best-scoring change in :attr:`suspects` (or lead, when
            it is one of them), alternating with the other suspects by
            score. Empty otherwise.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0
       :attr:`near_onset`, ranked first when there is no suspect, then
       alternating with the other suspects.
    """

    onset: pendulum.DateTime
    lookback: float
    min_score: float
    suspects: tuple[Suspect, ...]
    after_onset: tuple[Change, ...]
    too_old: tuple[Change, ...]
    no_suspect: bool
    explanation: str
    near_onset: tuple[Suspect, ...] = ()

    @property
    def likely(self) -> tuple[Suspect, ...]:
        """The suspects that score at least :attr:`min_score` (empty when there is no suspect)."""
        return tuple(s for s in self.suspects if s.score >= self.min_score)

    @property
    def top(self) -> Suspect | None:
        """The best suspect if it scores at least :attr:`min_score`, else ``None``."""
        return None if self.no_suspect else self.suspects[0]

    @property
    def map_may_miss_an_edge(self) -> bool:
        """Whether the answer rests on changes outside the dependency map (:attr:`near_onset`)."""
        return bool(self.near_onset)


def _duration(seconds: float) -> str:
    """Render a duration for people: ``45 s``, ``12 min``, ``2 h 5 min``, ``3 d``."""
    seconds = abs(seconds)
    if seconds < 60:  # noqa: PLR2004 - a minute
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:  # noqa: PLR2004 - an hour
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:  # noqa: PLR2004 - two days
        return f"{hours} h" + (f" {rest} min" if rest else "")
    return f"{seconds / 86400:.0f} d"


def _what(change: Change) -> str:
    if change.kind is ChangeKind.DEPENDENCY:
        return f"dependency incident {change.id} of {change.service}"
    return f"{change.kind.value.replace('_', ' ')} {change.id} of {change.service}"


def _as_names(value: Sequence[str] | str, what: str) -> tuple[str, ...]:
    if not isinstance(cast("object", value), Iterable) or isinstance(value, bytes):
        msg = f"{what} must be a service name or names, not {type(value).__name__} {value!r:.60}"
        raise InvalidInputError(msg)
    names = (value,) if isinstance(value, str) else tuple(value)
    for name in names:
        if not isinstance(cast("object", name), str) or not name.strip():
            msg = f"{what} must be non-empty service names, not {name!r}"
            raise InvalidInputError(msg)
    return names


def _dependencies(
    services: tuple[str, ...], depends_on: Mapping[str, Sequence[str] | str]
) -> dict[str, tuple[str, ...]]:
    """Map each service reachable from ``services`` to the path that reaches it."""
    paths: dict[str, tuple[str, ...]] = {s: (s,) for s in services}
    frontier = list(services)
    while frontier:
        following: list[str] = []
        for service in frontier:
            for dependency in _as_names(depends_on.get(service, ()), f"depends_on[{service!r}]"):
                if dependency not in paths:
                    paths[dependency] = (*paths[service], dependency)
                    following.append(dependency)
        frontier = following
    return paths


_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=UTC)
"""The epoch in the time zone object every instant of incidentkit carries."""
_MICROSECOND: Final = dt.timedelta(microseconds=1)
_ZERO: Final = dt.timedelta(0)
_SPAN: Final = dt.timedelta(days=(dt.date.max - dt.date.min).days + 1)
"""Longer than any two instants are apart: a longer duration is as good as infinite."""
_EXACT: Final = dt.timedelta(microseconds=2**51)
"""Under this (71 years), a difference's float seconds survive pendulum's round trip."""

_since: Final = dt.datetime.__sub__
"""``datetime``'s own subtraction, in C, returning a timedelta.

pendulum's ``-`` builds an ``Interval``, which costs more than everything else a
change's score needs. Two instants with the same time zone object (incidentkit's
UTC) are subtracted field by field, with no ``utcoffset`` call.
"""


def _microseconds(instant: dt.datetime) -> int:
    """Return an aware instant as whole microseconds since the Unix epoch, exactly."""
    return _since(instant, _EPOCH) // _MICROSECOND


def _before(delta: dt.timedelta) -> float:
    """Return ``(onset - instant).total_seconds()``, pendulum's figure, from ``instant - onset``.

    pendulum's interval carries the float seconds of the difference through a
    timedelta again, which rounds them to the microsecond: under 71 years that gives
    back the same float (the correctly rounded quotient), above it is done its way.
    """
    if delta > -_EXACT:
        return -delta.total_seconds()
    return dt.timedelta(seconds=-delta.total_seconds()).total_seconds()


def _capped(seconds: float) -> dt.timedelta:
    """Return a non-negative duration in seconds as a timedelta, capped at :data:`_SPAN`."""
    cap = _SPAN // _MICROSECOND
    micro = seconds * 1e6
    return dt.timedelta(microseconds=cap if not micro < cap else min(round(micro), cap))


def _relatedness(
    kind: ChangeKind,
    service: str,
    services: tuple[str, ...],
    paths: Mapping[str, tuple[str, ...]],
    policy: SuspectPolicy,
) -> SuspectReason:
    what = _TARGET_WORDS[kind].format(service)
    if not services:
        return SuspectReason(
            SuspectReasonKind.SERVICE_UNKNOWN,
            1.0,
            f"{what}; no affected service was given, so relatedness was not judged",
        )
    if service in services:
        return SuspectReason(SuspectReasonKind.SAME_SERVICE, 1.0, f"{what}, the affected service")
    path = paths.get(service)
    if path is None:
        return SuspectReason(
            SuspectReasonKind.UNRELATED,
            policy.unrelated_weight,
            f"{what}, neither affected nor a declared dependency of {', '.join(services)}",
        )
    hops = len(path) - 1
    # An outage of a dependency is a failure of something the service calls, and an
    # infrastructure change to a cluster or database it runs on acts on the service
    # itself, not through another service's code: both one hop less.
    weight = policy.dependency_weight ** (hops - 1 if kind in _ONE_HOP_LESS else hops)
    through = f" through {' -> '.join(path[1:-1])}" if hops > 1 else ""
    return SuspectReason(
        SuspectReasonKind.DEPENDENCY, weight, f"{what}, which {path[0]} depends on{through}"
    )


def _kind_reason(kind: ChangeKind, policy: SuspectPolicy) -> SuspectReason:
    weight = policy.kind_weights[kind]
    return SuspectReason(
        SuspectReasonKind.CHANGE_KIND,
        weight,
        f"{_KIND_WORDS[kind]} (kind prior {weight:.2f})",
    )


def _seconds(value: float | dt.timedelta, what: str) -> float:
    seconds = value.total_seconds() if isinstance(value, dt.timedelta) else value
    if isinstance(seconds, bool) or not isinstance(cast("object", seconds), (int, float)):
        msg = f"{what} must be seconds or a timedelta, not {type(value).__name__}"
        raise InvalidInputError(msg)
    if not (math.isfinite(seconds) and seconds > 0):
        msg = f"{what} must be a positive duration, not {value!r}"
        raise InvalidInputError(msg)
    return float(seconds)


_new = object.__new__
_SET_DETAIL = SuspectReason.__dict__["detail"].__set__
_SET_KIND = SuspectReason.__dict__["kind"].__set__
_SET_WEIGHT = SuspectReason.__dict__["weight"].__set__
_SET_CHANGE = Suspect.__dict__["change"].__set__
_SET_GAP = Suspect.__dict__["gap"].__set__
_SET_REASONS = Suspect.__dict__["reasons"].__set__
_SET_SCORE = Suspect.__dict__["score"].__set__


def _reason(kind: SuspectReasonKind, weight: float, detail: str) -> SuspectReason:
    """Build a reason as ``SuspectReason(kind, weight, detail)`` does, setting its slots directly.

    Its ``__init__`` does nothing more (no validator, converter or post-init: a test
    keeps it so), but goes through the frozen class's guarded ``__setattr__``.
    """
    reason = _new(SuspectReason)
    _SET_KIND(reason, kind)
    _SET_WEIGHT(reason, weight)
    _SET_DETAIL(reason, detail)
    return reason


def share_off_map(
    suspects: Sequence[Suspect], positions: Sequence[int], scores: list[float] | None = None
) -> None:
    """Share the weight of a missing edge among the changes outside the dependency map.

    ``unrelated_weight`` is not evidence about one change: it is the chance that the
    map misses the culprit's edge, and every change outside the map near the onset
    has the same claim to it. Read as likelihoods, the probability that the culprit
    is outside the map is split among those changes by their proximity (the time
    evidence): each one's relatedness is ``unrelated_weight / max(1, P)``, where
    ``P`` is the sum of their proximities. One change outside the map near the
    onset keeps the whole weight; among five, each has a fifth of it, so they no
    longer crowd out a related change whose time evidence is weaker.

    Incidents of dependencies and changes share apart: an incident reported by a
    dependency's status is of something the organisation uses, and is an observed
    failure under way, not a change that might have failed; the deploys elsewhere
    near the onset have no claim on its share, nor it on theirs.

    The suspects at ``positions`` (all with an :attr:`SuspectReasonKind.UNRELATED`
    relatedness) are updated in place, and ``scores`` with them when given. The
    suspects are this ranking's own, not yet handed out.
    """
    outages = [p for p in positions if suspects[p].change.kind is ChangeKind.DEPENDENCY]
    if outages:
        _share(suspects, outages, scores, _OUTAGES)
        positions = [p for p in positions if suspects[p].change.kind is not ChangeKind.DEPENDENCY]
    _share(suspects, positions, scores, _CHANGES)


_OUTAGES: Final = "incidents of dependencies"
_CHANGES: Final = "changes"


def _share(
    suspects: Sequence[Suspect], positions: Sequence[int], scores: list[float] | None, what: str
) -> None:
    """Share the weight of a missing edge among the suspects at ``positions`` (see above)."""
    if not positions:
        return
    total = math.fsum(suspects[position].reasons[0].weight for position in positions)
    if total <= 1.0:
        return
    shared: dict[int, SuspectReason] = {}
    words = f"; the chance of a missing edge is shared among {total:.1f} such {what} near the onset"
    for position in positions:
        suspect = suspects[position]
        proximity, related, prior = suspect.reasons
        lowered = shared.get(id(related))
        if lowered is None:
            lowered = shared[id(related)] = _reason(
                SuspectReasonKind.UNRELATED, related.weight / total, related.detail + words
            )
        score = min(1.0, max(0.0, proximity.weight * lowered.weight * prior.weight))
        _SET_REASONS(suspect, (proximity, lowered, prior))
        _SET_SCORE(suspect, score)
        if scores is not None:
            scores[position] = score


def _suspect(
    change: Change, score: float, reasons: tuple[SuspectReason, ...], gap: float
) -> Suspect:
    """Build a suspect as ``Suspect(change, score, reasons, gap)`` does, as :func:`_reason`."""
    suspect = _new(Suspect)
    _SET_CHANGE(suspect, change)
    _SET_SCORE(suspect, score)
    _SET_REASONS(suspect, reasons)
    _SET_GAP(suspect, gap)
    return suspect


class _Ranker:
    """One ranking: its onset, window and words, the reasons it shares, and the changes sorted.

    Every instant is taken relative to the onset as a timedelta (C arithmetic, exact to
    the microsecond); the figures are the ones pendulum's arithmetic on the instants
    gives, to the last bit. The reasons that depend only on a change's kind and
    service, and the proximity reasons of weight 1 with the same words, are built once
    and shared: they are frozen values, equal either way.
    """

    __slots__ = (
        "affected",
        "after_onset",
        "allowance",
        "decay",
        "decaying",
        "grace",
        "half_life",
        "kinds",
        "minutes",
        "off_map",
        "off_outage",
        "onset",
        "paths",
        "policy",
        "scores",
        "shared",
        "start",
        "suspects",
        "too_old",
        "triples",
        "within",
    )

    def __init__(
        self,
        onset: pendulum.DateTime,
        window: float,
        policy: SuspectPolicy,
        affected: tuple[str, ...],
        paths: Mapping[str, tuple[str, ...]],
    ) -> None:
        self.onset = onset
        self.start = -_capped(window)
        self.policy = policy
        self.affected = affected
        self.paths = paths
        self.grace = policy.grace
        self.half_life = policy.half_life
        self.allowance = _duration(policy.rollout_allowance)
        self.within = f", within the {_duration(policy.grace)} grace for a change to show"
        self.decay = (
            f" (half-life {_duration(policy.half_life)} after a {_duration(policy.grace)} grace)"
        )
        self.kinds: dict[int, dict[str, tuple[SuspectReason, SuspectReason]]] = {
            id(kind): {} for kind in ChangeKind
        }
        """Per kind (by identity), per service: the relatedness and kind reasons."""
        self.shared: dict[str, SuspectReason] = {}
        """The proximity reasons of weight 1, by their words."""
        self.decaying: dict[str, str] = {}
        """The words of the decaying proximity reasons, one string for each."""
        self.minutes: dict[int, str] = {}
        """A duration in words, by its whole minutes."""
        self.triples: dict[tuple[int, int], tuple[SuspectReason, ...]] = {}
        """The reasons of the suspects whose proximity is shared, by identity."""
        self.suspects: list[Suspect] = []
        self.off_map: list[int] = []
        """The positions in :attr:`suspects` of the changes outside the dependency map."""
        self.off_outage: list[int] = []
        """The same for the incidents of dependencies outside it (they share apart)."""
        self.scores: list[float] = []
        """The suspects' scores, in the same order (sorted, the first key of their order)."""
        self.after_onset: tuple[list[dt.timedelta], list[Change]] = ([], [])
        """The changes that began after the onset, and when (from the onset)."""
        self.too_old: tuple[list[dt.timedelta], list[Change]] = ([], [])
        """The changes that ended before the window, and when (from the onset)."""

    def add(self, changes: Iterable[object]) -> None:
        """Score the changes under way in the window; set aside those after it or too old."""
        onset = self.onset
        start = self.start
        allowance = _capped(self.policy.rollout_allowance)
        zero, exact, since, dependency = _ZERO, -_EXACT, _since, ChangeKind.DEPENDENCY
        kinds = self.kinds
        suspect, score_of = self.suspects.append, self.scores.append
        later_start, later = self.after_onset[0].append, self.after_onset[1].append
        old_end, old = self.too_old[0].append, self.too_old[1].append
        off_map, unrelated = self.off_map.append, SuspectReasonKind.UNRELATED
        off_outage = self.off_outage.append
        for position, change in enumerate(changes):
            if not isinstance(change, Change):
                msg = f"change {position} is {type(change).__name__}, not a Change"
                raise InvalidInputError(msg)
            began = since(change.started, onset)  # negative: before the onset
            if began > zero:
                later_start(began)
                later(change)
                continue
            kind = change.kind
            finished = change.finished
            if finished is not None:
                end = min(since(finished, onset), zero)
            elif kind is dependency:
                end = zero  # an outage with no end is ongoing
            else:
                end = min(began + allowance, zero)
            if end < start:
                old_end(end)
                old(change)
                continue
            # Keyed by identity: an enum member hashes in Python, a dozen times slower.
            service = change.service
            related, prior = kinds[id(kind)].get(service) or self.relate(kind, service)
            if end:
                gap = -end.total_seconds() if end > exact else _before(end)
                proximity = self.finished(kind, began, gap, finished is None)
            else:
                gap = 0.0
                proximity = self.rolling_out(kind, began, finished is None)
            score = proximity.weight * related.weight * prior.weight
            if not 0.0 < score < 1.0:
                score = min(1.0, max(0.0, score))
            reasons = (
                (proximity, related, prior)
                if proximity.weight != 1.0
                else self.share_all(proximity, related, prior)
            )
            if related.kind is unrelated:
                (off_outage if kind is dependency else off_map)(len(self.scores))
            suspect(_suspect(change, score, reasons, gap))
            score_of(score)
        _share(self.suspects, self.off_outage, self.scores, _OUTAGES)
        _share(self.suspects, self.off_map, self.scores, _CHANGES)

    def relate(self, kind: ChangeKind, service: str) -> tuple[SuspectReason, SuspectReason]:
        """Return (and keep) the relatedness and kind reasons of a change of ``kind``."""
        of_kind = self.kinds[id(kind)]
        prior = next(iter(of_kind.values()))[1] if of_kind else _kind_reason(kind, self.policy)
        reasons = of_kind[service] = (
            _relatedness(kind, service, self.affected, self.paths, self.policy),
            prior,
        )
        return reasons

    def rolling_out(
        self,
        kind: ChangeKind,
        began: dt.timedelta,
        unknown: bool,  # noqa: FBT001 - positional: called for every change
    ) -> SuspectReason:
        """Return the proximity reason of a change under way at the onset."""
        if kind is ChangeKind.DEPENDENCY:
            detail = f"under way at the onset (began {self.words(_before(began))} before it)"
        elif unknown:
            detail = (
                "no recorded end: taken as still rolling out at the onset (began "
                f"{self.words(_before(began))} before it)"
            )
        elif not began:
            detail = "began at the onset"
        else:
            detail = (
                f"still rolling out at the onset (began {self.words(_before(began))} before it)"
            )
        return self.share(SuspectReasonKind.ROLLING_OUT_AT_ONSET, detail)

    def finished(
        self,
        kind: ChangeKind,
        began: dt.timedelta,
        gap: float,
        unknown: bool,  # noqa: FBT001 - positional: called for every change
    ) -> SuspectReason:
        """Return the proximity reason of a change that ended ``gap`` seconds before the onset."""
        if kind is ChangeKind.DEPENDENCY:
            ended = f"ended {self.words(gap)} before the onset"
        elif unknown:
            ended = (
                f"no recorded end; began {self.words(_before(began))} before the onset, taken as "
                f"finished {self.allowance} later, {self.words(gap)} before the onset"
            )
        else:
            ended = f"finished {self.words(gap)} before the onset"
        if gap <= self.grace:
            return self.share(SuspectReasonKind.TIME_PROXIMITY, ended + self.within)
        weight = self.half_life / (self.half_life + gap - self.grace)
        detail = self.decaying.get(ended)
        if detail is None:
            detail = self.decaying[ended] = ended + self.decay
        return _reason(SuspectReasonKind.TIME_PROXIMITY, weight, detail)

    def words(self, seconds: float) -> str:
        """Return ``_duration(seconds)``, kept per whole minute from a minute to two days.

        In that range the words depend on nothing else than the minutes.
        """
        if seconds < 60:  # noqa: PLR2004 - a minute
            return _duration(seconds)
        minutes = round(seconds / 60)
        words = self.minutes.get(minutes)
        if words is None:
            words = _duration(seconds)
            if minutes < 48 * 60:
                self.minutes[minutes] = words
        return words

    def share_all(
        self, proximity: SuspectReason, related: SuspectReason, prior: SuspectReason
    ) -> tuple[SuspectReason, ...]:
        """Return the three reasons as a tuple built once per ranking (the proximity shared)."""
        pair = (id(proximity), id(related))
        return self.triples.get(pair) or self.triples.setdefault(pair, (proximity, related, prior))

    def share(self, kind: SuspectReasonKind, detail: str) -> SuspectReason:
        """Return the reason of weight 1 with this detail, built once per ranking."""
        reason = self.shared.get(detail)
        if reason is None:
            reason = self.shared[detail] = SuspectReason(kind, 1.0, detail)
        return reason

    def ranked(self) -> list[Suspect]:
        """Return the suspects best first: by score, gap, later start, kind, service, id.

        Sorted by score alone (plain floats sort fastest); only runs of equal scores
        are sorted again by the whole key, and runs of equal whole keys by ``repr``.
        """
        suspects = self.suspects
        suspects.sort(key=_SCORE, reverse=True)  # stable, as the full key's order is
        self.scores.sort(reverse=True)  # the sorted suspects' scores, without fetching them
        _untie(suspects, self.scores, _by_suspect_key)
        return suspects

    def began_after(self) -> list[Change]:
        """Return the changes that began after the onset, by start, service and id."""
        return _set_aside(*self.after_onset)

    def ended_before(self) -> list[Change]:
        """Return the changes that ended before the window, latest end first.

        Their key is ``-end.timestamp()``, a float as it was, so that two ends a
        microsecond apart that the float cannot tell apart tie as they did.
        """
        onset = _microseconds(self.onset)
        ends, changes = self.too_old
        return _set_aside([-((onset + end // _MICROSECOND) / 1_000_000) for end in ends], changes)


_T = TypeVar("_T")
_K = TypeVar("_K", bound="SupportsRichComparison")
_Instant = TypeVar("_Instant", float, dt.timedelta)
_SCORE: Final = operator.attrgetter("score")
_KIND_ORDER_BY_ID: Final = {id(kind): order for kind, order in _KIND_ORDER.items()}
"""The kinds' order by identity: an enum member hashes in Python, a dozen times slower."""


def _untie(items: list[_T], keys: list[_K], then: Callable[[list[_T]], None]) -> None:
    """Reorder in place, with ``then``, each run of ``items`` whose ``keys`` are equal.

    ``items`` are sorted by ``keys`` (given in the same order). Python's sort is stable,
    so sorting by a key and then each run of equal keys by a further key is sorting by
    the pair: only the runs pay for the further key.
    """
    # Where a key equals the next one, found in C: most keys have no equal.
    tied = itertools.compress(
        itertools.count(), map(operator.eq, keys, itertools.islice(keys, 1, None))
    )
    first = last = -2
    for position in (*tied, -2):
        if position == last + 1:
            last = position
            continue
        if first >= 0:
            run = items[first : last + 2]
            then(run)
            items[first : last + 2] = run
        first = last = position


def _sort_by(items: list[_T], key: Callable[[_T], _K], then: Callable[[list[_T]], None]) -> None:
    """Sort ``items`` in place by ``key`` (stable), then each run of equal keys by ``then``."""
    keys = list(map(key, items))
    order = sorted(range(len(items)), key=keys.__getitem__)
    items[:] = [items[index] for index in order]
    _untie(items, [keys[index] for index in order], then)


def _suspect_key(suspect: Suspect) -> tuple[float, float, float, int, str, str, str]:
    change = suspect.change
    return (
        -suspect.score,
        suspect.gap,
        -(_microseconds(change.started) / 1_000_000),  # -started.timestamp(), to the bit
        _KIND_ORDER_BY_ID[id(change.kind)],
        change.service,
        change.id,
        change.source,
    )


def _suspect_repr(suspect: Suspect) -> str:
    return repr(suspect.change)


def _by_suspect_key(run: list[Suspect]) -> None:
    _sort_by(run, _suspect_key, lambda tied: tied.sort(key=_suspect_repr))


def _set_aside(instants: list[_Instant], changes: list[Change]) -> list[Change]:
    """Return changes by their instants, then service, id and source, then ``repr``."""
    order = sorted(range(len(changes)), key=instants.__getitem__)

    def key(index: int) -> tuple[_Instant, str, str, str]:
        change = changes[index]
        return (instants[index], change.service, change.id, change.source)

    def by_names(run: list[int]) -> None:
        _sort_by(run, key, lambda tied: tied.sort(key=lambda index: repr(changes[index])))

    _untie(order, list(map(instants.__getitem__, order)), by_names)
    return [changes[index] for index in order]


def _explain(
    suspects: Sequence[Suspect],
    after_onset: Sequence[Change],
    too_old: Sequence[Change],
    *,
    lookback: float,
    min_score: float,
    no_suspect: bool,
) -> str:
    window = f"the {_duration(lookback)} before the onset"
    if not suspects:
        text = (
            f"no change was under way in {window}: the cause may be outside the sources consulted."
        )
    elif no_suspect:
        best = suspects[0]
        text = (
            f"no change in {window} scores {min_score:.2f} or more (the best, "
            f"{_what(best.change)}, scores {best.score:.2f}): the cause may be outside the "
            "sources consulted."
        )
    else:
        best = suspects[0]
        why = "; ".join(reason.detail for reason in best.reasons)
        text = f"top suspect: {_what(best.change)}, score {best.score:.2f}: {why}."
        others = sum(1 for s in suspects[1:] if s.score >= min_score)
        if others:
            text += f" {others} more score{'s' if others == 1 else ''} {min_score:.2f} or more."
    if too_old:
        many = len(too_old) != 1
        text += (
            f" {len(too_old)} older change{'s' if many else ''} ended before the window "
            f"and {'are' if many else 'is'} not ranked."
        )
    if after_onset:
        many = len(after_onset) != 1
        text += (
            f" {len(after_onset)} change{'s' if many else ''} began after the onset: "
            f"{'not suspects' if many else 'not a suspect'} of causing it, but "
            f"{'they' if many else 'it'} can make it worse."
        )
    return text


def _near_words(near: Sequence[Suspect], affected: Sequence[str]) -> str:
    shown = near[:_NEAR_SHOWN]
    parts = [f"{_what(s.change)} ({s.reasons[0].detail}; score {s.score:.2f})" for s in shown]
    more = len(near) - len(shown)
    listed = "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
    services = sorted({s.change.service for s in shown})
    edge = (
        f"does {', '.join(affected)} depend on {', '.join(services)}?"
        if affected
        else "name the affected services and their dependencies."
    )
    return f"nearest unrelated: {listed}. The dependency map may be missing an edge: {edge}"


def _alternate(first: Sequence[Suspect], second: Sequence[Suspect]) -> list[Suspect]:
    """Return ``first[0], second[0], first[1], second[1], ...``, then what is left of either."""
    both = min(len(first), len(second))
    merged = [suspect for pair in zip(first[:both], second[:both], strict=True) for suspect in pair]
    merged.extend(first[both:])
    merged.extend(second[both:])
    return merged


def reconsidered(ranking: SuspectRanking, affected: Sequence[str]) -> SuspectRanking:
    """Name the changes near the onset when no suspect reaches ``min_score`` (see the module).

    Applied to the ranking by score: the best-scoring change stays first, then
    the near changes alternate with the rest, each in the order it had (the
    first near one second): both leads, an edge the map may miss and a related
    change with weaker time evidence, keep room in the first places.
    """
    if not ranking.no_suspect or not ranking.suspects:
        return ranking
    near = tuple(s for s in ranking.suspects if s.reasons[0].weight == 1.0)
    if not near:
        return ranking
    # The best-scoring change keeps first place (on a labelled corpus, putting the
    # near ones before it lost more related culprits than it found unmapped ones).
    best = ranking.suspects[0]
    lead = () if best.reasons[0].weight == 1.0 else (best,)
    chosen = {id(s) for s in (*lead, *near)}
    rest = tuple(s for s in ranking.suspects if id(s) not in chosen)
    window = f"the {_duration(ranking.lookback)} before the onset"
    head = (
        f"no related suspect: no change in {window} scores {ranking.min_score:.2f} or more; "
        f"{_near_words(near, affected)}"
    )
    tail = _explain(
        (),
        ranking.after_onset,
        ranking.too_old,
        lookback=ranking.lookback,
        min_score=ranking.min_score,
        no_suspect=True,
    )
    tail = tail[tail.index("consulted.") + len("consulted.") :]
    suspects = (*lead, *_alternate(near, rest))
    return attrs.evolve(ranking, suspects=suspects, explanation=head + tail, near_onset=near)


def rank_suspects(
    changes: Iterable[Change],
    onset: dt.datetime | float,
    *,
    services: Sequence[str] = (),
    depends_on: Mapping[str, Sequence[str]] | None = None,
    lookback: float | dt.timedelta = DEFAULT_LOOKBACK,
    min_score: float = DEFAULT_MIN_SCORE,
    policy: SuspectPolicy | None = None,
) -> SuspectRanking:
    """Rank changes as suspects of causing a symptom that began at ``onset``.

    A change's score is ``proximity x relatedness x kind`` (see
    :class:`SuspectPolicy` for the weights), each factor kept as a
    :class:`SuspectReason`. A change is taken to end at its ``finished`` instant; one
    with no recorded end at ``started + policy.rollout_allowance``, except a
    dependency's incident, which is ongoing.

    Args:
        changes: The changes gathered from every source, in any order.
        onset: When the symptom began: an aware datetime or Unix seconds.
        services: The affected services (a single name is accepted too). With
            none, relatedness is not judged and ranks by time and kind alone.
        depends_on: The dependency map: each service's dependencies (direct;
            dependencies of dependencies are followed). Name the clusters,
            databases and vendors a service runs on to have their changes and
            incidents count as related.
        lookback: How far before the onset to look, in seconds or as a
            timedelta: a change that ended earlier is listed in ``too_old``,
            never ranked. Six hours by default.
        min_score: The score, in [0, 1], the best suspect needs for the
            ranking to name one; under it the answer is "no suspect".
        policy: The weights; :class:`SuspectPolicy` defaults if omitted.

    Returns:
        The ranking: suspects best first, the changes that began after the
        onset and those too old apart, and the verdict in words.

    Raises:
        NaiveDatetimeError: ``onset`` has no time zone.
        InvalidInputError: A change is not a :class:`~incidentkit.Change`, a
            service name is empty, ``lookback`` is not a positive duration,
            ``min_score`` is not in [0, 1], ``depends_on`` is not a mapping or
            ``policy`` not a :class:`SuspectPolicy`.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0
       A heavy-tailed proximity (see :class:`SuspectPolicy`); an
       infrastructure change to a dependency counts one hop less, as its
       incident does; changes outside the map share the weight of a missing
       edge, the dependencies' incidents apart from the other changes.
    """
    at = to_instant(onset, what="onset")
    window = _seconds(lookback, "lookback")
    if not (is_finite(min_score) and 0 <= min_score <= 1):
        msg = f"min_score must be a number in [0, 1], not {min_score!r}"
        raise InvalidInputError(msg)
    rules = SuspectPolicy() if policy is None else policy
    if not isinstance(cast("object", rules), SuspectPolicy):
        msg = f"policy must be a SuspectPolicy or None, not {type(policy).__name__} {policy!r:.60}"
        raise InvalidInputError(msg)
    if depends_on is not None and not isinstance(cast("object", depends_on), Mapping):
        msg = f"depends_on must map services to their dependencies, not {depends_on!r:.60}"
        raise InvalidInputError(msg)
    if not isinstance(cast("object", changes), Iterable):
        msg = f"changes must be an iterable of Change, not {type(changes).__name__}"
        raise InvalidInputError(msg)
    affected = _as_names(services, "services")
    paths = _dependencies(affected, depends_on or {})
    ranker = _Ranker(at, window, rules, affected, paths)
    ranker.add(changes)
    suspects = ranker.ranked()
    after_onset = ranker.began_after()
    too_old = ranker.ended_before()
    no_suspect = not suspects or suspects[0].score < min_score
    ranking = SuspectRanking(
        onset=at,
        lookback=window,
        min_score=float(min_score),
        suspects=tuple(suspects),
        after_onset=tuple(after_onset),
        too_old=tuple(too_old),
        no_suspect=no_suspect,
        explanation=_explain(
            suspects,
            after_onset,
            too_old,
            lookback=window,
            min_score=min_score,
            no_suspect=no_suspect,
        ),
    )
    return reconsidered(ranking, affected)
