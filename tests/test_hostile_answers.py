"""Hostile adapter answers: each becomes a finding naming the source, never the end of a step.

The docs promise that no adapter can end an incident. These tests hold the
protocol to it with answers a third party could really give: fields the
journal cannot encode (objects, NaN, bytes, lone surrogates), sequences that
raise or lie while they are read, malformed rollback options and results, and
metric values too large to compute with. Everything goes through the public
protocol (``Incident``, the phases, ``verify_journal``); only the deadline of
``call_adapter`` is tested on the helper itself.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import os
import pathlib
import tempfile
import threading
import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import attrs
import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakes import (
    DECLARED_AT,
    DETECTED_AT,
    GOOD_ERROR,
    STEP,
    SYMPTOM_START,
    FakeDeploySource,
    FakeExecutor,
    deploy,
    grid,
)
from incidentkit import (
    Caveat,
    CaveatKind,
    Change,
    ChangeKind,
    Declared,
    Detection,
    Finding,
    Incident,
    Intervened,
    ManualClock,
    Measure,
    Metric,
    MetricQuery,
    PartialChanges,
    RollbackFailedError,
    RollbackOption,
    RollbackResult,
    Series,
    Severity,
    SourceUnavailableError,
    verify_journal,
)
from incidentkit._gather import call_adapter, checked_changes, checked_options
from incidentkit._model import DEPLOY_KINDS
from incidentkit.analysis import check_recovery, impact_numbers
from incidentkit.events import RollbackExecuted

NAIVE = dt.datetime(2026, 11, 20, 14, 3)  # noqa: DTZ001 - a naive datetime on purpose


# -- hostile objects -----------------------------------------------------------------------------


class BadStr(Exception):  # noqa: N818 - named for what it does to the caller
    """An exception whose message cannot be read: ``str()`` of it raises."""

    def __str__(self) -> str:
        """Raise."""
        msg = "no message for you"
        raise RuntimeError(msg)


class RaisingGetitem(Sequence[object]):
    """A sequence whose ``__getitem__`` raises at one index (its ``__iter__`` uses it)."""

    def __init__(self, items: Sequence[object], at: int) -> None:
        self._items = list(items)
        self._at = at

    def __len__(self) -> int:
        """The real length."""
        return len(self._items)

    def __getitem__(self, index: Any) -> Any:
        """Raise at the chosen index."""
        if index == self._at:
            msg = f"item {index} is on fire"
            raise RuntimeError(msg)
        return self._items[index]


class Endless(Sequence[object]):
    """A sequence that says it holds 2 items and yields its item forever."""

    def __init__(self, item: object) -> None:
        self._item = item

    def __len__(self) -> int:
        """Lie."""
        return 2

    def __getitem__(self, index: Any) -> Any:
        """Never run out."""
        return self._item


class RaisingIter(list[object]):
    """A list whose ``__iter__`` raises."""

    def __iter__(self) -> Iterator[object]:
        """Raise."""
        msg = "cannot iterate"
        raise OSError(msg)


class RaisingLen(list[object]):
    """A list whose ``__len__`` raises."""

    def __len__(self) -> int:
        """Raise."""
        msg = "cannot count"
        raise ZeroDivisionError(msg)


class LongLen(list[object]):
    """A list whose ``__len__`` says five more items than it yields."""

    def __len__(self) -> int:
        """Lie."""
        return super().__len__() + 5


def smuggled(record: Any, field: str, value: object) -> Any:
    """Return a copy of ``record`` with ``field`` set to ``value`` behind its validators' back."""
    copy = attrs.evolve(record)
    object.__setattr__(copy, field, value)
    return copy


BAD_CHANGE_FIELDS: list[tuple[str, Callable[[], object]]] = [
    ("attributes", lambda: {"k": object()}),
    ("attributes", lambda: {"k": math.nan}),
    ("attributes", lambda: {"k": b"bytes"}),
    ("attributes", lambda: {1: "one"}),
    ("attributes", lambda: {"\ud800": "x"}),
    ("attributes", lambda: {"k": "\udfff"}),
    ("attributes", lambda: ["k", "v"]),
    ("link", lambda: b"https://example.test"),
    ("link", object),
    ("link", lambda: "https://\ud800"),
    ("id", lambda: "\ud800"),
    ("id", lambda: 5),
    ("id", lambda: ""),
    ("service", lambda: None),
    ("summary", lambda: math.inf),
    ("author", lambda: ["alice"]),
    ("version", lambda: 1.5),
    ("source", object),
    ("environment", lambda: "prod\udc80"),
    ("started", lambda: "yesterday"),
    ("started", lambda: NAIVE),
    ("finished", lambda: 0),
    ("kind", lambda: "deploy"),
    ("kind", lambda: ChangeKind.INFRASTRUCTURE),
]
"""A field of a deploy and a value it must not hold (each one breaks the journal or the kind)."""


def bad_change(change_id: str, index: int) -> Change:
    """Return the deploy ``change_id`` with its ``index``-th bad field."""
    field, value = BAD_CHANGE_FIELDS[index]
    return smuggled(deploy(change_id), field, value())


def smuggled_gap(items: list[object]) -> PartialChanges:
    """A partial answer whose gap was replaced by an object after it was built."""
    answer = PartialChanges([deploy("p-ok")], gap="the first page only")
    answer.gap = object()  # type: ignore[assignment]
    del items
    return answer


CONTAINERS: list[tuple[str, Callable[[list[object]], object]]] = [
    ("list", list),
    ("tuple", tuple),
    ("partial with a surrogate gap", lambda items: PartialChanges(items, gap="cut at \ud800")),  # type: ignore[arg-type]
    ("partial with an object gap", smuggled_gap),
    ("__getitem__ raises", lambda items: RaisingGetitem(items, at=len(items) - 1)),
    ("__iter__ raises", RaisingIter),
    ("__len__ raises", RaisingLen),
    ("__len__ lies", LongLen),
    ("endless", lambda items: Endless(items[0])),
]
"""Ways to hand back a list of items; the first two are honest."""


NOT_SEQUENCES: list[Callable[[], object]] = [
    lambda: None,
    lambda: "d1",
    lambda: b"d1",
    lambda: {"d1": "deploy"},
    object,
    lambda: 42,
]

RAISES: list[Callable[[], BaseException]] = [
    lambda: ValueError("bad \ud800 value"),
    BadStr,
    lambda: SourceUnavailableError("down \udfff", source="x"),
    lambda: KeyError(object()),
]


# -- sources and executors -----------------------------------------------------------------------


class ScriptedSource:
    """Every change-source protocol at once: answers or raises what it was given."""

    def __init__(self, name: str, answer: Callable[[], object]) -> None:
        self._name = name
        self._answer = answer

    @property
    def name(self) -> str:
        """The source's name."""
        return self._name

    def deploys(self, start: object, end: object, *, services: object = None) -> Any:  # noqa: ARG002 - hostile on purpose
        """Answer the script."""
        return self._answer()


class ScriptedMetrics:
    """A metric source whose answer to each query is scripted."""

    def __init__(
        self,
        name: str,
        answer: Callable[[str, pendulum.DateTime, pendulum.DateTime, float], object],
    ) -> None:
        self._name = name
        self._answer = answer

    @property
    def name(self) -> str:
        """The source's name."""
        return self._name

    def query_range(
        self,
        query: str,
        start: pendulum.DateTime,
        end: pendulum.DateTime,
        step: float,
    ) -> Any:
        """Answer the script."""
        return self._answer(query, start, end, step)


class ScriptedExecutor(FakeExecutor):
    """An executor whose options, rehearsal and rollback answers can be scripted."""

    def __init__(
        self,
        name: str,
        *,
        options: Callable[[Change], object] | None = None,
        dry_run: Callable[[RollbackOption], object] | None = None,
        execute: Callable[[RollbackOption], object] | None = None,
    ) -> None:
        super().__init__(name=name)
        self._options = options
        self._dry_run = dry_run
        self._execute = execute

    def options(self, change: Change) -> Any:
        """Answer the script, else offer honestly."""
        if self._options is None:
            return super().options(change)
        return self._options(change)

    def dry_run(self, option: RollbackOption) -> Any:
        """Answer the script, else rehearse honestly."""
        if self._dry_run is None:
            return super().dry_run(option)
        return self._dry_run(option)

    def execute(self, option: RollbackOption) -> Any:
        """Answer the script, else roll back honestly."""
        if self._execute is None:
            return super().execute(option)
        return self._execute(option)


def raising(error: Callable[[], BaseException]) -> Callable[..., object]:
    """A script that raises ``error()`` whatever it is asked."""

    def script(*_args: object) -> object:
        raise error()

    return script


def series_of(
    name: str,
    query: str,
    start: pendulum.DateTime,
    end: pendulum.DateTime,
    value: float | None,
    *,
    step: float = STEP,
) -> Series:
    """A valid series of ``query``: the good error ratio before the symptom, ``value`` after."""
    return Series.from_pairs(
        MetricQuery(name, query, start, end, step),
        [(at, GOOD_ERROR if at < SYMPTOM_START else value) for at in grid(start, end, step)],
    )


# -- helpers -------------------------------------------------------------------------------------


def declare(path: pathlib.Path, clock: ManualClock) -> Declared:
    """Declare the incident of the scripted world."""
    return Incident.declare(
        title="Checkout returns 5xx",
        services="checkout",
        actor="alice",
        detection=Detection.ALERT,
        journal=path,
        detected_at=DETECTED_AT,
        clock=clock,
    )


def named(findings: Sequence[Finding], name: str) -> list[Finding]:
    """The findings whose detail names ``name``."""
    return [f for f in findings if name in f.detail]


def assert_journal_sound(path: pathlib.Path) -> None:
    """The journal verifies, holds strict JSON, and the incident resumes from it."""
    report = verify_journal(path)
    assert report.ok, report
    for line in path.read_bytes().splitlines():
        json.loads(line, parse_constant=lambda name: pytest.fail(f"{name} in the journal"))
    Incident.resume(path, clock=ManualClock(DECLARED_AT.add(hours=1)))


@pytest.fixture
def journal(tmp_path: pathlib.Path) -> pathlib.Path:
    """A fresh journal path."""
    return tmp_path / "incident.jsonl"


@pytest.fixture(scope="module")
def fast_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pathlib.Path]:
    """A directory for many journals: in memory (/dev/shm) where there is one, for cheap fsyncs.

    The journals are real files with real fsyncs either way; a thousand incidents
    on a disk would spend most of their time waiting for it.
    """
    shm = pathlib.Path("/dev/shm")  # noqa: S108 - a private directory made inside it
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path_factory.mktemp("journals")
        return
    with tempfile.TemporaryDirectory(dir=shm, prefix="incidentkit-hostile-") as directory:
        yield pathlib.Path(directory)


def assessed(path: pathlib.Path, clock: ManualClock) -> Any:
    """Declare and assess with a stated severity and no metric."""
    return declare(path, clock).assess_impact(
        actor="alice", ongoing=True, severity=Severity.SEV2, symptom_start=SYMPTOM_START
    )


# -- pinned defects: changes -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("attributes", {"k": object()}),
        ("attributes", {"k": math.nan}),
        ("link", b"https://example.test/pr/1"),
        ("id", "\ud800"),
    ],
    ids=["object attribute", "NaN attribute", "bytes link", "lone surrogate id"],
)
def test_a_change_the_journal_cannot_hold_is_a_gap_and_the_good_sources_stay(
    journal: pathlib.Path, field: str, value: object
) -> None:
    """A change whose field breaks JSON is a finding naming source, change and field."""
    clock = ManualClock(DECLARED_AT)
    bad = smuggled(deploy("b1"), field, value)
    phase = assessed(journal, clock).gather_changes(
        actor="bob",
        deploys=[
            FakeDeploySource([deploy("g1")], name="good"),
            ScriptedSource("hostile", lambda: [deploy("b0"), bad]),
        ],
    )
    assert "g1" in {c.id for c in phase.changes}
    (finding,) = named(phase.findings, "hostile")
    assert "change 1" in finding.detail
    assert field in finding.detail
    assert_journal_sound(journal)


@pytest.mark.parametrize(
    "container",
    [
        lambda items: RaisingGetitem(items, at=1),
        RaisingIter,
        RaisingLen,
        LongLen,
        lambda items: Endless(items[0]),
    ],
    ids=["__getitem__ raises", "__iter__ raises", "__len__ raises", "__len__ lies", "endless"],
)
def test_a_sequence_that_raises_or_lies_while_read_is_a_gap(
    journal: pathlib.Path, container: Callable[[list[object]], object]
) -> None:
    """A sequence that raises or lies while it is read is a finding; the other sources stay."""
    clock = ManualClock(DECLARED_AT)
    phase = assessed(journal, clock).gather_changes(
        actor="bob",
        deploys=[
            FakeDeploySource([deploy("g1")], name="good"),
            ScriptedSource("hostile", lambda: container([deploy("b0"), deploy("b1")])),
        ],
    )
    assert "g1" in {c.id for c in phase.changes}
    assert named(phase.findings, "hostile")
    assert_journal_sound(journal)


def test_a_partial_answer_whose_gap_is_not_valid_unicode_is_a_gap(journal: pathlib.Path) -> None:
    """A PartialChanges whose gap holds a lone surrogate is refused with a finding, not a crash."""
    clock = ManualClock(DECLARED_AT)
    phase = assessed(journal, clock).gather_changes(
        actor="bob",
        deploys=[
            FakeDeploySource([deploy("g1")], name="good"),
            ScriptedSource("hostile", lambda: PartialChanges([deploy("b0")], gap="page \ud800")),
        ],
    )
    assert "g1" in {c.id for c in phase.changes}
    assert any("gap" in f.detail for f in named(phase.findings, "hostile"))
    assert_journal_sound(journal)


@pytest.mark.parametrize("error", RAISES[:3], ids=["surrogate", "__str__ raises", "source error"])
def test_an_error_whose_message_is_hostile_is_still_a_gap(
    journal: pathlib.Path, error: Callable[[], BaseException]
) -> None:
    """An exception with a lone surrogate or a raising ``__str__`` is a finding naming it."""
    clock = ManualClock(DECLARED_AT)
    phase = assessed(journal, clock).gather_changes(
        actor="bob",
        deploys=[FakeDeploySource([deploy("g1")], name="good")],
    )
    phase = phase.review_rollbacks(
        [FakeExecutor(name="good-exec"), ScriptedExecutor("hostile", options=raising(error))],
        actor="bob",
    )
    assert phase.rollback_options
    assert named(phase.findings, "hostile")
    assert_journal_sound(journal)


def test_a_source_whose_name_is_not_valid_unicode_is_named_by_its_type(
    journal: pathlib.Path,
) -> None:
    """A source named with a lone surrogate is named after its type; its changes still count."""
    clock = ManualClock(DECLARED_AT)
    phase = assessed(journal, clock).gather_changes(
        actor="bob", deploys=[FakeDeploySource([deploy("g1")], name="bad\ud800name")]
    )
    assert "g1" in {c.id for c in phase.changes}
    assert_journal_sound(journal)


# -- pinned defects: rollback options and results ---------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("to_version", object()), ("caveats", "oops")],
    ids=["object to_version", "caveats a string"],
)
def test_a_malformed_rollback_option_is_a_gap_and_the_other_executors_stay(
    journal: pathlib.Path, field: str, value: object
) -> None:
    """An option with a field of the wrong type is a finding naming executor and field."""
    clock = ManualClock(DECLARED_AT)
    phase = assessed(journal, clock).gather_changes(
        actor="bob", deploys=[FakeDeploySource([deploy("g1")], name="good")]
    )

    def offer(change: Change) -> object:
        option = FakeExecutor(name="hostile").options(change)[0]
        return [smuggled(option, field, value)]

    phase = phase.review_rollbacks(
        [FakeExecutor(name="good-exec"), ScriptedExecutor("hostile", options=offer)], actor="bob"
    )
    assert [o.executor for o in phase.rollback_options] == ["good-exec"]
    (finding,) = named(phase.findings, "hostile")
    assert field in finding.detail
    assert_journal_sound(journal)


def test_a_rollback_result_with_an_object_detail_is_a_recorded_failure(
    journal: pathlib.Path,
) -> None:
    """A result whose detail is an object fails the rollback cleanly, in the journal, by name."""
    clock = ManualClock(DECLARED_AT)
    phase = (
        assessed(journal, clock)
        .gather_changes(actor="bob", deploys=[FakeDeploySource([deploy("g1")], name="good")])
        .review_rollbacks([FakeExecutor(name="good-exec")], actor="bob")
    )
    runner = ScriptedExecutor(
        "hostile",
        execute=lambda option: smuggled(
            RollbackResult(option.id, succeeded=True, dry_run=False), "detail", object()
        ),
    )
    with pytest.raises(RollbackFailedError, match=r"hostile.*detail"):
        phase.roll_back(phase.rollback_options[0], actor="bob", executor=runner)
    resumed = Incident.resume(journal, clock=clock)
    attempts = [e for e in resumed.events if isinstance(e, RollbackExecuted)]
    assert "detail" in attempts[-1].error
    assert_journal_sound(journal)


# -- pinned defects: metric values ------------------------------------------------------------


@pytest.mark.parametrize("value", [1e306, 1e308], ids=["1e306", "1e308"])
def test_huge_metric_values_never_end_the_assessment(journal: pathlib.Path, value: float) -> None:
    """Errors of 1e306 (an infinite burn) or 1e308 (an fsum overflow) are assessed or a gap."""
    clock = ManualClock(DECLARED_AT)
    source = ScriptedMetrics(
        "huge", lambda q, s, e, step: series_of("huge", q, s, e, value, step=step)
    )
    phase = declare(journal, clock).assess_impact(
        actor="alice",
        ongoing=True,
        severity=Severity.SEV2,
        symptom_start=SYMPTOM_START,
        errors=Metric(source, "errors"),
        slo=0.999,
        measures=[Measure("error_ratio", Metric(source, "errors"), reduce="mean")],
    )
    assert all(math.isfinite(f.value) for f in phase.impact.figures)
    refused = named(phase.findings, "huge")
    measured = {f.name for f in phase.impact.figures if f.measured}
    assert refused or {"burn_rate_5m", "error_ratio"} <= measured
    assert_journal_sound(journal)


def test_a_burn_rate_beyond_the_largest_float_is_saturated() -> None:
    """impact_numbers with error ratios of 1e306 returns a finite, saturated burn rate."""
    end = SYMPTOM_START.add(minutes=30)
    errors = series_of("m", "errors", SYMPTOM_START.subtract(hours=7), end, 1e306)
    numbers = impact_numbers(errors, slo=0.999, at=end, symptom_start=SYMPTOM_START)
    burn = numbers.burn(300.0)
    assert burn is not None
    assert math.isfinite(burn)
    assert "saturated" in numbers.explanation
    assert numbers.suggested_severity is Severity.SEV1


def test_traffic_of_1e306_still_weighs_the_error_ratio() -> None:
    """Traffic of 1e306 req/s weighs the errors like any constant traffic (no weight overflow)."""
    end = SYMPTOM_START.add(minutes=30)
    start = SYMPTOM_START.subtract(hours=7)
    errors = series_of("m", "errors", start, end, 0.5)
    traffic = Series.from_pairs(
        MetricQuery("m", "traffic", start, end, STEP),
        [(at, 1e306) for at in grid(start, end, STEP)],
    )
    weighted = impact_numbers(
        errors, slo=0.999, at=end, symptom_start=SYMPTOM_START, traffic=traffic
    )
    plain = impact_numbers(errors, slo=0.999, at=end, symptom_start=SYMPTOM_START)
    assert weighted.burn(21600.0) == pytest.approx(plain.burn(21600.0))


def test_recovery_with_values_of_1e308_is_inconclusive_not_an_overflow() -> None:
    """check_recovery over errors of ±1e308 is inconclusive, naming the series: no overflow."""
    start = SYMPTOM_START.subtract(hours=1)
    end = SYMPTOM_START.add(hours=1)
    instants = grid(start, end, STEP)
    errors = Series.from_pairs(
        MetricQuery("m", "errors", start, end, STEP),
        [(at, 1e308 if i % 2 else -1e308) for i, at in enumerate(instants)],
    )
    traffic = Series.from_pairs(
        MetricQuery("m", "traffic", start, end, STEP), [(at, 100.0) for at in instants]
    )
    verdict = check_recovery(
        errors,
        traffic,
        baseline_start=start,
        baseline_end=SYMPTOM_START,
        intervention_at=SYMPTOM_START.add(minutes=10),
        until=end,
    )
    assert verdict.monitoring_gap
    assert "'errors'" in verdict.reasons[0]


# -- executor deadlines -----------------------------------------------------------------------


def test_call_adapter_with_a_timeout_abandons_a_hung_call() -> None:
    """A call still running at its deadline becomes an error string, quickly."""
    release = threading.Event()
    began = time.monotonic()
    result, error = call_adapter("slow-exec", "options for d1", release.wait, timeout=0.2)
    elapsed = time.monotonic() - began
    release.set()
    assert result is None
    assert "slow-exec: options for d1 did not answer within 0.2 s" in error
    assert elapsed < 2.0


def test_call_adapter_with_a_timeout_returns_a_prompt_answer_and_catches_errors() -> None:
    """Under a deadline, an answer comes back as before and an exception is an error string."""
    assert call_adapter("exec", "dry run", lambda: 42, timeout=5.0) == (42, "")
    result, error = call_adapter("exec", "dry run", raising(BadStr), timeout=5.0)
    assert result is None
    assert error.startswith("exec: dry run raised BadStr")


# -- dropping one bad item, keeping the rest (for callers that pass problems=) -------------------


def test_checked_changes_with_problems_drops_the_bad_change_and_keeps_the_good() -> None:
    """With problems=[...], a bad change is listed (source, position, id, field); the rest stay."""
    problems: list[str] = []
    answer = [deploy("ok1"), smuggled(deploy("b1"), "link", b"x"), deploy("ok2")]
    changes, error = checked_changes("acme", answer, DEPLOY_KINDS, problems=problems)
    assert error == ""
    assert [c.id for c in changes] == ["ok1", "ok2"]
    assert problems == [
        "acme: change 1 ('b1'): its link is bytes, not a string or None; the change is dropped"
    ]


def test_checked_changes_with_nothing_usable_fails_the_answer_even_with_problems() -> None:
    """A source whose every change is bad failed: it did not answer "no change"."""
    problems: list[str] = []
    answer = [smuggled(deploy("b1"), "link", b"x")]
    changes, error = checked_changes("acme", answer, DEPLOY_KINDS, problems=problems)
    assert changes == []
    assert (
        error
        == "acme: change 0 ('b1'): its link is bytes, not a string or None; the change is dropped"
    )
    assert problems == []


def test_checked_options_with_problems_drops_the_bad_option_and_keeps_the_good() -> None:
    """With problems=[...], an option with caveats="oops" is listed and dropped; the rest stay."""
    good = FakeExecutor(name="acme").options(deploy("d1"))[0]
    problems: list[str] = []
    options, error = checked_options(
        "acme", [smuggled(good, "caveats", "oops"), good], problems=problems
    )
    assert error == ""
    assert options == [good]
    assert len(problems) == 1
    assert "option 0" in problems[0]
    assert "caveats" in problems[0]


# -- the goal: a thousand hostile answers -----------------------------------------------------


@st.composite
def hostile_change_answer(draw: st.DrawFn, name: str) -> tuple[Callable[[], object], bool]:
    """A deploy source's answer: the script, and whether it is bad (expects a finding)."""
    how = draw(st.sampled_from(["field", "container", "not a sequence", "raises", "good"]))
    if how == "raises":
        error = draw(st.sampled_from(RAISES))
        return raising(error), True
    if how == "not a sequence":
        return draw(st.sampled_from(NOT_SEQUENCES)), True
    good = [deploy(f"{name}-ok{i}") for i in range(draw(st.integers(1, 3)))]
    if how == "good":
        return lambda: list(good), False
    items: list[object] = list(good)
    if how == "field":
        index = draw(st.integers(0, len(BAD_CHANGE_FIELDS) - 1))
        items.insert(draw(st.integers(0, len(items))), bad_change(f"{name}-bad", index))
        _label, container = draw(st.sampled_from(CONTAINERS))
        return lambda: container(list(items)), True
    _label, container = draw(st.sampled_from(CONTAINERS[2:]))
    return lambda: container(list(items)), True


BAD_SERIES: list[Callable[[Series], object]] = [
    lambda s: smuggled(s, "non_finite", object()),
    lambda s: smuggled(s, "warnings", ("partial \ud800",)),
    lambda s: smuggled(s, "warnings", "not a tuple"),
    lambda s: smuggled(s, "query", "errors"),
    lambda s: smuggled(s, "_times", list(s.times)),
    lambda s: smuggled(s, "_values", array("f", s.values)),
    lambda s: smuggled(s, "_values", array("d", [*s.values[:-1], math.inf])),
    lambda s: smuggled(s, "_values", array("d", [*s.values[:-1], -math.inf])),
    lambda s: smuggled(s, "_values", array("d", s.values[:-1])),
    lambda s: smuggled(s, "_times", array("d", [*s.times[:-1], math.nan])),
    lambda s: smuggled(s, "_times", array("d", [*s.times[:-1], 1e300])),
    lambda s: smuggled(s, "_times", array("d", reversed(s.times))),
    lambda s: smuggled(s, "_times", array("d", [s.times[0], *s.times[:-1]])),
    lambda s: smuggled(s, "_values", array("d", [1e308] * len(s.values))),
    lambda s: smuggled(s, "query", smuggled(s.query, "source", b"prom")),
    lambda s: smuggled(s, "query", smuggled(s.query, "query", "err\ud800")),
    lambda s: {"query": s.query.query},
    lambda s: list(zip(s.times, s.values, strict=True)),
    lambda _s: None,
]
"""Ways to spoil a valid series; each must be refused."""

HUGE = [1e306, -1e306, 1e308, -1e308, 1.7976931348623157e308, 5e-324, 0.0, None]


@st.composite
def hostile_metric(draw: st.DrawFn, name: str) -> tuple[ScriptedMetrics, bool]:
    """A metric source: its script and whether its answer is bad (expects a finding)."""
    how = draw(st.sampled_from(["huge", "spoiled", "raises", "good"]))
    if how == "raises":
        return ScriptedMetrics(name, raising(draw(st.sampled_from(RAISES)))), True
    value = draw(st.sampled_from(HUGE)) if how == "huge" else 0.18
    spoil = draw(st.sampled_from(BAD_SERIES)) if how == "spoiled" else None

    def answer(query: str, start: pendulum.DateTime, end: pendulum.DateTime, step: float) -> object:
        series = series_of(name, query, start, end, value, step=step)
        return series if spoil is None else spoil(series)

    return ScriptedMetrics(name, answer), how == "spoiled"


BAD_OPTION_FIELDS: list[tuple[str, Callable[[], object]]] = [
    ("to_version", object),
    ("to_version", lambda: b"v1"),
    ("from_version", lambda: "v\ud800"),
    ("caveats", lambda: "oops"),
    ("caveats", lambda: (object(),)),
    ("caveats", lambda: (Caveat("other", "d"),)),  # type: ignore[arg-type]
    ("caveats", lambda: (Caveat(CaveatKind.OTHER, math.nan),)),  # type: ignore[arg-type]
    ("id", lambda: "\ud800"),
    ("id", lambda: None),
    ("target", lambda: {"a": 1}),
    ("executor", lambda: 7),
    ("change_id", lambda: b"d1"),
    ("supports_dry_run", lambda: "yes"),
]

BAD_RESULT_FIELDS: list[tuple[str, Callable[[], object]]] = [
    ("detail", object),
    ("detail", lambda: "done \ud800"),
    ("detail", lambda: math.nan),
    ("succeeded", lambda: "yes"),
    ("succeeded", lambda: 1),
    ("dry_run", lambda: None),
    ("option_id", lambda: b"o"),
    ("live_version", lambda: ["v1"]),
]


@st.composite
def hostile_options(draw: st.DrawFn, name: str) -> Callable[[Change], object]:
    """An executor's hostile ``options()``: always a bad answer."""
    how = draw(st.sampled_from(["field", "container", "not a sequence", "raises"]))
    if how == "raises":
        return raising(draw(st.sampled_from(RAISES)))
    if how == "not a sequence":
        make = draw(st.sampled_from(NOT_SEQUENCES))
        return lambda _change: make()
    field, value = draw(st.sampled_from(BAD_OPTION_FIELDS))
    _label, container = draw(st.sampled_from(CONTAINERS[:2] if how == "field" else CONTAINERS[4:]))
    spoil = how == "field"

    def offer(change: Change) -> object:
        option = FakeExecutor(name=name).options(change)[0]
        return container([smuggled(option, field, value()) if spoil else option])

    return offer


@st.composite
def hostile_result(draw: st.DrawFn) -> tuple[Callable[[RollbackOption], object], bool]:
    """A rehearsal or rollback answer: the script and whether it is bad."""
    how = draw(st.sampled_from(["field", "not a result", "raises", "good"]))
    if how == "raises":
        return raising(draw(st.sampled_from(RAISES))), True
    if how == "not a result":
        make = draw(st.sampled_from(NOT_SEQUENCES))
        return lambda _option, _dry_run: make(), True
    field, value = draw(st.sampled_from(BAD_RESULT_FIELDS))

    def result(option: RollbackOption, dry_run: bool) -> object:
        honest = RollbackResult(
            option.id, succeeded=True, dry_run=dry_run, live_version=option.to_version
        )
        return smuggled(honest, field, value()) if how == "field" else honest

    return result, how != "good"


_COUNTER = itertools.count()
COARSE = 300.0
"""The step of the goal test's metrics: coarse, so that a thousand incidents stay quick."""


@settings(
    max_examples=1000,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    metrics=st.tuples(hostile_metric("metrics-a"), hostile_metric("metrics-b")),
    goods=st.integers(1, 3),
    hostiles=st.lists(st.integers(0, 8), min_size=1, max_size=3, unique=True).flatmap(
        lambda ids: st.tuples(*(hostile_change_answer(f"hostile-{i}") for i in ids))
    ),
    options=hostile_options("hostile-exec"),
    rehearsal=hostile_result(),
    rollback=hostile_result(),
)
def test_a_thousand_hostile_answers_never_end_a_step(  # noqa: PLR0917 - Hypothesis passes them
    fast_directory: pathlib.Path,
    metrics: tuple[tuple[ScriptedMetrics, bool], tuple[ScriptedMetrics, bool]],
    goods: int,
    hostiles: tuple[tuple[Callable[[], object], bool], ...],
    options: Callable[[Change], object],
    rehearsal: tuple[Callable[..., object], bool],
    rollback: tuple[Callable[..., object], bool],
) -> None:
    """Hostile metric, change, option and result answers: findings by name, never a crash."""
    path = fast_directory / f"incident-{next(_COUNTER)}.jsonl"
    clock = ManualClock(DECLARED_AT)
    (errors_source, errors_bad), (measure_source, measure_bad) = metrics

    # Assessing: both metric sources may be hostile; a severity is given, so nothing may raise.
    phase: Any = declare(path, clock).assess_impact(
        actor="alice",
        ongoing=True,
        severity=Severity.SEV2,
        errors=Metric(errors_source, "errors", step=COARSE),
        traffic=Metric(measure_source, "traffic", step=COARSE),
        slo=0.999,
        measures=[
            Measure("latency", Metric(measure_source, "latency", step=COARSE), reduce="mean")
        ],
    )
    assert all(math.isfinite(f.value) for f in phase.impact.figures)
    for source, bad in ((errors_source, errors_bad), (measure_source, measure_bad)):
        if bad:
            assert named(phase.findings, source.name), source.name

    # Gathering: good sources always count, each hostile one is a finding naming it.
    clock.advance(minutes=1)
    good_sources = [
        FakeDeploySource([deploy(f"good-{i}-c{j}") for j in range(2)], name=f"good-{i}")
        for i in range(goods)
    ]
    hostile_sources = [
        (ScriptedSource(f"hostile-{i}", answer), bad) for i, (answer, bad) in enumerate(hostiles)
    ]
    phase = phase.gather_changes(
        actor="bob", deploys=[*good_sources, *(s for s, _bad in hostile_sources)]
    )
    gathered = {c.id for c in phase.changes}
    for source in good_sources:
        assert {c.id for c in source.changes} <= gathered, source.name
    for source, bad in hostile_sources:
        if bad:
            assert named(phase.findings, source.name), source.name

    # Reviewing: the hostile executor is a finding; the good executor's options stay.
    clock.advance(minutes=1)
    good_exec = FakeExecutor(name="good-exec")
    phase = phase.review_rollbacks(
        [good_exec, ScriptedExecutor("hostile-exec", options=options)], actor="bob"
    )
    assert phase.rollback_options
    # The good executor's options always stay; a hostile one keeps only its well-formed ones.
    assert "good-exec" in {o.executor for o in phase.rollback_options}
    assert named(phase.findings, "hostile-exec")

    # Rolling back through a runner whose rehearsal and rollback may be hostile.
    clock.advance(minutes=1)
    rehearse, rehearsal_bad = rehearsal
    execute, rollback_bad = rollback
    runner = ScriptedExecutor(
        "hostile-runner",
        dry_run=lambda option: rehearse(option, True),
        execute=lambda option: execute(option, False),
    )
    if rehearsal_bad or rollback_bad:
        with pytest.raises(RollbackFailedError, match="hostile-runner"):
            phase.roll_back(phase.rollback_options[0], actor="bob", executor=runner)
    else:
        after = phase.roll_back(phase.rollback_options[0], actor="bob", executor=runner)
        assert isinstance(after, Intervened)

    assert_journal_sound(path)
