"""The receiver: a small, bounded HTTP server in front of an :class:`AlertIntake`."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import http.server
import io
import ipaddress
import json
import logging
import os
import socket
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

import attrs
import pendulum
from typing_extensions import Self, override

from incidentkit._errors import InvalidInputError, MalformedResponseError
from incidentkit._time import UTC
from incidentkit.adapters.alertmanager._webhook import parse_webhook

if TYPE_CHECKING:
    from incidentkit.adapters.alertmanager._intake import AlertIntake, IntakeOutcome

__all__ = ["DEFAULT_TOKEN_ENV", "AlertmanagerReceiver", "ReceiverFailure"]

_log = logging.getLogger("incidentkit.adapters.alertmanager")

DEFAULT_TOKEN_ENV = "INCIDENTKIT_WEBHOOK_TOKEN"  # noqa: S105 - a variable name, not a secret
"""The environment variable :class:`AlertmanagerReceiver` reads its bearer token from."""

_DEFAULT_MAX_BODY = 4 * 1024 * 1024
#: A refused request's body is read and discarded up to this size (and within the
#: request's deadline), so that closing the connection sends the answer and a FIN,
#: not a reset that could destroy it.
_DRAIN_LIMIT = 16 * 1024 * 1024
_CHUNK = 64 * 1024
#: How long a connection may linger after its answer while its client finishes sending.
_LINGER = 1.0
_MAX_LINGERING = 128
#: The most a request's line and headers may take, in bytes.
_HEAD_LIMIT = 64 * 1024
#: How long an answer may take to write once the request is read.
_WRITE_TIMEOUT = 2.0
#: At most this much of http.server's own refusal message (which quotes the request).
_SHOWN = 200
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
_JSON = "application/json"
_CHARSETS = frozenset({"utf-8", "utf8"})


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


class _DeadlineReader(io.RawIOBase):
    """A socket's input that ends at a deadline, however slowly the bytes trickle in.

    Each read waits at most for what is left of the time, so a client sending
    one byte a second is cut off at the deadline, not after a timeout per read.
    """

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline
        self.expired = False
        self.budget = _HEAD_LIMIT  # bytes left to read; raised once the head is read
        self.exhausted = False

    @override
    def readable(self) -> bool:
        return True

    @override
    def readinto(self, buffer: Any) -> int:
        left = self._deadline - time.monotonic()
        if left <= 0:
            self.expired = True
            msg = "the request's deadline passed"
            raise TimeoutError(msg)
        if self.budget <= 0:
            self.exhausted = True
            return 0  # an end of input for http.server's parser; the handler answers 431
        self._sock.settimeout(left)
        view = memoryview(buffer).cast("B")
        try:
            read = self._sock.recv_into(view[: self.budget] if self.budget < len(view) else view)
        except TimeoutError:
            self.expired = True
            raise
        self.budget -= read
        return read


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    receiver: AlertmanagerReceiver
    slots: threading.BoundedSemaphore
    #: Connections answered 503, read until the client is done (or for a moment),
    #: so that closing them does not reset the answer before the client reads it.
    lingering: deque[tuple[socket.socket, float]]

    def __init__(self, address: tuple[str, int], handler: type[_Handler]) -> None:
        self.lingering = deque()  # before binding, whose failure calls server_close
        super().__init__(address, handler)

    @override
    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            self._busy(cast("socket.socket", request), str(client_address[0]))
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    @override
    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def _busy(self, connection: socket.socket, client: str) -> None:
        """Answer 503 without blocking the accepting thread, then let the connection linger.

        The answer is written only if the socket takes it at once (a fresh
        socket always does); :meth:`service_actions` then reads and discards
        what the client sends, without waiting, and closes the connection.
        """
        receiver = self.receiver
        message = (
            f"{receiver.max_connections} requests are being served (max_connections); "
            "Alertmanager will retry"
        )
        receiver.record_failure(503, message, client)
        data = json.dumps({"error": message}).encode()
        head = (
            "HTTP/1.0 503 Service Unavailable\r\n"
            f"Content-Type: {_JSON}\r\nContent-Length: {len(data)}\r\n"
            "Retry-After: 1\r\nConnection: close\r\n\r\n"
        ).encode()
        try:
            connection.settimeout(0.0)
            connection.send(head + data)
            connection.shutdown(socket.SHUT_WR)
        except OSError:
            connection.close()
            return
        if len(self.lingering) >= _MAX_LINGERING:
            self.lingering.popleft()[0].close()
        self.lingering.append((connection, time.monotonic() + _LINGER))

    @override
    def service_actions(self) -> None:
        """Close the lingering connections whose clients are done (or whose moment is up)."""
        super().service_actions()
        now = time.monotonic()
        still: deque[tuple[socket.socket, float]] = deque()
        for connection, until in self.lingering:
            if _drained(connection) or now > until:
                connection.close()
            else:
                still.append((connection, until))
        self.lingering = still

    @override
    def server_close(self) -> None:
        super().server_close()
        while self.lingering:
            self.lingering.popleft()[0].close()

    @override
    def handle_error(self, request: Any, client_address: Any) -> None:
        _log.error("unexpected failure serving %s", client_address[0], exc_info=True)


def _drained(connection: socket.socket) -> bool:
    """Read what a non-blocking socket holds; whether the client has finished (or failed)."""
    try:
        while connection.recv(_CHUNK):
            pass
    except BlockingIOError:
        return False
    except OSError:
        return True
    return True


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "incidentkit-alertmanager-receiver"
    sys_version = ""

    @property
    def receiver(self) -> AlertmanagerReceiver:
        return cast("_Server", self.server).receiver

    @override
    def setup(self) -> None:
        super().setup()
        self._responded = False
        # What parse_request sets, for an answer to a request that never arrived:
        self.command, self.requestline, self.request_version = "", "", "HTTP/1.0"
        self.rfile.close()  # replaced by one that honours the request's deadline
        self._input = _DeadlineReader(
            self.connection, time.monotonic() + self.receiver.request_timeout
        )
        self.rfile = io.BufferedReader(self._input)

    @override
    def handle_one_request(self) -> None:
        super().handle_one_request()  # answers nothing when a read times out
        if self._input.expired and not self._responded:
            self.close_connection = True
            message = (
                f"the request was not received within {self.receiver.request_timeout:g} s "
                "(request_timeout)"
            )
            with contextlib.suppress(OSError):  # the client may be gone
                self._refuse(408, message)

    @override
    def finish(self) -> None:
        """Half-close, then read what the client still sends, for a moment at most.

        Closing a socket with unread input sends a reset, which can destroy the
        answer before the client reads it (a request answered 408 or 413 before
        its body arrived): a lingering close sends a FIN after the answer instead.
        """
        super().finish()
        try:
            self.connection.shutdown(socket.SHUT_WR)
            until = time.monotonic() + _LINGER
            left = _DRAIN_LIMIT
            while left > 0 and (wait := until - time.monotonic()) > 0:
                self.connection.settimeout(wait)
                chunk = self.connection.recv(_CHUNK)
                if not chunk:
                    break
                left -= len(chunk)
        except OSError:
            pass

    @override
    def send_response(self, code: int, message: str | None = None) -> None:
        self._responded = True
        self.connection.settimeout(_WRITE_TIMEOUT)
        super().send_response(code, message)

    @override
    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer http.server's own refusals (a garbled request line, ...) in JSON too."""
        if self.request_version == "HTTP/0.9":  # not spoken here: answer with a status line
            self.request_version = "HTTP/1.0"
        self.close_connection = True
        text = message or self.responses.get(code, ("refused",))[0]
        self._refuse(code, text if len(text) <= _SHOWN else text[:_SHOWN] + "...")

    @override
    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("%s - %s", self.address_string(), format % args)

    @override
    def log_error(self, format: str, *args: Any) -> None:
        _log.warning("%s - %s", self.address_string(), format % args)

    def _answer(
        self, status: int, body: Mapping[str, object], headers: Mapping[str, str] = {}
    ) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", _JSON)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _refuse(self, status: int, message: str, headers: Mapping[str, str] = {}) -> None:
        self.receiver.record_failure(status, message, self.address_string())
        self._answer(status, {"error": message}, headers)

    def _drain(self) -> None:
        try:
            left = min(int(self.headers.get("Content-Length", "0")), _DRAIN_LIMIT)
            while left > 0:
                chunk = self.rfile.read(min(left, _CHUNK))
                if not chunk:
                    break
                left -= len(chunk)
        except (ValueError, OSError):
            pass
        self.close_connection = True

    def _on_path(self) -> bool:
        if self._input.exhausted:
            self.close_connection = True
            self._refuse(431, f"the request line and headers exceed {_HEAD_LIMIT} bytes")
            return False
        self._input.budget = _HEAD_LIMIT + _DRAIN_LIMIT + self.receiver.max_body
        if urllib.parse.urlsplit(self.path).path == self.receiver.path:
            return True
        self._drain()
        self._answer(
            404, {"error": f"not found; post Alertmanager webhooks to {self.receiver.path}"}
        )
        return False

    def _not_allowed(self) -> None:
        if self._on_path():
            self._drain()
            self._answer(
                405, {"error": f"{self.command} is not allowed; use POST"}, {"Allow": "POST"}
            )

    do_GET = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed  # noqa: N815 - http.server's names

    def do_POST(self) -> None:
        receiver = self.receiver
        if not self._on_path():
            return
        if not receiver.authorized(self.headers.get("Authorization")):
            self._refuse(
                401,
                "missing or wrong credentials: set http_config.authorization.credentials "
                "(bearer) or http_config.basic_auth in the webhook_configs entry to the "
                "receiver's",
                {"WWW-Authenticate": receiver.challenge},
            )
            self._drain()
            return
        if not self._json_content():
            return
        body = self._read_body(receiver.max_body)
        if body is None:
            return
        try:
            payload = parse_webhook(body, source=receiver.intake.name)
        except MalformedResponseError as exc:
            self._refuse(400, str(exc))
            return
        try:
            outcome = receiver.intake.handle(payload)
        except Exception as exc:  # noqa: BLE001 - any failure must become a 500 so Alertmanager retries
            _log.exception("handling the notification for %r failed", payload.group_key)
            self._refuse(500, f"{type(exc).__name__}: {exc}; Alertmanager will retry")
            return
        receiver.record_outcome(outcome)
        self._answer(200, outcome.to_json())

    def _json_content(self) -> bool:
        declared = self.headers.get("Content-Type")
        charset = self.headers.get_content_charset()
        if (
            declared is not None
            and self.headers.get_content_type() == _JSON
            and (charset is None or charset.lower() in _CHARSETS)
        ):
            return True
        shown = "none" if declared is None else repr(declared[:60])
        self._refuse(
            415,
            f"the Content-Type must be {_JSON} (optionally with charset=utf-8), not {shown}; "
            "Alertmanager's webhook sends application/json",
            {"Accept-Post": _JSON},
        )
        self._drain()
        return False

    def _read_body(self, max_body: int) -> bytes | None:
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            self.close_connection = True
            self._refuse(411, "a Content-Length header is required")
            return None
        try:
            length = int(length_text) if len(length_text) <= 20 else -1  # noqa: PLR2004 - digits
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self._refuse(400, f"invalid Content-Length {length_text[:40]!r}")
            return None
        if length > max_body:
            self._refuse(413, f"the body of {length} bytes exceeds the limit of {max_body} bytes")
            self._drain()
            return None
        body = self.rfile.read(length)  # TimeoutError at the deadline: handle_one_request
        if len(body) < length:
            self.close_connection = True
            self._refuse(400, f"the body ended after {len(body)} of {length} bytes")
            return None
        return body


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
    * ``500`` when handling failed (a journal locked by another process too
      long, a disk error), so that Alertmanager retries;
    * ``503`` (``Retry-After: 1``) at once when ``max_connections`` requests
      are already being served.

    Refusals and failures are logged to the ``incidentkit.adapters.alertmanager``
    logger and kept in :attr:`errors`; the server keeps running.

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
        server_class = _Server6 if ":" in host else _Server
        try:
            self._server = server_class((host, port), _Handler)
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
