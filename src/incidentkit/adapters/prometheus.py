"""A :class:`~incidentkit.protocols.MetricSource` on the Prometheus HTTP API.

:class:`PrometheusMetricSource` runs range queries against
``/api/v1/query_range`` (Prometheus, and the servers that speak its API) and
answers with one :class:`~incidentkit.Series`:

* a window with more points than the server accepts (11,000 for Prometheus)
  is split into consecutive requests on the same evaluation grid and the
  answers are stitched back together;
* ``NaN`` and infinite values become gaps counted in
  :attr:`~incidentkit.Series.non_finite`; a missing sample stays missing;
* an expression that matches several series is an error by default, or is
  reduced by a policy (``"sum"``, ``"max"``, ``"min"``, ``"mean"``, or a
  label selector that picks one series);
* every failure is a typed :class:`~incidentkit.SourceError` whose message
  quotes Prometheus's own error and never a credential.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import operator
import os
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Final, Literal, NoReturn, TypeAlias, cast

import attrs

from incidentkit import _arguments
from incidentkit._columns import Column
from incidentkit._columns import increasing as _increasing
from incidentkit._errors import (
    InvalidInputError,
    MalformedResponseError,
    SourceError,
    SourceRequestError,
    SourceTimeoutError,
    SourceUnavailableError,
)
from incidentkit._model import MetricQuery, Series
from incidentkit.adapters import _http

__all__ = ["PrometheusMetricSource"]

Method = Literal["GET", "POST", "auto"]
"""How requests are sent: ``GET``, ``POST`` (a form) or ``auto``."""

Reduction = Literal["error", "sum", "max", "min", "mean"]
"""What to do with an answer of several series, short of a label selector."""

_PATH: Final = "/api/v1/query_range"
_ENV_TOKEN: Final = "PROMETHEUS_TOKEN"  # noqa: S105 - a variable's name, not a secret
_ENV_USERNAME: Final = "PROMETHEUS_USERNAME"
_ENV_PASSWORD: Final = "PROMETHEUS_PASSWORD"  # noqa: S105 - a variable's name
#: Prometheus answers its errors with these statuses and a JSON body that says why.
_ERROR_STATUSES: Final = frozenset({400, 422, 503})
#: Past this many characters of URL, ``method="auto"`` sends a POST form instead.
_AUTO_POST_URL_LENGTH: Final = 4096
_ERROR_EXCERPT: Final = 500
_LABEL_SETS_SHOWN: Final = 5
_REDUCTIONS: Final = frozenset({"error", "sum", "max", "min", "mean"})
_METHODS: Final = frozenset({"GET", "POST", "auto"})
_PAIR: Final = 2
_FIRST = operator.itemgetter(0)
_SECOND = operator.itemgetter(1)
_NUMBERS: Final = frozenset({int, float})
_TIMES: Callable[[float, int], float] = operator.mul

_Key: TypeAlias = tuple[tuple[str, str], ...]
"""A series' label set, sorted."""
_Columns: TypeAlias = tuple[Column, Column]
"""A series' instants (Unix seconds, whole milliseconds, strictly increasing) and values."""


def _ms(instant: dt.datetime) -> int:
    """Return ``instant`` as whole milliseconds since the epoch (Prometheus's resolution)."""
    return round(instant.timestamp() * 1000)


def _seconds_text(ms: int) -> str:
    """Return milliseconds as exact decimal seconds, as Prometheus parses them."""
    sign = "-" if ms < 0 else ""
    whole, frac = divmod(abs(ms), 1000)
    return f"{sign}{whole}.{frac:03d}"


def _positive_int(value: object, *, what: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        msg = f"{name}: {what} must be a positive whole number, not {value!r}"
        raise InvalidInputError(msg)
    return value


class _BadAnswerError(Exception):
    """A problem in an answer, turned into a MalformedResponseError with the source's name."""


def _labels_text(labels: Mapping[str, str]) -> str:
    inner = ", ".join(f"{k}={v!r}" for k, v in sorted(labels.items()))
    return "{" + inner + "}"


def _parse_value(raw: object, *, where: str) -> float:
    """Parse one sample value as Prometheus sends it: a string, ``"NaN"``, ``"+Inf"``."""
    if not isinstance(raw, str):
        msg = f"{where}: the value {raw!r} is not a string as Prometheus sends values"
        raise _BadAnswerError(msg)
    try:
        return float(raw)
    except ValueError:
        msg = f"{where}: the value {raw!r} is not a number"
        raise _BadAnswerError(msg) from None


def _parse_at(raw: object, *, where: str) -> int:
    """Parse one sample time (Unix seconds, a JSON number) into milliseconds."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
        msg = f"{where}: the time {raw!r} is not Unix seconds"
        raise _BadAnswerError(msg)
    return round(raw * 1000)


def _reduce(how: str, values: list[float]) -> float:
    """Reduce the values of several series at one instant, as PromQL's aggregations do.

    NaN propagates through ``sum`` and ``mean``; ``max`` and ``min`` skip NaN
    unless every value is NaN.
    """
    if how == "sum":
        return math.fsum(values) if all(math.isfinite(v) for v in values) else sum(values)
    if how == "mean":
        total = math.fsum(values) if all(math.isfinite(v) for v in values) else sum(values)
        return total / len(values)
    numbers = [v for v in values if not math.isnan(v)]
    if not numbers:
        return math.nan
    return max(numbers) if how == "max" else min(numbers)


def _columns(values: list[object]) -> _Columns | None:
    """A matrix series' ``values`` as columns in C-level passes, or ``None`` to look at each.

    Each item must be a ``[time, "value"]`` list, every time a number (whole seconds, as
    Prometheus writes them, go in as they are; a fraction is rounded to the millisecond),
    strictly increasing, and every value a string ``float`` reads. ``None`` when anything
    is otherwise (an error to name, or an answer out of order): the per-point parse
    names the first problem, or sorts it.
    """
    if not values:
        return array("d"), array("d")
    if set(map(type, values)) != {list} or set(map(len, cast("list[list[object]]", values))) != {
        _PAIR
    }:
        return None
    pairs = cast("list[list[object]]", values)
    raw_times = cast("list[float]", list(map(_FIRST, pairs)))
    raw_values = cast("list[str]", list(map(_SECOND, pairs)))
    if set(map(type, raw_values)) != {str}:
        return None
    kinds = set(map(type, raw_times))
    try:
        if kinds == {int}:  # whole seconds: their milliseconds divided back are themselves
            times = array("d", raw_times)
        elif kinds <= _NUMBERS:  # as the per-point parse: round(time * 1000) / 1000
            ms = map(round, map(_TIMES, raw_times, itertools.repeat(1000)))
            times = array("d", map((1000).__rtruediv__, ms))
        else:
            return None
        numbers = array("d", map(float, raw_values))
    except (ValueError, OverflowError):  # NaN or an infinity as a time, a word as a value
        return None
    return (times, numbers) if _increasing(times) else None


def _columns_by_point(values: list[object], where: str) -> _Columns:
    """The per-point parse: names the first malformed sample, sorts an answer out of order."""
    samples: dict[int, float] = {}
    for index, pair in enumerate(values):
        here = f"{where}, sample {index}"
        if not isinstance(pair, list) or len(cast("list[object]", pair)) != _PAIR:
            msg = f'{here} is {pair!r}, not a [time, "value"] pair'
            raise _BadAnswerError(msg)
        raw_at, raw_value = cast("list[object]", pair)
        at = _parse_at(raw_at, where=here)
        if at in samples:
            msg = f"{here}: two samples at {raw_at!r}"
            raise _BadAnswerError(msg)
        samples[at] = _parse_value(raw_value, where=here)
    return _sorted_columns(samples)


def _sorted_columns(samples: Mapping[int, float]) -> _Columns:
    """Samples keyed by milliseconds as columns in time order."""
    ordered = sorted(samples.items())
    return (
        array("d", (at / 1000 for at, _ in ordered)),
        array("d", map(_SECOND, ordered)),
    )


def _milliseconds(times: Column) -> list[int]:
    """The whole milliseconds of instants that were whole milliseconds divided by 1000."""
    return list(map(round, map((1000.0).__mul__, times)))


def _stitched(kept: _Columns, more: _Columns) -> _Columns:
    """One series' columns from two requests; at an instant both hold, the first answer's."""
    times, values = kept
    if not times or not more[0] or more[0][0] > times[-1]:  # the usual: the next window
        return times + more[0], values + more[1]
    samples = dict(zip(_milliseconds(times), values, strict=True))
    for at, value in zip(_milliseconds(more[0]), more[1], strict=True):
        samples.setdefault(at, value)  # a server that overlaps chunks: keep the first
    return _sorted_columns(samples)


def _reduced(how: str, several: Iterable[_Columns]) -> _Columns:
    """Several series reduced at each instant (an aggregation, per instant)."""
    grid: dict[int, list[float]] = {}
    for times, values in several:
        for at, value in zip(_milliseconds(times), values, strict=True):
            grid.setdefault(at, []).append(value)
    return _sorted_columns({at: _reduce(how, values) for at, values in grid.items()})


class PrometheusMetricSource:
    """**Implements**: :class:`~incidentkit.protocols.MetricSource`, on the Prometheus HTTP API.

    Args:
        url: The server's root, such as ``http://prometheus:9090`` (a path
            prefix such as ``https://host/prometheus`` is kept). User info
            (``https://user:pw@host``) is taken as basic-auth credentials;
            query parameters are sent with every request and their values are
            treated as secrets.
        name: The source's name, as the journal and the findings show it.
        timeout: Seconds to wait for a connection and for each answer.
        method: ``"GET"``, ``"POST"`` (a URL-encoded form, for long queries)
            or ``"auto"`` (the default): GET, unless the URL would be longer
            than 4,096 characters.
        token: A bearer token. Default: the ``PROMETHEUS_TOKEN`` environment
            variable, read when no credential is given as an argument.
        username: A basic-auth user name. Default: ``PROMETHEUS_USERNAME``.
        password: A basic-auth password. Default: ``PROMETHEUS_PASSWORD``.
        headers: Extra headers for every request (an ``X-API-Key``, an
            ``X-Scope-OrgID`` for a multi-tenant server). Every value of at
            least four characters is treated as a secret, whatever the header
            is called: masked wherever Prometheus's words reach a message or
            a warning.
        ca_file: A CA bundle to verify the server's certificate with.
        verify: Whether to verify TLS certificates (leave it on).
        unit: The unit recorded in every answer (``ratio``, ``req/s``).
        units: The unit of particular query strings; overrides ``unit``.
        max_points: The most points one request may ask for per series.
            A longer window is split into several requests.
        max_requests: The most requests one query may be split into; a
            window that needs more is refused before anything is sent.
        multiple: What to do when the expression matches several series:
            ``"error"`` (the default: a :class:`~incidentkit.MalformedResponseError`
            that names the label sets), ``"sum"``, ``"max"``, ``"min"`` or
            ``"mean"`` (reduce them at each instant, as the PromQL
            aggregations do), or a mapping of label names to values that
            picks the one series whose labels include them all.

    Raises:
        InvalidInputError: An option is out of range, the URL is not an
            ``http(s)`` URL, or both a token and a password were given.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        url: str,
        *,
        name: str = "prometheus",
        timeout: float = 10.0,
        method: Method = "auto",
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        headers: Mapping[str, str] | None = None,
        ca_file: str | None = None,
        verify: bool = True,
        unit: str = "",
        units: Mapping[str, str] | None = None,
        max_points: int = 11_000,
        max_requests: int = 100,
        multiple: Reduction | Mapping[str, str] = "error",
    ) -> None:
        self._name = name = _arguments.check_name(name)
        if method not in _METHODS:
            msg = f"{name}: method must be 'GET', 'POST' or 'auto', not {method!r}"
            raise InvalidInputError(msg)
        self._method: Method = method
        self._max_points = _positive_int(max_points, what="max_points", name=name)
        self._max_requests = _positive_int(max_requests, what="max_requests", name=name)
        self._multiple = self._check_multiple(multiple)
        self._unit = unit
        self._units = dict(units or {})
        if token is None and username is None and password is None:
            token, username, password = self._from_environment()
        self._client = _http.HttpClient(
            url,
            source=name,
            timeout=timeout,
            token=token,
            username=username,
            password=password,
            headers=headers,
            ca_file=ca_file,
            verify=verify,
        )
        self._infos: tuple[str, ...] = ()

    def _check_multiple(
        self, multiple: Reduction | Mapping[str, str]
    ) -> Reduction | dict[str, str]:
        if isinstance(multiple, Mapping):
            selector = dict(cast("Mapping[object, object]", multiple))
            if not selector or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in selector.items()
            ):
                msg = (
                    f"{self._name}: a label selector for multiple series must map label "
                    f"names to values (such as {{'instance': 'a'}}), not {multiple!r}"
                )
                raise InvalidInputError(msg)
            return cast("dict[str, str]", selector)
        if multiple not in _REDUCTIONS:
            msg = (
                f"{self._name}: multiple must be 'error', 'sum', 'max', 'min', 'mean' "
                f"or a label selector mapping, not {multiple!r}"
            )
            raise InvalidInputError(msg)
        return multiple

    def _from_environment(self) -> tuple[str | None, str | None, str | None]:
        token = os.environ.get(_ENV_TOKEN) or None
        username = os.environ.get(_ENV_USERNAME) or None
        password = os.environ.get(_ENV_PASSWORD) or None
        if token and (username or password):
            msg = (
                f"{self._name}: both {_ENV_TOKEN} and {_ENV_USERNAME}/{_ENV_PASSWORD} are set; "
                "unset one, or pass the credential to use as an argument"
            )
            raise InvalidInputError(msg)
        return token, username, password

    @property
    def name(self) -> str:
        """The source's name."""
        return self._name

    @property
    def url(self) -> str:
        """The server's root URL, without credentials and without its query."""
        return self._client.base_url

    @property
    def infos(self) -> tuple[str, ...]:
        """The informational notes of the last answer (Prometheus 2.50+ sends ``infos``)."""
        return self._infos

    def __repr__(self) -> str:
        """Show the server, the name and the kind of credentials, never the credentials."""
        return (
            f"PrometheusMetricSource({self._client.base_url!r}, name={self._name!r}, "
            f"auth={self._client.auth!r}, method={self._method!r})"
        )

    def query_range(
        self,
        query: str,
        start: dt.datetime,
        end: dt.datetime,
        step: float,
    ) -> Series:
        """Run ``query`` over ``[start, end]`` every ``step`` seconds.

        Prometheus evaluates the expression at ``start``, ``start + step``,
        ... up to ``end``. A window of more than ``max_points`` such
        instants is split into consecutive requests on the same instants,
        stitched into one series.

        Args:
            query: A PromQL expression.
            start: The window's start (timezone-aware).
            end: The window's end (timezone-aware, not before ``start``).
            step: The resolution in seconds (at least one millisecond).

        Returns:
            One series whose ``query`` records this source, the expression,
            the window, the step and the unit. Empty when the expression
            matches nothing (no data, which the protocol treats as a gap).
            NaN and infinite values are gaps counted in ``non_finite``.

        Raises:
            InvalidInputError: ``step`` is not a positive number of seconds,
                the window ends before it starts, or it needs more than
                ``max_requests`` requests.
            NaiveDatetimeError: ``start`` or ``end`` has no time zone.
            SourceRequestError: Prometheus rejected the query (``bad_data``).
            SourceTimeoutError: No answer in time, or Prometheus's own query
                timeout ran out.
            SourceUnavailableError: Unreachable, or Prometheus failed to run
                the query.
            SourceAuthError: The credentials were missing or refused.
            MalformedResponseError: The answer is not a range-query matrix,
                or it holds several series and ``multiple`` is ``"error"``
                or the selector matches more than one.

        No message quotes a credential, a header's value or a URL's query
        value, even where it quotes what Prometheus said.
        """
        return self._client.call(self._query_range, query, start, end, step)

    def _query_range(self, query: str, start: dt.datetime, end: dt.datetime, step: float) -> Series:
        first, last = _arguments.check_window(start, end, name=self._name)
        if isinstance(step, bool) or not isinstance(step, (int, float)):  # pyright: ignore[reportUnnecessaryIsInstance]
            msg = f"{self._name}: step must be a number of seconds, not {type(step).__name__}"
            raise InvalidInputError(msg)
        step_ms = round(step * 1000) if math.isfinite(step) else 0
        if step_ms < 1:
            msg = (
                f"{self._name}: step must be a positive number of seconds (>= 0.001), not {step!r}"
            )
            raise InvalidInputError(msg)
        asked = MetricQuery(
            self._name, query, first, last, float(step), self._units.get(query, self._unit)
        )
        start_ms = _ms(first)
        points = (_ms(last) - start_ms) // step_ms + 1
        requests = -(-points // self._max_points)
        if requests > self._max_requests:
            msg = (
                f"{self._name}: {query!r} over {first} to {last} every {step:g} s is {points} "
                f"points, {requests} requests of at most {self._max_points}; the limit is "
                f"{self._max_requests}: use a coarser step or a shorter window"
            )
            raise InvalidInputError(msg)
        warnings: list[str] = []
        infos: list[str] = []
        merged: dict[_Key, _Columns] = {}
        for index in range(0, points, self._max_points):
            chunk_start = start_ms + index * step_ms
            chunk_end = start_ms + (min(points, index + self._max_points) - 1) * step_ms
            form = (
                ("query", query),
                ("start", _seconds_text(chunk_start)),
                ("end", _seconds_text(chunk_end)),
                ("step", _seconds_text(step_ms)),
            )
            body = self._request(form)
            for key, columns in self._matrix(body, query, warnings, infos).items():
                kept = merged.get(key)
                merged[key] = columns if kept is None else _stitched(kept, columns)
        self._infos = tuple(dict.fromkeys(infos))
        series = self._series(asked, merged)
        # The warnings travel with the answer, so the protocol records them as gaps.
        warned = tuple(dict.fromkeys(warnings))
        return attrs.evolve(series, warnings=warned) if warned else series

    # ------------------------------------------------------------------ requests

    def _request(self, form: Sequence[tuple[str, str]]) -> dict[str, object]:
        use_post = self._method == "POST" or (
            self._method == "auto" and len(self._client.url(_PATH, form)) > _AUTO_POST_URL_LENGTH
        )
        send: Callable[..., _http.HttpResponse] = (
            self._client.post_form if use_post else self._client.get
        )
        answer = send(_PATH, form, accept_status=_ERROR_STATUSES)
        body = answer.body
        if not isinstance(body, dict):
            self._malformed(f"the answer is a JSON {type(body).__name__}, not an object")
        body = cast("dict[str, object]", body)
        status = body.get("status")
        if status == "error":
            raise self._error(body, answer.status)
        if status != "success" or answer.status != 200:  # noqa: PLR2004 - HTTP OK
            self._malformed(
                f"HTTP {answer.status} with status {status!r}; expected 'success' or 'error'"
            )
        return body

    def _error(self, body: Mapping[str, object], http_status: int) -> SourceError:
        kind = body.get("errorType")
        said = self._client.redact(str(body.get("error", "")))[:_ERROR_EXCERPT]
        where = self._client.location(_PATH)
        told = self._client.redact(
            f"{self._name}: Prometheus at {where} answered HTTP {http_status}, {kind}: {said!r}"
        )
        if kind == "bad_data":
            return SourceRequestError(
                f"{told}; it rejected the request: check the PromQL expression, the window "
                "and the step",
                source=self._name,
            )
        if kind == "timeout":
            return SourceTimeoutError(
                f"{told}; the query ran out of Prometheus's own query timeout: simplify it "
                "(fewer series, a shorter range in its [..] selectors), narrow the window or "
                "use a coarser step",
                source=self._name,
            )
        return SourceUnavailableError(
            f"{told}; Prometheus could not run the query: check its health and logs, or "
            "ask for less (fewer series, a shorter window, a coarser step)",
            source=self._name,
        )

    def _malformed(self, problem: str) -> NoReturn:
        msg = (
            f"{self._name}: unexpected answer from {self._client.location(_PATH)}: {problem}. "
            "Check that the URL points at a Prometheus-compatible API"
        )
        raise MalformedResponseError(self._client.redact(msg), source=self._name)

    # ------------------------------------------------------------------ parsing

    def _matrix(
        self,
        body: Mapping[str, object],
        query: str,
        warnings: list[str],
        infos: list[str],
    ) -> dict[_Key, _Columns]:
        for field, into in (("warnings", warnings), ("infos", infos)):
            notes = body.get(field)
            if isinstance(notes, list):
                into.extend(self._client.redact(str(n)) for n in cast("list[object]", notes))
        data = body.get("data")
        if not isinstance(data, dict):
            self._malformed("'data' is missing or not an object")
        data = cast("dict[str, object]", data)
        kind = data.get("resultType")
        if kind != "matrix":
            self._malformed(
                f"resultType is {kind!r}, not 'matrix' (is this a range-query endpoint?)"
            )
        result = data.get("result")
        if not isinstance(result, list):
            self._malformed("'data.result' is missing or not a list")
        found: dict[_Key, _Columns] = {}
        for position, item in enumerate(cast("list[object]", result)):
            where = f"series {position} of {query!r}"
            try:
                key, samples = self._one_series(item, where)
            except _BadAnswerError as exc:
                self._malformed(str(exc))
            if key in found:
                self._malformed(f"{where}: the label set {_labels_text(dict(key))} appears twice")
            found[key] = samples
        return found

    @staticmethod
    def _one_series(item: object, where: str) -> tuple[_Key, _Columns]:
        if not isinstance(item, dict):
            msg = f"{where} is a {type(item).__name__}, not an object"
            raise _BadAnswerError(msg)
        series = cast("dict[str, object]", item)
        labels = series.get("metric")
        if not isinstance(labels, dict) or not all(
            isinstance(k, str) and isinstance(v, str)
            for k, v in cast("dict[object, object]", labels).items()
        ):
            msg = f"{where}: 'metric' is missing or not an object of label strings"
            raise _BadAnswerError(msg)
        if series.get("histograms"):
            msg = (
                f"{where} holds native histograms, which a series of numbers cannot carry; "
                "query a number from them (histogram_quantile, histogram_count)"
            )
            raise _BadAnswerError(msg)
        values = series.get("values", [] if "histograms" in series else None)
        if not isinstance(values, list):
            msg = f"{where}: 'values' is missing or not a list"
            raise _BadAnswerError(msg)
        key = tuple(sorted(cast("dict[str, str]", labels).items()))
        return key, _columns(cast("list[object]", values)) or _columns_by_point(
            cast("list[object]", values), where
        )

    def _series(self, asked: MetricQuery, merged: Mapping[_Key, _Columns]) -> Series:
        if not merged:
            return Series(asked, ())
        if len(merged) == 1:
            (chosen,) = merged.values()
        elif isinstance(self._multiple, dict):
            chosen = self._select(asked, merged, self._multiple)
        elif self._multiple == "error":
            self._several(asked, list(merged))
        else:
            chosen = _reduced(self._multiple, merged.values())
        try:
            return Series.from_columns(asked, *chosen)
        except InvalidInputError as exc:  # an instant out of range
            self._malformed(str(exc))

    def _select(
        self, asked: MetricQuery, merged: Mapping[_Key, _Columns], selector: Mapping[str, str]
    ) -> _Columns:
        matching = [k for k in merged if all(dict(k).get(n) == v for n, v in selector.items())]
        if len(matching) > 1:
            self._several(asked, matching, selector=selector)
        return merged[matching[0]] if matching else (array("d"), array("d"))

    def _several(
        self,
        asked: MetricQuery,
        keys: list[_Key],
        *,
        selector: Mapping[str, str] | None = None,
    ) -> NoReturn:
        shown = "; ".join(_labels_text(dict(k)) for k in keys[:_LABEL_SETS_SHOWN])
        more = f" and {len(keys) - _LABEL_SETS_SHOWN} more" if len(keys) > _LABEL_SETS_SHOWN else ""
        picked = f" the selector {_labels_text(selector)} picks" if selector else ""
        msg = (
            f"{self._name}: {asked.query!r} matched {len(keys)} series where one was "
            f"expected;{picked} {shown}{more}. Aggregate them in PromQL (sum(...), "
            "max(...), or sum by (...) with a selector) or pass multiple='sum'/'max'/'min'/"
            "'mean', or multiple={label: value} to pick one"
        )
        raise MalformedResponseError(msg, source=self._name)
