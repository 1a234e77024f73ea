"""Work the checkout outage end to end, on the built-in data.

The checkout 5xx rate jumps minutes after a checkout deploy, among several
other changes in the window. This script follows the protocol: it measures the
impact, gathers what changed, reviews the rollback options, rolls the checkout
deploy back, verifies recovery in monitoring, walks the diagnosis checklist,
resolves the incident and prints the Markdown report. The impact and the
recovery are judged from counts of failed and all requests a minute
(``Counts``, what ``increase()`` gives in Prometheus), which the built-in data
holds beside the error ratio (``examples/data/make_counts.py`` drew them).

Run it with ``python examples/checkout_outage.py [JOURNAL] [--html REPORT]``.
The journal goes to a temporary folder unless a path is given (the file must
not exist yet). With ``--html``, the report is also written as one
self-contained HTML file with the incident's chart (it needs the
``incidentkit[html]`` extra: ``pip install '.[html]'``); ``nox -s examples``
writes it to ``build/examples/checkout_outage.html``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from incidentkit import (
    Actor,
    ChecklistItem,
    Counts,
    Detection,
    Evidence,
    Incident,
    ManualClock,
    Measure,
    Metric,
    Recovered,
    Report,
    Role,
    verify_journal,
)
from incidentkit.memory import load_dataset
from incidentkit.reports import render_html, render_markdown  # render_html: incidentkit[html]

DATA = Path(__file__).parent / "data" / "checkout_outage.json"
ERRORS = (
    'sum(rate(http_requests_total{service="checkout",code=~"5.."}[5m])) '
    '/ sum(rate(http_requests_total{service="checkout"}[5m]))'
)
BAD = 'sum(increase(http_requests_total{service="checkout",code=~"5.."}[1m]))'
TOTAL = 'sum(increase(http_requests_total{service="checkout"}[1m]))'
CULPRIT = "deploy-4812"


def main(argv: list[str]) -> int:
    """Work the incident; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("journal", nargs="?", type=Path, help="where to write the journal")
    parser.add_argument("--html", type=Path, help="also write the HTML report there")
    args = parser.parse_args(argv[1:])
    data = load_dataset(DATA)
    when = data.scenario_instant
    journal = args.journal or Path(tempfile.mkdtemp()) / "checkout.jsonl"

    # The clock follows the scenario's timestamps, so the journal reads as the
    # real incident would have.
    clock = ManualClock(when("declared_at"))
    prometheus = data.metric_source()
    # Failed and all requests a minute: the judges know how much evidence each
    # minute holds. (The ratio is measured too, for the report's peak.)
    errors = Counts(
        bad=Metric(prometheus, BAD, unit="requests"),
        total=Metric(prometheus, TOTAL, unit="requests"),
    )
    ratio = Metric(prometheus, ERRORS, unit="ratio")
    commander = Actor("Dana", Role.INCIDENT_COMMANDER)
    operator = Actor("Sam", Role.OPERATIONS)

    declared = Incident.declare(
        title=data.scenario["title"],
        services=data.scenario["service"],
        actor=commander,
        detection=Detection.ALERT,
        detected_at=when("detected_at"),
        journal=journal,
        clock=clock,
        # What checkout runs on: their changes and incidents rank as related.
        depends_on={"checkout": ["payments", "gke-prod-pool-b", "stripe"]},
    )

    # 1. Impact before cause.
    clock.set(when("assessed_at"))
    assessed = declared.assess_impact(
        actor=commander,
        ongoing=True,
        # The onset is detected in the counts, and the severity suggested from
        # the error-budget burn rates against a 99.9 % SLO.
        errors=errors,
        slo=0.999,
        user_segments=["every customer checking out"],
        measures=[Measure("peak_error_ratio", ratio, reduce="max")],
        summary="Checkout fails for about one request in five.",
    )
    onset = assessed.onset
    if onset is not None:
        print(f"onset: {onset.explanation}")
    print(f"severity: {assessed.impact.severity.value} ({assessed.impact_numbers.explanation})")
    for figure in assessed.impact.figures:
        print(f"impact: {figure.name} = {figure.value:.4g} {figure.unit}")

    # 2. What changed, then the rollback options, before any intervention.
    assessed = assessed.gather_changes(
        actor=operator,
        deploys=[data.deploy_source()],
        infrastructure=[data.change_source()],
        dependencies=[data.dependency_source()],
    )
    ranking = assessed.suspects()
    print(f"\nsuspects: {ranking.explanation}")
    for suspect in ranking.suspects:
        change = suspect.change
        print(f"  {suspect.score:.2f} {change.started:%H:%M} {change.kind.value:<14} {change.id}")
        for reason in suspect.reasons:
            print(f"       - {reason.detail}")

    reviewed = assessed.review_rollbacks([data.rollback_executor()], actor=operator)
    print("\nrollback options:")
    for option in reviewed.rollback_options:
        caveats = "; ".join(c.detail for c in option.caveats) or "no caveats"
        print(f"  {option.describe()}\n    caveats: {caveats}")

    option = next(o for o in reviewed.rollback_options if o.change_id == CULPRIT)
    clock.set(when("rolled_back_at"))
    intervened = reviewed.roll_back(option, actor=operator)

    # 3. Recovery verified in monitoring, not by the silence of the pager.
    clock.set(when("verified_at"))
    outcome = intervened.verify_recovery(actor=operator, errors=errors)
    if not isinstance(outcome, Recovered):
        print("recovery not shown:", outcome.last_verdict)
        return 1
    verdict = outcome.verdict
    print(f"\nrecovery: {verdict.outcome.value} ({verdict.test} test)")
    for reason in verdict.reasons:
        print(f"  - {reason}")
    print(
        f"  exact binomial: {verdict.post_bad} failed of {verdict.post_total} requests since "
        f"{verdict.healthy_since:%H:%M}, at most {verdict.rate_upper:.3%} failing (upper "
        f"bound); baseline {verdict.baseline_bad} of {verdict.baseline_total}"
    )

    # 4. Diagnosis: a hypothesis tied to evidence, and the usual suspects,
    # checked against the sources after gathering once more: the payment
    # provider's incident began after the first gathering.
    clock.set(when("diagnosed_at"))
    diagnosing = (
        outcome.begin_diagnosis(actor=commander)
        .gather_changes(
            actor=commander,
            deploys=[data.deploy_source()],
            infrastructure=[data.change_source()],
            dependencies=[data.dependency_source()],
        )
        .hypothesis(
            "checkout v2.14.0 (deploy-4812) broke checkout; the rollback ended it",
            actor=commander,
            evidence=[Evidence.change(CULPRIT), Evidence.metric(BAD)],
        )
        .check(
            ChecklistItem.DEPLOYS,
            actor=commander,
            conclusion="deploy-4812 finished 2 min before the symptom; rolling it back ended it",
        )
        .check(
            ChecklistItem.INFRASTRUCTURE,
            actor=commander,
            conclusion="the node-pool upgrade finished 17 min before the symptom, no node errors",
        )
        .check(
            ChecklistItem.DEPENDENCIES,
            actor=commander,
            conclusion="the payment provider's incident began 13 min after the symptom",
        )
    )
    clock.set(when("resolved_at"))
    resolved = diagnosing.resolve(
        actor=commander,
        root_cause="checkout v2.14.0 returned 5xx on checkout; rolled back to v2.13.3",
        evidence=[Evidence.change(CULPRIT), Evidence.metric(BAD)],
    )

    # 5. The forensic record: the report, and a journal that verifies.
    return record(resolved.report(), journal, args.html)


def record(report: Report, journal: Path, html: Path | None) -> int:
    """Print the Markdown report (and write the HTML one), then verify the journal."""
    print()
    print(render_markdown(report))
    if html is not None:
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(render_html(report), encoding="utf-8")
        print(f"HTML report written to {html}")
    verification = verify_journal(journal)
    print(verification)
    return 0 if verification.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
