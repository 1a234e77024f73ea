"""Tests for the forensic journal: format, tamper evidence, torn tails, locking."""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import pathlib
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import incidentkit._journal as journal_module
from incidentkit._errors import (
    ConcurrentAppendError,
    InvalidInputError,
    JournalCorruptedError,
    JournalError,
    JournalLockedError,
    TornRecordError,
)
from incidentkit._journal import (
    GENESIS_DIGEST,
    Anchor,
    Journal,
    JournalProblem,
    JournalRecord,
    repair_torn_tail,
    verify_journal,
)

CHILD = pathlib.Path(__file__).with_name("_journal_child.py")


def make_journal(path: pathlib.Path, count: int, **kwargs: float) -> Journal:
    """Create a journal at ``path`` holding ``count`` simple records."""
    journal = Journal.create(path, **kwargs)
    for n in range(count):
        journal.append({"n": n, "text": f"record {n}"})
    return journal


def read_lines(path: pathlib.Path) -> list[bytes]:
    """Return the file's lines, each with its newline."""
    return path.read_bytes().splitlines(keepends=True)


def write_lines(path: pathlib.Path, lines: list[bytes]) -> None:
    """Overwrite the file with ``lines``."""
    path.write_bytes(b"".join(lines))


def found(report) -> list[tuple[str, int, int | None]]:
    """Reduce a report's problems to (kind, line, seq)."""
    return [(problem.kind, problem.line, problem.seq) for problem in report.problems]


def child_env() -> dict[str, str]:
    """An environment in which a child imports the same incidentkit as this process."""
    src = str(pathlib.Path(journal_module.__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    return env


# -- round trip ----------------------------------------------------------------


def test_create_append_open_round_trip(tmp_path):
    """Records appended to a new journal read back identically from the file."""
    path = tmp_path / "incident.jsonl"
    journal = Journal.create(path)
    written = [journal.append({"n": n, "who": "ålice", "tags": ["a", "b"]}) for n in range(3)]
    reopened = Journal.open(path)
    assert list(reopened.records) == written
    assert [record.seq for record in written] == [0, 1, 2]
    assert written[0].prev == GENESIS_DIGEST
    assert written[1].prev == written[0].digest
    assert written[2].prev == written[1].digest
    assert len(reopened) == 3
    assert reopened.path == path


def test_head_is_the_last_record_as_an_anchor(tmp_path):
    """``head`` is None for an empty journal, then the last record's seq and digest."""
    journal = Journal.create(tmp_path / "j.jsonl")
    assert journal.head is None
    first = journal.append({"a": 1})
    assert journal.head == Anchor(0, first.digest)
    second = journal.append({"a": 2})
    assert journal.head == second.anchor == Anchor(1, second.digest)
    assert Journal.open(journal.path).head == journal.head


def test_each_line_has_the_documented_layout_and_digest(tmp_path):
    """A line is v, digest, seq, prev, body in that order; the digest hashes its tail bytes."""
    path = tmp_path / "j.jsonl"
    journal = make_journal(path, 3)
    prev = GENESIS_DIGEST
    for seq, raw in enumerate(read_lines(path)):
        assert raw.endswith(b"}\n")
        fields = json.loads(raw)
        assert list(fields) == ["v", "digest", "seq", "prev", "body"]
        assert fields["v"] == 1
        assert fields["seq"] == seq
        assert fields["prev"] == prev
        start = raw.index(b'"seq":')
        assert hashlib.sha256(raw[start:-2]).hexdigest() == fields["digest"]
        assert fields["body"] == journal.records[seq].body
        prev = fields["digest"]


def test_body_is_written_canonically_and_returned_as_read_back(tmp_path):
    """Keys are sorted, separators compact, non-ASCII kept, and tuples come back as lists."""
    path = tmp_path / "j.jsonl"
    journal = Journal.create(path)
    record = journal.append({"b": (1, 2), "a": "é"})
    assert record.body == {"a": "é", "b": [1, 2]}
    assert path.read_bytes().endswith(b'"body":{"a":"\xc3\xa9","b":[1,2]}}\n')
    assert Journal.open(path).records[0] == record


def test_records_is_a_snapshot(tmp_path):
    """A ``records`` sequence taken earlier does not grow with later appends."""
    journal = make_journal(tmp_path / "j.jsonl", 2)
    before = journal.records
    journal.append({"late": True})
    assert len(before) == 2
    assert len(journal.records) == 3
    assert journal.records[-1].body == {"late": True}


def test_refresh_reads_records_appended_by_another_journal_object(tmp_path):
    """``refresh`` returns exactly what another writer appended since, then nothing."""
    path = tmp_path / "j.jsonl"
    writer = make_journal(path, 2)
    reader = Journal.open(path)
    assert reader.refresh() == ()
    added = [writer.append({"more": n}) for n in range(3)]
    assert list(reader.refresh()) == added
    assert reader.head == writer.head
    assert len(reader) == 5
    assert reader.refresh() == ()


def test_append_reads_other_writers_records_first(tmp_path):
    """Two objects appending in turn never reuse a sequence number."""
    path = tmp_path / "j.jsonl"
    first = Journal.create(path)
    second = Journal.open(path)
    first.append({"by": "first"})
    record = second.append({"by": "second"})
    assert record.seq == 1
    assert first.head is not None
    assert record.prev == first.head.digest
    assert [r.body["by"] for r in second.records] == ["first", "second"]
    assert verify_journal(path).ok


def test_repr_names_path_and_count(tmp_path):
    """The repr shows the path and how many records the object knows."""
    journal = make_journal(tmp_path / "j.jsonl", 2)
    assert repr(journal) == f"Journal(path={str(journal.path)!r}, records=2)"


# -- anchors -------------------------------------------------------------------


def test_anchor_string_form_round_trips():
    """``str(anchor)`` is seq:digest and ``Anchor.parse`` reads it back."""
    anchor = Anchor(41, "ab" * 32)
    assert str(anchor) == "41:" + "ab" * 32
    assert Anchor.parse(str(anchor)) == anchor
    assert Anchor.parse(f"  {anchor}\n") == anchor


@pytest.mark.parametrize(
    "text", ["", "41", "x:" + "ab" * 32, "-1:" + "ab" * 32, "4:abc", "4:" + "AB" * 32]
)
def test_anchor_parse_rejects_other_text(text):
    """Text that is not seq:64-lowercase-hex is refused with InvalidInputError."""
    with pytest.raises(InvalidInputError, match="anchor"):
        Anchor.parse(text)


def test_anchor_validates_its_fields():
    """An anchor with a negative seq, a bool seq or a bad digest cannot be built."""
    with pytest.raises(InvalidInputError, match="seq"):
        Anchor(-1, "0" * 64)
    with pytest.raises(InvalidInputError, match="seq"):
        Anchor(True, "0" * 64)
    with pytest.raises(InvalidInputError, match="digest"):
        Anchor(0, "0" * 63)


# -- tamper detection ----------------------------------------------------------


def recompute_digest(raw: bytes, prev: str | None = None) -> bytes:
    """Rewrite a line's digest (and optionally prev) as a forger would."""
    fields = json.loads(raw)
    if prev is not None:
        raw = raw.replace(fields["prev"].encode(), prev.encode())
    start = raw.index(b'"seq":')
    digest = hashlib.sha256(raw[start:-2]).hexdigest()
    return raw.replace(fields["digest"].encode(), digest.encode(), 1)


def edit_body(lines):
    """Change one byte of record 5's body."""
    lines[5] = lines[5].replace(b"record 5", b"record X")


def delete_middle(lines):
    """Remove record 5."""
    del lines[5]


def swap_two(lines):
    """Swap records 4 and 5."""
    lines[4], lines[5] = lines[5], lines[4]


def insert_garbage(lines):
    """Put a line that is not JSON between records 2 and 3."""
    lines.insert(3, b"this is not a record\n")


def duplicate_record(lines):
    """Repeat record 2 after record 5."""
    lines.insert(6, lines[2])


def edit_and_recompute(lines):
    """Edit record 5 and recompute its own digest, as a forger without the rest would."""
    lines[5] = recompute_digest(lines[5].replace(b"record 5", b"record X"))


def reserialise(lines):
    """Rewrite record 2 as ordinary pretty JSON with the same content."""
    lines[2] = json.dumps(json.loads(lines[2]), indent=None).encode() + b"\n"


def non_record_object(lines):
    """Replace nothing, but add a JSON object that is not a record."""
    lines.insert(7, b'{"hello":"world"}\n')


TAMPERING = [
    pytest.param(edit_body, [("edited", 6, 5)], id="edit-body-byte"),
    pytest.param(delete_middle, [("deleted", 6, 6)], id="delete-middle"),
    pytest.param(swap_two, [("reordered", 6, 4)], id="swap"),
    pytest.param(insert_garbage, [("malformed", 4, None)], id="garbage-line"),
    pytest.param(duplicate_record, [("reordered", 7, 2)], id="duplicate"),
    pytest.param(edit_and_recompute, [("edited", 7, 6)], id="edit-recompute-digest"),
    pytest.param(reserialise, [("malformed", 3, 2)], id="reserialised"),
    pytest.param(non_record_object, [("malformed", 8, None)], id="not-a-record"),
]


@pytest.mark.parametrize(("tamper", "expected"), TAMPERING)
def test_verify_journal_reports_tampering(tmp_path, tamper, expected):
    """Each kind of tampering is reported with its kind, line and seq."""
    path = tmp_path / "j.jsonl"
    make_journal(path, 10)
    lines = read_lines(path)
    tamper(lines)
    write_lines(path, lines)
    report = verify_journal(path)
    assert not report.ok
    assert found(report) == expected
    assert all(problem.detail for problem in report.problems)


@pytest.mark.parametrize(("tamper", "expected"), TAMPERING)
def test_open_refuses_a_tampered_journal(tmp_path, tamper, expected):
    """``Journal.open`` raises JournalCorruptedError naming the problem's line."""
    path = tmp_path / "j.jsonl"
    make_journal(path, 10)
    lines = read_lines(path)
    tamper(lines)
    write_lines(path, lines)
    kind, line, _ = expected[0]
    with pytest.raises(JournalCorruptedError, match=rf"line {line}\b.*{kind}") as info:
        Journal.open(path)
    assert info.value.path == str(path)


def test_details_say_what_happened(tmp_path):
    """Problem details name the missing seq, the out-of-order pair and the changed digest."""
    path = tmp_path / "j.jsonl"
    make_journal(path, 10)
    lines = read_lines(path)
    del lines[7]
    lines[2], lines[3] = lines[3], lines[2]
    lines[0] = lines[0].replace(b"record 0", b"record Z")
    write_lines(path, lines)
    details = {problem.kind: problem.detail for problem in verify_journal(path).problems}
    assert "seq 7 missing between seq 6" in details["deleted"]
    assert "seq 2 comes after seq 3" in details["reordered"]
    assert "does not match the digest" in details["edited"]


def test_deleting_the_first_record_is_reported(tmp_path):
    """A journal that starts after seq 0 reports the records missing at its start."""
    path = tmp_path / "j.jsonl"
    make_journal(path, 4)
    write_lines(path, read_lines(path)[2:])
    report = verify_journal(path)
    assert found(report) == [("deleted", 1, 2)]
    assert "seqs 0-1 missing before seq 2" in report.problems[0].detail


def test_a_changed_genesis_link_is_reported(tmp_path):
    """A first record whose prev is not 64 zeros is reported as edited even if self-consistent."""
    path = tmp_path / "j.jsonl"
    make_journal(path, 2)
    lines = read_lines(path)
    lines[0] = recompute_digest(lines[0], prev="1" * 64)
    lines[1] = recompute_digest(lines[1], prev=json.loads(lines[0])["digest"])
    write_lines(path, lines)
    assert found(verify_journal(path)) == [("edited", 1, 0)]


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (b"\n", "empty"),
        (b"\xff\xfe\n", "UTF-8"),
        (b"[1, 2]\n", "JSON list"),
        (b'{"v":2,"digest":"","seq":0,"prev":"","body":{}}\n', "version 2"),
        (b'{"v":1,"digest":"","seq":-1,"prev":"","body":{}}\n', "seq must be"),
        (b'{"v":1,"digest":"","seq":3,"prev":"x","body":{}}\n', "prev must be"),
        (b'{"v":1,"digest":"x","seq":3,"prev":"' + b"0" * 64 + b'","body":{}}\n', "digest must"),
        (b'{"v":1,"digest":"%s","seq":3,"prev":"%s","body":[]}\n' % (b"0" * 64, b"0" * 64), "body"),
        (
            b'{"v":1,"digest":"%s","seq":3,"prev":"%s","body":{"x":NaN}}\n'
            % (b"0" * 64, b"0" * 64),
            "NaN",
        ),
    ],
)
def test_malformed_lines_are_explained(tmp_path, line, words):
    """Each way a line can fail to be a record is reported as malformed in plain words."""
    path = tmp_path / "j.jsonl"
    make_journal(path, 2)
    write_lines(path, [*read_lines(path), line])
    report = verify_journal(path)
    assert found(report) == [("malformed", 3, None)]
    assert words in report.problems[0].detail


def forge_last_body(path: pathlib.Path, old: bytes, new: bytes) -> None:
    """Rewrite the last record's body bytes and recompute its digest, JSON or not."""
    lines = read_lines(path)
    raw = lines[-1].replace(old, new)
    digest = hashlib.sha256(raw[raw.index(b'"seq":') : -2]).hexdigest().encode()
    lines[-1] = raw[:17] + digest + raw[81:]
    write_lines(path, lines)


def test_a_forged_body_that_is_not_json_is_reported_when_read(tmp_path):
    """Open checks the chain only; reading the body, or verify_journal, reports it."""
    path = tmp_path / "j.jsonl"
    make_journal(path, 3)
    forge_last_body(path, b'"record 2"}', b'"record 2",}')
    journal = Journal.open(path)
    assert len(journal) == 3
    with pytest.raises(JournalCorruptedError, match="record 2's body matches its digest but"):
        _ = journal.records
    assert found(verify_journal(path)) == [("malformed", 3, None)]


def test_a_forged_body_that_is_a_json_list_is_reported_when_read(tmp_path):
    """A digest-valid body that is JSON but not an object is corruption when read."""
    path = tmp_path / "j.jsonl"
    make_journal(path, 2)
    forge_last_body(path, b'{"n":1,"text":"record 1"}', b"[1,{}]")
    with pytest.raises(JournalCorruptedError, match="record 1's body"):
        _ = Journal.open(path).records
    assert found(verify_journal(path)) == [("malformed", 2, None)]


def test_a_forged_body_that_is_not_utf8_is_reported_when_read(tmp_path):
    """A digest-valid body that is not UTF-8 is corruption when read, malformed to verify."""
    path = tmp_path / "j.jsonl"
    make_journal(path, 2)
    forge_last_body(path, b'"record 1"', b'"record \xff"')
    with pytest.raises(JournalCorruptedError, match=r"record 1's body .* not valid UTF-8"):
        _ = Journal.open(path).records
    assert found(verify_journal(path)) == [("malformed", 2, None)]


def test_a_body_with_whitespace_around_it_reads_as_before(tmp_path):
    """Whitespace around a digest-valid body is accepted, as the JSON decoder accepts it."""
    path = tmp_path / "j.jsonl"
    make_journal(path, 2)
    forge_last_body(path, b'{"n":1,"text":"record 1"}', b' {"n":1,"text":"record 1"} ')
    assert Journal.open(path).records[1].body == {"n": 1, "text": "record 1"}
    assert verify_journal(path).ok


def test_records_read_lazily_are_the_records_written(tmp_path):
    """Records parsed from the file equal those append returned, prev links included."""
    path = tmp_path / "j.jsonl"
    journal = Journal.create(path)
    written = [journal.append({"n": n, "text": "é" * n, "x": [n, None]}) for n in range(12)]
    assert list(Journal.open(path).records) == written
    assert list(journal.records) == written
    other = Journal.open(path)
    written.append(journal.append({"late": True}))
    assert list(other.refresh()) == written[-1:]
    assert list(other.records) == written


def test_records_are_parsed_once(tmp_path):
    """Records read once are kept: reading again after an append parses only the new one."""
    path = tmp_path / "j.jsonl"
    make_journal(path, 3)
    journal = Journal.open(path)
    first = journal.records
    appended = journal.append({"n": 3})
    again = journal.records
    assert all(a is b for a, b in zip(first, again, strict=False))
    assert again[-1] is appended


def test_report_text_lists_every_problem(tmp_path):
    """``str(report)`` has a summary line and one line per problem; a clean one says OK."""
    path = tmp_path / "j.jsonl"
    journal = make_journal(path, 6)
    assert str(verify_journal(path)) == (
        f"journal {path}: 6 records, head seq 5 ({journal.head.digest if journal.head else ''}): OK"
    )
    lines = read_lines(path)
    del lines[4]
    lines.insert(1, b"garbage\n")
    write_lines(path, lines)
    text = str(verify_journal(path)).splitlines()
    assert text[0].endswith("2 problem(s)")
    assert text[1].startswith("  line 2: malformed: ")
    assert text[2].startswith("  line 6 (seq 5): deleted: ")
    assert len(text) == 3


def test_problem_str_includes_line_seq_and_kind():
    """A problem renders as its location, kind and detail."""
    problem = JournalProblem("edited", 3, 2, "it changed")
    assert str(problem) == "line 3 (seq 2): edited: it changed"


# -- truncation and anchors ----------------------------------------------------


def test_trailing_truncation_is_invisible_without_an_anchor(tmp_path):
    """Cutting whole records off the end leaves a chain that verifies on its own."""
    path = tmp_path / "j.jsonl"
    make_journal(path, 10)
    write_lines(path, read_lines(path)[:7])
    report = verify_journal(path)
    assert report.ok
    assert report.records == 7
    assert len(Journal.open(path)) == 7


def test_trailing_truncation_is_detected_with_an_anchor(tmp_path):
    """An anchor taken before the cut reveals how many records went missing."""
    path = tmp_path / "j.jsonl"
    anchor = make_journal(path, 10).head
    assert anchor is not None
    write_lines(path, read_lines(path)[:7])
    report = verify_journal(path, anchor=anchor)
    assert found(report) == [("truncated", 8, 9)]
    assert "reached seq 9 but it ends at seq 6: 3 record(s)" in report.problems[0].detail


def test_truncation_to_empty_is_detected_with_an_anchor(tmp_path):
    """An anchor on an emptied journal reports that it holds no records."""
    path = tmp_path / "j.jsonl"
    anchor = make_journal(path, 3).head
    path.write_bytes(b"")
    report = verify_journal(path, anchor=anchor)
    assert found(report) == [("truncated", 1, 2)]
    assert "holds no records" in report.problems[0].detail


def test_an_earlier_anchor_still_verifies_a_longer_journal(tmp_path):
    """An anchor from the middle of the journal matches; the journal may have grown since."""
    path = tmp_path / "j.jsonl"
    journal = make_journal(path, 5)
    anchor = journal.head
    journal.append({"after": "anchor"})
    assert verify_journal(path, anchor=anchor).ok


def test_a_rewritten_tail_is_detected_with_an_anchor(tmp_path):
    """Cutting records and appending different ones breaks the anchor at its seq."""
    path = tmp_path / "j.jsonl"
    anchor = make_journal(path, 10).head
    assert anchor is not None
    write_lines(path, read_lines(path)[:7])
    forger = Journal.open(path)
    for n in range(3):
        forger.append({"n": n, "text": "rewritten"})
    assert verify_journal(path).ok
    report = verify_journal(path, anchor=anchor)
    assert found(report) == [("truncated", 10, 9)]
    assert "rewritten" in report.problems[0].detail


def test_an_anchor_inside_a_deleted_gap_adds_nothing(tmp_path):
    """When the anchor's record was deleted mid-file, only the deletion is reported."""
    path = tmp_path / "j.jsonl"
    journal = make_journal(path, 6)
    anchor = journal.records[3].anchor
    lines = read_lines(path)
    del lines[3]
    write_lines(path, lines)
    assert found(verify_journal(path, anchor=anchor)) == [("deleted", 4, 4)]


# -- torn records --------------------------------------------------------------


FRAGMENT = b'{"v":1,"digest":"5d41402abc4b2a76b9719d911017c592","se'


def test_open_raises_torn_record_error_at_the_fragment(tmp_path):
    """A partial last line makes open raise TornRecordError with its byte offset."""
    path = tmp_path / "j.jsonl"
    make_journal(path, 5)
    size = path.stat().st_size
    with path.open("ab") as file:
        file.write(FRAGMENT)
    with pytest.raises(TornRecordError, match=f"offset {size}") as info:
        Journal.open(path)
    assert info.value.offset == size


def test_verify_reports_only_the_torn_tail_and_the_intact_records(tmp_path):
    """The report counts the complete records and has a single torn problem."""
    path = tmp_path / "j.jsonl"
    head = make_journal(path, 5).head
    with path.open("ab") as file:
        file.write(FRAGMENT)
    report = verify_journal(path)
    assert found(report) == [("torn", 6, None)]
    assert report.records == 5
    assert report.head == head
    assert f"{len(FRAGMENT)} byte(s)" in report.problems[0].detail


def test_append_refuses_to_write_after_a_torn_record(tmp_path):
    """An append finding a torn tail raises TornRecordError and writes nothing."""
    path = tmp_path / "j.jsonl"
    journal = make_journal(path, 5)
    with path.open("ab") as file:
        file.write(FRAGMENT)
    before = path.read_bytes()
    with pytest.raises(TornRecordError) as info:
        journal.append({"glued": "never"})
    assert info.value.offset == len(before) - len(FRAGMENT)
    assert path.read_bytes() == before
    assert len(journal) == 5


def test_refresh_raises_on_a_torn_record(tmp_path):
    """``refresh`` reports a torn tail instead of skipping it."""
    path = tmp_path / "j.jsonl"
    journal = make_journal(path, 2)
    with path.open("ab") as file:
        file.write(FRAGMENT)
    with pytest.raises(TornRecordError):
        journal.refresh()
    assert len(journal) == 2


def test_repair_saves_the_fragment_and_leaves_a_clean_journal(tmp_path):
    """The fragment's bytes go to a side file; the journal then opens and accepts appends."""
    path = tmp_path / "j.jsonl"
    make_journal(path, 5)
    intact = path.read_bytes()
    with path.open("ab") as file:
        file.write(FRAGMENT)
    side = repair_torn_tail(path)
    assert side == tmp_path / f"j.jsonl.torn-{len(intact)}"
    assert side.read_bytes() == FRAGMENT
    assert path.read_bytes() == intact
    journal = Journal.open(path)
    assert len(journal) == 5
    assert journal.append({"after": "repair"}).seq == 5
    assert verify_journal(path).ok


def test_a_complete_last_line_without_newline_counts_as_torn(tmp_path):
    """A last record missing only its newline was never acknowledged and is moved aside."""
    path = tmp_path / "j.jsonl"
    make_journal(path, 3)
    lines = read_lines(path)
    last = lines[-1].rstrip(b"\n")
    write_lines(path, [*lines[:-1], last])
    offset = len(b"".join(lines[:-1]))
    with pytest.raises(TornRecordError) as info:
        Journal.open(path)
    assert info.value.offset == offset
    side = repair_torn_tail(path)
    assert side is not None
    assert side.read_bytes() == last
    assert len(Journal.open(path)) == 2


def test_repair_does_nothing_to_a_clean_journal(tmp_path):
    """Without a torn tail, repair returns None and changes no byte."""
    path = tmp_path / "j.jsonl"
    make_journal(path, 3)
    before = path.read_bytes()
    assert repair_torn_tail(path) is None
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["j.jsonl"]


def test_repair_refuses_a_journal_with_other_problems(tmp_path):
    """A torn tail after a corrupted record is not repaired, and nothing changes."""
    path = tmp_path / "j.jsonl"
    make_journal(path, 4)
    lines = read_lines(path)
    del lines[1]
    write_lines(path, [*lines, FRAGMENT])
    before = path.read_bytes()
    with pytest.raises(JournalCorruptedError, match=r"refusing to repair.*deleted"):
        repair_torn_tail(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["j.jsonl"]


def test_open_prefers_corruption_over_a_torn_tail(tmp_path):
    """When records were also tampered with, open raises JournalCorruptedError, not torn."""
    path = tmp_path / "j.jsonl"
    make_journal(path, 4)
    lines = read_lines(path)
    lines[1] = lines[1].replace(b"record 1", b"record X")
    write_lines(path, [*lines, FRAGMENT])
    with pytest.raises(JournalCorruptedError, match="edited") as info:
        Journal.open(path)
    assert not isinstance(info.value, TornRecordError)


def test_repair_resumes_after_an_interrupted_repair(tmp_path):
    """A side file already holding the same fragment is reused, then the journal is cut."""
    path = tmp_path / "j.jsonl"
    make_journal(path, 2)
    offset = path.stat().st_size
    with path.open("ab") as file:
        file.write(FRAGMENT)
    side = tmp_path / f"j.jsonl.torn-{offset}"
    side.write_bytes(FRAGMENT)
    assert repair_torn_tail(path) == side
    assert path.stat().st_size == offset


def test_repair_never_overwrites_a_different_side_file(tmp_path):
    """A side file with other contents makes repair refuse and keep both files as they are."""
    path = tmp_path / "j.jsonl"
    make_journal(path, 2)
    offset = path.stat().st_size
    with path.open("ab") as file:
        file.write(FRAGMENT)
    side = tmp_path / f"j.jsonl.torn-{offset}"
    side.write_bytes(b"something else")
    with pytest.raises(JournalError, match="already exists"):
        repair_torn_tail(path)
    assert side.read_bytes() == b"something else"
    assert path.read_bytes().endswith(FRAGMENT)


# -- processes -----------------------------------------------------------------


@pytest.mark.parametrize("delay", [0.0, 0.003, 0.02])
def test_sigkill_mid_stream_loses_no_acknowledged_record(tmp_path, delay):
    """After SIGKILL, every acknowledged record is present and the chain intact."""
    path = tmp_path / "j.jsonl"
    Journal.create(path)
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), "stream", str(path)],
        stdout=subprocess.PIPE,
        env=child_env(),
    )
    acked: list[int] = []
    try:
        assert proc.stdout is not None
        while len(acked) < 200:
            line = proc.stdout.readline()
            assert line, "the child stopped before 200 acknowledgements"
            acked.append(int(line))
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        # Read the rest through the same buffered reader: communicate() reads the
        # raw pipe and would miss acknowledgements readline() already buffered.
        assert proc.stdout is not None
        rest = proc.stdout.read()
        proc.stdout.close()
        proc.wait(timeout=30)
    acked.extend(int(line) for line in rest.split(b"\n")[:-1])
    assert proc.returncode == -signal.SIGKILL

    try:
        journal = Journal.open(path)
    except TornRecordError:
        assert repair_torn_tail(path) is not None
        journal = Journal.open(path)
    assert acked == list(range(len(acked)))
    assert len(acked) <= len(journal) <= len(acked) + 1
    for seq in acked:
        assert journal.records[seq].body["i"] == seq
    assert verify_journal(path, anchor=journal.records[acked[-1]].anchor).ok


def test_two_processes_appending_at_once_interleave_safely(tmp_path):
    """Two writers of 300 records each produce 600 consecutive, verified records."""
    path = tmp_path / "j.jsonl"
    Journal.create(path)
    procs = [
        subprocess.Popen(
            [sys.executable, str(CHILD), "burst", str(path), name, "300"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=child_env(),
        )
        for name in ("a", "b")
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            assert proc.stdout.readline() == b"ready\n"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            proc.stdin.flush()
        outputs = [proc.communicate(timeout=120)[0] for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert outputs == [b"done\n", b"done\n"]
    assert [proc.returncode for proc in procs] == [0, 0]
    journal = Journal.open(path)
    assert [record.seq for record in journal.records] == list(range(600))
    assert verify_journal(path).ok
    for name in ("a", "b"):
        mine = [r.body["i"] for r in journal.records if r.body["writer"] == name]
        assert mine == list(range(300))


# -- expected head and locks ---------------------------------------------------


def test_expect_head_mismatch_raises_and_writes_nothing(tmp_path):
    """An append expecting an old head raises ConcurrentAppendError and learns the new records."""
    path = tmp_path / "j.jsonl"
    mine = make_journal(path, 2)
    theirs = Journal.open(path)
    stale = mine.head
    theirs.append({"by": "them"})
    size = path.stat().st_size
    with pytest.raises(ConcurrentAppendError, match="resume") as info:
        mine.append({"by": "me"}, expect_head=stale)
    assert info.value.path == str(path)
    assert path.stat().st_size == size
    assert mine.head == theirs.head
    assert len(mine) == 3
    assert mine.append({"by": "me"}, expect_head=mine.head).seq == 3


def test_expect_head_none_means_empty(tmp_path):
    """``expect_head=None`` succeeds on an empty journal and fails on a non-empty one."""
    path = tmp_path / "j.jsonl"
    journal = Journal.create(path)
    journal.append({"first": True}, expect_head=None)
    with pytest.raises(ConcurrentAppendError, match="expected an empty journal"):
        journal.append({"second": True}, expect_head=None)
    assert len(Journal.open(path)) == 1


def test_append_times_out_while_another_holds_the_lock(tmp_path):
    """An exclusive flock held elsewhere makes append wait lock_timeout, then raise."""
    path = tmp_path / "j.jsonl"
    journal = make_journal(path, 1, lock_timeout=0.2)
    with path.open("rb") as holder:
        fcntl.flock(holder.fileno(), fcntl.LOCK_EX)
        start = time.monotonic()
        with pytest.raises(JournalLockedError, match=r"more than 0\.2s"):
            journal.append({"blocked": True})
        waited = time.monotonic() - start
        with pytest.raises(JournalLockedError):
            journal.refresh()
        with pytest.raises(JournalLockedError):
            Journal.open(path, lock_timeout=0.05)
        with pytest.raises(JournalLockedError):
            verify_journal(path, lock_timeout=0.05)
        with pytest.raises(JournalLockedError):
            repair_torn_tail(path, lock_timeout=0.05)
    assert 0.2 <= waited < 5
    assert len(Journal.open(path)) == 1
    assert journal.append({"after": "release"}).seq == 1


def test_append_waits_for_a_lock_released_in_time(tmp_path):
    """A lock released before the timeout lets the waiting append proceed."""
    path = tmp_path / "j.jsonl"
    journal = make_journal(path, 1, lock_timeout=5.0)
    holder = path.open("rb")
    fcntl.flock(holder.fileno(), fcntl.LOCK_EX)
    release = threading.Timer(0.3, holder.close)
    release.start()
    try:
        start = time.monotonic()
        assert journal.append({"waited": True}).seq == 1
        assert time.monotonic() - start >= 0.25
    finally:
        release.join()
        holder.close()


def test_readers_share_the_lock(tmp_path):
    """A shared lock held elsewhere does not block open or verify, only appends."""
    path = tmp_path / "j.jsonl"
    journal = make_journal(path, 2, lock_timeout=0.1)
    with path.open("rb") as holder:
        fcntl.flock(holder.fileno(), fcntl.LOCK_SH)
        assert len(Journal.open(path, lock_timeout=0.1)) == 2
        assert verify_journal(path, lock_timeout=0.1).ok
        with pytest.raises(JournalLockedError):
            journal.append({"x": 1})


@pytest.mark.parametrize("timeout", [-1.0, math.inf, math.nan, True])
def test_bad_lock_timeouts_are_refused(tmp_path, timeout):
    """A negative, infinite, NaN or boolean lock_timeout is refused up front."""
    with pytest.raises(InvalidInputError, match="lock_timeout"):
        Journal.create(tmp_path / "j.jsonl", lock_timeout=timeout)
    assert not (tmp_path / "j.jsonl").exists()


# -- bad input and missing files -----------------------------------------------


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"x": math.nan}, "NaN or infinity"),
        ({"x": [1, math.inf]}, "NaN or infinity"),
        ({"x": {1: "a"}}, "body['x'] has the key 1"),
        ({"x": ["a", ("b", {"c": {2.5: 1}})]}, "body['x'][1][1]['c'] has the key 2.5"),
        ({"x": [[], {True: None}]}, "body['x'][1] has the key True"),
        ({"x": {1: "a", "b": 2}}, "not JSON-able"),
        ({"x": {1, 2}}, "not JSON-able"),
        ({"x": "\ud800"}, "not valid Unicode"),
        (["not", "a", "dict"], "must be a dict"),
    ],
)
def test_unwritable_bodies_raise_and_write_nothing(tmp_path, body, words):
    """A body that is not strict JSON raises InvalidInputError and leaves the file as it was."""
    path = tmp_path / "j.jsonl"
    journal = make_journal(path, 1)
    before = path.read_bytes()
    with pytest.raises(InvalidInputError, match=r"nothing was written|must be a dict") as info:
        journal.append(body)
    assert words in str(info.value)
    assert path.read_bytes() == before
    assert len(journal) == 1


def test_circular_bodies_are_refused(tmp_path):
    """A body that contains itself is refused rather than looping."""
    journal = Journal.create(tmp_path / "j.jsonl")
    body: dict[str, object] = {}
    body["self"] = body
    with pytest.raises(InvalidInputError, match="Circular"):
        journal.append(body)
    assert len(journal) == 0


def test_create_refuses_an_existing_path(tmp_path):
    """``create`` never overwrites: an existing file raises JournalError and is untouched."""
    path = tmp_path / "j.jsonl"
    path.write_bytes(b"precious")
    with pytest.raises(JournalError, match=r"already exists.*Journal\.open"):
        Journal.create(path)
    assert path.read_bytes() == b"precious"


def test_create_in_a_missing_directory_raises_journal_error(tmp_path):
    """A journal path under a directory that does not exist raises JournalError."""
    with pytest.raises(JournalError, match="cannot create"):
        Journal.create(tmp_path / "nope" / "j.jsonl")


def test_open_of_a_missing_path_raises_journal_error(tmp_path):
    """``open``, ``verify_journal`` and ``repair_torn_tail`` on no file raise JournalError."""
    path = tmp_path / "missing.jsonl"
    with pytest.raises(JournalError, match="no journal at") as info:
        Journal.open(path)
    assert info.value.path == str(path)
    with pytest.raises(JournalError, match="no journal at"):
        verify_journal(path)
    with pytest.raises(JournalError, match="no journal at"):
        repair_torn_tail(path)


def test_open_of_a_directory_raises_journal_error(tmp_path):
    """Opening a directory as a journal raises JournalError."""
    with pytest.raises(JournalError, match="not a regular file"):
        Journal.open(tmp_path)


def test_append_after_the_file_was_removed_raises_journal_error(tmp_path):
    """An append whose file is gone raises JournalError rather than recreating it."""
    path = tmp_path / "j.jsonl"
    journal = make_journal(path, 1)
    path.unlink()
    with pytest.raises(JournalError, match="no journal at"):
        journal.append({"x": 1})
    assert not path.exists()


def test_a_shrunk_journal_is_reported_as_corrupted(tmp_path):
    """Records disappearing under an open Journal make refresh raise JournalCorruptedError."""
    path = tmp_path / "j.jsonl"
    journal = make_journal(path, 3)
    write_lines(path, read_lines(path)[:1])
    with pytest.raises(JournalCorruptedError, match="shrank"):
        journal.refresh()


def test_a_replaced_journal_is_refused(tmp_path):
    """A file swapped in under the same name is noticed before anything is appended."""
    path = tmp_path / "j.jsonl"
    journal = make_journal(path, 2)
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(path.read_bytes())
    copy.replace(path)
    with pytest.raises(JournalError, match="replaced"):
        journal.append({"x": 1})
    assert len(Journal.open(path)) == 2


def test_corruption_appended_by_others_is_noticed_on_append(tmp_path):
    """Garbage another process appended makes the next append raise JournalCorruptedError."""
    path = tmp_path / "j.jsonl"
    journal = make_journal(path, 2)
    with path.open("ab") as file:
        file.write(b"garbage\n")
    with pytest.raises(JournalCorruptedError, match="line 3: malformed"):
        journal.append({"x": 1})
    assert path.read_bytes().endswith(b"garbage\n")


# -- durability ----------------------------------------------------------------


def test_create_fsyncs_the_file_and_its_directory(tmp_path, monkeypatch):
    """Creating a journal fsyncs the new file and the directory holding it."""
    synced: list[tuple[int, bool]] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        info = os.fstat(fd)
        synced.append((info.st_ino, stat.S_ISDIR(info.st_mode)))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    path = tmp_path / "j.jsonl"
    Journal.create(path)
    assert (path.stat().st_ino, False) in synced
    assert (tmp_path.stat().st_ino, True) in synced


def test_append_is_one_write_then_fsync(tmp_path, monkeypatch):
    """An append issues a single write of the whole line, followed by an fsync."""
    path = tmp_path / "j.jsonl"
    journal = make_journal(path, 1)
    calls: list[tuple[str, bytes | None]] = []
    real_write, real_fsync = os.write, os.fsync

    def write(fd: int, data: bytes) -> int:
        calls.append(("write", bytes(data)))
        return real_write(fd, data)

    def fsync(fd: int) -> None:
        calls.append(("fsync", None))
        real_fsync(fd)

    monkeypatch.setattr(os, "write", write)
    monkeypatch.setattr(os, "fsync", fsync)
    journal.append({"x": 1})
    monkeypatch.undo()
    assert calls == [("write", read_lines(path)[-1]), ("fsync", None)]


def test_a_short_write_is_undone_and_reported(tmp_path, monkeypatch):
    """If the disk takes only part of a line, the part is removed and JournalError raised."""
    path = tmp_path / "j.jsonl"
    journal = make_journal(path, 1)
    before = path.read_bytes()
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, data[:10]))
    with pytest.raises(JournalError, match="only 10 of"):
        journal.append({"x": 1})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert journal.append({"x": 2}).seq == 1
    assert verify_journal(path).ok


def test_a_failed_write_is_reported(tmp_path, monkeypatch):
    """An OSError from write (a full disk) becomes a JournalError and leaves no bytes."""
    path = tmp_path / "j.jsonl"
    journal = make_journal(path, 1)
    before = path.read_bytes()

    def full(_fd: int, _data: bytes) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(JournalError, match="No space left"):
        journal.append({"x": 1})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert len(journal) == 1


def test_a_failed_fsync_is_reported(tmp_path, monkeypatch):
    """An fsync error raises JournalError saying the record may not be durable."""
    path = tmp_path / "j.jsonl"
    journal = make_journal(path, 1)

    def broken(_fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(JournalError, match="may not be durable"):
        journal.append({"x": 1})
    assert len(journal) == 1


# -- property --------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
json_bodies = st.dictionaries(st.text(max_size=8), json_values, max_size=5)


@settings(max_examples=60, deadline=None)
@given(bodies=st.lists(json_bodies, max_size=6))
def test_any_json_bodies_round_trip_exactly_and_verify(bodies):
    """Whatever JSON objects are appended read back exactly, types included, and verify."""
    with tempfile.TemporaryDirectory() as directory:
        path = pathlib.Path(directory) / "j.jsonl"
        journal = Journal.create(path)
        written = [journal.append(body) for body in bodies]
        reopened = Journal.open(path)
        assert list(reopened.records) == written
        for record, body in zip(reopened.records, bodies, strict=True):
            assert record.body == body
            assert json.dumps(record.body, sort_keys=True) == json.dumps(body, sort_keys=True)
        report = verify_journal(path)
        assert report.ok
        assert report.records == len(bodies)


def test_journal_record_anchor_matches_fields():
    """A record's anchor carries its seq and digest."""
    record = JournalRecord(3, "0" * 64, "a" * 64, {})
    assert record.anchor == Anchor(3, "a" * 64)


def test_verify_parses_every_body_across_blocks(tmp_path):
    """Bodies are parsed a block of lines at a time: every block, and lines longer than one."""
    path = tmp_path / "j.jsonl"
    journal = Journal.create(path)
    for n in range(6):
        journal.append({"n": n, "text": ("é🙂" if n % 2 else "x") * 300_000})
    for n in range(3_000):
        journal.append({"n": n, "text": f"record {n}"})
    assert path.stat().st_size > 3 * 2**20
    assert verify_journal(path).ok
    forge_last_body(path, b'"record 2999"}', b'"record 2999",}')
    assert found(verify_journal(path)) == [("malformed", 3006, None)]


def test_format_instant_writes_what_strftime_wrote():
    """The journal's instants are the text strftime gave, whatever the instant."""
    import random  # noqa: PLC0415 - this test only

    import pendulum  # noqa: PLC0415

    from incidentkit._time import format_instant  # noqa: PLC0415

    rng = random.Random(12)  # noqa: S311 - instants to test, not secrets
    instants = [pendulum.from_timestamp(rng.uniform(-3e10, 6e10)) for _ in range(5_000)]
    instants += [pendulum.datetime(999, 1, 2, tz="UTC"), pendulum.datetime(2026, 1, 1, tz="UTC")]
    for instant in instants:
        assert format_instant(instant) == instant.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
