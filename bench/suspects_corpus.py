"""A seeded, labelled corpus of incidents with change histories, for ranking suspects.

Every incident has one affected service, an onset, 10 to 40 changes and a label: the id of
the change that caused it, or ``None``. The corpus is generated, not collected: the
proportions below are stated assumptions, chosen to resemble what the domain notes describe
(deploys and config pushes trigger most outages; dependencies and infrastructure the rest;
some incidents have no change behind them), and to contain the traps a ranker meets:

- the culprit is often *not* the latest change: unrelated changes land minutes before the
  onset in every incident;
- a same-service change that is innocent lands 5 to 120 minutes before the onset in 30% of
  the incidents with a culprit, sometimes closer than the culprit;
- innocent deploys and config changes to the service's dependencies land 10 minutes to
  6 hours before the onset in 40% of the incidents with a culprit;
- the culprit may be a dependency's outage (sometimes two hops away), a deploy to a
  dependency, or an infrastructure change, and the dependency map the ranker is given lacks
  10% of the real edges;
- a tenth of the culprits other than outages finished 45 minutes to 3 hours before the
  onset (slow leaks, caches expiring), and a tenth of the same-service culprits have no
  recorded end;
- changes begin just after the onset (responders deploying, flags flipped) and old deploys
  of the same service sit hours to days before it;
- in 20% of the incidents nothing in the history caused it; in 30% of those an innocent
  related change (same service or a dependency) sits 10 to 120 minutes before the onset.

The generator knows nothing of the ranker's weights; the same seed always gives the same
corpus. Changes to services the affected one does not depend on, even indirectly, are
"unrelated"; changes to indirect dependencies only appear as culprits.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pendulum

from incidentkit import Change, ChangeKind

if TYPE_CHECKING:
    from collections.abc import Mapping

SEED = 20261128
MAP_EDGE_MISSING = 0.10

APPS: tuple[str, ...] = (
    "checkout",
    "cart",
    "payments-api",
    "search",
    "catalog",
    "inventory",
    "pricing",
    "auth",
    "user-profile",
    "notifications",
    "recommendations",
    "reviews",
    "shipping",
    "tax",
    "fraud",
    "orders",
    "gateway",
    "images",
    "coupons",
    "loyalty",
    "wishlist",
    "returns",
    "invoicing",
    "ledger",
)
STORES: tuple[str, ...] = (
    "postgres-main",
    "postgres-orders",
    "redis-cache",
    "kafka",
    "elasticsearch",
)
CLUSTERS: tuple[str, ...] = ("k8s-prod-eu", "k8s-prod-us", "k8s-prod-ap")
VENDORS: tuple[str, ...] = ("stripe", "twilio", "sendgrid", "auth0", "cloudfront")
ELSEWHERE: tuple[str, ...] = (
    "admin-portal",
    "data-warehouse",
    "analytics-etl",
    "marketing-site",
    "ci-runners",
    "internal-wiki",
)
"""Services no production service depends on: their changes are always unrelated."""

CATEGORIES = (
    ("none", 0.20),
    ("same_service", 0.45),
    ("dependency_outage", 0.12),
    ("dependency_change", 0.13),
    ("infrastructure", 0.10),
)
"""The kinds of incident and their shares: no culprit, or where the culprit is."""

LAG_BANDS = (
    ("rolling out at onset", 0.30),
    ("ended 0-10 min before", 0.40),
    ("ended 10-45 min before", 0.20),
    ("ended 45-180 min before", 0.10),
)
"""When a culprit (other than an outage) ended, relative to the onset, and how often."""


@dataclass(frozen=True)
class LabelledIncident:
    """One incident of the corpus: what the ranker is given, and the truth.

    Attributes:
        index: Its position in the corpus.
        service: The affected service.
        onset: When the symptom began.
        changes: The change history, shuffled.
        depends_on: The dependency map the ranker is given (10% of edges missing).
        culprit: The id of the change that caused it, or ``None``.
        category: ``none``, ``same_service``, ``dependency_outage``,
            ``dependency_change`` or ``infrastructure``.
        lag: The culprit's timing band (see :data:`LAG_BANDS`), or a note.
        culprit_edge_known: Whether the map given holds the culprit's relation.
        innocent_nearby: For an incident without a culprit: whether an innocent
            related change sits 10 to 120 minutes before the onset.
    """

    index: int
    service: str
    onset: pendulum.DateTime
    changes: tuple[Change, ...]
    depends_on: Mapping[str, tuple[str, ...]]
    culprit: str | None
    category: str
    lag: str
    culprit_edge_known: bool = True
    innocent_nearby: bool = False


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    names = [name for name, _ in weighted]
    weights = [weight for _, weight in weighted]
    return rng.choices(names, weights)[0]


def dependency_graph(
    seed: int = SEED, missing: float = MAP_EDGE_MISSING
) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """Return the true dependency graph and the one the ranker is given (``missing`` edges out)."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible corpus, not a secret
    true: dict[str, tuple[str, ...]] = {}
    for index, app in enumerate(APPS):
        later = APPS[index + 1 :]
        deps = rng.sample(later, k=min(len(later), rng.randint(1, 3)))
        deps += rng.sample(STORES, k=rng.randint(1, 2))
        deps.append(rng.choice(CLUSTERS))
        if rng.random() < 0.5:
            deps.append(rng.choice(VENDORS))
        true[app] = tuple(deps)
    given = {
        app: tuple(dep for dep in deps if rng.random() >= missing) for app, deps in true.items()
    }
    return true, given


class _Builder:
    """Accumulates the changes of one incident with unique ids."""

    def __init__(self, rng: random.Random, onset: pendulum.DateTime) -> None:
        self.rng = rng
        self.onset = onset
        self.changes: list[Change] = []

    def add(
        self,
        kind: ChangeKind,
        service: str,
        *,
        end_before: float,
        duration: float,
        unknown_end: bool = False,
    ) -> Change:
        """Add a change that ended ``end_before`` minutes before the onset (negative: after)."""
        finished = self.onset.add(seconds=round(-end_before * 60))
        started = finished.add(seconds=-round(duration * 60))
        ident = f"{kind.value}-{len(self.changes) + 1:03d}"
        change = Change(
            ident,
            kind,
            service,
            started,
            None if unknown_end else finished,
            source="corpus",
            summary=f"{kind.value.replace('_', ' ')} of {service}",
        )
        self.changes.append(change)
        return change


def _lagged(rng: random.Random, band: str) -> tuple[float, float]:
    """Return ``(end_before, duration)`` in minutes for a culprit in ``band``."""
    if band == "rolling out at onset":
        started_before = rng.uniform(1, 20)
        end_before = -rng.uniform(1, 15)
        return end_before, started_before - end_before
    low, high = {
        "ended 0-10 min before": (0.0, 10.0),
        "ended 10-45 min before": (10.0, 45.0),
        "ended 45-180 min before": (45.0, 180.0),
    }[band]
    return rng.uniform(low, high), rng.uniform(2, 20)


def _change_kind(rng: random.Random) -> ChangeKind:
    return rng.choices(
        (ChangeKind.DEPLOY, ChangeKind.CONFIG, ChangeKind.FEATURE_FLAG), (0.55, 0.25, 0.20)
    )[0]


def _any_kind(rng: random.Random) -> ChangeKind:
    return rng.choices(
        (
            ChangeKind.DEPLOY,
            ChangeKind.CONFIG,
            ChangeKind.FEATURE_FLAG,
            ChangeKind.INFRASTRUCTURE,
            ChangeKind.DEPENDENCY,
        ),
        (0.50, 0.20, 0.15, 0.10, 0.05),
    )[0]


def _service_for(kind: ChangeKind, rng: random.Random, avoid: set[str]) -> str:
    if kind is ChangeKind.INFRASTRUCTURE:
        pool = CLUSTERS + STORES
    elif kind is ChangeKind.DEPENDENCY:
        pool = VENDORS + STORES + APPS
    else:
        pool = APPS + ELSEWHERE
    choices = [name for name in pool if name not in avoid]
    return rng.choice(choices or list(ELSEWHERE))


def _culprit(
    rng: random.Random,
    build: _Builder,
    *,
    category: str,
    service: str,
    true: Mapping[str, tuple[str, ...]],
    given: Mapping[str, tuple[str, ...]],
) -> tuple[Change, str, bool]:
    """Add the culprit; return it, its timing band and whether the given map knows its edge."""
    direct = true[service]
    if category == "same_service":
        band = _pick(rng, LAG_BANDS)
        end_before, duration = _lagged(rng, band)
        unknown = rng.random() < 0.10
        change = build.add(
            _change_kind(rng),
            service,
            end_before=end_before,
            duration=duration,
            unknown_end=unknown,
        )
        return change, band + (" (no recorded end)" if unknown else ""), True
    if category == "dependency_outage":
        apps = [d for d in direct if d in APPS]
        one_hop = [d for d in direct if d not in CLUSTERS]
        if apps and rng.random() < 0.30:  # two hops: a dependency of a dependency
            via = rng.choice(apps)
            # Every dependency of ``via`` may be a cluster or a direct dependency too
            # (seeds 5 and 6 have such a service): then the outage is one hop away.
            # The fallback draws only where the old code raised, so every corpus it
            # could build is unchanged.
            two_hops = [d for d in true[via] if d not in CLUSTERS and d not in direct]
            target = rng.choice(two_hops or one_hop)
        else:
            target = rng.choice(one_hop)
        if rng.random() < 0.75:
            started_before = rng.uniform(2, 60)
            ongoing = rng.random() < 0.6
            end_before = -rng.uniform(5, 120)
            change = build.add(
                ChangeKind.DEPENDENCY,
                target,
                end_before=end_before,
                duration=started_before - end_before,
                unknown_end=ongoing,
            )
            band = "under way at onset"
        else:
            change = build.add(
                ChangeKind.DEPENDENCY,
                target,
                end_before=rng.uniform(0, 20),
                duration=rng.uniform(10, 60),
            )
            band = "ended 0-20 min before"
        return change, band, target in _reachable(given, service)
    if category == "dependency_change":
        apps = [d for d in direct if d in APPS] or [d for d in direct if d in STORES]
        target = rng.choice(apps)
        kind = _change_kind(rng)
    else:  # infrastructure: the cluster it runs on, or a store it uses
        target = rng.choice([d for d in direct if d in CLUSTERS or d in STORES])
        kind = ChangeKind.INFRASTRUCTURE
    band = _pick(rng, LAG_BANDS)
    end_before, duration = _lagged(rng, band)
    change = build.add(kind, target, end_before=end_before, duration=duration)
    return change, band, target in _reachable(given, service)


def _reachable(graph: Mapping[str, tuple[str, ...]], service: str) -> set[str]:
    """Return every service ``service`` depends on, directly or not, in ``graph``."""
    seen: set[str] = set()
    frontier = [service]
    while frontier:
        current = frontier.pop()
        for dep in graph.get(current, ()):
            if dep not in seen and dep != service:
                seen.add(dep)
                frontier.append(dep)
    return seen


def _everyday_decoys(rng: random.Random, build: _Builder, service: str, related: set[str]) -> None:
    """Add what surrounds every incident: changes after the onset, old deploys, neighbours."""
    # Just after the onset: responders deploying, a flag flipped, a neighbour's deploy.
    for _ in range(rng.randint(1, 3)):
        kind = _change_kind(rng)
        target = service if rng.random() < 0.5 else _service_for(kind, rng, related)
        began_after, duration = rng.uniform(0.5, 30), rng.uniform(0.5, 10)
        build.add(kind, target, end_before=-(began_after + duration), duration=duration)
    # Old deploys of the same service: hours to days before.
    for _ in range(rng.randint(1, 3)):
        build.add(
            ChangeKind.DEPLOY,
            service,
            end_before=rng.uniform(180, 72 * 60),
            duration=rng.uniform(2, 20),
        )
    # Unrelated changes shortly before (the "latest change" a naive tool blames).
    for _ in range(rng.randint(1, 4)):
        kind = _any_kind(rng)
        target = _service_for(kind, rng, related)
        if rng.random() < 0.2:
            build.add(kind, target, end_before=-rng.uniform(1, 15), duration=rng.uniform(3, 20))
        else:
            build.add(kind, target, end_before=rng.uniform(0, 10), duration=rng.uniform(1, 20))
    # An outage of a vendor the service does not use, under way at the onset.
    if rng.random() < 0.10:
        vendor = rng.choice([v for v in VENDORS if v not in related] or list(VENDORS))
        build.add(
            ChangeKind.DEPENDENCY,
            vendor,
            end_before=-rng.uniform(10, 60),
            duration=rng.uniform(20, 90),
        )


def _related_decoys(
    rng: random.Random,
    build: _Builder,
    service: str,
    true: Mapping[str, tuple[str, ...]],
    *,
    has_culprit: bool,
) -> bool:
    """Add innocent changes to the service and its dependencies; say if one is near the onset."""
    changeable = [d for d in true[service] if d in APPS or d in STORES]
    innocent_nearby = False
    if has_culprit and rng.random() < 0.30:
        # An innocent same-service change shortly before, sometimes closer than the culprit.
        build.add(
            _change_kind(rng), service, end_before=rng.uniform(5, 120), duration=rng.uniform(1, 15)
        )
    if not has_culprit and rng.random() < 0.30:
        # No culprit, yet a related change sits shortly before: timing alone cannot tell.
        innocent_nearby = True
        neighbours = [*changeable, *(d for d in true[service] if d in CLUSTERS)]
        target = rng.choice(neighbours) if rng.random() < 0.5 else service
        kind = ChangeKind.INFRASTRUCTURE if target in CLUSTERS else _change_kind(rng)
        build.add(kind, target, end_before=rng.uniform(10, 120), duration=rng.uniform(1, 15))
    # Innocent changes to dependencies in the six hours before (at least two hours
    # before when there is no culprit: "only far changes" for most of those incidents).
    if rng.random() < 0.40:
        earliest = 10 if has_culprit else 120
        for _ in range(rng.randint(1, 2)):
            build.add(
                _change_kind(rng),
                rng.choice(changeable),
                end_before=rng.uniform(earliest, 360),
                duration=rng.uniform(2, 20),
            )
    return innocent_nearby


def _background(rng: random.Random, build: _Builder, related: set[str], total: int) -> None:
    """Fill up to ``total`` changes with the rest of the day's changes elsewhere."""
    while len(build.changes) < total:
        kind = _any_kind(rng)
        target = _service_for(kind, rng, related)
        end_before = rng.uniform(-60, 24 * 60)
        build.add(kind, target, end_before=end_before, duration=rng.uniform(1, 30))


def build_corpus(
    size: int, seed: int = SEED, missing: float = MAP_EDGE_MISSING
) -> list[LabelledIncident]:
    """Return ``size`` labelled incidents, the same ones for the same seed and ``missing``."""
    true, given = dependency_graph(seed, missing)
    base = pendulum.datetime(2026, 1, 5, 0, 0, tz="UTC")
    corpus: list[LabelledIncident] = []
    for index in range(size):
        rng = random.Random(seed * 1_000_003 + index)  # noqa: S311 - reproducible
        onset = base.add(days=index, minutes=rng.randint(0, 24 * 60 - 1))
        service = rng.choice(APPS)
        category = _pick(rng, CATEGORIES)
        build = _Builder(rng, onset)
        culprit: Change | None = None
        lag = "no culprit"
        known = True
        if category != "none":
            culprit, lag, known = _culprit(
                rng, build, category=category, service=service, true=true, given=given
            )
        total = rng.randint(10, 40)
        related = {service, *_reachable(true, service)}  # direct and indirect
        _everyday_decoys(rng, build, service, related)
        nearby = _related_decoys(rng, build, service, true, has_culprit=culprit is not None)
        _background(rng, build, related, total)
        changes = list(build.changes)
        rng.shuffle(changes)
        corpus.append(
            LabelledIncident(
                index=index,
                service=service,
                onset=onset,
                changes=tuple(changes),
                depends_on=given,
                culprit=None if culprit is None else culprit.id,
                category=category,
                lag=lag,
                culprit_edge_known=known,
                innocent_nearby=nearby,
            )
        )
    return corpus
