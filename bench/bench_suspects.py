"""Ranked suspects: ``rank_suspects`` against two naive rankers on a labelled corpus.

The corpus (``suspects_corpus.py``) is generated from a fixed seed: incidents with 10 to 40
changes each, labelled with the change that caused them or with none. Three rankers see
the same changes, the same onset and the affected service:

- ``rank_suspects`` with its defaults (6 h lookback, ``min_score`` 0.3), given the
  dependency map with 10% of its edges missing;
- "latest change before the onset": what users complain about;
- "latest deploy of the affected service", however old.

Reported: top-1 and top-3 accuracy over the incidents that have a culprit, and how well
each says "no suspect": recall (said when there is none), precision (right when said), and
how often it is said when there is a culprit. The naive rankers only say it when they have
nothing at all to name.

Speed: ``rank_suspects`` over one incident's history of 1,000, 10,000 and 100,000 changes
(``suspects_speed.py``), each run in a fresh interpreter as a user's script runs it
(``_fresh.py``: the history and its ``Change`` objects are built in the untimed setup),
then warm in the same process, with the peak resident memory of the timed part. Beside
it, in the same interleaved rounds, the floor: the same score formula and partition over
plain tuples ``(started, end, relatedness, prior, outage)``, then a sort, in its own
fresh process that holds only those tuples. Building the ``Change`` objects from the
plain rows a source returns is timed apart, since a user pays it too. Goal: at 100,000
changes, ``rank_suspects`` at most 10x the floor, fresh (best and median) and warm.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from _common import BENCH_DIR, Result, markdown_table, median, ratio_text, seconds_text
from _fresh import Run, interleaved, megabytes
from suspects_corpus import (
    APPS,
    CATEGORIES,
    CLUSTERS,
    LAG_BANDS,
    MAP_EDGE_MISSING,
    SEED,
    STORES,
    VENDORS,
    build_corpus,
    dependency_graph,
)
from suspects_oracle import TRAINING_SEEDS, TRAINING_SIZE, Oracle, train

from incidentkit import Change, ChangeKind
from incidentkit.analysis._suspects import (
    DEFAULT_MIN_SCORE,
    SuspectPolicy,
    SuspectRanking,
    _suspect_key,
    rank_suspects,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from suspects_corpus import LabelledIncident

SIZE = 1000
QUICK_SIZE = 300
QUICK_TRAINING = 3
"""Training seeds of the oracle in a quick run (all of :data:`TRAINING_SEEDS` otherwise)."""
GOAL_TOP1 = 0.90
MISS_EXAMPLES = 8
SENSITIVITY = ((900.0, 0.25), (3600.0, 0.25), (7200.0, 0.25), (1800.0, 0.1), (3600.0, 0.1))
"""Other ``(half_life, unrelated_weight)`` pairs tried: how much the figures hang on them."""

SPEED_SIZES = ((1_000, 9, 10), (10_000, 7, 5), (100_000, 5, 2))
"""``(changes, fresh runs, warm repetitions per run)`` of the speed table."""
QUICK_SPEED_SIZES = ((1_000, 3, 3), (10_000, 3, 2))
GOAL_SPEED = 10.0
"""``rank_suspects`` at 100,000 changes: at most this many times the floor."""
GOAL_SPEED_SIZE = 100_000


@dataclass
class _Tally:
    """What one ranker got right and wrong over the corpus."""

    culprits: int = 0
    top1: int = 0
    top1_named: int = 0
    top3: int = 0
    without: int = 0
    said_none: int = 0
    said_none_right: int = 0
    said_none_with_culprit: int = 0
    groups: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))

    def add(self, incident: LabelledIncident, ranked: Sequence[Change], *, none: bool) -> bool:
        """Count one incident; return whether the culprit (if any) was ranked first."""
        if none:
            self.said_none += 1
        if incident.culprit is None:
            self.without += 1
            self.said_none_right += none
            key = (
                "no culprit, innocent related change nearby"
                if incident.innocent_nearby
                else ("no culprit, only unrelated or far changes")
            )
            self.groups[key][0] += 1
            self.groups[key][1] += none
            return False
        self.culprits += 1
        self.said_none_with_culprit += none
        ids = [change.id for change in ranked]
        first = bool(ids) and ids[0] == incident.culprit
        self.top1 += first
        self.top1_named += first and not none
        self.top3 += incident.culprit in ids[:3]
        for key in (
            f"category: {incident.category}",
            f"timing: {incident.lag.removesuffix(' (no recorded end)')}",
            f"map knows the culprit's relation: {'yes' if incident.culprit_edge_known else 'no'}",
        ):
            self.groups[key][0] += 1
            self.groups[key][1] += first
        return first


def _share(part: int, whole: int) -> float:
    return part / whole if whole else float("nan")


def _pct(value: float) -> str:
    return "n/a" if value != value else f"{value:.1%}"  # noqa: PLR0124 - NaN check


def _latest_change(incident: LabelledIncident) -> list[Change]:
    """Rank every change that began by the onset, latest start first."""
    before = [c for c in incident.changes if c.started <= incident.onset]
    return sorted(before, key=lambda c: (c.started, c.id), reverse=True)


def _latest_deploy(incident: LabelledIncident) -> list[Change]:
    """Rank the affected service's deploys that began by the onset, latest first."""
    return [
        c
        for c in _latest_change(incident)
        if c.kind is ChangeKind.DEPLOY and c.service == incident.service
    ]


def _rank(incident: LabelledIncident, policy: SuspectPolicy | None = None) -> SuspectRanking:
    return rank_suspects(
        incident.changes,
        incident.onset,
        services=[incident.service],
        depends_on=incident.depends_on,
        policy=policy,
    )


def _dominated(incident: LabelledIncident, ranking: SuspectRanking) -> bool:
    """Whether another change is at least as related (in the map given) and closer in time.

    No ranker that only looks at time and relatedness, and prefers closer and more related
    changes, can put such a culprit first.
    """
    found = [s for s in ranking.suspects if s.change.id == incident.culprit]
    if not found:
        return True
    culprit = found[0]
    related = culprit.reasons[1].weight
    return any(
        other.reasons[1].weight >= related and other.gap < culprit.gap
        for other in ranking.suspects
        if other is not culprit
    )


def _sensitivity(corpus: Sequence[LabelledIncident]) -> list[list[str]]:
    """Rank the corpus again with other weights: top-1 and "no suspect" recall, precision."""
    rows: list[list[str]] = []
    for half_life, unrelated in SENSITIVITY:
        policy = SuspectPolicy(half_life=half_life, unrelated_weight=unrelated)
        tally = _Tally()
        for incident in corpus:
            ranking = _rank(incident, policy)
            tally.add(incident, [s.change for s in ranking.suspects], none=ranking.no_suspect)
        rows.append(
            [
                f"{half_life / 60:.0f} min",
                f"{unrelated:g}",
                _pct(_share(tally.top1, tally.culprits)),
                _pct(_share(tally.top3, tally.culprits)),
                _pct(_share(tally.said_none_right, tally.without)),
                _pct(_share(tally.said_none_right, tally.said_none)),
            ]
        )
    return rows


def _describe_miss(incident: LabelledIncident, ranking: SuspectRanking) -> str:
    found = {s.change.id: (position, s) for position, s in enumerate(ranking.suspects)}
    culprit = incident.culprit or ""
    where = found.get(culprit)
    first = ranking.suspects[0] if ranking.suspects else None
    if where is None:
        placed = "not ranked (listed as too old or after the onset)"
    else:
        placed = f"ranked {where[0] + 1}: {where[1].describe()}"
    winner = first.describe() if first is not None else "nothing"
    return (
        f"- incident {incident.index} ({incident.service}, {incident.category}, "
        f"{incident.lag}): culprit {placed}. Ranked first: {winner}."
    )


def _breakdown_rows(tallies: dict[str, _Tally]) -> list[list[str]]:
    """Return the breakdown: by category, timing, map, and kind of incident without one."""
    group_rows: list[list[str]] = []
    group_keys = sorted(
        {key for tally in tallies.values() for key in tally.groups},
        key=lambda k: (not k.startswith("category"), not k.startswith("timing"), k),
    )
    for key in group_keys:
        total = tallies["scorer"].groups[key][0]
        if key.startswith("no culprit"):
            cells = [_pct(_share(tallies[n].groups[key][1], total)) for n in tallies]
            group_rows.append([key + ' (share saying "no suspect")', str(total), *cells])
        else:
            cells = [_pct(_share(tallies[n].groups[key][1], total)) for n in tallies]
            group_rows.append([key + " (top-1)", str(total), *cells])

    return group_rows


def _limits(dominated: int, culprits: int) -> str:
    """Say what no ranker going by time and relatedness alone could get right."""
    ceiling = 1 - _share(dominated, culprits)
    return (
        f"In {dominated} of the {culprits} incidents with a culprit "
        f"({_share(dominated, culprits):.1%}), another change is at least as related "
        "(in the map given) and closer to the onset: no ranker that goes by time and "
        f"relatedness alone can put those culprits first, so {ceiling:.1%} is a ceiling for "
        "such rankers on this corpus. The other misses trade time against relatedness "
        "(which kinds of incident they fall in: see the breakdown). An unrelated change scores at "
        f"most {SuspectPolicy().unrelated_weight:g} under the defaults, below `min_score` "
        f'{DEFAULT_MIN_SCORE}: "no suspect" is said whenever only unrelated or far changes '
        "exist, by design rather than by luck."
    )


def _sensitivity_section(corpus: Sequence[LabelledIncident], scorer: dict[str, float]) -> str:
    """Return the sensitivity table: the defaults, then the other weights tried."""
    table = markdown_table(
        [
            "half_life",
            "unrelated_weight",
            "Top-1",
            "Top-3",
            '"No suspect" recall',
            '"No suspect" precision',
        ],
        [
            [
                f"{SuspectPolicy().half_life / 60:.0f} min (default)",
                f"{SuspectPolicy().unrelated_weight:g} (default)",
                _pct(scorer["top1"]),
                _pct(scorer["top3"]),
                _pct(scorer["none_recall"]),
                _pct(scorer["none_precision"]),
            ],
            *_sensitivity(corpus),
        ],
    )
    return table + (
        "\n\nThe same corpus ranked again with other weights (grace, kinds and the rest at "
        "their defaults). These are shown to say how much the figures hang on the weights, "
        "not to pick them: weights picked here would be fitted to a corpus we generated."
    )


# -- speed -----------------------------------------------------------------------------

_HISTORY = """
import sys
sys.path.insert(0, {bench!r})
import suspects_speed as workload
rows = workload.history({n}, {services!r})
depends_on = {depends_on!r}
result = None
"""
_CHANGES = """
from incidentkit import Change, ChangeKind
from incidentkit.analysis import rank_suspects
kinds = {kind.value: kind for kind in ChangeKind}
"""
_CHANGES_FROM_ROWS = "[Change(i, kinds[k], s, st, f, source='bench') for i, k, s, st, f in rows]"
_BUILD = f"global result\nresult = {_CHANGES_FROM_ROWS}"
_RANK = (
    "global result\nresult = rank_suspects(changes, workload.ONSET, "
    "services=[workload.SERVICE], depends_on=depends_on)"
)


def _speed_cases(n: int) -> dict[str, tuple[str, str]]:
    """Return the fresh-process cases at ``n`` changes: rank, floor, building the changes."""
    _, given = dependency_graph(SEED)
    history = _HISTORY.format(
        bench=str(BENCH_DIR), n=n, services=(*APPS, *STORES, *CLUSTERS, *VENDORS), depends_on=given
    )
    changes = history + _CHANGES
    return {
        "rank": (changes + f"changes = {_CHANGES_FROM_ROWS}\n", _RANK),
        "floor": (
            history + "changes = workload.plain(rows, depends_on)\n",
            "global result\nresult = workload.floor(changes)",
        ),
        "build": (changes, _BUILD),
    }


def _median_fresh(runs: Sequence[Run]) -> float:
    return median([r.seconds for r in runs])


def _best_fresh(runs: Sequence[Run]) -> float:
    return min(r.seconds for r in runs)


def _best_warm(runs: Sequence[Run]) -> float:
    return min(w for r in runs for w in r.warm)


def _peak(runs: Sequence[Run]) -> str:
    peaks = median([float(r.peak_rss) for r in runs])
    adds = median([float(r.added_rss) for r in runs])
    return f"{megabytes(peaks)} (+{megabytes(adds)})"


def _speed(*, quick: bool) -> tuple[str, list[str], list[str], dict[str, object]]:
    """Time ``rank_suspects`` against its floor in fresh processes; return the section."""
    rows: list[list[str]] = []
    memory: list[list[str]] = []
    figures: dict[str, object] = {}
    verdicts: list[str] = []
    missed: list[str] = []
    for n, runs, warm in QUICK_SPEED_SIZES if quick else SPEED_SIZES:
        measured = interleaved(_speed_cases(n), runs=runs, warm=warm)
        rank, floor, build = measured["rank"], measured["floor"], measured["build"]
        best = _best_fresh(rank) / _best_fresh(floor)
        middle = _median_fresh(rank) / _median_fresh(floor)
        warmed = _best_warm(rank) / _best_warm(floor)
        rows.append(
            [
                f"{n:,}",
                f"{seconds_text(_best_fresh(rank))} / {seconds_text(_median_fresh(rank))}",
                seconds_text(_best_warm(rank)),
                f"{seconds_text(_best_fresh(floor))} / {seconds_text(_median_fresh(floor))}",
                seconds_text(_best_warm(floor)),
                f"**{ratio_text(best)}** / {ratio_text(middle)}",
                ratio_text(warmed),
                f"{_best_fresh(rank) / n * 1e6:.2f} µs",
                f"{seconds_text(_best_fresh(build))} ({_best_fresh(build) / n * 1e6:.1f} µs each)",
            ]
        )
        memory.append([f"{n:,}", _peak(rank), _peak(floor), _peak(build)])
        figures[str(n)] = {
            "rank_fresh": [r.seconds for r in rank],
            "rank_warm": [w for r in rank for w in r.warm],
            "floor_fresh": [r.seconds for r in floor],
            "floor_warm": [w for r in floor for w in r.warm],
            "build_fresh": [r.seconds for r in build],
            "rank_peak_rss": [r.peak_rss for r in rank],
            "floor_peak_rss": [r.peak_rss for r in floor],
            "ratio_best": best,
            "ratio_median": middle,
            "ratio_warm": warmed,
        }
        if n == GOAL_SPEED_SIZE:
            for when, ratios, said in (
                ("fresh", (best, middle), f"best of {runs} and median"),
                ("warm", (warmed,), "best warm repetition"),
            ):
                figures_text = " and ".join(ratio_text(r) for r in ratios)
                worst = max(ratios)
                if worst <= GOAL_SPEED:
                    verdicts.append(
                        f"**Goal met** ({when}): `rank_suspects` of {n:,} changes is "
                        f"{figures_text} the floor ({said}; goal: at most {GOAL_SPEED:g}x)."
                    )
                else:
                    sentence = (
                        f"**Goal missed** ({when}): `rank_suspects` of {n:,} changes is "
                        f"{figures_text} the floor ({said}), over the goal of {GOAL_SPEED:g}x "
                        f"(it would have to be {worst / GOAL_SPEED:.2f} times faster)."
                    )
                    verdicts.append(sentence)
                    missed.append(sentence)
    if not verdicts:
        verdicts.append(
            f"No verdict: the goal is judged at {GOAL_SPEED_SIZE:,} changes, which a `--quick` "
            "run leaves out."
        )
    table = markdown_table(
        [
            "Changes",
            "`rank_suspects` fresh (best / median)",
            "warm (best)",
            "Floor fresh (best / median)",
            "Floor warm (best)",
            "Ratio fresh (best / median)",
            "Ratio warm",
            "Per change (fresh)",
            "Building the `Change` objects (fresh, best)",
        ],
        rows,
    )
    memory_table = markdown_table(
        [
            "Changes",
            "`rank_suspects`: peak RSS (+ added by the call)",
            "Floor: peak RSS (+ added)",
            "Building the changes: peak RSS (+ added)",
        ],
        memory,
    )
    body = (
        "One incident's history (`bench/suspects_speed.py`, seed 1): every kind of change to "
        "the corpus's 35 services, ending from 30 min after the onset to 7 h before it and "
        "running 1 to 30 min, a tenth with no recorded end; about 85% are under way in the "
        "6-hour window, 3% begin after the onset, 12% ended before the window. The affected "
        "service is given with the corpus's dependency map. Each figure is a fresh "
        "interpreter (`bench/_fresh.py`): the setup, untimed, builds the history and, for "
        "`rank_suspects`, its `Change` objects; the timed part is the call alone, its result "
        "kept (a user keeps the ranking); then the same call again warm in that process, "
        "each result replacing the one before (so a warm call runs beside the previous "
        "result, which is freed when the new one is assigned, as in a process that ranks "
        "again). "
        "The three cases run in interleaved rounds, their order rotating.\n\n"
        "**The floor** is what a bare Python loop costs for the same answer's numbers: the "
        "same partition (after the onset, too old) and score formula over plain tuples "
        "`(started, end, relatedness, prior, outage)`, then a sort by score, gap and "
        "start; the relatedness and the end of a change with no recorded end are worked out "
        "in its setup. It builds no reason, no words and no object but the tuples sorted, "
        "and its process holds nothing else. `rank_suspects` builds every `Suspect` with "
        "its three reasons and their words, and sorts the changes set aside.\n\n"
        f"{table}\n\n{' '.join(verdicts)}\n\n"
        "Peak resident memory during the timed part, median of the runs (the whole "
        "process's, so the interpreter and the setup's objects are in it; in parentheses "
        "what the call added at its peak):\n\n"
        f"{memory_table}"
    )
    return body, verdicts, missed, figures


MISSING_EDGES = 0.20
"""The share of the map's edges missing in the "outside the map" section (issue 13)."""
GOAL_MAP_TOP1 = 0.90
GOAL_MAP_TOP3 = 0.97
GOAL_MAP_NONE = 0.80


def _by_score(ranking: SuspectRanking) -> list[Change]:
    """The ranking's suspects by score alone: the order before near changes were moved up."""
    return [s.change for s in sorted(ranking.suspects, key=_suspect_key)]


OTHER_SEEDS = (4, 5, 6, 7, 8, 9, 10)
"""Other seeds of the same generator, ranked with 20% of the map's edges missing: how much
the figures hang on one seed. Held out: seeds 1 to 3 were used to choose between variants
of the ranking's model; neither these nor the benchmark's seed were."""


def _held_out_rows(size: int, oracle: Oracle, figures: dict[str, float]) -> list[list[str]]:
    """``rank_suspects`` and the oracle on :data:`OTHER_SEEDS`, then the pooled figures."""
    rows: list[list[str]] = []
    pooled = [0] * 8
    for seed in OTHER_SEEDS:
        counts = [0] * 8  # culprits, top-1, top-3, without, none right; oracle top-1, 3, none
        for incident in build_corpus(size, seed=seed, missing=MISSING_EDGES):
            ranking = _rank(incident)
            ids = [s.change.id for s in ranking.suspects]
            ranked, none = oracle.rank(incident)
            best = [change.id for change in ranked[:3]]
            if incident.culprit is None:
                counts[3] += 1
                counts[4] += ranking.no_suspect
                counts[7] += none
                continue
            counts[0] += 1
            counts[1] += bool(ids) and ids[0] == incident.culprit
            counts[2] += incident.culprit in ids[:3]
            counts[5] += bool(best) and best[0] == incident.culprit
            counts[6] += incident.culprit in best
        pooled = [a + b for a, b in zip(pooled, counts, strict=True)]
        rows.append(_held_out_row(str(seed), counts))
    rows.append(_held_out_row("**all held out**", pooled))
    figures["held_out_top1"] = _share(pooled[1], pooled[0])
    figures["held_out_top3"] = _share(pooled[2], pooled[0])
    figures["held_out_none"] = _share(pooled[4], pooled[3])
    figures["held_out_oracle_top1"] = _share(pooled[5], pooled[0])
    figures["held_out_oracle_top3"] = _share(pooled[6], pooled[0])
    return rows


def _held_out_row(label: str, counts: Sequence[int]) -> list[str]:
    culprits, top1, top3, without, none_right, o_top1, o_top3, o_none = counts
    return [
        label,
        _pct(_share(top1, culprits)),
        _pct(_share(top3, culprits)),
        _pct(_share(none_right, without)),
        _pct(_share(o_top1, culprits)),
        _pct(_share(o_top3, culprits)),
        _pct(_share(o_none, without)),
    ]


def _reachable(figures: Mapping[str, float]) -> str:
    """Say whether the goals are within the oracle's reach on the benchmark's seed."""
    parts: list[str] = []
    for name, key, goal in (
        ("top-1", "oracle_top1", GOAL_MAP_TOP1),
        ("top-3", "oracle_top3", GOAL_MAP_TOP3),
    ):
        value = figures[key]
        scorer = figures[f"scorer_{key.removeprefix('oracle_')}"]
        reach = "within its reach" if value >= goal else "**out of its reach**"
        parts.append(
            f"{name} {value:.1%} (goal {goal:.0%}: {reach}; `rank_suspects` "
            f"{scorer:.1%}, {(value - scorer) * 100:.1f} points under it)"
        )
    return "Oracle on the benchmark's seed: " + "; ".join(parts) + "."


def _oracle_row(
    corpus: Sequence[LabelledIncident], oracle: Oracle, figures: dict[str, float]
) -> list[str]:
    """The oracle's row of the outside-the-map table (its figures kept in ``figures``)."""
    culprits = top1 = top3 = without = none_right = unmapped = unmapped_top3 = 0
    for incident in corpus:
        ranked, none = oracle.rank(incident)
        ids = [change.id for change in ranked[:3]]
        if incident.culprit is None:
            without += 1
            none_right += none
            continue
        culprits += 1
        top1 += bool(ids) and ids[0] == incident.culprit
        top3 += incident.culprit in ids
        if not incident.culprit_edge_known:
            unmapped += 1
            unmapped_top3 += incident.culprit in ids
    figures["oracle_top1"] = _share(top1, culprits)
    figures["oracle_top3"] = _share(top3, culprits)
    figures["oracle_none"] = _share(none_right, without)
    return [
        _ORACLE_LABEL,
        _pct(figures["oracle_top1"]),
        _pct(figures["oracle_top3"]),
        f"{_pct(_share(unmapped_top3, unmapped))} of {unmapped}",
        _pct(figures["oracle_none"]),
    ]


_ORACLE_LABEL = "oracle: Bayes ranking from the generator's distributions"
_ORACLE_TEXT = (
    "The oracle (`suspects_oracle.py`) is the best a ranking can do from what a responder "
    "is given: for each change its kind, where its service is in the map given (the "
    "affected one, so many hops, or outside), when it began and ended relative to the "
    "onset, or that no end was recorded. It knows the generator's distributions of these "
    "among culprits and among innocent changes (counted over {n:,} incidents of seeds "
    "{first} to {last}, none of them reported here, with the same share of edges missing), "
    'ranks by the likelihood ratio, and says "no suspect" where most training incidents '
    "with as much evidence had none. It is an estimate of the ceiling, not a proof: "
    "features are binned and each change is scored on its own. What it misses, no ranking "
    "given these features can find: a culprit whose features are those of an innocent "
    "change beside it (an innocent same-service deploy closer to the onset), or one the "
    "map does not reach among changes elsewhere just as near."
)


def _outside_map_section(size: int, oracle: Oracle) -> tuple[str, list[str], dict[str, float]]:
    """Rank a corpus whose map misses 20% of the edges, with and without naming near changes."""
    corpus = build_corpus(size, missing=MISSING_EDGES)
    rows: list[list[str]] = []
    figures: dict[str, float] = {}
    orders: dict[str, Callable[[SuspectRanking], list[Change]]] = {
        "`rank_suspects`": lambda r: [s.change for s in r.suspects],
        "by score alone (before near changes were named)": _by_score,
    }
    for label, order in orders.items():
        culprits = top1 = top3 = without = none_right = 0
        unmapped = unmapped_top3 = 0
        for incident in corpus:
            ranking = _rank(incident)
            ids = [change.id for change in order(ranking)]
            if incident.culprit is None:
                without += 1
                none_right += ranking.no_suspect
                continue
            culprits += 1
            top1 += bool(ids) and ids[0] == incident.culprit
            top3 += incident.culprit in ids[:3]
            if not incident.culprit_edge_known:
                unmapped += 1
                unmapped_top3 += incident.culprit in ids[:3]
        key = "scorer" if label == "`rank_suspects`" else "score_only"
        figures[f"{key}_top1"] = _share(top1, culprits)
        figures[f"{key}_top3"] = _share(top3, culprits)
        figures[f"{key}_none"] = _share(none_right, without)
        figures[f"{key}_unmapped_top3"] = _share(unmapped_top3, unmapped)
        rows.append(
            [
                label,
                _pct(_share(top1, culprits)),
                _pct(_share(top3, culprits)),
                f"{_pct(_share(unmapped_top3, unmapped))} of {unmapped}",
                _pct(_share(none_right, without)),
            ]
        )
    rows.append(_oracle_row(corpus, oracle, figures))
    missed: list[str] = []
    for name, value, goal in (
        ("top-1", figures["scorer_top1"], GOAL_MAP_TOP1),
        ("top-3", figures["scorer_top3"], GOAL_MAP_TOP3),
        ('"no suspect" right', figures["scorer_none"], GOAL_MAP_NONE),
    ):
        if value < goal:
            missed.append(
                f"With {MISSING_EDGES:.0%} of the map's edges missing, {name} is {value:.1%}, "
                f"under the goal of {goal:.0%}."
            )
    text = "\n\n".join(
        [
            (
                f"The same generator with {MISSING_EDGES:.0%} of the map's edges missing "
                f"({size:,} incidents, seed {SEED}). When no change scores {DEFAULT_MIN_SCORE}, "
                "`rank_suspects` names the changes under way at the onset or ended within the "
                "grace period, whatever their service, after the best-scoring change and "
                "alternating with the other changes by score "
                '("nearest unrelated"); "by score alone" is the same ranking before that step. '
                '"No suspect" is the ranking\'s `no_suspect` (the same in both rows). Goals '
                f"(issue 13): top-1 at least {GOAL_MAP_TOP1:.0%}, top-3 at least "
                f'{GOAL_MAP_TOP3:.0%}, "no suspect" right in at least {GOAL_MAP_NONE:.0%} of the '
                "incidents without a culprit."
            ),
            _ORACLE_TEXT.format(
                n=len(TRAINING_SEEDS) * TRAINING_SIZE,
                first=TRAINING_SEEDS[0],
                last=TRAINING_SEEDS[-1],
            ),
            markdown_table(
                [
                    "Order",
                    "Top-1",
                    "Top-3",
                    "Top-3, culprit's edge missing from the map",
                    '"No suspect" right',
                ],
                rows,
            ),
            "\n\n".join(f"**Goal missed**: {line}" for line in missed) or "**Goals met.**",
            _reachable(figures),
            (
                "Held out: `rank_suspects` and the oracle on other seeds of the same "
                "generator, 20% of the edges missing. Seeds 1 to 3 were used to choose the "
                "model's changes for issue 13 (changes outside the map sharing the weight of a "
                "missing edge; then the heavy-tailed proximity, infrastructure one hop less and "
                "dependencies' incidents sharing apart); the seeds here and the benchmark's "
                "were not. A held-out seed of the same generator only guards against one "
                "seed's luck, not against fitting the generator: real incident data is the "
                "test of that."
            ),
            markdown_table(
                [
                    "Seed",
                    "Top-1",
                    "Top-3",
                    '"No suspect" right',
                    "Oracle top-1",
                    "Oracle top-3",
                    'Oracle "no suspect" right',
                ],
                _held_out_rows(size, oracle, figures),
            ),
        ]
    )
    return text, missed, figures


def run(*, quick: bool = False) -> Result:
    """Build the corpus, rank every incident three ways, and report accuracy."""
    size = QUICK_SIZE if quick else SIZE
    corpus = build_corpus(size)
    rankers: dict[str, Callable[[LabelledIncident], list[Change]]] = {
        "latest": _latest_change,
        "deploy": _latest_deploy,
    }
    oracle = train(MAP_EDGE_MISSING, TRAINING_SEEDS[:QUICK_TRAINING] if quick else TRAINING_SEEDS)
    tallies = {name: _Tally() for name in ("scorer", *rankers, "oracle")}
    misses: list[str] = []
    seconds = 0.0
    changes = 0
    dominated = 0
    for incident in corpus:
        began = time.perf_counter()
        ranking = _rank(incident)
        seconds += time.perf_counter() - began
        changes += len(incident.changes)
        first = tallies["scorer"].add(
            incident, [s.change for s in ranking.suspects], none=ranking.no_suspect
        )
        if incident.culprit is not None:
            dominated += _dominated(incident, ranking)
            if not first and len(misses) < MISS_EXAMPLES:
                misses.append(_describe_miss(incident, ranking))
        for name, ranker in rankers.items():
            ranked = ranker(incident)
            tallies[name].add(incident, ranked, none=not ranked)
        ranked, none = oracle.rank(incident)
        tallies["oracle"].add(incident, ranked, none=none)

    scorer = tallies["scorer"]
    labels = {
        "scorer": "`rank_suspects` (defaults)",
        "latest": "latest change before the onset",
        "deploy": "latest deploy of the affected service",
        "oracle": _ORACLE_LABEL,
    }
    base_top1 = _share(scorer.top1, scorer.culprits)
    rows: list[list[str]] = []
    figures: dict[str, dict[str, float]] = {}
    for name, tally in tallies.items():
        top1 = _share(tally.top1, tally.culprits)
        figure = {
            "top1": top1,
            "top1_named": _share(tally.top1_named, tally.culprits),
            "top3": _share(tally.top3, tally.culprits),
            "none_recall": _share(tally.said_none_right, tally.without),
            "none_precision": _share(tally.said_none_right, tally.said_none),
            "none_with_culprit": _share(tally.said_none_with_culprit, tally.culprits),
        }
        figures[name] = figure
        versus = (
            "—"
            if name == "scorer"
            else f"{(top1 - base_top1) * 100:+.1f} points ({_share(tally.top1, scorer.top1):.2f}x)"
        )
        rows.append(
            [
                labels[name],
                _pct(figure["top1"]),
                _pct(figure["top1_named"]),
                _pct(figure["top3"]),
                _pct(figure["none_recall"]),
                _pct(figure["none_precision"]),
                _pct(figure["none_with_culprit"]),
                versus,
            ]
        )

    met = base_top1 >= GOAL_TOP1
    named = figures["scorer"]["top1_named"]
    if met:
        sentence = (
            f"**Goal met**: `rank_suspects` ranks the culprit first in {base_top1:.1%} of the "
            f"{scorer.culprits} incidents that have one (goal: at least {GOAL_TOP1:.0%}); "
            f"{named:.1%} counting only those where it also names it (score at least "
            f"{DEFAULT_MIN_SCORE})."
        )
    else:
        sentence = (
            f"**Goal missed**: `rank_suspects` ranks the culprit first in {base_top1:.1%} of the "
            f"{scorer.culprits} incidents that have one, {(GOAL_TOP1 - base_top1) * 100:.1f} "
            f"points short of the {GOAL_TOP1:.0%} goal ({named:.1%} counting only those where "
            f"it also names it, with a score of at least {DEFAULT_MIN_SCORE})."
        )
    latest = figures["latest"]["top1"]
    deploy = figures["deploy"]["top1"]
    comparison = (
        f"Against the naive rankers on the same incidents: top-1 {base_top1:.1%} against "
        f"{latest:.1%} for the latest change and {deploy:.1%} for the latest deploy of the "
        f'affected service; those two never say "no suspect" while there is any change '
        f"(respectively any deploy of the service) before the onset, so they blame a change "
        f"in every incident without a culprit."
    )

    group_rows = _breakdown_rows(tallies)

    limits = _limits(dominated, scorer.culprits)
    speed, _, speed_missed, speed_figures = _speed(quick=quick)
    outside_oracle = train(
        MISSING_EDGES, TRAINING_SEEDS[:QUICK_TRAINING] if quick else TRAINING_SEEDS
    )
    outside, outside_missed, outside_figures = _outside_map_section(size, outside_oracle)
    sensitivity = _sensitivity_section(corpus, figures["scorer"])
    mix = ", ".join(f"{name.replace('_', ' ')} {share:.0%}" for name, share in CATEGORIES)
    lags = ", ".join(f"{name} {share:.0%}" for name, share in LAG_BANDS)
    return Result(
        name="suspects",
        title=f"Ranked suspects ({size:,} labelled incidents)",
        setup=[
            (
                f"Corpus: `bench/suspects_corpus.py`, seed {SEED}, {size:,} generated incidents "
                f"({changes:,} changes, 10 to 40 each): {scorer.culprits} with a culprit and "
                f"{scorer.without} without. Mix: {mix}."
            ),
            (
                f"Culprit timing (other than a dependency's outage): {lags}; 10% of "
                "same-service culprits have no recorded end. A dependency's outage is under way "
                "at the onset in 75% of its incidents (ongoing with no end in 60% of those), "
                "else ended 0-20 min before; 30% of them are two hops away."
            ),
            (
                "Decoys in every incident: 1-3 changes just after the onset (half of them to "
                "the affected service), 1-3 old deploys of the same service (3 h to 3 days "
                "before), 1-4 unrelated changes 0-10 min before or rolling out, an unrelated "
                "vendor's outage under way (10%), and the day's other changes. With a culprit: "
                "an innocent same-service change 5-120 min before (30%, sometimes closer than "
                "the culprit), innocent changes to dependencies 10-360 min before (40%). "
                "Without: an innocent related change 10-120 min before (30%), dependency "
                "changes 2-6 h before (40%)."
            ),
            (
                f"`rank_suspects` is given the affected service and a dependency map missing "
                f"{MAP_EDGE_MISSING:.0%} of the real edges; its weights are the defaults, set "
                "from the domain before the corpus existed, not fitted to it. The corpus is "
                "ours: it encodes our assumptions about how changes cause incidents, so these "
                "figures say how the scorer does on those assumptions, not on real incidents."
            ),
            (
                "Top-1 / top-3: the culprit is first / among the first three, over the "
                'incidents with a culprit. "Top-1 named": first *and* scoring at least '
                f'{DEFAULT_MIN_SCORE} (the ranking names it rather than saying "no suspect"). '
                '"No suspect" recall: said, over the incidents without a culprit; precision: '
                "right, over the times it was said."
            ),
            (
                f"Ranking all {size:,} incidents took {seconds * 1e3:.0f} ms "
                f"({seconds / size * 1e6:.0f} µs each, {changes / size:.0f} changes on average)."
            ),
        ],
        headers=[
            "Ranker",
            "Top-1",
            "Top-1 named",
            "Top-3",
            '"No suspect" recall',
            '"No suspect" precision',
            '"No suspect" with a culprit',
            "Top-1 vs `rank_suspects`",
        ],
        rows=rows,
        verdicts=[sentence, comparison, limits],
        missed=([] if met else [sentence]) + speed_missed + outside_missed,
        sections=[
            (f"Outside the dependency map: {MISSING_EDGES:.0%} of its edges missing", outside),
            ("Speed: `rank_suspects` against its floor, in fresh processes", speed),
            (
                "Breakdown",
                markdown_table(["Incidents", "N", *(labels[n] for n in tallies)], group_rows),
            ),
            ("Sensitivity to the weights", sensitivity),
            (
                f"First {len(misses)} top-1 misses of `rank_suspects`",
                "\n".join(misses) if misses else "None.",
            ),
        ],
        data={
            "size": size,
            "figures": figures,
            "seconds": seconds,
            "dominated": dominated,
            "speed": speed_figures,
            "outside_map": outside_figures,
        },
    )


if __name__ == "__main__":
    print(run(quick=False).to_markdown())
