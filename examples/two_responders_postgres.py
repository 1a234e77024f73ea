"""Two responders in two processes work one incident kept in PostgreSQL.

The incident commander and the operations lead each resume the same incident
from a :class:`~incidentkit.stores.postgres.PostgresStore`, in their own
process, as they would on two machines. Both look at the same head; the
commander writes first; the lead's step then loses the race: it raises
``ConcurrentAppendError`` naming what the commander wrote, nothing of the
lead's is written, and one ``refresh()`` catches the lead up so that the
step can be retried. Meanwhile this process watches the incident
(``watch_incident``, woken by PostgreSQL's ``LISTEN``/``NOTIFY``) and prints
each event as it lands. At the end the chain is verified in the database.

The database: if ``PGHOST`` or ``PGDATABASE`` is set, the standard ``PG*``
variables say where it is (the role needs to create the ``incidentkit``
schema once, or to have been granted access to it). Otherwise the script
starts a throwaway server with :class:`~incidentkit.testing.LocalPostgres`
(Debian or Ubuntu: ``apt-get install postgresql``) and removes it at the
end. Needs the driver: ``pip install 'incidentkit[postgres]'``. Run it with
``python examples/two_responders_postgres.py``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import threading
import time
from typing import TYPE_CHECKING

from incidentkit import (
    ConcurrentAppendError,
    Detection,
    Incident,
    verify_store,
    watch_incident,
)
from incidentkit.testing import LocalPostgres

if TYPE_CHECKING:
    from collections.abc import Iterator
    from multiprocessing.synchronize import Event

try:
    from incidentkit.stores.postgres import PostgresStore
except ImportError:  # the extra is not installed
    PostgresStore = None  # type: ignore[assignment,misc]

STEP = 30.0  # seconds any process waits for another before giving up


def commander(conninfo: str, incident_id: str, lead_resumed: Event, wrote: Event) -> None:
    """The incident commander: resume, wait until the lead has too, then write first."""
    assert PostgresStore is not None  # noqa: S101 - checked by main()
    with PostgresStore(conninfo) as store:
        phase = Incident.resume(store, incident_id)
        print(f"[commander] resumed at record {phase.anchor.seq}, phase {phase.phase!r}")
        lead_resumed.wait(STEP)
        phase.note("rolling checkout back to v2.13.3", actor="dana")
        print("[commander] wrote: rolling checkout back to v2.13.3")
        wrote.set()


def lead(conninfo: str, incident_id: str, resumed: Event, commander_wrote: Event) -> None:
    """The operations lead: resume, then write after the commander, on a head now stale."""
    assert PostgresStore is not None  # noqa: S101 - checked by main()
    with PostgresStore(conninfo) as store:
        phase = Incident.resume(store, incident_id)
        print(f"[lead] resumed at record {phase.anchor.seq}, phase {phase.phase!r}")
        resumed.set()
        commander_wrote.wait(STEP)
        text = "paging the database team: connection pool at 100%"
        try:
            phase.note(text, actor="sam")
        except ConcurrentAppendError as exc:
            print(f"[lead] lost the race: {exc}")
            phase = phase.refresh()
            print(f"[lead] caught up to record {phase.anchor.seq}; retrying the note")
            phase.note(text, actor="sam")
        print(f"[lead] wrote: {text}")


@contextlib.contextmanager
def database() -> Iterator[str]:
    """Yield a connection string: the PG* variables' database, or a throwaway server's."""
    if os.environ.get("PGHOST") or os.environ.get("PGDATABASE"):
        yield ""  # libpq reads the PG* variables
        return
    with LocalPostgres() as server:
        print(f"started a throwaway PostgreSQL on {server.host}:{server.port}")
        yield server.url


def responders(conninfo: str, incident_id: str) -> int:
    """Run the commander and the lead in two processes; return how many failed."""
    spawn = multiprocessing.get_context("spawn")
    lead_resumed, commander_wrote = spawn.Event(), spawn.Event()
    processes = [
        spawn.Process(
            target=commander, args=(conninfo, incident_id, lead_resumed, commander_wrote)
        ),
        spawn.Process(target=lead, args=(conninfo, incident_id, lead_resumed, commander_wrote)),
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(4 * STEP)
    return sum(process.exitcode != 0 for process in processes)


def main() -> int:
    """Declare the incident, run the two responders, watch, verify; return the exit status."""
    if PostgresStore is None:
        print("this example needs psycopg: pip install 'incidentkit[postgres]'", file=sys.stderr)
        return 2
    if not (os.environ.get("PGHOST") or os.environ.get("PGDATABASE")) and (
        LocalPostgres.find_bindir() is None
    ):
        print(
            "this example needs PostgreSQL: apt-get install postgresql (or set PGHOST and "
            "the other PG* variables to use a server you have)",
            file=sys.stderr,
        )
        return 2
    incident_id = f"INC-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    with database() as conninfo, PostgresStore(conninfo) as store:
        print(f"store: {store.location}")
        declared = Incident.declare(
            title="Checkout returns 5xx",
            services=["checkout"],
            actor="alertmanager",
            detection=Detection.ALERT,
            store=store,
            incident_id=incident_id,
        )
        print(f"declared {incident_id} (record {declared.anchor.seq})")

        landed: list[int] = []
        stop = threading.Event()

        def watch() -> None:
            with PostgresStore(conninfo) as watched:
                for item in watch_incident(watched, incident_id, since=1, stop=stop):
                    event = item.event
                    print(f"[watcher] record {item.seq} landed: {event.TYPE} by {event.actor}")
                    landed.append(item.seq)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        failed = responders(conninfo, incident_id)
        deadline = time.monotonic() + STEP
        while len(landed) < 2 and time.monotonic() < deadline:  # noqa: PLR2004 - two notes
            time.sleep(0.05)
        stop.set()
        watcher.join(STEP)  # it looks at ``stop`` at least once a second

        final = Incident.resume(store, incident_id)
        report = verify_store(store, incident_id, anchor=final.anchor)
        notes = [(e.actor.name, e.text) for e in final.events if e.TYPE == "note_added"]
        print(f"the incident now holds {final.anchor.seq + 1} records; notes in order:")
        for name, text in notes:
            print(f"  {name}: {text}")
        print(f"verify_store: {'ok' if report.ok else report}; head {final.anchor}")
        if failed or not report.ok or len(notes) != 2:  # noqa: PLR2004 - two notes
            print("something went wrong: see above", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
