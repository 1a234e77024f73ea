"""The file store: a directory of journal files, ``<incident id>.jsonl`` each."""

from __future__ import annotations

import os
import pathlib
import threading
import time
from typing import TYPE_CHECKING, Final

from incidentkit._errors import JournalError
from incidentkit._journal import Journal, create_with_records, journal_check_timeout
from incidentkit._stored import check_incident_id, handle_lines, unknown_incident

if TYPE_CHECKING:
    from collections.abc import Sequence

    from incidentkit._chain import Anchor, EncodedRecord

__all__ = ["FileStore"]

_SUFFIX: Final = ".jsonl"
_CACHED: Final = 64  # journals kept open (their bytes in memory) by one store
_POLL: Final = 0.05  # seconds between looks at a journal's size while waiting


class FileStore:
    """A directory of journal files, one incident a file: ``<incident id>.jsonl``.

    Each file is a journal exactly as :class:`~incidentkit.Journal` writes
    it, with the same guarantees (an exclusive ``flock`` per append, fsync,
    atomic creation, torn tails never written after): an incident declared in
    a :class:`FileStore` can be resumed from its path, and the other way
    round. Several processes on one machine (or on a file system whose
    ``flock`` works across machines) may share a directory.

    The store keeps the journals it has read in memory (the last 64 used),
    so that reading again costs only what was appended since; an incident
    worked through :meth:`Incident.resume <incidentkit.Incident.resume>` has
    its own. A store is safe to share between threads.

    Args:
        directory: The directory of the journals; created (with its parents)
            if missing.
        lock_timeout: Seconds to wait for another writer's lock on a file.

    Raises:
        JournalError: The directory cannot be created.
        InvalidInputError: ``lock_timeout`` is negative or not finite.

    .. versionadded:: 0.3.0
    """

    __slots__ = ("_directory", "_journals", "_lock", "_lock_timeout")

    def __init__(self, directory: str | os.PathLike[str], *, lock_timeout: float = 10.0) -> None:
        """Use (and create if needed) ``directory``."""
        self._lock_timeout = journal_check_timeout(lock_timeout)
        self._directory = pathlib.Path(directory)
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            msg = f"cannot create the journal directory {self._directory}: {exc.strerror or exc}"
            raise JournalError(msg, path=str(self._directory)) from exc
        self._journals: dict[str, Journal] = {}
        self._lock = threading.Lock()

    @property
    def directory(self) -> pathlib.Path:
        """The directory of the journals."""
        return self._directory

    @property
    def location(self) -> str:
        """The directory, as text."""
        return str(self._directory)

    @property
    def lock_timeout(self) -> float:
        """Seconds to wait for another writer's lock on a file."""
        return self._lock_timeout

    def __repr__(self) -> str:
        """Return ``FileStore('<directory>')``."""
        return f"FileStore({str(self._directory)!r})"

    def path(self, incident_id: str) -> pathlib.Path:
        """Return the journal file of an incident (whether or not it exists).

        Raises:
            InvalidInputError: ``incident_id`` is not an id a store can keep.
        """
        return self._directory / f"{check_incident_id(incident_id)}{_SUFFIX}"

    def open_journal(self, incident_id: str) -> Journal:
        """Open the incident's journal file, verified: a :class:`~incidentkit.Journal` of its own.

        Raises:
            JournalError: The store holds no such incident.
            JournalCorruptedError: The file does not verify.
            InvalidInputError: ``incident_id`` is not an id a store can keep.
        """
        path = self.path(incident_id)
        if not path.exists():
            raise unknown_incident(self, incident_id)
        return Journal.open(path, lock_timeout=self._lock_timeout)

    def _journal(self, incident_id: str) -> Journal:
        """Return the incident's journal, up to date; the store's lock is held."""
        journal = self._journals.pop(incident_id, None)
        if journal is None:
            journal = self.open_journal(incident_id)
        else:
            journal.refresh()
        self._journals[incident_id] = journal  # the most recently used last
        while len(self._journals) > _CACHED:
            del self._journals[next(iter(self._journals))]
        return journal

    def create(self, incident_id: str, records: Sequence[EncodedRecord]) -> None:
        """Create the incident's file holding ``records``, atomically (see :meth:`Journal.create`).

        Raises:
            JournalExistsError: The file exists (and is not an empty leftover).
            InvalidInputError: ``records`` is not an intact chain from seq 0.
            JournalError: It cannot be created.
        """
        path = self.path(incident_id)
        journal = create_with_records(path, records, lock_timeout=self._lock_timeout)
        with self._lock:
            self._journals[incident_id] = journal

    def read(self, incident_id: str, first: int = 0) -> bytes:
        """Return the incident's records from seq ``first`` on, as the file holds their lines."""
        with self._lock:
            return handle_lines(self._journal(incident_id)).data(first)

    def head(self, incident_id: str) -> Anchor:
        """Return the anchor of the incident's last record."""
        with self._lock:
            head = self._journal(incident_id).head
        if head is None:  # an empty leftover of an interrupted creation by 0.1
            raise unknown_incident(self, incident_id)
        return head

    def append(self, incident_id: str, record: EncodedRecord) -> None:
        """Append ``record`` under the file's lock if the head is the record it follows."""
        with self._lock:
            journal = self._journals.get(incident_id)
            if journal is None:  # appending catches up under the file's lock anyway
                journal = self._journal(incident_id)
            journal.append_encoded(record)

    def incidents(self) -> Sequence[str]:
        """Return the ids of the journal files in the directory, in name order."""
        ids: list[str] = []
        try:
            entries = sorted(entry.name for entry in os.scandir(self._directory))
        except OSError as exc:
            msg = f"cannot list the journal directory {self._directory}: {exc.strerror or exc}"
            raise JournalError(msg, path=str(self._directory)) from exc
        for name in entries:
            incident_id = name[: -len(_SUFFIX)]
            if name.endswith(_SUFFIX) and not name.startswith(".") and incident_id:
                try:
                    ids.append(check_incident_id(incident_id))
                except ValueError:  # a file someone else put there
                    continue
        return ids

    def wait(self, incident_id: str, count: int, timeout: float) -> bool:
        """Poll the incident's file until it holds more than ``count`` records."""
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            with self._lock:
                if len(self._journal(incident_id)) > count:
                    return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(_POLL, remaining))
