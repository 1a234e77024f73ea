"""A real Prometheus server with known data, for tests and examples.

:class:`LocalPrometheus` writes the samples it is given as OpenMetrics text,
backfills them into a fresh TSDB with ``promtool tsdb create-blocks-from
openmetrics``, starts ``prometheus`` on a free port of 127.0.0.1 with no
scrape targets, and removes everything on exit. It needs the ``prometheus``
and ``promtool`` executables (Debian: ``apt-get install prometheus``).

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import math
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Final, TypeAlias, cast

from typing_extensions import Self

from incidentkit._errors import InvalidInputError, SourceUnavailableError
from incidentkit._time import to_instant

__all__ = ["LocalPrometheus", "SeriesData", "openmetrics_text"]

Labels: TypeAlias = Mapping[str, str] | Iterable[tuple[str, str]]
Points: TypeAlias = Sequence[tuple[dt.datetime | float, float]]
SeriesData: TypeAlias = (
    Mapping[tuple[str, Iterable[tuple[str, str]]], Points] | Iterable[tuple[str, Labels, Points]]
)
"""Samples by series: ``{(name, ((label, value), ...)): points}``, or ``(name, labels, points)``
triples whose labels may be a dict."""

_METRIC_NAME: Final = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
_LABEL_NAME: Final = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
_CONFIG: Final = "# incidentkit LocalPrometheus: no scrape targets, backfilled data only\n"
_CONFIG_BODY: Final = "global:\n  scrape_interval: 1m\nscrape_configs: []\n"
_LOG_TAIL: Final = 2000
_SOURCE: Final = "local-prometheus"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def _milliseconds(at: dt.datetime | float, *, where: str) -> int:
    instant = to_instant(at, what=where)
    return round(instant.timestamp() * 1000)


def _triples(series: SeriesData) -> list[tuple[str, dict[str, str], Points]]:
    if isinstance(series, Mapping):
        mapping = cast("Mapping[tuple[str, Iterable[tuple[str, str]]], Points]", series)
        return [(name, dict(labels), points) for (name, labels), points in mapping.items()]
    return [(name, dict(labels), points) for name, labels, points in series]


def openmetrics_text(series: SeriesData) -> str:
    """Render samples as OpenMetrics text that ``promtool`` backfills as they are.

    Every metric is written as a ``gauge``, with all its series together and
    each series' samples in time order, and the text ends with ``# EOF``.
    Timestamps are written in seconds (OpenMetrics' unit, with milliseconds).

    Args:
        series: For each series, its metric name, its labels and its
            ``(instant or Unix seconds, value)`` points. Values may be NaN or
            infinite.

    Returns:
        The OpenMetrics text.

    Raises:
        InvalidInputError: A metric or label name is not valid in Prometheus,
            a series appears twice, two points of a series share an instant
            (promtool would keep one silently), or an instant is naive.

    .. versionadded:: 0.1.0
    """
    families: dict[str, list[tuple[dict[str, str], list[tuple[int, float]]]]] = {}
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    for name, labels, points in _triples(series):
        if not _METRIC_NAME.match(name):
            msg = f"{name!r} is not a valid Prometheus metric name"
            raise InvalidInputError(msg)
        for label in labels:
            if not _LABEL_NAME.match(label) or label.startswith("__"):
                msg = f"{name}: {label!r} is not a valid Prometheus label name"
                raise InvalidInputError(msg)
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            msg = f"the series {name}{dict(key[1])} is given twice"
            raise InvalidInputError(msg)
        seen.add(key)
        timed = sorted(
            (_milliseconds(at, where=f"{name} sample {i}"), float(value))
            for i, (at, value) in enumerate(points)
        )
        for (before, _), (after, _) in itertools.pairwise(timed):
            if before == after:
                msg = f"the series {name}{labels} has two samples at {after / 1000} s"
                raise InvalidInputError(msg)
        families.setdefault(name, []).append((labels, timed))
    lines: list[str] = []
    for name, members in families.items():
        lines.append(f"# TYPE {name} gauge")
        for labels, timed in members:
            inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
            head = f"{name}{{{inner}}}" if inner else name
            lines.extend(
                f"{head} {_number(value)} {at // 1000}.{at % 1000:03d}" for at, value in timed
            )
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _executable(name: str, given: str | None) -> str:
    found = shutil.which(given or name)
    if found is None:
        msg = (
            f"LocalPrometheus needs the {name!r} executable ({given or name!r} is not on PATH "
            "or not executable); install it, e.g. `apt-get install prometheus` on Debian "
            "or Ubuntu, which brings prometheus and promtool"
        )
        raise InvalidInputError(msg)
    return found


class LocalPrometheus:
    """A real Prometheus on 127.0.0.1 serving the samples it was given.

    Use it as a context manager; on entry it backfills the samples and
    starts the server, on exit it stops the server and deletes its data::

        with LocalPrometheus([("errors_ratio", {}, [(t0, 0.002), (t0 + 60, 0.35)])]) as prom:
            source = PrometheusMetricSource(prom.url)

    Queries see backfilled data at once. Prometheus looks back up to 5
    minutes for the latest sample at each evaluation instant, so a gap
    shorter than that is filled with the sample before it: make gaps longer,
    or query with a step no coarser than the sample interval.

    Args:
        series: The samples (see :func:`openmetrics_text`), or OpenMetrics
            text to backfill as it is (it must end with ``# EOF``).
        prometheus: The ``prometheus`` executable; default: found on PATH.
        promtool: The ``promtool`` executable; default: found on PATH.
        startup_timeout: Seconds to wait for the server to be ready.
        retention: The TSDB retention (a Prometheus duration). Long by
            default so that old backfilled blocks are never deleted.

    Raises:
        InvalidInputError: An executable is missing, or the samples are invalid
            (promtool's own complaint is quoted).
        SourceUnavailableError: The server did not become ready in time.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        series: SeriesData | str,
        *,
        prometheus: str | None = None,
        promtool: str | None = None,
        startup_timeout: float = 30.0,
        retention: str = "100y",
    ) -> None:
        self._text = series if isinstance(series, str) else openmetrics_text(series)
        self._prometheus = prometheus
        self._promtool = promtool
        self._startup_timeout = startup_timeout
        self._retention = retention
        self._directory: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: Path | None = None
        self._url = ""

    @property
    def url(self) -> str:
        """The server's root URL, such as ``http://127.0.0.1:40123``."""
        if not self._url:
            msg = "LocalPrometheus has no URL before it is started (use it in a with block)"
            raise InvalidInputError(msg)
        return self._url

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def __repr__(self) -> str:
        """Show the URL and whether the server runs."""
        return f"LocalPrometheus(url={self._url!r}, running={self.running})"

    def __enter__(self) -> Self:
        """Backfill the samples and start the server; see the class docstring."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the server and delete its data."""
        self.close()

    def start(self) -> None:
        """Backfill the samples and start the server (what entering the block does).

        Raises:
            InvalidInputError: An executable is missing or promtool refused the samples.
            SourceUnavailableError: The server did not become ready in time.
        """
        promtool = _executable("promtool", self._promtool)
        prometheus = _executable("prometheus", self._prometheus)
        self._directory = tempfile.TemporaryDirectory(prefix="incidentkit-prometheus-")
        root = Path(self._directory.name)
        try:
            self._backfill(promtool, root)
            (root / "prometheus.yml").write_text(_CONFIG + _CONFIG_BODY, encoding="utf-8")
            self._launch(prometheus, root)
        except BaseException:
            self.close()
            raise

    def _backfill(self, promtool: str, root: Path) -> None:
        source = root / "samples.om"
        source.write_text(self._text, encoding="utf-8")
        done = subprocess.run(  # noqa: S603 - a fixed argument list, no shell
            [
                promtool,
                "tsdb",
                "create-blocks-from",
                "openmetrics",
                str(source),
                str(root / "data"),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if done.returncode != 0:
            said = (done.stderr or done.stdout).strip()[-_LOG_TAIL:]
            msg = f"promtool refused the OpenMetrics samples (exit {done.returncode}): {said}"
            raise InvalidInputError(msg)

    def _launch(self, prometheus: str, root: Path) -> None:
        self._log = root / "prometheus.log"
        port = _free_port()
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(  # noqa: S603 - a fixed argument list, no shell
                [
                    prometheus,
                    f"--config.file={root / 'prometheus.yml'}",
                    f"--storage.tsdb.path={root / 'data'}",
                    f"--storage.tsdb.retention.time={self._retention}",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + self._startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                msg = (
                    f"prometheus exited with status {self._process.returncode} at start: "
                    f"{self._log_tail()}"
                )
                raise SourceUnavailableError(msg, source=_SOURCE)
            if self._ready():
                return
            time.sleep(0.05)
        msg = (
            f"prometheus at {self._url} was not ready within {self._startup_timeout:g} s: "
            f"{self._log_tail()}"
        )
        raise SourceUnavailableError(msg, source=_SOURCE)

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self._url}/-/ready", timeout=1.0) as answer:  # noqa: S310 - our own http URL
                return int(answer.status) == 200  # noqa: PLR2004 - HTTP OK
        except urllib.error.HTTPError as exc:  # 503 while the TSDB loads
            exc.close()
            return False
        except OSError:
            return False

    def _log_tail(self) -> str:
        if self._log is None or not self._log.exists():
            return "(no log)"
        return self._log.read_text(encoding="utf-8", errors="replace")[-_LOG_TAIL:].strip()

    def stop(self) -> None:
        """Stop the server, keeping its data until :meth:`close` (to test a dead source)."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def close(self) -> None:
        """Stop the server and delete its temporary directory; safe to call twice."""
        self.stop()
        directory, self._directory = self._directory, None
        if directory is not None:
            with contextlib.suppress(OSError):
                directory.cleanup()
