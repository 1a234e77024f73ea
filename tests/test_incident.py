from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import json
import math

import pendulum
import pytest
from hypothesis import given

from fakes import (
    BAD_ERROR,
    DECLARED_AT,
    DEPLOY_STARTED,
    DETECTED_AT,
    GARBAGE_CHANGES,
    GARBAGE_SERIES,
    SYMPTOM_START,
    BrokenSource,
    CrashingExecuteExecutor,
    FailingDryRunExecutor,
    FakeChangeSource,
    FakeDependencySource,
    FakeDeploySource,
    FakeExecutor,
    GarbageDeploySource,
    GarbageExecuteExecutor,
    GarbageMetricSource,
    NoOptionsExecutor,
    RaisingExecuteExecutor,
    RefusingExecuteExecutor,
    RehearsalOnlyExecutor,
    World,
    deploy,
)
from incidentkit import (
    Actor,
    Assessed,
    Caveat,
    CaveatKind,
    Change,
    ChangeKind,
    ChecklistItem,
    ConcurrentAppendError,
    Declared,
    Detection,
    Diagnosing,
    Evidence,
    Figure,
    FindingKind,
    Impact,
    Incident,
    IncidentkitError,
    Intervened,
    InvalidInputError,
    Journal,
    JournalCorruptedError,
    ManualClock,
    Measure,
    Metric,
    MetricQuery,
    MitigationKind,
    NaiveDatetimeError,
    ProtocolViolation,
    Recovered,
    RecoveryOutcome,
    Report,
    Resolved,
    Reviewed,
    Role,
    RollbackFailedError,
    Sample,
    Series,
    Severity,
    StalePhaseError,
    StepNotAvailable,
    verify_journal,
)
from incidentkit._events import (
    DiagnosisBegun,
    FindingRecorded,
    ImpactAssessed,
    IncidentDeclared,
    IncidentResolved,
    NoteAdded,
    OverrideRecorded,
    unstructure_event,
)
from incidentkit._rules import rule
from incidentkit._state import PHASES, STEP_REQUIREMENTS
from incidentkit.events import ChangesGathered, RecoveryChecked, RollbackExecuted
from strategies import naive_datetimes

PHASE_CLASSES = {
    "declared": Declared,
    "assessed": Assessed,
    "reviewed": Reviewed,
    "intervened": Intervened,
    "recovered": Recovered,
    "diagnosing": Diagnosing,
    "resolved": Resolved,
}
SAME = object()
"""The step returns the phase object it was called on."""
EXPECTED_RESULT: dict[str, object] = {
    "note": SAME,
    "finding": SAME,
    "hand_over": SAME,
    "correct_clock": SAME,
    "follow_up": SAME,
    "update_impact": SAME,
    "assess_impact": Assessed,
    "gather_changes": SAME,
    "review_rollbacks": Reviewed,
    "skip_rollback_review": Reviewed,
    "roll_back": Intervened,
    "mitigate": Intervened,
    "verify_recovery": Recovered,
    "diagnose_without_recovery": Diagnosing,
    "begin_diagnosis": Diagnosing,
    "hypothesis": SAME,
    "reject_hypothesis": SAME,
    "check": SAME,
    "waive": SAME,
    "resolve": Resolved,
    "report": Report,
}
MATRIX = [(phase, step) for phase in PHASES for step in STEP_REQUIREMENTS]
ALLOWED = [(p, s) for p, s in MATRIX if p in STEP_REQUIREMENTS[s][0]]
FORBIDDEN = [(p, s) for p, s in MATRIX if p not in STEP_REQUIREMENTS[s][0]]


@pytest.fixture
def world(tmp_path):
    """A scripted incident in a fresh directory."""
    return World(tmp_path)


def reach(world: World, phase: str):
    """Take a fresh incident to ``phase``; the impact is not ongoing, so verifying is allowed."""
    ways = {
        "declared": world.declare,
        "assessed": lambda: world.assessed(ongoing=False),
        "reviewed": lambda: world.reviewed(ongoing=False),
        "intervened": lambda: world.intervened(ongoing=False),
        "recovered": world.recovered,
        "diagnosing": world.diagnosing,
        "resolved": world.resolved,
    }
    return ways[phase]()


def perform(world: World, phase, step: str):
    """Take ``step`` on ``phase`` with valid arguments and return what it returns."""
    calls = {
        "note": lambda: phase.note("checkout pods restarting", actor="bob"),
        "finding": lambda: phase.finding("alert fired late", actor="bob"),
        "hand_over": lambda: phase.hand_over(
            Role.INCIDENT_COMMANDER, to="carol", actor="alice", note="alice goes off shift"
        ),
        "correct_clock": lambda: phase.correct_clock(
            actor="alice", reason="the laptop's clock was five minutes ahead"
        ),
        "follow_up": lambda: phase.follow_up(
            "alert on checkout 5xx within 2 minutes", owner="dana", actor="alice"
        ),
        "update_impact": lambda: phase.update_impact(
            actor="alice", severity=Severity.SEV1, reason="EU checkout fails too"
        ),
        "assess_impact": lambda: world.assess(phase),
        "gather_changes": lambda: phase.gather_changes(actor="bob", deploys=[world.deploys]),
        "review_rollbacks": lambda: phase.review_rollbacks([world.executor], actor="bob"),
        "skip_rollback_review": lambda: phase.skip_rollback_review(
            actor="alice", reason="the rollback needs a database restore"
        ),
        "roll_back": lambda: phase.roll_back(phase.rollback_options[0], actor="bob"),
        "mitigate": lambda: phase.mitigate(
            "turned off flag new-pricing",
            actor="bob",
            why_not_rollback="the flag is faster",
            kind=MitigationKind.FEATURE_FLAG_OFF,
        ),
        "verify_recovery": lambda: phase.verify_recovery(
            actor="bob", errors=world.errors(), traffic=world.traffic()
        ),
        "diagnose_without_recovery": lambda: phase.diagnose_without_recovery(
            actor="alice", reason="no mitigation exists; the cause is the way out"
        ),
        "begin_diagnosis": lambda: phase.begin_diagnosis(actor="alice"),
        "hypothesis": lambda: phase.hypothesis(
            "the price formatter", actor="alice", evidence=[Evidence.text("stack traces")]
        ),
        "reject_hypothesis": lambda: phase.reject_hypothesis(
            "H1", actor="alice", reason="the formatter was not deployed"
        ),
        "check": lambda: phase.check(ChecklistItem.DEPLOYS, actor="alice", conclusion="d1 fits"),
        "waive": lambda: phase.waive(ChecklistItem.INFRASTRUCTURE, actor="alice", reason="none"),
        "resolve": lambda: phase.resolve(
            actor="alice", root_cause="deploy d1", evidence=[Evidence.change("d1")]
        ),
        "report": lambda: phase.report(),  # noqa: PLW0108 - phase may lack report
    }
    if step == "verify_recovery":
        world.heal_now()
        world.clock.advance(minutes=20)
    if step == "correct_clock":
        world.clock.rewind(minutes=5)
    return calls[step]()


def assert_resumes_identically(world: World, phase) -> None:
    """Resuming the journal gives the same phase class and the same events as ``phase``."""
    resumed = Incident.resume(world.path, clock=world.clock)
    assert type(resumed) is type(phase)
    assert resumed.events == phase.events
    assert resumed.phase == phase.phase


def events_of(phase, kind):
    """Return the journal events of one type."""
    return [e for e in phase.events if isinstance(e, kind)]


def findings_of(phase, kind: FindingKind):
    """Return the findings of one kind."""
    return [f for f in phase.findings if f.kind is kind]


# -- the rule table and the phase classes agree ------------------------------------


def test_phase_classes_cover_the_phases_in_order():
    """There is one phase class per phase of the rule table, named by its PHASE."""
    assert tuple(PHASE_CLASSES) == PHASES
    assert all(name == cls.PHASE for name, cls in PHASE_CLASSES.items())
    for allowed, why in STEP_REQUIREMENTS.values():
        assert allowed <= set(PHASES)
        assert why.strip()


def test_every_step_has_an_expected_result():
    """The matrix below knows what every step of the rule table returns."""
    assert set(EXPECTED_RESULT) == set(STEP_REQUIREMENTS)


@pytest.mark.parametrize(("phase_name", "step"), ALLOWED, ids=[f"{p}-{s}" for p, s in ALLOWED])
def test_allowed_step_exists_runs_and_resumes(world, phase_name, step):
    """An allowed step exists on its phase, returns the expected phase and resumes identically."""
    phase = reach(world, phase_name)
    assert phase.phase == phase_name
    assert hasattr(phase, step)
    assert hasattr(PHASE_CLASSES[phase_name], step)
    before = len(phase.events)
    result = perform(world, phase, step)
    expected = EXPECTED_RESULT[step]
    if step == "report":
        assert isinstance(result, Report)
        assert len(phase.events) == before
        return
    if expected is SAME:
        assert result is phase
    else:
        assert type(result) is expected
    assert result.is_current
    assert len(result.events) > before
    assert_resumes_identically(world, result)
    assert verify_journal(world.path).ok


@pytest.mark.parametrize(("phase_name", "step"), FORBIDDEN, ids=[f"{p}-{s}" for p, s in FORBIDDEN])
def test_forbidden_step_does_not_exist(world, phase_name, step):
    """A step not allowed in a phase does not exist on it: hasattr is false."""
    phase = reach(world, phase_name)
    assert not hasattr(phase, step)
    assert not hasattr(PHASE_CLASSES[phase_name], step)


@pytest.mark.parametrize(("phase_name", "step"), FORBIDDEN, ids=[f"{p}-{s}" for p, s in FORBIDDEN])
def test_forbidden_step_raises_step_not_available(world, phase_name, step):
    """A forbidden step raises StepNotAvailable naming the phase, the step and the remedy."""
    phase = reach(world, phase_name)
    before = phase.events
    with pytest.raises(StepNotAvailable) as info:
        getattr(phase, step)
    error = info.value
    assert isinstance(error, ProtocolViolation)
    assert isinstance(error, AttributeError)
    assert isinstance(error, IncidentkitError)
    assert error.phase == phase_name
    assert error.attempted == step
    message = str(error)
    assert repr(phase_name) in message
    assert repr(step) in message
    assert rule(step).refusal_in(phase_name) in message
    assert phase.is_current
    assert phase.events == before
    assert_resumes_identically(world, phase)


def test_resolved_record_takes_notes_and_follow_ups_but_no_findings(world):
    """A resolved incident refuses a finding but appends notes and follow-ups on its chain."""
    resolved = world.resolved()
    before = resolved.events
    with pytest.raises(ProtocolViolation, match="'finding' is not allowed in phase 'resolved'"):
        resolved.finding("late finding", actor="bob")
    assert resolved.events == before
    resolved.note("customer comms sent", actor="bob")
    resolved.follow_up("page on 5xx in 2 min", owner="dana", actor="bob", notes="SLO alert")
    assert len(resolved.events) == len(before) + 2
    assert verify_journal(world.path).ok
    resumed = Incident.resume(world.path, clock=world.clock)
    assert isinstance(resumed, Resolved)
    assert resumed.events == resolved.events


def test_unknown_attribute_is_a_plain_attribute_error(world):
    """An attribute that is no step at all raises a plain AttributeError, not StepNotAvailable."""
    declared = world.declare()
    with pytest.raises(AttributeError) as info:
        declared.no_such_thing  # noqa: B018 - the access is the test
    assert not isinstance(info.value, StepNotAvailable)
    assert "no_such_thing" in str(info.value)


# -- stale phase objects -----------------------------------------------------------


def test_phase_object_is_stale_after_a_transition(world):
    """After assess_impact the declared object is stale and refuses every step."""
    declared = world.declare()
    assessed = world.assess(declared)
    assert not declared.is_current
    assert assessed.is_current
    assert "(stale)" in repr(declared)
    assert "(stale)" not in repr(assessed)
    with pytest.raises(StalePhaseError) as info:
        declared.note("too late", actor="bob")
    assert isinstance(info.value, ProtocolViolation)
    assert info.value.current == "assessed"
    assert "'declared' phase object is stale" in str(info.value)
    assert "'assessed'" in str(info.value)
    with pytest.raises(StalePhaseError):
        world.assess(declared)
    assert len(assessed.events) == len(Incident.resume(world.path).events)


def test_stale_object_cannot_fork_the_incident(world):
    """An old reviewed object cannot intervene a second time after the incident moved on."""
    reviewed = world.reviewed()
    option = reviewed.rollback_options[0]
    intervened = reviewed.roll_back(option, actor="bob")
    with pytest.raises(StalePhaseError):
        reviewed.mitigate("failover", actor="bob", why_not_rollback="x")
    with pytest.raises(StalePhaseError):
        reviewed.roll_back(option, actor="bob")
    assert len(events_of(intervened, RollbackExecuted)) == 1


def test_verify_recovery_returns_a_new_object_and_the_old_one_is_stale(world):
    """An inconclusive check returns a fresh object of the same phase; the old one goes stale."""
    intervened = world.intervened()
    world.clock.advance(minutes=3)
    again = intervened.verify_recovery(actor="bob", errors=world.errors(), traffic=world.traffic())
    assert type(again) is Intervened
    assert again is not intervened
    assert again.last_verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert again.is_current
    assert not intervened.is_current
    with pytest.raises(StalePhaseError):
        intervened.note("stale", actor="bob")
    with pytest.raises(StalePhaseError):
        intervened.verify_recovery(actor="bob", errors=world.errors(), traffic=world.traffic())
    again.note("still going", actor="bob")


def test_note_and_finding_keep_the_phase_current(world):
    """A note or a finding returns the same object, which stays current."""
    assessed = world.assessed()
    assert assessed.note("a", actor="bob") is assessed
    assert assessed.finding("b", actor="bob", detail="c") is assessed
    assert assessed.is_current
    assert [e.text for e in events_of(assessed, NoteAdded)] == ["a"]
    assert findings_of(assessed, FindingKind.OBSERVATION)[-1].detail == "c"


# -- verifying recovery before intervening ------------------------------------------


@pytest.mark.parametrize("phase_name", ["assessed", "reviewed"])
def test_verify_before_intervention_with_ongoing_impact_is_refused(world, phase_name):
    """While the impact is ongoing, recovery cannot be verified before an intervention."""
    phase = world.assessed() if phase_name == "assessed" else world.reviewed()
    before = phase.events
    queries = len(world.metrics.queries)
    with pytest.raises(ProtocolViolation, match="intervene first") as info:
        phase.verify_recovery(actor="bob", errors=world.errors(), traffic=world.traffic())
    assert not isinstance(info.value, StalePhaseError)
    assert info.value.phase == phase_name
    assert info.value.attempted == "verify_recovery"
    assert phase.events == before
    assert phase.is_current
    assert len(world.metrics.queries) == queries


def test_verify_before_intervention_is_allowed_when_impact_was_not_ongoing(world):
    """An impact already over at assessment can be verified without an intervention."""
    assessed = world.assessed(ongoing=False)
    world.metrics.heal(SYMPTOM_START.add(minutes=2))
    world.clock.advance(minutes=15)
    recovered = assessed.verify_recovery(
        actor="bob", errors=world.errors(), traffic=world.traffic()
    )
    assert isinstance(recovered, Recovered)
    check = events_of(recovered, RecoveryChecked)[-1]
    assert check.since == SYMPTOM_START
    assert recovered.verdict.outcome is RecoveryOutcome.RECOVERED
    assert_resumes_identically(world, recovered)


def test_not_recovered_after_intervention_stays_intervened(world):
    """A check that finds the symptom still there leaves the incident intervened."""
    reviewed = world.reviewed()
    world.executor.on_execute = None  # the rollback does not help
    intervened = reviewed.roll_back(reviewed.rollback_options[0], actor="bob")
    world.clock.advance(minutes=20)
    again = intervened.verify_recovery(actor="bob", errors=world.errors(), traffic=world.traffic())
    assert type(again) is Intervened
    assert again.last_verdict.outcome is RecoveryOutcome.NOT_RECOVERED
    assert again.last_verdict.last_value == BAD_ERROR
    assert not findings_of(again, FindingKind.MONITORING_GAP)


# -- diagnosis: the checklist and resolving ------------------------------------------


def diagnose(world: World, **sources) -> Diagnosing:
    """Take an incident to diagnosis after gathering from ``sources`` only (and mitigating)."""
    assessed = world.assess(world.declare())
    if sources:
        assessed = assessed.gather_changes(actor="bob", **sources)
    reviewed = assessed.review_rollbacks([world.executor], actor="bob")
    world.heal_now()
    intervened = reviewed.mitigate("scaled up", actor="bob", why_not_rollback="nothing to revert")
    world.clock.advance(minutes=20)
    recovered = intervened.verify_recovery(
        actor="bob", errors=world.errors(), traffic=world.traffic()
    )
    assert isinstance(recovered, Recovered)
    return recovered.begin_diagnosis(actor="alice")


def test_resolve_is_refused_while_checklist_items_are_open(world):
    """Resolving with unchecked usual suspects is refused and the message lists them."""
    diagnosing = diagnose(world, deploys=[world.deploys])
    evidence = [Evidence.change("d1")]
    assert diagnosing.open_items == tuple(ChecklistItem)
    with pytest.raises(
        ProtocolViolation, match="still open: deploys, infrastructure, dependencies"
    ):
        diagnosing.resolve(actor="alice", root_cause="d1", evidence=evidence)
    diagnosing.check(ChecklistItem.DEPLOYS, actor="alice", conclusion="d1 correlates")
    diagnosing.waive(ChecklistItem.DEPENDENCIES, actor="alice", reason="vendors green")
    with pytest.raises(ProtocolViolation) as info:
        diagnosing.resolve(actor="alice", root_cause="d1", evidence=evidence)
    still_open = str(info.value).split("still open: ")[1].split(";")[0].split(".")[0]
    assert still_open == "infrastructure"
    assert diagnosing.is_current
    assert not events_of(diagnosing, IncidentResolved)
    diagnosing.waive(ChecklistItem.INFRASTRUCTURE, actor="alice", reason="no infra changes")
    assert diagnosing.open_items == ()
    resolved = diagnosing.resolve(actor="alice", root_cause="d1", evidence=evidence)
    assert isinstance(resolved, Resolved)


def test_check_is_refused_when_no_source_of_that_kind_answered(world):
    """Checking a usual suspect needs a source of that kind that answered; waiving does not."""
    infra = FakeChangeSource(
        [deploy("tf-1", kind=ChangeKind.INFRASTRUCTURE, previous_version=None)]
    )
    diagnosing = diagnose(world, deploys=[BrokenSource()], infrastructure=[infra])
    before = diagnosing.events
    with pytest.raises(ProtocolViolation, match="no deploys source answered") as info:
        diagnosing.check(ChecklistItem.DEPLOYS, actor="alice", conclusion="fine")
    assert "waive" in str(info.value)
    with pytest.raises(ProtocolViolation, match="no dependencies source answered"):
        diagnosing.check(ChecklistItem.DEPENDENCIES, actor="alice", conclusion="fine")
    assert diagnosing.events == before
    diagnosing.check(ChecklistItem.INFRASTRUCTURE, actor="alice", conclusion="tf-1 is unrelated")
    checked = diagnosing.events[-1]
    assert checked.sources == ("terraform",)
    diagnosing.waive(ChecklistItem.DEPLOYS, actor="alice", reason="the deploy source is down")
    assert diagnosing.open_items == (ChecklistItem.DEPENDENCIES,)


def test_rejecting_an_unknown_hypothesis_is_refused(world):
    """Only a recorded hypothesis can be rejected."""
    diagnosing = world.diagnosing()
    with pytest.raises(ProtocolViolation, match="no hypothesis 'H7'"):
        diagnosing.reject_hypothesis("H7", actor="alice", reason="x")
    diagnosing.reject_hypothesis("H1", actor="alice", reason="ruled out")
    assert diagnosing.hypotheses == {"H1": "deploy d1 broke checkout"}


def test_evidence_must_point_at_what_exists(world):
    """A hypothesis needs evidence, and evidence must point at a gathered change or a real entry."""
    diagnosing = world.diagnosing()
    count = len(diagnosing.events)
    with pytest.raises(InvalidInputError, match="at least one piece of evidence"):
        diagnosing.hypothesis("x", actor="alice", evidence=[])
    with pytest.raises(InvalidInputError, match="never gathered"):
        diagnosing.hypothesis("x", actor="alice", evidence=[Evidence.change("d99")])
    with pytest.raises(InvalidInputError, match="does not exist"):
        diagnosing.hypothesis("x", actor="alice", evidence=[Evidence.entry(count)])
    diagnosing.hypothesis("x", actor="alice", evidence=[Evidence.entry(count - 1)])
    assert len(diagnosing.events) == count + 1


# -- overrides -------------------------------------------------------------------------


def test_overrides_are_journaled_and_reported_as_findings(world):
    """Both overrides are journaled with actor and reason and appear as override findings."""
    assessed = world.assessed()
    reviewed = assessed.skip_rollback_review(actor="alice", reason="rollback needs a DB restore")
    assert isinstance(reviewed, Reviewed)
    assert reviewed.rollback_options == ()
    intervened = reviewed.mitigate(
        "turned off flag new-pricing",
        actor="bob",
        why_not_rollback="the flag is faster",
        kind=MitigationKind.FEATURE_FLAG_OFF,
    )
    diagnosing = intervened.diagnose_without_recovery(
        actor=Actor("alice"), reason="errors persist; only the cause will end them"
    )
    assert isinstance(diagnosing, Diagnosing)
    overrides = events_of(diagnosing, OverrideRecorded)
    assert [(o.step, o.from_phase, o.to_phase, o.reason, o.actor.name) for o in overrides] == [
        ("skip_rollback_review", "assessed", "reviewed", "rollback needs a DB restore", "alice"),
        (
            "diagnose_without_recovery",
            "intervened",
            "diagnosing",
            "errors persist; only the cause will end them",
            "alice",
        ),
    ]
    live = findings_of(diagnosing, FindingKind.OVERRIDE)
    assert [f.detail for f in live] == [o.reason for o in overrides]
    for item in ChecklistItem:
        diagnosing.waive(item, actor="alice", reason="not this time")
    resolved = diagnosing.resolve(
        actor="alice", root_cause="flag new-pricing", evidence=[Evidence.text("flag off fixed it")]
    )
    report = resolved.report()
    reported = [f for f in report.findings if f.finding.kind is FindingKind.OVERRIDE]
    assert [f.finding.detail for f in reported] == [o.reason for o in overrides]
    assert "skip_rollback_review" in reported[0].finding.summary
    assert "diagnose_without_recovery" in reported[1].finding.summary
    assert all(isinstance(resolved.events[f.seq], OverrideRecorded) for f in reported)
    markdown = report.to_markdown()
    assert "**override**" in markdown
    assert "rollback needs a DB restore" in markdown
    assert "OVERRIDE skip_rollback_review (assessed -> reviewed)" in markdown
    assert_resumes_identically(world, resolved)


@pytest.mark.parametrize("reason", ["", "   "])
def test_override_needs_a_reason(world, reason):
    """An override without a reason is refused and nothing is journaled."""
    assessed = world.assessed()
    before = assessed.events
    with pytest.raises(InvalidInputError, match="reason"):
        assessed.skip_rollback_review(actor="alice", reason=reason)
    with pytest.raises(InvalidInputError, match="reason"):
        assessed.diagnose_without_recovery(actor="alice", reason=reason)
    assert assessed.events == before
    assert assessed.is_current


def test_gather_changes_after_diagnosing_without_an_impact(world):
    """After diagnosing by override at once, gathering changes works or is refused cleanly."""
    diagnosing = world.declare().diagnose_without_recovery(
        actor="alice", reason="no metrics at all"
    )
    with contextlib.suppress(ProtocolViolation):
        diagnosing.gather_changes(actor="bob", deploys=[world.deploys])
    assert diagnosing.is_current


# -- impact ----------------------------------------------------------------------------


def test_measured_impact_has_a_figure_and_no_gap(world):
    """A measured figure is the symptom window's series reduced, with its query as evidence."""
    assessed = world.assess(world.declare())
    (figure,) = assessed.impact.figures
    assert figure.measured
    assert figure.value == BAD_ERROR
    assert figure.evidence == Evidence.metric("errors")
    assert assessed.impact.symptom_start == SYMPTOM_START
    assert assessed.impact.services == ("checkout",)
    assert not findings_of(assessed, FindingKind.MONITORING_GAP)
    (measurement,) = events_of(assessed, ImpactAssessed)[0].measurements
    assert measurement.series.samples[0].at == SYMPTOM_START


def test_stated_only_impact_is_a_monitoring_gap(world):
    """An impact whose figures were all stated by a person is recorded as a monitoring gap."""
    assessed = world.assess(world.declare(), measured=False)
    assert not assessed.impact.measured
    assert assessed.impact.figures[0].name == "affected_users"
    gaps = findings_of(assessed, FindingKind.MONITORING_GAP)
    assert [g.summary for g in gaps] == ["impact not measurable from monitoring"]


def test_stated_figure_claiming_to_be_measured_is_counted_as_stated(world):
    """A stated figure marked measured by the caller is stored as stated: still a gap."""
    assessed = world.declare().assess_impact(
        actor="alice",
        severity=Severity.SEV3,
        ongoing=True,
        stated=[Figure("error_ratio", 0.2, "ratio", measured=True)],
    )
    assert not assessed.impact.figures[0].measured
    assert findings_of(assessed, FindingKind.MONITORING_GAP)


def test_symptom_start_defaults_to_detection(world):
    """Without a symptom start the impact begins when the incident was detected."""
    assessed = world.declare().assess_impact(actor="alice", severity=Severity.SEV1, ongoing=True)
    assert assessed.impact.symptom_start == DETECTED_AT


def test_symptom_start_in_the_future_is_refused(world):
    """A symptom that starts after now is refused."""
    declared = world.declare()
    with pytest.raises(InvalidInputError, match="in the future"):
        declared.assess_impact(
            actor="alice",
            severity=Severity.SEV1,
            ongoing=True,
            symptom_start=DECLARED_AT.add(minutes=1),
        )
    assert declared.is_current


# -- failing metric sources ------------------------------------------------------------

FAILING_METRIC_SOURCES = [
    pytest.param(lambda: BrokenSource(name="prometheus-down"), id="raises SourceUnavailableError"),
    pytest.param(
        lambda: BrokenSource(RuntimeError("adapter bug"), name="prometheus-bug"),
        id="raises RuntimeError",
    ),
    *(
        pytest.param(
            (lambda kind=kind: GarbageMetricSource(kind)),
            id=f"answers {kind}",
        )
        for kind in GARBAGE_SERIES
    ),
]


@pytest.mark.parametrize("make_source", FAILING_METRIC_SOURCES)
def test_failing_metric_source_during_assessment_is_a_gap(world, make_source):
    """A metric source failing or answering garbage in assessment is a gap; the incident goes on."""
    source = make_source()
    declared = world.declare()
    assessed = declared.assess_impact(
        actor="alice",
        severity=Severity.SEV2,
        ongoing=True,
        symptom_start=SYMPTOM_START,
        measures=[Measure("error_ratio", Metric(source, "errors"))],
    )
    assert isinstance(assessed, Assessed)
    assert assessed.is_current
    assert assessed.impact.figures == ()
    gaps = findings_of(assessed, FindingKind.MONITORING_GAP)
    assert [g.summary for g in gaps] == [
        "an impact figure could not be measured",
        "impact not measurable from monitoring",
    ]
    assert source.name in gaps[0].detail
    gathered = assessed.gather_changes(actor="bob", deploys=[world.deploys])
    assert [c.id for c in gathered.changes] == ["d1"]
    assert_resumes_identically(world, gathered)


def test_one_failing_measure_does_not_spoil_the_others(world):
    """A failing measure is a gap while a working one still yields its figure."""
    assessed = world.declare().assess_impact(
        actor="alice",
        severity=Severity.SEV2,
        ongoing=True,
        symptom_start=SYMPTOM_START,
        measures=[
            Measure("p99", Metric(BrokenSource(name="tempo"), "p99")),
            Measure("error_ratio", world.errors(), reduce="mean"),
        ],
    )
    assert [f.name for f in assessed.impact.figures] == ["error_ratio"]
    assert assessed.impact.measured
    gaps = findings_of(assessed, FindingKind.MONITORING_GAP)
    assert [g.summary for g in gaps] == ["an impact figure could not be measured"]
    assert "tempo" in gaps[0].detail


@pytest.mark.parametrize("make_source", FAILING_METRIC_SOURCES)
@pytest.mark.parametrize("which", ["errors", "traffic"])
def test_failing_metric_source_during_verification_is_inconclusive(world, make_source, which):
    """A metric source that fails or answers garbage mid-verification gives an inconclusive gap."""
    source = make_source()
    intervened = world.intervened()
    world.clock.advance(minutes=20)
    broken = Metric(source, which)
    errors = broken if which == "errors" else world.errors()
    traffic = broken if which == "traffic" else world.traffic()
    after = intervened.verify_recovery(actor="bob", errors=errors, traffic=traffic)
    assert type(after) is Intervened
    assert after.is_current
    verdict = after.last_verdict
    assert verdict.outcome is RecoveryOutcome.INCONCLUSIVE
    assert verdict.monitoring_gap
    gaps = findings_of(after, FindingKind.MONITORING_GAP)
    assert gaps[-1].summary == "recovery could not be verified from monitoring"
    assert source.name in gaps[-1].detail
    recovered = after.verify_recovery(actor="bob", errors=world.errors(), traffic=world.traffic())
    assert isinstance(recovered, Recovered)
    assert_resumes_identically(world, recovered)


# -- gathering changes -------------------------------------------------------------------

FAILING_DEPLOY_SOURCES = [
    pytest.param(lambda: BrokenSource(name="spinnaker"), id="raises SourceUnavailableError"),
    pytest.param(
        lambda: BrokenSource(ValueError("unexpected JSON"), name="spinnaker"),
        id="raises ValueError",
    ),
    *(
        pytest.param((lambda answer=answer: GarbageDeploySource(answer)), id=f"answers {what}")
        for what, answer in GARBAGE_CHANGES.items()
    ),
]


@pytest.mark.parametrize("make_source", FAILING_DEPLOY_SOURCES)
def test_failing_deploy_source_is_a_gap_and_other_sources_still_count(world, make_source):
    """A deploy source that fails or answers garbage is a gap; the other sources' changes count."""
    bad = make_source()
    infra = FakeChangeSource(
        [deploy("tf-1", kind=ChangeKind.INFRASTRUCTURE, service="network", previous_version=None)]
    )
    vendor = FakeDependencySource(
        [deploy("pg-outage", kind=ChangeKind.DEPENDENCY, service="payments-api")]
    )
    good = FakeDeploySource([deploy()], name="github")
    assessed = world.assess(world.declare())
    result = assessed.gather_changes(
        actor="bob", deploys=[bad, good], infrastructure=[infra], dependencies=[vendor]
    )
    assert result is assessed
    assert assessed.is_current
    assert {c.id for c in assessed.changes} == {"d1", "tf-1", "pg-outage"}
    (gathered,) = events_of(assessed, ChangesGathered)
    outcomes = {o.source: o for o in gathered.sources}
    assert not outcomes[bad.name].ok
    assert bad.name in outcomes[bad.name].error
    assert outcomes["github"].ok
    assert outcomes["github"].changes == 1
    assert outcomes["terraform"].ok
    assert outcomes["statuspage"].ok
    gaps = findings_of(assessed, FindingKind.MONITORING_GAP)
    assert [g.summary for g in gaps] == ["a change source could not be read"]
    assert gaps[0].detail == outcomes[bad.name].error
    assert {c.source for c in assessed.changes} == {"github", "terraform", "statuspage"}
    assert_resumes_identically(world, assessed)


def test_gather_needs_a_source(world):
    """Gathering from no source at all is refused."""
    assessed = world.assess(world.declare())
    with pytest.raises(InvalidInputError, match="at least one"):
        assessed.gather_changes(actor="bob")


def test_gather_keeps_only_changes_in_the_window(world):
    """Changes that ended before the lookback window are left out."""
    old = deploy(
        "d0", started=SYMPTOM_START.subtract(hours=9), finished=SYMPTOM_START.subtract(hours=8)
    )
    source = FakeDeploySource([old, deploy()])
    assessed = world.assess(world.declare()).gather_changes(
        actor="bob", deploys=[source], lookback=dt.timedelta(hours=1)
    )
    assert [c.id for c in assessed.changes] == ["d1"]
    assert source.calls == [(SYMPTOM_START.subtract(hours=1), DECLARED_AT)]


# -- reviewing rollbacks -------------------------------------------------------------------


def test_review_with_nothing_gathered_says_so_at_the_call(world):
    """Reviewing before any gathering is refused with how to gather; nothing is journaled."""
    assessed = world.assess(world.declare())
    before = assessed.events
    with pytest.raises(InvalidInputError, match="nothing was gathered to review") as info:
        assessed.review_rollbacks([world.executor], actor="bob")
    assert "gather_changes(" in str(info.value)
    assert "skip_rollback_review(" in str(info.value)
    assert assessed.events == before
    assert assessed.is_current


def test_empty_review_after_an_empty_gathering_is_a_no_rollback_finding(world):
    """A gathering that found nothing makes an empty review valid, with a NO_ROLLBACK_OPTION."""
    assessed = world.assess(world.declare())
    assessed.gather_changes(actor="bob", deploys=[FakeDeploySource([])])
    reviewed = assessed.review_rollbacks([world.executor], actor="bob")
    assert isinstance(reviewed, Reviewed)
    assert reviewed.rollback_options == ()
    (finding,) = findings_of(reviewed, FindingKind.NO_ROLLBACK_OPTION)
    assert finding.detail == "no changes were gathered to review"
    intervened = reviewed.mitigate("failover", actor="bob", why_not_rollback="nothing to revert")
    assert isinstance(intervened, Intervened)


def test_review_where_no_executor_can_help_lists_the_uncovered_changes(world):
    """Changes no executor can roll back are uncovered and named in the finding."""
    world.executor = NoOptionsExecutor()
    reviewed = world.reviewed()
    assert reviewed.uncovered_changes == ("d1",)
    (finding,) = findings_of(reviewed, FindingKind.NO_ROLLBACK_OPTION)
    assert finding.detail == "uncovered changes: d1"


def test_review_with_a_broken_executor_is_a_gap(world):
    """An executor that cannot be asked is a gap; the other executors' options still count."""

    class Unreachable(FakeExecutor):
        def options(self, change):  # noqa: ARG002
            raise ConnectionError("argo unreachable")

    assessed = world.assessed()
    reviewed = assessed.review_rollbacks([Unreachable(name="argo-eu"), world.executor], actor="bob")
    assert [o.executor for o in reviewed.rollback_options] == ["argocd"]
    gaps = findings_of(reviewed, FindingKind.MONITORING_GAP)
    assert gaps[-1].summary == "a rollback executor could not be asked"
    assert "argo-eu" in gaps[-1].detail
    assert not findings_of(reviewed, FindingKind.NO_ROLLBACK_OPTION)


def caveat_kinds(option) -> list[CaveatKind]:
    """Return the kinds of an option's caveats, in order."""
    return [c.kind for c in option.caveats]


@pytest.mark.parametrize(
    ("attributes", "kind"),
    [
        ({"schema_migration": "true"}, CaveatKind.SCHEMA_MIGRATION),
        ({"auto_sync": "true"}, CaveatKind.AUTOMATED_SYNC),
    ],
)
def test_change_attributes_add_caveats(world, attributes, kind):
    """A change that ran a schema migration or is synced automatically gets that caveat."""
    world.deploys = FakeDeploySource([deploy(attributes=attributes), deploy("d2", service="cart")])
    reviewed = world.reviewed()
    by_change = {o.change_id: o for o in reviewed.rollback_options}
    assert kind in caveat_kinds(by_change["d1"])
    assert kind not in caveat_kinds(by_change["d2"])


def test_executor_caveat_is_not_duplicated(world):
    """A caveat the executor already gave is not added a second time."""
    world.deploys = FakeDeploySource([deploy(attributes={"schema_migration": "true"})])
    world.executor = FakeExecutor(caveats=[Caveat(CaveatKind.SCHEMA_MIGRATION, "migration 42")])
    (option,) = world.reviewed().rollback_options
    assert caveat_kinds(option).count(CaveatKind.SCHEMA_MIGRATION) == 1
    assert option.caveats[0].detail == "migration 42"


def test_target_version_deployed_inside_the_symptom_window_is_a_caveat(world):
    """Rolling back to a version that was itself deployed after the symptom began is flagged."""
    d1 = deploy(
        "d1",
        started=SYMPTOM_START.add(minutes=1),
        finished=None,
        version="v2",
        previous_version="v1",
    )
    d2 = deploy(
        "d2",
        started=SYMPTOM_START.add(minutes=2),
        finished=None,
        version="v3",
        previous_version="v2",
    )
    world.deploys = FakeDeploySource([d1, d2])
    reviewed = world.reviewed()
    by_change = {o.change_id: o for o in reviewed.rollback_options}
    assert CaveatKind.TARGET_IN_SYMPTOM_WINDOW in caveat_kinds(by_change["d2"])
    assert CaveatKind.TARGET_IN_SYMPTOM_WINDOW not in caveat_kinds(by_change["d1"])
    (caveat,) = [
        c for c in by_change["d2"].caveats if c.kind is CaveatKind.TARGET_IN_SYMPTOM_WINDOW
    ]
    assert "d1" in caveat.detail


def test_target_version_deployed_before_the_symptom_is_no_caveat(world):
    """A target version that was live before the symptom began is not flagged."""
    d0 = deploy("d0", started=DEPLOY_STARTED.subtract(hours=1), version="v1", previous_version="v0")
    world.deploys = FakeDeploySource([d0, deploy()])
    by_change = {o.change_id: o for o in world.reviewed().rollback_options}
    assert CaveatKind.TARGET_IN_SYMPTOM_WINDOW not in caveat_kinds(by_change["d1"])


@pytest.mark.parametrize("supports_dry_run", [True, False])
def test_no_dry_run_is_a_caveat(world, supports_dry_run):
    """An option the executor cannot rehearse carries a NO_DRY_RUN caveat."""
    world.executor = FakeExecutor(supports_dry_run=supports_dry_run)
    (option,) = world.reviewed().rollback_options
    assert (CaveatKind.NO_DRY_RUN in caveat_kinds(option)) is not supports_dry_run


def test_options_are_ordered_most_suspect_first(world):
    """The change closest to the symptom start is reviewed first."""
    early = deploy(
        "d0", started=DEPLOY_STARTED.subtract(hours=2), finished=DEPLOY_STARTED.subtract(hours=2)
    )
    world.deploys = FakeDeploySource([early, deploy()])
    reviewed = world.reviewed()
    assert [o.change_id for o in reviewed.rollback_options] == ["d1", "d0"]
    assert [c.id for c in reviewed.changes] == ["d1", "d0"]


# -- rolling back ---------------------------------------------------------------------------

FAILING_EXECUTORS = [
    pytest.param(FailingDryRunExecutor, False, "dry run failed", id="dry run fails"),
    pytest.param(RaisingExecuteExecutor, True, "exited with status 1", id="execute raises"),
    pytest.param(CrashingExecuteExecutor, True, "raised KeyError", id="execute crashes"),
    pytest.param(RefusingExecuteExecutor, True, "image pull failed", id="execute reports failure"),
    pytest.param(
        GarbageExecuteExecutor, True, "not a RollbackResult", id="execute answers garbage"
    ),
    pytest.param(RehearsalOnlyExecutor, True, "dry run only", id="execute only rehearses"),
]


@pytest.mark.parametrize(("executor_class", "executed", "why"), FAILING_EXECUTORS)
def test_failed_rollback_is_journaled_and_the_phase_stays(world, executor_class, executed, why):
    """A failed rollback raises RollbackFailedError, is journaled, and leaves the phase current."""
    world.executor = executor_class(on_execute=world.heal_now)
    reviewed = world.reviewed()
    option = reviewed.rollback_options[0]
    before = len(reviewed.events)
    with pytest.raises(RollbackFailedError, match="The attempt is in the journal") as info:
        reviewed.roll_back(option, actor="bob")
    assert why in str(info.value)
    assert info.value.source == world.executor.name
    assert len(reviewed.events) == before + 1
    attempt = reviewed.events[-1]
    assert isinstance(attempt, RollbackExecuted)
    assert attempt.option == option
    assert not attempt.succeeded
    assert attempt.error
    assert (("execute", option.id) in world.executor.calls) is executed
    assert reviewed.phase == "reviewed"
    assert reviewed.is_current
    assert_resumes_identically(world, reviewed)
    reviewed.note("rollback failed, mitigating", actor="bob")
    intervened = reviewed.mitigate("failover to eu-west", actor="bob", why_not_rollback="it failed")
    assert isinstance(intervened, Intervened)
    assert len(events_of(intervened, RollbackExecuted)) == 1


def test_another_option_works_after_a_failed_rollback(world):
    """After one executor's rollback fails, another executor's option succeeds."""
    failing = RaisingExecuteExecutor(name="helm")
    reviewed = world.assessed().review_rollbacks([failing, world.executor], actor="bob")
    helm, argo = reviewed.rollback_options
    assert (helm.executor, argo.executor) == ("helm", "argocd")
    with pytest.raises(RollbackFailedError):
        reviewed.roll_back(helm, actor="bob")
    intervened = reviewed.roll_back(argo, actor="bob")
    assert isinstance(intervened, Intervened)
    attempts = events_of(intervened, RollbackExecuted)
    assert [(a.option.executor, a.succeeded) for a in attempts] == [
        ("helm", False),
        ("argocd", True),
    ]
    assert world.executor.live == {"checkout": "v1"}


def test_failed_rollback_after_intervening_stays_intervened(world):
    """A failed second rollback leaves an intervened incident intervened and current."""
    intervened = world.intervened()
    option = intervened.rollback_options[0]
    with pytest.raises(RollbackFailedError):
        intervened.roll_back(option, actor="bob", executor=RaisingExecuteExecutor())
    assert intervened.is_current
    assert intervened.phase == "intervened"
    assert_resumes_identically(world, intervened)


def test_rollback_rehearses_first(world):
    """A rollback that can be rehearsed is dry-run before it is executed, unless told not to."""
    reviewed = world.reviewed()
    option = reviewed.rollback_options[0]
    intervened = reviewed.roll_back(option, actor="bob")
    assert world.executor.calls[-2:] == [("dry_run", option.id), ("execute", option.id)]
    (attempt,) = events_of(intervened, RollbackExecuted)
    assert attempt.rehearsal.dry_run
    assert attempt.result.live_version == "v1"
    intervened.roll_back(option, actor="bob", rehearse=False)
    assert world.executor.calls[-1] == ("execute", option.id)
    assert world.executor.calls[-2] == ("execute", option.id)


def test_rollback_option_must_come_from_the_latest_review(world):
    """An option that the latest review did not offer is refused before anything runs."""
    reviewed = world.reviewed()
    option = reviewed.rollback_options[0]
    forged = type(option)("argocd:d9", "argocd", "d9", "checkout", "v2", "v0")
    with pytest.raises(InvalidInputError, match="not one of the latest review's options"):
        reviewed.roll_back(forged, actor="bob")
    assert ("execute", forged.id) not in world.executor.calls
    assert reviewed.is_current


def test_resumed_rollback_needs_the_executor(world):
    """After a resume the executor must be passed again; with it the rollback works."""
    world.reviewed()
    resumed = Incident.resume(world.path, clock=world.clock)
    assert isinstance(resumed, Reviewed)
    option = resumed.rollback_options[0]
    with pytest.raises(InvalidInputError, match="pass executor="):
        resumed.roll_back(option, actor="bob")
    intervened = resumed.roll_back(option, actor="bob", executor=world.executor)
    assert isinstance(intervened, Intervened)


# -- naive datetimes ----------------------------------------------------------------------

NAIVE = dt.datetime(2026, 11, 20, 14, 5)  # noqa: DTZ001 - the naive datetime under test
QUERY = MetricQuery("prometheus", "errors", SYMPTOM_START, DECLARED_AT, 60)


class NaiveClock:
    """**Clock** that wrongly answers a naive datetime."""

    def now(self):
        """Return a naive datetime."""
        return NAIVE


NAIVE_ENTRIES = [
    pytest.param(lambda w: w.declare(detected_at=NAIVE), id="declare detected_at"),
    pytest.param(lambda w: w.declare(clock=NaiveClock()), id="a clock's now()"),
    pytest.param(
        lambda w: w.declare().assess_impact(
            actor="alice", severity=Severity.SEV2, ongoing=True, symptom_start=NAIVE
        ),
        id="assess_impact symptom_start",
    ),
    pytest.param(lambda _w: Change("d", ChangeKind.DEPLOY, "svc", NAIVE), id="Change started"),
    pytest.param(
        lambda _w: Change("d", ChangeKind.DEPLOY, "svc", SYMPTOM_START, NAIVE),
        id="Change finished",
    ),
    pytest.param(lambda _w: Series.from_pairs(QUERY, [(NAIVE, 0.1)]), id="Series.from_pairs"),
    pytest.param(lambda _w: MetricQuery("p", "q", NAIVE, DECLARED_AT, 60), id="MetricQuery"),
    pytest.param(lambda _w: ManualClock(NAIVE), id="ManualClock"),
    pytest.param(lambda w: w.clock.set(NAIVE), id="ManualClock.set"),
    pytest.param(
        lambda _w: Sample(NAIVE, 0.1),
        id="Sample",
    ),
]


@pytest.mark.parametrize("enter", NAIVE_ENTRIES)
def test_naive_datetimes_are_rejected_where_they_enter(world, enter):
    """Every way a naive datetime can enter raises NaiveDatetimeError, an InvalidInputError."""
    with pytest.raises(NaiveDatetimeError, match="naive datetime") as info:
        enter(world)
    assert isinstance(info.value, InvalidInputError)
    assert isinstance(info.value, ValueError)


def test_declaration_with_a_naive_datetime_writes_no_journal(world):
    """A refused declaration leaves no journal file behind."""
    with pytest.raises(NaiveDatetimeError):
        world.declare(detected_at=NAIVE)
    assert not world.path.exists()


def test_assessment_with_a_naive_datetime_journals_nothing(world):
    """A refused assessment journals nothing and leaves the declared phase current."""
    declared = world.declare()
    with pytest.raises(NaiveDatetimeError):
        declared.assess_impact(actor="a", severity=Severity.SEV2, ongoing=True, symptom_start=NAIVE)
    assert declared.is_current
    assert len(declared.events) == 1
    assert len(Incident.resume(world.path).events) == 1


@given(naive=naive_datetimes())
def test_any_naive_datetime_is_rejected_by_change_and_series(naive):
    """Whatever the naive datetime, Change and Series.from_pairs refuse it."""
    with pytest.raises(NaiveDatetimeError):
        Change("d", ChangeKind.DEPLOY, "svc", naive)
    with pytest.raises(NaiveDatetimeError):
        Series.from_pairs(QUERY, [(SYMPTOM_START, 0.1), (naive, 0.2)])


def test_aware_datetimes_in_other_zones_become_utc(world):
    """An aware datetime in another zone is accepted and stored as the same instant in UTC."""
    paris = pendulum.instance(DETECTED_AT).in_timezone("Europe/Paris")
    declared = world.declare(detected_at=paris)
    declaration = declared.events[0]
    assert declaration.detected_at == DETECTED_AT
    assert declaration.detected_at.utcoffset() == dt.timedelta(0)
    assert Incident.resume(world.path).events == declared.events


# -- resuming -------------------------------------------------------------------------------


def test_override_path_resumes_identically_after_every_step(world):
    """On the override path, resuming after every step gives the live phase and events."""
    steps = [
        lambda p: world.assess(p, measured=False),
        lambda p: p.gather_changes(actor="bob", deploys=[BrokenSource()]),
        lambda p: p.skip_rollback_review(actor="alice", reason="no time"),
        lambda p: p.mitigate("drained eu-west", actor="bob", why_not_rollback="nothing gathered"),
        lambda p: p.verify_recovery(actor="bob", errors=world.errors(), traffic=world.traffic()),
        lambda p: p.diagnose_without_recovery(actor="alice", reason="still failing"),
        lambda p: p.hypothesis("dns", actor="alice", evidence=[Evidence.link("https://x/y")]),
        lambda p: p.reject_hypothesis("H1", actor="alice", reason="dns fine"),
        lambda p: p.waive(ChecklistItem.DEPLOYS, actor="alice", reason="source down"),
        lambda p: p.waive(ChecklistItem.INFRASTRUCTURE, actor="alice", reason="none"),
        lambda p: p.waive(ChecklistItem.DEPENDENCIES, actor="alice", reason="none"),
        lambda p: p.resolve(actor="alice", root_cause="unknown", evidence=[Evidence.text("?")]),
    ]
    phase = world.declare()
    assert_resumes_identically(world, phase)
    for step in steps:
        world.clock.advance(minutes=1)
        phase = step(phase)
        assert_resumes_identically(world, phase)
    assert isinstance(phase, Resolved)


def test_resumed_incident_carries_on(world):
    """A resumed incident is current and takes the next step; the journal stays valid."""
    world.intervened()
    resumed = Incident.resume(world.path, clock=world.clock)
    assert isinstance(resumed, Intervened)
    assert resumed.is_current
    world.clock.advance(minutes=20)
    recovered = resumed.verify_recovery(actor="bob", errors=world.errors(), traffic=world.traffic())
    assert isinstance(recovered, Recovered)
    assert verify_journal(world.path).ok
    assert_resumes_identically(world, recovered)


def craft(path, events) -> None:
    """Write ``events`` to a new journal with an intact hash chain, rules or no rules."""
    journal = Journal.create(path)
    for event in events:
        journal.append(unstructure_event(event))


ALICE = Actor("alice")
DECLARATION = IncidentDeclared(
    DECLARED_AT, ALICE, "INC-1", "Checkout 5xx", ("checkout",), Detection.ALERT, DETECTED_AT
)


def _impact_event() -> ImpactAssessed:
    return ImpactAssessed(DECLARED_AT, ALICE, Impact(Severity.SEV2, True, SYMPTOM_START))


OUT_OF_ORDER = {
    "diagnosis before recovery": [DECLARATION, DiagnosisBegun(DECLARED_AT, ALICE)],
    "resolved at once": [
        DECLARATION,
        IncidentResolved(DECLARED_AT, ALICE, "x", (Evidence.text("x"),)),
    ],
    "impact assessed twice": [DECLARATION, _impact_event(), _impact_event()],
    "declared twice": [DECLARATION, DECLARATION],
    "an override to the wrong phase": [
        DECLARATION,
        OverrideRecorded(
            DECLARED_AT, ALICE, "diagnose_without_recovery", "declared", "resolved", "x"
        ),
    ],
    "an override from the wrong phase": [
        DECLARATION,
        _impact_event(),
        OverrideRecorded(DECLARED_AT, ALICE, "skip_rollback_review", "declared", "reviewed", "x"),
    ],
}


@pytest.mark.parametrize("events", OUT_OF_ORDER.values(), ids=OUT_OF_ORDER.keys())
def test_resume_refuses_events_that_break_the_order(world, events):
    """A journal whose chain is intact but whose events break the protocol does not resume."""
    craft(world.path, events)
    assert verify_journal(world.path).ok
    with pytest.raises(JournalCorruptedError, match="breaks the protocol") as info:
        Incident.resume(world.path)
    assert f"record {len(events) - 1}" in str(info.value)
    assert info.value.path == str(world.path)


def test_resume_refuses_a_journal_that_does_not_start_with_a_declaration(world):
    """The first record must be the declaration."""
    craft(world.path, [NoteAdded(DECLARED_AT, ALICE, "hello")])
    with pytest.raises(JournalCorruptedError, match="not incident_declared"):
        Incident.resume(world.path)


def test_resume_refuses_records_that_are_not_events(world):
    """A record whose body is no known event is corruption."""
    journal = Journal.create(world.path)
    journal.append(unstructure_event(DECLARATION))
    journal.append({"type": "coffee_brewed", "at": "2026-11-20T14:11:00.000000Z"})
    with pytest.raises(JournalCorruptedError, match="record 1 is not a valid event"):
        Incident.resume(world.path)
    assert gc.isenabled()


def test_resume_restores_the_garbage_collector_as_it_found_it(world):
    """Resume pauses the cyclic collector while folding and leaves it as it was."""
    world.declare()
    assert gc.isenabled()
    Incident.resume(world.path)
    assert gc.isenabled()
    gc.disable()
    try:
        Incident.resume(world.path)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_resume_refuses_a_forged_body_that_is_not_json(world):
    """A body matching a recomputed digest but not JSON is corruption on resume."""
    world.declare()
    lines = world.path.read_bytes().splitlines(keepends=True)
    raw = lines[-1].replace(b'"type":"incident_declared"}', b'"type":"incident_declared",}')
    digest = hashlib.sha256(raw[raw.index(b'"seq":') : -2]).hexdigest().encode()
    world.path.write_bytes(b"".join([*lines[:-1], raw[:17] + digest + raw[81:]]))
    with pytest.raises(JournalCorruptedError, match="record 0's body matches its digest but"):
        Incident.resume(world.path)
    assert gc.isenabled()


def test_resume_refuses_an_empty_journal(world):
    """An empty journal holds no incident."""
    Journal.create(world.path)
    with pytest.raises(JournalCorruptedError, match="holds no events"):
        Incident.resume(world.path)


# -- two writers ------------------------------------------------------------------------------


def test_second_writer_gets_concurrent_append_error(world):
    """Of two incident objects resumed from one journal, the second to write is refused."""
    declared = world.declare()
    first = Incident.resume(world.path, clock=world.clock)
    second = Incident.resume(world.path, clock=world.clock)
    first.note("first writer", actor="alice")
    with pytest.raises(ConcurrentAppendError, match=r"first writer\. Call refresh\(\)") as info:
        second.note("second writer", actor="bob")
    assert info.value.path == str(world.path)
    with pytest.raises(ConcurrentAppendError):
        declared.note("the original object", actor="carol")
    resumed = Incident.resume(world.path)
    assert [e.text for e in events_of(resumed, NoteAdded)] == ["first writer"]
    assert len(second.events) == 1
    assert verify_journal(world.path).ok


def test_retry_after_concurrent_append_error_is_refused_again(world):
    """Retrying a step on an out-of-date object is refused again, so the journal stays resumable."""
    world.declare()
    first = Incident.resume(world.path, clock=world.clock)
    second = Incident.resume(world.path, clock=world.clock)
    world.assess(first)
    with pytest.raises(ConcurrentAppendError):
        world.assess(second)
    with contextlib.suppress(ConcurrentAppendError):
        world.assess(second)
    Incident.resume(world.path)


# -- the report and the timeline ----------------------------------------------------------------


def test_report_markdown_has_the_sections_and_the_root_cause(world):
    """The Markdown report has every section, the root cause and its evidence."""
    report = world.resolved().report()
    markdown = report.to_markdown()
    sections = [
        "## Impact",
        "## Time to",
        "## Suspects: changes before the symptom, ranked",
        "## Interventions",
        "## Recovery evidence",
        "## Findings",
        "## Diagnosis",
        "## Root cause",
        "## Timeline",
    ]
    positions = [markdown.index(section) for section in sections]
    assert positions == sorted(positions)
    assert markdown.startswith(f"# {report.incident_id}: Checkout returns 5xx\n")
    root_cause = markdown.split("## Root cause")[1].split("## Timeline")[0]
    assert "deploy d1 shipped a null-pointer bug in the price formatter" in root_cause
    assert "Evidence: change: d1" in root_cause
    assert "`d1`" in markdown
    assert "**recovered**" in markdown


def test_report_json_parses_and_has_the_time_to_figures(world):
    """The JSON report parses and holds the time-to figures, in seconds from the symptom start."""
    resolved = world.resolved()
    data = json.loads(resolved.report().to_json())
    rollback = events_of(resolved, RollbackExecuted)[0]
    recovered = next(
        e
        for e in events_of(resolved, RecoveryChecked)
        if e.verdict.outcome is RecoveryOutcome.RECOVERED
    )
    resolution = events_of(resolved, IncidentResolved)[0]

    def since_symptom(at):
        return (at - SYMPTOM_START).total_seconds()

    assert data["time_to"] == {
        "detect": 120.0,
        "declare": 240.0,
        "assess": 240.0,
        "first_intervention": since_symptom(rollback.at),
        "recovery_verified": since_symptom(recovered.at),
        "resolve": since_symptom(resolution.at),
        "symptom_ended": since_symptom(recovered.verdict.healthy_since),
    }
    assert 0 < data["time_to"]["symptom_ended"] < data["time_to"]["recovery_verified"]
    assert data["root_cause"] == resolution.root_cause
    assert data["incident_id"] == resolved.incident_id
    assert data["impact"]["symptom_start"] == "2026-11-20T14:07:00.000000Z"
    assert data["journal_head"]["seq"] == len(resolved.events) - 1
    assert [s["change"]["id"] for s in data["suspects"]] == ["d1"]
    assert data["suspects"][0]["reasons"][0]["detail"]


def test_timeline_is_ordered_and_has_the_symptom_window(world):
    """The timeline is in time order, with the change, the symptom start and end, and every step."""
    resolved = world.resolved()
    timeline = resolved.timeline()
    instants = [entry.at for entry in timeline]
    assert instants == sorted(instants)
    symptom = [e for e in timeline if e.kind == "symptom"]
    assert symptom[0].at == SYMPTOM_START
    assert symptom[0].summary == "symptom began (as assessed)"
    assert symptom[0].offset == 0.0
    assert symptom[1].summary == "symptom ended (back at baseline, held)"
    assert symptom[1].at == resolved.report().recovery[-1].verdict.healthy_since
    (change,) = [e for e in timeline if e.kind == "change"]
    assert change.at == DEPLOY_STARTED
    assert change.offset == (DEPLOY_STARTED - SYMPTOM_START).total_seconds()
    steps = [e for e in timeline if e.kind == "step"]
    assert [e.seq for e in steps] == list(range(len(resolved.events)))
    assert timeline.index(change) < timeline.index(symptom[0]) < timeline.index(steps[0])
    assert tuple(timeline) == resolved.report().timeline


def test_timeline_before_assessment_has_no_symptom_entry(world):
    """Before the impact is assessed the timeline holds only the steps, without offsets."""
    timeline = world.declare().timeline()
    assert [e.kind for e in timeline] == ["step"]
    assert timeline[0].offset is None


def test_findings_are_in_journal_order_in_the_report(world):
    """The report lists findings in journal order with the entry each came from."""
    intervened = world.intervened()
    intervened.finding("alert fired late", actor="bob")
    world.clock.advance(minutes=20)
    recovered = intervened.verify_recovery(
        actor="bob", errors=world.errors(), traffic=world.traffic()
    )
    diagnosing = recovered.begin_diagnosis(actor="alice")
    for item in ChecklistItem:
        diagnosing.waive(item, actor="alice", reason="n/a")
    report = diagnosing.resolve(
        actor="alice", root_cause="d1", evidence=[Evidence.change("d1")]
    ).report()
    (listed,) = report.findings
    assert listed.finding.summary == "alert fired late"
    assert isinstance(diagnosing.events[listed.seq], FindingRecorded)


# -- declaring ---------------------------------------------------------------------------------


def test_declaration_is_the_first_event(world):
    """Declaring writes the declaration with its title, services and detection."""
    declared = world.declare(services=["checkout", "cart"], incident_id="INC-42")
    (event,) = declared.events
    assert isinstance(event, IncidentDeclared)
    assert (declared.incident_id, declared.services) == ("INC-42", ("checkout", "cart"))
    assert event.at == DECLARED_AT
    assert declared.journal_path == str(world.path)
    assert declared.anchor.seq == 0


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"services": []}, "services"),
        ({"services": ["checkout", " "]}, "services"),
        ({"title": ""}, "title"),
        ({"detected_at": DECLARED_AT.add(seconds=1)}, "in the future"),
        ({"detection": "alert"}, "Detection"),
    ],
    ids=["no services", "blank service", "blank title", "detected in the future", "bad detection"],
)
def test_declaration_rejects_bad_input(world, overrides, match):
    """A declaration with unusable input is refused and writes no journal."""
    with pytest.raises(InvalidInputError, match=match):
        world.declare(**overrides)
    assert not world.path.exists()


def test_declaring_over_an_existing_journal_is_refused(world):
    """A journal path already in use cannot be declared again."""
    world.declare()
    with pytest.raises(IncidentkitError, match="never overwrites"):
        world.declare()


def test_incident_cannot_be_built_directly():
    """Incident() is refused: an incident is declared or resumed."""
    with pytest.raises(TypeError, match="declare"):
        Incident()


def test_report_ranks_the_suspects_with_their_reasons(world):
    """The report ranks the gathered changes, best suspect first, each with its reasons."""
    report = world.resolved().report()
    assert report.suspects
    scores = [suspect.score for suspect in report.suspects]
    assert scores == sorted(scores, reverse=True)
    assert all(suspect.reasons for suspect in report.suspects)
    assert report.suspect_verdict
    section = report.to_markdown().split("## Suspects")[1].split("## Interventions")[0]
    assert report.suspects[0].change.id in section
    assert report.suspects[0].reasons[0].detail in section


def test_update_impact_without_an_assessment_is_refused_not_a_crash(world):
    """Diagnosis by override straight from declared, then update_impact: a protocol violation."""
    declared = reach(world, "declared")
    diagnosing = declared.diagnose_without_recovery(actor="bob", reason="no metrics at all")
    with pytest.raises(ProtocolViolation, match="went to diagnosis without one"):
        diagnosing.update_impact(actor="bob", reason="EU too", severity=Severity.SEV2)
    assert diagnosing.phase == "diagnosing"


# -- hostile arguments to the steps: refused by name, nothing recorded, the phase carries on --


def _lines(world: World) -> bytes:
    return world.path.read_bytes()


HOSTILE_STEPS = [
    pytest.param(
        "declared",
        "finding",
        {"summary": "x", "kind": "observation"},
        "kind must be a FindingKind",
        id="finding-kind",
    ),
    pytest.param(
        "declared",
        "finding",
        {"summary": 7},
        "summary must be a non-empty string",
        id="finding-summary",
    ),
    pytest.param(
        "declared",
        "assess_impact",
        {"ongoing": True, "severity": "sev2", "errors": "errors"},
        "errors must be a Metric, Counts",
        id="assess-errors",
    ),
    pytest.param(
        "declared",
        "assess_impact",
        {"ongoing": True, "severity": "sev2", "traffic": 850.0},
        "traffic must be a Metric",
        id="assess-traffic",
    ),
    pytest.param(
        "declared",
        "assess_impact",
        {"ongoing": True, "severity": "sev2", "users": [1]},
        "users must be a Metric",
        id="assess-users",
    ),
    pytest.param(
        "declared",
        "assess_impact",
        {"ongoing": True, "severity": "sev2", "services": None},
        "services must be a name",
        id="assess-services",
    ),
    pytest.param(
        "declared",
        "assess_impact",
        {"ongoing": True, "severity": "sev2", "regions": 3},
        "regions must be a name",
        id="assess-regions",
    ),
    pytest.param(
        "declared",
        "assess_impact",
        {"ongoing": True, "severity": "sev2", "measures": None},
        "measures must be a list of Measure",
        id="assess-measures",
    ),
    pytest.param(
        "declared",
        "assess_impact",
        {"ongoing": True, "severity": "sev2", "stated": [3]},
        r"stated\[0\] must be a Figure",
        id="assess-stated",
    ),
    pytest.param(
        "declared",
        "assess_impact",
        {"ongoing": True, "severity": "sev2", "timeout": 10**400},
        "timeout must be a positive duration",
        id="assess-timeout-huge",
    ),
    pytest.param(
        "declared",
        "assess_impact",
        {"ongoing": True, "severity": "sev2", "timeout": math.inf},
        "timeout must be a positive duration",
        id="assess-timeout-inf",
    ),
    pytest.param(
        "assessed",
        "update_impact",
        {"reason": "r", "services": 5},
        "services must be a name",
        id="update-services",
    ),
    pytest.param(
        "assessed",
        "update_impact",
        {"reason": "r", "stated": None},
        "stated must be a list of Figure",
        id="update-stated",
    ),
    pytest.param(
        "assessed",
        "review_rollbacks",
        {"executors": "EXECUTOR", "changes": ["d1"]},
        r"changes\[0\] must be a Change",
        id="review-changes",
    ),
    pytest.param(
        "assessed",
        "gather_changes",
        {"deploys": "DEPLOYS", "lookback": 1e11},
        "lookback of 1e.11 s reaches back before the year 1",
        id="gather-lookback",
    ),
    pytest.param(
        "assessed",
        "verify_recovery",
        {"errors": None},
        "errors must be a Metric, Counts",
        id="verify-errors",
    ),
    pytest.param(
        "assessed",
        "verify_recovery",
        {"errors": "ERRORS", "traffic": "traffic"},
        "traffic must be a Metric",
        id="verify-traffic",
    ),
    pytest.param(
        "assessed",
        "verify_recovery",
        {"errors": "ERRORS", "policy": {"hold": 60}},
        "policy must be a RecoveryPolicy",
        id="verify-policy",
    ),
    pytest.param(
        "assessed",
        "verify_recovery",
        {"errors": "ERRORS", "traffic": "TRAFFIC", "baseline": 1e308},
        "baseline of 1e.308 s reaches back before the year 1",
        id="verify-baseline",
    ),
    pytest.param(
        "reviewed",
        "mitigate",
        {"action": "a", "why_not_rollback": "w", "kind": "other"},
        "kind must be a MitigationKind",
        id="mitigate-kind",
    ),
    pytest.param(
        "reviewed",
        "roll_back",
        {"option": "OPTION", "executor": "bob"},
        "executor must be a RollbackExecutor",
        id="roll-back-executor",
    ),
    pytest.param(
        "diagnosing",
        "hypothesis",
        {"statement": "s", "evidence": None},
        "takes a list of Evidence",
        id="hypothesis-evidence",
    ),
    pytest.param(
        "diagnosing",
        "reject_hypothesis",
        {"hypothesis_id": ["H1"], "reason": "r"},
        "hypothesis_id must be a non-empty string",
        id="reject-id",
    ),
    pytest.param(
        "diagnosing",
        "resolve",
        {"root_cause": "rc", "evidence": 5},
        "takes a list of Evidence",
        id="resolve-evidence",
    ),
]


@pytest.mark.parametrize(("phase", "step", "arguments", "match"), HOSTILE_STEPS)
def test_a_step_given_the_wrong_type_refuses_it_by_name_and_records_nothing(
    world, phase, step, arguments, match
):
    """A wrong type or value: InvalidInputError naming it, the journal untouched, a live phase."""
    current = reach(world, phase)
    actor = "alice"
    arguments = dict(arguments)
    for name, value in arguments.items():
        if value == "EXECUTOR":
            arguments[name] = [world.executor]
        elif value == "ERRORS":
            arguments[name] = world.errors()
        elif value == "DEPLOYS":
            arguments[name] = [world.deploys]
        elif value == "TRAFFIC":
            arguments[name] = world.traffic()
        elif value == "OPTION":
            arguments[name] = current.rollback_options[0]
    before = _lines(world)
    with pytest.raises(InvalidInputError, match=match):
        getattr(current, step)(actor=actor, **arguments)
    assert _lines(world) == before
    assert verify_journal(world.path).ok
    current.note("still here", actor="alice")
    assert verify_journal(world.path).ok


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ({"services": 7}, "services must name at least one affected service"),
        ({"services": None}, "services must name at least one affected service"),
        ({"depends_on": "db"}, "depends_on must map services"),
        ({"depends_on": {"checkout": 5}}, r"depends_on\['checkout'\] must be a list"),
        ({"depends_on": {7: ["db"]}}, "depends_on's keys must be service names, not int 7"),
        ({"depends_on": {"checkout": ["db", None]}}, r"must list service names, not NoneType"),
        ({"detected_at": 10**400}, "digits of Unix seconds"),
        ({"lock_timeout": 10**400}, "lock_timeout must be a finite number"),
    ],
    ids=str,
)
def test_declare_refuses_the_wrong_type_by_name_and_creates_no_journal(world, arguments, match):
    """A number for the services, a string for the map: a clear error and no journal."""
    with pytest.raises(InvalidInputError, match=match):
        world.declare(**arguments)
    assert not world.path.exists()


def test_a_lone_dependency_is_one_name_not_its_letters(world):
    """depends_on={"checkout": "db"} journals the dependency "db", as rank_suspects reads it."""
    declared = world.declare(depends_on={"checkout": "db"})
    first = declared.events[0]
    assert isinstance(first, IncidentDeclared)
    assert first.depends_on == {"checkout": ("db",)}


def test_an_assessment_given_one_region_as_a_string_keeps_it_whole(world):
    """regions="eu-west-1" is one region, not nine letters."""
    assessed = world.declare().assess_impact(
        actor="alice", ongoing=True, severity="sev2", regions="eu-west-1", services="checkout"
    )
    assert assessed.impact.regions == ("eu-west-1",)
    assert assessed.impact.services == ("checkout",)


@pytest.mark.parametrize("anchor", [7, ["0:abc"], {"seq": 0}])
def test_an_anchor_of_the_wrong_type_is_refused_by_name(world, anchor):
    """Resuming or verifying with an anchor that is not one: InvalidInputError by name."""
    world.declare()
    with pytest.raises(InvalidInputError, match="anchor must be an Anchor"):
        Incident.resume(world.path, anchor=anchor)
    with pytest.raises(InvalidInputError, match="anchor must be an Anchor"):
        verify_journal(world.path, anchor=anchor)
