"""The journal's file store: an append-only, hash-chained JSON Lines file.

One incident is one journal file. Each line is one record holding an opaque
JSON object (the *body*); the journal knows nothing about events or phases.
How records are encoded, chained and verified lives in
:mod:`incidentkit._chain`; this module keeps them in a file: locks, fsync,
torn tails and the atomic creation of a journal with its first record.

Appends hold an exclusive :func:`fcntl.flock` on the journal file itself,
reads a shared one, so this module is POSIX only. See ``docs/journal.md``.
"""

from __future__ import annotations

import contextlib
import enum
import fcntl
import os
import pathlib
import stat
import time
from typing import TYPE_CHECKING, Any, Final, Literal, cast

from incidentkit._chain import (
    FORMAT_VERSION,
    GENESIS_DIGEST,
    Anchor,
    EncodedRecord,
    Findings,
    JournalProblem,
    JournalRecord,
    ProblemKind,
    RecordLines,
    VerificationReport,
    analyse,
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
    JournalExistsError,
    JournalLockedError,
    TornRecordError,
)
from incidentkit._numbers import is_finite

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = [
    "FORMAT_VERSION",
    "GENESIS_DIGEST",
    "Anchor",
    "Journal",
    "JournalProblem",
    "JournalRecord",
    "ProblemKind",
    "VerificationReport",
    "repair_torn_tail",
    "verify_journal",
]

_MAX_SHOWN: Final = 5  # problems quoted in an exception message
_POLL_MIN: Final = 0.0005  # seconds between attempts to take a busy lock
_POLL_MAX: Final = 0.0015


class _Unset(enum.Enum):
    UNSET = enum.auto()


_UNSET: Final = _Unset.UNSET


# -- files and locks ---------------------------------------------------------


def _open_locked(
    path: pathlib.Path, flags: int, operation: int, timeout: float
) -> tuple[int, os.stat_result]:
    """Open an existing journal file, take its flock, and stat it once, under the lock.

    The stat, taken with the lock held, gives the file's identity and its size
    including every append that finished before. A missing file, a directory or
    anything else that is not a regular file is a :class:`JournalError`; the
    descriptor is closed on any failure, which releases the lock.
    """
    try:
        fd = os.open(path, flags | os.O_CLOEXEC)
    except FileNotFoundError as exc:
        msg = (
            f"there is no journal at {path}: check the path, or start a new journal with "
            "Journal.create()"
        )
        raise JournalError(msg, path=str(path)) from exc
    except OSError as exc:
        msg = f"cannot open the journal {path}: {exc.strerror or exc}"
        raise JournalError(msg, path=str(path)) from exc
    try:
        _lock(fd, operation, timeout, path)
        info = os.fstat(fd)
    except BaseException:
        os.close(fd)
        raise
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        msg = f"{path} is not a regular file, so it cannot be a journal"
        raise JournalError(msg, path=str(path))
    return fd, info


def journal_check_timeout(lock_timeout: float) -> float:
    """Return ``lock_timeout`` as seconds, or refuse it (negative, not finite, not a number)."""
    return _check_timeout(lock_timeout)


def _check_timeout(lock_timeout: float) -> float:
    checked = cast("object", lock_timeout)
    if (
        isinstance(checked, bool)
        or not isinstance(checked, (int, float))
        or not is_finite(checked)
        or not checked >= 0
    ):
        msg = f"lock_timeout must be a finite number of seconds >= 0, not {lock_timeout!r}"
        raise InvalidInputError(msg)
    return float(lock_timeout)


def _lock(fd: int, operation: int, timeout: float, path: pathlib.Path) -> None:
    """Take a flock on ``fd``, retrying about every millisecond for ``timeout`` seconds.

    Polling is not fair: a process appending in a tight loop leaves the lock
    free only briefly between appends. Frequent, jittered retries (rather than
    a growing back-off) make a waiter hit such a gap quickly all the same.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, operation | fcntl.LOCK_NB)
        except BlockingIOError:
            pass
        except OSError as exc:
            msg = f"cannot lock the journal {path}: {exc.strerror or exc}"
            raise JournalError(msg, path=str(path)) from exc
        else:
            return
        now = time.monotonic()
        if now >= deadline:
            msg = (
                f"another process has held the lock on the journal {path} for more than "
                f"{timeout:g}s. If a writer is stuck, find it (e.g. `fuser {path}`) and stop it, "
                "or pass a longer lock_timeout."
            )
            raise JournalLockedError(msg, path=str(path))
        # Jitter without the random module (kept out of `import incidentkit`).
        pause = _POLL_MIN + (_POLL_MAX - _POLL_MIN) * os.urandom(1)[0] / 255
        time.sleep(min(pause, deadline - now))


def _read_range(fd: int, start: int, end: int) -> bytes:
    chunks: list[bytes] = []
    offset = start
    while offset < end:
        chunk = os.pread(fd, end - offset, offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _fsync_dir(directory: pathlib.Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _corrupted(path: pathlib.Path, problems: Sequence[JournalProblem]) -> JournalCorruptedError:
    shown = "; ".join(str(problem) for problem in problems[:_MAX_SHOWN])
    more = f"; and {len(problems) - _MAX_SHOWN} more" if len(problems) > _MAX_SHOWN else ""
    msg = (
        f"the journal {path} is corrupted ({len(problems)} problem(s)): {shown}{more}. "
        "Keep the file as it is (it is evidence) and run incidentkit.verify_journal() on it "
        "for the full report."
    )
    return JournalCorruptedError(msg, path=str(path))


def _torn(path: pathlib.Path, offset: int) -> TornRecordError:
    msg = (
        f"the journal {path} ends in an incomplete record at byte offset {offset}, typically "
        "left by a crash during an append; the records before it are intact. Run "
        "incidentkit.repair_torn_tail() to move the fragment to a side file, then open the "
        "journal again."
    )
    return TornRecordError(msg, path=str(path), offset=offset)


def _raise_for(path: pathlib.Path, findings: Findings) -> None:
    serious = [problem for problem in findings.problems if problem.kind != "torn"]
    if serious:
        raise _corrupted(path, serious)
    if findings.torn_offset is not None:
        raise _torn(path, findings.torn_offset)


# -- creation ----------------------------------------------------------------

_TEMP_SUFFIX: Final = ".journal-tmp"
_TOKEN_HEX: Final = 16  # hex digits of the random part of a temporary's name
_NAME_MAX: Final = 255  # bytes in a file name on every file system we expect
_CREATE_ATTEMPTS: Final = 5


def _exists(path: pathlib.Path) -> JournalExistsError:
    msg = (
        f"a file already exists at {path}: Journal.create() never overwrites. "
        "Use Journal.open() to continue that journal, or choose a new path."
    )
    return JournalExistsError(msg, path=str(path))


def _cannot_create(path: pathlib.Path, exc: OSError) -> JournalError:
    msg = f"cannot create the journal {path}: {exc.strerror or exc}"
    return JournalError(msg, path=str(path))


def _temporary_prefix(name: str) -> str:
    """Return how the names of ``name``'s temporaries start: ``.<name>.``, hidden."""
    prefix = f".{name}."
    if len(os.fsencode(prefix)) + _TOKEN_HEX + len(_TEMP_SUFFIX) <= _NAME_MAX:
        return prefix
    import hashlib  # noqa: PLC0415 - only for names too long to prefix, see _chain

    return f".{hashlib.sha256(os.fsencode(name)).hexdigest()[:32]}."


def _is_temporary(entry: str, prefix: str) -> bool:
    token = entry[len(prefix) : -len(_TEMP_SUFFIX)]
    return (
        entry.startswith(prefix)
        and entry.endswith(_TEMP_SUFFIX)
        and len(token) == _TOKEN_HEX
        and all(char in "0123456789abcdef" for char in token)
    )


def _remove_abandoned_temporaries(path: pathlib.Path) -> None:
    """Remove the temporaries of ``path`` that no live creator holds locked.

    A creator locks its temporary from just after creating it until it is in
    place, so one whose lock is free was abandoned by a killed process: it is
    a record that was never acknowledged, or a second name of a journal
    already in place. Removing either loses nothing. Best effort: an error
    leaves the temporary for next time.
    """
    prefix = _temporary_prefix(path.name)
    directory = path.parent
    try:
        temps = [entry for entry in directory.iterdir() if _is_temporary(entry.name, prefix)]
    except OSError:
        return
    for temp in temps:
        try:
            fd = os.open(temp, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            temp.unlink()
        except OSError:  # locked by a live creator (BlockingIOError), or gone
            pass
        finally:
            os.close(fd)


def _create_empty(path: pathlib.Path) -> tuple[int, int]:
    """Create an empty journal with O_EXCL; return its identity."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    except FileExistsError as exc:
        raise _exists(path) from exc
    except OSError as exc:
        raise _cannot_create(path, exc) from exc
    try:
        os.fsync(fd)
        info = os.fstat(fd)
    finally:
        os.close(fd)
    _fsync_dir(path.absolute().parent)
    return info.st_dev, info.st_ino


def _write_temporary(path: pathlib.Path, line: bytes) -> tuple[int, pathlib.Path]:
    """Write ``line`` to a new, locked, fsynced temporary beside ``path``.

    Returns:
        Its file descriptor (holding an exclusive lock) and its path.
    """
    token = os.urandom(_TOKEN_HEX // 2).hex()
    temp = path.with_name(f"{_temporary_prefix(path.name)}{token}{_TEMP_SUFFIX}")
    try:
        fd = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise _cannot_create(path, exc) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        view = memoryview(line)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        _unlink_quietly(temp)
        raise _cannot_create(path, exc) from exc
    return fd, temp


def _unlink_quietly(path: pathlib.Path) -> None:
    # Already gone, or left for _remove_abandoned_temporaries.
    with contextlib.suppress(OSError):
        path.unlink()


def _replace_empty(temp: pathlib.Path, path: pathlib.Path, timeout: float) -> bool:
    """Rename ``temp`` over ``path`` if that is a zero-byte regular file.

    Returns:
        True if replaced; False if ``path`` vanished or changed meanwhile
        (then linking may be tried again).

    Raises:
        JournalError: ``path`` is something other than an empty file.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    except OSError as exc:  # a symbolic link, a file we may not read...
        raise _exists(path) from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size:
            raise _exists(path)
        # Under the lock no writer of this file can be half-way through an append.
        _lock(fd, fcntl.LOCK_EX, timeout, path)
        info = os.fstat(fd)
        if info.st_size:
            raise _exists(path)
        try:
            now = path.stat(follow_symlinks=False)
        except FileNotFoundError:
            return False
        if (now.st_dev, now.st_ino) != (info.st_dev, info.st_ino):
            return False
        temp.rename(path)
        return True
    finally:
        os.close(fd)


def _place(temp: pathlib.Path, path: pathlib.Path, timeout: float) -> bool | None:
    """Link ``temp`` into place, or rename it over an empty file.

    Returns:
        True if ``temp`` is in place (and its own name gone), False if
        ``temp`` vanished (taken for abandoned before its creator locked it),
        None if ``path`` changed meanwhile and linking may be tried again.
    """
    try:
        os.link(temp, path)
    except FileExistsError:
        return True if _replace_empty(temp, path, timeout) else None
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise _cannot_create(path, exc) from exc
    _unlink_quietly(temp)
    return True


def _create_with(path: pathlib.Path, line: bytes, timeout: float) -> tuple[int, int]:
    """Put a journal holding ``line`` at ``path`` atomically; return its identity."""
    fd, temp = _write_temporary(path, line)
    try:
        for _ in range(_CREATE_ATTEMPTS):
            placed = _place(temp, path, timeout)
            if placed:
                info = os.fstat(fd)
                _fsync_dir(path.absolute().parent)
                return info.st_dev, info.st_ino
            if placed is False:  # our temporary was removed: write another
                os.close(fd)
                fd = -1
                fd, temp = _write_temporary(path, line)
            # None: the empty file at ``path`` changed under us; look again.
    except BaseException:
        # Not in place, or in place under its own name too: the temporary's
        # name holds nothing that was acknowledged or is not at ``path``.
        _unlink_quietly(temp)
        raise
    finally:
        if fd >= 0:
            os.close(fd)
    _unlink_quietly(temp)
    msg = (
        f"cannot create the journal {path}: it kept changing under this call "
        f"({_CREATE_ATTEMPTS} attempts; another process is creating or removing files there). "
        "Find that process, then try again."
    )
    raise JournalError(msg, path=str(path))


def create_with_records(
    path: pathlib.Path, records: Sequence[EncodedRecord], *, lock_timeout: float
) -> Journal:
    """Put a journal holding ``records`` (an intact chain from seq 0) at ``path`` atomically.

    Raises:
        InvalidInputError: ``records`` is empty or not an intact chain from seq 0.
        JournalExistsError: A journal (a file that is not empty) is there already.
        JournalError: It cannot be created.
    """
    data = b"".join(record.line for record in records)
    starts, stop = scan_clean(data, 0, GENESIS_DIGEST)
    if not records or stop != len(data) or len(starts) != len(records):
        msg = "a journal is created from an intact chain of records starting at seq 0"
        raise InvalidInputError(msg)
    _remove_abandoned_temporaries(path)
    identity = _create_with(path, data, lock_timeout)
    lines = RecordLines()
    lines.extend(data, starts)
    return Journal(path, lock_timeout=lock_timeout, lines=lines, size=len(data), identity=identity)


# -- the journal -------------------------------------------------------------


class Journal:
    """An append-only, tamper-evident journal file, one incident per file.

    Get one from :meth:`create` (a new file) or :meth:`open` (an existing
    one, verified). Any number of processes may hold a :class:`Journal` on
    the same file: appends are serialised by an exclusive ``flock`` on the
    journal file and first read what others appended. A :class:`Journal` is
    not thread-safe; give each thread its own.

    .. versionadded:: 0.1.0
    """

    __slots__ = ("_identity", "_lines", "_lock_timeout", "_parsed", "_path", "_size", "_snapshot")

    def __init__(
        self,
        path: pathlib.Path,
        *,
        lock_timeout: float,
        lines: RecordLines,
        size: int,
        identity: tuple[int, int],
    ) -> None:
        """Do not call this: use :meth:`create` or :meth:`open`.

        Args:
            path: The journal file.
            lock_timeout: Seconds to wait for the file lock.
            lines: The records read so far, verified, as their lines.
            size: The file offset just after the last of them.
            identity: The file's ``(st_dev, st_ino)``.
        """
        self._path = path
        self._lock_timeout = lock_timeout
        self._lines = lines
        # The records parsed so far, from seq 0: only what ``records`` was asked for.
        self._parsed: list[JournalRecord] = []
        self._size = size
        self._identity = identity
        self._snapshot: tuple[JournalRecord, ...] | None = None

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        *,
        first: dict[str, Any] | None = None,
        lock_timeout: float = 10.0,
    ) -> Journal:
        """Create a new journal file, empty or holding its first record.

        With ``first``, the journal appears at ``path`` with that record or
        not at all, whatever kills the process meanwhile: the record is
        written to a temporary file in the same directory and fsynced, then
        hard-linked into place (a link never overwrites), the temporary is
        removed and the directory fsynced. A zero-byte file at ``path`` (the
        leftover of an interrupted creation by incidentkit 0.1, which created
        the file and appended to it in two steps) is replaced atomically,
        under its lock; any other file is never overwritten. Temporaries an
        interrupted creation left beside ``path`` are removed here once no
        process uses them.

        Without ``first``, an empty file is created with ``O_EXCL``.
        Either way, the file and its directory entry are fsynced before this
        returns.

        Args:
            path: Where to create it. No file may exist there (with
                ``first``, an empty one may).
            first: The body of the first record (seq 0), as for
                :meth:`append`.
            lock_timeout: Seconds :meth:`append` and :meth:`refresh` wait for
                the file lock before raising :class:`JournalLockedError`,
                and this waits for the lock on an empty file it replaces.

        Returns:
            The journal, holding ``first`` as its only record, or no record.

        Raises:
            JournalError: A file already exists at ``path`` (with ``first``:
                one that is not empty), or it cannot be created.
            InvalidInputError: ``first`` is not a JSON object (nothing was
                created), or ``lock_timeout`` is negative or not finite.
            JournalLockedError: Another process held the lock on the empty
                file at ``path`` too long.

        .. versionadded:: 0.1.0
        .. versionchanged:: 0.2.0
           ``first``, written atomically with the file.
        """
        timeout = _check_timeout(lock_timeout)
        journal_path = pathlib.Path(path)
        if first is not None:
            record = encode_record(0, GENESIS_DIGEST, encode_body(first))
            return create_with_records(journal_path, (record,), lock_timeout=timeout)
        _remove_abandoned_temporaries(journal_path)
        identity = _create_empty(journal_path)
        return cls(
            journal_path,
            lock_timeout=timeout,
            lines=RecordLines(),
            size=0,
            identity=identity,
        )

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, lock_timeout: float = 10.0) -> Journal:
        """Open an existing journal, reading and verifying every record.

        The hash chain is checked over every line's bytes; the bodies are
        parsed only when read (:attr:`records`, :meth:`refresh`), so opening
        costs little more than reading and hashing the file, and the journal
        holds the file's bytes rather than a parsed body per record.

        Args:
            path: The journal file.
            lock_timeout: Seconds to wait for the file lock, here and in
                :meth:`append` and :meth:`refresh`.

        Returns:
            The journal, holding all its records.

        Raises:
            JournalError: There is no file at ``path`` or it cannot be read.
            JournalCorruptedError: Records were edited, deleted or reordered,
                or a line is not a record. (A body that matches its digest
                but is not a JSON object, which only a writer recomputing
                the chain can leave, is reported when it is read;
                :func:`verify_journal` parses every body.)
            TornRecordError: The file ends in an incomplete record (and has
                no other problem); see :func:`repair_torn_tail`.
            JournalLockedError: Another process held the lock too long.
            InvalidInputError: ``lock_timeout`` is negative or not finite.

        .. versionadded:: 0.1.0
        """
        timeout = _check_timeout(lock_timeout)
        journal_path = pathlib.Path(path)
        fd, info = _open_locked(journal_path, os.O_RDONLY, fcntl.LOCK_SH, timeout)
        try:
            data = _read_range(fd, 0, info.st_size)
        finally:
            os.close(fd)
        starts, stop = scan_clean(data, 0, GENESIS_DIGEST)
        if data.find(b"\n", stop) >= 0:
            split = data.split(b"\n")
            tail = split.pop()
            _raise_for(journal_path, analyse(split, tail, len(data) - len(tail), None))
            raise _corrupted(journal_path, ())  # pragma: no cover - the analysis always finds it
        if stop < len(data):
            raise _torn(journal_path, stop)
        lines = RecordLines()
        lines.extend(data, starts)
        return cls(
            journal_path,
            lock_timeout=timeout,
            lines=lines,
            size=len(data),
            identity=(info.st_dev, info.st_ino),
        )

    @property
    def path(self) -> pathlib.Path:
        """The journal file.

        .. versionadded:: 0.1.0
        """
        return self._path

    @property
    def location(self) -> str:
        """The journal file's path, as text: where the records are, for messages.

        .. versionadded:: 0.3.0
        """
        return str(self._path)

    @property
    def head(self) -> Anchor | None:
        """The last record this object knows of, as an anchor; ``None`` if none.

        .. versionadded:: 0.1.0
        """
        return self._lines.head

    @property
    def records(self) -> Sequence[JournalRecord]:
        """Every record this object has read or written, in order.

        A snapshot: records appended later are not added to it. The bodies
        are parsed the first time this is read, and kept from then on.

        Raises:
            JournalCorruptedError: A body matches its digest but is not a
                JSON object.

        .. versionadded:: 0.1.0
        """
        if self._snapshot is None:
            self._parsed.extend(self._read(len(self._parsed)))
            self._snapshot = tuple(self._parsed)
        return self._snapshot

    def __len__(self) -> int:
        """Return how many records this object knows of."""
        return len(self._lines)

    def __repr__(self) -> str:
        """Return ``Journal(path=..., records=N)``."""
        return f"Journal(path={str(self._path)!r}, records={len(self._lines)})"

    def _read(self, first: int) -> list[JournalRecord]:
        """Parse the records from seq ``first`` on; a body that is not JSON is corruption."""
        try:
            return self._lines.records(first)
        except ValueError as exc:
            raise JournalCorruptedError(f"{self._path}: {exc}", path=str(self._path)) from exc

    def append(
        self,
        body: dict[str, Any],
        *,
        expect_head: Anchor | Literal[_Unset.UNSET] | None = _UNSET,
    ) -> JournalRecord:
        """Append one record durably.

        Under the exclusive file lock this first reads (and verifies) what
        other processes appended, so sequence numbers never collide, then
        writes the line with a single ``write`` on an ``O_APPEND`` file
        descriptor and fsyncs it. It returns only after that.

        Args:
            body: A JSON object: a dict with string keys whose values are
                dicts, lists, tuples, strings, numbers (not NaN or infinity),
                booleans or ``None``. It is serialised with sorted keys.
            expect_head: If given, the head the caller believes the journal
                has (``None`` for empty). If the journal's real head differs,
                nothing is written and :class:`ConcurrentAppendError` is
                raised; the records read meanwhile are in :attr:`records`.

        Returns:
            The record written, its body as the journal reads it back.

        Raises:
            InvalidInputError: The body is not a JSON object (NaN, infinity,
                a key that is not a string...). Nothing was written.
            ConcurrentAppendError: ``expect_head`` is not the real head.
            TornRecordError: The file ends in an incomplete record; this
                never writes after one. See :func:`repair_torn_tail`.
            JournalCorruptedError: Records appended by others do not verify,
                or the file shrank.
            JournalLockedError: Another process held the lock too long.
            JournalError: The file was replaced, or the write or fsync failed.

        .. versionadded:: 0.1.0
        """
        body_bytes = encode_body(body)
        written = self._append_body(body_bytes, expect_head)
        record = JournalRecord(written.seq, written.prev, written.digest, decode_body(body_bytes))
        if len(self._parsed) == written.seq:
            self._parsed.append(record)
        return record

    def _append_body(
        self, body_bytes: bytes, expect_head: Anchor | Literal[_Unset.UNSET] | None
    ) -> EncodedRecord:
        """Append a body :func:`encode_body` made: :meth:`append` without parsing it back.

        The incident machinery's path (see ``_stored.append_body``): it holds the
        event the body came from, so it needs only the record's seq and digest.
        """
        return self._append_locked(
            lambda seq, prev: encode_record(seq, prev, body_bytes), expect_head
        )

    def append_encoded(self, record: EncodedRecord) -> None:
        """Append a record encoded and chained elsewhere, if it follows the real head.

        What :class:`~incidentkit.stores.FileStore` does for a store's
        ``append``. The record is checked first (its line, seq and digest).

        Raises:
            ConcurrentAppendError: The head is not the record ``record`` follows.
            InvalidInputError: ``record`` is not an intact record, or is seq 0.

        .. versionadded:: 0.3.0
        """
        checked = EncodedRecord.from_line(record.line, seq=record.seq, prev=record.prev)
        if checked.seq == 0:
            msg = "record 0 starts a journal: create the journal with it instead of appending it"
            raise InvalidInputError(msg)
        self._append_locked(lambda _seq, _prev: checked, Anchor(checked.seq - 1, checked.prev))

    def _append_locked(
        self,
        build: Callable[[int, str], EncodedRecord],
        expect_head: Anchor | Literal[_Unset.UNSET] | None,
    ) -> EncodedRecord:
        """Under the exclusive lock: catch up, compare heads, write what ``build`` makes."""
        fd, info = _open_locked(
            self._path, os.O_RDWR | os.O_APPEND, fcntl.LOCK_EX, self._lock_timeout
        )
        try:
            before = len(self._lines)
            self._catch_up(fd, info)
            if expect_head is not _UNSET and not self._lines.is_head(expect_head):
                expected = "an empty journal" if expect_head is None else f"head {expect_head}"
                actual = "it is empty" if self.head is None else f"it is {self.head}"
                msg = (
                    f"the journal {self._path} has moved on: you expected {expected} but "
                    f"{actual} ({len(self._lines) - before} record(s) appended by another "
                    "writer were just read). Nothing was written: resume from the journal and "
                    "retry the step."
                )
                raise ConcurrentAppendError(msg, path=str(self._path))
            record = build(len(self._lines), self._lines.last_digest)
            self._write(fd, record.line)
        finally:
            os.close(fd)  # also releases the lock
        self._lines.append_line(record.line)
        self._size += len(record.line)
        self._snapshot = None
        return record

    def refresh(self) -> Sequence[JournalRecord]:
        """Read the records other processes appended since this object last looked.

        Returns:
            The new records, in order (empty if there are none).

        Raises:
            TornRecordError: The file ends in an incomplete record.
            JournalCorruptedError: The new records do not verify, or the file
                shrank.
            JournalLockedError: Another process held the lock too long.
            JournalError: The file was removed or replaced.

        .. versionadded:: 0.1.0
        """
        fd, info = _open_locked(self._path, os.O_RDONLY, fcntl.LOCK_SH, self._lock_timeout)
        try:
            before = len(self._lines)
            self._catch_up(fd, info)
        finally:
            os.close(fd)
        new = self._read(before)
        if len(self._parsed) == before:
            self._parsed.extend(new)
        return tuple(new)

    def _catch_up(self, fd: int, info: os.stat_result) -> None:
        """Read and verify what was appended after ``self._size``; the lock is held.

        ``info`` is the descriptor's stat, taken under the lock.
        """
        if (info.st_dev, info.st_ino) != self._identity:
            msg = (
                f"the file at {self._path} is no longer the journal this object opened (it was "
                "replaced); open it again and check it with verify_journal()"
            )
            raise JournalError(msg, path=str(self._path))
        if info.st_size < self._size:
            msg = (
                f"the journal {self._path} shrank from {self._size} to {info.st_size} bytes "
                "since this object read it: records were removed. Keep the file as it is and "
                "run incidentkit.verify_journal() with an anchor."
            )
            raise JournalCorruptedError(msg, path=str(self._path))
        if info.st_size == self._size:
            return
        data = _read_range(fd, self._size, info.st_size)
        starts, stop = scan_clean(data, len(self._lines), self._lines.last_digest)
        if data.find(b"\n", stop) >= 0:
            whole = _read_range(fd, 0, info.st_size)
            _raise_for(self._path, check_bytes(whole, None))
            raise _corrupted(self._path, ())  # pragma: no cover - the analysis always finds it
        if stop < len(data):
            raise _torn(self._path, self._size + stop)
        self._lines.extend(data, starts)
        self._size = info.st_size
        self._snapshot = None

    def _write(self, fd: int, line: bytes) -> None:
        """Write one line with a single write and fsync it; undo a partial write."""
        try:
            written = os.write(fd, line)
        except OSError as exc:
            self._undo(fd)
            msg = f"could not append to the journal {self._path}: {exc.strerror or exc}"
            raise JournalError(msg, path=str(self._path)) from exc
        if written != len(line):
            self._undo(fd)
            msg = (
                f"could not append to the journal {self._path}: only {written} of {len(line)} "
                "bytes were written (is the disk full?); nothing was appended"
            )
            raise JournalError(msg, path=str(self._path))
        try:
            os.fsync(fd)
        except OSError as exc:
            msg = (
                f"fsync of the journal {self._path} failed ({exc.strerror or exc}): the record "
                "may not be durable. Open the journal again to see what it holds."
            )
            raise JournalError(msg, path=str(self._path)) from exc

    def _undo(self, fd: int) -> None:
        """Cut off our own unacknowledged partial line; the lock is held."""
        try:
            os.ftruncate(fd, self._size)
            os.fsync(fd)
        except OSError:  # pragma: no cover - then open() reports a torn tail
            pass


# -- checking and repair -----------------------------------------------------


def record_lines(journal: Journal) -> RecordLines:
    """Return the verified lines a journal holds, for readers inside the package.

    Resume and catching up read the bodies from here, parsing each once, rather
    than through :attr:`Journal.records` (a tuple of every record, parsed).
    """
    # The journal's own module reads its own slot; there is no public way, on purpose.
    return journal._lines  # noqa: SLF001 # pyright: ignore[reportPrivateUsage]


def verify_journal(
    path: str | os.PathLike[str], *, anchor: Anchor | None = None, lock_timeout: float = 10.0
) -> VerificationReport:
    """Check a journal file and report every problem found.

    Without an anchor, records cut from the end of the journal leave no
    trace: the remaining chain is intact. Pass an anchor recorded earlier to
    detect that, and any rewrite of the records up to it. The anchor proves
    nothing about the records after its seq (a forger can append records with
    a recomputed chain): the report lists them in ``report.uncovered`` and
    says so in ``str(report)``.

    Args:
        path: The journal file.
        anchor: An anchor taken from the journal earlier (see :class:`Anchor`).
        lock_timeout: Seconds to wait for a shared lock, so that an append in
            progress is not mistaken for a torn record.

    Returns:
        The report; ``report.ok`` is true when nothing is wrong, and
        ``report.covered`` when, besides, the anchor covers every record.

    Raises:
        JournalError: The file does not exist or cannot be read.
        JournalLockedError: Another process held the lock too long.
        InvalidInputError: ``lock_timeout`` is negative or not finite.

    .. versionadded:: 0.1.0
    """
    timeout = _check_timeout(lock_timeout)
    journal_path = pathlib.Path(path)
    fd, info = _open_locked(journal_path, os.O_RDONLY, fcntl.LOCK_SH, timeout)
    try:
        data = _read_range(fd, 0, info.st_size)
    finally:
        os.close(fd)
    findings = check_bytes(data, anchor)
    return VerificationReport(
        path=str(journal_path),
        records=findings.records,
        head=findings.head,
        problems=findings.problems,
        anchor=anchor,
        uncovered=findings.uncovered,
    )


def repair_torn_tail(
    path: str | os.PathLike[str], *, lock_timeout: float = 10.0
) -> pathlib.Path | None:
    """Move an incomplete last record to a side file and cut it from the journal.

    The fragment's bytes are written to ``<name>.torn-<offset>`` next to the
    journal and fsynced (with the directory) before the journal is truncated
    to its last complete record and fsynced. Nothing is dropped.

    Args:
        path: The journal file.
        lock_timeout: Seconds to wait for the exclusive lock.

    Returns:
        The side file's path, or ``None`` if the journal did not end in a
        torn record (then nothing was changed).

    Raises:
        JournalCorruptedError: The journal has problems other than a torn
            tail; nothing was changed.
        JournalError: The file does not exist, or a side file of that name
            already exists with other contents.
        JournalLockedError: Another process held the lock too long.
        InvalidInputError: ``lock_timeout`` is negative or not finite.

    .. versionadded:: 0.1.0
    """
    timeout = _check_timeout(lock_timeout)
    journal_path = pathlib.Path(path)
    fd, info = _open_locked(journal_path, os.O_RDWR, fcntl.LOCK_EX, timeout)
    try:
        data = _read_range(fd, 0, info.st_size)
        findings = check_bytes(data, None)
        serious = [problem for problem in findings.problems if problem.kind != "torn"]
        if serious:
            corrupted = _corrupted(journal_path, serious)
            msg = f"refusing to repair: only a torn tail can be repaired, and {corrupted}"
            raise JournalCorruptedError(msg, path=str(journal_path)) from corrupted
        offset = findings.torn_offset
        if offset is None:
            return None
        side = journal_path.with_name(f"{journal_path.name}.torn-{offset}")
        _save_fragment(side, data[offset:], journal_path)
        _fsync_dir(journal_path.absolute().parent)
        os.ftruncate(fd, offset)
        os.fsync(fd)
        return side
    finally:
        os.close(fd)


def _save_fragment(side: pathlib.Path, fragment: bytes, journal_path: pathlib.Path) -> None:
    try:
        fd = os.open(side, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    except FileExistsError as exc:
        # A repair interrupted after saving the fragment: fine if it holds the same bytes.
        if side.read_bytes() == fragment:
            return
        msg = (
            f"cannot save the torn record of {journal_path}: {side} already exists with other "
            "contents. Move it away and repair again."
        )
        raise JournalError(msg, path=str(journal_path)) from exc
    try:
        view = memoryview(fragment)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
