"""Tests for the shared JSON-over-HTTP client of the adapters, against a local server."""

from __future__ import annotations

import base64
import email.utils
import json
import time
import urllib.request

import pytest

from _local_http import (
    DROP,
    HANG,
    LocalHTTPServer,
    closed_port,
    json_answer,
    self_signed_certificate,
    tls_server_context,
)
from incidentkit import (
    InvalidInputError,
    MalformedResponseError,
    RateLimitedError,
    SourceAuthError,
    SourceError,
    SourceRequestError,
    SourceTimeoutError,
    SourceUnavailableError,
)
from incidentkit.adapters._http import (
    HttpClient,
    _NoRedirectAcrossHosts,
    _retry_after,
    redact,
)
from services import require_executables

TOKEN = "ghp_S3cr3tT0kenValue0123456789"  # noqa: S105 - a fake token
PASSWORD = "hunter2-Pa55word"  # noqa: S105 - a fake password


def _raises(client: HttpClient, exc_type: type[SourceError], path: str = "/x") -> SourceError:
    with pytest.raises(exc_type) as info:
        client.get(path)
    assert info.value.source == client.source
    return info.value


# ------------------------------------------------------------------ requests sent


def test_get_encodes_params_and_sends_json_accept() -> None:
    """GET sends the query parameters URL-encoded and asks for JSON."""
    with LocalHTTPServer({"/api/v1/query": json_answer({"ok": True})}) as server:
        client = HttpClient(server.url, source="t", user_agent="ik-test")
        answer = client.get(
            "api/v1/query", [("query", 'sum(rate(x{job="a b"}[5m]))'), ("q", "é&=?")]
        )
    assert answer.status == 200
    assert answer.body == {"ok": True}
    (sent,) = server.requests
    assert sent.method == "GET"
    assert sent.param("query") == 'sum(rate(x{job="a b"}[5m]))'
    assert sent.param("q") == "é&=?"
    assert sent.headers["accept"] == "application/json"
    assert sent.headers["user-agent"] == "ik-test"
    assert "authorization" not in sent.headers
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.url.startswith(f"{server.url}/api/v1/query?query=")


def test_post_form_sends_an_urlencoded_body() -> None:
    """post_form sends the form URL-encoded with its content type."""
    with LocalHTTPServer({"/api/v1/query_range": json_answer({"status": "success"})}) as server:
        client = HttpClient(f"{server.url}/", source="t")
        answer = client.post_form("/api/v1/query_range", {"query": "up == 1", "step": "60"})
    assert answer.body == {"status": "success"}
    (sent,) = server.requests
    assert sent.method == "POST"
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert sent.body == b"query=up+%3D%3D+1&step=60"


def test_url_joins_paths_and_keeps_absolute_links() -> None:
    """Paths join the base URL; an absolute URL (a pagination link) is kept, params appended."""
    client = HttpClient("http://127.0.0.1:9/base/", source="t")
    assert client.url("a/b") == "http://127.0.0.1:9/base/a/b"
    assert client.url("/a", {"x": "1 2"}) == "http://127.0.0.1:9/base/a?x=1+2"
    assert client.url("https://other.example/p?page=2", [("n", "3")]) == (
        "https://other.example/p?page=2&n=3"
    )


def test_bearer_token_is_sent_and_never_shown() -> None:
    """A bearer token goes in the Authorization header and nowhere a person reads."""
    with LocalHTTPServer({"/x": json_answer({"echo": TOKEN}, status=500)}) as server:
        client = HttpClient(server.url, source="t", token=TOKEN)
        error = _raises(client, SourceUnavailableError)
    assert server.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert client.auth == "bearer"
    assert TOKEN not in repr(client)
    assert "auth='bearer'" in repr(client)
    assert TOKEN not in str(error)
    assert "***" in str(error)  # the echoed token was masked, not dropped silently
    assert client.secrets == (TOKEN,)


def test_basic_auth_from_arguments() -> None:
    """User name and password become a Basic Authorization header; the password is hidden."""
    with LocalHTTPServer({"/x": json_answer({})}) as server:
        client = HttpClient(server.url, source="t", username="ops", password=PASSWORD)
        client.get("/x")
    expected = base64.b64encode(f"ops:{PASSWORD}".encode()).decode()
    assert server.requests[0].headers["authorization"] == f"Basic {expected}"
    assert client.auth == "basic"
    assert PASSWORD not in repr(client)
    assert expected not in repr(client)


def test_basic_auth_from_the_url_is_taken_out_of_it() -> None:
    """user:password@ in the URL becomes basic auth and leaves the URL, reprs and errors."""
    with LocalHTTPServer({"/x": json_answer({"detail": "nope"}, status=401)}) as server:
        url = server.url.replace("://", f"://ops:{PASSWORD.replace('-', '%2D')}@")
        client = HttpClient(url, source="t")
        error = _raises(client, SourceAuthError)
    expected = base64.b64encode(f"ops:{PASSWORD}".encode()).decode()
    assert server.requests[0].headers["authorization"] == f"Basic {expected}"
    assert client.base_url == server.url
    for shown in (repr(client), str(error)):
        assert PASSWORD not in shown
        assert "ops:" not in shown
    assert "check the basic credentials" in str(error)


def test_every_custom_header_value_is_masked_whatever_the_header_is_called() -> None:
    """X-API-Key and an unlisted X-Session-Key are secrets; a value under 4 characters is not."""
    key, session = "k-0123456789abcdef", "sess-9f8e7d6c5b"
    echo = f"bad key {key} for {session}"
    with LocalHTTPServer({"/x": json_answer(echo, status=400)}) as server:
        client = HttpClient(
            server.url,
            source="t",
            headers={"X-API-Key": key, "X-Session-Key": session, "X-Team": "sre"},
        )
        error = _raises(client, SourceRequestError)
    assert server.requests[0].headers["x-api-key"] == key
    assert server.requests[0].headers["x-session-key"] == session
    assert server.requests[0].headers["x-team"] == "sre"
    assert client.auth == "header"
    assert key not in str(error)
    assert session not in str(error)
    assert client.redact(f"a {key} b {session} c sre") == "a *** b *** c sre"


def test_every_query_value_is_masked_in_messages_whatever_its_name() -> None:
    """access_token, an unlisted session and even page values never appear in an error message."""
    with LocalHTTPServer({"/x": json_answer({}, status=404)}) as server:
        client = HttpClient(server.url, source="t")
        with pytest.raises(SourceRequestError) as info:
            client.get("/x", [("access_token", TOKEN), ("session", PASSWORD), ("page", "2")])
    assert server.requests[0].param("access_token") == TOKEN  # sent as asked
    message = str(info.value)
    assert TOKEN not in message
    assert PASSWORD not in message
    assert "/x?access_token=***&session=***&page=*** rejected" in message


def test_a_refused_redirect_masks_the_location_whatever_its_parameters() -> None:
    """A Location with a token under an unlisted name, userinfo and a fragment is quoted masked."""
    location = f"http://alice:{PASSWORD}@localhost:9/landing?session={TOKEN}&x=1#frag-{TOKEN}"
    with LocalHTTPServer({"/x": (302, {"Location": location}, b"")}) as server:
        client = HttpClient(server.url, source="t")
        error = _raises(client, SourceRequestError)
    message = str(error)
    assert TOKEN not in message
    assert PASSWORD not in message
    assert "to http://localhost:9/landing?session=***&x=***;" in message


def test_a_base_url_query_is_sent_with_every_request_and_never_shown() -> None:
    """?session=... in the base URL travels with each request; its value is masked, even echoed."""
    with LocalHTTPServer({"/api/x": lambda r: json_answer(r.query, status=500)}) as server:
        client = HttpClient(f"{server.url}/?session={TOKEN}", source="t")
        error = _raises(client, SourceUnavailableError, "api/x")
    assert server.requests[0].param("session") == TOKEN
    assert client.base_url == server.url
    assert TOKEN not in repr(client)
    assert TOKEN not in str(error)
    assert client.secrets == (TOKEN,)


def test_an_echoed_secret_across_the_excerpt_cut_leaves_no_prefix() -> None:
    """A token that straddles the 200-character excerpt is masked before the cut, not after."""
    body = "x" * 190 + TOKEN + "y" * 50
    with LocalHTTPServer({"/x": (500, {}, body)}) as server:
        client = HttpClient(server.url, source="t", token=TOKEN)
        error = _raises(client, SourceUnavailableError)
    assert TOKEN[:10] not in str(error)


def test_errors_chain_no_low_level_exception() -> None:
    """The typed error has no cause or context: a urllib error's text may quote the server."""
    with LocalHTTPServer({"/x": (302, {"Location": f"http://localhost:9/?s={TOKEN}"}, b"")}) as a:
        error = _raises(HttpClient(a.url, source="t"), SourceRequestError)
    assert error.__cause__ is None
    assert error.__context__ is None
    refused = _raises(
        HttpClient(f"http://127.0.0.1:{closed_port()}", source="t"), SourceUnavailableError
    )
    assert refused.__cause__ is None
    assert refused.__context__ is None


def test_masked_keeps_the_type_and_attributes_and_drops_the_chain() -> None:
    """A masked copy is the same kind of error with the same facts, minus secrets and chain."""
    client = HttpClient("http://127.0.0.1:9", source="t", token=TOKEN)
    original = RateLimitedError(f"slow down {TOKEN}", source="t", retry_after=7.0)
    original.__cause__ = ValueError(TOKEN)
    copy = client.masked(original)
    assert type(copy) is RateLimitedError
    assert (str(copy), copy.source, copy.retry_after) == ("slow down ***", "t", 7.0)
    assert copy.__cause__ is None
    assert copy.__context__ is None
    timeout = client.masked(SourceTimeoutError(f"late {TOKEN}", source="t", timeout=2.0))
    assert (str(timeout), timeout.timeout) == ("late ***", 2.0)


def test_redact_masks_longer_secrets_first_and_ignores_empty_ones() -> None:
    """A secret that contains another is masked whole; an empty secret changes nothing."""
    assert redact("tok-abc and tok", ["tok", "tok-abc", ""]) == "*** and ***"
    assert redact("see https://u:p@h/p?a=1", []) == "see https://***@h/p?a=***"
    assert redact("nothing here", []) == "nothing here"


# ------------------------------------------------------------------ bad arguments


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/", "file:///etc/passwd", "127.0.0.1:9090", "http://", ""]
)
def test_a_non_http_url_is_refused(url: str) -> None:
    """Only http:// and https:// URLs with a host are accepted."""
    with pytest.raises(InvalidInputError, match="not an http:// or https:// URL"):
        HttpClient(url, source="t")


def test_a_url_with_a_bad_port_is_refused_up_front() -> None:
    """A port that is not a number is an InvalidInputError when the client is made, not later."""
    with pytest.raises(InvalidInputError, match="port") as info:
        HttpClient(f"http://ops:{PASSWORD}@127.0.0.1:90x/?session={TOKEN}", source="t")
    assert PASSWORD not in str(info.value)
    assert TOKEN not in str(info.value)


def test_bad_timeout_and_double_credentials_are_refused() -> None:
    """A non-positive timeout, and a token together with a password, are caller errors."""
    with pytest.raises(InvalidInputError, match="timeout"):
        HttpClient("http://127.0.0.1:9", source="t", timeout=0)
    with pytest.raises(InvalidInputError, match="not both") as info:
        HttpClient("http://127.0.0.1:9", source="t", token=TOKEN, password=PASSWORD)
    assert TOKEN not in str(info.value)
    assert PASSWORD not in str(info.value)


# ------------------------------------------------------------------ status mapping


@pytest.mark.parametrize(
    ("status", "exc_type"),
    [
        (400, SourceRequestError),
        (401, SourceAuthError),
        (403, SourceAuthError),
        (404, SourceRequestError),
        (422, SourceRequestError),
        (429, RateLimitedError),
        (500, SourceUnavailableError),
        (502, SourceUnavailableError),
        (503, SourceUnavailableError),
    ],
)
def test_each_status_maps_to_its_error(status: int, exc_type: type[SourceError]) -> None:
    """Each HTTP error status becomes the SourceError subclass that says what to do."""
    with LocalHTTPServer({"/x": json_answer({"message": "said the server"}, status=status)}) as s:
        error = _raises(HttpClient(s.url, source="t"), exc_type)
    assert f"HTTP {status}" in str(error)
    assert type(error) is exc_type
    if status != 429:
        assert "said the server" in str(error)


def test_auth_error_says_when_no_credentials_were_sent() -> None:
    """A 401 to a client without credentials says to pass some."""
    with LocalHTTPServer({"/x": json_answer({}, status=401)}) as server:
        error = _raises(HttpClient(server.url, source="t"), SourceAuthError)
    assert "no credentials were sent" in str(error)


def test_accepted_error_status_returns_the_body() -> None:
    """An error status the caller accepts comes back with its JSON body and headers."""
    body = {"status": "error", "errorType": "bad_data", "error": "parse error"}
    with LocalHTTPServer({"/x": json_answer(body, status=400, x_extra="1")}) as server:
        answer = HttpClient(server.url, source="t").get("/x", accept_status=frozenset({400}))
    assert answer.status == 400
    assert answer.body == body
    assert answer.headers["x-extra"] == "1"


def test_429_with_retry_after_seconds() -> None:
    """HTTP 429 with Retry-After: 7 is a RateLimitedError that retries after 7 s."""
    with LocalHTTPServer({"/x": json_answer({}, status=429, retry_after="7")}) as server:
        error = _raises(HttpClient(server.url, source="t"), RateLimitedError)
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 7
    assert "retry after 7 s" in str(error)


def test_429_with_an_http_date_and_without_any_hint() -> None:
    """Retry-After as an HTTP date is converted to seconds; no hint means retry_after None."""
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    with LocalHTTPServer(
        {"/d": json_answer({}, 429, retry_after=when), "/n": json_answer({}, 429)}
    ) as s:
        client = HttpClient(s.url, source="t")
        dated = _raises(client, RateLimitedError, "/d")
        bare = _raises(client, RateLimitedError, "/n")
    assert isinstance(dated, RateLimitedError)
    assert isinstance(bare, RateLimitedError)
    assert dated.retry_after is not None
    assert 100 < dated.retry_after <= 121
    assert bare.retry_after is None
    assert "retry later" in str(bare)


def test_403_with_an_exhausted_quota_is_a_rate_limit() -> None:
    """GitHub's 403 with x-ratelimit-remaining: 0 is a rate limit, retried at the reset time."""
    reset = str(int(time.time()) + 600)
    answer = json_answer(
        {"message": "API rate limit exceeded for 203.0.113.7."},
        status=403,
        x_ratelimit_limit="60",
        x_ratelimit_remaining="0",
        x_ratelimit_reset=reset,
    )
    with LocalHTTPServer({"/x": answer}) as server:
        error = _raises(HttpClient(server.url, source="t", token=TOKEN), RateLimitedError)
    assert isinstance(error, RateLimitedError)
    assert error.retry_after is not None
    assert 590 < error.retry_after <= 601
    assert "HTTP 403" in str(error)


def test_403_with_retry_after_is_a_secondary_rate_limit() -> None:
    """A 403 with Retry-After (GitHub's secondary rate limit) is a rate limit too."""
    with LocalHTTPServer({"/x": json_answer({}, status=403, retry_after="60")}) as server:
        error = _raises(HttpClient(server.url, source="t"), RateLimitedError)
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 60


def test_403_with_quota_left_is_still_an_auth_error() -> None:
    """A 403 whose headers show quota left is a refusal of the credentials."""
    answer = json_answer({}, status=403, x_ratelimit_remaining="4999")
    with LocalHTTPServer({"/x": answer}) as server:
        _raises(HttpClient(server.url, source="t", token=TOKEN), SourceAuthError)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "-5"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "0"}, 0.0),
        ({"retry-after": "Thu, 01 Jan 1970 00:00:00 GMT"}, 0.0),  # in the past: now
        ({"retry-after": "Thu, 01 Jan 1970 00:20:00 GMT"}, 200.0),
        ({"x-ratelimit-reset": "1000"}, 0.0),
        ({"x-ratelimit-reset": "1060"}, 60.0),
        ({"retry-after": "bogus", "x-ratelimit-reset": "1030"}, 30.0),
        ({"x-ratelimit-reset": "inf"}, None),
        ({}, None),
    ],
)
def test_retry_after_parsing(headers: dict[str, str], expected: float | None) -> None:
    """Retry-After seconds or date, else x-ratelimit-reset; nonsense is no hint."""
    assert _retry_after(headers, now=1000.0) == expected


# ------------------------------------------------------------------ bodies


def test_a_non_json_body_is_malformed_and_quoted() -> None:
    """An HTML page instead of JSON is a MalformedResponseError that quotes its start."""
    page = "<html><body>Please log in</body></html>"
    with LocalHTTPServer({"/x": (200, {"Content-Type": "text/html"}, page)}) as server:
        error = _raises(HttpClient(server.url, source="t"), MalformedResponseError)
    assert "not JSON" in str(error)
    assert "text/html" in str(error)
    assert "Please log in" in str(error)


def test_a_body_larger_than_max_bytes_is_refused() -> None:
    """An answer larger than max_bytes is refused rather than read whole."""
    big = {"data": "x" * 5000}
    with LocalHTTPServer({"/x": json_answer(big)}) as server:
        assert HttpClient(server.url, source="t", max_bytes=10_000).get("/x").body == big
        error = _raises(HttpClient(server.url, source="t", max_bytes=1000), MalformedResponseError)
    assert "larger than 1000 bytes" in str(error)


# ------------------------------------------------------------------ the network


def test_a_server_that_never_answers_times_out() -> None:
    """No answer within the timeout is a SourceTimeoutError carrying the timeout."""
    with LocalHTTPServer({"/x": HANG}) as server:
        began = time.monotonic()
        error = _raises(HttpClient(server.url, source="t", timeout=0.3), SourceTimeoutError)
        elapsed = time.monotonic() - began
    assert isinstance(error, SourceTimeoutError)
    assert error.timeout == 0.3
    assert elapsed < 5
    assert "within 0.3 s" in str(error)


def test_connection_refused_is_unavailable() -> None:
    """Nothing listening is a SourceUnavailableError that says to check the port."""
    client = HttpClient(f"http://127.0.0.1:{closed_port()}", source="t", timeout=2)
    error = _raises(client, SourceUnavailableError)
    assert type(error) is SourceUnavailableError
    assert "nothing listens there" in str(error)


def test_a_dropped_connection_is_unavailable() -> None:
    """A server that hangs up without answering is a SourceUnavailableError."""
    with LocalHTTPServer({"/x": DROP}) as server:
        error = _raises(HttpClient(server.url, source="t", timeout=2), SourceUnavailableError)
    assert type(error) is SourceUnavailableError


def test_an_unknown_host_is_unavailable() -> None:
    """A host name that does not resolve is a SourceUnavailableError naming the host."""
    client = HttpClient("http://no-such-host.invalid", source="t", timeout=2)
    error = _raises(client, SourceUnavailableError)
    assert "no-such-host.invalid" in str(error)


def test_a_redirect_on_the_same_host_is_followed_with_credentials() -> None:
    """A redirect to the same host and port is followed, credentials included."""
    routes = {
        "/old": (302, {"Location": "/new"}, b""),
        "/new": json_answer({"moved": True}),
    }
    with LocalHTTPServer(routes) as server:
        answer = HttpClient(server.url, source="t", token=TOKEN).get("/old")
    assert answer.body == {"moved": True}
    assert server.paths() == ["/old", "/new"]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in server.requests)


def test_a_redirect_to_another_host_is_not_followed() -> None:
    """A redirect to another server is refused: the other server never sees the token."""
    with LocalHTTPServer({"/steal": json_answer({"got": "it"})}) as other:
        routes = {"/x": (302, {"Location": f"{other.url}/steal"}, b"")}
        with LocalHTTPServer(routes) as server:
            error = _raises(HttpClient(server.url, source="t", token=TOKEN), SourceRequestError)
    assert other.requests == []
    assert server.paths() == ["/x"]
    assert "not followed" in str(error)
    assert TOKEN not in str(error)


def test_a_redirect_from_https_to_http_is_not_followed() -> None:
    """A downgrade from https to http on the same host is refused (the token would leak)."""
    handler = _NoRedirectAcrossHosts()
    request = urllib.request.Request("https://api.example/x")
    same = handler.redirect_request(request, None, 302, "Found", {}, "https://api.example/y")
    assert same is not None
    assert same.full_url == "https://api.example/y"
    assert handler.redirect_request(request, None, 302, "Found", {}, "http://api.example/y") is None
    assert (
        handler.redirect_request(request, None, 302, "Found", {}, "https://evil.example/") is None
    )


def test_https_with_an_untrusted_certificate(tmp_path) -> None:
    """A self-signed certificate is refused (naming the certificate) unless its CA is given."""
    require_executables("openssl")
    made = self_signed_certificate(tmp_path)
    assert made is not None  # openssl is there: required above
    cert, key = made
    answer = json_answer({"tls": True})
    with LocalHTTPServer({"/x": answer}, ssl_context=tls_server_context(cert, key)) as server:
        assert server.url.startswith("https://")
        error = _raises(HttpClient(server.url, source="t", timeout=5), SourceUnavailableError)
        trusted = HttpClient(server.url, source="t", timeout=5, ca_file=str(cert)).get("/x")
        unverified = HttpClient(server.url, source="t", timeout=5, verify=False).get("/x")
    assert "certificate" in str(error)
    assert trusted.body == {"tls": True}
    assert unverified.body == {"tls": True}


def test_json_answer_helper_and_recorded_requests() -> None:
    """The local server records what it got and answers 404 for unknown paths."""
    with LocalHTTPServer() as server:
        server.route("/a", lambda request: (200, {}, {"you_sent": request.param("q")}))
        client = HttpClient(server.url, source="t")
        assert client.get("/a", {"q": "1"}).body == {"you_sent": "1"}
        error = _raises(client, SourceRequestError, "/missing")
    assert "HTTP 404" in str(error)
    assert server.paths() == ["/a", "/missing"]
    assert json.loads(json.dumps(server.requests[0].query)) == {"q": ["1"]}


def test_an_accepted_error_status_with_a_non_json_body_is_the_status_error() -> None:
    """A proxy's HTML page under an accepted error status reports the status, not 'not JSON'."""
    answer = (400, {"Content-Type": "text/html"}, "<html>Bad Request (proxy)</html>")
    with LocalHTTPServer({"/x": answer}) as server:
        client = HttpClient(server.url, source="t")
        with pytest.raises(SourceRequestError, match="HTTP 400"):
            client.get("/x", accept_status=frozenset({400}))
