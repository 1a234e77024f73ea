"""The PostgreSQL journal store's implementation (public in :mod:`incidentkit.stores.postgres`)."""

from __future__ import annotations

import contextlib
import functools
import getpass
import hashlib
import math
import os
import select
import socket
import threading
import time
import urllib.parse
import weakref
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

try:
    import psycopg
except ImportError as exc:  # pragma: no cover - the extra is not installed
    _msg = "the PostgreSQL store needs psycopg 3: pip install 'incidentkit[postgres]'"
    raise ImportError(_msg, name=exc.name) from exc
import psycopg.conninfo
import psycopg.errors
from typing_extensions import Self

from incidentkit._chain import GENESIS_DIGEST, Anchor, EncodedRecord
from incidentkit._errors import (
    ConcurrentAppendError,
    InvalidInputError,
    JournalError,
    JournalExistsError,
    StoreUnavailableError,
)
from incidentkit._redact import redact
from incidentkit._stored import check_incident_id, store_location, unknown_incident
from incidentkit.stores._postgres_sql import (
    CURRENT_VERSION,
    channel,
    check_schema,
    grant,
    migrations,
    statements,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Sequence

__all__ = ["PostgresStore"]

_T = TypeVar("_T")

_DEFAULT_SCHEMA: Final = "incidentkit"
_GRACE: Final = 2.0  # seconds past statement_timeout before the client gives up on the server
_MAX_MESSAGE: Final = 600


def _positive(name: str, value: float) -> float:
    checked = cast("object", value)
    if (
        isinstance(checked, bool)
        or not isinstance(checked, (int, float))
        or not math.isfinite(checked)
        or checked <= 0
    ):
        msg = f"{name} must be a positive number of seconds, not {value!r}"
        raise InvalidInputError(msg)
    return float(checked)


def _location(params: dict[str, str], schema: str) -> str:
    """Say where the store is, from the connection parameters and PG* variables; no password."""

    def get(key: str, variable: str, default: str) -> str:
        return params.get(key) or os.environ.get(variable) or default

    try:
        default_user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid
        default_user = ""
    user = get("user", "PGUSER", default_user)
    host = get("host", "PGHOST", "") or get("hostaddr", "PGHOSTADDR", "")
    port = get("port", "PGPORT", "5432")
    dbname = get("dbname", "PGDATABASE", user)
    shown_host = ",".join(
        urllib.parse.quote(part, safe="") if part.startswith("/") else part
        for part in host.split(",")
    )
    where = (
        f"postgresql://{urllib.parse.quote(user, safe='')}@{shown_host}:{port}/"
        f"{urllib.parse.quote(dbname, safe='')}"
    )
    return where if schema == _DEFAULT_SCHEMA else f"{where} (schema {schema})"


class _Connection:
    """One psycopg connection, the socket the watchdog may shut, and the process that owns it."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.pid = os.getpid()
        self.deadline: float | None = None  # set while a call waits on the server
        self.tripped = False  # the watchdog cut the last call off
        try:
            self.socket: socket.socket | None = socket.socket(fileno=os.dup(conn.fileno()))
        except OSError:
            self.socket = None
        # Closes the connection when this object is dropped without close(), even
        # inside a reference cycle (an exception kept in a caller's frame), where
        # a __del__ could run after the driver's own complaint about it.
        self._finalizer = weakref.finalize(self, _shut, conn, self.socket, self.pid)

    def healthy(self) -> bool:
        """Whether the connection still looks usable before a call is sent on it."""
        if self.pid != os.getpid() or self.conn.closed or self.conn.broken:
            return False
        try:  # an idle connection has nothing to read unless the server hung up on it
            readable, _, _ = select.select([self.conn.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    def cut_off(self) -> None:
        """Shut the socket down, so that a call blocked on it fails at once."""
        self.tripped = True
        if self.socket is not None:
            with contextlib.suppress(OSError):
                self.socket.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._finalizer()


def _shut(conn: psycopg.Connection[Any], sock: socket.socket | None, pid: int) -> None:
    """Close a connection and the watchdog's socket; never a parent's connection from a fork."""
    if pid == os.getpid():
        with contextlib.suppress(Exception):
            conn.close()
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.close()


class _Watchdog:
    """Gives up on a server that stopped answering: shuts a connection's socket past a deadline.

    The server's ``statement_timeout`` ends a slow statement, and TCP
    keepalives end a connection to a vanished host, but neither helps when
    the server is alive and not answering (stopped, swapping, a proxy that
    holds the connection open). One daemon thread for the whole process,
    started on first use, looks twice a second at the connections of every
    store (held weakly, so a dropped store's are freed) and shuts down the
    socket of a call that has passed its deadline; the call then fails at
    once.
    """

    _TICK: Final = 0.5

    def __init__(self) -> None:
        self._watched: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def add(self, conn: _Connection) -> None:
        with self._lock:
            self._watched.add(conn)
            if self._thread is None or not self._thread.is_alive():  # none yet, or forked
                self._thread = threading.Thread(
                    target=self._watch, name="incidentkit-postgres-watchdog", daemon=True
                )
                self._thread.start()

    @contextlib.contextmanager
    def watching(self, conn: _Connection, limit: float) -> Generator[None]:
        conn.tripped = False
        conn.deadline = time.monotonic() + limit
        try:
            yield
        finally:
            conn.deadline = None

    def _watch(self) -> None:
        while True:
            time.sleep(self._TICK)
            now = time.monotonic()
            with self._lock:
                watched = list(self._watched)
            for conn in watched:
                deadline = conn.deadline
                if deadline is not None and now > deadline:
                    conn.deadline = None
                    conn.cut_off()
            del watched


_WATCHDOG: Final = _Watchdog()


class PostgresStore:
    """A :class:`~incidentkit.protocols.JournalStore` in a PostgreSQL database.

    Each record is a row of ``<schema>.records`` (incident id, seq, prev,
    digest, the line's bytes, when it was recorded), keyed by incident and
    seq; ``<schema>.incidents`` lists the incidents. An append is one
    ``INSERT ... SELECT ... WHERE`` the record it follows is there with the
    digest it names, and its seq free: of two appends after the same head,
    exactly one lands, under any interleaving, and the other raises
    :class:`~incidentkit.ConcurrentAppendError`. A constraint refuses a row
    whose line is not intact, and triggers one that does not follow the row
    before it (whoever inserts it); triggers refuse ``UPDATE``, ``DELETE``
    and ``TRUNCATE``, and ``NOTIFY`` the watchers (:meth:`wait`,
    :func:`~incidentkit.watch_incident`).

    The schema is created, and migrated, on first use (see :meth:`migrate`).
    Connections are opened on first use, one per store object (two while
    waiting), and opened again after the server went away; a store object
    is safe to share between threads (one call at a time). Each call has a
    deadline: a server that does not answer within ``statement_timeout``
    (plus two seconds) gives :class:`~incidentkit.StoreUnavailableError`,
    never a hang.

    Args:
        conninfo: A libpq connection string or URL
            (``postgresql://user:password@host:5432/dbname``); empty or
            ``None``: libpq's defaults and the standard ``PG*`` environment
            variables (``PGHOST``, ``PGUSER``, ``PGPASSWORD``, ...).
        schema: The schema holding the store's tables: a lower-case
            identifier. Several stores may share a database in different
            schemas.
        connect_timeout: Seconds to wait for a connection (libpq counts at
            least 2).
        statement_timeout: Seconds a statement may run, or wait for a lock,
            before the server cancels it.
        application_name: Shown in ``pg_stat_activity``.

    Raises:
        InvalidInputError: ``conninfo`` cannot be parsed, ``schema`` is not an
            identifier, or a timeout is not a positive number. The message
            never holds the password.

    .. versionadded:: 0.3.0
    """

    __slots__ = (
        "_application_name",
        "_conn",
        "_connect_timeout",
        "_conninfo",
        "_listen_lock",
        "_listener",
        "_location",
        "_lock",
        "_migrated",
        "_schema",
        "_secrets",
        "_sql",
        "_statement_timeout",
        "_wait_limit",
    )

    def __init__(
        self,
        conninfo: str | None = None,
        *,
        schema: str = _DEFAULT_SCHEMA,
        connect_timeout: float = 5.0,
        statement_timeout: float = 30.0,
        application_name: str = "incidentkit",
    ) -> None:
        """Remember where the database is; nothing is connected until the store is used."""
        self._schema = check_schema(schema)
        self._connect_timeout = _positive("connect_timeout", connect_timeout)
        self._statement_timeout = _positive("statement_timeout", statement_timeout)
        self._application_name = application_name
        given = conninfo or ""
        password_env = os.environ.get("PGPASSWORD", "")
        params: dict[str, Any] | None
        try:
            params = psycopg.conninfo.conninfo_to_dict(given)
        except psycopg.Error:  # its message quotes the string, password and all
            params = None
        if params is None:
            msg = (
                "the PostgreSQL connection string cannot be parsed: give a libpq URL "
                "(postgresql://user@host:5432/dbname) or key=value pairs (host=... dbname=...)"
            )
            raise InvalidInputError(msg) from None
        text = {key: str(value) for key, value in params.items() if value is not None}
        self._secrets = tuple(
            secret for secret in (text.get("password", ""), password_env) if secret
        )
        self._conninfo = given
        self._location = _location(text, self._schema)
        self._sql = statements(self._schema)
        self._conn: _Connection | None = None
        self._listener: _Connection | None = None
        self._lock = threading.RLock()
        self._listen_lock = threading.Lock()
        self._migrated = False
        self._wait_limit = self._statement_timeout + _GRACE

    # --- what it is ---------------------------------------------------------

    @property
    def location(self) -> str:
        """``postgresql://user@host:port/dbname`` (and a schema not the default); no password."""
        return self._location

    @property
    def schema(self) -> str:
        """The schema holding the store's tables."""
        return self._schema

    def __repr__(self) -> str:
        """Return ``PostgresStore('<location>')``; never the password."""
        return f"PostgresStore({self._location!r})"

    def __enter__(self) -> Self:
        """Return the store; its connections are closed on exit."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the store's connections."""
        self.close()

    def close(self) -> None:
        """Close the store's connections; the next call opens new ones."""
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()
        with self._listen_lock:
            listener, self._listener = self._listener, None
            if listener is not None:
                listener.close()

    # --- connections and errors ----------------------------------------------

    def _error(
        self,
        exc: BaseException,
        incident_id: str | None,
        doing: str,
        conn: _Connection | None = None,
    ) -> JournalError:
        """Turn a driver's error into ours, with a message that holds no secret."""
        where = self._location if incident_id is None else store_location(self, incident_id)
        said = " ".join(redact(str(exc), self._secrets).split())[:_MAX_MESSAGE]
        if conn is not None and conn.tripped and isinstance(exc, psycopg.OperationalError):
            msg = (
                f"{where} did not answer {doing} within {self._wait_limit:g} s; whether "
                "the last change landed is unknown until the journal is read again"
            )
            return StoreUnavailableError(msg, path=where)
        if isinstance(exc, psycopg.errors.QueryCanceled):
            msg = (
                f"{where} cancelled {doing} after statement_timeout "
                f"({self._statement_timeout:g} s): {said}"
            )
            return StoreUnavailableError(msg, path=where)
        if isinstance(exc, psycopg.errors.InsufficientPrivilege):
            msg = (
                f"{where} refused {doing}: {said}. The role needs USAGE on the schema and "
                "SELECT, INSERT on its tables: PostgresStore.grant_access(role), run by its owner"
            )
            return JournalError(msg, path=where)
        if isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError)):
            msg = (
                f"{where} is unavailable ({doing}): {said}. Check that the server runs and "
                "accepts this client; whether the last change landed is unknown until the "
                "journal is read again"
            )
            return StoreUnavailableError(msg, path=where)
        return JournalError(f"{where} failed {doing}: {said}", path=where)

    def _guarded(
        self,
        run: Callable[[], _T],
        incident_id: str | None,
        doing: str,
        conn: _Connection | None = None,
    ) -> _T:
        """Run ``run`` (under the watchdog, on ``conn``); a driver's error becomes ours.

        Ours is raised outside the ``except`` clause: the driver's exception,
        whose text may quote the connection string, is not even its context.
        """
        try:
            if conn is None:
                return run()
            with _WATCHDOG.watching(conn, self._wait_limit):
                return run()
        except psycopg.Error as exc:
            failure = self._error(exc, incident_id, doing, conn)
        try:
            raise failure from None
        finally:  # this frame, kept by the traceback, must not keep the error: no cycle
            del failure, conn

    def _connect(self) -> _Connection:
        conn = self._guarded(
            lambda: psycopg.connect(
                self._conninfo,
                autocommit=True,
                connect_timeout=max(1, math.ceil(self._connect_timeout)),
                application_name=self._application_name,
                keepalives=1,
                keepalives_idle=10,
                keepalives_interval=5,
                keepalives_count=3,
                tcp_user_timeout=round((self._statement_timeout + _GRACE) * 1000),
            ),
            None,
            "connecting",
        )
        wrapped = _Connection(conn)
        _WATCHDOG.add(wrapped)
        milliseconds = str(round(self._statement_timeout * 1000))
        try:
            self._guarded(
                lambda: conn.execute(
                    "SELECT set_config('statement_timeout', %s, false), "
                    "set_config('lock_timeout', %s, false), "
                    "set_config('idle_in_transaction_session_timeout', %s, false), "
                    # an acknowledged append is durable: never commit asynchronously
                    "set_config('synchronous_commit', CASE current_setting('synchronous_commit') "
                    "WHEN 'off' THEN 'on' ELSE current_setting('synchronous_commit') END, false)",
                    (milliseconds, milliseconds, milliseconds),
                ),
                None,
                "setting the session up",
                wrapped,
            )
        except JournalError:
            wrapped.close()
            raise
        return wrapped

    def _connection(self) -> _Connection:
        """Return a healthy connection, with the schema migrated; the lock is held."""
        current = self._conn
        if current is None or not current.healthy():
            self._conn = None
            if current is not None:
                current.close()
            current = self._conn = self._connect()
        if not self._migrated:
            self._migrate(current)
        return current

    def _call(
        self,
        incident_id: str | None,
        doing: str,
        work: Callable[[psycopg.Connection[Any]], _T],
        *,
        retry: bool,
    ) -> _T:
        """Run ``work`` on the connection, under the lock, the watchdog and our errors.

        ``retry``: a read may be sent again once on a new connection when the
        first one turns out dead (a server restarted since the last call).
        """
        with self._lock:
            attempt = 1
            while True:
                conn = self._connection()
                try:
                    return self._guarded(
                        functools.partial(work, conn.conn), incident_id, doing, conn
                    )
                except JournalError:
                    dead = conn.conn.broken or conn.conn.closed
                    if dead:
                        self._conn = None
                        conn.close()
                    if not (retry and dead and attempt == 1 and not conn.tripped):
                        raise
                attempt += 1

    # --- the schema ------------------------------------------------------------

    def migrate(self) -> int:
        """Create the store's schema, or bring it up to this library's version.

        Done on first use anyway; call it to set a database up ahead (as the
        role that should own the tables). Idempotent, and safe when several
        processes do it at once: the work is one transaction under a
        transaction-scoped advisory lock, and a schema already up to date is
        only read.

        Returns:
            The schema's version.

        Raises:
            JournalError: The schema is newer than this library, or the role
                may not create it.
            StoreUnavailableError: The server cannot be reached.
        """
        with self._lock:
            conn = self._connection()
            return self._migrate(conn)

    def _migrate(self, wrapped: _Connection) -> int:
        conn = wrapped.conn

        def work() -> int:
            version = self._version(conn)
            return self._upgrade(conn) if version < CURRENT_VERSION else version

        version = self._guarded(work, None, "migrating the schema", wrapped)
        if version > CURRENT_VERSION:
            msg = (
                f"{self._location} holds schema version {version}, newer than this incidentkit "
                f"knows ({CURRENT_VERSION}): upgrade incidentkit"
            )
            raise JournalError(msg, path=self._location)
        self._migrated = True
        return version

    def _version(self, conn: psycopg.Connection[Any]) -> int:
        exists = conn.execute(self._sql["version_table"], (self._schema,)).fetchone()
        if not exists or not exists[0]:
            return 0
        row = conn.execute(self._sql["version"]).fetchone()
        return int(row[0]) if row else 0

    def _upgrade(self, conn: psycopg.Connection[Any]) -> int:
        key = int.from_bytes(
            hashlib.sha256(f"incidentkit:{self._schema}".encode()).digest()[:8], "big", signed=True
        )
        bootstrap, steps = migrations(self._schema)
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
            version = self._version(conn)  # another process may have done it meanwhile
            if version >= CURRENT_VERSION:
                return version
            conn.execute(bootstrap)
            for number, text in steps:
                if number > version:
                    conn.execute(text)
                    conn.execute(self._sql["record_version"], (number,))
                    version = number
        return version

    def grant_access(self, role: str) -> None:
        """Let ``role`` work incidents in this store: read and append, nothing else.

        Grants ``USAGE`` on the schema, ``SELECT`` and ``INSERT`` on the
        incidents and records, ``SELECT`` on the version table. Run it as the
        tables' owner (the role that migrated them).

        Raises:
            JournalError: The grant was refused (not the owner) or the role
                does not exist.
            StoreUnavailableError: The server cannot be reached.
        """
        statement = grant(self._schema, role)
        self._call(None, f"granting access to {role!r}", lambda c: c.execute(statement), retry=True)

    # --- the protocol ------------------------------------------------------------

    def create(self, incident_id: str, records: Sequence[EncodedRecord]) -> None:
        """Insert the incident and all its records in one transaction.

        Raises:
            JournalExistsError: The store holds that incident already.
            InvalidInputError: ``records`` is empty or not an intact chain from seq 0.
            StoreUnavailableError: The server cannot be reached; nothing was created.
            JournalError: The database refused it.
        """
        check_incident_id(incident_id)
        checked: list[EncodedRecord] = []
        prev = GENESIS_DIGEST
        for seq, record in enumerate(records):
            checked.append(EncodedRecord.from_line(record.line, seq=seq, prev=prev))
            prev = checked[-1].digest
        if not checked:
            msg = "a journal is created from an intact chain of records starting at seq 0"
            raise InvalidInputError(msg)

        def work(conn: psycopg.Connection[Any]) -> bool:
            with conn.transaction():
                created = conn.execute(self._sql["create_incident"], (incident_id,)).rowcount
                if created != 1:
                    return False
                with conn.cursor().copy(self._sql["copy_records"]) as copy:
                    for record in checked:
                        copy.write_row(
                            (incident_id, record.seq, record.prev, record.digest, record.line)
                        )
            return True

        if not self._call(incident_id, "creating the incident", work, retry=False):
            msg = f"{self._location} holds the incident {incident_id!r} already"
            raise JournalExistsError(msg, path=store_location(self, incident_id))

    def read(self, incident_id: str, first: int = 0) -> bytes:
        """Return the lines of the incident's records from seq ``first`` on, joined.

        Raises:
            JournalError: The store does not hold that incident.
            StoreUnavailableError: The server cannot be reached.
        """
        check_incident_id(incident_id)
        start = max(int(first), 0)

        def work(conn: psycopg.Connection[Any]) -> bytes | None:
            with conn.cursor(binary=True) as cursor:
                cursor.execute(self._sql["read"], (incident_id, start))
                rows = cursor.fetchall()
            if rows:
                return b"".join(row[0] for row in rows)
            found = conn.execute(self._sql["exists"], (incident_id,)).fetchone()
            return b"" if found and found[0] else None

        data = self._call(incident_id, "reading the journal", work, retry=True)
        if data is None:
            raise unknown_incident(self, incident_id)
        return data

    def head(self, incident_id: str) -> Anchor:
        """Return the anchor of the incident's last record.

        Raises:
            JournalError: The store does not hold that incident.
            StoreUnavailableError: The server cannot be reached.
        """
        check_incident_id(incident_id)

        def work(conn: psycopg.Connection[Any]) -> tuple[int, str] | None:
            row = conn.execute(self._sql["head"], (incident_id,)).fetchone()
            return None if row is None else (int(row[0]), str(row[1]))

        found = self._call(incident_id, "reading the head", work, retry=True)
        if found is None:
            raise unknown_incident(self, incident_id)
        return Anchor(*found)

    def append(self, incident_id: str, record: EncodedRecord) -> None:
        """Insert ``record`` if and only if the record it follows is the incident's last.

        One statement, committed (and so durable) before it returns.

        Raises:
            ConcurrentAppendError: Another writer appended first; nothing was written.
            InvalidInputError: ``record`` is not an intact record.
            JournalError: The store does not hold that incident.
            StoreUnavailableError: The server cannot be reached or did not
                answer: whether the record landed is unknown until read back.
        """
        check_incident_id(incident_id)
        checked = EncodedRecord.from_line(record.line, seq=record.seq, prev=record.prev)
        params = {
            "id": incident_id,
            "seq": checked.seq,
            "prev": checked.prev,
            "digest": checked.digest,
            "line": checked.line,
        }

        def work(conn: psycopg.Connection[Any]) -> bool | None:
            if conn.execute(self._sql["append"], params).rowcount == 1:
                return True
            found = conn.execute(self._sql["exists"], (incident_id,)).fetchone()
            return False if found and found[0] else None

        landed = self._call(incident_id, "appending a record", work, retry=False)
        if landed is None:
            raise unknown_incident(self, incident_id)
        if not landed:
            where = store_location(self, incident_id)
            msg = (
                f"{where} has moved on: record {checked.seq - 1} is not the head this record "
                "follows (another writer appended first); nothing was written"
            )
            raise ConcurrentAppendError(msg, path=where)

    def incidents(self) -> Sequence[str]:
        """Return the ids of the incidents, in the order they were created.

        Raises:
            StoreUnavailableError: The server cannot be reached.
        """

        def work(conn: psycopg.Connection[Any]) -> list[str]:
            return [str(row[0]) for row in conn.execute(self._sql["incidents"]).fetchall()]

        return self._call(None, "listing the incidents", work, retry=True)

    def wait(self, incident_id: str, count: int, timeout: float) -> bool:
        """Block until the incident holds more than ``count`` records, woken by ``NOTIFY``.

        Returns:
            True if it does, False if ``timeout`` seconds passed first.

        Raises:
            JournalError: The store does not hold that incident.
            StoreUnavailableError: The server cannot be reached.
        """
        deadline = time.monotonic() + max(0.0, timeout)
        with self._listen_lock:
            listener = self._listening(incident_id)
            try:
                while True:
                    if self.head(incident_id).seq >= count:
                        return True
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._notified(listener, incident_id, remaining)
            finally:
                self._unlisten(listener)

    def _listening(self, incident_id: str) -> _Connection:
        """Return the listening connection, ``LISTEN`` issued; the listen lock is held."""
        listener = self._listener
        if listener is None or not listener.healthy():
            self._listener = None
            if listener is not None:
                listener.close()
            listener = self._listener = self._connect()
        try:
            self._guarded(
                lambda: listener.conn.execute(self._sql["listen"]),
                incident_id,
                "listening for new records",
                listener,
            )
        except JournalError:
            self._listener = None
            listener.close()
            raise
        return listener

    def _notified(self, listener: _Connection, incident_id: str, wait: float) -> bool:
        """Wait up to ``wait`` seconds for a notification about the incident; True if one came."""
        channel_name = channel(self._schema)
        deadline = time.monotonic() + wait

        def receive() -> bool:
            while (remaining := deadline - time.monotonic()) > 0:
                for notify in listener.conn.notifies(timeout=remaining, stop_after=1):
                    if notify.channel == channel_name and notify.payload == incident_id:
                        return True
            return False

        try:  # not under the watchdog: waiting is the point
            return self._guarded(receive, incident_id, "waiting for new records")
        except JournalError:
            self._listener = None
            listener.close()
            raise

    def _unlisten(self, listener: _Connection) -> None:
        if self._listener is not listener:
            return
        try:
            self._guarded(
                lambda: listener.conn.execute(self._sql["unlisten"]), None, "unlistening", listener
            )
        except JournalError:
            self._listener = None
            listener.close()
