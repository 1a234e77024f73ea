"""The post-mortem report in every format: Markdown, JSON, one self-contained HTML file, the chart.

Get a :class:`~incidentkit.Report` from a resolved incident (``resolved.report()``)
and render it:

* :func:`render_markdown`: Markdown for a wiki, a ticket or a pull request;
* :func:`render_json`: every value as recorded, for scripts;
* :func:`render_html`: one HTML file that opens anywhere without the network,
  with the incident's chart;
* :func:`render_chart_svg` and :func:`render_chart_png`: the chart alone, to
  paste into a post-mortem document.

Markdown and JSON need nothing beyond incidentkit itself. The HTML report and
the chart need the ``incidentkit[html]`` extra (Jinja2 and matplotlib), loaded
on the first call: ``import incidentkit`` never loads them, and without them
these functions raise :class:`ImportError` naming the extra.

Every format keeps text from a person or a source inert: in Markdown it is
escaped for its place, in HTML and SVG it is HTML- or XML-escaped, and in all
three a line break or a control character (an ANSI escape, a bidirectional
control) is shown as an escape; JSON holds it exactly, as JSON.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from incidentkit._chart import (
    CHART_COLUMNS,
    ChartBand,
    ChartData,
    ChartMarker,
    ChartMarkerKind,
    ChartSeries,
)
from incidentkit._render._chart import render_chart_png as _render_chart_png
from incidentkit._render._chart import render_chart_svg as _render_chart_svg
from incidentkit._render._html import render_html as _render_html
from incidentkit._render._json import render_json as _render_json
from incidentkit._render._markdown import render_markdown as _render_markdown

if TYPE_CHECKING:
    from incidentkit._report import Report

__all__ = [
    "CHART_COLUMNS",
    "ChartBand",
    "ChartData",
    "ChartMarker",
    "ChartMarkerKind",
    "ChartSeries",
    "render_chart_png",
    "render_chart_svg",
    "render_html",
    "render_json",
    "render_markdown",
]


def render_markdown(report: Report, *, full_timeline: bool = False) -> str:
    """Return the report as a Markdown document (CommonMark with GitHub's tables).

    Every value is escaped for its place (heading, paragraph, list item, table
    cell, code span). The recovery checks' statistics are in a ``<details>``
    block, after each check's plain verdict.

    The timeline of a huge incident is folded: the changes, the symptom, every
    protocol step, every finding and gathering the first time its words appear
    are always shown; a run of at least 12 notes and repeats (the same finding
    or gathering but for its numbers) is one counted group, with its first and
    last instants and its first and last five entries in a ``<details>`` block.
    Findings alike (at least 12 of them) are listed once, with how many more and
    the last. A small incident's report is never folded.

    Args:
        report: The report.
        full_timeline: Fold nothing: every timeline entry and every finding.

    .. versionadded:: 0.3.0
    """
    return _render_markdown(report, full_timeline=full_timeline)


def render_json(report: Report, *, indent: int | None = 2) -> str:
    """Return the report as a JSON document: every value as recorded, the chart's data included.

    Args:
        report: The report.
        indent: The indentation (``None`` for one line).

    .. versionadded:: 0.3.0
    """
    return _render_json(report, indent=indent)


def render_html(report: Report, *, full_timeline: bool = False) -> str:
    """Return the report as one self-contained HTML document with the incident's chart.

    The same sections as the Markdown report, the chart inline as SVG; no
    script, and nothing fetched when the file is opened. A huge incident's
    timeline and findings are folded as :func:`render_markdown` folds them.

    Args:
        report: The report.
        full_timeline: Fold nothing: every timeline entry and every finding.

    Raises:
        ImportError: Jinja2 or matplotlib is missing: ``pip install 'incidentkit[html]'``.

    .. versionadded:: 0.3.0
    """
    return _render_html(report, full_timeline=full_timeline)


def render_chart_svg(report: Report) -> str:
    """Return the incident's chart alone as an SVG document, titled with the incident.

    Raises:
        ImportError: matplotlib is missing: ``pip install 'incidentkit[html]'``.

    .. versionadded:: 0.3.0
    """
    return _render_chart_svg(report)


def render_chart_png(report: Report, *, dpi: int = 150) -> bytes:
    """Return the incident's chart alone as a PNG image (1500 by 750 pixels at 150 dpi).

    Raises:
        ImportError: matplotlib is missing: ``pip install 'incidentkit[html]'``.

    .. versionadded:: 0.3.0
    """
    return _render_chart_png(report, dpi=dpi)
