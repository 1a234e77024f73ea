"""The in-memory adapters and datasets, behind :mod:`incidentkit.memory`."""
