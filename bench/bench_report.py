"""The HTML report against the Markdown report, of an incident of 100,000 events with long series.

The incident is worked through the protocol (declared; impact assessed from an error
series and a traffic series of 0.2 s samples, over 100,000 of them each; changes
gathered; rollbacks reviewed; a mitigation; recovery verified from the same series),
then the bulk of its events is appended with ``Journal.append`` as ``bench_resume``
does (70% notes, 20% findings, 10% ``changes_gathered``), and it is resumed, diagnosed
and resolved through the protocol: 100,000 journal events in all.

Each case runs in fresh interpreters (``_fresh.interleaved``), the way
``incidentkit report --format html`` runs: the timed part resumes the journal, builds
the report and renders it (``render_html`` loads Jinja2 and matplotlib on its first
call, inside the timed part, as a command would), against the same with
``render_markdown``, the baseline. A second pair times the report and the rendering
alone, the incident already resumed in the untimed setup. Reported: best and median
wall time, peak resident memory, their ratios to the Markdown report's, and the sizes
of what was written.

The chart is downsampled to at most three samples a column (:mod:`incidentkit._chart`),
so its size does not grow with the series: a third table renders the report of a small
incident (the same steps without the bulk, under 20 events) whose series have 10,000,
100,000 and 1,000,000 samples.

The reports fold a huge incident's timeline by default (long runs of notes and
repeats as counted groups, :func:`incidentkit._render._common.fold_timeline`); a third
pair times both with ``full_timeline=True``, every event listed, and the sizes of all
four are given.

**Goals**: the HTML report at most **3x** the Markdown report's wall time and peak
memory; the HTML file under **2 MB** whatever the series' length.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pendulum
from _common import (
    Result,
    journal_dir,
    markdown_table,
    median,
    ratio_text,
    seconds_text,
    verdict,
)
from _fresh import best, interleaved, megabytes
from bench_resume import _bulk_events, _changes  # the same bulk as the resume benchmark

from incidentkit import (
    Actor,
    ChangeKind,
    ChecklistItem,
    Detection,
    Evidence,
    Incident,
    Journal,
    ManualClock,
    Metric,
    MetricQuery,
    Recovered,
    Role,
    Series,
)
from incidentkit._events import unstructure_event
from incidentkit.memory import InMemoryChangeSource, InMemoryDeploySource
from incidentkit.reports import render_html, render_json, render_markdown

if TYPE_CHECKING:
    from pathlib import Path

    from incidentkit import Report

EVENTS = 100_000
QUICK_EVENTS = 10_000
STEP = 0.2  # seconds between samples: over 100,000 samples in the assessment's 6 h window
RUNS = 5
QUICK_RUNS = 2
TIME_GOAL = 3.0
MEMORY_GOAL = 3.0
SIZE_GOAL = 2_000_000
SERIES_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SERIES_SIZES = (10_000, 100_000)

_T0 = pendulum.datetime(2026, 3, 14, 9, 0, tz="UTC")
_SYMPTOM = _T0.add(minutes=-12)
_HEALED = _T0.add(minutes=6)
_ERRORS = 'sum(rate(http_requests_total{service="checkout",code=~"5.."}[5m]))'
_TRAFFIC = 'sum(rate(http_requests_total{service="checkout"}[5m]))'
_ASSESSED_WINDOW = (_T0.add(minutes=1) - _SYMPTOM.add(minutes=3, hours=-6)).total_seconds()
"""What the assessment reads: 6 h before the detection (the longest burn-rate window) to now."""
_DANA = Actor("Dana", Role.INCIDENT_COMMANDER)
_SAM = Actor("Sam", Role.OPERATIONS)


class OutageSource:
    """**MetricSource**: the outage's error ratio and traffic, sampled every ``step`` seconds.

    The error ratio is 0.2% with a little noise, 17% from the symptom until the
    mitigation has worked, and has one spike of 95% an hour before the symptom;
    the traffic is about 800 requests a second.
    """

    def __init__(self, step: float = STEP) -> None:
        self.step = step

    @property
    def name(self) -> str:
        """The source's name."""
        return "prometheus"

    def query_range(
        self, query: str, start: pendulum.DateTime, end: pendulum.DateTime, step: float
    ) -> Series:
        """Answer ``query`` over ``[start, end]`` from plain columns (no object a sample)."""
        first, last = start.timestamp(), end.timestamp()
        spacing = self.step
        count = int((last - first) // spacing) + 1
        times = [first + i * spacing for i in range(count)]
        if query == _TRAFFIC:
            values = [800.0 + (i * 7919 % 41) for i in range(count)]
        else:
            symptom, healed = _SYMPTOM.timestamp(), _HEALED.timestamp()
            spike = symptom - 3600.0
            values = [
                0.95
                if abs(t - spike) < spacing / 2
                else 0.17 + (i % 9) / 1000
                if symptom <= t < healed
                else 0.002 + (i * 7919 % 13) / 10000
                for i, t in enumerate(times)
            ]
        return Series.from_columns(MetricQuery(self.name, query, start, end, step), times, values)


def work_until_recovered(path: Path, source: OutageSource) -> tuple[ManualClock, Recovered]:
    """Declare, assess, gather, review, mitigate and verify recovery through the protocol."""
    clock = ManualClock(_T0)
    errors = Metric(source, _ERRORS, unit="ratio", step=source.step)
    traffic = Metric(source, _TRAFFIC, unit="req/s", step=source.step)
    pool = _changes()
    declared = Incident.declare(
        title="Checkout returns 5xx",
        services=["checkout"],
        actor=_DANA,
        detection=Detection.ALERT,
        detected_at=_SYMPTOM.add(minutes=3),
        journal=path,
        clock=clock,
        depends_on={"checkout": ["payments-api", "k8s-prod-eu"]},
    )
    clock.advance(minutes=1)
    assessed = declared.assess_impact(
        actor=_DANA, ongoing=True, errors=errors, traffic=traffic, slo=0.999
    ).gather_changes(
        actor=_SAM,
        deploys=[
            InMemoryDeploySource(
                [c for c in pool if c.kind is not ChangeKind.INFRASTRUCTURE], name="argo"
            )
        ],
        infrastructure=[
            InMemoryChangeSource(
                [c for c in pool if c.kind is ChangeKind.INFRASTRUCTURE], name="terraform"
            )
        ],
    )
    reviewed = assessed.review_rollbacks([], actor=_SAM)
    clock.set(_T0.add(minutes=5))
    intervened = reviewed.mitigate(
        "shifted checkout traffic to eu-west-2",
        actor=_SAM,
        why_not_rollback="no executor for these deploys",
    )
    clock.set(_T0.add(minutes=40))
    recovered = intervened.verify_recovery(actor=_SAM, errors=errors, traffic=traffic)
    if not isinstance(recovered, Recovered):
        msg = f"the benchmark's incident did not recover: {recovered.last_verdict}"
        raise TypeError(msg)
    return clock, recovered


def resolve(recovered: Recovered) -> None:
    """Diagnose and resolve through the protocol."""
    diagnosing = recovered.begin_diagnosis(actor=_DANA)
    for item in (ChecklistItem.DEPLOYS, ChecklistItem.INFRASTRUCTURE):
        diagnosing = diagnosing.check(item, actor=_DANA, conclusion=f"{item.value}: nothing else")
    diagnosing = diagnosing.waive(
        ChecklistItem.DEPENDENCIES, actor=_DANA, reason="no dependency source here"
    )
    diagnosing.resolve(
        actor=_DANA,
        root_cause="deploy-4821 broke the pricing client",
        evidence=[Evidence.change("deploy-4821"), Evidence.metric(_ERRORS)],
    )


def build_incident(path: Path, events: int) -> float:
    """Write the incident's journal of ``events`` events at ``path``; return the seconds taken."""
    began = time.perf_counter()
    clock, _recovered = work_until_recovered(path, OutageSource())
    journal = Journal.open(path)
    closing = 2 + len(ChecklistItem)  # diagnosis begun, one check an item, resolved
    bulk = events - len(journal) - closing
    for event in _bulk_events(bulk, clock.now().add(seconds=1), _changes()):
        journal.append(unstructure_event(event))
    del journal
    resumed = Incident.resume(path, clock=ManualClock(_T0.add(days=2)))
    if not isinstance(resumed, Recovered):
        msg = f"resumed in phase {type(resumed).__name__}, not Recovered"
        raise TypeError(msg)
    resolve(resumed)
    return time.perf_counter() - began


_SETUP = """
from incidentkit import Incident
from incidentkit.reports import render_html, render_markdown
PATH = {path!r}
OUT = {out!r}
"""
_RESUMED = _SETUP + "phase = Incident.resume(PATH)\n"
_CASES = {
    # Each case: its label, its setup and its timed part.
    "html": (
        "resume + report + `render_html` (the command's path)",
        _SETUP,
        "open(OUT, 'w', encoding='utf-8').write(render_html(Incident.resume(PATH).report()))",
    ),
    "markdown": (
        "baseline: resume + report + `render_markdown`",
        _SETUP,
        "open(OUT, 'w', encoding='utf-8').write(render_markdown(Incident.resume(PATH).report()))",
    ),
    "html_render": (
        "report + `render_html` (resumed untimed)",
        _RESUMED,
        "open(OUT, 'w', encoding='utf-8').write(render_html(phase.report()))",
    ),
    "markdown_render": (
        "report + `render_markdown` (resumed untimed)",
        _RESUMED,
        "open(OUT, 'w', encoding='utf-8').write(render_markdown(phase.report()))",
    ),
    "html_full": (
        "resume + report + `render_html(full_timeline=True)`",
        _SETUP,
        (
            "open(OUT, 'w', encoding='utf-8')"
            ".write(render_html(Incident.resume(PATH).report(), full_timeline=True))"
        ),
    ),
    "markdown_full": (
        "baseline: resume + report + `render_markdown(full_timeline=True)`",
        _SETUP,
        (
            "open(OUT, 'w', encoding='utf-8')"
            ".write(render_markdown(Incident.resume(PATH).report(), full_timeline=True))"
        ),
    ),
}
_BASE = {
    "html": "markdown",
    "markdown": "markdown",
    "html_render": "markdown_render",
    "markdown_render": "markdown_render",
    "html_full": "markdown_full",
    "markdown_full": "markdown_full",
}


def _series_sizes(directory: Path, sizes: tuple[int, ...]) -> list[list[str]]:
    """The reports of a small incident whose series have ``sizes`` samples: their sizes."""
    rows: list[list[str]] = []
    for points in sizes:
        path = directory / f"small-{points}.jsonl"
        step = _ASSESSED_WINDOW / (points - 1)  # the assessment reads ``points`` samples
        _clock, recovered = work_until_recovered(path, OutageSource(step))
        resolve(recovered)
        report = Incident.resume(path).report()
        chart = report.chart
        kept = len(chart.errors.times) if chart is not None and chart.errors is not None else 0
        began = time.perf_counter()
        document = render_html(report)
        seconds = time.perf_counter() - began
        html_size = len(document.encode())
        rows.append(
            [
                f"{points:,}",
                f"{kept:,}",
                f"{html_size:,} B",
                f"{len(render_json(report).encode()):,} B",
                f"{len(render_markdown(report).encode()):,} B",
                seconds_text(seconds),
                "yes" if html_size < SIZE_GOAL else "**no**",
            ]
        )
    return rows


def _sizes(report: Report) -> dict[str, int]:
    from incidentkit._render._chart import chart_svg_inline  # noqa: PLC0415 - one figure

    timeline = sum(len(e.summary) + 120 for e in report.timeline)  # a row's markup, roughly
    return {
        "html": len(render_html(report).encode()),
        "markdown": len(render_markdown(report).encode()),
        "html_full": len(render_html(report, full_timeline=True).encode()),
        "markdown_full": len(render_markdown(report, full_timeline=True).encode()),
        "json": len(render_json(report).encode()),
        "svg": len(chart_svg_inline(report).encode()),
        "timeline_estimate": timeline,
    }


def run(*, quick: bool = False) -> Result:
    """Build the incident, time both reports in fresh processes, measure the sizes."""
    events = QUICK_EVENTS if quick else EVENTS
    runs = QUICK_RUNS if quick else RUNS
    with journal_dir() as (directory, where):
        path = directory / "incident.jsonl"
        build_seconds = build_incident(path, events)
        report = Incident.resume(path).report()
        held = len(Incident.resume(path).events)
        sizes = _sizes(report)
        answered = [
            f.finding.detail
            for f in report.findings
            if "reduced for the journal" in f.finding.summary
        ]
        chart = report.chart
        cases = {
            name: (setup.format(path=str(path), out=str(directory / f"{name}.out")), timed)
            for name, (_label, setup, timed) in _CASES.items()
        }
        measured = interleaved(cases, runs=runs)
        small = _series_sizes(directory, QUICK_SERIES_SIZES if quick else SERIES_SIZES)
    fresh = {name: best(r) for name, r in measured.items()}
    middle = {name: median([x.seconds for x in r]) for name, r in measured.items()}
    peak = {name: _mid([x.peak_rss for x in r]) for name, r in measured.items()}
    added = {name: _mid([x.added_rss for x in r]) for name, r in measured.items()}
    time_ratio = {n: (fresh[n] / fresh[_BASE[n]], middle[n] / middle[_BASE[n]]) for n in fresh}
    memory_ratio = {n: peak[n] / peak[_BASE[n]] for n in fresh}
    rows = [
        [
            _CASES[name][0],
            seconds_text(fresh[name]),
            seconds_text(middle[name]),
            f"{ratio_text(time_ratio[name][0])} / {ratio_text(time_ratio[name][1])}",
            megabytes(peak[name]),
            megabytes(added[name]),
            ratio_text(memory_ratio[name]),
        ]
        for name in _CASES
    ]
    sentences: list[str] = []
    missed: list[str] = []
    for which, index in (("best", 0), ("median", 1)):
        sentence, miss = verdict(
            f"the HTML report's wall time ({which} fresh run)", time_ratio["html"][index], TIME_GOAL
        )
        sentences.append(sentence)
        missed += [miss] if miss else []
    sentence, miss = verdict(
        "the HTML report's peak RSS (median)", memory_ratio["html"], MEMORY_GOAL
    )
    sentences.append(sentence)
    missed += [miss] if miss else []
    largest_small = max(int(row[2].split()[0].replace(",", "")) for row in small)
    longest = (QUICK_SERIES_SIZES if quick else SERIES_SIZES)[-1]
    if largest_small < SIZE_GOAL:
        sentences.append(
            f"**Goal met**: the HTML file of the small incident stays under "
            f"{megabytes(SIZE_GOAL)} whatever the series' length (largest "
            f"{megabytes(largest_small)}, for series of up to {longest:,} samples)."
        )
    else:
        miss = (
            f"**Goal missed**: an HTML file of the small incident is {megabytes(largest_small)}, "
            f"over {megabytes(SIZE_GOAL)}."
        )
        sentences.append(miss)
        missed.append(miss)
    for which, folded in (("folded (the default)", True), ("full (`full_timeline=True`)", False)):
        html_size = sizes["html" if folded else "html_full"]
        markdown_size = sizes["markdown" if folded else "markdown_full"]
        over = html_size >= SIZE_GOAL
        sentences.append(
            f"{'**Over 2 MB**' if over else '**Under 2 MB**'}: the HTML report of the "
            f"{events:,}-event incident, its timeline {which}, is {html_size:,} B (the "
            f"Markdown report {markdown_size:,} B, {html_size / markdown_size:.2f}x); its "
            f"chart is {sizes['svg']:,} B of it."
        )
    sentences.append(
        "Folded, the reports list the protocol's steps, the changes and each finding or "
        "gathering the first time its words appear; the long runs of notes and repeats are "
        "counted groups, each with its first and last five entries (the full timeline, one "
        f"row an event, is about {megabytes(sizes['timeline_estimate'])} of text). The full "
        f"HTML report's time: {ratio_text(time_ratio['html_full'][0])} (best) / "
        f"{ratio_text(time_ratio['html_full'][1])} (median) the full Markdown report's."
    )
    kept = len(chart.errors.times) if chart is not None and chart.errors is not None else 0
    return Result(
        name="report",
        title=f"The HTML report of {events:,} events against the Markdown report",
        setup=[
            (
                f"Incident of {held:,} journal events: worked through the protocol with an "
                f"error and a traffic series of {STEP:g} s samples (the assessment read "
                + "; ".join(a.split(";")[0] for a in answered[:1])
                + "), then notes, findings and gatherings appended as in `bench_resume`, "
                "then diagnosed and resolved through the protocol. The journal keeps at most "
                f"10,000 samples a series (its own bound); the chart keeps {kept:,} of the "
                "error series' samples in its window."
            ),
            f"Building it took {build_seconds:.1f} s; not part of the figures. Journal in {where}.",
            (
                f"{runs} fresh interpreters per case (`bench/_fresh.py`), interleaved; "
                "`import incidentkit` untimed, Jinja2 and matplotlib loaded in the timed part "
                "(on `render_html`'s first call). Each writes its output to a file."
            ),
            (
                f"Sizes, the timeline folded (the default): HTML {sizes['html']:,} B, Markdown "
                f"{sizes['markdown']:,} B; with `full_timeline=True`: HTML "
                f"{sizes['html_full']:,} B, Markdown {sizes['markdown_full']:,} B; JSON "
                f"{sizes['json']:,} B (every value, never folded), the chart's inline SVG "
                f"{sizes['svg']:,} B."
            ),
        ],
        headers=[
            "Case",
            "Best",
            "Median",
            "Ratio to Markdown (best / median)",
            "Peak RSS",
            "Added",
            "Peak ratio",
        ],
        rows=rows,
        verdicts=sentences,
        missed=missed,
        sections=[
            (
                "File sizes against the series' length (a small incident)",
                "The same incident without the bulk of notes (under 20 events), its series "
                "answered with the number of samples given (the journal keeps 10,000 of each, "
                "the extremes included; the chart keeps at most three a column of its "
                "1,000).\n\n"
                + markdown_table(
                    [
                        "Samples a series",
                        "Kept on the chart",
                        "HTML",
                        "JSON",
                        "Markdown",
                        "`render_html`",
                        f"HTML < {megabytes(SIZE_GOAL)}",
                    ],
                    small,
                ),
            )
        ],
        data={
            "fresh": fresh,
            "median": middle,
            "peak": peak,
            "sizes": sizes,
            "ratios": time_ratio,
            "memory_ratios": memory_ratio,
            "events": held,
        },
    )


def _mid(values: list[int]) -> int:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


if __name__ == "__main__":
    import sys

    print(run(quick="--quick" in sys.argv).to_markdown())
