"""The journal's hash chain: record encoding, digests, anchors and verification.

Everything here works on records and bytes, never on files, so that any store
of journal lines (the file store in :mod:`incidentkit._journal`, a database
table later) encodes, chains and verifies them the same way.

A line looks like this (the body's keys are sorted, the digests shortened)::

    {"v": 1, "digest": "9f2c…", "seq": 0, "prev": "0000…", "body": {"kind": "opened"}}

The digest is the SHA-256 of the line's bytes from ``"seq":`` up to (not
including) the final ``}``: the sequence number, the previous digest and the
body exactly as written. Readers hash the bytes they read instead of
re-serialising the body, and opening a journal checks the chain without
parsing the bodies at all (:func:`scan_clean`): a body is parsed when it is
read, so verifying costs little more than reading and hashing the file.

An :class:`Anchor` (a head's seq and digest kept elsewhere) fixes every
record up to its seq; what lies after it only the chain vouches for, and
:func:`check_bytes` says so (``Findings.uncovered``).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import operator
import re
from array import array
from typing import TYPE_CHECKING, Any, Final, Literal, NoReturn, TypeAlias, cast

import attrs

from incidentkit._errors import InvalidInputError

MAX_RECORD_BYTES: Final = 64 * 1024 * 1024
"""The largest journal record, in bytes of JSON: a larger one is refused, nothing written.

.. versionadded:: 0.2.0
"""

if TYPE_CHECKING:
    import json
    from collections.abc import Callable, Iterator, Sequence

__all__ = [
    "FORMAT_VERSION",
    "GENESIS_DIGEST",
    "MAX_RECORD_BYTES",
    "Anchor",
    "EncodedRecord",
    "Findings",
    "JournalProblem",
    "JournalRecord",
    "ProblemKind",
    "RecordLines",
    "VerificationReport",
    "analyse",
    "anchor_problems",
    "check_bytes",
    "decode_body",
    "encode_body",
    "encode_line",
    "encode_record",
    "parse_body",
    "scan_clean",
    "split_records",
    "trusted_anchor",
]

FORMAT_VERSION: Final = 1
"""The format version written in every line's ``"v"`` field.

.. versionadded:: 0.1.0
"""

GENESIS_DIGEST: Final = "0" * 64
"""The ``prev`` of the first record (seq 0): 64 zeros.

.. versionadded:: 0.1.0
"""

ProblemKind: TypeAlias = Literal["edited", "deleted", "reordered", "truncated", "torn", "malformed"]
"""What :func:`verify_journal` found wrong with a line.

.. versionadded:: 0.1.0
"""

_HEX64: Final = re.compile(r"[0-9a-f]{64}")
_HEAD: Final = b'{"v":1,"digest":"'
_DIGEST_END: Final = len(_HEAD) + 64  # the digest is line[len(_HEAD):_DIGEST_END]
_HASHED_START: Final = _DIGEST_END + 2  # after the digest's closing '",'
_RECORD_KEYS: Final = frozenset({"v", "digest", "seq", "prev", "body"})
_SHORT: Final = 12  # hex digits of a digest shown in messages


@functools.cache
def _sha256() -> Callable[[bytes | memoryview], Any]:
    """Return :func:`hashlib.sha256`, importing hashlib on first use.

    hashlib loads OpenSSL, and json builds its codecs: together a tenth of
    what ``import incidentkit`` would otherwise cost, which a journal needs
    only once it is opened or written.
    """
    import hashlib  # noqa: PLC0415 - on first use, see above

    return hashlib.sha256


def _reject_constant(name: str) -> NoReturn:
    msg = f"{name} is not valid JSON"
    raise ValueError(msg)


@functools.cache
def _codec() -> tuple[json.JSONEncoder, json.JSONDecoder]:
    """Return the journal's JSON encoder and decoder, built on first use.

    Canonical on write (sorted keys, compact, UTF-8), strict on read as on
    write: NaN and Infinity are not JSON.
    """
    import json  # noqa: PLC0415 - on first use, see _sha256

    encoder = json.JSONEncoder(
        sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return encoder, json.JSONDecoder(parse_constant=_reject_constant)


def _short(digest: str) -> str:
    return digest[:_SHORT] + "…"


# -- values ------------------------------------------------------------------


def _check_anchor_seq(_instance: Anchor, _attribute: attrs.Attribute[int], value: int) -> None:
    checked = cast("object", value)
    if type(checked) is not int or value < 0:
        msg = f"an anchor's seq must be an int >= 0, not {value!r}"
        raise InvalidInputError(msg)


def _check_anchor_digest(_instance: Anchor, _attribute: attrs.Attribute[str], value: str) -> None:
    checked = cast("object", value)
    if not isinstance(checked, str) or not _HEX64.fullmatch(checked):
        msg = f"an anchor's digest must be 64 lowercase hex characters, not {value!r}"
        raise InvalidInputError(msg)


@attrs.frozen
class Anchor:
    """The head of a journal's chain: enough to detect later truncation.

    Keep an anchor somewhere the journal's writer cannot reach (the incident
    ticket, a chat message, a second machine). :func:`verify_journal` with
    that anchor then reveals records cut from the end, and any rewrite of the
    records up to the anchor, which the chain alone cannot show.

    ``str(anchor)`` is ``"<seq>:<digest>"``; :meth:`parse` reads it back.

    Attributes:
        seq: The sequence number of the head record.
        digest: The head record's digest, 64 lowercase hex characters.

    Raises:
        InvalidInputError: ``seq`` is negative or ``digest`` is not 64
            lowercase hex characters.

    .. versionadded:: 0.1.0
    """

    seq: int = attrs.field(validator=_check_anchor_seq)
    digest: str = attrs.field(validator=_check_anchor_digest)

    def __str__(self) -> str:
        """Return the compact form ``"<seq>:<digest>"``."""
        return f"{self.seq}:{self.digest}"

    @classmethod
    def parse(cls, text: str) -> Anchor:
        """Read an anchor back from its compact form ``"<seq>:<digest>"``.

        Args:
            text: What ``str(anchor)`` returned.

        Returns:
            The anchor.

        Raises:
            InvalidInputError: The text is not of that form.

        .. versionadded:: 0.1.0
        """
        seq_text, sep, digest = text.strip().partition(":")
        if not sep or not seq_text.isdecimal() or not seq_text.isascii():
            msg = f"{text!r} is not an anchor: expected '<seq>:<64 hex digest>', e.g. '41:9f2c…'"
            raise InvalidInputError(msg)
        return cls(int(seq_text), digest)


def trusted_anchor(seq: int, digest: str) -> Anchor:
    """Build an anchor without its validators, from a record this process just chained.

    For the append path only (see ``_Core.record``): ``seq`` is the int the
    journal counted and ``digest`` a SHA-256 hex digest it computed, so the
    checks an :class:`Anchor` runs on what a caller gives would only repeat
    themselves on every append.
    """
    anchor = object.__new__(Anchor)
    object.__setattr__(anchor, "seq", seq)
    object.__setattr__(anchor, "digest", digest)
    return anchor


@attrs.frozen
class JournalRecord:
    """One record of a journal, as read from or written to the file.

    Attributes:
        seq: The record's position, counting from 0 without gaps.
        prev: The digest of the record before it; :data:`GENESIS_DIGEST` for
            seq 0.
        digest: SHA-256 over this record's seq, prev and body as written.
        body: The JSON object stored, as the journal reads it back (a tuple
            written comes back as a list). Do not mutate it.

    .. versionadded:: 0.1.0
    """

    seq: int
    prev: str
    digest: str
    body: dict[str, Any]

    @property
    def anchor(self) -> Anchor:
        """The anchor for a journal whose head is this record.

        .. versionadded:: 0.1.0
        """
        return Anchor(self.seq, self.digest)


@attrs.frozen
class EncodedRecord:
    """One record as a journal store keeps it: the exact bytes of its line.

    The library encodes and chains records; a store only keeps their bytes,
    in order, and compares heads (see :class:`~incidentkit.protocols.JournalStore`).
    Build one with :meth:`from_line`, which checks the line; a store checks
    every record it is given the same way, so it never holds a broken chain.

    Attributes:
        seq: The record's sequence number, from 0.
        prev: The digest of the record before it (:data:`GENESIS_DIGEST` for seq 0).
        digest: The record's own digest.
        line: The record's line, newline included, exactly as hashed.

    .. versionadded:: 0.3.0
    """

    seq: int
    prev: str
    digest: str
    line: bytes = attrs.field(repr=lambda line: f"<{len(line)} bytes>")

    @classmethod
    def from_line(cls, line: bytes, *, seq: int, prev: str) -> EncodedRecord:
        """Check that ``line`` is exactly record ``seq`` following ``prev``, and wrap it.

        Raises:
            InvalidInputError: The line is not one intact record with that
                seq and prev whose digest matches its bytes.
        """
        checked = cast("object", line)
        if not isinstance(checked, bytes) or not _HEX64.fullmatch(prev) or seq < 0:
            msg = f"not a record line: {type(checked).__name__} for seq {seq!r}"
            raise InvalidInputError(msg)
        starts, stop = scan_clean(line, seq, prev)
        if len(starts) != 1 or stop != len(line):
            msg = (
                f"not record {seq} following {_short(prev)}: the line is not laid out as the "
                "journal writes it, carries another seq or prev, or does not match its digest"
            )
            raise InvalidInputError(msg)
        return cls(seq, prev, line[len(_HEAD) : _DIGEST_END].decode("ascii"), line)

    @property
    def anchor(self) -> Anchor:
        """The anchor of a journal whose head is this record.

        .. versionadded:: 0.3.0
        """
        return Anchor(self.seq, self.digest)


def encode_record(seq: int, prev: str, body_bytes: bytes) -> EncodedRecord:
    """Chain an encoded body after ``prev`` as record ``seq``, as an :class:`EncodedRecord`."""
    digest, line = encode_line(seq, prev, body_bytes)
    return EncodedRecord(seq, prev, digest, line)


def split_records(data: bytes, first: int, prev: str) -> list[EncodedRecord]:
    """Split verified lines (record ``first`` on, following ``prev``) into records.

    Raises:
        InvalidInputError: ``data`` is not a run of intact records continuing the chain.
    """
    starts, stop = scan_clean(data, first, prev)
    if stop != len(data):
        msg = f"the lines from record {first} on are not an intact continuation of the chain"
        raise InvalidInputError(msg)
    out: list[EncodedRecord] = []
    ends = [*starts[1:], len(data)]
    for offset, (start, end) in enumerate(zip(starts, ends, strict=True)):
        digest = data[start + len(_HEAD) : start + _DIGEST_END].decode("ascii")
        out.append(EncodedRecord(first + offset, prev, digest, data[start:end]))
        prev = digest
    return out


@attrs.frozen
class JournalProblem:
    """One thing :func:`verify_journal` found wrong.

    Attributes:
        kind: ``"edited"`` (a record's contents or its link to the record
            before it do not match its digest), ``"deleted"`` (sequence
            numbers are missing), ``"reordered"`` (a record comes after one
            with a higher or equal sequence number), ``"truncated"`` (the
            journal does not reach, or does not match, the anchor given),
            ``"torn"`` (the file ends in an incomplete record) or
            ``"malformed"`` (the line is not a record of this format).
        line: The 1-based line number in the file. For ``"truncated"`` past
            the end and for ``"torn"`` this is the line after the last
            complete one.
        seq: The sequence number concerned: the record's on that line, or
            the anchor's for ``"truncated"``; ``None`` when there is none.
        detail: What was found, in plain words.

    .. versionadded:: 0.1.0
    """

    kind: ProblemKind
    line: int
    seq: int | None
    detail: str

    def __str__(self) -> str:
        """Return ``"line N (seq S): kind: detail"``."""
        where = f"line {self.line}" if self.seq is None else f"line {self.line} (seq {self.seq})"
        return f"{where}: {self.kind}: {self.detail}"


@attrs.frozen
class VerificationReport:
    """What :func:`verify_journal` found.

    With an anchor, the report also says which records the anchor does not
    cover: those after its seq. The chain alone vouches for them, and anyone
    who can write the file can append records with a recomputed chain, so
    they verify as ``ok`` yet prove nothing until compared with what is
    known to have happened. ``str(report)`` says so in plain words.

    Attributes:
        path: The journal file verified.
        records: How many complete lines parse as records (intact or not).
        head: The last such record in the file as an anchor, or ``None``.
        problems: Every problem found, in file order.
        anchor: The anchor verified against, or ``None`` if none was given.
        uncovered: The sequence numbers after the anchor's, up to the
            highest in the file: the records the anchor does not vouch for
            (an empty range when it covers every record). ``None`` when
            verified without an anchor.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       ``anchor``, ``uncovered`` and :attr:`covered`.
    """

    path: str
    records: int
    head: Anchor | None
    problems: tuple[JournalProblem, ...]
    anchor: Anchor | None = None
    uncovered: range | None = None

    @property
    def ok(self) -> bool:
        """Whether no problem was found.

        Records after the anchor are not a problem (a journal grows after an
        anchor is taken), so ``ok`` says nothing about them: see
        :attr:`covered` and :attr:`uncovered`.

        .. versionadded:: 0.1.0
        """
        return not self.problems

    @property
    def covered(self) -> bool:
        """Whether the anchor vouches for the whole journal: no problem, no record after it.

        Always false without an anchor.

        .. versionadded:: 0.2.0
        """
        return self.ok and self.uncovered is not None and not self.uncovered

    def __str__(self) -> str:
        """Return a readable summary, one problem per line, and what the anchor does not cover."""
        head = "no head" if self.head is None else f"head seq {self.head.seq} ({self.head.digest})"
        summary = f"journal {self.path}: {self.records} records, {head}"
        coverage = self._coverage()
        if self.ok:
            return f"{summary}: OK" if coverage is None else f"{summary}: OK; {coverage}"
        lines = [f"{summary}: {len(self.problems)} problem(s)"]
        lines.extend(f"  {problem}" for problem in self.problems)
        if coverage is not None and self.uncovered:
            lines.append(f"  and {coverage}")
        return "\n".join(lines)

    def _coverage(self) -> str | None:
        """Say what the anchor covers, or ``None`` without an anchor."""
        if self.anchor is None or self.uncovered is None:
            return None
        at = f"the anchor at seq {self.anchor.seq} ({_short(self.anchor.digest)})"
        if not self.uncovered:
            return f"{at} covers every record"
        first, last = self.uncovered[0], self.uncovered[-1]
        seqs = f"seq {first}" if first == last else f"seqs {first}-{last}"
        return (
            f"NOT covered by {at}: {len(self.uncovered)} record(s) after it, {seqs}. Only the "
            "hash chain vouches for them, and anyone who can write the file can append records "
            "with a recomputed chain: check them against what you know happened before you "
            "trust them or take a newer anchor."
        )


# -- encoding ----------------------------------------------------------------


_CONTAINERS: Final = (dict, list, tuple)


def _has_non_str_key(body: dict[str, Any]) -> bool:
    """Whether a dict key that is not a string hides anywhere in ``body``.

    The check of every append, so it only walks the containers; where the key
    is (:func:`_non_str_key`) is worked out when there is one.
    """
    stack: list[Any] = [body]  # objects of any type: only isinstance looks at them
    pop, push = stack.pop, stack.append
    containers = _CONTAINERS
    while stack:
        value = pop()
        if isinstance(value, dict):
            for key, item in cast("dict[object, object]", value).items():
                if type(key) is not str and not isinstance(key, str):
                    return True
                if type(item) is not str and isinstance(item, containers):
                    push(item)
        else:  # a list or a tuple: only containers are pushed
            for item in cast("Sequence[object]", value):
                if type(item) is not str and isinstance(item, containers):
                    push(item)
    return False


def _non_str_key(body: dict[str, Any]) -> str | None:
    """Return where a dict key that is not a string hides in ``body``, if anywhere."""
    if not _has_non_str_key(body):
        return None
    stack: list[tuple[object, str]] = [(body, "body")]
    while stack:
        value, where = stack.pop()
        if isinstance(value, dict):
            for key, item in cast("dict[object, object]", value).items():
                if not isinstance(key, str):
                    return f"{where} has the key {key!r} ({type(key).__name__})"
                stack.append((item, f"{where}[{key!r}]"))
        elif isinstance(value, (list, tuple)):
            items = cast("Sequence[object]", value)
            stack.extend((item, f"{where}[{index}]") for index, item in enumerate(items))
    return None


def encode_body(body: dict[str, Any]) -> bytes:
    """Serialise a body canonically, or explain why it cannot be written."""
    checked = cast("object", body)
    if not isinstance(checked, dict):
        msg = f"a journal body must be a dict with string keys, not {type(checked).__name__}"
        raise InvalidInputError(msg)
    try:
        text = _codec()[0].encode(body)
    except ValueError as exc:
        if "Out of range float" in str(exc):
            msg = (
                "the body contains NaN or infinity, which JSON cannot represent; nothing was "
                "written. Record such a value as null or as a string (e.g. 'NaN') instead."
            )
        else:
            msg = f"the body cannot be written as JSON ({exc}); nothing was written"
        raise InvalidInputError(msg) from exc
    except TypeError as exc:
        msg = (
            f"the body is not JSON-able ({exc}); nothing was written. Bodies hold only "
            "dicts with string keys, lists, strings, numbers, booleans and None."
        )
        raise InvalidInputError(msg) from exc
    except RecursionError as exc:
        msg = "the body nests too deeply to be written as JSON; nothing was written"
        raise InvalidInputError(msg) from exc
    where = _non_str_key(body)
    if where is not None:
        msg = f"{where}: JSON object keys must be strings; nothing was written"
        raise InvalidInputError(msg)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        msg = (
            f"the body contains a string that is not valid Unicode ({exc.reason}, "
            f"{exc.object[exc.start : exc.end]!r}); nothing was written"
        )
        raise InvalidInputError(msg) from exc
    if len(data) > MAX_RECORD_BYTES:
        msg = (
            f"the record would take {len(data):,} bytes, over the limit of "
            f"{MAX_RECORD_BYTES:,} a record (incidentkit.MAX_RECORD_BYTES); nothing was "
            "written. Record less at once: a shorter text, a narrower window of changes."
        )
        raise InvalidInputError(msg)
    return data


def _hashed_part(seq: int, prev: str, body_bytes: bytes) -> bytes:
    return b'"seq":%d,"prev":"%s","body":%s' % (seq, prev.encode("ascii"), body_bytes)


def encode_line(seq: int, prev: str, body_bytes: bytes) -> tuple[str, bytes]:
    """Chain an encoded body after ``prev`` as record ``seq``.

    Args:
        seq: The record's sequence number.
        prev: The digest of the record before it (:data:`GENESIS_DIGEST` for seq 0).
        body_bytes: The body as :func:`encode_body` returned it.

    Returns:
        The record's digest and its line, newline included.
    """
    hashed = _hashed_part(seq, prev, body_bytes)
    digest = _sha256()(hashed).hexdigest()
    return digest, b'{"v":1,"digest":"%s",%s}\n' % (digest.encode("ascii"), hashed)


def decode_body(body_bytes: bytes) -> dict[str, Any]:
    """Read an encoded body back as the journal's readers will see it."""
    return cast("dict[str, Any]", _codec()[1].decode(body_bytes.decode("utf-8")))


# -- reading -----------------------------------------------------------------


_CLOSE_BRACE: Final = ord("}")


def scan_clean(data: bytes, seq: int, prev: str) -> tuple[array[int], int]:
    """Check lines expected to be intact records continuing the chain at ``seq``.

    Each complete line (up to a newline) must be laid out exactly as
    :func:`encode_line` writes it, carry the next seq and the previous
    record's digest, and hash to its own digest. The bodies are not parsed:
    the digest vouches for their bytes, which only :func:`encode_body` (valid,
    canonical JSON) writes; readers parse them when they read them.

    Returns:
        The offsets in ``data`` where the intact lines start, and the offset
        just after the last of them: where the first line that is not
        exactly the next record (or an incomplete last line) begins.
    """
    starts = array("q")
    add = starts.append
    sha256 = _sha256()
    find = data.find
    startswith = data.startswith
    view = memoryview(data)
    pos = 0
    previous = prev.encode("ascii")
    while True:
        end = find(b"\n", pos)
        if end < 0:
            break
        middle = b'","seq":%d,"prev":"%s","body":' % (seq, previous)
        if not (
            startswith(_HEAD, pos)
            and startswith(middle, pos + _DIGEST_END)
            and data[end - 1] == _CLOSE_BRACE
        ):
            break
        digest = data[pos + len(_HEAD) : pos + _DIGEST_END]
        if sha256(view[pos + _HASHED_START : end - 1]).hexdigest().encode("ascii") != digest:
            break
        add(pos)
        previous = digest
        seq += 1
        pos = end + 1
    view.release()
    return starts, pos


def _bad_body(seq: int, problem: str) -> ValueError:
    return ValueError(
        f"record {seq}'s body matches its digest but {problem}: only a writer that recomputed "
        "the chain writes that; keep the file as it is and run verify_journal() on it"
    )


def parse_body(raw: bytes, seq: int) -> dict[str, Any]:
    """Parse a body's bytes as the journal's readers see it (strict: no NaN or infinity).

    Raises:
        ValueError: The bytes are not a JSON object in UTF-8.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad_body(seq, f"is not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    decoder = _codec()[1]
    body: object = None
    end = -1
    # What the journal writes is one object and nothing around it: the scanner
    # alone reads that. Anything else goes through the decoder's full rules.
    with contextlib.suppress(ValueError, RecursionError):
        body, end = decoder.raw_decode(text)
    if end != len(text):
        try:
            body = decoder.decode(text)
        except ValueError as exc:
            raise _bad_body(seq, f"is not JSON ({exc})") from None
        except RecursionError:
            raise _bad_body(seq, "nests too deeply to parse") from None
    if type(body) is not dict:
        raise _bad_body(seq, f"is a JSON {type(body).__name__}, not an object")
    return cast("dict[str, Any]", body)


class RecordLines:
    """Verified records kept as the bytes of their lines; a record is parsed when read.

    A journal holds its file's bytes (about the file's size in memory) and
    the offset of each line, rather than a parsed body per record (several
    times the file's size). Chunks are the blocks read from the file or the
    lines appended; each record is one line of one chunk.
    """

    __slots__ = ("_chunk", "_chunks", "_start")

    def __init__(self) -> None:
        """Start with no record."""
        self._chunks: list[bytes] = []
        self._chunk = array("l")  # which chunk each record's line is in
        self._start = array("q")  # where that line starts in its chunk

    def __len__(self) -> int:
        """Return how many records there are."""
        return len(self._start)

    def extend(self, chunk: bytes, starts: array[int]) -> None:
        """Add the records whose lines start at ``starts`` in ``chunk`` (see :func:`scan_clean`)."""
        if not starts:
            return
        self._chunk.extend(array("l", [len(self._chunks)]) * len(starts))
        self._start.extend(starts)
        self._chunks.append(chunk)

    def append_line(self, line: bytes) -> None:
        """Add one record whose line (verified, or just written) is all of ``line``."""
        self._chunk.append(len(self._chunks))
        self._start.append(0)
        self._chunks.append(line)

    def is_head(self, anchor: object) -> bool:
        """Whether ``anchor`` is the last record's anchor (``None``: there is no record).

        The same answer as ``anchor == self.head``, without building the head.
        """
        count = len(self._start)
        if anchor is None:
            return not count
        return (
            type(anchor) is Anchor
            and count > 0
            and anchor.seq == count - 1
            and anchor.digest == self.digest(count - 1)
        )

    def digest(self, seq: int) -> str:
        """Return record ``seq``'s digest."""
        start = self._start[seq]
        return self._chunks[self._chunk[seq]][start + len(_HEAD) : start + _DIGEST_END].decode()

    def prev(self, seq: int) -> str:
        """Return the digest record ``seq`` follows (:data:`GENESIS_DIGEST` for seq 0)."""
        return self.digest(seq - 1) if seq else GENESIS_DIGEST

    @property
    def last_digest(self) -> str:
        """The last record's digest, or :data:`GENESIS_DIGEST` if there is none."""
        return self.prev(len(self._start))

    @property
    def head(self) -> Anchor | None:
        """The last record as an anchor, or ``None`` if there is none."""
        count = len(self._start)
        return Anchor(count - 1, self.digest(count - 1)) if count else None

    def bodies(self, first: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
        """Yield ``(seq, body)`` for each record from ``first`` on, parsing each body.

        Raises:
            ValueError: A body is not a JSON object (see :func:`parse_body`).
        """
        chunks, chunk_of, starts = self._chunks, self._chunk, self._start
        for seq in range(first, len(starts)):
            chunk = chunks[chunk_of[seq]]
            start = starts[seq]
            body = chunk.index(b'"body":', start + _HASHED_START) + len(b'"body":')
            end = chunk.index(b"\n", body)
            yield seq, parse_body(chunk[body : end - 1], seq)

    def body(self, seq: int) -> bytes:
        """Return record ``seq``'s body as written (its bytes, unparsed)."""
        chunk = self._chunks[self._chunk[seq]]
        start = self._start[seq]
        body = chunk.index(b'"body":', start + _HASHED_START) + len(b'"body":')
        return chunk[body : chunk.index(b"\n", body) - 1]

    def data(self, first: int = 0) -> bytes:
        """Return the lines of the records from ``first`` on, joined, as the file holds them."""
        count = len(self._start)
        if first >= count:
            return b""
        chunks, chunk_of, starts = self._chunks, self._chunk, self._start
        parts: list[bytes] = []
        seq = first
        while seq < count:
            index = chunk_of[seq]
            chunk = chunks[index]
            last = seq
            while last + 1 < count and chunk_of[last + 1] == index:
                last += 1
            end = chunk.index(b"\n", starts[last]) + 1
            parts.append(chunk[starts[seq] : end])
            seq = last + 1
        return b"".join(parts)

    def records(self, first: int = 0) -> list[JournalRecord]:
        """Return the records from ``first`` on, their bodies parsed.

        Raises:
            ValueError: A body is not a JSON object (see :func:`parse_body`).
        """
        out: list[JournalRecord] = []
        if first >= len(self._start):
            return out
        prev = self.prev(first)
        for seq, body in self.bodies(first):
            digest = self.digest(seq)
            out.append(JournalRecord(seq, prev, digest, body))
            prev = digest
        return out


@attrs.frozen
class _Parsed:
    """A complete line that parses as a record, for the slow analysis."""

    line: int
    seq: int
    prev: str
    digest: str
    computed: str
    layout_ok: bool


def _load_line(raw: bytes) -> dict[str, object] | str:
    """Parse a line as a JSON object, or say why it is not one."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"the line is not valid UTF-8 ({exc.reason} at byte {exc.start})"
    if not text.strip():
        return "the line is empty"
    try:
        obj: object = _codec()[1].decode(text)
    except ValueError as exc:
        return f"the line is not JSON ({exc})"
    except RecursionError:
        return "the line nests too deeply to parse"
    if not isinstance(obj, dict):
        return f"the line is a JSON {type(obj).__name__}, but a record is a JSON object"
    return cast("dict[str, object]", obj)


def _record_fields(fields: dict[str, object]) -> tuple[int, str, str, object] | str:
    """Check a JSON object's record fields: ``(seq, prev, digest, body)``, or what is wrong."""
    if fields.keys() != _RECORD_KEYS:
        missing = sorted(_RECORD_KEYS - fields.keys())
        extra = sorted(fields.keys() - _RECORD_KEYS)
        return f"the object is not a record: missing keys {missing}, unexpected keys {extra}"
    version, seq, prev, digest, body = (fields[k] for k in ("v", "seq", "prev", "digest", "body"))
    problem = None
    if type(version) is not int or version != FORMAT_VERSION:
        problem = f"unsupported format version {version!r}; this incidentkit reads version 1"
    elif type(seq) is not int or seq < 0:
        problem = f"seq must be an integer >= 0, not {seq!r}"
    elif not isinstance(prev, str) or not _HEX64.fullmatch(prev):
        problem = f"prev must be 64 lowercase hex characters, not {prev!r}"
    elif not isinstance(digest, str) or not _HEX64.fullmatch(digest):
        problem = f"digest must be 64 lowercase hex characters, not {digest!r}"
    elif not isinstance(body, dict):
        problem = f"body must be a JSON object, not a JSON {type(body).__name__}"
    else:
        return seq, prev, digest, cast("dict[str, object]", body)
    return problem


def _parse_line(raw: bytes, line: int) -> _Parsed | str:
    """Parse one complete line for the slow analysis, or say why it is not a record."""
    fields = _load_line(raw)
    if isinstance(fields, str):
        return fields
    checked = _record_fields(fields)
    if isinstance(checked, str):
        return checked
    seq, prev, digest, body = checked
    prefix = f'{{"v":1,"digest":"{digest}","seq":{seq},"prev":"{prev}","body":'.encode()
    if raw.startswith(prefix) and raw.endswith(b"}"):
        try:
            _codec()[1].decode(raw[len(prefix) : -1].decode("utf-8"))
        except ValueError:
            return "the body is followed by more data inside the record"
        computed = _sha256()(raw[_HASHED_START:-1]).hexdigest()
        return _Parsed(line, seq, prev, digest, computed, layout_ok=True)
    # Not laid out as the journal writes lines: hash the canonical form, to
    # tell a mere re-serialisation (content intact) from an edit.
    try:
        canonical = _codec()[0].encode(body).encode("utf-8")
    except UnicodeEncodeError:
        return "the body holds a string that is not valid Unicode (a lone surrogate)"
    computed = _sha256()(_hashed_part(seq, prev, canonical)).hexdigest()
    return _Parsed(line, seq, prev, digest, computed, layout_ok=False)


@attrs.frozen
class Findings:
    """The outcome of checking a whole file."""

    records: int
    head: Anchor | None
    problems: tuple[JournalProblem, ...]
    torn_offset: int | None
    uncovered: range | None  # see VerificationReport.uncovered


def _uncovered(anchor: Anchor | None, last_seq: int) -> range | None:
    """Return the seqs after the anchor's up to ``last_seq``; ``None`` without an anchor."""
    if anchor is None:
        return None
    return range(anchor.seq + 1, max(anchor.seq, last_seq) + 1)


def _torn_problem(line: int, offset: int, fragment: bytes) -> JournalProblem:
    return JournalProblem(
        "torn",
        line,
        None,
        f"the file ends in {len(fragment)} byte(s) at offset {offset} without a newline: an "
        "incomplete record, typically from a crash during an append, which was therefore never "
        "acknowledged. The records before it are intact; repair_torn_tail() moves the fragment "
        "to a side file.",
    )


def _anchor_problems(
    anchor: Anchor, find: Callable[[int], tuple[int, str] | None], last_seq: int, last_line: int
) -> list[JournalProblem]:
    """Check the journal against an anchor; ``find(seq)`` gives (line, digest)."""
    if not isinstance(cast("object", anchor), Anchor):
        msg = (
            f"anchor must be an Anchor (Anchor.parse('<seq>:<digest>') reads its text), "
            f"not {type(anchor).__name__} {anchor!r:.60}"
        )
        raise InvalidInputError(msg)
    found = find(anchor.seq)
    if found is None:
        if anchor.seq <= last_seq:
            return []  # inside a gap: reported as deleted already
        ends = "holds no records" if last_seq < 0 else f"ends at seq {last_seq}"
        return [
            JournalProblem(
                "truncated",
                last_line + 1,
                anchor.seq,
                f"the anchor says the journal reached seq {anchor.seq} but it {ends}: "
                f"{anchor.seq - last_seq} record(s) were cut from the end",
            )
        ]
    line, digest = found
    if digest == anchor.digest:
        return []
    return [
        JournalProblem(
            "truncated",
            line,
            anchor.seq,
            f"the record at seq {anchor.seq} has digest {_short(digest)} but the anchor says "
            f"{_short(anchor.digest)}: the journal was cut back and rewritten from here or "
            "earlier (or this record was edited)",
        )
    ]


def anchor_problems(lines: RecordLines, anchor: Anchor) -> list[JournalProblem]:
    """Check clean records (one a line, in order) against an anchor kept elsewhere.

    Returns a ``truncated`` problem when the records end before the anchor or
    the record at its seq is not the one it names; nothing when they agree.
    """

    def find(seq: int) -> tuple[int, str] | None:
        return (seq + 1, lines.digest(seq)) if seq < len(lines) else None

    return _anchor_problems(anchor, find, len(lines) - 1, len(lines))


_BLOCK: Final = 1 << 20  # bytes of lines split and checked at once by _check_clean
_LINE_START: Final = '{"v":1,"digest":"%s","seq":%d,"prev":"%s","body":{'
_HASHED: Final = operator.itemgetter(slice(_HASHED_START, -1))  # a line's hashed bytes
_HEXDIGEST: Final = operator.methodcaller("hexdigest")
_END: Final = operator.itemgetter(1)  # where a scanned value ends


@functools.cache
def _scanner() -> Callable[[str, int], tuple[object, int]]:
    """Return the journal's decoder as a scanner: ``(value, end)`` of the JSON at an index.

    What :meth:`json.JSONDecoder.raw_decode` calls, without its Python-level
    wrapper: the same strict rules (no NaN or infinity), one C call per body.
    It raises :class:`StopIteration` (no value there) or :class:`ValueError`.
    """
    import json.scanner  # noqa: PLC0415 - on first use, see _sha256

    scanner: Callable[[str, int], tuple[object, int]]
    scanner = json.scanner.make_scanner(cast("Any", _codec()[1]))
    return scanner


def _blocks(data: bytes, stop: int) -> Iterator[tuple[int, int]]:
    """Yield ``(begin, cut)``: ``data[:stop]``, whole lines, in blocks of about a mebibyte."""
    begin = 0
    while begin < stop:
        limit = begin + _BLOCK
        if limit >= stop:
            cut = stop
        else:
            cut = data.rfind(b"\n", begin, limit) + 1
            if cut <= begin:  # one line longer than a block: up to its end
                cut = data.index(b"\n", limit) + 1
        yield begin, cut
        begin = cut


@attrs.frozen
class _Clean:
    """What :func:`_check_clean` found: every line an intact record whose body is an object."""

    records: int
    last_digest: str
    blocks: tuple[tuple[int, int, int], ...]  # (begin, cut, seq of its first line)

    def digest(self, data: bytes, seq: int) -> str:
        """Return record ``seq``'s digest (``seq`` < ``records``)."""
        for begin, cut, first in reversed(self.blocks):
            if seq >= first:
                line = data[begin : cut - 1].split(b"\n")[seq - first]
                return line[len(_HEAD) : _DIGEST_END].decode("ascii")
        raise IndexError(seq)  # pragma: no cover - the caller asks for a seq it holds


def _check_clean(data: bytes, stop: int) -> _Clean | None:
    """Check, in C-level passes, that every line of ``data[:stop]`` is the next intact record.

    Each line must be what :func:`scan_clean` accepts (laid out as
    :func:`encode_line` writes it, the next seq, the previous record's digest,
    its own digest over its bytes) and its body must be a JSON object that the
    journal's strict decoder parses in full, ending at the line's closing
    brace: what a reader of the body gets. The lines are split a block at a
    time, and each check is one ``map`` over the block's lines: their digests,
    the starts they must have (layout, seq, link and digest at once), their
    text, the comparison, and one parse of each body, which the scanner's end
    must put just before the line's closing brace. No Python code runs per
    line: on 100,000 records about a tenth less time than a loop over them.

    Returns:
        The records' count, last digest and blocks, or ``None`` as soon as one
        block holds a line that is not such a record: the caller then runs the
        full analysis, which says what is wrong. ``None`` is also the answer
        for a body with whitespace around it, which the analysis accepts.
    """
    sha256 = _sha256()
    scan = _scanner()
    start_of = _LINE_START.__mod__
    seq = 0
    previous = GENESIS_DIGEST
    blocks: list[tuple[int, int, int]] = []
    try:
        for begin, cut in _blocks(data, stop):
            blocks.append((begin, cut, seq))
            lines = data[begin : cut - 1].split(b"\n")
            count = len(lines)
            digests: list[str] = list(map(_HEXDIGEST, map(sha256, map(_HASHED, lines))))
            links = itertools.chain((previous,), digests)  # one longer: the last is no link
            numbered = zip(digests, range(seq, seq + count), links, strict=False)
            starts = list(map(start_of, numbered))
            texts = list(map(bytes.decode, lines))  # UTF-8, strict
            if not (
                all(map(str.startswith, texts, starts))
                and all(map(str.endswith, texts, itertools.repeat("}")))
            ):
                return None
            # Each body starts at its start's last character, its brace, and must end
            # just before the line's closing brace. A scan that finds no value raises
            # StopIteration, which ends the map early: the lengths then differ.
            at = map(operator.sub, map(len, starts), itertools.repeat(1))
            ends = map(operator.add, map(_END, map(scan, texts, at)), itertools.repeat(1))
            if list(ends) != list(map(len, texts)):
                return None
            previous = digests[-1]
            seq += count
    except (StopIteration, ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    return _Clean(seq, previous, tuple(blocks))


def check_bytes(data: bytes, anchor: Anchor | None) -> Findings:
    """Check a whole journal's bytes: the fast path first, the full analysis if needed.

    Unlike opening a journal, this also parses every body, so that a line
    whose body is not a JSON object is reported (as ``malformed``) even when
    its digest matches.
    """
    stop = data.rfind(b"\n") + 1
    clean = _check_clean(data, stop)
    if clean is None:
        lines = data.split(b"\n")
        tail = lines.pop()
        return analyse(lines, tail, len(data) - len(tail), anchor)
    count = clean.records
    problems: list[JournalProblem] = []
    if anchor is not None:

        def find(seq: int) -> tuple[int, str] | None:
            return (seq + 1, clean.digest(data, seq)) if seq < count else None

        problems.extend(_anchor_problems(anchor, find, count - 1, count))
    tail = data[stop:]
    torn_offset = None
    if tail:
        torn_offset = stop
        problems.append(_torn_problem(count + 1, torn_offset, tail))
    head = Anchor(count - 1, clean.last_digest) if count else None
    uncovered = _uncovered(anchor, count - 1)
    return Findings(count, head, tuple(problems), torn_offset, uncovered)


def analyse(lines: list[bytes], tail: bytes, tail_offset: int, anchor: Anchor | None) -> Findings:
    """Classify every problem in a journal that failed the fast path."""
    problems: list[JournalProblem] = []
    parsed: list[_Parsed] = []
    for number, raw in enumerate(lines, start=1):
        result = _parse_line(raw, number)
        if isinstance(result, str):
            problems.append(JournalProblem("malformed", number, None, result))
        else:
            parsed.append(result)
    by_seq: dict[int, _Parsed] = {}
    for record in parsed:
        by_seq.setdefault(record.seq, record)
    problems.extend(_record_problems(parsed, by_seq))
    seqs = sorted(by_seq)
    problems.extend(_gap_problems(seqs, by_seq))
    if anchor is not None:

        def find(seq: int) -> tuple[int, str] | None:
            found = by_seq.get(seq)
            return None if found is None else (found.line, found.digest)

        last_seq = seqs[-1] if seqs else -1
        problems.extend(_anchor_problems(anchor, find, last_seq, len(lines)))
    torn_offset = None
    if tail:
        torn_offset = tail_offset
        problems.append(_torn_problem(len(lines) + 1, tail_offset, tail))
    problems.sort(key=lambda problem: problem.line)
    head = Anchor(parsed[-1].seq, parsed[-1].digest) if parsed else None
    uncovered = _uncovered(anchor, seqs[-1] if seqs else -1)
    return Findings(len(parsed), head, tuple(problems), torn_offset, uncovered)


def _record_problems(parsed: list[_Parsed], by_seq: dict[int, _Parsed]) -> list[JournalProblem]:
    """Find edited, re-serialised, duplicated, mislinked and out-of-order records."""
    problems: list[JournalProblem] = []
    highest: _Parsed | None = None  # the record with the highest seq so far
    for record in parsed:
        seq = record.seq

        def problem(
            kind: ProblemKind, detail: str, line: int = record.line, seq: int = seq
        ) -> None:
            problems.append(JournalProblem(kind, line, seq, detail))

        if record.computed != record.digest:
            problem(
                "edited",
                f"the stored digest {_short(record.digest)} does not match the digest "
                f"{_short(record.computed)} of the record's contents: it was changed after it "
                "was written",
            )
        elif not record.layout_ok:
            problem(
                "malformed",
                "the record's content matches its digest, but the line was re-serialised (its "
                "bytes are not laid out as the journal writes them)",
            )
        first = by_seq[seq]
        if first is not record:
            problem("reordered", f"seq {seq} already appeared on line {first.line}: duplicated")
            continue
        before = by_seq.get(seq - 1)
        if seq == 0 and record.prev != GENESIS_DIGEST:
            problem("edited", f"the first record's prev is {_short(record.prev)}, not 64 zeros")
        elif before is not None and record.prev != before.digest:
            problem(
                "edited",
                f"prev {_short(record.prev)} does not match the digest {_short(before.digest)} "
                f"of seq {seq - 1} (line {before.line}): that record was edited and its digest "
                "recomputed, or this link was changed",
            )
        if highest is not None and seq < highest.seq:
            problem(
                "reordered",
                f"seq {seq} comes after seq {highest.seq} (line {highest.line}): the records "
                "are out of order",
            )
        elif highest is None or seq > highest.seq:
            highest = record
    return problems


def _gap_problems(seqs: list[int], by_seq: dict[int, _Parsed]) -> list[JournalProblem]:
    """Report runs of sequence numbers that appear nowhere in the file."""
    problems: list[JournalProblem] = []
    for index, seq in enumerate(seqs):
        expected = seqs[index - 1] + 1 if index else 0
        if seq == expected:
            continue
        missing = f"seq {expected}" if seq == expected + 1 else f"seqs {expected}-{seq - 1}"
        if index:
            where = f"between seq {expected - 1} (line {by_seq[expected - 1].line}) and seq {seq}"
        else:
            where = f"before seq {seq}, the first record in the file"
        problems.append(
            JournalProblem(
                "deleted",
                by_seq[seq].line,
                seq,
                f"{missing} missing {where}: {seq - expected} record(s) were deleted",
            )
        )
    return problems
