"""``incidentkit config``: the configuration as read (never a secret), and the adapters."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from typing import Any, cast

from incidentkit._cli._common import Context, Result
from incidentkit._cli._config import AdapterEntry, EnvRef
from incidentkit._cli._errors import CliError, ExitCode
from incidentkit._cli._text import one_line

__all__ = ["config_command"]


def _shown(value: object) -> Any:  # noqa: ANN401 - JSON data of any shape
    """An option's value as the echo shows it: a reference as ``$NAME``, never its value."""
    if isinstance(value, EnvRef):
        return str(value)
    if isinstance(value, Mapping):
        table = cast("Mapping[object, object]", value)
        return {str(k): _shown(v) for k, v in table.items()}
    if isinstance(value, list):
        return [_shown(v) for v in cast("list[object]", value)]
    return value


def _variables(value: object) -> list[str]:
    if isinstance(value, EnvRef):
        return [value.variable]
    if isinstance(value, Mapping):
        table = cast("Mapping[object, object]", value)
        return [n for v in table.values() for n in _variables(v)]
    if isinstance(value, list):
        return [n for v in cast("list[object]", value) for n in _variables(v)]
    return []


def _entry(entry: AdapterEntry) -> dict[str, Any]:
    variables = _variables(dict(entry.options))
    return {
        "adapter": entry.adapter,
        "dataset": None if entry.dataset is None else str(entry.dataset),
        "role": entry.role,
        "options": _shown(dict(entry.options)),
        "environment": {name: name in os.environ for name in variables},
    }


def _entry_line(name: str, entry: AdapterEntry) -> str:
    what = f"adapter {entry.adapter}" if entry.adapter else f"dataset {entry.dataset}"
    role = f" ({entry.role})" if entry.role else ""
    options = ", ".join(f"{k}={_shown(v)!s}" for k, v in entry.options.items())
    variables = _variables(dict(entry.options))
    env = "; ".join(f"${n} {'set' if n in os.environ else 'NOT SET'}" for n in variables)
    return one_line(
        f"  {name:<16} {what}{role}"
        + (f": {options}" if options else "")
        + (f" [{env}]" if env else "")
    )


def _check(ctx: Context, build: Callable[[], object]) -> str:
    """Build one adapter: ``ok``, or why not (secrets masked)."""
    try:
        build()
    except CliError as exc:
        return ctx.secrets.mask(str(exc))
    return "ok"


def config_command(ctx: Context) -> Result:
    """Echo the configuration (references, never values) and the adapters; ``--check`` builds."""
    from incidentkit.adapters import available_adapters  # noqa: PLC0415 - when asked

    adapters = ctx.adapters()
    config = adapters.config
    installed = available_adapters()
    checks: dict[str, str] = {}
    if ctx.args.check:
        for name in config.sources:
            checks[f"sources.{name}"] = _check(ctx, functools.partial(adapters.source, name))
        for name in config.executors:
            checks[f"executors.{name}"] = _check(ctx, functools.partial(adapters.executor, name))
    data = {
        "path": None if config.path is None else str(config.path),
        "sources": {name: _entry(e) for name, e in config.sources.items()},
        "executors": {name: _entry(e) for name, e in config.executors.items()},
        "metrics": {
            name: {"source": m.source, "query": m.query, "unit": m.unit, "step": m.step}
            for name, m in config.metrics.items()
        },
        "installed_adapters": [
            {
                "name": a.name,
                "target": a.target,
                "distribution": a.distribution,
                "version": a.version,
            }
            for a in installed
        ],
        "checks": checks if ctx.args.check else None,
    }
    where = (
        str(config.path)
        if config.path
        else "none (no --config, $INCIDENTKIT_CONFIG or ./incidentkit.toml)"
    )
    lines = [f"configuration: {where}"]
    for title, entries in (("sources", config.sources), ("executors", config.executors)):
        lines.append(f"{title}:" if entries else f"{title}: none")
        lines.extend(_entry_line(name, entry) for name, entry in entries.items())
    lines.append("metrics:" if config.metrics else "metrics: none")
    lines.extend(
        f"  {name:<16} {m.source}: {m.query!r}" + (f" ({m.unit})" if m.unit else "")
        for name, m in config.metrics.items()
    )
    lines.append(
        "installed adapters: "
        + (", ".join(f"{a.name} ({a.distribution or '?'})" for a in installed) or "none")
    )
    if ctx.args.check:
        lines.append("check:")
        lines.extend(f"  {name}: {outcome}" for name, outcome in checks.items())
    failed = any(outcome != "ok" for outcome in checks.values())
    return Result(data, lines, ExitCode.USAGE if failed else ExitCode.OK)
