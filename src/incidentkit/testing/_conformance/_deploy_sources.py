"""The conformance checks of a :class:`~incidentkit.protocols.DeploySource`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from incidentkit._model import DEPLOY_KINDS
from incidentkit.protocols import DeploySource
from incidentkit.testing._conformance._change_records import ChangeRole, check_change_role
from incidentkit.testing._results import ConformanceReport

__all__ = ["check_deploy_source"]

_DEPLOYS = ChangeRole(
    "deploys", DeploySource, "DeploySource", "deploys", DEPLOY_KINDS, filters_services=True
)


def check_deploy_source(
    make: Callable[[], DeploySource],
    *,
    window: tuple[dt.datetime, dt.datetime],
    services: Sequence[str] | None = None,
    secrets: Sequence[str] = (),
    broken: Callable[[], DeploySource] | None = None,
    deadline: float = 30.0,
) -> ConformanceReport:
    """Check a :class:`~incidentkit.protocols.DeploySource` against the adapter contract.

    Args:
        make: A zero-argument factory that returns a fresh, working adapter;
            each check builds its own, so checks share no state.
        window: A ``(start, end)`` pair of aware datetimes in which the
            adapter has deploys (several, some starting or ending inside it,
            make the window check sharper).
        services: Services it has deploys of in the window, to check the
            ``services`` filter; by default one taken from its answer.
        secrets: The fake credentials ``make`` and ``broken`` build the
            adapter with; none may ever show.
        broken: A factory of the same adapter configured to fail (a dead
            endpoint, a missing repository, refused credentials); without it
            the ``errors`` check is skipped.
        deadline: How long any one call may take, in seconds.

    Returns:
        The report of the checks ``protocol``, ``answer``, ``time_zones``,
        ``window``, ``errors``, ``deadline``, ``secrets`` and ``incident``.

    Raises:
        InvalidInputError: An argument is unusable (a naive or empty window,
            a secret shorter than 6 characters, a non-positive deadline).

    .. versionadded:: 0.1.0
    """
    return check_change_role(
        _DEPLOYS,
        make,
        window=window,
        services=services,
        secrets=secrets,
        broken=broken,
        deadline=deadline,
    )
