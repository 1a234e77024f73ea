"""The PostgreSQL store: appends, concurrent writers and resume, each against a bare-SQL floor.

The benchmark starts its own throwaway server (``incidentkit.testing.LocalPostgres``:
``initdb`` in a temporary directory, ``pg_ctl`` on 127.0.0.1, PostgreSQL's durability
settings untouched), the same way the tests do, and measures on it, side by side:

1. **Append.** Three writers, in interleaved rounds, the order rotating:
   ``phase.note(text, actor=...)`` on an incident in a ``PostgresStore`` (the protocol
   path); ``StoreJournal.append(body)`` with the bodies ``unstructure_event`` makes for
   those notes (the chain and the store's compare-and-append, no protocol); and the
   **baseline**, a bare single-row ``INSERT`` of ``json.dumps(body)`` into a table keyed
   like the store's, in its own transaction (autocommit), on its own connection to the
   same server. Goal: the protocol path at most **2x** the baseline.
2. **Concurrent writers.** The same number of notes written through the protocol by one
   process, then by eight processes at once on one incident (each note that loses a race
   is retried after ``refresh()``). Reported: total appends per second and the races
   lost; no goal.
3. **Resume.** A 100,000-event journal built as ``bench_resume`` builds it, copied into
   the store with ``copy_incident``; then, each in fresh interpreters (``_fresh``),
   interleaved, and warm: ``Incident.resume(store, id)``; ``store.read(id)`` (the rows'
   bytes alone); ``Incident.resume(path)`` of the same journal as a file, for reference;
   and the **baseline**, a bare ``SELECT line ... ORDER BY seq`` of the same rows with
   psycopg's default cursor, then ``json.loads`` of each. Connections are opened in the
   untimed setup. Goal: resume at most **3x** the baseline.

Run as ``python bench_postgres.py worker ...``, the module is one of the writer processes
of the second part.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pendulum
from _common import (
    Result,
    journal_dir,
    markdown_table,
    median,
    ratio_text,
    seconds_text,
    verdict,
)
from _fresh import best, best_warm, interleaved, megabytes

from incidentkit import (
    Actor,
    ConcurrentAppendError,
    Declared,
    Detection,
    Incident,
    Role,
    copy_incident,
)
from incidentkit._events import NoteAdded, unstructure_event
from incidentkit._stored import StoreJournal

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from incidentkit.stores.postgres import PostgresStore

N = 2_000  # appends per writer, part 1; notes in all, part 2
QUICK_N = 400
ROUNDS = 10
WARMUP = 20
WRITERS = 8
EVENTS = 100_000
QUICK_EVENTS = 10_000
RUNS = 5
QUICK_RUNS = 3
WARM = 3
QUICK_WARM = 2
APPEND_GOAL = 2.0
RESUME_GOAL = 3.0
_URL_VARIABLE = "INCIDENTKIT_BENCH_POSTGRES_URL"
_ACTOR = Actor("Dana", Role.INCIDENT_COMMANDER)
_BARE = (
    "CREATE TABLE IF NOT EXISTS bench_bare (incident_id text NOT NULL, seq bigint NOT NULL, "
    "line bytea NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now(), "
    "PRIMARY KEY (incident_id, seq))"
)


def _texts(count: int) -> list[str]:
    return [
        f"checkout 5xx ratio at {(i % 97) / 97:.1%} on the canary pool (check #{i})"
        for i in range(count)
    ]


def _declare(store: PostgresStore, incident_id: str) -> Declared:
    return Incident.declare(
        title="Checkout returns 5xx",
        services=["checkout", "payments-api"],
        actor=_ACTOR,
        detection=Detection.ALERT,
        store=store,
        incident_id=incident_id,
    )


# -- 1. append ------------------------------------------------------------------------------


def _append(url: str, quick: bool) -> dict[str, Any]:  # noqa: FBT001 - mirrors run()
    import psycopg  # noqa: PLC0415 - the bench's only psycopg use outside the store

    from incidentkit.stores.postgres import PostgresStore  # noqa: PLC0415

    n = QUICK_N if quick else N
    per_round = n // ROUNDS
    texts = _texts(WARMUP + n)
    now = pendulum.now("UTC")
    bodies = [unstructure_event(NoteAdded(now, _ACTOR, text)) for text in texts]
    protocol_store = PostgresStore(url)
    phase = _declare(protocol_store, "BENCH-protocol")
    journal_store = PostgresStore(url)
    journal = StoreJournal.create(journal_store, "BENCH-journal", bodies[0])
    conn = psycopg.connect(url, autocommit=True)
    conn.execute(_BARE)
    seq = [0]

    def protocol(start: int, stop: int) -> None:
        note = phase.note
        for text in texts[start:stop]:
            note(text, actor=_ACTOR)

    def store_journal(start: int, stop: int) -> None:
        append = journal.append
        for body in bodies[start:stop]:
            append(body)

    def baseline(start: int, stop: int) -> None:
        execute, dumps = conn.execute, json.dumps
        insert = "INSERT INTO bench_bare (incident_id, seq, line) VALUES (%s, %s, %s)"
        for body in bodies[start:stop]:
            seq[0] += 1
            execute(insert, ("BENCH-bare", seq[0], (dumps(body) + "\n").encode()))

    writers: dict[str, Callable[[int, int], None]] = {
        "protocol": protocol,
        "journal": store_journal,
        "baseline": baseline,
    }
    totals = dict.fromkeys(writers, 0.0)
    try:
        for write in writers.values():
            write(0, WARMUP)
        names = list(writers)
        for index in range(ROUNDS):
            start = WARMUP + index * per_round
            shift = index % len(names)
            for name in names[shift:] + names[:shift]:
                began = time.perf_counter()
                writers[name](start, start + per_round)
                totals[name] += time.perf_counter() - began
    finally:
        conn.close()
        protocol_store.close()
        journal_store.close()
    count = per_round * ROUNDS
    return {"count": count, "seconds": totals}


# -- 2. concurrent writers ------------------------------------------------------------------


def _worker(url: str, incident_id: str, writer: int, count: int) -> None:
    """One writer process: resume, wait for the start, add ``count`` notes, report."""
    from incidentkit.stores.postgres import PostgresStore  # noqa: PLC0415

    store = PostgresStore(url)
    phase = Incident.resume(store, incident_id)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.readline()
    lost = 0
    for n in range(count):
        while True:
            try:
                phase.note(f"writer {writer} note {n}", actor=f"writer-{writer}")
                break
            except ConcurrentAppendError:
                lost += 1
                phase = phase.refresh()
    sys.stdout.write(json.dumps({"lost": lost}) + "\n")
    sys.stdout.flush()
    store.close()


def _concurrent(url: str, writers: int, total: int) -> dict[str, float]:
    from incidentkit.stores.postgres import PostgresStore  # noqa: PLC0415

    incident_id = f"BENCH-writers-{writers}"
    with PostgresStore(url) as store:
        _declare(store, incident_id)
    env = {**os.environ, _URL_VARIABLE: url}
    children = [
        subprocess.Popen(
            [sys.executable, __file__, "worker", incident_id, str(w), str(total // writers)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for w in range(writers)
    ]
    try:
        for child in children:
            assert child.stdout is not None  # noqa: S101 - piped above
            if child.stdout.readline().strip() != "ready":
                msg = "a writer process did not start"
                raise RuntimeError(msg)
        began = time.perf_counter()
        for child in children:
            assert child.stdin is not None  # noqa: S101 - piped above
            child.stdin.write("go\n")
            child.stdin.flush()
        lost = 0
        for child in children:
            out, _ = child.communicate(timeout=600)
            if child.returncode != 0:
                msg = f"a writer process failed (exit {child.returncode})"
                raise RuntimeError(msg)
            lost += int(json.loads(out.strip().splitlines()[-1])["lost"])
        seconds = time.perf_counter() - began
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    with PostgresStore(url) as store:
        records = store.head(incident_id).seq
    if records != (total // writers) * writers:
        msg = f"{writers} writers left {records} notes, not {(total // writers) * writers}"
        raise RuntimeError(msg)
    return {"seconds": seconds, "notes": float(records), "lost": float(lost)}


# -- 3. resume ------------------------------------------------------------------------------

_SETUP_STORE = """
import os
from incidentkit import Incident
from incidentkit.stores.postgres import PostgresStore
store = PostgresStore(os.environ[{variable!r}])
store.incidents()  # connected, schema checked: not timed
ID = {incident!r}
kept = []
"""
_SETUP_BARE = """
import json, os
import psycopg
conn = psycopg.connect(os.environ[{variable!r}], autocommit=True)
conn.execute("SELECT 1")
ID = {incident!r}
kept = []
"""
_SETUP_FILE = """
from incidentkit import Incident
PATH = {path!r}
kept = []
"""
_CASES = {
    "resume": (
        "`Incident.resume(store, id)` from PostgreSQL",
        _SETUP_STORE,
        "kept.append(Incident.resume(store, ID))",
    ),
    "read": (
        "`store.read(id)`: the rows' bytes alone",
        _SETUP_STORE,
        "kept.append(store.read(ID))",
    ),
    "bare": (
        "**baseline**: bare `SELECT line ... ORDER BY seq` + `json.loads` of each",
        _SETUP_BARE,
        (
            "rows = conn.execute('SELECT line FROM incidentkit.records WHERE incident_id = %s "
            "ORDER BY seq', (ID,)).fetchall()\nkept.append([json.loads(row[0]) for row in rows])"
        ),
    ),
    "file": (
        "`Incident.resume(path)` of the same journal as a file (reference)",
        _SETUP_FILE,
        "kept.append(Incident.resume(PATH))",
    ),
}


def _resume(url: str, directory: Path, quick: bool) -> dict[str, Any]:  # noqa: FBT001
    import bench_resume  # noqa: PLC0415 - its journal builder, loaded only when resuming

    from incidentkit.stores.postgres import PostgresStore  # noqa: PLC0415

    events = QUICK_EVENTS if quick else EVENTS
    path = directory / "incident.jsonl"
    build = bench_resume.build_journal(path, events)
    incident_id = Incident.resume(path).incident_id
    began = time.perf_counter()
    with PostgresStore(url) as store:
        head = copy_incident(path, store, incident_id)
    copied = time.perf_counter() - began
    if head.seq + 1 != events:
        msg = f"the copy holds {head.seq + 1} records, not {events}"
        raise RuntimeError(msg)
    cases = {
        name: (setup.format(variable=_URL_VARIABLE, incident=incident_id, path=str(path)), timed)
        for name, (_label, setup, timed) in _CASES.items()
    }
    os.environ[_URL_VARIABLE] = url
    try:
        measured = interleaved(
            cases, runs=QUICK_RUNS if quick else RUNS, warm=QUICK_WARM if quick else WARM
        )
    finally:
        del os.environ[_URL_VARIABLE]
    return {
        "events": events,
        "size": path.stat().st_size,
        "build": build,
        "copy": copied,
        "best": {name: best(runs) for name, runs in measured.items()},
        "median": {name: median([r.seconds for r in runs]) for name, runs in measured.items()},
        "warm": {name: best_warm(runs) for name, runs in measured.items()},
        "peak": {
            name: sorted(r.peak_rss for r in runs)[len(runs) // 2]
            for name, runs in measured.items()
        },
    }


# -- the result -----------------------------------------------------------------------------


def _rate(count: float, seconds: float) -> str:
    return f"{count / seconds:,.0f}"


def run(*, quick: bool = False) -> Result:
    """Start a server, measure the three parts, return the result."""
    from incidentkit.testing import LocalPostgres  # noqa: PLC0415

    bindir = LocalPostgres.find_bindir()
    if bindir is None:
        return Result(
            name="postgres",
            title="PostgreSQL store",
            setup=["Not run: PostgreSQL's server is not installed (`apt-get install postgresql`)."],
            headers=["", ""],
            rows=[],
            missed=["the PostgreSQL benchmark did not run: no PostgreSQL server installed"],
        )
    with LocalPostgres() as server, journal_dir() as (directory, where):
        version = subprocess.run(
            [str(bindir / "postgres"), "--version"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        append = _append(server.url, quick)
        total = QUICK_N if quick else N
        one = _concurrent(server.url, 1, total)
        many = _concurrent(server.url, WRITERS, total)
        resume = _resume(server.url, directory, quick)
    # The same appends with the WAL flush taken away (fsync off on a second server: not
    # durable, for this comparison only), so that what the store adds beyond the flush shows.
    with LocalPostgres(settings={"fsync": "off"}) as unflushed:
        no_flush = _append(unflushed.url, quick)

    count, seconds = append["count"], append["seconds"]
    ratio = {name: seconds[name] / seconds["baseline"] for name in seconds}
    append_sentence, append_miss = verdict(
        "`phase.note` on a PostgreSQL store", ratio["protocol"], APPEND_GOAL
    )
    labels = {
        "protocol": "`phase.note(text, actor=...)` on a `PostgresStore` (protocol path)",
        "journal": "`StoreJournal.append(body)` (chain + compare-and-append, no protocol)",
        "baseline": "**baseline**: bare `INSERT` of `json.dumps(body)`, own transaction",
    }
    rows = [
        [
            labels[name],
            _rate(count, seconds[name]),
            seconds_text(seconds[name] / count),
            ratio_text(ratio[name]),
            f"≤ {APPEND_GOAL:g}x"
            if name == "protocol"
            else ("baseline" if name == "baseline" else "none"),
            ("yes" if not append_miss else "**no**") if name == "protocol" else "n/a",
        ]
        for name in ("protocol", "journal", "baseline")
    ]

    no_flush_seconds = no_flush["seconds"]
    no_flush_ratio = {
        name: no_flush_seconds[name] / no_flush_seconds["baseline"] for name in seconds
    }
    no_flush_table = markdown_table(
        ["Writer", "Appends/s", "Time per append", "Ratio (vs baseline)"],
        [
            [
                labels[name],
                _rate(no_flush["count"], no_flush_seconds[name]),
                seconds_text(no_flush_seconds[name] / no_flush["count"]),
                ratio_text(no_flush_ratio[name]),
            ]
            for name in ("protocol", "journal", "baseline")
        ],
    )

    concurrency = markdown_table(
        [
            "Writers",
            "Notes",
            "Seconds",
            "Appends/s",
            "Races lost (retried after refresh)",
            "vs 1 writer",
        ],
        [
            [
                "1 process",
                f"{one['notes']:,.0f}",
                f"{one['seconds']:.2f}",
                _rate(one["notes"], one["seconds"]),
                f"{one['lost']:,.0f}",
                "1.00x",
            ],
            [
                f"{WRITERS} processes, one incident",
                f"{many['notes']:,.0f}",
                f"{many['seconds']:.2f}",
                _rate(many["notes"], many["seconds"]),
                f"{many['lost']:,.0f}",
                ratio_text((many["notes"] / many["seconds"]) / (one["notes"] / one["seconds"])),
            ],
        ],
    )

    best, middle, warm = resume["best"], resume["median"], resume["warm"]
    resume_ratios = {
        which: {name: figures[name] / figures["bare"] for name in figures}
        for which, figures in (("best", best), ("median", middle), ("warm", warm))
    }
    resume_sentences: list[str] = []
    resume_missed: list[str] = []
    for which in ("best", "median"):
        sentence, miss = verdict(
            f"`Incident.resume` from PostgreSQL (fresh process, {which} run)",
            resume_ratios[which]["resume"],
            RESUME_GOAL,
        )
        resume_sentences.append(sentence)
        if miss:
            resume_missed.append(miss)
    resume_table = markdown_table(
        [
            "Reader",
            "Fresh best",
            "Fresh median",
            "Ratio best / median",
            "Warm best",
            "Warm ratio",
            "Peak RSS",
            "Goal",
            "Met",
        ],
        [
            [
                _CASES[name][0],
                seconds_text(best[name]),
                seconds_text(middle[name]),
                ratio_text(resume_ratios["best"][name])
                + " / "
                + ratio_text(resume_ratios["median"][name]),
                seconds_text(warm[name]),
                ratio_text(resume_ratios["warm"][name]),
                megabytes(resume["peak"][name]),
                f"≤ {RESUME_GOAL:g}x"
                if name == "resume"
                else ("baseline" if name == "bare" else "none"),
                ("yes" if not resume_missed else "**no**") if name == "resume" else "n/a",
            ]
            for name in ("resume", "read", "bare", "file")
        ],
    )
    resume_text = "\n".join(
        [
            (
                f"{resume['events']:,} events, {megabytes(resume['size'])} as a file; built "
                f"(fsynced) in {resume['build']:.1f} s, copied into PostgreSQL with "
                f"`copy_incident` (one `COPY`, every row checked by the trigger) in "
                f"{resume['copy']:.1f} s. Journal file in {where}. "
                f"{QUICK_RUNS if quick else RUNS} fresh interpreters per reader, interleaved, "
                f"connections opened untimed; warm: {QUICK_WARM if quick else WARM} more reads "
                "in each, best of all. Ratios against the bare SELECT + `json.loads` baseline."
            ),
            "",
            resume_table,
            "",
            *[f"{sentence}\n" for sentence in resume_sentences],
        ]
    )
    return Result(
        name="postgres",
        title="PostgreSQL store: append, concurrent writers, resume",
        setup=[
            (
                f"A throwaway server started by the benchmark (`LocalPostgres`): {version}, on "
                "127.0.0.1 over TCP with SCRAM, `fsync` and `synchronous_commit` on (every commit "
                "waits for its WAL flush, as the store's durability needs)."
            ),
            (
                f"Append: {count:,} appends per writer (after {WARMUP} untimed warm-up ones), "
                f"in {ROUNDS} interleaved rounds, the order rotating; each writer on its own "
                "connection, one row per append."
            ),
            "Ratio: time per append divided by the baseline's.",
        ],
        headers=["Writer", "Appends/s", "Time per append", "Ratio (vs baseline)", "Goal", "Met"],
        rows=rows,
        verdicts=[append_sentence],
        missed=[m for m in (append_miss, *resume_missed) if m],
        sections=[
            (
                "Append with the WAL flush taken away (not durable: for comparison only)",
                (
                    "The same three writers on a second server started with `fsync = off`, so "
                    "that a commit does not wait for the disk: what is left is the round trip "
                    "and the work on both sides, where the store's append pays its "
                    "compare-and-append, the line's CHECK (a SHA-256), the link trigger and the "
                    "NOTIFY, and the protocol its step. No goal: the goal above is judged on "
                    "the durable server, which is how the store runs.\n\n" + no_flush_table
                ),
            ),
            (
                "Concurrent writers on one incident",
                (
                    f"{total:,} notes through the protocol by one process, then by {WRITERS} "
                    "processes at once on one incident (each note that loses a race is retried "
                    "after `refresh()`); every note checked to have landed once. "
                    f"This machine has {os.cpu_count()} logical CPUs for the {WRITERS} writers "
                    "and the server. No goal.\n\n" + concurrency
                ),
            ),
            ("Resume from PostgreSQL", resume_text),
        ],
        data={
            "append": append,
            "append_without_flush": no_flush,
            "one": one,
            "many": many,
            "resume": resume,
        },
    )


def main(argv: Sequence[str]) -> int:
    """``worker INCIDENT WRITER COUNT``: one writer process of the concurrent part."""
    if len(argv) == 5 and argv[1] == "worker":
        _worker(os.environ[_URL_VARIABLE], argv[2], int(argv[3]), int(argv[4]))
        return 0
    sys.stderr.write("usage: bench_postgres.py worker INCIDENT WRITER COUNT (run by run.py)\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
