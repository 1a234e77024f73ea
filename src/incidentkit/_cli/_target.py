"""Which incident a command works on: a journal file, or an incident in a store.

Every command takes a journal path, or ``--store LOCATION --incident ID``:

* a directory is a :class:`~incidentkit.stores.FileStore`;
* a ``postgresql://`` or ``postgres://`` URL (libpq's connection URI) is a
  PostgreSQL store, imported only then from ``incidentkit.stores.postgres``.

``$INCIDENTKIT_STORE`` and ``$INCIDENTKIT_INCIDENT`` give the defaults, so that
a script names them once (and a URL carrying a password stays off the command
line, where ``ps`` would show it). A store's location is shown only as the
store itself reports it (without a password), or masked.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Final, cast

import attrs

from incidentkit._cli._errors import CliError
from incidentkit._redact import mask_url
from incidentkit.protocols import JournalStore

__all__ = ["INCIDENT_ENV", "STORE_ENV", "Target", "open_store", "target"]

STORE_ENV: Final = "INCIDENTKIT_STORE"
"""The environment variable giving the default store."""

INCIDENT_ENV: Final = "INCIDENTKIT_INCIDENT"
"""The environment variable giving the default incident id in a store."""

_POSTGRES_SCHEMES: Final = ("postgresql://", "postgres://")


@attrs.frozen
class Target:
    """A journal file, or a store and (for most commands) an incident id in it."""

    journal: Path | None
    store: JournalStore | None
    incident_id: str | None

    @property
    def shown(self) -> str:
        """Where the incident is, fit to print."""
        if self.journal is not None:
            return str(self.journal)
        assert self.store is not None  # noqa: S101 - a target is a journal or a store
        where = mask_url(self.store.location)
        return where if self.incident_id is None else f"{where} ({self.incident_id})"


def open_store(location: str, *, create: bool = False) -> JournalStore:
    """Open the store at ``location``: a directory, or a PostgreSQL URL.

    Args:
        location: The directory, or the URL.
        create: Whether a missing directory is created (``declare``); a
            command that reads refuses it instead, so that a typo creates nothing.

    Raises:
        CliError: The location is empty or missing, or PostgreSQL support is not installed.
    """
    if not location.strip():
        raise CliError("--store needs a directory or a postgresql:// URL")
    if location.startswith(_POSTGRES_SCHEMES):
        try:
            module = importlib.import_module("incidentkit.stores.postgres")
        except ImportError as exc:
            raise CliError(
                f"the PostgreSQL store {mask_url(location)} needs incidentkit.stores.postgres, "
                f"which cannot be imported here ({type(exc).__name__}: "
                f"{mask_url(str(exc))})",
                hint="install the PostgreSQL support (pip install 'incidentkit[postgres]')",
            ) from None
        factory = getattr(module, "PostgresStore", None)
        if factory is None or not callable(factory):
            raise CliError("incidentkit.stores.postgres has no PostgresStore")
        return cast("JournalStore", factory(location))
    from incidentkit.stores import FileStore  # noqa: PLC0415 - with the store only

    path = Path(location)
    if path.exists() and not path.is_dir():
        raise CliError(
            f"--store {location}: not a directory; a journal file is given as the "
            "command's argument, without --store"
        )
    if not create and not path.exists():
        raise CliError(f"no store at {location}: the directory does not exist")
    return FileStore(path)


def target(
    journal: str | None,
    store: str | None,
    incident: str | None,
    *,
    need_incident: bool = True,
    create: bool = False,
    command: str,
) -> Target:
    """Return the incident a command names: its argument, or a store and an incident id.

    Raises:
        CliError: Both or neither were given, or a store without an incident id.
    """
    if journal is not None and store is not None:
        raise CliError(f"{command}: give a journal file or --store, not both")
    if journal is not None:
        path = Path(journal)
        if path.is_dir():
            raise CliError(
                f"{command}: {journal} is a directory; for an incident in a store, "
                f"use --store {journal} --incident ID"
            )
        return Target(path, None, incident)
    location = store if store is not None else os.environ.get(STORE_ENV)
    if not location:
        raise CliError(
            f"{command}: which incident? Give its journal file, or --store LOCATION "
            f"--incident ID (or set ${STORE_ENV} and ${INCIDENT_ENV})"
        )
    incident_id = incident if incident is not None else os.environ.get(INCIDENT_ENV) or None
    if need_incident and incident_id is None:
        raise CliError(
            f"{command}: which incident in {mask_url(location)}? Give --incident ID "
            f"(or set ${INCIDENT_ENV}); `incidentkit list` lists them"
        )
    return Target(None, open_store(location, create=create), incident_id)
