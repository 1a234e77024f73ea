"""A sweep: no secret an adapter holds or meets leaks into an error, a repr, a journal or a report.

The table crosses, per adapter, the kinds of secret it can hold and the forms
it can get them in (argument, environment, URL, a kubeconfig or git
configuration; a token a server puts in a redirect's ``Location``) with the
ways a call can fail. Every failure is served locally and echoes what it
received:

* the HTTP adapters (Prometheus, GitHub, Statuspage) meet a server on
  127.0.0.1 that refuses the connection, hangs, answers 401, 403, 429, a 500
  whose body echoes the request's headers and URL, a body that is not JSON, a
  field whose bad value echoes them, a redirect to another host, a
  Prometheus warning that echoes them;
* the kubectl source and executor run the real ``kubectl`` against the fake
  Kubernetes API of ``tests/_kube_api.py`` over TLS, which hangs, answers 401,
  a 403 whose message echoes the request's headers, a Deployment whose
  revision echoes them, a redirect to another host, or refuses the undo with
  an admission message that echoes them; or
  against a closed port, or a certificate kubectl does not trust; or a
  ``kubectl`` first on ``PATH`` that exits 1 echoing its command line, the
  server's URL and the ``Authorization`` header it would send;
* the git executor runs the real ``git`` against a local HTTP(S) server that
  hangs, answers 401 or 403 with a ``text/plain`` body echoing the request (git
  shows it as ``remote:`` lines), redirects to another host, or serves the
  repository through ``git http-backend`` and refuses the push with a hook
  that echoes the request; or against a closed port, or an untrusted
  certificate; or a ``git`` first on ``PATH`` that exits 128 echoing its
  command line and the headers it would send (its ``http.extraHeader``
  settings, the credential ``git credential fill`` gives). The git deploy
  source meets that ``git`` too, and one that hangs.

Each row is a :class:`Case` made by an adapter's :class:`Family`, which knows how
to serve a failure (``serve``) and build the adapter for a credential
(``build``). Each row also checks that it failed the way it says (``witness``),
so that a row cannot pass by failing early for another reason.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import functools
import importlib.util
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import traceback
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs
import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from _kube_api import FakeKubeAPI
from _local_http import (
    HANG,
    LocalHTTPServer,
    Recorded,
    closed_port,
    self_signed_certificate,
    tls_server_context,
)
from incidentkit import (
    Change,
    ChangeKind,
    Detection,
    Evidence,
    Figure,
    Incident,
    ManualClock,
    Measure,
    Metric,
    RollbackFailedError,
    Severity,
    SourceError,
)
from incidentkit._redact import (
    mask_argv,
    mask_authorization,
    mask_secrets,
    mask_url,
    mask_urls,
    redact,
)
from incidentkit.adapters.git import GitDeploySource, GitOpsRollbackExecutor
from incidentkit.adapters.github import GitHubDeploymentSource
from incidentkit.adapters.kubectl import KubectlDeploySource, KubectlRolloutExecutor
from incidentkit.adapters.prometheus import PrometheusMetricSource
from incidentkit.adapters.statuspage import StatuspageSource
from incidentkit.reports import render_html, render_json, render_markdown
from incidentkit.testing._calls import redact as redact_numbered
from services import require_executables

TOKEN = "tok-Sw33p-9f8e7d6c5b4a"  # noqa: S105 - a fake bearer token
PASSWORD = "pw-Sw33p/+x=41&q?"  # noqa: S105 - a fake password, with characters URL-encoding changes
USERNAME = "ops"
HEADER_VALUE = "hdr-Sw33p-0a1b2c3d4e"
QUERY_TOKEN = "qry-Sw33p-5f6e7d8c9b"  # noqa: S105 - a fake token in a URL's query
#: A token in a git remote's query, with an apostrophe: legal in a URL's query, and where
#: a search for URLs in running text stops (its tail is a leak of its own).
GIT_QUERY_TOKEN = "gq'Sw33p-7e6d5c4b3a"  # noqa: S105 - a fake token in a git remote's query
REDIRECT_TOKEN = "rdr-Sw33p-1a2b3c4d5e"  # noqa: S105 - a fake token a server redirects with

T = pendulum.datetime(2026, 11, 20, 14, 0, tz="UTC")
WINDOW = (T.subtract(hours=1), T)
TIMEOUT = 0.3
#: Seconds a kubectl or git call may take when it fails at once (a loaded machine is slow).
TOOL_TIMEOUT = 20.0
#: Seconds a kubectl or git call may hang before the adapter stops it.
TOOL_HANG = 0.5


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
# kubectl: a token in a kubeconfig (named by kubeconfig= or by KUBECONFIG), a client key
# (a file the kubeconfig names, or inlined in it; its forms are known once it is made).
KUBECONFIG_TOKEN_ARGUMENT = Credential("kubeconfig-token", "argument", _forms(TOKEN))
KUBECONFIG_TOKEN_ENVIRONMENT = attrs.evolve(KUBECONFIG_TOKEN_ARGUMENT, form="environment")
CLIENT_KEY_ARGUMENT = Credential("client-key-file", "argument", ())
CLIENT_KEY_ENVIRONMENT = Credential("client-key-data", "environment", ())
# git: a query token in the remote, an Authorization header in http.extraHeader (from the
# environment's GIT_CONFIG_* or the clone's configuration), a password from GIT_ASKPASS.
GIT_QUERY_URL = Credential(
    "query-token", "url", (*_forms(GIT_QUERY_TOKEN), GIT_QUERY_TOKEN.partition("'")[2])
)
EXTRA_HEADER_ENVIRONMENT = Credential("extra-header", "environment", _forms(TOKEN))
EXTRA_HEADER_CONFIG = Credential(
    "extra-header", "config", (*_forms(PASSWORD), _b64(f"{USERNAME}:{PASSWORD}"))
)
ASKPASS_ENVIRONMENT = Credential(
    "askpass", "environment", (*_forms(TOKEN), _b64(f"{USERNAME}:{TOKEN}"))
)


def _url(server_url: str, credential: Credential) -> str:
    """The adapter's URL for ``credential``: with user info or a query when that is its form."""
    if credential.kind == "userinfo-password":
        secret = urllib.parse.quote(PASSWORD, safe="")
        return server_url.replace("://", f"://{USERNAME}:{secret}@")
    if credential.kind == "query-token":
        return f"{server_url}/?session={QUERY_TOKEN}"
    return server_url


# --------------------------------------------------------------------------- failures


def _echo_of(headers: Mapping[str, str], path: str, query: object) -> str:
    """Everything a server received that could hold a secret, as text."""
    return json.dumps({"headers": dict(headers), "path": path, "query": query}, sort_keys=True)


def _echo(request: Recorded) -> str:
    """Everything the local server received that could hold a secret, as text."""
    return _echo_of(request.headers, request.path, request.query)


def _location(echo: str) -> str:
    """A redirect to another host, with a token in its user info, query and fragment."""
    return (
        f"http://relay:{REDIRECT_TOKEN}@localhost:9/landing"
        f"?session={REDIRECT_TOKEN}&echo={urllib.parse.quote(echo)}#{REDIRECT_TOKEN}"
    )


def _answers(family: Family, echo: str) -> dict[str, Any]:
    """Each failure mode's answer, every one quoting ``echo``."""
    bad_field = family.bad_field
    return {
        "401": (401, {}, {"message": echo}),
        "403": (403, {}, {"message": echo}),
        "429": (429, {"Retry-After": "5"}, {"message": echo}),
        "500": (500, {}, {"message": echo}),
        "not-json": (200, {"Content-Type": "text/html"}, f"<html><pre>{echo}</pre></html>"),
        "bad-field": (200, {}, None if bad_field is None else bad_field(echo)),
        "redirect": (302, {"Location": _location(echo)}, b""),
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


def _answer(failure: str, family: Family) -> Callable[[Recorded], Any]:
    """A route handler that fails as ``failure`` says, echoing the request."""
    return lambda request: _answers(family, _echo(request))[failure]


COMMON_FAILURES = ("refused", "timeout", "401", "403", "429", "500", "not-json", "bad-field")
#: kubectl's and git's: the server hangs (the binary is stopped), the binary exits echoing
#: its argv, URL and headers, the connection is refused, 401, 403, an untrusted certificate,
#: a redirect to another host.
TOOL_FAILURES = ("timeout", "exit-echo", "refused", "401", "403", "tls", "redirect")


# --------------------------------------------------------------------------- families


@attrs.frozen
class Target:
    """What a family's ``build`` gets: where the adapter points, its credential and timeout.

    Attributes:
        address: The server's URL for an HTTP adapter and the git executor (with the
            credential's user info or query), the kubeconfig for kubectl, the clone
            for the git source.
        credential: The secret it holds, and in which form.
        timeout: Seconds its calls may take.
        directory: The row's own directory (the kubeconfig is there), or for git the
            clone the adapter works in.
    """

    address: str
    credential: Credential
    timeout: float
    directory: pathlib.Path


@attrs.frozen
class Served:
    """The adapter a row calls, the change it is asked about, and secrets known only now."""

    adapter: Any
    change: Change | None = None
    leaks: tuple[str, ...] = ()


@attrs.frozen
class Scene:
    """What a row may use: the environment to change, its directory, the shared kit."""

    monkeypatch: pytest.MonkeyPatch
    directory: pathlib.Path
    kit: Kit


@attrs.frozen
class Family:
    """One adapter: its credentials, its failures, how to serve them and how to build it.

    Attributes:
        name: The adapter's family, for test ids; also the adapter's name (the
            journal shows it).
        role: How an incident uses it: ``metric``, ``deploys``, ``dependencies``
            or ``rollback``.
        credentials: The kinds and forms of secret it can hold.
        failures: The failure modes that apply to it.
        build: Make the adapter for a :class:`Target` (the environment is already set).
        call: Call the adapter the way the incident would.
        serve: Serve a case's failure and yield what the row calls.
        echoes: The failures whose answer quotes what the adapter sent: these
            rows are also driven through an incident.
        paths: The paths an HTTP adapter asks for (each serves the failure).
        environment: The environment variables a credential in that form sets (HTTP).
        bad_field: An answer of the right shape whose one bad field quotes ``echo`` (HTTP).
        witness: Per failure, a pattern the error's message (and the journal)
            matches when the row failed the way it says.
    """

    name: str
    role: str
    credentials: tuple[Credential, ...]
    failures: tuple[str, ...]
    build: Callable[[Target], Any]
    call: Callable[[Served], Any]
    serve: Callable[[Case, Scene], contextlib.AbstractContextManager[Served]]
    echoes: tuple[str, ...]
    paths: tuple[str, ...] = ()
    environment: Callable[[Credential], dict[str, str]] = lambda _credential: {}
    bad_field: Callable[[str], Any] | None = None
    witness: Mapping[str, str] = attrs.field(factory=dict)


# -- the HTTP adapters


def _prometheus(target: Target) -> PrometheusMetricSource:
    credential = target.credential
    kwargs: dict[str, Any] = {}
    if credential == BEARER_ARGUMENT:
        kwargs["token"] = TOKEN
    elif credential == BASIC_ARGUMENT:
        kwargs.update(username=USERNAME, password=PASSWORD)
    elif credential == HEADER_ARGUMENT:
        kwargs["headers"] = {"X-Session-Key": HEADER_VALUE, "X-Scope-OrgID": "tenant-a"}
    return PrometheusMetricSource(target.address, timeout=target.timeout, **kwargs)


def _prometheus_environment(credential: Credential) -> dict[str, str]:
    if credential == BEARER_ENVIRONMENT:
        return {"PROMETHEUS_TOKEN": TOKEN}
    if credential == BASIC_ENVIRONMENT:
        return {"PROMETHEUS_USERNAME": USERNAME, "PROMETHEUS_PASSWORD": PASSWORD}
    return {}


def _github(target: Target) -> GitHubDeploymentSource:
    token = TOKEN if target.credential == BEARER_ARGUMENT else None
    return GitHubDeploymentSource(
        "acme/checkout", api_url=target.address, token=token, timeout=target.timeout
    )


def _github_environment(credential: Credential) -> dict[str, str]:
    return {"GITHUB_TOKEN": TOKEN} if credential == BEARER_ENVIRONMENT else {}


def _statuspage(target: Target) -> StatuspageSource:
    headers = None
    if target.credential == BEARER_ARGUMENT:
        headers = {"Authorization": f"Bearer {TOKEN}"}
    elif target.credential == HEADER_ARGUMENT:
        headers = {"X-Session-Key": HEADER_VALUE}
    return StatuspageSource(
        target.address, dependency="vendor", timeout=target.timeout, headers=headers
    )


@contextlib.contextmanager
def _serve_http(case: Case, scene: Scene) -> Iterator[Served]:
    """Serve the case's failure (or none, for a refused connection) and yield the adapter."""
    for name in (
        "PROMETHEUS_TOKEN",
        "PROMETHEUS_USERNAME",
        "PROMETHEUS_PASSWORD",
        "GITHUB_TOKEN",
    ):
        scene.monkeypatch.delenv(name, raising=False)
    for name, value in case.family.environment(case.credential).items():
        scene.monkeypatch.setenv(name, value)

    def build(url: str) -> Served:
        target = Target(_url(url, case.credential), case.credential, TIMEOUT, scene.directory)
        return Served(case.family.build(target))

    if case.failure == "refused":
        yield build(f"http://127.0.0.1:{closed_port()}")
        return
    with LocalHTTPServer() as server:
        answer = HANG if case.failure == "timeout" else _answer(case.failure, case.family)
        for path in case.family.paths:
            server.route(path, answer)
        yield build(server.url)


# -- the tools' shared kit


FAKE_KUBECTL = '''#!{python}
"""A kubectl that fails as an old one at -v=9 could: its argv, the URL, the header it sends."""
import base64, json, os, sys, urllib.parse

args = sys.argv[1:]
if "view" in args:  # `config view`: the adapter's private kubeconfig is made from it
    os.execv({kubectl!r}, [{kubectl!r}, *args])
given = [a.partition("=")[2] for a in args if a.startswith("--kubeconfig=")]
with open(given[0] if given else os.environ["KUBECONFIG"]) as handle:
    config = json.load(handle)
server = config["clusters"][0]["cluster"]["server"] if config["clusters"] else ""
user = config["users"][0]["user"] if config["users"] else {{}}
parts = urllib.parse.urlsplit(server)
if user.get("token"):
    header = "Bearer " + user["token"]
elif parts.password is not None:  # Go's HTTP client sends a URL's user info as basic auth
    pair = parts.username + ":" + urllib.parse.unquote(parts.password)
    header = "Basic " + base64.b64encode(pair.encode()).decode()
else:
    header = "(none)"
sys.stderr.write(
    "error: " + " ".join(["kubectl", *args]) + ": curl -XGET -H \\"Authorization: " + header
    + "\\" '" + server + "/apis/apps/v1/namespaces/shop/deployments/checkout': Unauthorized\\n"
)
sys.exit(1)
'''

FAKE_GIT = '''#!{python}
"""A git that fails as one with GIT_TRACE_CURL=1 GIT_TRACE_REDACT=0 could: the headers it
would send (its http.extraHeader settings, the credential `git credential fill` gives) and
its URL; or, with SWEEP_GIT_HANG set, one that hangs."""
import base64, os, subprocess, sys, time, urllib.parse

git = {git!r}
args = sys.argv[1:]
if os.environ.get("SWEEP_GIT_HANG"):
    time.sleep(60)
where = args[args.index("-C") + 1] if "-C" in args else "."
headers = subprocess.run(
    [git, "-C", where, "config", "--get-all", "http.extraheader"],
    capture_output=True, text=True, check=False,
).stdout.splitlines()
url = next((a for a in args if "://" in a), "")
if url:
    parts = urllib.parse.urlsplit(url)
    asked = "protocol=" + parts.scheme + "\\nhost=" + parts.netloc.rpartition("@")[2] + "\\n"
    if parts.username:
        asked += "username=" + parts.username + "\\n"
    filled = subprocess.run(
        [git, "credential", "fill"], input=asked + "\\n",
        capture_output=True, text=True, check=False,
    )
    fields = dict(line.partition("=")[::2] for line in filled.stdout.splitlines())
    if filled.returncode == 0 and fields.get("password"):
        pair = fields.get("username", "") + ":" + fields["password"]
        headers.append("Authorization: Basic " + base64.b64encode(pair.encode()).decode())
for header in headers:
    sys.stderr.write("=> Send header: " + header + "\\n")
if url:
    said = "The requested URL returned error: 401"
    sys.stderr.write("fatal: unable to access '" + url + "': " + said + "\\n")
else:
    sys.stderr.write("fatal: git " + " ".join(args) + " failed\\n")
sys.exit(128)
'''

ASKPASS = "#!/bin/sh\necho '{token}'\n"
REFUSING_HOOK = '#!/bin/sh\necho "push refused by policy for: $SWEEP_ECHO" >&2\nexit 1\n'


def _executable(path: pathlib.Path, text: str) -> str:
    path.write_text(text)
    path.chmod(0o700)
    return str(path)


def _run_git(repo: pathlib.Path, *args: str, date: str | None = None) -> str:
    """Run the test's own git (an identity, fixed dates, no configuration) in ``repo``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(LC_ALL="C", GIT_CONFIG_NOSYSTEM="1", HOME=str(repo))
    env.update(GIT_AUTHOR_NAME="Dana", GIT_AUTHOR_EMAIL="dana@example.com")
    env.update(GIT_COMMITTER_NAME="Dana", GIT_COMMITTER_EMAIL="dana@example.com")
    if date is not None:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    git = shutil.which("git") or "git"
    done = subprocess.run(
        [git, "-C", str(repo), *args], capture_output=True, text=True, env=env, check=True
    )
    return done.stdout


class Kit:
    """What the kubectl and git rows share, each made once per session when first needed."""

    def __init__(self, root: pathlib.Path) -> None:
        self.root = root

    @functools.cached_property
    def server_certificate(self) -> tuple[pathlib.Path, pathlib.Path]:
        """A certificate and key for 127.0.0.1 that nothing trusts unless told to."""
        require_executables("openssl")
        directory = self.root / "server-tls"
        directory.mkdir()
        made = self_signed_certificate(directory)
        assert made is not None
        return made

    @functools.cached_property
    def client_certificate(self) -> tuple[pathlib.Path, pathlib.Path, tuple[str, ...]]:
        """A client certificate, its key, and every form of the key that would be a leak."""
        require_executables("openssl")
        directory = self.root / "client-tls"
        directory.mkdir()
        cert, key = directory / "client.pem", directory / "client-key.pem"
        subprocess.run(
            [
                shutil.which("openssl") or "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=ops",
                "-keyout", str(key), "-out", str(cert),
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
        pem = key.read_text()
        body = [line for line in pem.splitlines() if line and not line.startswith("-----")]
        leaks = (*_forms(pem), "".join(body), *(line for line in body if len(line) >= 16))
        return cert, key, leaks

    @functools.cached_property
    def fake_kubectl(self) -> pathlib.Path:
        """A directory holding the echoing ``kubectl``."""
        require_executables("kubectl")
        directory = self.root / "fake-kubectl"
        directory.mkdir()
        kubectl = shutil.which("kubectl")
        _executable(
            directory / "kubectl", FAKE_KUBECTL.format(python=sys.executable, kubectl=kubectl)
        )
        return directory

    @functools.cached_property
    def fake_git(self) -> pathlib.Path:
        """A directory holding the echoing (or hanging) ``git``."""
        require_executables("git")
        directory = self.root / "fake-git"
        directory.mkdir()
        _executable(
            directory / "git", FAKE_GIT.format(python=sys.executable, git=shutil.which("git"))
        )
        return directory

    @functools.cached_property
    def askpass(self) -> str:
        """A ``GIT_ASKPASS`` program that answers every prompt with the token."""
        return _executable(self.root / "askpass", ASKPASS.format(token=TOKEN))

    @functools.cached_property
    def gitops(self) -> tuple[pathlib.Path, Change]:
        """A bare remote and its clone (checkout v1, then v2, pushed), and v2's deploy."""
        require_executables("git")
        template = self.root / "gitops"
        remote, clone = template / "remote.git", template / "clone"
        template.mkdir()
        _run_git(template, "init", "--quiet", "--bare", "--initial-branch=main", str(remote))
        _run_git(template, "clone", "--quiet", str(remote), str(clone))
        _run_git(clone, "checkout", "--quiet", "-B", "main")
        shas = []
        for version, date in (("v1", "2026-11-20T12:00:00+00:00"), ("v2", "2026-11-20T13:30:00Z")):
            manifest = clone / "apps" / "checkout" / "deploy.yaml"
            manifest.parent.mkdir(parents=True, exist_ok=True)
            manifest.write_text(f"image: registry.example/checkout:{version}\n")
            _run_git(clone, "add", "apps")
            _run_git(clone, "commit", "--quiet", "-m", f"checkout {version}", date=date)
            shas.append(_run_git(clone, "rev-parse", "HEAD").strip())
        _run_git(clone, "push", "--quiet", "origin", "HEAD:refs/heads/main")
        change = Change(
            id=shas[1][:12],
            kind=ChangeKind.DEPLOY,
            service="checkout",
            started=T.subtract(minutes=30),
            finished=T.subtract(minutes=30),
            source="git",
            version=shas[1][:12],
            previous_version=shas[0][:12],
            attributes={"commit": shas[1]},
        )
        return template, change


@pytest.fixture(scope="session")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Kit:
    """The session's shared certificates, fake binaries and GitOps repository."""
    return Kit(tmp_path_factory.mktemp("sweep-kit"))


@pytest.fixture
def scene(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path, kit: Kit) -> Scene:
    """The row's environment, directory and the shared kit."""
    return Scene(monkeypatch, tmp_path, kit)


def _prepend_path(scene: Scene, directory: pathlib.Path) -> None:
    scene.monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ['PATH']}")


# -- kubectl


def _kube_status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _kube_reply(handler: Any, code: int, body: object, headers: Mapping[str, str]) -> None:
    data = b"" if body is None else json.dumps(body).encode()
    handler.send_response(code)
    handler.send_header("Content-Type", "application/json")
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def _kube_failure(failure: str, api: FakeKubeAPI) -> Callable[..., bool]:
    """The fake API's ``intercept`` for ``failure``: discovery answers, the rest fails."""

    def intercept(handler: Any, method: str, path: str, query: Mapping[str, str]) -> bool:
        echo = _echo_of(dict(handler.headers), handler.path, query)
        resource = path.startswith("/apis/apps/v1/namespaces/")
        if failure == "timeout":
            api.stopping.wait(60)
            return True
        if failure == "401":
            _kube_reply(handler, 401, _kube_status(401, "Unauthorized", echo), {})
        elif failure == "redirect":
            _kube_reply(handler, 302, None, {"Location": _location(echo)})
        elif failure == "403" and resource:
            message = f'deployments.apps "checkout" is forbidden: {echo}'
            _kube_reply(handler, 403, _kube_status(403, "Forbidden", message), {})
        elif failure == "bad-field" and path.endswith("/deployments/checkout"):
            deployment = copy.deepcopy(api.deployments["checkout"])
            deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = echo
            body = {"kind": "Deployment", "apiVersion": "apps/v1", **deployment}
            _kube_reply(handler, 200, body, {})
        elif failure == "undo-refused" and method == "PATCH" and query.get("dryRun") != "All":
            message = f'admission webhook "freeze.example.com" denied the request: {echo}'
            _kube_reply(handler, 403, _kube_status(403, "Forbidden", message), {})
        else:
            return False
        return True

    return intercept


def _kubeconfig(case: Case, scene: Scene, server: str) -> pathlib.Path:
    """Write the row's kubeconfig (JSON): the server, the CA unless TLS must fail, the user."""
    credential = case.credential
    cert, key, _leaks = scene.kit.client_certificate
    if credential.kind == "userinfo-password":
        server = server.replace("://", f"://{USERNAME}:{urllib.parse.quote(PASSWORD, safe='')}@")
    elif credential.kind == "query-token":
        server = f"{server}/?session={QUERY_TOKEN}"
    cluster: dict[str, str] = {"server": server}
    if case.failure != "tls":
        cluster["certificate-authority"] = str(scene.kit.server_certificate[0])
    user: dict[str, str]
    if credential.kind == "kubeconfig-token":
        user = {"token": TOKEN}
    elif credential.kind == "client-key-data":
        user = {
            "client-certificate-data": _b64(cert.read_text()),
            "client-key-data": _b64(key.read_text()),
        }
    elif credential.kind == "bearer":
        user = {}  # the adapter's token= goes in here
    else:  # the client key, also where the row's secret is elsewhere (kubectl needs a user)
        user = {"client-certificate": str(cert), "client-key": str(key)}
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "fake", "cluster": cluster}],
        "users": [{"name": "ops", "user": user}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "ops"}}],
        "current-context": "fake",
    }
    path = scene.directory / "kubeconfig"
    path.write_text(json.dumps(config))
    return path


KUBE_CHANGE = Change(
    id="checkout@3",
    kind=ChangeKind.DEPLOY,
    service="checkout",
    started=T.subtract(minutes=30),
    source="kubectl",
    version="checkout=registry/checkout:1.4.3",
    previous_version="checkout=registry/checkout:1.4.2",
)
"""Revision 3 of tests/data/kubectl/cluster-checkout.json, which the executor undoes."""


@contextlib.contextmanager
def _serve_kube(case: Case, scene: Scene) -> Iterator[Served]:
    """Run the fake Kubernetes API over TLS, failing as the case says; yield the adapter."""
    require_executables("kubectl")
    scene.monkeypatch.setenv("HOME", str(scene.directory))  # kubectl's discovery cache
    scene.monkeypatch.delenv("KUBECONFIG", raising=False)
    objects = json.loads(
        (pathlib.Path(__file__).parent / "data" / "kubectl" / "cluster-checkout.json").read_text()
    )
    leaks = scene.kit.client_certificate[2] if case.credential.kind.startswith("client-key") else ()
    context = tls_server_context(*scene.kit.server_certificate)
    with FakeKubeAPI(objects, ssl_context=context) as api:
        api.intercept = _kube_failure(case.failure, api)
        server = f"https://127.0.0.1:{closed_port()}" if case.failure == "refused" else api.url
        kubeconfig = _kubeconfig(case, scene, server)
        if case.credential.form == "environment":
            scene.monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        if case.failure == "exit-echo":
            _prepend_path(scene, scene.kit.fake_kubectl)
        timeout = TOOL_HANG if case.failure == "timeout" else TOOL_TIMEOUT
        target = Target(str(kubeconfig), case.credential, timeout, scene.directory)
        yield Served(case.family.build(target), KUBE_CHANGE, leaks)


def _kubectl_settings(target: Target) -> dict[str, Any]:
    return {
        "namespace": "shop",
        "kubeconfig": None if target.credential.form == "environment" else target.address,
        "token": TOKEN if target.credential == BEARER_ARGUMENT else None,
        "timeout": target.timeout,
    }


def _kubectl_source(target: Target) -> KubectlDeploySource:
    return KubectlDeploySource(
        {"checkout": "checkout"}, name="kubectl", **_kubectl_settings(target)
    )


def _kubectl_executor(target: Target) -> KubectlRolloutExecutor:
    return KubectlRolloutExecutor(["checkout"], name="kubectl-undo", **_kubectl_settings(target))


KUBECTL_CREDENTIALS = (
    BEARER_ARGUMENT,
    KUBECONFIG_TOKEN_ARGUMENT,
    KUBECONFIG_TOKEN_ENVIRONMENT,
    CLIENT_KEY_ARGUMENT,
    CLIENT_KEY_ENVIRONMENT,
    USERINFO_URL,
    QUERY_URL,
)


# -- git


GIT_PATHS = (
    "/remote.git",  # a remote with a query: git appends its own path to the query
    "/remote.git/info/refs",
    "/remote.git/git-upload-pack",
    "/remote.git/git-receive-pack",
)


def _git_backend(remote: pathlib.Path, demand: bool) -> Callable[[Recorded], Any]:
    """Serve ``remote`` through ``git http-backend``; its hook gets the request's echo.

    With ``demand``, a request without an ``Authorization`` header is answered 401,
    as a server that wants credentials does (git sends a password only then).
    """
    git = shutil.which("git") or "git"

    def serve(request: Recorded) -> Any:
        if demand and "authorization" not in request.headers:
            return 401, {"WWW-Authenticate": 'Basic realm="gitops"'}, b""
        suffix = ""  # after a query in the remote's URL, git's own path is in its value
        for values in request.query.values():
            for value in values:
                if "/" in value:
                    suffix = "/" + value.split("/", 1)[1].partition("?")[0]
        service = {k: v for k, v in request.query.items() if k == "service"}
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(remote.parent),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_PROJECT_ROOT": str(remote.parent),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": request.path + suffix,
            "QUERY_STRING": urllib.parse.urlencode(service, doseq=True),
            "REQUEST_METHOD": request.method,
            "CONTENT_TYPE": request.headers.get("content-type", ""),
            "CONTENT_LENGTH": str(len(request.body)),
            "REMOTE_USER": USERNAME,
            "REMOTE_ADDR": "127.0.0.1",
            "SWEEP_ECHO": _echo(request),
        }
        for header, variable in (
            ("content-encoding", "HTTP_CONTENT_ENCODING"),
            ("git-protocol", "GIT_PROTOCOL"),
        ):
            if header in request.headers:
                env[variable] = request.headers[header]
        out = subprocess.run(
            [git, "http-backend"],
            input=request.body,
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        ).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        fields = [line.split(b":", 1) for line in head.splitlines() if b":" in line]
        headers = {k.decode(): v.decode().strip() for k, v in fields if k.lower() != b"status"}
        status = next((int(v.split()[0]) for k, v in fields if k.lower() == b"status"), 200)
        return status, headers, payload

    return serve


def _git_answer(case: Case, remote: pathlib.Path) -> Any:
    """The local server's answer to every git request of the case."""
    failure = case.failure
    if failure == "timeout":
        return HANG
    if failure == "push-rejected":
        return _git_backend(remote, demand=case.credential.kind != "query-token")

    def answer(request: Recorded) -> Any:
        echo = _echo(request)
        if failure == "redirect":
            return 302, {"Location": _location(echo)}, b""
        status = 403 if failure == "403" else 401
        headers = {"Content-Type": "text/plain"}
        if status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="gitops"'
        return status, headers, f"refused: {echo}\n"

    return answer


def _git_environment(case: Case, scene: Scene, clone: pathlib.Path) -> None:
    """No configuration but the credential's: an empty HOME, no system file, no askpass."""
    monkeypatch = scene.monkeypatch
    home = scene.directory / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in list(os.environ):
        if name.startswith(("GIT_CONFIG_", "GIT_TRACE")) or name in {
            "GIT_ASKPASS",
            "SSH_ASKPASS",
            "XDG_CONFIG_HOME",
            "SWEEP_GIT_HANG",
        }:
            monkeypatch.delenv(name)
    credential = case.credential
    if credential == EXTRA_HEADER_ENVIRONMENT:
        monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
        monkeypatch.setenv("GIT_CONFIG_KEY_0", "http.extraHeader")
        monkeypatch.setenv("GIT_CONFIG_VALUE_0", f"Authorization: Bearer {TOKEN}")
    elif credential == EXTRA_HEADER_CONFIG:  # as actions/checkout leaves it
        basic = _b64(f"{USERNAME}:{PASSWORD}")
        _run_git(clone, "config", "http.extraHeader", f"AUTHORIZATION: basic {basic}")
    elif credential == ASKPASS_ENVIRONMENT:
        monkeypatch.setenv("GIT_ASKPASS", scene.kit.askpass)


def _git_remote(base: str, credential: Credential) -> str:
    url = f"{base}/remote.git"
    if credential.kind == "userinfo-password":
        return url.replace("://", f"://{USERNAME}:{urllib.parse.quote(PASSWORD, safe='')}@")
    if credential.kind == "askpass":
        return url.replace("://", f"://{USERNAME}@")
    if credential.kind == "query-token":
        return f"{url}?session={GIT_QUERY_TOKEN}"
    return url


@contextlib.contextmanager
def _serve_git(case: Case, scene: Scene) -> Iterator[Served]:
    """Copy the GitOps repositories, serve the case's failure over HTTP(S); yield the adapter."""
    template, change = scene.kit.gitops
    repos = scene.directory / "gitops"
    shutil.copytree(template, repos, symlinks=True)
    clone, remote = repos / "clone", repos / "remote.git"
    _executable(remote / "hooks" / "pre-receive", REFUSING_HOOK)
    _git_environment(case, scene, clone)
    if case.failure == "exit-echo":
        _prepend_path(scene, scene.kit.fake_git)
    timeout = TOOL_HANG if case.failure == "timeout" else TOOL_TIMEOUT
    if case.family.role != "rollback":  # the source reads the clone: git itself hangs
        if case.failure == "timeout":
            _prepend_path(scene, scene.kit.fake_git)
            scene.monkeypatch.setenv("SWEEP_GIT_HANG", "1")
        yield Served(case.family.build(Target(str(clone), case.credential, timeout, clone)), change)
        return
    tls = tls_server_context(*scene.kit.server_certificate) if case.failure == "tls" else None
    with LocalHTTPServer(ssl_context=tls) as server:
        for path in GIT_PATHS:
            server.route(path, _git_answer(case, remote))
        base = f"http://127.0.0.1:{closed_port()}" if case.failure == "refused" else server.url
        target = Target(_git_remote(base, case.credential), case.credential, timeout, clone)
        yield Served(case.family.build(target), change)


def _git_executor(target: Target) -> GitOpsRollbackExecutor:
    return GitOpsRollbackExecutor(
        target.directory,
        paths={"apps/checkout/": "checkout"},
        branch="main",
        remote=target.address,
        name="git-revert",
        timeout=target.timeout,
    )


def _git_source(target: Target) -> GitDeploySource:
    return GitDeploySource(
        target.address, paths={"apps/checkout/": "checkout"}, name="git-log", timeout=target.timeout
    )


GIT_CREDENTIALS = (
    USERINFO_URL,
    GIT_QUERY_URL,
    EXTRA_HEADER_ENVIRONMENT,
    EXTRA_HEADER_CONFIG,
    ASKPASS_ENVIRONMENT,
)


def _roll_back(served: Served) -> Any:
    """Ask for the option to undo the served change, then execute it."""
    [option] = served.adapter.options(served.change)
    return served.adapter.execute(option)


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
        echoes=("500", "redirect", "bad-field", "prometheus-warning"),
        build=_prometheus,
        serve=_serve_http,
        environment=_prometheus_environment,
        call=lambda served: served.adapter.query_range("up", *WINDOW, 60),
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
        echoes=("500", "redirect", "bad-field"),
        build=_github,
        serve=_serve_http,
        environment=_github_environment,
        call=lambda served: served.adapter.deploys(*WINDOW),
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
        echoes=("500", "redirect", "bad-field"),
        build=_statuspage,
        serve=_serve_http,
        call=lambda served: served.adapter.incidents(*WINDOW),
        bad_field=lambda echo: {
            "incidents": [{"id": "i1", "status": "investigating", "created_at": echo}]
        },
    ),
    Family(
        name="kubectl",
        role="deploys",
        credentials=(*KUBECTL_CREDENTIALS, REDIRECT_SERVER),
        failures=(*TOOL_FAILURES, "bad-field"),
        echoes=("exit-echo", "403", "bad-field"),
        build=_kubectl_source,
        serve=_serve_kube,
        call=lambda served: served.adapter.deploys(*WINDOW),
        witness={
            "timeout": "gave no answer within",
            "exit-echo": r"\(exit 1\): error: kubectl .*Authorization",
            "refused": "refused",
            "401": "You must be logged in",
            "403": r"Error from server \(Forbidden\): .*\"headers\"",
            "tls": "certificate",
            "redirect": "localhost:9",
            "bad-field": r"revision'\] is .*not a revision number",
        },
    ),
    Family(
        name="kubectl-undo",
        role="rollback",
        # The undo's failure is worded by the same code as the source's reads: the tokens
        # kubectl sends (the adapter's, a kubeconfig's, a URL's basic auth) are enough.
        credentials=(BEARER_ARGUMENT, KUBECONFIG_TOKEN_ENVIRONMENT, USERINFO_URL),
        failures=("undo-refused",),
        echoes=("undo-refused",),
        build=_kubectl_executor,
        serve=_serve_kube,
        call=_roll_back,
        witness={"undo-refused": r"the undo was NOT applied.*denied the request: .*\"headers\""},
    ),
    Family(
        name="git-revert",
        role="rollback",
        credentials=(*GIT_CREDENTIALS, REDIRECT_SERVER),
        failures=(*TOOL_FAILURES, "push-rejected"),
        echoes=("exit-echo", "401", "403", "push-rejected"),
        build=_git_executor,
        serve=_serve_git,
        call=_roll_back,
        witness={
            "timeout": "gave no answer within",
            "exit-echo": "unable to access",
            "refused": "Failed to connect to 127.0.0.1",
            "401": "refused the credentials",
            "403": "403",
            "tls": "certificate",
            "redirect": "localhost port 9",
            "push-rejected": r"was refused.*push refused by policy for: \{",
        },
    ),
    Family(
        name="git-log",
        role="deploys",
        credentials=(EXTRA_HEADER_ENVIRONMENT, EXTRA_HEADER_CONFIG, ASKPASS_ENVIRONMENT),
        failures=("timeout", "exit-echo"),
        echoes=("exit-echo",),
        build=_git_source,
        serve=_serve_git,
        call=lambda served: served.adapter.deploys(*WINDOW),
        witness={"timeout": "gave no answer within", "exit-echo": "fatal: git .* log .* failed"},
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
INCIDENT_CASES = [c for c in CASES if c.failure in c.family.echoes]


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


def _assert_clean(case: Case, served: Served, texts: dict[str, str]) -> None:
    forms = tuple(dict.fromkeys((*case.credential.leaks, *served.leaks)))
    assert forms, f"{case.id}: a row with no secret to look for checks nothing"
    leaks = [
        f"{form!r} in {where}" for where, text in texts.items() for form in forms if form in text
    ]
    assert not leaks, f"{case.id}: {leaks}\n" + "\n---\n".join(texts.values())


def _assert_witnessed(case: Case, text: str) -> None:
    """The row failed the way it says (for the families that say how)."""
    pattern = case.family.witness.get(case.failure)
    if pattern is not None:
        assert re.search(pattern, text, re.DOTALL), f"{case.id}: not a {case.failure}: {text}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_no_secret_reaches_an_error_or_a_repr(case: Case, scene: Scene) -> None:
    """The failing call's error, its chain and traceback, and the adapter's repr hold no secret."""
    with case.family.serve(case, scene) as served:
        adapter = served.adapter
        texts = {"repr(adapter)": repr(adapter)}
        if case.failure == "prometheus-warning":
            series = case.family.call(served)
            assert series.warnings, "the warning must reach the answer"
            texts |= {"repr(series)": repr(series), "warnings": "\n".join(series.warnings)}
            texts["infos"] = "\n".join(adapter.infos)
        else:
            with pytest.raises(SourceError) as info:
                case.family.call(served)
            texts |= _error_texts(info.value)
            _assert_witnessed(case, str(info.value))
    _assert_clean(case, served, texts)


def _strings(value: object) -> Iterator[str]:
    """Every string in a decoded JSON value, keys and values."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _work_incident(case: Case, served: Served, journal: pathlib.Path) -> dict[str, str]:
    """Run the adapter's step of an incident through to its report; return what it showed.

    A rollback family's option (when the failure lets it be offered) is rolled back,
    and the refusal's error is kept with the two renderings of the report.
    """
    family, adapter = case.family, served.adapter
    texts: dict[str, str] = {}
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
        phase: Any = declared.assess_impact(
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
        if family.role == "rollback":
            assert served.change is not None
            reviewed = assessed.review_rollbacks(
                [adapter], actor="bob", changes=[served.change], timeout=60
            )
            if reviewed.rollback_options:
                with pytest.raises(RollbackFailedError) as info:
                    reviewed.roll_back(reviewed.rollback_options[0], actor="bob", timeout=60)
                texts |= {f"roll_back {k}": v for k, v in _error_texts(info.value).items()}
            phase = reviewed.refresh()
        else:
            sources = {family.role: [adapter]}
            phase = assessed.gather_changes(actor="bob", timeout=60, **sources)
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
    return texts | outputs


@pytest.mark.parametrize("case", INCIDENT_CASES, ids=[c.id for c in INCIDENT_CASES])
def test_no_secret_reaches_the_journal_or_the_reports(case: Case, scene: Scene) -> None:
    """Driven through an incident, the failure's finding keeps every secret out of both outputs."""
    journal = scene.directory / "incident.jsonl"
    with case.family.serve(case, scene) as served:
        texts = _work_incident(case, served, journal)
    written = journal.read_bytes().decode("utf-8")
    assert case.family.name in written  # the failure (or the warning) was recorded
    recorded = [json.loads(line) for line in written.splitlines() if line.strip()]
    _assert_witnessed(case, "\n".join(_strings(recorded)))
    _assert_clean(case, served, {"journal": written, **texts})


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


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("Authorization: Bearer tok-1", "Authorization: Bearer ***"),
        (
            f"""curl -H "Authorization: token {TOKEN}" 'https://h/x'""",
            """curl -H "Authorization: token ***" 'https://h/x'""",
        ),
        (
            '{"authorization": "Basic b3Bz==", "host": "h"}',
            '{"authorization": "Basic ***", "host": "h"}',
        ),
        ("{'Authorization': 'Bearer t.o.k'}", "{'Authorization': 'Bearer ***'}"),
        ('{\\"Authorization\\": \\"Bearer tok\\"}', '{\\"Authorization\\": \\"Bearer ***\\"}'),
        (
            "=> Send header: AUTHORIZATION: basic b3Bz/+=\nfatal: x",
            "=> Send header: AUTHORIZATION: basic ***\nfatal: x",
        ),
        ("Proxy-Authorization: Negotiate YII5", "Proxy-Authorization: Negotiate ***"),
        ("authorization=tok-6&x=1", "authorization=***&x=1"),
        ("Authorization: tok-8", "Authorization: ***"),
        (
            'Authorization: Digest username="u", nonce="n", response="r3sp"\nnext',
            "Authorization: Digest ***\nnext",
        ),
        ("Authorization: Bearer tok, then more", "Authorization: Bearer ***, then more"),
        ('WWW-Authenticate: Basic realm="x"', 'WWW-Authenticate: Basic realm="x"'),
        ("no authorization header here", "no authorization header here"),
    ],
)
def test_mask_authorization_masks_a_header_s_credentials_in_any_notation(
    text: str, masked: str
) -> None:
    """A header line, a curl option, JSON (escaped too), a repr, a setting: the scheme stays."""
    assert mask_authorization(text) == masked
    assert mask_authorization(masked) == masked


def test_redact_masks_a_token_it_was_never_given() -> None:
    """A kubeconfig's token or git's extra header, echoed by a server, is masked by redact()."""
    echoed = f'Error from server (Forbidden): {{"Authorization": "Bearer {TOKEN}"}}'
    assert TOKEN not in redact(echoed)
    assert redact(echoed) == 'Error from server (Forbidden): {"Authorization": "Bearer ***"}'


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
