"""What the real-service tests need from the machine, and what to do when it is missing.

The tests that run a real Prometheus, Alertmanager, git or chromium call
:func:`require_executables` first (and the HTML report's tests
:func:`require_modules`, for the ``html`` extra); the PostgreSQL tests call
:func:`require_postgres` (the server's executables are off ``PATH`` on
Debian). On a newcomer's machine without them the test is skipped, and the
skip reason (shown by ``-ra``) says what to install. CI sets
``INCIDENTKIT_REQUIRE_SERVICES=1`` (``.ci/run`` installs the Debian
packages), which turns that skip into a failure: there, a missing service can
never pass for green.
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import shutil
from typing import NoReturn

import pytest

from incidentkit.testing import LocalPostgres

#: The Debian package that provides each executable.
PACKAGES = {
    "prometheus": "prometheus",
    "promtool": "prometheus",
    "prometheus-alertmanager": "prometheus-alertmanager",
    "amtool": "prometheus-alertmanager",
    "git": "git",
    "kubectl": "kubernetes-client",
    "openssl": "openssl",
    "chromium": "chromium",
}


def _missing(reason: str) -> NoReturn:
    """Skip with ``reason``, or fail under ``INCIDENTKIT_REQUIRE_SERVICES=1``."""
    if os.environ.get("INCIDENTKIT_REQUIRE_SERVICES") == "1":
        pytest.fail(f"INCIDENTKIT_REQUIRE_SERVICES=1 and this test {reason}", pytrace=False)
    pytest.skip(reason)


def require_executables(*names: str) -> None:
    """Skip the test (or fail it, under ``INCIDENTKIT_REQUIRE_SERVICES=1``) if one is missing."""
    missing = [name for name in names if shutil.which(name) is None]
    if not missing:
        return
    packages = sorted({PACKAGES.get(name, name) for name in missing})
    _missing(
        f"needs {', '.join(missing)} on PATH: install them with "
        f"`apt-get install {' '.join(packages)}` (Debian) to run this real-service test"
    )


def require_modules(*names: str, extra: str) -> None:
    """Skip the test (or fail it, under ``INCIDENTKIT_REQUIRE_SERVICES=1``) if a module is missing.

    ``extra`` is incidentkit's extra that brings them (``html``): the skip says to
    install it. ``nox -s tests`` installs it, so in CI a missing module fails.
    """
    missing = [name for name in names if importlib.util.find_spec(name) is None]
    if not missing:
        return
    reason = (
        f"needs {', '.join(missing)}: install the extra with `pip install '.[{extra}]'` "
        "(nox -s tests does) to run this test"
    )
    _missing(reason)


def require_postgres() -> pathlib.Path:
    """Return PostgreSQL's server executables' directory, or skip (fail in CI) without it."""
    bindir = LocalPostgres.find_bindir()
    if bindir is None:
        _missing(
            "needs PostgreSQL's server (initdb, pg_ctl): install it with "
            "`apt-get install postgresql` (Debian) to run this real-service test"
        )
    return bindir
