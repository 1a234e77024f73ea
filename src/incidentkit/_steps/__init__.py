"""The work of each protocol step, kept out of the phase classes.

Each module takes the folded :class:`~incidentkit._state.IncidentState`, a
clock and the step's inputs, asks the adapters, and returns an
:class:`~incidentkit._steps._common.Outcome`: the events to record, in order
(the step's own event, then its gap findings), and the error to raise once
they are recorded, if any. None of them touches the journal, so each can be
tested with a state and a list.
"""
