"""The PostgreSQL store satisfies the store protocol statically, and misuse is a type error.

Never executed: mypy and pyright check this file. The ``type: ignore`` lines
prove the checkers reject the mistakes next to them.
"""

from __future__ import annotations

from typing_extensions import assert_type

from incidentkit import Anchor, Incident
from incidentkit.protocols import JournalStore
from incidentkit.stores.postgres import PostgresStore
from incidentkit.testing import LocalPostgres


def the_store_fits_the_protocol(store: PostgresStore) -> None:
    journal_store: JournalStore = store
    assert_type(store.head("INC-1"), Anchor)
    assert_type(store.read("INC-1", 3), bytes)
    assert_type(store.migrate(), int)
    assert_type(store.location, str)
    Incident.resume(store, "INC-1")
    del journal_store


def a_local_server_gives_urls(server: LocalPostgres) -> None:
    assert_type(server.url, str)
    assert_type(server.url_for("responder", "pw"), str)
    assert_type(server.env, dict[str, str])
    server.stop("immediate")


def misuse() -> None:
    PostgresStore(schema=1)  # type: ignore[arg-type]
    PostgresStore("postgresql://db", "other")  # type: ignore[call-arg]
    PostgresStore().append("INC-1", b"{}")  # type: ignore[arg-type]
    LocalPostgres().stop("kill")  # type: ignore[arg-type]
