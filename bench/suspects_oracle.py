"""An oracle for the suspects corpus: the Bayes ranking from what a responder is given.

A responder sees, for each change, its kind, its service's place in the dependency map
*given* (the affected service itself, a dependency so many hops away, or outside the map),
when it began and when it ended (or that no end was recorded), relative to the onset. The
oracle knows, on top of that, how the generator draws culprits and innocent changes from
those features: it estimates, from incidents of other seeds than any benchmarked
(:data:`TRAINING_SEEDS`), the probability of each combination of features among culprits
and among innocent changes, and ranks each incident's changes by the ratio of the two
(the likelihood ratio: with one culprit among the changes, the posterior that a change is
it is proportional to its ratio). It says "no suspect" when, among the training incidents
with about the same evidence (the mean of the ratios, in bins), most had no culprit.

It is an estimate of the ceiling, not a proof: features are binned (a culprit and an
innocent change in the same bin cannot be told apart by it), and each change is scored on
its own, as if the others did not bear on it. A ranker that knew the generator's whole
joint draw could do a little better; no ranker given only these features could do much
better, since the bins are narrow where the culprits are. What no ranking can recover:
the service's real dependency (an edge missing from the map) and which of two changes
with the same kind, relation and timing caused it.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from suspects_corpus import build_corpus

from incidentkit import Change

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from suspects_corpus import LabelledIncident

TRAINING_SEEDS = tuple(range(101, 121))
"""Seeds the oracle learns from: none of them is the benchmark's or a reported one."""
TRAINING_SIZE = 1000

_END_EDGES = (-15.0, -5.0, 0.0, 2.0, 5.0, 10.0, 20.0, 45.0, 90.0, 180.0, 360.0)
"""Minutes from a change's end to the onset (negative: it ended after the onset)."""
_START_EDGES = (2.0, 5.0, 10.0, 20.0, 40.0, 60.0, 120.0, 360.0)
"""Minutes from a change's start to the onset."""
_MEAN_EDGES = tuple(10 ** (k / 4) for k in range(-16, 17))
"""Bins of the mean likelihood ratio, for the "no suspect" decision (log-spaced)."""

_since = dt.datetime.__sub__
Key = tuple[str, str, int, int]


def _hops(incident: LabelledIncident) -> dict[str, int]:
    """Return each service the affected one reaches in the given map, with its hops."""
    hops = {incident.service: 0}
    frontier = [incident.service]
    while frontier:
        following: list[str] = []
        for service in frontier:
            for dependency in incident.depends_on.get(service, ()):
                if dependency not in hops:
                    hops[dependency] = hops[service] + 1
                    following.append(dependency)
        frontier = following
    return hops


def _minutes(onset: dt.datetime, instant: dt.datetime) -> float:
    """Minutes from ``instant`` to ``onset`` (datetime's own subtraction, not pendulum's)."""
    return _since(onset, instant).total_seconds() / 60


def features(incident: LabelledIncident) -> list[tuple[Change, Key]]:
    """Return the changes that began by the onset, each with its binned features."""
    hops = _hops(incident)
    found: list[tuple[Change, Key]] = []
    for change in incident.changes:
        began = _minutes(incident.onset, change.started)
        if began < 0:
            continue
        if change.finished is None:
            end = -1  # no recorded end
        else:
            ended = _minutes(incident.onset, change.finished)
            end = bisect.bisect_right(_END_EDGES, ended)
        hop = hops.get(change.service)
        relation = "outside" if hop is None else f"hops {min(hop, 3)}"
        found.append(
            (change, (change.kind.value, relation, end, bisect.bisect_right(_START_EDGES, began)))
        )
    return found


@dataclass
class Oracle:
    """Culprit and innocent feature counts, and the "no suspect" share per bin of evidence."""

    culprit: Counter[Key]
    innocent: Counter[Key]
    culprits: int
    innocents: int
    none_share: Mapping[int, float]

    def ratio(self, key: Key) -> float:
        """Return the likelihood ratio of a change with these features (smoothed by 0.5)."""
        return ((self.culprit[key] + 0.5) / self.culprits) / (
            (self.innocent[key] + 0.5) / self.innocents
        )

    def rank(self, incident: LabelledIncident) -> tuple[list[Change], bool]:
        """Return the changes best first, and whether the oracle says "no suspect"."""
        scored = [(self.ratio(key), change) for change, key in features(incident)]
        scored.sort(key=lambda pair: (-pair[0], pair[1].id))
        return [change for _, change in scored], self.says_none(scored)

    def says_none(self, scored: Sequence[tuple[float, Change]]) -> bool:
        """Whether most training incidents with this much evidence had no culprit."""
        return self.none_share.get(_evidence(scored), 1.0) > 0.5


def _evidence(scored: Sequence[tuple[float, Change]]) -> int:
    mean = math.fsum(r for r, _ in scored) / len(scored) if scored else 0.0
    return bisect.bisect_right(_MEAN_EDGES, mean)


def train(missing: float, seeds: Sequence[int] = TRAINING_SEEDS) -> Oracle:
    """Count features over the training seeds' corpora with ``missing`` edges out."""
    corpora = [build_corpus(TRAINING_SIZE, seed=seed, missing=missing) for seed in seeds]
    culprit: Counter[Key] = Counter()
    innocent: Counter[Key] = Counter()
    for corpus in corpora:
        for incident in corpus:
            for change, key in features(incident):
                (culprit if change.id == incident.culprit else innocent)[key] += 1
    oracle = Oracle(culprit, innocent, sum(culprit.values()), sum(innocent.values()), {})
    seen: Counter[int] = Counter()
    none: Counter[int] = Counter()
    for corpus in corpora:
        for incident in corpus:
            scored = [(oracle.ratio(key), change) for change, key in features(incident)]
            evidence = _evidence(scored)
            seen[evidence] += 1
            none[evidence] += incident.culprit is None
    oracle.none_share = {evidence: none[evidence] / seen[evidence] for evidence in seen}
    return oracle
