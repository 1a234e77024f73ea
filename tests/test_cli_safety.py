"""The ``incidentkit`` command with hostile text, secrets, third-party adapters and a terminal.

Text from a journal or a source reaches the terminal inert; a secret read from
the environment never shows, in text, JSON, errors, the configuration's echo
or the journal; progress goes to stderr only when stderr is a terminal.
"""

from __future__ import annotations

import os
import pty
import re
import subprocess
import textwrap
import threading
from pathlib import Path

import pytest

from _cli_helpers import CONFIG, at, command, declare, environment, ok, run
from incidentkit import Incident

HOSTILE_TITLE = (
    "Checkout \x1b[31mRED\x1b[0m\x1b]0;pwned\x07 </table><script>alert(1)</script> | a | b"
    "\u202eevil\r\nphase: resolved \x9b2J\x07\x1b[2J"
)
#: What a terminal acts on rather than shows: C0 (but the line feed), DEL, C1, bidi controls.
TERMINAL_CONTROLS = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
TOKEN = "tok-s3cr3t-2f9c1e"  # noqa: S105 - a made-up secret that must show nowhere

THIRD_PARTY = '''
"""Adapters a third party ships, registered under the incidentkit.adapters entry points."""

import time

import pendulum

from incidentkit import (
    Change, ChangeKind, RollbackFailedError, RollbackOption, SourceUnavailableError,
)


class SlowDeploys:
    """A deploy source that takes its time, and whose change summary is whatever it is told."""

    def __init__(self, *, name="slow", delay=0.0, summary="", change_id="slow-1"):
        self._name, self._delay, self._summary, self._id = name, delay, summary, change_id

    @property
    def name(self):
        return self._name

    def deploys(self, start, end, *, services=None):
        time.sleep(self._delay)
        return [Change(
            id=self._id, kind=ChangeKind.DEPLOY, service="checkout",
            started=pendulum.parse("2026-11-20T14:03:00Z"), summary=self._summary,
            version="v2", previous_version="v1",
        )]


class LeakyDeploys:
    """A deploy source that quotes its own token when it fails: a bug the CLI must contain."""

    def __init__(self, *, token, name="leaky"):
        self._token, self._name = token, name

    @property
    def name(self):
        return self._name

    def deploys(self, start, end, *, services=None):
        raise SourceUnavailableError(f"401 for Bearer {self._token}", source=self._name)


class ExplodingDeploys:
    """A deploy source that cannot even be built, and says why with its token."""

    def __init__(self, *, token, name="exploding"):
        raise RuntimeError(f"cannot start with {token}")


class FailingRollback:
    """An executor whose rollbacks fail, quoting its token."""

    def __init__(self, *, token="", name="failing"):
        self._token, self._name = token, name

    @property
    def name(self):
        return self._name

    def options(self, change):
        return [RollbackOption(
            id=f"{self._name}:{change.id}", executor=self._name, change_id=change.id,
            target=change.service, from_version=change.version,
            to_version=change.previous_version,
        )]

    def current_version(self, target):
        return None

    def dry_run(self, option):
        raise AssertionError("no dry run was offered")

    def execute(self, option):
        raise RollbackFailedError(f"the deploy API refused token {self._token}", source=self._name)
'''


@pytest.fixture(scope="module")
def plugins(tmp_path_factory) -> Path:
    """A directory holding a third-party distribution with three adapters, as pip lays it out."""
    site = tmp_path_factory.mktemp("site")
    info = site / "ik_testkit-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ik-testkit\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[incidentkit.adapters]\n"
        "ik-slow-deploys = ik_testkit:SlowDeploys\n"
        "ik-leaky-deploys = ik_testkit:LeakyDeploys\n"
        "ik-failing-rollback = ik_testkit:FailingRollback\n"
        "ik-exploding-deploys = ik_testkit:ExplodingDeploys\n"
    )
    (site / "ik_testkit.py").write_text(THIRD_PARTY)
    return site


def plugin_env(site: Path, **extra: str) -> dict[str, str]:
    """The environment with the third-party distribution importable."""
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    return environment(PYTHONPATH=path, **extra)


def config(tmp_path: Path, body: str) -> Path:
    """Write a configuration file."""
    path = tmp_path / "incidentkit.toml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def assessed(tmp_path: Path, *, title: str = "Checkout returns 5xx") -> Path:
    """A journal declared and assessed (a stated severity), ready for gathering."""
    journal = tmp_path / "incident.jsonl"
    declare(journal, title=title)
    ok("assess", str(journal), "--ongoing", "--severity", "sev2", "--actor", "Dana", *at("14:15"))
    return journal


def inert(text: str) -> None:
    """Insist that ``text`` holds nothing a terminal would act on."""
    found = TERMINAL_CONTROLS.search(text)
    if found is not None:
        around = text[max(0, found.start() - 40) : found.end() + 40]
        pytest.fail(f"{found.group()!r} at {found.start()} in {around!r}")


# --- hostile text -----------------------------------------------------------------------


def test_a_hostile_title_is_inert_in_every_output(tmp_path):
    """ANSI escapes, bidi controls and line breaks in a title never reach the terminal."""
    journal = tmp_path / "incident.jsonl"
    made = declare(journal, title=HOSTILE_TITLE)
    inert(made.stdout)
    assert "Checkout RED" in made.stdout
    store = tmp_path / "store"
    declare(None, "--store", str(store), "--incident", "INC-7", title=HOSTILE_TITLE)
    outputs = [
        ok("show", str(journal)).stdout,
        ok("timeline", str(journal)).stdout,
        ok("events", str(journal)).stdout,
        ok("list", str(store)).stdout,
    ]
    for output in outputs:
        inert(output)
        assert "</table><script>alert(1)</script>" in output  # plain text on a terminal
    shown = outputs[0]
    assert shown.splitlines()[1].startswith("  phase      declared")  # no forged line
    # For scripts the title is exact, and the JSON itself is plain ASCII.
    data = ok("show", str(journal), "--json")
    assert data.stdout.isascii()
    assert data.json()["title"] == HOSTILE_TITLE
    # The post-mortem: Markdown on the terminal, inert too.
    ok(
        "diagnose",
        str(journal),
        "--without-recovery",
        "--reason",
        "drill \x1b[2J",
        "--actor",
        "Dana",
        *at("14:20"),
    )
    for item in ("deploys", "infrastructure", "dependencies"):
        ok(
            "waive",
            str(journal),
            "--item",
            item,
            "--reason",
            "\x1b]8;;http://x\x07link",
            "--actor",
            "Dana",
            *at("14:21"),
        )
    resolved = ok(
        "resolve",
        str(journal),
        "--root-cause",
        HOSTILE_TITLE,
        "--evidence",
        "text:\x1b[5m",
        "--actor",
        "Dana",
        *at("14:22"),
    )
    inert(resolved.stdout)
    for fmt in ("md", "json"):
        inert(ok("report", str(journal), "--format", fmt).stdout)


def test_hostile_text_from_a_source_is_inert(tmp_path, plugins):
    """A change summary with escapes, from a third-party source, prints inert everywhere."""
    path = config(
        tmp_path,
        r"""
        [sources.slow]
        adapter = "ik-slow-deploys"
        change_id = "evil-\u001b[2J-1"
        summary = "\u001b[2J\u001b]0;pwned\u0007 </table><script>alert(1)</script> | x |\u202e"
        """,
    )
    journal = assessed(tmp_path)
    env = plugin_env(plugins)
    gathered = ok(
        "gather", str(journal), "--actor", "Sam", "--config", str(path), *at("14:16"), env=env
    )
    inert(gathered.stdout + gathered.stderr)
    assert "evil-[2J-1" not in gathered.stdout  # the escape went, with its sequence
    assert "evil--1" in gathered.stdout
    assert "<script>alert(1)</script>" in gathered.stdout
    for name in ("show", "timeline", "events"):
        inert(ok(name, str(journal)).stdout)
    body = ok("events", str(journal), "--type", "changes_gathered", "--json").stdout
    assert body.isascii()


def test_an_error_quoting_hostile_input_is_inert(tmp_path):
    """An argparse error and a library error that quote the input keep it inert on stderr."""
    journal = tmp_path / "incident.jsonl"
    declare(journal)
    wrong = run("show", str(journal), "--format", "\x1b[2Jx")
    assert wrong.code == 2
    inert(wrong.stderr)
    bad = run(
        "assess",
        str(journal),
        "--ongoing",
        "--severity",
        "sev2",
        "--actor",
        "Dana",
        "--symptom-start",
        "\x1b]0;x\x07",
        *at("14:15"),
    )
    assert bad.code == 2
    inert(bad.stderr)


# --- secrets ------------------------------------------------------------------------------


def test_the_configuration_echo_names_variables_never_values(tmp_path):
    """``config`` shows ``$VARIABLE`` and whether it is set, never the secret."""
    path = config(
        tmp_path,
        """
        [sources.prometheus]
        adapter = "prometheus"
        url = "http://127.0.0.1:9"
        token_env = "IK_TEST_TOKEN"
        headers = { "X-Scope-OrgID" = "tenant-1", Authorization = { env = "IK_TEST_AUTH" } }
        """,
    )
    env = environment(IK_TEST_TOKEN=TOKEN, IK_TEST_AUTH=f"Bearer {TOKEN}-2")
    for argv in (
        ["config"],
        ["config", "--json"],
        ["config", "--check"],
        ["config", "--check", "--json"],
    ):
        ran = ok(*argv, "--config", str(path), env=env)
        assert TOKEN not in ran.stdout + ran.stderr
        assert "IK_TEST_TOKEN" in ran.stdout
    data = ok("config", "--config", str(path), "--check", "--json", env=env).json()
    prometheus = data["sources"]["prometheus"]
    assert prometheus["options"] == {
        "url": "http://127.0.0.1:9",
        "token": "$IK_TEST_TOKEN",
        "headers": {"X-Scope-OrgID": "tenant-1", "Authorization": "$IK_TEST_AUTH"},
    }
    assert prometheus["environment"] == {"IK_TEST_TOKEN": True, "IK_TEST_AUTH": True}
    assert data["checks"] == {"sources.prometheus": "ok"}
    unset = run("config", "--config", str(path), "--check", env=environment())
    assert unset.code == 2
    assert "the environment variable IK_TEST_TOKEN is not set" in unset.stdout


@pytest.mark.parametrize(
    "line",
    [
        'token = "tok-s3cr3t-2f9c1e"',
        'password = "tok-s3cr3t-2f9c1e"',
        'headers = { Authorization = "Bearer tok-s3cr3t-2f9c1e" }',
    ],
)
def test_a_secret_written_in_the_configuration_is_refused_unshown(tmp_path, line):
    """A literal credential in the file is refused (exit 2), and the refusal does not quote it."""
    path = config(
        tmp_path, f'[sources.prometheus]\nadapter = "prometheus"\nurl = "http://x"\n{line}\n'
    )
    ran = run("config", "--config", str(path))
    assert ran.code == 2
    assert "never written in the configuration" in ran.stderr
    assert TOKEN not in ran.stdout + ran.stderr


def test_a_secret_never_reaches_output_errors_or_the_journal(tmp_path, plugins):
    """A real adapter and a leaky one, with a token from the environment: it shows nowhere."""
    path = config(
        tmp_path,
        """
        [sources.prometheus]
        adapter = "prometheus"
        url = "http://127.0.0.1:9"
        token_env = "IK_TEST_TOKEN"

        [sources.leaky]
        adapter = "ik-leaky-deploys"
        token_env = "IK_TEST_TOKEN"

        [sources.slow]
        adapter = "ik-slow-deploys"

        [executors.failing]
        adapter = "ik-failing-rollback"
        token_env = "IK_TEST_TOKEN"

        [metrics.errors]
        source = "prometheus"
        query = "sum(rate(errors[5m]))"
        """,
    )
    journal = tmp_path / "incident.jsonl"
    declare(journal)
    env = plugin_env(plugins, IK_TEST_TOKEN=TOKEN)
    common = ["--actor", "Sam", "--config", str(path)]
    runs = [
        run(
            "assess",
            str(journal),
            "--ongoing",
            "--severity",
            "sev2",
            "--measure",
            "peak=errors",
            *common,
            *at("14:15"),
            env=env,
        ),
        run(
            "gather",
            str(journal),
            "--deploys",
            "leaky",
            "--deploys",
            "slow",
            *common,
            *at("14:16"),
            env=env,
        ),
        run("gather", str(journal), "--deploys", "leaky", *common, *at("14:16"), "--json", env=env),
        run("review", str(journal), "--executor", "failing", *common, *at("14:17"), env=env),
        run("roll-back", str(journal), "--change", "slow-1", *common, *at("14:18"), env=env),
        run(
            "roll-back",
            str(journal),
            "--change",
            "slow-1",
            *common,
            *at("14:19"),
            "--json",
            env=env,
        ),
        run("show", str(journal), "--json", env=env),
        run("report", str(journal), env=env),
    ]
    for ran in runs:
        assert TOKEN not in ran.stdout + ran.stderr, ran.args
    assert [ran.code for ran in runs] == [0, 0, 0, 0, 1, 1, 0, 3]
    assert "***" in runs[1].stdout + ok("events", str(journal)).stdout
    assert TOKEN not in journal.read_text("utf-8")
    phase = Incident.resume(journal)
    assert phase.phase == "reviewed"
    failed = [e for e in phase.events if e.TYPE == "rollback_executed"]
    assert len(failed) == 2
    assert not any(e.succeeded for e in failed)
    assert "failed: " in runs[4].stdout


# --- progress on a terminal -------------------------------------------------------------


def _run_on_a_terminal(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Run the command with stderr on a pseudo-terminal; return its code, stdout and stderr."""
    leader, follower = pty.openpty()
    chunks: list[bytes] = []

    def read() -> None:
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        done = subprocess.run(
            [*command(), *argv],
            stdout=subprocess.PIPE,
            stderr=follower,
            env=env,
            check=False,
            timeout=120,
        )
    finally:
        os.close(follower)
        reader.join(timeout=10)
        os.close(leader)
    return done.returncode, done.stdout.decode(), b"".join(chunks).decode("utf-8", "replace")


def test_progress_names_the_awaited_source_then_each_outcome_on_a_terminal(tmp_path, plugins):
    """On a terminal: which source is still awaited, then each one's outcome; stdout unchanged."""
    path = config(
        tmp_path,
        """
        [sources.slow]
        adapter = "ik-slow-deploys"
        delay = 1.2

        [sources.quick]
        adapter = "ik-slow-deploys"
        change_id = "quick-1"
        """,
    )
    journal = assessed(tmp_path)
    env = plugin_env(plugins)
    code, stdout, stderr = _run_on_a_terminal(
        ["gather", str(journal), "--actor", "Sam", "--config", str(path), *at("14:16")], env
    )
    assert code == 0
    assert "gathering: waiting for slow" in stderr
    assert re.search(r"  quick: 1 change \(\d+\.\d\d s\)", stderr)
    assert re.search(r"  slow: 1 change \(1\.\d\d s\)", stderr)
    assert stderr.index("quick: 1 change") < stderr.index("slow: 1 change")
    assert "changes gathered: 2 changes from 2 sources" in stdout
    assert "waiting" not in stdout


def test_no_progress_when_stderr_is_not_a_terminal(tmp_path, plugins):
    """Piped, as in a script: stderr stays empty on success."""
    path = config(tmp_path, '[sources.slow]\nadapter = "ik-slow-deploys"\ndelay = 0.5\n')
    journal = assessed(tmp_path)
    ran = ok(
        "gather",
        str(journal),
        "--actor",
        "Sam",
        "--config",
        str(path),
        *at("14:16"),
        env=plugin_env(plugins),
    )
    assert ran.stderr == ""
    assert "changes gathered: 1 change from 1 source" in ran.stdout


def test_a_source_that_is_not_configured_or_of_the_wrong_kind_is_a_usage_error(tmp_path):
    """A name the configuration lacks, or a metric source asked for deploys: exit 2."""
    journal = assessed(tmp_path)
    before = journal.read_bytes()
    missing = run(
        "gather",
        str(journal),
        "--deploys",
        "nowhere",
        "--actor",
        "Sam",
        "--config",
        str(CONFIG),
        *at("14:16"),
    )
    assert missing.code == 2
    assert "no source named 'nowhere' is configured" in missing.stderr
    wrong = run(
        "gather",
        str(journal),
        "--deploys",
        "prometheus",
        "--actor",
        "Sam",
        "--config",
        str(CONFIG),
        *at("14:16"),
    )
    assert wrong.code == 2
    assert "is not a deploys source" in wrong.stderr
    assert journal.read_bytes() == before


def test_an_unexpected_error_is_a_plain_message_with_exit_70(tmp_path, plugins):
    """An adapter raising what no adapter should: one line, secrets masked, no traceback, 70."""
    path = config(
        tmp_path,
        """
        [sources.exploding]
        adapter = "ik-exploding-deploys"
        token_env = "IK_TEST_TOKEN"
        """,
    )
    journal = assessed(tmp_path)
    before = journal.read_bytes()
    ran = run(
        "gather",
        str(journal),
        "--actor",
        "Sam",
        "--config",
        str(path),
        *at("14:16"),
        env=plugin_env(plugins, IK_TEST_TOKEN=TOKEN),
    )
    assert ran.code == 70
    assert ran.stderr.startswith("incidentkit: internal error")
    assert "RuntimeError: cannot start with ***" in ran.stderr
    assert "Traceback" not in ran.stderr
    assert TOKEN not in ran.stdout + ran.stderr
    assert journal.read_bytes() == before
