"""A real, throwaway PostgreSQL server, for tests, benchmarks and examples.

:class:`LocalPostgres` runs ``initdb`` in a temporary directory and starts the
server with ``pg_ctl`` on a free port of 127.0.0.1 (and a Unix socket in that
directory): no system service, nothing outside the directory. It needs the
server's executables (Debian and Ubuntu: ``apt-get install postgresql``, which
puts them in ``/usr/lib/postgresql/<version>/bin``, off ``PATH``; they are
found there). Starting it needs no database driver; talking to it does
(``pip install 'incidentkit[postgres]'``).

PostgreSQL refuses to run as root. Run as root (a CI container), the server
runs as an unprivileged account instead: ``postgres`` if the system has it
(Debian's package creates it), else ``nobody``; the temporary directory is
handed over to that account.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import urllib.parse
from types import TracebackType
from typing import Final, Literal

from typing_extensions import Self

from incidentkit._errors import InvalidInputError, StoreUnavailableError

__all__ = ["LocalPostgres"]

_HINT: Final = (
    "install PostgreSQL's server (`apt-get install postgresql` on Debian or Ubuntu, "
    "whose executables land in /usr/lib/postgresql/<version>/bin), or pass bindir="
)
_DEBIAN: Final = pathlib.Path("/usr/lib/postgresql")
_LOG_TAIL: Final = 2000
_SUPERUSER: Final = "postgres"
_PORT_TRIES: Final = 3
_LOCATION: Final = "local-postgres"


def _version_key(path: pathlib.Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.name)) or (0,)


def _find_bindir(given: str | os.PathLike[str] | None) -> pathlib.Path | None:
    if given is not None:
        path = pathlib.Path(given)
        return path if (path / "pg_ctl").is_file() and (path / "initdb").is_file() else None
    found = shutil.which("pg_ctl")
    if found is not None and shutil.which("initdb") is not None:
        return pathlib.Path(found).resolve().parent
    if _DEBIAN.is_dir():
        versions = sorted(_DEBIAN.iterdir(), key=_version_key, reverse=True)
        for version in versions:
            bindir = version / "bin"
            if (bindir / "pg_ctl").is_file() and (bindir / "initdb").is_file():
                return bindir
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalPostgres:
    """A real PostgreSQL server on 127.0.0.1, in a temporary directory, for as long as needed.

    Use it as a context manager; on entry it creates the cluster and starts
    the server, on exit it stops the server and deletes everything::

        with LocalPostgres() as server:
            store = PostgresStore(server.url)

    The superuser is ``postgres`` with a random password (``url`` holds it:
    this is a throwaway server on the loopback interface). Connections over
    TCP authenticate with SCRAM; connections over the Unix socket in the
    temporary directory (``socket_dir``) are trusted. The server keeps
    PostgreSQL's durability settings (``fsync`` and ``synchronous_commit`` on),
    so a crash test means something; :meth:`stop` with ``mode="immediate"``
    is such a crash, and :meth:`start` brings it back on the same data and
    port.

    Args:
        bindir: The directory of ``initdb`` and ``pg_ctl``; default: ``PATH``,
            else the newest ``/usr/lib/postgresql/<version>/bin``.
        run_as: The account the server runs as when this process is root
            (default ``postgres`` if it exists, else ``nobody``); ignored,
            and must be unset, otherwise.
        password: The superuser's password; default: a random one.
        startup_timeout: Seconds to wait for the server to accept connections.
        settings: Further server settings (``{"max_connections": "50"}``),
            passed as ``-c name=value``.

    Raises:
        InvalidInputError: The executables are missing, or ``run_as`` is set
            by a process that is not root.
        StoreUnavailableError: ``initdb`` failed, or the server did not start
            in time (its log's tail is quoted).

    .. versionadded:: 0.3.0
    """

    def __init__(
        self,
        *,
        bindir: str | os.PathLike[str] | None = None,
        run_as: str | None = None,
        password: str | None = None,
        startup_timeout: float = 60.0,
        settings: dict[str, str] | None = None,
    ) -> None:
        self._bindir_given = bindir
        self._run_as = run_as
        self._password = password if password is not None else secrets.token_urlsafe(18)
        self._startup_timeout = startup_timeout
        self._settings = dict(settings or {})
        self._directory: pathlib.Path | None = None
        self._bindir: pathlib.Path | None = None
        self._account: tuple[int, int] | None = None
        self._port = 0
        self._running = False

    @staticmethod
    def find_bindir(bindir: str | os.PathLike[str] | None = None) -> pathlib.Path | None:
        """Return the directory of PostgreSQL's ``initdb`` and ``pg_ctl``, or ``None``.

        Args:
            bindir: Check this directory only.

        Returns:
            ``bindir`` if it holds them; else the directory of ``pg_ctl`` on
            ``PATH``; else the newest ``/usr/lib/postgresql/<version>/bin``;
            else ``None`` (the server is not installed).
        """
        return _find_bindir(bindir)

    @property
    def host(self) -> str:
        """``127.0.0.1``."""
        return "127.0.0.1"

    @property
    def port(self) -> int:
        """The server's TCP port (0 before it is started)."""
        return self._port

    @property
    def user(self) -> str:
        """The superuser's name, ``postgres``."""
        return _SUPERUSER

    @property
    def password(self) -> str:
        """The superuser's password."""
        return self._password

    @property
    def dbname(self) -> str:
        """The database to connect to, ``postgres``."""
        return "postgres"

    @property
    def socket_dir(self) -> str:
        """The directory of the server's Unix socket (trusted: no password)."""
        return str(self._root() / "socket")

    @property
    def data_dir(self) -> str:
        """The cluster's data directory."""
        return str(self._root() / "data")

    @property
    def url(self) -> str:
        """A libpq URL for the superuser over TCP, password included.

        Such as ``postgresql://postgres:<password>@127.0.0.1:54321/postgres``.
        """
        if not self._port:
            msg = "LocalPostgres has no URL before it is started (use it in a with block)"
            raise InvalidInputError(msg)
        password = urllib.parse.quote(self._password, safe="")
        return f"postgresql://{_SUPERUSER}:{password}@{self.host}:{self._port}/{self.dbname}"

    def url_for(self, user: str, password: str | None = None, dbname: str | None = None) -> str:
        """Return a libpq URL for another role (and database) on this server.

        Args:
            user: The role.
            password: Its password; ``None`` for none.
            dbname: The database; default ``postgres``.
        """
        if not self._port:
            msg = "LocalPostgres has no URL before it is started (use it in a with block)"
            raise InvalidInputError(msg)
        auth = urllib.parse.quote(user, safe="")
        if password is not None:
            auth += ":" + urllib.parse.quote(password, safe="")
        database = urllib.parse.quote(dbname or self.dbname, safe="")
        return f"postgresql://{auth}@{self.host}:{self._port}/{database}"

    @property
    def env(self) -> dict[str, str]:
        """The standard ``PG*`` variables for the superuser, for a child process or ``psql``."""
        return {
            "PGHOST": self.host,
            "PGPORT": str(self._port),
            "PGUSER": _SUPERUSER,
            "PGPASSWORD": self._password,
            "PGDATABASE": self.dbname,
        }

    @property
    def running(self) -> bool:
        """Whether the server was started and not stopped since."""
        return self._running

    def __repr__(self) -> str:
        """Show where it listens and whether it runs; never the password."""
        return f"LocalPostgres(host={self.host!r}, port={self._port}, running={self._running})"

    def __enter__(self) -> Self:
        """Create the cluster and start the server; see the class docstring."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the server and delete its directory."""
        self.close()

    def _root(self) -> pathlib.Path:
        if self._directory is None:
            msg = "LocalPostgres has no directory before it is started (use it in a with block)"
            raise InvalidInputError(msg)
        return self._directory

    def _resolve_account(self) -> tuple[int, int] | None:
        if os.geteuid() != 0:
            if self._run_as is not None:
                msg = "run_as= needs a process running as root; leave it unset otherwise"
                raise InvalidInputError(msg)
            return None
        names = [self._run_as] if self._run_as is not None else [_SUPERUSER, "nobody"]
        for name in names:
            try:
                entry = pwd.getpwnam(name)
            except KeyError:
                continue
            return entry.pw_uid, entry.pw_gid
        msg = (
            f"PostgreSQL refuses to run as root, and there is no account {names[0]!r} to run "
            "it as: create one, or pass run_as= an existing unprivileged account"
        )
        raise InvalidInputError(msg)

    def _run(self, *argv: str, timeout: float) -> subprocess.CompletedProcess[str]:
        """Run one of the server's executables as the server's account."""
        assert self._bindir is not None  # noqa: S101 - set by start() before any run
        account = self._account
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LC_ALL": "C",
            "LANG": "C",
            "PGTZ": "UTC",
        }
        return subprocess.run(  # noqa: S603 - a fixed argument list, no shell
            [str(self._bindir / argv[0]), *argv[1:]],
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
            cwd=self._root(),
            env=env,
            user=None if account is None else account[0],
            group=None if account is None else account[1],
            extra_groups=None if account is None else [],
        )

    def start(self) -> None:
        """Create the cluster (the first time) and start the server (what entering does).

        After :meth:`stop`, starts the server again on the same data and port.

        Raises:
            InvalidInputError: The executables are missing.
            StoreUnavailableError: ``initdb`` failed or the server did not start in time.
        """
        if self._running:
            return
        if self._directory is None:
            self._bindir = _find_bindir(self._bindir_given)
            if self._bindir is None:
                where = "" if self._bindir_given is None else f" in {self._bindir_given}"
                msg = f"LocalPostgres needs PostgreSQL's initdb and pg_ctl{where}: {_HINT}"
                raise InvalidInputError(msg)
            self._account = self._resolve_account()
            self._directory = pathlib.Path(tempfile.mkdtemp(prefix="incidentkit-pg-"))
            try:
                self._initdb()
            except BaseException:
                self.close()
                raise
        try:
            self._launch()
        except BaseException:
            if self._port == 0:
                self.close()
            raise

    def _initdb(self) -> None:
        root = self._root()
        (root / "socket").mkdir()
        secret = root / "pwfile"
        secret.write_text(self._password + "\n", encoding="utf-8")
        secret.chmod(0o600)
        if self._account is not None:
            for path in (root, root / "socket", secret):
                os.chown(path, *self._account)
        try:
            done = self._run(
                "initdb",
                "-D",
                str(root / "data"),
                "-U",
                _SUPERUSER,
                f"--pwfile={secret}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                timeout=120,
            )
        finally:
            secret.unlink()
        if done.returncode != 0:
            said = (done.stderr or done.stdout).strip()[-_LOG_TAIL:]
            msg = f"initdb failed (exit {done.returncode}): {said}"
            raise StoreUnavailableError(msg, path=_LOCATION)

    def _launch(self) -> None:
        root = self._root()
        ports = [self._port] if self._port else [_free_port() for _ in range(_PORT_TRIES)]
        said = ""
        for port in ports:
            options = [
                "-c listen_addresses=127.0.0.1",
                f"-c port={port}",
                f"-c unix_socket_directories={root / 'socket'}",
                *(f"-c {name}={value}" for name, value in self._settings.items()),
            ]
            done = self._run(
                "pg_ctl",
                "start",
                "-D",
                str(root / "data"),
                "-l",
                str(root / "server.log"),
                "-w",
                "-t",
                str(max(1, round(self._startup_timeout))),
                "-o",
                " ".join(options),
                timeout=self._startup_timeout + 30,
            )
            if done.returncode == 0:
                self._port = port
                self._running = True
                return
            said = (done.stderr or done.stdout).strip()
            self._force_stop()
        msg = f"the PostgreSQL server did not start (pg_ctl: {said[-500:]}): {self._log_tail()}"
        raise StoreUnavailableError(msg, path=_LOCATION)

    def _log_tail(self) -> str:
        log = self._root() / "server.log"
        if not log.exists():
            return "(no log)"
        return log.read_text(encoding="utf-8", errors="replace")[-_LOG_TAIL:].strip()

    def stop(self, mode: Literal["smart", "fast", "immediate"] = "fast") -> None:
        """Stop the server, keeping its data (:meth:`start` brings it back).

        Args:
            mode: ``pg_ctl stop -m``: ``fast`` (roll back sessions, then shut
                down cleanly), ``immediate`` (a crash: every process killed,
                recovery from the WAL at the next start) or ``smart``.

        Raises:
            StoreUnavailableError: ``pg_ctl`` could not stop it.
        """
        if not self._running:
            return
        done = self._run("pg_ctl", "stop", "-D", self.data_dir, "-m", mode, "-w", timeout=120)
        if done.returncode != 0:
            msg = f"pg_ctl stop -m {mode} failed: {(done.stderr or done.stdout).strip()[-500:]}"
            raise StoreUnavailableError(msg, path=_LOCATION)
        self._running = False

    def _force_stop(self) -> None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            self._run("pg_ctl", "stop", "-D", self.data_dir, "-m", "immediate", "-w", timeout=60)
        self._running = False

    def close(self) -> None:
        """Stop the server and delete its directory; safe to call twice."""
        if self._running:
            try:
                self.stop("fast")
            except StoreUnavailableError:
                self._force_stop()
        directory, self._directory = self._directory, None
        self._port = 0
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)
