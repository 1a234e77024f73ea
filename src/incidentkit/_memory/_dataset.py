"""Datasets: one scenario's data, and its JSON file format ``incidentkit.dataset/1``."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sized
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

import attrs
import cattrs
import pendulum
from cattrs.errors import ForbiddenExtraKeysError

from incidentkit._errors import InvalidInputError, NaiveDatetimeError
from incidentkit._memory._adapters import (
    InMemoryChangeSource,
    InMemoryDependencyStatusSource,
    InMemoryDeploySource,
    InMemoryMetricSource,
    InMemoryRollbackExecutor,
    kind_list,
    names_of,
)
from incidentkit._model import (
    DEPENDENCY_KINDS,
    DEPLOY_KINDS,
    INFRASTRUCTURE_KINDS,
    Change,
    ChangeKind,
)
from incidentkit._time import format_instant, parse_instant, to_instant
from incidentkit.adapters._fields import Problems, json_type, member_path

if TYPE_CHECKING:
    import os

__all__ = ["DATASET_FORMAT", "Dataset", "MetricData", "dump_dataset", "load_dataset"]

DATASET_FORMAT: Final = "incidentkit.dataset/1"
"""The ``format`` value of the dataset files this version reads and writes.

.. versionadded:: 0.1.0
"""


_SOURCE_KEYS: Final = ("deploys", "infrastructure", "dependencies", "metrics", "rollback")
_DEFAULT_NAMES: Final[Mapping[str, str]] = {
    "deploys": "memory-deploys",
    "infrastructure": "memory-infrastructure",
    "dependencies": "memory-dependencies",
    "metrics": "memory-metrics",
    "rollback": "memory-rollback",
}
_TOP_LEVEL_KEYS: Final = (
    "format",
    "description",
    "scenario",
    "sources",
    "changes",
    "metrics",
    "live_versions",
    "auto_synced",
)
_INSTANT_EXAMPLE: Final = "2026-11-20T14:02:00Z"


def _count_repr(what: str) -> Callable[[Sized], str]:
    """Return an attrs field repr that shows only how many items there are."""
    return lambda value: f"<{len(value)} {what}>"


def _metric_value(raw: object) -> float | None:
    """Return a sample value as a float (NaN and infinities kept) or ``None``.

    Raises:
        InvalidInputError: The value is not a number, a numeric string or ``None``.
    """
    expected = 'expected a number, a numeric string such as "0.5" or "NaN", or null for a gap'
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        msg = f"{expected}, got {json_type(raw)}"
        raise InvalidInputError(msg)
    try:
        value = float(raw)
    except ValueError:
        msg = f"{json.dumps(raw)} is not a number; {expected}"
        raise InvalidInputError(msg) from None
    # One NaN object for all: containers compare items by identity first, so two
    # datasets holding the same NaN samples compare equal (a dump and load round trip).
    return math.nan if math.isnan(value) else value


def _metric_samples(
    pairs: Iterable[tuple[dt.datetime | float, float | str | None]],
) -> tuple[tuple[pendulum.DateTime, float | None], ...]:
    samples: list[tuple[pendulum.DateTime, float | None]] = []
    for position, pair in enumerate(pairs):
        try:
            at, value = pair
        except (TypeError, ValueError):
            msg = f"sample {position}: expected an (instant, value) pair, got {pair!r}"
            raise InvalidInputError(msg) from None
        samples.append((to_instant(at, what=f"sample {position}"), _metric_value(value)))
    samples.sort(key=lambda sample: sample[0])
    for before, after in itertools.pairwise(samples):
        if before[0] == after[0]:
            msg = f"two samples at the same instant {after[0]}"
            raise InvalidInputError(msg)
    return tuple(samples)


@attrs.frozen
class MetricData:
    """The samples of one metric query in a :class:`Dataset`, with their unit.

    Attributes:
        samples: ``(instant, value)`` pairs sorted by time; ``None`` is a
            missing sample, NaN and infinities are kept (the metric source
            turns them into gaps and counts them).
        unit: The values' unit (``ratio``, ``req/s``, ``s``).

    .. versionadded:: 0.1.0
    """

    samples: tuple[tuple[pendulum.DateTime, float | None], ...] = attrs.field(
        converter=_metric_samples, repr=_count_repr("samples")
    )
    unit: str = ""


def _check_source_names(_instance: object, _attribute: object, value: Mapping[str, str]) -> None:
    unknown = sorted(set(value) - set(_SOURCE_KEYS))
    if unknown:
        msg = f"unknown source role(s) {', '.join(unknown)}; expected {', '.join(_SOURCE_KEYS)}"
        raise InvalidInputError(msg)


def _sorted_changes(changes: Iterable[Change]) -> tuple[Change, ...]:
    kept = tuple(changes)
    for position, change in enumerate(kept):
        if not isinstance(change, Change):  # pyright: ignore[reportUnnecessaryIsInstance]
            msg = f"changes[{position}] is {type(change).__name__}, not a Change record"
            raise InvalidInputError(msg)
    return tuple(sorted(kept, key=lambda c: (c.started, c.id)))


def _str_map(mapping: Mapping[str, str]) -> dict[str, str]:
    return dict(mapping)


def _metric_map(mapping: Mapping[str, MetricData]) -> dict[str, MetricData]:
    return dict(mapping)


@attrs.frozen(kw_only=True)
class Dataset:
    """Everything one scenario needs: changes, metrics, live versions, and notes.

    Read one from a JSON file with :func:`load_dataset` (or from parsed JSON
    with :meth:`from_dict`), or build one in Python. Each ``*_source()``
    method builds a fresh in-memory adapter from it.

    Attributes:
        description: What the dataset is, for people.
        scenario: Free-form facts about the scenario (a title, the instants
            the story needs); :meth:`scenario_instant` reads an instant.
        sources: The adapters' names by role (``deploys``,
            ``infrastructure``, ``dependencies``, ``metrics``, ``rollback``);
            a role not named keeps the in-memory default name.
        changes: Every change of every kind, sorted by start.
        metrics: The samples of each metric query, by query string.
        live_versions: The version of each target live at the dataset's end
            (before any rollback is carried out).
        auto_synced: The targets an automated sync manages.

    .. versionadded:: 0.1.0
    """

    description: str = ""
    scenario: Mapping[str, str] = attrs.field(factory=dict[str, str], converter=_str_map)
    sources: Mapping[str, str] = attrs.field(
        factory=dict[str, str], converter=_str_map, validator=_check_source_names
    )
    changes: tuple[Change, ...] = attrs.field(default=(), converter=_sorted_changes)
    metrics: Mapping[str, MetricData] = attrs.field(
        factory=dict[str, MetricData], converter=_metric_map, repr=_count_repr("series")
    )
    live_versions: Mapping[str, str] = attrs.field(factory=dict[str, str], converter=_str_map)
    auto_synced: tuple[str, ...] = attrs.field(default=(), converter=names_of)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Dataset:
        """Build a dataset from parsed JSON in the ``incidentkit.dataset/1`` format.

        Args:
            data: The JSON object, as :func:`json.load` returns it.

        Returns:
            The dataset.

        Raises:
            InvalidInputError: The data does not follow the format; the message
                names the JSON path of every problem (``changes[3].started``)
                and what was expected there.
        """
        return _parse_dataset(data, origin="dataset")

    def to_dict(self) -> dict[str, Any]:
        """Return the dataset as a JSON object in the ``incidentkit.dataset/1`` format.

        A regular series (constant spacing) is written compactly as
        ``start``, ``step`` and ``values``; any other as ``samples``.
        """
        return {
            "format": DATASET_FORMAT,
            "description": self.description,
            "scenario": dict(self.scenario),
            "sources": dict(self.sources),
            "changes": [_CONVERTER.unstructure(c, Change) for c in self.changes],
            "metrics": {query: _dump_metric(data) for query, data in self.metrics.items()},
            "live_versions": dict(self.live_versions),
            "auto_synced": list(self.auto_synced),
        }

    def scenario_instant(self, key: str) -> pendulum.DateTime:
        """Return ``scenario[key]`` read as an instant.

        Raises:
            InvalidInputError: The scenario has no such key, or its value is
                not an ISO 8601 instant with a UTC offset.
        """
        if key not in self.scenario:
            known = ", ".join(sorted(self.scenario)) or "nothing"
            msg = f"the dataset's scenario has no {key!r}; it has {known}"
            raise InvalidInputError(msg)
        try:
            return _instant_from_text(self.scenario[key])
        except InvalidInputError as exc:
            msg = f"scenario.{key}: {exc}"
            raise type(exc)(msg) from exc

    def _name(self, role: str) -> str:
        return self.sources.get(role) or _DEFAULT_NAMES[role]

    def deploy_source(self) -> InMemoryDeploySource:
        """Return a deploy source with the dataset's deploy, config and flag changes."""
        return InMemoryDeploySource(
            (c for c in self.changes if c.kind in DEPLOY_KINDS), name=self._name("deploys")
        )

    def change_source(self) -> InMemoryChangeSource:
        """Return an infrastructure-change source with the dataset's infrastructure changes."""
        return InMemoryChangeSource(
            (c for c in self.changes if c.kind in INFRASTRUCTURE_KINDS),
            name=self._name("infrastructure"),
        )

    def dependency_source(self) -> InMemoryDependencyStatusSource:
        """Return a dependency-status source with the dataset's dependency incidents."""
        return InMemoryDependencyStatusSource(
            (c for c in self.changes if c.kind in DEPENDENCY_KINDS),
            name=self._name("dependencies"),
        )

    def metric_source(self) -> InMemoryMetricSource:
        """Return a metric source with the dataset's series and units."""
        return InMemoryMetricSource(
            {query: data.samples for query, data in self.metrics.items()},
            name=self._name("metrics"),
            units={query: data.unit for query, data in self.metrics.items()},
        )

    def rollback_executor(self, *, supports_dry_run: bool = True) -> InMemoryRollbackExecutor:
        """Return a new rollback executor on a fresh copy of the live versions.

        It knows the dataset's changes, so that, built after a resume, it
        accepts the options it would offer now for them.

        Args:
            supports_dry_run: Whether the executor can rehearse its options.
        """
        return InMemoryRollbackExecutor(
            live_versions=self.live_versions,
            name=self._name("rollback"),
            supports_dry_run=supports_dry_run,
            auto_synced=self.auto_synced,
            changes=self.changes,
        )


def load_dataset(path: str | os.PathLike[str]) -> Dataset:
    """Read a dataset from a JSON file in the ``incidentkit.dataset/1`` format.

    Args:
        path: The file to read (UTF-8 JSON).

    Returns:
        The dataset.

    Raises:
        InvalidInputError: The file does not exist or cannot be read, is not
            JSON, or does not follow the format; the message names the file,
            the JSON path of every problem and what was expected there.

    .. versionadded:: 0.1.0
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = f"dataset file {file} does not exist"
        raise InvalidInputError(msg) from None
    except UnicodeDecodeError as exc:
        msg = f"dataset file {file} is not UTF-8 text: {exc}"
        raise InvalidInputError(msg) from None
    except OSError as exc:
        msg = f"cannot read dataset file {file}: {exc.strerror or exc}"
        raise InvalidInputError(msg) from exc
    try:
        data = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        msg = (
            f"dataset file {file} is not valid JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}"
        )
        raise InvalidInputError(msg) from None
    except _JSONProblemError as exc:
        msg = f"dataset file {file} is not valid JSON: {exc}"
        raise InvalidInputError(msg) from None
    return _parse_dataset(data, origin=f"dataset file {file}")


def dump_dataset(dataset: Dataset, path: str | os.PathLike[str]) -> None:
    """Write ``dataset`` to a JSON file that :func:`load_dataset` reads back equal.

    Args:
        dataset: The dataset to write.
        path: The file to create or replace (UTF-8 JSON).

    .. versionadded:: 0.1.0
    """
    text = json.dumps(dataset.to_dict(), indent=2, ensure_ascii=False, allow_nan=False)
    Path(path).write_text(text + "\n", encoding="utf-8")


class _JSONProblemError(ValueError):
    """Something the standard JSON parser accepts but the format does not."""


def _reject_constant(name: str) -> object:
    msg = f"{name} is not JSON; write it as the string {_nonfinite_text(float(name))!r}"
    raise _JSONProblemError(msg)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            msg = f"the key {key!r} appears twice in one object"
            raise _JSONProblemError(msg)
        result[key] = value
    return result


def _nonfinite_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "+Inf" if value > 0 else "-Inf"


def _instant_from_text(text: str) -> pendulum.DateTime:
    """Parse an ISO 8601 instant, with messages written for a file's author."""
    try:
        return parse_instant(text)
    except NaiveDatetimeError:
        msg = (
            f"naive datetime {text!r}: an instant needs a UTC offset, "
            f"e.g. {_INSTANT_EXAMPLE!r} or '2026-11-20T15:02:00+01:00'"
        )
        raise NaiveDatetimeError(msg) from None
    except InvalidInputError as exc:
        msg = f"{exc}; expected e.g. {_INSTANT_EXAMPLE!r}"
        raise InvalidInputError(msg) from None


def _structure_instant(value: object, _: object) -> pendulum.DateTime:
    if not isinstance(value, str):
        msg = (
            f"expected an ISO 8601 instant as a string (e.g. {_INSTANT_EXAMPLE!r}), "
            f"got {json_type(value)}"
        )
        raise InvalidInputError(msg)
    return _instant_from_text(value)


def _structure_str(value: object, _: object) -> str:
    if not isinstance(value, str):
        msg = f"expected a string, got {json_type(value)}"
        if isinstance(value, (bool, int, float)):
            msg += f" (write it in quotes: {json.dumps(json.dumps(value))})"
        raise InvalidInputError(msg)
    return value


def _structure_kind(value: object, _: object) -> ChangeKind:
    try:
        return ChangeKind(value)
    except ValueError:
        msg = f"{value!r} is not a change kind; expected one of {kind_list(ChangeKind)}"
        raise InvalidInputError(msg) from None


def _format(instant: pendulum.DateTime) -> str:
    """Write an instant in UTC, with microseconds only if it has any."""
    return (
        format_instant(instant) if instant.microsecond else instant.strftime("%Y-%m-%dT%H:%M:%SZ")
    )


def _make_converter() -> cattrs.Converter:
    """Build the converter for the dataset's changes: strict strings, strict instants."""
    conv = cattrs.Converter(forbid_extra_keys=True)
    conv.register_structure_hook(pendulum.DateTime, _structure_instant)
    conv.register_unstructure_hook(pendulum.DateTime, _format)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(ChangeKind, _structure_kind)
    return conv


_CONVERTER: Final = _make_converter()


def _describe_error(exc: BaseException, type_: type | None) -> str:
    """Describe one error cattrs met in a change, for the file's author."""
    if isinstance(exc, InvalidInputError):
        return str(exc)
    if isinstance(exc, ForbiddenExtraKeysError):
        known = ", ".join(a.name for a in attrs.fields(Change))
        unknown = ", ".join(sorted(exc.extra_fields))
        return f"unknown field(s) {unknown}; a change has only: {known}"
    if isinstance(exc, KeyError):
        return "required field missing"
    if isinstance(exc, AttributeError) and str(exc).endswith("has no attribute 'items'"):
        return "expected an object"
    return cattrs.v.format_exception(exc, type_)


def _parse_dataset(data: object, *, origin: str) -> Dataset:
    if not isinstance(data, dict):
        msg = f"invalid {origin}: the top level must be a JSON object, not {json_type(data)}"
        raise InvalidInputError(msg)
    top: dict[str, Any] = data  # pyright: ignore[reportUnknownVariableType]
    reader = Problems()
    if "format" not in top:
        reader.add("format", f"missing; expected {DATASET_FORMAT!r}")
    elif top["format"] != DATASET_FORMAT:
        reader.add(
            "format",
            f"{top['format']!r} is not a format this version of incidentkit reads; "
            f"expected {DATASET_FORMAT!r}",
        )
    reader.raise_if_any(origin)  # a different format would only add noise below
    for key in top:
        if key not in _TOP_LEVEL_KEYS:
            reader.add(key, f"unknown field; a dataset has only: {', '.join(_TOP_LEVEL_KEYS)}")
    description = reader.text(top.get("description", ""), "description")
    scenario = reader.text_map(top.get("scenario", {}), "scenario")
    sources = reader.text_map(top.get("sources", {}), "sources")
    for role, source_name in sources.items():
        if role not in _SOURCE_KEYS:
            reader.add(
                member_path("sources", role), f"unknown role; expected {', '.join(_SOURCE_KEYS)}"
            )
        elif not source_name.strip():
            reader.add(member_path("sources", role), "a source's name must not be empty")
    changes = _parse_changes(top.get("changes", []), reader)
    metrics = _parse_metrics(top.get("metrics", {}), reader)
    live_versions = reader.text_map(top.get("live_versions", {}), "live_versions")
    auto_synced = reader.text_list(top.get("auto_synced", []), "auto_synced")
    reader.raise_if_any(origin)
    return Dataset(
        description=description,
        scenario=scenario,
        sources=sources,
        changes=changes,
        metrics=metrics,
        live_versions=live_versions,
        auto_synced=auto_synced,
    )


def _parse_changes(value: object, reader: Problems) -> list[Change]:
    changes: list[Change] = []
    first_seen: dict[str, int] = {}
    for position, raw in enumerate(reader.json_list(value, "changes")):
        path = f"changes[{position}]"
        if reader.json_object(raw, path) is None:
            continue
        try:
            change = _CONVERTER.structure(raw, Change)
        except (cattrs.ClassValidationError, cattrs.IterableValidationError) as exc:
            for message in cattrs.transform_error(exc, path, _describe_error):
                text, _, where = message.rpartition(" @ ")
                reader.add(where, text)
            continue
        if change.id in first_seen:
            reader.add(
                f"{path}.id",
                f"the id {change.id!r} is already used by changes[{first_seen[change.id]}]; "
                "ids must be unique",
            )
            continue
        first_seen[change.id] = position
        changes.append(change)
    return changes


def _parse_metrics(value: object, reader: Problems) -> dict[str, MetricData]:
    metrics: dict[str, MetricData] = {}
    for query, raw in (reader.json_object(value, "metrics") or {}).items():
        path = member_path("metrics", query)
        spec = reader.json_object(raw, path)
        if spec is None:
            continue
        before = len(reader)
        unit = reader.text(spec.get("unit", ""), member_path(path, "unit"))
        if "samples" in spec:
            pairs = _parse_samples(spec, path, reader)
        elif any(key in spec for key in _COMPACT_KEYS):
            pairs = _parse_compact(spec, path, reader)
        else:
            reader.add(
                path,
                'expected either "samples": [[instant, value], ...] or "start", "step" '
                'and "values" for a regular series',
            )
            continue
        if len(reader) > before:
            continue
        try:
            metrics[query] = MetricData(samples=pairs, unit=unit)
        except InvalidInputError as exc:
            reader.add(path, str(exc))
    return metrics


_COMPACT_KEYS: Final = ("start", "step", "values")


def _unexpected_keys(
    spec: dict[str, Any], allowed: tuple[str, ...], path: str, reader: Problems
) -> None:
    for key in spec:
        if key not in allowed:
            reader.add(
                member_path(path, key),
                f"unexpected field; with these fields a metric has only: {', '.join(allowed)}",
            )


def _parse_samples(
    spec: dict[str, Any], path: str, reader: Problems
) -> list[tuple[pendulum.DateTime, float | None]]:
    """Read the ``samples`` encoding: ``[[instant, value], ...]``."""
    _unexpected_keys(spec, ("unit", "samples"), path, reader)
    pairs: list[tuple[pendulum.DateTime, float | None]] = []
    samples_path = member_path(path, "samples")
    for position, pair in enumerate(reader.json_list(spec["samples"], samples_path)):
        where = f"{samples_path}[{position}]"
        if not isinstance(pair, list) or len(cast("list[object]", pair)) != 2:  # noqa: PLR2004
            reader.add(where, f"expected a pair [instant, value], got {json.dumps(pair)}")
            continue
        raw_at, raw_value = cast("list[object]", pair)
        at = _parse_sample_instant(raw_at, f"{where}[0]", reader)
        ok, value = _parse_sample_value(raw_value, f"{where}[1]", reader)
        if at is not None and ok:
            pairs.append((at, value))
    return pairs


def _parse_compact(
    spec: dict[str, Any], path: str, reader: Problems
) -> list[tuple[pendulum.DateTime, float | None]]:
    """Read the regular encoding: ``start``, ``step`` (seconds) and ``values``."""
    _unexpected_keys(spec, ("unit", *_COMPACT_KEYS), path, reader)
    missing = [key for key in _COMPACT_KEYS if key not in spec]
    for key in missing:
        reader.add(member_path(path, key), "required field missing")
    if missing:
        return []
    start = _parse_sample_instant(spec["start"], member_path(path, "start"), reader)
    step: object = spec["step"]
    if (
        isinstance(step, bool)
        or not isinstance(step, (int, float))
        or not (math.isfinite(step) and step > 0)
    ):
        reader.add(
            member_path(path, "step"), f"expected a positive number of seconds, got {step!r}"
        )
        step = None
    pairs: list[tuple[pendulum.DateTime, float | None]] = []
    values_path = member_path(path, "values")
    for position, raw in enumerate(reader.json_list(spec["values"], values_path)):
        ok, value = _parse_sample_value(raw, f"{values_path}[{position}]", reader)
        if start is not None and isinstance(step, (int, float)) and ok:
            at = start + dt.timedelta(microseconds=round(position * step * 1_000_000))
            pairs.append((at, value))
    return pairs


def _parse_sample_instant(raw: object, path: str, reader: Problems) -> pendulum.DateTime | None:
    try:
        if isinstance(raw, str):
            return _instant_from_text(raw)
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return to_instant(raw, what="instant")
    except InvalidInputError as exc:
        reader.add(path, str(exc))
        return None
    reader.add(
        path,
        f"expected Unix seconds or an ISO 8601 instant such as {_INSTANT_EXAMPLE!r}, "
        f"got {json_type(raw)}",
    )
    return None


def _parse_sample_value(raw: object, path: str, reader: Problems) -> tuple[bool, float | None]:
    """Return ``(True, value)``, or ``(False, None)`` after recording the problem."""
    try:
        return True, _metric_value(raw)
    except InvalidInputError as exc:
        reader.add(path, str(exc))
        return False, None


def _dump_value(value: float | None) -> float | str | None:
    if value is None or math.isfinite(value):
        return value
    return _nonfinite_text(value)


def _dump_metric(data: MetricData) -> dict[str, Any]:
    samples = data.samples
    if len(samples) >= 3:  # noqa: PLR2004 - shorter series read better as pairs
        start = samples[0][0]
        delta = samples[1][0] - start
        step_us = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        step = step_us / 1_000_000
        regular = all(
            at == start + dt.timedelta(microseconds=round(i * step * 1_000_000))
            for i, (at, _) in enumerate(samples)
        )
        if regular:
            return {
                "unit": data.unit,
                "start": _format(start),
                "step": int(step) if step.is_integer() else step,
                "values": [_dump_value(v) for _, v in samples],
            }
    return {
        "unit": data.unit,
        "samples": [[_format(at), _dump_value(v)] for at, v in samples],
    }
