"""The conformance checks of a :class:`~incidentkit.protocols.ChangeSource`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from incidentkit._model import ChangeKind
from incidentkit.protocols import ChangeSource
from incidentkit.testing._conformance._change_records import ChangeRole, check_change_role
from incidentkit.testing._results import ConformanceReport

__all__ = ["check_change_source"]

_INFRASTRUCTURE = ChangeRole(
    "infrastructure",
    ChangeSource,
    "ChangeSource",
    "changes",
    frozenset({ChangeKind.INFRASTRUCTURE}),
    filters_services=True,
)


def check_change_source(
    make: Callable[[], ChangeSource],
    *,
    window: tuple[dt.datetime, dt.datetime],
    services: Sequence[str] | None = None,
    secrets: Sequence[str] = (),
    broken: Callable[[], ChangeSource] | None = None,
    deadline: float = 30.0,
) -> ConformanceReport:
    """Check a :class:`~incidentkit.protocols.ChangeSource` against the adapter contract.

    The arguments and checks are those of :func:`check_deploy_source`, for
    infrastructure changes.

    Returns:
        The report of the checks ``protocol``, ``answer``, ``time_zones``,
        ``window``, ``errors``, ``deadline``, ``secrets`` and ``incident``.

    Raises:
        InvalidInputError: An argument is unusable.

    .. versionadded:: 0.1.0
    """
    return check_change_role(
        _INFRASTRUCTURE,
        make,
        window=window,
        services=services,
        secrets=secrets,
        broken=broken,
        deadline=deadline,
    )
