"""The objectives on the command line: counts, a latency histogram, a threshold on a gauge.

``assess`` and ``verify-recovery`` take an error ratio (``--errors``), counts
(``--bad --total``), a latency histogram (``--fast --total
--latency-threshold``) or a threshold on a gauge (``--threshold-metric
--above``), each named from the configuration. Run as a user runs the
command: a process, its exit code, its output, and the journal it wrote. The
last tests drive a latency incident against a real Prometheus with a
backfilled histogram (skipped without one, failed under
``INCIDENTKIT_REQUIRE_SERVICES=1``).
"""

from __future__ import annotations

import shlex
import shutil
import textwrap
from pathlib import Path

import pytest

from _cli_helpers import DATASET, at, declare, ok, run
from incidentkit import Incident
from incidentkit.events import RecoveryChecked
from incidentkit.memory import load_dataset
from services import require_executables

_DATA = load_dataset(DATASET)
_ERRORS = _DATA.scenario["error_query"]
_TRAFFIC = _DATA.scenario["traffic_query"]
_BAD = 'sum(increase(http_requests_total{service="checkout",code=~"5.."}[1m]))'
_TOTAL = 'sum(increase(http_requests_total{service="checkout"}[1m]))'


def _config(path: Path, source: str, metrics: dict[str, tuple[str, str, int]]) -> Path:
    """Write a configuration: ``source`` (a TOML table body) and ``metrics`` (query, unit, step)."""
    lines = [source]
    for name, (query, unit, step) in metrics.items():
        lines.append(
            f'[metrics.{name}]\nsource = "metrics"\nquery = \'{query}\'\nunit = "{unit}"\n'
            f"step = {step}"
        )
    path.write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:
    """The checkout outage's metrics as a ratio, as counts, and a ratio wrongly in seconds."""
    source = textwrap.dedent(
        f"""\
        [sources.metrics]
        dataset = '{DATASET}'
        role = "metrics"

        [sources.deploys]
        dataset = '{DATASET}'
        role = "deploys"

        [executors.rollback]
        dataset = '{DATASET}'
        """
    )
    return _config(
        tmp_path_factory.mktemp("objectives") / "incidentkit.toml",
        source,
        {
            "errors": (_ERRORS, "ratio", 60),
            "traffic": (_TRAFFIC, "req/s", 60),
            "errors_1m": (_BAD, "requests", 60),
            "requests_1m": (_TOTAL, "requests", 60),
            "latency": (_ERRORS, "seconds", 60),
            "requests_5m": (_TOTAL.replace("[1m]", "[5m]"), "requests", 300),
        },
    )


@pytest.fixture(scope="module")
def rolled_back(tmp_path_factory, config) -> Path:
    """The checkout outage assessed from counts and rolled back at 14:31, by commands."""
    journal = tmp_path_factory.mktemp("counts") / "checkout.jsonl"
    declare(journal)
    cfg = ["--config", str(config)]
    assessed = ok(
        "assess",
        str(journal),
        "--ongoing",
        "--bad",
        "errors_1m",
        "--total",
        "requests_1m",
        "--slo",
        "0.999",
        "--actor",
        "Dana",
        *cfg,
        *at("14:15"),
        "--json",
    ).json()
    assert isinstance(assessed, dict)
    figures = {f["name"]: f["value"] for f in assessed["impact"]["figures"]}
    assert figures["burn_rate_5m"] > 14.4
    ok("gather", str(journal), "--actor", "Sam", *cfg, *at("14:15"))
    ok("review", str(journal), "--actor", "Sam", *cfg, *at("14:16"))
    ok("roll-back", str(journal), "--change", "deploy-4812", "--actor", "Sam", *cfg, *at("14:31"))
    return journal


def _verdicts(journal: Path) -> list[RecoveryChecked]:
    return [e for e in Incident.resume(journal).events if isinstance(e, RecoveryChecked)]


def test_recovery_from_counts_is_judged_by_the_exact_binomial_test(rolled_back, config, tmp_path):
    """--bad --total: too early is not recovered (exit 1); after the hold, recovered (exit 0)."""
    journal = tmp_path / "checkout.jsonl"
    shutil.copy(rolled_back, journal)
    counts = ["--bad", "errors_1m", "--total", "requests_1m", "--actor", "Sam"]
    cfg = ["--config", str(config)]
    early = run("verify-recovery", str(journal), *counts, *cfg, *at("14:33"))
    assert early.code == 1, early.stderr
    assert "(judged by exact-binomial)" in early.stdout
    late = ok("verify-recovery", str(journal), *counts, *cfg, *at("14:50"), "--json").json()
    assert isinstance(late, dict)
    assert late["recovered"] is True
    assert late["phase"] == "recovered"
    assert late["verdict"]["test"] == "exact-binomial"
    assert late["verdict"]["post_total"] > 0
    assert [v.verdict.test for v in _verdicts(journal)] == ["exact-binomial", "exact-binomial"]


def test_recovery_from_a_ratio_still_says_mann_whitney(rolled_back, config, tmp_path):
    """--errors --traffic is judged as before, and the line names the judge."""
    journal = tmp_path / "checkout.jsonl"
    shutil.copy(rolled_back, journal)
    ran = ok(
        "verify-recovery",
        str(journal),
        "--errors",
        "errors",
        "--traffic",
        "traffic",
        "--actor",
        "Sam",
        "--config",
        str(config),
        *at("14:50"),
    )
    assert "recovery: recovered (judged by mann-whitney)" in ran.stdout


_USAGE = [
    (["--bad", "errors_1m"], "--bad needs --total"),
    (["--fast", "errors_1m", "--total", "requests_1m"], "--fast needs --latency-threshold"),
    (["--threshold-metric", "errors"], "--threshold-metric needs --above"),
    (["--errors", "errors"], "--errors needs --traffic"),
    (
        ["--errors", "errors", "--traffic", "traffic", "--total", "requests_1m"],
        "--total goes with --bad or --fast, not with --errors",
    ),
    (
        ["--bad", "errors_1m", "--total", "requests_1m", "--above", "1"],
        "--above goes with --threshold-metric, not with --bad",
    ),
    (
        ["--bad", "errors_1m", "--total", "requests_1m", "--latency-threshold", "0.3"],
        "--latency-threshold goes with --fast, not with --bad",
    ),
    (
        ["--bad", "errors_1m", "--total", "requests_1m", "--traffic", "traffic"],
        "--bad takes no --traffic",
    ),
    (["--errors", "errors", "--bad", "errors_1m"], "not allowed with argument --errors"),
    (["--threshold-metric", "errors", "--above", "nan"], "expected a finite number, not 'nan'"),
    (["--fast", "x", "--total", "y", "--latency-threshold", "inf"], "a finite number"),
    (["--total", "requests_1m"], "one of the arguments --errors --bad --fast --threshold-metric"),
    (
        ["--bad", "errors_1m", "--total", "requests_5m"],
        "the two counts must be queried at the same step",
    ),
    (["--fast", "errors_1m", "--total", "requests_1m", "--latency-threshold", "-1"], "positive"),
    (["--errors", "latency", "--traffic", "traffic"], "'seconds', a duration"),
]


@pytest.mark.parametrize(("argv", "said"), _USAGE, ids=[" ".join(a)[:60] for a, _ in _USAGE])
def test_an_objective_that_does_not_fit_together_is_a_usage_error(
    rolled_back, config, tmp_path, argv, said
):
    """Exit 2 with a message naming the options; nothing is written to the journal."""
    journal = tmp_path / "checkout.jsonl"
    shutil.copy(rolled_back, journal)
    before = journal.read_bytes()
    ran = run(
        "verify-recovery",
        str(journal),
        *argv,
        "--actor",
        "Sam",
        "--config",
        str(config),
        *at("14:50"),
    )
    assert ran.code == 2, ran.stderr
    assert said in ran.stderr
    assert ran.stdout == ""
    assert journal.read_bytes() == before


def test_a_duration_given_as_an_error_ratio_names_the_latency_options(rolled_back, config):
    """--errors on a metric in seconds: the hint names --fast ... and --threshold-metric."""
    ran = run(
        "verify-recovery",
        str(rolled_back),
        "--errors",
        "latency",
        "--traffic",
        "traffic",
        "--actor",
        "Sam",
        "--config",
        str(config),
        *at("14:50"),
    )
    assert ran.code == 2
    hint = ran.stderr.splitlines()[1]
    assert "--fast BUCKET --total COUNT --latency-threshold SECONDS" in hint
    assert "--threshold-metric latency --above SECONDS" in hint


def test_assess_takes_a_threshold_and_refuses_a_lone_total(config, tmp_path):
    """assess: --total alone is a usage error; --threshold-metric --above records share of time."""
    journal = tmp_path / "checkout.jsonl"
    declare(journal)
    base = ["--ongoing", "--actor", "Dana", "--config", str(config), *at("14:15")]
    lone = run("assess", str(journal), *base, "--total", "requests_1m")
    assert lone.code == 2
    assert "--total goes with --bad or --fast" in lone.stderr
    assessed = ok(
        "assess",
        str(journal),
        *base,
        "--threshold-metric",
        "errors",
        "--above",
        "0.05",
        "--slo",
        "0.99",
        "--json",
    ).json()
    assert isinstance(assessed, dict)
    figures = {f["name"]: f["value"] for f in assessed["impact"]["figures"]}
    assert "share_of_requests_failing" not in figures
    assert figures["share_of_time_above_threshold"] > 0.5


_HOSTILE = "\x1b]52;c;aGk=\x07\x1b[2J\u202eevil"


@pytest.mark.parametrize("option", ["--bad", "--fast", "--threshold-metric", "--total"])
def test_hostile_metric_names_and_numbers_stay_inert(rolled_back, config, option):
    """An escape sequence as a metric name or a number never reaches the terminal raw."""
    argv = {
        "--bad": ["--bad", _HOSTILE, "--total", "requests_1m"],
        "--fast": [
            "--fast",
            "errors_1m",
            "--total",
            "requests_1m",
            "--latency-threshold",
            _HOSTILE,
        ],
        "--threshold-metric": ["--threshold-metric", _HOSTILE, "--above", "1"],
        "--total": ["--bad", "errors_1m", "--total", "requests_1m", "--above", _HOSTILE],
    }[option]
    ran = run(
        "verify-recovery",
        str(rolled_back),
        *argv,
        "--actor",
        "Sam",
        "--config",
        str(config),
        *at("14:50"),
    )
    assert ran.code == 2
    for raw in ("\x1b", "\x07", "\u202e"):
        assert raw not in ran.stderr
        assert raw not in ran.stdout


# --- against a real Prometheus ----------------------------------------------------------


@pytest.fixture(scope="module")
def prometheus_config(tmp_path_factory):
    """A real Prometheus with the latency histogram backfilled, and a configuration naming it."""
    require_executables("prometheus", "promtool")
    from incidentkit.testing import LocalPrometheus  # noqa: PLC0415 - with the server
    from test_prometheus_latency import FAST, P99, TOTAL, _openmetrics  # noqa: PLC0415

    text, _added = _openmetrics()
    with LocalPrometheus(text) as server:
        source = f'[sources.metrics]\nadapter = "prometheus"\nurl = "{server.url}"'
        yield _config(
            tmp_path_factory.mktemp("prometheus") / "incidentkit.toml",
            source,
            {
                "le_300ms": (FAST, "requests", 60),
                "requests": (TOTAL, "requests", 60),
                "p99": (P99, "s", 60),
            },
        )


def _latency_incident(journal: Path, config: Path, objective: list[str]) -> None:
    """Declare the latency incident, assess it from ``objective``, mitigate at its end."""
    cfg = ["--config", str(config)]
    ok(
        "declare",
        str(journal),
        "--title",
        "Checkout is slow",
        "--service",
        "checkout",
        "--detection",
        "alert",
        "--detected-at",
        "2025-06-02T10:04:00Z",
        "--actor",
        "Dana",
        "--at",
        "2025-06-02T10:05:00Z",
    )
    assessed = ok(
        "assess",
        str(journal),
        "--ongoing",
        *objective,
        "--slo",
        "0.999",
        "--actor",
        "Dana",
        *cfg,
        "--at",
        "2025-06-02T10:10:00Z",
        "--json",
    ).json()
    assert isinstance(assessed, dict)
    figures = {f["name"]: f["value"] for f in assessed["impact"]["figures"]}
    assert figures["burn_rate_5m"] > 300
    ok(
        "review",
        str(journal),
        "--skip",
        "--reason",
        "no deploy in the window",
        "--actor",
        "Sam",
        "--at",
        "2025-06-02T10:11:00Z",
    )
    ok(
        "mitigate",
        str(journal),
        "--action",
        "scaled out",
        "--why-not-rollback",
        "no deploy",
        "--actor",
        "Sam",
        "--at",
        "2025-06-02T10:20:00Z",
    )


def test_a_latency_histogram_on_a_real_prometheus_from_the_command_line(
    prometheus_config, tmp_path
):
    """--fast --total --latency-threshold on real PromQL: burn rate, recovery by exact-binomial."""
    journal = tmp_path / "slow.jsonl"
    latency = ["--fast", "le_300ms", "--total", "requests", "--latency-threshold", "0.3"]
    _latency_incident(journal, prometheus_config, latency)
    cfg = ["--config", str(prometheus_config), "--actor", "Sam"]
    too_early = run("verify-recovery", str(journal), *latency, *cfg, "--at", "2025-06-02T10:22:00Z")
    assert too_early.code == 1, too_early.stderr
    done = ok(
        "verify-recovery", str(journal), *latency, *cfg, "--at", "2025-06-02T10:50:00Z", "--json"
    ).json()
    assert isinstance(done, dict)
    assert done["recovered"] is True
    assert done["verdict"]["test"] == "exact-binomial"
    assert done["verdict"]["post_total"] > 1000


def test_a_p99_threshold_on_a_real_prometheus_from_the_command_line(prometheus_config, tmp_path):
    """--threshold-metric p99 --above 0.5: time above it, then held under it: recovered."""
    journal = tmp_path / "slow.jsonl"
    p99 = ["--threshold-metric", "p99", "--above", "0.5"]
    _latency_incident(journal, prometheus_config, p99)
    cfg = ["--config", str(prometheus_config), "--actor", "Sam"]
    # At 10:23 the p99 over the last 5 minutes still holds the slow requests: above 0.5 s.
    still = run("verify-recovery", str(journal), *p99, *cfg, "--at", "2025-06-02T10:23:00Z")
    assert still.code == 1, still.stderr
    assert "recovery: not_recovered (judged by threshold-hold)" in still.stdout
    done = ok("verify-recovery", str(journal), *p99, *cfg, "--at", "2025-06-02T10:50:00Z")
    assert "recovery: recovered (judged by threshold-hold)" in done.stdout
    assert "traffic was not checked" in done.stdout
    assert [v.verdict.test for v in _verdicts(journal)] == ["threshold-hold"] * 2


def test_every_objective_in_the_docs_fits_together():
    """Each assess and verify-recovery line of the CLI pages names an objective that fits."""
    from incidentkit._cli._objective import objective_kind  # noqa: PLC0415
    from incidentkit._cli._parser import build_parser  # noqa: PLC0415
    from test_cli import _DOCS, _command_lines  # noqa: PLC0415 - the docs' command lines

    parser = build_parser()
    kinds: set[str | None] = set()
    for path in _DOCS:
        for line in _command_lines(path.read_text("utf-8")):
            argv = shlex.split(line)[1:]
            if argv[0] in {"assess", "verify-recovery"}:
                args = parser.parse_args(argv)
                kinds.add(objective_kind(args, recovery=argv[0] == "verify-recovery"))
    assert {"counts", "latency", "threshold"} <= kinds
