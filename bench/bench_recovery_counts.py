"""Recovery from counts against the ratio judge, from 0.05 to 2,000 requests per second.

A seeded corpus of incidents given as counts per one-minute step: a baseline hour,
20 minutes of symptom, then up to 30 minutes after the intervention. The traffic is
Poisson at the rate of its row; each request fails with the minute's share, drawn per
request (numpy's binomial). Five classes per traffic level:

- ``recovered``: back to the baseline share at the intervention (the only true recovery);
- ``partial``: the baseline share plus 30% of the symptom's excess;
- ``not recovered``: still at the symptom's share;
- ``relapse``: back to the baseline for 20 minutes, then at the symptom's share again for
  the last 10;
- ``traffic collapse``: the baseline share, but at 2% of the traffic.

The baseline share is drawn from 0.1% to 2%, the symptom's from the baseline + 5 points
to 40%. Both judges see the same counts at checks 10, 15, 20 and 30 minutes after the
intervention: ``check_recovery_counts`` (exact binomial bounds over the hold window) and
``check_recovery`` (the Mann-Whitney judge) on the bad share per minute with the requests
as traffic. A true recovery is *recognised within N minutes* when a check at or before N
says recovered; a *false recovery* is any check saying recovered in any other class (a
relapse counts from minute 30 only, when the relapse is under way).

Goals (issue 13): 0 false recoveries; at least 97% of true recoveries recognised within
30 minutes at every traffic level from 0.5 request per second; below that,
"inconclusive" with the traffic it would need. Stated: the smallest traffic at which a
recovery is verified within 10 minutes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pendulum
from _common import Result

from incidentkit import MetricQuery, RecoveryOutcome, Series
from incidentkit._recovery import check_recovery
from incidentkit._recovery_counts import check_recovery_counts

SEED = 20261205
RATES = (0.05, 0.2, 0.5, 2.0, 10.0, 50.0, 200.0, 2000.0)
CLASSES = ("recovered", "partial", "not recovered", "relapse", "traffic collapse")
CHECKS = (10, 15, 20, 30)
PER_CLASS = 30
QUICK_PER_CLASS = 6
GOAL_RECOGNISED = 0.97
GOAL_FROM_RATE = 0.5
STEP = 60.0
T0 = pendulum.datetime(2026, 1, 5, 0, 0, tz="UTC")
BASELINE_END = T0.add(hours=1)
FIX = BASELINE_END.add(minutes=20)


def _shares(kind: str, base: float, symptom: float) -> tuple[list[float], float]:
    """The bad share of each minute after the intervention, and the traffic's factor."""
    after = {
        "recovered": [base] * 30,
        "partial": [base + 0.3 * (symptom - base)] * 30,
        "not recovered": [symptom] * 30,
        "relapse": [base] * 20 + [symptom] * 10,
        "traffic collapse": [base] * 30,
    }[kind]
    return after, (0.02 if kind == "traffic collapse" else 1.0)


def _scenario(rng: np.random.Generator, kind: str, rate: float) -> tuple[Series, Series, Series]:
    base = float(rng.uniform(0.001, 0.02))
    symptom = float(rng.uniform(base + 0.05, 0.4))
    after, factor = _shares(kind, base, symptom)
    shares = [base] * 60 + [symptom] * 20 + after
    rates = [rate] * 80 + [rate * factor] * len(after)
    totals = rng.poisson(np.array(rates) * STEP)
    bads = rng.binomial(totals, np.array(shares))
    times = [T0.add(minutes=m).timestamp() for m in range(len(shares))]
    end = T0.add(minutes=len(shares))
    query = MetricQuery("bench", "q", T0, end, STEP)
    bad = Series.from_columns(query, times, [float(b) for b in bads])
    total = Series.from_columns(query, times, [float(t) for t in totals])
    ratio = Series.from_columns(
        query, times, [float(b) / t if t else 0.0 for b, t in zip(bads, totals, strict=True)]
    )
    return bad, total, ratio


@dataclass
class _Row:
    recovering: int = 0
    recognised: dict[int, int] = field(default_factory=lambda: dict.fromkeys(CHECKS, 0))
    false: int = 0
    judged_false: int = 0
    inconclusive_with_need: int = 0
    inconclusive: int = 0


def _judge(*, counts: bool, bad: Series, total: Series, ratio: Series, minute: int):  # noqa: ANN202
    until = FIX.add(minutes=minute)
    window = {
        "baseline_start": T0,
        "baseline_end": BASELINE_END,
        "intervention_at": FIX,
        "until": until,
    }
    if counts:
        return check_recovery_counts(bad, total, **window)
    return check_recovery(ratio, total, **window)


def _tally(per_class: int) -> dict[tuple[str, float], _Row]:
    rng = np.random.default_rng(SEED)
    rows = {(judge, rate): _Row() for judge in ("counts", "ratio") for rate in RATES}
    for rate in RATES:
        for kind in CLASSES:
            for _ in range(per_class):
                bad, total, ratio = _scenario(rng, kind, rate)
                for judge in ("counts", "ratio"):
                    row = rows[judge, rate]
                    verdicts = {
                        m: _judge(
                            counts=judge == "counts", bad=bad, total=total, ratio=ratio, minute=m
                        )
                        for m in CHECKS
                    }
                    if kind == "recovered":
                        row.recovering += 1
                        first = next(
                            (m for m in CHECKS if verdicts[m].outcome is RecoveryOutcome.RECOVERED),
                            None,
                        )
                        for m in CHECKS:
                            row.recognised[m] += first is not None and first <= m
                        last = verdicts[CHECKS[-1]]
                        if last.outcome is RecoveryOutcome.INCONCLUSIVE:
                            row.inconclusive += 1
                            row.inconclusive_with_need += last.requests_needed is not None
                        continue
                    judged = [30] if kind == "relapse" else list(CHECKS)
                    row.judged_false += len(judged)
                    row.false += sum(
                        verdicts[m].outcome is RecoveryOutcome.RECOVERED for m in judged
                    )
    return rows


def _pct(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "n/a"


def run(*, quick: bool = False) -> Result:
    """Judge the corpus both ways and report recognition and false recoveries per traffic."""
    per_class = QUICK_PER_CLASS if quick else PER_CLASS
    began = time.perf_counter()
    rows = _tally(per_class)
    seconds = time.perf_counter() - began
    table: list[list[str]] = []
    missed: list[str] = []
    fastest: float | None = None
    for rate in RATES:
        counts, ratio = rows["counts", rate], rows["ratio", rate]
        table.append(
            [
                f"{rate:g}",
                *(_pct(counts.recognised[m], counts.recovering) for m in (10, 30)),
                f"{counts.false} of {counts.judged_false}",
                _pct(counts.inconclusive_with_need, counts.inconclusive)
                if counts.inconclusive
                else "-",
                *(_pct(ratio.recognised[m], ratio.recovering) for m in (10, 30)),
                f"{ratio.false} of {ratio.judged_false}",
            ]
        )
        share30 = counts.recognised[30] / counts.recovering
        if rate >= GOAL_FROM_RATE and share30 < GOAL_RECOGNISED:
            missed.append(
                f"At {rate:g} requests/s, counts recognise {share30:.1%} of true recoveries "
                f"within 30 minutes, under the {GOAL_RECOGNISED:.0%} goal."
            )
        if counts.false:
            missed.append(
                f"At {rate:g} requests/s, counts said recovered {counts.false} time(s) where "
                "the errors were not back (goal: 0)."
            )
        if fastest is None and counts.recognised[10] / counts.recovering >= GOAL_RECOGNISED:
            fastest = rate
    verdicts = [
        (
            "**Goals met**: no false recovery from counts, and at least "
            f"{GOAL_RECOGNISED:.0%} of true recoveries recognised within 30 minutes from "
            f"{GOAL_FROM_RATE:g} request/s."
            if not missed
            else "**Goals missed**: " + " ".join(missed)
        ),
        (
            f"The smallest traffic in the corpus at which counts verify at least "
            f"{GOAL_RECOGNISED:.0%} of recoveries within 10 minutes: {fastest:g} requests/s."
            if fastest is not None
            else "No traffic level in the corpus verifies 97% of recoveries within 10 minutes."
        ),
    ]
    return Result(
        name="recovery-counts",
        title="Recovery from counts against the ratio judge, by traffic",
        setup=[
            (
                f"Corpus: `bench_recovery_counts.py`, seed {SEED}, {per_class} scenarios per class "
                f"and traffic level; classes: {', '.join(CLASSES)}; traffic "
                f"{', '.join(f'{r:g}' for r in RATES)} requests/s (Poisson per minute), each "
                "request failing with the minute's share (binomial)."
            ),
            (
                "Checks at 10, 15, 20 and 30 minutes after the intervention, with the default "
                "`RecoveryPolicy` (hold 10 minutes); both judges see the same counts."
            ),
            (
                '"False" counts every check that said recovered in a class that had not '
                "(partial, not recovered, traffic collapse; relapse at 30 minutes only)."
            ),
            (
                '"Inconclusive with the requests needed": of the true recoveries still '
                "inconclusive at 30 minutes, the share whose verdict says how many requests "
                "would settle it."
            ),
            f"Judging the whole corpus took {seconds:.1f} s.",
        ],
        headers=[
            "Requests/s",
            "Counts: recognised in 10 min",
            "Counts: in 30 min",
            "Counts: false recoveries",
            "Counts: inconclusive with the requests needed",
            "Ratios: recognised in 10 min",
            "Ratios: in 30 min",
            "Ratios: false recoveries",
        ],
        rows=table,
        verdicts=verdicts,
        missed=missed,
        data={
            f"{judge}@{rate:g}": {
                "recognised_10": row.recognised[10] / row.recovering,
                "recognised_30": row.recognised[30] / row.recovering,
                "false": row.false,
            }
            for (judge, rate), row in rows.items()
        },
    )


if __name__ == "__main__":
    print(run(quick=False).to_markdown())
