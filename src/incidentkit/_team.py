"""Working one incident as a team: listing, watching, verifying and copying stored incidents."""

from __future__ import annotations

import datetime as dt
import os
import pathlib
import time
from array import array
from typing import TYPE_CHECKING, Literal, cast

import attrs
import pendulum

from incidentkit._chain import (
    GENESIS_DIGEST,
    Anchor,
    RecordLines,
    VerificationReport,
    check_bytes,
    split_records,
)
from incidentkit._errors import IncidentkitError, InvalidInputError, JournalCorruptedError
from incidentkit._events import Event
from incidentkit._journal import Journal, create_with_records, verify_journal
from incidentkit._model import Severity
from incidentkit._rules import Phase
from incidentkit._stored import (
    StoreJournal,
    check_incident_id,
    handle_lines,
    open_handle,
    store_location,
)
from incidentkit._time import to_instant
from incidentkit.protocols import JournalStore

if TYPE_CHECKING:
    import threading
    from collections.abc import Iterator


__all__ = [
    "IncidentSummary",
    "StoredEvent",
    "copy_incident",
    "list_incidents",
    "verify_store",
    "watch_incident",
]

_POLL = 0.1  # seconds between looks at a journal file while watching


def verify_store(
    store: JournalStore, incident_id: str, *, anchor: Anchor | None = None
) -> VerificationReport:
    """Check an incident's journal in a store and report every problem found.

    The same check as :func:`~incidentkit.verify_journal` on a file, over the
    lines the store returns: digests, seqs, the chain, and (with an anchor
    kept elsewhere) truncation or a rewrite up to it.

    Raises:
        JournalError: The store does not hold that incident or cannot be read.

    .. versionadded:: 0.3.0
    """
    findings = check_bytes(store.read(check_incident_id(incident_id), 0), anchor)
    return VerificationReport(
        path=store_location(store, incident_id),
        records=findings.records,
        head=findings.head,
        problems=findings.problems,
        anchor=anchor,
        uncovered=findings.uncovered,
    )


@attrs.frozen
class IncidentSummary:
    """One incident of a store, as :func:`list_incidents` sees it.

    Attributes:
        incident_id: The incident's id.
        title: Its title ("" if unreadable).
        services: The affected services declared.
        phase: The phase it is in, ``None`` if its journal could not be read.
        severity: The severity assessed, ``None`` before the impact is.
        declared_at: When it was declared, ``None`` if unreadable.
        records: How many records its journal holds.
        head: The anchor of its last record, ``None`` if unreadable.
        problem: Why its journal could not be read (corrupted, torn), or
            ``None``. Such incidents are always listed, never filtered out.

    .. versionadded:: 0.3.0
    """

    incident_id: str
    title: str
    services: tuple[str, ...]
    phase: Phase | None
    severity: Severity | None
    declared_at: pendulum.DateTime | None
    records: int
    head: Anchor | None
    problem: str | None = None

    @property
    def resolved(self) -> bool:
        """Whether the incident is resolved."""
        return self.phase == "resolved"


def _summary(store: JournalStore, incident_id: str) -> IncidentSummary:
    from incidentkit._incident import Incident  # noqa: PLC0415 - the incident imports this module

    try:
        phase = Incident.resume(store, incident_id)
    except IncidentkitError as exc:
        return IncidentSummary(incident_id, "", (), None, None, None, 0, None, str(exc))
    return IncidentSummary(
        incident_id,
        phase.title,
        phase.services,
        phase.phase,
        phase.severity,
        phase.declared_at,
        phase.anchor.seq + 1,
        phase.anchor,
    )


def list_incidents(
    store: JournalStore,
    *,
    status: Literal["open", "resolved"] | None = None,
    service: str | None = None,
    severity: Severity | None = None,
    declared_after: dt.datetime | None = None,
) -> list[IncidentSummary]:
    """List a store's incidents, newest declaration first, filtered.

    Each incident's journal is read and replayed (as by
    :meth:`Incident.resume <incidentkit.Incident.resume>`), so its phase and
    severity are what the protocol says, not a copy that could disagree. An
    incident whose journal cannot be read is listed with its ``problem``
    whatever the filters, so that a broken journal is never hidden.

    Args:
        store: The store.
        status: ``"open"`` (not resolved) or ``"resolved"`` only.
        service: Only incidents affecting this service.
        severity: Only incidents assessed at this severity.
        declared_after: Only incidents declared after this instant.

    Raises:
        NaiveDatetimeError: ``declared_after`` has no time zone.
        JournalError: The store cannot be listed.

    .. versionadded:: 0.3.0
    """
    after = None if declared_after is None else to_instant(declared_after, what="declared_after")
    if status not in (None, "open", "resolved"):
        msg = f"status must be 'open', 'resolved' or None, not {status!r}"
        raise InvalidInputError(msg)

    def keep(summary: IncidentSummary) -> bool:
        if summary.problem is not None:
            return True
        return (
            (status is None or summary.resolved == (status == "resolved"))
            and (service is None or service in summary.services)
            and (severity is None or summary.severity == severity)
            and (after is None or (summary.declared_at is not None and summary.declared_at > after))
        )

    summaries = [_summary(store, incident_id) for incident_id in store.incidents()]
    kept = [summary for summary in summaries if keep(summary)]
    kept.sort(key=lambda s: (s.declared_at is not None, s.declared_at or 0), reverse=True)
    return kept


@attrs.frozen
class StoredEvent:
    """An event read from an incident's journal, with its place in the chain.

    Attributes:
        seq: The record's sequence number.
        event: The event.

    .. versionadded:: 0.3.0
    """

    seq: int
    event: Event


def watch_incident(
    journal: str | os.PathLike[str] | JournalStore,
    incident_id: str | None = None,
    *,
    since: int = 0,
    idle_timeout: float | None = None,
    stop: threading.Event | None = None,
) -> Iterator[StoredEvent]:
    """Yield an incident's events from seq ``since`` on, then each new one as it lands.

    For a responder's terminal or a chat bot: ``for item in
    watch_incident(store, "INC-42"): post(item.event)``. Every record is
    verified as it is read (a broken chain raises, it is never skipped). A
    PostgreSQL store wakes the watcher by ``LISTEN``/``NOTIFY``; a file is
    looked at ten times a second.

    Args:
        journal: A journal file, or a store.
        incident_id: The incident, in a store.
        since: The first seq to yield (0: the declaration on).
        idle_timeout: Stop after this many seconds without a new record;
            ``None`` watches until ``stop`` is set or the caller stops iterating.
        stop: Set it (from another thread) to end the watch at the next wake-up.

    Raises:
        JournalError: The journal cannot be read.
        JournalCorruptedError: A record does not verify or is not an event.

    .. versionadded:: 0.3.0
    """
    from incidentkit._events import structure_event  # noqa: PLC0415 - loaded with the events

    handle = open_handle(journal, incident_id)
    shown = max(0, since)
    last_news = time.monotonic()
    while True:
        lines = handle_lines(handle)
        try:
            for seq, body in lines.bodies(shown):
                try:
                    event = structure_event(body)
                except Exception as exc:
                    msg = f"{handle.location}: record {seq} is not a valid event: {exc}"
                    raise JournalCorruptedError(msg, path=handle.location) from exc
                shown = seq + 1
                last_news = time.monotonic()
                yield StoredEvent(seq, event)
        except ValueError as exc:
            raise JournalCorruptedError(f"{handle.location}: {exc}", path=handle.location) from exc
        while len(handle) <= shown:
            if stop is not None and stop.is_set():
                return
            wait = 1.0 if idle_timeout is None else idle_timeout - (time.monotonic() - last_news)
            if wait <= 0:
                return
            if isinstance(handle, StoreJournal):
                handle.wait(min(wait, 1.0))
            else:
                time.sleep(min(wait, _POLL))
            handle.refresh()


def _read_all(source: str | os.PathLike[str] | JournalStore, incident_id: str | None) -> bytes:
    if isinstance(source, (str, os.PathLike)):
        return handle_lines(Journal.open(source)).data(0)
    if incident_id is None:
        msg = f"which incident? {source.location} is a store: pass incident_id"
        raise InvalidInputError(msg)
    return source.read(check_incident_id(incident_id), 0)


def copy_incident(
    source: str | os.PathLike[str] | JournalStore,
    destination: str | os.PathLike[str] | JournalStore,
    incident_id: str | None = None,
) -> Anchor:
    """Copy an incident's journal, record for record, from one store (or file) to another.

    The records are verified as they are read, written in one atomic
    creation at the destination (which must not hold the incident yet), then
    read back and verified there: both sides end with the same head, so an
    anchor kept from the source checks the copy.

    Args:
        source: A journal file or a store.
        destination: A path for a new journal file, or a store.
        incident_id: The incident (required with a store as source; with a
            file, the id declared in it is used).

    Returns:
        The head both sides share.

    Raises:
        JournalCorruptedError: The source does not verify (nothing was
            written), or the copy does not read back the same.
        JournalExistsError: The destination holds the incident already.

    .. versionadded:: 0.3.0
    """
    data = _read_all(source, incident_id)
    try:
        records = split_records(data, 0, GENESIS_DIGEST)
    except InvalidInputError as exc:
        msg = f"the source journal does not verify, so nothing was copied: {exc}"
        raise JournalCorruptedError(msg, path=str(source)) from exc
    if not records:
        msg = "the source journal holds no record, so nothing was copied"
        raise JournalCorruptedError(msg, path=str(source))
    first = RecordLines()
    first.extend(records[0].line, array("q", [0]))
    _seq, declared = next(first.bodies())
    declared_id = cast("object", declared.get("incident_id"))
    if incident_id is None:
        if not isinstance(declared_id, str):
            msg = "the source's first record names no incident id: pass incident_id"
            raise InvalidInputError(msg)
        incident_id = declared_id
    head = records[-1].anchor
    if isinstance(destination, (str, os.PathLike)):
        create_with_records(pathlib.Path(destination), records, lock_timeout=10.0)
        report = verify_journal(destination)
        where = str(destination)
    else:
        destination.create(check_incident_id(incident_id), records)
        report = verify_store(destination, incident_id)
        where = store_location(destination, incident_id)
    if not report.ok or report.head != head:
        msg = f"the copy at {where} does not read back as the source ({report})"
        raise JournalCorruptedError(msg, path=where)
    return head
