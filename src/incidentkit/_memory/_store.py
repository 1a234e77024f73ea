"""An in-memory journal store: for tests, tabletop exercises and one process's tools."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from incidentkit._chain import GENESIS_DIGEST, EncodedRecord
from incidentkit._errors import ConcurrentAppendError, InvalidInputError, JournalExistsError
from incidentkit._stored import check_incident_id, store_location, unknown_incident

if TYPE_CHECKING:
    from collections.abc import Sequence

    from incidentkit._chain import Anchor

__all__ = ["InMemoryJournalStore"]


class InMemoryJournalStore:
    """A :class:`~incidentkit.protocols.JournalStore` that keeps journals in a dict.

    Nothing survives the process, so it is no place for a real incident; it
    serves tests, tabletop exercises and a tool that works an incident in one
    process, and shows the whole store contract in a page of code. Safe to
    share between threads (one lock); every record is checked as a store
    must (:meth:`~incidentkit.EncodedRecord.from_line`).

    Args:
        name: Shown as the store's location.

    .. versionadded:: 0.3.0
    """

    __slots__ = ("_changed", "_journals", "_name")

    def __init__(self, name: str = "memory") -> None:
        """Start empty."""
        self._name = name
        self._journals: dict[str, list[EncodedRecord]] = {}
        self._changed = threading.Condition()

    @property
    def location(self) -> str:
        """``memory:<name>``."""
        return f"memory:{self._name}"

    def __repr__(self) -> str:
        """Return ``InMemoryJournalStore('<name>', incidents=N)``."""
        return f"InMemoryJournalStore({self._name!r}, incidents={len(self._journals)})"

    def _records(self, incident_id: str) -> list[EncodedRecord]:
        records = self._journals.get(check_incident_id(incident_id))
        if records is None:
            raise unknown_incident(self, incident_id)
        return records

    def create(self, incident_id: str, records: Sequence[EncodedRecord]) -> None:
        """Keep ``records`` as the incident's journal, if it has none yet."""
        check_incident_id(incident_id)
        checked: list[EncodedRecord] = []
        prev = GENESIS_DIGEST
        for seq, record in enumerate(records):
            checked.append(EncodedRecord.from_line(record.line, seq=seq, prev=prev))
            prev = checked[-1].digest
        if not checked:
            msg = "a journal is created from an intact chain of records starting at seq 0"
            raise InvalidInputError(msg)
        with self._changed:
            if incident_id in self._journals:
                msg = f"{self.location} holds the incident {incident_id!r} already"
                raise JournalExistsError(msg, path=store_location(self, incident_id))
            self._journals[incident_id] = checked
            self._changed.notify_all()

    def read(self, incident_id: str, first: int = 0) -> bytes:
        """Return the lines of the incident's records from seq ``first`` on."""
        with self._changed:
            return b"".join(record.line for record in self._records(incident_id)[max(first, 0) :])

    def head(self, incident_id: str) -> Anchor:
        """Return the incident's last record as an anchor."""
        with self._changed:
            return self._records(incident_id)[-1].anchor

    def append(self, incident_id: str, record: EncodedRecord) -> None:
        """Append ``record`` if the head is the record it follows."""
        checked = EncodedRecord.from_line(record.line, seq=record.seq, prev=record.prev)
        with self._changed:
            records = self._records(incident_id)
            head = records[-1]
            if (head.seq, head.digest) != (checked.seq - 1, checked.prev):
                msg = (
                    f"{store_location(self, incident_id)} has moved on: its head is {head.anchor}, "
                    f"not the record {checked.seq - 1} this one follows"
                )
                raise ConcurrentAppendError(msg, path=store_location(self, incident_id))
            records.append(checked)
            self._changed.notify_all()

    def incidents(self) -> Sequence[str]:
        """Return the ids of the incidents, in the order they were created."""
        with self._changed:
            return list(self._journals)

    def wait(self, incident_id: str, count: int, timeout: float) -> bool:
        """Block until the incident holds more than ``count`` records, or ``timeout`` passes."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._changed:
            while len(self._records(incident_id)) <= count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True
