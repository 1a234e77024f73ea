"""Positive and negative cases: what the report's renderers take and return.

Never executed: mypy and pyright check these files (``tests/typing`` is in both
configurations). Each misuse carries ``# type: ignore[code]``; an ignore that is no
longer needed fails both checkers.
"""

from __future__ import annotations

from typing_extensions import assert_type

from incidentkit import Report, Resolved
from incidentkit.reports import (
    ChartData,
    ChartMarker,
    ChartMarkerKind,
    render_chart_png,
    render_chart_svg,
    render_html,
    render_json,
    render_markdown,
)


def renderers(resolved: Resolved) -> None:
    report = resolved.report()
    assert_type(render_markdown(report), str)
    assert_type(render_json(report), str)
    assert_type(render_json(report, indent=None), str)
    assert_type(render_html(report), str)
    assert_type(render_chart_svg(report), str)
    assert_type(render_chart_png(report), bytes)
    assert_type(render_chart_png(report, dpi=300), bytes)
    assert_type(report.chart, ChartData | None)
    assert_type(report.time_to.symptom_ended, float | None)


def markers(chart: ChartData) -> None:
    assert_type(chart.of_kind(ChartMarkerKind.SUSPECT), tuple[ChartMarker, ...])
    assert_type(chart.markers[0].highlighted, bool)


def misuse(report: Report, resolved: Resolved) -> None:
    render_html(resolved)  # type: ignore[arg-type]
    render_json(report, 2)  # type: ignore[call-arg]
    render_chart_png(report, dpi="high")  # type: ignore[arg-type]
