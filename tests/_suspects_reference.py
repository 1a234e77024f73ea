"""The straightforward ranking of suspects, kept as the oracle the fast one must match exactly.

This is ``rank_suspects`` as it was before it was rewritten over plain numbers
(pendulum arithmetic per change, a ``Suspect`` built for every change before the
sort, ``repr`` in every sort key). The tests compare the library's rankings with
this one, field for field and ``repr`` for ``repr``; it is not used anywhere else.
Naming the changes near the onset when no suspect scores enough is applied to
both by the library's own ``reconsidered``, and sharing the weight of a missing
edge among the changes outside the map by its ``share_off_map``: the oracle is
for the ranking.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import cast

import pendulum

from incidentkit import Change, ChangeKind, InvalidInputError
from incidentkit._time import to_instant
from incidentkit.analysis import (
    Suspect,
    SuspectPolicy,
    SuspectRanking,
    SuspectReason,
    SuspectReasonKind,
)
from incidentkit.analysis._suspects import (
    DEFAULT_LOOKBACK,
    DEFAULT_MIN_SCORE,
    reconsidered,
    share_off_map,
)

_KIND_WORDS = {
    ChangeKind.DEPLOY: "a deploy",
    ChangeKind.CONFIG: "a config change",
    ChangeKind.FEATURE_FLAG: "a feature-flag change",
    ChangeKind.INFRASTRUCTURE: "an infrastructure change",
    ChangeKind.DEPENDENCY: "an incident of a dependency",
}
_TARGET_WORDS = {
    ChangeKind.DEPLOY: "deployed to {}",
    ChangeKind.CONFIG: "config changed on {}",
    ChangeKind.FEATURE_FLAG: "feature flag changed on {}",
    ChangeKind.INFRASTRUCTURE: "infrastructure changed: {}",
    ChangeKind.DEPENDENCY: "an incident of {}",
}
_KIND_ORDER = {kind: index for index, kind in enumerate(ChangeKind)}


def _duration(seconds: float) -> str:
    """Render a duration for people: ``45 s``, ``12 min``, ``2 h 5 min``, ``3 d``."""
    seconds = abs(seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h" + (f" {rest} min" if rest else "")
    return f"{seconds / 86400:.0f} d"


def _what(change: Change) -> str:
    if change.kind is ChangeKind.DEPENDENCY:
        return f"dependency incident {change.id} of {change.service}"
    return f"{change.kind.value.replace('_', ' ')} {change.id} of {change.service}"


def _as_names(value: Sequence[str] | str, what: str) -> tuple[str, ...]:
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


def _relatedness(
    change: Change,
    services: tuple[str, ...],
    paths: Mapping[str, tuple[str, ...]],
    policy: SuspectPolicy,
) -> SuspectReason:
    what = _TARGET_WORDS[change.kind].format(change.service)
    if not services:
        return SuspectReason(
            SuspectReasonKind.SERVICE_UNKNOWN,
            1.0,
            f"{what}; no affected service was given, so relatedness was not judged",
        )
    if change.service in services:
        return SuspectReason(SuspectReasonKind.SAME_SERVICE, 1.0, f"{what}, the affected service")
    path = paths.get(change.service)
    if path is None:
        return SuspectReason(
            SuspectReasonKind.UNRELATED,
            policy.unrelated_weight,
            f"{what}, neither affected nor a declared dependency of {', '.join(services)}",
        )
    hops = len(path) - 1
    # An outage of a dependency is a failure of something the service calls: one hop less.
    direct = change.kind in {ChangeKind.DEPENDENCY, ChangeKind.INFRASTRUCTURE}
    weight = policy.dependency_weight ** (hops - 1 if direct else hops)
    through = f" through {' -> '.join(path[1:-1])}" if hops > 1 else ""
    return SuspectReason(
        SuspectReasonKind.DEPENDENCY, weight, f"{what}, which {path[0]} depends on{through}"
    )


def _end(change: Change, onset: pendulum.DateTime, policy: SuspectPolicy) -> pendulum.DateTime:
    """Return when the change is taken to have ended, at the latest the onset."""
    if change.finished is not None:
        return min(change.finished, onset)
    if change.kind is ChangeKind.DEPENDENCY:
        return onset  # an outage with no end is ongoing
    return min(onset, change.started.add(microseconds=round(policy.rollout_allowance * 1e6)))


def _proximity(
    change: Change, onset: pendulum.DateTime, end: pendulum.DateTime, policy: SuspectPolicy
) -> tuple[SuspectReason, float]:
    gap = (onset - end).total_seconds()
    began = _duration((onset - change.started).total_seconds())
    unknown = change.finished is None and change.kind is not ChangeKind.DEPENDENCY
    if gap <= 0:
        if change.kind is ChangeKind.DEPENDENCY:
            detail = f"under way at the onset (began {began} before it)"
        elif unknown:
            detail = (
                f"no recorded end: taken as still rolling out at the onset (began {began} "
                "before it)"
            )
        elif change.started == onset:
            detail = "began at the onset"
        else:
            detail = f"still rolling out at the onset (began {began} before it)"
        return SuspectReason(SuspectReasonKind.ROLLING_OUT_AT_ONSET, 1.0, detail), 0.0
    if unknown:
        ended = (
            f"no recorded end; began {began} before the onset, taken as finished "
            f"{_duration(policy.rollout_allowance)} later, {_duration(gap)} before the onset"
        )
    else:
        ended = f"{'ended' if change.kind is ChangeKind.DEPENDENCY else 'finished'} "
        ended += f"{_duration(gap)} before the onset"
    if gap <= policy.grace:
        detail = f"{ended}, within the {_duration(policy.grace)} grace for a change to show"
        return SuspectReason(SuspectReasonKind.TIME_PROXIMITY, 1.0, detail), gap
    weight = policy.half_life / (policy.half_life + gap - policy.grace)
    detail = f"{ended} (half-life {_duration(policy.half_life)} after a {_duration(policy.grace)} "
    detail += "grace)"
    return SuspectReason(SuspectReasonKind.TIME_PROXIMITY, weight, detail), gap


def _kind_reason(change: Change, policy: SuspectPolicy) -> SuspectReason:
    weight = policy.kind_weights[change.kind]
    return SuspectReason(
        SuspectReasonKind.CHANGE_KIND,
        weight,
        f"{_KIND_WORDS[change.kind]} (kind prior {weight:.2f})",
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


def _sort_key(suspect: Suspect) -> tuple[float, float, float, int, str, str, str, str]:
    change = suspect.change
    return (
        -suspect.score,
        suspect.gap,
        -change.started.timestamp(),
        _KIND_ORDER[change.kind],
        change.service,
        change.id,
        change.source,
        repr(change),
    )


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


def reference_rank_suspects(
    changes: Iterable[Change],
    onset: dt.datetime | float,
    *,
    services: Sequence[str] = (),
    depends_on: Mapping[str, Sequence[str]] | None = None,
    lookback: float | dt.timedelta = DEFAULT_LOOKBACK,
    min_score: float = DEFAULT_MIN_SCORE,
    policy: SuspectPolicy | None = None,
) -> SuspectRanking:
    """Rank the changes the straightforward way: the oracle for ``rank_suspects``."""
    at = to_instant(onset, what="onset")
    window = _seconds(lookback, "lookback")
    if isinstance(min_score, bool) or not (math.isfinite(min_score) and 0 <= min_score <= 1):
        msg = f"min_score must be a number in [0, 1], not {min_score!r}"
        raise InvalidInputError(msg)
    rules = SuspectPolicy() if policy is None else policy
    affected = _as_names(services, "services")
    paths = _dependencies(affected, depends_on or {})
    start = at.subtract(microseconds=round(window * 1e6))
    suspects: list[Suspect] = []
    after_onset: list[Change] = []
    too_old: list[Change] = []
    for position, change in enumerate(changes):
        if not isinstance(cast("object", change), Change):
            msg = f"change {position} is {type(change).__name__}, not a Change"
            raise InvalidInputError(msg)
        if change.started > at:
            after_onset.append(change)
            continue
        end = _end(change, at, rules)
        if end < start:
            too_old.append(change)
            continue
        proximity, gap = _proximity(change, at, end, rules)
        reasons = (
            proximity,
            _relatedness(change, affected, paths, rules),
            _kind_reason(change, rules),
        )
        score = min(1.0, max(0.0, math.prod(reason.weight for reason in reasons)))
        suspects.append(Suspect(change, score, reasons, gap))
    share_off_map(
        suspects,
        [i for i, s in enumerate(suspects) if s.reasons[1].kind is SuspectReasonKind.UNRELATED],
    )
    suspects.sort(key=_sort_key)
    after_onset.sort(key=lambda c: (c.started, c.service, c.id, c.source, repr(c)))
    too_old.sort(
        key=lambda c: (-_end(c, at, rules).timestamp(), c.service, c.id, c.source, repr(c))
    )
    no_suspect = not suspects or suspects[0].score < min_score
    return reconsidered(
        SuspectRanking(
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
        ),
        affected,
    )
