"""The inspecting commands: show, timeline, events, verify, report, list."""

from __future__ import annotations

import importlib
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, cast

from incidentkit._chain import Anchor, VerificationReport
from incidentkit._cli._common import (
    Context,
    Result,
    duration,
    event_data,
    event_line,
    flag,
    instant,
    jsonable,
    next_commands,
    next_line,
    resume,
    strings,
    text,
    when,
)
from incidentkit._cli._errors import CliError, ExitCode
from incidentkit._cli._target import STORE_ENV, Target, open_store
from incidentkit._cli._text import inert_lines, one_line
from incidentkit._errors import InvalidInputError, JournalError, StoreUnavailableError
from incidentkit._events import EVENT_TYPES, Event
from incidentkit._incident import Diagnosing, Intervened, Recovered, Reviewed
from incidentkit._model import ChecklistItem, Severity
from incidentkit._redact import mask_url

if TYPE_CHECKING:
    from incidentkit._incident import AnyPhase
    from incidentkit._report import Report
    from incidentkit.protocols import JournalStore

__all__ = ["events", "list_command", "report", "show", "timeline", "verify"]

_UNSAFE_IN_JSON: Final = re.compile(
    "[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)


def _figures(phase: AnyPhase) -> list[str]:
    impact = phase.impact
    if impact is None:
        return []
    return [
        f"{one_line(f.name)} {f.value:.4g}{' ' + one_line(f.unit) if f.unit else ''}"
        f" ({'measured' if f.measured else 'stated'})"
        for f in impact.figures
    ]


def _open_items(phase: AnyPhase) -> tuple[list[str], bool]:
    """The checklist items still open, and whether the checklist has begun (diagnosis)."""
    if isinstance(phase, Diagnosing):
        return [item.value for item in phase.open_items], True
    if phase.phase == "resolved":
        return [], True
    return [item.value for item in ChecklistItem], False


def show(ctx: Context) -> Result:
    """``incidentkit show``: the incident's state and what comes next."""
    where = ctx.target()
    phase = resume(where)
    impact = phase.impact
    open_items, begun = _open_items(phase)
    options = phase.rollback_options if isinstance(phase, (Reviewed, Intervened)) else ()
    verdict = (
        phase.verdict if isinstance(phase, Recovered) else getattr(phase, "last_verdict", None)
    )
    findings = phase.findings
    anchor = phase.anchor
    data: dict[str, Any] = {
        "incident_id": phase.incident_id,
        "title": phase.title,
        "phase": phase.phase,
        "severity": None if impact is None else impact.severity.value,
        "ongoing": None if impact is None else impact.ongoing,
        "services": list(phase.services),
        "declared_at": jsonable(phase.declared_at),
        "symptom_start": jsonable(phase.symptom_start),
        "impact": jsonable(impact),
        "roles": {role.value: holder for role, holder in phase.roles.items()},
        "checklist_begun": begun,
        "open_checklist_items": open_items,
        "rollback_options": jsonable(list(options)),
        "last_verdict": jsonable(verdict),
        "findings": jsonable(list(findings)),
        "journal": where.shown,
        "records": anchor.seq + 1,
        "anchor": str(anchor),
        "next": next_commands(phase.phase),
    }
    lines = [f"{phase.incident_id}: {one_line(phase.title)}"]
    rows: list[tuple[str, str]] = [("phase", phase.phase)]
    if impact is None:
        rows.append(("severity", "not assessed yet"))
    else:
        state = "ongoing" if impact.ongoing else "not ongoing"
        rows.append(("severity", f"{impact.severity.value}, {state} at the last assessment"))
    rows.append(("services", ", ".join(one_line(s) for s in phase.services)))
    rows.append(("declared", when(phase.declared_at)))
    rows.append(
        ("symptom", f"since {when(phase.symptom_start)}" + ("" if impact else " (detection)"))
    )
    if impact is not None:
        rows.append(("impact", "; ".join(_figures(phase)) or "no figures"))
        if impact.user_segments:
            rows.append(("users", ", ".join(one_line(s) for s in impact.user_segments)))
        if impact.summary:
            rows.append(("summary", one_line(impact.summary)))
    for role, holder in phase.roles.items():
        rows.append(("role", f"{role.value.replace('_', ' ')}: {one_line(holder)}"))
    if verdict is not None:
        reason = one_line(verdict.reasons[0]) if verdict.reasons else ""
        rows.append(("recovery", f"{verdict.outcome.value}: {reason}"))
    rows.extend(
        ("option", f"{one_line(option.id)}: {one_line(option.describe())}") for option in options
    )
    if not begun:
        rows.append(("checklist", "begins with the diagnosis: " + ", ".join(open_items)))
    else:
        rows.append(("checklist", "open: " + ", ".join(open_items) if open_items else "all done"))
    kinds = sorted({f.kind.value for f in findings})
    rows.append(("findings", f"{len(findings)}" + (f" ({', '.join(kinds)})" if kinds else "")))
    rows.append(("journal", f"{where.shown}: {anchor.seq + 1} records, head {anchor}"))
    lines.extend(f"  {name:<10} {value}" for name, value in rows)
    lines.append(next_line(phase.phase))
    return Result(data, lines)


def timeline(ctx: Context) -> Result:
    """``incidentkit timeline``: changes, the symptom window and the steps, in time order."""
    phase = resume(ctx.target())
    entries = phase.timeline()
    data = [
        {
            "at": jsonable(entry.at),
            "offset": entry.offset,
            "kind": entry.kind,
            "source": entry.source,
            "actor": entry.actor,
            "seq": entry.seq,
            "summary": entry.summary,
        }
        for entry in entries
    ]
    lines = [
        f"{when(entry.at)}  {duration(entry.offset, signed=True):>7}  {entry.kind:<7} "
        f"{one_line(entry.source):<12} {one_line(entry.summary)}"
        + (f"  [{one_line(entry.actor)}]" if entry.actor else "")
        for entry in entries
    ]
    return Result(data, lines)


def _event_filter(ctx: Context) -> Callable[[Event], bool]:
    types = strings(ctx.args, "type")
    unknown = sorted(set(types) - set(EVENT_TYPES))
    if unknown:
        raise CliError(
            f"unknown event type(s) {', '.join(unknown)}; the types are: "
            + ", ".join(sorted(EVENT_TYPES))
        )
    actors = strings(ctx.args, "actor")

    def keep(event: Event) -> bool:
        return (not types or event.TYPE in types) and (not actors or event.actor.name in actors)

    return keep


def events(ctx: Context) -> Result | Iterator[Result]:
    """``incidentkit events``: the events, filtered by type and actor; ``--follow`` watches."""
    where = ctx.target()
    keep = _event_filter(ctx)
    since = int(ctx.args.since or 0)
    if ctx.args.follow:
        return _follow(ctx, where, keep, since)
    phase = resume(where)
    chosen = [(seq, e) for seq, e in enumerate(phase.events) if seq >= since and keep(e)]
    return Result(
        [event_data(seq, e) for seq, e in chosen], [event_line(seq, e) for seq, e in chosen]
    )


def _follow(
    ctx: Context, where: Target, keep: Callable[[Event], bool], since: int
) -> Iterator[Result]:
    from incidentkit._team import watch_incident  # noqa: PLC0415 - only when following

    idle = ctx.args.idle_timeout
    source: Path | JournalStore | None = where.journal or where.store
    assert source is not None  # noqa: S101 - a target is a journal or a store
    for item in watch_incident(source, where.incident_id, since=since, idle_timeout=idle):
        if keep(item.event):
            yield Result(event_data(item.seq, item.event), [event_line(item.seq, item.event)])


def _anchor(ctx: Context) -> Anchor | None:
    given = text(ctx.args, "anchor")
    if given is None:
        return None
    try:
        return Anchor.parse(given)
    except InvalidInputError as exc:
        raise CliError(f"--anchor: {exc}") from None


def _problems(report: VerificationReport) -> list[dict[str, Any]]:
    return [
        {"kind": p.kind, "line": p.line, "seq": p.seq, "detail": p.detail} for p in report.problems
    ]


def verify(ctx: Context) -> Result:
    """``incidentkit verify``: check the hash chain (and an anchor); exit 0 intact, 1 not."""
    from incidentkit._journal import verify_journal  # noqa: PLC0415 - with the journal
    from incidentkit._team import verify_store  # noqa: PLC0415 - with the stores

    where = ctx.target()
    anchor = _anchor(ctx)
    try:
        if where.journal is not None:
            if not where.journal.is_file():
                raise CliError(f"no journal file at {where.journal}")
            report = verify_journal(where.journal, anchor=anchor)
        else:
            assert where.store is not None  # noqa: S101 - a target is a journal or a store
            assert where.incident_id is not None  # noqa: S101 - the target needs one
            report = verify_store(where.store, where.incident_id, anchor=anchor)
    except StoreUnavailableError:
        raise
    except JournalError as exc:
        if where.journal is None:
            raise CliError(str(exc)) from None
        raise
    uncovered = report.uncovered
    data = {
        "ok": report.ok,
        "covered": report.covered,
        "journal": where.shown,
        "records": report.records,
        "head": None if report.head is None else str(report.head),
        "anchor": None if anchor is None else str(anchor),
        "uncovered": None if uncovered is None else [uncovered.start, uncovered.stop],
        "problems": _problems(report),
    }
    lines = inert_lines(str(report)).split("\n")
    if report.ok:
        lines.append("intact" + ("" if anchor is None else f", up to the anchor {anchor}"))
    else:
        kinds = sorted({p.kind for p in report.problems})
        lines.append(f"NOT INTACT: {', '.join(kinds)}")
    return Result(data, lines, ExitCode.OK if report.ok else ExitCode.FAILED)


def _renderer(fmt: str, *, full_timeline: bool = False) -> Callable[[Report], str]:
    """The renderer of a format: ``incidentkit.reports`` when installed, else the report's own."""
    names = {"md": "render_markdown", "json": "render_json", "html": "render_html"}
    try:
        module = importlib.import_module("incidentkit.reports")
    except ImportError:
        module = None
    found: object = None if module is None else getattr(module, names[fmt], None)
    if callable(found):
        render = cast("Callable[..., str]", found)
        if fmt == "json":
            return render
        return lambda report: render(report, full_timeline=full_timeline)
    if fmt == "md":
        return lambda report: report.to_markdown(full_timeline=full_timeline)
    if fmt == "json":
        return lambda report: report.to_json()
    raise CliError(
        "the HTML report needs incidentkit.reports.render_html, which this installation of "
        "incidentkit does not have",
        hint="use --format md or --format json",
    )


def _json_inert(document: str) -> str:
    """Escape in a JSON document the characters a terminal acts on that JSON leaves raw."""
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", document)


def _write(path: Path, content: str) -> None:
    """Write ``content`` to ``path`` whole: a temporary file renamed over it."""
    directory = path.parent if str(path.parent) else Path()
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(content)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def report(ctx: Context) -> Result:
    """``incidentkit report``: the post-mortem report of a resolved incident."""
    fmt_given = text(ctx.args, "format")
    output = text(ctx.args, "output")
    fmt = fmt_given or ("json" if ctx.json and output is None else "md")
    if ctx.json and output is None and fmt != "json":
        raise CliError(
            "--json prints the JSON report; with another --format, write it with -o FILE"
        )
    render = _renderer(fmt, full_timeline=flag(ctx.args, "full_timeline"))
    phase = resume(ctx.target())
    # The protocol refuses a report before resolution, with its own message.
    build: Callable[[], Report] = getattr(phase, "report")  # noqa: B009 - not on every phase
    built = build()
    try:
        rendered = render(built)
    except ImportError as exc:  # a renderer's own dependency (the html extra) is missing
        raise CliError(
            f"the {fmt} report cannot be rendered here: {exc}",
            hint="install its extra (pip install 'incidentkit[html]'), or use --format md",
        ) from None
    if output is None:
        shown = _json_inert(rendered) if fmt == "json" else inert_lines(rendered)
        return Result(None, [], raw=shown)
    try:
        _write(Path(output), rendered)
    except OSError as exc:
        raise CliError(f"cannot write {output}: {exc.strerror or exc}") from None
    data = {"format": fmt, "output": output, "bytes": len(rendered.encode("utf-8"))}
    return Result(data, [f"wrote the {fmt} report of {phase.incident_id} to {output}"])


_STATUSES: Final = ("open", "resolved")


def list_command(ctx: Context) -> Result:
    """``incidentkit list``: the incidents in a store, newest first, filtered."""
    from incidentkit._team import list_incidents  # noqa: PLC0415 - with the stores

    given = text(ctx.args, "location")
    flagged = text(ctx.args, "store")
    if given is not None and flagged is not None:
        raise CliError("list: give the store as the argument or with --store, not both")
    location = given or flagged or os.environ.get(STORE_ENV)
    if not location:
        raise CliError(
            f"list: which store? Give a directory or a postgresql:// URL (or ${STORE_ENV})"
        )
    store = open_store(location)
    severity_text = text(ctx.args, "severity")
    try:
        severity = None if severity_text is None else Severity(severity_text)
    except ValueError:
        known = ", ".join(s.value for s in Severity)
        raise CliError(
            f"--severity {severity_text!r} is not a severity; expected {known}"
        ) from None
    after_text = text(ctx.args, "declared_after")
    after = None if after_text is None else instant(after_text, "--declared-after")
    status = cast("Literal['open', 'resolved'] | None", text(ctx.args, "status"))
    summaries = list_incidents(
        store,
        status=status,
        service=text(ctx.args, "service"),
        severity=severity,
        declared_after=after,
    )
    data = [
        {
            "incident_id": s.incident_id,
            "title": s.title,
            "services": list(s.services),
            "phase": s.phase,
            "severity": None if s.severity is None else s.severity.value,
            "declared_at": jsonable(s.declared_at),
            "records": s.records,
            "head": None if s.head is None else str(s.head),
            "problem": s.problem,
        }
        for s in summaries
    ]
    lines = [
        f"{s.incident_id:<28} {s.phase or 'UNREADABLE':<11} "
        f"{s.severity.value if s.severity else '-':<5} {when(s.declared_at):<21} "
        + (one_line(s.title) if s.problem is None else f"problem: {one_line(s.problem)}")
        for s in summaries
    ]
    if not summaries:
        lines = [
            f"no incidents in {mask_url(store.location)}" + (" match" if _filtered(ctx) else "")
        ]
    return Result(data, lines)


def _filtered(ctx: Context) -> bool:
    return any(
        text(ctx.args, name) is not None
        for name in ("status", "service", "severity", "declared_after")
    )
