"""The speed workload of ``bench_suspects``: a long change history as plain data, and the floor.

Kept apart from ``suspects_corpus`` and free of incidentkit imports, so that the floor's
fresh process loads nothing but this module: what it measures is the bare loop.

The history is one incident's: ``n`` changes of every kind to the corpus's services, each
ending somewhere from 30 minutes after the onset to 7 hours before it (so about 85% are
under way in the default 6-hour window, 3% begin after the onset and 12% ended before the
window), running 1 to 30 minutes, a tenth with no recorded end. Instants are Unix seconds
with microseconds, as a source's JSON gives them.
"""

from __future__ import annotations

import random

ONSET = 1_772_460_451.25
"""2026-03-02T14:07:31.25Z, in Unix seconds."""
SERVICE = "checkout"
"""The affected service."""
KINDS = ("deploy", "config", "feature_flag", "infrastructure", "dependency")
"""``ChangeKind`` values, in the enum's order."""
KIND_WEIGHTS = (1.0, 1.0, 1.0, 0.8, 0.8)
"""``DEFAULT_KIND_WEIGHTS``, in the order of :data:`KINDS`."""
LOOKBACK = 6 * 3600.0
GRACE = 300.0
HALF_LIFE = 1800.0
ROLLOUT_ALLOWANCE = 3600.0
DEPENDENCY_WEIGHT = 0.6
UNRELATED_WEIGHT = 0.25


def history(
    n: int, services: tuple[str, ...], seed: int = 1
) -> list[tuple[str, str, str, float, float | None]]:
    """Return ``n`` changes as ``(id, kind value, service, started, finished or None)``."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible workload, not a secret
    rows: list[tuple[str, str, str, float, float | None]] = []
    for index in range(n):
        finished = round(ONSET - rng.uniform(-1800.0, 7 * 3600.0), 6)
        started = round(finished - rng.uniform(60.0, 1800.0), 6)
        rows.append(
            (
                f"change-{index:06d}",
                rng.choice(KINDS),
                rng.choice(services),
                started,
                None if rng.random() < 0.1 else finished,
            )
        )
    return rows


def relatedness(depends_on: dict[str, tuple[str, ...]]) -> dict[str, int]:
    """Return the hops from :data:`SERVICE` to each service it depends on, directly or not."""
    hops = {SERVICE: 0}
    frontier = [SERVICE]
    while frontier:
        following: list[str] = []
        for service in frontier:
            for dependency in depends_on.get(service, ()):
                if dependency not in hops:
                    hops[dependency] = hops[service] + 1
                    following.append(dependency)
        frontier = following
    return hops


def plain(
    rows: list[tuple[str, str, str, float, float | None]], depends_on: dict[str, tuple[str, ...]]
) -> list[tuple[float, float, float, float, bool]]:
    """Return the floor's input: ``(started, end, relatedness, kind prior, outage)``.

    The end of a change with no recorded end is worked out here (``started`` plus the
    rollout allowance, or the onset for a dependency's outage), as are the relatedness
    from the dependency map and the kind's prior: the floor only scores and sorts.
    """
    hops = relatedness(depends_on)
    out: list[tuple[float, float, float, float, bool]] = []
    for _, kind, service, started, finished in rows:
        outage = kind == "dependency"
        if finished is not None:
            end = min(finished, ONSET)
        elif outage:
            end = ONSET
        else:
            end = min(ONSET, started + ROLLOUT_ALLOWANCE)
        hop = hops.get(service)
        if hop is None:
            related = UNRELATED_WEIGHT
        else:
            direct = outage or kind == "infrastructure"
            related = DEPENDENCY_WEIGHT ** (hop - 1 if direct and hop else hop)
        out.append((started, end, related, KIND_WEIGHTS[KINDS.index(kind)], outage))
    return out


def floor(
    changes: list[tuple[float, float, float, float, bool]],
) -> list[tuple[float, float, float]]:
    """Score plain tuples with ``rank_suspects``' formula and sort them: the floor.

    The same partition (after the onset, too old, in the window), the same proximity
    (full within the grace, then ``half_life / (half_life + gap - grace)``), the
    product with the relatedness and the prior, the weight of a missing edge shared
    among the changes outside the map by their proximity (``unrelated_weight / max(1,
    sum)``, the dependencies' incidents apart from the other changes; in this workload
    only those have the relatedness :data:`UNRELATED_WEIGHT`), the same order (score,
    gap, later start). Nothing else: no reasons, no words, no objects but the tuples
    sorted.
    """
    window_start = ONSET - LOOKBACK
    kept: list[tuple[float, float, float, float, float, bool]] = []
    keep = kept.append
    off_map = off_outage = 0.0
    for started, end, related, prior, outage in changes:
        if started > ONSET or end < window_start:
            continue
        gap = ONSET - end
        proximity = 1.0 if gap <= GRACE else HALF_LIFE / (HALF_LIFE + gap - GRACE)
        if related == UNRELATED_WEIGHT:
            if outage:
                off_outage += proximity
            else:
                off_map += proximity
        keep((proximity, related, prior, gap, started, outage))
    lowered = UNRELATED_WEIGHT / max(1.0, off_map)
    lowered_outage = UNRELATED_WEIGHT / max(1.0, off_outage)
    scored = [
        (
            -(
                proximity
                * (
                    related
                    if related != UNRELATED_WEIGHT
                    else (lowered_outage if outage else lowered)
                )
                * prior
            ),
            gap,
            -started,
        )
        for proximity, related, prior, gap, started, outage in kept
    ]
    scored.sort()
    return scored
