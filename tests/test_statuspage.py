"""Tests for the Statuspage dependency-status source, against a local HTTP server.

The payloads follow the documented shape of Atlassian Statuspage's public API
v2 (``/api/v2/incidents.json`` and ``/api/v2/summary.json``, as served by
www.githubstatus.com): page time-zone offsets in timestamps, millisecond
fractions, ``started_at`` possibly absent, ``resolved_at`` null while open.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pendulum
import pytest

from _local_http import HANG, LocalHTTPServer, closed_port, json_answer
from fakes import SYMPTOM_START, World
from incidentkit import (
    ChangeKind,
    FindingKind,
    InvalidInputError,
    MalformedResponseError,
    NaiveDatetimeError,
    PartialChanges,
    SourceAuthError,
    SourceRequestError,
    SourceTimeoutError,
    SourceUnavailableError,
)
from incidentkit.adapters.github import GitHubDeploymentSource
from incidentkit.adapters.statuspage import ComponentStatus, StatuspageSource, StatusSummary
from incidentkit.protocols import DependencyStatusSource

T = pendulum.datetime(2026, 11, 20, 14, 0, tz="UTC")
START, END = T, T.add(hours=1)
PAGE = {
    "id": "kctbh9vrtdwd",
    "name": "GitHub",
    "url": "https://www.githubstatus.com",
    "time_zone": "Etc/UTC",
    "updated_at": "2026-11-20T14:31:02.137Z",
}
INCIDENTS = "/api/v2/incidents.json"
SUMMARY = "/api/v2/summary.json"


def stamp(at: pendulum.DateTime | None, *, offset_hours: int = 0) -> str | None:
    """Render an instant the way Statuspage does: milliseconds and the page's offset."""
    if at is None:
        return None
    local = at.in_timezone(pendulum.FixedTimezone(offset_hours * 3600))
    return local.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def component(
    cid: str, name: str, status: str = "operational", *, updated: pendulum.DateTime = T, **extra
) -> dict[str, Any]:
    """A component object as Statuspage lists it."""
    return {
        "id": cid,
        "name": name,
        "status": status,
        "created_at": "2017-01-31T20:01:46.621Z",
        "updated_at": stamp(updated),
        "position": 1,
        "description": f"{name} of the platform",
        "showcase": False,
        "start_date": None,
        "group_id": None,
        "page_id": PAGE["id"],
        "group": False,
        "only_show_if_degraded": False,
        **extra,
    }


GIT = component("8l4ygp009s5s", "Git Operations")
ACTIONS = component("br0l2tvcx85d", "Actions")
PAGES = component("vg70hn9s2tyj", "Pages")


def incident(
    iid: str,
    name: str,
    *,
    status: str = "resolved",
    impact: str = "minor",
    created: pendulum.DateTime,
    started: pendulum.DateTime | None = None,
    resolved: pendulum.DateTime | None = None,
    components: tuple[dict[str, Any], ...] = (),
    updates: tuple[tuple[str, pendulum.DateTime, str], ...] = (),
    offset_hours: int = 0,
    omit_started: bool = False,
) -> dict[str, Any]:
    """An incident object as incidents.json lists it (updates newest first)."""
    last = resolved or max([created, *(at for _, at, _ in updates)])
    record: dict[str, Any] = {
        "id": iid,
        "name": name,
        "status": status,
        "created_at": stamp(created, offset_hours=offset_hours),
        "updated_at": stamp(last, offset_hours=offset_hours),
        "monitoring_at": None,
        "resolved_at": stamp(resolved, offset_hours=offset_hours),
        "impact": impact,
        "shortlink": f"https://stspg.io/{iid[:8]}",
        "started_at": stamp(started or created, offset_hours=offset_hours),
        "page_id": PAGE["id"],
        "incident_updates": [
            {
                "id": f"u{n}{iid}",
                "status": state,
                "body": body,
                "incident_id": iid,
                "created_at": stamp(at),
                "updated_at": stamp(at),
                "display_at": stamp(at),
                "affected_components": None,
                "deliver_notifications": True,
                "custom_tweet": None,
                "tweet_id": None,
            }
            for n, (state, at, body) in enumerate(updates)
        ],
        "components": list(components),
        "reminder_intervals": None,
    }
    if omit_started:
        del record["started_at"]
    return record


def feed(*incidents: dict[str, Any]) -> dict[str, Any]:
    """The body of incidents.json."""
    return {"page": PAGE, "incidents": list(incidents)}


def summary(
    *components: dict[str, Any],
    incidents: tuple[dict[str, Any], ...] = (),
    indicator: str = "none",
    description: str = "All Systems Operational",
) -> dict[str, Any]:
    """The body of summary.json."""
    return {
        "page": PAGE,
        "components": list(components),
        "incidents": list(incidents),
        "scheduled_maintenances": [],
        "status": {"indicator": indicator, "description": description},
    }


def serve(incidents_body: object, summary_body: object | None = None) -> LocalHTTPServer:
    """A status page serving these two documents."""
    return LocalHTTPServer(
        {
            INCIDENTS: json_answer(incidents_body),
            SUMMARY: json_answer(summary(GIT, ACTIONS) if summary_body is None else summary_body),
        }
    )


# ------------------------------------------------------------------ the protocol and windows


def test_implements_the_protocol_and_names_itself_after_the_host() -> None:
    """The source passes the run-time protocol check and has a default name."""
    source = StatuspageSource("https://www.githubstatus.com/", dependency="github")
    assert isinstance(source, DependencyStatusSource)
    assert source.name == "statuspage:www.githubstatus.com"
    assert source.dependency == "github"
    assert repr(source) == (
        "StatuspageSource('https://www.githubstatus.com', dependency='github', "
        "name='statuspage:www.githubstatus.com')"
    )


def test_window_overlap_rules() -> None:
    """Incidents under way at any time in [start, end] are kept, edges included."""
    body = feed(
        incident("after000001", "After the window", created=END.add(seconds=1)),
        incident("atend000001", "Starts at the end", created=END, resolved=END.add(hours=1)),
        incident(
            "open00000001",
            "Degraded Git operations",
            status="investigating",
            impact="major",
            created=START.subtract(hours=2),
            components=(GIT,),
        ),
        incident(
            "edge00000001",
            "Resolved at the start",
            created=START.subtract(hours=1),
            resolved=START,
        ),
        incident(
            "before000001",
            "Resolved before the window",
            created=START.subtract(hours=3),
            resolved=START.subtract(seconds=1),
        ),
    )
    with serve(body) as server:
        source = StatuspageSource(server.url, dependency="github")
        changes = source.incidents(START, END)
    assert [c.id for c in changes] == ["open00000001", "edge00000001", "atend000001"]
    by_id = {c.id: c for c in changes}
    assert by_id["open00000001"].finished is None  # unresolved: still under way
    assert by_id["edge00000001"].finished == START
    assert all(c.kind is ChangeKind.DEPENDENCY and c.service == "github" for c in changes)
    assert all(c.source == source.name for c in changes)
    assert server.paths() == [INCIDENTS, SUMMARY]
    assert server.requests[0].headers["accept"] == "application/json"


def test_fields_of_an_incident_change() -> None:
    """An incident's times, link, summary and attributes come from its record."""
    started = START.add(minutes=5)
    record = incident(
        "p6r8m0mst8yc",
        "Incident with Git Operations",
        status="resolved",
        impact="major",
        created=started.add(minutes=4),
        started=started,
        resolved=started.add(minutes=40),
        components=(GIT, ACTIONS),
        updates=(  # newest last here: the source must not trust the order
            ("investigating", started.add(minutes=4), "We are investigating reports."),
            ("resolved", started.add(minutes=40), "This incident has been   resolved.\n"),
            ("identified", started.add(minutes=20), "The cause was identified."),
        ),
        offset_hours=-6,  # the page's own time zone, as some pages send it
    )
    with serve(feed(record)) as server:
        (change,) = StatuspageSource(server.url, dependency="github").incidents(START, END)
    assert change.started == started
    assert change.started.tzinfo is not None
    assert change.finished == started.add(minutes=40)
    assert change.link == "https://stspg.io/p6r8m0ms"
    assert change.summary == "Incident with Git Operations (impact major, resolved)"
    assert change.attributes == {
        "impact": "major",
        "status": "resolved",
        "components": "Git Operations, Actions",
        "last_update": "This incident has been resolved.",
    }


def test_created_at_stands_in_for_a_missing_started_at_and_link() -> None:
    """Without started_at the incident starts at created_at; without shortlink the page links."""
    record = incident("nostart00001", "Old-style incident", created=START, omit_started=True)
    record["shortlink"] = None
    record["resolved_at"] = None  # resolved, but the field is empty: updated_at closes it
    record["updated_at"] = stamp(START.add(minutes=9))
    with serve(feed(record)) as server:
        (change,) = StatuspageSource(
            f"{server.url}/api/v2", dependency="github", degraded_components=False
        ).incidents(START, END)
    assert change.started == START
    assert change.finished == START.add(minutes=9)
    assert change.link == f"{server.url}/incidents/nostart00001"
    assert "last_update" not in change.attributes
    assert server.paths() == [INCIDENTS]  # no summary without degraded_components


def test_a_naive_or_reversed_window_is_refused() -> None:
    """The window must be aware and in order; nothing is requested otherwise."""
    with serve(feed()) as server:
        source = StatuspageSource(server.url, dependency="github")
        with pytest.raises(NaiveDatetimeError):
            source.incidents(dt.datetime(2026, 11, 20, 14, 0), END)  # noqa: DTZ001
        with pytest.raises(InvalidInputError, match="ends"):
            source.incidents(END, START)
    assert server.requests == []


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"dependency": " "}, "dependency"),
        ({"dependency": "github", "min_impact": "maintenance"}, "min_impact"),
        ({"dependency": "github", "min_impact": "severe"}, "min_impact"),
        ({"dependency": "github", "on_incomplete": "ignore"}, "on_incomplete"),
        ({"dependency": "github", "timeout": -1}, "timeout"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, Any], match: str) -> None:
    """Unusable constructor arguments raise InvalidInputError."""
    with pytest.raises(InvalidInputError, match=match):
        StatuspageSource("https://www.githubstatus.com", **kwargs)


def test_a_non_http_url_is_refused() -> None:
    """The page URL must be http(s)."""
    with pytest.raises(InvalidInputError, match="http"):
        StatuspageSource("ftp://status.example.com", dependency="x")


# ------------------------------------------------------------------ filters


def _impacts_feed() -> dict[str, Any]:
    return feed(
        *(
            incident(f"{impact:0<12}", f"A {impact} incident", impact=impact, created=START)
            for impact in ("none", "minor", "major", "critical", "maintenance", "galactic")
        )
    )


def test_every_impact_is_kept_by_default() -> None:
    """By default even an incident rated 'none' is evidence and is kept."""
    with serve(_impacts_feed()) as server:
        changes = StatuspageSource(server.url, dependency="github").incidents(START, END)
    assert sorted(c.attributes["impact"] for c in changes) == sorted(
        ["none", "minor", "major", "critical", "maintenance", "galactic"]
    )


@pytest.mark.parametrize(
    ("least", "kept"),
    [
        ("minor", {"minor", "major", "critical", "maintenance", "galactic"}),
        ("major", {"major", "critical", "galactic"}),
        ("critical", {"critical", "galactic"}),
    ],
)
def test_min_impact_filter(least: Any, kept: set[str]) -> None:
    """min_impact drops milder incidents; an impact it does not know is kept."""
    with serve(_impacts_feed()) as server:
        source = StatuspageSource(server.url, dependency="github", min_impact=least)
        changes = source.incidents(START, END)
    assert {c.attributes["impact"] for c in changes} == kept


def test_component_filter_by_name_or_id() -> None:
    """The components filter keeps incidents naming one (by name in any case, or id) or none."""
    body = feed(
        incident("git000000001", "Git is slow", created=START, components=(GIT,)),
        incident("pages0000001", "Pages builds fail", created=START, components=(PAGES,)),
        incident("unknown00001", "We are investigating", created=START),
    )
    with serve(body) as server:
        by_name = StatuspageSource(server.url, dependency="github", components=["git operations"])
        by_id = StatuspageSource(server.url, dependency="github", components=[PAGES["id"]])
        named = {c.id for c in by_name.incidents(START, END)}
        identified = {c.id for c in by_id.incidents(START, END)}
    assert named == {"git000000001", "unknown00001"}
    assert identified == {"pages0000001", "unknown00001"}


# ------------------------------------------------------------------ summary.json


def test_degraded_components_without_an_incident_become_changes() -> None:
    """A component in outage with no open incident is a dependency problem now."""
    outage_since = START.add(minutes=12)
    open_git = incident(
        "open00000002", "Git degraded", status="identified", created=START, components=(GIT,)
    )
    page = summary(
        component(GIT["id"], "Git Operations", "partial_outage"),  # covered by the incident
        component(ACTIONS["id"], "Actions", "major_outage", updated=outage_since),
        component(PAGES["id"], "Pages", "operational"),
        component("grp000000001", "Codespaces", "major_outage", group=True, components=[]),
        incidents=(open_git,),
        indicator="major",
        description="Partial System Outage",
    )
    with serve(feed(open_git), page) as server:
        source = StatuspageSource(server.url, dependency="github")
        changes = source.incidents(START, END)
        minor_up = StatuspageSource(server.url, dependency="github", min_impact="critical")
        only_critical = minor_up.incidents(START, END)
        before = source.incidents(START, outage_since.subtract(seconds=1))
    assert [c.id for c in changes] == ["open00000002", f"component:{ACTIONS['id']}"]
    outage = changes[1]
    assert outage.started == outage_since
    assert outage.finished is None
    assert outage.summary == "Actions: major outage (no incident posted)"
    assert outage.link == server.url
    assert outage.attributes == {
        "impact": "critical",
        "status": "major_outage",
        "components": "Actions",
    }
    assert [c.id for c in only_critical] == [f"component:{ACTIONS['id']}"]
    assert [c.id for c in before] == ["open00000002"]  # the outage began after that window


def test_an_unresolved_incident_older_than_the_feed_comes_from_the_summary() -> None:
    """summary.json's unresolved incidents are merged in, once."""
    old = incident(
        "ancient00001", "Long-running", status="monitoring", created=START.subtract(days=90)
    )
    recent = incident("recent000001", "Recent", created=START, resolved=START.add(minutes=5))
    with serve(feed(recent), summary(GIT, incidents=(old,))) as server:
        changes = StatuspageSource(server.url, dependency="github").incidents(START, END)
    assert [c.id for c in changes] == ["ancient00001", "recent000001"]


def test_summary_reports_the_page_state() -> None:
    """summary() returns the indicator, the degraded components and the open incidents."""
    open_one = incident("open00000003", "Actions delayed", status="investigating", created=START)
    page = summary(
        component(GIT["id"], "Git Operations"),
        component(ACTIONS["id"], "Actions", "degraded_performance", updated=START.add(minutes=3)),
        component("grp000000002", "Group", "major_outage", group=True),
        incidents=(open_one,),
        indicator="minor",
        description="Minor Service Outage",
    )
    with LocalHTTPServer({SUMMARY: json_answer(page)}) as server:
        state = StatuspageSource(server.url, dependency="github").summary()
        calm = StatusSummary("p", "none", "All Systems Operational", (), (), T)
    assert state == StatusSummary(
        page="GitHub",
        indicator="minor",
        description="Minor Service Outage",
        degraded=(
            ComponentStatus(ACTIONS["id"], "Actions", "degraded_performance", START.add(minutes=3)),
        ),
        unresolved=("open00000003",),
        updated_at=pendulum.datetime(2026, 11, 20, 14, 31, 2, 137000, tz="UTC"),
    )
    assert not state.operational
    assert calm.operational


# ------------------------------------------------------------------ the 50-incident feed


def _full_feed(oldest: pendulum.DateTime) -> dict[str, Any]:
    """Fifty resolved incidents, one an hour, the oldest at ``oldest``."""
    return feed(
        *(
            incident(
                f"inc{n:09d}",
                f"Incident {n}",
                created=oldest.add(hours=n),
                resolved=oldest.add(hours=n, minutes=30),
            )
            for n in reversed(range(50))
        )
    )


def test_a_window_older_than_the_feed_raises_when_asked() -> None:
    """When fifty incidents do not reach back to the window's start, that is a gap."""
    oldest = START.add(minutes=10)
    with serve(_full_feed(oldest)) as server:
        source = StatuspageSource(server.url, dependency="github", on_incomplete="raise")
        with pytest.raises(SourceRequestError) as info:
            source.incidents(START, END)
    message = str(info.value)
    assert "50 most recent" in message
    assert str(oldest) in message
    assert "on_incomplete='partial'" in message
    assert info.value.source == source.name


def test_a_partial_answer_by_default_keeps_what_the_feed_has_and_says_what_is_missing() -> None:
    """By default the answer is a PartialChanges: the incidents read, and the gap in words."""
    oldest = START.add(minutes=10)
    with serve(_full_feed(oldest)) as server:
        source = StatuspageSource(server.url, dependency="github")
        changes = source.incidents(START, END)
        later = source.incidents(oldest, oldest.add(minutes=5))
    assert isinstance(changes, PartialChanges)
    assert [c.id for c in changes] == ["inc000000000"]
    assert "50 most recent" in changes.gap
    assert str(oldest) in changes.gap
    assert "not known" in changes.gap
    assert not changes.gap.startswith(source.name)  # the protocol names the source
    assert [c.id for c in later] == ["inc000000000"]
    assert not isinstance(later, PartialChanges)  # the feed covers that window: no gap


def test_a_short_feed_is_the_whole_history() -> None:
    """Fewer than fifty incidents is the page's whole history: no gap, however old the window."""
    body = feed(incident("only00000001", "Once", created=START, resolved=START.add(minutes=1)))
    with serve(body) as server:
        source = StatuspageSource(server.url, dependency="github")
        changes = source.incidents(START.subtract(days=400), END)
    assert [c.id for c in changes] == ["only00000001"]
    assert not isinstance(changes, PartialChanges)


# ------------------------------------------------------------------ malformed answers


def _with(record: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {**record, **fields}


BASE = incident("base00000001", "Base", created=START, components=(GIT,))


@pytest.mark.parametrize(
    ("incidents_body", "summary_body", "field"),
    [
        ([BASE], None, "incidents.json"),
        ({"page": PAGE}, None, "incidents.json.incidents is missing"),
        ({"incidents": {"0": BASE}}, None, "incidents.json.incidents is dict"),
        (feed("not an incident"), None, "incidents[0] is str"),
        (feed(_with(BASE, id=None)), None, "incidents[0].id"),
        (feed(_with(BASE, created_at="yesterday")), None, "incidents[0].created_at"),
        (feed(_with(BASE, started_at="2026-11-20T14:00:00")), None, "incidents[0].started_at"),
        (feed(_with(BASE, status=7)), None, "incidents[0].status"),
        (feed(_with(BASE, shortlink=42)), None, "incidents[0].shortlink"),
        (feed(_with(BASE, components="Git")), None, "incidents[0].components is str"),
        (feed(_with(BASE, components=[{"id": "x"}])), None, "incidents[0].components[0].name"),
        (
            feed(_with(BASE, incident_updates=[{"body": "x"}])),
            None,
            "incidents[0].incident_updates[0].created_at",
        ),
        (feed(BASE), {"page": PAGE, "incidents": []}, "summary.json.components is missing"),
        (feed(BASE), summary(_with(GIT, updated_at=None)), "components[0].updated_at"),
    ],
)
def test_malformed_answers_name_the_field(
    incidents_body: object, summary_body: object, field: str
) -> None:
    """An answer of the wrong shape is a MalformedResponseError that names the field."""
    with serve(incidents_body, summary_body) as server:
        source = StatuspageSource(server.url, dependency="github")
        with pytest.raises(MalformedResponseError) as info:
            source.incidents(START, END)
    assert field in str(info.value)
    assert info.value.source == source.name


def test_an_incident_resolved_before_it_started_is_malformed() -> None:
    """Inconsistent times are the page's error, named by incident."""
    record = incident(
        "twisted00001", "Twisted", created=START, started=START, resolved=START.subtract(hours=1)
    )
    with (
        serve(feed(record)) as server,
        pytest.raises(MalformedResponseError, match="twisted00001"),
    ):
        StatuspageSource(server.url, dependency="github").incidents(START, END)


def test_a_malformed_summary_names_the_field() -> None:
    """summary() checks the page and status objects too."""
    broken = summary(GIT)
    broken["status"] = {"indicator": "none"}
    with (
        LocalHTTPServer({SUMMARY: json_answer(broken)}) as server,
        pytest.raises(MalformedResponseError, match=r"summary\.json: status\.description"),
    ):
        StatuspageSource(server.url, dependency="github").summary()
    del broken["page"]
    with (
        LocalHTTPServer({SUMMARY: json_answer(broken)}) as server,
        pytest.raises(MalformedResponseError, match=r"summary\.json\.page is missing"),
    ):
        StatuspageSource(server.url, dependency="github").summary()


def test_a_login_page_instead_of_json_is_malformed() -> None:
    """HTML where JSON was expected (a proxy, a login page) is a MalformedResponseError."""
    page = "<!DOCTYPE html><title>Sign in</title>"
    with (
        LocalHTTPServer({INCIDENTS: (200, {"Content-Type": "text/html"}, page)}) as server,
        pytest.raises(MalformedResponseError, match="not JSON"),
    ):
        StatuspageSource(server.url, dependency="github").incidents(START, END)


# ------------------------------------------------------------------ failures of the page


def test_a_server_error_is_unavailable() -> None:
    """HTTP 500 from the page is a SourceUnavailableError."""
    with LocalHTTPServer({INCIDENTS: json_answer({"error": "boom"}, status=500)}) as server:
        source = StatuspageSource(server.url, dependency="github")
        with pytest.raises(SourceUnavailableError, match="HTTP 500") as info:
            source.incidents(START, END)
    assert info.value.source == source.name


def test_a_page_that_never_answers_times_out() -> None:
    """No answer within the timeout is a SourceTimeoutError."""
    with LocalHTTPServer({INCIDENTS: HANG}) as server:
        source = StatuspageSource(server.url, dependency="github", timeout=0.3)
        with pytest.raises(SourceTimeoutError):
            source.incidents(START, END)


def test_a_page_nobody_serves_is_unavailable() -> None:
    """Connection refused is a SourceUnavailableError."""
    source = StatuspageSource(f"http://127.0.0.1:{closed_port()}", dependency="github")
    with pytest.raises(SourceUnavailableError, match="nothing listens"):
        source.incidents(START, END)


def test_extra_headers_are_sent_but_never_shown() -> None:
    """A secret header for a private page is sent, and kept out of repr and errors."""
    secret = "Bearer private-page-secret-123"  # noqa: S105 - a fake credential
    with LocalHTTPServer({INCIDENTS: json_answer({"who": secret}, status=401)}) as server:
        source = StatuspageSource(
            server.url, dependency="acme", headers={"Authorization": secret}, name="acme-status"
        )
        with pytest.raises(SourceAuthError) as info:
            source.incidents(START, END)
    assert server.requests[0].headers["authorization"] == secret
    assert "private-page-secret-123" not in str(info.value)
    assert "private-page-secret-123" not in repr(source)


# ------------------------------------------------------------------ in an incident


def test_gather_changes_with_a_live_status_page_and_a_dead_github(tmp_path) -> None:
    """The vendor incident is gathered; the dead GitHub source becomes a monitoring gap."""
    world = World(tmp_path)
    vendor = incident(
        "vendor000001",
        "Increased error rates for webhooks",
        status="monitoring",
        impact="major",
        created=SYMPTOM_START.subtract(minutes=3),
        components=(GIT,),
    )
    with serve(feed(vendor), summary(GIT, incidents=(vendor,))) as server:
        status_page = StatuspageSource(server.url, dependency="github", name="githubstatus")
        dead = GitHubDeploymentSource(
            "acme/checkout", api_url=f"http://127.0.0.1:{closed_port()}", token="", timeout=2
        )
        assessed = world.assess(world.declare()).gather_changes(
            actor="bob", deploys=[dead], dependencies=[status_page]
        )
    (change,) = assessed.changes
    assert change.id == "vendor000001"
    assert change.kind is ChangeKind.DEPENDENCY
    assert change.source == "githubstatus"
    gaps = [f for f in assessed.findings if f.kind is FindingKind.MONITORING_GAP]
    assert len(gaps) == 1
    assert "github:acme/checkout" in gaps[0].detail + gaps[0].summary
    assert "nothing listens" in gaps[0].detail + gaps[0].summary


def test_null_components_and_updates_are_empty() -> None:
    """Null components and incident_updates mean no components and no last update."""
    record = incident("nulls0000001", "Nulls", created=START)
    record["components"] = None
    record["incident_updates"] = None
    with serve(feed(record)) as server:
        source = StatuspageSource(server.url, dependency="github", components=["Actions"])
        (change,) = source.incidents(START, END)
    assert change.attributes == {"impact": "minor", "status": "resolved", "components": ""}
