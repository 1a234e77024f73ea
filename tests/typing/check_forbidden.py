"""Negative cases: every step a phase does not allow is missing from its class.

The matrix is complete: for each of the seven phase classes, one call per step of
the rule table (``incidentkit._rules.STEPS``) that the class does not define;
``tests/test_typing_matrix.py`` checks that against the table.
Each line carries ``# type: ignore[attr-defined]``; mypy (``warn_unused_ignores``)
and pyright (``reportUnnecessaryTypeIgnoreComment``) fail on an ignore that is no
longer needed, so a step that becomes callable in the wrong phase breaks the check.

Never executed: at run time these calls would raise ``StepNotAvailable``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from incidentkit import ChecklistItem, Role, Severity

if TYPE_CHECKING:
    from incidentkit import (
        Assessed,
        Declared,
        Diagnosing,
        Evidence,
        Intervened,
        Metric,
        Recovered,
        Resolved,
        Reviewed,
        RollbackOption,
    )
    from incidentkit.protocols import DeploySource, RollbackExecutor

ACTOR = "alice"
REASON = "a reason"


# --- Declared: 14 forbidden steps ---------------------------------------------
# Allowed: note, finding, hand_over, follow_up, correct_clock, assess_impact,
#     diagnose_without_recovery.


def declared_forbids(
    declared: Declared,
    *,
    deploys: DeploySource,
    executor: RollbackExecutor,
    option: RollbackOption,
    errors: Metric,
    traffic: Metric,
    evidence: Evidence,
) -> None:
    """Every step the declared phase does not allow is missing from ``Declared``."""
    declared.gather_changes(actor=ACTOR, deploys=[deploys])  # type: ignore[attr-defined]
    declared.review_rollbacks([executor], actor=ACTOR)  # type: ignore[attr-defined]
    declared.skip_rollback_review(actor=ACTOR, reason=REASON)  # type: ignore[attr-defined]
    declared.roll_back(option, actor=ACTOR)  # type: ignore[attr-defined]
    declared.mitigate("drained", actor=ACTOR, why_not_rollback=REASON)  # type: ignore[attr-defined]
    declared.verify_recovery(actor=ACTOR, errors=errors, traffic=traffic)  # type: ignore[attr-defined]
    declared.begin_diagnosis(actor=ACTOR)  # type: ignore[attr-defined]
    declared.hypothesis("v42", actor=ACTOR, evidence=[evidence])  # type: ignore[attr-defined]
    declared.reject_hypothesis("H1", actor=ACTOR, reason=REASON)  # type: ignore[attr-defined]
    declared.check(ChecklistItem.DEPLOYS, actor=ACTOR, conclusion="v42")  # type: ignore[attr-defined]
    declared.waive(ChecklistItem.DEPLOYS, actor=ACTOR, reason=REASON)  # type: ignore[attr-defined]
    declared.resolve(actor=ACTOR, root_cause="v42", evidence=[evidence])  # type: ignore[attr-defined]
    declared.report()  # type: ignore[attr-defined]
    declared.update_impact(actor=ACTOR, reason=REASON, severity=Severity.SEV1)  # type: ignore[attr-defined]


# --- Assessed: 10 forbidden steps ---------------------------------------------
# Allowed: note, finding, gather_changes, review_rollbacks,
#     skip_rollback_review, verify_recovery, diagnose_without_recovery.


def assessed_forbids(assessed: Assessed, *, option: RollbackOption, evidence: Evidence) -> None:
    """Every step the assessed phase does not allow is missing from ``Assessed``."""
    assessed.assess_impact(actor=ACTOR, severity=Severity.SEV2, ongoing=True)  # type: ignore[attr-defined]
    assessed.roll_back(option, actor=ACTOR)  # type: ignore[attr-defined]
    assessed.mitigate("drained", actor=ACTOR, why_not_rollback=REASON)  # type: ignore[attr-defined]
    assessed.begin_diagnosis(actor=ACTOR)  # type: ignore[attr-defined]
    assessed.hypothesis("v42", actor=ACTOR, evidence=[evidence])  # type: ignore[attr-defined]
    assessed.reject_hypothesis("H1", actor=ACTOR, reason=REASON)  # type: ignore[attr-defined]
    assessed.check(ChecklistItem.DEPLOYS, actor=ACTOR, conclusion="v42")  # type: ignore[attr-defined]
    assessed.waive(ChecklistItem.DEPLOYS, actor=ACTOR, reason=REASON)  # type: ignore[attr-defined]
    assessed.resolve(actor=ACTOR, root_cause="v42", evidence=[evidence])  # type: ignore[attr-defined]
    assessed.report()  # type: ignore[attr-defined]


# --- Reviewed: 9 forbidden steps ----------------------------------------------
# Allowed: note, finding, gather_changes, review_rollbacks, roll_back,
#     mitigate, verify_recovery, diagnose_without_recovery.


def reviewed_forbids(reviewed: Reviewed, *, evidence: Evidence) -> None:
    """Every step the reviewed phase does not allow is missing from ``Reviewed``."""
    reviewed.assess_impact(actor=ACTOR, severity=Severity.SEV2, ongoing=True)  # type: ignore[attr-defined]
    reviewed.skip_rollback_review(actor=ACTOR, reason=REASON)  # type: ignore[attr-defined]
    reviewed.begin_diagnosis(actor=ACTOR)  # type: ignore[attr-defined]
    reviewed.hypothesis("v42", actor=ACTOR, evidence=[evidence])  # type: ignore[attr-defined]
    reviewed.reject_hypothesis("H1", actor=ACTOR, reason=REASON)  # type: ignore[attr-defined]
    reviewed.check(ChecklistItem.DEPLOYS, actor=ACTOR, conclusion="v42")  # type: ignore[attr-defined]
    reviewed.waive(ChecklistItem.DEPLOYS, actor=ACTOR, reason=REASON)  # type: ignore[attr-defined]
    reviewed.resolve(actor=ACTOR, root_cause="v42", evidence=[evidence])  # type: ignore[attr-defined]
    reviewed.report()  # type: ignore[attr-defined]


# --- Intervened: 9 forbidden steps --------------------------------------------
# Allowed: note, finding, gather_changes, review_rollbacks, roll_back,
#     mitigate, verify_recovery, diagnose_without_recovery.


def intervened_forbids(intervened: Intervened, *, evidence: Evidence) -> None:
    """Every step the intervened phase does not allow is missing from ``Intervened``."""
    intervened.assess_impact(actor=ACTOR, severity=Severity.SEV2, ongoing=True)  # type: ignore[attr-defined]
    intervened.skip_rollback_review(actor=ACTOR, reason=REASON)  # type: ignore[attr-defined]
    intervened.begin_diagnosis(actor=ACTOR)  # type: ignore[attr-defined]
    intervened.hypothesis("v42", actor=ACTOR, evidence=[evidence])  # type: ignore[attr-defined]
    intervened.reject_hypothesis("H1", actor=ACTOR, reason=REASON)  # type: ignore[attr-defined]
    intervened.check(ChecklistItem.DEPLOYS, actor=ACTOR, conclusion="v42")  # type: ignore[attr-defined]
    intervened.waive(ChecklistItem.DEPLOYS, actor=ACTOR, reason=REASON)  # type: ignore[attr-defined]
    intervened.resolve(actor=ACTOR, root_cause="v42", evidence=[evidence])  # type: ignore[attr-defined]
    intervened.report()  # type: ignore[attr-defined]


# --- Recovered: 13 forbidden steps --------------------------------------------
# Allowed: note, finding, gather_changes, begin_diagnosis.


def recovered_forbids(
    recovered: Recovered,
    *,
    executor: RollbackExecutor,
    option: RollbackOption,
    errors: Metric,
    traffic: Metric,
    evidence: Evidence,
) -> None:
    """Every step the recovered phase does not allow is missing from ``Recovered``."""
    recovered.assess_impact(actor=ACTOR, severity=Severity.SEV2, ongoing=True)  # type: ignore[attr-defined]
    recovered.review_rollbacks([executor], actor=ACTOR)  # type: ignore[attr-defined]
    recovered.skip_rollback_review(actor=ACTOR, reason=REASON)  # type: ignore[attr-defined]
    recovered.roll_back(option, actor=ACTOR)  # type: ignore[attr-defined]
    recovered.mitigate("drained", actor=ACTOR, why_not_rollback=REASON)  # type: ignore[attr-defined]
    recovered.verify_recovery(actor=ACTOR, errors=errors, traffic=traffic)  # type: ignore[attr-defined]
    recovered.diagnose_without_recovery(actor=ACTOR, reason=REASON)  # type: ignore[attr-defined]
    recovered.hypothesis("v42", actor=ACTOR, evidence=[evidence])  # type: ignore[attr-defined]
    recovered.reject_hypothesis("H1", actor=ACTOR, reason=REASON)  # type: ignore[attr-defined]
    recovered.check(ChecklistItem.DEPLOYS, actor=ACTOR, conclusion="v42")  # type: ignore[attr-defined]
    recovered.waive(ChecklistItem.DEPLOYS, actor=ACTOR, reason=REASON)  # type: ignore[attr-defined]
    recovered.resolve(actor=ACTOR, root_cause="v42", evidence=[evidence])  # type: ignore[attr-defined]
    recovered.report()  # type: ignore[attr-defined]


# --- Diagnosing: 9 forbidden steps --------------------------------------------
# Allowed: note, finding, gather_changes, hypothesis, reject_hypothesis,
#     check, waive, resolve.


def diagnosing_forbids(
    diagnosing: Diagnosing,
    *,
    executor: RollbackExecutor,
    option: RollbackOption,
    errors: Metric,
    traffic: Metric,
) -> None:
    """Every step the diagnosing phase does not allow is missing from ``Diagnosing``."""
    diagnosing.assess_impact(actor=ACTOR, severity=Severity.SEV2, ongoing=True)  # type: ignore[attr-defined]
    diagnosing.review_rollbacks([executor], actor=ACTOR)  # type: ignore[attr-defined]
    diagnosing.skip_rollback_review(actor=ACTOR, reason=REASON)  # type: ignore[attr-defined]
    diagnosing.roll_back(option, actor=ACTOR)  # type: ignore[attr-defined]
    diagnosing.mitigate("drained", actor=ACTOR, why_not_rollback=REASON)  # type: ignore[attr-defined]
    diagnosing.verify_recovery(actor=ACTOR, errors=errors, traffic=traffic)  # type: ignore[attr-defined]
    diagnosing.diagnose_without_recovery(actor=ACTOR, reason=REASON)  # type: ignore[attr-defined]
    diagnosing.begin_diagnosis(actor=ACTOR)  # type: ignore[attr-defined]
    diagnosing.report()  # type: ignore[attr-defined]


# --- Resolved: 17 forbidden steps ---------------------------------------------
# Allowed: report, note, follow_up, correct_clock. The resolution itself is closed.


def resolved_forbids(
    resolved: Resolved,
    *,
    deploys: DeploySource,
    executor: RollbackExecutor,
    option: RollbackOption,
    errors: Metric,
    traffic: Metric,
    evidence: Evidence,
) -> None:
    """Every step the resolved phase does not allow is missing from ``Resolved``."""
    resolved.assess_impact(actor=ACTOR, severity=Severity.SEV2, ongoing=True)  # type: ignore[attr-defined]
    resolved.gather_changes(actor=ACTOR, deploys=[deploys])  # type: ignore[attr-defined]
    resolved.review_rollbacks([executor], actor=ACTOR)  # type: ignore[attr-defined]
    resolved.skip_rollback_review(actor=ACTOR, reason=REASON)  # type: ignore[attr-defined]
    resolved.roll_back(option, actor=ACTOR)  # type: ignore[attr-defined]
    resolved.mitigate("drained", actor=ACTOR, why_not_rollback=REASON)  # type: ignore[attr-defined]
    resolved.verify_recovery(actor=ACTOR, errors=errors, traffic=traffic)  # type: ignore[attr-defined]
    resolved.diagnose_without_recovery(actor=ACTOR, reason=REASON)  # type: ignore[attr-defined]
    resolved.begin_diagnosis(actor=ACTOR)  # type: ignore[attr-defined]
    resolved.hypothesis("v42", actor=ACTOR, evidence=[evidence])  # type: ignore[attr-defined]
    resolved.reject_hypothesis("H1", actor=ACTOR, reason=REASON)  # type: ignore[attr-defined]
    resolved.check(ChecklistItem.DEPLOYS, actor=ACTOR, conclusion="v42")  # type: ignore[attr-defined]
    resolved.waive(ChecklistItem.DEPLOYS, actor=ACTOR, reason=REASON)  # type: ignore[attr-defined]
    resolved.resolve(actor=ACTOR, root_cause="v42", evidence=[evidence])  # type: ignore[attr-defined]
    resolved.finding("after the fact", actor=ACTOR)  # type: ignore[attr-defined]
    resolved.update_impact(actor=ACTOR, reason=REASON, severity=Severity.SEV1)  # type: ignore[attr-defined]
    resolved.hand_over(Role.INCIDENT_COMMANDER, to="carol", actor=ACTOR)  # type: ignore[attr-defined]
