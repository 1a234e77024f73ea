r"""The Markdown form of the report, and the escaping that keeps untrusted text inert.

Nearly every string in a report came from outside the library: a title, an
actor's name, a note, a change record from a source, a metric's name, a root
cause. Each is escaped for the place it goes, so that it always reads as the
text it is and never as Markdown or HTML:

* everywhere: a line break (LF, CR, CRLF, U+2028, U+2029) or a tab folds to a
  space, so no value can start a line, a block or a table row; every other
  control character (C0, DEL, C1) and every bidirectional control (U+061C,
  U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069) is shown as an escape,
  ``\x1b`` or ``\u202e``, so no ANSI sequence reaches a terminal and no text
  is reordered;
* in text (:func:`inline`): ``&`` and ``<`` become ``&amp;`` and ``&lt;``, so no
  HTML, entity or autolink can form; ``\``, the backtick, ``*``, ``[``, ``]``, ``~``
  and ``|`` are backslash-escaped, and so is ``_`` unless it joins two letters
  or digits (``error_ratio``, where it cannot emphasise);
* at the start of a block (:func:`block`): leading white space is dropped (four
  spaces would make code) and a leading ``#``, ``>``, ``+``, ``-``, ``=`` or the
  ``.``/``)`` after leading digits is escaped, so the text stays a paragraph;
* in a heading (:func:`heading`): the text escaped as above, and a trailing run
  of ``#`` escaped, so it is not taken for the closing sequence;
* in a code span (:func:`code`): the fence is one backtick longer than the
  longest run of backticks inside, padded with a space where the content
  starts or ends with a backtick or a space; in a table cell ``|`` is escaped
  (a GFM table splits its rows on it even inside code spans).

``>`` is left as it is outside a block's start: without a ``<`` it can form no
HTML, and there it is only text (``v1 -> v2`` stays readable).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from incidentkit._render._common import (
    FoldedRun,
    NamedQuery,
    checklist,
    evidence_text,
    figure_basis,
    fold_findings,
    fold_timeline,
    impact_sentence,
    instants_shown,
    named_queries,
    offset,
    plural,
    recovery_checks,
    responders,
    time_to_rows,
    top_suspects,
    visible,
    when,
)

if TYPE_CHECKING:
    from incidentkit._report import Report
    from incidentkit._timeline import TimelineEntry

__all__ = ["block", "code", "heading", "inline", "render_markdown"]

_PUNCTUATION = re.compile(r"[\\`*\[\]~|&<_]")
_BLOCK_MARKER = re.compile(r"[#>+=-]|[0-9]+(?=[.)])")
_TRAILING_HASHES = re.compile(r"#+$")
_BACKTICKS = re.compile(r"`+")


def _escape(match: re.Match[str]) -> str:
    character = match.group()
    if character == "&":
        return "&amp;"
    if character == "<":
        return "&lt;"
    if character == "_":
        text, at = match.string, match.start()
        if 0 < at < len(text) - 1 and text[at - 1].isalnum() and text[at + 1].isalnum():
            return "_"
    return "\\" + character


def inline(text: str) -> str:
    """Return ``text`` escaped for the inside of a line: a list item, a table cell."""
    return _PUNCTUATION.sub(_escape, visible(text))


def block(text: str) -> str:
    """Return ``text`` escaped to start a paragraph of its own."""
    escaped = inline(visible(text).strip())
    marker = _BLOCK_MARKER.match(escaped)
    if marker is None:
        return escaped
    if marker.group() == ">":
        return "&gt;" + escaped[1:]
    if marker.group().isdigit():  # `1.` and `1)` start an ordered list: escape the `.` or `)`
        return escaped[: marker.end()] + "\\" + escaped[marker.end() :]
    return "\\" + escaped


def heading(text: str) -> str:
    """Return ``text`` escaped as the text of an ATX heading."""
    escaped = inline(visible(text).strip())
    return _TRAILING_HASHES.sub(lambda match: "\\#" * len(match.group()), escaped)


def code(text: str, *, in_table: bool = False) -> str:
    """Return ``text`` as a code span, fenced so that nothing inside can close it."""
    content = visible(text)
    if in_table:
        content = content.replace("|", "\\|")
    if not content:
        return "` `"
    longest = max((len(run) for run in _BACKTICKS.findall(content)), default=0)
    fence = "`" * (longest + 1)
    if content.strip(" ") and (content[0] in "` " or content[-1] in "` "):
        content = f" {content} "
    return f"{fence}{content}{fence}"


def render_markdown(report: Report, *, full_timeline: bool = False) -> str:
    """Return the report as a Markdown document, every value escaped for its place.

    A huge incident's timeline and findings are folded (:func:`._common.fold_timeline`)
    unless ``full_timeline``.
    """
    named = named_queries(report)
    lines: list[str] = [f"# {heading(f'{report.incident_id}: {report.title}')}", ""]
    lines += _header(report)
    lines += _impact(report, named)
    lines += _impact_over_time(report)
    lines += _responders(report)
    lines += ["", "## Time to", "", "| Milestone | From symptom start |", "|---|---|"]
    lines += [f"| {label} | {value} |" for label, value in time_to_rows(report)]
    lines += _suspects(report)
    lines += _interventions(report)
    lines += _recovery(report)
    lines += _findings(report, full=full_timeline)
    lines += _diagnosis(report, named)
    lines += ["", "## Root cause", ""]
    lines.append(block(report.root_cause or "") or "Not determined.")
    if report.root_cause_evidence:
        evidence = ", ".join(evidence_text(e, named) for e in report.root_cause_evidence)
        lines += ["", f"Evidence: {inline(evidence)}"]
    lines += _follow_ups(report)
    lines += _timeline(report, full=full_timeline)
    return "\n".join(lines) + "\n"


def _header(report: Report) -> list[str]:
    detection = inline(report.detection.replace("_", " "))
    lines = [
        f"- **Services:** {inline(', '.join(report.services))}",
        f"- **Detected:** {when(report.detected_at)} by {detection}",
        f"- **Declared:** {when(report.declared_at)} by {inline(report.declared_by)}",
        f"- **Resolved:** {when(report.resolved_at) if report.resolved_at else 'not resolved'}",
    ]
    if report.journal_head is not None:
        lines.append(
            f"- **Journal head:** entry {report.journal_head.seq}, "
            f"sha256 {code(report.journal_head.digest)}"
        )
    return lines


def _impact(report: Report, named: tuple[NamedQuery, ...]) -> list[str]:
    """The impact: severity and user impact first, then the figures, each query named once."""
    lines = ["", "## Impact", ""]
    impact = report.impact
    if impact is None:
        return [*lines, "Not assessed."]
    lines.append(f"{impact_sentence(report)}.")
    summary = block(impact.summary)
    if summary:
        lines += ["", summary]
    if report.onset is not None:
        lines += ["", f"Onset: {inline(instants_shown(report.onset.explanation))}"]
    if report.impact_numbers is not None:
        lines += ["", f"Severity: {inline(instants_shown(report.impact_numbers.explanation))}"]
    affected = [
        f"- {label}: {inline(', '.join(values))}"
        for label, values in (
            ("Services", impact.services),
            ("Regions", impact.regions),
            ("User segments", impact.user_segments),
        )
        if values
    ]
    if affected:
        lines += ["", *affected]
    if named:
        lines += ["", "Queries:", ""]
        for query in named:
            about = ", ".join(part for part in (query.source, query.unit) if part)
            lines.append(
                f"- {inline(query.label)}{f' ({inline(about)})' if about else ''}: "
                f"{code(query.query)}"
            )
    if impact.figures:
        lines += ["", "| Figure | Value | Unit | Basis |", "|---|---|---|---|"]
        lines += [
            f"| {inline(figure.name)} | {figure.value:.6g} | {inline(figure.unit)} | "
            f"{inline(figure_basis(figure, named))} |"
            for figure in impact.figures
        ]
    return lines


def _suspects(report: Report) -> list[str]:
    lines = ["", "## Suspects: changes before the symptom, ranked", ""]
    lines.append(block(instants_shown(report.suspect_verdict)))
    if report.suspects:
        lines += [
            "",
            "| Rank | Score | Change | Service | Started | Reasons |",
            "|---|---|---|---|---|---|",
        ]
    top = top_suspects(report)
    for rank, suspect in enumerate(report.suspects, 1):
        change = suspect.change
        version = f" {change.previous_version or '?'} -> {change.version}" if change.version else ""
        reasons = "; ".join(r.detail for r in suspect.reasons)
        score = f"**{suspect.score:.2f}**" if rank <= top else f"{suspect.score:.2f}"
        lines.append(
            f"| {rank} | {score} | {inline(change.kind.value)} {code(change.id, in_table=True)}"
            f"{inline(version)} ({inline(change.source)}) | {inline(change.service)} | "
            f"{when(change.started)} | {inline(reasons)} |"
        )
    if report.later_changes:
        lines += ["", "## Changes after the symptom began (not its cause; may worsen it)", ""]
        for change in report.later_changes:
            summary = f": {inline(change.summary)}" if change.summary else ""
            lines.append(
                f"- {when(change.started)} {inline(change.kind.value)} {code(change.id)} "
                f"{inline(change.service)} ({inline(change.source)}){summary}"
            )
    return lines


def _interventions(report: Report) -> list[str]:
    lines = ["", "## Interventions", ""]
    if not report.interventions:
        lines.append("None.")
    for item in report.interventions:
        outcome = "succeeded" if item.succeeded else "FAILED"
        detail = f"; {inline(item.detail)}" if item.detail else ""
        lines.append(
            f"- {when(item.at)} {inline(item.kind)} by {inline(item.actor)}, {outcome}: "
            f"{inline(item.description)}{detail}"
        )
    return lines


def _recovery(report: Report) -> list[str]:
    """Each check's plain verdict; its reasons and statistics in one details block."""
    lines = ["", "## Recovery evidence", ""]
    checks = recovery_checks(report)
    if not checks:
        return [*lines, "Recovery was never checked."]
    for check in checks:
        verdict = f": {inline(check.verdict)}" if check.verdict else ""
        lines.append(f"- {when(check.at)} by {inline(check.actor)}: **{check.outcome}**{verdict}")
    lines += ["", "<details><summary>The checks' reasons and statistics</summary>", ""]
    for check in checks:
        lines.append(f"- {when(check.at)}: {inline('; '.join(check.reasons))}")
        lines += [f"  - {inline(line)}" for line in check.statistics]
    lines += ["", "</details>"]
    return lines


def _findings(report: Report, *, full: bool) -> list[str]:
    lines = ["", "## Findings", ""]
    if not report.findings:
        lines.append("None.")
    for group in fold_findings(report.findings, full=full):
        listed = group.first
        finding = listed.finding
        detail = f": {inline(finding.detail)}" if finding.detail else ""
        lines.append(
            f"- **{inline(finding.kind.value.replace('_', ' '))}** "
            f"(entry {listed.seq}, {when(listed.at)}): {inline(finding.summary)}{detail}"
        )
        if group.last is not None:
            last = group.last.finding
            lines.append(
                f"  - and {plural(group.more, 'more finding')} like it, the last (entry "
                f"{group.last.seq}, {when(group.last.at)}): {inline(last.summary)}"
                + (f": {inline(last.detail)}" if last.detail else "")
            )
    return lines


def _diagnosis(report: Report, named: tuple[NamedQuery, ...]) -> list[str]:
    """The usual suspects (checked or waived) and the hypotheses."""
    lines = ["", "## Diagnosis", ""]
    rows = checklist(report)
    if rows:
        lines += ["Usual suspects:", ""]
    for row in rows:
        box = "[x]" if row.checked else "[ ]"
        lines.append(f"- {box} {inline(row.item)}: {inline(row.status)}: {inline(row.detail)}")
    if report.hypotheses:
        lines += ["", "Hypotheses:", ""]
    for hypothesis in report.hypotheses:
        status = f" (rejected: {inline(hypothesis.rejected)})" if hypothesis.rejected else ""
        evidence = inline(", ".join(evidence_text(e, named) for e in hypothesis.evidence))
        lines.append(
            f"- {inline(hypothesis.id)}: {inline(hypothesis.statement)}{status}; "
            f"evidence: {evidence}"
        )
    if not rows and not report.hypotheses:
        lines.append("None recorded.")
    return lines


_TIMELINE_HEAD = ("| Time | T | Source | What | Who |", "|---|---|---|---|---|")


def _timeline_row(entry: TimelineEntry) -> str:
    return (
        f"| {when(entry.at)} | {offset(entry.offset)} | {inline(entry.source)} | "
        f"{inline(entry.summary)} | {inline(entry.actor or '')} |"
    )


def _timeline(report: Report, *, full: bool) -> list[str]:
    """The timeline as a table; each folded run closes it, shows its sample, and opens another."""
    lines = ["", "## Timeline"]
    table_open = False
    shown = fold_timeline(report.timeline, full=full)
    if not shown:
        lines += ["", *_TIMELINE_HEAD]
    for item in shown:
        if not isinstance(item, FoldedRun):
            if not table_open:
                lines += ["", *_TIMELINE_HEAD]
                table_open = True
            lines.append(_timeline_row(item))
            continue
        # The summary is the library's own words, counts and instants: nothing from outside.
        lines += ["", f"<details><summary>{item.summary}</summary>", "", *_TIMELINE_HEAD]
        lines += [_timeline_row(entry) for entry in item.head]
        if item.omitted:
            lines.append(f"| | | | ... {plural(item.omitted, 'more entry', 'more entries')} | |")
        lines += [_timeline_row(entry) for entry in item.tail]
        lines += ["", "</details>"]
        table_open = False
    return lines


def _impact_over_time(report: Report) -> list[str]:
    """The impact's updates after the assessment: how the severity moved, and why."""
    if not report.impact_updates:
        return []
    lines = ["", "### Impact over time", ""]
    for update in report.impact_updates:
        state = "ongoing" if update.ongoing else "not ongoing"
        lines.append(
            f"- {when(update.at)} by {inline(update.actor)}: {inline(update.escalation)} "
            f"{update.previous_severity.value.upper()} -> {update.severity.value.upper()}, "
            f"{state}: {inline(update.reason)}"
        )
    return lines


def _responders(report: Report) -> list[str]:
    """Who worked the incident, the roles they held, and who holds each role now."""
    lines = ["", "## Responders", ""]
    for row in responders(report):
        held = f" ({row.roles})" if row.roles else ""
        current = f"; now {row.now}" if row.now else ""
        # The item starts with the count, never with the name: a name cannot start a block.
        lines.append(f"- {row.entries} by {inline(row.name)}{held}{current}")
    return lines


def _follow_ups(report: Report) -> list[str]:
    """The follow-up action items with their owners."""
    lines = ["", "## Follow-up actions", ""]
    if not report.follow_ups:
        lines.append("None.")
    for item in report.follow_ups:
        notes = f" ({inline(item.notes)})" if item.notes else ""
        late = ", after resolution" if item.after_resolution else ""
        lines.append(
            f"- {inline(item.item_id)}: {inline(item.action)}{notes}; owner "
            f"{inline(item.owner)} (by {inline(item.actor)}, {when(item.at)}{late})"
        )
    return lines
