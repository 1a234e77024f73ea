"""Running the ``incidentkit`` command as a user does: a subprocess, its exit code, its output.

The command is the installed console script when this interpreter has one
(``nox -s tests`` installs the package, so CI runs the real script), and
``python -m incidentkit`` otherwise (a development checkout with
``PYTHONPATH=src``). Either way it is a separate process reading its own
arguments, environment and files.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DATASET = EXAMPLES / "data" / "checkout_outage.json"
CONFIG = EXAMPLES / "cli_incident.toml"
SCRIPT = Path(sys.executable).parent / "incidentkit"
STEP_TIMEOUT = 120


def command() -> list[str]:
    """The command line that runs ``incidentkit``."""
    if SCRIPT.is_file() and os.access(SCRIPT, os.X_OK) and "PYTHONPATH" not in os.environ:
        return [str(SCRIPT)]
    return [sys.executable, "-m", "incidentkit"]


@attrs.frozen
class Ran:
    """A finished run of the command."""

    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    def json(self) -> object:
        """The standard output, parsed as JSON."""
        return json.loads(self.stdout)


def environment(**extra: str) -> dict[str, str]:
    """The environment of a run: this one, without the command's own variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENTKIT_")}
    if "INCIDENTKIT_REQUIRE_SERVICES" in os.environ:
        env["INCIDENTKIT_REQUIRE_SERVICES"] = os.environ["INCIDENTKIT_REQUIRE_SERVICES"]
    env.update(extra)
    return env


def run(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    stderr: int | None = None,
) -> Ran:
    """Run ``incidentkit ARGS`` and return what it did."""
    done = subprocess.run(
        [*command(), *args],
        capture_output=stderr is None,
        stdout=subprocess.PIPE if stderr is not None else None,
        stderr=stderr,
        env=environment() if env is None else env,
        cwd=cwd,
        timeout=STEP_TIMEOUT,
        check=False,
    )
    out = done.stdout.decode("utf-8", "backslashreplace")
    err = "" if done.stderr is None else done.stderr.decode("utf-8", "backslashreplace")
    return Ran(tuple(args), done.returncode, out, err)


def ok(*args: str, **kwargs: object) -> Ran:
    """Run the command and insist that it exits 0."""
    ran = run(*args, **kwargs)  # type: ignore[arg-type]
    assert ran.code == 0, f"incidentkit {' '.join(args)} exited {ran.code}: {ran.stderr}"
    return ran


def at(clock: str) -> list[str]:
    """``--at`` the scenario's day, at ``HH:MM``."""
    return ["--at", f"2026-11-20T{clock}:00Z"]


def declare(journal: Path | None, *extra: str, title: str = "Checkout returns 5xx") -> Ran:
    """Declare the checkout outage at 14:11 into ``journal`` (a file, or ``--store`` in extra)."""
    return ok(
        "declare",
        *([] if journal is None else [str(journal)]),
        "--title",
        title,
        "--service",
        "checkout",
        "--detection",
        "alert",
        "--detected-at",
        "2026-11-20T14:09:00Z",
        "--actor",
        "Dana",
        *at("14:11"),
        *extra,
    )


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file with the standard library (``tomli`` before Python 3.11)."""
    toml = importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")
    data: dict[str, Any] = toml.loads(path.read_text("utf-8"))
    return data
