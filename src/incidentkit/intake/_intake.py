"""The intake: an incident per alert group, in any store; notifications declare or are noted."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal, TypeAlias, cast

import attrs

from incidentkit import _model
from incidentkit._errors import ConcurrentAppendError, InvalidInputError, JournalExistsError
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
from incidentkit.events import NoteAdded
from incidentkit.intake._webhook import (
    SOURCE,
    Alert,
    WebhookPayload,
    parse_webhook,
)
from incidentkit.protocols import JournalStore
from incidentkit.stores import FileStore

if TYPE_CHECKING:
    from incidentkit.protocols import Clock

__all__ = ["AlertIntake", "IntakeOutcome"]

_log = logging.getLogger("incidentkit.intake")

_RECOVERY_CAVEAT = (
    "A resolved alert is evidence, not verified recovery: the incident stays in its "
    "phase until recovery is verified in monitoring (verify_recovery)."
)
#: The last line of every note the intake writes: the notification's digest,
#: by which a retry or a replay is recognised (notes written before 0.2.0 have none).
_DIGEST_LINE = re.compile(r"notification digest sha256:(?P<digest>[0-9a-f]{64})\Z")
#: Every incident the intake declares has an id ``alertmanager-<digest>-<generation>``.
_ID_PREFIX = "alertmanager-"
#: How many times a write is tried when another writer got in first.
_ATTEMPTS = 3
_DEFAULT_LOCK_TIMEOUT = 10.0
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
            (a duplicate names the incident it was noted on). Resume it with
            ``Incident.resume(store, incident_id)``.
        store: The location of the intake's store
            (:attr:`JournalStore.location <incidentkit.protocols.JournalStore.location>`:
            a directory's path, say), never a password.
        phase: The incident's phase after this notification, or ``None``.
        detail: One sentence on why.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0
       ``store`` (the store's location) replaces ``journal`` (a file's path).
    """

    action: Literal["declared", "noted", "ignored"]
    group_key: str
    incident_id: str | None
    store: str
    phase: str | None
    detail: str

    def to_json(self) -> dict[str, str | None]:
        """Return the outcome as a JSON-ready dictionary (what the receiver answers)."""
        return {
            "action": self.action,
            "group_key": self.group_key,
            "incident_id": self.incident_id,
            "store": self.store,
            "phase": self.phase,
            "detail": self.detail,
        }


class AlertIntake:
    """The bridge from Alertmanager notifications to incidents: an incident per alert group.

    The incidents live in a journal store: a
    :class:`~incidentkit.stores.FileStore` (give a directory's path, and the
    intake opens one), an :class:`~incidentkit.memory.InMemoryJournalStore`,
    a PostgreSQL store, any :class:`~incidentkit.protocols.JournalStore`. So
    an on-call engineer's script resumes the incident the receiver declared
    with ``Incident.resume(store, incident_id)``, on the same machine or,
    with a shared store, on another one, and both write to it at once.

    Each alert group (Alertmanager's ``groupKey``) gets incidents with the ids
    ``alertmanager-<digest>-<generation>``, where ``<digest>`` is the first 16
    hex digits of the SHA-256 of the group key (safe as an id whatever the
    labels hold) and ``<generation>`` counts the group's incidents from
    ``0001``. In a directory, each is the file ``<id>.jsonl``. The highest
    generation is the group's current incident.

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

    Other writers are expected: a responder noting or stepping the incident,
    a second intake behind a load balancer. When one appends between the
    intake's read and its write, the intake catches up
    (:meth:`refresh() <incidentkit.Declared.refresh>`) and decides again;
    when one declares the group's next incident first, the intake notes on
    that one. Three tries in all, then :class:`~incidentkit.ConcurrentAppendError`.

    .. versionchanged:: 0.2.0
       Retries and replays of a notification are recognised and ignored.

    Calls are serialised by a lock, so a threaded receiver may share one
    intake; across processes the store's compare-and-append keeps each
    incident's chain whole.

    Args:
        store: Where the incidents are kept: a
            :class:`~incidentkit.protocols.JournalStore`, or the path of a
            directory for a :class:`~incidentkit.stores.FileStore` (created
            if missing).
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
        lock_timeout: With a directory's path: how long to wait for a journal
            file's lock, in seconds (10 by default). A store has its own
            setting (``FileStore(directory, lock_timeout=...)``).
        name: The source name in errors, by default ``"alertmanager"``.

    Raises:
        JournalError: The directory cannot be created.
        InvalidInputError: ``store`` is neither a store nor a path, or
            ``lock_timeout`` is given with a store, or is not a valid timeout.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0
       Takes any journal store (a path still means a directory of files);
       moved from ``incidentkit.adapters.alertmanager`` to
       :mod:`incidentkit.intake`.
    """

    def __init__(
        self,
        store: JournalStore | str | os.PathLike[str],
        *,
        actor: Actor | str = Actor("alertmanager"),  # noqa: B008 - a frozen, immutable value
        clock: Clock | None = None,
        service_label: str = "service",
        title_annotation: str = "summary",
        declare_if: Callable[[WebhookPayload], bool] | None = None,
        depends_on: Mapping[str, Sequence[str]] | None = None,
        lock_timeout: float | None = None,
        name: str = SOURCE,
    ) -> None:
        self.store: JournalStore = _as_store(store, lock_timeout)
        self.actor = _model.as_actor(actor)
        self.clock: Clock = clock or SystemClock()
        self.service_label = service_label
        self.title_annotation = title_annotation
        self.name = name
        self._declare_if = declare_if
        self._depends_on = depends_on
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        """Return the store's location and the actor."""
        return f"AlertIntake({self.store.location!r}, actor={str(self.actor)!r})"

    def incidents(self, group_key: str) -> tuple[str, ...]:
        """Return the ids of a group's incidents in the store, oldest first.

        The last one is the group's current incident. Other incidents in the
        store are left alone.

        Raises:
            JournalError: The store cannot be listed.

        .. versionadded:: 0.3.0
        """
        prefix = _prefix(group_key)
        found: list[tuple[int, str]] = []
        for incident_id in self.store.incidents():
            generation = incident_id[len(prefix) :] if incident_id.startswith(prefix) else ""
            if generation.isascii() and generation.isdigit():
                found.append((int(generation), incident_id))
        return tuple(incident_id for _, incident_id in sorted(found))

    def incident_id(self, group_key: str, generation: int) -> str:
        """Return the id of a group's ``generation``-th incident (from 1), declared or not.

        Raises:
            InvalidInputError: ``generation`` is not a positive integer.

        .. versionadded:: 0.3.0
        """
        if isinstance(generation, bool) or not isinstance(cast("object", generation), int):
            msg = f"a generation is an int, not {type(generation).__name__}"
            raise InvalidInputError(msg)
        if generation < 1:
            msg = f"a group's incidents are counted from 1, not {generation!r}"
            raise InvalidInputError(msg)
        return f"{_prefix(group_key)}{generation:04d}"

    def handle(self, payload: WebhookPayload | bytes | str | Mapping[str, object]) -> IntakeOutcome:
        """Declare an incident for a notification, note it on the open one, or ignore it.

        Args:
            payload: A parsed payload, or a body for :func:`parse_webhook`.

        Returns:
            What was done.

        Raises:
            MalformedResponseError: ``payload`` is a body that does not parse.
            ConcurrentAppendError: Other writers got in first three times.
            JournalError: The store could not be read or written (a file
                locked, a journal corrupted or torn, a database unreachable).
                Handling the notification again is safe: it never declares a
                second incident for an open one, and a notification already
                noted is recognised and ignored.

        .. versionadded:: 0.1.0
        """
        if not isinstance(payload, WebhookPayload):
            payload = parse_webhook(payload, source=self.name)
        with self._lock:
            return self._handle(payload)

    def _handle(self, payload: WebhookPayload) -> IntakeOutcome:
        key = payload.group_key
        ids = self.incidents(key)
        latest = self._resume(ids[-1]) if ids else None
        attempt = 1
        while True:
            last = attempt == _ATTEMPTS
            attempt += 1
            if latest is not None and payload.digest in _recorded(latest):
                return self._outcome(
                    "ignored",
                    payload,
                    latest,
                    f"duplicate: this {payload.status} notification (digest "
                    f"{payload.digest[:16]}) is already noted on the incident "
                    f"{latest.incident_id}; Alertmanager retried or replayed it",
                )
            if latest is not None and not isinstance(latest, Resolved):
                try:  # the first write decides: if another writer got in, decide again
                    latest.note(_evidence(payload, self.name), actor=self.actor)
                except ConcurrentAppendError:
                    if last:
                        raise
                    _log.info("%s moved on; catching up (try %d)", latest.incident_id, attempt)
                    latest = latest.refresh()
                    continue
                return self._noted(payload, latest)
            ignored = self._ignored(payload, latest)
            if ignored is not None:
                return ignored
            try:
                return self._declare(payload, _generation(ids[-1]) + 1 if ids else 1)
            except JournalExistsError:
                if last:
                    raise
                _log.info("another writer declared for %r first (try %d)", key, attempt)
                ids = self.incidents(key)
                latest = self._resume(ids[-1]) if ids else None

    def _resume(self, incident_id: str) -> AnyPhase:
        return Incident.resume(self.store, incident_id, clock=self.clock)

    def _outcome(
        self,
        action: Literal["declared", "noted", "ignored"],
        payload: WebhookPayload,
        phase: AnyPhase | None,
        detail: str,
    ) -> IntakeOutcome:
        return IntakeOutcome(
            action,
            payload.group_key,
            None if phase is None else phase.incident_id,
            self.store.location,
            None if phase is None else phase.phase,
            detail,
        )

    def _noted(self, payload: WebhookPayload, phase: _OpenPhase) -> IntakeOutcome:
        """Finish noting a notification on the open incident: the truncation, the outcome."""
        after = self._truncated(phase, payload)
        return self._outcome(
            "noted",
            payload,
            after,
            f"{payload.status} notification noted on the open incident {after.incident_id} "
            f"({after.phase}); a resolved alert does not verify recovery",
        )

    def _ignored(self, payload: WebhookPayload, latest: AnyPhase | None) -> IntakeOutcome | None:
        """The outcome of a notification that declares nothing, or ``None`` if it declares."""
        after = (
            ""
            if latest is None
            else f" (the group's last incident {latest.incident_id} is resolved)"
        )
        if payload.status == "resolved":
            detail = f"resolved notification with no open incident{after}"
        elif self._declare_if is not None and not self._declare_if(payload):
            detail = f"firing notification filtered out by declare_if{after}"
        else:
            return None
        return self._outcome("ignored", payload, None, detail)

    def _declare(self, payload: WebhookPayload, generation: int) -> IntakeOutcome:
        firing = payload.firing or payload.alerts
        now = to_instant(self.clock.now(), what="the clock's now()")
        detected = min(*(a.starts_at for a in firing), now)
        services = sorted({self._service(a) for a in firing})
        declared = Incident.declare(
            title=self._title(payload, firing),
            services=services,
            actor=self.actor,
            detection=Detection.ALERT,
            store=self.store,
            incident_id=self.incident_id(payload.group_key, generation),
            detected_at=detected,
            summary=(
                f"Declared from an Alertmanager notification: {len(payload.firing)} alert(s) "
                f"firing in group {payload.group_key} (receiver {payload.receiver!r})."
            ),
            depends_on=self._depends_on,
            clock=self.clock,
        )
        # The incident is ours from here: a responder quick enough to write
        # first only makes the intake catch up before its note.
        phase = _catching_up(
            declared, lambda p: p.note(_evidence(payload, self.name), actor=self.actor)
        )
        after = self._truncated(phase, payload)
        return self._outcome(
            "declared",
            payload,
            after,
            f"declared for {len(payload.firing)} firing alert(s) of {', '.join(services)}"
            + ("" if generation == 1 else f" (incident {generation} of this group)"),
        )

    def _truncated(self, phase: AnyPhase, payload: WebhookPayload) -> AnyPhase:
        """Record a truncated notification as a monitoring gap; return the phase after."""
        if payload.truncated_alerts <= 0:
            return phase
        title = (
            f"Alertmanager left {payload.truncated_alerts} alert(s) of group "
            f"{payload.group_key} out of a notification"
        )
        detail = (
            "The webhook's max_alerts limit truncated the notification: the alerts noted are "
            f"not all of the group. See the whole group in Alertmanager "
            f"({_safe_url(payload.external_url) or 'its UI'}) or raise max_alerts."
        )

        def finding(open_phase: _OpenPhase) -> object:
            return open_phase.finding(
                title, actor=self.actor, kind=FindingKind.MONITORING_GAP, detail=detail
            )

        return _catching_up(phase, finding)

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


def _as_store(
    store: JournalStore | str | os.PathLike[str], lock_timeout: float | None
) -> JournalStore:
    """The store itself, or a :class:`FileStore` on a directory's path."""
    if isinstance(store, (str, os.PathLike)):
        timeout = _DEFAULT_LOCK_TIMEOUT if lock_timeout is None else lock_timeout
        return FileStore(store, lock_timeout=timeout)
    if not isinstance(cast("object", store), JournalStore):
        msg = (
            "AlertIntake takes a JournalStore or the path of a directory, "
            f"not a {type(store).__name__}"
        )
        raise InvalidInputError(msg)
    if lock_timeout is not None:
        msg = (
            f"lock_timeout is for a directory given by its path; the store at {store.location} "
            "has its own (FileStore(directory, lock_timeout=...))"
        )
        raise InvalidInputError(msg)
    return store


def _catching_up(phase: AnyPhase, write: Callable[[_OpenPhase], object]) -> AnyPhase:
    """Write on an incident, catching up when another writer got in first; return its phase.

    Nothing is written if the incident is resolved (by another writer) by then.
    """
    attempt = 1
    while not isinstance(phase, Resolved):
        try:
            write(phase)
        except ConcurrentAppendError:  # noqa: PERF203 - a race lost, rarely: catch up and retry
            if attempt == _ATTEMPTS:
                raise
            attempt += 1
            _log.info("%s moved on; catching up (try %d)", phase.incident_id, attempt)
            phase = phase.refresh()
        else:
            return phase
    return phase


def _prefix(group_key: str) -> str:
    return f"{_ID_PREFIX}{hashlib.sha256(group_key.encode('utf-8')).hexdigest()[:16]}-"


def _generation(incident_id: str) -> int:
    return int(incident_id.rsplit("-", 1)[1])


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
