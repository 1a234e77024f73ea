"""Alertmanager's webhook notification (payload version 4): the values and the strict parser."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import partial
from typing import Literal, cast

import attrs
import pendulum

from incidentkit._errors import InvalidInputError, MalformedResponseError
from incidentkit._time import UTC, format_instant
from incidentkit.adapters import _fields

__all__ = ["SOURCE", "SUPPORTED_VERSIONS", "Alert", "WebhookPayload", "parse_webhook"]

SUPPORTED_VERSIONS: tuple[str, ...] = ("4",)
"""The webhook payload versions :func:`parse_webhook` accepts."""
SOURCE = "alertmanager"
"""The default source name in errors."""

_ZERO_TIME = pendulum.DateTime(1, 1, 1, tzinfo=UTC)  # Go's zero time: "not set"
_STATUSES = ("firing", "resolved")
#: An integer literal longer than this is refused before Python converts it:
#: no field of a notification holds one, and converting a long one is slow.
_MAX_INT_DIGITS = 64
_HINT = (
    "expected an Alertmanager webhook notification (payload version 4); check that "
    "Alertmanager's webhook_configs url points at this receiver"
)


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

    @property
    def digest(self) -> str:
        """What identifies this notification among Alertmanager's retries: a SHA-256 in hex.

        It covers the group key, the status and each alert's status,
        fingerprint, labels, ``startsAt`` and ``endsAt``, in no particular
        order. A retry or a replay of a notification has the same digest; a
        notification that says anything new about the group's alerts has
        another one. The receiver name, the annotations, the URLs and
        ``truncatedAlerts`` are left out: they describe the alerts, they do
        not make a notification new.

        .. versionadded:: 0.2.0
        """
        alerts = sorted(
            [
                a.status,
                a.fingerprint,
                sorted(a.labels.items()),
                format_instant(a.starts_at),
                "" if a.ends_at is None else format_instant(a.ends_at),
            ]
            for a in self.alerts
        )
        identity = {"groupKey": self.group_key, "status": self.status, "alerts": alerts}
        canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def parse_webhook(
    body: bytes | str | Mapping[str, object], *, source: str = SOURCE
) -> WebhookPayload:
    """Validate an Alertmanager webhook body into a :class:`WebhookPayload`.

    Validation is strict: every field of payload version ``"4"`` must be there
    with the right type (``truncatedAlerts`` and each alert's ``fingerprint``
    may be absent, as older Alertmanager releases omit them), statuses must be
    ``firing`` or ``resolved``, and times must be RFC 3339 with an offset
    (fractional seconds of any precision are accepted and kept to the
    microsecond).

    A hostile body is refused the same way as a malformed one: JSON nested
    deeper than Python's parser allows, and integer literals of more than 64
    digits (no field of a notification holds one; Python would refuse
    4,300 digits, and converting long ones is slow) raise
    :class:`MalformedResponseError`, never ``RecursionError`` or
    ``ValueError``.

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
        document = _decode(body, source)
    elif isinstance(cast("object", body), Mapping):
        document = body
    else:
        msg = f"parse_webhook takes bytes, str or a mapping, not {type(body).__name__}"
        raise InvalidInputError(msg)
    return _Payload(source).read(document)


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        msg = f"an integer of {len(text)} characters (at most {_MAX_INT_DIGITS} digits are read)"
        raise ValueError(msg)
    return int(text)


def _decode(body: bytes | bytearray | str, source: str) -> object:
    problem: str
    try:
        return cast("object", json.loads(body, parse_int=_parse_int))
    except RecursionError:
        problem = "it is nested deeper than the JSON parser allows"
    except UnicodeDecodeError as exc:
        problem = f"it is not UTF-8 ({exc.reason} at byte {exc.start})"
    except json.JSONDecodeError as exc:
        problem = f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    except ValueError as exc:  # _parse_int, or Python's own int-string limit
        problem = str(exc)
    msg = (
        f"{source}: the webhook body is not UTF-8 JSON ({problem}); check that "
        "Alertmanager's webhook_configs url points at this receiver"
    )
    raise MalformedResponseError(msg, source=source)


class _Payload:
    """Reads a decoded payload with the shared readers, naming the path of whatever is wrong."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.malformed = partial(_fields.malformed, source, hint=_HINT)
        self.object = partial(_fields.as_object, source=source, hint=_HINT)
        self.string = partial(_fields.string, source=source, hint=_HINT)
        self.strings = partial(_fields.string_map, source=source, hint=_HINT)
        self.time = partial(_fields.rfc3339, source=source, hint=_HINT)

    def status(self, data: Mapping[str, object], where: str) -> Literal["firing", "resolved"]:
        value = _fields.choice(data, "status", where, self.source, _STATUSES, hint=_HINT)
        return "firing" if value == "firing" else "resolved"

    def read(self, document: object) -> WebhookPayload:
        data = self.object(document, "the payload")
        if "version" not in data:
            raise self.malformed("version", "is missing")
        version = data["version"]
        if not isinstance(version, str) or version not in SUPPORTED_VERSIONS:
            shown = repr(version)[:40] if isinstance(version, (str, int)) else _fields.kind(version)
            supported = ", ".join(repr(v) for v in SUPPORTED_VERSIONS)
            msg = (
                f"{self.source}: webhook payload version {shown} is not supported "
                f"(supported: {supported}); this receiver understands Alertmanager's "
                "webhook notifications"
            )
            raise MalformedResponseError(msg, source=self.source)
        truncated = _fields.count(data, "truncatedAlerts", "", self.source, hint=_HINT, default=0)
        raw_alerts = _fields.as_list(data, "alerts", "", self.source, hint=_HINT)
        alerts = tuple(self.alert(a, f"alerts[{i}]") for i, a in enumerate(raw_alerts))
        if not alerts:
            raise self.malformed(
                "alerts", "is empty (Alertmanager always sends at least one alert)"
            )
        return WebhookPayload(
            version=version,
            group_key=self.string(data, "groupKey", ""),
            status=self.status(data, ""),
            receiver=self.string(data, "receiver", ""),
            group_labels=self.strings(data, "groupLabels", ""),
            common_labels=self.strings(data, "commonLabels", ""),
            common_annotations=self.strings(data, "commonAnnotations", ""),
            external_url=self.string(data, "externalURL", ""),
            truncated_alerts=truncated,
            alerts=alerts,
        )

    def alert(self, value: object, where: str) -> Alert:
        data = self.object(value, where)
        starts = self.time(data, "startsAt", where)
        if starts == _ZERO_TIME:
            raise self.malformed(
                f"{where}.startsAt", "is Alertmanager's zero time; an alert must start"
            )
        ends = self.time(data, "endsAt", where)
        return Alert(
            status=self.status(data, where),
            labels=self.strings(data, "labels", where),
            annotations=self.strings(data, "annotations", where),
            starts_at=starts,
            ends_at=None if ends == _ZERO_TIME else ends,
            generator_url=self.string(data, "generatorURL", where),
            fingerprint=self.string(data, "fingerprint", where, default=""),
        )
