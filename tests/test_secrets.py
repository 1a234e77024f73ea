"""A sweep: no secret an adapter holds or meets leaks into an error, a repr, a journal or a report.

The table crosses, per adapter, the kinds of secret it can hold and the forms
it can get them in (argument, environment, URL; a token a server puts in a
redirect's ``Location``) with the ways a request can fail (connection refused,
timeout, 401, 403, 429, a 500 whose body echoes the request's headers and URL,
a body that is not JSON, a field whose bad value echoes them, a redirect to
another host, a Prometheus warning that echoes them). Every failure is served
by a local server on 127.0.0.1 that echoes what it received.

Each row is a :class:`Case` made by an adapter's :class:`Family`, which knows how
to serve a failure and build the adapter for a credential: the kubectl and git
families can be added to ``FAMILIES`` with their own server (a fake API, a git
remote) and their own ``build``.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import json
import traceback
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from _local_http import HANG, LocalHTTPServer, closed_port
from incidentkit import (
    Detection,
    Evidence,
    Figure,
    Incident,
    ManualClock,
    Measure,
    Metric,
    Severity,
    SourceError,
)
from incidentkit._redact import mask_argv, mask_secrets, mask_url, mask_urls
from incidentkit.adapters.github import GitHubDeploymentSource
from incidentkit.adapters.prometheus import PrometheusMetricSource
from incidentkit.adapters.statuspage import StatuspageSource
from incidentkit.reports import render_html, render_json, render_markdown
from incidentkit.testing._calls import redact as redact_numbered

TOKEN = "tok-Sw33p-9f8e7d6c5b4a"  # noqa: S105 - a fake bearer token
PASSWORD = "pw-Sw33p/+x=41&q?"  # noqa: S105 - a fake password, with characters URL-encoding changes
USERNAME = "ops"
HEADER_VALUE = "hdr-Sw33p-0a1b2c3d4e"
QUERY_TOKEN = "qry-Sw33p-5f6e7d8c9b"  # noqa: S105 - a fake token in a URL's query
REDIRECT_TOKEN = "rdr-Sw33p-1a2b3c4d5e"  # noqa: S105 - a fake token a server redirects with

T = pendulum.datetime(2026, 11, 20, 14, 0, tz="UTC")
WINDOW = (T.subtract(hours=1), T)
TIMEOUT = 0.3


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _forms(secret: str) -> tuple[str, ...]:
    """The secret and the encodings in which it would still be a leak."""
    return (
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        _b64(secret),
    )


# --------------------------------------------------------------------------- credentials


@attrs.frozen
class Credential:
    """A kind of secret, the form the adapter gets it in, and every text it must stay out of."""

    kind: str
    form: str
    leaks: tuple[str, ...]

    @property
    def label(self) -> str:
        """``kind/form``, for test ids."""
        return f"{self.kind}/{self.form}"


BEARER_ARGUMENT = Credential("bearer", "argument", _forms(TOKEN))
BEARER_ENVIRONMENT = Credential("bearer", "environment", _forms(TOKEN))
BASIC_ARGUMENT = Credential(
    "basic", "argument", (*_forms(PASSWORD), _b64(f"{USERNAME}:{PASSWORD}"))
)
BASIC_ENVIRONMENT = attrs.evolve(BASIC_ARGUMENT, form="environment")
USERINFO_URL = Credential(
    "userinfo-password", "url", (*_forms(PASSWORD), _b64(f"{USERNAME}:{PASSWORD}"))
)
HEADER_ARGUMENT = Credential("custom-header", "argument", _forms(HEADER_VALUE))
QUERY_URL = Credential("query-token", "url", _forms(QUERY_TOKEN))
REDIRECT_SERVER = Credential("redirect-location", "server", _forms(REDIRECT_TOKEN))


def _url(server_url: str, credential: Credential) -> str:
    """The adapter's URL for ``credential``: with user info or a query when that is its form."""
    if credential.kind == "userinfo-password":
        secret = urllib.parse.quote(PASSWORD, safe="")
        return server_url.replace("://", f"://{USERNAME}:{secret}@")
    if credential.kind == "query-token":
        return f"{server_url}/?session={QUERY_TOKEN}"
    return server_url


# --------------------------------------------------------------------------- failures


def _echo(request: Any) -> str:
    """Everything the server received that could hold a secret, as text."""
    return json.dumps(
        {"headers": request.headers, "path": request.path, "query": request.query},
        sort_keys=True,
    )


def _answers(family: Family, echo: str) -> dict[str, Any]:
    """Each failure mode's answer, every one quoting ``echo``."""
    location = (
        f"http://relay:{REDIRECT_TOKEN}@localhost:9/landing"
        f"?session={REDIRECT_TOKEN}&echo={urllib.parse.quote(echo)}#{REDIRECT_TOKEN}"
    )
    return {
        "401": (401, {}, {"message": echo}),
        "403": (403, {}, {"message": echo}),
        "429": (429, {"Retry-After": "5"}, {"message": echo}),
        "500": (500, {}, {"message": echo}),
        "not-json": (200, {"Content-Type": "text/html"}, f"<html><pre>{echo}</pre></html>"),
        "bad-field": (200, {}, family.bad_field(echo)),
        "redirect": (302, {"Location": location}, b""),
        "prometheus-error": (400, {}, {"status": "error", "errorType": echo, "error": echo}),
        "prometheus-warning": (
            200,
            {},
            {
                "status": "success",
                "warnings": [echo],
                "infos": [echo],
                "data": {"resultType": "matrix", "result": []},
            },
        ),
    }


def _answer(failure: str, family: Family) -> Callable[[Any], Any]:
    """A route handler that fails as ``failure`` says, echoing the request."""
    return lambda request: _answers(family, _echo(request))[failure]


COMMON_FAILURES = ("refused", "timeout", "401", "403", "429", "500", "not-json", "bad-field")


# --------------------------------------------------------------------------- families


@attrs.frozen
class Family:
    """One adapter: its credentials, its failures, how to serve them and how to build it.

    Attributes:
        name: The adapter's family, for test ids.
        role: How an incident uses it: ``metric``, ``deploys`` or ``dependencies``.
        paths: The paths the adapter asks for (each serves the failure).
        credentials: The kinds and forms of secret it can hold.
        failures: The failure modes that apply to it.
        build: Make the adapter for a URL, a credential and a timeout (the
            environment is already set).
        environment: The environment variables a credential in that form sets.
        call: Call the adapter the way the incident would.
        bad_field: An answer of the right shape whose one bad field quotes ``echo``.
    """

    name: str
    role: str
    paths: tuple[str, ...]
    credentials: tuple[Credential, ...]
    failures: tuple[str, ...]
    build: Callable[[str, Credential, float], Any]
    environment: Callable[[Credential], dict[str, str]]
    call: Callable[[Any], Any]
    bad_field: Callable[[str], Any]


def _prometheus(url: str, credential: Credential, timeout: float) -> PrometheusMetricSource:
    kwargs: dict[str, Any] = {}
    if credential == BEARER_ARGUMENT:
        kwargs["token"] = TOKEN
    elif credential == BASIC_ARGUMENT:
        kwargs.update(username=USERNAME, password=PASSWORD)
    elif credential == HEADER_ARGUMENT:
        kwargs["headers"] = {"X-Session-Key": HEADER_VALUE, "X-Scope-OrgID": "tenant-a"}
    return PrometheusMetricSource(url, timeout=timeout, **kwargs)


def _prometheus_environment(credential: Credential) -> dict[str, str]:
    if credential == BEARER_ENVIRONMENT:
        return {"PROMETHEUS_TOKEN": TOKEN}
    if credential == BASIC_ENVIRONMENT:
        return {"PROMETHEUS_USERNAME": USERNAME, "PROMETHEUS_PASSWORD": PASSWORD}
    return {}


def _github(url: str, credential: Credential, timeout: float) -> GitHubDeploymentSource:
    token = TOKEN if credential == BEARER_ARGUMENT else None
    return GitHubDeploymentSource("acme/checkout", api_url=url, token=token, timeout=timeout)


def _github_environment(credential: Credential) -> dict[str, str]:
    return {"GITHUB_TOKEN": TOKEN} if credential == BEARER_ENVIRONMENT else {}


def _statuspage(url: str, credential: Credential, timeout: float) -> StatuspageSource:
    headers = None
    if credential == BEARER_ARGUMENT:
        headers = {"Authorization": f"Bearer {TOKEN}"}
    elif credential == HEADER_ARGUMENT:
        headers = {"X-Session-Key": HEADER_VALUE}
    return StatuspageSource(url, dependency="vendor", timeout=timeout, headers=headers)


def _no_environment(_credential: Credential) -> dict[str, str]:
    return {}


FAMILIES: tuple[Family, ...] = (
    Family(
        name="prometheus",
        role="metric",
        paths=("/api/v1/query_range",),
        credentials=(
            BEARER_ARGUMENT,
            BEARER_ENVIRONMENT,
            BASIC_ARGUMENT,
            BASIC_ENVIRONMENT,
            USERINFO_URL,
            HEADER_ARGUMENT,
            QUERY_URL,
            REDIRECT_SERVER,
        ),
        failures=(*COMMON_FAILURES, "redirect", "prometheus-error", "prometheus-warning"),
        build=_prometheus,
        environment=_prometheus_environment,
        call=lambda source: source.query_range("up", *WINDOW, 60),
        bad_field=lambda echo: {
            "status": "success",
            "data": {"resultType": echo, "result": []},
        },
    ),
    Family(
        name="github",
        role="deploys",
        paths=("/repos/acme/checkout/deployments",),
        credentials=(BEARER_ARGUMENT, BEARER_ENVIRONMENT, USERINFO_URL, QUERY_URL, REDIRECT_SERVER),
        failures=(*COMMON_FAILURES, "redirect"),
        build=_github,
        environment=_github_environment,
        call=lambda source: source.deploys(*WINDOW),
        bad_field=lambda echo: [
            {
                "id": 1,
                "sha": "a" * 40,
                "ref": "main",
                "environment": "production",
                "creator": None,
                "created_at": echo,
            }
        ],
    ),
    Family(
        name="statuspage",
        role="dependencies",
        paths=("/api/v2/incidents.json", "/api/v2/summary.json"),
        credentials=(BEARER_ARGUMENT, HEADER_ARGUMENT, USERINFO_URL, QUERY_URL, REDIRECT_SERVER),
        failures=(*COMMON_FAILURES, "redirect"),
        build=_statuspage,
        environment=_no_environment,
        call=lambda source: source.incidents(*WINDOW),
        bad_field=lambda echo: {
            "incidents": [{"id": "i1", "status": "investigating", "created_at": echo}]
        },
    ),
)


@attrs.frozen
class Case:
    """One row: an adapter family, a credential, a failure."""

    family: Family
    credential: Credential
    failure: str

    @property
    def id(self) -> str:
        """The test id."""
        return f"{self.family.name}-{self.credential.label}-{self.failure}"


def _cases() -> list[Case]:
    cases: list[Case] = []
    for family in FAMILIES:
        for credential in family.credentials:
            for failure in family.failures:
                if credential == REDIRECT_SERVER and failure != "redirect":
                    continue  # that token exists only in the redirect
                cases.append(Case(family, credential, failure))
    return cases


CASES = _cases()
#: The rows also driven through an incident: every credential, with the failures that echo.
INCIDENT_CASES = [
    c for c in CASES if c.failure in {"500", "redirect", "bad-field", "prometheus-warning"}
]


@contextlib.contextmanager
def _failing(case: Case, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Serve the case's failure (or none, for a refused connection) and yield the adapter."""
    for name in (
        "PROMETHEUS_TOKEN",
        "PROMETHEUS_USERNAME",
        "PROMETHEUS_PASSWORD",
        "GITHUB_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in case.family.environment(case.credential).items():
        monkeypatch.setenv(name, value)
    if case.failure == "refused":
        url = _url(f"http://127.0.0.1:{closed_port()}", case.credential)
        yield case.family.build(url, case.credential, TIMEOUT)
        return
    with LocalHTTPServer() as server:
        answer = HANG if case.failure == "timeout" else _answer(case.failure, case.family)
        for path in case.family.paths:
            server.route(path, answer)
        yield case.family.build(_url(server.url, case.credential), case.credential, TIMEOUT)


# --------------------------------------------------------------------------- the checks


def _error_texts(error: BaseException) -> dict[str, str]:
    """Every text an error shows: str, repr, its chain's, and the formatted traceback."""
    texts = {
        "str(error)": str(error),
        "repr(error)": repr(error),
        "traceback": "".join(traceback.format_exception(error)),
    }
    seen = {id(error)}
    link: BaseException | None = error
    depth = 0
    while link is not None:
        for attribute in ("__cause__", "__context__"):
            chained = getattr(link, attribute)
            if chained is not None and id(chained) not in seen:
                seen.add(id(chained))
                texts[f"{attribute} #{depth}"] = f"{chained!s}\n{chained!r}"
        link = link.__cause__ or link.__context__
        depth += 1
        if depth > 10:
            break
    return texts


def _assert_clean(case: Case, texts: dict[str, str]) -> None:
    leaks = [
        f"{form!r} in {where}"
        for where, text in texts.items()
        for form in case.credential.leaks
        if form in text
    ]
    assert not leaks, f"{case.id}: {leaks}\n" + "\n---\n".join(texts.values())


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_no_secret_reaches_an_error_or_a_repr(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    """The failing call's error, its chain and traceback, and the adapter's repr hold no secret."""
    with _failing(case, monkeypatch) as adapter:
        texts = {"repr(adapter)": repr(adapter)}
        if case.failure == "prometheus-warning":
            series = case.family.call(adapter)
            assert series.warnings, "the warning must reach the answer"
            texts |= {"repr(series)": repr(series), "warnings": "\n".join(series.warnings)}
            texts["infos"] = "\n".join(adapter.infos)
        else:
            with pytest.raises(SourceError) as info:
                case.family.call(adapter)
            texts |= _error_texts(info.value)
    _assert_clean(case, texts)


def _work_incident(family: Family, adapter: Any, journal: Any) -> dict[str, str]:
    """Run the adapter's step of an incident through to its report; return its renderings."""
    declared = Incident.declare(
        title="Checkout returns 5xx",
        services="checkout",
        actor="alice",
        detection=Detection.ALERT,
        journal=journal,
        detected_at=T,
        clock=ManualClock(T),
    )
    if family.role == "metric":
        phase = declared.assess_impact(
            actor="alice",
            severity=Severity.SEV3,
            ongoing=False,
            symptom_start=WINDOW[0],
            measures=[Measure("errors", Metric(adapter, "up", step=60))],
        )
    else:
        assessed = declared.assess_impact(
            actor="alice",
            severity=Severity.SEV3,
            ongoing=False,
            symptom_start=WINDOW[0],
            stated=[Figure("affected_users", 10, "users", evidence=Evidence.text("tickets"))],
        )
        sources = {family.role: [adapter]}
        phase = assessed.gather_changes(actor="bob", timeout=10, **sources)
    diagnosing = phase.diagnose_without_recovery(actor="alice", reason="a test incident")
    for item in diagnosing.open_items:
        diagnosing = diagnosing.waive(item, actor="alice", reason="a test incident")
    resolved = diagnosing.resolve(
        actor="alice", root_cause="a failing source", evidence=[Evidence.text("the sweep")]
    )
    report = resolved.report()
    outputs = {"markdown": render_markdown(report), "json": render_json(report)}
    if importlib.util.find_spec("jinja2") is not None:  # the html extra
        outputs["html"] = render_html(report)
    return outputs


@pytest.mark.parametrize("case", INCIDENT_CASES, ids=[c.id for c in INCIDENT_CASES])
def test_no_secret_reaches_the_journal_or_the_reports(
    case: Case, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """Driven through an incident, the failure's finding keeps every secret out of both outputs."""
    journal = tmp_path / "incident.jsonl"
    with _failing(case, monkeypatch) as adapter:
        reports = _work_incident(case.family, adapter, journal)
    written = journal.read_bytes().decode("utf-8")
    assert case.family.name in written  # the failure (or the warning) was recorded
    _assert_clean(case, {"journal": written, **reports})


# --------------------------------------------------------------------------- the shared masks


def test_mask_url_masks_userinfo_every_query_value_and_the_fragment() -> None:
    """User info, each query value whatever its name, a bare query item and the fragment go."""
    password = urllib.parse.quote(PASSWORD, safe="")
    url = f"https://{USERNAME}:{password}@host:8443/p/a?session={QUERY_TOKEN}&x=&{TOKEN}#f-{TOKEN}"
    assert mask_url(url) == "https://***@host:8443/p/a?session=***&x=&***#***"
    assert mask_url("http://h/p", userinfo="") == "http://h/p"
    assert mask_url(f"http://{TOKEN}@h/", userinfo="") == "http://h/"
    assert mask_url("not a url") == "not a url"


def test_mask_urls_finds_the_urls_in_running_text_and_in_reprs() -> None:
    """A URL in a sentence, in quotes or in a repr is masked; the rest of the text stays."""
    text = f"went to 'http://h/x?session={QUERY_TOKEN}' then (git://u:{HEADER_VALUE}@h/r.git)"
    masked = mask_urls(text)
    assert masked == "went to 'http://h/x?session=***' then (git://***@h/r.git)"
    assert mask_urls(repr(text)).count("***") == 2


@given(
    secret=st.text(alphabet=st.characters(blacklist_characters="*"), min_size=1, max_size=30),
    before=st.text(max_size=20),
    after=st.text(max_size=20),
)
def test_mask_secrets_leaves_no_form_of_a_secret(secret: str, before: str, after: str) -> None:
    """Whatever the secret and its surroundings, none of its encodings survives the mask."""
    for form in _forms(secret):
        masked = mask_secrets(f"{before}{form}{after}", [secret])
        assert form not in masked


def test_mask_secrets_masks_escaped_forms_and_a_longer_secret_whole() -> None:
    """JSON- and repr-escaped secrets are masked; a secret holding another is masked whole."""
    quoted = 'pw"with\\slash'
    assert mask_secrets(json.dumps({"p": quoted}), [quoted]) == '{"p": "***"}'
    assert mask_secrets(repr(quoted), [quoted]) == "'***'"
    assert mask_secrets("tok-abc and tok", ["tok", "tok-abc"]) == "*** and ***"
    assert mask_secrets("nothing", ["", "zzz"]) == "nothing"


def test_numbered_masks_are_never_masked_again() -> None:
    """The conformance kit's '<secret #1>' is not rewritten when another secret is 'secret'."""
    assert redact_numbered("a long-token b secret", ["long-token", "secret"]) == (
        "a <secret #1> b <secret #2>"
    )
    assert redact_numbered(_b64("long-token"), ["long-token"]) == "<secret #1>"


def test_mask_argv_masks_credential_options_and_secrets() -> None:
    """--token=, --password VALUE, git -c http.extraHeader= and a URL's user info are masked."""
    argv = [
        "kubectl",
        f"--token={TOKEN}",
        "--password",
        PASSWORD,
        "--namespace=prod",
        "-c",
        f"http.extraHeader=Authorization: Bearer {TOKEN}",
        "-c",
        "core.pager=cat",
        f"https://{USERNAME}:{urllib.parse.quote(PASSWORD, safe='')}@git.example/r.git",
        f"--note={HEADER_VALUE}",
    ]
    shown = mask_argv(argv, [HEADER_VALUE])
    assert shown == [
        "kubectl",
        "--token=***",
        "--password",
        "***",
        "--namespace=prod",
        "-c",
        "http.extraHeader=***",
        "-c",
        "core.pager=cat",
        "https://***@git.example/r.git",
        "--note=***",
    ]
