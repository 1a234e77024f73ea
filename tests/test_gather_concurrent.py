"""Concurrent gathering: every source at once, each with its own deadline.

Concurrency is proven with a barrier, not with a stopwatch: each source waits
until all of them are inside their calls, which a sequential gathering can
never reach. How much faster it is lives in bench/ (``gather``), not here.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pendulum
import pytest

from fakes import DEPLOY_FINISHED, FakeDeploySource, World, deploy
from incidentkit import (
    Change,
    ChangeKind,
    FindingKind,
    Incident,
    InvalidInputError,
    PartialChanges,
    SourceUnavailableError,
)
from incidentkit._gather import call_concurrently
from incidentkit.events import ChangesGathered


@pytest.fixture
def world(tmp_path):
    """A reproducible incident in a temporary directory."""
    return World(tmp_path)


class WaitingSource:
    """A deploy source whose call first waits at a barrier (or on an event)."""

    def __init__(
        self,
        name: str,
        changes: Sequence[Change],
        *,
        barrier: threading.Barrier | None = None,
        release: threading.Event | None = None,
    ) -> None:
        self._name = name
        self._changes = list(changes)
        self._barrier = barrier
        self._release = release
        self.finished = threading.Event()

    @property
    def name(self) -> str:
        """The source's name."""
        return self._name

    def deploys(
        self,
        start: pendulum.DateTime,  # noqa: ARG002 - the protocol's signature
        end: pendulum.DateTime,  # noqa: ARG002
        *,
        services: Sequence[str] | None = None,  # noqa: ARG002
    ) -> Sequence[Change]:
        """Wait at the barrier or for the release, then answer."""
        try:
            if self._barrier is not None:
                try:
                    self._barrier.wait(timeout=5)
                except threading.BrokenBarrierError:
                    msg = f"{self._name}: the other sources never joined (called one by one?)"
                    raise SourceUnavailableError(msg, source=self._name) from None
            if self._release is not None and not self._release.wait(timeout=10):
                msg = f"{self._name}: never released"
                raise SourceUnavailableError(msg, source=self._name)
            return list(self._changes)
        finally:
            self.finished.set()


def gathered(phase) -> ChangesGathered:
    """Return the phase's latest gathering event."""
    events = [e for e in phase.events if isinstance(e, ChangesGathered)]
    return events[-1]


def test_sources_are_asked_at_the_same_time(world):
    """Six sources wait for each other: only a concurrent gathering gets all six answers."""
    barrier = threading.Barrier(6)
    sources = [WaitingSource(f"s{i}", [deploy(f"d{i}")], barrier=barrier) for i in range(6)]
    assessed = world.assess(world.declare()).gather_changes(
        actor="bob", deploys=sources, timeout=10
    )
    assert sorted(c.id for c in assessed.changes) == [f"d{i}" for i in range(6)]
    outcomes = gathered(assessed).sources
    assert [o.source for o in outcomes] == [f"s{i}" for i in range(6)]  # the order asked
    assert all(o.ok and o.seconds is not None and o.seconds >= 0 for o in outcomes)


def test_a_source_past_its_timeout_is_a_gap_and_the_others_count(world):
    """A hung source is abandoned at the deadline; its late answer is dropped."""
    release = threading.Event()
    hung = WaitingSource("hung", [deploy("late")], release=release)
    quick = FakeDeploySource([deploy("d1")], name="quick")
    try:
        assessed = world.assess(world.declare()).gather_changes(
            actor="bob", deploys=[hung, quick], timeout=0.2
        )
    finally:
        release.set()
    assert hung.finished.wait(timeout=10)
    assert [c.id for c in assessed.changes] == ["d1"]
    hung_outcome, quick_outcome = gathered(assessed).sources
    assert not hung_outcome.ok
    assert "did not answer within 0.2 s" in hung_outcome.error
    assert hung_outcome.seconds == 0.2
    assert quick_outcome.ok
    gaps = [f for f in assessed.findings if f.kind is FindingKind.MONITORING_GAP]
    assert any("hung" in f.detail and "did not answer" in f.detail for f in gaps)
    # The late answer did not sneak in after the step returned.
    assert [c.id for c in assessed.changes] == ["d1"]


def test_the_timeout_is_journaled_and_survives_resume(world):
    """Per-source seconds are part of the journaled outcome and come back on resume."""
    assessed = world.assess(world.declare()).gather_changes(
        actor="bob", deploys=[world.deploys], timeout=5
    )
    before = gathered(assessed).sources
    resumed = Incident.resume(world.path, clock=world.clock)
    assert gathered(resumed).sources == before
    assert before[0].seconds is not None


@pytest.mark.parametrize("timeout", [0, -1.0, float("nan")])
def test_a_timeout_must_be_positive(world, timeout):
    """Zero, negative and NaN timeouts are refused before any source is asked."""
    assessed = world.assess(world.declare())
    with pytest.raises(InvalidInputError, match="timeout must be a positive duration"):
        assessed.gather_changes(actor="bob", deploys=[world.deploys], timeout=timeout)


def test_an_adapter_bug_in_one_thread_does_not_end_the_gathering(world):
    """A source raising a plain exception in its thread becomes a finding like any other."""

    class Buggy(FakeDeploySource):
        def deploys(self, start, end, *, services=None):  # noqa: ARG002
            raise KeyError("status")

    assessed = world.assess(world.declare()).gather_changes(
        actor="bob", deploys=[Buggy(name="buggy"), world.deploys]
    )
    assert [c.id for c in assessed.changes] == ["d1"]
    buggy, _ = gathered(assessed).sources
    assert "raised KeyError" in buggy.error


def test_dependency_and_infrastructure_sources_run_alongside_deploys(world):
    """All three kinds of source go into one concurrent batch."""
    barrier = threading.Barrier(3)

    class Infra(WaitingSource):
        def changes(self, start, end, *, services=None):
            return self.deploys(start, end, services=services)

    class Dependency(WaitingSource):
        def incidents(self, start, end):
            return self.deploys(start, end)

    infra = deploy("tf-1", kind=ChangeKind.INFRASTRUCTURE, finished=DEPLOY_FINISHED)
    outage = deploy("psp-1", service="payments-psp", kind=ChangeKind.DEPENDENCY)
    assessed = world.assess(world.declare()).gather_changes(
        actor="bob",
        deploys=[WaitingSource("deploys", [deploy()], barrier=barrier)],
        infrastructure=[Infra("terraform", [infra], barrier=barrier)],
        dependencies=[Dependency("statuspage", [outage], barrier=barrier)],
    )
    assert sorted(c.id for c in assessed.changes) == ["d1", "psp-1", "tf-1"]


def test_call_concurrently_keeps_the_order_of_the_calls():
    """Answers come back in the order asked, whatever order the threads finish in."""
    gate = threading.Event()

    def slow() -> str:
        gate.wait(5)
        return "slow"

    def fast() -> str:
        gate.set()
        return "fast"

    answers = call_concurrently([("a", "asking", slow), ("b", "asking", fast)], timeout=5)
    assert [a.result for a in answers] == ["slow", "fast"]
    assert [a.error for a in answers] == ["", ""]


def test_a_source_raising_system_exit_in_its_thread_is_a_gap_not_a_timeout(world):
    """Even a BaseException from an adapter's thread becomes that source's error, at once."""

    class Exiting(FakeDeploySource):
        def deploys(self, start, end, *, services=None):  # noqa: ARG002
            raise SystemExit(3)

    assessed = world.assess(world.declare()).gather_changes(
        actor="bob", deploys=[Exiting(name="exiting"), world.deploys], timeout=30
    )
    exiting, _ = gathered(assessed).sources
    assert "raised SystemExit" in exiting.error
    assert "did not answer" not in exiting.error


def test_a_source_without_a_usable_name_is_named_after_its_type(world):
    """A name that is not a string does not end the incident: its type names the source."""

    class Tupled(FakeDeploySource):
        @property
        def name(self):
            return ("acme",)

    assessed = world.assess(world.declare()).gather_changes(
        actor="bob", deploys=[Tupled([deploy()])]
    )
    (outcome,) = gathered(assessed).sources
    assert outcome.ok
    assert outcome.source == "<Tupled with no usable name>"
    assert [c.id for c in assessed.changes] == ["d1"]


def test_a_partial_answer_counts_and_its_gap_is_a_finding(world):
    """A PartialChanges answer: its changes are gathered, and what it missed is a gap finding."""

    class Truncated(FakeDeploySource):
        def deploys(self, start, end, *, services=None):
            found = super().deploys(start, end, services=services)
            return PartialChanges(found, "the history reaches back only to 13:00")

    assessed = world.assess(world.declare()).gather_changes(
        actor="bob", deploys=[Truncated([deploy()], name="cd")]
    )
    assert [c.id for c in assessed.changes] == ["d1"]
    (outcome,) = gathered(assessed).sources
    assert outcome.ok
    assert outcome.partial == "the history reaches back only to 13:00"
    gaps = [f for f in assessed.findings if f.kind is FindingKind.MONITORING_GAP]
    assert [(f.summary, f.detail) for f in gaps] == [
        (
            "a change source answered for part of the window only",
            "cd: the history reaches back only to 13:00",
        )
    ]
    resumed = Incident.resume(world.path, clock=world.clock)
    assert gathered(resumed).sources == (outcome,)


@pytest.mark.parametrize("gap", ["", "   "])
def test_a_partial_answer_must_say_what_it_misses(gap):
    """PartialChanges without a gap would hide it: refused."""
    with pytest.raises(InvalidInputError, match="must say what it does not cover"):
        PartialChanges([deploy()], gap)


def test_a_partial_answer_is_a_tuple_of_changes():
    """It is a valid answer wherever a sequence of changes is, and shows its gap."""
    answer = PartialChanges([deploy()], "page 3 was not read")
    assert answer == (deploy(),)
    assert answer.gap == "page 3 was not read"
    assert "page 3 was not read" in repr(answer)
