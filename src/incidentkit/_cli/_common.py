"""What the commands share: options read from argparse, the clock, resuming, output."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, TextIO, cast

import attrs
import pendulum

from incidentkit._cli._config import Adapters, Secrets, find_config, load_config
from incidentkit._cli._errors import CliError, ExitCode
from incidentkit._cli._target import Target, target
from incidentkit._cli._text import one_line
from incidentkit._errors import InvalidInputError
from incidentkit._events import Event, get_converter, unstructure_event
from incidentkit._incident import Incident
from incidentkit._model import Actor, Role
from incidentkit._rules import PHASES, STEPS, Phase
from incidentkit._time import ManualClock, SystemClock, parse_instant, to_instant

if TYPE_CHECKING:
    from incidentkit._incident import AnyPhase
    from incidentkit.protocols import Clock

__all__ = [
    "ACTOR_ENV",
    "COMMAND_OF_STEP",
    "Context",
    "Result",
    "actor",
    "clock",
    "duration",
    "event_data",
    "event_line",
    "flag",
    "instant",
    "jsonable",
    "next_commands",
    "next_line",
    "number",
    "resume",
    "strings",
    "text",
    "when",
]

ACTOR_ENV: Final = "INCIDENTKIT_ACTOR"
"""The environment variable naming the responder, when ``--actor`` is not given."""

COMMAND_OF_STEP: Final[Mapping[str, str]] = {
    "note": "note",
    "finding": "finding",
    "hand_over": "hand-over",
    "correct_clock": "correct-clock",
    "follow_up": "follow-up",
    "assess_impact": "assess",
    "update_impact": "update-impact",
    "gather_changes": "gather",
    "review_rollbacks": "review",
    "skip_rollback_review": "review --skip",
    "roll_back": "roll-back",
    "mitigate": "mitigate",
    "verify_recovery": "verify-recovery",
    "diagnose_without_recovery": "diagnose --without-recovery",
    "begin_diagnosis": "diagnose",
    "hypothesis": "hypothesis",
    "reject_hypothesis": "reject-hypothesis",
    "check": "check",
    "waive": "waive",
    "resolve": "resolve",
    "report": "report",
}
"""The command that takes each step of the protocol's rule table."""


@attrs.frozen
class Result:
    """What a command prints: data for ``--json``, lines for people, and its exit code."""

    data: object
    lines: Sequence[str]
    code: ExitCode = ExitCode.OK
    raw: str | None = None
    """A document printed as it is, in both modes (a report); already made inert."""


@attrs.define
class Context:
    """The command line read, the streams, and the secrets to mask in them."""

    args: argparse.Namespace
    stdout: TextIO
    stderr: TextIO
    secrets: Secrets = attrs.field(factory=Secrets)
    _adapters: Adapters | None = None

    @property
    def json(self) -> bool:
        """Whether ``--json`` was given."""
        return bool(getattr(self.args, "json", False))

    @property
    def progress(self) -> bool:
        """Whether to show progress: only when stderr is a terminal."""
        isatty = getattr(self.stderr, "isatty", None)
        return bool(isatty and isatty())

    def adapters(self) -> Adapters:
        """The configured adapters (the configuration is read on first use)."""
        if self._adapters is None:
            config = load_config(find_config(text(self.args, "config")))
            self._adapters = Adapters(config, self.secrets)
        return self._adapters

    def target(self, *, need_incident: bool = True, create: bool = False) -> Target:
        """The incident the command names (``create``: a missing store directory is made)."""
        return target(
            text(self.args, "journal"),
            text(self.args, "store"),
            text(self.args, "incident"),
            need_incident=need_incident,
            create=create,
            command=str(self.args.command),
        )


def _get(args: argparse.Namespace, name: str) -> object:
    value: object = getattr(args, name, None)
    return value


def text(args: argparse.Namespace, name: str) -> str | None:
    """Return the option ``name`` as text, or ``None`` if not given."""
    value = _get(args, name)
    return value if isinstance(value, str) else None


def strings(args: argparse.Namespace, name: str) -> list[str]:
    """Return a repeatable option's values (empty if not given)."""
    value = _get(args, name)
    if isinstance(value, list):
        return [str(item) for item in cast("list[object]", value)]
    return []


def number(args: argparse.Namespace, name: str) -> float | None:
    """Return a numeric option, or ``None`` if not given."""
    value = _get(args, name)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def flag(args: argparse.Namespace, name: str) -> bool:
    """Return a flag's value."""
    return _get(args, name) is True


def instant(value: str, what: str) -> pendulum.DateTime:
    """Read an instant given on the command line: ISO 8601 with an offset, or Unix seconds.

    Raises:
        CliError: It is neither, or has no offset.
    """
    try:
        return to_instant(float(value), what=what)
    except ValueError:
        pass
    try:
        return parse_instant(value)
    except InvalidInputError as exc:
        raise CliError(
            f"{what}: {exc}; write an instant such as 2026-11-20T14:07:00Z or Unix seconds"
        ) from None


def clock(args: argparse.Namespace) -> Clock:
    """The clock of a step: the system's, or ``--at`` (a replay or a tabletop exercise)."""
    at = text(args, "at")
    return SystemClock() if at is None else ManualClock(instant(at, "--at"))


def actor(args: argparse.Namespace) -> Actor:
    """Who takes the step: ``--actor`` (or ``$INCIDENTKIT_ACTOR``) and ``--role``.

    Raises:
        CliError: Nobody is named, or the role is unknown.
    """
    name = text(args, "actor") or os.environ.get(ACTOR_ENV)
    if not name or not name.strip():
        raise CliError(f"who takes this step? Give --actor NAME (or set ${ACTOR_ENV})")
    role = text(args, "role")
    if role is None:
        return Actor(name)
    try:
        return Actor(name, Role(role))
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise CliError(f"--role {role!r} is not a role; expected one of {roles}") from None


def resume(where: Target, clock: Clock | None = None) -> AnyPhase:
    """Resume the incident a command names (its chain verified, its events replayed)."""
    if where.journal is not None:
        return Incident.resume(where.journal, where.incident_id, clock=clock)
    assert where.store is not None  # noqa: S101 - a target is a journal or a store
    return Incident.resume(where.store, where.incident_id, clock=clock)


def next_commands(phase: Phase) -> list[str]:
    """The commands the protocol expects next in ``phase``: staying ones, then moving ones."""
    expected = [step for step in STEPS if phase in step.expected_in]
    staying = [s for s in expected if s.leads_to is None or s.leads_to == phase]
    moving = [s for s in expected if s.leads_to is not None and s.leads_to != phase]
    return [COMMAND_OF_STEP[s.name] for s in (*staying, *moving)]


def next_line(phase: Phase) -> str:
    """Say in a line what comes next in ``phase``, as commands."""
    expected = [step for step in STEPS if phase in step.expected_in]
    staying = [s.name for s in expected if s.leads_to is None or s.leads_to == phase]
    moving = [s.name for s in expected if s.leads_to is not None and s.leads_to != phase]
    parts = [
        " or ".join(f"incidentkit {COMMAND_OF_STEP[name]}" for name in names)
        for names in (staying, moving)
        if names
    ]
    return "next: " + ", then ".join(parts)


def jsonable(value: object) -> Any:  # noqa: ANN401 - JSON data of any shape
    """Return attrs values, enums and instants as JSON data (the journal's forms)."""
    return get_converter().unstructure(value)


def event_data(seq: int, event: Event) -> dict[str, Any]:
    """An event as ``--json`` shows it: its place, type, time, actor, description and body."""
    from incidentkit._timeline import describe_event  # noqa: PLC0415 - with the timeline

    return {
        "seq": seq,
        "type": event.TYPE,
        "at": jsonable(event.at),
        "actor": jsonable(event.actor),
        "description": describe_event(event),
        "event": unstructure_event(event),
    }


def event_line(seq: int, event: Event) -> str:
    """An event as a line for people."""
    from incidentkit._timeline import describe_event  # noqa: PLC0415 - with the timeline

    return (
        f"{seq:>4}  {when(event.at)}  {event.TYPE:<22} {one_line(str(event.actor)):<24} "
        f"{one_line(describe_event(event))}"
    )


def when(at: pendulum.DateTime | None) -> str:
    """An instant as the command shows it: UTC, to the second."""
    return "-" if at is None else at.in_timezone("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def duration(seconds: float | None, *, signed: bool = False) -> str:
    """A duration as ``1h02m``, ``24m00s`` or ``45s`` (``+``/``-`` when ``signed``)."""
    if seconds is None:
        return "-"
    sign = "-" if seconds < 0 else "+" if signed else ""
    left = round(abs(seconds))
    hours, left = divmod(left, 3600)
    minutes, secs = divmod(left, 60)
    if hours:
        return f"{sign}{hours}h{minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m{secs:02d}s"
    return f"{sign}{secs}s"


def write_lines(stream: TextIO, lines: Sequence[str]) -> None:
    """Print lines for people: each one inert."""
    stream.writelines(one_line(line) + "\n" for line in lines)


def phases_text() -> str:
    """The phases in order, for help texts."""
    return ", ".join(PHASES)


def stdout_is_terminal() -> bool:
    """Whether the standard output is a terminal."""
    return sys.stdout.isatty()
