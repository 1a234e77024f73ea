"""The ``incidentkit`` command against a real PostgreSQL store, as a responder's shell runs it.

Each step is its own process of the installed command (``tests/_cli_helpers.py``)
given ``--store postgresql://...`` with a password in the URL: every process
resumes the incident from the database, so the incident is worked from one
process to the next as two responders on two machines would. The server is the
session's :class:`~incidentkit.testing.LocalPostgres` (``postgres_server`` in
``conftest.py``); without PostgreSQL's server or psycopg the tests are skipped
with the install hint, and under ``INCIDENTKIT_REQUIRE_SERVICES=1`` (CI) they fail.
No output of any run, on stdout or stderr, holds the password.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from _cli_helpers import CONFIG, Ran, at, environment, run
from incidentkit import Incident
from incidentkit.testing import LocalPostgres
from services import require_modules

RESPONDER = "cli_responder"
PASSWORD = "cli-Pg-pass-4e1d2b"  # noqa: S105 - a test role's password on a throwaway server
SAM = ["--actor", "Sam", "--role", "operations"]
DANA = ["--actor", "Dana", "--role", "incident_commander"]


@pytest.fixture(scope="module")
def store_url(postgres_server: LocalPostgres) -> str:
    """A role with a password that may only read and append; the schema migrated by the owner."""
    require_modules("psycopg", extra="postgres")
    import psycopg  # noqa: PLC0415 - after the check that it is installed

    from incidentkit.stores.postgres import PostgresStore  # noqa: PLC0415 - needs psycopg

    with psycopg.connect(postgres_server.url, autocommit=True) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {RESPONDER}")
        conn.execute(f"CREATE ROLE {RESPONDER} LOGIN PASSWORD '{PASSWORD}'")
    owner = PostgresStore(postgres_server.url)
    owner.migrate()
    owner.grant_access(RESPONDER)
    owner.close()
    return postgres_server.url_for(RESPONDER, PASSWORD)


def step(url: str, incident: str | None, *args: str, code: int = 0, cwd: Path | None = None) -> Ran:
    """Run ``incidentkit ARGS --store URL [--incident ID]``; check its exit code and its secrecy."""
    where = ["--store", url] + ([] if incident is None else ["--incident", incident])
    ran = run(*args, *where, env=environment(INCIDENTKIT_CONFIG=str(CONFIG)), cwd=cwd)
    assert ran.code == code, f"incidentkit {' '.join(args)} exited {ran.code}: {ran.stderr}"
    assert PASSWORD not in ran.stdout
    assert PASSWORD not in ran.stderr
    return ran


@pytest.fixture(scope="module")
def worked(store_url: str) -> tuple[str, str]:
    """The checkout outage worked from declaration to resolution, one process a step.

    Returns the incident's id and the anchor ``resolve`` printed.
    """
    incident = f"INC-cli-{os.urandom(4).hex()}"
    declared = step(
        store_url,
        incident,
        "declare",
        "--title",
        "Checkout returns 5xx",
        "--service",
        "checkout",
        "--detection",
        "alert",
        "--detected-at",
        "2026-11-20T14:09:00Z",
        *DANA,
        *at("14:11"),
        "--json",
    ).json()
    assert isinstance(declared, dict)
    assert declared["incident_id"] == incident
    assert declared["phase"] == "declared"
    assert "127.0.0.1" in declared["journal"]  # where it is, its password masked
    # A wrong order is refused with the library's message, and nothing is written.
    refused = step(
        store_url, incident, "roll-back", "--change", "deploy-4812", *SAM, *at("14:12"), code=3
    )
    assert "'roll_back' is not allowed in phase 'declared'" in refused.stderr
    step(
        store_url,
        incident,
        "assess",
        "--ongoing",
        "--errors",
        "errors",
        "--traffic",
        "traffic",
        "--slo",
        "0.999",
        *DANA,
        *at("14:15"),
    )
    step(store_url, incident, "gather", *SAM, *at("14:15"))
    step(store_url, incident, "review", *SAM, *at("14:16"))
    rolled = step(
        store_url, incident, "roll-back", "--change", "deploy-4812", *SAM, *at("14:31"), "--json"
    ).json()
    assert isinstance(rolled, dict)
    assert rolled["phase"] == "intervened"
    verdict = step(
        store_url,
        incident,
        "verify-recovery",
        "--errors",
        "errors",
        "--traffic",
        "traffic",
        *SAM,
        *at("14:50"),
        "--json",
    ).json()
    assert isinstance(verdict, dict)
    assert verdict["phase"] == "recovered"
    step(store_url, incident, "diagnose", *DANA, *at("15:05"))
    for item, clock in (("deploys", "15:07"), ("infrastructure", "15:08")):
        step(
            store_url,
            incident,
            "check",
            "--item",
            item,
            "--conclusion",
            f"{item}: looked at",
            *DANA,
            *at(clock),
        )
    step(
        store_url,
        incident,
        "waive",
        "--item",
        "dependencies",
        "--reason",
        "no dependency source",
        *DANA,
        *at("15:09"),
    )
    resolved = step(
        store_url,
        incident,
        "resolve",
        "--root-cause",
        "checkout v2.14.0",
        "--evidence",
        "change:deploy-4812",
        *DANA,
        *at("15:30"),
        "--json",
    ).json()
    assert isinstance(resolved, dict)
    anchor = resolved["anchor"]
    assert resolved["phase"] == "resolved"
    return incident, anchor


def test_each_step_resumed_the_incident_from_the_database(
    store_url: str, worked: tuple[str, str]
) -> None:
    """The library reads every step the commands recorded, in order, up to the same head."""
    incident, anchor = worked
    from incidentkit.stores.postgres import PostgresStore  # noqa: PLC0415 - needs psycopg

    store = PostgresStore(store_url)
    try:
        phase = Incident.resume(store, incident)
        assert [e.TYPE for e in phase.events] == [
            "incident_declared",
            "impact_assessed",
            "changes_gathered",
            "rollbacks_reviewed",
            "rollback_executed",
            "recovery_checked",
            "diagnosis_begun",
            "checklist_item_checked",
            "checklist_item_checked",
            "checklist_item_waived",
            "incident_resolved",
        ]
        assert f"{phase.anchor.seq}:{phase.anchor.digest}" == anchor
    finally:
        store.close()


def test_show_and_list_from_another_process(
    store_url: str, worked: tuple[str, str], tmp_path: Path
) -> None:
    """``show`` and ``list``, run elsewhere, read the resolved incident back from the database."""
    incident, anchor = worked
    elsewhere = tmp_path
    shown = step(store_url, incident, "show", "--json", cwd=elsewhere).json()
    assert isinstance(shown, dict)
    assert shown["phase"] == "resolved"
    assert shown["open_checklist_items"] == []
    assert shown["anchor"] == anchor
    human = step(store_url, incident, "show", cwd=elsewhere).stdout
    assert human.startswith(f"{incident}: Checkout returns 5xx")
    assert "resolved" in human
    listed = step(store_url, None, "list", "--json", cwd=elsewhere).json()
    assert isinstance(listed, list)
    (row,) = [r for r in listed if r["incident_id"] == incident]
    assert row["phase"] == "resolved"
    assert row["head"] == anchor
    assert row["problem"] is None
    assert incident in step(store_url, None, "list", cwd=elsewhere).stdout


def test_verify_and_report_from_another_process(
    store_url: str, worked: tuple[str, str], tmp_path: Path
) -> None:
    """``verify`` with the anchor exits 0 (1 with a forged one); ``report`` writes md and html."""
    incident, anchor = worked
    elsewhere = tmp_path
    intact = step(store_url, incident, "verify", "--anchor", anchor, cwd=elsewhere)
    assert "intact, up to the anchor" in intact.stdout
    tampered_anchor = anchor.split(":")[0] + ":" + "0" * 64
    step(store_url, incident, "verify", "--anchor", tampered_anchor, code=1, cwd=elsewhere)
    markdown = step(store_url, incident, "report", cwd=elsewhere).stdout
    assert markdown.startswith(f"# {incident}")
    assert "## Root cause" in markdown
    assert "checkout v2.14.0" in markdown
    page = tmp_path / "postmortem.html"
    step(store_url, incident, "report", "--format", "html", "-o", str(page), cwd=elsewhere)
    assert page.read_text("utf-8").lower().startswith("<!doctype html")
    assert PASSWORD not in page.read_text("utf-8")


def test_a_wrong_password_is_refused_without_showing_it(store_url: str) -> None:
    """A URL with a wrong password: exit 4, and neither password appears in the message."""
    wrong = store_url.replace(PASSWORD, "not-the-Pg-pass-91c")
    ran = run("show", "--store", wrong, "--incident", "INC-none", env=environment())
    assert ran.code == 4, ran.stderr
    assert "not-the-Pg-pass-91c" not in ran.stdout + ran.stderr
    assert PASSWORD not in ran.stdout + ran.stderr
    assert ran.stderr.startswith("incidentkit: ")
