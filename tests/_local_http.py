"""A local HTTP(S) server for adapter tests: canned answers, recorded requests.

``LocalHTTPServer`` is a :class:`http.server.ThreadingHTTPServer` bound to
127.0.0.1 on a free port chosen by the kernel. Each route maps a path (without
its query string) to either a canned answer ``(status, headers, body)`` or a
callable that receives the :class:`Recorded` request and returns one. A body is
bytes (sent as is), a string (UTF-8) or anything else (encoded as JSON, with a
JSON content type unless the headers name one). Two special answers:
:data:`HANG` never answers (for client timeouts) and :data:`DROP` closes the
connection without a status line.

Every request is recorded (method, path, query, headers, body) so that a test
can check what the client sent. Use it as a context manager: leaving the block
wakes any hanging handler, stops the serving thread, joins the handler threads
and closes the listening socket, so that no ResourceWarning escapes::

    with LocalHTTPServer({"/api/v2/incidents.json": (200, {}, {"incidents": []})}) as server:
        client = HttpClient(server.url, source="test")
        ...
    assert server.requests[0].path == "/api/v2/incidents.json"

Other test modules import it as a plain module (``from _local_http import
LocalHTTPServer``): tests/conftest.py puts tests/ on ``sys.path``.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import shutil
import socket
import ssl
import subprocess
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs
from typing_extensions import Self

__all__ = [
    "DROP",
    "HANG",
    "LocalHTTPServer",
    "Recorded",
    "closed_port",
    "json_answer",
    "self_signed_certificate",
    "tls_server_context",
]

#: An answer that never comes: the handler waits until the server stops.
HANG: Any = object()
#: An answer that is no answer: the connection is closed without a status line.
DROP: Any = object()

Answer = tuple[int, Mapping[str, str], Any]
Handler = Callable[["Recorded"], Answer]


@attrs.frozen
class Recorded:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names in lower case
    body: bytes = b""

    def param(self, name: str) -> str | None:
        """Return the (last) value of query parameter ``name``, or None."""
        values = self.query.get(name)
        return values[-1] if values else None


def json_answer(body: object, status: int = 200, **headers: str) -> Answer:
    """Return a canned JSON answer (header names given with ``_`` for ``-``)."""
    return status, {k.replace("_", "-"): v for k, v in headers.items()}, body


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        """Stay quiet: tests read the recorded requests instead."""

    def _serve(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Recorded(
            method=self.command,
            path=parts.path,
            query=urllib.parse.parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        owner = self.server.owner
        owner.record(request)
        answer = owner.answer_for(request)
        if answer is HANG:
            owner.stopping.wait(60)
            self.close_connection = True
            return
        if answer is DROP:
            self.close_connection = True
            return
        if callable(answer):
            answer = answer(request)
        status, headers, payload = answer
        raw, content_type = _encode(payload)
        self.send_response(status)
        names = {k.lower() for k in headers}
        if "content-type" not in names and content_type:
            self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        if "content-length" not in names:
            self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        if self.command != "HEAD":
            with contextlib.suppress(OSError):  # the client may have gone (timeouts)
                self.wfile.write(raw)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve  # noqa: N815 - the base's names


def _encode(payload: object) -> tuple[bytes, str]:
    if isinstance(payload, bytes):
        return payload, ""
    if isinstance(payload, str):
        return payload.encode(), "text/plain; charset=utf-8"
    return json.dumps(payload).encode(), "application/json; charset=utf-8"


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = False  # server_close joins the handler threads
    owner: LocalHTTPServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet about clients that hang up (timeouts, TLS refusals)."""


class LocalHTTPServer:
    """A threaded HTTP(S) server on 127.0.0.1 that answers from routes and records requests.

    Args:
        routes: Path -> canned answer ``(status, headers, body)``, a callable
            taking the :class:`Recorded` request and returning one, or
            :data:`HANG` / :data:`DROP`. Unknown paths answer 404 with a JSON body.
        ssl_context: A server-side TLS context: the server speaks HTTPS.
    """

    def __init__(
        self,
        routes: Mapping[str, Answer | Handler | Any] | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.routes: dict[str, Any] = dict(routes or {})
        self.requests: list[Recorded] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
        self.scheme = "https" if ssl_context is not None else "http"
        self.host = "127.0.0.1"
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._started = False

    @property
    def url(self) -> str:
        """The server's root URL, such as ``http://127.0.0.1:PORT``."""
        return f"{self.scheme}://{self.host}:{self.port}"

    def route(self, path: str, answer: Answer | Handler | Any) -> None:
        """Set (or replace) the answer for ``path``."""
        with self._lock:
            self.routes[path] = answer

    def record(self, request: Recorded) -> None:
        """Keep ``request`` (called by the handler threads)."""
        with self._lock:
            self.requests.append(request)

    def answer_for(self, request: Recorded) -> Any:
        """Return the route's answer for ``request``; a JSON 404 when there is none."""
        with self._lock:
            answer = self.routes.get(request.path)
        if answer is None:
            return 404, {}, {"message": "Not Found", "path": request.path}
        return answer

    def paths(self) -> list[str]:
        """Return the paths requested so far, in order."""
        with self._lock:
            return [r.path for r in self.requests]

    def __enter__(self) -> Self:
        """Start serving in a background thread."""
        self._thread.start()
        self._started = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Wake hanging handlers, stop serving, join the threads and close the socket."""
        self.close()

    def close(self) -> None:
        """Stop the server (idempotent)."""
        self.stopping.set()
        if self._started:
            self._server.shutdown()
            self._thread.join(10)
            self._started = False
        self._server.server_close()


def closed_port() -> int:
    """Return a port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def self_signed_certificate(directory: Path) -> tuple[Path, Path] | None:
    """Make a self-signed certificate for 127.0.0.1 with the openssl CLI.

    Returns:
        ``(certificate, key)`` paths, or None when ``openssl`` is not installed.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def tls_server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """Return a server-side TLS context for ``cert`` and ``key``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context
