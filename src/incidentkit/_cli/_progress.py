"""Progress on slow work: which source is still awaited, then each one's outcome.

The protocol asks its sources concurrently, each in its own thread with its
own deadline. The command wraps each source in a stand-in that keeps its name
and its method, and tells a :class:`Progress` when the call starts and how it
ends. On a terminal, the progress shows one line, rewritten in place, naming
the sources still awaited, and a line per source as it answers; anywhere else
it prints nothing, so that a script's stderr holds only diagnostics.

The stand-ins also mask the secrets the command read from the environment in
what a failing source raises, before the protocol journals the failure: an
adapter that quotes its own token in an error cannot put it in the journal.
:func:`masked_executor` does the same for a rollback executor.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TextIO, TypeVar

from typing_extensions import Self

from incidentkit._cli._text import one_line
from incidentkit._gather import adapter_name

if TYPE_CHECKING:
    import pendulum

    from incidentkit._model import Change, RollbackOption, RollbackResult, Series
    from incidentkit.protocols import (
        ChangeSource,
        DependencyStatusSource,
        DeploySource,
        MetricSource,
        RollbackExecutor,
    )

__all__ = ["Progress", "masked_executor"]

_T = TypeVar("_T")
_REDRAW = 0.25  # seconds between redraws of the waiting line


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


class Progress:
    """Tells a terminal which calls are still awaited, and how each ended.

    Args:
        stream: Where to write (the command's stderr).
        enabled: Whether to write at all (stderr is a terminal).
        what: The work, for the waiting line (``gathering``).
        mask: Masks the secrets in a text.
    """

    def __init__(
        self, stream: TextIO, *, enabled: bool, what: str, mask: Callable[[str], str]
    ) -> None:
        self._mask = mask
        self._stream = stream
        self._enabled = enabled
        self._what = what
        self._lock = threading.Lock()
        self._pending: dict[int, tuple[str, float]] = {}
        self._calls = 0
        self._started = time.monotonic()
        self._width = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        """Start redrawing the waiting line (on a terminal)."""
        if self._enabled:
            self._thread = threading.Thread(target=self._redraw, name="incidentkit-progress")
            self._thread.daemon = True
            self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        """Stop, and say which calls never answered (their deadline ran out)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            for label, started in self._pending.values():
                waited = time.monotonic() - started
                self._line(f"  {label}: no answer after {waited:.1f} s (abandoned)")
            self._pending.clear()
            self._clear()

    def _redraw(self) -> None:
        while not self._stop.wait(_REDRAW):
            with self._lock:
                if self._pending:
                    names = ", ".join(dict.fromkeys(label for label, _ in self._pending.values()))
                    waited = time.monotonic() - self._started
                    self._status(f"{self._what}: waiting for {names} ({waited:.1f} s)")

    def _status(self, text: str) -> None:
        shown = one_line(text)
        self._stream.write("\r" + shown + " " * max(0, self._width - len(shown)))
        self._stream.flush()
        self._width = len(shown)

    def _clear(self) -> None:
        if self._width:
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()
            self._width = 0

    def _line(self, text: str) -> None:
        if not self._enabled:
            return
        self._clear()
        self._stream.write(one_line(text) + "\n")
        self._stream.flush()

    def started(self, label: str) -> int:
        """Note that a call began; return its token for :meth:`finished`."""
        with self._lock:
            self._calls += 1
            self._pending[self._calls] = (label, time.monotonic())
            return self._calls

    def finished(self, token: int, outcome: str) -> None:
        """Note that a call ended, and show how."""
        with self._lock:
            call = self._pending.pop(token, None)
            if call is None:  # already reported as abandoned
                return
            label, started = call
            took = time.monotonic() - started
            self._line(f"  {label}: {outcome} ({took:.2f} s)")

    def call(self, label: str, work: Callable[[], _T], describe: Callable[[_T], str]) -> _T:
        """Run ``work`` as the call ``label``: started, then finished with its outcome."""
        token = self.started(label)
        try:
            result = work()
        except Exception as exc:
            self.finished(token, f"failed: {type(exc).__name__}")
            _mask_exception(exc, self._mask)
            raise
        try:
            outcome = describe(result)
        except Exception:  # noqa: BLE001 - an odd answer is the protocol's to judge
            outcome = "answered"
        self.finished(token, outcome)
        return result

    # --- the stand-ins --------------------------------------------------------

    def deploys(self, source: DeploySource, label: str) -> DeploySource:
        """Return ``source`` reporting here."""
        return _WatchedDeploys(source, label, self)

    def changes(self, source: ChangeSource, label: str) -> ChangeSource:
        """Return ``source`` reporting here."""
        return _WatchedChanges(source, label, self)

    def dependencies(self, source: DependencyStatusSource, label: str) -> DependencyStatusSource:
        """Return ``source`` reporting here."""
        return _WatchedDependencies(source, label, self)

    def metrics(self, source: MetricSource, label: str) -> MetricSource:
        """Return ``source`` reporting here."""
        return _WatchedMetrics(source, label, self)


def _mask_exception(exc: BaseException, mask: Callable[[str], str]) -> None:
    """Mask the secrets in an exception's message, in place (its type and traceback stay)."""
    masked = tuple(mask(arg) if isinstance(arg, str) else arg for arg in exc.args)
    if masked != exc.args:
        exc.args = masked


def _masking(work: Callable[[], _T], mask: Callable[[str], str]) -> _T:
    try:
        return work()
    except Exception as exc:
        _mask_exception(exc, mask)
        raise


def masked_executor(executor: RollbackExecutor, mask: Callable[[str], str]) -> RollbackExecutor:
    """Return ``executor`` with the secrets masked in whatever it raises."""
    return _MaskedExecutor(executor, mask)


class _MaskedExecutor:
    def __init__(self, inner: RollbackExecutor, mask: Callable[[str], str]) -> None:
        self._inner = inner
        self._mask = mask

    @property
    def name(self) -> str:
        """The wrapped executor's name, as options and the journal carry it."""
        return adapter_name(self._inner)

    def options(self, change: Change) -> Sequence[RollbackOption]:
        return _masking(lambda: self._inner.options(change), self._mask)

    def current_version(self, target: str) -> str | None:
        return _masking(lambda: self._inner.current_version(target), self._mask)

    def dry_run(self, option: RollbackOption) -> RollbackResult:
        return _masking(lambda: self._inner.dry_run(option), self._mask)

    def execute(self, option: RollbackOption) -> RollbackResult:
        return _masking(lambda: self._inner.execute(option), self._mask)


def _count_changes(changes: Sequence[Change]) -> str:
    return _plural(len(changes), "change")


def _count_points(series: Series) -> str:
    return _plural(len(series), "point")


class _Watched:
    def __init__(self, inner: object, label: str, progress: Progress) -> None:
        self._inner = inner
        self._label = label
        self._progress = progress

    @property
    def name(self) -> str:
        """The wrapped source's name, as the journal records it."""
        return adapter_name(self._inner)


class _WatchedDeploys(_Watched):
    def __init__(self, inner: DeploySource, label: str, progress: Progress) -> None:
        super().__init__(inner, label, progress)
        self._source = inner

    def deploys(
        self,
        start: pendulum.DateTime,
        end: pendulum.DateTime,
        *,
        services: Sequence[str] | None = None,
    ) -> Sequence[Change]:
        return self._progress.call(
            self._label,
            lambda: self._source.deploys(start, end, services=services),
            _count_changes,
        )


class _WatchedChanges(_Watched):
    def __init__(self, inner: ChangeSource, label: str, progress: Progress) -> None:
        super().__init__(inner, label, progress)
        self._source = inner

    def changes(
        self,
        start: pendulum.DateTime,
        end: pendulum.DateTime,
        *,
        services: Sequence[str] | None = None,
    ) -> Sequence[Change]:
        return self._progress.call(
            self._label,
            lambda: self._source.changes(start, end, services=services),
            _count_changes,
        )


class _WatchedDependencies(_Watched):
    def __init__(self, inner: DependencyStatusSource, label: str, progress: Progress) -> None:
        super().__init__(inner, label, progress)
        self._source = inner

    def incidents(self, start: pendulum.DateTime, end: pendulum.DateTime) -> Sequence[Change]:
        return self._progress.call(
            self._label, lambda: self._source.incidents(start, end), _count_changes
        )


class _WatchedMetrics(_Watched):
    def __init__(self, inner: MetricSource, label: str, progress: Progress) -> None:
        super().__init__(inner, label, progress)
        self._source = inner

    def query_range(
        self, query: str, start: pendulum.DateTime, end: pendulum.DateTime, step: float
    ) -> Series:
        return self._progress.call(
            self._label,
            lambda: self._source.query_range(query, start, end, step),
            _count_points,
        )
