"""Development sessions for incidentkit: tests, type checks, lint, examples, docs, benchmarks.

Run ``nox`` for the default sessions (tests, typecheck, lint, examples), ``nox -s NAME``
for one, and ``nox --list`` to see them all. Every session installs its tools from the
PEP 735 dependency groups in ``pyproject.toml``, so the versions live in one place.

Sessions use the interpreter that runs nox. To try another one, force it, for example
``nox -s tests -P 3.13``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import nox

nox.needs_version = ">=2024.10.9"
nox.options.sessions = ["tests", "typecheck", "lint", "examples"]
nox.options.default_venv_backend = "venv"

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml("pyproject.toml")
EXAMPLES = ROOT / "examples"
SITE_DIR = ROOT / "site"
EXAMPLE_OUTPUT = ROOT / "build" / "examples"
"""Where ``nox -s examples`` keeps what the examples write for people to open."""
EXAMPLE_ARGS = {
    "checkout_outage.py": ["--html", str(EXAMPLE_OUTPUT / "checkout_outage.html")],
}
"""Arguments for the examples that write a file worth keeping."""


def _group(name: str) -> tuple[str, ...]:
    """Return the requirements of one PEP 735 dependency group, includes resolved.

    Args:
        name: The group's name in ``[dependency-groups]``.

    Returns:
        The requirement strings, ready for ``session.install``.
    """
    return nox.project.dependency_groups(PYPROJECT, name)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite and the documentation's code examples, under coverage.

    The package is installed as a wheel (not editable), so the tests run against what
    users get, with the ``html`` extra for the HTML report's tests. Arguments after
    ``--`` go to pytest, for example ``nox -s tests -- tests/test_journal.py -x``.
    """
    session.install(".[html]", *_group("test"))
    session.run("coverage", "erase")
    session.run("coverage", "run", "-m", "pytest", "--markdown-docs", *session.posargs)
    session.run("coverage", "report")


@nox.session
def typecheck(session: nox.Session) -> None:
    """Check types with mypy and pyright, both strict, on the package and the typing tests."""
    session.install(".[html]", *_group("typecheck"))
    session.run("mypy")
    python = Path(session.bin) / "python"
    session.run("pyright", "--pythonpath", str(python))


@nox.session
def lint(session: nox.Session) -> None:
    """Check the code with ruff's linter and its formatter (no files are changed)."""
    session.install(*_group("lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def examples(session: nox.Session) -> None:
    """Run every ``examples/*.py`` script, in order, and fail if any of them fails.

    Each script runs in a fresh empty working directory, so it can rely on nothing but
    the installed package (with the ``html`` extra), and whatever files it writes there
    are thrown away. The checkout outage also writes its HTML report to
    ``build/examples/checkout_outage.html``, which is kept: open it in a browser.
    """
    scripts = sorted(EXAMPLES.glob("*.py"))
    if not scripts:
        session.error(f"no examples found in {EXAMPLES}")
    session.install(".[html]", *_group("postgres"))
    EXAMPLE_OUTPUT.mkdir(parents=True, exist_ok=True)
    failed: list[str] = []
    for script in scripts:
        session.log(f"running example {script.name}")
        with (
            tempfile.TemporaryDirectory(prefix="incidentkit-example-") as workdir,
            session.chdir(workdir),
        ):
            try:
                session.run("python", str(script), *EXAMPLE_ARGS.get(script.name, []))
            except nox.command.CommandFailed:
                failed.append(script.name)
    ran = ", ".join(script.name for script in scripts)
    session.log(f"examples run ({len(scripts)}): {ran}")
    for kept in sorted(EXAMPLE_OUTPUT.glob("*")):
        session.log(f"kept: {kept}")
    if failed:
        session.error(f"{len(failed)} of {len(scripts)} examples failed: {', '.join(failed)}")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation with MkDocs, with every warning an error.

    The site goes to ``site/``; arguments after ``--`` go to ``mkdocs build``.
    """
    session.install(".", *_group("docs"))
    session.run("mkdocs", "build", "--strict", "--site-dir", str(SITE_DIR), *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmarks, ``bench/run.py``; arguments after ``--`` go to it."""
    session.install(".", *_group("bench"))
    session.run("python", "bench/run.py", *session.posargs)
