"""A small JSON-over-HTTP client on the standard library, shared by the HTTP adapters.

It does five things the adapters would otherwise each get subtly wrong:

* a timeout on every request (connect and read);
* every failure becomes a typed :class:`~incidentkit.SourceError` whose message
  says what to check: connection refused, DNS, TLS, timeout, HTTP 401/403,
  429, other 4xx, 5xx, a body that is not JSON;
* credentials (a bearer token, a basic-auth password, the caller's headers,
  the base URL's query values) are sent but never shown: not in ``repr``, not
  in an error message (also where it quotes the server, in any encoding), and
  every URL a message quotes has its query values masked, whatever the
  parameters are called (a redirect's ``Location`` too);
* no low-level exception is chained to the errors it raises (its text may
  quote the server);
* the response headers come back with the body (pagination ``Link`` and
  rate-limit headers live there).
"""

from __future__ import annotations

import email.utils
import json
import math
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Literal, ParamSpec, TypeVar

import attrs

from incidentkit import _redact
from incidentkit._errors import (
    InvalidInputError,
    MalformedResponseError,
    RateLimitedError,
    SourceAuthError,
    SourceError,
    SourceRequestError,
    SourceTimeoutError,
    SourceUnavailableError,
)

__all__ = ["HttpClient", "HttpResponse", "redact"]

#: The shortest header or query value treated as a secret: shorter ones would mask ordinary words.
_MIN_INCIDENTAL_SECRET = 4
_BODY_EXCERPT = 200
#: How much of an error body is cleaned before the excerpt is cut from it.
_BODY_CLEANED = 64 * 1024
_DEFAULT_MAX_BYTES = 64 * 1024 * 1024

_E = TypeVar("_E", bound=SourceError)
_P = ParamSpec("_P")
_T = TypeVar("_T")


def redact(text: str, secrets: Sequence[str]) -> str:
    """Return ``text`` with the secrets, in all their forms, and every URL's secrets masked.

    Longer secrets are masked first, so that a secret containing another is
    masked whole; empty secrets are ignored. See :func:`incidentkit._redact.redact`.
    """
    return _redact.redact(text, secrets)


def _safe_url(url: str) -> str:
    """Return ``url`` fit to quote: no user info, every query value masked, no fragment."""
    return _redact.mask_url(url.partition("#")[0], userinfo="")


def _check_url(url: str, source: str) -> urllib.parse.SplitResult:
    """Return the parts of an http(s) URL with a host and a numeric port, or raise."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        msg = f"{source}: {_safe_url(url)!r} is not an http:// or https:// URL"
        raise InvalidInputError(msg)
    try:
        _ = parts.port
    except ValueError:
        msg = f"{source}: the port of {_safe_url(url)!r} is not a number from 0 to 65535"
        raise InvalidInputError(msg) from None
    return parts


@attrs.frozen
class HttpResponse:
    """A decoded JSON answer and the headers it came with.

    Attributes:
        status: The HTTP status code.
        body: The decoded JSON document.
        headers: The response headers, names in lower case.
        url: The URL that answered, safe to quote (no user info, every query
            value masked).
    """

    status: int
    body: object
    headers: Mapping[str, str]
    url: str


class HttpClient:
    """JSON over HTTP(S) with timeouts, typed errors and hidden credentials.

    Args:
        base_url: The server's root, such as ``http://127.0.0.1:9090``. Paths
            are joined to it. User info in it (``https://user:pw@host``) is
            taken as basic-auth credentials and removed from the URL. Query
            parameters in it (``?tenant=a&session=...``) are sent with every
            request, and their values are treated as secrets.
        source: The adapter's name, for error messages.
        timeout: Seconds to wait for a connection and for each read.
        token: A bearer token, sent as ``Authorization: Bearer ...``.
        username: A basic-auth user name.
        password: A basic-auth password.
        headers: The caller's extra headers, sent with every request. Every
            value of at least four characters is treated as a secret,
            whatever the header is called.
        protocol_headers: Headers the adapter's API needs (an ``Accept``, an
            API version), sent with every request and not secret.
        ca_file: A CA bundle to verify the server's certificate with.
        verify: Whether to verify TLS certificates at all (leave it on).
        user_agent: The ``User-Agent`` header.
        max_bytes: The largest response body accepted.

    Raises:
        InvalidInputError: The URL is not an ``http`` or ``https`` URL, the
            timeout is not positive, or both a token and a password are given.
    """

    def __init__(
        self,
        base_url: str,
        *,
        source: str,
        timeout: float = 10.0,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        headers: Mapping[str, str] | None = None,
        protocol_headers: Mapping[str, str] | None = None,
        ca_file: str | None = None,
        verify: bool = True,
        user_agent: str = "incidentkit",
        max_bytes: int = _DEFAULT_MAX_BYTES,
    ) -> None:
        parts = _check_url(base_url, source)
        if not timeout > 0:
            msg = f"{source}: the timeout must be a positive number of seconds, not {timeout!r}"
            raise InvalidInputError(msg)
        if parts.username is not None and username is None:
            username = urllib.parse.unquote(parts.username)
            password = urllib.parse.unquote(parts.password or "")
        if token and (username or password):
            msg = f"{source}: give a bearer token or basic-auth credentials, not both"
            raise InvalidInputError(msg)
        self.source = source
        self.timeout = float(timeout)
        netloc = parts.netloc.rpartition("@")[2]
        root = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", "")).rstrip("/")
        self._root = root
        self._query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        self.base_url = root
        self._max_bytes = max_bytes
        self._headers: dict[str, str] = {"Accept": "application/json", "User-Agent": user_agent}
        self._headers.update(protocol_headers or {})
        self._secrets: list[str] = []
        for name, value in (headers or {}).items():
            self._headers[name] = value
            self._incidental_secret(value)
            # A credential header's value without its scheme ("Bearer ", "Basic ").
            self._incidental_secret(value.partition(" ")[2])
        had_header_secret = bool(self._secrets)
        for _, value in self._query:
            self._incidental_secret(value)
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
            self._secrets.append(token)
        if username or password:
            encoded = _redact.basic_credentials(username or "", password or "")
            self._headers["Authorization"] = f"Basic {encoded}"
            self._secrets.extend(s for s in (password, encoded) if s)
        self.auth: Literal["none", "bearer", "basic", "header"] = (
            "bearer"
            if token
            else "basic"
            if username or password
            else "header"
            if had_header_secret
            else "none"
        )
        context = ssl.create_default_context(cafile=ca_file)
        if not verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=context),
            _NoRedirectAcrossHosts(),
        )

    def _incidental_secret(self, value: str) -> None:
        if len(value) >= _MIN_INCIDENTAL_SECRET and value not in self._secrets:
            self._secrets.append(value)

    def __repr__(self) -> str:
        """Show the server and the kind of credentials, never the credentials."""
        return f"HttpClient({self.base_url!r}, source={self.source!r}, auth={self.auth!r})"

    @property
    def secrets(self) -> tuple[str, ...]:
        """The values this client must never show (for adapters that build their own messages).

        The token, the password (and the basic-auth header value), the
        caller's header values and the base URL's query values.
        """
        return tuple(self._secrets)

    def redact(self, text: str) -> str:
        """Return ``text`` with this client's secrets, and every URL's secrets, masked."""
        return _redact.redact(text, self._secrets)

    def masked(self, error: _E) -> _E:
        """Return a copy of ``error`` whose message is cleaned by :meth:`redact`.

        The copy has the same type and attributes (``source``, ``retry_after``,
        ``timeout``) and no traceback, cause or context: raise it outside the
        ``except`` block, so that the original (whose message may quote a
        server) is not chained to it.
        """
        copy = type(error).__new__(type(error), self.redact(str(error)))
        copy.__dict__.update(error.__dict__)
        return copy

    def call(self, function: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """Call ``function``; a :class:`~incidentkit.SourceError` it raises leaves masked.

        For an adapter's public method, whose errors may quote what a server
        sent (a field's value, a label): whatever went into the message, the
        error that leaves holds none of this client's secrets, no URL's secrets,
        and no chained exception that does.
        """
        try:
            return function(*args, **kwargs)
        except SourceError as exc:
            failure = exc
        raise self.masked(failure)

    def url(self, path: str, params: Sequence[tuple[str, str]] | Mapping[str, str] = ()) -> str:
        """Return the full URL of ``path`` with ``params``, relative to the base URL.

        An absolute ``path`` (a pagination link) is used as it is. The base
        URL's own query parameters come first. The URL may hold secrets (the
        base URL's query): quote :meth:`location` instead.
        """
        if path.startswith(("http://", "https://")):
            target = path
            pairs = list(params.items() if isinstance(params, Mapping) else params)
        else:
            target = f"{self._root}/{path.lstrip('/')}"
            pairs = [*self._query, *(params.items() if isinstance(params, Mapping) else params)]
        query = urllib.parse.urlencode(pairs)
        if query:
            target = f"{target}{'&' if '?' in target else '?'}{query}"
        return target

    def location(
        self, path: str, params: Sequence[tuple[str, str]] | Mapping[str, str] = ()
    ) -> str:
        """Return :meth:`url` fit to quote: every query value masked."""
        return _safe_url(self.url(path, params))

    def get(
        self,
        path: str,
        params: Sequence[tuple[str, str]] | Mapping[str, str] = (),
        *,
        accept_status: frozenset[int] = frozenset(),
    ) -> HttpResponse:
        """GET ``path`` and decode the JSON answer.

        Args:
            path: A path under the base URL, or an absolute URL.
            params: Query parameters.
            accept_status: Error statuses whose JSON body the caller wants
                to read itself (Prometheus puts its error in a 400's body).

        Raises:
            SourceError: A subclass that says what failed; see the module docstring.
        """
        # http(s) only: url() keeps an absolute http(s) path, else joins the base URL,
        # which __init__ checked.
        request = urllib.request.Request(self.url(path, params), method="GET")  # noqa: S310
        return self._send(request, accept_status)

    def post_form(
        self,
        path: str,
        form: Sequence[tuple[str, str]] | Mapping[str, str],
        *,
        accept_status: frozenset[int] = frozenset(),
    ) -> HttpResponse:
        """POST ``form`` URL-encoded to ``path`` and decode the JSON answer.

        Raises:
            SourceError: A subclass that says what failed.
        """
        request = urllib.request.Request(  # noqa: S310 - http(s) only, see get()
            self.url(path),
            data=urllib.parse.urlencode(form).encode(),
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        return self._send(request, accept_status)

    def _send(self, request: urllib.request.Request, accept_status: frozenset[int]) -> HttpResponse:
        for name, value in self._headers.items():
            request.add_header(name, value)
        where = _safe_url(request.full_url)
        # Each failure is raised after its except block, so that the low-level exception
        # (whose text may quote the server: a reason phrase, a status line) is not chained.
        failure: SourceError | None = None
        status, headers, raw = 0, {}, b""
        try:
            with self._opener.open(request, timeout=self.timeout) as answer:
                status = int(answer.status)
                headers = {k.lower(): v for k, v in answer.headers.items()}
                raw = answer.read(self._max_bytes + 1)
        except urllib.error.HTTPError as exc:
            headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
            raw = _read_error_body(exc)
            status = exc.code
            if status not in accept_status:
                failure = self._status_error(status, headers, raw, where)
        except TimeoutError:
            failure = self._timeout(where)
        except urllib.error.URLError as exc:
            timed_out = isinstance(exc.reason, TimeoutError)
            failure = self._timeout(where) if timed_out else self._unreachable(exc.reason, where)
        except (OSError, ValueError) as exc:  # a reset connection, a bad status line
            failure = self._unreachable(exc, where)
        if failure is not None:
            raise failure
        if len(raw) > self._max_bytes:
            msg = (
                f"{self.source}: the answer from {where} is larger than {self._max_bytes} bytes; "
                "narrow the request (a shorter window, a coarser step, fewer series)"
            )
            raise MalformedResponseError(msg, source=self.source)
        return HttpResponse(status, self._decode(status, raw, headers, where), headers, where)

    def _decode(self, status: int, raw: bytes, headers: Mapping[str, str], where: str) -> object:
        problem = ""
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            problem = str(exc)  # a position and at most one byte, never the document
        if status >= 400:  # noqa: PLR2004 - an error status the caller wanted to read
            # A proxy's HTML error page, not the API's JSON error: the status says it all.
            raise self._status_error(status, headers, raw, where)
        kind = headers.get("content-type", "no content type")
        msg = (
            f"{self.source}: the answer from {where} is not JSON ({kind}: {problem}); "
            f"it begins {self._excerpt(raw)!r}. Check that the URL points at the API, "
            "not at a proxy's or a login page"
        )
        raise MalformedResponseError(self.redact(msg), source=self.source)

    def _excerpt(self, raw: bytes) -> str:
        # Cleaned before it is cut, so that a secret across the cut leaves no prefix behind.
        return self.redact(raw[:_BODY_CLEANED].decode("utf-8", errors="replace"))[:_BODY_EXCERPT]

    def _timeout(self, where: str) -> SourceTimeoutError:
        msg = (
            f"{self.source}: no answer from {where} within {self.timeout:g} s; check that the "
            "server is up and not overloaded, or raise the timeout"
        )
        return SourceTimeoutError(msg, source=self.source, timeout=self.timeout)

    def _unreachable(self, reason: object, where: str) -> SourceUnavailableError:
        text = self.redact(str(reason))
        hint = "check the URL, that the server is running and that this host can reach it"
        if isinstance(reason, ssl.SSLError):
            hint = "check the server's certificate and the CA bundle (ca_file)"
        elif isinstance(reason, socket.gaierror):
            hint = "check the host name in the URL"
        elif isinstance(reason, ConnectionRefusedError):
            hint = "nothing listens there: check the port and that the server is running"
        msg = f"{self.source}: could not reach {where} ({text}); {hint}"
        return SourceUnavailableError(msg, source=self.source)

    def _status_error(
        self, status: int, headers: Mapping[str, str], raw: bytes, where: str
    ) -> SourceError:
        excerpt = self._excerpt(raw)
        said = f": {excerpt!r}" if excerpt.strip() else ""
        if _rate_limited(status, headers):
            retry = _retry_after(headers)
            when = f"retry after {retry:g} s" if retry is not None else "retry later"
            msg = f"{self.source}: {where} is rate-limiting this client (HTTP {status}); {when}"
            return RateLimitedError(msg, source=self.source, retry_after=retry)
        if 300 <= status < 400:  # noqa: PLR2004 - a redirect _NoRedirectAcrossHosts refused
            target = self.redact(_safe_url(headers.get("location", ""))) or "an unnamed location"
            msg = (
                f"{self.source}: {where} redirects (HTTP {status}) to {target}; not followed "
                "(another host or scheme, or a redirect loop), so that credentials stay with "
                "the configured server. Point the URL at the final address"
            )
            return SourceRequestError(msg, source=self.source)
        if status in {401, 403}:
            hint = (
                "no credentials were sent: pass a token or a user name and password"
                if self.auth == "none"
                else f"check the {self.auth} credentials and what they are allowed to read"
            )
            msg = f"{self.source}: {where} refused the request with HTTP {status}{said}; {hint}"
            return SourceAuthError(msg, source=self.source)
        if status >= 500:  # noqa: PLR2004 - server errors
            msg = (
                f"{self.source}: {where} failed with HTTP {status}{said}; the server is in "
                "trouble: check its health and logs"
            )
            return SourceUnavailableError(msg, source=self.source)
        msg = (
            f"{self.source}: {where} rejected the request with HTTP {status}{said}; "
            "check the request"
        )
        return SourceRequestError(msg, source=self.source)


def _rate_limited(status: int, headers: Mapping[str, str]) -> bool:
    """Whether an answer is a rate limit: HTTP 429, or a 403 that says so in its headers.

    GitHub (and GitLab) answer an exhausted quota with 403 or 429 and
    ``x-ratelimit-remaining: 0``, and a secondary rate limit with 403 and
    ``Retry-After``; a plain 403 stays an authorization refusal.
    """
    if status == 429:  # noqa: PLR2004 - Too Many Requests
        return True
    return status == 403 and (  # noqa: PLR2004 - Forbidden
        headers.get("x-ratelimit-remaining", "").strip() == "0" or "retry-after" in headers
    )


def _retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait, from ``Retry-After`` (seconds or an HTTP date) or ``x-ratelimit-reset``.

    ``x-ratelimit-reset`` is the Unix time at which the quota resets.
    """
    current = time.time() if now is None else now
    value = headers.get("retry-after", "").strip()
    if value:
        try:
            seconds = float(value)
        except ValueError:
            try:  # an HTTP date; one in the past means now
                seconds = max(email.utils.parsedate_to_datetime(value).timestamp() - current, 0)
            except (TypeError, ValueError, IndexError):
                seconds = math.nan
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    reset = headers.get("x-ratelimit-reset", "").strip()
    try:
        at = float(reset)
    except ValueError:
        return None
    return max(at - current, 0.0) if math.isfinite(at) else None


def _read_error_body(exc: urllib.error.HTTPError) -> bytes:
    try:
        return exc.read(_DEFAULT_MAX_BYTES)
    except (OSError, ValueError):
        return b""
    finally:
        exc.close()


class _NoRedirectAcrossHosts(urllib.request.HTTPRedirectHandler):
    """Follow redirects on the same host only, so credentials never travel elsewhere."""

    def redirect_request(  # noqa: PLR0917 - the signature urllib calls
        self,
        req: urllib.request.Request,
        fp: object,
        code: int,
        msg: str,
        headers: object,
        newurl: str,
    ) -> urllib.request.Request | None:
        old, new = urllib.parse.urlsplit(req.full_url), urllib.parse.urlsplit(newurl)
        if (new.scheme, new.netloc) != (old.scheme, old.netloc):
            return None  # another host, or https -> http: the credentials would travel
        return super().redirect_request(req, fp, code, msg, headers, newurl)  # type: ignore[arg-type]
