"""The command's exit codes, and the error that carries one."""

from __future__ import annotations

import enum

__all__ = ["CliError", "ExitCode"]


class ExitCode(enum.IntEnum):
    """What ``incidentkit`` exits with; the documentation's table is this one."""

    OK = 0
    """Done: the step was recorded, the check passed."""
    FAILED = 1
    """The check failed or the action did not succeed: ``verify`` found the journal
    tampered or truncated, ``verify-recovery`` recorded a verdict other than
    recovered, ``roll-back`` recorded a failed rollback."""
    USAGE = 2
    """The command was wrong: an unknown option, a bad value, a configuration
    that does not load, a source that is not configured."""
    WRONG_ORDER = 3
    """The protocol refused the step in the incident's phase; nothing was written."""
    JOURNAL = 4
    """The journal or the store could not be used: missing, unreadable,
    corrupted, locked, already existing, or another writer appended first."""
    INTERNAL = 70
    """A defect: the command failed in a way it does not expect (``EX_SOFTWARE``).
    The message names the error; nothing more is known of the step's outcome
    than what the journal says (``incidentkit show``)."""


class CliError(Exception):
    """A failure the command reports in one message, with its exit code.

    Attributes:
        code: The exit code.
        hint: A second line telling what to do, or ``""``.
    """

    def __init__(self, message: str, *, code: ExitCode = ExitCode.USAGE, hint: str = "") -> None:
        self.code = code
        self.hint = hint
        super().__init__(message)
