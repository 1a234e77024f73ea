"""The HTTP side of the receiver: a bounded threading server and its request handler."""

from __future__ import annotations

import contextlib
import http.server
import io
import json
import logging
import socket
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from typing_extensions import override

from incidentkit._errors import MalformedResponseError
from incidentkit.intake._webhook import parse_webhook

if TYPE_CHECKING:
    from incidentkit.intake._receiver import AlertmanagerReceiver

__all__ = ["Handler", "Server", "Server6"]

_log = logging.getLogger("incidentkit.intake")

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
_JSON = "application/json"
_CHARSETS = frozenset({"utf-8", "utf8"})


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


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    #: The listen backlog (socketserver's default is 5): connections wait there for
    #: the accepting thread, which answers 503 at once when every slot is taken.
    request_queue_size = 128
    receiver: AlertmanagerReceiver
    slots: threading.BoundedSemaphore
    #: Connections answered 503, read until the client is done (or for a moment),
    #: so that closing them does not reset the answer before the client reads it.
    lingering: deque[tuple[socket.socket, float]]

    def __init__(self, address: tuple[str, int], handler: type[Handler]) -> None:
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


class Server6(Server):
    address_family = socket.AF_INET6


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "incidentkit-alertmanager-receiver"
    sys_version = ""

    @property
    def receiver(self) -> AlertmanagerReceiver:
        return cast("Server", self.server).receiver

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
