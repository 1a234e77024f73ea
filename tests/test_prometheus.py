"""Tests for the Prometheus metric source, against a real Prometheus and canned local servers.

The module's fixture starts ONE real Prometheus (the `prometheus` and `promtool`
executables, Debian's package) with a known incident backfilled into it. The
failure modes a healthy Prometheus cannot produce on demand (a hung server, a
proxy's garbage, a 401) come from tiny local servers on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import math
import socket
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _local_http import LocalHTTPServer
from incidentkit import (
    Detection,
    FindingKind,
    Incident,
    InvalidInputError,
    MalformedResponseError,
    ManualClock,
    Metric,
    NaiveDatetimeError,
    Recovered,
    Series,
    SourceAuthError,
    SourceError,
    SourceRequestError,
    SourceTimeoutError,
    SourceUnavailableError,
)
from incidentkit.adapters import prometheus as prometheus_adapter
from incidentkit.adapters.prometheus import PrometheusMetricSource
from incidentkit.protocols import MetricSource
from incidentkit.testing import LocalPrometheus, openmetrics_text
from services import require_executables

# --------------------------------------------------------------------------- the scenario

T0 = pendulum.datetime(2025, 6, 2, 10, 0, tz="UTC")  # the incident starts
END_OF_INCIDENT = T0.add(minutes=20)
FIRST = T0.subtract(hours=7)
LAST = T0.add(hours=3)
STEP = 60
INSTANCES = ("a", "b", "c")
RATIO = "job:checkout_errors:ratio"
RATE_RATIO = (
    'sum(rate(http_requests_total{job="checkout",code="500"}[5m]))'
    ' / sum(rate(http_requests_total{job="checkout"}[5m]))'
)
TRAFFIC = 'sum(rate(http_requests_total{job="checkout"}[5m]))'
LATENCY = "instance:checkout_latency:p99"
QUEUE = "checkout_queue_depth"
CACHE = "checkout_cache_hit_ratio"
QUEUE_HOLE = (T0, T0.add(minutes=15))  # no samples in [T0, T0 + 15 min)
CACHE_ODD = {T0.add(minutes=1): math.nan, T0.add(minutes=2): math.inf, T0.add(minutes=3): -math.inf}


def _minutes():
    at = FIRST
    while at <= LAST:
        yield at
        at = at.add(seconds=STEP)


def _in_incident(at):
    return T0 <= at < END_OF_INCIDENT


def _ratio_value(k, at):
    return 0.35 if _in_incident(at) else 0.002 + (k % 5 - 2) * 0.0001


def _latency_value(instance, k):
    return 0.1 * (INSTANCES.index(instance) + 1) + (k % 7) * 0.001


def _scenario():
    """Every series of the incident, as (name, labels, points) triples."""
    series = []
    ratio = [(at, _ratio_value(k, at)) for k, at in enumerate(_minutes())]
    series.append((RATIO, {"job": "checkout"}, ratio))
    for instance in INSTANCES:
        ok_total = errors_total = 0
        ok, errors = [], []
        for k, at in enumerate(_minutes()):
            ok.append((at, float(ok_total)))
            errors.append((at, float(errors_total)))
            # The counts of the minute that starts at `at`, per instance: 6000 requests.
            failed = 2100 if _in_incident(at) else 10 + (k * 7 + INSTANCES.index(instance)) % 5
            errors_total += failed
            ok_total += 6000 - failed
        labels = {"job": "checkout", "instance": instance}
        series.append(("http_requests_total", {**labels, "code": "200"}, ok))
        series.append(("http_requests_total", {**labels, "code": "500"}, errors))
        # Instance c stops reporting latency at T0.
        latency = [
            (at, _latency_value(instance, k))
            for k, at in enumerate(_minutes())
            if instance != "c" or at < T0
        ]
        series.append((LATENCY, {"job": "checkout", "instance": instance}, latency))
    queue = [
        (at, 5.0 + k % 3)
        for k, at in enumerate(_minutes())
        if not QUEUE_HOLE[0] <= at < QUEUE_HOLE[1]
    ]
    series.append((QUEUE, {}, queue))
    cache = [(at, CACHE_ODD.get(at, 0.9)) for at in _minutes()]
    series.append((CACHE, {}, cache))
    return series


def _require_prometheus():
    require_executables("prometheus", "promtool")


@pytest.fixture(scope="module")
def prometheus():
    """One real Prometheus for the module, with the incident backfilled."""
    _require_prometheus()
    with LocalPrometheus(_scenario()) as server:
        yield server


@pytest.fixture
def source(prometheus):
    """A source on the module's Prometheus."""
    return PrometheusMetricSource(prometheus.url, unit="ratio")


@contextlib.contextmanager
def _recording_proxy(upstream):
    """A local server that forwards range queries to ``upstream`` and records each request."""

    def forward(request):
        query = urllib.parse.urlencode(request.query, doseq=True)
        sent = urllib.request.Request(  # noqa: S310 - the local Prometheus's http URL
            f"{upstream}{request.path}?{query}",
            data=request.body if request.method == "POST" else None,
            method=request.method,
            headers={"Content-Type": request.headers.get("content-type", "text/plain")},
        )
        try:
            with urllib.request.urlopen(sent, timeout=60) as answer:  # noqa: S310 - as above
                return answer.status, {"Content-Type": "application/json"}, answer.read()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, {"Content-Type": "application/json"}, exc.read()

    with LocalHTTPServer({"/api/v1/query_range": forward}) as proxy:
        yield proxy


def _methods(proxy):
    """The HTTP methods of the requests the proxy forwarded, in order."""
    return [r.method for r in proxy.requests]


# --------------------------------------------------------------------------- the real server


def test_values_and_timestamps_are_those_backfilled(source):
    """A recording-rule series comes back with exactly the values and instants written."""
    start, end = T0.subtract(minutes=30), T0.add(minutes=30)
    series = source.query_range(RATIO, start, end, STEP)
    assert isinstance(source, MetricSource)
    expected = [(at, v) for k, (at, v) in enumerate(_scenario()[0][2]) if start <= at <= end]
    assert [s.at for s in series.samples] == [at for at, _ in expected]
    assert [s.value for s in series.samples] == pytest.approx([v for _, v in expected])
    assert series.non_finite == 0
    assert series.query.source == "prometheus"
    assert series.query.query == RATIO
    assert (series.query.start, series.query.end, series.query.step) == (start, end, 60.0)
    assert series.query.unit == "ratio"
    assert max(s.value for s in series.samples) == pytest.approx(0.35)


def test_a_coarser_step_evaluates_every_other_minute(source):
    """At a 120 s step Prometheus evaluates at start, start + 120 s, ...; the grid is kept."""
    start = T0.subtract(minutes=10)
    series = source.query_range(RATIO, start, T0.add(minutes=10), 120)
    assert [s.at for s in series.samples] == [start.add(minutes=2 * i) for i in range(11)]


def test_rate_over_counters_gives_the_error_ratio(source):
    """The PromQL error ratio over counters is the 0.2 % baseline, then 35 %, then back."""
    series = source.query_range(RATE_RATIO, T0.subtract(hours=1), T0.add(hours=1), STEP)
    values = dict(series.present())
    assert values[T0.subtract(minutes=30)] == pytest.approx(0.002, abs=0.0005)
    assert values[T0.add(minutes=10)] == pytest.approx(0.35, rel=1e-9)
    assert values[T0.add(minutes=40)] == pytest.approx(0.002, abs=0.0005)


def test_a_gap_longer_than_the_lookback_stays_a_gap(source):
    """No instant in the hole is filled, with zero or anything: the samples are absent."""
    series = source.query_range(QUEUE, T0.subtract(minutes=10), T0.add(minutes=25), STEP)
    instants = {s.at for s in series.samples}
    # Prometheus looks back 5 minutes: the last sample before the hole (T0 - 1 min)
    # still answers up to T0 + 4 min; from T0 + 5 min to T0 + 14 min nothing does.
    hole = {T0.add(minutes=m) for m in range(5, 15)}
    assert not hole & instants
    assert T0.subtract(minutes=1) in instants
    assert T0.add(minutes=15) in instants
    assert all(s.value is not None and s.value >= 5 for s in series.samples)
    assert len(series) == 36 - len(hole)


def test_nan_and_infinities_are_counted_gaps(source):
    """NaN, +Inf and -Inf come back as gaps at their instants, counted in non_finite."""
    series = source.query_range(CACHE, T0, T0.add(minutes=5), STEP)
    by_time = {s.at: s.value for s in series.samples}
    assert len(by_time) == 6
    assert [at for at, value in by_time.items() if value is None] == sorted(CACHE_ODD)
    assert series.non_finite == 3
    assert by_time[T0] == pytest.approx(0.9)


def test_an_expression_that_matches_nothing_is_an_empty_series(source):
    """No series is no data (a gap for the protocol), not an error and not zeros."""
    series = source.query_range("no_such_metric", T0, T0.add(minutes=5), STEP)
    assert series.samples == ()
    assert series.query.query == "no_such_metric"


def test_several_series_are_an_error_that_names_them(source):
    """By default several series raise, naming the label sets and the ways out."""
    with pytest.raises(MalformedResponseError, match=r"matched 3 series") as caught:
        source.query_range(LATENCY, T0.subtract(minutes=10), T0.add(minutes=10), STEP)
    message = str(caught.value)
    assert "instance='a'" in message
    assert "instance='c'" in message
    assert "sum(" in message
    assert "multiple=" in message
    assert caught.value.source == "prometheus"


@pytest.mark.parametrize(
    ("how", "reduce"),
    [
        ("sum", sum),
        ("max", max),
        ("min", min),
        ("mean", lambda values: sum(values) / len(values)),
    ],
)
def test_several_series_can_be_reduced(prometheus, how, reduce):
    """Each reduction matches the same reduction of the backfilled values, instant by instant."""
    source = PrometheusMetricSource(prometheus.url, multiple=how)
    start, end = T0.subtract(minutes=10), T0.add(minutes=10)
    series = source.query_range(LATENCY, start, end, STEP)
    k0 = next(k for k, at in enumerate(_minutes()) if at == start)
    expected = []
    for offset in range(21):
        at = start.add(minutes=offset)
        # c stopped at T0; Prometheus still sees its last sample for 5 minutes (lookback).
        last_c = min(k0 + offset, next(k for k, t in enumerate(_minutes()) if t == T0) - 1)
        values = [_latency_value("a", k0 + offset), _latency_value("b", k0 + offset)]
        if at <= T0.add(minutes=4):
            values.append(_latency_value("c", last_c))
        expected.append(reduce(values))
    assert [s.at for s in series.samples] == [start.add(minutes=m) for m in range(21)]
    assert [s.value for s in series.samples] == pytest.approx(expected)


def test_a_label_selector_picks_one_series(prometheus):
    """A selector that matches one label set answers with that series alone."""
    source = PrometheusMetricSource(prometheus.url, multiple={"instance": "b"})
    start = T0.subtract(minutes=5)
    series = source.query_range(LATENCY, start, T0.add(minutes=5), STEP)
    k0 = next(k for k, at in enumerate(_minutes()) if at == start)
    assert [s.value for s in series.samples] == pytest.approx(
        [_latency_value("b", k0 + m) for m in range(11)]
    )


def test_a_selector_that_matches_nothing_or_too_much(prometheus):
    """No match is no data; a selector that matches several series is an error."""
    nothing = PrometheusMetricSource(prometheus.url, multiple={"instance": "z"})
    assert nothing.query_range(LATENCY, T0, T0.add(minutes=5), STEP).samples == ()
    loose = PrometheusMetricSource(prometheus.url, multiple={"job": "checkout"})
    with pytest.raises(MalformedResponseError, match=r"selector \{job='checkout'\} picks"):
        loose.query_range(LATENCY, T0.subtract(minutes=5), T0, STEP)


def test_a_long_window_is_split_and_stitched(prometheus):
    """With max_points=50 the window takes several requests and equals one request's answer."""
    start, end = T0.subtract(hours=2), T0.add(hours=2)  # 241 points
    with _recording_proxy(prometheus.url) as one_proxy, _recording_proxy(prometheus.url) as split:
        one = PrometheusMetricSource(one_proxy.url).query_range(RATE_RATIO, start, end, STEP)
        many = PrometheusMetricSource(split.url, max_points=50).query_range(
            RATE_RATIO, start, end, STEP
        )
    assert len(one_proxy.requests) == 1
    assert len(split.requests) == 5
    assert many == one
    assert len(many) == 241
    assert len({s.at for s in many.samples}) == 241  # no duplicate at the seams


def test_more_points_than_prometheus_allows_are_fetched_in_pieces(source):
    """30,001 points at a 1 s step: Prometheus refuses that in one request, the adapter splits."""
    start = T0.subtract(hours=6)
    end = start.add(seconds=30_000)  # T0 + 2 h 20 min: inside the data
    too_many = PrometheusMetricSource(source.url, max_points=40_000)
    with pytest.raises(SourceRequestError, match="11,000 points"):
        too_many.query_range(RATIO, start, end, 1)
    with _recording_proxy(source.url) as proxy:
        series = PrometheusMetricSource(proxy.url, unit="ratio").query_range(RATIO, start, end, 1)
    assert len(proxy.requests) == 3
    assert len(series) == 30_001
    assert [s.at for s in series.samples[:2]] == [start, start.add(seconds=1)]
    assert series.samples[-1].at == end


def test_get_and_post_answer_the_same(prometheus):
    """The POST form and GET give equal series; auto switches to POST for a long query."""
    window = (T0.subtract(minutes=30), T0.add(minutes=30), STEP)
    got = PrometheusMetricSource(prometheus.url, method="GET").query_range(RATE_RATIO, *window)
    long_query = "sum(" + " + ".join([RATIO] * 300) + ") / 300"
    assert len(long_query) > 5000
    with _recording_proxy(prometheus.url) as posted, _recording_proxy(prometheus.url) as auto:
        assert (
            PrometheusMetricSource(posted.url, method="POST").query_range(RATE_RATIO, *window)
            == got
        )
        chooser = PrometheusMetricSource(auto.url)
        long_answer = chooser.query_range(long_query, *window)
        plain = chooser.query_range(RATIO, *window)
    assert _methods(posted) == ["POST"]
    assert _methods(auto) == ["POST", "GET"]
    assert [s.value for s in long_answer.samples] == pytest.approx([s.value for s in plain.samples])


def test_bad_promql_is_a_request_error_with_prometheus_words(source):
    """A syntax error is Prometheus's bad_data: a SourceRequestError quoting its parser."""
    with pytest.raises(SourceRequestError, match="parse error") as caught:
        source.query_range("sum(rate(http_requests_total[5m])", T0, T0.add(minutes=5), STEP)
    assert "check the PromQL" in str(caught.value)
    assert caught.value.source == "prometheus"


def test_warnings_are_empty_after_a_clean_answer(source):
    """A clean answer leaves no warnings behind."""
    series = source.query_range(RATIO, T0, T0.add(minutes=5), STEP)
    assert series.warnings == ()
    assert source.infos == ()


# --------------------------------------------------------------------------- the protocol


def _declare(path, clock):
    return Incident.declare(
        title="Checkout returns 5xx",
        services="checkout",
        actor="dana",
        detection=Detection.ALERT,
        detected_at=T0.add(minutes=6),
        journal=path,
        clock=clock,
    )


@pytest.mark.parametrize(
    ("query", "tolerance"),
    [
        (RATE_RATIO, 60),  # rate() over [5m] sees the first failed minute one step later
        (RATIO, 0),
    ],
)
def test_an_incident_reads_its_onset_and_recovery_from_prometheus(
    prometheus, tmp_path, query, tolerance
):
    """Impact assessment finds the onset in real PromQL; recovery is verified after the end."""
    source = PrometheusMetricSource(prometheus.url)
    errors = Metric(source, query, unit="ratio")
    traffic = Metric(source, TRAFFIC, unit="req/s")
    clock = ManualClock(T0.add(minutes=10))
    assessed = _declare(tmp_path / "incident.jsonl", clock).assess_impact(
        actor="dana", ongoing=True, errors=errors, traffic=traffic, slo=0.999
    )
    assert assessed.onset is not None
    assert abs((assessed.onset.at - T0).total_seconds()) <= tolerance
    assert not [f for f in assessed.findings if f.kind is FindingKind.MONITORING_GAP]
    shares = [f.value for f in assessed.impact.figures if f.name == "share_of_requests_failing"]
    assert shares
    assert shares[0] > 0.2
    reviewed = assessed.skip_rollback_review(actor="sam", reason="no deploy in the window")
    clock.set(END_OF_INCIDENT)
    intervened = reviewed.mitigate("drained the bad zone", actor="sam", why_not_rollback="none")
    clock.set(END_OF_INCIDENT.add(minutes=30))
    recovered = intervened.verify_recovery(actor="sam", errors=errors, traffic=traffic)
    assert isinstance(recovered, Recovered), recovered.last_verdict


def test_a_prometheus_that_dies_mid_incident_is_a_monitoring_gap(tmp_path):
    """When the server dies after the assessment, recovery is inconclusive and a gap is recorded."""
    _require_prometheus()
    with LocalPrometheus(_scenario()) as doomed:
        source = PrometheusMetricSource(doomed.url, timeout=2.0)
        errors = Metric(source, RATE_RATIO, unit="ratio")
        traffic = Metric(source, TRAFFIC, unit="req/s")
        clock = ManualClock(T0.add(minutes=10))
        assessed = _declare(tmp_path / "incident.jsonl", clock).assess_impact(
            actor="dana", ongoing=True, errors=errors, traffic=traffic, slo=0.999
        )
        assert assessed.onset is not None
        intervened = assessed.skip_rollback_review(actor="sam", reason="none").mitigate(
            "drained the bad zone", actor="sam", why_not_rollback="none"
        )
        doomed.stop()
        assert not doomed.running
        clock.set(END_OF_INCIDENT.add(minutes=30))
        after = intervened.verify_recovery(actor="sam", errors=errors, traffic=traffic)
    assert not isinstance(after, Recovered)
    assert after.last_verdict is not None
    assert after.last_verdict.monitoring_gap
    gaps = [f for f in after.findings if f.kind is FindingKind.MONITORING_GAP]
    assert any("could not reach" in gap.detail for gap in gaps)


# --------------------------------------------------------------------------- canned servers


class _Canned(http.server.BaseHTTPRequestHandler):
    """Answers every request with the server's canned status and body; records the request."""

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.seen.append((self.command, self.path, self.headers, body))
        status, payload = self.server.canned
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer  # noqa: N815 - http.server's names

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        """Stay quiet."""


@contextlib.contextmanager
def canned(status, payload):
    """A local HTTP server answering every request with ``status`` and ``payload``."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Canned)
    server.daemon_threads = True
    server.canned = (status, payload)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _matrix(*series):
    return {"status": "success", "data": {"resultType": "matrix", "result": list(series)}}


def _query(source):
    return source.query_range("up", T0, T0.add(minutes=2), STEP)


def test_connection_refused_is_unavailable():
    """Nothing listening on the port: SourceUnavailableError naming the address."""
    source = PrometheusMetricSource(f"http://127.0.0.1:{_free_port()}", name="prom-eu")
    with pytest.raises(SourceUnavailableError, match="nothing listens there") as caught:
        _query(source)
    assert not isinstance(caught.value, SourceTimeoutError)
    assert caught.value.source == "prom-eu"


def test_a_server_that_never_answers_times_out():
    """A listener that accepts and never answers: SourceTimeoutError after the timeout."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        source = PrometheusMetricSource(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.5)
        with pytest.raises(SourceTimeoutError, match=r"within 0\.5 s") as caught:
            _query(source)
    assert caught.value.timeout == 0.5


@pytest.mark.parametrize(
    ("status", "error_type", "expected"),
    [
        (400, "bad_data", SourceRequestError),
        (503, "timeout", SourceTimeoutError),
        (422, "execution", SourceUnavailableError),
        (503, "canceled", SourceUnavailableError),
        (503, "unavailable", SourceUnavailableError),
        (500, "internal", SourceUnavailableError),
    ],
)
def test_prometheus_error_answers_become_typed_errors(status, error_type, expected):
    """Each errorType maps to its exception, quoting Prometheus's own error text."""
    body = {"status": "error", "errorType": error_type, "error": f"said {error_type}"}
    with canned(status, body) as (_server, url), pytest.raises(expected) as caught:
        _query(PrometheusMetricSource(url))
    assert f"said {error_type}" in str(caught.value)
    if expected is SourceUnavailableError:
        assert not isinstance(caught.value, (SourceTimeoutError, SourceRequestError))


def test_a_server_side_timeout_says_to_ask_for_less():
    """Prometheus's own query timeout (HTTP 503, errorType timeout) is a timeout with advice."""
    body = {
        "status": "error",
        "errorType": "timeout",
        "error": "query timed out in expression evaluation",
    }
    with canned(503, body) as (_server, url), pytest.raises(SourceTimeoutError) as caught:
        _query(PrometheusMetricSource(url))
    assert "query timed out in expression evaluation" in str(caught.value)
    assert "coarser step" in str(caught.value)
    assert caught.value.timeout is None


def test_a_proxy_503_page_is_unavailable():
    """A load balancer's HTML 503 (no healthy Prometheus behind it) is SourceUnavailableError."""
    page = b"<html>no healthy upstream</html>"
    with canned(503, page) as (_server, url), pytest.raises(SourceUnavailableError) as caught:
        _query(PrometheusMetricSource(url))
    assert not isinstance(caught.value, SourceTimeoutError)


MALFORMED = [
    pytest.param(b"<html>login</html>", "not JSON", id="html"),
    pytest.param([1, 2], "JSON list", id="list"),
    pytest.param({"data": {}}, "status None", id="no-status"),
    pytest.param({"status": "success"}, "'data' is missing", id="no-data"),
    pytest.param(
        {"status": "success", "data": {"resultType": "vector", "result": []}},
        "resultType is 'vector'",
        id="vector",
    ),
    pytest.param(
        {"status": "success", "data": {"resultType": "matrix"}}, "'data.result'", id="no-result"
    ),
    pytest.param(_matrix(["x"]), "not an object", id="series-not-object"),
    pytest.param(_matrix({"values": []}), "'metric' is missing", id="no-metric"),
    pytest.param(_matrix({"metric": {"a": 1}, "values": []}), "label strings", id="bad-label"),
    pytest.param(_matrix({"metric": {}}), "'values' is missing", id="no-values"),
    pytest.param(_matrix({"metric": {}, "values": [[1, "1", 2]]}), "not a \\[time", id="triple"),
    pytest.param(_matrix({"metric": {}, "values": [["1", "1"]]}), "not Unix seconds", id="ts-str"),
    pytest.param(_matrix({"metric": {}, "values": [[1, 0.5]]}), "not a string", id="value-num"),
    pytest.param(_matrix({"metric": {}, "values": [[1, "abc"]]}), "not a number", id="value-abc"),
    pytest.param(
        _matrix({"metric": {}, "values": [[1, "1"], [1, "2"]]}), "two samples", id="dup-time"
    ),
    pytest.param(
        _matrix({"metric": {"a": "1"}, "values": []}, {"metric": {"a": "1"}, "values": []}),
        "appears twice",
        id="dup-series",
    ),
    pytest.param(
        _matrix({"metric": {}, "histograms": [[1, {"count": "1"}]]}),
        "native histograms",
        id="histograms",
    ),
    pytest.param(_matrix({"metric": {}, "values": [[1e15, "1"]]}), "range", id="far-future"),
]


@pytest.mark.parametrize(("payload", "match"), MALFORMED)
def test_answers_of_the_wrong_shape_are_malformed(payload, match):
    """Anything but a range-query matrix of [time, "value"] pairs is a MalformedResponseError."""
    with canned(200, payload) as (_server, url), pytest.raises(MalformedResponseError, match=match):
        _query(PrometheusMetricSource(url, name="prom"))


def test_a_refused_token_never_shows(monkeypatch):
    """A 401 is a SourceAuthError; the token is sent but in no message and no repr."""
    token = "s3cr3t-t0ken-value"  # noqa: S105 - a test's fake token
    monkeypatch.setenv("PROMETHEUS_TOKEN", token)
    with canned(401, {"status": "error", "error": f"bad token {token}"}) as (server, url):
        source = PrometheusMetricSource(url)
        with pytest.raises(SourceAuthError) as caught:
            _query(source)
    assert server.seen[0][2]["Authorization"] == f"Bearer {token}"
    assert token not in str(caught.value)
    assert "bearer" in str(caught.value)
    assert token not in repr(source)
    assert "auth='bearer'" in repr(source)


def test_basic_auth_comes_from_the_environment(monkeypatch):
    """PROMETHEUS_USERNAME and PROMETHEUS_PASSWORD are sent as basic auth, and hidden."""
    monkeypatch.setenv("PROMETHEUS_USERNAME", "reader")
    monkeypatch.setenv("PROMETHEUS_PASSWORD", "pa55word-xyz")
    with canned(200, _matrix()) as (server, url):
        source = PrometheusMetricSource(url)
        assert _query(source).samples == ()
    assert server.seen[0][2]["Authorization"].startswith("Basic ")
    assert "pa55word-xyz" not in repr(source)
    assert "auth='basic'" in repr(source)


def test_arguments_win_over_the_environment(monkeypatch):
    """A token given as an argument is used; the environment is not read."""
    monkeypatch.setenv("PROMETHEUS_USERNAME", "reader")
    with canned(200, _matrix()) as (server, url):
        _query(PrometheusMetricSource(url, token="arg-token"))  # noqa: S106 - a fake token
    assert server.seen[0][2]["Authorization"] == "Bearer arg-token"


def test_conflicting_environment_credentials_are_refused(monkeypatch):
    """A token and a user name both in the environment is ambiguous: InvalidInputError."""
    monkeypatch.setenv("PROMETHEUS_TOKEN", "t")
    monkeypatch.setenv("PROMETHEUS_USERNAME", "u")
    with pytest.raises(InvalidInputError, match="PROMETHEUS_TOKEN and PROMETHEUS_USERNAME"):
        PrometheusMetricSource("http://127.0.0.1:9")


def test_warnings_and_infos_are_kept():
    """Prometheus's warnings and infos of the last query are exposed, deduplicated."""
    body = {
        **_matrix({"metric": {}, "values": [[1748858400, "1"]]}),
        "warnings": ["w1", "w1"],
        "infos": ["i1"],
    }
    with canned(200, body) as (server, url):
        source = PrometheusMetricSource(url, max_points=1, headers={"X-Scope-OrgID": "tenant"})
        series = _query(source)
    assert len(server.seen) == 3  # three points, one per request
    assert series.samples[0].value == 1.0
    assert series.warnings == ("w1",)  # deduplicated, carried by the answer for the protocol
    assert source.infos == ("i1",)
    assert server.seen[0][2]["X-Scope-OrgID"] == "tenant"


def test_the_request_is_what_prometheus_expects():
    """GET /api/v1/query_range with the query, exact start/end/step in seconds; POST as a form."""
    with canned(200, _matrix()) as (server, url):
        PrometheusMetricSource(url + "/prom/", method="GET").query_range(
            "up", T0, T0.add(seconds=90.5), 0.5
        )
        PrometheusMetricSource(url, method="POST").query_range("up", T0, T0.add(minutes=1), 60)
    method, path, _headers, _body = server.seen[0]
    assert method == "GET"
    assert path.startswith("/prom/api/v1/query_range?")
    assert "query=up&start=1748858400.000&end=1748858490.500&step=0.500" in path
    method, path, headers, body = server.seen[1]
    assert (method, path) == ("POST", "/api/v1/query_range")
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert body == b"query=up&start=1748858400.000&end=1748858460.000&step=60.000"


def test_units_per_query_and_default():
    """The unit recorded comes from `units` for that query, else `unit`."""
    with canned(200, _matrix()) as (_server, url):
        source = PrometheusMetricSource(url, unit="ratio", units={"up": "bool"})
        assert _query(source).query.unit == "bool"
        assert source.query_range("other", T0, T0, STEP).query.unit == "ratio"


# --------------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": " "}, "non-empty"),
        ({"method": "PUT"}, "method must be"),
        ({"max_points": 0}, "max_points"),
        ({"max_requests": True}, "max_requests"),
        ({"multiple": "median"}, "multiple must be"),
        ({"multiple": {}}, "label selector"),
        ({"multiple": {"instance": 1}}, "label selector"),
        ({"timeout": 0}, "timeout"),
        ({"token": "t", "password": "p"}, "not both"),
    ],
)
def test_bad_options_are_refused(kwargs, match):
    """Every option out of range is an InvalidInputError at construction."""
    with pytest.raises(InvalidInputError, match=match):
        PrometheusMetricSource("http://127.0.0.1:9090", **kwargs)


def test_bad_urls_are_refused():
    """Only http(s) URLs are accepted."""
    with pytest.raises(InvalidInputError, match="not an http"):
        PrometheusMetricSource("ftp://example.invalid")


@pytest.mark.parametrize(
    ("start", "end", "step", "error", "match"),
    [
        (T0, T0.subtract(seconds=1), 60, InvalidInputError, "ends"),
        (T0, T0.add(minutes=1), 0, InvalidInputError, "positive"),
        (T0, T0.add(minutes=1), 0.0001, InvalidInputError, "positive"),
        (T0, T0.add(minutes=1), math.inf, InvalidInputError, "positive"),
        (T0, T0.add(minutes=1), "60", InvalidInputError, "number of seconds"),
        (T0.naive(), T0.add(minutes=1), 60, NaiveDatetimeError, "naive"),
        (T0, T0.add(days=400), 1, InvalidInputError, "coarser step"),
    ],
)
def test_bad_windows_are_refused_before_any_request(start, end, step, error, match):
    """A reversed window, a bad step, a naive instant or too many requests: nothing is sent."""
    source = PrometheusMetricSource(f"http://127.0.0.1:{_free_port()}")
    with pytest.raises(error, match=match):
        source.query_range("up", start, end, step)


def test_a_single_instant_window_is_one_point():
    """A window whose start is its end is one evaluation, as Prometheus allows."""
    body = _matrix({"metric": {}, "values": [[1748858400, "2"]]})
    with canned(200, body) as (_server, url):
        series = PrometheusMetricSource(url).query_range("up", T0, T0, STEP)
    assert [(s.at, s.value) for s in series.samples] == [(T0, 2.0)]
    assert isinstance(series, Series)


def test_reductions_follow_promql_on_nan():
    """The sum and the mean propagate NaN; max and min skip it unless every value is NaN."""
    body = _matrix(
        {
            "metric": {"i": "a"},
            "values": [[1748858400, "NaN"], [1748858460, "NaN"], [1748858520, "1"]],
        },
        {
            "metric": {"i": "b"},
            "values": [[1748858400, "2"], [1748858460, "NaN"], [1748858520, "+Inf"]],
        },
    )
    results = {}
    with canned(200, body) as (_server, url):
        for how in ("sum", "mean", "max", "min"):
            results[how] = _query(PrometheusMetricSource(url, multiple=how))
    assert [s.value for s in results["sum"].samples] == [None, None, None]
    assert results["sum"].non_finite == 3
    assert [s.value for s in results["max"].samples] == [2.0, None, None]
    assert [s.value for s in results["min"].samples] == [2.0, None, 1.0]
    assert results["mean"].non_finite == 3


def test_many_series_are_summarised_in_the_error():
    """With more than five series the message names five and counts the rest."""
    body = _matrix(*({"metric": {"i": str(n)}, "values": []} for n in range(8)))
    with (
        canned(200, body) as (_server, url),
        pytest.raises(MalformedResponseError, match="and 3 more"),
    ):
        _query(PrometheusMetricSource(url))


def test_errors_are_source_errors_with_the_name():
    """Every failure of the source is a SourceError carrying the adapter's name."""
    with canned(200, b"garbage") as (_server, url), pytest.raises(SourceError) as caught:
        _query(PrometheusMetricSource(url, name="prom-us"))
    assert caught.value.source == "prom-us"


def test_repr_and_url():
    """The repr shows the URL (without user info), the name and the kind of credentials."""
    source = PrometheusMetricSource("http://reader:hunter22@127.0.0.1:9090/", name="p")
    assert "hunter22" not in repr(source)
    assert repr(source) == (
        "PrometheusMetricSource('http://127.0.0.1:9090', name='p', auth='basic', method='auto')"
    )
    assert source.url == "http://127.0.0.1:9090"
    assert source.name == "p"


# --------------------------------------------------------------------------- LocalPrometheus


def test_openmetrics_text_sorts_escapes_and_ends_with_eof():
    """Samples are sorted per series (promtool drops out-of-order ones), labels escaped."""
    text = openmetrics_text(
        {("m", (("path", 'a"b\\c\nd'),)): [(120, 2.0), (60, math.nan), (180.5, -math.inf)]}
    )
    assert text == (
        "# TYPE m gauge\n"
        'm{path="a\\"b\\\\c\\nd"} NaN 60.000\n'
        'm{path="a\\"b\\\\c\\nd"} 2.0 120.000\n'
        'm{path="a\\"b\\\\c\\nd"} -Inf 180.500\n'
        "# EOF\n"
    )


@pytest.mark.parametrize(
    ("series", "match"),
    [
        ([("bad-name", {}, [])], "metric name"),
        ([("m", {"__name__": "x"}, [])], "label name"),
        ([("m", {"1a": "x"}, [])], "label name"),
        ([("m", {}, []), ("m", {}, [])], "given twice"),
        ([("m", {}, [(60, 1.0), (60.0, 2.0)])], "two samples"),
        ([("m", {}, [(T0.naive(), 1.0)])], "naive"),
    ],
)
def test_openmetrics_text_refuses_what_promtool_would_mangle(series, match):
    """Invalid names, repeated series and duplicate instants are refused up front."""
    with pytest.raises(InvalidInputError, match=match):
        openmetrics_text(series)


def test_missing_executables_are_named(tmp_path):
    """A missing prometheus or promtool is a clear InvalidInputError, not a FileNotFoundError."""
    with pytest.raises(InvalidInputError, match="apt-get install prometheus"):
        LocalPrometheus([("m", {}, [(60, 1.0)])], promtool=str(tmp_path / "nope")).start()
    with pytest.raises(InvalidInputError, match="'prometheus' executable"):
        LocalPrometheus("# EOF\n", prometheus=str(tmp_path / "nope")).start()


def _data_directories(root):
    """The LocalPrometheus data directories under ``root``."""
    return sorted(root.glob("incidentkit-prometheus-*"))


def test_text_promtool_refuses_is_reported(tmp_path, monkeypatch):
    """OpenMetrics text without # EOF: promtool's own complaint is quoted, nothing is left."""
    _require_prometheus()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    server = LocalPrometheus("# TYPE m gauge\nm 1 60\n")
    with pytest.raises(InvalidInputError, match="# EOF"):
        server.start()
    assert not server.running
    assert _data_directories(tmp_path) == []
    with pytest.raises(InvalidInputError, match="no URL"):
        _ = server.url


def test_a_server_that_cannot_start_is_reported(tmp_path):
    """A prometheus that exits at once is a SourceUnavailableError quoting its output."""
    _require_prometheus()
    fake = tmp_path / "prometheus"
    fake.write_text("#!/bin/sh\necho 'cannot bind, giving up' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(SourceUnavailableError, match="cannot bind, giving up"):
        LocalPrometheus([("m", {}, [(60, 1.0)])], prometheus=str(fake)).start()


def test_a_server_that_is_never_ready_times_out(tmp_path):
    """A prometheus that never answers /-/ready is stopped after the startup timeout."""
    _require_prometheus()
    fake = tmp_path / "prometheus"
    fake.write_text("#!/bin/sh\nexec sleep 30\n")
    fake.chmod(0o755)
    server = LocalPrometheus([("m", {}, [(60, 1.0)])], prometheus=str(fake), startup_timeout=0.5)
    with pytest.raises(SourceUnavailableError, match=r"not ready within 0\.5 s"):
        server.start()
    assert not server.running


def test_exit_stops_the_server_and_removes_its_data(tmp_path, monkeypatch):
    """Leaving the block ends the process and deletes the temporary directory."""
    _require_prometheus()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with LocalPrometheus([("m", {"k": "v"}, [(T0, 1.0)])]) as server:
        (root,) = _data_directories(tmp_path)
        assert server.running
        assert (root / "data").is_dir()
        assert "running=True" in repr(server)
        series = PrometheusMetricSource(server.url).query_range("m", T0, T0, STEP)
        assert [s.value for s in series.samples] == [1.0]
        url = server.url
    assert not server.running
    assert not root.exists()
    server.close()  # twice is fine
    with pytest.raises(SourceUnavailableError):
        PrometheusMetricSource(url, timeout=1).query_range("m", T0, T0, STEP)


_TIMES = st.one_of(
    st.integers(1_700_000_000, 1_700_000_600),
    st.integers(1_700_000_000_000, 1_700_000_600_000).map(lambda ms: ms / 1000),
    st.floats(1_700_000_000, 1_700_000_600),
    st.sampled_from([True, "1700000000", None, math.nan, math.inf, 10**400]),
)
_VALUE_TEXTS = st.one_of(
    st.floats(allow_nan=False).map(repr),
    st.sampled_from(["NaN", "+Inf", "-Inf", "0", "1e-3", "0.497", "abc", 0.5, None]),
)
_PAIRS = st.one_of(
    st.tuples(_TIMES, _VALUE_TEXTS).map(list),
    st.sampled_from([[1_700_000_000], [1_700_000_000, "1", 2], (1_700_000_000, "1"), "x"]),
)


@settings(max_examples=300)
@given(
    st.one_of(
        st.lists(_PAIRS, max_size=12),
        st.lists(_TIMES, max_size=12, unique=True).map(
            lambda times: [
                [t, "1"] for t in sorted(t for t in times if isinstance(t, (int, float)))
            ]
        ),
    )
)
def test_the_columnar_parse_is_the_per_point_parse(values):
    """Where the C-level parse of a matrix series takes it, its columns are the per-point ones."""
    columns = prometheus_adapter._columns(values)
    try:
        expected = prometheus_adapter._columns_by_point(values, "series 0")
    except prometheus_adapter._BadAnswerError:
        assert columns is None  # the per-point parse names the problem
        return
    except OverflowError:  # a time beyond any float: the per-point parse fails as it always did
        assert columns is None
        return
    if columns is not None:
        assert [c.tobytes() for c in columns] == [c.tobytes() for c in expected]


def test_overlapping_answers_keep_the_first_value_at_each_instant():
    """A server whose split answers overlap: each instant keeps the value of the first answer."""
    at = int(T0.timestamp())
    first = {"metric": {}, "values": [[at, "1"], [at + 60, "2"]]}
    kept = prometheus_adapter._stitched(
        prometheus_adapter._columns(first["values"]),
        prometheus_adapter._columns([[at + 60, "9"], [at + 120.5, "3"]]),
    )
    assert kept[0].tolist() == [at, at + 60, at + 120.5]
    assert kept[1].tolist() == [1.0, 2.0, 3.0]
    next_window = prometheus_adapter._stitched(kept, prometheus_adapter._columns([[at + 180, "4"]]))
    assert next_window[1].tolist() == [1.0, 2.0, 3.0, 4.0]
