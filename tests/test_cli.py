"""The ``incidentkit`` command, run as a user runs it: a process, its exit code and its output."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pendulum
import pytest

from _cli_helpers import (
    CONFIG,
    DATASET,
    EXAMPLES,
    ROOT,
    SCRIPT,
    at,
    command,
    declare,
    environment,
    ok,
    read_toml,
    run,
)
from incidentkit import Anchor, Incident, ManualClock, Metric, ProtocolViolation
from incidentkit._rules import STEPS
from incidentkit.memory import load_dataset

SAM = ["--actor", "Sam", "--config", str(CONFIG)]
LATE = at("16:00")


# --- the command itself ------------------------------------------------------------


def test_the_console_script_is_declared_and_resolves_to_main():
    """``[project.scripts]`` names ``incidentkit``, and its target imports as a callable."""
    scripts = read_toml(ROOT / "pyproject.toml")["project"]["scripts"]
    module, _, attribute = scripts["incidentkit"].partition(":")
    main = getattr(importlib.import_module(module), attribute)
    assert callable(main)
    with pytest.raises(SystemExit) as exited:  # --version exits through argparse
        main(["--version"])
    assert exited.value.code == 0


def test_the_installed_console_script_runs():
    """Where the package is installed (``nox -s tests``, CI), the ``incidentkit`` script runs it."""
    if not SCRIPT.is_file():
        reason = (
            f"no console script at {SCRIPT}: install the package (`pip install .`, as "
            "`nox -s tests` does) to run it; python -m incidentkit was tested instead"
        )
        if os.environ.get("INCIDENTKIT_REQUIRE_SERVICES") == "1":
            pytest.fail(f"INCIDENTKIT_REQUIRE_SERVICES=1 and {reason}", pytrace=False)
        pytest.skip(reason)
    done = subprocess.run(
        [str(SCRIPT), "--version"], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0
    assert done.stdout.startswith("incidentkit ")


def test_python_dash_m_and_the_help_of_every_command():
    """``--help`` lists every command; each command's help holds an example; ``--version`` works."""
    top = ok("--help")
    names = [
        "show",
        "timeline",
        "events",
        "verify",
        "report",
        "list",
        "config",
        "declare",
        "assess",
        "gather",
        "review",
        "roll-back",
        "mitigate",
        "verify-recovery",
        "diagnose",
        "check",
        "waive",
        "resolve",
        "note",
        "finding",
        "hypothesis",
        "update-impact",
        "hand-over",
        "follow-up",
        "correct-clock",
        "reject-hypothesis",
    ]
    for name in names:
        assert f"\n    {name} " in top.stdout or f"\n    {name}\n" in top.stdout, name
        helped = ok(name, "--help")
        assert "example:\n  incidentkit " + name in helped.stdout, name
    assert "exit codes:" in top.stdout
    assert ok("--version").stdout.startswith("incidentkit ")


def test_every_step_of_the_rule_table_has_a_command():
    """Each step of the protocol's table maps to a command the parser knows."""
    from incidentkit._cli._common import COMMAND_OF_STEP  # noqa: PLC0415

    assert set(COMMAND_OF_STEP) == {step.name for step in STEPS}
    for shown in COMMAND_OF_STEP.values():
        name = shown.split()[0]
        assert ok(name, "--help").code == 0


def test_a_usage_error_exits_2():
    """An unknown option, a missing required one, or no incident named: exit 2."""
    assert run("show", "--no-such-option").code == 2
    assert run("declare", "x.jsonl", "--title", "t").code == 2
    nowhere = run("show")
    assert nowhere.code == 2
    assert "which incident?" in nowhere.stderr


# --- a whole incident from a shell script ------------------------------------------


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_checkout_outage_driven_from_a_bash_script(tmp_path):
    """examples/cli_incident.sh works the whole incident, one command a step, and it verifies."""
    journal = tmp_path / "checkout.jsonl"
    env = environment(INCIDENTKIT=" ".join(command()))
    done = subprocess.run(
        [shutil.which("bash") or "bash", str(EXAMPLES / "cli_incident.sh"), str(journal)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "'roll_back' is not allowed in phase 'declared'" in done.stderr
    assert "## Root cause" in out
    assert "recorded 4: rolled back: roll back checkout v2.14.0 -> v2.13.3" in out
    assert "recovery: recovered (judged by exact-binomial)" in out
    assert "intact, up to the anchor" in out
    shown = ok("show", str(journal), "--json").json()
    assert shown["phase"] == "resolved"
    assert shown["open_checklist_items"] == []
    assert shown["next"] == ["follow-up", "report"]
    # The same journal as the library reads it: every step, in order.
    resolved = Incident.resume(journal)
    assert resolved.phase == "resolved"
    assert [e.TYPE for e in resolved.events] == [
        "incident_declared",
        "impact_assessed",
        "changes_gathered",
        "rollbacks_reviewed",
        "rollback_executed",
        "recovery_checked",
        "diagnosis_begun",
        "changes_gathered",
        "hypothesis_recorded",
        "checklist_item_checked",
        "checklist_item_checked",
        "checklist_item_checked",
        "incident_resolved",
    ]
    assert resolved.events[4].actor.name == "Sam"


# --- each wrong order ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def phases(tmp_path_factory) -> dict[str, Path]:
    """A journal in each of the phases declared, assessed and resolved."""
    base = tmp_path_factory.mktemp("phases")
    declared = base / "declared.jsonl"
    declare(declared)
    assessed = base / "assessed.jsonl"
    declare(assessed)
    ok("assess", str(assessed), "--ongoing", "--severity", "sev2", "--actor", "Dana", *at("14:15"))
    resolved = base / "resolved.jsonl"
    declare(resolved)
    ok(
        "diagnose",
        str(resolved),
        "--without-recovery",
        "--reason",
        "no mitigation exists",
        "--actor",
        "Dana",
        *at("14:20"),
    )
    for item in ("deploys", "infrastructure", "dependencies"):
        ok(
            "waive",
            str(resolved),
            "--item",
            item,
            "--reason",
            "tabletop",
            "--actor",
            "Dana",
            *at("14:21"),
        )
    ok(
        "resolve",
        str(resolved),
        "--root-cause",
        "a drill",
        "--evidence",
        "text:a drill",
        "--actor",
        "Dana",
        *at("14:22"),
    )
    return {"declared": declared, "assessed": assessed, "resolved": resolved}


_NEXT = {
    "declared": "next: incidentkit assess",
    "assessed": "next: incidentkit gather, then incidentkit review",
    "resolved": "next: incidentkit follow-up or incidentkit report",
}
_WRONG = [
    ("declared", "gather_changes", ["gather", "--deploys", "spinnaker", *SAM]),
    ("declared", "review_rollbacks", ["review", "--executor", "spinnaker-rollback", *SAM]),
    ("declared", "skip_rollback_review", ["review", "--skip", "--reason", "x", *SAM]),
    ("declared", "roll_back", ["roll-back", "--change", "deploy-4812", *SAM]),
    ("declared", "mitigate", ["mitigate", "--action", "a", "--why-not-rollback", "b", *SAM]),
    (
        "declared",
        "verify_recovery",
        ["verify-recovery", "--errors", "errors", "--traffic", "traffic", *SAM],
    ),
    ("declared", "begin_diagnosis", ["diagnose", *SAM]),
    ("declared", "hypothesis", ["hypothesis", "--statement", "s", "--evidence", "text:x", *SAM]),
    ("declared", "check", ["check", "--item", "deploys", "--conclusion", "c", *SAM]),
    ("declared", "waive", ["waive", "--item", "deploys", "--reason", "r", *SAM]),
    ("declared", "resolve", ["resolve", "--root-cause", "r", "--evidence", "text:x", *SAM]),
    ("declared", "update_impact", ["update-impact", "--reason", "r", "--severity", "sev1", *SAM]),
    ("declared", "report", ["report"]),
    ("assessed", "assess_impact", ["assess", "--ongoing", "--severity", "sev1", *SAM]),
    ("assessed", "roll_back", ["roll-back", "--change", "deploy-4812", *SAM]),
    ("assessed", "mitigate", ["mitigate", "--action", "a", "--why-not-rollback", "b", *SAM]),
    ("assessed", "begin_diagnosis", ["diagnose", *SAM]),
    ("assessed", "check", ["check", "--item", "deploys", "--conclusion", "c", *SAM]),
    ("assessed", "resolve", ["resolve", "--root-cause", "r", "--evidence", "text:x", *SAM]),
    ("assessed", "report", ["report", "--format", "json"]),
    ("resolved", "assess_impact", ["assess", "--ongoing", "--severity", "sev1", *SAM]),
    ("resolved", "gather_changes", ["gather", *SAM]),
    ("resolved", "review_rollbacks", ["review", *SAM]),
    ("resolved", "finding", ["finding", "--summary", "s", *SAM]),
    ("resolved", "begin_diagnosis", ["diagnose", *SAM]),
    (
        "resolved",
        "diagnose_without_recovery",
        ["diagnose", "--without-recovery", "--reason", "r", *SAM],
    ),
    ("resolved", "resolve", ["resolve", "--root-cause", "r", "--evidence", "text:x", *SAM]),
    ("resolved", "hand_over", ["hand-over", "--to-role", "scribe", "--to", "kim", *SAM]),
]


@pytest.mark.parametrize(
    ("phase", "step", "argv"), _WRONG, ids=[f"{p}-{a[0]}-{s}" for p, s, a in _WRONG]
)
def test_a_wrong_order_exits_3_with_the_librarys_message_and_what_comes_next(
    phases, tmp_path, phase, step, argv
):
    """The protocol's refusal, word for word, then the command that comes next; nothing written."""
    journal = tmp_path / "incident.jsonl"
    shutil.copy(phases[phase], journal)
    before = journal.read_bytes()
    with pytest.raises(ProtocolViolation) as refused:
        getattr(Incident.resume(journal), step)
    extra = LATE if argv[0] != "report" else []
    ran = run(argv[0], str(journal), *argv[1:], *extra)
    assert ran.code == 3, ran.stderr
    lines = ran.stderr.splitlines()
    assert lines[0] == f"incidentkit: {refused.value}"
    assert lines[1] == _NEXT[phase]
    assert ran.stdout == ""
    assert journal.read_bytes() == before


def test_verify_recovery_before_any_intervention_is_refused_by_the_step(phases, tmp_path):
    """An ongoing impact needs an intervention before a recovery check: the step's own refusal."""
    journal = tmp_path / "incident.jsonl"
    shutil.copy(phases["assessed"], journal)
    before = journal.read_bytes()
    data = load_dataset(DATASET)
    source = data.metric_source()
    phase = Incident.resume(journal, clock=ManualClock(data.scenario_instant("resolved_at")))
    with pytest.raises(ProtocolViolation) as refused:
        phase.verify_recovery(
            actor="Sam",
            errors=Metric(source, data.scenario["error_query"]),
            traffic=Metric(source, data.scenario["traffic_query"]),
        )
    journal.write_bytes(before)  # in case the library wrote anything: the command starts equal
    ran = run(
        "verify-recovery", str(journal), "--errors", "errors", "--traffic", "traffic", *SAM, *LATE
    )
    assert ran.code == 3
    assert ran.stderr.splitlines()[0] == f"incidentkit: {refused.value}"
    assert ran.stderr.splitlines()[1] == _NEXT["assessed"]
    assert journal.read_bytes() == before


def test_the_order_is_checked_before_the_configuration_is_read(phases, tmp_path):
    """A wrong order exits 3 even with no configuration at all: nothing is built or asked first."""
    journal = tmp_path / "incident.jsonl"
    shutil.copy(phases["declared"], journal)
    ran = run(
        "gather",
        str(journal),
        "--deploys",
        "nowhere",
        "--actor",
        "Sam",
        "--config",
        str(tmp_path / "missing.toml"),
    )
    assert ran.code == 3


def test_time_running_backwards_is_refused_with_exit_3(phases, tmp_path):
    """``--at`` before the last event: the journal's time order refuses it, and says what to do."""
    journal = tmp_path / "incident.jsonl"
    shutil.copy(phases["assessed"], journal)
    ran = run("note", str(journal), "--text", "late", "--actor", "Sam", *at("14:00"))
    assert ran.code == 3
    assert "time never runs backwards" in ran.stderr
    assert "correct_clock" in ran.stderr


# --- inspecting -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def worked(tmp_path_factory) -> Path:
    """The checkout outage worked up to the diagnosis, by commands, with notes by two actors."""
    journal = tmp_path_factory.mktemp("worked") / "checkout.jsonl"
    declare(journal)
    ok(
        "assess",
        str(journal),
        "--ongoing",
        "--errors",
        "errors",
        "--traffic",
        "traffic",
        "--slo",
        "0.999",
        "--actor",
        "Dana",
        "--config",
        str(CONFIG),
        *at("14:15"),
    )
    ok("gather", str(journal), *SAM, *at("14:15"))
    ok("note", str(journal), "--text", "EU traffic drained", "--actor", "Carol", *at("14:16"))
    ok("review", str(journal), *SAM, *at("14:16"))
    ok("roll-back", str(journal), "--change", "deploy-4812", *SAM, *at("14:31"))
    return journal


def test_show_says_the_phase_severity_impact_and_what_comes_next(worked):
    """``show`` for people and for scripts: phase, severity, impact figures, checklist, next."""
    shown = ok("show", str(worked))
    assert "phase      intervened" in shown.stdout
    assert "severity   sev1, ongoing" in shown.stdout
    assert "share_of_requests_failing 0.1718 ratio (measured)" in shown.stdout
    assert (
        "checklist  begins with the diagnosis: deploys, infrastructure, dependencies"
        in shown.stdout
    )
    assert shown.stdout.rstrip().endswith("next: incidentkit verify-recovery")
    data = ok("show", str(worked), "--json").json()
    assert data["phase"] == "intervened"
    assert data["severity"] == "sev1"
    assert data["next"] == ["verify-recovery"]
    assert data["records"] == 6
    assert data["checklist_begun"] is False
    assert Anchor.parse(data["anchor"]) == Incident.resume(worked).anchor
    assert {o["change_id"] for o in data["rollback_options"]} >= {"deploy-4812"}


def test_timeline_merges_changes_symptom_and_steps(worked):
    """``timeline`` lists the changes before the symptom, the symptom, then the steps, in order."""
    entries = ok("timeline", str(worked), "--json").json()
    kinds = [e["kind"] for e in entries]
    assert kinds.index("symptom") > kinds.index("change")
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)
    text = ok("timeline", str(worked)).stdout
    assert "2026-11-20T14:07:00Z      +0s  symptom monitoring" in text
    assert "deploy deploy-4812 of checkout" in text


def test_events_filter_by_type_and_actor(worked):
    """``events --type --actor`` keeps only those; an unknown type is a usage error."""
    notes = ok("events", str(worked), "--type", "note_added", "--json").json()
    assert [(e["seq"], e["actor"]["name"], e["event"]["text"]) for e in notes] == [
        (3, "Carol", "EU traffic drained")
    ]
    by_sam = ok("events", str(worked), "--actor", "Sam", "--json").json()
    assert {e["type"] for e in by_sam} == {
        "changes_gathered",
        "rollbacks_reviewed",
        "rollback_executed",
    }
    lines = ok("events", str(worked), "--actor", "Sam", "--actor", "Carol").stdout.splitlines()
    assert len(lines) == 4
    assert "note_added" in lines[1]
    unknown = run("events", str(worked), "--type", "nope")
    assert unknown.code == 2
    assert "note_added" in unknown.stderr


def test_events_follow_prints_each_new_event_as_a_json_line(worked, tmp_path):
    """``events --follow`` streams the events so far, one JSON object a line, until idle."""
    journal = tmp_path / "j.jsonl"
    shutil.copy(worked, journal)
    ran = ok("events", str(journal), "--follow", "--idle-timeout", "0.3", "--since", "4", "--json")
    lines = ran.stdout.splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [4, 5]


def test_verify_recovery_not_shown_exits_1_and_is_recorded(worked, tmp_path):
    """A verdict other than recovered is journaled, and the command exits 1 for a script's if."""
    journal = tmp_path / "j.jsonl"
    shutil.copy(worked, journal)
    ran = run(
        "verify-recovery",
        str(journal),
        "--errors",
        "errors",
        "--traffic",
        "traffic",
        *SAM,
        *at("14:33"),
    )
    assert ran.code == 1, ran.stderr
    data = json.loads(
        run(
            "verify-recovery",
            str(journal),
            "--errors",
            "errors",
            "--traffic",
            "traffic",
            *SAM,
            *at("14:34"),
            "--json",
        ).stdout
    )
    assert data["recovered"] is False
    assert data["verdict"]["outcome"] != "recovered"
    assert data["recorded"][0]["type"] == "recovery_checked"
    assert data["phase"] == "intervened"
    assert Incident.resume(journal).phase == "intervened"
    assert (
        ok(
            "verify-recovery",
            str(journal),
            "--errors",
            "errors",
            "--traffic",
            "traffic",
            *SAM,
            *at("14:50"),
        ).code
        == 0
    )


def test_a_step_prints_what_it_recorded_and_what_comes_next_as_json(worked, tmp_path):
    """Every driving command's ``--json``: the step, the phase, the anchor, the events, next."""
    journal = tmp_path / "j.jsonl"
    shutil.copy(worked, journal)
    data = ok(
        "note",
        str(journal),
        "--text",
        "hello",
        "--actor",
        "Kim",
        "--role",
        "scribe",
        *at("14:40"),
        "--json",
    ).json()
    assert data["command"] == "note"
    assert data["step"] == "note"
    assert data["phase"] == "intervened"
    assert data["next"] == ["verify-recovery"]
    assert data["anchor"] == str(Incident.resume(journal).anchor)
    (event,) = data["recorded"]
    assert event["seq"] == 6
    assert event["actor"] == {"name": "Kim", "role": "scribe"}
    assert event["event"]["text"] == "hello"


# --- verify: exit codes on intact, edited and truncated journals ----------------------------


@pytest.fixture
def journal_and_anchor(worked, tmp_path) -> tuple[Path, str]:
    """A copy of the worked journal, and its head as an anchor kept elsewhere."""
    journal = tmp_path / "j.jsonl"
    shutil.copy(worked, journal)
    return journal, str(Incident.resume(journal).anchor)


def test_verify_an_intact_journal_exits_0(journal_and_anchor):
    """Intact, with or without the anchor: exit 0."""
    journal, anchor = journal_and_anchor
    plain = ok("verify", str(journal))
    assert plain.stdout.splitlines()[-1] == "intact"
    anchored = ok("verify", str(journal), "--anchor", anchor, "--json").json()
    assert anchored == {
        "ok": True,
        "covered": True,
        "journal": str(journal),
        "records": 6,
        "head": anchor,
        "anchor": anchor,
        "uncovered": [6, 6],
        "problems": [],
    }


def test_verify_an_edited_journal_exits_1(journal_and_anchor):
    """One character changed in a record: the chain breaks there, exit 1."""
    journal, _ = journal_and_anchor
    lines = journal.read_bytes().split(b"\n")
    assert b"EU traffic drained" in lines[3]
    lines[3] = lines[3].replace(b"EU traffic drained", b"US traffic drained")
    journal.write_bytes(b"\n".join(lines))
    ran = run("verify", str(journal))
    assert ran.code == 1
    assert ran.stdout.splitlines()[-1] == "NOT INTACT: edited"
    data = run("verify", str(journal), "--json").json()
    assert data["ok"] is False
    assert (data["problems"][0]["kind"], data["problems"][0]["seq"]) == ("edited", 3)


def test_verify_a_truncated_journal_exits_1_with_the_anchor(journal_and_anchor):
    """The last record cut: the chain alone is intact (exit 0); with the anchor, exit 1."""
    journal, anchor = journal_and_anchor
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(lines[:-1]))
    assert ok("verify", str(journal)).code == 0
    ran = run("verify", str(journal), "--anchor", anchor)
    assert ran.code == 1
    assert "truncated" in ran.stdout
    assert (
        run("verify", str(journal), "--anchor", anchor, "--json").json()["problems"][0]["kind"]
        == "truncated"
    )


def test_verify_usage_errors_exit_2(journal_and_anchor, tmp_path):
    """A malformed anchor, or no journal at that path: exit 2."""
    journal, _ = journal_and_anchor
    bad = run("verify", str(journal), "--anchor", "not-an-anchor")
    assert bad.code == 2
    assert "is not an anchor" in bad.stderr
    missing = run("verify", str(tmp_path / "nothing.jsonl"))
    assert missing.code == 2
    assert "no journal file" in missing.stderr


def test_other_commands_on_a_tampered_journal_exit_4(journal_and_anchor):
    """``show`` refuses a journal whose chain is broken: exit 4, the library's message."""
    journal, _ = journal_and_anchor
    journal.write_bytes(journal.read_bytes().replace(b"EU traffic", b"US traffic"))
    ran = run("show", str(journal))
    assert ran.code == 4
    assert "incidentkit: " in ran.stderr


# --- reports --------------------------------------------------------------------------------


def test_report_as_markdown_json_and_to_a_file(phases, tmp_path):
    """``report`` prints Markdown or JSON, or writes it with ``-o``."""
    journal = phases["resolved"]
    markdown = ok("report", str(journal)).stdout
    assert markdown.startswith("# INC-")
    assert "## Root cause" in markdown
    data = ok("report", str(journal), "--format", "json").json()
    assert data["root_cause"] == "a drill"
    assert ok("report", str(journal), "--json").json() == data
    target = tmp_path / "postmortem.md"
    written = ok("report", str(journal), "-o", str(target), "--json").json()
    assert written["output"] == str(target)
    assert target.read_text("utf-8") == markdown


def test_report_as_html(phases, tmp_path):
    """``--format html`` writes the self-contained HTML report with its chart (the html extra)."""
    target = tmp_path / "postmortem.html"
    ran = run("report", str(phases["resolved"]), "--format", "html", "-o", str(target))
    assert ran.code == 0, ran.stderr
    page = target.read_text("utf-8")
    assert page.lower().startswith("<!doctype html")
    assert "<h2" in page  # the report's sections
    assert "<script" not in page.lower()


def test_report_folds_a_long_run_of_notes_unless_full_timeline(phases, tmp_path):
    """A run of 20 notes is one counted group in the report; ``--full-timeline`` lists each."""
    journal = tmp_path / "noted.jsonl"
    shutil.copy(phases["resolved"], journal)
    later = ManualClock(pendulum.datetime(2026, 11, 20, 16, tz="UTC"))
    phase = Incident.resume(journal, clock=later)
    for number in range(20):
        phase = phase.note(f"pod checkout-{number} restarted", actor="Carol")
    folded = ok("report", str(journal)).stdout
    full = ok("report", str(journal), "--full-timeline").stdout
    assert "20 entries folded" in folded
    assert "20 notes" in folded
    assert "pod checkout-0 restarted" in folded  # the first and the last five are shown
    assert "pod checkout-19 restarted" in folded
    assert "pod checkout-10 restarted" not in folded
    assert "entries folded" not in full
    assert all(f"pod checkout-{number} restarted" in full for number in range(20))


# --- stores -----------------------------------------------------------------------------------


def test_an_incident_in_a_store_by_option_and_by_environment(tmp_path):
    """``--store DIR --incident ID`` (or the environment) works an incident in a FileStore."""
    store = tmp_path / "incidents"
    made = declare(None, "--store", str(store), "--incident", "INC-42", "--json").json()
    assert made["incident_id"] == "INC-42"
    assert (store / "INC-42.jsonl").is_file()
    declare(None, "--store", str(store), "--incident", "INC-43", title="Search is slow")
    ok(
        "assess",
        "--store",
        str(store),
        "--incident",
        "INC-43",
        "--ongoing",
        "--severity",
        "sev3",
        "--actor",
        "Dana",
        *at("14:15"),
    )
    env = environment(INCIDENTKIT_STORE=str(store), INCIDENTKIT_INCIDENT="INC-42")
    assert ok("show", "--json", env=env).json()["incident_id"] == "INC-42"
    assert ok("verify", env=env).code == 0
    listed = ok("list", str(store), "--json").json()
    assert sorted(i["incident_id"] for i in listed) == ["INC-42", "INC-43"]
    assessed = ok("list", "--store", str(store), "--severity", "sev3", "--json").json()
    assert [i["incident_id"] for i in assessed] == ["INC-43"]
    assert [i["incident_id"] for i in ok("list", "--json", env=env).json()] != []
    text = ok("list", str(store)).stdout
    assert "INC-43" in text
    assert "Search is slow" in text
    no_id = run("show", "--store", str(store))
    assert no_id.code == 2
    assert "--incident" in no_id.stderr
    typo = tmp_path / "incidnets"
    for argv in (["list", str(typo)], ["show", "--store", str(typo), "--incident", "INC-42"]):
        missing = run(*argv)
        assert missing.code == 2
        assert "no store at" in missing.stderr
    assert not typo.exists()


def test_a_postgresql_store_url_never_shows_its_password():
    """``--store postgresql://...``: the PostgreSQL store is imported lazily; no password shown."""
    url = "postgresql://responder:hunter2-pw@127.0.0.1:9/incidents"
    ran = run("show", "--store", url, "--incident", "INC-1")
    assert ran.code in {2, 4}
    assert "hunter2-pw" not in ran.stdout + ran.stderr
    if importlib.util.find_spec("incidentkit.stores.postgres") is None:
        assert ran.code == 2
        assert "incidentkit.stores.postgres" in ran.stderr
    listed = run("list", url)
    assert "hunter2-pw" not in listed.stdout + listed.stderr


def test_declaring_over_an_existing_journal_exits_4(phases, tmp_path):
    """An existing journal is never overwritten: exit 4."""
    journal = tmp_path / "j.jsonl"
    shutil.copy(phases["declared"], journal)
    before = journal.read_bytes()
    ran = run(
        "declare",
        str(journal),
        "--title",
        "again",
        "--service",
        "x",
        "--detection",
        "alert",
        "--actor",
        "Dana",
    )
    assert ran.code == 4
    assert journal.read_bytes() == before


# --- the documentation --------------------------------------------------------------------

_DOCS = sorted((ROOT / "docs" / "cli").glob("*.md"))


def _command_lines(text: str) -> list[str]:
    """The ``incidentkit ...`` command lines of a Markdown text's shell blocks, joined."""
    lines: list[str] = []
    for block in re.findall(r"```(?:bash|console)\n(.*?)```", text, flags=re.DOTALL):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            found = re.search(r"(?:^|\$ |&& |until |; )(incidentkit [^|;&]*)", line)
            if found:
                lines.append(found.group(1).split(" #")[0].strip())
    return lines


def test_every_command_line_in_the_docs_parses():
    """Each ``incidentkit ...`` line in the CLI pages and the README is a valid command line."""
    from incidentkit._cli._parser import build_parser  # noqa: PLC0415

    parser = build_parser()
    found = [
        line
        for path in [*_DOCS, ROOT / "README.md"]
        for line in _command_lines(path.read_text("utf-8"))
    ]
    assert len(found) >= 25
    for line in found:
        argv = shlex.split(line)[1:]
        try:
            parser.parse_args(argv)
        except SystemExit as exited:
            pytest.fail(f"the docs' command does not parse ({exited.code}): {line}")


def test_the_exit_code_table_is_the_commands():
    """The docs' table of exit codes lists exactly the codes the command uses."""
    from incidentkit._cli import ExitCode  # noqa: PLC0415

    page = (ROOT / "docs" / "cli" / "index.md").read_text("utf-8")
    table = page.split("<!-- exit-codes:start -->")[1].split("<!-- exit-codes:end -->")[0]
    codes = [int(row.split("|")[1]) for row in table.strip().splitlines()[2:]]
    assert codes == [int(code) for code in ExitCode]
