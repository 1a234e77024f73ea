"""Run incidentkit's benchmarks and rewrite ``bench/RESULTS.md``.

Usage: ``python bench/run.py [--quick] [--only NAME ...] [--profile] [--output PATH]``,
or ``nox -s bench -- [options]``. See ``bench/README.md`` for what each benchmark measures.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import bench_append
import bench_gather
import bench_import
import bench_onset
import bench_onset_counts
import bench_postgres
import bench_realdata
import bench_recovery
import bench_recovery_counts
import bench_recovery_threshold
import bench_report
import bench_resume
import bench_series
import bench_suspects
from _common import BENCH_DIR, Result, machine, markdown_table

BENCHMARKS = (
    "append",
    "resume",
    "import",
    "onset",
    "onset-counts",
    "realdata",
    "series",
    "suspects",
    "recovery",
    "recovery-counts",
    "recovery-threshold",
    "gather",
    "report",
    "postgres",
)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run.py",
        description="Run incidentkit's benchmarks and write the results as Markdown.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller sizes and fewer repetitions, for a check that everything runs "
        "(400 appends, 10,000 events to resume, 15 import runs, 100,000-point series)",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=BENCHMARKS,
        metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile Incident.resume even when it meets its goal (it is profiled when not)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=BENCH_DIR / "RESULTS.md",
        help="where to write the results (default: bench/RESULTS.md)",
    )
    return parser.parse_args(argv)


def _render(results: list[Result], *, quick: bool, seconds: float) -> str:
    lines = [
        "# Benchmark results",
        "",
        (
            "Written by `bench/run.py`; do not edit by hand, run it again. Every figure is "
            "measured side by side with its baseline in the same run, and compared as a ratio, "
            "because the machines here are noisy: compare ratios across runs, not seconds. "
            "See `bench/README.md` for what each benchmark measures."
        ),
        "",
        markdown_table(["", ""], [[f"**{label}**", value] for label, value in machine()]),
        "",
    ]
    if quick:
        lines.extend(["**Quick run** (`--quick`): smaller sizes, not the figures of record.", ""])
    missed = [sentence for result in results for sentence in result.missed]
    if missed:
        lines.extend(["## Goals missed", ""])
        lines.extend(f"- {sentence.removeprefix('**Goal missed**: ')}" for sentence in missed)
        lines.append("")
    elif any(result.verdicts for result in results):
        lines.extend(["Every goal was met.", ""])
    lines.extend(result.to_markdown() for result in results)
    lines.append(f"The whole run took {seconds:.0f} s.")
    return "\n".join(lines) + "\n"


def _run_one(name: str, args: argparse.Namespace) -> Result:
    """Run the benchmark called ``name``."""
    if name == "resume":
        return bench_resume.run(quick=args.quick, profile=args.profile)
    modules = {
        "append": bench_append,
        "import": bench_import,
        "onset": bench_onset,
        "onset-counts": bench_onset_counts,
        "realdata": bench_realdata,
        "series": bench_series,
        "suspects": bench_suspects,
        "recovery": bench_recovery,
        "recovery-counts": bench_recovery_counts,
        "recovery-threshold": bench_recovery_threshold,
        "gather": bench_gather,
        "report": bench_report,
        "postgres": bench_postgres,
    }
    return modules[name].run(quick=args.quick)


def main(argv: list[str]) -> int:
    """Run the benchmarks asked for, write the Markdown, print it; return 0."""
    args = _parse(argv)
    chosen = [name for name in BENCHMARKS if not args.only or name in args.only]
    began = time.perf_counter()
    results: list[Result] = []
    for name in chosen:
        print(f"running benchmark {name!r}...", file=sys.stderr, flush=True)
        results.append(_run_one(name, args))
    text = _render(results, quick=args.quick, seconds=time.perf_counter() - began)
    args.output.write_text(text, encoding="utf-8")
    print(text)
    print(f"written to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
