"""The conformance suite of a journal store: the checks every store passes, file or database."""

from __future__ import annotations

import os
import tempfile
import threading
import time
import traceback
from typing import TYPE_CHECKING, Any, cast

from incidentkit._chain import GENESIS_DIGEST, EncodedRecord, encode_body, encode_record
from incidentkit._errors import (
    ConcurrentAppendError,
    InvalidInputError,
    JournalError,
    JournalExistsError,
)
from incidentkit._stored import StoreJournal
from incidentkit.protocols import JournalStore
from incidentkit.stores import FileStore
from incidentkit.testing._conformance._common import (
    checked_secrets,
    failed,
    passed,
    quote,
    shown,
)
from incidentkit.testing._results import Check, ConformanceReport

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["check_journal_store"]

_WAIT = 2.0  # seconds a wake-up may take
_NAP = 0.2  # seconds a wait times out after, and another writer waits before appending


def _chain(
    bodies: Sequence[dict[str, Any]], first: int = 0, prev: str = GENESIS_DIGEST
) -> list[EncodedRecord]:
    records: list[EncodedRecord] = []
    for offset, body in enumerate(bodies):
        record = encode_record(first + offset, prev, encode_body(body))
        records.append(record)
        prev = record.digest
    return records


def _new_id(name: str) -> str:
    return f"kit-{name}-{os.urandom(6).hex()}"


def _joined(records: Sequence[EncodedRecord]) -> bytes:
    return b"".join(record.line for record in records)


class _Failures(list[str]):
    def expect(self, condition: bool, problem: str) -> None:  # noqa: FBT001 - reads as an assertion
        if not condition:
            self.append(problem)


def _raises(
    problems: _Failures, call: Callable[[], object], kind: type[BaseException], what: str
) -> BaseException | None:
    try:
        call()
    except kind as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - reported as the failure it is
        problems.append(f"{what} raised {quote(exc)}, not {kind.__name__}")
        return None
    problems.append(f"{what} did not raise {kind.__name__}")
    return None


def _protocol(make: Callable[[], JournalStore]) -> list[str]:
    problems = _Failures()
    store = cast("object", make())
    problems.expect(isinstance(store, JournalStore), "it does not have the JournalStore shape")
    if not isinstance(store, JournalStore):
        return problems
    location = cast("object", store.location)
    problems.expect(isinstance(location, str), "location is not a str")
    return problems


def _create(make: Callable[[], JournalStore]) -> list[str]:
    problems = _Failures()
    store = make()
    incident = _new_id("create")
    records = _chain([{"n": 0}, {"n": 1}, {"n": 2}])
    store.create(incident, records)
    problems.expect(store.read(incident) == _joined(records), "read() after create() differs")
    problems.expect(store.head(incident) == records[-1].anchor, "head() is not the last record")
    problems.expect(incident in store.incidents(), "incidents() does not list it")
    other = _chain([{"n": "other"}])
    _raises(
        problems, lambda: store.create(incident, other), JournalExistsError, "creating it again"
    )
    problems.expect(store.read(incident) == _joined(records), "a second create() changed it")
    broken = _new_id("broken")
    bad = [records[0], _chain([{"n": 1}], 1, "f" * 64)[0]]
    _raises(problems, lambda: store.create(broken, bad), InvalidInputError, "a broken chain")
    _raises(problems, lambda: store.create(_new_id("empty"), []), InvalidInputError, "no records")
    problems.expect(broken not in store.incidents(), "a refused create() left an incident")
    return problems


def _read(make: Callable[[], JournalStore]) -> list[str]:
    problems = _Failures()
    store = make()
    incident = _new_id("read")
    records = _chain([{"n": n} for n in range(5)])
    store.create(incident, records)
    for first in (1, 4, 5, 9):
        got = store.read(incident, first)
        problems.expect(got == _joined(records[first:]), f"read(first={first}) is not the tail")
    _raises(problems, lambda: store.read(_new_id("missing")), JournalError, "reading no incident")
    _raises(problems, lambda: store.head(_new_id("missing")), JournalError, "head of no incident")
    return problems


def _append(make: Callable[[], JournalStore]) -> list[str]:
    problems = _Failures()
    store = make()
    incident = _new_id("append")
    records = _chain([{"n": 0}, {"n": 1}])
    store.create(incident, records[:1])
    store.append(incident, records[1])
    problems.expect(store.head(incident) == records[1].anchor, "head() after append()")
    stale = _chain([{"n": "late"}], 1, records[0].digest)[0]
    _raises(
        problems, lambda: store.append(incident, stale), ConcurrentAppendError, "a stale append"
    )
    ahead = _chain([{"n": "ahead"}], 3, records[1].digest)[0]
    _raises(problems, lambda: store.append(incident, ahead), ConcurrentAppendError, "a gap")
    forged = EncodedRecord(2, records[1].digest, "0" * 64, records[1].line)
    _raises(problems, lambda: store.append(incident, forged), InvalidInputError, "a forged line")
    problems.expect(store.read(incident) == _joined(records), "a refused append() wrote")
    missing = _new_id("missing")
    _raises(problems, lambda: store.append(missing, stale), JournalError, "appending to none")
    return problems


def _instances(make: Callable[[], JournalStore]) -> list[str]:
    problems = _Failures()
    first, second = make(), make()
    incident = _new_id("shared")
    mine = StoreJournal.create(first, incident, {"n": 0})
    theirs = StoreJournal.open(second, incident)
    theirs.append({"n": "theirs"})
    exc = _raises(
        problems,
        lambda: mine.append({"n": "mine"}, expect_head=mine.head),
        ConcurrentAppendError,
        "appending on a head another store object moved",
    )
    caught_up = len(mine) == 1 + 1
    problems.expect(exc is None or caught_up, "the loser did not read the winner's record")
    mine.append({"n": "mine"})
    problems.expect(len(theirs.refresh()) == 1, "the other object did not read the new record")
    problems.expect(first.read(incident) == second.read(incident), "two objects read apart")
    return problems


def _concurrent(make: Callable[[], JournalStore], writers: int, appends: int) -> list[str]:
    problems = _Failures()
    incident = _new_id("race")
    StoreJournal.create(make(), incident, {"writer": -1, "n": -1})
    errors: list[str] = []
    lost_races = [0] * writers
    barrier = threading.Barrier(writers)

    def write(writer: int) -> None:
        try:
            journal = StoreJournal.open(make(), incident)
            barrier.wait()
            for n in range(appends):
                while True:
                    try:
                        journal.append({"writer": writer, "n": n}, expect_head=journal.head)
                        break
                    except ConcurrentAppendError:
                        lost_races[writer] += 1
        except Exception:  # noqa: BLE001 - reported below
            errors.append(traceback.format_exc(limit=3))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    problems.extend(f"a writer failed: {error}" for error in errors[:2])
    journal = StoreJournal.open(make(), incident)
    seen = [(r.body["writer"], r.body["n"]) for r in journal.records[1:]]
    problems.expect(len(seen) == writers * appends, f"{len(seen)} records, not {writers * appends}")
    problems.expect(len(set(seen)) == len(seen), "a record was written twice")
    for writer in range(writers):
        order = [n for w, n in seen if w == writer]
        problems.expect(
            order == list(range(appends)), f"writer {writer}'s records are not all there"
        )
    return problems


def _wait(make: Callable[[], JournalStore]) -> list[str]:
    problems = _Failures()
    store, other = make(), make()
    incident = _new_id("wait")
    journal = StoreJournal.create(store, incident, {"n": 0})
    started = time.monotonic()
    problems.expect(not store.wait(incident, 1, _NAP), "wait() said new records when none came")
    problems.expect(time.monotonic() - started >= _NAP * 0.9, "wait() returned before its timeout")
    timer = threading.Timer(_NAP, lambda: StoreJournal.open(other, incident).append({"n": 1}))
    timer.start()
    woke = False
    deadline = time.monotonic() + _WAIT + 0.2
    while not woke and time.monotonic() < deadline:
        woke = store.wait(incident, len(journal), deadline - time.monotonic())
    timer.join()
    problems.expect(woke, f"wait() did not wake within {_WAIT:g}s of another object's append")
    return problems


def _incident(make: Callable[[], JournalStore]) -> list[str]:
    from incidentkit import Detection, Incident, copy_incident, verify_store  # noqa: PLC0415

    problems = _Failures()
    store = make()
    incident = _new_id("incident")
    declared = Incident.declare(
        title="Kit incident",
        services=["kit"],
        actor="kit",
        detection=Detection.ALERT,
        store=store,
        incident_id=incident,
    )
    declared.note("worked through the store", actor="kit")
    resumed = Incident.resume(make(), incident)
    problems.expect(resumed.anchor == declared.anchor, "resume() from another object differs")
    problems.expect(verify_store(store, incident).ok, "verify_store() found problems")
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "copy.jsonl")  # noqa: PTH118 - a plain path is the point
        head = copy_incident(store, path, incident)
        problems.expect(head == declared.anchor, "copy_incident() to a file changed the head")
        _raises(
            problems,
            lambda: copy_incident(path, store),
            JournalExistsError,
            "copying over an incident the store holds",
        )
        files = FileStore(os.path.join(directory, "files"))  # noqa: PTH118
        elsewhere = _new_id("copied")
        Incident.declare(
            title="Kit copy",
            services=["kit"],
            actor="kit",
            detection=Detection.ALERT,
            store=files,
            incident_id=elsewhere,
        ).note("to be copied", actor="kit")
        head = copy_incident(files, store, elsewhere)
        problems.expect(head == files.head(elsewhere), "copy_incident() into it changed the head")
        problems.expect(verify_store(store, elsewhere).ok, "the copy in it does not verify")
        copied = Incident.resume(make(), elsewhere)
        problems.expect(copied.anchor == head, "the copy does not resume at the same head")
    return problems


def _error_texts(call: Callable[[], object]) -> list[str]:
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - what its text shows is checked
        return [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    return []


def _secrets(make: Callable[[], JournalStore], secrets: Sequence[str]) -> list[str]:
    problems = _Failures()
    store = make()
    texts = [store.location, repr(store)]
    for call in (lambda: store.read(_new_id("missing")), lambda: store.head(_new_id("missing"))):
        texts.extend(_error_texts(call))
    leaks = [secret for secret in secrets for text in texts if secret in text]
    problems.expect(
        not leaks, f"a secret shows in a location, repr or error ({len(leaks)} place(s))"
    )
    return problems


def check_journal_store(
    make: Callable[[], JournalStore],
    *,
    secrets: Sequence[str] = (),
    writers: int = 4,
    appends: int = 25,
) -> ConformanceReport:
    """Check a :class:`~incidentkit.protocols.JournalStore` against the store contract.

    The suite :class:`~incidentkit.stores.FileStore` and the PostgreSQL store
    pass: create (atomic, never over an existing incident, refusing a broken
    chain), read (exact bytes, from any seq), append (compare-and-append:
    a stale or gapped head is refused, a forged line too, nothing written),
    two store objects on the same storage (as two processes), concurrent
    writers (nothing lost or duplicated), ``wait`` (times out, wakes on
    another object's append), a real incident declared, resumed, verified
    and copied through it, and no secret in its location, repr or errors.

    Args:
        make: A zero-argument factory returning a new store object on the
            same storage each time (as another process would open it).
            Checks use fresh random incident ids, so the storage may hold
            other incidents.
        secrets: Credentials the store is built with; none may ever show.
        writers: Threads appending at once in the ``concurrent`` check.
        appends: Records each of them appends.

    Returns:
        The report of the checks ``protocol``, ``create``, ``read``,
        ``append``, ``instances``, ``concurrent``, ``wait``, ``incident``
        and ``secrets``.

    .. versionadded:: 0.3.0
    """
    secret_list = checked_secrets(secrets)
    if writers < 1 or appends < 1:
        msg = "writers and appends must be at least 1"
        raise InvalidInputError(msg)
    suite: list[tuple[str, Callable[[], list[str]], str]] = [
        ("protocol", lambda: _protocol(make), "it has the JournalStore shape"),
        ("create", lambda: _create(make), "atomic, never over an incident, no broken chain"),
        ("read", lambda: _read(make), "exact bytes from any seq; no incident is a JournalError"),
        ("append", lambda: _append(make), "stale, gapped and forged appends refused"),
        ("instances", lambda: _instances(make), "two objects on one storage see each other"),
        (
            "concurrent",
            lambda: _concurrent(make, writers, appends),
            f"{writers} writers x {appends} appends: none lost or doubled",
        ),
        ("wait", lambda: _wait(make), "wait() times out and wakes on another's append"),
        ("incident", lambda: _incident(make), "declared, resumed, verified and copied"),
        ("secrets", lambda: _secrets(make, secret_list), "no secret in location, repr or errors"),
    ]
    checks: list[Check] = []
    for name, run, detail in suite:
        try:
            problems = run()
        except Exception as exc:  # noqa: BLE001 - a check that crashes fails, the rest still run
            problems = [f"raised {quote(exc)}"]
        checks.append(failed(name, [shown(problems)]) if problems else passed(name, detail))
    try:
        label = type(make()).__name__
    except Exception:  # noqa: BLE001 - the report still names something
        label = "JournalStore"
    return ConformanceReport(adapter=label, protocol="JournalStore", checks=tuple(checks))
