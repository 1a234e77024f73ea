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

import pendulum

if TYPE_CHECKING:
    from incidentkit._report import Report

__all__ = ["block", "code", "heading", "inline", "render_report", "visible"]

_LINE_BREAKS = re.compile(r"[\r\n\t\u2028\u2029]+")
_CONTROLS = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]",
)
_PUNCTUATION = re.compile(r"[\\`*\[\]~|&<_]")
_BLOCK_MARKER = re.compile(r"[#>+=-]|[0-9]+(?=[.)])")
_TRAILING_HASHES = re.compile(r"#+$")
_BACKTICKS = re.compile(r"`+")


def _shown(character: str) -> str:
    point = ord(character)
    return f"\\x{point:02x}" if point < 0x100 else f"\\u{point:04x}"  # noqa: PLR2004 - one byte


def visible(text: str) -> str:
    """Return ``text`` on one line, its control characters shown as escapes."""
    folded = _LINE_BREAKS.sub(" ", text)
    return _CONTROLS.sub(lambda match: _shown(match.group()), folded)


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


def render_report(report: Report) -> str:  # noqa: C901, PLR0912, PLR0915 - a linear document
    """Return the report as a Markdown document, every value escaped for its place."""
    lines: list[str] = [f"# {heading(f'{report.incident_id}: {report.title}')}", ""]
    lines += [
        f"- **Services:** {inline(', '.join(report.services))}",
        f"- **Detected:** {_t(report.detected_at)} by {inline(report.detection.replace('_', ' '))}",
        f"- **Declared:** {_t(report.declared_at)} by {inline(report.declared_by)}",
        f"- **Resolved:** {_t(report.resolved_at) if report.resolved_at else 'not resolved'}",
    ]
    if report.journal_head is not None:
        lines.append(
            f"- **Journal head:** entry {report.journal_head.seq}, "
            f"sha256 {code(report.journal_head.digest)}"
        )
    lines += ["", "## Impact", ""]
    if report.impact is None:
        lines.append("Not assessed.")
    else:
        impact = report.impact
        lines.append(
            f"{impact.severity.value.upper()}, "
            f"{'ongoing' if impact.ongoing else 'not ongoing'} at assessment; "
            f"symptom began {_t(impact.symptom_start)}."
        )
        summary = block(impact.summary)
        if summary:
            lines += ["", summary]
        if report.onset is not None:
            lines += ["", f"Onset: {inline(report.onset.explanation)}"]
        if report.impact_numbers is not None:
            lines += ["", f"Severity: {inline(report.impact_numbers.explanation)}"]
        lines.append("")
        for label, values in (
            ("Services", impact.services),
            ("Regions", impact.regions),
            ("User segments", impact.user_segments),
        ):
            if values:
                lines.append(f"- {label}: {inline(', '.join(values))}")
        if impact.figures:
            lines += ["", "| Figure | Value | Unit | Basis |", "|---|---|---|---|"]
            for figure in impact.figures:
                basis = "measured" if figure.measured else "stated"
                if figure.evidence is not None:
                    basis += f" ({figure.evidence})"
                lines.append(
                    f"| {inline(figure.name)} | {figure.value:.6g} | {inline(figure.unit)} | "
                    f"{inline(basis)} |"
                )
    lines += _impact_over_time(report)
    lines += _responders(report)
    lines += ["", "## Time to", "", "| Milestone | From symptom start |", "|---|---|"]
    for label, seconds in (
        ("Detect", report.time_to.detect),
        ("Declare", report.time_to.declare),
        ("Assess impact", report.time_to.assess),
        ("First intervention", report.time_to.first_intervention),
        ("Recovery verified", report.time_to.recovery_verified),
        ("Resolve", report.time_to.resolve),
    ):
        lines.append(f"| {label} | {_duration(seconds)} |")
    lines += ["", "## Suspects: changes before the symptom, ranked", ""]
    lines.append(block(report.suspect_verdict))
    if report.suspects:
        lines += [
            "",
            "| Score | Change | Service | Started | Reasons |",
            "|---|---|---|---|---|",
        ]
    for suspect in report.suspects:
        change = suspect.change
        version = f" {change.previous_version or '?'} -> {change.version}" if change.version else ""
        reasons = "; ".join(r.detail for r in suspect.reasons)
        lines.append(
            f"| {suspect.score:.2f} | {inline(change.kind.value)} {code(change.id, in_table=True)}"
            f"{inline(version)} ({inline(change.source)}) | {inline(change.service)} | "
            f"{_t(change.started)} | {inline(reasons)} |"
        )
    if report.later_changes:
        lines += ["", "## Changes after the symptom began (not its cause; may worsen it)", ""]
        for change in report.later_changes:
            summary = f": {inline(change.summary)}" if change.summary else ""
            lines.append(
                f"- {_t(change.started)} {inline(change.kind.value)} {code(change.id)} "
                f"{inline(change.service)} ({inline(change.source)}){summary}"
            )
    lines += ["", "## Interventions", ""]
    if not report.interventions:
        lines.append("None.")
    for item in report.interventions:
        outcome = "succeeded" if item.succeeded else "FAILED"
        detail = f"; {inline(item.detail)}" if item.detail else ""
        lines.append(
            f"- {_t(item.at)} {inline(item.kind)} by {inline(item.actor)}, {outcome}: "
            f"{inline(item.description)}{detail}"
        )
    lines += ["", "## Recovery evidence", ""]
    if not report.recovery:
        lines.append("Recovery was never checked.")
    for check in report.recovery:
        verdict = check.verdict
        lines.append(
            f"- {_t(check.at)} by {inline(check.actor)}: **{inline(verdict.outcome.value)}**: "
            + inline("; ".join(verdict.reasons))
        )
        if verdict.baseline_level is not None:
            lines.append(
                f"  - baseline level {verdict.baseline_level:.6g}, threshold "
                f"{verdict.threshold:.6g}, baseline traffic {verdict.baseline_traffic:.6g}, "
                f"held {verdict.held_for:.0f} s, {verdict.checked_samples} samples, "
                f"{verdict.gaps} gaps, {verdict.low_traffic_samples} low-traffic"
            )
        if verdict.shift is not None and verdict.p_value is not None:
            lines.append(
                f"  - Mann-Whitney U {verdict.u_statistic:g} (one-sided p "
                f"{verdict.p_value:.3g}), Hodges-Lehmann shift {verdict.shift:+.6g} "
                f"(CI {verdict.shift_low:+.6g} to {verdict.shift_high:+.6g}), "
                f"allowed {verdict.allowed_shift:.6g}, "
                f"{verdict.post_samples} samples against {verdict.baseline_samples}"
            )
    lines += ["", "## Findings", ""]
    if not report.findings:
        lines.append("None.")
    for listed in report.findings:
        finding = listed.finding
        detail = f": {inline(finding.detail)}" if finding.detail else ""
        lines.append(
            f"- **{inline(finding.kind.value.replace('_', ' '))}** "
            f"(entry {listed.seq}, {_t(listed.at)}): {inline(finding.summary)}{detail}"
        )
    lines += ["", "## Diagnosis", ""]
    for line in report.checklist:
        sources = f" against {inline(', '.join(line.sources))}" if line.sources else ""
        lines.append(
            f"- [x] {inline(line.item)}: {inline(line.status)}{sources}: {inline(line.detail)}"
        )
    for hypothesis in report.hypotheses:
        status = f" (rejected: {inline(hypothesis.rejected)})" if hypothesis.rejected else ""
        evidence = inline(", ".join(str(e) for e in hypothesis.evidence))
        lines.append(
            f"- {inline(hypothesis.id)}: {inline(hypothesis.statement)}{status}; "
            f"evidence: {evidence}"
        )
    lines += ["", "## Root cause", ""]
    lines.append(block(report.root_cause or "") or "Not determined.")
    if report.root_cause_evidence:
        evidence = inline(", ".join(str(e) for e in report.root_cause_evidence))
        lines += ["", f"Evidence: {evidence}"]
    lines += _follow_ups(report)
    lines += [
        "",
        "## Timeline",
        "",
        "| Time (UTC) | T | Source | What | Who |",
        "|---|---|---|---|---|",
    ]
    for entry in report.timeline:
        lines.append(
            f"| {entry.at.format('YYYY-MM-DD HH:mm:ss')} | {_offset(entry.offset)} | "
            f"{inline(entry.source)} | {inline(entry.summary)} | {inline(entry.actor or '')} |"
        )
    return "\n".join(lines) + "\n"


def _impact_over_time(report: Report) -> list[str]:
    """The impact's updates after the assessment: how the severity moved, and why."""
    if not report.impact_updates:
        return []
    lines = ["", "### Impact over time", ""]
    for update in report.impact_updates:
        state = "ongoing" if update.ongoing else "not ongoing"
        lines.append(
            f"- {_t(update.at)} by {inline(update.actor)}: {update.escalation} "
            f"{update.previous_severity.value.upper()} -> {update.severity.value.upper()}, "
            f"{state}: {inline(update.reason)}"
        )
    return lines


def _responders(report: Report) -> list[str]:
    """Who worked the incident, the roles they held, and who holds each role now."""
    lines = ["", "## Responders", ""]
    holders = dict(report.roles)
    for responder in report.responders:
        roles = ", ".join(r.value.replace("_", " ") for r in responder.roles)
        now = [r.value.replace("_", " ") for r, h in holders.items() if h == responder.name]
        held = f" ({roles})" if roles else ""
        current = f"; now {', '.join(now)}" if now else ""
        entries = "entry" if responder.entries == 1 else "entries"
        # The item starts with the count, never with the name: a name cannot start a block.
        lines.append(f"- {responder.entries} {entries} by {inline(responder.name)}{held}{current}")
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
            f"{inline(item.owner)} (by {inline(item.actor)}, {_t(item.at)}{late})"
        )
    return lines


def _t(at: pendulum.DateTime) -> str:
    return at.format("YYYY-MM-DD HH:mm:ss") + " UTC"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "not reached"
    sign = "-" if seconds < 0 else ""
    total = round(abs(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours} h {minutes:02d} min"
    return f"{sign}{minutes} min {secs:02d} s"


def _offset(seconds: float | None) -> str:
    if seconds is None:
        return ""
    sign = "+" if seconds >= 0 else "-"
    total = round(abs(seconds))
    hours, rest = divmod(total, 3600)
    return f"T{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"
