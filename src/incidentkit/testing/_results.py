"""What the conformance kit reports: checks, a report, and the error a failed report raises."""

from __future__ import annotations

import enum

import attrs

from incidentkit._errors import IncidentkitError

__all__ = ["Check", "CheckStatus", "ConformanceError", "ConformanceReport"]


class CheckStatus(enum.Enum):
    """The outcome of one conformance check.

    .. versionadded:: 0.1.0
    """

    PASSED = "passed"
    """The adapter follows the rule."""
    FAILED = "failed"
    """The adapter breaks the rule; the check's detail says how to fix it."""
    SKIPPED = "skipped"
    """The check could not run; the detail says why (a missing argument, an earlier failure)."""


@attrs.frozen
class Check:
    """One named rule of the adapter contract, and how the adapter fared.

    Attributes:
        name: The rule: ``protocol``, ``answer``, ``time_zones``, ``window``,
            ``gaps``, ``dry_run``, ``forged_options``, ``errors``,
            ``deadline``, ``secrets`` or ``incident``.
        status: Passed, failed or skipped.
        detail: What was checked; for a failure, what is wrong and how to fix
            it; for a skip, why. Credentials are replaced by ``<secret #n>``.

    .. versionadded:: 0.1.0
    """

    name: str
    status: CheckStatus
    detail: str = ""

    @property
    def passed(self) -> bool:
        """Whether the check passed."""
        return self.status is CheckStatus.PASSED

    @property
    def failed(self) -> bool:
        """Whether the check failed."""
        return self.status is CheckStatus.FAILED

    @property
    def skipped(self) -> bool:
        """Whether the check was skipped."""
        return self.status is CheckStatus.SKIPPED

    def __str__(self) -> str:
        """Return one line: the status, the check's name and its detail."""
        return f"{self.status.value.upper():<7} {self.name}: {self.detail}"


@attrs.frozen
class ConformanceReport:
    """The checks one adapter went through, in a fixed order.

    ``str(report)`` is a heading and one line per check; :attr:`passed` is true
    when no check failed (skipped checks do not fail a report); and
    :meth:`raise_for_failures` turns a failed report into a test failure.

    Attributes:
        adapter: The adapter's name (its class name when the name is unusable).
        protocol: The protocol it was checked against (``DeploySource``, ...).
        checks: The checks, in the order they are listed in the guide.

    .. versionadded:: 0.1.0
    """

    adapter: str
    protocol: str
    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        """Whether no check failed."""
        return not self.failures

    @property
    def failures(self) -> tuple[Check, ...]:
        """The checks that failed."""
        return tuple(c for c in self.checks if c.failed)

    @property
    def skipped(self) -> tuple[Check, ...]:
        """The checks that were skipped."""
        return tuple(c for c in self.checks if c.skipped)

    @property
    def names(self) -> tuple[str, ...]:
        """The names of the checks, in order."""
        return tuple(c.name for c in self.checks)

    def __getitem__(self, name: str) -> Check:
        """Return the check called ``name``.

        Raises:
            KeyError: The report has no such check; the message lists the ones it has.
        """
        for check in self.checks:
            if check.name == name:
                return check
        msg = f"no check named {name!r}; this report has {', '.join(self.names)}"
        raise KeyError(msg)

    def __str__(self) -> str:
        """Return a heading with the counts, then one line per check."""
        counts = dict.fromkeys(CheckStatus, 0)
        for check in self.checks:
            counts[check.status] += 1
        heading = (
            f"conformance of {self.adapter!r} as a {self.protocol}: "
            f"{counts[CheckStatus.PASSED]} passed, {counts[CheckStatus.FAILED]} failed, "
            f"{counts[CheckStatus.SKIPPED]} skipped"
        )
        return "\n".join([heading, *(f"  {check}" for check in self.checks)])

    def raise_for_failures(self) -> None:
        """Raise :class:`ConformanceError` if a check failed; do nothing otherwise.

        Raises:
            ConformanceError: At least one check failed. The message is the
                whole report.
        """
        if self.failures:
            raise ConformanceError(self)


class ConformanceError(IncidentkitError, AssertionError):
    """An adapter failed the conformance kit's checks.

    It is an :class:`AssertionError` too, so that pytest reports it as a test
    failure (with the report as the message) rather than as an error.

    Attributes:
        report: The report whose checks failed.

    .. versionadded:: 0.1.0
    """

    def __init__(self, report: ConformanceReport) -> None:
        self.report = report
        failed = ", ".join(c.name for c in report.failures)
        super().__init__(f"{report.adapter!r} failed {failed}\n{report}")
