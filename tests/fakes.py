"""Small fake adapters and a scripted incident for the protocol tests.

Every fake implements one of the Protocols of :mod:`incidentkit.protocols`;
the broken ones fail the way third-party adapters do (raising, or answering
something of the wrong shape). :class:`World` wires a manual clock, a metric
source, a deploy source and an executor into one reproducible incident:

* 12:00 UTC on 2026-11-20 is ``T0``; deploy ``d1`` of ``checkout`` (v1 -> v2)
  runs from 14:02 to 14:05;
* the error ratio is 0.002 until the symptom starts at 14:07 (``SYMPTOM_START``),
  then 0.18 until the metrics are healed (a rollback through the world's
  executor heals them at the instant it runs); traffic is a steady 850 req/s;
* the incident is detected at 14:09 and declared at 14:11 (the clock's start).
"""

from __future__ import annotations

import datetime as dt
import math
import pathlib
from collections.abc import Callable, Sequence

import pendulum

from incidentkit import (
    Assessed,
    Caveat,
    Change,
    ChangeKind,
    ChecklistItem,
    Declared,
    Detection,
    Diagnosing,
    Evidence,
    Figure,
    Incident,
    Intervened,
    ManualClock,
    Measure,
    Metric,
    MetricQuery,
    Recovered,
    Resolved,
    Reviewed,
    RollbackFailedError,
    RollbackOption,
    RollbackResult,
    Sample,
    Series,
    Severity,
    SourceUnavailableError,
)

T0 = pendulum.datetime(2026, 11, 20, 12, 0, tz="UTC")
DEPLOY_STARTED = T0.add(hours=2, minutes=2)
DEPLOY_FINISHED = T0.add(hours=2, minutes=5)
SYMPTOM_START = T0.add(hours=2, minutes=7)
DETECTED_AT = T0.add(hours=2, minutes=9)
DECLARED_AT = T0.add(hours=2, minutes=11)
GOOD_ERROR = 0.002
BAD_ERROR = 0.18
TRAFFIC = 850.0
STEP = 60.0
ERRORS_QUERY = "errors"
TRAFFIC_QUERY = "traffic"


def deploy(
    change_id: str = "d1",
    *,
    service: str = "checkout",
    started: pendulum.DateTime = DEPLOY_STARTED,
    finished: pendulum.DateTime | None = DEPLOY_FINISHED,
    version: str | None = "v2",
    previous_version: str | None = "v1",
    kind: ChangeKind = ChangeKind.DEPLOY,
    attributes: dict[str, str] | None = None,
) -> Change:
    """Return a change record, by default the deploy that caused the incident."""
    return Change(
        change_id,
        kind,
        service,
        started,
        finished,
        summary=f"{kind.value} {change_id}",
        version=version,
        previous_version=previous_version,
        attributes=attributes or {},
    )


# -- change sources -------------------------------------------------------------


class FakeDeploySource:
    """**DeploySource**: answers from a fixed list of changes."""

    def __init__(self, changes: Sequence[Change] = (), *, name: str = "deploys") -> None:
        self._name = name
        self.changes = list(changes)
        self.calls: list[tuple[pendulum.DateTime, pendulum.DateTime]] = []

    @property
    def name(self) -> str:
        """The source's name."""
        return self._name

    def deploys(
        self,
        start: pendulum.DateTime,
        end: pendulum.DateTime,
        *,
        services: Sequence[str] | None = None,
    ) -> Sequence[Change]:
        """Return the listed changes of the wanted services."""
        self.calls.append((start, end))
        return [c for c in self.changes if services is None or c.service in services]


class FakeChangeSource:
    """**ChangeSource**: answers infrastructure changes from a fixed list."""

    def __init__(self, changes: Sequence[Change] = (), *, name: str = "terraform") -> None:
        self._name = name
        self._changes = list(changes)

    @property
    def name(self) -> str:
        """The source's name."""
        return self._name

    def changes(
        self,
        start: pendulum.DateTime,  # noqa: ARG002 - the protocol's signature
        end: pendulum.DateTime,  # noqa: ARG002
        *,
        services: Sequence[str] | None = None,
    ) -> Sequence[Change]:
        """Return the listed changes of the wanted services."""
        return [c for c in self._changes if services is None or c.service in services]


class FakeDependencySource:
    """**DependencyStatusSource**: answers dependency incidents from a fixed list."""

    def __init__(self, incidents: Sequence[Change] = (), *, name: str = "statuspage") -> None:
        self._name = name
        self._incidents = list(incidents)

    @property
    def name(self) -> str:
        """The source's name."""
        return self._name

    def incidents(
        self,
        start: pendulum.DateTime,  # noqa: ARG002 - the protocol's signature
        end: pendulum.DateTime,  # noqa: ARG002
    ) -> Sequence[Change]:
        """Return the listed incidents."""
        return list(self._incidents)


class BrokenSource:
    """Every source protocol at once, and every call raises ``error``.

    By default the error is a :class:`SourceUnavailableError`; pass any other
    exception to act like a third-party adapter with a bug.
    """

    def __init__(self, error: Exception | None = None, *, name: str = "broken") -> None:
        self._name = name
        self.error = error or SourceUnavailableError("connection refused", source=name)
        self.calls = 0

    @property
    def name(self) -> str:
        """The source's name."""
        return self._name

    def _fail(self) -> object:
        self.calls += 1
        raise self.error

    def deploys(self, start, end, *, services=None):  # noqa: ARG002
        """Raise."""
        return self._fail()

    def changes(self, start, end, *, services=None):  # noqa: ARG002
        """Raise."""
        return self._fail()

    def incidents(self, start, end):  # noqa: ARG002
        """Raise."""
        return self._fail()

    def query_range(self, query, start, end, step):  # noqa: ARG002
        """Raise."""
        return self._fail()


GARBAGE_CHANGES: dict[str, object] = {
    "a dict": {"d1": "deploy"},
    "a string": "d1",
    "None": None,
    "a list of strings": ["d1", "d2"],
    "a list of dicts": [{"id": "d1", "kind": "deploy"}],
    "a change of the wrong kind": [deploy("n1", kind=ChangeKind.INFRASTRUCTURE)],
}
"""Answers a deploy source must not give, by what they are."""


class GarbageDeploySource:
    """**DeploySource** in name only: answers ``answer`` instead of Change records."""

    def __init__(self, answer: object, *, name: str = "garbage-deploys") -> None:
        self._name = name
        self.answer = answer

    @property
    def name(self) -> str:
        """The source's name."""
        return self._name

    def deploys(self, start, end, *, services=None):  # noqa: ARG002
        """Return the garbage."""
        return self.answer


# -- metric sources -------------------------------------------------------------


def grid(start: pendulum.DateTime, end: pendulum.DateTime, step: float) -> list[pendulum.DateTime]:
    """Return the instants on the ``step``-second grid (from the Unix epoch) in ``[start, end]``."""
    first = math.ceil(start.timestamp() / step) * step
    out: list[pendulum.DateTime] = []
    at = first
    while at <= end.timestamp():
        out.append(pendulum.from_timestamp(at, tz="UTC"))
        at += step
    return out


class FakeMetricSource:
    """**MetricSource**: the world's error ratio and traffic, on a regular grid.

    ``errors`` is :data:`BAD_ERROR` from ``symptom_start`` until :meth:`heal`
    was called (for the instants from the healing on), :data:`GOOD_ERROR`
    otherwise; ``traffic`` is ``traffic`` throughout, or what ``traffic_at``
    says.
    """

    def __init__(
        self,
        *,
        name: str = "prometheus",
        symptom_start: pendulum.DateTime = SYMPTOM_START,
        traffic: float = TRAFFIC,
        traffic_at: Callable[[pendulum.DateTime], float | None] | None = None,
    ) -> None:
        self._name = name
        self.symptom_start = symptom_start
        self.healed_at: pendulum.DateTime | None = None
        self.traffic = traffic
        self.traffic_at = traffic_at
        self.queries: list[str] = []

    @property
    def name(self) -> str:
        """The source's name."""
        return self._name

    def heal(self, at: pendulum.DateTime) -> None:
        """Make the error ratio good again from ``at`` on (the first healing counts)."""
        if self.healed_at is None:
            self.healed_at = at

    def value(self, query: str, at: pendulum.DateTime) -> float | None:
        """Return the value of ``query`` at ``at``."""
        if query == TRAFFIC_QUERY:
            return self.traffic if self.traffic_at is None else self.traffic_at(at)
        healed = self.healed_at is not None and at >= self.healed_at
        return BAD_ERROR if at >= self.symptom_start and not healed else GOOD_ERROR

    def query_range(
        self, query: str, start: pendulum.DateTime, end: pendulum.DateTime, step: float
    ) -> Series:
        """Return the series of ``query`` over ``[start, end]``."""
        self.queries.append(query)
        return Series.from_pairs(
            MetricQuery(self.name, query, start, end, step),
            [(at, self.value(query, at)) for at in grid(start, end, step)],
        )


def garbage_series(query: str, start: pendulum.DateTime, end: pendulum.DateTime) -> Series:
    """Return a Series whose samples are bare tuples, not :class:`Sample` values."""
    bad_samples: tuple[object, ...] = ((start, 0.1), (end, 0.2))
    return Series(MetricQuery("garbage", query, start, end, STEP), bad_samples)  # type: ignore[arg-type]


def nan_series(query: str, start: pendulum.DateTime, end: pendulum.DateTime) -> Series:
    """Return a Series built directly with NaN values (``from_pairs`` would make them gaps)."""
    samples = tuple(Sample(at, math.nan) for at in grid(start, end, STEP))
    return Series(MetricQuery("garbage", query, start, end, STEP), samples)


GARBAGE_SERIES: dict[str, Callable[[str, pendulum.DateTime, pendulum.DateTime], object]] = {
    "a dict": lambda query, start, _end: {"query": query, "values": [[start.timestamp(), "0.1"]]},
    "a list of tuples": lambda _query, start, end: [(start, 0.1), (end, 0.2)],
    "None": lambda _query, _start, _end: None,
    "a Series with tuples for samples": garbage_series,
    "a Series with NaN values": nan_series,
}
"""Answers a metric source must not give, by what they are."""


class GarbageMetricSource:
    """**MetricSource** in name only: answers garbage instead of a well-formed Series."""

    def __init__(self, kind: str, *, name: str = "garbage-metrics") -> None:
        self._name = name
        self.kind = kind
        self.calls = 0

    @property
    def name(self) -> str:
        """The source's name."""
        return self._name

    def query_range(
        self,
        query: str,
        start: pendulum.DateTime,
        end: pendulum.DateTime,
        step: float,  # noqa: ARG002 - the protocol's signature
    ) -> Series:
        """Return the garbage of this source's kind."""
        self.calls += 1
        answer: Series = GARBAGE_SERIES[self.kind](query, start, end)  # type: ignore[assignment]
        return answer


# -- rollback executors ---------------------------------------------------------


class FakeExecutor:
    """**RollbackExecutor**: offers to return a change's service to its previous version.

    It offers one option per change with a previous version, rehearses
    successfully, and on :meth:`execute` sets the live version and calls
    ``on_execute``. ``calls`` records what was asked, in order.
    """

    def __init__(
        self,
        *,
        name: str = "argocd",
        supports_dry_run: bool = True,
        caveats: Sequence[Caveat] = (),
        on_execute: Callable[[], None] | None = None,
    ) -> None:
        self._name = name
        self.supports_dry_run = supports_dry_run
        self.caveats = tuple(caveats)
        self.on_execute = on_execute
        self.live: dict[str, str] = {}
        self.calls: list[tuple[str, str]] = []

    @property
    def name(self) -> str:
        """The executor's name."""
        return self._name

    def options(self, change: Change) -> Sequence[RollbackOption]:
        """Offer to return the change's service to its previous version."""
        self.calls.append(("options", change.id))
        if change.previous_version is None:
            return []
        return [
            RollbackOption(
                f"{self.name}:{change.id}",
                self.name,
                change.id,
                change.service,
                change.version,
                change.previous_version,
                self.caveats,
                supports_dry_run=self.supports_dry_run,
            )
        ]

    def current_version(self, target: str) -> str | None:
        """Return the version live now, if this executor rolled ``target`` back."""
        return self.live.get(target)

    def dry_run(self, option: RollbackOption) -> RollbackResult:
        """Rehearse successfully."""
        self.calls.append(("dry_run", option.id))
        return RollbackResult(option.id, succeeded=True, dry_run=True, detail="rehearsed")

    def execute(self, option: RollbackOption) -> RollbackResult:
        """Roll back and report the version now live."""
        self.calls.append(("execute", option.id))
        if option.to_version is not None:
            self.live[option.target] = option.to_version
        if self.on_execute is not None:
            self.on_execute()
        return RollbackResult(
            option.id, succeeded=True, dry_run=False, live_version=option.to_version
        )


class FailingDryRunExecutor(FakeExecutor):
    """An executor whose rehearsal reports failure."""

    def dry_run(self, option: RollbackOption) -> RollbackResult:
        """Report a failed rehearsal."""
        self.calls.append(("dry_run", option.id))
        return RollbackResult(
            option.id, succeeded=False, dry_run=True, detail="sync would conflict"
        )


class RaisingExecuteExecutor(FakeExecutor):
    """An executor whose rollback raises."""

    def execute(self, option: RollbackOption) -> RollbackResult:
        """Raise :class:`RollbackFailedError`."""
        self.calls.append(("execute", option.id))
        raise RollbackFailedError("helm rollback exited with status 1", source=self.name)


class CrashingExecuteExecutor(FakeExecutor):
    """An executor with a bug: its rollback raises something that is not a SourceError."""

    def execute(self, option: RollbackOption) -> RollbackResult:
        """Raise :class:`KeyError`."""
        self.calls.append(("execute", option.id))
        raise KeyError(option.target)


class RefusingExecuteExecutor(FakeExecutor):
    """An executor whose rollback runs but reports failure."""

    def execute(self, option: RollbackOption) -> RollbackResult:
        """Report a failed rollback."""
        self.calls.append(("execute", option.id))
        return RollbackResult(option.id, succeeded=False, dry_run=False, detail="image pull failed")


class GarbageExecuteExecutor(FakeExecutor):
    """An executor whose rollback answers something that is not a RollbackResult."""

    def execute(self, option: RollbackOption) -> RollbackResult:
        """Answer a dict."""
        self.calls.append(("execute", option.id))
        return {"ok": True}  # type: ignore[return-value]


class RehearsalOnlyExecutor(FakeExecutor):
    """An executor whose ``execute`` only rehearses: it reports a successful dry run."""

    def execute(self, option: RollbackOption) -> RollbackResult:
        """Report a dry run instead of a rollback."""
        self.calls.append(("execute", option.id))
        return RollbackResult(option.id, succeeded=True, dry_run=True, detail="dry run only")


class NoOptionsExecutor(FakeExecutor):
    """An executor that can roll nothing back."""

    def options(self, change: Change) -> Sequence[RollbackOption]:
        """Offer nothing."""
        self.calls.append(("options", change.id))
        return []


# -- a scripted incident --------------------------------------------------------


class RewindableClock(ManualClock):
    """A manual clock that a test can also set back, as a wrong clock on a resume would be."""

    def __init__(self, start: dt.datetime | float) -> None:
        super().__init__(start)
        self._offset = 0.0

    def now(self) -> pendulum.DateTime:
        """Return the manual instant, minus how far the clock was set back."""
        return super().now().subtract(microseconds=round(self._offset * 1_000_000))

    def rewind(self, *, minutes: float) -> None:
        """Set the clock back by ``minutes`` (later readings stay that far behind)."""
        self._offset += 60.0 * minutes


class World:
    """A reproducible incident: clock, journal path, sources and executor.

    The helpers :meth:`declare` ... :meth:`resolved` take the incident to each
    phase the ordinary way (assessment, gathering, review, rollback, verified
    recovery, diagnosis, resolution), so a test can start from any phase.
    """

    def __init__(self, directory: pathlib.Path, *, name: str = "incident.jsonl") -> None:
        self.directory = directory
        self.path = directory / name
        self.clock = RewindableClock(DECLARED_AT)
        self.metrics = FakeMetricSource()
        self.deploys = FakeDeploySource([deploy()])
        self.executor = FakeExecutor(on_execute=self.heal_now)

    def heal_now(self) -> None:
        """Make the error ratio good from the clock's instant on."""
        self.metrics.heal(self.clock.now())

    def errors(self, step: float = STEP) -> Metric:
        """Return the error-ratio metric of the world's metric source."""
        return Metric(self.metrics, ERRORS_QUERY, unit="ratio", step=step)

    def traffic(self, step: float = STEP) -> Metric:
        """Return the traffic metric of the world's metric source."""
        return Metric(self.metrics, TRAFFIC_QUERY, unit="req/s", step=step)

    def declare(self, **overrides: object) -> Declared:
        """Declare the incident (keyword arguments replace the defaults)."""
        arguments: dict[str, object] = {
            "title": "Checkout returns 5xx",
            "services": "checkout",
            "actor": "alice",
            "detection": Detection.ALERT,
            "journal": self.path,
            "detected_at": DETECTED_AT,
            "clock": self.clock,
        }
        arguments.update(overrides)
        return Incident.declare(**arguments)  # type: ignore[arg-type]

    def assess(
        self, declared: Declared, *, ongoing: bool = True, measured: bool = True
    ) -> Assessed:
        """Assess the impact: measured from the world's metrics, or stated."""
        if measured:
            return declared.assess_impact(
                actor="alice",
                severity=Severity.SEV2,
                ongoing=ongoing,
                symptom_start=SYMPTOM_START,
                measures=[Measure("error_ratio", self.errors())],
            )
        return declared.assess_impact(
            actor="alice",
            severity=Severity.SEV2,
            ongoing=ongoing,
            symptom_start=SYMPTOM_START,
            stated=[
                Figure("affected_users", 120, "users", evidence=Evidence.text("support tickets"))
            ],
        )

    def assessed(self, *, ongoing: bool = True, measured: bool = True) -> Assessed:
        """Declare, assess and gather the deploys."""
        assessed = self.assess(self.declare(), ongoing=ongoing, measured=measured)
        return assessed.gather_changes(actor="bob", deploys=[self.deploys])

    def reviewed(self, *, ongoing: bool = True) -> Reviewed:
        """Go on to review the rollbacks with the world's executor."""
        return self.assessed(ongoing=ongoing).review_rollbacks([self.executor], actor="bob")

    def intervened(self, *, ongoing: bool = True) -> Intervened:
        """Go on to roll the deploy back (which heals the metrics)."""
        reviewed = self.reviewed(ongoing=ongoing)
        self.clock.advance(minutes=2)
        return reviewed.roll_back(reviewed.rollback_options[0], actor="bob")

    def recovered(self) -> Recovered:
        """Go on to verify recovery twenty minutes after the rollback."""
        intervened = self.intervened()
        self.clock.advance(minutes=20)
        phase = intervened.verify_recovery(
            actor="bob", errors=self.errors(), traffic=self.traffic()
        )
        assert isinstance(phase, Recovered), phase.last_verdict
        return phase

    def diagnosing(self) -> Diagnosing:
        """Go on to diagnose: one hypothesis, every checklist item checked or waived."""
        diagnosing = self.recovered().begin_diagnosis(actor="alice")
        self.clock.advance(minutes=5)
        return (
            diagnosing.hypothesis(
                "deploy d1 broke checkout", actor="alice", evidence=[Evidence.change("d1")]
            )
            .check(
                ChecklistItem.DEPLOYS, actor="alice", conclusion="d1 correlates with the symptom"
            )
            .waive(ChecklistItem.INFRASTRUCTURE, actor="alice", reason="no infra changes this week")
            .waive(ChecklistItem.DEPENDENCIES, actor="alice", reason="all vendors green")
        )

    def resolved(self) -> Resolved:
        """Go on to resolve with the root cause."""
        diagnosing = self.diagnosing()
        self.clock.advance(minutes=5)
        return diagnosing.resolve(
            actor="alice",
            root_cause="deploy d1 shipped a null-pointer bug in the price formatter",
            evidence=[Evidence.change("d1")],
        )
