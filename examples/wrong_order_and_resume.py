"""The protocol refuses a wrong order, and an ops script resumes from its journal.

Part one declares an incident and tries to roll back before the impact is
known: the protocol refuses and says what must come first. It then assesses
the impact and stops, as an ops script does at the end of its run. Part two
runs in a separate process, as the same script would an hour later: it
resumes the incident from the journal, narrows the phase it gets back, and
carries on.

Run it with ``python examples/wrong_order_and_resume.py``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from incidentkit import (
    Assessed,
    Declared,
    Detection,
    Figure,
    Incident,
    ProtocolViolation,
    Severity,
    StalePhaseError,
)


def first_run(journal: Path) -> None:
    """Declare, try the wrong order, assess the impact, and stop."""
    declared = Incident.declare(
        title="Search results are empty for some users",
        services="search",
        actor="alice",
        detection=Detection.CUSTOMER_REPORT,
        journal=journal,
    )
    try:
        declared.mitigate(  # type: ignore[attr-defined]  # the wrong order, on purpose
            "restart search", actor="alice", why_not_rollback="it is quicker"
        )
    except ProtocolViolation as refusal:
        print(f"refused: {refusal}")

    assessed = declared.assess_impact(
        actor="alice",
        severity=Severity.SEV3,
        ongoing=True,
        regions=["eu-west-1"],
        stated=[Figure("share_of_users", 0.03, "ratio")],
        summary="About 3% of users in eu-west-1 see empty search results.",
    )
    try:
        declared.note("still here?", actor="alice")
    except StalePhaseError as stale:
        print(f"refused: {stale}")
    print(f"first run stops in phase {assessed.phase!r}; findings: ")
    for finding in assessed.findings:
        print(f"  {finding.kind.value}: {finding.summary}")


def second_run(journal: Path) -> None:
    """Resume from the journal in a fresh process and carry on."""
    phase = Incident.resume(journal)
    match phase:
        case Declared():
            print("resumed: the impact is still to be assessed")
        case Assessed():
            print(f"resumed in {phase.phase!r}: impact {phase.impact.severity.value}, ongoing")
            phase.note("resumed by the hourly ops script", actor="ops-bot")
        case _:
            print(f"resumed in {phase.phase!r}")
    print(f"journal has {len(Incident.resume(journal).events)} events")


def main(argv: list[str]) -> int:
    """Run part one here and part two in a child process."""
    if len(argv) == 3 and argv[1] == "--resume":  # noqa: PLR2004 - the child's arguments
        second_run(Path(argv[2]))
        return 0
    journal = Path(tempfile.mkdtemp()) / "search.jsonl"
    first_run(journal)
    child = subprocess.run(  # noqa: S603 - a fixed argument list, no shell
        [sys.executable, __file__, "--resume", str(journal)], check=False
    )
    return child.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv))
