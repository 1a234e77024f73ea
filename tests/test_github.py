"""Tests for the GitHub deployments deploy source, against a local HTTP server.

The server answers like the GitHub REST API documents it: deployments newest
first with a ``Link`` header whose ``rel="next"`` URL is absolute (and, as on
github.com, under ``/repositories/{id}/``), statuses newest first, rate-limit
headers on every answer, 403 or 429 with ``x-ratelimit-remaining: 0`` when the
quota is spent.
"""

from __future__ import annotations

import time
from typing import Any

import pendulum
import pytest
from typing_extensions import Self

from _local_http import HANG, LocalHTTPServer, Recorded, closed_port, json_answer
from fakes import SYMPTOM_START, World
from incidentkit import (
    ChangeKind,
    FindingKind,
    InvalidInputError,
    MalformedResponseError,
    PartialChanges,
    RateLimitedError,
    SourceAuthError,
    SourceRequestError,
    SourceTimeoutError,
    SourceUnavailableError,
)
from incidentkit.adapters.github import GitHubDeploymentSource, RateLimit, _web_url
from incidentkit.adapters.statuspage import StatuspageSource
from incidentkit.protocols import DeploySource

TOKEN = "ghp_TestToken0123456789abcdefABCDEF012345"  # noqa: S105 - a fake token
REPO = "acme/checkout"
LIST = f"/repos/{REPO}/deployments"
T = pendulum.datetime(2026, 11, 20, 14, 0, tz="UTC")
START, END = T, T.add(hours=1)


def iso(at: pendulum.DateTime) -> str:
    """GitHub's timestamp form."""
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def sha_of(n: int) -> str:
    """A 40-hex-digit commit SHA."""
    return f"{n:040x}"


def deployment(
    did: int,
    created: pendulum.DateTime,
    *,
    environment: str = "production",
    sha: str | None = None,
    ref: str = "main",
    description: str | None = "Deploy request from hubot",
    creator: str | None = "octocat",
    task: str = "deploy",
    payload: Any = None,
) -> dict[str, Any]:
    """A deployment object shaped like the API's (the docs' example, varied)."""
    base = f"https://api.github.com/repos/{REPO}"
    return {
        "url": f"{base}/deployments/{did}",
        "id": did,
        "node_id": f"MDEwOkRlcGxveW1lbnQ{did}",
        "sha": sha or sha_of(did),
        "ref": ref,
        "task": task,
        "payload": {} if payload is None else payload,
        "original_environment": environment,
        "environment": environment,
        "description": description,
        "creator": None if creator is None else {"login": creator, "id": 1, "type": "User"},
        "created_at": iso(created),
        "updated_at": iso(created),
        "statuses_url": f"{base}/deployments/{did}/statuses",
        "repository_url": base,
        "transient_environment": False,
        "production_environment": environment == "production",
    }


def status(
    sid: int,
    state: str,
    created: pendulum.DateTime,
    *,
    log_url: str = "",
    environment_url: str = "",
) -> dict[str, Any]:
    """A deployment status object shaped like the API's."""
    return {
        "url": f"https://api.github.com/repos/{REPO}/deployments/1/statuses/{sid}",
        "id": sid,
        "node_id": f"MDE2OkRlcGxveW1lbnRTdGF0dXM{sid}",
        "state": state,
        "creator": {"login": "octocat", "id": 1},
        "description": f"Deployment {state}",
        "environment": "production",
        "target_url": log_url,
        "created_at": iso(created),
        "updated_at": iso(created),
        "deployment_url": f"https://api.github.com/repos/{REPO}/deployments/1",
        "repository_url": f"https://api.github.com/repos/{REPO}",
        "environment_url": environment_url,
        "log_url": log_url,
    }


def rate_headers(remaining: int = 4990, reset: float | None = None) -> dict[str, str]:
    """GitHub's rate-limit headers."""
    return {
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": str(remaining),
        "x-ratelimit-reset": str(int(reset if reset is not None else time.time() + 3600)),
        "x-ratelimit-used": str(5000 - remaining),
        "x-ratelimit-resource": "core",
    }


class FakeGitHub:
    """Routes for a repository's deployments (paginated) and their statuses."""

    def __init__(
        self,
        deployments: list[dict[str, Any]],
        statuses: dict[int, list[dict[str, Any]]] | None = None,
        *,
        remaining: int = 4990,
    ) -> None:
        self.deployments = sorted(deployments, key=lambda d: d["created_at"], reverse=True)
        self.statuses = statuses or {}
        self.remaining = remaining
        self.server = LocalHTTPServer()
        self.server.route(LIST, self.list_deployments)
        self.server.route("/repositories/4242/deployments", self.list_deployments)
        for did in {d["id"] for d in deployments}:
            self.server.route(f"{LIST}/{did}/statuses", self.list_statuses)

    def __enter__(self) -> Self:
        """Start the server."""
        self.server.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop the server."""
        self.server.close()

    @property
    def url(self) -> str:
        """The server's root URL."""
        return self.server.url

    def list_deployments(self, request: Recorded) -> tuple[int, dict[str, str], Any]:
        """Filter by environment, page like GitHub, link the next page absolutely."""
        per_page = int(request.param("per_page") or 30)
        page = int(request.param("page") or 1)
        wanted = request.param("environment")
        rows = [d for d in self.deployments if wanted is None or d["environment"] == wanted]
        chunk = rows[(page - 1) * per_page : page * per_page]
        headers = rate_headers(self.remaining)
        pages = max(1, -(-len(rows) // per_page))
        if page < pages:
            env = f"&environment={wanted}" if wanted else ""
            root = f"{self.url}/repositories/4242/deployments?per_page={per_page}{env}"
            headers["Link"] = (
                f'<{root}&page={page + 1}>; rel="next", <{root}&page={pages}>; rel="last"'
            )
        return 200, headers, chunk

    def list_statuses(self, request: Recorded) -> tuple[int, dict[str, str], Any]:
        """A deployment's statuses, newest first."""
        did = int(request.path.split("/")[-2])
        rows = sorted(self.statuses.get(did, []), key=lambda s: s["created_at"], reverse=True)
        return 200, rate_headers(self.remaining), rows

    def status_requests(self) -> list[int]:
        """The deployment ids whose statuses were asked for, in order."""
        return [int(p.split("/")[-2]) for p in self.server.paths() if p.endswith("/statuses")]

    def list_requests(self) -> list[Recorded]:
        """The requests for deployment pages."""
        return [r for r in self.server.requests if r.path.endswith("/deployments")]


def source(url: str, **kwargs: Any) -> GitHubDeploymentSource:
    """A source pointed at the fake, with a token unless told otherwise."""
    kwargs.setdefault("token", TOKEN)
    return GitHubDeploymentSource(REPO, api_url=url, **kwargs)


def rolled(did: int, begin: pendulum.DateTime, minutes: int = 5, state: str = "success") -> list:
    """The statuses of an ordinary rollout: queued, in progress, then ``state``."""
    return [
        status(did * 10 + 1, "queued", begin.subtract(minutes=1)),
        status(did * 10 + 2, "in_progress", begin),
        status(
            did * 10 + 3,
            state,
            begin.add(minutes=minutes),
            log_url=f"https://ci.acme.example/deploys/{did}",
            environment_url="https://checkout.acme.example",
        ),
    ]


# ------------------------------------------------------------------ protocol, headers, token


def test_implements_the_protocol_and_hides_the_token(monkeypatch) -> None:
    """The source passes the protocol check; the token from $GITHUB_TOKEN is sent, never shown."""
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    with FakeGitHub([deployment(1, T.add(minutes=5))], {1: rolled(1, T.add(minutes=6))}) as gh:
        github = GitHubDeploymentSource(REPO, api_url=gh.url)
        changes = github.deploys(START, END)
    assert isinstance(github, DeploySource)
    assert github.name == "github:acme/checkout"
    assert github.repo == REPO
    assert TOKEN not in repr(github)
    assert "auth='token'" in repr(github)
    assert all(TOKEN not in repr(c) for c in changes)
    for request in gh.server.requests:
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.headers["accept"] == "application/vnd.github+json"
        assert request.headers["x-github-api-version"] == "2022-11-28"


def test_an_empty_token_sends_no_authorization(monkeypatch) -> None:
    """token='' means anonymous even when $GITHUB_TOKEN is set."""
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    with FakeGitHub([]) as gh:
        github = GitHubDeploymentSource(REPO, api_url=gh.url, token="")
        assert github.deploys(START, END) == []
    assert "authorization" not in gh.server.requests[0].headers
    assert "auth='anonymous'" in repr(github)


def test_fields_of_a_deployment_change() -> None:
    """Statuses give the start and finish; SHA, author, link and attributes come through."""
    began = T.add(minutes=10)
    deployments = [
        deployment(7, began.subtract(minutes=2), ref="v2.14.0", creator="dana"),
        deployment(6, T.subtract(days=1), sha=sha_of(0xABC)),  # the one before, same env
        deployment(5, T.subtract(days=2), environment="staging"),
    ]
    with FakeGitHub(deployments, {7: rolled(7, began), 6: rolled(6, T.subtract(days=1))}) as gh:
        (change,) = source(gh.url).deploys(START, END)
    assert change.id == "deployment-7"
    assert change.kind is ChangeKind.DEPLOY
    assert change.service == "checkout"
    assert change.started == began  # the in_progress status
    assert change.finished == began.add(minutes=5)  # the success status
    assert change.version == sha_of(7)
    assert change.previous_version == sha_of(0xABC)
    assert change.author == "dana"
    assert change.environment == "production"
    assert change.link == "https://ci.acme.example/deploys/7"
    assert change.summary == f"Deploy request from hubot ({sha_of(7)[:7]} to production)"
    assert change.attributes == {
        "state": "success",
        "ref": "v2.14.0",
        "sha": sha_of(7),
        "task": "deploy",
        "deployment_id": "7",
        "environment_url": "https://checkout.acme.example",
        "production_environment": "true",
    }


@pytest.mark.parametrize(
    ("statuses", "started", "finished", "state"),
    [
        # queued only, then success: started when queued
        ([("queued", 1), ("success", 4)], 1, 4, "success"),
        # pending then success: no queued/in_progress, so the deployment's created_at
        ([("pending", 2), ("success", 3)], 0, 3, "success"),
        # still rolling out
        ([("queued", 1), ("in_progress", 2)], 2, None, "in_progress"),
        # superseded without a success: finished when it went inactive
        ([("in_progress", 1), ("inactive", 9)], 1, 9, "inactive"),
        # failed after success was reported and retracted: the first terminal state
        ([("in_progress", 1), ("success", 3), ("failure", 5)], 1, 3, "failure"),
        # no status at all: under way as far as anyone can tell
        ([], 0, None, "unknown"),
    ],
)
def test_statuses_give_started_and_finished(
    statuses: list[tuple[str, int]], started: int, finished: int | None, state: str
) -> None:
    """started: first in_progress, else queued, else created_at; finished: first terminal state."""
    created = T.add(minutes=1)
    records = [status(n + 1, s, created.add(minutes=m)) for n, (s, m) in enumerate(statuses)]
    with FakeGitHub([deployment(3, created)], {3: records}) as gh:
        (change,) = source(gh.url).deploys(START, END)
    assert change.started == created.add(minutes=started)
    assert change.finished == (None if finished is None else created.add(minutes=finished))
    assert change.attributes["state"] == state


def test_a_failed_deployment_still_counts_and_says_so() -> None:
    """A deployment whose latest state is failure is a change that may have half rolled out."""
    began = T.add(minutes=3)
    deployments = [deployment(9, began, description=None, ref="release/2.15")]
    with FakeGitHub(deployments, {9: rolled(9, began, state="error")}) as gh:
        (change,) = source(gh.url).deploys(START, END)
    assert change.attributes["failed"] == "true"
    assert change.attributes["state"] == "error"
    assert change.summary == (
        f"deploy of release/2.15 ({sha_of(9)[:7]} to production): error, "
        "it may have partly rolled out"
    )
    assert change.finished == began.add(minutes=5)


def test_the_commit_page_is_the_link_without_a_log_url() -> None:
    """Without a log_url the link is the commit's page on the web host."""
    with FakeGitHub([deployment(4, T, creator=None)], {4: [status(1, "success", T)]}) as gh:
        (change,) = source(gh.url).deploys(START, END)
    assert change.link == f"{gh.url}/{REPO}/commit/{sha_of(4)}"
    assert change.author is None


def test_web_url_of_github_and_of_an_enterprise_server() -> None:
    """api.github.com links to github.com; https://HOST/api/v3 to https://HOST."""
    assert _web_url("https://api.github.com") == "https://github.com"
    assert _web_url("https://ghe.acme.example/api/v3") == "https://ghe.acme.example"


# ------------------------------------------------------------------ windows and pagination


def test_pagination_stops_at_the_page_that_reaches_before_the_window() -> None:
    """Three pages are read (the third reaches before the window); the fourth never is."""
    # Twelve deployments, one every 10 minutes, newest first, three per page.
    created = [END.subtract(minutes=10 * n) for n in range(12)]  # 15:00, 14:50, ... 13:10
    deployments = [deployment(100 + n, at) for n, at in enumerate(created)]
    statuses = {100 + n: rolled(100 + n, at, minutes=2) for n, at in enumerate(created)}
    with FakeGitHub(deployments, statuses) as gh:
        github = source(gh.url, per_page=3)
        changes = github.deploys(START, END)
    pages = gh.list_requests()
    assert len(pages) == 3
    assert pages[0].path == LIST
    assert pages[0].param("per_page") == "3"
    assert [p.path for p in pages[1:]] == ["/repositories/4242/deployments"] * 2
    assert [p.param("page") for p in pages[1:]] == ["2", "3"]
    # In the window: 14:00 ... 15:00 (ids 100-106); 13:50 (id 107) finished before it.
    assert [c.id for c in changes] == [f"deployment-{n}" for n in range(106, 99, -1)]
    # Statuses were read for the window's deployments and the newest one before it only.
    assert sorted(gh.status_requests()) == list(range(100, 108))
    assert not isinstance(changes, PartialChanges)


def test_the_deployment_rolling_out_at_the_window_start_is_kept() -> None:
    """The newest deployment before the window counts if it was still rolling out."""
    rolling = deployment(21, START.subtract(minutes=20))
    superseded = deployment(20, START.subtract(hours=3))
    silent = deployment(22, START.subtract(minutes=30), environment="staging")
    statuses = {
        21: rolled(21, START.subtract(minutes=19), minutes=30),  # finishes at 14:11
        20: rolled(20, START.subtract(hours=3)),
    }
    with FakeGitHub([rolling, superseded, silent], statuses) as gh:
        changes = source(gh.url).deploys(START, END)
    assert [c.id for c in changes] == ["deployment-21"]
    assert changes[0].previous_version == sha_of(20)
    assert 20 not in gh.status_requests()  # superseded by 21 before the window began
    assert 22 in gh.status_requests()  # read, but no status: not counted as under way


def test_deployments_after_the_window_are_skipped_unread() -> None:
    """A deployment created after the window's end is neither kept nor asked about."""
    with FakeGitHub([deployment(31, END.add(minutes=1)), deployment(30, T)], {}) as gh:
        changes = source(gh.url).deploys(START, END)
    assert [c.id for c in changes] == ["deployment-30"]
    assert gh.status_requests() == [30]


def test_a_truncated_scan_raises_when_asked() -> None:
    """max_pages reached before the window's start is a SourceRequestError saying what to do."""
    deployments = [deployment(200 + n, END.subtract(minutes=n)) for n in range(12)]
    with FakeGitHub(deployments) as gh:
        github = source(gh.url, per_page=3, max_pages=2, on_incomplete="raise")
        with pytest.raises(SourceRequestError) as info:
            github.deploys(START, END)
    message = str(info.value)
    assert "stopped after 2 pages of 3" in message
    assert "Raise max_pages" in message
    assert TOKEN not in message
    assert len(gh.list_requests()) == 2
    assert gh.status_requests() == []  # no statuses read for an answer that is thrown away


def test_a_truncated_scan_returns_what_it_found_by_default() -> None:
    """By default a truncated scan answers a PartialChanges: the deployments read, and the gap."""
    deployments = [deployment(200 + n, END.subtract(minutes=n)) for n in range(12)]
    with FakeGitHub(deployments) as gh:
        github = source(gh.url, per_page=3, max_pages=2)
        changes = github.deploys(START, END)
        again = github.deploys(END.subtract(minutes=2), END)
    assert isinstance(changes, PartialChanges)
    assert len(changes) == 6
    assert "stopped after 2 pages of 3" in changes.gap
    assert str(END.subtract(minutes=5)) in changes.gap  # how far back it got
    assert not changes.gap.startswith(github.name)  # the protocol names the source
    assert len(again) == 3  # a narrower window is covered by the first page
    assert not isinstance(again, PartialChanges)


def test_a_short_list_is_complete() -> None:
    """The last page (no next link) ends the scan without a gap, even at max_pages."""
    with FakeGitHub([deployment(1, T)], {1: rolled(1, T)}) as gh:
        github = source(gh.url, max_pages=1)
        answer = github.deploys(START.subtract(days=30), END)
    assert len(answer) == 1
    assert not isinstance(answer, PartialChanges)


def test_a_naive_or_reversed_window_is_refused() -> None:
    """The window must be aware and in order."""
    github = source("http://127.0.0.1:9")
    with pytest.raises(InvalidInputError, match="naive"):
        github.deploys(START.naive(), END)
    with pytest.raises(InvalidInputError, match="ends"):
        github.deploys(END, START)


# ------------------------------------------------------------------ services and environments


def test_environment_filter_is_sent_to_github() -> None:
    """environment= becomes the API's environment parameter, on every page."""
    deployments = [
        deployment(41, T.add(minutes=1), environment="staging"),
        deployment(40, T, environment="production"),
    ]
    with FakeGitHub(deployments, {40: rolled(40, T), 41: rolled(41, T)}) as gh:
        changes = source(gh.url, environment="production").deploys(START, END)
    assert [c.id for c in changes] == ["deployment-40"]
    assert gh.list_requests()[0].param("environment") == "production"


def test_services_from_a_mapping_and_the_services_filter() -> None:
    """A mapping names services by environment (others get the repo's name); services= filters."""
    deployments = [
        deployment(52, T.add(minutes=2), environment="eu-prod"),
        deployment(51, T.add(minutes=1), environment="us-prod"),
        deployment(50, T, environment="preview-123"),
    ]
    statuses = {n: rolled(n, T) for n in (50, 51, 52)}
    mapping = {"eu-prod": "checkout-eu", "us-prod": "checkout-us"}
    with FakeGitHub(deployments, statuses) as gh:
        github = source(gh.url, services=mapping)
        every = {c.id: c.service for c in github.deploys(START, END)}
        asked = gh.status_requests()
        only_eu = github.deploys(START, END, services=["checkout-eu"])
        as_text = github.deploys(START, END, services="checkout")
    assert every == {
        "deployment-52": "checkout-eu",
        "deployment-51": "checkout-us",
        "deployment-50": "checkout",
    }
    assert sorted(asked) == [50, 51, 52]
    assert [c.id for c in only_eu] == ["deployment-52"]
    assert [c.id for c in as_text] == ["deployment-50"]
    # Filtered deployments are not asked about: one more status request, for 52.
    assert len(gh.status_requests()) == len(asked) + 2


def test_services_from_a_callable_that_may_skip() -> None:
    """A callable maps the deployment (payload included) to a service, or None to skip it."""
    deployments = [
        deployment(61, T.add(minutes=1), payload={"service": "payments"}),
        deployment(60, T, payload="not-a-service-payload"),
    ]

    def from_payload(record):
        payload = record["payload"]
        return payload.get("service") if isinstance(payload, dict) else None

    with FakeGitHub(deployments, {60: rolled(60, T), 61: rolled(61, T)}) as gh:
        changes = source(gh.url, services=from_payload).deploys(START, END)
    assert [(c.id, c.service) for c in changes] == [("deployment-61", "payments")]
    assert gh.status_requests() == [61]


def test_a_services_callable_returning_garbage_is_refused() -> None:
    """A mapper that returns neither a name nor None is the caller's error."""
    with FakeGitHub([deployment(70, T)]) as gh:
        github = source(gh.url, services=lambda _record: 42)
        with pytest.raises(InvalidInputError, match="returned 42"):
            github.deploys(START, END)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("acme",), {}, "owner/name"),
        (("acme/checkout/extra",), {}, "owner/name"),
        ((" acme/checkout",), {}, "owner/name"),
        ((REPO,), {"per_page": 0}, "per_page"),
        ((REPO,), {"per_page": 101}, "per_page"),
        ((REPO,), {"max_pages": 0}, "max_pages"),
        ((REPO,), {"on_incomplete": "ignore"}, "on_incomplete"),
        ((REPO,), {"api_url": "api.github.com"}, "http"),
        ((REPO,), {"timeout": 0}, "timeout"),
    ],
)
def test_bad_arguments_are_refused(args: tuple, kwargs: dict[str, Any], match: str) -> None:
    """Unusable constructor arguments raise InvalidInputError."""
    with pytest.raises(InvalidInputError, match=match):
        GitHubDeploymentSource(*args, token="", **kwargs)


# ------------------------------------------------------------------ rate limits


def test_rate_limit_headers_are_exposed_and_a_spent_quota_stops_early() -> None:
    """rate_limit reflects the last answer; with none left, the next call does not even ask."""
    reset = time.time() + 900
    with FakeGitHub([deployment(80, T)], {80: rolled(80, T)}, remaining=3) as gh:
        github = source(gh.url)
        assert github.rate_limit is None
        github.deploys(START, END)
        seen = github.rate_limit
        gh.remaining = 0
        gh.server.route(LIST, lambda _request: (200, rate_headers(1, reset), [deployment(80, T)]))
        gh.server.route(
            f"{LIST}/80/statuses", lambda _request: (200, rate_headers(0, reset), rolled(80, T))
        )
        github.deploys(START, END)  # the statuses request spends the last one
        asked = len(gh.server.requests)
        with pytest.raises(RateLimitedError) as info:
            github.deploys(START, END)
    assert isinstance(seen, RateLimit)
    assert (seen.limit, seen.remaining, seen.used) == (5000, 3, 4997)
    assert github.rate_limit is not None
    assert github.rate_limit.remaining == 0
    assert github.rate_limit.reset == pendulum.from_timestamp(int(reset), tz="UTC")
    assert len(gh.server.requests) == asked  # refused without asking
    assert info.value.retry_after is not None
    assert 800 < info.value.retry_after <= 900


def test_403_with_no_quota_left_is_rate_limited_with_retry_after() -> None:
    """403 with x-ratelimit-remaining: 0 is a RateLimitedError retried at the reset."""
    reset = time.time() + 1200
    body = {
        "message": "API rate limit exceeded for 203.0.113.7.",
        "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
    }
    with LocalHTTPServer({LIST: (403, rate_headers(0, reset), body)}) as server:
        github = source(server.url, token="")
        with pytest.raises(RateLimitedError) as info:
            github.deploys(START, END)
    assert info.value.retry_after is not None
    assert 1100 < info.value.retry_after <= 1200
    assert "HTTP 403" in str(info.value)
    assert "60 an hour" in str(info.value)  # anonymous: the advice is to use a token
    assert info.value.source == github.name


def test_429_with_retry_after() -> None:
    """A 429 with Retry-After is a RateLimitedError carrying it."""
    with (
        LocalHTTPServer({LIST: json_answer({"message": "slow down"}, 429, retry_after="30")}) as s,
        pytest.raises(RateLimitedError) as info,
    ):
        source(s.url).deploys(START, END)
    assert info.value.retry_after == 30
    assert "60 an hour" not in str(info.value)  # a token was given


# ------------------------------------------------------------------ failures


def test_401_is_an_auth_error_naming_where_the_token_came_from(monkeypatch) -> None:
    """A refused token is a SourceAuthError that names $GITHUB_TOKEN, not the token."""
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    body = {"message": f"Bad credentials {TOKEN}", "documentation_url": "https://docs.github.com"}
    with LocalHTTPServer({LIST: json_answer(body, status=401)}) as server:
        github = GitHubDeploymentSource(REPO, api_url=server.url)
        with pytest.raises(SourceAuthError) as info:
            github.deploys(START, END)
    message = str(info.value)
    assert "$GITHUB_TOKEN" in message
    assert "HTTP 401" in message
    assert TOKEN not in message


def test_a_plain_403_is_an_auth_error() -> None:
    """403 with quota left means the token may not read the repository."""
    answer = (403, rate_headers(4000), {"message": "Resource not accessible by integration"})
    with (
        LocalHTTPServer({LIST: answer}) as server,
        pytest.raises(
            SourceAuthError, match=r"no token was given: pass token= or set \$GITHUB_TOKEN"
        ),
    ):
        source(server.url, token="").deploys(START, END)
    with (
        LocalHTTPServer({LIST: answer}) as server,
        pytest.raises(SourceAuthError, match="the token argument"),
    ):
        source(server.url).deploys(START, END)


def test_404_says_the_repository_may_be_hidden() -> None:
    """GitHub answers 404 for a private repository the token cannot see; the error says so."""
    with (
        LocalHTTPServer() as server,  # every path answers 404
        pytest.raises(SourceRequestError, match="private repository"),
    ):
        source(server.url).deploys(START, END)


def test_500_is_unavailable() -> None:
    """A server error is a SourceUnavailableError."""
    with (
        LocalHTTPServer({LIST: json_answer({"message": "Server Error"}, status=500)}) as server,
        pytest.raises(SourceUnavailableError, match="HTTP 500"),
    ):
        source(server.url).deploys(START, END)


def test_a_server_that_never_answers_times_out() -> None:
    """No answer within 0.3 s is a SourceTimeoutError."""
    with LocalHTTPServer({LIST: HANG}) as server, pytest.raises(SourceTimeoutError) as info:
        source(server.url, timeout=0.3).deploys(START, END)
    assert info.value.timeout == 0.3


def test_connection_refused_is_unavailable() -> None:
    """Nothing listening is a SourceUnavailableError."""
    with pytest.raises(SourceUnavailableError, match="nothing listens"):
        source(f"http://127.0.0.1:{closed_port()}").deploys(START, END)


def test_a_non_json_body_is_malformed() -> None:
    """An HTML page instead of JSON is a MalformedResponseError."""
    answer = (200, {"Content-Type": "text/html"}, "<html>Sign in to GitHub</html>")
    with (
        LocalHTTPServer({LIST: answer}) as server,
        pytest.raises(MalformedResponseError, match="not JSON"),
    ):
        source(server.url).deploys(START, END)


def test_a_next_link_to_another_host_is_not_followed() -> None:
    """A pagination link to another server is refused: the token never travels there."""
    with LocalHTTPServer({"/steal": json_answer([])}) as other:
        headers = {"Link": f'<{other.url}/steal?page=2>; rel="next"'}
        with (
            LocalHTTPServer({LIST: (200, headers, [deployment(1, T)])}) as server,
            pytest.raises(MalformedResponseError, match="another server"),
        ):
            source(server.url).deploys(START, END)
    assert other.requests == []


BASE = deployment(90, T)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"message": "Moved"}, "not a list"),
        (["nope"], "item 0 is str"),
        ([{**BASE, "id": "90"}], "item 0.id is '90', not an integer"),
        ([{**BASE, "id": True}], "item 0.id"),
        ([{k: v for k, v in BASE.items() if k != "sha"}], "item 0.sha is missing"),
        ([{**BASE, "environment": ""}], "item 0.environment"),
        ([{**BASE, "created_at": "last tuesday"}], "item 0.created_at"),
        ([{**BASE, "created_at": "2026-11-20T14:00:00"}], "item 0.created_at"),
        ([{**BASE, "creator": "octocat"}], "item 0.creator is str"),
        ([{**BASE, "creator": {"id": 1}}], "item 0.creator.login is missing"),
        ([{**BASE, "description": 5}], "item 0.description"),
    ],
)
def test_malformed_deployments_name_the_field(body: object, field: str) -> None:
    """A deployment list of the wrong shape is a MalformedResponseError naming the field."""
    with LocalHTTPServer({LIST: json_answer(body)}) as server:
        github = source(server.url)
        with pytest.raises(MalformedResponseError) as info:
            github.deploys(START, END)
    assert field in str(info.value)
    assert info.value.source == github.name


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"id": 1, "created_at": "2026-11-20T14:00:00Z"}, "item 0.state is missing"),
        ({"id": 1, "state": "success"}, "item 0.created_at is missing"),
        ({"id": 1, "state": "success", "created_at": iso(T), "log_url": 3}, "item 0.log_url"),
    ],
)
def test_malformed_statuses_name_the_field(record: dict[str, Any], field: str) -> None:
    """A status of the wrong shape is a MalformedResponseError naming the deployment and field."""
    routes = {LIST: json_answer([BASE]), f"{LIST}/90/statuses": json_answer([record])}
    with LocalHTTPServer(routes) as server, pytest.raises(MalformedResponseError) as info:
        source(server.url).deploys(START, END)
    assert "deployments/90/statuses" in str(info.value)
    assert field in str(info.value)


# ------------------------------------------------------------------ in an incident


def test_gather_changes_with_live_github_and_a_dead_status_page(tmp_path) -> None:
    """The deploy is gathered from GitHub; the dead status page becomes a monitoring gap."""
    world = World(tmp_path)
    began = SYMPTOM_START.subtract(minutes=5)
    deployments = [deployment(4812, began.subtract(minutes=1), ref="v2.14.0")]
    with FakeGitHub(deployments, {4812: rolled(4812, began, minutes=3)}) as gh:
        github = source(gh.url, name="github")
        dead = StatuspageSource(f"http://127.0.0.1:{closed_port()}", dependency="stripe", timeout=2)
        assessed = world.assess(world.declare()).gather_changes(
            actor="bob", deploys=[github], dependencies=[dead]
        )
    (change,) = assessed.changes
    assert change.id == "deployment-4812"
    assert change.source == "github"
    assert change.started == began
    assert change.finished == began.add(minutes=3)
    gaps = [f for f in assessed.findings if f.kind is FindingKind.MONITORING_GAP]
    assert len(gaps) == 1
    text = gaps[0].summary + gaps[0].detail
    assert "statuspage:127.0.0.1" in text
    assert TOKEN not in world.path.read_text()  # nothing journaled carries the token


def test_a_spent_quota_whose_reset_has_passed_asks_again() -> None:
    """A spent quota whose reset time has passed does not stop the next call."""
    past = time.time() - 5
    routes = {
        LIST: (200, rate_headers(0, past), [deployment(1, T)]),
        f"{LIST}/1/statuses": (200, rate_headers(0, past), rolled(1, T)),
    }
    with LocalHTTPServer(routes) as server:
        github = source(server.url)
        assert len(github.deploys(START, END)) == 1
        assert len(github.deploys(START, END)) == 1
    assert len(server.requests) == 4
    assert github.rate_limit is not None
    assert github.rate_limit.remaining == 0
