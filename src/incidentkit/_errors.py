"""The exception tree of incidentkit.

Every exception the library raises on purpose derives from
:class:`IncidentkitError`, so one ``except`` clause catches them all::

    IncidentkitError
    ├── ProtocolViolation              a step out of order
    │   ├── StepNotAvailable           a step called on a phase that lacks it
    │   │   (also AttributeError)          (what an untyped script meets)
    │   ├── StalePhaseError            a phase object used after it moved on
    │   └── TimeOrderError             an event stamped before the last recorded one
    ├── InvalidInputError (ValueError)  bad input from the caller
    │   └── NaiveDatetimeError         a datetime without a time zone
    ├── CheckpointWarning (UserWarning)  a checkpoint not used (a warning, never raised)
    ├── JournalError                   the forensic journal
    │   ├── JournalCorruptedError      edited, deleted, reordered or garbage records
    │   ├── TornRecordError            an incomplete last record (a crash mid-write)
    │   ├── JournalLockedError         another process holds the journal too long
    │   └── ConcurrentAppendError      another writer appended since we last read
    └── SourceError                    an adapter (source or executor) failed
        ├── SourceUnavailableError     connection refused, HTTP 5xx, a dead process
        │   ├── SourceTimeoutError     no answer within the timeout
        │   └── RateLimitedError       the source asks us to come back later
        ├── SourceAuthError            credentials missing or refused (HTTP 401, 403)
        ├── SourceRequestError         the source rejected the request (a bad query)
        ├── MalformedResponseError     the answer is not what the protocol expects
        └── RollbackFailedError        an executor could not roll back

One class is a warning, never raised: :class:`CheckpointWarning` (also a
``UserWarning``), issued when a resume asked to use a checkpoint could not, and
folded the whole journal instead.

Messages say what happened, what was expected and what to do next.
"""

from __future__ import annotations

__all__ = [
    "CheckpointWarning",
    "ConcurrentAppendError",
    "IncidentkitError",
    "InvalidInputError",
    "JournalCorruptedError",
    "JournalError",
    "JournalExistsError",
    "JournalLockedError",
    "MalformedResponseError",
    "NaiveDatetimeError",
    "ProtocolViolation",
    "RateLimitedError",
    "RollbackFailedError",
    "SourceAuthError",
    "SourceError",
    "SourceRequestError",
    "SourceTimeoutError",
    "SourceUnavailableError",
    "StalePhaseError",
    "StepNotAvailable",
    "StoreUnavailableError",
    "TimeOrderError",
    "TornRecordError",
]


class IncidentkitError(Exception):
    """The root of every exception incidentkit raises on purpose.

    .. versionadded:: 0.1.0
    """


class ProtocolViolation(IncidentkitError):  # noqa: N818 - the name is the domain's word
    """A step was attempted out of the protocol's order.

    Attributes:
        phase: The name of the phase the incident is in.
        attempted: The step that was attempted.
        required: What must happen first.

    .. versionadded:: 0.1.0
    """

    def __init__(self, phase: str, attempted: str, required: str) -> None:
        self.phase = phase
        self.attempted = attempted
        self.required = required
        super().__init__(f"{attempted!r} is not allowed in phase {phase!r}: {required}")


class StepNotAvailable(ProtocolViolation, AttributeError):  # noqa: N818 - reads as a fact
    """A step was called on a phase that does not have it.

    A type checker rejects such a call; an untyped script gets this error at
    run time instead of a bare :class:`AttributeError`. It is an
    :class:`AttributeError` too, so that ``hasattr(phase, "resolve")`` is
    simply false.

    .. versionadded:: 0.1.0
    """


class StalePhaseError(ProtocolViolation):
    """A phase object was used after the incident moved on from it.

    Each transition returns the next phase; the old object is stale so that a
    script cannot fork the incident by acting on two phases at once.

    .. versionadded:: 0.1.0
    """

    def __init__(self, phase: str, attempted: str, current: str) -> None:
        self.current = current
        IncidentkitError.__init__(
            self,
            f"this {phase!r} phase object is stale: the incident has moved on to {current!r}. "
            f"Call {attempted!r} on the phase object the last transition returned "
            "(or Incident.resume() the journal).",
        )
        self.phase = phase
        self.attempted = attempted
        self.required = f"use the current phase {current!r}"


class TimeOrderError(ProtocolViolation):
    """An event would be stamped earlier than the last one the journal recorded.

    Time never runs backwards in a journal: a clock set wrong (on a resume, on
    a second responder's machine) would otherwise produce "first intervention
    -12 min". When the earlier clock is the right one, record the correction
    explicitly with ``correct_clock(actor=..., reason=...)``.

    Attributes:
        at: The instant the refused event carried.
        latest: The instant of the last recorded event.

    .. versionadded:: 0.2.0
    """

    def __init__(self, phase: str, attempted: str, at: object, latest: object) -> None:
        self.at = at
        self.latest = latest
        super().__init__(
            phase,
            attempted,
            f"the clock says {at}, earlier than the last recorded event at {latest}: time "
            "never runs backwards in the journal. Fix the clock, or record the correction "
            "with correct_clock(actor=..., reason=...) if the earlier time is the right one",
        )


class InvalidInputError(IncidentkitError, ValueError):
    """The caller passed a value the library cannot use.

    .. versionadded:: 0.1.0
    """


class NaiveDatetimeError(InvalidInputError):
    """A datetime without a time zone was passed.

    incidentkit never guesses a time zone: attach one (``tzinfo=UTC``, or use
    :func:`pendulum.now`).

    .. versionadded:: 0.1.0
    """


class CheckpointWarning(IncidentkitError, UserWarning):  # noqa: N818 - a warning, never raised
    """A checkpoint beside a journal could not be used; the whole journal was folded instead.

    The message says why: no checkpoint, a checksum that does not match, a
    checkpoint of another journal or of a rewritten history, a journal
    shorter than it, contents of the wrong shape. The state resumed is right
    either way; only the time a resume takes differs.

    .. versionadded:: 0.3.0
    """


class JournalError(IncidentkitError):
    """The forensic journal could not be read or written as expected.

    Attributes:
        path: The journal file concerned.

    .. versionadded:: 0.1.0
    """

    def __init__(self, message: str, *, path: str) -> None:
        self.path = path
        super().__init__(message)


class JournalCorruptedError(JournalError):
    """The journal's hash chain or record structure is broken.

    Raised when records were edited, deleted, reordered or are not records at
    all. :func:`incidentkit.verify_journal` reports every problem instead of
    raising.

    .. versionadded:: 0.1.0
    """


class TornRecordError(JournalError):
    """The journal ends in an incomplete record, typically a crash mid-write.

    The records before it are intact. Nothing is dropped silently:
    :func:`incidentkit.repair_torn_tail` moves the fragment to a side file and
    only then truncates the journal.

    Attributes:
        offset: The byte offset where the torn record starts.

    .. versionadded:: 0.1.0
    """

    def __init__(self, message: str, *, path: str, offset: int) -> None:
        self.offset = offset
        super().__init__(message, path=path)


class JournalLockedError(JournalError):
    """Another process held the journal's lock for longer than the timeout.

    .. versionadded:: 0.1.0
    """


class JournalExistsError(JournalError):
    """A journal for that incident (or at that path) already exists; nothing was overwritten.

    .. versionadded:: 0.3.0
    """


class StoreUnavailableError(JournalError):
    """A journal store could not be reached, or stopped answering in time.

    Whether the last append is durable is unknown until the journal is read
    back: resume (or ``refresh()``) once the store is back, then check.

    .. versionadded:: 0.3.0
    """


class ConcurrentAppendError(JournalError):
    """Another writer appended to the journal since this process last read it.

    The incident state this process holds is out of date; resume the incident
    from the journal and retry the step.

    .. versionadded:: 0.1.0
    """


class SourceError(IncidentkitError):
    """An adapter (a source or an executor) failed.

    The protocol catches these during a step, records the failure as a
    monitoring-gap finding and carries on; they reach the caller only from
    direct adapter calls.

    Attributes:
        source: The name of the adapter that failed.

    .. versionadded:: 0.1.0
    """

    def __init__(self, message: str, *, source: str) -> None:
        self.source = source
        super().__init__(message)


class SourceUnavailableError(SourceError):
    """The source could not be reached, timed out or answered with a server error.

    .. versionadded:: 0.1.0
    """


class SourceTimeoutError(SourceUnavailableError):
    """The source gave no answer within the timeout.

    Raised for a client-side timeout (connecting or reading) and for a source
    that reports its own query timeout (Prometheus ``errorType: timeout``).

    Attributes:
        timeout: The timeout that ran out, in seconds, when known.

    .. versionadded:: 0.1.0
    """

    def __init__(self, message: str, *, source: str, timeout: float | None = None) -> None:
        self.timeout = timeout
        super().__init__(message, source=source)


class RateLimitedError(SourceUnavailableError):
    """The source refused the request for now: a rate limit or HTTP 429.

    Attributes:
        retry_after: Seconds to wait before asking again, when the source said.

    .. versionadded:: 0.1.0
    """

    def __init__(self, message: str, *, source: str, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message, source=source)


class SourceAuthError(SourceError):
    """The source refused the credentials (HTTP 401 or 403), or none were given.

    The message names where the credentials come from (an argument or an
    environment variable), never the credentials themselves.

    .. versionadded:: 0.1.0
    """


class SourceRequestError(SourceError):
    """The source understood the request and rejected it: fix the request.

    An HTTP 4xx other than 401, 403 and 429, a Prometheus ``bad_data`` error (a
    query that does not parse, a window too long for the step), a kubectl
    resource that does not exist.

    .. versionadded:: 0.1.0
    """


class MalformedResponseError(SourceError):
    """The source answered, but not in the shape its protocol promises.

    .. versionadded:: 0.1.0
    """


class RollbackFailedError(SourceError):
    """A rollback executor could not carry out a rollback.

    .. versionadded:: 0.1.0
    """
