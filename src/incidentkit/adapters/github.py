"""GitHub deployments (and their statuses) as a deploy source.

:class:`GitHubDeploymentSource` lists a repository's deployments through the
REST API (``GET /repos/{owner}/{repo}/deployments``, newest first, paginated by
the ``Link`` header), reads each relevant deployment's statuses
(``GET .../deployments/{id}/statuses``) to learn when it started and finished,
and returns them as ``DEPLOY`` :class:`~incidentkit.Change` records::

    deploys = GitHubDeploymentSource("acme/checkout", environment="production")
    incident.gather_changes(actor="sam", deploys=[deploys])

The token comes from the ``token`` argument or the ``GITHUB_TOKEN``
environment variable; it is sent as ``Authorization: Bearer ...`` and never
shown (not in ``repr``, not in an error, not in a change).

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, Final, Literal, TypeVar, cast

import attrs
import pendulum

from incidentkit import _arguments
from incidentkit._errors import (
    InvalidInputError,
    MalformedResponseError,
    RateLimitedError,
    SourceAuthError,
    SourceRequestError,
)
from incidentkit._model import Change, ChangeKind, PartialChanges
from incidentkit._time import to_instant
from incidentkit.adapters import _fields, _http

__all__ = ["GitHubDeploymentSource", "RateLimit"]

_TOKEN_ENV: Final = "GITHUB_TOKEN"  # noqa: S105 - the variable's name, not a token
_API_VERSION: Final = "2022-11-28"
_STARTED_STATES: Final = ("in_progress", "queued")
_FINISHED_STATES: Final = frozenset({"success", "failure", "error", "inactive"})
_FAILED_STATES: Final = frozenset({"failure", "error"})
_NEXT_LINK: Final = re.compile(r'<([^>]*)>\s*;\s*rel="?next"?')
_MAX_PER_PAGE: Final = 100

#: Maps a deployment (the API's JSON object) to a service name; ``None`` skips it.
_ServiceMapper = Callable[[Mapping[str, object]], "str | None"]
_T = TypeVar("_T")


@attrs.frozen
class RateLimit:
    """GitHub's rate-limit headers from the last answer.

    Attributes:
        limit: Requests allowed per window (``x-ratelimit-limit``).
        remaining: Requests left (``x-ratelimit-remaining``).
        reset: When the window resets (``x-ratelimit-reset``).
        used: Requests used (``x-ratelimit-used``), when sent.

    .. versionadded:: 0.1.0
    """

    limit: int
    remaining: int
    reset: pendulum.DateTime
    used: int | None = None


class GitHubDeploymentSource:
    """**Implements**: DeploySource, from a GitHub repository's deployments.

    Each deployment under way at any time in the window becomes a ``DEPLOY``
    change: ``id`` is ``deployment-<id>``; ``started`` the first
    ``in_progress`` (else ``queued``) status, else the deployment's
    ``created_at``; ``finished`` the first ``success``, ``failure``, ``error``
    or ``inactive`` status (``None``: still under way, or no status at all);
    ``version`` the commit SHA and ``previous_version`` the SHA of the
    deployment before it in the same environment; ``author`` the creator's
    login; ``link`` the newest status's ``log_url`` (else the commit's page).
    A deployment whose latest state is ``failure`` or ``error`` still counts (it
    may have half rolled out): its attribute ``failed`` is ``"true"``.

    Deployments are listed newest first, page by page, until a page reaches
    back before the window (the deployment live at the window's start is
    still read, per environment) or ``max_pages`` pages were read. A scan that
    stopped at ``max_pages`` before reaching the window's start answers, by
    default, with what it found as a :class:`~incidentkit.PartialChanges`
    that says how far back it got, so that the incident keeps those and
    records the rest as a monitoring gap instead of silently missing the
    culprit; ``on_incomplete="raise"``
    raises :class:`~incidentkit.SourceRequestError` instead.

    Args:
        repo: ``"owner/name"``.
        services: How a deployment maps to a service: a mapping from
            environment name to service (unmapped environments get the
            repository's name), or a callable given the deployment's JSON
            object that returns the service name or ``None`` to skip it.
            Default: the repository's name for every deployment.
        environment: Only deployments to this environment (filtered by GitHub).
        api_url: The API's root: ``https://api.github.com``, or
            ``https://HOST/api/v3`` for GitHub Enterprise Server.
        token: A token that can read deployments; ``None``: the
            ``GITHUB_TOKEN`` environment variable; empty: no token.
        per_page: Deployments per page (1 to 100).
        max_pages: The most pages of deployments (and of one deployment's
            statuses) read per call.
        on_incomplete: ``"partial"`` (default) or ``"raise"``, see above.
        timeout: Seconds to wait for each answer.
        name: The source's name; default ``"github:<owner>/<name>"``.
        ca_file: A CA bundle to verify the server's certificate with.

    Raises:
        InvalidInputError: ``repo``, ``per_page``, ``max_pages``, the URL or
            the timeout is not usable.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        repo: str,
        *,
        services: Mapping[str, str] | _ServiceMapper | None = None,
        environment: str | None = None,
        api_url: str = "https://api.github.com",
        token: str | None = None,
        per_page: int = _MAX_PER_PAGE,
        max_pages: int = 10,
        on_incomplete: Literal["raise", "partial"] = "partial",
        timeout: float = 10.0,
        name: str | None = None,
        ca_file: str | None = None,
    ) -> None:
        owner, _, repository = repo.partition("/")
        if not owner or not repository or "/" in repository or repo != repo.strip():
            msg = f"github: repo must be 'owner/name', not {repo!r}"
            raise InvalidInputError(msg)
        if not 1 <= per_page <= _MAX_PER_PAGE:
            msg = f"github: per_page must be between 1 and {_MAX_PER_PAGE}, not {per_page!r}"
            raise InvalidInputError(msg)
        if max_pages < 1:
            msg = f"github: max_pages must be at least 1, not {max_pages!r}"
            raise InvalidInputError(msg)
        if on_incomplete not in {"raise", "partial"}:
            msg = f"github: on_incomplete must be 'raise' or 'partial', not {on_incomplete!r}"
            raise InvalidInputError(msg)
        self._repo = repo
        self._name = name or f"github:{repo}"
        self._token_from = "the token argument"  # noqa: S105 - where it came from
        if token is None:
            token = os.environ.get(_TOKEN_ENV) or None
            self._token_from = f"${_TOKEN_ENV}"
        self._has_token = bool(token)
        self._client = _http.HttpClient(
            api_url,
            source=self._name,
            timeout=timeout,
            token=token or None,
            protocol_headers={
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": _API_VERSION,
            },
            ca_file=ca_file,
        )
        self._web_url = _web_url(self._client.base_url)
        self._services = services
        self._environment = environment
        self._per_page = per_page
        self._max_pages = max_pages
        self._on_incomplete = on_incomplete
        self._rate_limit: RateLimit | None = None

    @property
    def name(self) -> str:
        """The source's name, used in the journal and in findings."""
        return self._name

    @property
    def repo(self) -> str:
        """The repository, ``owner/name``."""
        return self._repo

    @property
    def rate_limit(self) -> RateLimit | None:
        """GitHub's rate-limit headers from the last answer, or ``None`` before any."""
        return self._rate_limit

    def __repr__(self) -> str:
        """Show the repository, the API and whether a token is set, never the token."""
        auth = "token" if self._has_token else "anonymous"
        return (
            f"GitHubDeploymentSource({self._repo!r}, api_url={self._client.base_url!r}, "
            f"name={self._name!r}, auth={auth!r})"
        )

    def deploys(
        self,
        start: dt.datetime,
        end: dt.datetime,
        *,
        services: Sequence[str] | None = None,
    ) -> Sequence[Change]:
        """Return the deployments under way at any time in ``[start, end]``.

        Args:
            start: The window's start (aware).
            end: The window's end (aware).
            services: Only these services; ``None`` means all.

        Returns:
            ``DEPLOY`` changes, oldest first; a :class:`~incidentkit.PartialChanges`
            when the scan stopped before the window's start.

        Raises:
            InvalidInputError: The window is naive or reversed.
            SourceRequestError: The scan stopped at ``max_pages`` before reaching
                the window's start (with ``on_incomplete="raise"``), or GitHub
                rejected the request (a repository it does not show you: 404).
            RateLimitedError: The rate limit is exhausted; ``retry_after`` says
                for how long.
            SourceAuthError: The token was refused.
            SourceError: GitHub could not be reached or answered garbage.

        No message quotes the token or a URL's query value, even where it
        quotes what GitHub sent.
        """
        return self._client.call(self._deploys, start, end, services=services)

    def _deploys(
        self, start: dt.datetime, end: dt.datetime, *, services: Sequence[str] | None
    ) -> Sequence[Change]:
        first, last = _arguments.check_window(start, end, name=self._name)
        wanted = (
            None
            if services is None
            else frozenset([services] if isinstance(services, str) else services)
        )
        deployments, complete = self._scan(first)
        # Raises, unless a partial answer was asked for.
        gap = None if complete else self._incomplete(deployments, first)
        deployments.sort(key=lambda d: (d.created, d.id), reverse=True)
        previous = _previous_shas(deployments)
        changes: list[Change] = []
        for deployment in _candidates(deployments, first, last):
            service = self._service(deployment)
            if service is None or (wanted is not None and service not in wanted):
                continue
            statuses = self._statuses(deployment)
            if not statuses and deployment.created < first:
                # No status to say whether it was still rolling out at the window's
                # start (GitHub deletes statuses after 90 days): not counted.
                continue
            change = self._change(deployment, service, statuses, previous.get(deployment.id))
            if change.overlaps(first, last):
                changes.append(change)
        changes.sort(key=lambda c: (c.started, c.id))
        return changes if gap is None else PartialChanges(changes, gap)

    # ------------------------------------------------------------------ the API

    def _get(self, path: str, params: Sequence[tuple[str, str]] = ()) -> _http.HttpResponse:
        if self._rate_limit is not None and self._rate_limit.remaining == 0:
            wait = self._rate_limit.reset.timestamp() - time.time()
            if wait > 0:
                msg = (
                    f"{self._name}: the GitHub rate limit ({self._rate_limit.limit} requests) "
                    f"is used up until {self._rate_limit.reset}; retry after {wait:.0f} s"
                    f"{self._anonymous_hint()}"
                )
                raise RateLimitedError(msg, source=self._name, retry_after=wait)
        try:
            response = self._client.get(path, params)
        except RateLimitedError as exc:
            msg = f"{exc}{self._anonymous_hint()}"
            raise RateLimitedError(msg, source=self._name, retry_after=exc.retry_after) from exc
        except SourceAuthError as exc:
            where = (
                f"the token comes from {self._token_from}"
                if self._has_token
                else f"no token was given: pass token= or set ${_TOKEN_ENV}"
            )
            msg = f"{exc} ({where}; it needs read access to the deployments of {self._repo})"
            raise SourceAuthError(msg, source=self._name) from exc
        except SourceRequestError as exc:
            msg = (
                f"{exc} (check that {self._repo} exists and that the token can read it: GitHub "
                "answers 404 for a private repository it does not show you)"
            )
            raise SourceRequestError(msg, source=self._name) from exc
        self._note_rate_limit(response.headers)
        return response

    def _anonymous_hint(self) -> str:
        if self._has_token:
            return ""
        return f"; requests without a token get 60 an hour: pass token= or set ${_TOKEN_ENV}"

    def _note_rate_limit(self, headers: Mapping[str, str]) -> None:
        try:
            limit = int(headers["x-ratelimit-limit"])
            remaining = int(headers["x-ratelimit-remaining"])
            reset = to_instant(float(headers["x-ratelimit-reset"]))
        except (KeyError, ValueError, InvalidInputError):
            return
        used_text = headers.get("x-ratelimit-used", "")
        used = int(used_text) if used_text.isdigit() else None
        self._rate_limit = RateLimit(limit, remaining, reset, used)

    def _read_pages(
        self,
        path: str,
        params: Sequence[tuple[str, str]],
        parse: Callable[[object, str], _T],
        *,
        enough: Callable[[list[_T]], bool] = lambda _items: False,
    ) -> tuple[list[_T], bool]:
        """Read the JSON lists of successive pages, following ``Link: <...>; rel="next"``.

        Stops when ``enough`` says so, at the last page, or after ``max_pages``
        pages. Returns the parsed items and whether more pages were left unread.
        """
        items: list[_T] = []
        target: str | None = path
        for page in range(1, self._max_pages + 1):
            if target is None:
                return items, False
            response = self._get(target, params if page == 1 else ())
            link = _next_link(response.headers.get("link", ""))
            target = None if link is None else self._follow(link)
            body = response.body
            if not isinstance(body, list):
                msg = (
                    f"{self._name}: {response.url} answered {type(body).__name__}, not a "
                    "list; is api_url the REST API's root (https://HOST/api/v3 for GitHub "
                    "Enterprise Server)?"
                )
                raise MalformedResponseError(msg, source=self._name)
            for position, record in enumerate(cast("list[object]", body)):
                items.append(parse(record, f"{path} page {page}, item {position}"))
            if enough(items):
                return items, False
        return items, target is not None

    def _follow(self, link: str) -> str:
        """Check that a pagination link stays on the API's host, so the token stays too."""
        here = urllib.parse.urlsplit(self._client.base_url)
        there = urllib.parse.urlsplit(link)
        if (there.scheme, there.netloc) != (here.scheme, here.netloc):
            msg = (
                f"{self._name}: the next page is on another server ({there.scheme}://"
                f"{there.hostname}); not followed, so that the token stays with "
                f"{self._client.base_url}"
            )
            raise MalformedResponseError(msg, source=self._name)
        return link

    def _scan(self, first: pendulum.DateTime) -> tuple[list[_Deployment], bool]:
        """Read deployments newest first until one is older than ``first``.

        Returns the deployments read and whether the scan is complete: it
        reached ``first`` or the end of the list.
        """
        params = [("per_page", str(self._per_page))]
        if self._environment is not None:
            params.append(("environment", self._environment))
        found, truncated = self._read_pages(
            f"repos/{self._repo}/deployments",
            params,
            lambda record, where: _Deployment.parse(record, where, self._name),
            enough=lambda items: any(d.created < first for d in items),
        )
        return found, not truncated

    def _statuses(self, deployment: _Deployment) -> list[_Status]:
        statuses, _ = self._read_pages(
            f"repos/{self._repo}/deployments/{deployment.id}/statuses",
            [("per_page", str(_MAX_PER_PAGE))],
            lambda record, where: _Status.parse(record, where, self._name),
        )
        statuses.sort(key=lambda s: (s.created, s.id))  # oldest first
        return statuses

    # ------------------------------------------------------------------ mapping

    def _service(self, deployment: _Deployment) -> str | None:
        mapper = self._services
        default = self._repo.partition("/")[2]
        if mapper is None:
            return default
        if not callable(mapper):
            return mapper.get(deployment.environment, default)
        service = cast("object", mapper(deployment.raw))  # a caller's function: check it
        if service is None:
            return None
        if not isinstance(service, str) or not service.strip():
            msg = (
                f"{self._name}: the services callable returned {service!r} for deployment "
                f"{deployment.id}; return a service name or None"
            )
            raise InvalidInputError(msg)
        return service

    def _change(
        self,
        deployment: _Deployment,
        service: str,
        statuses: Sequence[_Status],
        previous_sha: str | None,
    ) -> Change:
        started = deployment.created
        for wanted in _STARTED_STATES:
            begun = [s.created for s in statuses if s.state == wanted]
            if begun:
                started = min(begun)
                break
        ends = [s.created for s in statuses if s.state in _FINISHED_STATES and s.created >= started]
        finished = min(ends) if ends else None
        latest = statuses[-1].state if statuses else "unknown"
        link = next((s.log_url for s in reversed(statuses) if s.log_url), None)
        attributes = {
            "state": latest,
            "ref": deployment.ref,
            "sha": deployment.sha,
            "task": deployment.task,
            "deployment_id": str(deployment.id),
        }
        environment_url = next(
            (s.environment_url for s in reversed(statuses) if s.environment_url), None
        )
        if environment_url:
            attributes["environment_url"] = environment_url
        if deployment.production is not None:
            attributes["production_environment"] = "true" if deployment.production else "false"
        summary = deployment.description or f"{deployment.task} of {deployment.ref}"
        summary = f"{summary} ({deployment.sha[:7]} to {deployment.environment})"
        if latest in _FAILED_STATES:
            attributes["failed"] = "true"
            summary = f"{summary}: {latest}, it may have partly rolled out"
        # Change converts its attributes with ``dict``, whose overloads leave the
        # type checkers unsure what the constructor accepts: hand it over untyped.
        untyped: Any = attributes
        return Change(
            id=f"deployment-{deployment.id}",
            kind=ChangeKind.DEPLOY,
            service=service,
            started=started,
            finished=finished,
            source=self._name,
            summary=summary,
            environment=deployment.environment,
            version=deployment.sha,
            previous_version=previous_sha,
            author=deployment.creator,
            link=link or f"{self._web_url}/{self._repo}/commit/{deployment.sha}",
            attributes=untyped,
        )

    def _incomplete(self, deployments: Sequence[_Deployment], first: pendulum.DateTime) -> str:
        """Say what a scan cut short by ``max_pages`` missed, or raise if asked to."""
        reach = min((d.created for d in deployments), default=None)
        gap = (
            f"stopped after {self._max_pages} pages of {self._per_page} deployments, which "
            f"reach back to {reach}, not to the window's start ({first}); older deployments "
            "were not read"
        )
        if self._on_incomplete == "raise":
            msg = (
                f"{self._name}: {gap}. Raise max_pages, filter by environment, shorten the "
                "lookback, or pass on_incomplete='partial' to accept the gap"
            )
            raise SourceRequestError(msg, source=self._name)
        return gap


def _previous_shas(newest_first: Sequence[_Deployment]) -> dict[int, str]:
    """Map each deployment's id to the SHA deployed before it in the same environment."""
    previous: dict[int, str] = {}
    last_seen: dict[str, _Deployment] = {}
    for deployment in reversed(newest_first):
        before = last_seen.get(deployment.environment)
        if before is not None:
            previous[deployment.id] = before.sha
        last_seen[deployment.environment] = deployment
    return previous


def _candidates(
    newest_first: Sequence[_Deployment], first: pendulum.DateTime, last: pendulum.DateTime
) -> list[_Deployment]:
    """The deployments that may be under way in the window.

    Those created in it, and the newest one per environment created before
    it: the others had been superseded by the window's start.
    """
    kept: list[_Deployment] = []
    before_window: set[str] = set()
    for deployment in newest_first:
        if deployment.created > last:
            continue
        if deployment.created < first:
            if deployment.environment in before_window:
                continue
            before_window.add(deployment.environment)
        kept.append(deployment)
    return kept


def _next_link(header: str) -> str | None:
    for part in header.split(","):
        match = _NEXT_LINK.search(part)
        if match:
            return match.group(1)
    return None


def _web_url(api_url: str) -> str:
    parts = urllib.parse.urlsplit(api_url)
    if parts.hostname == "api.github.com":
        return "https://github.com"
    root = parts.path.removesuffix("/api/v3")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, root, "", ""))


@attrs.frozen
class _Deployment:
    """The fields of one deployment that matter here, checked."""

    id: int
    sha: str
    ref: str
    task: str
    environment: str
    description: str
    creator: str | None
    created: pendulum.DateTime
    production: bool | None
    raw: Mapping[str, object]

    @classmethod
    def parse(cls, record: object, where: str, source: str) -> _Deployment:
        obj = _object(record, where, source)
        creator_obj = obj.get("creator")
        creator: str | None = None
        if creator_obj is not None:
            creator = _text(
                _object(creator_obj, f"{where}.creator", source),
                "login",
                f"{where}.creator",
                source,
            )
        production = obj.get("production_environment")
        return cls(
            id=_integer(obj, "id", where, source),
            sha=_text(obj, "sha", where, source),
            ref=_text(obj, "ref", where, source),
            task=_optional_text(obj, "task", where, source) or "deploy",
            environment=_text(obj, "environment", where, source),
            description=_optional_text(obj, "description", where, source) or "",
            creator=creator,
            created=_instant(obj, "created_at", where, source),
            production=production if isinstance(production, bool) else None,
            raw=obj,
        )


@attrs.frozen
class _Status:
    """The fields of one deployment status that matter here, checked."""

    id: int
    state: str
    created: pendulum.DateTime
    log_url: str | None
    environment_url: str | None

    @classmethod
    def parse(cls, record: object, where: str, source: str) -> _Status:
        obj = _object(record, where, source)
        return cls(
            id=_integer(obj, "id", where, source),
            state=_text(obj, "state", where, source),
            created=_instant(obj, "created_at", where, source),
            log_url=_optional_text(obj, "log_url", where, source)
            or _optional_text(obj, "target_url", where, source),
            environment_url=_optional_text(obj, "environment_url", where, source),
        )


# ---------------------------------------------------------------------- field access
# The readers of _fields, ending every message with this adapter's hint.

_HINT = "is api_url a GitHub REST API?"
_malformed = partial(_fields.malformed, hint=_HINT)
_object = partial(_fields.json_object, hint=_HINT)
_integer = partial(_fields.integer, hint=_HINT)
_text = partial(_fields.text, hint=_HINT)
_optional_text = partial(_fields.optional_text, hint=_HINT)
_instant = partial(_fields.instant, hint=_HINT)
