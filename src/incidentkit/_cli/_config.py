"""The configuration file: sources, executors and metrics, by the names the commands use.

A TOML file (read with the standard library's :mod:`tomllib`, or ``tomli`` on
Python 3.10) holds three tables::

    [sources.prometheus]  # a source, by the name commands use
    adapter = "prometheus"  # an installed adapter (entry point)
    url = "https://prometheus.example.com"
    token_env = "PROMETHEUS_TOKEN"  # a secret: the variable that holds it

    [sources.deploys]
    dataset = "data/checkout_outage.json"  # an in-memory adapter of a dataset
    role = "deploys"

    [executors.rollback]
    dataset = "data/checkout_outage.json"

    [metrics.errors]
    source = "prometheus"
    query = "sum(rate(errors[5m])) / sum(rate(requests[5m]))"
    unit = "ratio"

Every other key of an ``adapter`` entry is passed to the adapter's class as
a keyword argument. A secret is never written in the file: a key ending in
``_env`` (``token_env = "GITHUB_TOKEN"``) or a value ``{ env = "NAME" }``
names the environment variable to read it from when the adapter is built,
and a literal value under a key named like a credential is refused. The
values read from the environment are kept in :class:`Secrets`, which masks
them in everything the command prints.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal, cast

import attrs

from incidentkit._cli._errors import CliError
from incidentkit._errors import IncidentkitError
from incidentkit._redact import mask_secrets
from incidentkit._specs import Metric
from incidentkit.protocols import (
    ChangeSource,
    DependencyStatusSource,
    DeploySource,
    MetricSource,
    RollbackExecutor,
)

if TYPE_CHECKING:
    from incidentkit._memory._dataset import Dataset

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CONFIG",
    "SOURCE_ROLES",
    "AdapterEntry",
    "Adapters",
    "Config",
    "EnvRef",
    "MetricEntry",
    "Secrets",
    "find_config",
    "load_config",
]

CONFIG_ENV: Final = "INCIDENTKIT_CONFIG"
"""The environment variable naming the configuration file."""

DEFAULT_CONFIG: Final = "incidentkit.toml"
"""The file read from the current directory when no other is named."""

SourceRole = Literal["deploys", "infrastructure", "dependencies", "metrics"]
SOURCE_ROLES: Final[tuple[SourceRole, ...]] = (
    "deploys",
    "infrastructure",
    "dependencies",
    "metrics",
)
"""The roles a source plays: what ``gather`` asks it for, or ``metrics``."""

_RESERVED: Final = frozenset({"adapter", "dataset", "role"})
_SECRET_WORDS: Final = (
    "token",
    "password",
    "passwd",
    "secret",
    "credential",
    "apikey",
    "api_key",
    "api-key",
    "private_key",
    "private-key",
    "authorization",
    "cookie",
)
_VARIABLE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _secret_key(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_WORDS)


@attrs.frozen
class EnvRef:
    """A value to read from the environment when the adapter is built."""

    variable: str

    def __str__(self) -> str:
        """Return ``$NAME``: what the configuration's echo shows, never the value."""
        return f"${self.variable}"


@attrs.frozen
class AdapterEntry:
    """One ``[sources.NAME]`` or ``[executors.NAME]`` table of the configuration."""

    table: Literal["sources", "executors"]
    name: str
    adapter: str | None
    dataset: Path | None
    role: SourceRole | None
    options: Mapping[str, object]

    @property
    def where(self) -> str:
        """The table's header, for messages: ``[sources.prometheus]``."""
        return f"[{self.table}.{self.name}]"


@attrs.frozen
class MetricEntry:
    """One ``[metrics.NAME]`` table: a query on a configured metric source."""

    name: str
    source: str
    query: str
    unit: str
    step: float


@attrs.frozen
class Config:
    """A configuration file, read and checked (nothing built, no variable read yet)."""

    path: Path | None
    sources: Mapping[str, AdapterEntry]
    executors: Mapping[str, AdapterEntry]
    metrics: Mapping[str, MetricEntry]


def find_config(explicit: str | None) -> Path | None:
    """Return the file to read: ``--config``, ``$INCIDENTKIT_CONFIG`` or ``./incidentkit.toml``."""
    if explicit:
        return Path(explicit)
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        return Path(from_env)
    default = Path(DEFAULT_CONFIG)
    return default if default.is_file() else None


def _toml_loads(text: str) -> dict[str, object]:
    """Parse TOML with the standard library (``tomli`` before Python 3.11)."""
    module = importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")
    loads = cast("Callable[[str], dict[str, object]]", module.loads)
    return loads(text)


def load_config(path: Path | None) -> Config:
    """Read and check a configuration file; ``None`` is the empty configuration.

    Raises:
        CliError: The file cannot be read, is not TOML, or does not follow the format.
    """
    if path is None:
        return Config(None, {}, {}, {})
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(f"the configuration file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read the configuration file {path}: {exc}") from None
    try:
        data = _toml_loads(text)
    except ValueError as exc:  # tomllib.TOMLDecodeError is a ValueError
        raise CliError(f"{path} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"sources", "executors", "metrics"})
    if unknown:
        raise CliError(
            f"{path}: unknown table(s) {', '.join(unknown)}; a configuration has "
            "[sources.NAME], [executors.NAME] and [metrics.NAME] tables"
        )
    base = path.parent
    sources = {
        name: _adapter_entry("sources", name, value, base)
        for name, value in _tables(data, "sources", path).items()
    }
    executors = {
        name: _adapter_entry("executors", name, value, base)
        for name, value in _tables(data, "executors", path).items()
    }
    metrics = {
        name: _metric_entry(name, value, sources)
        for name, value in _tables(data, "metrics", path).items()
    }
    return Config(path, sources, executors, metrics)


def _tables(data: Mapping[str, object], key: str, path: Path) -> dict[str, dict[str, object]]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise CliError(f"{path}: {key} must be a table of tables ([{key}.NAME])")
    tables: dict[str, dict[str, object]] = {}
    for name, table in cast("dict[str, object]", value).items():
        if not _NAME.fullmatch(name):
            raise CliError(
                f"{path}: [{key}.{name}]: a name is 1 to 64 letters, digits, '.', '_' or '-'"
            )
        if not isinstance(table, dict):
            raise CliError(f"{path}: {key}.{name} must be a table ([{key}.{name}])")
        tables[name] = cast("dict[str, object]", table)
    return tables


def _adapter_entry(
    table: Literal["sources", "executors"], name: str, data: Mapping[str, object], base: Path
) -> AdapterEntry:
    where = f"[{table}.{name}]"
    adapter = data.get("adapter")
    dataset = data.get("dataset")
    if (adapter is None) == (dataset is None):
        raise CliError(
            f'{where}: give either adapter = "NAME" (an installed adapter) or '
            'dataset = "PATH" (the in-memory adapters of a dataset file), and only one'
        )
    if adapter is not None and not (isinstance(adapter, str) and adapter):
        raise CliError(f'{where}: adapter must be an adapter\'s name, such as "prometheus"')
    if dataset is not None and not (isinstance(dataset, str) and dataset):
        raise CliError(f"{where}: dataset must be the path of a dataset file")
    role = data.get("role")
    if table == "executors" and role is not None:
        raise CliError(f"{where}: an executor has no role (it rolls back)")
    if role is not None and role not in SOURCE_ROLES:
        raise CliError(f"{where}: role must be one of {', '.join(SOURCE_ROLES)}, not {role!r}")
    if table == "sources" and dataset is not None and role is None:
        raise CliError(
            f"{where}: which of the dataset's sources? role = one of {', '.join(SOURCE_ROLES)}"
        )
    options = {key: value for key, value in data.items() if key not in _RESERVED}
    resolved = _references(options, where)
    if dataset is not None:
        allowed = {"supports_dry_run"} if table == "executors" else set[str]()
        extra = sorted(set(resolved) - allowed)
        if extra:
            takes = "dataset, supports_dry_run" if allowed else "dataset, role"
            raise CliError(
                f"{where}: a dataset entry takes only {takes}; unknown: {', '.join(extra)}"
            )
    return AdapterEntry(
        table,
        name,
        adapter if isinstance(adapter, str) else None,
        None if not isinstance(dataset, str) else (base / dataset),
        next((r for r in SOURCE_ROLES if r == role), None),
        resolved,
    )


def _references(options: Mapping[str, object], where: str) -> dict[str, object]:
    """Read ``key_env = "NAME"`` and ``{ env = "NAME" }`` as references; refuse literal secrets."""
    resolved: dict[str, object] = {}
    for key, value in options.items():
        if key.endswith("_env") and len(key) > len("_env"):
            target = key[: -len("_env")]
            if not (isinstance(value, str) and _VARIABLE.fullmatch(value)):
                raise CliError(f'{where}: {key} must name an environment variable, such as "TOKEN"')
            if target in options:
                raise CliError(f"{where}: give {target} or {key}, not both")
            resolved[target] = EnvRef(value)
            continue
        resolved[key] = _value(value, f"{where} {key}", secret=_secret_key(key))
    return resolved


def _value(value: object, where: str, *, secret: bool) -> object:
    if isinstance(value, dict):
        table = cast("dict[str, object]", value)
        if set(table) == {"env"}:
            variable = table["env"]
            if not (isinstance(variable, str) and _VARIABLE.fullmatch(variable)):
                raise CliError(f"{where}: {{ env = ... }} must name an environment variable")
            return EnvRef(variable)
        return {
            key: _value(item, f"{where}.{key}", secret=secret or _secret_key(key))
            for key, item in table.items()
        }
    if isinstance(value, list):
        return [_value(item, where, secret=secret) for item in cast("list[object]", value)]
    if secret and isinstance(value, str) and value:
        raise CliError(
            f"{where}: a credential is never written in the configuration (its value is not "
            "shown here); name the environment variable that holds it instead: "
            f'{where.rpartition(" ")[2].partition(".")[0]}_env = "VARIABLE", '
            'or { env = "VARIABLE" }'
        )
    return value


def _metric_entry(
    name: str, data: Mapping[str, object], sources: Mapping[str, AdapterEntry]
) -> MetricEntry:
    where = f"[metrics.{name}]"
    extra = sorted(set(data) - {"source", "query", "unit", "step"})
    if extra:
        raise CliError(
            f"{where}: unknown key(s) {', '.join(extra)}; expected source, query, unit, step"
        )
    source, query = data.get("source"), data.get("query")
    unit, step = data.get("unit", ""), data.get("step", 60.0)
    if not isinstance(source, str) or source not in sources:
        known = ", ".join(sorted(sources)) or "none"
        raise CliError(f"{where}: source must name a configured source (configured: {known})")
    if not (isinstance(query, str) and query.strip()):
        raise CliError(f"{where}: query must be the query, as text")
    if not isinstance(unit, str):
        raise CliError(f'{where}: unit must be text, such as "ratio"')
    if isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0:
        raise CliError(f"{where}: step must be a positive number of seconds")
    return MetricEntry(name, source, query, unit, float(step))


class Secrets:
    """The values read from the environment for adapters: masked in everything printed."""

    def __init__(self) -> None:
        self._values: list[str] = []

    def add(self, value: str) -> None:
        """Remember a secret's value."""
        if value and value not in self._values:
            self._values.append(value)

    def mask(self, text: str) -> str:
        """Return ``text`` with every form of every secret masked."""
        return mask_secrets(text, self._values) if self._values else text


def _resolve(value: object, where: str, secrets: Secrets) -> object:
    if isinstance(value, EnvRef):
        found = os.environ.get(value.variable)
        if found is None:
            raise CliError(f"{where}: the environment variable {value.variable} is not set")
        secrets.add(found)
        return found
    if isinstance(value, dict):
        return {
            key: _resolve(item, where, secrets)
            for key, item in cast("dict[str, object]", value).items()
        }
    if isinstance(value, list):
        return [_resolve(item, where, secrets) for item in cast("list[object]", value)]
    return value


_PROTOCOL_ROLES: Final[tuple[tuple[type, SourceRole], ...]] = (
    (DeploySource, "deploys"),
    (ChangeSource, "infrastructure"),
    (DependencyStatusSource, "dependencies"),
    (MetricSource, "metrics"),
)
_ROLE_PROTOCOLS: Final[Mapping[SourceRole, type]] = {role: cls for cls, role in _PROTOCOL_ROLES}


class Adapters:
    """Builds the configured adapters when a command first needs them, once each."""

    def __init__(self, config: Config, secrets: Secrets) -> None:
        self.config = config
        self.secrets = secrets
        self._built: dict[tuple[str, str], object] = {}
        self._datasets: dict[Path, Dataset] = {}

    def _dataset(self, path: Path) -> Dataset:
        from incidentkit._memory._dataset import load_dataset  # noqa: PLC0415 - when used

        if path not in self._datasets:
            self._datasets[path] = load_dataset(path)
        return self._datasets[path]

    def _entry(self, table: Literal["sources", "executors"], name: str) -> AdapterEntry:
        entries = self.config.sources if table == "sources" else self.config.executors
        if name not in entries:
            known = ", ".join(sorted(entries)) or "none"
            where = f"in {self.config.path}" if self.config.path else "(no configuration file)"
            raise CliError(
                f"no {table[:-1]} named {name!r} is configured {where}; configured: {known}",
                hint="name the configuration with --config FILE or $INCIDENTKIT_CONFIG",
            )
        return entries[name]

    def _build(self, entry: AdapterEntry) -> object:
        key = (entry.table, entry.name)
        if key in self._built:
            return self._built[key]
        try:
            built = self._construct(entry)
        except CliError as exc:
            raise CliError(self.secrets.mask(str(exc)), code=exc.code, hint=exc.hint) from None
        except IncidentkitError as exc:
            raise CliError(f"{entry.where}: {self.secrets.mask(str(exc))}") from None
        self._built[key] = built
        return built

    def _construct(self, entry: AdapterEntry) -> object:
        if entry.dataset is not None:
            data = self._dataset(entry.dataset)
            if entry.table == "executors":
                dry_run = entry.options.get("supports_dry_run", True)
                return data.rollback_executor(supports_dry_run=bool(dry_run))
            makers: Mapping[SourceRole, Callable[[], object]] = {
                "deploys": data.deploy_source,
                "infrastructure": data.change_source,
                "dependencies": data.dependency_source,
                "metrics": data.metric_source,
            }
            assert entry.role is not None  # noqa: S101 - checked when the file was read
            return makers[entry.role]()
        from incidentkit.adapters import load_adapter  # noqa: PLC0415 - when used

        assert entry.adapter is not None  # noqa: S101 - checked when the file was read
        factory = load_adapter(entry.adapter)
        if not callable(factory):
            raise CliError(f"{entry.where}: the adapter {entry.adapter!r} is not a class")
        options = cast(
            "dict[str, object]", _resolve(dict(entry.options), entry.where, self.secrets)
        )
        if "name" not in options and _takes_name(factory):
            options["name"] = entry.name
        try:
            return factory(**options)
        except TypeError as exc:
            raise CliError(
                f"{entry.where}: the {entry.adapter!r} adapter does not take these options: "
                f"{self.secrets.mask(str(exc))}"
            ) from None
        except (ValueError, IncidentkitError) as exc:
            raise CliError(f"{entry.where}: {self.secrets.mask(str(exc))}") from None

    def source(self, name: str, role: SourceRole | None = None) -> object:
        """Return the source configured as ``name``, checked to play ``role`` if given."""
        entry = self._entry("sources", name)
        built = self._build(entry)
        if role is not None and not isinstance(built, _ROLE_PROTOCOLS[role]):
            raise CliError(
                f"{entry.where} is not a {role} source: {type(built).__name__} does not "
                f"implement {_ROLE_PROTOCOLS[role].__name__}"
            )
        return built

    def role(self, name: str) -> SourceRole:
        """Return the role of the source ``name``: as configured, or by the protocol it has."""
        entry = self._entry("sources", name)
        if entry.role is not None:
            return entry.role
        built = self._build(entry)
        roles: list[SourceRole] = [r for cls, r in _PROTOCOL_ROLES if isinstance(built, cls)]
        if len(roles) != 1:
            what = " and ".join(roles) or "none of the source protocols"
            raise CliError(f"{entry.where}: {type(built).__name__} implements {what}: set role")
        return roles[0]

    def executor(self, name: str) -> RollbackExecutor:
        """Return the rollback executor configured as ``name``."""
        entry = self._entry("executors", name)
        built = self._build(entry)
        if not isinstance(built, RollbackExecutor):
            raise CliError(
                f"{entry.where} is not a rollback executor: {type(built).__name__} does not "
                "implement RollbackExecutor"
            )
        return built

    def metric(self, name: str, wrap: Callable[[MetricSource, str], MetricSource]) -> Metric:
        """Return the metric configured as ``name``, its source passed through ``wrap``."""
        if name not in self.config.metrics:
            known = ", ".join(sorted(self.config.metrics)) or "none"
            raise CliError(
                f"no metric named {name!r} is configured; configured: {known}",
                hint="add a [metrics.NAME] table (source, query, unit) to the configuration",
            )
        entry = self.config.metrics[name]
        source = cast("MetricSource", self.source(entry.source, "metrics"))
        return Metric(wrap(source, name), entry.query, unit=entry.unit, step=entry.step)


def _takes_name(factory: Callable[..., object]) -> bool:
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
    return "name" in parameters
