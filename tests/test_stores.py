"""The journal stores: one conformance suite over every store, and what each adds.

``STORES`` maps a name to a fixture giving a factory of store objects on one
storage; the PostgreSQL store joins it in ``test_postgres_store.py``'s
fixtures when a server can be started.
"""

from __future__ import annotations

import pathlib
import threading
import time

import pytest

import incidentkit as ik
from incidentkit._chain import GENESIS_DIGEST, encode_body, encode_record
from incidentkit.memory import InMemoryJournalStore
from incidentkit.protocols import JournalStore
from incidentkit.stores import FileStore
from incidentkit.testing import ConformanceError, check_journal_store


def _declare(store: JournalStore, incident_id: str, title: str = "Checkout 5xx") -> ik.Declared:
    return ik.Incident.declare(
        title=title,
        services=["checkout"],
        actor="alice",
        detection=ik.Detection.ALERT,
        store=store,
        incident_id=incident_id,
    )


def test_the_in_memory_store_passes_the_store_suite() -> None:
    """The in-memory store (the generic path, no file underneath) passes the same suite."""
    shared = InMemoryJournalStore("kit")
    check_journal_store(lambda: shared, writers=4, appends=40).raise_for_failures()


def test_an_incident_in_memory_runs_through_the_generic_journal() -> None:
    """Declare, race, refresh and resume through a store that is not a file."""
    store = InMemoryJournalStore()
    commander = _declare(store, "INC-1")
    lead = ik.Incident.resume(store, "INC-1")
    commander.note("first", actor="alice")
    with pytest.raises(ik.ConcurrentAppendError, match=r"memory:memory \[incident INC-1\]"):
        lead.note("second", actor="bob")
    lead.refresh().note("second", actor="bob")
    assert ik.Incident.resume(store, "INC-1").anchor.seq == 2
    assert ik.verify_store(store, "INC-1").ok


def test_the_file_store_passes_the_store_suite(tmp_path: pathlib.Path) -> None:
    """The file store passes the conformance suite every store passes."""
    report = check_journal_store(lambda: FileStore(tmp_path / "store"), writers=4, appends=40)
    report.raise_for_failures()
    assert report.names == (
        "protocol",
        "create",
        "read",
        "append",
        "instances",
        "concurrent",
        "wait",
        "incident",
        "secrets",
    )


class _ForgetfulStore:
    """A store whose append does not compare heads: the suite must catch it."""

    def __init__(self, inner: FileStore) -> None:
        self._inner = inner
        self.location = inner.location

    def create(self, incident_id, records):
        return self._inner.create(incident_id, records)

    def read(self, incident_id, first=0):
        return self._inner.read(incident_id, first)

    def head(self, incident_id):
        return self._inner.head(incident_id)

    def append(self, incident_id, record):
        path = self._inner.path(incident_id)
        with path.open("ab") as file:  # no lock, no compare: forks the chain
            file.write(record.line)

    def incidents(self):
        return self._inner.incidents()

    def wait(self, incident_id, count, timeout):
        return self._inner.wait(incident_id, count, timeout)


def test_the_store_suite_fails_a_store_that_does_not_compare_heads(tmp_path: pathlib.Path) -> None:
    """A store whose append does not compare heads fails the suite: the suite can fail."""
    report = check_journal_store(lambda: _ForgetfulStore(FileStore(tmp_path / "s")), appends=5)
    assert not report.passed
    assert {"append", "instances", "concurrent"} <= {check.name for check in report.failures}
    with pytest.raises(ConformanceError):
        report.raise_for_failures()


def test_a_store_incident_can_be_resumed_from_its_file_and_the_other_way(
    tmp_path: pathlib.Path,
) -> None:
    """An incident in a FileStore is a plain journal file: resumable by path and by store."""
    store = FileStore(tmp_path / "incidents")
    declared = _declare(store, "INC-7")
    by_path = ik.Incident.resume(store.path("INC-7"))
    by_path.note("written through the path", actor="bob")
    resumed = ik.Incident.resume(store, "INC-7")
    assert resumed.anchor == by_path.anchor
    assert [e.TYPE for e in resumed.events] == ["incident_declared", "note_added"]
    assert declared.journal_path == str(store.path("INC-7"))


def test_declare_takes_a_path_or_a_store_but_not_both(tmp_path: pathlib.Path) -> None:
    """declare() wants exactly one of a path and a store, and a safe id in a store."""
    store = FileStore(tmp_path / "s")
    kwargs = {"title": "t", "services": ["a"], "actor": "x", "detection": ik.Detection.ALERT}
    with pytest.raises(ik.InvalidInputError, match="only one"):
        ik.Incident.declare(**kwargs, journal=tmp_path / "j.jsonl", store=store)
    with pytest.raises(ik.InvalidInputError, match="only one"):
        ik.Incident.declare(**kwargs)
    with pytest.raises(ik.InvalidInputError, match="cannot be an incident id"):
        ik.Incident.declare(**kwargs, store=store, incident_id="../../etc/passwd")
    assert list(store.directory.iterdir()) == []


def test_resume_from_a_store_needs_the_incident_id(tmp_path: pathlib.Path) -> None:
    """resume() from a store needs an id it holds; from a file, a given id must match."""
    store = FileStore(tmp_path / "s")
    _declare(store, "INC-1")
    with pytest.raises(ik.InvalidInputError, match="pass incident_id"):
        ik.Incident.resume(store)
    with pytest.raises(ik.JournalError, match="holds no incident 'INC-2'"):
        ik.Incident.resume(store, "INC-2")
    with pytest.raises(ik.InvalidInputError, match="holds the incident 'INC-1', not 'INC-9'"):
        ik.Incident.resume(store.path("INC-1"), "INC-9")


def test_declaring_an_incident_twice_in_a_store_is_refused(tmp_path: pathlib.Path) -> None:
    """A second declaration under the same id is refused and changes nothing."""
    store = FileStore(tmp_path / "s")
    _declare(store, "INC-1")
    with pytest.raises(ik.JournalExistsError):
        _declare(store, "INC-1", title="again")
    assert ik.Incident.resume(store, "INC-1").title == "Checkout 5xx"


def test_a_loser_catches_up_with_refresh_and_retries(tmp_path: pathlib.Path) -> None:
    """The loser of a race learns who wrote what, refreshes and retries in one line."""
    store = FileStore(tmp_path / "s")
    commander = _declare(store, "INC-1")
    lead = ik.Incident.resume(FileStore(tmp_path / "s"), "INC-1")
    commander.note("rolling back checkout", actor="alice")
    with pytest.raises(ik.ConcurrentAppendError, match="record 1 by alice: note: rolling back"):
        lead.note("paging the DB team", actor="bob")
    lead = lead.refresh()
    lead.note("paging the DB team", actor="bob")
    notes = [e.text for e in ik.Incident.resume(store, "INC-1").events if e.TYPE == "note_added"]
    assert notes == ["rolling back checkout", "paging the DB team"]


def test_list_incidents_filters_and_shows_broken_journals(tmp_path: pathlib.Path) -> None:
    """list_incidents() filters by status, service and time, and never hides a broken journal."""
    store = FileStore(tmp_path / "s")
    clock = ik.ManualClock(ik.SystemClock().now().subtract(hours=2))
    ik.Incident.declare(
        title="old",
        services=["search"],
        actor="a",
        detection=ik.Detection.ALERT,
        store=store,
        incident_id="INC-old",
        clock=clock,
    )
    cut = clock.now().add(minutes=30)
    checkout = _declare(store, "INC-new")
    checkout.note("n", actor="a")
    (store.directory / "INC-broken.jsonl").write_bytes(b'{"v":1,"digest":"nope"}\n')
    listed = ik.list_incidents(store)
    assert [s.incident_id for s in listed] == ["INC-new", "INC-old", "INC-broken"]
    assert listed[0].records == 2
    assert listed[0].phase == "declared"
    assert not listed[0].resolved
    assert listed[2].problem is not None
    assert listed[2].phase is None
    assert [s.incident_id for s in ik.list_incidents(store, service="search")] == [
        "INC-old",
        "INC-broken",
    ]
    after = ik.list_incidents(store, declared_after=cut)
    assert [s.incident_id for s in after] == ["INC-new", "INC-broken"]
    assert [s.incident_id for s in ik.list_incidents(store, status="resolved")] == ["INC-broken"]


def test_watch_yields_the_events_so_far_then_each_new_one(tmp_path: pathlib.Path) -> None:
    """watch_incident() yields the events so far, then each new one, until stopped."""
    store = FileStore(tmp_path / "s")
    declared = _declare(store, "INC-1")
    seen: list[tuple[int, str]] = []
    stop = threading.Event()

    def watch() -> None:
        seen.extend(
            (item.seq, item.event.TYPE) for item in ik.watch_incident(store, "INC-1", stop=stop)
        )

    watcher = threading.Thread(target=watch)
    watcher.start()
    declared.note("one", actor="a")
    deadline = time.monotonic() + 5
    while len(seen) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    watcher.join(timeout=5)
    assert not watcher.is_alive()
    assert seen == [(0, "incident_declared"), (1, "note_added")]
    later = list(ik.watch_incident(store.path("INC-1"), since=1, idle_timeout=0.2))
    assert [(item.seq, item.event.TYPE) for item in later] == [(1, "note_added")]


def test_watch_stops_at_a_record_that_does_not_verify(tmp_path: pathlib.Path) -> None:
    """A watcher raises on an edited record rather than skipping it."""
    store = FileStore(tmp_path / "s")
    _declare(store, "INC-1").note("one", actor="a")
    path = store.path("INC-1")
    path.write_bytes(path.read_bytes().replace(b'"one"', b'"two"'))
    with pytest.raises(ik.JournalCorruptedError):
        list(ik.watch_incident(store, "INC-1", idle_timeout=0.1))


def test_copy_between_stores_keeps_the_chain(tmp_path: pathlib.Path) -> None:
    """Copying between stores and files keeps the bytes and the head."""
    first = FileStore(tmp_path / "a")
    phase = _declare(first, "INC-1")
    phase.note("n", actor="a")
    second = FileStore(tmp_path / "b")
    head = ik.copy_incident(first, second, "INC-1")
    assert head == phase.anchor
    assert ik.verify_store(second, "INC-1", anchor=head).covered
    assert second.read("INC-1") == first.read("INC-1")
    back = tmp_path / "back.jsonl"
    assert ik.copy_incident(second, back, "INC-1") == head
    assert back.read_bytes() == store_bytes(first, "INC-1")
    with pytest.raises(ik.JournalExistsError):
        ik.copy_incident(back, second)


def store_bytes(store: FileStore, incident_id: str) -> bytes:
    """Return the bytes of an incident's file."""
    return store.path(incident_id).read_bytes()


def test_copy_refuses_a_source_that_does_not_verify(tmp_path: pathlib.Path) -> None:
    """A source that does not verify is not copied, and nothing is created."""
    first = FileStore(tmp_path / "a")
    _declare(first, "INC-1").note("n", actor="a")
    path = first.path("INC-1")
    path.write_bytes(path.read_bytes().replace(b'"n"', b'"m"'))
    second = FileStore(tmp_path / "b")
    with pytest.raises(ik.JournalCorruptedError):
        ik.copy_incident(path, second)
    assert second.incidents() == []


def test_verify_store_finds_an_edit_and_an_anchor_it_does_not_reach(tmp_path: pathlib.Path) -> None:
    """verify_store() reports a truncation below an anchor kept elsewhere."""
    store = FileStore(tmp_path / "s")
    phase = _declare(store, "INC-1")
    phase.note("first", actor="a")
    anchor = phase.anchor
    assert ik.verify_store(store, "INC-1", anchor=anchor).covered
    path = store.path("INC-1")
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0])
    report = ik.verify_store(FileStore(tmp_path / "s"), "INC-1", anchor=anchor)
    assert not report.ok
    assert any(problem.kind == "truncated" for problem in report.problems)


def test_a_store_refuses_a_record_that_is_not_what_it_claims(tmp_path: pathlib.Path) -> None:
    """A store never appends a line that does not hash to the digest it claims."""
    store = FileStore(tmp_path / "s")
    first = encode_record(0, GENESIS_DIGEST, encode_body({"n": 0}))
    store.create("INC-1", [first])
    second = encode_record(1, first.digest, encode_body({"n": 1}))
    forged = ik.EncodedRecord(1, first.digest, second.digest, second.line.replace(b"1}", b"2}"))
    with pytest.raises(ik.InvalidInputError, match="not record 1"):
        store.append("INC-1", forged)
    assert store.read("INC-1") == first.line
