"""The conformance checks of a :class:`~incidentkit.protocols.DependencyStatusSource`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from incidentkit._model import ChangeKind
from incidentkit.protocols import DependencyStatusSource
from incidentkit.testing._conformance._change_records import ChangeRole, check_change_role
from incidentkit.testing._results import ConformanceReport

__all__ = ["check_dependency_source"]

_DEPENDENCIES = ChangeRole(
    "dependencies",
    DependencyStatusSource,
    "DependencyStatusSource",
    "incidents",
    frozenset({ChangeKind.DEPENDENCY}),
    filters_services=False,
)


def check_dependency_source(
    make: Callable[[], DependencyStatusSource],
    *,
    window: tuple[dt.datetime, dt.datetime],
    secrets: Sequence[str] = (),
    broken: Callable[[], DependencyStatusSource] | None = None,
    deadline: float = 30.0,
) -> ConformanceReport:
    """Check a :class:`~incidentkit.protocols.DependencyStatusSource` against the contract.

    The arguments and checks are those of :func:`check_deploy_source`,
    without a services filter (dependency incidents are never filtered).

    Returns:
        The report of the checks ``protocol``, ``answer``, ``time_zones``,
        ``window``, ``errors``, ``deadline``, ``secrets`` and ``incident``.

    Raises:
        InvalidInputError: An argument is unusable.

    .. versionadded:: 0.1.0
    """
    return check_change_role(
        _DEPENDENCIES,
        make,
        window=window,
        services=None,
        secrets=secrets,
        broken=broken,
        deadline=deadline,
    )
