"""Checkpoints beside a journal file: used when they fit, refused loudly when they do not."""

from __future__ import annotations

import json
import pathlib
import shutil
import warnings
from typing import TYPE_CHECKING, Any

import pytest

from _report_incident import HARMLESS, work_incident
from fakes import DECLARED_AT, SYMPTOM_START, FakeDeploySource
from incidentkit import (
    Change,
    ChangeKind,
    CheckpointWarning,
    Detection,
    Figure,
    Incident,
    InvalidInputError,
    JournalCorruptedError,
    ManualClock,
    Role,
    Severity,
)
from incidentkit.memory import InMemoryJournalStore
from incidentkit.stores import FileStore

if TYPE_CHECKING:
    from incidentkit._state import IncidentState

# Every part of the folded state but the history, which is read later.
_EAGER = (
    "declared",
    "phase",
    "count",
    "latest_at",
    "impact",
    "impact_event",
    "impact_updates",
    "consulted",
    "review",
    "interventions",
    "checks",
    "overrides",
    "hypotheses",
    "rejected",
    "checklist",
    "roles",
    "handovers",
    "follow_ups",
    "clock_corrections",
    "resolution",
    "lookback",
)


def _state(phase: object) -> IncidentState:
    state: IncidentState = phase._core.state  # type: ignore[attr-defined]
    return state


def _eager(state: IncidentState) -> dict[str, Any]:
    parts = {name: getattr(state, name) for name in _EAGER}
    parts["changes"] = list(state.changes.items())
    parts["roles"] = list(state.roles.items())
    return parts


def _worked(directory: pathlib.Path) -> pathlib.Path:
    """Work an incident through every phase, then follow-ups and a clock correction."""
    work_incident(directory, HARMLESS)
    path = directory / "incident.jsonl"
    resolved = Incident.resume(path, clock=ManualClock(DECLARED_AT.add(hours=2)))
    resolved.follow_up("add a canary", owner="ana", actor="bo")
    earlier = Incident.resume(path, clock=ManualClock(DECLARED_AT.add(hours=1)))
    earlier.correct_clock(actor="bo", reason="the scheduler's clock was ahead")
    return path


def _handed_over(directory: pathlib.Path) -> pathlib.Path:
    """An open incident with handovers, impact updates and changes gathered twice."""
    clock = ManualClock(DECLARED_AT)
    path = directory / "open.jsonl"
    first = Change("d-1", ChangeKind.DEPLOY, "checkout", SYMPTOM_START.subtract(minutes=9))
    again = Change(
        "d-1", ChangeKind.DEPLOY, "checkout", SYMPTOM_START.subtract(minutes=9), summary="v2"
    )
    other = Change("c-7", ChangeKind.CONFIG, "cart", SYMPTOM_START.subtract(minutes=30))
    declared = Incident.declare(
        title="Checkout slow",
        services=["checkout"],
        actor="dana",
        detection=Detection.ALERT,
        journal=path,
        detected_at=SYMPTOM_START.add(minutes=1),
        clock=clock,
    )
    clock.advance(minutes=1)
    (
        declared.hand_over(Role.OPERATIONS, to="sam", actor="dana")
        .assess_impact(
            actor="dana",
            ongoing=True,
            severity=Severity.SEV2,
            symptom_start=SYMPTOM_START,
            stated=[Figure("orders lost", 12, "orders")],
        )
        .gather_changes(actor="sam", deploys=[FakeDeploySource([first, other], name="argo")])
        .update_impact(actor="dana", reason="worse", severity=Severity.SEV1)
        .hand_over(Role.OPERATIONS, to="kim", actor="sam")
        .gather_changes(actor="kim", deploys=[FakeDeploySource([again], name="argo")])
        .finding("retry storm", actor="kim")
        .note("watching", actor="kim")
    )
    return path


def _cut(path: pathlib.Path, records: int, to: pathlib.Path) -> pathlib.Path:
    """Copy the first ``records`` records of a journal to ``to``."""
    lines = path.read_bytes().splitlines(keepends=True)
    to.write_bytes(b"".join(lines[:records]))
    return to


def _checkpoint_at(path: pathlib.Path, records: int, scratch: pathlib.Path) -> pathlib.Path:
    """Write, beside ``path``, the checkpoint of its first ``records`` records."""
    early = _cut(path, records, scratch / path.name)
    saved = Incident.resume(early).save_checkpoint()
    target = path.with_name(saved.name)
    shutil.copyfile(saved, target)
    return target


@pytest.fixture(params=["worked", "handed_over"])
def journal(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> pathlib.Path:
    """A journal covering every part of the folded state."""
    directory = tmp_path / "journal"
    directory.mkdir()
    return _worked(directory) if request.param == "worked" else _handed_over(directory)


def test_resume_from_any_checkpoint_equals_the_full_fold(
    journal: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    """A checkpoint folded at any record, the tail folded after it, gives the full fold's state."""
    full = _state(Incident.resume(journal))
    count = full.count
    for records in range(1, count + 1):
        scratch = tmp_path / f"at-{records}"
        scratch.mkdir()
        _checkpoint_at(journal, records, scratch)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a checkpoint that fits is used without a word
            phase = Incident.resume(journal, checkpoint=True)
        state = _state(phase)
        assert state.pending is not None  # the checkpoint was used
        assert type(phase).__name__ == type(Incident.resume(journal)).__name__
        assert _eager(state) == _eager(full), records
        assert state.events == full.events
        assert state.findings == full.findings
        assert state.pending is None


def test_the_checkpoint_is_used_and_reads_only_the_tail(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a checkpoint, only the records it names and those after it are parsed."""
    path = _handed_over(tmp_path)
    phase = Incident.resume(path)
    opening = _state(phase).count
    for n in range(50):
        phase.note(f"note {n}", actor="kim")
    phase.save_checkpoint()
    total = _state(phase).count
    phase.note("after the checkpoint", actor="kim")

    from incidentkit import _chain  # noqa: PLC0415 - to count the bodies parsed

    parsed: list[int] = []
    real = _chain.parse_body

    def counting(raw: bytes, seq: int) -> dict[str, Any]:
        parsed.append(seq)
        return real(raw, seq)

    monkeypatch.setattr(_chain, "parse_body", counting)
    monkeypatch.setattr("incidentkit._checkpoint.parse_body", counting)
    Incident.resume(path)
    assert sorted(parsed) == list(range(total + 1))
    parsed.clear()
    resumed = Incident.resume(path, checkpoint=True)
    notes = set(range(opening, total - 1))  # the notes before the checkpoint's last record
    assert not notes & set(parsed), parsed
    assert total in parsed  # the tail
    assert len(parsed) < opening + 4, parsed
    parsed.clear()
    assert len(resumed.events) == total + 1  # the rest read when asked for
    assert set(range(total)) <= set(parsed)


def _resume_warns(path: pathlib.Path, match: str) -> IncidentState:
    with pytest.warns(CheckpointWarning, match=match):
        phase = Incident.resume(path, checkpoint=True)
    state = _state(phase)
    assert state.pending is None  # the full fold
    assert _eager(state) == _eager(_state(Incident.resume(path)))
    return state


def test_missing_checkpoint_falls_back(tmp_path: pathlib.Path) -> None:
    """No checkpoint beside the journal: the full fold, and a warning saying so."""
    _resume_warns(_handed_over(tmp_path), "no checkpoint file")


@pytest.mark.parametrize(
    "contents",
    [
        b"",
        b"\xff\xfe not utf-8",
        b"[1, 2]",
        b"{" * 100_000,
        b'{"kind": "incidentkit.checkpoint"}',
        b"null",
    ],
)
def test_corrupt_checkpoint_falls_back(tmp_path: pathlib.Path, contents: bytes) -> None:
    """A checkpoint file that is not a checkpoint is not used."""
    path = _handed_over(tmp_path)
    (tmp_path / "open.jsonl.checkpoint").write_bytes(contents)
    _resume_warns(path, "not used")


def test_tampered_checkpoint_falls_back(tmp_path: pathlib.Path) -> None:
    """A checkpoint edited without its checksum recomputed is not used."""
    path = _handed_over(tmp_path)
    saved = Incident.resume(path).save_checkpoint()
    data = json.loads(saved.read_bytes())
    data["state"]["lookback"] = 1.0
    saved.write_text(json.dumps(data))
    _resume_warns(path, "checksum does not match")


def _forge(saved: pathlib.Path, change: Any) -> None:
    """Edit a checkpoint's state and recompute its checksum, as a forger would."""
    from incidentkit._checkpoint import encode_checkpoint  # noqa: PLC0415

    data = json.loads(saved.read_bytes())
    change(data["state"])
    saved.write_bytes(encode_checkpoint(data["anchor"], data["state"]))


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda s: s["single"].update(impact=0), "record number"),
        (lambda s: s["single"].update(impact=10**30), "record number"),
        (lambda s: s["single"].update(impact=True), "record number"),
        (lambda s: s["single"].update(impact=1), "cannot be"),  # a handover, not an impact
        (lambda s: s["single"].update(bogus=1), "expected shape"),
        (lambda s: s["lists"]["handovers"].reverse(), "journal order"),
        (lambda s: s["changes"].append([s["changes"][0][0], 99]), "gathered no change"),
        (lambda s: s["changes"].append("x"), "seq, index"),
        (lambda s: s.update(count=2), "expected shape"),
        (lambda s: s.update(lookback="far"), "not a number"),
        (lambda s: s["consulted"].update(deploys=[1]), "consulted"),
        (lambda s: s["maps"]["checklist"].update(deploys=3), "cannot be"),
    ],
)
def test_hostile_checkpoint_contents_fall_back(
    tmp_path: pathlib.Path, edit: Any, match: str
) -> None:
    """A checkpoint with a valid checksum but contents that do not fit is not used."""
    path = _handed_over(tmp_path)
    _forge(Incident.resume(path).save_checkpoint(), edit)
    _resume_warns(path, match)


def test_forged_checkpoint_is_caught_before_anything_is_written(tmp_path: pathlib.Path) -> None:
    """A well-formed forgery (checksum recomputed) is refused on reading history or appending."""
    path = _handed_over(tmp_path)
    saved = Incident.resume(path).save_checkpoint()

    def older_impact(state: dict[str, Any]) -> None:
        state["single"]["impact"] = state["single"]["impact_event"]  # the update dropped

    _forge(saved, older_impact)
    before = path.read_bytes()
    phase = Incident.resume(path, checkpoint=True)
    assert phase.severity is Severity.SEV2  # what the forgery says, until checked
    with pytest.raises(JournalCorruptedError, match="does not agree with the journal"):
        phase.note("one more", actor="kim")
    assert path.read_bytes() == before
    with pytest.raises(JournalCorruptedError, match="does not agree"):
        _ = phase.events


def test_checkpoint_of_another_journal_falls_back(tmp_path: pathlib.Path) -> None:
    """A checkpoint folded from another incident's journal names a record this one lacks."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = _handed_over(tmp_path / "a")
    other = _handed_over(tmp_path / "b")  # the same steps, another incident id
    saved = Incident.resume(other).save_checkpoint()
    shutil.copyfile(saved, first.with_name(saved.name))
    _resume_warns(first, "another journal")


def test_checkpoint_ahead_of_a_cut_journal_falls_back(tmp_path: pathlib.Path) -> None:
    """A journal cut back below its checkpoint's seq: the checkpoint is not used."""
    path = _handed_over(tmp_path)
    Incident.resume(path).save_checkpoint()
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-2]))
    _resume_warns(path, "journal ends at seq")


def test_checkpoint_of_a_rewritten_history_falls_back(tmp_path: pathlib.Path) -> None:
    """The journal rewritten from the checkpoint's seq (a recomputed chain): not used."""
    path = _handed_over(tmp_path)
    clock = ManualClock(DECLARED_AT.add(hours=1))
    Incident.resume(path).save_checkpoint()
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]))
    Incident.resume(path, clock=clock).note("another ending", actor="kim")
    _resume_warns(path, "not the one it was folded at")


def test_store_without_files_resumes_as_before() -> None:
    """A store other than files keeps no checkpoint: saving refuses, resuming folds everything."""
    store = InMemoryJournalStore()
    declared = Incident.declare(
        title="t",
        services=["s"],
        actor="a",
        detection=Detection.ALERT,
        store=store,
        incident_id="INC-1",
    )
    with pytest.raises(InvalidInputError, match="checkpoints are kept beside journal files"):
        declared.save_checkpoint()
    with pytest.warns(CheckpointWarning, match="not a journal file"):
        resumed = Incident.resume(store, "INC-1", checkpoint=True)
    assert resumed.events == declared.events


def test_file_store_keeps_a_checkpoint_beside_the_file(tmp_path: pathlib.Path) -> None:
    """A FileStore's journals are files: the checkpoint is kept beside, and not listed."""
    store = FileStore(tmp_path)
    declared = Incident.declare(
        title="t",
        services=["s"],
        actor="a",
        detection=Detection.ALERT,
        store=store,
        incident_id="INC-2",
    )
    declared.note("n", actor="a")
    saved = Incident.resume(store, "INC-2").save_checkpoint()
    assert saved == tmp_path / "INC-2.jsonl.checkpoint"
    assert list(store.incidents()) == ["INC-2"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resumed = Incident.resume(store, "INC-2", checkpoint=True)
    assert _state(resumed).pending is not None
    assert resumed.events == declared.events


def test_threads_reading_the_history_fold_it_once(tmp_path: pathlib.Path) -> None:
    """Threads asking for the events at once all get every event, folded in once."""
    import threading  # noqa: PLC0415 - this test only

    path = _handed_over(tmp_path)
    phase = Incident.resume(path)
    for n in range(200):
        phase.note(f"note {n}", actor="kim")
    phase.save_checkpoint()
    phase.note("after", actor="kim")
    expected = Incident.resume(path).events
    resumed = Incident.resume(path, checkpoint=True)
    seen: list[int] = []
    start = threading.Barrier(4)

    def read() -> None:
        start.wait()
        seen.append(len(resumed.events))

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [len(expected)] * 4
    assert resumed.events == expected
