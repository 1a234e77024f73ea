"""Alertmanager intake: webhook notifications declare incidents or add evidence to open ones.

Alertmanager posts a JSON *notification* (webhook payload version ``"4"``) for a
group of alerts each time the group fires, changes or resolves. This module
turns those notifications into incidents:

* :func:`parse_webhook` validates a payload strictly into a
  :class:`WebhookPayload` of :class:`Alert` values;
* :class:`AlertIntake` keeps one journal per alert group: a firing group with
  no open incident declares one (``Detection.ALERT``); any later notification
  for the group, firing or resolved, is journaled as a note on the open
  incident. A resolved alert is evidence, **never** verified recovery: the
  incident stays in its phase until someone verifies recovery in monitoring;
* :class:`AlertmanagerReceiver` is a small HTTP server (standard library only)
  that an ops script runs as Alertmanager's webhook receiver.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import logging
import os
import pathlib
import re
import socket
import threading
import urllib.parse
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, cast

import attrs
import pendulum
from typing_extensions import Self

from incidentkit import _model
from incidentkit._errors import (
    ConcurrentAppendError,
    InvalidInputError,
    JournalError,
    MalformedResponseError,
)
from incidentkit._incident import (
    AnyPhase,
    Assessed,
    Declared,
    Diagnosing,
    Incident,
    Intervened,
    Recovered,
    Resolved,
    Reviewed,
)
from incidentkit._model import Actor, Detection, FindingKind
from incidentkit._time import UTC, SystemClock, format_instant, parse_instant, to_instant

if TYPE_CHECKING:
    from incidentkit.protocols import Clock

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

_log = logging.getLogger(__name__)

SUPPORTED_VERSIONS: tuple[str, ...] = ("4",)
"""The webhook payload versions :func:`parse_webhook` accepts."""
DEFAULT_TOKEN_ENV = "INCIDENTKIT_WEBHOOK_TOKEN"  # noqa: S105 - a variable name, not a secret
"""The environment variable :class:`AlertmanagerReceiver` reads its bearer token from."""

_SOURCE = "alertmanager"
_RFC3339 = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt](?P<time>\d{2}:\d{2}:\d{2})"
    r"(?:\.(?P<fraction>\d+))?(?P<offset>[Zz]|[+-]\d{2}:\d{2})\Z"
)
_ZERO_TIME = pendulum.DateTime(1, 1, 1, tzinfo=UTC)
_RECOVERY_CAVEAT = (
    "A resolved alert is evidence, not verified recovery: the incident stays in its "
    "phase until recovery is verified in monitoring (verify_recovery)."
)
_ATTEMPTS = 3
_OpenPhase: TypeAlias = Declared | Assessed | Reviewed | Intervened | Recovered | Diagnosing
_DEFAULT_MAX_BODY = 4 * 1024 * 1024
#: A refused request's body is read and discarded up to this size, so that closing
#: the connection sends the answer and a FIN, not a reset that could destroy it.
_DRAIN_LIMIT = 16 * 1024 * 1024
_CHUNK = 64 * 1024


# --- the payload ----------------------------------------------------------------


@attrs.frozen
class Alert:
    """One alert of a notification, as Alertmanager sent it.

    Attributes:
        status: ``"firing"`` or ``"resolved"``.
        labels: The alert's labels (its identity).
        annotations: The alert's annotations (``summary``, ``description``, ...).
        starts_at: When the alert started firing, a UTC instant.
        ends_at: When it stopped, or ``None`` while it fires (Alertmanager
            sends its zero time ``0001-01-01T00:00:00Z`` then).
        generator_url: The link to what generated it (a Prometheus graph),
            possibly empty.
        fingerprint: Alertmanager's fingerprint of the labels, possibly empty.

    .. versionadded:: 0.1.0
    """

    status: Literal["firing", "resolved"]
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: pendulum.DateTime
    ends_at: pendulum.DateTime | None
    generator_url: str = ""
    fingerprint: str = ""

    @property
    def alertname(self) -> str:
        """The ``alertname`` label, or ``""`` if it has none."""
        return self.labels.get("alertname", "")


@attrs.frozen
class WebhookPayload:
    """An Alertmanager webhook notification (payload version ``"4"``).

    Attributes:
        version: The payload version, ``"4"``.
        group_key: The key identifying the alert group (such as
            ``{}:{alertname="HighErrorRate", service="checkout"}``).
        status: ``"firing"`` if at least one alert fires, else ``"resolved"``.
        receiver: The name of the Alertmanager receiver that sent it.
        group_labels: The labels the group is grouped by.
        common_labels: The labels all its alerts share.
        common_annotations: The annotations all its alerts share.
        external_url: The sending Alertmanager's external URL.
        truncated_alerts: How many alerts ``max_alerts`` left out (``0``: none).
        alerts: The alerts delivered, at least one.

    .. versionadded:: 0.1.0
    """

    version: str
    group_key: str
    status: Literal["firing", "resolved"]
    receiver: str
    group_labels: Mapping[str, str]
    common_labels: Mapping[str, str]
    common_annotations: Mapping[str, str]
    external_url: str
    truncated_alerts: int
    alerts: tuple[Alert, ...]

    @property
    def firing(self) -> tuple[Alert, ...]:
        """The alerts still firing."""
        return tuple(a for a in self.alerts if a.status == "firing")

    @property
    def resolved(self) -> tuple[Alert, ...]:
        """The alerts that have resolved."""
        return tuple(a for a in self.alerts if a.status == "resolved")


def parse_webhook(
    body: bytes | str | Mapping[str, object], *, source: str = _SOURCE
) -> WebhookPayload:
    """Validate an Alertmanager webhook body into a :class:`WebhookPayload`.

    Validation is strict: every field of payload version ``"4"`` must be there
    with the right type (``truncatedAlerts`` and each alert's ``fingerprint``
    may be absent, as older Alertmanager releases omit them), statuses must be
    ``firing`` or ``resolved``, and times must be RFC 3339 with an offset
    (fractional seconds of any precision are accepted and kept to the
    microsecond).

    Args:
        body: The raw request body (UTF-8 JSON) or the already decoded object.
        source: The name errors carry (:attr:`SourceError.source`).

    Returns:
        The payload, with UTC instants.

    Raises:
        MalformedResponseError: The body is not JSON, not version ``"4"``, or
            a field is missing or ill-typed; the message names the field's
            path (``alerts[2].labels.service is not a string``).
        InvalidInputError: ``body`` is none of bytes, str or a mapping.

    .. versionadded:: 0.1.0
    """
    document: object
    if isinstance(body, (bytes, bytearray, str)):
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            msg = (
                f"{source}: the webhook body is not UTF-8 JSON ({exc}); check that "
                "Alertmanager's webhook_configs url points at this receiver"
            )
            raise MalformedResponseError(msg, source=source) from None
    elif isinstance(cast("object", body), Mapping):
        document = body
    else:
        msg = f"parse_webhook takes bytes, str or a mapping, not {type(body).__name__}"
        raise InvalidInputError(msg)
    return _Reader(source).payload(document)


class _Reader:
    """Reads a decoded payload, naming the path of whatever is wrong."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, problem: str) -> MalformedResponseError:
        msg = (
            f"{self.source}: malformed webhook payload: {path} {problem}; expected an "
            "Alertmanager webhook notification (payload version 4)"
        )
        return MalformedResponseError(msg, source=self.source)

    def obj(self, value: object, path: str) -> Mapping[str, object]:
        if not isinstance(value, Mapping):
            raise self.fail(path, f"is not an object (got {_kind(value)})")
        return cast("Mapping[str, object]", value)

    def get(self, data: Mapping[str, object], key: str, path: str) -> object:
        if key not in data:
            raise self.fail(_join(path, key), "is missing")
        return data[key]

    def text(
        self, data: Mapping[str, object], key: str, path: str, default: str | None = None
    ) -> str:
        if default is not None and key not in data:
            return default
        value = self.get(data, key, path)
        if not isinstance(value, str):
            raise self.fail(_join(path, key), f"is not a string (got {_kind(value)})")
        return value

    def status(self, data: Mapping[str, object], path: str) -> Literal["firing", "resolved"]:
        value = self.text(data, "status", path)
        if value == "firing":
            return "firing"
        if value == "resolved":
            return "resolved"
        raise self.fail(_join(path, "status"), f"is {value!r}, not 'firing' or 'resolved'")

    def strings(self, data: Mapping[str, object], key: str, path: str) -> dict[str, str]:
        where = _join(path, key)
        mapping = self.obj(self.get(data, key, path), where)
        for name, value in mapping.items():
            if not isinstance(value, str):
                raise self.fail(f"{where}.{name}", f"is not a string (got {_kind(value)})")
        return dict(cast("Mapping[str, str]", mapping))

    def time(self, data: Mapping[str, object], key: str, path: str) -> pendulum.DateTime | None:
        where = _join(path, key)
        text = self.text(data, key, path)
        match = _RFC3339.match(text)
        if match is None:
            raise self.fail(where, f"is not an RFC 3339 time with an offset: {text!r}")
        fraction = (match["fraction"] or "")[:6].ljust(6, "0")
        offset = "+00:00" if match["offset"] in {"Z", "z"} else match["offset"]
        try:
            instant = parse_instant(f"{match['date']}T{match['time']}.{fraction}{offset}")
        except InvalidInputError as exc:
            raise self.fail(where, f"is not a valid time: {text!r} ({exc})") from None
        return None if instant == _ZERO_TIME else instant

    def payload(self, document: object) -> WebhookPayload:
        data = self.obj(document, "the payload")
        version = self.get(data, "version", "")
        if version not in SUPPORTED_VERSIONS:
            supported = ", ".join(repr(v) for v in SUPPORTED_VERSIONS)
            msg = (
                f"{self.source}: webhook payload version {version!r} is not supported "
                f"(supported: {supported}); this receiver understands Alertmanager's "
                "webhook notifications"
            )
            raise MalformedResponseError(msg, source=self.source)
        truncated = data.get("truncatedAlerts", 0)
        if isinstance(truncated, bool) or not isinstance(truncated, int) or truncated < 0:
            raise self.fail("truncatedAlerts", f"is not a count (got {truncated!r})")
        raw_alerts = self.get(data, "alerts", "")
        if not isinstance(raw_alerts, list):
            raise self.fail("alerts", f"is not a list (got {_kind(raw_alerts)})")
        alerts = tuple(
            self.alert(a, f"alerts[{i}]") for i, a in enumerate(cast("list[object]", raw_alerts))
        )
        if not alerts:
            raise self.fail("alerts", "is empty (Alertmanager always sends at least one alert)")
        return WebhookPayload(
            version=str(version),
            group_key=self.text(data, "groupKey", ""),
            status=self.status(data, ""),
            receiver=self.text(data, "receiver", ""),
            group_labels=self.strings(data, "groupLabels", ""),
            common_labels=self.strings(data, "commonLabels", ""),
            common_annotations=self.strings(data, "commonAnnotations", ""),
            external_url=self.text(data, "externalURL", ""),
            truncated_alerts=truncated,
            alerts=alerts,
        )

    def alert(self, value: object, path: str) -> Alert:
        data = self.obj(value, path)
        starts = self.time(data, "startsAt", path)
        if starts is None:
            raise self.fail(f"{path}.startsAt", "is Alertmanager's zero time; an alert must start")
        return Alert(
            status=self.status(data, path),
            labels=self.strings(data, "labels", path),
            annotations=self.strings(data, "annotations", path),
            starts_at=starts,
            ends_at=self.time(data, "endsAt", path),
            generator_url=self.text(data, "generatorURL", path),
            fingerprint=self.text(data, "fingerprint", path, default=""),
        )


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


# --- the intake -----------------------------------------------------------------


@attrs.frozen
class IntakeOutcome:
    """What :meth:`AlertIntake.handle` did with a notification.

    Attributes:
        action: ``"declared"`` (a new incident), ``"noted"`` (evidence added
            to the open incident) or ``"ignored"`` (nothing written).
        group_key: The notification's group key.
        incident_id: The incident concerned, or ``None`` if there is none.
        journal: The path of its journal, or ``None``.
        phase: The incident's phase after this notification, or ``None``.
        detail: One sentence on why.

    .. versionadded:: 0.1.0
    """

    action: Literal["declared", "noted", "ignored"]
    group_key: str
    incident_id: str | None
    journal: str | None
    phase: str | None
    detail: str

    def to_json(self) -> dict[str, str | None]:
        """Return the outcome as a JSON-ready dictionary (what the receiver answers)."""
        return {
            "action": self.action,
            "group_key": self.group_key,
            "incident_id": self.incident_id,
            "journal": self.journal,
            "phase": self.phase,
            "detail": self.detail,
        }


class AlertIntake:
    """The bridge from Alertmanager notifications to incidents: one journal per alert group.

    Each alert group (Alertmanager's ``groupKey``) gets journal files named
    ``alertmanager-<digest>-<generation>.jsonl`` in ``journal_dir``, where
    ``<digest>`` is the first 16 hex digits of the SHA-256 of the group key
    (filesystem-safe whatever the labels hold) and ``<generation>`` counts the
    group's incidents from ``0001``. The highest generation is the group's
    current incident.

    :meth:`handle` applies these rules:

    * firing, and the group has no incident or only resolved ones: declare a
      new incident (the next generation) with ``Detection.ALERT``, detected at
      the earliest ``startsAt`` of the firing alerts, and note the alerts;
    * firing or resolved, and the group's incident is open (any phase before
      ``resolved``): add a note recording every alert's status, labels,
      annotations, ``startsAt``, ``endsAt``, fingerprint and generator URL.
      The incident does **not** change phase: a resolved alert is never taken
      as verified recovery;
    * resolved, and no open incident: ignored, nothing is written;
    * ``truncatedAlerts > 0``: a monitoring-gap finding says how many alerts
      the notification left out.

    Calls are serialised by a lock, so a threaded receiver may share one
    intake; across processes the journal's own file lock serialises appends.

    Args:
        journal_dir: The directory of the journals; created if missing.
        actor: Who declares and notes, by default ``Actor("alertmanager")``.
        clock: Where to read the time; by default the system clock.
        service_label: The label naming an alert's service. Alerts without it
            fall back to ``job``, then to their ``alertname``.
        title_annotation: The annotation that titles a new incident (the
            common one, else the earliest firing alert's); without it the
            ``alertname`` is the title.
        declare_if: A filter: a firing notification with no open incident
            declares one only if this returns true (say, only
            ``severity="page"``); otherwise it is ignored. Notes on an open
            incident are not filtered.
        depends_on: The dependency map passed to :meth:`Incident.declare`.
        lock_timeout: How long to wait for a journal's file lock, in seconds.
        name: The source name in errors, by default ``"alertmanager"``.

    Raises:
        InvalidInputError: ``journal_dir`` cannot be created.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        journal_dir: str | os.PathLike[str],
        *,
        actor: Actor | str = Actor("alertmanager"),  # noqa: B008 - a frozen, immutable value
        clock: Clock | None = None,
        service_label: str = "service",
        title_annotation: str = "summary",
        declare_if: Callable[[WebhookPayload], bool] | None = None,
        depends_on: Mapping[str, Sequence[str]] | None = None,
        lock_timeout: float = 10.0,
        name: str = _SOURCE,
    ) -> None:
        self.journal_dir = pathlib.Path(journal_dir)
        try:
            self.journal_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            msg = f"cannot create the journal directory {self.journal_dir}: {exc.strerror or exc}"
            raise InvalidInputError(msg) from exc
        self.actor = _model.as_actor(actor)
        self.clock: Clock = clock or SystemClock()
        self.service_label = service_label
        self.title_annotation = title_annotation
        self.name = name
        self._declare_if = declare_if
        self._depends_on = depends_on
        self._lock_timeout = lock_timeout
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        """Return the journal directory and the actor."""
        return f"AlertIntake({str(self.journal_dir)!r}, actor={str(self.actor)!r})"

    def journals(self, group_key: str) -> tuple[pathlib.Path, ...]:
        """Return the journal files of a group, oldest incident first.

        .. versionadded:: 0.1.0
        """
        prefix = f"alertmanager-{_digest(group_key)}-"
        found: list[tuple[int, pathlib.Path]] = []
        for path in self.journal_dir.glob(f"{prefix}*.jsonl"):
            generation = path.name[len(prefix) : -len(".jsonl")]
            if generation.isdigit():
                found.append((int(generation), path))
        return tuple(path for _, path in sorted(found))

    def journal_path(self, group_key: str, generation: int) -> pathlib.Path:
        """Return the journal file of a group's ``generation``-th incident (from 1).

        .. versionadded:: 0.1.0
        """
        return self.journal_dir / f"alertmanager-{_digest(group_key)}-{generation:04d}.jsonl"

    def handle(self, payload: WebhookPayload | bytes | str | Mapping[str, object]) -> IntakeOutcome:
        """Declare an incident for a notification, note it on the open one, or ignore it.

        Args:
            payload: A parsed payload, or a body for :func:`parse_webhook`.

        Returns:
            What was done.

        Raises:
            MalformedResponseError: ``payload`` is a body that does not parse.
            JournalError: A journal could not be read or written (locked,
                corrupted, torn). Handling the notification again is safe:
                it never declares a second incident for an open one, though
                a note written before the failure may then appear twice.

        .. versionadded:: 0.1.0
        """
        if not isinstance(payload, WebhookPayload):
            payload = parse_webhook(payload, source=self.name)
        with self._lock:
            for attempt in range(1, _ATTEMPTS):
                outcome = self._attempt(payload)
                if outcome is not None:
                    return outcome
                _log.info("journal of %r moved on (try %d); retrying", payload.group_key, attempt)
            return self._handle(payload)

    def _attempt(self, payload: WebhookPayload) -> IntakeOutcome | None:
        try:
            return self._handle(payload)
        except (ConcurrentAppendError, _RacedError):
            # Another writer moved the journal on, or created the next one,
            # between our read and our write: the caller reads again.
            return None

    def _handle(self, payload: WebhookPayload) -> IntakeOutcome:
        key = payload.group_key
        paths = self.journals(key)
        phase: AnyPhase | None = None
        if paths:
            phase = Incident.resume(paths[-1], clock=self.clock, lock_timeout=self._lock_timeout)
        if phase is not None and not isinstance(phase, Resolved):
            phase.note(_evidence(payload, self.name), actor=self.actor)
            self._truncated(phase, payload)
            return IntakeOutcome(
                "noted",
                key,
                phase.incident_id,
                phase.journal_path,
                phase.phase,
                f"{payload.status} notification noted on the open incident {phase.incident_id} "
                f"({phase.phase}); a resolved alert does not verify recovery",
            )
        after = (
            "" if phase is None else f" (the group's last incident {phase.incident_id} is resolved)"
        )
        if payload.status == "resolved":
            return IntakeOutcome(
                "ignored",
                key,
                None,
                None,
                None,
                f"resolved notification with no open incident{after}",
            )
        if self._declare_if is not None and not self._declare_if(payload):
            return IntakeOutcome(
                "ignored",
                key,
                None,
                None,
                None,
                f"firing notification filtered out by declare_if{after}",
            )
        return self._declare(payload, _generation(paths[-1]) + 1 if paths else 1)

    def _declare(self, payload: WebhookPayload, generation: int) -> IntakeOutcome:
        journal = self.journal_path(payload.group_key, generation)
        firing = payload.firing or payload.alerts
        now = to_instant(self.clock.now(), what="the clock's now()")
        detected = min(*(a.starts_at for a in firing), now)
        services = sorted({self._service(a) for a in firing})
        try:
            declared = Incident.declare(
                title=self._title(payload, firing),
                services=services,
                actor=self.actor,
                detection=Detection.ALERT,
                journal=journal,
                detected_at=detected,
                summary=(
                    f"Declared from an Alertmanager notification: {len(payload.firing)} alert(s) "
                    f"firing in group {payload.group_key} (receiver {payload.receiver!r})."
                ),
                depends_on=self._depends_on,
                clock=self.clock,
                lock_timeout=self._lock_timeout,
            )
        except JournalError as exc:
            if journal.exists() and exc.path == str(journal):
                raise _RacedError(str(exc), path=exc.path) from exc
            raise
        declared.note(_evidence(payload, self.name), actor=self.actor)
        self._truncated(declared, payload)
        return IntakeOutcome(
            "declared",
            payload.group_key,
            declared.incident_id,
            declared.journal_path,
            declared.phase,
            f"declared for {len(payload.firing)} firing alert(s) of {', '.join(services)}"
            + ("" if generation == 1 else f" (incident {generation} of this group)"),
        )

    def _truncated(self, phase: _OpenPhase, payload: WebhookPayload) -> None:
        if payload.truncated_alerts <= 0:
            return
        phase.finding(
            f"Alertmanager left {payload.truncated_alerts} alert(s) of group "
            f"{payload.group_key} out of a notification",
            actor=self.actor,
            kind=FindingKind.MONITORING_GAP,
            detail=(
                "The webhook's max_alerts limit truncated the notification: the alerts noted are "
                f"not all of the group. See the whole group in Alertmanager "
                f"({_safe_url(payload.external_url) or 'its UI'}) or raise max_alerts."
            ),
        )

    def _service(self, alert: Alert) -> str:
        for label in (self.service_label, "job", "alertname"):
            value = alert.labels.get(label, "").strip()
            if value:
                return value
        return "unknown"

    def _title(self, payload: WebhookPayload, firing: Sequence[Alert]) -> str:
        earliest = min(firing, key=lambda a: a.starts_at)
        for candidate in (
            payload.common_annotations.get(self.title_annotation, ""),
            earliest.annotations.get(self.title_annotation, ""),
            payload.common_labels.get("alertname", ""),
            earliest.alertname,
        ):
            if candidate.strip():
                return candidate.strip()
        return f"Alertmanager alert group {payload.group_key}"


class _RacedError(JournalError):
    """Another writer created the journal this intake was about to create."""


def _digest(group_key: str) -> str:
    return hashlib.sha256(group_key.encode("utf-8")).hexdigest()[:16]


def _generation(path: pathlib.Path) -> int:
    return int(path.stem.rsplit("-", 1)[1])


def _labels(labels: Mapping[str, str]) -> str:
    return "{" + ", ".join(f"{k}={v!r}" for k, v in sorted(labels.items())) + "}"


def _safe_url(url: str) -> str:
    """Drop any user info from a URL before it is journaled."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _evidence(payload: WebhookPayload, source: str) -> str:
    counts = f"{len(payload.firing)} firing, {len(payload.resolved)} resolved"
    header = (
        f"{source}: {payload.status} notification for group {payload.group_key} "
        f"(receiver {payload.receiver!r}, {counts}, Alertmanager "
        f"{_safe_url(payload.external_url) or 'with no external URL'}):"
    )
    lines = [header]
    for alert in sorted(payload.alerts, key=lambda a: (a.starts_at, a.fingerprint)):
        ends = "-" if alert.ends_at is None else format_instant(alert.ends_at)
        line = (
            f"- {alert.status} {alert.alertname or '(no alertname)'} {_labels(alert.labels)} "
            f"startsAt {format_instant(alert.starts_at)} endsAt {ends}"
        )
        if alert.fingerprint:
            line += f" fingerprint {alert.fingerprint}"
        if alert.annotations:
            line += f" annotations {_labels(alert.annotations)}"
        if alert.generator_url:
            line += f" generatorURL {_safe_url(alert.generator_url)}"
        lines.append(line)
    if payload.truncated_alerts:
        lines.append(f"({payload.truncated_alerts} more alert(s) left out by max_alerts)")
    if payload.resolved:
        lines.append(_RECOVERY_CAVEAT)
    return "\n".join(lines)


# --- the receiver ---------------------------------------------------------------


@attrs.frozen
class ReceiverFailure:
    """A request the receiver refused or could not handle.

    Attributes:
        at: When it happened (UTC).
        status: The HTTP status answered (400, 401, 413, 500, ...).
        message: What went wrong; never holds the token.
        client: The client's address.

    .. versionadded:: 0.1.0
    """

    at: pendulum.DateTime
    status: int
    message: str
    client: str


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    receiver: AlertmanagerReceiver


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "incidentkit-alertmanager-receiver"
    sys_version = ""
    timeout = 30.0  # a stalled client frees its thread eventually

    @property
    def receiver(self) -> AlertmanagerReceiver:
        return cast("_Server", self.server).receiver

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ANN401 - the stdlib's signature
        _log.debug("%s - %s", self.address_string(), format % args)

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002, ANN401 - the stdlib's signature
        _log.warning("%s - %s", self.address_string(), format % args)

    def _answer(
        self, status: int, body: Mapping[str, object], headers: Mapping[str, str] = {}
    ) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _refuse(self, status: int, message: str, headers: Mapping[str, str] = {}) -> None:
        self.receiver.record_failure(status, message, self.address_string())
        self._answer(status, {"error": message}, headers)

    def _drain(self) -> None:
        try:
            left = min(int(self.headers.get("Content-Length", "0")), _DRAIN_LIMIT)
            while left > 0:
                chunk = self.rfile.read(min(left, _CHUNK))
                if not chunk:
                    break
                left -= len(chunk)
        except (ValueError, OSError):
            pass
        self.close_connection = True

    def _on_path(self) -> bool:
        if urllib.parse.urlsplit(self.path).path == self.receiver.path:
            return True
        self._drain()
        self._answer(
            404, {"error": f"not found; post Alertmanager webhooks to {self.receiver.path}"}
        )
        return False

    def _not_allowed(self) -> None:
        if self._on_path():
            self._drain()
            self._answer(
                405, {"error": f"{self.command} is not allowed; use POST"}, {"Allow": "POST"}
            )

    do_GET = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed  # noqa: N815 - http.server's names

    def do_POST(self) -> None:
        receiver = self.receiver
        if not self._on_path():
            return
        if not receiver.authorized(self.headers.get("Authorization")):
            self._refuse(
                401,
                "missing or wrong bearer token: set http_config.authorization.credentials in "
                "the webhook_configs entry to the receiver's token",
                {"WWW-Authenticate": 'Bearer realm="incidentkit"'},
            )
            self._drain()
            return
        body = self._read_body(receiver.max_body)
        if body is None:
            return
        try:
            payload = parse_webhook(body, source=receiver.intake.name)
        except MalformedResponseError as exc:
            self._refuse(400, str(exc))
            return
        try:
            outcome = receiver.intake.handle(payload)
        except Exception as exc:  # noqa: BLE001 - any failure must become a 500 so Alertmanager retries
            _log.exception("handling the notification for %r failed", payload.group_key)
            self._refuse(500, f"{type(exc).__name__}: {exc}; Alertmanager will retry")
            return
        receiver.record_outcome(outcome)
        self._answer(200, outcome.to_json())

    def _read_body(self, max_body: int) -> bytes | None:
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            self.close_connection = True
            self._refuse(411, "a Content-Length header is required")
            return None
        try:
            length = int(length_text)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self._refuse(400, f"invalid Content-Length {length_text[:40]!r}")
            return None
        if length > max_body:
            self._refuse(413, f"the body of {length} bytes exceeds the limit of {max_body} bytes")
            self._drain()
            return None
        body = self.rfile.read(length)
        if len(body) < length:
            self.close_connection = True
            self._refuse(400, f"the body ended after {len(body)} of {length} bytes")
            return None
        return body


class AlertmanagerReceiver:
    """A small HTTP server that feeds Alertmanager's notifications to an :class:`AlertIntake`.

    Use it as a context manager, which serves in a background thread::

        with AlertmanagerReceiver(intake, port=9095) as receiver:
            print("webhook URL:", receiver.url)
            ...

    or call :meth:`serve_forever` from an ops script. Answers:

    * ``200`` and the :class:`IntakeOutcome` as JSON when the notification
      was handled (declared, noted or ignored);
    * ``400`` for a malformed payload (the error in the body); Alertmanager
      does not retry a 4xx;
    * ``401`` when a token is configured and the ``Authorization: Bearer``
      header is missing or wrong;
    * ``404`` for any other path, ``405`` for a method other than POST,
      ``411`` without a ``Content-Length``, ``413`` for a body over ``max_body``;
    * ``500`` when handling failed (a journal locked by another process too
      long, a disk error), so that Alertmanager retries.

    Refusals and failures are logged to the ``incidentkit.adapters.alertmanager``
    logger and kept in :attr:`errors`; the server keeps running.

    Args:
        intake: Where notifications go.
        host: The address to listen on; keep ``127.0.0.1`` unless
            Alertmanager runs elsewhere, and then set a token.
        port: The port, ``0`` for any free one (see :attr:`url`).
        path: The URL path Alertmanager posts to.
        token: The bearer token Alertmanager must send. When ``None``, it is
            read from the environment variable ``token_env`` if that is set
            and not empty; otherwise no token is required.
        token_env: The environment variable to read the token from, or
            ``None`` not to look.
        max_body: The largest body accepted, in bytes.
        history: How many outcomes and failures to keep in memory.

    Raises:
        InvalidInputError: The token is empty, the path does not start with
            ``/``, or the address cannot be bound.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        intake: AlertIntake,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/alertmanager",
        token: str | None = None,
        token_env: str | None = DEFAULT_TOKEN_ENV,
        max_body: int = _DEFAULT_MAX_BODY,
        history: int = 1000,
    ) -> None:
        if token is None and token_env:
            token = os.environ.get(token_env) or None
        if token is not None and not token.strip():
            msg = "the receiver's token must not be empty; pass None to require no token"
            raise InvalidInputError(msg)
        if not path.startswith("/"):
            msg = f"the receiver's path must start with '/', not {path!r}"
            raise InvalidInputError(msg)
        if max_body < 1:
            msg = f"max_body must be a positive number of bytes, not {max_body!r}"
            raise InvalidInputError(msg)
        self.intake = intake
        self.path = path
        self._host = host
        self.max_body = max_body
        self._token = token
        self._outcomes: deque[IntakeOutcome] = deque(maxlen=history)
        self._failures: deque[ReceiverFailure] = deque(maxlen=history)
        self._records_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._serving = threading.Event()
        server_class = _Server6 if ":" in host else _Server
        try:
            self._server = server_class((host, port), _Handler)
        except OSError as exc:
            msg = f"cannot listen on {host}:{port}: {exc.strerror or exc}"
            raise InvalidInputError(msg) from exc
        self._server.receiver = self

    def __repr__(self) -> str:
        """Return the URL and whether a token is required, never the token."""
        auth = "bearer" if self._token else "none"
        return f"AlertmanagerReceiver({self.url!r}, auth={auth!r})"

    @property
    def url(self) -> str:
        """The webhook URL to put in Alertmanager's ``webhook_configs``."""
        shown = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{shown}:{self._server.server_port}{self.path}"

    @property
    def outcomes(self) -> tuple[IntakeOutcome, ...]:
        """The notifications handled so far, oldest first (at most ``history``)."""
        with self._records_lock:
            return tuple(self._outcomes)

    @property
    def errors(self) -> tuple[ReceiverFailure, ...]:
        """The requests refused or failed so far, oldest first (at most ``history``)."""
        with self._records_lock:
            return tuple(self._failures)

    def authorized(self, header: str | None) -> bool:
        """Whether an ``Authorization`` header value carries the token (constant time)."""
        if self._token is None:
            return True
        scheme, _, credentials = (header or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            credentials.strip().encode(), self._token.encode()
        )

    def record_outcome(self, outcome: IntakeOutcome) -> None:
        """Keep a handled notification's outcome (the handler calls this)."""
        _log.info("%s: %s %s", outcome.group_key, outcome.action, outcome.incident_id or "")
        with self._records_lock:
            self._outcomes.append(outcome)

    def record_failure(self, status: int, message: str, client: str) -> None:
        """Keep and log a refused or failed request (the handler calls this)."""
        _log.warning("refused a request from %s with HTTP %d: %s", client, status, message)
        failure = ReceiverFailure(pendulum.now(UTC), status, message, client)
        with self._records_lock:
            self._failures.append(failure)

    def start(self) -> Self:
        """Serve in a background thread; return at once."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._serve, name="alertmanager-receiver", daemon=True
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (Ctrl-C) or :meth:`close`; then close.

        :meth:`close` must be called from another thread (or a timer), not
        from a signal handler in this one.
        """
        try:
            self._serve()
        finally:
            self._server.server_close()

    def _serve(self) -> None:
        self._serving.set()
        try:
            self._server.serve_forever()
        finally:
            self._serving.clear()

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._serving.is_set():
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Self:
        """Start serving in a background thread."""
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        """Stop serving and release the port."""
        self.close()
