"""The extension points of incidentkit, as :class:`typing.Protocol` classes.

An adapter is any object with the right attributes and methods; no base class
is needed, and ``isinstance(obj, DeploySource)`` checks the shape at run time.
:mod:`incidentkit.memory` has an in-memory implementation of each.

All instants passed to an adapter are UTC :class:`pendulum.DateTime`; all
instants an adapter returns must be timezone-aware (the value classes reject
naive ones). An adapter signals failure by raising a
:class:`~incidentkit.SourceError` subclass; the protocol turns any failure,
or an answer of the wrong shape, into a monitoring-gap finding and carries on.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:  # annotations only: the module's namespace holds just the protocols
    from collections.abc import Sequence

    import pendulum

    from incidentkit._chain import Anchor, EncodedRecord
    from incidentkit._model import Change, RollbackOption, RollbackResult, Series

__all__ = [
    "ChangeSource",
    "Clock",
    "DependencyStatusSource",
    "DeploySource",
    "JournalStore",
    "MetricSource",
    "RollbackExecutor",
]


@runtime_checkable
class Clock(Protocol):
    """**Protocol**: where the incident reads the time.

    Inject a :class:`~incidentkit.ManualClock` for tests and replays.

    .. versionadded:: 0.1.0
    """

    def now(self) -> pendulum.DateTime:
        """Return the current instant, timezone-aware."""
        ...


@runtime_checkable
class DeploySource(Protocol):
    """**Protocol**: deploys, config changes and feature-flag changes in a window.

    Real implementations read a CD system, git tags or a GitOps repository,
    ``kubectl rollout history``, Helm or Argo CD history, GitHub deployments.

    .. versionadded:: 0.1.0
    """

    @property
    def name(self) -> str:
        """A short name for this source, used in the journal and in findings."""
        ...

    def deploys(
        self,
        start: pendulum.DateTime,
        end: pendulum.DateTime,
        *,
        services: Sequence[str] | None = None,
    ) -> Sequence[Change]:
        """Return the changes under way at any time in ``[start, end]``.

        Args:
            start: The window's start (UTC).
            end: The window's end (UTC).
            services: Only these services; ``None`` means all.

        Returns:
            :class:`~incidentkit.Change` records of kind ``DEPLOY``,
            ``CONFIG`` or ``FEATURE_FLAG``, in any order.

        Raises:
            SourceError: The source failed (unreachable, timed out, garbage).
        """
        ...


@runtime_checkable
class ChangeSource(Protocol):
    """**Protocol**: infrastructure changes in a window.

    Node-pool upgrades, network or DNS changes, certificate rotations,
    Terraform applies.

    .. versionadded:: 0.1.0
    """

    @property
    def name(self) -> str:
        """A short name for this source, used in the journal and in findings."""
        ...

    def changes(
        self,
        start: pendulum.DateTime,
        end: pendulum.DateTime,
        *,
        services: Sequence[str] | None = None,
    ) -> Sequence[Change]:
        """Return the infrastructure changes under way at any time in ``[start, end]``.

        Returns:
            :class:`~incidentkit.Change` records of kind ``INFRASTRUCTURE``.

        Raises:
            SourceError: The source failed.
        """
        ...


@runtime_checkable
class DependencyStatusSource(Protocol):
    """**Protocol**: incidents of dependencies and third parties in a window.

    A vendor's Statuspage, a cloud provider's health feed, an internal
    platform team's status.

    .. versionadded:: 0.1.0
    """

    @property
    def name(self) -> str:
        """A short name for this source, used in the journal and in findings."""
        ...

    def incidents(self, start: pendulum.DateTime, end: pendulum.DateTime) -> Sequence[Change]:
        """Return the dependency incidents under way at any time in ``[start, end]``.

        Returns:
            :class:`~incidentkit.Change` records of kind ``DEPENDENCY``, whose
            ``service`` is the dependency.

        Raises:
            SourceError: The source failed.
        """
        ...


@runtime_checkable
class MetricSource(Protocol):
    """**Protocol**: a metric store that answers range queries.

    The model is Prometheus ``query_range``: an expression, a window and a
    step. Gaps stay gaps (absent or ``None``), never zeros.

    .. versionadded:: 0.1.0
    """

    @property
    def name(self) -> str:
        """A short name for this source, used in the journal and in findings."""
        ...

    def query_range(
        self,
        query: str,
        start: pendulum.DateTime,
        end: pendulum.DateTime,
        step: float,
    ) -> Series:
        """Run ``query`` over ``[start, end]`` at ``step`` seconds.

        Returns:
            One :class:`~incidentkit.Series` whose ``query`` records what was
            asked (source, query, window, step, unit). A query that matches
            several series must be reduced to one by the query or the adapter.

        Raises:
            SourceError: The source failed or answered garbage.
        """
        ...


@runtime_checkable
class RollbackExecutor(Protocol):
    """**Protocol**: something that can roll a change back.

    Real implementations revert a GitOps commit, run ``kubectl rollout undo``,
    ``helm rollback`` or an Argo CD rollback.

    .. versionadded:: 0.1.0
    """

    @property
    def name(self) -> str:
        """A short name for this executor, used in the journal and in option ids."""
        ...

    def options(self, change: Change) -> Sequence[RollbackOption]:
        """Return the ways this executor could roll ``change`` back.

        An empty sequence means this executor cannot handle the change. Each
        option states its caveats (a schema migration, an automated sync that
        would re-apply the change).

        Raises:
            SourceError: The executor could not be asked.
        """
        ...

    def current_version(self, target: str) -> str | None:
        """Return the version of ``target`` live now, or ``None`` if unknown.

        Raises:
            SourceError: The executor could not be asked.
        """
        ...

    def dry_run(self, option: RollbackOption) -> RollbackResult:
        """Rehearse ``option`` without changing anything.

        Only called when ``option.supports_dry_run`` is true.

        Raises:
            SourceError: The rehearsal could not be carried out.
        """
        ...

    def execute(self, option: RollbackOption) -> RollbackResult:
        """Carry ``option`` out and report the version now live.

        Raises:
            RollbackFailedError: The rollback failed.
            SourceError: The executor could not be reached.
        """
        ...


@runtime_checkable
class JournalStore(Protocol):
    """**Protocol**: where incidents' journals are kept, one chain of records per incident.

    A store keeps the bytes of each record's line, in order, and appends by
    compare-and-append on the chain's head: it never encodes, hashes or
    parses a record. The library does that (:mod:`incidentkit`'s chain), so
    the record format and :func:`~incidentkit.verify_store` are the same for
    every store. :class:`~incidentkit.stores.FileStore` (a directory of
    JSON Lines files) and :class:`~incidentkit.stores.postgres.PostgresStore`
    implement it; :func:`incidentkit.testing.check_journal_store` checks a
    new one against the same suite.

    Every method may be called from several processes (or machines) at once
    on the same incident: two appends after the same head must never both
    succeed. Errors are :class:`~incidentkit.JournalError` subclasses whose
    message never holds a credential.

    .. versionadded:: 0.3.0
    """

    @property
    def location(self) -> str:
        """Where the store is, for messages and reports; never holds a password."""
        ...

    def create(self, incident_id: str, records: Sequence[EncodedRecord]) -> None:
        """Create an incident's journal holding ``records`` (seq 0 on), atomically.

        Either the journal appears holding all of them, or nothing does,
        whatever kills the process meanwhile.

        Raises:
            JournalExistsError: The store already holds that incident.
            InvalidInputError: ``records`` is empty, or not an intact chain
                from seq 0.
            JournalError: The store could not be written.
        """
        ...

    def read(self, incident_id: str, first: int = 0) -> bytes:
        """Return the lines of the incident's records from seq ``first`` on, joined.

        The library verifies them (digests, seqs, the chain from the record
        before ``first``); the store returns them exactly as it was given them.

        Raises:
            JournalError: The store does not hold that incident, or could not
                be read.
        """
        ...

    def head(self, incident_id: str) -> Anchor:
        """Return the anchor of the incident's last record, cheaply.

        Raises:
            JournalError: The store does not hold that incident, or could not
                be read.
        """
        ...

    def append(self, incident_id: str, record: EncodedRecord) -> None:
        """Append ``record`` if and only if the journal's head is the record it follows.

        The compare (the head is ``(record.seq - 1, record.prev)``) and the
        append are one atomic, durable step; it returns once the record is
        durable.

        Raises:
            ConcurrentAppendError: The head is another record: another writer
                appended first. Nothing was written.
            InvalidInputError: ``record`` is not an intact record (checked
                with :meth:`EncodedRecord.from_line`).
            JournalError: The store does not hold that incident, or could not
                be written; whether the record is there is then unknown until
                it is read back.
        """
        ...

    def incidents(self) -> Sequence[str]:
        """Return the ids of the incidents the store holds, in the order they were created."""
        ...

    def wait(self, incident_id: str, count: int, timeout: float) -> bool:
        """Block until the incident's journal holds more than ``count`` records.

        Returns:
            True if it does, False if ``timeout`` seconds passed first. A store
            may return early (a spurious wake-up); the caller reads again.
        """
        ...
