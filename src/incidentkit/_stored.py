"""An incident's journal kept in any :class:`~incidentkit.protocols.JournalStore`.

A store keeps the bytes of each record's line and compares heads; this
module does what the file :class:`~incidentkit.Journal` does for a file:
encode and chain records, verify what is read, and catch up after another
writer. Both are "journal handles" to the incident machinery
(:data:`JournalHandle`), which never looks at the store behind them.
"""

from __future__ import annotations

import enum
import os
import re
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias, cast

from incidentkit._chain import (
    GENESIS_DIGEST,
    Anchor,
    JournalRecord,
    RecordLines,
    check_bytes,
    decode_body,
    encode_body,
    encode_record,
    scan_clean,
)
from incidentkit._errors import (
    ConcurrentAppendError,
    InvalidInputError,
    JournalCorruptedError,
    JournalError,
)
from incidentkit._journal import Journal

if TYPE_CHECKING:
    from collections.abc import Sequence

    from incidentkit._chain import EncodedRecord
    from incidentkit.protocols import JournalStore

__all__ = [
    "JournalHandle",
    "StoreJournal",
    "append_body",
    "check_incident_id",
    "handle_lines",
    "store_location",
]

_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_APPEND_ATTEMPTS: Final = 100  # catch-ups an append without an expected head tries
_MAX_SHOWN: Final = 5


class _Unset(enum.Enum):
    UNSET = enum.auto()


_UNSET: Final = _Unset.UNSET


def check_incident_id(incident_id: str) -> str:
    """Return ``incident_id`` if a store can keep it (a file name, a row key), else refuse it.

    1 to 128 characters: ASCII letters, digits, ``.``, ``_`` and ``-``, not
    starting with a dot or a dash, so that it is a safe file name everywhere
    and the same id works in every store.

    Raises:
        InvalidInputError: It is not such an id.
    """
    checked = cast("object", incident_id)
    if not isinstance(checked, str) or not _ID.fullmatch(checked):
        msg = (
            f"{incident_id!r} cannot be an incident id in a store: use 1 to 128 ASCII letters, "
            "digits, '.', '_' or '-', starting with a letter or digit"
        )
        raise InvalidInputError(msg)
    return checked


def store_location(store: JournalStore, incident_id: str) -> str:
    """Say where an incident's journal is, for messages: the store's location and the id."""
    return f"{store.location} [incident {incident_id}]"


class StoreJournal:
    """One incident's journal in a :class:`~incidentkit.protocols.JournalStore`.

    The same surface as the file :class:`~incidentkit.Journal` (``head``,
    ``records``, ``append``, ``refresh``), over any store: records are
    encoded and chained here, everything read is verified here, and an
    append is the store's compare-and-append on the head. Not thread-safe;
    the incident machinery holds its own lock around it.
    """

    __slots__ = ("_incident_id", "_lines", "_location", "_parsed", "_snapshot", "_store")

    def __init__(self, store: JournalStore, incident_id: str, lines: RecordLines) -> None:
        """Do not call this: use :meth:`create` or :meth:`open`."""
        self._store = store
        self._incident_id = incident_id
        self._location = store_location(store, incident_id)
        self._lines = lines
        self._parsed: list[JournalRecord] = []
        self._snapshot: tuple[JournalRecord, ...] | None = None

    @classmethod
    def create(cls, store: JournalStore, incident_id: str, first: dict[str, Any]) -> StoreJournal:
        """Create the incident's journal in ``store`` holding ``first`` as record 0.

        Raises:
            JournalExistsError: The store holds that incident already.
            InvalidInputError: The id or the body is not acceptable.
        """
        check_incident_id(incident_id)
        record = encode_record(0, GENESIS_DIGEST, encode_body(first))
        store.create(incident_id, (record,))
        lines = RecordLines()
        lines.extend(record.line, scan_clean(record.line, 0, GENESIS_DIGEST)[0])
        return cls(store, incident_id, lines)

    @classmethod
    def open(cls, store: JournalStore, incident_id: str) -> StoreJournal:
        """Read and verify every record of the incident's journal in ``store``.

        Raises:
            JournalError: The store does not hold that incident.
            JournalCorruptedError: The records do not verify.
        """
        check_incident_id(incident_id)
        journal = cls(store, incident_id, RecordLines())
        journal._extend(store.read(incident_id, 0))
        return journal

    @property
    def location(self) -> str:
        """The store's location and the incident id, for messages."""
        return self._location

    @property
    def incident_id(self) -> str:
        """The incident whose journal this is."""
        return self._incident_id

    @property
    def store(self) -> JournalStore:
        """The store holding the journal."""
        return self._store

    @property
    def head(self) -> Anchor | None:
        """The last record this object knows of, as an anchor."""
        return self._lines.head

    @property
    def records(self) -> Sequence[JournalRecord]:
        """Every record this object has read or written, in order (a snapshot)."""
        if self._snapshot is None:
            try:
                self._parsed.extend(self._lines.records(len(self._parsed)))
            except ValueError as exc:
                raise JournalCorruptedError(
                    f"{self._location}: {exc}", path=self._location
                ) from exc
            self._snapshot = tuple(self._parsed)
        return self._snapshot

    def __len__(self) -> int:
        """Return how many records this object knows of."""
        return len(self._lines)

    def __repr__(self) -> str:
        """Return ``StoreJournal(location=..., records=N)``."""
        return f"StoreJournal(location={self._location!r}, records={len(self._lines)})"

    def _extend(self, data: bytes) -> None:
        """Verify lines read from the store as the continuation of what is known, and keep them."""
        first = len(self._lines)
        starts, stop = scan_clean(data, first, self._lines.last_digest)
        if stop != len(data) or (first == 0 and not starts):
            raise self._corrupted(data, first)
        self._lines.extend(data, starts)
        self._snapshot = None

    def _corrupted(self, data: bytes, first: int) -> JournalCorruptedError:
        if first == 0 and not data:
            detail = "it holds no record"
        elif first == 0:
            problems = check_bytes(data, None).problems
            shown = "; ".join(str(problem) for problem in problems[:_MAX_SHOWN]) or "unreadable"
            more = f"; and {len(problems) - _MAX_SHOWN} more" if len(problems) > _MAX_SHOWN else ""
            detail = f"{len(problems)} problem(s): {shown}{more}"
        else:
            detail = (
                f"the records read from seq {first} on do not continue the chain this process "
                "verified"
            )
        msg = (
            f"the journal of {self._location} is corrupted ({detail}). Leave the store as it "
            "is (it is evidence) and run incidentkit.verify_store() on it for the full report."
        )
        return JournalCorruptedError(msg, path=self._location)

    def refresh(self) -> Sequence[JournalRecord]:
        """Read and verify the records other writers appended since this object last looked.

        Returns:
            The new records, in order (empty if there are none).

        Raises:
            JournalCorruptedError: The new records do not continue the chain.
            JournalError: The store could not be read.
        """
        before = len(self._lines)
        self._extend(self._store.read(self._incident_id, before))
        try:
            new = self._lines.records(before)
        except ValueError as exc:
            raise JournalCorruptedError(f"{self._location}: {exc}", path=self._location) from exc
        if len(self._parsed) == before:
            self._parsed.extend(new)
        return tuple(new)

    def append(
        self,
        body: dict[str, Any],
        *,
        expect_head: Anchor | Literal[_Unset.UNSET] | None = _UNSET,
    ) -> JournalRecord:
        """Append one record durably, by the store's compare-and-append.

        Without ``expect_head`` the record goes after whatever the head is:
        another writer's append in between is read and the append tried again.

        Raises:
            ConcurrentAppendError: ``expect_head`` is not the real head (what
                was appended meanwhile has been read: see :attr:`records`).
            InvalidInputError: The body is not a JSON object.
            JournalError: The store failed; whether the record landed is
                known after the next :meth:`refresh`.
        """
        body_bytes = encode_body(body)
        record = self._append_body(body_bytes, expect_head)
        written = JournalRecord(record.seq, record.prev, record.digest, decode_body(body_bytes))
        if len(self._parsed) == record.seq:
            self._parsed.append(written)
        return written

    def _append_body(
        self, body_bytes: bytes, expect_head: Anchor | Literal[_Unset.UNSET] | None
    ) -> EncodedRecord:
        """Append a body :func:`encode_body` made: :meth:`append` without parsing it back."""
        if expect_head is not _UNSET and not self._lines.is_head(expect_head):
            self.refresh()
            if not self._lines.is_head(expect_head):
                raise self._moved_on(expect_head, 0)
        for _ in range(_APPEND_ATTEMPTS):
            record = encode_record(len(self._lines), self._lines.last_digest, body_bytes)
            try:
                self._store.append(self._incident_id, record)
            except ConcurrentAppendError:
                before = len(self._lines)
                self.refresh()
                if expect_head is not _UNSET:
                    raise self._moved_on(expect_head, len(self._lines) - before) from None
                continue
            self._lines.append_line(record.line)
            self._snapshot = None
            return record
        msg = (
            f"could not append to {self._location}: other writers kept appending first "
            f"({_APPEND_ATTEMPTS} attempts)"
        )
        raise ConcurrentAppendError(msg, path=self._location)

    def _moved_on(self, expect_head: Anchor | None, read: int) -> ConcurrentAppendError:
        expected = "an empty journal" if expect_head is None else f"head {expect_head}"
        msg = (
            f"the journal of {self._location} has moved on: you expected {expected} but it is "
            f"{self.head} ({read} record(s) appended by another writer were just read). Nothing "
            "was written: catch up and retry the step."
        )
        return ConcurrentAppendError(msg, path=self._location)

    def wait(self, timeout: float) -> bool:
        """Block until the store holds records this object has not read, or ``timeout`` passes."""
        return self._store.wait(self._incident_id, len(self._lines), timeout)


JournalHandle: TypeAlias = "Journal | StoreJournal"
"""What an incident appends to: a journal file, or an incident's journal in a store."""


def open_handle(
    journal: str | os.PathLike[str] | JournalStore,
    incident_id: str | None,
    lock_timeout: float = 10.0,
) -> JournalHandle:
    """Open a journal file, or an incident's journal in a store, verified.

    A :class:`~incidentkit.stores.FileStore` gives the file's own
    :class:`~incidentkit.Journal`; any other store a :class:`StoreJournal`.

    Raises:
        InvalidInputError: ``journal`` is neither a path nor a store, or a
            store was given without ``incident_id``.
    """
    if isinstance(journal, (str, os.PathLike)):
        return Journal.open(journal, lock_timeout=lock_timeout)
    from incidentkit.protocols import JournalStore  # noqa: PLC0415 - a runtime check only
    from incidentkit.stores._file import FileStore  # noqa: PLC0415 - it imports this module

    if not isinstance(cast("object", journal), JournalStore):
        msg = f"expected a journal's path or a JournalStore, not {journal!r}"
        raise InvalidInputError(msg)
    if incident_id is None:
        msg = f"which incident? {journal.location} is a store: pass incident_id"
        raise InvalidInputError(msg)
    if isinstance(journal, FileStore):
        return journal.open_journal(incident_id)
    return StoreJournal.open(journal, incident_id)


def handle_lines(journal: Journal | StoreJournal) -> RecordLines:
    """Return the verified lines a journal handle holds, for readers inside the package."""
    # The package's own modules read their own slots; there is no public way, on purpose.
    return journal._lines  # noqa: SLF001 # pyright: ignore[reportPrivateUsage]


def append_body(
    journal: Journal | StoreJournal, body_bytes: bytes, expect_head: Anchor | None
) -> EncodedRecord:
    """Append an encoded body to a journal handle if its head is ``expect_head``.

    What :meth:`Journal.append` does, for the incident machinery: it holds the
    event the body came from, so the body is not parsed back and no
    :class:`JournalRecord` is made; the record written is returned.

    Raises:
        ConcurrentAppendError: The head is not ``expect_head``; nothing was written.
    """
    # Package-internal, as handle_lines: there is no public way, on purpose.
    return journal._append_body(body_bytes, expect_head)  # noqa: SLF001 # pyright: ignore[reportPrivateUsage]


def unknown_incident(store: JournalStore, incident_id: str) -> JournalError:
    """The error a store raises for an incident it does not hold."""
    msg = (
        f"{store.location} holds no incident {incident_id!r}: check the id "
        "(list_incidents() lists them), or declare it first"
    )
    return JournalError(msg, path=store_location(store, incident_id))
