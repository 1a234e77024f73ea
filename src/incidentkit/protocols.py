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

    from incidentkit._model import Change, RollbackOption, RollbackResult, Series

__all__ = [
    "ChangeSource",
    "Clock",
    "DependencyStatusSource",
    "DeploySource",
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
