"""A real Alertmanager process on 127.0.0.1, for tests of webhook receivers.

:class:`LocalAlertmanager` starts the ``alertmanager`` binary (Debian and
Ubuntu name it ``prometheus-alertmanager``) with clustering off, a private
storage directory and a free port, waits until it is ready, and stops it
cleanly. Alerts are posted to its ``/api/v2/alerts`` API the way Prometheus
does, so the notifications a receiver gets are Alertmanager's own.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence

from typing_extensions import Self

__all__ = ["ALERTMANAGER_ENV", "LocalAlertmanager", "find_alertmanager", "webhook_config"]

ALERTMANAGER_ENV = "INCIDENTKIT_ALERTMANAGER"
"""The environment variable that may name the Alertmanager binary."""
_NAMES = ("prometheus-alertmanager", "alertmanager")
_REQUEST_TIMEOUT = 10.0


def find_alertmanager() -> str:
    """Return the path of the Alertmanager binary.

    Looks at ``$INCIDENTKIT_ALERTMANAGER``, then for ``prometheus-alertmanager``
    (Debian's name) and ``alertmanager`` on the ``PATH``.

    Raises:
        FileNotFoundError: None is installed; the message says how to install it.

    .. versionadded:: 0.1.0
    """
    named = os.environ.get(ALERTMANAGER_ENV)
    if named:
        if shutil.which(named) is None:
            msg = f"${ALERTMANAGER_ENV} names {named!r}, which is not an executable"
            raise FileNotFoundError(msg)
        return named
    for name in _NAMES:
        found = shutil.which(name)
        if found is not None:
            return found
    msg = (
        "Alertmanager is not installed: install it (apt-get install prometheus-alertmanager, "
        f"or a release binary from prometheus.io) or set ${ALERTMANAGER_ENV} to its path"
    )
    raise FileNotFoundError(msg)


def webhook_config(
    url: str,
    *,
    token: str | None = None,
    basic_auth: tuple[str, str] | None = None,
    group_by: Sequence[str] = ("alertname", "service"),
    group_wait: str = "1s",
    group_interval: str = "1s",
    repeat_interval: str = "4h",
    send_resolved: bool = True,
    max_alerts: int = 0,
) -> str:
    """Return an ``alertmanager.yml`` that sends every alert to one webhook.

    The configuration is written as JSON, which YAML parsers read as YAML.

    Args:
        url: The webhook receiver's URL.
        token: A bearer token Alertmanager sends (``http_config.authorization``).
        basic_auth: A ``(username, password)`` pair Alertmanager sends instead
            (``http_config.basic_auth``); not together with ``token``.
        group_by: The labels alerts are grouped by.
        group_wait: How long a new group waits before its first notification.
        group_interval: How long a group waits before notifying a change.
        repeat_interval: How long before an unchanged notification is re-sent.
        send_resolved: Whether resolved alerts are notified.
        max_alerts: The most alerts a notification holds (``0``: no limit).

    Raises:
        ValueError: Both ``token`` and ``basic_auth`` are given (Alertmanager
            refuses such a configuration).

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       ``basic_auth``.
    """
    if token is not None and basic_auth is not None:
        msg = "give token or basic_auth, not both: Alertmanager accepts one of them"
        raise ValueError(msg)
    webhook: dict[str, object] = {
        "url": url,
        "send_resolved": send_resolved,
        "max_alerts": max_alerts,
    }
    if token is not None:
        webhook["http_config"] = {"authorization": {"type": "Bearer", "credentials": token}}
    if basic_auth is not None:
        username, password = basic_auth
        webhook["http_config"] = {"basic_auth": {"username": username, "password": password}}
    config = {
        "route": {
            "receiver": "incidentkit",
            "group_by": list(group_by),
            "group_wait": group_wait,
            "group_interval": group_interval,
            "repeat_interval": repeat_interval,
        },
        "receivers": [{"name": "incidentkit", "webhook_configs": [webhook]}],
    }
    return json.dumps(config, indent=2)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalAlertmanager:
    """A real Alertmanager listening on 127.0.0.1, started and stopped by a test.

    Use it as a context manager::

        config = webhook_config(receiver.url, token="s3cret")
        with LocalAlertmanager(config) as alertmanager:
            alertmanager.post_alerts([{"labels": {"alertname": "Down"}}])

    Args:
        config: The contents of ``alertmanager.yml``.
        binary: The Alertmanager binary; by default :func:`find_alertmanager`.
        startup_timeout: Seconds to wait for it to become ready.

    Raises:
        FileNotFoundError: No Alertmanager binary is installed.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self, config: str, *, binary: str | None = None, startup_timeout: float = 30.0
    ) -> None:
        self.binary = binary or find_alertmanager()
        self.config = config
        self.startup_timeout = startup_timeout
        self.port = 0
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._output = ""

    @property
    def url(self) -> str:
        """Alertmanager's base URL (also its external URL)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def output(self) -> str:
        """What Alertmanager logged so far."""
        if self._workdir is None:
            return self._output
        return pathlib.Path(self._workdir.name, "alertmanager.log").read_text(errors="replace")

    def start(self) -> Self:
        """Start Alertmanager and wait until it answers ``/-/ready``.

        Raises:
            RuntimeError: It exited or was not ready in time; the message
                holds its log.
        """
        self._workdir = tempfile.TemporaryDirectory(prefix="incidentkit-alertmanager-")
        work = pathlib.Path(self._workdir.name)
        (work / "alertmanager.yml").write_text(self.config)
        self.port = _free_port()
        with (work / "alertmanager.log").open("wb") as log:
            self._process = subprocess.Popen(  # noqa: S603 - a fixed argument list
                [
                    self.binary,
                    f"--config.file={work / 'alertmanager.yml'}",
                    f"--storage.path={work / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    f"--web.external-url={self.url}",
                    "--cluster.listen-address=",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            if self._ready():
                return self
            time.sleep(0.05)
        output = self.output
        self.stop()
        msg = f"Alertmanager did not become ready at {self.url}; its log:\n{output}"
        raise RuntimeError(msg)

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1.0) as answer:  # noqa: S310
                return int(answer.status) == 200  # noqa: PLR2004 - HTTP OK
        except (urllib.error.URLError, OSError):
            return False

    def post_alerts(self, alerts: Sequence[Mapping[str, object]]) -> None:
        """POST alerts to ``/api/v2/alerts``, as Prometheus does.

        Each alert is a mapping with ``labels`` and optionally ``annotations``,
        ``startsAt``, ``endsAt`` (RFC 3339; an ``endsAt`` in the past resolves
        it) and ``generatorURL``.

        Raises:
            RuntimeError: Alertmanager refused them; the message holds its answer.
        """
        request = urllib.request.Request(  # noqa: S310 - our own 127.0.0.1 URL
            f"{self.url}/api/v2/alerts",
            data=json.dumps(list(alerts)).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=_REQUEST_TIMEOUT) as answer:  # noqa: S310
                answer.read()
        except urllib.error.HTTPError as exc:
            with exc:
                said = exc.read().decode(errors="replace")
            msg = f"Alertmanager refused the alerts with HTTP {exc.code}: {said}"
            raise RuntimeError(msg) from None

    def stop(self) -> None:
        """Stop Alertmanager (SIGTERM, then SIGKILL after 10 s) and delete its files."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._workdir is not None:
            self._output = self.output
            self._workdir.cleanup()
            self._workdir = None

    def __enter__(self) -> Self:
        """Start Alertmanager."""
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        """Stop Alertmanager."""
        self.stop()
