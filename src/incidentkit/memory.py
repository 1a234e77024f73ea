"""In-memory adapters, and datasets that feed them from a JSON file.

Each class here implements one protocol of :mod:`incidentkit.protocols` from
data the caller already holds: a list of :class:`~incidentkit.Change` records,
metric samples, the versions live now. They answer like a real source would
(the same windows, the same gaps, the same errors), so they serve tests,
replays of past incidents, tabletop exercises and the examples.

A :class:`Dataset` bundles everything one scenario needs and is stored as a
JSON file in the ``incidentkit.dataset/1`` format; :func:`load_dataset` reads
one, :func:`dump_dataset` writes one, and the dataset builds each in-memory
adapter::

    dataset = load_dataset("checkout_outage.json")
    deploys = dataset.deploy_source()
    metrics = dataset.metric_source()
    rollback = dataset.rollback_executor()

The format is described field by field in the documentation's "Adapters" page.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from incidentkit._memory._adapters import (
    InMemoryChangeSource,
    InMemoryDependencyStatusSource,
    InMemoryDeploySource,
    InMemoryMetricSource,
    InMemoryRollbackExecutor,
)
from incidentkit._memory._dataset import (
    DATASET_FORMAT,
    Dataset,
    MetricData,
    dump_dataset,
    load_dataset,
)
from incidentkit._memory._store import InMemoryJournalStore

__all__ = [
    "DATASET_FORMAT",
    "Dataset",
    "InMemoryChangeSource",
    "InMemoryDependencyStatusSource",
    "InMemoryDeploySource",
    "InMemoryJournalStore",
    "InMemoryMetricSource",
    "InMemoryRollbackExecutor",
    "MetricData",
    "dump_dataset",
    "load_dataset",
]
