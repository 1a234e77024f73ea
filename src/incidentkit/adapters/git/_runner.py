"""Running git safely: the argument list, the environment, timeouts, typed failures, redaction."""

from __future__ import annotations

import enum
import os
import re
import signal
import subprocess
from typing import Final, cast

import attrs

from incidentkit._errors import (
    InvalidInputError,
    MalformedResponseError,
    SourceAuthError,
    SourceError,
    SourceRequestError,
    SourceTimeoutError,
    SourceUnavailableError,
)

SHORT: Final = 12
FULL_SHA: Final = re.compile(r"[0-9a-f]{40}")
_USERINFO: Final = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")
RS: Final = "\x1e"
US: Final = "\x1f"
_STDERR_SHOWN: Final = 600
#: Inherited variables that would point git at another repository or identity.
_DROPPED_ENV: Final = frozenset(
    {
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_NAMESPACE",
        "GIT_CEILING_DIRECTORIES",
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_AUTHOR_DATE",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "GIT_COMMITTER_DATE",
    }
)


def redact(text: str) -> str:
    """Mask the user information (``user:token@``) of every URL in ``text``."""
    return _USERINFO.sub(lambda m: f"{m.group('scheme')}***@", text)


def check_ref(ref: str, what: str) -> str:
    if not isinstance(cast("object", ref), str) or not ref.strip() or ref.startswith("-"):
        msg = f"{what} must be a git ref name that does not start with '-', not {ref!r}"
        raise InvalidInputError(msg)
    return ref


def abbrev(sha: str) -> str:
    return sha[:SHORT]


def excerpt(text: str) -> str:
    text = redact(text.strip())
    if len(text) > _STDERR_SHOWN:
        text = text[:_STDERR_SHOWN] + " ..."
    return text


class _Failure(enum.Enum):
    NOT_A_REPOSITORY = "not a repository"
    BAD_REF = "bad ref"
    AUTH = "auth"
    REMOTE = "remote"
    OTHER = "other"


_NOT_A_REPOSITORY: Final = ("not a git repository", "cannot change to")
_BAD_REF: Final = (
    "unknown revision",
    "bad revision",
    "needed a single revision",
    "not a valid object name",
    "invalid object name",
    "bad object",
    "couldn't find remote ref",
    "not a valid ref",
    "invalid reference",
)
_AUTH: Final = (
    "authentication failed",
    "could not read username",
    "could not read password",
    "terminal prompts disabled",
    "permission denied (publickey",
    "http 401",
    "http 403",
    "the requested url returned error: 401",
    "the requested url returned error: 403",
)
_REMOTE: Final = (
    "could not read from remote repository",
    "does not appear to be a git repository",
    "unable to access",
    "could not resolve host",
    "failed to connect",
    "connection refused",
    "connection timed out",
    "repository not found",
    "not found",
    "unable to connect",
)


def _classify(stderr: str) -> _Failure:
    said = stderr.lower()
    for failure, needles in (
        (_Failure.NOT_A_REPOSITORY, _NOT_A_REPOSITORY),
        (_Failure.AUTH, _AUTH),
        (_Failure.BAD_REF, _BAD_REF),
        (_Failure.REMOTE, _REMOTE),
    ):
        if any(n in said for n in needles):
            return failure
    return _Failure.OTHER


@attrs.frozen
class Answer:
    returncode: int
    stdout: str
    stderr: str


class Git:
    """Runs ``git -C <repo> ...`` with a timeout, a safe environment and typed failures."""

    def __init__(self, *, executable: str, repo: str, timeout: float, source: str) -> None:
        self.executable = executable
        self.repo = repo
        self.timeout = timeout
        self.source = source

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
        env.update(
            {
                "GIT_TERMINAL_PROMPT": "0",
                "LC_ALL": "C",
                "LANGUAGE": "C",
                "GIT_PAGER": "cat",
            }
        )
        return env

    def run(self, *args: str, what: str, check: bool = True, cwd: str | None = None) -> Answer:
        """Run git; with ``check``, a non-zero exit raises a classified SourceError."""
        where = cwd or self.repo
        command = [
            self.executable,
            "--no-pager",
            "--literal-pathspecs",  # file names are never glob patterns
            "-C",
            where,
            "-c",
            "color.ui=false",
            "-c",
            "core.quotepath=off",
            "-c",
            "log.showSignature=false",
            *args,
        ]
        try:
            process = subprocess.Popen(  # noqa: S603 - an argument list, no shell
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self._env(),
                start_new_session=True,  # so that a timeout kills git and its helpers
            )
        except FileNotFoundError as exc:
            msg = (
                f"{self.source}: the git executable {self.executable!r} was not found; "
                "install git (2.31 or newer) or pass git='/path/to/git'"
            )
            raise SourceUnavailableError(msg, source=self.source) from exc
        except OSError as exc:
            msg = (
                f"{self.source}: could not run git {self.executable!r} ({exc.strerror or exc}); "
                "check that it is an executable git binary"
            )
            raise SourceUnavailableError(msg, source=self.source) from exc
        with process:
            try:
                out, err = process.communicate(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                self._kill(process)
                process.communicate()
                msg = (
                    f"{self.source}: git {redact(what)} in {redact(where)} gave no answer within "
                    f"{self.timeout:g} s and was stopped; check that the repository and its "
                    "remote are reachable, or raise the timeout"
                )
                raise SourceTimeoutError(msg, source=self.source, timeout=self.timeout) from None
        answer = Answer(
            process.returncode,
            out.decode("utf-8", errors="replace"),
            err.decode("utf-8", errors="replace"),
        )
        if check and answer.returncode != 0:
            raise self.error(answer, what, where)
        return answer

    @staticmethod
    def _kill(process: subprocess.Popen[bytes]) -> None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except OSError:  # pragma: no cover - the group is already gone
            process.kill()

    def error(self, answer: Answer, what: str, where: str | None = None) -> SourceError:
        """Return the typed error for a failed git call."""
        # A repository given as a URL may carry a credential: never show it.
        where = redact(where or self.repo)
        what = redact(what)
        said = excerpt(answer.stderr) or f"exit status {answer.returncode}, no message"
        failure = _classify(answer.stderr)
        if failure is _Failure.NOT_A_REPOSITORY:
            msg = (
                f"{self.source}: {where} is not a git repository (git {what}: {said}); "
                "check the path, or clone the repository there"
            )
            return SourceUnavailableError(msg, source=self.source)
        if failure is _Failure.AUTH:
            msg = (
                f"{self.source}: the remote refused the credentials (git {what}: {said}); "
                "check the credential helper, the SSH key or the token this host uses "
                "(git never prompts here)"
            )
            return SourceAuthError(msg, source=self.source)
        if failure is _Failure.BAD_REF:
            msg = (
                f"{self.source}: git {what} in {where} failed: {said}; check that the ref "
                "or commit exists there (fetch it first)"
            )
            return SourceRequestError(msg, source=self.source)
        if failure is _Failure.REMOTE:
            msg = (
                f"{self.source}: could not reach the remote (git {what}: {said}); check the "
                "remote's URL and that this host can reach it"
            )
            return SourceUnavailableError(msg, source=self.source)
        msg = f"{self.source}: git {what} in {where} failed: {said}"
        return SourceUnavailableError(msg, source=self.source)

    def malformed(self, what: str, detail: str) -> MalformedResponseError:
        msg = (
            f"{self.source}: could not read the output of git {redact(what)} in "
            f"{redact(self.repo)}: "
            f"{redact(detail)}; check that {self.executable!r} is git 2.31 or newer"
        )
        return MalformedResponseError(msg, source=self.source)
