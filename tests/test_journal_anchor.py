"""Tests for what an anchor proves: records after it are reported as not covered, never hidden."""

from __future__ import annotations

import hashlib
import json
import pathlib
import tempfile

from hypothesis import given, settings
from hypothesis import strategies as st

from incidentkit import Anchor, Journal, verify_journal


def make_journal(path: pathlib.Path, count: int) -> Journal:
    """Create a journal at ``path`` holding ``count`` records."""
    journal = Journal.create(path)
    for n in range(count):
        journal.append({"n": n})
    return journal


def forge_line(seq: int, prev: str, body: dict) -> tuple[str, bytes]:
    """Build a record as a forger would, from the documented format alone."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    hashed = f'"seq":{seq},"prev":"{prev}","body":{text}'.encode()
    digest = hashlib.sha256(hashed).hexdigest()
    return digest, b'{"v":1,"digest":"%s",%s}\n' % (digest.encode(), hashed)


def forge_append(path: pathlib.Path, bodies: list[dict]) -> None:
    """Append records to the file with a recomputed chain, bypassing the library."""
    last = json.loads(path.read_bytes().splitlines()[-1])
    seq, prev = last["seq"] + 1, last["digest"]
    with path.open("ab") as file:
        for body in bodies:
            prev, line = forge_line(seq, prev, body)
            file.write(line)
            seq += 1


def test_a_forged_record_after_the_anchor_is_reported_as_not_covered(tmp_path):
    """A record appended with a recomputed chain verifies, but is reported as not covered."""
    path = tmp_path / "j.jsonl"
    anchor = make_journal(path, 5).head
    assert anchor is not None
    forge_append(path, [{"n": "forged"}])
    report = verify_journal(path, anchor=anchor)
    assert report.ok
    assert report.anchor == anchor
    assert report.uncovered == range(5, 6)
    assert not report.covered
    text = str(report)
    assert f"NOT covered by the anchor at seq 4 ({anchor.digest[:12]}…)" in text
    assert ": 1 record(s) after it, seq 5." in text


def test_every_record_after_the_anchor_is_listed(tmp_path):
    """Several records after the anchor are counted and their seqs named."""
    path = tmp_path / "j.jsonl"
    anchor = make_journal(path, 5).records[2].anchor
    forge_append(path, [{"n": "a"}, {"n": "b"}])
    report = verify_journal(path, anchor=anchor)
    assert report.ok
    assert report.uncovered == range(3, 7)
    assert len(report.uncovered) == 4
    assert "NOT covered by the anchor at seq 2" in str(report)
    assert "4 record(s) after it, seqs 3-6." in str(report)


def test_records_rewritten_after_the_anchor_are_not_covered(tmp_path):
    """Records after the anchor rewritten with a fresh chain are reported as not covered."""
    path = tmp_path / "j.jsonl"
    anchor = make_journal(path, 6).records[3].anchor
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:4]))
    forge_append(path, [{"n": "rewritten 4"}, {"n": "rewritten 5"}])
    report = verify_journal(path, anchor=anchor)
    assert report.ok
    assert report.uncovered == range(4, 6)
    assert "NOT covered" in str(report)


def test_an_anchor_at_the_head_covers_every_record(tmp_path):
    """Verified against its current head, a journal is covered and the text says so."""
    path = tmp_path / "j.jsonl"
    anchor = make_journal(path, 3).head
    report = verify_journal(path, anchor=anchor)
    assert report.ok
    assert report.covered
    assert report.uncovered == range(0)
    assert str(report).endswith(
        f"OK; the anchor at seq 2 ({anchor.digest[:12]}…) covers every record"
    )


def test_without_an_anchor_nothing_is_claimed_covered(tmp_path):
    """Without an anchor the report claims no coverage, and its text is as before."""
    path = tmp_path / "j.jsonl"
    make_journal(path, 3)
    report = verify_journal(path)
    assert report.ok
    assert report.anchor is None
    assert report.uncovered is None
    assert not report.covered
    assert str(report).endswith(": OK")


def test_a_journal_shorter_than_the_anchor_is_truncated_and_not_covered(tmp_path):
    """Cut records are still reported as truncated; nothing lies after the anchor."""
    path = tmp_path / "j.jsonl"
    anchor = make_journal(path, 6).head
    path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:4]))
    report = verify_journal(path, anchor=anchor)
    assert [(p.kind, p.seq) for p in report.problems] == [("truncated", 5)]
    assert report.uncovered == range(0)
    assert not report.covered


def test_a_diverging_journal_reports_both_the_divergence_and_what_follows(tmp_path):
    """Cut back and rewritten: the anchor's record differs, and the later ones are listed."""
    path = tmp_path / "j.jsonl"
    anchor = make_journal(path, 6).records[3].anchor
    path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:2]))
    forge_append(path, [{"n": f"rewritten {n}"} for n in range(2, 8)])
    report = verify_journal(path, anchor=anchor)
    assert [(p.kind, p.line, p.seq) for p in report.problems] == [("truncated", 4, 3)]
    assert report.uncovered == range(4, 8)
    lines = str(report).splitlines()
    assert "1 problem(s)" in lines[0]
    assert lines[-1].startswith("  and NOT covered by the anchor at seq 3")
    assert "4 record(s) after it, seqs 4-7." in lines[-1]


def test_records_after_the_anchor_are_listed_in_a_damaged_journal_too(tmp_path):
    """When the full analysis runs (a deleted record), the records after the anchor are listed."""
    path = tmp_path / "j.jsonl"
    anchor = make_journal(path, 8).records[2].anchor
    lines = path.read_bytes().splitlines(keepends=True)
    del lines[5]
    path.write_bytes(b"".join(lines))
    report = verify_journal(path, anchor=anchor)
    assert [p.kind for p in report.problems] == ["deleted"]
    assert report.uncovered == range(3, 8)


@settings(max_examples=40, deadline=None)
@given(
    count=st.integers(min_value=1, max_value=6),
    data=st.data(),
    forged=st.integers(min_value=0, max_value=4),
)
def test_a_forger_can_append_but_never_hide_records_from_the_anchor(count, data, forged):
    """Whatever a forger appends after any anchor verifies, and every such record is listed."""
    at = data.draw(st.integers(min_value=0, max_value=count - 1))
    with tempfile.TemporaryDirectory() as directory:
        path = pathlib.Path(directory) / "j.jsonl"
        anchor = make_journal(path, count).records[at].anchor
        forge_append(path, [{"forged": n} for n in range(forged)])
        report = verify_journal(path, anchor=Anchor.parse(str(anchor)))
        assert report.ok
        assert list(report.uncovered or ()) == list(range(at + 1, count + forged))
        assert report.covered == (at + 1 == count + forged)
        assert ("NOT covered" in str(report)) == (not report.covered)
