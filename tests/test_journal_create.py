"""Tests for creating a journal with its first record atomically, and declaring over leftovers."""

from __future__ import annotations

import fcntl
import os
import pathlib
import signal
import stat
import subprocess
import sys
import threading

import pytest

from incidentkit import (
    Declared,
    Detection,
    Incident,
    InvalidInputError,
    Journal,
    JournalCorruptedError,
    JournalError,
    JournalLockedError,
    verify_journal,
)

CHILD = pathlib.Path(__file__).with_name("_journal_child.py")


def child_env() -> dict[str, str]:
    """An environment in which a child imports the same incidentkit as this process."""
    src = str(pathlib.Path(sys.modules["incidentkit"].__file__ or "").resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    return env


def declare(path: pathlib.Path) -> Declared:
    """Declare an incident whose journal is ``path``."""
    return Incident.declare(
        title="Checkout returns 5xx",
        services="checkout",
        actor="alice",
        detection=Detection.ALERT,
        journal=path,
    )


def names(directory: pathlib.Path) -> list[str]:
    """Return the names in ``directory``, hidden ones included, sorted."""
    return sorted(entry.name for entry in directory.iterdir())


# -- declare ---------------------------------------------------------------------------------


def test_a_declaration_whose_write_fails_leaves_no_file(tmp_path, monkeypatch):
    """A declaration that cannot write its first event leaves nothing, so declaring again works."""
    path = tmp_path / "incident.jsonl"

    def full(_fd: int, _data: bytes) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(JournalError, match="No space left"):
        declare(path)
    monkeypatch.undo()
    assert names(tmp_path) == []
    declared = declare(path)
    assert isinstance(Incident.resume(path), Declared)
    assert declared.anchor == Journal.open(path).head


def test_declaring_over_an_empty_leftover_succeeds(tmp_path):
    """A zero-byte file, as an interrupted declaration of 0.1 left, is replaced by a declaration."""
    path = tmp_path / "incident.jsonl"
    path.write_bytes(b"")
    declared = declare(path)
    resumed = Incident.resume(path)
    assert isinstance(resumed, Declared)
    assert resumed.incident_id == declared.incident_id
    assert verify_journal(path).records == 1
    assert names(tmp_path) == ["incident.jsonl"]


def test_resuming_an_empty_leftover_says_declaring_again_is_safe(tmp_path):
    """Resuming a zero-byte journal names the interrupted declaration and the way out."""
    path = tmp_path / "incident.jsonl"
    path.write_bytes(b"")
    with pytest.raises(JournalCorruptedError, match="holds no events") as info:
        Incident.resume(path)
    assert "interrupted declaration" in str(info.value)
    assert "declaring the incident again at this path is safe" in str(info.value)


def test_declaring_over_an_existing_incident_is_refused(tmp_path):
    """Declaring at the path of an incident refuses and leaves that journal as it was."""
    path = tmp_path / "incident.jsonl"
    declare(path)
    before = path.read_bytes()
    with pytest.raises(JournalError, match="already exists"):
        declare(path)
    assert path.read_bytes() == before
    assert names(tmp_path) == ["incident.jsonl"]


# -- Journal.create(first=...) ---------------------------------------------------------------


def test_create_with_first_holds_that_record(tmp_path):
    """``create(first=...)`` returns a journal holding the record, and the file reads back alike."""
    path = tmp_path / "j.jsonl"
    journal = Journal.create(path, first={"b": (1, 2), "a": "ålice"})
    assert [record.body for record in journal.records] == [{"a": "ålice", "b": [1, 2]}]
    assert list(Journal.open(path).records) == list(journal.records)
    assert journal.append({"n": 1}).seq == 1
    assert verify_journal(path).ok


@pytest.mark.parametrize("content", [b"precious", b"\n"])
def test_create_with_first_never_overwrites_a_file_with_contents(tmp_path, content):
    """Any file that is not empty stays as it is, and no temporary is left."""
    path = tmp_path / "j.jsonl"
    path.write_bytes(content)
    with pytest.raises(JournalError, match=r"already exists.*Journal\.open"):
        Journal.create(path, first={"n": 0})
    assert path.read_bytes() == content
    assert names(tmp_path) == ["j.jsonl"]


def test_create_with_first_never_replaces_a_symlink(tmp_path):
    """A symbolic link at the path, even to an empty file, is refused and left alone."""
    target = tmp_path / "empty"
    target.write_bytes(b"")
    path = tmp_path / "j.jsonl"
    path.symlink_to(target)
    with pytest.raises(JournalError, match="already exists"):
        Journal.create(path, first={"n": 0})
    assert path.is_symlink()
    assert target.read_bytes() == b""


def test_create_with_a_bad_first_body_creates_nothing(tmp_path):
    """A first body that is not JSON raises InvalidInputError before any file is made."""
    with pytest.raises(InvalidInputError, match="NaN"):
        Journal.create(tmp_path / "j.jsonl", first={"x": float("nan")})
    assert names(tmp_path) == []


def test_create_with_first_fsyncs_the_record_before_linking_then_the_directory(
    tmp_path, monkeypatch
):
    """The record is fsynced before its file gets the journal's name, the directory after."""
    calls: list[tuple[str, int | None, bool]] = []
    real_fsync, real_link = os.fsync, os.link

    def fsync(fd: int) -> None:
        info = os.fstat(fd)
        calls.append(("fsync", info.st_ino, stat.S_ISDIR(info.st_mode)))
        real_fsync(fd)

    def link(*args: object, **kwargs: object) -> None:
        calls.append(("link", None, False))
        real_link(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "link", link)
    path = tmp_path / "j.jsonl"
    Journal.create(path, first={"n": 0})
    monkeypatch.undo()
    file_sync = ("fsync", path.stat().st_ino, False)
    dir_sync = ("fsync", tmp_path.stat().st_ino, True)
    assert calls.index(file_sync) < calls.index(("link", None, False)) < calls.index(dir_sync)


def test_concurrent_creators_of_one_path_make_one_journal(tmp_path):
    """Of eight threads creating one journal (over an empty leftover), exactly one succeeds."""
    path = tmp_path / "j.jsonl"
    path.write_bytes(b"")
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def create(n: int) -> None:
        barrier.wait()
        try:
            Journal.create(path, first={"by": n})
        except JournalError as exc:
            outcomes.append("refused" if "already exists" in str(exc) else str(exc))
        else:
            outcomes.append("created")

    threads = [threading.Thread(target=create, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["created"] + ["refused"] * 7
    assert len(Journal.open(path)) == 1
    assert names(tmp_path) == ["j.jsonl"]


def test_an_empty_file_written_to_under_its_lock_is_not_replaced(tmp_path):
    """If the empty file's lock holder appends to it, create refuses instead of replacing it."""
    path = tmp_path / "j.jsonl"
    path.write_bytes(b"")
    old_writer = Journal.open(path)
    fd = os.open(path, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    errors: list[BaseException] = []

    def create() -> None:
        try:
            Journal.create(path, first={"by": "new"})
        except JournalError as exc:
            errors.append(exc)

    thread = threading.Thread(target=create)
    thread.start()
    thread.join(0.2)
    assert thread.is_alive(), "create did not wait for the empty file's lock"
    with path.open("ab") as file:  # what the lock holder appends meanwhile
        file.write(Journal.create(tmp_path / "other.jsonl", first={"by": "old"}).path.read_bytes())
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)
    thread.join(10)
    assert len(errors) == 1
    assert "already exists" in str(errors[0])
    assert [record.body for record in old_writer.refresh()] == [{"by": "old"}]


def test_create_waits_at_most_lock_timeout_for_an_empty_files_lock(tmp_path):
    """An empty file locked by a stuck writer makes create raise JournalLockedError in time."""
    path = tmp_path / "j.jsonl"
    path.write_bytes(b"")
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(JournalLockedError):
            Journal.create(path, first={"n": 0}, lock_timeout=0.05)
    finally:
        os.close(fd)
    assert path.read_bytes() == b""
    assert names(tmp_path) == ["j.jsonl"]


# -- temporaries a kill leaves -----------------------------------------------------------------


def stalled_creator(path: pathlib.Path) -> subprocess.Popen[bytes]:
    """Start a child that creates ``path`` and stops just before linking it into place."""
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), "create-stall", str(path)],
        stdout=subprocess.PIPE,
        env=child_env(),
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"linking\n"
    return proc


def kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL a child and reap it."""
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)


def test_a_kill_before_linking_leaves_no_journal_and_a_temporary_later_removed(tmp_path):
    """Killed mid-creation: no journal, readers ignore the temporary, the next create removes it."""
    path = tmp_path / "j.jsonl"
    kill(stalled_creator(path))
    leftovers = names(tmp_path)
    assert "j.jsonl" not in leftovers
    assert len(leftovers) == 1
    assert leftovers[0].startswith(".")
    with pytest.raises(JournalError, match="no journal at"):
        Journal.open(path)
    Journal.create(path, first={"n": 0})
    assert names(tmp_path) == ["j.jsonl"]


def test_a_live_creators_temporary_is_left_alone(tmp_path):
    """A temporary whose creator still runs is never removed by another create."""
    path = tmp_path / "j.jsonl"
    proc = stalled_creator(path)
    try:
        Journal.create(path, first={"by": "parent"})
        assert len(names(tmp_path)) == 2
    finally:
        kill(proc)
    with pytest.raises(JournalError, match="already exists"):
        Journal.create(path, first={"by": "again"})
    assert names(tmp_path) == ["j.jsonl"]
    assert [record.body for record in Journal.open(path).records] == [{"by": "parent"}]
