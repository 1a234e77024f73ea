"""The report's chart, drawn with matplotlib: as SVG (inline in the HTML report, or alone) and PNG.

Two panels share the time axis: the error series over the incident, with the
baseline band (from the baseline level to the healthy threshold) and the
baseline window shaded, and the traffic series below it. Vertical markers
show the onset, each ranked suspect change (numbered by rank; the top
suspects in colour, the others grey), each intervention, the start of the
healthy streak and each recovery check with its verdict.

Each marker is its own SVG group with a stable id, so a test or a stylesheet
can find it: ``chart-onset``, ``chart-suspect-<rank>``,
``chart-intervention-<n>``, ``chart-healthy-since``, ``chart-recovery-<n>``,
``chart-baseline-band``, ``chart-errors`` and ``chart-traffic``.

Text from outside (the title, the units) is folded onto one line with its
control characters shown as escapes, and drawn as text, never as mathtext
(``parse_math=False``); matplotlib's SVG writer escapes it as XML. The SVG keeps
its text as text (``svg.fonttype: none``), names no font file and fetches
nothing; its ids and bytes are the same from run to run (a fixed hash salt, no
date).

matplotlib is loaded on the first drawing, never on ``import incidentkit``.
"""

# matplotlib's type stubs leave the ``**kwargs`` of its drawing methods untyped, which pyright
# (strict) reports at every call; the calls themselves are checked.
# pyright: reportUnknownMemberType=false

from __future__ import annotations

import contextlib
import datetime as dt
import io
import math
import re
from typing import TYPE_CHECKING, Final

from incidentkit._chart import ChartData, ChartMarker, ChartMarkerKind, ChartSeries
from incidentkit._render._common import visible, when

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from incidentkit._report import Report

__all__ = ["chart_svg_inline", "render_chart_png", "render_chart_svg"]

HTML_EXTRA_HINT: Final = (
    "needs the html extra (Jinja2 and matplotlib): pip install 'incidentkit[html]'"
)

_WIDTH: Final = 10.0
"""The figure's width in inches: 1000 pixels at 100 dpi, about the chart's columns."""
_HEIGHT: Final = 5.0
_ERROR_COLOUR: Final = "#b03a2e"
_TRAFFIC_COLOUR: Final = "#2e6da4"
_BAND_COLOUR: Final = "#27ae60"
_TOP_COLOUR: Final = "#d35400"
_OTHER_COLOUR: Final = "#95a5a6"
_GOOD_COLOUR: Final = "#1e8449"
_BAD_COLOUR: Final = "#c0392b"
_LABEL_ROWS: Final = 3
_DAY: Final = 86400.0
_SVG_START: Final = re.compile(r"<svg\b")


def _style() -> contextlib.AbstractContextManager[object]:
    """The chart's matplotlib settings, for the drawing only; or say which extra to install.

    Text stays text in the SVG (no glyph paths), its ids are the same from run to
    run, and no mathtext is parsed. The figure is drawn with matplotlib's object API
    (no pyplot), so no GUI backend is ever chosen.
    """
    try:
        import matplotlib as mpl  # noqa: PLC0415 - loaded on first use, never on import
    except ImportError as error:
        msg = f"drawing the report's chart {HTML_EXTRA_HINT}"
        raise ImportError(msg) from error
    return mpl.rc_context(
        {
            "svg.fonttype": "none",
            "svg.hashsalt": "incidentkit",
            "text.parse_math": False,
            "font.family": "sans-serif",
            "font.size": 9.0,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )


def _line(axes: Axes, series: ChartSeries, colour: str, gid: str) -> None:
    xs = list(series.times)
    ys = [math.nan if v is None else v for v in series.values]
    (line,) = axes.plot(xs, ys, color=colour, linewidth=1.2, label=series.name)
    line.set_gid(gid)
    unit = f" ({series.unit})" if series.unit else ""
    axes.set_ylabel(visible(f"{series.name}{unit}"), parse_math=False)


def _colour(marker: ChartMarker) -> tuple[str, str, float]:
    """A marker's colour, line style and width."""
    match marker.kind:
        case ChartMarkerKind.ONSET:
            return _BAD_COLOUR, "--", 1.6
        case ChartMarkerKind.SUSPECT:
            return (_TOP_COLOUR, "-", 1.8) if marker.highlighted else (_OTHER_COLOUR, ":", 1.2)
        case ChartMarkerKind.INTERVENTION:
            return (_GOOD_COLOUR, "-", 2.0) if marker.ok else (_BAD_COLOUR, ":", 2.0)
        case ChartMarkerKind.HEALTHY_SINCE:
            return _GOOD_COLOUR, "--", 1.4
        case ChartMarkerKind.RECOVERY_CHECK:
            return (_GOOD_COLOUR, "-.", 1.0) if marker.ok else (_TOP_COLOUR, "-.", 1.0)


def _gid(marker: ChartMarker, count: dict[ChartMarkerKind, int]) -> str:
    count[marker.kind] = count.get(marker.kind, 0) + 1
    match marker.kind:
        case ChartMarkerKind.ONSET:
            return "chart-onset"
        case ChartMarkerKind.SUSPECT:
            return f"chart-suspect-{marker.label}"
        case ChartMarkerKind.INTERVENTION:
            return f"chart-intervention-{count[marker.kind]}"
        case ChartMarkerKind.HEALTHY_SINCE:
            return "chart-healthy-since"
        case ChartMarkerKind.RECOVERY_CHECK:
            return f"chart-recovery-{count[marker.kind]}"


_LEGEND: Final = {
    ChartMarkerKind.ONSET: "onset",
    ChartMarkerKind.INTERVENTION: "intervention",
    ChartMarkerKind.HEALTHY_SINCE: "healthy since",
    ChartMarkerKind.RECOVERY_CHECK: "recovery check",
}


def _markers(errors: Axes, traffic: Axes | None, chart: ChartData) -> None:
    """Draw each marker as a vertical line on both panels, its label stacked above the chart."""
    span = (chart.end - chart.start).total_seconds() or 1.0
    rows: list[float] = [-math.inf] * _LABEL_ROWS  # the latest label's instant, per row
    count: dict[ChartMarkerKind, int] = {}
    legend: set[str] = set()
    for marker in sorted(chart.markers, key=lambda m: m.at):
        colour, style, width = _colour(marker)
        x = float(marker.at.timestamp())
        if marker.kind is ChartMarkerKind.SUSPECT:
            name = "top suspect" if marker.highlighted else "other suspect"
        else:
            name = _LEGEND[marker.kind]
        group = errors.axvline(
            x,
            color=colour,
            linestyle=style,
            linewidth=width,
            label=name if name not in legend else "_nolegend_",
        )
        legend.add(name)
        group.set_gid(_gid(marker, count))
        if traffic is not None:
            traffic.axvline(x, color=colour, linestyle=style, linewidth=width * 0.7)
        at = marker.at.timestamp()
        row = next((i for i, last in enumerate(rows) if at - last > span * 0.07), None)
        if row is None:
            row = min(range(_LABEL_ROWS), key=rows.__getitem__)
        rows[row] = at
        text = errors.annotate(
            visible(marker.label),
            xy=(x, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(0, 3 + 11 * row),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=7.5,
            color=colour,
            fontweight="bold" if marker.highlighted else "normal",
            parse_math=False,
        )
        text.set_gid(f"{group.get_gid()}-label")


_STEPS: Final = tuple(
    60.0 * minutes
    for minutes in (1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080)
)
"""The tick spacings, in seconds: round minutes, hours, days, a week."""
_MOST_TICKS: Final = 9


def _time_axis(axes: Axes, start: float, end: float) -> None:
    """Ticks on round UTC minutes, hours or days (at most nine), labelled ``HH:MM``.

    The x axis is in Unix seconds; the labels add the date when the chart spans
    more than a day.
    """
    from matplotlib.ticker import FixedLocator, FuncFormatter  # noqa: PLC0415 - first use

    span = max(end - start, 1.0)
    step = next((s for s in _STEPS if span / s <= _MOST_TICKS), _STEPS[-1])
    first = math.ceil(start / step) * step
    ticks = [first + i * step for i in range(int((end - first) // step) + 1)]
    pattern = "%m-%d %H:%M" if span > _DAY else "%H:%M"

    def label(seconds: float, _position: int | None) -> str:
        return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime(pattern)

    axes.xaxis.set_major_locator(FixedLocator(ticks))
    axes.xaxis.set_major_formatter(FuncFormatter(label))


def _figure(report: Report, *, title: bool) -> Figure:
    """Build the chart's figure (matplotlib's object API: no pyplot, no global state)."""
    from matplotlib.figure import Figure  # noqa: PLC0415 - loaded on first use
    from matplotlib.ticker import PercentFormatter  # noqa: PLC0415 - loaded on first use

    chart = report.chart
    figure = Figure(figsize=(_WIDTH, _HEIGHT), layout="constrained")
    if title:
        figure.suptitle(
            visible(f"{report.incident_id}: {report.title}"),
            parse_math=False,
            fontsize=11,
            x=0.01,
            ha="left",
        )
    if chart is None or chart.errors is None:
        empty = figure.add_subplot()
        empty.set_axis_off()
        empty.text(
            0.5,
            0.5,
            "No error series was read during this incident: there is nothing to chart.",
            ha="center",
            va="center",
            parse_math=False,
        )
        return figure
    panels = 2 if chart.traffic is not None else 1
    grid = figure.add_gridspec(panels, 1, height_ratios=[3, 1.2][:panels])
    errors = figure.add_subplot(grid[0])
    traffic = figure.add_subplot(grid[1], sharex=errors) if chart.traffic is not None else None
    _line(errors, chart.errors, _ERROR_COLOUR, "chart-errors")
    if chart.errors.unit == "ratio":
        errors.yaxis.set_major_formatter(PercentFormatter(1.0))
    if chart.baseline is not None:
        band = errors.axhspan(
            chart.baseline.low,
            chart.baseline.high,
            color=_BAND_COLOUR,
            alpha=0.18,
            linewidth=0,
            label="baseline band",
        )
        band.set_gid("chart-baseline-band")
        for panel in (errors, traffic):
            if panel is not None:
                panel.axvspan(
                    float(chart.baseline.start.timestamp()),
                    float(chart.baseline.end.timestamp()),
                    color="#7f8c8d",
                    alpha=0.07,
                    linewidth=0,
                    label="baseline window" if panel is errors else "_nolegend_",
                )
    if traffic is not None and chart.traffic is not None:
        _line(traffic, chart.traffic, _TRAFFIC_COLOUR, "chart-traffic")
        traffic.set_ylim(bottom=0)
    errors.set_ylim(bottom=0)
    _markers(errors, traffic, chart)
    pad = (chart.end - chart.start).total_seconds() * 0.015
    errors.set_xlim(float(chart.start.timestamp() - pad), float(chart.end.timestamp() + pad))
    bottom = traffic if traffic is not None else errors
    _time_axis(bottom, chart.start.timestamp(), chart.end.timestamp())
    bottom.set_xlabel(f"{when(chart.start)} to {when(chart.end)}", parse_math=False)
    errors.tick_params(labelbottom=False)
    for panel in (errors, traffic):
        if panel is not None:
            panel.grid(visible=True, axis="y", color="#e5e5e5", linewidth=0.6)
    figure.legend(loc="outside lower center", ncols=5, fontsize=7.5, frameon=False)
    return figure


def render_chart_svg(report: Report, *, title: bool = True) -> str:
    """Return the report's chart as a standalone SVG document.

    Raises:
        ImportError: matplotlib is not installed (the ``incidentkit[html]`` extra).
    """
    buffer = io.StringIO()
    with _style():
        _figure(report, title=title).savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def chart_svg_inline(report: Report) -> str:
    """Return the chart as an ``<svg>`` element to put inside an HTML page (no title)."""
    svg = render_chart_svg(report, title=False)
    start = _SVG_START.search(svg)
    return svg[start.start() :] if start is not None else svg


def render_chart_png(report: Report, *, dpi: int = 150) -> bytes:
    """Return the report's chart as a PNG image (1500 by 750 pixels at the default 150 dpi).

    Raises:
        ImportError: matplotlib is not installed (the ``incidentkit[html]`` extra).
    """
    buffer = io.BytesIO()
    with _style():
        _figure(report, title=True).savefig(
            buffer, format="png", dpi=dpi, metadata={"Software": None}
        )
    return buffer.getvalue()
