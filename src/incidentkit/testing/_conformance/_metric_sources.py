"""The conformance checks of a :class:`~incidentkit.protocols.MetricSource`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from functools import partial
from typing import cast

import pendulum

from incidentkit._errors import InvalidInputError, NaiveDatetimeError
from incidentkit._gather import checked_series
from incidentkit._model import Sample, Series
from incidentkit.protocols import MetricSource
from incidentkit.testing._calls import (
    Outcome,
    raised_in,
    safe_repr,
)
from incidentkit.testing._conformance._common import (
    TO_INSTANT,
    ZONES,
    aware,
    checked_deadline,
    checked_secrets,
    checked_window,
    failed,
    finite,
    naive_built,
    no_answer,
    offset,
    passed,
    positive,
    quote,
    show,
    skipped,
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

__all__ = ["check_metric_source"]

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


def _query_label(query: str, window: str, step: float) -> str:
    return f"query_range({query!r}, {window}, {step:g})"


def _series_of(run: Run, outcome: Outcome[object]) -> tuple[Series | None, str]:
    series, error = checked_series(run.text_name, outcome.value)
    if error:
        return None, f"{outcome.label} answered something else than a Series: {error}"
    return series, ""


def _recorded_problems(
    run: Run,
    series: Series,
    query: str,
    window: tuple[pendulum.DateTime, pendulum.DateTime],
    step: float,
) -> list[str]:
    asked = series.query
    wrong = [
        f"{what} {show(got)} instead of {show(want)}"
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
        f"{outcome.label} raised {quote(cast('BaseException', outcome.error))}: the adapter put "
        "a NaN or an infinity in a Sample. Build the series with Series.from_pairs, which turns "
        "NaN and infinities into gaps (None) and counts them in non_finite"
    )


def _check_answer_metric(
    run: Run, query: str, window: tuple[pendulum.DateTime, pendulum.DateTime], step: float
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
        return no_answer("answer", outcome), outcome, None
    if outcome.error is not None:
        problem = (
            f"{label} raised {quote(outcome.error)} for a window you said it has data in: a "
            "working adapter must answer"
        )
        return failed("answer", [problem]), outcome, None
    series, error = _series_of(run, outcome)
    if series is None:
        return failed("answer", [error + "; return one incidentkit.Series"]), outcome, None
    problems = _recorded_problems(run, series, query, window, step)
    present = series.present()
    if not present:
        problems.append(
            f"{label} returned no sample with a value: the kit needs a window in which the "
            "source has data"
        )
    if problems:
        return failed("answer", problems), outcome, series
    return (
        passed(
            "answer",
            f"a Series of {len(series)} samples ({len(present)} with a value) recording the "
            "source, the query, the window and the step",
        ),
        outcome,
        series,
    )


def _sample_problems(series: Series) -> list[str]:
    naive = [s for s in series.samples if not aware(s.at)]
    if naive:
        return [
            (
                f"{len(naive)} samples have a naive instant: every instant must carry its time "
                f"zone ({TO_INSTANT})"
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
    run: Run,
    query: str,
    window: tuple[pendulum.DateTime, pendulum.DateTime],
    step: float,
    baseline: tuple[Outcome[object], Series | None],
) -> Check:
    """The same series for the window written in any zone; naive input refused or read as UTC."""
    outcome, expected = baseline
    if isinstance(outcome.error, NaiveDatetimeError):
        return failed("time_zones", [naive_built(outcome)])
    if expected is None:
        return no_answer("time_zones", outcome)
    start, end = window
    problems = _sample_problems(expected)
    adapter = cast("MetricSource", run.fresh())
    for zone in ZONES:
        first, last = start.in_tz(zone), end.in_tz(zone)
        label = _query_label(query, f"start, end in {zone}", step)
        got = run.call(label, partial(adapter.query_range, query, first, last, step))
        if not got.answered:
            if got.error is not None:
                problems.append(
                    f"{label} raised {quote(got.error)}: accept any aware datetime and convert "
                    f"it with {TO_INSTANT}"
                )
            continue
        series, error = _series_of(run, got)
        if series is None:
            problems.append(error)
        elif series != expected:
            problems.append(
                f"the window written in {zone} ({offset(first)}) gave another series than in "
                f"UTC ({_series_diff(expected, series)}): the adapter uses the wall-clock time "
                f"and drops the offset; convert start and end with {TO_INSTANT} (or to Unix "
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
                f"{TO_INSTANT} raises NaiveDatetimeError"
            )
    if problems:
        return failed("time_zones", problems)
    return passed(
        "time_zones",
        "the same series for the window in UTC, "
        + ", ".join(f"{z} ({offset(start.in_tz(z))})" for z in ZONES)
        + f"; every instant is aware; {note}",
    )


def _check_window_metric(  # noqa: C901 - one branch per rule the check enforces
    run: Run,
    query: str,
    window: tuple[pendulum.DateTime, pendulum.DateTime],
    step: float,
    baseline: tuple[Outcome[object], Series | None],
) -> Check:
    """Only samples inside the window asked for."""
    outcome, expected = baseline
    if expected is None:
        return no_answer("window", outcome)
    start, end = window
    samples = [s for s in expected.samples if aware(s.at)]
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
                    problems.append(f"{label} raised {quote(got.error)}")
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
        return failed("window", problems)
    detail = f"all {len(samples)} samples are inside the window"
    if tried:
        detail += f"; {tried} narrower windows keep only their own samples"
    else:
        detail += "; too few samples to try a narrower window"
    return passed("window", detail)


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
    run: Run,
    query: str,
    step: float,
    baseline: tuple[Outcome[object], Series | None],
    gap: tuple[pendulum.DateTime, pendulum.DateTime] | None,
) -> Check:
    """Gaps come back as gaps, values are finite or None."""
    outcome, expected = baseline
    if outcome.error is not None and raised_in(outcome.error, "_finite_or_none"):
        return failed("gaps", [_nan_built(outcome)])
    if expected is None:
        return no_answer("gaps", outcome)
    problems: list[str] = []
    bad = [s.value for s in expected.samples if s.value is not None and not finite(s.value)]
    if bad:
        problems.append(
            f"{len(bad)} sample values are not finite numbers or None ({safe_repr(bad[0])}): "
            "build the series with Series.from_pairs, which turns NaN and infinities into gaps"
        )
    if gap is None:
        if problems:
            return failed("gaps", problems)
        return skipped(
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
            f"{label} raised {quote(got.error)}: a window without samples is an empty series "
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
        return failed("gaps", problems)
    return passed(
        "gaps",
        f"the gap [{first}, {last}] comes back without values, in its own query and in the "
        "whole window's; every value is finite or None",
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
    start, end = checked_window(window)
    if not isinstance(cast("object", query), str) or not query.strip():
        msg = f"query must be a non-empty string, not {query!r}"
        raise InvalidInputError(msg)
    if not positive(step):
        msg = f"step must be a positive number of seconds, not {step!r}"
        raise InvalidInputError(msg)
    hole = None if gap is None else checked_window(gap, "gap", instant=True)
    if hole is not None and not (start <= hole[0] and hole[1] <= end):
        msg = f"the gap [{hole[0]}, {hole[1]}] must lie inside the window [{start}, {end}]"
        raise InvalidInputError(msg)
    run = Run("MetricSource", make, broken, checked_secrets(secrets), checked_deadline(deadline))
    protocol = check_protocol(run, MetricSource, ("name", "query_range"))
    if not run.shape_ok:
        return unshaped(run, protocol, _METRIC_CHECKS)
    answer, outcome, series = _check_answer_metric(run, query, (start, end), step)
    baseline = (outcome, series)
    zones = _check_zones_metric(run, query, (start, end), step, baseline)
    scope = _check_window_metric(run, query, (start, end), step, baseline)
    gaps = _check_gaps(run, query, step, baseline, hole)
    errors = check_errors(
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

    incident = check_incident(
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
            check_deadline(run),
            check_secrets(run),
            incident,
        ]
    )
