"""Real adapters, and the discovery of third-party ones.

Each adapter lives in its own module and is imported only when used, so
``import incidentkit`` stays fast:

========================================  ===========================================
:mod:`incidentkit.adapters.prometheus`    a metric source over the HTTP API
:mod:`incidentkit.adapters.git`           a deploy source and a GitOps revert executor
:mod:`incidentkit.adapters.kubectl`       rollout history and ``rollout undo``
:mod:`incidentkit.adapters.statuspage`    a vendor's Statuspage as dependency incidents
:mod:`incidentkit.adapters.github`        GitHub deployments and their statuses
========================================  ===========================================

They need nothing beyond the standard library (``urllib``, ``subprocess``).
Adapters feed an incident; what declares incidents from alerts is not one of
them, and lives in :mod:`incidentkit.intake`.

Third-party packages register their adapters under the entry-point group
``incidentkit.adapters`` (the way Netflix Dispatch discovers its plugins)::

    [project.entry-points."incidentkit.adapters"]
    acme-deploys = "acme_incidentkit:AcmeDeploySource"

and :func:`available_adapters` lists what is installed, ours included.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

import attrs

from incidentkit._errors import InvalidInputError

__all__ = [
    "ENTRY_POINT_GROUP",
    "AdapterInfo",
    "available_adapters",
    "load_adapter",
]

ENTRY_POINT_GROUP = "incidentkit.adapters"
"""The entry-point group adapters register under."""


@attrs.frozen
class AdapterInfo:
    """An installed adapter, as its package registered it (not yet imported).

    Attributes:
        name: The entry point's name (``prometheus``, ``acme-deploys``).
        target: What it points at, ``module:attribute``.
        distribution: The distribution that registered it, when known.
        version: That distribution's version, when known.

    .. versionadded:: 0.1.0
    """

    name: str
    target: str
    distribution: str | None = None
    version: str | None = None

    def load(self) -> object:
        """Import the adapter and return what the entry point names (usually a class).

        Raises:
            InvalidInputError: The adapter cannot be imported; the message
                names the distribution to reinstall.
        """
        return _load(self.name, EntryPoint(self.name, self.target, ENTRY_POINT_GROUP), self)


def _info(point: EntryPoint) -> AdapterInfo:
    dist = point.dist
    return AdapterInfo(
        name=point.name,
        target=point.value,
        distribution=None if dist is None else dist.name,
        version=None if dist is None else dist.version,
    )


def available_adapters() -> tuple[AdapterInfo, ...]:
    """List the adapters installed in this environment, sorted by name.

    Nothing is imported: a broken third-party adapter cannot break the listing.

    Returns:
        One :class:`AdapterInfo` per entry point in the ``incidentkit.adapters``
        group, incidentkit's own adapters included.

    .. versionadded:: 0.1.0
    """
    points = entry_points(group=ENTRY_POINT_GROUP)
    return tuple(sorted((_info(p) for p in points), key=lambda i: (i.name, i.target)))


def load_adapter(name: str) -> object:
    """Import the adapter registered under ``name`` and return it.

    Args:
        name: An entry-point name, as :func:`available_adapters` lists it.

    Raises:
        InvalidInputError: No adapter has that name, two distributions
            register it, or it cannot be imported.

    .. versionadded:: 0.1.0
    """
    found = [p for p in entry_points(group=ENTRY_POINT_GROUP) if p.name == name]
    if not found:
        known = ", ".join(i.name for i in available_adapters()) or "none"
        msg = f"no adapter named {name!r} is installed (installed: {known})"
        raise InvalidInputError(msg)
    if len({p.value for p in found}) > 1:
        where = ", ".join(sorted(f"{p.value} ({_info(p).distribution})" for p in found))
        msg = f"several adapters are registered as {name!r}: {where}; uninstall all but one"
        raise InvalidInputError(msg)
    return _load(name, found[0], _info(found[0]))


def _load(name: str, point: EntryPoint, info: AdapterInfo) -> object:
    try:
        return point.load()
    except (ImportError, AttributeError) as exc:
        owner = info.distribution or "the package that registered it"
        msg = (
            f"the adapter {name!r} ({info.target}) cannot be imported: {exc}; "
            f"reinstall {owner} or its extras"
        )
        raise InvalidInputError(msg) from exc
