"""A vendor's Atlassian Statuspage as a dependency-status source.

:class:`StatuspageSource` reads a status page's public API v2
(``/api/v2/incidents.json`` and ``/api/v2/summary.json``, no credentials
needed) and turns the vendor's incidents, and its components that are degraded
with no incident posted, into :class:`~incidentkit.Change` records of kind
``DEPENDENCY`` whose ``service`` is the dependency::

    github = StatuspageSource("https://www.githubstatus.com", dependency="github")
    incident.gather_changes(actor="sam", dependencies=[github])

``incidents.json`` holds only the 50 most recent incidents. When the window
starts before the oldest of them, incidents in between may be missing: by
default the source answers with what it has, as a
:class:`~incidentkit.PartialChanges` that says what is missing, and the
incident keeps those incidents and records the gap as a monitoring-gap
finding (``on_incomplete="raise"`` raises
:class:`~incidentkit.SourceRequestError` instead).

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from typing import Any, Final, Literal

import attrs
import pendulum

from incidentkit import _arguments
from incidentkit._errors import InvalidInputError, MalformedResponseError, SourceRequestError
from incidentkit._model import Change, ChangeKind, PartialChanges
from incidentkit.adapters import _fields, _http

__all__ = ["ComponentStatus", "StatusSummary", "StatuspageSource"]

#: Incident impacts, least to most severe. ``maintenance`` ranks with ``minor``.
_IMPACT_RANK: Final[Mapping[str, int]] = {
    "none": 0,
    "maintenance": 1,
    "minor": 1,
    "major": 2,
    "critical": 3,
}
#: What a component's status means as an impact.
_COMPONENT_IMPACT: Final[Mapping[str, str]] = {
    "under_maintenance": "maintenance",
    "degraded_performance": "minor",
    "partial_outage": "major",
    "major_outage": "critical",
}
_MIN_IMPACTS: Final[frozenset[str]] = frozenset({"none", "minor", "major", "critical"})
_RESOLVED: Final = frozenset({"resolved", "postmortem", "completed"})
#: How many incidents ``incidents.json`` returns at most.
_FEED_LIMIT: Final = 50
_UPDATE_EXCERPT: Final = 500


@attrs.frozen
class ComponentStatus:
    """One component of a status page and its current status.

    Attributes:
        id: The component's id on the page.
        name: Its name (``"Git Operations"``).
        status: ``operational``, ``degraded_performance``, ``partial_outage``,
            ``major_outage`` or ``under_maintenance``.
        updated_at: When its status last changed.

    .. versionadded:: 0.1.0
    """

    id: str
    name: str
    status: str
    updated_at: pendulum.DateTime


@attrs.frozen
class StatusSummary:
    """A status page's overall state now, from ``/api/v2/summary.json``.

    Attributes:
        page: The page's name.
        indicator: ``none``, ``minor``, ``major``, ``critical`` (or
            ``maintenance``): the page's overall status.
        description: The page's own words (``"All Systems Operational"``).
        degraded: The components (not groups) whose status is not ``operational``.
        unresolved: The ids of the incidents not resolved yet.
        updated_at: When the page last changed.

    .. versionadded:: 0.1.0
    """

    page: str
    indicator: str
    description: str
    degraded: tuple[ComponentStatus, ...]
    unresolved: tuple[str, ...]
    updated_at: pendulum.DateTime

    @property
    def operational(self) -> bool:
        """Whether the page reports no problem at all."""
        return self.indicator == "none" and not self.degraded and not self.unresolved


class StatuspageSource:
    """**Implements**: DependencyStatusSource, from an Atlassian Statuspage.

    Each incident on the page under way at any time in the window becomes a
    ``DEPENDENCY`` change: ``service`` is ``dependency``, ``id`` the incident's
    id, ``started`` its ``started_at`` (else ``created_at``), ``finished`` its
    ``resolved_at`` (``None`` while unresolved), ``link`` its shortlink, and
    the attributes hold the impact, the status, the affected components and
    the latest update. Incidents of every impact are kept by default: a vendor
    incident posted during your symptom, even one rated ``none``, is evidence.

    Args:
        url: The status page, such as ``"https://www.githubstatus.com"``
            (``/api/v2`` is appended; a URL that already ends in it is fine).
        dependency: The service the incidents are about (``"github"``): the
            changes' ``service``.
        name: The source's name; default ``"statuspage:<host>"``.
        components: Only incidents that affect one of these components (names,
            case-insensitive, or ids). An incident that names no component is
            kept: it may be about anything. ``None``: all.
        min_impact: The least impact kept: ``none`` (default, everything),
            ``minor``, ``major`` or ``critical``. An impact the source does not
            know is kept.
        degraded_components: Also report components that are degraded now with
            no unresolved incident naming them (read from ``summary.json``), as
            changes with id ``component:<id>`` started at the component's last
            status change and not finished.
        on_incomplete: What to do when the window starts before the oldest
            incident the feed returns: ``"partial"`` (default) answer what
            there is as a :class:`~incidentkit.PartialChanges` and set
            its ``gap`` says what is missing, or ``"raise"`` a
            :class:`~incidentkit.SourceRequestError`.
        timeout: Seconds to wait for each answer.
        headers: Extra headers (for a private page behind a proxy). Every
            value of at least four characters is treated as a secret, whatever
            the header is called: masked wherever the page's words reach a
            message. User info in ``url`` is taken as basic-auth credentials,
            and its query values are secrets too.
        ca_file: A CA bundle to verify the page's certificate with.

    Raises:
        InvalidInputError: The URL, the dependency, the impact or the
            timeout is not usable.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        url: str,
        *,
        dependency: str,
        name: str | None = None,
        components: Iterable[str] | None = None,
        min_impact: Literal["none", "minor", "major", "critical"] = "none",
        degraded_components: bool = True,
        on_incomplete: Literal["raise", "partial"] = "partial",
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        ca_file: str | None = None,
    ) -> None:
        if not dependency.strip():
            msg = f"statuspage: dependency must be the name of a service, not {dependency!r}"
            raise InvalidInputError(msg)
        if min_impact not in _MIN_IMPACTS:
            msg = (
                f"statuspage: min_impact must be none, minor, major or critical, not {min_impact!r}"
            )
            raise InvalidInputError(msg)
        if on_incomplete not in {"raise", "partial"}:
            msg = f"statuspage: on_incomplete must be 'raise' or 'partial', not {on_incomplete!r}"
            raise InvalidInputError(msg)
        # /api/v2 goes after the path, before a query (whose values are secrets to the client).
        parts = urllib.parse.urlsplit(url)
        path = parts.path.rstrip("/").removesuffix("/api/v2")
        api = urllib.parse.urlunsplit(
            (parts.scheme, parts.netloc, f"{path}/api/v2", parts.query, "")
        )
        self._name = name or f"statuspage:{parts.hostname or '?'}"
        self._client = _http.HttpClient(
            api, source=self._name, timeout=timeout, headers=headers, ca_file=ca_file
        )
        self._page_url = self._client.base_url.removesuffix("/api/v2")
        self._dependency = dependency
        self._components = (
            None if components is None else frozenset(c.casefold() for c in components)
        )
        self._min_impact = min_impact
        self._degraded_components = degraded_components
        self._on_incomplete = on_incomplete

    @property
    def name(self) -> str:
        """The source's name, used in the journal and in findings."""
        return self._name

    @property
    def dependency(self) -> str:
        """The service the incidents are about."""
        return self._dependency

    def __repr__(self) -> str:
        """Show the page and the dependency, never a header's value."""
        return (
            f"StatuspageSource({self._page_url!r}, dependency={self._dependency!r}, "
            f"name={self._name!r})"
        )

    def incidents(self, start: dt.datetime, end: dt.datetime) -> Sequence[Change]:
        """Return the vendor's incidents under way at any time in ``[start, end]``.

        Args:
            start: The window's start (aware).
            end: The window's end (aware).

        Returns:
            ``DEPENDENCY`` changes, oldest first: the incidents that pass the
            filters, then (with ``degraded_components``) the components
            degraded with no incident; a :class:`~incidentkit.PartialChanges`
            when the feed does not reach back to ``start``.

        Raises:
            InvalidInputError: The window is naive or reversed.
            SourceRequestError: The feed does not reach back to ``start`` and
                ``on_incomplete`` is ``"raise"``.
            SourceError: The page could not be read (a subclass says why).
            MalformedResponseError: The page answered something that is not
                Statuspage API v2; the message names the field.

        No message quotes a header's value or a URL's query value, even where
        it quotes what the page sent.
        """
        return self._client.call(self._incidents, start, end)

    def _incidents(self, start: dt.datetime, end: dt.datetime) -> Sequence[Change]:
        first, last = _arguments.check_window(start, end, name=self._name)
        feed = self._client.get("incidents.json")
        records = _list(feed.body, "incidents", "incidents.json", self._name)
        incidents = [
            _Incident.parse(r, f"incidents.json: incidents[{i}]", self._name)
            for i, r in enumerate(records)
        ]
        known = {i.id for i in incidents}
        degraded: list[ComponentStatus] = []
        if self._degraded_components:
            summary_body = self._client.get("summary.json").body
            open_records = _list(summary_body, "incidents", "summary.json", self._name)
            for position, record in enumerate(open_records):
                incident = _Incident.parse(
                    record, f"summary.json: incidents[{position}]", self._name
                )
                if incident.id not in known:  # unresolved and older than the feed reaches
                    incidents.append(incident)
                    known.add(incident.id)
            covered = {c for i in incidents if not i.resolved for c in i.component_ids}
            degraded = [
                c
                for c in _components(summary_body, self._name)
                if c.status != "operational" and c.id not in covered
            ]
        changes = [
            self._incident_change(i)
            for i in incidents
            if self._wanted(i.impact, i.component_names, i.component_ids)
        ]
        changes.extend(
            self._component_change(c)
            for c in degraded
            if self._wanted(_COMPONENT_IMPACT.get(c.status, c.status), (c.name,), (c.id,))
        )
        kept = sorted((c for c in changes if c.overlaps(first, last)), key=_order)
        gap = self._coverage_gap(records, incidents, first)
        return kept if gap is None else PartialChanges(kept, gap)

    def summary(self) -> StatusSummary:
        """Return the page's overall state now, from ``/api/v2/summary.json``.

        Raises:
            SourceError: The page could not be read.
            MalformedResponseError: The answer is not a Statuspage summary.
        """
        return self._client.call(self._summary)

    def _summary(self) -> StatusSummary:
        body = self._client.get("summary.json").body
        where = "summary.json"
        page = _object(_get(body, "page", where, self._name), f"{where}: page", self._name)
        status = _object(_get(body, "status", where, self._name), f"{where}: status", self._name)
        open_records = _list(body, "incidents", where, self._name)
        unresolved = tuple(
            _Incident.parse(r, f"{where}: incidents[{i}]", self._name).id
            for i, r in enumerate(open_records)
        )
        return StatusSummary(
            page=_text(page, "name", f"{where}: page", self._name),
            indicator=_text(status, "indicator", f"{where}: status", self._name),
            description=_text(status, "description", f"{where}: status", self._name),
            degraded=tuple(c for c in _components(body, self._name) if c.status != "operational"),
            unresolved=unresolved,
            updated_at=_instant(page, "updated_at", f"{where}: page", self._name),
        )

    # ------------------------------------------------------------------ helpers

    def _wanted(self, impact: str, names: Sequence[str], ids: Sequence[str]) -> bool:
        rank = _IMPACT_RANK.get(impact)
        if rank is not None and rank < _IMPACT_RANK[self._min_impact]:
            return False
        if self._components is None or not (names or ids):
            return True
        return any(n.casefold() in self._components for n in (*names, *ids))

    def _incident_change(self, incident: _Incident) -> Change:
        attributes = {
            "impact": incident.impact,
            "status": incident.status,
            "components": ", ".join(incident.component_names),
        }
        if incident.last_update:
            attributes["last_update"] = incident.last_update
        try:
            return self._change(
                id=incident.id,
                started=incident.started,
                finished=incident.finished,
                summary=f"{incident.name} (impact {incident.impact}, {incident.status})",
                link=incident.shortlink or f"{self._page_url}/incidents/{incident.id}",
                attributes=attributes,
            )
        except InvalidInputError as exc:  # resolved before it started
            msg = f"{self._name}: incident {incident.id!r} has inconsistent times: {exc}"
            raise MalformedResponseError(msg, source=self._name) from exc

    def _component_change(self, component: ComponentStatus) -> Change:
        return self._change(
            id=f"component:{component.id}",
            started=component.updated_at,
            finished=None,
            summary=f"{component.name}: {component.status.replace('_', ' ')} (no incident posted)",
            link=self._page_url,
            attributes={
                "impact": _COMPONENT_IMPACT.get(component.status, component.status),
                "status": component.status,
                "components": component.name,
            },
        )

    def _change(
        self,
        *,
        id: str,  # noqa: A002 - the field's name
        started: pendulum.DateTime,
        finished: pendulum.DateTime | None,
        summary: str,
        link: str,
        attributes: dict[str, str],
    ) -> Change:
        # Change converts its attributes with ``dict``, whose overloads leave the
        # type checkers unsure what the constructor accepts: hand them over untyped.
        untyped: Any = attributes
        return Change(
            id=id,
            kind=ChangeKind.DEPENDENCY,
            service=self._dependency,
            started=started,
            finished=finished,
            source=self._name,
            summary=summary,
            link=link,
            attributes=untyped,
        )

    def _coverage_gap(
        self, records: Sequence[object], incidents: Sequence[_Incident], first: pendulum.DateTime
    ) -> str | None:
        """Say what the feed does not cover of the window, or raise if asked to."""
        if len(records) < _FEED_LIMIT:
            return None  # the feed holds the page's whole history
        reach = min(i.created for i in incidents[: len(records)])
        if reach <= first:
            return None
        gap = (
            f"incidents.json returns only the {_FEED_LIMIT} most recent incidents, which "
            f"reach back to {reach}; resolved incidents between the window start ({first}) "
            "and then are not known"
        )
        if self._on_incomplete == "raise":
            msg = (
                f"{self._name}: {gap}. Start the window later (a shorter lookback), read the "
                "page's history by hand, or pass on_incomplete='partial' to accept the gap"
            )
            raise SourceRequestError(msg, source=self._name)
        return gap


def _order(change: Change) -> tuple[pendulum.DateTime, str]:
    return change.started, change.id


@attrs.frozen
class _Incident:
    """The fields of one Statuspage incident that matter here, checked."""

    id: str
    name: str
    status: str
    impact: str
    created: pendulum.DateTime
    started: pendulum.DateTime
    finished: pendulum.DateTime | None
    shortlink: str | None
    component_ids: tuple[str, ...]
    component_names: tuple[str, ...]
    last_update: str

    @property
    def resolved(self) -> bool:
        return self.status in _RESOLVED

    @classmethod
    def parse(cls, record: object, where: str, source: str) -> _Incident:
        obj = _object(record, where, source)
        status = _text(obj, "status", where, source)
        created = _instant(obj, "created_at", where, source)
        started = _optional_instant(obj, "started_at", where, source) or created
        finished: pendulum.DateTime | None = None
        if status in _RESOLVED:
            finished = _optional_instant(obj, "resolved_at", where, source) or _instant(
                obj, "updated_at", where, source
            )
        ids: list[str] = []
        names: list[str] = []
        for position, item in enumerate(_list(obj, "components", where, source, optional=True)):
            component = _object(item, f"{where}.components[{position}]", source)
            ids.append(_text(component, "id", f"{where}.components[{position}]", source))
            names.append(_text(component, "name", f"{where}.components[{position}]", source))
        return cls(
            id=_text(obj, "id", where, source),
            name=_text(obj, "name", where, source),
            status=status,
            impact=_text(obj, "impact", where, source),
            created=created,
            started=started,
            finished=finished,
            shortlink=_optional_text(obj, "shortlink", where, source),
            component_ids=tuple(ids),
            component_names=tuple(names),
            last_update=_last_update(obj, where, source),
        )


def _last_update(obj: Mapping[str, object], where: str, source: str) -> str:
    latest: tuple[pendulum.DateTime, str] | None = None
    for position, item in enumerate(_list(obj, "incident_updates", where, source, optional=True)):
        here = f"{where}.incident_updates[{position}]"
        update = _object(item, here, source)
        at = _instant(update, "created_at", here, source)
        body = _optional_text(update, "body", here, source) or ""
        if latest is None or at > latest[0]:
            latest = (at, body)
    if latest is None:
        return ""
    text = " ".join(latest[1].split())
    return text if len(text) <= _UPDATE_EXCERPT else f"{text[: _UPDATE_EXCERPT - 1]}…"


def _components(body: object, source: str) -> list[ComponentStatus]:
    found: list[ComponentStatus] = []
    for position, item in enumerate(_list(body, "components", "summary.json", source)):
        where = f"summary.json: components[{position}]"
        component = _object(item, where, source)
        if component.get("group") is True:
            continue  # a group's status sums up its members, which are listed too
        found.append(
            ComponentStatus(
                id=_text(component, "id", where, source),
                name=_text(component, "name", where, source),
                status=_text(component, "status", where, source),
                updated_at=_instant(component, "updated_at", where, source),
            )
        )
    return found


# ---------------------------------------------------------------------- field access
# The readers of _fields, ending every message with this adapter's hint.

_HINT = "is the URL a Statuspage page (it must serve /api/v2/incidents.json)?"
_malformed = partial(_fields.malformed, hint=_HINT)
_object = partial(_fields.json_object, hint=_HINT)
_get = partial(_fields.get, hint=_HINT)
_list = partial(_fields.json_list, hint=_HINT)
_text = partial(_fields.text, hint=_HINT)
_optional_text = partial(_fields.optional_text, hint=_HINT)
_instant = partial(_fields.instant, hint=_HINT)
_optional_instant = partial(_fields.optional_instant, hint=_HINT)
