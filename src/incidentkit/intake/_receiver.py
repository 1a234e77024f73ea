"""The receiver: a small, bounded HTTP server in front of an :class:`AlertIntake`."""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import logging
import os
import threading
from collections import deque
from typing import TYPE_CHECKING

import attrs
import pendulum
from typing_extensions import Self

from incidentkit._errors import InvalidInputError
from incidentkit._time import UTC
from incidentkit.intake._server import Handler, Server, Server6

if TYPE_CHECKING:
    from incidentkit.intake._intake import AlertIntake, IntakeOutcome

__all__ = ["DEFAULT_TOKEN_ENV", "AlertmanagerReceiver", "ReceiverFailure"]

_log = logging.getLogger("incidentkit.intake")

DEFAULT_TOKEN_ENV = "INCIDENTKIT_WEBHOOK_TOKEN"  # noqa: S105 - a variable name, not a secret
"""The environment variable :class:`AlertmanagerReceiver` reads its bearer token from."""

_DEFAULT_MAX_BODY = 4 * 1024 * 1024
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


@attrs.frozen
class ReceiverFailure:
    """A request the receiver refused or could not handle.

    Attributes:
        at: When it happened (UTC).
        status: The HTTP status answered (400, 401, 408, 413, 415, 500, 503, ...).
        message: What went wrong; never holds a credential.
        client: The client's address.

    .. versionadded:: 0.1.0
    """

    at: pendulum.DateTime
    status: int
    message: str
    client: str


def _is_loopback(host: str) -> bool:
    name = host.strip("[]").split("%", 1)[0].lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class AlertmanagerReceiver:
    """A small HTTP server that feeds Alertmanager's notifications to an :class:`AlertIntake`.

    Use it as a context manager, which serves in a background thread::

        with AlertmanagerReceiver(intake, port=9095) as receiver:
            print("webhook URL:", receiver.url)
            ...

    or call :meth:`serve_forever` from an ops script. Answers:

    * ``200`` and the :class:`IntakeOutcome` as JSON when the notification
      was handled (declared, noted or ignored, a retry included);
    * ``400`` for a malformed payload (the error in the body), hostile JSON
      included (nested too deep, an integer of too many digits); Alertmanager
      does not retry a 4xx;
    * ``401`` when credentials are configured and the ``Authorization``
      header carries neither the bearer token nor the basic-auth pair;
    * ``404`` for any other path, ``405`` for a method other than POST,
      ``408`` when the whole request did not arrive within
      ``request_timeout``, ``411`` without a ``Content-Length``, ``413`` for
      a body over ``max_body``, ``431`` for a request line and headers over
      64 KiB, ``415`` unless the ``Content-Type`` is
      ``application/json`` (so a web page cannot post one cross-origin
      without a CORS preflight, which this server refuses);
    * ``500`` when handling failed (a journal file locked by another process
      too long, a disk error, a database store unreachable), so that
      Alertmanager retries;
    * ``503`` (``Retry-After: 1``) at once when ``max_connections`` requests
      are already being served.

    Refusals and failures are logged to the ``incidentkit.intake`` logger
    and kept in :attr:`errors`; the server keeps running.

    Args:
        intake: Where notifications go.
        host: The address to listen on. Keep ``127.0.0.1`` unless
            Alertmanager runs elsewhere; any other address needs a credential
            (``token`` or ``basic_auth``) or ``allow_unauthenticated=True``.
        port: The port, ``0`` for any free one (see :attr:`url`).
        path: The URL path Alertmanager posts to.
        token: The bearer token Alertmanager may send
            (``http_config.authorization``). When ``None``, it is read from
            the environment variable ``token_env`` if that is set and not empty.
        token_env: The environment variable to read the token from, or
            ``None`` not to look.
        basic_auth: A ``(username, password)`` pair Alertmanager may send
            instead (``http_config.basic_auth``). With both a token and a
            pair, either is accepted. Both are compared in constant time.
        allow_unauthenticated: Serve on an address other than loopback with
            no credential at all. Off by default: anyone who can reach such
            a receiver could declare incidents.
        max_body: The largest body accepted, in bytes.
        request_timeout: Seconds a client has to send its whole request
            (request line, headers and body), counted from the connection;
            a client trickling bytes is cut off at this deadline, not after a
            timeout per read.
        max_connections: How many requests are served at once (each in a
            thread); a connection beyond them is answered 503 at once.
        history: How many outcomes and failures to keep in memory.

    Raises:
        InvalidInputError: A credential is empty, the path does not start
            with ``/``, a limit is not positive, the address is not loopback
            and there is no credential (nor ``allow_unauthenticated``), or
            the address cannot be bound.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       ``basic_auth``, ``allow_unauthenticated``, ``request_timeout`` and
       ``max_connections``; ``408``, ``415``, ``431`` and ``503`` answers; a
       non-loopback ``host`` requires a credential.
    """

    def __init__(
        self,
        intake: AlertIntake,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/alertmanager",
        token: str | None = None,
        token_env: str | None = DEFAULT_TOKEN_ENV,
        basic_auth: tuple[str, str] | None = None,
        allow_unauthenticated: bool = False,
        max_body: int = _DEFAULT_MAX_BODY,
        request_timeout: float = 10.0,
        max_connections: int = 32,
        history: int = 1000,
    ) -> None:
        if token is None and token_env:
            token = os.environ.get(token_env) or None
        if token is not None and not token.strip():
            msg = "the receiver's token must not be empty; pass None to require no token"
            raise InvalidInputError(msg)
        if basic_auth is not None and (not basic_auth[0] or not basic_auth[1].strip()):
            msg = "basic_auth needs a username and a non-empty password; pass None for none"
            raise InvalidInputError(msg)
        if basic_auth is not None and ":" in basic_auth[0]:
            msg = "a basic_auth username cannot hold ':' (RFC 7617)"
            raise InvalidInputError(msg)
        open_to_all = token is None and basic_auth is None and not allow_unauthenticated
        if open_to_all and not _is_loopback(host):
            msg = (
                f"refusing to serve on {host!r}, which is not a loopback address, without "
                f"credentials: anyone who reaches it could declare incidents. Pass token= "
                f"(or set ${token_env or DEFAULT_TOKEN_ENV}) or basic_auth=, or "
                "allow_unauthenticated=True if the network is trusted"
            )
            raise InvalidInputError(msg)
        if not path.startswith("/"):
            msg = f"the receiver's path must start with '/', not {path!r}"
            raise InvalidInputError(msg)
        for name, value in (
            ("max_body", max_body),
            ("request_timeout", request_timeout),
            ("max_connections", max_connections),
        ):
            if not value > 0:
                msg = f"{name} must be positive, not {value!r}"
                raise InvalidInputError(msg)
        self.intake = intake
        self.path = path
        self._host = host
        self.max_body = max_body
        self.request_timeout = float(request_timeout)
        self.max_connections = max_connections
        self._token = None if token is None else token.encode()
        self._basic = (
            None if basic_auth is None else (basic_auth[0].encode(), basic_auth[1].encode())
        )
        self._outcomes: deque[IntakeOutcome] = deque(maxlen=history)
        self._failures: deque[ReceiverFailure] = deque(maxlen=history)
        self._records_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._serving = threading.Event()
        server_class = Server6 if ":" in host else Server
        try:
            self._server = server_class((host, port), Handler)
        except OSError as exc:
            msg = f"cannot listen on {host}:{port}: {exc.strerror or exc}"
            raise InvalidInputError(msg) from exc
        self._server.receiver = self
        self._server.slots = threading.BoundedSemaphore(max_connections)

    def __repr__(self) -> str:
        """Return the URL and which credentials are required, never a credential."""
        schemes = [s for s, on in (("bearer", self._token), ("basic", self._basic)) if on]
        return f"AlertmanagerReceiver({self.url!r}, auth={'+'.join(schemes) or 'none'!r})"

    @property
    def url(self) -> str:
        """The webhook URL to put in Alertmanager's ``webhook_configs``."""
        shown = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{shown}:{self._server.server_port}{self.path}"

    @property
    def outcomes(self) -> tuple[IntakeOutcome, ...]:
        """The notifications handled so far, oldest first (at most ``history``)."""
        with self._records_lock:
            return tuple(self._outcomes)

    @property
    def errors(self) -> tuple[ReceiverFailure, ...]:
        """The requests refused or failed so far, oldest first (at most ``history``)."""
        with self._records_lock:
            return tuple(self._failures)

    @property
    def challenge(self) -> str:
        """The ``WWW-Authenticate`` value a 401 answer carries: the schemes accepted.

        .. versionadded:: 0.2.0
        """
        schemes: list[str] = []
        if self._token is not None:
            schemes.append('Bearer realm="incidentkit"')
        if self._basic is not None:
            schemes.append('Basic realm="incidentkit", charset="UTF-8"')
        return ", ".join(schemes) or 'Bearer realm="incidentkit"'

    def authorized(self, header: str | None) -> bool:
        """Whether an ``Authorization`` header value carries a credential (constant time).

        The bearer token and the basic-auth pair are each compared with
        :func:`hmac.compare_digest`; without any credential configured every
        request is authorized.

        .. versionchanged:: 0.2.0
           ``Basic`` credentials, when ``basic_auth`` is configured.
        """
        if self._token is None and self._basic is None:
            return True
        scheme, _, credentials = (header or "").strip().partition(" ")
        credentials = credentials.strip()
        if scheme.lower() == "bearer" and self._token is not None:
            return hmac.compare_digest(credentials.encode(), self._token)
        if scheme.lower() == "basic" and self._basic is not None:
            try:
                decoded = base64.b64decode(credentials.encode("ascii"), validate=True)
            except (binascii.Error, UnicodeEncodeError):
                return False
            user, colon, password = decoded.partition(b":")
            user_ok = hmac.compare_digest(user, self._basic[0])
            password_ok = hmac.compare_digest(password, self._basic[1])
            return bool(colon) and user_ok and password_ok
        return False

    def record_outcome(self, outcome: IntakeOutcome) -> None:
        """Keep a handled notification's outcome (the handler calls this)."""
        _log.info("%s: %s %s", outcome.group_key, outcome.action, outcome.incident_id or "")
        with self._records_lock:
            self._outcomes.append(outcome)

    def record_failure(self, status: int, message: str, client: str) -> None:
        """Keep and log a refused or failed request (the handler calls this)."""
        _log.warning("refused a request from %s with HTTP %d: %s", client, status, message)
        failure = ReceiverFailure(pendulum.now(UTC), status, message, client)
        with self._records_lock:
            self._failures.append(failure)

    def start(self) -> Self:
        """Serve in a background thread; return at once."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._serve, name="alertmanager-receiver", daemon=True
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (Ctrl-C) or :meth:`close`; then close.

        :meth:`close` must be called from another thread (or a timer), not
        from a signal handler in this one.
        """
        try:
            self._serve()
        finally:
            self._server.server_close()

    def _serve(self) -> None:
        self._serving.set()
        try:
            self._server.serve_forever()
        finally:
            self._serving.clear()

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._serving.is_set():
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Self:
        """Start serving in a background thread."""
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        """Stop serving and release the port."""
        self.close()
