"""The steps responders asked for: impact over time, roles, follow-ups, time order, catching up."""

from __future__ import annotations

import threading

import pytest

from fakes import SYMPTOM_START, BrokenSource, FakeExecutor, World
from incidentkit import (
    ConcurrentAppendError,
    Evidence,
    Figure,
    Finding,
    FindingKind,
    Incident,
    InvalidInputError,
    JournalCorruptedError,
    Metric,
    ProtocolViolation,
    Recovered,
    Resolved,
    Role,
    RollbackFailedError,
    RollbackOption,
    RollbackResult,
    Severity,
    TimeOrderError,
    verify_journal,
)
from incidentkit.events import (
    ClockCorrected,
    FollowUpAdded,
    ImpactUpdated,
    NoteAdded,
    RoleHandedOver,
    RollbackExecuted,
)


@pytest.fixture
def world(tmp_path):
    """A scripted incident in a fresh directory."""
    return World(tmp_path)


# -- impact over time -------------------------------------------------------------


def test_update_impact_escalates_and_is_readable_on_every_later_phase(world):
    """An escalation is journaled with its reason; the current impact is read on later phases."""
    assessed = world.assessed()
    assessed.update_impact(actor="dana", severity="sev1", reason="EU checkout fails too")
    (update,) = [e for e in assessed.events if isinstance(e, ImpactUpdated)]
    assert update.previous_severity is Severity.SEV2
    assert update.escalation == "escalated"
    assert update.reason == "EU checkout fails too"
    reviewed = assessed.review_rollbacks([world.executor], actor="bob")
    assert reviewed.impact.severity is Severity.SEV1
    assert reviewed.severity is Severity.SEV1
    assert reviewed.symptom_start == SYMPTOM_START
    resumed = Incident.resume(world.path, clock=world.clock)
    assert resumed.impact is not None
    assert resumed.impact.severity is Severity.SEV1


def test_update_impact_de_escalates_keeping_what_was_not_given(world):
    """A de-escalation replaces the severity and the stated figure, and keeps the rest."""
    assessed = world.assessed()
    before = assessed.impact
    assessed.update_impact(
        actor="dana",
        severity=Severity.SEV3,
        ongoing=False,
        stated=[Figure("error_ratio", 0.01, "ratio")],
        reason="traffic drained to the healthy region",
    )
    after = assessed.impact
    assert after.severity is Severity.SEV3
    assert after.ongoing is False
    assert after.symptom_start == before.symptom_start
    assert after.services == before.services
    (ratio,) = [f for f in after.figures if f.name == "error_ratio"]
    assert ratio.value == 0.01
    assert not ratio.measured
    update = assessed.events[-1]
    assert isinstance(update, ImpactUpdated)
    assert update.escalation == "de-escalated"


def test_update_impact_that_changes_nothing_is_refused(world):
    """An update repeating the impact as it is journals nothing and says what to give."""
    assessed = world.assessed()
    before = assessed.events
    with pytest.raises(InvalidInputError, match="changes nothing"):
        assessed.update_impact(actor="dana", severity=Severity.SEV2, reason="same again")
    assert assessed.events == before


def test_update_impact_before_the_assessment_says_assess_first(world):
    """Before the assessment there is no impact to update; the message says to assess it."""
    declared = world.declare()
    with pytest.raises(ProtocolViolation, match=r"assess the impact first \(assess_impact\)"):
        declared.update_impact(actor="dana", severity=Severity.SEV1, reason="worse")  # type: ignore[attr-defined]
    assert declared.impact is None
    assert declared.severity is None


def test_an_impact_updated_to_not_ongoing_may_be_verified_without_intervening(world):
    """Saying on record that the impact stopped lifts the intervene-first rule, as at assessment."""
    assessed = world.assessed()
    with pytest.raises(ProtocolViolation, match="intervene first"):
        assessed.verify_recovery(actor="bob", errors=world.errors(), traffic=world.traffic())
    assessed.update_impact(actor="dana", ongoing=False, reason="the errors stopped at 14:30")
    world.heal_now()
    world.clock.advance(minutes=20)
    verified = assessed.verify_recovery(actor="bob", errors=world.errors(), traffic=world.traffic())
    assert verified.phase == "recovered"


# -- roles and handover -----------------------------------------------------------


def test_hand_over_records_the_previous_holder_and_reads_back_after_resume(world):
    """Handing the commander role on records who held it; roles read back after a resume."""
    declared = world.declare()
    declared.hand_over(Role.INCIDENT_COMMANDER, to="alice", actor="alice")
    declared.hand_over("incident_commander", to="carol", actor="alice", note="going off shift")
    first, second = [e for e in declared.events if isinstance(e, RoleHandedOver)]
    assert (first.previous, first.to) == (None, "alice")
    assert (second.previous, second.to, second.note) == ("alice", "carol", "going off shift")
    assert declared.roles == {Role.INCIDENT_COMMANDER: "carol"}
    assert Incident.resume(world.path, clock=world.clock).roles == {
        Role.INCIDENT_COMMANDER: "carol"
    }


def test_hand_over_to_the_holder_or_of_an_unknown_role_is_refused(world):
    """A handover to the current holder, or of a role that does not exist, names the problem."""
    declared = world.declare()
    declared.hand_over(Role.SCRIBE, to="erin", actor="alice")
    before = declared.events
    with pytest.raises(InvalidInputError, match="erin already holds the role scribe"):
        declared.hand_over(Role.SCRIBE, to="erin", actor="alice")
    with pytest.raises(InvalidInputError, match="'incident_commander'"):
        declared.hand_over("boss", to="erin", actor="alice")
    assert declared.events == before


# -- after resolution ---------------------------------------------------------------


def test_follow_ups_after_resolution_extend_the_same_chain(world):
    """Follow-up items after resolution are numbered, chained and verified; resolve is closed."""
    resolved = world.resolved()
    anchor = resolved.anchor
    resolved.follow_up("page on checkout 5xx within 2 minutes", owner="dana", actor="alice")
    resolved.follow_up("canary the price formatter", owner="erin", actor="alice", notes="Q1")
    items = [e for e in resolved.events if isinstance(e, FollowUpAdded)]
    assert [(i.item_id, i.owner) for i in items] == [("A1", "dana"), ("A2", "erin")]
    assert items[1].notes == "Q1"
    report = verify_journal(world.path, anchor=anchor)
    assert report.ok
    with pytest.raises(ProtocolViolation, match="already resolved; its resolution cannot be"):
        resolved.resolve(actor="alice", root_cause="another", evidence=[Evidence.text("x")])  # type: ignore[attr-defined]


# -- time never runs backwards --------------------------------------------------------


def test_an_event_stamped_before_the_last_is_refused_naming_both_instants(world):
    """A clock set back makes the next step fail with both instants, and nothing is written."""
    assessed = world.assessed()
    latest = assessed.events[-1].at
    world.clock.rewind(minutes=12)
    before = assessed.events
    with pytest.raises(TimeOrderError) as info:
        assessed.note("late", actor="bob")
    message = str(info.value)
    assert str(latest) in message
    assert str(latest.subtract(minutes=12)) in message
    assert "correct_clock" in message
    assert assessed.events == before


def test_a_clock_correction_is_audited_and_lets_time_go_on_from_it(world):
    """correct_clock records who and why; later events order after it; resume accepts it."""
    assessed = world.assessed()
    world.clock.rewind(minutes=12)
    assessed.correct_clock(actor="dana", reason="the bastion's clock was 12 minutes ahead")
    assessed.note("carrying on", actor="bob")
    correction = next(e for e in assessed.events if isinstance(e, ClockCorrected))
    assert correction.latest_before > correction.at
    resumed = Incident.resume(world.path, clock=world.clock)
    assert resumed.events == assessed.events
    assert any(f.kind is FindingKind.OVERRIDE and "clock" in f.summary for f in resumed.findings)


def test_resume_refuses_events_out_of_time_order(world, tmp_path):
    """A journal whose events go back in time without a correction does not resume."""
    declared = world.declare()
    declared.note("first", actor="bob")
    forged = Incident.declare(
        title="forged",
        services="checkout",
        actor="mallory",
        detection=declared.events[0].detection,
        journal=tmp_path / "forged.jsonl",
        clock=world.clock,
        detected_at=world.clock.now(),
    )
    # A second process whose clock is an hour behind appends through the raw journal.
    from incidentkit import Journal  # noqa: PLC0415 - only this test writes raw records
    from incidentkit._events import unstructure_event  # noqa: PLC0415

    journal = Journal.open(tmp_path / "forged.jsonl")
    journal.append(
        unstructure_event(
            NoteAdded(world.clock.now().subtract(hours=1), forged.events[0].actor, "x")
        )
    )
    with pytest.raises(JournalCorruptedError, match="earlier than the last recorded event"):
        Incident.resume(tmp_path / "forged.jsonl", clock=world.clock)


# -- resuming with an anchor ---------------------------------------------------------


def test_resume_with_an_anchor_refuses_a_shorter_journal(world):
    """A journal cut back before the anchor kept elsewhere is refused on resume."""
    assessed = world.assessed()
    anchor = assessed.anchor
    lines = world.path.read_bytes().splitlines(keepends=True)
    world.path.write_bytes(b"".join(lines[:-1]))
    with pytest.raises(JournalCorruptedError, match=r"record\(s\) were cut from the end"):
        Incident.resume(world.path, anchor=anchor, clock=world.clock)


def test_resume_with_an_anchor_refuses_a_diverging_journal(world, tmp_path):
    """An anchor from another chain (the journal was rewritten) is refused on resume."""
    world.assessed()
    other = World(tmp_path / "other")
    (tmp_path / "other").mkdir()
    other_phase = other.declare(title="another incident")
    other_phase.note("a", actor="bob")
    other_phase.note("b", actor="bob")
    with pytest.raises(JournalCorruptedError, match="cut back and rewritten"):
        Incident.resume(world.path, anchor=str(other_phase.anchor), clock=world.clock)


def test_resume_with_a_matching_anchor_carries_on(world):
    """The anchor a live incident kept lets a later resume carry on."""
    assessed = world.assessed()
    kept = str(assessed.anchor)
    assessed.note("after the anchor", actor="bob")
    resumed = Incident.resume(world.path, anchor=kept, clock=world.clock)
    assert resumed.events == assessed.events


# -- catching up ---------------------------------------------------------------------


def test_a_lost_race_names_who_wrote_what_and_refresh_catches_up(world):
    """The loser hears who wrote what; refresh() folds it and the retried step lands."""
    mine = world.assessed()
    theirs = Incident.resume(world.path, clock=world.clock)
    theirs.note("EU traffic drained", actor="carol")
    before = mine.events
    with pytest.raises(ConcurrentAppendError) as info:
        mine.note("rolling back d1", actor="bob")
    message = str(info.value)
    assert "carol" in message
    assert "EU traffic drained" in message
    assert "refresh()" in message
    assert mine.events == before
    current = mine.refresh()
    assert current is mine
    current.note("rolling back d1", actor="bob")
    texts = [e.text for e in current.events if isinstance(e, NoteAdded)]
    assert texts == ["EU traffic drained", "rolling back d1"]
    assert verify_journal(world.path).ok


def test_refresh_returns_the_new_phase_when_another_writer_moved_it_on(world):
    """When the other responder reviewed the rollbacks, refresh returns the reviewed phase."""
    mine = world.assessed()
    theirs = Incident.resume(world.path, clock=world.clock)
    theirs.review_rollbacks([world.executor], actor="carol")  # type: ignore[union-attr]
    current = mine.refresh()
    assert current.phase == "reviewed"
    assert not mine.is_current
    assert current.rollback_options  # type: ignore[union-attr]


def test_a_phase_shared_between_threads_keeps_every_note_once(world):
    """Eight threads noting on one phase object: every note once, the chain intact."""
    assessed = world.assessed()
    before = len(assessed.events)
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for n in range(25):
                assessed.note(f"worker {worker} note {n}", actor=f"w{worker}")
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(assessed.events) == before + 200
    assert verify_journal(world.path).ok
    resumed = Incident.resume(world.path, clock=world.clock)
    assert resumed.events == assessed.events


# -- messages ----------------------------------------------------------------------


def test_resolve_on_a_resolved_incident_says_it_is_already_resolved(world):
    """Resolve on a resolved incident says so, not "diagnose first"."""
    resolved = world.resolved()
    with pytest.raises(ProtocolViolation) as info:
        resolved.resolve  # type: ignore[attr-defined]  # noqa: B018 - the access is the test
    assert "already resolved" in str(info.value)
    assert "diagnose first" not in str(info.value)


def test_a_failing_error_metric_without_severity_names_the_failure_and_is_journaled(world):
    """No severity and a dead error metric: the message names the failure; the gap is journaled."""
    declared = world.declare()
    broken = BrokenSource(name="prom-down")
    with pytest.raises(InvalidInputError) as info:
        declared.assess_impact(actor="dana", ongoing=True, errors=Metric(broken, "q"), slo=0.999)
    assert "connection refused" in str(info.value)
    assert "severity" in str(info.value)
    gaps = [f for f in declared.findings if f.kind is FindingKind.MONITORING_GAP]
    assert len(gaps) == 1
    assert "connection refused" in gaps[0].detail
    assert declared.is_current
    assert declared.phase == "declared"


def test_a_source_name_is_said_once_in_its_gap(world):
    """A failing source's name is not repeated inside its own message."""
    declared = world.declare()
    broken = BrokenSource(name="prom-down")
    declared.assess_impact(
        actor="dana", ongoing=True, severity="sev2", errors=Metric(broken, "q"), slo=0.999
    )
    gap = next(f for f in declared.findings if "could not be measured" in f.summary)
    assert gap.detail == "prom-down: query 'q' failed: connection refused"


def test_severity_as_text_is_accepted_and_a_wrong_one_names_severity(world):
    """``severity="sev2"`` works like ``actor="dana"``; ``"sev9"`` names the Severity values."""
    assessed = world.declare().assess_impact(actor="dana", ongoing=True, severity="SEV2")
    assert assessed.impact.severity is Severity.SEV2
    other = World(world.directory / "b")
    (world.directory / "b").mkdir()
    with pytest.raises(InvalidInputError, match=r"Severity.*'sev1'"):
        other.declare().assess_impact(actor="dana", ongoing=True, severity="sev9")


def test_gather_takes_one_source_where_a_list_is_expected(world):
    """``deploys=src`` is accepted; a non-source is refused with a message, not a TypeError."""
    assessed = world.assess(world.declare())
    assessed.gather_changes(actor="bob", deploys=world.deploys)
    assert [c.id for c in assessed.changes] == ["d1"]
    with pytest.raises(InvalidInputError, match="deploys must be"):
        assessed.gather_changes(actor="bob", deploys=42)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="has none"):
        assessed.gather_changes(actor="bob", deploys=[object()])  # type: ignore[list-item]
    reviewed = assessed.review_rollbacks(world.executor, actor="bob")
    assert reviewed.rollback_options


# -- executors under deadlines, and interrupted -------------------------------------


class _HangingExecutor(FakeExecutor):
    """An executor whose options() or dry_run() never answers (until released)."""

    def __init__(self, *, hang: str, release: threading.Event, **kwargs) -> None:
        super().__init__(**kwargs)
        self.hang = hang
        self.release = release

    def options(self, change):
        """Hang when told to."""
        if self.hang == "options":
            self.release.wait(5)
        return super().options(change)

    def dry_run(self, option: RollbackOption) -> RollbackResult:
        """Hang when told to."""
        if self.hang == "dry_run":
            self.release.wait(5)
        return super().dry_run(option)


def test_a_hung_options_call_is_a_gap_not_a_hung_review(world):
    """An executor whose options() hangs is a gap after the timeout; the good one still counts."""
    release = threading.Event()
    hung = _HangingExecutor(hang="options", release=release, name="wedged")
    try:
        reviewed = world.assessed().review_rollbacks(
            [hung, world.executor], actor="bob", timeout=0.3
        )
    finally:
        release.set()
    assert [o.executor for o in reviewed.rollback_options] == ["argocd"]
    gaps = [f for f in reviewed.findings if f.kind is FindingKind.MONITORING_GAP]
    assert any("wedged" in g.detail for g in gaps)


def test_a_hung_dry_run_is_a_failed_rehearsal_and_nothing_executes(world):
    """A dry run past its timeout fails the rollback before anything changes, journaled."""
    release = threading.Event()
    hung = _HangingExecutor(hang="dry_run", release=release, name="argocd")
    world.executor = hung
    reviewed = world.reviewed()
    try:
        with pytest.raises(RollbackFailedError):
            reviewed.roll_back(reviewed.rollback_options[0], actor="bob", timeout=0.3)
    finally:
        release.set()
    assert ("execute", "argocd:d1") not in hung.calls
    attempt = reviewed.events[-1]
    assert isinstance(attempt, RollbackExecuted)
    assert attempt.error


class _InterruptedExecutor(FakeExecutor):
    """An executor interrupted (Ctrl-C) in the middle of its rollback."""

    def execute(self, option: RollbackOption) -> RollbackResult:
        """Raise KeyboardInterrupt."""
        self.calls.append(("execute", option.id))
        raise KeyboardInterrupt


def test_an_interrupted_rollback_is_journaled_before_the_interrupt_goes_on(world):
    """KeyboardInterrupt inside execute propagates, after the attempt is in the journal."""
    world.executor = _InterruptedExecutor()
    reviewed = world.reviewed()
    with pytest.raises(KeyboardInterrupt):
        reviewed.roll_back(reviewed.rollback_options[0], actor="bob")
    resumed = Incident.resume(world.path, clock=world.clock)
    attempt = resumed.events[-1]
    assert isinstance(attempt, RollbackExecuted)
    assert "interrupted: KeyboardInterrupt" in attempt.error
    assert resumed.phase == "reviewed"


def test_report_lists_responders_roles_follow_ups_and_impact_over_time(world):
    """The report carries the team, the roles, the follow-ups and every impact update."""
    declared = world.declare()
    declared.hand_over(Role.INCIDENT_COMMANDER, to="alice", actor="alice")
    assessed = world.assess(declared).gather_changes(actor="bob", deploys=[world.deploys])
    assessed.update_impact(actor="alice", severity=Severity.SEV1, reason="EU fails too")
    assessed.hand_over(Role.INCIDENT_COMMANDER, to="carol", actor="alice")
    reviewed = assessed.review_rollbacks([world.executor], actor="bob")
    world.clock.advance(minutes=2)
    intervened = reviewed.roll_back(reviewed.rollback_options[0], actor="bob")
    world.clock.advance(minutes=20)
    recovered = intervened.verify_recovery(
        actor="bob", errors=world.errors(), traffic=world.traffic()
    )
    assert isinstance(recovered, Recovered)
    diagnosing = recovered.begin_diagnosis(actor="carol")
    for item in ("deploys", "infrastructure", "dependencies"):
        diagnosing.waive(item, actor="carol", reason="not needed for this test")  # type: ignore[arg-type]
    resolved = diagnosing.resolve(actor="carol", root_cause="d1", evidence=[Evidence.change("d1")])
    resolved.follow_up("alert on 5xx", owner="dana", actor="carol")
    assert isinstance(resolved, Resolved)
    report = resolved.report()
    assert report.roles == ((Role.INCIDENT_COMMANDER, "carol"),)
    assert {r.name for r in report.responders} >= {"alice", "bob", "carol"}
    assert [u.severity for u in report.impact_updates] == [Severity.SEV1]
    assert [f.action for f in report.follow_ups] == ["alert on 5xx"]
    markdown = report.to_markdown()
    assert "## Responders" in markdown
    assert "## Follow-up actions" in markdown
    assert "escalated" in markdown


def test_values_print_as_one_readable_line(world):
    """Findings, changes, options, results, figures, impacts and series print as one line."""
    assessed = world.assessed()
    reviewed = assessed.review_rollbacks([world.executor], actor="bob")
    option = reviewed.rollback_options[0]
    texts = {
        "change": str(reviewed.changes[0]),
        "finding": str(Finding(FindingKind.MONITORING_GAP, "a source failed", "prom: refused")),
        "option": str(option),
        "result": str(RollbackResult(option.id, succeeded=True, dry_run=True, detail="ok")),
        "figure": str(reviewed.impact.figures[0]),
        "impact": str(reviewed.impact),
        "series": str(world.metrics.query_range("errors", SYMPTOM_START, SYMPTOM_START, 60.0)),
    }
    for name, text in texts.items():
        assert "\n" not in text, name
        assert "(" not in text[:1], name
        assert "=" not in text.split(":")[0], f"{name} prints as a repr: {text}"
    assert texts["change"].startswith("deploy d1 of checkout")
    assert "roll back checkout" in texts["option"]
    assert texts["impact"].startswith("sev2, ongoing")
    assert texts["finding"] == "monitoring gap: a source failed: prom: refused"
