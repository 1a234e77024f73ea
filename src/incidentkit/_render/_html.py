"""The HTML report: one self-contained file, every value escaped, the chart inline as SVG.

The page is a Jinja2 template (``report.html.jinja`` beside this module) rendered
with autoescaping on, so every value from a person or a source is HTML-escaped
(``<``, ``>``, ``&``, quotes); and every value passes :func:`visible` first (the
environment's ``finalize``), so a line break, an ANSI escape or a bidirectional
control is shown as an escape, never sent to a terminal that prints the file.
The one piece of markup put in as it is, the chart's ``<svg>``, is matplotlib's
output, which escapes its own text as XML.

Nothing is fetched when the file is opened: no script, font, stylesheet or
image, and a Content-Security-Policy that forbids them all (``default-src
'none'``), inline styles excepted.

Jinja2 and matplotlib are loaded on the first rendering (the ``incidentkit[html]``
extra), never on ``import incidentkit``.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import TYPE_CHECKING, Any

from incidentkit._render._chart import HTML_EXTRA_HINT, chart_svg_inline
from incidentkit._render._common import (
    FoldedRun,
    checklist,
    evidence_text,
    figure_basis,
    fold_findings,
    fold_timeline,
    impact_sentence,
    instants_shown,
    named_queries,
    offset,
    plural,
    recovery_checks,
    responders,
    time_to_rows,
    top_suspects,
    visible,
    when,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    import jinja2

    from incidentkit._model import Evidence, Figure
    from incidentkit._report import Report

__all__ = ["render_html"]

_TEMPLATE = "report.html.jinja"


def _finalize(value: object) -> object:
    """Fold every string onto one line with its controls shown; leave markup and numbers."""
    import markupsafe  # noqa: PLC0415 - Jinja2's own dependency, loaded with it

    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return visible(value)
    return value


@functools.cache
def _template() -> jinja2.Template:
    """Load the template once, in an environment that escapes everything."""
    try:
        import jinja2  # noqa: PLC0415 - loaded on first use, never on import
    except ImportError as error:
        msg = f"the HTML report {HTML_EXTRA_HINT}"
        raise ImportError(msg) from error
    environment = jinja2.Environment(
        autoescape=True,
        finalize=_finalize,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    filters: dict[str, Callable[..., str]] = {
        "when": when,
        "offset": offset,
        "instants": instants_shown,
        "plural": plural,
    }
    environment.filters.update(filters)
    environment.tests["folded"] = lambda value: isinstance(value, FoldedRun)
    source = resources.files("incidentkit._render").joinpath(_TEMPLATE).read_text("utf-8")
    return environment.from_string(source)


def render_html(report: Report, *, full_timeline: bool = False) -> str:
    """Return the report as one self-contained HTML document, with its chart.

    A huge incident's timeline and findings are folded (:func:`._common.fold_timeline`)
    unless ``full_timeline``.

    Raises:
        ImportError: Jinja2 or matplotlib is not installed (the ``incidentkit[html]`` extra).
    """
    import markupsafe  # noqa: PLC0415 - Jinja2's own dependency, loaded with it

    template = _template()
    named = named_queries(report)

    def evidence(items: Iterable[Evidence]) -> str:
        return ", ".join(evidence_text(item, named) for item in items)

    def basis(figure: Figure) -> str:
        return figure_basis(figure, named)

    chart = report.chart
    svg = (
        markupsafe.Markup(chart_svg_inline(report))  # noqa: S704 - matplotlib's escaped SVG
        if chart is not None and chart.errors is not None
        else None
    )
    context: dict[str, Any] = {
        "report": report,
        "chart_svg": svg,
        "impact_sentence": impact_sentence(report),
        "queries": named,
        "basis": basis,
        "evidence": evidence,
        "responders": responders(report),
        "time_to": time_to_rows(report),
        "top": top_suspects(report),
        "checks": recovery_checks(report),
        "checklist": checklist(report),
        "findings": fold_findings(report.findings, full=full_timeline),
        "timeline": fold_timeline(report.timeline, full=full_timeline),
    }
    return template.render(context)
