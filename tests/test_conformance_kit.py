"""The conformance kit: it passes the in-memory adapters and flags each rule an adapter breaks.

The adapters under test here stand in for real ones: they hold a token, read
API-shaped records (ISO 8601 text, Unix seconds, values as strings) and can be
built "dead", the way a real adapter pointed at a dead endpoint is. Each
defective variant breaks exactly one rule, and the kit must flag exactly the
check for that rule.
"""

# The fake adapters implement protocol methods: they ignore some arguments, and their
# methods are documented by the protocols they implement.
# ruff: noqa: D102, D105, ARG002

from __future__ import annotations

import datetime as dt
import os
import pathlib
import threading
import time
from array import array
from collections.abc import Sequence
from typing import ClassVar

import attrs
import pendulum
import pytest

from incidentkit import (
    Change,
    ChangeKind,
    IncidentkitError,
    InvalidInputError,
    MalformedResponseError,
    MetricQuery,
    RollbackFailedError,
    RollbackOption,
    RollbackResult,
    Sample,
    Series,
    SourceRequestError,
    SourceUnavailableError,
    parse_instant,
    to_instant,
)
from incidentkit.memory import (
    InMemoryRollbackExecutor,
    load_dataset,
)
from incidentkit.testing import (
    Check,
    CheckStatus,
    ConformanceError,
    ConformanceReport,
    check_change_source,
    check_dependency_source,
    check_deploy_source,
    check_metric_source,
    check_rollback_executor,
)

TOKEN = "kit-token-5f0c2e91"  # noqa: S105 - a fake credential the adapters must never show
DATASET = load_dataset(
    pathlib.Path(__file__).resolve().parent.parent / "examples" / "data" / "checkout_outage.json"
)
DAY = pendulum.datetime(2026, 11, 20, tz="UTC")


def failures(report: ConformanceReport) -> set[str]:
    """Return the names of the checks that failed."""
    return {check.name for check in report.failures}


# --------------------------------------------------------------------------- a dead endpoint


class Unreachable:
    """Every protocol method raises SourceUnavailableError, like an adapter on a dead endpoint."""

    def __init__(self, name: str) -> None:
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def _fail(self, *_args, **_kwargs):
        msg = f"{self._name}: cannot reach http://127.0.0.1:9 (connection refused); is it up?"
        raise SourceUnavailableError(msg, source=self._name)

    deploys = changes = incidents = query_range = _fail
    options = current_version = dry_run = execute = _fail


# --------------------------------------------------------------------------- the in-memory adapters


WINDOW = (DAY.add(hours=9), DAY.add(hours=15))


@pytest.mark.parametrize(
    ("check", "make", "name"),
    [
        (check_deploy_source, DATASET.deploy_source, "spinnaker"),
        (check_change_source, DATASET.change_source, "terraform"),
        (check_dependency_source, DATASET.dependency_source, "statuspage"),
    ],
    ids=["deploys", "infrastructure", "dependencies"],
)
def test_in_memory_change_sources_pass_every_check(check, make, name):
    """Each in-memory change source passes every check, errors and secrets included."""
    report = check(make, window=WINDOW, secrets=[TOKEN], broken=lambda: Unreachable(name))
    report.raise_for_failures()
    assert report.adapter == name
    assert report.names == (
        "protocol",
        "answer",
        "time_zones",
        "window",
        "errors",
        "deadline",
        "secrets",
        "incident",
    )
    assert all(c.passed for c in report.checks), str(report)
    assert "narrower windows leave out" in report["window"].detail


def test_in_memory_metric_source_passes_every_check():
    """The in-memory metric source passes every check; the failed scrape at 12:47 is a gap."""
    failed_scrape = DAY.add(hours=12, minutes=47)
    report = check_metric_source(
        DATASET.metric_source,
        query=DATASET.scenario["error_query"],
        window=(DAY.add(hours=12), DAY.add(hours=15)),
        step=60,
        gap=(failed_scrape, failed_scrape),
        secrets=[TOKEN],
        broken=lambda: Unreachable("prometheus"),
    )
    assert report.passed, str(report)
    assert report.protocol == "MetricSource"
    assert all(c.passed for c in report.checks), str(report)
    assert "gaps" in report.names


def test_in_memory_metric_source_without_a_gap_skips_only_the_gap_check():
    """Without a gap window, the gaps check is skipped with the reason, and so are the extras."""
    report = check_metric_source(
        DATASET.metric_source,
        query=DATASET.scenario["traffic_query"],
        window=(DAY.add(hours=12), DAY.add(hours=15)),
        step=60,
    )
    assert report.passed
    assert {c.name for c in report.skipped} == {"gaps", "errors", "secrets"}
    assert "pass gap=(start, end)" in report["gaps"].detail
    assert "no broken adapter given" in report["incident"].detail


def test_in_memory_rollback_executor_passes_every_check():
    """The in-memory executor passes every check, and the kit never executes a rollback."""
    executors: list[InMemoryRollbackExecutor] = []

    def make():
        executors.append(DATASET.rollback_executor())
        return executors[-1]

    change = next(c for c in DATASET.changes if c.id == "deploy-4812")
    report = check_rollback_executor(
        make,
        change=change,
        secrets=[TOKEN],
        broken=lambda: Unreachable("spinnaker-rollback"),
    )
    assert all(c.passed for c in report.checks), str(report)
    assert report.names == (
        "protocol",
        "answer",
        "dry_run",
        "forged_options",
        "errors",
        "deadline",
        "secrets",
        "incident",
    )
    assert "were refused (14 by InvalidInputError, 2 by a failed result)" in (
        report["forged_options"].detail
    )
    assert len(executors) > 3  # every check builds its own
    assert all(e.executed == [] for e in executors)
    assert all(e.live_versions == DATASET.live_versions for e in executors)


def test_an_executor_without_dry_runs_skips_the_dry_run_check():
    """An executor that cannot rehearse skips the dry-run check, with the reason."""
    change = next(c for c in DATASET.changes if c.id == "deploy-4812")
    report = check_rollback_executor(
        lambda: InMemoryRollbackExecutor(
            live_versions={"checkout": "v2.14.0"}, supports_dry_run=False
        ),
        change=change,
    )
    assert report.passed
    assert report["dry_run"].skipped
    assert "no option supports a dry run" in report["dry_run"].detail
    assert report["forged_options"].skipped
    assert "the kit never calls execute()" in report["forged_options"].detail


# --------------------------------------------------------------------- an API-shaped deploy source


RECORDS = [
    {
        "id": 1,
        "app": "checkout",
        "started": "2026-11-20T09:30:00Z",
        "finished": "2026-11-20T09:33:00Z",
    },
    {
        "id": 2,
        "app": "search",
        "started": "2026-11-20T13:55:00Z",
        "finished": "2026-11-20T13:58:00Z",
    },
    {
        "id": 3,
        "app": "checkout",
        "started": "2026-11-20T14:02:00Z",
        "finished": "2026-11-20T14:05:00Z",
    },
    {"id": 4, "app": "payments", "started": "2026-11-20T14:20:00Z", "finished": None},
    {
        "id": 5,
        "app": "checkout",
        "started": "2026-11-20T18:00:00Z",
        "finished": "2026-11-20T18:04:00Z",
    },
]
DEPLOY_WINDOW = (DAY.add(hours=13), DAY.add(hours=15))


class ApiDeploySource:
    """A deploy source over a CD system's API (the records), with a token and a dead mode."""

    url = "http://127.0.0.1:9/api/deploys"

    def __init__(self, *, token: str, dead: bool = False, name: str = "acme-deploys") -> None:
        self._token = token
        self._dead = dead
        self._name = name

    @property
    def name(self):
        return self._name

    def __repr__(self) -> str:
        return f"ApiDeploySource(name={self._name!r}, url={self.url!r})"

    def _unreachable(self) -> None:
        msg = (
            f"cannot reach {self.url}: connection refused; check the URL and that the CD API is up"
        )
        raise SourceUnavailableError(msg, source=self._name)

    def _fetch(self, start: float, end: float) -> list[dict]:
        """The API: deploys under way between two Unix times."""
        if self._dead:
            self._unreachable()
        return [r for r in RECORDS if self._overlap(r, start, end)]

    @staticmethod
    def _overlap(record: dict, start: float, end: float) -> bool:
        began = parse_instant(record["started"]).timestamp()
        ended = record["finished"] and parse_instant(record["finished"]).timestamp()
        return began <= end and (ended is None or ended >= start)

    def _instant(self, text: str | None) -> dt.datetime | None:
        return None if text is None else parse_instant(text)

    def _change(self, record: dict) -> Change:
        return Change(
            id=f"deploy-{record['id']}",
            kind=ChangeKind.DEPLOY,
            service=record["app"],
            started=self._instant(record["started"]),
            finished=self._instant(record["finished"]),
            summary=f"{record['app']} deploy {record['id']}",
            link=f"https://cd.example/deploys/{record['id']}",
            source=self._name,
        )

    def _window(self, start, end) -> tuple[float, float]:
        return to_instant(start).timestamp(), to_instant(end).timestamp()

    def deploys(self, start, end, *, services: Sequence[str] | None = None) -> list[Change]:
        first, last = self._window(start, end)
        changes = [self._change(r) for r in self._fetch(first, last)]
        return [c for c in changes if services is None or c.service in services]


def check_api_deploys(cls, **kwargs) -> ConformanceReport:
    """Run the deploy-source checks on ``cls``, with a dead twin and the token as the secret."""
    kwargs.setdefault("deadline", 5.0)
    return check_deploy_source(
        lambda: cls(token=TOKEN),
        window=DEPLOY_WINDOW,
        secrets=[TOKEN],
        broken=lambda: cls(token=TOKEN, dead=True),
        **kwargs,
    )


def test_the_api_deploy_source_passes():
    """The well-behaved API deploy source passes every check."""
    report = check_api_deploys(ApiDeploySource)
    assert all(c.passed for c in report.checks), str(report)
    assert "connection refused" in report["errors"].detail


class NaiveTimes(ApiDeploySource):
    """Reads the API's timestamps without their offset: naive datetimes."""

    def _instant(self, text):
        return None if text is None else dt.datetime.fromisoformat(text.removesuffix("Z"))


class IgnoresWindow(ApiDeploySource):
    """Asks the API for everything, whatever the window."""

    def _window(self, start, end):
        return 0.0, 4e9


class WallClock(ApiDeploySource):
    """Reads the window's wall-clock time as UTC: a window in another zone shifts."""

    def _window(self, start, end):
        def wall(at):
            return dt.datetime(*at.timetuple()[:6], tzinfo=dt.timezone.utc).timestamp()

        return wall(start), wall(end)


class KeyErrorWhenDead(ApiDeploySource):
    """Lets a KeyError out when the API answers an error body."""

    def _unreachable(self):
        body = {"error": "connection refused"}
        return body["data"]


class AnswersWhenDead(ApiDeploySource):
    """Answers nothing instead of failing."""

    def _unreachable(self):
        return []


class WrongSourceWhenDead(ApiDeploySource):
    """Raises a SourceError that names another source."""

    def _unreachable(self):
        raise SourceUnavailableError("cannot reach the CD API", source="http")


class EmptyMessageWhenDead(ApiDeploySource):
    """Raises a SourceError without a message."""

    def _unreachable(self):
        raise SourceUnavailableError("", source=self._name)


RELEASE = threading.Event()


class HangsWhenDead(ApiDeploySource):
    """Waits forever on a dead endpoint (no timeout)."""

    def _unreachable(self):
        RELEASE.wait(10)
        super()._unreachable()


class TokenInRepr(ApiDeploySource):
    """Shows its token in repr()."""

    def __repr__(self):
        return f"TokenInRepr(token={self._token!r})"


class TokenInError(ApiDeploySource):
    """Puts its token in the failing URL of its error message."""

    def _unreachable(self):
        msg = f"cannot reach {self.url}?token={self._token}: connection refused"
        raise SourceUnavailableError(msg, source=self._name)


class TokenInSummary(ApiDeploySource):
    """Writes its token into each change's summary."""

    def _change(self, record):
        return attrs.evolve(super()._change(record), summary=f"fetched with {self._token}")


class TokenInLink(ApiDeploySource):
    """Links each change with its token in the URL."""

    def _change(self, record):
        change = super()._change(record)
        return attrs.evolve(change, link=f"{change.link}?access_token={self._token}")


class TupleName(ApiDeploySource):
    """Its name is a tuple (``self._name = "acme",``, a stray comma)."""

    @property
    def name(self):
        return (self._name,)


class UnstableName(ApiDeploySource):
    """Its name changes at each read."""

    reads = 0

    @property
    def name(self):
        UnstableName.reads += 1
        return f"{self._name}-{UnstableName.reads}"


class FailingName(ApiDeploySource):
    """Reading its name does I/O, and fails."""

    @property
    def name(self):
        raise SourceUnavailableError("name lookup failed", source="acme")


class NoMethod:
    """Has a name but no deploys method."""

    def __init__(self, *, token, dead=False):
        self.name = "acme-deploys"


class IgnoresServices(ApiDeploySource):
    """Ignores the services filter."""

    def deploys(self, start, end, *, services=None):
        return super().deploys(start, end)


class WrongKind(ApiDeploySource):
    """Reports its deploys as infrastructure changes."""

    def _change(self, record):
        return attrs.evolve(super()._change(record), kind=ChangeKind.INFRASTRUCTURE)


class DictsNotChanges(ApiDeploySource):
    """Returns the API's records as they came."""

    def deploys(self, start, end, *, services=None):
        return self._fetch(*self._window(start, end))


class NothingInWindow(ApiDeploySource):
    """Knows of no deploys at all."""

    def _fetch(self, start, end):
        super()._fetch(start, end)
        return []


class FailsWorking(ApiDeploySource):
    """Fails even when working: a parsing bug."""

    def _change(self, record):
        raise MalformedResponseError(f"unexpected record {record['id']}", source=self._name)


class NaiveReadAsLocal(ApiDeploySource):
    """Accepts naive datetimes and reads them in the machine's zone (datetime.timestamp)."""

    def _window(self, start, end):
        return start.timestamp(), end.timestamp()


@pytest.mark.parametrize(
    ("cls", "flagged"),
    [
        (NaiveTimes, "time_zones"),
        (WallClock, "time_zones"),
        (IgnoresWindow, "window"),
        (IgnoresServices, "window"),
        (KeyErrorWhenDead, "errors"),
        (AnswersWhenDead, "errors"),
        (WrongSourceWhenDead, "errors"),
        (EmptyMessageWhenDead, "errors"),
        (TokenInRepr, "secrets"),
        (TokenInError, "secrets"),
        (TokenInSummary, "secrets"),
        (TokenInLink, "secrets"),
        (TupleName, "protocol"),
        (UnstableName, "protocol"),
        (FailingName, "protocol"),
        (NoMethod, "protocol"),
        (WrongKind, "answer"),
        (DictsNotChanges, "answer"),
        (NothingInWindow, "answer"),
        (FailsWorking, "answer"),
    ],
    ids=lambda value: value if isinstance(value, str) else value.__name__,
)
def test_each_defect_fails_exactly_its_check(cls, flagged):
    """A deploy source that breaks one rule fails that rule's check and no other."""
    report = check_api_deploys(cls)
    assert failures(report) == {flagged}, str(report)
    assert not report.passed
    assert TOKEN not in str(report)
    with pytest.raises(ConformanceError, match=flagged):
        report.raise_for_failures()


def test_a_naive_datetime_answer_explains_the_fix():
    """A change built from naive timestamps points the author at parse_instant."""
    detail = check_api_deploys(NaiveTimes)["time_zones"].detail
    assert "NaiveDatetimeError" in detail
    assert "parse_instant" in detail


def test_a_wall_clock_adapter_is_caught_by_the_other_zones():
    """Reading the wall-clock time as UTC gives another answer for the window in +05:30."""
    report = check_api_deploys(WallClock)
    detail = report["time_zones"].detail
    assert "Asia/Kolkata (UTC+05:30)" in detail
    assert "drops the offset" in detail
    assert report["answer"].passed  # in UTC it answers right


def test_an_adapter_that_ignores_the_window_is_shown_what_it_returned():
    """The window check names the changes outside the window."""
    detail = check_api_deploys(IgnoresWindow)["window"].detail
    assert "deploy-1" in detail
    assert "change.overlaps(start, end)" in detail


def test_leaks_are_located_and_the_token_is_never_printed():
    """The secrets check says where the token appears, and the report hides it."""
    report = check_api_deploys(TokenInSummary)
    detail = report["secrets"].detail
    assert "<secret #1>" in detail
    assert "the journal of the adapter's incident" in detail
    assert "the answers of 6 calls (first: deploys(start, end))" in detail
    assert TOKEN not in detail
    error = check_api_deploys(TokenInError)
    assert (
        "the error raised by deploys(start, end) on the broken adapter" in error["secrets"].detail
    )
    assert TOKEN not in str(error)
    assert "<secret #1>" in error["errors"].detail  # the message is quoted, redacted


def test_a_hanging_adapter_fails_the_deadline_check_only():
    """An adapter that hangs on a dead endpoint fails the deadline check, quickly."""
    RELEASE.clear()
    began = time.monotonic()
    try:
        report = check_api_deploys(HangsWhenDead, deadline=0.3)
    finally:
        RELEASE.set()
    assert time.monotonic() - began < 5
    assert failures(report) == {"deadline"}, str(report)
    assert "did not return within 0.3 s" in report["deadline"].detail
    assert report["errors"].skipped
    assert "hangs" in report["incident"].detail


def test_a_hanging_working_adapter_skips_what_needs_its_answer():
    """An adapter that hangs even when working fails the deadline; the rest is skipped."""

    class Hangs(ApiDeploySource):
        def _fetch(self, start, end):
            if not self._dead:
                RELEASE.wait(10)
            return super()._fetch(start, end)

    RELEASE.clear()
    try:
        report = check_api_deploys(Hangs, deadline=0.2)
    finally:
        RELEASE.set()
    assert failures(report) == {"deadline"}, str(report)
    assert {c.name for c in report.skipped} >= {"answer", "time_zones", "window"}
    assert "see deadline" in report["answer"].detail


@pytest.fixture
def kolkata_local_time():
    """Run the test with the machine's local zone set to Asia/Kolkata."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Kolkata"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.mark.usefixtures("kolkata_local_time")
def test_naive_input_read_as_local_time_fails_where_local_is_not_utc():
    """An adapter that reads a naive datetime as local time fails the time-zone check."""
    report = check_api_deploys(NaiveReadAsLocal)
    assert failures(report) == {"time_zones"}, str(report)
    assert "naive datetimes" in report["time_zones"].detail
    assert "NaiveDatetimeError" in report["time_zones"].detail


def test_naive_input_read_as_utc_is_accepted_with_a_note():
    """Accepting naive input is allowed when it is read as UTC; the detail says so."""

    class NaiveAsUtc(ApiDeploySource):
        def _window(self, start, end):
            def utc(at):
                return (at if at.tzinfo else at.replace(tzinfo=dt.timezone.utc)).timestamp()

            return utc(start), utc(end)

    report = check_api_deploys(NaiveAsUtc)
    assert report["time_zones"].passed
    assert "accepted and read as UTC" in report["time_zones"].detail


def test_the_services_filter_uses_the_services_given():
    """The services given are the ones the filter is tried with."""
    report = check_api_deploys(ApiDeploySource, services=["checkout", "payments"])
    assert report.passed
    bad = check_api_deploys(IgnoresServices, services=["payments"])
    assert "services=['payments']" in bad["window"].detail


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_base_exception_from_the_broken_adapter_fails_the_errors_check():
    """A BaseException is not a SourceError; the incident's gathering thread survives it."""

    class Interrupt(BaseException):
        pass

    class RaisesBaseException(ApiDeploySource):
        def _unreachable(self):
            raise Interrupt

    report = check_api_deploys(RaisesBaseException)
    assert failures(report) == {"errors"}, str(report)
    assert "raised Interrupt, not a SourceError" in report["errors"].detail


def test_an_adapter_that_is_only_sometimes_broken_fails_the_incident_check():
    """A broken adapter that answers in the incident makes it trust the answer."""
    built = []

    def broken():
        built.append(None)
        return ApiDeploySource(token=TOKEN, dead=len(built) == 1)

    report = check_deploy_source(
        lambda: ApiDeploySource(token=TOKEN), window=DEPLOY_WINDOW, broken=broken
    )
    assert failures(report) == {"incident"}, str(report)
    assert "recorded no monitoring gap" in report["incident"].detail


def test_the_working_adapter_must_not_leave_a_gap_in_the_incident():
    """An adapter whose answer only the incident's window breaks fails the incident check."""

    class FailsLongWindows(ApiDeploySource):
        def deploys(self, start, end, *, services=None):
            if end - start >= dt.timedelta(hours=2):
                msg = "window too long"
                raise MalformedResponseError(msg, source=self._name)
            return super().deploys(start, end, services=services)

    report = check_deploy_source(
        lambda: FailsLongWindows(token=TOKEN),
        window=(DAY.add(hours=13), DAY.add(hours=14, minutes=30)),
    )
    assert report["incident"].passed, str(report)
    long_window = check_deploy_source(lambda: FailsLongWindows(token=TOKEN), window=DEPLOY_WINDOW)
    assert failures(long_window) == {"answer"}  # the kit's own call fails first


def test_a_source_that_misses_changes_in_the_incident_is_flagged():
    """The incident must gather what the adapter answered for the same window."""

    class ForgetsInIncidents(ApiDeploySource):
        calls = 0

        def deploys(self, start, end, *, services=None):
            found = super().deploys(start, end, services=services)
            if start == DEPLOY_WINDOW[0] and end == DEPLOY_WINDOW[1] and services is None:
                ForgetsInIncidents.calls += 1
                if ForgetsInIncidents.calls > 2:  # the answer and time-zone checks come first
                    return found[:1]
            return found

    report = check_deploy_source(lambda: ForgetsInIncidents(token=TOKEN), window=DEPLOY_WINDOW)
    assert "incident" in failures(report), str(report)
    assert "did not gather" in report["incident"].detail


# --------------------------------------------------------------------- an API-shaped metric source


STEP = 60
METRIC_START = DAY.add(hours=14)
GAP = (METRIC_START.add(minutes=10), METRIC_START.add(minutes=14))
# 30 one-minute samples as Prometheus sends them; minutes 10 to 14 have none; minute 20 is NaN.
SAMPLES = [
    (METRIC_START.add(minutes=m).timestamp(), "NaN" if m == 20 else f"{0.002 + m / 1000:.4f}")
    for m in range(30)
    if not 10 <= m <= 14
]
METRIC_WINDOW = (METRIC_START, METRIC_START.add(minutes=29))
QUERY = "job:errors:ratio_rate5m"


class ApiMetricSource:
    """A metric source over a Prometheus-like API, with a token and a dead mode."""

    def __init__(self, *, token: str, dead: bool = False) -> None:
        self._token = token
        self._dead = dead

    @property
    def name(self) -> str:
        return "acme-metrics"

    def __repr__(self) -> str:
        return "ApiMetricSource(name='acme-metrics')"

    def _fetch(self, start: float, end: float) -> list[tuple[float, str]]:
        if self._dead:
            msg = "cannot reach http://127.0.0.1:9/api/v1/query_range: connection refused"
            raise SourceUnavailableError(msg, source=self.name)
        return [(at, value) for at, value in SAMPLES if start <= at <= end]

    def _asked(self, query, start, end, step) -> MetricQuery:
        return MetricQuery(self.name, query, start, end, step, "ratio")

    def _series(self, asked: MetricQuery, pairs) -> Series:
        return Series.from_pairs(asked, pairs)

    def query_range(self, query, start, end, step) -> Series:
        first, last = to_instant(start), to_instant(end)
        asked = self._asked(query, first, last, step)
        return self._series(asked, self._fetch(first.timestamp(), last.timestamp()))


def check_api_metrics(cls, **kwargs) -> ConformanceReport:
    """Run the metric-source checks on ``cls``, with a dead twin and the token as the secret."""
    return check_metric_source(
        lambda: cls(token=TOKEN),
        query=QUERY,
        window=METRIC_WINDOW,
        step=STEP,
        gap=GAP,
        secrets=[TOKEN],
        broken=lambda: cls(token=TOKEN, dead=True),
        deadline=5.0,
        **kwargs,
    )


def test_the_api_metric_source_passes():
    """The well-behaved API metric source passes every check."""
    report = check_api_metrics(ApiMetricSource)
    assert all(c.passed for c in report.checks), str(report)


class ZerosForGaps(ApiMetricSource):
    """Fills every missing step with 0."""

    def _series(self, asked, pairs):
        have = dict(pairs)
        at = asked.start.timestamp()
        filled = []
        while at <= asked.end.timestamp():
            filled.append((at, have.get(at, 0.0)))
            at += asked.step
        return Series.from_pairs(asked, filled)


class ForwardFills(ApiMetricSource):
    """Repeats the last value over a missing step."""

    def _series(self, asked, pairs):
        have = dict(pairs)
        at = asked.start.timestamp()
        filled, last = [], None
        while at <= asked.end.timestamp():
            last = have.get(at, last)
            filled.append((at, last))
            at += asked.step
        return Series.from_pairs(asked, filled)


class NaNSamples(ApiMetricSource):
    """Builds samples with float(value): a NaN sample fails to build."""

    def _series(self, asked, pairs):
        return Series(asked, tuple(Sample(at, float(value)) for at, value in pairs))


class RecordsWidenedWindow(ApiMetricSource):
    """Records the window widened by a 5-minute lookback instead of what was asked."""

    def _asked(self, query, start, end, step):
        return MetricQuery(self.name, query, start.subtract(minutes=5), end, step, "ratio")


class MetricIgnoresWindow(ApiMetricSource):
    """Returns every sample it has, whatever the window."""

    def _fetch(self, start, end):
        return super()._fetch(0.0, 4e9)


class MetricWallClock(ApiMetricSource):
    """Reads the window's wall-clock time as UTC."""

    def query_range(self, query, start, end, step):
        def wall(at):
            return pendulum.datetime(*at.timetuple()[:6], tz="UTC")

        first, last = wall(start), wall(end)
        asked = self._asked(query, first, last, step)
        return self._series(asked, self._fetch(first.timestamp(), last.timestamp()))


class RaisesOnEmpty(ApiMetricSource):
    """Treats a window without samples as an error."""

    def _series(self, asked, pairs):
        if not pairs:
            msg = "no data"
            raise MalformedResponseError(msg, source=self.name)
        return super()._series(asked, pairs)


@pytest.mark.parametrize(
    ("cls", "flagged"),
    [
        (ZerosForGaps, "gaps"),
        (ForwardFills, "gaps"),
        (NaNSamples, "gaps"),
        (RaisesOnEmpty, "gaps"),
        (RecordsWidenedWindow, "answer"),
        (MetricIgnoresWindow, "window"),
        (MetricWallClock, "time_zones"),
    ],
    ids=lambda value: value if isinstance(value, str) else value.__name__,
)
def test_each_metric_defect_fails_exactly_its_check(cls, flagged):
    """A metric source that breaks one rule fails that rule's check and no other."""
    report = check_api_metrics(cls)
    assert failures(report) == {flagged}, str(report)


def test_zeros_and_filled_values_are_told_apart():
    """Zeros in a gap and other values in a gap get their own explanation."""
    zeros = check_api_metrics(ZerosForGaps)["gaps"].detail
    assert "zeros in the gap" in zeros
    assert "never 0" in zeros
    filled = check_api_metrics(ForwardFills)["gaps"].detail
    assert "values in the gap" in filled
    assert "forward fill" in filled


def test_a_nan_sample_points_at_series_from_pairs():
    """A NaN that breaks the series is reported by the gaps check, with the fix."""
    report = check_api_metrics(NaNSamples)
    assert "Series.from_pairs" in report["gaps"].detail
    assert report["answer"].skipped
    assert "see gaps" in report["answer"].detail


def test_a_metric_source_whose_values_bypass_validation_is_flagged():
    """An infinity smuggled into the values column past Series' checks is still found."""

    class SmuggledInf(ApiMetricSource):
        def _series(self, asked, pairs):
            series = super()._series(asked, pairs)
            values = array("d", series.values)
            values[0] = float("inf")
            object.__setattr__(series, "_values", values)
            return series

    report = check_api_metrics(SmuggledInf)
    assert "answer" in failures(report)
    assert "values[0] is inf" in report["answer"].detail
    assert "Series.from_pairs" in report["answer"].detail


# --------------------------------------------------------------------------- an API-shaped executor


CHANGE = Change(
    id="deploy-3",
    kind=ChangeKind.DEPLOY,
    service="checkout",
    started=DAY.add(hours=14, minutes=2),
    finished=DAY.add(hours=14, minutes=5),
    version="v2",
    previous_version="v1",
)


class ApiExecutor:
    """A rollback executor over a deployment API, with a token and a dead mode.

    It keeps no state, as an API client: at a dry run it works out again, from the
    API's records of the option's change, the option it would offer, and refuses any
    other (InvalidInputError); a live version changed since is a failed rehearsal.
    """

    RECORDS: ClassVar = {CHANGE.id: CHANGE}  # the changes the deployment API knows

    def __init__(self, *, token: str, dead: bool = False) -> None:
        self._token = token
        self._dead = dead
        self.live = {"checkout": "v2"}
        self.executed = 0

    @property
    def name(self) -> str:
        return "acme-rollback"

    def _call(self) -> None:
        if self._dead:
            msg = "cannot reach http://127.0.0.1:9/api/rollouts: connection refused"
            raise SourceUnavailableError(msg, source=self.name)

    def _option(self, change: Change) -> RollbackOption:
        return RollbackOption(
            id=f"{self.name}:{change.id}",
            executor=self.name,
            change_id=change.id,
            target=change.service,
            from_version=self.live.get(change.service),
            to_version=change.previous_version,
            supports_dry_run=True,
        )

    def options(self, change: Change) -> list[RollbackOption]:
        self._call()
        return [self._option(change)] if change.previous_version else []

    def current_version(self, target: str) -> str | None:
        self._call()
        return self.live.get(target)

    def _check_offered(self, option: RollbackOption) -> None:
        change = self.RECORDS.get(option.change_id)
        offer = None if change is None else self._option(change)
        if offer is None or attrs.evolve(option, caveats=(), from_version=None) != attrs.evolve(
            offer, caveats=(), from_version=None
        ):
            msg = f"{self.name}: {option.id!r} is not an option it offers; it offers {offer}"
            raise InvalidInputError(msg)

    def dry_run(self, option: RollbackOption) -> RollbackResult:
        self._call()
        self._check_offered(option)
        live = self.live.get(option.target)
        if live != option.from_version:
            detail = f"{option.target} runs {live} now, not {option.from_version}"
            return RollbackResult(option.id, succeeded=False, dry_run=True, detail=detail)
        return RollbackResult(option.id, succeeded=True, dry_run=True, live_version=live)

    def execute(self, option: RollbackOption) -> RollbackResult:
        self.executed += 1
        raise AssertionError("the kit must never execute a rollback")


def check_api_executor(cls) -> ConformanceReport:
    """Run the executor checks on ``cls``, with a dead twin and the token as the secret."""
    return check_rollback_executor(
        lambda: cls(token=TOKEN),
        change=CHANGE,
        secrets=[TOKEN],
        broken=lambda: cls(token=TOKEN, dead=True),
        deadline=5.0,
    )


def test_the_api_executor_passes():
    """The well-behaved API executor passes every check."""
    report = check_api_executor(ApiExecutor)
    assert all(c.passed for c in report.checks), str(report)


class ForeignOptions(ApiExecutor):
    """Offers options under another executor's name, for another change."""

    RECORDS: ClassVar = {"other": CHANGE}

    def _option(self, change):
        return attrs.evolve(super()._option(change), executor="kubectl", change_id="other")


class RepeatedOptions(ApiExecutor):
    """Offers the same option twice."""

    def options(self, change):
        return super().options(change) * 2


class OffersNothing(ApiExecutor):
    """Cannot roll anything back."""

    def options(self, change):
        self._call()
        return []


class NotDry(ApiExecutor):
    """Answers a rehearsal as if it had rolled back, for another option."""

    def dry_run(self, option):
        return attrs.evolve(super().dry_run(option), option_id="other", dry_run=False)


class DryRunChangesThings(ApiExecutor):
    """Rolls back during the dry run."""

    def dry_run(self, option):
        self.live[option.target] = option.to_version
        return super().dry_run(option)


class DryRunRaises(ApiExecutor):
    """Raises when a rehearsal would fail instead of answering a failed result."""

    def dry_run(self, option):
        msg = "rehearsal failed"
        raise MalformedResponseError(msg, source=self.name)


class VersionNumber(ApiExecutor):
    """Returns the live version as a number."""

    def current_version(self, target):
        self._call()
        return 2


class TokenInOptionId(ApiExecutor):
    """Puts its token in option ids."""

    def _option(self, change):
        return attrs.evolve(super()._option(change), id=f"{self._token}:{change.id}")


class ExecutorKeyError(ApiExecutor):
    """Lets a KeyError out on a dead endpoint."""

    def _call(self):
        if self._dead:
            raise KeyError(self.name)


class TrustsAnyOption(ApiExecutor):
    """Rehearses whatever option it is given, as if it had offered it."""

    def dry_run(self, option):
        self._call()
        return RollbackResult(option.id, succeeded=True, dry_run=True, live_version="v2")


class ChecksOnlyTheId(ApiExecutor):
    """Refuses an id it never issues, but not a changed change, target or version."""

    def _check_offered(self, option):
        if option.id != f"{self.name}:{option.change_id}":
            msg = f"{self.name}: it never issued {option.id!r}"
            raise InvalidInputError(msg)


class ChecksOnlyTheContent(ApiExecutor):
    """Checks the change, the target and the versions, but not the id."""

    def _check_offered(self, option):
        super()._check_offered(attrs.evolve(option, id=f"{self.name}:{option.change_id}"))


class TrustsWhatItWasAskedAbout(ApiExecutor):
    """Once asked for a change's options, trusts any option for that change."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.asked: set[str] = set()

    def options(self, change):
        self.asked.add(change.id)
        return super().options(change)

    def _check_offered(self, option):
        if option.change_id not in self.asked:
            super()._check_offered(option)


class TrustsWhenItOfferedNothing(ApiExecutor):
    """Checks options against those it offered, but trusts any when it offered none."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.offered: list[RollbackOption] = []

    def options(self, change):
        offered = super().options(change)
        self.offered.extend(offered)
        return offered

    def _check_offered(self, option):
        if self.offered and option not in self.offered:
            msg = f"{self.name}: it never offered {option.id!r}"
            raise InvalidInputError(msg)


class RefusedOnlyByTheApi(ApiExecutor):
    """Sends the option's target to the API unchecked: the API's 404 is its only refusal."""

    def _check_offered(self, option):
        if option.target not in self.live:
            msg = f"{self.name}: GET /api/deployments/{option.target}: 404 Not Found"
            raise SourceRequestError(msg, source=self.name)
        super()._check_offered(option)


class RefusesWithKeyError(ApiExecutor):
    """Looks the option's change up with ``[]`` and lets the KeyError out."""

    def _check_offered(self, option):
        self.RECORDS[option.change_id]
        super()._check_offered(option)


class RefusesEverything(ApiExecutor):
    """Refuses every option, the ones it offered too."""

    def _check_offered(self, option):
        msg = f"{self.name}: refused"
        raise InvalidInputError(msg)


class RefusesWithAFailedResult(ApiExecutor):
    """Answers a failed rehearsal, rather than raising, for an option it does not offer."""

    def dry_run(self, option):
        try:
            return super().dry_run(option)
        except InvalidInputError as exc:
            return RollbackResult(option.id, succeeded=False, dry_run=True, detail=str(exc))


class RefusesWithRollbackFailedError(ApiExecutor):
    """Raises RollbackFailedError, as for a stale option, for an option it does not offer."""

    def _check_offered(self, option):
        try:
            super()._check_offered(option)
        except InvalidInputError as exc:
            raise RollbackFailedError(str(exc), source=self.name) from exc


@pytest.mark.parametrize(
    ("cls", "flagged"),
    [
        (ForeignOptions, "answer"),
        (RepeatedOptions, "answer"),
        (OffersNothing, "answer"),
        (VersionNumber, "answer"),
        (NotDry, "dry_run"),
        (DryRunChangesThings, "dry_run"),
        (TokenInOptionId, "secrets"),
        (ExecutorKeyError, "errors"),
        (TrustsAnyOption, "forged_options"),
        (ChecksOnlyTheId, "forged_options"),
        (ChecksOnlyTheContent, "forged_options"),
        (TrustsWhatItWasAskedAbout, "forged_options"),
        (TrustsWhenItOfferedNothing, "forged_options"),
        (RefusedOnlyByTheApi, "forged_options"),
        (RefusesWithKeyError, "forged_options"),
    ],
    ids=lambda value: value if isinstance(value, str) else value.__name__,
)
def test_each_executor_defect_fails_exactly_its_check(cls, flagged):
    """An executor that breaks one rule fails that rule's check and no other."""
    report = check_api_executor(cls)
    assert failures(report) == {flagged}, str(report)


def test_a_dry_run_that_raises_is_flagged():
    """A working executor's rehearsal answers; it does not raise."""
    report = check_api_executor(DryRunRaises)
    assert "dry_run" in failures(report)
    assert "RollbackResult(succeeded=False" in report["dry_run"].detail


def test_a_forged_option_the_executor_accepts_is_named_with_the_fix():
    """Each forged option accepted is named once for both executors, and the fix is said once."""
    detail = check_api_executor(TrustsAnyOption)["forged_options"].detail
    for what in (
        "an id it never issued",
        "another change",
        "another target",
        "another version to return to",
        "another version to revert from",
        "the target '--kubeconfig=/tmp/evil'",
        "the target '-v=9'",
        "the target '--upload-pack=x'",
    ):
        assert f"dry_run({what}) (and on a new executor) was accepted" in detail
    assert detail.count("refuse any other with InvalidInputError") == 1


def test_each_half_of_the_forgery_check_can_fail_alone():
    """Forgeries are tried on the executor that offered and on a new one; each catches its own."""
    offering = check_api_executor(TrustsWhatItWasAskedAbout)["forged_options"].detail
    assert "dry_run(another version to return to) was accepted" in offering
    assert "on a new executor was accepted" not in offering
    new = check_api_executor(TrustsWhenItOfferedNothing)["forged_options"].detail
    assert "dry_run(another version to return to) on a new executor was accepted" in new
    assert "dry_run(another version to return to) was accepted" not in new


def test_an_option_reaching_the_system_is_no_refusal():
    """A forged target refused only by the system's 404 fails: the option reached the system."""
    detail = check_api_executor(RefusedOnlyByTheApi)["forged_options"].detail
    assert "dry_run(the target '-v=9') (and on a new executor) raised SourceRequestError" in detail
    assert "the option reached the system" in detail
    key_error = check_api_executor(RefusesWithKeyError)["forged_options"].detail
    assert "dry_run(another change) (and on a new executor) raised KeyError" in key_error
    assert "not an IncidentkitError" in key_error


@pytest.mark.parametrize("cls", [RefusesWithAFailedResult, RefusesWithRollbackFailedError])
def test_a_failed_rehearsal_or_a_rollback_failed_error_is_a_refusal(cls):
    """An executor may refuse with a failed dry-run result or a RollbackFailedError."""
    report = check_api_executor(cls)
    assert all(c.passed for c in report.checks), str(report)
    expected = "a failed result" if cls is RefusesWithAFailedResult else "RollbackFailedError"
    assert f"by {expected}" in report["forged_options"].detail


def test_an_executor_refusing_its_own_option_proves_nothing():
    """An executor that refuses even the option it offered fails, said plainly."""
    report = check_api_executor(RefusesEverything)
    assert failures(report) == {"dry_run", "forged_options"}
    assert "for the very option the executor had just offered" in (report["forged_options"].detail)


def test_an_executor_offering_nothing_skips_the_dry_run():
    """Without options there is nothing to rehearse, nor an incident to run."""
    report = check_api_executor(OffersNothing)
    assert report["dry_run"].skipped
    assert report["forged_options"].skipped
    assert "give the kit a change this executor can roll back" in report["answer"].detail


# ----------------------------------------------------------------- the report and the arguments


def test_the_report_reads_one_line_per_check():
    """str(report) is a heading and one line per check, each with its status."""
    report = check_api_deploys(IgnoresWindow)
    lines = str(report).splitlines()
    assert len(lines) == 1 + len(report.checks)
    assert lines[0] == (
        "conformance of 'acme-deploys' as a DeploySource: 7 passed, 1 failed, 0 skipped"
    )
    assert lines[4].startswith("  FAILED  window: ")
    assert str(report["protocol"]).startswith("PASSED  protocol: ")


def test_conformance_error_is_an_assertion_and_an_incidentkit_error():
    """ConformanceError is both, carries its report, and lists the failed checks."""
    report = ConformanceReport(
        "acme",
        "DeploySource",
        (Check("protocol", CheckStatus.PASSED, "ok"), Check("window", CheckStatus.FAILED, "bad")),
    )
    with pytest.raises(ConformanceError) as caught:
        report.raise_for_failures()
    assert isinstance(caught.value, AssertionError)
    assert isinstance(caught.value, IncidentkitError)
    assert caught.value.report is report
    assert str(caught.value).startswith("'acme' failed window\n")
    assert report.failures == (report["window"],)
    assert report.skipped == ()
    assert report["window"].failed
    assert not report["window"].skipped


def test_a_passing_report_raises_nothing_and_names_its_checks():
    """raise_for_failures is silent on success; an unknown check name is a KeyError."""
    report = ConformanceReport("acme", "MetricSource", (Check("gaps", CheckStatus.SKIPPED),))
    assert report.passed
    assert report.raise_for_failures() is None
    with pytest.raises(KeyError, match="this report has gaps"):
        report["window"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"window": (DAY.naive(), DAY.add(hours=1))}, "naive"),
        ({"window": (DAY.add(hours=1), DAY)}, "must end after it starts"),
        ({"window": [DAY, DAY.add(hours=1)]}, "pair of aware datetimes"),
        ({"secrets": TOKEN}, "secrets=\\(token,\\)"),
        ({"secrets": ["abc"]}, "at least 6 characters"),
        ({"deadline": 0}, "deadline must be a positive number"),
        ({"deadline": True}, "deadline must be a positive number"),
    ],
)
def test_unusable_arguments_are_refused(arguments, message):
    """The kit refuses arguments it cannot work with, before calling the adapter."""
    arguments = {"window": DEPLOY_WINDOW, **arguments}
    with pytest.raises(InvalidInputError, match=message):
        check_deploy_source(lambda: ApiDeploySource(token=TOKEN), **arguments)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"gap": (DAY, DAY.add(minutes=1))}, "must lie inside the window"),
        ({"step": 0}, "step must be a positive number"),
        ({"step": False}, "step must be a positive number"),
        ({"query": " "}, "query must be a non-empty string"),
    ],
)
def test_unusable_metric_arguments_are_refused(arguments, message):
    """The metric kit refuses a gap outside the window, a bad step, an empty query."""
    arguments = {"query": QUERY, "window": METRIC_WINDOW, "step": STEP, **arguments}
    with pytest.raises(InvalidInputError, match=message):
        check_metric_source(lambda: ApiMetricSource(token=TOKEN), **arguments)


def test_the_executor_kit_needs_a_change():
    """check_rollback_executor refuses anything but a Change."""
    with pytest.raises(InvalidInputError, match=r"must be an incidentkit\.Change"):
        check_rollback_executor(lambda: ApiExecutor(token=TOKEN), change="deploy-3")


def test_a_single_service_string_is_one_service():
    """services="checkout" is read as one service, not as letters."""
    report = check_deploy_source(
        lambda: ApiDeploySource(token=TOKEN), window=DEPLOY_WINDOW, services="checkout"
    )
    assert report.passed, str(report)


# ----------------------------------------------------------------------- more ways to break a rule


class EmptyName(ApiDeploySource):
    """Its name is blank."""

    @property
    def name(self):
        return "  "


class LocalOffsetAnswer(ApiDeploySource):
    """Attaches the zone of the asked window to the API's times: the instants shift."""

    def deploys(self, start, end, *, services=None):
        found = super().deploys(start, end, services=services)
        shift = start.utcoffset() or dt.timedelta(0)
        return [
            attrs.evolve(
                c,
                started=c.started - shift,
                finished=None if c.finished is None else c.finished - shift,
            )
            for c in found
        ]


class RefusesOtherZones(ApiDeploySource):
    """Refuses any window that is not written in UTC."""

    def deploys(self, start, end, *, services=None):
        if start.utcoffset():
            msg = "only UTC, please"
            raise InvalidInputError(msg)
        return super().deploys(start, end, services=services)


class OnlyWhollyInside(ApiDeploySource):
    """Returns only the changes wholly inside the window."""

    def deploys(self, start, end, *, services=None):
        found = super().deploys(start, end, services=services)
        first, last = to_instant(start), to_instant(end)
        return [c for c in found if c.started >= first and (c.finished or last) <= last]


class FailsNarrowWindows(ApiDeploySource):
    """Fails for a window shorter than two hours."""

    def deploys(self, start, end, *, services=None):
        if end - start < dt.timedelta(hours=2):
            msg = "window too short"
            raise MalformedResponseError(msg, source=self._name)
        return super().deploys(start, end, services=services)


class FailsFilteredCalls(ApiDeploySource):
    """Fails whenever services are given."""

    def deploys(self, start, end, *, services=None):
        if services is not None:
            msg = "filter not supported"
            raise MalformedResponseError(msg, source=self._name)
        return super().deploys(start, end)


class FilterDropsEverything(ApiDeploySource):
    """Returns nothing whenever services are given."""

    def deploys(self, start, end, *, services=None):
        return [] if services is not None else super().deploys(start, end)


@pytest.mark.parametrize(
    ("cls", "flagged", "words"),
    [
        (EmptyName, "protocol", "name is empty"),
        (LocalOffsetAnswer, "time_zones", "differ"),
        (RefusesOtherZones, "time_zones", "accept any aware datetime"),
        (OnlyWhollyInside, "window", "left out"),
        (FailsNarrowWindows, "window", "window too short"),
        (FailsFilteredCalls, "window", "filter not supported"),
        (FilterDropsEverything, "window", "left out"),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else None,
)
def test_more_defects_fail_exactly_their_check(cls, flagged, words):
    """More ways to break a rule, each flagged by its own check with an explanation."""
    report = check_api_deploys(cls)
    assert failures(report) == {flagged}, str(report)
    assert words in report[flagged].detail


def test_two_adapters_from_make_must_share_a_name():
    """A name that depends on the instance fails the protocol check."""
    built = []

    def make():
        built.append(None)
        return ApiDeploySource(token=TOKEN, name=f"acme-{len(built)}")

    report = check_deploy_source(make, window=DEPLOY_WINDOW)
    assert "protocol" in failures(report)
    assert "two adapters from make()" in report["protocol"].detail


def test_a_window_inside_one_change_cannot_be_narrowed():
    """When every change spans the window, the window check passes and says what it missed."""
    report = check_deploy_source(
        lambda: ApiDeploySource(token=TOKEN),
        window=(DAY.add(hours=14, minutes=3), DAY.add(hours=14, minutes=4)),
    )
    assert report.passed, str(report)
    assert "no narrower window could be tried" in report["window"].detail


def test_a_change_smuggled_past_its_validation_is_flagged():
    """A Change holding a naive datetime (set behind attrs' back) fails the answer check."""

    class Smuggles(ApiDeploySource):
        def _change(self, record):
            change = super()._change(record)
            object.__setattr__(change, "started", change.started.naive())
            return change

    report = check_deploy_source(lambda: Smuggles(token=TOKEN), window=DEPLOY_WINDOW)
    assert "answer" in failures(report)
    assert "its started is a naive datetime" in report["answer"].detail


class MetricNotASeries(ApiMetricSource):
    """Answers pairs instead of a Series."""

    def query_range(self, query, start, end, step):
        return self._fetch(to_instant(start).timestamp(), to_instant(end).timestamp())


class MetricRefusesOtherZones(ApiMetricSource):
    """Refuses a window not written in UTC."""

    def query_range(self, query, start, end, step):
        if start.utcoffset():
            msg = "only UTC"
            raise InvalidInputError(msg)
        return super().query_range(query, start, end, step)


class MetricNarrowFails(ApiMetricSource):
    """Fails for a window shorter than the whole one."""

    def query_range(self, query, start, end, step):
        if end - start < METRIC_WINDOW[1] - METRIC_WINDOW[0]:
            msg = "window too short"
            raise MalformedResponseError(msg, source=self.name)
        return super().query_range(query, start, end, step)


class MetricNoData(ApiMetricSource):
    """Has no samples at all."""

    def _fetch(self, start, end):
        super()._fetch(start, end)
        return []


@pytest.mark.parametrize(
    ("cls", "flagged", "words"),
    [
        (MetricNotASeries, "answer", "not a Series"),
        (MetricRefusesOtherZones, "time_zones", "accept any aware datetime"),
        (MetricNoData, "answer", "no sample with a value"),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else None,
)
def test_more_metric_defects_fail_exactly_their_check(cls, flagged, words):
    """More ways for a metric source to break a rule."""
    report = check_api_metrics(cls)
    assert failures(report) == {flagged}, str(report)
    assert words in report[flagged].detail


def test_a_metric_source_failing_narrow_windows_fails_window_and_gaps():
    """Failing every shorter window breaks the window check and the gap query."""
    report = check_api_metrics(MetricNarrowFails)
    assert failures(report) == {"window", "gaps"}, str(report)
    assert "window too short" in report["window"].detail
    assert "not an error" in report["gaps"].detail
