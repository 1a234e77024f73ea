"""The checks every protocol goes through: ``errors``, ``deadline``, ``secrets``, ``incident``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial

from incidentkit._errors import SourceError
from incidentkit.testing._calls import (
    Outcome,
    safe_repr,
    safe_str,
)
from incidentkit.testing._conformance._common import (
    MESSAGE,
    failed,
    passed,
    quote,
    shown,
    skipped,
)
from incidentkit.testing._conformance._run import Run, read_name
from incidentkit.testing._incident_run import IncidentPlan, IncidentRun, run_incident
from incidentkit.testing._results import Check

__all__ = ["check_deadline", "check_errors", "check_incident", "check_secrets"]

_INCIDENT_SLACK = 10.0  # an incident run also writes and fsyncs a journal


def check_errors(  # noqa: C901 - one branch per rule the check enforces
    run: Run, calls: Sequence[tuple[str, Callable[[object], object]]], setting: str
) -> Check:
    """Every call on the broken adapter raises a SourceError naming the adapter."""
    if run.broken is None:
        return skipped(
            "errors",
            f"no broken adapter given: pass broken=<a factory of the adapter {setting}> to "
            "check how it fails",
        )
    adapter = run.fresh_broken()
    name, problem = read_name(adapter)
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
                f"{label} answered {safe_repr(outcome.value)[:MESSAGE]} instead of raising: a "
                "source that cannot answer must raise a SourceError, or the incident takes the "
                "answer for the truth"
            )
        elif not isinstance(exc, SourceError):
            problems.append(
                f"{label} raised {quote(exc)}, not a SourceError: catch it in the adapter and "
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
            seen.append(quote(exc))
    run.broken_hung = hung > 0
    if problems:
        return failed("errors", problems)
    if not seen:
        return skipped(
            "errors", "every call on the broken adapter ran past the deadline: see deadline"
        )
    detail = f"{len(seen)} calls raised a SourceError naming the adapter: " + " | ".join(seen)
    if hung:
        detail += f" ({hung} ran past the deadline: see deadline)"
    return passed("errors", detail)


def check_deadline(run: Run) -> Check:
    """Every call returned within the deadline."""
    late = run.runner.timed_out()
    deadline = run.runner.deadline
    if late:
        return failed(
            "deadline",
            [
                (
                    f"{shown([c.label for c in late])} did not return within {deadline:g} s: "
                    "give every request a timeout (the shared HTTP client "
                    "incidentkit.adapters._http has one) and raise SourceTimeoutError when it "
                    "runs out; an incident waits on every call"
                )
            ],
        )
    slowest = max(run.runner.calls, key=lambda c: c.seconds)
    return passed(
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


def check_secrets(run: Run) -> Check:
    """No secret appears in anything the adapter showed or produced."""
    if not run.secrets:
        return skipped(
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
        return failed(
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
    return passed(
        "secrets",
        f"{len(run.secrets)} secrets absent from {len(run.runner.texts)} texts: the adapters' "
        "repr, str and name, every answer and error message, the incidents' journals and reports",
    )


def _keep_texts(run: Run, what: str, incident: IncidentRun) -> None:
    run.runner.text(f"the journal of {what}", incident.journal)
    run.runner.text(f"the Markdown report of {what}", incident.markdown)
    run.runner.text(f"the JSON report of {what}", incident.json)


def check_incident(
    run: Run,
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
        return skipped(
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
        return failed("incident", problems)
    if not ran:
        return skipped("incident", "; ".join(notes))
    return passed("incident", "; ".join(notes))


def _incident_problems(run: Run, outcome: Outcome[IncidentRun], *, broken: bool) -> list[str]:
    if outcome.error is not None:
        problem = f"{outcome.label} raised {quote(outcome.error)}"
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
