"""An incident worked through the public protocol with given text in every field.

Every text an incident's steps and sources feed into its report comes from
:data:`FIELDS`; :func:`work_incident` works one incident from declaration to
resolution with the fakes of ``tests/fakes.py`` and a manual clock, and returns
its report. The Markdown, HTML, SVG and JSON tests all use it, with harmless and
hostile strings.
"""

from __future__ import annotations

import pathlib
import re
import tempfile

from fakes import (
    DECLARED_AT,
    DETECTED_AT,
    ERRORS_QUERY,
    SYMPTOM_START,
    TRAFFIC_QUERY,
    FakeDeploySource,
    FakeExecutor,
    FakeMetricSource,
)
from incidentkit import (
    Change,
    ChangeKind,
    ChecklistItem,
    Detection,
    Evidence,
    Figure,
    Incident,
    ManualClock,
    Measure,
    Metric,
    Recovered,
    Report,
    Severity,
)

FIELDS = (
    "incident_id",
    "title",
    "declarer",
    "responder",
    "service",
    "region",
    "segment",
    "impact_summary",
    "measure_name",
    "measure_unit",
    "stated_name",
    "stated_unit",
    "stated_basis",
    "note",
    "finding_summary",
    "finding_detail",
    "source_name",
    "change_id",
    "change_summary",
    "change_version",
    "change_previous",
    "change_author",
    "later_id",
    "later_summary",
    "mitigation",
    "why_not_rollback",
    "hypothesis",
    "hypothesis_evidence",
    "rejected_hypothesis",
    "rejection_link",
    "rejection_reason",
    "conclusion",
    "infrastructure_waiver",
    "dependencies_waiver",
    "root_cause",
    "root_cause_evidence",
)
"""Every text an incident's steps and sources feed into its report."""

HARMLESS = {field: f"safe{position}" for position, field in enumerate(FIELDS)}
"""Ordinary strings for every field; library text never contains ``safe``."""

NASTY = (
    "\n",
    "\r\n",
    "\r",
    "\n\n",
    "\t",
    "    ",
    "|",
    "`",
    "```",
    "~~~",
    "<",
    ">",
    "&",
    "&amp;",
    "&#x202e;",
    "#",
    "## ",
    "\n## Root cause\n",
    "---",
    "===",
    "***",
    "- ",
    "+ ",
    "1. ",
    "2) ",
    "> ",
    "*",
    "_",
    "__",
    "~~",
    "\\",
    "[x](javascript:alert(1))",
    "[x](https://evil.example/)",
    "https://evil.example/",
    "![i](http://x/y.png)",
    "<http://x>",
    "[ref]: http://x",
    "<script>alert(1)</script>",
    "<!--",
    "\x1b[2J",
    "\x1b[31m",
    "\x00",
    "\x7f",
    "\x85",
    "\x9b",
    "\u2028",
    "\u202e",
    "\u2066",
)
"""Fragments that would be markup, a line break or a control sequence if left raw."""

CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""What must not be in a report: control characters and bidirectional controls."""

SCRATCH = "/dev/shm" if pathlib.Path("/dev/shm").is_dir() else None  # noqa: S108 - see below
"""Where the journals go: in memory where the system has it.

The journal fsyncs every step, which on a disk costs most of each example's
time; its durability is tested elsewhere, not here.
"""


# -- an incident, worked with the given strings -------------------------------------------------


def work_incident(directory: pathlib.Path, text: dict[str, str]) -> Report:
    """Work an incident from declaration to resolution with ``text`` in every field."""
    clock = ManualClock(DECLARED_AT)
    metrics = FakeMetricSource()
    suspect = Change(
        text["change_id"],
        ChangeKind.DEPLOY,
        text["service"],
        SYMPTOM_START.subtract(minutes=5),
        SYMPTOM_START.subtract(minutes=2),
        summary=text["change_summary"],
        version=text["change_version"],
        previous_version=text["change_previous"],
        author=text["change_author"],
    )
    later = Change(
        text["later_id"],
        ChangeKind.CONFIG,
        text["service"],
        SYMPTOM_START.add(minutes=1),
        summary=text["later_summary"],
    )
    executor = FakeExecutor(on_execute=lambda: metrics.heal(clock.now()))
    declarer, responder = text["declarer"], text["responder"]
    reviewed = (
        Incident.declare(
            title=text["title"],
            services=[text["service"]],
            actor=declarer,
            detection=Detection.ALERT,
            journal=directory / "incident.jsonl",
            detected_at=DETECTED_AT,
            incident_id=text["incident_id"],
            clock=clock,
        )
        .note(text["note"], actor=responder)
        .assess_impact(
            actor=declarer,
            ongoing=True,
            severity=Severity.SEV2,
            symptom_start=SYMPTOM_START,
            regions=[text["region"]],
            user_segments=[text["segment"]],
            measures=[
                Measure(
                    text["measure_name"], Metric(metrics, ERRORS_QUERY, unit=text["measure_unit"])
                )
            ],
            stated=[
                Figure(
                    text["stated_name"],
                    120,
                    text["stated_unit"],
                    evidence=Evidence.text(text["stated_basis"]),
                )
            ],
            summary=text["impact_summary"],
        )
        .finding(text["finding_summary"], actor=responder, detail=text["finding_detail"])
        .gather_changes(
            actor=responder,
            deploys=[FakeDeploySource([suspect, later], name=text["source_name"])],
        )
        .review_rollbacks([executor], actor=responder)
    )
    clock.advance(minutes=2)
    option = next(o for o in reviewed.rollback_options if o.change_id == suspect.id)
    intervened = reviewed.roll_back(option, actor=responder).mitigate(
        text["mitigation"], actor=responder, why_not_rollback=text["why_not_rollback"]
    )
    clock.advance(minutes=20)
    recovered = intervened.verify_recovery(
        actor=responder,
        errors=Metric(metrics, ERRORS_QUERY, unit="ratio"),
        traffic=Metric(metrics, TRAFFIC_QUERY, unit="req/s"),
    )
    assert isinstance(recovered, Recovered), recovered.last_verdict
    diagnosing = (
        recovered.begin_diagnosis(actor=declarer)
        .hypothesis(
            text["hypothesis"],
            actor=declarer,
            evidence=[Evidence.change(suspect.id), Evidence.text(text["hypothesis_evidence"])],
        )
        .hypothesis(
            text["rejected_hypothesis"],
            actor=declarer,
            evidence=[Evidence.link(text["rejection_link"])],
        )
    )
    rejected = list(diagnosing.hypotheses)[-1]
    clock.advance(minutes=5)
    return (
        diagnosing.reject_hypothesis(rejected, actor=declarer, reason=text["rejection_reason"])
        .check(ChecklistItem.DEPLOYS, actor=declarer, conclusion=text["conclusion"])
        .waive(ChecklistItem.INFRASTRUCTURE, actor=declarer, reason=text["infrastructure_waiver"])
        .waive(ChecklistItem.DEPENDENCIES, actor=declarer, reason=text["dependencies_waiver"])
        .resolve(
            actor=declarer,
            root_cause=text["root_cause"],
            evidence=[Evidence.text(text["root_cause_evidence"]), Evidence.change(suspect.id)],
        )
        .report()
    )


def report_with(**text: str) -> Report:
    """Return the report of the incident worked with harmless strings, but for ``text``."""
    with tempfile.TemporaryDirectory(dir=SCRATCH) as directory:
        return work_incident(pathlib.Path(directory), {**HARMLESS, **text})
