"""Shared test configuration: the helper modules' path, the Hypothesis profiles, the servers.

Select a Hypothesis profile with the ``HYPOTHESIS_PROFILE`` environment
variable: ``ci`` (the default) is derandomized, keeps no example database and
has no deadline, so every run tries the same examples and a slow machine never
fails a test on timing; ``dev`` is Hypothesis' own default, random and with its
deadline, for hunting new counterexamples locally.
"""

from __future__ import annotations

import os
import pathlib
import sys
from collections.abc import Iterator

import pytest
from hypothesis import settings

from incidentkit.testing import LocalPostgres

# pytest runs with --import-mode=importlib, which leaves sys.path alone; the
# test modules import their shared helpers (fakes, strategies) from here.
_TESTS = str(pathlib.Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)


settings.register_profile("ci", derandomize=True, deadline=None, database=None)
settings.register_profile("dev")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[LocalPostgres]:
    """A throwaway PostgreSQL server for the whole session: skipped without one, failed in CI."""
    from services import require_postgres  # noqa: PLC0415 - sys.path holds tests/ from here on

    with LocalPostgres(bindir=require_postgres()) as server:
        yield server
