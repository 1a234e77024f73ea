"""The report in every format: HTML, the chart as SVG and PNG, JSON, Markdown.

Hostile text from a person or a source stays inert in each: the HTML parses to
the same elements as the harmless report's, with the text shown as text; the
SVG is well-formed XML without a script; the JSON holds the text exactly.
The chart's data is downsampled so that a long series keeps its spikes and
gaps and the files stay small.
"""

from __future__ import annotations

import html.parser
import json
import math
import pathlib
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from array import array
from functools import cache

import attrs
import pendulum
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from _report_incident import FIELDS, HARMLESS, NASTY, SCRATCH, report_with, work_incident
from fakes import ERRORS_QUERY, SYMPTOM_START, TRAFFIC_QUERY
from incidentkit import (
    ChecklistItem,
    Detection,
    Evidence,
    Incident,
    ManualClock,
    Metric,
    MetricQuery,
    Recovered,
    Report,
    Series,
)
from incidentkit._chart import downsample
from incidentkit._model import Finding, FindingKind
from incidentkit._render._common import visible
from incidentkit._render._markdown import inline
from incidentkit._report import ReportFinding
from incidentkit._timeline import TimelineEntry
from incidentkit.reports import (
    CHART_COLUMNS,
    ChartMarkerKind,
    render_chart_png,
    render_chart_svg,
    render_html,
    render_json,
    render_markdown,
)
from services import require_modules

HOSTILE_TITLE = "</table><script>alert(1)</script> | a | b |\n## Root cause\n\x1b[2J\x1b[31mred"
"""A title that closes a table and runs a script, breaks a Markdown table and clears a terminal."""
HOSTILE_SUMMARY = "</td></tr></table><script>alert(2)</script><img src=x onerror=alert(3)> |x|"
"""A change summary that tries the same from a table cell, with an event handler."""

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def _html_extra():
    """Every test here renders HTML or a chart: it needs the ``html`` extra."""
    require_modules("jinja2", "matplotlib", extra="html")


class Page(html.parser.HTMLParser):
    """An HTML document as a browser's parser reads it: its elements and its text."""

    def __init__(self, document: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str | None]] = []
        self.texts: list[str] = []
        self._stack: list[str] = []
        self.text_by_id: dict[str, str] = {}
        self._open_ids: list[tuple[str, int]] = []
        self.feed(document)
        self.close()

    def handle_starttag(self, tag, attrs):
        """Keep the element, its attributes, and where its text begins if it has an id."""
        self.tags.append(tag)
        self.attributes += [(tag, name, value) for name, value in attrs]
        ids = [value for name, value in attrs if name == "id" and value]
        if ids and tag not in {"br", "img", "meta", "path", "use", "rect", "circle"}:
            self._open_ids.append((ids[0], len(self.texts)))
            self._stack.append(tag)

    def handle_endtag(self, tag):
        """Keep the end, and the text of the element with an id it closes."""
        self.tags.append(f"/{tag}")
        if self._stack and self._stack[-1] == tag:
            self._stack.pop()
            name, start = self._open_ids.pop()
            self.text_by_id[name] = "".join(self.texts[start:])

    def handle_data(self, data):
        """Keep the text."""
        self.texts.append(data)

    @property
    def text(self) -> str:
        """Everything the page shows as text."""
        return "".join(self.texts)


def _element_text(document: str, tag: str) -> str:
    """The text of the first element ``tag`` (``h1``) of a document, as a browser shows it."""
    match = re.search(rf"<{tag}\b[^>]*>(.*?)</{tag}>", document, re.DOTALL)
    assert match is not None, tag
    return Page(match.group(1)).text


@cache
def harmless_report() -> Report:
    """The report of the incident worked with harmless strings."""
    return report_with()


@cache
def harmless_page() -> Page:
    """The harmless report's HTML, parsed."""
    return Page(render_html(harmless_report()))


def assert_inert_html(document: str, text: dict[str, str]) -> Page:
    """Assert the HTML has the harmless report's elements, no script, and every text shown."""
    page = Page(document)
    assert page.tags == harmless_page().tags
    assert "script" not in page.tags
    assert not [a for a in page.attributes if a[1].startswith("on")]
    assert not [a for a in page.attributes if a[1] in {"src", "href"}]
    assert not re.search(
        "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", document
    )
    for field, value in text.items():
        assert visible(value) in page.text, field
    return page


# -- the harmless report -------------------------------------------------------------------


def test_every_field_shows_in_the_html():
    """Each text an incident's steps and sources give is shown somewhere in the HTML report."""
    page = harmless_page()
    missing = [field for field, value in HARMLESS.items() if value not in page.text]
    assert missing == []


def test_the_html_has_the_markdown_reports_sections_in_order():
    """The HTML report's sections are the Markdown report's, in the same order, chart first."""
    report = harmless_report()
    markdown = render_markdown(report)
    document = render_html(report)
    md = [line[3:] for line in markdown.splitlines() if line.startswith("## ")]
    found = re.findall(r"<h2>(.*?)</h2>", document)
    assert found[0] == "Chart"
    assert found[1:] == md
    assert "Root cause" in md
    assert "Timeline" in md


def test_import_loads_neither_jinja2_nor_matplotlib():
    """``import incidentkit`` and ``import incidentkit.reports`` load no renderer library."""
    code = (
        "import sys, incidentkit, incidentkit.reports; "
        "print(sorted(m for m in ('jinja2', 'matplotlib', 'markupsafe', 'numpy') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_markdown_reads_well():
    """The query is named once, the verdict comes before the statistics, waived is not checked."""
    markdown = render_markdown(harmless_report())
    assert markdown.count(f"`{ERRORS_QUERY}`") == 1
    assert "| measured from the error query |" in markdown
    recovery = markdown.split("## Recovery evidence")[1].split("## Findings")[0]
    verdict, details = recovery.split("<details>")
    assert "**recovered**: back at the baseline since " in verdict
    assert "healthy threshold" not in verdict
    assert "healthy threshold" in details
    diagnosis = markdown.split("## Diagnosis")[1].split("## Root cause")[0]
    assert "- [x] deploys: checked against " in diagnosis
    waiver = HARMLESS["infrastructure_waiver"]
    assert f"- [ ] infrastructure: waived, not checked: {waiver}" in diagnosis
    assert "[x] infrastructure" not in diagnosis
    assert "| User impact (symptom start to end) | " in markdown
    assert not re.search(r"[0-9]T[0-9]{2}:[0-9]{2}|\+00:00", markdown)  # one time format
    assert not re.search(r"\b1 (samples|gaps|sources|changes|entries)\b", markdown)


def test_the_user_impact_is_the_symptom_window():
    """The time to the symptom's end is the recovered check's healthy streak start."""
    report = harmless_report()
    recovered = next(c for c in report.recovery if c.verdict.outcome.value == "recovered")
    since = recovered.verdict.healthy_since
    assert since is not None
    assert report.time_to.symptom_ended == (since - SYMPTOM_START).total_seconds()
    assert 0 < report.time_to.symptom_ended < report.time_to.recovery_verified


def resolve(diagnosing):
    """Waive every usual suspect and resolve."""
    for item in ChecklistItem:
        diagnosing = diagnosing.waive(item, actor="alice", reason="not needed here")
    return diagnosing.resolve(actor="alice", root_cause="unknown", evidence=[Evidence.text("none")])


# -- the chart --------------------------------------------------------------------------------


def chart_groups(svg: str) -> dict[str, ET.Element]:
    """The SVG's groups by id (the chart's markers are groups with stable ids)."""
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    return {g.get("id", ""): g for g in root.iter(f"{SVG}g")}


def test_the_chart_marks_the_onset_suspects_intervention_and_recovery():
    """The chart's SVG has one group per marker of the report's chart data, with stable ids."""
    report = harmless_report()
    chart = report.chart
    assert chart is not None
    assert chart.errors is not None
    assert chart.traffic is not None
    groups = chart_groups(render_chart_svg(report))
    suspects = chart.of_kind(ChartMarkerKind.SUSPECT)
    assert [m.label for m in suspects] == ["1"]
    assert suspects[0].highlighted
    assert sorted(i for i in groups if re.fullmatch(r"chart-suspect-[0-9]+", i)) == [
        "chart-suspect-1"
    ]
    for expected in (
        "chart-onset",
        "chart-intervention-1",
        "chart-intervention-2",
        "chart-healthy-since",
        "chart-recovery-1",
        "chart-errors",
        "chart-traffic",
        "chart-baseline-band",
    ):
        assert expected in groups, expected
    assert len(chart.of_kind(ChartMarkerKind.INTERVENTION)) == 2  # the rollback and a mitigation
    assert not [e for e in ET.fromstring(render_chart_svg(report)).iter() if "script" in e.tag]  # noqa: S314


def test_the_chart_svg_is_the_same_from_run_to_run():
    """Two renderings of one report give the same SVG bytes (no date, fixed ids)."""
    report = harmless_report()
    assert render_chart_svg(report) == render_chart_svg(report)


def test_the_chart_png_is_a_png():
    """The chart as PNG is a PNG image of 1500 by 750 pixels at the default 150 dpi."""
    png = render_chart_png(harmless_report())
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1500, 750)


def test_a_report_without_an_error_series_says_there_is_nothing_to_chart(tmp_path):
    """An incident with no metric read has no chart data; the HTML and the chart say so."""
    declared = Incident.declare(
        title="no metrics",
        services=["checkout"],
        actor="alice",
        detection=Detection.ALERT,
        journal=tmp_path / "incident.jsonl",
        clock=ManualClock(SYMPTOM_START.add(minutes=5)),
    )
    diagnosing = declared.diagnose_without_recovery(actor="alice", reason="no monitoring here")
    report = resolve(diagnosing).report()
    assert report.chart is None
    assert "there is nothing to chart" in render_html(report)
    assert "there is nothing to chart" in render_chart_svg(report)
    assert render_chart_png(report).startswith(b"\x89PNG")
    assert "not shown to have ended" in render_markdown(report)


# -- hostile text -------------------------------------------------------------------------------


def test_a_hostile_title_and_change_summary_are_inert_in_every_format():
    """A title and a change summary with HTML, a script, table breakers and ANSI stay text."""
    text = {"title": HOSTILE_TITLE, "change_summary": HOSTILE_SUMMARY, "later_summary": "|\n|"}
    report = report_with(**text)
    document = render_html(report)
    page = assert_inert_html(document, text)
    assert _element_text(document, "h1") == f"{report.incident_id}: {visible(HOSTILE_TITLE)}"
    assert _element_text(document, "title") == f"{report.incident_id}: {visible(HOSTILE_TITLE)}"
    assert visible(HOSTILE_SUMMARY) in page.text_by_id["suspect-1"]
    assert "<script>" not in document
    assert "\x1b" not in document
    svg = render_chart_svg(report)
    root = ET.fromstring(svg)  # noqa: S314 - our own output, parsed to prove it is well-formed
    assert not [e for e in root.iter() if e.tag.endswith(("script", "foreignObject"))]
    shown = "".join(root.itertext())
    assert visible(HOSTILE_TITLE) in shown
    assert "\x1b" not in svg
    assert render_chart_png(report).startswith(b"\x89PNG")
    markdown = render_markdown(report)
    assert "<script>" not in markdown
    assert "\x1b" not in markdown
    assert markdown.count("\n## Root cause\n") == 1
    data = json.loads(render_json(report))
    assert data["title"] == HOSTILE_TITLE
    assert data["suspects"][0]["change"]["summary"] == HOSTILE_SUMMARY


def test_mathtext_in_a_title_is_drawn_as_written():
    """A title with dollar signs is text on the chart, not a formula (nor a parse error)."""
    title = r"costs $\frac{1}{0}$ and $$ and \$ and $x^{"
    report = report_with(title=title)
    root = ET.fromstring(render_chart_svg(report))  # noqa: S314 - our own output
    assert title in "".join(root.itertext())
    assert render_chart_png(report).startswith(b"\x89PNG")


def flooded(report: Report, text: str) -> Report:
    """``report`` with a finding, then 40 entries alike: 20 notes and 20 findings, with ``text``."""
    last = report.timeline[-1]
    findings: list[ReportFinding] = []
    entries: list[TimelineEntry] = []
    for number in range(41):
        at = last.at.add(seconds=number + 1)
        seq = 1000 + number
        if number % 2:
            summary, event = f"note: {text} {number}", "note_added"
        else:
            finding = Finding(FindingKind.OBSERVATION, f"{text} ({number})", text)
            findings.append(ReportFinding(seq, at, finding))
            summary, event = f"finding (observation): {finding.summary}", "finding_recorded"
        entries.append(TimelineEntry(at, "step", "journal", summary, text, seq, None, event))
    return attrs.evolve(
        report,
        timeline=(*report.timeline, *entries),
        findings=(*report.findings, *findings),
    )


def test_a_folded_timeline_keeps_hostile_text_inert():
    """Forty hostile notes and findings alike fold into one group whose sample stays text."""
    report = flooded(harmless_report(), HOSTILE_TITLE)
    document = render_html(report)
    page = Page(document)
    assert page.tags == Page(render_html(flooded(harmless_report(), "safe"))).tags
    assert "script" not in page.tags
    assert not [a for a in page.attributes if a[1].startswith(("on", "src", "href"))]
    assert "\\x1b[2J" in page.text  # the escape shown as text, never sent
    assert "\x1b" not in document
    assert "40 entries folded" in page.text
    assert "20 notes, 20 repeated findings" in page.text
    assert "30 more entries" in page.text
    assert f"{visible(HOSTILE_TITLE)} 1" in page.text  # the first note of the run
    assert f"{visible(HOSTILE_TITLE)} 39" in page.text  # and the last
    assert f"{visible(HOSTILE_TITLE)} 21" not in page.text  # folded away
    assert "and 20 more findings like it" in page.text
    markdown = render_markdown(report)
    assert "<script>" not in markdown
    assert "\x1b" not in markdown
    assert markdown.count("\n## Root cause\n") == 1
    summaries = re.findall(r"^<details><summary>(.*)</summary>$", markdown, re.MULTILINE)
    (folded,) = [summary for summary in summaries if "entries folded" in summary]
    assert folded.startswith("40 entries folded")
    assert re.fullmatch(r"[\w ,:+-]+", folded)  # the library's words, counts and instants
    full = render_markdown(report, full_timeline=True)
    assert "entries folded" not in full
    assert "like it" not in full
    assert all(f"{inline(HOSTILE_TITLE)} {n}" in full for n in range(1, 41, 2))
    assert len(render_html(report, full_timeline=True)) > len(document)


def test_a_small_incident_is_never_folded():
    """A report with fewer entries alike than the fold takes lists every one of them."""
    report = harmless_report()
    assert render_markdown(report) == render_markdown(report, full_timeline=True)
    assert render_html(report) == render_html(report, full_timeline=True)


hostile = (
    st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=6)), min_size=1, max_size=5)
    .map("".join)
    .filter(lambda s: bool(s.strip()))
)


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(st.fixed_dictionaries(dict.fromkeys(FIELDS, hostile)))
def test_hostile_text_in_every_field_stays_text_in_the_html(text):
    """Hostile text in every field adds no element or attribute to the HTML; all of it is shown."""
    assume(text["change_id"] != text["later_id"])  # a source's ids are unique
    assume(text["declarer"] != text["responder"])  # two people: the report lists each once
    with tempfile.TemporaryDirectory(dir=SCRATCH) as directory:
        report = work_incident(pathlib.Path(directory), text)
    assert_inert_html(render_html(report), text)


# -- downsampling ---------------------------------------------------------------------------


def test_downsampling_keeps_every_spike_and_gap_and_bounds_the_points():
    """A million samples become at most three a column, the spike, the dip and the gap kept."""
    n = 1_000_000
    times = array("d", (float(i) for i in range(n)))
    values = array("d", (0.01 * (i % 7) for i in range(n)))
    values[123_457] = 50.0
    values[654_321] = -3.0
    values[777_777] = math.nan
    kept_times, kept_values = downsample(times, values, 0.0, float(n - 1))
    assert len(kept_times) <= 3 * CHART_COLUMNS + 2
    assert kept_times == sorted(kept_times)
    assert 50.0 in kept_values
    assert -3.0 in kept_values
    assert any(math.isnan(v) for v in kept_values)
    assert kept_times[0] == 0.0
    assert kept_times[-1] == n - 1


@given(
    st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(math.nan)), min_size=1, max_size=400),
    st.integers(1, 40),
)
def test_each_columns_extremes_survive_downsampling(values, columns):
    """In every column of the window, the lowest and the highest value are kept."""
    times = [float(i) for i in range(len(values))]
    end = float(len(values) - 1) or 1.0
    kept_times, kept_values = downsample(times, values, 0.0, end, columns)
    kept = dict(zip(kept_times, kept_values, strict=True))
    assert all(kept[t] == values[int(t)] or math.isnan(kept[t]) for t in kept)
    if len(values) <= 2 * columns:
        assert kept_times == times
        return
    width = end / columns
    for column in range(columns):
        inside = [
            v
            for t, v in zip(times, values, strict=True)
            if (column * width <= t < (column + 1) * width or t == end == (column + 1) * width)
            and not math.isnan(v)
        ]
        if inside:
            assert min(inside) in kept_values
            assert max(inside) in kept_values


class LongSeriesSource:
    """**MetricSource**: the outage's error ratio and traffic at a fine step, with one spike."""

    def __init__(self, spike_at: float, healed_at: float) -> None:
        self.spike_at = spike_at
        self.healed_at = healed_at

    @property
    def name(self) -> str:
        """The source's name."""
        return "prometheus"

    def query_range(self, query, start, end, step):
        """Return the series of ``query`` over ``[start, end]``, built from plain columns."""
        first, last = start.timestamp(), end.timestamp()
        count = int((last - first) // step) + 1
        times = [first + i * step for i in range(count)]
        symptom, healed = SYMPTOM_START.timestamp(), self.healed_at
        if query == TRAFFIC_QUERY:
            values = [800.0 + (i % 13) for i in range(count)]
        else:
            values = [
                0.18 if symptom <= t < healed else 0.002 + 0.0001 * (i % 5)
                for i, t in enumerate(times)
            ]
            for i, t in enumerate(times):
                if abs(t - self.spike_at) < step / 2:
                    values[i] = 0.97
        return Series.from_columns(MetricQuery(self.name, query, start, end, step), times, values)


def test_a_long_series_gives_a_small_report_with_its_spike(tmp_path):
    """Series of over 200,000 samples: the spike is on the chart, the HTML and JSON under 2 MB."""
    rollback_at = SYMPTOM_START.add(minutes=20)
    source = LongSeriesSource(
        spike_at=SYMPTOM_START.subtract(minutes=40).timestamp() + 0.3,
        healed_at=rollback_at.add(minutes=2).timestamp(),
    )
    clock = ManualClock(SYMPTOM_START.add(minutes=4))
    errors = Metric(source, ERRORS_QUERY, unit="ratio", step=0.1)
    traffic = Metric(source, TRAFFIC_QUERY, unit="req/s", step=0.1)
    assessed = Incident.declare(
        title="long series",
        services=["checkout"],
        actor="alice",
        detection=Detection.ALERT,
        journal=tmp_path / "incident.jsonl",
        clock=clock,
    ).assess_impact(actor="alice", ongoing=False, errors=errors, traffic=traffic, slo=0.999)
    reviewed = assessed.skip_rollback_review(actor="alice", reason="the test intervenes itself")
    clock.set(rollback_at)
    intervened = reviewed.mitigate(
        "scaled out", actor="alice", why_not_rollback="nothing to roll back"
    )
    clock.set(rollback_at.add(minutes=20))
    recovered = intervened.verify_recovery(actor="alice", errors=errors, traffic=traffic)
    assert isinstance(recovered, Recovered)
    report = resolve(recovered.begin_diagnosis(actor="alice")).report()
    chart = report.chart
    assert chart is not None
    assert chart.errors is not None
    answered = [
        int(match.group(1).replace(",", ""))
        for listed in report.findings
        if (match := re.search(r"answered ([0-9,]+) samples", listed.finding.detail))
    ]
    assert answered
    assert max(answered) > 200_000  # the journal kept 10,000 of each, the extremes included
    assert chart.errors.points > 2 * CHART_COLUMNS  # in the window, before downsampling
    assert len(chart.errors.times) <= 3 * CHART_COLUMNS + 2
    assert 0.97 in chart.errors.values
    document = render_html(report)
    assert len(document.encode()) < 2_000_000
    assert len(render_json(report).encode()) < 2_000_000


def test_instants_in_the_chart_data_are_utc():
    """The chart's window is in UTC and holds the symptom start."""
    chart = harmless_report().chart
    assert chart is not None
    assert chart.start.tzinfo is not None
    assert chart.start.utcoffset() == pendulum.duration(0)
    assert chart.start <= SYMPTOM_START <= chart.end
