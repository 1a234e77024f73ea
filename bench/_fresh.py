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
  what the timed snippet itself added at its peak;
- ``after_rss``: the resident set size after it and a full collection, so
  ``after_rss - base_rss`` is what the objects it kept (assigned to a global) hold, as
  the operating system sees it (memory the allocator freed but kept is in it too).

:func:`traced` measures what a snippet keeps exactly, in bytes, with ``tracemalloc``
in another fresh process (tracing slows the snippet, so it is never timed there).

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
from typing import TYPE_CHECKING, Any

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
gc.collect()
after = _rss("VmRSS")
warm = []
for _ in range({warm}):
    gc.collect()
    t0 = time.perf_counter()
    _timed()
    warm.append(time.perf_counter() - t0)
sys.stdout.write("\\n@@fresh@@" + json.dumps(
    {{"seconds": seconds, "peak_rss": peak, "base_rss": base, "after_rss": after,
      "lifetime": lifetime, "warm": warm}}
))
"""

_TRACED_CHILD = """
import gc, json, sys, tracemalloc

{setup}

def _timed():
{timed}

gc.collect()
tracemalloc.start()
_before = tracemalloc.get_traced_memory()[0]
_timed()
_peak = tracemalloc.get_traced_memory()[1]
gc.collect()
_kept = tracemalloc.get_traced_memory()[0]
tracemalloc.stop()
sys.stdout.write("\\n@@fresh@@" + json.dumps({{"kept": _kept - _before, "peak": _peak - _before}}))
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
        after_rss: Resident set size after it and a full collection, in bytes.
    """

    seconds: float
    peak_rss: int
    base_rss: int
    warm: tuple[float, ...]
    peak_is_lifetime: bool
    after_rss: int = 0

    @property
    def added_rss(self) -> int:
        """What the timed snippet added to the resident set at its peak, in bytes."""
        return max(0, self.peak_rss - self.base_rss)

    @property
    def held_rss(self) -> int:
        """What the objects the timed snippet kept hold in the resident set, in bytes."""
        return max(0, self.after_rss - self.base_rss)


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

    ``after_rss`` is read after the fresh run and a full collection, before the warm
    repetitions: for it to mean anything, ``timed`` keeps its result in a global.

    Raises:
        RuntimeError: The child failed; its stderr is in the message.
    """
    code = _CHILD.format(setup=textwrap.dedent(setup), timed=_body(timed), warm=int(warm))
    raw = _child(code, env=env, cwd=cwd)
    return Run(
        seconds=float(raw["seconds"]),
        peak_rss=int(raw["peak_rss"]),
        base_rss=int(raw["base_rss"]),
        warm=tuple(float(w) for w in raw["warm"]),
        peak_is_lifetime=bool(raw["lifetime"]),
        after_rss=int(raw["after_rss"]),
    )


@dataclass(frozen=True)
class Traced:
    """What one snippet allocated, traced by ``tracemalloc`` in a fresh process.

    Attributes:
        kept: Bytes allocated by the snippet and still alive after it and a full
            collection: what the objects it kept (assigned to a global) hold.
        peak: The most bytes the snippet had allocated at once, above what the
            process held before it.
    """

    kept: int
    peak: int


def traced(
    setup: str,
    timed: str,
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
) -> Traced:
    """Run ``setup`` then ``timed`` in a fresh interpreter, tracing what ``timed`` allocates.

    Only the allocations Python's allocators see are traced (objects, ``array``
    buffers, numpy's data); the interpreter's own and a C library's private ones are
    not. ``timed`` must assign what it keeps to a global, as for :func:`measure`.

    Raises:
        RuntimeError: The child failed; its stderr is in the message.
    """
    code = _TRACED_CHILD.format(setup=textwrap.dedent(setup), timed=_body(timed))
    raw = _child(code, env=env, cwd=cwd)
    return Traced(kept=int(raw["kept"]), peak=int(raw["peak"]))


def _body(timed: str) -> str:
    return textwrap.indent(textwrap.dedent(timed).strip() or "pass", "    ")


def _child(code: str, *, env: Mapping[str, str] | None, cwd: str | None) -> dict[str, Any]:
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
    raw: dict[str, Any] = json.loads(done.stdout[marker + len("@@fresh@@") :])
    return raw


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


def held(runs: Sequence[Run]) -> int:
    """The median resident memory held by what the timed snippet kept, in bytes."""
    values = sorted(r.held_rss for r in runs)
    return values[len(values) // 2]


def megabytes(size: float) -> str:
    """Format a size in bytes as ``12.3 MB`` (10**6 bytes)."""
    return f"{size / 1e6:,.1f} MB"
