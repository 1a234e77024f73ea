r"""What every format of the report says the same way.

The renderers escape; this module decides the words. Each function returns
plain text (or plain-text parts), never markup:

* one time format, :func:`when` (``2026-11-20 14:07:00 UTC``), also inside the
  library's own sentences (:func:`instants_shown`), and one duration format,
  :func:`duration`;
* plural forms, :func:`plural`;
* each metric query named once (:func:`named_queries`), then referred to by
  its label (``the error query``);
* the time-to rows, the duration of user impact included (:func:`time_to_rows`);
* each recovery check's plain verdict first, its statistics apart
  (:func:`recovery_checks`);
* waived checklist items as waived, not as checked (:func:`checklist`);
* the timeline and the findings of a huge incident folded, so the report stays
  readable and its size bounded (:func:`fold_timeline`, :func:`fold_findings`).

:func:`visible` folds a value onto one line and shows its control characters
as escapes (``\x1b``, ``\u202e``): every format applies it to every value from
outside, so no ANSI sequence reaches a terminal and no text is reordered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

import attrs
import pendulum

from incidentkit._recovery import RecoveryOutcome, RecoveryVerdict

if TYPE_CHECKING:
    from incidentkit._model import Evidence, Figure

    # Never (un)structured by cattrs, and a run-time import would be circular.
    from incidentkit._report import RecoveryCheck, Report, ReportFinding  # noqa: TC004
    from incidentkit._timeline import TimelineEntry  # noqa: TC004

__all__ = [
    "FOLD_AT",
    "FOLD_SAMPLE",
    "CheckView",
    "ChecklistRow",
    "FindingGroup",
    "FoldedRun",
    "NamedQuery",
    "ResponderRow",
    "checklist",
    "duration",
    "evidence_text",
    "figure_basis",
    "fold_findings",
    "fold_timeline",
    "impact_sentence",
    "instants_shown",
    "named_queries",
    "number",
    "offset",
    "plain_verdict",
    "plural",
    "recovery_checks",
    "responders",
    "time_to_rows",
    "top_suspects",
    "visible",
    "when",
]

_LINE_BREAKS: Final = re.compile(r"[\r\n\t\u2028\u2029]+")
_CONTROLS: Final = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]",
)
_UTC_INSTANT: Final = re.compile(
    r"\b([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.[0-9]+)?(?:\+00:00|Z)"
)
_TOP_SUSPECTS: Final = 3
_COMPARISONS: Final = {
    "within": "within the allowed shift",
    "elevated": "probably above the allowed shift",
    "high": "above the allowed shift",
}


def _shown(character: str) -> str:
    point = ord(character)
    return f"\\x{point:02x}" if point < 0x100 else f"\\u{point:04x}"  # noqa: PLR2004 - one byte


def visible(text: str) -> str:
    """Return ``text`` on one line, its control characters shown as escapes."""
    folded = _LINE_BREAKS.sub(" ", text)
    return _CONTROLS.sub(lambda match: _shown(match.group()), folded)


def when(at: pendulum.DateTime) -> str:
    """Return an instant as the report shows every instant: ``2026-11-20 14:07:00 UTC``."""
    return at.in_timezone("UTC").format("YYYY-MM-DD HH:mm:ss") + " UTC"


def instants_shown(text: str) -> str:
    """Return the library's own sentence with its UTC instants written as :func:`when` does."""
    return _UTC_INSTANT.sub(r"\1 \2 UTC", text)


def duration(seconds: float | None) -> str:
    """Return a duration as ``45 s``, ``12 min 05 s`` or ``1 h 23 min`` (``not reached``)."""
    if seconds is None:
        return "not reached"
    sign = "-" if seconds < 0 else ""
    total = round(abs(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours} h {minutes:02d} min"
    if minutes:
        return f"{sign}{minutes} min {secs:02d} s"
    return f"{sign}{secs} s"


def offset(seconds: float | None) -> str:
    """Return the time from the symptom start as ``T+0:04:00`` (empty if unknown)."""
    if seconds is None:
        return ""
    sign = "+" if seconds >= 0 else "-"
    total = round(abs(seconds))
    hours, rest = divmod(total, 3600)
    return f"T{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"


def plural(count: int, noun: str, many: str | None = None) -> str:
    """Return ``"1 sample"``, ``"0 samples"``, ``"3 entries"`` (with ``many="entries"``)."""
    return f"{count:,} {noun if count == 1 else many or noun + 's'}"


def number(value: float | None) -> str:
    """Return a figure with six significant digits (``n/a`` for none)."""
    return "n/a" if value is None else f"{value:.6g}"


# -- the queries, named once ------------------------------------------------------------


@attrs.frozen
class NamedQuery:
    """A metric query the report names once and then refers to by its label."""

    label: str
    query: str
    source: str = ""
    unit: str = ""


def named_queries(report: Report) -> tuple[NamedQuery, ...]:
    """Return every metric query the report refers to, each once, with a label.

    The chart's error and traffic queries are ``error query`` and ``traffic
    query``; any other query an impact figure, a hypothesis or the root cause
    points at is ``query 3``, ``query 4`` and so on, in order of appearance.
    """
    named: list[NamedQuery] = []
    chart = report.chart
    if chart is not None:
        for series, label in ((chart.errors, "error query"), (chart.traffic, "traffic query")):
            if series is not None and all(n.query != series.query for n in named):
                named.append(NamedQuery(label, series.query, series.source, series.unit))
    evidence: list[Evidence] = []
    if report.impact is not None:
        evidence += [f.evidence for f in report.impact.figures if f.evidence is not None]
    for hypothesis in report.hypotheses:
        evidence += hypothesis.evidence
    evidence += report.root_cause_evidence
    for item in evidence:
        if item.kind == "metric" and all(n.query != item.ref for n in named):
            named.append(NamedQuery(f"query {len(named) + 1}", item.ref))
    return tuple(named)


def _label(query: str, named: Iterable[NamedQuery]) -> str | None:
    return next((n.label for n in named if n.query == query), None)


def evidence_text(evidence: Evidence, named: Iterable[NamedQuery]) -> str:
    """Return a piece of evidence in words, a named query by its label."""
    label = _label(evidence.ref, named) if evidence.kind == "metric" else None
    return f"metric: the {label}" if label is not None else str(evidence)


def figure_basis(figure: Figure, named: Iterable[NamedQuery]) -> str:
    """Return how a figure is known: ``measured from the error query``, ``stated (text: ...)``."""
    basis = "measured" if figure.measured else "stated"
    evidence = figure.evidence
    if evidence is None:
        return basis
    label = _label(evidence.ref, named) if evidence.kind == "metric" else None
    if label is not None:
        return f"{basis} from the {label}"
    return f"{basis} ({evidence})"


@attrs.frozen
class ResponderRow:
    """A responder as the report lists them: ``9 entries`` by a name, the roles held and now."""

    entries: str
    name: str
    roles: str
    now: str


def responders(report: Report) -> list[ResponderRow]:
    """Return who worked the incident, the roles they held, and which they hold now."""
    holders = dict(report.roles)
    return [
        ResponderRow(
            plural(responder.entries, "entry", "entries"),
            responder.name,
            ", ".join(r.value.replace("_", " ") for r in responder.roles),
            ", ".join(r.value.replace("_", " ") for r, h in holders.items() if h == responder.name),
        )
        for responder in report.responders
    ]


# -- time to ------------------------------------------------------------------------------


def time_to_rows(report: Report) -> list[tuple[str, str]]:
    """Return the time-to table: each milestone and its time from the symptom start.

    The user impact (from the symptom start to the symptom's end, the start of
    the healthy streak a recovery check accepted) is among them.
    """
    time_to = report.time_to
    impact = (
        duration(time_to.symptom_ended)
        if time_to.symptom_ended is not None
        else "not shown to have ended"
    )
    return [
        ("Detect", duration(time_to.detect)),
        ("Declare", duration(time_to.declare)),
        ("Assess impact", duration(time_to.assess)),
        ("First intervention", duration(time_to.first_intervention)),
        ("User impact (symptom start to end)", impact),
        ("Recovery verified", duration(time_to.recovery_verified)),
        ("Resolve", duration(time_to.resolve)),
    ]


def impact_sentence(report: Report) -> str:
    """Return the impact in one sentence: severity, ongoing or not, and how long users suffered.

    ``SEV1, ongoing at assessment; symptom began 2026-11-20 14:07:00 UTC; user
    impact 27 min 00 s, until 2026-11-20 14:34:00 UTC`` (no trailing period).
    """
    impact = report.impact
    if impact is None:
        return "Not assessed"
    state = "ongoing" if impact.ongoing else "not ongoing"
    ended = report.time_to.symptom_ended
    lasted = (
        "user impact not shown to have ended"
        if ended is None
        else f"user impact {duration(ended)}, until {when(impact.symptom_start.add(seconds=ended))}"
    )
    return (
        f"{impact.severity.value.upper()}, {state} at assessment; symptom began "
        f"{when(impact.symptom_start)}; {lasted}"
    )


# -- suspects -------------------------------------------------------------------------------


def top_suspects(report: Report) -> int:
    """How many suspects, from the first, the report highlights (at most three).

    A suspect is highlighted when it scores at least the ranking's minimum score.
    """
    least = report.suspect_min_score
    if least is None:
        return 0
    count = 0
    for suspect in report.suspects[:_TOP_SUSPECTS]:
        if suspect.score < least:
            break
        count += 1
    return count


# -- recovery ---------------------------------------------------------------------------------


@attrs.frozen
class CheckView:
    """A recovery check as the report shows it: the plain verdict first, the figures apart.

    Attributes:
        at: When it was checked.
        actor: Who checked.
        outcome: ``recovered``, ``not recovered`` or ``inconclusive``.
        recovered: Whether the outcome is recovered.
        verdict: The verdict in plain words (without the outcome).
        reasons: The check's reasons, in full.
        statistics: The figures behind it, one line each.
    """

    at: pendulum.DateTime
    actor: str
    outcome: str
    recovered: bool
    verdict: str
    reasons: tuple[str, ...]
    statistics: tuple[str, ...]


def plain_verdict(verdict: RecoveryVerdict) -> str:
    """Return a recovery verdict in plain words, without its outcome: what a reader needs first.

    Recovered: since when the errors are back at the baseline and for how long it
    held. Otherwise: the verdict's first reason, its instants as the report shows them.
    """
    if verdict.outcome is RecoveryOutcome.RECOVERED and verdict.healthy_since is not None:
        if verdict.test == "threshold-hold" and verdict.threshold is not None:
            traffic = (
                "with traffic" if verdict.baseline_traffic is not None else "traffic not checked"
            )
            return (
                f"at or under the threshold {verdict.threshold:g} and back near the baseline "
                f"since {when(verdict.healthy_since)}, held for {duration(verdict.held_for)}, "
                f"{traffic}."
            )
        return (
            f"back at the baseline since {when(verdict.healthy_since)}, held for "
            f"{duration(verdict.held_for)}, with traffic."
        )
    if not verdict.reasons:
        return ""
    reason = instants_shown(verdict.reasons[0])
    return reason if reason.endswith((".", ":")) else f"{reason}."


def _statistics(check: RecoveryCheck) -> tuple[str, ...]:
    v = check.verdict
    lines: list[str] = []
    if v.baseline_level is not None:
        lines.append(
            f"baseline level {number(v.baseline_level)}, healthy threshold "
            f"{number(v.threshold)}, baseline traffic {number(v.baseline_traffic)}; "
            f"held {duration(v.held_for)}; {plural(v.checked_samples, 'sample')} judged, "
            f"{plural(v.gaps, 'gap')}, {plural(v.low_traffic_samples, 'low-traffic sample')}"
        )
    if v.shift is not None and v.p_value is not None and v.u_statistic is not None:
        confidence = f"{v.confidence:.0%} " if v.confidence is not None else ""
        interval = (
            f" ({confidence}CI {v.shift_low:+.6g} to {v.shift_high:+.6g})"
            if v.shift_low is not None and v.shift_high is not None
            else ""
        )
        comparison = f"; {_COMPARISONS[v.comparison]}" if v.comparison is not None else ""
        lines.append(
            f"Mann-Whitney U {v.u_statistic:g}, one-sided p {v.p_value:.3g}; Hodges-Lehmann "
            f"shift {v.shift:+.6g}{interval}, allowed {number(v.allowed_shift)}; "
            f"{plural(v.post_samples, 'sample')} against {v.baseline_samples:,}{comparison}"
        )
    return tuple(lines)


def recovery_checks(report: Report) -> list[CheckView]:
    """Return each recovery check: its plain verdict, its reasons and its statistics."""
    return [
        CheckView(
            check.at,
            check.actor,
            check.verdict.outcome.value.replace("_", " "),
            check.verdict.outcome is RecoveryOutcome.RECOVERED,
            plain_verdict(check.verdict),
            tuple(instants_shown(reason) for reason in check.verdict.reasons),
            _statistics(check),
        )
        for check in report.recovery
    ]


# -- diagnosis --------------------------------------------------------------------------------


@attrs.frozen
class ChecklistRow:
    """A usual suspect as the report lists it: checked (against sources) or waived."""

    item: str
    checked: bool
    status: str
    detail: str


def checklist(report: Report) -> list[ChecklistRow]:
    """Return the checklist: ``checked against spinnaker`` or ``waived, not checked``."""
    rows: list[ChecklistRow] = []
    for line in report.checklist:
        checked = line.status == "checked"
        if checked:
            status = f"checked against {', '.join(line.sources)}" if line.sources else "checked"
        else:
            status = "waived, not checked"
        rows.append(ChecklistRow(line.item, checked, status, line.detail))
    return rows


# -- a huge incident, folded ----------------------------------------------------------------

FOLD_AT: Final = 12
"""A run of fewer foldable timeline entries, or fewer findings alike, is shown whole."""
FOLD_SAMPLE: Final = 5
"""A folded run shows its first and its last this many entries."""

_NUMBERS: Final = re.compile(r"[0-9]+")
_FOLDED_NOUNS: Final = {
    # The event types that fold, and how a folded run counts them: a note always
    # folds; a finding or a gathering folds when it repeats one already shown.
    "note_added": ("note", "notes"),
    "finding_recorded": ("repeated finding", "repeated findings"),
    "changes_gathered": ("repeated gathering of changes", "repeated gatherings of changes"),
}


def _alike(text: str) -> str:
    """What two texts share when they say the same but for their numbers."""
    return _NUMBERS.sub("#", text)


@attrs.frozen
class FoldedRun:
    """A run of timeline entries folded into one counted group.

    Attributes:
        count: How many entries it folds.
        first: Its first entry.
        last: Its last entry.
        counts: What it folds, in words: ``69,986 notes``, ``19,996 repeated findings``.
        head: Its first :data:`FOLD_SAMPLE` entries.
        tail: Its last :data:`FOLD_SAMPLE` entries.
    """

    count: int
    first: TimelineEntry
    last: TimelineEntry
    counts: tuple[str, ...]
    head: tuple[TimelineEntry, ...]
    tail: tuple[TimelineEntry, ...]

    @property
    def omitted(self) -> int:
        """How many of its entries neither :attr:`head` nor :attr:`tail` shows."""
        return self.count - len(self.head) - len(self.tail)

    @property
    def summary(self) -> str:
        """The run in words, the library's own only: ``99,980 entries folded, ... to ...: ...``."""
        return (
            f"{plural(self.count, 'entry', 'entries')} folded, {when(self.first.at)} to "
            f"{when(self.last.at)}: {', '.join(self.counts)}"
        )


def _folded_run(run: list[TimelineEntry]) -> FoldedRun:
    tally: dict[str, int] = {}
    for entry in run:
        kind = entry.event or ""
        tally[kind] = tally.get(kind, 0) + 1
    counts = tuple(
        plural(count, *_FOLDED_NOUNS.get(kind, ("entry", "entries")))
        for kind, count in sorted(tally.items(), key=lambda item: -item[1])
    )
    return FoldedRun(
        len(run), run[0], run[-1], counts, tuple(run[:FOLD_SAMPLE]), tuple(run[-FOLD_SAMPLE:])
    )


def fold_timeline(
    entries: Iterable[TimelineEntry], *, full: bool = False
) -> list[TimelineEntry | FoldedRun]:
    """Return the timeline as the report shows it: long runs of notes and repeats folded.

    Always shown: the changes, the symptom window, and every step of the
    protocol (declaration, assessment, interventions, recovery checks,
    diagnosis, resolution, overrides, hand-overs...), every finding and every
    gathering the first time its words (numbers aside) appear. A note, or a
    finding or gathering that repeats one already shown but for its numbers,
    may fold: a run of at least :data:`FOLD_AT` of them in a row becomes one
    :class:`FoldedRun`, counted, with its first and last entries; a shorter
    run is shown whole. The report of a small incident is never folded.

    Args:
        entries: The timeline, in order.
        full: Fold nothing: every entry, as recorded.
    """
    if full:
        return list(entries)
    shown: list[TimelineEntry | FoldedRun] = []
    seen: set[tuple[str, str]] = set()
    run: list[TimelineEntry] = []

    def close() -> None:
        if len(run) >= FOLD_AT:
            shown.append(_folded_run(run))
        else:
            shown.extend(run)
        run.clear()

    for entry in entries:
        kind = entry.event if entry.kind == "step" else None
        if kind == "note_added":
            run.append(entry)
            continue
        if kind in _FOLDED_NOUNS:
            alike = (kind, _alike(entry.summary))
            if alike in seen:
                run.append(entry)
                continue
            seen.add(alike)
        close()
        shown.append(entry)
    close()
    return shown


@attrs.frozen
class FindingGroup:
    """A finding as the report lists it, with the findings alike that follow it, if folded.

    Attributes:
        first: The finding.
        more: How many findings alike (the same kind and words, numbers aside) it stands for.
        last: The last of them (``None`` when ``more`` is 0).
    """

    first: ReportFinding
    more: int = 0
    last: ReportFinding | None = None


def fold_findings(findings: Iterable[ReportFinding], *, full: bool = False) -> list[FindingGroup]:
    """Return the findings as the report lists them: each kept, but a flood of alike ones folded.

    Findings of the same kind whose summary and detail are the same but for
    their numbers are listed once, at the first of them, with how many more and
    the last, when there are at least :data:`FOLD_AT` of them; otherwise (and with
    ``full``) every finding is listed.
    """
    listed = list(findings)
    if full:
        return [FindingGroup(f) for f in listed]
    alike: dict[tuple[str, str, str], list[ReportFinding]] = {}
    for item in listed:
        key = (item.finding.kind.value, _alike(item.finding.summary), _alike(item.finding.detail))
        alike.setdefault(key, []).append(item)
    groups: list[FindingGroup] = []
    for item in listed:
        key = (item.finding.kind.value, _alike(item.finding.summary), _alike(item.finding.detail))
        same = alike[key]
        if len(same) < FOLD_AT:
            groups.append(FindingGroup(item))
        elif same[0] is item:
            groups.append(FindingGroup(item, len(same) - 1, same[-1]))
    return groups
