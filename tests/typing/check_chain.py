"""Positive cases: what each step of the fluent chain returns, as a type checker sees it.

Never executed: mypy and pyright check these files (``tests/typing`` is in both
configurations). Every function takes the objects it needs as parameters, so no
incident is ever declared.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from typing_extensions import assert_type

from incidentkit import (
    AnyPhase,
    Assessed,
    ChecklistItem,
    Declared,
    Detection,
    Diagnosing,
    Evidence,
    Impact,
    Incident,
    Intervened,
    MitigationKind,
    Recovered,
    Report,
    Resolved,
    Reviewed,
    Role,
    Severity,
)

if TYPE_CHECKING:
    from incidentkit import Counts, LatencyCounts, Metric, RollbackOption, Threshold
    from incidentkit.protocols import DeploySource, RollbackExecutor

ACTOR = "alice"


# --- declaring and resuming -------------------------------------------------


def declare_returns_declared(journal: str) -> None:
    """``Incident.declare`` returns the declared phase."""
    declared = Incident.declare(
        title="Checkout returns 5xx",
        services="checkout",
        actor=ACTOR,
        detection=Detection.ALERT,
        journal=journal,
    )
    assert_type(declared, Declared)


def resume_returns_any_phase(journal: str) -> None:
    """``Incident.resume`` returns the union of every phase."""
    phase = Incident.resume(journal)
    assert_type(phase, AnyPhase)
    assert_type(
        phase, Declared | Assessed | Reviewed | Intervened | Recovered | Diagnosing | Resolved
    )


def resume_narrows_with_match(journal: str) -> None:
    """A ``match`` over the resumed phase narrows each case (pyright checks it is exhaustive)."""
    match Incident.resume(journal):
        case Declared() as phase:
            assert_type(phase, Declared)
        case Assessed() as phase:
            assert_type(phase, Assessed)
        case Reviewed() as phase:
            assert_type(phase, Reviewed)
        case Intervened() as phase:
            assert_type(phase, Intervened)
        case Recovered() as phase:
            assert_type(phase, Recovered)
        case Diagnosing() as phase:
            assert_type(phase, Diagnosing)
        case Resolved() as phase:
            assert_type(phase, Resolved)


def resume_narrows_with_isinstance(journal: str) -> None:
    """``isinstance`` narrows the resumed phase and removes the case from the rest."""
    phase = Incident.resume(journal)
    if isinstance(phase, Recovered):
        assert_type(phase.begin_diagnosis(actor=ACTOR), Diagnosing)
    elif isinstance(phase, (Reviewed, Intervened)):
        assert_type(phase, Reviewed | Intervened)
    else:
        assert_type(phase, Declared | Assessed | Diagnosing | Resolved)


# --- the chain, step by step ------------------------------------------------


def assess_impact_returns_assessed(declared: Declared) -> None:
    """Assessing the impact moves the declared incident to the assessed phase."""
    assessed = declared.assess_impact(actor=ACTOR, severity=Severity.SEV2, ongoing=True)
    assert_type(assessed, Assessed)


def gather_changes_returns_self(
    assessed: Assessed,
    reviewed: Reviewed,
    intervened: Intervened,
    recovered: Recovered,
    diagnosing: Diagnosing,
    *,
    deploys: DeploySource,
) -> None:
    """Gathering changes keeps the phase it was called on."""
    assert_type(assessed.gather_changes(actor=ACTOR, deploys=[deploys]), Assessed)
    assert_type(reviewed.gather_changes(actor=ACTOR, deploys=[deploys]), Reviewed)
    assert_type(intervened.gather_changes(actor=ACTOR, deploys=[deploys]), Intervened)
    assert_type(recovered.gather_changes(actor=ACTOR, deploys=[deploys]), Recovered)
    assert_type(diagnosing.gather_changes(actor=ACTOR, deploys=[deploys]), Diagnosing)


def review_rollbacks_returns_reviewed(
    assessed: Assessed, reviewed: Reviewed, intervened: Intervened, executor: RollbackExecutor
) -> None:
    """Reviewing rollbacks leads to the reviewed phase, also when reviewing again."""
    assert_type(assessed.review_rollbacks([executor], actor=ACTOR), Reviewed)
    assert_type(reviewed.review_rollbacks([executor], actor=ACTOR), Reviewed)
    assert_type(intervened.review_rollbacks([executor], actor=ACTOR), Reviewed)


def roll_back_returns_intervened(
    reviewed: Reviewed, intervened: Intervened, option: RollbackOption
) -> None:
    """Rolling back leads to the intervened phase, also when rolling back again."""
    assert_type(reviewed.roll_back(option, actor=ACTOR), Intervened)
    assert_type(intervened.roll_back(option, actor=ACTOR, rehearse=False), Intervened)


def mitigate_returns_intervened(reviewed: Reviewed, intervened: Intervened) -> None:
    """Mitigating leads to the intervened phase, also when mitigating again."""
    assert_type(
        reviewed.mitigate("drained eu-west", actor=ACTOR, why_not_rollback="no option"),
        Intervened,
    )
    assert_type(
        intervened.mitigate(
            "scaled up",
            actor=ACTOR,
            why_not_rollback="the rollback did not help",
            kind=MitigationKind.SCALE_UP,
        ),
        Intervened,
    )


def verify_recovery_returns_recovered_or_self(
    assessed: Assessed,
    reviewed: Reviewed,
    intervened: Intervened,
    errors: Metric,
    traffic: Metric,
) -> None:
    """Verifying recovery leads to recovered, or back to the phase it was called on."""
    assert_type(
        intervened.verify_recovery(actor=ACTOR, errors=errors, traffic=traffic),
        Recovered | Intervened,
    )
    assert_type(
        assessed.verify_recovery(actor=ACTOR, errors=errors, traffic=traffic),
        Recovered | Assessed,
    )
    assert_type(
        reviewed.verify_recovery(actor=ACTOR, errors=errors, traffic=traffic),
        Recovered | Reviewed,
    )


def verify_recovery_takes_counts_and_thresholds(
    intervened: Intervened,
    counts: Counts,
    latency: LatencyCounts,
    threshold: Threshold,
    traffic: Metric,
) -> None:
    """Counts and latency counts need no traffic; a threshold takes it or not."""
    assert_type(intervened.verify_recovery(actor=ACTOR, errors=counts), Recovered | Intervened)
    assert_type(intervened.verify_recovery(actor=ACTOR, errors=latency), Recovered | Intervened)
    assert_type(intervened.verify_recovery(actor=ACTOR, errors=threshold), Recovered | Intervened)
    assert_type(
        intervened.verify_recovery(actor=ACTOR, errors=threshold, traffic=traffic),
        Recovered | Intervened,
    )


def verify_recovery_narrows_with_isinstance(
    intervened: Intervened, errors: Metric, traffic: Metric
) -> None:
    """``isinstance`` splits the verdict: diagnose when recovered, intervene again if not."""
    outcome = intervened.verify_recovery(actor=ACTOR, errors=errors, traffic=traffic)
    if isinstance(outcome, Recovered):
        assert_type(outcome, Recovered)
        assert_type(outcome.begin_diagnosis(actor=ACTOR), Diagnosing)
    else:
        assert_type(outcome, Intervened)
        assert_type(
            outcome.mitigate("failed over", actor=ACTOR, why_not_rollback="already rolled back"),
            Intervened,
        )


def verify_recovery_narrows_with_match(reviewed: Reviewed, errors: Metric, traffic: Metric) -> None:
    """A ``match`` over the verdict narrows each case (pyright checks it is exhaustive)."""
    match reviewed.verify_recovery(actor=ACTOR, errors=errors, traffic=traffic):
        case Recovered() as recovered:
            assert_type(recovered.begin_diagnosis(actor=ACTOR), Diagnosing)
        case Reviewed() as again:
            assert_type(again, Reviewed)


def diagnosis_steps_return_self(diagnosing: Diagnosing, evidence: Evidence) -> None:
    """Hypotheses and the checklist keep the incident in diagnosis."""
    assert_type(
        diagnosing.hypothesis("the deploy broke it", actor=ACTOR, evidence=[evidence]),
        Diagnosing,
    )
    assert_type(diagnosing.reject_hypothesis("H1", actor=ACTOR, reason="ruled out"), Diagnosing)
    assert_type(
        diagnosing.check(ChecklistItem.DEPLOYS, actor=ACTOR, conclusion="v42 is the cause"),
        Diagnosing,
    )
    assert_type(
        diagnosing.waive(ChecklistItem.DEPENDENCIES, actor=ACTOR, reason="no dependencies"),
        Diagnosing,
    )


def resolve_returns_resolved_and_report(diagnosing: Diagnosing, evidence: Evidence) -> None:
    """Resolving leads to the resolved phase, whose report is a ``Report``."""
    resolved = diagnosing.resolve(actor=ACTOR, root_cause="v42", evidence=[evidence])
    assert_type(resolved, Resolved)
    assert_type(resolved.report(), Report)


# --- the whole chain in one expression --------------------------------------


def fluent_chain_with_rollback(
    declared: Declared,
    *,
    deploys: DeploySource,
    executor: RollbackExecutor,
    option: RollbackOption,
    errors: Metric,
    traffic: Metric,
) -> None:
    """The chain from declared to a verified rollback keeps each step's type."""
    outcome = (
        declared.assess_impact(actor=ACTOR, severity=Severity.SEV1, ongoing=True)
        .gather_changes(actor=ACTOR, deploys=[deploys])
        .review_rollbacks([executor], actor=ACTOR)
        .roll_back(option, actor=ACTOR)
        .verify_recovery(actor=ACTOR, errors=errors, traffic=traffic)
    )
    assert_type(outcome, Recovered | Intervened)


def fluent_chain_to_report(recovered: Recovered, evidence: Evidence) -> None:
    """The chain from recovered to the report keeps each step's type."""
    report = (
        recovered.begin_diagnosis(actor=ACTOR)
        .hypothesis("the deploy broke it", actor=ACTOR, evidence=[evidence])
        .check(ChecklistItem.DEPLOYS, actor=ACTOR, conclusion="v42 is the cause")
        .waive(ChecklistItem.INFRASTRUCTURE, actor=ACTOR, reason="no infra changes")
        .waive(ChecklistItem.DEPENDENCIES, actor=ACTOR, reason="no dependencies")
        .resolve(actor=ACTOR, root_cause="v42", evidence=[evidence])
        .report()
    )
    assert_type(report, Report)


# --- notes, findings and overrides ------------------------------------------


def note_and_finding_return_self(
    *,
    declared: Declared,
    assessed: Assessed,
    reviewed: Reviewed,
    intervened: Intervened,
    recovered: Recovered,
    diagnosing: Diagnosing,
) -> None:
    """A note or a finding keeps every open phase as it was."""
    assert_type(declared.note("paged", actor=ACTOR), Declared)
    assert_type(assessed.note("EU only", actor=ACTOR), Assessed)
    assert_type(reviewed.note("two options", actor=ACTOR), Reviewed)
    assert_type(intervened.note("rolled back", actor=ACTOR), Intervened)
    assert_type(recovered.note("back at baseline", actor=ACTOR), Recovered)
    assert_type(diagnosing.note("looking at v42", actor=ACTOR), Diagnosing)
    assert_type(declared.finding("no alert fired", actor=ACTOR), Declared)
    assert_type(assessed.finding("no dashboard", actor=ACTOR), Assessed)
    assert_type(reviewed.finding("no dry run", actor=ACTOR), Reviewed)
    assert_type(intervened.finding("slow rollback", actor=ACTOR), Intervened)
    assert_type(recovered.finding("slow recovery", actor=ACTOR), Recovered)
    assert_type(diagnosing.finding("no canary", actor=ACTOR), Diagnosing)


def skip_rollback_review_returns_reviewed(assessed: Assessed) -> None:
    """Skipping the rollback review is an override that leads to the reviewed phase."""
    reviewed = assessed.skip_rollback_review(actor=ACTOR, reason="no rollback tooling")
    assert_type(reviewed, Reviewed)


def diagnose_without_recovery_returns_diagnosing(
    declared: Declared, assessed: Assessed, reviewed: Reviewed, intervened: Intervened
) -> None:
    """Diagnosing before recovery is an override that leads to the diagnosing phase."""
    reason = "no mitigation exists"
    assert_type(declared.diagnose_without_recovery(actor=ACTOR, reason=reason), Diagnosing)
    assert_type(assessed.diagnose_without_recovery(actor=ACTOR, reason=reason), Diagnosing)
    assert_type(reviewed.diagnose_without_recovery(actor=ACTOR, reason=reason), Diagnosing)
    assert_type(intervened.diagnose_without_recovery(actor=ACTOR, reason=reason), Diagnosing)


# --- steps of several phases, and reads of every phase ------------------------


def team_steps_return_their_phase(
    declared: Declared, assessed: Assessed, diagnosing: Diagnosing, resolved: Resolved
) -> None:
    """Handing over, follow-ups, clock corrections and impact updates keep the phase."""
    assert_type(declared.hand_over(Role.INCIDENT_COMMANDER, to="carol", actor=ACTOR), Declared)
    assert_type(declared.follow_up("add an alert", owner="dana", actor=ACTOR), Declared)
    assert_type(declared.correct_clock(actor=ACTOR, reason="NTP"), Declared)
    assert_type(assessed.update_impact(actor=ACTOR, reason="EU too", severity="sev1"), Assessed)
    assert_type(diagnosing.update_impact(actor=ACTOR, reason="over", ongoing=False), Diagnosing)
    assert_type(resolved.follow_up("add an alert", owner="dana", actor=ACTOR), Resolved)
    assert_type(resolved.note("comms sent", actor=ACTOR), Resolved)


def every_phase_reads_impact_and_catches_up(
    declared: Declared, assessed: Assessed, recovered: Recovered, resolved: Resolved
) -> None:
    """The impact is optional before assessment and on override paths, certain after it."""
    assert_type(declared.impact, Impact | None)
    assert_type(assessed.impact, Impact)
    assert_type(recovered.impact, Impact)
    assert_type(resolved.impact, Impact | None)
    assert_type(declared.severity, Severity | None)
    assert_type(resolved.roles, Mapping[Role, str])
    assert_type(assessed.refresh(), AnyPhase)
