"""Journal stores: where incidents' journals are kept.

* :class:`FileStore`: a directory of JSON Lines files, one an incident, locked
  with ``flock`` (one machine, or a file system with working POSIX locks).
* :class:`incidentkit.stores.postgres.PostgresStore`: a PostgreSQL database,
  for a team on several machines (the ``incidentkit[postgres]`` extra; import
  it from its module, so that ``import incidentkit`` never loads its driver).

Both implement :class:`~incidentkit.protocols.JournalStore`; pass either to
:meth:`Incident.declare <incidentkit.Incident.declare>` and
:meth:`Incident.resume <incidentkit.Incident.resume>`. The guide "Working an
incident as a team" in the documentation tells how to choose.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

from incidentkit.stores._file import FileStore

__all__ = ["FileStore"]
