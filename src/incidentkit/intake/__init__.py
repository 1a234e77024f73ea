"""Alert intake: Alertmanager notifications declare incidents or add evidence to open ones.

Alertmanager posts a JSON *notification* (webhook payload version ``"4"``) for a
group of alerts each time the group fires, changes or resolves. This module
turns those notifications into incidents, in any journal store:

* :func:`parse_webhook` validates a payload strictly into a
  :class:`WebhookPayload` of :class:`Alert` values;
* :class:`AlertIntake` keeps an incident per alert group in a store (a
  directory of files, a PostgreSQL database, any
  :class:`~incidentkit.protocols.JournalStore`): a firing group with no open
  incident declares one (``Detection.ALERT``); any later notification for
  the group, firing or resolved, is journaled as a note on the open
  incident, once however often Alertmanager retries it. A resolved alert is
  evidence, **never** verified recovery: the incident stays in its phase
  until someone verifies recovery in monitoring. Responders resume the same
  incident from the same store and work it alongside;
* :class:`AlertmanagerReceiver` is a small HTTP server (standard library only)
  that an ops script runs as Alertmanager's webhook receiver: authenticated
  (bearer token or basic auth), bounded (body size, a deadline per request,
  concurrent connections) and refusing hostile bodies with a 400.

The intake is not an adapter: adapters feed an incident evidence, the intake
declares and drives incidents.

.. versionadded:: 0.1.0
.. versionchanged:: 0.3.0
   Moved from ``incidentkit.adapters.alertmanager``.
"""

from __future__ import annotations

from incidentkit.intake._intake import AlertIntake, IntakeOutcome
from incidentkit.intake._receiver import (
    DEFAULT_TOKEN_ENV,
    AlertmanagerReceiver,
    ReceiverFailure,
)
from incidentkit.intake._webhook import (
    SUPPORTED_VERSIONS,
    Alert,
    WebhookPayload,
    parse_webhook,
)

__all__ = [
    "DEFAULT_TOKEN_ENV",
    "SUPPORTED_VERSIONS",
    "Alert",
    "AlertIntake",
    "AlertmanagerReceiver",
    "IntakeOutcome",
    "ReceiverFailure",
    "WebhookPayload",
    "parse_webhook",
]
