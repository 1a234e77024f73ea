"""Import time: ``import incidentkit`` against importing its runtime dependencies alone.

Each import runs in a fresh interpreter (``python -c``) that times only the import
statement with ``time.perf_counter``, so the interpreter's own start-up is left out.
The baseline imports ``attrs``, ``cattrs`` and ``pendulum`` together: what incidentkit
cannot avoid paying. Each of them alone is shown for reference. The runs are
interleaved, the order rotating, after one untimed warm-up of each (so bytecode caches
exist and the files are in the page cache).

Then ``python -X importtime -c "import incidentkit"`` runs a few times, and the median
of each module's figures gives the breakdown: the costliest imports under incidentkit by
cumulative time, and the modules incidentkit brings in that the baseline does not.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass

from _common import Result, markdown_table, median, ratio_text, seconds_text, verdict

REPEATS = 21
QUICK_REPEATS = 15
IMPORTTIME_RUNS = 7
QUICK_IMPORTTIME_RUNS = 3
GOAL = 1.3  # issue 12; it was 1.5
TOP = 5

SUBJECT = "incidentkit"
BASELINE = "attrs, cattrs, pendulum"
REFERENCES = ("attrs", "cattrs", "pendulum")

_TIMER = (
    "import time\nbegan = time.perf_counter()\n{statement}\nprint(time.perf_counter() - began)\n"
)

# What a script pays before its first event is written: the import, then what loads
# on first use (the events, the converter and its hooks, the state), with an
# in-memory store so that no disk is timed. A reference, with no goal.
FIRST_EVENT = "first event"
_FIRST_EVENT_STATEMENT = (
    "import incidentkit\n"
    "from incidentkit.memory import InMemoryJournalStore\n"
    "incidentkit.Incident.declare(title='Checkout returns 5xx', services='checkout', "
    "actor='dana', detection=incidentkit.Detection.ALERT, store=InMemoryJournalStore(), "
    "incident_id='INC-1').note('5xx ratio at 12%', actor='dana')"
)


# Variables that would change what an import costs, or what is printed.
_UNSET = frozenset(
    {
        "PYTHONDEVMODE",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONPROFILEIMPORTTIME",
        "PYTHONTRACEMALLOC",
        "PYTHONVERBOSE",
        "PYTHONWARNINGS",
    }
)


def _python(args: list[str], cwd: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in _UNSET}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, check=True, cwd=cwd, env=env
    )


def _time_import(target: str, cwd: str) -> float:
    statement = _FIRST_EVENT_STATEMENT if target == FIRST_EVENT else f"import {target}"
    return float(_python(["-c", _TIMER.format(statement=statement)], cwd).stdout)


@dataclass(frozen=True)
class _Entry:
    """One line of ``-X importtime``: a module, its nesting depth, its times in seconds."""

    module: str
    depth: int
    self_time: float
    cumulative: float


def _importtime(modules: str, cwd: str) -> list[_Entry]:
    """Run ``-X importtime``; return the entries of the import statement's tree only."""
    stderr = _python(["-X", "importtime", "-c", f"import {modules}"], cwd).stderr
    entries: list[_Entry] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|")
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        entries.append(_Entry(name.strip(), depth, int(self_us) / 1e6, int(cumulative_us) / 1e6))
    # Lines come children first; the statement's tree is everything after the last
    # top-level entry that belongs to start-up (site and friends, printed before it).
    wanted = {module.strip() for module in modules.split(",")}
    first = len(entries)
    for index in range(len(entries) - 1, -1, -1):
        entry = entries[index]
        if entry.depth == 0 and entry.module not in wanted:
            break
        first = index
    return entries[first:]


def _median_entries(runs: list[list[_Entry]]) -> dict[str, _Entry]:
    """Merge several runs: per module, the median self and cumulative time."""
    merged: dict[str, list[_Entry]] = {}
    for run_entries in runs:
        for entry in run_entries:
            merged.setdefault(entry.module, []).append(entry)
    return {
        module: _Entry(
            module,
            found[0].depth,
            median([e.self_time for e in found]),
            median([e.cumulative for e in found]),
        )
        for module, found in merged.items()
    }


def _breakdown(cwd: str, runs: int) -> tuple[str, dict[str, object]]:
    subject = _median_entries([_importtime(SUBJECT, cwd) for _ in range(runs)])
    baseline = _median_entries([_importtime(BASELINE, cwd) for _ in range(runs)])
    root = subject[SUBJECT]
    inside = sorted(
        (e for e in subject.values() if e.module != SUBJECT), key=lambda e: -e.cumulative
    )[:TOP]
    own = sorted(
        (e for e in subject.values() if e.module.startswith(SUBJECT + ".")),
        key=lambda e: -e.self_time,
    )[:TOP]
    extra = [e for e in subject.values() if e.module not in baseline]
    extra_top = sorted(extra, key=lambda e: -e.self_time)[:TOP]
    extra_total = sum(e.self_time for e in extra)

    def rows(entries: list[_Entry]) -> list[list[str]]:
        return [
            [
                f"`{e.module}`",
                str(e.depth),
                seconds_text(e.cumulative),
                f"{e.cumulative / root.cumulative:.0%}",
                seconds_text(e.self_time),
            ]
            for e in entries
        ]

    headers = ["Module", "Depth", "Cumulative", "Share of incidentkit", "Self"]
    body = "\n\n".join(
        [
            (
                f'Median of {runs} runs of `python -X importtime -c "import incidentkit"`: '
                f"incidentkit's import tree took {seconds_text(root.cumulative)} cumulative "
                f"({seconds_text(root.self_time)} in `incidentkit/__init__.py` itself). "
                "`-X importtime` adds its own overhead, so these run higher than the table above; "
                "a module is charged to the first importer only, and nested entries are counted "
                "again in their parents' cumulative time."
            ),
            (
                f"Top {TOP} cumulative import costs inside `import incidentkit` "
                "(depth 1 = imported by `incidentkit/__init__.py`):"
            ),
            markdown_table(headers, rows(inside)),
            (
                f"Top {TOP} incidentkit modules by self time (their own module body, "
                "mostly class creation by attrs and cattrs hook set-up):"
            ),
            markdown_table(headers, rows(own)),
            (
                f"Modules that `import incidentkit` loads and `import {BASELINE}` does not: "
                f"{len(extra)} modules, {seconds_text(extra_total)} self time in all "
                f"(incidentkit's own modules included). The {TOP} costliest by self time:"
            ),
            markdown_table(headers, rows(extra_top)),
        ]
    )
    data: dict[str, object] = {
        "cumulative": root.cumulative,
        "top_cumulative": [(e.module, e.cumulative) for e in inside],
        "top_own": [(e.module, e.self_time) for e in own],
        "not_in_baseline": [(e.module, e.self_time) for e in extra_top],
        "not_in_baseline_total": extra_total,
    }
    return body, data


def run(*, quick: bool = False) -> Result:
    """Time the imports, interleaved; break incidentkit's import down; return the result."""
    repeats = QUICK_REPEATS if quick else REPEATS
    targets = [SUBJECT, BASELINE, *REFERENCES, FIRST_EVENT]
    with tempfile.TemporaryDirectory(prefix=".incidentkit-bench-") as cwd:
        for modules in targets:
            _time_import(modules, cwd)
        times: dict[str, list[float]] = {modules: [] for modules in targets}
        for index in range(repeats):
            shift = index % len(targets)
            for modules in targets[shift:] + targets[:shift]:
                times[modules].append(_time_import(modules, cwd))
        breakdown, breakdown_data = _breakdown(
            cwd, QUICK_IMPORTTIME_RUNS if quick else IMPORTTIME_RUNS
        )
    best = {modules: min(values) for modules, values in times.items()}
    middle = {modules: median(values) for modules, values in times.items()}
    best_ratio = {m: best[m] / best[BASELINE] for m in targets}
    median_ratio = {m: middle[m] / middle[BASELINE] for m in targets}
    best_sentence, best_missed = verdict("`import incidentkit` (best)", best_ratio[SUBJECT], GOAL)
    median_sentence, median_missed = verdict(
        "`import incidentkit` (median)", median_ratio[SUBJECT], GOAL
    )
    met = "yes" if not (best_missed or median_missed) else "**no**"
    rows = []
    for modules in targets:
        label = f"`import {modules}`"
        if modules == BASELINE:
            label = f"baseline: {label}"
        elif modules in REFERENCES:
            label = f"reference: {label} alone"
        elif modules == FIRST_EVENT:
            label = (
                "reference: `import incidentkit`, then declare an incident in memory and "
                "note once (the first event)"
            )
        rows.append(
            [
                label,
                seconds_text(best[modules]),
                seconds_text(middle[modules]),
                f"{seconds_text(best[BASELINE])} / {seconds_text(middle[BASELINE])}",
                ratio_text(best_ratio[modules]),
                ratio_text(median_ratio[modules]),
                f"at most {GOAL:g}x" if modules == SUBJECT else "n/a",
                met if modules == SUBJECT else "n/a",
            ]
        )
    missed = [sentence for sentence in (best_missed, median_missed) if sentence]
    return Result(
        name="import",
        title="3. Import time",
        setup=[
            (
                f"{repeats} interleaved runs per import (after one untimed warm-up each), each "
                "in a fresh `python -c` that times the import statement alone with "
                "`time.perf_counter`."
            ),
            (
                f"Baseline: `import {BASELINE}` in one interpreter (incidentkit's runtime "
                "dependencies; `typing_extensions` is imported by them too)."
            ),
            (
                "Ratio: time divided by the baseline's, for the best and for the median run; the "
                "goal counts as met only if both are within it."
            ),
            (
                "The events, cattrs and the converter, the steps, the stores and the analyses "
                "load on first use, not with `import incidentkit`: the last row shows what a "
                "script pays up to its first event."
            ),
        ],
        headers=[
            "Import",
            "Best",
            "Median",
            "Baseline best / median",
            "Ratio (best)",
            "Ratio (median)",
            "Goal",
            "Met",
        ],
        rows=rows,
        verdicts=[best_sentence, median_sentence],
        missed=missed,
        sections=[("Where incidentkit's import time goes", breakdown)],
        data={
            "times": times,
            "best_ratio": best_ratio,
            "median_ratio": median_ratio,
            "breakdown": breakdown_data,
        },
    )
