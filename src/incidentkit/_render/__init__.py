"""The report's renderers, one module a format, sharing :mod:`._common`.

* :mod:`._common`: what every format says the same way: times, durations,
  plurals, the queries named once, the time-to rows, each recovery check's
  plain verdict and its statistics;
* :mod:`._markdown`: Markdown, every value escaped for its place;
* :mod:`._json`: JSON, every value exactly as recorded;
* :mod:`._html`: one self-contained HTML file (Jinja2, autoescaped);
* :mod:`._chart`: the chart, as SVG or PNG (matplotlib).

Only :mod:`._html` and :mod:`._chart` load their libraries (the
``incidentkit[html]`` extra), and only when they render.
"""
