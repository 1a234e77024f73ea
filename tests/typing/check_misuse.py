"""Negative cases: allowed steps called wrongly, and a verdict used without narrowing.

Each line carries ``# type: ignore[code]`` with the mypy error code it must raise;
mypy (``warn_unused_ignores``) and pyright (``reportUnnecessaryTypeIgnoreComment``)
fail on an ignore that is no longer needed, so a call that stops being an error
breaks the check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from incidentkit import ChecklistItem, Severity

if TYPE_CHECKING:
    from incidentkit import (
        Assessed,
        Declared,
        Diagnosing,
        Evidence,
        Intervened,
        Metric,
        Recovered,
        Reviewed,
    )

ACTOR = "alice"
REASON = "a reason"


# --- wrong argument types -----------------------------------------------------


def wrong_argument_types(
    declared: Declared, reviewed: Reviewed, diagnosing: Diagnosing, evidence: Evidence
) -> None:
    """A value of the wrong type is rejected, strings where a value object belongs first."""
    reviewed.roll_back("not an option", actor=ACTOR)  # type: ignore[arg-type]
    declared.assess_impact(actor=ACTOR, severity=2, ongoing=True)  # type: ignore[arg-type]
    diagnosing.check("deploys", actor=ACTOR, conclusion="v42")  # type: ignore[arg-type]
    diagnosing.hypothesis("v42", actor=ACTOR, evidence="a log line")  # type: ignore[arg-type]
    diagnosing.resolve(actor=ACTOR, root_cause="v42", evidence=evidence)  # type: ignore[arg-type]


# --- missing required arguments -----------------------------------------------


def missing_required_arguments(
    declared: Declared,
    reviewed: Reviewed,
    diagnosing: Diagnosing,
    *,
    errors: Metric,
) -> None:
    """Justifications and evidence are required, never defaulted."""
    reviewed.mitigate("drained eu-west", actor=ACTOR)  # type: ignore[call-arg]
    diagnosing.resolve(actor=ACTOR, root_cause="v42")  # type: ignore[call-arg]
    diagnosing.waive(ChecklistItem.DEPLOYS, actor=ACTOR)  # type: ignore[call-arg]
    declared.assess_impact(actor=ACTOR, severity=Severity.SEV2)  # type: ignore[call-arg]
    reviewed.verify_recovery(actor=ACTOR, errors=errors)  # type: ignore[call-overload]
    declared.diagnose_without_recovery(actor=ACTOR)  # type: ignore[call-arg]
    declared.note("paged")  # type: ignore[call-arg]


def overrides_need_a_reason(assessed: Assessed) -> None:
    """An override without a reason is rejected: overrides are never silent."""
    assessed.skip_rollback_review(actor=ACTOR)  # type: ignore[call-arg]


# --- a verdict used without narrowing -----------------------------------------


def verdict_needs_narrowing(intervened: Intervened, errors: Metric, traffic: Metric) -> None:
    """``Recovered | Intervened`` must be narrowed before a step only one side has."""
    outcome = intervened.verify_recovery(actor=ACTOR, errors=errors, traffic=traffic)
    outcome.begin_diagnosis(actor=ACTOR)  # type: ignore[union-attr]
    outcome.mitigate("scaled up", actor=ACTOR, why_not_rollback=REASON)  # type: ignore[union-attr]


def union_parameter_needs_narrowing(outcome: Recovered | Intervened) -> None:
    """The same holds for a verdict passed along without narrowing."""
    outcome.begin_diagnosis(actor=ACTOR)  # type: ignore[union-attr]
