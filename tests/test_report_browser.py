"""The HTML report opened in a real browser: Debian's chromium, headless, with no network.

The example incident (``examples/checkout_outage.py --html``) writes its report;
chromium loads it from a ``file://`` URL with every request sent to a proxy on
127.0.0.1 that this test runs and that answers nothing, so any request the page
made would be seen (none may be). Chromium itself calls its vendor's services
in the background (the time, the component updater, accounts) whatever its
flags say; those are told apart from the page's own requests, which carry a
``Sec-Fetch-Dest`` header or go to another host, and a control page with an
image proves that a page's request is seen. The DOM chromium built (``--dump-dom``) must
hold the chart's markers, one per suspect the chart shows, the onset and the
intervention, and no script; ``--screenshot`` must give a picture that is not
blank. A hostile report goes through the same browser and stays inert.

Without chromium the tests are skipped with the install hint; under
``INCIDENTKIT_REQUIRE_SERVICES=1`` (CI) they fail instead.
"""

from __future__ import annotations

import contextlib
import html.parser
import pathlib
import re
import socket
import struct
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator

import pytest

from _report_incident import report_with
from incidentkit import Incident
from incidentkit._render._common import visible
from incidentkit.reports import ChartMarkerKind, render_html
from services import require_executables, require_modules

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "checkout_outage.py"
WINDOW = (1280, 2000)
BROWSER_TIMEOUT = 120


@pytest.fixture(autouse=True)
def _browser():
    """Every test here needs the html extra and chromium."""
    require_modules("jinja2", "matplotlib", extra="html")
    require_executables("chromium")


CHROMIUMS_OWN = ("google.com", "googleapis.com", "gvt1.com", "gvt2.com", "gstatic.com")
"""The hosts chromium calls by itself in the background, whatever page it shows."""


def page_requests(connections: list[bytes]) -> list[bytes]:
    """The requests a page made, among everything the browser sent to the proxy.

    A page's plain-HTTP request carries ``Sec-Fetch-Dest``; any request (or
    ``CONNECT``) to a host that is not one of chromium's own is a page's too.
    """
    found = []
    for request in connections:
        head = request.split(b"\r\n\r\n", 1)[0].lower()
        target = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b""
        host = re.sub(rb"^[a-z]+://", b"", target).split(b"/")[0].split(b":")[0]
        own = any(host == d.encode() or host.endswith(b"." + d.encode()) for d in CHROMIUMS_OWN)
        if b"\r\nsec-fetch-dest:" in head or not own:
            found.append(request)
    return found


class RecordingProxy:
    """A proxy on 127.0.0.1 that records each connection and answers nothing."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port: int = self.server.getsockname()[1]
        self.connections: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _address = self.server.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(1.0)
                try:
                    self.connections.append(connection.recv(4096))
                except OSError:
                    self.connections.append(b"")

    def close(self) -> None:
        """Stop serving."""
        self._stop.set()
        self._thread.join(timeout=5)
        self.server.close()


@contextlib.contextmanager
def recording_proxy() -> Iterator[RecordingProxy]:
    """Run a :class:`RecordingProxy` for the duration of the block."""
    proxy = RecordingProxy()
    try:
        yield proxy
    finally:
        proxy.close()


def chromium(page: pathlib.Path, profile: pathlib.Path, proxy: RecordingProxy, *args: str) -> str:
    """Run headless chromium on ``page`` with every request sent to ``proxy``; return stdout."""
    command = [
        "chromium",
        "--headless",
        "--no-sandbox",  # the tests may run as root, where chromium's sandbox refuses to start
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-default-apps",
        "--disable-extensions",
        "--disable-sync",
        "--disable-domain-reliability",
        "--disable-client-side-phishing-detection",
        "--no-pings",
        f"--user-data-dir={profile}",
        f"--proxy-server=http://127.0.0.1:{proxy.port}",
        "--proxy-bypass-list=<-loopback>",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--hide-scrollbars",
        *args,
        page.as_uri(),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=BROWSER_TIMEOUT, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class Dom(html.parser.HTMLParser):
    """The DOM chromium serialised: every element's tag and id, and the text."""

    def __init__(self, document: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, str]] = []
        self.texts: list[str] = []
        self.feed(document)
        self.close()

    def handle_starttag(self, tag, attrs):
        """Keep the element's tag and id."""
        self.elements.append((tag, dict(attrs).get("id") or ""))

    def handle_data(self, data):
        """Keep the text."""
        self.texts.append(data)

    def ids(self, pattern: str) -> list[str]:
        """The ids matching ``pattern`` in full, in document order."""
        return [i for _tag, i in self.elements if re.fullmatch(pattern, i)]


def png_size_and_colours(png: bytes) -> tuple[int, int, int]:
    """A PNG's width, height and how many distinct byte values its pixel data holds."""
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    data, at = b"", 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind = png[at + 4 : at + 8]
        if kind == b"IDAT":
            data += png[at + 8 : at + 8 + length]
        at += 12 + length
    return width, height, len(set(zlib.decompress(data)))


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """The example incident: its journal and its HTML report, written by the example script."""
    folder = tmp_path_factory.mktemp("example")
    journal, report = folder / "checkout.jsonl", folder / "report.html"
    subprocess.run(
        [sys.executable, str(EXAMPLE), str(journal), "--html", str(report)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return journal, report


def test_the_example_report_in_a_browser_has_its_chart_markers(example, tmp_path):
    """Chromium's DOM of the example report has one marker per suspect shown, onset, rollback."""
    journal, page = example
    chart = Incident.resume(journal).report().chart
    assert chart is not None
    with recording_proxy() as proxy:
        dom = Dom(chromium(page, tmp_path / "profile", proxy, "--dump-dom"))
    assert page_requests(proxy.connections) == []
    suspects = chart.of_kind(ChartMarkerKind.SUSPECT)
    assert len(suspects) >= 3  # the example has four suspects in the chart's window
    shown = dom.ids(r"chart-suspect-[0-9]+")  # in time order
    assert sorted(shown) == sorted(f"chart-suspect-{m.label}" for m in suspects)
    assert len(shown) == len(suspects)
    assert dom.ids("chart-onset") == ["chart-onset"]
    interventions = chart.of_kind(ChartMarkerKind.INTERVENTION)
    assert len(interventions) == 1  # the rollback
    assert dom.ids(r"chart-intervention-[0-9]+") == ["chart-intervention-1"]
    assert dom.ids("chart-healthy-since") == ["chart-healthy-since"]
    assert dom.ids(r"chart-recovery-[0-9]+") == ["chart-recovery-1"]
    assert dom.ids("chart-errors") == ["chart-errors"]
    assert dom.ids("chart-traffic") == ["chart-traffic"]
    tags = [tag for tag, _id in dom.elements]
    assert "svg" in tags
    assert "script" not in tags
    text = "".join(dom.texts)
    assert "Root cause" in text
    assert "deploy-4812" in text


def test_the_example_report_renders_to_a_screenshot(example, tmp_path):
    """Chromium renders the example report to a full-size PNG that is not blank, offline."""
    _journal, page = example
    shot = tmp_path / "report.png"
    with recording_proxy() as proxy:
        chromium(page, tmp_path / "profile", proxy, f"--screenshot={shot}")
    assert page_requests(proxy.connections) == []
    width, height, colours = png_size_and_colours(shot.read_bytes())
    assert (width, height) == WINDOW
    assert colours > 50  # text, the chart's lines and the tables, not a blank page


def test_a_hostile_report_stays_inert_in_a_browser(tmp_path):
    """A title and a change summary with a script and an image: no script or image in the DOM."""
    title = "</table><script>alert(1)</script>\x1b[31m | x |"
    summary = "<img src=http://127.0.0.1:9/x onerror=alert(2)></td><script>alert(3)</script>"
    report = report_with(title=title, change_summary=summary)
    page = tmp_path / "hostile.html"
    page.write_text(render_html(report), encoding="utf-8")
    with recording_proxy() as proxy:
        dom = Dom(chromium(page, tmp_path / "profile", proxy, "--dump-dom"))
    assert page_requests(proxy.connections) == []
    tags = [tag for tag, _id in dom.elements]
    assert "script" not in tags
    assert "img" not in tags
    text = "".join(dom.texts)
    assert visible(title) in text
    assert visible(summary) in text


def test_a_request_from_a_page_would_be_seen(tmp_path):
    """The control: a page that loads an image makes a request the proxy records as the page's."""
    page = tmp_path / "control.html"
    page.write_text(
        '<!DOCTYPE html><html><body><img src="http://report-assets.example/pixel.png"></body></html>',
        encoding="utf-8",
    )
    with recording_proxy() as proxy:
        chromium(page, tmp_path / "profile", proxy, "--dump-dom")
    requests = page_requests(proxy.connections)
    assert requests
    assert b"report-assets.example" in requests[0]
