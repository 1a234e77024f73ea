"""Timing in fresh processes, the way a user's script runs, with peak memory beside time.

A benchmark gives :func:`measure` two snippets of Python: ``setup`` (imports, building
the inputs: not timed) and ``timed`` (what the user waits for). Each run starts a new
interpreter (``sys.executable``), runs ``setup``, resets the process's peak resident
set size (``VmHWM``, by writing ``5`` to ``/proc/self/clear_refs``; Linux 4.0 and
later), runs ``timed`` once under ``time.perf_counter``, and reports:

- ``seconds``: the timed snippet's wall time;
- ``peak_rss``: the peak resident set size during the timed snippet, in bytes (the
  whole process's, so the interpreter and ``setup``'s objects are in it);
- ``base_rss``: the resident set size just before it, so ``peak_rss - base_rss`` is
  what the timed snippet itself added at its peak.

``warm=N`` runs the timed snippet ``N`` more times in the same process after the
fresh run and reports the best of those too (the figure a long-lived process, or a
harness, would see). The cyclic garbage collector stays on, as in a user's process.

Where ``/proc/self/clear_refs`` cannot be written (not Linux, or a sandbox), the peak
is the process's lifetime peak (``ru_maxrss``) and :attr:`Run.peak_is_lifetime` says
so.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

_CHILD = """
import gc, json, os, resource, sys, time

def _rss(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

{setup}

def _timed():
{timed}

gc.collect()
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    lifetime = False
except OSError:
    lifetime = True
base = _rss("VmRSS")
t0 = time.perf_counter()
_timed()
seconds = time.perf_counter() - t0
peak = _rss("VmHWM")
warm = []
for _ in range({warm}):
    gc.collect()
    t0 = time.perf_counter()
    _timed()
    warm.append(time.perf_counter() - t0)
sys.stdout.write("\\n@@fresh@@" + json.dumps(
    {{"seconds": seconds, "peak_rss": peak, "base_rss": base, "lifetime": lifetime, "warm": warm}}
))
"""


@dataclass(frozen=True)
class Run:
    """One fresh process's figures.

    Attributes:
        seconds: The timed snippet's wall time in the fresh process.
        peak_rss: Peak resident set size during it, in bytes.
        base_rss: Resident set size just before it, in bytes.
        warm: The times of the warm repetitions in the same process, if any.
        peak_is_lifetime: Whether ``peak_rss`` is the process's lifetime peak
            (the reset was not available).
    """

    seconds: float
    peak_rss: int
    base_rss: int
    warm: tuple[float, ...]
    peak_is_lifetime: bool

    @property
    def added_rss(self) -> int:
        """What the timed snippet added to the resident set at its peak, in bytes."""
        return max(0, self.peak_rss - self.base_rss)


def measure(
    setup: str,
    timed: str,
    *,
    warm: int = 0,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
) -> Run:
    """Run ``setup`` then ``timed`` in a fresh interpreter and return what it measured.

    Args:
        setup: Module-level code run first, not timed. Names it defines are globals
            that ``timed`` can read (declare ``global x`` in ``timed`` to assign).
        timed: The body of the timed function (any indentation; it is re-indented).
        warm: Warm repetitions after the fresh one, in the same process.
        env: The child's environment (default: this process's).
        cwd: The child's working directory.

    Raises:
        RuntimeError: The child failed; its stderr is in the message.
    """
    code = _CHILD.format(
        setup=textwrap.dedent(setup),
        timed=textwrap.indent(textwrap.dedent(timed).strip() or "pass", "    "),
        warm=int(warm),
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env=dict(env) if env is not None else None,
        cwd=cwd,
    )
    marker = done.stdout.rfind("@@fresh@@")
    if done.returncode != 0 or marker < 0:
        msg = f"fresh process failed (exit {done.returncode}):\n{done.stderr[-4000:]}"
        raise RuntimeError(msg)
    raw = json.loads(done.stdout[marker + len("@@fresh@@") :])
    return Run(
        seconds=float(raw["seconds"]),
        peak_rss=int(raw["peak_rss"]),
        base_rss=int(raw["base_rss"]),
        warm=tuple(float(w) for w in raw["warm"]),
        peak_is_lifetime=bool(raw["lifetime"]),
    )


def interleaved(
    cases: Mapping[str, tuple[str, str]], *, runs: int, warm: int = 0
) -> dict[str, list[Run]]:
    """Measure several ``(setup, timed)`` cases in fresh processes, interleaved.

    Each round runs every case once, the order rotating from round to round, so that
    a slow spell of a noisy machine falls on all of them alike.

    Returns:
        Each case's runs, in the order they ran.
    """
    names = list(cases)
    out: dict[str, list[Run]] = {name: [] for name in names}
    for round_ in range(runs):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            setup, timed = cases[name]
            out[name].append(measure(setup, timed, warm=warm))
    return out


def best(runs: Sequence[Run]) -> float:
    """The best fresh time of several runs, in seconds."""
    return min(r.seconds for r in runs)


def best_warm(runs: Sequence[Run]) -> float:
    """The best warm time of several runs, in seconds (``nan`` when none ran warm)."""
    times = [w for r in runs for w in r.warm]
    return min(times) if times else float("nan")


def peak(runs: Sequence[Run]) -> int:
    """The median peak resident set size of several runs, in bytes."""
    values = sorted(r.peak_rss for r in runs)
    return values[len(values) // 2]


def added(runs: Sequence[Run]) -> int:
    """The median resident memory the timed snippet added at its peak, in bytes."""
    values = sorted(r.added_rss for r in runs)
    return values[len(values) // 2]


def megabytes(size: float) -> str:
    """Format a size in bytes as ``12.3 MB`` (10**6 bytes)."""
    return f"{size / 1e6:,.1f} MB"
