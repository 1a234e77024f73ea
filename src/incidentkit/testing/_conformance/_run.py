"""One conformance run: its factories, runner and adapter name; the ``protocol`` check."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import attrs

from incidentkit.testing._calls import (
    Outcome,
    Runner,
    redact,
    safe_repr,
    safe_str,
)
from incidentkit.testing._conformance._common import (
    failed,
    passed,
    quote,
    skipped,
)
from incidentkit.testing._results import Check, ConformanceReport

__all__ = ["Run", "check_protocol", "read_name", "unshaped"]


class Run:
    """The state of one conformance run: the factories, the runner, the adapter's name."""

    def __init__(
        self,
        protocol: str,
        make: Callable[[], object],
        broken: Callable[[], object] | None,
        secrets: tuple[str, ...],
        deadline: float,
    ) -> None:
        self.protocol = protocol
        self.make = make
        self.broken = broken
        self.secrets = secrets
        self.runner = Runner(deadline)
        self.name: object = None
        self.label = ""
        self.shape_ok = True  # the adapter has the protocol's members
        self.name_ok = True  # its name is a stable, non-empty string
        self.broken_hung = False
        self.broken_answered = False

    @property
    def text_name(self) -> str:
        """The name as the incident writes it (``f"{name}"``)."""
        return safe_str(self.name)

    def fresh(self, what: str = "the adapter") -> object:
        return self.runner.adapter(what, self.make())

    def fresh_broken(self) -> object:
        assert self.broken is not None  # noqa: S101 - callers check
        return self.runner.adapter("the broken adapter", self.broken())

    def call(self, label: str, function: Callable[[], object]) -> Outcome[object]:
        return self.runner.call(label, function)

    def report(self, checks: Sequence[Check]) -> ConformanceReport:
        kept = tuple(attrs.evolve(c, detail=redact(c.detail, self.secrets)) for c in checks)
        return ConformanceReport(redact(self.label, self.secrets), self.protocol, kept)


def read_name(adapter: object) -> tuple[object, str]:
    try:
        return adapter.name, ""  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - a failing name is a finding
        return None, f"reading .name raised {quote(exc)}: name must need no I/O"


def _has(adapter: object, member: str) -> bool:
    try:
        getattr(adapter, member)
    except AttributeError:
        return False
    except Exception:  # noqa: BLE001 - it exists; the name check reports how it fails
        return True
    return True


def check_protocol(run: Run, protocol: type, members: Sequence[str]) -> Check:  # noqa: C901, PLR0912 - one branch per rule the check enforces
    """The adapter has the protocol's members and a stable, non-empty string name."""
    first = run.fresh()
    second = run.fresh("a second adapter from make()")
    problems: list[str] = []
    missing = [m for m in members if not _has(first, m)]
    if missing:
        problems.append(
            f"{type(first).__name__} is not a {run.protocol}: it has no {', '.join(missing)}"
        )
    else:
        try:
            conforms = isinstance(first, protocol)
        except Exception as exc:  # noqa: BLE001 - isinstance reads the members
            problems.append(f"isinstance(adapter, {run.protocol}) raised {quote(exc)}")
        else:
            if not conforms:  # pragma: no cover - runtime protocols only check the members
                problems.append(f"isinstance(adapter, {run.protocol}) is false")
    names: list[object] = []
    for adapter in (first, first, second):
        name, problem = read_name(adapter)
        if problem:
            problems.append(problem)
            break
        names.append(name)
    run.name = names[0] if names else None
    valid = isinstance(run.name, str) and bool(run.name.strip())
    run.label = cast("str", run.name) if valid else type(first).__name__
    if len(names) == 3:  # noqa: PLR2004 - three reads
        name = names[0]
        if not isinstance(name, str):
            problems.append(
                f"name is a {type(name).__name__} ({safe_repr(name)}), not a str: return a "
                "short string such as 'prometheus'; the journal, the findings and the option "
                "ids use it"
            )
        elif not name.strip():
            problems.append("name is empty: give the adapter a short name such as 'prometheus'")
        elif names[1] != name:
            problems.append(
                f"name changed between two reads ({name!r}, then {names[1]!r}): it must be fixed "
                "when the adapter is built"
            )
        elif names[2] != name:
            problems.append(
                f"two adapters from make() are named {name!r} and {names[2]!r}: the name must "
                "come from the configuration, not from the instance"
            )
    run.shape_ok = not missing
    run.name_ok = len(names) == 3 and valid and len(set(map(safe_repr, names))) == 1  # noqa: PLR2004 - three reads
    if problems:
        return failed("protocol", problems)
    return passed(
        "protocol", f"isinstance(adapter, {run.protocol}) holds; name {run.name!r} is stable"
    )


def unshaped(run: Run, protocol: Check, names: Sequence[str]) -> ConformanceReport:
    """Report an adapter that lacks the protocol's members: nothing else can be checked."""
    reason = f"the adapter is not a {run.protocol}: see protocol"
    return run.report([protocol, *(skipped(name, reason) for name in names)])
