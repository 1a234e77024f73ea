"""What an installed incidentkit declares about itself."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement

import incidentkit
from _cli_helpers import read_toml

ROOT = Path(__file__).resolve().parent.parent
RUNTIME = {"attrs", "cattrs", "pendulum", "typing-extensions"}


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _python_only(requirement: str) -> bool:
    """Whether a requirement holds only on some Python versions (``; python_version < ...``)."""
    marker = Requirement(requirement).marker
    return marker is not None and "python_version" in str(marker)


def test_runtime_dependencies_are_exactly_the_four() -> None:
    """The installed distribution requires attrs, cattrs, pendulum and typing-extensions only.

    The one exception is ``tomli`` on Python 3.10, the backport of the standard
    library's ``tomllib`` that reads the command's configuration file.
    """
    requires = importlib.metadata.requires("incidentkit") or []
    unconditional = {_name(r) for r in requires if "extra ==" not in r and not _python_only(r)}
    assert unconditional == RUNTIME
    for requirement in filter(_python_only, requires):
        parsed = Requirement(requirement)
        assert parsed.name == "tomli"
        assert parsed.marker is not None
        assert parsed.marker.evaluate({"python_version": "3.10"})
        assert not parsed.marker.evaluate({"python_version": "3.11"})


def test_tomli_is_required_on_python_3_10_only() -> None:
    """pyproject.toml requires tomli for Python 3.10, where tomllib is missing, and only there."""
    project = read_toml(ROOT / "pyproject.toml")["project"]
    (tomli,) = [r for r in project["dependencies"] if Requirement(r).name == "tomli"]
    marker = Requirement(tomli).marker
    assert marker is not None
    assert marker.evaluate({"python_version": "3.10"})
    assert not marker.evaluate({"python_version": "3.11"})


def test_version_matches_the_source() -> None:
    """``__version__`` comes from the installed metadata and matches ``_version.py``."""
    from incidentkit._version import __version__ as source_version  # noqa: PLC0415

    assert incidentkit.__version__ == importlib.metadata.version("incidentkit")
    assert incidentkit.__version__ == source_version


def test_package_is_marked_typed() -> None:
    """The installed package ships ``py.typed`` so type checkers read its annotations."""
    assert (Path(incidentkit.__file__).parent / "py.typed").is_file()


EXTRAS = {"html": {"jinja2", "matplotlib"}, "postgres": {"psycopg"}}
"""Each optional extra and what it may bring: the HTML report's templates and chart, the
PostgreSQL store's driver."""


def test_the_package_needs_only_its_four_runtime_dependencies() -> None:
    """The adapters run on the standard library; an extra brings only its feature's libraries."""
    metadata = importlib.metadata.metadata("incidentkit")
    extras = set(metadata.get_all("Provides-Extra") or [])
    assert extras <= set(EXTRAS)
    requires = importlib.metadata.requires("incidentkit") or []
    names = {_name(r) for r in requires if "extra ==" not in r}
    assert names - {"tomli"} == RUNTIME  # tomli: Python 3.10 only, see below
    for extra in extras:
        marker = re.compile(rf"extra\s*==\s*['\"]{re.escape(extra)}['\"]")
        assert {_name(r) for r in requires if marker.search(r)} == EXTRAS[extra]


def test_the_postgres_extra_is_declared_in_the_source() -> None:
    """pyproject.toml declares ``incidentkit[postgres]`` as psycopg 3.2 or later, nothing else."""
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    assert '\npostgres = ["psycopg>=3.2"]\n' in text


def test_importing_the_package_never_imports_a_store_driver() -> None:
    """``import incidentkit``, its stores and its testing kit load no psycopg; the store does."""
    code = (
        "import sys, incidentkit, incidentkit.stores, incidentkit.testing\n"
        "before = sorted(m for m in sys.modules if m.split('.')[0] == 'psycopg')\n"
        "import incidentkit.stores.postgres\n"
        "print(before, 'psycopg' in sys.modules)\n"
    )
    src = str(Path(incidentkit.__file__).resolve().parents[1])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert done.stdout.split() == ["[]", "True"]
