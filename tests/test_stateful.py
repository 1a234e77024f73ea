from __future__ import annotations

import datetime as dt
import pathlib
import shutil
import tempfile

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from fakes import (
    BrokenSource,
    FailingDryRunExecutor,
    FakeChangeSource,
    FakeDependencySource,
    FakeExecutor,
    GarbageDeploySource,
    GarbageExecuteExecutor,
    GarbageMetricSource,
    NoOptionsExecutor,
    RaisingExecuteExecutor,
    RehearsalOnlyExecutor,
    World,
    deploy,
)
from incidentkit import (
    ChangeKind,
    ChecklistItem,
    ConcurrentAppendError,
    Evidence,
    Figure,
    FindingKind,
    Incident,
    InvalidInputError,
    Measure,
    Metric,
    MitigationKind,
    ProtocolViolation,
    RecoveryOutcome,
    Report,
    Role,
    RollbackFailedError,
    RollbackOption,
    Severity,
    StalePhaseError,
    StepNotAvailable,
    TimeOrderError,
    verify_journal,
)
from incidentkit._state import STEP_REQUIREMENTS
from incidentkit.events import (
    ChecklistItemChecked,
    ChecklistItemWaived,
    OverrideRecorded,
    RecoveryChecked,
    RollbackExecuted,
)
from strategies import actors, texts

STEP_WEIGHTS = {
    "note": 3,
    "finding": 3,
    "report": 3,
    "resume": 3,
    "wait": 12,
    "hypothesis": 6,
    "reject_hypothesis": 4,
    "skip_rollback_review": 1,
    "diagnose_without_recovery": 1,
    "update_impact": 4,
    "hand_over": 4,
    "follow_up": 4,
    "correct_clock": 2,
    "other_writer": 4,
}
"""How often each allowed step is drawn, relative to the default of 20.

Overrides are rare so that most runs get through the ordinary protocol;
both are absorbing shortcuts that would otherwise end most runs early.
"""
NEXT_STEPS = {
    "declared": {"assess_impact"},
    "assessed": {"review_rollbacks"},  # gather_changes first, while nothing is gathered
    "reviewed": {"roll_back", "mitigate"},
    "intervened": {"verify_recovery", "wait"},
    "recovered": {"begin_diagnosis"},
    "diagnosing": {"check", "waive", "resolve"},
    "resolved": {"report"},
}
"""The steps that move each phase on, drawn with weight 40 there."""
AGAIN_WEIGHT = 3
"""Intervening or reviewing again once intervened restarts the hold: drawn rarely."""
AGAIN_STEPS = frozenset({"roll_back", "mitigate", "review_rollbacks"})
METRIC_STEP = 180.0
BASELINE = dt.timedelta(minutes=30)
"""Coarse metrics over a short baseline keep the journal, replayed after every step, small."""
FORGED_OPTION = RollbackOption("argocd:d9", "argocd", "d9", "checkout", "v2", "v1")
"""An option no review offered."""


class IncidentMachine(RuleBasedStateMachine):
    """Drives one incident through random steps on whatever phase object is current.

    Forbidden steps must be refused (``StepNotAvailable`` when the step does
    not exist, ``ProtocolViolation`` when it exists but its conditions do not
    hold) without touching the journal; allowed ones move the incident on.
    """

    def __init__(self) -> None:
        super().__init__()
        self.directory = pathlib.Path(tempfile.mkdtemp(prefix="incidentkit-stateful-"))
        self.world = World(self.directory)
        self.phase = self.world.declare()
        self.behind = 0  # records another writer appended that this machine has not folded

    def teardown(self) -> None:
        """Remove the incident's directory."""
        shutil.rmtree(self.directory, ignore_errors=True)

    # -- the harness ---------------------------------------------------------

    def attempt(self, step: str, call) -> None:
        """Take ``step`` on the current phase via ``call(method)`` and check how it went."""
        self.world.clock.advance(minutes=1)
        phase = self.phase
        allowed = phase.phase in STEP_REQUIREMENTS[step][0]
        before = phase.events
        try:
            method = getattr(phase, step)
        except StepNotAvailable as error:
            assert not allowed, f"{step} is allowed in {phase.phase} but missing"
            assert (error.phase, error.attempted) == (phase.phase, step)  # noqa: PT017
            return
        assert allowed, f"{step} exists on {phase.phase} but is not allowed there"
        try:
            result = call(method)
        except StalePhaseError:  # the machine only ever uses the current object
            raise
        except ConcurrentAppendError as error:
            # Another responder wrote first: nothing of ours was written; catch up, retry.
            assert self.behind, f"{step} lost a race nobody ran: {error}"  # noqa: PT017 - see below
            assert phase.events == before
            assert "refresh()" in str(error)  # noqa: PT017 - a retry loop, not a raises check
            self.phase = phase.refresh()
            assert len(self.phase.events) == len(before) + self.behind
            self.behind = 0
            self.attempt(step, call)
            return
        except RollbackFailedError:
            assert phase.is_current
            attempt = phase.events[-1]
            assert isinstance(attempt, RollbackExecuted)
            assert attempt.error
            assert len(phase.events) == len(before) + 1
            return
        except (ProtocolViolation, InvalidInputError):
            assert phase.is_current
            assert phase.events == before, f"a refused {step} journaled something"
            return
        if isinstance(result, Report):
            assert phase.events == before
            return
        assert result.is_current
        assert result is phase or not phase.is_current
        self.phase = result

    def executor(self, which: str) -> FakeExecutor | None:
        """Return an executor by the way it behaves (``None``: the one the review used)."""
        if which == "the reviewed one":
            return None
        if which == "good":
            return self.world.executor
        kinds = {
            "failing dry run": FailingDryRunExecutor,
            "raising": RaisingExecuteExecutor,
            "garbage": GarbageExecuteExecutor,
            "rehearsal only": RehearsalOnlyExecutor,
            "no options": NoOptionsExecutor,
        }
        # Any rollback that does run heals the metrics, as the world's own does.
        return kinds[which](on_execute=self.world.heal_now)

    # -- the steps, each drawing its arguments ------------------------------

    @rule(data=st.data())
    def take_step(self, data):
        """Take a step: mostly one the current phase allows, sometimes one it forbids."""
        allowed = [
            s for s, (phases, _why) in STEP_REQUIREMENTS.items() if self.phase.phase in phases
        ]
        forbidden = sorted(set(STEP_REQUIREMENTS) - set(allowed))
        if forbidden and data.draw(st.integers(0, 3), label="a forbidden step?") == 0:
            step = data.draw(st.sampled_from(forbidden), label="step")
        else:
            preferred = NEXT_STEPS[self.phase.phase]
            if self.phase.phase == "assessed" and not self.phase.changes:
                preferred = {"gather_changes"}
            if self.phase.phase == "reviewed" and not self.phase.rollback_options:
                preferred = {"mitigate", "gather_changes", "review_rollbacks"}

            def weight(step: str) -> int:
                if step in preferred:
                    return 40
                if self.phase.phase == "intervened" and step in AGAIN_STEPS:
                    return AGAIN_WEIGHT
                return STEP_WEIGHTS.get(step, 20)

            extra = ["wait", "resume", "other_writer"]
            weighted = [s for s in [*allowed, *extra] for _ in range(weight(s))]
            step = data.draw(st.sampled_from(weighted), label="step")
        getattr(self, f"do_{step}")(data.draw)

    def do_note(self, draw):
        """Write a note."""
        text, actor = draw(texts()), draw(actors())
        self.attempt("note", lambda m: m(text, actor=actor))

    def do_update_impact(self, draw):
        """Escalate, de-escalate or restate the impact, sometimes changing nothing."""
        severity = draw(st.sampled_from([None, *Severity]))
        ongoing = draw(st.sampled_from([None, True, False]))
        reason = draw(texts())
        self.attempt(
            "update_impact",
            lambda m: m(actor="alice", severity=severity, ongoing=ongoing, reason=reason),
        )

    def do_hand_over(self, draw):
        """Hand a role to a responder, maybe the one who holds it already."""
        role = draw(st.sampled_from(Role))
        to = draw(st.sampled_from(["carol", "dana", "erin"]))
        self.attempt("hand_over", lambda m: m(role, to=to, actor="alice"))

    def do_follow_up(self, draw):
        """Add a follow-up action item."""
        action, owner = draw(texts()), draw(st.sampled_from(["dana", "erin"]))
        self.attempt("follow_up", lambda m: m(action, owner=owner, actor="bob"))

    def do_correct_clock(self, draw):
        """Set the clock back, then either correct it on record or just try a note."""
        self.world.clock.rewind(minutes=draw(st.integers(1, 30)))
        if draw(st.booleans()):
            self.attempt("correct_clock", lambda m: m(actor="alice", reason="NTP was off"))
        else:
            self.attempt("note", lambda m: m("the clock is behind", actor="bob"))

    def do_other_writer(self, draw):
        """Another responder, in another process, appends a note to the same journal."""
        other = Incident.resume(self.world.path, clock=self.world.clock)
        try:
            other.note(draw(texts()), actor="second responder")
        except TimeOrderError:  # the shared clock was set back: the other writer is refused too
            return
        self.behind += 1

    def do_finding(self, draw):
        """Record a finding."""
        summary, kind = draw(texts()), draw(st.sampled_from(FindingKind))
        self.attempt("finding", lambda m: m(summary, actor="bob", kind=kind))

    def do_assess_impact(self, draw):
        """Assess the impact, measured or stated, from a working or failing source."""
        ongoing = draw(st.booleans())
        how = draw(st.sampled_from(["measured", "measured", "stated", "broken", "garbage"]))
        sources = {
            "measured": self.world.metrics,
            "broken": BrokenSource(),
            "garbage": GarbageMetricSource("a list of tuples"),
        }
        measures = (
            [] if how == "stated" else [Measure("error_ratio", Metric(sources[how], "errors"))]
        )
        stated = [Figure("affected_users", 40, "users")] if how == "stated" else []
        self.attempt(
            "assess_impact",
            lambda m: m(
                actor="alice",
                severity=Severity.SEV2,
                ongoing=ongoing,
                symptom_start=self.world.metrics.symptom_start,
                measures=measures,
                stated=stated,
            ),
        )

    def do_gather_changes(self, draw):
        """Gather changes from working, failing or garbage sources."""
        which = draw(
            st.sampled_from(
                ["deploys", "deploys", "all", "all", "broken", "garbage", "infrastructure"]
            )
        )
        infra = FakeChangeSource(
            [deploy("tf-1", kind=ChangeKind.INFRASTRUCTURE, previous_version=None)]
        )
        vendor = FakeDependencySource([deploy("pg", kind=ChangeKind.DEPENDENCY, service="db")])
        sources = {
            "deploys": {"deploys": [self.world.deploys]},
            "broken": {"deploys": [BrokenSource()]},
            "garbage": {"deploys": [GarbageDeploySource({"d1": "deploy"})]},
            "infrastructure": {"infrastructure": [infra]},
            "all": {
                "deploys": [self.world.deploys],
                "infrastructure": [infra],
                "dependencies": [vendor],
            },
        }[which]
        self.attempt("gather_changes", lambda m: m(actor="bob", **sources))

    def do_review_rollbacks(self, draw):
        """Review the rollbacks with one executor."""
        executor = self.executor(
            draw(
                st.sampled_from(
                    ["good"] * 6
                    + ["failing dry run", "raising", "garbage", "rehearsal only", "no options"]
                )
            )
        )
        self.attempt("review_rollbacks", lambda m: m([executor], actor="bob"))

    def do_skip_rollback_review(self, draw):
        """Override: skip the rollback review."""
        reason = draw(texts())
        self.attempt("skip_rollback_review", lambda m: m(actor="alice", reason=reason))

    def do_roll_back(self, draw):
        """Roll back one of the reviewed options (or a forged one if there is none)."""
        index = draw(st.integers(0, 3))
        executor = self.executor(
            draw(
                st.sampled_from(
                    [
                        "the reviewed one",
                        "good",
                        "failing dry run",
                        "raising",
                        "garbage",
                        "rehearsal only",
                    ]
                )
            )
        )
        rehearse = draw(st.booleans())

        def call(method):
            options = self.phase.rollback_options
            option = options[index % len(options)] if options else FORGED_OPTION
            return method(option, actor="bob", executor=executor, rehearse=rehearse)

        self.attempt("roll_back", call)

    def do_mitigate(self, draw):
        """Mitigate (which heals the metrics from now on)."""
        kind, why = draw(st.sampled_from(MitigationKind)), draw(texts())

        def call(method):
            result = method("turned it off and on", actor="bob", why_not_rollback=why, kind=kind)
            self.world.heal_now()
            return result

        self.attempt("mitigate", call)

    def do_verify_recovery(self, draw):
        """Verify recovery from working or failing metrics."""
        which = draw(st.sampled_from(["good"] * 6 + ["broken", "a dict", "None"]))
        if which == "good":
            errors = self.world.errors(step=METRIC_STEP)
        elif which == "broken":
            errors = Metric(BrokenSource(), "errors", step=METRIC_STEP)
        else:
            errors = Metric(GarbageMetricSource(which), "errors", step=METRIC_STEP)
        traffic = self.world.traffic(step=METRIC_STEP)
        self.attempt(
            "verify_recovery",
            lambda m: m(actor="bob", errors=errors, traffic=traffic, baseline=BASELINE),
        )

    def do_diagnose_without_recovery(self, draw):
        """Override: diagnose before recovery."""
        reason = draw(texts())
        self.attempt("diagnose_without_recovery", lambda m: m(actor="alice", reason=reason))

    def do_begin_diagnosis(self, _draw):
        """Begin the diagnosis."""
        self.attempt("begin_diagnosis", lambda m: m(actor="alice"))

    def do_hypothesis(self, draw):
        """Record a hypothesis."""
        statement = draw(texts())
        evidence = draw(
            st.sampled_from(
                [Evidence.text("stack traces"), Evidence.change("d1"), Evidence.entry(0)]
            )
        )
        self.attempt("hypothesis", lambda m: m(statement, actor="alice", evidence=[evidence]))

    def do_reject_hypothesis(self, draw):
        """Reject a hypothesis, which may not exist."""
        number, reason = draw(st.integers(1, 3)), draw(texts())
        self.attempt("reject_hypothesis", lambda m: m(f"H{number}", actor="alice", reason=reason))

    def do_check(self, draw):
        """Check a usual suspect."""
        item, conclusion = draw(st.sampled_from(ChecklistItem)), draw(texts())
        self.attempt("check", lambda m: m(item, actor="alice", conclusion=conclusion))

    def do_waive(self, draw):
        """Waive a usual suspect."""
        item, reason = draw(st.sampled_from(ChecklistItem)), draw(texts())
        self.attempt("waive", lambda m: m(item, actor="alice", reason=reason))

    def do_resolve(self, draw):
        """Resolve the incident."""
        root_cause = draw(texts())
        self.attempt(
            "resolve",
            lambda m: m(actor="alice", root_cause=root_cause, evidence=[Evidence.text("logs")]),
        )

    def do_report(self, _draw):
        """Build the report."""
        self.attempt("report", lambda m: m())

    def do_wait(self, draw):
        """Let time pass."""
        self.world.clock.advance(minutes=draw(st.integers(1, 40)))

    def do_resume(self, _draw):
        """Carry on from the journal, as a script run again later would."""
        self.phase = Incident.resume(self.world.path, clock=self.world.clock)
        self.behind = 0

    # -- invariants ------------------------------------------------------------------

    @invariant()
    def diagnosis_only_after_recovery_or_override(self):
        """Diagnosing or resolved needs a recovered check or an override in the journal."""
        if self.phase.phase in {"diagnosing", "resolved"}:
            events = self.phase.events
            recovered = any(
                isinstance(e, RecoveryChecked) and e.verdict.outcome is RecoveryOutcome.RECOVERED
                for e in events
            )
            overridden = any(isinstance(e, OverrideRecorded) for e in events)
            assert recovered or overridden

    @invariant()
    def resolved_only_with_every_item_cleared(self):
        """A resolved incident has every usual suspect checked or waived."""
        if self.phase.phase == "resolved":
            cleared = {
                e.item
                for e in self.phase.events
                if isinstance(e, (ChecklistItemChecked, ChecklistItemWaived))
            }
            assert cleared == set(ChecklistItem)

    @invariant()
    def resume_gives_the_live_phase_and_events(self):
        """Resuming the journal gives the live phase class and the same events."""
        resumed = Incident.resume(self.world.path, clock=self.world.clock)
        ours = self.phase.events
        assert len(resumed.events) == len(ours) + self.behind
        assert resumed.events[: len(ours)] == ours
        if not self.behind:
            assert type(resumed) is type(self.phase)

    @invariant()
    def journal_verifies(self):
        """The journal's hash chain is intact."""
        assert verify_journal(self.world.path).ok

    @invariant()
    def live_object_is_current(self):
        """The object the machine holds is the incident's current phase."""
        assert self.phase.is_current


def test_random_step_sequences_keep_the_protocol():
    """Random sequences of steps, allowed or forbidden, never break the protocol's invariants."""
    run_state_machine_as_test(
        IncidentMachine,
        settings=settings(max_examples=60, stateful_step_count=40, deadline=None),
    )
