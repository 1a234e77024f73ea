"""The PostgreSQL journal store: one incident's journal as rows of a table, for a team.

Install the driver with the extra: ``pip install 'incidentkit[postgres]'``
(psycopg 3). ``import incidentkit`` never imports it; this module does.

::

    from incidentkit import Detection, Incident
    from incidentkit.stores.postgres import PostgresStore

    store = PostgresStore("postgresql://responder@db.example.com/incidents")
    phase = Incident.declare(
        title="Checkout returns 5xx",
        services=["checkout"],
        actor="dana",
        detection=Detection.ALERT,
        store=store,
        incident_id="INC-42",
    )

The schema, the compare-and-append and the guards the database keeps are
described, and argued, in the documentation page "The PostgreSQL store".

.. versionadded:: 0.3.0
"""

from __future__ import annotations

from incidentkit.stores._postgres import PostgresStore

__all__ = ["PostgresStore"]
