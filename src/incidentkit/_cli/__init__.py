"""The ``incidentkit`` command: inspect an incident's journal and drive the protocol from a shell.

:func:`main` is the console script (``[project.scripts]``) and what
``python -m incidentkit`` runs. The commands live in :mod:`._inspect` (show,
timeline, events, verify, report, list), :mod:`._drive` (one per protocol
step) and :mod:`._configure`; the command line is built in :mod:`._parser`.

Output for people goes to stdout, every line made inert (no escape sequence
or control character from a journal or a source reaches the terminal);
``--json`` prints data for scripts, ASCII-escaped. Errors and progress go to
stderr, progress only on a terminal. Secrets read from the environment for
the adapters are masked in everything printed.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TextIO

from incidentkit._cli._common import Context, Result, next_line, write_lines
from incidentkit._cli._configure import config_command
from incidentkit._cli._drive import COMMANDS as DRIVING
from incidentkit._cli._errors import CliError, ExitCode
from incidentkit._cli._inspect import events, list_command, report, show, timeline, verify
from incidentkit._cli._parser import build_parser
from incidentkit._cli._text import one_line
from incidentkit._errors import (
    IncidentkitError,
    InvalidInputError,
    JournalError,
    ProtocolViolation,
    RollbackFailedError,
)
from incidentkit._rules import PHASES

__all__ = ["ExitCode", "main"]

_Handler = Callable[[Context], "Result | Iterator[Result]"]

_HANDLERS: dict[str, _Handler] = {
    "show": show,
    "timeline": timeline,
    "events": events,
    "verify": verify,
    "report": report,
    "list": list_command,
    "config": config_command,
    **DRIVING,
}


def _print(ctx: Context, result: Result, *, lines_only: bool = False) -> None:
    if result.raw is not None:
        ctx.stdout.write(result.raw if result.raw.endswith("\n") else result.raw + "\n")
    elif ctx.json:
        indent = None if lines_only else 2
        document = json.dumps(result.data, ensure_ascii=True, indent=indent)
        ctx.stdout.write(ctx.secrets.mask(document) + "\n")
    else:
        write_lines(ctx.stdout, [ctx.secrets.mask(line) for line in result.lines])
    ctx.stdout.flush()


def _fail(ctx: Context, message: str, hint: str = "") -> None:
    ctx.stderr.write(f"incidentkit: {one_line(ctx.secrets.mask(message))}\n")
    if hint:
        ctx.stderr.write(f"{one_line(ctx.secrets.mask(hint))}\n")
    ctx.stderr.flush()


def _wrong_order(exc: ProtocolViolation) -> str:
    phase = exc.phase
    return next_line(phase) if phase in PHASES else ""


def _run(ctx: Context) -> int:
    handler = _HANDLERS[str(ctx.args.command)]
    outcome = handler(ctx)
    if isinstance(outcome, Result):
        _print(ctx, outcome)
        return int(outcome.code)
    for item in outcome:  # a stream (events --follow): one line, or one JSON object, each
        _print(ctx, item, lines_only=True)
    return int(ExitCode.OK)


def main(
    argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Run the ``incidentkit`` command; return its exit code (see :class:`ExitCode`)."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    for stream in (out, err):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    ctx = Context(args, out, err)
    try:
        return _run(ctx)
    except (CliError, IncidentkitError) as exc:
        message, hint, code = _failure(exc)
        _fail(ctx, message, hint)
        return int(code)
    except KeyboardInterrupt:
        _fail(ctx, "interrupted")
        return _INTERRUPTED
    except BrokenPipeError:  # the reader (head, less) went away: not an error of ours
        _silence_stdout()
        return int(ExitCode.OK)
    except Exception as exc:  # noqa: BLE001 - a defect, said plainly rather than as a traceback
        _fail(
            ctx,
            f"internal error, a defect of incidentkit or of an adapter: "
            f"{type(exc).__name__}: {exc}",
            "the journal holds what was recorded: incidentkit show says where the incident is",
        )
        return int(ExitCode.INTERNAL)


_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit raises nothing more."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # not a real file (a test's buffer): nothing to silence
        return


def _failure(exc: CliError | IncidentkitError) -> tuple[str, str, ExitCode]:
    """Return the message, the hint and the exit code of a failure."""
    if isinstance(exc, CliError):
        return str(exc), exc.hint, exc.code
    if isinstance(exc, ProtocolViolation):  # the library's own message, then what comes next
        return str(exc), _wrong_order(exc), ExitCode.WRONG_ORDER
    if isinstance(exc, InvalidInputError):
        return str(exc), "", ExitCode.USAGE
    if isinstance(exc, JournalError):
        return str(exc), "", ExitCode.JOURNAL
    if isinstance(exc, RollbackFailedError):
        return str(exc), "", ExitCode.FAILED
    return f"{type(exc).__name__}: {exc}", "", ExitCode.FAILED
