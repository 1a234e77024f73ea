"""Each C-level pass of ``Series.from_pairs`` alone, against ``array('d', values)``.

Not part of ``run.py``: the micro-benchmark behind bench/README.md's table of the
passes a series of 1,000,000 pairs needs, and of the ways tried to make them cheaper.
One process, the same data as ``bench_series`` (1,000,000 instants at a 10 s step and
error-ratio values, as lists of floats and a list of tuples), every pass timed by
``timeit`` (best of 5, CPU time, the collector paused as ``timeit`` does) in 3
interleaved rounds; the best of the rounds, as a ratio to ``array('d', values)``.

Run it from bench/: ``PYTHONPATH=$PWD/../src python series_passes.py``.
"""

from __future__ import annotations

import itertools
import marshal
import math
import operator
import random
import sys
import time
import timeit
from array import array
from functools import reduce

from incidentkit import _columns

N = 1_000_000
ROUNDS = 3
REPEAT = 5
T0 = 1_763_647_200.0


def marshal_columns(pairs: list[tuple[float, float]]) -> tuple[array[float], array[float]] | None:
    """The two columns through ``marshal``: lengths and exact floats checked by its bytes.

    Version 2 writes a list of 2-tuples of floats as ``[`` and the count, then 23 bytes
    a pair: ``(``, the count 2, ``g`` and 8 bytes, ``g`` and 8 bytes; anything else
    (an int, a bool, None, a third item) changes the bytes, so checking them checks it.
    """
    n = len(pairs)
    body = marshal.dumps(pairs, 2)
    if len(body) != 5 + 23 * n or not (
        body[5::23] == b"(" * n
        and body[6::23] == b"\x02" * n
        and body[7::23] == body[8::23] == body[9::23] == bytes(n)
        and body[10::23] == body[19::23] == b"g" * n
    ):
        return None
    times, values = bytearray(8 * n), bytearray(8 * n)
    for i in range(8):  # marshal writes doubles little-endian
        times[i::8] = body[11 + i :: 23]
        values[i::8] = body[20 + i :: 23]
    return array("d", times), array("d", values)


def _data() -> dict[str, object]:
    rng = random.Random(7)  # noqa: S311 - a benchmark's data, not a secret
    times = [T0 + 10.0 * i for i in range(N)]
    values = [max(0.0, 0.004 + rng.gauss(0.0, 0.0005)) for _ in range(N)]
    pairs = list(zip(times, values, strict=True))
    flat = reduce(operator.iconcat, pairs, [])
    return {
        "times": times,
        "values": values,
        "pairs": pairs,
        "flat": flat,
        "t": array("d", times),
        "v": array("d", values),
        "body": marshal.dumps(pairs, 2),
        "array": array,
        "itertools": itertools,
        "marshal": marshal,
        "math": math,
        "operator": operator,
        "reduce": reduce,
        "marshal_columns": marshal_columns,
        "columns": _columns,
        "I0": operator.itemgetter(0),
        "I1": operator.itemgetter(1),
        "N": N,
    }


FLOOR = "array('d', values)"
PASSES: dict[str, tuple[str, str]] = {
    "floor": ("`array('d', values)` (**the goal's floor**)", FLOOR),
    "len count": (
        "pair lengths: `list(map(len, pairs)).count(2)` (kept)",
        "list(map(len, pairs)).count(2) == N",
    ),
    "len set": ("pair lengths: `set(map(len, pairs)) <= {2}` (before)", "set(map(len, pairs))"),
    "len countOf": (
        "pair lengths: `operator.countOf(map(len, pairs), 2)`",
        "operator.countOf(map(len, pairs), 2)",
    ),
    "unzip": (
        "unzip: `list(map(itemgetter(0), pairs))` and `(1)` (kept)",
        "list(map(I0, pairs)), list(map(I1, pairs))",
    ),
    "arrays": (
        "two columns: `array('d', ...)` of each list (kept)",
        "array('d', times), array('d', values)",
    ),
    "reduce": (
        "alternative: `reduce(iconcat, pairs, [])`, `array('d', flat)`, `[0::2]`, `[1::2]`",
        "c = array('d', reduce(operator.iconcat, pairs, [])); c[0::2], c[1::2]",
    ),
    "chain list": (
        "alternative: `list(chain.from_iterable(pairs))`, `array('d', ...)`, two slices",
        "c = array('d', list(itertools.chain.from_iterable(pairs))); c[0::2], c[1::2]",
    ),
    "chain array": (
        "alternative: `array('d', chain.from_iterable(pairs))`, two slices",
        "c = array('d', itertools.chain.from_iterable(pairs)); c[0::2], c[1::2]",
    ),
    "marshal": (
        "alternative: `marshal.dumps(pairs, 2)` alone (exact 2-tuples of floats, 23 bytes each)",
        "marshal.dumps(pairs, 2)",
    ),
    "marshal columns": (
        "alternative: the two columns through `marshal` (lengths, exact floats checked)",
        "marshal_columns(pairs)",
    ),
    "order array": (
        "order: `all(map(lt, t, islice(t, 1, None)))` on the doubles (kept)",
        "all(map(operator.lt, t, itertools.islice(t, 1, None)))",
    ),
    "order list": (
        "order on the list of floats (unsound for `Decimal`, large `int`, custom types)",
        "all(map(operator.lt, times, itertools.islice(times, 1, None)))",
    ),
    "sorted": ("`sorted(times) == times` (blind to two equal instants)", "sorted(times) == times"),
    "bool screen": (
        "bools: `v.tobytes()`, a search for 0.0 and 1.0 if their top bytes are there (kept)",
        "d = v.tobytes(); columns._maybe_bools(d, columns._top_bytes(d))",
    ),
    "bool types": (
        "bools: `bool in set(map(type, values))` (when 0.0 or 1.0 is there)",
        "bool in set(map(type, values))",
    ),
    "finite top": (
        "non-finite: the top bytes `d[7::8]`, two searches (kept)",
        "columns._surely_finite(columns._top_bytes(d))",
    ),
    "finite sum": ("non-finite: `math.isfinite(sum(v))` (before)", "math.isfinite(sum(v))"),
    "from_pairs": ("**`_columns.from_pairs(pairs)`**, all of it", "columns.from_pairs(pairs)"),
    "from_columns": (
        "**`_columns.from_columns(times, values)`**, all of it",
        "columns.from_columns(times, values)",
    ),
}


def main() -> None:
    """Time every pass and print a Markdown table of the best times and ratios."""
    namespace = _data()
    namespace["d"] = namespace["v"].tobytes()  # type: ignore[attr-defined]
    best: dict[str, float] = dict.fromkeys(PASSES, math.inf)
    for _ in range(ROUNDS):
        for name, (_label, code) in PASSES.items():
            runs = timeit.repeat(
                code, globals=namespace, number=1, repeat=REPEAT, timer=time.process_time
            )
            best[name] = min(best[name], *runs)
    floor = best["floor"]
    out = sys.stdout
    out.write("| Pass at 1,000,000 points | Best (CPU) | Ratio to `array('d', values)` |\n")
    out.write("|---|---|---|\n")
    for name, (label, _code) in PASSES.items():
        out.write(f"| {label} | {best[name] * 1e3:.1f} ms | {best[name] / floor:.2f}x |\n")


if __name__ == "__main__":
    main()
