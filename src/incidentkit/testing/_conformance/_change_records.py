"""The checks of the three protocols that answer Change records, for a window.

Deploy, change and dependency-status sources differ only in their method,
their change kinds and whether they filter services: a :class:`ChangeRole`
says which, and :func:`check_change_role` runs the checks for one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from functools import partial
from typing import Literal, cast

import attrs
import pendulum

from incidentkit._errors import NaiveDatetimeError
from incidentkit._gather import checked_changes
from incidentkit._model import Change, ChangeKind
from incidentkit.testing._calls import Outcome, safe_repr
from incidentkit.testing._conformance._common import (
    TO_INSTANT,
    ZONES,
    aware,
    checked_deadline,
    checked_secrets,
    checked_window,
    failed,
    naive_built,
    no_answer,
    offset,
    passed,
    quote,
    shown,
)
from incidentkit.testing._conformance._run import Run, check_protocol, unshaped
from incidentkit.testing._conformance._shared_checks import (
    check_deadline,
    check_errors,
    check_incident,
    check_secrets,
)
from incidentkit.testing._incident_run import IncidentPlan, IncidentRun
from incidentkit.testing._results import Check, ConformanceReport

__all__ = ["ChangeRole", "check_change_role"]

_NO_SUCH_SERVICE = "incidentkit-conformance-no-such-service"
_MARGIN = dt.timedelta(seconds=2)
_CHANGE_ROLE_NAMES = Literal["deploys", "infrastructure", "dependencies"]
_CHANGE_CHECKS = ("answer", "time_zones", "window", "errors", "deadline", "secrets", "incident")


@attrs.frozen
class ChangeRole:
    """How to ask one kind of change source."""

    role: _CHANGE_ROLE_NAMES
    protocol: type
    protocol_name: str
    method: str
    kinds: frozenset[ChangeKind]
    filters_services: bool

    def ask(
        self,
        adapter: object,
        start: dt.datetime,
        end: dt.datetime,
        services: Sequence[str] | None = None,
    ) -> object:
        method = getattr(adapter, self.method)
        if self.filters_services:
            return method(start, end, services=services)
        return method(start, end)

    def label(self, arguments: str = "start, end") -> str:
        return f"{self.method}({arguments})"


def _changes(run: Run, role: ChangeRole, outcome: Outcome[object]) -> tuple[list[Change], str]:
    """Return the checked changes of an answered call, or why they are not changes."""
    changes, error = checked_changes(run.text_name, outcome.value, role.kinds)
    if error:
        return [], f"{outcome.label} answered something else than changes: {error}"
    return changes, ""


def _key(change: Change) -> str:
    return safe_repr(change)


def _diff(expected: Sequence[Change], got: Sequence[Change]) -> str:
    """Say how two answers differ, by change id."""
    before = {c.id: c for c in expected}
    after = {c.id: c for c in got}
    parts: list[str] = []
    missing = sorted(before.keys() - after.keys())
    extra = sorted(after.keys() - before.keys())
    if missing:
        parts.append(f"missing {shown(missing)}")
    if extra:
        parts.append(f"extra {shown(extra)}")
    changed = sorted(i for i in before.keys() & after.keys() if before[i] != after[i])
    if changed:
        first = changed[0]
        parts.append(
            f"{shown(changed)} differ ({first} started {before[first].started} in UTC, "
            f"{after[first].started} here)"
        )
    return "; ".join(parts) or "the same ids, a different number of times"


def _same(expected: Sequence[Change], got: Sequence[Change]) -> bool:
    return sorted(expected, key=_key) == sorted(got, key=_key)


def _check_answer_changes(
    run: Run, role: ChangeRole, start: pendulum.DateTime, end: pendulum.DateTime
) -> tuple[Check, Outcome[object], list[Change] | None]:
    """The adapter answers the window with Change records of its kinds."""
    adapter = run.fresh()
    outcome = run.call(role.label(), partial(role.ask, adapter, start, end))
    kinds = ", ".join(sorted(k.value for k in role.kinds))
    if outcome.timed_out or isinstance(outcome.error, NaiveDatetimeError):
        return no_answer("answer", outcome), outcome, None
    if outcome.error is not None:
        problem = (
            f"{outcome.label} raised {quote(outcome.error)} for a window you said it has data "
            "in: a working adapter must answer"
        )
        return failed("answer", [problem]), outcome, None
    changes, error = _changes(run, role, outcome)
    if error:
        return (
            failed("answer", [f"{error}; return a sequence of incidentkit.Change of kind {kinds}"]),
            outcome,
            None,
        )
    if not changes:
        problem = (
            f"{outcome.label} returned no changes: the kit needs a window in which the adapter "
            "has data (if it really has none there, give another window)"
        )
        return failed("answer", [problem]), outcome, None
    return (
        passed("answer", f"{len(changes)} Change records of kind {kinds} from {outcome.label}"),
        outcome,
        changes,
    )


def _instant_problems(changes: Sequence[Change]) -> list[str]:
    problems: list[str] = []
    for change in changes:
        if not aware(change.started) or (
            change.finished is not None and not aware(change.finished)
        ):
            problems.append(
                f"change {change.id} holds a naive datetime: every instant must carry its "
                f"time zone ({TO_INSTANT})"
            )
        elif change.finished is not None and change.finished < change.started:
            problems.append(f"change {change.id} finished before it started")
    return problems


def _check_zones_changes(  # noqa: C901 - one branch per rule the check enforces
    run: Run,
    role: ChangeRole,
    start: pendulum.DateTime,
    end: pendulum.DateTime,
    baseline: tuple[Outcome[object], list[Change] | None],
) -> Check:
    """The same answer for the window written in any zone; naive input refused or read as UTC."""
    outcome, expected = baseline
    if isinstance(outcome.error, NaiveDatetimeError):
        return failed("time_zones", [naive_built(outcome)])
    if expected is None:
        return no_answer("time_zones", outcome)
    problems = _instant_problems(expected)
    adapter = run.fresh()
    for zone in ZONES:
        first, last = start.in_tz(zone), end.in_tz(zone)
        label = role.label(f"start, end in {zone}")
        got = run.call(label, partial(role.ask, adapter, first, last))
        if not got.answered:
            if got.error is not None:
                problems.append(
                    f"{label} raised {quote(got.error)}: accept any aware datetime and convert "
                    f"it with {TO_INSTANT}"
                )
            continue
        changes, error = _changes(run, role, got)
        if error:
            problems.append(error)
        elif not _same(expected, changes):
            problems.append(
                f"the window written in {zone} ({offset(first)}) gave another answer than in "
                f"UTC ({_diff(expected, changes)}): the adapter uses the wall-clock time and "
                f"drops the offset; convert start and end with {TO_INSTANT} (or to Unix "
                "seconds) before building the request"
            )
    label = role.label("naive start, naive end")
    got = run.call(label, partial(role.ask, adapter, start.naive(), end.naive()))
    note = "the kit's call ran past the deadline"
    if got.error is not None:
        note = f"naive datetimes are refused ({type(got.error).__name__})"
    elif got.answered:
        changes, error = _changes(run, role, got)
        note = "naive datetimes are accepted and read as UTC (refusing them is safer)"
        if error or not _same(expected, changes):
            problems.append(
                "given naive datetimes holding the window's UTC time it answered differently "
                f"({error or _diff(expected, changes)}): it reads a naive datetime in another "
                f"zone, likely the machine's. Refuse naive input: {TO_INSTANT} raises "
                "NaiveDatetimeError"
            )
    if problems:
        return failed("time_zones", problems)
    return passed(
        "time_zones",
        f"the same {len(expected)} changes for the window in UTC, "
        + ", ".join(f"{z} ({offset(start.in_tz(z))})" for z in ZONES)
        + f"; every instant is aware; {note}",
    )


def _narrower(
    changes: Sequence[Change], start: pendulum.DateTime, end: pendulum.DateTime
) -> list[tuple[pendulum.DateTime, pendulum.DateTime, Change, str]]:
    """Return sub-windows that leave out a change the full window holds."""
    found: list[tuple[pendulum.DateTime, pendulum.DateTime, Change, str]] = []
    ended = [c for c in changes if c.finished is not None and end - c.finished >= _MARGIN]
    if ended:
        change = min(ended, key=lambda c: cast("pendulum.DateTime", c.finished))
        finished = cast("pendulum.DateTime", change.finished)
        middle = finished + dt.timedelta(seconds=(end - finished).total_seconds() / 2)
        found.append((middle, end, change, f"finished at {finished}, before that window"))
    begun = [c for c in changes if c.started - start >= _MARGIN]
    if begun:
        change = max(begun, key=lambda c: c.started)
        middle = start + dt.timedelta(seconds=(change.started - start).total_seconds() / 2)
        found.append((start, middle, change, f"started at {change.started}, after that window"))
    return found


_FILTER_HINT = "keep only the changes for which change.overlaps(start, end) is true"


def _check_window_changes(  # noqa: C901, PLR0912 - one branch per rule the check enforces
    run: Run,
    role: ChangeRole,
    start: pendulum.DateTime,
    end: pendulum.DateTime,
    baseline: tuple[Outcome[object], list[Change] | None],
    *,
    services: Sequence[str] | None,
) -> Check:
    """Only the changes under way in the window, and of the services asked for."""
    outcome, found = baseline
    if found is None:
        return no_answer("window", outcome)
    expected = [c for c in found if aware(c.started) and (c.finished is None or aware(c.finished))]
    problems: list[str] = []
    outside = [c.id for c in expected if not c.overlaps(start, end)]
    if outside:
        problems.append(
            f"{len(outside)} of {len(expected)} changes are not under way in the window "
            f"({shown(outside)}): the adapter ignores the window or filters it wrongly; "
            f"{_FILTER_HINT}"
        )
    adapter = run.fresh()
    narrowed = _narrower(expected, start, end)
    for first, last, left_out, why in narrowed:
        label = role.label(f"{first}, {last}")
        got = run.call(label, partial(role.ask, adapter, first, last))
        if not got.answered:
            if got.error is not None:
                problems.append(f"{label} raised {quote(got.error)}")
            continue
        changes, error = _changes(run, role, got)
        if error:
            problems.append(error)
            continue
        ids = {c.id for c in changes}
        if left_out.id in ids:
            problems.append(
                f"{label} returned {left_out.id}, which {why}: the adapter ignores the "
                f"window; {_FILTER_HINT}"
            )
        dropped = [c.id for c in expected if c.overlaps(first, last) and c.id not in ids]
        if dropped:
            problems.append(
                f"{label} left out {shown(dropped)}, under way in that window: a change "
                "belongs to a window if it started by its end and had not finished before "
                "its start"
            )
    if role.filters_services:
        problems.extend(
            _service_problems(
                run, role, adapter, (start, end), expected=expected, services=services
            )
        )
    if problems:
        return failed("window", problems)
    detail = f"all {len(expected)} changes are under way in the window"
    if narrowed:
        detail += f"; {len(narrowed)} narrower windows leave out what is outside them"
    else:
        detail += (
            "; no narrower window could be tried (every change spans the whole window: give "
            "one where a change starts after its start or ends before its end)"
        )
    if role.filters_services:
        detail += "; services=[...] keeps only the services asked for"
    return passed("window", detail)


def _service_problems(
    run: Run,
    role: ChangeRole,
    adapter: object,
    window: tuple[pendulum.DateTime, pendulum.DateTime],
    *,
    expected: Sequence[Change],
    services: Sequence[str] | None,
) -> list[str]:
    problems: list[str] = []
    names = list(services) if services is not None else sorted({c.service for c in expected})[:1]
    for service in [*names, _NO_SUCH_SERVICE]:
        label = role.label(f"start, end, services=[{service!r}]")
        got = run.call(label, partial(role.ask, adapter, *window, [service]))
        if not got.answered:
            if got.error is not None:
                problems.append(f"{label} raised {quote(got.error)}")
            continue
        changes, error = _changes(run, role, got)
        if error:
            problems.append(error)
            continue
        others = sorted({c.service for c in changes if c.service != service})
        if others:
            problems.append(
                f"{label} returned changes of {shown(others)} too: keep only the changes whose "
                "service is one of those asked for"
            )
        ids = {c.id for c in changes}
        dropped = [c.id for c in expected if c.service == service and c.id not in ids]
        if dropped:
            problems.append(f"{label} left out {shown(dropped)}, changes of {service!r}")
    return problems


def check_change_role(
    role: ChangeRole,
    make: Callable[[], object],
    *,
    window: tuple[dt.datetime, dt.datetime],
    services: Sequence[str] | None,
    secrets: Sequence[str],
    broken: Callable[[], object] | None,
    deadline: float,
) -> ConformanceReport:
    start, end = checked_window(window)
    if isinstance(services, str):
        services = [services]
    run = Run(
        role.protocol_name, make, broken, checked_secrets(secrets), checked_deadline(deadline)
    )
    protocol = check_protocol(run, role.protocol, ("name", role.method))
    if not run.shape_ok:
        return unshaped(run, protocol, _CHANGE_CHECKS)
    answer, outcome, found = _check_answer_changes(run, role, start, end)
    zones = _check_zones_changes(run, role, start, end, (outcome, found))
    scope = _check_window_changes(run, role, start, end, (outcome, found), services=services)
    errors = check_errors(
        run,
        [(role.label(), lambda a: role.ask(a, start, end))],
        "pointed at a dead endpoint or a missing repository",
    )

    def expect(incident: IncidentRun) -> list[str]:
        missing = [
            c.id for c in found or () if c.overlaps(start, end) and c.id not in incident.taken
        ]
        return [f"the incident did not gather {shown(missing)}"] if missing else []

    plan = IncidentPlan(role.role, start, end, timeout=run.runner.deadline)
    incident = check_incident(run, plan, expect, answered=answer.passed)
    return run.report(
        [
            protocol,
            answer,
            zones,
            scope,
            errors,
            check_deadline(run),
            check_secrets(run),
            incident,
        ]
    )
