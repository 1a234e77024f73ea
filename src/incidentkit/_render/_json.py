r"""The JSON form of the report: every value exactly as recorded, the chart's data included.

JSON is data, not markup: a string holds what was given, control characters and
all, escaped only as JSON strings are (``\u001b``). Instants are ISO 8601 UTC
strings; the chart's series are columns of Unix seconds and values (``null`` for a
gap), downsampled as :mod:`incidentkit._chart` says, so the document stays small
whatever the series' length.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from incidentkit._events import get_converter

if TYPE_CHECKING:
    from incidentkit._report import Report

__all__ = ["render_json", "report_data"]


def report_data(report: Report) -> dict[str, Any]:
    """Return the report as JSON-able data (instants as ISO 8601 UTC strings)."""
    data: dict[str, Any] = get_converter().unstructure(report)
    return data


def render_json(report: Report, *, indent: int | None = 2) -> str:
    """Return the report as a JSON document (UTF-8 text, no NaN)."""
    return json.dumps(report_data(report), indent=indent, ensure_ascii=False, allow_nan=False)
