"""The PostgreSQL store against a real server: the store suite, the database's guards, crashes.

The server is a :class:`~incidentkit.testing.LocalPostgres` started once per
session (``postgres_server`` in ``conftest.py``): ``initdb`` in a temporary
directory, ``pg_ctl`` on 127.0.0.1. Without PostgreSQL's server installed the
tests are skipped with the install hint; under ``INCIDENTKIT_REQUIRE_SERVICES=1``
(CI) they fail. The tests that crash or freeze a server start their own.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time
import traceback

import pytest

import incidentkit as ik
from incidentkit._chain import GENESIS_DIGEST, encode_body, encode_record
from incidentkit.stores import FileStore
from incidentkit.testing import LocalPostgres, check_journal_store

psycopg = pytest.importorskip(
    "psycopg", reason="needs psycopg: pip install 'incidentkit[postgres]'"
)

from incidentkit.stores.postgres import PostgresStore  # noqa: E402 - after the driver's check

CHILD = pathlib.Path(__file__).with_name("_postgres_child.py")
RESPONDER = "responder"
RESPONDER_PASSWORD = "kit-Pg-pass-7f3a9c"  # noqa: S105 - a test role's password on a throwaway server


def child_env() -> dict[str, str]:
    """An environment in which a child imports the same incidentkit as this process."""
    src = str(pathlib.Path(sys.modules["incidentkit"].__file__ or "").resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    return env


def superuser(server: LocalPostgres):
    """A psycopg connection as the server's superuser (autocommit)."""
    return psycopg.connect(server.url, autocommit=True)


@pytest.fixture(scope="module")
def responder_url(postgres_server: LocalPostgres) -> str:
    """A role that may only read and append, with a password; the store migrated by the owner."""
    with superuser(postgres_server) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {RESPONDER}")
        conn.execute(f"CREATE ROLE {RESPONDER} LOGIN PASSWORD '{RESPONDER_PASSWORD}'")
    owner = PostgresStore(postgres_server.url)
    owner.migrate()
    owner.grant_access(RESPONDER)
    owner.close()
    return postgres_server.url_for(RESPONDER, RESPONDER_PASSWORD)


def declare(store, incident_id: str) -> ik.Declared:
    """Declare an incident in ``store``."""
    return ik.Incident.declare(
        title="Checkout returns 5xx",
        services=["checkout"],
        actor="alice",
        detection=ik.Detection.ALERT,
        store=store,
        incident_id=incident_id,
    )


def unique(name: str) -> str:
    """An incident id no other test uses."""
    return f"{name}-{os.urandom(4).hex()}"


# -- the store suite -------------------------------------------------------------------------


def test_the_postgres_store_passes_the_store_suite(responder_url: str) -> None:
    """The PostgreSQL store passes the suite every store passes, as a read-and-append role."""
    report = check_journal_store(
        lambda: PostgresStore(responder_url),
        secrets=[RESPONDER_PASSWORD],
        writers=4,
        appends=40,
    )
    report.raise_for_failures()
    assert len(report.checks) == 9


def test_an_incident_worked_in_postgres_races_refreshes_and_resumes(responder_url: str) -> None:
    """Two responders on one incident: the loser names the winner's step, refreshes and retries."""
    incident = unique("INC-race")
    commander = declare(PostgresStore(responder_url), incident)
    lead = ik.Incident.resume(PostgresStore(responder_url), incident)
    commander.note("rolling back checkout", actor="alice")
    with pytest.raises(ik.ConcurrentAppendError, match="record 1 by alice: note: rolling back"):
        lead.note("paging the DB team", actor="bob")
    lead.refresh().note("paging the DB team", actor="bob")
    resumed = ik.Incident.resume(PostgresStore(responder_url), incident)
    assert [e.text for e in resumed.events if e.TYPE == "note_added"] == [
        "rolling back checkout",
        "paging the DB team",
    ]
    assert ik.verify_store(PostgresStore(responder_url), incident, anchor=resumed.anchor).covered


def test_copying_between_a_file_and_postgres_keeps_the_chain(
    responder_url: str, tmp_path: pathlib.Path
) -> None:
    """A file's incident copied into PostgreSQL and back: same bytes, same head, both verify."""
    files = FileStore(tmp_path / "files")
    incident = unique("INC-copy")
    phase = declare(files, incident)
    phase.note("first", actor="alice")
    store = PostgresStore(responder_url)
    head = ik.copy_incident(files, store, incident)
    assert head == phase.anchor
    assert store.read(incident) == files.read(incident)
    assert ik.verify_store(store, incident, anchor=head).covered
    back = tmp_path / "back.jsonl"
    assert ik.copy_incident(store, back, incident) == head
    assert back.read_bytes() == files.path(incident).read_bytes()


def test_watch_incident_is_woken_by_notify(responder_url: str) -> None:
    """A watcher on a PostgreSQL incident sees a new event well within a second of its append."""
    store = PostgresStore(responder_url)
    incident = unique("INC-watch")
    phase = declare(store, incident)
    seen: list[tuple[int, float]] = []
    stop = threading.Event()

    def watch() -> None:
        for item in ik.watch_incident(PostgresStore(responder_url), incident, stop=stop):
            seen.append((item.seq, time.monotonic()))
            if item.seq == 1:
                return

    watcher = threading.Thread(target=watch)
    watcher.start()
    deadline = time.monotonic() + 5
    while not seen and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # the watcher is now blocked in wait(), listening
    appended = time.monotonic()
    phase.note("one", actor="alice")
    watcher.join(timeout=5)
    stop.set()
    assert not watcher.is_alive()
    assert [seq for seq, _ in seen] == [0, 1]
    assert seen[1][1] - appended < 0.5


# -- the connection and its secrets ----------------------------------------------------------


def test_location_says_where_without_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """The location comes from the URL, key=value pairs or PG* variables; never the password."""
    for variable in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD", "PGHOSTADDR"):
        monkeypatch.delenv(variable, raising=False)
    url = PostgresStore("postgresql://alice:s3cr3t-pw@db.example.com:6543/incidents")
    assert url.location == "postgresql://alice@db.example.com:6543/incidents"
    assert "s3cr3t" not in repr(url)
    pairs = PostgresStore("host=/run/pg user=bob password=s3cr3t-pw dbname=ops", schema="team_a")
    assert pairs.location == "postgresql://bob@%2Frun%2Fpg:5432/ops (schema team_a)"
    monkeypatch.setenv("PGHOST", "pg.internal")
    monkeypatch.setenv("PGUSER", "carol")
    monkeypatch.setenv("PGPASSWORD", "env-s3cr3t")
    monkeypatch.setenv("PGDATABASE", "incidents")
    from_env = PostgresStore()
    assert from_env.location == "postgresql://carol@pg.internal:5432/incidents"
    assert "env-s3cr3t" not in repr(from_env)


def test_a_broken_connection_string_is_refused_without_quoting_it() -> None:
    """A connection string that does not parse is refused, and the message does not quote it."""
    with pytest.raises(ik.InvalidInputError, match="cannot be parsed") as caught:
        PostgresStore("host=db password=s3cr3t-pw 'unterminated")
    assert "s3cr3t" not in f"{caught.value} {caught.value!r}"
    assert caught.value.__context__ is None  # the driver's error, which quotes it, is dropped
    assert caught.value.__cause__ is None
    with pytest.raises(ik.InvalidInputError, match="schema"):
        PostgresStore("", schema="Robert'); DROP TABLE students;--")


def test_a_wrong_password_is_a_clear_error_that_holds_neither_password(
    postgres_server: LocalPostgres, responder_url: str
) -> None:
    """Refused credentials give StoreUnavailableError naming the user, never a password."""
    wrong = "not-the-Pw-91d2"
    store = PostgresStore(postgres_server.url_for(RESPONDER, wrong))
    with pytest.raises(ik.StoreUnavailableError, match="password authentication failed") as caught:
        store.head("INC-1")
    texts = [
        str(caught.value),
        repr(caught.value),
        "".join(traceback.format_exception(caught.value)),
    ]
    assert caught.value.__context__ is None
    for text in texts:
        assert wrong not in text
        assert RESPONDER_PASSWORD not in text
        assert postgres_server.password not in text
    assert responder_url  # the right one works: the suite above uses it


def test_the_password_from_pgpassword_never_shows(
    postgres_server: LocalPostgres, responder_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With only PG* variables set, the store connects; the password is in no text it makes."""
    assert RESPONDER_PASSWORD in responder_url  # the role exists, with this password
    monkeypatch.setenv("PGHOST", postgres_server.host)
    monkeypatch.setenv("PGPORT", str(postgres_server.port))
    monkeypatch.setenv("PGUSER", RESPONDER)
    monkeypatch.setenv("PGPASSWORD", RESPONDER_PASSWORD)
    monkeypatch.setenv("PGDATABASE", postgres_server.dbname)
    report = check_journal_store(PostgresStore, secrets=[RESPONDER_PASSWORD], appends=5)
    report.raise_for_failures()
    assert PostgresStore().location == (
        f"postgresql://{RESPONDER}@127.0.0.1:{postgres_server.port}/postgres"
    )


def test_no_server_is_a_prompt_store_unavailable_error() -> None:
    """A port nobody listens on gives StoreUnavailableError at once, not a hang."""
    import socket  # noqa: PLC0415 - only here

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = PostgresStore(f"postgresql://nobody:pw-0b5e@127.0.0.1:{port}/x", connect_timeout=2)
    began = time.monotonic()
    with pytest.raises(ik.StoreUnavailableError, match="is unavailable") as caught:
        store.incidents()
    assert time.monotonic() - began < 3
    assert "pw-0b5e" not in "".join(traceback.format_exception(caught.value))


# -- the schema ------------------------------------------------------------------------------


def test_many_processes_migrating_at_once_create_the_schema_once(
    postgres_server: LocalPostgres,
) -> None:
    """Six stores migrating a fresh schema at the same moment: one creates it, all agree."""
    schema = f"race_{os.urandom(3).hex()}"
    barrier = threading.Barrier(6)
    results: list[object] = []

    def migrate() -> None:
        store = PostgresStore(postgres_server.url, schema=schema)
        barrier.wait()
        try:
            results.append(store.migrate())
        except Exception as exc:  # noqa: BLE001 - reported by the assertion
            results.append(exc)

    threads = [threading.Thread(target=migrate) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [1] * 6
    with superuser(postgres_server) as conn:
        query = psycopg.sql.SQL("SELECT version FROM {}.schema_version")
        rows = conn.execute(query.format(psycopg.sql.Identifier(schema))).fetchall()
    assert rows == [(1,)]
    assert PostgresStore(postgres_server.url, schema=schema).migrate() == 1


def test_a_schema_newer_than_the_library_is_refused(postgres_server: LocalPostgres) -> None:
    """A database migrated by a newer incidentkit is not written by an older one."""
    schema = f"newer_{os.urandom(3).hex()}"
    PostgresStore(postgres_server.url, schema=schema).migrate()
    with superuser(postgres_server) as conn:
        query = psycopg.sql.SQL("INSERT INTO {}.schema_version (version) VALUES (99)")
        conn.execute(query.format(psycopg.sql.Identifier(schema)))
    with pytest.raises(ik.JournalError, match="schema version 99, newer"):
        PostgresStore(postgres_server.url, schema=schema).incidents()


def test_a_role_without_grants_is_told_how_to_get_them(postgres_server: LocalPostgres) -> None:
    """A role the owner never granted gets a JournalError naming grant_access, not a crash."""
    with superuser(postgres_server) as conn:
        conn.execute("DROP ROLE IF EXISTS stranger")
        conn.execute("CREATE ROLE stranger LOGIN PASSWORD 'stranger-pw-4c1d'")
    PostgresStore(postgres_server.url).migrate()
    store = PostgresStore(postgres_server.url_for("stranger", "stranger-pw-4c1d"))
    with pytest.raises(ik.JournalError, match="grant_access"):
        store.incidents()


# -- what the database itself refuses --------------------------------------------------------


def _seed(responder_url: str, notes: int = 2) -> tuple[str, ik.Anchor]:
    incident = unique("INC-guard")
    phase = declare(PostgresStore(responder_url), incident)
    for n in range(notes):
        phase.note(f"note {n}", actor="alice")
    return incident, phase.anchor


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE incidentkit.records SET line = line WHERE incident_id = %s",
        "DELETE FROM incidentkit.records WHERE incident_id = %s AND seq = 2",
        "UPDATE incidentkit.incidents SET created_at = now() WHERE incident_id = %s",
        "DELETE FROM incidentkit.incidents WHERE incident_id = %s",
    ],
)
def test_update_and_delete_are_refused_even_to_the_superuser(
    postgres_server: LocalPostgres, responder_url: str, statement: str
) -> None:
    """The triggers refuse UPDATE and DELETE to anyone, the superuser included; nothing changes."""
    incident, anchor = _seed(responder_url)
    before = PostgresStore(responder_url).read(incident)
    with superuser(postgres_server) as conn, pytest.raises(psycopg.Error, match="append-only"):
        conn.execute(statement, (incident,))
    assert PostgresStore(responder_url).read(incident) == before
    assert ik.verify_store(PostgresStore(responder_url), incident, anchor=anchor).covered


def test_truncate_is_refused_even_to_the_superuser(
    postgres_server: LocalPostgres, responder_url: str
) -> None:
    """TRUNCATE of the records or the incidents is refused by the statement triggers."""
    incident, _ = _seed(responder_url)
    with superuser(postgres_server) as conn:
        for table in ("records", "incidents"):
            with pytest.raises(psycopg.Error, match="append-only"):
                conn.execute(f"TRUNCATE incidentkit.{table} CASCADE")
    assert incident in PostgresStore(responder_url).incidents()


def test_update_and_delete_are_not_even_granted_to_the_responder(responder_url: str) -> None:
    """The responder's role lacks UPDATE, DELETE and TRUNCATE: refused before any trigger."""
    incident, _ = _seed(responder_url)
    with psycopg.connect(responder_url, autocommit=True) as conn:
        for statement in (
            "UPDATE incidentkit.records SET line = line WHERE incident_id = %s",
            "DELETE FROM incidentkit.records WHERE incident_id = %s",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement, (incident,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("TRUNCATE incidentkit.records")


def test_the_trigger_refuses_rows_that_would_fork_or_forge_the_chain(
    responder_url: str,
) -> None:
    """Another client's INSERT is checked too: a fork, a gap, a forged line, an orphan seq 0."""
    incident, _ = _seed(responder_url, notes=1)
    store = PostgresStore(responder_url)
    head = store.head(incident)
    first_digest = store.read(incident, 0)[17:81].decode()  # record 0's digest, from its line
    fork = encode_record(2, first_digest, encode_body({"n": "fork"}))  # follows record 0, not 1
    gap = encode_record(3, head.digest, encode_body({"n": "gap"}))
    good = encode_record(2, head.digest, encode_body({"n": "good"}))
    forged_line = good.line.replace(b'"good"', b'"evil"')
    orphan = encode_record(0, GENESIS_DIGEST, encode_body({"n": "orphan"}))
    insert = (
        "INSERT INTO incidentkit.records (incident_id, seq, prev, digest, line) "
        "VALUES (%s, %s, %s, %s, %s)"
    )
    cases = [
        ((incident, fork.seq, fork.prev, fork.digest, fork.line), "does not follow"),
        ((incident, gap.seq, gap.prev, gap.digest, gap.line), "does not follow"),
        ((incident, good.seq, good.prev, good.digest, forged_line), "record_line_intact"),
        (
            (unique("INC-orphan"), 0, orphan.prev, orphan.digest, orphan.line),
            "no incident",
        ),
        ((incident, 2, head.digest, good.digest, fork.line), "record_line_intact"),
    ]
    with psycopg.connect(responder_url, autocommit=True) as conn:
        for values, message in cases:
            with pytest.raises(psycopg.IntegrityError, match=message):
                conn.execute(insert, values)
        conn.execute(insert, (incident, good.seq, good.prev, good.digest, good.line))
    assert store.head(incident) == good.anchor
    assert ik.verify_store(store, incident).ok


_EDIT_TEXT = (
    "UPDATE incidentkit.records SET line = convert_to(replace(convert_from(line, 'UTF8'), "
    "'note 1', 'note X'), 'UTF8') WHERE incident_id = %s AND seq = 2"
)


def test_a_superuser_with_triggers_off_still_cannot_store_a_broken_line(
    postgres_server: LocalPostgres, responder_url: str
) -> None:
    """With triggers off, the superuser's edit of a line's text is still refused by the CHECK."""
    incident, anchor = _seed(responder_url, notes=3)
    with superuser(postgres_server) as conn:
        conn.execute("SET session_replication_role = replica")
        with pytest.raises(psycopg.errors.CheckViolation, match="record_line_intact"):
            conn.execute(_EDIT_TEXT, (incident,))
    assert ik.verify_store(PostgresStore(responder_url), incident, anchor=anchor).covered


def test_a_superuser_edit_with_triggers_off_is_caught_by_verify(
    postgres_server: LocalPostgres,
) -> None:
    """A superuser's edits with triggers off are caught by verify_store, however careful.

    A rewritten record whose line and digest agree (so the CHECK passes) breaks
    the next record's link; an edit after dropping the CHECK breaks its own
    digest; deleted rows fall short of an anchor kept elsewhere. (In a schema
    of its own: the constraint is dropped there.)
    """
    schema = f"tamper_{os.urandom(3).hex()}"
    store = PostgresStore(postgres_server.url, schema=schema)

    def seed(name: str) -> tuple[str, ik.Anchor]:
        incident = unique(name)
        phase = declare(store, incident)
        for n in range(3):
            phase.note(f"note {n}", actor="alice")
        return incident, phase.anchor

    careful, careful_anchor = seed("INC-careful")
    lines = store.read(careful).splitlines(keepends=True)
    body = json.loads(lines[2])["body"]
    body["text"] = "note X"
    forged = encode_record(2, json.loads(lines[2])["prev"], encode_body(body))
    naive, naive_anchor = seed("INC-naive")
    cut, cut_anchor = seed("INC-cut")
    table = psycopg.sql.Identifier(schema, "records")
    with superuser(postgres_server) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(
            psycopg.sql.SQL(
                "UPDATE {} SET line = %s, digest = %s WHERE incident_id = %s AND seq = 2"
            ).format(table),
            (forged.line, forged.digest, careful),
        )
        conn.execute(
            psycopg.sql.SQL("ALTER TABLE {} DROP CONSTRAINT record_line_intact").format(table)
        )
        conn.execute(
            psycopg.sql.SQL(_EDIT_TEXT.replace("incidentkit.records", "{}")).format(table),
            (naive,),
        )
        conn.execute(
            psycopg.sql.SQL("DELETE FROM {} WHERE incident_id = %s AND seq >= 3").format(table),
            (cut,),
        )
    report = ik.verify_store(store, careful, anchor=careful_anchor)
    assert not report.ok
    assert 3 in {problem.seq for problem in report.problems}  # the link after the forgery
    with pytest.raises(ik.JournalCorruptedError, match="corrupted"):
        ik.Incident.resume(PostgresStore(postgres_server.url, schema=schema), careful)
    edited = ik.verify_store(store, naive, anchor=naive_anchor)
    assert [(problem.kind, problem.seq) for problem in edited.problems][:1] == [("edited", 2)]
    truncated = ik.verify_store(store, cut, anchor=cut_anchor)
    assert "truncated" in {problem.kind for problem in truncated.problems}


# -- reliability -----------------------------------------------------------------------------


def test_eight_processes_appending_a_thousand_notes_each_lose_nothing(responder_url: str) -> None:
    """8 responder processes x 1,000 notes on one incident: all land once, in order, verified.

    Each child adds its notes through the protocol; a note that loses a race
    is retried after ``refresh()``. Every writer must lose some races and land
    every note anyway.
    """
    writers, notes = 8, 1000
    incident = unique("INC-eight")
    declare(PostgresStore(responder_url), incident)
    children = [
        subprocess.Popen(
            [sys.executable, str(CHILD), "race", responder_url, incident, str(w), str(notes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=child_env(),
        )
        for w in range(writers)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
        began = time.monotonic()
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        summaries = []
        for child in children:
            out, _ = child.communicate(timeout=300)
            assert child.returncode == 0
            summaries.append(json.loads(out.strip().splitlines()[-1]))
        elapsed = time.monotonic() - began
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    resumed = ik.Incident.resume(PostgresStore(responder_url), incident)
    seen = [e.text for e in resumed.events if e.TYPE == "note_added"]
    assert len(seen) == writers * notes
    assert len(set(seen)) == len(seen)
    for w in range(writers):
        assert [t for t in seen if t.startswith(f"writer {w} ")] == [
            f"writer {w} note {n}" for n in range(notes)
        ]
    assert ik.verify_store(PostgresStore(responder_url), incident, anchor=resumed.anchor).covered
    for summary in summaries:
        assert summary["notes"] == notes
        assert summary["lost"] > 0, summary  # every writer lost races...
        assert summary["retries_that_landed"] > 0, summary  # ...and landed after refresh()
    total_lost = sum(s["lost"] for s in summaries)
    print(  # noqa: T201 - the figures, shown with -s
        f"\n8 x {notes} notes in {elapsed:.1f} s ({writers * notes / elapsed:.0f}/s), "
        f"{total_lost} races lost and retried"
    )


def test_a_crash_mid_stream_keeps_every_acknowledged_append() -> None:
    """pg_ctl stop -m immediate while a responder writes: a prompt error, then nothing lost.

    Every note the protocol acknowledged before the crash is there after the
    restart, the chain verifies, the writer got StoreUnavailableError (not a
    hang) while the server was down, and the same store object works again
    once it is back.
    """
    from services import require_postgres  # noqa: PLC0415

    with LocalPostgres(bindir=require_postgres()) as server:
        store = PostgresStore(server.url, connect_timeout=2, statement_timeout=5)
        incident = unique("INC-crash")
        phase = declare(store, incident)
        acknowledged: list[str] = []
        failures: list[tuple[BaseException, float]] = []
        stop = threading.Event()

        def write() -> None:
            n = 0
            while not stop.is_set():
                text = f"note {n}"
                began = time.monotonic()
                try:
                    phase.note(text, actor="alice")
                except ik.JournalError as exc:
                    failures.append((exc, time.monotonic() - began))
                    if len(failures) >= 3:
                        return
                    time.sleep(0.05)
                    continue
                acknowledged.append(text)
                n += 1

        writer = threading.Thread(target=write)
        writer.start()
        deadline = time.monotonic() + 30
        while len(acknowledged) < 200 and time.monotonic() < deadline:
            time.sleep(0.01)
        server.stop("immediate")
        down_since = time.monotonic()
        writer.join(timeout=30)
        stop.set()
        assert not writer.is_alive(), "the writer hung while the server was down"
        assert len(failures) == 3
        assert all(isinstance(exc, ik.StoreUnavailableError) for exc, _ in failures)
        assert max(seconds for _, seconds in failures) < 5
        assert time.monotonic() - down_since < 15
        assert "is unavailable" in str(failures[0][0])
        server.start()
        resumed = ik.Incident.resume(store, incident)  # the same store object reconnects
        landed = [e.text for e in resumed.events if e.TYPE == "note_added"]
        assert landed[: len(acknowledged)] == acknowledged
        # The append in flight at the crash may have landed (committed, unacknowledged).
        assert len(landed) - len(acknowledged) in (0, 1)
        assert ik.verify_store(store, incident, anchor=resumed.anchor).covered
        resumed.note("after the restart", actor="alice")
        assert ik.Incident.resume(PostgresStore(server.url), incident).anchor.seq == (
            resumed.anchor.seq
        )


def test_a_server_that_stops_answering_gives_an_error_not_a_hang() -> None:
    """A frozen server (SIGSTOP) makes a call fail within statement_timeout plus the grace."""
    from services import require_postgres  # noqa: PLC0415

    with LocalPostgres(bindir=require_postgres()) as server:
        store = PostgresStore(server.url, statement_timeout=1, application_name="frozen-kit")
        incident = unique("INC-frozen")
        declare(store, incident)
        with superuser(server) as conn:
            row = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'frozen-kit'"
            ).fetchone()
        assert row is not None
        backend = int(row[0])
        os.kill(backend, signal.SIGSTOP)
        try:
            began = time.monotonic()
            with pytest.raises(ik.StoreUnavailableError, match="did not answer") as caught:
                store.head(incident)
            waited = time.monotonic() - began
        finally:
            os.kill(backend, signal.SIGCONT)
        assert 1 <= waited < 6
        assert server.password not in str(caught.value)
        assert store.head(incident).seq == 0  # a new connection, and on it goes


# -- LocalPostgres ---------------------------------------------------------------------------


def test_local_postgres_without_the_server_says_what_to_install(tmp_path: pathlib.Path) -> None:
    """A directory without initdb and pg_ctl is refused with the package to install."""
    assert LocalPostgres.find_bindir(tmp_path) is None
    server = LocalPostgres(bindir=tmp_path)
    with pytest.raises(ik.InvalidInputError, match="apt-get install postgresql"):
        server.start()
    with pytest.raises(ik.InvalidInputError, match="before it is started"):
        _ = server.url
    assert not server.running


def test_local_postgres_shows_no_password(postgres_server: LocalPostgres) -> None:
    """The server's repr names where it listens, never its password; its URLs carry it."""
    assert postgres_server.password not in repr(postgres_server)
    assert str(postgres_server.port) in repr(postgres_server)
    assert postgres_server.password in postgres_server.url
    assert postgres_server.env["PGPASSWORD"] == postgres_server.password
    assert PostgresStore(postgres_server.url).location == (
        f"postgresql://postgres@127.0.0.1:{postgres_server.port}/postgres"
    )
