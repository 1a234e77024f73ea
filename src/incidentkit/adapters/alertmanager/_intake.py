"""The intake: one journal per alert group; notifications declare incidents or are noted."""

from __future__ import annotations

import hashlib
import logging
import os
import pathlib
import re
import threading
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal, TypeAlias

import attrs

from incidentkit import _model
from incidentkit._errors import ConcurrentAppendError, InvalidInputError, JournalError
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
from incidentkit._time import SystemClock, format_instant, to_instant
from incidentkit.adapters.alertmanager._webhook import (
    SOURCE,
    Alert,
    WebhookPayload,
    parse_webhook,
)
from incidentkit.events import NoteAdded

if TYPE_CHECKING:
    from incidentkit.protocols import Clock

__all__ = ["AlertIntake", "IntakeOutcome"]

_log = logging.getLogger("incidentkit.adapters.alertmanager")

_RECOVERY_CAVEAT = (
    "A resolved alert is evidence, not verified recovery: the incident stays in its "
    "phase until recovery is verified in monitoring (verify_recovery)."
)
#: The last line of every note the intake writes: the notification's digest,
#: by which a retry or a replay is recognised (notes written before 0.2.0 have none).
_DIGEST_LINE = re.compile(r"notification digest sha256:(?P<digest>[0-9a-f]{64})\Z")
_ATTEMPTS = 3
_OpenPhase: TypeAlias = Declared | Assessed | Reviewed | Intervened | Recovered | Diagnosing


@attrs.frozen
class IntakeOutcome:
    """What :meth:`AlertIntake.handle` did with a notification.

    Attributes:
        action: ``"declared"`` (a new incident), ``"noted"`` (evidence added
            to the open incident) or ``"ignored"`` (nothing written; a
            duplicate's ``detail`` starts with ``"duplicate:"``).
        group_key: The notification's group key.
        incident_id: The incident concerned, or ``None`` if there is none
            (a duplicate names the incident it was noted on).
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
    * a notification already noted on the group's latest incident (same
      :attr:`WebhookPayload.digest`: Alertmanager retried it after a timeout
      or a 5xx, or replays it after a restart): ignored, nothing is written.
      Each note ends with a line ``notification digest sha256:<hex>``, so
      this holds across restarts of the receiver; journals written before
      0.2.0 have no such lines and their notes are never taken as duplicates.

    .. versionchanged:: 0.2.0
       Retries and replays of a notification are recognised and ignored.

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
        name: str = SOURCE,
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
                it never declares a second incident for an open one, and
                a notification already noted is recognised and ignored.

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
        if phase is not None and payload.digest in _recorded(phase):
            return IntakeOutcome(
                "ignored",
                key,
                phase.incident_id,
                phase.journal_path,
                phase.phase,
                f"duplicate: this {payload.status} notification (digest "
                f"{payload.digest[:16]}) is already noted on the incident {phase.incident_id}; "
                "Alertmanager retried or replayed it",
            )
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


def _recorded(phase: AnyPhase) -> set[str]:
    """The digests of the notifications already noted in an incident's journal."""
    found: set[str] = set()
    for event in phase.events:
        if isinstance(event, NoteAdded):
            match = _DIGEST_LINE.fullmatch(event.text.rpartition("\n")[2])
            if match is not None:
                found.add(match["digest"])
    return found


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
    lines.append(f"notification digest sha256:{payload.digest}")
    return "\n".join(lines)
