"""Building a ``Series`` at 1,000,000 points: time against ``array('d')``, memory, onset.

Every figure is a fresh interpreter (``_fresh.py``), the cases of a table in interleaved
rounds (their order rotating), then the same timed part again warm in that process. The
setup, untimed, reads the same data from files the parent wrote: the instants (a 10 s
step) and the values of ``bench_onset``'s speed series (an error ratio with a step at
70 %, flat or with a daily cycle), as lists of floats and as a list of ``(time, value)``
tuples, the pairs a source returns. Each timed part keeps its result in a global.

1. **Building** (the goal: ``Series.from_pairs`` at most 5x ``array('d', values)``):
   ``array('d', values)`` of the values list (the floor the goal names: one column, from
   a list); the honest floor for two columns from the pairs, ``array('d', map(itemgetter(0),
   pairs))`` and the same for the values; numpy's ``fromiter`` (a structured dtype of two
   doubles) and ``np.array(pairs)`` for reference; ``Series.from_pairs``; and from two
   lists, ``array('d', times), array('d', values)`` against ``Series.from_columns``.
2. **Memory held** (the goal: at most 3x the raw floats, 2 x 8 bytes x N): what the kept
   result holds after a full collection, as resident memory (RSS after minus before) and
   traced by ``tracemalloc`` in another fresh process; and the peak RSS while building.
3. **From a Prometheus answer**: the body of a ``/api/v1/query_range`` answer with one
   series of N points, in Prometheus's own number format, served over HTTP by a server
   thread in the same process. ``json.loads`` of the body (the floor of any parse);
   ``json.loads`` then ``Series.from_pairs`` of its ``values`` (the columnar path through
   the public API); fetching it with ``urllib`` plus ``json.loads`` (the floor of a
   query); ``PrometheusMetricSource.query_range`` (with ``max_points`` raised so that one
   request takes the whole window).
4. **Onset including the build** (the goal: under 1.5 s at 1,000,000 points):
   ``Series.from_pairs`` then ``detect_onset`` on the flat and the daily series, beside
   ``detect_onset`` alone (the series built in the setup) and the building floor; for
   reference, numpy's build plus one vectorised best-split search (cumulative sums).
"""

from __future__ import annotations

import json
import tempfile
from array import array
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from _common import Result, markdown_table, median, ratio_text, seconds_text
from _fresh import Run, best, best_warm, held, interleaved, megabytes, traced
from bench_onset import speed_series

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

SIZE = 1_000_000
QUICK_SIZE = 100_000
RUNS = 5
QUICK_RUNS = 2
WARM = 3
QUICK_WARM = 1
ANSWER_RUNS = 3
ANSWER_WARM = 2
"""Fewer for the Prometheus answer, whose cases take 0.5 to 2 s each and 36 MB a body."""
STEP = 10.0
GOAL_BUILD = 5.0
"""``Series.from_pairs`` (and ``from_columns``) at most this many times ``array('d', values)``."""
GOAL_HELD = 3.0
"""The memory a series holds at most this many times its raw floats (2 x 8 bytes x N)."""
GOAL_ONSET = 1.5
"""Seconds for ``from_pairs`` then ``detect_onset`` at 1,000,000 points."""
GOAL_SIZE = 1_000_000
QUERY = "sum(rate(http_requests_total{code=~'5..'}[5m])) / sum(rate(http_requests_total[5m]))"

# -- the fresh processes' code ------------------------------------------------------------

_LOAD = """
import sys
from array import array
from operator import itemgetter
import numpy as np
from incidentkit import MetricQuery, Series
from incidentkit.analysis import detect_onset

def _load(name):
    column = array("d")
    with open({data!r} + "/" + name + ".f8", "rb") as f:
        column.frombytes(f.read())
    return column.tolist()

times = _load("times")
values = _load({shape!r})
pairs = list(zip(times, values))
query = MetricQuery("bench", "error_ratio", times[0], times[-1], {step!r}, unit="ratio")
PAIR = np.dtype([("t", "f8"), ("v", "f8")])
"""

_SERVE = """
import datetime as dt
import http.server
import json
import threading
import urllib.request
from incidentkit import Series, MetricQuery
from incidentkit.adapters.prometheus import PrometheusMetricSource

with open({data!r} + "/prometheus.json", "rb") as f:
    BODY = f.read()

class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args):
        pass

_server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
threading.Thread(target=_server.serve_forever, daemon=True).start()
URL = "http://127.0.0.1:%d" % _server.server_address[1]
START = dt.datetime.fromtimestamp({start!r}, tz=dt.timezone.utc)
END = dt.datetime.fromtimestamp({end!r}, tz=dt.timezone.utc)
QUERY = {query!r}
source = PrometheusMetricSource(URL, max_points={n} + 1, timeout=120.0)
query = MetricQuery("prometheus", QUERY, START, END, {step!r})
GET = URL + "/api/v1/query_range?query=q&start={start}&end={end}&step={step}"
"""

_ONE_SPLIT = """
x = np.fromiter(map(itemgetter(1), pairs), dtype=np.float64, count=len(pairs))
n = len(x)
c, c2 = np.cumsum(x), np.cumsum(x * x)
k = np.arange(1, n)
cost = (c2[:-1] - c[:-1] ** 2 / k) + ((c2[-1] - c2[:-1]) - (c[-1] - c[:-1]) ** 2 / (n - k))
result = int(np.argmin(cost)) + 1
"""

_BUILD_CASES = {
    "values": "result = array('d', values)",
    "pairs floor": (
        "result = (array('d', map(itemgetter(0), pairs)), array('d', map(itemgetter(1), pairs)))"
    ),
    "fromiter": "result = np.fromiter(pairs, dtype=PAIR, count=len(pairs))",
    "np.array": "result = np.array(pairs, dtype=np.float64)",
    "from_pairs": "result = Series.from_pairs(query, pairs)",
    "lists floor": "result = (array('d', times), array('d', values))",
    "from_columns": "result = Series.from_columns(query, times, values)",
}
_BUILD_LABELS = {
    "values": "`array('d', values)`: one column from a list (**the goal's floor**)",
    "pairs floor": "two `array('d')` from the pairs, via `itemgetter` (**two-column floor**)",
    "fromiter": "numpy `fromiter(pairs, dtype=[t f8, v f8])` (reference)",
    "np.array": "numpy `np.array(pairs, dtype=float64)` (reference)",
    "from_pairs": "**`Series.from_pairs(query, pairs)`**",
    "lists floor": "`array('d', times), array('d', values)` (**floor from two lists**)",
    "from_columns": "**`Series.from_columns(query, times, values)`**",
}
_FLOOR_OF = {"from_pairs": "pairs floor", "from_columns": "lists floor"}

_PROMETHEUS_CASES = {
    "loads": "result = json.loads(BODY)",
    "loads + from_pairs": (
        "result = Series.from_pairs(query, json.loads(BODY)['data']['result'][0]['values'])"
    ),
    "fetch + loads": (
        "with urllib.request.urlopen(GET, timeout=120) as answer:\n"
        "    result = json.loads(answer.read())"
    ),
    "query_range": "result = source.query_range(QUERY, START, END, {step!r})",
}
_PROMETHEUS_LABELS = {
    "loads": "`json.loads(body)` (**floor of a parse**)",
    "loads + from_pairs": "`json.loads`, then `Series.from_pairs` of its `values`",
    "fetch + loads": "`urllib` fetch + `json.loads` (**floor of a query**)",
    "query_range": "**`PrometheusMetricSource.query_range`**",
}

_ONSET_CASES = {
    "detect flat": (
        "flat",
        "series = Series.from_pairs(query, pairs)\n",
        "result = detect_onset(series)",
    ),
    "both flat": ("flat", "", "result = detect_onset(Series.from_pairs(query, pairs))"),
    "detect daily": (
        "daily",
        "series = Series.from_pairs(query, pairs)\n",
        "result = detect_onset(series)",
    ),
    "both daily": ("daily", "", "result = detect_onset(Series.from_pairs(query, pairs))"),
    "numpy split": ("flat", "", _ONE_SPLIT),
}


def _kept(code: str) -> str:
    return "global result\n" + code


# -- the data ---------------------------------------------------------------------------


def go_float(value: float) -> str:
    """Format a sample value as Prometheus does (Go's ``FormatFloat(v, 'f', -1, 64)``)."""
    text = repr(value)
    if "e" in text:
        text = format(Decimal(text), "f")
    return text.removesuffix(".0")


def go_seconds(ms: int) -> str:
    """Format a sample time as Prometheus does: seconds, and milliseconds only if any."""
    whole, frac = divmod(ms, 1000)
    return f"{whole}.{frac:03d}" if frac else str(whole)


def prometheus_body(times: Sequence[float], values: Sequence[float]) -> bytes:
    """A ``/api/v1/query_range`` answer with one series, as Prometheus writes it."""
    points = ",".join(
        f'[{go_seconds(round(t * 1000))},"{go_float(v)}"]'
        for t, v in zip(times, values, strict=True)
    )
    head = json.dumps(
        {
            "status": "success",
            "data": {
                "resultType": "matrix",
                "result": [{"metric": {"job": "api", "env": "prod"}, "values": []}],
            },
        },
        separators=(",", ":"),
    )
    return head.replace('"values":[]', f'"values":[{points}]').encode()


def write_data(folder: Path, n: int) -> dict[str, float | int]:
    """Write the instants, both value columns and the Prometheus body; return their figures."""
    flat, _ = speed_series(n, daily=False)
    daily, _ = speed_series(n, daily=True)
    (folder / "times.f8").write_bytes(array("d", flat.times).tobytes())
    (folder / "flat.f8").write_bytes(array("d", flat.values).tobytes())
    (folder / "daily.f8").write_bytes(array("d", daily.values).tobytes())
    body = prometheus_body(flat.times, flat.values)
    (folder / "prometheus.json").write_bytes(body)
    return {"start": flat.times[0], "end": flat.times[-1], "body_bytes": len(body)}


# -- measuring ------------------------------------------------------------------------------


def _fresh_best(runs: Sequence[Run]) -> float:
    return best(runs)


def _fresh_median(runs: Sequence[Run]) -> float:
    return median([r.seconds for r in runs])


def _three(runs: Sequence[Run]) -> tuple[float, float, float]:
    return _fresh_best(runs), _fresh_median(runs), best_warm(runs)


def _times_text(runs: Sequence[Run]) -> tuple[str, str]:
    b, m, w = _three(runs)
    return f"{seconds_text(b)} / {seconds_text(m)}", seconds_text(w)


def _ratios(runs: Sequence[Run], floor: Sequence[Run]) -> tuple[float, float, float]:
    mine, theirs = _three(runs), _three(floor)
    return mine[0] / theirs[0], mine[1] / theirs[1], mine[2] / theirs[2]


def _ratios_text(ratios: tuple[float, float, float], *, bold: bool = False) -> str:
    b, m, w = (ratio_text(r) for r in ratios)
    return f"**{b} / {m} / {w}**" if bold else f"{b} / {m} / {w}"


def _peak_text(runs: Sequence[Run]) -> str:
    return megabytes(median([float(r.added_rss) for r in runs]))


def _judge(
    what: str, ratios: tuple[float, float, float], goal: float, floor: str
) -> tuple[list[str], list[str]]:
    """One verdict fresh (best and median) and one warm, against ``goal`` times ``floor``."""
    verdicts: list[str] = []
    missed: list[str] = []
    for when, figures, said in (
        ("fresh", ratios[:2], "best and median of the fresh runs"),
        ("warm", ratios[2:], "best warm repetition"),
    ):
        text = " and ".join(ratio_text(r) for r in figures)
        worst = max(figures)
        if worst <= goal:
            verdicts.append(
                f"**Goal met** ({when}): {what} is {text} {floor} ({said}; goal: at most "
                f"{goal:g}x)."
            )
        else:
            sentence = (
                f"**Goal missed** ({when}): {what} is {text} {floor} ({said}), over the goal "
                f"of {goal:g}x (it would have to be {worst / goal:.2f} times faster)."
            )
            verdicts.append(sentence)
            missed.append(sentence)
    return verdicts, missed


def _build(data: str, runs: int, warm: int) -> tuple[dict[str, list[Run]], dict[str, int]]:
    setup = _LOAD.format(data=data, shape="flat", step=STEP)
    cases = {name: (setup, _kept(code)) for name, code in _BUILD_CASES.items()}
    measured = interleaved(cases, runs=runs, warm=warm)
    kept = {name: traced(setup, _kept(code)).kept for name, code in _BUILD_CASES.items()}
    return measured, kept


def _build_tables(
    measured: dict[str, list[Run]], kept: dict[str, int], n: int
) -> tuple[list[list[str]], list[list[str]]]:
    raw = 2 * 8 * n
    floor = measured["values"]
    time_rows = []
    memory_rows = []
    for name in _BUILD_CASES:
        runs = measured[name]
        fresh, warm = _times_text(runs)
        subject = name in _FLOOR_OF
        pair_floor = (
            _ratios_text(_ratios(runs, measured[_FLOOR_OF[name]]), bold=True) if subject else ""
        )
        time_rows.append(
            [
                _BUILD_LABELS[name],
                fresh,
                warm,
                _ratios_text(_ratios(runs, floor), bold=subject),
                pair_floor,
                f"{_fresh_best(runs) / n * 1e9:.0f} ns",
            ]
        )
        memory_rows.append(
            [
                _BUILD_LABELS[name],
                _peak_text(runs),
                megabytes(held(runs)),
                megabytes(kept[name]),
                f"**{ratio_text(max(held(runs), kept[name]) / raw)}**"
                if subject
                else ratio_text(max(held(runs), kept[name]) / raw),
            ]
        )
    return time_rows, memory_rows


def _build_verdicts(
    measured: dict[str, list[Run]], kept: dict[str, int], n: int
) -> tuple[list[str], list[str]]:
    if n != GOAL_SIZE:
        return [
            f"No verdict: the goals are judged at {GOAL_SIZE:,} points, not in a quick run."
        ], []
    verdicts: list[str] = []
    missed: list[str] = []
    for name in ("from_pairs", "from_columns"):
        v, m = _judge(
            f"`Series.{name}` of {n:,} points",
            _ratios(measured[name], measured["values"]),
            GOAL_BUILD,
            "`array('d', values)`",
        )
        verdicts.extend(v)
        missed.extend(m)
    raw = 2 * 8 * n
    for name in ("from_pairs", "from_columns"):
        rss, exact = held(measured[name]), kept[name]
        worst = max(rss, exact) / raw
        sentence = (
            f"`Series.{name}` holds {megabytes(rss)} by RSS and {megabytes(exact)} traced "
            f"after a full collection: {ratio_text(worst)} the raw {megabytes(raw)} "
            f"(2 x 8 bytes x {n:,}; the larger of the two judged; goal: at most {GOAL_HELD:g}x)."
        )
        if worst <= GOAL_HELD:
            verdicts.append(f"**Goal met** (memory): {sentence}")
        else:
            missed.append(f"**Goal missed** (memory): {sentence}")
            verdicts.append(missed[-1])
    return verdicts, missed


def _prometheus(
    data: str, figures: dict[str, float | int], n: int, runs: int, warm: int
) -> tuple[str, dict[str, list[Run]], dict[str, int]]:
    start, end = float(figures["start"]), float(figures["end"])
    setup = _SERVE.format(data=data, start=start, end=end, query=QUERY, n=n, step=STEP)
    cases = {
        name: (setup, _kept(code.format(step=STEP))) for name, code in _PROMETHEUS_CASES.items()
    }
    measured = interleaved(cases, runs=runs, warm=warm)
    kept = {name: traced(*cases[name]).kept for name in ("loads + from_pairs", "query_range")}
    rows = []
    for name in _PROMETHEUS_CASES:
        runs_ = measured[name]
        fresh, warmed = _times_text(runs_)
        floor = "loads" if name in {"loads", "loads + from_pairs"} else "fetch + loads"
        rows.append(
            [
                _PROMETHEUS_LABELS[name],
                fresh,
                warmed,
                _ratios_text(_ratios(runs_, measured[floor]), bold=name == "query_range"),
                _ratios_text(_ratios(runs_, measured["loads"])),
                _peak_text(runs_),
                megabytes(held(runs_)),
            ]
        )
    adapter = _three(measured["query_range"])
    fetch = _three(measured["fetch + loads"])
    loads = _three(measured["loads"])
    columnar = _three(measured["loads + from_pairs"])
    own = adapter[0] - fetch[0]
    table = markdown_table(
        [
            "What",
            "Fresh best / median",
            "Warm best",
            "Ratio to its floor (fresh best / median / warm)",
            "Ratio to `json.loads` (fresh best / median / warm)",
            "Peak RSS added",
            "Held after (RSS)",
        ],
        rows,
    )
    body = (
        f"One series of {n:,} points at a {STEP:g} s step "
        f"({megabytes(float(figures['body_bytes']))} of JSON: times as Prometheus writes "
        "them, whole seconds without a fraction, values as strings in Go's shortest `'f'` "
        'format, as Prometheus 2.42 answers here: `[1796454549,"0.497"]`, '
        '`[1796454548.750,"1"]`), served by a `ThreadingHTTPServer` thread '
        "in the measuring process on 127.0.0.1 (HTTP/1.0, `Content-Length`). The floor of a "
        "query is the fetch with `urllib` plus `json.loads` of the same bytes; the floor of "
        "a parse is `json.loads` of the bytes alone. `query_range` runs with "
        f"`max_points={n + 1:,}`, so one request takes the window (Prometheus itself refuses "
        "more than 11,000 points a request: the default splits this window into "
        f"{-(-n // 11_000)} requests, each parsed the same way). No goal of its own; issue 12 "
        f"names `json.loads` as the floor. {runs} interleaved rounds, {warm} warm "
        f"repetition{'s' if warm > 1 else ''} in each process.\n\n"
        f"{table}\n\n"
        f"The adapter's own work (its time less the fetch and `json.loads`, fresh best): "
        f"{seconds_text(own)}, {ratio_text(own / loads[0])} `json.loads`. The columnar path "
        f"through the public API (`json.loads` then `Series.from_pairs` of the `values` list, "
        f'with their `[time, "value"]` lists) costs {seconds_text(columnar[0] - loads[0])} '
        f"after `json.loads`. Traced memory kept: {megabytes(kept['query_range'])} by "
        f"`query_range`'s series, {megabytes(kept['loads + from_pairs'])} by the columnar "
        "path's (the parsed body is dropped in both)."
    )
    return body, measured, kept


def _onset(
    data: str, n: int, runs: int, warm: int, build: dict[str, list[Run]]
) -> tuple[str, list[str], list[str], dict[str, list[Run]]]:
    cases = {
        name: (_LOAD.format(data=data, shape=shape, step=STEP) + extra, _kept(code))
        for name, (shape, extra, code) in _ONSET_CASES.items()
    }
    measured = interleaved(cases, runs=runs, warm=warm)
    floor = build["pairs floor"]
    rows = []
    labelled: list[tuple[str, Sequence[Run], bool]] = [
        (
            "two `array('d')` from the pairs (**the building floor**, from the table above)",
            floor,
            False,
        ),
        ("`Series.from_pairs` alone (from the table above)", build["from_pairs"], False),
        ("`detect_onset(series)` alone, flat", measured["detect flat"], False),
        ("**`from_pairs` + `detect_onset`, flat**", measured["both flat"], True),
        ("`detect_onset(series)` alone, daily cycle", measured["detect daily"], False),
        ("**`from_pairs` + `detect_onset`, daily cycle**", measured["both daily"], True),
        (
            "numpy `fromiter` + one best l2 split by cumulative sums (reference)",
            measured["numpy split"],
            False,
        ),
    ]
    for label, runs_, subject in labelled:
        fresh, warmed = _times_text(runs_)
        rows.append(
            [
                label,
                fresh,
                warmed,
                _ratios_text(_ratios(runs_, floor), bold=subject),
                _peak_text(runs_),
            ]
        )
    table = markdown_table(
        [
            "What",
            "Fresh best / median",
            "Warm best",
            "Ratio to the building floor (fresh best / median / warm)",
            "Peak RSS added",
        ],
        rows,
    )
    verdicts: list[str] = []
    missed: list[str] = []
    if n != GOAL_SIZE:
        verdicts.append(
            f"No verdict: the goal is judged at {GOAL_SIZE:,} points, not in a quick run."
        )
    else:
        for shape in ("flat", "daily"):
            b, m, w = _three(measured[f"both {shape}"])
            worst = max(b, m, w)
            what = (
                f"`from_pairs` + `detect_onset` on {n:,} points ({shape}) took "
                f"{seconds_text(b)} best and {seconds_text(m)} median fresh, {seconds_text(w)} "
                f"warm (goal: under {GOAL_ONSET:g} s)"
            )
            if worst < GOAL_ONSET:
                verdicts.append(f"**Goal met**: {what}.")
            else:
                sentence = f"**Goal missed**: {what}; over by {seconds_text(worst - GOAL_ONSET)}."
                verdicts.append(sentence)
                missed.append(sentence)
    body = (
        "The flat and the daily-cycle series of `bench_onset`'s speed section (a step of "
        "+0.05 at 70 %), from the pairs. The goal is absolute; the ratios are to the floor "
        "of building the two columns from the pairs. `detect_onset` alone has its series "
        "built in the setup.\n\n"
        f"{table}\n\n" + "\n\n".join(verdicts)
    )
    return body, verdicts, missed, measured


def _figures(measured: dict[str, list[Run]]) -> dict[str, object]:
    return {
        name: {
            "fresh": [r.seconds for r in runs],
            "warm": [w for r in runs for w in r.warm],
            "peak_rss": [r.peak_rss for r in runs],
            "added_rss": [r.added_rss for r in runs],
            "held_rss": [r.held_rss for r in runs],
        }
        for name, runs in measured.items()
    }


def run(*, quick: bool = False, progress: Callable[[str], None] | None = None) -> Result:
    """Measure building, memory, the Prometheus path and onset; return the section."""
    n = QUICK_SIZE if quick else SIZE
    runs = QUICK_RUNS if quick else RUNS
    warm = QUICK_WARM if quick else WARM
    say = progress or (lambda _text: None)
    with tempfile.TemporaryDirectory(prefix="incidentkit-bench-series-") as folder:
        figures = write_data(Path(folder), n)
        say("building")
        build, kept = _build(folder, runs, warm)
        say("prometheus")
        prometheus, answers, answer_kept = _prometheus(
            folder,
            figures,
            n,
            QUICK_RUNS if quick else ANSWER_RUNS,
            QUICK_WARM if quick else ANSWER_WARM,
        )
        say("onset")
        onset, onset_verdicts, onset_missed, onsets = _onset(folder, n, runs, warm, build)
    time_rows, memory_rows = _build_tables(build, kept, n)
    verdicts, missed = _build_verdicts(build, kept, n)
    raw = 2 * 8 * n
    memory = (
        f"Raw: {n:,} pairs of doubles, 2 x 8 bytes x {n:,} = **{megabytes(raw)}**. *Held* is "
        "what the kept result holds after the timed part and a full collection: by resident "
        "memory (RSS then, less RSS before; freed memory the allocator keeps counts too), and "
        "traced by `tracemalloc` in another fresh process (bytes allocated by the timed part "
        "and still alive). *Peak added*: the peak RSS during the timed part less the RSS "
        "before it (the temporaries included). Medians of the fresh runs.\n\n"
        + markdown_table(
            [
                "What",
                "Peak RSS added while building",
                "Held after (RSS)",
                "Held after (traced)",
                "Held ÷ raw (the larger)",
            ],
            memory_rows,
        )
    )
    return Result(
        name="series",
        title=f"Series: building {n:,} points, memory held, a Prometheus answer, onset",
        setup=[
            (
                f"{n:,} points at a {STEP:g} s step: `bench_onset`'s error-ratio speed series "
                "(flat; the onset section adds the daily cycle), read in each process's untimed "
                "setup as lists of floats and a list of `(time, value)` tuples."
            ),
            (
                f"Each case in a fresh interpreter (`bench/_fresh.py`), {runs} interleaved "
                f"rounds, then {warm} warm repetition{'s' if warm > 1 else ''} in each "
                "process; the timed part keeps its result. Columns: best and median fresh "
                "time, best warm time; ratios "
                "fresh best / fresh median / warm, each to the same figure of the floor."
            ),
            (
                f"Goals (issue 12): `Series.from_pairs` at most {GOAL_BUILD:g}x "
                "`array('d', values)` of the same values (`from_columns` judged the same); "
                f"the series' memory at most {GOAL_HELD:g}x the raw floats; `from_pairs` + "
                f"`detect_onset` under {GOAL_ONSET:g} s at {GOAL_SIZE:,} points."
            ),
        ],
        headers=[
            "What",
            "Fresh best / median",
            "Warm best",
            "Ratio to `array('d', values)` (fresh best / median / warm)",
            "Ratio to its two-column floor",
            "Per point (fresh best)",
        ],
        rows=time_rows,
        verdicts=verdicts,
        missed=missed + onset_missed,
        sections=[
            ("Memory", memory),
            ("From a Prometheus answer", prometheus),
            ("Onset on the pairs a source returns", onset),
        ],
        data={
            "points": n,
            "build": _figures(build),
            "build_traced_kept": kept,
            "prometheus": _figures(answers),
            "prometheus_traced_kept": answer_kept,
            "onset": _figures(onsets),
            "onset_verdicts": onset_verdicts,
        },
    )


if __name__ == "__main__":
    import sys

    print(
        run(quick="--quick" in sys.argv, progress=lambda t: print(t, file=sys.stderr)).to_markdown()
    )
