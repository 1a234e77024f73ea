"""What the benchmarks share: the result shape, timing helpers and the machine's description.

Every benchmark module has a ``run(quick=...)`` function returning a :class:`Result`;
``run.py`` only calls them and writes ``RESULTS.md``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent


@dataclass
class Result:
    """What one benchmark measured, ready to be rendered as a section of RESULTS.md.

    Attributes:
        name: The benchmark's short name (``append``, ``resume``, ``import``).
        title: The section's heading.
        setup: How it was measured, one Markdown bullet each (N, repetitions, paths).
        headers: The table's column names.
        rows: The table's cells, already formatted.
        verdicts: One plain sentence per goal: met, or the shortfall.
        missed: The goals missed, one sentence each (empty when all are met).
        sections: Further ``(heading, Markdown body)`` pairs: breakdowns, profiles.
        data: The raw figures, for anyone who wants them as numbers.
    """

    name: str
    title: str
    setup: list[str]
    headers: list[str]
    rows: list[list[str]]
    verdicts: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    sections: list[tuple[str, str]] = field(default_factory=list)
    data: dict[str, object] = field(default_factory=dict)

    def to_markdown(self) -> str:
        """Return the benchmark's section: heading, setup, table, verdicts, extra sections."""
        lines = [f"## {self.title}", ""]
        lines.extend(f"- {item}" for item in self.setup)
        lines.append("")
        lines.append(markdown_table(self.headers, self.rows))
        lines.append("")
        for verdict in self.verdicts:
            lines.extend([verdict, ""])
        for heading, body in self.sections:
            lines.extend([f"### {heading}", "", body.rstrip(), ""])
        return "\n".join(lines)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Render a GitHub-flavoured Markdown table."""
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out.extend("| " + " | ".join(row) + " |" for row in rows)
    return "\n".join(out)


def ratio_text(ratio: float) -> str:
    """Format a cost ratio: ``2.41x``."""
    return f"{ratio:.2f}x"


def seconds_text(seconds: float) -> str:
    """Format a duration with a unit that keeps three significant figures or so."""
    if seconds >= 1:
        return f"{seconds:.3f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.1f} µs"


def verdict(what: str, ratio: float, goal: float) -> tuple[str, str | None]:
    """Judge a ratio against a goal ("at most ``goal`` times the baseline").

    Returns:
        The verdict sentence, and the same sentence again if the goal is missed (else None).
    """
    if ratio <= goal:
        return (
            f"**Goal met**: {what} is {ratio_text(ratio)} the baseline (goal: at most {goal:g}x).",
            None,
        )
    sentence = (
        f"**Goal missed**: {what} is {ratio_text(ratio)} the baseline, over the goal of "
        f"{goal:g}x by {ratio / goal - 1:.0%} (it would have to be {ratio / goal:.2f} times "
        "faster)."
    )
    return sentence, sentence


def median(values: Sequence[float]) -> float:
    """Return the median."""
    return statistics.median(values)


# -- where the journals go -----------------------------------------------------


def mount_of(path: Path) -> str:
    """Describe the filesystem ``path`` is on: ``ext4 on /dev/vda (mounted at /)``."""
    target = os.path.realpath(path)
    best: tuple[str, str, str] | None = None
    try:
        with open("/proc/self/mountinfo", encoding="utf-8") as mounts:  # noqa: PTH123 - a stream
            for line in mounts:
                before, _, after = line.partition(" - ")
                point = before.split()[4].encode().decode("unicode_escape")
                fstype, source = after.split()[:2]
                inside = target == point or target.startswith(point.rstrip("/") + "/")
                if inside and (best is None or len(point) >= len(best[0])):
                    best = (point, fstype, source)
    except OSError:
        return "unknown (no /proc/self/mountinfo)"
    if best is None:
        return "unknown"
    point, fstype, source = best
    return f"{fstype} on {source} (mounted at {point})"


@contextlib.contextmanager
def journal_dir() -> Iterator[tuple[Path, str]]:
    """Yield a temporary directory on the same disk as the repository, and a description.

    The system's temporary directory is used when it is on the same device as the
    repository; otherwise a hidden temporary folder inside ``bench/`` is, removed
    afterwards either way.
    """
    system_tmp = Path(tempfile.gettempdir())
    same = system_tmp.stat().st_dev == REPO_ROOT.stat().st_dev
    parent = system_tmp if same else BENCH_DIR
    with tempfile.TemporaryDirectory(prefix=".incidentkit-bench-", dir=parent) as name:
        path = Path(name)
        where = f"`{path}` on {mount_of(path)}"
        if same:
            where += ", the same device as the repository"
        else:
            where += " (inside bench/: the system temp dir is on another device)"
        yield path, where


# -- the machine -----------------------------------------------------------------


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:  # noqa: PTH123 - a stream
            for line in info:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _os_name() -> str:
    pretty = ""
    try:
        for line in Path("/etc/os-release").read_text(encoding="utf-8").splitlines():
            if line.startswith("PRETTY_NAME="):
                pretty = line.partition("=")[2].strip().strip('"')
    except OSError:
        pass
    kernel = f"{platform.system()} {platform.release()} ({platform.machine()})"
    return f"{pretty}, {kernel}" if pretty else kernel


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git_revision() -> str:
    git = ["git", "-C", str(REPO_ROOT)]
    try:
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{head} with uncommitted changes" if dirty else head


def machine() -> list[tuple[str, str]]:
    """Describe the machine, the interpreter and the run, as ``(label, value)`` pairs."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 0
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    command = shlex.join([sys.executable, *sys.argv])
    versions = ", ".join(
        f"{dist} {_version(dist)}" for dist in ("incidentkit", "attrs", "cattrs", "pendulum")
    )
    return [
        ("CPU", _cpu_model()),
        ("Cores", f"{os.cpu_count()} logical, {usable} usable by this process"),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("OS", _os_name()),
        ("Date", now.isoformat().replace("+00:00", "Z")),
        ("Command", f"`{command}` (run from `{Path.cwd()}`)"),
        ("Packages", versions),
        ("Source tree", _git_revision()),
    ]
