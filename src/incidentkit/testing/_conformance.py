"""The conformance checks: one entry point per protocol, the checks they share.

Each ``check_*`` function builds fresh adapters with the factory it is given,
calls them the way an incident does (and a few ways an incident might), and
returns a :class:`~incidentkit.testing.ConformanceReport`. Every adapter call
runs in a thread under a deadline, so a hanging adapter fails a check instead
of hanging the test suite. Nothing here imports pytest.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Literal, cast

import attrs
import pendulum

from incidentkit._errors import InvalidInputError, NaiveDatetimeError, SourceError
from incidentkit._gather import checked_changes, checked_options, checked_result, checked_series
from incidentkit._model import DEPLOY_KINDS, Change, ChangeKind, RollbackOption, Sample, Series
from incidentkit._time import to_instant
from incidentkit.protocols import (
    ChangeSource,
    DependencyStatusSource,
    DeploySource,
    MetricSource,
    RollbackExecutor,
)
from incidentkit.testing._calls import (
    Outcome,
    Runner,
    describe,
    raised_in,
    redact,
    safe_repr,
    safe_str,
)
from incidentkit.testing._incident_run import IncidentPlan, IncidentRun, run_incident
from incidentkit.testing._results import Check, CheckStatus, ConformanceReport

__all__ = [
    "check_change_source",
    "check_dependency_source",
    "check_deploy_source",
    "check_metric_source",
    "check_rollback_executor",
]

_ZONES = ("Asia/Kolkata", "America/St_Johns")
_NO_SUCH_SERVICE = "incidentkit-conformance-no-such-service"
_MIN_SECRET = 6
_MARGIN = dt.timedelta(seconds=2)
_INCIDENT_SLACK = 10.0  # an incident run also writes and fsyncs a journal
_SHOWN = 4  # how many ids or places a detail lists before "and N more"
_MESSAGE = 160  # how much of an error message a detail quotes

_CHANGE_ROLE_NAMES = Literal["deploys", "infrastructure", "dependencies"]
_CHECKED_CALL_FAILED = "see answer"
_TO_INSTANT = "incidentkit.to_instant"


# --------------------------------------------------------------------------- small helpers


def _shown(items: Sequence[str]) -> str:
    head = ", ".join(items[:_SHOWN])
    more = len(items) - _SHOWN
    return f"{head} and {more} more" if more > 0 else head


def _quote(exc: BaseException) -> str:
    text = describe(exc)
    return text if len(text) <= _MESSAGE else text[: _MESSAGE - 3] + "..."


def _aware(value: object) -> bool:
    return isinstance(value, dt.datetime) and value.utcoffset() is not None


def _offset(at: pendulum.DateTime) -> str:
    return "UTC" + at.format("Z")


def _show(value: object) -> str:
    """Show an instant as text, anything else as its repr."""
    return safe_str(value) if isinstance(value, dt.datetime) else safe_repr(value)


def _passed(name: str, detail: str) -> Check:
    return Check(name, CheckStatus.PASSED, detail)


def _failed(name: str, problems: Iterable[str]) -> Check:
    return Check(name, CheckStatus.FAILED, "; ".join(problems))


def _skipped(name: str, reason: str) -> Check:
    return Check(name, CheckStatus.SKIPPED, reason)


def _no_answer(name: str, outcome: Outcome[object] | None) -> Check:
    """Skip a check that needs an answer the adapter did not give."""
    if outcome is not None and outcome.timed_out:
        return _skipped(name, f"{outcome.label} ran past the deadline: see deadline")
    if outcome is not None and isinstance(outcome.error, NaiveDatetimeError):
        return _skipped(name, f"{outcome.label} did not answer: see time_zones")
    if (
        outcome is not None
        and outcome.error is not None
        and raised_in(outcome.error, "_finite_or_none")
    ):
        return _skipped(name, f"{outcome.label} did not answer: see gaps")
    return _skipped(name, f"no usable answer to check: {_CHECKED_CALL_FAILED}")


# --------------------------------------------------------------------------- arguments


def _window(
    window: object, what: str = "window", *, instant: bool = False
) -> tuple[pendulum.DateTime, pendulum.DateTime]:
    if not isinstance(window, tuple) or len(cast("tuple[object, ...]", window)) != 2:  # noqa: PLR2004 - a pair
        msg = f"{what} must be a (start, end) pair of aware datetimes, not {window!r}"
        raise InvalidInputError(msg)
    first, last = cast("tuple[dt.datetime, dt.datetime]", window)
    start = to_instant(first, what=f"the {what}'s start")
    end = to_instant(last, what=f"the {what}'s end")
    if end < start or (end == start and not instant):
        msg = f"the {what} must end after it starts, not [{start}, {end}]"
        raise InvalidInputError(msg)
    return start, end


def _secrets(secrets: Sequence[str]) -> tuple[str, ...]:
    if isinstance(secrets, str):
        msg = "secrets is a sequence of strings: write secrets=(token,), not secrets=token"
        raise InvalidInputError(msg)
    for position, secret in enumerate(cast("Sequence[object]", secrets)):
        if not isinstance(secret, str) or len(secret) < _MIN_SECRET:
            msg = (
                f"secrets[{position}] must be a string of at least {_MIN_SECRET} characters "
                "(a shorter one would be found by chance): build the adapter with a "
                "distinctive fake credential such as 'kit-token-5f0c2e' and pass it here"
            )
            raise InvalidInputError(msg)
    return tuple(secrets)


def _positive(value: object) -> bool:
    """Whether ``value`` is a finite positive number (a bool is not one)."""
    return (
        not isinstance(value, bool)
        and isinstance(value, (int, float))
        and math.isfinite(value)
        and value > 0
    )


def _finite(value: object) -> bool:
    """Whether ``value`` is a finite number (a bool is not one)."""
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def _deadline(deadline: float) -> float:
    if not _positive(deadline):
        msg = f"deadline must be a positive number of seconds, not {deadline!r}"
        raise InvalidInputError(msg)
    return float(deadline)


# --------------------------------------------------------------------------- one run


class _Run:
    """The state of one conformance run: the factories, the runner, the adapter's name."""

    def __init__(
        self,
        protocol: str,
        make: Callable[[], object],
        broken: Callable[[], object] | None,
        secrets: tuple[str, ...],
        deadline: float,
    ) -> None:
        self.protocol = protocol
        self.make = make
        self.broken = broken
        self.secrets = secrets
        self.runner = Runner(deadline)
        self.name: object = None
        self.label = ""
        self.shape_ok = True  # the adapter has the protocol's members
        self.name_ok = True  # its name is a stable, non-empty string
        self.broken_hung = False
        self.broken_answered = False

    @property
    def text_name(self) -> str:
        """The name as the incident writes it (``f"{name}"``)."""
        return safe_str(self.name)

    def fresh(self, what: str = "the adapter") -> object:
        return self.runner.adapter(what, self.make())

    def fresh_broken(self) -> object:
        assert self.broken is not None  # noqa: S101 - callers check
        return self.runner.adapter("the broken adapter", self.broken())

    def call(self, label: str, function: Callable[[], object]) -> Outcome[object]:
        return self.runner.call(label, function)

    def report(self, checks: Sequence[Check]) -> ConformanceReport:
        kept = tuple(attrs.evolve(c, detail=redact(c.detail, self.secrets)) for c in checks)
        return ConformanceReport(redact(self.label, self.secrets), self.protocol, kept)


# --------------------------------------------------------------------------- protocol


def _read_name(adapter: object) -> tuple[object, str]:
    try:
        return adapter.name, ""  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - a failing name is a finding
        return None, f"reading .name raised {_quote(exc)}: name must need no I/O"


def _has(adapter: object, member: str) -> bool:
    try:
        getattr(adapter, member)
    except AttributeError:
        return False
    except Exception:  # noqa: BLE001 - it exists; the name check reports how it fails
        return True
    return True


def _check_protocol(run: _Run, protocol: type, members: Sequence[str]) -> Check:  # noqa: C901, PLR0912 - one branch per rule the check enforces
    """The adapter has the protocol's members and a stable, non-empty string name."""
    first = run.fresh()
    second = run.fresh("a second adapter from make()")
    problems: list[str] = []
    missing = [m for m in members if not _has(first, m)]
    if missing:
        problems.append(
            f"{type(first).__name__} is not a {run.protocol}: it has no {', '.join(missing)}"
        )
    else:
        try:
            conforms = isinstance(first, protocol)
        except Exception as exc:  # noqa: BLE001 - isinstance reads the members
            problems.append(f"isinstance(adapter, {run.protocol}) raised {_quote(exc)}")
        else:
            if not conforms:  # pragma: no cover - runtime protocols only check the members
                problems.append(f"isinstance(adapter, {run.protocol}) is false")
    names: list[object] = []
    for adapter in (first, first, second):
        name, problem = _read_name(adapter)
        if problem:
            problems.append(problem)
            break
        names.append(name)
    run.name = names[0] if names else None
    valid = isinstance(run.name, str) and bool(run.name.strip())
    run.label = cast("str", run.name) if valid else type(first).__name__
    if len(names) == 3:  # noqa: PLR2004 - three reads
        name = names[0]
        if not isinstance(name, str):
            problems.append(
                f"name is a {type(name).__name__} ({safe_repr(name)}), not a str: return a "
                "short string such as 'prometheus'; the journal, the findings and the option "
                "ids use it"
            )
        elif not name.strip():
            problems.append("name is empty: give the adapter a short name such as 'prometheus'")
        elif names[1] != name:
            problems.append(
                f"name changed between two reads ({name!r}, then {names[1]!r}): it must be fixed "
                "when the adapter is built"
            )
        elif names[2] != name:
            problems.append(
                f"two adapters from make() are named {name!r} and {names[2]!r}: the name must "
                "come from the configuration, not from the instance"
            )
    run.shape_ok = not missing
    run.name_ok = len(names) == 3 and valid and len(set(map(safe_repr, names))) == 1  # noqa: PLR2004 - three reads
    if problems:
        return _failed("protocol", problems)
    return _passed(
        "protocol", f"isinstance(adapter, {run.protocol}) holds; name {run.name!r} is stable"
    )


# --------------------------------------------------------------------------- change sources


@attrs.frozen
class _ChangeRole:
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


_DEPLOYS = _ChangeRole(
    "deploys", DeploySource, "DeploySource", "deploys", DEPLOY_KINDS, filters_services=True
)
_INFRASTRUCTURE = _ChangeRole(
    "infrastructure",
    ChangeSource,
    "ChangeSource",
    "changes",
    frozenset({ChangeKind.INFRASTRUCTURE}),
    filters_services=True,
)
_DEPENDENCIES = _ChangeRole(
    "dependencies",
    DependencyStatusSource,
    "DependencyStatusSource",
    "incidents",
    frozenset({ChangeKind.DEPENDENCY}),
    filters_services=False,
)


def _changes(run: _Run, role: _ChangeRole, outcome: Outcome[object]) -> tuple[list[Change], str]:
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
        parts.append(f"missing {_shown(missing)}")
    if extra:
        parts.append(f"extra {_shown(extra)}")
    changed = sorted(i for i in before.keys() & after.keys() if before[i] != after[i])
    if changed:
        first = changed[0]
        parts.append(
            f"{_shown(changed)} differ ({first} started {before[first].started} in UTC, "
            f"{after[first].started} here)"
        )
    return "; ".join(parts) or "the same ids, a different number of times"


def _same(expected: Sequence[Change], got: Sequence[Change]) -> bool:
    return sorted(expected, key=_key) == sorted(got, key=_key)


def _check_answer_changes(
    run: _Run, role: _ChangeRole, start: pendulum.DateTime, end: pendulum.DateTime
) -> tuple[Check, Outcome[object], list[Change] | None]:
    """The adapter answers the window with Change records of its kinds."""
    adapter = run.fresh()
    outcome = run.call(role.label(), partial(role.ask, adapter, start, end))
    kinds = ", ".join(sorted(k.value for k in role.kinds))
    if outcome.timed_out or isinstance(outcome.error, NaiveDatetimeError):
        return _no_answer("answer", outcome), outcome, None
    if outcome.error is not None:
        problem = (
            f"{outcome.label} raised {_quote(outcome.error)} for a window you said it has data "
            "in: a working adapter must answer"
        )
        return _failed("answer", [problem]), outcome, None
    changes, error = _changes(run, role, outcome)
    if error:
        return (
            _failed(
                "answer", [f"{error}; return a sequence of incidentkit.Change of kind {kinds}"]
            ),
            outcome,
            None,
        )
    if not changes:
        problem = (
            f"{outcome.label} returned no changes: the kit needs a window in which the adapter "
            "has data (if it really has none there, give another window)"
        )
        return _failed("answer", [problem]), outcome, None
    return (
        _passed("answer", f"{len(changes)} Change records of kind {kinds} from {outcome.label}"),
        outcome,
        changes,
    )


def _instant_problems(changes: Sequence[Change]) -> list[str]:
    problems: list[str] = []
    for change in changes:
        if not _aware(change.started) or (
            change.finished is not None and not _aware(change.finished)
        ):
            problems.append(
                f"change {change.id} holds a naive datetime: every instant must carry its "
                f"time zone ({_TO_INSTANT})"
            )
        elif change.finished is not None and change.finished < change.started:
            problems.append(f"change {change.id} finished before it started")
    return problems


def _naive_built(outcome: Outcome[object]) -> str:
    return (
        f"{outcome.label} raised {_quote(cast('BaseException', outcome.error))} while answering: "
        "the adapter built a value from a naive datetime. Parse the system's timestamps with "
        "incidentkit.parse_instant (ISO 8601 with an offset) or incidentkit.to_instant (Unix "
        "seconds); if the system sends local times without an offset, attach its zone"
    )


def _check_zones_changes(  # noqa: C901 - one branch per rule the check enforces
    run: _Run,
    role: _ChangeRole,
    start: pendulum.DateTime,
    end: pendulum.DateTime,
    baseline: tuple[Outcome[object], list[Change] | None],
) -> Check:
    """The same answer for the window written in any zone; naive input refused or read as UTC."""
    outcome, expected = baseline
    if isinstance(outcome.error, NaiveDatetimeError):
        return _failed("time_zones", [_naive_built(outcome)])
    if expected is None:
        return _no_answer("time_zones", outcome)
    problems = _instant_problems(expected)
    adapter = run.fresh()
    for zone in _ZONES:
        first, last = start.in_tz(zone), end.in_tz(zone)
        label = role.label(f"start, end in {zone}")
        got = run.call(label, partial(role.ask, adapter, first, last))
        if not got.answered:
            if got.error is not None:
                problems.append(
                    f"{label} raised {_quote(got.error)}: accept any aware datetime and convert "
                    f"it with {_TO_INSTANT}"
                )
            continue
        changes, error = _changes(run, role, got)
        if error:
            problems.append(error)
        elif not _same(expected, changes):
            problems.append(
                f"the window written in {zone} ({_offset(first)}) gave another answer than in "
                f"UTC ({_diff(expected, changes)}): the adapter uses the wall-clock time and "
                f"drops the offset; convert start and end with {_TO_INSTANT} (or to Unix "
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
                f"zone, likely the machine's. Refuse naive input: {_TO_INSTANT} raises "
                "NaiveDatetimeError"
            )
    if problems:
        return _failed("time_zones", problems)
    return _passed(
        "time_zones",
        f"the same {len(expected)} changes for the window in UTC, "
        + ", ".join(f"{z} ({_offset(start.in_tz(z))})" for z in _ZONES)
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
    run: _Run,
    role: _ChangeRole,
    start: pendulum.DateTime,
    end: pendulum.DateTime,
    baseline: tuple[Outcome[object], list[Change] | None],
    *,
    services: Sequence[str] | None,
) -> Check:
    """Only the changes under way in the window, and of the services asked for."""
    outcome, found = baseline
    if found is None:
        return _no_answer("window", outcome)
    expected = [
        c for c in found if _aware(c.started) and (c.finished is None or _aware(c.finished))
    ]
    problems: list[str] = []
    outside = [c.id for c in expected if not c.overlaps(start, end)]
    if outside:
        problems.append(
            f"{len(outside)} of {len(expected)} changes are not under way in the window "
            f"({_shown(outside)}): the adapter ignores the window or filters it wrongly; "
            f"{_FILTER_HINT}"
        )
    adapter = run.fresh()
    narrowed = _narrower(expected, start, end)
    for first, last, left_out, why in narrowed:
        label = role.label(f"{first}, {last}")
        got = run.call(label, partial(role.ask, adapter, first, last))
        if not got.answered:
            if got.error is not None:
                problems.append(f"{label} raised {_quote(got.error)}")
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
                f"{label} left out {_shown(dropped)}, under way in that window: a change "
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
        return _failed("window", problems)
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
    return _passed("window", detail)


def _service_problems(
    run: _Run,
    role: _ChangeRole,
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
                problems.append(f"{label} raised {_quote(got.error)}")
            continue
        changes, error = _changes(run, role, got)
        if error:
            problems.append(error)
            continue
        others = sorted({c.service for c in changes if c.service != service})
        if others:
            problems.append(
                f"{label} returned changes of {_shown(others)} too: keep only the changes whose "
                "service is one of those asked for"
            )
        ids = {c.id for c in changes}
        dropped = [c.id for c in expected if c.service == service and c.id not in ids]
        if dropped:
            problems.append(f"{label} left out {_shown(dropped)}, changes of {service!r}")
    return problems


# --------------------------------------------------------------------------- shared checks


def _check_errors(  # noqa: C901 - one branch per rule the check enforces
    run: _Run, calls: Sequence[tuple[str, Callable[[object], object]]], setting: str
) -> Check:
    """Every call on the broken adapter raises a SourceError naming the adapter."""
    if run.broken is None:
        return _skipped(
            "errors",
            f"no broken adapter given: pass broken=<a factory of the adapter {setting}> to "
            "check how it fails",
        )
    adapter = run.fresh_broken()
    name, problem = _read_name(adapter)
    problems = [problem] if problem and run.name_ok else []
    seen: list[str] = []
    hung = 0
    for what, call in calls:
        label = f"{what} on the broken adapter"
        outcome = run.call(label, partial(call, adapter))
        if outcome.timed_out:
            hung += 1
            continue
        exc = outcome.error
        if exc is None:
            run.broken_answered = True
            problems.append(
                f"{label} answered {safe_repr(outcome.value)[:_MESSAGE]} instead of raising: a "
                "source that cannot answer must raise a SourceError, or the incident takes the "
                "answer for the truth"
            )
        elif not isinstance(exc, SourceError):
            problems.append(
                f"{label} raised {_quote(exc)}, not a SourceError: catch it in the adapter and "
                "raise the subclass that says what happened (SourceUnavailableError, "
                "SourceTimeoutError, RateLimitedError, SourceAuthError, SourceRequestError, "
                "MalformedResponseError)"
            )
        elif run.name_ok and exc.source != name:
            problems.append(
                f"{label} raised {type(exc).__name__} with source={exc.source!r}, but the "
                f"adapter is named {safe_repr(name)}: pass source=self.name"
            )
        elif not safe_str(exc).strip():
            problems.append(
                f"{label} raised {type(exc).__name__} with an empty message: say what happened "
                "and what to check"
            )
        else:
            seen.append(_quote(exc))
    run.broken_hung = hung > 0
    if problems:
        return _failed("errors", problems)
    if not seen:
        return _skipped(
            "errors", "every call on the broken adapter ran past the deadline: see deadline"
        )
    detail = f"{len(seen)} calls raised a SourceError naming the adapter: " + " | ".join(seen)
    if hung:
        detail += f" ({hung} ran past the deadline: see deadline)"
    return _passed("errors", detail)


def _check_deadline(run: _Run) -> Check:
    """Every call returned within the deadline."""
    late = run.runner.timed_out()
    deadline = run.runner.deadline
    if late:
        return _failed(
            "deadline",
            [
                (
                    f"{_shown([c.label for c in late])} did not return within {deadline:g} s: "
                    "give every request a timeout (the shared HTTP client "
                    "incidentkit.adapters._http has one) and raise SourceTimeoutError when it "
                    "runs out; an incident waits on every call"
                )
            ],
        )
    slowest = max(run.runner.calls, key=lambda c: c.seconds)
    return _passed(
        "deadline",
        f"{len(run.runner.calls)} calls, each within {deadline:g} s (slowest: "
        f"{slowest.label}, {slowest.seconds:.3f} s)",
    )


_GROUPED = (("the answer of ", "the answers of"), ("the error raised by ", "the errors raised by"))


def _places(wheres: Iterable[str]) -> list[str]:
    """Name each place once; many answers (or errors) become one entry with a count."""
    places: list[str] = []
    grouped: dict[str, list[str]] = {}
    for where in dict.fromkeys(wheres):
        prefix = next((p for p, _ in _GROUPED if where.startswith(p)), None)
        if prefix is None:
            places.append(where)
        else:
            grouped.setdefault(prefix, []).append(where.removeprefix(prefix))
    for prefix, plural in _GROUPED:
        calls = grouped.get(prefix, [])
        if len(calls) == 1:
            places.append(prefix + calls[0])
        elif calls:
            places.append(f"{plural} {len(calls)} calls (first: {calls[0]})")
    return places


def _check_secrets(run: _Run) -> Check:
    """No secret appears in anything the adapter showed or produced."""
    if not run.secrets:
        return _skipped(
            "secrets",
            "no secrets given: build the adapter with a fake credential and pass "
            "secrets=(credential,) to check that it never leaks",
        )
    leaks: list[str] = []
    for number, secret in enumerate(run.secrets, start=1):
        places = _places(where for where, text in run.runner.texts if secret in text)
        if places:
            leaks.append(f"<secret #{number}> appears in {', '.join(places)}")
    if leaks:
        return _failed(
            "secrets",
            [
                *leaks,
                (
                    "keep credentials out of repr() (attrs.field(repr=False)), out of error "
                    "messages (name the argument or environment variable they came from instead) "
                    "and out of returned values (never put them in a URL or a summary)"
                ),
            ],
        )
    return _passed(
        "secrets",
        f"{len(run.secrets)} secrets absent from {len(run.runner.texts)} texts: the adapters' "
        "repr, str and name, every answer and error message, the incidents' journals and reports",
    )


def _keep_texts(run: _Run, what: str, incident: IncidentRun) -> None:
    run.runner.text(f"the journal of {what}", incident.journal)
    run.runner.text(f"the Markdown report of {what}", incident.markdown)
    run.runner.text(f"the JSON report of {what}", incident.json)


def _check_incident(
    run: _Run,
    plan: IncidentPlan,
    expect: Callable[[IncidentRun], list[str]],
    *,
    answered: bool,
) -> Check:
    """A real incident step takes the working adapter's answer and survives the broken one.

    The working adapter is run only when it answered the kit's own call (else
    the check that saw its failure reports it); the broken one only when it
    does not hang.
    """
    step = f"{plan.step_name} in an incident"
    if not run.name_ok:
        return _skipped(
            "incident", "the adapter's name is unusable, and an incident names it: see protocol"
        )
    deadline = run.runner.deadline + _INCIDENT_SLACK
    problems: list[str] = []
    notes: list[str] = []
    ran = False
    if answered:
        good = run.runner.call(
            f"{step} with the adapter",
            partial(run_incident, plan, run.fresh("the adapter of the incident")),
            deadline=deadline,
        )
        ran = not good.timed_out
        problems.extend(_incident_problems(run, good, broken=False))
        if good.value is not None:
            problems.extend(expect(good.value))
            notes.append(f"{step} took the adapter's answer")
    else:
        notes.append(
            "the answer check did not pass, so no incident was run with the working adapter"
        )
    if run.broken is None:
        notes.append("no broken adapter given: its failure in an incident was not tried")
    elif run.broken_hung:
        notes.append("the broken adapter hangs, so no incident was run with it (see deadline)")
    elif run.broken_answered:
        notes.append(
            "the broken adapter answers instead of failing, so no incident was run with it "
            "(see errors)"
        )
    else:
        bad = run.runner.call(
            f"{step} with the broken adapter",
            partial(run_incident, plan, run.fresh_broken()),
            deadline=deadline,
        )
        ran = ran or not bad.timed_out
        problems.extend(_incident_problems(run, bad, broken=True))
        if bad.value is not None and not problems:
            notes.append("with the broken adapter it recorded a monitoring gap and carried on")
    if problems:
        return _failed("incident", problems)
    if not ran:
        return _skipped("incident", "; ".join(notes))
    return _passed("incident", "; ".join(notes))


def _incident_problems(run: _Run, outcome: Outcome[IncidentRun], *, broken: bool) -> list[str]:
    if outcome.error is not None:
        problem = f"{outcome.label} raised {_quote(outcome.error)}"
        if broken:
            problem += (
                ": an adapter's failure must never end an incident; raise a SourceError (an "
                "Exception, never a BaseException)"
            )
        return [problem]
    if outcome.value is None:
        return []  # ran past the deadline: the deadline check reports it
    _keep_texts(run, f"the {'broken adapter' if broken else 'adapter'}'s incident", outcome.value)
    gaps = outcome.value.gaps_for(run.text_name)
    if broken and not gaps:
        return [
            (
                f"{outcome.label} recorded no monitoring gap for {run.text_name!r}: the incident "
                "took the broken adapter's answer for data"
            )
        ]
    if not broken and gaps:
        return [f"{outcome.label} recorded a monitoring gap: {gaps[0]}"]
    return []


_CHANGE_CHECKS = ("answer", "time_zones", "window", "errors", "deadline", "secrets", "incident")
_METRIC_CHECKS = (
    "answer",
    "time_zones",
    "window",
    "gaps",
    "errors",
    "deadline",
    "secrets",
    "incident",
)
_EXECUTOR_CHECKS = ("answer", "dry_run", "errors", "deadline", "secrets", "incident")


def _unshaped(run: _Run, protocol: Check, names: Sequence[str]) -> ConformanceReport:
    """Report an adapter that lacks the protocol's members: nothing else can be checked."""
    reason = f"the adapter is not a {run.protocol}: see protocol"
    return run.report([protocol, *(_skipped(name, reason) for name in names)])


def _check_change_role(
    role: _ChangeRole,
    make: Callable[[], object],
    *,
    window: tuple[dt.datetime, dt.datetime],
    services: Sequence[str] | None,
    secrets: Sequence[str],
    broken: Callable[[], object] | None,
    deadline: float,
) -> ConformanceReport:
    start, end = _window(window)
    if isinstance(services, str):
        services = [services]
    run = _Run(role.protocol_name, make, broken, _secrets(secrets), _deadline(deadline))
    protocol = _check_protocol(run, role.protocol, ("name", role.method))
    if not run.shape_ok:
        return _unshaped(run, protocol, _CHANGE_CHECKS)
    answer, outcome, found = _check_answer_changes(run, role, start, end)
    zones = _check_zones_changes(run, role, start, end, (outcome, found))
    scope = _check_window_changes(run, role, start, end, (outcome, found), services=services)
    errors = _check_errors(
        run,
        [(role.label(), lambda a: role.ask(a, start, end))],
        "pointed at a dead endpoint or a missing repository",
    )

    def expect(incident: IncidentRun) -> list[str]:
        missing = [
            c.id for c in found or () if c.overlaps(start, end) and c.id not in incident.taken
        ]
        return [f"the incident did not gather {_shown(missing)}"] if missing else []

    plan = IncidentPlan(role.role, start, end, timeout=run.runner.deadline)
    incident = _check_incident(run, plan, expect, answered=answer.passed)
    return run.report(
        [
            protocol,
            answer,
            zones,
            scope,
            errors,
            _check_deadline(run),
            _check_secrets(run),
            incident,
        ]
    )


# --------------------------------------------------------------------------- metric sources


def _query_label(query: str, window: str, step: float) -> str:
    return f"query_range({query!r}, {window}, {step:g})"


def _series_of(run: _Run, outcome: Outcome[object]) -> tuple[Series | None, str]:
    series, error = checked_series(run.text_name, outcome.value)
    if error:
        return None, f"{outcome.label} answered something else than a Series: {error}"
    return series, ""


def _recorded_problems(
    run: _Run,
    series: Series,
    query: str,
    window: tuple[pendulum.DateTime, pendulum.DateTime],
    step: float,
) -> list[str]:
    asked = series.query
    wrong = [
        f"{what} {_show(got)} instead of {_show(want)}"
        for what, got, want in (
            ("source", asked.source, run.name),
            ("query", asked.query, query),
            ("start", asked.start, window[0]),
            ("end", asked.end, window[1]),
            ("step", asked.step, step),
        )
        if got != want
    ]
    if not wrong:
        return []
    return [
        "Series.query records " + ", ".join(wrong) + ": record what was asked, "
        "MetricQuery(self.name, query, start, end, step, unit)"
    ]


def _nan_built(outcome: Outcome[object]) -> str:
    return (
        f"{outcome.label} raised {_quote(cast('BaseException', outcome.error))}: the adapter put "
        "a NaN or an infinity in a Sample. Build the series with Series.from_pairs, which turns "
        "NaN and infinities into gaps (None) and counts them in non_finite"
    )


def _check_answer_metric(
    run: _Run, query: str, window: tuple[pendulum.DateTime, pendulum.DateTime], step: float
) -> tuple[Check, Outcome[object], Series | None]:
    """The adapter answers with one Series that records what was asked."""
    adapter = cast("MetricSource", run.fresh())
    label = _query_label(query, "start, end", step)
    outcome = run.call(label, partial(adapter.query_range, query, *window, step))
    if (
        outcome.timed_out
        or isinstance(outcome.error, NaiveDatetimeError)
        or (outcome.error is not None and raised_in(outcome.error, "_finite_or_none"))
    ):
        return _no_answer("answer", outcome), outcome, None
    if outcome.error is not None:
        problem = (
            f"{label} raised {_quote(outcome.error)} for a window you said it has data in: a "
            "working adapter must answer"
        )
        return _failed("answer", [problem]), outcome, None
    series, error = _series_of(run, outcome)
    if series is None:
        return _failed("answer", [error + "; return one incidentkit.Series"]), outcome, None
    problems = _recorded_problems(run, series, query, window, step)
    present = series.present()
    if not present:
        problems.append(
            f"{label} returned no sample with a value: the kit needs a window in which the "
            "source has data"
        )
    if problems:
        return _failed("answer", problems), outcome, series
    return (
        _passed(
            "answer",
            f"a Series of {len(series)} samples ({len(present)} with a value) recording the "
            "source, the query, the window and the step",
        ),
        outcome,
        series,
    )


def _sample_problems(series: Series) -> list[str]:
    naive = [s for s in series.samples if not _aware(s.at)]
    if naive:
        return [
            (
                f"{len(naive)} samples have a naive instant: every instant must carry its time "
                f"zone ({_TO_INSTANT})"
            )
        ]
    return []


def _series_diff(expected: Series, got: Series) -> str:
    if expected.query != got.query:
        return f"it recorded the window as [{got.query.start}, {got.query.end}]"
    before = [s.at for s in expected.samples]
    after = [s.at for s in got.samples]
    if before != after:
        first = after[0] if after else "-"
        return f"{len(after)} samples from {first}, not {len(before)} from {before[0]}"
    return "other values at the same instants"


def _check_zones_metric(  # noqa: C901 - one branch per rule the check enforces
    run: _Run,
    query: str,
    window: tuple[pendulum.DateTime, pendulum.DateTime],
    step: float,
    baseline: tuple[Outcome[object], Series | None],
) -> Check:
    """The same series for the window written in any zone; naive input refused or read as UTC."""
    outcome, expected = baseline
    if isinstance(outcome.error, NaiveDatetimeError):
        return _failed("time_zones", [_naive_built(outcome)])
    if expected is None:
        return _no_answer("time_zones", outcome)
    start, end = window
    problems = _sample_problems(expected)
    adapter = cast("MetricSource", run.fresh())
    for zone in _ZONES:
        first, last = start.in_tz(zone), end.in_tz(zone)
        label = _query_label(query, f"start, end in {zone}", step)
        got = run.call(label, partial(adapter.query_range, query, first, last, step))
        if not got.answered:
            if got.error is not None:
                problems.append(
                    f"{label} raised {_quote(got.error)}: accept any aware datetime and convert "
                    f"it with {_TO_INSTANT}"
                )
            continue
        series, error = _series_of(run, got)
        if series is None:
            problems.append(error)
        elif series != expected:
            problems.append(
                f"the window written in {zone} ({_offset(first)}) gave another series than in "
                f"UTC ({_series_diff(expected, series)}): the adapter uses the wall-clock time "
                f"and drops the offset; convert start and end with {_TO_INSTANT} (or to Unix "
                "seconds) before building the request"
            )
    label = _query_label(query, "naive start, naive end", step)
    got = run.call(label, partial(adapter.query_range, query, start.naive(), end.naive(), step))
    note = "the kit's call ran past the deadline"
    if got.error is not None:
        note = f"naive datetimes are refused ({type(got.error).__name__})"
    elif got.answered:
        series, error = _series_of(run, got)
        note = "naive datetimes are accepted and read as UTC (refusing them is safer)"
        if series is None or series != expected:
            problems.append(
                "given naive datetimes holding the window's UTC time it answered differently "
                f"({error or _series_diff(expected, cast('Series', series))}): it reads a naive "
                f"datetime in another zone, likely the machine's. Refuse naive input: "
                f"{_TO_INSTANT} raises NaiveDatetimeError"
            )
    if problems:
        return _failed("time_zones", problems)
    return _passed(
        "time_zones",
        "the same series for the window in UTC, "
        + ", ".join(f"{z} ({_offset(start.in_tz(z))})" for z in _ZONES)
        + f"; every instant is aware; {note}",
    )


def _check_window_metric(  # noqa: C901 - one branch per rule the check enforces
    run: _Run,
    query: str,
    window: tuple[pendulum.DateTime, pendulum.DateTime],
    step: float,
    baseline: tuple[Outcome[object], Series | None],
) -> Check:
    """Only samples inside the window asked for."""
    outcome, expected = baseline
    if expected is None:
        return _no_answer("window", outcome)
    start, end = window
    samples = [s for s in expected.samples if _aware(s.at)]
    problems: list[str] = []
    outside = [s for s in samples if not start <= s.at <= end]
    if outside:
        problems.append(
            f"{len(outside)} of {len(samples)} samples are outside the window (first at "
            f"{outside[0].at}): the adapter ignores the window; keep only samples with "
            "start <= at <= end"
        )
    inside = [s for s in samples if start <= s.at <= end]
    tried = 0
    if len(inside) >= 3:  # noqa: PLR2004 - a middle sample with one on each side
        middle = inside[len(inside) // 2].at
        adapter = cast("MetricSource", run.fresh())
        for first, last in ((middle, end), (start, middle)):
            label = _query_label(query, f"{first}, {last}", step)
            got = run.call(label, partial(adapter.query_range, query, first, last, step))
            if not got.answered:
                if got.error is not None:
                    problems.append(f"{label} raised {_quote(got.error)}")
                continue
            tried += 1
            series, error = _series_of(run, got)
            if series is None:
                problems.append(error)
                continue
            stray = [s.at for s in series.samples if not first <= s.at <= last]
            if stray:
                problems.append(
                    f"{label} returned {len(stray)} samples outside that window (first at "
                    f"{stray[0]}): the adapter ignores the window"
                )
            have = {s.at for s in series.samples}
            dropped = [s.at for s in inside if first <= s.at <= last and s.at not in have]
            if dropped:
                problems.append(
                    f"{label} left out {len(dropped)} samples inside that window (first at "
                    f"{dropped[0]})"
                )
    if problems:
        return _failed("window", problems)
    detail = f"all {len(samples)} samples are inside the window"
    if tried:
        detail += f"; {tried} narrower windows keep only their own samples"
    else:
        detail += "; too few samples to try a narrower window"
    return _passed("window", detail)


def _filled(samples: Sequence[Sample], where: str) -> str:
    values = [s for s in samples if s.value is not None]
    if not values:
        return ""
    if all(s.value == 0 for s in values):
        return (
            f"{where} holds {len(values)} zeros in the gap (first at {values[0].at}): missing "
            "data must stay missing (absent, or None), never 0: zero errors and no data are "
            "different answers"
        )
    return (
        f"{where} holds {len(values)} values in the gap (first at {values[0].at}, "
        f"{values[0].value!r}): the adapter fills gaps (a default, a forward fill, an "
        "interpolation), or the gap is not one (Prometheus repeats a sample for up to 5 "
        "minutes: start the gap 5 minutes after the last sample)"
    )


def _check_gaps(  # noqa: C901 - one branch per rule the check enforces
    run: _Run,
    query: str,
    step: float,
    baseline: tuple[Outcome[object], Series | None],
    gap: tuple[pendulum.DateTime, pendulum.DateTime] | None,
) -> Check:
    """Gaps come back as gaps, values are finite or None."""
    outcome, expected = baseline
    if outcome.error is not None and raised_in(outcome.error, "_finite_or_none"):
        return _failed("gaps", [_nan_built(outcome)])
    if expected is None:
        return _no_answer("gaps", outcome)
    problems: list[str] = []
    bad = [s.value for s in expected.samples if s.value is not None and not _finite(s.value)]
    if bad:
        problems.append(
            f"{len(bad)} sample values are not finite numbers or None ({safe_repr(bad[0])}): "
            "build the series with Series.from_pairs, which turns NaN and infinities into gaps"
        )
    if gap is None:
        if problems:
            return _failed("gaps", problems)
        return _skipped(
            "gaps",
            "the values are finite or None, but no gap window was given: pass gap=(start, end), "
            "a part of the window where the source has no samples, to check that a gap stays a gap",
        )
    first, last = gap
    problem = _filled(
        expected.between(first, last.add(microseconds=1)), "the series of the whole window"
    )
    if problem:
        problems.append(problem)
    adapter = cast("MetricSource", run.fresh())
    label = _query_label(query, "gap start, gap end", step)
    got = run.call(label, partial(adapter.query_range, query, first, last, step))
    if got.error is not None:
        problems.append(
            f"{label} raised {_quote(got.error)}: a window without samples is an empty series "
            "(no data), not an error"
        )
    elif got.answered:
        series, error = _series_of(run, got)
        if series is None:
            problems.append(error)
        else:
            inside = [s for s in series.samples if first <= s.at <= last]
            problem = _filled(inside, f"the series of {label}")
            if problem:
                problems.append(problem)
    if problems:
        return _failed("gaps", problems)
    return _passed(
        "gaps",
        f"the gap [{first}, {last}] comes back without values, in its own query and in the "
        "whole window's; every value is finite or None",
    )


# --------------------------------------------------------------------------- rollback executors


def _check_answer_executor(run: _Run, change: Change) -> tuple[Check, list[RollbackOption] | None]:  # noqa: C901 - one branch per rule the check enforces
    """Options for the change, from this executor, for this change; a current version."""
    adapter = cast("RollbackExecutor", run.fresh())
    label = f"options({change.id})"
    outcome = run.call(label, partial(adapter.options, change))
    if outcome.timed_out:
        return _no_answer("answer", outcome), None
    if outcome.error is not None:
        return _failed(
            "answer", [f"{label} raised {_quote(outcome.error)}: a working executor must answer"]
        ), None
    options, error = checked_options(run.text_name, outcome.value)
    if error:
        return _failed("answer", [f"{label} answered something else than options: {error}"]), None
    if not options:
        return _failed(
            "answer",
            [
                (
                    f"{label} offered nothing: give the kit a change this executor can roll back "
                    "(an empty answer means it cannot handle the change)"
                )
            ],
        ), None
    problems: list[str] = []
    for option in options:
        if run.name_ok and option.executor != run.name:
            problems.append(
                f"option {option.id} names executor {option.executor!r}, not "
                f"{safe_repr(run.name)}: roll_back finds the executor by this name"
            )
        if option.change_id != change.id:
            problems.append(
                f"option {option.id} reverts {option.change_id!r}, not {change.id!r}: set "
                "change_id=change.id"
            )
    ids = [o.id for o in options]
    if len(set(ids)) != len(ids):
        problems.append(f"option ids repeat ({_shown(ids)}): each option needs its own id")
    target = options[0].target
    current = run.call(f"current_version({target!r})", partial(adapter.current_version, target))
    if current.error is not None:
        problems.append(f"{current.label} raised {_quote(current.error)}")
    elif current.answered and current.value is not None and not isinstance(current.value, str):
        problems.append(
            f"{current.label} returned a {type(current.value).__name__}, not a str or None"
        )
    if problems:
        return _failed("answer", problems), options
    return _passed(
        "answer",
        f"{len(options)} options for {change.id} from {run.name!r} "
        f"({_shown(ids)}); {current.label} = {safe_repr(current.value)}",
    ), options


def _check_dry_run(run: _Run, options: list[RollbackOption] | None) -> Check:  # noqa: C901 - one branch per rule the check enforces
    """Dry runs answer dry-run results for their option and change nothing."""
    if options is None:
        return _skipped("dry_run", f"no options to rehearse: {_CHECKED_CALL_FAILED}")
    rehearsable = [o for o in options if o.supports_dry_run]
    if not rehearsable:
        return _skipped(
            "dry_run", "no option supports a dry run (the protocol notes NO_DRY_RUN on them)"
        )
    adapter = cast("RollbackExecutor", run.fresh())
    problems: list[str] = []
    succeeded = 0
    for option in rehearsable:
        before = run.call(
            f"current_version({option.target!r})", partial(adapter.current_version, option.target)
        )
        label = f"dry_run({option.id})"
        outcome = run.call(label, partial(adapter.dry_run, option))
        after = run.call(
            f"current_version({option.target!r})", partial(adapter.current_version, option.target)
        )
        if not outcome.answered:
            if outcome.error is not None:
                problems.append(
                    f"{label} raised {_quote(outcome.error)}: a rehearsal that would fail "
                    "answers RollbackResult(succeeded=False, detail=why)"
                )
            continue
        result, error = checked_result(run.text_name, outcome.value)
        if result is None:
            problems.append(f"{label} answered something else than a result: {error}")
            continue
        if result.dry_run is not True:
            problems.append(
                f"{label} returned a result with dry_run={result.dry_run!r}: a rehearsal's "
                "result says dry_run=True"
            )
        if result.option_id != option.id:
            problems.append(
                f"{label} returned a result for option {result.option_id!r}, not {option.id!r}"
            )
        if before.answered and after.answered and before.value != after.value:
            problems.append(
                f"{label} changed the live version of {option.target} from "
                f"{safe_repr(before.value)} to {safe_repr(after.value)}: a dry run changes nothing"
            )
        succeeded += bool(result.succeeded)
    if problems:
        return _failed("dry_run", problems)
    return _passed(
        "dry_run",
        f"{len(rehearsable)} dry runs answered dry-run results ({succeeded} would succeed) and "
        "changed no live version; execute() is never called",
    )


# --------------------------------------------------------------------------- public entry points


def check_deploy_source(
    make: Callable[[], DeploySource],
    *,
    window: tuple[dt.datetime, dt.datetime],
    services: Sequence[str] | None = None,
    secrets: Sequence[str] = (),
    broken: Callable[[], DeploySource] | None = None,
    deadline: float = 30.0,
) -> ConformanceReport:
    """Check a :class:`~incidentkit.protocols.DeploySource` against the adapter contract.

    Args:
        make: A zero-argument factory that returns a fresh, working adapter;
            each check builds its own, so checks share no state.
        window: A ``(start, end)`` pair of aware datetimes in which the
            adapter has deploys (several, some starting or ending inside it,
            make the window check sharper).
        services: Services it has deploys of in the window, to check the
            ``services`` filter; by default one taken from its answer.
        secrets: The fake credentials ``make`` and ``broken`` build the
            adapter with; none may ever show.
        broken: A factory of the same adapter configured to fail (a dead
            endpoint, a missing repository, refused credentials); without it
            the ``errors`` check is skipped.
        deadline: How long any one call may take, in seconds.

    Returns:
        The report of the checks ``protocol``, ``answer``, ``time_zones``,
        ``window``, ``errors``, ``deadline``, ``secrets`` and ``incident``.

    Raises:
        InvalidInputError: An argument is unusable (a naive or empty window,
            a secret shorter than 6 characters, a non-positive deadline).

    .. versionadded:: 0.1.0
    """
    return _check_change_role(
        _DEPLOYS,
        make,
        window=window,
        services=services,
        secrets=secrets,
        broken=broken,
        deadline=deadline,
    )


def check_change_source(
    make: Callable[[], ChangeSource],
    *,
    window: tuple[dt.datetime, dt.datetime],
    services: Sequence[str] | None = None,
    secrets: Sequence[str] = (),
    broken: Callable[[], ChangeSource] | None = None,
    deadline: float = 30.0,
) -> ConformanceReport:
    """Check a :class:`~incidentkit.protocols.ChangeSource` against the adapter contract.

    The arguments and checks are those of :func:`check_deploy_source`, for
    infrastructure changes.

    Returns:
        The report of the checks ``protocol``, ``answer``, ``time_zones``,
        ``window``, ``errors``, ``deadline``, ``secrets`` and ``incident``.

    Raises:
        InvalidInputError: An argument is unusable.

    .. versionadded:: 0.1.0
    """
    return _check_change_role(
        _INFRASTRUCTURE,
        make,
        window=window,
        services=services,
        secrets=secrets,
        broken=broken,
        deadline=deadline,
    )


def check_dependency_source(
    make: Callable[[], DependencyStatusSource],
    *,
    window: tuple[dt.datetime, dt.datetime],
    secrets: Sequence[str] = (),
    broken: Callable[[], DependencyStatusSource] | None = None,
    deadline: float = 30.0,
) -> ConformanceReport:
    """Check a :class:`~incidentkit.protocols.DependencyStatusSource` against the contract.

    The arguments and checks are those of :func:`check_deploy_source`,
    without a services filter (dependency incidents are never filtered).

    Returns:
        The report of the checks ``protocol``, ``answer``, ``time_zones``,
        ``window``, ``errors``, ``deadline``, ``secrets`` and ``incident``.

    Raises:
        InvalidInputError: An argument is unusable.

    .. versionadded:: 0.1.0
    """
    return _check_change_role(
        _DEPENDENCIES,
        make,
        window=window,
        services=None,
        secrets=secrets,
        broken=broken,
        deadline=deadline,
    )


def check_metric_source(
    make: Callable[[], MetricSource],
    *,
    query: str,
    window: tuple[dt.datetime, dt.datetime],
    step: float,
    gap: tuple[dt.datetime, dt.datetime] | None = None,
    secrets: Sequence[str] = (),
    broken: Callable[[], MetricSource] | None = None,
    deadline: float = 30.0,
) -> ConformanceReport:
    """Check a :class:`~incidentkit.protocols.MetricSource` against the adapter contract.

    Args:
        make: A zero-argument factory that returns a fresh, working adapter.
        query: A query that has samples in the window.
        window: A ``(start, end)`` pair of aware datetimes with samples in it.
        step: The step to ask for, in seconds.
        gap: A ``(start, end)`` part of the window where the source has no
            samples; the kit checks that it comes back as a gap (absent or
            ``None`` samples), never as zeros. Without it the ``gaps`` check
            only looks at the values and is reported as skipped.
        secrets: The fake credentials the adapters are built with.
        broken: A factory of the same adapter configured to fail.
        deadline: How long any one call may take, in seconds.

    Returns:
        The report of the checks ``protocol``, ``answer``, ``time_zones``,
        ``window``, ``gaps``, ``errors``, ``deadline``, ``secrets`` and
        ``incident``.

    Raises:
        InvalidInputError: An argument is unusable (the gap is not inside the
            window, the step is not positive, the query is empty).

    .. versionadded:: 0.1.0
    """
    start, end = _window(window)
    if not isinstance(cast("object", query), str) or not query.strip():
        msg = f"query must be a non-empty string, not {query!r}"
        raise InvalidInputError(msg)
    if not _positive(step):
        msg = f"step must be a positive number of seconds, not {step!r}"
        raise InvalidInputError(msg)
    hole = None if gap is None else _window(gap, "gap", instant=True)
    if hole is not None and not (start <= hole[0] and hole[1] <= end):
        msg = f"the gap [{hole[0]}, {hole[1]}] must lie inside the window [{start}, {end}]"
        raise InvalidInputError(msg)
    run = _Run("MetricSource", make, broken, _secrets(secrets), _deadline(deadline))
    protocol = _check_protocol(run, MetricSource, ("name", "query_range"))
    if not run.shape_ok:
        return _unshaped(run, protocol, _METRIC_CHECKS)
    answer, outcome, series = _check_answer_metric(run, query, (start, end), step)
    baseline = (outcome, series)
    zones = _check_zones_metric(run, query, (start, end), step, baseline)
    scope = _check_window_metric(run, query, (start, end), step, baseline)
    gaps = _check_gaps(run, query, step, baseline, hole)
    errors = _check_errors(
        run,
        [
            (
                _query_label(query, "start, end", step),
                lambda a: cast("MetricSource", a).query_range(query, start, end, step),
            )
        ],
        "pointed at a dead endpoint",
    )

    def expect(incident: IncidentRun) -> list[str]:
        return [] if incident.taken else ["the incident measured no figure from the series"]

    incident = _check_incident(
        run,
        IncidentPlan("metric", start, end, query=query, step=float(step)),
        expect,
        answered=answer.passed,
    )
    return run.report(
        [
            protocol,
            answer,
            zones,
            scope,
            gaps,
            errors,
            _check_deadline(run),
            _check_secrets(run),
            incident,
        ]
    )


def check_rollback_executor(
    make: Callable[[], RollbackExecutor],
    *,
    change: Change,
    secrets: Sequence[str] = (),
    broken: Callable[[], RollbackExecutor] | None = None,
    deadline: float = 30.0,
) -> ConformanceReport:
    """Check a :class:`~incidentkit.protocols.RollbackExecutor` against the contract.

    The kit asks for options, the current version and dry runs. It **never**
    calls ``execute()``: test a real rollback yourself, against a system you
    can afford to change.

    Args:
        make: A zero-argument factory that returns a fresh, working executor.
        change: A change the executor can roll back.
        secrets: The fake credentials the executors are built with.
        broken: A factory of the same executor configured to fail.
        deadline: How long any one call may take, in seconds.

    Returns:
        The report of the checks ``protocol``, ``answer``, ``dry_run``,
        ``errors``, ``deadline``, ``secrets`` and ``incident``.

    Raises:
        InvalidInputError: An argument is unusable.

    .. versionadded:: 0.1.0
    """
    if not isinstance(change, Change):  # pyright: ignore[reportUnnecessaryIsInstance]
        msg = f"change must be an incidentkit.Change, not {type(change).__name__}"
        raise InvalidInputError(msg)
    run = _Run("RollbackExecutor", make, broken, _secrets(secrets), _deadline(deadline))
    protocol = _check_protocol(
        run, RollbackExecutor, ("name", "options", "current_version", "dry_run", "execute")
    )
    if not run.shape_ok:
        return _unshaped(run, protocol, _EXECUTOR_CHECKS)
    answer, options = _check_answer_executor(run, change)
    dry_run = _check_dry_run(run, options)
    target = options[0].target if options else change.service
    calls: list[tuple[str, Callable[[object], object]]] = [
        (f"options({change.id})", lambda a: cast("RollbackExecutor", a).options(change)),
        (
            f"current_version({target!r})",
            lambda a: cast("RollbackExecutor", a).current_version(target),
        ),
    ]
    rehearsable = [o for o in options or () if o.supports_dry_run]
    if rehearsable:
        calls.append(
            (
                f"dry_run({rehearsable[0].id})",
                lambda a: cast("RollbackExecutor", a).dry_run(
                    attrs.evolve(rehearsable[0], executor=safe_str(_read_name(a)[0]))
                ),
            )
        )
    errors = _check_errors(run, calls, "pointed at a cluster or repository it cannot reach")

    def expect(incident: IncidentRun) -> list[str]:
        if change.id in incident.taken:
            return []
        return [f"the incident's review found no option for {change.id}"]

    after = (change.finished or change.started).add(hours=1)
    plan = IncidentPlan("executor", change.started, after, change=change)
    incident = _check_incident(run, plan, expect, answered=answer.passed)
    return run.report(
        [
            protocol,
            answer,
            dry_run,
            errors,
            _check_deadline(run),
            _check_secrets(run),
            incident,
        ]
    )
